// TLS with a generated CA (host name and IP address), an HTTP CONNECT proxy, and scale:
// many handles at once, many sequential sessions in one process.

import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator
@testable import RTMSTransport

@Suite(.serialized) struct TLSTests {
    func join(_ h: SimHarness, caPath: String?, verify: Bool) throws -> Collected {
        TLSContextCache.shared.removeAll()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue) { cfg in
            cfg.transport.caPath = caPath
            cfg.transport.verifyCertificate = verify
        }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 10) { $0.ended || $0.count(.audio) >= 3 }
        client.leave()
        return c
    }

    @Test func verifiesAnIPAddressAgainstTheCertificate() throws {
        let h = try SimHarness(tls: true)
        #expect(h.sim.signalingURL.hasPrefix("wss://127.0.0.1:"))
        let c = try join(h, caPath: h.caFile, verify: true)
        #expect(c.joinConfirm?.reason == 0)
        #expect(c.count(.audio) >= 3)
    }

    @Test func verifiesAHostName() throws {
        let h = try SimHarness(tls: true, urlHost: "localhost")
        #expect(h.sim.signalingURL.hasPrefix("wss://localhost:"))
        let c = try join(h, caPath: h.caFile, verify: true)
        #expect(c.joinConfirm?.reason == 0)
    }

    @Test func rejectsAnUntrustedCertificate() throws {
        let h = try SimHarness(tls: true)
        let c = try join(h, caPath: nil, verify: true)
        #expect(c.joinConfirm?.reason == ClientReason.tlsFailed)
        #expect(c.joinConfirm?.text.contains("TLS") == true, "\(c.joinConfirm?.text ?? "")")
    }

    @Test func acceptsAnythingWhenVerificationIsOff() throws {
        let h = try SimHarness(tls: true)
        let c = try join(h, caPath: nil, verify: false)
        #expect(c.joinConfirm?.reason == 0)
    }

    @Test func rejectsAHostNameTheCertificateDoesNotName() throws {
        // The generated certificate names localhost, 127.0.0.1 and ::1; "127.0.0.2" is none of them.
        let h = try SimHarness(
            tls: true,
            configure: {
                $0.host = "127.0.0.1"; $0.urlHost = "127.0.0.2"
            })
        let start = h.meeting()
        let client = try makeClient(types: 1) {
            $0.transport.caPath = h.caFile; $0.policy.connectMaxAttempts = 1
        }
        // 127.0.0.2 is loopback too but the simulator listens on 127.0.0.1 only: connect fails or TLS fails.
        try client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: nil,
            serverURLs: "wss://127.0.0.2:\(h.sim.port)/signaling")
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm.map { $0.reason == ClientReason.tlsFailed || $0.reason == ClientReason.connectFailed } == true)
    }
}

// MARK: - A tiny HTTP CONNECT proxy for the test

final class ConnectProxy: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var channel: Channel!
    let lock = NIOLock()
    var targets: [String] = []

    init(tls: GeneratedTLS? = nil) throws {
        let p = self
        var ssl: NIOSSLContext? = nil
        if let tls {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(tls.certificateChainPEM.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem)
            ssl = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        }
        let context = ssl
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    if let context { try ch.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    let dec = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    let enc = HTTPResponseEncoder()
                    try ch.pipeline.syncOperations.addHandler(dec)
                    try ch.pipeline.syncOperations.addHandler(enc)
                    try ch.pipeline.syncOperations.addHandler(ConnectHandler(proxy: p, decoder: dec, encoder: enc))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }
    var port: Int { channel.localAddress!.port! }
    func shutdown() { try? channel.close().wait(); try? group.syncShutdownGracefully() }
}

final class ConnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let proxy: ConnectProxy
    let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    let encoder: HTTPResponseEncoder
    var target: (String, Int)?

    init(proxy: ConnectProxy, decoder: ByteToMessageHandler<HTTPRequestDecoder>, encoder: HTTPResponseEncoder) {
        self.proxy = proxy; self.decoder = decoder; self.encoder = encoder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            guard h.method == .CONNECT, let colon = h.uri.lastIndex(of: ":"), let port = Int(h.uri[h.uri.index(after: colon)...]) else {
                context.close(promise: nil); return
            }
            target = (String(h.uri[..<colon]), port)
            proxy.lock.withLock { proxy.targets.append(h.uri) }
        case .body: break
        case .end:
            guard let (host, port) = target else { return }
            let inbound = context.channel
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            let me = NIOLoopBound(self, eventLoop: context.eventLoop)
            ClientBootstrap(group: context.eventLoop).connect(host: host, port: port).whenComplete { r in
                let context = ctx.value
                switch r {
                case .failure:
                    context.close(promise: nil)
                case .success(let outbound):
                    // A CONNECT answer has no body: write the status line raw, then splice.
                    let sync = inbound.pipeline.syncOperations
                    sync.removeHandler(me.value.encoder, promise: nil)
                    var buf = inbound.allocator.buffer(capacity: 64)
                    buf.writeString("HTTP/1.1 200 Connection Established\r\n\r\n")
                    inbound.writeAndFlush(buf, promise: nil)
                    sync.removeHandler(me.value, promise: nil)
                    try? sync.addHandler(Glue(peer: outbound))
                    try? outbound.pipeline.syncOperations.addHandler(Glue(peer: inbound))
                    sync.removeHandler(me.value.decoder, promise: nil)
                    _ = context
                }
            }
        }
    }
}

final class Glue: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let peer: Channel
    init(peer: Channel) { self.peer = peer }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) { peer.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

@Suite(.serialized) struct ProxyTests {
    @Test(arguments: [false, true])
    func joinsThroughAnHTTPConnectProxy(tls: Bool) throws {
        let proxy = try ConnectProxy()
        defer { proxy.shutdown() }
        let h = try SimHarness(tls: tls)
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue) { cfg in
            cfg.transport.proxyURL = "http://user:pw@127.0.0.1:\(proxy.port)"
            cfg.transport.caPath = h.caFile
        }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 10) { $0.ended || $0.count(.audio) >= 5 }
        client.leave()
        #expect(c.joinConfirm?.reason == 0, "\(c.joinConfirm?.text ?? "")")
        #expect(c.count(.audio) >= 5)
        let targets = proxy.lock.withLock { proxy.targets }
        #expect(targets.count == 3, "signaling, audio and transcript went through the proxy: \(targets)")
        #expect(targets.allSatisfy { $0 == "127.0.0.1:\(h.sim.port)" })
    }

    @Test func joinsThroughAnHTTPSProxyWithTLSInsideTLS() throws {
        let h = try SimHarness(tls: true)
        let proxy = try ConnectProxy(tls: h.sim.generatedTLS)
        defer { proxy.shutdown() }
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue) { cfg in
            cfg.transport.proxyURL = "https://127.0.0.1:\(proxy.port)"
            cfg.transport.caPath = h.caFile
        }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 10) { $0.ended || $0.count(.audio) >= 5 }
        client.leave()
        #expect(c.joinConfirm?.reason == 0, "\(c.joinConfirm?.text ?? "")")
        #expect(c.count(.audio) >= 5)
        #expect(proxy.lock.withLock { proxy.targets.count } == 2)
    }

    @Test func unreachableProxyIsAConnectFailure() throws {
        let client = try makeClient(types: 1) {
            $0.transport.proxyURL = "http://127.0.0.1:1"; $0.policy.connectMaxAttempts = 1
        }
        try client.join(instanceID: "m", streamID: "s", signature: "x", serverURLs: "ws://127.0.0.1:9/signaling")
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == ClientReason.connectFailed)
        #expect(c.joinConfirm?.text.contains("proxy") == true, "\(c.joinConfirm?.text ?? "")")
    }
}

@Suite(.serialized) struct ScaleTests {
    @Test func fiftyHandlesAtOnce() throws {
        let h = try SimHarness()
        let n = 50
        var clients: [(RTMSClient, StreamStart)] = []
        for i in 0..<n {
            let start = h.meeting {
                $0.durationMs = 4000; $0.seed = UInt64(100 + i)
            }
            let c = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue)
            try c.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
            clients.append((c, start))
        }
        var results = [Collected](repeating: Collected(), count: n)
        let deadline = nowMilliseconds() + 30_000
        while results.contains(where: { !$0.ended }) && nowMilliseconds() < deadline {
            var any = 0
            for i in 0..<n { any += clients[i].0.poll { results[i].add($0) } }
            if any == 0 { sleepMs(5) }
        }
        for i in 0..<n {
            #expect(results[i].joinConfirm?.reason == 0, "client \(i): \(results[i].joinConfirm?.text ?? "no join confirm")")
            #expect(results[i].leave?.reason == StopReason.meetingEnded, "client \(i)")
            expectExactlyOnce(results[i], report: h.sim.report(clients[i].1.streamID), kinds: [.audio, .transcript])
        }
    }

    @Test func hundredSequentialSessionsInOneProcess() throws {
        let h = try SimHarness()
        for i in 0..<100 {
            let start = h.meeting {
                $0.durationMs = 60_000; $0.seed = UInt64(1000 + i); $0.reconnectWindowMs = 1000
            }
            let client = try makeClient(types: MediaMask.audio.rawValue)
            try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
            let c = collect(client, timeout: 10) { $0.ended || $0.count(.audio) >= 2 }
            #expect(c.joinConfirm?.reason == 0, "session \(i): \(c.joinConfirm?.text ?? "none")")
            #expect(c.count(.audio) >= 2, "session \(i)")
            client.leave()
            if c.joinConfirm?.reason != 0 { break }
        }
        // The same handle joins again after a meeting ends.
        let reuse = try makeClient(types: MediaMask.audio.rawValue)
        for i in 0..<3 {
            let start = h.meeting {
                $0.durationMs = 1000; $0.seed = UInt64(5000 + i)
            }
            try reuse.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
            let c = collect(reuse, timeout: 10)
            #expect(c.joinConfirm?.reason == 0 && c.leave?.reason == StopReason.meetingEnded, "rejoin \(i)")
        }
    }
}

@Suite struct NetworkThreadTests {
    @Test func halfTheCoresUnlessTheEnvironmentSaysOtherwise() {
        #expect(Runtime.networkThreads(environment: nil, cores: 2) == 1)
        #expect(Runtime.networkThreads(environment: nil, cores: 1) == 1)
        #expect(Runtime.networkThreads(environment: "", cores: 8) == 4)
        #expect(Runtime.networkThreads(environment: nil, cores: 64) == 8)
        #expect(Runtime.networkThreads(environment: "3", cores: 2) == 3)
        #expect(Runtime.networkThreads(environment: "64", cores: 2) == 64)
        for bad in ["0", "-1", "65", "two", " 2"] {
            #expect(Runtime.networkThreads(environment: bad, cores: 6) == 3, "RTMS_NETWORK_THREADS=\(bad) falls back")
        }
    }
}

/// The text-frame check against the standard library's validator: ASCII runs of every length
/// around the 32- and 8-byte steps, with one non-ASCII byte or sequence (valid or not) at every
/// position.
@Suite struct UTF8CheckTests {
    @Test func agreesWithTheStandardLibrary() {
        let inserts: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x9C, 0x93], [0xF0, 0x9F, 0x98, 0x80], [0x80], [0xC3], [0xED, 0xA0, 0x80], [0xFF]]
        for length in [0, 1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 65, 100] {
            let ascii = [UInt8](repeating: 0x41, count: length)
            #expect(isValidUTF8(ByteBuffer(bytes: ascii)))
            for at in 0...length {
                for ins in inserts {
                    var b = ascii
                    b.insert(contentsOf: ins, at: at)
                    let want = String(validating: b, as: UTF8.self) != nil
                    #expect(isValidUTF8(ByteBuffer(bytes: b)) == want, "\(b)")
                }
            }
        }
    }
}
