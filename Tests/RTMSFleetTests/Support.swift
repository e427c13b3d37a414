// What the fleet tests share: a real PostgreSQL (scripts/pg-test.sh, or RTMS_TEST_DATABASE_URL),
// a fresh database per test, `rtms serve` nodes as child processes on loopback, signed webhook
// posts, the simulator's stream reports, and a TCP proxy that can cut one node off the database.

import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import RTMSTestSupport
import Testing
@testable import RTMSClient
@testable import RTMSFleet
@testable import RTMSProtocol
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

let clientID = "fleet-client"
let clientSecret = "fleet-secret"
let webhookSecret = "fleet-webhook-secret"

/// The package root, from this file's place in it (Tests/RTMSFleetTests/Support.swift).
let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func tempDir(_ tag: String, base: String? = nil) -> String {
    let base = base ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/openrtms-\(tag)-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { return "\(base)/openrtms-\(tag)-\(getpid())" }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Runs a command (argv[0] is a path); returns its exit status and standard output.
func runCommand(_ argv: [String], env: [String]? = nil) -> (status: Int32, output: String) {
    var out: [Int32] = [0, 0]
    // Close-on-exec: a child spawned meanwhile by another thread (a test starting PostgreSQL) must
    // not inherit the write end, or this read never sees the end of the output.
    guard pipeCloseOnExec(&out) else { return (-1, "") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, out[1], 1)
    posix_spawn_file_actions_addclose(&actions, out[0])
    // Only fd 1 may reach the child: a server it starts (pg_ctl) must not keep the pipe open.
    posix_spawn_file_actions_addclose(&actions, out[1])
    // Nor any socket another suite holds (PostgreSQL would keep it open for the whole run).
    closeInheritedDescriptors(&actions)
    let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var pid: pid_t = 0
    let rc: Int32
    if let env {
        let cenv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { cenv.forEach { free($0) } }
        rc = posix_spawn(&pid, argv[0], &actions, nil, cargs, cenv)
    } else {
        rc = posix_spawn(&pid, argv[0], &actions, nil, cargs, environ)
    }
    close(out[1])
    guard rc == 0 else {
        close(out[0])
        return (-1, "")
    }
    var text: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(out[0], &buf, buf.count)
        if n <= 0 { break }
        text += buf[0..<n]
    }
    close(out[0])
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return ((status >> 8) & 0xFF, String(decoding: text, as: UTF8.self))
}

func readFile(_ path: String) -> String {
    guard let f = fopen(path, "r") else { return "" }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : -1
}

// MARK: - PostgreSQL

enum TestPostgres {
    static let script = packageRoot + "/scripts/pg-test.sh"
    static let environmentURL: String? = getenv("RTMS_TEST_DATABASE_URL").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }

    /// A server can be had: RTMS_TEST_DATABASE_URL, or PostgreSQL's binaries for scripts/pg-test.sh.
    static let available: Bool = environmentURL != nil || runCommand(["/bin/bash", script, "bindir"]).status == 0

    static let skipped: Comment =
        "no PostgreSQL binaries found: apt-get install postgresql (scripts/test.sh and .ci/run do), set PG_BINDIR, or give RTMS_TEST_DATABASE_URL"

    private static let lock = NIOLock()
    nonisolated(unsafe) private static var adminURL: String?
    nonisolated(unsafe) fileprivate static var serverDir: String?

    /// The server's URL (its `postgres` database); started on first use, stopped at exit.
    static func serverURL() throws -> String {
        try lock.withLock {
            if let u = adminURL { return u }
            if let env = environmentURL {
                adminURL = env
                return env
            }
            // Under /tmp: the server's user must reach it, and a socket path has at most 107 bytes.
            let dir = tempDir("pg", base: "/tmp")
            let (status, out) = runCommand(["/bin/bash", script, "start", dir])
            guard status == 0, let url = out.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
                throw FleetError("scripts/pg-test.sh start failed (\(status)): \(out) \(readFile(dir + "/server.log"))")
            }
            serverDir = dir
            atexit {
                if let d = TestPostgres.serverDir { _ = runCommand(["/bin/bash", TestPostgres.script, "stop", d]) }
            }
            print("fleet tests: PostgreSQL at \(url) (data in \(dir))")
            adminURL = url
            return url
        }
    }

    /// A server of the test's own (for tests that restart it): its URL and directory.
    static func privateServer(_ tag: String) throws -> (url: String, dir: String) {
        let dir = tempDir("pg-\(tag)", base: "/tmp")
        let (status, out) = runCommand(["/bin/bash", script, "start", dir])
        guard status == 0, let url = out.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            throw FleetError("scripts/pg-test.sh start failed (\(status)): \(out)")
        }
        return (url, dir)
    }

    /// Crashes the server, waits `seconds`, starts it again (same port, committed data kept).
    static func restart(_ dir: String, downSeconds: Double = 0) -> Bool {
        runCommand(["/bin/bash", script, "restart", dir, String(downSeconds)]).status == 0
    }

    /// The same on a thread of its own: the seconds of the planned outage must not hold one of
    /// the few threads of Swift's cooperative pool (2 here), on which the test measuring the
    /// outage, and the suites beside it, wait.
    static func restartOffPool(_ dir: String, downSeconds: Double) async -> Bool {
        await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            DispatchQueue(label: "pg-restart").async { done.resume(returning: restart(dir, downSeconds: downSeconds)) }
        }
    }
    static func stop(_ dir: String) { _ = runCommand(["/bin/bash", script, "stop", dir]) }

    /// A new, empty database on the server; its URL.
    static func freshDatabase(_ tag: String) async throws -> String {
        let admin = try serverURL()
        let name = "rtms_fleet_\(tag)_\(getpid())".lowercased()
        try await withConnection(admin) { conn in
            try await conn.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: testLogger)
            try await conn.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: testLogger)
        }
        // postgres://user@host:port/DB?query → the same with the new database.
        guard let scheme = admin.range(of: "://") else { throw FleetError("bad URL \(admin)") }
        let afterScheme = admin[scheme.upperBound...]
        let query = afterScheme.firstIndex(of: "?").map { String(afterScheme[$0...]) } ?? ""
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
        return String(admin[..<scheme.upperBound]) + authority + "/" + name + query
    }
}

let testLogger: Logger = {
    var l = Logger(label: "fleet-tests")
    l.logLevel = .critical
    return l
}()

func withConnection<T: Sendable>(_ url: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
    let cfg = try DatabaseURL(url).connectionConfiguration()
    let conn = try await PostgresConnection.connect(configuration: cfg, id: 1, logger: testLogger)
    do {
        let r = try await body(conn)
        try? await conn.close()
        return r
    } catch {
        try? await conn.close()
        throw error
    }
}

struct StreamRow: Sendable, CustomStringConvertible {
    var state: String
    var owner: String?
    var generation: Int64
    var claims: Int
    var endReason: Int?
    var description: String { "\(state) owner=\(owner ?? "-") generation=\(generation) claims=\(claims) end=\(endReason.map(String.init) ?? "-")" }
}

func streamRow(_ url: String, _ id: String) async throws -> StreamRow? {
    try await withConnection(url) { conn in
        let rows = try await conn.query(
            """
            SELECT state, owner_node, generation, claims, end_reason FROM rtms.streams WHERE rtms_stream_id = \(id)
            """, logger: testLogger)
        for try await (state, owner, gen, claims, reason) in rows.decode((String, String?, Int64, Int32, Int32?).self) {
            return StreamRow(state: state, owner: owner, generation: gen, claims: Int(claims), endReason: reason.map(Int.init))
        }
        return nil
    }
}

func countRows(_ url: String, _ sql: String) async throws -> Int {
    try await withConnection(url) { conn in
        var n: Int64 = 0
        for try await v in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: testLogger).decode(Int64.self) { n = v }
        return Int(n)
    }
}

/// Owned streams per node right now.
func ownership(_ url: String) async throws -> [String: Int] {
    try await withConnection(url) { conn in
        var out: [String: Int] = [:]
        let rows = try await conn.query(
            "SELECT owner_node, count(*) FROM rtms.streams WHERE state = 'owned' GROUP BY owner_node",
            logger: testLogger)
        for try await (owner, n) in rows.decode((String, Int64).self) { out[owner] = Int(n) }
        return out
    }
}

// MARK: - Nodes

/// The directory holding the test bundle, where SwiftPM also puts `rtms`.
func productsDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return packageRoot + "/.build/debug" }
    var p = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let slash = p.lastIndex(of: "/") {
        p = String(p[..<slash])
        if access(p + "/rtms", X_OK) == 0 { return p }
    }
    return packageRoot + "/.build/debug"
}

/// Starts a long-lived child (a node) with signals unblocked and SIGTERM/SIGINT at their
/// defaults: the test runner's threads block signals, and the child must stop on SIGTERM like any
/// daemon. Returns its pid.
func spawnDaemon(_ path: String, _ argv: [UnsafeMutablePointer<CChar>?], _ envp: [UnsafeMutablePointer<CChar>?]) -> pid_t? {
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attr, &none)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGTERM)
    sigaddset(&defaults, SIGINT)
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    // A node lives for the whole test: it must not hold the sockets other suites open and close.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    closeInheritedDescriptors(&actions)
    var pid: pid_t = 0
    return posix_spawn(&pid, path, &actions, &attr, argv, envp) == 0 ? pid : nil
}

/// `rtms serve` as a child process: its own webhook port, output folder and log.
/// Waits for the child `pid` to exit; its wait status, or nil after the timeout.
func waitForExit(_ pid: pid_t, timeoutMs: Int) -> Int32? {
    let until = nowMilliseconds() + Int64(timeoutMs)
    while nowMilliseconds() < until {
        var st: Int32 = 0
        if waitpid(pid, &st, WNOHANG) == pid { return st }
        usleep(10_000)
    }
    return nil
}

final class ServeNode {
    let name: String
    let dir: String
    let outDir: String
    let logPath: String
    private(set) var pid: pid_t = 0
    private(set) var port = 0
    private var exited = false

    /// `sharedOut`: the nodes' common recordings folder (shared storage), else one of its own.
    /// `binary`: another build of `rtms` (an earlier version: the rolling-upgrade test).
    init(
        _ name: String, databaseURL: String, maxStreams: Int = 10, leaseMs: Int = 3000, renewMs: Int = 500,
        marginMs: Int = 1000, sharedOut: String? = nil, binary: String? = nil
    ) throws {
        self.name = name
        dir = tempDir("node-\(name)")
        outDir = sharedOut ?? dir + "/out"
        logPath = dir + "/serve.log"
        let rtms = binary ?? productsDirectory() + "/rtms"
        guard access(rtms, X_OK) == 0 else { throw FleetError("\(rtms) is not built") }
        let command =
            "exec '\(rtms)' serve --database-url '\(databaseURL)' --port 0 --path /webhook --node-id \(name) --out '\(outDir)' "
            + "--max-streams \(maxStreams) --lease-ms \(leaseMs) --renew-ms \(renewMs) --lease-margin-ms \(marginMs) "
            + "--media audio,transcript,chat > '\(logPath)' 2>&1"
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [
            strdup("ZM_RTMS_CLIENT=\(clientID)"), strdup("ZM_RTMS_SECRET=\(clientSecret)"),
            strdup("ZM_RTMS_WEBHOOK_SECRET=\(webhookSecret)"), strdup("PATH=/usr/bin:/bin"), strdup("RTMS_LOG_LEVEL=warning"), nil,
        ]
        defer { (argv + envp).forEach { free($0) } }
        guard let child = spawnDaemon("/bin/sh", argv, envp) else { throw FleetError("cannot start \(rtms)") }
        pid = child
    }

    deinit {
        if !exited {
            kill(pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
        }
        // RTMS_FLEET_TEST_KEEP=1 keeps each node's log and recordings for a look afterwards.
        if getenv("RTMS_FLEET_TEST_KEEP") == nil { _ = runCommand(["/bin/rm", "-rf", dir]) }
    }

    var log: String { readFile(logPath) }
    var webhookURL: String { "http://127.0.0.1:\(port)/webhook" }

    /// Waits for "serving: … webhooks on port N"; returns the port.
    @discardableResult
    func waitReady(timeoutMs: Int = 30_000) throws -> Int {
        let until = nowMilliseconds() + Int64(timeoutMs)
        while nowMilliseconds() < until {
            let text = log
            if let r = text.range(of: "webhooks on port ") {
                let digits = text[r.upperBound...].prefix { $0.isNumber }
                if let p = Int(digits) {
                    port = p
                    return p
                }
            }
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid {
                exited = true
                throw FleetError("node \(name) exited: \(text)")
            }
            usleep(20_000)
        }
        throw FleetError("node \(name) not ready: \(log)")
    }

    func signal(_ s: Int32) { kill(pid, s) }

    /// Waits for the process to exit; its exit status, or nil after the timeout.
    func waitExit(timeoutMs: Int = 10_000) -> Int32? {
        let st = waitForExit(pid, timeoutMs: timeoutMs)
        if st != nil { exited = true }
        return st
    }

    /// GET /metrics: the Prometheus text.
    func metrics() -> String {
        (try? HTTPGet.get("http://127.0.0.1:\(port)/metrics"))?.1 ?? ""
    }

    func healthz() -> (Int, String) {
        do {
            let r = try HTTPGet.get("http://127.0.0.1:\(port)/healthz")
            return r
        } catch { return (0, "\(error)") }
    }
}

/// GET with the simulator's HTTP client's machinery is POST-only; a raw socket is enough here.
enum HTTPGet {
    static func get(_ url: String) throws -> (Int, String) {
        guard url.hasPrefix("http://127.0.0.1:") else { throw FleetError("loopback http only") }
        let rest = url.dropFirst("http://127.0.0.1:".count)
        let port = Int(rest.prefix { $0.isNumber }) ?? 0
        let path = String(rest.drop { $0.isNumber })
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FleetError("socket") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw FleetError("connect to \(port) failed") }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let req = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        _ = req.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            data += buf[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}

// MARK: - Webhooks and the simulator

/// POSTs a webhook body signed with the fleet tests' secret.
func postSigned(_ url: String, _ body: [UInt8]) async -> (status: Int, body: String) {
    let ts = String(nowMilliseconds() / 1000)
    let headers = [
        ("Content-Type", "application/json"), ("x-zm-request-timestamp", ts),
        ("x-zm-signature", Signatures.webhook(secretToken: webhookSecret, timestamp: ts, body: body)),
    ]
    do {
        let r = try await WebhookPoster.post(url: url, body: body, headers: headers, on: Runtime.group.next(), timeout: .seconds(10)).get()
        return (r.status, String(decoding: r.body, as: UTF8.self))
    } catch {
        return (0, "\(error)")
    }
}

func makeSimulator() throws -> Simulator {
    var c = SimulatorConfig()
    c.clientID = clientID
    c.clientSecret = clientSecret
    c.defaults.keepAliveMs = 10_000
    var l = c.logger
    l.logLevel = .error
    c.logger = l
    let sim = Simulator(config: c)
    try sim.start()
    return sim
}

/// Creates a meeting; returns its stream id and its rtms_started body as sent on the wire.
func createMeeting(_ sim: Simulator, durationMs: Int, seed: UInt64 = 1) -> (id: String, body: [UInt8]) {
    var o = sim.config.defaults
    o.durationMs = durationMs
    o.seed = seed
    o.participants = 2
    let body = sim.createMeeting(o)
    return (body["payload"]?["rtms_stream_id"]?.stringValue ?? "", JSON.serialize(body))
}

struct SimConnection {
    var label: String
    var path: String
    var opened: Int64
    var closed: Int64?
    var isSignaling: Bool { label == "signaling" }
}

func simConnections(_ sim: Simulator, _ id: String) -> [SimConnection] {
    (sim.report(id)?["connections"]?.arrayValue ?? []).map {
        SimConnection(
            label: $0["connection"]?.stringValue ?? "", path: $0["path"]?.stringValue ?? "",
            opened: $0["opened_ms"]?.intValue ?? 0, closed: $0["closed_ms"]?.intValue)
    }
}

func simSent(_ sim: Simulator, _ id: String, _ kind: String = "audio") -> Int64 {
    sim.report(id)?["sent"]?[kind]?.intValue ?? 0
}

func simState(_ sim: Simulator, _ id: String) -> String { sim.report(id)?["state"]?.stringValue ?? "" }

/// Polls `cond` every `everyMs` until it holds or `timeoutMs` passes; true when it held.
func eventually(timeoutMs: Int, everyMs: Int = 20, _ cond: () async throws -> Bool) async rethrows -> Bool {
    let until = nowMilliseconds() + Int64(timeoutMs)
    while nowMilliseconds() < until {
        if try await cond() { return true }
        try? await Task.sleep(for: .milliseconds(everyMs))
    }
    return try await cond()
}

// MARK: - A TCP proxy that can cut a node off the database

/// Forwards 127.0.0.1:port to a target; `frozen` stops moving bytes (and answering new
/// connections) without closing anything: to its client the database is silent, as across a
/// network partition.
final class FreezableProxy: @unchecked Sendable {
    let port: Int
    private let listenFD: Int32
    private let targetPort: Int
    private let lock = NIOLock()
    private var _frozen = false
    private var closed = false
    private var fds: [Int32] = []

    init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw FleetError("proxy: cannot listen") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listenFD = fd
        DispatchQueue(label: "fleet-tests.proxy.accept").async { [self] in acceptLoop() }
    }

    var frozen: Bool {
        get { lock.withLock { _frozen } }
        set { lock.withLock { _frozen = newValue } }
    }

    func close() {
        let all: [Int32] = lock.withLock {
            closed = true
            defer { fds = [] }
            return fds
        }
        shutdown(listenFD, Int32(SHUT_RDWR))
        Glibc.close(listenFD)
        for fd in all { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if lock.withLock({ closed }) { return }
                continue
            }
            DispatchQueue(label: "fleet-tests.proxy.pump").async { [self] in pump(c) }
        }
    }

    private func connectTarget() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(targetPort).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if ok != 0 {
            Glibc.close(fd)
            return -1
        }
        return fd
    }

    private func pump(_ client: Int32) {
        // A new connection while frozen waits, unanswered, like a SYN into a partition.
        while frozen && !lock.withLock({ closed }) { usleep(20_000) }
        let server = connectTarget()
        guard server >= 0 else {
            Glibc.close(client)
            return
        }
        lock.withLock { fds += [client, server] }
        var buf = [UInt8](repeating: 0, count: 65536)
        loop: while !lock.withLock({ closed }) {
            if frozen {
                usleep(20_000)
                continue
            }
            var p = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            let n = poll(&p, 2, 50)
            if n <= 0 { continue }
            for (i, (from, to)) in [(client, server), (server, client)].enumerated() where p[i].revents != 0 {
                if frozen { continue loop }
                let r = read(from, &buf, buf.count)
                if r <= 0 { break loop }
                var off = 0
                while off < r {
                    let w = buf.withUnsafeBytes { write(to, $0.baseAddress! + off, r - off) }
                    if w <= 0 { break loop }
                    off += w
                }
            }
        }
        Glibc.close(client)
        Glibc.close(server)
    }
}

/// True when nothing accepts TCP connections on 127.0.0.1:port (a server that is down).
func portRefuses(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return rc != 0
}

// MARK: - Prometheus text and query helpers

/// The value of one sample of a Prometheus text exposition: `name` with its labels exactly as
/// printed (`rtms_fleet_webhooks_total{result="stored"}`); nil when absent.
func metricValue(_ text: String, _ sample: String) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        if line[..<space] == sample { return Double(line[line.index(after: space)...]) }
    }
    return nil
}

/// The first column of every row, as integers.
func intColumn(_ url: String, _ sql: String) async throws -> [Int64] {
    try await withConnection(url) { conn in
        var out: [Int64] = []
        for try await v in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: testLogger).decode(Int64.self) { out.append(v) }
        return out
    }
}

/// The names in a directory (not . and ..).
func directoryEntries(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { out.append(name) }
    }
    return out.sorted()
}

func simSentSequences(_ sim: Simulator, _ id: String, _ kind: String) -> [Int64] {
    (sim.report(id)?["sent_sequences"]?[kind]?.arrayValue ?? []).compactMap(\.intValue)
}
