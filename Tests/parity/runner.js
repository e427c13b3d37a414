'use strict';
// Parity runner, Node side (see runner.c): the same JSON lines through the Node binding.
const path = require('node:path');
const rtms = require(process.env.RTMS_NODE_PACKAGE || path.join(__dirname, '..', '..', 'bindings', 'node'));

rtms.configureLogger({ enabled: false }); // stdout carries only the transcript
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const [mode, arg] = process.argv.slice(2);

if (mode === 'join') {
  const c = new rtms.Client();
  c.setAudioParams({ contentType: 2, codec: 1, sampleRate: 1, channel: 1, dataOpt: 1, duration: 20, frameSize: 320 });
  c.setVideoParams({ contentType: 3, codec: 5, resolution: 2, dataOpt: 3, fps: 5 });
  c.setDeskshareParams({ contentType: 3, codec: 5, resolution: 3, fps: 1 });
  const media = (kind) => (buf, size, ts, md) => {
    const rec = { cb: 'media', kind, user_id: md.userId, user_name: md.userName, size };
    if (kind === 'transcript' || kind === 'chat') rec.text = buf.toString('utf8');
    emit(rec);
  };
  c.onAudioData(media('audio'));
  c.onVideoData(media('video'));
  c.onDeskshareData(media('deskshare'));
  c.onTranscriptData(media('transcript'));
  c.onChatData(media('chat'));
  c.onJoinConfirm((reason) => emit({ cb: 'join_confirm', reason }));
  c.onSessionUpdate((op, s) => emit({ cb: 'session_update', op, active: s.isActive }));
  c.onUserUpdate((op, p) => emit({ cb: 'user_update', op, id: p.id, name: p.name }));
  c.onEventEx((json) => emit({ cb: 'event', json }));
  // Typed events, as runner.c prints them (people: Zoom's objects {userId, userName}).
  c.onParticipantEvent((op, timestamp, people) => emit({ cb: 'participant_event', op, timestamp,
    participants: people.map((p) => ({ user_id: p.userId, user_name: p.userName })) }));
  c.onActiveSpeakerEvent((timestamp, userId, userName) => emit({ cb: 'active_speaker', timestamp, user_id: userId,
    user_name: userName }));
  c.onSharingEvent((op, timestamp, ...user) => {
    const rec = { cb: 'sharing', op, timestamp };
    if (op === 'start') [rec.user_id, rec.user_name] = user;
    else if (user.length) rec.unexpected_user = user; // Zoom's stop passes (op, timestamp) only
    emit(rec);
  });
  c.onMediaConnectionInterrupted((timestamp) => emit({ cb: 'media_interrupted', timestamp }));
  c.onStreamState((state, reason) => emit({ cb: 'stream_state', state, reason }));
  c.onReconnecting((connection, attempt) => emit({ cb: 'reconnecting', connection, attempt }));
  c.onReconnected((connection) => emit({ cb: 'reconnected', connection }));
  c.onLeave((reason) => { emit({ cb: 'leave', reason }); c.leave(); });
  c.subscribeEvent([2, 3, 4, 5, 6, 7, 8, 9]);
  c.join(JSON.parse(arg).payload);
} else if (['webhook', 'handler', 'raw'].includes(mode)) {
  // webhook: the core's listener (onWebhookEvent(payload)); handler: createWebhookHandler in this
  // runner's http server; raw: onWebhookEvent's raw form (the binding's server). With an
  // rtms_started body (argv[4]) a client joins it first (see runner.c).
  const http = require('node:http');
  const [, , , secret, body] = process.argv;
  const STATS = ['requests', 'accepted', 'duplicates', 'validations', 'not_found', 'malformed', 'too_large',
    'unauthorized', 'routed'];
  let done = false;
  let left = !body;
  let stop = () => {};
  let stats = () => null;
  const finish = () => {
    if (!done || !left) return;
    const s = stats();
    if (s) emit({ stats: Object.fromEntries(STATS.map((k) => [k, s[k]])) });
    stop();
  };
  const seen = (payload, raw) => {
    emit({ cb: 'webhook', event: payload.event, routed: false, body: raw ? raw.toString('utf8') : JSON.stringify(payload) });
    if (payload.event === 'parity.done') { done = true; setImmediate(finish); }
  };
  const listen = (announce) => {
    if (mode === 'handler') {
      process.env.ZM_RTMS_WEBHOOK_SECRET = secret;
      const server = http.createServer(rtms.createWebhookHandler((payload) => seen(payload), '/parity'));
      server.listen(0, '127.0.0.1', () => announce(server.address().port));
      stop = () => { server.close(); server.closeAllConnections(); };
      return;
    }
    const options = { host: '127.0.0.1', port: 0, path: '/parity', secret };
    const wh = mode === 'raw'
      ? rtms.onWebhookEvent((payload, req, res) => seen(payload, req.rawBody), options) // answers nothing: the core's answer
      : rtms.onWebhookEvent((payload) => seen(payload), options);
    stats = () => wh.stats();
    stop = () => wh.stop();
    if (wh.server) wh.server.on('listening', () => announce(wh.port));
    else announce(wh.port);
  };
  const announce = (port) => emit({ port });
  if (body) {
    const c = new rtms.Client();
    c.onJoinConfirm((reason) => { if (reason === 0) listen(announce); else process.exit(1); });
    c.onLeave((reason) => { emit({ cb: 'leave', reason }); c.leave(); left = true; finish(); });
    c.join(JSON.parse(body).payload);
  } else {
    listen(announce);
  }
} else {
  console.error("usage: runner.js join '<rtms_started body>' | runner.js webhook|handler|raw <secret> ['<rtms_started body>']");
  process.exit(2);
}
