// The live view's model of one stream: fed on the recorder's thread with every event its client
// delivers (the same items StreamRecorder writes to files), and read on that thread by LiveHub
// when it publishes. Feeding is cheap on purpose: counters, a reference to the newest audio
// packet and video frame (no copy), a line appended to a short ring; levels, keyframe flags and
// base64 are computed only when the hub publishes (a few times a second, and only while a browser
// is watching).

import RTMSClient
import RTMSProtocol
import RTMSSession

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the stream's audio is, for the level meters: L16 PCM has a level (RMS), Opus does not
/// without a decoder ("level unknown").
public enum LiveAudioCodec: String, Sendable { case l16, opus }

/// Bounds of one stream's model.
public struct LiveLimits: Sendable, Equatable {
    /// Transcript (and chat) lines kept and sent, the newest.
    public var transcriptLines = 50
    /// Timeline entries kept and sent, the newest.
    public var timelineEntries = 100
    /// Mixed audio (user 0) without a sequence number: this long without a packet is a gap.
    public var audioGapMs: Int64 = 1000
    public init() {}
}

public final class LiveStream {
    public struct TranscriptLine: Equatable {
        public var wallMs: Int64
        public var userID: Int64
        public var userName: String
        public var text: String
        /// "transcript" or "chat".
        public var kind: String
    }

    public struct TimelineEntry: Equatable {
        public var wallMs: Int64
        /// joined, join_failed, reconnecting, reconnected, gap, interrupted, state, session, ended.
        public var kind: String
        public var text: String
    }

    struct Participant {
        var name: String
        var present = true
        var firstMs: Int64
        var lastAudioMs: Int64 = 0
        /// The newest audio packet (a reference to the delivered array) and whether its level is
        /// still to be computed.
        var lastPacket: [UInt8] = []
        var packetFresh = false
        var rms: Double?
        var audioMessages = 0
        var videoOn = false
    }

    struct Frame {
        var data: [UInt8]
        var userID: Int64
        var userName: String
        var wallMs: Int64
        var count: Int
    }

    public let streamID: String
    public let instanceID: String
    public let audioCodec: LiveAudioCodec
    public let limits: LiveLimits
    public let startedMs: Int64
    public private(set) var endedMs: Int64?
    /// joining, live, reconnecting, ended, failed.
    public private(set) var state = "joining"
    private var reconnecting: Set<String> = []
    public private(set) var reconnects = 0
    public private(set) var gaps = 0
    private(set) var participants: [Int64: Participant] = [:]
    private var order: [Int64] = []
    private var speaker: (id: Int64, name: String, sinceMs: Int64)?
    private var sharer: (id: Int64, name: String)?
    private var counts = [Int](repeating: 0, count: 5)
    private var byteCounts = [Int](repeating: 0, count: 5)
    private var lastSequence = [Int64?](repeating: nil, count: 5)
    private var lastMixedAudioTimestamp: Int64?
    public private(set) var transcript: [TranscriptLine] = []
    public private(set) var timeline: [TimelineEntry] = []
    /// Latest video and deskshare frame, by MediaKind bit position.
    private var frames = [Frame?](repeating: nil, count: 5)

    /// Bumped by every change of what the "core" section shows (participants, levels, speaker,
    /// counts, state), the transcript, the timeline, each kind's frame: the hub sends a section to
    /// a browser only when its version moved since that browser's last copy.
    public private(set) var coreVersion = 0
    public private(set) var transcriptVersion = 0
    public private(set) var timelineVersion = 0
    private(set) var frameVersions = [Int](repeating: 0, count: 5)

    public init(streamID: String, instanceID: String, audioCodec: LiveAudioCodec = .l16, limits: LiveLimits = LiveLimits(), now: Int64 = nowMilliseconds()) {
        self.streamID = streamID
        self.instanceID = instanceID
        self.audioCodec = audioCodec
        self.limits = limits
        self.startedMs = now
    }

    public var ended: Bool { endedMs != nil }
    public var participantCount: Int { participants.count }

    // MARK: Feeding (the recorder's thread)

    public func add(_ item: ClientEventItem) { add(item, now: nowMilliseconds()) }

    public func add(_ item: ClientEventItem, now: Int64) {
        switch item {
        case .media(let m): media(m, now)
        case .control(let ev): control(ev, now)
        }
    }

    private func media(_ m: MediaData, _ now: Int64) {
        let i = m.kind.rawValue.trailingZeroBitCount
        counts[i] += 1
        byteCounts[i] += m.data.count
        coreVersion &+= 1
        if let seq = m.sequence {
            // The simulator numbers every message of a kind: a jump is messages never received.
            if let last = lastSequence[i], seq > last &+ 1 {
                gap("\(m.kind.key): \(seq - last - 1) message\(seq - last - 1 == 1 ? "" : "s") missing", now)
            }
            lastSequence[i] = seq
        }
        switch m.kind {
        case .audio:
            if m.sequence == nil, m.userID == 0 {
                // A mixed stream flows without pause (silence is sent as audio), so a hole in its
                // timestamps is a gap. Per-speaker audio stops whenever its speaker does.
                if let last = lastMixedAudioTimestamp, m.timestamp - last > limits.audioGapMs {
                    gap("audio: none for \(m.timestamp - last) ms", now)
                }
                lastMixedAudioTimestamp = m.timestamp
            }
            touch(m.userID, m.userName, now)
            participants[m.userID]?.lastAudioMs = now
            participants[m.userID]?.lastPacket = m.data
            participants[m.userID]?.packetFresh = true
            participants[m.userID]?.audioMessages += 1
        case .transcript, .chat:
            touch(m.userID, m.userName, now)
            let text = String(decoding: m.data, as: UTF8.self)
            transcript.append(TranscriptLine(wallMs: now, userID: m.userID, userName: m.userName, text: text, kind: m.kind.key))
            if transcript.count > limits.transcriptLines { transcript.removeFirst(transcript.count - limits.transcriptLines) }
            transcriptVersion &+= 1
        case .video, .deskshare:
            frames[i] = Frame(data: m.data, userID: m.userID, userName: m.userName, wallMs: now, count: counts[i])
            frameVersions[i] &+= 1
        }
    }

    /// A participant named by media or an event (user 0 is the mixed audio, shown as such).
    private func touch(_ id: Int64, _ name: String, _ now: Int64) {
        if participants[id] == nil {
            participants[id] = Participant(name: name.isEmpty && id == 0 ? "(mixed audio)" : name, firstMs: now)
            order.append(id)
        } else if !name.isEmpty, participants[id]?.name != name {
            participants[id]?.name = name
        }
    }

    private func note(_ kind: String, _ text: String, _ now: Int64) {
        timeline.append(TimelineEntry(wallMs: now, kind: kind, text: text))
        if timeline.count > limits.timelineEntries { timeline.removeFirst(timeline.count - limits.timelineEntries) }
        timelineVersion &+= 1
        coreVersion &+= 1
    }

    private func gap(_ text: String, _ now: Int64) {
        gaps += 1
        note("gap", text, now)
    }

    private func control(_ ev: ClientEvent, _ now: Int64) {
        coreVersion &+= 1
        switch ev {
        case .joinConfirm(let reason, let text):
            if reason == 0 {
                state = "live"
                note("joined", "joined the stream", now)
            } else {
                state = "failed"
                endedMs = now
                note("join_failed", "\(ClientReason.describe(reason)) (\(reason))\(text.isEmpty ? "" : ": " + text)", now)
            }
        case .leave(let reason, let text):
            guard endedMs == nil else { return }
            endedMs = now
            state = "ended"
            reconnecting.removeAll()
            note("ended", "\(StopReason.name(reason)) (\(reason))\(text.isEmpty ? "" : ": " + text)", now)
        case .userUpdate(let op, let id, let name):
            touch(id, name, now)
            participants[id]?.present = op == UserOp.join
            if op != UserOp.join, speaker?.id == id { speaker = nil }
        case .activeSpeaker(let id, let name, _):
            touch(id, name, now)
            speaker = (id, participants[id]?.name ?? name, now)
        case .sharing(let started, let id, let name, _):
            if started {
                touch(id, name, now)
                sharer = (id, participants[id]?.name ?? name)
            } else {
                sharer = nil
            }
        case .participantVideo(let ids, let on):
            for id in ids {
                touch(id, "", now)
                participants[id]?.videoOn = on
            }
        case .mediaInterrupted:
            note("interrupted", "the server reports media interrupted", now)
        case .streamState(let st, let reason):
            let name = StreamState(rawValue: st).map { "\($0)" } ?? "state \(st)"
            note("state", "stream \(name)\(reason != 0 ? " (reason \(reason))" : "")", now)
        case .sessionUpdate(let op, _, let st, _):
            let name = SessionState(rawValue: st).map { "\($0)" } ?? "state \(st)"
            note("session", "session \(name) (op \(op))", now)
        case .reconnecting(let c, let attempt, let delay, let cause):
            reconnecting.insert(c.label)
            if endedMs == nil { state = "reconnecting" }
            note("reconnecting", "\(c.label): attempt \(attempt) in \(delay) ms (\(cause))", now)
        case .reconnected(let c, let gapMs):
            reconnecting.remove(c.label)
            reconnects += 1
            if endedMs == nil, reconnecting.isEmpty { state = "live" }
            note("reconnected", "\(c.label) back after \(gapMs) ms", now)
        case .streamClosed(let status, let reason):
            note("state", "stream closed: status \(status)\(reason.isEmpty ? "" : " " + reason)", now)
        case .participantEvent, .eventEx, .firstPacket, .videoSubscribed, .warning:
            coreVersion &-= 1
        }
    }

    /// The stream ended without a leave event reaching the model (`rtms serve` handing it to
    /// another node, a recorder stopped): shown as ended with `note`.
    public func markEnded(_ text: String, now: Int64 = nowMilliseconds()) {
        guard endedMs == nil else { return }
        endedMs = now
        state = "ended"
        reconnecting.removeAll()
        note("ended", text, now)
    }

    // MARK: Levels

    /// RMS of 16-bit little-endian PCM, 0...1 of full scale (every channel together).
    public static func rms(l16 bytes: [UInt8]) -> Double {
        let n = bytes.count / 2
        guard n > 0 else { return 0 }
        var sum: Double = 0
        bytes.withUnsafeBytes { raw in
            for k in 0..<n {
                let s = Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: Int16.self)))
                sum += s * s
            }
        }
        return (sum / Double(n)).squareRoot() / 32768
    }

    /// RMS as dBFS (nil for silence).
    public static func dbfs(_ rms: Double) -> Double? {
        guard rms > 0 else { return nil }
        return 20 * log10(rms)
    }

    /// The level of a participant's newest packet (computed now if it is new); nil for Opus or
    /// before any audio.
    func level(of id: Int64) -> Double? {
        guard audioCodec == .l16, var p = participants[id] else { return nil }
        if p.packetFresh {
            p.rms = Self.rms(l16: p.lastPacket)
            p.packetFresh = false
            participants[id] = p
        }
        return p.rms
    }

    // MARK: Sections (JSON, built by the hub when it publishes)

    func coreJSON(now: Int64) -> [UInt8] {
        var people: [JSONValue] = []
        for id in order {
            guard let p = participants[id] else { continue }
            var o: JSONObject = [
                "id": .int(id), "name": .string(p.name), "present": .bool(p.present),
                "speaking": .bool(speaker?.id == id), "audio_messages": .int(Int64(p.audioMessages)),
                "video": .bool(p.videoOn),
            ]
            if p.lastAudioMs > 0 { o["last_audio_ms"] = .int(p.lastAudioMs) }
            if let r = level(of: id) {
                o["level"] = .double((r * 10000).rounded() / 10000)
                if let db = Self.dbfs(r) { o["dbfs"] = .double((db * 10).rounded() / 10) }
            }
            people.append(.object(o))
        }
        var media = JSONObject()
        for k in MediaKind.allCases {
            let i = k.rawValue.trailingZeroBitCount
            media[k.key] = .object(["messages": .int(Int64(counts[i])), "bytes": .int(Int64(byteCounts[i]))])
        }
        var o: JSONObject = [
            "now": .int(now), "state": .string(state), "instance_id": .string(instanceID),
            "started_ms": .int(startedMs), "audio_codec": .string(audioCodec.rawValue),
            "level_known": .bool(audioCodec == .l16), "participants": .array(people), "media": .object(media),
            "reconnects": .int(Int64(reconnects)), "gaps": .int(Int64(gaps)),
            "reconnecting": .array(reconnecting.sorted().map { .string($0) }),
        ]
        if let e = endedMs { o["ended_ms"] = .int(e) }
        if let s = speaker { o["speaker"] = .object(["id": .int(s.id), "name": .string(s.name), "since_ms": .int(s.sinceMs)]) }
        if let s = sharer { o["sharing"] = .object(["id": .int(s.id), "name": .string(s.name)]) }
        return JSON.serialize(.object(o))
    }

    func transcriptJSON() -> [UInt8] {
        JSON.serialize(
            .array(
                transcript.map {
                    .object([
                        "t": .int($0.wallMs), "user_id": .int($0.userID), "user_name": .string($0.userName),
                        "text": .string($0.text), "kind": .string($0.kind),
                    ])
                }))
    }

    func timelineJSON() -> [UInt8] {
        JSON.serialize(.array(timeline.map { .object(["t": .int($0.wallMs), "kind": .string($0.kind), "text": .string($0.text)]) }))
    }

    /// The latest frame of `kind` (video or deskshare): a data URL for JPEG and PNG, which a page
    /// shows as is; for anything else (H.264 access units, which a browser cannot decode without
    /// a build step) its size and whether it is a keyframe.
    static let maxPictureBytes = 256 << 10

    func frameJSON(_ kind: MediaKind) -> [UInt8]? {
        guard let f = frames[kind.rawValue.trailingZeroBitCount] else { return nil }
        var o: JSONObject = [
            "kind": .string(kind.key), "bytes": .int(Int64(f.data.count)), "frames": .int(Int64(f.count)),
            "t": .int(f.wallMs), "user_id": .int(f.userID), "user_name": .string(f.userName),
        ]
        let format = Self.pictureFormat(f.data)
        switch format {
        case "jpeg", "png":
            let mime = "image/\(format)"
            o["codec"] = .string(format)
            // A picture larger than this goes as its size only: its event must fit a browser's
            // buffer (WebhookStreamWriter) with the rest of the stream's update.
            if f.data.count <= Self.maxPictureBytes {
                o["data_url"] = .string("data:\(mime);base64," + Base64Codec.encode(f.data))
            } else {
                o["too_large"] = .bool(true)
            }
        default:
            o["codec"] = .string("h264")
            o["keyframe"] = .bool(Self.isH264Keyframe(f.data))
        }
        return JSON.serialize(.object(o))
    }

    func frameVersion(_ kind: MediaKind) -> Int { frameVersions[kind.rawValue.trailingZeroBitCount] }

    static func pictureFormat(_ d: [UInt8]) -> String {
        if d.count > 2 && d[0] == 0xFF && d[1] == 0xD8 { return "jpeg" }
        if d.count > 3 && d[0] == 0x89 && d[1] == 0x50 && d[2] == 0x4E && d[3] == 0x47 { return "png" }
        return "other"
    }

    /// An Annex B access unit with an IDR slice (NAL type 5) or a sequence parameter set (7).
    public static func isH264Keyframe(_ d: [UInt8]) -> Bool {
        var i = 0
        while i + 3 < d.count {
            if d[i] == 0 && d[i + 1] == 0 && (d[i + 2] == 1 || (d[i + 2] == 0 && i + 4 < d.count && d[i + 3] == 1)) {
                let start = d[i + 2] == 1 ? i + 3 : i + 4
                guard start < d.count else { return false }
                let type = d[start] & 0x1F
                if type == 5 || type == 7 { return true }
                i = start
            } else {
                i += 1
            }
        }
        return false
    }
}
