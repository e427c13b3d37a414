// The client side of one RTMS stream as a pure state machine: inputs in, actions out. It never
// touches a socket or a clock; its driver (RTMSClient) performs the actions and feeds back what
// happened, with the time. Media payloads do not pass through here: the driver delivers them
// straight from the socket once `mediaReady` was emitted for a connection.
//
// Reconnection follows Zoom's three failover scenarios:
//   1. server failover (a new rtms_started for the live stream): `serverFailover` → full rejoin;
//   2. signaling down (socket lost, or the rtms_interrupted webhook): full rejoin;
//   3. a media connection down (socket lost, event 7, stream state INTERRUPTED/14): that media
//      connection alone is reconnected, signaling untouched.
// A rejoin is a join that does not report join-confirm again; both kinds report `reconnecting`
// per attempt and `reconnected` with the gap, and give up with a leave after the policy's attempts.

import RTMSProtocol

public struct ClientSession: Sendable {
    public enum Phase: Sendable, Equatable {
        case idle
        case connectingSignaling
        case signalingHandshake
        case mediaHandshake
        case ready
        /// The stream ended (TERMINATED, rtms_stopped): the media connections are closing and
        /// still deliver until the server answers; then the leave.
        case ending
        case ended
    }

    struct MediaConnection: Sendable, Equatable {
        enum State: Sendable, Equatable { case connecting, handshaking, up, waiting }
        /// Current connection id; nil while waiting to reconnect.
        var id: Int?
        var mask: Int
        var kinds: [MediaKind]
        var url: String
        var state: State = .connecting
        /// Reconnection attempts since the connection was lost (0 = never lost or recovered).
        var attempt = 0
        var lostAtMs: Int64?
        var label: String { ConnectionRole.media(mask: mask).label }
    }

    struct Rejoin: Sendable, Equatable {
        var attempt = 0
        var cause: String
        var code: Int
        var lostAtMs: Int64
    }

    public private(set) var phase: Phase = .idle
    public private(set) var params: JoinParameters?
    private var nextConnectionID = 1
    private var signalingID: Int? = nil
    private var signalingURLIndex = 0
    private var connectAttempt = 1
    private var media: [MediaConnection] = []
    /// Events the application asked for, and what the server was last told.
    private var wantedEvents: [Int: Bool] = [:]
    private var sentEvents: [Int: Bool] = [:]
    private var pendingVideoSubscriptions: [(userID: Int64, subscribe: Bool)] = []
    /// The participant whose individual video was last subscribed (re-sent after a rejoin).
    private var videoSubscription: Int64?
    private var sequence: Int64 = 0
    private var rejoin: Rejoin?
    private var now: Int64 = 0
    private var rng = SeededRandom(seed: 1)
    private var lastFailure = ""
    private var lastFailureCode = ClientReason.timeout
    /// When the join started (the join timeout counts from here).
    private var joinStartedMs: Int64 = 0
    /// The leave delivered when `.ending` is over.
    private var pendingLeave: (reason: Int, text: String)?
    /// Backstop of `.ending`: the transport ends an unanswered close after 2 s and reports it.
    static let endDrainMs = 3000

    public init() {}

    public var isJoined: Bool { phase == .ready }
    public var isActive: Bool { phase != .idle && phase != .ended }
    /// A full rejoin (scenarios 1 and 2) is in progress.
    public var isRejoining: Bool { rejoin != nil && isActive }

    /// Role of a connection id, if it belongs to this session.
    public func role(of id: Int) -> ConnectionRole? {
        if id == signalingID { return .signaling }
        if let m = media.first(where: { $0.id == id }) { return .media(mask: m.mask) }
        return nil
    }

    // MARK: Join and leave

    /// Starts a join. `nowMs` seeds the handshake sequence (Zoom's client sends a ms tick too).
    public mutating func join(_ p: JoinParameters, nowMs: Int64) -> [SessionAction] {
        guard phase == .idle || phase == .ended else {
            return [.emit(.warning(code: ClientReason.badResponse, text: "join ignored: a session is already active"))]
        }
        // Connection ids stay unique across joins, so late events of an old session are ignored.
        // Subscriptions the application asked for carry over to every join.
        let keepID = nextConnectionID, keepEvents = wantedEvents, keepVideo = pendingVideoSubscriptions
        self = ClientSession()
        nextConnectionID = keepID
        wantedEvents = keepEvents
        pendingVideoSubscriptions = keepVideo
        params = p
        now = nowMs
        joinStartedMs = nowMs
        rng = SeededRandom(seed: UInt64(bitPattern: nowMs))
        sequence = nowMs & 0x7fff_ffff
        phase = .connectingSignaling
        return [.startTimer(.joinTimeout, milliseconds: max(1, p.timeoutMilliseconds))] + connectSignaling()
    }

    /// The application leaves: every socket is closed cleanly; no leave callback (as Zoom's client).
    public mutating func leave() -> [SessionAction] {
        guard isActive else { return [] }
        var out = closeAll(except: nil)
        out += cancelTimers()
        phase = .ended
        rejoin = nil
        pendingLeave = nil
        out.append(.ended)
        return out
    }

    // MARK: Transport inputs

    /// The transport finished the WebSocket upgrade for `id`.
    public mutating func connected(_ id: Int, nowMs: Int64 = 0) -> [SessionAction] {
        tick(nowMs)
        guard let p = params, isActive else { return [.close(id: id, code: 1000, reason: "Normal close")] }
        if id == signalingID && phase == .connectingSignaling {
            // The failure that led here was recovered: a later timeout is not its fault.
            lastFailure = ""
            phase = .signalingHandshake
            return [
                .send(
                    id: id,
                    message: .signalingHandshakeRequest(
                        SignalingHandshakeRequest(
                            sequence: sequence, instanceID: p.instanceID, streamID: p.streamID, signature: p.signature,
                            bufferData: p.bufferData, clientAgent: p.clientAgent)))
            ]
        }
        guard id == signalingID || media.contains(where: { $0.id == id }) else {
            // A connection this session gave up on (a failover moved on) opened after all.
            return [.close(id: id, code: 1000, reason: "Normal close")]
        }
        if let i = media.firstIndex(where: { $0.id == id }), media[i].state == .connecting {
            lastFailure = ""
            media[i].state = .handshaking
            let m = media[i]
            let kinds = m.mask == MediaMask.all.rawValue ? MediaMask(rawValue: p.mediaTypes & MediaMask.everyKind.rawValue).kinds : m.kinds
            let mp = MediaParams.explicit(for: kinds.isEmpty ? MediaKind.allCases : kinds, configured: p.mediaParams)
            return [
                .send(
                    id: id,
                    message: .dataHandshakeRequest(
                        DataHandshakeRequest(
                            sequence: sequence, instanceID: p.instanceID, streamID: p.streamID, signature: p.signature,
                            mediaType: m.mask, mediaParams: mp, payloadEncryption: p.payloadEncryption)))
            ]
        }
        return []
    }

    /// A connection attempt failed before the WebSocket was open.
    public mutating func connectFailed(_ id: Int, _ failure: TransportFailure, nowMs: Int64 = 0) -> [SessionAction] {
        tick(nowMs)
        guard isActive, let role = role(of: id), let p = params else { return [] }
        if role == .signaling {
            let url = p.signalingURLs[signalingURLIndex]
            let text = "signaling connection to \(url) failed: \(failure.message)"
            if signalingURLIndex + 1 < p.signalingURLs.count, failure.kind != .tls {
                // Try the next signaling URL of a comma-separated list.
                signalingURLIndex += 1
                return [.emit(.warning(code: failure.reasonCode, text: text + "; trying \(p.signalingURLs[signalingURLIndex])"))]
                    + connectSignaling()
            }
            if rejoin == nil, !failure.isPermanent, connectAttempt < p.policy.connectMaxAttempts {
                // First connection of a join: retry after the pause, within the join timeout.
                connectAttempt += 1
                signalingID = nil
                signalingURLIndex = 0
                lastFailure = text
                lastFailureCode = failure.reasonCode
                let pause = joinRetryPause(attemptsLeft: p.policy.connectMaxAttempts - connectAttempt + 1)
                return [
                    .emit(.warning(code: failure.reasonCode, text: text + "; attempt \(connectAttempt) of \(p.policy.connectMaxAttempts) in \(pause) ms")),
                    .startTimer(.connectRetry, milliseconds: pause),
                ]
            }
            return fail(failure.reasonCode, text + (rejoin == nil && connectAttempt > 1 ? "; gave up after \(connectAttempt) attempts" : ""), except: id)
        }
        guard let i = media.firstIndex(where: { $0.id == id }) else { return [] }
        let text = "\(role.label) connection to \(media[i].url) failed: \(failure.message)"
        if phase == .ready { return mediaLost(i, code: failure.reasonCode, cause: text, except: id) }
        if !failure.isPermanent, let retry = retryMediaDuringJoin(i, code: failure.reasonCode, text: text) { return retry }
        return fail(failure.reasonCode, text, except: id)
    }

    /// A media connection of the first join failed before it was up: like the first signaling
    /// connection, it is tried again after the pause (RTMS_CONNECTION_MAX_ATTEMPTS and
    /// RTMS_CONNECTION_RETRY_DELAY_MS), within the join timeout. nil = no retry left.
    private mutating func retryMediaDuringJoin(_ i: Int, code: Int, text: String) -> [SessionAction]? {
        let transient = ReconnectPolicy.isRetryable(code) || code == StatusCode.duplicateMediaConnection || code == StatusCode.allConnectionExists
        guard phase == .mediaHandshake, rejoin == nil, let p = params, transient,
            media[i].attempt + 1 < p.policy.connectMaxAttempts
        else { return nil }
        media[i].attempt += 1
        media[i].id = nil
        media[i].state = .waiting
        lastFailure = text
        lastFailureCode = code
        let attempt = media[i].attempt + 1
        let pause = joinRetryPause(attemptsLeft: p.policy.connectMaxAttempts - attempt + 1)
        return [
            .emit(.warning(code: code, text: text + "; attempt \(attempt) of \(p.policy.connectMaxAttempts) in \(pause) ms")),
            .startTimer(.mediaReconnect(mask: media[i].mask), milliseconds: pause),
        ]
    }

    /// The pause before another attempt of the first join: RTMS_CONNECTION_RETRY_DELAY_MS, shortened
    /// when `attemptsLeft` such pauses (plus a slice for the last attempt itself) would not fit in
    /// what is left of the join timeout: every configured attempt runs (5 in Zoom's 10 s default).
    private func joinRetryPause(attemptsLeft: Int) -> Int {
        guard let p = params else { return 0 }
        let left = Int(max(0, joinStartedMs + Int64(p.timeoutMilliseconds) - now))
        return max(1, min(p.policy.connectRetryDelayMs, left / (max(1, attemptsLeft) + 1)))
    }

    /// A connection ended.
    public mutating func closed(_ id: Int, _ info: CloseInfo, nowMs: Int64 = 0) -> [SessionAction] {
        tick(nowMs)
        guard isActive, let role = role(of: id) else { return [] }
        if phase == .ending { return drained(id) }
        let what: String
        let code: Int
        if let c = info.peerCloseCode {
            code = ClientReason.closedByServer
            what = "the server closed the \(role.label) connection (close code \(c)\(info.peerCloseReason.isEmpty ? "" : " \"\(info.peerCloseReason)\""))"
        } else {
            code = info.error?.hasPrefix("no traffic") == true ? ClientReason.livenessTimeout : ClientReason.connectionLost
            what = "the \(role.label) connection was lost" + (info.error.map { ": \($0)" } ?? "")
        }
        if phase == .ready {
            if role == .signaling { return startRejoin(code: code, cause: what, except: id) }
            if let i = media.firstIndex(where: { $0.id == id }) { return mediaLost(i, code: code, cause: what, except: id) }
        }
        if let i = media.firstIndex(where: { $0.id == id }), media[i].state != .up,
            let retry = retryMediaDuringJoin(i, code: code, text: what)
        {
            return retry
        }
        return fail(code, what, except: id)
    }

    /// A message arrived on `id`.
    public mutating func received(_ id: Int, _ message: RTMSMessage, nowMs: Int64) -> [SessionAction] {
        tick(nowMs)
        guard isActive, phase != .ending, let role = role(of: id) else { return [] }
        switch message {
        case .keepAliveRequest(let k):
            return [.send(id: id, message: .keepAliveResponse(k))]
        case .signalingHandshakeResponse(let r) where role == .signaling:
            return handleSignalingResponse(r)
        case .dataHandshakeResponse(let r):
            guard case .media = role else { break }
            return handleDataResponse(id, r)
        case .eventUpdate(let e) where role == .signaling:
            var out = eventActions(e)
            if e.eventType == EventType.mediaConnectionInterrupted, phase == .ready {
                // Scenario 3, announced by the server: reconnect the media connection(s) it names.
                let mask = e.event["media_type"]?.intValue.map(Int.init)
                out += interruptMedia(matching: mask, cause: "the server reported media connection interrupted (event 7)")
            }
            return out
        case .streamStateUpdate(let s) where role == .signaling:
            var out: [SessionAction] = [.emit(.streamState(state: s.state, reason: s.reason ?? 0))]
            if s.state == StreamState.terminated.rawValue {
                let reason = s.reason ?? 0
                out += end(leaveReason: reason, text: "stream terminated by server: \(StopReason.name(reason)) (\(reason))")
            } else if s.state == StreamState.interrupted.rawValue, s.reason == StopReason.dataConnectionInterrupted, phase == .ready {
                out += interruptMedia(matching: nil, cause: "the server reported the data connection interrupted (stream state 2, reason 14)")
            }
            return out
        case .sessionStateUpdate(let s) where role == .signaling:
            let op: Int?
            switch s.state {
            case SessionState.started.rawValue: op = SessionOp.add
            case SessionState.paused.rawValue: op = SessionOp.pause
            case SessionState.resumed.rawValue: op = SessionOp.resume
            case SessionState.stopped.rawValue: op = SessionOp.stop
            default: op = nil
            }
            guard let op else { return [] }
            return [.emit(.sessionUpdate(op: op, sessionID: s.sessionID ?? "", state: s.state, timestamp: s.timestamp ?? 0))]
        case .videoSubscriptionResponse(let r) where role == .signaling:
            return [.emit(.videoSubscribed(userID: r.userID ?? 0, status: r.statusCode, reason: r.reason))]
        case .streamCloseResponse(let r) where role == .signaling:
            return [.emit(.streamClosed(status: r.statusCode, reason: r.reason))]
        case .sessionStateResponse(let s) where role == .signaling:
            return [.emit(.eventEx(json: JSON.sortedString(.object(RTMSMessage.sessionStateResponse(s).json))))]
        case .streamStateResponse(let s) where role == .signaling:
            return [.emit(.streamState(state: s.state, reason: s.reason ?? 0))]
        case .metadata(let t, let c):
            return [.emit(.eventEx(json: JSON.sortedString(.object(["msg_type": .int(Int64(t)), "content": c]))))]
        default:
            break
        }
        return [
            .emit(
                .warning(
                    code: ClientReason.badResponse,
                    text: "ignored msg_type \(message.messageType) on the \(role.label) connection"))
        ]
    }

    /// A message on `id` could not be decoded.
    public mutating func malformed(_ id: Int, _ error: DecodeError, nowMs: Int64 = 0) -> [SessionAction] {
        tick(nowMs)
        guard isActive, phase != .ending, let role = role(of: id) else { return [] }
        // A broken handshake response ends the attempt; anything else is a counted drop.
        if role == .signaling && phase == .signalingHandshake && (error.messageType == 2 || error.messageType == nil) {
            return fail(ClientReason.badResponse, "malformed signaling handshake response: \(error.reason)", except: nil)
        }
        if case .media = role, error.messageType == 4, let i = media.firstIndex(where: { $0.id == id }), media[i].state == .handshaking {
            let text = "malformed \(role.label) handshake response: \(error.reason)"
            if phase == .ready { return mediaLost(i, code: ClientReason.badResponse, cause: text, except: nil) }
            return fail(ClientReason.badResponse, text, except: nil)
        }
        return [.emit(.warning(code: ClientReason.badResponse, text: "dropped a message on the \(role.label) connection: \(error)"))]
    }

    public mutating func timerFired(_ t: TimerKind, nowMs: Int64 = 0) -> [SessionAction] {
        tick(nowMs)
        guard isActive, let p = params else { return [] }
        switch t {
        case .endDrain:
            guard phase == .ending, let l = pendingLeave else { return [] }
            return finish(leaveReason: l.reason, text: l.text)
        case .joinTimeout:
            guard phase != .ready, rejoin == nil else { return [] }
            // When attempts kept failing, the last failure is the reason and the text; else the timeout.
            if !lastFailure.isEmpty {
                return fail(lastFailureCode, "\(lastFailure); gave up when the join timeout of \(p.timeoutMilliseconds) ms passed", except: nil)
            }
            return fail(ClientReason.timeout, "join timed out after \(p.timeoutMilliseconds) ms waiting for \(waitingFor())", except: nil)
        case .connectRetry:
            guard signalingID == nil, phase == .connectingSignaling else { return [] }
            return connectSignaling()
        case .rejoin:
            guard rejoin != nil else { return [] }
            signalingURLIndex = 0
            phase = .connectingSignaling
            return [.startTimer(.attemptTimeout, milliseconds: max(1, p.policy.attemptTimeoutMs))] + connectSignaling()
        case .attemptTimeout:
            guard rejoin != nil, phase != .ready else { return [] }
            return fail(ClientReason.timeout, "reconnection attempt timed out after \(p.policy.attemptTimeoutMs) ms waiting for \(waitingFor())", except: nil)
        case .mediaReconnect(let mask):
            guard phase == .ready || (phase == .mediaHandshake && rejoin == nil),
                let i = media.firstIndex(where: { $0.mask == mask })
            else { return [] }
            switch media[i].state {
            case .waiting:
                let id = newID()
                media[i].id = id
                media[i].state = .connecting
                // During the first join the join timeout bounds the attempt.
                guard phase == .ready else { return [.connect(id: id, role: .media(mask: mask), url: media[i].url)] }
                return [
                    .connect(id: id, role: .media(mask: mask), url: media[i].url),
                    .startTimer(.mediaReconnect(mask: mask), milliseconds: max(1, p.policy.attemptTimeoutMs)),
                ]
            case .connecting, .handshaking:
                guard phase == .ready else { return [] }
                return mediaLost(
                    i, code: ClientReason.timeout, cause: "\(media[i].label) reconnection attempt timed out after \(p.policy.attemptTimeoutMs) ms", except: nil)
            case .up:
                return []
            }
        }
    }

    // MARK: Application inputs

    /// Subscribes (or unsubscribes) event types. Queued until join-confirm, then sent; never lost.
    public mutating func subscribe(_ events: [Int], _ on: Bool) -> [SessionAction] {
        for e in events { wantedEvents[e] = on }
        return flushSubscriptions()
    }

    public mutating func subscribeVideo(userID: Int64, _ on: Bool, nowMs: Int64) -> [SessionAction] {
        tick(nowMs)
        guard phase == .ready, let sid = signalingID else {
            pendingVideoSubscriptions.append((userID, on))
            return []
        }
        noteVideoSubscription(userID, on)
        return [.send(id: sid, message: .videoSubscriptionRequest(VideoSubscriptionRequest(userID: userID, subscribe: on, timestamp: nowMs)))]
    }

    /// Asks the server to close the stream (21); the answer (22) is reported as streamClosed.
    public mutating func closeStream() -> [SessionAction] {
        guard phase == .ready, let sid = signalingID, let p = params else {
            return [.emit(.warning(code: ClientReason.badResponse, text: "close stream ignored: not joined"))]
        }
        return [.send(id: sid, message: .streamCloseRequest(streamID: p.streamID))]
    }

    // MARK: Webhook inputs (Zoom's failover signals)

    /// Scenario 1: a new `rtms_started` for this stream. New server URLs mean the server failed
    /// over: rejoin there. The same URLs while joined or rejoining are a duplicate delivery.
    public mutating func serverFailover(signalingURLs urls: [String], nowMs: Int64) -> [SessionAction] {
        serverMoved(to: urls, cause: "server failover to \(urls.first ?? "") (new rtms_started)", nowMs: nowMs)
    }

    private mutating func serverMoved(to urls: [String], cause: String, nowMs: Int64) -> [SessionAction] {
        tick(nowMs)
        guard isActive, phase != .ending, var p = params, !urls.isEmpty else { return [] }
        if urls == p.signalingURLs { return [] }
        p.signalingURLs = urls
        params = p
        if phase != .ready && rejoin == nil {
            // Still joining: continue the join at the new server.
            var out = closeAll(except: nil)
            signalingURLIndex = 0
            phase = .connectingSignaling
            out += connectSignaling()
            return out
        }
        rejoin = nil
        return startRejoin(code: ClientReason.connectionLost, cause: cause, except: nil)
    }

    /// Scenario 2, announced by webhook: `rtms_interrupted` for this stream. When it names
    /// server URLs other than the current ones, the rejoin goes there (even one already under
    /// way towards the old server).
    public mutating func interrupted(signalingURLs urls: [String] = [], nowMs: Int64) -> [SessionAction] {
        tick(nowMs)
        if !urls.isEmpty, isActive, let p = params, urls != p.signalingURLs {
            return serverMoved(to: urls, cause: "the server interrupted the stream (rtms_interrupted) and named \(urls[0])", nowMs: nowMs)
        }
        guard phase == .ready, rejoin == nil else { return [] }
        return startRejoin(code: ClientReason.connectionLost, cause: "the server interrupted the stream (rtms_interrupted)", except: nil)
    }

    /// `rtms_stopped` for this stream: the stream is over.
    public mutating func stopped(reason: Int, nowMs: Int64) -> [SessionAction] {
        tick(nowMs)
        guard isActive, phase != .ending else { return [] }
        return end(leaveReason: reason, text: "stream stopped (rtms_stopped): \(StopReason.name(reason)) (\(reason))")
    }

    // MARK: Internals

    private mutating func tick(_ nowMs: Int64) { if nowMs > now { now = nowMs } }

    private mutating func newID() -> Int {
        defer { nextConnectionID += 1 }
        return nextConnectionID
    }

    private mutating func connectSignaling() -> [SessionAction] {
        guard let p = params, signalingURLIndex < p.signalingURLs.count else { return [] }
        // Never lose track of a connection: one still open is closed before it is replaced.
        var out: [SessionAction] = signalingID.map { [.close(id: $0, code: 1000, reason: "Normal close")] } ?? []
        let id = newID()
        signalingID = id
        out.append(.connect(id: id, role: .signaling, url: p.signalingURLs[signalingURLIndex]))
        return out
    }

    private func waitingFor() -> String {
        switch phase {
        case .connectingSignaling: return "the signaling connection"
        case .signalingHandshake: return "the signaling handshake response"
        default:
            let pending = media.filter { $0.state != .up }.map(\.label)
            return "media handshake responses (" + pending.joined(separator: ", ") + ")"
        }
    }

    private mutating func handleSignalingResponse(_ r: SignalingHandshakeResponse) -> [SessionAction] {
        guard phase == .signalingHandshake, let p = params else { return [] }
        guard r.statusCode == StatusCode.ok else {
            let text =
                "signaling handshake rejected: \(StatusCode.name(r.statusCode)) (\(r.statusCode))"
                + (r.reason.isEmpty ? "" : ": \(r.reason)")
            // The server still holds a signaling connection for this stream (a client it has not
            // noticed gone: a crashed or cut-off owner, our own connection of a moment ago) or
            // failed inside: the first join tries again after the pause, like a refused
            // connection, within the join timeout. (A rejoin retries through its own backoff.)
            if rejoin == nil, r.statusCode == StatusCode.duplicateSignalRequest || r.statusCode == StatusCode.internalException,
                connectAttempt < p.policy.connectMaxAttempts
            {
                connectAttempt += 1
                lastFailure = text
                lastFailureCode = r.statusCode
                let out: [SessionAction] = signalingID.map { [.close(id: $0, code: 1000, reason: "Normal close")] } ?? []
                signalingID = nil
                signalingURLIndex = 0
                phase = .connectingSignaling
                let pause = joinRetryPause(attemptsLeft: p.policy.connectMaxAttempts - connectAttempt + 1)
                return out + [
                    .emit(.warning(code: r.statusCode, text: text + "; attempt \(connectAttempt) of \(p.policy.connectMaxAttempts) in \(pause) ms")),
                    .startTimer(.connectRetry, milliseconds: pause),
                ]
            }
            return fail(r.statusCode, text + (rejoin == nil && connectAttempt > 1 ? "; gave up after \(connectAttempt) attempts" : ""), except: nil)
        }
        var out: [SessionAction] = []
        let wanted = p.mediaTypes & MediaMask.validBits
        var plan: [(mask: Int, kinds: [MediaKind], url: String)] = []
        var missing: [String] = []
        if wanted & MediaMask.all.rawValue != 0 {
            if let u = r.url(for: "all") { plan.append((MediaMask.all.rawValue, MediaKind.allCases, u)) } else { missing.append("all") }
        } else {
            for k in MediaMask(rawValue: wanted).kinds {
                if let u = r.url(for: k.key) ?? (k == .deskshare ? r.url(for: "sharescreen") : nil) {
                    plan.append((k.rawValue, [k], u))
                } else {
                    missing.append(k.key)
                }
            }
        }
        let offered = r.mediaURLs.map(\.key).joined(separator: ", ")
        if !missing.isEmpty {
            let text = "the server offered no media URL for \(missing.joined(separator: ", ")) (offered: \(offered.isEmpty ? "none" : offered))"
            if plan.isEmpty {
                return fail(ClientReason.badResponse, text, except: nil)
            }
            out.append(.emit(.warning(code: ClientReason.badResponse, text: text + "; continuing without it")))
        }
        if plan.isEmpty {
            // Events only: no media connection to wait for.
            return out + becomeReady()
        }
        phase = .mediaHandshake
        media = []
        for item in plan {
            let id = newID()
            media.append(MediaConnection(id: id, mask: item.mask, kinds: item.kinds, url: item.url))
            out.append(.connect(id: id, role: .media(mask: item.mask), url: item.url))
        }
        return out
    }

    private mutating func handleDataResponse(_ id: Int, _ r: DataHandshakeResponse) -> [SessionAction] {
        guard let idx = media.firstIndex(where: { $0.id == id }), media[idx].state == .handshaking else { return [] }
        let label = media[idx].label
        guard r.statusCode == StatusCode.ok else {
            let text =
                "\(label) handshake rejected: \(StatusCode.name(r.statusCode)) (\(r.statusCode))"
                + (r.reason.isEmpty ? "" : ": \(r.reason)")
            if phase == .ready { return mediaLost(idx, code: r.statusCode, cause: text, except: nil) }
            // The server may still hold a media connection of ours that it has not noticed gone.
            if r.statusCode == StatusCode.duplicateMediaConnection || r.statusCode == StatusCode.allConnectionExists,
                let id = media[idx].id, let retry = retryMediaDuringJoin(idx, code: r.statusCode, text: text)
            {
                return [.close(id: id, code: 1000, reason: "Normal close")] + retry
            }
            return fail(r.statusCode, text, except: nil)
        }
        // Zoom's service always confirms the parameters of audio, video and deskshare and says
        // whether payloads are encrypted; a response without them is not from a working server.
        var problems: [String] = []
        if r.payloadEncrypted == nil { problems.append("payload_encrypted is missing") }
        let checked = media[idx].kinds.filter { [.audio, .video, .deskshare].contains($0) }
        for k in checked {
            let present: Bool
            switch k {
            case .audio: present = r.mediaParams?.audio != nil
            case .video: present = r.mediaParams?.video != nil
            default: present = r.mediaParams?.deskshare != nil
            }
            if !present { problems.append("media_params.\(k.key) is missing") }
        }
        let missingFields = r.missingParamFields.filter { f in checked.contains { f.hasPrefix($0.key + ".") } }
        if !missingFields.isEmpty { problems.append("media_params lacks " + missingFields.joined(separator: ", ")) }
        if !problems.isEmpty {
            let text = "malformed \(label) handshake response: " + problems.joined(separator: "; ")
            if phase == .ready { return mediaLost(idx, code: ClientReason.badResponse, cause: text, except: nil) }
            return fail(ClientReason.badResponse, text, except: nil)
        }
        media[idx].state = .up
        var out: [SessionAction] = [.mediaReady(id: id, kinds: media[idx].kinds)]
        if r.payloadEncrypted == true && params?.payloadEncryption != true {
            out.append(.emit(.warning(code: 0, text: "\(label): server says payloads are encrypted, but none was requested; treating them as plain")))
        }
        if phase == .ready {
            // Scenario 3 done: this media connection is back; tell the server we are ready again.
            let m = media[idx]
            media[idx].attempt = 0
            media[idx].lostAtMs = nil
            out.append(.cancelTimer(.mediaReconnect(mask: m.mask)))
            if let sid = signalingID, let p = params { out.append(.send(id: sid, message: .clientReady(streamID: p.streamID))) }
            out.append(.emit(.reconnected(connection: .media(mask: m.mask), gapMs: Int(max(0, now - (m.lostAtMs ?? now))))))
            return out
        }
        media[idx].attempt = 0
        if phase == .mediaHandshake && media.allSatisfy({ $0.state == .up }) {
            out += becomeReady()
        }
        return out
    }

    private mutating func becomeReady() -> [SessionAction] {
        guard let sid = signalingID, let p = params else { return [] }
        phase = .ready
        var out: [SessionAction] = [
            .cancelTimer(.joinTimeout), .cancelTimer(.attemptTimeout),
            .send(id: sid, message: .clientReady(streamID: p.streamID)),
        ]
        if let r = rejoin {
            out.append(.emit(.reconnected(connection: .signaling, gapMs: Int(max(0, now - r.lostAtMs)))))
            rejoin = nil
        } else {
            out.append(.emit(.joinConfirm(reason: 0, text: "joined stream \(p.streamID)")))
        }
        out += flushSubscriptions()
        if let v = videoSubscription {
            out.append(.send(id: sid, message: .videoSubscriptionRequest(VideoSubscriptionRequest(userID: v, subscribe: true, timestamp: now))))
        }
        for v in pendingVideoSubscriptions {
            noteVideoSubscription(v.userID, v.subscribe)
            out.append(.send(id: sid, message: .videoSubscriptionRequest(VideoSubscriptionRequest(userID: v.userID, subscribe: v.subscribe, timestamp: now))))
        }
        pendingVideoSubscriptions = []
        return out
    }

    private mutating func noteVideoSubscription(_ userID: Int64, _ on: Bool) {
        if on { videoSubscription = userID } else if videoSubscription == userID { videoSubscription = nil }
    }

    private mutating func flushSubscriptions() -> [SessionAction] {
        guard phase == .ready, let sid = signalingID else { return [] }
        var items: [EventSubscription.Item] = []
        for (e, on) in wantedEvents.sorted(by: { $0.key < $1.key }) where sentEvents[e] != on {
            // Unsubscribing something never subscribed needs no message.
            if !on && sentEvents[e] == nil { continue }
            items.append(.init(eventType: e, subscribe: on))
            sentEvents[e] = on
        }
        guard !items.isEmpty else { return [] }
        // One message per direction keeps the server's view exact.
        let subs = items.filter(\.subscribe), unsubs = items.filter { !$0.subscribe }
        var out: [SessionAction] = []
        if !subs.isEmpty { out.append(.send(id: sid, message: .eventSubscription(EventSubscription(events: subs)))) }
        if !unsubs.isEmpty { out.append(.send(id: sid, message: .eventSubscription(EventSubscription(events: unsubs)))) }
        return out
    }

    private func eventActions(_ e: EventUpdate) -> [SessionAction] {
        var out: [SessionAction] = []
        let t = e.eventType
        let participants = e.event["participants"]?.arrayValue ?? []
        func users() -> [(Int64, String)] {
            var list = participants.compactMap { p -> (Int64, String)? in
                guard let o = p.objectValue else { return p.intValue.map { ($0, "") } }
                guard let id = o["user_id"]?.intValue ?? o["user_id"]?.stringValue.flatMap({ Int64($0) }) else { return nil }
                return (id, o["user_name"]?.stringValue ?? "")
            }
            // Some senders put a single user at the top level instead of `participants`.
            if participants.isEmpty, let id = e.event["user_id"]?.intValue {
                list.append((id, e.event["user_name"]?.stringValue ?? ""))
            }
            return list
        }
        // Zoom's order: its C library's per-user on_user_update (and participant video, first
        // packet), then the raw event (on_event_ex), then the wrappers' typed callbacks, which
        // Zoom's Python and Node layers parse from that raw event after handing it on.
        var typed: [SessionAction] = []
        switch t {
        case EventType.participantJoin, EventType.participantLeave:
            let op = t == EventType.participantJoin ? UserOp.join : UserOp.leave
            let list = users()
            for (id, name) in list { out.append(.emit(.userUpdate(op: op, userID: id, userName: name))) }
            // The event as a whole, even when it names nobody.
            typed.append(
                .emit(
                    .participantEvent(
                        op: op, timestamp: e.timestamp,
                        participants: list.map { EventParticipant(userID: $0.0, userName: $0.1) })))
        case EventType.participantVideoOn, EventType.participantVideoOff:
            out.append(.emit(.participantVideo(userIDs: users().map(\.0), isOn: t == EventType.participantVideoOn)))
        case EventType.firstPacketTimestamp:
            out.append(.emit(.firstPacket(timestamp: e.timestamp)))
        case EventType.activeSpeakerChange, EventType.sharingStart, EventType.sharingStop:
            let u = users().first ?? (0, "")
            if t == EventType.activeSpeakerChange {
                typed.append(.emit(.activeSpeaker(userID: u.0, userName: u.1, timestamp: e.timestamp)))
            } else {
                typed.append(.emit(.sharing(started: t == EventType.sharingStart, userID: u.0, userName: u.1, timestamp: e.timestamp)))
            }
        case EventType.mediaConnectionInterrupted:
            typed.append(.emit(.mediaInterrupted(timestamp: e.timestamp)))
        default:
            break
        }
        out.append(.emit(.eventEx(json: JSON.sortedString(.object(e.event)))))
        return out + typed
    }

    // MARK: Reconnection

    private mutating func nextDelay(_ attempt: Int) -> Int {
        let unit = Double(rng.next() >> 11) / Double(1 << 53)
        return (params?.policy ?? ReconnectPolicy()).delay(attempt: attempt, unit: unit)
    }

    /// Scenarios 1 and 2: drop every connection and join again without a second join-confirm.
    private mutating func startRejoin(code: Int, cause: String, except: Int?) -> [SessionAction] {
        guard isActive else { return [] }
        var out = closeAll(except: except)
        out += media.map { .cancelTimer(.mediaReconnect(mask: $0.mask)) }
        media = []
        if rejoin == nil { rejoin = Rejoin(cause: cause, code: code, lostAtMs: now) }
        rejoin?.cause = cause
        rejoin?.code = code
        sentEvents = [:]
        phase = .connectingSignaling
        return out + scheduleRejoinAttempt()
    }

    private mutating func scheduleRejoinAttempt() -> [SessionAction] {
        guard var r = rejoin, let p = params else { return [] }
        r.attempt += 1
        rejoin = r
        if r.attempt > p.policy.maxAttempts {
            let code = r.code
            return finish(leaveReason: code, text: "gave up reconnecting after \(p.policy.maxAttempts) attempts: \(r.cause)")
        }
        let delay = nextDelay(r.attempt)
        return [
            .cancelTimer(.attemptTimeout),
            .emit(.reconnecting(connection: .signaling, attempt: r.attempt, delayMs: delay, cause: r.cause)),
            .startTimer(.rejoin, milliseconds: delay),
        ]
    }

    /// A rejoin attempt failed: another attempt, or the end when the server refused for good.
    private mutating func rejoinFailed(_ code: Int, _ text: String, except: Int?) -> [SessionAction] {
        var out = closeAll(except: except)
        out.append(.cancelTimer(.attemptTimeout))
        media = []
        phase = .connectingSignaling
        guard ReconnectPolicy.isRetryable(code) else {
            // An authentication failure is reported as such (stop reason 18), others as they are.
            let reason = code == StatusCode.invalidSignature ? StopReason.authenticationFailure : code
            rejoin = nil
            return out + finish(leaveReason: reason, text: "reconnection refused: \(text)")
        }
        rejoin?.cause = text
        rejoin?.code = code
        return out + scheduleRejoinAttempt()
    }

    /// Scenario 3: media connection `i` is gone while signaling is up; reconnect it alone.
    private mutating func mediaLost(_ i: Int, code: Int, cause: String, except: Int?) -> [SessionAction] {
        guard let p = params else { return [] }
        var out: [SessionAction] = []
        if let id = media[i].id, id != except { out.append(.close(id: id, code: 1000, reason: "Normal close")) }
        if !ReconnectPolicy.isRetryable(code) && code != StatusCode.duplicateMediaConnection && code != StatusCode.allConnectionExists {
            return out
                + finish(
                    leaveReason: code == StatusCode.invalidSignature ? StopReason.authenticationFailure : code,
                    text: "reconnecting \(media[i].label) refused: \(cause)")
        }
        media[i].id = nil
        media[i].state = .waiting
        media[i].attempt += 1
        if media[i].lostAtMs == nil { media[i].lostAtMs = now }
        if media[i].attempt > p.policy.maxAttempts {
            return out + finish(leaveReason: code, text: "gave up reconnecting \(media[i].label) after \(p.policy.maxAttempts) attempts: \(cause)")
        }
        let delay = nextDelay(media[i].attempt)
        out.append(.emit(.reconnecting(connection: .media(mask: media[i].mask), attempt: media[i].attempt, delayMs: delay, cause: cause)))
        out.append(.startTimer(.mediaReconnect(mask: media[i].mask), milliseconds: delay))
        return out
    }

    /// The server says media connections are interrupted: drop the named ones that still look up.
    private mutating func interruptMedia(matching mask: Int?, cause: String) -> [SessionAction] {
        var out: [SessionAction] = []
        for i in media.indices where media[i].state == .up && (mask == nil || mask == media[i].mask || (mask! & media[i].mask) != 0) {
            out += mediaLost(i, code: ClientReason.connectionLost, cause: cause, except: nil)
        }
        return out
    }

    /// Join (or a rejoin attempt) failed.
    private mutating func fail(_ reason: Int, _ text: String, except: Int?) -> [SessionAction] {
        guard isActive else { return [] }
        if rejoin != nil { return rejoinFailed(reason, text, except: except) }
        if phase == .ready { return finish(leaveReason: reason, text: text, except: except) }
        var out = closeAll(except: except)
        out += cancelTimers()
        out.append(.emit(.joinConfirm(reason: reason, text: text)))
        phase = .ended
        out.append(.ended)
        return out
    }

    /// A joined session ends: leave callback with the reason, close everything.
    private mutating func finish(leaveReason: Int, text: String, except: Int? = nil) -> [SessionAction] {
        guard isActive else { return [] }
        var out = closeAll(except: except)
        out += cancelTimers()
        out.append(.emit(.leave(reason: leaveReason, text: text)))
        phase = .ended
        rejoin = nil
        pendingLeave = nil
        out.append(.ended)
        return out
    }

    /// The server ended the stream (TERMINATED, rtms_stopped). Its last media may still be on
    /// the way on the media connections (another socket than the signaling one that said so):
    /// they are closed cleanly and keep delivering until the server answers the close; the leave
    /// comes when all are closed, or after `endDrainMs`.
    private mutating func end(leaveReason: Int, text: String) -> [SessionAction] {
        guard phase == .ready, rejoin == nil, media.contains(where: { $0.id != nil && $0.state == .up }) else {
            return finish(leaveReason: leaveReason, text: text)
        }
        var out = cancelTimers()
        if let s = signalingID { out.append(.close(id: s, code: 1000, reason: "Normal close")) }
        signalingID = nil
        for i in media.indices {
            guard let id = media[i].id else { continue }
            if media[i].state == .up {
                out.append(.drain(id: id))
            } else {
                out.append(.close(id: id, code: 1000, reason: "Normal close"))
                media[i].id = nil
            }
        }
        phase = .ending
        pendingLeave = (leaveReason, text)
        out.append(.startTimer(.endDrain, milliseconds: Self.endDrainMs))
        return out
    }

    /// A media connection closed while `.ending`: the leave once none is left.
    private mutating func drained(_ id: Int) -> [SessionAction] {
        if let i = media.firstIndex(where: { $0.id == id }) { media[i].id = nil }
        guard media.allSatisfy({ $0.id == nil }), let l = pendingLeave else { return [] }
        return finish(leaveReason: l.reason, text: l.text)
    }

    private func cancelTimers() -> [SessionAction] {
        [
            .cancelTimer(.joinTimeout), .cancelTimer(.connectRetry), .cancelTimer(.rejoin), .cancelTimer(.attemptTimeout),
            .cancelTimer(.endDrain),
        ]
            + media.map { .cancelTimer(.mediaReconnect(mask: $0.mask)) }
    }

    private mutating func closeAll(except: Int?) -> [SessionAction] {
        var out: [SessionAction] = []
        for m in media { if let id = m.id, id != except { out.append(.close(id: id, code: 1000, reason: "Normal close")) } }
        if let s = signalingID, s != except { out.append(.close(id: s, code: 1000, reason: "Normal close")) }
        for i in media.indices { media[i].id = nil }
        signalingID = nil
        return out
    }
}
