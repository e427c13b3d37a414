// The webhook intake against hostile and careless clients: idle sockets, slowloris heads and
// bodies, kept-alive connections left idle, a connection cap that keeps room for a real request,
// and (in a child process with a lowered descriptor limit) accept() failing with EMFILE.

import NIOCore
import NIOPosix
import RTMSTestSupport
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSimulator
@testable import RTMSWebhook

#if canImport(Glibc)
import Glibc
#endif

private let secret = "whsec-hardening"
private let path = "/zoom/webhook"

private func hardenedSettings(_ change: (inout WebhookSettings) -> Void = { _ in }) -> WebhookSettings {
    var s = WebhookSettings()
    s.host = "127.0.0.1"
    s.port = 0
    s.path = path
    s.secretToken = secret
    change(&s)
    return s
}

private func signed(_ body: [UInt8], secret: String = secret) -> [(String, String)] {
    let ts = String(nowMilliseconds() / 1000)
    return [
        ("Content-Type", "application/json"), ("x-zm-request-timestamp", ts),
        ("x-zm-signature", Signatures.webhook(secretToken: secret, timestamp: ts, body: body)),
    ]
}

/// POSTs a signed event; (status, milliseconds taken). Status 0 = no answer within `timeoutMs`.
private func postSigned(port: Int, event: String = "session.hardening", timeoutMs: Int64 = 3000) -> (Int, Int64) {
    let body = Array(#"{"event":"\#(event)","payload":{"n":\#(nowMilliseconds())}}"#.utf8)
    let t0 = nowMilliseconds()
    do {
        let r = try WebhookPoster.post(
            url: "http://127.0.0.1:\(port)\(path)", body: body, headers: signed(body),
            on: Runtime.group.next(), timeout: .milliseconds(timeoutMs)
        ).wait()
        return (r.status, nowMilliseconds() - t0)
    } catch {
        print("postSigned: \(error)")
        return (0, nowMilliseconds() - t0)
    }
}

/// A raw TCP client socket (blocking), connected to 127.0.0.1:port; -1 on failure.
private func rawConnect(_ port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = in_port_t(UInt16(port).bigEndian)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    let r = withUnsafePointer(to: &a) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if r != 0 { close(fd); return -1 }
    return fd
}

/// Sends everything; false when the peer is gone.
@discardableResult
private func rawSend(_ fd: Int32, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { return false }
        off += n
    }
    return true
}

/// Reads what is there within `ms`: nil when the peer closed (EOF or reset), else the bytes ("" = nothing yet).
private func rawRead(_ fd: Int32, waitMs: Int32) -> String? {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, waitMs) == 1 else { return "" }
    var buf = [UInt8](repeating: 0, count: 65536)
    let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
    if n == 0 { return nil }
    if n < 0 { return (errno == EAGAIN || errno == EWOULDBLOCK) ? "" : nil }
    return String(decoding: buf[0..<n], as: UTF8.self)
}

/// True when the peer has closed the socket (reading what arrives meanwhile).
private func peerClosed(_ fd: Int32, waitMs: Int32) -> Bool {
    let deadline = nowMilliseconds() + Int64(waitMs)
    repeat {
        if rawRead(fd, waitMs: 10) == nil { return true }
    } while nowMilliseconds() < deadline
    return false
}

@Suite(.serialized) struct WebhookHardeningTests {
    @Test func manyIdleSocketsLeaveRoomForASignedWebhook() throws {
        let server = try WebhookServer(
            settings: hardenedSettings {
                $0.maxConnections = 64; $0.headerTimeoutMs = 60_000
            })
        defer { server.stop() }
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<300 {
            let fd = rawConnect(server.port)
            #expect(fd >= 0)
            if fd >= 0 { idle.append(fd) }
        }
        // The intake has taken them all in (every connection counted, evicted or kept).
        let until = nowMilliseconds() + 5000
        while server.counters.connectionsAccepted < 300 && nowMilliseconds() < until { sleepMs(10) }
        let (status, ms) = postSigned(port: server.port)
        #expect(status == 200, "a signed webhook is answered while 300 idle sockets hold the cap of 64")
        #expect(ms < 1000, "answered in \(ms) ms")
        // The oldest idle connections made room: at most the cap is open, the rest were closed.
        let closedCount = idle.filter { peerClosed($0, waitMs: 20) }.count
        #expect(closedCount >= 300 - 64, "\(closedCount) idle sockets closed by the intake")
        let c = server.counters
        #expect(c.connectionsOpen <= 64, "\(c.connectionsOpen) open")
        #expect(c.evicted >= 300 - 64 + 1, "\(c.evicted) evicted")
        #expect(c.accepted == 1 && c.refused == 0)
    }

    @Test func aSlowlorisHeadIsCutWithinTheHeaderTimeout() throws {
        let server = try WebhookServer(settings: hardenedSettings { $0.headerTimeoutMs = 1000 })
        defer { server.stop() }
        let fd = rawConnect(server.port)
        #expect(fd >= 0)
        defer { close(fd) }
        let t0 = nowMilliseconds()
        rawSend(fd, "POST \(path) HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        // One byte every 200 ms, never the end of the head.
        var cutAfter: Int64? = nil
        while nowMilliseconds() - t0 < 4000 {
            if !rawSend(fd, "a") || peerClosed(fd, waitMs: 200) {
                cutAfter = nowMilliseconds() - t0
                break
            }
        }
        let ms = try #require(cutAfter, "a slowloris head was never cut")
        #expect(ms >= 900 && ms < 2500, "cut after \(ms) ms (header timeout 1000 ms)")
        #expect(server.counters.headerTimeouts == 1)
        // The intake still serves.
        #expect(postSigned(port: server.port).0 == 200)
    }

    @Test func aSlowBodyIsCutWithinTheBodyTimeout() throws {
        let server = try WebhookServer(settings: hardenedSettings { $0.bodyTimeoutMs = 1000 })
        defer { server.stop() }
        let fd = rawConnect(server.port)
        #expect(fd >= 0)
        defer { close(fd) }
        rawSend(fd, "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        let t0 = nowMilliseconds()
        var cutAfter: Int64? = nil
        for _ in 0..<20 {
            if !rawSend(fd, " ") || peerClosed(fd, waitMs: 200) {
                cutAfter = nowMilliseconds() - t0
                break
            }
        }
        let ms = try #require(cutAfter, "a body sent a byte at a time was never cut")
        #expect(ms >= 900 && ms < 2500, "cut after \(ms) ms (body timeout 1000 ms)")
        #expect(server.counters.bodyTimeouts == 1)
        #expect(postSigned(port: server.port).0 == 200)
    }

    @Test func idleConnectionsAreClosedFreshOrKeptAlive() throws {
        let server = try WebhookServer(
            settings: hardenedSettings {
                $0.idleTimeoutMs = 800; $0.headerTimeoutMs = 1200
            })
        defer { server.stop() }
        // Kept alive after an answered request, then silent: closed after the idle timeout.
        let fd = rawConnect(server.port)
        #expect(fd >= 0)
        defer { close(fd) }
        let body = #"{"event":"session.keepalive"}"#
        var req = "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n"
        for (k, v) in signed(Array(body.utf8)) { req += "\(k): \(v)\r\n" }
        rawSend(fd, req + "\r\n" + body)
        var answer = ""
        let until = nowMilliseconds() + 3000
        while !answer.contains("{\"status\":\"ok\"}") && nowMilliseconds() < until {
            guard let more = rawRead(fd, waitMs: 100) else { break }
            answer += more
        }
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
        let t0 = nowMilliseconds()
        #expect(peerClosed(fd, waitMs: 3000), "a kept-alive connection left idle is closed")
        let ms = nowMilliseconds() - t0
        #expect(ms >= 650 && ms < 2300, "closed after \(ms) ms idle (idle timeout 800 ms)")
        // A connection that never sends anything: its head never arrives (header timeout).
        let silent = rawConnect(server.port)
        #expect(silent >= 0)
        defer { close(silent) }
        let t1 = nowMilliseconds()
        #expect(peerClosed(silent, waitMs: 3000), "a silent connection is closed")
        let ms1 = nowMilliseconds() - t1
        #expect(ms1 >= 1000 && ms1 < 2700, "closed after \(ms1) ms (header timeout 1200 ms)")
        let c = server.counters
        #expect(c.idleTimeouts == 2 && c.headerTimeouts == 0 && c.accepted == 1 && c.connectionsOpen == 0)
    }

    @Test func atTheCapASlowlorisCrowdDoesNotKeepOutARealRequest() throws {
        let server = try WebhookServer(
            settings: hardenedSettings {
                $0.maxConnections = 16; $0.headerTimeoutMs = 60_000
            })
        defer { server.stop() }
        // 40 clients, each in the middle of a request head: no connection is idle.
        var slow: [Int32] = []
        defer { slow.forEach { close($0) } }
        for _ in 0..<40 {
            let fd = rawConnect(server.port)
            if fd >= 0 {
                rawSend(fd, "POST \(path) HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                slow.append(fd)
            }
        }
        let until = nowMilliseconds() + 5000
        while server.counters.connectionsAccepted < 40 && nowMilliseconds() < until { sleepMs(10) }
        let (status, ms) = postSigned(port: server.port)
        #expect(status == 200 && ms < 1000, "status \(status) after \(ms) ms")
        let c = server.counters
        #expect(c.connectionsOpen <= 16 && c.evicted >= 40 - 16 + 1 && c.refused == 0, "\(c)")
    }

    @Test func theCapGivesUpIdleThenHeadThenBodyAndNeverAnAnswer() throws {
        // The policy alone, on real (UDP) channels standing in for connections.
        let table = ConnectionTable(limit: 3)
        func channel() throws -> Channel {
            try DatagramBootstrap(group: Runtime.group).bind(host: "127.0.0.1", port: 0).wait()
        }
        let body = try channel(), head = try channel(), idle = try channel()
        defer { for c in [body, head, idle] { try? c.close().wait() } }
        let b = try #require(table.admit(body))
        let h = try #require(table.admit(head))
        let i = try #require(table.admit(idle))
        table.set(b, .body)
        table.set(h, .head)
        // At the cap: the idle one goes first, then the one sending its head, then the body.
        for (victim, id) in [(idle, i), (head, h), (body, b)] {
            let newcomer = try channel()
            defer { try? newcomer.close().wait() }
            let n = try #require(table.admit(newcomer))
            table.set(n, .answering)
            try victim.closeFuture.wait()
            table.remove(id)  // a no-op: it is already gone
        }
        // Everything is being answered: the next one is refused, nothing is closed.
        let late = try channel()
        defer { try? late.close().wait() }
        #expect(table.admit(late) == nil)
        var c = WebhookCounters()
        table.addCounters(to: &c)
        #expect(c.evicted == 3 && c.refused == 1 && c.connectionsOpen == 3 && c.connectionsAccepted == 7)
        #expect(late.isActive)
    }

    @Test func stoppingClosesEveryConnection() throws {
        let server = try WebhookServer(settings: hardenedSettings())
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for _ in 0..<5 { fds.append(rawConnect(server.port)) }
        let until = nowMilliseconds() + 3000
        while server.counters.connectionsOpen < 5 && nowMilliseconds() < until { sleepMs(10) }
        server.stop()
        #expect(fds.allSatisfy { peerClosed($0, waitMs: 2000) })
    }
}

// MARK: - EMFILE, in a child process with a lowered descriptor limit

/// The directory of the running test bundle, where SwiftPM also puts the `rtms` executable.
private func productsDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return ".build/debug" }
    var p = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // .../debug/OpenRTMSPackageTests.xctest (a file on Linux)
    while let slash = p.lastIndex(of: "/") {
        p = String(p[..<slash])
        if access(p + "/rtms", X_OK) == 0 { return p }
    }
    return ".build/debug"
}

/// CPU seconds (user + system) the process has used so far.
private func cpuSeconds(_ pid: pid_t) -> Double? {
    guard let f = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(f) }
    var buf = [CChar](repeating: 0, count: 4096)
    guard fgets(&buf, Int32(buf.count), f) != nil else { return nil }
    let line = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let close = line.lastIndex(of: ")") else { return nil }
    let fields = line[line.index(after: close)...].split(separator: " ")
    // After "pid (comm)": state is field 3, utime 14, stime 15 (1-based) → indices 11 and 12 here.
    guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
    return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

extension WebhookHardeningTests {
    @Test func outOfDescriptorsTheIntakeStillAnswersAndDoesNotSpin() throws {
        let rtms = productsDirectory() + "/rtms"
        try #require(access(rtms, X_OK) == 0, "\(rtms) not built")
        var out: [Int32] = [0, 0]
        #expect(pipeCloseOnExec(&out))
        let outDir = (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/openrtms-emfile-\(getpid())"
        let script = "ulimit -n 64 && exec '\(rtms)' record --port 0 --path \(path) --out '\(outDir)' --quiet"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_addclose(&actions, out[0])
        closeInheritedDescriptors(&actions)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(script), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [
            strdup("ZM_RTMS_WEBHOOK_SECRET=\(secret)"), strdup("PATH=/usr/bin:/bin"),
            strdup("RTMS_LOG_LEVEL=error"), nil,
        ]
        defer { (argv + envp).forEach { free($0) } }
        #expect(posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp) == 0)
        close(out[1])
        defer {
            kill(pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            close(out[0])
        }
        // "waiting for rtms_started webhooks on port N path ..."
        var text = ""
        let until = nowMilliseconds() + 20_000
        while !text.contains(" path ") && nowMilliseconds() < until {
            var p = pollfd(fd: out[0], events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) == 1 else { continue }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = read(out[0], &buf, buf.count)
            if n <= 0 { break }
            text += String(decoding: buf[0..<n], as: UTF8.self)
        }
        let port = try #require(
            text.split(separator: " ").drop { $0 != "port" }.dropFirst().first.flatMap { Int($0) },
            "no port in \(text)")
        #expect(postSigned(port: port).0 == 200, "answers before the flood")

        // Twice as many idle connections as the child has descriptors.
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<128 {
            let fd = rawConnect(port)
            if fd >= 0 { idle.append(fd) }
        }
        sleepMs(500)
        let cpu0 = try #require(cpuSeconds(pid))
        let t0 = nowMilliseconds()
        sleepMs(2000)
        let cpu1 = try #require(cpuSeconds(pid))
        let share = (cpu1 - cpu0) / (Double(nowMilliseconds() - t0) / 1000)
        #expect(share < 0.3, "the intake used \(Int(share * 100)) % of a core while out of descriptors")
        var (status, ms) = postSigned(port: port, timeoutMs: 5000)
        if status == 0 {
            // Zoom retries a webhook whose connection failed; once was seen under a loaded CI
            // machine (a reset within 2 ms). Two failures in a row are a defect.
            print("outOfDescriptors: first post failed after \(ms) ms; retrying once as Zoom would")
            (status, ms) = postSigned(port: port, timeoutMs: 5000)
        }
        #expect(status == 200 && ms < 2000, "status \(status) after \(ms) ms with the descriptor table full")
    }
}
