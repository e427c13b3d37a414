"""Draws bench/chart.png from a results JSON (run by bench/run.py with a python that has
matplotlib; run.py falls back to a plain bar image without it).

    python plot.py results.json chart.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"official": "#c8503c", "c": "#286ec8", "python": "#3ca050", "node": "#965abe"}
LABELS = {"official": "Zoom rtms 1.1.0", "c": "OpenRTMS C", "python": "OpenRTMS Python", "node": "OpenRTMS Node"}


def main():
    results, out = json.load(open(sys.argv[1])), sys.argv[2]
    impls = [i for i in ("official", "c", "python", "node") if i in results.get("blast", {})]

    def val(workload, key, sub=None):
        vals = []
        for i in impls:
            v = results.get(workload, {}).get(i, {}).get(key)
            if sub is not None:
                v = (v or {}).get(sub)
            vals.append(v or 0)
        return vals

    panels = [
        ("Blast: messages/s (one stream)", val("blast", "msgs_per_s"), False),
        ("Latency p99 at 50 msg/s (ms)", val("latency", "lat_ms", "p99"), False),
        ("CPU % of a core, 100 streams × 50 msg/s", val("scale-100", "cpu_pct"), False),
        ("Longest media gap after a killed connection (ms)", val("reconnect", "max_gap_ms"), True),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for ax, (title, values, log) in zip(axes.flat, panels):
        bars = ax.bar([LABELS[i] for i in impls], values, color=[COLORS[i] for i in impls])
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.tick_params(axis="x", labelsize=8)
        for b, v in zip(bars, values):
            ax.annotate(("%.0f" % v) if v >= 100 else ("%.2f" % v), (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8)
    fig.suptitle("OpenRTMS vs Zoom's official client, same machine, same simulator (bench/RESULTS.md)", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main()
