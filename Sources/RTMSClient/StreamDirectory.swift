// One connection per stream in the process. Every joining or joined client is listed under its
// stream id; a second join of a live stream is refused, and webhooks for a live stream (a new
// rtms_started = server failover, rtms_interrupted, rtms_stopped) are routed to its client.

import NIOConcurrencyHelpers
import RTMSProtocol

public final class StreamDirectory: @unchecked Sendable {
    public static let shared = StreamDirectory()

    private struct Entry { weak var client: RTMSClient? }
    private let lock = NIOLock()
    private var entries: [String: Entry] = [:]

    /// Lists `client` under `streamID` unless another live client holds it.
    func claim(_ streamID: String, for client: RTMSClient) -> Bool {
        lock.withLock {
            if let other = entries[streamID]?.client, other !== client, other.isLive { return false }
            entries[streamID] = Entry(client: client)
            return true
        }
    }

    func release(_ streamID: String, for client: RTMSClient) {
        lock.withLock {
            if let e = entries[streamID], e.client == nil || e.client === client { entries[streamID] = nil }
        }
    }

    /// The live client of a stream, if any.
    public func client(for streamID: String) -> RTMSClient? {
        lock.withLock {
            guard let c = entries[streamID]?.client, c.isLive else { return nil }
            return c
        }
    }

    /// What happened to a webhook given to `route`.
    public enum Routing: Sendable, Equatable {
        /// Not an RTMS started/interrupted/stopped event.
        case notRTMS
        /// An RTMS event for a stream no client of this process has joined.
        case noLiveStream(streamID: String)
        /// Handed to the stream's client: a failover (started), a rejoin (interrupted) or the end (stopped).
        case routed(streamID: String, kind: String)
    }

    /// Routes an RTMS webhook body to the live client of its stream.
    @discardableResult
    public func route(webhook body: JSONObject) -> Routing {
        guard let event = body["event"]?.stringValue, let (_, kind) = Product.parse(event: event),
            let payload = body["payload"]?.objectValue
        else { return .notRTMS }
        let stream = payload["rtms_stream_id"]?.stringValue ?? ""
        guard !stream.isEmpty, let c = client(for: stream) else { return .noLiveStream(streamID: stream) }
        switch kind {
        case "started":
            guard let urls = payload["server_urls"]?.stringValue else { return .noLiveStream(streamID: stream) }
            c.failover(serverURLs: urls)
        case "interrupted":
            c.interrupted(serverURLs: payload["server_urls"]?.stringValue)
        default:
            c.stopped(reason: Int(payload["stop_reason"]?.intValue ?? Int64(StopReason.undefined)))
        }
        return .routed(streamID: stream, kind: kind)
    }
}
