// The simulator's webhooks, received by a small HTTP server in the test: signed like Zoom's,
// the endpoint.url_validation challenge, rtms_started and rtms_stopped.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import RTMSProtocol
@testable import RTMSSimulator

final class WebhookReceiver: @unchecked Sendable {
    struct Request { var headers: HTTPHeaders; var body: [UInt8] }
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var channel: Channel!
    let lock = NIOLock()
    var requests: [Request] = []
    let secret: String

    init(secret: String) throws {
        self.secret = secret
        let me = self
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                    try ch.pipeline.syncOperations.addHandler(ReceiverHandler(receiver: me))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }
    var url: String { "http://127.0.0.1:\(channel.localAddress!.port!)/hooks/zoom" }
    func shutdown() { try? channel.close().wait(); try? group.syncShutdownGracefully() }
    var all: [Request] { lock.withLock { requests } }

    func answer(_ r: Request) -> [UInt8] {
        lock.withLock { requests.append(r) }
        // Answer Zoom's validation challenge like an application would.
        if let v = try? JSON.parse(r.body), v["event"]?.stringValue == "endpoint.url_validation",
            let plain = v["payload"]?["plainToken"]?.stringValue
        {
            return JSON.serialize(
                .object([
                    "plainToken": .string(plain),
                    "encryptedToken": .string(Signatures.urlValidation(secretToken: secret, plainToken: plain)),
                ]))
        }
        return Array(#"{"status":"ok"}"#.utf8)
    }
}

final class ReceiverHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let receiver: WebhookReceiver
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    init(receiver: WebhookReceiver) { self.receiver = receiver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h; body = []
        case .body(var b): body += b.readBytes(length: b.readableBytes) ?? []
        case .end:
            guard let h = head else { return }
            let out = receiver.answer(.init(headers: h.headers, body: body))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(out.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            var buf = context.channel.allocator.buffer(capacity: out.count)
            buf.writeBytes(out)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

@Suite(.serialized) struct WebhookTests {
    @Test func signedWebhooksAndTheValidationChallenge() throws {
        let receiver = try WebhookReceiver(secret: "whsec")
        defer { receiver.shutdown() }
        let h = try SimHarness { c in
            c.webhookURL = receiver.url
            c.webhookSecret = "whsec"
        }
        let start = h.meeting { $0.durationMs = 30_000 }
        h.sim.stopStream(start.streamID, reason: StopReason.hostTriggered)
        var got: [WebhookReceiver.Request] = []
        for _ in 0..<100 {
            got = receiver.all
            if got.count >= 3 { break }
            sleepMs(20)
        }
        #expect(got.count == 3)
        var validated: Bool? = nil
        for _ in 0..<100 where validated == nil { validated = h.sim.webhookValidated; if validated == nil { sleepMs(20) } }
        #expect(validated == true)
        let events = got.compactMap { (try? JSON.parse($0.body))?["event"]?.stringValue }
        #expect(events == ["endpoint.url_validation", "meeting.rtms_started", "meeting.rtms_stopped"])
        for r in got {
            let ts = r.headers.first(name: "x-zm-request-timestamp") ?? ""
            let sig = r.headers.first(name: "x-zm-signature") ?? ""
            #expect(sig == Signatures.webhook(secretToken: "whsec", timestamp: ts, body: r.body))
            #expect(abs((Int64(ts) ?? 0) - nowSeconds()) < 60)
            #expect(r.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
        }
        let started = try JSON.parse(got[1].body)
        #expect(try StreamStart(payload: started.objectValue!) == start)
        let stopped = try JSON.parse(got[2].body)
        #expect(stopped["payload"]?["stop_reason"]?.intValue == Int64(StopReason.hostTriggered))
        #expect(stopped["payload"]?["rtms_stream_id"]?.stringValue == start.streamID)
    }

    @Test func productsUseTheirOwnEventNamesAndIDKeys() throws {
        let h = try SimHarness()
        for p in Product.allCases {
            let body = h.sim.createMeeting(
                {
                    var o = MeetingOptions(); o.product = p; return o
                }())
            #expect(body["event"]?.stringValue == p.startedEvent)
            #expect(body["payload"]?[p.idKey]?.stringValue?.isEmpty == false)
        }
    }
}

func nowSeconds() -> Int64 { Int64(sleepFreeNow() / 1000) }
func sleepFreeNow() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

#if canImport(Glibc)
import Glibc
#endif
