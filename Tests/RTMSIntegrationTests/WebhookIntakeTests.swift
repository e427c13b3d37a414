// The webhook intake in the core: its decisions without sockets (signature, replay window,
// limits, validation, dedupe), then the real HTTP(S) server fed by the simulator's signed
// webhooks, routing failover / interruption / end to the live client of the stream.

import NIOCore
import NIOPosix
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator
@testable import RTMSWebhook

#if canImport(Glibc)
import Glibc
#endif

private let secret = "whsec-intake"

private func signedRequest(
    _ body: String, path: String = "/", secret: String? = secret, timestamp: Int64? = nil,
    signature: String? = nil
) -> WebhookRequest {
    let bytes = Array(body.utf8)
    var headers: [String: String] = ["content-type": "application/json"]
    let ts = String(timestamp ?? nowMilliseconds() / 1000)
    if let secret {
        headers["x-zm-request-timestamp"] = ts
        headers["x-zm-signature"] = signature ?? Signatures.webhook(secretToken: secret, timestamp: ts, body: bytes)
    }
    return WebhookRequest(method: "POST", uri: path, headers: headers, body: bytes)
}

private func settings(_ change: (inout WebhookSettings) -> Void = { _ in }) -> WebhookSettings {
    var s = WebhookSettings()
    s.host = "127.0.0.1"
    s.port = 0
    s.path = "/zoom/webhook"
    s.secretToken = secret
    change(&s)
    return s
}

private let startedBody =
    #"{"event":"meeting.rtms_started","event_ts":1,"payload":{"meeting_uuid":"m==","rtms_stream_id":"s1","server_urls":"ws://127.0.0.1:1/signaling"}}"#

@Suite struct WebhookIntakeDecisionTests {
    @Test func aCorrectlySignedEventIsAcceptedOnce() {
        var intake = WebhookIntake(settings: settings())
        let (reply, d) = intake.handle(signedRequest(startedBody, path: "/zoom/webhook"), nowMs: nowMilliseconds())
        #expect(reply == WebhookReply(status: 200, body: #"{"status":"ok"}"#))
        #expect(d?.event == "meeting.rtms_started" && d?.rtmsKind == "started" && d?.streamID == "s1")
        #expect(d?.body == Array(startedBody.utf8))
        // Zoom's retry: the same body again. Answered 200, not delivered again.
        let (again, dup) = intake.handle(signedRequest(startedBody, path: "/zoom/webhook"), nowMs: nowMilliseconds())
        #expect(again.status == 200 && dup == nil)
        // New server_urls for the same stream is a failover: delivered.
        let moved = startedBody.replacingFirst("127.0.0.1:1", with: "127.0.0.1:2").replacingFirst("\"event_ts\":1", with: "\"event_ts\":2")
        #expect(intake.handle(signedRequest(moved, path: "/zoom/webhook"), nowMs: nowMilliseconds()).delivery != nil)
        // Failover back to the first server: a new announcement, not a duplicate of the first one.
        let back = startedBody.replacingFirst("\"event_ts\":1", with: "\"event_ts\":3")
        #expect(intake.handle(signedRequest(back, path: "/zoom/webhook"), nowMs: nowMilliseconds()).delivery != nil)
        // Zoom's retry of that one is a duplicate again.
        #expect(intake.handle(signedRequest(back, path: "/zoom/webhook"), nowMs: nowMilliseconds()).delivery == nil)
        #expect(intake.counters.accepted == 3 && intake.counters.duplicates == 2 && intake.counters.requests == 5)
    }

    @Test func forgedMissingAndReplayedSignaturesAre401() {
        var intake = WebhookIntake(settings: settings())
        let now = nowMilliseconds()
        let forged = signedRequest(startedBody, path: "/zoom/webhook", signature: "v0=" + String(repeating: "0", count: 64))
        #expect(intake.handle(forged, nowMs: now).reply.status == 401)
        let wrongKey = signedRequest(startedBody, path: "/zoom/webhook", secret: "not-the-secret")
        #expect(intake.handle(wrongKey, nowMs: now).reply.status == 401)
        let unsigned = signedRequest(startedBody, path: "/zoom/webhook", secret: nil)
        #expect(intake.handle(unsigned, nowMs: now).reply.status == 401)
        // A genuine signature over an old timestamp: a replay.
        let old = signedRequest(startedBody, path: "/zoom/webhook", timestamp: now / 1000 - 301)
        let (r, d) = intake.handle(old, nowMs: now)
        #expect(r.status == 401 && r.body.contains("window") && d == nil)
        // The body was changed after signing.
        var tampered = signedRequest(startedBody, path: "/zoom/webhook")
        tampered.body = Array(startedBody.replacingFirst("s1", with: "s2").utf8)
        #expect(intake.handle(tampered, nowMs: now).reply.status == 401)
        #expect(intake.counters.unauthorized == 5 && intake.counters.accepted == 0)
        // Inside the window it is fine.
        #expect(intake.handle(signedRequest(startedBody, path: "/zoom/webhook", timestamp: now / 1000 - 299), nowMs: now).reply.status == 200)
    }

    @Test func pathMethodSizeAndShapeErrors() {
        var intake = WebhookIntake(settings: settings { $0.maxBodyBytes = 512 })
        let now = nowMilliseconds()
        #expect(intake.handle(signedRequest(startedBody, path: "/other"), nowMs: now).reply == WebhookReply(status: 404, body: #"{"error":"Not Found"}"#))
        var get = signedRequest(startedBody, path: "/zoom/webhook")
        get.method = "GET"
        #expect(intake.handle(get, nowMs: now).reply.status == 404)
        #expect(
            intake.handle(signedRequest(startedBody, path: "/zoom/webhook?x=1"), nowMs: now).reply.status == 200, "the query string is not part of the path")
        #expect(intake.checkHead(method: "POST", uri: "/zoom/webhook", contentLength: 513)?.status == 413)
        #expect(intake.checkHead(method: "POST", uri: "/zoom/webhook", contentLength: 512) == nil)
        let big = #"{"event":"x","pad":""# + String(repeating: "a", count: 600) + #""}"#
        #expect(intake.handle(signedRequest(big, path: "/zoom/webhook"), nowMs: now).reply.status == 413)
        #expect(
            intake.handle(signedRequest("{not json", path: "/zoom/webhook"), nowMs: now).reply
                == WebhookReply(status: 400, body: #"{"error":"Invalid JSON received"}"#))
        #expect(intake.handle(signedRequest("[1,2]", path: "/zoom/webhook"), nowMs: now).reply.status == 400)
        let noEvent = intake.handle(signedRequest(#"{"payload":{}}"#, path: "/zoom/webhook"), nowMs: now).reply
        #expect(noEvent.status == 400 && noEvent.body.contains("event"))
        #expect(intake.handle(signedRequest(#"{"event":7}"#, path: "/zoom/webhook"), nowMs: now).reply.status == 400)
        let c = intake.counters
        #expect(c.notFound == 2 && c.tooLarge == 2 && c.malformed == 4 && c.accepted == 1)
    }

    @Test func theValidationChallengeIsAnswered() throws {
        var intake = WebhookIntake(settings: settings())
        let body = #"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680}"#
        let (r, d) = intake.handle(signedRequest(body, path: "/zoom/webhook"), nowMs: nowMilliseconds())
        #expect(r.status == 200 && d == nil)
        let answer = try JSON.parse(Array(r.body.utf8))
        #expect(answer["plainToken"]?.stringValue == "qgg8vlvZRS6UYooatFL8Aw")
        #expect(answer["encryptedToken"]?.stringValue == Signatures.urlValidation(secretToken: secret, plainToken: "qgg8vlvZRS6UYooatFL8Aw"))
        // Zoom validates again later with the same token: answered again, never deduped.
        #expect(intake.handle(signedRequest(body, path: "/zoom/webhook"), nowMs: nowMilliseconds()).reply.status == 200)
        #expect(intake.counters.validations == 2)
        // Without a secret the challenge cannot be answered: a clear 400.
        var open = WebhookIntake(settings: settings { $0.secretToken = nil })
        let r2 = open.handle(signedRequest(body, path: "/zoom/webhook", secret: nil), nowMs: nowMilliseconds()).reply
        #expect(r2.status == 400 && r2.body.contains("ZM_RTMS_WEBHOOK_SECRET"))
    }

    @Test func withoutASecretNothingIsVerified() {
        var intake = WebhookIntake(settings: settings { $0.secretToken = nil })
        #expect(intake.handle(signedRequest(startedBody, path: "/zoom/webhook", secret: nil), nowMs: nowMilliseconds()).delivery != nil)
    }

    @Test func theDedupeMemoryIsBounded() {
        var intake = WebhookIntake(
            settings: settings {
                $0.dedupeCapacity = 8; $0.secretToken = nil
            })
        let now = nowMilliseconds()
        for i in 0..<20 {
            #expect(intake.handle(signedRequest(#"{"event":"e","n":\#(i)}"#, path: "/zoom/webhook", secret: nil), nowMs: now).delivery != nil)
        }
        // The newest are remembered, the oldest forgotten.
        #expect(intake.handle(signedRequest(#"{"event":"e","n":19}"#, path: "/zoom/webhook", secret: nil), nowMs: now).delivery == nil)
        #expect(intake.handle(signedRequest(#"{"event":"e","n":0}"#, path: "/zoom/webhook", secret: nil), nowMs: now).delivery != nil)
        // And they expire with the window.
        #expect(
            intake.handle(
                signedRequest(#"{"event":"e","n":18}"#, path: "/zoom/webhook", secret: nil),
                nowMs: now + Int64(intake.settings.dedupeWindowSeconds) * 1000 + 1
            ).delivery != nil)
    }

    @Test func theInboxDropsTheOldestAndCountsIt() {
        let inbox = WebhookInbox(capacity: 3)
        for i in 0..<5 {
            inbox.push(WebhookDelivery(event: "e\(i)", body: [], object: [:]))
        }
        #expect(inbox.dropped == 2)
        #expect(inbox.take(max: 10).map(\.event) == ["e2", "e3", "e4"])
        #expect(inbox.wait(milliseconds: 0) == false)
    }

    /// An application that drains by poll alone (both bindings) never calls waitStarted: the
    /// announcements it polled must not be counted as lost when the waitStarted list is full.
    /// (The soak found 543 false drops in 30 minutes, from the 1,025th new stream on.)
    @Test func pollingAloneNeverCountsAFalseDrop() {
        let inbox = WebhookInbox(capacity: 4)
        for i in 0..<50 {
            var d = WebhookDelivery(event: "meeting.rtms_started", body: [], object: [:])
            d.rtmsKind = "started"
            d.streamID = "s\(i)"
            #expect(inbox.push(d) == 0)
            #expect(inbox.take(max: 10).map(\.streamID) == ["s\(i)"])
        }
        #expect(inbox.dropped == 0)
        // The waitStarted list kept the newest 4 (both ways see every announcement).
        for i in 46..<50 {
            if case .started(let d) = inbox.waitStarted(streamID: nil, milliseconds: 0) { #expect(d.streamID == "s\(i)") } else { Issue.record("no s\(i)") }
        }

        // waitStarted alone: what it took is still polled (documented), and the queue's own
        // overflow is the only loss counted, once per event.
        for i in 0..<6 {
            var d = WebhookDelivery(event: "meeting.rtms_started", body: [], object: [:])
            d.rtmsKind = "started"
            d.streamID = "w\(i)"
            inbox.push(d)
        }
        #expect(inbox.dropped == 2)
        if case .started(let d) = inbox.waitStarted(streamID: "w5", milliseconds: 0) { #expect(d.streamID == "w5") } else { Issue.record("no w5") }
        #expect(inbox.take(max: 10).map(\.streamID) == ["w2", "w3", "w4", "w5"])
        #expect(inbox.dropped == 2)
        if case .started(let d) = inbox.waitStarted(streamID: nil, milliseconds: 0) { #expect(d.streamID == "w2") } else { Issue.record("no w2") }
    }
}

extension String {
    func replacingFirst(_ a: String, with b: String) -> String { replacing(a, with: b, maxReplacements: 1) }
}

/// POSTs with the simulator's HTTP client; returns (status, body).
func post(_ url: String, _ body: [UInt8], headers: [(String, String)] = [], caPath: String? = nil) -> (Int, String) {
    do {
        let r = try WebhookPoster.post(url: url, body: body, headers: headers, on: Runtime.group.next(), caPath: caPath).wait()
        return (r.status, String(decoding: r.body, as: UTF8.self))
    } catch {
        return (0, "\(error)")
    }
}

func signedHeaders(_ body: [UInt8], secret: String = secret) -> [(String, String)] {
    let ts = String(nowMilliseconds() / 1000)
    return [
        ("Content-Type", "application/json"), ("x-zm-request-timestamp", ts),
        ("x-zm-signature", Signatures.webhook(secretToken: secret, timestamp: ts, body: body)),
    ]
}

@Suite(.serialized) struct WebhookServerTests {
    @Test func theServerAnswersOverHTTP() throws {
        let server = try WebhookServer(settings: settings { $0.maxBodyBytes = 4096 })
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/zoom/webhook"
        let body = Array(startedBody.utf8)
        #expect(post(url, body, headers: signedHeaders(body)).0 == 200)
        #expect(post(url, body, headers: signedHeaders(body)).0 == 200, "a duplicate is still answered 200")
        #expect(post(url, body, headers: signedHeaders(body, secret: "forged")).0 == 401)
        #expect(post("http://127.0.0.1:\(server.port)/elsewhere", body, headers: signedHeaders(body)).0 == 404)
        let big = [UInt8](repeating: 0x20, count: 64 << 10)
        #expect(post(url, big, headers: signedHeaders(big)).0 == 413)
        #expect(post(url, Array("nope".utf8), headers: signedHeaders(Array("nope".utf8))).0 == 400)
        // Still serving after all that.
        let other = Array(startedBody.replacingFirst("s1", with: "s9").utf8)
        #expect(post(url, other, headers: signedHeaders(other)).0 == 200)
        #expect(server.inbox.wait(milliseconds: 2000))
        var got: [WebhookDelivery] = []
        for _ in 0..<50 where got.count < 2 {
            got += server.inbox.take(max: 10)
            if got.count < 2 { _ = server.inbox.wait(milliseconds: 100) }
        }
        #expect(got.map(\.streamID) == ["s1", "s9"])
        #expect(got.allSatisfy { !$0.routedToLiveStream })
        let c = server.counters
        #expect(c.accepted == 2 && c.duplicates == 1 && c.unauthorized == 1 && c.notFound == 1 && c.tooLarge == 1 && c.malformed == 1)
        // Both were rtms_started for streams nobody joined: waitable.
        if case .started(let d) = server.inbox.waitStarted(streamID: "s9", milliseconds: 0) { #expect(d.streamID == "s9") } else { Issue.record("no s9") }
        if case .started(let d) = server.inbox.waitStarted(streamID: nil, milliseconds: 0) { #expect(d.streamID == "s1") } else { Issue.record("no s1") }
        if case .timedOut = server.inbox.waitStarted(streamID: nil, milliseconds: 50) {} else { Issue.record("expected a timeout") }
    }

    @Test func aTakenPortOrHalfATLSConfigurationIsAClearError() throws {
        let first = try WebhookServer(settings: settings())
        defer { first.stop() }
        #expect(throws: WebhookServerError.self) { try WebhookServer(settings: settings { $0.port = first.port }) }
        do {
            _ = try WebhookServer(settings: settings { $0.certificatePath = "/nonexistent.pem" })
            Issue.record("only a certificate must not start")
        } catch let e as WebhookServerError {
            #expect(e.description.contains("both"))
        }
        do {
            _ = try WebhookServer(
                settings: settings {
                    $0.certificatePath = "/nonexistent.pem"; $0.keyPath = "/nonexistent.key"
                })
            Issue.record("missing files must not start")
        } catch let e as WebhookServerError {
            #expect(e.description.contains("/nonexistent.pem"))
        }
    }

    @Test func stoppingWakesAWaiter() throws {
        let server = try WebhookServer(settings: settings())
        // A thread of its own blocks in the wait (not one of the core's event loops).
        let waiter = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? waiter.syncShutdownGracefully() }
        let outcome = waiter.next().submit { () -> String in
            switch server.inbox.waitStarted(streamID: nil, milliseconds: 10_000) {
            case .closed: "closed"
            case .timedOut: "timed out"
            case .started: "started"
            }
        }
        sleepMs(100)
        let t0 = nowMilliseconds()
        server.stop()
        #expect(try outcome.wait() == "closed")
        #expect(nowMilliseconds() - t0 < 5000)
        server.stop()  // idempotent
    }

    @Test func httpsWithGeneratedCertificates() throws {
        let tls = try GeneratedTLS.make()
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let base = tmp + "/openrtms-webhook-\(getpid())"
        try writeTestFile(base + "-cert.pem", tls.certificateChainPEM)
        try writeTestFile(base + "-key.pem", tls.privateKeyPEM)
        try writeTestFile(base + "-ca.pem", tls.caPEM)
        defer { for f in ["-cert.pem", "-key.pem", "-ca.pem"] { unlink(base + f) } }
        let server = try WebhookServer(
            settings: settings {
                $0.certificatePath = base + "-cert.pem"; $0.keyPath = base + "-key.pem"
            })
        defer { server.stop() }
        let body = Array(startedBody.utf8)
        #expect(post("https://127.0.0.1:\(server.port)/zoom/webhook", body, headers: signedHeaders(body), caPath: base + "-ca.pem").0 == 200)
        // Plain HTTP to the HTTPS port gets nowhere; a client that does not trust the CA neither.
        #expect(post("http://127.0.0.1:\(server.port)/zoom/webhook", body, headers: signedHeaders(body)).0 != 200)
        #expect(post("https://127.0.0.1:\(server.port)/zoom/webhook", body, headers: signedHeaders(body)).0 != 200)
        #expect(server.counters.accepted == 1)
    }
}

/// The simulator posts signed webhooks to the core's intake; the intake routes them.
@Suite(.serialized) struct WebhookRoutingTests {
    /// A running intake and a simulator that posts its signed webhooks there.
    private func intakeAndSimulator() throws -> (WebhookServer, SimHarness) {
        let server = try WebhookServer(settings: settings())
        do {
            let h = try SimHarness { c in
                c.webhookURL = "http://127.0.0.1:\(server.port)/zoom/webhook"
                c.webhookSecret = secret
                c.defaults.durationMs = 60_000
            }
            return (server, h)
        } catch {
            server.stop()
            throw error
        }
    }

    @Test func failoverInterruptionAndEndArriveByWebhook() throws {
        let (server, h) = try intakeAndSimulator()
        defer { server.stop() }
        var validated: Bool? = nil
        for _ in 0..<100 where validated == nil { validated = h.sim.webhookValidated; if validated == nil { sleepMs(20) } }
        #expect(validated == true, "the intake answered the simulator's url_validation challenge")
        _ = h.meeting()
        // The application waits for rtms_started and joins with it.
        guard case .started(let d) = server.inbox.waitStarted(streamID: nil, milliseconds: 5000) else {
            Issue.record("no rtms_started reached the intake")
            return
        }
        let start = try StreamStart(payload: d.object)
        let client = try makeClient(types: MediaMask.audio.rawValue) { fastPolicy(&$0) }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= 10 }
        #expect(c.joinConfirm?.reason == 0)

        // One connection per stream: a second handle cannot join the live stream.
        let second = try makeClient(types: MediaMask.audio.rawValue)
        #expect(throws: ClientError.self) {
            try second.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        }
        #expect(StreamDirectory.shared.client(for: start.streamID) === client)

        // Scenario 1 by webhook: the server fails over, the new rtms_started reaches the client.
        h.sim.failover(start.streamID)
        collect(client, into: &c, timeout: 10) { $0.ended || $0.reconnected.count >= 1 }
        #expect(c.reconnected.map(\.0) == ["signaling"])
        // Zoom retries that webhook: a duplicate, no second reconnection. (The socket loss and the
        // webhook race: either may start the rejoin, the webhook's URL wins.)
        let attemptsBefore = c.reconnecting.count
        h.sim.redeliver(start.streamID)
        var before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= before + 20 }
        #expect(c.reconnected.count == 1 && c.reconnecting.count == attemptsBefore, "the redelivery changed nothing")

        // Scenario 2 by webhook: rtms_interrupted.
        h.sim.interrupt(start.streamID)
        collect(client, into: &c, timeout: 10) { $0.ended || $0.reconnected.count >= 2 }
        #expect(c.reconnected.map(\.0) == ["signaling", "signaling"])
        before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= before + 10 }

        // The end: rtms_stopped, routed too (the stream state on signaling says the same).
        h.sim.stopStream(start.streamID, reason: StopReason.hostTriggered)
        collect(client, into: &c, timeout: 10)
        #expect(c.leave?.reason == StopReason.hostTriggered, "\(c.leave?.text ?? "no leave")")

        // What the application saw through the intake: every RTMS event, the routed ones marked.
        var seen: [WebhookDelivery] = []
        for _ in 0..<50 {
            seen += server.inbox.take(max: 100)
            if seen.filter({ $0.rtmsKind == "stopped" }).count == 1 { break }
            _ = server.inbox.wait(milliseconds: 100)
        }
        #expect(seen.map { $0.rtmsKind ?? $0.event } == ["started", "started", "interrupted", "stopped"])
        #expect(seen.map(\.routedToLiveStream) == [false, true, true, seen.last?.routedToLiveStream ?? false])
        let counters = server.counters
        #expect(counters.duplicates == 1 && counters.validations == 1 && counters.unauthorized == 0)

        // The stream is no longer live: another handle may join a stream of that id again.
        #expect(StreamDirectory.shared.client(for: start.streamID) == nil)
    }

    /// The path of the stream's newest signaling connection, as the simulator saw it.
    private func lastSignalingPath(_ sim: Simulator, _ stream: String) -> String? {
        sim.report(stream)?["connections"]?.arrayValue?.last { $0["connection"]?.stringValue == "signaling" }?["path"]?.stringValue
    }

    /// Waits (polling the client) until the stream's newest signaling connection is on `path`
    /// and audio flows again there.
    private func rejoined(_ h: SimHarness, _ client: RTMSClient, _ stream: String, at path: String, _ c: inout Collected) -> Bool {
        let deadline = nowMilliseconds() + 10_000
        while nowMilliseconds() < deadline && !c.ended {
            if lastSignalingPath(h.sim, stream) == path {
                let before = c.count(.audio)
                collect(client, into: &c, timeout: 5) { $0.ended || $0.count(.audio) >= before + 10 }
                return c.count(.audio) >= before + 10 && lastSignalingPath(h.sim, stream) == path
            }
            collect(client, into: &c, timeout: 0.1) { _ in false }
        }
        return false
    }

    @Test func failoverBackToAFormerServerAndInterruptionNamingANewOne() throws {
        let (server, h) = try intakeAndSimulator()
        defer { server.stop() }
        _ = h.meeting()
        guard case .started(let d) = server.inbox.waitStarted(streamID: nil, milliseconds: 5000) else {
            Issue.record("no rtms_started reached the intake")
            return
        }
        let start = try StreamStart(payload: d.object)
        let client = try makeClient(types: MediaMask.audio.rawValue) { fastPolicy(&$0) }
        defer { client.leave() }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.ended || $0.count(.audio) >= 10 }
        #expect(lastSignalingPath(h.sim, start.streamID) == "/signaling")

        // A -> B: the stream moves to a new server.
        h.sim.failover(start.streamID)
        #expect(rejoined(h, client, start.streamID, at: "/signaling/failover-1", &c), "rejoined at B")
        // B -> A: announced again at the server it used first. Not a duplicate delivery: a new event.
        h.sim.failover(start.streamID, signalingPath: "/signaling")
        #expect(rejoined(h, client, start.streamID, at: "/signaling", &c), "rejoined back at A")
        // rtms_interrupted naming another server: the rejoin goes there, not back to A.
        h.sim.interrupt(start.streamID, signalingPath: "/signaling/moved")
        #expect(rejoined(h, client, start.streamID, at: "/signaling/moved", &c), "rejoined where rtms_interrupted said")
        #expect(c.leave == nil, "\(c.leave?.text ?? "")")
        #expect(server.counters.duplicates == 0 && server.counters.routed >= 3)
    }
}
