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

    struct Run: Sendable {
        var wakes = 0
        var delivered: [UInt64] = []
        var ownFDReadable = false
        var seconds = 0.0
        var problems: [String] = []
    }

    /// Two streams through one group until each delivered `events` (or 30 s): wake-ups of the
    /// group's descriptor, events delivered per handle, whether a member's own descriptor ever
    /// became readable, and how long it took. The loop runs on a thread of its own (a queue), not
    /// on the cooperative pool, whose 2 threads the suites beside it share.
    private func run(budgetUs: Int32, events: UInt64) async throws -> Run {
        let (sim, _, _) = try startSim(durationMs: 60_000)
        defer { sim.stop() }
        let meetings = [JSON.string(sim.createMeeting()), JSON.string(sim.createMeeting())]
        return await withCheckedContinuation { (done: CheckedContinuation<Run, Never>) in
            DispatchQueue(label: "group-test").async {
                var r = Run()
                guard let g = rtms_group_create(budgetUs) else {
                    r.problems.append("rtms_group_create: \(lastError())")
                    return done.resume(returning: r)
                }
                var handles: [UnsafeMutablePointer<rtms_csdk>] = []
                for m in meetings {
                    guard let sdk = rtms_alloc() else { continue }
                    handles.append(sdk)
                    var ops = rtms_csdk_ops()
                    _ = rtms_set_callbacks(sdk, &ops)
                    _ = rtms_config(sdk, nil, SDK_AUDIO, 0)
                    setTestCredentials(sdk)
                    if rtms_group_add(g, sdk) != Int32(RTMS_SDK_OK) { r.problems.append("add: \(lastError())") }
                    if rtms_join_payload(sdk, m, 5000) != Int32(RTMS_SDK_OK) { r.problems.append("join: \(lastError())") }
                }
                if rtms_group_add(g, handles[0]) != -Int32(RTMS_SDK_INVALID_STATUS) { r.problems.append("added to a second group") }
                let fd = rtms_group_get_wake_fd(g)
                let start = Date()
                while Date().timeIntervalSince(start) < 30, handles.contains(where: { delivered($0) < events }) {
                    guard readable(fd, 100) else { continue }
                    r.wakes += 1
                    r.ownFDReadable = r.ownFDReadable || handles.contains { readable(rtms_get_wake_fd($0), 0) }
                    if rtms_group_poll(g, 0, 0) < 0 { r.problems.append("poll: \(lastError())") }
                }
                r.seconds = Date().timeIntervalSince(start)
                r.delivered = handles.map(delivered)
                for h in handles { _ = rtms_release(h) }
                if rtms_group_release(g) != Int32(RTMS_SDK_OK) { r.problems.append("release: \(lastError())") }
                done.resume(returning: r)
            }
        }
    }

    @Test func oneDescriptorDeliversForEveryMember() async throws {
        let r = try await run(budgetUs: 0, events: 100)
        #expect(r.problems.isEmpty, "\(r.problems)")
        #expect(r.delivered.allSatisfy { $0 >= 100 }, "\(r.delivered) in \(r.seconds) s")
        #expect(!r.ownFDReadable, "a member's own descriptor stays quiet")
        #expect(r.wakes > 0)
    }

    @Test func aLatencyBudgetBoundsTheWakeUps() async throws {
        // Two streams of 50 audio messages a second. With a 100 ms budget: at most one wake-up per
        // 100 ms of the run (plus the joins' events), however busy the machine; without one, more.
        let free = try await run(budgetUs: 0, events: 150)
        let budget = try await run(budgetUs: 100_000, events: 150)
        #expect(free.problems.isEmpty && budget.problems.isEmpty, "\(free.problems) \(budget.problems)")
        #expect(budget.delivered.allSatisfy { $0 >= 150 }, "nothing is lost: \(budget.delivered)")
        #expect(Double(budget.wakes) <= budget.seconds * 10 + 10, "\(budget.wakes) wake-ups in \(budget.seconds) s with a 100 ms budget")
        #expect(free.wakes > budget.wakes, "\(free.wakes) without a budget, \(budget.wakes) with one")
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
