// One node of a fleet: the webhook intake's durable store, and a worker that claims streams,
// holds each under a lease, renews it, hands events of its streams to their clients, and leaves
// a stream the moment it can no longer prove the lease is its own. All coordination goes through
// PostgreSQL (see Database.swift and docs/fleet.md).
//
// The application (the `rtms serve` recorder, later the C ABI and the bindings) joins what it is
// assigned and attaches the client; the node then routes failover, interruption and stop to that
// client, and leaves it itself on lease loss (fencing does not wait for the application).

import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import RTMSClient
import RTMSProtocol
import RTMSSession
import RTMSWebhook

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct FleetConfig: Sendable {
    public var databaseURL: DatabaseURL
    /// Unique per running process; a second process with the same id waits for the first to time out.
    public var nodeID: String
    /// Streams held at most (0 = intake only: this node stores webhooks and never claims).
    public var maxStreams = 100
    /// A claim or renewal holds a stream this long (database clock).
    public var leaseMs = 10_000
    /// Renewal period; at most a third of the lease.
    public var renewMs = 2_000
    /// A stream not renewed for `leaseMs - marginMs` (local monotonic clock, from the moment the
    /// last successful renewal was sent) is left: its connections close before anyone else may
    /// claim it.
    public var marginMs = 2_000
    /// Claims also run this often without any notification (the notifications are the fast path).
    public var safetyPollMs = 30_000
    /// The intake answers 503 when storing takes longer (Zoom retries; its own timeout is ~3 s).
    public var intakeTimeoutMs = 2_500
    /// Other queries.
    public var queryTimeoutMs = 5_000
    /// A stream whose join fails on this many claims in a row is ended.
    public var maxJoinFailures = 5
    /// An assigned stream the application has not attached a client to after this long is given
    /// back (revoked here, pending again for another node).
    public var attachTimeoutMs = 30_000
    /// A node holding k of n streams (k > 0) waits 5 ms + spreadMs·k/n before claiming after a
    /// wake-up, so idle and less loaded nodes tend to win new work.
    public var claimSpreadMs = 100
    /// The webhook port, recorded in rtms.nodes.
    public var webhookPort: Int?
    /// Where the other nodes reach this node's GET /healthz ("http://host:port"), recorded in
    /// rtms.nodes; nil: this node cannot confirm a database outage to the others.
    public var advertiseURL: String?
    /// Notable moments (claims, takeovers, lease loss, routed events), one line each.
    public var log: @Sendable (String) -> Void = { _ in }

    /// A heartbeat older than this closes the node's takeover gate for a lease (see `claim` in
    /// Database.swift): lease − margin − 3 renewals, at least 2 renewals. Small enough that an
    /// owner that cannot renew sees every peer silent for longer before its own deadline (the
    /// outage rule); large enough that a slow renewal or two do not close the gate.
    public var takeoverGapMs: Int { max(2 * renewMs, leaseMs - marginMs - 3 * renewMs) }

    /// How long a peer gets to answer whether the database is down for it too.
    var peerProbeTimeoutMs: Int { max(200, min(1000, renewMs)) }

    public init(databaseURL: DatabaseURL, nodeID: String) {
        self.databaseURL = databaseURL
        self.nodeID = nodeID
    }

    public func validate() throws(FleetError) {
        guard !nodeID.isEmpty, nodeID.utf8.count <= 200 else { throw FleetError("the node id must be 1...200 bytes") }
        guard maxStreams >= 0 else { throw FleetError("max streams must be >= 0") }
        guard leaseMs >= 300 else { throw FleetError("the lease must be at least 300 ms") }
        guard renewMs > 0, renewMs * 3 <= leaseMs else {
            throw FleetError("the renewal period (\(renewMs) ms) must be at most a third of the lease (\(leaseMs) ms)")
        }
        guard marginMs > 0, renewMs + marginMs < leaseMs else {
            throw FleetError("the lease margin (\(marginMs) ms) must be positive and renewal + margin below the lease (\(leaseMs) ms)")
        }
        guard intakeTimeoutMs > 0, queryTimeoutMs > 0, safetyPollMs > 0 else { throw FleetError("timeouts must be positive") }
        if let a = advertiseURL, peerAddress(a) == nil {
            throw FleetError("the advertise URL must look like http://HOST:PORT (an IPv6 host in brackets), got '\(a)'")
        }
    }
}

/// A stream assigned to this node: join it, then `attach` the client.
public struct FleetStream: Sendable {
    public var streamID: String
    /// The fencing token of this claim.
    public var generation: Int64
    /// How to join: the latest rtms_started payload (with every server change received since).
    public var start: StreamStart
    public var payload: JSONObject
    /// Set when the stream was taken over from a node whose lease expired.
    public var previousOwner: String?
}

public enum FleetAssignment: Sendable {
    /// Join this stream and `attach` the client.
    case start(FleetStream)
    /// The node no longer holds the stream (lease lost, owned elsewhere, node stopping): its
    /// client has been left already; finalize what belongs to it.
    case revoke(streamID: String, generation: Int64, reason: String)
    /// The node ended the stream itself: its client's session had ended and the application
    /// did not say it was done within `endedGraceMs`. Nothing to finalize; forget it.
    case finished(streamID: String, generation: Int64)
}

public struct FleetCounters: Sendable, Equatable {
    public var stored = 0, duplicates = 0, storeFailures = 0
    public var claims = 0, takeovers = 0, renewals = 0, renewalFailures = 0
    public var leaseLosses = 0, revokedByOwner = 0, eventsRouted = 0, ended = 0, releasedForRetry = 0
    public var lastRenewalMs = 0, maxRenewalMs = 0
}

public final class FleetNode: @unchecked Sendable {
    public let config: FleetConfig
    let db: FleetDatabase
    let logger: Logger

    final class Held {
        let streamID: String
        let generation: Int64
        var cursor: Int64
        var client: RTMSClient?
        var pending: [StreamEvent] = []
        /// Local monotonic time after which the stream must be left.
        var deadline: Int64
        var joined = false
        var endedSeenAt: Int64?
        var endReason: Int?
        /// What this owner records (rtms.segments, rtms.stream_items), once the application opened it.
        var segment: FleetSegment?
        /// The client's reconnect and drop counters at the last look (for the metrics' increments).
        var seenReconnects = 0
        var seenDrops = 0
        /// When it was assigned (local monotonic): an application that never attaches a client
        /// gives the stream back after `attachTimeoutMs`.
        let assignedAt: Int64
        init(streamID: String, generation: Int64, cursor: Int64, deadline: Int64) {
            self.streamID = streamID; self.generation = generation; self.cursor = cursor; self.deadline = deadline
            assignedAt = monotonicMs()
        }
    }

    private let lock = NIOLock()
    private var held: [String: Held] = [:]
    private var assignments: [FleetAssignment] = []
    private let wake = WakePipe()
    private var running = false
    private var stopped = false
    private var counters = FleetCounters()
    private var lastDatabaseOk: Int64?
    private var renewFailingSince: Int64?
    /// When the last successful renewal came back (the peers' outage rule reads its age).
    private var lastRenewalDone: Int64?
    /// The other live nodes at the last look (refreshed while the database answers).
    private var peers: [PeerNode] = []
    /// The streams are kept through a database outage that every peer confirmed (logged once).
    private var outageHolding = false
    /// The database's clock at the last successful renewal: when (local) it was sent, how long
    /// the round trip took. Bounds when a takeover claim may still run (`claim`'s deadline).
    private var dbClock: (dbNowMs: Double, sentLocal: Int64, rttMs: Int64)?
    /// A takeover claim sent earlier may run on the database until this local time.
    private var takeoverClaimsPossibleUntil: Int64 = 0
    /// Promised to a peer in an outage: no takeover before this local time.
    private var noTakeoverUntil: Int64 = 0
    /// The chores after a renewal (catch-up delivery, listener check, peer list) are running.
    private var choresRunning = false
    private var outageDoubtSaid = false
    private var tasks: [Task<Void, Never>] = []
    private var listener: PostgresConnection?
    private var fenceTimer: DispatchSourceTimer?
    private let claimSignal = AsyncSignal()
    private let renewSignal = AsyncSignal()
    private let listenRetry = AsyncSignal()
    private var listening = false
    let writeSignal = AsyncSignal()
    /// Segments with rows or changes to write; a segment leaves the list once closed and written.
    private var segments: [FleetSegment] = []
    let metrics = FleetMetrics()

    public init(config: FleetConfig, logger: Logger? = nil) throws(FleetError) {
        try config.validate()
        self.config = config
        var l = logger ?? Runtime.logger
        l[metadataKey: "node"] = .string(config.nodeID)
        self.logger = l
        var pgLogger = Logger(label: "openrtms.fleet.postgres")
        pgLogger.logLevel = .critical
        self.db = FleetDatabase(url: config.databaseURL, logger: pgLogger, connectTimeoutMs: min(3000, config.leaseMs / 2))
    }

    // MARK: Application side

    /// Readable while assignments are waiting (for poll(2) next to the clients' wake fds).
    public var wakeFD: Int32 { wake.fd }

    public func takeAssignments() -> [FleetAssignment] {
        lock.withLock {
            let a = assignments
            assignments.removeAll()
            wake.clear()
            return a
        }
    }

    /// The client joining an assigned stream. False when the stream was revoked meanwhile (the
    /// client has been left then). Events that arrived before are applied now.
    @discardableResult
    public func attach(streamID: String, generation: Int64, client: RTMSClient) -> Bool {
        let events: [StreamEvent]? = lock.withLock {
            guard let h = held[streamID], h.generation == generation, h.client == nil else { return nil }
            h.client = client
            defer { h.pending.removeAll() }
            return h.pending
        }
        guard let events else {
            client.leave()
            return false
        }
        for e in events { apply(e, to: client) }
        return true
    }

    /// Opens this owner's segment of an assigned stream, recorded into `directory` (see
    /// `segmentDirectory`): feed it what the client delivers; its rows go to the database in the
    /// background. Nil when the stream is not held (any more) under this generation.
    public func openSegment(streamID: String, generation: Int64, directory: String, streamDirectory: String) -> FleetSegment? {
        let seg = FleetSegment(
            streamID: streamID, generation: generation, directory: directory, streamDirectory: streamDirectory,
            urgent: { [writeSignal] in writeSignal.signal() })
        let ok: Bool = lock.withLock {
            guard let h = held[streamID], h.generation == generation, h.segment == nil else { return false }
            h.segment = seg
            segments.append(seg)
            return true
        }
        guard ok else { return nil }
        writeSignal.signal()
        return seg
    }

    /// The application is done with a stream (it ended, or joining failed): a stream that was
    /// joined is ended in the database; one that never joined goes back for another attempt
    /// (elsewhere, after a pause; ended after `maxJoinFailures`).
    public func detach(streamID: String, generation: Int64, reason: Int?, note: String) {
        let h: Held? = lock.withLock {
            guard let h = held[streamID], h.generation == generation else { return nil }
            held[streamID] = nil
            return h
        }
        guard let h else { return }
        h.endReason = reason ?? h.endReason
        finish(h, note: note)
    }

    /// Streams held now.
    public var heldStreamIDs: [String] { lock.withLock { held.keys.sorted() } }

    /// The last renewal round trip succeeded (renewals run every `renewMs`, with or without streams).
    public var databaseReachable: Bool {
        lock.withLock { lastDatabaseOk != nil && renewFailingSince == nil }
    }

    /// The node's state as JSON (GET /healthz). With `promise` (GET /healthz?outage-promise=1,
    /// what a peer asks in an outage): when this node cannot reach the database either, has not
    /// for longer than its takeover gap, and no takeover claim it sent can still run, it promises
    /// not to take over anything for a lease ("no_takeover_ms") and keeps that promise.
    public func statusJSON(promise: Bool = false) -> JSONObject {
        let (c, n, last, isRunning, isListening, renewed, known) = lock.withLock {
            (counters, held.count, lastDatabaseOk, running, listening, lastRenewalDone, peers)
        }
        var o: JSONObject = [
            "status": .string(databaseReachable && isRunning ? "ok" : (isRunning ? "database unreachable" : "stopped")),
            "node_id": .string(config.nodeID), "streams": .int(Int64(n)), "max_streams": .int(Int64(config.maxStreams)),
            "lease_ms": .int(Int64(config.leaseMs)), "renew_ms": .int(Int64(config.renewMs)),
            "stored": .int(Int64(c.stored)), "duplicates": .int(Int64(c.duplicates)), "store_failures": .int(Int64(c.storeFailures)),
            "claims": .int(Int64(c.claims)), "takeovers": .int(Int64(c.takeovers)), "renewals": .int(Int64(c.renewals)),
            "renewal_failures": .int(Int64(c.renewalFailures)), "lease_losses": .int(Int64(c.leaseLosses)),
            "events_routed": .int(Int64(c.eventsRouted)), "last_renewal_ms": .int(Int64(c.lastRenewalMs)),
            "listening": .bool(isListening),
        ]
        if let last { o["database_ok_ms_ago"] = .int(monotonicMs() - last) }
        // For the peers' outage rule: this node takes over nothing while its last renewal is older
        // than takeover_gap_ms, nor for a lease after its contact resumes (Database.claim).
        o["takeover_gap_ms"] = .int(Int64(config.takeoverGapMs))
        o["peers"] = .array(known.map { .string($0.nodeID) })
        if let renewed { o["database_silent_ms"] = .int(monotonicMs() - renewed) }
        if promise {
            let now = monotonicMs()
            let promised: Bool = lock.withLock {
                guard running, renewFailingSince != nil, let r = lastRenewalDone, now - r > Int64(config.takeoverGapMs),
                    now > takeoverClaimsPossibleUntil
                else { return false }
                noTakeoverUntil = max(noTakeoverUntil, now + Int64(config.leaseMs))
                return true
            }
            if promised { o["no_takeover_ms"] = .int(Int64(config.leaseMs)) }
        }
        return o
    }

    /// The webhook server's hooks: store every delivery durably before answering (503 when the
    /// database cannot), and GET /healthz.
    public var webhookHooks: WebhookServerHooks {
        var h = WebhookServerHooks()
        h.deliver = { [self] d, loop in loop.makeFutureWithTask { await self.deliver(d) } }
        h.otherRequest = { [self] method, uri in
            let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
            if method == "GET", path == "/metrics" {
                self.updateGauges()
                return (WebhookReply(status: 200, body: self.metrics.text()), "text/plain; version=0.0.4; charset=utf-8")
            }
            guard method == "GET", path == "/healthz" else { return nil }
            let s = self.statusJSON(promise: uri.contains("outage-promise=1"))
            let ok = s["status"]?.stringValue == "ok"
            return (WebhookReply(status: ok ? 200 : 503, body: JSON.string(.object(s))), "application/json")
        }
        return h
    }

    /// Stores a verified delivery: 200 once it is committed (or was stored before), 503 when the
    /// database cannot store it in time.
    public func deliver(_ d: WebhookDelivery) async -> WebhookReply {
        do {
            let r = try await db.store(d, node: config.nodeID, timeoutMs: config.intakeTimeoutMs)
            databaseOk()
            lock.withLock {
                if case .duplicate = r { counters.duplicates += 1 } else { counters.stored += 1 }
            }
            if case .duplicate = r { metrics.webhooksDuplicate.increment() } else { metrics.webhooksStored.increment() }
            // New work wakes every node through NOTIFY, this one included: the node that happened to
            // receive the webhook gets no head start. Events of a stream held here go straight on.
            if case .stored(_, _?) = r, let s = d.streamID, lock.withLock({ held[s] != nil }) {
                Task { try? await self.deliverEvents(only: [s]) }
            }
            return WebhookReply(status: 200, body: #"{"status":"ok"}"#)
        } catch {
            lock.withLock { counters.storeFailures += 1 }
            metrics.webhooksUnavailable.increment()
            logger.warning("webhook \(d.event) not stored: \(error); answered 503 (Zoom retries)")
            return WebhookReply(
                status: 503,
                body: JSON.string(
                    .object([
                        "error": .string("Service Unavailable: the event could not be stored (\(error)); retry")
                    ])))
        }
    }

    // MARK: Lifecycle

    /// Connects, migrates the schema, registers the node and starts the worker. Blocks until done
    /// or `timeoutMs` (the database may still be starting).
    public func start(timeoutMs: Int = 60_000) throws {
        db.start()
        let box = NIOLockedValueBox<Result<Void, any Error>?>(nil)
        let sem = DispatchSemaphore(value: 0)
        Task {
            do {
                try await self.prepare(until: monotonicMs() + Int64(timeoutMs))
                box.withLockedValue { $0 = .success(()) }
            } catch {
                box.withLockedValue { $0 = .failure(error) }
            }
            sem.signal()
        }
        sem.wait()
        if case .failure(let e)? = box.withLockedValue({ $0 }) {
            db.stop()
            throw e
        }
        lock.withLock { running = true }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "openrtms.fleet.fence"))
        timer.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100), leeway: .milliseconds(10))
        timer.setEventHandler { [weak self] in self?.fenceTick() }
        timer.resume()
        let loops = [
            Task { await self.listenLoop() },
            Task { await self.renewLoop() },
            Task { await self.claimLoop() },
            Task { await self.writerLoop() },
        ]
        lock.withLock {
            fenceTimer = timer
            tasks = loops
        }
    }

    private func prepare(until deadline: Int64) async throws {
        var lastError: (any Error)? = nil
        var migrated = false
        while monotonicMs() < deadline {
            do {
                if !migrated {
                    let applied = try await db.migrate(node: config.nodeID, timeoutMs: config.queryTimeoutMs)
                    migrated = true
                    if !applied.isEmpty { config.log("schema migrated to version \(applied.max()!) (applied \(applied))") }
                }
                let info = NodeInfo(
                    nodeID: config.nodeID, maxStreams: config.maxStreams, leaseMs: config.leaseMs,
                    webhookPort: config.webhookPort, hostname: hostName(), pid: Int(getpid()),
                    software: "openrtms \(OpenRTMSVersion.string), schema \(FleetSchema.latestVersion)",
                    advertiseURL: config.advertiseURL)
                if let wait = try await db.registerNode(info, timeoutMs: config.queryTimeoutMs) {
                    config.log(
                        "node id \(config.nodeID) was in use \(config.leaseMs - wait + 100) ms ago: waiting \(wait) ms for that process's lease to run out")
                    await sleepMs(wait)
                    continue
                }
                databaseOk()
                return
            } catch {
                lastError = error
                await sleepMs(500)
            }
        }
        throw FleetError("cannot prepare the database \(config.databaseURL): \(lastError.map { "\($0)" } ?? "timed out")")
    }

    /// Stops claiming, leaves every stream (assignments say so), hands them back when `release`
    /// (pending again, so another node claims them at once instead of after the lease), and
    /// closes the database connections. Blocks a few seconds at most. Idempotent.
    public func stop(release: Bool = true) {
        let (was, mine, loops, timer, conn): (Bool, [Held], [Task<Void, Never>], DispatchSourceTimer?, PostgresConnection?) = lock.withLock {
            let was = running
            running = false
            stopped = true
            let mine = Array(held.values)
            held.removeAll()
            for h in mine { assignments.append(.revoke(streamID: h.streamID, generation: h.generation, reason: "node stopping")) }
            if !mine.isEmpty { wake.signal() }
            defer { tasks = []; fenceTimer = nil; listener = nil }
            return (was, mine, tasks, fenceTimer, listener)
        }
        timer?.cancel()
        for h in mine { h.client?.leave() }
        claimSignal.signal()
        renewSignal.signal()
        listenRetry.signal()
        guard was else {
            db.stop()
            return
        }
        // Let the connections close (the server answered the close frames) before another node
        // joins: else the server may still see this node's signaling connection and refuse the
        // next owner's (status 8).
        let until = monotonicMs() + 2500
        while mine.contains(where: { ($0.client?.openConnections ?? 0) > 0 }) && monotonicMs() < until { usleep(5_000) }
        let sem = DispatchSemaphore(value: 0)
        let node = config.nodeID, timeout = min(3000, config.queryTimeoutMs)
        let db = self.db
        let list = mine.map { ($0.streamID, $0.generation) }
        Task {
            if release && !list.isEmpty {
                do {
                    try await db.release(node: node, held: list, timeoutMs: timeout)
                    self.config.log("released \(list.count) stream(s) for the other nodes")
                } catch {
                    self.config.log("could not release the streams (\(error)): they are claimable when their leases expire")
                }
            }
            for h in mine {
                guard let seg = h.segment else { continue }
                seg.end(note: "node stopping")
                await self.closeSegment(seg, attempts: 2)
            }
            try? await db.nodeStopped(node, timeoutMs: timeout)
            try? await conn?.close()
            sem.signal()
        }
        _ = sem.wait(timeout: .now() + .milliseconds(timeout * 2 + 500))
        for t in loops { t.cancel() }
        db.stop()
    }

    private var isRunning: Bool { lock.withLock { running } }
    var isRunningNow: Bool { isRunning }
    var openSegments: [FleetSegment] { lock.withLock { segments } }
    func forgetSegment(_ seg: FleetSegment) { lock.withLock { segments.removeAll { $0 === seg } } }

    func updateGauges() {
        metrics.streamsOwned.record(lock.withLock { held.count })
    }

    private func databaseOk() {
        lock.withLock { lastDatabaseOk = monotonicMs() }
    }

    // MARK: Listening

    private func listenLoop() async {
        var backoff = 250
        var id = 0
        while isRunning {
            id += 1
            do {
                let cfg = try config.databaseURL.connectionConfiguration()
                let pgLogger = db.logger
                let connectionID = id
                let conn = try await withDeadline(min(3000, config.leaseMs)) {
                    try await PostgresConnection.connect(configuration: cfg, id: connectionID, logger: pgLogger)
                }
                let keep = lock.withLock { () -> Bool in
                    guard running else { return false }
                    listener = conn
                    return true
                }
                guard keep else {
                    try? await conn.close()
                    return
                }
                try await conn.listen(on: notifyChannel) { notifications in
                    backoff = 250
                    lock.withLock { listening = true }
                    // Whatever was notified while not listening: the tables are the truth.
                    claimSignal.signal()
                    Task { try? await self.deliverEvents(only: nil) }
                    for try await n in notifications {
                        handleNotification(n.payload)
                    }
                }
            } catch {
                if isRunning { logger.info("listener: \(error); reconnecting in \(backoff) ms") }
            }
            let old: PostgresConnection? = lock.withLock {
                defer { listener = nil; listening = false }
                return listener
            }
            try? await old?.close()
            guard isRunning else { return }
            // Woken early when a renewal finds the database back.
            await listenRetry.wait(milliseconds: backoff)
            backoff = min(2000, backoff * 2)
        }
    }

    private func handleNotification(_ payload: String) {
        if payload == "work" {
            claimSignal.signal()
        } else if payload.hasPrefix("event\t") {
            let stream = String(payload.dropFirst(6))
            if lock.withLock({ held[stream] != nil }) {
                Task { try? await self.deliverEvents(only: [stream]) }
            }
        }
    }

    /// Fetches the events after each held stream's cursor (all held streams, or `only` these) and
    /// hands them to the clients in order. Safe to run concurrently: an event is applied once.
    func deliverEvents(only: [String]?) async throws {
        let cursors: [(String, Int64)] = lock.withLock {
            held.values.filter { only == nil || only!.contains($0.streamID) }.map { ($0.streamID, $0.cursor) }
        }
        guard !cursors.isEmpty else { return }
        let events = try await db.events(after: cursors, timeoutMs: config.queryTimeoutMs)
        databaseOk()
        var now: [(StreamEvent, RTMSClient)] = []
        lock.withLock {
            for e in events {
                guard let h = held[e.streamID], e.seq > h.cursor else { continue }
                h.cursor = e.seq
                counters.eventsRouted += 1
                metrics.eventsRouted.increment()
                if let c = h.client { now.append((e, c)) } else { h.pending.append(e) }
            }
        }
        for (e, c) in now { apply(e, to: c) }
    }

    private func apply(_ e: StreamEvent, to client: RTMSClient) {
        switch e.kind {
        case "started":
            guard let urls = e.payload["server_urls"]?.stringValue else { return }
            config.log("stream \(e.streamID): rtms_started again (server failover to \(urls)): handed to its client")
            client.failover(serverURLs: urls)
        case "interrupted":
            let urls = e.payload["server_urls"]?.stringValue
            config.log("stream \(e.streamID): rtms_interrupted: rejoining\(urls.map { " at \($0)" } ?? "")")
            client.interrupted(serverURLs: urls)
        case "stopped":
            let reason = Int(e.payload["stop_reason"]?.intValue ?? Int64(StopReason.undefined))
            config.log("stream \(e.streamID): rtms_stopped (\(StopReason.name(reason))): leaving")
            client.stopped(reason: reason)
        default:
            break
        }
    }

    // MARK: Claiming

    private func claimLoop() async {
        guard config.maxStreams > 0 else { return }
        var nextCheck = 0
        while isRunning {
            await claimSignal.wait(milliseconds: nextCheck)
            guard isRunning else { return }
            let count = lock.withLock { held.count }
            let free = config.maxStreams - count
            guard free > 0 else {
                nextCheck = config.safetyPollMs
                continue
            }
            if count > 0 && config.claimSpreadMs > 0 {
                // Idle nodes first, then the less loaded: a short head start for each.
                await sleepMs(5 + config.claimSpreadMs * count / config.maxStreams)
                guard isRunning else { return }
            }
            do {
                var sent = monotonicMs()
                // One at a time: every node that woke claims in turn (SKIP LOCKED), so a burst of
                // new streams spreads over the nodes instead of going to whichever woke first.
                // New and released streams first, with the usual timeout.
                var claimed = try await db.claim(
                    node: config.nodeID, limit: 1, leaseMs: config.leaseMs, gapMs: config.takeoverGapMs,
                    takeoverUntilDbMs: nil, timeoutMs: config.queryTimeoutMs)
                // Then a takeover: only while renewals succeed and no promise to a peer forbids it,
                // and only if the statement runs before the claim's deadline on the database's
                // clock (estimated from the last renewal, erring late by its round trip).
                let takeoverTimeout = min(config.queryTimeoutMs, max(200, config.renewMs))
                var takeoverUntil: Double? = nil
                if claimed.isEmpty {
                    sent = monotonicMs()
                    takeoverUntil = lock.withLock {
                        guard renewFailingSince == nil, sent >= noTakeoverUntil, let c = dbClock else { return nil }
                        takeoverClaimsPossibleUntil = max(takeoverClaimsPossibleUntil, sent + Int64(takeoverTimeout) + c.rttMs)
                        return c.dbNowMs + Double(sent - c.sentLocal + Int64(takeoverTimeout))
                    }
                    if let until = takeoverUntil {
                        claimed = try await db.claim(
                            node: config.nodeID, limit: 1, leaseMs: config.leaseMs, gapMs: config.takeoverGapMs,
                            takeoverUntilDbMs: until, timeoutMs: takeoverTimeout)
                    }
                }
                databaseOk()
                for c in claimed { adopt(c, sent: sent) }
                if !claimed.isEmpty {
                    nextCheck = 0
                    continue
                }
                let next = try await db.nextClaimable(node: config.nodeID, leaseMs: config.leaseMs, timeoutMs: config.queryTimeoutMs)
                nextCheck = min(config.safetyPollMs, max(10, next.map { Int($0) + 15 } ?? config.safetyPollMs))
                // Without takeovers an expired foreign lease is not claimable here: look again after
                // the next renewal instead of every 10 ms.
                if takeoverUntil == nil { nextCheck = max(nextCheck, config.renewMs) }
            } catch {
                if isRunning { logger.info("claim: \(error)") }
                nextCheck = min(1000, config.renewMs)
            }
        }
    }

    private func adopt(_ c: ClaimedStream, sent: Int64) {
        guard let payload = (try? JSON.parse(c.payload))?.objectValue, let start = try? StreamStart(payload: payload) else {
            logger.warning("stream \(c.streamID): the stored start payload is not usable; ending it")
            Task {
                try? await db.markEnded(
                    node: config.nodeID, streamID: c.streamID, generation: c.generation, reason: nil,
                    note: "unusable start payload", timeoutMs: config.queryTimeoutMs)
            }
            return
        }
        let takeover = c.previousOwner != nil && c.previousOwner != config.nodeID
        let accepted: Bool = lock.withLock {
            guard running else { return false }
            held[c.streamID] = Held(
                streamID: c.streamID, generation: c.generation, cursor: c.eventSeq,
                deadline: sent + Int64(config.leaseMs - config.marginMs))
            counters.claims += 1
            if takeover { counters.takeovers += 1 }
            metrics.claims.increment()
            if takeover { metrics.takeovers.increment() }
            assignments.append(
                .start(
                    FleetStream(
                        streamID: c.streamID, generation: c.generation, start: start, payload: payload,
                        previousOwner: c.previousOwner)))
            wake.signal()
            return true
        }
        guard accepted else {
            // Claimed while stopping (a claim in flight when stop() handed the streams back, woken
            // by that very notification): hand it back at once, not after its lease.
            let db = self.db, node = config.nodeID, timeout = min(3000, config.queryTimeoutMs)
            Task { try? await db.release(node: node, held: [(c.streamID, c.generation)], timeoutMs: timeout) }
            config.log("stream \(c.streamID): claimed while stopping: handed back")
            return
        }
        if takeover {
            config.log("stream \(c.streamID): taken over from \(c.previousOwner!) (its lease expired), generation \(c.generation)")
        } else {
            config.log("stream \(c.streamID): claimed, generation \(c.generation)")
        }
    }

    // MARK: Renewing

    private func renewLoop() async {
        var lastListenerPing = monotonicMs()
        while isRunning {
            let sent = monotonicMs()
            let list: [(String, Int64)] = lock.withLock { held.values.map { ($0.streamID, $0.generation) } }
            do {
                let (rows, dbNow) = try await db.renew(
                    node: config.nodeID, held: list, leaseMs: config.leaseMs, gapMs: config.takeoverGapMs,
                    timeoutMs: config.renewMs)
                let took = Int(monotonicMs() - sent)
                metrics.renewalsOK.increment()
                metrics.renewalLatency.recordMilliseconds(took)
                databaseOk()
                var lost: [(Held, String)] = []
                let recovered: Int64? = lock.withLock {
                    lastRenewalDone = monotonicMs()
                    dbClock = (dbNow, sent, Int64(took))
                    outageHolding = false
                    outageDoubtSaid = false
                    counters.renewals += 1
                    counters.lastRenewalMs = took
                    counters.maxRenewalMs = max(counters.maxRenewalMs, took)
                    defer { renewFailingSince = nil }
                    for r in rows {
                        guard let h = held[r.streamID] else { continue }
                        if r.renewed {
                            h.deadline = max(h.deadline, sent + Int64(config.leaseMs - config.marginMs))
                        } else if r.state == "ended" && r.owner == config.nodeID && r.generation == h.generation {
                            // Stopped by a webhook: its rtms_stopped reaches the client below.
                            continue
                        } else {
                            held[r.streamID] = nil
                            counters.revokedByOwner += 1
                            let why =
                                r.state == "owned"
                                ? "owned by \(r.owner ?? "?") now (generation \(r.generation ?? 0))"
                                : "no longer ours (state \(r.state ?? "gone"))"
                            lost.append((h, why))
                        }
                    }
                    return renewFailingSince
                }
                if let since = recovered {
                    config.log("database reachable again after \(monotonicMs() - since) ms")
                    listenRetry.signal()
                }
                for (h, why) in lost { revoke(h, reason: why) }
                // The chores after a renewal run beside the loop, one round at a time: a slow
                // database must not delay the next renewal past the streams' deadlines.
                let pingNow = recovered != nil || monotonicMs() - lastListenerPing > 5000
                if pingNow { lastListenerPing = monotonicMs() }
                let start: Bool = lock.withLock {
                    guard !choresRunning else { return false }
                    choresRunning = true
                    return true
                }
                if start {
                    Task {
                        defer { self.lock.withLock { self.choresRunning = false } }
                        // Catch-up: events whose notification was missed reach their clients now.
                        try? await self.deliverEvents(only: nil)
                        if pingNow { await self.pingListener() }
                        // Who could be taking over now: the peers to ask in an outage.
                        if let p = try? await self.db.livePeers(node: self.config.nodeID, timeoutMs: self.config.renewMs) {
                            self.lock.withLock { self.peers = p }
                        }
                    }
                }
            } catch {
                metrics.renewalsFailed.increment()
                let first: Bool = lock.withLock {
                    counters.renewalFailures += 1
                    if renewFailingSince == nil {
                        renewFailingSince = sent
                        return true
                    }
                    return false
                }
                if first {
                    config.log(
                        "lease renewal failed (\(error))"
                            + (list.isEmpty
                                ? ""
                                : ": leaving \(list.count) stream(s) in \(config.leaseMs - config.marginMs) ms at most unless a renewal succeeds or every other node confirms the database is down for it too")
                    )
                }
                if !list.isEmpty { await confirmOutage() }
            }
            let wait = Int(sent + Int64(config.renewMs) - monotonicMs())
            if wait > 0 { await renewSignal.wait(milliseconds: wait) }
        }
    }

    /// The outage rule. A node that cannot renew cannot tell a database outage from being cut off
    /// alone. It asks every peer that was alive at its last look (GET /healthz, in parallel). When
    /// each one answers that the database is unreachable for it too and that its own last renewal
    /// is older than its takeover gap, none of them can take over a stream before a lease from
    /// now (the database refuses their takeovers until they have renewed without a gap for a
    /// lease, `Database.claim`), so the held streams stay: their deadlines move to now + lease −
    /// margin. Any peer that is silent, says the database is fine, or cannot make that promise
    /// (an older version) leaves the rule as it was: the streams are left at their deadline; so
    /// does a node that knows no peer.
    private func confirmOutage() async {
        let sent = monotonicMs()
        let known = lock.withLock { peers }
        let timeout = config.peerProbeTimeoutMs
        var answers: [(PeerNode, JSONObject?)] = []
        await withTaskGroup(of: (PeerNode, JSONObject?).self) { group in
            for p in known {
                group.addTask {
                    guard let url = p.advertiseURL else { return (p, nil) }
                    return (p, await probePeer(url, timeoutMs: timeout))
                }
            }
            for await a in group { answers.append(a) }
        }
        var lease = config.leaseMs
        // Alone, nobody confirms: a node that joined the fleet after the last look could be
        // taking over (it waits a lease after it registered, not for this node's outage).
        var doubt: String? = known.isEmpty ? "no other node to confirm it" : nil
        for (p, a) in answers {
            guard let a else {
                doubt = p.advertiseURL == nil ? "\(p.nodeID) has no address" : "\(p.nodeID) did not answer"
                break
            }
            // The answer must come from that node: a URL that reaches another process (or this
            // one: host names that resolve to each host's own loopback) confirms nothing.
            guard a["node_id"]?.stringValue == p.nodeID else {
                doubt = "\(p.advertiseURL ?? "?") answered for \(a["node_id"]?.stringValue ?? "no node"), not \(p.nodeID)"
                break
            }
            guard a["status"]?.stringValue == "database unreachable" else {
                doubt = "\(p.nodeID) says \(a["status"]?.stringValue ?? "?")"
                break
            }
            // Its promise: no takeover for this long (clamped: a peer's number never traps us).
            guard let promised = a["no_takeover_ms"]?.intValue, promised > Int64(config.marginMs) else {
                doubt = "\(p.nodeID) cannot promise to wait (renewed too recently, a takeover claim of its own may still run, or a version without the promise)"
                break
            }
            lease = min(lease, Int(min(promised, Int64(config.leaseMs))))
        }
        let until = sent + Int64(lease - config.marginMs)
        let (extended, say): (Int, Bool) = lock.withLock {
            guard running, renewFailingSince != nil else { return (0, false) }
            if doubt != nil {
                defer { outageDoubtSaid = true }
                return (0, !outageDoubtSaid)
            }
            // A stream whose deadline already passed (the fence tick is about to leave it) stays left.
            let now = monotonicMs()
            for h in held.values where h.deadline > now { h.deadline = max(h.deadline, until) }
            defer { outageHolding = true }
            return (held.count, !outageHolding)
        }
        if let doubt {
            metrics.outageUnconfirmed.increment()
            if say { config.log("not an outage every node confirms (\(doubt)): the streams are left at their deadline") }
        } else if extended > 0 {
            metrics.outageConfirmed.increment()
            if say {
                config.log(
                    "the database is unreachable for every node (\(known.count) peer(s) confirm): keeping \(extended) stream(s); media keeps flowing and recording"
                )
            }
        }
    }

    /// The listener connection may be dead without knowing it (a network cut): check it, and drop
    /// it when it does not answer so that the listen loop reconnects.
    private func pingListener() async {
        guard let conn = lock.withLock({ listener }) else { return }
        let pgLogger = db.logger
        do {
            try await withDeadline(config.renewMs) { try await conn.query("SELECT 1", logger: pgLogger) }
        } catch {
            logger.info("listener connection does not answer: reconnecting")
            try? await conn.close()
        }
    }

    // MARK: Fencing and ends

    /// How long a client whose session ended stays held for the application to poll its last
    /// events and say it is done, before the node ends the stream itself.
    static let endedGraceMs: Int64 = 3000

    /// Every 100 ms, on its own thread: leave every stream whose lease may be gone, and notice
    /// clients that ended.
    private func fenceTick() {
        let now = monotonicMs()
        var expired: [Held] = []
        var done: [Held] = []
        var unattached: [Held] = []
        lock.withLock {
            guard running else { return }
            for h in held.values {
                if now >= h.deadline {
                    expired.append(h)
                    continue
                }
                guard let c = h.client else {
                    // Assigned but never joined (the application ignored it, or its poll thread is
                    // stuck): back for another node rather than held and renewed for nothing.
                    if now - h.assignedAt > Int64(config.attachTimeoutMs) { unattached.append(h) }
                    continue
                }
                let phase = c.phase
                if c.joinConfirmed && !h.joined {
                    metrics.joins.increment()
                    h.joined = true
                }
                let cc = c.counters
                let drops = cc.droppedQueueFull + cc.droppedMalformed + cc.droppedUnexpected
                if cc.reconnectAttempts > h.seenReconnects { metrics.reconnects.increment(by: cc.reconnectAttempts - h.seenReconnects) }
                if drops > h.seenDrops { metrics.drops.increment(by: drops - h.seenDrops) }
                h.seenReconnects = cc.reconnectAttempts
                h.seenDrops = drops
                if phase == .ended {
                    // The session ended (its leave, a failed join) and the application has not
                    // said it is done (rtms_fleet_done(), rtms serve's own detach): after a grace
                    // period, in which it polls the session's last events (leaving the client
                    // earlier would drop them), the stream ends with the client's own reason.
                    if h.endedSeenAt == nil { h.endedSeenAt = now }
                    if now - h.endedSeenAt! > Self.endedGraceMs {
                        h.endReason = h.endReason ?? c.endReason
                        done.append(h)
                    }
                } else {
                    h.endedSeenAt = nil  // a handle joined again
                }
            }
            for h in expired + done + unattached { held[h.streamID] = nil }
            counters.leaseLosses += expired.count
            if !expired.isEmpty { metrics.leaseLosses.increment(by: expired.count) }
            metrics.streamsOwned.record(held.count)
        }
        for h in expired {
            revoke(
                h,
                reason:
                    "lease not renewed for \(now - h.deadline + Int64(config.leaseMs - config.marginMs)) ms (database unreachable?): left before it can expire")
        }
        for h in done {
            let text = h.client?.lastFailure ?? ""
            finish(h, note: text.isEmpty ? "the client ended" : text)
            lock.withLock {
                assignments.append(.finished(streamID: h.streamID, generation: h.generation))
                wake.signal()
            }
        }
        for h in unattached {
            lock.withLock {
                assignments.append(
                    .revoke(streamID: h.streamID, generation: h.generation, reason: "not joined within \(config.attachTimeoutMs) ms of the assignment"))
                wake.signal()
            }
            finish(h, note: "the application did not join it within \(config.attachTimeoutMs) ms")
        }
        if !expired.isEmpty || !done.isEmpty || !unattached.isEmpty { claimSignal.signal() }
    }

    private func revoke(_ h: Held, reason: String) {
        // Lease lost or owned elsewhere: the sockets end right after the close frame, not after
        // a close handshake a server behind a partition never answers (that would outlive the
        // margin: two hosts holding one stream's signaling socket).
        h.client?.leave(closeTimeoutMs: 0)
        if let seg = h.segment {
            seg.end(note: "revoked: \(reason)")
            Task { await self.closeSegment(seg) }
        }
        config.log("stream \(h.streamID): left (\(reason))")
        lock.withLock {
            assignments.append(.revoke(streamID: h.streamID, generation: h.generation, reason: reason))
            wake.signal()
        }
        claimSignal.signal()
    }

    /// A stream this node is done with: ended when it was joined, else back for another attempt.
    private func finish(_ h: Held, note: String) {
        if let c = h.client {
            if c.joinConfirmed || c.phase == .ready || c.counters.mediaQueued.reduce(0, +) > 0 { h.joined = true }
            c.leave()
        }
        let joined = h.joined
        let seg = h.segment
        seg?.end(note: note)
        let (node, timeout, maxFailures) = (config.nodeID, config.queryTimeoutMs, config.maxJoinFailures)
        let reason = h.endReason
        // Refused with status 8 (the server still holds a signaling connection: the previous
        // owner, not noticed gone yet): not the stream's fault, tried again soon.
        let busy = !joined && reason == StatusCode.duplicateSignalRequest
        let (streamID, generation) = (h.streamID, h.generation)
        let db = self.db
        lock.withLock {
            if joined { counters.ended += 1 } else { counters.releasedForRetry += 1 }
        }
        if joined { metrics.streamsEnded.increment() }
        claimSignal.signal()
        Task {
            for attempt in 0..<20 {
                do {
                    if joined {
                        try await db.markEnded(
                            node: node, streamID: streamID, generation: generation, reason: reason, note: note,
                            timeoutMs: timeout)
                        self.config.log("stream \(streamID): ended (\(reason.map { StopReason.name($0) } ?? note))")
                    } else {
                        let state = try await db.releaseForRetry(
                            node: node, streamID: streamID, generation: generation,
                            note: note, maxFailures: maxFailures, busy: busy, timeoutMs: timeout)
                        let gaveUp =
                            busy
                            ? "ended: 60 joins refused with status 8 (about ten minutes with the default join timeout)"
                            : "ended after \(maxFailures) failed joins"
                        self.config.log(
                            "stream \(streamID): not joined here (\(note)): \(state == "ended" ? gaveUp : busy ? "the server still holds another connection: again in 0.5 s" : "released for another attempt")"
                        )
                    }
                    self.databaseOk()
                    if let seg { await self.closeSegment(seg) }
                    return
                } catch {
                    if !self.isRunning && attempt > 2 { return }
                    await sleepMs(min(5000, 250 << min(attempt, 4)))
                }
            }
        }
    }
}

func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "unknown" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A place for the node that the webhook server can be given before the node exists (the server
/// binds first, so the node can record its port): until a node is set, deliveries are answered 503.
public final class FleetNodeSlot: Sendable {
    private let box = NIOLockedValueBox<FleetNode?>(nil)
    public init() {}
    public var node: FleetNode? {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }

    public var hooks: WebhookServerHooks {
        var h = WebhookServerHooks()
        h.deliver = { [self] d, loop in
            loop.makeFutureWithTask {
                guard let n = self.node else { return WebhookReply(status: 503, body: #"{"error":"Service Unavailable: starting"}"#) }
                return await n.deliver(d)
            }
        }
        h.otherRequest = { [self] method, uri in self.node?.webhookHooks.otherRequest?(method, uri) }
        return h
    }
}
