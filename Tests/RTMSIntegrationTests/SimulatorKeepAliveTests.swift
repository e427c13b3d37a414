// The simulator interrupts connections that stop answering keep-alives, as Zoom's service does.
// The client here is a bare WebSocket connection that speaks the protocol by hand.

import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator
@testable import RTMSTransport

/// A hand-driven protocol peer: sends what the test says, records what arrives, and answers
/// keep-alives only when told to.
final class RawPeer: MessageConnectionDelegate, @unchecked Sendable {
    let lock = NIOLock()
    var received: [RTMSMessage] = []
    var closed: CloseInfo?
    var opened = false
    let answerKeepAlives: Bool
    let first: RTMSMessage
    var connection: (any MessageConnection)?
    let loop = Runtime.group.next()

    init(first: RTMSMessage, answerKeepAlives: Bool) { self.first = first; self.answerKeepAlives = answerKeepAlives }

    func connect(_ url: String) throws {
        let u = try EndpointURL(parsing: url)
        try loop.submit { self.connection = WebSocketTransport().open(u, id: 1, config: TransportConfig(), on: self.loop, delegate: self) }.wait()
    }

    func connectionOpened(_ c: any MessageConnection) {
        lock.withLock { opened = true }
        c.send(JSONCodec().encode(first), text: true)
    }
    func connectionFailed(_ c: any MessageConnection, _ failure: TransportFailure) { lock.withLock { closed = CloseInfo(error: failure.message) } }
    func connectionMessage(_ c: any MessageConnection, _ data: inout ByteBuffer, text: Bool) {
        guard let m = try? data.withUnsafeReadableBytes({ try JSONCodec().decode($0) }) else { return }
        lock.withLock { received.append(m) }
        if case .keepAliveRequest(let k) = m, answerKeepAlives { c.send(JSONCodec().encode(.keepAliveResponse(k)), text: true) }
    }
    func connectionClosed(_ c: any MessageConnection, _ info: CloseInfo) { lock.withLock { closed = info } }

    var messages: [RTMSMessage] { lock.withLock { received } }
    var closeReport: CloseInfo? { lock.withLock { closed } }
}

func waitUntil(_ seconds: Double, _ cond: () -> Bool) -> Bool {
    let deadline = nowMilliseconds() + Int64(seconds * 1000)
    while nowMilliseconds() < deadline {
        if cond() { return true }
        sleepMs(20)
    }
    return cond()
}

@Suite(.serialized) struct SimulatorKeepAliveTests {
    func handshake(_ start: StreamStart) -> SignalingHandshakeRequest {
        SignalingHandshakeRequest(
            instanceID: start.instanceID, streamID: start.streamID,
            signature: Signatures.handshake(
                clientID: testClientID, clientSecret: testClientSecret,
                instanceID: start.instanceID, streamID: start.streamID))
    }

    @Test func silentSignalingIsInterruptedAndTheStreamEndsAfterTheWindow() throws {
        let receiver = try WebhookReceiver(secret: "s")
        defer { receiver.shutdown() }
        let h = try SimHarness { $0.webhookURL = receiver.url }
        let start = h.meeting {
            $0.keepAliveMs = 100; $0.reconnectWindowMs = 400
        }
        let peer = RawPeer(first: .signalingHandshakeRequest(handshake(start)), answerKeepAlives: false)
        try peer.connect(start.serverURLs)
        #expect(waitUntil(5) { peer.closeReport != nil })
        let close = try #require(peer.closeReport)
        #expect(close.peerCloseCode == nil, "interrupted without a close frame")
        let keepAlives = peer.messages.filter {
            if case .keepAliveRequest = $0 { return true }; return false
        }
        #expect(keepAlives.count == 3)
        #expect(
            keepAlives.allSatisfy {
                if case .keepAliveRequest(let k) = $0 { return k.sequence != nil && k.timestamp != nil }; return false
            })
        #expect(waitUntil(5) { receiver.all.count >= 3 })
        let events = receiver.all.compactMap { (try? JSON.parse($0.body))?["event"]?.stringValue }
        #expect(events == ["meeting.rtms_started", "meeting.rtms_interrupted", "meeting.rtms_stopped"])
        let stopped = receiver.all.last.flatMap { try? JSON.parse($0.body) }
        #expect(stopped?["payload"]?["stop_reason"]?.intValue == Int64(StopReason.keepAliveTimeout))
        #expect(h.sim.report(start.streamID)?["interruptions"]?.intValue == 1)
    }

    @Test func silentMediaIsInterruptedAndSignalingIsTold() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.keepAliveMs = 100; $0.mediaReconnectWindowMs = 60_000; $0.durationMs = 60_000
        }
        let sig = RawPeer(first: .signalingHandshakeRequest(handshake(start)), answerKeepAlives: true)
        try sig.connect(start.serverURLs)
        #expect(
            waitUntil(5) {
                sig.messages.contains {
                    if case .signalingHandshakeResponse = $0 { return true }; return false
                }
            })
        guard
            case .signalingHandshakeResponse(let resp)? = sig.messages.first(where: {
                if case .signalingHandshakeResponse = $0 { return true }; return false
            }),
            let transcriptURL = resp.url(for: "transcript")
        else { Issue.record("no transcript URL"); return }
        let hs = handshake(start)
        let media = RawPeer(
            first: .dataHandshakeRequest(
                DataHandshakeRequest(
                    instanceID: hs.instanceID, streamID: hs.streamID,
                    signature: hs.signature, mediaType: 8)), answerKeepAlives: false)
        try media.connect(transcriptURL)
        #expect(
            waitUntil(5) {
                media.messages.contains {
                    if case .dataHandshakeResponse = $0 { return true }; return false
                }
            })
        try sig.loop.submit { sig.connection?.send(JSONCodec().encode(.clientReady(streamID: start.streamID)), text: true) }.wait()
        #expect(waitUntil(5) { media.closeReport != nil })
        #expect(media.closeReport?.peerCloseCode == nil)
        #expect(
            waitUntil(2) {
                sig.messages.contains {
                    if case .eventUpdate(let e) = $0 { return e.eventType == 7 && e.event["media_type"]?.intValue == 8 }; return false
                }
            })
        #expect(
            sig.messages.contains {
                $0 == .streamStateUpdate(StateUpdate(state: 2, reason: 14, timestamp: nil, streamID: start.streamID))
                    || {
                        if case .streamStateUpdate(let s) = $0 { return s.state == 2 && s.reason == 14 }
                        return false
                    }($0)
            })
        #expect(sig.closeReport == nil, "signaling stays up")
        #expect(h.sim.report(start.streamID)?["state"]?.stringValue == "running")
    }
}
