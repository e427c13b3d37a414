// One intake's decisions and the work after each answer, behind one lock. The core's HTTP server
// (Server.swift) and a language's own web server (rtms_webhook_handle() in the C ABI) both go
// through `decide` then `finish`: the same signature check, replay window, validation challenge,
// dedupe, routing to live streams and queueing for the application.

import NIOConcurrencyHelpers
import RTMSClient
import RTMSProtocol

/// The answer to a complete request and what to do once it is sent.
public struct WebhookDecision: Sendable {
    public let reply: WebhookReply
    /// A verified, first-time event: `finish` routes and queues it.
    public let delivery: WebhookDelivery?
}

public final class WebhookEndpoint: @unchecked Sendable {
    public let settings: WebhookSettings
    public let inbox: WebhookInbox
    private let lock = NIOLock()
    private var intake: WebhookIntake
    private var stopped = false
    private let router: @Sendable (JSONObject) -> Bool

    /// `router`: where RTMS events of live streams go; default: the process's StreamDirectory.
    public init(settings: WebhookSettings, router: (@Sendable (JSONObject) -> Bool)? = nil) {
        self.settings = settings
        self.intake = WebhookIntake(settings: settings)
        self.inbox = WebhookInbox(capacity: settings.queueMaxEvents)
        self.router =
            router ?? { body in
                if case .routed = StreamDirectory.shared.route(webhook: body) { return true }
                return false
            }
    }

    /// The decision counters (the connection counters are the server's).
    public var counters: WebhookCounters {
        var c = lock.withLock { intake.counters }
        c.droppedQueueFull = inbox.dropped
        return c
    }

    public var isStopped: Bool { lock.withLock { stopped } }

    /// Nothing more is routed or queued; waiters of the inbox return. Idempotent.
    public func stop() {
        lock.withLock { stopped = true }
        inbox.close()
    }

    /// What to answer from the request head alone (404, 413), before reading the body; nil = read it.
    public func checkHead(method: String, uri: String, contentLength: Int?) -> WebhookReply? {
        lock.withLock { intake.checkHead(method: method, uri: uri, contentLength: contentLength) }
    }

    /// A body grew past the limit while being read.
    public func bodyTooLarge() -> WebhookReply { lock.withLock { intake.bodyTooLarge() } }

    /// Decides a complete request. Send `reply` first, then call `finish`.
    public func decide(_ req: WebhookRequest) -> WebhookDecision {
        let (reply, delivery) = lock.withLock { intake.handle(req, nowMs: nowMilliseconds()) }
        return WebhookDecision(reply: reply, delivery: delivery)
    }

    /// The work after the reply: an RTMS event of a stream joined here goes to its client
    /// (failover, rejoin, end; handed to the client's own thread, never blocking), then every
    /// accepted event is queued for the application.
    public func finish(_ decision: WebhookDecision) {
        guard var d = decision.delivery, !isStopped else { return }
        if d.rtmsKind != nil, router(d.object) {
            d.routedToLiveStream = true
            lock.withLock { intake.countRouted() }
        }
        inbox.push(d)
    }

    /// `decide` and `finish` at once, for a web server that is not ours: the reply to send. The
    /// work is done when it returns (it does not block).
    public func handle(_ req: WebhookRequest) -> WebhookReply {
        let d = decide(req)
        finish(d)
        return d.reply
    }
}

extension WebhookRequest {
    /// Header lines as a language's web server can give them: "Name: value" separated by CRLF or
    /// LF. Names are lowercased, values trimmed; a line without a colon is ignored; the last of
    /// repeated names wins (as in the HTTP server).
    public static func headers(fromLines text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSpaces().lowercased()
            guard !name.isEmpty else { continue }
            out[name] = String(line[line.index(after: colon)...].trimmingSpaces())
        }
        return out
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return s
    }
}
