// Types of the OpenRTMS Node binding: Zoom's @zoom/rtms 1.1.0 API (every name its rtms.d.ts
// declares), as this package implements it, plus the OpenRTMS additions. Every value declared
// here is exported at run time under the same name, by index.js (CommonJS) and index.mjs (ESM),
// and the default export has them all; test/types.test.js keeps the three in step.
//
// Node's own types (Buffer, http) come from @types/node, as with Zoom's package.

//-----------------------------------------------------------------------------------------------
// Flat constants
//-----------------------------------------------------------------------------------------------

/** Media type flags, combined with `|`. */
export const MEDIA_TYPE_AUDIO: number;
export const MEDIA_TYPE_VIDEO: number;
export const MEDIA_TYPE_DESKSHARE: number;
export const MEDIA_TYPE_TRANSCRIPT: number;
export const MEDIA_TYPE_CHAT: number;
export const MEDIA_TYPE_ALL: number;

/** The `op` of onSessionUpdate. */
export const SESSION_EVENT_ADD: number;
export const SESSION_EVENT_STOP: number;
export const SESSION_EVENT_PAUSE: number;
export const SESSION_EVENT_RESUME: number;

/** The `op` of onUserUpdate. */
export const USER_JOIN: number;
export const USER_LEAVE: number;

/** Event types for subscribeEvent / unsubscribeEvent (the typed callbacks subscribe their own). */
export const EVENT_UNDEFINED: number;
export const EVENT_FIRST_PACKET_TIMESTAMP: number;
export const EVENT_ACTIVE_SPEAKER_CHANGE: number;
export const EVENT_PARTICIPANT_JOIN: number;
export const EVENT_PARTICIPANT_LEAVE: number;
export const EVENT_SHARING_START: number;
export const EVENT_SHARING_STOP: number;
export const EVENT_MEDIA_CONNECTION_INTERRUPTED: number;
/** OpenRTMS (Zoom's addon has them, its default export drops them): 8 and 9, as the ZCC pair below. */
export const EVENT_PARTICIPANT_VIDEO_ON: number;
export const EVENT_PARTICIPANT_VIDEO_OFF: number;
/** Contact Center (ZCC) events; 8 and 9 overlap the video events, as in Zoom's SDK. */
export const EVENT_CONSUMER_ANSWERED: number;
export const EVENT_CONSUMER_END: number;
export const EVENT_USER_ANSWERED: number;
export const EVENT_USER_END: number;
export const EVENT_USER_HOLD: number;
export const EVENT_USER_UNHOLD: number;

/** Status codes. */
export const RTMS_SDK_FAILURE: number;
export const RTMS_SDK_OK: number;
export const RTMS_SDK_TIMEOUT: number;
export const RTMS_SDK_NOT_EXIST: number;
export const RTMS_SDK_WRONG_TYPE: number;
export const RTMS_SDK_INVALID_STATUS: number;
export const RTMS_SDK_INVALID_ARGS: number;
export const RTMS_SDK_NO_CREDENTIALS: number;

/** SessionInfo.status. */
export const SESS_STATUS_ACTIVE: number;
export const SESS_STATUS_PAUSED: number;

//-----------------------------------------------------------------------------------------------
// Constant objects: each is a value (the object) and a type (its members)
//-----------------------------------------------------------------------------------------------

export interface AudioContentType { UNDEFINED: number; RTP: number; RAW_AUDIO: number; FILE_STREAM: number; TEXT: number }
export interface AudioCodec { UNDEFINED: number; L16: number; G711: number; G722: number; OPUS: number }
export interface AudioSampleRate { SR_8K: number; SR_16K: number; SR_32K: number; SR_48K: number }
export interface AudioChannel { MONO: number; STEREO: number }
export interface AudioDataOption { UNDEFINED: number; AUDIO_MIXED_STREAM: number; AUDIO_MULTI_STREAMS: number }
export interface VideoContentType { UNDEFINED: number; RTP: number; RAW_VIDEO: number; FILE_STREAM: number; TEXT: number }
export interface VideoCodec { UNDEFINED: number; JPG: number; PNG: number; H264: number }
export interface VideoResolution { SD: number; HD: number; FHD: number; QHD: number }
export interface VideoDataOption {
  UNDEFINED: number; VIDEO_SINGLE_ACTIVE_STREAM: number; VIDEO_MIXED_SPEAKER_VIEW: number;
  VIDEO_SINGLE_INDIVIDUAL_STREAM: number; VIDEO_MIXED_GALLERY_VIEW: number;
}
export interface MediaDataType {
  UNDEFINED: number; AUDIO: number; VIDEO: number; DESKSHARE: number; TRANSCRIPT: number; CHAT: number; ALL: number;
}
export interface SessionState {
  INACTIVE: number; INITIALIZE: number; STARTED: number; PAUSED: number; RESUMED: number; STOPPED: number;
}
export interface StreamState {
  INACTIVE: number; ACTIVE: number; INTERRUPTED: number; TERMINATING: number; TERMINATED: number; PAUSED: number;
  RESUMED: number;
}
export interface EventType {
  UNDEFINED: number; FIRST_PACKET_TIMESTAMP: number; ACTIVE_SPEAKER_CHANGE: number; PARTICIPANT_JOIN: number;
  PARTICIPANT_LEAVE: number; SHARING_START: number; SHARING_STOP: number; MEDIA_CONNECTION_INTERRUPTED: number;
  PARTICIPANT_VIDEO_ON: number; PARTICIPANT_VIDEO_OFF: number; CONSUMER_ANSWERED: number; CONSUMER_END: number;
  USER_ANSWERED: number; USER_END: number; USER_HOLD: number; USER_UNHOLD: number;
}
/** The wire's message types (0..29). */
export interface MessageType {
  UNDEFINED: number; SIGNALING_HAND_SHAKE_REQ: number; SIGNALING_HAND_SHAKE_RESP: number; DATA_HAND_SHAKE_REQ: number;
  DATA_HAND_SHAKE_RESP: number; EVENT_SUBSCRIPTION: number; EVENT_UPDATE: number; CLIENT_READY_ACK: number;
  STREAM_STATE_UPDATE: number; SESSION_STATE_UPDATE: number; SESSION_STATE_REQ: number; SESSION_STATE_RESP: number;
  KEEP_ALIVE_REQ: number; KEEP_ALIVE_RESP: number; MEDIA_DATA_AUDIO: number; MEDIA_DATA_VIDEO: number;
  MEDIA_DATA_SHARE: number; MEDIA_DATA_TRANSCRIPT: number; MEDIA_DATA_CHAT: number; STREAM_STATE_REQ: number;
  STREAM_STATE_RESP: number; STREAM_CLOSE_REQ: number; STREAM_CLOSE_RESP: number; META_DATA_AUDIO: number;
  META_DATA_VIDEO: number; META_DATA_SHARE: number; META_DATA_TRANSCRIPT: number; META_DATA_CHAT: number;
  VIDEO_SUBSCRIPTION_REQ: number; VIDEO_SUBSCRIPTION_RESP: number;
}
/** The names the runtime has: Zoom's 0..26 (its rtms.d.ts still lists STOP_BC_* names, which its
 * package never had), then the core's own reasons (RTMS_REASON_* in include/openrtms.h). */
export interface StopReason {
  UNDEFINED: number; HOST_TRIGGERED: number; USER_TRIGGERED: number; USER_LEFT: number; USER_EJECTED: number;
  HOST_DISABLED_APP: number; MEETING_ENDED: number; STREAM_CANCELED: number; STREAM_REVOKED: number;
  ALL_APPS_DISABLED: number; INTERNAL_EXCEPTION: number; CONNECTION_TIMEOUT: number;
  INSTANCE_CONNECTION_INTERRUPTED: number; SIGNAL_CONNECTION_INTERRUPTED: number; DATA_CONNECTION_INTERRUPTED: number;
  SIGNAL_CONNECTION_CLOSED_ABNORMALLY: number; DATA_CONNECTION_CLOSED_ABNORMALLY: number; EXIT_SIGNAL: number;
  AUTHENTICATION_FAILURE: number; AWAIT_RECONNECTION_TIMEOUT: number; RECEIVER_REQUEST_CLOSE: number;
  CUSTOMER_DISCONNECTED: number; AGENT_DISCONNECTED: number; ADMIN_DISABLED_APP: number; KEEP_ALIVE_TIMEOUT: number;
  MANUAL_API_TRIGGERED: number; STREAMING_NOT_SUPPORTED: number;
  TIMEOUT: number; BAD_RESPONSE: number; LIVENESS_TIMEOUT: number; CONNECT_FAILED: number; CONNECTION_LOST: number;
  TLS_FAILED: number; UPGRADE_REFUSED: number; CLOSED_BY_SERVER: number; QUEUE_FULL: number;
}
/** Language ids for TranscriptParams.srcLanguage; NONE (-1) detects the language. */
export interface TranscriptLanguage {
  NONE: number; ARABIC: number; BENGALI: number; CANTONESE: number; CATALAN: number; CHINESE_SIMPLIFIED: number;
  CHINESE_TRADITIONAL: number; CZECH: number; DANISH: number; DUTCH: number; ENGLISH: number; ESTONIAN: number;
  FINNISH: number; FRENCH_CANADA: number; FRENCH_FRANCE: number; GERMAN: number; HEBREW: number; HINDI: number;
  HUNGARIAN: number; INDONESIAN: number; ITALIAN: number; JAPANESE: number; KOREAN: number; MALAY: number;
  PERSIAN: number; POLISH: number; PORTUGUESE: number; ROMANIAN: number; RUSSIAN: number; SPANISH: number;
  SWEDISH: number; TAGALOG: number; TAMIL: number; TELUGU: number; THAI: number; TURKISH: number; UKRAINIAN: number;
  VIETNAMESE: number;
}

export const AudioContentType: Readonly<AudioContentType>;
export const AudioCodec: Readonly<AudioCodec>;
export const AudioSampleRate: Readonly<AudioSampleRate>;
export const AudioChannel: Readonly<AudioChannel>;
export const AudioDataOption: Readonly<AudioDataOption>;
export const VideoContentType: Readonly<VideoContentType>;
export const VideoCodec: Readonly<VideoCodec>;
export const VideoResolution: Readonly<VideoResolution>;
export const VideoDataOption: Readonly<VideoDataOption>;
export const MediaDataType: Readonly<MediaDataType>;
export const SessionState: Readonly<SessionState>;
export const StreamState: Readonly<StreamState>;
export const EventType: Readonly<EventType>;
export const MessageType: Readonly<MessageType>;
export const StopReason: Readonly<StopReason>;
export const TranscriptLanguage: Readonly<TranscriptLanguage>;

//-----------------------------------------------------------------------------------------------
// Logging
//-----------------------------------------------------------------------------------------------

export enum LogLevel { ERROR = 0, WARN = 1, INFO = 2, DEBUG = 3, TRACE = 4 }
export enum LogFormat { PROGRESSIVE = 'progressive', JSON = 'json' }
export interface LoggerConfig { level: LogLevel; format: LogFormat; enabled: boolean }
export function configureLogger(options: Partial<LoggerConfig>): void;

//-----------------------------------------------------------------------------------------------
// What the callbacks receive
//-----------------------------------------------------------------------------------------------

export interface AiTargetLanguage { lid: number; toneId: number; voiceId: string; engine: string }
export interface AiInterpreter {
  lid: number; timestamp: number; channelNum: number; sampleRate: number; targets: AiTargetLanguage[];
}
/** Who and when, with every media callback (userId -1 as 4294967295 and userName "" when mixed). */
export interface Metadata {
  userName: string; userId: number; startTs: number; endTs: number; aiInterpreter: AiInterpreter;
  /** OpenRTMS: Contact Center channel ("" otherwise) and transcript language (-1 if absent). */
  channelId: string; language: number;
}
/** onSessionUpdate's session; status is SESS_STATUS_ACTIVE or SESS_STATUS_PAUSED. */
export interface SessionInfo {
  sessionId: string; streamId: string; meetingId: string; statTime: number; status: number; isActive: boolean;
  isPaused: boolean;
}
/** onUserUpdate's participant. */
export interface ParticipantInfo { id: number; name: string }
/** OpenRTMS names of the same shapes. */
export type Session = SessionInfo;
export type Participant = ParticipantInfo;
/** One participant of onParticipantEvent; a name the server did not send (leave events) is "". */
export interface EventParticipantInfo { userId: number; userName: string }

//-----------------------------------------------------------------------------------------------
// Parameters
//-----------------------------------------------------------------------------------------------

/** Zoom's MediaTypes (declared by its package, used by none of its calls). */
export interface MediaTypes { audio: boolean; video?: boolean; transcript?: boolean }
/** Partial: the absent fields keep the defaults (OPUS, SR_48K, STEREO, AUDIO_MULTI_STREAMS, 20 ms, 960). */
export interface AudioParams {
  contentType?: number; codec?: number; sampleRate?: number; channel?: number; dataOpt?: number; duration?: number;
  frameSize?: number;
}
export interface VideoParams { contentType?: number; codec?: number; resolution?: number; dataOpt?: number; fps?: number }
export interface DeskshareParams { contentType?: number; codec?: number; resolution?: number; fps?: number }
export interface TranscriptParams { srcLanguage?: number; enableLid?: boolean }
/** The rtms_started webhook's payload fits as it is. The instance id is the first of meeting_uuid,
 * webinar_uuid, session_id, engagement_id, call_id; without signature it is computed from
 * client/secret or ZM_RTMS_CLIENT/ZM_RTMS_SECRET. */
export interface JoinParams {
  meeting_uuid?: string; webinar_uuid?: string; session_id?: string; engagement_id?: string; call_id?: string;
  rtms_stream_id: string; server_urls: string; signature?: string; client?: string; secret?: string; ca?: string;
  timeout?: number; pollInterval?: number; is_verify_cert?: number; agent?: string;
  [key: string]: unknown;
}
/** generateSignature's parameters; ZM_RTMS_CLIENT / ZM_RTMS_SECRET win over client / secret. */
export interface SignatureParams { client?: string; secret?: string; uuid: string; streamId: string }

//-----------------------------------------------------------------------------------------------
// Callbacks (a callback's return value is ignored)
//-----------------------------------------------------------------------------------------------

export type JoinConfirmCallback = (reason: number) => void;
export type LeaveCallback = (reason: number) => void;
export type SessionUpdateCallback = (op: number, sessionInfo: SessionInfo) => void;
export type UserUpdateCallback = (op: number, participant: ParticipantInfo) => void;
/** (data, size, timestamp ms, metadata): audio, video, deskshare, transcript (UTF-8 text) or chat. */
export type MediaDataCallback = (buffer: Buffer, size: number, timestamp: number, metadata: Metadata) => void;
export type AudioDataCallback = MediaDataCallback;
export type VideoDataCallback = MediaDataCallback;
export type TranscriptDataCallback = MediaDataCallback;
/** Zoom's name for the deskshare callback; its onDeskshareData names DeskshareDataCallback. */
export type DeskshareCallback = MediaDataCallback;
export type DeskshareDataCallback = MediaDataCallback;
export type ChatDataCallback = MediaDataCallback;
export type EventExCallback = (eventData: string) => void;
export type ParticipantEventCallback =
  (event: 'join' | 'leave', timestamp: number, participants: EventParticipantInfo[]) => void;
export type ActiveSpeakerEventCallback = (timestamp: number, userId: number, userName: string) => void;
/** ('start', timestamp, userId, userName), or ('stop', timestamp) alone. */
export type SharingEventCallback = (event: 'start' | 'stop', timestamp: number, userId?: number, userName?: string) => void;
export type MediaConnectionInterruptedCallback = (timestamp: number) => void;
export type ParticipantVideoCallback = (users: number[], isOn: boolean) => void;
export type VideoSubscribedCallback = (userId: number, status: number, error: string) => void;
/** OpenRTMS: connection 0 = signaling (full rejoin), else the media type mask. */
export type ReconnectingCallback = (connection: number, attempt: number, delayMs: number, cause: string) => void;
export type ReconnectedCallback = (connection: number, gapMs: number) => void;
export type StreamStateCallback = (state: number, reason: number) => void;
export type ErrorCallback = (code: number, message: string) => void;

//-----------------------------------------------------------------------------------------------
// Client
//-----------------------------------------------------------------------------------------------

/** Every counter of struct rtms_stats (include/openrtms.h), by its C name (as in Python). */
export interface ClientStats {
  media_messages: { audio: number; video: number; deskshare: number; transcript: number; chat: number };
  media_bytes: number; control_events: number; delivered: number; dropped_queue_full: number; dropped_malformed: number;
  dropped_unexpected: number; read_pauses: number; queue_high_water_bytes: number; keepalives_answered: number;
  reconnect_attempts: number; rejoins: number; media_reconnects: number; max_gap_ms: number;
}

/** One RTMS stream. Registrars may be called before join(); one callback per kind (the last). */
export class Client {
  static initialize(caPath?: string, isVerifyCert?: number, agent?: string): boolean;
  static uninitialize(): boolean;
  constructor();
  join(options: JoinParams): boolean;
  join(uuid: string, streamId: string, signature: string, serverUrls: string, timeout?: number): boolean;
  leave(): boolean;
  release(): boolean;
  poll(): boolean;
  uuid(): string;
  streamId(): string;
  stats(): ClientStats;
  getStats(): ClientStats;
  state(): number;
  enableAudio(enable?: boolean): boolean;
  enableVideo(enable?: boolean): boolean;
  enableTranscript(enable?: boolean): boolean;
  enableDeskshare(enable?: boolean): boolean;
  enableChat(enable?: boolean): boolean;
  setAudioParams(params: AudioParams): boolean;
  setVideoParams(params: VideoParams): boolean;
  setDeskshareParams(params: DeskshareParams): boolean;
  setTranscriptParams(params: TranscriptParams): boolean;
  setProxy(proxyType: string, proxyUrl: string): boolean;
  subscribeEvent(events: number[]): boolean;
  unsubscribeEvent(events: number[]): boolean;
  subscribeVideo(userId: number, subscribe: boolean): boolean;
  onJoinConfirm(callback: JoinConfirmCallback): boolean;
  onSessionUpdate(callback: SessionUpdateCallback): boolean;
  onUserUpdate(callback: UserUpdateCallback): boolean;
  onAudioData(callback: AudioDataCallback): boolean;
  onVideoData(callback: VideoDataCallback): boolean;
  onDeskshareData(callback: DeskshareDataCallback): boolean;
  onTranscriptData(callback: TranscriptDataCallback): boolean;
  onChatData(callback: ChatDataCallback): boolean;
  onLeave(callback: LeaveCallback): boolean;
  onEventEx(callback: EventExCallback): boolean;
  onParticipantVideo(callback: ParticipantVideoCallback): boolean;
  onVideoSubscribed(callback: VideoSubscribedCallback): boolean;
  onParticipantEvent(callback: ParticipantEventCallback): boolean;
  onActiveSpeakerEvent(callback: ActiveSpeakerEventCallback): boolean;
  onSharingEvent(callback: SharingEventCallback): boolean;
  onMediaConnectionInterrupted(callback: MediaConnectionInterruptedCallback): boolean;
  onReconnecting(callback: ReconnectingCallback): boolean;
  onReconnected(callback: ReconnectedCallback): boolean;
  onStreamState(callback: StreamStateCallback): boolean;
  onError(callback: ErrorCallback): boolean;
}

//-----------------------------------------------------------------------------------------------
// Webhooks
//-----------------------------------------------------------------------------------------------

/** Every field of struct rtms_webhook_stats version 2, by its C name (as in Python). */
export interface WebhookStats {
  requests: number; accepted: number; duplicates: number; validations: number; not_found: number; malformed: number;
  too_large: number; unauthorized: number; routed: number; dropped_queue_full: number; connections_accepted: number;
  connections_open: number; header_timeouts: number; body_timeouts: number; idle_timeouts: number; evicted: number;
  refused: number; accept_errors: number;
}
/** Absent: the core's defaults (ZM_RTMS_PORT, ZM_RTMS_PATH, ZM_RTMS_WEBHOOK_SECRET...); secret '' = no signature check. */
export interface WebhookOptions {
  host?: string; port?: number; path?: string; secret?: string; cert?: string; key?: string; clientCa?: string;
  maxBodyBytes?: number; replayWindowS?: number; queueMaxEvents?: number;
}
export interface WebhookServerHandle {
  /** The bound port; with port 0 and a host, known once `server` emits 'listening' (raw form). */
  readonly port: number;
  /** The core's intake counters (the connection counters are 0 for the raw form: Node's server). */
  stats(): WebhookStats;
  stop(): void;
  /** The raw form's http(s).Server. */
  server?: import('http').Server;
}
/** A webhook's JSON body: { event, payload, event_ts, ... }. */
export type WebhookPayload = Record<string, any>;
/** callback(payload): called for every event the core's intake accepted, after it answered. */
export type WebhookCallback = (payload: WebhookPayload) => void;
/** Zoom's raw form: the request (plus `rawBody`, the body as received) and the response; the
 * callback writes the answer (before it returns or its promise settles; else the core's answer is
 * sent). It is called only for what the core's intake accepted. */
export type RawWebhookCallback = (
  payload: WebhookPayload,
  req: import('http').IncomingMessage & { rawBody?: Buffer | string },
  res: import('http').ServerResponse,
) => void | Promise<void>;
/** Starts the process's webhook intake (once): the core's own listener for callback(payload), a
 * Node http(s) server whose requests the core decides for the raw form. */
export function onWebhookEvent(callback: RawWebhookCallback, options?: WebhookOptions): WebhookServerHandle;
export function onWebhookEvent(callback: WebhookCallback, options?: WebhookOptions): WebhookServerHandle;
/** A (req, res) handler for an existing server (http, Express...), each request decided by the core's intake. */
export function createWebhookHandler(
  callback: RawWebhookCallback, path?: string,
): (req: import('http').IncomingMessage, res: import('http').ServerResponse) => void;
export function createWebhookHandler(
  callback: WebhookCallback, path?: string,
): (req: import('http').IncomingMessage, res: import('http').ServerResponse) => void;
/** The handshake signature by the core's rule (rtms_wrapper_signature): ZM_RTMS_CLIENT /
 * ZM_RTMS_SECRET, when set and not empty, win over client / secret. Throws a ReferenceError with
 * `code` 'RTMS_SDK_NO_CREDENTIALS' when no client id or no secret is found, a TypeError (`code`
 * 'RTMS_SDK_INVALID_ARGS') when uuid or streamId is missing or empty. */
export function generateSignature(params: SignatureParams): string;
export function isInitialized(): boolean;
/** OpenRTMS (off by default): the latency budget, in microseconds (an integer, 0..1000000; 0 =
 * deliver at once), of the delivery group through which every client of this thread (the main
 * thread, or each worker) is delivered. With a budget, a wake-up less than the budget after the
 * previous one waits for the rest of it and delivers what arrived meanwhile at once: fewer
 * wake-ups under load from many streams, at the cost of up to that much latency (the first event
 * after a quiet spell is not delayed). Set it before the first join of the thread: that join
 * creates the group with the budget, and from then on setLatencyBudget throws an Error ("must be
 * set before the first join"). TypeError for a non-number, RangeError outside 0..1000000 or for a
 * fraction. Returns true. */
export function setLatencyBudget(microseconds: number): boolean;
/** OpenRTMS: the core's version string. */
export function version(): string;

//-----------------------------------------------------------------------------------------------
// Fleet (OpenRTMS)
//-----------------------------------------------------------------------------------------------

/** A fleet node's options (rtms serve's, camelCase). Absent: the core's defaults, the environment
 * included: RTMS_DATABASE_URL, ZM_RTMS_PORT, ZM_RTMS_PATH, ZM_RTMS_WEBHOOK_SECRET, ZM_RTMS_CERT/KEY,
 * RTMS_ADVERTISE_URL; ZM_RTMS_CLIENT/ZM_RTMS_SECRET for the joins (include/openrtms.h, "Fleet"). */
export interface FleetOptions {
  databaseUrl?: string; nodeId?: string; maxStreams?: number; leaseMs?: number; renewMs?: number; leaseMarginMs?: number;
  advertiseUrl?: string; startTimeoutMs?: number;
  /** The fleet's own webhook intake (port 0: a free port, see `port`); webhookSecret '' = no signature check. */
  host?: string; port?: number; path?: string; webhookSecret?: string; cert?: string; key?: string;
  /** Credentials and CA for the clients' joins; joinTimeoutMs as join()'s timeout. */
  client?: string; secret?: string; ca?: string; joinTimeoutMs?: number;
}
/** A stream assigned to this node: generation is the claim's fencing token; payload the latest
 * rtms_started payload; previousOwner the node it was taken over from (null if new). */
export interface FleetStream { streamId: string; generation: number; payload: any; previousOwner: string | null }
/** The node's state: what GET /healthz answers, plus port and held (the stream ids held now). */
export interface FleetStatus {
  status: 'ok' | 'database unreachable' | 'stopped'; node_id: string; streams: number; max_streams: number;
  claims: number; takeovers: number; lease_losses: number; port: number; held: string[];
  [key: string]: unknown;
}
export type FleetStreamListener = (client: Client, stream: FleetStream) => void;
export type FleetRevokedListener = (stream: FleetStream, reason: string) => void;
/** One node of a fleet coordinated through PostgreSQL. Events: 'stream' (client, stream): register
 * the client's callbacks, the fleet joins it when the listeners return; 'revoked' (stream, reason):
 * the node no longer holds the stream, its client was left; 'error' (err): a join the core refused. */
export class Fleet {
  constructor(options?: FleetOptions);
  /** Connects to the database, starts the intake and claiming; resolves to this fleet. */
  start(): Promise<Fleet>;
  /** Leaves every stream held (handed back to the other nodes), stops the intake. */
  close(): Promise<void>;
  readonly port: number;
  readonly clients: Map<string, Client>;
  status(): FleetStatus;
  on(event: 'stream', listener: FleetStreamListener): this;
  on(event: 'revoked', listener: FleetRevokedListener): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'stream', listener: FleetStreamListener): this;
  once(event: 'revoked', listener: FleetRevokedListener): this;
  once(event: 'error', listener: (err: Error) => void): this;
  off(event: string, listener: (...args: any[]) => void): this;
  removeAllListeners(event?: string): this;
  listenerCount(event: string): number;
}

//-----------------------------------------------------------------------------------------------
// The default export: Zoom's object, with every value above
//-----------------------------------------------------------------------------------------------

declare const rtms: {
  Client: typeof Client;
  Fleet: typeof Fleet;
  onWebhookEvent: typeof onWebhookEvent;
  createWebhookHandler: typeof createWebhookHandler;
  generateSignature: typeof generateSignature;
  isInitialized: typeof isInitialized;
  setLatencyBudget: typeof setLatencyBudget;
  configureLogger: typeof configureLogger;
  version: typeof version;
  LogLevel: typeof LogLevel;
  LogFormat: typeof LogFormat;
  AudioContentType: Readonly<AudioContentType>;
  AudioCodec: Readonly<AudioCodec>;
  AudioSampleRate: Readonly<AudioSampleRate>;
  AudioChannel: Readonly<AudioChannel>;
  AudioDataOption: Readonly<AudioDataOption>;
  VideoContentType: Readonly<VideoContentType>;
  VideoCodec: Readonly<VideoCodec>;
  VideoResolution: Readonly<VideoResolution>;
  VideoDataOption: Readonly<VideoDataOption>;
  MediaDataType: Readonly<MediaDataType>;
  SessionState: Readonly<SessionState>;
  StreamState: Readonly<StreamState>;
  EventType: Readonly<EventType>;
  MessageType: Readonly<MessageType>;
  StopReason: Readonly<StopReason>;
  TranscriptLanguage: Readonly<TranscriptLanguage>;
  MEDIA_TYPE_AUDIO: number;
  MEDIA_TYPE_VIDEO: number;
  MEDIA_TYPE_DESKSHARE: number;
  MEDIA_TYPE_TRANSCRIPT: number;
  MEDIA_TYPE_CHAT: number;
  MEDIA_TYPE_ALL: number;
  SESSION_EVENT_ADD: number;
  SESSION_EVENT_STOP: number;
  SESSION_EVENT_PAUSE: number;
  SESSION_EVENT_RESUME: number;
  USER_JOIN: number;
  USER_LEAVE: number;
  EVENT_UNDEFINED: number;
  EVENT_FIRST_PACKET_TIMESTAMP: number;
  EVENT_ACTIVE_SPEAKER_CHANGE: number;
  EVENT_PARTICIPANT_JOIN: number;
  EVENT_PARTICIPANT_LEAVE: number;
  EVENT_SHARING_START: number;
  EVENT_SHARING_STOP: number;
  EVENT_MEDIA_CONNECTION_INTERRUPTED: number;
  EVENT_PARTICIPANT_VIDEO_ON: number;
  EVENT_PARTICIPANT_VIDEO_OFF: number;
  EVENT_CONSUMER_ANSWERED: number;
  EVENT_CONSUMER_END: number;
  EVENT_USER_ANSWERED: number;
  EVENT_USER_END: number;
  EVENT_USER_HOLD: number;
  EVENT_USER_UNHOLD: number;
  RTMS_SDK_FAILURE: number;
  RTMS_SDK_OK: number;
  RTMS_SDK_TIMEOUT: number;
  RTMS_SDK_NOT_EXIST: number;
  RTMS_SDK_WRONG_TYPE: number;
  RTMS_SDK_INVALID_STATUS: number;
  RTMS_SDK_INVALID_ARGS: number;
  RTMS_SDK_NO_CREDENTIALS: number;
  SESS_STATUS_ACTIVE: number;
  SESS_STATUS_PAUSED: number;
  default: typeof rtms;
};
export default rtms;
