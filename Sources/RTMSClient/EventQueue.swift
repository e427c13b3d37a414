// The bounded hand-off between the network (event-loop threads) and the application (the thread
// that polls). Producers append in batches; the poller drains in batches. A pipe signals "events
// pending" so a host can sleep in poll(2)/epoll/asyncio instead of polling on a timer.

import NIOConcurrencyHelpers
import NIOCore
import RTMSProtocol
import RTMSSession
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the application receives, in order.
public enum ClientEventItem: Sendable {
    case control(ClientEvent)
    case media(MediaData)

    var byteCost: Int {
        switch self {
        case .control: 64
        case .media(let m): m.data.count + m.userName.utf8.count + 96
        }
    }
}

/// Counters readable from any thread.
public struct ClientCounters: Sendable, Equatable {
    /// Media messages handed to the application's queue, per kind (index = MediaKind bit position).
    public var mediaQueued = [Int](repeating: 0, count: 5)
    public var mediaBytesQueued = 0
    public var controlQueued = 0
    public var delivered = 0
    /// Media dropped because the queue was full (only with the drop policy).
    public var droppedQueueFull = 0
    /// Messages dropped because they could not be decoded.
    public var droppedMalformed = 0
    /// Media that arrived on a connection whose handshake was not accepted, or after leave, or
    /// of a kind the connection was not opened for (`droppedWrongKind` counts those too).
    public var droppedUnexpected = 0
    public var droppedWrongKind = 0
    /// Times reading was paused because the application fell behind.
    public var readPauses = 0
    public var queueHighWaterBytes = 0
    public var queueHighWaterEvents = 0
    public var keepAlivesAnswered = 0
    /// Reconnection attempts started (every kind).
    public var reconnectAttempts = 0
    /// Successful full rejoins (scenarios 1 and 2) and media reconnections (scenario 3).
    public var rejoins = 0
    public var mediaReconnects = 0
    /// Longest and latest gap between losing a connection and having it back.
    public var maxGapMs = 0
    public var lastGapMs = 0
    /// Warnings not written to the log because too many came at once (they still reach the
    /// application's error callback).
    public var warningsNotLogged = 0

    public init() {}
}

public final class EventQueue: @unchecked Sendable {
    public struct Limits: Sendable, Equatable {
        /// Above this many queued bytes the producer pauses reading (or drops, with `dropWhenFull`).
        public var highWaterBytes: Int
        /// Reading resumes when the queue falls below this.
        public var lowWaterBytes: Int
        public var dropWhenFull: Bool
        public init(highWaterBytes: Int = 64 << 20, lowWaterBytes: Int = 16 << 20, dropWhenFull: Bool = false) {
            self.highWaterBytes = highWaterBytes; self.lowWaterBytes = lowWaterBytes; self.dropWhenFull = dropWhenFull
        }
    }

    private let lock = NIOLock()
    /// The queued events are items[head...]; the ones before `head` were taken by a partial take
    /// and go at the next compaction. An array, not a ring: a push into an empty queue and a
    /// take of everything swap buffers instead of copying each event.
    private var items: [ClientEventItem] = []
    private var head = 0
    /// Bytes of the taken events still held before `head`.
    private var takenBytes = 0
    private var bytes = 0
    private var open = true
    /// Bumped by `close()`; a poll stops delivering a batch taken under an older generation.
    /// Written under the lock, read without it (a poll checks it before each event).
    private let generation = Atomic<Int>(0)
    private var counters = ClientCounters()
    private var pausedFlag = false
    /// The producer paused longer than it may and reads again: media beyond the limit is dropped
    /// (counted) until the queue drains below the low-water mark.
    private var overflowing = false
    private var overflowDrops = 0
    public var limits: Limits
    private let wake = WakePipe()

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Readable while events are pending.
    public var wakeFD: Int32 { wake.fd }

    /// The group this queue signals instead of its own pipe (DeliveryGroup), if any.
    private weak var group: DeliveryGroup?

    private func signalLocked() {
        if let group { group.markReady(self) } else { wake.signal() }
    }

    /// Joins (or, with nil, leaves) a delivery group; events already queued make it ready at once.
    func join(_ g: DeliveryGroup?) {
        lock.withLock {
            group = g
            // In a group the own pipe stays quiet (a signal left from before is taken back).
            if g != nil { wake.clear() }
            if pendingLocked > 0 { signalLocked() }
        }
    }

    private var pendingLocked: Int { items.count - head }

    private func clearSignalLocked() {
        wake.clear()
    }

    /// Appends a batch, leaving `batch` empty (its capacity may be another buffer's). Returns true
    /// when the producer should pause reading.
    @discardableResult
    public func push(_ batch: inout [ClientEventItem]) -> Bool {
        guard !batch.isEmpty else { return false }
        defer { batch.removeAll(keepingCapacity: true) }
        return lock.withLock {
            guard open else {
                counters.droppedUnexpected += batch.count
                return false
            }
            let mayDrop = limits.dropWhenFull || overflowing
            var added = 0
            for i in batch.indices {
                let cost = batch[i].byteCost
                if case .media(let m) = batch[i] {
                    if mayDrop && bytes + added + cost > limits.highWaterBytes {
                        counters.droppedQueueFull += 1
                        if overflowing { overflowDrops += 1 }
                        continue
                    }
                    counters.mediaQueued[m.kind.rawValue.trailingZeroBitCount] += 1
                    counters.mediaBytesQueued += m.data.count
                } else {
                    counters.controlQueued += 1
                }
                added += cost
                if mayDrop { items.append(batch[i]) }
            }
            if !mayDrop {
                // Everything is kept: into an empty queue the batch's buffer is swapped in whole.
                if pendingLocked == 0 {
                    items.removeAll(keepingCapacity: true)
                    head = 0
                    takenBytes = 0
                    swap(&items, &batch)
                } else {
                    items.append(contentsOf: batch)
                }
            }
            bytes += added
            if bytes > counters.queueHighWaterBytes { counters.queueHighWaterBytes = bytes }
            if pendingLocked > counters.queueHighWaterEvents { counters.queueHighWaterEvents = pendingLocked }
            if pendingLocked > 0 { signalLocked() }
            if !limits.dropWhenFull && !overflowing && bytes > limits.highWaterBytes && !pausedFlag {
                pausedFlag = true
                counters.readPauses += 1
                return true
            }
            return false
        }
    }

    public func push(_ item: ClientEventItem) {
        var one = [item]
        push(&one)
    }

    /// The producer stayed paused too long (the application stopped polling): from now until the
    /// queue drains, media beyond the limit is dropped and counted instead of pausing reading.
    public func beginOverflow() {
        lock.withLock {
            guard open else { return }
            overflowing = true
            pausedFlag = false
        }
    }

    /// Takes up to `max` events, appended to `out` (a caller that keeps its buffer allocates
    /// nothing). `resume` is true when the producer paused and the queue is now below the
    /// low-water mark. `overflowEnded` is the number of media messages dropped, when this take
    /// ended an overflow (see `beginOverflow`).
    public func take(max: Int, into out: inout [ClientEventItem]) -> (generation: Int, resume: Bool, overflowEnded: Int?) {
        lock.withLock {
            let n = Swift.max(0, Swift.min(max, pendingLocked))
            if n > 0 && n == pendingLocked && head == 0 && out.isEmpty {
                // Everything, into an empty buffer: the buffers change places.
                swap(&items, &out)
                bytes = 0
            } else if n > 0 {
                out.append(contentsOf: items[head..<(head + n)])
                var taken = 0
                for i in head..<(head + n) { taken += items[i].byteCost }
                bytes -= taken
                takenBytes += taken
                head += n
                if head == items.count {
                    items.removeAll(keepingCapacity: true)
                    head = 0
                    takenBytes = 0
                } else if head * 2 >= items.count || takenBytes >= 4 << 20 {
                    // Amortized: the taken events (and their memory) go once they are as many as
                    // the rest, or hold 4 MiB.
                    items.removeFirst(head)
                    head = 0
                    takenBytes = 0
                }
            }
            if pendingLocked == 0 { clearSignalLocked() }
            counters.delivered += n
            var resume = false
            if pausedFlag && bytes <= limits.lowWaterBytes {
                pausedFlag = false
                resume = true
            }
            var ended: Int? = nil
            if overflowing && bytes <= limits.lowWaterBytes {
                overflowing = false
                ended = overflowDrops
                overflowDrops = 0
            }
            return (generation.load(ordering: .relaxed), resume, ended)
        }
    }

    public var currentGeneration: Int { generation.load(ordering: .acquiring) }
    /// close() ran and reopen() has not: nothing more arrives (the application left).
    public var isClosed: Bool { lock.withLock { !open } }
    public var count: Int { lock.withLock { pendingLocked } }
    public var isEmpty: Bool { count == 0 }

    /// Drops everything queued and refuses new events until `reopen()` (leave, release). Wakes
    /// every waiter; the next take() clears the signal.
    public func close() {
        lock.withLock {
            open = false
            generation.add(1, ordering: .releasing)
            items.removeAll()
            head = 0
            takenBytes = 0
            bytes = 0
            pausedFlag = false
            overflowing = false
            overflowDrops = 0
            wake.signal()  // the own pipe also in a group: waiters on this queue see the close
        }
    }

    public func reopen() {
        lock.withLock {
            open = true
            generation.add(1, ordering: .releasing)
        }
    }

    public func countMalformed() { lock.withLock { counters.droppedMalformed += 1 } }
    public func countUnexpected(_ n: Int = 1) { lock.withLock { counters.droppedUnexpected += n } }
    public func countKeepAlive() { lock.withLock { counters.keepAlivesAnswered += 1 } }
    /// Counts a media message of a kind its connection did not ask for; returns the count so far.
    public func countWrongKind() -> Int {
        lock.withLock {
            counters.droppedUnexpected += 1
            counters.droppedWrongKind += 1
            return counters.droppedWrongKind
        }
    }
    public func countWarningSuppressed() { lock.withLock { counters.warningsNotLogged += 1 } }
    public func countReconnectAttempt() { lock.withLock { counters.reconnectAttempts += 1 } }
    public func countReconnected(signaling: Bool, gapMs: Int) {
        lock.withLock {
            if signaling { counters.rejoins += 1 } else { counters.mediaReconnects += 1 }
            counters.lastGapMs = gapMs
            counters.maxGapMs = max(counters.maxGapMs, gapMs)
        }
    }
    public var snapshot: ClientCounters { lock.withLock { counters } }

    /// Blocks until events are pending, `milliseconds` pass (0 = don't wait, <0 = forever) or the
    /// queue is closed. Returns true when events are pending.
    public func wait(milliseconds: Int) -> Bool {
        if !isEmpty { return true }
        if lock.withLock({ !open }) { return false }
        return wake.wait(milliseconds: milliseconds) { !isEmpty }
    }
}

/// Wall-clock milliseconds since the epoch.
public func nowMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

@inline(__always) func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}
