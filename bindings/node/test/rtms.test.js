'use strict';
// The Node binding against the simulator: Zoom's API surface, every callback kind on the main
// thread without timers, bad input, lifecycle, reconnection and the webhook intake.
// RTMS_SIM names rtms-sim (default: the debug build).

const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const path = require('node:path');
const crypto = require('node:crypto');
const http = require('node:http');

const rtms = require('..');

const CLIENT_ID = 'node-test-client';
const CLIENT_SECRET = 'node-test-secret';
const simBinary = process.env.RTMS_SIM || path.join(__dirname, '..', '..', '..', '.build', 'debug', 'rtms-sim');

function startSim(...extra) {
  return new Promise((resolve, reject) => {
    const proc = spawn(simBinary, ['--host', '127.0.0.1', '--port', '0', '--meetings', '0', '--client-id', CLIENT_ID,
      '--client-secret', CLIENT_SECRET, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    proc.stderr.setEncoding('utf8');
    const onData = (d) => {
      buf += d;
      const m = buf.match(/listening on port (\d+)/);
      if (m) {
        const base = `http://127.0.0.1:${m[1]}`;
        const call = async (method, p, body) => {
          const r = await fetch(base + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
          return r.json();
        };
        resolve({
          proc, call,
          meeting: (o = {}) => call('POST', '/meetings', { duration: 4, ...o }),
          chaos: (id, connection, action) => call('POST', `/streams/${id}/chaos`, { connection, action }),
          close: () => proc.kill('SIGTERM'),
        });
      }
    };
    proc.stderr.on('data', onData);
    proc.on('error', reject);
  });
}

function until(cond, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error('timed out'));
      setTimeout(check, 20);
      return undefined;
    };
    check();
  });
}

function record(client) {
  const calls = [];
  const rec = (name) => (...args) => calls.push([name, args]);
  client.onJoinConfirm(rec('join_confirm'));
  client.onSessionUpdate(rec('session_update'));
  client.onUserUpdate(rec('user_update'));
  client.onLeave(rec('leave'));
  client.onEventEx(rec('event_ex'));
  client.onAudioData(rec('audio'));
  client.onVideoData(rec('video'));
  client.onDeskshareData(rec('deskshare'));
  client.onTranscriptData(rec('transcript'));
  client.onChatData(rec('chat'));
  client.onReconnecting(rec('reconnecting'));
  client.onReconnected(rec('reconnected'));
  client.onStreamState(rec('stream_state'));
  client.onParticipantEvent(rec('participant_event'));
  client.onActiveSpeakerEvent(rec('active_speaker'));
  client.onSharingEvent(rec('sharing'));
  return {
    calls,
    of: (n) => calls.filter((c) => c[0] === n).map((c) => c[1]),
  };
}

test('constants and surface match Zoom\'s', () => {
  assert.deepStrictEqual([rtms.MEDIA_TYPE_AUDIO, rtms.MEDIA_TYPE_VIDEO, rtms.MEDIA_TYPE_DESKSHARE,
    rtms.MEDIA_TYPE_TRANSCRIPT, rtms.MEDIA_TYPE_CHAT, rtms.MEDIA_TYPE_ALL], [1, 2, 4, 8, 16, 32]);
  assert.strictEqual(rtms.AudioCodec.OPUS, 4);
  assert.strictEqual(rtms.VideoDataOption.VIDEO_MIXED_SPEAKER_VIEW, 4);
  assert.strictEqual(rtms.StopReason.STREAMING_NOT_SUPPORTED, 26);
  assert.strictEqual(rtms.TranscriptLanguage.ENGLISH, 9);
  assert.strictEqual(rtms.EVENT_USER_UNHOLD, 13);
  assert.strictEqual(rtms.LogFormat.JSON, 'json');
  assert.strictEqual(rtms.default, rtms);
  for (const m of ['join', 'leave', 'poll', 'release', 'uuid', 'streamId', 'enableAudio', 'enableVideo', 'enableTranscript',
    'setAudioParams', 'setVideoParams', 'setDeskshareParams', 'setTranscriptParams', 'setProxy', 'subscribeVideo',
    'subscribeEvent', 'unsubscribeEvent', 'onJoinConfirm', 'onSessionUpdate', 'onUserUpdate', 'onAudioData',
    'onVideoData', 'onDeskshareData', 'onTranscriptData', 'onLeave', 'onEventEx', 'onParticipantVideo',
    'onVideoSubscribed', 'onParticipantEvent', 'onActiveSpeakerEvent', 'onSharingEvent', 'onMediaConnectionInterrupted']) {
    assert.strictEqual(typeof rtms.Client.prototype[m], 'function', m);
  }
  const sig = rtms.generateSignature({ client: 'id', secret: 'secret', uuid: 'uuid', streamId: 'stream' });
  assert.strictEqual(sig, crypto.createHmac('sha256', 'secret').update('id,uuid,stream').digest('hex'));
});

test('bad input is a clear error', () => {
  const c = new rtms.Client();
  assert.throws(() => c.join({ rtms_stream_id: 's', server_urls: 'ws://127.0.0.1:1' }), /meeting_uuid/);
  assert.throws(() => c.join({ meeting_uuid: 'm', server_urls: 'ws://127.0.0.1:1' }), /rtms_stream_id/);
  assert.throws(() => c.join({ meeting_uuid: 'm', rtms_stream_id: 's', server_urls: 'ws://127.0.0.1:1' }), /ZM_RTMS_CLIENT/);
  assert.throws(() => c.join(42), TypeError);
  assert.throws(() => c.onAudioData('nope'), /Function argument expected/);
  assert.throws(() => c.setProxy('http'), /Two string arguments/);
  assert.throws(() => c.subscribeEvent('3'), /Array of event types/);
  assert.throws(() => c.subscribeVideo('x', true), /userId/);
  assert.throws(() => c.setAudioParams({ codec: 99 }), RangeError);
  assert.throws(() => c.setAudioParams({ codec: 4, sampleRate: 1 }), /OPUS/);
  assert.throws(() => c.setVideoParams({ codec: 5, fps: 30 }), /fps/);
  assert.throws(() => c.setProxy('socks5', 'socks5://127.0.0.1:1'), /setProxy failed/);
  assert.strictEqual(c.leave(), true);
  assert.strictEqual(c.leave(), false, 'a second leave is a no-op');
});

test('against the simulator', async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());

  await t.test('every callback kind, on the main thread, no timer', async () => {
    const body = await sim.meeting({ duration: 5, participants: 3 });
    const c = new rtms.Client();
    const r = record(c);
    c.setAudioParams({ codec: 1, sampleRate: 1, channel: 1, dataOpt: 1, duration: 20, frameSize: 320 });
    c.setVideoParams({ codec: 5, fps: 5 });
    c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
    await until(() => r.of('leave').length > 0, 20000);
    c.leave();
    assert.deepStrictEqual(r.of('join_confirm'), [[0]]);
    assert.deepStrictEqual(r.of('leave'), [[6]]);
    for (const k of ['audio', 'video', 'deskshare', 'transcript', 'chat', 'user_update', 'session_update', 'event_ex',
      'participant_event', 'active_speaker', 'sharing', 'stream_state']) {
      assert.ok(r.of(k).length > 0, `no ${k} callback`);
    }
    const [buf, size, ts, md] = r.of('audio')[0];
    assert.ok(Buffer.isBuffer(buf) && buf.length === size && size === 640 && ts > 0);
    assert.strictEqual(typeof md.userName, 'string');
    const [text, , , tmd] = r.of('transcript')[0];
    assert.ok(text.toString().length > 0 && tmd.startTs > 0 && tmd.endTs >= tmd.startTs);
    const [op, session] = r.of('session_update')[0];
    assert.strictEqual(op, rtms.SESSION_EVENT_ADD);
    assert.ok(session.isActive && session.streamId === body.payload.rtms_stream_id);
    const [kind, , people] = r.of('participant_event')[0];
    assert.ok(['join', 'leave'].includes(kind) && 'userId' in people[0] && 'userName' in people[0]);
    assert.strictEqual(r.calls[r.calls.length - 1][0], 'leave', 'nothing after on_leave');
  });

  await t.test('a dropped media connection is reconnected by the core', async () => {
    const body = await sim.meeting({ duration: 30 });
    const c = new rtms.Client();
    const r = record(c);
    c.enableVideo(false); c.enableDeskshare(false); c.enableTranscript(false); c.enableChat(false);
    c.setAudioParams({ codec: 1, sampleRate: 1, channel: 1, dataOpt: 1, duration: 20, frameSize: 320 });
    c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
    await until(() => r.of('audio').length >= 10);
    const hit = await sim.chaos(body.payload.rtms_stream_id, 'audio', 'abort');
    assert.strictEqual(hit.connections, 1);
    const before = r.of('audio').length;
    await until(() => r.of('reconnected').length > 0 && r.of('audio').length > before + 10);
    assert.strictEqual(r.of('reconnecting')[0][0], rtms.MEDIA_TYPE_AUDIO);
    assert.strictEqual(r.of('reconnected')[0][0], rtms.MEDIA_TYPE_AUDIO);
    assert.strictEqual(c.stats().mediaReconnects, 1);
    c.leave();
  });

  await t.test('leave inside a callback stops delivery; 100 sequential sessions', async () => {
    let after = 0;
    let left = false;
    const body = await sim.meeting({ duration: 30 });
    const c = new rtms.Client();
    c.onAudioData(() => {
      if (left) { after += 1; return; }
      left = true;
      c.leave();
    });
    c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
    await until(() => left);
    await new Promise((res) => setTimeout(res, 300));
    assert.strictEqual(after, 0, 'no callback after leave');
    for (let i = 0; i < 100; i++) {
      const b = await sim.meeting({ duration: 30 });
      const s = new rtms.Client();
      const joined = [];
      s.onJoinConfirm((reason) => joined.push(reason));
      s.join({ ...b.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
      await until(() => joined.length > 0, 10000);
      assert.deepStrictEqual(joined, [0], `session ${i}`);
      assert.strictEqual(s.leave(), true);
    }
  });
});

test('webhook intake: signed events reach the callback, forged ones do not', async (t) => {
  const secret = 'node-webhook-secret';
  const seen = [];
  const wh = rtms.onWebhookEvent((payload) => seen.push(payload), { host: '127.0.0.1', port: 0, path: '/zoom', secret });
  t.after(() => wh.stop());
  const sim = await startSim('--webhook-url', `http://127.0.0.1:${wh.port}/zoom`, '--webhook-secret', secret);
  t.after(() => sim.close());
  const body = await sim.meeting({ duration: 3 });
  await until(() => seen.length >= 1);
  assert.deepStrictEqual(seen[0], body);
  const c = new rtms.Client();
  const r = record(c);
  c.join({ ...seen[0].payload, client: CLIENT_ID, secret: CLIENT_SECRET });
  await until(() => r.of('leave').length > 0, 20000);
  c.leave();
  await until(() => seen.length >= 2);
  assert.deepStrictEqual(seen.map((p) => p.event), ['meeting.rtms_started', 'meeting.rtms_stopped']);
  const forged = await fetch(`http://127.0.0.1:${wh.port}/zoom`, {
    method: 'POST', body: '{"event":"x"}',
    headers: { 'x-zm-signature': 'v0=00', 'x-zm-request-timestamp': String(Math.floor(Date.now() / 1000)) },
  });
  assert.strictEqual(forged.status, 401);
  const st = wh.stats();
  assert.deepStrictEqual([st.validations, st.unauthorized, st.accepted], [1, 1, 2]);
});

test('createWebhookHandler answers like Zoom\'s, verifies signatures', async (t) => {
  process.env.ZM_RTMS_WEBHOOK_SECRET = 'handler-secret';
  t.after(() => { delete process.env.ZM_RTMS_WEBHOOK_SECRET; });
  const got = [];
  const server = http.createServer(rtms.createWebhookHandler((p) => got.push(p), '/hook'));
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;
  const post = (p, body, headers = {}) => fetch(url + p, { method: 'POST', body, headers });
  const sign = (body) => {
    const ts = String(Math.floor(Date.now() / 1000));
    return { 'x-zm-request-timestamp': ts,
      'x-zm-signature': 'v0=' + crypto.createHmac('sha256', 'handler-secret').update(`v0:${ts}:${body}`).digest('hex') };
  };
  assert.strictEqual((await post('/other', '{}')).status, 404);
  assert.strictEqual((await post('/hook', 'nope', sign('nope'))).status, 400);
  assert.strictEqual((await post('/hook', '{"a":1}', sign('{"a":1}'))).status, 400);
  assert.strictEqual((await post('/hook', '{"event":"e"}', { 'x-zm-signature': 'v0=bad', 'x-zm-request-timestamp': '1' })).status, 401);
  const v = '{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}';
  const answer = await (await post('/hook', v, sign(v))).json();
  assert.strictEqual(answer.encryptedToken, crypto.createHmac('sha256', 'handler-secret').update('abc').digest('hex'));
  const ok = await post('/hook', '{"event":"meeting.started"}', sign('{"event":"meeting.started"}'));
  assert.strictEqual(ok.status, 200);
  await until(() => got.length === 1);
  assert.strictEqual(got[0].event, 'meeting.started');
});
