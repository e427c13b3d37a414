// When and how often the client reconnects. Plain data: the state machine asks it for delays.

import RTMSProtocol

/// Reconnection and connection-retry settings (the RTMS_* knobs RTMS bot authors already use).
public struct ReconnectPolicy: Sendable, Equatable {
    /// Reconnection attempts after a joined session lost a connection (RTMS_RECONNECT_MAX_ATTEMPTS).
    public var maxAttempts: Int
    /// Base of the exponential backoff between reconnection attempts (RTMS_RECONNECT_BASE_DELAY_MS).
    public var baseDelayMs: Int
    /// Upper bound of one backoff delay.
    public var maxDelayMs: Int
    /// ± this percentage of random jitter on every delay but the first.
    public var jitterPercent: Int
    /// Attempts at the first connection of a join (RTMS_CONNECTION_MAX_ATTEMPTS); the join timeout
    /// still bounds them.
    public var connectMaxAttempts: Int
    /// Pause between those first-connection attempts (RTMS_CONNECTION_RETRY_DELAY_MS).
    public var connectRetryDelayMs: Int
    /// Time one reconnection attempt may take, handshakes included (RTMS_CONNECTION_TIMEOUT_MS).
    public var attemptTimeoutMs: Int

    public init(
        maxAttempts: Int = 5, baseDelayMs: Int = 3000, maxDelayMs: Int = 30_000, jitterPercent: Int = 20,
        connectMaxAttempts: Int = 5, connectRetryDelayMs: Int = 5000, attemptTimeoutMs: Int = 10_000
    ) {
        self.maxAttempts = maxAttempts; self.baseDelayMs = baseDelayMs; self.maxDelayMs = maxDelayMs
        self.jitterPercent = jitterPercent; self.connectMaxAttempts = connectMaxAttempts
        self.connectRetryDelayMs = connectRetryDelayMs; self.attemptTimeoutMs = attemptTimeoutMs
    }

    /// Delay before reconnection attempt `attempt` (1-based): the first at once, then
    /// base · 2^(attempt−2), capped at maxDelayMs, ± jitter. `unit` is a random number in [0, 1).
    public func delay(attempt: Int, unit: Double) -> Int {
        guard attempt > 1 else { return 0 }
        let exp = min(attempt - 2, 20)
        let raw = min(Double(maxDelayMs), Double(baseDelayMs) * Double(1 << exp))
        let j = Double(max(0, min(jitterPercent, 100))) / 100
        let jittered = raw * (1 - j + 2 * j * min(max(unit, 0), 0.999_999))
        return max(0, min(maxDelayMs, Int(jittered)))
    }

    /// Whether a failure with this reason is worth another attempt: transport trouble and
    /// transient server answers are; a refusal (bad signature, unknown stream…) is not.
    public static func isRetryable(_ reason: Int) -> Bool {
        switch reason {
        case ClientReason.timeout, ClientReason.badResponse, ClientReason.livenessTimeout, ClientReason.connectFailed,
            ClientReason.connectionLost, ClientReason.upgradeRefused, ClientReason.closedByServer:
            return true
        case StatusCode.duplicateSignalRequest, StatusCode.internalException:
            return true
        default:
            return false
        }
    }
}
