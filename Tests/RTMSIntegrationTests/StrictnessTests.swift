// A hostile or broken server, seen from the client: RFC 6455 violations fail the connection with
// the close code the RFC names (and the core reconnects), media of another kind is dropped and
// counted, and failures are reported with text that says what happened.

import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator

@Suite(.serialized) struct WebSocketStrictnessTests {
    /// Joins audio + transcript (one connection each) and returns what was collected so far.
    func joined(_ h: SimHarness, _ configure: @escaping (inout ClientConfig) -> Void = { _ in }) throws -> (RTMSClient, StreamStart, Collected) {
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue) { c in
            fastPolicy(&c)
            configure(&c)
        }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= 5 }
        #expect(c.joinConfirm?.reason == 0)
        return (client, start, c)
    }

    /// The audio connection is failed for `why`, reconnected, and audio flows again.
    func expectFailedAndRecovered(
        _ client: RTMSClient, _ c: inout Collected, causeContains why: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || (!$0.reconnected.isEmpty && $0.count(.audio) >= before + 10) }
        let causes = c.events.compactMap { e -> String? in
            if case .reconnecting(_, _, _, let cause) = e { return cause }; return nil
        }
        #expect(causes.contains { $0.contains(why) }, "causes: \(causes)", sourceLocation: sourceLocation)
        #expect(c.reconnected.map(\.0) == ["media(audio)"], sourceLocation: sourceLocation)
        #expect(c.leave == nil, sourceLocation: sourceLocation)
    }

    @Test func rsv1WithoutAnExtensionFailsTheConnection() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h)
        defer { client.leave() }
        let bytes = JSONCodec.encodeMedia(kind: .audio, userID: 1, userName: "x", payload: [1, 2, 3, 4], timestamp: 1, sequence: 999_999)
        #expect(h.sim.injectFrame(start.streamID, connection: "audio", opcode: 0x1, rsv1: true, payload: bytes))
        expectFailedAndRecovered(client, &c, causeContains: "RSV")
        #expect(!(c.media[.audio] ?? []).contains { $0.sequence == 999_999 }, "the frame was not delivered")
    }

    @Test func aReservedOpcodeFailsTheConnection() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h)
        defer { client.leave() }
        #expect(h.sim.injectFrame(start.streamID, connection: "audio", opcode: 0x3, payload: [1, 2, 3]))
        expectFailedAndRecovered(client, &c, causeContains: "reserved opcode")
    }

    @Test func aMaskedFrameFromTheServerFailsTheConnection() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h)
        defer { client.leave() }
        let bytes = JSONCodec.encodeMedia(kind: .audio, userID: 1, userName: "x", payload: [1, 2, 3, 4], timestamp: 1, sequence: 888_888)
        #expect(h.sim.injectFrame(start.streamID, connection: "audio", opcode: 0x1, masked: true, payload: bytes))
        expectFailedAndRecovered(client, &c, causeContains: "masked")
        #expect(!(c.media[.audio] ?? []).contains { $0.sequence == 888_888 })
    }

    @Test(arguments: [([UInt8]([0x03]), "one-byte"), ([0x03, 0xED], "1005"), ([0x03, 0xE8, 0xC3, 0x28], "not UTF-8")])
    func aMalformedCloseFrameFailsTheConnection(_ v: ([UInt8], String)) throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h)
        defer { client.leave() }
        #expect(h.sim.injectFrame(start.streamID, connection: "audio", opcode: 0x8, payload: v.0))
        expectFailedAndRecovered(client, &c, causeContains: v.1)
    }

    @Test func invalidUTF8InATextMessageFailsTheConnection() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h)
        defer { client.leave() }
        let bad: [UInt8] = Array(#"{"msg_type":12,"timestamp":1,"x":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(h.sim.injectFrame(start.streamID, connection: "audio", opcode: 0x1, payload: bad))
        expectFailedAndRecovered(client, &c, causeContains: "UTF-8")
    }

    @Test func aMessageOverTheLimitIsReportedAsSuch() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h) { $0.transport.maxMessageBytes = 64 << 10 }
        defer { client.leave() }
        #expect(h.sim.inject(start.streamID, connection: "audio", raw: String(repeating: "a", count: 100_000)))
        expectFailedAndRecovered(client, &c, causeContains: "size limit")
    }

    @Test func mediaOfAnotherKindIsDroppedAndCounted() throws {
        let h = try SimHarness()
        var (client, start, c) = try joined(h)
        defer { client.leave() }
        let transcript = JSONCodec.encodeMedia(
            kind: .transcript, userID: 1, userName: "x", payload: Array("not for you".utf8),
            timestamp: 1, sequence: 777_777)
        #expect(h.sim.inject(start.streamID, connection: "audio", raw: String(decoding: transcript, as: UTF8.self)))
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= before + 10 }
        #expect(!(c.media[.transcript] ?? []).contains { $0.sequence == 777_777 }, "a transcript on the audio connection is not a transcript")
        #expect(client.counters.droppedWrongKind == 1 && client.counters.droppedUnexpected == 1)
        #expect(c.reconnecting.isEmpty)
    }
}

@Suite(.serialized) struct UpgradeRefusalTests {
    func join(_ h: SimHarness) throws -> Collected {
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue) { $0.policy.connectRetryDelayMs = 300 }
        defer { client.leave() }
        try client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs,
            timeoutMilliseconds: 3000)
        return collect(client, timeout: 10) { $0.ended || $0.joinConfirm != nil }
    }

    @Test(arguments: [403, 302])
    func aRefusalForGoodFailsTheJoinAtOnceSayingWhy(_ status: Int) throws {
        let h = try SimHarness()
        h.sim.refuseConnections(milliseconds: 10_000, status: status)
        let t0 = nowMilliseconds()
        let c = try join(h)
        #expect(c.joinConfirm?.reason == ClientReason.upgradeRefused)
        let text = c.joinConfirm?.text ?? ""
        #expect(text.contains("HTTP \(status)") && !text.contains("timed out"), "\(text)")
        if status == 302 { #expect(text.contains("redirect to")) }
        #expect(nowMilliseconds() - t0 < 2000, "not retried until the join timeout")
    }

    @Test func aServerErrorIsRetriedAndTheFailureLeadsTheText() throws {
        let h = try SimHarness()
        h.sim.refuseConnections(milliseconds: 10_000, status: 500)
        let c = try join(h)
        #expect(c.joinConfirm?.reason == ClientReason.upgradeRefused)
        let text = c.joinConfirm?.text ?? ""
        #expect(text.hasPrefix("signaling connection to") && text.contains("HTTP 500") && text.contains("gave up"), "\(text)")
        #expect(
            c.events.filter {
                if case .warning(_, let t) = $0 { return t.contains("attempt") }; return false
            }.count >= 2, "retried")
    }
}
