// A pipe that is readable while something is pending: the one wakeup a host can sleep on with
// poll(2)/epoll/asyncio/libuv, whichever thread produced the work (curl multi's model).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Not thread-safe by itself: callers serialise `signal`/`clear` under their own lock.
public final class WakePipe: @unchecked Sendable {
    private let readFD: Int32
    private let writeFD: Int32
    private var signaled = false

    public init() {
        var fds: [Int32] = [-1, -1]
        if pipeCloseOnExec(&fds) {
            for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        } else {
            fds = [-1, -1]
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        if readFD >= 0 { _ = systemClose(readFD) }
        if writeFD >= 0 { _ = systemClose(writeFD) }
    }

    /// Readable while signalled; -1 when the pipe could not be created.
    public var fd: Int32 { readFD }

    /// signal() ran and clear() has not (read under the caller's lock).
    public var isSignaled: Bool { signaled }

    public func signal() {
        guard !signaled else { return }
        signaled = true
        var b: UInt8 = 1
        if writeFD >= 0 { _ = write(writeFD, &b, 1) }
    }

    public func clear() {
        guard signaled else { return }
        signaled = false
        // One byte was written per signal (signal() is idempotent until clear()): one read empties it.
        var b: UInt8 = 0
        if readFD >= 0 { _ = read(readFD, &b, 1) }
    }

    /// Sleeps until the pipe is readable, `ready()` holds, or `milliseconds` pass (<0 = forever).
    /// Returns `ready()`.
    public func wait(milliseconds: Int, ready: () -> Bool) -> Bool {
        if ready() { return true }
        if milliseconds == 0 || readFD < 0 { return ready() }
        var p = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        let deadline = milliseconds < 0 ? Int64.max : nowMilliseconds() + Int64(milliseconds)
        while true {
            let left = milliseconds < 0 ? -1 : Int32(clamping: Swift.max(0, deadline - nowMilliseconds()))
            let rc = poll(&p, 1, left)
            if rc > 0 || ready() { return ready() }
            if rc == 0 { return false }
            if errno != EINTR { return ready() }
        }
    }
}

#if canImport(Glibc)
/// glibc's pipe2, looked up once (Swift's Glibc module is built without _GNU_SOURCE, which
/// declares it).
private let pipe2: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32)? = {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2").map {
        unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }
}()
#endif

/// A pipe whose ends close on exec from the start where the system allows (pipe2), so that a
/// child another thread spawns meanwhile never inherits them; else marked right after. (The
/// tests' spawning helpers use it too.)
func pipeCloseOnExec(_ fds: inout [Int32]) -> Bool {
    guard fds.count >= 2 else { return false }
    #if canImport(Glibc)
    if let pipe2 { return fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) } == 0 }
    #endif
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}
