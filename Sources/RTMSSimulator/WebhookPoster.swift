// A minimal HTTP/1.1 POST on SwiftNIO for delivering webhooks (http:// and https://).

import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RTMSTransport

public enum WebhookPoster {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// POSTs `body` to `url` and succeeds with the HTTP status code and the response body.
    /// Fails after `timeout`.
    public static func post(
        url: String, body: [UInt8], headers: [(String, String)], on loop: EventLoop,
        timeout: TimeAmount = .seconds(3), caPath: String? = nil
    ) -> EventLoopFuture<(status: Int, body: [UInt8])> {
        var text = url
        let tls = text.hasPrefix("https://")
        if text.hasPrefix("http://") { text = "ws://" + text.dropFirst(7) } else if tls { text = "wss://" + text.dropFirst(8) }
        let target: EndpointURL
        do { target = try EndpointURL(parsing: text) } catch {
            return loop.makeFailedFuture(Failure(description: "bad webhook URL \(url): \(error)"))
        }
        let promise = loop.makePromise(of: (status: Int, body: [UInt8]).self)
        let ssl: NIOSSLContext?
        do { ssl = tls ? try TLSContextCache.shared.context(caPath: caPath, verify: true) : nil } catch {
            return loop.makeFailedFuture(error)
        }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    if let ssl {
                        try ch.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: ssl, serverHostname: target.hostIsIPAddress ? nil : target.host))
                    }
                    try ch.pipeline.syncOperations.addHTTPClientHandlers()
                    try ch.pipeline.syncOperations.addHandler(ResponseStatusHandler(promise: promise))
                }
            }
            .connect(host: target.host, port: target.port)
            .whenComplete { r in
                switch r {
                case .failure(let e): promise.fail(e)
                case .success(let ch):
                    var h = HTTPHeaders()
                    h.add(name: "Host", value: target.hostHeader)
                    h.add(name: "Content-Length", value: String(body.count))
                    h.add(name: "Connection", value: "close")
                    for (k, v) in headers { h.add(name: k, value: v) }
                    var buf = ch.allocator.buffer(capacity: body.count)
                    buf.writeBytes(body)
                    ch.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: target.target, headers: h)), promise: nil)
                    ch.write(HTTPClientRequestPart.body(.byteBuffer(buf)), promise: nil)
                    ch.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                    let t = ch.eventLoop.scheduleTask(in: timeout) {
                        promise.fail(Failure(description: "no response from \(url) within \(timeout.nanoseconds / 1_000_000) ms"))
                        ch.close(promise: nil)
                    }
                    promise.futureResult.whenComplete { _ in
                        t.cancel(); ch.close(promise: nil)
                    }
                }
            }
        return promise.futureResult
    }
}

final class ResponseStatusHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<(status: Int, body: [UInt8])>
    private var status = 0
    private var body: [UInt8] = []
    init(promise: EventLoopPromise<(status: Int, body: [UInt8])>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): status = Int(h.status.code)
        case .body(var b): if body.count < 1 << 20 { body += b.readBytes(length: b.readableBytes) ?? [] }
        case .end: promise.succeed((status, body))
        }
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(WebhookPoster.Failure(description: "connection closed before a response"))
    }
}
