// Zoom's three failover scenarios in the state machine, without sockets.

import Testing
@testable import RTMSProtocol
@testable import RTMSSession

extension Array where Element == SessionAction {
    var reconnecting: [(String, Int, Int)] {
        events.compactMap {
            if case .reconnecting(let c, let a, let d, _) = $0 { return (c.label, a, d) }; return nil
        }
    }
    var reconnected: [(String, Int)] {
        events.compactMap {
            if case .reconnected(let c, let g) = $0 { return (c.label, g) }; return nil
        }
    }
    var leaves: [Int] {
        events.compactMap {
            if case .leave(let r, _) = $0 { return r }; return nil
        }
    }
    func timer(_ k: TimerKind) -> Int? {
        for a in self { if case .startTimer(let t, let ms) = a, t == k { return ms } }
        return nil
    }
}

/// Completes a rejoin: signaling connects, handshakes, media handshakes.
func completeRejoin(_ s: inout ClientSession, _ a: [SessionAction], now: Int64) -> [SessionAction] {
    var out = s.timerFired(.rejoin, nowMs: now)
    guard let sig = out.connects.first?.id else { return out }
    out += s.connected(sig, nowMs: now)
    let b = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: now)
    out += b
    for c in b.connects {
        out += s.connected(c.id, nowMs: now)
        guard case .media(let mask) = c.role else { continue }
        out += s.received(c.id, okMediaResponse(mask == 32 ? MediaKind.allCases : MediaMask(rawValue: mask).kinds), nowMs: now)
    }
    return out
}

@Suite struct ReconnectPolicyTests {
    @Test func backoffIsImmediateThenExponentialCappedWithJitter() {
        let p = ReconnectPolicy(baseDelayMs: 3000, maxDelayMs: 30_000, jitterPercent: 0)
        #expect((1...7).map { p.delay(attempt: $0, unit: 0.5) } == [0, 3000, 6000, 12_000, 24_000, 30_000, 30_000])
        let j = ReconnectPolicy(baseDelayMs: 1000, jitterPercent: 20)
        #expect(j.delay(attempt: 2, unit: 0) == 800 && j.delay(attempt: 2, unit: 0.999999) == 1199)
    }

    @Test func refusalsAreNotRetried() {
        #expect(ReconnectPolicy.isRetryable(ClientReason.connectionLost))
        #expect(ReconnectPolicy.isRetryable(StatusCode.duplicateSignalRequest))
        #expect(!ReconnectPolicy.isRetryable(StatusCode.invalidSignature))
        #expect(!ReconnectPolicy.isRetryable(StatusCode.invalidStreamID))
    }
}

@Suite struct ReconnectTests {
    @Test func scenario3LostMediaIsReconnectedAloneWithClientReadyAgain() throws {
        var (s, sig, media, _) = joined(types: 1 | 8)
        let audio = try #require(media.first { $0.value == .media(mask: 1) }?.key)
        let a = s.closed(audio, CloseInfo(error: "reset by peer"), nowMs: 10_000)
        #expect(a.reconnecting.map(\.0) == ["media(audio)"] && a.reconnecting[0].1 == 1 && a.reconnecting[0].2 == 0)
        #expect(a.closes.isEmpty, "signaling and the other media connection stay up")
        #expect(a.timer(.mediaReconnect(mask: 1)) == 0)
        let b = s.timerFired(.mediaReconnect(mask: 1), nowMs: 10_000)
        let new = try #require(b.connects.first)
        #expect(new.role == .media(mask: 1) && new.url == "ws://media/audio" && new.id != audio)
        _ = s.connected(new.id, nowMs: 10_050)
        let c = s.received(new.id, okMediaResponse([.audio]), nowMs: 10_080)
        #expect(c.contains(.mediaReady(id: new.id, kinds: [.audio])))
        #expect(c.sends.contains { $0.id == sig && $0.message == .clientReady(streamID: "s1") })
        #expect(c.reconnected.map(\.0) == ["media(audio)"] && c.reconnected[0].1 == 80)
        #expect(c.joinConfirm == nil && s.isJoined)
    }

    @Test func scenario3FailedAttemptsBackOffThenGiveUp() throws {
        var (s, _, media, _) = joined(types: 1)
        let audio = media.keys.first!
        var a = s.closed(audio, CloseInfo(error: "reset"), nowMs: 0)
        var delays: [Int] = []
        for attempt in 1...5 {
            #expect(a.reconnecting.last?.1 == attempt)
            delays.append(a.reconnecting.last?.2 ?? -1)
            let b = s.timerFired(.mediaReconnect(mask: 1), nowMs: 0)
            a = s.connectFailed(b.connects[0].id, TransportFailure(.connect, "refused"), nowMs: 0)
        }
        #expect(delays[0] == 0 && delays[1] >= 2400 && delays[1] <= 3600 && delays[4] >= 19_200)
        #expect(a.leaves == [ClientReason.connectFailed])
        #expect(
            a.events.contains {
                if case .leave(_, let t) = $0 { return t.contains("gave up reconnecting media(audio) after 5 attempts") }; return false
            })
        #expect(!s.isActive)
    }

    @Test func terminationWhileMediaReconnectsEndsWithTheStopReason() {
        var (s, sig, media, _) = joined(types: 1)
        _ = s.closed(media.keys.first!, CloseInfo(peerCloseCode: 1000, peerCloseReason: "stream ended"), nowMs: 0)
        let a = s.received(sig, .streamStateUpdate(StateUpdate(state: 4, reason: 6)), nowMs: 0)
        #expect(a.leaves == [6] && a.contains(.cancelTimer(.mediaReconnect(mask: 1))))
        #expect(s.timerFired(.mediaReconnect(mask: 1), nowMs: 0).isEmpty)
    }

    @Test func event7AndStreamInterruptedReconnectTheNamedMedia() throws {
        var (s, sig, media, _) = joined(types: 1 | 2)
        let ev = EventUpdate(event: ["event_type": .int(7), "timestamp": .int(1), "media_type": .int(2)])
        let a = s.received(sig, .eventUpdate(ev), nowMs: 0)
        #expect(a.reconnecting.map(\.0) == ["media(video)"])
        let video = media.first { $0.value == .media(mask: 2) }!.key
        #expect(a.closes == [video])
        #expect(a.events.contains(.mediaInterrupted(timestamp: 1)))
        let b = s.received(sig, .streamStateUpdate(StateUpdate(state: 2, reason: 14)), nowMs: 0)
        #expect(b.reconnecting.map(\.0) == ["media(audio)"], "video is already reconnecting")
    }

    @Test func scenario2LostSignalingRejoinsWithoutASecondJoinConfirm() throws {
        var (s, sig, media, _) = joined(types: 1, subscribeFirst: [3, 4])
        _ = s.subscribeVideo(userID: 77, true, nowMs: 0)
        let a = s.closed(sig, CloseInfo(error: "reset"), nowMs: 5000)
        #expect(Set(a.closes) == Set(media.keys))
        #expect(a.reconnecting.map(\.0) == ["signaling"] && a.timer(.rejoin) == 0)
        #expect(s.isRejoining && !s.isJoined)
        let b = completeRejoin(&s, a, now: 5250)
        #expect(b.joinConfirm == nil)
        #expect(b.reconnected.map(\.0) == ["signaling"] && b.reconnected[0].1 == 250)
        // What the application registered is sent again.
        #expect(
            b.sends.contains {
                if case .eventSubscription(let e) = $0.message { return e.events.map(\.eventType) == [3, 4] }; return false
            })
        #expect(
            b.sends.contains {
                if case .videoSubscriptionRequest(let v) = $0.message { return v.userID == 77 && v.subscribe }; return false
            })
        #expect(b.sends.contains { $0.message == .clientReady(streamID: "s1") })
        #expect(s.isJoined && !s.isRejoining)
    }

    @Test func rejoinRetriesADuplicateButStopsOnABadSignature() throws {
        var (s, sig, _, _) = joined(types: 1)
        var a = s.closed(sig, CloseInfo(error: "reset"), nowMs: 0)
        var b = s.timerFired(.rejoin, nowMs: 0)
        var id = b.connects[0].id
        _ = s.connected(id, nowMs: 0)
        a = s.received(id, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 8, reason: "duplicate signal request")), nowMs: 0)
        #expect(a.reconnecting.first?.1 == 2 && a.leaves.isEmpty, "the server has not noticed the old connection yet")
        b = s.timerFired(.rejoin, nowMs: 3000)
        id = b.connects[0].id
        _ = s.connected(id, nowMs: 3000)
        a = s.received(id, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 3, reason: "invalid signature")), nowMs: 3000)
        #expect(a.leaves == [StopReason.authenticationFailure])
        #expect(!s.isActive)
    }

    @Test func rejoinAttemptTimesOut() throws {
        var (s, sig, _, _) = joined(types: 1)
        _ = s.closed(sig, CloseInfo(error: "reset"), nowMs: 0)
        let b = s.timerFired(.rejoin, nowMs: 0)
        #expect(b.timer(.attemptTimeout) == 10_000)
        let c = s.timerFired(.attemptTimeout, nowMs: 10_000)
        #expect(c.reconnecting.first?.1 == 2)
        #expect(
            c.events.contains {
                if case .reconnecting(_, _, _, let cause) = $0 { return cause.contains("timed out") }; return false
            })
    }

    @Test func scenario1NewServerURLsMoveTheSessionAndDuplicatesAreIgnored() throws {
        var (s, sig, media, _) = joined(types: 1)
        #expect(s.serverFailover(signalingURLs: ["ws://sig"], nowMs: 0).isEmpty, "duplicate rtms_started")
        let a = s.serverFailover(signalingURLs: ["ws://other"], nowMs: 500)
        #expect(Set(a.closes) == Set([sig] + Array(media.keys)))
        #expect(a.reconnecting.first.map { $0.0 } == "signaling")
        let b = s.timerFired(.rejoin, nowMs: 500)
        #expect(b.connects.first?.url == "ws://other")
        #expect(s.serverFailover(signalingURLs: ["ws://other"], nowMs: 600).isEmpty, "duplicate while rejoining")
    }

    @Test func interruptedWithServerURLsRejoinsThere() {
        var (s, sig, media, _) = joined(types: 1)
        // The same URLs as now: an ordinary interruption, rejoin at the current server.
        var (t, _, _, _) = joined(types: 1)
        _ = t.interrupted(signalingURLs: ["ws://sig"], nowMs: 0)
        #expect(t.timerFired(.rejoin, nowMs: 0).connects.first?.url == "ws://sig")
        // New URLs: the rejoin goes to them.
        let a = s.interrupted(signalingURLs: ["ws://moved"], nowMs: 0)
        #expect(Set(a.closes) == Set([sig] + Array(media.keys)))
        #expect(a.reconnecting.map(\.0) == ["signaling"])
        #expect(s.timerFired(.rejoin, nowMs: 0).connects.first?.url == "ws://moved")
        // A rejoin already under way (the socket loss came first) turns to the URLs the webhook names.
        var (u, usig, _, _) = joined(types: 1)
        _ = u.closed(usig, CloseInfo(error: "reset"), nowMs: 0)
        let attempt = u.timerFired(.rejoin, nowMs: 0)
        #expect(attempt.connects.first?.url == "ws://sig")
        let b = u.interrupted(signalingURLs: ["ws://moved"], nowMs: 10)
        #expect(b.closes == attempt.connects.map(\.id), "the attempt towards the old server is dropped")
        #expect(u.timerFired(.rejoin, nowMs: 10).connects.first?.url == "ws://moved")
    }

    /// A connection the session gave up on (a failover moved on while it was dialing) that
    /// opens after all is closed, never left open and unknown.
    @Test func aConnectionGivenUpOnIsClosedWhenItOpens() {
        var (s, sig, _, _) = joined(types: 1)
        _ = s.serverFailover(signalingURLs: ["ws://b"], nowMs: 0)
        let attempt = s.timerFired(.rejoin, nowMs: 0).connects[0].id
        _ = s.serverFailover(signalingURLs: ["ws://c"], nowMs: 1)
        #expect(s.connected(attempt, nowMs: 2).closes == [attempt])
        #expect(s.connected(sig, nowMs: 2).closes == [sig])
    }

    @Test func interruptedAndStoppedWebhooks() {
        var (s, _, _, _) = joined(types: 1)
        let a = s.interrupted(nowMs: 0)
        #expect(a.reconnecting.map(\.0) == ["signaling"])
        #expect(s.interrupted(nowMs: 1).isEmpty, "already rejoining")
        let b = s.stopped(reason: 6, nowMs: 2)
        #expect(b.leaves == [6] && !s.isActive)
    }

    @Test func noReconnectionWhenDisabled() {
        var s = ClientSession()
        var p = params(types: 0)
        p.policy.maxAttempts = 0
        let sig = s.join(p, nowMs: 0).connects[0].id
        _ = s.connected(sig)
        _ = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0)
        let a = s.closed(sig, CloseInfo(error: "reset"), nowMs: 0)
        #expect(a.leaves == [ClientReason.connectionLost])
    }

    /// The defaults (5 attempts, 5 s apart) and Zoom's default join timeout (10 s) allowed only 2
    /// attempts: the pause shrinks so that every configured attempt runs within the timeout.
    @Test func everyConfiguredAttemptFitsInTheJoinTimeout() throws {
        for (timeout, pauses) in [(10_000, [2000, 2000, 2000, 2000]), (60_000, [5000, 5000, 5000, 5000])] {
            var s = ClientSession()
            let p = params(types: MediaMask.audio.rawValue, timeout: timeout)
            #expect(p.policy.connectMaxAttempts == 5 && p.policy.connectRetryDelayMs == 5000)
            var id = s.join(p, nowMs: 0).connects[0].id
            var now: Int64 = 0
            var seen: [Int] = []
            for attempt in 1...5 {
                let a = s.connectFailed(id, TransportFailure(.connect, "connection refused"), nowMs: now)
                if attempt == 5 {
                    #expect(a.joinConfirm?.0 == ClientReason.connectFailed, "\(a)")
                    #expect(a.joinConfirm?.1.contains("gave up after 5 attempts") == true)
                    break
                }
                let pause = try #require(a.timer(.connectRetry), "attempt \(attempt): \(a)")
                seen.append(pause)
                now += Int64(pause)
                #expect(now < Int64(timeout))
                id = try #require(s.timerFired(.connectRetry, nowMs: now).connects.first).id
            }
            #expect(seen == pauses, "join timeout \(timeout)")
        }
    }

    @Test func aMediaConnectionRefusedDuringTheJoinIsRetried() throws {
        var s = ClientSession()
        var p = params(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue)
        p.policy.connectMaxAttempts = 2
        p.policy.connectRetryDelayMs = 100
        let sig = s.join(p, nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let m = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0).connects
        let audio = try #require(m.first { $0.role == .media(mask: 1) }).id
        let transcript = try #require(m.first { $0.role == .media(mask: 8) }).id
        // The audio server refuses the upgrade once: no join failure, a retry after the pause.
        let a = s.connectFailed(audio, TransportFailure(.upgrade, "HTTP 503"), nowMs: 10)
        #expect(a.joinConfirm == nil && a.closes.isEmpty, "the other connections stay")
        #expect(a.timer(.mediaReconnect(mask: 1)) == 100)
        _ = s.connected(transcript)
        _ = s.received(transcript, okMediaResponse([.transcript]), nowMs: 20)
        let b = s.timerFired(.mediaReconnect(mask: 1), nowMs: 110)
        #expect(b.connects.map(\.url) == ["ws://media/audio"])
        _ = s.connected(b.connects[0].id)
        let c = s.received(b.connects[0].id, okMediaResponse([.audio]), nowMs: 120)
        #expect(c.joinConfirm?.0 == 0 && s.isJoined)
        #expect(c.reconnecting.isEmpty && c.reconnected.isEmpty, "a join, not a reconnection")

        // Out of attempts: the join fails with the transport's reason.
        var t = ClientSession()
        let tsig = t.join(p, nowMs: 0).connects[0].id
        _ = t.connected(tsig)
        let tm = t.received(tsig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0).connects
        _ = t.connectFailed(tm[0].id, TransportFailure(.upgrade, "HTTP 503"), nowMs: 0)
        let again = try #require(t.timerFired(.mediaReconnect(mask: tm[0].role == .media(mask: 1) ? 1 : 8), nowMs: 100).connects.first)
        let d = t.connectFailed(again.id, TransportFailure(.upgrade, "HTTP 503"), nowMs: 100)
        #expect(d.joinConfirm?.0 == ClientReason.upgradeRefused)
    }

    @Test func aRecoveredFailureIsNotBlamedForALaterTimeout() {
        var s = ClientSession()
        var p = params(types: MediaMask.audio.rawValue)
        p.policy.connectRetryDelayMs = 100
        let first = s.join(p, nowMs: 0).connects[0].id
        _ = s.connectFailed(first, TransportFailure(.connect, "connection refused"), nowMs: 0)
        let sig = s.timerFired(.connectRetry, nowMs: 100).connects[0].id
        _ = s.connected(sig, nowMs: 110)
        _ = s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 120)
        // The media server never answers its handshake.
        let t = s.timerFired(.joinTimeout, nowMs: 5000)
        #expect(t.joinConfirm?.0 == ClientReason.timeout)
        #expect(t.joinConfirm?.1.contains("media handshake") == true && t.joinConfirm?.1.contains("refused") == false, "\(t.joinConfirm?.1 ?? "")")
    }

    @Test func aDuplicateMediaConnectionDuringTheJoinIsRetried() throws {
        var s = ClientSession()
        var p = params(types: MediaMask.audio.rawValue)
        p.policy.connectRetryDelayMs = 100
        let sig = s.join(p, nowMs: 0).connects[0].id
        _ = s.connected(sig)
        let audio = try #require(
            s.received(sig, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 0).connects.first
        ).id
        _ = s.connected(audio)
        let a = s.received(audio, .dataHandshakeResponse(DataHandshakeResponse(statusCode: StatusCode.duplicateMediaConnection)), nowMs: 10)
        #expect(a.joinConfirm == nil && a.closes == [audio] && a.timer(.mediaReconnect(mask: 1)) == 100)
    }

    @Test func aSignalingRefusalWhileTheServerHoldsAnotherConnectionIsRetriedDuringTheJoin() throws {
        // Status 8: the server still holds a signaling connection for the stream (an owner that
        // crashed or was cut off, not noticed gone yet). The first join tries again after the pause.
        var s = ClientSession()
        var p = params(types: MediaMask.audio.rawValue)
        p.policy.connectMaxAttempts = 3
        p.policy.connectRetryDelayMs = 100
        let first = s.join(p, nowMs: 0).connects[0].id
        _ = s.connected(first)
        let a = s.received(first, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: StatusCode.duplicateSignalRequest)), nowMs: 10)
        #expect(a.joinConfirm == nil && a.closes == [first] && a.timer(.connectRetry) == 100, "\(a)")
        let b = s.timerFired(.connectRetry, nowMs: 110)
        let second = try #require(b.connects.first).id
        _ = s.connected(second)
        let c = s.received(second, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: 0, mediaURLs: okURLs)), nowMs: 120)
        let audio = try #require(c.connects.first).id
        _ = s.connected(audio)
        let d = s.received(audio, okMediaResponse([.audio]), nowMs: 130)
        #expect(d.joinConfirm?.0 == 0 && s.isJoined)

        // Refused on every attempt: the join fails with status 8, saying how often it tried.
        var t = ClientSession()
        var id = t.join(p, nowMs: 0).connects[0].id
        var last: [SessionAction] = []
        for attempt in 0..<3 {
            _ = t.connected(id)
            last = t.received(
                id, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: StatusCode.duplicateSignalRequest)), nowMs: Int64(attempt * 100))
            if attempt < 2 { id = try #require(t.timerFired(.connectRetry, nowMs: Int64(attempt * 100 + 100)).connects.first).id }
        }
        #expect(
            last.joinConfirm?.0 == StatusCode.duplicateSignalRequest && last.joinConfirm?.1.contains("gave up after 3 attempts") == true,
            "\(String(describing: last.joinConfirm))")

        // A refusal for good (a bad signature) is not retried.
        var u = ClientSession()
        let uid = u.join(p, nowMs: 0).connects[0].id
        _ = u.connected(uid)
        let e = u.received(uid, .signalingHandshakeResponse(SignalingHandshakeResponse(statusCode: StatusCode.invalidSignature)), nowMs: 0)
        #expect(e.joinConfirm?.0 == StatusCode.invalidSignature)
    }

    @Test func initialConnectIsRetriedWithinTheJoinTimeout() {
        var s = ClientSession()
        var p = params(types: 0)
        p.policy.connectMaxAttempts = 3
        p.policy.connectRetryDelayMs = 100
        let first = s.join(p, nowMs: 0).connects[0].id
        let a = s.connectFailed(first, TransportFailure(.connect, "refused"), nowMs: 0)
        #expect(a.timer(.connectRetry) == 100 && a.joinConfirm == nil)
        let b = s.timerFired(.connectRetry, nowMs: 100)
        #expect(b.connects.count == 1)
        _ = s.connectFailed(b.connects[0].id, TransportFailure(.connect, "refused"), nowMs: 100)
        let c = s.timerFired(.connectRetry, nowMs: 200)
        let d = s.connectFailed(c.connects[0].id, TransportFailure(.connect, "refused"), nowMs: 200)
        #expect(d.joinConfirm?.0 == ClientReason.connectFailed)
    }
}
