'use strict';
// OpenRTMS for Node: Zoom's @zoom/rtms 1.1.0 API over the OpenRTMS core.
//
// Events reach JavaScript without a timer: the clients of a thread share one delivery group of
// the core, whose wake descriptor the addon watches with libuv; it delivers inside the core's
// poll, on that thread. A joined client keeps the process alive; after leave() it does not.
// Reconnection and failover happen in the core.

const fs = require('node:fs');
const path = require('node:path');

const native = require(process.env.RTMS_NODE_ADDON || path.join(__dirname, 'build', 'rtms.node'));

// ---------------------------------------------------------------------------------------------
// Constants (Zoom's names and values)
// ---------------------------------------------------------------------------------------------

const names = (list, start = 0) => Object.fromEntries(list.map((n, i) => [n, i + start]));
const AudioContentType = { UNDEFINED: 0, RTP: 1, RAW_AUDIO: 2, FILE_STREAM: 4, TEXT: 5 };
const AudioCodec = { UNDEFINED: 0, L16: 1, G711: 2, G722: 3, OPUS: 4 };
const AudioSampleRate = { SR_8K: 0, SR_16K: 1, SR_32K: 2, SR_48K: 3 };
const AudioChannel = { MONO: 1, STEREO: 2 };
const AudioDataOption = { UNDEFINED: 0, AUDIO_MIXED_STREAM: 1, AUDIO_MULTI_STREAMS: 2 };
const VideoContentType = { UNDEFINED: 0, RTP: 1, RAW_VIDEO: 3, FILE_STREAM: 4, TEXT: 5 };
const VideoCodec = { UNDEFINED: 0, JPG: 5, PNG: 6, H264: 7 };
const VideoResolution = { SD: 1, HD: 2, FHD: 3, QHD: 4 };
const VideoDataOption = { UNDEFINED: 0, VIDEO_SINGLE_ACTIVE_STREAM: 3, VIDEO_MIXED_SPEAKER_VIEW: 4,
  VIDEO_SINGLE_INDIVIDUAL_STREAM: 4, VIDEO_MIXED_GALLERY_VIEW: 5 };
const MediaDataType = { UNDEFINED: 0, AUDIO: 1, VIDEO: 2, DESKSHARE: 4, TRANSCRIPT: 8, CHAT: 16, ALL: 32 };
const SessionState = names(['INACTIVE', 'INITIALIZE', 'STARTED', 'PAUSED', 'RESUMED', 'STOPPED']);
const StreamState = names(['INACTIVE', 'ACTIVE', 'INTERRUPTED', 'TERMINATING', 'TERMINATED', 'PAUSED', 'RESUMED']);
const EventType = { UNDEFINED: 0, FIRST_PACKET_TIMESTAMP: 1, ACTIVE_SPEAKER_CHANGE: 2, PARTICIPANT_JOIN: 3,
  PARTICIPANT_LEAVE: 4, SHARING_START: 5, SHARING_STOP: 6, MEDIA_CONNECTION_INTERRUPTED: 7,
  PARTICIPANT_VIDEO_ON: 8, PARTICIPANT_VIDEO_OFF: 9, CONSUMER_ANSWERED: 8, CONSUMER_END: 9, USER_ANSWERED: 10,
  USER_END: 11, USER_HOLD: 12, USER_UNHOLD: 13 };
const MessageType = names(['UNDEFINED', 'SIGNALING_HAND_SHAKE_REQ', 'SIGNALING_HAND_SHAKE_RESP',
  'DATA_HAND_SHAKE_REQ', 'DATA_HAND_SHAKE_RESP', 'EVENT_SUBSCRIPTION', 'EVENT_UPDATE', 'CLIENT_READY_ACK',
  'STREAM_STATE_UPDATE', 'SESSION_STATE_UPDATE', 'SESSION_STATE_REQ', 'SESSION_STATE_RESP', 'KEEP_ALIVE_REQ',
  'KEEP_ALIVE_RESP', 'MEDIA_DATA_AUDIO', 'MEDIA_DATA_VIDEO', 'MEDIA_DATA_SHARE', 'MEDIA_DATA_TRANSCRIPT',
  'MEDIA_DATA_CHAT', 'STREAM_STATE_REQ', 'STREAM_STATE_RESP', 'STREAM_CLOSE_REQ', 'STREAM_CLOSE_RESP',
  'META_DATA_AUDIO', 'META_DATA_VIDEO', 'META_DATA_SHARE', 'META_DATA_TRANSCRIPT', 'META_DATA_CHAT',
  'VIDEO_SUBSCRIPTION_REQ', 'VIDEO_SUBSCRIPTION_RESP']);
const StopReason = names(['UNDEFINED', 'HOST_TRIGGERED', 'USER_TRIGGERED', 'USER_LEFT', 'USER_EJECTED',
  'HOST_DISABLED_APP', 'MEETING_ENDED', 'STREAM_CANCELED', 'STREAM_REVOKED', 'ALL_APPS_DISABLED',
  'INTERNAL_EXCEPTION', 'CONNECTION_TIMEOUT', 'INSTANCE_CONNECTION_INTERRUPTED', 'SIGNAL_CONNECTION_INTERRUPTED',
  'DATA_CONNECTION_INTERRUPTED', 'SIGNAL_CONNECTION_CLOSED_ABNORMALLY', 'DATA_CONNECTION_CLOSED_ABNORMALLY',
  'EXIT_SIGNAL', 'AUTHENTICATION_FAILURE', 'AWAIT_RECONNECTION_TIMEOUT', 'RECEIVER_REQUEST_CLOSE',
  'CUSTOMER_DISCONNECTED', 'AGENT_DISCONNECTED', 'ADMIN_DISABLED_APP', 'KEEP_ALIVE_TIMEOUT',
  'MANUAL_API_TRIGGERED', 'STREAMING_NOT_SUPPORTED']);
// The core's own reasons (RTMS_REASON_* in include/openrtms.h), reported by onLeave when it gives
// up on a connection, by onJoinConfirm and onError (QUEUE_FULL): members too, so that every
// reason the core reports has a name. TIMEOUT, BAD_RESPONSE and LIVENESS_TIMEOUT share Zoom's
// values 1, 6 and 16 (whose names come first in a lookup by value).
Object.assign(StopReason, { TIMEOUT: 1, BAD_RESPONSE: 6, LIVENESS_TIMEOUT: 16, CONNECT_FAILED: 500,
  CONNECTION_LOST: 502, TLS_FAILED: 610, UPGRADE_REFUSED: 620, CLOSED_BY_SERVER: 960, QUEUE_FULL: 700 });
const TranscriptLanguage = Object.assign({ NONE: -1 }, names(['ARABIC', 'BENGALI', 'CANTONESE', 'CATALAN',
  'CHINESE_SIMPLIFIED', 'CHINESE_TRADITIONAL', 'CZECH', 'DANISH', 'DUTCH', 'ENGLISH', 'ESTONIAN', 'FINNISH',
  'FRENCH_CANADA', 'FRENCH_FRANCE', 'GERMAN', 'HEBREW', 'HINDI', 'HUNGARIAN', 'INDONESIAN', 'ITALIAN', 'JAPANESE',
  'KOREAN', 'MALAY', 'PERSIAN', 'POLISH', 'PORTUGUESE', 'ROMANIAN', 'RUSSIAN', 'SPANISH', 'SWEDISH', 'TAGALOG',
  'TAMIL', 'TELUGU', 'THAI', 'TURKISH', 'UKRAINIAN', 'VIETNAMESE']));

const flat = {
  MEDIA_TYPE_AUDIO: 1, MEDIA_TYPE_VIDEO: 2, MEDIA_TYPE_DESKSHARE: 4, MEDIA_TYPE_TRANSCRIPT: 8, MEDIA_TYPE_CHAT: 16,
  MEDIA_TYPE_ALL: 32, SESSION_EVENT_ADD: 1, SESSION_EVENT_STOP: 2, SESSION_EVENT_PAUSE: 3, SESSION_EVENT_RESUME: 4,
  USER_JOIN: 0, USER_LEAVE: 1, EVENT_UNDEFINED: 0, EVENT_FIRST_PACKET_TIMESTAMP: 1, EVENT_ACTIVE_SPEAKER_CHANGE: 2,
  EVENT_PARTICIPANT_JOIN: 3, EVENT_PARTICIPANT_LEAVE: 4, EVENT_SHARING_START: 5, EVENT_SHARING_STOP: 6,
  EVENT_MEDIA_CONNECTION_INTERRUPTED: 7, EVENT_PARTICIPANT_VIDEO_ON: 8, EVENT_PARTICIPANT_VIDEO_OFF: 9,
  EVENT_CONSUMER_ANSWERED: 8, EVENT_CONSUMER_END: 9, EVENT_USER_ANSWERED: 10, EVENT_USER_END: 11,
  EVENT_USER_HOLD: 12, EVENT_USER_UNHOLD: 13, RTMS_SDK_FAILURE: -1, RTMS_SDK_OK: 0, RTMS_SDK_TIMEOUT: 1,
  RTMS_SDK_NOT_EXIST: 2, RTMS_SDK_WRONG_TYPE: 3, RTMS_SDK_INVALID_STATUS: 4, RTMS_SDK_INVALID_ARGS: 5, RTMS_SDK_NO_CREDENTIALS: 16,
  SESS_STATUS_ACTIVE: 0, SESS_STATUS_PAUSED: 1,
};

// ---------------------------------------------------------------------------------------------
// Logging (ZM_RTMS_LOG_LEVEL, ZM_RTMS_LOG_FORMAT, ZM_RTMS_LOG_ENABLED)
// ---------------------------------------------------------------------------------------------

const LogLevel = { ERROR: 0, WARN: 1, INFO: 2, DEBUG: 3, TRACE: 4 };
const LogFormat = { PROGRESSIVE: 'progressive', JSON: 'json' };
const logConfig = {
  level: LogLevel[(process.env.ZM_RTMS_LOG_LEVEL || 'info').toUpperCase()] ?? LogLevel.INFO,
  format: (process.env.ZM_RTMS_LOG_FORMAT || 'progressive').toLowerCase() === 'json' ? LogFormat.JSON : LogFormat.PROGRESSIVE,
  enabled: (process.env.ZM_RTMS_LOG_ENABLED || 'true').toLowerCase() !== 'false',
};
const levelNames = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'];

function log(level, component, message, details) {
  if (!logConfig.enabled || level > logConfig.level) return;
  const ts = new Date().toISOString();
  const line = logConfig.format === LogFormat.JSON
    ? JSON.stringify({ timestamp: ts, level: levelNames[level], component, message, ...(details ? { details } : {}) })
    : `${component.padEnd(8)} | ${ts} | ${levelNames[level].padEnd(5)} | ${message}`;
  if (level === LogLevel.ERROR) console.error(line);
  else if (level === LogLevel.WARN) console.warn(line);
  else console.log(line);
}

function configureLogger(config) {
  if (config && typeof config === 'object') Object.assign(logConfig, config);
}

// ---------------------------------------------------------------------------------------------
// Signature, CA, initialization
// ---------------------------------------------------------------------------------------------

// Zoom's wrapper rules are the core's: ZM_RTMS_CLIENT / ZM_RTMS_SECRET win over the arguments
// (rtms_wrapper_signature; none: a ReferenceError, code RTMS_SDK_NO_CREDENTIALS), and the CA
// bundle is the explicit one, ZM_RTMS_CA or a system bundle (rtms_find_ca).
function generateSignature({ client, secret, uuid, streamId } = {}) {
  const text = (v) => (v == null ? v : String(v));   // Zoom's wrapper signs what String() gives
  return native.generateSignature(text(client), text(secret), text(uuid), text(streamId));
}

let initialized = false;
function ensureInitialized(ca, isVerifyCert = 1, agent) {
  if (initialized) return;
  native.initialize(native.findCaCertificate(ca), isVerifyCert, agent);
  initialized = true;
}

// ---------------------------------------------------------------------------------------------
// Params (partial objects, validated against the constant objects)
// ---------------------------------------------------------------------------------------------

// Zoom's wrapper defaults (the core's rtms_wrapper_defaults), used when a media type is enabled
// without params; set*Params merges a partial object over them and the core checks the result.
const defaults = native.defaults();

function checkParams(kind, params) {
  if (!params || typeof params !== 'object') throw new TypeError('Object argument expected');
  const p = { ...defaults[kind] };
  for (const field of Object.keys(p)) {
    const value = params[field];
    if (value === undefined) continue;
    if (typeof value !== typeof p[field] || (typeof value === 'number' && !Number.isInteger(value))) {
      throw new TypeError(`${kind} ${field} must be ${typeof p[field] === 'number' ? 'an integer' : 'a boolean'}`);
    }
    if (typeof value === 'number' && (value < -(2 ** 31) || value >= 2 ** 31)) {
      throw new RangeError(`${kind} ${field} ${value} is out of range`);
    }
    p[field] = value;
  }
  native.checkParams(kind, p);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

// Clients whose session is live (joining or joined): pinned here so that a joined client nobody
// else references keeps receiving its callbacks. A session that ended (onLeave, a failed join) is
// unpinned; a client nobody references is then garbage-collected and the addon's finalizer
// releases its handle, whether or not leave() was called.
const live = new Set();
// A media message reaches its client's dispatch as dispatch(kind, data, size, ts, metadata), kind
// by the addon's names (mediaKinds: MEDIA_TYPE_* value -> 'audio', ...). The addon calls media()
// for one message (src/addon.c's on_data: client.poll(), or with batches off); the delivery
// group's media arrive in batches (rtms_group_set_media_batch), one call a batch, fields as
// on_media_batch writes them, 12 numbers an item, each item then through media() as well.
const { mediaKinds } = native;
const media = (dispatch, type, data, ts, userName, userId, startTs, endTs, channelId, language) => dispatch(
  mediaKinds[type], data, data.length, ts, { userName, userId, startTs, endTs,
    aiInterpreter: { lid: 0, timestamp: 0, channelNum: 0, sampleRate: 0, targets: [] }, channelId, language });
native.setMedia(media, (fns, f, bytes) => {
  for (let i = 0, o = 0; i < fns.length; i++, o += 12) {
    const dispatch = fns[i];
    const size = f[o + 2];
    if (dispatch === undefined || size <= 0) continue;
    // A Buffer over an ArrayBuffer of its own, as the per-message path's (not a slice of the pool).
    const at = bytes.byteOffset + f[o + 1];
    try {
      media(dispatch, f[o], Buffer.from(bytes.buffer.slice(at, at + size)), f[o + 3],
        bytes.toString('utf8', f[o + 8], f[o + 8] + f[o + 9]), f[o + 6], f[o + 4], f[o + 5],
        bytes.toString('utf8', f[o + 10], f[o + 10] + f[o + 11]), f[o + 7]);
    } catch (e) {
      native.uncaught(e);   // as a throwing callback's exception on the per-message path
    }
  }
});
// What join() passes to the core's rtms_join_payload.
const joinKeys = ['meeting_uuid', 'webinar_uuid', 'session_id', 'engagement_id', 'call_id', 'rtms_stream_id',
  'server_urls', 'signature', 'client', 'secret'];

class Client {
  static initialize(caPath, isVerifyCert = 1, agent) {
    native.initialize(caPath || '', isVerifyCert, agent);
    initialized = true;
    return true;
  }

  static uninitialize() {
    return native.uninitialize();
  }

  constructor() {
    // The addon holds this function weakly; the client keeps it. Nothing after leave(), also not
    // the rest of a media batch that was being delivered when a callback called it.
    this._dispatchFn = (kind, ...args) => { if (!this._released) this._dispatch(kind, args); };
    this._released = false;
    this._h = native.alloc(this._dispatchFn);
    this._types = 0;
    this._params = {};
    this._cbs = {};
    this._uuid = '';
    this._streamId = '';
    this._joined = false;
  }

  // -- join / leave -------------------------------------------------------------------------

  join(options, streamId, signature, serverUrls, timeout) {
    if (typeof options === 'string') {
      options = { meeting_uuid: options, rtms_stream_id: streamId, signature, server_urls: serverUrls, timeout };
    }
    if (!options || typeof options !== 'object') throw new TypeError('Object argument expected');
    const o = options;
    ensureInitialized(o.ca, o.is_verify_cert ?? 1, o.agent);
    this._configure();
    // The core reads the ids, computes a missing signature (ZM_RTMS_CLIENT / ZM_RTMS_SECRET
    // override client / secret, as in Zoom's wrapper) and throws for bad input.
    const payload = {};
    for (const k of joinKeys) if (o[k] !== undefined && o[k] !== null) payload[k] = o[k];
    [this._uuid, this._streamId] = native.joinPayload(this._h, JSON.stringify(payload), o.timeout ?? -1);
    this._joined = true;
    live.add(this);
    return true;
  }

  _configure() {
    const p = { ...this._params };
    for (const [kind, bit] of [['audio', 1], ['video', 2], ['deskshare', 4]]) {
      if (!p[kind] && (this._types & bit)) p[kind] = { ...defaults[kind] };
    }
    native.config(this._h, this._types, p.audio || null, p.video || null, p.deskshare || null, p.transcript || null);
  }

  leave() {
    try {
      live.delete(this);
      this._joined = false;
      this._released = true;
      return native.release(this._h);
    } catch (e) {
      log(LogLevel.ERROR, 'client', `leave failed: ${e.message}`);
      return false;
    }
  }

  release() { return this.leave(); }
  poll() { native.poll(this._h); return true; }
  uuid() { return this._uuid; }
  streamId() { return this._streamId; }
  // Every counter of struct rtms_stats, by the names the Python binding uses.
  getStats() { return native.stats(this._h); }
  stats() { return native.stats(this._h); }
  state() { return native.state(this._h); }

  enableAudio(on = true) { this._enable(1, on); return true; }
  enableVideo(on = true) { this._enable(2, on); return true; }
  enableTranscript(on = true) { this._enable(8, on); return true; }
  enableDeskshare(on = true) { this._enable(4, on); return true; }
  enableChat(on = true) { this._enable(16, on); return true; }
  _enable(bit, on) { this._types = on ? (this._types | bit) : (this._types & ~bit); }

  setAudioParams(params) { this._params.audio = checkParams('audio', params); return true; }
  setVideoParams(params) { this._params.video = checkParams('video', params); return true; }
  setDeskshareParams(params) { this._params.deskshare = checkParams('deskshare', params); return true; }
  setTranscriptParams(params) { this._params.transcript = checkParams('transcript', params); return true; }

  // The addon checks the arguments (a TypeError when they are wrong).
  setProxy(proxyType, proxyUrl) { return native.setProxy(this._h, proxyType, proxyUrl); }
  subscribeEvent(events) { return native.subscribe(this._h, events, true); }
  unsubscribeEvent(events) { return native.subscribe(this._h, events, false); }
  subscribeVideo(userId, subscribe) { return native.subscribeVideo(this._h, userId, subscribe); }

  // -- callbacks ------------------------------------------------------------------------------

  _on(kind, cb) {
    if (typeof cb !== 'function') throw new TypeError('Function argument expected');
    this._cbs[kind] = cb;
    return true;
  }

  onJoinConfirm(cb) { return this._on('join_confirm', cb); }
  onSessionUpdate(cb) { return this._on('session_update', cb); }
  onUserUpdate(cb) { this._on('user_update', cb); this.subscribeEvent([2, 3, 4]); return true; }
  onAudioData(cb) { this._on('audio', cb); this._enable(1, true); return true; }
  onVideoData(cb) { this._on('video', cb); this._enable(2, true); return true; }
  onDeskshareData(cb) { this._on('deskshare', cb); this._enable(4, true); return true; }
  onTranscriptData(cb) { this._on('transcript', cb); this._enable(8, true); return true; }
  onChatData(cb) { this._on('chat', cb); this._enable(16, true); return true; }
  onLeave(cb) { return this._on('leave', cb); }
  onParticipantVideo(cb) { this._on('participant_video', cb); this.subscribeEvent([8, 9]); return true; }
  onVideoSubscribed(cb) { return this._on('video_subscribed', cb); }
  onReconnecting(cb) { return this._on('reconnecting', cb); }
  onReconnected(cb) { return this._on('reconnected', cb); }
  onStreamState(cb) { return this._on('stream_state', cb); }
  onError(cb) { return this._on('error', cb); }
  onEventEx(cb) { return this._on('event_ex', cb); }

  // Typed events come from the core's typed callbacks (rtms_ext_ops), in Zoom's shapes (the
  // addon builds them): participant('join'|'leave', ts, [{userId, userName}]), speaker(ts, userId,
  // userName), sharing('start', ts, userId, userName) / sharing('stop', ts), interrupted(ts).
  _typedOn(kind, cb, events) {
    this._on(kind, cb);
    try { this.subscribeEvent(events); } catch (e) { log(LogLevel.WARN, 'client', `subscribe failed: ${e.message}`); }
    return true;
  }

  onParticipantEvent(cb) { return this._typedOn('participant_event', cb, [3, 4]); }
  onActiveSpeakerEvent(cb) { return this._typedOn('active_speaker', cb, [2]); }
  onSharingEvent(cb) { return this._typedOn('sharing', cb, [5, 6]); }
  onMediaConnectionInterrupted(cb) { return this._typedOn('media_interrupted', cb, [7]); }

  _dispatch(kind, args) {
    if (kind === 'leave' || (kind === 'join_confirm' && args[0] !== 0)) live.delete(this);
    const cb = this._cbs[kind];
    if (cb) cb(...args);
  }
}

// ---------------------------------------------------------------------------------------------
// Webhooks: every decision is the core's intake (include/openrtms.h, "Webhook intake"): the path
// (query string ignored), 404/413/400/401, the signature and replay window, the validation
// challenge, dedupe of Zoom's retries, routing of rtms_started/interrupted/stopped to the live
// clients of this process, the queue of accepted events. Here: Node's sockets and Zoom's shapes.
// ---------------------------------------------------------------------------------------------

let webhook = null;

// Starts the process's webhook intake (once). callback(payload): the core's own listener, which
// answers before the callback. callback(payload, req, res) (Zoom's raw form): the application
// writes the answer, so that form is served by Node's http(s) server here, each request decided
// by the core (see webhookHandler). options: host, port, path, secret ('' = no signature check),
// cert, key, clientCa, maxBodyBytes, replayWindowS, queueMaxEvents; absent: the core's defaults
// and ZM_RTMS_* variables.
// Returns { port, stats(), stop() } (and server, the raw form's http(s).Server).
function onWebhookEvent(callback, options = {}) {
  if (typeof callback !== 'function') throw new TypeError('Function argument expected');
  if (webhook) {
    log(LogLevel.WARN, 'webhook', 'webhook server already running');
    return webhook;
  }
  if (callback.length >= 3) return rawWebhookServer(callback, options);
  const h = native.webhookStart(options, (event, body) => {
    let payload;
    try { payload = JSON.parse(body); } catch { return; }
    callback(payload);
  });
  const port = native.webhookPort(h);
  log(LogLevel.INFO, 'webhook', `Listening for webhook events on port ${port}`);
  webhook = {
    port,
    stats: () => native.webhookStats(h),
    stop: () => { native.webhookStop(h); webhook = null; },
  };
  return webhook;
}

function rawWebhookServer(callback, options) {
  // The listener's settings are Node's to apply; the decisions' settings go to the core.
  const cert = options.cert ?? process.env.ZM_RTMS_CERT;
  const key = options.key ?? process.env.ZM_RTMS_KEY;
  const clientCa = options.clientCa ?? process.env.ZM_RTMS_CA_WEBHOOK;
  if (!!cert !== !!key) throw new Error('HTTPS needs both ZM_RTMS_CERT and ZM_RTMS_KEY');
  const { path: p, secret, maxBodyBytes, replayWindowS, queueMaxEvents } = options;
  const intake = webhookIntake({ path: p, secret, maxBodyBytes, replayWindowS, queueMaxEvents });
  const handler = webhookHandler(callback, intake);
  let server;
  if (cert) {
    const tls = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
    if (clientCa) Object.assign(tls, { ca: fs.readFileSync(clientCa), requestCert: true, rejectUnauthorized: true });
    server = require('node:https').createServer(tls, handler);
  } else {
    server = require('node:http').createServer(handler);
  }
  const port = options.port ?? parseInt(process.env.ZM_RTMS_PORT || '8080', 10);
  server.on('error', (e) => log(LogLevel.ERROR, 'webhook', `webhook server: ${e.message}`));
  server.listen(port, options.host);
  const self = {
    server,
    get port() { const a = server.address(); return a ? a.port : port; },
    stats: () => native.webhookStats(intake.h),
    stop: () => {
      server.close();
      if (server.closeAllConnections) server.closeAllConnections();
      native.webhookStop(intake.h);
      if (webhook === self) webhook = null;
    },
  };
  webhook = self;
  log(LogLevel.INFO, 'webhook', `Listening for webhook events on port ${self.port}`);
  return self;
}

// For an existing http server / Express app: (req, res) => void, each request decided by the
// core's intake (a listener-less one: rtms_webhook_create; ZM_RTMS_WEBHOOK_SECRET is read now).
function createWebhookHandler(callback, expectedPath = '/') {
  return webhookHandler(callback, webhookIntake({ path: expectedPath }));
}

// A listener-less intake of the core; the body limit is also how much of a body is read.
function webhookIntake({ maxBodyBytes = 1 << 20, ...settings }) {
  return { h: native.webhookCreate({ ...settings, maxBodyBytes }), limit: maxBodyBytes };
}

// One request: its raw body and headers to the core (rtms_webhook_handle), then what the core
// accepted (rtms_webhook_poll). Nothing accepted (a duplicate, 401, 404, 400, 413, the validation
// challenge): the core's answer. Accepted: callback(payload) after the core's answer, or
// callback(payload, req, res) (req.rawBody: the body as received), which answers; if it has not
// answered when it returns (or its promise settles), the core's answer is sent; if it throws, 500.
function webhookHandler(callback, intake) {
  if (typeof callback !== 'function') throw new TypeError('Function argument expected');
  const raw = callback.length >= 3;
  return (req, res) => readBody(req, intake.limit, (body) => {
    let answer;
    let accepted;
    try {
      answer = native.webhookHandle(intake.h, req.method, req.url, headerLines(req), body);
      accepted = native.webhookPoll(intake.h);
    } catch (e) {
      log(LogLevel.ERROR, 'webhook', e.message);
      return send(res, 500, '{"error":"Internal Server Error"}');
    }
    if (body.length > intake.limit) res.setHeader('Connection', 'close'); // the rest was not read
    const coreAnswer = () => send(res, answer.status, answer.body);
    if (!raw) {
      coreAnswer();
      for (const { body: b } of accepted) {
        try { callback(JSON.parse(b)); } catch (e) { log(LogLevel.ERROR, 'webhook', `webhook callback failed: ${e.message}`); }
      }
      return undefined;
    }
    if (accepted.length === 0) return coreAnswer();
    if (req.rawBody === undefined) req.rawBody = body;
    const fail = (e) => {
      log(LogLevel.ERROR, 'webhook', `webhook callback failed: ${e && e.message}`);
      send(res, 500, '{"error":"Internal Server Error"}');
    };
    let r;
    try { r = callback(JSON.parse(accepted[0].body), req, res); } catch (e) { return fail(e); }
    if (r && typeof r.then === 'function') r.then(coreAnswer, fail);
    else coreAnswer();
    return undefined;
  });
}

function send(res, status, text) {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(text);
}

const headerLines = (req) => (req.rawHeaders || []).map((v, i) => (i % 2 ? `${v}\r\n` : `${v}: `)).join('');

// The body as received: req.rawBody or req.body when a framework read it already, else the
// stream, of which at most limit + 1 bytes are kept (enough for the core's 413).
function readBody(req, limit, done) {
  const given = req.rawBody ?? req.body;
  if (given !== undefined) {
    return done(Buffer.isBuffer(given) ? given : Buffer.from(typeof given === 'string' ? given : JSON.stringify(given)));
  }
  const chunks = [];
  let size = 0;
  const finish = () => { if (size >= 0) done(Buffer.concat(chunks)); size = -1; };
  req.on('data', (chunk) => {
    if (size < 0) return;
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) finish();
  });
  req.on('end', finish);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Fleet: a node of a fleet coordinated through PostgreSQL (the core's rtms_fleet_*, see
// include/openrtms.h "Fleet" and docs/fleet.md). The core runs the webhook intake that stores
// every event in the database, claims streams under leases, takes over those of dead nodes,
// routes failover/interruption/stop webhooks to the client holding a stream and fences a client
// whose lease is lost. Here: an EventEmitter and a Client for every stream assigned.
// ---------------------------------------------------------------------------------------------

const { EventEmitter } = require('node:events');

// A Client joined by its fleet: when its session ends (onLeave, a failed onJoinConfirm, leave()),
// the fleet is told (rtms_fleet_done) and the handle released.
class FleetClient extends Client {
  constructor(fleet, stream) {
    super();
    this._fleet = fleet;
    this._fleetStream = stream;
    this._fleetDone = false;
  }

  join() { throw new Error('a fleet\'s client is joined by its fleet (when the \'stream\' listeners return)'); }

  leave() {
    this._fleet._finish(this, RTMS_FLEET_REASON_UNKNOWN, false);
    return super.leave();
  }

  _dispatch(kind, args) {
    try {
      super._dispatch(kind, args);
    } finally {
      if (kind === 'leave' || (kind === 'join_confirm' && args[0] !== 0)) this._fleet._finish(this, args[0]);
    }
  }
}

const RTMS_FLEET_REASON_UNKNOWN = -1;
const fleetStrings = ['databaseUrl', 'nodeId', 'advertiseUrl', 'host', 'path', 'webhookSecret', 'cert', 'key',
  'client', 'secret', 'ca'];
const fleetNumbers = ['maxStreams', 'leaseMs', 'renewMs', 'leaseMarginMs', 'port', 'startTimeoutMs', 'joinTimeoutMs'];

// new Fleet(options): options as rtms serve's, camelCase; absent = the core's default, the
// environment included (RTMS_DATABASE_URL, ZM_RTMS_PORT, ZM_RTMS_PATH, ZM_RTMS_WEBHOOK_SECRET,
// ZM_RTMS_CERT/KEY, RTMS_ADVERTISE_URL; ZM_RTMS_CLIENT/ZM_RTMS_SECRET for the joins).
// await fleet.start() joins the fleet; events:
//   'stream' (client, stream)  a stream was assigned: register the client's callbacks (they choose
//                              the media, as with Client); the fleet joins it when the listeners return.
//                              stream: { streamId, generation, payload, previousOwner }
//   'revoked' (stream, reason) this node no longer holds it; its client was left by the core
//   'error' (err)              a join the core refused (the stream is handed back)
// await fleet.close() leaves every stream (handed back to the other nodes) and stops the intake.
class Fleet extends EventEmitter {
  constructor(options = {}) {
    super();
    if (!options || typeof options !== 'object') throw new TypeError('Object argument expected');
    for (const k of fleetStrings) {
      if (options[k] !== undefined && options[k] !== null && typeof options[k] !== 'string') throw new TypeError(`${k} must be a string`);
    }
    for (const k of fleetNumbers) {
      if (options[k] !== undefined && options[k] !== null && !Number.isInteger(options[k])) throw new TypeError(`${k} must be an integer`);
    }
    this._options = { ...options };
    this._h = null;
    this._clients = new Map();
    this._dispatchFn = (kind, ...args) => (kind === 'assigned' ? this._assigned(...args) : this._revoked(...args));
  }

  async start() {
    if (this._h) return this;
    const o = {};
    for (const k of [...fleetStrings, ...fleetNumbers]) if (this._options[k] !== undefined && this._options[k] !== null) o[k] = this._options[k];
    this._h = await native.fleetCreate(o, this._dispatchFn);
    return this;
  }

  get port() { return this._h ? native.fleetPort(this._h) : -1; }

  // The node's state (what GET /healthz answers, plus port and held streams).
  status() { return this._h ? JSON.parse(native.fleetStatus(this._h)) : {}; }

  // The clients joined for the streams held now, by stream id.
  get clients() { return new Map([...this._clients.values()].map((c) => [c._fleetStream.streamId, c])); }

  async close() {
    const h = this._h;
    if (!h) return;
    this._h = null;
    await native.fleetRelease(h);
    for (const c of this._clients.values()) {
      c._fleetDone = true;
      Client.prototype.leave.call(c);
    }
    this._clients.clear();
  }

  _assigned(streamId, generation, payloadJson, previousOwner) {
    let payload = {};
    try { payload = JSON.parse(payloadJson); } catch { /* the core sends an object */ }
    const stream = { streamId, generation, payload, previousOwner };
    if (this.listenerCount('stream') === 0) {
      log(LogLevel.WARN, 'fleet', `stream ${streamId} assigned but no 'stream' listener: handed back`);
      native.fleetDone(this._h, streamId, generation, RTMS_FLEET_REASON_UNKNOWN);
      return;
    }
    ensureInitialized(this._options.ca);
    const client = new FleetClient(this, stream);
    try {
      this.emit('stream', client, stream);
    } catch (e) {
      this._finish(client, RTMS_FLEET_REASON_UNKNOWN);
      throw e;
    }
    if (client._fleetDone) return;   // a listener left it
    if (!this._h) {                    // a listener closed the fleet
      client._fleetDone = true;
      Client.prototype.leave.call(client);
      return;
    }
    let ids;
    try {
      client._configure();
      ids = native.fleetJoin(this._h, client._h, streamId, generation, this._options.joinTimeoutMs ?? -1,
        this._options.client ?? null, this._options.secret ?? null);
    } catch (e) {
      this._finish(client, RTMS_FLEET_REASON_UNKNOWN);
      if (this.listenerCount('error') > 0) this.emit('error', e);
      else log(LogLevel.ERROR, 'fleet', `stream ${streamId}: ${e.message}`);
      return;
    }
    [client._uuid, client._streamId] = ids;   // as the core set them in the handle
    client._joined = true;
    live.add(client);
    this._clients.set(`${streamId}\t${generation}`, client);
  }

  _revoked(streamId, generation, reason) {
    const key = `${streamId}\t${generation}`;
    const client = this._clients.get(key);
    this._clients.delete(key);
    if (client) client._fleetDone = true;  // the core left it and forgot the assignment
    const stream = client ? client._fleetStream : { streamId, generation, payload: {}, previousOwner: null };
    try {
      this.emit('revoked', stream, reason);
    } finally {
      if (client) Client.prototype.leave.call(client);
    }
  }

  // The client's session is over: tell the fleet once, release the handle.
  _finish(client, reason, release = true) {
    if (client._fleetDone) return;
    client._fleetDone = true;
    const s = client._fleetStream;
    this._clients.delete(`${s.streamId}\t${s.generation}`);
    if (this._h) native.fleetDone(this._h, s.streamId, s.generation, reason >= -1 ? reason : RTMS_FLEET_REASON_UNKNOWN);
    if (release) Client.prototype.leave.call(client);
  }
}

// ---------------------------------------------------------------------------------------------
// Exports: Zoom's default object, plus CommonJS names
// ---------------------------------------------------------------------------------------------

const rtms = {
  Client, Fleet, onWebhookEvent, createWebhookHandler, generateSignature, configureLogger, LogLevel, LogFormat,
  isInitialized: () => initialized,
  setLatencyBudget: native.setLatencyBudget,
  AudioContentType, AudioCodec, AudioSampleRate, AudioChannel, AudioDataOption, VideoContentType, VideoCodec,
  VideoResolution, VideoDataOption, MediaDataType, SessionState, StreamState, EventType, MessageType, StopReason,
  TranscriptLanguage, ...flat,
  version: native.version,
};

module.exports = rtms;
module.exports.default = rtms;
