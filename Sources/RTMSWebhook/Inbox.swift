// Where verified webhooks wait for the application: a bounded queue drained by poll (with the
// same kind of wake fd as a client), and the rtms_started events for streams this process has not
// joined, for "wait for rtms_started". Both ways see every announcement; only the poll queue's
// overflow is a loss: the waitStarted list is bounded like it and pushes its oldest out silently,
// because that announcement has then already left the poll queue too (taken, or counted as dropped
// when the queue overflowed: the list holds the newest `capacity` announcements, the queue the
// newest `capacity` events). Counting it again made an application that only polls (both
// bindings) report a false drop for every new stream from the capacity-th on.

import RTMSClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class WebhookInbox: @unchecked Sendable {
    public enum WaitResult: Sendable {
        case started(WebhookDelivery)
        case timedOut
        case closed
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var events: [WebhookDelivery] = []
    private var eventsHead = 0
    private var started: [WebhookDelivery] = []
    private var closed = false
    private let wake = WakePipe()
    public let capacity: Int
    /// Events dropped because the application did not drain the queue (oldest first).
    public private(set) var dropped = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Readable while events are pending.
    public var wakeFD: Int32 { wake.fd }

    public var pending: Int { locked { events.count - eventsHead } }

    /// Queues a delivery for poll; an rtms_started not routed to a live stream also becomes
    /// available to `waitStarted`. Returns how many old events were dropped to make room.
    @discardableResult
    public func push(_ d: WebhookDelivery) -> Int {
        locked {
            guard !closed else { return 0 }
            var lost = 0
            if events.count - eventsHead >= capacity {
                eventsHead += 1
                lost += 1
            }
            if eventsHead > 256 && eventsHead * 2 > events.count {
                events.removeFirst(eventsHead)
                eventsHead = 0
            }
            events.append(d)
            if d.rtmsKind == "started" && !d.routedToLiveStream {
                if started.count >= capacity { started.removeFirst() }
                started.append(d)
                pthread_cond_broadcast(cond)
            }
            dropped += lost
            wake.signal()
            return lost
        }
    }

    public func take(max: Int) -> [WebhookDelivery] {
        locked {
            let n = Swift.min(max, events.count - eventsHead)
            let out = Array(events[eventsHead..<(eventsHead + n)])
            eventsHead += n
            if eventsHead == events.count {
                events.removeAll(keepingCapacity: true)
                eventsHead = 0
                wake.clear()
            }
            return out
        }
    }

    /// Blocks until events are pending, the inbox closes, or `milliseconds` pass (<0 = forever).
    public func wait(milliseconds: Int) -> Bool {
        wake.wait(milliseconds: milliseconds) { pending > 0 || locked { closed } } && pending > 0
    }

    /// Takes the oldest waiting rtms_started (for `streamID` when given), waiting up to
    /// `milliseconds` (<0 = forever) for one to arrive.
    public func waitStarted(streamID: String?, milliseconds: Int) -> WaitResult {
        var deadline = timespec()
        if milliseconds >= 0 {
            clock_gettime(CLOCK_REALTIME, &deadline)
            let ns = Int(deadline.tv_nsec) + (milliseconds % 1000) * 1_000_000
            deadline.tv_sec += milliseconds / 1000 + ns / 1_000_000_000
            deadline.tv_nsec = .init(ns % 1_000_000_000)
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let d = takeStarted(streamID) { return .started(d) }
            if closed { return .closed }
            if milliseconds < 0 {
                pthread_cond_wait(cond, mutex)
            } else if pthread_cond_timedwait(cond, mutex, &deadline) == ETIMEDOUT {
                return takeStarted(streamID).map { .started($0) } ?? .timedOut
            }
        }
    }

    /// The oldest waiting announcement (of `streamID` when given); the caller holds the mutex.
    private func takeStarted(_ streamID: String?) -> WebhookDelivery? {
        guard let i = started.firstIndex(where: { streamID == nil || $0.streamID == streamID }) else { return nil }
        return started.remove(at: i)
    }

    /// Wakes every waiter; nothing more is queued.
    public func close() {
        locked {
            closed = true
            events.removeAll()
            eventsHead = 0
            started.removeAll()
            pthread_cond_broadcast(cond)
            wake.signal()
        }
    }
}
