'use strict';
// The binding's constant tables against the public C headers (include/openrtms.h "Protocol
// constants" and rtms_common.h), read from the header text: for every table, the same names and
// values here, in Python (bindings/python/tests/test_constants.py, same mapping) and in the
// header. The tables keep Zoom's public names; the mapping from header prefix to table is TABLES.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const rtms = require('..');

const root = path.join(__dirname, '..', '..', '..');
const include = path.join(root, 'include');

// {name: value} of every integer #define of the public headers ("(-1)" included), and of the
// RTMS_SDK_* enum of rtms_common.h.
function headerConstants() {
  const out = {};
  for (const f of fs.readdirSync(include).filter((n) => n.endsWith('.h')).sort()) {
    const text = fs.readFileSync(path.join(include, f), 'utf8');
    for (const m of text.matchAll(/^#define\s+(\w+)\s+\(?(-?\d+)\)?(?:\s|$)/gm)) out[m[1]] = Number(m[2]);
    for (const m of text.matchAll(/^\s*(RTMS_SDK_\w+)\s*=\s*(-?\d+)\s*,?/gm)) out[m[1]] = Number(m[2]);
  }
  return out;
}
const HEADER = headerConstants();

// The header constants of one prefix as {binding name: value}, without the names left out.
function table(prefix, { rename = (n) => n, leaveOut = [], only = null } = {}) {
  const out = {};
  for (const [k, v] of Object.entries(HEADER)) if (k.startsWith(prefix)) out[rename(k.slice(prefix.length))] = v;
  assert.ok(Object.keys(out).length > 0, `no #define ${prefix}* in include/`);
  for (const n of leaveOut) {
    assert.ok(n in out, `${prefix}${n} is not in the header`);
    delete out[n];
  }
  if (only) for (const n of Object.keys(out)) if (!only(n)) delete out[n];
  return out;
}

const chatGroupEvents = Object.keys(table('RTMS_EVENT_')).filter((n) => n.startsWith('CHAT_GROUP_'));

// Binding table -> what it must be exactly (aliases included), from the header.
//   Leaving out: AudioContentType has no RAW_VIDEO and VideoContentType no RAW_AUDIO (Zoom's
//   tables); AudioDataOption has the audio options and VideoDataOption the video ones (Python has
//   one DataOption); Zoom's EventType has no CHAT_GROUP_* (the core passes them as numbers).
//   Binding-only: MediaDataType.UNDEFINED (0; the header's media types are the SDK_* bits).
const TABLES = {
  AudioContentType: () => table('RTMS_CONTENT_TYPE_', { leaveOut: ['RAW_VIDEO'] }),
  VideoContentType: () => table('RTMS_CONTENT_TYPE_', { leaveOut: ['RAW_AUDIO'] }),
  AudioCodec: () => table('RTMS_AUDIO_CODEC_'),
  VideoCodec: () => table('RTMS_VIDEO_CODEC_'),
  AudioSampleRate: () => table('RTMS_SAMPLE_RATE_', { rename: (n) => `SR_${n}` }),
  AudioChannel: () => table('RTMS_AUDIO_CHANNEL_'),
  AudioDataOption: () => table('RTMS_DATA_OPTION_', { only: (n) => n === 'UNDEFINED' || n.startsWith('AUDIO_') }),
  VideoDataOption: () => table('RTMS_DATA_OPTION_', { only: (n) => n === 'UNDEFINED' || n.startsWith('VIDEO_') }),
  VideoResolution: () => table('RTMS_RESOLUTION_'),
  MediaDataType: () => ({ ...table('SDK_'), UNDEFINED: 0 }),
  EventType: () => ({ ...table('RTMS_EVENT_', { leaveOut: chatGroupEvents }), ...table('RTMS_ZCC_EVENT_') }),
  StopReason: () => ({ ...table('RTMS_STOP_REASON_'), ...table('RTMS_REASON_') }),
  StreamState: () => table('RTMS_STREAM_STATE_'),
  SessionState: () => table('RTMS_SESSION_STATE_'),
  TranscriptLanguage: () => table('RTMS_LANGUAGE_'),
  MessageType: () => table('RTMS_MSG_'),
};
// Tables of the binding that are not protocol constants.
const NOT_PROTOCOL = ['LogLevel', 'LogFormat'];

// Flat names -> header prefix (Zoom's flat names: MEDIA_TYPE_AUDIO is SDK_AUDIO...).
const FLAT = {
  MEDIA_TYPE_: () => table('SDK_'),
  SESSION_EVENT_: () => Object.fromEntries(['ADD', 'STOP', 'PAUSE', 'RESUME'].map((n) => [n, HEADER[`SESSION_${n}`]])),
  USER_: () => table('USER_'),
  EVENT_: () => TABLES.EventType(),
  RTMS_SDK_: () => table('RTMS_SDK_'),
  // Zoom's Python and Node SDKs say ACTIVE 0, PAUSED 1 where the C header (session_info.status)
  // says 1 and 2: the bindings translate (_core.py, addon.c), so the binding value is C's - 1.
  SESS_STATUS_: () => Object.fromEntries(Object.entries(table('SESS_STATUS_')).map(([k, v]) => [k, v - 1])),
};

const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

test('header parse', () => {
  assert.strictEqual(HEADER.RTMS_STOP_REASON_MEETING_ENDED, 6);
  assert.strictEqual(HEADER.RTMS_LANGUAGE_NONE, -1);
  assert.strictEqual(HEADER.RTMS_SDK_FAILURE, -1);
  assert.strictEqual(HEADER.RTMS_MSG_VIDEO_SUBSCRIPTION_RESP, 29);
});

test('every constant table is the header\'s', () => {
  for (const [name, expected] of Object.entries(TABLES)) {
    assert.deepStrictEqual(sorted(rtms[name]), sorted(expected()), name);
  }
});

test('every table of the binding is mapped', () => {
  const tables = Object.keys(rtms).filter((k) => /^[A-Z]/.test(k) && rtms[k] && typeof rtms[k] === 'object');
  assert.deepStrictEqual(tables.sort(), [...Object.keys(TABLES), ...NOT_PROTOCOL].sort());
});

test('flat names are the header\'s', () => {
  const flat = Object.fromEntries(Object.entries(rtms).filter(([k, v]) => /^[A-Z][A-Z0-9_]+$/.test(k) &&
    typeof v === 'number'));
  const expected = {};
  for (const [prefix, values] of Object.entries(FLAT)) {
    for (const [n, v] of Object.entries(values())) expected[prefix + n] = v;
  }
  assert.deepStrictEqual(sorted(flat), sorted(expected));
});

test('the core names each stop reason as the header does', () => {
  const native = require(process.env.RTMS_NODE_ADDON || path.join(__dirname, '..', 'build', 'rtms.node'));
  for (const [macro, value] of Object.entries(HEADER)) {
    if (macro.startsWith('RTMS_STOP_REASON_')) assert.strictEqual(native.leaveReasonString(value), macro.slice(17));
  }
});

test('one version: header, package.json, loaded library', () => {
  const h = fs.readFileSync(path.join(include, 'openrtms.h'), 'utf8');
  const version = h.match(/^#define\s+OPENRTMS_VERSION_STRING\s+"([^"]+)"/m)[1];
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  assert.strictEqual(pkg.version, version);
  assert.strictEqual(rtms.version(), version);
});
