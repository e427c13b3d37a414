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

    static func descriptors(_ listing: String) -> Set<Int32> {
        Set(listing.split(whereSeparator: { $0 == "\n" || $0 == " " }).compactMap { Int32($0) })
    }

    @Test func aCommandInheritsNoSocketOfTheTestProcess() throws {
        let fd = try inheritableSocket()
        defer { close(fd) }
        let (status, out) = runCommand(["/bin/sh", "-c", "ls /proc/$$/fd"])
        #expect(status == 0)
        let held = Self.descriptors(out)
        #expect(held.contains(1), "the listing is the shell's own: \(out)")
        #expect(!held.contains(fd), "the child holds the test's socket (fd \(fd)): \(held.sorted())")
    }

    @Test func aDaemonInheritsNoSocketOfTheTestProcess() throws {
        let fd = try inheritableSocket()
        defer { close(fd) }
        let file = tempDir("spawn") + "/fds"
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup("ls /proc/$$/fd > '\(file)'"), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { (argv + envp).forEach { free($0) } }
        let pid = try #require(spawnDaemon("/bin/sh", argv, envp))
        let status = try #require(waitForExit(pid, timeoutMs: 10_000))
        #expect(status == 0)
        let listing = readFile(file)
        let held = Self.descriptors(listing)
        #expect(held.contains(1), "the listing is the shell's own: \(listing)")
        #expect(!held.contains(fd), "the daemon holds the test's socket (fd \(fd)): \(held.sorted())")
    }
}
