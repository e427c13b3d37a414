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
  c.onStreamState((state, reason) => emit({ cb: 'stream_state', state, reason }));
  c.onReconnecting((connection, attempt) => emit({ cb: 'reconnecting', connection, attempt }));
  c.onReconnected((connection) => emit({ cb: 'reconnected', connection }));
  c.onLeave((reason) => { emit({ cb: 'leave', reason }); c.leave(); });
  c.subscribeEvent([2, 3, 4, 5, 6, 7, 8, 9]);
  c.join(JSON.parse(arg).payload);
} else if (mode === 'webhook') {
  const wh = rtms.onWebhookEvent((payload) => {
    emit({ cb: 'webhook', event: payload.event, routed: false, body: JSON.stringify(payload) });
    if (payload.event === 'parity.done') wh.stop();
  }, { host: '127.0.0.1', port: 0, path: '/parity', secret: arg });
  emit({ port: wh.port });
} else {
  console.error("usage: runner.js join '<rtms_started body>' | runner.js webhook <secret>");
  process.exit(2);
}
