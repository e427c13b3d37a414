// The live view's model and hub without a browser: levels, coalescing, bounds, and the bounded
// per-browser buffer of a streamed response over a real socket.

import NIOConcurrencyHelpers
import Testing

@testable import RTMSClient
@testable import RTMSLive
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSWebhook

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A browser that keeps every event it accepts; `accepting = false` makes it drop like a full buffer.
final class FakeSink: LiveSink, @unchecked Sendable {
    private let lock = NIOLock()
    private var _events: [String] = []
    private var _dropped = 0
    private var _accepting = true
    private var _closed = false

    var accepting: Bool {
        get { lock.withLock { _accepting } }
        set { lock.withLock { _accepting = newValue } }
    }
    var events: [String] { lock.withLock { _events } }

    func send(_ bytes: [UInt8]) -> Bool {
        lock.withLock {
            if _closed { return false }
            guard _accepting else {
                _dropped += 1
                return false
            }
            _events.append(String(decoding: bytes, as: UTF8.self))
            return true
        }
    }
    var isClosed: Bool { lock.withLock { _closed } }
    var dropped: Int { lock.withLock { _dropped } }
    func close() { lock.withLock { _closed = true } }

    /// The `data:` JSON of every event named `name`.
    func data(_ name: String) -> [JSONValue] {
        events.compactMap { e in
            guard e.hasPrefix("event: \(name)\n") else { return nil }
            let line = e.split(separator: "\n").first { $0.hasPrefix("data: ") }
            return line.flatMap { try? JSON.parse(String($0.dropFirst(6))) }
        }
    }
}

/// 16-bit little-endian samples.
func l16(_ samples: [Int16]) -> [UInt8] {
    var out: [UInt8] = []
    for s in samples {
        let u = UInt16(bitPattern: s)
        out.append(UInt8(u & 0xFF))
        out.append(UInt8(u >> 8))
    }
    return out
}

func audio(_ user: Int64, _ name: String, _ samples: [Int16], ts: Int64 = 0, seq: Int64? = nil) -> ClientEventItem {
    .media(MediaData(kind: .audio, userID: user, userName: name, data: l16(samples), timestamp: ts, sequence: seq))
}

func text(_ kind: MediaKind, _ user: Int64, _ name: String, _ s: String, seq: Int64? = nil) -> ClientEventItem {
    .media(MediaData(kind: kind, userID: user, userName: name, data: Array(s.utf8), timestamp: 0, sequence: seq))
}

@Suite struct LiveModelTests {
    @Test func levelsAreTheRMSOfL16() throws {
        #expect(LiveStream.rms(l16: l16([Int16](repeating: 0, count: 320))) == 0)
        #expect(LiveStream.dbfs(0) == nil)
        // A square wave at half scale: RMS 0.5, -6.02 dBFS.
        let square = (0..<320).map { $0 % 2 == 0 ? Int16(16384) : Int16(-16384) }
        #expect(abs(LiveStream.rms(l16: l16(square)) - 0.5) < 1e-9)
        #expect(abs(LiveStream.dbfs(0.5)! + 6.0206) < 0.001)
        // A sine of amplitude A has RMS A/sqrt(2).
        let sine = (0..<1600).map { Int16((8000.0 * sin(2 * Double.pi * 440 * Double($0) / 16000)).rounded()) }
        #expect(abs(LiveStream.rms(l16: l16(sine)) - 8000.0 / 2.0.squareRoot() / 32768) < 0.001)
        #expect(LiveStream.rms(l16: [0x01]) == 0)  // half a sample

        let s = LiveStream(streamID: "s", instanceID: "m", audioCodec: .l16, now: 1000)
        s.add(audio(7, "Alice", square), now: 1010)
        s.add(audio(8, "Bob", [Int16](repeating: 0, count: 320)), now: 1010)
        let core = try JSON.parse(s.coreJSON(now: 1020))
        let people = try #require(core["participants"]?.arrayValue)
        #expect(people.count == 2)
        #expect(people[0]["name"]?.stringValue == "Alice")
        #expect(people[0]["level"]?.doubleValue == 0.5)
        #expect(people[0]["dbfs"]?.doubleValue == -6.0)
        #expect(people[1]["level"]?.doubleValue == 0 && people[1]["dbfs"] == nil)
        #expect(core["level_known"]?.boolValue == true)

        // Opus: no level is made up.
        let o = LiveStream(streamID: "o", instanceID: "m", audioCodec: .opus)
        o.add(.media(MediaData(kind: .audio, userID: 7, userName: "Alice", data: [0xF8, 0xFF, 0xFE], timestamp: 0)))
        let oc = try JSON.parse(o.coreJSON(now: 0))
        #expect(oc["level_known"]?.boolValue == false)
        #expect(oc["participants"]?.arrayValue?.first?["level"] == nil)
        #expect(oc["participants"]?.arrayValue?.first?["audio_messages"]?.intValue == 1)
    }

    @Test func transcriptAndTimelineAreBounded() throws {
        var limits = LiveLimits()
        limits.transcriptLines = 10
        limits.timelineEntries = 5
        let s = LiveStream(streamID: "s", instanceID: "m", limits: limits)
        for i in 0..<200 { s.add(text(.transcript, 1, "Alice", "line \(i)"), now: Int64(i)) }
        #expect(s.transcript.count == 10)
        #expect(s.transcript.first?.text == "line 190" && s.transcript.last?.text == "line 199")
        #expect(s.transcriptVersion == 200)
        let lines = try JSON.parse(s.transcriptJSON()).arrayValue ?? []
        #expect(lines.count == 10 && lines.last?["text"]?.stringValue == "line 199")
        for i in 0..<20 {
            s.add(.control(.reconnecting(connection: .media(mask: 1), attempt: i + 1, delayMs: 100, cause: "lost")), now: Int64(i))
        }
        #expect(s.timeline.count == 5)
        #expect(s.state == "reconnecting")
        s.add(.control(.reconnected(connection: .media(mask: 1), gapMs: 150)), now: 30)
        #expect(s.state == "live" && s.reconnects == 1)
        #expect(s.timeline.last?.kind == "reconnected" && s.timeline.last?.text == "media(audio) back after 150 ms")
    }

    @Test func gapsFromSequenceNumbersAndTimestamps() {
        let s = LiveStream(streamID: "s", instanceID: "m")
        for q in [1, 2, 3, 9, 10] as [Int64] { s.add(audio(1, "A", [1, 2], seq: q), now: 0) }
        #expect(s.gaps == 1)
        #expect(s.timeline.last?.text == "audio: 5 messages missing")
        // Mixed audio without sequence numbers: a hole in the timestamps.
        let m = LiveStream(streamID: "m", instanceID: "m")
        for ts in [0, 20, 40, 1500, 1520] as [Int64] { m.add(audio(0, "", [1, 2], ts: ts), now: 0) }
        #expect(m.gaps == 1 && m.timeline.last?.text == "audio: none for 1460 ms")
        // Per-speaker audio stops when its speaker does: no gap.
        let p = LiveStream(streamID: "p", instanceID: "m")
        for ts in [0, 20, 5000] as [Int64] { p.add(audio(3, "C", [1, 2], ts: ts), now: 0) }
        #expect(p.gaps == 0)
    }

    @Test func participantsSpeakerFramesAndEnd() throws {
        let s = LiveStream(streamID: "s", instanceID: "m")
        s.add(.control(.joinConfirm(reason: 0, text: "")), now: 1)
        s.add(.control(.userUpdate(op: UserOp.join, userID: 5, userName: "Eve")), now: 2)
        s.add(.control(.userUpdate(op: UserOp.join, userID: 6, userName: "Fay")), now: 2)
        s.add(.control(.activeSpeaker(userID: 6, userName: "Fay", timestamp: 0)), now: 3)
        s.add(.control(.userUpdate(op: UserOp.leave, userID: 5, userName: "")), now: 4)
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]
        s.add(.media(MediaData(kind: .video, userID: 6, userName: "Fay", data: jpeg, timestamp: 0)), now: 5)
        let h264: [UInt8] = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x65, 9]
        s.add(.media(MediaData(kind: .deskshare, userID: 6, userName: "Fay", data: h264, timestamp: 0)), now: 5)
        let core = try JSON.parse(s.coreJSON(now: 6))
        let people = core["participants"]?.arrayValue ?? []
        #expect(people.map { $0["name"]?.stringValue ?? "" } == ["Eve", "Fay"])
        #expect(people[0]["present"]?.boolValue == false && people[1]["speaking"]?.boolValue == true)
        #expect(core["speaker"]?["name"]?.stringValue == "Fay")
        let v = try JSON.parse(try #require(s.frameJSON(.video)))
        #expect(v["data_url"]?.stringValue == "data:image/jpeg;base64," + Base64Codec.encode(jpeg))
        let d = try JSON.parse(try #require(s.frameJSON(.deskshare)))
        #expect(d["codec"]?.stringValue == "h264" && d["keyframe"]?.boolValue == true && d["data_url"] == nil)
        #expect(LiveStream.isH264Keyframe([0, 0, 1, 0x41, 7, 7]) == false)
        // A picture too large for a browser's buffer goes as its size only.
        let big = jpeg + [UInt8](repeating: 7, count: LiveStream.maxPictureBytes)
        s.add(.media(MediaData(kind: .video, userID: 6, userName: "Fay", data: big, timestamp: 0)), now: 6)
        let b = try JSON.parse(try #require(s.frameJSON(.video)))
        #expect(b["data_url"] == nil && b["too_large"]?.boolValue == true && b["bytes"]?.intValue == Int64(big.count))
        s.add(.control(.leave(reason: 6, text: "")), now: 7)
        #expect(s.ended && s.state == "ended")
        #expect(s.timeline.map(\.kind) == ["joined", "ended"])
    }
}

@Suite struct LiveHubTests {
    func hub(_ configure: (inout LiveSettings) -> Void = { _ in }) -> LiveHub {
        var s = LiveSettings()
        configure(&s)
        return LiveHub(settings: s)
    }

    @Test func nothingIsPublishedWithoutBrowsers() {
        let h = hub()
        let s = h.addStream(streamID: "s", instanceID: "m", now: 0)
        for t in 0..<2000 as Range<Int64> {
            s.add(audio(1, "A", [100, -100]), now: t)
            h.tick(now: t)
        }
        #expect(h.stats.publishes == 0 && h.stats.pushes == 0)
    }

    @Test func updatesAreCoalesced() throws {
        let h = hub { $0.pushIntervalMs = 250 }
        let s = h.addStream(streamID: "s", instanceID: "m", now: 0)
        let browser = FakeSink()
        #expect(h.connect(browser))
        // 50 audio messages a second for 2 s plus a transcript line every 100 ms, the hub ticked
        // after each message (as the record loop does): at most one update per 250 ms.
        var t: Int64 = 0
        for i in 0..<100 {
            s.add(audio(1, "Alice", [1000, -1000]), now: t)
            if i % 5 == 0 { s.add(text(.transcript, 1, "Alice", "hello \(i)"), now: t) }
            h.tick(now: t)
            t += 20
        }
        let updates = browser.data("stream")
        #expect(updates.count >= 7 && updates.count <= 9, "\(updates.count) updates in 2 s")
        #expect(h.stats.publishes == updates.count)
        #expect(browser.data("streams").count == 1)
        // What changed after the last publish goes with the next one, and the transcript is sent
        // whole (bounded): the newest update carries every line.
        h.tick(now: t + 1000)
        let all = browser.data("stream")
        #expect(all.count == updates.count + 1)
        let lines = all.last?["transcript"]?.arrayValue ?? []
        #expect(lines.count == 20 && lines.last?["text"]?.stringValue == "hello 95")
        // Nothing changed: no stream update at the next publish, only the status (keep-alive).
        let before = browser.events.count
        h.tick(now: t + 3000)
        #expect(browser.data("stream").count == all.count)
        #expect(browser.events.count > before)
        #expect(browser.data("status").last?["dropped"]?.intValue == 0)
    }

    @Test func sectionsAreSentOnlyWhenTheyChanged() {
        let h = hub { $0.pushIntervalMs = 100 }
        let s = h.addStream(streamID: "s", instanceID: "m", now: 0)
        s.add(text(.transcript, 1, "A", "one"), now: 0)
        let b = FakeSink()
        h.connect(b)
        h.tick(now: 0)
        let first = b.data("stream")
        #expect(first.count == 1 && first[0]["transcript"] != nil && first[0]["core"] != nil && first[0]["timeline"] != nil)
        s.add(audio(1, "A", [5, 5]), now: 150)
        h.tick(now: 150)
        let second = b.data("stream")
        #expect(second.count == 2 && second[1]["core"] != nil && second[1]["transcript"] == nil && second[1]["timeline"] == nil)
    }

    @Test func aDroppedUpdateIsCountedAndSentAgain() {
        let h = hub { $0.pushIntervalMs = 100 }
        let s = h.addStream(streamID: "s", instanceID: "m", now: 0)
        let slow = FakeSink()
        let fast = FakeSink()
        h.connect(slow)
        h.connect(fast)
        h.tick(now: 0)
        slow.accepting = false
        s.add(text(.transcript, 1, "A", "while full"), now: 50)
        h.tick(now: 100)
        #expect(slow.dropped >= 1)
        #expect(h.stats.dropped == slow.dropped)
        #expect(fast.data("stream").last?["transcript"]?.arrayValue?.count == 1)
        // Its buffer drains: the transcript it missed comes with the next update, with nothing new.
        slow.accepting = true
        h.tick(now: 200)
        #expect(slow.data("stream").last?["transcript"]?.arrayValue?.last?["text"]?.stringValue == "while full")
    }

    @Test func aViewerThatStopsReadingLosesItsSlot() {
        let h = hub { $0.statusIntervalMs = 100 }
        let stuck = FakeSink(), reading = FakeSink()
        #expect(h.connect(stuck) && h.connect(reading))
        h.tick(now: 100)
        stuck.accepting = false
        h.tick(now: 500)
        #expect(!stuck.isClosed, "a short stall is survived")
        h.tick(now: 1200)
        #expect(stuck.isClosed && !reading.isClosed, "ten status intervals without one getting through close it")
    }

    @Test func viewersAreCappedAndClosedOnesForgotten() {
        let h = hub { $0.maxClients = 2 }
        let a = FakeSink(), b = FakeSink(), c = FakeSink()
        #expect(h.connect(a) && h.connect(b))
        #expect(!h.connect(c))
        h.tick(now: 0)
        #expect(h.stats.viewers == 2 && h.stats.refused == 1)
        a.close()
        h.tick(now: 1000)
        #expect(h.stats.viewers == 1)
        #expect(h.connect(c))
    }

    @Test func endedStreamsLingerThenGo() {
        let h = hub {
            $0.endedLingerMs = 1000
            $0.pushIntervalMs = 1
        }
        let b = FakeSink()
        h.connect(b)
        _ = h.addStream(streamID: "a", instanceID: "m", now: 0)
        _ = h.addStream(streamID: "b", instanceID: "m", now: 0)
        h.markEnded(streamID: "a", note: "done", now: 10)
        h.tick(now: 500)
        #expect(h.streams.count == 2)
        h.tick(now: 2000)
        #expect(h.streams.map(\.streamID) == ["b"])
        #expect(b.data("streams").last?["streams"]?.arrayValue?.count == 1)
    }

    @Test func routesAndToken() {
        let h = hub {
            $0.path = "/view/"
            $0.token = "s3cret"
        }
        #expect(h.url(host: "0.0.0.0", port: 8080, tls: false) == "http://localhost:8080/view?token=s3cret")
        #expect(h.page(method: "GET", uri: "/view?token=s3cret")?.reply.status == 200)
        #expect(h.page(method: "GET", uri: "/view/?token=s3cre%74")?.reply.status == 200)
        #expect(h.page(method: "GET", uri: "/view")?.reply.status == 403)
        #expect(h.page(method: "GET", uri: "/view?token=other")?.reply.status == 403)
        #expect(h.page(method: "GET", uri: "/viewer") == nil)
        #expect(h.page(method: "POST", uri: "/view?token=s3cret") == nil)
        #expect(h.events(method: "GET", uri: "/view/events?token=s3cret") != nil)
        #expect(h.events(method: "GET", uri: "/view/events") == nil)
        #expect(h.page(method: "GET", uri: "/view/events")?.reply.status == 403)
        #expect(LivePage.html.contains("EventSource") && !LivePage.html.contains("http://") && !LivePage.html.contains("https://"))
    }
}

// MARK: - The streamed response over a socket

/// A plain TCP client (blocking, with a receive timeout).
final class RawClient {
    let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        // A small receive buffer: the server's writes back up quickly.
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { throw WebhookServerError("connect failed") }
    }

    func send(_ s: String) {
        var b = Array(s.utf8)
        _ = b.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads until `marker` has arrived (or the peer closes / the timeout passes).
    func read(until marker: String, max: Int = 1 << 20) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < max {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
            if String(decoding: out, as: UTF8.self).contains(marker) { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func close() {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }
}

final class WriterBox: @unchecked Sendable {
    private let lock = NIOLock()
    private var w: WebhookStreamWriter?
    var writer: WebhookStreamWriter? {
        get { lock.withLock { w } }
        set { lock.withLock { w = newValue } }
    }
}

@Suite struct LiveStreamResponseTests {
    func server(_ hooks: WebhookServerHooks) throws -> WebhookServer {
        var ws = WebhookSettings()
        ws.host = "127.0.0.1"
        ws.port = 0
        ws.path = "/hook"
        ws.idleTimeoutMs = 300
        ws.headerTimeoutMs = 300
        ws.bodyTimeoutMs = 300
        return try WebhookServer(endpoint: WebhookEndpoint(settings: ws), hooks: hooks)
    }

    @Test func aReaderThatStopsReadingCostsBoundedMemoryAndDropsAreCounted() throws {
        let box = WriterBox()
        var hooks = WebhookServerHooks()
        let limit = 64 * 1024
        hooks.streamRequest = { method, uri in
            guard uri == "/stream" else { return nil }
            return WebhookStreamAnswer(contentType: "text/event-stream", bufferLimitBytes: limit) { box.writer = $0 }
        }
        let srv = try server(hooks)
        defer { srv.stop() }
        let c = try RawClient(port: srv.port)
        c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = c.read(until: "\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200"))
        #expect(head.lowercased().contains("content-type: text/event-stream"))
        #expect(head.lowercased().contains("transfer-encoding: chunked"))
        var writer: WebhookStreamWriter?
        for _ in 0..<200 where writer == nil {
            writer = box.writer
            usleep(5000)
        }
        let w = try #require(writer)
        // The client reads nothing more: 2,000 pushes of 16 KiB (31 MiB) must neither block nor
        // be held: what does not fit in 64 KiB is dropped and counted.
        let chunk = [UInt8](repeating: 0x61, count: 16 * 1024)
        var accepted = 0
        var maxPending = 0
        for _ in 0..<2000 {
            if w.send(chunk) { accepted += 1 }
            maxPending = max(maxPending, w.pendingBytes)
        }
        #expect(maxPending <= limit)
        #expect(w.sent == accepted && w.dropped == 2000 - accepted)
        #expect(w.dropped > 1000)
        // Past the deadlines of an ordinary request (300 ms here), the stream stays open.
        usleep(700_000)
        #expect(!w.isClosed)
        c.close()
        // The server learns that the reader went away when it next writes (during a response the
        // HTTP pipeline does not read); LiveHub's periodic status event is that write, and small
        // pushes every 50 ms stand for it here (a push the buffer has no room for writes nothing).
        // The close was once not seen at all under the full suite: a fleet node spawned meanwhile
        // had inherited this socket and held it open (SpawnTests).
        let closedAt = ContinuousClock.now
        for _ in 0..<200 where !w.isClosed {
            _ = w.send(Array(": status\n\n".utf8))
            usleep(50_000)
        }
        #expect(w.isClosed, "after \(ContinuousClock.now - closedAt): pending \(w.pendingBytes) B, sent \(w.sent), dropped \(w.dropped)")
        let dropped = w.dropped
        #expect(w.send(chunk) == false && w.dropped == dropped)  // closed: refused, not a drop
    }

    @Test func liveHubOnTheServerWebhooksUnchanged() throws {
        let h = LiveHub()
        var hooks = WebhookServerHooks()
        h.install(into: &hooks)
        let srv = try server(hooks)
        defer { srv.stop() }
        let page = try RawClient(port: srv.port)
        page.send("GET /live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let html = page.read(until: "</html>")
        page.close()
        #expect(html.hasPrefix("HTTP/1.1 200") && html.contains("text/html") && html.contains("EventSource"))
        // The events: the stream opens at once, then the streams list at the hub's next publish.
        _ = h.addStream(streamID: "abc", instanceID: "m1")
        let ev = try RawClient(port: srv.port)
        ev.send("GET /live/events HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(ev.read(until: "openrtms live").contains("retry: 2000"))
        for _ in 0..<100 where h.stats.viewers == 0 {
            h.tick()
            usleep(10_000)
        }
        usleep(300_000)
        h.tick()
        let events = ev.read(until: "event: stream\n")
        #expect(events.contains("event: streams") && events.contains("\"abc\""))
        ev.close()
        // A webhook POST is answered as before (a validation challenge without a secret: 200 or 4xx,
        // the same as without the live view), and other GETs are 404.
        let other = try RawClient(port: srv.port)
        other.send("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(other.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        other.close()
        let body = #"{"event":"meeting.rtms_started","payload":{"meeting_uuid":"m","rtms_stream_id":"s","server_urls":"ws://127.0.0.1:1"}}"#
        let post = try RawClient(port: srv.port)
        post.send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(post.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200"))
        post.close()
        guard case .started = srv.inbox.waitStarted(streamID: "s", milliseconds: 2000) else {
            Issue.record("the rtms_started delivery did not reach the inbox")
            return
        }
    }
}
