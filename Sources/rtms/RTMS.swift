// rtms: the OpenRTMS command line. `rtms demo` runs a meeting on the embedded simulator and
// joins it through the core; `rtms join` joins one stream; `rtms sim` runs the simulator.

import ArgumentParser
import Dispatch
import RTMSClient
import RTMSProtocol
import RTMSSession
import RTMSSimCommand
import RTMSSimulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct RTMS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtms",
        abstract: "OpenRTMS: receive Zoom Realtime Media Streams.",
        discussion: """
        Examples:
          rtms demo                       a 20 s scripted meeting on the embedded simulator: live transcript and counters
          rtms demo --duration 60 --tls   the same over wss:// with a generated certificate
          rtms sim --print-started        run the simulator; each rtms_started body goes to stdout
          rtms join --payload '{"meeting_uuid":"…","rtms_stream_id":"…","server_urls":"wss://…"}'
                                          join one stream (signature from ZM_RTMS_CLIENT/ZM_RTMS_SECRET)
        """,
        subcommands: [Demo.self, Join.self, Sim.self],
        defaultSubcommand: Demo.self)
}

// MARK: - demo

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scripted meeting on the embedded simulator and join it through the core.",
        discussion: "Prints the live transcript, chat and events, a counter line per second, and a summary when the meeting ends.")

    @Option(help: "Meeting length in seconds.") var duration: Double = 20
    @Option(help: "Seed of the scripted meeting.") var seed: UInt64 = 7
    @Option(help: "Participants (2...8).") var participants = 4
    @Flag(help: "Use wss:// with a generated certificate (verified against the generated CA).") var tls = false
    @Flag(help: "Receive everything on one unified connection (media type 32) instead of one per kind.") var unified = false
    @Flag(help: "No counter line, only transcript and events.") var quiet = false

    func run() throws {
        var cfg = SimulatorConfig()
        cfg.tls = tls
        cfg.urlHost = tls ? "localhost" : nil
        cfg.clientID = "demo-client"
        cfg.clientSecret = "demo-secret-\(seed)"
        cfg.defaults.durationMs = Int(duration * 1000)
        cfg.defaults.seed = seed
        cfg.defaults.participants = participants
        var simLogger = cfg.logger
        simLogger.logLevel = .warning
        cfg.logger = simLogger
        var caFile: String? = nil
        if tls {
            caFile = temporaryDirectory() + "/openrtms-demo-ca-\(getpid()).pem"
            cfg.caOutputPath = caFile
        }
        let sim = Simulator(config: cfg)
        try sim.start()
        defer {
            sim.stop()
            if let caFile { unlink(caFile) }
        }
        let body = sim.createMeeting()
        guard let payload = body["payload"]?.objectValue, let start = try? StreamStart(payload: payload) else {
            throw ValidationError("the simulator did not create a meeting")
        }
        say("simulator: \(sim.signalingURL)  stream \(start.streamID)  meeting \(start.instanceID)")
        say("joining with media \(unified ? "all (one connection)" : "audio, video, deskshare, transcript, chat (one connection each)")…")

        let client = RTMSClient()
        var cc = client.config
        cc.clientID = cfg.clientID
        cc.clientSecret = cfg.clientSecret
        cc.transport.caPath = caFile
        cc.pollWaitMilliseconds = 100
        client.config = cc
        try client.configure(mediaTypes: unified ? MediaMask.all.rawValue : MediaMask.everyKind.rawValue,
                             params: MediaParams(audio: AudioParams(dataOpt: DataOption.audioMultiStreams)))
        client.subscribe(events: [2, 3, 4, 5, 6, 8, 9], on: true)
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)

        var stats = DemoStats()
        var names: [Int64: String] = [:]
        var done = false
        var exitCode: Int32 = 0
        var lastLine = nowMilliseconds()
        let started = nowMilliseconds()
        let deadline = started + Int64(duration * 1000) + 30_000
        while !done && nowMilliseconds() < deadline {
            client.poll(waitMilliseconds: 100) { item in
                switch item {
                case .media(let m):
                    stats.add(m)
                    switch m.kind {
                    case .transcript:
                        let t = String(decoding: m.data, as: UTF8.self)
                        say("  [\(clock(m.startTime, from: stats.firstTimestamp ?? m.startTime))] \(m.userName): \(t)")
                    case .chat:
                        say("  (chat) \(m.userName): \(String(decoding: m.data, as: UTF8.self))")
                    default: break
                    }
                case .control(let ev):
                    switch ev {
                    case .joinConfirm(let reason, let text):
                        if reason == 0 { say("joined: \(text)") } else {
                            say("join failed (\(reason)): \(text)")
                            exitCode = 1
                            done = true
                        }
                    case .leave(let reason, let text):
                        say("left: \(StopReason.name(reason)) (\(reason)): \(text)")
                        done = true
                    case .userUpdate(let op, let id, let name):
                        if op == UserOp.join { names[id] = name }
                        say("  * \(names[id] ?? name) \(op == UserOp.join ? "joined" : "left")")
                    case .participantVideo(let ids, let on):
                        say("  * video \(on ? "on" : "off"): \(ids.map { names[$0] ?? String($0) }.joined(separator: ", "))")
                    case .sharing(let started, _, let name, _):
                        say(started ? "  * \(name.isEmpty ? "someone" : name) started sharing" : "  * sharing stopped")
                    case .warning(_, let text):
                        say("  ! \(text)")
                    default: break
                    }
                }
            }
            if !quiet && nowMilliseconds() - lastLine >= 1000 {
                lastLine = nowMilliseconds()
                say(stats.line(elapsed: Double(lastLine - started) / 1000))
            }
        }
        client.leave()
        let c = client.counters
        say("summary: " + stats.line(elapsed: Double(nowMilliseconds() - started) / 1000)
            + "; dropped malformed \(c.droppedMalformed), queue-full \(c.droppedQueueFull)")
        if !done { say("the meeting did not end in time"); exitCode = 1 }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }
}

struct DemoStats {
    var count = [Int](repeating: 0, count: 5)
    var bytes = [Int](repeating: 0, count: 5)
    var firstTimestamp: Int64?
    mutating func add(_ m: MediaData) {
        let i = m.kind.rawValue.trailingZeroBitCount
        count[i] += 1
        bytes[i] += m.data.count
        if firstTimestamp == nil, m.kind == .audio { firstTimestamp = m.timestamp }
    }
    func line(elapsed: Double) -> String {
        let secs = Int(elapsed)
        return "[\(secs / 60):\(String(format2: secs % 60))] audio \(count[0]) msgs \(bytes[0] / 1024) KiB | video \(count[1]) frames | deskshare \(count[2]) frames | transcript \(count[3]) | chat \(count[4])"
    }
}

extension String {
    init(format2 v: Int) { self = v < 10 ? "0\(v)" : "\(v)" }
}

func clock(_ ts: Int64, from start: Int64) -> String {
    let s = max(0, Int((ts - start) / 1000))
    return "\(s / 60):\(String(format2: s % 60))"
}

func temporaryDirectory() -> String {
    if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
    return "/tmp"
}

func say(_ s: String) {
    print(s)
    fflush(nil)
}

// MARK: - join

struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join one stream and print every callback as a JSON line.",
        discussion: """
        Give either --payload (an rtms_started body or its payload object) or the three ids.
        The signature is computed from --client-id/--client-secret or ZM_RTMS_CLIENT/ZM_RTMS_SECRET
        unless --signature is given.
        """)

    @Option(help: "The rtms_started webhook body (or its payload) as JSON.") var payload: String?
    @Option(help: "Instance id: meeting_uuid, webinar_uuid, session_id, engagement_id or call_id.") var meetingUUID: String?
    @Option(help: "rtms_stream_id.") var streamID: String?
    @Option(help: "server_urls (comma-separated alternatives).") var serverURLs: String?
    @Option(help: "Precomputed signature.") var signature: String?
    @Option(help: "Client id [ZM_RTMS_CLIENT].") var clientID: String?
    @Option(help: "Client secret [ZM_RTMS_SECRET].") var clientSecret: String?
    @Option(help: "Media kinds: audio,video,deskshare,transcript,chat or all.") var media = "audio,transcript"
    @Option(help: "Event types to subscribe (comma-separated).") var events = "2,3,4,5,6,8,9"
    @Option(help: "CA file for wss:// [ZM_RTMS_CA].") var ca: String?
    @Flag(help: "Do not verify the server certificate.") var noVerify = false
    @Option(help: "HTTP CONNECT proxy URL.") var proxy: String?
    @Option(help: "Leave after this many seconds (0 = when the stream ends).") var duration: Double = 0
    @Option(help: "Join timeout in milliseconds.") var timeout = 10_000

    func run() throws {
        var instance = meetingUUID, stream = streamID, urls = serverURLs
        if let payload {
            guard let o = (try? JSON.parse(payload))?.objectValue else { throw ValidationError("--payload is not a JSON object") }
            do {
                let s = try StreamStart(payload: o)
                instance = s.instanceID; stream = s.streamID; urls = s.serverURLs
            } catch { throw ValidationError("\(error)") }
        }
        guard let instance, let stream, let urls else {
            throw ValidationError("give --payload, or --meeting-uuid, --stream-id and --server-urls")
        }
        var mask = 0
        for k in media.split(separator: ",") {
            if k == "all" { mask |= MediaMask.all.rawValue; continue }
            guard let kind = MediaKind(key: String(k)) else { throw ValidationError("unknown media kind '\(k)'") }
            mask |= kind.rawValue
        }
        let client = RTMSClient()
        var cc = client.config
        cc.clientID = clientID
        cc.clientSecret = clientSecret
        cc.transport.caPath = ca ?? env("ZM_RTMS_CA")
        cc.transport.verifyCertificate = !noVerify
        cc.transport.proxyURL = proxy
        client.config = cc
        try client.configure(mediaTypes: mask, params: nil)
        client.subscribe(events: events.split(separator: ",").compactMap { Int($0) }, on: true)
        do {
            try client.join(instanceID: instance, streamID: stream, signature: signature, serverURLs: urls, timeoutMilliseconds: timeout)
        } catch { throw ValidationError(error.message) }
        let end = duration > 0 ? nowMilliseconds() + Int64(duration * 1000) : Int64.max
        var done = false
        var failed = false
        while !done && nowMilliseconds() < end {
            client.poll(waitMilliseconds: 200) { item in
                var o: JSONObject = ["t": .int(nowMilliseconds())]
                switch item {
                case .media(let m):
                    o["cb"] = .string(m.kind.key)
                    o["size"] = .int(Int64(m.data.count))
                    o["timestamp"] = .int(m.timestamp)
                    o["user_id"] = .int(m.userID)
                    o["user_name"] = .string(m.userName)
                    if m.kind == .transcript || m.kind == .chat { o["text"] = .string(String(decoding: m.data, as: UTF8.self)) }
                case .control(let ev):
                    for p in ev.json.pairs { o[p.key] = p.value }
                    if case .joinConfirm(let r, _) = ev, r != 0 { done = true; failed = true }
                    if case .leave = ev { done = true }
                }
                print(JSON.string(.object(o)))
            }
            fflush(nil)
        }
        client.leave()
        if failed { throw ExitCode(1) }
    }

    func env(_ n: String) -> String? { getenv(n).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
}

// MARK: - sim

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the RTMS simulator (the same as rtms-sim).")
    @OptionGroup var options: SimOptions
    func run() throws { try options.run() }
}
