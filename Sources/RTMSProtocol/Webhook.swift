// Webhook bodies for RTMS: `<product>.rtms_started`, `rtms_stopped`, `rtms_interrupted`.

/// The product an RTMS stream belongs to. It decides the webhook prefix and the id key.
public enum Product: String, Sendable, CaseIterable {
    case meeting, webinar, session, contactCenter = "contact_center", phone

    /// Key of the instance id in webhook payloads.
    public var idKey: String {
        switch self {
        case .meeting: "meeting_uuid"
        case .webinar: "webinar_uuid"
        case .session: "session_id"
        case .contactCenter: "engagement_id"
        case .phone: "call_id"
        }
    }

    public func eventName(_ what: String) -> String {
        switch self {
        case .contactCenter: "contact_center.voice_rtms_\(what)"
        default: "\(rawValue).rtms_\(what)"
        }
    }
    public var startedEvent: String { eventName("started") }
    public var stoppedEvent: String { eventName("stopped") }
    public var interruptedEvent: String { eventName("interrupted") }

    /// The product and kind ("started", "stopped", "interrupted") of an RTMS webhook event name.
    public static func parse(event: String) -> (product: Product, kind: String)? {
        for p in Product.allCases {
            for k in ["started", "stopped", "interrupted"] where p.eventName(k) == event { return (p, k) }
        }
        return nil
    }
}

/// The join information a `*.rtms_started` payload carries.
public struct StreamStart: Sendable, Equatable {
    public var instanceID: String
    public var instanceKey: String
    public var streamID: String
    public var serverURLs: String
    /// A `signature` carried by the payload, if any. One rule for every join from a payload: a
    /// signature given wins; otherwise it is computed from the client id and secret.
    public var signature: String?
    /// `client` and `secret`: the credentials Zoom's wrappers take with join() (the environment
    /// overrides them, as there); used when no signature is given.
    public var clientID: String?
    public var clientSecret: String?

    public init(
        instanceID: String, instanceKey: String = "meeting_uuid", streamID: String, serverURLs: String,
        signature: String? = nil, clientID: String? = nil, clientSecret: String? = nil
    ) {
        self.instanceID = instanceID; self.instanceKey = instanceKey; self.streamID = streamID
        self.serverURLs = serverURLs; self.signature = signature
        self.clientID = clientID; self.clientSecret = clientSecret
    }

    /// Reads a webhook `payload` (or a whole webhook body: its `payload` is used). The instance id
    /// is the first present of meeting_uuid, webinar_uuid, session_id, engagement_id, call_id.
    public init(payload: JSONObject) throws(DecodeError) {
        let p = payload["payload"]?.objectValue ?? payload
        for k in instanceIDKeys + ["rtms_stream_id", "server_urls", "signature", "client", "secret"] {
            if let v = p[k], v.stringValue == nil, v != .null {
                throw DecodeError(messageType: nil, reason: "payload's \(k) is not a string")
            }
        }
        func text(_ k: String) -> String? { p[k]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        var found: (String, String)? = nil
        for k in instanceIDKeys {
            if let s = text(k) { found = (k, s); break }
        }
        guard let (key, id) = found else {
            throw DecodeError(messageType: nil, reason: "payload has no meeting_uuid, webinar_uuid, session_id, engagement_id or call_id")
        }
        guard let sid = p["rtms_stream_id"]?.stringValue, !sid.isEmpty else {
            throw DecodeError(messageType: nil, reason: "payload has no rtms_stream_id")
        }
        guard let urls = p["server_urls"]?.stringValue, !urls.isEmpty else {
            throw DecodeError(messageType: nil, reason: "payload has no server_urls")
        }
        self.init(
            instanceID: id, instanceKey: key, streamID: sid, serverURLs: urls, signature: text("signature"),
            clientID: text("client"), clientSecret: text("secret"))
    }
}
