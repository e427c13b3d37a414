// Invariant checks for the fuzz targets: a broken invariant prints what broke and aborts, which
// libFuzzer reports as a crash (the input is written to the artifact folder).

import CLibFuzzer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Aborts with `message` when `condition` is false. Unlike `assert`, it is checked in release builds.
@inline(__always)
public func fuzzCheck(
    _ condition: Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition { fuzzFail(message(), file: file, line: line) }
}

public func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "FUZZ INVARIANT BROKEN at \(file):\(line): \(message)\n"
    var bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + off, $0.count - off) }
        if n <= 0 { break }
        off += n
    }
    abort()
}

/// A short printable form of bytes for invariant messages.
public func fuzzShow(_ bytes: some Collection<UInt8>, limit: Int = 96) -> String {
    var out = ""
    for b in bytes.prefix(limit) {
        if b >= 0x20 && b < 0x7F && b != 0x5C {
            out.unicodeScalars.append(Unicode.Scalar(b))
        } else {
            let hex = Array("0123456789abcdef".unicodeScalars)
            out += "\\x"
            out.unicodeScalars.append(hex[Int(b >> 4)])
            out.unicodeScalars.append(hex[Int(b & 15)])
        }
    }
    if bytes.count > limit { out += "…(\(bytes.count) bytes)" }
    return out
}

/// Reads little pieces of a fuzz input: a few control bytes up front, the rest as data.
public struct FuzzInput {
    public let bytes: UnsafeRawBufferPointer
    public var pos = 0
    public init(_ start: UnsafeRawPointer?, _ count: Int) {
        bytes = UnsafeRawBufferPointer(start: count > 0 ? start : nil, count: count)
    }
    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard pos < bytes.count else { return 0 }
        defer { pos += 1 }
        return bytes[pos]
    }
    /// Everything not read yet.
    public var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[min(pos, bytes.count)...]) }
}

/// Runs libFuzzer's driver (command-line options, corpus, mutation loop) on `target`. Each fuzz
/// target's main.swift calls this: SwiftPM links an executable with the module's own entry point
/// on Linux, so libFuzzer's `main` is not the one that runs.
public func runFuzzer(_ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}
