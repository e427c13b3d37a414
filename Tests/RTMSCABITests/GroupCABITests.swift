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

    /// Waits for `fd` without holding a thread of the cooperative pool (2 here; the fleet suites
    /// beside these measure time on it): checks every 5 ms.
    private func readableSoon(_ fd: Int32, _ ms: Int) async throws -> Bool {
        let end = Date().addingTimeInterval(Double(ms) / 1000)
        while Date() < end {
            if readable(fd, 0) { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return readable(fd, 0)
    }

    private func delivered(_ sdk: UnsafeMutablePointer<rtms_csdk>) -> UInt64 {
        var st = rtms_stats()
        st.version = UInt32(RTMS_STATS_VERSION)
        _ = rtms_get_stats(sdk, &st)
        return st.delivered
    }

    /// Two streams through one group for `seconds`: (wake-ups of the group's descriptor, events
    /// delivered per handle, whether a member's own descriptor ever became readable).
    private func run(budgetUs: Int32, seconds: Double) async throws -> (wakes: Int, delivered: [UInt64], ownFDReadable: Bool) {
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
            guard readable(fd, 0) else {
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            wakes += 1
            ownReadable = ownReadable || handles.contains { readable(rtms_get_wake_fd($0), 0) }
            #expect(rtms_group_poll(g, 0, 0) >= 0)
        }
        return (wakes, handles.map(delivered), ownReadable)
    }

    @Test func oneDescriptorDeliversForEveryMember() async throws {
        let r = try await run(budgetUs: 0, seconds: 2)
        #expect(r.delivered.allSatisfy { $0 > 50 }, "\(r.delivered)")
        #expect(!r.ownFDReadable, "a member's own descriptor stays quiet")
        #expect(r.wakes > 0)
    }

    @Test func aLatencyBudgetBoundsTheWakeUps() async throws {
        // Two streams of 50 audio messages a second: 50 to 100 wake-ups a second without a budget
        // (fewer when the streams tick together), at most one per 100 ms (10 a second, plus the
        // joins' events) with one.
        let free = try await run(budgetUs: 0, seconds: 2.5)
        let budget = try await run(budgetUs: 100_000, seconds: 2.5)
        #expect(budget.delivered.allSatisfy { $0 > 80 }, "nothing is lost: \(budget.delivered)")
        #expect(budget.wakes <= Int(2.5 * 10) + 10, "\(budget.wakes) wake-ups with a 100 ms budget")
        #expect(free.wakes >= 2 * budget.wakes, "\(free.wakes) without a budget, \(budget.wakes) with one")
    }

    @Test func releaseWakesAPollWaitingOnAnotherThreadAndLeaveWakesAMembersWaiter() throws {
        let g = try #require(rtms_group_create(0))
        let token = Int(bitPattern: UnsafeRawPointer(g))
        let done = DispatchSemaphore(value: 0)
        let poller = Thread {
            let r = rtms_group_poll(OpaquePointer(bitPattern: token), 0, -1)
            #expect(r == -Int32(RTMS_SDK_NOT_EXIST), "a released group's poll says so")
            done.signal()
        }
        usleep(200_000)
        #expect(rtms_group_release(g) == Int32(RTMS_SDK_OK))
        #expect(done.wait(timeout: .now() + 3) == .success, "the waiting poll returned")
        poller.join()
        // A member's own waiter (rtms_wait) returns at rtms_leave, as outside a group.
        let g2 = try #require(rtms_group_create(0))
        defer { _ = rtms_group_release(g2) }
        let sdk = try #require(rtms_alloc())
        defer { _ = rtms_release(sdk) }
        #expect(rtms_group_add(g2, sdk) == Int32(RTMS_SDK_OK))
        let address = Int(bitPattern: UnsafeRawPointer(sdk))
        let left = DispatchSemaphore(value: 0)
        let leaver = Thread {
            usleep(200_000)
            _ = rtms_leave(UnsafeMutablePointer(bitPattern: address))
            left.signal()
        }
        let start = Date()
        #expect(rtms_wait(sdk, 3000) == 0)
        #expect(Date().timeIntervalSince(start) < 2, "woken by the leave, not by the timeout")
        left.wait()
        leaver.join()
    }

    @Test func membersLeaveTheGroupOnReleaseAndTheirOwnDescriptorWorksAgain() async throws {
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
        #expect(try await readableSoon(rtms_group_get_wake_fd(g), 5000))
        #expect(rtms_release(a) == Int32(RTMS_SDK_OK), "a member may be released")
        #expect(rtms_group_poll(g, 0, 100) >= 0, "a poll after a member's release delivers the others")
        #expect(rtms_group_release(g) == Int32(RTMS_SDK_OK))
        #expect(rtms_group_release(g) == -Int32(RTMS_SDK_NOT_EXIST))
        #expect(rtms_group_poll(g, 0, 0) == -Int32(RTMS_SDK_NOT_EXIST))
        // Out of the group: b's own descriptor signals its events again.
        #expect(try await readableSoon(rtms_get_wake_fd(b), 3000))
        #expect(rtms_poll_ex(b, 0, 0) > 0)
        #expect(rtms_group_create(-1) == nil && rtms_group_create(2_000_000) == nil)
    }
}
