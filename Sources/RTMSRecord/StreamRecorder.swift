// One stream on disk. Fed with the events a client delivers (on the polling thread), it writes:
//   audio/<user>.wav   one 16-bit PCM track per participant, time-aligned (silence in the gaps)
//   audio/mixed.wav    every participant summed on the same timeline
//   transcript.vtt     WebVTT, one cue per utterance; transcript.jsonl the same with ids
//   chat.jsonl, events.jsonl
//   video.h264 / deskshare.h264 (H.264 elementary streams) or video/NNNNNN.jpg (JPEG/PNG frames)
//   summary.json       participants, duration, counts, reconnects, drops, the files
// finalize() may be called at any time (SIGINT) and leaves every file valid.

import RTMSClient
import RTMSProtocol
import RTMSSession

public struct RecordFormat: Sendable, Equatable {
    public enum AudioCodec: String, Sendable, CaseIterable { case l16, opus }
    /// L16: WAV per participant and mixed. Opus (48 kHz): an Ogg Opus file per participant, the
    /// packets as received (no mixed track: mixing needs a decoder).
    public var codec: AudioCodec
    public var sampleRate: Int
    public var channels: Int
    public init(sampleRate: Int = 16_000, channels: Int = 1, codec: AudioCodec = .l16) {
        self.codec = codec
        self.sampleRate = codec == .opus ? 48_000 : sampleRate
        self.channels = channels
    }
}

public final class StreamRecorder {
    public let directory: String
    public let streamID: String
    public let instanceID: String
    public let format: RecordFormat
    private var t0: Int64?
    private let startedWall = nowMilliseconds()
    private var tracks: [Int64: WAVWriter] = [:]
    private var opusTracks: [Int64: OggOpusWriter] = [:]
    private var opusRejected = 0
    private var mixer: PCMMixer?
    private var vtt: WebVTTWriter?
    private var transcriptLines: JSONLinesWriter?
    private var chat: JSONLinesWriter?
    private var events: JSONLinesWriter?
    private var h264: [MediaKind: OutFile] = [:]
    private var frameCounts: [MediaKind: Int] = [:]
    private var counts = [Int](repeating: 0, count: 5)
    private var bytes = [Int](repeating: 0, count: 5)
    private var participants: [Int64: (name: String, firstMs: Int64, lastMs: Int64)] = [:]
    private var reconnects = 0
    private var leaveReason: Int?
    /// The join failed: leaveReason is a status or client reason, not a stop reason.
    private var joinFailed = false
    private var leaveText = ""
    private var finalized = false
    private var lastSync = nowMilliseconds()
    /// Also given every event this recorder takes (after writing it): the live view's model.
    public var observer: ((ClientEventItem) -> Void)?

    public init(directory: String, streamID: String, instanceID: String, format: RecordFormat = RecordFormat()) throws {
        self.directory = directory
        self.streamID = streamID
        self.instanceID = instanceID
        self.format = format
        try makeDirectory(directory)
        events = try JSONLinesWriter(path: directory + "/events.jsonl")
    }

    public var participantCount: Int { participants.count }
    public var totalBytes: Int { bytes.reduce(0, +) }
    public var reconnectCount: Int { reconnects }
    public var ended: Bool { leaveReason != nil }

    private func relative(_ ts: Int64) -> Int64 {
        if t0 == nil { t0 = ts }
        return ts - (t0 ?? ts)
    }

    private func seen(_ id: Int64, _ name: String, at ms: Int64) {
        guard id != 0 || !name.isEmpty else { return }
        if var p = participants[id] {
            if !name.isEmpty { p.name = name }
            p.lastMs = max(p.lastMs, ms)
            participants[id] = p
        } else {
            participants[id] = (name, ms, ms)
        }
    }

    static func safeName(_ s: String) -> String {
        let ok = s.unicodeScalars.map { c -> Character in
            (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_") ? Character(c) : "_"
        }
        let t = String(ok)
        return t.isEmpty ? "unknown" : String(t.prefix(60))
    }

    // MARK: Feeding

    public func add(_ item: ClientEventItem) {
        guard !finalized else { return }
        switch item {
        case .media(let m): media(m)
        case .control(let ev): control(ev)
        }
        observer?(item)
        let now = nowMilliseconds()
        if now - lastSync > 1000 {
            lastSync = now
            sync()
        }
    }

    private func media(_ m: MediaData) {
        let i = m.kind.rawValue.trailingZeroBitCount
        counts[i] += 1
        bytes[i] += m.data.count
        let rel = relative(m.timestamp)
        seen(m.userID, m.userName, at: rel)
        do {
            switch m.kind {
            case .audio: try audio(m, rel)
            case .transcript: try transcript(m, rel)
            case .chat:
                if chat == nil { chat = try JSONLinesWriter(path: directory + "/chat.jsonl") }
                chat?.write([
                    "t_ms": .int(rel), "user_id": .int(m.userID), "user_name": .string(m.userName),
                    "text": .string(String(decoding: m.data, as: UTF8.self)),
                ])
            case .video, .deskshare: try picture(m)
            }
        } catch {
            events?.write(["t_ms": .int(rel), "error": .string("\(error)")])
        }
    }

    private func opusAudio(_ m: MediaData, _ rel: Int64) throws {
        if opusTracks[m.userID] == nil {
            try makeDirectory(directory + "/audio")
            let name = m.userID == 0 ? "all" : "\(Self.safeName(m.userName))-\(m.userID)"
            opusTracks[m.userID] = try OggOpusWriter(
                path: directory + "/audio/\(name).opus", channels: format.channels,
                inputSampleRate: format.sampleRate, serial: UInt32(truncatingIfNeeded: m.userID &+ 1))
        }
        guard let w = opusTracks[m.userID] else { return }
        w.padSilence(toMs: Int(rel))
        if !w.append(packet: m.data) { opusRejected += 1 }
    }

    private func audio(_ m: MediaData, _ rel: Int64) throws {
        if format.codec == .opus { return try opusAudio(m, rel) }
        let at = Int(rel) * format.sampleRate / 1000
        if tracks[m.userID] == nil {
            try makeDirectory(directory + "/audio")
            let name = m.userID == 0 ? "all" : "\(Self.safeName(m.userName))-\(m.userID)"
            tracks[m.userID] = try WAVWriter(path: directory + "/audio/\(name).wav", sampleRate: format.sampleRate, channels: format.channels)
        }
        if mixer == nil {
            mixer = PCMMixer(writer: try WAVWriter(path: directory + "/audio/mixed.wav", sampleRate: format.sampleRate, channels: format.channels))
        }
        guard let w = tracks[m.userID] else { return }
        // Keep every track on the stream's timeline: a gap becomes silence.
        if at > w.frames { w.appendSilence(frames: at - w.frames) }
        w.append(pcm: m.data)
        mixer?.add(pcm: m.data, at: at)
    }

    private func transcript(_ m: MediaData, _ rel: Int64) throws {
        if vtt == nil {
            vtt = try WebVTTWriter(path: directory + "/transcript.vtt")
            transcriptLines = try JSONLinesWriter(path: directory + "/transcript.jsonl")
        }
        let text = String(decoding: m.data, as: UTF8.self)
        let start = m.startTime > 0 ? relative(m.startTime) : rel
        let end = m.endTime > 0 ? relative(m.endTime) : start + 1000
        vtt?.cue(startMs: start, endMs: end, speaker: m.userName, text: text)
        var o: JSONObject = [
            "start_ms": .int(start), "end_ms": .int(end), "user_id": .int(m.userID),
            "user_name": .string(m.userName), "text": .string(text),
        ]
        if let l = m.language { o["language"] = .int(Int64(l)) }
        transcriptLines?.write(o)
    }

    private func picture(_ m: MediaData) throws {
        let d = m.data
        let isJPEG = d.count > 2 && d[0] == 0xFF && d[1] == 0xD8
        let isPNG = d.count > 3 && d[0] == 0x89 && d[1] == 0x50 && d[2] == 0x4E && d[3] == 0x47
        let key = m.kind.key
        if isJPEG || isPNG {
            let dir = directory + "/" + key
            try makeDirectory(dir)
            let n = (frameCounts[m.kind] ?? 0) + 1
            frameCounts[m.kind] = n
            let digits = String(n)
            let f = try OutFile(dir + "/" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + (isJPEG ? ".jpg" : ".png"))
            f.write(d)
            f.close()
        } else {
            // H.264 access units in Annex B form: one elementary stream, playable as is.
            if h264[m.kind] == nil { h264[m.kind] = try OutFile(directory + "/\(key).h264") }
            h264[m.kind]?.write(d)
            frameCounts[m.kind, default: 0] += 1
        }
    }

    private func control(_ ev: ClientEvent) {
        let rel = nowMilliseconds() - startedWall
        var o = ev.json
        o["t_ms"] = .int(rel)
        o["wall_ms"] = .int(nowMilliseconds())
        events?.write(o)
        switch ev {
        case .userUpdate(let op, let id, let name):
            if op == UserOp.join { seen(id, name, at: rel) } else if var p = participants[id] { p.lastMs = rel; participants[id] = p }
        case .reconnected:
            reconnects += 1
        case .leave(let reason, let text):
            leaveReason = reason
            leaveText = text
        case .joinConfirm(let reason, let text) where reason != 0:
            leaveReason = reason
            leaveText = text
            joinFailed = true
        default:
            break
        }
    }

    // MARK: Files

    public func sync() {
        for w in tracks.values { w.sync() }
        for w in opusTracks.values { w.sync() }
        mixer?.writer.sync()
        vtt?.sync()
        transcriptLines?.sync()
        chat?.sync()
        events?.sync()
        for f in h264.values { f.flush() }
    }

    /// Writes out everything and summary.json. Idempotent. `counters` are the client's.
    @discardableResult
    public func finalize(counters: ClientCounters? = nil) -> JSONValue {
        if finalized { return summary(counters) }
        finalized = true
        mixer?.flush()
        mixer?.writer.finalize()
        for w in tracks.values { w.finalize() }
        for w in opusTracks.values { w.finalize() }
        vtt?.finalize()
        transcriptLines?.finalize()
        chat?.finalize()
        events?.finalize()
        for f in h264.values { f.close() }
        let s = summary(counters)
        if let f = try? OutFile(directory + "/summary.json") {
            f.write(JSON.serialize(s))
            f.write([10])
            f.close()
        }
        return s
    }

    private var audioDurationMs: Int {
        max(mixer?.writer.durationMs ?? 0, opusTracks.values.map(\.durationMs).max() ?? 0)
    }

    public func summary(_ counters: ClientCounters?) -> JSONValue {
        var kinds = JSONObject()
        for k in MediaKind.allCases {
            let i = k.rawValue.trailingZeroBitCount
            kinds[k.key] = .object(["messages": .int(Int64(counts[i])), "bytes": .int(Int64(bytes[i]))])
        }
        let people: [JSONValue] = participants.keys.sorted().map { id in
            let p = participants[id]!
            return .object(["user_id": .int(id), "user_name": .string(p.name), "first_ms": .int(p.firstMs), "last_ms": .int(p.lastMs)])
        }
        var files: [JSONValue] = []
        if mixer != nil { files.append(.string("audio/mixed.wav")) }
        for w in tracks.values.sorted(by: { $0.path < $1.path }) { files.append(.string(String(w.path.dropFirst(directory.count + 1)))) }
        for w in opusTracks.values.sorted(by: { $0.path < $1.path }) { files.append(.string(String(w.path.dropFirst(directory.count + 1)))) }
        if vtt != nil { files += [.string("transcript.vtt"), .string("transcript.jsonl")] }
        if chat != nil { files.append(.string("chat.jsonl")) }
        for (k, _) in h264 { files.append(.string("\(k.key).h264")) }
        for k in [MediaKind.video, .deskshare] where h264[k] == nil && (frameCounts[k] ?? 0) > 0 { files.append(.string("\(k.key)/")) }
        files += [.string("events.jsonl"), .string("summary.json")]
        var o: JSONObject = [
            "rtms_stream_id": .string(streamID), "instance_id": .string(instanceID),
            "duration_ms": .int(Int64(audioDurationMs > 0 ? audioDurationMs : Int(nowMilliseconds() - startedWall))),
            "participants": .array(people), "media": .object(kinds), "reconnects": .int(Int64(reconnects)),
            "audio_format": .object([
                "codec": .string(format.codec == .opus ? "Opus" : "L16"), "sample_rate": .int(Int64(format.sampleRate)),
                "channels": .int(Int64(format.channels)), "container": .string(format.codec == .opus ? "Ogg" : "WAV"),
            ]),
            "files": .array(files),
        ]
        if let r = leaveReason {
            // A failed join carries a status code (8: DUPLICATE_SIGNAL_REQUEST) or a client reason,
            // an ended stream a stop reason: the same number names different things.
            o["end"] = .object([
                "reason": .int(Int64(r)), "name": .string(joinFailed ? ClientReason.describe(r) : StopReason.name(r)),
                "text": .string(leaveText), "join_failed": .bool(joinFailed),
            ])
        }
        if let c = counters {
            o["drops"] = .object([
                "queue_full": .int(Int64(c.droppedQueueFull)), "malformed": .int(Int64(c.droppedMalformed)),
                "unexpected": .int(Int64(c.droppedUnexpected)), "not_opus": .int(Int64(opusRejected)),
            ])
            o["reconnect_attempts"] = .int(Int64(c.reconnectAttempts))
            o["max_gap_ms"] = .int(Int64(c.maxGapMs))
        }
        return .object(o)
    }
}
