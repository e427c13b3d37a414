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
const { once } = require('node:events');

const rtms = require('..');

const CLIENT_ID = 'node-test-client';
const CLIENT_SECRET = 'node-test-secret';
const sim = require('./support/simulator.js');

const startSim = (...extra) => sim.startSim({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, ...extra);
const { until } = sim;
// The addon index.js loaded (its debug functions: liveHandles, groupStats, findCaCertificate).
const addonPath = process.env.RTMS_NODE_ADDON || path.join(__dirname, '..', 'build', 'rtms.node');
const native = require(addonPath);
const hmac = (id, secret, uuid, stream) => crypto.createHmac('sha256', secret).update(`${id},${uuid},${stream}`).digest('hex');

// Runs fn with these environment variables (undefined: unset), restored afterwards.
function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (o) => Object.entries(o).forEach(([k, v]) => { if (v === undefined) delete process.env[k]; else process.env[k] = v; });
  set(vars);
  try { return fn(); } finally { set(saved); }
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
  // The whole list reaches the core, which takes at most 64 (none dropped quietly).
  assert.throws(() => c.subscribeEvent(Array.from({ length: 65 }, () => 2)), /more than 64 event types/);
  assert.throws(() => c.subscribeVideo('x', true), /userId/);
  assert.throws(() => c.setAudioParams({ codec: 99 }), RangeError);
  assert.throws(() => c.setAudioParams({ codec: 4, sampleRate: 1 }), /OPUS/);
  assert.throws(() => c.setVideoParams({ codec: 5, fps: 30 }), /fps/);
  // The core's rules (rtms_check_params) and Zoom's defaults (rtms_wrapper_defaults).
  assert.throws(() => c.setAudioParams({ contentType: 3 }), /audio content_type 3/);
  assert.throws(() => c.setVideoParams({ dataOpt: 9 }), (e) => e instanceof RangeError && /data_opt 9/.test(e.message));
  assert.throws(() => c.setTranscriptParams({ srcLanguage: 40 }), /src_language 40/);
  assert.throws(() => c.setAudioParams({ codec: '4' }), TypeError);
  assert.throws(() => c.setTranscriptParams({ enableLid: 1 }), TypeError);
  // Fields must be set, as in Zoom's wrapper; numbers must fit the C int.
  assert.throws(() => c.setAudioParams({ channel: 0 }), (e) => e instanceof RangeError && /channel 0 is not set/.test(e.message));
  assert.throws(() => c.setVideoParams({ fps: -3 }), /fps -3 is not set/);
  assert.throws(() => c.setVideoParams({ fps: 1e20 }), (e) => e instanceof RangeError && /out of range/.test(e.message));
  assert.throws(() => c.setProxy('socks5', 'socks5://127.0.0.1:1'), /setProxy failed/);
  assert.strictEqual(c.leave(), true);
  assert.strictEqual(c.leave(), false, 'a second leave is a no-op');
});

test('generateSignature is the core\'s rule: the environment wins, no credentials is a ReferenceError', () => {
  const ids = { uuid: 'uuid', streamId: 'stream' };
  withEnv({ ZM_RTMS_CLIENT: 'env-id', ZM_RTMS_SECRET: 'env-secret' }, () => {
    assert.strictEqual(rtms.generateSignature({ client: 'id', secret: 'secret', ...ids }), hmac('env-id', 'env-secret', 'uuid', 'stream'));
    assert.strictEqual(rtms.generateSignature(ids), hmac('env-id', 'env-secret', 'uuid', 'stream'));
  });
  withEnv({ ZM_RTMS_CLIENT: '', ZM_RTMS_SECRET: undefined }, () => {
    assert.strictEqual(rtms.generateSignature({ client: 'id', secret: 'secret', ...ids }), hmac('id', 'secret', 'uuid', 'stream'));
    const noCredentials = (what) => (e) => e instanceof ReferenceError && e.code === 'RTMS_SDK_NO_CREDENTIALS' &&
      new RegExp(`${what} cannot be blank`).test(e.message);
    assert.throws(() => rtms.generateSignature(ids), noCredentials('Client ID'));
    assert.throws(() => rtms.generateSignature({ client: 'id', ...ids }), noCredentials('Client Secret'));
    assert.throws(() => rtms.generateSignature({ client: 'id', secret: 's', uuid: '', streamId: 'x' }),
      (e) => e instanceof TypeError && e.code === 'RTMS_SDK_INVALID_ARGS');
    // Credentials are checked first (no ids either: still the credentials' error), and values are
    // signed as String() gives them, as Zoom's wrapper does.
    assert.throws(() => rtms.generateSignature({}), noCredentials('Client ID'));
    assert.strictEqual(rtms.generateSignature({ client: 7, secret: 's', uuid: 123, streamId: 'x' }), hmac('7', 's', '123', 'x'));
  });
});

test('findCaCertificate is the core\'s search: the explicit file, else ZM_RTMS_CA, else a system bundle', () => {
  const fs = require('node:fs');
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rtms-ca-'));
  try {
    const explicit = path.join(dir, 'explicit.pem');
    const fromEnv = path.join(dir, 'env.pem');
    fs.writeFileSync(explicit, '');
    fs.writeFileSync(fromEnv, '');
    withEnv({ ZM_RTMS_CA: fromEnv }, () => {
      assert.strictEqual(native.findCaCertificate(explicit), explicit);
      assert.strictEqual(native.findCaCertificate(path.join(dir, 'missing.pem')), fromEnv);
      assert.strictEqual(native.findCaCertificate(), fromEnv);
    });
    withEnv({ ZM_RTMS_CA: path.join(dir, 'missing.pem') }, () => {
      const found = native.findCaCertificate(path.join(dir, 'missing.pem'));
      assert.ok(found === '' || (found.startsWith('/') && fs.existsSync(found)), found);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('setLatencyBudget takes an integer of 0..1000000 microseconds', () => {
  for (const v of ['5', undefined, null, {}, 10n]) assert.throws(() => rtms.setLatencyBudget(v), TypeError, String(v));
  for (const v of [-1, 1000001, 1.5, NaN, Infinity]) assert.throws(() => rtms.setLatencyBudget(v), RangeError, String(v));
  assert.strictEqual(native.groupStats().groups, 0, 'no client joined yet');
  assert.strictEqual(rtms.setLatencyBudget(0), true);
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

  await t.test('join goes through the core: payload, Zoom\'s credential rule, eager errors', async () => {
    const saved = { id: process.env.ZM_RTMS_CLIENT, secret: process.env.ZM_RTMS_SECRET };
    delete process.env.ZM_RTMS_CLIENT;
    delete process.env.ZM_RTMS_SECRET;
    const outcome = async (extra) => {
      const body = await sim.meeting({ duration: 2 });
      const c = new rtms.Client();
      const got = [];
      c.onJoinConfirm((reason) => got.push(reason));
      c.join({ ...body.payload, ...extra });
      await until(() => got.length > 0, 15000);
      c.leave();
      return { got, ids: body.payload };
    };
    try {
      assert.deepStrictEqual((await outcome({ client: CLIENT_ID, secret: CLIENT_SECRET })).got, [0]);
      process.env.ZM_RTMS_SECRET = 'not-the-secret';  // the environment wins over secret
      const refused = (await outcome({ client: CLIENT_ID, secret: CLIENT_SECRET })).got;
      assert.ok(refused.length === 1 && refused[0] !== 0, String(refused));
      process.env.ZM_RTMS_SECRET = CLIENT_SECRET;
      assert.deepStrictEqual((await outcome({ client: CLIENT_ID, secret: 'ignored' })).got, [0]);
      process.env.ZM_RTMS_CLIENT = 'not-the-client';  // and over client
      const refusedToo = (await outcome({ client: CLIENT_ID, secret: CLIENT_SECRET })).got;
      assert.ok(refusedToo.length === 1 && refusedToo[0] !== 0, String(refusedToo));
      delete process.env.ZM_RTMS_CLIENT;
      delete process.env.ZM_RTMS_SECRET;
      const c = new rtms.Client();
      assert.throws(() => c.join({ meeting_uuid: 'm', rtms_stream_id: 's', server_urls: 'ws://127.0.0.1:1', client: 'x' }),
        (e) => e instanceof ReferenceError && e.code === 'RTMS_SDK_NO_CREDENTIALS' && /ZM_RTMS_SECRET/.test(e.message));
      assert.throws(() => c.join({ meeting_uuid: 7, rtms_stream_id: 's', server_urls: 'ws://127.0.0.1:1' }),
        (e) => e instanceof TypeError && /meeting_uuid is not a string/.test(e.message));
      // The ids the client reports are the ones the core joined with (the first instance id given).
      const body = await sim.meeting({ duration: 1 });
      const d = new rtms.Client();
      const { meeting_uuid: uuid, ...rest } = body.payload;
      d.join({ ...rest, webinar_uuid: uuid, signature: rtms.generateSignature({ client: CLIENT_ID, secret: CLIENT_SECRET, uuid, streamId: rest.rtms_stream_id }) });
      assert.deepStrictEqual([d.uuid(), d.streamId()], [uuid, rest.rtms_stream_id]);
      d.leave();
      c.leave();
    } finally {
      for (const [k, v] of [['ZM_RTMS_CLIENT', saved.id], ['ZM_RTMS_SECRET', saved.secret]]) {
        if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
    }
  });

  await t.test('participant events arrive whole, with their timestamp, from the core', async () => {
    // From the core's typed callback (rtms_ext_ops.on_participant_event), not from the JSON: each
    // PARTICIPANT_JOIN / LEAVE once, with the event's timestamp and every participant.
    const body = await sim.meeting({ duration: 4, participants: 3 });
    const c = new rtms.Client();
    const r = record(c);
    c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
    await until(() => r.of('leave').length > 0, 20000);
    c.leave();
    const raw = r.of('event_ex').map(([j]) => JSON.parse(j)).filter((e) => e.event_type === 3 || e.event_type === 4);
    const typed = r.of('participant_event');
    assert.ok(raw.length >= 4, 'two join at once, one joins late and leaves, the rest leave');
    assert.strictEqual(typed.length, raw.length);
    typed.forEach(([kind, ts, people], i) => {
      const e = raw[i];
      assert.strictEqual(kind, e.event_type === 3 ? 'join' : 'leave');
      assert.strictEqual(ts, e.timestamp, 'the event\'s own timestamp');
      // Every participant, in order; a name the server did not send is '' (leaves carry none).
      assert.deepStrictEqual(people, e.participants.map((p) => ({ userId: p.user_id, userName: p.user_name ?? '' })));
    });
    assert.ok(typed.some(([k, , ps]) => k === 'join' && ps.length >= 2 && ps.every((p) => p.userName)));
    assert.ok(typed.some(([k, , ps]) => k === 'leave' && ps.length > 0));
    // Zoom's per-user form still arrives too: one onUserUpdate per participant.
    assert.deepStrictEqual(r.of('user_update').map(([op, p]) => [op, p.id]),
      typed.flatMap(([k, , ps]) => ps.map((p) => [k === 'join' ? 0 : 1, p.userId])));
    // The other typed events keep Zoom's shapes: (ts, id, name), ('start', ts, id, name), ('stop', ts).
    const [sts, uid, name] = r.of('active_speaker')[0];
    assert.ok(sts > 0 && uid > 0 && name);
    assert.deepStrictEqual(r.of('sharing').map((a) => [a[0], a.length]), [['start', 4], ['stop', 2]]);
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
    assert.strictEqual(c.getStats().media_reconnects, 1);
    c.leave();
  });

  await t.test('20 clients are delivered through the addon\'s one delivery group', async () => {
    const bodies = await Promise.all(Array.from({ length: 20 }, () => sim.meeting({ duration: 30 })));
    const audio = bodies.map(() => 0);
    const clients = bodies.map((b, i) => {
      const c = new rtms.Client();
      c.onAudioData(() => { audio[i] += 1; });
      c.join({ ...b.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
      return c;
    });
    await until(() => audio.every((n) => n >= 10), 20000);
    const during = native.groupStats();
    assert.deepStrictEqual([during.groups, during.live], [1, 20], 'one group, 20 live sessions keeping the loop alive');
    assert.ok(during.wakeups > 0);
    assert.throws(() => rtms.setLatencyBudget(1000), (e) => e.constructor === Error && /before the first join/.test(e.message));
    for (const c of clients) assert.strictEqual(c.leave(), true);
    assert.strictEqual(clients[0].leave(), false, 'a second leave changes nothing');
    assert.deepStrictEqual(native.groupStats().live, 0);
  });

  await t.test('media in batches (one addon call a poll) carry what the per-message callbacks carry', async () => {
    // Two meetings of the same seed, one delivered in batches (the default), one with batches off.
    const media = async (batched) => {
      native.setMediaBatches(batched);
      const batchesBefore = native.groupStats().batches;
      try {
        const body = await sim.meeting({ duration: 3, seed: 42, participants: 2 });
        const c = new rtms.Client();
        const r = record(c);
        c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
        await until(() => r.of('leave').length > 0, 20000);
        c.leave();
        assert.strictEqual(native.groupStats().batches > batchesBefore, batched, 'batches delivered: only when on');
        return r.calls.filter(([k]) => ['audio', 'video', 'transcript', 'chat'].includes(k));
      } finally {
        native.setMediaBatches(true);
      }
    };
    const perMessage = await media(false);
    const batched = await media(true);
    for (const kind of ['audio', 'video', 'transcript', 'chat']) {
      const a = perMessage.filter(([k]) => k === kind).map(([, args]) => args);
      const b = batched.filter(([k]) => k === kind).map(([, args]) => args);
      assert.ok(a.length > 0 && b.length > 0, kind);
      // The script is the seed's, but when a speaker changes, and so the video frames, follows
      // the clock: the first messages of the other kinds are compared; video's only in type.
      const n = kind === 'video' ? 0 : Math.min(a.length, b.length, 20);
      assert.ok(b.every(([data, size, ts, md]) => Buffer.isBuffer(data) && data.length === size && typeof ts === 'number' &&
        typeof md.userName === 'string' && typeof md.userId === 'number'), kind);
      // Timestamps are send times: equal in type, not in value; a transcript's span is compared.
      const shape = ([data, size, ts, md]) => [data, size, typeof ts, { ...md, startTs: md.endTs - md.startTs, endTs: 0 }];
      assert.deepStrictEqual(b.slice(0, n).map(shape), a.slice(0, n).map(shape), kind);
      // Each message's Buffer is its own, over an ArrayBuffer of its own, as on the per-message path.
      assert.ok(b.every(([data]) => data.byteOffset === 0 && data.buffer.byteLength === data.length), kind);
    }
  });

  await t.test('leave inside a callback ends the delivery of the batch it is in', async () => {
    const body = await sim.meeting({ duration: 30 });
    const c = new rtms.Client();
    let calls = 0;
    let after = 0;
    let left = false;
    let batchesAtFirst = 0;
    c.onAudioData(() => {
      if (left) { after += 1; return; }
      calls += 1;
      if (calls === 1) {
        // The JS thread is busy for 300 ms: about 15 messages queue, and the next poll takes them
        // all in one batch.
        const t0 = Date.now();
        while (Date.now() - t0 < 300);
        batchesAtFirst = native.groupStats().batches;
      } else {
        left = true;
        c.leave();
      }
    });
    c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
    await until(() => left, 20000);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(native.groupStats().batches > batchesAtFirst, 'the messages came in a batch');
    assert.strictEqual(after, 0, 'no callback after leave(), also not from the rest of its batch');
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

// Every reason #defined in the public headers (RTMS_REASON_*, any *STOP_REASON_*), read from the
// files so that this cannot drift.
function headerReasons() {
  const fs = require('node:fs');
  const dir = path.join(__dirname, '..', '..', '..', 'include');
  const out = {};
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.h')).sort()) {
    const re = /^#define\s+(\w*(?:RTMS_REASON_|STOP_REASON_)(\w+))\s+\(?(-?\d+)\)?/gm;
    for (const m of fs.readFileSync(path.join(dir, f), 'utf8').matchAll(re)) out[m[1]] = [m[2], Number(m[3])];
  }
  return out;
}

test('every reason the core reports is a StopReason member', () => {
  const defined = headerReasons();
  assert.ok('RTMS_REASON_UPGRADE_REFUSED' in defined, 'the header parse found nothing');
  const values = new Set(Object.values(rtms.StopReason));
  for (const [macro, [name, value]] of Object.entries(defined)) {
    assert.ok(values.has(value), `${macro} = ${value}`);
    assert.strictEqual(rtms.StopReason[name], value, macro);
  }
  // The library's own names for every leave reason it reports.
  const native = require('../build/rtms.node');
  let named = 0;
  for (let v = 0; v < 1200; v++) {
    const name = native.leaveReasonString(v);
    if (name.startsWith('STOP_REASON_')) continue;
    named += 1;
    const first = Object.keys(rtms.StopReason).find((k) => rtms.StopReason[k] === v);
    assert.strictEqual(first, name, `reason ${v}`);
  }
  assert.ok(named >= 27 + 5, `${named} named reasons`);
});

test('raw webhook callback: real request, its answer reaches the client', async (t) => {
  const seen = [];
  const wh = rtms.onWebhookEvent((payload, req, res) => {
    seen.push({ payload, method: req.method, url: req.url, headers: req.headers, rawBody: req.rawBody });
    res.writeHead(202, { 'Content-Type': 'text/plain', 'X-Handled-By': 'raw' });
    res.end(`accepted ${payload.event}`);
  }, { host: '127.0.0.1', port: 0, path: '/raw', secret: '' });
  t.after(() => wh.stop());
  await once(wh.server, 'listening');
  assert.ok(wh.port > 0);
  const body = '{"event":"meeting.started","payload":{"n":1}}';
  const r = await fetch(`http://127.0.0.1:${wh.port}/raw?source=test`, { method: 'POST', body, headers: { 'X-Custom': 'yes' } });
  assert.strictEqual(r.status, 202);
  assert.strictEqual(await r.text(), 'accepted meeting.started');
  assert.strictEqual(r.headers.get('x-handled-by'), 'raw');
  assert.strictEqual(seen.length, 1);
  const [s] = seen;
  assert.deepStrictEqual(s.payload, JSON.parse(body));
  assert.strictEqual(s.method, 'POST');
  assert.strictEqual(s.url, '/raw?source=test');
  assert.strictEqual(s.headers['x-custom'], 'yes');
  assert.ok(Buffer.isBuffer(s.rawBody) && s.rawBody.toString() === body);
  // A callback that throws before answering: 500.
  const wh2 = rtms.createWebhookHandler((payload, req, res) => { if (payload.event === 'boom') throw new Error('boom'); res.end(); });
  const server = http.createServer(wh2);
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  t.after(() => server.close());
  const boom = await fetch(`http://127.0.0.1:${server.address().port}/`, { method: 'POST', body: '{"event":"boom"}' });
  assert.strictEqual(boom.status, 500);
});

test('raw webhook callback: signature, JSON and the challenge are answered before it', async (t) => {
  const secret = 'raw-secret';
  const seen = [];
  const wh = rtms.onWebhookEvent((payload, req, res) => { seen.push(payload); res.end('ok'); },
    { host: '127.0.0.1', port: 0, path: '/raw', secret });
  t.after(() => wh.stop());
  await once(wh.server, 'listening');
  const url = `http://127.0.0.1:${wh.port}/raw`;
  const sign = (b) => {
    const ts = String(Math.floor(Date.now() / 1000));
    return { 'x-zm-request-timestamp': ts, 'x-zm-signature': 'v0=' + crypto.createHmac('sha256', secret).update(`v0:${ts}:${b}`).digest('hex') };
  };
  const forged = await fetch(url, { method: 'POST', body: '{"event":"e"}', headers: { 'x-zm-signature': 'v0=00', 'x-zm-request-timestamp': '1' } });
  assert.strictEqual(forged.status, 401);
  const v = '{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}';
  const answer = await (await fetch(url, { method: 'POST', body: v, headers: sign(v) })).json();
  assert.strictEqual(answer.encryptedToken, crypto.createHmac('sha256', secret).update('abc').digest('hex'));
  assert.deepStrictEqual(seen, []);
  const ok = await fetch(url, { method: 'POST', body: '{"event":"e"}', headers: sign('{"event":"e"}') });
  assert.strictEqual(ok.status, 200);
  assert.deepStrictEqual(seen, [{ event: 'e' }]);
});

test('createWebhookHandler: the query string is ignored; a challenge without a secret is a 400', async (t) => {
  delete process.env.ZM_RTMS_WEBHOOK_SECRET;
  const got = [];
  const server = http.createServer(rtms.createWebhookHandler((p) => got.push(p), '/hook'));
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}`;
  const withQuery = await fetch(`${url}/hook?x=1`, { method: 'POST', body: '{"event":"meeting.started"}' });
  assert.strictEqual(withQuery.status, 200);
  assert.strictEqual((await fetch(`${url}/hook/x?y=1`, { method: 'POST', body: '{"event":"e"}' })).status, 404);
  const challenge = await fetch(`${url}/hook`, { method: 'POST', body: '{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}' });
  assert.strictEqual(challenge.status, 400);
  assert.match((await challenge.json()).error, /secret/);
  await until(() => got.length === 1);
  await new Promise((res) => setTimeout(res, 50));
  assert.deepStrictEqual(got.map((p) => p.event), ['meeting.started'], 'the challenge never reaches the callback');
});

test('a Client garbage-collected without leave() releases its handle', async () => {
  // A child with --expose-gc: clients never joined, a join refused (bad signature) and a session
  // that ended are dropped without leave(); gc() must bring the addon's handle count back, the
  // stream of the refused join is joined again, and the process exits by itself.
  const sim = await startSim();
  try {
    const body = await sim.meeting({ duration: 30 });
    const ended = await sim.meeting({ duration: 1 });
    const child = spawn(process.execPath, ['--expose-gc', '-e', `
      const rtms = require(${JSON.stringify(path.join(__dirname, '..'))});
      const native = require(${JSON.stringify(path.join(__dirname, '..', 'build', 'rtms.node'))});
      const fs = require('node:fs');
      const body = ${JSON.stringify(body)}, ended = ${JSON.stringify(ended)};
      const creds = { client: ${JSON.stringify(CLIENT_ID)}, secret: ${JSON.stringify(CLIENT_SECRET)} };
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      async function collect(base) {
        for (let i = 0; i < 50 && native.liveHandles() > base; i++) { global.gc(); await sleep(20); }
        return native.liveHandles();
      }
      function joinOnce(payload, extra, event) {
        return new Promise((resolve) => {
          const c = new rtms.Client();
          c.onAudioData(() => {});
          c['on' + event]((reason) => resolve(reason));
          c.join({ ...payload, ...extra });
        });
      }
      (async () => {
        const out = { base: native.liveHandles() };
        for (let i = 0; i < 20; i++) new rtms.Client();
        out.afterAlloc = native.liveHandles();
        out.unjoined = await collect(out.base);
        out.refused = await joinOnce(body.payload, { signature: 'bad' }, 'JoinConfirm');
        out.afterRefused = await collect(out.base);
        out.fdsBefore = fds();   // the core's runtime (event loop threads) runs from the first join on
        out.endedReason = await joinOnce(ended.payload, creds, 'Leave');
        out.afterEnded = await collect(out.base);
        out.fdsAfter = fds();
        const again = new rtms.Client();
        out.rejoined = await new Promise((resolve) => { again.onJoinConfirm(resolve); again.join({ ...body.payload, ...creds }); });
        again.leave();
        out.final = native.liveHandles();
        console.log(JSON.stringify(out));
      })();
    `], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RTMS_LOG_LEVEL: 'error', ZM_RTMS_LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('timeout'); }, 60000);
      child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    assert.strictEqual(code, 0, `child exited ${code} (it must exit by itself): ${stdout} ${stderr}`);
    const out = JSON.parse(stdout.trim().split('\n').pop());
    assert.strictEqual(out.afterAlloc, out.base + 20);
    assert.strictEqual(out.unjoined, out.base, 'never-joined clients released');
    assert.notStrictEqual(out.refused, 0, 'the bad signature was refused');
    assert.strictEqual(out.afterRefused, out.base, 'a client whose join was refused released');
    assert.strictEqual(out.endedReason, 6);
    assert.strictEqual(out.afterEnded, out.base, 'a client whose session ended released');
    assert.ok(out.fdsAfter <= out.fdsBefore, `descriptors: ${out.fdsBefore} before, ${out.fdsAfter} after`);
    assert.strictEqual(out.rejoined, 0, 'the stream is joined again');
    assert.strictEqual(out.final, out.base);
  } finally {
    sim.close();
  }
});

test('a worker has its own group: a 20 ms budget delivers, in fewer wake-ups; exit and terminate() clean up', async (t) => {
  // Each worker joins clients through its own addon instance. One sets a 20 ms budget, receives
  // audio on every client, leaves them and must then exit by itself (its clients kept it alive);
  // the other is terminated while its clients are joined (the group is released, the handles by
  // the finalizers).
  const { Worker } = require('node:worker_threads');
  const sim = await startSim();
  t.after(() => sim.close());
  const base = native.liveHandles();
  const mainGroups = native.groupStats().groups;
  const run = async (budget, leave) => {
    const bodies = await Promise.all(Array.from({ length: 4 }, () => sim.meeting({ duration: 30 })));
    const worker = new Worker(`
      const { parentPort, workerData: { pkg, addon, bodies, creds, budget, leave } } = require('node:worker_threads');
      const rtms = require(pkg);
      const native = require(addon);
      rtms.setLatencyBudget(budget);
      const audio = bodies.map(() => 0);
      const t0 = Date.now();
      let w0 = -1;
      const clients = bodies.map((b, i) => {
        const c = new rtms.Client();
        c.setAudioParams({ codec: 1, sampleRate: 1, channel: 1, dataOpt: 1, duration: 20, frameSize: 320 });
        c.onAudioData(() => {
          if (audio.every((n) => n > 0) && w0 < 0) w0 = native.groupStats().wakeups;
          audio[i] += 1;
          if (!audio.every((n) => n >= 50) || audio.done) return;
          audio.done = true;
          const out = { ...native.groupStats(), audio, wakeups: native.groupStats().wakeups - w0, ms: Date.now() - t0 };
          try { rtms.setLatencyBudget(0); } catch (e) { out.refused = e.message; }
          if (leave) clients.forEach((x) => x.leave());
          out.after = native.groupStats();
          parentPort.postMessage(out);
        });
        c.join({ ...b.payload, ...creds });
        return c;
      });
    `, { eval: true, workerData: { pkg: path.join(__dirname, '..'), addon: addonPath, bodies, budget, leave,
      creds: { client: CLIENT_ID, secret: CLIENT_SECRET } } });
    const exited = once(worker, 'exit');
    const [out] = await Promise.race([once(worker, 'message'),
      exited.then(([code]) => { throw new Error(`the worker exited (${code}) before its clients received audio`); })]);
    if (!leave) worker.terminate();
    const timer = setTimeout(() => worker.terminate(), 10000); // exit code 1: it did not exit by itself
    [out.exit] = await exited;
    clearTimeout(timer);
    return out;
  };
  const out = await run(20000, true);
  assert.strictEqual(out.exit, 0, 'the worker exited by itself once its clients left');
  assert.deepStrictEqual([out.live, out.after.live], [4, 0]);
  assert.match(out.refused, /before the first join/);
  assert.strictEqual(out.groups, mainGroups + 1, 'one group per addon instance');
  // The budget bounds the wake-ups to one per 20 ms (the four streams' frames ride along).
  const delivered = out.audio.reduce((a, b) => a + b, 0);
  assert.ok(out.wakeups <= out.ms / 20 + 5 && delivered >= 2 * out.wakeups, JSON.stringify(out));
  const killed = await run(0, false);
  assert.strictEqual(killed.live, 4);
  await until(() => native.liveHandles() === base, 10000);
  assert.strictEqual(native.groupStats().groups, mainGroups, 'the workers\' groups are released');
});

// ---------------------------------------------------------------------------------------------
// The web-server integrations are the core's intake (rtms_webhook_create/handle): retries are
// deduplicated, RTMS events of live clients are routed, refused requests never reach callbacks.
// ---------------------------------------------------------------------------------------------

const signWith = (secret, body, ts = Math.floor(Date.now() / 1000)) => ({
  'Content-Type': 'application/json',
  'x-zm-request-timestamp': String(ts),
  'x-zm-signature': 'v0=' + crypto.createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex'),
});

async function listen(handler) {
  const server = http.createServer(handler);
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return { server, url: `http://127.0.0.1:${server.address().port}`, close: () => { server.close(); server.closeAllConnections(); } };
}

// Both integrations, started the same way: createWebhookHandler in the test's own server (simple
// form) and onWebhookEvent's raw form (the binding's server).
async function integrations(t, secret, onSimple, onRaw) {
  process.env.ZM_RTMS_WEBHOOK_SECRET = secret;
  let handler;
  try { handler = rtms.createWebhookHandler(onSimple, '/hook'); } finally { delete process.env.ZM_RTMS_WEBHOOK_SECRET; }
  const simple = await listen(handler);
  t.after(() => simple.close());
  const wh = rtms.onWebhookEvent(onRaw, { host: '127.0.0.1', port: 0, path: '/hook', secret });
  t.after(() => wh.stop());
  await once(wh.server, 'listening');
  return [['createWebhookHandler', `${simple.url}/hook`, null], ['raw onWebhookEvent', `http://127.0.0.1:${wh.port}/hook`, wh]];
}

test('web-server integrations: a retry reaches the callback once, a query string is fine, forgeries never', async (t) => {
  const secret = 'dedupe-secret';
  const simple = [];
  const raw = [];
  const targets = await integrations(t, secret, (p) => simple.push(p), (p, req, res) => { raw.push(p); res.end('{"raw":true}'); });
  for (const [name, url, wh] of targets) {
    const seen = name === 'createWebhookHandler' ? simple : raw;
    const body = JSON.stringify({ event: 'meeting.rtms_started', event_ts: Date.now(), payload: { rtms_stream_id: `s-${name}` } });
    const first = await fetch(`${url}?retry=0`, { method: 'POST', body, headers: signWith(secret, body) });
    assert.strictEqual(first.status, 200, name);
    // Zoom's retry: the same body, signed again (a later timestamp).
    const again = await fetch(`${url}?retry=1`, { method: 'POST', body, headers: signWith(secret, body, Math.floor(Date.now() / 1000) + 1) });
    assert.strictEqual(again.status, 200, name);
    assert.deepStrictEqual(await again.json(), { status: 'ok' }, `${name}: a duplicate gets the core's answer`);
    const forged = await fetch(url, { method: 'POST', body: '{"event":"forged"}', headers: signWith('not-the-secret', '{"event":"forged"}') });
    assert.strictEqual(forged.status, 401, name);
    const unsigned = await fetch(url, { method: 'POST', body: '{"event":"unsigned"}' });
    assert.strictEqual(unsigned.status, 401, name);
    const v = '{"event":"endpoint.url_validation","payload":{"plainToken":"tok"}}';
    const challenge = await fetch(`${url}?x=1`, { method: 'POST', body: v, headers: signWith(secret, v) });
    assert.deepStrictEqual(await challenge.json(),
      { plainToken: 'tok', encryptedToken: crypto.createHmac('sha256', secret).update('tok').digest('hex') }, name);
    await new Promise((res) => setTimeout(res, 50));
    assert.deepStrictEqual(seen.map((p) => p.event), ['meeting.rtms_started'], `${name}: once, and nothing refused`);
    if (wh) {
      const st = wh.stats();
      assert.deepStrictEqual([st.accepted, st.duplicates, st.unauthorized, st.validations], [1, 1, 2, 1], name);
    }
  }
});

test('raw form: an answer written by the callback (sync or async) reaches the client, else the core\'s', async (t) => {
  const wh = rtms.onWebhookEvent(async (payload, req, res) => {
    if (payload.event === 'quiet') return;
    if (payload.event === 'later') {
      await new Promise((r) => setTimeout(r, 20));
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.end('later');
      return;
    }
    if (payload.event === 'reject') throw new Error('rejected');
    res.writeHead(418, { 'Content-Type': 'text/plain' });
    res.end(`teapot ${req.method} ${req.url} ${req.rawBody.length}`);
  }, { host: '127.0.0.1', port: 0, path: '/raw', secret: '' });
  t.after(() => wh.stop());
  await once(wh.server, 'listening');
  const url = `http://127.0.0.1:${wh.port}/raw`;
  const post = (event) => fetch(`${url}?q=${event}`, { method: 'POST', body: JSON.stringify({ event }) });
  const tea = await post('tea');
  assert.deepStrictEqual([tea.status, await tea.text()], [418, 'teapot POST /raw?q=tea 15']);
  const later = await post('later');
  assert.deepStrictEqual([later.status, await later.text()], [201, 'later']);
  const quiet = await post('quiet');
  assert.deepStrictEqual([quiet.status, await quiet.json()], [200, { status: 'ok' }]);
  assert.strictEqual((await post('reject')).status, 500);
  const wrongPath = await fetch(`http://127.0.0.1:${wh.port}/elsewhere`, { method: 'POST', body: '{"event":"e"}' });
  assert.deepStrictEqual([wrongPath.status, await wrongPath.json()], [404, { error: 'Not Found' }]);
  const big = await fetch(url, { method: 'POST', body: Buffer.alloc((1 << 20) + 10, 0x20) });
  assert.strictEqual(big.status, 413);
  const st = wh.stats();
  assert.strictEqual(st.not_found, 1);
  assert.strictEqual(st.too_large, 1);
});

test('web-server integrations route RTMS events of a live client (rtms_stopped ends it)', async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  const secret = 'route-secret';
  const simple = [];
  const raw = [];
  const targets = await integrations(t, secret, (p) => simple.push(p), (p, req, res) => { raw.push(p); res.end(); });
  for (const [name, url, wh] of targets) {
    const body = await sim.meeting({ duration: 60 });
    const c = new rtms.Client();
    const r = record(c);
    c.enableVideo(false); c.enableDeskshare(false); c.enableTranscript(false); c.enableChat(false);
    c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
    await until(() => r.of('join_confirm').length > 0);
    assert.deepStrictEqual(r.of('join_confirm'), [[0]], name);
    const stopped = JSON.stringify({ event: 'meeting.rtms_stopped', event_ts: Date.now(),
      payload: { meeting_uuid: body.payload.meeting_uuid, rtms_stream_id: body.payload.rtms_stream_id, stop_reason: 2 } });
    const answer = await fetch(url, { method: 'POST', body: stopped, headers: signWith(secret, stopped) });
    assert.strictEqual(answer.status, 200, name);
    await until(() => r.of('leave').length > 0, 10000);
    assert.deepStrictEqual(r.of('leave'), [[rtms.StopReason.USER_TRIGGERED]], `${name}: the core ended the live session`);
    const again = await fetch(url, { method: 'POST', body: stopped, headers: signWith(secret, stopped) });
    assert.strictEqual(again.status, 200);
    c.leave();
    const seen = name === 'createWebhookHandler' ? simple : raw;
    assert.deepStrictEqual(seen.map((p) => p.event), ['meeting.rtms_stopped'], name);
    if (wh) assert.deepStrictEqual([wh.stats().routed, wh.stats().duplicates], [1, 1]);
  }
});

// Field names of a struct in include/openrtms.h, read from the header so the test cannot drift.
function headerStruct(name) {
  const fs = require('node:fs');
  const text = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'include', 'openrtms.h'), 'utf8');
  const m = text.match(new RegExp(`struct ${name} \\{([\\s\\S]*?)\\n\\};`));
  assert.ok(m, `struct ${name} not found`);
  const body = m[1].replace(/\/\*[\s\S]*?\*\//g, '');
  return [...body.matchAll(/^\s*[\w ]+?\s+\**(\w+)(\[\d+\])?;/gm)].map((x) => x[1]).filter((f) => f !== 'version');
}

test('getStats() and the intake\'s stats() have every field of the C structs, by their C names', async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  const body = await sim.meeting({ duration: 2 });
  const c = new rtms.Client();
  let left = false;
  c.onAudioData(() => {});
  c.onLeave(() => { left = true; });
  c.join({ ...body.payload, client: CLIENT_ID, secret: CLIENT_SECRET });
  await until(() => left, 20000);
  const st = c.getStats();
  assert.deepStrictEqual(c.stats(), st, 'stats() is the same');
  c.leave();
  const fields = headerStruct('rtms_stats');
  assert.ok(fields.includes('media_messages') && fields.includes('max_gap_ms'), fields.join());
  assert.deepStrictEqual(Object.keys(st).sort(), fields.sort());
  assert.deepStrictEqual(Object.keys(st.media_messages), ['audio', 'video', 'deskshare', 'transcript', 'chat']);
  assert.ok(st.media_messages.audio > 0 && st.delivered > 0 && st.media_bytes > 0, JSON.stringify(st));
  const wfields = headerStruct('rtms_webhook_stats');
  assert.ok(wfields.includes('accept_errors'), wfields.join());
  for (const form of [(p) => p, (p, req, res) => res.end()]) {
    const wh = rtms.onWebhookEvent(form, { host: '127.0.0.1', port: 0, path: '/s', secret: '' });
    try {
      if (wh.server) await once(wh.server, 'listening');
      const s = wh.stats();
      assert.deepStrictEqual(Object.keys(s).sort(), [...wfields].sort());
      assert.ok(Object.values(s).every((v) => typeof v === 'number'));
    } finally {
      wh.stop();
    }
  }
});
