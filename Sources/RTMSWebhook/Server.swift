// The webhook intake's HTTP/1.1 server on SwiftNIO (HTTPS and mutual TLS when configured). It
// answers first and works after: the reply is flushed, then the event is routed to the live
// client of its stream (failover, rejoin, end) and queued for the application.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RTMSClient
import RTMSProtocol

public struct WebhookServerError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

public final class WebhookServer: @unchecked Sendable {
    public let settings: WebhookSettings
    public let inbox: WebhookInbox
    private let lock = NIOLock()
    private var intake: WebhookIntake
    private var channel: Channel?
    private var stopped = false
    /// Set by tests and embedders that route differently; default: the process's StreamDirectory.
    private let router: @Sendable (JSONObject) -> Bool

    /// Starts listening. Throws with readable text when the address is taken or TLS files are bad.
    public init(settings: WebhookSettings, group: EventLoopGroup = Runtime.group,
                router: (@Sendable (JSONObject) -> Bool)? = nil) throws {
        self.settings = settings
        self.intake = WebhookIntake(settings: settings)
        self.inbox = WebhookInbox(capacity: settings.queueMaxEvents)
        self.router = router ?? { body in
            if case .routed = StreamDirectory.shared.route(webhook: body) { return true }
            return false
        }
        guard settings.path.hasPrefix("/") else { throw WebhookServerError("webhook path '\(settings.path)' must start with /") }
        guard (0...65535).contains(settings.port) else { throw WebhookServerError("webhook port \(settings.port) is not 0...65535") }
        guard settings.maxBodyBytes > 0 else { throw WebhookServerError("webhook body limit must be positive") }
        let ssl = try Self.tlsContext(settings)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [weak self] ch in
                ch.eventLoop.makeCompletedFuture {
                    guard let self else { throw WebhookServerError("webhook server stopped") }
                    if let ssl { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: ssl)) }
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try ch.pipeline.syncOperations.addHandler(WebhookHTTPHandler(server: self))
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
                var tc = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
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

    public var counters: WebhookCounters {
        var c = lock.withLock { intake.counters }
        c.droppedQueueFull = inbox.dropped
        return c
    }

    public var isStopped: Bool { lock.withLock { stopped } }

    /// Stops listening, closes the inbox (waiters return), idempotent.
    public func stop() {
        let ch: Channel? = lock.withLock {
            guard !stopped else { return nil }
            stopped = true
            let c = channel
            return c
        }
        inbox.close()
        try? ch?.close().wait()
    }

    // Called by the HTTP handler on its event loop.
    func checkHead(method: String, uri: String, contentLength: Int?) -> WebhookReply? {
        lock.withLock { intake.checkHead(method: method, uri: uri, contentLength: contentLength) }
    }
    func bodyTooLarge() -> WebhookReply { lock.withLock { intake.bodyTooLarge() } }
    func decide(_ req: WebhookRequest) -> (WebhookReply, WebhookDelivery?) {
        lock.withLock { intake.handle(req, nowMs: nowMilliseconds()) }
    }

    /// The work after the reply: route, then queue for the application.
    func process(_ d: WebhookDelivery) {
        guard !isStopped else { return }
        var d = d
        if d.rtmsKind != nil, router(d.object) {
            d.routedToLiveStream = true
            lock.withLock { intake.countRouted() }
        }
        inbox.push(d)
    }
}

/// One HTTP connection. Reads a request up to the body limit, answers, then hands the event on.
final class WebhookHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: WebhookServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// The request already has its answer (404/413); the rest of it is ignored.
    private var answered = false

    init(server: WebhookServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            answered = false
            let length = h.headers.first(name: "content-length").flatMap { Int($0) }
            if let reply = server.checkHead(method: h.method.rawValue, uri: h.uri, contentLength: length) {
                answered = true
                // A body over the limit is not drained: answer and close.
                respond(context, reply, version: h.version, close: reply.status == 413 || !h.isKeepAlive, then: nil)
            }
        case .body(var b):
            guard !answered, let h = head else { return }
            if body.count + b.readableBytes > server.settings.maxBodyBytes {
                answered = true
                respond(context, server.bodyTooLarge(), version: h.version, close: true, then: nil)
                return
            }
            body += b.readBytes(length: b.readableBytes) ?? []
        case .end:
            defer { head = nil; body = [] }
            guard !answered, let h = head else { return }
            var headers: [String: String] = [:]
            for (name, value) in h.headers { headers[name.lowercased()] = value }
            let (reply, delivery) = server.decide(WebhookRequest(method: h.method.rawValue, uri: h.uri, headers: headers, body: body))
            let server = self.server
            respond(context, reply, version: h.version, close: !h.isKeepAlive, then: delivery.map { d in { server.process(d) } })
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ reply: WebhookReply, version: HTTPVersion, close: Bool,
                         then work: (() -> Void)?) {
        let bytes = Array(reply.body.utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(bytes.count))
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: reply.status),
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
