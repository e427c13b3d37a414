// Benchmark workloads on the simulator: instead of a scripted meeting, audio messages of a
// fixed size, blasted as fast as the client reads or paced at a rate by one shared ticker.

import NIOCore
import RTMSProtocol
import RTMSTransport

#if canImport(Glibc)
import Glibc
#endif

public struct BenchPlan: Sendable, Equatable {
    public var count: Int
    public var size: Int
    public var rate: Int
    /// What the blast sends (rate 0): 640-byte audio messages (`.audio`, the default), or H.264
    /// access units of a 720p stream's sizes on the video connection (`.video`; `size` unused).
    public var kind: BenchKind
    /// A meeting's media instead (every kind paced at its own rate; count, size, rate, kind unused).
    public var mix: BenchMix?
    /// The video blast waits for POST /bench/start instead of starting at the client's ready.
    public var hold: Bool
    public init(count: Int, size: Int, rate: Int, kind: BenchKind = .audio, mix: BenchMix? = nil, hold: Bool = false) {
        self.count = count
        self.size = max(8, size)
        self.rate = rate
        self.kind = kind
        self.mix = mix
        self.hold = hold
    }
}

public enum BenchKind: String, Sendable, Equatable { case audio, video }

/// What a real meeting carries, paced by the bench ticker: audio (`audioRate` messages a second of
/// `audioSize` bytes), H.264 video at `videoFPS` (BenchFrames.video: a keyframe every 2 s),
/// screen share at `deskshareFPS` (BenchFrames.deskshare) and a transcript line every
/// `transcriptMs`; a rate of 0 leaves that kind out. Audio, video and share payloads start with
/// the send time (µs since the epoch, little endian), as the paced audio bench's do. Media flows
/// for `seconds` from the start (0: without end), then the stream stays joined, keep-alives only;
/// the message counts are fixed: `seconds` × the rate of each kind, rounded down. The start is the
/// client's ready, or with `hold` the next POST /bench/start (every held stream at once).
public struct BenchMix: Sendable, Equatable {
    public var seconds: Double = 0
    public var hold = false
    public var audioRate = 50
    public var audioSize = 640
    public var videoFPS = 30
    public var deskshareFPS = 5
    public var transcriptMs = 1500
    public init() {}

    /// Kinds in the order of `periods` and the counters: audio, video, deskshare, transcript.
    static let kinds: [MediaKind] = [.audio, .video, .deskshare, .transcript]

    /// Microseconds between two messages of each kind (0: the kind is left out).
    var periods: [UInt64] {
        [audioRate, videoFPS, deskshareFPS].map { $0 > 0 ? UInt64(1_000_000 / $0) : 0 } + [transcriptMs > 0 ? UInt64(transcriptMs) * 1000 : 0]
    }

    /// Messages of each kind a stream sends (Int.max without end).
    var totals: [Int] {
        periods.map { p in p == 0 ? 0 : (seconds > 0 ? Int(seconds * 1_000_000 / Double(p)) : Int.max) }
    }
}

/// Payload sizes of the bench's video and screen share: H.264 access units as an encoder makes
/// them, fixed (a seeded draw) so that every run sends the same bytes.
enum BenchFrames {
    /// 720p at 30 fps, about 1.2 Mbit/s: a keyframe (IDR) of 40,000 bytes every 2 s (60 frames),
    /// P-frames of 2,500 to 6,500 bytes between them (these 59 average 4,389; the GOP 4,983).
    static let video = gop(frames: 60, keyframe: 40_000, low: 2_500, high: 6_500, seed: 1)
    /// Screen share at 5 fps: a keyframe of 60,000 bytes every 5 s (25 frames), then small
    /// deltas (500 to 3,000 bytes) of a mostly static screen.
    static let deskshare = gop(frames: 25, keyframe: 60_000, low: 500, high: 3_000, seed: 2)

    static func gop(frames: Int, keyframe: Int, low: Int, high: Int, seed: UInt64) -> [Int] {
        var rng = SeededRandom(seed: seed)
        return [keyframe] + (1..<frames).map { _ in low + Int(rng.next() % UInt64(high - low + 1)) }
    }

    /// The video blast's messages, one GOP of them, encoded once (sequence = frame number).
    static let encodedVideo: [ByteBuffer] = video.enumerated().map { i, size in
        ByteBuffer(
            bytes: JSONCodec.encodeMedia(
                kind: .video, userID: benchUser.userID, userName: benchUser.name, payload: payload(size: size, us: 0),
                timestamp: 0, sequence: Int64(i + 1)))
    }

    /// A payload of `size` bytes (at least 8) starting with `us`, little endian.
    static func payload(size: Int, us: UInt64) -> [UInt8] {
        var p = [UInt8](repeating: 0x55, count: max(8, size))
        for i in 0..<8 { p[i] = UInt8((us >> (8 * UInt64(i))) & 0xFF) }
        return p
    }

    static let benchUser = Participant(userID: 16_778_240, name: "Bench", pitch: 0)

    /// The transcript lines, in turn (40 to 140 bytes of UTF-8).
    static let lines = [
        "Good morning, everyone. Let's get started.",
        "First item on the agenda is the release schedule for the next quarter.",
        "We moved the beta to the second week of March, after the security review.",
        "Does anyone have concerns about the migration plan?",
        "I think we need another week for the load tests; the numbers from Tuesday were noisy.",
        "Agreed. Let's also check the dashboards before we flip the flag for everyone.",
        "Can you share the slides from last time? I'd like to compare the latency figures.",
        "Sure, I'm sharing my screen now.",
        "As you can see, the p99 went down from forty milliseconds to about twelve after the change.",
        "That's a great result. What about memory use per connection?",
        "It stayed flat, around two hundred kilobytes, even with a thousand streams joined at once.",
        "Okay, let's write that down as a decision and move on to hiring.",
    ]
}

/// Every bench stream's mix state (SimStream.benchMedia).
struct BenchMediaState {
    var mix: BenchMix?
    var startUs: UInt64 = 0
    var periods: [UInt64] = []
    var totals: [Int] = []
    /// Messages of each kind due so far (sent, or skipped while that kind's connection is down).
    var done = [0, 0, 0, 0]
    /// A held video blast: its count (Int.max without end), and whether it has started.
    var videoTotal = 0
    var videoStarted = false
}

/// What the bench's new workloads sent, over every stream (GET /bench): the mix and the video blast.
struct BenchTotals {
    var sent = [0, 0, 0, 0]
    var bytes = [0, 0, 0, 0]
    var started = 0
}

extension SimStream {
    static func nowMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    func benchMessage(size: Int) -> [UInt8] {
        var payload = [UInt8](repeating: 0x55, count: size)
        let us = Self.nowMicroseconds()
        for i in 0..<8 { payload[i] = UInt8((us >> (8 * UInt64(i))) & 0xFF) }
        sequence[0] += 1
        return JSONCodec.encodeMedia(
            kind: .audio, userID: 16_778_240, userName: "Bench", payload: payload,
            timestamp: Int64(us / 1000), sequence: Int64(sequence[0]))
    }

    /// The paced message for `us`: the template patched. The timestamp (13 digits until 2286) and
    /// the sequence (10 digits from 1,000,000,000) keep their width; only the first 12 base64
    /// characters (payload bytes 0–8) depend on the send time.
    func pacedMessage(size: Int, at us: UInt64) -> [UInt8] {
        if benchTemplate.isEmpty {
            sequence[0] = max(sequence[0], 1_000_000_000)
            benchTemplate = benchMessage(size: size)
            func find(_ needle: String) -> Int {
                let n = Array(needle.utf8)
                guard n.count <= benchTemplate.count else { return -1 }
                for i in 0...(benchTemplate.count - n.count) where benchTemplate[i..<(i + n.count)].elementsEqual(n) { return i + n.count }
                return -1
            }
            benchPatch = (find("\"data\":\""), find("\"timestamp\":"), find("\"sequence\":"))
        }
        sequence[0] += 1
        var out = benchTemplate
        func digits(_ v: UInt64, at end: Int, width: Int) {
            var v = v
            for i in stride(from: end + width - 1, through: end, by: -1) { out[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
        }
        if benchPatch.timestamp > 0 { digits(us / 1000, at: benchPatch.timestamp, width: 13) }
        if benchPatch.sequence > 0 { digits(UInt64(sequence[0]), at: benchPatch.sequence, width: 10) }
        if benchPatch.payload > 0 {
            var head = [UInt8](repeating: 0x55, count: 9)
            for i in 0..<8 { head[i] = UInt8((us >> (8 * UInt64(i))) & 0xFF) }
            let b64 = Array(Base64Codec.encode(head).utf8)
            for i in 0..<12 { out[benchPatch.payload + i] = b64[i] }
        }
        return out
    }

    func startBench(_ plan: BenchPlan) {
        if let mix = plan.mix {
            benchMedia.mix = mix
            if mix.hold { sim.heldBench.append(self) } else { startMix() }
            return
        }
        if plan.kind == .video {
            guard plan.rate == 0 else { return }
            benchMedia.videoTotal = plan.count > 0 ? plan.count : Int.max
            if plan.hold { sim.heldBench.append(self) } else { startVideoBlast() }
            return
        }
        // rate < 0: joined and idle (keep-alives only).
        guard plan.rate >= 0 else { return }
        let total = plan.count > 0 ? plan.count : Int.max
        if plan.rate == 0 {
            // Blast: one pre-encoded message, sent in chunks so the loop stays responsive.
            sendBenchChunk(benchMessage(size: plan.size), total: total)
        } else {
            // Paced: one ticker in the simulator serves every paced stream (a timer per stream
            // costs the simulator more than the client it measures).
            benchPeriodUs = UInt64(max(1, 1_000_000 / plan.rate))
            benchNextUs = Self.nowMicroseconds() + benchPeriodUs
            benchTotal = total
            sim.addPacedBenchStream(self, size: plan.size)
        }
    }

    /// Called by the simulator's bench ticker: sends what is due (at most a few messages behind;
    /// a message due while the audio connection is down is skipped, as live media is). Returns
    /// false when the stream is done.
    func pacedTick(now: UInt64, size: Int) -> Bool {
        guard state == .running || state == .detached, sent[0] < benchTotal else { return false }
        var due = 0
        while benchNextUs <= now && due < 8 { benchNextUs += benchPeriodUs; due += 1 }
        if benchNextUs <= now { benchNextUs = now + benchPeriodUs }
        guard due > 0, let conn = link(for: .audio)?.conn, conn.state == .open, clientReady, !frozen.contains(conn.id) else { return true }
        for _ in 0..<due where sent[0] < benchTotal {
            conn.send(pacedMessage(size: size, at: now), text: true, flush: false)
            sent[0] += 1
        }
        conn.flush()
        return true
    }

    /// Sends up to 256 messages on the current audio connection, the last with a notification
    /// once written to the socket, and continues from there: the simulator keeps at most one
    /// chunk in its own buffers however slowly the client reads. Waits while the client
    /// reconnects.
    func sendBenchChunk(_ bytes: [UInt8], total: Int) {
        guard state == .running || state == .detached, sent[0] < total else { return }
        guard let conn = link(for: .audio)?.conn, conn.state == .open, clientReady, !frozen.contains(conn.id) else {
            _ = sim.loop.scheduleTask(in: .milliseconds(1)) { [weak self] in self?.sendBenchChunk(bytes, total: total) }
            return
        }
        if benchFrame == nil { benchFrame = ByteBuffer(bytes: bytes) }
        let n = min(total - sent[0], 256)
        for _ in 0..<(n - 1) { conn.send(buffer: benchFrame!, text: true, flush: false) }
        sent[0] += n
        let me = NIOLoopBound(self, eventLoop: sim.loop)
        conn.send(buffer: benchFrame!, text: true) {
            me.eventLoop.execute { me.value.sendBenchChunk(bytes, total: total) }
        }
    }
}

extension SimStream {
    // MARK: The meeting mix and the video blast

    /// Starts the mix's clock (now) and puts the stream on the bench ticker.
    func startMix() {
        guard let mix = benchMedia.mix, benchMedia.startUs == 0, state != .ended else { return }
        benchMedia.startUs = Self.nowMicroseconds()
        benchMedia.periods = mix.periods
        benchMedia.totals = mix.totals
        sim.benchTotals.started += 1
        sim.addMixBenchStream(self)
    }

    /// Called by the bench ticker: sends every message due by `now`, however late (the counts are
    /// fixed; a message due while its connection is down is numbered and skipped, as sendMedia
    /// does). Returns false when the stream is done.
    func mixTick(now: UInt64) -> Bool {
        guard state != .ended, benchMedia.startUs > 0, now > benchMedia.startUs else { return state != .ended }
        let elapsed = now - benchMedia.startUs
        var more = false
        for k in 0..<BenchMix.kinds.count where benchMedia.periods[k] > 0 {
            let due = min(benchMedia.totals[k], Int(elapsed / benchMedia.periods[k]))
            while benchMedia.done[k] < due {
                sendMix(k, index: benchMedia.done[k], now: now)
                benchMedia.done[k] += 1
            }
            if benchMedia.done[k] < benchMedia.totals[k] { more = true }
        }
        return more
    }

    /// Message `index` of mix kind `k`, stamped with its due time; audio, video and share payloads
    /// start with `now` (the send time) for latency.
    func sendMix(_ k: Int, index: Int, now: UInt64) {
        guard let mix = benchMedia.mix else { return }
        let kind = BenchMix.kinds[k]
        let dueMs = Int64((benchMedia.startUs + UInt64(index + 1) * benchMedia.periods[k]) / 1000)
        let idx = kind.rawValue.trailingZeroBitCount
        let before = sent[idx]
        let payload: [UInt8]
        switch kind {
        case .audio: payload = BenchFrames.payload(size: mix.audioSize, us: now)
        case .video: payload = BenchFrames.payload(size: BenchFrames.video[index % BenchFrames.video.count], us: now)
        case .deskshare: payload = BenchFrames.payload(size: BenchFrames.deskshare[index % BenchFrames.deskshare.count], us: now)
        default: payload = Array(BenchFrames.lines[index % BenchFrames.lines.count].utf8)
        }
        if kind == .transcript {
            sendMedia(
                .transcript, user: BenchFrames.benchUser, payload: payload, timestamp: dueMs,
                startTime: dueMs - Int64(mix.transcriptMs), endTime: dueMs, language: 9)
        } else {
            sendMedia(kind, user: BenchFrames.benchUser, payload: payload, timestamp: dueMs)
        }
        if sent[idx] > before {
            sim.benchTotals.sent[k] += 1
            sim.benchTotals.bytes[k] += payload.count
        }
    }

    func startVideoBlast() {
        guard !benchMedia.videoStarted, state != .ended else { return }
        benchMedia.videoStarted = true
        sim.benchTotals.started += 1
        sendVideoChunk(total: benchMedia.videoTotal)
    }

    /// The video blast: up to 32 access units (BenchFrames.video, in turn) on the current video
    /// connection, the last with a notification once written, then the next chunk, so the
    /// simulator never buffers more than a chunk however slowly the client reads (as
    /// sendBenchChunk does for audio). Waits while the client reconnects.
    func sendVideoChunk(total: Int) {
        guard state == .running || state == .detached, sent[1] < total else { return }
        guard let conn = link(for: .video)?.conn, conn.state == .open, clientReady, !frozen.contains(conn.id) else {
            _ = sim.loop.scheduleTask(in: .milliseconds(1)) { [weak self] in self?.sendVideoChunk(total: total) }
            return
        }
        let frames = BenchFrames.encodedVideo
        let n = min(total - sent[1], 32)
        for j in 0..<n {
            let f = (sent[1] + j) % frames.count
            sim.benchTotals.bytes[1] += BenchFrames.video[f]
            if j < n - 1 { conn.send(buffer: frames[f], text: true, flush: false) }
        }
        let last = frames[(sent[1] + n - 1) % frames.count]
        sent[1] += n
        sim.benchTotals.sent[1] += n
        let me = NIOLoopBound(self, eventLoop: sim.loop)
        conn.send(buffer: last, text: true) {
            me.eventLoop.execute { me.value.sendVideoChunk(total: total) }
        }
    }
}

extension Simulator {
    /// Adds a paced bench stream to the simulator's bench ticker (1 ms), started on first use and
    /// stopped when no paced stream is left. Call on the loop.
    func addPacedBenchStream(_ stream: SimStream, size: Int) {
        pacedBench.append((stream, size))
        startBenchTicker()
    }

    /// Adds a meeting-mix stream to the same ticker.
    func addMixBenchStream(_ stream: SimStream) {
        mixBench.append(stream)
        startBenchTicker()
    }

    func startBenchTicker() {
        guard pacedTicker == nil else { return }
        pacedTicker = loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { [weak self] task in
            guard let self else { task.cancel(); return }
            let now = SimStream.nowMicroseconds()
            self.pacedBench.removeAll { !$0.stream.pacedTick(now: now, size: $0.size) }
            if !self.mixBench.isEmpty { self.mixBench.removeAll { !$0.mixTick(now: now) } }
            if self.pacedBench.isEmpty && self.mixBench.isEmpty {
                task.cancel()
                self.pacedTicker = nil
            }
        }
    }

    /// POST /bench/start: every held mix stream and video blast starts now. Answers how many, and
    /// the messages of each kind they will send in all.
    func startHeldBench() -> JSONValue {
        let held = heldBench
        heldBench = []
        var expected = [0, 0, 0, 0]
        var started = 0
        for s in held where s.state != .ended {
            if s.benchMedia.mix != nil {
                s.startMix()
                guard s.benchMedia.startUs > 0 else { continue }
                for k in 0..<expected.count where s.benchMedia.totals[k] != Int.max { expected[k] += s.benchMedia.totals[k] }
            } else {
                s.startVideoBlast()
                if s.benchMedia.videoTotal != Int.max { expected[1] += s.benchMedia.videoTotal }
            }
            started += 1
        }
        return .object([
            "started": .int(Int64(started)),
            "expected": .object(JSONObject(BenchMix.kinds.enumerated().map { (key: $1.key, value: JSONValue.int(Int64(expected[$0]))) })),
        ])
    }

    /// GET /bench: what the mix and the video blast sent, per kind, over every stream.
    var benchReport: JSONValue {
        .object([
            "started": .int(Int64(benchTotals.started)),
            "sent": .object(JSONObject(BenchMix.kinds.enumerated().map { (key: $1.key, value: JSONValue.int(Int64(benchTotals.sent[$0]))) })),
            "bytes": .object(JSONObject(BenchMix.kinds.enumerated().map { (key: $1.key, value: JSONValue.int(Int64(benchTotals.bytes[$0]))) })),
        ])
    }
}
