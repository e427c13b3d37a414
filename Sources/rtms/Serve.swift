// rtms serve: one node of a fleet on PostgreSQL. Every node runs the core's webhook intake (which
// stores each event durably before answering) and a worker that records the streams it holds.
// The coordination is RTMSFleet's; this file is the recorder built on it.

import ArgumentParser
import RTMSClient
import RTMSFleet
import RTMSLive
import RTMSProtocol
import RTMSRecord
import RTMSSession
import RTMSWebhook

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one node of a fleet: webhook intake stored in PostgreSQL, one owner per stream, takeover.",
        discussion: """
            Start the same command on several hosts (behind a load balancer, or with Zoom's webhook pointed at any of them) with one database. Every node checks each webhook and stores it durably before answering 200 (503 while the database cannot store it, so that Zoom retries); the same event posted to two nodes is stored once.

            Workers claim streams under a lease (--lease-ms, renewed every --renew-ms). A node that cannot renew leaves its streams before the lease can expire, unless every other node confirms the database is down for it too (GET /healthz at their --advertise-url): then media keeps flowing and recording through the outage; the streams of a node that died are taken over when its lease expires. Failover, interruption and stop webhooks received by any node reach the stream's owner. Each owner records its segment of a stream to OUT/<stream id>/<segment>-<node id>/ as `rtms record` records a stream, and OUT/<stream id>/summary.json lists the owners and the gaps; transcript, chat and events also go to the tables rtms.stream_items (views rtms.transcript, rtms.chat, rtms.meeting_events), once each. GET /healthz and GET /metrics (Prometheus) on the webhook port; with --live, GET /live shows the streams this node holds, live (see docs/live.md). SIGINT/SIGTERM: leave every stream and hand it back to the other nodes. See docs/fleet.md.

            Examples:
              RTMS_DATABASE_URL=postgres://rtms@db/rtms ZM_RTMS_CLIENT=… ZM_RTMS_SECRET=… ZM_RTMS_WEBHOOK_SECRET=… rtms serve --node-id host1 --out /data/rec
              rtms serve --database-url postgres://rtms:pw@10.0.0.5/rtms --port 8081 --max-streams 50 --lease-ms 6000 --renew-ms 1500
            """)

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL, postgres://user[:password]@host[:port]/db[?sslmode=…] [RTMS_DATABASE_URL].")
    var databaseURL: String?
    @Option(help: "Webhook port [ZM_RTMS_PORT, 8080].") var port: Int?
    @Option(help: "Webhook path [ZM_RTMS_PATH, /].") var path: String?
    @Option(help: "Where recordings go (one folder per stream, a segment per owner).") var out = "rtms-recordings"
    @Option(name: .customLong("node-id"), help: "This node's name in the fleet, unique per running process [hostname-pid].")
    var nodeID: String?
    @Option(
        name: .customLong("advertise-url"),
        help:
            "Where the other nodes reach this node's GET /healthz, http://HOST:PORT [RTMS_ADVERTISE_URL; default: the webhook address, or this host's name when it listens on every address]. Used to confirm a database outage: see docs/fleet.md."
    )
    var advertiseURL: String?
    @Option(help: "Streams this node holds at most (0: intake only).") var maxStreams = 100
    @Option(help: "Lease of a claimed stream, milliseconds.") var leaseMs = 10_000
    @Option(help: "Lease renewal period, milliseconds (at most a third of the lease).") var renewMs = 2_000
    @Option(help: "A stream not renewed for (lease - margin) ms is left, milliseconds.") var leaseMarginMs = 2_000
    @Option(name: .customLong("client-id"), help: "Client id [ZM_RTMS_CLIENT].") var clientID: String?
    @Option(help: "Client secret [ZM_RTMS_SECRET].") var clientSecret: String?
    @Option(help: "Media kinds: audio,video,deskshare,transcript,chat.") var media = "audio,video,deskshare,transcript,chat"
    @Option(help: "Audio sample rate: 8000, 16000, 32000 or 48000.") var sampleRate = 16_000
    @Option(help: "Audio channels: 1 or 2.") var channels = 1
    @Option(help: "Audio codec: l16 or opus.") var audioCodec = "l16"
    @Option(help: "CA file for wss:// [ZM_RTMS_CA].") var ca: String?
    @OptionGroup var liveOptions: LiveOptions

    func validate() throws {
        guard [8000, 16_000, 32_000, 48_000].contains(sampleRate) else { throw ValidationError("--sample-rate must be 8000, 16000, 32000 or 48000") }
        guard channels == 1 || channels == 2 else { throw ValidationError("--channels must be 1 or 2") }
        guard RecordFormat.AudioCodec(rawValue: audioCodec.lowercased()) != nil else { throw ValidationError("--audio-codec must be l16 or opus") }
        guard maxStreams >= 0 else { throw ValidationError("--max-streams must be >= 0") }
    }

    func run() throws {
        guard let urlText = databaseURL ?? getenvString("RTMS_DATABASE_URL") else {
            throw ValidationError("give --database-url or set RTMS_DATABASE_URL")
        }
        let url: DatabaseURL
        do { url = try DatabaseURL(urlText) } catch { throw ValidationError(error.description) }

        var rs = RecordSettings()
        rs.outputDirectory = out
        rs.format = RecordFormat(sampleRate: sampleRate, channels: channels, codec: RecordFormat.AudioCodec(rawValue: audioCodec.lowercased()) ?? .l16)
        rs.clientID = clientID
        rs.clientSecret = clientSecret
        rs.caPath = ca ?? getenvString("ZM_RTMS_CA")
        var mask = 0
        for k in media.split(separator: ",") {
            guard let kind = MediaKind(key: String(k)) else { throw ValidationError("unknown media kind '\(k)'") }
            mask |= kind.rawValue
        }
        rs.mediaTypes = mask

        // The intake: the endpoint checks signatures, replays and the validation challenge; the fleet
        // stores each delivery before the answer. The in-memory dedupe is off: the database's unique
        // key is the dedupe (across nodes, and a delivery answered 503 must not be remembered).
        var ws = WebhookSettings.fromEnvironment()
        if let port { ws.port = port }
        if let path { ws.path = path.hasPrefix("/") ? path : "/" + path }
        ws.dedupeCapacity = 0
        let slot = FleetNodeSlot()
        let name = nodeID ?? "\(hostNameForNode())-\(getpid())"
        // The live view shows the streams this node holds (each node its own).
        let live = liveOptions.hub(title: "OpenRTMS live: node \(name)")
        var hooks = slot.hooks
        live?.install(into: &hooks)
        let server = try WebhookServer(endpoint: WebhookEndpoint(settings: ws, router: { _ in false }), hooks: hooks)
        defer { server.stop() }

        var fc = FleetConfig(databaseURL: url, nodeID: name)
        fc.maxStreams = maxStreams
        fc.leaseMs = leaseMs
        fc.renewMs = renewMs
        fc.marginMs = leaseMarginMs
        fc.webhookPort = server.port
        if let a = advertiseURL ?? getenvString("RTMS_ADVERTISE_URL") {
            fc.advertiseURL = a
        } else {
            let everywhere = ["0.0.0.0", "::", ""].contains(ws.host)
            let host = everywhere ? hostNameForNode() : ws.host
            fc.advertiseURL = "http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
        }
        fc.log = { say("[\(name)] \($0)") }
        let node: FleetNode
        do { node = try FleetNode(config: fc) } catch { throw ValidationError(error.description) }
        try node.start()
        slot.node = node
        say(
            "serving: node \(fc.nodeID), webhooks on port \(server.port) path \(ws.path), database \(url), max streams \(maxStreams), lease \(leaseMs) ms (renewed every \(renewMs) ms), reached by peers at \(fc.advertiseURL ?? "-")\(ws.secretToken == nil ? "; signatures not checked: ZM_RTMS_WEBHOOK_SECRET is not set" : "")"
        )

        live?.announce(on: server, listening: ws)

        installStopSignals()
        // A supervisor may start us with signals blocked; SIGTERM must stop a node cleanly.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        var sessions: [String: (recorder: Recorder, stream: StreamRecorder, client: RTMSClient, generation: Int64, segment: FleetSegment?)] = [:]
        while !stopRequested {
            for a in node.takeAssignments() {
                switch a {
                case .start(let s):
                    if let old = sessions.removeValue(forKey: s.streamID) {
                        old.recorder.finish()
                        live?.markEnded(streamID: s.streamID, note: "recording restarted")
                    }
                    let recorder = Recorder(settings: rs)
                    live?.attach(to: recorder)
                    // One folder per stream, a segment per owner: <out>/<stream id>/<segment>-<node>/.
                    let segmentDir = FleetNode.segmentDirectory(out: out, streamID: s.streamID, generation: s.generation, nodeID: fc.nodeID)
                    do {
                        let rec = try recorder.record(s.start, directory: segmentDir)
                        guard let client = recorder.sessions.first?.client else { continue }
                        if node.attach(streamID: s.streamID, generation: s.generation, client: client) {
                            let segment = node.openSegment(
                                streamID: s.streamID, generation: s.generation, directory: segmentDir,
                                streamDirectory: FleetNode.streamDirectory(out: out, streamID: s.streamID))
                            sessions[s.streamID] = (recorder, rec, client, s.generation, segment)
                            say(
                                "[\(fc.nodeID)] recording stream \(s.streamID) (generation \(s.generation)\(s.previousOwner.map { ", taken over from \($0)" } ?? "")) to \(rec.directory)/"
                            )
                        } else {
                            recorder.finish()
                            live?.markEnded(streamID: s.streamID, note: "not attached: the stream moved on")
                        }
                    } catch {
                        live?.markEnded(streamID: s.streamID, note: "\(error)")
                        say("[\(fc.nodeID)] ! stream \(s.streamID): \(error)")
                        node.detach(streamID: s.streamID, generation: s.generation, reason: nil, note: "\(error)")
                    }
                case .revoke(let id, let generation, let why):
                    if let e = sessions[id], e.generation == generation {
                        sessions[id] = nil
                        e.recorder.finish()
                        live?.markEnded(streamID: id, note: "recording closed (\(why))")
                        say("[\(fc.nodeID)] stream \(id): recording closed (\(why))")
                    }
                case .finished:
                    break  // this loop detaches every stream that ends, before the node would
                }
            }
            var fds = sessions.values.map { pollfd(fd: $0.client.queue.wakeFD, events: Int16(POLLIN), revents: 0) }
            fds.append(pollfd(fd: node.wakeFD, events: Int16(POLLIN), revents: 0))
            _ = poll(&fds, nfds_t(fds.count), 200)
            for (id, e) in sessions {
                // What the client delivers goes to the segment's files and to the database's tables.
                if !e.stream.ended {
                    e.client.poll(maxEvents: 4096) { item in
                        e.stream.add(item)
                        e.segment?.add(item)
                    }
                }
                guard e.stream.ended else { continue }
                let end = e.stream.summary(nil)["end"]
                let reason = end?["reason"]?.intValue.map { Int($0) }
                e.recorder.finish()
                sessions[id] = nil
                node.detach(streamID: id, generation: e.generation, reason: reason, note: end?["text"]?.stringValue ?? "ended")
                say("[\(fc.nodeID)] stream \(id) ended: \(end?["name"]?.stringValue ?? "?") (\(reason ?? -1)); recorded to \(e.stream.directory)/")
            }
            live?.tick()
        }
        say("[\(fc.nodeID)] stopping: leaving \(sessions.count) stream(s) and handing them back")
        node.stop(release: true)
        for (id, e) in sessions {
            e.recorder.finish()
            live?.markEnded(streamID: id, note: "node stopping: handed back")
        }
        live?.tick()
    }
}

private func hostNameForNode() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "node" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
