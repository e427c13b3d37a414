// Zoom's three failover scenarios end to end: the core against the simulator's chaos controls.

import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator

/// Fast reconnection for tests: first retry at once, then 200 ms doubling.
func fastPolicy(_ cfg: inout ClientConfig) {
    cfg.policy.baseDelayMs = 200
    cfg.policy.maxDelayMs = 1000
    cfg.policy.attemptTimeoutMs = 3000
}

extension Collected {
    var reconnecting: [(String, Int)] {
        events.compactMap {
            if case .reconnecting(let c, let a, _, _) = $0 { return (c.label, a) }; return nil
        }
    }
    var reconnected: [(String, Int)] {
        events.compactMap {
            if case .reconnected(let c, let g) = $0 { return (c.label, g) }; return nil
        }
    }
}

/// Every media message received was sent, none twice; the ones missing were in flight when a
/// connection was cut (at most `slack` per cut).
func expectNoDuplicatesAndOnlyInFlightLoss(
    _ c: Collected, report: JSONValue?, kind: MediaKind, cuts: Int, slack: Int = 25,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let got = (c.media[kind] ?? []).compactMap(\.sequence).map(Int.init)
    let sent = (report?["sent_sequences"]?[kind.key]?.arrayValue ?? []).compactMap(\.intValue).map(Int.init)
    #expect(Set(got).count == got.count, "\(kind.key): duplicates", sourceLocation: sourceLocation)
    #expect(Set(got).isSubset(of: Set(sent)), "\(kind.key): received something never sent", sourceLocation: sourceLocation)
    let missing = Set(sent).subtracting(got).count
    #expect(missing <= cuts * slack, "\(kind.key): \(missing) of \(sent.count) sent messages missing", sourceLocation: sourceLocation)
}

@Suite(.serialized) struct ReconnectIntegrationTests {
    func joined(
        _ h: SimHarness, types: Int, until: Int = 10, _ configure: (inout ClientConfig) -> Void = fastPolicy
    ) throws -> (RTMSClient, StreamStart, Collected) {
        let start = h.meeting { $0.durationMs = 60_000 }
        let client = try makeClient(types: types, configure: configure)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= until }
        #expect(c.joinConfirm?.reason == 0)
        return (client, start, c)
    }

    @Test(arguments: [Simulator.ChaosAction.abort, .close(code: 1011)])
    func scenario3MediaConnectionIsReconnectedAlone(_ action: Simulator.ChaosAction) throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue)
        #expect(h.sim.chaos(start.streamID, connection: "audio", action) == 1)
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= before + 20 }
        client.leave()
        #expect(c.leave == nil && c.count(.audio) >= before + 20)
        #expect(c.reconnecting.map(\.0) == ["media(audio)"])
        #expect(c.reconnected.map(\.0) == ["media(audio)"])
        #expect((c.reconnected.first?.1 ?? 99_999) < 1000, "media flows again quickly")
        let report = h.sim.report(start.streamID)
        let conns = report?["connections"]?.arrayValue?.compactMap { $0["connection"]?.stringValue } ?? []
        #expect(conns.filter { $0.hasPrefix("signaling") }.count == 1, "signaling untouched: \(conns)")
        #expect(conns.filter { $0 == "media(1)" }.count == 2)
        expectNoDuplicatesAndOnlyInFlightLoss(c, report: report, kind: .audio, cuts: 1)
        #expect(client.counters.mediaReconnects == 1)
    }

    @Test func aJoinSurvivesAMediaServerThatRefusesOnce() throws {
        let h = try SimHarness()
        h.sim.refuseMediaConnections(count: 1)
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue) { $0.policy.connectRetryDelayMs = 200 }
        defer { client.leave() }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 10) { $0.ended || $0.count(.audio) >= 10 }
        #expect(c.joinConfirm?.reason == 0, "\(c.joinConfirm?.text ?? "no join confirm")")
        #expect(c.count(.audio) >= 10)
        let warned = c.events.contains {
            if case .warning(_, let t) = $0 { return t.contains("attempt 2 of") }; return false
        }
        #expect(warned, "the refusal and the retry are reported")
        let conns = h.sim.report(start.streamID)?["connections"]?.arrayValue?.compactMap { $0["connection"]?.stringValue } ?? []
        #expect(conns.filter { $0.hasPrefix("signaling") }.count == 1, "signaling was not redone: \(conns)")
    }

    @Test func scenario2LostSignalingRejoinsEverything() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue)
        client.subscribe(events: [3, 4], on: true)
        #expect(h.sim.chaos(start.streamID, connection: "signaling", .abort) == 1)
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || ($0.count(.audio) >= before + 20 && !$0.reconnected.isEmpty) }
        client.leave()
        #expect(c.leave == nil)
        // The server drops media too; the client may notice that first, then rejoins everything.
        #expect(c.reconnecting.contains { $0.0 == "signaling" })
        #expect(c.reconnected.last.map { $0.0 } == "signaling")
        #expect(
            c.events.filter {
                if case .joinConfirm = $0 { return true }; return false
            }.count == 1, "no second join confirm")
        let report = h.sim.report(start.streamID)
        let conns = report?["connections"]?.arrayValue?.compactMap { $0["connection"]?.stringValue } ?? []
        #expect(conns.filter { $0.hasPrefix("signaling") }.count == 2 && conns.filter { $0 == "media(1)" }.count == 2)
        #expect(report?["subscribed"]?.arrayValue == [.int(3), .int(4)], "subscriptions sent again")
        expectNoDuplicatesAndOnlyInFlightLoss(c, report: report, kind: .audio, cuts: 1)
        #expect(client.counters.rejoins == 1)
    }

    @Test func refusedReconnectionsAreRetriedWithBackoff() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue)
        h.sim.refuseConnections(milliseconds: 700)
        h.sim.chaos(start.streamID, connection: "signaling", .abort)
        collect(client, into: &c, timeout: 15) { $0.ended || !$0.reconnected.isEmpty }
        client.leave()
        #expect(c.leave == nil)
        #expect(c.reconnecting.count >= 2, "refused attempts: \(c.reconnecting)")
        #expect(
            c.events.contains {
                if case .reconnecting(_, _, _, let cause) = $0 { return cause.contains("503") }; return false
            })
        #expect(c.reconnected.map(\.0) == ["signaling"])
        #expect((c.reconnected.first?.1 ?? 0) >= 600)
    }

    @Test func givesUpWithALeaveWhenTheServerStaysAway() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue) { cfg in
            fastPolicy(&cfg)
            cfg.policy.maxAttempts = 3
        }
        h.sim.refuseConnections(milliseconds: 60_000)
        h.sim.chaos(start.streamID, connection: "signaling", .abort)
        collect(client, into: &c, timeout: 15)
        // The simulator drops the media socket along with signaling; the client may see the media loss
        // first and report one media attempt before the full rejoin takes over.
        #expect(c.reconnecting.filter { $0.0 == "signaling" }.map(\.1) == [1, 2, 3], "\(c.reconnecting)")
        #expect(c.reconnecting.filter { $0.0 != "signaling" }.count <= 1, "\(c.reconnecting)")
        #expect(c.leave?.reason == ClientReason.upgradeRefused)
        #expect(c.leave?.text.contains("gave up reconnecting after 3 attempts") == true, "\(c.leave?.text ?? "")")
    }

    @Test func scenario1ServerFailoverMovesTheSession() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue)
        let body = try #require(h.sim.failover(start.streamID))
        let payload = try StreamStart(payload: body["payload"]!.objectValue!)
        #expect(payload.streamID == start.streamID && payload.serverURLs != start.serverURLs)
        // What the webhook intake does for a new rtms_started of a live stream; a duplicate changes nothing.
        client.failover(serverURLs: payload.serverURLs)
        client.failover(serverURLs: payload.serverURLs)
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || ($0.count(.audio) >= before + 10 && !$0.reconnected.isEmpty) }
        client.leave()
        #expect(c.leave == nil)
        #expect(c.reconnected.map(\.0) == ["signaling"])
        let conns = h.sim.report(start.streamID)?["connections"]?.arrayValue ?? []
        let signaling = conns.filter { $0["connection"]?.stringValue == "signaling" }.compactMap { $0["path"]?.stringValue }
        #expect(signaling == ["/signaling", "/signaling/failover-1"])
    }

    @Test func frozenConnectionIsDeclaredDeadBySilence() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue) { cfg in
            fastPolicy(&cfg)
            // Silence of 1.5 s declares a connection dead: short, and still above what a loaded
            // machine delays a keep-alive answer by (1 s once ended a session in CI).
            cfg.keepAliveIntervalMs = 500
            cfg.keepAliveTimeoutMs = 1500
            // The simulator refuses the new media connection as a duplicate until it has seen the
            // dead one close; on a loaded CI machine its loop saw that after more than the five
            // attempts' 2.5 s once. More attempts: the test is about the silence, not the budget.
            cfg.policy.maxAttempts = 12
        }
        let t0 = nowMilliseconds()
        h.sim.chaos(start.streamID, connection: "audio", .freeze)
        collect(client, into: &c, timeout: 15) { $0.ended || !$0.reconnected.isEmpty }
        client.leave()
        #expect(c.reconnecting.first.map { $0.0 } == "media(audio)")
        #expect(
            c.events.contains {
                if case .reconnecting(_, _, _, let cause) = $0 { return cause.contains("no traffic") }; return false
            })
        #expect(c.reconnected.map(\.0) == ["media(audio)"], "events: \(c.events.suffix(12))")
        #expect(nowMilliseconds() - t0 < 12_000, "seconds, not Zoom's 92 s")
    }

    @Test func interruptedStreamIsRejoined() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue)
        h.sim.interrupt(start.streamID)
        client.interrupted()
        collect(client, into: &c, timeout: 10) { $0.ended || !$0.reconnected.isEmpty }
        client.leave()
        #expect(c.reconnected.map(\.0) == ["signaling"])
        #expect(c.reconnecting.filter { $0.0 == "signaling" }.count == 1, "the webhook and the lost sockets start one rejoin")
    }

    @Test func noReconnectionAfterTheStreamEnds() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h, types: MediaMask.audio.rawValue)
        h.sim.stopStream(start.streamID, reason: StopReason.hostTriggered)
        collect(client, into: &c, timeout: 10)
        #expect(c.leave?.reason == StopReason.hostTriggered)
        #expect(c.reconnecting.isEmpty)
        // rtms_stopped after the end changes nothing.
        client.stopped(reason: 6)
        var after = 0
        for _ in 0..<5 { client.poll(waitMilliseconds: 20) { _ in after += 1 } }
        #expect(after == 0)
    }
}

/// Backpressure in pause mode: an application that stops polling makes the core pause reading;
/// the pause is ours, so the liveness check does not call the connection dead, and it is bounded
/// (maxPauseMs): then reading resumes and media beyond the queue limit is dropped, counted and
/// reported. Nothing is lost silently: what was sent is what arrived plus what the counter says.
@Suite(.serialized) struct BackpressureTests {
    @Test func aLongPauseLosesNothingSilently() throws {
        let h = try SimHarness()
        let total = 20_000
        let start = h.meeting {
            $0.durationMs = 60_000; $0.bench = BenchPlan(count: total, size: 640, rate: 4000)
        }
        let client = try makeClient(types: MediaMask.audio.rawValue) { c in
            fastPolicy(&c)
            c.queue = EventQueue.Limits(highWaterBytes: 256 << 10, lowWaterBytes: 64 << 10)
            // Silence is pinged after 500 ms and fatal after 2 s (a paused connection excepted).
            c.keepAliveIntervalMs = 500
            c.keepAliveTimeoutMs = 2000
            c.maxPauseMs = 2500
        }
        defer { client.leave() }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.joinConfirm != nil }
        #expect(c.joinConfirm?.reason == 0)
        // The application stops polling for longer than the liveness timeout and the pause limit.
        sleepMs(6000)
        let deadline = nowMilliseconds() + 20_000
        var sent = -1
        while nowMilliseconds() < deadline {
            collect(client, into: &c, timeout: 0.5) { _ in false }
            sent = Int(h.sim.report(start.streamID)?["sent"]?["audio"]?.intValue ?? -1)
            if sent == total && c.count(.audio) + client.counters.droppedQueueFull >= total { break }
        }
        collect(client, into: &c, timeout: 0.3) { _ in false }
        let counters = client.counters
        let seqs = (c.media[.audio] ?? []).compactMap(\.sequence)
        #expect(sent == total)
        #expect(Set(seqs).count == seqs.count, "no duplicates")
        #expect(c.reconnecting.isEmpty, "a connection we paused is not dead: \(c.reconnecting)")
        #expect(counters.readPauses >= 1 && counters.droppedQueueFull > 0, "the pause was bounded: \(counters)")
        #expect(
            c.count(.audio) + counters.droppedQueueFull == total,
            "received \(c.count(.audio)) + dropped \(counters.droppedQueueFull) == sent \(total)")
        let warnings = c.events.compactMap { e -> String? in
            if case .warning(let code, let text) = e, code == ClientReason.queueFull { return text }
            return nil
        }
        #expect(warnings.count == 2 && warnings.last?.contains("\(counters.droppedQueueFull) media messages were dropped") == true, "\(warnings)")
    }
}

extension BackpressureTests {
    /// A pause belongs to its session: after leave, the next join on the same client reads at
    /// once, even with no pause limit (a paused connection would never report anything).
    @Test func aPauseDoesNotOutliveItsSession() throws {
        let h = try SimHarness()
        let first = h.meeting {
            $0.durationMs = 60_000; $0.bench = BenchPlan(count: 20_000, size: 640, rate: 4000)
        }
        let client = try makeClient(types: MediaMask.audio.rawValue) { c in
            c.queue = EventQueue.Limits(highWaterBytes: 64 << 10, lowWaterBytes: 16 << 10)
            c.maxPauseMs = 0
        }
        defer { client.leave() }
        try client.join(instanceID: first.instanceID, streamID: first.streamID, signature: nil, serverURLs: first.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.joinConfirm != nil }
        let deadline = nowMilliseconds() + 10_000
        while client.counters.readPauses == 0 && nowMilliseconds() < deadline { sleepMs(50) }
        #expect(client.counters.readPauses >= 1, "reading paused while nobody polled")
        client.leave()
        let second = h.meeting { $0.durationMs = 30_000 }
        try client.join(instanceID: second.instanceID, streamID: second.streamID, signature: nil, serverURLs: second.serverURLs)
        var d = Collected()
        collect(client, into: &d, timeout: 5) { $0.ended || $0.count(.audio) >= 20 }
        #expect(d.joinConfirm?.reason == 0 && d.count(.audio) >= 20, "the new session's media flows: \(d.count(.audio))")
    }

    /// Drop mode: the application stops polling, new media is dropped and counted, keep-alives
    /// are answered all along, and once it polls again the stream flows at once.
    @Test func dropModeKeepsTheStreamAliveAndRecoversAtOnce() throws {
        let h = try SimHarness()
        let total = 24_000
        let start = h.meeting {
            $0.durationMs = 60_000; $0.keepAliveMs = 1000; $0.bench = BenchPlan(count: total, size: 640, rate: 3000)
        }
        let client = try makeClient(types: MediaMask.audio.rawValue) { c in
            c.queue = EventQueue.Limits(highWaterBytes: 256 << 10, lowWaterBytes: 64 << 10, dropWhenFull: true)
        }
        defer { client.leave() }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.joinConfirm != nil }
        sleepMs(4000)
        #expect(client.counters.droppedQueueFull > 0, "the queue filled")
        let resumed = nowMilliseconds()
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 5) { $0.count(.audio) >= before + 2000 }
        #expect(c.count(.audio) >= before + 2000, "flowing again within 5 s of polling (\(nowMilliseconds() - resumed) ms)")
        let deadline = nowMilliseconds() + 15_000
        while nowMilliseconds() < deadline && c.count(.audio) + client.counters.droppedQueueFull < total {
            collect(client, into: &c, timeout: 0.5) { _ in false }
        }
        let r = h.sim.report(start.streamID)
        let kaSent = Int(r?["keepalives_sent"]?.intValue ?? 0), kaAnswered = Int(r?["keepalives_answered"]?.intValue ?? 0)
        #expect(kaSent >= 4 && kaAnswered >= kaSent - 2, "keep-alives answered while dropping: \(kaAnswered) of \(kaSent)")
        #expect(c.reconnecting.isEmpty && c.leave == nil)
        #expect(c.count(.audio) + client.counters.droppedQueueFull == total)
    }
}

@Suite(.serialized) struct ReleaseClosesEverythingTests {
    /// rtms_started after rtms_started, 20 ms apart, each naming another server: connections are
    /// opened and abandoned mid-dial, mid-upgrade and mid-handshake. Once the handle leaves, every
    /// TCP connection it opened is closed, whatever was in flight.
    @Test func rapidFailoversLeaveNoSocketBehind() throws {
        let h = try SimHarness { $0.defaults.durationMs = 60_000 }
        let start = h.meeting()
        let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue) { fastPolicy(&$0) }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= 5 }
        #expect(c.joinConfirm?.reason == 0)
        for i in 0..<300 {
            client.failover(serverURLs: "ws://127.0.0.1:\(h.sim.port)/signaling/rapid-\(i)")
            collect(client, into: &c, timeout: Double(i % 7) * 0.005) { _ in false }
        }
        #expect(c.leave == nil)
        client.leave()
        let deadline = nowMilliseconds() + 4000
        while h.sim.openSockets > 0 && nowMilliseconds() < deadline { sleepMs(50) }
        let stillOpen =
            h.sim.report(start.streamID)?["connections"]?.arrayValue?.filter { $0["closed_ms"] == .null }
            .map { "\($0["connection"]?.stringValue ?? "?") \($0["path"]?.stringValue ?? "?")" } ?? []
        #expect(
            h.sim.openSockets == 0,
            "\(h.sim.openSockets) connections still open after leave; WebSockets of the stream open: \(stillOpen); tcp: \(tcpStates(port: h.sim.port))")
    }

    /// A server that accepts TCP and never answers the upgrade (a dead or overloaded old
    /// server). A failover away from it abandons the connection mid-upgrade: it must be closed
    /// then, not left ESTABLISHED until the peer gives up.
    @Test func aConnectionAbandonedMidUpgradeIsClosed() throws {
        let open = NIOLockedValueBox(0)
        let blackHole = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                open.withLockedValue { $0 += 1 }
                ch.closeFuture.whenComplete { _ in open.withLockedValue { $0 -= 1 } }
                return ch.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? blackHole.close().wait() }
        let port = blackHole.localAddress?.port ?? 0
        let h = try SimHarness { $0.defaults.durationMs = 60_000 }
        let start = h.meeting()
        let client = try makeClient(types: MediaMask.audio.rawValue) { fastPolicy(&$0) }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= 5 }
        for i in 0..<5 {
            client.failover(serverURLs: "ws://127.0.0.1:\(port)/signaling/silent-\(i)")
            collect(client, into: &c, timeout: 0.3) { _ in false }
        }
        #expect(open.withLockedValue { $0 } <= 1, "only the newest attempt may still be open: \(open.withLockedValue { $0 })")
        client.failover(serverURLs: start.serverURLs)
        collect(client, into: &c, timeout: 0.5) { _ in false }
        client.leave()
        let deadline = nowMilliseconds() + 3000
        while open.withLockedValue({ $0 }) > 0 && nowMilliseconds() < deadline { sleepMs(50) }
        #expect(open.withLockedValue { $0 } == 0, "abandoned connections still open: \(open.withLockedValue { $0 })")
    }
}

/// Lines of /proc/net/tcp that involve `port` (either end): local, remote, state (hex).
func tcpStates(port: Int) -> [String] {
    guard let f = fopen("/proc/net/tcp", "r") else { return [] }
    defer { fclose(f) }
    var out: [String] = []
    var line = [CChar](repeating: 0, count: 512)
    let hex = String(format4: port)
    while fgets(&line, 512, f) != nil {
        let l = String(cString: line)
        let cols = l.split(separator: " ")
        guard cols.count > 3 else { continue }
        if (cols[1].hasSuffix(":" + hex) || cols[2].hasSuffix(":" + hex)) && cols[3] != "06" { out.append("\(cols[1]) \(cols[2]) st=\(cols[3])") }
    }
    return out
}

extension String {
    init(format4 v: Int) {
        let digits = Array("0123456789ABCDEF")
        var s = ""
        for shift in stride(from: 12, through: 0, by: -4) { s.append(digits[(v >> shift) & 0xF]) }
        self = s
    }
}
