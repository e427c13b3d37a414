// media_params: what a client asks for in DATA_HAND_SHAKE_REQ (3) and what the server confirms in
// DATA_HAND_SHAKE_RESP (4). Defaults are the protocol's (Zoom's event reference), not the official
// SDK's OPUS/48 kHz/stereo defaults (zoom/rtms#92): an unset field means the protocol default.

public struct AudioParams: Sendable, Equatable {
    public var contentType: Int
    public var sampleRate: Int
    public var channel: Int
    public var codec: Int
    public var dataOpt: Int
    /// Milliseconds of audio per message (`send_rate`).
    public var sendRate: Int

    public init(
        contentType: Int = ContentType.rawAudio, sampleRate: Int = SampleRate.sr16k,
        channel: Int = AudioChannel.mono, codec: Int = Codec.l16,
        dataOpt: Int = DataOption.audioMixedStream, sendRate: Int = 20
    ) {
        self.contentType = contentType; self.sampleRate = sampleRate; self.channel = channel
        self.codec = codec; self.dataOpt = dataOpt; self.sendRate = sendRate
    }
    public static let protocolDefault = AudioParams()
    static let fields = ["content_type", "sample_rate", "channel", "codec", "data_opt", "send_rate"]

    var json: JSONValue {
        .object([
            "content_type": .int(Int64(contentType)), "sample_rate": .int(Int64(sampleRate)),
            "channel": .int(Int64(channel)), "codec": .int(Int64(codec)),
            "data_opt": .int(Int64(dataOpt)), "send_rate": .int(Int64(sendRate)),
        ])
    }

    init(json o: JSONObject, missing: inout [String]) {
        let d = AudioParams.protocolDefault
        contentType = paramInt(o, "content_type", d.contentType, &missing)
        sampleRate = paramInt(o, "sample_rate", d.sampleRate, &missing)
        channel = paramInt(o, "channel", d.channel, &missing)
        codec = paramInt(o, "codec", d.codec, &missing)
        dataOpt = paramInt(o, "data_opt", d.dataOpt, &missing)
        sendRate = paramInt(o, "send_rate", d.sendRate, &missing)
    }
}

public struct VideoParams: Sendable, Equatable {
    public var contentType: Int
    public var codec: Int
    public var resolution: Int
    public var dataOpt: Int
    public var fps: Int

    public init(
        contentType: Int = ContentType.rawVideo, codec: Int = Codec.jpg, resolution: Int = Resolution.hd,
        dataOpt: Int = DataOption.videoSingleActiveStream, fps: Int = 5
    ) {
        self.contentType = contentType; self.codec = codec; self.resolution = resolution
        self.dataOpt = dataOpt; self.fps = fps
    }
    public static let protocolDefault = VideoParams()
    static let fields = ["content_type", "codec", "resolution", "fps"]

    var json: JSONValue {
        .object([
            "content_type": .int(Int64(contentType)), "codec": .int(Int64(codec)),
            "resolution": .int(Int64(resolution)), "data_opt": .int(Int64(dataOpt)), "fps": .int(Int64(fps)),
        ])
    }

    init(json o: JSONObject, missing: inout [String]) {
        let d = VideoParams.protocolDefault
        contentType = paramInt(o, "content_type", d.contentType, &missing)
        codec = paramInt(o, "codec", d.codec, &missing)
        resolution = paramInt(o, "resolution", d.resolution, &missing)
        fps = paramInt(o, "fps", d.fps, &missing)
        var ignored: [String] = []
        dataOpt = paramInt(o, "data_opt", d.dataOpt, &ignored)
    }
}

public struct DeskshareParams: Sendable, Equatable {
    public var contentType: Int
    public var codec: Int
    public var resolution: Int
    public var fps: Int

    public init(
        contentType: Int = ContentType.rawVideo, codec: Int = Codec.jpg, resolution: Int = Resolution.fhd,
        fps: Int = 1
    ) {
        self.contentType = contentType; self.codec = codec; self.resolution = resolution; self.fps = fps
    }
    public static let protocolDefault = DeskshareParams()
    static let fields = ["content_type", "codec", "resolution", "fps"]

    var json: JSONValue {
        .object([
            "content_type": .int(Int64(contentType)), "codec": .int(Int64(codec)),
            "resolution": .int(Int64(resolution)), "fps": .int(Int64(fps)),
        ])
    }

    init(json o: JSONObject, missing: inout [String]) {
        let d = DeskshareParams.protocolDefault
        contentType = paramInt(o, "content_type", d.contentType, &missing)
        codec = paramInt(o, "codec", d.codec, &missing)
        resolution = paramInt(o, "resolution", d.resolution, &missing)
        fps = paramInt(o, "fps", d.fps, &missing)
    }
}

public struct TranscriptParams: Sendable, Equatable {
    public var contentType: Int
    /// RTMS_TRANSCRIPT_LANGUAGE; -1 (NONE) lets the server detect the language.
    public var srcLanguage: Int
    public var enableLID: Bool

    public init(contentType: Int = ContentType.text, srcLanguage: Int = -1, enableLID: Bool = true) {
        self.contentType = contentType; self.srcLanguage = srcLanguage; self.enableLID = enableLID
    }
    public static let protocolDefault = TranscriptParams()

    var json: JSONValue {
        var o: JSONObject = ["content_type": .int(Int64(contentType))]
        if srcLanguage >= 0 { o["src_language"] = .int(Int64(srcLanguage)) }
        o["enable_lid"] = .bool(enableLID)
        return .object(o)
    }

    init(json o: JSONObject) {
        var ignored: [String] = []
        contentType = paramInt(o, "content_type", ContentType.text, &ignored)
        // Older clients say `language`.
        if let v = o["src_language"]?.intValue ?? o["language"]?.intValue { srcLanguage = Int(v) } else { srcLanguage = -1 }
        enableLID = o["enable_lid"]?.boolValue ?? true
    }
}

public struct ChatParams: Sendable, Equatable {
    public var contentType: Int
    public init(contentType: Int = ContentType.text) { self.contentType = contentType }
    var json: JSONValue { .object(["content_type": .int(Int64(contentType))]) }
}

/// The `media_params` object: one optional entry per kind.
public struct MediaParams: Sendable, Equatable {
    public var audio: AudioParams?
    public var video: VideoParams?
    public var deskshare: DeskshareParams?
    public var transcript: TranscriptParams?
    public var chat: ChatParams?

    public init(
        audio: AudioParams? = nil, video: VideoParams? = nil, deskshare: DeskshareParams? = nil,
        transcript: TranscriptParams? = nil, chat: ChatParams? = nil
    ) {
        self.audio = audio; self.video = video; self.deskshare = deskshare
        self.transcript = transcript; self.chat = chat
    }

    /// Protocol defaults for every kind in `kinds`, overridden by `configured` where it has a value.
    public static func explicit(for kinds: [MediaKind], configured: MediaParams = MediaParams()) -> MediaParams {
        var p = MediaParams()
        for k in kinds {
            switch k {
            case .audio: p.audio = configured.audio ?? .protocolDefault
            case .video: p.video = configured.video ?? .protocolDefault
            case .deskshare: p.deskshare = configured.deskshare ?? .protocolDefault
            case .transcript: p.transcript = configured.transcript ?? .protocolDefault
            case .chat: p.chat = configured.chat ?? ChatParams()
            }
        }
        return p
    }

    public var isEmpty: Bool { audio == nil && video == nil && deskshare == nil && transcript == nil && chat == nil }

    public var json: JSONValue {
        var o = JSONObject()
        if let audio { o["audio"] = audio.json }
        if let video { o["video"] = video.json }
        if let deskshare { o["deskshare"] = deskshare.json }
        if let transcript { o["transcript"] = transcript.json }
        if let chat { o["chat"] = chat.json }
        return .object(o)
    }

    /// Reads `media_params`. Missing fields take protocol defaults and are listed in `missing`
    /// as "audio.codec" etc. Kinds whose value is not an object are absent.
    public init(json o: JSONObject, missing: inout [String]) {
        if let a = o["audio"]?.objectValue {
            var m: [String] = []
            audio = AudioParams(json: a, missing: &m)
            missing += m.map { "audio." + $0 }
        }
        if let v = o["video"]?.objectValue {
            var m: [String] = []
            video = VideoParams(json: v, missing: &m)
            missing += m.map { "video." + $0 }
        }
        // Some clients call deskshare "sharescreen".
        if let d = o["deskshare"]?.objectValue ?? o["sharescreen"]?.objectValue {
            var m: [String] = []
            deskshare = DeskshareParams(json: d, missing: &m)
            missing += m.map { "deskshare." + $0 }
        }
        if let t = o["transcript"]?.objectValue { transcript = TranscriptParams(json: t) }
        if let c = o["chat"]?.objectValue {
            var ignored: [String] = []
            chat = ChatParams(contentType: paramInt(c, "content_type", ContentType.text, &ignored))
        }
    }
}

extension MediaParams {
    /// What is wrong with these parameters, nil when a server can be asked for them: the one rule
    /// of the core, applied by rtms_config() and rtms_check_params() (the bindings call the
    /// latter when a parameter object is set, as Zoom's wrappers check at that point).
    public var problem: String? {
        if let a = audio {
            guard [ContentType.rtp, ContentType.rawAudio, ContentType.fileStream, ContentType.text].contains(a.contentType) else {
                return "audio content_type \(a.contentType) is not RTP, RAW_AUDIO, FILE_STREAM or TEXT (1, 2, 4, 5)"
            }
            guard SampleRate.hertz(a.sampleRate) != nil else { return "audio sample_rate \(a.sampleRate) is not SR_8K..SR_48K (0..3)" }
            guard a.channel == 1 || a.channel == 2 else { return "audio channel \(a.channel) is not MONO (1) or STEREO (2)" }
            guard (1...4).contains(a.codec) else { return "audio codec \(a.codec) is not L16, G711, G722 or OPUS (1..4)" }
            guard a.codec != Codec.opus || a.sampleRate == SampleRate.sr48k else { return "OPUS audio needs SR_48K (sample_rate 3)" }
            guard (1...2).contains(a.dataOpt) else { return "audio data_opt \(a.dataOpt) is not AUDIO_MIXED_STREAM (1) or AUDIO_MULTI_STREAMS (2)" }
            guard a.sendRate > 0 && a.sendRate <= 1000 else { return "audio send_rate (duration) \(a.sendRate) ms is not in 1..1000" }
        }
        if let v = video {
            if let p = Self.videoProblem("video", v.contentType, v.codec, v.resolution, v.fps) { return p }
            guard (3...5).contains(v.dataOpt) else {
                return "video data_opt \(v.dataOpt) is not VIDEO_SINGLE_ACTIVE_STREAM, VIDEO_SINGLE_INDIVIDUAL_STREAM or VIDEO_MIXED_GALLERY_VIEW (3..5)"
            }
        }
        if let d = deskshare, let p = Self.videoProblem("deskshare", d.contentType, d.codec, d.resolution, d.fps) { return p }
        if let t = transcript {
            guard t.contentType == ContentType.text else { return "transcript content_type \(t.contentType) is not TEXT (5)" }
            guard (-1...36).contains(t.srcLanguage) else { return "transcript src_language \(t.srcLanguage) is not -1..36" }
        }
        return nil
    }

    private static func videoProblem(_ kind: String, _ contentType: Int, _ codec: Int, _ resolution: Int, _ fps: Int) -> String? {
        guard [ContentType.rtp, ContentType.rawVideo, ContentType.fileStream, ContentType.text].contains(contentType) else {
            return "\(kind) content_type \(contentType) is not RTP, RAW_VIDEO, FILE_STREAM or TEXT (1, 3, 4, 5)"
        }
        guard [Codec.jpg, Codec.png, Codec.h264].contains(codec) else { return "\(kind) codec \(codec) is not JPG, PNG or H264 (5..7)" }
        guard (1...30).contains(fps) else { return "\(kind) fps \(fps) is not in 1..30" }
        guard codec == Codec.h264 || fps <= 5 else { return "\(kind) JPG/PNG needs fps <= 5 (got \(fps))" }
        guard Resolution.size(resolution) != nil else { return "\(kind) resolution \(resolution) is not SD..QHD (1..4)" }
        return nil
    }
}

@inline(__always)
func paramInt(_ o: JSONObject, _ key: String, _ def: Int, _ missing: inout [String]) -> Int {
    if let v = o[key]?.intValue { return Int(v) }
    missing.append(key)
    return def
}
