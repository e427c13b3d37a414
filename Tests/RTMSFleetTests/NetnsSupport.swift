// Hosts as network namespaces, for the partition test (PartitionTests.swift). One hub namespace
// holds a bridge (10.77.0.1/24); each host is a namespace of its own joined to the bridge by a
// veth pair (10.77.0.11, .12, …). PostgreSQL and the simulator stay in the test's own namespace,
// which is never changed: forwarders of this file listen inside the hub on 10.77.0.1 and connect
// out from the test's namespace (a socket belongs to the namespace it was created in, so one
// thread that switches namespaces between creating its listener and its outgoing sockets bridges
// the two without an interface or a route in the test's namespace). Taking a host's veth down in
// the hub cuts every connection of that host, to the database and to the simulator, for real.
//
// Also: `rtms serve` started inside a host's namespace (`ip netns exec`), its webhook port reached
// through a forwarder listening on 127.0.0.1 in the test's namespace, and a sampler of a host's
// TCP sockets (/proc/PID/net/tcp shows the sockets of PID's namespace) and log lines, for when the
// host closed what.

import Dispatch
import NIOConcurrencyHelpers
import RTMSTestSupport
import Testing
@testable import RTMSClient
@testable import RTMSFleet
@testable import RTMSProtocol

#if canImport(Glibc)
import Glibc
#endif

enum Netns {
    /// iproute2's `ip`.
    static let ip: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { access($0, X_OK) == 0 }

    /// Every namespace this file creates is named `ortp<pid of the test process>-<role>`.
    static let prefix = "ortp"

    /// Root, `ip`, and a namespace can be created (a container may forbid it).
    static let available: Bool = {
        guard geteuid() == 0, ip != nil else { return false }
        let probe = "\(prefix)\(getpid())-probe"
        guard run(["netns", "add", probe]).status == 0 else { return false }
        let ok = run(["-n", probe, "link", "set", "lo", "up"]).status == 0
        run(["netns", "del", probe])
        return ok
    }()

    static let skipped: Comment = "needs root and network namespaces (iproute2's `ip netns`): the partition test runs each host in a namespace of its own"

    /// Runs `ip ARGS`; its exit status and output (stdout and stderr).
    @discardableResult
    static func run(_ args: [String]) -> (status: Int32, output: String) {
        guard let ip else { return (-1, "no ip binary") }
        let quoted = ([ip] + args).map { "'" + $0.replacing("'", with: "'\\''") + "'" }.joined(separator: " ")
        return runCommand(["/bin/sh", "-c", quoted + " 2>&1"])
    }

    static func must(_ args: [String]) throws {
        let (status, out) = run(args)
        guard status == 0 else { throw FleetError("ip \(args.joined(separator: " ")) failed (\(status)): \(out)") }
    }

    /// Namespaces left by a run of these tests that died (its process is gone): deleted, and the
    /// processes still inside them (that run's nodes) killed.
    static func removeLeftovers() {
        for line in run(["netns", "list"]).output.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix), let dash = name.firstIndex(of: "-"),
                let owner = Int32(name[name.index(name.startIndex, offsetBy: prefix.count)..<dash])
            else { continue }
            if owner != getpid() && kill(owner, 0) == 0 { continue }
            for p in run(["netns", "pids", name]).output.split(separator: "\n").compactMap({ Int32($0) }) where p > 1 {
                kill(p, SIGKILL)
            }
            run(["netns", "del", name])
        }
    }

    /// Moves the calling thread into the named namespace. Only for threads this file starts.
    static func enter(_ name: String) -> Bool {
        var fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        if fd < 0 { fd = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return enter(fd: fd)
    }

    /// setns(fd, CLONE_NEWNET); Glibc's module does not export setns, so it is looked up.
    static func enter(fd: Int32) -> Bool {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let sym = dlsym(nil, "setns") else { return false }
        return unsafeBitCast(sym, to: SetNS.self)(fd, 0x4000_0000) == 0
    }
}

/// Starts a plain thread (not one of the pools: a thread that enters a namespace never goes back
/// to serve anyone else). Returns it for pthread_join.
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    let box = Unmanaged.passRetained(Body(body)).toOpaque()
    var t = pthread_t()
    let rc = pthread_create(
        &t, nil,
        { raw in
            let b = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            b.run()
            return nil
        }, box)
    guard rc == 0 else {
        Unmanaged<AnyObject>.fromOpaque(box).release()
        return nil
    }
    return t
}

// MARK: - Topology

/// The hub (bridge 10.77.0.1/24) and one namespace per host, each on a veth pair whose hub end
/// is `v<host>`. Everything is inside namespaces created here; `destroy()` deletes them.
final class NetnsTopology: @unchecked Sendable {
    struct Host: Sendable {
        var name: String
        var namespace: String
        var address: String
        var link: String
    }

    let hub: String
    let hubAddress = "10.77.0.1"
    private(set) var hosts: [String: Host] = [:]
    private var created: [String] = []
    private let lock = NIOLock()

    init(hosts names: [String]) throws {
        let base = "\(Netns.prefix)\(getpid())-"
        hub = base + "hub"
        do {
            try add(hub)
            try Netns.must(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try Netns.must(["-n", hub, "addr", "add", "\(hubAddress)/24", "dev", "br0"])
            try Netns.must(["-n", hub, "link", "set", "br0", "up"])
            for (i, name) in names.enumerated() {
                let host = Host(name: name, namespace: base + name, address: "10.77.0.\(11 + i)", link: "v\(name)")
                try add(host.namespace)
                try Netns.must(["-n", hub, "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
                try Netns.must(["-n", hub, "link", "set", host.link, "master", "br0", "up"])
                try Netns.must(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
                try Netns.must(["-n", host.namespace, "link", "set", "eth0", "up"])
                hosts[name] = host
            }
        } catch {
            destroy()
            throw error
        }
    }

    private func add(_ ns: String) throws {
        try Netns.must(["netns", "add", ns])
        lock.withLock { created.append(ns) }
        try Netns.must(["-n", ns, "link", "set", "lo", "up"])
    }

    func host(_ name: String) -> Host { hosts[name]! }

    /// The host's port on the hub goes down: nothing reaches it or leaves it, in either direction.
    func cut(_ name: String) throws { try Netns.must(["-n", hub, "link", "set", host(name).link, "down"]) }
    func heal(_ name: String) throws { try Netns.must(["-n", hub, "link", "set", host(name).link, "up"]) }

    /// Kills what still runs inside the namespaces (the nodes, normally stopped before) and deletes
    /// them; their veth pairs and the bridge go with them.
    func destroy() {
        let list: [String] = lock.withLock {
            defer { created = [] }
            return created.reversed()
        }
        for ns in list {
            for p in Netns.run(["netns", "pids", ns]).output.split(separator: "\n").compactMap({ Int32($0) }) where p > 1 {
                kill(p, SIGKILL)
            }
            Netns.run(["netns", "del", ns])
        }
    }
}

// MARK: - Forwarder across namespaces

/// Forwards TCP connections accepted on `host:port` in namespace `listenIn` (nil: the test's own)
/// to `toHost:toPort` connected from namespace `connectIn`, on one thread of its own (poll, non-
/// blocking sockets). Nothing is done to a connection whose far side went silent: as across a
/// real network, it stays open until a side closes it. With `tap`, the first WebSocket message
/// each way is read (the upgrade, then the handshake: which stream, which message, which status),
/// so that every connection to the simulator is known by host, stream and kind.
final class NetnsForwarder: @unchecked Sendable {
    struct Connection: Sendable {
        var peer: String
        var peerPort: Int
        var acceptedMs: Int64
        var request: String?
        var streamID: String?
        var messageType: Int?
        var statusCode: Int?
        var answeredMs: Int64?
        var closedMs: Int64?
        var isSignaling: Bool { messageType == MessageType.signalingHandshakeRequest.rawValue }
    }

    let label: String
    private(set) var port = 0
    private let lock = NIOLock()
    private var _connections: [Connection] = []
    private var stopping = false
    private var thread: pthread_t?
    private var wake: [Int32] = [-1, -1]
    private var startError: String?

    init(
        _ label: String, listenIn: String?, host: String, port: Int, connectIn: String?, toHost: String, toPort: Int,
        tap: Bool = false
    ) throws {
        self.label = label
        guard pipeCloseOnExec(&wake) else { throw FleetError("\(label): pipe") }
        _ = fcntl(wake[0], F_SETFL, fcntl(wake[0], F_GETFL) | O_NONBLOCK)
        let ready = DispatchSemaphore(value: 0)
        thread = startThread { [self] in
            run(listenIn: listenIn, host: host, port: port, connectIn: connectIn, toHost: toHost, toPort: toPort, tap: tap, ready: ready)
        }
        guard thread != nil else { throw FleetError("\(label): cannot start a thread") }
        ready.wait()
        if let e = lock.withLock({ startError }) {
            close()
            throw FleetError("\(label): \(e)")
        }
    }

    var connections: [Connection] { lock.withLock { _connections } }

    /// Stops the thread; every socket it held is closed.
    func close() {
        let t: pthread_t? = lock.withLock {
            stopping = true
            defer { thread = nil }
            return thread
        }
        var one: UInt8 = 1
        _ = write(wake[1], &one, 1)
        if let t { pthread_join(t, nil) }
        if wake[0] >= 0 {
            Glibc.close(wake[0])
            Glibc.close(wake[1])
            wake = [-1, -1]
        }
    }

    private final class Link {
        let a: Int32, b: Int32
        let index: Int
        let started: Int64
        var connecting = true
        var ab: [UInt8] = [], ba: [UInt8] = []
        var aEOF = false, bEOF = false, abShut = false, baShut = false
        var tapUp: [UInt8]?, tapDown: [UInt8]?
        init(a: Int32, b: Int32, index: Int, started: Int64, tap: Bool) {
            self.a = a
            self.b = b
            self.index = index
            self.started = started
            if tap {
                tapUp = []
                tapDown = []
            }
        }
    }

    private func run(
        listenIn: String?, host: String, port: Int, connectIn: String?, toHost: String, toPort: Int, tap: Bool,
        ready: DispatchSemaphore
    ) {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        var failure: String? = home < 0 ? "cannot open this thread's namespace" : nil
        if failure == nil, let ns = listenIn, !Netns.enter(ns) { failure = "cannot enter \(ns)" }
        var listener: Int32 = -1
        var bound = 0
        if failure == nil {
            (listener, bound) = Self.listen(host, port)
            if listener < 0 { failure = "cannot listen on \(host):\(port) (errno \(errno))" }
        }
        if failure == nil, connectIn != listenIn {
            let ok = connectIn.map { Netns.enter($0) } ?? Netns.enter(fd: home)
            if !ok { failure = "cannot enter \(connectIn ?? "the test's namespace")" }
        }
        if home >= 0 { Glibc.close(home) }
        lock.withLock {
            self.port = bound
            startError = failure
        }
        ready.signal()
        guard failure == nil else {
            if listener >= 0 { Glibc.close(listener) }
            return
        }
        loop(listener: listener, toHost: toHost, toPort: toPort, tap: tap)
    }

    private static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host)
        return addr
    }

    private static func listen(_ host: String, _ port: Int) -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return (-1, 0) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address(host, port)
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0, Glibc.listen(fd, 256) == 0 else {
            Glibc.close(fd)
            return (-1, 0)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    private func loop(listener: Int32, toHost: String, toPort: Int, tap: Bool) {
        var links: [Link] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let cap = 1 << 20
        func hang(_ l: Link, _ now: Int64) {
            Glibc.close(l.a)
            Glibc.close(l.b)
            lock.withLock { _connections[l.index].closedMs = now }
        }
        while !lock.withLock({ stopping }) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
            for l in links {
                var ea: Int16 = 0, eb: Int16 = 0
                if !l.aEOF && l.ab.count < cap { ea |= Int16(POLLIN) }
                if !l.ba.isEmpty { ea |= Int16(POLLOUT) }
                if l.connecting {
                    eb = Int16(POLLOUT)
                } else {
                    if !l.bEOF && l.ba.count < cap { eb |= Int16(POLLIN) }
                    if !l.ab.isEmpty { eb |= Int16(POLLOUT) }
                }
                // A side with nothing to wait for is left out (poll would report its hang-up forever).
                fds.append(pollfd(fd: ea == 0 ? -1 : l.a, events: ea, revents: 0))
                fds.append(pollfd(fd: eb == 0 ? -1 : l.b, events: eb, revents: 0))
            }
            _ = poll(&fds, nfds_t(fds.count), 50)
            let now = nowMilliseconds()
            var kept: [Link] = []
            for (i, l) in links.enumerated() {
                let ra = fds[2 + 2 * i].revents, rb = fds[3 + 2 * i].revents
                var dead = false
                if l.connecting {
                    if rb != 0 {
                        var err: Int32 = 0
                        var len = socklen_t(MemoryLayout<Int32>.size)
                        getsockopt(l.b, SOL_SOCKET, SO_ERROR, &err, &len)
                        if err == 0 { l.connecting = false } else { dead = true }
                    } else if now - l.started > 3000 {
                        dead = true
                    }
                }
                if !dead && !l.aEOF && ra != 0 {
                    let n = read(l.a, &buf, buf.count)
                    if n > 0 {
                        l.ab += buf[0..<n]
                        if let t = l.tapUp { tapped(l, t + buf[0..<n], up: true, now) }
                    } else if n == 0 {
                        l.aEOF = true
                    } else if errno != EAGAIN && errno != EINTR {
                        dead = true
                    }
                }
                if !dead && !l.connecting && !l.bEOF && rb != 0 {
                    let n = read(l.b, &buf, buf.count)
                    if n > 0 {
                        l.ba += buf[0..<n]
                        if let t = l.tapDown { tapped(l, t + buf[0..<n], up: false, now) }
                    } else if n == 0 {
                        l.bEOF = true
                    } else if errno != EAGAIN && errno != EINTR {
                        dead = true
                    }
                }
                if !dead && !l.connecting && !l.ab.isEmpty {
                    let w = l.ab.withUnsafeBytes { write(l.b, $0.baseAddress, $0.count) }
                    if w > 0 { l.ab.removeFirst(w) } else if w < 0 && errno != EAGAIN && errno != EINTR { dead = true }
                }
                if !dead && !l.ba.isEmpty {
                    let w = l.ba.withUnsafeBytes { write(l.a, $0.baseAddress, $0.count) }
                    if w > 0 { l.ba.removeFirst(w) } else if w < 0 && errno != EAGAIN && errno != EINTR { dead = true }
                }
                if !dead && !l.connecting && l.aEOF && l.ab.isEmpty && !l.abShut {
                    shutdown(l.b, Int32(SHUT_WR))
                    l.abShut = true
                }
                if !dead && l.bEOF && l.ba.isEmpty && !l.baShut {
                    shutdown(l.a, Int32(SHUT_WR))
                    l.baShut = true
                }
                if dead || (l.abShut && l.baShut) { hang(l, now) } else { kept.append(l) }
            }
            links = kept
            if fds[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 16)
                _ = read(wake[0], &drain, drain.count)
            }
            guard fds[0].revents != 0 else { continue }
            while true {
                var peer = sockaddr_in()
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                let c = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &len) }
                }
                if c < 0 { break }
                _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                var one: Int32 = 1
                setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let b = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                var to = Self.address(toHost, toPort)
                let rc =
                    b < 0
                    ? -1
                    : withUnsafePointer(to: &to) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(b, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                let peerIP = String(cString: inet_ntoa(peer.sin_addr))
                let index: Int = lock.withLock {
                    _connections.append(Connection(peer: peerIP, peerPort: Int(UInt16(bigEndian: peer.sin_port)), acceptedMs: now))
                    return _connections.count - 1
                }
                if b < 0 || (rc != 0 && errno != EINPROGRESS) {
                    Glibc.close(c)
                    if b >= 0 { Glibc.close(b) }
                    lock.withLock { _connections[index].closedMs = now }
                    continue
                }
                setsockopt(b, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let l = Link(a: c, b: b, index: index, started: now, tap: tap)
                l.connecting = rc != 0
                links.append(l)
            }
        }
        for l in links {
            Glibc.close(l.a)
            Glibc.close(l.b)
        }
        Glibc.close(listener)
    }

    /// The bytes seen so far one way; once the upgrade and the first frame are there, the record
    /// gets what they say and the tap of that direction ends.
    private func tapped(_ l: Link, _ bytes: [UInt8], up: Bool, _ now: Int64) {
        guard let (head, payload) = Self.firstFrame(bytes) else {
            if up { l.tapUp = bytes.count > 65536 ? nil : bytes } else { l.tapDown = bytes.count > 65536 ? nil : bytes }
            return
        }
        if up { l.tapUp = nil } else { l.tapDown = nil }
        let message = try? JSON.parse(String(decoding: payload, as: UTF8.self))
        lock.withLock {
            if up {
                _connections[l.index].request = head.split(separator: "\r\n").first.map(String.init)
                _connections[l.index].streamID = message?["rtms_stream_id"]?.stringValue
                _connections[l.index].messageType = message?["msg_type"]?.intValue.map { Int($0) }
            } else {
                _connections[l.index].statusCode = message?["status_code"]?.intValue.map { Int($0) }
                _connections[l.index].answeredMs = now
            }
        }
    }

    /// An HTTP head, then one WebSocket frame (RFC 6455 §5.2, unmasked here): nil until complete.
    static func firstFrame(_ bytes: [UInt8]) -> (head: String, payload: [UInt8])? {
        guard bytes.count >= 4,
            let end = (0...(bytes.count - 4)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 })
        else { return nil }
        var i = end + 4
        guard bytes.count >= i + 2 else { return nil }
        let masked = bytes[i + 1] & 0x80 != 0
        var len = Int(bytes[i + 1] & 0x7F)
        i += 2
        if len == 126 {
            guard bytes.count >= i + 2 else { return nil }
            len = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            i += 2
        } else if len == 127 {
            guard bytes.count >= i + 8 else { return nil }
            len = 0
            for k in 0..<8 { len = len << 8 | Int(bytes[i + k]) }
            i += 8
        }
        var mask: [UInt8] = [0, 0, 0, 0]
        if masked {
            guard bytes.count >= i + 4 else { return nil }
            mask = Array(bytes[i..<(i + 4)])
            i += 4
        }
        guard len < 1 << 20, bytes.count >= i + len else { return nil }
        let payload = (0..<len).map { bytes[i + $0] ^ mask[$0 & 3] }
        return (String(decoding: bytes[..<end], as: UTF8.self), payload)
    }
}

// MARK: - rtms serve inside a namespace

/// `rtms serve` as a child process inside a host's namespace (`ip netns exec`), with its webhook
/// port (8080 on every host: each has its own) reached through a forwarder on 127.0.0.1.
final class NetnsNode: @unchecked Sendable {
    let name: String
    let host: NetnsTopology.Host
    let dir: String
    let outDir: String
    let logPath: String
    let webhook: NetnsForwarder
    private(set) var pid: pid_t = 0
    private var exited = false
    static let webhookPort = 8080

    init(_ host: NetnsTopology.Host, hub: String, databaseURL: String, maxStreams: Int = 20, leaseMs: Int, renewMs: Int, marginMs: Int) throws {
        name = host.name
        self.host = host
        dir = tempDir("netns-node-\(host.name)")
        outDir = dir + "/out"
        logPath = dir + "/serve.log"
        webhook = try NetnsForwarder(
            "webhook \(host.name)", listenIn: nil, host: "127.0.0.1", port: 0, connectIn: hub,
            toHost: host.address, toPort: Self.webhookPort)
        let rtms = productsDirectory() + "/rtms"
        guard access(rtms, X_OK) == 0, let ip = Netns.ip else { throw FleetError("\(rtms) is not built") }
        let command =
            "exec '\(rtms)' serve --database-url '\(databaseURL)' --port \(Self.webhookPort) --path /webhook --node-id \(host.name) "
            + "--out '\(outDir)' --max-streams \(maxStreams) --lease-ms \(leaseMs) --renew-ms \(renewMs) --lease-margin-ms \(marginMs) "
            + "--media audio,transcript,chat > '\(logPath)' 2>&1"
        let argv: [UnsafeMutablePointer<CChar>?] = [
            strdup(ip), strdup("netns"), strdup("exec"), strdup(host.namespace),
            strdup("/bin/sh"), strdup("-c"), strdup(command), nil,
        ]
        let envp: [UnsafeMutablePointer<CChar>?] = [
            strdup("ZM_RTMS_CLIENT=\(clientID)"), strdup("ZM_RTMS_SECRET=\(clientSecret)"),
            strdup("ZM_RTMS_WEBHOOK_SECRET=\(webhookSecret)"), strdup("PATH=/usr/bin:/bin"), strdup("RTMS_LOG_LEVEL=warning"),
            // Where the other hosts reach this one (every namespace shares the machine's host name).
            strdup("RTMS_ADVERTISE_URL=http://\(host.address):\(Self.webhookPort)"), nil,
        ]
        defer { (argv + envp).forEach { free($0) } }
        guard let child = spawnDaemon(ip, argv, envp) else {
            webhook.close()
            throw FleetError("cannot start \(rtms) in \(host.namespace)")
        }
        pid = child
    }

    var log: String { readFile(logPath) }
    var webhookURL: String { "http://127.0.0.1:\(webhook.port)/webhook" }

    /// Waits for "serving: … webhooks on port …".
    func waitReady(timeoutMs: Int = 30_000) throws {
        let until = nowMilliseconds() + Int64(timeoutMs)
        while nowMilliseconds() < until {
            if log.contains("webhooks on port ") { return }
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid {
                exited = true
                throw FleetError("node \(name) exited: \(log)")
            }
            usleep(20_000)
        }
        throw FleetError("node \(name) not ready: \(log)")
    }

    func healthz() -> (Int, String) {
        do { return try HTTPGet.get("http://127.0.0.1:\(webhook.port)/healthz") } catch { return (0, "\(error)") }
    }

    func metrics() -> String { (try? HTTPGet.get("http://127.0.0.1:\(webhook.port)/metrics"))?.1 ?? "" }

    func signal(_ s: Int32) { if !exited { kill(pid, s) } }

    /// Waits for the process to exit; its wait status, or nil after the timeout.
    func waitExit(timeoutMs: Int = 10_000) -> Int32? {
        guard !exited else { return nil }
        let st = waitForExit(pid, timeoutMs: timeoutMs)
        if st != nil { exited = true }
        return st
    }

    /// Kills the process, closes its forwarder, removes its folder (unless RTMS_FLEET_TEST_KEEP).
    func stop() {
        if !exited {
            kill(pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            exited = true
        }
        webhook.close()
        if getenv("RTMS_FLEET_TEST_KEEP") == nil { _ = runCommand(["/bin/rm", "-rf", dir]) }
    }
}

// MARK: - A host's sockets and log, sampled

/// One line of /proc/PID/net/tcp: the TCP sockets of PID's network namespace.
struct TCPSocket: Sendable {
    var local: String
    var localPort: Int
    var remote: String
    var remotePort: Int
    /// The kernel's state: 1 ESTABLISHED, 2 SYN_SENT, 4 FIN_WAIT1, 6 TIME_WAIT, 8 CLOSE_WAIT, 10 LISTEN…
    var state: Int
    var sendQueue: Int
    /// Open on the application's side: established (or the peer closed but we did not).
    var isHeld: Bool { state == 1 || state == 8 }
}

func tcpSockets(pid: pid_t) -> [TCPSocket] {
    func endpoint(_ s: Substring) -> (String, Int)? {
        let parts = s.split(separator: ":")
        guard parts.count == 2, let a = UInt32(parts[0], radix: 16), let p = Int(parts[1], radix: 16) else { return nil }
        return ("\(a & 0xFF).\((a >> 8) & 0xFF).\((a >> 16) & 0xFF).\(a >> 24)", p)
    }
    var out: [TCPSocket] = []
    for line in readFile("/proc/\(pid)/net/tcp").split(separator: "\n").dropFirst() {
        let f = line.split(separator: " ")
        guard f.count > 4, let l = endpoint(f[1]), let r = endpoint(f[2]), let st = Int(f[3], radix: 16) else { continue }
        let tx = Int(f[4].split(separator: ":").first ?? "", radix: 16) ?? 0
        out.append(TCPSocket(local: l.0, localPort: l.1, remote: r.0, remotePort: r.1, state: st, sendQueue: tx))
    }
    return out
}

/// Samples a host's TCP sockets and its log every few milliseconds on a thread of its own: when
/// each watched socket stopped being held open, which new connections it tried, and when each log
/// line appeared (the node's log has no timestamps; lines are flushed as they are written).
final class HostWatch: @unchecked Sendable {
    struct Socket: Sendable {
        var lastHeldMs: Int64?
        /// The end of the first sample that found the socket closed (or gone): the close happened
        /// before this.
        var goneMs: Int64?
        var lastState = 0
    }
    private let lock = NIOLock()
    private var _sockets: [Int: Socket] = [:]
    private var _newConnections: [Int: (firstSeenMs: Int64, state: Int)] = [:]
    private var _lines: [(ms: Int64, text: String)] = []
    private var stopping = false
    private var thread: pthread_t?

    /// `watch`: local ports of sockets open now; `remotePort`: connections to it that were not open
    /// at the start are reported as new.
    init(pid: pid_t, logPath: String, watch ports: [Int], remotePort: Int, everyMs: Int = 5) {
        for p in ports { _sockets[p] = Socket() }
        let known = Set(tcpSockets(pid: pid).filter { $0.remotePort == remotePort }.map(\.localPort))
        let logStart = readFile(logPath).utf8.count
        thread = startThread { [self] in
            var logOffset = logStart
            var partial = ""
            while !lock.withLock({ stopping }) {
                let t0 = nowMilliseconds()
                let table = tcpSockets(pid: pid)
                let log = Array(readFile(logPath).utf8)
                let t1 = nowMilliseconds()
                var byPort: [Int: TCPSocket] = [:]
                for s in table where s.remotePort == remotePort { byPort[s.localPort] = s }
                var fresh: [String] = []
                if log.count > logOffset {
                    partial += String(decoding: log[logOffset...], as: UTF8.self)
                    logOffset = log.count
                    var lines = partial.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    partial = lines.removeLast()
                    fresh = lines
                }
                lock.withLock {
                    for (port, var s) in _sockets {
                        if let live = byPort[port], live.isHeld {
                            s.lastHeldMs = t0
                        } else if s.goneMs == nil {
                            s.goneMs = t1
                        }
                        s.lastState = byPort[port]?.state ?? 0
                        _sockets[port] = s
                    }
                    for (port, s) in byPort where _sockets[port] == nil && !known.contains(port) && _newConnections[port] == nil {
                        _newConnections[port] = (t1, s.state)
                    }
                    for l in fresh { _lines.append((t1, l)) }
                }
                usleep(useconds_t(everyMs * 1000))
            }
        }
    }

    /// Stops sampling.
    func stop() {
        let t: pthread_t? = lock.withLock {
            stopping = true
            defer { thread = nil }
            return thread
        }
        if let t { pthread_join(t, nil) }
    }

    var sockets: [Int: Socket] { lock.withLock { _sockets } }
    var newConnections: [Int: (firstSeenMs: Int64, state: Int)] { lock.withLock { _newConnections } }
    /// When the first log line containing `text` appeared.
    func lineTime(containing text: String) -> Int64? { lock.withLock { _lines.first { $0.text.contains(text) }?.ms } }
}
