// The client engine: one RTMS stream per instance. It runs a ClientSession on one SwiftNIO event
// loop, performs the actions it returns, decodes media on that loop and queues everything for the
// application, which receives it only inside poll() on its own thread.

import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMSProtocol
import RTMSSession
import RTMSTransport

/// Version of the OpenRTMS core.
public enum OpenRTMSVersion {
    public static let major = 0, minor = 1, patch = 0
    public static var string: String { "\(major).\(minor).\(patch)" }
    public static var number: Int { major * 10_000 + minor * 100 + patch }
}

/// The event loops every client shares. Created on first use, alive for the process.
public enum Runtime {
    public static let group = MultiThreadedEventLoopGroup(numberOfThreads: networkThreads(environment: getenvString("RTMS_NETWORK_THREADS")))

    /// How many network threads: RTMS_NETWORK_THREADS (1...64), else half the cores (1...8). The
    /// other half is for the threads that deliver events (rtms_poll, the bindings' loops): with a
    /// network thread per core, the two kinds share cores and every message costs more switching
    /// (bench/RESULTS.md, "Network threads": a quarter to a third of the CPU at 100 streams).
    public static func networkThreads(environment value: String?, cores: Int = System.coreCount) -> Int {
        let byCores = max(1, min(cores / 2, 8))
        guard let value, !value.isEmpty else { return byCores }
        guard let n = Int(value), (1...64).contains(n) else {
            logger.warning("RTMS_NETWORK_THREADS=\(value) is not a number in 1...64: \(byCores) network thread(s)")
            return byCores
        }
        return n
    }
    public static let logger: Logger = {
        var l = Logger(label: "openrtms")
        l.logLevel = logLevelFromEnvironment()
        return l
    }()

    static func logLevelFromEnvironment() -> Logger.Level {
        let v = getenvString("RTMS_LOG_LEVEL") ?? getenvString("ZM_RTMS_LOG_LEVEL") ?? ""
        switch v.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "error": return .error
        case "off", "none", "critical": return .critical
        default: return .warning
        }
    }
}

public func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let s = String(cString: p)
    return s.isEmpty ? nil : s
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// API-level failure: a code from rtms_common.h (RTMS_SDK_*) and readable text.
public struct ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public static let failure = -1, timeout = 1, notExist = 2, wrongType = 3, invalidStatus = 4, invalidArgs = 5
    /// No signature and no client id or secret to compute one (RTMS_SDK_NO_CREDENTIALS).
    public static let noCredentials = 16
    public var code: Int
    public var message: String
    public init(_ code: Int, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}

/// Per-client settings (see rtms_options in openrtms.h).
public struct ClientConfig: Sendable, Equatable {
    public var transport = TransportConfig()
    public var queue = EventQueue.Limits()
    /// How long rtms_poll waits for an event when none is pending (Zoom's poll blocks ~10 ms).
    public var pollWaitMilliseconds = 10
    /// Credentials used to compute the signature when join gets none (else ZM_RTMS_CLIENT/SECRET).
    public var clientID: String?
    public var clientSecret: String?
    /// Sent as `rtms_client_agent` in the signaling handshake.
    public var clientAgent: String? = "openrtms-\(OpenRTMSVersion.string)"
    /// `buffer_data` in the signaling handshake (nil = not sent; the server buffers by default).
    public var bufferData: Bool?
    /// Reconnection and connection retries (RTMS_RECONNECT_*, RTMS_CONNECTION_*).
    public var policy = ReconnectPolicy()
    /// Liveness: ping a connection after this much silence (RTMS_KEEPALIVE_INTERVAL_MS, at least 3000).
    public var keepAliveIntervalMs = 10_000
    /// Liveness: a connection silent this long is dead (RTMS_KEEPALIVE_TIMEOUT_MS); 0 = never.
    public var keepAliveTimeoutMs = 15_000
    /// How long to wait for an rtms_started webhook (RTMS_WEBHOOK_WAIT_TIMEOUT_MS).
    public var webhookWaitTimeoutMs = 300_000
    /// Backpressure: reading stays paused at most this long while the application does not drain
    /// the queue (RTMS_MAX_PAUSE_MS); then reading resumes, so keep-alives are answered and the
    /// server does not drop the stream, and media beyond the queue limit is dropped and counted
    /// (with a warning) until the queue drains. 0 = pause as long as it takes.
    public var maxPauseMs = 10_000

    public init() {}

    /// Defaults, with the RTMS_* environment variables applied.
    public static func fromEnvironment() -> ClientConfig {
        var c = ClientConfig()
        func int(_ name: String) -> Int? { getenvString(name).flatMap { Int($0.trimmingCharacters(in: " ")) } }
        if let v = int("RTMS_CONNECTION_TIMEOUT_MS"), v > 0 {
            c.transport.connectTimeoutMilliseconds = v
            c.policy.attemptTimeoutMs = v
        }
        if let v = int("RTMS_CONNECTION_MAX_ATTEMPTS"), v > 0 { c.policy.connectMaxAttempts = v }
        if let v = int("RTMS_CONNECTION_RETRY_DELAY_MS"), v >= 0 { c.policy.connectRetryDelayMs = v }
        if let v = int("RTMS_RECONNECT_MAX_ATTEMPTS"), v >= 0 { c.policy.maxAttempts = v }
        if let v = int("RTMS_RECONNECT_BASE_DELAY_MS"), v >= 0 { c.policy.baseDelayMs = v }
        if let v = int("RTMS_KEEPALIVE_INTERVAL_MS"), v > 0 { c.keepAliveIntervalMs = max(3000, v) }
        if let v = int("RTMS_KEEPALIVE_TIMEOUT_MS"), v >= 0 { c.keepAliveTimeoutMs = v }
        if let v = int("RTMS_WEBHOOK_WAIT_TIMEOUT_MS"), v > 0 { c.webhookWaitTimeoutMs = v }
        if let v = int("RTMS_MAX_PAUSE_MS"), v >= 0 { c.maxPauseMs = v }
        return c
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

public final class RTMSClient: @unchecked Sendable {
    public let eventLoop: EventLoop
    public let queue: EventQueue
    private let codec: WireCodec = JSONCodec()
    private let logger = Runtime.logger

    // Settings: written by API calls from any thread, read on the loop at join.
    private let lock = NIOLock()
    private var _config = ClientConfig.fromEnvironment()
    private var _mediaTypes = 0
    private var _mediaParams = MediaParams()
    private var _phase: ClientSession.Phase = .idle
    /// join()/leave() calls whose phase change the loop has not applied yet: until then the
    /// session's phase is older than _phase and must not overwrite it.
    private var _pendingPhaseChanges = 0
    private var _rejoining = false
    private var _instanceID = ""
    private var _streamID = ""
    private var _lastError = ""
    /// The current join was confirmed (join-confirm 0), and how it ended: the leave's reason or
    /// the failed join-confirm's (nil while it runs).
    private var _joinConfirmed = false
    private var _endReason: Int?

    // Loop-confined state.
    private var session = ClientSession()
    private var connections: [Int: any MessageConnection] = [:] {
        didSet { let n = connections.count; lock.withLock { _openConnections = n } }
    }
    private var _openConnections = 0
    /// Set for the step of a leave(closeTimeoutMs:) (loop-confined).
    private var closeTimeoutMs: Int?
    private let transport: any MessageTransport = WebSocketTransport()
    /// The connections ready for media, each with the kinds it was opened for (bits of MediaKind).
    private var mediaReady = ReadyConnections()
    private var batch: [ClientEventItem] = []
    private let pollBuffer = NIOLockedValueBox<[ClientEventItem]>([])
    private var timers: [TimerKind: (task: Scheduled<Void>, token: Int)] = [:]
    private var timerToken = 0
    private var readingPaused = false
    /// Media connections draining at a stream's end: they read until the server answers the close,
    /// even while the queue is paused (what the server sent before the end goes beyond the
    /// queue's limit, a bounded tail, rather than being cut off unread at the close timeout).
    private var draining: Set<Int> = []
    private var pauseLimit: Scheduled<Void>?
    private var pauseToken = 0
    private var warningLimiter = LogLimiter()
    private var transportConfig = TransportConfig()

    public init(eventLoop: EventLoop? = nil) {
        self.eventLoop = eventLoop ?? Runtime.group.next()
        self.queue = EventQueue()
    }

    // MARK: Settings

    public var config: ClientConfig {
        get { lock.withLock { _config } }
        set {
            lock.withLock { _config = newValue }
            queue.limits = newValue.queue
        }
    }

    /// Which media to request (MediaMask bits; 32 = one unified connection) and their parameters.
    public func configure(mediaTypes: Int, params: MediaParams?) throws(ClientError) {
        guard mediaTypes >= 0, mediaTypes & ~MediaMask.validBits == 0 else {
            throw ClientError(ClientError.invalidArgs, "media_types \(mediaTypes) has bits outside SDK_AUDIO..SDK_ALL (1..32)")
        }
        if let problem = params?.problem { throw ClientError(ClientError.invalidArgs, problem) }
        lock.withLock {
            _mediaTypes = mediaTypes
            if let params { _mediaParams = params }
        }
    }

    public var mediaTypes: Int { lock.withLock { _mediaTypes } }
    public var phase: ClientSession.Phase { lock.withLock { _phase } }
    /// Joining or joined: holds its stream in the process-wide StreamDirectory.
    public var isLive: Bool { lock.withLock { _phase != .idle && _phase != .ended } }

    /// Connections not closed yet (dialing, open or in their close handshake). After leave() it
    /// falls to 0 when the server has answered every close frame (or the close timeout passed):
    /// from then on the server no longer sees this client (a handover waits for it).
    public var openConnections: Int { lock.withLock { _openConnections } }

    /// The local TCP ports of this client's connections now (diagnostics and tests: which sockets
    /// of the process are this client's). Hops to the client's event loop; not from it.
    public func localPorts() -> [Int] {
        guard !eventLoop.inEventLoop else { return connections.values.compactMap(\.localPort) }
        return (try? eventLoop.submit { self.connections.values.compactMap(\.localPort) }.wait()) ?? []
    }
    /// A joined session is re-establishing its signaling connection (scenario 1 or 2).
    public var isReconnecting: Bool { lock.withLock { _rejoining } }
    public var instanceID: String { lock.withLock { _instanceID } }
    public var streamID: String { lock.withLock { _streamID } }
    /// Text of the last failure reported through join-confirm or leave.
    public var lastFailure: String { lock.withLock { _lastError } }
    /// The current join was confirmed (stays true after the session ends, until the next join).
    public var joinConfirmed: Bool { lock.withLock { _joinConfirmed } }
    /// The reason the session ended with (its leave, or its failed join-confirm); nil while it
    /// runs, and when the application left it.
    public var endReason: Int? { lock.withLock { _endReason } }

    // MARK: Join / leave

    /// A join payload's text (an rtms_started body or its `payload`) read into its join
    /// information; what is wrong with it as an invalidArgs error.
    public static func streamStart(json text: String) throws(ClientError) -> StreamStart {
        do {
            guard let o = try JSON.parse(text).objectValue else { throw ClientError(ClientError.invalidArgs, "the payload is not a JSON object") }
            return try StreamStart(payload: o)
        } catch let e as ClientError {
            throw e
        } catch let e as DecodeError {
            throw ClientError(ClientError.invalidArgs, e.reason)
        } catch {
            throw ClientError(ClientError.invalidArgs, "the payload is not JSON: \(error)")
        }
    }

    /// The checks of a join and its signature, without a client: the ids and URLs must be usable;
    /// the signature is the one given, or computed from the first client id and the first secret
    /// found in `credentials`, in order (a join passes its options, the environment, then what
    /// came with the join: Zoom's wrappers let ZM_RTMS_CLIENT/ZM_RTMS_SECRET override the
    /// client/secret given to join()).
    public static func resolveJoin(
        instanceID: String, streamID: String, signature: String?, serverURLs: String, credentials: [(String?, String?)]
    ) throws(ClientError) -> String {
        guard !instanceID.isEmpty else {
            throw ClientError(ClientError.invalidArgs, "no instance id (meeting_uuid, webinar_uuid, session_id, engagement_id or call_id)")
        }
        guard !streamID.isEmpty else { throw ClientError(ClientError.invalidArgs, "no rtms_stream_id") }
        let urls = JoinParameters.splitURLs(serverURLs)
        guard !urls.isEmpty else { throw ClientError(ClientError.invalidArgs, "no server_urls") }
        var firstError: String? = nil
        let valid = urls.filter { u in
            do { _ = try EndpointURL(parsing: u); return true } catch let e as EndpointURLError { firstError = firstError ?? e.description; return false } catch
            { return false }
        }
        guard !valid.isEmpty else { throw ClientError(ClientError.invalidArgs, firstError ?? "no usable server URL") }
        if let signature, !signature.isEmpty { return signature }
        let (id, secret) = try firstCredentials(credentials)
        return Signatures.handshake(clientID: id, clientSecret: secret, instanceID: instanceID, streamID: streamID)
    }

    /// The first non-empty client id and the first non-empty secret of `credentials`, in order;
    /// `noCredentials` names the one missing.
    public static func firstCredentials(_ credentials: [(String?, String?)]) throws(ClientError) -> (String, String) {
        func first(_ pick: ((String?, String?)) -> String?) -> String? { credentials.lazy.compactMap(pick).first { !$0.isEmpty } }
        guard let id = first({ $0.0 }) else {
            throw ClientError(
                ClientError.noCredentials,
                "Client ID cannot be blank: the signature is computed from a client id (ZM_RTMS_CLIENT, or the one given)")
        }
        guard let secret = first({ $0.1 }) else {
            throw ClientError(
                ClientError.noCredentials,
                "Client Secret cannot be blank: the signature is computed from a client secret (ZM_RTMS_SECRET, or the one given)")
        }
        return (id, secret)
    }

    /// Starts joining. Argument problems throw at once; everything later arrives as events.
    public func join(
        instanceID: String, streamID: String, signature: String?, serverURLs: String,
        timeoutMilliseconds: Int = -1, clientID givenID: String? = nil, clientSecret givenSecret: String? = nil
    ) throws(ClientError) {
        let cfg = config
        let sig = try Self.resolveJoin(
            instanceID: instanceID, streamID: streamID, signature: signature, serverURLs: serverURLs,
            credentials: [(cfg.clientID, cfg.clientSecret), (getenvString("ZM_RTMS_CLIENT"), getenvString("ZM_RTMS_SECRET")), (givenID, givenSecret)])
        let valid = Self.usableURLs(serverURLs)
        let claimed: (Int, MediaParams, ClientSession.Phase, String)? = lock.withLock { () -> (Int, MediaParams, ClientSession.Phase, String)? in
            guard _phase == .idle || _phase == .ended else { return nil }
            let before = (_phase, _streamID)
            _phase = .connectingSignaling
            _pendingPhaseChanges += 1
            _instanceID = instanceID
            _streamID = streamID
            _lastError = ""
            _joinConfirmed = false
            _endReason = nil
            return (_mediaTypes, _mediaParams, before.0, before.1)
        }
        guard let (types, params, phaseBefore, streamBefore) = claimed else {
            throw ClientError(ClientError.invalidStatus, "already joined or joining stream \(self.streamID); leave first")
        }
        // One connection per stream in the process: a second join of a live stream is refused.
        guard StreamDirectory.shared.claim(streamID, for: self) else {
            lock.withLock {
                _phase = phaseBefore
                _pendingPhaseChanges -= 1
                _streamID = streamBefore
            }
            throw ClientError(
                ClientError.invalidStatus,
                "stream \(streamID) is already joined by another handle in this process (one connection per stream); a new rtms_started for a live stream is a server failover, which the core performs on that handle"
            )
        }
        let p = JoinParameters(
            instanceID: instanceID, streamID: streamID, signature: sig, signalingURLs: valid,
            timeoutMilliseconds: timeoutMilliseconds > 0 ? timeoutMilliseconds : 10_000,
            mediaTypes: types, mediaParams: params, clientAgent: cfg.clientAgent,
            bufferData: cfg.bufferData, policy: cfg.policy)
        queue.reopen()
        eventLoop.execute {
            self.transportConfig = cfg.transport
            self.apply(self.session.join(p, nowMs: nowMilliseconds()), completing: true)
        }
    }

    /// Leaves: closes every connection cleanly; nothing more is delivered for this session.
    /// Each connection ends when the server answers the close frame or after `closeTimeoutMs`
    /// (default 2 s; 0: right after the close frame is written, for a caller that must be gone
    /// by a deadline, e.g. a fleet node that lost its lease behind a partition).
    public func leave(closeTimeoutMs: Int? = nil) {
        queue.close()
        let stream: String = lock.withLock {
            if _phase != .idle { _phase = .ended }
            _pendingPhaseChanges += 1
            return _streamID
        }
        StreamDirectory.shared.release(stream, for: self)
        eventLoop.execute {
            self.closeTimeoutMs = closeTimeoutMs
            defer { self.closeTimeoutMs = nil }
            self.apply(self.session.leave(), completing: true)
        }
    }

    public func subscribe(events: [Int], on: Bool) {
        eventLoop.execute { self.apply(self.session.subscribe(events, on)) }
    }

    public func subscribeVideo(userID: Int64, on: Bool) {
        eventLoop.execute { self.apply(self.session.subscribeVideo(userID: userID, on, nowMs: nowMilliseconds())) }
    }

    /// Scenario 1: a new rtms_started for this stream (server failover). The same URLs again are
    /// a duplicate delivery and change nothing.
    public func failover(serverURLs: String) {
        let urls = Self.usableURLs(serverURLs)
        guard !urls.isEmpty else { return }
        eventLoop.execute { self.apply(self.session.serverFailover(signalingURLs: urls, nowMs: nowMilliseconds())) }
    }

    /// Scenario 2 by webhook: rtms_interrupted for this stream. `serverURLs`, when the webhook
    /// carries them, is where the rejoin goes.
    public func interrupted(serverURLs: String? = nil) {
        let urls = serverURLs.map(Self.usableURLs) ?? []
        eventLoop.execute { self.apply(self.session.interrupted(signalingURLs: urls, nowMs: nowMilliseconds())) }
    }

    static func usableURLs(_ list: String) -> [String] {
        JoinParameters.splitURLs(list).filter { (try? EndpointURL(parsing: $0)) != nil }
    }

    /// rtms_stopped for this stream.
    public func stopped(reason: Int) {
        eventLoop.execute { self.apply(self.session.stopped(reason: reason, nowMs: nowMilliseconds())) }
    }

    public func closeStream() throws(ClientError) {
        guard phase == .ready else { throw ClientError(ClientError.invalidStatus, "close stream needs a joined stream") }
        eventLoop.execute { self.apply(self.session.closeStream()) }
    }

    // MARK: Delivery

    /// Delivers queued events on the calling thread. Waits up to `waitMilliseconds` when none is
    /// pending. Stops early when leave or release happens inside a callback.
    @discardableResult
    public func poll(maxEvents: Int = Int.max, waitMilliseconds: Int = 0, _ deliver: (ClientEventItem) -> Void) -> Int {
        if waitMilliseconds != 0 { _ = queue.wait(milliseconds: waitMilliseconds) }
        // The taken events go into a buffer kept between polls (no allocation per poll); a poll
        // running meanwhile on another thread finds it taken and uses one of its own.
        var items = pollBuffer.withLockedValue { b -> [ClientEventItem] in
            defer { b = [] }
            return b
        }
        let (gen, resume, overflowEnded) = queue.take(max: maxEvents, into: &items)
        defer {
            items.removeAll(keepingCapacity: true)
            // Kept only while small: a burst's large buffer goes.
            if items.capacity <= 1024 { pollBuffer.withLockedValue { $0 = items } }
        }
        if resume { eventLoop.execute { self.setReading(true) } }
        if let dropped = overflowEnded {
            // Said after the events that were kept; the next poll delivers it.
            queue.push(
                .control(
                    .warning(
                        code: ClientReason.queueFull,
                        text: "the event queue drained: \(dropped) media messages were dropped while it was full (dropped_queue_full)")))
        }
        var n = 0
        for it in items {
            if n > 0 && queue.currentGeneration != gen { break }
            deliver(it)
            n += 1
        }
        return n
    }

    public var counters: ClientCounters { queue.snapshot }

    // MARK: Performing actions (on the loop)

    /// completing: the step of a join() or leave() call (see _pendingPhaseChanges).
    private func apply(_ actions: [SessionAction], completing: Bool = false) {
        // The phase is final before any event of this step reaches the application.
        let ph = session.phase, rejoining = session.isRejoining
        let (stream, current): (String, Bool) = lock.withLock {
            if completing { _pendingPhaseChanges -= 1 }
            // A join()/leave() still queued behind this step already set _phase (and _streamID):
            // the session's phase here predates it (e.g. a subscribe step queued before join()
            // would reset the join's .connectingSignaling to .idle).
            guard _pendingPhaseChanges == 0 else { return (_streamID, false) }
            if _phase != .ended || ph == .ended { _phase = ph }
            _rejoining = rejoining
            return (_streamID, true)
        }
        if ph == .ended && current { StreamDirectory.shared.release(stream, for: self) }
        for a in actions {
            switch a {
            case .connect(let id, let role, let url):
                do {
                    let u = try EndpointURL(parsing: url)
                    logger.debug("connecting \(role.label) to \(u)")
                    connections[id] = transport.open(u, id: id, config: transportConfig, on: eventLoop, delegate: self)
                } catch {
                    apply(session.connectFailed(id, TransportFailure(.connect, error.description), nowMs: nowMilliseconds()))
                }
            case .send(let id, let message):
                connections[id]?.send(codec.encode(message), text: codec.usesTextFrames)
            case .close(let id, let code, let reason):
                mediaReady[id] = nil
                if let t = closeTimeoutMs {
                    connections[id]?.close(code: code, reason: reason, timeoutMs: t)
                } else {
                    connections[id]?.close(code: code, reason: reason)
                }
            case .drain(let id):
                // Still ready for media: what the server sent before the end is delivered.
                draining.insert(id)
                connections[id]?.setReading(true)
                connections[id]?.drain(code: 1000, reason: "Normal close")
            case .emit(let ev):
                flushBatch()
                note(ev)
                queue.push(.control(ev))
            case .startTimer(let kind, let ms):
                timers[kind]?.task.cancel()
                timerToken += 1
                let token = timerToken
                let task = eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { [weak self] in
                    // A timer cancelled or replaced after NIO took it for this tick must not fire.
                    guard let self, self.timers[kind]?.token == token else { return }
                    self.timers[kind] = nil
                    self.apply(self.session.timerFired(kind, nowMs: nowMilliseconds()))
                }
                timers[kind] = (task, token)
            case .cancelTimer(let kind):
                timers[kind]?.task.cancel()
                timers[kind] = nil
            case .mediaReady(let id, let kinds):
                mediaReady[id] = kinds.reduce(0) { $0 | $1.rawValue }
                if readingPaused { connections[id]?.setReading(false) }
            case .ended:
                flushBatch()
                mediaReady.removeAll()
                draining.removeAll()
                // A pause belongs to its session: the next join starts reading.
                pauseLimit?.cancel()
                pauseLimit = nil
                readingPaused = false
            }
        }
    }

    private func note(_ ev: ClientEvent) {
        switch ev {
        case .joinConfirm(let reason, let text) where reason != 0:
            lock.withLock {
                _lastError = text
                _endReason = reason
            }
            logger.warning("join failed (\(reason)): \(text)")
        case .joinConfirm:
            lock.withLock { _joinConfirmed = true }
        case .leave(let reason, let text):
            lock.withLock {
                _lastError = text
                _endReason = reason
            }
            logger.info("left (\(reason)): \(text)")
        case .warning(_, let text):
            let (log, summary) = warningLimiter.allow(nowMs: Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000))
            if let summary { logger.warning("\(summary) more warnings of stream \(streamID) were not logged in the last \(warningLimiter.windowMs / 1000) s") }
            if log { logger.warning("\(text)") } else { queue.countWarningSuppressed() }
        case .reconnecting(let c, let attempt, let delay, let cause):
            queue.countReconnectAttempt()
            logger.info("reconnecting \(c.label) (attempt \(attempt), in \(delay) ms): \(cause)")
        case .reconnected(let c, let gap):
            queue.countReconnected(signaling: c == .signaling, gapMs: gap)
            logger.info("\(c.label) reconnected after \(gap) ms")
        default:
            break
        }
    }

    private func flushBatch() {
        guard !batch.isEmpty else { return }
        // The queue takes the items (into an empty queue, the whole buffer) and leaves the batch
        // empty with a buffer of its own: no new buffer per read.
        let pause = queue.push(&batch)
        if pause { setReading(false) }
    }

    private func setReading(_ on: Bool) {
        guard readingPaused == on else { return }
        readingPaused = !on
        for id in mediaReady.ids where !draining.contains(id) { connections[id]?.setReading(on) }
        pauseLimit?.cancel()
        pauseLimit = nil
        let limit = config.maxPauseMs
        guard !on, limit > 0 else { return }
        timerToken += 1
        let token = timerToken
        pauseToken = token
        pauseLimit = eventLoop.scheduleTask(in: .milliseconds(Int64(limit))) { [weak self] in
            // Not a timer of an earlier pause that NIO took for this tick before it was cancelled.
            guard let self, self.readingPaused, self.pauseToken == token else { return }
            self.pauseLimit = nil
            // The application stopped draining the queue: keep the connections alive rather
            // than let the server (or our liveness check) drop them with data in flight.
            self.queue.beginOverflow()
            self.queue.push(
                .control(
                    .warning(
                        code: ClientReason.queueFull,
                        text:
                            "the application has not drained the event queue for \(limit) ms: reading resumed so the connections stay alive; media beyond the queue limit is dropped and counted (dropped_queue_full) until it drains"
                    )))
            self.setReading(true)
        }
    }
}

extension RTMSClient: MessageConnectionDelegate {
    public func connectionOpened(_ ws: any MessageConnection) {
        let cfg = config
        ws.startLiveness(pingAfterMs: cfg.keepAliveIntervalMs, deadAfterMs: cfg.keepAliveTimeoutMs)
        apply(session.connected(ws.id, nowMs: nowMilliseconds()))
    }

    public func connectionFailed(_ ws: any MessageConnection, _ failure: TransportFailure) {
        connections[ws.id] = nil
        apply(session.connectFailed(ws.id, failure, nowMs: nowMilliseconds()))
    }

    public func connectionMessage(_ ws: any MessageConnection, _ data: inout ByteBuffer, text: Bool) {
        let message: RTMSMessage
        do {
            message = try data.withUnsafeReadableBytes { raw in try codec.decode(raw) }
        } catch {
            queue.countMalformed()
            let err = error as? DecodeError ?? DecodeError(messageType: nil, reason: "\(error)")
            apply(session.malformed(ws.id, err, nowMs: nowMilliseconds()))
            return
        }
        switch message {
        case .media(let m):
            guard let kinds = mediaReady[ws.id] else {
                queue.countUnexpected()
                return
            }
            guard kinds & m.kind.rawValue != 0 else {
                // Another kind than this connection asked for: never delivered as that kind.
                if queue.countWrongKind() == 1 {
                    apply([
                        .emit(
                            .warning(
                                code: ClientReason.badResponse,
                                text:
                                    "dropped \(m.kind.key) media on a connection opened for other kinds (counted in dropped_unexpected; further ones are counted only)"
                            ))
                    ])
                }
                return
            }
            batch.append(.media(m))
            if batch.count >= 512 { flushBatch() }
        default:
            if case .keepAliveRequest = message { queue.countKeepAlive() }
            apply(session.received(ws.id, message, nowMs: nowMilliseconds()))
        }
    }

    public func connectionReadComplete(_ ws: any MessageConnection) {
        flushBatch()
    }

    public func connectionClosed(_ ws: any MessageConnection, _ info: CloseInfo) {
        connections[ws.id] = nil
        draining.remove(ws.id)
        mediaReady[ws.id] = nil
        flushBatch()
        // Our own close, unanswered, is no news to the session; answered, the code is not the server's.
        // (While the stream is ending, every close counts: the leave waits for the last one.)
        if info.initiatedLocally && info.peerCloseCode == nil && session.phase != .ending { return }
        var info = info
        if info.initiatedLocally { info.peerCloseCode = nil }
        apply(session.closed(ws.id, info, nowMs: nowMilliseconds()))
    }
}
