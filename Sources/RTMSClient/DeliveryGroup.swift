// One wake source for many clients (curl multi's model, across handles): the queues of the
// members signal the group, not their own pipes, and the group remembers which have events. A
// thread polling a hundred streams then sleeps on one descriptor and wakes once for whatever is
// ready, instead of once per stream's message.
//
// A latency budget trades latency for wake-ups: when the group signalled less than the budget
// ago, the next signal waits for the rest of the budget (what arrives meanwhile rides along);
// after a quiet spell the first event wakes the consumer at once. 0 (the default) never delays.

import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

public final class DeliveryGroup: @unchecked Sendable {
    private let lock = NIOLock()
    private let wake = WakePipe()
    /// Members with events, in the order they became ready, each once.
    private var ready: [EventQueue] = []
    private var readySet = Set<ObjectIdentifier>()
    private var owners: [ObjectIdentifier: AnyObject] = [:]
    private let budgetNanoseconds: Int64
    /// Where a delayed signal's timer runs; nil: one of the runtime's loops, picked when a timer is
    /// first needed (a group alone starts no network thread: a process may still fork).
    private let timerLoop: EventLoop?
    private var lastSignal: Int64 = 0
    private var timerPending = false
    private var closed = false

    public init(latencyBudgetMicroseconds: Int = 0, timerLoop: EventLoop? = nil) {
        budgetNanoseconds = Int64(max(0, latencyBudgetMicroseconds)) * 1000
        self.timerLoop = timerLoop
    }

    public var wakeFD: Int32 { wake.fd }

    /// Makes `queue` a member, delivered on behalf of `owner` (what `takeReady` returns). A queue
    /// already holding events is ready at once.
    public func add(_ queue: EventQueue, owner: AnyObject) {
        lock.withLock { owners[ObjectIdentifier(queue)] = owner }
        queue.join(self)
    }

    /// Ends the membership: the queue signals its own descriptor again.
    public func remove(_ queue: EventQueue) {
        queue.join(nil)
        lock.withLock {
            let id = ObjectIdentifier(queue)
            owners[id] = nil
            if readySet.remove(id) != nil { ready.removeAll { $0 === queue } }
        }
    }

    public var memberCount: Int { lock.withLock { owners.count } }

    /// Called by a member queue (under its own lock) when it holds events.
    func markReady(_ queue: EventQueue) {
        let fire: Int64? = lock.withLock {
            let id = ObjectIdentifier(queue)
            guard !closed, owners[id] != nil, readySet.insert(id).inserted else { return nil }
            ready.append(queue)
            return signalLocked()
        }
        if let delay = fire { scheduleSignal(after: delay) }
    }

    /// Signals now, or returns the nanoseconds to wait when the budget says so (nil: done).
    private func signalLocked() -> Int64? {
        if budgetNanoseconds == 0 {
            wakeLocked()
            return nil
        }
        let now = Int64(bitPattern: UInt64(NIODeadline.now().uptimeNanoseconds))
        let since = now - lastSignal
        if since >= budgetNanoseconds {
            wakeLocked()
            lastSignal = now
            return nil
        }
        guard !timerPending else { return nil }
        timerPending = true
        return budgetNanoseconds - since
    }

    private func wakeLocked() {
        if !ready.isEmpty { wake.signal() }
    }

    private func scheduleSignal(after nanoseconds: Int64) {
        (timerLoop ?? Runtime.group.next()).scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
            lock.withLock {
                timerPending = false
                lastSignal = Int64(bitPattern: UInt64(NIODeadline.now().uptimeNanoseconds))
                wakeLocked()
            }
        }
    }

    /// The owners of the members holding events, oldest first; they are no longer marked (a
    /// member that still holds events after its delivery is marked again by `requeue`).
    public func takeReady() -> [AnyObject] {
        lock.withLock {
            guard !closed else { return [] }
            wake.clear()
            let out = ready.compactMap { owners[ObjectIdentifier($0)] }
            ready.removeAll(keepingCapacity: true)
            readySet.removeAll(keepingCapacity: true)
            return out
        }
    }

    /// Marks a member again when events remain after a bounded delivery.
    public func requeue(_ queue: EventQueue) {
        if !queue.isEmpty { markReady(queue) }
    }

    /// Blocks until a member is ready, the group closes, or `milliseconds` pass (<0 = forever).
    /// Returns whether a member is ready.
    public func wait(milliseconds: Int) -> Bool {
        wake.wait(milliseconds: milliseconds) { lock.withLock { wake.isSignaled || closed } } && !isClosed
    }

    /// Ends the group: wakes every waiter; nothing is ready from now on.
    public func close() {
        lock.withLock {
            closed = true
            ready.removeAll()
            readySet.removeAll()
            wake.signal()
        }
    }

    public var isClosed: Bool { lock.withLock { closed } }
}
