// The C ABI: every function of include/rtms_csdk.h and include/openrtms.h, implemented with
// @c @implementation so the compiler checks each signature against the header. No function
// here may trap: a trap would kill the host process. Errors become return codes plus
// thread-local text (rtms_last_error).

import CRTMS
import RTMSClient
import RTMSProtocol
import RTMSSession

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func str(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

// MARK: - Versions and errors

@c @implementation public func rtms_version() -> UnsafePointer<CChar>? { InternedStrings.shared.get(OpenRTMSVersion.string) }

@c @implementation public func rtms_version_number() -> Int32 { Int32(OpenRTMSVersion.number) }

@c @implementation public func rtms_last_error() -> UnsafePointer<CChar>? {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return cString("")
}

@c @implementation public func rtms_strerror(_ code: Int32) -> UnsafePointer<CChar>? {
    switch code {
    case Code.failure: cString("operation failed")
    case Code.ok: cString("ok")
    case Code.timeout: cString("operation timed out")
    case Code.notExist: cString("resource does not exist")
    case Code.wrongType: cString("wrong type")
    case Code.invalidStatus: cString("invalid status")
    case Code.invalidArgs: cString("invalid arguments")
    case Code.noCredentials: cString("no credentials to compute the signature")
    default: cString("unknown error")
    }
}

func localReasonName(_ r: Int32) -> String? {
    switch Int(r) {
    case ClientReason.connectFailed: "CONNECT_FAILED"
    case ClientReason.connectionLost: "CONNECTION_LOST"
    case ClientReason.tlsFailed: "TLS_FAILED"
    case ClientReason.upgradeRefused: "UPGRADE_REFUSED"
    case ClientReason.closedByServer: "CLOSED_BY_SERVER"
    case ClientReason.queueFull: "QUEUE_FULL"
    default: nil
    }
}

@c @implementation public func rtms_join_reason_string(_ reason: Int32) -> UnsafePointer<CChar>? {
    if let n = localReasonName(reason) { return InternedStrings.shared.get(n) }
    switch Int(reason) {
    case ClientReason.timeout: return cString("TIMEOUT")
    case ClientReason.badResponse: return cString("BAD_RESPONSE")
    default: return InternedStrings.shared.get(StatusCode.name(Int(reason)))
    }
}

@c @implementation public func rtms_leave_reason_string(_ reason: Int32) -> UnsafePointer<CChar>? {
    if let n = localReasonName(reason) { return InternedStrings.shared.get(n) }
    return InternedStrings.shared.get(StopReason.name(Int(reason)))
}

@c @implementation public func rtms_get_failure(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ buf: UnsafeMutablePointer<CChar>?, _ len: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_get_failure") else { return -Code.notExist }
    let text = Array(h.client.lastFailure.utf8)
    if let buf, len > 0 {
        let n = min(text.count, Int(len) - 1)
        for i in 0..<n { buf[i] = CChar(bitPattern: text[i]) }
        buf[n] = 0
    }
    return Int32(clamping: text.count)
}

// MARK: - Process

@c @implementation public func rtms_init(_ ca_path: UnsafePointer<CChar>?, _ is_verify_cert: Int32, _ agent: UnsafePointer<CChar>?) -> Int32 {
    clearLastError()
    globalsLock.withLock {
        globals.caPath = str(ca_path).flatMap { $0.isEmpty ? nil : $0 }
        globals.verify = is_verify_cert != 0
        globals.agent = str(agent).flatMap { $0.isEmpty ? nil : $0 }
    }
    return Code.ok
}

@c @implementation public func rtms_uninit() {
    globalsLock.withLock { globals = GlobalDefaults() }
}

// MARK: - Handles

@c @implementation public func rtms_alloc() -> UnsafeMutablePointer<rtms_csdk>? {
    guard let raw = calloc(1, MemoryLayout<rtms_csdk>.size) else {
        setLastError("rtms_alloc: out of memory")
        return nil
    }
    let sdk = raw.bindMemory(to: rtms_csdk.self, capacity: 1)
    Registry.shared.add(Handle(sdk: sdk))
    return sdk
}

@c @implementation public func rtms_release(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let sdk, let h = Registry.shared.remove(sdk) else {
        setLastError("rtms_release: \(sdk == nil ? "the handle is NULL" : "not a live handle (already released?)")")
        return Code.notExist
    }
    h.release()
    return Code.ok
}

@c @implementation public func rtms_set_user_data(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ user_data: UnsafeMutableRawPointer?) -> Int32 {
    guard let h = handle(sdk, "rtms_set_user_data") else { return Code.notExist }
    guard h.withStruct({ $0.pointee.user_data = user_data }) else { return fail(Code.notExist, "rtms_set_user_data: the handle was released") }
    return Code.ok
}

@c @implementation public func rtms_get_user_data(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> UnsafeMutableRawPointer? {
    guard let h = handle(sdk, "rtms_get_user_data") else { return nil }
    var data: UnsafeMutableRawPointer? = nil
    h.withStruct { data = $0.pointee.user_data }
    return data
}

// MARK: - Configuration

@c @implementation public func rtms_config(
    _ sdk: UnsafeMutablePointer<rtms_csdk>?, _ params: UnsafeMutablePointer<media_parameters>?, _ media_types: Int32, _ ale: Int32
) -> Int32 {
    guard let h = handle(sdk, "rtms_config") else { return Code.notExist }
    guard ale == 0 else { return fail(Code.invalidArgs, "rtms_config: application-layer encryption (ale) is not supported; pass 0") }
    do {
        var mp = MediaParams()
        if let params { mp = try mediaParams(params.pointee) }
        try h.client.configure(mediaTypes: Int(media_types), params: mp)
    } catch {
        return fail(Int32(error.code), "rtms_config: \(error.message)")
    }
    return Code.ok
}

@c @implementation public func rtms_set_callbacks(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ ops: UnsafeMutablePointer<rtms_csdk_ops>?) -> Int32 {
    guard let h = handle(sdk, "rtms_set_callbacks") else { return Code.notExist }
    h.ops = ops?.pointee ?? rtms_csdk_ops()
    return Code.ok
}

@c @implementation public func rtms_set_ext_callbacks(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ ops: UnsafePointer<rtms_ext_ops>?) -> Int32 {
    guard let h = handle(sdk, "rtms_set_ext_callbacks") else { return Code.notExist }
    guard let ops else { h.ext = ExtOps(); return Code.ok }
    // Only the bytes of the version given are read (a version 1 table ends before the version 2
    // field): they are copied into a zeroed table of this version, which is then read.
    let version = UnsafeRawPointer(ops).load(as: UInt32.self)
    guard version >= 1 && version <= 2 else {
        return fail(Code.invalidArgs, "rtms_set_ext_callbacks: version \(version) unknown (this library knows 1 and 2)")
    }
    var table = rtms_ext_ops()
    let size = version >= 2 ? MemoryLayout<rtms_ext_ops>.size : MemoryLayout<rtms_ext_ops>.offset(of: \rtms_ext_ops.on_participant_event)!
    withUnsafeMutableBytes(of: &table) { $0.copyMemory(from: UnsafeRawBufferPointer(start: ops, count: size)) }
    var ext = ExtOps(
        onChat: table.on_chat_data, onStreamState: table.on_stream_state, onStreamClosed: table.on_stream_closed,
        onError: table.on_error, onFirstPacket: table.on_first_packet, onActiveSpeaker: table.on_active_speaker,
        onSharing: table.on_sharing, onMediaInterrupted: table.on_media_interrupted,
        onParticipantVideo: table.on_participant_video, onVideoSubscriptResp: table.on_video_subscript_resp,
        onReconnecting: table.on_reconnecting, onReconnected: table.on_reconnected)
    if version >= 2 { ext.onParticipantEvent = table.on_participant_event }
    h.ext = ext
    return Code.ok
}

@c @implementation public func rtms_options_init(_ opts: UnsafeMutablePointer<rtms_options>?, _ version: UInt32) -> Int32 {
    guard let opts else { return fail(Code.invalidArgs, "rtms_options_init: opts is NULL") }
    guard version == 1 else { return fail(Code.invalidArgs, "rtms_options_init: version \(version) unknown (this library knows 1)") }
    opts.pointee = rtms_options(
        version: 1, poll_wait_ms: 10, connect_timeout_ms: 10000, queue_max_bytes: 64 << 20,
        drop_when_full: 0, max_message_bytes: 64 << 20, client_id: nil, client_secret: nil,
        ca_path: nil, verify_cert: -1, buffer_data: -1, client_agent: nil,
        reconnect_max_attempts: -1, reconnect_base_delay_ms: -1, connection_max_attempts: -1,
        connection_retry_delay_ms: -1, keepalive_interval_ms: -1, keepalive_timeout_ms: -1)
    return Code.ok
}

@c @implementation public func rtms_options_size() -> Int32 { Int32(MemoryLayout<rtms_options>.size) }

@c @implementation public func rtms_set_options(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ opts: UnsafePointer<rtms_options>?) -> Int32 {
    guard let h = handle(sdk, "rtms_set_options") else { return Code.notExist }
    guard let o = opts?.pointee else { return fail(Code.invalidArgs, "rtms_set_options: opts is NULL") }
    guard o.version == 1 else { return fail(Code.invalidArgs, "rtms_set_options: version \(o.version) unknown (this library knows 1); use rtms_options_init") }
    guard o.poll_wait_ms >= -1 else { return fail(Code.invalidArgs, "rtms_set_options: poll_wait_ms must be >= -1") }
    guard o.queue_max_bytes >= 0, o.max_message_bytes >= 0, o.connect_timeout_ms >= 0 else {
        return fail(Code.invalidArgs, "rtms_set_options: sizes and timeouts must not be negative")
    }
    guard o.connection_max_attempts != 0 else { return fail(Code.invalidArgs, "rtms_set_options: connection_max_attempts must be >= 1 (or -1)") }
    var cfg = h.client.config
    let env = ClientConfig.fromEnvironment()
    if o.connect_timeout_ms > 0 {
        cfg.transport.connectTimeoutMilliseconds = Int(o.connect_timeout_ms)
        cfg.policy.attemptTimeoutMs = Int(o.connect_timeout_ms)
    }
    cfg.policy.maxAttempts = o.reconnect_max_attempts >= 0 ? Int(o.reconnect_max_attempts) : env.policy.maxAttempts
    cfg.policy.baseDelayMs = o.reconnect_base_delay_ms >= 0 ? Int(o.reconnect_base_delay_ms) : env.policy.baseDelayMs
    cfg.policy.connectMaxAttempts = o.connection_max_attempts > 0 ? Int(o.connection_max_attempts) : env.policy.connectMaxAttempts
    cfg.policy.connectRetryDelayMs = o.connection_retry_delay_ms >= 0 ? Int(o.connection_retry_delay_ms) : env.policy.connectRetryDelayMs
    cfg.keepAliveIntervalMs = o.keepalive_interval_ms > 0 ? max(3000, Int(o.keepalive_interval_ms)) : env.keepAliveIntervalMs
    cfg.keepAliveTimeoutMs = o.keepalive_timeout_ms >= 0 ? Int(o.keepalive_timeout_ms) : env.keepAliveTimeoutMs
    if o.queue_max_bytes > 0 {
        cfg.queue.highWaterBytes = Int(o.queue_max_bytes)
        cfg.queue.lowWaterBytes = Int(o.queue_max_bytes) / 4
    }
    cfg.queue.dropWhenFull = o.drop_when_full != 0
    if o.max_message_bytes > 0 { cfg.transport.maxMessageBytes = max(1024, Int(o.max_message_bytes)) }
    cfg.clientID = str(o.client_id)
    cfg.clientSecret = str(o.client_secret)
    cfg.bufferData = o.buffer_data < 0 ? nil : o.buffer_data != 0
    h.client.config = cfg
    var ho = h.options
    ho.pollWaitMilliseconds = Int(o.poll_wait_ms)
    ho.caPath = o.ca_path == nil ? .none : .some(str(o.ca_path).flatMap { $0.isEmpty ? nil : $0 })
    ho.verify = o.verify_cert < 0 ? nil : o.verify_cert != 0
    ho.clientAgent = str(o.client_agent)
    h.options = ho
    return Code.ok
}

@c @implementation public func rtms_set_proxy(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ type: UnsafePointer<CChar>?, _ url: UnsafePointer<CChar>?) -> Int32 {
    guard let h = handle(sdk, "rtms_set_proxy") else { return Code.notExist }
    let t = (str(type) ?? "http").lowercased()
    guard t == "http" || t == "https" || t.isEmpty else {
        return fail(Code.invalidArgs, "rtms_set_proxy: proxy type '\(t)' is not \"http\" or \"https\"")
    }
    var u = str(url) ?? ""
    if !u.isEmpty {
        if !u.contains("://") {
            u = "\(t.isEmpty ? "http" : t)://\(u)"
        } else if t == "https", u.hasPrefix("http://") {
            u = "https://" + u.dropFirst("http://".count)
        }
        do { _ = try ProxyURLCheck.check(u) } catch {
            return fail(Code.invalidArgs, "rtms_set_proxy: \(error)")
        }
    }
    var cfg = h.client.config
    cfg.transport.proxyURL = u.isEmpty ? nil : u
    h.client.config = cfg
    return Code.ok
}

// MARK: - Join, poll, leave

func effectiveConfig(_ h: Handle) -> ClientConfig {
    let g = globalsLock.withLock { globals }
    let o = h.options
    var cfg = h.client.config
    switch o.caPath {
    case .none: cfg.transport.caPath = g.caPath
    case .some(let p): cfg.transport.caPath = p
    }
    cfg.transport.verifyCertificate = o.verify ?? g.verify
    var agent = o.clientAgent ?? "openrtms-\(OpenRTMSVersion.string)"
    if o.clientAgent == nil, let a = g.agent { agent += "-\(a)" }
    cfg.clientAgent = agent
    return cfg
}

func setIDs(_ h: Handle, _ instance: String, _ stream: String) {
    h.withStruct { sdk in
        free(sdk.pointee.meeting_uuid)
        free(sdk.pointee.rtms_stream_id)
        sdk.pointee.meeting_uuid = strdup(instance)
        sdk.pointee.rtms_stream_id = strdup(stream)
    }
}

@c @implementation public func rtms_join(
    _ sdk: UnsafeMutablePointer<rtms_csdk>?, _ meeting_uuid: UnsafePointer<CChar>?, _ rtms_stream_id: UnsafePointer<CChar>?, _ signature: UnsafePointer<CChar>?,
    _ server_url: UnsafePointer<CChar>?, _ timeout: Int32
) -> Int32 {
    guard let h = handle(sdk, "rtms_join") else { return Code.notExist }
    let instance = str(meeting_uuid) ?? ""
    let stream = str(rtms_stream_id) ?? ""
    h.client.config = effectiveConfig(h)
    do {
        try h.client.join(
            instanceID: instance, streamID: stream, signature: str(signature),
            serverURLs: str(server_url) ?? "", timeoutMilliseconds: Int(timeout))
    } catch {
        return fail(Int32(error.code), "rtms_join: \(error.message)")
    }
    setIDs(h, instance, stream)
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_resolve_join(_ payload_json: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    guard let out else { return -fail(Code.invalidArgs, "rtms_resolve_join: out is NULL") }
    guard let text = str(payload_json) else { return -fail(Code.invalidArgs, "rtms_resolve_join: payload is NULL") }
    do {
        let start = try RTMSClient.streamStart(json: text)
        let signature = try RTMSClient.resolveJoin(
            instanceID: start.instanceID, streamID: start.streamID, signature: start.signature, serverURLs: start.serverURLs,
            credentials: [(getenvString("ZM_RTMS_CLIENT"), getenvString("ZM_RTMS_SECRET")), (start.clientID, start.clientSecret)])
        let json = JSON.string(
            .object([
                "instance_id": .string(start.instanceID), "rtms_stream_id": .string(start.streamID),
                "server_urls": .string(start.serverURLs), "signature": .string(signature),
            ]))
        guard let p = mallocString(Array(json.utf8)) else { return -fail(Code.failure, "rtms_resolve_join: out of memory") }
        out.pointee = p
        clearLastError()
        return Int32(json.utf8.count)
    } catch {
        return -fail(Int32(error.code), "rtms_resolve_join: \(error.message)")
    }
}

@c @implementation public func rtms_join_payload(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ payload_json: UnsafePointer<CChar>?, _ timeout: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_join_payload") else { return Code.notExist }
    guard let text = str(payload_json) else { return fail(Code.invalidArgs, "rtms_join_payload: payload is NULL") }
    h.client.config = effectiveConfig(h)
    let start: StreamStart
    do {
        start = try RTMSClient.streamStart(json: text)
        try h.client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: start.signature,
            serverURLs: start.serverURLs, timeoutMilliseconds: Int(timeout), clientID: start.clientID,
            clientSecret: start.clientSecret)
    } catch {
        return fail(Int32(error.code), "rtms_join_payload: \(error.message)")
    }
    setIDs(h, start.instanceID, start.streamID)
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_feed_webhook(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ body: UnsafePointer<CChar>?, _ size: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_feed_webhook") else { return Code.notExist }
    guard let body else { return fail(Code.invalidArgs, "rtms_feed_webhook: body is NULL") }
    let bytes = size >= 0 ? Array(UnsafeRawBufferPointer(start: body, count: Int(size))) : Array(String(cString: body).utf8)
    let v: JSONValue
    do { v = try JSON.parse(bytes) } catch { return fail(Code.invalidArgs, "rtms_feed_webhook: \(error)") }
    guard let event = v["event"]?.stringValue, let (_, kind) = Product.parse(event: event), let payload = v["payload"]?.objectValue else {
        return fail(Code.invalidArgs, "rtms_feed_webhook: not an RTMS started/interrupted/stopped event")
    }
    let stream = payload["rtms_stream_id"]?.stringValue ?? ""
    guard !stream.isEmpty, stream == h.client.streamID, h.client.phase != .idle else {
        return fail(Code.notExist, "rtms_feed_webhook: the event is for stream '\(stream)', this handle has '\(h.client.streamID)'")
    }
    switch kind {
    case "started":
        guard let urls = payload["server_urls"]?.stringValue else { return fail(Code.invalidArgs, "rtms_feed_webhook: rtms_started without server_urls") }
        h.client.failover(serverURLs: urls)
    case "interrupted":
        h.client.interrupted(serverURLs: payload["server_urls"]?.stringValue)
    default:
        h.client.stopped(reason: Int(payload["stop_reason"]?.intValue ?? 0))
    }
    return Code.ok
}

@c @implementation public func rtms_poll(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let h = handle(sdk, "rtms_poll") else { return Code.notExist }
    let r = h.poll(maxEvents: Int.max, waitMilliseconds: h.options.pollWaitMilliseconds)
    return r < 0 ? -r : Code.ok
}

@c @implementation public func rtms_poll_ex(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ max_events: Int32, _ timeout_ms: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_poll_ex") else { return -Code.notExist }
    return h.poll(maxEvents: max_events <= 0 ? Int.max : Int(max_events), waitMilliseconds: Int(max(-1, timeout_ms)))
}

@c @implementation public func rtms_wait(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ timeout_ms: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_wait") else { return -Code.notExist }
    let pending = h.client.queue.wait(milliseconds: Int(max(-1, timeout_ms)))
    if h.isReleased { return -fail(Code.notExist, "rtms_wait: the handle was released while waiting") }
    return pending ? 1 : 0
}

@c @implementation public func rtms_get_wake_fd(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let h = handle(sdk, "rtms_get_wake_fd") else { return -Code.notExist }
    let fd = h.client.queue.wakeFD
    return fd >= 0 ? fd : fail(Code.failure, "rtms_get_wake_fd: no wake fd (pipe creation failed)")
}

@c @implementation public func rtms_leave(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let h = handle(sdk, "rtms_leave") else { return Code.notExist }
    h.client.leave()
    return Code.ok
}

@c @implementation public func rtms_close_stream(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let h = handle(sdk, "rtms_close_stream") else { return Code.notExist }
    do { try h.client.closeStream() } catch { return fail(Int32(error.code), "rtms_close_stream: \(error.message)") }
    return Code.ok
}

@c @implementation public func rtms_get_state(_ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let h = handle(sdk, "rtms_get_state") else { return -Code.notExist }
    if h.client.isReconnecting { return 5 }
    switch h.client.phase {
    case .idle: return 0
    case .connectingSignaling, .signalingHandshake: return 1
    case .mediaHandshake: return 2
    case .ready, .ending: return 3
    case .ended: return 4
    }
}

func eventList(_ events: UnsafeMutablePointer<Int32>?, _ n: Int32, _ fn: String) -> Result<[Int], ClientError> {
    guard n >= 0 else { return .failure(ClientError(ClientError.invalidArgs, "\(fn): n is negative")) }
    guard n == 0 || events != nil else { return .failure(ClientError(ClientError.invalidArgs, "\(fn): events is NULL")) }
    guard n <= 64 else { return .failure(ClientError(ClientError.invalidArgs, "\(fn): more than 64 event types")) }
    var list: [Int] = []
    for i in 0..<Int(n) {
        let e = Int(events![i])
        guard e >= 1 && e <= 255 else {
            return .failure(ClientError(ClientError.invalidArgs, "\(fn): event type \(e) is not a positive RTMS_EVENT_TYPE"))
        }
        list.append(e)
    }
    return .success(list)
}

@c @implementation public func rtms_subscribe_event(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ events: UnsafeMutablePointer<Int32>?, _ n: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_subscribe_event") else { return Code.notExist }
    switch eventList(events, n, "rtms_subscribe_event") {
    case .failure(let e): return fail(e)
    case .success(let list): h.client.subscribe(events: list, on: true)
    }
    return Code.ok
}

@c @implementation public func rtms_unsubscribe_event(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ events: UnsafeMutablePointer<Int32>?, _ n: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_unsubscribe_event") else { return Code.notExist }
    switch eventList(events, n, "rtms_unsubscribe_event") {
    case .failure(let e): return fail(e)
    case .success(let list): h.client.subscribe(events: list, on: false)
    }
    return Code.ok
}

@c @implementation public func rtms_send_subscript_video(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ user_id: Int32, _ is_sub: Int32) -> Int32 {
    guard let h = handle(sdk, "rtms_send_subscript_video") else { return Code.notExist }
    h.client.subscribeVideo(userID: Int64(UInt32(bitPattern: user_id)), on: is_sub != 0)
    return Code.ok
}

// MARK: - Stats and utilities

@c @implementation public func rtms_get_stats(_ sdk: UnsafeMutablePointer<rtms_csdk>?, _ out: UnsafeMutablePointer<rtms_stats>?) -> Int32 {
    guard let h = handle(sdk, "rtms_get_stats") else { return Code.notExist }
    guard let out else { return fail(Code.invalidArgs, "rtms_get_stats: out is NULL") }
    guard out.pointee.version == 1 else {
        return fail(Code.invalidArgs, "rtms_get_stats: set out->version to RTMS_STATS_VERSION (1)")
    }
    let c = h.client.counters
    var s = rtms_stats()
    s.version = 1
    withUnsafeMutableBytes(of: &s.media_messages) { raw in
        let p = raw.bindMemory(to: UInt64.self)
        for i in 0..<min(5, p.count) { p[i] = UInt64(c.mediaQueued[i]) }
    }
    s.media_bytes = UInt64(c.mediaBytesQueued)
    s.control_events = UInt64(c.controlQueued)
    s.delivered = UInt64(c.delivered)
    s.dropped_queue_full = UInt64(c.droppedQueueFull)
    s.dropped_malformed = UInt64(c.droppedMalformed)
    s.dropped_unexpected = UInt64(c.droppedUnexpected)
    s.read_pauses = UInt64(c.readPauses)
    s.queue_high_water_bytes = UInt64(c.queueHighWaterBytes)
    s.keepalives_answered = UInt64(c.keepAlivesAnswered)
    s.reconnect_attempts = UInt64(c.reconnectAttempts)
    s.rejoins = UInt64(c.rejoins)
    s.media_reconnects = UInt64(c.mediaReconnects)
    s.max_gap_ms = UInt64(c.maxGapMs)
    out.pointee = s
    return Code.ok
}

@c @implementation public func rtms_generate_signature(
    _ client_id: UnsafePointer<CChar>?, _ client_secret: UnsafePointer<CChar>?, _ instance_id: UnsafePointer<CChar>?, _ rtms_stream_id: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<CChar>?, _ out_len: Int32
) -> Int32 {
    guard let id = str(client_id), !id.isEmpty else { return fail(Code.invalidArgs, "rtms_generate_signature: client_id is empty") }
    guard let secret = str(client_secret), !secret.isEmpty else { return fail(Code.invalidArgs, "rtms_generate_signature: client_secret is empty") }
    return sign(id, secret, instance_id, rtms_stream_id, out, out_len, "rtms_generate_signature")
}

import RTMSTransport

enum ProxyURLCheck {
    static func check(_ u: String) throws -> EndpointURL { try EndpointURL(parsing: u, proxy: true) }
}
