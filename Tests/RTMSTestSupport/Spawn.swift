// Starting child processes from the test process without handing them its descriptors.
//
// All suites run in one process, and SwiftNIO opens its sockets without close-on-exec. A child
// spawned by one test (a fleet node, PostgreSQL through pg_ctl, a shell) would otherwise inherit
// every socket the other suites hold at that moment, and keep each one open for as long as it
// lives: a connection a test closes is then never seen closed by its peer.

#if canImport(Glibc)
import Glibc
#endif

/// Adds "close every descriptor from 3 up" to `actions` (glibc 2.34's
/// posix_spawn_file_actions_addclosefrom_np, looked up because Swift's Glibc module is built
/// without _GNU_SOURCE). Actions added before it (a dup2 onto 1) still take effect. False when
/// the C library lacks it.
@discardableResult
public func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) -> Bool {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
        return false
    }
    let closeFrom = unsafeBitCast(sym, to: CloseFrom.self)
    return closeFrom(&actions, 3) == 0
}
