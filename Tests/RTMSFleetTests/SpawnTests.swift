// The children the tests start hold no descriptor of the test process but their standard ones.
// SwiftNIO's sockets are not close-on-exec, so without this a node or a PostgreSQL started by one
// suite kept another suite's connections open after that suite closed them (its peer never saw
// the close: the flakes in LiveStreamResponseTests and ReleaseClosesEverythingTests).

import RTMSTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SpawnTests {
    /// A socket opened the way SwiftNIO opens its own: inheritable.
    func inheritableSocket() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        try #require(fcntl(fd, F_GETFD) & FD_CLOEXEC == 0, "the socket must be inheritable for the test to mean anything")
        return fd
    }

    /// How a process's descriptor listing (`ls -l /proc/PID/fd`) names the socket `fd` of this
    /// process: by its inode, not by its number (the child's own descriptors may take any number).
    func socketName(_ fd: Int32) throws -> String {
        var st = stat()
        try #require(fstat(fd, &st) == 0)
        return "socket:[\(st.st_ino)]"
    }

    @Test func aCommandInheritsNoSocketOfTheTestProcess() throws {
        let fd = try inheritableSocket()
        defer { close(fd) }
        let name = try socketName(fd)
        let (status, out) = runCommand(["/bin/sh", "-c", "ls -l /proc/$$/fd"])
        #expect(status == 0)
        #expect(out.contains(" 1 -> "), "a listing of the child's descriptors: \(out)")
        #expect(!out.contains(name), "the child holds the test's socket (\(name)): \(out)")
    }

    @Test func aDaemonInheritsNoSocketOfTheTestProcess() throws {
        let fd = try inheritableSocket()
        defer { close(fd) }
        let name = try socketName(fd)
        let file = tempDir("spawn") + "/fds"
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup("ls -l /proc/$$/fd > '\(file)'"), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { (argv + envp).forEach { free($0) } }
        let pid = try #require(spawnDaemon("/bin/sh", argv, envp))
        let status = try #require(waitForExit(pid, timeoutMs: 10_000))
        #expect(status == 0)
        let listing = readFile(file)
        #expect(listing.contains(" 1 -> "), "a listing of the daemon's descriptors: \(listing)")
        #expect(!listing.contains(name), "the daemon holds the test's socket (\(name)): \(listing)")
    }
}
