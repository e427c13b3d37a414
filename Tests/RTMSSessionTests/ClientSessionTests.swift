// The client state machine driven by hand: no sockets, no clock.

import Testing
@testable import RTMSProtocol
@testable import RTMSSession

func params(types: Int, urls: [String] = ["ws://sig"], timeout: Int = 5000) -> JoinParameters {
    JoinParameters(
        instanceID: "m==", streamID: "s1", signature: "sig", signalingURLs: urls, timeoutMilliseconds: timeout,
        mediaTypes: types, clientAgent: "test")
}

extension Array where Element == SessionAction {
    var connects: [(id: Int, role: ConnectionRole, url: String)] {
        compactMap {
            if case .connect(let id, let role, let url) = $0 { return (id, role, url) }; return nil
        }
    }
    var sends: [(id: Int, message: RTMSMessage)] {
        compactMap {
            if case .send(let id, let m) = $0 { return (id, m) }; return nil
        }
    }
    var events: [ClientEvent] {
        compactMap {
            if case .emit(let e) = $0 { return e }; return nil
        }
    }
    var closes: [Int] {
        compactMap {
            if case .close(let id, _, _) = $0 { return id }; return nil
        }
    }
    var drains: [Int] {
        compactMap {
            if case .drain(let id) = $0 { return id }; return nil
        }
    }
    var joinConfirm: (Int, String)? {
        for e in events { if case .joinConfirm(let r, let t) = e { return (r, t) } }
        return nil
    }
}

let okURLs: [(key: String, url: String)] = ["audio", "video", "deskshare", "transcript", "chat", "all"].map { (key: $0, url: "ws://media/\($0)") }

func okMediaResponse(_ kinds: [MediaKind]) -> RTMSMessage {
    .dataHandshakeResponse(DataHandshakeResponse(statusCode: 0, payloadEncrypted: false, mediaParams: .explicit(for: kinds)))
}

/// Joins to the point where every media handshake is done; returns the session and the ids.
func joined(types: Int, subscribeFirst: [Int] = []) -> (ClientSession, sig: Int, media: [Int: ConnectionRole], last: [SessionAction]) {
    var s = ClientSession()
    _ = s.subscribe(subscribeFirst, true)
    let a1 = s.join(params(types: types), nowMs: 1000)
    let sig = a1.connects[0].id
    _ = s.connected(sig)
    let a2 = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 1001)
    var media: [Int: ConnectionRole] = [:]
    var last: [SessionAction] = []
    for c in a2.connects {
        media[c.id] = c.role
        _ = s.connected(c.id)
    }
    for (id, role) in media.sorted(by: { $0.key < $1.key }) {
        guard case .media(let mask) = role else { continue }
        let kinds = mask == 32 ? MediaKind.allCases : MediaMask(rawValue: mask).kinds
        last = s.received(id, okMediaResponse(kinds), nowMs: 1002)
    }
    return (s, sig, media, last)
}

@Suite struct HandshakeTests {
    @Test func splitModeOpensOneConnectionPerKindAndConfirmsAfterAll() throws {
        var s = ClientSession()
        let a1 = s.join(params(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue), nowMs: 1234)
        #expect(a1.contains(.startTimer(.joinTimeout, milliseconds: 5000)))
        #expect(a1.connects.count == 1 && a1.connects[0].role == .signaling && a1.connects[0].url == "ws://sig")
        let sig = a1.connects[0].id

        let a2 = s.connected(sig)
        guard case .signalingHandshakeRequest(let req) = a2.sends.first?.message else { Issue.record("no handshake"); return }
        #expect(req.instanceID == "m==" && req.instanceKey == "meeting_uuid" && req.streamID == "s1" && req.signature == "sig")
        #expect(req.protocolVersion == 1 && req.sequence == 1234 && req.clientAgent == "test")

        let a3 = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0)
        #expect(a3.connects.map(\.url) == ["ws://media/audio", "ws://media/transcript"])
        #expect(a3.connects.map(\.role) == [.media(mask: 1), .media(mask: 8)])
        let audio = a3.connects[0].id, transcript = a3.connects[1].id

        let a4 = s.connected(audio)
        guard case .dataHandshakeRequest(let dreq) = a4.sends.first?.message else { Issue.record("no data handshake"); return }
        #expect(dreq.mediaType == 1)
        // Protocol defaults are sent explicitly (zoom/rtms#92), only for this connection's kind.
        #expect(dreq.mediaParams == MediaParams(audio: AudioParams(contentType: 2, sampleRate: 1, channel: 1, codec: 1, dataOpt: 1, sendRate: 20)))
        _ = s.connected(transcript)

        let a5 = s.received(audio, okMediaResponse([.audio]), nowMs: 0)
        #expect(a5.contains(.mediaReady(id: audio, kinds: [.audio])))
        #expect(a5.joinConfirm == nil, "confirm only after every media handshake")
        let a6 = s.received(transcript, okMediaResponse([.transcript]), nowMs: 0)
        #expect(a6.sends.map(\.id) == [sig])
        #expect(a6.sends.first?.message == .clientReady(streamID: "s1"))
        #expect(a6.joinConfirm?.0 == 0)
        #expect(a6.contains(.cancelTimer(.joinTimeout)))
        #expect(s.isJoined)
    }

    @Test func unifiedModeUsesTheAllURLWithMediaType32() {
        var s = ClientSession()
        let sig = s.join(params(types: 32), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0)
        #expect(a.connects.count == 1 && a.connects[0].url == "ws://media/all" && a.connects[0].role == .media(mask: 32))
        guard case .dataHandshakeRequest(let r) = s.connected(a.connects[0].id).sends.first?.message else { Issue.record("no request"); return }
        #expect(r.mediaType == 32)
        #expect(
            r.mediaParams?.audio != nil && r.mediaParams?.video != nil && r.mediaParams?.deskshare != nil
                && r.mediaParams?.transcript != nil && r.mediaParams?.chat != nil)
    }

    @Test func eventsOnlyJoinConfirmsAfterSignaling() {
        var s = ClientSession()
        let sig = s.join(params(types: 0), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0)
        #expect(a.connects.isEmpty && a.joinConfirm?.0 == 0)
    }

    @Test func rejectedSignatureReportsTheStatusAndCloses() throws {
        var s = ClientSession()
        let sig = s.join(params(types: 1), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 3, reason: "invalid signature")), nowMs: 0)
        let jc = try #require(a.joinConfirm)
        #expect(jc.0 == 3 && jc.1.contains("INVALID_SIGNATURE") && jc.1.contains("invalid signature"))
        #expect(a.closes == [sig] && a.contains(.ended) && !s.isActive)
    }

    @Test func missingMediaURLWarnsOrFails() throws {
        var s = ClientSession()
        let sig = s.join(params(types: 1 | 2), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: [(key: "audio", url: "ws://a")])), nowMs: 0)
        #expect(a.connects.count == 1)
        #expect(
            a.events.contains {
                if case .warning(_, let t) = $0 { return t.contains("video") }; return false
            })

        var s2 = ClientSession()
        let sig2 = s2.join(params(types: 2), nowMs: 0).connects[0].id
        _ = s2.connected(sig2)
        let b = s2.received(sig2, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: [(key: "all", url: "ws://x")])), nowMs: 0)
        let jc = try #require(b.joinConfirm)
        #expect(jc.0 == ClientReason.badResponse && jc.1.contains("no media URL for video") && jc.1.contains("offered: all"))
    }

    @Test(arguments: [
        (DataHandshakeResponse(statusCode: 0, payloadEncrypted: false, mediaParams: nil), "media_params.audio is missing"),
        (DataHandshakeResponse(statusCode: 0, payloadEncrypted: nil, mediaParams: .explicit(for: [.audio])), "payload_encrypted is missing"),
        (
            DataHandshakeResponse(statusCode: 0, payloadEncrypted: false, mediaParams: .explicit(for: [.audio]), missingParamFields: ["audio.codec"]),
            "audio.codec"
        ),
        (DataHandshakeResponse(statusCode: 33, reason: "bad params"), "INVALID_MEDIA_DESKSHARE_CODEC"),
    ])
    func brokenMediaResponsesFailTheJoinWithText(_ r: DataHandshakeResponse, _ text: String) throws {
        var s = ClientSession()
        let sig = s.join(params(types: 1), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let audio = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0).connects[0].id
        _ = s.connected(audio)
        let a = s.received(audio, .dataHandshakeResponse(r), nowMs: 0)
        let jc = try #require(a.joinConfirm)
        #expect(jc.0 == (r.statusCode != 0 ? r.statusCode : ClientReason.badResponse))
        #expect(jc.1.contains(text), "\(jc.1)")
        #expect(Set(a.closes) == [sig, audio])
    }

    @Test func malformedSignalingResponseFailsTheJoin() throws {
        var s = ClientSession()
        let sig = s.join(params(types: 1), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.malformed(sig, DecodeError(messageType: 2, reason: "no status_code"))
        let jc = try #require(a.joinConfirm)
        #expect(jc.0 == ClientReason.badResponse && jc.1.contains("no status_code"))
    }

    @Test func joinTimeoutSaysWhatItWaitedFor() throws {
        var s = ClientSession()
        let sig = s.join(params(types: 1), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.timerFired(.joinTimeout)
        let jc = try #require(a.joinConfirm)
        #expect(jc.0 == ClientReason.timeout && jc.1.contains("signaling handshake response") && jc.1.contains("5000 ms"))
    }

    @Test func nextSignalingURLIsTriedWhenConnectFails() throws {
        var s = ClientSession()
        var p = params(types: 1, urls: ["ws://a", "ws://b"])
        p.policy.connectMaxAttempts = 1
        let first = s.join(p, nowMs: 0).connects[0].id
        let a = s.connectFailed(first, TransportFailure(.connect, "refused"))
        #expect(a.connects.map(\.url) == ["ws://b"])
        let b = s.connectFailed(a.connects[0].id, TransportFailure(.connect, "refused"))
        let jc = try #require(b.joinConfirm)
        #expect(jc.0 == ClientReason.connectFailed && jc.1.contains("ws://b") && jc.1.contains("refused"))
    }

    @Test func tlsFailureIsReportedAsSuch() throws {
        var s = ClientSession()
        let first = s.join(params(types: 1), nowMs: 0).connects[0].id
        let jc = try #require(s.connectFailed(first, TransportFailure(.tls, "certificate verify failed")).joinConfirm)
        #expect(jc.0 == ClientReason.tlsFailed && jc.1.contains("certificate verify failed"))
    }
}

@Suite struct JoinedSessionTests {
    @Test func keepAliveIsAnsweredOnTheSameConnectionEchoingBothFields() {
        var (s, sig, media, _) = joined(types: 1)
        let k = KeepAlive(sequence: 7, timestamp: 1_795_305_655_669)
        for id in [sig] + Array(media.keys) {
            let a = s.received(id, .keepAliveRequest(k), nowMs: 0)
            #expect(a.sends.count == 1 && a.sends[0].id == id && a.sends[0].message == .keepAliveResponse(k))
        }
    }

    @Test func subscriptionsBeforeJoinAreSentAfterConfirmAndNeverLost() {
        let (_, sig, _, last) = joined(types: 1, subscribeFirst: [3, 4, 2])
        let subs = last.sends.compactMap { s -> [EventSubscription.Item]? in
            if case .eventSubscription(let e) = s.message, s.id == sig { return e.events }
            return nil
        }
        #expect(subs == [[.init(eventType: 2, subscribe: true), .init(eventType: 3, subscribe: true), .init(eventType: 4, subscribe: true)]])
        // Order: client ready, join confirm, then the subscription.
        let readyIndex = last.firstIndex {
            if case .send(_, .clientReady) = $0 { return true }; return false
        }
        let subIndex = last.firstIndex {
            if case .send(_, .eventSubscription) = $0 { return true }; return false
        }
        #expect(readyIndex! < subIndex!)
    }

    @Test func subscribeAndUnsubscribeAfterJoin() {
        var (s, sig, _, _) = joined(types: 1, subscribeFirst: [3])
        #expect(s.subscribe([3], true).sends.isEmpty, "already subscribed")
        let a = s.subscribe([3, 9], false)
        #expect(a.sends.count == 1 && a.sends[0].id == sig)
        #expect(a.sends[0].message == .eventSubscription(EventSubscription(events: [.init(eventType: 3, subscribe: false)])))
    }

    @Test func subscriptionsCarryOverToTheNextJoin() {
        var (s, _, _, _) = joined(types: 0, subscribeFirst: [8])
        _ = s.leave()
        let sig = s.join(params(types: 0), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0)
        #expect(a.sends.contains { $0.message == .eventSubscription(EventSubscription(events: [.init(eventType: 8, subscribe: true)])) })
    }

    @Test func participantEventsBecomeUserUpdatesAndRawJSON() {
        var (s, sig, _, _) = joined(types: 1)
        let join = EventUpdate(event: [
            "event_type": .int(3), "timestamp": .int(5),
            "participants": .array([
                .object(["user_id": .int(111), "user_name": .string("Bob")]), .object(["user_id": .int(222), "user_name": .string("Carol")]),
            ]),
        ])
        let a = s.received(sig, .eventUpdate(join), nowMs: 0).events
        // Zoom's order: per-user updates, the raw event, then the wrappers' typed event.
        #expect(
            a == [
                .userUpdate(op: UserOp.join, userID: 111, userName: "Bob"), .userUpdate(op: UserOp.join, userID: 222, userName: "Carol"),
                .eventEx(json: #"{"event_type":3,"participants":[{"user_id":111,"user_name":"Bob"},{"user_id":222,"user_name":"Carol"}],"timestamp":5}"#),
                .participantEvent(
                    op: UserOp.join, timestamp: 5,
                    participants: [
                        EventParticipant(userID: 111, userName: "Bob"),
                        EventParticipant(userID: 222, userName: "Carol"),
                    ]),
            ])
        let leave = EventUpdate(event: ["event_type": .int(4), "timestamp": .int(6), "participants": .array([.object(["user_id": .int(222)])])])
        let l = s.received(sig, .eventUpdate(leave), nowMs: 0).events
        #expect(
            l == [
                .userUpdate(op: UserOp.leave, userID: 222, userName: ""),
                .eventEx(json: #"{"event_type":4,"participants":[{"user_id":222}],"timestamp":6}"#),
                .participantEvent(op: UserOp.leave, timestamp: 6, participants: [EventParticipant(userID: 222, userName: "")]),
            ],
            "a leave names nobody: \"\" as the name")
        let video = EventUpdate(event: ["event_type": .int(8), "timestamp": .int(7), "participants": .array([.object(["user_id": .int(111)])])])
        #expect(s.received(sig, .eventUpdate(video), nowMs: 0).events.first == .participantVideo(userIDs: [111], isOn: true))
    }

    @Test func participantEventsWithoutAListStillArriveWhole() {
        var (s, sig, _, _) = joined(types: 1)
        func typed(_ e: JSONObject) -> [ClientEvent] {
            s.received(sig, .eventUpdate(EventUpdate(event: e)), nowMs: 0).events.filter { if case .eventEx = $0 { false } else { true } }
        }
        // No participants key, no timestamp: one event naming nobody, timestamp 0, no user updates.
        #expect(typed(["event_type": .int(3)]) == [.participantEvent(op: UserOp.join, timestamp: 0, participants: [])])
        #expect(
            typed(["event_type": .int(4), "timestamp": .int(8), "participants": .array([])])
                == [.participantEvent(op: UserOp.leave, timestamp: 8, participants: [])])
        // String ids and a single user at the top level are read as the per-user form reads them.
        #expect(
            typed(["event_type": .int(3), "timestamp": .int(9), "participants": .array([.object(["user_id": .string("42")])])])
                == [
                    .userUpdate(op: UserOp.join, userID: 42, userName: ""),
                    .participantEvent(op: UserOp.join, timestamp: 9, participants: [EventParticipant(userID: 42, userName: "")]),
                ])
        #expect(
            typed(["event_type": .int(4), "timestamp": .int(10), "user_id": .int(7), "user_name": .string("Dan")])
                == [
                    .userUpdate(op: UserOp.leave, userID: 7, userName: "Dan"),
                    .participantEvent(op: UserOp.leave, timestamp: 10, participants: [EventParticipant(userID: 7, userName: "Dan")]),
                ])
    }

    @Test func typedEvents() {
        var (s, sig, _, _) = joined(types: 1)
        // The typed form of each event (the wrappers' typed events follow the raw one).
        func first(_ e: JSONObject) -> ClientEvent? {
            s.received(sig, .eventUpdate(EventUpdate(event: e)), nowMs: 0).events.first { if case .eventEx = $0 { false } else { true } }
        }
        #expect(first(["event_type": .int(1), "timestamp": .int(10)]) == .firstPacket(timestamp: 10))
        #expect(
            first(["event_type": .int(2), "timestamp": .int(11), "user_id": .int(5), "user_name": .string("Eve")])
                == .activeSpeaker(userID: 5, userName: "Eve", timestamp: 11))
        #expect(
            first(["event_type": .int(5), "timestamp": .int(12), "user_id": .int(5), "user_name": .string("Eve")])
                == .sharing(started: true, userID: 5, userName: "Eve", timestamp: 12))
        #expect(first(["event_type": .int(6), "timestamp": .int(13)]) == .sharing(started: false, userID: 0, userName: "", timestamp: 13))
        #expect(first(["event_type": .int(7), "timestamp": .int(14)]) == .mediaInterrupted(timestamp: 14))
        let ev = s.received(sig, .eventUpdate(EventUpdate(event: ["event_type": .int(12), "timestamp": .int(15)])), nowMs: 0).events
        #expect(ev == [.eventEx(json: #"{"event_type":12,"timestamp":15}"#)], "other types only as raw JSON")
    }

    @Test func sessionStatesMapToSessionOps() {
        var (s, sig, _, _) = joined(types: 1)
        let pairs: [(SessionState, Int)] = [(.started, SessionOp.add), (.paused, SessionOp.pause), (.resumed, SessionOp.resume), (.stopped, SessionOp.stop)]
        for (state, op) in pairs {
            let e = s.received(sig, .sessionStateUpdate(StateUpdate(state: state.rawValue, reason: 6, timestamp: 9, sessionID: "x")), nowMs: 0).events
            #expect(e == [.sessionUpdate(op: op, sessionID: "x", state: state.rawValue, timestamp: 9)])
        }
    }

    @Test func terminatedStreamDrainsTheMediaConnectionsThenLeavesWithTheStopReason() {
        var (s, sig, media, _) = joined(types: 1 | 8)
        let a = s.received(sig, .streamStateUpdate(StateUpdate(state: 4, reason: 6)), nowMs: 0)
        // Signaling closes; media connections close but still deliver until the server answers.
        #expect(a.closes == [sig])
        #expect(Set(a.drains) == Set(media.keys))
        #expect(a.contains(.startTimer(.endDrain, milliseconds: ClientSession.endDrainMs)))
        #expect(
            !a.events.contains {
                if case .leave = $0 { return true }; return false
            } && !a.contains(.ended))
        #expect(s.phase == .ending && s.isActive && !s.isJoined)
        // Nothing else starts meanwhile: no reconnection, no second end.
        #expect(s.stopped(reason: 6, nowMs: 0).isEmpty)
        #expect(s.serverFailover(signalingURLs: ["ws://elsewhere/s"], nowMs: 0).isEmpty)
        let ids = Array(media.keys)
        #expect(s.closed(ids[0], CloseInfo(peerCloseCode: 1000, initiatedLocally: true), nowMs: 1).isEmpty)
        let b = s.closed(ids[1], CloseInfo(peerCloseCode: nil, initiatedLocally: true), nowMs: 2)
        #expect(
            b.events.contains {
                if case .leave(6, let t) = $0 { return t.contains("MEETING_ENDED") }; return false
            })
        #expect(b.contains(.cancelTimer(.endDrain)) && b.contains(.ended) && !s.isActive)
    }

    @Test func anUnansweredEndDrainLeavesAtTheBackstopAndLeaveEndsItQuietly() {
        var (s, sig, media, _) = joined(types: 1 | 8)
        _ = s.received(sig, .streamStateUpdate(StateUpdate(state: 4, reason: 6)), nowMs: 0)
        let a = s.timerFired(.endDrain, nowMs: 3000)
        #expect(Set(a.closes) == Set(media.keys))
        #expect(
            a.events.contains {
                if case .leave(6, _) = $0 { return true }; return false
            } && a.contains(.ended))

        var (t, _, media2, _) = joined(types: 1)
        _ = t.stopped(reason: 6, nowMs: 0)
        #expect(t.phase == .ending)
        let b = t.leave()
        #expect(Set(b.closes) == Set(media2.keys) && b.events.isEmpty && b.contains(.ended))
        #expect(t.timerFired(.endDrain, nowMs: 5000).isEmpty)
    }

    @Test func leaveClosesEveryConnectionWithoutACallback() {
        var (s, sig, media, _) = joined(types: 1 | 2)
        let a = s.leave()
        #expect(Set(a.closes) == Set([sig] + Array(media.keys)))
        #expect(a.events.isEmpty)
        #expect(s.leave().isEmpty, "leave twice is harmless")
    }

    @Test func videoSubscriptionIsQueuedUntilJoinedAndAnswered() {
        var s = ClientSession()
        _ = s.subscribeVideo(userID: 16_778_240, true, nowMs: 0)
        let sig = s.join(params(types: 0), nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let a = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0)
        #expect(
            a.sends.contains {
                if case .videoSubscriptionRequest(let r) = $0.message { return r.userID == 16_778_240 && r.subscribe }; return false
            })
        let b = s.received(sig, .videoSubscriptionResponse(StatusReply(userID: 16_778_240, statusCode: 0, reason: "OK")), nowMs: 0)
        #expect(b.events == [.videoSubscribed(userID: 16_778_240, status: 0, reason: "OK")])
    }

    @Test func closeStreamSends21AndReports22() {
        var (s, sig, _, _) = joined(types: 1)
        #expect(s.closeStream().sends.map(\.message) == [.streamCloseRequest(streamID: "s1")])
        #expect(s.received(sig, .streamCloseResponse(StatusReply(statusCode: 0, reason: "OK")), nowMs: 0).events == [.streamClosed(status: 0, reason: "OK")])
        _ = sig
    }

    @Test func messagesOnTheWrongConnectionAreIgnoredWithAWarning() {
        var (s, _, media, _) = joined(types: 1)
        let a = s.received(media.keys.first!, .eventUpdate(EventUpdate(event: ["event_type": .int(2)])), nowMs: 0)
        #expect(a.events.count == 1)
        if case .warning = a.events[0] {} else { Issue.record("expected a warning") }
    }

    @Test func eventsOfAnEndedSessionAreIgnored() {
        var (s, sig, _, _) = joined(types: 1)
        _ = s.leave()
        #expect(s.received(sig, .streamStateUpdate(StateUpdate(state: 4, reason: 6)), nowMs: 0).isEmpty)
        #expect(s.closed(sig, CloseInfo()).isEmpty)
    }
}
