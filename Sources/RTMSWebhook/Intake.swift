// The webhook intake's decisions, with no sockets: which status a request gets, whether its
// signature and timestamp hold, whether it is a duplicate delivery, what reaches the application.
// The HTTP server (Server.swift) only moves bytes to and from this.

import Crypto
import RTMSClient
import RTMSProtocol

/// Settings of a webhook intake (ZM_RTMS_PORT, ZM_RTMS_PATH, ZM_RTMS_CERT, ZM_RTMS_KEY,
/// ZM_RTMS_CA_WEBHOOK, ZM_RTMS_WEBHOOK_SECRET).
public struct WebhookSettings: Sendable, Equatable {
    public var host = "0.0.0.0"
    /// 0 = any free port (see WebhookServer.port).
    public var port = 8080
    /// Only POSTs to this path are webhooks (the query string is ignored).
    public var path = "/"
    /// HTTPS when both are set: PEM files.
    public var certificatePath: String?
    public var keyPath: String?
    /// Client certificates are required and verified against this CA file (mutual TLS).
    public var clientCAPath: String?
    /// Zoom's webhook secret token. When set, every request must carry a valid `x-zm-signature`.
    public var secretToken: String?
    /// Larger bodies get 413.
    public var maxBodyBytes = 1 << 20
    /// A signed request whose `x-zm-request-timestamp` is further than this from now gets 401.
    public var replayWindowSeconds = 300
    /// Deliveries remembered for duplicate detection, and for how long.
    public var dedupeCapacity = 4096
    public var dedupeWindowSeconds = 3600
    /// Events waiting for the application; beyond this the oldest is dropped (and counted).
    public var queueMaxEvents = 1024
    /// Connections of the HTTP server (Server.swift); 0 = no limit for a timeout. A request head
    /// must arrive within `headerTimeoutMs` (counted from the connection's start, or from the
    /// request's first byte on a kept-alive connection), its body within `bodyTimeoutMs` of the
    /// head; a kept-alive connection without a request is closed after `idleTimeoutMs`. At most
    /// `maxConnections` are open: a new one closes the oldest idle connection (else the oldest
    /// one still sending its request) or, when every connection is being answered, gets 503.
    public var headerTimeoutMs = 10_000
    public var bodyTimeoutMs = 30_000
    public var idleTimeoutMs = 30_000
    public var maxConnections = 512

    public init() {}

    /// Defaults with the ZM_RTMS_* environment variables applied.
    public static func fromEnvironment() -> WebhookSettings {
        var s = WebhookSettings()
        if let p = getenvString("ZM_RTMS_PORT"), let n = Int(p), (0...65535).contains(n) { s.port = n }
        if let p = getenvString("ZM_RTMS_PATH") { s.path = p.hasPrefix("/") ? p : "/" + p }
        s.certificatePath = getenvString("ZM_RTMS_CERT")
        s.keyPath = getenvString("ZM_RTMS_KEY")
        s.clientCAPath = getenvString("ZM_RTMS_CA_WEBHOOK")
        s.secretToken = getenvString("ZM_RTMS_WEBHOOK_SECRET")
        return s
    }
}

/// One HTTP request as the intake sees it.
public struct WebhookRequest: Sendable {
    public var method: String
    public var uri: String
    /// Header names in lowercase.
    public var headers: [String: String]
    public var body: [UInt8]
    public init(method: String, uri: String, headers: [String: String], body: [UInt8]) {
        self.method = method; self.uri = uri; self.headers = headers; self.body = body
    }
}

/// The answer, written before any work on the event is done.
public struct WebhookReply: Sendable, Equatable {
    public var status: Int
    public var body: String
    public init(status: Int, body: String) { self.status = status; self.body = body }

    static func json(_ status: Int, _ o: JSONObject) -> WebhookReply {
        WebhookReply(status: status, body: String(decoding: JSON.serialize(.object(o)), as: UTF8.self))
    }
    static func error(_ status: Int, _ text: String) -> WebhookReply { json(status, ["error": .string(text)]) }
    static let ok = json(200, ["status": .string("ok")])
    static let notFound = error(404, "Not Found")
}

/// A verified, first-time webhook for the application.
public struct WebhookDelivery: Sendable {
    /// The `event` field, e.g. "meeting.rtms_started".
    public var event: String
    /// The body exactly as received.
    public var body: [UInt8]
    public var object: JSONObject
    /// For RTMS events: "started", "stopped" or "interrupted", and the stream id.
    public var rtmsKind: String?
    public var streamID: String?
    /// Set by the server: the event went to this process's live client of the stream.
    public var routedToLiveStream = false
}

/// Counters of an intake, readable through the C ABI.
public struct WebhookCounters: Sendable, Equatable {
    public var requests = 0
    public var accepted = 0
    public var duplicates = 0
    public var validations = 0
    public var notFound = 0
    public var malformed = 0
    public var tooLarge = 0
    public var unauthorized = 0
    public var routed = 0
    public var droppedQueueFull = 0
    /// Connections of the HTTP server (all 0 for an intake without a listener).
    public var connectionsAccepted = 0
    /// Open now (a gauge).
    public var connectionsOpen = 0
    /// Closed for not sending a complete request head / body in time, or for idling kept alive.
    public var headerTimeouts = 0
    public var bodyTimeouts = 0
    public var idleTimeouts = 0
    /// Closed to make room for a new connection at `maxConnections`.
    public var evicted = 0
    /// New connections answered 503 and closed at `maxConnections` (nothing could be evicted).
    public var refused = 0
    /// accept() failures (EMFILE, ENFILE, ENOBUFS, ENOMEM): accepting paused briefly, a few
    /// connections (idle first) closed to free descriptors.
    public var acceptErrors = 0
    public init() {}
}

/// Decides every request. A value type; the server keeps one behind a lock.
public struct WebhookIntake: Sendable {
    public let settings: WebhookSettings
    public private(set) var counters = WebhookCounters()
    private var seen: [String: Int64] = [:]
    private var seenOrder: [(key: String, at: Int64)] = []
    private var seenHead = 0

    public init(settings: WebhookSettings) { self.settings = settings }

    func pathMatches(_ uri: String) -> Bool {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        return path == settings.path
    }

    /// What to answer from the request head alone (before reading the body): 404 for another
    /// method or path, 413 for a declared length over the limit; nil = read the body.
    public mutating func checkHead(method: String, uri: String, contentLength: Int?) -> WebhookReply? {
        if method != "POST" || !pathMatches(uri) {
            counters.requests += 1
            counters.notFound += 1
            return .notFound
        }
        if let n = contentLength, n > settings.maxBodyBytes {
            counters.requests += 1
            counters.tooLarge += 1
            return .error(413, "Payload Too Large: the limit is \(settings.maxBodyBytes) bytes")
        }
        return nil
    }

    /// A body grew past the limit while being read.
    public mutating func bodyTooLarge() -> WebhookReply {
        counters.requests += 1
        counters.tooLarge += 1
        return .error(413, "Payload Too Large: the limit is \(settings.maxBodyBytes) bytes")
    }

    /// Decides a complete request. `nowMs` is wall-clock milliseconds since the epoch.
    public mutating func handle(_ req: WebhookRequest, nowMs: Int64) -> (reply: WebhookReply, delivery: WebhookDelivery?) {
        if let early = checkHead(method: req.method, uri: req.uri, contentLength: req.body.count) { return (early, nil) }
        counters.requests += 1
        if let secret = settings.secretToken {
            if let why = verify(req, secret: secret, nowMs: nowMs) {
                counters.unauthorized += 1
                return (.error(401, why), nil)
            }
        }
        guard let value = try? JSON.parse(req.body), let object = value.objectValue else {
            counters.malformed += 1
            return (.error(400, "Invalid JSON received"), nil)
        }
        guard let event = object["event"]?.stringValue, !event.isEmpty else {
            counters.malformed += 1
            return (.error(400, "Invalid webhook payload: missing required \"event\" field"), nil)
        }
        if event == "endpoint.url_validation" {
            guard let secret = settings.secretToken else {
                counters.malformed += 1
                return (.error(400, "endpoint.url_validation needs the webhook secret token (ZM_RTMS_WEBHOOK_SECRET)"), nil)
            }
            guard let plain = object["payload"]?["plainToken"]?.stringValue, !plain.isEmpty else {
                counters.malformed += 1
                return (.error(400, "endpoint.url_validation without payload.plainToken"), nil)
            }
            counters.validations += 1
            return (
                .json(
                    200,
                    [
                        "plainToken": .string(plain),
                        "encryptedToken": .string(Signatures.urlValidation(secretToken: secret, plainToken: plain)),
                    ]), nil
            )
        }
        // Deliveries are deduplicated, not destinations: Zoom's retries repeat the body byte for
        // byte, while a new announcement of a live stream (another event_ts) is news whatever
        // server it names, including one the stream used before (failover A -> B -> A).
        let key = req.body
        if isDuplicate(key, nowMs: nowMs) {
            counters.duplicates += 1
            return (.ok, nil)
        }
        counters.accepted += 1
        var d = WebhookDelivery(event: event, body: req.body, object: object)
        if let (_, kind) = Product.parse(event: event) {
            d.rtmsKind = kind
            d.streamID = object["payload"]?["rtms_stream_id"]?.stringValue
        }
        return (.ok, d)
    }

    /// nil when the signature holds; else why not.
    func verify(_ req: WebhookRequest, secret: String, nowMs: Int64) -> String? {
        guard let ts = req.headers["x-zm-request-timestamp"], let sig = req.headers["x-zm-signature"] else {
            return "missing x-zm-signature or x-zm-request-timestamp"
        }
        guard let seconds = Int64(ts) else { return "x-zm-request-timestamp is not a number" }
        // A negative one would overflow the arithmetic below and trap the process.
        guard seconds >= 0 else { return "x-zm-request-timestamp is negative" }
        // Zoom sends seconds; accept milliseconds too rather than rejecting a sender that uses them.
        let tsMs = seconds > 100_000_000_000 ? seconds : seconds * 1000
        let skew = nowMs > tsMs ? nowMs - tsMs : tsMs - nowMs
        guard skew <= Int64(settings.replayWindowSeconds) * 1000 else {
            return "x-zm-request-timestamp is \(skew / 1000) s away from now (window \(settings.replayWindowSeconds) s): replayed or clock skew"
        }
        let want = Signatures.webhook(secretToken: secret, timestamp: ts, body: req.body)
        guard Signatures.constantTimeEqual(want, sig) else { return "x-zm-signature does not match" }
        return nil
    }

    /// Remembers a delivery's digest; true when it was seen inside the dedupe window.
    mutating func isDuplicate(_ identity: [UInt8], nowMs: Int64) -> Bool {
        let key = Signatures.hex(SHA256.hash(data: identity))
        let horizon = nowMs - Int64(settings.dedupeWindowSeconds) * 1000
        // Forget the oldest beyond capacity or age.
        while seenHead < seenOrder.count,
            seenOrder[seenHead].at < horizon || seenOrder.count - seenHead > settings.dedupeCapacity
        {
            let old = seenOrder[seenHead]
            if seen[old.key] == old.at { seen[old.key] = nil }
            seenHead += 1
        }
        if seenHead > 4096 && seenHead * 2 > seenOrder.count {
            seenOrder.removeFirst(seenHead)
            seenHead = 0
        }
        if let at = seen[key], at >= horizon { return true }
        seen[key] = nowMs
        seenOrder.append((key, nowMs))
        return false
    }

    mutating func countRouted() { counters.routed += 1 }
}
