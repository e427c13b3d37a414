// Chaos: many streams, random faults from a seed (sockets aborted, closed, frozen, keep-alives
// muted, server failovers and interruptions announced by webhook, refused reconnections,
// redelivered webhooks) for a while. Every stream must recover or end with a reason; afterwards
// no socket of the clients to the simulator is left open and every client is freed.
// RTMS_CHAOS_SECONDS sets the length (default 90), RTMS_CHAOS_SEED the seed (default 7).

import NIOPosix
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator
@testable import RTMSWebhook

#if canImport(Glibc)
import Glibc
#endif

/// Lines of a /proc table, without Foundation.
func readProcFile(_ path: String) -> [String] {
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var lines: [String] = []
    var buf = [CChar](repeating: 0, count: 512)
    while fgets(&buf, Int32(buf.count), f) != nil {
        lines.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return lines
}

/// Inodes of the sockets this process holds (links "socket:[N]" in /proc/self/fd).
func ownSocketInodes() -> Set<String> {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    var out: Set<String> = []
    var link = [CChar](repeating: 0, count: 64)
    while let e = readdir(dir) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name.first?.isNumber == true else { continue }
        let n = readlink("/proc/self/fd/" + name, &link, link.count - 1)
        guard n > 0 else { continue }
        let target = String(decoding: link[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("socket:[") { out.insert(String(target.dropFirst(8).dropLast())) }
    }
    return out
}

/// This process's sockets connected to `port` that it has not closed: ESTABLISHED or CLOSE_WAIT
/// with `port` as the remote end (a socket the application closed is in FIN_WAIT or TIME_WAIT;
/// the server's own side, e.g. a connection the simulator froze, is not counted, nor are other
/// processes' sockets). Each as "local-port state".
func clientSocketsHeldOpen(toPort port: Int, localPorts: Set<Int>? = nil) -> [String] {
    let hexPort = String(port, radix: 16, uppercase: true)
    let want = String(repeating: "0", count: max(0, 4 - hexPort.count)) + hexPort
    let mine = ownSocketInodes()
    var out: [String] = []
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        for line in readProcFile(table).dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 9, mine.contains(String(f[9])) else { continue }
            let remote = f[2].split(separator: ":").last.map(String.init) ?? ""
            let local = f[1].split(separator: ":").last.flatMap { Int($0, radix: 16) } ?? 0
            guard localPorts == nil || localPorts!.contains(local) else { continue }
            if remote == want && (f[3] == "01" || f[3] == "08") { out.append("\(local) \(f[3] == "01" ? "ESTABLISHED" : "CLOSE_WAIT")") }
        }
    }
    return out
}

func threadCount() -> Int {
    for line in readProcFile("/proc/self/status") where line.hasPrefix("Threads:") {
        return Int(line.dropFirst("Threads:".count).filter { $0 != " " && $0 != "\t" && $0 != "\n" }) ?? -1
    }
    return -1
}

func environmentInt(_ name: String, _ def: Int) -> Int { getenvString(name).flatMap { Int($0) } ?? def }

@Suite(.serialized) struct ChaosTests {
    // Async, and it sleeps by awaiting: its 90 s must not hold one of the cooperative pool's two
    // threads (on a 2-core machine), which every async test beside it needs.
    @Test func manyStreamsUnderRandomFaultsRecoverOrEndWithAReason() async throws {
        let seconds = environmentInt("RTMS_CHAOS_SECONDS", 90)
        let seed = UInt64(environmentInt("RTMS_CHAOS_SEED", 7))
        let streams = 8
        // Loops that live for the process exist before the thread baseline is taken (other
        // suites running meanwhile may create NIO's singleton group).
        _ = Runtime.group
        _ = MultiThreadedEventLoopGroup.singleton
        let threadsBefore = threadCount()

        var weakClients: [WeakRef] = []
        var simPort = 0
        do {
            let intake = try WebhookServer(
                settings: {
                    var s = WebhookSettings()
                    s.host = "127.0.0.1"; s.port = 0; s.path = "/chaos"; s.secretToken = "chaos-secret"
                    return s
                }())
            defer { intake.stop() }
            let h = try SimHarness { c in
                c.webhookURL = "http://127.0.0.1:\(intake.port)/chaos"
                c.webhookSecret = "chaos-secret"
                c.defaults.durationMs = (seconds + 60) * 1000
                c.defaults.keepAliveMs = 1000
                c.defaults.reconnectWindowMs = 20_000
            }
            simPort = h.sim.port
            var clients: [(RTMSClient, StreamStart)] = []
            for _ in 0..<streams {
                let start = h.meeting()
                let client = try makeClient(types: MediaMask.audio.rawValue | MediaMask.transcript.rawValue) { cfg in
                    fastPolicy(&cfg)
                    cfg.policy.maxAttempts = 8
                    cfg.keepAliveIntervalMs = 3000
                    cfg.keepAliveTimeoutMs = 4000
                }
                try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
                clients.append((client, start))
                weakClients.append(WeakRef(client))
            }
            var seen = [Collected](repeating: Collected(), count: streams)
            var lastAudio = [Int64](repeating: 0, count: streams)
            // Every local port the chaos clients' connections used (sampled): after the end, none
            // of these sockets may be left open (another suite's client reconnecting to a port this
            // simulator took over later is not theirs).
            var ours = Set<Int>()
            var lastSample: Int64 = 0
            func pump(for ms: Int64) async {
                let end = nowMilliseconds() + ms
                while nowMilliseconds() < end {
                    if nowMilliseconds() - lastSample >= 200 {
                        lastSample = nowMilliseconds()
                        for (c, _) in clients { ours.formUnion(c.localPorts()) }
                    }
                    for i in 0..<streams {
                        clients[i].0.poll(maxEvents: 10_000) { item in
                            if case .media(let m) = item, m.kind == .audio { lastAudio[i] = nowMilliseconds() }
                            seen[i].add(item)
                        }
                    }
                    _ = intake.inbox.take(max: 1000)
                    try? await Task.sleep(nanoseconds: 5_000_000)
                }
            }
            // Joined first (up to 30 s: the whole suite starts at once, and joins wait their turn).
            let joinDeadline = nowMilliseconds() + 30_000
            await pump(for: 1000)
            while seen.contains(where: { $0.joinConfirm == nil }) && nowMilliseconds() < joinDeadline { await pump(for: 100) }
            #expect(seen.allSatisfy { $0.joinConfirm?.reason == 0 }, "every stream joined before the chaos")

            h.sim.startRandomChaos(seed: seed, perMinute: Double(streams) * 4)
            await pump(for: Int64(seconds) * 1000)
            h.sim.stopRandomChaos()
            let faults = h.sim.chaosLog
            #expect(faults.count >= seconds / 4, "faults were injected: \(faults.count)")
            // Time to recover from the last faults (a frozen socket needs the liveness timeout).
            await pump(for: 15_000)

            let now = nowMilliseconds()
            for i in 0..<streams {
                let c = seen[i]
                if let leave = c.leave {
                    // Ended: with a reason the application can read.
                    #expect(!leave.text.isEmpty, "stream \(i) ended without a reason text")
                } else {
                    #expect(clients[i].0.isLive, "stream \(i) neither ended nor live")
                    #expect(now - lastAudio[i] < 5000, "stream \(i) is live but audio stopped \(now - lastAudio[i]) ms ago")
                }
                #expect(Set((c.media[.audio] ?? []).compactMap(\.sequence)).count == c.count(.audio), "stream \(i): audio duplicated")
            }
            let recovered = seen.filter { $0.leave == nil }.count
            let reconnects = seen.map { $0.reconnected.count }.reduce(0, +)
            #expect(reconnects > 0, "the faults caused reconnections")
            print(
                "chaos: \(faults.count) faults over \(seconds) s on \(streams) streams; \(reconnects) reconnections; \(recovered) streams live at the end, \(streams - recovered) ended with a reason"
            )

            // The end of every stream still reaches its client.
            for (client, start) in clients where client.isLive { h.sim.stopStream(start.streamID, reason: StopReason.hostTriggered) }
            let deadline = nowMilliseconds() + 15_000
            while clients.contains(where: { $0.0.isLive }) && nowMilliseconds() < deadline { await pump(for: 100) }
            #expect(!clients.contains(where: { $0.0.isLive }), "every live stream ended when the meeting ended")
            for (c, _) in clients { ours.formUnion(c.localPorts()) }
            #expect(ours.count >= streams * 2, "the clients' sockets were sampled: \(ours.count)")
            for (client, _) in clients { client.leave() }
            // No socket of the clients is left, counted while the simulator still holds its port
            // (once it is gone, another suite's server may get the same port number). Its own
            // side may keep a connection it froze until it stops.
            // Up to 30 s: in the full suite, other suites load both cores (seen once: every socket
            // of the live streams still open after 10 s); how long it took is printed when slow.
            let t0 = nowMilliseconds()
            var open = clientSocketsHeldOpen(toPort: simPort, localPorts: ours)
            let heldAtLeave = open
            for _ in 0..<600 where !open.isEmpty {
                try? await Task.sleep(nanoseconds: 50_000_000)
                open = clientSocketsHeldOpen(toPort: simPort, localPorts: ours)
            }
            if nowMilliseconds() - t0 > 1000 {
                print("chaos: the clients' sockets took \(nowMilliseconds() - t0) ms to close after leave; held at leave: \(heldAtLeave)")
            }
            let foreign = Set(clientSocketsHeldOpen(toPort: simPort)).subtracting(open)
            if !foreign.isEmpty { print("chaos: other sockets of this process to the simulator's port (not the chaos clients'): \(foreign.sorted())") }
            #expect(open.isEmpty, "\(open.count) client sockets to the simulator still open: \(open)")
        }
        // Everything is torn down: no client is left (each client's resources go with it). The
        // process's thread count is only reported: in the full suite other suites start and stop
        // threads meanwhile (forwarders, simulators, PostgreSQL clients; seen: 11 before, 19 after),
        // so it cannot tell this test's threads from theirs; the core creates no thread per client.
        var threads = threadCount()
        for _ in 0..<100 where threads > threadsBefore + 2 || weakClients.contains(where: { $0.value != nil }) {
            try? await Task.sleep(nanoseconds: 50_000_000)
            threads = threadCount()
        }
        #expect(weakClients.allSatisfy { $0.value == nil }, "clients were not freed")
        if threads > threadsBefore + 2 { print("chaos: threads of the process: \(threadsBefore) before, \(threads) after (other suites run meanwhile)") }
    }
}

final class WeakRef {
    weak var value: RTMSClient?
    init(_ v: RTMSClient) { value = v }
}
