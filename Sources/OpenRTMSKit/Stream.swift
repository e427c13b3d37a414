// The Swift API: one RTMS stream, joined from a webhook payload, its media and events an
// AsyncSequence. A thin layer over RTMSClient (the same engine as the C ABI): reconnection and
// failover happen inside; events are pulled from the client's bounded queue as the consumer asks
// for them (no second queue, so a slow consumer pauses reading instead of growing memory).

@_exported import RTMSClient
import NIOPosix
@_exported import RTMSProtocol
@_exported import RTMSSession

/// What a stream delivers, in order: `.media(MediaData)` (audio, video, deskshare, transcript,
/// chat, with the speaker and timestamps) or `.control(ClientEvent)` (join confirm, participants,
/// active speaker, sharing, reconnecting/reconnected, stream state, leave...).
public typealias RTMSEvent = ClientEventItem

/// One stream. Create it with `RTMSStream.join(payload:)` (or `withStream`), read `events`, and
/// `leave()` when done; leaving also happens when the task reading `events` is cancelled.
public final class RTMSStream: Sendable {
    /// The ids and servers the stream was joined with.
    public let start: StreamStart
    let client: RTMSClient

    /// The media the stream asks for.
    public struct Media: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let audio = Media(rawValue: MediaKind.audio.rawValue)
        public static let video = Media(rawValue: MediaKind.video.rawValue)
        public static let deskshare = Media(rawValue: MediaKind.deskshare.rawValue)
        public static let transcript = Media(rawValue: MediaKind.transcript.rawValue)
        public static let chat = Media(rawValue: MediaKind.chat.rawValue)
        public static let all: Media = [.audio, .video, .deskshare, .transcript, .chat]
    }

    /// The app's client id and secret, from which the handshake signature is computed when the
    /// payload carries none. nil: ZM_RTMS_CLIENT / ZM_RTMS_SECRET.
    public struct Credentials: Sendable {
        public var clientID: String
        public var clientSecret: String
        public init(clientID: String, clientSecret: String) { self.clientID = clientID; self.clientSecret = clientSecret }
    }

    init(start: StreamStart, client: RTMSClient) {
        self.start = start
        self.client = client
    }

    /// Starts joining the stream an `rtms_started` webhook announced: `payload` is its JSON (the
    /// whole body or its `payload` object). Returns at once; the outcome arrives in `events` as
    /// `.control(.joinConfirm)`. Throws `ClientError` for bad input (code `invalidArgs`,
    /// `noCredentials`, or `invalidStatus` when this process already has the stream).
    public static func join(
        payload: String, media: Media = [.audio, .transcript], params: MediaParams? = nil,
        credentials: Credentials? = nil, subscribe events: [Int] = [], config: ClientConfig? = nil,
        joinTimeoutMilliseconds: Int = -1
    ) throws(ClientError) -> RTMSStream {
        let start = try RTMSClient.streamStart(json: payload)
        let client = RTMSClient()
        var cfg = config ?? client.config
        if let credentials {
            cfg.clientID = credentials.clientID
            cfg.clientSecret = credentials.clientSecret
        }
        client.config = cfg
        try client.configure(mediaTypes: media.rawValue, params: params)
        if !events.isEmpty { client.subscribe(events: events, on: true) }
        try client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: start.signature, serverURLs: start.serverURLs,
            timeoutMilliseconds: joinTimeoutMilliseconds, clientID: start.clientID, clientSecret: start.clientSecret)
        return RTMSStream(start: start, client: client)
    }

    /// Joins, runs `body` with the stream, and leaves when `body` returns or throws (structured:
    /// nothing of the stream outlives the call).
    public static func withStream<T>(
        payload: String, media: Media = [.audio, .transcript], params: MediaParams? = nil,
        credentials: Credentials? = nil, subscribe events: [Int] = [], config: ClientConfig? = nil,
        isolation: isolated (any Actor)? = #isolation, _ body: (RTMSStream) async throws -> T
    ) async throws -> T {
        let stream = try join(payload: payload, media: media, params: params, credentials: credentials, subscribe: events, config: config)
        do {
            let result = try await body(stream)
            stream.leave()
            return result
        } catch {
            stream.leave()
            throw error
        }
    }

    /// The stream's events until the session ends (a failed join confirm or the leave, both
    /// delivered). Read it from one task at a time; cancelling that task leaves the stream.
    public var events: Events { Events(stream: self) }

    /// Leaves the stream (close frames to the servers); `events` then ends. Safe to call twice.
    public func leave() { client.leave() }

    /// Asks the server to end the stream (STREAM_CLOSE_REQ); the answer arrives as
    /// `.control(.streamClosed)`, then the leave.
    public func closeStream() throws(ClientError) { try client.closeStream() }

    /// Subscribes to (or unsubscribes from) event types (EventType: participant join/leave...).
    public func subscribe(events: [Int], on: Bool = true) { client.subscribe(events: events, on: on) }

    /// Counters: media queued and delivered, drops by cause, reconnections.
    public var counters: ClientCounters { client.counters }

    /// The session is joining or joined.
    public var isLive: Bool { client.isLive }

    public struct Events: AsyncSequence, Sendable {
        public typealias Element = RTMSEvent
        let stream: RTMSStream

        public func makeAsyncIterator() -> Iterator { Iterator(client: stream.client) }

        public struct Iterator: AsyncIteratorProtocol {
            let client: RTMSClient
            var buffer: [RTMSEvent] = []
            var next = 0
            var ended = false

            /// The next event, nil once the session's last event (its leave or failed join
            /// confirm) was returned, or when the task is cancelled (which leaves the stream).
            public mutating func next() async -> RTMSEvent? {
                while !ended {
                    if next < buffer.count {
                        let e = buffer[next]
                        next += 1
                        if case .control(let c) = e, Self.isEnd(c) { ended = true }
                        return e
                    }
                    if Task.isCancelled {
                        client.leave()
                        ended = true
                        break
                    }
                    // The client's poll waits on its queue; it runs on NIO's pool for blocking work,
                    // never on the task pool, and wakes at least every 200 ms to see cancellation.
                    let client = self.client
                    let taken = try? await NIOThreadPool.singleton.runIfActive { () -> [RTMSEvent] in
                        var items: [RTMSEvent] = []
                        client.poll(maxEvents: 256, waitMilliseconds: 200) { items.append($0) }
                        return items
                    }
                    buffer = taken ?? []
                    next = 0
                    // Left by the application: nothing more will come.
                    if buffer.isEmpty && client.queue.isClosed { ended = true }
                }
                return nil
            }

            static func isEnd(_ e: ClientEvent) -> Bool {
                switch e {
                case .leave: true
                case .joinConfirm(let reason, _): reason != 0
                default: false
                }
            }
        }
    }
}
