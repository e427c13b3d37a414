// rtms: the OpenRTMS command line. `rtms demo` runs a meeting on the embedded simulator and
// joins it through the core; `rtms join` joins one stream; `rtms sim` runs the simulator.

import ArgumentParser
import Dispatch
import RTMSClient
import RTMSLive
import RTMSProtocol
import RTMSRecord
import RTMSSession
import RTMSSimCommand
import RTMSSimulator
import RTMSWebhook

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
              rtms demo                       a 20 s scripted meeting on the embedded simulator, recorded to ./rtms-recordings
              rtms demo --duration 60 --tls   the same over wss:// with a generated certificate
              rtms record                     receive Zoom's webhooks on ZM_RTMS_PORT (8080) and record every stream started
              rtms record --live              the same, and a live view of every stream at http://HOST:8080/live
              rtms record --payload '{"meeting_uuid":"…","rtms_stream_id":"…","server_urls":"wss://…"}' --out meeting1
                                              record one stream
              rtms sim --print-started --ca-out ca.pem
                                              run the simulator (wss://, its CA in ca.pem; --no-tls: ws://);
                                              each rtms_started body goes to stdout
              rtms join --payload '{"meeting_uuid":"…","rtms_stream_id":"…","server_urls":"wss://…"}'
                                              join one stream (signature from ZM_RTMS_CLIENT/ZM_RTMS_SECRET)
            """,
        subcommands: [Demo.self, Record.self, Serve.self, Join.self, Sim.self],
        defaultSubcommand: Demo.self)
}

// MARK: - demo

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scripted meeting on the embedded simulator and record it through the core.",
        discussion: """
            The simulator posts its rtms_started webhook to the core's webhook intake; the recorder joins
            the stream and writes WAV, WebVTT, JSON lines, video and a summary under --out. Prints the
            live transcript, a status line per second, and where the files are.

            The live view is served on the intake's port while the demo runs: open the
            URL printed at start (participants, who speaks, audio levels, the transcript,
            the latest video frame, reconnects and gaps). --live-linger keeps it up a
            while after the meeting, for a person to look.
            """)

    @Option(help: "Meeting length in seconds.") var duration: Double = 20
    @Option(help: "Seed of the scripted meeting.") var seed: UInt64 = 7
    @Option(help: "Participants (2...8).") var participants = 4
    @Option(help: "Where the recording goes.") var out = "rtms-recordings"
    @Flag(help: "Use wss:// with a generated certificate (verified against the generated CA).") var tls = false
    @Flag(help: "Receive everything on one unified connection (media type 32) instead of one per kind.") var unified = false
    @Flag(help: "No status line, only transcript and events.") var quiet = false
    @Option(help: "Keep the live view up this many seconds after the meeting ends (Ctrl-C ends it sooner).") var liveLinger: Double = 0

    func run() throws {
        // The core's webhook intake, on a free port, signed with a per-run secret; the live view on
        // the same port (loopback only).
        var ws = WebhookSettings()
        ws.host = "127.0.0.1"
        ws.port = 0
        ws.path = "/webhook"
        ws.secretToken = "demo-webhook-\(seed)"
        let live = LiveHub()
        var hooks = WebhookServerHooks()
        live.install(into: &hooks)
        let intake = try WebhookServer(endpoint: WebhookEndpoint(settings: ws), hooks: hooks)
        defer { intake.stop() }

        var cfg = SimulatorConfig()
        cfg.tls = tls
        cfg.urlHost = tls ? "localhost" : nil
        cfg.clientID = "demo-client"
        cfg.clientSecret = "demo-secret-\(seed)"
        cfg.webhookURL = "http://127.0.0.1:\(intake.port)/webhook"
        cfg.webhookSecret = ws.secretToken
        cfg.defaults.durationMs = Int(duration * 1000)
        cfg.defaults.seed = seed
        cfg.defaults.participants = participants
        var simLogger = cfg.logger
        simLogger.logLevel = .error
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
        say("simulator: \(sim.signalingURL); webhooks to the core's intake on port \(intake.port)")
        live.announce(on: intake, listening: ws)
        sim.createMeeting()

        var rs = RecordSettings()
        rs.outputDirectory = out
        rs.clientID = cfg.clientID
        rs.clientSecret = cfg.clientSecret
        rs.caPath = caFile
        if unified { rs.mediaTypes = MediaMask.all.rawValue }
        let recorder = Recorder(settings: rs)
        live.attach(to: recorder)
        guard case .started(let d) = intake.inbox.waitStarted(streamID: nil, milliseconds: 10_000),
            let start = try? StreamStart(payload: d.object)
        else {
            throw ValidationError("no rtms_started webhook reached the intake")
        }
        say("rtms_started for stream \(start.streamID) (meeting \(start.instanceID)): joining and recording")
        let rec = try recorder.record(start)
        let exit = try runRecorder(
            recorder, intake: intake, quiet: quiet, deadline: nowMilliseconds() + Int64(duration * 1000) + 30_000,
            stopWhenIdle: true, echo: true, live: live)
        say("recorded to \(rec.directory)/: \(listing(rec.directory))")
        if liveLinger > 0 && !stopRequested {
            say("live view stays up for \(liveLinger) s (Ctrl-C ends it)")
            let end = nowMilliseconds() + Int64(liveLinger * 1000)
            while !stopRequested && nowMilliseconds() < end {
                live.tick()
                usleep(100_000)
            }
        }
        if exit != 0 { throw ExitCode(exit) }
    }
}

/// The record loop shared by `demo` and `record`: polls every stream and the intake, joins new
/// streams, prints a status line, finalizes everything on SIGINT/SIGTERM or when done.
func runRecorder(
    _ recorder: Recorder, intake: WebhookServer?, quiet: Bool, deadline: Int64, stopWhenIdle: Bool,
    echo: Bool, live: LiveHub? = nil
) throws -> Int32 {
    installStopSignals()
    var lastStatus = nowMilliseconds()
    var failed = false
    while !stopRequested && nowMilliseconds() < deadline {
        if let intake {
            for d in intake.inbox.take(max: 64) where d.rtmsKind == "started" && !d.routedToLiveStream {
                guard let start = try? StreamStart(payload: d.object),
                    !recorder.sessions.contains(where: { $0.recorder.streamID == start.streamID })
                else { continue }
                do {
                    let r = try recorder.record(start)
                    say("recording stream \(start.streamID) to \(r.directory)/")
                } catch {
                    say("! \(error)")
                    live?.markEnded(streamID: start.streamID, note: "\(error)")
                }
            }
        }
        let before = recorder.sessions.map { $0.recorder.ended }
        recorder.poll(waitMs: 200, extraFD: intake?.inbox.wakeFD ?? -1)
        live?.tick()
        for (i, s) in recorder.sessions.enumerated() where s.recorder.ended && !(i < before.count && before[i]) {
            let summary = s.recorder.summary(nil)
            let end = summary["end"]
            say("stream \(s.recorder.streamID) ended: \(end?["name"]?.stringValue ?? "?") (\(end?["reason"]?.intValue ?? -1))")
            if let r = end?["reason"]?.intValue, s.client.phase == .ended, r != Int64(StopReason.meetingEnded), r != Int64(StopReason.hostTriggered),
                r != Int64(StopReason.userTriggered), r != Int64(StopReason.receiverRequestClose)
            {
                failed = true
            }
        }
        if echo { echoTranscript(recorder) }
        if !quiet && nowMilliseconds() - lastStatus >= 1000 {
            lastStatus = nowMilliseconds()
            Console.shared.status(recorder.statusLine())
        }
        if stopWhenIdle && !recorder.sessions.isEmpty && recorder.activeCount == 0 { break }
    }
    Console.shared.endStatus()
    if stopRequested { say("stopping: finalizing every file") }
    let summaries = recorder.finish()
    if let live {
        for s in recorder.sessions { live.markEnded(streamID: s.recorder.streamID, note: stopRequested ? "recording stopped" : "recording closed") }
        live.tick()
    }
    for s in summaries {
        let m = s["media"]
        say(
            "summary \(s["rtms_stream_id"]?.stringValue ?? ""): audio \(m?["audio"]?["messages"]?.intValue ?? 0) msgs, video \(m?["video"]?["messages"]?.intValue ?? 0) frames, transcript \(m?["transcript"]?["messages"]?.intValue ?? 0), chat \(m?["chat"]?["messages"]?.intValue ?? 0); participants \(s["participants"]?.arrayValue?.count ?? 0), reconnects \(s["reconnects"]?.intValue ?? 0)"
        )
    }
    return failed ? 1 : 0
}

nonisolated(unsafe) var stopRequested = false
nonisolated(unsafe) var transcriptEchoed: [String: Int] = [:]

func installStopSignals() {
    signal(SIGINT) { _ in stopRequested = true }
    signal(SIGTERM) { _ in stopRequested = true }
}

/// Prints transcript lines written since the last call (from transcript.jsonl).
func echoTranscript(_ recorder: Recorder) {
    for s in recorder.sessions {
        let path = s.recorder.directory + "/transcript.jsonl"
        guard let f = fopen(path, "r") else { continue }
        defer { fclose(f) }
        var n = 0
        var buf = [CChar](repeating: 0, count: 8192)
        while fgets(&buf, Int32(buf.count), f) != nil {
            n += 1
            if n <= transcriptEchoed[path, default: 0] { continue }
            let line = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let o = try? JSON.parse(line), let who = o["user_name"]?.stringValue, let text = o["text"]?.stringValue {
                say("  [\(clock(o["start_ms"]?.intValue ?? 0, from: 0))] \(who): \(text)")
            }
        }
        transcriptEchoed[path] = n
    }
}

func listing(_ dir: String) -> String {
    var names: [String] = []
    if let d = opendir(dir) {
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)
    }
    return names.sorted().joined(separator: ", ")
}

func writeErr(_ s: String) {
    var b = Array(s.utf8)
    _ = b.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

// MARK: - record

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record streams to files: WAV per participant and mixed, WebVTT and JSON lines, video, summary.json.",
        discussion: """
            Without --payload or ids it runs the core's webhook intake (ZM_RTMS_PORT/ZM_RTMS_PATH, HTTPS with
            ZM_RTMS_CERT/ZM_RTMS_KEY, signatures checked with ZM_RTMS_WEBHOOK_SECRET) and records every
            stream an rtms_started announces, until SIGINT. Every file is valid when it stops.

            --live serves a live view on the same port, a page at /live (--live-path):
            every stream's participants, who speaks, audio levels, the transcript, the
            latest frame, reconnects and gaps, updated by Server-Sent Events. Off by
            default: the webhook port is usually reachable from the internet;
            --live-token (RTMS_LIVE_TOKEN) makes the page ask for ?token=. See docs/live.md.

            Examples:
              ZM_RTMS_CLIENT=… ZM_RTMS_SECRET=… ZM_RTMS_WEBHOOK_SECRET=… rtms record --out recordings
              rtms record --live --live-token "$(openssl rand -hex 16)"     (open the URL it prints)
              rtms record --payload "$(cat started.json)" --duration 600
              rtms record --audio-codec opus --channels 2     Ogg Opus per participant (48 kHz), as received
            """)

    @Option(help: "Where recordings go (one folder per stream).") var out = "rtms-recordings"
    @Option(help: "An rtms_started body (or its payload) to record at once.") var payload: String?
    @Option(help: "Instance id (meeting_uuid, webinar_uuid, session_id, engagement_id or call_id).") var meetingUUID: String?
    @Option(help: "rtms_stream_id.") var streamID: String?
    @Option(name: .customLong("server-urls"), help: "server_urls.") var serverURLs: String?
    @Option(help: "Client id [ZM_RTMS_CLIENT].") var clientID: String?
    @Option(help: "Client secret [ZM_RTMS_SECRET].") var clientSecret: String?
    @Option(help: "Webhook port [ZM_RTMS_PORT, 8080].") var port: Int?
    @Option(help: "Webhook path [ZM_RTMS_PATH, /].") var path: String?
    @Option(help: "Media kinds: audio,video,deskshare,transcript,chat.") var media = "audio,video,deskshare,transcript,chat"
    @Option(help: "Audio sample rate: 8000, 16000, 32000 or 48000.") var sampleRate = 16_000
    @Option(help: "Audio channels: 1 or 2.") var channels = 1
    @Option(help: "Audio codec: l16 (WAV per participant and mixed) or opus (48 kHz; an Ogg Opus file per participant, as received).")
    var audioCodec = "l16"
    @Option(help: "CA file for wss:// [ZM_RTMS_CA].") var ca: String?
    @Option(help: "Stop after this many seconds (0 = until SIGINT, or when the given stream ends).") var duration: Double = 0
    @Flag(help: "No status line.") var quiet = false
    @OptionGroup var liveOptions: LiveOptions

    func validate() throws {
        guard [8000, 16_000, 32_000, 48_000].contains(sampleRate) else { throw ValidationError("--sample-rate must be 8000, 16000, 32000 or 48000") }
        guard channels == 1 || channels == 2 else { throw ValidationError("--channels must be 1 or 2") }
        guard RecordFormat.AudioCodec(rawValue: audioCodec.lowercased()) != nil else { throw ValidationError("--audio-codec must be l16 or opus") }
    }

    func run() throws {
        var rs = RecordSettings()
        rs.outputDirectory = out
        rs.format = RecordFormat(sampleRate: sampleRate, channels: channels, codec: RecordFormat.AudioCodec(rawValue: audioCodec.lowercased()) ?? .l16)
        rs.clientID = clientID
        rs.clientSecret = clientSecret
        rs.caPath = ca ?? getenv("ZM_RTMS_CA").map { String(cString: $0) }
        var mask = 0
        for k in media.split(separator: ",") {
            guard let kind = MediaKind(key: String(k)) else { throw ValidationError("unknown media kind '\(k)'") }
            mask |= kind.rawValue
        }
        rs.mediaTypes = mask
        let recorder = Recorder(settings: rs)
        let live = liveOptions.hub()
        live?.attach(to: recorder)
        var start: StreamStart? = nil
        if let payload {
            guard let o = (try? JSON.parse(payload))?.objectValue, let s = try? StreamStart(payload: o) else {
                throw ValidationError("--payload is not an rtms_started body or payload")
            }
            start = s
        } else if let meetingUUID, let streamID, let serverURLs {
            start = StreamStart(instanceID: meetingUUID, streamID: streamID, serverURLs: serverURLs)
        } else if meetingUUID != nil || streamID != nil || serverURLs != nil {
            throw ValidationError("give all of --meeting-uuid, --stream-id and --server-urls, or --payload")
        }
        var intake: WebhookServer? = nil
        var ws = WebhookSettings.fromEnvironment()
        if let port { ws.port = port }
        if let path { ws.path = path }
        var hooks = WebhookServerHooks()
        live?.install(into: &hooks)
        // With --payload there is no intake; --live still listens on the webhook port, for the page
        // only (webhooks posted there are answered but not acted on).
        var pageServer: WebhookServer? = nil
        if let start {
            if let live {
                pageServer = try WebhookServer(endpoint: WebhookEndpoint(settings: ws), hooks: hooks)
                live.announce(on: pageServer!, listening: ws)
            }
            let r = try recorder.record(start)
            say("recording stream \(start.streamID) to \(r.directory)/")
        } else {
            intake = try WebhookServer(endpoint: WebhookEndpoint(settings: ws), hooks: hooks)
            say(
                "waiting for rtms_started webhooks on port \(intake!.port) path \(ws.path)\(ws.secretToken == nil ? " (signatures not checked: ZM_RTMS_WEBHOOK_SECRET is not set)" : ""); Ctrl-C stops and finalizes"
            )
            live?.announce(on: intake!, listening: ws)
        }
        defer {
            intake?.stop()
            pageServer?.stop()
        }
        let deadline = duration > 0 ? nowMilliseconds() + Int64(duration * 1000) : Int64.max
        let exit = try runRecorder(recorder, intake: intake, quiet: quiet, deadline: deadline, stopWhenIdle: start != nil, echo: false, live: live)
        if exit != 0 { throw ExitCode(exit) }
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

/// A line of output (above the status line, when one is shown: Console.swift).
func say(_ s: String) { Console.shared.line(s) }

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
    @Option(name: .customLong("server-urls"), help: "server_urls (comma-separated alternatives).") var serverURLs: String?
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
        var instance = meetingUUID, stream = streamID, urls = serverURLs, signature = signature
        if let payload {
            guard let o = (try? JSON.parse(payload))?.objectValue else { throw ValidationError("--payload is not a JSON object") }
            do {
                let s = try StreamStart(payload: o)
                instance = s.instanceID; stream = s.streamID; urls = s.serverURLs
                signature = signature ?? s.signature
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
