// The fleet in the C ABI: rtms_fleet_* of include/openrtms.h.
//
// A fleet handle is RTMSFleet's FleetNode (the engine of `rtms serve`) with its webhook intake,
// seen the way the C ABI sees everything: assignments and revocations are delivered inside
// rtms_fleet_poll() on the caller's thread (never on a NIO event loop or the Swift task pool),
// and the application's client handles (struct rtms_csdk) are joined and attached through
// rtms_fleet_join(). One return convention for the family, the webhook family's: >= 0 on
// success, negative on every error (`whFail`). Nothing here may trap: a trap kills the host.

import CRTMS
import Logging
import NIOConcurrencyHelpers
import RTMSClient
import RTMSFleet
import RTMSProtocol
import RTMSWebhook

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public typealias FleetAssignedCB =
    @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, Int64, UnsafePointer<CChar>?,
        UnsafePointer<CChar>?, UnsafeMutableRawPointer?
    ) -> Void
public typealias FleetRevokedCB =
    @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, Int64, UnsafePointer<CChar>?,
        UnsafeMutableRawPointer?
    ) -> Void

/// Versions of struct rtms_fleet_options this library knows.
private let fleetOptionsVersions: ClosedRange<UInt32> = 1...1

private enum FleetDefaults {
    static let maxStreams = 100
    static let leaseMs = 10_000
    static let renewMs = 2_000
    static let marginMs = 2_000
    static let startTimeoutMs = 60_000
}

final class FleetHandle: @unchecked Sendable {
    /// An assignment delivered to the application and not yet revoked or done.
    struct Assignment {
        let generation: Int64
        let start: StreamStart
        /// Joined through rtms_fleet_join() (or being joined).
        var joined = false
    }

    let token: OpaquePointer
    let node: FleetNode
    let server: WebhookServer
    private let onAssigned: FleetAssignedCB?
    private let onRevoked: FleetRevokedCB?
    private let userData: UnsafeMutableRawPointer?
    private let lock = NIOLock()
    private var assignments: [String: Assignment] = [:]
    private let gate = PollGate()
    /// Wakes a poll waiting on another thread when the fleet is released.
    private let stopPipe = WakePipe()

    init(
        token: OpaquePointer, node: FleetNode, server: WebhookServer, onAssigned: FleetAssignedCB?, onRevoked: FleetRevokedCB?,
        userData: UnsafeMutableRawPointer?
    ) {
        self.token = token
        self.node = node
        self.server = server
        self.onAssigned = onAssigned
        self.onRevoked = onRevoked
        self.userData = userData
    }

    // MARK: Assignments

    enum JoinClaim { case unknown, busy, ok(StreamStart) }

    /// Marks an assignment as being joined.
    func claimForJoin(_ streamID: String, _ generation: Int64) -> JoinClaim {
        lock.withLock {
            guard var a = assignments[streamID], a.generation == generation else { return .unknown }
            guard !a.joined else { return .busy }
            a.joined = true
            assignments[streamID] = a
            return .ok(a.start)
        }
    }

    /// The join did not happen: the assignment may be joined again.
    func unclaim(_ streamID: String, _ generation: Int64) {
        lock.withLock {
            guard var a = assignments[streamID], a.generation == generation else { return }
            a.joined = false
            assignments[streamID] = a
        }
    }

    /// Forgets an assignment; false when there was none under that generation.
    @discardableResult
    func forget(_ streamID: String, _ generation: Int64) -> Bool {
        lock.withLock {
            guard let a = assignments[streamID], a.generation == generation else { return false }
            assignments[streamID] = nil
            return true
        }
    }

    // MARK: Poll and release

    func poll(waitMs: Int) -> Int32 {
        switch gate.enter() {
        case .nested: return whFail(Code.invalidStatus, "rtms_fleet_poll called from inside its own callback")
        case .released: return whFail(Code.notExist, "rtms_fleet_poll: the fleet was released")
        case .entered: break
        }
        var items = node.takeAssignments()
        if items.isEmpty && waitMs != 0 {
            waitForWork(waitMs)
            if !gate.isReleased { items = node.takeAssignments() }
        }
        var n: Int32 = 0
        for item in items {
            if gate.isReleased { break }
            switch item {
            case .start(let s):
                n += 1
                deliverAssigned(s)
            case .finished(let id, let generation):
                // Ended by the node (the handle's session was over, rtms_fleet_done() not called).
                forget(id, generation)
            case .revoke(let id, let generation, let reason):
                // Only what the application was told of is revoked to it.
                guard forget(id, generation) else { continue }
                n += 1
                guard let cb = onRevoked else { continue }
                id.withCString { i in reason.withCString { r in cb(token, i, generation, r, userData) } }
            }
        }
        if gate.exit() {
            free(UnsafeMutableRawPointer(token))
            return whFail(Code.notExist, "rtms_fleet_poll: the fleet was released during the poll")
        }
        return n
    }

    private func deliverAssigned(_ s: FleetStream) {
        let json = JSON.string(.object(s.payload))
        lock.withLock { assignments[s.streamID] = Assignment(generation: s.generation, start: s.start) }
        guard let cb = onAssigned else {
            // Only an intake-only fleet (max_streams 0) has no callback, and it never claims.
            forget(s.streamID, s.generation)
            node.detach(streamID: s.streamID, generation: s.generation, reason: nil, note: "the application has no on_assigned callback")
            return
        }
        s.streamID.withCString { id in
            json.withCString { payload in
                if let prev = s.previousOwner {
                    prev.withCString { p in cb(token, id, s.generation, payload, p, userData) }
                } else {
                    cb(token, id, s.generation, payload, nil, userData)
                }
            }
        }
    }

    /// Sleeps until the node has something for the application, the fleet is released, or
    /// `milliseconds` pass (< 0: no limit).
    private func waitForWork(_ milliseconds: Int) {
        var fds = [
            pollfd(fd: node.wakeFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stopPipe.fd, events: Int16(POLLIN), revents: 0),
        ]
        let deadline = milliseconds < 0 ? Int64.max : nowMs() + Int64(milliseconds)
        while !gate.isReleased {
            let left = milliseconds < 0 ? Int32(-1) : Int32(clamping: max(0, deadline - nowMs()))
            let rc = pollDescriptors(&fds, left)
            if rc >= 0 || errno != EINTR { return }
        }
    }

    /// Stops the node (leaving and handing back every stream) and the intake. A poll running on
    /// another thread is woken and waited for (it frees the token when it returns); from inside a
    /// callback the running poll frees it.
    func release() {
        let state = gate.markReleased()
        lock.withLock { stopPipe.signal() }
        node.stop(release: true)
        server.stop()
        lock.withLock { assignments.removeAll() }
        switch state {
        case .freeNow: free(UnsafeMutableRawPointer(token))
        case .pollOnThisThread: break
        case .pollOnAnotherThread: gate.waitForPoll()
        }
    }
}

/// poll(2) (a free function: inside FleetHandle, `poll` names its method).
private func pollDescriptors(_ fds: inout [pollfd], _ timeoutMs: Int32) -> Int32 {
    poll(&fds, nfds_t(fds.count), timeoutMs)
}

private func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

let fleetRegistry = TokenRegistry<FleetHandle>()

private func fleetHandle(_ p: OpaquePointer?, _ function: StaticString) -> FleetHandle? {
    guard let p else {
        setLastError("\(function): the fleet is NULL")
        return nil
    }
    guard let h = fleetRegistry.lookup(p) else {
        setLastError("\(function): not a live fleet (released or never created)")
        return nil
    }
    return h
}

/// A stream id argument: non-NULL, non-empty, at most 1024 bytes.
private func streamIDArgument(_ p: UnsafePointer<CChar>?, _ function: String) -> Result<String, ClientError> {
    guard let p else { return .failure(ClientError(ClientError.invalidArgs, "\(function): rtms_stream_id is NULL")) }
    let n = strnlen(p, 1025)
    guard n > 0 else { return .failure(ClientError(ClientError.invalidArgs, "\(function): rtms_stream_id is empty")) }
    guard n <= 1024 else { return .failure(ClientError(ClientError.invalidArgs, "\(function): rtms_stream_id is longer than 1024 bytes")) }
    return .success(String(cString: p))
}

private func localHostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "node" }
    let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "node" : name
}

// MARK: - Functions

@c @implementation public func rtms_fleet_options_init(_ opts: UnsafeMutablePointer<rtms_fleet_options>?, _ version: UInt32) -> Int32 {
    guard let opts else { return whFail(Code.invalidArgs, "rtms_fleet_options_init: opts is NULL") }
    guard fleetOptionsVersions.contains(version) else {
        return whFail(Code.invalidArgs, "rtms_fleet_options_init: version \(version) unknown (this library knows 1)")
    }
    opts.pointee = rtms_fleet_options(
        version: version, database_url: nil, node_id: nil, max_streams: -1, lease_ms: -1,
        renew_ms: -1, lease_margin_ms: -1, advertise_url: nil, host: nil, port: -1, path: nil,
        secret_token: nil, cert_path: nil, key_path: nil, start_timeout_ms: -1)
    clearLastError()
    return Code.ok
}

/// What rtms_fleet_create() needs, read from the options over the environment; an error text when invalid.
private struct FleetSetup {
    var config: FleetConfig
    var webhook: WebhookSettings
    var advertiseURL: String?
    var startTimeoutMs: Int
}

private func fleetSetup(_ opts: UnsafePointer<rtms_fleet_options>?, hasAssigned: Bool) -> Result<FleetSetup, ClientError> {
    let fn = "rtms_fleet_create"
    func bad(_ text: String) -> Result<FleetSetup, ClientError> { .failure(ClientError(ClientError.invalidArgs, "\(fn): \(text)")) }
    var o = rtms_fleet_options(
        version: 1, database_url: nil, node_id: nil, max_streams: -1, lease_ms: -1, renew_ms: -1,
        lease_margin_ms: -1, advertise_url: nil, host: nil, port: -1, path: nil, secret_token: nil,
        cert_path: nil, key_path: nil, start_timeout_ms: -1)
    if let opts {
        guard fleetOptionsVersions.contains(opts.pointee.version) else {
            return bad("options version \(opts.pointee.version) unknown (this library knows 1); use rtms_fleet_options_init")
        }
        o = opts.pointee
    }
    // The database.
    guard let urlText = str(o.database_url) ?? getenvString("RTMS_DATABASE_URL") else {
        return bad("no database URL: set database_url or RTMS_DATABASE_URL (postgres://user[:password]@host[:port]/database)")
    }
    let url: DatabaseURL
    do { url = try DatabaseURL(urlText) } catch { return bad("database URL: \(error.description)") }
    // The node.
    let nodeID: String
    if let id = str(o.node_id) {
        guard !id.isEmpty else { return bad("node_id is empty (NULL: \"<hostname>-<pid>\")") }
        nodeID = id
    } else {
        nodeID = "\(localHostName())-\(getpid())"
    }
    var fc = FleetConfig(databaseURL: url, nodeID: nodeID)
    let numbers: [(Int32, WritableKeyPath<FleetConfig, Int>, Int, String, Int32)] = [
        (o.max_streams, \.maxStreams, FleetDefaults.maxStreams, "max_streams", 0),
        (o.lease_ms, \.leaseMs, FleetDefaults.leaseMs, "lease_ms", 1),
        (o.renew_ms, \.renewMs, FleetDefaults.renewMs, "renew_ms", 1),
        (o.lease_margin_ms, \.marginMs, FleetDefaults.marginMs, "lease_margin_ms", 1),
    ]
    for (v, key, def, name, minimum) in numbers {
        if v == -1 {
            fc[keyPath: key] = def
        } else {
            guard v >= minimum else { return bad("\(name) \(v) is not -1 (default) or >= \(minimum)") }
            fc[keyPath: key] = Int(v)
        }
    }
    guard hasAssigned || fc.maxStreams == 0 else {
        return bad("on_assigned is NULL: a fleet that claims streams (max_streams > 0) needs it")
    }
    let timeout: Int
    if o.start_timeout_ms == -1 {
        timeout = FleetDefaults.startTimeoutMs
    } else {
        guard o.start_timeout_ms > 0 else { return bad("start_timeout_ms \(o.start_timeout_ms) is not -1 (default) or positive") }
        timeout = Int(o.start_timeout_ms)
    }
    let advertise = str(o.advertise_url) ?? getenvString("RTMS_ADVERTISE_URL")
    if let a = advertise {
        guard !a.isEmpty else { return bad("advertise_url is empty") }
        fc.advertiseURL = a
    }
    do { try fc.validate() } catch { return bad(error.description) }
    // The intake, as `rtms serve`'s: the database's unique key is the dedupe (across nodes; a
    // delivery answered 503 must not be remembered as seen), so the in-memory one is off.
    var ws = WebhookSettings.fromEnvironment()
    guard o.port >= -1, o.port <= 65535 else { return bad("port \(o.port) is not -1 or 0...65535") }
    if o.port >= 0 { ws.port = Int(o.port) }
    if let h = str(o.host), !h.isEmpty { ws.host = h }
    if let p = str(o.path) {
        guard p.hasPrefix("/") else { return bad("path '\(p)' must start with /") }
        ws.path = p
    }
    if let t = str(o.secret_token) { ws.secretToken = t.isEmpty ? nil : t }
    if let c = str(o.cert_path) { ws.certificatePath = c.isEmpty ? nil : c }
    if let k = str(o.key_path) { ws.keyPath = k.isEmpty ? nil : k }
    guard (ws.certificatePath == nil) == (ws.keyPath == nil) else { return bad("HTTPS needs both cert_path and key_path") }
    ws.dedupeCapacity = 0
    return .success(FleetSetup(config: fc, webhook: ws, advertiseURL: advertise, startTimeoutMs: timeout))
}

@c @implementation public func rtms_fleet_create(
    _ opts: UnsafePointer<rtms_fleet_options>?, _ on_assigned: FleetAssignedCB?,
    _ on_revoked: FleetRevokedCB?, _ user_data: UnsafeMutableRawPointer?
) -> OpaquePointer? {
    let setup: FleetSetup
    switch fleetSetup(opts, hasAssigned: on_assigned != nil) {
    case .failure(let e):
        setLastError(e.message)
        return nil
    case .success(let s): setup = s
    }
    var fc = setup.config
    let slot = FleetNodeSlot()
    let server: WebhookServer
    do {
        server = try WebhookServer(endpoint: WebhookEndpoint(settings: setup.webhook, router: { _ in false }), hooks: slot.hooks)
    } catch {
        setLastError("rtms_fleet_create: the intake: \(error)")
        return nil
    }
    fc.webhookPort = server.port
    if setup.advertiseURL == nil {
        let everywhere = ["0.0.0.0", "::", ""].contains(setup.webhook.host)
        let host = everywhere ? localHostName() : setup.webhook.host
        fc.advertiseURL = "http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
    }
    let logger = Runtime.logger
    let name = fc.nodeID
    fc.log = { logger.info("fleet node \(name): \($0)") }
    let node: FleetNode
    do {
        node = try FleetNode(config: fc)
        try node.start(timeoutMs: setup.startTimeoutMs)
    } catch {
        server.stop()
        setLastError("rtms_fleet_create: \(error)")
        return nil
    }
    slot.node = node
    guard let raw = malloc(16) else {
        node.stop(release: true)
        server.stop()
        setLastError("rtms_fleet_create: out of memory")
        return nil
    }
    let token = OpaquePointer(raw)
    fleetRegistry.add(
        token,
        FleetHandle(
            token: token, node: node, server: server, onAssigned: on_assigned, onRevoked: on_revoked,
            userData: user_data))
    clearLastError()
    return token
}

@c @implementation public func rtms_fleet_poll(_ fleet: OpaquePointer?, _ timeout_ms: Int32) -> Int32 {
    guard let f = fleetHandle(fleet, "rtms_fleet_poll") else { return -Code.notExist }
    guard timeout_ms >= -1 else {
        setLastError("rtms_fleet_poll: timeout_ms must be >= -1 (-1 waits until something happens), got \(timeout_ms)")
        return -Code.invalidArgs
    }
    return f.poll(waitMs: Int(timeout_ms))
}

@c @implementation public func rtms_fleet_get_wake_fd(_ fleet: OpaquePointer?) -> Int32 {
    guard let f = fleetHandle(fleet, "rtms_fleet_get_wake_fd") else { return -Code.notExist }
    let fd = f.node.wakeFD
    return fd >= 0 ? fd : whFail(Code.failure, "rtms_fleet_get_wake_fd: no wake fd (pipe creation failed)")
}

@c @implementation public func rtms_fleet_port(_ fleet: OpaquePointer?) -> Int32 {
    guard let f = fleetHandle(fleet, "rtms_fleet_port") else { return -Code.notExist }
    return Int32(clamping: f.server.port)
}

@c @implementation public func rtms_fleet_join(
    _ fleet: OpaquePointer?, _ rtms_stream_id: UnsafePointer<CChar>?, _ generation: Int64,
    _ sdk: UnsafeMutablePointer<rtms_csdk>?, _ timeout_ms: Int32
) -> Int32 {
    let fn = "rtms_fleet_join"
    guard let f = fleetHandle(fleet, "rtms_fleet_join") else { return -Code.notExist }
    let id: String
    switch streamIDArgument(rtms_stream_id, fn) {
    case .failure(let e): return whFail(Code.invalidArgs, e.message)
    case .success(let s): id = s
    }
    guard generation > 0 else { return whFail(Code.invalidArgs, "\(fn): generation \(generation) is not positive") }
    guard let sdk else { return whFail(Code.invalidArgs, "\(fn): the client handle is NULL") }
    guard let h = handle(sdk, "rtms_fleet_join") else { return -Code.notExist }
    let start: StreamStart
    switch f.claimForJoin(id, generation) {
    case .unknown:
        return whFail(Code.notExist, "\(fn): stream \(id) generation \(generation) is not assigned to this node (never assigned, revoked, or done)")
    case .busy:
        return whFail(Code.invalidStatus, "\(fn): stream \(id) generation \(generation) was joined already")
    case .ok(let s): start = s
    }
    h.client.config = effectiveConfig(h)
    do {
        try h.client.join(
            instanceID: start.instanceID, streamID: start.streamID, signature: start.signature,
            serverURLs: start.serverURLs, timeoutMilliseconds: Int(timeout_ms))
    } catch {
        f.unclaim(id, generation)
        let code = Int32(clamping: error.code)
        return whFail(code > 0 ? code : Code.failure, "\(fn): \(error.message)")
    }
    setIDs(h, start.instanceID, start.streamID)
    // From here the node routes the stream's webhooks to this client and leaves it on lease loss.
    guard f.node.attach(streamID: id, generation: generation, client: h.client) else {
        f.forget(id, generation)
        return whFail(Code.notExist, "\(fn): stream \(id) generation \(generation) was revoked meanwhile; the handle has been left")
    }
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_fleet_done(
    _ fleet: OpaquePointer?, _ rtms_stream_id: UnsafePointer<CChar>?, _ generation: Int64,
    _ stop_reason: Int32
) -> Int32 {
    let fn = "rtms_fleet_done"
    guard let f = fleetHandle(fleet, "rtms_fleet_done") else { return -Code.notExist }
    let id: String
    switch streamIDArgument(rtms_stream_id, fn) {
    case .failure(let e): return whFail(Code.invalidArgs, e.message)
    case .success(let s): id = s
    }
    guard generation > 0 else { return whFail(Code.invalidArgs, "\(fn): generation \(generation) is not positive") }
    guard stop_reason >= -1 else {
        return whFail(Code.invalidArgs, "\(fn): stop_reason \(stop_reason) is not a reason or RTMS_FLEET_REASON_UNKNOWN (-1)")
    }
    guard f.forget(id, generation) else {
        return whFail(Code.notExist, "\(fn): stream \(id) generation \(generation) is not assigned to this node (never assigned, revoked, or done)")
    }
    let reason: Int? = stop_reason >= 0 ? Int(stop_reason) : nil
    let note =
        reason.map { "the application is done: \(localReasonName(Int32($0)) ?? StopReason.name($0)) (\($0))" }
        ?? "the application is done"
    f.node.detach(streamID: id, generation: generation, reason: reason, note: note)
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_fleet_status(_ fleet: OpaquePointer?, _ json_out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    json_out?.pointee = nil
    guard let f = fleetHandle(fleet, "rtms_fleet_status") else { return -Code.notExist }
    guard let json_out else { return whFail(Code.invalidArgs, "rtms_fleet_status: json_out is NULL") }
    var o = f.node.statusJSON()
    o["port"] = .int(Int64(f.server.port))
    o["held"] = .array(f.node.heldStreamIDs.map { .string($0) })
    let bytes = Array(JSON.string(.object(o)).utf8)
    guard let p = malloc(bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else {
        return whFail(Code.failure, "rtms_fleet_status: out of memory")
    }
    for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
    p[bytes.count] = 0
    json_out.pointee = p
    clearLastError()
    return Int32(clamping: bytes.count)
}

@c @implementation public func rtms_fleet_release(_ fleet: OpaquePointer?) -> Int32 {
    guard let fleet, let f = fleetRegistry.remove(fleet) else {
        return whFail(Code.notExist, "rtms_fleet_release: \(fleet == nil ? "the fleet is NULL" : "not a live fleet (released already?)")")
    }
    f.release()
    clearLastError()
    return Code.ok
}
