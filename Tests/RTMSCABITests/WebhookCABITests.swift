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
    func reset() { lock.withLock { events = []; stopInside = false; stopResult = -99 } }
}

let whrec = WebhookRecorder.shared

let webhookCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Void = { wh, ev, body, size, routed, ud in
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
        #expect(rtms_webhook_options_init(&o, 2) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_webhook_options_init(nil, 1) == Int32(RTMS_SDK_INVALID_ARGS))
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
        #expect(rtms_webhook_stop(nil) == Int32(RTMS_SDK_NOT_EXIST))
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
        #expect(rtms_webhook_stop(wh) == Int32(RTMS_SDK_NOT_EXIST))
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
            let r = try WebhookPoster.post(url: url, body: body,
                                           headers: [("x-zm-request-timestamp", ts), ("x-zm-signature", Signatures.webhook(secretToken: "s", timestamp: ts, body: body))],
                                           on: Runtime.group.next()).wait()
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
        // The first callback stopped the intake: no further callbacks, the handle is gone.
        #expect(delivered == 1)
        #expect(whrec.lock.withLock { whrec.events.count } == 1)
        #expect(whrec.lock.withLock { whrec.stopResult } == Int32(RTMS_SDK_OK))
        #expect(rtms_webhook_poll(wh, 0, 0) == -Int32(RTMS_SDK_NOT_EXIST))
    }
}
