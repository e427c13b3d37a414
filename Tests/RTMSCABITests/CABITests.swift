// The C ABI as a C program sees it (the functions of include/openrtms.h), driven from Swift:
// argument errors, thread-local error text, the wake fd, release inside a callback and while
// another thread polls, options, stats, join with a webhook payload.

import CRTMS
import Dispatch
import NIOConcurrencyHelpers
import Testing
@testable import RTMSCABI
@testable import RTMSProtocol
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

/// What the C callbacks saw (C function pointers cannot capture, so they write here).
final class Recorder: @unchecked Sendable {
    static let shared = Recorder()
    let lock = NIOLock()
    var joinConfirms: [Int32] = []
    var leaves: [Int32] = []
    var audio = 0
    var transcript = 0
    var chat = 0
    var userJoins = 0
    var errors: [String] = []
    var sessionOps: [Int32] = []
    var releaseInAudioCallback = false
    var releasedInCallback = 0
    var callbacksAfterRelease = 0
    var released: Set<UnsafeMutableRawPointer> = []
    var threads: Set<UInt> = []

    func reset() {
        lock.withLock {
            joinConfirms = []; leaves = []; audio = 0; transcript = 0; chat = 0; userJoins = 0; errors = []; sessionOps = []
            releaseInAudioCallback = false; releasedInCallback = 0; callbacksAfterRelease = 0; released = []; threads = []
        }
    }
    func note(_ sdk: UnsafeMutablePointer<rtms_csdk>?) {
        lock.withLock {
            threads.insert(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self())))))
            if let sdk, released.contains(UnsafeMutableRawPointer(sdk)) { callbacksAfterRelease += 1 }
        }
    }
}

let rec = Recorder.shared

func makeOps() -> rtms_csdk_ops {
    var ops = rtms_csdk_ops()
    ops.on_join_confirm = { sdk, reason in
        rec.note(sdk); rec.lock.withLock { rec.joinConfirms.append(reason) }
    }
    ops.on_leave = { sdk, reason in
        rec.note(sdk); rec.lock.withLock { rec.leaves.append(reason) }
    }
    ops.on_audio_data = { sdk, buf, size, ts, md in
        rec.note(sdk)
        let releaseNow: Bool = rec.lock.withLock {
            rec.audio += 1
            precondition(buf != nil && size > 0 && md != nil)
            return rec.releaseInAudioCallback && rec.audio == 3
        }
        if releaseNow, let sdk {
            rec.lock.withLock {
                rec.released.insert(UnsafeMutableRawPointer(sdk)); rec.releasedInCallback += 1
            }
            _ = rtms_release(sdk)
        }
    }
    ops.on_transcript_data = { sdk, buf, size, ts, md in
        rec.note(sdk)
        rec.lock.withLock {
            rec.transcript += 1
            if let md { precondition(md.pointee.start_ts > 0 && md.pointee.user_name != nil) }
        }
    }
    ops.on_user_update = { sdk, op, pi in
        rec.note(sdk)
        if op == USER_JOIN, let pi, pi.pointee.participant_name != nil { rec.lock.withLock { rec.userJoins += 1 } }
    }
    ops.on_session_update = { sdk, op, si in
        rec.note(sdk)
        rec.lock.withLock { rec.sessionOps.append(op) }
    }
    return ops
}

func makeExt() -> rtms_ext_ops {
    var ext = rtms_ext_ops()
    ext.version = UInt32(RTMS_EXT_OPS_VERSION)
    ext.on_chat_data = { sdk, _, _, _, _ in
        rec.note(sdk); rec.lock.withLock { rec.chat += 1 }
    }
    ext.on_error = { sdk, code, text in
        rec.note(sdk)
        let s = text.map { String(cString: $0) } ?? ""
        rec.lock.withLock { rec.errors.append("\(code): \(s)") }
    }
    return ext
}

func lastError() -> String { String(cString: rtms_last_error()) }

func startSim(durationMs: Int = 4000) throws -> (Simulator, StreamStart, String) {
    var c = SimulatorConfig()
    c.clientID = "cabi-client"
    c.clientSecret = "cabi-secret"
    c.defaults.durationMs = durationMs
    var l = c.logger
    l.logLevel = .error
    c.logger = l
    let sim = Simulator(config: c)
    try sim.start()
    let body = sim.createMeeting()
    return (sim, try StreamStart(payload: body["payload"]!.objectValue!), JSON.string(body))
}

/// The simulator's client id and secret in the handle's options (signatures computed from them).
func setTestCredentials(_ sdk: UnsafeMutablePointer<rtms_csdk>, pollWaitMs: Int32? = nil) {
    var o = rtms_options()
    #expect(rtms_options_init(&o, UInt32(RTMS_OPTIONS_VERSION)) == Int32(RTMS_SDK_OK))
    "cabi-client".withCString { id in
        "cabi-secret".withCString { secret in
            o.client_id = id
            o.client_secret = secret
            if let pollWaitMs { o.poll_wait_ms = pollWaitMs }
            #expect(rtms_set_options(sdk, &o) == Int32(RTMS_SDK_OK))
        }
    }
}

func configure(_ sdk: UnsafeMutablePointer<rtms_csdk>, types: Int32) {
    var ops = makeOps()
    #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
    var ext = makeExt()
    #expect(rtms_set_ext_callbacks(sdk, &ext) == Int32(RTMS_SDK_OK))
    #expect(rtms_config(sdk, nil, types, 0) == Int32(RTMS_SDK_OK))
    setTestCredentials(sdk, pollWaitMs: 20)
}

@Suite(.serialized) struct CABITests {
    @Test func versionsAgree() {
        #expect(rtms_version_number() == OPENRTMS_VERSION_MAJOR * 10000 + OPENRTMS_VERSION_MINOR * 100 + OPENRTMS_VERSION_PATCH)
        #expect(String(cString: rtms_version()) == OPENRTMS_VERSION_STRING)
        #expect(rtms_options_size() == Int32(MemoryLayout<rtms_options>.size))
    }

    @Test func nullAndStaleHandlesAreErrorsWithText() {
        #expect(rtms_poll(nil) == Int32(RTMS_SDK_NOT_EXIST))
        #expect(lastError().contains("NULL"))
        #expect(rtms_poll_ex(nil, 0, 0) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_wait(nil, 0) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_get_wake_fd(nil) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_release(nil) == Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_join(nil, "m", "s", "x", "ws://127.0.0.1:1", 0) == Int32(RTMS_SDK_NOT_EXIST))
        // Functions that return a value return a negative code on error, never a valid value.
        #expect(rtms_get_state(nil) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_get_failure(nil, nil, 0) == -Int32(RTMS_SDK_NOT_EXIST))
        let fake = UnsafeMutablePointer<rtms_csdk>.allocate(capacity: 1)
        defer { fake.deallocate() }
        #expect(rtms_poll(fake) == Int32(RTMS_SDK_NOT_EXIST))
        #expect(lastError().contains("not a live handle"))
        #expect(String(cString: rtms_strerror(Int32(RTMS_SDK_INVALID_ARGS))) == "invalid arguments")
        #expect(String(cString: rtms_join_reason_string(3)) == "INVALID_SIGNATURE")
        #expect(String(cString: rtms_join_reason_string(610)) == "TLS_FAILED")
        #expect(String(cString: rtms_leave_reason_string(6)) == "MEETING_ENDED")
        #expect(String(cString: rtms_leave_reason_string(960)) == "CLOSED_BY_SERVER")
    }

    @Test func badArgumentsAreRejectedWithTextAndNeverTrap() throws {
        let sdk = try #require(rtms_alloc())
        defer { _ = rtms_release(sdk) }
        #expect(rtms_config(sdk, nil, 64, 0) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("media_types"))
        #expect(rtms_config(sdk, nil, 1, 1) == Int32(RTMS_SDK_INVALID_ARGS))
        var audio = audio_parameters(content_type: 2, codec: 4, sample_rate: 1, channel: 2, data_opt: 2, duration: 20, frame_size: 0)
        var mp = media_parameters(audio_param: &audio, video_param: nil, ds_param: nil, tr_param: nil)
        #expect(rtms_config(sdk, &mp, 1, 0) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("OPUS audio needs SR_48K"))
        audio.sample_rate = 3
        audio.frame_size = 100
        #expect(rtms_config(sdk, &mp, 1, 0) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("frame_size"))
        audio.frame_size = 960
        #expect(rtms_config(sdk, &mp, 1, 0) == Int32(RTMS_SDK_OK))
        #expect(rtms_join(sdk, nil, "s", "x", "ws://127.0.0.1:1", 0) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("no instance id"))
        #expect(rtms_join(sdk, "m", "s", "x", "gopher://x", 0) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_join(sdk, "m", "s", "x", nil, 0) == Int32(RTMS_SDK_INVALID_ARGS))
        var events: [Int32] = [2, -1]
        #expect(rtms_subscribe_event(sdk, &events, 2) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_subscribe_event(sdk, nil, 3) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_set_proxy(sdk, "socks5", "x") == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_set_proxy(sdk, "http", "127.0.0.1:3128") == Int32(RTMS_SDK_OK))
        #expect(rtms_set_proxy(sdk, "http", nil) == Int32(RTMS_SDK_OK))
        var o = rtms_options()
        #expect(rtms_options_init(&o, 99) == Int32(RTMS_SDK_INVALID_ARGS))
        o.version = 99
        #expect(rtms_set_options(sdk, &o) == Int32(RTMS_SDK_INVALID_ARGS))
        var st = rtms_stats()
        #expect(rtms_get_stats(sdk, &st) == Int32(RTMS_SDK_INVALID_ARGS), "version must be set")
        #expect(rtms_close_stream(sdk) == Int32(RTMS_SDK_INVALID_STATUS))
        var out = [CChar](repeating: 0, count: 65)
        #expect(rtms_generate_signature("cid123", "csec456", "4444AAAiAAAAAiAiAiiAii==", "609340fb2a7946909659956c8aa9250c", &out, 65) == Int32(RTMS_SDK_OK))
        #expect(String(cString: out) == "79f72363c77402ba68663a47ac4d4a02dc6daad1dd843796f950cc0a24595107")
        #expect(rtms_generate_signature("a", "b", "c", "d", &out, 10) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_join_payload(sdk, "{\"payload\":{}}", 0) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("no meeting_uuid"))
        #expect(rtms_join_payload(sdk, "nope", 0) == Int32(RTMS_SDK_INVALID_ARGS))
    }

    /// One rule for every join from a payload: a signature the payload carries wins; otherwise
    /// it is computed from the client id and secret.
    @Test func joinPayloadUsesTheSignatureItCarries() throws {
        let (sim, start, _) = try startSim(durationMs: 10_000)
        defer { sim.stop() }
        func join(signature: String, credentials: Bool) throws -> Int32? {
            rec.reset()
            let sdk = try #require(rtms_alloc())
            defer { _ = rtms_release(sdk) }
            var ops = makeOps()
            #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
            #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
            if credentials { setTestCredentials(sdk) }
            let payload = JSON.string(
                .object([
                    "meeting_uuid": .string(start.instanceID), "rtms_stream_id": .string(start.streamID),
                    "server_urls": .string(start.serverURLs), "signature": .string(signature),
                ]))
            let r = rtms_join_payload(sdk, payload, 5000)
            #expect(r == Int32(RTMS_SDK_OK), "\(lastError())")
            guard r == Int32(RTMS_SDK_OK) else { return nil }
            let deadline = nowMs() + 10_000
            while rec.lock.withLock({ rec.joinConfirms.isEmpty }) && nowMs() < deadline { _ = rtms_poll_ex(sdk, 0, 50) }
            _ = rtms_leave(sdk)
            return rec.lock.withLock { rec.joinConfirms.first }
        }
        let good = Signatures.handshake(clientID: "cabi-client", clientSecret: "cabi-secret", instanceID: start.instanceID, streamID: start.streamID)
        // No credentials anywhere: the payload's signature is what joins.
        #expect(try join(signature: good, credentials: false) == 0)
        // Credentials given too: the payload's (wrong) signature still wins, and the server refuses it.
        let refused = try join(signature: String(repeating: "0", count: 64), credentials: true)
        #expect(refused != nil && refused != 0)
    }

    /// Credentials that come with a payload (Zoom's join(client=, secret=)) compute the signature
    /// when none is given; the handle's options win over them; none at all is a code of its own.
    @Test func joinPayloadComputesTheSignatureFromItsCredentials() throws {
        let (sim, start, _) = try startSim(durationMs: 10_000)
        defer { sim.stop() }
        let envSet = getenv("ZM_RTMS_CLIENT") != nil || getenv("ZM_RTMS_SECRET") != nil
        func join(client: String?, secret: String?, options: Bool) throws -> (Int32, Int32?) {
            rec.reset()
            let sdk = try #require(rtms_alloc())
            defer { _ = rtms_release(sdk) }
            var ops = makeOps()
            #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
            if options { setTestCredentials(sdk) }
            var o: JSONObject = [
                "webinar_uuid": .string(start.instanceID), "rtms_stream_id": .string(start.streamID),
                "server_urls": .string(start.serverURLs), "signature": .string(""),
            ]
            if let client { o["client"] = .string(client) }
            if let secret { o["secret"] = .string(secret) }
            let r = rtms_join_payload(sdk, JSON.string(.object(["payload": .object(o)])), 5000)
            guard r == Int32(RTMS_SDK_OK) else { return (r, nil) }
            let deadline = nowMs() + 10_000
            while rec.lock.withLock({ rec.joinConfirms.isEmpty }) && nowMs() < deadline { _ = rtms_poll_ex(sdk, 0, 50) }
            _ = rtms_leave(sdk)
            return (r, rec.lock.withLock { rec.joinConfirms.first })
        }
        #expect(try join(client: "cabi-client", secret: "wrong", options: true) == (Int32(RTMS_SDK_OK), 0))
        guard !envSet else { return }  // the environment would come before the payload's credentials
        #expect(try join(client: "cabi-client", secret: "cabi-secret", options: false) == (Int32(RTMS_SDK_OK), 0))
        let (ok, refused) = try join(client: "cabi-client", secret: "wrong", options: false)
        #expect(ok == Int32(RTMS_SDK_OK) && refused != nil && refused != 0)
        #expect(try join(client: "cabi-client", secret: nil, options: false).0 == Int32(RTMS_SDK_NO_CREDENTIALS))
        #expect(lastError().contains("Client Secret cannot be blank") && lastError().contains("ZM_RTMS_SECRET"))
        #expect(try join(client: "", secret: "s", options: false).0 == Int32(RTMS_SDK_NO_CREDENTIALS))
        #expect(lastError().contains("Client ID cannot be blank") && lastError().contains("ZM_RTMS_CLIENT"))
        #expect(String(cString: rtms_strerror(Int32(RTMS_SDK_NO_CREDENTIALS))) != "unknown error")
    }

    /// rtms_resolve_join: what a payload join would use, without a handle.
    @Test func resolveJoinReadsThePayloadByTheJoinsRules() throws {
        func resolve(_ json: String?) -> (Int32, [String: String]?) {
            var out: UnsafeMutablePointer<CChar>? = nil
            let n = rtms_resolve_join(json, &out)
            defer { rtms_free(out) }
            guard n > 0, let out, let o = try? JSON.parse(String(cString: out)).objectValue else { return (n, nil) }
            #expect(Int(n) == strlen(out))
            return (n, Dictionary(uniqueKeysWithValues: o.keys.compactMap { k in o[k]?.stringValue.map { (k, $0) } }))
        }
        let (n, r) = resolve(#"{"payload":{"engagement_id":"e","meeting_uuid":"m","rtms_stream_id":"s","server_urls":"wss://h","signature":"sig"}}"#)
        #expect(n > 0 && r == ["instance_id": "m", "rtms_stream_id": "s", "server_urls": "wss://h", "signature": "sig"])
        if getenv("ZM_RTMS_CLIENT") == nil && getenv("ZM_RTMS_SECRET") == nil {
            let (_, c) = resolve(#"{"call_id":"c","rtms_stream_id":"s","server_urls":"ws://h","client":"id","secret":"sec"}"#)
            #expect(c?["signature"] == Signatures.handshake(clientID: "id", clientSecret: "sec", instanceID: "c", streamID: "s"))
            #expect(resolve(#"{"call_id":"c","rtms_stream_id":"s","server_urls":"ws://h"}"#).0 == -Int32(RTMS_SDK_NO_CREDENTIALS))
        }
        #expect(resolve(#"{"meeting_uuid":"m","rtms_stream_id":"s","server_urls":"not a url","signature":"x"}"#).0 == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(resolve("[1]").0 == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(resolve(nil).0 == -Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_resolve_join("{}", nil) == -Int32(RTMS_SDK_INVALID_ARGS))
    }

    @Test func joinPayloadRefusesIdsThatAreNotStrings() throws {
        let sdk = try #require(rtms_alloc())
        defer { _ = rtms_release(sdk) }
        for (key, value) in [("meeting_uuid", "12"), ("rtms_stream_id", "true"), ("server_urls", "[]"), ("client", "{}")] {
            var fields = ["\"meeting_uuid\":\"m\"", "\"rtms_stream_id\":\"s\"", "\"server_urls\":\"ws://127.0.0.1:9\""]
            fields.removeAll { $0.hasPrefix("\"\(key)\"") }
            fields.append("\"\(key)\":\(value)")
            #expect(rtms_join_payload(sdk, "{\(fields.joined(separator: ","))}", 0) == Int32(RTMS_SDK_INVALID_ARGS))
            #expect(lastError().contains("\(key) is not a string"), "\(lastError())")
        }
        #expect(rtms_get_state(sdk) == RTMS_STATE_IDLE)
    }

    /// Zoom's wrapper defaults come from the core, and rtms_check_params applies rtms_config's rules.
    @Test func parameterDefaultsAndChecks() {
        var a = audio_parameters(), v = video_parameters(), d = ds_parameters(), t = transcript_parameters()
        var mp = media_parameters()
        #expect(rtms_wrapper_defaults(nil) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(rtms_check_params(nil) == Int32(RTMS_SDK_INVALID_ARGS))
        withUnsafeMutablePointer(to: &a) { ap in
            withUnsafeMutablePointer(to: &v) { vp in
                withUnsafeMutablePointer(to: &d) { dp in
                    withUnsafeMutablePointer(to: &t) { tp in
                        mp = media_parameters(audio_param: ap, video_param: vp, ds_param: dp, tr_param: tp)
                        #expect(rtms_wrapper_defaults(&mp) == Int32(RTMS_SDK_OK))
                        #expect(rtms_check_params(&mp) == Int32(RTMS_SDK_OK), "\(lastError())")
                    }
                }
            }
        }
        #expect([a.content_type, a.codec, a.sample_rate, a.channel, a.data_opt, a.duration, a.frame_size] == [2, 4, 3, 2, 2, 20, 960])
        #expect([v.content_type, v.codec, v.resolution, v.data_opt, v.fps] == [3, 7, 2, 3, 30])
        #expect([d.content_type, d.codec, d.resolution, d.fps] == [3, 7, 2, 30])
        #expect(t.content_type == 5 && t.src_language == -1 && t.enable_lid)
        func check(
            _ change: (inout audio_parameters, inout video_parameters, inout ds_parameters, inout transcript_parameters) -> Void,
            with function: (UnsafeMutablePointer<media_parameters>) -> Int32 = { rtms_check_params($0) }
        ) -> (Int32, String) {
            var a2 = a, v2 = v, d2 = d, t2 = t
            change(&a2, &v2, &d2, &t2)
            return withUnsafeMutablePointer(to: &a2) { ap in
                withUnsafeMutablePointer(to: &v2) { vp in
                    withUnsafeMutablePointer(to: &d2) { dp in
                        withUnsafeMutablePointer(to: &t2) { tp in
                            var m = media_parameters(audio_param: ap, video_param: vp, ds_param: dp, tr_param: tp)
                            return (function(&m), lastError())
                        }
                    }
                }
            }
        }
        let cases: [(String, (inout audio_parameters, inout video_parameters, inout ds_parameters, inout transcript_parameters) -> Void)] = [
            (
                "OPUS audio needs SR_48K",
                { a, _, _, _ in
                    a.sample_rate = 1; a.frame_size = 0
                }
            ),
            ("frame_size 100", { a, _, _, _ in a.frame_size = 100 }),
            ("audio content_type 3", { a, _, _, _ in a.content_type = 3 }),
            ("video JPG/PNG needs fps <= 5", { _, v, _, _ in v.codec = 5 }),
            ("deskshare resolution 9", { _, _, d, _ in d.resolution = 9 }),
            ("video data_opt 7", { _, v, _, _ in v.data_opt = 7 }),
            ("transcript src_language 99", { _, _, _, t in t.src_language = 99 }),
            // Stricter than rtms_config(): a field must be set, as Zoom's wrappers require.
            ("audio codec 0 is not set", { a, _, _, _ in a.codec = 0 }),
            ("video fps -1 is not set", { _, v, _, _ in v.fps = -1 }),
            ("deskshare resolution 0 is not set", { _, _, d, _ in d.resolution = 0 }),
            ("transcript src_language -2 is not set", { _, _, _, t in t.src_language = -2 }),
        ]
        for (text, change) in cases {
            let (rc, error) = check(change)
            #expect(rc == Int32(RTMS_SDK_INVALID_ARGS) && error.contains(text), "\(text): \(error)")
        }
        // rtms_config() takes zero fields as the protocol's defaults; rtms_check_params() refuses them.
        let sdk = rtms_alloc()
        defer { _ = rtms_release(sdk) }
        let zeros = check(
            { a, v, _, _ in
                a = audio_parameters(); v = video_parameters()
            }, with: { rtms_config(sdk, $0, SDK_AUDIO | SDK_VIDEO, 0) })
        #expect(zeros.0 == Int32(RTMS_SDK_OK), "\(zeros.1)")
        #expect(check({ a, _, _, _ in a = audio_parameters() }).0 == Int32(RTMS_SDK_INVALID_ARGS))
    }

    @Test func errorTextIsThreadLocal() {
        #expect(rtms_poll(nil) == Int32(RTMS_SDK_NOT_EXIST))
        let mine = lastError()
        let other = NIOLockedValueBox("")
        let t = Thread {
            _ = rtms_config(nil, nil, 1, 0); other.withLockedValue { $0 = lastError() }
        }
        t.join()
        #expect(other.withLockedValue { $0 }.contains("rtms_config"))
        #expect(lastError() == mine)
    }

    @Test func fullSessionThroughTheCABI() throws {
        rec.reset()
        let (sim, _, body) = try startSim()
        defer { sim.stop() }
        let sdk = try #require(rtms_alloc())
        configure(sdk, types: SDK_AUDIO | SDK_TRANSCRIPT | SDK_CHAT)
        var events: [Int32] = [3, 4]
        #expect(rtms_subscribe_event(sdk, &events, 2) == Int32(RTMS_SDK_OK))
        #expect(rtms_join_payload(sdk, body, 0) == Int32(RTMS_SDK_OK))
        #expect(String(cString: sdk.pointee.rtms_stream_id) != "")
        #expect(rtms_get_state(sdk) == RTMS_STATE_CONNECTING)
        let fd = rtms_get_wake_fd(sdk)
        #expect(fd >= 0)
        let deadline = nowMs() + 20_000
        while rec.lock.withLock({ rec.leaves.isEmpty }) && nowMs() < deadline {
            // Sleep in poll(2) on the wake fd, as an event loop would.
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 200)
            #expect(rtms_poll_ex(sdk, 0, 0) >= 0)
        }
        rec.lock.withLock {
            #expect(rec.joinConfirms == [0])
            #expect(rec.leaves == [6])
            #expect(rec.audio > 100 && rec.transcript > 0 && rec.chat == 2 && rec.userJoins >= 2)
            #expect(rec.sessionOps == [Int32(SESSION_ADD), Int32(SESSION_STOP)])
            #expect(rec.threads.count == 1, "every callback on the polling thread")
        }
        var st = rtms_stats()
        st.version = UInt32(RTMS_STATS_VERSION)
        #expect(rtms_get_stats(sdk, &st) == Int32(RTMS_SDK_OK))
        #expect(st.media_messages.0 == UInt64(rec.audio) && st.dropped_malformed == 0 && st.delivered > 0)
        var buf = [CChar](repeating: 0, count: 256)
        #expect(rtms_get_failure(sdk, &buf, 256) > 0)
        #expect(String(cString: buf).contains("MEETING_ENDED"))
        #expect(rtms_get_state(sdk) == RTMS_STATE_ENDED)
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
    }

    @Test func releaseFromInsideACallbackStopsDelivery() throws {
        rec.reset()
        let (sim, start, _) = try startSim(durationMs: 30_000)
        defer { sim.stop() }
        let sdk = try #require(rtms_alloc())
        configure(sdk, types: SDK_AUDIO)
        rec.lock.withLock { rec.releaseInAudioCallback = true }
        #expect(rtms_join(sdk, start.instanceID, start.streamID, nil, start.serverURLs, 0) == Int32(RTMS_SDK_OK))
        let deadline = nowMs() + 10_000
        while rec.lock.withLock({ rec.releasedInCallback == 0 }) && nowMs() < deadline {
            // Several audio packets are usually delivered in one poll: release happens mid-batch.
            if rtms_poll_ex(sdk, 0, 50) < 0 { break }
        }
        #expect(rtms_poll(sdk) == Int32(RTMS_SDK_NOT_EXIST))
        rec.lock.withLock {
            #expect(rec.releasedInCallback == 1)
            #expect(rec.audio == 3, "no callback after release")
            #expect(rec.callbacksAfterRelease == 0)
        }
    }

    @Test func releaseWhileAnotherThreadPolls() throws {
        rec.reset()
        let (sim, start, _) = try startSim(durationMs: 30_000)
        defer { sim.stop() }
        let sdk = try #require(rtms_alloc())
        configure(sdk, types: SDK_AUDIO)
        #expect(rtms_join(sdk, start.instanceID, start.streamID, nil, start.serverURLs, 0) == Int32(RTMS_SDK_OK))
        let address = UInt(bitPattern: sdk)
        let pollerResult = NIOLockedValueBox<Int32>(0)
        let poller = Thread {
            let p = UnsafeMutablePointer<rtms_csdk>(bitPattern: address)
            while true {
                // Blocks until an event arrives; release must wake it up.
                let r = rtms_poll_ex(p, 0, -1)
                if r < 0 { pollerResult.withLockedValue { $0 = r }; return }
            }
        }
        while rec.lock.withLock({ rec.audio < 5 }) { usleep(10_000) }
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
        poller.join()
        #expect(pollerResult.withLockedValue { $0 } == -Int32(RTMS_SDK_NOT_EXIST))
    }

    /// nng's aio stop, zenoh-c's drop: when rtms_release() returns, no callback of the handle is
    /// running anywhere, so the application may free what its callbacks use.
    @Test func releaseWaitsForACallbackRunningOnAnotherThread() throws {
        rec.reset()
        let (sim, start, _) = try startSim(durationMs: 30_000)
        defer { sim.stop() }
        let sdk = try #require(rtms_alloc())
        var ops = rtms_csdk_ops()
        ops.on_audio_data = { _, _, _, _, _ in
            let first = rec.lock.withLock { () -> Bool in
                rec.audio += 1
                return rec.audio == 1
            }
            guard first else { return }
            rec.lock.withLock { rec.sessionOps.append(1) }  // inside the slow callback
            usleep(400_000)
            rec.lock.withLock { rec.sessionOps.append(2) }  // about to return
        }
        #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
        #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
        setTestCredentials(sdk)
        #expect(rtms_join(sdk, start.instanceID, start.streamID, nil, start.serverURLs, 0) == Int32(RTMS_SDK_OK))
        let address = UInt(bitPattern: sdk)
        let poller = Thread {
            let p = UnsafeMutablePointer<rtms_csdk>(bitPattern: address)
            while rtms_poll_ex(p, 0, 50) >= 0 {}
        }
        let deadline = nowMs() + 10_000
        while rec.lock.withLock({ rec.sessionOps.isEmpty }) && nowMs() < deadline { usleep(1000) }
        #expect(rec.lock.withLock { rec.sessionOps } == [1], "the poller is inside the slow callback")
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
        #expect(rec.lock.withLock { rec.sessionOps } == [1, 2], "release returned only after the callback did")
        poller.join()
    }

    /// From inside a callback of one handle, releasing another handle whose callback runs on
    /// another thread must not wait for it: that thread might be waiting for this one.
    @Test func releaseFromACallbackOfAnotherHandleDoesNotWait() throws {
        let (sim, start, _) = try startSim(durationMs: 30_000)
        defer { sim.stop() }
        let second = sim.createMeeting()
        let start2 = try StreamStart(payload: second["payload"]!.objectValue!)
        CrossRelease.reset()
        func make(_ slow: Bool) throws -> UnsafeMutablePointer<rtms_csdk> {
            let sdk = try #require(rtms_alloc())
            var ops = rtms_csdk_ops()
            if slow {
                ops.on_audio_data = { _, _, _, _, _ in CrossRelease.slowCallback() }
            } else {
                ops.on_audio_data = { _, _, _, _, _ in CrossRelease.releasingCallback() }
            }
            #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
            #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
            setTestCredentials(sdk)
            return sdk
        }
        let h1 = try make(false), h2 = try make(true)
        CrossRelease.state.withLockedValue { $0.target = UInt(bitPattern: h2) }
        #expect(rtms_join(h2, start2.instanceID, start2.streamID, nil, start2.serverURLs, 0) == Int32(RTMS_SDK_OK))
        #expect(rtms_join(h1, start.instanceID, start.streamID, nil, start.serverURLs, 0) == Int32(RTMS_SDK_OK))
        let a2 = UInt(bitPattern: h2)
        let poller = Thread { while rtms_poll_ex(UnsafeMutablePointer<rtms_csdk>(bitPattern: a2), 0, 50) >= 0 {} }
        let deadline = nowMs() + 10_000
        while CrossRelease.state.withLockedValue({ $0.releaseMs == nil }) && nowMs() < deadline { _ = rtms_poll_ex(h1, 0, 50) }
        let ms = CrossRelease.state.withLockedValue { $0.releaseMs }
        #expect(ms != nil && ms! < 200, "release inside another handle's callback returned after \(ms ?? -1) ms")
        poller.join()
        #expect(rtms_release(h1) == Int32(RTMS_SDK_OK))
    }

    /// Inside a callback the handle finds its own user data (a shortcut past the registry), and
    /// another handle's through the registry; callbacks set inside a callback take over from
    /// the next message of the same poll; after a release inside a callback the handle is gone
    /// for every call, the shortcut included.
    @Test func insideACallbackTheHandleIsItselfUntilReleased() throws {
        let (sim, start, _) = try startSim(durationMs: 30_000)
        defer { sim.stop() }
        InCallback.reset()
        let other = try #require(rtms_alloc())
        defer { _ = rtms_release(other) }
        #expect(rtms_set_user_data(other, UnsafeMutableRawPointer(bitPattern: 0x5678)) == Int32(RTMS_SDK_OK))
        InCallback.state.withLockedValue { $0.other = UInt(bitPattern: other) }
        let sdk = try #require(rtms_alloc())
        #expect(rtms_set_user_data(sdk, UnsafeMutableRawPointer(bitPattern: 0x1234)) == Int32(RTMS_SDK_OK))
        var ops = rtms_csdk_ops()
        ops.on_audio_data = { sdk, _, _, _, _ in InCallback.first(sdk) }
        #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
        #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
        setTestCredentials(sdk)
        #expect(rtms_join(sdk, start.instanceID, start.streamID, nil, start.serverURLs, 0) == Int32(RTMS_SDK_OK))
        // No poll until several audio messages are queued: the first poll delivers them all.
        let queuedBy = nowMs() + 10_000
        while nowMs() < queuedBy {
            var st = rtms_stats()
            st.version = UInt32(RTMS_STATS_VERSION)
            _ = rtms_get_stats(sdk, &st)
            if st.media_messages.0 >= 3 { break }
            usleep(20_000)
        }
        let deadline = nowMs() + 10_000
        var last: Int32 = 0
        while last >= 0 && nowMs() < deadline {
            last = rtms_poll_ex(sdk, 0, 50)
            InCallback.state.withLockedValue { $0.polling = false }
        }
        #expect(last == -Int32(RTMS_SDK_NOT_EXIST), "the poll that delivered the release says the handle is gone")
        #expect(ThreadPolls.current == nil, "a returned poll leaves no handle behind as this thread's current one")
        let st = InCallback.state.withLockedValue { $0 }
        #expect(st.firstCalls == 1 && st.secondCalls == 1, "first \(st.firstCalls), second \(st.secondCalls)")
        #expect(st.ownUserData == 0x1234 && st.otherUserData == 0x5678)
        #expect(st.secondInSamePoll, "the new callback took the next message of the same poll")
        #expect(st.afterRelease == 0, "released inside the callback: no user data")
    }

    /// openrtms.h: the wake descriptors (a handle's, a group's) are close-on-exec: a child the
    /// application spawns does not inherit them.
    @Test func wakeDescriptorsCloseOnExec() throws {
        let sdk = try #require(rtms_alloc())
        defer { _ = rtms_release(sdk) }
        let g = try #require(rtms_group_create(0))
        defer { _ = rtms_group_release(g) }
        for fd in [rtms_get_wake_fd(sdk), rtms_group_get_wake_fd(g)] {
            try #require(fd >= 0)
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "fd \(fd) is inherited by children")
        }
    }

    @Test func aPollBlockedOnAnotherThreadReturnsNotExistWhenReleased() throws {
        let sdk = try #require(rtms_alloc())
        let address = UInt(bitPattern: sdk)
        let result = NIOLockedValueBox<Int32>(99)
        let poller = Thread {
            // Nothing will ever arrive: it blocks until the release wakes it.
            let r = rtms_poll_ex(UnsafeMutablePointer<rtms_csdk>(bitPattern: address), 0, -1)
            result.withLockedValue { $0 = r }
        }
        usleep(200_000)
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
        poller.join()
        #expect(result.withLockedValue { $0 } == -Int32(RTMS_SDK_NOT_EXIST))
    }

    @Test func nestedPollFromACallbackIsRefused() throws {
        rec.reset()
        let (sim, start, _) = try startSim(durationMs: 30_000)
        defer { sim.stop() }
        let sdk = try #require(rtms_alloc())
        var ops = rtms_csdk_ops()
        ops.on_join_confirm = { sdk, _ in
            let r = rtms_poll(sdk)
            rec.lock.withLock { rec.joinConfirms.append(r) }
            // Everything else is allowed inside a callback.
            var ev: [Int32] = [2]
            _ = rtms_subscribe_event(sdk, &ev, 1)
            _ = rtms_leave(sdk)
        }
        #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
        #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
        var o = rtms_options()
        _ = rtms_options_init(&o, 1)
        "cabi-client".withCString { id in
            "cabi-secret".withCString { s in
                o.client_id = id; o.client_secret = s; _ = rtms_set_options(sdk, &o)
            }
        }
        #expect(rtms_join(sdk, start.instanceID, start.streamID, nil, start.serverURLs, 0) == Int32(RTMS_SDK_OK))
        let deadline = nowMs() + 10_000
        while rec.lock.withLock({ rec.joinConfirms.isEmpty }) && nowMs() < deadline { _ = rtms_poll(sdk) }
        #expect(rec.lock.withLock { rec.joinConfirms } == [Int32(RTMS_SDK_INVALID_STATUS)])
        #expect(rtms_get_state(sdk) == RTMS_STATE_ENDED)
        #expect(rtms_release(sdk) == Int32(RTMS_SDK_OK))
    }

    /// rtms_ext_ops.on_participant_event (version 2): each PARTICIPANT_JOIN / LEAVE the simulator
    /// sends arrives once, whole: its op, its timestamp and every participant of the raw event, in
    /// order, after the event's per-user on_user_update calls and its on_event_ex. A version
    /// 1 table is still accepted and its handle never sees the version 2 field.
    @Test func participantEventsArriveWholeWithTheirTimestamp() throws {
        ParticipantLog.reset()
        let (sim, _, body) = try startSim(durationMs: 5000)
        defer { sim.stop() }
        let second = JSON.string(sim.createMeeting())
        func open(version: UInt32, _ payload: String) throws -> UnsafeMutablePointer<rtms_csdk> {
            let sdk = try #require(rtms_alloc())
            var ops = rtms_csdk_ops()
            ops.on_user_update = { sdk, op, pi in
                guard let pi else { return }
                let name = pi.pointee.participant_name.map { String(cString: $0) }
                ParticipantLog.add(sdk, "user_update", op: op, ts: 0, users: [(pi.pointee.participant_id, name)])
            }
            ops.on_event_ex = { sdk, buf, size in
                guard let buf else { return }
                let text = String(decoding: UnsafeRawBufferPointer(start: buf, count: Int(size)), as: UTF8.self)
                guard let o = (try? JSON.parse(text))?.objectValue, let t = o["event_type"]?.intValue, t == 3 || t == 4 else { return }
                let users = (o["participants"]?.arrayValue ?? []).map { p -> (Int32, String?) in
                    (Int32(truncatingIfNeeded: p["user_id"]?.intValue ?? -1), p["user_name"]?.stringValue ?? "")
                }
                ParticipantLog.add(sdk, "event_ex", op: Int32(t - 3), ts: UInt64(o["timestamp"]?.intValue ?? -1), users: users)
            }
            ops.on_leave = { sdk, _ in ParticipantLog.add(sdk, "leave", op: 0, ts: 0, users: []) }
            #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
            var ext = rtms_ext_ops()
            ext.version = version
            // Set in both tables: a version 1 handle must not read it.
            ext.on_participant_event = { sdk, op, ts, list, n in
                var users: [(Int32, String?)] = []
                for i in 0..<Int(n) { users.append((list![i].participant_id, list![i].participant_name.map { String(cString: $0) })) }
                ParticipantLog.add(sdk, "participant_event", op: op, ts: ts, users: users, nullList: list == nil)
            }
            if version == 1 {
                // Exactly a version 1 table (the library must not read past it: the sanitizer
                // runs, scripts/sanitize.sh, would see an over-read of this heap block).
                let v1Size = MemoryLayout<rtms_ext_ops>.offset(of: \rtms_ext_ops.on_participant_event)!
                let v1 = UnsafeMutableRawPointer.allocate(byteCount: v1Size, alignment: MemoryLayout<rtms_ext_ops>.alignment)
                defer { v1.deallocate() }
                withUnsafeBytes(of: &ext) { v1.copyMemory(from: $0.baseAddress!, byteCount: v1Size) }
                #expect(rtms_set_ext_callbacks(sdk, v1.assumingMemoryBound(to: rtms_ext_ops.self)) == Int32(RTMS_SDK_OK), "\(lastError())")
            } else {
                #expect(rtms_set_ext_callbacks(sdk, &ext) == Int32(RTMS_SDK_OK), "version \(version): \(lastError())")
            }
            #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
            setTestCredentials(sdk)
            var events: [Int32] = [3, 4]
            #expect(rtms_subscribe_event(sdk, &events, 2) == Int32(RTMS_SDK_OK))
            #expect(rtms_join_payload(sdk, payload, 0) == Int32(RTMS_SDK_OK))
            return sdk
        }
        let v2 = try open(version: 2, body), v1 = try open(version: 1, second)
        defer { _ = rtms_release(v2); _ = rtms_release(v1) }
        let deadline = nowMs() + 20_000
        while ParticipantLog.of(v2, "leave").isEmpty || ParticipantLog.of(v1, "leave").isEmpty, nowMs() < deadline {
            _ = rtms_poll_ex(v2, 0, 20)
            _ = rtms_poll_ex(v1, 0, 0)
        }
        let raw = ParticipantLog.of(v2, "event_ex"), typed = ParticipantLog.of(v2, "participant_event")
        // The simulator's meeting: two join at once, one joins late and leaves, the rest leave at the end.
        #expect(raw.count >= 4, "\(raw.count) participant events")
        #expect(typed.count == raw.count)
        for (t, r) in zip(typed, raw) {
            #expect(t.op == r.op && t.ts == r.ts && t.ts > 1_600_000_000_000, "op and the event's own timestamp (ms)")
            #expect(t.users.map(\.0) == r.users.map(\.0) && t.users.map(\.1) == r.users.map(\.1), "every participant, in order")
            #expect(!t.nullList && !t.users.isEmpty)
        }
        #expect(typed.contains { $0.op == USER_JOIN && $0.users.count >= 2 && $0.users.allSatisfy { ($0.1 ?? "").isEmpty == false } })
        #expect(typed.contains { $0.op == USER_LEAVE && $0.users.allSatisfy { $0.1 == "" } }, "leaves carry no names: \"\"")
        // Per event: its user updates, then the raw JSON, then the whole event (Zoom's order).
        let seq = ParticipantLog.sequence(v2).filter { $0 != "leave" }
        var expected: [String] = []
        for t in typed { expected += Array(repeating: "user_update", count: t.users.count) + ["event_ex", "participant_event"] }
        #expect(seq == expected)
        #expect(ParticipantLog.of(v2, "user_update").map(\.users[0].0) == typed.flatMap { $0.users.map(\.0) })
        // Version 1: accepted, same raw events, never the version 2 callback.
        #expect(ParticipantLog.of(v1, "event_ex").count >= 4)
        #expect(ParticipantLog.of(v1, "participant_event").isEmpty)
        var bad = rtms_ext_ops()
        bad.version = 3
        #expect(rtms_set_ext_callbacks(v1, &bad) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(lastError().contains("knows 1 and 2"))
        bad.version = 0
        #expect(rtms_set_ext_callbacks(v1, &bad) == Int32(RTMS_SDK_INVALID_ARGS))
    }

    @Test func manyHandlesAndSequentialSessions() throws {
        rec.reset()
        var c = SimulatorConfig()
        c.defaults.durationMs = 1500
        var l = c.logger
        l.logLevel = .error
        c.logger = l
        let sim = Simulator(config: c)
        try sim.start()
        defer { sim.stop() }
        for round in 0..<5 {
            let handles = (0..<10).map { _ in rtms_alloc()! }
            for h in handles {
                var ops = makeOps()
                _ = rtms_set_callbacks(h, &ops)
                _ = rtms_config(h, nil, SDK_AUDIO, 0)
                let s = try StreamStart(payload: sim.createMeeting()["payload"]!.objectValue!)
                #expect(rtms_join(h, s.instanceID, s.streamID, "any-signature", s.serverURLs, 0) == Int32(RTMS_SDK_OK))
            }
            let deadline = nowMs() + 15_000
            while rec.lock.withLock({ rec.leaves.count < (round + 1) * 10 }) && nowMs() < deadline {
                for h in handles { _ = rtms_poll_ex(h, 0, 0) }
                usleep(5000)
            }
            for h in handles { #expect(rtms_release(h) == Int32(RTMS_SDK_OK)) }
            rtms_uninit()
            #expect(rtms_init(nil, 1, "round-\(round)") == Int32(RTMS_SDK_OK))
        }
        rec.lock.withLock {
            #expect(rec.joinConfirms.count == 50 && rec.joinConfirms.allSatisfy { $0 == 0 })
            #expect(rec.leaves.count == 50 && rec.leaves.allSatisfy { $0 == 6 })
        }
        #expect(Registry.shared.count == 0, "no handle leaked")
    }
}

func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A plain OS thread (tests need real threads, not tasks, to exercise thread safety).
final class Thread: @unchecked Sendable {
    private var tid = pthread_t()
    private let body: () -> Void
    init(_ body: @escaping () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &tid, nil,
            { p in
                let t = Unmanaged<Thread>.fromOpaque(p!).takeRetainedValue()
                t.body()
                return nil
            }, box)
    }
    func join() { pthread_join(tid, nil) }
}

/// State for releaseFromACallbackOfAnotherHandleDoesNotWait (C callbacks cannot capture).
enum CrossRelease {
    struct State { var target: UInt = 0; var slowEntered = false; var releaseMs: Int64?; var done = false }
    static let state = NIOLockedValueBox(State())
    static func reset() { state.withLockedValue { $0 = State() } }
    /// The second handle's first audio callback: in, then 600 ms asleep.
    static func slowCallback() {
        let first = state.withLockedValue { s -> Bool in
            defer { s.slowEntered = true }
            return !s.slowEntered
        }
        if first { usleep(600_000) }
    }
    /// The first handle's audio callbacks: once the other is inside its slow callback, release it.
    static func releasingCallback() {
        let go = state.withLockedValue { s -> Bool in
            guard s.slowEntered, !s.done else { return false }
            s.done = true
            return true
        }
        guard go else { return }
        let target = state.withLockedValue { $0.target }
        let t0 = nowMs()
        _ = rtms_release(UnsafeMutablePointer<rtms_csdk>(bitPattern: target))
        let ms = nowMs() - t0
        state.withLockedValue { $0.releaseMs = ms }
    }
}

/// State for insideACallbackTheHandleIsItselfUntilReleased (C callbacks cannot capture).
enum InCallback {
    struct State {
        var other: UInt = 0
        var firstCalls = 0, secondCalls = 0
        var ownUserData: UInt = 0, otherUserData: UInt = 0, afterRelease: UInt = 99
        var polling = false, secondInSamePoll = false
    }
    static let state = NIOLockedValueBox(State())
    static func reset() { state.withLockedValue { $0 = State() } }
    /// The first audio callback: reads both handles' user data and hands the handle's audio to
    /// `second`.
    static func first(_ sdk: UnsafeMutablePointer<rtms_csdk>?) {
        let other = state.withLockedValue { s -> UInt in
            s.firstCalls += 1
            s.polling = true
            return s.other
        }
        let own = UInt(bitPattern: rtms_get_user_data(sdk))
        let theirs = UInt(bitPattern: rtms_get_user_data(UnsafeMutablePointer<rtms_csdk>(bitPattern: other)))
        state.withLockedValue {
            $0.ownUserData = own; $0.otherUserData = theirs
        }
        var ops = rtms_csdk_ops()
        ops.on_audio_data = { sdk, _, _, _, _ in InCallback.second(sdk) }
        _ = rtms_set_callbacks(sdk, &ops)
    }
    /// Then: releases the handle from inside its callback and asks for its user data again.
    static func second(_ sdk: UnsafeMutablePointer<rtms_csdk>?) {
        let go = state.withLockedValue { s -> Bool in
            s.secondCalls += 1
            s.secondInSamePoll = s.polling
            return s.secondCalls == 1
        }
        guard go else { return }
        _ = rtms_release(sdk)
        let after = UInt(bitPattern: rtms_get_user_data(sdk))
        state.withLockedValue { $0.afterRelease = after }
    }
}

/// What participant callbacks saw, per handle and in order (C callbacks cannot capture).
enum ParticipantLog {
    struct Entry { var sdk: UInt; var kind: String; var op: Int32; var ts: UInt64; var users: [(Int32, String?)]; var nullList: Bool }
    static let entries = NIOLockedValueBox<[Entry]>([])
    static func reset() { entries.withLockedValue { $0 = [] } }
    static func add(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ kind: String, op: Int32, ts: UInt64, users: [(Int32, String?)], nullList: Bool = false) {
        let e = Entry(sdk: UInt(bitPattern: sdk), kind: kind, op: op, ts: ts, users: users, nullList: nullList)
        entries.withLockedValue { $0.append(e) }
    }
    static func of(_ sdk: UnsafeMutablePointer<rtms_csdk>, _ kind: String) -> [Entry] {
        entries.withLockedValue { $0.filter { $0.sdk == UInt(bitPattern: sdk) && $0.kind == kind } }
    }
    static func sequence(_ sdk: UnsafeMutablePointer<rtms_csdk>) -> [String] {
        entries.withLockedValue { $0.filter { $0.sdk == UInt(bitPattern: sdk) }.map(\.kind) }
    }
}
