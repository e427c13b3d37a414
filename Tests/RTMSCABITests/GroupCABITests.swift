// rtms_group_*: one descriptor and one poll for many handles, and the latency budget's bound on
// wake-ups, against the simulator.

import CRTMS
import Foundation
import RTMSCABI
import RTMSProtocol
import RTMSSimulator
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct GroupCABITests {
    private func readable(_ fd: Int32, _ ms: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, ms) > 0
    }

    private func delivered(_ sdk: UnsafeMutablePointer<rtms_csdk>) -> UInt64 {
        var st = rtms_stats()
        st.version = UInt32(RTMS_STATS_VERSION)
        _ = rtms_get_stats(sdk, &st)
        return st.delivered
    }

    /// Two streams through one group for `seconds`: (wake-ups of the group's descriptor, events
    /// delivered per handle, whether a member's own descriptor ever became readable).
    private func run(budgetUs: Int32, seconds: Double) throws -> (wakes: Int, delivered: [UInt64], ownFDReadable: Bool) {
        let (sim, _, _) = try startSim(durationMs: Int(seconds * 1000) + 2000)
        defer { sim.stop() }
        let g = try #require(rtms_group_create(budgetUs))
        defer { #expect(rtms_group_release(g) == Int32(RTMS_SDK_OK)) }
        var handles: [UnsafeMutablePointer<rtms_csdk>] = []
        defer { for h in handles { _ = rtms_release(h) } }
        for _ in 0..<2 {
            let sdk = try #require(rtms_alloc())
            handles.append(sdk)
            var ops = rtms_csdk_ops()
            #expect(rtms_set_callbacks(sdk, &ops) == Int32(RTMS_SDK_OK))
            #expect(rtms_config(sdk, nil, SDK_AUDIO, 0) == Int32(RTMS_SDK_OK))
            setTestCredentials(sdk)
            #expect(rtms_group_add(g, sdk) == Int32(RTMS_SDK_OK))
            #expect(rtms_join_payload(sdk, JSON.string(sim.createMeeting()), 5000) == Int32(RTMS_SDK_OK))
        }
        #expect(rtms_group_add(g, handles[0]) == -Int32(RTMS_SDK_INVALID_STATUS), "one group at a time")
        let fd = rtms_group_get_wake_fd(g)
        #expect(fd >= 0)
        var wakes = 0, ownReadable = false
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            guard readable(fd, 50) else { continue }
            wakes += 1
            ownReadable = ownReadable || handles.contains { readable(rtms_get_wake_fd($0), 0) }
            #expect(rtms_group_poll(g, 0, 0) >= 0)
        }
        return (wakes, handles.map(delivered), ownReadable)
    }

    @Test func oneDescriptorDeliversForEveryMember() throws {
        let r = try run(budgetUs: 0, seconds: 2)
        #expect(r.delivered.allSatisfy { $0 > 50 }, "\(r.delivered)")
        #expect(!r.ownFDReadable, "a member's own descriptor stays quiet")
        #expect(r.wakes > 0)
    }

    @Test func aLatencyBudgetBoundsTheWakeUps() throws {
        // Two streams of 50 audio messages a second: about 100 wake-ups a second without a budget,
        // at most one per 40 ms (25 a second, plus the joins' events) with one.
        let free = try run(budgetUs: 0, seconds: 2.5)
        let budget = try run(budgetUs: 40_000, seconds: 2.5)
        #expect(budget.delivered.allSatisfy { $0 > 80 }, "nothing is lost: \(budget.delivered)")
        #expect(budget.wakes <= Int(2.5 * 25) + 10, "\(budget.wakes) wake-ups with a 40 ms budget")
        #expect(free.wakes >= 2 * budget.wakes, "\(free.wakes) without a budget, \(budget.wakes) with one")
    }

    @Test func membersLeaveTheGroupOnReleaseAndTheirOwnDescriptorWorksAgain() throws {
        let (sim, _, _) = try startSim(durationMs: 4000)
        defer { sim.stop() }
        let g = try #require(rtms_group_create(0))
        let a = try #require(rtms_alloc()), b = try #require(rtms_alloc())
        defer { _ = rtms_release(b) }
        for sdk in [a, b] {
            var ops = rtms_csdk_ops()
            _ = rtms_set_callbacks(sdk, &ops)
            _ = rtms_config(sdk, nil, SDK_AUDIO, 0)
            setTestCredentials(sdk)
            #expect(rtms_group_add(g, sdk) == Int32(RTMS_SDK_OK))
            #expect(rtms_join_payload(sdk, JSON.string(sim.createMeeting()), 5000) == Int32(RTMS_SDK_OK))
        }
        #expect(readable(rtms_group_get_wake_fd(g), 5000))
        #expect(rtms_release(a) == Int32(RTMS_SDK_OK), "a member may be released")
        #expect(rtms_group_remove(g, a) == -Int32(RTMS_SDK_NOT_EXIST))
        _ = rtms_group_poll(g, 0, 100)
        #expect(rtms_group_release(g) == Int32(RTMS_SDK_OK))
        #expect(rtms_group_release(g) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_group_poll(g, 0, 0) == -Int32(RTMS_SDK_NOT_EXIST))
        // Out of the group: b's own descriptor signals its events again.
        #expect(readable(rtms_get_wake_fd(b), 3000))
        #expect(rtms_poll_ex(b, 0, 0) > 0)
        #expect(rtms_group_create(-1) == nil && rtms_group_create(2_000_000) == nil)
    }
}
