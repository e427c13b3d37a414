// One RTMS stream on the simulator: Zoom's side of the signaling and media connections for a
// scripted meeting. Confined to the simulator's event loop.

import NIOCore
import RTMSProtocol
import RTMSTransport

/// How a stream deviates from a well-behaved server (for tests of a client's error handling).
public struct StreamOverrides: Sendable {
    /// Raw JSON (or any text) sent instead of the signaling handshake response.
    public var signalingResponse: String?
    /// Raw JSON sent instead of every media handshake response.
    public var mediaResponse: String?
    /// Never answer the signaling handshake.
    public var silentSignaling = false
    /// Never answer media handshakes.
    public var silentMedia = false
    /// Media kinds whose URL the signaling response leaves out.
    public var omitMediaURLs: [String] = []
    public init() {}
}

public struct MeetingOptions: Sendable {
    public var product: Product = .meeting
    public var durationMs: Int = 30_000
    public var seed: UInt64 = 1
    public var participants: Int = 3
    public var instanceID: String? = nil
    public var streamID: String? = nil
    public var overrides = StreamOverrides()
    /// Keep-alive interval on every connection while it is idle.
    public var keepAliveMs: Int = 10_000
    /// How long a stream waits for its first client before it ends.
    public var joinWaitMs: Int = 120_000
    /// How long a stream waits for a client that went away to come back.
    public var reconnectWindowMs: Int = 60_000
    /// How long a stream waits for an interrupted media connection to come back.
    public var mediaReconnectWindowMs: Int = 30_000
    /// Instead of the scripted meeting: audio only, `count` messages (0 = no end) of `size` bytes,
    /// as fast as possible (`rate` 0) or `rate` a second. Each payload starts with the send time
    /// in microseconds since the epoch (little endian), for latency measurements. Or video access
    /// units back to back (`kind` .video), or a meeting's media mix (`mix`): Bench.swift.
    public var bench: BenchPlan? = nil
    /// Faults at fixed times after the stream starts (deterministic chaos, for parity tests).
    public var chaosPlan: [(atMs: Int, connection: String, action: Simulator.ChaosAction)] = []
    /// Chaos at the end: the audio path lags the signaling path. The last audio message, sent
    /// (numbered and counted) before the stream ends, reaches its socket this many ms after
    /// TERMINATED, and the audio connection reads nothing meanwhile (a client's close frame is
    /// answered after it). Keep it under the 100 ms before the server closes the sockets. A
    /// client must still deliver that message: the server sent it before the end.
    public var finalAudioLagMs: Int? = nil
    public init() {}
}

final class SimStream {
    struct MediaLink {
        var conn: WebSocketConnection
        var mask: Int
        var params: MediaParams
    }
    enum State: String { case waiting, handshaking, running, detached, ended }

    unowned let sim: Simulator
    let streamID: String
    let instanceID: String
    let product: Product
    let options: MeetingOptions
    let script: MeetingScript
    let sessionID: String
    let createdAtMs: Int64
    var state: State = .waiting
    var signaling: WebSocketConnection?
    var media: [Int: MediaLink] = [:]  // by connection id
    var clientReady = false
    var subscribed: Set<Int> = []
    var startedAtMs: Int64 = 0
    var tasks: [Scheduled<Void>] = []
    var repeating: [RepeatedTask] = []
    var present: [Participant] = []
    var speaker: Participant?
    var videoOn: [Int64] = []
    var sharing: Participant?
    var videoSubscription: Int64?
    var sequence: [Int] = [0, 0, 0, 0, 0]
    var sent: [Int] = [0, 0, 0, 0, 0]
    var eventsSent = 0
    var keepAlivesSent = 0
    var keepAlivesAnswered = 0
    var stopReason: Int?
    /// The last rtms_started posted for this stream (redelivered verbatim).
    var announced: JSONValue?
    var history: [(label: String, path: String, opened: Int64, closed: Int64?, connID: Int)] = []
    var lastSent: [Int: Int64] = [:]
    var outstandingKeepAlives: [Int: Int] = [:]
    var kaSequence: Int64 = 0
    var interruptions = 0
    /// Connections that stopped reading and sending (chaos).
    var frozen: Set<Int> = []
    /// Connections that get no more keep-alive requests (chaos).
    var muted: Set<Int> = []
    /// Where this stream's signaling is served (changes on failover).
    var signalingPath = "/signaling"
    var failovers = 0
    /// Sequence numbers sent, per kind, in order (capped), for exactly-once checks.
    var sentSequences: [[Int]] = [[], [], [], [], []]
    var endTimer: Scheduled<Void>?
    private var voiceCache: [String: [UInt8]] = [:]
    /// Opus encoders (libopus, Opus.swift): one for the mixed stream and one per speaker, each
    /// fed the very PCM an L16 stream at 48 kHz would carry. Packets sent encoded / as the
    /// silence frame (libopus missing, disabled, or an encoder error).
    var opusEncoders: [String: OpusEncoder] = [:]
    var opusEncoded = 0
    var opusSilence = 0

    init(sim: Simulator, options: MeetingOptions, streamID: String, instanceID: String) {
        self.sim = sim
        self.options = options
        self.product = options.product
        self.streamID = streamID
        self.instanceID = instanceID
        self.script = MeetingScript.generate(
            seed: options.seed, durationMs: options.durationMs,
            participantCount: options.participants)
        self.sessionID = "sess-" + streamID
        self.createdAtMs = wallMilliseconds()
        endTimer = sim.loop.scheduleTask(in: .milliseconds(Int64(options.joinWaitMs))) { [weak self] in
            guard let self, self.state == .waiting else { return }
            self.end(reason: StopReason.connectionTimeout, note: "nobody joined within \(options.joinWaitMs) ms")
        }
    }

    var signature: String? {
        guard let id = sim.config.clientID, let secret = sim.config.clientSecret else { return nil }
        return Signatures.handshake(clientID: id, clientSecret: secret, instanceID: instanceID, streamID: streamID)
    }

    // MARK: Sending

    func send(_ conn: WebSocketConnection, _ message: RTMSMessage) {
        send(conn, raw: JSONCodec().encode(message))
    }

    func send(_ conn: WebSocketConnection, raw: [UInt8]) {
        guard !frozen.contains(conn.id) else { return }
        conn.send(raw, text: true)
        lastSent[conn.id] = wallMilliseconds()
    }

    func sendEvent(_ event: JSONObject) {
        guard let s = signaling, state == .running else { return }
        eventsSent += 1
        send(s, .eventUpdate(EventUpdate(event: event)))
    }

    // MARK: Handshakes

    func signalingHandshake(_ conn: WebSocketConnection, _ req: SignalingHandshakeRequest) {
        func reject(_ code: Int, _ reason: String) {
            send(conn, .signalingHandshakeResponse(SignalingHandshakeResponse(sequence: req.sequence, statusCode: code, reason: reason)))
        }
        if state == .ended { return reject(StatusCode.invalidStreamID, "stream \(streamID) has ended") }
        if req.instanceID != instanceID {
            return reject(StatusCode.invalidPayload, "\(req.instanceKey) does not match the stream")
        }
        if let sig = signature, !Signatures.constantTimeEqual(sig, req.signature) {
            return reject(StatusCode.invalidSignature, "invalid signature")
        }
        if let s = signaling, s.state == .open, s !== conn {
            return reject(StatusCode.duplicateSignalRequest, "duplicate signal request")
        }
        let ov = options.overrides
        if ov.silentSignaling { return }
        signaling = conn
        history.append((label: "signaling", path: sim.paths[conn.id] ?? "", opened: wallMilliseconds(), closed: nil, connID: conn.id))
        startKeepAlive(conn)
        if let raw = ov.signalingResponse {
            send(conn, raw: Array(raw.utf8))
            return
        }
        if state == .waiting || state == .detached { state = .handshaking }
        var urls: [(key: String, url: String)] = []
        for key in ["audio", "video", "deskshare", "transcript", "chat", "all"] where !ov.omitMediaURLs.contains(key) {
            urls.append((key: key, url: sim.mediaURL(key)))
        }
        send(
            conn,
            .signalingHandshakeResponse(
                SignalingHandshakeResponse(
                    sequence: req.sequence, statusCode: StatusCode.ok,
                    reason: "", mediaURLs: urls)))
        // The first packet timestamp follows every successful signaling handshake.
        send(
            conn,
            .eventUpdate(
                EventUpdate(event: [
                    "event_type": .int(Int64(EventType.firstPacketTimestamp)),
                    "timestamp": .int(startedAtMs > 0 ? startedAtMs : wallMilliseconds()),
                ])))
    }

    func dataHandshake(_ conn: WebSocketConnection, _ req: DataHandshakeRequest) {
        func reject(_ code: Int, _ reason: String) {
            send(
                conn,
                .dataHandshakeResponse(
                    DataHandshakeResponse(
                        sequence: req.sequence, statusCode: code, reason: reason,
                        payloadEncrypted: false)))
        }
        if state == .ended { return reject(StatusCode.invalidStreamID, "stream \(streamID) has ended") }
        if req.instanceID != instanceID { return reject(StatusCode.invalidPayload, "\(req.instanceKey) does not match the stream") }
        if let sig = signature, !Signatures.constantTimeEqual(sig, req.signature) {
            return reject(StatusCode.invalidSignature, "invalid signature")
        }
        let mask = req.mediaType
        guard mask > 0, mask & ~MediaMask.validBits == 0 else {
            return reject(StatusCode.mediaTypeInvalidValue, "media_type \(mask) is not valid")
        }
        let live = media.values.filter { $0.conn.state == .open && $0.conn !== conn }
        if mask & MediaMask.all.rawValue != 0 {
            if !live.isEmpty { return reject(StatusCode.allConnectionExists, "other media connections exist") }
        } else {
            if live.contains(where: { $0.mask & MediaMask.all.rawValue != 0 }) {
                return reject(StatusCode.allConnectionExists, "an all-media connection exists")
            }
            if live.contains(where: { $0.mask & mask != 0 }) {
                return reject(StatusCode.duplicateMediaConnection, "duplicate media data connection")
            }
        }
        let ov = options.overrides
        if ov.silentMedia { return }
        history.append((label: "media(\(mask))", path: sim.paths[conn.id] ?? "", opened: wallMilliseconds(), closed: nil, connID: conn.id))
        startKeepAlive(conn)
        if let raw = ov.mediaResponse {
            send(conn, raw: Array(raw.utf8))
            return
        }
        let kinds = mask & MediaMask.all.rawValue != 0 ? MediaKind.allCases : MediaMask(rawValue: mask).kinds
        let confirmed = confirm(req.mediaParams ?? MediaParams(), kinds: kinds)
        media[conn.id] = MediaLink(conn: conn, mask: mask, params: confirmed)
        send(
            conn,
            .dataHandshakeResponse(
                DataHandshakeResponse(
                    sequence: req.sequence, statusCode: StatusCode.ok, reason: "",
                    payloadEncrypted: false, mediaParams: confirmed)))
    }

    /// Request values merged over protocol defaults, limited to what the simulator produces:
    /// L16 audio (Opus at 48 kHz and 20 ms when asked for: the same tones encoded with libopus
    /// loaded at run time, or Opus's silence frame without it), JPEG (or H.264 above 5 fps) video
    /// and deskshare.
    func confirm(_ p: MediaParams, kinds: [MediaKind]) -> MediaParams {
        var out = MediaParams.explicit(for: kinds, configured: p)
        if var a = out.audio {
            a.contentType = ContentType.rawAudio
            if a.channel != 2 { a.channel = 1 }
            if a.dataOpt != 2 { a.dataOpt = 1 }
            if a.codec == Codec.opus {
                a.sampleRate = SampleRate.sr48k
                a.sendRate = 20
            } else {
                a.codec = Codec.l16
                if SampleRate.hertz(a.sampleRate) == nil { a.sampleRate = SampleRate.sr16k }
                a.sendRate = max(20, min(1000, a.sendRate / 20 * 20))
            }
            out.audio = a
        }
        if var v = out.video {
            v.contentType = ContentType.rawVideo
            v.fps = max(1, min(30, v.fps))
            if v.codec != Codec.h264 || v.fps <= 5 { v.codec = v.fps > 5 ? Codec.h264 : Codec.jpg }
            if Resolution.size(v.resolution) == nil { v.resolution = Resolution.hd }
            if v.dataOpt != DataOption.videoSingleIndividualStream { v.dataOpt = DataOption.videoSingleActiveStream }
            out.video = v
        }
        if var d = out.deskshare {
            d.contentType = ContentType.rawVideo
            d.fps = max(1, min(30, d.fps))
            if d.codec != Codec.h264 || d.fps <= 1 { d.codec = d.fps > 5 ? Codec.h264 : Codec.jpg }
            if Resolution.size(d.resolution) == nil { d.resolution = Resolution.fhd }
            out.deskshare = d
        }
        if var t = out.transcript { t.contentType = ContentType.text; out.transcript = t }
        if out.chat != nil { out.chat = ChatParams() }
        return out
    }

    // MARK: Client messages

    func received(_ conn: WebSocketConnection, _ msg: RTMSMessage) {
        switch msg {
        case .keepAliveResponse:
            keepAlivesAnswered += 1
            outstandingKeepAlives[conn.id] = 0
        case .clientReady:
            guard conn === signaling else { return }
            clientReady = true
            if state == .handshaking { start() }
        case .eventSubscription(let s):
            var added: [Int] = []
            for e in s.events {
                if e.subscribe { if subscribed.insert(e.eventType).inserted { added.append(e.eventType) } } else { subscribed.remove(e.eventType) }
            }
            // A new subscriber learns the current state: who is present, whose video is on, who shares.
            guard state == .running else { return }
            if added.contains(EventType.participantJoin), !present.isEmpty { sendParticipants(EventType.participantJoin, present, names: true) }
            if added.contains(EventType.participantVideoOn) {
                let on = present.filter { videoOn.contains($0.userID) }
                if !on.isEmpty { sendParticipants(EventType.participantVideoOn, on, names: false) }
            }
            if added.contains(EventType.sharingStart), let p = sharing {
                sendEvent(["event_type": .int(5), "timestamp": .int(wallMilliseconds()), "user_id": .int(p.userID), "user_name": .string(p.name)])
            }
        case .videoSubscriptionRequest(let r):
            let known = present.contains { $0.userID == r.userID }
            let status = known || !r.subscribe ? StatusCode.ok : StatusCode.invalidPayload
            if status == StatusCode.ok { videoSubscription = r.subscribe ? r.userID : (videoSubscription == r.userID ? nil : videoSubscription) }
            kaSequence += 1
            send(
                conn,
                .videoSubscriptionResponse(
                    StatusReply(
                        userID: r.userID, statusCode: status,
                        reason: status == 0 ? "OK" : "no participant \(r.userID)",
                        timestamp: r.timestamp ?? wallMilliseconds(), sequence: kaSequence,
                        subscribe: r.subscribe)))
        case .streamCloseRequest:
            kaSequence += 1
            send(
                conn,
                .streamCloseResponse(
                    StatusReply(
                        streamID: streamID, statusCode: StatusCode.ok, reason: "OK",
                        timestamp: wallMilliseconds(), sequence: kaSequence)))
            end(reason: StopReason.receiverRequestClose, note: "closed on the client's request")
        case .sessionStateRequest(let sid):
            send(
                conn,
                .sessionStateResponse(
                    StateUpdate(
                        state: state == .running ? SessionState.started.rawValue : SessionState.inactive.rawValue,
                        timestamp: wallMilliseconds(), sessionID: sid)))
        case .streamStateRequest:
            send(
                conn,
                .streamStateResponse(
                    StateUpdate(
                        state: state == .running ? StreamState.active.rawValue : StreamState.inactive.rawValue,
                        timestamp: wallMilliseconds(), streamID: streamID)))
        default:
            sim.log("stream \(streamID): ignored msg_type \(msg.messageType) from the client")
        }
    }

    func connectionClosed(_ conn: WebSocketConnection, byServer: Bool) {
        for i in history.indices where history[i].connID == conn.id && history[i].closed == nil {
            history[i].closed = wallMilliseconds()
        }
        lastSent[conn.id] = nil
        outstandingKeepAlives[conn.id] = nil
        if conn === signaling {
            signaling = nil
            guard state == .running || state == .handshaking else { return }
            // The client went away: drop its media connections and wait for it to come back.
            for m in media.values { m.conn.close(code: 1001, reason: "signaling closed") }
            media = [:]
            detach(endReason: StopReason.awaitReconnectionTimeout, note: "no client came back within \(options.reconnectWindowMs) ms")
        } else {
            media[conn.id] = nil
        }
    }

    // MARK: The meeting

    func start() {
        endTimer?.cancel()
        endTimer = nil
        let resuming = startedAtMs > 0
        state = .running
        guard let sig = signaling else { return }
        send(sig, .streamStateUpdate(StateUpdate(state: StreamState.active.rawValue, reason: 0, timestamp: wallMilliseconds(), streamID: streamID)))
        send(
            sig,
            .sessionStateUpdate(
                StateUpdate(
                    state: resuming ? SessionState.resumed.rawValue : SessionState.started.rawValue,
                    timestamp: wallMilliseconds(), sessionID: sessionID)))
        if resuming {
            // Participants already present are announced again to the new client.
            if subscribed.contains(EventType.participantJoin), !present.isEmpty { sendParticipants(EventType.participantJoin, present, names: true) }
            return
        }
        startedAtMs = wallMilliseconds()
        if let bench = options.bench {
            startBench(bench)
            return
        }
        for (at, step) in script.steps {
            // Who is in the meeting at the start is known at once.
            if at == 0 { perform(step, at: 0); continue }
            tasks.append(sim.loop.scheduleTask(in: .milliseconds(Int64(at))) { [weak self] in self?.perform(step, at: at) })
        }
        for (at, target, action) in options.chaosPlan {
            tasks.append(sim.loop.scheduleTask(in: .milliseconds(Int64(at))) { [weak self] in _ = self?.chaos(target, action) })
        }
        tasks.append(
            sim.loop.scheduleTask(in: .milliseconds(Int64(script.durationMs))) { [weak self] in
                self?.end(reason: StopReason.meetingEnded, note: "the scripted meeting ended")
            })
        startTickers()
    }

    func perform(_ step: ScriptStep, at: Int) {
        let ts = wallMilliseconds()
        switch step {
        case .join(let ps):
            present += ps
            if subscribed.contains(EventType.participantJoin) { sendParticipants(EventType.participantJoin, ps, names: true) }
        case .leave(let ps):
            present.removeAll { p in ps.contains(p) }
            videoOn.removeAll { id in ps.contains { $0.userID == id } }
            if subscribed.contains(EventType.participantLeave) { sendParticipants(EventType.participantLeave, ps, names: false) }
        case .activeSpeaker(let p):
            speaker = p
            if subscribed.contains(EventType.activeSpeakerChange) {
                sendEvent(["event_type": .int(2), "timestamp": .int(ts), "user_id": .int(p.userID), "user_name": .string(p.name)])
            }
        case .videoOn(let p):
            if !videoOn.contains(p.userID) { videoOn.append(p.userID) }
            if subscribed.contains(EventType.participantVideoOn) { sendParticipants(EventType.participantVideoOn, [p], names: false) }
        case .videoOff(let p):
            videoOn.removeAll { $0 == p.userID }
            if subscribed.contains(EventType.participantVideoOff) { sendParticipants(EventType.participantVideoOff, [p], names: false) }
        case .sharingStart(let p):
            sharing = p
            if subscribed.contains(EventType.sharingStart) {
                sendEvent(["event_type": .int(5), "timestamp": .int(ts), "user_id": .int(p.userID), "user_name": .string(p.name)])
            }
        case .sharingStop(let p):
            sharing = nil
            if subscribed.contains(EventType.sharingStop) {
                sendEvent(["event_type": .int(6), "timestamp": .int(ts), "user_id": .int(p.userID)])
            }
        case .transcript(let p, let text, let startMs, let endMs):
            sendMedia(
                .transcript, user: p, payload: Array(text.utf8), timestamp: startedAtMs + Int64(startMs),
                startTime: startedAtMs + Int64(startMs), endTime: startedAtMs + Int64(endMs), language: 9)
        case .chat(let p, let text):
            sendMedia(.chat, user: p, payload: Array(text.utf8), timestamp: ts)
        }
    }

    /// PARTICIPANT_JOIN (3): `participants: [{user_id, user_name}]`; PARTICIPANT_LEAVE (4) and
    /// video on/off (8/9): `participants: [{user_id}]`, Zoom's documented shapes.
    ///
    /// Zoom's client (PyPI rtms 1.1.0, librtmsdk.so.0) logs "handle_participant_leave, get
    /// participants failed, ret: 3" at every leave, and never calls on_user_update(1, …): its leave
    /// handler reads `participants` with the accessor that requires a JSON object (ret 3 = "not an
    /// object"; the join handler uses the array accessor), then indexes it like an array, which
    /// jsoncpp refuses for a non-empty object (LogicError: the whole event is lost, no on_event_ex).
    /// No shape satisfies both: arrays of objects (with or without user_name, string ids), arrays
    /// of ints, `[]`, top-level user_id, other key names all log the failure (ret 3, or 2 when the
    /// key is missing); objects (flat, keyed by id or by "0", nested) lose the event; only `{}`
    /// passes, naming nobody. The failure is the client's, not something the simulator omits, so
    /// the simulator keeps Zoom's shape (docs/simulator.md, "Zoom's client and participant leaves").
    func sendParticipants(_ type: Int, _ ps: [Participant], names: Bool) {
        let list: [JSONValue] = ps.map { p in
            names ? .object(["user_id": .int(p.userID), "user_name": .string(p.name)]) : .object(["user_id": .int(p.userID)])
        }
        sendEvent(["event_type": .int(Int64(type)), "timestamp": .int(wallMilliseconds()), "participants": .array(list)])
    }

    /// An open connection by name: "signaling", a media key ("audio"…) or "all" (the unified one).
    func connection(named name: String) -> WebSocketConnection? {
        let conn: WebSocketConnection?
        if name == "signaling" {
            conn = signaling
        } else if name == "all" {
            conn = media.values.first { $0.mask & MediaMask.all.rawValue != 0 }?.conn
        } else if let k = MediaKind(key: name) {
            conn = link(for: k)?.conn
        } else {
            conn = nil
        }
        guard let conn, conn.state == .open else { return nil }
        return conn
    }

    /// The connection that carries `kind`, with its confirmed parameters.
    func link(for kind: MediaKind) -> MediaLink? {
        media.values.first { $0.conn.state == .open && ($0.mask & kind.rawValue != 0 || $0.mask & MediaMask.all.rawValue != 0) }
    }

    func sendMedia(
        _ kind: MediaKind, user: Participant?, payload: [UInt8], timestamp: Int64, startTime: Int64 = 0,
        endTime: Int64 = 0, language: Int? = nil, lagMs: Int = 0
    ) {
        let idx = kind.rawValue.trailingZeroBitCount
        sequence[idx] += 1
        guard state == .running, clientReady, let l = link(for: kind) else { return }
        let bytes = JSONCodec.encodeMedia(
            kind: kind, userID: user?.userID ?? 0, userName: user?.name ?? "",
            payload: payload, timestamp: timestamp, startTime: startTime, endTime: endTime,
            language: language, sequence: Int64(sequence[idx]))
        guard !frozen.contains(l.conn.id) else { return }
        if lagMs > 0 {
            // Chaos (finalAudioLagMs): sent now as far as the counts go, on the wire `lagMs` later,
            // and the connection reads nothing meanwhile (a client's close is answered after it).
            let conn = l.conn
            conn.setReading(false)
            sim.loop.scheduleTask(in: .milliseconds(Int64(lagMs))) { [weak self] in
                self?.send(conn, raw: bytes)
                conn.setReading(true)
            }
        } else {
            send(l.conn, raw: bytes)
        }
        sent[idx] += 1
        if sentSequences[idx].count < 200_000 { sentSequences[idx].append(sequence[idx]) }
    }

    // MARK: Bench

    var benchFrame: ByteBuffer?
    /// Paced bench: the encoded message, patched in place for each send (send time in the payload's
    /// first 8 bytes, timestamp, sequence), so a send costs no encoding.
    var benchTemplate: [UInt8] = []
    var benchPatch = (payload: 0, timestamp: 0, sequence: 0)
    var benchNextUs: UInt64 = 0
    var benchPeriodUs: UInt64 = 0
    var benchTotal = 0
    /// The meeting mix's clock and counters (Bench.swift).
    var benchMedia = BenchMediaState()

    func startTickers() {
        // Audio.
        let audioParams = link(for: .audio)?.params.audio ?? .protocolDefault
        let rate = max(20, audioParams.sendRate)
        var audioTick: Int64 = 0
        repeating.append(
            sim.loop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(rate)), delay: .milliseconds(Int64(rate))) { [weak self] _ in
                guard let self else { return }
                audioTick += 1
                self.audioTick(audioTick, rate: rate)
            })
        // Video and deskshare.
        let vfps = max(1, link(for: .video)?.params.video?.fps ?? 5)
        var vTick: Int64 = 0
        repeating.append(
            sim.loop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(1000 / vfps)), delay: .milliseconds(Int64(1000 / vfps))) { [weak self] _ in
                guard let self else { return }
                vTick += 1
                self.videoTick(vTick, fps: vfps)
            })
        let dfps = max(1, link(for: .deskshare)?.params.deskshare?.fps ?? 1)
        var dTick: Int64 = 0
        repeating.append(
            sim.loop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(1000 / dfps)), delay: .milliseconds(Int64(1000 / dfps))) { [weak self] _ in
                guard let self else { return }
                dTick += 1
                self.deskshareTick(dTick, fps: dfps)
            })
    }

    func voice(_ key: String, make: () -> [UInt8]) -> [UInt8] {
        if let v = voiceCache[key] { return v }
        let v = make()
        voiceCache[key] = v
        return v
    }

    func audioTick(_ tick: Int64, rate: Int) {
        guard let l = link(for: .audio), let a = l.params.audio else {
            sequence[0] += 1
            return
        }
        let hz = SampleRate.hertz(a.sampleRate) ?? 16000
        let ch = a.channel == 2 ? 2 : 1
        let bytesPerTick = hz * rate / 1000 * ch * 2
        let ts = startedAtMs + tick * Int64(rate)
        let opus = a.codec == Codec.opus
        func slice(_ second: [UInt8]) -> [UInt8] {
            guard !second.isEmpty else { return [] }
            var out = [UInt8]()
            out.reserveCapacity(bytesPerTick)
            var off = Int((tick - 1) * Int64(bytesPerTick) % Int64(second.count))
            while out.count < bytesPerTick {
                let n = min(bytesPerTick - out.count, second.count - off)
                out.append(contentsOf: second[off..<(off + n)])
                off = 0
            }
            return out
        }
        // Opus (48 kHz, 20 ms: one packet a tick) carries exactly the PCM L16 would, encoded.
        func payload(_ pcm: [UInt8], encoder key: String) -> [UInt8] {
            opus ? opusPacket(pcm, channels: ch, encoder: key) : pcm
        }
        if a.dataOpt == DataOption.audioMultiStreams {
            // One packet per active speaker; nothing while nobody speaks.
            guard let sp = speaker, present.contains(sp) else { return }
            let v = voice("\(sp.userID)/\(hz)/\(ch)") { MediaSynth.voiceSecond(pitch: sp.pitch, sampleRate: hz, channels: ch) }
            sendMedia(.audio, user: sp, payload: payload(slice(v), encoder: "\(sp.userID)/\(ch)"), timestamp: ts)
        } else {
            let v: [UInt8]
            if let sp = speaker, present.contains(sp) {
                v = voice("\(sp.userID)/\(hz)/\(ch)") { MediaSynth.voiceSecond(pitch: sp.pitch, sampleRate: hz, channels: ch) }
            } else {
                v = voice("quiet/\(hz)/\(ch)") { MediaSynth.quietSecond(sampleRate: hz, channels: ch, seed: options.seed) }
            }
            sendMedia(.audio, user: nil, payload: payload(slice(v), encoder: "mixed/\(ch)"), timestamp: ts)
        }
    }

    /// One Opus packet of `pcm` (20 ms at 48 kHz) from the encoder named `key`; Opus's silence
    /// frame (CELT, full band, mono or stereo) when libopus is missing or disabled.
    func opusPacket(_ pcm: [UInt8], channels ch: Int, encoder key: String) -> [UInt8] {
        if sim.config.opusEncoding, LibOpus.shared != nil {
            if opusEncoders[key] == nil { opusEncoders[key] = OpusEncoder(channels: ch) }
            if let packet = opusEncoders[key]?.encode(l16: pcm) {
                opusEncoded += 1
                return packet
            }
        } else if sim.config.opusEncoding, case .failure(let why) = LibOpus.loaded {
            let first = opusWarningLogged.withLockedValue { logged -> Bool in
                defer { logged = true }
                return !logged
            }
            if first {
                sim.config.logger.warning("\(why): Opus audio is Opus's silence frame (install libopus0 for the script's tones)")
            }
        }
        opusSilence += 1
        return [ch == 2 ? 0xFC : 0xF8, 0xFF, 0xFE]
    }

    func frame(_ codec: Int, _ tick: Int64, jpegs: [[UInt8]]) -> [UInt8] {
        if codec == Codec.h264 {
            let units = MediaSynth.h264AccessUnits
            return units.isEmpty ? [] : units[Int(tick % Int64(units.count))]
        }
        return jpegs.isEmpty ? [] : jpegs[Int(tick % Int64(jpegs.count))]
    }

    func videoTick(_ tick: Int64, fps: Int) {
        guard let v = link(for: .video)?.params.video else { return }
        let who: Participant?
        if v.dataOpt == DataOption.videoSingleIndividualStream {
            who = videoSubscription.flatMap { id in present.first { $0.userID == id && videoOn.contains(id) } }
        } else if let sp = speaker, videoOn.contains(sp.userID), present.contains(sp) {
            who = sp
        } else {
            who = present.first { videoOn.contains($0.userID) }
        }
        guard let who else { return }
        sendMedia(
            .video, user: who, payload: frame(v.codec, tick, jpegs: MediaSynth.videoJPEGs),
            timestamp: startedAtMs + tick * Int64(1000 / fps))
    }

    func deskshareTick(_ tick: Int64, fps: Int) {
        guard let d = link(for: .deskshare)?.params.deskshare, let s = sharing else { return }
        sendMedia(
            .deskshare, user: s, payload: frame(d.codec, tick, jpegs: MediaSynth.deskshareJPEGs),
            timestamp: startedAtMs + tick * Int64(1000 / fps))
    }

    // MARK: Keep-alive

    func startKeepAlive(_ conn: WebSocketConnection) {
        let ms = Int64(max(50, options.keepAliveMs))
        lastSent[conn.id] = wallMilliseconds()
        repeating.append(
            sim.loop.scheduleRepeatedTask(initialDelay: .milliseconds(ms), delay: .milliseconds(ms)) { [weak self, weak conn] task in
                guard let self, let conn, conn.state == .open else { task.cancel(); return }
                if self.frozen.contains(conn.id) || self.muted.contains(conn.id) { return }
                let now = wallMilliseconds()
                guard now - (self.lastSent[conn.id] ?? 0) >= ms - 5 else { return }
                if (self.outstandingKeepAlives[conn.id] ?? 0) >= 3 {
                    task.cancel()
                    self.keepAliveMissed(conn)
                    return
                }
                self.kaSequence += 1
                self.keepAlivesSent += 1
                self.outstandingKeepAlives[conn.id, default: 0] += 1
                self.send(conn, .keepAliveRequest(KeepAlive(sequence: self.kaSequence, timestamp: now)))
            })
    }

    /// Chaos on the connection(s) named `target`. Returns how many were hit.
    func chaos(_ target: String, _ action: Simulator.ChaosAction) -> Int {
        var conns: [WebSocketConnection] = []
        switch target {
        case "signaling": if let s = signaling { conns = [s] }
        case "media": conns = media.values.map(\.conn)
        case "all": conns = media.values.filter { $0.mask & MediaMask.all.rawValue != 0 }.map(\.conn)
        default: if let k = MediaKind(key: target), let l = link(for: k) { conns = [l.conn] }
        }
        for c in conns {
            switch action {
            case .abort: c.abort()
            case .close(let code): c.close(code: code, reason: "chaos")
            case .freeze:
                frozen.insert(c.id)
                c.setReading(false)
            case .muteKeepAlives:
                muted.insert(c.id)
            }
        }
        return conns.count
    }

    /// This stream's server "fails": its connections drop and it moves to a new signaling path.
    func failover(to path: String? = nil) {
        failovers += 1
        signalingPath = path ?? "/signaling/failover-\(failovers)"
        let conns = media.values.map(\.conn) + (signaling.map { [$0] } ?? [])
        signaling = nil
        media = [:]
        for c in conns { c.abort() }
        if state == .running || state == .handshaking {
            detach(endReason: StopReason.awaitReconnectionTimeout, note: "no client came to the new server")
        }
    }

    /// The client is gone; the stream waits the reconnect window for it, then ends with `endReason`.
    func detach(endReason: Int, note: String) {
        state = .detached
        clientReady = false
        endTimer?.cancel()
        endTimer = sim.loop.scheduleTask(in: .milliseconds(Int64(options.reconnectWindowMs))) { [weak self] in
            guard let self, self.state == .detached else { return }
            self.end(reason: endReason, note: note)
        }
    }

    /// Three keep-alive requests went unanswered: interrupt like Zoom's service. Signaling: both
    /// kinds of connection go, `rtms_interrupted` is posted, the client has the reconnect window.
    /// Media: that connection goes, signaling hears event 7 and stream state INTERRUPTED (14).
    /// `movingTo`: the stream moves to this signaling path and rtms_interrupted names it in
    /// `server_urls` (Zoom's documented payload has none; its samples read one "in case").
    func keepAliveMissed(_ conn: WebSocketConnection, movingTo path: String? = nil) {
        interruptions += 1
        if conn === signaling {
            sim.log("stream \(streamID): signaling missed 3 keep-alives; interrupting")
            signaling = nil
            let conns = media.values.map(\.conn) + [conn]
            media = [:]
            for c in conns { c.abort() }
            var payload: JSONObject = [product.idKey: .string(instanceID), "rtms_stream_id": .string(streamID)]
            if let path {
                signalingPath = path
                payload["server_urls"] = .string(sim.signalingURL(self))
            }
            sim.postWebhook(
                .object([
                    "event": .string(product.interruptedEvent), "event_ts": .int(wallMilliseconds()), "payload": .object(payload),
                ]))
            guard state == .running || state == .handshaking else { return }
            detach(endReason: StopReason.keepAliveTimeout, note: "signaling missed keep-alives and did not come back")
        } else if let link = media[conn.id] {
            sim.log("stream \(streamID): media(\(link.mask)) missed 3 keep-alives; interrupting it")
            media[conn.id] = nil
            conn.abort()
            if let sig = signaling, state == .running {
                send(
                    sig,
                    .eventUpdate(
                        EventUpdate(event: [
                            "event_type": .int(Int64(EventType.mediaConnectionInterrupted)),
                            "timestamp": .int(wallMilliseconds()), "media_type": .int(Int64(link.mask)),
                        ])))
                send(
                    sig,
                    .streamStateUpdate(
                        StateUpdate(
                            state: StreamState.interrupted.rawValue, reason: StopReason.dataConnectionInterrupted,
                            timestamp: wallMilliseconds(), streamID: streamID)))
            }
            let mask = link.mask
            tasks.append(
                sim.loop.scheduleTask(in: .milliseconds(Int64(options.mediaReconnectWindowMs))) { [weak self] in
                    guard let self, self.state == .running, !self.media.values.contains(where: { $0.mask == mask }) else { return }
                    self.end(reason: StopReason.keepAliveTimeout, note: "media(\(mask)) missed keep-alives and did not come back")
                })
        }
    }

    // MARK: End

    func end(reason: Int, note: String) {
        guard state != .ended else { return }
        let wasRunning = state == .running
        stopReason = reason
        sim.log("stream \(streamID) ends: \(StopReason.name(reason)) (\(note))")
        if let sig = signaling, wasRunning || state == .handshaking {
            send(
                sig, .sessionStateUpdate(StateUpdate(state: SessionState.stopped.rawValue, reason: reason, timestamp: wallMilliseconds(), sessionID: sessionID))
            )
            if subscribed.contains(EventType.participantLeave), !present.isEmpty {
                sendParticipants(EventType.participantLeave, present, names: false)
            }
            send(
                sig, .streamStateUpdate(StateUpdate(state: StreamState.terminated.rawValue, reason: reason, timestamp: wallMilliseconds(), streamID: streamID)))
        }
        if wasRunning, let lag = options.finalAudioLagMs {
            sendMedia(.audio, user: nil, payload: [UInt8](repeating: 0, count: 640), timestamp: wallMilliseconds(), lagMs: max(1, lag))
        }
        state = .ended
        for t in tasks { t.cancel() }
        for r in repeating { r.cancel() }
        tasks = []
        repeating = []
        opusEncoders = [:]
        endTimer?.cancel()
        // Close the sockets a moment after the final state updates, as a server draining its queues would.
        let conns = media.values.map(\.conn) + (signaling.map { [$0] } ?? [])
        sim.loop.scheduleTask(in: .milliseconds(100)) {
            for c in conns { c.close(code: 1000, reason: "stream ended") }
        }
        sim.streamEnded(self, reason: reason)
    }

    var report: JSONValue {
        let kinds = MediaKind.allCases
        var sentObj = JSONObject()
        var seqObj = JSONObject()
        for k in kinds {
            sentObj[k.key] = .int(Int64(sent[k.rawValue.trailingZeroBitCount]))
            seqObj[k.key] = .int(Int64(sequence[k.rawValue.trailingZeroBitCount]))
        }
        let conns: [JSONValue] = history.map { h in
            .object(["connection": .string(h.label), "path": .string(h.path), "opened_ms": .int(h.opened), "closed_ms": h.closed.map { .int($0) } ?? .null])
        }
        return .object([
            "rtms_stream_id": .string(streamID), product.idKey: .string(instanceID), "state": .string(state.rawValue),
            "stop_reason": stopReason.map { .int(Int64($0)) } ?? .null, "sent": .object(sentObj), "generated": .object(seqObj),
            "events_sent": .int(Int64(eventsSent)), "keepalives_sent": .int(Int64(keepAlivesSent)),
            "keepalives_answered": .int(Int64(keepAlivesAnswered)), "interruptions": .int(Int64(interruptions)),
            "sent_sequences": .object(
                JSONObject(
                    MediaKind.allCases.map { k in
                        (key: k.key, value: JSONValue.array(sentSequences[k.rawValue.trailingZeroBitCount].map { .int(Int64($0)) }))
                    })),
            "subscribed": .array(subscribed.sorted().map { .int(Int64($0)) }),
            "connections": .array(conns), "started_ms": .int(startedAtMs),
            // Opus audio: real packets from libopus, or the silence frame (and why).
            "opus": .object([
                "encoder": .string(opusEncoderName), "encoded": .int(Int64(opusEncoded)), "silence": .int(Int64(opusSilence)),
            ]),
        ])
    }
}

extension SimStream {
    /// What Opus audio is made with: libopus's version string, or "silence" and why.
    var opusEncoderName: String {
        guard sim.config.opusEncoding else { return "silence (disabled: SimulatorConfig.opusEncoding)" }
        switch LibOpus.loaded {
        case .success(let lib): return lib.version
        case .failure(let why): return "silence (\(why))"
        }
    }
}

/// Wall-clock milliseconds since the epoch.
func wallMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
