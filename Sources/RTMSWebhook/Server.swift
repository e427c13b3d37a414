// The webhook intake's HTTP/1.1 server on SwiftNIO (HTTPS and mutual TLS when configured). It
// answers first and works after: the reply is flushed, then the endpoint routes the event to the
// live client of its stream (failover, rejoin, end) and queues it for the application.
//
// It survives clients that do not play along: a request head must arrive within
// headerTimeoutMs, its body within bodyTimeoutMs, a kept-alive connection without a request is
// closed after idleTimeoutMs; at most maxConnections are open, and a new connection at the cap
// closes the oldest idle one (else the oldest still sending its request), so a real request
// always finds room; accept() failing for lack of descriptors (EMFILE, ENFILE) closes idle
// connections and pauses accepting briefly instead of spinning. Everything cut is counted.
//
// An embedder may answer a GET with a response that stays open (WebhookServerHooks.streamRequest:
// the live view's Server-Sent Events): that connection leaves the deadlines and the eviction, and
// its body is pushed from any thread through a bounded buffer that drops (and counts) rather than
// waits.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RTMSClient
import RTMSProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct WebhookServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// What an embedder adds to the server (the fleet's `rtms serve`): answers to requests that are
/// not webhooks, and its own handling of each accepted delivery before the answer.
public struct WebhookServerHooks: Sendable {
    /// Asked for every request that is not a POST to the webhook path, e.g. `GET /healthz`: the
    /// answer and its content type, or nil for the usual 404.
    public var otherRequest: (@Sendable (_ method: String, _ uri: String) -> (reply: WebhookReply, contentType: String)?)?
    /// Takes each verified, first-time delivery *before* it is answered (to store it durably, say):
    /// its reply is sent instead of the endpoint's 200, and the endpoint's routing and queueing
    /// are skipped (the hook owns the delivery). The future may complete on any event loop; a
    /// failed future is answered 503. A hook that can fail wants the endpoint's in-memory dedupe
    /// off (`dedupeCapacity = 0`): a delivery answered 503 must not be remembered as seen.
    public var deliver: (@Sendable (WebhookDelivery, EventLoop) -> EventLoopFuture<WebhookReply>)?
    /// Asked first for every GET (never for a webhook POST): a response that stays open, e.g.
    /// Server-Sent Events (`rtms record --live`). The server answers 200 with the content type and
    /// no length, takes the connection out of its deadlines and eviction, and hands `start` a
    /// writer that any thread may push to until either side closes. nil: asked no further.
    public var streamRequest: (@Sendable (_ method: String, _ uri: String) -> WebhookStreamAnswer?)?
    public init() {}
}

/// How a streamed response starts (`WebhookServerHooks.streamRequest`).
public struct WebhookStreamAnswer: Sendable {
    public var contentType: String
    /// Bytes pushed but not yet written to the socket, at most: a push past it is dropped and
    /// counted, so a slow reader never blocks the pusher nor grows memory without limit.
    public var bufferLimitBytes: Int
    /// Called on the connection's event loop once the head is on its way.
    public var start: @Sendable (WebhookStreamWriter) -> Void
    public init(contentType: String, bufferLimitBytes: Int = 1 << 20, start: @escaping @Sendable (WebhookStreamWriter) -> Void) {
        self.contentType = contentType
        self.bufferLimitBytes = bufferLimitBytes
        self.start = start
    }
}

/// The body of a streamed response. `send` never blocks: it queues the bytes on the connection's
/// event loop, or drops them (counted) when the bytes not yet written would pass the limit.
public final class WebhookStreamWriter: @unchecked Sendable {
    private let channel: Channel
    public let bufferLimitBytes: Int
    private let lock = NIOLock()
    private var pending = 0
    private var closed = false
    private var sentCount = 0
    private var droppedCount = 0

    init(channel: Channel, bufferLimitBytes: Int) {
        self.channel = channel
        self.bufferLimitBytes = max(1, bufferLimitBytes)
        channel.closeFuture.whenComplete { [weak self] _ in self?.markClosed() }
    }

    private func markClosed() { lock.withLock { closed = true } }

    /// Queues `bytes`; false when the connection is closed or they were dropped (`dropped`).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        let n = bytes.count
        let ok: Bool = lock.withLock {
            if closed { return false }
            if pending + n > bufferLimitBytes {
                droppedCount += 1
                return false
            }
            pending += n
            sentCount += 1
            return true
        }
        guard ok else { return false }
        var buf = channel.allocator.buffer(capacity: n)
        buf.writeBytes(bytes)
        // Written or failed (the connection went away): either way the bytes are no longer held.
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buf))).whenComplete { _ in
            self.lock.withLock { self.pending -= n }
        }
        return true
    }

    /// Pushes accepted (queued) so far.
    public var sent: Int { lock.withLock { sentCount } }
    /// Pushes dropped because the reader was too slow.
    public var dropped: Int { lock.withLock { droppedCount } }
    /// Bytes queued and not yet written.
    public var pendingBytes: Int { lock.withLock { pending } }
    public var isClosed: Bool { lock.withLock { closed } }

    /// Ends the response and closes the connection.
    public func close() {
        let channel = self.channel
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
    }
}

public final class WebhookServer: @unchecked Sendable {
    /// The decisions and the queue; shared with rtms_webhook_handle().
    public let endpoint: WebhookEndpoint
    public var settings: WebhookSettings { endpoint.settings }
    public var inbox: WebhookInbox { endpoint.inbox }
    let connections: ConnectionTable
    private let lock = NIOLock()
    private var channel: Channel?
    private var stopped = false

    /// Starts listening. Throws with readable text when the address is taken or TLS files are bad.
    /// `router`: set by tests and embedders that route differently; default: the StreamDirectory.
    public convenience init(
        settings: WebhookSettings, group: EventLoopGroup = Runtime.group,
        router: (@Sendable (JSONObject) -> Bool)? = nil
    ) throws {
        try self.init(endpoint: WebhookEndpoint(settings: settings, router: router), group: group)
    }

    /// Listens for `endpoint` (which it stops when it stops).
    public init(endpoint: WebhookEndpoint, group: EventLoopGroup = Runtime.group, hooks: WebhookServerHooks = WebhookServerHooks()) throws {
        let settings = endpoint.settings
        self.endpoint = endpoint
        self.connections = ConnectionTable(limit: settings.maxConnections)
        guard settings.path.hasPrefix("/") else { throw WebhookServerError("webhook path '\(settings.path)' must start with /") }
        guard (0...65535).contains(settings.port) else { throw WebhookServerError("webhook port \(settings.port) is not 0...65535") }
        guard settings.maxBodyBytes > 0 else { throw WebhookServerError("webhook body limit must be positive") }
        guard settings.maxConnections > 0 else { throw WebhookServerError("webhook connection limit must be positive") }
        guard settings.headerTimeoutMs >= 0, settings.bodyTimeoutMs >= 0, settings.idleTimeoutMs >= 0 else {
            throw WebhookServerError("webhook timeouts must be >= 0 (0 = no limit)")
        }
        let ssl = try Self.tlsContext(settings)
        let table = connections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    // NIO's classic bind does not add this: without it, accept() failing with
                    // EMFILE is retried at once, forever (a busy loop that accepts nothing).
                    try ch.pipeline.syncOperations.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { table.acceptFailed($0) })
                }
            }
            .childChannelInitializer { [weak self] ch in
                ch.eventLoop.makeCompletedFuture {
                    guard let self else { throw WebhookServerError("webhook server stopped") }
                    guard let id = table.admit(ch) else {
                        // At the cap with every connection being answered: 503 (plain HTTP), close.
                        guard ssl == nil else { throw WebhookServerError("too many connections") }
                        try ch.pipeline.syncOperations.addHandler(RefuseHandler())
                        return
                    }
                    // However the connection ends (even if this initializer fails below).
                    ch.closeFuture.whenComplete { _ in table.remove(id) }
                    let conn = WebhookConnection(id: id, channel: ch, table: table, settings: settings)
                    if let ssl { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: ssl)) }
                    try ch.pipeline.syncOperations.addHandler(ConnectionGuard(conn))
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try ch.pipeline.syncOperations.addHandler(WebhookHTTPHandler(endpoint: self.endpoint, connection: conn, hooks: hooks))
                }
            }
        do {
            channel = try bootstrap.bind(host: settings.host, port: settings.port).wait()
        } catch {
            throw WebhookServerError("cannot listen on \(settings.host):\(settings.port): \(error)")
        }
    }

    static func tlsContext(_ s: WebhookSettings) throws -> NIOSSLContext? {
        switch (s.certificatePath, s.keyPath) {
        case (nil, nil):
            guard s.clientCAPath == nil else { throw WebhookServerError("ZM_RTMS_CA_WEBHOOK needs HTTPS: set ZM_RTMS_CERT and ZM_RTMS_KEY too") }
            return nil
        case (.some(let cert), .some(let key)):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert)
                guard !chain.isEmpty else { throw WebhookServerError("no certificate in \(cert)") }
                var tc = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                tc.minimumTLSVersion = .tlsv12
                if let ca = s.clientCAPath {
                    tc.certificateVerification = .noHostnameVerification
                    tc.trustRoots = .file(ca)
                }
                return try NIOSSLContext(configuration: tc)
            } catch let e as WebhookServerError {
                throw e
            } catch {
                throw WebhookServerError("webhook TLS setup failed (certificate \(cert), key \(key)): \(error)")
            }
        default:
            throw WebhookServerError("HTTPS needs both a certificate and a key (ZM_RTMS_CERT and ZM_RTMS_KEY); only one is set")
        }
    }

    /// The bound port (useful with port 0).
    public var port: Int { lock.withLock { channel?.localAddress?.port ?? 0 } }

    /// The endpoint's decision counters and this server's connection counters.
    public var counters: WebhookCounters {
        var c = endpoint.counters
        connections.addCounters(to: &c)
        return c
    }

    public var isStopped: Bool { lock.withLock { stopped } }

    /// Stops listening, closes every connection and the endpoint (inbox waiters return). Idempotent.
    public func stop() {
        let ch: Channel? = lock.withLock {
            guard !stopped else { return nil }
            stopped = true
            return channel
        }
        endpoint.stop()
        try? ch?.close().wait()
        connections.closeAll()
    }
}

// MARK: - Connections

/// What a connection is doing, in the order connections are given up at the cap.
enum ConnectionPhase: Int, Sendable {
    /// Waiting for a request (new, or kept alive after an answer).
    case idle = 0
    /// A request head is arriving.
    case head = 1
    /// A request body is arriving.
    case body = 2
    /// The request is complete and being answered: never evicted.
    case answering = 3
}

/// Every open connection of a server, across event loops: the cap, eviction, the counters.
final class ConnectionTable: @unchecked Sendable {
    private struct Entry {
        let channel: Channel
        var phase: ConnectionPhase
        /// When it entered its phase (monotonic ns); the oldest is given up first.
        var since: UInt64
    }
    private let lock = NIOLock()
    private var entries: [UInt64: Entry] = [:]
    private var nextID: UInt64 = 0
    private var closing = false
    private var accepted = 0, headerTimeouts = 0, bodyTimeouts = 0, idleTimeouts = 0, evicted = 0, refused = 0, acceptErrors = 0
    let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    /// A new connection: its id, or nil when it must be refused. At the cap, the oldest idle
    /// connection (else the oldest still sending a head, else a body) is closed to make room.
    func admit(_ ch: Channel) -> UInt64? {
        let (id, victims): (UInt64?, [Channel]) = lock.withLock {
            accepted += 1
            if closing { return (nil, []) }
            var victims: [Channel] = []
            if entries.count >= limit {
                victims = evictLocked(entries.count - limit + 1)
                if entries.count >= limit {
                    refused += 1
                    return (nil, victims)
                }
            }
            nextID += 1
            entries[nextID] = Entry(channel: ch, phase: .idle, since: monotonicNs())
            return (nextID, victims)
        }
        for v in victims { v.close(promise: nil) }
        return id
    }

    /// Removes up to `n` connections in eviction order and counts them; the caller closes them.
    private func evictLocked(_ n: Int) -> [Channel] {
        var out: [Channel] = []
        for _ in 0..<n {
            var best: (id: UInt64, rank: Int, since: UInt64)? = nil
            for (id, e) in entries where e.phase != .answering {
                let r = e.phase.rawValue
                if best == nil || r < best!.rank || (r == best!.rank && e.since < best!.since) { best = (id, r, e.since) }
            }
            guard let b = best, let e = entries.removeValue(forKey: b.id) else { break }
            evicted += 1
            out.append(e.channel)
        }
        return out
    }

    func set(_ id: UInt64, _ phase: ConnectionPhase) {
        lock.withLock {
            guard entries[id] != nil else { return }
            entries[id]!.phase = phase
            entries[id]!.since = monotonicNs()
        }
    }

    func remove(_ id: UInt64) { lock.withLock { _ = entries.removeValue(forKey: id) } }

    /// A deadline passed in `phase`; false when the connection was already given up.
    func timedOut(_ id: UInt64, in phase: ConnectionPhase) -> Bool {
        lock.withLock {
            guard entries.removeValue(forKey: id) != nil else { return false }
            switch phase {
            case .idle: idleTimeouts += 1
            case .head: headerTimeouts += 1
            case .body, .answering: bodyTimeouts += 1
            }
            return true
        }
    }

    /// AcceptBackoffHandler's question after accept() failed: how long to wait before accepting again.
    func acceptFailed(_ error: IOError) -> TimeAmount? {
        switch error.errnoCode {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            // Out of descriptors (or memory): free some by closing the oldest idle connections,
            // then try again soon; with nothing to close, wait longer. Never spin.
            let victims: [Channel] = lock.withLock {
                acceptErrors += 1
                return evictLocked(min(8, entries.count))
            }
            for v in victims { v.close(promise: nil) }
            return .milliseconds(victims.isEmpty ? 200 : 10)
        default:
            // ECONNABORTED and the like concern one connection only.
            return nil
        }
    }

    func closeAll() {
        let all: [Channel] = lock.withLock {
            closing = true
            defer { entries.removeAll() }
            return entries.values.map(\.channel)
        }
        for ch in all { ch.close(promise: nil) }
    }

    func addCounters(to c: inout WebhookCounters) {
        lock.withLock {
            c.connectionsAccepted = accepted
            c.connectionsOpen = entries.count
            c.headerTimeouts = headerTimeouts
            c.bodyTimeouts = bodyTimeouts
            c.idleTimeouts = idleTimeouts
            c.evicted = evicted
            c.refused = refused
            c.acceptErrors = acceptErrors
        }
    }
}

private func monotonicNs() -> UInt64 { UInt64(NIODeadline.now().uptimeNanoseconds) }

/// One connection's phase and deadline. Used only on the channel's event loop.
final class WebhookConnection: @unchecked Sendable {
    let id: UInt64
    private let channel: Channel
    private let table: ConnectionTable
    private let settings: WebhookSettings
    private var phase = ConnectionPhase.idle
    /// No request has been answered yet: the first head's deadline runs from the connection's start.
    private var fresh = true
    private var bytesWhileAnswering = false
    private var timer: Scheduled<Void>?
    private var done = false

    init(id: UInt64, channel: Channel, table: ConnectionTable, settings: WebhookSettings) {
        self.id = id
        self.channel = channel
        self.table = table
        self.settings = settings
    }

    func started() { arm(settings.headerTimeoutMs) }

    /// Bytes arrived (decrypted, before HTTP parsing).
    func bytesArrived() {
        switch phase {
        case .idle:
            enter(.head)
            // A kept-alive connection's next request: its head has the header timeout from now.
            if !fresh { arm(settings.headerTimeoutMs) }
        case .answering:
            bytesWhileAnswering = true
        case .head, .body:
            break
        }
    }

    func headReceived() {
        enter(.body)
        arm(settings.bodyTimeoutMs)
    }

    func requestEnded() {
        enter(.answering)
        arm(settings.bodyTimeoutMs)
    }

    /// The answer is on the wire and the connection stays open: wait for the next request.
    func answered() {
        fresh = false
        if bytesWhileAnswering {
            bytesWhileAnswering = false
            enter(.head)
            arm(settings.headerTimeoutMs)
        } else {
            enter(.idle)
            arm(settings.idleTimeoutMs)
        }
    }

    /// The answer streams (`WebhookServerHooks.streamRequest`): no more deadlines, never evicted
    /// (it counts toward the cap, so the embedder bounds its streams).
    func streaming() {
        enter(.answering)
        done = true
        timer?.cancel()
        timer = nil
    }

    func closed() {
        done = true
        timer?.cancel()
        timer = nil
        table.remove(id)
    }

    private func enter(_ p: ConnectionPhase) {
        phase = p
        table.set(id, p)
    }

    private func arm(_ ms: Int) {
        timer?.cancel()
        timer = nil
        guard ms > 0, !done else { return }
        timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { [weak self] in self?.expire() }
    }

    private func expire() {
        guard !done else { return }
        timer = nil
        if table.timedOut(id, in: phase) { channel.close(promise: nil) }
    }
}

/// First handler after TLS: sees every byte, tells the connection, and closes its bookkeeping.
final class ConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let connection: WebhookConnection

    init(_ connection: WebhookConnection) { self.connection = connection }

    func handlerAdded(context: ChannelHandlerContext) { connection.started() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.bytesArrived()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.closed()
        context.fireChannelInactive()
    }
}

/// A connection over the cap that nothing could make room for: 503 and close.
final class RefuseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        let body = #"{"error":"Service Unavailable: too many connections"}"#
        let text =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        var buf = context.channel.allocator.buffer(capacity: text.utf8.count)
        buf.writeString(text)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buf)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

/// One HTTP connection. Reads a request up to the body limit, answers, then hands the event on.
final class WebhookHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoint: WebhookEndpoint
    private let connection: WebhookConnection
    private let hooks: WebhookServerHooks
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// The request already has its answer (404/413); the rest of it is ignored.
    private var answered = false
    /// The connection carries a streamed response: whatever the client sends now is ignored.
    private var streaming = false

    init(endpoint: WebhookEndpoint, connection: WebhookConnection, hooks: WebhookServerHooks = WebhookServerHooks()) {
        self.endpoint = endpoint
        self.connection = connection
        self.hooks = hooks
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if streaming { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            answered = false
            connection.headReceived()
            let length = h.headers.first(name: "content-length").flatMap { Int($0) }
            if h.method == .GET, let stream = hooks.streamRequest, let answer = stream(h.method.rawValue, h.uri) {
                startStream(context, answer, version: h.version)
            } else if let other = hooks.otherRequest, h.method != .POST || !WebhookIntake(settings: endpoint.settings).pathMatches(h.uri),
                let (reply, type) = other(h.method.rawValue, h.uri)
            {
                answered = true
                respond(context, reply, version: h.version, close: !h.isKeepAlive, contentType: type, then: nil)
            } else if let reply = endpoint.checkHead(method: h.method.rawValue, uri: h.uri, contentLength: length) {
                answered = true
                // A body over the limit is not drained: answer and close.
                respond(context, reply, version: h.version, close: reply.status == 413 || !h.isKeepAlive, then: nil)
            }
        case .body(var b):
            guard !answered, let h = head else { return }
            if body.count + b.readableBytes > endpoint.settings.maxBodyBytes {
                answered = true
                respond(context, endpoint.bodyTooLarge(), version: h.version, close: true, then: nil)
                return
            }
            body += b.readBytes(length: b.readableBytes) ?? []
        case .end:
            defer { head = nil; body = [] }
            guard let h = head else { return }
            if answered {
                // The early answer (404) is written; the connection waits for the next request.
                if h.isKeepAlive { connection.answered() }
                return
            }
            var headers: [String: String] = [:]
            for (name, value) in h.headers { headers[name.lowercased()] = value }
            connection.requestEnded()
            let decision = endpoint.decide(WebhookRequest(method: h.method.rawValue, uri: h.uri, headers: headers, body: body))
            let endpoint = self.endpoint
            let connection = self.connection
            let close = !h.isKeepAlive
            if let deliver = hooks.deliver, let delivery = decision.delivery {
                // The embedder's work first (e.g. stored durably), then its answer.
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let version = h.version
                deliver(delivery, context.eventLoop).hop(to: context.eventLoop).whenComplete { result in
                    let (handler, context) = bound.value
                    let reply = (try? result.get()) ?? WebhookReply.error(503, "Service Unavailable")
                    handler.respond(context, reply, version: version, close: close) {
                        if !close { connection.answered() }
                    }
                }
                return
            }
            respond(context, decision.reply, version: h.version, close: close) {
                endpoint.finish(decision)
                if !close { connection.answered() }
            }
        }
    }

    private func startStream(_ context: ChannelHandlerContext, _ answer: WebhookStreamAnswer, version: HTTPVersion) {
        streaming = true
        answered = true
        connection.streaming()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: answer.contentType)
        headers.add(name: "Cache-Control", value: "no-cache")
        // No length: HTTP/1.1 gets chunked encoding, HTTP/1.0 a body that ends with the connection.
        let writer = WebhookStreamWriter(channel: context.channel, bufferLimitBytes: answer.bufferLimitBytes)
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers)))).whenComplete { result in
            if case .success = result { answer.start(writer) }
        }
    }

    private func respond(
        _ context: ChannelHandlerContext, _ reply: WebhookReply, version: HTTPVersion, close: Bool,
        contentType: String = "application/json", then work: (@Sendable () -> Void)?
    ) {
        let bytes = Array(reply.body.utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(bytes.count))
        if close { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(
                .head(
                    HTTPResponseHead(
                        version: version, status: HTTPResponseStatus(statusCode: reply.status),
                        headers: headers))), promise: nil)
        var buf = context.channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            // The answer is on the wire (or the peer is gone); now the work.
            work?()
            if close { channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
