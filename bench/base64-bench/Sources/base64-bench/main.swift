// base64-bench: decodes base64 text of the payload sizes RTMS streams carry with four decoders.
//
//   base64-bench                       equality checks, then the timing table and a JSON line (~0.3 s a cell)
//   base64-bench --smoke               the same with a few thousand decodes in all (about a second)
//   base64-bench --seconds S           S seconds of timing a cell instead of 0.3
//   base64-bench --check               the equality checks only
//   base64-bench --one DECODER SIZE N  N decodes of one decoder and size, nothing else (for callgrind)
//
// Decoders: extras (ExtrasBase64, as the core calls it), foundation (Data(base64Encoded:)), scalar (ours),
// vector (CBase64's SSSE3/AVX2 decoder as the core calls it: from 20 characters on a CPU with SSSE3, else or for
// text it refuses ExtrasBase64). Any disagreement between them (vector and extras also on invalid text)
// exits 1 with a message on stderr; a usage error exits 2.

import ExtrasBase64

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Audio frame, a small message, a video P-frame, a video keyframe.
let payloadSizes = [640, 1_500, 4_000, 40_000]

func fail(_ message: String, code: Int32 = 1) -> Never {
    let line = "base64-bench: " + message + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(code)
}

/// Deterministic pseudo-random bytes (splitmix64), so every run and every process decodes the same text.
func payload(size: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(size)
    var out = [UInt8]()
    out.reserveCapacity(size + 8)
    while out.count < size {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        for k in 0..<8 where out.count < size {
            out.append(UInt8(truncatingIfNeeded: z >> (8 * UInt64(k))))
        }
    }
    return out
}

/// Padded standard base64, as Zoom sends it (made by Foundation's encoder; checked against ExtrasBase64's).
func base64Text(_ bytes: [UInt8]) -> [UInt8] {
    [UInt8](Data(bytes).base64EncodedData())
}

func describe(_ r: [UInt8]?) -> String {
    guard let r else { return "nil" }
    return "\(r.count) bytes"
}

// MARK: - Checks

/// Every decoder decodes every size (and short lengths, for the tails and the vector decoder's 20-character
/// threshold) to the original bytes; the decoders that accept unpadded text decode it too; invalid text is
/// rejected, and the vector decoder answers every invalid text exactly as ExtrasBase64 does.
func checkAll() {
    var lengths = Array(0...32) + [47, 48, 49, 50, 255, 256, 257]
    lengths += payloadSizes
    for size in lengths {
        for seed: UInt64 in [1, 2] {
            let original = payload(size: size, seed: seed)
            let text = base64Text(original)
            let extrasText = Base64.encodeToBytes(bytes: original)
            if extrasText != text {
                fail("size \(size): ExtrasBase64 and Foundation encode different text")
            }
            text.withUnsafeBufferPointer { t in
                for d in Decoder.allCases {
                    let got = d.decode(t)
                    if got != original {
                        fail(
                            "MISMATCH size \(size) seed \(seed): \(d.rawValue) decoded \(describe(got)), expected \(size) bytes"
                                + (got.map { $0.count == size ? " (same length, different bytes)" : "" } ?? ""))
                    }
                }
            }
            var unpadded = text
            while unpadded.last == UInt8(ascii: "=") { unpadded.removeLast() }
            unpadded.withUnsafeBufferPointer { t in
                for d in [Decoder.extras, .scalar, .vector] {
                    let got = d.decode(t)
                    if got != original {
                        fail("MISMATCH size \(size) unpadded: \(d.rawValue) decoded \(describe(got)), expected \(size) bytes")
                    }
                }
            }
        }
    }

    // Invalid text. Every decoder must reject a character outside the alphabet in the middle of a
    // keyframe; the scalar one must also reject the rest (misplaced padding, a byte above 0x7F, a bad
    // length, a bad tail).
    let text = base64Text(payload(size: 40_000, seed: 3))
    var bang = text
    bang[bang.count / 2] = UInt8(ascii: "!")
    bang.withUnsafeBufferPointer { t in
        for d in Decoder.allCases where d.decode(t) != nil {
            fail("\(d.rawValue) accepted a '!' in the middle of the text")
        }
    }
    var cases: [(String, [UInt8])] = []
    var midPad = text
    midPad[100] = UInt8(ascii: "=")
    cases.append(("'=' in the middle", midPad))
    var high = text
    high[7] = 0xC3
    cases.append(("a byte above 0x7F", high))
    var lastGroup = text
    lastGroup[lastGroup.count - 4] = UInt8(ascii: "*")
    cases.append(("'*' in the last group", lastGroup))
    cases.append(("a length of 4n+1", Array(text.dropLast(3))))
    cases += [
        ("'a==='", Array("a===".utf8)), ("'===='", Array("====".utf8)), ("'ab=c'", Array("ab=c".utf8)),
        ("'ab c'", Array("ab c".utf8)), ("'Zg-_'", Array("Zg-_".utf8)), ("'Zg=' (short padding)", Array("Zg=".utf8)),
    ]
    for (what, bad) in cases {
        let got = bad.withUnsafeBufferPointer { Decoder.scalar.decode($0) }
        if got != nil {
            fail("scalar accepted \(what): decoded \(describe(got))")
        }
    }

    // The vector decoder (the core's path) must give the library's answer, nil or the same bytes, for text
    // it is not meant to accept, on its vector path too: every case above, the short ones also after and
    // before 24 valid characters (so that the text has 20 or more); final groups padded, unpadded, short or
    // with unused bits set after 24 valid characters; and in every prefix of 16 to 48 characters of a
    // valid text, each byte in turn replaced by one outside the alphabet, and the last 1 to 3 by '='.
    var disagreements: [String] = []
    func compare(_ what: String, _ text: [UInt8]) {
        let (v, e) = text.withUnsafeBufferPointer { (Decoder.vector.decode($0), Decoder.extras.decode($0)) }
        if v != e {
            disagreements.append("\(what) (\(text.count) characters): vector \(describe(v)), extras \(describe(e))")
        }
    }
    let valid24 = Array("QUJDREVGR0hJSktMTU5PUFFS".utf8)  // "ABCDEFGHIJKLMNOPQR"
    for (what, bad) in cases {
        compare(what, bad)
        if bad.count < 20 {
            compare(what + " after 24 valid characters", valid24 + bad)
            compare(what + " before 24 valid characters", bad + valid24)
        }
    }
    for last in ["Zg==", "Zg=", "Zg", "Zh==", "Zh", "Zm8=", "Zm8", "Zm9=", "Zm9", "abc==", "abcd=", "abcd==", "a", "a="] {
        compare("'\(last)' after 24 valid characters", valid24 + Array(last.utf8))
    }
    let probes: [UInt8] = Array("=!-_ @[`{:*,.\\\"".utf8) + [0x00, 0x09, 0x0A, 0x0D, 0x7F, 0x80, 0xC3, 0xFF]
    let validText = base64Text(payload(size: 36, seed: 4))  // 48 characters, no padding
    for count in 16...48 {
        let prefix = Array(validText[0..<count])
        compare("the first \(count) characters of a valid text", prefix)
        for at in 0..<count {
            for c in probes {
                var bad = prefix
                bad[at] = c
                compare("byte \(c) at \(at)", bad)
            }
        }
        for pads in 1...3 {
            var bad = prefix
            for k in (count - pads)..<count { bad[k] = UInt8(ascii: "=") }
            compare("\(pads) '=' at the end", bad)
        }
    }
    if !disagreements.isEmpty {
        fail(
            "MISMATCH vector and extras answer \(disagreements.count) invalid texts differently, e.g.: "
                + disagreements.prefix(8).joined(separator: "; "))
    }
}

// MARK: - Timing

/// Folds a result into the sink so that no decode can be optimized away.
@inline(__always)
func fold(_ r: [UInt8]?) -> Int {
    guard let r, !r.isEmpty else { return -1 }
    return r.count &+ Int(r[r.count >> 1])
}

@inline(never)
func runBatch(_ d: Decoder, _ text: UnsafeBufferPointer<UInt8>, _ n: Int) -> Int {
    var sink = 0
    switch d {
    case .extras: for _ in 0..<n { sink &+= fold(decodeExtras(text)) }
    case .foundation: for _ in 0..<n { sink &+= fold(decodeFoundation(text)) }
    case .scalar: for _ in 0..<n { sink &+= fold(decodeScalar(text)) }
    case .vector: for _ in 0..<n { sink &+= fold(decodeVector(text)) }
    }
    return sink
}

func nanoseconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9
}

struct Cell {
    let size: Int
    let decoder: Decoder
    var perRound = 0
    var roundNs: [Double] = []  // ns per decode, one a round

    var median: Double {
        let s = roundNs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    var best: Double { roundNs.min() ?? 0 }
    var mbPerSecond: Double { Double(size) / median * 1e3 }  // decoded bytes per ns × 1000 = MB/s
}

/// Times every decoder at one size: a calibration (full run) or a fixed count (smoke), then `rounds`
/// rounds that take turns between the decoders so that a slow patch of the machine hits each alike.
func timeSize(_ size: Int, secondsPerCell: Double, smoke: Bool, rounds: Int, sink: inout Int) -> [Cell] {
    let text = base64Text(payload(size: size, seed: 1))
    let clock = ContinuousClock()
    var cells = Decoder.allCases.map { Cell(size: size, decoder: $0) }
    text.withUnsafeBufferPointer { t in
        for i in cells.indices {
            let d = cells[i].decoder
            if smoke {
                sink &+= runBatch(d, t, 10)
                cells[i].perRound = 100
                continue
            }
            // Double the count until a batch takes 20 ms: the estimate, and the warm-up.
            var n = 1
            var ns = 0.0
            while true {
                var s = 0
                ns = nanoseconds(clock.measure { s = runBatch(d, t, n) })
                sink &+= s
                if ns >= 20e6 || n >= 1 << 30 { break }
                n *= 2
            }
            let perDecode = ns / Double(n)
            cells[i].perRound = max(1, Int(secondsPerCell / Double(rounds) * 1e9 / perDecode))
        }
        for _ in 0..<rounds {
            for i in cells.indices {
                let n = cells[i].perRound
                var s = 0
                let ns = nanoseconds(clock.measure { s = runBatch(cells[i].decoder, t, n) })
                sink &+= s
                cells[i].roundNs.append(ns / Double(n))
            }
        }
    }
    return cells
}

/// `x` with exactly `decimals` digits after the point (none if 0).
func fmt(_ x: Double, _ decimals: Int) -> String {
    var scale = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((x * Double(scale)).rounded())
    let sign = scaled < 0 ? "-" : ""
    let whole = String(abs(scaled) / scale)
    guard decimals > 0 else { return sign + whole }
    let frac = String(abs(scaled) % scale)
    return sign + whole + "." + String(repeating: "0", count: decimals - frac.count) + frac
}

func runTiming(smoke: Bool, secondsPerCell: Double) {
    let rounds = 5
    var sink = 0
    var all: [Cell] = []
    for size in payloadSizes {
        all += timeSize(size, secondsPerCell: secondsPerCell, smoke: smoke, rounds: rounds, sink: &sink)
    }
    print("")
    print("| payload (B) | decoder | ns/decode (median) | best round | MB/s decoded | vs ExtrasBase64 |")
    print("|---:|---|---:|---:|---:|---:|")
    for c in all {
        let base = all.first { $0.size == c.size && $0.decoder == .extras }!.median
        print(
            "| \(c.size) | \(c.decoder.label) | \(fmt(c.median, 0)) | \(fmt(c.best, 0)) | \(fmt(c.mbPerSecond, 0))"
                + " | \(fmt(base / c.median, 2))× |")
    }
    print("")
    let rows = all.map { c in
        "{\"size\":\(c.size),\"decoder\":\"\(c.decoder.rawValue)\",\"ns_per_decode\":\(fmt(c.median, 1)),"
            + "\"ns_best\":\(fmt(c.best, 1)),\"mb_per_s\":\(fmt(c.mbPerSecond, 1)),"
            + "\"decodes\":\(c.perRound * rounds)}"
    }
    print(
        "{\"bench\":\"base64\",\"mode\":\"\(smoke ? "smoke" : "full")\",\"rounds\":\(rounds),"
            + "\"results\":[\(rows.joined(separator: ","))],\"sink\":\(sink)}")
}

// MARK: - Main

let args = Array(CommandLine.arguments.dropFirst())
let usage = "usage: base64-bench [--smoke] [--seconds S] [--check] [--one extras|foundation|scalar|vector SIZE N]"

if args.first == "--one" {
    guard args.count == 4, let d = Decoder(rawValue: args[1]), let size = Int(args[2]), size >= 0,
        let n = Int(args[3]), n >= 0
    else { fail(usage, code: 2) }
    let text = base64Text(payload(size: size, seed: 1))
    let sink = text.withUnsafeBufferPointer { runBatch(d, $0, n) }
    print("{\"decoder\":\"\(d.rawValue)\",\"size\":\(size),\"n\":\(n),\"sink\":\(sink)}")
    exit(0)
}

var smoke = false
var checkOnly = false
var secondsPerCell = 0.3
var i = 0
while i < args.count {
    switch args[i] {
    case "--smoke": smoke = true
    case "--check": checkOnly = true
    case "--seconds":
        i += 1
        guard i < args.count, let s = Double(args[i]), s > 0 else { fail(usage, code: 2) }
        secondsPerCell = s
    default: fail(usage, code: 2)
    }
    i += 1
}

checkAll()
print(
    "checks: ok (extras, foundation, scalar and vector decode identical bytes at every size; invalid text rejected;"
        + " vector answers invalid text as extras does)")
if !checkOnly {
    runTiming(smoke: smoke, secondsPerCell: secondsPerCell)
}
