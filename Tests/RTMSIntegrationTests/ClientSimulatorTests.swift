// The client core against the real simulator over loopback sockets.

import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator

let allEvents = [2, 3, 4, 5, 6, 8, 9]

/// Checks that what arrived is exactly what the simulator sent: per kind, the simulator's
/// sequence numbers without gaps or duplicates, and the same count as its report.
func expectExactlyOnce(_ c: Collected, report: JSONValue?, kinds: [MediaKind], sourceLocation: SourceLocation = #_sourceLocation) {
    for k in kinds {
        let seqs = (c.media[k] ?? []).compactMap(\.sequence)
        #expect(seqs.count == c.count(k), "\(k.key): every message carries a sequence", sourceLocation: sourceLocation)
        #expect(Set(seqs).count == seqs.count, "\(k.key): duplicates", sourceLocation: sourceLocation)
        #expect(seqs == seqs.sorted(), "\(k.key): order", sourceLocation: sourceLocation)
        let sent = report?["sent"]?[k.key]?.intValue.map(Int.init)
        #expect(sent == c.count(k), "\(k.key): simulator sent \(sent ?? -1), client got \(c.count(k))", sourceLocation: sourceLocation)
    }
}

@Suite(.serialized) struct ClientSimulatorTests {
    @Test func everyMediaTypeEventAndStateArrivesExactlyOnce() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 6000; $0.participants = 4; $0.seed = 11
        }
        let client = try makeClient(types: MediaMask.everyKind.rawValue)
        client.subscribe(events: allEvents, on: true)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 20)

        #expect(c.joinConfirm?.reason == 0)
        #expect(c.leave?.reason == StopReason.meetingEnded, "\(String(describing: c.leave))")
        // Mixed audio: one 20 ms packet per tick for the whole meeting.
        #expect(c.count(.audio) > 200)
        #expect((c.media[.audio] ?? []).allSatisfy { $0.data.count == 640 && $0.userID == 0 })
        #expect(c.count(.video) > 0 && (c.media[.video] ?? []).allSatisfy { $0.data.starts(with: [0xFF, 0xD8]) && $0.userID != 0 })
        #expect(c.count(.deskshare) > 0 && (c.media[.deskshare] ?? []).allSatisfy { $0.data.starts(with: [0xFF, 0xD8]) })
        #expect(c.count(.transcript) > 0)
        for t in c.media[.transcript] ?? [] {
            #expect(!t.userName.isEmpty && t.startTime > 0 && t.endTime >= t.startTime && t.language == 9)
            #expect(String(decoding: t.data, as: UTF8.self).hasSuffix("."))
        }
        #expect(c.count(.chat) == 2)
        let users = c.events.compactMap { e -> (Int, Int64)? in
            if case .userUpdate(let op, let id, _) = e { return (op, id) }; return nil
        }
        #expect(users.filter { $0.0 == UserOp.join }.count == 4)
        #expect(users.filter { $0.0 == UserOp.leave }.count >= 3)
        #expect(c.events.contains(.participantVideo(userIDs: (c.media[.video] ?? []).map(\.userID).prefix(1).map { $0 }, isOn: true)))
        let eventTypes = Set(
            c.events.compactMap { e -> Int64? in
                if case .eventEx(let j) = e { return (try? JSON.parse(j))?["event_type"]?.intValue }
                return nil
            })
        #expect(eventTypes.isSuperset(of: [1, 2, 3, 4, 5, 6, 8, 9]))
        let sessionOps = c.events.compactMap { e -> Int? in
            if case .sessionUpdate(let op, _, _, _) = e { return op }; return nil
        }
        #expect(sessionOps == [SessionOp.add, SessionOp.stop])
        #expect(c.events.contains(.streamState(state: StreamState.active.rawValue, reason: 0)))
        #expect(c.events.contains(.streamState(state: StreamState.terminated.rawValue, reason: StopReason.meetingEnded)))
        expectExactlyOnce(c, report: h.sim.report(start.streamID), kinds: MediaKind.allCases)
        let counters = client.counters
        #expect(counters.droppedMalformed == 0 && counters.droppedQueueFull == 0 && counters.droppedUnexpected == 0)
    }

    @Test func unifiedConnectionCarriesEveryKind() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 5000; $0.seed = 12
        }
        let client = try makeClient(
            types: MediaMask.all.rawValue,
            params: MediaParams(audio: AudioParams(sampleRate: SampleRate.sr48k, channel: 2, dataOpt: 2, sendRate: 40)))
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client)
        #expect(c.joinConfirm?.reason == 0)
        #expect(c.leave?.reason == StopReason.meetingEnded)
        // 48 kHz stereo, 40 ms per message, multi-stream: speaker packets only.
        #expect(c.count(.audio) > 20 && (c.media[.audio] ?? []).allSatisfy { $0.data.count == 48_000 * 40 / 1000 * 2 * 2 && $0.userID != 0 })
        #expect(c.count(.video) > 0 && c.count(.deskshare) > 0 && c.count(.transcript) > 0 && c.count(.chat) == 2)
        let report = h.sim.report(start.streamID)
        #expect(report?["connections"]?.arrayValue?.compactMap { $0["connection"]?.stringValue } == ["signaling", "media(32)"])
        expectExactlyOnce(c, report: report, kinds: MediaKind.allCases)
    }

    @Test func h264VideoAbove5fps() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 4000; $0.seed = 13
        }
        let client = try makeClient(types: MediaMask.video.rawValue, params: MediaParams(video: VideoParams(codec: Codec.h264, fps: 15)))
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client)
        #expect(c.joinConfirm?.reason == 0)
        #expect(c.count(.video) > 10)
        #expect((c.media[.video] ?? []).allSatisfy { $0.data.starts(with: [0, 0, 0, 1, 9]) }, "Annex B access units")
    }

    @Test func individualVideoSubscription() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 5000; $0.participants = 3; $0.seed = 14
        }
        let script = MeetingScript.generate(seed: 14, durationMs: 5000, participantCount: 3)
        let target = try #require(
            script.steps.compactMap { s -> Int64? in
                if case .videoOn(let p) = s.step { return p.userID }; return nil
            }.first)
        let client = try makeClient(
            types: MediaMask.video.rawValue,
            params: MediaParams(video: VideoParams(dataOpt: DataOption.videoSingleIndividualStream)))
        client.subscribe(events: [8, 9], on: true)
        client.subscribeVideo(userID: target, on: true)  // queued until joined
        client.subscribeVideo(userID: 999, on: true)  // nobody: refused
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client)
        #expect(c.joinConfirm?.reason == 0)
        #expect(c.events.contains(.videoSubscribed(userID: target, status: 0, reason: "OK")))
        #expect(
            c.events.contains {
                if case .videoSubscribed(999, let st, _) = $0 { return st != 0 }; return false
            })
        #expect(c.count(.video) > 0)
        #expect((c.media[.video] ?? []).allSatisfy { $0.userID == target })
    }

    @Test func closeStreamIsAnsweredAndEndsTheSession() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.joinConfirm != nil }
        #expect(c.joinConfirm?.reason == 0)
        try client.closeStream()
        collect(client, into: &c, timeout: 10)
        #expect(c.events.contains(.streamClosed(status: 0, reason: "OK")))
        #expect(c.leave?.reason == StopReason.receiverRequestClose)
        #expect(h.sim.report(start.streamID)?["stop_reason"]?.intValue == Int64(StopReason.receiverRequestClose))
    }

    /// TERMINATED on signaling can overtake the last media on its own connection (the soak lost
    /// about 1 in 900 such ends, uncounted). The client closes the media connections cleanly and
    /// still delivers what arrives before the server answers the close, then the leave.
    @Test func mediaSentBeforeTheEndArrivesAfterTerminatedAndBeforeTheLeave() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 1500; $0.seed = 21; $0.finalAudioLagMs = 40
        }
        let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var order: [String] = []
        var c = Collected()
        let deadline = nowMilliseconds() + 15_000
        while !c.ended && nowMilliseconds() < deadline {
            client.poll(waitMilliseconds: 50) { item in
                c.add(item)
                switch item {
                case .media(let m) where m.kind == .audio: order.append("audio \(m.sequence ?? -1)")
                case .control(.streamState(let s, _)) where s == StreamState.terminated.rawValue: order.append("terminated")
                case .control(.leave): order.append("leave")
                default: break
                }
            }
        }
        #expect(c.leave?.reason == StopReason.meetingEnded)
        let report = h.sim.report(start.streamID)
        let last = report?["sent_sequences"]?["audio"]?.arrayValue?.last?.intValue
        #expect(last != nil)
        #expect(Array(order.suffix(3)) == ["terminated", "audio \(last ?? 0)", "leave"], "\(order.suffix(4))")
        expectExactlyOnce(c, report: report, kinds: [.audio])
        #expect(client.counters.droppedUnexpected == 0)
    }

    /// A long soak must not grow the simulator by a report per ended stream.
    @Test func theSimulatorKeepsOnlyTheNewestFinalReports() throws {
        let h = try SimHarness {
            $0.endedStreamLingerMs = 50; $0.finishedReportLimit = 2
        }
        let starts = (0..<3).map { i in h.meeting { $0.joinWaitMs = 100 + 50 * i } }
        var kept: [Bool] = []
        for _ in 0..<60 {
            sleepMs(50)
            kept = starts.map { h.sim.report($0.streamID) != nil }
            if kept == [false, true, true] { break }
        }
        #expect(kept == [false, true, true])
        #expect(h.sim.report(starts[2].streamID)?["stop_reason"]?.intValue == Int64(StopReason.connectionTimeout))
        #expect(h.sim.streamIDs.isEmpty, "ended streams leave the live table after the linger")
    }

    @Test func leaveClosesEverySocketAndStopsDelivery() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.count(.audio) >= 5 }
        #expect(c.joinConfirm?.reason == 0)
        client.leave()
        var after = 0
        for _ in 0..<10 { client.poll(waitMilliseconds: 50) { _ in after += 1 } }
        #expect(after == 0, "nothing is delivered after leave")
        // The simulator saw every connection closed.
        var closed = false
        for _ in 0..<40 where !closed {
            let conns = h.sim.report(start.streamID)?["connections"]?.arrayValue ?? []
            closed = conns.count == 3 && conns.allSatisfy { !($0["closed_ms"]?.isNull ?? true) }
            if !closed { sleepMs(50) }
        }
        #expect(closed)
        #expect(client.phase == .ended)
    }

    @Test func keepAlivesAreAnsweredOnEveryConnection() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 30_000; $0.keepAliveMs = 150
        }
        let client = try makeClient(types: MediaMask.transcript.rawValue | MediaMask.chat.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.joinConfirm != nil }
        sleepMs(1500)
        client.poll { _ in }
        let r = h.sim.report(start.streamID)
        let sent = Int(r?["keepalives_sent"]?.intValue ?? 0), answered = Int(r?["keepalives_answered"]?.intValue ?? 0)
        #expect(sent >= 15, "three idle connections, 1.5 s, one request per 150 ms each")
        #expect(answered >= sent - 3 && answered <= sent)
        #expect(client.counters.keepAlivesAnswered >= answered)
        client.leave()
    }

    @Test func messagesOfSeveralMegabytesArrive() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.video.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.joinConfirm != nil }
        // A 12 MiB keyframe is 16 MiB of base64: far above NIO's 16 KiB default frame limit.
        let payload = (0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let raw = JSONCodec.encodeMedia(kind: .video, userID: 7, userName: "big", payload: payload, timestamp: 42)
        #expect(h.sim.inject(start.streamID, connection: "video", raw: String(decoding: raw, as: UTF8.self)))
        collect(client, into: &c, timeout: 20) { ($0.media[.video] ?? []).contains { $0.timestamp == 42 } }
        let big = (c.media[.video] ?? []).first { $0.timestamp == 42 }
        #expect(big?.data == payload)
        client.leave()
    }

    @Test func wrongSignatureIsRejectedWithReadableText() throws {
        let h = try SimHarness()
        let start = h.meeting()
        let client = try makeClient(types: MediaMask.audio.rawValue, secret: "wrong-secret")
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == StatusCode.invalidSignature)
        #expect(c.joinConfirm?.text.contains("INVALID_SIGNATURE") == true)
        #expect(client.lastFailure.contains("invalid signature"))
        #expect(c.leave == nil)
    }

    @Test func secondSignalingConnectionIsADuplicate() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let first = try makeClient(types: MediaMask.audio.rawValue)
        try first.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        #expect(collect(first, timeout: 10) { $0.joinConfirm != nil }.joinConfirm?.reason == 0)
        // In this process the core refuses at once: one connection per stream.
        let second = try makeClient(types: MediaMask.audio.rawValue)
        do {
            try second.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
            Issue.record("a second join of a live stream must be refused")
        } catch {
            #expect(error.code == ClientError.invalidStatus && error.message.contains("one connection per stream"))
        }
        // From elsewhere (another process), the server answers DUPLICATE_SIGNAL_REQUEST.
        let sig = Signatures.handshake(clientID: testClientID, clientSecret: testClientSecret, instanceID: start.instanceID, streamID: start.streamID)
        let peer = RawPeer(
            first: .signalingHandshakeRequest(SignalingHandshakeRequest(instanceID: start.instanceID, streamID: start.streamID, signature: sig)),
            answerKeepAlives: true)
        try peer.connect(start.serverURLs)
        #expect(waitUntil(5) { !peer.messages.isEmpty })
        if case .signalingHandshakeResponse(let r) = peer.messages.first {
            #expect(r.statusCode == StatusCode.duplicateSignalRequest)
        } else {
            Issue.record("expected a signaling handshake response, got \(peer.messages)")
        }
        try peer.loop.submit { peer.connection?.close(code: 1000, reason: "done") }.wait()
        first.leave()
        // Once the first left, the stream id is free in this process again.
        #expect(StreamDirectory.shared.client(for: start.streamID) == nil)
    }

    @Test func argumentErrorsAreImmediateAndReadable() throws {
        let client = try makeClient(types: 1)
        #expect(throws: ClientError.self) { try client.join(instanceID: "", streamID: "s", signature: "x", serverURLs: "ws://127.0.0.1:1") }
        #expect(throws: ClientError.self) { try client.join(instanceID: "m", streamID: "s", signature: "x", serverURLs: "http://x") }
        do {
            try client.join(instanceID: "m", streamID: "s", signature: "x", serverURLs: "ftp://nope")
        } catch {
            #expect(error.code == ClientError.invalidArgs && error.message.contains("unsupported scheme"))
        }
        #expect(throws: ClientError.self) { try client.configure(mediaTypes: 64, params: nil) }
        #expect(throws: ClientError.self) { try client.configure(mediaTypes: 1, params: MediaParams(audio: AudioParams(codec: Codec.opus))) }
        let noCreds = RTMSClient()
        var cfg = noCreds.config
        cfg.clientID = nil
        noCreds.config = cfg
        if getenvString("ZM_RTMS_CLIENT") == nil {
            #expect(throws: ClientError.self) { try noCreds.join(instanceID: "m", streamID: "s", signature: nil, serverURLs: "ws://127.0.0.1:1") }
        }
    }

    @Test func joiningTwiceNeedsALeave() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        #expect(throws: ClientError.self) {
            try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        }
        client.leave()
    }
}

@Suite(.serialized) struct FailureTests {
    static let variants: [(String, String, Int, String)] = [
        ("signaling", #"{"msg_type":2,"reason":""}"#, ClientReason.badResponse, "no status_code"),
        (
            "signaling", #"{"msg_type":2,"status_code":"0","media_server":{"server_urls":{"audio":"ws://x"}}}"#, ClientReason.badResponse,
            "status_code is a string"
        ),
        ("signaling", #"{"msg_type":2,"status_code":0}"#, ClientReason.badResponse, "no media_server"),
        ("signaling", #"{"msg_type":2,"status_code":0,"media_server":{"server_urls":"ws://x"}}"#, ClientReason.badResponse, "server_urls is a string"),
        ("signaling", #"{"msg_type":2,"status_code":15,"reason":"nope"}"#, 15, "MEDIA_DATA_ALL_CONNECTION_EXIST"),
        ("signaling", "this is not json", ClientReason.badResponse, "not a JSON object"),
        ("media", #"{"msg_type":4,"status_code":0,"payload_encrypted":false}"#, ClientReason.badResponse, "media_params.audio is missing"),
        ("media", #"{"msg_type":4,"status_code":0,"payload_encrypted":false,"media_params":{"audio":{}}}"#, ClientReason.badResponse, "audio.content_type"),
        (
            "media", #"{"msg_type":4,"status_code":0,"payload_encrypted":false,"media_params":{"audio":{"codec":1}}}"#, ClientReason.badResponse,
            "audio.sample_rate"
        ),
        (
            "media",
            #"{"msg_type":4,"status_code":0,"media_params":{"audio":{"content_type":2,"sample_rate":1,"channel":1,"codec":1,"data_opt":1,"send_rate":20}}}"#,
            ClientReason.badResponse, "payload_encrypted is missing"
        ),
        ("media", #"{"msg_type":4,"status_code":33,"reason":"bad codec"}"#, 33, "bad codec"),
        ("media", #"{"msg_type":4}"#, ClientReason.badResponse, "no status_code"),
    ]

    // One case at a time: each blocks its thread while it joins, and twelve at once took both of
    // the cooperative pool's threads on a 2-core machine, starving every async test beside them.
    @Test(.serialized, arguments: variants)
    func malformedServerResponsesFailTheJoinWithText(_ v: (String, String, Int, String)) throws {
        let (which, raw, reason, text) = v
        let h = try SimHarness()
        let start = h.meeting { o in
            if which == "signaling" { o.overrides.signalingResponse = raw } else { o.overrides.mediaResponse = raw }
        }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs,
            timeoutMilliseconds: 5000)
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == reason)
        #expect(c.joinConfirm?.text.contains(text) == true, "\(c.joinConfirm?.text ?? "no join confirm")")
        #expect(client.phase == .ended)
    }

    @Test func missingMediaURLFailsClearly() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.overrides.omitMediaURLs = ["audio", "video", "deskshare", "transcript", "chat"] }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == ClientReason.badResponse)
        #expect(c.joinConfirm?.text.contains("no media URL for audio (offered: all)") == true)
    }

    @Test(arguments: [("signaling", "the signaling handshake response"), ("media", "media handshake responses (media(audio))")])
    func silentServerTimesOut(_ v: (String, String)) throws {
        let h = try SimHarness()
        let start = h.meeting { o in if v.0 == "signaling" { o.overrides.silentSignaling = true } else { o.overrides.silentMedia = true } }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        let t0 = nowMilliseconds()
        try client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs,
            timeoutMilliseconds: 1500)
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == ClientReason.timeout)
        #expect(c.joinConfirm?.text.contains(v.1) == true, "\(c.joinConfirm?.text ?? "")")
        #expect(nowMilliseconds() - t0 < 4000)
    }

    @Test func refusedConnectionIsReportedFast() throws {
        let client = try makeClient(types: 1) { $0.policy.connectMaxAttempts = 1 }
        let t0 = nowMilliseconds()
        try client.join(instanceID: "m", streamID: "s", signature: "x", serverURLs: "ws://127.0.0.1:1/signaling")
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == ClientReason.connectFailed)
        #expect(c.joinConfirm?.text.contains("127.0.0.1:1") == true)
        #expect(nowMilliseconds() - t0 < 2000)
    }

    @Test func refusedConnectionIsRetriedUntilTheServerIsUp() throws {
        // Nothing listens on the port yet; the simulator starts there a moment later.
        let probe = try SimHarness()
        let port = probe.sim.port
        probe.sim.stop()
        let client = try makeClient(types: 1) {
            $0.policy.connectMaxAttempts = 5; $0.policy.connectRetryDelayMs = 300
        }
        let t0 = nowMilliseconds()
        try client.join(instanceID: "m", streamID: "s", signature: "x", serverURLs: "ws://127.0.0.1:\(port)/signaling")
        sleepMs(400)
        let h = try SimHarness { $0.port = port }
        let start = h.meeting {
            $0.streamID = "s"; $0.instanceID = "m"
        }
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == StatusCode.invalidSignature, "reached the late server: \(c.joinConfirm?.text ?? "")")
        #expect(
            c.events.contains {
                if case .warning(ClientReason.connectFailed, let t) = $0 { return t.contains("attempt 2 of 5") }; return false
            })
        #expect(nowMilliseconds() - t0 < 5000)
        _ = start
    }

    @Test func commaSeparatedURLsFailOver() throws {
        let h = try SimHarness()
        let start = h.meeting()
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: nil,
            serverURLs: "ws://127.0.0.1:1/signaling, " + start.serverURLs)
        let c = collect(client, timeout: 10) { $0.joinConfirm != nil }
        #expect(c.joinConfirm?.reason == 0)
        #expect(
            c.events.contains {
                if case .warning(ClientReason.connectFailed, let t) = $0 { return t.contains("trying") }; return false
            })
        client.leave()
    }

    @Test func refusedUpgradeIsReported() throws {
        let h = try SimHarness()
        let client = try makeClient(types: 1) { $0.policy.connectMaxAttempts = 1 }
        try client.join(instanceID: "m", streamID: "s", signature: "x", serverURLs: "ws://127.0.0.1:\(h.sim.port)/no-such-path")
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == ClientReason.upgradeRefused)
        #expect(c.joinConfirm?.text.contains("HTTP 404") == true, "\(c.joinConfirm?.text ?? "")")
    }

    @Test func unknownStreamIsRejected() throws {
        let h = try SimHarness()
        let client = try makeClient(types: 1)
        try client.join(instanceID: "m", streamID: "nope", signature: "x", serverURLs: h.sim.signalingURL)
        let c = collect(client, timeout: 10)
        #expect(c.joinConfirm?.reason == StatusCode.invalidStreamID)
    }

    @Test func malformedMediaIsCountedAndDroppedNotFatal() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.count(.audio) >= 3 }
        #expect(h.sim.inject(start.streamID, connection: "audio", raw: #"{"msg_type":14,"content":{"data":"%%%","timestamp":1}}"#))
        #expect(h.sim.inject(start.streamID, connection: "audio", raw: "garbage"))
        #expect(h.sim.inject(start.streamID, connection: "signaling", raw: #"{"msg_type":6,"event":"nope"}"#))
        let before = c.count(.audio)
        collect(client, into: &c, timeout: 10) { $0.count(.audio) >= before + 10 }
        #expect(client.counters.droppedMalformed == 3)
        #expect(
            c.events.filter {
                if case .warning(_, let t) = $0 { return t.contains("dropped") }; return false
            }.count == 3)
        #expect(c.leave == nil && client.phase == .ready)
        client.leave()
    }

    /// A hostile server cannot flood the host's stderr: one warning per malformed message, but
    /// at most a burst of log lines per window; the rest are counted (and still reach the app).
    @Test func aFloodOfMalformedMessagesIsNotAFloodOfLogLines() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 30_000 }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        defer { client.leave() }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        var c = Collected()
        collect(client, into: &c, timeout: 10) { $0.count(.audio) >= 3 }
        for _ in 0..<2000 { _ = h.sim.inject(start.streamID, connection: "audio", raw: "garbage") }
        collect(client, into: &c, timeout: 10) { _ in client.counters.droppedMalformed >= 2000 }
        collect(client, into: &c, timeout: 0.3) { _ in false }
        let counters = client.counters
        #expect(counters.droppedMalformed == 2000)
        let logged = 2000 - counters.warningsNotLogged
        #expect(logged >= 1 && logged <= 20, "\(logged) log lines for 2000 malformed messages")
        #expect(
            c.events.filter {
                if case .warning(_, let t) = $0 { return t.contains("dropped") }; return false
            }.count == 2000)
        #expect(c.leave == nil && client.phase == .ready)
    }
}

@Suite struct LogLimiterTests {
    @Test func aBurstPerWindowThenASummary() {
        var l = LogLimiter(burst: 3, windowMs: 1000)
        let first = (0..<10).map { l.allow(nowMs: 100 + Int64($0)).log }
        #expect(first == [true, true, true] + Array(repeating: false, count: 7))
        let next = l.allow(nowMs: 1200)
        #expect(next.log && next.summary == 7 && l.suppressed == 7)
        #expect(l.allow(nowMs: 1201).summary == nil)
    }
}
