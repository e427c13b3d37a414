// The simulator delivers webhooks as Zoom does: a delivery not answered 2xx is retried, byte for
// byte, with a fresh signature; and its TLS material can be prepared before it starts.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import RTMSProtocol
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP endpoint that answers the statuses of `script` in turn (then 200) and keeps what it got.
private final class ScriptedEndpoint: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let state: NIOLockedValueBox<(script: [Int], bodies: [[UInt8]], signatures: [String])>
    private var body: [UInt8] = []
    private var signature = ""
    init(_ state: NIOLockedValueBox<(script: [Int], bodies: [[UInt8]], signatures: [String])>) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            body = []
            signature = h.headers.first(name: "x-zm-signature") ?? ""
        case .body(var b):
            body += b.readBytes(length: b.readableBytes) ?? []
        case .end:
            let status: Int = state.withLockedValue { s in
                s.bodies.append(body)
                s.signatures.append(signature)
                return s.script.isEmpty ? 200 : s.script.removeFirst()
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

@Suite struct SimulatorWebhookTests {
    @Test func aWebhookNotAnswered2xxIsRetriedVerbatim() throws {
        let state = NIOLockedValueBox<(script: [Int], bodies: [[UInt8]], signatures: [String])>(([200, 500, 503], [], []))
        let server = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                    try ch.pipeline.syncOperations.addHandler(ScriptedEndpoint(state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        var c = SimulatorConfig()
        c.webhookURL = "http://127.0.0.1:\(server.localAddress?.port ?? 0)/hook"
        c.webhookSecret = "sim-retry-secret"
        c.webhookRetryDelaysMs = [200, 200, 200]
        var l = c.logger
        l.logLevel = .error
        c.logger = l
        let sim = Simulator(config: c)
        try sim.start()
        defer { sim.stop() }
        // The URL validation challenge is not retried; the rtms_started is, until answered 200.
        let deadline = nowMs() + 10_000
        while state.withLockedValue({ $0.bodies.count }) < 1 && nowMs() < deadline { usleep(20_000) }
        let afterValidation = state.withLockedValue { $0.bodies.count }
        sim.createMeeting()
        while state.withLockedValue({ $0.bodies.count }) < afterValidation + 3 && nowMs() < deadline { usleep(20_000) }
        usleep(600_000)
        let got = state.withLockedValue { $0 }
        let started = Array(got.bodies.dropFirst(afterValidation))
        #expect(started.count == 3, "first attempt, a retry after 500 and one after 503, then nothing: \(started.count)")
        #expect(Set(started).count == 1, "retries repeat the body byte for byte")
        #expect((try? JSON.parse(started.first ?? []))?["event"]?.stringValue == "meeting.rtms_started")
        #expect(got.signatures.allSatisfy { $0.hasPrefix("v0=") })
        #expect(sim.webhookDeliveries.retries == 2 && sim.webhookDeliveries.abandoned == 0)
    }

    @Test func tlsMaterialCanBePreparedBeforeTheSimulatorStarts() throws {
        let dir = (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/openrtms-tlsdir-\(getpid())"
        mkdir(dir, 0o700)
        defer { for f in ["ca.pem", "cert.pem", "key.pem"] { unlink(dir + "/" + f) }; rmdir(dir) }
        let p = try GeneratedTLS.prepare(in: dir)
        let ca = try String(contentsOfFile: p.ca, encoding: .utf8)
        #expect(ca.contains("BEGIN CERTIFICATE"))
        // Prepared once: a second call (the simulator starting) keeps the files clients trust.
        _ = try GeneratedTLS.prepare(in: dir)
        #expect(try String(contentsOfFile: p.ca, encoding: .utf8) == ca)
        var c = SimulatorConfig()
        c.tls = true
        c.certificatePath = p.certificate
        c.keyPath = p.key
        let sim = Simulator(config: c)
        #expect(try sim.start() > 0)
        sim.stop()
    }
}

private func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
