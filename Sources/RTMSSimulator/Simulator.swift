// The RTMS simulator: Zoom's side on loopback. One HTTP/1.1 port serves the signaling and media
// WebSockets (/signaling, /media/<kind>), a small JSON control API (/meetings, /streams/...) and
// /health. Everything runs on one event loop of its own.

import FoundationEssentials
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import RTMSProtocol
import RTMSSession
import RTMSTransport

public struct SimulatorConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 0
    public var tls = false
    /// PEM certificate chain and key; generated at start when TLS is on and these are nil.
    public var certificatePath: String?
    public var keyPath: String?
    /// Host name used in the URLs the simulator hands out (default: `host`; "localhost" suits
    /// clients that check certificates by DNS name only, such as Zoom's).
    public var urlHost: String?
    public var webhookURL: String?
    public var webhookSecret: String?
    /// A webhook not answered 2xx within 3 s is delivered again, byte for byte, after each of
    /// these delays (Zoom: 5, 20 and 60 minutes; the simulator's default is seconds). [] = never.
    public var webhookRetryDelaysMs: [Int] = [5_000, 20_000, 60_000]
    public var clientID: String?
    public var clientSecret: String?
    public var defaults = MeetingOptions()
    /// Where to write the generated CA certificate (so clients can trust it).
    public var caOutputPath: String?
    public var logger = Logger(label: "rtms-sim")
    /// Opus audio carries the script's tones, encoded with libopus loaded at run time (Opus.swift).
    /// false: Opus's silence frame, as without libopus (tests of that fallback).
    public var opusEncoding = true
    /// An ended stream stays live (its report follows its sockets closing) this long, then only
    /// its final report is kept.
    public var endedStreamLingerMs = 30_000
    /// Final reports kept for report() and the control API; beyond, the oldest is forgotten (a
    /// long soak would otherwise grow by a report, with its sequence lists, per stream).
    public var finishedReportLimit = 2_000

    public init() {}
}

public final class Simulator: @unchecked Sendable {
    public let config: SimulatorConfig
    let group: MultiThreadedEventLoopGroup
    let loop: EventLoop
    private var channel: Channel?
    var streams: [String: SimStream] = [:]
    var finished: [String: JSONValue] = [:]
    /// Stream ids of `finished`, oldest first.
    private var finishedOrder: [String] = []
    private var nextConnID = 1
    /// Request path of every connection (for reports).
    var paths: [Int: String] = [:]
    /// Upgrades are refused (HTTP `refuseStatus`, 503 by default) until this time (chaos).
    var refuseUntilMs: Int64 = 0
    var refuseStatus = 503
    /// The next this-many media upgrades are refused (HTTP 503); read on any loop, so locked.
    private let refuseMediaBox = NIOLockedValueBox(0)
    let webhookStats = NIOLockedValueBox(WebhookStats())
    /// TCP connections open right now (any kind: WebSocket, control API, half-done upgrades).
    private let openSocketsBox = NIOLockedValueBox(0)
    public var openSockets: Int { openSocketsBox.withLockedValue { $0 } }
    /// Random chaos (Chaos.swift), loop-confined.
    var chaosTask: Scheduled<Void>?
    var chaosGeneration = 0
    var chaosEvents: [JSONValue] = []
    private var counter = 0
    /// Paced bench streams and the one ticker that serves them (loop-confined).
    var pacedBench: [(stream: SimStream, size: Int)] = []
    var pacedTicker: RepeatedTask?
    /// Meeting-mix bench streams on that ticker, mixes and video blasts waiting for POST
    /// /bench/start, and what the mix and the video blast sent (Bench.swift).
    var mixBench: [SimStream] = []
    var heldBench: [SimStream] = []
    var benchTotals = BenchTotals()
    public private(set) var port = 0
    public private(set) var generatedTLS: GeneratedTLS?
    private let onStartedLock = NIOLock()
    private var startedHandlers: [@Sendable (JSONValue) -> Void] = []
    private var endedHandlers: [@Sendable (String, Int) -> Void] = []

    public init(config: SimulatorConfig) {
        self.config = config
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
    }

    func log(_ s: String) { config.logger.info("\(s)") }

    var scheme: String { config.tls ? "wss" : "ws" }
    var urlHost: String {
        let h = config.urlHost ?? config.host
        return h.contains(":") ? "[\(h)]" : h
    }
    public var signalingURL: String { "\(scheme)://\(urlHost):\(port)/signaling" }
    public var baseHTTPURL: String { "\(config.tls ? "https" : "http")://\(urlHost):\(port)" }
    func mediaURL(_ key: String) -> String { "\(scheme)://\(urlHost):\(port)/media/\(key)" }

    // MARK: Start / stop

    /// Binds the port (0 = any free one) and returns it.
    @discardableResult
    public func start() throws -> Int {
        var sslContext: NIOSSLContext? = nil
        if config.tls {
            let chain: [NIOSSLCertificate]
            let key: NIOSSLPrivateKey
            if let c = config.certificatePath, let k = config.keyPath {
                chain = try NIOSSLCertificate.fromPEMFile(c)
                key = try NIOSSLPrivateKey(file: k, format: .pem)
            } else {
                let g = try GeneratedTLS.make()
                generatedTLS = g
                chain = try NIOSSLCertificate.fromPEMBytes(Array(g.certificateChainPEM.utf8))
                key = try NIOSSLPrivateKey(bytes: Array(g.privateKeyPEM.utf8), format: .pem)
                if let out = config.caOutputPath { try writeFile(out, g.caPEM) }
            }
            var tc = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            tc.minimumTLSVersion = .tlsv12
            sslContext = try NIOSSLContext(configuration: tc)
        }
        let ssl = sslContext
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] ch in
                openSocketsBox.withLockedValue { $0 += 1 }
                ch.closeFuture.whenComplete { [openSocketsBox] _ in openSocketsBox.withLockedValue { $0 -= 1 } }
                do {
                    if let ssl { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: ssl)) }
                    let control = ControlHTTPHandler(sim: self)
                    let boundControl = NIOLoopBound(control, eventLoop: ch.eventLoop)
                    let refuseStatus = self.refuseStatus
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: 64 << 20, automaticErrorHandling: true,
                        shouldUpgrade: { [self] ch, head in
                            let role = self.role(forPath: head.uri)
                            var refusing = wallMilliseconds() < self.refuseUntilMs
                            if case .media = role, !refusing {
                                refusing = self.refuseMediaBox.withLockedValue { n in
                                    guard n > 0 else { return false }
                                    n -= 1
                                    return true
                                }
                            }
                            // The request goes on to the control handler, which answers the refusal.
                            if refusing { boundControl.value.refuseWith = refuseStatus }
                            return ch.eventLoop.makeSucceededFuture(role == nil || refusing ? nil : HTTPHeaders())
                        },
                        upgradePipelineHandler: { [self] ch, head in
                            ch.eventLoop.makeCompletedFuture {
                                let conn = self.newConnection(path: head.uri)
                                let s = ch.pipeline.syncOperations
                                // The control API handler has no business on a WebSocket.
                                s.removeHandler(boundControl.value, promise: nil)
                                try s.addHandler(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                                        maxAccumulatedFrameSize: 64 << 20))
                                try s.addHandler(WebSocketFrameHandler(connection: conn))
                            }
                        })
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { _ in
                                // The control handler is not needed on a WebSocket.
                            }
                        ))
                    try ch.pipeline.syncOperations.addHandler(control)
                    return ch.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return ch.eventLoop.makeFailedFuture(error)
                }
            }
        let ch = try bootstrap.bind(host: config.host, port: config.port).wait()
        channel = ch
        port = ch.localAddress?.port ?? config.port
        log("listening on \(baseHTTPURL) (signaling \(signalingURL))")
        loop.execute { self.validateWebhookEndpoint() }
        return port
    }

    private var stopped = false

    /// Ends every stream and closes the port. Idempotent.
    public func stop() {
        let first = onStartedLock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? loop.submit {
            self.chaosGeneration += 1
            self.chaosTask?.cancel()
            for s in self.streams.values { s.end(reason: StopReason.exitSignal, note: "simulator stopping") }
        }.wait()
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: Meetings

    /// Creates a stream and announces it (webhook `rtms_started`, started handlers). Returns the
    /// webhook body. Callable from any thread.
    @discardableResult
    public func createMeeting(_ options: MeetingOptions? = nil) -> JSONValue {
        let body = try? loop.submit { self.createMeetingOnLoop(options ?? self.config.defaults) }.wait()
        return body ?? .null
    }

    func createMeetingOnLoop(_ o: MeetingOptions) -> JSONValue {
        counter += 1
        // Stream ids are unique per simulator (its port is mixed in), as Zoom's are: a process may
        // run several simulators, and a client process keeps one connection per stream id.
        let stream = o.streamID ?? hexID(seed: (o.seed &+ UInt64(counter) &* 7919) ^ (UInt64(port) << 40))
        let instance = o.instanceID ?? uuidLike(seed: o.seed &+ UInt64(counter))
        let s = SimStream(sim: self, options: o, streamID: stream, instanceID: instance)
        streams[stream] = s
        let body = startedBody(s)
        announce(body)
        return body
    }

    func startedBody(_ s: SimStream) -> JSONValue {
        .object([
            "event": .string(s.product.startedEvent),
            "event_ts": .int(wallMilliseconds()),
            "payload": .object([
                s.product.idKey: .string(s.instanceID), "operator_id": .string("sim-operator"),
                "rtms_stream_id": .string(s.streamID), "server_urls": .string(signalingURL(s)),
            ]),
        ])
    }

    func signalingURL(_ s: SimStream) -> String { "\(scheme)://\(urlHost):\(port)\(s.signalingPath)" }

    func announce(_ body: JSONValue) {
        if let id = body["payload"]?["rtms_stream_id"]?.stringValue, let s = streams[id], body["event"]?.stringValue == s.product.startedEvent {
            s.announced = body
        }
        let handlers = onStartedLock.withLock { startedHandlers }
        for h in handlers { h(body) }
        postWebhook(body)
    }

    func streamEnded(_ s: SimStream, reason: Int) {
        let body: JSONValue = .object([
            "event": .string(s.product.stoppedEvent),
            "event_ts": .int(wallMilliseconds()),
            "payload": .object([
                s.product.idKey: .string(s.instanceID), "rtms_stream_id": .string(s.streamID),
                "stop_reason": .int(Int64(reason)),
            ]),
        ])
        postWebhook(body)
        let handlers = onStartedLock.withLock { endedHandlers }
        for h in handlers { h(s.streamID, reason) }
        // Keep the final report for tests and the control API (the newest finishedReportLimit).
        loop.scheduleTask(in: .milliseconds(Int64(max(0, config.endedStreamLingerMs)))) { [weak self, weak s] in
            guard let self, let s else { return }
            if self.finished.updateValue(s.report, forKey: s.streamID) == nil { self.finishedOrder.append(s.streamID) }
            if self.streams[s.streamID] === s { self.streams[s.streamID] = nil }
            let excess = self.finishedOrder.count - max(0, self.config.finishedReportLimit)
            if excess > 0 {
                for id in self.finishedOrder.prefix(excess) { self.finished[id] = nil }
                self.finishedOrder.removeFirst(excess)
            }
        }
    }

    /// Called with every rtms_started body (on the simulator's loop).
    public func onStarted(_ f: @escaping @Sendable (JSONValue) -> Void) { onStartedLock.withLock { startedHandlers.append(f) } }
    /// Called with (stream id, stop reason) when a stream ends.
    public func onEnded(_ f: @escaping @Sendable (String, Int) -> Void) { onStartedLock.withLock { endedHandlers.append(f) } }

    /// The report of a stream: what was sent, connections, state.
    public func report(_ streamID: String) -> JSONValue? {
        try? loop.submit { self.streams[streamID]?.report ?? self.finished[streamID] }.wait()
    }

    /// Ends a stream as Zoom would (session stopped, stream terminated, rtms_stopped).
    public func stopStream(_ streamID: String, reason: Int = StopReason.meetingEnded) {
        loop.execute { self.streams[streamID]?.end(reason: reason, note: "stopped through the control API") }
    }

    /// Sends raw text on a connection of a stream: "signaling", a media key ("audio"…) or "all".
    @discardableResult
    public func inject(_ streamID: String, connection: String, raw: String, binary: Bool = false) -> Bool {
        onConnection(streamID, connection) { $0.send(Array(raw.utf8), text: !binary) }
    }

    /// Sends one frame exactly as given (RSV1, any opcode 0...15, any bytes): hostile servers.
    @discardableResult
    public func injectFrame(
        _ streamID: String, connection: String, opcode: UInt8, rsv1: Bool = false, masked: Bool = false,
        payload: [UInt8]
    ) -> Bool {
        onConnection(streamID, connection) { $0.sendRawFrame(rsv1: rsv1, masked: masked, opcode: opcode, payload: payload) }
    }

    private func onConnection(_ streamID: String, _ connection: String, _ body: @escaping (WebSocketConnection) -> Void) -> Bool {
        (try? loop.submit { () -> Bool in
            guard let conn = self.streams[streamID]?.connection(named: connection) else { return false }
            body(conn)
            return true
        }.wait()) ?? false
    }

    // MARK: Chaos

    public enum ChaosAction: Sendable, Equatable {
        /// "abort", "close" (with `code`), "freeze" or "mute".
        public static func named(_ name: String, code: Int = 1011) -> ChaosAction? {
            switch name {
            case "abort": .abort
            case "close": .close(code: code)
            case "freeze": .freeze
            case "mute": .muteKeepAlives
            default: nil
            }
        }

        /// End the TCP connection without a close frame.
        case abort
        /// Send a close frame with this code.
        case close(code: Int)
        /// Stop reading and sending on the connection (a hung peer): no answers, no pongs, no data.
        case freeze
        /// Stop sending keep-alive requests on the connection (everything else goes on).
        case muteKeepAlives
    }

    /// Applies `action` to a stream's connection: "signaling", a media key ("audio"…), "all" (the
    /// unified media connection) or "media" (every media connection). Returns how many it hit.
    @discardableResult
    public func chaos(_ streamID: String, connection: String, _ action: ChaosAction) -> Int {
        (try? loop.submit { self.streams[streamID]?.chaos(connection, action) ?? 0 }.wait()) ?? 0
    }

    /// Refuses every WebSocket upgrade for the next `milliseconds`, with HTTP `status` (503 by
    /// default; a 3xx carries a Location header).
    public func refuseConnections(milliseconds: Int, status: Int = 503) {
        loop.execute {
            self.refuseUntilMs = wallMilliseconds() + Int64(milliseconds)
            self.refuseStatus = status
        }
    }

    /// Refuses the next `count` media WebSocket upgrades (HTTP 503); signaling is unaffected.
    public func refuseMediaConnections(count: Int) {
        refuseMediaBox.withLockedValue { $0 = max(0, count) }
    }

    /// Server failover: the stream's connections drop and it is announced again (rtms_started)
    /// with a new signaling URL, or with `signalingPath` (a server the stream used before, e.g.
    /// "/signaling", the first one). Returns the new webhook body.
    @discardableResult
    public func failover(_ streamID: String, signalingPath: String? = nil) -> JSONValue? {
        try? loop.submit { () -> JSONValue? in
            guard let s = self.streams[streamID] else { return nil }
            s.failover(to: signalingPath)
            let body = self.startedBody(s)
            self.announce(body)
            return body
        }.wait()
    }

    /// Zoom's retry of a webhook it believes failed: the stream's last rtms_started again, byte for byte.
    @discardableResult
    public func redeliver(_ streamID: String) -> JSONValue? {
        try? loop.submit { () -> JSONValue? in
            guard let s = self.streams[streamID] else { return nil }
            let body = s.announced ?? self.startedBody(s)
            self.announce(body)
            return body
        }.wait()
    }

    /// Signaling interruption as Zoom's service does it: connections drop, rtms_interrupted is
    /// posted. With `signalingPath` the stream moves there and the webhook names it in server_urls.
    public func interrupt(_ streamID: String, signalingPath: String? = nil) {
        loop.execute {
            guard let s = self.streams[streamID], let sig = s.signaling else { return }
            s.keepAliveMissed(sig, movingTo: signalingPath)
        }
    }

    /// Running streams in a stable order (loop only).
    func runningStreams() -> [SimStream] {
        streams.keys.sorted().compactMap { streams[$0] }.filter { $0.state == .running }
    }

    public var streamIDs: [String] { (try? loop.submit { Array(self.streams.keys) }.wait()) ?? [] }

    // MARK: Connections

    enum PathRole: Equatable { case signaling, media(String) }

    func role(forPath uri: String) -> PathRole? {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        if path == "/signaling" || path.hasPrefix("/signaling/") { return .signaling }
        if path.hasPrefix("/media/") {
            let key = String(path.dropFirst("/media/".count))
            if key == "all" || MediaKind(key: key) != nil { return .media(key) }
        }
        return nil
    }

    func newConnection(path: String) -> WebSocketConnection {
        let id = nextConnID
        nextConnID += 1
        paths[id] = path
        let router = ConnectionRouter(sim: self, role: role(forPath: path) ?? .signaling)
        let conn = WebSocketConnection(id: id, eventLoop: loop, isClient: false, delegate: router)
        router.retain = router
        return conn
    }

    func handle(_ conn: WebSocketConnection, role: PathRole, message: RTMSMessage, router: ConnectionRouter) {
        switch message {
        case .signalingHandshakeRequest(let r):
            guard role == .signaling else { return }
            guard let s = streams[r.streamID] else {
                conn.send(
                    JSONCodec().encode(
                        .signalingHandshakeResponse(
                            SignalingHandshakeResponse(
                                sequence: r.sequence, statusCode: StatusCode.invalidStreamID, reason: "unknown rtms_stream_id"))), text: true)
                return
            }
            router.stream = s
            s.signalingHandshake(conn, r)
        case .dataHandshakeRequest(let r):
            guard case .media = role else { return }
            guard let s = streams[r.streamID] else {
                conn.send(
                    JSONCodec().encode(
                        .dataHandshakeResponse(
                            DataHandshakeResponse(
                                sequence: r.sequence, statusCode: StatusCode.invalidStreamID, reason: "unknown rtms_stream_id"))), text: true)
                return
            }
            router.stream = s
            s.dataHandshake(conn, r)
        default:
            router.stream?.received(conn, message)
        }
    }

    // MARK: Webhooks

    /// Posts a webhook; one not answered 2xx within 3 s is retried as Zoom does (the same body,
    /// a fresh timestamp and signature) after each of `webhookRetryDelaysMs`, unless `retry` is off
    /// (the URL validation challenge). `onResponse` hears the first attempt only.
    func postWebhook(_ body: JSONValue, retry: Bool = true, onResponse: (@Sendable (Int, [UInt8]) -> Void)? = nil) {
        guard config.webhookURL != nil else { return }
        deliver(
            JSON.serialize(body), event: body["event"]?.stringValue ?? "?", trackingID: "sim-\(wallMilliseconds())-\(nextConnID)",
            attempt: 0, retry: retry, onResponse: onResponse)
    }

    private func deliver(
        _ bytes: [UInt8], event: String, trackingID: String, attempt: Int, retry: Bool,
        onResponse: (@Sendable (Int, [UInt8]) -> Void)?
    ) {
        guard let url = config.webhookURL else { return }
        var headers: [(String, String)] = [
            ("Content-Type", "application/json; charset=utf-8"), ("User-Agent", "Zoom Marketplace/1.0a"),
            ("x-zm-trackingid", trackingID),
        ]
        if let secret = config.webhookSecret {
            let ts = String(wallMilliseconds() / 1000)
            headers.append(("x-zm-request-timestamp", ts))
            headers.append(("x-zm-signature", Signatures.webhook(secretToken: secret, timestamp: ts, body: bytes)))
        }
        let logger = config.logger
        let delays = retry ? config.webhookRetryDelaysMs : []
        webhookStats.withLockedValue {
            $0.attempts += 1; if attempt > 0 { $0.retries += 1 }
        }
        WebhookPoster.post(url: url, body: bytes, headers: headers, on: loop).whenComplete { [self] r in
            var status = 0
            switch r {
            case .success(let resp):
                status = resp.status
                logger.info("webhook \(event) → HTTP \(resp.status)\(attempt > 0 ? " (retry \(attempt))" : "")")
                if attempt == 0 { onResponse?(resp.status, resp.body) }
            case .failure(let e):
                logger.warning("webhook \(event) to \(url) failed: \(e)\(attempt > 0 ? " (retry \(attempt))" : "")")
                if attempt == 0 { onResponse?(0, []) }
            }
            guard !(200..<300).contains(status) else { return }
            guard attempt < delays.count else {
                webhookStats.withLockedValue { $0.abandoned += 1 }
                return
            }
            loop.scheduleTask(in: .milliseconds(Int64(delays[attempt]))) { [weak self] in
                self?.deliver(bytes, event: event, trackingID: trackingID, attempt: attempt + 1, retry: retry, onResponse: nil)
            }
        }
    }

    /// Webhook deliveries so far: attempts (retries included), retries, and deliveries given up
    /// after the last retry.
    public struct WebhookStats: Sendable, Equatable { public var attempts = 0, retries = 0, abandoned = 0 }
    public var webhookDeliveries: WebhookStats { webhookStats.withLockedValue { $0 } }

    /// Result of the endpoint.url_validation challenge sent at start (nil: not sent or pending).
    public var webhookValidated: Bool? { (try? loop.submit { self.validated }.wait()) ?? nil }
    var validated: Bool?

    /// Sends Zoom's endpoint.url_validation challenge and checks the answer's encryptedToken.
    func validateWebhookEndpoint() {
        guard config.webhookURL != nil, let secret = config.webhookSecret else { return }
        var r = SeededRandom(seed: UInt64(wallMilliseconds()))
        let plain = Base64Codec.encode((0..<16).map { _ in UInt8(truncatingIfNeeded: r.next()) })
        let body: JSONValue = .object([
            "event": .string("endpoint.url_validation"), "event_ts": .int(wallMilliseconds()),
            "payload": .object(["plainToken": .string(plain)]),
        ])
        postWebhook(body, retry: false) { [self] status, bytes in
            let answer = (try? JSON.parse(bytes))
            let ok =
                status == 200 && answer?["plainToken"]?.stringValue == plain
                && answer?["encryptedToken"]?.stringValue == Signatures.urlValidation(secretToken: secret, plainToken: plain)
            loop.execute { self.validated = ok }
            if !ok { config.logger.warning("webhook endpoint failed URL validation (HTTP \(status))") }
        }
    }

    func hexID(seed: UInt64) -> String {
        var r = SeededRandom(seed: seed)
        return String(format32hex(r.next(), r.next()))
    }
    func uuidLike(seed: UInt64) -> String {
        var r = SeededRandom(seed: seed ^ 0xABCDEF)
        let bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: r.next()) }
        return Base64Codec.encode(bytes)
    }
}

func format32hex(_ a: UInt64, _ b: UInt64) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for v in [a, b] {
        for i in stride(from: 60, through: 0, by: -4) { s.append(digits[Int((v >> UInt64(i)) & 15)]) }
    }
    return s
}

/// Writes `text` to `path` atomically (a temporary file renamed over it), so a reader that
/// polls for the file never sees half of it.
func writeFile(_ path: String, _ text: String) throws {
    let tmp = "\(path).tmp-\(getpid())"
    guard let f = fopen(tmp, "w") else { throw SimulatorError("cannot write \(tmp)") }
    let ok = text.withCString { fputs($0, f) } >= 0
    guard fclose(f) == 0, ok, rename(tmp, path) == 0 else {
        unlink(tmp)
        throw SimulatorError("cannot write \(path)")
    }
}

public struct SimulatorError: Error, CustomStringConvertible {
    public let description: String
    init(_ s: String) { description = s }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Routes one server-side WebSocket to its stream.
final class ConnectionRouter: MessageConnectionDelegate {
    unowned let sim: Simulator
    let role: Simulator.PathRole
    weak var stream: SimStream?
    /// Keeps the router alive as long as its connection (the connection's delegate is weak).
    var retain: ConnectionRouter?
    let codec = JSONCodec()

    init(sim: Simulator, role: Simulator.PathRole) { self.sim = sim; self.role = role }

    func connectionOpened(_ c: any MessageConnection) {}
    func connectionFailed(_ c: any MessageConnection, _ failure: TransportFailure) { retain = nil }

    func connectionMessage(_ c: any MessageConnection, _ data: inout ByteBuffer, text: Bool) {
        guard let ws = c as? WebSocketConnection else { return }
        let decoded: Result<RTMSMessage, DecodeError> = data.withUnsafeReadableBytes { raw in
            do { return .success(try codec.decode(raw)) } catch let e as DecodeError { return .failure(e) } catch {
                return .failure(DecodeError(messageType: nil, reason: "\(error)"))
            }
        }
        switch decoded {
        case .success(let m): sim.handle(ws, role: role, message: m, router: self)
        case .failure(let e): sim.log("dropped a client message: \(e)")
        }
    }

    func connectionClosed(_ c: any MessageConnection, _ info: CloseInfo) {
        if let ws = c as? WebSocketConnection { stream?.connectionClosed(ws, byServer: info.initiatedLocally) }
        retain = nil
    }
}
