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
    public init(count: Int, size: Int, rate: Int) { self.count = count; self.size = max(8, size); self.rate = rate }
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

extension Simulator {
    /// Adds a paced bench stream to the simulator's bench ticker (1 ms), started on first use and
    /// stopped when no paced stream is left. Call on the loop.
    func addPacedBenchStream(_ stream: SimStream, size: Int) {
        pacedBench.append((stream, size))
        guard pacedTicker == nil else { return }
        pacedTicker = loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { [weak self] task in
            guard let self else { task.cancel(); return }
            let now = SimStream.nowMicroseconds()
            self.pacedBench.removeAll { !$0.stream.pacedTick(now: now, size: $0.size) }
            if self.pacedBench.isEmpty {
                task.cancel()
                self.pacedTicker = nil
            }
        }
    }
}
