import Testing
@testable import RTMSClient
import RTMSProtocol
import RTMSSession

/// The queue between the network threads and the poller, on its own: order through partial takes
/// and compactions, the byte count behind pause and resume, drops, close.
@Suite struct EventQueueTests {
    /// A media item of `size` payload bytes carrying `seq`, or (odd seq, when asked) a control one.
    static func item(_ seq: Int, size: Int = 100, control: Bool = false) -> ClientEventItem {
        if control { return .control(.sessionUpdate(op: 0, sessionID: "s", state: 0, timestamp: Int64(seq))) }
        return .media(MediaData(kind: .audio, userName: "u", data: [UInt8](repeating: 1, count: size), timestamp: Int64(seq), sequence: Int64(seq)))
    }

    static func seq(_ it: ClientEventItem) -> Int {
        switch it {
        case .media(let m): Int(m.sequence ?? -1)
        case .control(.sessionUpdate(_, _, _, let ts)): Int(ts)
        default: -1
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func keepsOrderThroughPartialTakesAndCompactions(seed: UInt64) {
        let q = EventQueue()
        var rng = SeededRandom(seed: seed)
        var highWater = 0
        var next = 0, got: [Int] = [], out: [ClientEventItem] = []
        for round in 0..<400 {
            var batch = (0..<Int.random(in: 0...60, using: &rng)).map { _ in
                defer { next += 1 }
                return Self.item(next, control: next % 7 == 3)
            }
            q.push(&batch)
            highWater = max(highWater, q.count)
            // Mostly partial takes (the compaction paths), every tenth round everything.
            let max = round % 10 == 9 ? Int.max : Int.random(in: 1...45, using: &rng)
            _ = q.take(max: max, into: &out)
            got += out.map(Self.seq)
            out.removeAll(keepingCapacity: true)
            if round % 3 == 0 {
                // A caller whose buffer is not empty: appended to, nothing swapped away.
                out = [Self.item(-5)]
                _ = q.take(max: 3, into: &out)
                #expect(Self.seq(out[0]) == -5)
                got += out.dropFirst().map(Self.seq)
                out.removeAll()
            }
        }
        _ = q.take(max: .max, into: &out)
        got += out.map(Self.seq)
        #expect(got == Array(0..<next))
        #expect(q.count == 0)
        let c = q.snapshot
        #expect(c.delivered == next)
        #expect(c.mediaQueued[0] + c.controlQueued == next)
        #expect(c.queueHighWaterEvents == highWater)
    }

    /// Pause above the high-water mark; resume exactly when a take brings the bytes to the
    /// low-water mark or below, through partial takes.
    @Test func pausesAndResumesAtTheMarks() {
        let cost = Self.item(0).byteCost
        let q = EventQueue(limits: .init(highWaterBytes: cost * 50, lowWaterBytes: cost * 10))
        var n = 0, paused = false
        while !paused && n < 200 {
            var batch = (0..<7).map { i in Self.item(n + i) }
            n += 7
            paused = q.push(&batch)
        }
        #expect(paused && n == 56, "pauses once more than 50 are queued: \(n)")
        var out: [ClientEventItem] = []
        var left = n
        while left > 0 {
            let r = q.take(max: 9, into: &out)
            left -= out.count
            out.removeAll()
            if r.resume {
                #expect(left <= 10 && left > 1, "resumed with \(left) queued")
                break
            }
            #expect(left > 10, "no resume with \(left) queued")
        }
        #expect(q.count == left)
        // Everything taken at once (the buffers swap): nothing is counted as queued any more, so
        // the next pause comes after as many events as the first.
        #expect(!q.take(max: .max, into: &out).resume)
        #expect(q.count == 0)
        n = 0
        paused = false
        while !paused && n < 200 {
            var batch = (0..<7).map { i in Self.item(n + i) }
            n += 7
            paused = q.push(&batch)
        }
        #expect(paused && n == 56, "pauses again once more than 50 are queued: \(n)")
        #expect(q.snapshot.queueHighWaterBytes == 56 * cost)
    }

    @Test func dropModeDropsAndCountsBeyondTheMark() {
        let cost = Self.item(0).byteCost
        let q = EventQueue(limits: .init(highWaterBytes: cost * 20, lowWaterBytes: cost * 5, dropWhenFull: true))
        var batch = (0..<15).map { Self.item($0) }
        #expect(!q.push(&batch))
        batch = (15..<30).map { Self.item($0) }
        #expect(!q.push(&batch))
        var out: [ClientEventItem] = []
        _ = q.take(max: .max, into: &out)
        #expect(out.map(Self.seq) == Array(0..<20))
        #expect(q.snapshot.droppedQueueFull == 10)
    }

    @Test func closeEmptiesChangesTheGenerationAndRefusesUntilReopened() {
        let q = EventQueue()
        var batch = (0..<5).map { Self.item($0) }
        q.push(&batch)
        var out: [ClientEventItem] = []
        _ = q.take(max: 2, into: &out)
        let gen = q.currentGeneration
        q.close()
        #expect(q.currentGeneration != gen && q.count == 0 && q.isClosed)
        batch = [Self.item(9)]
        q.push(&batch)
        #expect(q.count == 0 && q.snapshot.droppedUnexpected == 1)
        q.reopen()
        batch = [Self.item(10)]
        q.push(&batch)
        out.removeAll()
        _ = q.take(max: .max, into: &out)
        #expect(out.map(Self.seq) == [10])
    }
}
