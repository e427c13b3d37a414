// Typed V1 messages, msg_type 1–29. Field names are the ones on Zoom's wire, as its official client
// sends and expects them (Tests/RTMSProtocolTests/Fixtures/wire-frames.jsonl holds such frames).
// Decoding is tolerant (any key order, unknown keys ignored, numbers written as strings accepted
// where harmless); a required field that is missing or has the wrong type is a DecodeError.

/// Keys that may carry the instance id (meeting, webinar, Video SDK session, Contact Center, Phone).
public let instanceIDKeys = ["meeting_uuid", "webinar_uuid", "session_id", "engagement_id", "call_id"]

public struct SignalingHandshakeRequest: Sendable, Equatable {
    public var protocolVersion: Int
    public var sequence: Int64
    public var instanceID: String
    /// The JSON key that carried the instance id (we send `meeting_uuid`, like Zoom's client).
    public var instanceKey: String
    public var streamID: String
    public var signature: String
    public var bufferData: Bool?
    public var clientAgent: String?

    public init(
        protocolVersion: Int = 1, sequence: Int64 = 0, instanceID: String, instanceKey: String = "meeting_uuid",
        streamID: String, signature: String, bufferData: Bool? = nil, clientAgent: String? = nil
    ) {
        self.protocolVersion = protocolVersion; self.sequence = sequence; self.instanceID = instanceID
        self.instanceKey = instanceKey; self.streamID = streamID; self.signature = signature
        self.bufferData = bufferData; self.clientAgent = clientAgent
    }
}

public struct SignalingHandshakeResponse: Sendable, Equatable {
    public var protocolVersion: Int?
    public var sequence: Int64?
    public var statusCode: Int
    public var reason: String
    /// `media_server.server_urls`, kind key → URL, in wire order. Empty when not present.
    public var mediaURLs: [(key: String, url: String)]

    public init(
        protocolVersion: Int? = 1, sequence: Int64? = 0, statusCode: Int, reason: String = "",
        mediaURLs: [(key: String, url: String)] = []
    ) {
        self.protocolVersion = protocolVersion; self.sequence = sequence; self.statusCode = statusCode
        self.reason = reason; self.mediaURLs = mediaURLs
    }

    public func url(for key: String) -> String? { mediaURLs.last { $0.key == key }?.url }

    public static func == (a: Self, b: Self) -> Bool {
        a.protocolVersion == b.protocolVersion && a.sequence == b.sequence && a.statusCode == b.statusCode
            && a.reason == b.reason && a.mediaURLs.map(\.key) == b.mediaURLs.map(\.key)
            && a.mediaURLs.map(\.url) == b.mediaURLs.map(\.url)
    }
}

public struct DataHandshakeRequest: Sendable, Equatable {
    public var protocolVersion: Int
    public var sequence: Int64
    public var instanceID: String
    public var instanceKey: String
    public var streamID: String
    public var signature: String
    /// `media_type` bitmask (32 = all kinds on this one connection).
    public var mediaType: Int
    public var mediaParams: MediaParams?
    public var payloadEncryption: Bool?

    public init(
        protocolVersion: Int = 1, sequence: Int64 = 0, instanceID: String, instanceKey: String = "meeting_uuid",
        streamID: String, signature: String, mediaType: Int, mediaParams: MediaParams? = nil,
        payloadEncryption: Bool? = nil
    ) {
        self.protocolVersion = protocolVersion; self.sequence = sequence; self.instanceID = instanceID
        self.instanceKey = instanceKey; self.streamID = streamID; self.signature = signature
        self.mediaType = mediaType; self.mediaParams = mediaParams; self.payloadEncryption = payloadEncryption
    }
}

public struct DataHandshakeResponse: Sendable, Equatable {
    public var protocolVersion: Int?
    public var sequence: Int64?
    public var statusCode: Int
    public var reason: String
    public var payloadEncrypted: Bool?
    /// Confirmed parameters (missing fields filled with protocol defaults).
    public var mediaParams: MediaParams?
    /// Fields that were absent in the confirmed parameters, e.g. "audio.codec".
    public var missingParamFields: [String]

    public init(
        protocolVersion: Int? = 1, sequence: Int64? = 0, statusCode: Int, reason: String = "",
        payloadEncrypted: Bool? = false, mediaParams: MediaParams? = nil, missingParamFields: [String] = []
    ) {
        self.protocolVersion = protocolVersion; self.sequence = sequence; self.statusCode = statusCode
        self.reason = reason; self.payloadEncrypted = payloadEncrypted; self.mediaParams = mediaParams
        self.missingParamFields = missingParamFields
    }
}

public struct EventSubscription: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var eventType: Int
        public var subscribe: Bool
        public init(eventType: Int, subscribe: Bool) { self.eventType = eventType; self.subscribe = subscribe }
    }
    public var events: [Item]
    public init(events: [Item]) { self.events = events }
}

public struct EventUpdate: Sendable, Equatable {
    /// The whole `event` object as received.
    public var event: JSONObject
    public init(event: JSONObject) { self.event = event }
    public var eventType: Int { Int(event["event_type"]?.intValue ?? 0) }
    public var timestamp: Int64 { event["timestamp"]?.intValue ?? event["event_ts"]?.intValue ?? 0 }
}

public struct StateUpdate: Sendable, Equatable {
    public var state: Int
    public var reason: Int?
    public var timestamp: Int64?
    public var streamID: String?
    public var sessionID: String?
    public init(state: Int, reason: Int? = nil, timestamp: Int64? = nil, streamID: String? = nil, sessionID: String? = nil) {
        self.state = state; self.reason = reason; self.timestamp = timestamp; self.streamID = streamID
        self.sessionID = sessionID
    }
}

public struct KeepAlive: Sendable, Equatable {
    public var sequence: Int64?
    public var timestamp: Int64?
    public init(sequence: Int64? = nil, timestamp: Int64? = nil) { self.sequence = sequence; self.timestamp = timestamp }
}

/// A media message (14–18), payload decoded.
public struct MediaData: Sendable, Equatable {
    public var kind: MediaKind
    public var userID: Int64
    public var userName: String
    /// Decoded payload: raw bytes for audio/video/deskshare, UTF-8 text for transcript and chat.
    public var data: [UInt8]
    public var timestamp: Int64
    public var startTime: Int64
    public var endTime: Int64
    /// Contact Center channel, when the server sends `channel_id` instead of a user.
    public var channelID: String?
    public var language: Int?
    /// The simulator's per-stream sequence (`content.sequence`), when present.
    public var sequence: Int64?

    public init(
        kind: MediaKind, userID: Int64 = 0, userName: String = "", data: [UInt8], timestamp: Int64,
        startTime: Int64 = 0, endTime: Int64 = 0, channelID: String? = nil, language: Int? = nil,
        sequence: Int64? = nil
    ) {
        self.kind = kind; self.userID = userID; self.userName = userName; self.data = data
        self.timestamp = timestamp; self.startTime = startTime; self.endTime = endTime
        self.channelID = channelID; self.language = language; self.sequence = sequence
    }
}

public struct StatusReply: Sendable, Equatable {
    public var streamID: String?
    public var userID: Int64?
    public var statusCode: Int
    public var reason: String
    public var timestamp: Int64?
    public var sequence: Int64?
    public var subscribe: Bool?
    public init(
        streamID: String? = nil, userID: Int64? = nil, statusCode: Int, reason: String = "",
        timestamp: Int64? = nil, sequence: Int64? = nil, subscribe: Bool? = nil
    ) {
        self.streamID = streamID; self.userID = userID; self.statusCode = statusCode; self.reason = reason
        self.timestamp = timestamp; self.sequence = sequence; self.subscribe = subscribe
    }
}

public struct VideoSubscriptionRequest: Sendable, Equatable {
    public var userID: Int64
    public var subscribe: Bool
    public var timestamp: Int64?
    public init(userID: Int64, subscribe: Bool, timestamp: Int64? = nil) {
        self.userID = userID; self.subscribe = subscribe; self.timestamp = timestamp
    }
}

/// Every V1 message.
public enum RTMSMessage: Sendable, Equatable {
    case signalingHandshakeRequest(SignalingHandshakeRequest)  // 1
    case signalingHandshakeResponse(SignalingHandshakeResponse)  // 2
    case dataHandshakeRequest(DataHandshakeRequest)  // 3
    case dataHandshakeResponse(DataHandshakeResponse)  // 4
    case eventSubscription(EventSubscription)  // 5
    case eventUpdate(EventUpdate)  // 6
    case clientReady(streamID: String?)  // 7
    case streamStateUpdate(StateUpdate)  // 8
    case sessionStateUpdate(StateUpdate)  // 9
    case sessionStateRequest(sessionID: String)  // 10
    case sessionStateResponse(StateUpdate)  // 11
    case keepAliveRequest(KeepAlive)  // 12
    case keepAliveResponse(KeepAlive)  // 13
    case media(MediaData)  // 14–18
    case streamStateRequest(streamID: String)  // 19
    case streamStateResponse(StateUpdate)  // 20
    case streamCloseRequest(streamID: String)  // 21
    case streamCloseResponse(StatusReply)  // 22
    case metadata(type: Int, content: JSONValue)  // 23–27
    case videoSubscriptionRequest(VideoSubscriptionRequest)  // 28
    case videoSubscriptionResponse(StatusReply)  // 29

    public var messageType: Int {
        switch self {
        case .signalingHandshakeRequest: 1
        case .signalingHandshakeResponse: 2
        case .dataHandshakeRequest: 3
        case .dataHandshakeResponse: 4
        case .eventSubscription: 5
        case .eventUpdate: 6
        case .clientReady: 7
        case .streamStateUpdate: 8
        case .sessionStateUpdate: 9
        case .sessionStateRequest: 10
        case .sessionStateResponse: 11
        case .keepAliveRequest: 12
        case .keepAliveResponse: 13
        case .media(let m): m.kind.messageType.rawValue
        case .streamStateRequest: 19
        case .streamStateResponse: 20
        case .streamCloseRequest: 21
        case .streamCloseResponse: 22
        case .metadata(let t, _): t
        case .videoSubscriptionRequest: 28
        case .videoSubscriptionResponse: 29
        }
    }
}

/// Why a received message was not understood.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// msg_type when it could be read.
    public var messageType: Int?
    public var reason: String
    public init(messageType: Int?, reason: String) { self.messageType = messageType; self.reason = reason }
    public var description: String {
        if let messageType { return "msg_type \(messageType): \(reason)" }
        return reason
    }
}

// MARK: - JSON mapping

extension RTMSMessage {
    /// The message as a JSON object (media messages included; the codec writes those directly).
    public var json: JSONObject {
        var o: JSONObject = ["msg_type": .int(Int64(messageType))]
        switch self {
        case .signalingHandshakeRequest(let m):
            o["protocol_version"] = .int(Int64(m.protocolVersion))
            o["sequence"] = .int(m.sequence)
            o[m.instanceKey] = .string(m.instanceID)
            o["rtms_stream_id"] = .string(m.streamID)
            o["signature"] = .string(m.signature)
            if let b = m.bufferData { o["buffer_data"] = .bool(b) }
            if let a = m.clientAgent { o["rtms_client_agent"] = .string(a) }
        case .signalingHandshakeResponse(let m):
            if let v = m.protocolVersion { o["protocol_version"] = .int(Int64(v)) }
            if let s = m.sequence { o["sequence"] = .int(s) }
            o["status_code"] = .int(Int64(m.statusCode))
            o["reason"] = .string(m.reason)
            if !m.mediaURLs.isEmpty {
                let urls = JSONObject(m.mediaURLs.map { (key: $0.key, value: JSONValue.string($0.url)) })
                o["media_server"] = .object(["server_urls": .object(urls)])
            }
        case .dataHandshakeRequest(let m):
            o["protocol_version"] = .int(Int64(m.protocolVersion))
            o["sequence"] = .int(m.sequence)
            o[m.instanceKey] = .string(m.instanceID)
            o["rtms_stream_id"] = .string(m.streamID)
            o["signature"] = .string(m.signature)
            o["media_type"] = .int(Int64(m.mediaType))
            if let p = m.mediaParams { o["media_params"] = p.json }
            if let e = m.payloadEncryption { o["payload_encryption"] = .bool(e) }
        case .dataHandshakeResponse(let m):
            if let v = m.protocolVersion { o["protocol_version"] = .int(Int64(v)) }
            if let s = m.sequence { o["sequence"] = .int(s) }
            o["status_code"] = .int(Int64(m.statusCode))
            o["reason"] = .string(m.reason)
            if let e = m.payloadEncrypted { o["payload_encrypted"] = .bool(e) }
            if let p = m.mediaParams { o["media_params"] = p.json }
        case .eventSubscription(let m):
            o["events"] = .array(
                m.events.map {
                    .object(["event_type": .int(Int64($0.eventType)), "subscribe": .bool($0.subscribe)])
                })
        case .eventUpdate(let m):
            o["event"] = .object(m.event)
        case .clientReady(let s):
            if let s { o["rtms_stream_id"] = .string(s) }
        case .streamStateUpdate(let m), .streamStateResponse(let m):
            if let s = m.streamID { o["rtms_stream_id"] = .string(s) }
            o["state"] = .int(Int64(m.state))
            if let r = m.reason { o["reason"] = .int(Int64(r)) }
            if let t = m.timestamp { o["timestamp"] = .int(t) }
        case .sessionStateUpdate(let m):
            if let s = m.sessionID { o["rtms_session_id"] = .string(s) }
            o["state"] = .int(Int64(m.state))
            // Zoom's docs disagree on the key (`reason` vs `stop_reason`): send both.
            if let r = m.reason { o["reason"] = .int(Int64(r)); o["stop_reason"] = .int(Int64(r)) }
            if let t = m.timestamp { o["timestamp"] = .int(t) }
        case .sessionStateRequest(let id):
            o["rtms_session_id"] = .string(id)
        case .sessionStateResponse(let m):
            if let s = m.sessionID { o["rtms_session_id"] = .string(s) }
            o["state"] = .int(Int64(m.state))
            if let t = m.timestamp { o["timestamp"] = .int(t) }
        case .keepAliveRequest(let k), .keepAliveResponse(let k):
            if let s = k.sequence { o["sequence"] = .int(s) }
            if let t = k.timestamp { o["timestamp"] = .int(t) }
        case .media(let m):
            var c: JSONObject = [:]
            if let ch = m.channelID {
                c["channel_id"] = .string(ch)
            } else {
                c["user_id"] = .int(m.userID)
                c["user_name"] = .string(m.userName)
            }
            switch m.kind {
            case .audio, .video, .deskshare:
                c["data"] = .string(Base64Codec.encode(m.data))
                c["length"] = .int(Int64(m.data.count))
            case .transcript, .chat:
                c["data"] = .string(String(decoding: m.data, as: UTF8.self))
            }
            c["timestamp"] = .int(m.timestamp)
            if m.kind == .transcript {
                c["start_time"] = .int(m.startTime)
                c["end_time"] = .int(m.endTime)
            }
            if let l = m.language { c["language"] = .int(Int64(l)) }
            if let s = m.sequence { c["sequence"] = .int(s) }
            o["content"] = .object(c)
        case .streamStateRequest(let s), .streamCloseRequest(let s):
            o["rtms_stream_id"] = .string(s)
        case .streamCloseResponse(let r), .videoSubscriptionResponse(let r):
            if let s = r.streamID { o["rtms_stream_id"] = .string(s) }
            if let u = r.userID { o["user_id"] = .int(u) }
            if let s = r.subscribe { o["subscribe"] = .bool(s) }
            o["status_code"] = .int(Int64(r.statusCode))
            o["reason"] = .string(r.reason)
            if let t = r.timestamp { o["timestamp"] = .int(t) }
            if let s = r.sequence { o["sequence"] = .int(s) }
        case .metadata(_, let content):
            o["content"] = content
        case .videoSubscriptionRequest(let m):
            o["user_id"] = .int(m.userID)
            o["subscribe"] = .bool(m.subscribe)
            if let t = m.timestamp { o["timestamp"] = .int(t) }
        }
        return o
    }

    /// Decodes a control message from its JSON object. Media messages (14–18) are decoded by
    /// the codec's fast path instead, but this accepts them too (slow path).
    public init(json o: JSONObject) throws(DecodeError) {
        guard let mtv = o["msg_type"] else { throw DecodeError(messageType: nil, reason: "no msg_type") }
        guard let mt64 = mtv.intValue else {
            throw DecodeError(messageType: nil, reason: "msg_type is a \(mtv.typeName), not an integer")
        }
        let mt = Int(mt64)
        let r = FieldReader(object: o, messageType: mt)
        switch mt {
        case 1:
            let (key, id) = try r.instanceID()
            self = .signalingHandshakeRequest(
                SignalingHandshakeRequest(
                    protocolVersion: r.optInt("protocol_version") ?? 1, sequence: r.optInt64("sequence") ?? 0,
                    instanceID: id, instanceKey: key, streamID: try r.string("rtms_stream_id"),
                    signature: try r.string("signature"), bufferData: r.optBool("buffer_data") ?? r.optBool("buffered_data"),
                    clientAgent: r.optString("rtms_client_agent")))
        case 2:
            let status = try r.int("status_code")
            var urls: [(key: String, url: String)] = []
            if status == StatusCode.ok {
                guard let ms = o["media_server"] else { throw r.error("no media_server") }
                guard let mso = ms.objectValue else { throw r.error("media_server is a \(ms.typeName), not an object") }
                guard let su = mso["server_urls"] else { throw r.error("no media_server.server_urls") }
                guard let suo = su.objectValue else {
                    throw r.error("media_server.server_urls is a \(su.typeName), not an object")
                }
                for p in suo.pairs {
                    if let s = p.value.stringValue, !s.isEmpty { urls.append((key: p.key, url: s)) }
                }
            }
            self = .signalingHandshakeResponse(
                SignalingHandshakeResponse(
                    protocolVersion: r.optInt("protocol_version"), sequence: r.optInt64("sequence"),
                    statusCode: status, reason: r.optString("reason") ?? "", mediaURLs: urls))
        case 3:
            let (key, id) = try r.instanceID()
            var params: MediaParams? = nil
            if let p = o["media_params"]?.objectValue {
                var missing: [String] = []
                params = MediaParams(json: p, missing: &missing)
            }
            self = .dataHandshakeRequest(
                DataHandshakeRequest(
                    protocolVersion: r.optInt("protocol_version") ?? 1, sequence: r.optInt64("sequence") ?? 0,
                    instanceID: id, instanceKey: key, streamID: try r.string("rtms_stream_id"),
                    signature: try r.string("signature"), mediaType: try r.int("media_type"), mediaParams: params,
                    payloadEncryption: r.optBool("payload_encryption")))
        case 4:
            var params: MediaParams? = nil
            var missing: [String] = []
            if let p = o["media_params"] {
                if let po = p.objectValue {
                    params = MediaParams(json: po, missing: &missing)
                } else if !p.isNull {
                    throw r.error("media_params is a \(p.typeName), not an object")
                }
            }
            self = .dataHandshakeResponse(
                DataHandshakeResponse(
                    protocolVersion: r.optInt("protocol_version"), sequence: r.optInt64("sequence"),
                    statusCode: try r.int("status_code"), reason: r.optString("reason") ?? "",
                    payloadEncrypted: r.optBool("payload_encrypted") ?? r.optBool("payload_encryption"),
                    mediaParams: params, missingParamFields: missing))
        case 5:
            guard let ev = o["events"] else { throw r.error("no events") }
            guard let arr = ev.arrayValue else { throw r.error("events is a \(ev.typeName), not an array") }
            var items: [EventSubscription.Item] = []
            for e in arr {
                guard let eo = e.objectValue, let t = eo["event_type"]?.intValue else {
                    throw r.error("events[] entries need an integer event_type")
                }
                items.append(.init(eventType: Int(t), subscribe: eo["subscribe"]?.boolValue ?? true))
            }
            self = .eventSubscription(EventSubscription(events: items))
        case 6:
            guard let ev = o["event"] else { throw r.error("no event object") }
            guard let eo = ev.objectValue else { throw r.error("event is a \(ev.typeName), not an object") }
            guard eo["event_type"]?.intValue != nil else { throw r.error("event.event_type missing or not an integer") }
            self = .eventUpdate(EventUpdate(event: eo))
        case 7:
            self = .clientReady(streamID: r.optString("rtms_stream_id"))
        case 8, 20:
            let u = StateUpdate(
                state: try r.int("state"), reason: r.optInt("reason") ?? r.optInt("stop_reason"),
                timestamp: r.optInt64("timestamp"), streamID: r.optString("rtms_stream_id"))
            self = mt == 8 ? .streamStateUpdate(u) : .streamStateResponse(u)
        case 9, 11:
            let u = StateUpdate(
                state: try r.int("state"), reason: r.optInt("reason") ?? r.optInt("stop_reason"),
                timestamp: r.optInt64("timestamp"), sessionID: r.optString("rtms_session_id"))
            self = mt == 9 ? .sessionStateUpdate(u) : .sessionStateResponse(u)
        case 10:
            self = .sessionStateRequest(sessionID: try r.string("rtms_session_id"))
        case 12, 13:
            let k = KeepAlive(sequence: r.optInt64("sequence"), timestamp: r.optInt64("timestamp"))
            self = mt == 12 ? .keepAliveRequest(k) : .keepAliveResponse(k)
        case 14...18:
            guard let c = o["content"]?.objectValue else { throw r.error("no content object") }
            self = .media(try MediaScanner.media(from: c, kind: MediaKind(messageType: mt)!))
        case 19:
            self = .streamStateRequest(streamID: try r.string("rtms_stream_id"))
        case 21:
            self = .streamCloseRequest(streamID: try r.string("rtms_stream_id"))
        case 22, 29:
            let reply = StatusReply(
                streamID: r.optString("rtms_stream_id"), userID: r.optInt64("user_id"),
                statusCode: try r.int("status_code"), reason: r.optString("reason") ?? "",
                timestamp: r.optInt64("timestamp"), sequence: r.optInt64("sequence"),
                subscribe: r.optBool("subscribe"))
            if mt == 29 && reply.userID == nil { throw r.error("no user_id") }
            self = mt == 22 ? .streamCloseResponse(reply) : .videoSubscriptionResponse(reply)
        case 23...27:
            self = .metadata(type: mt, content: o["content"] ?? .null)
        case 28:
            guard let uid = r.optInt64("user_id") else { throw r.error("user_id missing or not an integer") }
            self = .videoSubscriptionRequest(
                VideoSubscriptionRequest(
                    userID: uid, subscribe: r.optBool("subscribe") ?? true, timestamp: r.optInt64("timestamp")))
        default:
            throw DecodeError(messageType: mt, reason: "unknown msg_type")
        }
    }
}

/// Typed field access with readable errors.
struct FieldReader {
    let object: JSONObject
    let messageType: Int

    func error(_ reason: String) -> DecodeError { DecodeError(messageType: messageType, reason: reason) }

    func int(_ key: String) throws(DecodeError) -> Int {
        guard let v = object[key] else { throw error("no \(key)") }
        guard let i = v.intValue, i >= Int64(Int32.min), i <= Int64(UInt32.max) else {
            throw error("\(key) is a \(v.typeName), not an integer")
        }
        return Int(i)
    }
    func string(_ key: String) throws(DecodeError) -> String {
        guard let v = object[key] else { throw error("no \(key)") }
        guard let s = v.stringValue else { throw error("\(key) is a \(v.typeName), not a string") }
        return s
    }
    func optInt(_ key: String) -> Int? {
        guard let i = object[key]?.intValue, i >= Int64(Int32.min), i <= Int64(UInt32.max) else { return nil }
        return Int(i)
    }
    func optInt64(_ key: String) -> Int64? {
        guard let v = object[key] else { return nil }
        if let i = v.intValue { return i }
        if let s = v.stringValue { return Int64(s) }
        return nil
    }
    func optString(_ key: String) -> String? { object[key]?.stringValue }
    func optBool(_ key: String) -> Bool? {
        guard let v = object[key] else { return nil }
        if let b = v.boolValue { return b }
        if let i = v.intValue { return i != 0 }
        return nil
    }
    /// The instance id under any accepted key: first non-empty of meeting_uuid, webinar_uuid, ….
    func instanceID() throws(DecodeError) -> (key: String, id: String) {
        for k in instanceIDKeys {
            if let s = object[k]?.stringValue, !s.isEmpty { return (k, s) }
        }
        throw error("no instance id (meeting_uuid, webinar_uuid, session_id, engagement_id or call_id)")
    }
}
