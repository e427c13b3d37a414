// The webhook intake in the C ABI: rtms_webhook_* of include/openrtms.h.
//
// One return convention for the family: >= 0 on success, negative on every error (the negated
// RTMS_SDK_* code, or RTMS_SDK_FAILURE itself, which is already negative): `whFail` below.

import CRTMS
import NIOConcurrencyHelpers
import RTMSClient
import RTMSProtocol
import RTMSWebhook

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public typealias WebhookCB = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Void

/// Records the error text and returns the code as the rtms_webhook_* family returns it: negative.
func whFail(_ code: Int32, _ text: String) -> Int32 {
    let c = fail(code, text)
    return c > 0 ? -c : c
}

final class WebhookHandle: @unchecked Sendable {
    let token: OpaquePointer
    /// The decisions and the queue (rtms_webhook_handle() and the listener share it).
    let endpoint: WebhookEndpoint
    /// The listener; nil for rtms_webhook_create().
    let server: WebhookServer?
    private let lock = NIOLock()
    private var callback: WebhookCB?
    private var userData: UnsafeMutableRawPointer?
    private let gate = PollGate()

    init(token: OpaquePointer, endpoint: WebhookEndpoint, server: WebhookServer?) {
        self.token = token
        self.endpoint = endpoint
        self.server = server
    }

    var counters: WebhookCounters { server?.counters ?? endpoint.counters }

    func setCallback(_ cb: WebhookCB?, _ ud: UnsafeMutableRawPointer?) {
        lock.withLock {
            callback = cb; userData = ud
        }
    }

    /// Stops the intake. A poll running on another thread is woken and waited for (it frees
    /// the token when it returns); from inside a callback the running poll frees it.
    func stop() {
        let state = gate.markReleased()
        if let server { server.stop() } else { endpoint.stop() }
        switch state {
        case .freeNow: free(UnsafeMutableRawPointer(token))
        case .pollOnThisThread: break
        case .pollOnAnotherThread: gate.waitForPoll()
        }
    }

    func poll(max: Int, waitMs: Int) -> Int32 {
        switch gate.enter() {
        case .nested: return whFail(Code.invalidStatus, "rtms_webhook_poll called from inside its own callback")
        case .released: return whFail(Code.notExist, "rtms_webhook_poll: the intake was stopped")
        case .entered: break
        }
        if waitMs != 0 { _ = endpoint.inbox.wait(milliseconds: waitMs) }
        var n: Int32 = 0
        for d in endpoint.inbox.take(max: max) {
            if gate.isReleased { break }
            let (cb, ud) = lock.withLock { (callback, userData) }
            n += 1
            guard let cb else { continue }
            d.event.withCString { ev in
                d.body.withUnsafeBytes { raw in
                    // Never NULL, even for an empty body.
                    let p = raw.baseAddress?.assumingMemoryBound(to: CChar.self) ?? ev
                    cb(token, ev, p, Int32(clamping: raw.count), d.routedToLiveStream ? 1 : 0, ud)
                }
            }
        }
        if gate.exit() {
            free(UnsafeMutableRawPointer(token))
            return whFail(Code.notExist, "rtms_webhook_poll: the intake was stopped during the poll")
        }
        return n
    }
}

let webhookRegistry = TokenRegistry<WebhookHandle>()

func webhookHandle(_ p: OpaquePointer?, _ function: StaticString) -> WebhookHandle? {
    guard let p else {
        setLastError("\(function): the intake is NULL")
        return nil
    }
    guard let h = webhookRegistry.lookup(p) else {
        setLastError("\(function): not a running intake (stopped or never started)")
        return nil
    }
    return h
}

/// Versions of struct rtms_webhook_options and struct rtms_webhook_stats this library knows.
private let optionsVersions: ClosedRange<UInt32> = 1...2
private let statsVersions: ClosedRange<UInt32> = 1...2

@c @implementation public func rtms_webhook_options_init(_ opts: UnsafeMutablePointer<rtms_webhook_options>?, _ version: UInt32) -> Int32 {
    guard let opts else { return whFail(Code.invalidArgs, "rtms_webhook_options_init: opts is NULL") }
    guard optionsVersions.contains(version) else {
        return whFail(Code.invalidArgs, "rtms_webhook_options_init: version \(version) unknown (this library knows 1 and 2)")
    }
    // Only the fields of the caller's version: a version 1 struct is shorter.
    opts.pointee.version = version
    opts.pointee.host = nil
    opts.pointee.port = -1
    opts.pointee.path = nil
    opts.pointee.cert_path = nil
    opts.pointee.key_path = nil
    opts.pointee.client_ca_path = nil
    opts.pointee.secret_token = nil
    opts.pointee.max_body_bytes = -1
    opts.pointee.replay_window_s = -1
    opts.pointee.queue_max_events = -1
    if version >= 2 {
        opts.pointee.header_timeout_ms = -1
        opts.pointee.body_timeout_ms = -1
        opts.pointee.idle_timeout_ms = -1
        opts.pointee.max_connections = -1
    }
    clearLastError()
    return Code.ok
}

/// The settings of `opts` over the environment's; nil (with the error text) when they are invalid.
private func webhookSettings(_ opts: UnsafePointer<rtms_webhook_options>?, _ function: String) -> WebhookSettings? {
    var s = WebhookSettings.fromEnvironment()
    guard let opts else { return s }
    let version = opts.pointee.version
    guard optionsVersions.contains(version) else {
        setLastError("\(function): options version \(version) unknown (this library knows 1 and 2); use rtms_webhook_options_init")
        return nil
    }
    // Field by field: a version 1 struct ends before the version 2 fields.
    let port = opts.pointee.port
    guard port >= -1, port <= 65535 else {
        setLastError("\(function): port \(port) is not -1 or 0...65535")
        return nil
    }
    if let h = str(opts.pointee.host), !h.isEmpty { s.host = h }
    if port >= 0 { s.port = Int(port) }
    if let p = str(opts.pointee.path) {
        guard p.hasPrefix("/") else {
            setLastError("\(function): path '\(p)' must start with /")
            return nil
        }
        s.path = p
    }
    if let c = str(opts.pointee.cert_path) { s.certificatePath = c.isEmpty ? nil : c }
    if let k = str(opts.pointee.key_path) { s.keyPath = k.isEmpty ? nil : k }
    if let ca = str(opts.pointee.client_ca_path) { s.clientCAPath = ca.isEmpty ? nil : ca }
    if let t = str(opts.pointee.secret_token) { s.secretToken = t.isEmpty ? nil : t }
    if opts.pointee.max_body_bytes > 0 { s.maxBodyBytes = Int(opts.pointee.max_body_bytes) }
    if opts.pointee.replay_window_s >= 0 { s.replayWindowSeconds = Int(opts.pointee.replay_window_s) }
    if opts.pointee.queue_max_events > 0 { s.queueMaxEvents = Int(opts.pointee.queue_max_events) }
    if version >= 2 {
        let fields: [(Int32, WritableKeyPath<WebhookSettings, Int>, String)] = [
            (opts.pointee.header_timeout_ms, \.headerTimeoutMs, "header_timeout_ms"),
            (opts.pointee.body_timeout_ms, \.bodyTimeoutMs, "body_timeout_ms"),
            (opts.pointee.idle_timeout_ms, \.idleTimeoutMs, "idle_timeout_ms"),
        ]
        for (v, key, name) in fields where v != -1 {
            guard v >= 0 else {
                setLastError("\(function): \(name) \(v) is not -1 (default), 0 (no limit) or a number of milliseconds")
                return nil
            }
            s[keyPath: key] = Int(v)
        }
        let cap = opts.pointee.max_connections
        if cap != -1 {
            guard cap > 0 else {
                setLastError("\(function): max_connections \(cap) is not -1 (default) or positive")
                return nil
            }
            s.maxConnections = Int(cap)
        }
    }
    return s
}

/// Registers a new intake and returns its token.
private func register(_ endpoint: WebhookEndpoint, _ server: WebhookServer?, _ function: String) -> OpaquePointer? {
    guard let raw = malloc(16) else {
        if let server { server.stop() } else { endpoint.stop() }
        setLastError("\(function): out of memory")
        return nil
    }
    let token = OpaquePointer(raw)
    webhookRegistry.add(token, WebhookHandle(token: token, endpoint: endpoint, server: server))
    clearLastError()
    return token
}

@c @implementation public func rtms_webhook_start(_ opts: UnsafePointer<rtms_webhook_options>?) -> OpaquePointer? {
    guard let s = webhookSettings(opts, "rtms_webhook_start") else { return nil }
    let server: WebhookServer
    do { server = try WebhookServer(settings: s) } catch {
        setLastError("rtms_webhook_start: \(error)")
        return nil
    }
    return register(server.endpoint, server, "rtms_webhook_start")
}

@c @implementation public func rtms_webhook_create(_ opts: UnsafePointer<rtms_webhook_options>?) -> OpaquePointer? {
    guard let s = webhookSettings(opts, "rtms_webhook_create") else { return nil }
    guard s.maxBodyBytes > 0 else {
        setLastError("rtms_webhook_create: the body limit must be positive")
        return nil
    }
    return register(WebhookEndpoint(settings: s), nil, "rtms_webhook_create")
}

/// A copy of `s` plus a NUL, malloc'ed for the caller (rtms_free()).
func mallocString(_ bytes: some Collection<UInt8>) -> UnsafeMutablePointer<CChar>? {
    guard let p = malloc(bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else { return nil }
    var i = 0
    for b in bytes { p[i] = CChar(bitPattern: b); i += 1 }
    p[i] = 0
    return p
}

@c @implementation public func rtms_webhook_handle(
    _ wh: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ uri: UnsafePointer<CChar>?,
    _ headers: UnsafePointer<CChar>?, _ body: UnsafePointer<CChar>?, _ body_len: Int32,
    _ reply_out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    reply_out?.pointee = nil
    guard let h = webhookHandle(wh, "rtms_webhook_handle") else { return -Code.notExist }
    guard let reply_out else { return whFail(Code.invalidArgs, "rtms_webhook_handle: reply_out is NULL") }
    guard let method = str(method), !method.isEmpty else { return whFail(Code.invalidArgs, "rtms_webhook_handle: method is NULL or empty") }
    guard let uri = str(uri) else { return whFail(Code.invalidArgs, "rtms_webhook_handle: uri is NULL") }
    guard body_len >= -1 else { return whFail(Code.invalidArgs, "rtms_webhook_handle: body_len \(body_len) is negative") }
    guard body != nil || body_len <= 0 else { return whFail(Code.invalidArgs, "rtms_webhook_handle: body is NULL with body_len \(body_len)") }
    let bytes: [UInt8]
    if let body {
        let n = body_len == -1 ? strlen(body) : Int(body_len)
        bytes = UnsafeRawBufferPointer(start: body, count: n).map { $0 }
    } else {
        bytes = []
    }
    let req = WebhookRequest(method: method, uri: uri, headers: WebhookRequest.headers(fromLines: str(headers) ?? ""), body: bytes)
    let reply = h.endpoint.handle(req)
    guard let p = mallocString(reply.body.utf8) else { return whFail(Code.failure, "rtms_webhook_handle: out of memory") }
    reply_out.pointee = p
    clearLastError()
    return Int32(reply.status)
}

@c @implementation public func rtms_webhook_port(_ wh: OpaquePointer?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_port") else { return -Code.notExist }
    guard let server = h.server else {
        return whFail(Code.invalidStatus, "rtms_webhook_port: this intake has no listener (rtms_webhook_create)")
    }
    return Int32(server.port)
}

@c @implementation public func rtms_webhook_set_callback(_ wh: OpaquePointer?, _ cb: WebhookCB?, _ user_data: UnsafeMutableRawPointer?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_set_callback") else { return -Code.notExist }
    h.setCallback(cb, user_data)
    return Code.ok
}

@c @implementation public func rtms_webhook_poll(_ wh: OpaquePointer?, _ max_events: Int32, _ timeout_ms: Int32) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_poll") else { return -Code.notExist }
    return h.poll(max: max_events <= 0 ? Int.max : Int(max_events), waitMs: Int(max(-1, timeout_ms)))
}

@c @implementation public func rtms_webhook_get_wake_fd(_ wh: OpaquePointer?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_get_wake_fd") else { return -Code.notExist }
    let fd = h.endpoint.inbox.wakeFD
    return fd >= 0 ? fd : whFail(Code.failure, "rtms_webhook_get_wake_fd: no wake fd (pipe creation failed)")
}

@c @implementation public func rtms_webhook_wait_started(
    _ wh: OpaquePointer?, _ rtms_stream_id: UnsafePointer<CChar>?, _ timeout_ms: Int32, _ body_out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    body_out?.pointee = nil
    guard let h = webhookHandle(wh, "rtms_webhook_wait_started") else { return -Code.notExist }
    guard let body_out else { return whFail(Code.invalidArgs, "rtms_webhook_wait_started: body_out is NULL") }
    let ms = timeout_ms < 0 ? ClientConfig.fromEnvironment().webhookWaitTimeoutMs : Int(timeout_ms)
    let stream = str(rtms_stream_id).flatMap { $0.isEmpty ? nil : $0 }
    switch h.endpoint.inbox.waitStarted(streamID: stream, milliseconds: ms) {
    case .started(let d):
        guard let p = mallocString(d.body) else { return whFail(Code.failure, "rtms_webhook_wait_started: out of memory") }
        body_out.pointee = p
        return Int32(clamping: d.body.count)
    case .timedOut:
        return whFail(Code.timeout, "rtms_webhook_wait_started: no rtms_started\(stream.map { " for stream \($0)" } ?? "") within \(ms) ms")
    case .closed:
        return whFail(Code.notExist, "rtms_webhook_wait_started: the intake was stopped")
    }
}

@c @implementation public func rtms_webhook_get_stats(_ wh: OpaquePointer?, _ out: UnsafeMutablePointer<rtms_webhook_stats>?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_get_stats") else { return -Code.notExist }
    guard let out else { return whFail(Code.invalidArgs, "rtms_webhook_get_stats: out is NULL") }
    let version = out.pointee.version
    guard statsVersions.contains(version) else {
        return whFail(Code.invalidArgs, "rtms_webhook_get_stats: out->version \(version) unknown; set it to RTMS_WEBHOOK_STATS_VERSION (1 and 2 are known)")
    }
    let c = h.counters
    // Field by field: a version 1 struct ends before the version 2 fields.
    out.pointee.requests = UInt64(c.requests)
    out.pointee.accepted = UInt64(c.accepted)
    out.pointee.duplicates = UInt64(c.duplicates)
    out.pointee.validations = UInt64(c.validations)
    out.pointee.not_found = UInt64(c.notFound)
    out.pointee.malformed = UInt64(c.malformed)
    out.pointee.too_large = UInt64(c.tooLarge)
    out.pointee.unauthorized = UInt64(c.unauthorized)
    out.pointee.routed = UInt64(c.routed)
    out.pointee.dropped_queue_full = UInt64(c.droppedQueueFull)
    if version >= 2 {
        out.pointee.connections_accepted = UInt64(c.connectionsAccepted)
        out.pointee.connections_open = UInt64(c.connectionsOpen)
        out.pointee.header_timeouts = UInt64(c.headerTimeouts)
        out.pointee.body_timeouts = UInt64(c.bodyTimeouts)
        out.pointee.idle_timeouts = UInt64(c.idleTimeouts)
        out.pointee.evicted = UInt64(c.evicted)
        out.pointee.refused = UInt64(c.refused)
        out.pointee.accept_errors = UInt64(c.acceptErrors)
    }
    return Code.ok
}

@c @implementation public func rtms_webhook_stop(_ wh: OpaquePointer?) -> Int32 {
    guard let wh, let h = webhookRegistry.remove(wh) else {
        return whFail(Code.notExist, "rtms_webhook_stop: \(wh == nil ? "the intake is NULL" : "not a running intake (already stopped?)")")
    }
    h.stop()
    return Code.ok
}

@c @implementation public func rtms_free(_ p: UnsafeMutableRawPointer?) { free(p) }
