// Every query of the fleet, on postgres-nio's connection pool, each under a deadline. The SQL is
// here and nowhere else; docs/fleet.md explains the tables and the protocol they implement.

import Crypto
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import RTMSProtocol
import RTMSWebhook

/// What the intake did with a delivery.
public enum StoreOutcome: Sendable, Equatable {
    /// Stored now; `streamSeq` is its place in its stream's event sequence (RTMS events).
    case stored(eventID: Int64, streamSeq: Int64?)
    /// The same delivery (same raw body) was stored before, by this node or another.
    case duplicate
}

/// A stream this node just claimed.
struct ClaimedStream: Sendable {
    var streamID: String
    var generation: Int64
    /// The stream's event sequence at the claim: its start payload reflects every event up to it.
    var eventSeq: Int64
    var payload: String
    var previousOwner: String?
}

/// One held stream in a renewal's answer.
struct RenewalRow: Sendable {
    var streamID: String
    var renewed: Bool
    var state: String?
    var generation: Int64?
    var owner: String?
}

/// A webhook event of a stream, after a given point of its sequence.
struct StreamEvent: Sendable {
    var streamID: String
    var seq: Int64
    var kind: String
    var payload: JSONObject
}

/// The NOTIFY channel: payload "work" (a stream may be claimable) or "event\t<stream id>" (an
/// event for the owner of that stream).
let notifyChannel = "rtms_fleet"

final class FleetDatabase: Sendable {
    let url: DatabaseURL
    let client: PostgresClient
    let logger: Logger
    private let runTask = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(url: DatabaseURL, logger: Logger, maxConnections: Int = 8, connectTimeoutMs: Int = 3000) {
        self.url = url
        self.logger = logger
        var c = url.clientConfiguration()
        c.options.maximumConnections = max(2, maxConnections)
        c.options.minimumConnections = 1
        c.options.connectTimeout = .milliseconds(connectTimeoutMs)
        c.options.keepAliveBehavior = .init(frequency: .seconds(15))
        client = PostgresClient(configuration: c, backgroundLogger: logger)
    }

    func start() {
        runTask.withLockedValue { t in
            guard t == nil else { return }
            let client = self.client
            t = Task { await client.run() }
        }
    }

    func stop() {
        runTask.withLockedValue { $0?.cancel() }
    }

    // MARK: Schema and node

    func migrate(node: String, timeoutMs: Int) async throws -> [Int] {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            try await client.withConnection { conn in try await FleetSchema.migrate(conn, node: node, logger: logger) }
        }
    }

    /// Registers the node. When a live process already uses this node id (a heartbeat younger than
    /// a lease), returns how long to wait before trying again; else takes the id over: streams an
    /// earlier process of this id still owns are released at once (it cannot hold them any more:
    /// it has not renewed for longer than a lease) and the other nodes are woken.
    func registerNode(_ info: NodeInfo, timeoutMs: Int) async throws -> Int? {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            try await client.withTransaction(logger: logger) { conn -> Int? in
                let rows = try await conn.query(
                    """
                    SELECT (EXTRACT(EPOCH FROM (now() - heartbeat_at)) * 1000)::float8, stopped_at IS NOT NULL
                    FROM rtms.nodes WHERE node_id = \(info.nodeID) FOR UPDATE
                    """, logger: logger)
                for try await (age, stopped) in rows.decode((Double, Bool).self) where !stopped && age < Double(info.leaseMs) {
                    return max(100, Int(Double(info.leaseMs) - age) + 100)
                }
                try await conn.query(
                    """
                    INSERT INTO rtms.nodes (node_id, max_streams, lease_ms, webhook_port, hostname, pid, software, advertise_url, contact_since)
                    VALUES (\(info.nodeID), \(info.maxStreams), \(info.leaseMs), \(info.webhookPort), \(info.hostname), \(info.pid), \(info.software),
                            \(info.advertiseURL), now())
                    ON CONFLICT (node_id) DO UPDATE SET started_at = now(), heartbeat_at = now(), stopped_at = NULL,
                        max_streams = EXCLUDED.max_streams, held_streams = 0, draining = false, lease_ms = EXCLUDED.lease_ms,
                        webhook_port = EXCLUDED.webhook_port, hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, software = EXCLUDED.software,
                        advertise_url = EXCLUDED.advertise_url, contact_since = now()
                    """, logger: logger)
                try await conn.query(
                    """
                    UPDATE rtms.streams SET state = 'pending', owner_node = NULL, lease_until = NULL, updated_at = now()
                    WHERE owner_node = \(info.nodeID) AND state = 'owned'
                    """, logger: logger)
                try await conn.query("SELECT pg_notify(\(notifyChannel), 'work')", logger: logger)
                return nil
            }
        }
    }

    func nodeStopped(_ node: String, timeoutMs: Int) async throws {
        let (client, logger) = (self.client, self.logger)
        try await withDeadline(timeoutMs) {
            try await client.query("UPDATE rtms.nodes SET stopped_at = now(), held_streams = 0 WHERE node_id = \(node)", logger: logger)
        }
    }

    // MARK: Intake

    /// Stores a delivery and applies it to its stream, in one transaction; the owner (or every
    /// idle node, for new work) is notified at commit. The same raw body is stored once, whichever
    /// node receives it and however often: the unique key is its SHA-256.
    func store(_ d: WebhookDelivery, node: String, timeoutMs: Int) async throws -> StoreOutcome {
        let (client, logger) = (self.client, self.logger)
        let digest = Signatures.hex(SHA256.hash(data: d.body))
        let payload = d.object["payload"]?.objectValue
        let payloadText = payload.map { JSON.string(.object($0)) }
        let eventTS = d.object["event_ts"]?.intValue
        let kind = d.rtmsKind
        let streamID = (d.streamID?.isEmpty ?? true) ? nil : d.streamID
        let event = d.event
        let body = ByteBuffer(bytes: d.body)
        let start = payload.flatMap { try? StreamStart(payload: $0) }
        return try await withDeadline(timeoutMs) {
            try await client.withTransaction(logger: logger) { conn -> StoreOutcome in
                var eventID: Int64? = nil
                let inserted = try await conn.query(
                    """
                    INSERT INTO rtms.webhook_events (delivery_sha256, event, rtms_kind, rtms_stream_id, event_ts, payload, body, received_by)
                    VALUES (\(digest), \(event), \(kind), \(streamID), \(eventTS), \(payloadText)::jsonb, \(body), \(node))
                    ON CONFLICT (delivery_sha256) DO NOTHING RETURNING id
                    """, logger: logger)
                for try await id in inserted.decode(Int64.self) { eventID = id }
                guard let eventID else { return .duplicate }
                guard let kind, let streamID else { return .stored(eventID: eventID, streamSeq: nil) }
                let applied: PostgresRowSequence
                switch kind {
                case "started":
                    guard let start, start.streamID == streamID else { return .stored(eventID: eventID, streamSeq: nil) }
                    applied = try await conn.query(
                        """
                        INSERT INTO rtms.streams AS s (rtms_stream_id, instance_id, started_event, state, start_payload, started_ts, event_seq)
                        VALUES (\(streamID), \(start.instanceID), \(event), 'pending', \(payloadText)::jsonb, \(eventTS), 1)
                        ON CONFLICT (rtms_stream_id) DO UPDATE SET
                            event_seq = s.event_seq + 1,
                            start_payload = CASE WHEN s.start_payload IS NULL OR COALESCE(EXCLUDED.started_ts, 0) >= COALESCE(s.started_ts, 0)
                                                 THEN EXCLUDED.start_payload ELSE s.start_payload END,
                            started_ts = GREATEST(s.started_ts, EXCLUDED.started_ts),
                            instance_id = COALESCE(s.instance_id, EXCLUDED.instance_id),
                            started_event = COALESCE(s.started_event, EXCLUDED.started_event),
                            updated_at = now()
                        RETURNING event_seq, state
                        """, logger: logger)
                case "stopped":
                    let reason = payload?["stop_reason"]?.intValue
                    let instance = start?.instanceID
                    applied = try await conn.query(
                        """
                        INSERT INTO rtms.streams AS s (rtms_stream_id, instance_id, state, event_seq, end_reason, end_note, ended_at)
                        VALUES (\(streamID), \(instance), 'ended', 1, \(reason), 'rtms_stopped', now())
                        ON CONFLICT (rtms_stream_id) DO UPDATE SET
                            event_seq = s.event_seq + 1, state = 'ended', lease_until = NULL,
                            end_reason = COALESCE(s.end_reason, EXCLUDED.end_reason), end_note = COALESCE(s.end_note, EXCLUDED.end_note),
                            ended_at = COALESCE(s.ended_at, now()), updated_at = now()
                        RETURNING event_seq, state
                        """, logger: logger)
                default:
                    let urls = payload?["server_urls"]?.stringValue ?? ""
                    applied = try await conn.query(
                        """
                        UPDATE rtms.streams SET event_seq = event_seq + 1, updated_at = now(),
                            start_payload = CASE WHEN \(urls) <> '' AND start_payload IS NOT NULL
                                                 THEN jsonb_set(start_payload, '{server_urls}', to_jsonb(\(urls)::text)) ELSE start_payload END
                        WHERE rtms_stream_id = \(streamID)
                        RETURNING event_seq, state
                        """, logger: logger)
                }
                var seq: Int64? = nil
                var state = ""
                for try await (s, st) in applied.decode((Int64, String).self) { seq = s; state = st }
                guard let seq else { return .stored(eventID: eventID, streamSeq: nil) }
                try await conn.query("UPDATE rtms.webhook_events SET stream_seq = \(seq) WHERE id = \(eventID)", logger: logger)
                let note = state == "pending" ? "work" : "event\t" + streamID
                try await conn.query("SELECT pg_notify(\(notifyChannel), \(note))", logger: logger)
                return .stored(eventID: eventID, streamSeq: seq)
            }
        }
    }

    // MARK: Work

    /// Claims up to `limit` streams: new ones, ones released for a retry, and ones whose owner let
    /// the lease expire. Row locks with SKIP LOCKED: two nodes never claim the same row, and
    /// neither waits for the other. Every claim raises the stream's generation (fencing token).
    ///
    /// The takeover gate: an expired lease is taken over only by a node whose own heartbeat is
    /// younger than `gapMs` and whose contact has had no such gap for a whole lease (checked by
    /// the database when the statement runs, so a claim that waited out an outage in a connection
    /// pool cannot slip through). After a database outage every owner thus gets a lease to renew
    /// before anyone may take its streams (FleetNode's outage rule relies on it).
    ///
    /// `takeoverUntilDbMs`: nil claims pending streams only; else expired leases too, but only if
    /// the statement runs before that time on the database's clock (a claim that reaches the
    /// database late, after the node gave up on it, takes nothing over: the node's promise to its
    /// peers in an outage depends on it).
    func claim(node: String, limit: Int, leaseMs: Int, gapMs: Int, takeoverUntilDbMs: Double?, timeoutMs: Int) async throws -> [ClaimedStream] {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                WITH cand AS (
                    SELECT rtms_stream_id, owner_node AS previous_owner FROM rtms.streams
                    WHERE start_payload IS NOT NULL
                      AND ((state = 'pending' AND (retry_at IS NULL OR retry_at <= now()))
                           OR (\(takeoverUntilDbMs != nil) AND state = 'owned' AND lease_until < now()
                               AND now() < to_timestamp(\(takeoverUntilDbMs ?? 0) / 1000.0) AND EXISTS (
                               SELECT 1 FROM rtms.nodes n WHERE n.node_id = \(node) AND n.stopped_at IS NULL
                                 AND n.heartbeat_at > now() - \(Double(gapMs))::float8 * interval '1 millisecond'
                                 AND n.contact_since <= now() - \(Double(leaseMs))::float8 * interval '1 millisecond')))
                    ORDER BY created_at, rtms_stream_id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE rtms.streams s SET state = 'owned', owner_node = \(node),
                    lease_until = now() + \(Double(leaseMs))::float8 * interval '1 millisecond',
                    generation = s.generation + 1, claims = s.claims + 1, claimed_at = now(), retry_at = NULL, updated_at = now()
                FROM cand WHERE s.rtms_stream_id = cand.rtms_stream_id
                RETURNING s.rtms_stream_id, s.start_payload::text, s.generation, s.event_seq, cand.previous_owner
                """, logger: logger)
            var out: [ClaimedStream] = []
            for try await (id, payload, gen, seq, prev) in rows.decode((String, String, Int64, Int64, String?).self) {
                out.append(ClaimedStream(streamID: id, generation: gen, eventSeq: seq, payload: payload, previousOwner: prev))
            }
            return out
        }
    }

    /// Milliseconds until the next stream could become claimable without a notification (another
    /// node's lease expiring, or this node's takeover gate opening after it; a retry coming due);
    /// nil when none.
    func nextClaimable(node: String, leaseMs: Int, timeoutMs: Int) async throws -> Double? {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                SELECT (EXTRACT(EPOCH FROM (min(t) - now())) * 1000)::float8 FROM (
                    SELECT greatest(lease_until, (SELECT contact_since FROM rtms.nodes WHERE node_id = \(node))
                                                 + \(Double(leaseMs))::float8 * interval '1 millisecond') AS t
                    FROM rtms.streams
                    WHERE state = 'owned' AND owner_node <> \(node) AND start_payload IS NOT NULL
                    UNION ALL
                    SELECT retry_at FROM rtms.streams WHERE state = 'pending' AND retry_at IS NOT NULL
                ) x
                """, logger: logger)
            var ms: Double? = nil
            for try await v in rows.decode(Double?.self) { ms = v }
            return ms
        }
    }

    /// Renews the leases of the streams this node holds (only rows still owned by it with the same
    /// generation) and its heartbeat, in one statement. A heartbeat older than `gapMs` restarts the
    /// node's contact (`contact_since`: the takeover gate of `claim`).
    /// Also returns the database's clock (ms since the epoch) when the statement ran.
    func renew(node: String, held: [(String, Int64)], leaseMs: Int, gapMs: Int, timeoutMs: Int) async throws -> (rows: [RenewalRow], dbNowMs: Double) {
        let (client, logger) = (self.client, self.logger)
        let ids = held.map(\.0), gens = held.map(\.1)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                WITH mine AS (SELECT * FROM unnest(\(ids)::text[], \(gens)::int8[]) AS m(id, gen)),
                hb AS (UPDATE rtms.nodes SET heartbeat_at = now(), held_streams = \(ids.count),
                           contact_since = CASE WHEN heartbeat_at < now() - \(Double(gapMs))::float8 * interval '1 millisecond'
                                                THEN now() ELSE contact_since END
                       WHERE node_id = \(node) RETURNING node_id),
                renewed AS (
                    UPDATE rtms.streams s SET lease_until = now() + \(Double(leaseMs))::float8 * interval '1 millisecond', updated_at = now()
                    FROM mine WHERE s.rtms_stream_id = mine.id AND s.generation = mine.gen AND s.owner_node = \(node) AND s.state = 'owned'
                    RETURNING s.rtms_stream_id
                )
                SELECT (EXTRACT(EPOCH FROM now()) * 1000)::float8, m.id, r.rtms_stream_id IS NOT NULL, s.state, s.generation, s.owner_node
                FROM (SELECT 1) one LEFT JOIN mine m ON true
                LEFT JOIN renewed r ON r.rtms_stream_id = m.id LEFT JOIN rtms.streams s ON s.rtms_stream_id = m.id
                """, logger: logger)
            var out: [RenewalRow] = []
            var dbNow = 0.0
            for try await (t, id, ok, state, gen, owner) in rows.decode((Double, String?, Bool, String?, Int64?, String?).self) {
                dbNow = t
                if let id { out.append(RenewalRow(streamID: id, renewed: ok, state: state, generation: gen, owner: owner)) }
            }
            return (out, dbNow)
        }
    }

    /// The other nodes whose heartbeat is younger than two of their leases and that have not
    /// stopped: the ones that could be taking over streams now.
    func livePeers(node: String, timeoutMs: Int) async throws -> [PeerNode] {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                SELECT node_id, advertise_url FROM rtms.nodes
                WHERE node_id <> \(node) AND stopped_at IS NULL
                  AND heartbeat_at > now() - 2.0 * lease_ms * interval '1 millisecond'
                ORDER BY node_id
                """, logger: logger)
            var out: [PeerNode] = []
            for try await (id, url) in rows.decode((String, String?).self) { out.append(PeerNode(nodeID: id, advertiseURL: url)) }
            return out
        }
    }

    /// The events of held streams after each one's cursor, in sequence order.
    func events(after cursors: [(String, Int64)], timeoutMs: Int) async throws -> [StreamEvent] {
        let (client, logger) = (self.client, self.logger)
        let ids = cursors.map(\.0), seqs = cursors.map(\.1)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                SELECT e.rtms_stream_id, e.stream_seq, e.rtms_kind, COALESCE(e.payload::text, '{}')
                FROM unnest(\(ids)::text[], \(seqs)::int8[]) AS c(id, cur)
                JOIN rtms.webhook_events e ON e.rtms_stream_id = c.id AND e.stream_seq > c.cur
                WHERE e.rtms_kind IS NOT NULL
                ORDER BY e.rtms_stream_id, e.stream_seq
                """, logger: logger)
            var out: [StreamEvent] = []
            for try await (id, seq, kind, text) in rows.decode((String, Int64, String, String).self) {
                out.append(StreamEvent(streamID: id, seq: seq, kind: kind, payload: (try? JSON.parse(text))?.objectValue ?? [:]))
            }
            return out
        }
    }

    /// The stream is over (joined, then ended: Zoom's stop, the meeting's end, or the core gave up).
    func markEnded(node: String, streamID: String, generation: Int64, reason: Int?, note: String, timeoutMs: Int) async throws {
        let (client, logger) = (self.client, self.logger)
        let r = reason.map { Int64($0) }
        try await withDeadline(timeoutMs) {
            try await client.query(
                """
                UPDATE rtms.streams SET state = 'ended', lease_until = NULL, end_reason = COALESCE(end_reason, \(r)),
                    end_note = COALESCE(end_note, \(note)), ended_at = COALESCE(ended_at, now()), updated_at = now()
                WHERE rtms_stream_id = \(streamID) AND generation = \(generation) AND owner_node = \(node)
                """, logger: logger)
        }
    }

    /// The join failed here: back to pending for another node (after a growing pause), or ended
    /// after `maxFailures` failed claims. Returns the new state.
    func releaseForRetry(
        node: String, streamID: String, generation: Int64, note: String, maxFailures: Int,
        busy: Bool = false, maxBusyRefusals: Int = 60, timeoutMs: Int
    ) async throws -> String? {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            try await client.withTransaction(logger: logger) { conn -> String? in
                // A failed join counts towards `maxFailures` and is tried again after 1 s, 2 s, …
                // (at most 30 s). A join refused because the server still holds a signaling
                // connection (`busy`: it will notice the old one gone in time) counts towards
                // `maxBusyRefusals` instead and is tried again in 0.5 s (each join retries inside
                // its timeout: about ten minutes in all). Past either limit the stream is ended.
                let (f, b) = busy ? (0, 1) : (1, 0)
                let rows = try await conn.query(
                    """
                    UPDATE rtms.streams s SET failures = s.failures + \(f), busy_refusals = s.busy_refusals + \(b),
                        state = CASE WHEN g.ends THEN 'ended' ELSE 'pending' END,
                        owner_node = CASE WHEN g.ends THEN s.owner_node ELSE NULL END,
                        lease_until = NULL,
                        retry_at = now() + CASE WHEN \(busy) THEN interval '500 milliseconds'
                                                ELSE LEAST(30, s.failures + 1)::float8 * interval '1 second' END,
                        end_note = CASE WHEN g.ends THEN \(note) ELSE s.end_note END,
                        ended_at = CASE WHEN g.ends THEN now() ELSE s.ended_at END,
                        updated_at = now()
                    FROM (SELECT failures + \(f) >= \(maxFailures) OR busy_refusals + \(b) >= \(maxBusyRefusals) AS ends
                          FROM rtms.streams WHERE rtms_stream_id = \(streamID)) g
                    WHERE s.rtms_stream_id = \(streamID) AND s.generation = \(generation) AND s.owner_node = \(node) AND s.state = 'owned'
                    RETURNING s.state
                    """, logger: logger)
                var state: String? = nil
                for try await s in rows.decode(String.self) { state = s }
                if state == "pending" { try await conn.query("SELECT pg_notify(\(notifyChannel), 'work')", logger: logger) }
                return state
            }
        }
    }

    /// Hands streams back (the node is stopping): pending again, claimable at once by another node.
    func release(node: String, held: [(String, Int64)], timeoutMs: Int) async throws {
        let (client, logger) = (self.client, self.logger)
        let ids = held.map(\.0), gens = held.map(\.1)
        try await withDeadline(timeoutMs) {
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query(
                    """
                    UPDATE rtms.streams s SET state = 'pending', owner_node = NULL, lease_until = NULL, updated_at = now()
                    FROM unnest(\(ids)::text[], \(gens)::int8[]) AS m(id, gen)
                    WHERE s.rtms_stream_id = m.id AND s.generation = m.gen AND s.owner_node = \(node) AND s.state = 'owned'
                    """, logger: logger)
                try await conn.query("SELECT pg_notify(\(notifyChannel), 'work')", logger: logger)
            }
        }
    }
}

// MARK: - Recording: segments and stream items (schema version 2)

extension FleetDatabase {
    /// Writes transcript lines, chat messages and events; a row already written (by this node,
    /// an earlier owner or an overlapping one) is skipped. Returns how many rows were new.
    func writeItems(_ items: [StreamItemRow], streamID: String, generation: Int64, node: String, timeoutMs: Int) async throws -> Int {
        guard !items.isEmpty else { return 0 }
        let (client, logger) = (self.client, self.logger)
        let kinds = items.map(\.kind), ts = items.map(\.ts), users = items.map(\.userID), shas = items.map(\.contentSHA256)
        let names = items.map(\.userName), texts = items.map(\.text), starts = items.map(\.startTS), ends = items.map(\.endTS)
        let langs = items.map(\.language), seqs = items.map(\.sequence), types = items.map(\.eventType), bodies = items.map(\.body)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                WITH ins AS (
                    INSERT INTO rtms.stream_items (rtms_stream_id, kind, ts, user_id, content_sha256, user_name, text, start_ts, end_ts,
                                                   language, sequence, event_type, body, generation, written_by)
                    SELECT \(streamID), k, t, u, h, NULLIF(n, ''), NULLIF(x, ''), NULLIF(st, 0), NULLIF(en, 0),
                           NULLIF(l, -1)::int, NULLIF(q, -1), NULLIF(e, -1)::int, NULLIF(b, '')::jsonb, \(generation), \(node)
                    FROM unnest(\(kinds)::text[], \(ts)::int8[], \(users)::int8[], \(shas)::text[], \(names)::text[], \(texts)::text[],
                                \(starts)::int8[], \(ends)::int8[], \(langs)::int8[], \(seqs)::int8[], \(types)::int8[], \(bodies)::text[])
                         AS r(k, t, u, h, n, x, st, en, l, q, e, b)
                    ON CONFLICT ON CONSTRAINT stream_items_once DO NOTHING
                    RETURNING 1
                )
                SELECT count(*) FROM ins
                """, logger: logger)
            var n: Int64 = 0
            for try await c in rows.decode(Int64.self) { n = c }
            return Int(n)
        }
    }

    /// Creates or updates this owner's segment of a stream.
    func writeSegment(_ s: SegmentRow, timeoutMs: Int) async throws {
        let (client, logger) = (self.client, self.logger)
        try await withDeadline(timeoutMs) {
            try await client.query(
                """
                INSERT INTO rtms.segments AS g (rtms_stream_id, generation, node_id, hostname, directory, first_media_ts, last_media_ts,
                                                media, ended_at, end_note)
                VALUES (\(s.streamID), \(s.generation), \(s.node), \(s.hostname), \(s.directory), NULLIF(\(s.firstMediaTS), -1),
                        NULLIF(\(s.lastMediaTS), -1), \(s.mediaJSON)::jsonb, CASE WHEN \(s.ended) THEN now() END, NULLIF(\(s.endNote), ''))
                ON CONFLICT (rtms_stream_id, generation) DO UPDATE SET
                    first_media_ts = COALESCE(g.first_media_ts, EXCLUDED.first_media_ts),
                    last_media_ts = GREATEST(g.last_media_ts, EXCLUDED.last_media_ts),
                    media = EXCLUDED.media, directory = EXCLUDED.directory,
                    ended_at = COALESCE(g.ended_at, EXCLUDED.ended_at), end_note = COALESCE(g.end_note, EXCLUDED.end_note),
                    updated_at = now()
                """, logger: logger)
        }
    }

    /// The stream as the database knows it: its row, every segment (owner) in order, and how
    /// many transcript lines, chat messages and events were stored; JSON text (nil: no such stream).
    func streamRecord(_ streamID: String, timeoutMs: Int) async throws -> String? {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(timeoutMs) {
            let rows = try await client.query(
                """
                SELECT jsonb_build_object(
                    'rtms_stream_id', s.rtms_stream_id, 'instance_id', s.instance_id, 'state', s.state, 'claims', s.claims,
                    'owner_node', s.owner_node, 'end_reason', s.end_reason, 'end_note', s.end_note,
                    'segments', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                    'segment', g.generation, 'node_id', g.node_id, 'hostname', g.hostname, 'directory', g.directory,
                                    'started_at', g.started_at, 'ended_at', g.ended_at, 'end_note', g.end_note,
                                    'first_media_ts', g.first_media_ts, 'last_media_ts', g.last_media_ts, 'media', g.media)
                                    ORDER BY g.generation), '[]'::jsonb)
                                 FROM rtms.segments g WHERE g.rtms_stream_id = s.rtms_stream_id),
                    'transcript_lines', (SELECT count(*) FROM rtms.stream_items i WHERE i.rtms_stream_id = s.rtms_stream_id AND i.kind = 'transcript'),
                    'chat_messages', (SELECT count(*) FROM rtms.stream_items i WHERE i.rtms_stream_id = s.rtms_stream_id AND i.kind = 'chat'),
                    'events', (SELECT count(*) FROM rtms.stream_items i WHERE i.rtms_stream_id = s.rtms_stream_id AND i.kind = 'event')
                )::text
                FROM rtms.streams s WHERE s.rtms_stream_id = \(streamID)
                """, logger: logger)
            var out: String? = nil
            for try await t in rows.decode(String.self) { out = t }
            return out
        }
    }
}

/// One transcript line, chat message or event, as written to rtms.stream_items (-1, 0 and ""
/// stand for NULL where a column has no value).
struct StreamItemRow: Sendable {
    var kind: String
    var ts: Int64
    var userID: Int64 = 0
    var contentSHA256: String
    var userName = ""
    var text = ""
    var startTS: Int64 = 0
    var endTS: Int64 = 0
    var language: Int64 = -1
    var sequence: Int64 = -1
    var eventType: Int64 = -1
    var body = ""
}

struct SegmentRow: Sendable {
    var streamID: String
    var generation: Int64
    var node: String
    var hostname: String
    var directory: String
    var firstMediaTS: Int64
    var lastMediaTS: Int64
    var mediaJSON: String
    var ended: Bool
    var endNote: String
}

/// Who a node is, for rtms.nodes.
struct NodeInfo: Sendable {
    var nodeID: String
    var maxStreams: Int
    var leaseMs: Int
    var webhookPort: Int?
    var hostname: String
    var pid: Int
    var software: String
    var advertiseURL: String?
}

/// Another node that was alive at the last look: where to ask it about the database.
struct PeerNode: Sendable, Equatable {
    var nodeID: String
    var advertiseURL: String?
}

// MARK: - Deadlines

/// Runs `op`, giving up after `ms` milliseconds with FleetError.timedOut (the operation is then
/// cancelled and left to finish on its own: a query on a dead connection fails when the
/// connection does). A hung database therefore never blocks the caller longer than `ms`.
@discardableResult
func withDeadline<T: Sendable>(_ ms: Int, _ op: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        race.lock.withLock { race.continuation = c }
        let work = Task {
            let r: Result<T, any Error>
            do { r = .success(try await op()) } catch { r = .failure(error) }
            _ = race.finish(r)
        }
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(ms))
            if !Task.isCancelled { _ = race.finish(.failure(FleetError.timedOut)) }
        }
        race.lock.withLock {
            if race.continuation != nil {
                race.work = work
                race.timer = timer
            } else {
                timer.cancel()
            }
        }
    }
}

/// The state of one `withDeadline`: whichever of the work and the timer finishes first resumes.
private final class DeadlineRace<T: Sendable>: @unchecked Sendable {
    let lock = NIOLock()
    var continuation: CheckedContinuation<T, any Error>?
    var work: Task<Void, Never>?
    var timer: Task<Void, Never>?

    func finish(_ r: Result<T, any Error>) -> Bool {
        let (c, w, t) = lock.withLock { () -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?, Task<Void, Never>?) in
            defer { continuation = nil; work = nil; timer = nil }
            return (continuation, work, timer)
        }
        guard let c else { return false }
        c.resume(with: r)
        if case .failure = r { w?.cancel() }
        t?.cancel()
        return true
    }
}
