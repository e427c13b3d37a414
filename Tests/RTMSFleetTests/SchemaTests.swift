// The fleet's database layer against a real PostgreSQL: migrations (twice, and many nodes at
// once), the durable intake's dedupe under concurrency, the claim's exclusivity; and URL parsing.

import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Testing
@testable import RTMSClient
@testable import RTMSFleet
@testable import RTMSProtocol
@testable import RTMSWebhook

@Suite struct DatabaseURLTests {
    @Test func urlsAreReadLikeLibpq() throws {
        let a = try DatabaseURL("postgres://rtms:p%40ss@db.example:6432/fleet?sslmode=require&application_name=n1")
        #expect(a.host == "db.example" && a.port == 6432 && a.user == "rtms" && a.password == "p@ss" && a.database == "fleet")
        #expect(a.sslMode == .require && a.applicationName == "n1" && a.socketPath == nil)
        #expect(a.description == "postgres://rtms@db.example:6432/fleet", "no password in logs")
        let b = try DatabaseURL("postgresql://me@/mydb?host=/var/run/postgresql")
        #expect(b.socketPath == "/var/run/postgresql/.s.PGSQL.5432" && b.host == nil && b.database == "mydb")
        let c = try DatabaseURL("postgres://me@[::1]/")
        #expect(c.host == "::1" && c.port == 5432 && c.database == "me", "the database defaults to the user's name")
        #expect(try DatabaseURL("postgres://u@h:1/d?sslmode=disable").sslMode == .disable)
        #expect(throws: FleetError.self) { try DatabaseURL("mysql://u@h/d") }
        #expect(throws: FleetError.self) { try DatabaseURL("postgres://h/d") }
        #expect(throws: FleetError.self) { try DatabaseURL("postgres://u@h:99999/d") }
        #expect(throws: FleetError.self) { try DatabaseURL("postgres://u@h/d?sslmode=sometimes") }
    }

    @Test func leaseParametersAreChecked() throws {
        var c = FleetConfig(databaseURL: try DatabaseURL("postgres://u@h/d"), nodeID: "n")
        try c.validate()
        c.renewMs = 4000  // more than a third of 10 s
        #expect(throws: FleetError.self) { try c.validate() }
        c.renewMs = 3000
        c.marginMs = 7000  // renewal + margin must stay below the lease
        #expect(throws: FleetError.self) { try c.validate() }
    }
}

@Suite(.serialized, .enabled(if: TestPostgres.available, TestPostgres.skipped))
struct FleetSchemaTests {
    @Test func migratingTwiceAndConcurrentlyIsIdempotent() async throws {
        let url = try await TestPostgres.freshDatabase("schema")
        // Twice in a row: the second run finds everything applied.
        let first = try await withConnection(url) { try await FleetSchema.migrate($0, node: "t1", logger: testLogger) }
        let second = try await withConnection(url) { try await FleetSchema.migrate($0, node: "t1", logger: testLogger) }
        #expect(first == FleetSchema.migrations.map(\.version))
        #expect(second.isEmpty)

        // Eight nodes starting at the same moment on an empty database: one applies, none fails.
        let url2 = try await TestPostgres.freshDatabase("schema_concurrent")
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for i in 0..<8 {
                group.addTask {
                    try await withConnection(url2) { try await FleetSchema.migrate($0, node: "n\(i)", logger: testLogger) }
                }
            }
            var all: [[Int]] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { !$0.isEmpty }.count == 1, "exactly one node applied the migrations: \(results)")
        #expect(results.filter(\.isEmpty).count == 7)
        #expect(try await countRows(url2, "SELECT count(*) FROM rtms.schema_version") == Int64(FleetSchema.migrations.count).asInt)
        #expect(
            try await countRows(url2, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'rtms' AND table_type = 'BASE TABLE'") == 6,
            "schema_version, nodes, webhook_events, streams (1), segments, stream_items (2)")
        #expect(
            try await countRows(url2, "SELECT count(*) FROM information_schema.views WHERE table_schema = 'rtms'") == 4,
            "transcript, chat, meeting_events, segment_gaps (2)")
        // And once more after all that.
        #expect(try await withConnection(url2) { try await FleetSchema.migrate($0, node: "late", logger: testLogger) }.isEmpty)
        print("schema: version \(FleetSchema.latestVersion) applied once by 1 of 8 concurrent nodes; 7 found it applied")
    }

    @Test func theSameDeliveryStoredConcurrentlyIsStoredOnce() async throws {
        let url = try await TestPostgres.freshDatabase("dedupe")
        let db = FleetDatabase(url: try DatabaseURL(url), logger: testLogger)
        db.start()
        defer { db.stop() }
        _ = try await db.migrate(node: "t", timeoutMs: 10_000)
        let body =
            #"{"event":"meeting.rtms_started","event_ts":1700000000000,"payload":{"meeting_uuid":"m1==","rtms_stream_id":"s-dedupe","server_urls":"ws://127.0.0.1:1/signaling"}}"#
        let object = try JSON.parse(body).objectValue!
        let d = WebhookDelivery(event: "meeting.rtms_started", body: Array(body.utf8), object: object, rtmsKind: "started", streamID: "s-dedupe")
        let outcomes = try await withThrowingTaskGroup(of: StoreOutcome.self) { group in
            for i in 0..<8 {
                group.addTask { try await db.store(d, node: "n\(i % 2)", timeoutMs: 10_000) }
            }
            var all: [StoreOutcome] = []
            for try await o in group { all.append(o) }
            return all
        }
        #expect(outcomes.filter { $0 != .duplicate }.count == 1, "\(outcomes)")
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.webhook_events") == 1)
        let row = try #require(try await streamRow(url, "s-dedupe"))
        #expect(row.state == "pending" && row.generation == 0)
        // A new announcement of the stream (another event_ts: a failover) is news, stored in sequence.
        let moved = body.replacingOccurrences("1700000000000", "1700000000500").replacingOccurrences(":1/", ":2/")
        let d2 = WebhookDelivery(
            event: "meeting.rtms_started", body: Array(moved.utf8), object: try JSON.parse(moved).objectValue!,
            rtmsKind: "started", streamID: "s-dedupe")
        let second = try await db.store(d2, node: "n0", timeoutMs: 10_000)
        #expect(second != .duplicate)
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.webhook_events WHERE stream_seq = 2") == 1)
        #expect(
            try await countRows(url, "SELECT count(*) FROM rtms.streams WHERE start_payload->>'server_urls' LIKE '%:2/%'") == 1,
            "the start payload follows the newest announcement")
    }

    @Test func concurrentClaimsNeverShareAStream() async throws {
        let url = try await TestPostgres.freshDatabase("claims")
        let db = FleetDatabase(url: try DatabaseURL(url), logger: testLogger)
        db.start()
        defer { db.stop() }
        _ = try await db.migrate(node: "t", timeoutMs: 10_000)
        for i in 0..<20 {
            let body =
                #"{"event":"meeting.rtms_started","event_ts":1,"payload":{"meeting_uuid":"m\#(i)","rtms_stream_id":"s\#(i)","server_urls":"ws://127.0.0.1:1/signaling"}}"#
            let d = WebhookDelivery(
                event: "meeting.rtms_started", body: Array(body.utf8), object: try JSON.parse(body).objectValue!,
                rtmsKind: "started", streamID: "s\(i)")
            _ = try await db.store(d, node: "t", timeoutMs: 10_000)
        }
        // Four nodes claim one at a time, as fast as they can, until nothing is left.
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for n in 0..<4 {
                group.addTask {
                    var mine: [String] = []
                    while true {
                        let c = try await db.claim(node: "n\(n)", limit: 1, leaseMs: 10_000, gapMs: 6000, takeoverUntilDbMs: nil, timeoutMs: 10_000)
                        if c.isEmpty { break }
                        mine += c.map(\.streamID)
                    }
                    return mine
                }
            }
            var all: [[String]] = []
            for try await r in group { all.append(r) }
            return all
        }
        let flat = claimed.flatMap { $0 }
        #expect(flat.count == 20 && Set(flat).count == 20, "every stream claimed exactly once: \(claimed)")
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.streams WHERE state = 'owned' AND generation = 1") == 20)
        print("claims: 20 streams over 4 concurrent claimers: \(claimed.map(\.count)) (none twice)")
    }

    @Test func aFailedJoinAndABusyRefusalCountSeparatelyAndEachEndsTheStreamAtItsLimit() async throws {
        let url = try await TestPostgres.freshDatabase("retry")
        let db = FleetDatabase(url: try DatabaseURL(url), logger: testLogger)
        db.start()
        defer { db.stop() }
        _ = try await db.migrate(node: "t", timeoutMs: 10_000)
        func store(_ id: String) async throws {
            let body =
                #"{"event":"meeting.rtms_started","event_ts":1,"payload":{"meeting_uuid":"m\#(id)","rtms_stream_id":"\#(id)","server_urls":"ws://127.0.0.1:1/signaling"}}"#
            let d = WebhookDelivery(
                event: "meeting.rtms_started", body: Array(body.utf8), object: try JSON.parse(body).objectValue!,
                rtmsKind: "started", streamID: id)
            _ = try await db.store(d, node: "t", timeoutMs: 10_000)
        }
        func claimAndRelease(_ id: String, busy: Bool) async throws -> String? {
            try await withConnection(url) {
                try await $0.query(PostgresQuery(unsafeSQL: "UPDATE rtms.streams SET retry_at = NULL WHERE rtms_stream_id = '\(id)'"), logger: testLogger)
            }
            let c = try #require(
                try await db.claim(node: "n", limit: 1, leaseMs: 10_000, gapMs: 6000, takeoverUntilDbMs: nil, timeoutMs: 10_000)
                    .first { $0.streamID == id })
            return try await db.releaseForRetry(
                node: "n", streamID: id, generation: c.generation, note: "refused", maxFailures: 2,
                busy: busy, maxBusyRefusals: 3, timeoutMs: 10_000)
        }
        func counts(_ id: String) async throws -> [Int64] {
            try await intColumn(url, "SELECT failures FROM rtms.streams WHERE rtms_stream_id = '\(id)'")
                + intColumn(url, "SELECT busy_refusals FROM rtms.streams WHERE rtms_stream_id = '\(id)'")
        }
        // Failed joins: pending again after the first (retried in 1 s), ended at the second.
        try await store("f")
        #expect(try await claimAndRelease("f", busy: false) == "pending")
        #expect(
            try await intColumn(url, "SELECT (EXTRACT(EPOCH FROM (retry_at - now())) * 1000)::int8 FROM rtms.streams WHERE rtms_stream_id = 'f'").first.map {
                $0 > 500 && $0 <= 1000
            } == true)
        #expect(try await claimAndRelease("f", busy: false) == "ended")
        #expect(try await counts("f") == [2, 0])
        // Busy refusals: not failures; retried in 0.5 s; ended at the third.
        try await store("b")
        #expect(try await claimAndRelease("b", busy: true) == "pending")
        #expect(
            try await intColumn(url, "SELECT (EXTRACT(EPOCH FROM (retry_at - now())) * 1000)::int8 FROM rtms.streams WHERE rtms_stream_id = 'b'").first.map {
                $0 > 0 && $0 <= 500
            } == true)
        #expect(try await claimAndRelease("b", busy: true) == "pending")
        #expect(try await claimAndRelease("b", busy: true) == "ended")
        #expect(try await counts("b") == [0, 3])
    }
}

@Suite(.serialized, .enabled(if: TestPostgres.available, TestPostgres.skipped))
struct FleetRecordingTableTests {
    @Test func aVersion1DatabaseIsMigratedToTheLatestVersionWithItsDataKept() async throws {
        let url = try await TestPostgres.freshDatabase("upgrade")
        // A database as a version-1 node left it: migration 1 only, and a stream.
        try await withConnection(url) { conn in
            try await conn.query("CREATE SCHEMA rtms", logger: testLogger)
            try await conn.query(
                "CREATE TABLE rtms.schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text)",
                logger: testLogger)
            for sql in FleetSchema.migrations[0].statements { try await conn.query(PostgresQuery(unsafeSQL: sql), logger: testLogger) }
            try await conn.query("INSERT INTO rtms.schema_version (version, name) VALUES (1, 'v1')", logger: testLogger)
            try await conn.query("INSERT INTO rtms.streams (rtms_stream_id, state) VALUES ('old', 'ended')", logger: testLogger)
        }
        let applied = try await withConnection(url) { try await FleetSchema.migrate($0, node: "v2", logger: testLogger) }
        #expect(applied == Array(2...FleetSchema.latestVersion))
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.streams WHERE rtms_stream_id = 'old'") == 1)
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.stream_items") == 0)
    }

    @Test func streamItemsAreWrittenOnceWhoeverWritesThem() async throws {
        let url = try await TestPostgres.freshDatabase("items")
        let db = FleetDatabase(url: try DatabaseURL(url), logger: testLogger)
        db.start()
        defer { db.stop() }
        _ = try await db.migrate(node: "t", timeoutMs: 10_000)
        let seg = FleetSegment(streamID: "s1", generation: 1, directory: "/x/s1/001-A", streamDirectory: "/x/s1", urgent: {})
        let line = MediaData(
            kind: .transcript, userID: 7, userName: "Ann", data: Array("Hello there.".utf8), timestamp: 1_000,
            startTime: 1_000, endTime: 2_000, language: 9, sequence: 1)
        let chat = MediaData(kind: .chat, userID: 8, userName: "Bob", data: Array("hi".utf8), timestamp: 1_500, sequence: 1)
        let event = #"{"event_type":3,"participants":[{"user_id":7,"user_name":"Ann"}],"timestamp":900}"#
        seg.add(.media(line))
        seg.add(.media(line))  // the same line delivered twice (a reconnect)
        seg.add(.media(chat))
        seg.add(.control(.eventEx(json: event)))
        seg.add(.media(MediaData(kind: .audio, userID: 7, data: [0, 0], timestamp: 1_100)))
        seg.add(.media(MediaData(kind: .audio, userID: 7, data: [0, 0], timestamp: 3_100)))
        let first = try await seg.flush(db, node: "A", hostname: "h", timeoutMs: 10_000)
        #expect(first.done && first.written == 3, "\(first)")
        // A second owner (overlapping, or after a takeover) receives the same line, and one more.
        let seg2 = FleetSegment(streamID: "s1", generation: 2, directory: "/x/s1/002-B", streamDirectory: "/x/s1", urgent: {})
        seg2.add(.media(line))
        seg2.add(.control(.eventEx(json: event)))
        seg2.add(
            .media(
                MediaData(
                    kind: .transcript, userID: 7, userName: "Ann", data: Array("Bye.".utf8), timestamp: 5_000,
                    startTime: 5_000, endTime: 6_000, sequence: 2)))
        seg2.add(.media(MediaData(kind: .audio, userID: 7, data: [0, 0], timestamp: 4_600)))
        seg2.end(note: "ended")
        let second = try await seg2.flush(db, node: "B", hostname: "h", timeoutMs: 10_000)
        #expect(second.written == 1, "only the new line: \(second)")
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.transcript WHERE rtms_stream_id = 's1'") == 2)
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.chat") == 1)
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.meeting_events WHERE event_type = 3 AND user_id = 7") == 1)
        #expect(
            try await countRows(url, "SELECT gap_before_ms FROM rtms.segment_gaps WHERE generation = 2") == 1_500,
            "the gap between A's last audio (3100) and B's first (4600)")
        #expect(try await countRows(url, "SELECT count(*) FROM rtms.segments WHERE ended_at IS NOT NULL") == 1)
    }
}

extension Int64 {
    var asInt: Int { Int(self) }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String { replacing(a, with: b) }
}
