// A rolling upgrade with two real binaries: nodes of an earlier revision (fleet schema 2, built
// by scripts/previous-rtms.sh, path in RTMS_PREVIOUS_RTMS) serve live meetings; nodes of this
// revision join one by one and migrate the schema to 3 under them; an old node starts on the
// newer schema; the old nodes are drained one by one. The old and the new side by side claim new
// work once each, hand streams to each other, and every stream keeps one owner at a time.

import Testing
@testable import RTMSClient
@testable import RTMSFleet
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

/// The earlier build, when one was given.
let previousRTMS: String? = getenv("RTMS_PREVIOUS_RTMS").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }

extension FleetProcessTests {
    @Test(
        .enabled(
            if: previousRTMS != nil, "RTMS_PREVIOUS_RTMS names no earlier build: RTMS_PREVIOUS_RTMS=$(bash scripts/previous-rtms.sh) (scripts/test.sh sets it)")
    )
    func oldAndNewBinariesServeSideBySideThroughARollingUpgrade() async throws {
        let previous = try #require(previousRTMS)
        try #require(access(previous, X_OK) == 0, "RTMS_PREVIOUS_RTMS=\(previous) is not an executable")
        let url = try await TestPostgres.freshDatabase("upgrade")
        let sim = try makeSimulator()
        defer { sim.stop() }
        func node(_ name: String, old: Bool) throws -> ServeNode {
            let n = try ServeNode(
                name, databaseURL: url, leaseMs: testLeaseMs, renewMs: testRenewMs, marginMs: testMarginMs,
                binary: old ? previous : nil)
            try n.waitReady()
            return n
        }
        func versions() async throws -> [Int64] { try await intColumn(url, "SELECT version FROM rtms.schema_version ORDER BY version") }
        var ids: [String] = []
        func start(_ count: Int, on targets: [ServeNode], seed: UInt64) async throws -> [String] {
            var fresh: [String] = []
            for i in 0..<count {
                let (id, body) = createMeeting(sim, durationMs: 240_000, seed: seed + UInt64(i))
                #expect(await postSigned(targets[i % targets.count].webhookURL, body).status == 200)
                fresh.append(id)
            }
            for id in fresh { #expect(await mediaFlowing(sim, id, since: 0, timeoutMs: 15_000) != nil, "\(id) joined") }
            ids += fresh
            return fresh
        }
        /// SIGTERM: every stream of `n` flows again elsewhere within 1 s; `n` exits cleanly.
        func drain(_ n: ServeNode) async throws -> [Int64] {
            var mine: [String] = []
            for id in ids where try await streamRow(url, id)?.owner == n.name { mine.append(id) }
            let gaps = await msUntilFlowingAgain(sim, mine) { n.signal(SIGTERM) }
            #expect(n.waitExit() == 0, "\(n.name) exits cleanly\n\(n.log)")
            #expect(gaps.allSatisfy { $0 < 1000 }, "\(n.name)'s \(mine.count) streams flowing again \(gaps) ms after SIGTERM")
            for id in mine { #expect(try await streamRow(url, id)?.owner != n.name) }
            return gaps
        }

        // The old fleet: schema 2, six meetings.
        let oldA = try node("A", old: true), oldB = try node("B", old: true)
        #expect(try await versions() == [1, 2])
        _ = try await start(6, on: [oldA, oldB], seed: 10)

        // The first new node migrates the schema under the running old ones, which go on.
        let newA = try node("A2", old: false)
        #expect(try await versions() == [1, 2, 3])
        #expect(try await intColumn(url, "SELECT count(*) FROM rtms.schema_version WHERE version = 3 AND applied_by = 'A2'") == [1])
        try await Task.sleep(for: .milliseconds(testLeaseMs))
        for n in [oldA, oldB] { #expect(n.healthz().0 == 200, "\(n.name) on the migrated schema: \(n.healthz())\n\(n.log)") }
        for id in ids {
            let row = try await streamRow(url, id)
            #expect(row?.generation == 1 && row?.state == "owned", "\(id) kept by its old owner through the migration: \(row.map(\.description) ?? "-")")
        }
        // An old node starts on the newer schema (migrations only add) and serves.
        let oldC = try node("C", old: true)
        #expect(await eventually(timeoutMs: 5000) { oldC.healthz().0 == 200 }, "\(oldC.healthz())\n\(oldC.log)")
        #expect(try await versions() == [1, 2, 3], "an old node never downgrades")

        // Old and new side by side: new work, posted to each, started once each.
        let mixed = try await start(6, on: [oldB, newA, oldC], seed: 40)
        for id in mixed {
            let row = try await streamRow(url, id)
            #expect(row?.claims == 1 && row?.generation == 1, "\(id): \(row.map(\.description) ?? "-")")
        }

        // Node by node: each old one is drained, a new one takes its place.
        let gapsA = try await drain(oldA)
        let newB = try node("B2", old: false)
        let gapsB = try await drain(oldB)
        let newC = try node("C2", old: false)
        let gapsC = try await drain(oldC)

        // Only new nodes hold streams now; every stream had one signaling connection at a time.
        let owners = try await ownership(url)
        #expect(Set(owners.filter { $0.value > 0 }.keys).isSubset(of: ["A2", "B2", "C2"]), "\(owners)")
        var handovers = 0
        for id in ids {
            let sigs = simConnections(sim, id).filter(\.isSignaling)
            handovers += sigs.count - 1
            #expect(!overlapping(sigs), "\(id): one signaling connection at a time: \(sigs)")
            #expect(sigs.last?.closed == nil && simState(sim, id) == "running", "\(id) live: \(sigs)")
        }
        withExtendedLifetime([newA, newB, newC]) {}
        let gaps = (gapsA + gapsB + gapsC).sorted()
        print(
            "rolling upgrade: \(ids.count) meetings on old nodes (schema 2) and new ones (schema 3, migrated under the old); an old node started on schema 3; "
                + "6 more posted to old and new nodes alike, each started once; three old nodes drained one by one: \(handovers) handovers, "
                + "flowing again \(gaps.first ?? -1)–\(gaps.last ?? -1) ms after SIGTERM; one signaling connection at a time throughout")
    }
}
