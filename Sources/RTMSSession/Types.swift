// Inputs, outputs and events of the client session state machine.

import RTMSProtocol

/// Codes the client reports in join-confirm and leave callbacks when the cause is local (not a
/// server status code or stop reason). Where Zoom's client reports the same situation, the same
/// number is used.
public enum ClientReason {
    /// Join did not complete within the join timeout (Zoom's client reports 1 as well).
    public static let timeout = 1
    /// A server response was malformed (missing or mistyped required fields). Zoom reports 6.
    public static let badResponse = 6
    /// The remote side stopped answering: no pong, no traffic (stop reason 16 in Zoom's client).
    public static let livenessTimeout = 16
    /// TCP connect failed (refused, unreachable, name not resolved, proxy refused).
    public static let connectFailed = 500
    /// A connection dropped without a WebSocket close frame.
    public static let connectionLost = 502
    /// TLS handshake or certificate verification failed. Zoom reports 610.
    public static let tlsFailed = 610
    /// The WebSocket upgrade was refused (HTTP status other than 101).
    public static let upgradeRefused = 620
    /// The server closed a connection with a WebSocket close frame. Zoom reports 960.
    public static let closedByServer = 960
    /// Warnings only: the application left the event queue full longer than the pause limit;
    /// media beyond the limit is dropped (counted) until it drains, and the end says how many.
    public static let queueFull = 700

    public static func describe(_ code: Int) -> String {
        switch code {
        case 0: "OK"
        case timeout: "timeout"
        case badResponse: "malformed server response"
        case livenessTimeout: "connection stopped answering"
        case connectFailed: "connect failed"
        case connectionLost: "connection lost"
        case tlsFailed: "TLS failure"
        case upgradeRefused: "WebSocket upgrade refused"
        case closedByServer: "closed by server"
        case queueFull: "event queue full"
        default: code < 100 ? StatusCode.name(code) : "reason \(code)"
        }
    }
}

/// Session update operations (SESSION_ADD … SESSION_RESUME in rtms_common.h).
public enum SessionOp {
    public static let add = 1, stop = 2, pause = 3, resume = 4
}

/// User update operations (USER_JOIN, USER_LEAVE).
public enum UserOp {
    public static let join = 0, leave = 1
}

/// A participant named by an event: the wire's user id and name ("" when the server sent none,
/// as in Zoom's PARTICIPANT_LEAVE).
public struct EventParticipant: Sendable, Equatable {
    public var userID: Int64
    public var userName: String
    public init(userID: Int64, userName: String) { self.userID = userID; self.userName = userName }
}

/// What the application receives (everything except media payloads).
public enum ClientEvent: Sendable, Equatable {
    case joinConfirm(reason: Int, text: String)
    case leave(reason: Int, text: String)
    case sessionUpdate(op: Int, sessionID: String, state: Int, timestamp: Int64)
    /// One participant of a PARTICIPANT_JOIN / PARTICIPANT_LEAVE event (Zoom's on_user_update: one per user).
    case userUpdate(op: Int, userID: Int64, userName: String)
    /// The same event as a whole (UserOp.join / .leave, the event's timestamp, every participant
    /// in the order sent; empty when the event named nobody). Emitted after its userUpdates.
    case participantEvent(op: Int, timestamp: Int64, participants: [EventParticipant])
    /// The raw `event` object of an EVENT_UPDATE, compact JSON with sorted keys.
    case eventEx(json: String)
    case participantVideo(userIDs: [Int64], isOn: Bool)
    /// Typed forms of EVENT_UPDATE types 1, 2, 5/6 and 7 (each also arrives as eventEx).
    case firstPacket(timestamp: Int64)
    case activeSpeaker(userID: Int64, userName: String, timestamp: Int64)
    case sharing(started: Bool, userID: Int64, userName: String, timestamp: Int64)
    case mediaInterrupted(timestamp: Int64)
    case videoSubscribed(userID: Int64, status: Int, reason: String)
    case streamState(state: Int, reason: Int)
    case streamClosed(status: Int, reason: String)
    /// Non-fatal problem (a dropped malformed message, a media URL the server did not offer…).
    case warning(code: Int, text: String)
    /// A connection of a joined session is being re-established: which ("signaling" means a full
    /// rejoin, else "media(audio)"…), the attempt (1-based), the delay before it, and why.
    case reconnecting(connection: ConnectionRole, attempt: Int, delayMs: Int, cause: String)
    /// The connection is back; `gapMs` since it was lost.
    case reconnected(connection: ConnectionRole, gapMs: Int)
}

/// Where a connection attempt went wrong, as the transport saw it (the transport reports it, the
/// session decides on it: one type for both).
public struct TransportFailure: Sendable, Equatable, Error, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case connect, tls, upgrade, timeout, proxy, protocolError }
    public var kind: Kind
    public var message: String
    /// The HTTP status of a refused upgrade.
    public var httpStatus: Int?
    public init(_ kind: Kind, _ message: String, httpStatus: Int? = nil) {
        self.kind = kind; self.message = message; self.httpStatus = httpStatus
    }
    public var description: String { message }

    /// Trying the same URL again cannot help: a certificate problem, or an upgrade the server
    /// refused for good (a redirect, or a 4xx other than 408 Request Timeout and 429 Too Many
    /// Requests). 5xx answers and transport trouble are transient.
    public var isPermanent: Bool {
        if kind == .tls { return true }
        guard kind == .upgrade, let s = httpStatus else { return false }
        return (300..<500).contains(s) && s != 408 && s != 429
    }

    public var reasonCode: Int {
        switch kind {
        case .connect, .proxy: ClientReason.connectFailed
        case .tls: ClientReason.tlsFailed
        case .upgrade: ClientReason.upgradeRefused
        case .timeout: ClientReason.timeout
        case .protocolError: ClientReason.connectionLost
        }
    }
}

/// How an open connection ended (the transport reports it, the session decides on it).
public struct CloseInfo: Sendable, Equatable {
    /// The peer sent a WebSocket close frame with this code (first, or in answer to ours).
    public var peerCloseCode: Int?
    public var peerCloseReason: String
    /// We started the close.
    public var initiatedLocally: Bool
    /// Transport error text when the connection dropped without a close frame.
    public var error: String?
    public init(peerCloseCode: Int? = nil, peerCloseReason: String = "", initiatedLocally: Bool = false, error: String? = nil) {
        self.peerCloseCode = peerCloseCode; self.peerCloseReason = peerCloseReason
        self.initiatedLocally = initiatedLocally; self.error = error
    }
}

/// Which logical connection a connection id is.
public enum ConnectionRole: Sendable, Equatable, Hashable {
    case signaling
    /// A media connection carrying this `media_type` mask (a single kind bit, or 32 for all).
    case media(mask: Int)

    public var label: String {
        switch self {
        case .signaling: return "signaling"
        case .media(let m):
            if m == MediaMask.all.rawValue { return "media(all)" }
            return "media(" + MediaMask(rawValue: m).kinds.map(\.key).joined(separator: "+") + ")"
        }
    }

    /// The C ABI's `connection` number: 0 for signaling, else the media_type mask.
    public var code: Int {
        switch self {
        case .signaling: return 0
        case .media(let m): return m
        }
    }
}

public enum TimerKind: Sendable, Equatable, Hashable {
    /// The whole initial join.
    case joinTimeout
    /// Pause before another first-connection attempt of a join.
    case connectRetry
    /// Backoff before the next full rejoin attempt (scenarios 1 and 2).
    case rejoin
    /// One rejoin attempt, handshakes included.
    case attemptTimeout
    /// Backoff before, then the time limit of, reconnecting one media connection (scenario 3).
    case mediaReconnect(mask: Int)
    /// The longest wait for the server to answer the close of the media connections after the
    /// stream ended (then the leave is delivered anyway).
    case endDrain
}

/// What the state machine asks its driver to do.
public enum SessionAction: Sendable, Equatable {
    case connect(id: Int, role: ConnectionRole, url: String)
    case send(id: Int, message: RTMSMessage)
    case close(id: Int, code: Int, reason: String)
    /// Starts a clean close of a media connection that still delivers what arrives before the
    /// server answers it (a stream's end: the server sent that media before it saw the close).
    case drain(id: Int)
    case emit(ClientEvent)
    case startTimer(TimerKind, milliseconds: Int)
    case cancelTimer(TimerKind)
    /// Media from this connection may now be delivered (data handshake accepted).
    case mediaReady(id: Int, kinds: [MediaKind])
    /// The session is over: stop delivering media, drop nothing that is queued before this point.
    case ended
}

/// Everything a join needs.
public struct JoinParameters: Sendable, Equatable {
    public var instanceID: String
    public var streamID: String
    public var signature: String
    /// Signaling URLs, tried in order (a comma-separated `server_urls` split).
    public var signalingURLs: [String]
    public var timeoutMilliseconds: Int
    /// `media_type` mask requested (bits of MediaMask; 32 = one unified connection).
    public var mediaTypes: Int
    /// Parameters configured by the application; unset kinds use protocol defaults.
    public var mediaParams: MediaParams
    public var clientAgent: String?
    public var bufferData: Bool?
    public var payloadEncryption: Bool?
    public var policy: ReconnectPolicy

    public init(
        instanceID: String, streamID: String, signature: String, signalingURLs: [String],
        timeoutMilliseconds: Int = 10_000, mediaTypes: Int, mediaParams: MediaParams = MediaParams(),
        clientAgent: String? = nil, bufferData: Bool? = nil, payloadEncryption: Bool? = nil,
        policy: ReconnectPolicy = ReconnectPolicy()
    ) {
        self.instanceID = instanceID; self.streamID = streamID; self.signature = signature
        self.signalingURLs = signalingURLs; self.timeoutMilliseconds = timeoutMilliseconds
        self.mediaTypes = mediaTypes; self.mediaParams = mediaParams; self.clientAgent = clientAgent
        self.bufferData = bufferData; self.payloadEncryption = payloadEncryption; self.policy = policy
    }

    /// Splits a `server_urls` value: commas separate alternatives; blanks are ignored.
    public static func splitURLs(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension ClientEvent {
    /// A stable JSON form: {"cb": name, ...fields}. Used by `rtms join` and for comparing transcripts.
    public var json: JSONObject {
        switch self {
        case .joinConfirm(let r, let t): ["cb": .string("join_confirm"), "reason": .int(Int64(r)), "text": .string(t)]
        case .leave(let r, let t): ["cb": .string("leave"), "reason": .int(Int64(r)), "text": .string(t)]
        case .sessionUpdate(let op, let sid, let state, let ts):
            ["cb": .string("session_update"), "op": .int(Int64(op)), "session_id": .string(sid), "state": .int(Int64(state)), "timestamp": .int(ts)]
        case .userUpdate(let op, let id, let name):
            ["cb": .string("user_update"), "op": .int(Int64(op)), "user_id": .int(id), "user_name": .string(name)]
        case .participantEvent(let op, let ts, let ps):
            [
                "cb": .string("participant_event"), "op": .int(Int64(op)), "timestamp": .int(ts),
                "participants": .array(ps.map { .object(["user_id": .int($0.userID), "user_name": .string($0.userName)]) }),
            ]
        case .eventEx(let j): ["cb": .string("event_ex"), "json": .string(j)]
        case .participantVideo(let ids, let on):
            ["cb": .string("participant_video"), "user_ids": .array(ids.map { .int($0) }), "is_on": .bool(on)]
        case .firstPacket(let ts): ["cb": .string("first_packet"), "timestamp": .int(ts)]
        case .activeSpeaker(let id, let name, let ts):
            ["cb": .string("active_speaker"), "user_id": .int(id), "user_name": .string(name), "timestamp": .int(ts)]
        case .sharing(let started, let id, let name, let ts):
            ["cb": .string("sharing"), "started": .bool(started), "user_id": .int(id), "user_name": .string(name), "timestamp": .int(ts)]
        case .mediaInterrupted(let ts): ["cb": .string("media_interrupted"), "timestamp": .int(ts)]
        case .videoSubscribed(let id, let st, let r):
            ["cb": .string("video_subscribed"), "user_id": .int(id), "status": .int(Int64(st)), "reason": .string(r)]
        case .streamState(let st, let r): ["cb": .string("stream_state"), "state": .int(Int64(st)), "reason": .int(Int64(r))]
        case .streamClosed(let st, let r): ["cb": .string("stream_closed"), "status": .int(Int64(st)), "reason": .string(r)]
        case .warning(let c, let t): ["cb": .string("warning"), "code": .int(Int64(c)), "text": .string(t)]
        case .reconnecting(let c, let a, let d, let cause):
            ["cb": .string("reconnecting"), "connection": .string(c.label), "attempt": .int(Int64(a)), "delay_ms": .int(Int64(d)), "cause": .string(cause)]
        case .reconnected(let c, let gap): ["cb": .string("reconnected"), "connection": .string(c.label), "gap_ms": .int(Int64(gap))]
        }
    }
}
