// rtms_group_*: one wake descriptor and one poll for many handles (RTMSClient's DeliveryGroup).

import CRTMS
import NIOConcurrencyHelpers
import RTMSClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class GroupHandle: @unchecked Sendable {
    let token: OpaquePointer
    let group: DeliveryGroup
    private let lock = NIOLock()
    private var polling = false
    private var members: [ObjectIdentifier: Handle] = [:]
    private var _batch: MediaBatch?
    /// Held while a poll delivers into a batch callback: a release on another thread waits for it.
    private let delivering = NIOLock()

    var batch: MediaBatch? {
        get { lock.withLock { _batch } }
        set { lock.withLock { _batch = newValue } }
    }

    init(token: OpaquePointer, group: DeliveryGroup) {
        self.token = token
        self.group = group
    }

    func add(_ h: Handle) -> Bool {
        guard h.setGroup(self) else { return false }
        lock.withLock { members[ObjectIdentifier(h)] = h }
        group.add(h.client.queue, owner: h)
        return true
    }

    func remove(_ h: Handle) {
        group.remove(h.client.queue)
        lock.withLock { members[ObjectIdentifier(h)] = nil }
    }

    func removeAll() {
        let all = lock.withLock { () -> [Handle] in
            let a = Array(members.values)
            members.removeAll()
            return a
        }
        for h in all {
            h.clearGroup(self)
            group.remove(h.client.queue)
        }
    }

    /// One poll at a time per group (any thread); false when one is running.
    func enter() -> Bool {
        lock.withLock {
            polling
                ? false
                : {
                    polling = true; return true
                }()
        }
    }
    func exit() { lock.withLock { polling = false } }

    /// Runs a poll's delivery; with a batch callback, under the lock a release waits on.
    func deliver<T>(batched: Bool, _ body: () -> T) -> T {
        guard batched else { return body() }
        return delivering.withLock(body)
    }

    /// Returns once no poll of this group is delivering into a batch callback, unless called from
    /// inside a callback (that poll may be waiting for this thread).
    func waitForDelivery() {
        guard !ThreadPolls.insidePoll else { return }
        delivering.withLock {}
    }
}

let groupRegistry = TokenRegistry<GroupHandle>()

private func group(_ p: OpaquePointer?, _ function: StaticString) -> GroupHandle? {
    guard let g = groupRegistry.lookup(p) else {
        setLastError("\(function): \(p == nil ? "the group is NULL" : "not a live group (released?)")")
        return nil
    }
    return g
}

@c @implementation public func rtms_group_create(_ latency_budget_us: Int32) -> OpaquePointer? {
    guard latency_budget_us >= 0, latency_budget_us <= 1_000_000 else {
        setLastError("rtms_group_create: latency_budget_us \(latency_budget_us) is not in 0..1000000")
        return nil
    }
    let g = DeliveryGroup(latencyBudgetMicroseconds: Int(latency_budget_us))
    guard g.wakeFD >= 0 else {
        setLastError("rtms_group_create: no wake descriptor (pipe creation failed)")
        return nil
    }
    guard let raw = malloc(16) else {
        setLastError("rtms_group_create: out of memory")
        return nil
    }
    let token = OpaquePointer(raw)
    groupRegistry.add(token, GroupHandle(token: token, group: g))
    clearLastError()
    return token
}

@c @implementation public func rtms_group_add(_ g: OpaquePointer?, _ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let grp = group(g, "rtms_group_add") else { return -Code.notExist }
    guard let h = handle(sdk, "rtms_group_add") else { return -Code.notExist }
    guard grp.add(h) else { return -fail(Code.invalidStatus, "rtms_group_add: the handle is in a group already (rtms_group_remove it first)") }
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_group_remove(_ g: OpaquePointer?, _ sdk: UnsafeMutablePointer<rtms_csdk>?) -> Int32 {
    guard let grp = group(g, "rtms_group_remove") else { return -Code.notExist }
    guard let h = handle(sdk, "rtms_group_remove") else { return -Code.notExist }
    guard h.clearGroup(grp) else { return -fail(Code.notExist, "rtms_group_remove: the handle is not in this group") }
    grp.remove(h)
    // A batch being delivered on another thread may hold its messages: once this returns, no
    // callback of the group uses the handle (a release that follows owes it no wait).
    grp.waitForDelivery()
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_group_get_wake_fd(_ g: OpaquePointer?) -> Int32 {
    guard let grp = group(g, "rtms_group_get_wake_fd") else { return -Code.notExist }
    return grp.group.wakeFD
}

@c @implementation public func rtms_group_poll(_ g: OpaquePointer?, _ max_events: Int32, _ timeout_ms: Int32) -> Int32 {
    guard let grp = group(g, "rtms_group_poll") else { return -Code.notExist }
    guard grp.enter() else { return -fail(Code.invalidStatus, "rtms_group_poll: another poll of this group is running (one at a time)") }
    defer { grp.exit() }
    if timeout_ms != 0 { _ = grp.group.wait(milliseconds: Int(max(-1, timeout_ms))) }
    if grp.group.isClosed { return -fail(Code.notExist, "rtms_group_poll: the group was released") }
    let limit = max_events <= 0 ? Int.max : Int(max_events)
    let batch = grp.batch
    let total = grp.deliver(batched: batch != nil) { () -> Int in
        var total = 0
        for case let h as Handle in grp.group.takeReady() {
            if total < limit {
                let n = h.poll(maxEvents: limit - total, waitMilliseconds: 0, batch: batch)
                if n > 0 { total += Int(n) }
            }
            // Events left (the limit, or a handle polled from inside its own callback): ready again.
            grp.group.requeue(h.client.queue)
        }
        batch?.flush()
        return total
    }
    clearLastError()
    return Int32(clamping: total)
}

@c @implementation public func rtms_group_set_media_batch(
    _ g: OpaquePointer?, _ callback: (@convention(c) (UnsafePointer<rtms_media_batch>?, UnsafeMutableRawPointer?) -> Void)?,
    _ user_data: UnsafeMutableRawPointer?
) -> Int32 {
    guard let grp = group(g, "rtms_group_set_media_batch") else { return -Code.notExist }
    grp.batch = callback.map { MediaBatch(callback: $0, userData: user_data) }
    grp.waitForDelivery()  // the previous callback, running on another thread, returns first
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_group_release(_ g: OpaquePointer?) -> Int32 {
    guard let g, let grp = groupRegistry.remove(g) else {
        setLastError("rtms_group_release: \(g == nil ? "the group is NULL" : "not a live group (released already?)")")
        return -Code.notExist
    }
    grp.removeAll()
    grp.group.close()  // wakes a poll waiting on another thread: it returns -RTMS_SDK_NOT_EXIST
    grp.waitForDelivery()  // a batch callback running on another thread returns first
    free(UnsafeMutableRawPointer(g))
    clearLastError()
    return Code.ok
}
