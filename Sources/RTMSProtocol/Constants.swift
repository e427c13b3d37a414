// RTMS v1 protocol constants. Values follow Zoom's event reference and data-type definitions
// (see docs/protocol-notes.md for sources); names are ours.

/// `msg_type` of every V1 message.
public enum MessageType: Int, Sendable, CaseIterable {
    case undefined = 0
    case signalingHandshakeRequest = 1
    case signalingHandshakeResponse = 2
    case dataHandshakeRequest = 3
    case dataHandshakeResponse = 4
    case eventSubscription = 5
    case eventUpdate = 6
    case clientReady = 7
    case streamStateUpdate = 8
    case sessionStateUpdate = 9
    case sessionStateRequest = 10
    case sessionStateResponse = 11
    case keepAliveRequest = 12
    case keepAliveResponse = 13
    case mediaAudio = 14
    case mediaVideo = 15
    case mediaShare = 16
    case mediaTranscript = 17
    case mediaChat = 18
    case streamStateRequest = 19
    case streamStateResponse = 20
    case streamCloseRequest = 21
    case streamCloseResponse = 22
    case metadataAudio = 23
    case metadataVideo = 24
    case metadataShare = 25
    case metadataTranscript = 26
    case metadataChat = 27
    case videoSubscriptionRequest = 28
    case videoSubscriptionResponse = 29
}

/// One media kind. `rawValue` is its bit in the `media_type` mask.
public enum MediaKind: Int, Sendable, CaseIterable, Hashable, Comparable {
    case audio = 1
    case video = 2
    case deskshare = 4
    case transcript = 8
    case chat = 16

    /// Key of this kind in `media_server.server_urls` and in `media_params`.
    public var key: String {
        switch self {
        case .audio: "audio"
        case .video: "video"
        case .deskshare: "deskshare"
        case .transcript: "transcript"
        case .chat: "chat"
        }
    }

    /// The media message type that carries this kind.
    public var messageType: MessageType {
        switch self {
        case .audio: .mediaAudio
        case .video: .mediaVideo
        case .deskshare: .mediaShare
        case .transcript: .mediaTranscript
        case .chat: .mediaChat
        }
    }

    public init?(messageType: Int) {
        switch messageType {
        case 14: self = .audio
        case 15: self = .video
        case 16: self = .deskshare
        case 17: self = .transcript
        case 18: self = .chat
        default: return nil
        }
    }

    public init?(key: String) {
        guard let k = MediaKind.allCases.first(where: { $0.key == key }) else { return nil }
        self = k
    }

    public static func < (a: MediaKind, b: MediaKind) -> Bool { a.rawValue < b.rawValue }
}

/// The `media_type` bitmask. `all` (32) is its own bit: one unified connection for every kind.
public struct MediaMask: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let audio = MediaMask(rawValue: 1)
    public static let video = MediaMask(rawValue: 2)
    public static let deskshare = MediaMask(rawValue: 4)
    public static let transcript = MediaMask(rawValue: 8)
    public static let chat = MediaMask(rawValue: 16)
    public static let all = MediaMask(rawValue: 32)
    public static let everyKind: MediaMask = [.audio, .video, .deskshare, .transcript, .chat]
    public static let validBits = 63

    public init(_ kind: MediaKind) { self.init(rawValue: kind.rawValue) }

    /// The individual kinds set in this mask (ignores `all`).
    public var kinds: [MediaKind] { MediaKind.allCases.filter { rawValue & $0.rawValue != 0 } }
}

/// `status_code` in 2, 4, 22, 29 (current numbering).
public enum StatusCode {
    public static let ok = 0
    public static let invalidMessageType = 1
    public static let invalidStreamID = 2
    public static let invalidSignature = 3
    public static let invalidPayload = 4
    public static let invalidEvents = 5
    public static let invalidEventType = 6
    public static let invalidMediaType = 7
    public static let duplicateSignalRequest = 8
    public static let mediaTypeAudioNotSupported = 9
    public static let mediaTypeVideoNotSupported = 10
    public static let mediaTypeDeskshareNotSupported = 11
    public static let mediaTypeTranscriptNotSupported = 12
    public static let mediaTypeChatNotSupported = 13
    public static let mediaTypeInvalidValue = 14
    public static let allConnectionExists = 15
    public static let duplicateMediaConnection = 16
    public static let invalidMediaParams = 17
    public static let invalidRTMSSessionID = 40
    public static let invalidClientReady = 41
    public static let invalidEventSubscribe = 42
    public static let duplicateVideoSubscription = 44
    public static let internalException = 45

    /// Readable name of a wire status code.
    public static func name(_ code: Int) -> String {
        switch code {
        case 0: "OK"
        case 1: "INVALID_MESSAGE_TYPE"
        case 2: "INVALID_RTMS_STREAM_ID"
        case 3: "INVALID_SIGNATURE"
        case 4: "INVALID_PAYLOAD"
        case 5: "INVALID_EVENTS"
        case 6: "INVALID_EVENT_TYPE"
        case 7: "INVALID_MEDIA_TYPE"
        case 8: "DUPLICATE_SIGNAL_REQUEST"
        case 9: "MEDIA_TYPE_AUDIO_NOT_SUPPORT"
        case 10: "MEDIA_TYPE_VIDEO_NOT_SUPPORT"
        case 11: "MEDIA_TYPE_DESKSHARE_NOT_SUPPORT"
        case 12: "MEDIA_TYPE_TRANSCRIPT_NOT_SUPPORT"
        case 13: "MEDIA_TYPE_CHAT_NOT_SUPPORT"
        case 14: "MEDIA_TYPE_INVALID_VALUE"
        case 15: "MEDIA_DATA_ALL_CONNECTION_EXIST"
        case 16: "DUPLICATE_MEDIA_DATA_CONNECTION"
        case 17: "INVALID_MEDIA_PARAMS"
        case 18: "INVALID_MEDIA_AUDIO_PARAMS"
        case 19: "INVALID_MEDIA_AUDIO_CONTENT_TYPE"
        case 20: "INVALID_MEDIA_AUDIO_SAMPLE_RATE"
        case 21: "INVALID_MEDIA_AUDIO_CHANNEL"
        case 22: "INVALID_MEDIA_AUDIO_CODEC"
        case 23: "INVALID_MEDIA_AUDIO_DATA_OPT"
        case 24: "INVALID_MEDIA_AUDIO_SEND_RATE"
        case 25: "INVALID_MEDIA_VIDEO_PARAMS"
        case 26: "INVALID_MEDIA_VIDEO_CONTENT_TYPE"
        case 27: "INVALID_MEDIA_VIDEO_CODEC"
        case 28: "INVALID_MEDIA_VIDEO_RESOLUTION"
        case 29: "INVALID_MEDIA_VIDEO_DATA_OPT"
        case 30: "INVALID_MEDIA_VIDEO_FPS"
        case 31: "INVALID_MEDIA_DESKSHARE_PARAMS"
        case 32: "INVALID_MEDIA_DESKSHARE_CONTENT_TYPE"
        case 33: "INVALID_MEDIA_DESKSHARE_CODEC"
        case 34: "INVALID_MEDIA_DESKSHARE_RESOLUTION"
        case 35: "INVALID_MEDIA_DESKSHARE_FPS"
        case 36: "INVALID_MEDIA_TRANSCRIPT_PARAMS"
        case 37: "INVALID_MEDIA_TRANSCRIPT_CONTENT_TYPE"
        case 38: "INVALID_MEDIA_CHAT_PARAMS"
        case 39: "INVALID_MEDIA_CHAT_CONTENT_TYPE"
        case 40: "INVALID_RTMS_SESSION_ID"
        case 41: "INVALID_CLIENT_READY_ACK"
        case 42: "INVALID_EVENT_SUBSCRIBE"
        case 43: "INVALID_MEDIA_TRANSCRIPT_SOURCE_LANGUAGE"
        case 44: "DUPLICATE_VIDEO_SUBSCRIPTION"
        case 45: "INTERNAL_EXCEPTION"
        case 46: "INVALID_MEDIA_TRANSCRIPT_TARGET_LANGUAGE"
        case 47: "CHAT_SESSION_KEY_NOT_AVAILABLE"
        default: "STATUS_\(code)"
        }
    }
}

/// RTMS_STREAM_STATE.
public enum StreamState: Int, Sendable {
    case inactive = 0, active = 1, interrupted = 2, terminating = 3, terminated = 4, paused = 5, resumed = 6
}

/// RTMS_SESSION_STATE.
public enum SessionState: Int, Sendable {
    case inactive = 0, initialize = 1, started = 2, paused = 3, resumed = 4, stopped = 5
}

/// RTMS_STOP_REASON.
public enum StopReason {
    public static let undefined = 0
    public static let hostTriggered = 1
    public static let userTriggered = 2
    public static let userLeft = 3
    public static let userEjected = 4
    public static let hostDisabledApp = 5
    public static let meetingEnded = 6
    public static let streamCanceled = 7
    public static let streamRevoked = 8
    public static let allAppsDisabled = 9
    public static let internalException = 10
    public static let connectionTimeout = 11
    public static let instanceConnectionInterrupted = 12
    public static let signalConnectionInterrupted = 13
    public static let dataConnectionInterrupted = 14
    public static let signalConnectionClosedAbnormally = 15
    public static let dataConnectionClosedAbnormally = 16
    public static let exitSignal = 17
    public static let authenticationFailure = 18
    public static let awaitReconnectionTimeout = 19
    public static let receiverRequestClose = 20
    public static let customerDisconnected = 21
    public static let agentDisconnected = 22
    public static let adminDisabledApp = 23
    public static let keepAliveTimeout = 24
    public static let manualAPITriggered = 25
    public static let streamingNotSupported = 26

    static let names = [
        "UNDEFINED", "HOST_TRIGGERED", "USER_TRIGGERED", "USER_LEFT", "USER_EJECTED", "HOST_DISABLED_APP",
        "MEETING_ENDED", "STREAM_CANCELED", "STREAM_REVOKED", "ALL_APPS_DISABLED", "INTERNAL_EXCEPTION",
        "CONNECTION_TIMEOUT", "INSTANCE_CONNECTION_INTERRUPTED", "SIGNAL_CONNECTION_INTERRUPTED",
        "DATA_CONNECTION_INTERRUPTED", "SIGNAL_CONNECTION_CLOSED_ABNORMALLY", "DATA_CONNECTION_CLOSED_ABNORMALLY",
        "EXIT_SIGNAL", "AUTHENTICATION_FAILURE", "AWAIT_RECONNECTION_TIMEOUT", "RECEIVER_REQUEST_CLOSE",
        "CUSTOMER_DISCONNECTED", "AGENT_DISCONNECTED", "ADMIN_DISABLED_APP", "KEEP_ALIVE_TIMEOUT",
        "MANUAL_API_TRIGGERED", "STREAMING_NOT_SUPPORTED",
    ]

    public static func name(_ reason: Int) -> String {
        reason >= 0 && reason < names.count ? names[reason] : "STOP_REASON_\(reason)"
    }
}

/// RTMS_EVENT_TYPE (meetings, webinars, Video SDK).
public enum EventType {
    public static let undefined = 0
    public static let firstPacketTimestamp = 1
    public static let activeSpeakerChange = 2
    public static let participantJoin = 3
    public static let participantLeave = 4
    public static let sharingStart = 5
    public static let sharingStop = 6
    public static let mediaConnectionInterrupted = 7
    public static let participantVideoOn = 8
    public static let participantVideoOff = 9
    public static let chatGroupCreate = 10
    public static let chatGroupDelete = 11
    public static let chatGroupMembersAdd = 12
    public static let chatGroupMembersDelete = 13
    public static let chatGroupMemberStatusUpdate = 14
}

/// Enumerations used inside `media_params`.
public enum ContentType { public static let rtp = 1, rawAudio = 2, rawVideo = 3, fileStream = 4, text = 5 }
public enum Codec { public static let l16 = 1, g711 = 2, g722 = 3, opus = 4, jpg = 5, png = 6, h264 = 7 }
public enum SampleRate {
    public static let sr8k = 0, sr16k = 1, sr32k = 2, sr48k = 3
    /// Hertz for a SAMPLE_RATE enum value (nil if unknown).
    public static func hertz(_ v: Int) -> Int? {
        switch v {
        case 0: 8000;
        case 1: 16000;
        case 2: 32000;
        case 3: 48000;
        default: nil
        }
    }
}
public enum AudioChannel { public static let mono = 1, stereo = 2 }
public enum Resolution {
    public static let sd = 1, hd = 2, fhd = 3, qhd = 4
    public static func size(_ v: Int) -> (width: Int, height: Int)? {
        switch v {
        case 1: (640, 360);
        case 2: (1280, 720);
        case 3: (1920, 1080);
        case 4: (2560, 1440);
        default: nil
        }
    }
}
public enum DataOption {
    public static let undefined = 0, audioMixedStream = 1, audioMultiStreams = 2
    public static let videoSingleActiveStream = 3, videoSingleIndividualStream = 4, videoMixedGalleryView = 5
}
