// Asks another node for its state (GET <advertise url>/healthz) over plain HTTP: SwiftNIO's
// HTTP/1 codec, one request per connection, a hard deadline. Used by the outage rule (see
// FleetNode.confirmOutage): a node that cannot renew keeps its streams only while every live
// peer says the database is unreachable for it too.

import NIOCore
import NIOHTTP1
import NIOPosix
import RTMSProtocol

/// "http://host:port" (an IPv6 host in brackets); nil when it is not such a URL.
func peerAddress(_ url: String) -> (host: String, port: Int)? {
    guard url.hasPrefix("http://") else { return nil }
    var rest = url.dropFirst(7)
    if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
    let host: Substring, portText: Substring
    if rest.hasPrefix("[") {
        guard let close = rest.firstIndex(of: "]") else { return nil }
        host = rest[rest.index(after: rest.startIndex)..<close]
        let after = rest[rest.index(after: close)...]
        guard after.hasPrefix(":") else { return nil }
        portText = after.dropFirst()
    } else {
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        host = rest[..<colon]
        portText = rest[rest.index(after: colon)...]
    }
    guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { return nil }
    return (String(host), port)
}

/// The JSON object a peer's /healthz answered (200 or 503), or nil when it did not answer in time.
func probePeer(_ url: String, timeoutMs: Int) async -> JSONObject? {
    guard let (host, port) = peerAddress(url) else { return nil }
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let promise = loop.makePromise(of: [UInt8].self)
    let bootstrap = ClientBootstrap(group: loop)
        .connectTimeout(.milliseconds(Int64(timeoutMs)))
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(StatusReader(host: host, port: port, promise: promise))
            }
        }
    let connect = bootstrap.connect(host: host, port: port)
    connect.whenFailure { promise.fail($0) }
    let timer = loop.scheduleTask(in: .milliseconds(Int64(timeoutMs))) { promise.fail(FleetError.timedOut) }
    promise.futureResult.whenComplete { _ in
        timer.cancel()
        connect.whenSuccess { $0.close(promise: nil) }
    }
    guard let body = try? await promise.futureResult.get() else { return nil }
    return (try? JSON.parse(body))?.objectValue
}

/// Sends the GET when the connection is up and collects the body.
private final class StatusReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let port: Int
    private let promise: EventLoopPromise<[UInt8]>
    private var body: [UInt8] = []

    init(host: String, port: Int, promise: EventLoopPromise<[UInt8]>) {
        self.host = host
        self.port = port
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz?outage-promise=1")
        head.headers.add(name: "Host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            break
        case .body(let b):
            // /healthz is small; anything past 64 KiB is not a node's answer.
            if body.count + b.readableBytes > 65_536 {
                promise.fail(FleetError("peer answer too large"))
                context.close(promise: nil)
                return
            }
            body += b.readableBytesView
        case .end:
            promise.succeed(body)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(FleetError("peer closed the connection before answering"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
