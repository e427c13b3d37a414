// Small concurrency pieces of the fleet: a wake-up for an async loop, and a monotonic clock.

import NIOConcurrencyHelpers
import NIOCore

/// Wakes one async waiter; a signal with nobody waiting is kept for the next wait (once).
final class AsyncSignal: @unchecked Sendable {
    private let lock = NIOLock()
    private var pending = false
    private var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
    private var nextID: UInt64 = 0

    func signal() {
        let c: CheckedContinuation<Void, Never>? = lock.withLock {
            if let w = waiter {
                waiter = nil
                return w.continuation
            }
            pending = true
            return nil
        }
        c?.resume()
    }

    /// Returns when signalled, or after `milliseconds` (at once when <= 0, consuming a pending signal).
    func wait(milliseconds: Int) async {
        if milliseconds <= 0 {
            lock.withLock { pending = false }
            return
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let (now, id): (Bool, UInt64) = lock.withLock {
                if pending {
                    pending = false
                    return (true, 0)
                }
                nextID += 1
                waiter = (nextID, c)
                return (false, nextID)
            }
            if now {
                c.resume()
                return
            }
            Task {
                try? await Task.sleep(for: .milliseconds(milliseconds))
                let w: CheckedContinuation<Void, Never>? = self.lock.withLock {
                    guard let w = self.waiter, w.id == id else { return nil }
                    self.waiter = nil
                    return w.continuation
                }
                w?.resume()
            }
        }
    }
}

/// Milliseconds of a clock that never jumps (CLOCK_MONOTONIC): leases are measured on it locally.
func monotonicMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

func sleepMs(_ ms: Int) async {
    try? await Task.sleep(for: .milliseconds(max(0, ms)))
}
