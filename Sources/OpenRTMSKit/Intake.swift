// The webhook intake as an async sequence of verified deliveries: the core's HTTP(S) server
// (signature and replay window checked, Zoom's URL validation answered, retries deduplicated,
// events for live streams routed to their clients) with its bounded inbox pulled on demand.

import NIOPosix
@_exported import RTMSWebhook

public final class RTMSWebhookIntake: Sendable {
    let server: WebhookServer

    /// Listens now. `settings.secretToken` nil: ZM_RTMS_WEBHOOK_SECRET; "": no signature check.
    /// Throws `WebhookServerError` with readable text (address in use, bad TLS files).
    public init(settings: WebhookSettings = WebhookSettings()) throws {
        server = try WebhookServer(settings: settings)
    }

    /// The port listened on (useful with port 0).
    public var port: Int { server.port }
    public var counters: WebhookCounters { server.counters }

    /// Verified deliveries, oldest first, until `stop()`. A delivery with `routedToLiveStream`
    /// already reached the live stream it concerns (failover, interruption, stop): the
    /// application only needs to act on the others (a new `rtms_started`: join it). Read from one
    /// task at a time; cancelling that task ends the sequence (the server keeps listening).
    public var deliveries: Deliveries { Deliveries(inbox: server.inbox, server: server) }

    /// Waits for an `rtms_started` (of `streamID`, or any when nil) and returns its body as JSON
    /// text, ready for `RTMSStream.join(payload:)`; nil after `timeoutMilliseconds` or `stop()`.
    public func nextStarted(streamID: String? = nil, timeoutMilliseconds: Int = 300_000) async -> String? {
        let inbox = server.inbox
        let result = try? await NIOThreadPool.singleton.runIfActive {
            inbox.waitStarted(streamID: streamID, milliseconds: timeoutMilliseconds)
        }
        guard case .started(let delivery) = result else { return nil }
        return String(decoding: delivery.body, as: UTF8.self)
    }

    /// Stops listening; `deliveries` ends once drained.
    public func stop() { server.stop() }

    public struct Deliveries: AsyncSequence, Sendable {
        public typealias Element = WebhookDelivery
        let inbox: WebhookInbox
        let server: WebhookServer

        public func makeAsyncIterator() -> Iterator { Iterator(inbox: inbox, server: server) }

        public struct Iterator: AsyncIteratorProtocol {
            let inbox: WebhookInbox
            let server: WebhookServer
            var buffer: [WebhookDelivery] = []
            var next = 0

            public mutating func next() async -> WebhookDelivery? {
                while true {
                    if next < buffer.count {
                        next += 1
                        return buffer[next - 1]
                    }
                    if Task.isCancelled { return nil }
                    let inbox = self.inbox
                    buffer =
                        (try? await NIOThreadPool.singleton.runIfActive { () -> [WebhookDelivery] in
                            _ = inbox.wait(milliseconds: 200)
                            return inbox.take(max: 64)
                        }) ?? []
                    next = 0
                    if buffer.isEmpty && server.isStopped && inbox.pending == 0 { return nil }
                }
            }
        }
    }
}
