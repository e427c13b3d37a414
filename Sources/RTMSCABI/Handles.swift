// Handle bookkeeping for the C ABI: the registry of live handles, per-handle callback tables and
// options, callback dispatch inside rtms_poll, thread-local error text.

import CRTMS
import NIOConcurrencyHelpers
import RTMSClient
import RTMSProtocol
import RTMSSession
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias SDKPointer = UnsafeMutablePointer<rtms_csdk>

/// RTMS_SDK_* return codes.
enum Code {
    static let failure: Int32 = -1
    static let ok: Int32 = 0
    static let timeout: Int32 = 1
    static let notExist: Int32 = 2
    static let wrongType: Int32 = 3
    static let invalidStatus: Int32 = 4
    static let invalidArgs: Int32 = 5
    static let noCredentials: Int32 = 16
}

// MARK: - Thread-local error text

let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { p in free(p) }
    return key
}()

func setLastError(_ text: String) {
    if let old = pthread_getspecific(errorKey) { free(old) }
    pthread_setspecific(errorKey, strdup(text))
}

func clearLastError() {
    if let old = pthread_getspecific(errorKey) {
        free(old)
        pthread_setspecific(errorKey, nil)
    }
}

/// Records the error text for this thread and returns the code.
@inline(__always)
func fail(_ code: Int32, _ text: String) -> Int32 {
    setLastError(text)
    return code
}

func fail(_ e: ClientError) -> Int32 { fail(Int32(e.code), e.message) }

func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Strings handed out by pointer for the life of the process (reason names).
final class InternedStrings: @unchecked Sendable {
    static let shared = InternedStrings()
    private let lock = NIOLock()
    private var table: [String: UnsafePointer<CChar>] = [:]
    func get(_ s: String) -> UnsafePointer<CChar> {
        lock.withLock {
            if let p = table[s] { return p }
            let p = UnsafePointer(strdup(s)!)
            table[s] = p
            return p
        }
    }
}

// MARK: - Process-wide defaults (rtms_init)

struct GlobalDefaults {
    var caPath: String? = nil
    var verify = true
    var agent: String? = nil
}

let globalsLock = NIOLock()
nonisolated(unsafe) var globals = GlobalDefaults()

// MARK: - Handles

/// Options of a handle that the C layer owns (the rest live in RTMSClient.config).
struct HandleOptions {
    var pollWaitMilliseconds = 10
    var caPath: String?? = .none  // .none = use rtms_init's
    var verify: Bool? = nil
    var clientAgent: String? = nil
}

struct ExtOps {
    var onChat: (@convention(c) (SDKPointer?, UnsafeMutablePointer<UInt8>?, Int32, UInt64, UnsafeMutablePointer<rtms_metadata>?) -> Void)?
    var onStreamState: (@convention(c) (SDKPointer?, Int32, Int32) -> Void)?
    var onStreamClosed: (@convention(c) (SDKPointer?, Int32, UnsafePointer<CChar>?) -> Void)?
    var onError: (@convention(c) (SDKPointer?, Int32, UnsafePointer<CChar>?) -> Void)?
    var onFirstPacket: (@convention(c) (SDKPointer?, UInt64) -> Void)?
    var onActiveSpeaker: (@convention(c) (SDKPointer?, Int32, UnsafePointer<CChar>?, UInt64) -> Void)?
    var onSharing: (@convention(c) (SDKPointer?, Int32, Int32, UnsafePointer<CChar>?, UInt64) -> Void)?
    var onMediaInterrupted: (@convention(c) (SDKPointer?, UInt64) -> Void)?
    var onParticipantVideo: (@convention(c) (SDKPointer?, UnsafeMutablePointer<Int32>?, Int32, Int32) -> Void)?
    var onVideoSubscriptResp: (@convention(c) (SDKPointer?, Int32, Int32, UnsafePointer<CChar>?) -> Void)?
    var onReconnecting: (@convention(c) (SDKPointer?, Int32, Int32, Int32, UnsafePointer<CChar>?) -> Void)?
    var onReconnected: (@convention(c) (SDKPointer?, Int32, Int32) -> Void)?
    /// Version 2.
    var onParticipantEvent: (@convention(c) (SDKPointer?, Int32, UInt64, UnsafeMutablePointer<participant_info>?, Int32) -> Void)?
}

/// How many polls (of any handle or intake) each thread is inside right now. A release from inside
/// a callback must not wait for a poll on another thread: that thread may be waiting for this one.
/// Kept in a thread-specific slot (pthread_getspecific): no lock and no table a poll.
enum ThreadPolls {
    /// nil when the process is out of thread-specific keys (then every depth reads 0).
    private static let key: pthread_key_t? = {
        var k = pthread_key_t()
        return pthread_key_create(&k, nil) == 0 ? k : nil
    }()
    /// This thread's depth (the slot holds the number itself, as a pointer-sized value).
    private static var depth: Int {
        get { key.map { Int(bitPattern: pthread_getspecific($0)) } ?? 0 }
        set { if let key { pthread_setspecific(key, UnsafeRawPointer(bitPattern: newValue)) } }
    }
    static func entered() { depth += 1 }
    static func exited() { depth = Swift.max(0, depth - 1) }
    /// True inside a callback (of any handle or intake) on the calling thread.
    static var insidePoll: Bool { depth > 0 }

    /// nil when the process is out of thread-specific keys: then there is no shortcut.
    private static let currentKey: pthread_key_t? = {
        var k = pthread_key_t()
        return pthread_key_create(&k, nil) == 0 ? k : nil
    }()
    /// The handle whose rtms_poll is delivering on this thread (unretained: that poll holds it),
    /// so that a call the callback makes with its own handle (rtms_get_user_data above all)
    /// finds it without the registry's lock and table.
    static var current: UnsafeMutableRawPointer? {
        get { currentKey.flatMap { pthread_getspecific($0) } }
        set { if let currentKey { pthread_setspecific(currentKey, newValue) } }
    }
}

/// The polling discipline of a handle (client or webhook intake): one poll at a time, none nested
/// inside its own callback, and a handle released during a poll is freed when that poll returns
/// (zenoh-c's "drop after the last call").
final class PollGate: @unchecked Sendable {
    enum Entry { case entered, nested, released }
    private let lock = NIOLock()
    private let pollMutex = NIOLock()
    /// Written under `lock` (with pollingThread, which decides who frees); read without it.
    private let released = Atomic<Bool>(false)
    private var pollingThread: pthread_t? = nil

    var isReleased: Bool { released.load(ordering: .acquiring) }

    /// What `markReleased` found.
    enum Release { case freeNow, pollOnThisThread, pollOnAnotherThread }

    /// Marks the handle released. No poll running: the caller frees it now. A poll running on
    /// this thread (release from inside a callback): that poll frees it when it returns. A poll
    /// on another thread: the caller wakes it, waits for it (`waitForPoll`), and it frees it.
    func markReleased() -> Release {
        let me = pthread_self()
        return lock.withLock {
            released.store(true, ordering: .releasing)
            guard let t = pollingThread else { return .freeNow }
            return pthread_equal(t, me) != 0 ? .pollOnThisThread : .pollOnAnotherThread
        }
    }

    /// Returns once no poll is running (the one running has returned from its callback and
    /// exited). From inside any callback (of this or another handle) it returns at once: the
    /// thread polling here may be waiting for this one (a lock-order deadlock otherwise).
    func waitForPoll() {
        guard !ThreadPolls.insidePoll else { return }
        pollMutex.lock()
        pollMutex.unlock()
    }

    /// On `.entered` the caller polls and must call `exit()`.
    func enter() -> Entry {
        let me = pthread_self()
        let nested = lock.withLock { pollingThread.map { pthread_equal($0, me) != 0 } ?? false }
        if nested { return .nested }
        pollMutex.lock()
        let go: Bool = lock.withLock {
            if released.load(ordering: .relaxed) { return false }
            pollingThread = me
            return true
        }
        if !go { pollMutex.unlock() } else { ThreadPolls.entered() }
        return go ? .entered : .released
    }

    /// Ends a poll. Returns true when the handle was released meanwhile: the caller frees it.
    func exit() -> Bool {
        ThreadPolls.exited()
        let freeNow: Bool = lock.withLock {
            pollingThread = nil
            return released.load(ordering: .relaxed)
        }
        pollMutex.unlock()
        return freeNow
    }
}

final class Handle: @unchecked Sendable {
    let sdk: SDKPointer
    let client: RTMSClient
    private let lock = NIOLock()
    private var _ops = rtms_csdk_ops()
    private var _ext = ExtOps()
    private var _options = HandleOptions()
    private let gate = PollGate()
    /// Scratch structs reused for every callback (only touched by the polling thread).
    private let metadata: UnsafeMutablePointer<rtms_metadata>
    private let sessionInfo: UnsafeMutablePointer<session_info>

    init(sdk: SDKPointer) {
        self.sdk = sdk
        self.client = RTMSClient()
        metadata = .allocate(capacity: 1)
        metadata.initialize(to: rtms_metadata())
        sessionInfo = .allocate(capacity: 1)
        sessionInfo.initialize(to: session_info())
    }

    deinit {
        metadata.deallocate()
        sessionInfo.deallocate()
    }

    var ops: rtms_csdk_ops {
        get { lock.withLock { _ops } }
        set {
            lock.withLock { _ops = newValue }
            callbacksChanged.add(1, ordering: .releasing)
        }
    }
    var ext: ExtOps {
        get { lock.withLock { _ext } }
        set {
            lock.withLock { _ext = newValue }
            callbacksChanged.add(1, ordering: .releasing)
        }
    }
    /// Counts changes of the callback tables: the polling thread keeps the media callbacks it
    /// read and reads them again (under the lock) only after a change.
    private let callbacksChanged = Atomic<Int>(0)
    var options: HandleOptions {
        get { lock.withLock { _options } }
        set { lock.withLock { _options = newValue } }
    }
    var isReleased: Bool { gate.isReleased }

    // MARK: Delivery group (rtms_group_add)

    private var _group: GroupHandle?

    /// Joins `g` unless the handle is in a group already.
    func setGroup(_ g: GroupHandle) -> Bool {
        lock.withLock {
            guard _group == nil, !isReleased else { return false }
            _group = g
            return true
        }
    }

    /// Leaves `g` if the handle is in it.
    @discardableResult
    func clearGroup(_ g: GroupHandle) -> Bool {
        lock.withLock {
            guard _group === g else { return false }
            _group = nil
            return true
        }
    }

    /// Releases the handle: leaves, and when another thread is inside a poll (perhaps inside a
    /// callback), waits until that poll has returned, as nng's aio stop and zenoh-c's drop do.
    /// The C struct is freed here when no poll runs, else by the poll when it returns.
    func release() {
        // Mark first: waiters woken by leave() must already see the handle as released, and a
        // rtms_group_add racing with this release either fails (setGroup sees the mark) or is
        // undone below.
        let state = gate.markReleased()
        let group = lock.withLock { () -> GroupHandle? in
            defer { _group = nil }
            return _group
        }
        group?.remove(self)
        client.leave()
        switch state {
        case .freeNow: freeStruct()
        case .pollOnThisThread: break
        case .pollOnAnotherThread: gate.waitForPoll()
        }
        // Its media may be in a batch that a poll of its group is delivering on another thread.
        group?.waitForDelivery()
    }

    // MARK: The C struct

    private let structLock = NIOLock()
    private var structFreed = false

    /// Runs `body` on the C struct unless it was freed (a release on another thread); false then.
    @discardableResult
    func withStruct(_ body: (SDKPointer) -> Void) -> Bool {
        structLock.withLock {
            guard !structFreed else { return false }
            body(sdk)
            return true
        }
    }

    /// Media batches being delivered that point to the C struct (rtms_media_item.sdk): while
    /// there are any, freeing waits for the last to end.
    private var pins = 0
    private var freeWhenUnpinned = false

    func pin() { structLock.withLock { pins += 1 } }

    func unpin() {
        let free = structLock.withLock { () -> Bool in
            pins -= 1
            return pins == 0 && freeWhenUnpinned
        }
        if free { freeStruct() }
    }

    /// Frees the C struct and the strings it points to, once (after the last pin, if pinned).
    func freeStruct() {
        structLock.withLock {
            guard !structFreed else { return }
            if pins > 0 {
                freeWhenUnpinned = true
                return
            }
            structFreed = true
            free(sdk.pointee.meeting_uuid)
            free(sdk.pointee.rtms_stream_id)
            sdk.pointee.meeting_uuid = nil
            sdk.pointee.rtms_stream_id = nil
            free(sdk)
        }
    }

    /// rtms_poll / rtms_poll_ex: the number of events delivered, or a negated RTMS_SDK_* code.
    /// batch: a group's media batch (rtms_group_poll), which takes the media messages.
    func poll(maxEvents: Int, waitMilliseconds: Int, batch: MediaBatch? = nil) -> Int32 {
        switch gate.enter() {
        case .nested: return -fail(Code.invalidStatus, "rtms_poll called from inside a callback of the same handle")
        case .released: return -fail(Code.notExist, "handle was released")
        case .entered: break
        }
        let outer = ThreadPolls.current
        ThreadPolls.current = Unmanaged.passUnretained(self).toOpaque()
        let n = client.poll(maxEvents: maxEvents, waitMilliseconds: waitMilliseconds) { item in
            self.dispatch(item, batch)
        }
        ThreadPolls.current = outer
        if gate.exit() {
            freeStruct()
            return -fail(Code.notExist, "the handle was released during the poll")
        }
        return Int32(n)
    }

    // MARK: Dispatch (on the polling thread)

    private func dispatch(_ item: ClientEventItem, _ batch: MediaBatch?) {
        if isReleased { return }
        switch item {
        case .media(let m):
            if let batch { batch.append(self, m) } else { dispatchMedia(m) }
        case .control(let ev):
            batch?.flush()  // this handle's earlier media first
            dispatchControl(ev)
        }
    }

    typealias DataCallback = @convention(c) (SDKPointer?, UnsafeMutablePointer<UInt8>?, Int32, UInt64, UnsafeMutablePointer<rtms_metadata>?) -> Void
    /// The media callbacks by MediaKind's order, as of change `mediaCallbacksSeen` of the tables
    /// (-1: not read yet). Only the polling thread touches them (polls are serialised).
    private var mediaCallbacks: [DataCallback?] = []
    private var mediaCallbacksSeen = -1

    private func mediaCallback(_ kind: MediaKind) -> DataCallback? {
        let changes = callbacksChanged.load(ordering: .acquiring)
        if changes != mediaCallbacksSeen {
            let (o, e) = lock.withLock { (_ops, _ext) }
            mediaCallbacks = [o.on_audio_data, o.on_video_data, o.on_ds_data, o.on_transcript_data, e.onChat]
            mediaCallbacksSeen = changes
        }
        switch kind {
        case .audio: return mediaCallbacks[0]
        case .video: return mediaCallbacks[1]
        case .deskshare: return mediaCallbacks[2]
        case .transcript: return mediaCallbacks[3]
        case .chat: return mediaCallbacks[4]
        }
    }

    private func dispatchMedia(_ m: MediaData) {
        guard let cb = mediaCallback(m.kind) else { return }
        let md = metadata
        md.pointee.user_id = Int32(truncatingIfNeeded: m.userID)
        md.pointee.start_ts = UInt64(bitPattern: m.startTime)
        md.pointee.end_ts = UInt64(bitPattern: m.endTime)
        md.pointee.language = Int32(m.language ?? -1)
        m.userName.withCString { name in
            (m.channelID ?? "").withCString { ch in
                md.pointee.user_name = UnsafeMutablePointer(mutating: name)
                md.pointee.channel_id = ch
                // No copy: the callback gets the decoded buffer itself (Zoom's signature is non-const).
                m.data.withUnsafeBufferPointer { buf in
                    cb(sdk, UnsafeMutablePointer(mutating: buf.baseAddress), Int32(clamping: buf.count), UInt64(bitPattern: m.timestamp), md)
                }
                md.pointee.user_name = nil
                md.pointee.channel_id = nil
            }
        }
    }

    private func dispatchControl(_ ev: ClientEvent) {
        let o = ops
        switch ev {
        case .joinConfirm(let reason, let text):
            if reason != 0 { reportError(reason, text) }
            o.on_join_confirm?(sdk, Int32(clamping: reason))
        case .leave(let reason, let text):
            reportError(reason, text)
            o.on_leave?(sdk, Int32(clamping: reason))
        case .sessionUpdate(let op, let sessionID, _, let timestamp):
            guard let cb = o.on_session_update else { return }
            let si = sessionInfo
            si.pointee.stat_time = Int32(truncatingIfNeeded: timestamp / 1000)
            si.pointee.status = op == SessionOp.pause ? 2 : 1  // SESS_STATUS_PAUSED : SESS_STATUS_ACTIVE
            withUnsafeMutableBytes(of: &si.pointee.meeting_id) { raw in
                raw.initializeMemory(as: UInt8.self, repeating: 0)
                let bytes = Array(client.instanceID.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes)
            }
            sessionID.withCString { sid in
                client.streamID.withCString { stream in
                    si.pointee.session_id = UnsafeMutablePointer(mutating: sid)
                    si.pointee.stream_id = UnsafeMutablePointer(mutating: stream)
                    cb(sdk, Int32(op), si)
                    si.pointee.session_id = nil
                    si.pointee.stream_id = nil
                }
            }
        case .userUpdate(let op, let userID, let name):
            guard let cb = o.on_user_update else { return }
            name.withCString { n in
                var pi = participant_info(
                    participant_id: Int32(truncatingIfNeeded: userID),
                    participant_name: UnsafeMutablePointer(mutating: n))
                cb(sdk, Int32(op), &pi)
            }
        case .participantEvent(let op, let ts, let participants):
            guard let cb = ext.onParticipantEvent else { return }
            // The names' storage lives for the call: one NUL-terminated copy of each.
            let names = participants.map { strdup($0.userName) }
            defer { names.forEach { free($0) } }
            var list = zip(participants, names).map { p, n in
                participant_info(participant_id: Int32(truncatingIfNeeded: p.userID), participant_name: n)
            }
            if list.isEmpty {
                cb(sdk, Int32(op), UInt64(bitPattern: ts), nil, 0)
            } else {
                list.withUnsafeMutableBufferPointer { b in cb(sdk, Int32(op), UInt64(bitPattern: ts), b.baseAddress, Int32(clamping: b.count)) }
            }
        case .eventEx(let json):
            guard let cb = o.on_event_ex else { return }
            json.withCString { p in cb(sdk, p, Int32(clamping: json.utf8.count)) }
        case .participantVideo(let ids, let on):
            guard let cb = ext.onParticipantVideo else { return }
            var users = ids.map { Int32(truncatingIfNeeded: $0) }
            users.withUnsafeMutableBufferPointer { b in cb(sdk, b.baseAddress, Int32(b.count), on ? 1 : 0) }
        case .videoSubscribed(let userID, let status, let reason):
            guard let cb = ext.onVideoSubscriptResp else { return }
            reason.withCString { r in cb(sdk, Int32(truncatingIfNeeded: userID), Int32(clamping: status), r) }
        case .streamState(let state, let reason):
            ext.onStreamState?(sdk, Int32(clamping: state), Int32(clamping: reason))
        case .streamClosed(let status, let reason):
            guard let cb = ext.onStreamClosed else { return }
            reason.withCString { r in cb(sdk, Int32(clamping: status), r) }
        case .warning(let code, let text):
            reportError(code, text)
        case .firstPacket(let ts):
            ext.onFirstPacket?(sdk, UInt64(bitPattern: ts))
        case .activeSpeaker(let id, let name, let ts):
            guard let cb = ext.onActiveSpeaker else { return }
            name.withCString { cb(sdk, Int32(truncatingIfNeeded: id), $0, UInt64(bitPattern: ts)) }
        case .sharing(let started, let id, let name, let ts):
            guard let cb = ext.onSharing else { return }
            name.withCString { cb(sdk, started ? 1 : 0, Int32(truncatingIfNeeded: id), $0, UInt64(bitPattern: ts)) }
        case .mediaInterrupted(let ts):
            ext.onMediaInterrupted?(sdk, UInt64(bitPattern: ts))
        case .reconnecting(let c, let attempt, let delay, let cause):
            guard let cb = ext.onReconnecting else { return }
            cause.withCString { cb(sdk, Int32(clamping: c.code), Int32(clamping: attempt), Int32(clamping: delay), $0) }
        case .reconnected(let c, let gap):
            ext.onReconnected?(sdk, Int32(clamping: c.code), Int32(clamping: gap))
        }
    }

    private func reportError(_ code: Int, _ text: String) {
        guard let cb = ext.onError else { return }
        text.withCString { t in cb(sdk, Int32(clamping: code), t) }
    }
}

/// Live handles by address. Every API call looks its handle up here, so a NULL or released
/// handle is an error code, not a crash.
final class Registry: @unchecked Sendable {
    static let shared = Registry()
    private let lock = NIOLock()
    private var handles: [UnsafeMutableRawPointer: Handle] = [:]

    func add(_ h: Handle) { lock.withLock { handles[UnsafeMutableRawPointer(h.sdk)] = h } }

    func lookup(_ sdk: SDKPointer?) -> Handle? {
        guard let sdk else { return nil }
        return lock.withLock { handles[UnsafeMutableRawPointer(sdk)] }
    }

    func remove(_ sdk: SDKPointer) -> Handle? {
        lock.withLock { handles.removeValue(forKey: UnsafeMutableRawPointer(sdk)) }
    }

    var count: Int { lock.withLock { handles.count } }
}

/// Looks a handle up or records why not.
@inline(__always)
func handle(_ sdk: SDKPointer?, _ function: StaticString) -> Handle? {
    guard let sdk else {
        setLastError("\(function): the handle is NULL")
        return nil
    }
    // Inside a callback of this very handle: the poll delivering it holds it.
    if let cur = ThreadPolls.current {
        let h = Unmanaged<Handle>.fromOpaque(cur).takeUnretainedValue()
        if h.sdk == sdk && !h.isReleased { return h }
    }
    guard let h = Registry.shared.lookup(sdk) else {
        setLastError("\(function): not a live handle (released or never allocated)")
        return nil
    }
    return h
}

/// The objects behind the opaque C handles (rtms_webhook, rtms_fleet, rtms_group) by their token:
/// a stale or foreign pointer is looked up, never dereferenced.
final class TokenRegistry<Value: AnyObject>: @unchecked Sendable {
    private let lock = NIOLock()
    private var table: [OpaquePointer: Value] = [:]
    func add(_ token: OpaquePointer, _ value: Value) { lock.withLock { table[token] = value } }
    func lookup(_ p: OpaquePointer?) -> Value? { p.flatMap { p in lock.withLock { table[p] } } }
    func remove(_ p: OpaquePointer) -> Value? { lock.withLock { table.removeValue(forKey: p) } }
}
