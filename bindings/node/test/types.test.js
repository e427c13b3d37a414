'use strict';
// rtms.d.ts against the runtime, so that they cannot drift: the values it declares (consts,
// functions, classes, enums, the default export) are exactly the names index.js exports, the
// names index.mjs exports and the members of the default object, both ways; each has the kind it
// is declared with; the constant objects have exactly the members of their interfaces; Client and
// Fleet have exactly the methods declared. Types-only names (interfaces, type aliases) have no
// runtime counterpart. Every name of Zoom's rtms.d.ts (@zoom/rtms 1.1.0) is declared.
//
// rtms.d.ts is read with a small parser (comments stripped, top-level statements only), not a
// TypeScript compiler: it accepts the forms this file uses and fails on any other export form.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const rtms = require('..');

const dts = path.join(__dirname, '..', 'rtms.d.ts');

// Zoom's rtms.d.ts: every exported name, and the members of its default export object.
const ZOOM_VALUES = `LogLevel LogFormat MEDIA_TYPE_AUDIO MEDIA_TYPE_VIDEO MEDIA_TYPE_DESKSHARE MEDIA_TYPE_TRANSCRIPT
  MEDIA_TYPE_CHAT MEDIA_TYPE_ALL SESSION_EVENT_ADD SESSION_EVENT_STOP SESSION_EVENT_PAUSE SESSION_EVENT_RESUME USER_JOIN
  USER_LEAVE EVENT_UNDEFINED EVENT_FIRST_PACKET_TIMESTAMP EVENT_ACTIVE_SPEAKER_CHANGE EVENT_PARTICIPANT_JOIN
  EVENT_PARTICIPANT_LEAVE EVENT_SHARING_START EVENT_SHARING_STOP EVENT_MEDIA_CONNECTION_INTERRUPTED
  EVENT_CONSUMER_ANSWERED EVENT_CONSUMER_END EVENT_USER_ANSWERED EVENT_USER_END EVENT_USER_HOLD EVENT_USER_UNHOLD
  RTMS_SDK_FAILURE RTMS_SDK_OK RTMS_SDK_TIMEOUT RTMS_SDK_NOT_EXIST RTMS_SDK_WRONG_TYPE RTMS_SDK_INVALID_STATUS
  RTMS_SDK_INVALID_ARGS SESS_STATUS_ACTIVE SESS_STATUS_PAUSED TranscriptLanguage Client createWebhookHandler
  onWebhookEvent configureLogger generateSignature isInitialized default`.split(/\s+/);
const ZOOM_TYPES = `LoggerConfig MediaTypes Metadata ParticipantInfo SessionInfo AudioParams VideoParams DeskshareParams
  TranscriptParams JoinParams SignatureParams WebhookCallback RawWebhookCallback JoinConfirmCallback
  SessionUpdateCallback UserUpdateCallback EventParticipantInfo ParticipantEventCallback ActiveSpeakerEventCallback
  SharingEventCallback DeskshareCallback AudioDataCallback VideoDataCallback TranscriptDataCallback LeaveCallback
  EventExCallback AudioContentType AudioCodec AudioSampleRate AudioChannel AudioDataOption VideoContentType VideoCodec
  VideoResolution VideoDataOption MediaDataType SessionState StreamState EventType MessageType StopReason`.split(/\s+/);
const ZOOM_DEFAULT_MEMBERS = `Client onWebhookEvent createWebhookHandler generateSignature isInitialized configureLogger
  LogLevel LogFormat AudioContentType AudioCodec AudioSampleRate AudioChannel AudioDataOption VideoContentType
  VideoCodec VideoResolution VideoDataOption MediaDataType SessionState StreamState EventType MessageType
  StopReason`.split(/\s+/).concat(ZOOM_VALUES.filter((n) => /^[A-Z_]+$/.test(n)));
const ZOOM_CLIENT_MEMBERS = `initialize uninitialize join poll release leave uuid streamId setAudioParams setVideoParams
  setDeskshareParams setProxy subscribeVideo onParticipantVideo onVideoSubscribed onJoinConfirm onSessionUpdate
  onUserUpdate onParticipantEvent onActiveSpeakerEvent onSharingEvent onMediaConnectionInterrupted onEventEx
  onDeskshareData onAudioData onVideoData onTranscriptData onLeave subscribeEvent unsubscribeEvent`.split(/\s+/);

// ---------------------------------------------------------------------------------------------
// The parser
// ---------------------------------------------------------------------------------------------

// The text without comments (strings kept: none of this file's strings holds a comment marker).
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
}

// The text with everything inside brackets ({}, (), []) blanked out: what is left is top-level
// (depth 0), at the same positions. `inner(code, at)` is the body of the brace block opening at `at`.
function topLevel(code) {
  let depth = 0;
  let out = '';
  for (let i = 0; i < code.length; i++) {   // by UTF-16 unit: positions stay those of `code`
    const ch = code[i];
    if (ch === '{' || ch === '(' || ch === '[') depth++;
    if (depth === 0) out += ch;
    else out += ch === '\n' ? '\n' : ' ';
    if (ch === '}' || ch === ')' || ch === ']') depth--;
    assert.ok(depth >= 0, 'unbalanced brackets in rtms.d.ts');
  }
  assert.strictEqual(depth, 0, 'unbalanced brackets in rtms.d.ts');
  return out;
}

function inner(code, open) {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '{') depth++;
    if (code[i] === '}' && --depth === 0) return code.slice(open + 1, i);
  }
  throw new Error('unclosed block');
}

// The names directly inside a block (depth 1 of it): `name:`, `name?:`, `readonly name:`,
// `name(`, `static name(`, `get name(`, overloads once.
function members(block) {
  const flat = topLevel(block);
  const out = new Set();
  for (const m of flat.matchAll(/(?:^|[;{\n])\s*(?:readonly\s+|static\s+|get\s+)*([A-Za-z_$][\w$]*)\s*\??\s*[:(]/g)) {
    out.add(m[1]);
  }
  return out;
}

function parse(text) {
  const code = stripComments(text);
  const flat = topLevel(code);
  const values = new Map(); // name -> kind (const, function, class, enum, default)
  const types = new Map(); // name -> kind (interface, type)
  const bodies = new Map(); // name -> body text of an interface, class or enum
  const constTypes = new Map(); // const name -> its declared type text
  const kinds = /\bexport\s+(?:declare\s+)?(const|let|var|function|class|enum|interface|type|namespace|module)\s+([A-Za-z_$][\w$]*)/g;
  for (const m of flat.matchAll(kinds)) {
    const [, kind, name] = m;
    assert.ok(!['namespace', 'module', 'let', 'var'].includes(kind), `unsupported declaration: export ${kind} ${name}`);
    if (kind === 'interface' || kind === 'type') types.set(name, kind);
    else values.set(name, kind);
    if (['interface', 'class', 'enum'].includes(kind)) bodies.set(name, inner(code, code.indexOf('{', m.index)));
    if (kind === 'const') {
      const end = flat.indexOf(';', m.index);
      const decl = flat.slice(m.index, end);
      assert.ok(!decl.includes(','), `one name per declaration: ${decl}`);
      constTypes.set(name, code.slice(m.index + m[0].length, end).replace(/^\s*:\s*/, '').trim());
    }
  }
  const all = [...flat.matchAll(/\bexport\b/g)].length;
  const defaults = [...flat.matchAll(/\bexport\s+default\s+([A-Za-z_$][\w$]*)\s*;/g)];
  assert.strictEqual(defaults.length, 1, 'one `export default <name>;`');
  values.set('default', 'default');
  // Every `export` at top level is one of the forms above (no `export { }`, `export =`, `export *`).
  const counted = [...flat.matchAll(kinds)].length + defaults.length;
  assert.strictEqual(all, counted, 'rtms.d.ts has an export form this parser does not read');
  // The default export's object type.
  const name = defaults[0][1];
  const decl = new RegExp(`\\bdeclare\\s+const\\s+${name}\\s*:\\s*\\{`).exec(code);
  assert.ok(decl, `declare const ${name}: { ... } (the default export's members)`);
  const defaultMembers = members(inner(code, decl.index + decl[0].length - 1));
  return { values, types, bodies, constTypes, defaultMembers };
}

const D = parse(fs.readFileSync(dts, 'utf8'));

function sameNames(actual, expected, what) {
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = [...e].filter((n) => !a.has(n)).sort();
  const extra = [...a].filter((n) => !e.has(n)).sort();
  assert.deepStrictEqual({ missing, extra }, { missing: [], extra: [] }, what);
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

test('the parser reads rtms.d.ts: values, types, the default object', () => {
  assert.ok(D.values.size > 60 && D.types.size > 40, `${D.values.size} values, ${D.types.size} types`);
  assert.strictEqual(D.values.get('Client'), 'class');
  assert.strictEqual(D.values.get('LogLevel'), 'enum');
  assert.strictEqual(D.values.get('onWebhookEvent'), 'function');
  assert.strictEqual(D.types.get('SessionInfo'), 'interface');
  assert.strictEqual(D.types.get('RawWebhookCallback'), 'type');
  assert.ok(D.values.has('AudioCodec') && D.types.has('AudioCodec'), 'a constant object is a value and a type');
});

test('the values declared are the names index.js exports, both ways', () => {
  sameNames(Object.keys(rtms), D.values.keys(), 'rtms.d.ts values vs require(".")');
});

test('the values declared are the names index.mjs exports, both ways', async () => {
  const esm = await import(pathToFileURL(path.join(__dirname, '..', 'index.mjs')).href);
  sameNames(Object.keys(esm), D.values.keys(), 'rtms.d.ts values vs import("index.mjs")');
  for (const n of Object.keys(esm)) if (n !== 'default') assert.strictEqual(esm[n], rtms[n], n);
  assert.strictEqual(esm.default, rtms);
});

test('the default object declared has the members the runtime has', () => {
  sameNames(Object.keys(rtms), D.defaultMembers, 'declare const rtms: {...} vs require(".")');
  assert.strictEqual(rtms.default, rtms);
});

test('each value has the kind it is declared with', () => {
  for (const [name, kind] of D.values) {
    const v = rtms[name];
    if (kind === 'function' || kind === 'class') {
      assert.strictEqual(typeof v, 'function', `${kind} ${name}`);
    } else if (kind === 'enum') {
      assert.strictEqual(typeof v, 'object', `enum ${name}`);
      const entries = [...D.bodies.get(name).matchAll(/([A-Za-z_$][\w$]*)\s*=\s*('[^']*'|-?\d+)\s*(?:,|$)/g)];
      sameNames(Object.keys(v), entries.map((m) => m[1]), `enum ${name} members`);
      for (const m of entries) assert.strictEqual(v[m[1]], JSON.parse(m[2].replace(/'/g, '"')), `${name}.${m[1]}`);
    } else if (kind === 'const') {
      const t = D.constTypes.get(name);
      if (t === 'number') {
        assert.strictEqual(typeof v, 'number', `const ${name}: number`);
      } else {
        const m = /^Readonly<(\w+)>$/.exec(t);
        assert.ok(m, `const ${name}: ${t} (number or Readonly<Interface>)`);
        assert.ok(v && typeof v === 'object', `const ${name} is an object`);
        assert.ok(D.types.get(m[1]) === 'interface', `interface ${m[1]} declared`);
        sameNames(Object.keys(v), members(D.bodies.get(m[1])), `${name}'s members vs interface ${m[1]}`);
        for (const [k, x] of Object.entries(v)) assert.strictEqual(typeof x, 'number', `${name}.${k}`);
      }
    }
  }
});

test('Client and Fleet have exactly the methods declared', () => {
  for (const name of ['Client', 'Fleet']) {
    const declared = members(D.bodies.get(name));
    declared.delete('constructor');
    const C = rtms[name];
    const own = (o, skip) => Object.getOwnPropertyNames(o).filter((n) => !skip.includes(n) && !n.startsWith('_'));
    const runtime = [...own(C.prototype, ['constructor']), ...own(C, ['length', 'name', 'prototype'])];
    // Declared members a base class provides (Fleet's EventEmitter methods) count as present.
    const inherited = (n) => !runtime.includes(n) && (n in C.prototype || n in C);
    sameNames(runtime, [...declared].filter((n) => !inherited(n)), `${name}: rtms.d.ts vs runtime`);
  }
});

test("every name of Zoom's rtms.d.ts is declared, and its values exist at run time", () => {
  sameNames([], ZOOM_VALUES.filter((n) => !D.values.has(n)), "Zoom's values not declared");
  sameNames([], ZOOM_TYPES.filter((n) => !D.types.has(n)), "Zoom's types not declared");
  sameNames([], ZOOM_VALUES.filter((n) => !(n in rtms)), "Zoom's values missing at run time");
  sameNames([], ZOOM_DEFAULT_MEMBERS.filter((n) => !D.defaultMembers.has(n)), "Zoom's default members not declared");
  const clientMembers = members(D.bodies.get('Client'));
  sameNames([], ZOOM_CLIENT_MEMBERS.filter((n) => !clientMembers.has(n)), "Zoom's Client members not declared");
});
