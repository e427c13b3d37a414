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

    /// What a batch test records, in delivery order, from the batch callback and the handles'
    /// own callbacks (all on the polling thread).
    final class BatchLog: @unchecked Sendable {
        var entries: [(sdk: Int, what: String)] = []
        var problems: [String] = []
        var batches = 0
        var perKindCalls = 0
    }
    nonisolated(unsafe) static var current: BatchLog?

    /// Polls the group until `done` or `seconds` pass, without holding a thread of the cooperative
    /// pool (its two threads here are every suite's): non-blocking polls, 5 ms apart.
    private func pollGroup(_ g: OpaquePointer, seconds: Double, until done: () -> Bool) async throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end, !done() {
            if rtms_group_poll(g, 0, 0) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func aMediaBatchCarriesEveryMembersMediaInOrderWithTheirOtherEvents() async throws {
        let (sim, _, _) = try startSim(durationMs: 60_000)
        defer { sim.stop() }
        let log = BatchLog()
        Self.current = log
        defer { Self.current = nil }
        let g = try #require(rtms_group_create(0))
        let box = Unmanaged.passRetained(log)
        defer { box.release() }
        #expect(rtms_group_set_media_batch(nil, nil, nil) == -Int32(RTMS_SDK_NOT_EXIST))
        let onBatch: rtms_media_batch_cb = { batchPointer, user in
            let log = Unmanaged<BatchLog>.fromOpaque(user!).takeUnretainedValue()
            let b = batchPointer!.pointee
            log.batches += 1
            if b.count < 1 || b.count > 256 { log.problems.append("a batch of \(b.count)") }
            let range = UnsafeRawPointer(b.bytes!)..<UnsafeRawPointer(b.bytes! + b.bytes_len)
            for i in 0..<Int(b.count) {
                let it = b.items[i]
                let data = UnsafeRawPointer(it.data!), name = UnsafeRawPointer(it.user_name!)
                if !(range.contains(data) && range.contains(name) && range.contains(UnsafeRawPointer(it.channel_id!))) {
                    log.problems.append("item \(i) points outside the batch's bytes")
                }
                if data + Int(it.size) > range.upperBound { log.problems.append("item \(i)'s data runs past the bytes") }
                if strlen(it.user_name) != it.user_name_len || strlen(it.channel_id) != it.channel_id_len {
                    log.problems.append("item \(i): string lengths")
                }
                if it.media_type != SDK_AUDIO || it.size <= 0 { log.problems.append("item \(i): type \(it.media_type) size \(it.size)") }
                log.entries.append((Int(bitPattern: it.sdk), "media"))
            }
        }
        #expect(rtms_group_set_media_batch(g, onBatch, box.toOpaque()) == Int32(RTMS_SDK_OK))
        var handles: [UnsafeMutablePointer<rtms_csdk>] = []
        var streams: [String] = []
        for _ in 0..<2 {
            let body = sim.createMeeting()
            streams.append(try #require(body["payload"]?["rtms_stream_id"]?.stringValue))
            let sdk = try #require(rtms_alloc())
            handles.append(sdk)
            var ops = rtms_csdk_ops()
            ops.on_audio_data = { _, _, _, _, _ in GroupCABITests.current?.perKindCalls += 1 }
            ops.on_leave = { sdk, _ in GroupCABITests.current?.entries.append((Int(bitPattern: sdk), "leave")) }
            ops.on_join_confirm = { sdk, _ in GroupCABITests.current?.entries.append((Int(bitPattern: sdk), "join")) }
            _ = rtms_set_callbacks(sdk, &ops)
            _ = rtms_config(sdk, nil, SDK_AUDIO, 0)
            setTestCredentials(sdk)
            #expect(rtms_group_add(g, sdk) == Int32(RTMS_SDK_OK))
            #expect(rtms_join_payload(sdk, JSON.string(body), 5000) == Int32(RTMS_SDK_OK))
        }
        func media(_ sdk: UnsafeMutablePointer<rtms_csdk>) -> Int {
            log.entries.filter { $0.sdk == Int(bitPattern: sdk) && $0.what == "media" }.count
        }
        try await pollGroup(g, seconds: 20) { handles.allSatisfy { media($0) >= 20 } }
        #expect(handles.allSatisfy { media($0) >= 20 }, "both members' media came in batches")
        // Messages pile up unpolled, then the first stream ends: its leave is queued behind them,
        // and the poll that takes both delivers the batch with its messages before the leave.
        try await Task.sleep(for: .milliseconds(300))
        sim.stopStream(streams[0])
        try await Task.sleep(for: .milliseconds(500))  // the stop reaches the client and queues its leave
        let before = log.entries.count
        try await pollGroup(g, seconds: 10) { log.entries.contains { $0.what == "leave" } }
        let a = Int(bitPattern: handles[0])
        let tail = log.entries[before...]
        let leaveAt = try #require(tail.firstIndex { $0.sdk == a && $0.what == "leave" }, "the ended stream's leave")
        #expect(tail[..<leaveAt].contains { $0.sdk == a && $0.what == "media" }, "messages queued before the leave came with it")
        #expect(!tail[leaveAt...].contains { $0.sdk == a && $0.what == "media" }, "none of its media after its leave")
        for sdk in handles {
            let mine = log.entries.filter { $0.sdk == Int(bitPattern: sdk) }
            #expect(mine.first?.what == "join", "the join confirmation comes before its media")
        }
        #expect(log.perKindCalls == 0, "on_audio_data is not called while a batch callback is set")
        #expect(log.problems.isEmpty, "\(log.problems.prefix(5))")
        #expect(log.batches > 0 && log.batches < log.entries.count, "\(log.batches) batches for \(log.entries.count) events")
        // Without the batch callback, the per-kind callbacks deliver again.
        #expect(rtms_group_set_media_batch(g, nil, nil) == Int32(RTMS_SDK_OK))
        let batches = log.batches
        try await pollGroup(g, seconds: 10) { log.perKindCalls > 0 }
        #expect(log.perKindCalls > 0 && log.batches == batches)
        for h in handles { _ = rtms_release(h) }
        #expect(rtms_group_release(g) == Int32(RTMS_SDK_OK))
    }

    /// rtms_release() of a member, or rtms_group_remove() then rtms_release(), on another thread
    /// while a batch callback runs: neither returns before the callback, which may be using the
    /// member's messages (so the application may free what belongs to the member afterwards).
    @Test(arguments: [false, true])
    func releaseOnAnotherThreadWaitsForABatchBeingDelivered(removedFirst: Bool) async throws {
        let (sim, _, body) = try startSim(durationMs: 60_000)
        defer { sim.stop() }
        let g = try #require(rtms_group_create(0))
        let entered = DispatchSemaphore(value: 0)
        let gate = Unmanaged.passRetained(entered)
        defer { gate.release() }
        // The callback announces itself, then holds the batch for 300 ms.
        #expect(
            rtms_group_set_media_batch(
                g,
                { _, user in
                    Unmanaged<DispatchSemaphore>.fromOpaque(user!).takeUnretainedValue().signal()
                    usleep(300_000)
                }, gate.toOpaque()) == Int32(RTMS_SDK_OK))
        let sdk = try #require(rtms_alloc())
        var ops = rtms_csdk_ops()
        _ = rtms_set_callbacks(sdk, &ops)
        _ = rtms_config(sdk, nil, SDK_AUDIO, 0)
        setTestCredentials(sdk)
        #expect(rtms_group_add(g, sdk) == Int32(RTMS_SDK_OK))
        #expect(rtms_join_payload(sdk, body, 5000) == Int32(RTMS_SDK_OK))
        let token = Int(bitPattern: UnsafeRawPointer(g))
        let stop = ManagedAtomicFlag()
        let poller = Thread {
            let g = OpaquePointer(bitPattern: token)
            while !stop.isSet { _ = rtms_group_poll(g, 0, 50) }
        }
        // The waits happen on threads of their own, not on the cooperative pool.
        let address = Int(bitPattern: sdk)
        let (arrived, code, waited) = await withCheckedContinuation { (done: CheckedContinuation<(Bool, Int32, Double), Never>) in
            DispatchQueue(label: "release-during-batch").async {
                guard entered.wait(timeout: .now() + 10) == .success else { return done.resume(returning: (false, 0, 0)) }
                let t0 = Date()
                if removedFirst {
                    let removed = rtms_group_remove(OpaquePointer(bitPattern: token), UnsafeMutablePointer(bitPattern: address))
                    guard removed == Int32(RTMS_SDK_OK) else { return done.resume(returning: (true, removed, 0)) }
                }
                let code = rtms_release(UnsafeMutablePointer(bitPattern: address))
                done.resume(returning: (true, code, Date().timeIntervalSince(t0)))
            }
        }
        #expect(arrived, "a batch arrived")
        #expect(code == Int32(RTMS_SDK_OK))
        #expect(waited >= 0.15, "returned after \(waited) s, while the batch callback was still running")
        stop.set()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue(label: "poller-join").async {
                poller.join()
                done.resume()
            }
        }
        #expect(rtms_group_release(g) == Int32(RTMS_SDK_OK))
    }
}

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
