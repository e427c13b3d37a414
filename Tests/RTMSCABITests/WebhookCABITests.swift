// rtms_webhook_* as a C program uses them: the simulator posts signed webhooks to the intake,
// the application waits for rtms_started, joins with it, and the intake routes the stream's
// later webhooks to the handle. Callbacks on the polling thread; stop inside a callback.

import CRTMS
import NIOConcurrencyHelpers
import NIOCore
import RTMSClient
import Testing
@testable import RTMSCABI
@testable import RTMSProtocol
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

final class WebhookRecorder: @unchecked Sendable {
    static let shared = WebhookRecorder()
    let lock = NIOLock()
    var events: [(event: String, routed: Int32, size: Int32)] = []
    var stopInside = false
    var stopResult: Int32 = -99
    func reset() {
        lock.withLock {
            events = []; stopInside = false; stopResult = -99
        }
    }
}

let whrec = WebhookRecorder.shared

let webhookCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Void = {
    wh, ev, body, size, routed, ud in
    let name = ev.map { String(cString: $0) } ?? ""
    let stop: Bool = whrec.lock.withLock {
        whrec.events.append((name, routed, size))
        return whrec.stopInside
    }
    precondition(ud == UnsafeMutableRawPointer(bitPattern: 0x5eed))
    precondition(body != nil && size > 0)
    if stop {
        let r = rtms_webhook_stop(wh)
        whrec.lock.withLock { whrec.stopResult = r }
    }
}

func startIntake(secret: String) throws -> OpaquePointer {
    var o = rtms_webhook_options()
    #expect(rtms_webhook_options_init(&o, UInt32(RTMS_WEBHOOK_OPTIONS_VERSION)) == Int32(RTMS_SDK_OK))
    return try "127.0.0.1".withCString { host in
        try "/hook".withCString { path in
            try secret.withCString { s in
                o.host = host
                o.port = 0
                o.path = path
                o.secret_token = s
                return try #require(rtms_webhook_start(&o), "rtms_webhook_start: \(lastError())")
            }
        }
    }
}

/// Part of CABITests: they share the callback recorder, so they must not run in parallel with it.
extension CABITests {
    @Test func webhookBadOptionsAreErrorsWithText() {
        var o = rtms_webhook_options()
        #expect(rtms_webhook_options_init(&o, 3) == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_webhook_options_init(nil, 1) == -Int32(RTMS_SDK_INVALID_ARGS))
        _ = rtms_webhook_options_init(&o, 1)
        o.port = 70000
        #expect(rtms_webhook_start(&o) == nil)
        #expect(lastError().contains("70000"))
        o.port = 0
        "relative".withCString { p in
            o.path = p
            #expect(rtms_webhook_start(&o) == nil)
            #expect(lastError().contains("must start with /"))
        }
        o.path = nil
        "only-a-cert.pem".withCString { c in
            o.cert_path = c
            #expect(rtms_webhook_start(&o) == nil)
            #expect(lastError().contains("both"))
        }
        #expect(rtms_webhook_stop(nil) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_webhook_poll(nil, 0, 0) == -Int32(RTMS_SDK_NOT_EXIST))
        var body: UnsafeMutablePointer<CChar>? = nil
        #expect(rtms_webhook_wait_started(nil, nil, 0, &body) == -Int32(RTMS_SDK_NOT_EXIST))
    }

    @Test func webhookWaitJoinAndRouteThroughTheCABI() throws {
        rec.reset()
        whrec.reset()
        let wh = try startIntake(secret: "cabi-whsec")
        let port = rtms_webhook_port(wh)
        #expect(port > 0)
        #expect(rtms_webhook_set_callback(wh, webhookCallback, UnsafeMutableRawPointer(bitPattern: 0x5eed)) == Int32(RTMS_SDK_OK))
        var c = SimulatorConfig()
        c.clientID = "cabi-client"
        c.clientSecret = "cabi-secret"
        c.defaults.durationMs = 60_000
        c.webhookURL = "http://127.0.0.1:\(port)/hook"
        c.webhookSecret = "cabi-whsec"
        var l = c.logger
        l.logLevel = .error
        c.logger = l
        let sim = Simulator(config: c)
        try sim.start()
        defer { sim.stop() }
        sim.createMeeting()

        // Nothing for another stream; then the started body of ours.
        var body: UnsafeMutablePointer<CChar>? = nil
        #expect(rtms_webhook_wait_started(wh, "no-such-stream", 200, &body) == -Int32(RTMS_SDK_TIMEOUT))
        #expect(body == nil && lastError().contains("no-such-stream"))
        let n = rtms_webhook_wait_started(wh, nil, 5000, &body)
        #expect(n > 0 && body != nil)
        let text = String(cString: try #require(body))
        #expect(Int(n) == text.utf8.count && text.contains("rtms_started"))

        let sdk = try #require(rtms_alloc())
        configure(sdk, types: SDK_AUDIO)
        #expect(rtms_join_payload(sdk, body, 0) == Int32(RTMS_SDK_OK))
        rtms_free(body)
        let stream = String(cString: sdk.pointee.rtms_stream_id)
        // A second handle may not open a second connection to the same stream.
        let other = try #require(rtms_alloc())
        configure(other, types: SDK_AUDIO)
        #expect(rtms_join_payload(other, text, 0) == Int32(RTMS_SDK_INVALID_STATUS))
        #expect(lastError().contains("one connection per stream"))
        #expect(rtms_release(other) == Int32(RTMS_SDK_OK))

        func pump(until: () -> Bool) {
            let deadline = nowMs() + 15_000
            while !until() && nowMs() < deadline {
                _ = rtms_poll_ex(sdk, 0, 20)
                _ = rtms_webhook_poll(wh, 0, 0)
            }
        }
        pump { rec.lock.withLock { rec.audio >= 10 } }
        #expect(rec.lock.withLock { rec.joinConfirms } == [0])
        // The stream's end arrives by webhook too and is routed to the handle.
        sim.stopStream(stream, reason: StopReason.hostTriggered)
        pump { rec.lock.withLock { !rec.leaves.isEmpty } && whrec.lock.withLock { whrec.events.count >= 2 } }
        #expect(rec.lock.withLock { rec.leaves } == [Int32(StopReason.hostTriggered)])
        let seen = whrec.lock.withLock { whrec.events }
        #expect(seen.map(\.event) == ["meeting.rtms_started", "meeting.rtms_stopped"])
        #expect(seen.first?.routed == 0)

        var st = rtms_webhook_stats()
        st.version = UInt32(RTMS_WEBHOOK_STATS_VERSION)
        #expect(rtms_webhook_get_stats(wh, &st) == Int32(RTMS_SDK_OK))
        #expect(st.accepted == 2 && st.validations == 1 && st.unauthorized == 0 && st.dropped_queue_full == 0)
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
        #expect(rtms_webhook_stop(wh) == Int32(RTMS_SDK_OK))
        #expect(rtms_webhook_stop(wh) == -Int32(RTMS_SDK_NOT_EXIST))
    }

    @Test func webhookStopInsideTheCallbackIsSafe() throws {
        whrec.reset()
        whrec.lock.withLock { whrec.stopInside = true }
        let wh = try startIntake(secret: "s")
        #expect(rtms_webhook_set_callback(wh, webhookCallback, UnsafeMutableRawPointer(bitPattern: 0x5eed)) == Int32(RTMS_SDK_OK))
        let url = "http://127.0.0.1:\(rtms_webhook_port(wh))/hook"
        for i in 0..<3 {
            let body = Array(#"{"event":"session.something","n":\#(i)}"#.utf8)
            let ts = String(nowMs() / 1000)
            let r = try WebhookPoster.post(
                url: url, body: body,
                headers: [("x-zm-request-timestamp", ts), ("x-zm-signature", Signatures.webhook(secretToken: "s", timestamp: ts, body: body))],
                on: Runtime.group.next()
            ).wait()
            #expect(r.status == 200)
        }
        let fd = rtms_webhook_get_wake_fd(wh)
        #expect(fd >= 0)
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 5000) == 1, "the wake fd turns readable")
        var delivered: Int32 = 0
        let deadline = nowMs() + 5000
        while whrec.lock.withLock({ whrec.events.isEmpty }) && nowMs() < deadline {
            delivered = rtms_webhook_poll(wh, 0, 100)
        }
        // The first callback stopped the intake: no further callbacks, the handle is gone, and
        // the poll says so (as rtms_poll_ex does for a handle released meanwhile).
        #expect(delivered == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(whrec.lock.withLock { whrec.events.count } == 1)
        #expect(whrec.lock.withLock { whrec.stopResult } == Int32(RTMS_SDK_OK))
        #expect(rtms_webhook_poll(wh, 0, 0) == -Int32(RTMS_SDK_NOT_EXIST))
    }
}

// MARK: - One return convention for rtms_webhook_*, and rtms_webhook_create/_handle

/// Signed "Name: value" header lines for rtms_webhook_handle().
func signedHeaderLines(_ body: String, secret: String, separator: String = "\r\n") -> String {
    let ts = String(nowMs() / 1000)
    let sig = Signatures.webhook(secretToken: secret, timestamp: ts, body: Array(body.utf8))
    return ["Content-Type: application/json", "X-Zm-Request-Timestamp: \(ts)", "x-zm-signature:\(sig)"].joined(separator: separator) + separator
}

/// rtms_webhook_handle() with Swift strings: (status or negative code, reply body).
func whHandle(_ wh: OpaquePointer?, _ uri: String, method: String = "POST", headers: String?, body: String, bodyLen: Int32? = nil) -> (Int32, String?) {
    var reply: UnsafeMutablePointer<CChar>? = nil
    let r = method.withCString { m in
        uri.withCString { u in
            body.withCString { b in
                if let headers {
                    headers.withCString { h in rtms_webhook_handle(wh, m, u, h, b, bodyLen ?? Int32(body.utf8.count), &reply) }
                } else {
                    rtms_webhook_handle(wh, m, u, nil, b, bodyLen ?? Int32(body.utf8.count), &reply)
                }
            }
        }
    }
    defer { rtms_free(reply) }
    return (r, reply.map { String(cString: $0) })
}

func createIntake(secret: String, path: String = "/hook") throws -> OpaquePointer {
    var o = rtms_webhook_options()
    #expect(rtms_webhook_options_init(&o, UInt32(RTMS_WEBHOOK_OPTIONS_VERSION)) == Int32(RTMS_SDK_OK))
    return try path.withCString { p in
        try secret.withCString { s in
            o.path = p
            o.secret_token = s
            return try #require(rtms_webhook_create(&o), "rtms_webhook_create: \(lastError())")
        }
    }
}

final class NestedPollRecorder: @unchecked Sendable {
    static let shared = NestedPollRecorder()
    let lock = NIOLock()
    var nested: [Int32] = []
    var routed: [Int32] = []
}

let nestedPollCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Void = {
    wh, _, _, _, routed, _ in
    let r = rtms_webhook_poll(wh, 0, 0)
    NestedPollRecorder.shared.lock.withLock {
        NestedPollRecorder.shared.nested.append(r)
        NestedPollRecorder.shared.routed.append(routed)
    }
}

extension CABITests {
    @Test func webhookFamilyErrorsAreNegativeNeverSuccessLooking() throws {
        // The helper of the family: positive codes negated, RTMS_SDK_FAILURE (already negative) kept.
        #expect(whFail(Code.failure, "x") == Int32(RTMS_SDK_FAILURE))
        #expect(whFail(Code.notExist, "x") == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(whFail(Code.invalidArgs, "x") == -Int32(RTMS_SDK_INVALID_ARGS))

        // options_init: NULL, unknown versions.
        var o = rtms_webhook_options()
        #expect(rtms_webhook_options_init(nil, 2) == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_webhook_options_init(&o, 0) == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_webhook_options_init(&o, 3) == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("version 3"))
        // start / create: an unknown version or bad version 2 fields are refused with text.
        #expect(rtms_webhook_options_init(&o, 2) == Int32(RTMS_SDK_OK))
        o.version = 9
        #expect(rtms_webhook_start(&o) == nil && lastError().contains("version 9"))
        #expect(rtms_webhook_create(&o) == nil && lastError().contains("version 9"))
        o.version = 2
        o.max_connections = 0
        #expect(rtms_webhook_start(&o) == nil && lastError().contains("max_connections"))
        o.max_connections = -1
        o.header_timeout_ms = -5
        #expect(rtms_webhook_create(&o) == nil && lastError().contains("header_timeout_ms"))

        // NULL intake: every function, -RTMS_SDK_NOT_EXIST.
        let notExist = -Int32(RTMS_SDK_NOT_EXIST)
        var body: UnsafeMutablePointer<CChar>? = nil
        var st = rtms_webhook_stats()
        st.version = UInt32(RTMS_WEBHOOK_STATS_VERSION)
        func everyFunction(_ wh: OpaquePointer?) -> [String: Int32] {
            [
                "port": rtms_webhook_port(wh),
                "set_callback": rtms_webhook_set_callback(wh, nil, nil),
                "poll": rtms_webhook_poll(wh, 0, 0),
                "get_wake_fd": rtms_webhook_get_wake_fd(wh),
                "wait_started": rtms_webhook_wait_started(wh, nil, 0, &body),
                "get_stats": rtms_webhook_get_stats(wh, &st),
                "handle": whHandle(wh, "/hook", headers: nil, body: "{}").0,
                "stop": rtms_webhook_stop(wh),
            ]
        }
        for (name, r) in everyFunction(nil) {
            #expect(r == notExist, "rtms_webhook_\(name)(NULL) returned \(r)")
        }
        #expect(body == nil)
        // A stopped intake (with or without a listener): the same.
        for make in [{ try startIntake(secret: "s") }, { try createIntake(secret: "s") }] {
            let wh = try make()
            #expect(rtms_webhook_stop(wh) == Int32(RTMS_SDK_OK))
            for (name, r) in everyFunction(wh) {
                #expect(r == notExist, "rtms_webhook_\(name)(stopped) returned \(r)")
            }
        }

        // A live intake given NULL out pointers, bad versions or bad arguments.
        let wh = try startIntake(secret: "s")
        defer { rtms_webhook_stop(wh) }
        let invalid = -Int32(RTMS_SDK_INVALID_ARGS)
        #expect(rtms_webhook_get_stats(wh, nil) == invalid)
        st.version = 0
        #expect(rtms_webhook_get_stats(wh, &st) == invalid)
        st.version = 3
        #expect(rtms_webhook_get_stats(wh, &st) == invalid && lastError().contains("version 3"))
        #expect(rtms_webhook_wait_started(wh, nil, 0, nil) == invalid)
        var reply: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x1)
        #expect(rtms_webhook_handle(wh, nil, "/hook", nil, "{}", 2, &reply) == invalid && reply == nil)
        #expect(rtms_webhook_handle(wh, "POST", nil, nil, "{}", 2, &reply) == invalid)
        #expect(rtms_webhook_handle(wh, "POST", "/hook", nil, "{}", 2, nil) == invalid)
        #expect(rtms_webhook_handle(wh, "POST", "/hook", nil, nil, 5, &reply) == invalid)
        #expect(rtms_webhook_handle(wh, "POST", "/hook", nil, "{}", -2, &reply) == invalid)
        #expect(reply == nil)
        // A nested poll from inside the callback.
        NestedPollRecorder.shared.lock.withLock {
            NestedPollRecorder.shared.nested = []; NestedPollRecorder.shared.routed = []
        }
        #expect(rtms_webhook_set_callback(wh, nestedPollCallback, nil) == Int32(RTMS_SDK_OK))
        let event = #"{"event":"session.nested"}"#
        #expect(whHandle(wh, "/hook", headers: signedHeaderLines(event, secret: "s"), body: event).0 == 200)
        #expect(rtms_webhook_poll(wh, 0, 1000) == 1)
        #expect(NestedPollRecorder.shared.lock.withLock { NestedPollRecorder.shared.nested } == [-Int32(RTMS_SDK_INVALID_STATUS)])
        // No listener: no port.
        let created = try createIntake(secret: "s")
        #expect(rtms_webhook_port(created) == -Int32(RTMS_SDK_INVALID_STATUS))
        #expect(rtms_webhook_get_wake_fd(created) >= 0)
        #expect(rtms_webhook_stop(created) == Int32(RTMS_SDK_OK))
    }

    @Test func webhookPollBlockedOnAnotherThreadReturnsNotExistWhenStopped() throws {
        let wh = try startIntake(secret: "s")
        let address = UInt(bitPattern: wh)
        let result = NIOLockedValueBox<Int32>(99)
        let poller = Thread {
            let r = rtms_webhook_poll(OpaquePointer(bitPattern: address), 0, -1)
            result.withLockedValue { $0 = r }
        }
        usleep(200_000)
        #expect(rtms_webhook_stop(wh) == Int32(RTMS_SDK_OK))
        poller.join()
        #expect(result.withLockedValue { $0 } == -Int32(RTMS_SDK_NOT_EXIST))
    }

    @Test func webhookStructsOfVersion1AreNeverOverrun() throws {
        // A version 1 caller's struct ends where the version 2 fields begin: nothing is written there.
        let v1Options = try #require(MemoryLayout<rtms_webhook_options>.offset(of: \.header_timeout_ms))
        let o = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<rtms_webhook_options>.size, alignment: 8)
        defer { o.deallocate() }
        memset(o, 0xA5, MemoryLayout<rtms_webhook_options>.size)
        let opts = o.assumingMemoryBound(to: rtms_webhook_options.self)
        #expect(rtms_webhook_options_init(opts, 1) == Int32(RTMS_SDK_OK))
        #expect(opts.pointee.version == 1 && opts.pointee.port == -1 && opts.pointee.queue_max_events == -1)
        #expect((v1Options..<MemoryLayout<rtms_webhook_options>.size).allSatisfy { o.load(fromByteOffset: $0, as: UInt8.self) == 0xA5 })
        // And version 1 options start an intake (the version 2 fields are not read).
        opts.pointee.port = 0
        "127.0.0.1".withCString { host in
            opts.pointee.host = host
            let wh = rtms_webhook_start(opts)
            #expect(wh != nil, "\(lastError())")
            // Stats of version 1: only those fields are written.
            let v1Stats = MemoryLayout<rtms_webhook_stats>.offset(of: \.connections_accepted)!
            let s = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<rtms_webhook_stats>.size, alignment: 8)
            defer { s.deallocate() }
            memset(s, 0xA5, MemoryLayout<rtms_webhook_stats>.size)
            let stats = s.assumingMemoryBound(to: rtms_webhook_stats.self)
            stats.pointee.version = 1
            #expect(rtms_webhook_get_stats(wh, stats) == Int32(RTMS_SDK_OK))
            #expect(stats.pointee.requests == 0 && stats.pointee.dropped_queue_full == 0)
            #expect((v1Stats..<MemoryLayout<rtms_webhook_stats>.size).allSatisfy { s.load(fromByteOffset: $0, as: UInt8.self) == 0xA5 })
            // Version 2: the connection counters.
            let url = "http://127.0.0.1:\(rtms_webhook_port(wh))/"
            let r = try? WebhookPoster.post(url: url, body: Array("{}".utf8), headers: [], on: Runtime.group.next()).wait()
            #expect(r?.status == 400)
            stats.pointee.version = UInt32(RTMS_WEBHOOK_STATS_VERSION)
            #expect(rtms_webhook_get_stats(wh, stats) == Int32(RTMS_SDK_OK))
            #expect(stats.pointee.connections_accepted == 1 && stats.pointee.malformed == 1 && stats.pointee.evicted == 0)
            #expect(rtms_webhook_stop(wh) == Int32(RTMS_SDK_OK))
        }
    }

    @Test func webhookHandleDecidesAsTheServerDoes() throws {
        whrec.reset()
        let wh = try createIntake(secret: "hsec", path: "/zoom")
        defer { rtms_webhook_stop(wh) }
        #expect(rtms_webhook_set_callback(wh, webhookCallback, UnsafeMutableRawPointer(bitPattern: 0x5eed)) == Int32(RTMS_SDK_OK))
        let event = #"{"event":"session.custom","payload":{"n":1}}"#
        let headers = signedHeaderLines(event, secret: "hsec")
        // Signed, with a query string on the path: accepted.
        #expect(whHandle(wh, "/zoom?source=zoom", headers: headers, body: event) == (200, #"{"status":"ok"}"#))
        // Zoom's retry: 200, not delivered twice.
        #expect(whHandle(wh, "/zoom", headers: headers, body: event) == (200, #"{"status":"ok"}"#))
        #expect(rtms_webhook_poll(wh, 0, 1000) == 1)
        #expect(rtms_webhook_poll(wh, 0, 100) == 0)
        #expect(whrec.lock.withLock { whrec.events.map(\.event) } == ["session.custom"])
        // LF-only header lines and a NUL-terminated body (body_len -1).
        let second = #"{"event":"session.custom","payload":{"n":2}}"#
        #expect(whHandle(wh, "/zoom", headers: signedHeaderLines(second, secret: "hsec", separator: "\n"), body: second, bodyLen: -1).0 == 200)
        // The validation challenge.
        let challenge = #"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}"#
        let (vs, vr) = whHandle(wh, "/zoom", headers: signedHeaderLines(challenge, secret: "hsec"), body: challenge)
        #expect(vs == 200)
        let answer = try JSON.parse(Array(try #require(vr).utf8))
        #expect(answer["plainToken"]?.stringValue == "qgg8vlvZRS6UYooatFL8Aw")
        #expect(answer["encryptedToken"]?.stringValue == Signatures.urlValidation(secretToken: "hsec", plainToken: "qgg8vlvZRS6UYooatFL8Aw"))
        // Forged, unsigned, another path, another method, not JSON, too large.
        let (fs, fr) = whHandle(wh, "/zoom", headers: signedHeaderLines(event, secret: "forged"), body: event)
        #expect(fs == 401 && fr?.contains("x-zm-signature does not match") == true)
        #expect(whHandle(wh, "/zoom", headers: nil, body: event).0 == 401)
        #expect(whHandle(wh, "/elsewhere", headers: headers, body: event) == (404, #"{"error":"Not Found"}"#))
        #expect(whHandle(wh, "/zoom", method: "GET", headers: headers, body: event).0 == 404)
        #expect(whHandle(wh, "/zoom", headers: signedHeaderLines("nope", secret: "hsec"), body: "nope").0 == 400)
        let big = String(repeating: " ", count: (1 << 20) + 1)
        #expect(whHandle(wh, "/zoom", headers: nil, body: big).0 == 413)

        var st = rtms_webhook_stats()
        st.version = UInt32(RTMS_WEBHOOK_STATS_VERSION)
        #expect(rtms_webhook_get_stats(wh, &st) == Int32(RTMS_SDK_OK))
        #expect(
            st.requests == 10 && st.accepted == 2 && st.duplicates == 1 && st.validations == 1 && st.unauthorized == 2 && st.not_found == 2 && st.malformed == 1
                && st.too_large == 1 && st.connections_accepted == 0)
        #expect(rtms_webhook_poll(wh, 0, 1000) == 1)
        #expect(whrec.lock.withLock { whrec.events.count } == 2)
    }

    @Test func webhookHandleRoutesToALiveStreamAndQueuesTheRest() throws {
        rec.reset()
        NestedPollRecorder.shared.lock.withLock {
            NestedPollRecorder.shared.nested = []; NestedPollRecorder.shared.routed = []
        }
        let (sim, start, startedBody) = try startSim(durationMs: 60_000)
        defer { sim.stop() }
        let wh = try createIntake(secret: "route-sec", path: "/")
        defer { rtms_webhook_stop(wh) }
        #expect(rtms_webhook_set_callback(wh, nestedPollCallback, nil) == Int32(RTMS_SDK_OK))
        // The rtms_started arrives through the application's own server: waitable, not routed.
        #expect(whHandle(wh, "/", headers: signedHeaderLines(startedBody, secret: "route-sec"), body: startedBody).0 == 200)
        var body: UnsafeMutablePointer<CChar>? = nil
        let n = rtms_webhook_wait_started(wh, start.streamID, 1000, &body)
        #expect(n == Int32(startedBody.utf8.count))
        let sdk = try #require(rtms_alloc())
        configure(sdk, types: SDK_AUDIO)
        #expect(rtms_join_payload(sdk, body, 0) == Int32(RTMS_SDK_OK))
        rtms_free(body)
        var deadline = nowMs() + 15_000
        while rec.lock.withLock({ rec.audio < 5 }) && nowMs() < deadline { _ = rtms_poll_ex(sdk, 0, 20) }
        #expect(rec.lock.withLock { rec.joinConfirms } == [0])
        // rtms_stopped for the live stream: routed to its handle (on_leave), and queued with routed = 1.
        let stopped =
            #"{"event":"meeting.rtms_stopped","event_ts":\#(nowMs()),"payload":{"meeting_uuid":"\#(start.instanceID)","rtms_stream_id":"\#(start.streamID)","stop_reason":\#(StopReason.hostTriggered)}}"#
        #expect(whHandle(wh, "/", headers: signedHeaderLines(stopped, secret: "route-sec"), body: stopped).0 == 200)
        deadline = nowMs() + 10_000
        while rec.lock.withLock({ rec.leaves.isEmpty }) && nowMs() < deadline { _ = rtms_poll_ex(sdk, 0, 20) }
        #expect(rec.lock.withLock { rec.leaves } == [Int32(StopReason.hostTriggered)])
        #expect(rtms_webhook_poll(wh, 0, 1000) == 2)
        #expect(NestedPollRecorder.shared.lock.withLock { NestedPollRecorder.shared.routed } == [0, 1])
        var st = rtms_webhook_stats()
        st.version = UInt32(RTMS_WEBHOOK_STATS_VERSION)
        #expect(rtms_webhook_get_stats(wh, &st) == Int32(RTMS_SDK_OK) && st.routed == 1 && st.accepted == 2)
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
    }
}
