// The webhook intake as an async sequence of verified deliveries: the core's HTTP(S) server
// (signature and replay window checked, Zoom's URL validation answered, retries deduplicated,
// events for live streams routed to their clients) with its bounded inbox pulled on demand.

import NIOPosix
@_exported import RTMSWebhook

public final class RTMSWebhookIntake: Sendable {
    let endpoint: WebhookEndpoint
    let server: WebhookServer?

    /// Listens now. `settings.secretToken` nil: ZM_RTMS_WEBHOOK_SECRET; "": no signature check.
    /// Throws `WebhookServerError` with readable text (address in use, bad TLS files).
    public init(settings: WebhookSettings = WebhookSettings()) throws {
        let server = try WebhookServer(settings: Self.withSecret(settings))
        self.server = server
        endpoint = server.endpoint
    }

    /// Without a listener, for an application with an HTTP server of its own (Hummingbird,
    /// Vapor...): it hands each request to `handle` and sends back the reply. The same checks,
    /// answers and routing as the listener's (`settings.path` is the path handled; the secret
    /// token as above).
    public init(handlingRequestsFor settings: WebhookSettings) {
        server = nil
        endpoint = WebhookEndpoint(settings: Self.withSecret(settings))
    }

    /// No secret token given: ZM_RTMS_WEBHOOK_SECRET's ("" checks no signature).
    static func withSecret(_ settings: WebhookSettings) -> WebhookSettings {
        var s = settings
        if s.secretToken == nil { s.secretToken = getenvString("ZM_RTMS_WEBHOOK_SECRET") }
        return s
    }

    /// One HTTP request: its verdict (status and JSON body, to send back as they are); a verified
    /// delivery also goes to `deliveries` / `nextStarted`.
    public func handle(method: String, uri: String, headers: [String: String], body: [UInt8]) -> WebhookReply {
        endpoint.handle(WebhookRequest(method: method, uri: uri, headers: headers, body: body))
    }

    /// The port listened on (useful with port 0); 0 without a listener.
    public var port: Int { server?.port ?? 0 }
    public var counters: WebhookCounters { server?.counters ?? endpoint.counters }

    /// Verified deliveries, oldest first, until `stop()`. A delivery with `routedToLiveStream`
    /// already reached the live stream it concerns (failover, interruption, stop): the
    /// application only needs to act on the others (a new `rtms_started`: join it). Read from one
    /// task at a time; cancelling that task ends the sequence (the server keeps listening).
    public var deliveries: Deliveries { Deliveries(endpoint: endpoint) }

    /// Waits for an `rtms_started` (of `streamID`, or any when nil) and returns its body as JSON
    /// text, ready for `RTMSStream.join(payload:)`; nil after `timeoutMilliseconds` or `stop()`.
    public func nextStarted(streamID: String? = nil, timeoutMilliseconds: Int = 300_000) async -> String? {
        let inbox = endpoint.inbox
        let result = try? await NIOThreadPool.singleton.runIfActive {
            inbox.waitStarted(streamID: streamID, milliseconds: timeoutMilliseconds)
        }
        guard case .started(let delivery) = result else { return nil }
        return String(decoding: delivery.body, as: UTF8.self)
    }

    /// Stops listening; `deliveries` ends once drained.
    public func stop() {
        if let server { server.stop() } else { endpoint.stop() }
    }

    public struct Deliveries: AsyncSequence, Sendable {
        public typealias Element = WebhookDelivery
        let endpoint: WebhookEndpoint

        public func makeAsyncIterator() -> Iterator { Iterator(endpoint: endpoint) }

        public struct Iterator: AsyncIteratorProtocol {
            let endpoint: WebhookEndpoint
            var buffer: [WebhookDelivery] = []
            var next = 0

            public mutating func next() async -> WebhookDelivery? {
                while true {
                    if next < buffer.count {
                        next += 1
                        return buffer[next - 1]
                    }
                    if Task.isCancelled { return nil }
                    let inbox = endpoint.inbox
                    buffer =
                        (try? await NIOThreadPool.singleton.runIfActive { () -> [WebhookDelivery] in
                            _ = inbox.wait(milliseconds: 200)
                            return inbox.take(max: 64)
                        }) ?? []
                    next = 0
                    if buffer.isEmpty && endpoint.isStopped && inbox.pending == 0 { return nil }
                }
            }
        }
    }
}
