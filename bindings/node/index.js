'use strict';
// OpenRTMS for Node: Zoom's @zoom/rtms 1.1.0 API over the OpenRTMS core.
//
// Events reach JavaScript without a timer: the addon watches each client's wake descriptor with
// libuv and delivers inside the core's poll, on the main thread. A joined client keeps the
// process alive; after leave() it does not. Reconnection and failover happen in the core.

const crypto = require('node:crypto');
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
  RTMS_SDK_NOT_EXIST: 2, RTMS_SDK_WRONG_TYPE: 3, RTMS_SDK_INVALID_STATUS: 4, RTMS_SDK_INVALID_ARGS: 5,
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

function generateSignature({ client, secret, uuid, streamId } = {}) {
  const clientId = process.env.ZM_RTMS_CLIENT || client;
  const clientSecret = process.env.ZM_RTMS_SECRET || secret;
  if (!clientId) throw new ReferenceError('ZM_RTMS_CLIENT cannot be empty');
  if (!clientSecret) throw new ReferenceError('ZM_RTMS_SECRET cannot be empty');
  return native.generateSignature(String(clientId), String(clientSecret), String(uuid), String(streamId));
}

function findCaCertificate(explicit) {
  for (const p of [explicit, process.env.ZM_RTMS_CA, '/etc/ssl/certs/ca-certificates.crt',
    '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/pki/tls/cacert.pem', '/etc/ssl/cert.pem',
    '/usr/local/etc/openssl/cert.pem', '/opt/homebrew/etc/openssl/cert.pem']) {
    if (p && fs.existsSync(p)) return p;
  }
  return '';
}

let initialized = false;
function ensureInitialized(ca, isVerifyCert = 1, agent) {
  if (initialized) return;
  native.initialize(findCaCertificate(ca), isVerifyCert, agent);
  initialized = true;
}

// ---------------------------------------------------------------------------------------------
// Params (partial objects, validated against the constant objects)
// ---------------------------------------------------------------------------------------------

// Zoom's wrapper defaults when a media type is enabled without params.
const defaults = {
  audio: { contentType: 2, codec: 4, sampleRate: 3, channel: 2, dataOpt: 2, duration: 20, frameSize: 960 },
  video: { contentType: 3, codec: 7, resolution: 2, dataOpt: 3, fps: 30 },
  deskshare: { contentType: 3, codec: 7, resolution: 2, fps: 30 },
  transcript: { contentType: 5, srcLanguage: -1, enableLid: true },
};

function checkField(kind, params, field, dict) {
  if (params[field] === undefined) return;
  if (typeof params[field] !== 'number' || !Number.isInteger(params[field])) {
    throw new TypeError(`${kind} ${field} must be an integer`);
  }
  if (dict && !Object.values(dict).includes(params[field])) {
    throw new RangeError(`${kind} ${field} ${params[field]} is not one of ${JSON.stringify(dict)}`);
  }
}

function checkVideo(kind, p) {
  if ((p.codec === 5 || p.codec === 6) && p.fps > 5) throw new RangeError(`${kind} JPG/PNG needs fps <= 5 (got ${p.fps})`);
  if (p.codec === 7 && !(p.fps > 0 && p.fps <= 30)) throw new RangeError(`${kind} H264 needs 0 < fps <= 30 (got ${p.fps})`);
}

const rateHz = [8000, 16000, 32000, 48000];

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

const live = new Set();

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
    this._h = native.alloc((kind, ...args) => this._dispatch(kind, args));
    this._types = 0;
    this._params = {};
    this._cbs = {};
    this._typed = {};
    this._events = new Set();
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
    const instance = o.meeting_uuid || o.webinar_uuid || o.session_id || o.engagement_id || o.call_id;
    if (!instance) throw new Error('Either meeting_uuid, webinar_uuid, session_id, or engagement_id must be provided');
    if (typeof o.rtms_stream_id !== 'string' || !o.rtms_stream_id) throw new TypeError('rtms_stream_id must be a non-empty string');
    if (typeof o.server_urls !== 'string' || !o.server_urls) throw new TypeError('server_urls must be a non-empty string');
    const sig = o.signature || generateSignature({ client: o.client, secret: o.secret, uuid: instance, streamId: o.rtms_stream_id });
    this._configure();
    native.join(this._h, String(instance), o.rtms_stream_id, sig, o.server_urls, o.timeout ?? -1);
    this._uuid = String(instance);
    this._streamId = o.rtms_stream_id;
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
  stats() { return native.stats(this._h); }
  state() { return native.state(this._h); }

  enableAudio(on = true) { this._enable(1, on); return true; }
  enableVideo(on = true) { this._enable(2, on); return true; }
  enableTranscript(on = true) { this._enable(8, on); return true; }
  enableDeskshare(on = true) { this._enable(4, on); return true; }
  enableChat(on = true) { this._enable(16, on); return true; }
  _enable(bit, on) { this._types = on ? (this._types | bit) : (this._types & ~bit); }

  setAudioParams(params) {
    if (!params || typeof params !== 'object') throw new TypeError('Object argument expected');
    checkField('audio', params, 'contentType', AudioContentType);
    checkField('audio', params, 'codec', AudioCodec);
    checkField('audio', params, 'sampleRate', AudioSampleRate);
    checkField('audio', params, 'channel', AudioChannel);
    checkField('audio', params, 'dataOpt', AudioDataOption);
    checkField('audio', params, 'duration');
    checkField('audio', params, 'frameSize');
    const p = { ...defaults.audio, ...params };
    if (p.codec === 4 && p.sampleRate !== 3) throw new RangeError('OPUS audio needs sampleRate SR_48K (3)');
    if (p.duration > 0 && p.frameSize > 0 && p.frameSize !== rateHz[p.sampleRate] * p.duration / 1000) {
      throw new RangeError(`audio frameSize ${p.frameSize} does not match ${rateHz[p.sampleRate]} Hz x ${p.duration} ms`);
    }
    this._params.audio = p;
    return true;
  }

  setVideoParams(params) {
    if (!params || typeof params !== 'object') throw new TypeError('Object argument expected');
    for (const [f, d] of [['contentType', VideoContentType], ['codec', VideoCodec], ['resolution', VideoResolution],
      ['dataOpt', VideoDataOption], ['fps']]) checkField('video', params, f, d);
    const p = { ...defaults.video, ...params };
    checkVideo('video', p);
    this._params.video = p;
    return true;
  }

  setDeskshareParams(params) {
    if (!params || typeof params !== 'object') throw new TypeError('Object argument expected');
    for (const [f, d] of [['contentType', VideoContentType], ['codec', VideoCodec], ['resolution', VideoResolution],
      ['fps']]) checkField('deskshare', params, f, d);
    const p = { ...defaults.deskshare, ...params };
    checkVideo('deskshare', p);
    this._params.deskshare = p;
    return true;
  }

  setTranscriptParams(params) {
    if (!params || typeof params !== 'object') throw new TypeError('Object argument expected');
    checkField('transcript', params, 'srcLanguage');
    this._params.transcript = { ...defaults.transcript, ...params, enableLid: params.enableLid ?? true };
    return true;
  }

  setProxy(proxyType, proxyUrl) {
    if (typeof proxyType !== 'string' || typeof proxyUrl !== 'string') {
      throw new TypeError('Two string arguments expected: proxy_type, proxy_url');
    }
    return native.setProxy(this._h, proxyType, proxyUrl);
  }

  subscribeEvent(events) {
    if (!Array.isArray(events)) throw new TypeError('Array of event types expected');
    events.forEach((e) => this._events.add(e));
    return native.subscribe(this._h, events, true);
  }

  unsubscribeEvent(events) {
    if (!Array.isArray(events)) throw new TypeError('Array of event types expected');
    events.forEach((e) => this._events.delete(e));
    return native.subscribe(this._h, events, false);
  }

  subscribeVideo(userId, subscribe) {
    return native.subscribeVideo(this._h, userId, subscribe);
  }

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

  _typedOn(kind, cb, events) {
    if (typeof cb !== 'function') throw new TypeError('Function argument expected');
    this._typed[kind] = cb;
    try { this.subscribeEvent(events); } catch (e) { log(LogLevel.WARN, 'client', `subscribe failed: ${e.message}`); }
    return true;
  }

  onParticipantEvent(cb) { return this._typedOn('participant', cb, [3, 4]); }
  onActiveSpeakerEvent(cb) { return this._typedOn('speaker', cb, [2]); }
  onSharingEvent(cb) { return this._typedOn('sharing', cb, [5, 6]); }
  onMediaConnectionInterrupted(cb) { return this._typedOn('interrupted', cb, [7]); }

  _dispatch(kind, args) {
    if (kind === 'event_ex') {
      if (this._cbs.event_ex) this._cbs.event_ex(args[0]);
      this._typedEvent(args[0]);
      return;
    }
    const cb = this._cbs[kind];
    if (cb) cb(...args);
  }

  _typedEvent(json) {
    const t = this._typed;
    if (!t.participant && !t.speaker && !t.sharing && !t.interrupted) return;
    let ev;
    try { ev = JSON.parse(json); } catch (e) { log(LogLevel.ERROR, 'client', `Failed to parse event: ${e.message}`); return; }
    const ts = ev.timestamp ?? 0;
    switch (ev.event_type) {
      case 3: case 4:
        if (t.participant) {
          t.participant(ev.event_type === 3 ? 'join' : 'leave', ts,
            (ev.participants || []).map((p) => ({ userId: p.user_id, userName: p.user_name })));
        }
        break;
      case 2: if (t.speaker) t.speaker(ts, ev.user_id ?? 0, ev.user_name ?? ''); break;
      case 5: if (t.sharing) t.sharing('start', ts, ev.user_id, ev.user_name); break;
      case 6: if (t.sharing) t.sharing('stop', ts); break;
      case 7: if (t.interrupted) t.interrupted(ts); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

let webhook = null;

function webhookSettings() {
  const cert = process.env.ZM_RTMS_CERT;
  const key = process.env.ZM_RTMS_KEY;
  if (!!cert !== !!key) throw new Error('HTTPS needs both ZM_RTMS_CERT and ZM_RTMS_KEY');
  return {
    port: parseInt(process.env.ZM_RTMS_PORT || '8080', 10),
    path: process.env.ZM_RTMS_PATH || '/',
    secret: process.env.ZM_RTMS_WEBHOOK_SECRET,
    cert, key, clientCa: process.env.ZM_RTMS_CA_WEBHOOK,
  };
}

// Starts the process's webhook intake in the core (once) and calls callback(payload) for every
// accepted event, after the intake answered 200. Returns { port, stats(), stop() }.
function onWebhookEvent(callback, options = {}) {
  if (typeof callback !== 'function') throw new TypeError('Function argument expected');
  if (webhook) {
    log(LogLevel.WARN, 'webhook', 'webhook server already running');
    return webhook;
  }
  const settings = { ...webhookSettings(), ...options };
  const h = native.webhookStart(settings, (event, body) => {
    let payload;
    try { payload = JSON.parse(body); } catch { return; }
    if (callback.length >= 3) callback(payload, null, { statusCode: 200, headersSent: true, end() {}, writeHead() {} });
    else callback(payload);
  });
  const port = native.webhookPort(h);
  log(LogLevel.INFO, 'webhook', `Listening for webhook events at http${settings.cert ? 's' : ''}://localhost:${port}${settings.path}`);
  webhook = {
    port,
    stats: () => native.webhookStats(h),
    stop: () => { native.webhookStop(h); webhook = null; },
  };
  return webhook;
}

// For an existing http server / Express app: (req, res) => void. Same answers as the core's
// intake: 404 for another method or path, 400 for bad JSON or no event, 401 for a bad signature
// when ZM_RTMS_WEBHOOK_SECRET is set, the validation challenge, 200 before the callback. RTMS
// events of live clients are handed to them (failover, interruption, end).
function createWebhookHandler(callback, expectedPath = '/') {
  if (typeof callback !== 'function') throw new TypeError('Function argument expected');
  const send = (res, status, obj) => {
    if (res.headersSent) return;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== expectedPath) return send(res, 404, { error: 'Not Found' });
    const handle = (raw) => {
      const secret = process.env.ZM_RTMS_WEBHOOK_SECRET;
      if (secret) {
        const ts = req.headers['x-zm-request-timestamp'] || '';
        const sig = String(req.headers['x-zm-signature'] || '');
        const want = 'v0=' + crypto.createHmac('sha256', secret).update(`v0:${ts}:${raw}`).digest('hex');
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300;
        if (!fresh || sig.length !== want.length || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
          return send(res, 401, { error: 'invalid signature or timestamp' });
        }
      }
      let payload;
      try { payload = typeof raw === 'string' ? JSON.parse(raw) : raw; } catch { return send(res, 400, { error: 'Invalid JSON received' }); }
      if (!payload || typeof payload.event !== 'string') {
        return send(res, 400, { error: 'Invalid webhook payload: missing required "event" field' });
      }
      if (payload.event === 'endpoint.url_validation' && secret && payload.payload?.plainToken) {
        const plain = payload.payload.plainToken;
        return send(res, 200, { plainToken: plain, encryptedToken: crypto.createHmac('sha256', secret).update(plain).digest('hex') });
      }
      if (callback.length >= 3) { process.nextTick(() => callback(payload, req, res)); return undefined; }
      send(res, 200, { status: 'ok' });
      const stream = payload.payload?.rtms_stream_id;
      for (const c of live) if (c._streamId === stream) native.feedWebhook(c._h, JSON.stringify(payload));
      process.nextTick(() => { try { callback(payload); } catch (e) { log(LogLevel.ERROR, 'webhook', e.message); } });
      return undefined;
    };
    if (req.body !== undefined) return handle(typeof req.body === 'string' ? req.body : JSON.stringify(req.body));
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => handle(data));
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Exports: Zoom's default object, plus CommonJS names
// ---------------------------------------------------------------------------------------------

const rtms = {
  Client, onWebhookEvent, createWebhookHandler, generateSignature, configureLogger, LogLevel, LogFormat,
  isInitialized: () => initialized,
  AudioContentType, AudioCodec, AudioSampleRate, AudioChannel, AudioDataOption, VideoContentType, VideoCodec,
  VideoResolution, VideoDataOption, MediaDataType, SessionState, StreamState, EventType, MessageType, StopReason,
  TranscriptLanguage, ...flat,
  version: native.version,
};

module.exports = rtms;
module.exports.default = rtms;
