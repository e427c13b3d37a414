// The Swift API against the in-process simulator: a whole stream as an AsyncSequence, reconnection
// events, cancellation leaving the stream, and the webhook intake as a sequence of deliveries.

import Foundation
import OpenRTMSKit
import RTMSSimulator
import Synchronization
import Testing

private let clientID = "kit-client"
private let clientSecret = "kit-secret"

private func simulator(durationMs: Int, webhook: (url: String, secret: String)? = nil) throws -> Simulator {
    var c = SimulatorConfig()
    c.clientID = clientID
    c.clientSecret = clientSecret
    c.defaults.durationMs = durationMs
    if let webhook {
        c.webhookURL = webhook.url
        c.webhookSecret = webhook.secret
    }
    var l = c.logger
    l.logLevel = .error
    c.logger = l
    let sim = Simulator(config: c)
    try sim.start()
    return sim
}

private let credentials = RTMSStream.Credentials(clientID: clientID, clientSecret: clientSecret)

@Suite(.timeLimit(.minutes(1))) struct StreamTests {
    @Test func aWholeMeetingArrivesAsAnAsyncSequence() async throws {
        let sim = try simulator(durationMs: 3000)
        defer { sim.stop() }
        let body = JSON.string(sim.createMeeting())
        var joined: Int?, left: Int?, transcript: [String] = [], audio = 0, afterLeave = 0
        let count = try await RTMSStream.withStream(payload: body, credentials: credentials) { stream in
            var n = 0
            for await event in stream.events {
                n += 1
                if left != nil { afterLeave += 1 }
                switch event {
                case .control(.joinConfirm(let reason, _)): joined = reason
                case .control(.leave(let reason, _)): left = reason
                case .media(let m) where m.kind == .transcript: transcript.append(String(decoding: m.data, as: UTF8.self))
                case .media(let m) where m.kind == .audio: audio += 1
                default: break
                }
            }
            return n
        }
        #expect(joined == 0)
        #expect(left == StopReason.meetingEnded)
        #expect(afterLeave == 0, "the sequence ends with the leave")
        #expect(audio > 50 && !transcript.isEmpty && transcript.allSatisfy { !$0.isEmpty })
        #expect(count > audio)
    }

    @Test func badInputThrowsAtOnce() async throws {
        #expect(throws: ClientError.self) { try RTMSStream.join(payload: "not json") }
        do {
            _ = try RTMSStream.join(payload: #"{"meeting_uuid":"m","rtms_stream_id":"s"}"#)
            Issue.record("joined without server_urls")
        } catch {
            #expect(error.code == ClientError.invalidArgs && error.message.contains("server_urls"))
        }
    }

    @Test func aFailedJoinEndsTheSequenceWithItsReason() async throws {
        let sim = try simulator(durationMs: 3000)
        defer { sim.stop() }
        let body = JSON.string(sim.createMeeting())
        let wrong = RTMSStream.Credentials(clientID: clientID, clientSecret: "wrong")
        let stream = try RTMSStream.join(payload: body, credentials: wrong)
        var events: [RTMSEvent] = []
        for await e in stream.events { events.append(e) }
        guard case .control(.joinConfirm(let reason, _)) = events.last else {
            Issue.record("last event \(String(describing: events.last))")
            return
        }
        #expect(reason != 0)
    }

    @Test func reconnectionIsReportedInTheSequence() async throws {
        // A long meeting, left once reconnected: this reader may start late on a loaded machine
        // (the chaos needs the stream still live when its first audio is read).
        let sim = try simulator(durationMs: 120_000)
        defer { sim.stop() }
        let body = JSON.string(sim.createMeeting())
        let stream = try RTMSStream.join(payload: body, credentials: credentials)
        var reconnecting = 0, reconnected = 0, chaosSent = false
        for await e in stream.events {
            switch e {
            case .media(let m) where m.kind == .audio && !chaosSent:
                chaosSent = sim.chaos(stream.start.streamID, connection: "audio", .abort) > 0
            case .control(.reconnecting): reconnecting += 1
            case .control(.reconnected):
                reconnected += 1
                stream.leave()
            default: break
            }
        }
        #expect(chaosSent && reconnecting >= 1 && reconnected >= 1)
        #expect(stream.counters.reconnectAttempts >= 1)
    }

    @Test func cancellingTheReaderLeavesTheStream() async throws {
        let sim = try simulator(durationMs: 30_000)
        defer { sim.stop() }
        let body = JSON.string(sim.createMeeting())
        let stream = try RTMSStream.join(payload: body, credentials: credentials)
        // What the reader has seen, not what the stream delivered: events the stream handed over
        // but the reader had not taken yet when it was cancelled never reach it.
        let seen = Atomic<Int>(0)
        let reader = Task {
            var n = 0
            for await _ in stream.events {
                n += 1
                seen.store(n, ordering: .relaxed)
            }
            return n
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.load(ordering: .relaxed) < 20 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        reader.cancel()
        let n = await reader.value
        #expect(n >= 20)
        #expect(!stream.isLive, "cancelled: the stream was left")
    }
}

@Suite(.timeLimit(.minutes(1))) struct IntakeTests {
    @Test func deliveriesAreVerifiedAndTheStartedBodyJoins() async throws {
        var settings = WebhookSettings()
        settings.host = "127.0.0.1"
        settings.port = 0
        settings.path = "/hook"
        settings.secretToken = "kit-whsec"
        let intake = try RTMSWebhookIntake(settings: settings)
        defer { intake.stop() }
        let sim = try simulator(durationMs: 2000, webhook: ("http://127.0.0.1:\(intake.port)/hook", "kit-whsec"))
        defer { sim.stop() }
        sim.createMeeting()
        let started = try #require(await intake.nextStarted(timeoutMilliseconds: 5000))
        #expect(started.contains("rtms_started"))
        var left: Int?
        try await RTMSStream.withStream(payload: started, credentials: credentials) { stream in
            for await e in stream.events { if case .control(.leave(let r, _)) = e { left = r } }
        }
        #expect(left == StopReason.meetingEnded)
        // The deliveries: the started (and the stopped) event, verified; none refused.
        var kinds: [String] = []
        for await d in intake.deliveries {
            kinds.append(d.rtmsKind ?? d.event)
            if kinds.contains("stopped") { break }
        }
        #expect(kinds.first == "started" && kinds.contains("stopped"))
        #expect(intake.counters.accepted >= 2)
    }
}
