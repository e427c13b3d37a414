// Opening outbound WebSocket connections: TCP (optionally through an HTTP or HTTPS CONNECT proxy),
// TLS with a CA file and a verify switch, the HTTP/1.1 upgrade, then frames.

import ExtrasBase64
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import RTMSSession

/// Settings for outbound connections.
public struct TransportConfig: Sendable, Equatable {
    /// PEM file (or directory) of trusted CAs; nil = the system's default trust store.
    public var caPath: String?
    /// Verify the server's certificate and host name (on by default).
    public var verifyCertificate: Bool
    /// HTTP CONNECT proxy URL (http:// or https://), with optional user:password.
    public var proxyURL: String?
    public var connectTimeoutMilliseconds: Int
    /// Largest incoming message (after fragments are joined).
    public var maxMessageBytes: Int
    public var userAgent: String

    public init(
        caPath: String? = nil, verifyCertificate: Bool = true, proxyURL: String? = nil,
        connectTimeoutMilliseconds: Int = 10_000, maxMessageBytes: Int = 64 << 20,
        userAgent: String = "OpenRTMS"
    ) {
        self.caPath = caPath; self.verifyCertificate = verifyCertificate; self.proxyURL = proxyURL
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds; self.maxMessageBytes = maxMessageBytes
        self.userAgent = userAgent
    }
}

/// Client-side TLS contexts, built once per (CA path, verify) pair: loading a CA bundle is slow.
public final class TLSContextCache: @unchecked Sendable {
    public static let shared = TLSContextCache()
    private let lock = NIOLock()
    private var contexts: [String: NIOSSLContext] = [:]

    public func context(caPath: String?, verify: Bool) throws -> NIOSSLContext {
        let key = "\(verify ? 1 : 0)|\(caPath ?? "")"
        return try lock.withLock {
            if let c = contexts[key] { return c }
            var cfg = TLSConfiguration.makeClientConfiguration()
            cfg.minimumTLSVersion = .tlsv12
            cfg.certificateVerification = verify ? .fullVerification : .none
            if let caPath, !caPath.isEmpty {
                var isDir = false
                #if canImport(Glibc)
                var st = stat()
                if stat(caPath, &st) == 0 { isDir = (st.st_mode & S_IFMT) == S_IFDIR }
                #endif
                cfg.trustRoots = isDir ? .file(caPath) : .file(caPath)
            }
            let c = try NIOSSLContext(configuration: cfg)
            contexts[key] = c
            return c
        }
    }

    public func removeAll() { lock.withLock { contexts = [:] } }
}

#if canImport(Glibc)
import Glibc
#endif

public enum WebSocketClient {
    /// Opens `url` on `connection.eventLoop`. The outcome reaches `connection.delegate`:
    /// `webSocketOpened` or `webSocketFailed`, later messages and `webSocketClosed`.
    public static func connect(
        _ url: EndpointURL, config: TransportConfig, connection: WebSocketConnection,
        extraHeaders: [(String, String)] = []
    ) {
        let loop = connection.eventLoop
        let proxy: EndpointURL?
        do {
            proxy = try config.proxyURL.flatMap { $0.isEmpty ? nil : try EndpointURL(parsing: $0, proxy: true) }
        } catch {
            loop.execute { connection.failedToOpen(TransportFailure(.proxy, "\(error)")) }
            return
        }
        let targetTLS: NIOSSLContext?
        let proxyTLS: NIOSSLContext?
        do {
            targetTLS = url.tls ? try TLSContextCache.shared.context(caPath: config.caPath, verify: config.verifyCertificate) : nil
            proxyTLS = proxy?.tls == true ? try TLSContextCache.shared.context(caPath: config.caPath, verify: config.verifyCertificate) : nil
        } catch {
            loop.execute { connection.failedToOpen(TransportFailure(.tls, "cannot set up TLS (CA '\(config.caPath ?? "system")'): \(error)")) }
            return
        }
        let dialHost = proxy?.host ?? url.host
        let dialPort = proxy?.port ?? url.port
        let timeout = TimeAmount.milliseconds(Int64(max(1, config.connectTimeoutMilliseconds)))
        let conn = connection

        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            // Reads grow to 16 KiB, not NIO's 64 KiB: a bot holds two or more sockets per stream
            // and thousands of streams; a large video frame only costs a few more reads.
            .channelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 16384))
            .channelInitializer { channel in
                do {
                    if let proxy {
                        if let proxyTLS {
                            let h = try NIOSSLClientHandler(context: proxyTLS, serverHostname: proxy.hostIsIPAddress ? nil : proxy.host)
                            try channel.pipeline.syncOperations.addHandler(h)
                        }
                        try addProxyStage(
                            channel: channel, proxy: proxy, url: url, config: config, tls: targetTLS,
                            connection: conn, extraHeaders: extraHeaders, timeout: timeout)
                    } else {
                        try addWebSocketStage(
                            channel: channel, url: url, config: config, tls: targetTLS,
                            connection: conn, extraHeaders: extraHeaders)
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: dialHost, port: dialPort).whenComplete { result in
            switch result {
            case .success(let ch):
                // Abandoned while dialing (a failover moved on, the handle left): end it now.
                guard conn.dialed(ch) else {
                    ch.close(promise: nil)
                    return
                }
                // Cut half-open connections that never finish the upgrade.
                let t = ch.eventLoop.scheduleTask(in: timeout) {
                    if conn.state == .connecting {
                        conn.failedToOpen(
                            TransportFailure(.timeout, "no WebSocket upgrade from \(url.hostHeader) within \(config.connectTimeoutMilliseconds) ms"))
                        ch.close(promise: nil)
                    }
                }
                ch.closeFuture.whenComplete { _ in t.cancel() }
            case .failure(let error):
                conn.failedToOpen(classify(error, dialing: "\(dialHost):\(dialPort)", proxy: proxy != nil))
            }
        }
    }

    static func classify(_ error: Error, dialing: String, proxy: Bool) -> TransportFailure {
        if let e = error as? ChannelError, case .connectTimeout = e {
            return TransportFailure(.timeout, "connect to \(dialing) timed out")
        }
        if error is NIOSSLError || error is BoringSSLError {
            return TransportFailure(.tls, "TLS: \(error)")
        }
        var text = describe(error)
        if let e = error as? NIOConnectionError {
            if let io = e.connectionErrors.last?.error as? IOError {
                text = String(cString: strerror(io.errnoCode))
            } else if e.dnsAError != nil || e.dnsAAAAError != nil {
                text = "host name not resolved"
            }
        } else if let io = error as? IOError {
            text = String(cString: strerror(io.errnoCode))
        }
        return TransportFailure(proxy ? .proxy : .connect, "connect to \(dialing)\(proxy ? " (proxy)" : ""): \(text)")
    }

    static func addProxyStage(
        channel: Channel, proxy: EndpointURL, url: EndpointURL, config: TransportConfig,
        tls: NIOSSLContext?, connection: WebSocketConnection, extraHeaders: [(String, String)],
        timeout: TimeAmount
    ) throws {
        let sync = channel.pipeline.syncOperations
        let encoder = HTTPRequestEncoder()
        let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes))
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(url.host):\(url.port)")
        if let u = proxy.user {
            let cred = Base64.encodeToString(bytes: Array("\(u):\(proxy.password ?? "")".utf8))
            headers.add(name: "Proxy-Authorization", value: "Basic \(cred)")
        }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let connect = NIOHTTP1ProxyConnectHandler(
            targetHost: url.host, targetPort: url.port, headers: headers,
            deadline: .now() + timeout, promise: promise)
        try sync.addHandler(encoder)
        try sync.addHandler(decoder)
        try sync.addHandler(connect)
        let loopBound = NIOLoopBound((encoder, decoder, connect), eventLoop: channel.eventLoop)
        promise.futureResult.whenComplete { result in
            switch result {
            case .success:
                let (enc, dec, con) = loopBound.value
                let sync = channel.pipeline.syncOperations
                // The tunnel is up: drop the CONNECT codec. This runs inside the response
                // decoder's decode loop, which defers its own removal (and it watches writes), so
                // the TLS and HTTP stages are added on the next tick, once it is gone.
                sync.removeHandler(enc, promise: nil)
                sync.removeHandler(dec, promise: nil)
                sync.removeHandler(con, promise: nil)
                channel.eventLoop.execute {
                    do {
                        try addWebSocketStage(
                            channel: channel, url: url, config: config, tls: tls,
                            connection: connection, extraHeaders: extraHeaders)
                    } catch {
                        connection.failedToOpen(TransportFailure(.proxy, "after CONNECT: \(error)"))
                    }
                }
            case .failure(let error):
                connection.failedToOpen(TransportFailure(.proxy, "proxy \(proxy.host):\(proxy.port) CONNECT to \(url.host):\(url.port) failed: \(error)"))
                channel.close(promise: nil)
            }
        }
    }

    static func addWebSocketStage(
        channel: Channel, url: EndpointURL, config: TransportConfig, tls: NIOSSLContext?,
        connection: WebSocketConnection, extraHeaders: [(String, String)]
    ) throws {
        let sync = channel.pipeline.syncOperations
        if let tls {
            let h = try NIOSSLClientHandler(context: tls, serverHostname: url.hostIsIPAddress ? nil : url.host)
            try sync.addHandler(h)
            try sync.addHandler(TLSErrorReporter(connection: connection))
        }
        let maxBytes = config.maxMessageBytes
        let requester = UpgradeRequester(url: url, userAgent: config.userAgent, extraHeaders: extraHeaders, connection: connection)
        let boundRequester = NIOLoopBound(requester, eventLoop: channel.eventLoop)
        let upgrader = NIOWebSocketClientUpgrader(
            requestKey: Base64.encodeToString(bytes: (0..<16).map { _ in UInt8.random(in: 0...255) }),
            maxFrameSize: min(maxBytes, Int(UInt32.max)),
            automaticErrorHandling: false
        ) { ch, _ in
            do {
                let s = ch.pipeline.syncOperations
                s.removeHandler(boundRequester.value, promise: nil)
                try s.addHandler(WebSocketFrameValidator(connection: connection))
                try s.addHandler(
                    NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                        maxAccumulatedFrameSize: maxBytes))
                try s.addHandler(WebSocketFrameHandler(connection: connection))
                return ch.eventLoop.makeSucceededVoidFuture()
            } catch {
                return ch.eventLoop.makeFailedFuture(error)
            }
        }
        try sync.addHTTPClientHandlers(
            leftOverBytesStrategy: .forwardBytes,
            withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
        try sync.addHandler(requester)
    }
}

/// Reports TLS failures as such (the frame handler is not in the pipeline yet during the handshake).
final class TLSErrorReporter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let connection: WebSocketConnection
    init(connection: WebSocketConnection) { self.connection = connection }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if connection.state == .connecting, error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            connection.failedToOpen(TransportFailure(.tls, "TLS handshake with \(context.remoteAddress?.description ?? "?") failed: \(error)"))
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}

/// Sends the upgrade request when the channel is ready, and reports a refused upgrade.
final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let url: EndpointURL
    let userAgent: String
    let extraHeaders: [(String, String)]
    let connection: WebSocketConnection
    private var sent = false

    init(url: EndpointURL, userAgent: String, extraHeaders: [(String, String)], connection: WebSocketConnection) {
        self.url = url; self.userAgent = userAgent; self.extraHeaders = extraHeaders; self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context)
        context.fireChannelActive()
    }

    private func sendRequest(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "User-Agent", value: userAgent)
        for (k, v) in extraHeaders { headers.add(name: k, value: v) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only reached when the server did not switch protocols.
        if case .head(let head) = unwrapInboundIn(data) {
            let code = Int(head.status.code)
            var text = "WebSocket upgrade to \(url) refused: HTTP \(code) \(head.status.reasonPhrase)"
            if (300..<400).contains(code), let to = head.headers.first(name: "location") { text += " (redirect to \(to), not followed)" }
            connection.failedToOpen(TransportFailure(.upgrade, text, httpStatus: code))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if connection.state == .connecting {
            let kind: TransportFailure.Kind = (error is NIOSSLError || error is BoringSSLError) ? .tls : .upgrade
            connection.failedToOpen(TransportFailure(kind, "\(url): \(error)"))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if connection.state == .connecting {
            connection.failedToOpen(TransportFailure(.protocolError, "\(url): connection closed before the WebSocket upgrade completed"))
        }
        context.fireChannelInactive()
    }
}
