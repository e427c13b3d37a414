// The webhook intake in the C ABI: rtms_webhook_* of include/openrtms.h.

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

final class WebhookHandle: @unchecked Sendable {
    let token: OpaquePointer
    let server: WebhookServer
    private let lock = NIOLock()
    private var callback: WebhookCB?
    private var userData: UnsafeMutableRawPointer?
    private let gate = PollGate()

    init(token: OpaquePointer, server: WebhookServer) {
        self.token = token
        self.server = server
    }

    func setCallback(_ cb: WebhookCB?, _ ud: UnsafeMutableRawPointer?) {
        lock.withLock { callback = cb; userData = ud }
    }

    /// Marks stopped; true when the token may be freed now (no poll running).
    func markStopped() -> Bool { gate.markReleased() }

    func poll(max: Int, waitMs: Int) -> Int32 {
        switch gate.enter() {
        case .nested: return -fail(Code.invalidStatus, "rtms_webhook_poll called from inside its own callback")
        case .released: return -fail(Code.notExist, "rtms_webhook_poll: the intake was stopped")
        case .entered: break
        }
        if waitMs != 0 { _ = server.inbox.wait(milliseconds: waitMs) }
        var n: Int32 = 0
        for d in server.inbox.take(max: max) {
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
        if gate.exit() { free(UnsafeMutableRawPointer(token)) }
        return n
    }
}

final class WebhookRegistry: @unchecked Sendable {
    static let shared = WebhookRegistry()
    private let lock = NIOLock()
    private var table: [OpaquePointer: WebhookHandle] = [:]
    func add(_ h: WebhookHandle) { lock.withLock { table[h.token] = h } }
    func lookup(_ p: OpaquePointer?) -> WebhookHandle? { p.flatMap { p in lock.withLock { table[p] } } }
    func remove(_ p: OpaquePointer) -> WebhookHandle? { lock.withLock { table.removeValue(forKey: p) } }
}

func webhookHandle(_ p: OpaquePointer?, _ function: StaticString) -> WebhookHandle? {
    guard let p else {
        setLastError("\(function): the intake is NULL")
        return nil
    }
    guard let h = WebhookRegistry.shared.lookup(p) else {
        setLastError("\(function): not a running intake (stopped or never started)")
        return nil
    }
    return h
}

@c @implementation public func rtms_webhook_options_init(_ opts: UnsafeMutablePointer<rtms_webhook_options>?, _ version: UInt32) -> Int32 {
    guard let opts else { return fail(Code.invalidArgs, "rtms_webhook_options_init: opts is NULL") }
    guard version == 1 else { return fail(Code.invalidArgs, "rtms_webhook_options_init: version \(version) unknown (this library knows 1)") }
    opts.pointee = rtms_webhook_options(version: 1, host: nil, port: -1, path: nil, cert_path: nil, key_path: nil,
                                        client_ca_path: nil, secret_token: nil, max_body_bytes: -1, replay_window_s: -1,
                                        queue_max_events: -1)
    return Code.ok
}

@c @implementation public func rtms_webhook_start(_ opts: UnsafePointer<rtms_webhook_options>?) -> OpaquePointer? {
    var s = WebhookSettings.fromEnvironment()
    if let o = opts?.pointee {
        guard o.version == 1 else {
            setLastError("rtms_webhook_start: options version \(o.version) unknown (this library knows 1); use rtms_webhook_options_init")
            return nil
        }
        guard o.port >= -1, o.port <= 65535 else {
            setLastError("rtms_webhook_start: port \(o.port) is not -1 or 0...65535")
            return nil
        }
        if let h = str(o.host), !h.isEmpty { s.host = h }
        if o.port >= 0 { s.port = Int(o.port) }
        if let p = str(o.path) {
            guard p.hasPrefix("/") else {
                setLastError("rtms_webhook_start: path '\(p)' must start with /")
                return nil
            }
            s.path = p
        }
        if let c = str(o.cert_path) { s.certificatePath = c.isEmpty ? nil : c }
        if let k = str(o.key_path) { s.keyPath = k.isEmpty ? nil : k }
        if let ca = str(o.client_ca_path) { s.clientCAPath = ca.isEmpty ? nil : ca }
        if let t = str(o.secret_token) { s.secretToken = t.isEmpty ? nil : t }
        if o.max_body_bytes > 0 { s.maxBodyBytes = Int(o.max_body_bytes) }
        if o.replay_window_s >= 0 { s.replayWindowSeconds = Int(o.replay_window_s) }
        if o.queue_max_events > 0 { s.queueMaxEvents = Int(o.queue_max_events) }
    }
    let server: WebhookServer
    do { server = try WebhookServer(settings: s) } catch {
        setLastError("rtms_webhook_start: \(error)")
        return nil
    }
    guard let raw = malloc(16) else {
        server.stop()
        setLastError("rtms_webhook_start: out of memory")
        return nil
    }
    let token = OpaquePointer(raw)
    WebhookRegistry.shared.add(WebhookHandle(token: token, server: server))
    clearLastError()
    return token
}

@c @implementation public func rtms_webhook_port(_ wh: OpaquePointer?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_port") else { return -Code.notExist }
    return Int32(h.server.port)
}

@c @implementation public func rtms_webhook_set_callback(_ wh: OpaquePointer?, _ cb: WebhookCB?, _ user_data: UnsafeMutableRawPointer?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_set_callback") else { return Code.notExist }
    h.setCallback(cb, user_data)
    return Code.ok
}

@c @implementation public func rtms_webhook_poll(_ wh: OpaquePointer?, _ max_events: Int32, _ timeout_ms: Int32) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_poll") else { return -Code.notExist }
    return h.poll(max: max_events <= 0 ? Int.max : Int(max_events), waitMs: Int(max(-1, timeout_ms)))
}

@c @implementation public func rtms_webhook_get_wake_fd(_ wh: OpaquePointer?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_get_wake_fd") else { return -Code.notExist }
    let fd = h.server.inbox.wakeFD
    return fd >= 0 ? fd : -fail(Code.failure, "rtms_webhook_get_wake_fd: no wake fd (pipe creation failed)")
}

@c @implementation public func rtms_webhook_wait_started(_ wh: OpaquePointer?, _ rtms_stream_id: UnsafePointer<CChar>?, _ timeout_ms: Int32, _ body_out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_wait_started") else { return -Code.notExist }
    guard let body_out else { return -fail(Code.invalidArgs, "rtms_webhook_wait_started: body_out is NULL") }
    body_out.pointee = nil
    let ms = timeout_ms < 0 ? ClientConfig.fromEnvironment().webhookWaitTimeoutMs : Int(timeout_ms)
    let stream = str(rtms_stream_id).flatMap { $0.isEmpty ? nil : $0 }
    switch h.server.inbox.waitStarted(streamID: stream, milliseconds: ms) {
    case .started(let d):
        guard let p = malloc(d.body.count + 1)?.assumingMemoryBound(to: CChar.self) else {
            return -fail(Code.failure, "rtms_webhook_wait_started: out of memory")
        }
        for (i, b) in d.body.enumerated() { p[i] = CChar(bitPattern: b) }
        p[d.body.count] = 0
        body_out.pointee = p
        return Int32(clamping: d.body.count)
    case .timedOut:
        return -fail(Code.timeout, "rtms_webhook_wait_started: no rtms_started\(stream.map { " for stream \($0)" } ?? "") within \(ms) ms")
    case .closed:
        return -fail(Code.notExist, "rtms_webhook_wait_started: the intake was stopped")
    }
}

@c @implementation public func rtms_webhook_get_stats(_ wh: OpaquePointer?, _ out: UnsafeMutablePointer<rtms_webhook_stats>?) -> Int32 {
    guard let h = webhookHandle(wh, "rtms_webhook_get_stats") else { return Code.notExist }
    guard let out else { return fail(Code.invalidArgs, "rtms_webhook_get_stats: out is NULL") }
    guard out.pointee.version == 1 else { return fail(Code.invalidArgs, "rtms_webhook_get_stats: set out->version to RTMS_WEBHOOK_STATS_VERSION (1)") }
    let c = h.server.counters
    out.pointee = rtms_webhook_stats(version: 1, requests: UInt64(c.requests), accepted: UInt64(c.accepted),
                                     duplicates: UInt64(c.duplicates), validations: UInt64(c.validations),
                                     not_found: UInt64(c.notFound), malformed: UInt64(c.malformed),
                                     too_large: UInt64(c.tooLarge), unauthorized: UInt64(c.unauthorized),
                                     routed: UInt64(c.routed), dropped_queue_full: UInt64(c.droppedQueueFull))
    return Code.ok
}

@c @implementation public func rtms_webhook_stop(_ wh: OpaquePointer?) -> Int32 {
    guard let wh, let h = WebhookRegistry.shared.remove(wh) else {
        setLastError("rtms_webhook_stop: \(wh == nil ? "the intake is NULL" : "not a running intake (already stopped?)")")
        return Code.notExist
    }
    let freeNow = h.markStopped()
    h.server.stop()
    if freeNow { free(UnsafeMutableRawPointer(wh)) }
    return Code.ok
}

@c @implementation public func rtms_free(_ p: UnsafeMutableRawPointer?) { free(p) }
