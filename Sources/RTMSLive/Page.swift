// The live view's page: one HTML document with its CSS and JavaScript inline, served as is from
// the binary (no build step, nothing fetched from elsewhere). It opens `<its path>/events`
// (Server-Sent Events, the query string passed on: `?token=`) and draws every stream the hub
// announces: participants with level meters, who speaks, the transcript, the latest frame, and a
// timeline of joins, reconnects, gaps and the end. Every text from the meeting is set with
// textContent, never as HTML.

enum LivePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>OpenRTMS live</title>
        <style>
          :root { --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --dim: #6b7385; --line: #e1e4ea;
                  --accent: #2d6cdf; --ok: #1f9d55; --warn: #d98a00; --bad: #d64545; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
                 background: var(--bg); color: var(--ink); }
          header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #1d2330; color: #fff; }
          header h1 { font-size: 18px; margin: 0; font-weight: 600; }
          header .conn { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #444c5e; }
          header .conn.open { background: var(--ok); }
          header .conn.error { background: var(--bad); }
          header #stats { margin-left: auto; font-size: 12px; color: #c5cad6; }
          main { padding: 16px 20px; display: flex; flex-direction: column; gap: 16px; }
          #empty { color: var(--dim); }
          .stream { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
          .stream .head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px; border-bottom: 1px solid var(--line);
                          padding-bottom: 8px; margin-bottom: 10px; }
          .stream h2 { font-size: 15px; margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
          .badge { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; padding: 2px 8px; border-radius: 10px;
                   background: var(--dim); color: #fff; }
          .badge.live { background: var(--ok); } .badge.reconnecting { background: var(--warn); }
          .badge.ended, .badge.failed { background: var(--bad); }
          .meta { color: var(--dim); font-size: 12px; }
          .grid { display: grid; grid-template-columns: minmax(240px, 1fr) minmax(280px, 1.4fr) minmax(240px, 1fr); gap: 16px; }
          @media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
          h3 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--dim); margin: 4px 0 6px; }
          ul, ol { list-style: none; margin: 0; padding: 0; }
          .participant { display: grid; grid-template-columns: 12px 1fr 90px 78px; align-items: center; gap: 6px; padding: 3px 0; }
          .participant .dot { width: 10px; height: 10px; border-radius: 50%; background: var(--line); }
          .participant.speaking .dot { background: var(--ok); box-shadow: 0 0 0 3px rgba(31,157,85,.2); }
          .participant.speaking .name { font-weight: 600; }
          .participant.left { opacity: .45; }
          .participant .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
          .meter { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; }
          .meter .fill { display: block; height: 100%; width: 0; background: var(--accent); transition: width .2s linear; }
          .participant.unknown .meter { visibility: hidden; }
          .db { font-size: 11px; color: var(--dim); text-align: right; font-variant-numeric: tabular-nums; }
          .speaker { margin: 8px 0; color: var(--dim); }
          .speaker b { color: var(--ink); }
          .frames { display: flex; flex-direction: column; gap: 8px; }
          .frame { margin: 0; }
          .frame img { width: 100%; max-width: 320px; border-radius: 4px; background: #000; display: block; }
          .frame .h264 { padding: 18px 10px; background: #272d3a; color: #dfe3ec; border-radius: 4px; font-size: 12px; }
          .frame figcaption { font-size: 11px; color: var(--dim); margin-top: 2px; }
          .transcript, .timeline { max-height: 360px; overflow-y: auto; }
          .line { padding: 3px 0; border-bottom: 1px dotted var(--line); }
          .line .t, .event .t { color: var(--dim); font-size: 11px; font-variant-numeric: tabular-nums; margin-right: 6px; }
          .line .who { font-weight: 600; margin-right: 4px; }
          .line.chat .who::before { content: "chat · "; font-weight: 400; color: var(--dim); }
          .event { padding: 3px 0 3px 8px; border-left: 3px solid var(--line); margin-bottom: 2px; }
          .event .k { font-size: 11px; text-transform: uppercase; margin-right: 6px; font-weight: 600; }
          .event.reconnecting { border-color: var(--warn); } .event.reconnecting .k { color: var(--warn); }
          .event.reconnected, .event.joined { border-color: var(--ok); } .event.reconnected .k, .event.joined .k { color: var(--ok); }
          .event.gap, .event.interrupted, .event.ended, .event.join_failed { border-color: var(--bad); }
          .event.gap .k, .event.interrupted .k, .event.ended .k, .event.join_failed .k { color: var(--bad); }
          .none { color: var(--dim); font-style: italic; }
        </style>
        </head>
        <body>
        <header><h1 id="title">OpenRTMS live</h1><span id="conn" class="conn">connecting…</span><span id="stats"></span></header>
        <main id="streams"><p id="empty">No stream yet: this page fills in as soon as one starts.</p></main>
        <script>
        "use strict";
        (function () {
          const base = location.pathname.replace(/\/+$/, "");
          const source = base + "/events" + location.search;
          const streams = new Map();
          let skew = 0;  // Date.now() minus the server's clock
          const $ = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
          const pad = (n) => String(n).padStart(2, "0");
          const clock = (ms) => { const d = new Date(ms); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); };
          const span = (ms) => { const s = Math.max(0, Math.floor(ms / 1000)); return Math.floor(s / 60) + ":" + pad(s % 60); };
          const serverNow = () => Date.now() - skew;
          const kb = (n) => n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";

          function card(id) {
            let s = streams.get(id);
            if (s) return s;
            const el = $("section", "stream");
            el.dataset.streamId = id;
            const head = $("div", "head");
            const badge = $("span", "badge state", "joining");
            const elapsed = $("span", "meta elapsed");
            const meta = $("span", "meta");
            head.append($("h2", "sid", id), badge, elapsed, meta);
            const grid = $("div", "grid");
            const left = $("div", "col"), mid = $("div", "col"), right = $("div", "col");
            const people = $("ul", "participants");
            const speaker = $("div", "speaker");
            const frames = $("div", "frames");
            left.append($("h3", null, "Participants"), people, speaker, $("h3", null, "Video"), frames);
            const transcript = $("ol", "transcript");
            mid.append($("h3", null, "Transcript"), transcript);
            const timeline = $("ol", "timeline");
            right.append($("h3", null, "Timeline: reconnects and gaps"), timeline);
            grid.append(left, mid, right);
            el.append(head, grid);
            document.getElementById("streams").append(el);
            document.getElementById("empty").hidden = true;
            s = { id, el, badge, elapsed, meta, people, speaker, frames, transcript, timeline, core: null, frameEls: {} };
            streams.set(id, s);
            return s;
          }

          function renderCore(s) {
            const c = s.core;
            if (!c) return;
            s.el.dataset.state = c.state;
            s.badge.textContent = c.state;
            s.badge.className = "badge state " + c.state;
            const m = c.media;
            s.meta.textContent = "meeting " + c.instance_id + " · audio " + m.audio.messages +
              " · video " + m.video.messages + " · share " + m.deskshare.messages + " · transcript " + m.transcript.messages +
              " · chat " + m.chat.messages + " · reconnects " + c.reconnects + " · gaps " + c.gaps +
              (c.reconnecting.length ? " · reconnecting " + c.reconnecting.join(", ") : "");
            const seen = new Set();
            for (const p of c.participants) {
              const key = String(p.id);
              seen.add(key);
              let li = s.people.querySelector('li[data-user-id="' + key + '"]');
              if (!li) {
                li = $("li", "participant");
                li.dataset.userId = key;
                const meter = $("span", "meter");
                meter.append($("span", "fill"));
                li.append($("span", "dot"), $("span", "name"), meter, $("span", "db"));
                s.people.append(li);
              }
              li._p = p;
              li.querySelector(".name").textContent = p.name || ("user " + p.id);
              li.classList.toggle("left", !p.present);
              li.classList.toggle("unknown", !c.level_known);
              li.dataset.present = p.present ? "true" : "false";
            }
            for (const li of Array.from(s.people.children)) if (!seen.has(li.dataset.userId)) li.remove();
            s.speaker.textContent = "";
            s.speaker.append("Speaking: ", $("b", "who", c.speaker ? c.speaker.name : "nobody"));
            if (c.sharing) s.speaker.append(" · sharing: ", $("b", null, c.sharing.name));
            renderLevels(s);
          }

          function renderLevels(s) {
            const c = s.core;
            if (!c) return;
            const now = serverNow();
            for (const li of s.people.children) {
              const p = li._p;
              if (!p) continue;
              const fill = li.querySelector(".fill"), db = li.querySelector(".db");
              const fresh = p.last_audio_ms && now - p.last_audio_ms < 700 && !c.ended_ms;
              let speaking = c.speaker && c.speaker.id === p.id && !c.ended_ms;
              if (!c.level_known) {
                db.textContent = fresh ? "level unknown" : "";
                db.title = "Opus audio: the level needs a decoder";
              } else if (fresh && p.level !== undefined) {
                const d = p.dbfs === undefined ? -120 : p.dbfs;
                fill.style.width = Math.max(0, Math.min(1, (d + 60) / 60)) * 100 + "%";
                db.textContent = p.dbfs === undefined ? "silence" : d.toFixed(0) + " dBFS";
                if (d > -45) speaking = true;
              } else {
                fill.style.width = "0%";
                db.textContent = p.audio_messages ? "quiet" : "";
              }
              li.classList.toggle("speaking", !!speaking);
              li.dataset.speaking = speaking ? "true" : "false";
            }
            s.elapsed.textContent = span((c.ended_ms || now) - c.started_ms);
          }

          function renderTranscript(s, lines) {
            const box = s.transcript;
            const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
            box.textContent = "";
            if (!lines.length) box.append($("li", "none", "Nothing said yet."));
            for (const l of lines) {
              const li = $("li", "line " + l.kind);
              li.dataset.kind = l.kind;
              li.append($("span", "t", clock(l.t)), $("span", "who", l.user_name || ("user " + l.user_id)), $("span", "text", l.text));
              box.append(li);
            }
            if (atEnd) box.scrollTop = box.scrollHeight;
          }

          function renderTimeline(s, entries) {
            const box = s.timeline;
            box.textContent = "";
            if (!entries.length) box.append($("li", "none", "Nothing yet."));
            for (let i = entries.length - 1; i >= 0; i--) {
              const e = entries[i];
              const li = $("li", "event " + e.kind);
              li.dataset.kind = e.kind;
              li.append($("span", "t", clock(e.t)), $("span", "k", e.kind.replace("_", " ")), $("span", "text", e.text));
              box.append(li);
            }
          }

          function renderFrames(s, frames) {
            for (const kind of Object.keys(frames)) {
              const f = frames[kind];
              let fig = s.frameEls[kind];
              if (!fig) {
                fig = $("figure", "frame");
                fig.dataset.kind = kind;
                fig.append($("div", "pic"), $("figcaption"));
                s.frames.append(fig);
                s.frameEls[kind] = fig;
              }
              const pic = fig.querySelector(".pic");
              if (f.data_url) {
                let img = pic.querySelector("img");
                if (!img) { pic.textContent = ""; img = $("img"); img.alt = kind + " frame"; pic.append(img); }
                img.src = f.data_url;
              } else {
                pic.textContent = "";
                pic.append($("div", "h264", f.too_large
                  ? f.codec.toUpperCase() + " picture of " + f.bytes.toLocaleString() + " bytes: too large to show live"
                  : "H.264 access unit: " + f.bytes.toLocaleString() + " bytes" +
                    (f.keyframe ? ", keyframe" : ", not a keyframe") + " (a browser cannot decode raw H.264 here)"));
              }
              fig.dataset.codec = f.codec;
              fig.querySelector("figcaption").textContent = (kind === "deskshare" ? "screen share" : "video") + " · " +
                (f.user_name || "user " + f.user_id) + " · frame " + f.frames + " · " + f.codec + " " + kb(f.bytes) + " · " + clock(f.t);
            }
          }

          function connect() {
            const conn = document.getElementById("conn");
            const es = new EventSource(source);
            es.onopen = () => { conn.textContent = "live"; conn.className = "conn open"; };
            es.onerror = () => { conn.textContent = es.readyState === 2 ? "closed" : "reconnecting…"; conn.className = "conn error"; };
            es.addEventListener("streams", (ev) => {
              const d = JSON.parse(ev.data);
              document.getElementById("title").textContent = d.title;
              document.title = d.title;
              const ids = new Set(d.streams.map((x) => x.id));
              for (const [id, s] of streams) if (!ids.has(id)) { s.el.remove(); streams.delete(id); }
              for (const x of d.streams) card(x.id);
              document.getElementById("empty").hidden = streams.size > 0;
            });
            es.addEventListener("stream", (ev) => {
              const d = JSON.parse(ev.data);
              const s = card(d.id);
              if (d.core) { skew = Date.now() - d.core.now; s.core = d.core; renderCore(s); }
              if (d.transcript) renderTranscript(s, d.transcript);
              if (d.timeline) renderTimeline(s, d.timeline);
              if (d.frames) renderFrames(s, d.frames);
            });
            es.addEventListener("status", (ev) => {
              const d = JSON.parse(ev.data);
              skew = Date.now() - d.now;
              const st = document.getElementById("stats");
              st.textContent = "viewers " + d.viewers + " · updates dropped for this page " + d.dropped;
              st.dataset.dropped = d.dropped;
            });
          }

          setInterval(() => { for (const s of streams.values()) renderLevels(s); }, 250);
          connect();
        })();
        </script>
        </body>
        </html>
        """#
}
