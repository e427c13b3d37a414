'use strict';
// Bench runner for Node (OpenRTMS's binding): K clients on the main thread, a callback that
// counts. Same options and JSON output as py_runner.py (mode audio, mix or video, as there).
//   node node_runner.js [--budget-us N] <sim base URL> <clients> <count> <size> <rate> <seconds> <kill-media-at> [mode [drain-s]]
// --budget-us N (anywhere on the line; default $RTMS_BENCH_GROUP_US): the clients' delivery group gets a latency budget of N
// microseconds (rtms.setLatencyBudget, before the first join); the output then has budget_us.
const path = require('node:path');
const fs = require('node:fs');
const rtms = require(process.env.RTMS_NODE_PACKAGE || path.join(__dirname, '..', 'bindings', 'node'));

rtms.configureLogger({ enabled: false });
const args = process.argv.slice(2);
const budgetAt = args.indexOf('--budget-us');
const budgetEnv = process.env.RTMS_BENCH_GROUP_US ? Number(process.env.RTMS_BENCH_GROUP_US) : null;   // as c_runner and py_runner
const budget = budgetAt >= 0 ? Number(args.splice(budgetAt, 2)[1]) : budgetEnv;
if (budget !== null) rtms.setLatencyBudget(budget);
const [sim, K, count, size, rate, seconds, killAt] = args.slice(0, 7).map((v, i) => (i === 0 ? v : Number(v)));
const mode = args[7] || 'audio';
const drain = Number(args[8] || 10);
if (!['audio', 'mix', 'video'].includes(mode)) throw new Error('mode is audio, mix or video');
const KINDS = ['audio', 'video', 'deskshare', 'transcript'];
const kindMsgs = Object.fromEntries(KINDS.map((k) => [k, 0]));
const kindBytes = Object.fromEntries(KINDS.map((k) => [k, 0]));
const latency = rate > 0 || mode === 'mix';
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const counts = new Array(K).fill(0);
const firsts = new Array(K).fill(0);
const lasts = new Array(K).fill(0);
const joinMs = new Array(K).fill(null);
const lat = [];
let inWindow = false;
let maxGap = 0;

const post = (p, body) => fetch(sim + p, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
const rssKb = () => Number((fs.readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+)/) || [0, 0])[1]);

(async () => {
  const bodies = [];
  const plan = mode === 'mix' ? { mix: { seconds, hold: true } } : mode === 'video' ? { kind: 'video', count, hold: true } : { count, size, rate };
  for (let i = 0; i < K; i++) bodies.push(await post('/meetings', { duration: 3600, bench: plan }));
  const other = (kind) => (buf) => { kindMsgs[kind] += 1; kindBytes[kind] += buf.length; };
  const clients = bodies.map((b, i) => {
    const c = new rtms.Client();
    // The mode's main kind (video in the video blast, audio otherwise) is counted per stream too.
    const main = mode === 'video' ? 'video' : 'audio';
    c[main === 'video' ? 'onVideoData' : 'onAudioData']((buf) => {
      const t = nowUs();
      kindMsgs[main] += 1;
      kindBytes[main] += buf.length;
      if (lasts[i] && inWindow) maxGap = Math.max(maxGap, t - lasts[i]);
      if (!firsts[i]) firsts[i] = t;
      lasts[i] = t;
      counts[i] += 1;
      if (inWindow && latency && lat.length < 2e6) lat.push(t - Number(buf.readBigUInt64LE(0)));
    });
    if (mode === 'mix') {
      c.onVideoData(other('video'));
      c.onDeskshareData(other('deskshare'));
      c.onTranscriptData(other('transcript'));
    }
    const t0 = nowUs();
    c.onJoinConfirm((r) => { joinMs[i] = r === 0 ? (nowUs() - t0) / 1000 : -1; });
    c.join({ ...b.payload, signature: 'bench' });
    return c;
  });
  const wait = (ms) => new Promise((res) => setTimeout(res, ms));
  for (let t = 0; t < 6000 && joinMs.some((j) => j === null); t++) await wait(10);
  let started = null;
  let expectedKinds = null;
  if (mode !== 'audio') {
    // Every stream joined: the media starts now, on every stream at once.
    const r = await post('/bench/start', {});
    started = r.started;
    expectedKinds = r.expected;
  }
  // Context switches of every thread of the process so far (voluntary: wake-ups; and forced).
  const ctxSwitches = () => { const u = process.resourceUsage(); return u.voluntaryContextSwitches + u.involuntaryContextSwitches; };
  const c0 = process.cpuUsage();
  const cs0 = ctxSwitches();
  const w0 = nowUs();
  const sumBytes = () => KINDS.reduce((a, k) => a + kindBytes[k], 0);
  const bytes0 = sumBytes();
  const n0 = counts.reduce((a, b) => a + b, 0);
  inWindow = true;
  let killed = false;
  let killedAt = null;
  if (count === 0 && killAt < 0) await wait(seconds * 1000); // nothing to watch: the runner itself costs no CPU
  while ((nowUs() - w0) / 1e6 < seconds) {
    if (killAt >= 0 && !killed && (nowUs() - w0) / 1e6 >= killAt) {
      killed = true;
      killedAt = nowUs();
      await Promise.all(bodies.map((b) => post(`/streams/${b.payload.rtms_stream_id}/chaos`, { connection: 'audio', action: 'abort' })));
    }
    if (count > 0 && counts.reduce((a, b) => a + b, 0) >= count * K) break;
    await wait(20);
  }
  inWindow = false;
  const wEnd = nowUs();
  // A stream that never came back counts its silence up to the end of the window.
  if (killedAt !== null) lasts.forEach((l) => { if (l) maxGap = Math.max(maxGap, wEnd - l); });
  const cpu = process.cpuUsage(c0);
  const cs1 = ctxSwitches();
  const wall = (nowUs() - w0) / 1e6;
  const windowBytes = sumBytes() - bytes0;
  let drained = null;
  if (mode === 'mix') {
    // What is still in flight or queued: read it, up to `drain` seconds; the rest is missing.
    const allIn = () => KINDS.every((k) => kindMsgs[k] >= (expectedKinds[k] || 0));
    const d0 = nowUs();
    while (!allIn() && (nowUs() - d0) / 1e6 < drain) await wait(20);
    drained = allIn() ? (nowUs() - d0) / 1e6 : -1;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const delivered = total - n0;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const span = (Math.max(...lasts) - Math.min(...firsts.filter((f) => f > 0))) / 1e6;
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] / 1000 : null);
  const joined = joinMs.filter((j) => j !== null && j >= 0).sort((a, b) => a - b);
  const out = {
    clients: K, joined: joined.length, delivered, total, msgs_per_s: count > 0 ? (span > 0 ? total / span : 0) : delivered / wall,
    cpu_s: cpuS, wall_s: wall, cpu_pct: (100 * cpuS) / wall, cpu_us_per_msg: delivered ? (1e6 * cpuS) / delivered : null,
    rss_kb: rssKb(), join_ms: joined.length ? joined[Math.floor(joined.length / 2)] : null,
    lat_ms: lat.length ? { p50: pct(0.5), p99: pct(0.99), max: pct(1) } : null,
    expected: rate > 0 ? rate * K * wall : null, max_gap_ms: killAt >= 0 ? maxGap / 1000 : null,
    recovered: killAt >= 0 ? lasts.filter((l) => killedAt !== null && l > killedAt && wEnd - l < 5e5).length : null,
    mode,
    kinds: Object.fromEntries(KINDS.map((k) => [k, { msgs: kindMsgs[k], bytes: kindBytes[k] }])),
    window_bytes: windowBytes,
  };
  if (mode !== 'audio') out.ctx_switches = cs1 - cs0;
  if (budget !== null) out.budget_us = budget;
  if (mode === 'video') {
    out.mb_per_s = span > 0 ? kindBytes.video / 1e6 / span : 0;
    out.cpu_us_per_mb = windowBytes ? (1e6 * cpuS) / (windowBytes / 1e6) : null;
  }
  if (mode === 'mix') Object.assign(out, { started, expected_kinds: expectedKinds, drain_s: drained });
  clients.forEach((c) => c.leave());
  console.log(JSON.stringify(out));
})();
