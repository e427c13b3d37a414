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
        Migration(version: 1, name: "nodes, webhook events, streams", statements: [
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
    ]

    public static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Creates or migrates the schema; returns the versions this call applied (empty when the
    /// database was already current). Safe to call from many processes at once.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, node: String, logger: Logger) async throws -> [Int] {
        try await connection.withTransaction(logger: logger) { conn -> [Int] in
            try await conn.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
            try await conn.query("CREATE SCHEMA IF NOT EXISTS rtms", logger: logger)
            try await conn.query("""
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
                try await conn.query("INSERT INTO rtms.schema_version (version, name, applied_by) VALUES (\(m.version), \(m.name), \(node))",
                                     logger: logger)
                applied.append(m.version)
            }
            return applied
        }
    }
}
