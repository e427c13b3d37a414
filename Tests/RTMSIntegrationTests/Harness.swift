// Shared pieces for tests that run the client core against the real simulator on 127.0.0.1.

import NIOConcurrencyHelpers
import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSSession
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

let testClientID = "test-client"
let testClientSecret = "test-secret"

/// A simulator with signature checks on, plus helpers to create meetings.
final class SimHarness {
    let sim: Simulator
    var caFile: String?

    init(tls: Bool = false, urlHost: String? = nil, configure: (inout SimulatorConfig) -> Void = { _ in }) throws {
        var c = SimulatorConfig()
        c.clientID = testClientID
        c.clientSecret = testClientSecret
        c.tls = tls
        c.urlHost = urlHost
        c.defaults.durationMs = 4000
        c.defaults.keepAliveMs = 10_000
        var l = c.logger
        l.logLevel = .error
        c.logger = l
        configure(&c)
        sim = Simulator(config: c)
        try sim.start()
        if tls, let g = sim.generatedTLS {
            let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            let path = tmp + "/openrtms-test-ca-\(getpid())-\(sim.port).pem"
            try writeTestFile(path, g.caPEM)
            caFile = path
        }
    }

    deinit {
        sim.stop()
        if let caFile { unlink(caFile) }
    }

    func meeting(_ change: (inout MeetingOptions) -> Void = { _ in }) -> StreamStart {
        var o = sim.config.defaults
        change(&o)
        let body = sim.createMeeting(o)
        return try! StreamStart(payload: body["payload"]!.objectValue!)
    }
}

func writeTestFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "w") else { throw SimulatorError("cannot write \(path)") }
    _ = text.withCString { fputs($0, f) }
    fclose(f)
}

/// A client with the test credentials.
func makeClient(
    types: Int, params: MediaParams? = nil, secret: String = testClientSecret,
    configure: (inout ClientConfig) -> Void = { _ in }
) throws -> RTMSClient {
    let c = RTMSClient()
    var cfg = c.config
    cfg.clientID = testClientID
    cfg.clientSecret = secret
    configure(&cfg)
    c.config = cfg
    try c.configure(mediaTypes: types, params: params)
    return c
}

struct Collected {
    var joinConfirm: (reason: Int, text: String)?
    var leave: (reason: Int, text: String)?
    var media: [MediaKind: [MediaData]] = [:]
    var events: [ClientEvent] = []

    func count(_ k: MediaKind) -> Int { media[k]?.count ?? 0 }
    var ended: Bool { leave != nil || (joinConfirm.map { $0.reason != 0 } ?? false) }

    mutating func add(_ item: ClientEventItem) {
        switch item {
        case .media(let m): media[m.kind, default: []].append(m)
        case .control(let e):
            events.append(e)
            if case .joinConfirm(let r, let t) = e { joinConfirm = (r, t) }
            if case .leave(let r, let t) = e { leave = (r, t) }
        }
    }
}

/// Polls `client` on this thread until `until` holds or `timeout` seconds pass.
@discardableResult
func collect(_ client: RTMSClient, into c: inout Collected, timeout: Double = 20, until: (Collected) -> Bool = { $0.ended }) -> Collected {
    let deadline = nowMilliseconds() + Int64(timeout * 1000)
    while !until(c) && nowMilliseconds() < deadline {
        client.poll(waitMilliseconds: 50) { c.add($0) }
    }
    return c
}

func collect(_ client: RTMSClient, timeout: Double = 20, until: (Collected) -> Bool = { $0.ended }) -> Collected {
    var c = Collected()
    return collect(client, into: &c, timeout: timeout, until: until)
}

func sleepMs(_ ms: Int) { usleep(useconds_t(ms * 1000)) }
