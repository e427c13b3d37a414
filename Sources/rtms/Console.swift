// What the command line prints: lines on stdout, and on a terminal a status line at the bottom of
// stderr that is redrawn in place. A line printed while the status line is shown goes above it:
// the status line is cleared first and drawn again after, so the two never share a row. When
// stderr is not a terminal there is no status line: each status is a plain line of its own.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class Console: Sendable {
    static let shared = Console(terminal: isatty(2) != 0)

    /// stderr is a terminal: the status line is drawn in place.
    let terminal: Bool
    /// The status line shown now (terminal only).
    private let shown = Mutex<String?>(nil)

    init(terminal: Bool) { self.terminal = terminal }

    /// A line on stdout, above the status line when one is shown.
    func line(_ s: String) {
        shown.withLock { status in
            if let status { writeErr("\r\u{1B}[K") }
            print(s)
            fflush(nil)
            if let status { writeErr(status) }
        }
    }

    /// Replaces the status line (a plain line when stderr is not a terminal).
    func status(_ s: String) {
        guard terminal else { return line(s) }
        shown.withLock { status in
            status = s
            writeErr("\r\u{1B}[K" + s)
        }
    }

    /// Leaves the last status line on screen and moves below it: lines go after it from now on.
    func endStatus() {
        shown.withLock { status in
            if status != nil { writeErr("\n") }
            status = nil
        }
    }
}
