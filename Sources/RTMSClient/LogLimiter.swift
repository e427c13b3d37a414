// Log lines a server can provoke (one warning per malformed message) are rate-limited: a hostile
// or broken server must not flood the host's stderr. What is held back is counted and summed up.

/// At most `burst` lines per window of `windowMs`; the rest are suppressed and counted. Pure:
/// time is passed in.
public struct LogLimiter: Sendable {
    public let burst: Int
    public let windowMs: Int64
    private var windowStart: Int64 = .min
    private var inWindow = 0
    private var suppressedInWindow = 0
    /// Lines suppressed since the start.
    public private(set) var suppressed = 0

    public init(burst: Int = 10, windowMs: Int64 = 10_000) {
        self.burst = max(1, burst)
        self.windowMs = max(1, windowMs)
    }

    /// Whether to write a line now; `summary` is how many were held back in the window that just
    /// closed (to be said once, before this line), if any.
    public mutating func allow(nowMs: Int64) -> (log: Bool, summary: Int?) {
        var summary: Int? = nil
        if windowStart == .min || nowMs - windowStart >= windowMs {
            if suppressedInWindow > 0 { summary = suppressedInWindow }
            windowStart = nowMs
            inWindow = 0
            suppressedInWindow = 0
        }
        guard inWindow < burst else {
            suppressedInWindow += 1
            suppressed += 1
            return (false, summary)
        }
        inWindow += 1
        return (true, summary)
    }
}
