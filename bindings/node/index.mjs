// ESM entry: the default export is Zoom's object; every value of it is also exported by name (as
// rtms.d.ts declares; test/types.test.js checks that the three agree).
import rtms from './index.js';

export default rtms;
export const {
  Client, Fleet, onWebhookEvent, createWebhookHandler, generateSignature, configureLogger, LogLevel, LogFormat,
  isInitialized, setLatencyBudget, version, AudioContentType, AudioCodec, AudioSampleRate, AudioChannel, AudioDataOption,
  VideoContentType, VideoCodec, VideoResolution, VideoDataOption, MediaDataType, SessionState, StreamState, EventType,
  MessageType, StopReason, TranscriptLanguage,
  MEDIA_TYPE_AUDIO, MEDIA_TYPE_VIDEO, MEDIA_TYPE_DESKSHARE, MEDIA_TYPE_TRANSCRIPT, MEDIA_TYPE_CHAT, MEDIA_TYPE_ALL,
  SESSION_EVENT_ADD, SESSION_EVENT_STOP, SESSION_EVENT_PAUSE, SESSION_EVENT_RESUME, USER_JOIN, USER_LEAVE,
  EVENT_UNDEFINED, EVENT_FIRST_PACKET_TIMESTAMP, EVENT_ACTIVE_SPEAKER_CHANGE, EVENT_PARTICIPANT_JOIN,
  EVENT_PARTICIPANT_LEAVE, EVENT_SHARING_START, EVENT_SHARING_STOP, EVENT_MEDIA_CONNECTION_INTERRUPTED,
  EVENT_PARTICIPANT_VIDEO_ON, EVENT_PARTICIPANT_VIDEO_OFF, EVENT_CONSUMER_ANSWERED, EVENT_CONSUMER_END,
  EVENT_USER_ANSWERED, EVENT_USER_END, EVENT_USER_HOLD, EVENT_USER_UNHOLD,
  RTMS_SDK_FAILURE, RTMS_SDK_OK, RTMS_SDK_TIMEOUT, RTMS_SDK_NOT_EXIST, RTMS_SDK_WRONG_TYPE, RTMS_SDK_INVALID_STATUS,
  RTMS_SDK_INVALID_ARGS, RTMS_SDK_NO_CREDENTIALS, SESS_STATUS_ACTIVE, SESS_STATUS_PAUSED,
} = rtms;
