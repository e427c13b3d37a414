// Types of the OpenRTMS Node binding: Zoom's @zoom/rtms API, as this package implements it.

export interface AiTargetLanguage { lid: number; toneId: number; voiceId: string; engine: string }
export interface AiInterpreter { lid: number; timestamp: number; channelNum: number; sampleRate: number; targets: AiTargetLanguage[] }
export interface Metadata {
  userName: string; userId: number; startTs: number; endTs: number; aiInterpreter: AiInterpreter;
  /** OpenRTMS: Contact Center channel ("" otherwise) and transcript language (-1 if absent). */
  channelId: string; language: number;
}
export interface Session {
  sessionId: string; streamId: string; meetingId: string; statTime: number; status: number; isActive: boolean; isPaused: boolean;
}
export interface Participant { id: number; name: string }
export interface AudioParams { contentType?: number; codec?: number; sampleRate?: number; channel?: number; dataOpt?: number; duration?: number; frameSize?: number }
export interface VideoParams { contentType?: number; codec?: number; resolution?: number; dataOpt?: number; fps?: number }
export interface DeskshareParams { contentType?: number; codec?: number; resolution?: number; fps?: number }
export interface TranscriptParams { srcLanguage?: number; enableLid?: boolean }
export interface JoinParams {
  meeting_uuid?: string; webinar_uuid?: string; session_id?: string; engagement_id?: string; call_id?: string;
  rtms_stream_id: string; server_urls: string; signature?: string; client?: string; secret?: string; ca?: string;
  timeout?: number; pollInterval?: number; is_verify_cert?: number; agent?: string;
  [key: string]: unknown;
}
/** Every counter of struct rtms_stats (include/openrtms.h), by its C name (as in Python). */
export interface ClientStats {
  media_messages: { audio: number; video: number; deskshare: number; transcript: number; chat: number };
  media_bytes: number; control_events: number; delivered: number; dropped_queue_full: number; dropped_malformed: number;
  dropped_unexpected: number; read_pauses: number; queue_high_water_bytes: number; keepalives_answered: number;
  reconnect_attempts: number; rejoins: number; media_reconnects: number; max_gap_ms: number;
}
/** Every field of struct rtms_webhook_stats version 2, by its C name (as in Python). */
export interface WebhookStats {
  requests: number; accepted: number; duplicates: number; validations: number; not_found: number; malformed: number;
  too_large: number; unauthorized: number; routed: number; dropped_queue_full: number; connections_accepted: number;
  connections_open: number; header_timeouts: number; body_timeouts: number; idle_timeouts: number; evicted: number;
  refused: number; accept_errors: number;
}
export type MediaDataCallback = (buffer: Buffer, size: number, timestamp: number, metadata: Metadata) => void;

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
  onJoinConfirm(callback: (reason: number) => void): boolean;
  onSessionUpdate(callback: (op: number, session: Session) => void): boolean;
  onUserUpdate(callback: (op: number, participant: Participant) => void): boolean;
  onAudioData(callback: MediaDataCallback): boolean;
  onVideoData(callback: MediaDataCallback): boolean;
  onDeskshareData(callback: MediaDataCallback): boolean;
  onTranscriptData(callback: MediaDataCallback): boolean;
  onChatData(callback: MediaDataCallback): boolean;
  onLeave(callback: (reason: number) => void): boolean;
  onEventEx(callback: (json: string) => void): boolean;
  onParticipantVideo(callback: (users: number[], isOn: boolean) => void): boolean;
  onVideoSubscribed(callback: (userId: number, status: number, error: string) => void): boolean;
  onParticipantEvent(callback: (event: 'join' | 'leave', timestamp: number, participants: { userId: number; userName: string }[]) => void): boolean;
  onActiveSpeakerEvent(callback: (timestamp: number, userId: number, userName: string) => void): boolean;
  onSharingEvent(callback: (event: 'start' | 'stop', timestamp: number, userId?: number, userName?: string) => void): boolean;
  onMediaConnectionInterrupted(callback: (timestamp: number) => void): boolean;
  /** OpenRTMS: connection 0 = signaling (full rejoin), else the media type mask. */
  onReconnecting(callback: (connection: number, attempt: number, delayMs: number, cause: string) => void): boolean;
  onReconnected(callback: (connection: number, gapMs: number) => void): boolean;
  onStreamState(callback: (state: number, reason: number) => void): boolean;
  onError(callback: (code: number, message: string) => void): boolean;
}

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
  on(event: 'stream', listener: (client: Client, stream: FleetStream) => void): this;
  on(event: 'revoked', listener: (stream: FleetStream, reason: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'stream', listener: (client: Client, stream: FleetStream) => void): this;
  once(event: 'revoked', listener: (stream: FleetStream, reason: string) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  off(event: string, listener: (...args: any[]) => void): this;
  removeAllListeners(event?: string): this;
  listenerCount(event: string): number;
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
  server?: any;
}
/** The raw form gets Node's http.IncomingMessage (plus `rawBody`, the body as received) and
 * http.ServerResponse, and writes the answer itself (before it returns or its promise settles;
 * else the core's answer is sent). It is called only for what the core's intake accepted. */
export type WebhookCallback = ((payload: any) => void) | ((payload: any, req: any, res: any) => void);
export function onWebhookEvent(callback: WebhookCallback, options?: WebhookOptions): WebhookServerHandle;
export function createWebhookHandler(callback: WebhookCallback, path?: string): (req: any, res: any) => void;
export function generateSignature(params: { client?: string; secret?: string; uuid: string; streamId: string }): string;
export function isInitialized(): boolean;

export enum LogLevel { ERROR = 0, WARN = 1, INFO = 2, DEBUG = 3, TRACE = 4 }
export enum LogFormat { PROGRESSIVE = 'progressive', JSON = 'json' }
export interface LoggerConfig { level: LogLevel; format: LogFormat; enabled: boolean }
export function configureLogger(config: Partial<LoggerConfig>): void;

type Dict = { readonly [name: string]: number };
export const AudioContentType: Dict; export const AudioCodec: Dict; export const AudioSampleRate: Dict;
export const AudioChannel: Dict; export const AudioDataOption: Dict; export const VideoContentType: Dict;
export const VideoCodec: Dict; export const VideoResolution: Dict; export const VideoDataOption: Dict;
export const MediaDataType: Dict; export const SessionState: Dict; export const StreamState: Dict;
export const EventType: Dict; export const MessageType: Dict; export const StopReason: Dict; export const TranscriptLanguage: Dict;

declare const rtms: {
  Client: typeof Client; Fleet: typeof Fleet; onWebhookEvent: typeof onWebhookEvent; createWebhookHandler: typeof createWebhookHandler;
  generateSignature: typeof generateSignature; isInitialized: typeof isInitialized; configureLogger: typeof configureLogger;
  LogLevel: typeof LogLevel; LogFormat: typeof LogFormat; version(): string;
  AudioContentType: Dict; AudioCodec: Dict; AudioSampleRate: Dict; AudioChannel: Dict; AudioDataOption: Dict;
  VideoContentType: Dict; VideoCodec: Dict; VideoResolution: Dict; VideoDataOption: Dict; MediaDataType: Dict;
  SessionState: Dict; StreamState: Dict; EventType: Dict; MessageType: Dict; StopReason: Dict; TranscriptLanguage: Dict;
  readonly [constant: string]: unknown;
};
export default rtms;
