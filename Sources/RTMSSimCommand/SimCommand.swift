// The simulator's command line, shared by `rtms-sim` and `rtms sim`.

import ArgumentParser
import Dispatch
import Logging
import RTMSProtocol
import RTMSSimulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct SimOptions: ParsableArguments {
    @Option(help: "Address to listen on.") public var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 = any free port).") public var port = 0
    // Zoom serves only wss://, and so does the command line unless told --no-tls: a CA and a server
    // certificate are generated at start (--ca-out writes the CA for clients), or taken from
    // --tls-dir or --cert/--key. (SimulatorConfig's library default stays plain: tests set it.)
    @Flag(help: "Serve wss:// and https:// (the default; accepted to say so explicitly).") public var tls = false
    @Flag(name: .customLong("no-tls"), help: "Serve plain ws:// and http:// instead (not with --tls, --tls-dir, --cert/--key or --ca-out).")
    public var noTLS = false
    @Option(help: "PEM certificate chain to serve instead of a generated one (with --key).") public var cert: String?
    @Option(help: "PEM private key of --cert.") public var key: String?
    @Option(help: "Write the generated CA certificate here (clients trust it: ZM_RTMS_CA, rtms_init). Without it the CA exists only in memory.") public
        var caOut: String?
    @Option(
        help:
            "TLS material in this folder: ca.pem, cert.pem, key.pem, generated there first when missing. Configure clients with DIR/ca.pem before the simulator starts: see --prepare-only."
    )
    public var tlsDir: String?
    @Flag(help: "With --tls-dir: write the TLS material and exit (so a client can be configured first).") public var prepareOnly = false
    @Option(help: "Host name in the URLs handed out (default: --host; use localhost for Zoom's client with TLS).") public var urlHost: String?
    @Option(help: "POST rtms_started / rtms_stopped webhooks to this URL.") public var webhookURL: String?
    @Flag(help: "Write each meeting's rtms_started body to stdout as one JSON line.") public var printStarted = false
    @Option(help: "Client id for signature checks [ZM_RTMS_CLIENT].") public var clientID: String?
    @Option(help: "Client secret for signature checks [ZM_RTMS_SECRET].") public var clientSecret: String?
    @Option(help: "Webhook secret token for x-zm-signature [ZM_RTMS_WEBHOOK_SECRET].") public var webhookSecret: String?
    @Option(help: "Meetings to start at once.") public var meetings = 1
    @Option(help: "Length of each scripted meeting, in seconds.") public var duration: Double = 30
    @Option(help: "Seed of the scripted meetings.") public var seed: UInt64 = 1
    @Option(help: "Participants per meeting (2...8).") public var participants = 3
    @Option(help: "Keep-alive interval on idle connections, in milliseconds.") public var keepaliveMs = 10_000
    @Option(help: "End a stream nobody joins after this many seconds.") public var joinWait: Double = 120
    @Option(help: "Random chaos: faults per minute on running streams (0 = none).") public var chaosRate: Double = 0
    @Option(help: "Seed of the random chaos (the same seed replays the same faults).") public var chaosSeed: UInt64 = 1
    @Flag(help: "Exit when every meeting has ended.") public var exitWhenDone = false
    @Flag(help: "Log every connection and stream event to stderr.") public var verbose = false

    public init() {}

    /// Combinations that cannot mean anything (ArgumentParser calls this before run; makeConfig too).
    public func validate() throws {
        if noTLS {
            let tlsOptions = [
                (tls, "--tls"), (tlsDir != nil, "--tls-dir"), (cert != nil, "--cert"), (key != nil, "--key"),
                (caOut != nil, "--ca-out"),
            ].filter { $0.0 }.map { $0.1 }
            if !tlsOptions.isEmpty {
                throw ValidationError("--no-tls (plain ws://) cannot be combined with options of wss://: \(tlsOptions.joined(separator: ", "))")
            }
        }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if tlsDir != nil && cert != nil { throw ValidationError("give --tls-dir or --cert/--key, not both") }
        if caOut != nil && (tlsDir != nil || cert != nil) {
            throw ValidationError("--ca-out writes the CA the simulator generates; with --tls-dir the CA is DIR/ca.pem, with --cert/--key it is yours")
        }
        if prepareOnly && tlsDir == nil { throw ValidationError("--prepare-only needs --tls-dir") }
    }

    public func makeConfig() throws -> SimulatorConfig {
        var c = SimulatorConfig()
        c.host = host
        c.port = port
        try validate()
        c.tls = !noTLS
        c.certificatePath = cert
        c.keyPath = key
        if let dir = tlsDir {
            let p = try GeneratedTLS.prepare(in: dir)
            c.certificatePath = p.certificate
            c.keyPath = p.key
        }
        c.caOutputPath = caOut
        c.urlHost = urlHost
        c.webhookURL = webhookURL
        c.clientID = clientID ?? env("ZM_RTMS_CLIENT")
        c.clientSecret = clientSecret ?? env("ZM_RTMS_SECRET")
        c.webhookSecret = webhookSecret ?? env("ZM_RTMS_WEBHOOK_SECRET")
        c.defaults.durationMs = Int(duration * 1000)
        c.defaults.seed = seed
        c.defaults.participants = participants
        c.defaults.keepAliveMs = keepaliveMs
        c.defaults.joinWaitMs = Int(joinWait * 1000)
        var l = Logger(label: "rtms-sim")
        l.logLevel = verbose ? .info : .warning
        c.logger = l
        return c
    }

    /// Runs the simulator until every meeting ended (--exit-when-done) or SIGINT/SIGTERM.
    public func run() throws {
        let config = try makeConfig()
        if prepareOnly, let dir = tlsDir {
            writeStderr("rtms-sim: TLS material in \(dir) (trust \(dir)/ca.pem)\n")
            return
        }
        let sim = Simulator(config: config)
        Stopper.shared.install()
        let port = try sim.start()
        let remaining = Counter(meetings)
        let exitWhenDone = self.exitWhenDone
        sim.onEnded { _, _ in
            if remaining.decrement() <= 0 && exitWhenDone { Stopper.shared.stop() }
        }
        if printStarted {
            sim.onStarted { body in
                print(JSON.string(body))
                fflush(nil)
            }
        }
        var msg = "rtms-sim: listening on port \(port); signaling \(sim.signalingURL); control \(sim.baseHTTPURL)/meetings"
        if !config.tls {
            msg += "; plain ws:// (--no-tls)"
        } else if let dir = tlsDir {
            msg += "; wss:// with the CA certificate in \(dir)/ca.pem"
        } else if let c = cert {
            msg += "; wss:// with the certificate \(c)"
        } else if let ca = caOut {
            msg += "; wss:// with a generated CA, its certificate in \(ca) (clients trust it: ZM_RTMS_CA=\(ca))"
        } else {
            msg += "; wss:// with a CA generated in memory (for clients to trust it: --ca-out FILE, or --tls-dir DIR for DIR/ca.pem; --no-tls for plain ws://)"
        }
        if config.clientID != nil && config.clientSecret != nil {
            msg += "; handshake signatures checked for client id \(config.clientID!)"
        } else {
            msg += "; handshake signatures NOT checked (give --client-id and --client-secret, or ZM_RTMS_CLIENT and ZM_RTMS_SECRET)"
        }
        if config.webhookURL != nil {
            msg += config.webhookSecret != nil ? "; webhooks signed" : "; webhooks NOT signed (no --webhook-secret / ZM_RTMS_WEBHOOK_SECRET)"
        }
        writeStderr(msg + "\n")
        for _ in 0..<meetings { sim.createMeeting() }
        if chaosRate > 0 { sim.startRandomChaos(seed: chaosSeed, perMinute: chaosRate) }
        Stopper.shared.wait()
        sim.stop()
    }
}

public func writeStderr(_ s: String) {
    var bytes = Array(s.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

func env(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let s = String(cString: p)
    return s.isEmpty ? nil : s
}

final class Counter: @unchecked Sendable {
    private var n: Int
    private let lock = DispatchSemaphore(value: 1)
    init(_ n: Int) { self.n = n }
    func decrement() -> Int { lock.wait(); defer { lock.signal() }; n -= 1; return n }
}

/// The write end of Stopper's pipe: what the signal handler writes to (write(2) is
/// async-signal-safe).
nonisolated(unsafe) private var stopWriteFD: Int32 = -1

/// Blocks the main thread until SIGINT, SIGTERM or stop().
public final class Stopper: @unchecked Sendable {
    public static let shared = Stopper()
    private let readFD: Int32
    private var installed = false

    private init() {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "rtms-sim: pipe() failed")
        readFD = fds[0]
        stopWriteFD = fds[1]
    }

    public func stop() {
        var b: UInt8 = 1
        _ = write(stopWriteFD, &b, 1)
    }

    /// Catches SIGINT and SIGTERM from now on, with a handler installed at once (run() calls it
    /// before the listening line): a signal sent right after that line is never lost, as it was
    /// when a dispatch signal source was still being registered after SIG_IGN.
    public func install() {
        guard !installed else { return }
        installed = true
        for s in [SIGINT, SIGTERM] {
            _ = signal(s) { _ in
                var b: UInt8 = 1
                _ = write(stopWriteFD, &b, 1)
            }
        }
    }

    public func wait() {
        install()
        var b: UInt8 = 0
        while read(readFD, &b, 1) < 0 && errno == EINTR {}
    }
}
