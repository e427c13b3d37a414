// ESM entry: the default export is Zoom's object; the same names are exported individually.
import rtms from './index.js';

export default rtms;
export const {
  Client, Fleet, onWebhookEvent, createWebhookHandler, generateSignature, configureLogger, LogLevel, LogFormat,
  isInitialized, AudioContentType, AudioCodec, AudioSampleRate, AudioChannel, AudioDataOption, VideoContentType,
  VideoCodec, VideoResolution, VideoDataOption, MediaDataType, SessionState, StreamState, EventType, MessageType,
  StopReason, TranscriptLanguage,
} = rtms;
