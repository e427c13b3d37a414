// The client side of one RTMS stream as a pure state machine: inputs in, actions out. It never
// touches a socket or a clock; its driver (RTMSClient) performs the actions and feeds back what
// happened. Media payloads do not pass through here: the driver delivers them straight from the
// socket once `mediaReady` was emitted for a connection.

import RTMSProtocol

public struct ClientSession: Sendable {
    public enum Phase: Sendable, Equatable {
        case idle
        case connectingSignaling
        case signalingHandshake
        case mediaHandshake
        case ready
        case ended
    }

    struct MediaConnection: Sendable, Equatable {
        var id: Int
        var mask: Int
        var kinds: [MediaKind]
        var url: String
        var handshakeDone = false
    }

    public private(set) var phase: Phase = .idle
    public private(set) var params: JoinParameters?
    private var nextConnectionID = 1
    private var signalingID: Int? = nil
    private var signalingURLIndex = 0
    private var media: [MediaConnection] = []
    /// Events the application asked for, and what the server was last told.
    private var wantedEvents: [Int: Bool] = [:]
    private var sentEvents: [Int: Bool] = [:]
    private var pendingVideoSubscriptions: [(userID: Int64, subscribe: Bool)] = []
    private var closeRequested = false

    public init() {}

    public var isJoined: Bool { phase == .ready }
    public var isActive: Bool { phase != .idle && phase != .ended }

    /// Role of a connection id, if it belongs to this session.
    public func role(of id: Int) -> ConnectionRole? {
        if id == signalingID { return .signaling }
        if let m = media.first(where: { $0.id == id }) { return .media(mask: m.mask) }
        return nil
    }

    // MARK: Inputs

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
        self.sequence = nowMs & 0x7fff_ffff
        phase = .connectingSignaling
        var actions: [SessionAction] = [.startTimer(.joinTimeout, milliseconds: max(1, p.timeoutMilliseconds))]
        actions += connectSignaling()
        return actions
    }

    private var sequence: Int64 = 0

    private mutating func newID() -> Int {
        defer { nextConnectionID += 1 }
        return nextConnectionID
    }

    private mutating func connectSignaling() -> [SessionAction] {
        guard let p = params, signalingURLIndex < p.signalingURLs.count else { return [] }
        let id = newID()
        signalingID = id
        return [.connect(id: id, role: .signaling, url: p.signalingURLs[signalingURLIndex])]
    }

    /// The transport finished the WebSocket upgrade for `id`.
    public mutating func connected(_ id: Int) -> [SessionAction] {
        guard let p = params, isActive else { return [.close(id: id, code: 1000, reason: "Normal close")] }
        if id == signalingID && phase == .connectingSignaling {
            phase = .signalingHandshake
            return [.send(id: id, message: .signalingHandshakeRequest(SignalingHandshakeRequest(
                sequence: sequence, instanceID: p.instanceID, streamID: p.streamID, signature: p.signature,
                bufferData: p.bufferData, clientAgent: p.clientAgent)))]
        }
        if let m = media.first(where: { $0.id == id }), phase == .mediaHandshake || phase == .ready {
            let kinds = m.mask == MediaMask.all.rawValue ? MediaMask(rawValue: p.mediaTypes & MediaMask.everyKind.rawValue).kinds : m.kinds
            let allKinds = kinds.isEmpty ? MediaKind.allCases : kinds
            let mp = MediaParams.explicit(for: allKinds, configured: p.mediaParams)
            return [.send(id: id, message: .dataHandshakeRequest(DataHandshakeRequest(
                sequence: sequence, instanceID: p.instanceID, streamID: p.streamID, signature: p.signature,
                mediaType: m.mask, mediaParams: mp, payloadEncryption: p.payloadEncryption)))]
        }
        return []
    }

    /// A connection attempt failed before the WebSocket was open.
    public mutating func connectFailed(_ id: Int, _ failure: TransportFailure) -> [SessionAction] {
        guard isActive, let role = role(of: id) else { return [] }
        if role == .signaling && phase == .connectingSignaling, let p = params,
           signalingURLIndex + 1 < p.signalingURLs.count, failure.kind != .tls {
            // Try the next signaling URL of a comma-separated list.
            signalingURLIndex += 1
            return [.emit(.warning(code: failure.reasonCode,
                                   text: "signaling \(p.signalingURLs[signalingURLIndex - 1]): \(failure.message); trying \(p.signalingURLs[signalingURLIndex])"))]
                + connectSignaling()
        }
        let url = role == .signaling ? params?.signalingURLs[signalingURLIndex] ?? "" : media.first { $0.id == id }?.url ?? ""
        return fail(failure.reasonCode, "\(role.label) connection to \(url) failed: \(failure.message)", except: id)
    }

    /// A message arrived on `id`.
    public mutating func received(_ id: Int, _ message: RTMSMessage, nowMs: Int64) -> [SessionAction] {
        guard isActive, let role = role(of: id) else { return [] }
        switch message {
        case .keepAliveRequest(let k):
            return [.send(id: id, message: .keepAliveResponse(k))]
        case .signalingHandshakeResponse(let r) where role == .signaling:
            return handleSignalingResponse(r)
        case .dataHandshakeResponse(let r):
            guard case .media = role else { break }
            return handleDataResponse(id, r)
        case .eventUpdate(let e) where role == .signaling:
            return eventActions(e)
        case .streamStateUpdate(let s) where role == .signaling:
            var out: [SessionAction] = [.emit(.streamState(state: s.state, reason: s.reason ?? 0))]
            if s.state == StreamState.terminated.rawValue {
                let reason = s.reason ?? 0
                out += finish(leaveReason: reason, text: "stream terminated by server: \(StopReason.name(reason)) (\(reason))")
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
            return [.emit(.sessionUpdate(op: op, sessionID: s.sessionID ?? "", state: s.state,
                                          timestamp: s.timestamp ?? 0))]
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
        return [.emit(.warning(code: ClientReason.badResponse,
                               text: "ignored msg_type \(message.messageType) on the \(role.label) connection"))]
    }

    /// A message on `id` could not be decoded.
    public mutating func malformed(_ id: Int, _ error: DecodeError) -> [SessionAction] {
        guard isActive, let role = role(of: id) else { return [] }
        // A broken handshake response ends the join; anything else is a counted drop.
        if role == .signaling && phase == .signalingHandshake && (error.messageType == 2 || error.messageType == nil) {
            return fail(ClientReason.badResponse, "malformed signaling handshake response: \(error.reason)", except: nil)
        }
        if case .media = role, error.messageType == 4,
           let m = media.first(where: { $0.id == id }), !m.handshakeDone {
            return fail(ClientReason.badResponse, "malformed \(role.label) handshake response: \(error.reason)", except: nil)
        }
        return [.emit(.warning(code: ClientReason.badResponse, text: "dropped a message on the \(role.label) connection: \(error)"))]
    }

    /// A connection ended.
    public mutating func closed(_ id: Int, _ info: CloseInfo) -> [SessionAction] {
        guard isActive, let role = role(of: id) else { return [] }
        let what: String
        let code: Int
        if let c = info.peerCloseCode {
            code = ClientReason.closedByServer
            what = "the server closed the \(role.label) connection (close code \(c)\(info.peerCloseReason.isEmpty ? "" : " \"\(info.peerCloseReason)\""))"
        } else {
            code = ClientReason.connectionLost
            what = "the \(role.label) connection was lost" + (info.error.map { ": \($0)" } ?? "")
        }
        if phase == .ready {
            if case .media = role, signalingID != nil {
                // Wait briefly for the signaling connection to explain (stream TERMINATED).
                media.removeAll { $0.id == id }
                pendingLoss = (code, what)
                return [.startTimer(.mediaLossGrace, milliseconds: ClientSession.mediaLossGraceMs)]
            }
            return finish(leaveReason: code, text: what, except: id)
        }
        return fail(code, what, except: id)
    }

    /// How long a joined session waits after losing a media connection for the signaling
    /// connection to report why, before it ends with the transport reason.
    public static let mediaLossGraceMs = 1500
    private var pendingLoss: (code: Int, text: String)? = nil

    public mutating func timerFired(_ t: TimerKind) -> [SessionAction] {
        switch t {
        case .mediaLossGrace:
            guard isActive, let loss = pendingLoss else { return [] }
            return finish(leaveReason: loss.code, text: loss.text)
        case .joinTimeout:
            guard isActive, phase != .ready, let p = params else { return [] }
            let waiting: String
            switch phase {
            case .connectingSignaling: waiting = "the signaling connection"
            case .signalingHandshake: waiting = "the signaling handshake response"
            default:
                let pending = media.filter { !$0.handshakeDone }.map { ConnectionRole.media(mask: $0.mask).label }
                waiting = "media handshake responses (" + pending.joined(separator: ", ") + ")"
            }
            return fail(ClientReason.timeout, "join timed out after \(p.timeoutMilliseconds) ms waiting for \(waiting)", except: nil)
        }
    }

    /// The application leaves: every socket is closed cleanly; no leave callback (as Zoom's client).
    public mutating func leave() -> [SessionAction] {
        guard isActive else { return [] }
        var out = closeAll(except: nil)
        out.append(.cancelTimer(.joinTimeout))
        out.append(.cancelTimer(.mediaLossGrace))
        phase = .ended
        out.append(.ended)
        return out
    }

    /// Subscribes (or unsubscribes) event types. Queued until join-confirm, then sent; never lost.
    public mutating func subscribe(_ events: [Int], _ on: Bool) -> [SessionAction] {
        for e in events { wantedEvents[e] = on }
        return flushSubscriptions()
    }

    public mutating func subscribeVideo(userID: Int64, _ on: Bool, nowMs: Int64) -> [SessionAction] {
        guard phase == .ready, let sid = signalingID else {
            pendingVideoSubscriptions.append((userID, on))
            return []
        }
        return [.send(id: sid, message: .videoSubscriptionRequest(VideoSubscriptionRequest(userID: userID, subscribe: on, timestamp: nowMs)))]
    }

    /// Asks the server to close the stream (21); the answer (22) is reported as streamClosed.
    public mutating func closeStream() -> [SessionAction] {
        guard phase == .ready, let sid = signalingID, let p = params else {
            return [.emit(.warning(code: ClientReason.badResponse, text: "close stream ignored: not joined"))]
        }
        closeRequested = true
        return [.send(id: sid, message: .streamCloseRequest(streamID: p.streamID))]
    }

    public var wantsEvents: [Int] { wantedEvents.filter(\.value).map(\.key).sorted() }

    // MARK: Internals

    private mutating func handleSignalingResponse(_ r: SignalingHandshakeResponse) -> [SessionAction] {
        guard phase == .signalingHandshake, let p = params else { return [] }
        guard r.statusCode == StatusCode.ok else {
            let text = "signaling handshake rejected: \(StatusCode.name(r.statusCode)) (\(r.statusCode))"
                + (r.reason.isEmpty ? "" : ": \(r.reason)")
            return fail(r.statusCode, text, except: nil)
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
        for item in plan {
            let id = newID()
            media.append(MediaConnection(id: id, mask: item.mask, kinds: item.kinds, url: item.url))
            out.append(.connect(id: id, role: .media(mask: item.mask), url: item.url))
        }
        return out
    }

    private mutating func handleDataResponse(_ id: Int, _ r: DataHandshakeResponse) -> [SessionAction] {
        guard let idx = media.firstIndex(where: { $0.id == id }), !media[idx].handshakeDone else { return [] }
        let label = ConnectionRole.media(mask: media[idx].mask).label
        guard r.statusCode == StatusCode.ok else {
            let text = "\(label) handshake rejected: \(StatusCode.name(r.statusCode)) (\(r.statusCode))"
                + (r.reason.isEmpty ? "" : ": \(r.reason)")
            if phase == .ready { return finish(leaveReason: r.statusCode, text: text) }
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
            if phase == .ready { return finish(leaveReason: ClientReason.badResponse, text: text) }
            return fail(ClientReason.badResponse, text, except: nil)
        }
        media[idx].handshakeDone = true
        var out: [SessionAction] = [.mediaReady(id: id, kinds: media[idx].kinds)]
        if r.payloadEncrypted == true && params?.payloadEncryption != true {
            out.append(.emit(.warning(code: 0, text: "\(label): server says payloads are encrypted, but none was requested; treating them as plain")))
        }
        if phase == .mediaHandshake && media.allSatisfy(\.handshakeDone) {
            out += becomeReady()
        }
        return out
    }

    private mutating func becomeReady() -> [SessionAction] {
        guard let sid = signalingID, let p = params else { return [] }
        phase = .ready
        var out: [SessionAction] = [
            .cancelTimer(.joinTimeout),
            .send(id: sid, message: .clientReady(streamID: p.streamID)),
            .emit(.joinConfirm(reason: 0, text: "joined stream \(p.streamID)")),
        ]
        out += flushSubscriptions()
        for v in pendingVideoSubscriptions {
            out.append(.send(id: sid, message: .videoSubscriptionRequest(VideoSubscriptionRequest(userID: v.userID, subscribe: v.subscribe, timestamp: sequence))))
        }
        pendingVideoSubscriptions = []
        return out
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
        switch t {
        case EventType.participantJoin:
            for (id, name) in users() { out.append(.emit(.userUpdate(op: UserOp.join, userID: id, userName: name))) }
        case EventType.participantLeave:
            for (id, name) in users() { out.append(.emit(.userUpdate(op: UserOp.leave, userID: id, userName: name))) }
        case EventType.participantVideoOn, EventType.participantVideoOff:
            out.append(.emit(.participantVideo(userIDs: users().map(\.0), isOn: t == EventType.participantVideoOn)))
        case EventType.firstPacketTimestamp:
            out.append(.emit(.firstPacket(timestamp: e.timestamp)))
        case EventType.activeSpeakerChange, EventType.sharingStart, EventType.sharingStop:
            let u = users().first ?? (0, "")
            if t == EventType.activeSpeakerChange {
                out.append(.emit(.activeSpeaker(userID: u.0, userName: u.1, timestamp: e.timestamp)))
            } else {
                out.append(.emit(.sharing(started: t == EventType.sharingStart, userID: u.0, userName: u.1, timestamp: e.timestamp)))
            }
        case EventType.mediaConnectionInterrupted:
            out.append(.emit(.mediaInterrupted(timestamp: e.timestamp)))
        default:
            break
        }
        out.append(.emit(.eventEx(json: JSON.sortedString(.object(e.event)))))
        return out
    }

    /// Join failed: report join-confirm with the reason, close everything.
    private mutating func fail(_ reason: Int, _ text: String, except: Int?) -> [SessionAction] {
        guard isActive else { return [] }
        if phase == .ready { return finish(leaveReason: reason, text: text, except: except) }
        var out = closeAll(except: except)
        out.append(.cancelTimer(.joinTimeout))
        out.append(.emit(.joinConfirm(reason: reason, text: text)))
        phase = .ended
        out.append(.ended)
        return out
    }

    /// A joined session ends: leave callback with the reason, close everything.
    private mutating func finish(leaveReason: Int, text: String, except: Int? = nil) -> [SessionAction] {
        guard isActive else { return [] }
        var out = closeAll(except: except)
        out.append(.cancelTimer(.joinTimeout))
        out.append(.cancelTimer(.mediaLossGrace))
        out.append(.emit(.leave(reason: leaveReason, text: text)))
        phase = .ended
        out.append(.ended)
        return out
    }

    private mutating func closeAll(except: Int?) -> [SessionAction] {
        var out: [SessionAction] = []
        for m in media where m.id != except { out.append(.close(id: m.id, code: 1000, reason: "Normal close")) }
        if let s = signalingID, s != except { out.append(.close(id: s, code: 1000, reason: "Normal close")) }
        media = []
        signalingID = nil
        return out
    }
}
