'use strict';
// rtms.Fleet against a throwaway PostgreSQL (scripts/pg-test.sh, or RTMS_TEST_DATABASE_URL) and
// the simulator: the fleet's intake stores the signed rtms_started, the 'stream' listener gets a
// Client the fleet joined, which receives audio on the main thread; a signed rtms_stopped posted
// to the intake ends it (row ended in rtms.streams). Skipped when PostgreSQL is not installed.
// RTMS_SIM names rtms-sim (default: the debug build).

const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const rtms = require('..');

const CLIENT_ID = 'node-fleet-client';
const CLIENT_SECRET = 'node-fleet-secret';
const SECRET = 'node-fleet-webhook-secret';
const sim = require('./support/simulator.js');

const startSim = (...extra) => sim.startSim({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, ...extra);
const { until } = sim;
const script = path.join(__dirname, '..', '..', '..', 'scripts', 'pg-test.sh');

// The server: RTMS_TEST_DATABASE_URL, else scripts/pg-test.sh; null (with why) when neither can be had.
function findPostgres() {
  if (process.env.RTMS_TEST_DATABASE_URL) return { url: process.env.RTMS_TEST_DATABASE_URL, psql: 'psql', dir: null };
  if (!fs.existsSync(script)) return { skip: 'scripts/pg-test.sh not found next to the binding' };
  const bindir = spawnSync('bash', [script, 'bindir'], { encoding: 'utf8' });
  if (bindir.status !== 0) {
    return { skip: 'no PostgreSQL binaries found: apt-get install postgresql (scripts/test.sh does), set PG_BINDIR, or give RTMS_TEST_DATABASE_URL' };
  }
  const dir = path.join(fs.existsSync('/tmp') ? '/tmp' : os.tmpdir(), `openrtms-pg-node-${process.pid}-${Date.now()}`);
  const started = spawnSync('bash', [script, 'start', dir], { encoding: 'utf8', timeout: 120000 });
  if (started.status !== 0) throw new Error(`scripts/pg-test.sh start failed: ${started.stdout} ${started.stderr}`);
  const psql = path.join(bindir.stdout.trim(), 'psql');
  return { url: started.stdout.trim().split('\n').pop(), psql: fs.existsSync(psql) ? psql : 'psql', dir };
}

const pg = findPostgres();
test.after(() => { if (pg.dir) spawnSync('bash', [script, 'stop', pg.dir], { timeout: 60000 }); });

function query(url, sql) {
  const r = spawnSync(pg.psql, [url, '-X', '-At', '-F', '|', '-c', sql], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l).map((l) => l.split('|'));
}

function database(tag) {
  const name = `rtms_node_${tag}_${crypto.randomBytes(5).toString('hex')}`;
  query(pg.url, `CREATE DATABASE ${name}`);
  return `${pg.url.slice(0, pg.url.lastIndexOf('/'))}/${name}`;
}


async function post(url, body, secret = SECRET) {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = `v0=${crypto.createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': sig } });
  await r.text();
  return r.status;
}

const skip = pg.skip || false;

test('Fleet: a posted stream is joined, receives audio on the main thread, a posted rtms_stopped ends it', { skip }, async (t) => {
  const db = database('join');
  const fleet = new rtms.Fleet({ databaseUrl: db, nodeId: 'node-a', host: '127.0.0.1', port: 0, path: '/zoom', webhookSecret: SECRET,
    client: CLIENT_ID, secret: CLIENT_SECRET, leaseMs: 3000, renewMs: 500, leaseMarginMs: 1000 });
  t.after(() => fleet.close());
  const seen = { audio: 0, join: [], leave: [], streams: [], clients: [], offThread: 0 };
  const { isMainThread } = require('node:worker_threads');
  fleet.on('stream', (client, stream) => {
    seen.streams.push(stream);
    seen.clients.push(client);
    client.onAudioData(() => { seen.audio += 1; if (!isMainThread) seen.offThread += 1; });
    client.onJoinConfirm((r) => seen.join.push(r));
    client.onLeave((r) => seen.leave.push(r));
  });
  assert.strictEqual(await fleet.start(), fleet);
  const url = `http://127.0.0.1:${fleet.port}/zoom`;
  const sim = await startSim('--webhook-url', url, '--webhook-secret', SECRET);
  t.after(() => sim.close());
  const started = await sim.meeting({ duration: 60 });
  const sid = started.payload.rtms_stream_id;
  await until(() => seen.audio >= 20);
  assert.deepStrictEqual(seen.join, [0]);
  assert.strictEqual(seen.offThread, 0);
  const s = seen.streams[0];
  assert.deepStrictEqual([s.streamId, s.generation, s.previousOwner], [sid, 1, null]);
  assert.strictEqual(s.payload.meeting_uuid, started.payload.meeting_uuid);
  assert.ok(seen.clients[0] instanceof rtms.Client);
  assert.deepStrictEqual([seen.clients[0].uuid(), seen.clients[0].streamId()], [started.payload.meeting_uuid, sid]);
  assert.throws(() => seen.clients[0].join({}), /joined by its fleet/);
  assert.deepStrictEqual(query(db, `SELECT state, owner_node, generation FROM rtms.streams WHERE rtms_stream_id = '${sid}'`), [['owned', 'node-a', '1']]);
  const st = fleet.status();
  assert.deepStrictEqual([st.node_id, st.held, st.claims, st.port], ['node-a', [sid], 1, fleet.port]);
  assert.deepStrictEqual([...fleet.clients.keys()], [sid]);
  assert.strictEqual(await post(url, '{"event":"meeting.rtms_started"}', 'forged'), 401);

  const stopped = JSON.stringify({ event: 'meeting.rtms_stopped', event_ts: Date.now(), payload: {
    meeting_uuid: started.payload.meeting_uuid, rtms_stream_id: sid, stop_reason: 2 } });
  assert.strictEqual(await post(url, stopped), 200);
  await until(() => seen.leave.length > 0, 10000);
  assert.deepStrictEqual(seen.leave, [rtms.StopReason.USER_TRIGGERED]);
  await until(() => query(db, `SELECT state, end_reason FROM rtms.streams WHERE rtms_stream_id = '${sid}'`).join() === 'ended,2', 10000);
  await until(() => fleet.status().held.length === 0 && fleet.clients.size === 0, 5000);
  assert.deepStrictEqual(query(db, `SELECT event FROM rtms.webhook_events WHERE rtms_stream_id = '${sid}' ORDER BY stream_seq`),
    [['meeting.rtms_started'], ['meeting.rtms_stopped']]);
  await fleet.close();
  assert.strictEqual(fleet.port, -1);
  await fleet.close();   // idempotent
});

test('Fleet: a node that leaves the fleet hands its stream to another node (next generation)', { skip }, async (t) => {
  // Two nodes of one database in one process: node 1 holds the stream; when it leaves the fleet
  // (close), the stream is handed back and node 2 joins it, with the next generation.
  const db = database('handover');
  const opts = (nodeId) => ({ databaseUrl: db, nodeId, host: '127.0.0.1', port: 0, path: '/zoom', webhookSecret: SECRET,
    client: CLIENT_ID, secret: CLIENT_SECRET, leaseMs: 3000, renewMs: 500, leaseMarginMs: 1000 });
  const got = [];
  const mk = (name) => {
    const f = new rtms.Fleet(opts(name));
    f.on('stream', (client, stream) => {
      const rec = { name, stream, audio: 0 };
      got.push(rec);
      client.onAudioData(() => { rec.audio += 1; });
    });
    t.after(() => f.close());
    return f.start();
  };
  const one = await mk('node-1');
  const sim = await startSim('--webhook-url', `http://127.0.0.1:${one.port}/zoom`, '--webhook-secret', SECRET);
  t.after(() => sim.close());
  const started = await sim.meeting({ duration: 60 });
  await until(() => got.length === 1 && got[0].audio > 0);
  const two = await mk('node-2');
  assert.ok(two.port > 0);
  await one.close();
  await until(() => got.length === 2 && got[1].audio > 0);
  assert.deepStrictEqual([got[1].name, got[1].stream.streamId, got[1].stream.generation],
    ['node-2', started.payload.rtms_stream_id, 2]);
  assert.deepStrictEqual(query(db, 'SELECT owner_node, generation FROM rtms.streams'), [['node-2', '2']]);
});

test('Fleet: options are checked (types here, values by the core)', { skip }, async () => {
  assert.throws(() => new rtms.Fleet({ maxStreams: '3' }), TypeError);
  assert.throws(() => new rtms.Fleet({ databaseUrl: 5 }), TypeError);
  await assert.rejects(new rtms.Fleet({ databaseUrl: 'mysql://x@y/z', port: 0 }).start(), /database URL/);
  await assert.rejects(new rtms.Fleet({ databaseUrl: pg.url, port: 0, leaseMs: 3000, renewMs: 2000 }).start(), /renewal/);
});
