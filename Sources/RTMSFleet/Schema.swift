// The fleet's tables, in the PostgreSQL schema `rtms`, created and migrated on start.
//
// Migrations are an ordered list; each runs once, recorded in rtms.schema_version. All of them run
// in one transaction that first takes a transaction-level advisory lock, so nodes starting at the
// same moment migrate one after another: the first applies what is missing, the others find it
// applied. Migrations only add (tables, columns, indexes), so a node of the previous version keeps
// working on a schema one version ahead during a rolling upgrade; a node never downgrades a schema.
// See docs/fleet.md for what each table and column means.

import Logging
import PostgresNIO

public enum FleetSchema {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let statements: [String]
    }

    /// Key of the advisory lock held while migrating ("RTMSFLT1").
    static let migrationLockKey: Int64 = 0x5254_4D53_464C_5431

    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "nodes, webhook events, streams",
            statements: [
                """
                CREATE TABLE rtms.nodes (
                    node_id       text PRIMARY KEY,
                    started_at    timestamptz NOT NULL DEFAULT now(),
                    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
                    stopped_at    timestamptz,
                    max_streams   integer NOT NULL,
                    held_streams  integer NOT NULL DEFAULT 0,
                    draining      boolean NOT NULL DEFAULT false,
                    lease_ms      integer NOT NULL,
                    webhook_port  integer,
                    hostname      text,
                    pid           integer,
                    software      text
                )
                """,
                """
                CREATE TABLE rtms.webhook_events (
                    id              bigserial PRIMARY KEY,
                    delivery_sha256 text NOT NULL,
                    event           text NOT NULL,
                    rtms_kind       text CHECK (rtms_kind IN ('started', 'stopped', 'interrupted')),
                    rtms_stream_id  text,
                    stream_seq      bigint,
                    event_ts        bigint,
                    payload         jsonb,
                    body            bytea NOT NULL,
                    received_by     text NOT NULL,
                    received_at     timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT webhook_events_delivery_key UNIQUE (delivery_sha256)
                )
                """,
                "CREATE INDEX webhook_events_stream ON rtms.webhook_events (rtms_stream_id, stream_seq) WHERE rtms_stream_id IS NOT NULL",
                """
                CREATE TABLE rtms.streams (
                    rtms_stream_id text PRIMARY KEY,
                    instance_id    text,
                    started_event  text,
                    state          text NOT NULL CHECK (state IN ('pending', 'owned', 'ended')),
                    start_payload  jsonb,
                    started_ts     bigint,
                    event_seq      bigint NOT NULL DEFAULT 0,
                    owner_node     text,
                    lease_until    timestamptz,
                    generation     bigint NOT NULL DEFAULT 0,
                    claims         integer NOT NULL DEFAULT 0,
                    failures       integer NOT NULL DEFAULT 0,
                    retry_at       timestamptz,
                    claimed_at     timestamptz,
                    end_reason     integer,
                    end_note       text,
                    created_at     timestamptz NOT NULL DEFAULT now(),
                    updated_at     timestamptz NOT NULL DEFAULT now(),
                    ended_at       timestamptz,
                    CONSTRAINT streams_owned_has_lease CHECK (state <> 'owned' OR (owner_node IS NOT NULL AND lease_until IS NOT NULL))
                )
                """,
                "CREATE INDEX streams_live ON rtms.streams (state, lease_until) WHERE state <> 'ended'",
                "CREATE INDEX streams_owner ON rtms.streams (owner_node) WHERE state = 'owned'",
            ]),
        Migration(
            version: 2, name: "segments, stream items (transcript, chat, events)",
            statements: [
                // One row per claim that recorded: the owner's part of the stream (its folder, the
                // first and last media timestamps it received, on the server's clock, and its counts).
                """
                CREATE TABLE rtms.segments (
                    rtms_stream_id text NOT NULL,
                    generation     bigint NOT NULL,
                    node_id        text NOT NULL,
                    hostname       text,
                    directory      text,
                    started_at     timestamptz NOT NULL DEFAULT now(),
                    updated_at     timestamptz NOT NULL DEFAULT now(),
                    ended_at       timestamptz,
                    end_note       text,
                    first_media_ts bigint,
                    last_media_ts  bigint,
                    media          jsonb NOT NULL DEFAULT '{}',
                    PRIMARY KEY (rtms_stream_id, generation)
                )
                """,
                // Transcript lines, chat messages and meeting events, whichever owner received them.
                // The unique key is what the server sent (stream, kind, its timestamp, the user, a
                // SHA-256 of the content), so a row is written once however many owners, retries or
                // overlapping connections delivered it: INSERT … ON CONFLICT DO NOTHING.
                """
                CREATE TABLE rtms.stream_items (
                    id             bigserial PRIMARY KEY,
                    rtms_stream_id text NOT NULL,
                    kind           text NOT NULL CHECK (kind IN ('transcript', 'chat', 'event')),
                    ts             bigint NOT NULL,
                    user_id        bigint NOT NULL DEFAULT 0,
                    content_sha256 text NOT NULL,
                    user_name      text,
                    text           text,
                    start_ts       bigint,
                    end_ts         bigint,
                    language       integer,
                    sequence       bigint,
                    event_type     integer,
                    body           jsonb,
                    generation     bigint,
                    written_by     text,
                    written_at     timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT stream_items_once UNIQUE (rtms_stream_id, kind, ts, user_id, content_sha256)
                )
                """,
                """
                CREATE VIEW rtms.transcript AS
                SELECT rtms_stream_id, to_timestamp(COALESCE(NULLIF(start_ts, 0), ts) / 1000.0) AS at, start_ts, end_ts,
                       user_id, user_name, text, language, sequence, written_by, generation
                FROM rtms.stream_items WHERE kind = 'transcript'
                """,
                """
                CREATE VIEW rtms.chat AS
                SELECT rtms_stream_id, to_timestamp(ts / 1000.0) AS at, ts, user_id, user_name, text, sequence, written_by, generation
                FROM rtms.stream_items WHERE kind = 'chat'
                """,
                """
                CREATE VIEW rtms.meeting_events AS
                SELECT rtms_stream_id, to_timestamp(ts / 1000.0) AS at, ts, event_type, user_id, body, written_by, generation
                FROM rtms.stream_items WHERE kind = 'event'
                """,
                // Owners in order, and the gap before each (no media on the server's clock between the
                // previous owner's last message and this one's first).
                """
                CREATE VIEW rtms.segment_gaps AS
                SELECT rtms_stream_id, generation, node_id, hostname, directory, started_at, ended_at, end_note,
                       first_media_ts, last_media_ts, media,
                       lag(node_id) OVER w AS previous_node,
                       first_media_ts - lag(last_media_ts) OVER w AS gap_before_ms
                FROM rtms.segments WHERE first_media_ts IS NOT NULL
                WINDOW w AS (PARTITION BY rtms_stream_id ORDER BY generation)
                """,
            ]),
        Migration(
            version: 3, name: "peer addresses and the takeover gate",
            statements: [
                // Where the other nodes reach this one (GET /healthz) to learn whether the database is
                // down for them too (see FleetNode's outage rule), and since when this node has renewed
                // without a gap: a node takes over expired leases only after a lease of contact.
                "ALTER TABLE rtms.nodes ADD COLUMN advertise_url text",
                "ALTER TABLE rtms.nodes ADD COLUMN contact_since timestamptz NOT NULL DEFAULT now()",
                // Joins refused because the server still holds a signaling connection for the stream
                // (status 8: an owner it has not noticed gone): retried soon, not counted as failures.
                "ALTER TABLE rtms.streams ADD COLUMN busy_refusals integer NOT NULL DEFAULT 0",
            ]),
    ]

    public static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Creates or migrates the schema; returns the versions this call applied (empty when the
    /// database was already current). Safe to call from many processes at once.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, node: String, logger: Logger) async throws -> [Int] {
        try await connection.withTransaction(logger: logger) { conn -> [Int] in
            try await conn.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
            try await conn.query("CREATE SCHEMA IF NOT EXISTS rtms", logger: logger)
            try await conn.query(
                """
                CREATE TABLE IF NOT EXISTS rtms.schema_version (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    applied_by text
                )
                """, logger: logger)
            var have = Set<Int>()
            for try await v in try await conn.query("SELECT version FROM rtms.schema_version", logger: logger).decode(Int.self) {
                have.insert(v)
            }
            if let newest = have.max(), newest > latestVersion {
                logger.info("the database schema is at version \(newest), newer than this node's \(latestVersion): running on it (migrations only add)")
            }
            var applied: [Int] = []
            for m in migrations where !have.contains(m.version) {
                for sql in m.statements {
                    try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
                try await conn.query(
                    "INSERT INTO rtms.schema_version (version, name, applied_by) VALUES (\(m.version), \(m.name), \(node))",
                    logger: logger)
                applied.append(m.version)
            }
            return applied
        }
    }
}
