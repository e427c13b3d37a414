// The live view: every stream's model, the page and its Server-Sent Events, on the webhook
// server's port (`rtms record --live`, `rtms serve --live`, `rtms demo`).
//
// Threads: the recorder's thread owns the models and the browsers' bookkeeping (it feeds the
// models and calls tick()); the webhook server's event loops only answer GET <path> with the
// page and hand each GET <path>/events to the hub (a lock-protected list the next tick picks up).
// tick() publishes at most every `pushIntervalMs`, only what changed since each browser's last
// copy, and nothing at all while no browser is connected. Each browser has a bounded buffer
// (WebhookStreamWriter): an event that does not fit is dropped and counted, and the sections it
// carried are sent again at a later tick, so a slow browser costs neither the recorder's time
// nor unbounded memory, and it still catches up.

import NIOConcurrencyHelpers
import RTMSClient
import RTMSProtocol
import RTMSWebhook

public struct LiveSettings: Sendable {
    /// Where the page is (the events are at `<path>/events`). Must start with "/".
    public var path = "/live"
    /// When set, the page and the events want `?token=<token>`.
    public var token: String?
    /// Browsers connected at once, at most (more are answered 503).
    public var maxClients = 16
    /// Bytes queued for one browser and not yet written, at most.
    public var clientBufferBytes = 1 << 20
    /// Publishing period: at most this often a browser gets a stream's changes.
    public var pushIntervalMs: Int64 = 250
    /// A stream's video (and share) frame is sent at most this often.
    public var frameIntervalMs: Int64 = 500
    /// A status event (time, this browser's drops, viewers) this often: also the keep-alive.
    public var statusIntervalMs: Int64 = 2000
    /// An ended stream stays on the page this long…
    public var endedLingerMs: Int64 = 600_000
    /// …and at most this many ended streams stay.
    public var maxEndedStreams = 20
    public var limits = LiveLimits()
    /// The page's heading (`rtms serve` puts its node id in it).
    public var title = "OpenRTMS live"
    public init() {}
}

/// Where the hub sends one browser's events: a WebhookStreamWriter (tests use their own).
public protocol LiveSink: AnyObject, Sendable {
    @discardableResult func send(_ bytes: [UInt8]) -> Bool
    var isClosed: Bool { get }
    /// Events dropped because the browser read too slowly.
    var dropped: Int { get }
    func close()
}

extension WebhookStreamWriter: LiveSink {}

public struct LiveStats: Sendable, Equatable {
    /// Browsers connected now.
    public var viewers = 0
    /// Browsers refused at `maxClients`.
    public var refused = 0
    /// Events sent (accepted by a browser's buffer).
    public var pushes = 0
    /// Events dropped for slow browsers, connected or gone.
    public var dropped = 0
    /// Times tick() published (at most one per `pushIntervalMs`, none without viewers).
    public var publishes = 0
    public init() {}
}

public final class LiveHub: @unchecked Sendable {
    public let settings: LiveSettings

    private final class Client {
        struct Sent {
            var core = -1, transcript = -1, timeline = -1
            var frames = [Int](repeating: -1, count: 5)
        }
        let sink: LiveSink
        var listVersion = 0
        var sent: [ObjectIdentifier: Sent] = [:]
        var lastStatusMs: Int64 = 0
        init(sink: LiveSink) { self.sink = sink }
    }

    private struct Published {
        var version: Int
        var json: [UInt8]
        var atMs: Int64
    }

    // The recorder's thread only.
    private var streamList: [LiveStream] = []
    private var listVersion = 1
    private var clients: [Client] = []
    private var lastPushMs: Int64 = .min / 2
    private var frames: [ObjectIdentifier: [Int: Published]] = [:]
    private var droppedByGone = 0
    private var pushes = 0
    private var publishes = 0

    // Any thread.
    private let lock = NIOLock()
    private var arriving: [LiveSink] = []
    private var connected = 0
    private var refused = 0
    private var snapshot = LiveStats()

    public init(settings: LiveSettings = LiveSettings()) {
        var s = settings
        if s.path.count > 1, s.path.hasSuffix("/") { s.path.removeLast() }
        if !s.path.hasPrefix("/") { s.path = "/" + s.path }
        self.settings = s
    }

    // MARK: Streams (the recorder's thread)

    /// A new stream's model (replacing one with the same id: a stream recorded again).
    public func addStream(streamID: String, instanceID: String, audioCodec: LiveAudioCodec = .l16, now: Int64 = nowMilliseconds()) -> LiveStream {
        let s = LiveStream(streamID: streamID, instanceID: instanceID, audioCodec: audioCodec, limits: settings.limits, now: now)
        if let i = streamList.firstIndex(where: { $0.streamID == streamID }) {
            frames[ObjectIdentifier(streamList[i])] = nil
            streamList[i] = s
        } else {
            streamList.append(s)
        }
        listVersion += 1
        return s
    }

    public var streams: [LiveStream] { streamList }

    /// Marks the stream ended when no leave event did (handed over, recorder closed).
    public func markEnded(streamID: String, note: String, now: Int64 = nowMilliseconds()) {
        streamList.first { $0.streamID == streamID && !$0.ended }?.markEnded(note, now: now)
    }

    // MARK: Browsers

    /// A browser's event stream (any thread); false when `maxClients` are connected.
    @discardableResult
    public func connect(_ sink: LiveSink) -> Bool {
        lock.withLock {
            guard connected < settings.maxClients else {
                refused += 1
                snapshot.refused = refused
                return false
            }
            connected += 1
            arriving.append(sink)
            return true
        }
    }

    public var stats: LiveStats { lock.withLock { snapshot } }

    /// Publishes what changed to every connected browser: call it from the loop that feeds the
    /// models, as often as convenient; it does nothing until `pushIntervalMs` have passed since
    /// it last published, and nothing but bookkeeping while no browser is connected.
    public func tick(now: Int64 = nowMilliseconds()) {
        guard now - lastPushMs >= settings.pushIntervalMs else { return }
        lastPushMs = now
        let fresh: [LiveSink] = lock.withLock {
            defer { arriving = [] }
            return arriving
        }
        for s in fresh { clients.append(Client(sink: s)) }
        var gone = 0
        clients.removeAll { c in
            guard c.sink.isClosed else { return false }
            gone += 1
            droppedByGone += c.sink.dropped
            return true
        }
        prune(now)
        if !clients.isEmpty { publish(now) }
        let dropped = droppedByGone + clients.reduce(0) { $0 + $1.sink.dropped }
        lock.withLock {
            connected -= gone
            snapshot.viewers = connected
            snapshot.pushes = pushes
            snapshot.dropped = dropped
            snapshot.publishes = publishes
        }
    }

    private func prune(_ now: Int64) {
        var ended = streamList.filter(\.ended)
        var remove = Set(ended.filter { now - ($0.endedMs ?? now) > settings.endedLingerMs }.map { ObjectIdentifier($0) })
        ended.removeAll { remove.contains(ObjectIdentifier($0)) }
        if ended.count > settings.maxEndedStreams {
            for s in ended.sorted(by: { ($0.endedMs ?? 0) < ($1.endedMs ?? 0) }).prefix(ended.count - settings.maxEndedStreams) {
                remove.insert(ObjectIdentifier(s))
            }
        }
        guard !remove.isEmpty else { return }
        streamList.removeAll { remove.contains(ObjectIdentifier($0)) }
        for id in remove { frames[id] = nil }
        listVersion += 1
    }

    private static let frameKinds: [MediaKind] = [.video, .deskshare]

    private func publish(_ now: Int64) {
        publishes += 1
        // Frames: at most one per kind and stream every frameIntervalMs.
        for s in streamList {
            let id = ObjectIdentifier(s)
            for k in Self.frameKinds {
                let v = s.frameVersion(k)
                guard v > 0 else { continue }
                let i = k.rawValue.trailingZeroBitCount
                let old = frames[id]?[i]
                guard old?.version != v, now - (old?.atMs ?? .min / 2) >= settings.frameIntervalMs, let json = s.frameJSON(k) else { continue }
                frames[id, default: [:]][i] = Published(version: v, json: json, atMs: now)
            }
        }
        var list: [UInt8]?
        var cores: [ObjectIdentifier: [UInt8]] = [:]
        var transcripts: [ObjectIdentifier: [UInt8]] = [:]
        var timelines: [ObjectIdentifier: [UInt8]] = [:]
        for c in clients {
            if c.listVersion != listVersion {
                if list == nil { list = listEvent() }
                if c.sink.send(list!) {
                    pushes += 1
                    c.listVersion = listVersion
                }
            }
            for s in streamList {
                let id = ObjectIdentifier(s)
                var sent = c.sent[id] ?? Client.Sent()
                var w = JSONWriter(capacity: 512)
                w.raw("event: stream\ndata: {\"id\":")
                w.string(s.streamID)
                var any = false
                if sent.core != s.coreVersion {
                    if cores[id] == nil { cores[id] = s.coreJSON(now: now) }
                    w.raw(",\"core\":")
                    w.bytes += cores[id]!
                    any = true
                }
                if sent.transcript != s.transcriptVersion {
                    if transcripts[id] == nil { transcripts[id] = s.transcriptJSON() }
                    w.raw(",\"transcript\":")
                    w.bytes += transcripts[id]!
                    any = true
                }
                if sent.timeline != s.timelineVersion {
                    if timelines[id] == nil { timelines[id] = s.timelineJSON() }
                    w.raw(",\"timeline\":")
                    w.bytes += timelines[id]!
                    any = true
                }
                var frameSent: [(Int, Int)] = []
                if let published = frames[id] {
                    for (i, p) in published.sorted(by: { $0.key < $1.key }) where sent.frames[i] != p.version {
                        if frameSent.isEmpty { w.raw(",\"frames\":{") } else { w.raw(",") }
                        w.string(MediaKind(rawValue: 1 << i)?.key ?? "video")
                        w.raw(":")
                        w.bytes += p.json
                        frameSent.append((i, p.version))
                        any = true
                    }
                    if !frameSent.isEmpty { w.raw("}") }
                }
                guard any else { continue }
                w.raw("}\n\n")
                // Dropped: nothing is marked sent, so the next publish carries these sections again.
                guard c.sink.send(w.bytes) else { continue }
                pushes += 1
                sent.core = s.coreVersion
                sent.transcript = s.transcriptVersion
                sent.timeline = s.timelineVersion
                for (i, v) in frameSent { sent.frames[i] = v }
                c.sent[id] = sent
            }
            if now - c.lastStatusMs >= settings.statusIntervalMs {
                var w = JSONWriter(capacity: 128)
                w.raw("event: status\ndata: {\"now\":")
                w.int(now)
                w.raw(",\"dropped\":")
                w.int(c.sink.dropped)
                w.raw(",\"viewers\":")
                w.int(clients.count)
                w.raw("}\n\n")
                if c.sink.send(w.bytes) {
                    pushes += 1
                    c.lastStatusMs = now
                } else if c.lastStatusMs > 0 && now - c.lastStatusMs >= 10 * settings.statusIntervalMs {
                    // Not even a status got through for ten intervals: a reader that stopped
                    // reading; its slot goes to someone who reads.
                    c.sink.close()
                }
            }
            // Forget what was sent of streams no longer listed.
            if c.sent.count > streamList.count {
                let live = Set(streamList.map { ObjectIdentifier($0) })
                c.sent = c.sent.filter { live.contains($0.key) }
            }
        }
    }

    private func listEvent() -> [UInt8] {
        let o: JSONObject = [
            "title": .string(settings.title), "push_ms": .int(settings.pushIntervalMs),
            "transcript_lines": .int(Int64(settings.limits.transcriptLines)),
            "streams": .array(streamList.map { .object(["id": .string($0.streamID), "instance_id": .string($0.instanceID)]) }),
        ]
        return Array("event: streams\ndata: ".utf8) + JSON.serialize(.object(o)) + Array("\n\n".utf8)
    }

    // MARK: HTTP

    /// Serves the page and the events on a webhook server: GET <path> (the page; <path>/ too)
    /// and GET <path>/events (Server-Sent Events), ahead of the hooks already there.
    public func install(into hooks: inout WebhookServerHooks) {
        let other = hooks.otherRequest
        let stream = hooks.streamRequest
        hooks.otherRequest = { [self] method, uri in self.page(method: method, uri: uri) ?? other?(method, uri) }
        hooks.streamRequest = { [self] method, uri in self.events(method: method, uri: uri) ?? stream?(method, uri) }
    }

    /// The page's URL on a server at host:port (an address that listens everywhere is shown as
    /// `localhost`), with the token when one is set.
    public func url(host: String, port: Int, tls: Bool) -> String {
        var h = ["0.0.0.0", "::", ""].contains(host) ? "localhost" : host
        if h.contains(":") { h = "[\(h)]" }
        var u = "\(tls ? "https" : "http")://\(h):\(port)\(settings.path)"
        if let t = settings.token { u += "?token=" + Self.percentEncode(t) }
        return u
    }

    enum Route { case page, events }

    func route(_ uri: String) -> (Route, tokenOK: Bool)? {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? uri
        let r: Route
        if path == settings.path || path == settings.path + "/" {
            r = .page
        } else if path == settings.path + "/events" || (settings.path == "/" && path == "/events") {
            r = .events
        } else {
            return nil
        }
        guard let want = settings.token else { return (r, true) }
        let got = parts.count > 1 ? Self.queryValue(parts[1], "token") : nil
        return (r, got.map { Self.sameBytes(Array($0.utf8), Array(want.utf8)) } ?? false)
    }

    func page(method: String, uri: String) -> (reply: WebhookReply, contentType: String)? {
        guard method == "GET", let (r, ok) = route(uri) else { return nil }
        guard ok else { return (WebhookReply(status: 403, body: "Forbidden: the live view wants ?token=\n"), "text/plain; charset=utf-8") }
        switch r {
        case .page:
            return (WebhookReply(status: 200, body: LivePage.html), "text/html; charset=utf-8")
        case .events:
            // streamRequest declined it: the viewer cap.
            return (WebhookReply(status: 503, body: "Too many live viewers (\(settings.maxClients))\n"), "text/plain; charset=utf-8")
        }
    }

    func events(method: String, uri: String) -> WebhookStreamAnswer? {
        guard method == "GET", let (r, ok) = route(uri), r == .events, ok else { return nil }
        guard lock.withLock({ connected < settings.maxClients }) else {
            lock.withLock {
                refused += 1
                snapshot.refused = refused
            }
            return nil
        }
        return WebhookStreamAnswer(contentType: "text/event-stream; charset=utf-8", bufferLimitBytes: settings.clientBufferBytes) { [self] writer in
            // The browser reconnects 2 s after losing the stream; the comment opens it at once.
            writer.send(Array("retry: 2000\n: openrtms live\n\n".utf8))
            if !self.connect(writer) { writer.close() }
        }
    }

    static func queryValue(_ query: Substring, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecode(kv[0]) == name { return kv.count > 1 ? percentDecode(kv[1]) : "" }
        }
        return nil
    }

    static func percentDecode(_ s: Substring) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        while i < b.count {
            if b[i] == 0x25, i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i] == 0x2B ? 0x20 : b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for c in s.utf8 {
            if (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E {
                out.unicodeScalars.append(Unicode.Scalar(c))
            } else {
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(c >> 4)])
                out.unicodeScalars.append(hex[Int(c & 15)])
            }
        }
        return out
    }

    /// Equal bytes, in a time that does not depend on where they differ.
    static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for i in 0..<a.count { d |= a[i] ^ b[i] }
        return d == 0
    }
}
