// The four decoders under test. Each takes the base64 text as the core holds it (a buffer
// pointer into the received frame) and returns the decoded bytes as [UInt8], nil if invalid.

import CBase64
import ExtrasBase64

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum Decoder: String, CaseIterable {
    case extras
    case foundation
    case scalar
    case vector

    var label: String {
        switch self {
        case .extras: return "ExtrasBase64"
        case .foundation: return "Foundation Data(base64Encoded:)"
        case .scalar: return "scalar table (ours)"
        case .vector: return "CBase64 SSSE3/AVX2 (ours)"
        }
    }

    func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        switch self {
        case .extras: return decodeExtras(text)
        case .foundation: return decodeFoundation(text)
        case .scalar: return decodeScalar(text)
        case .vector: return decodeVector(text)
        }
    }
}

/// (a) exactly as `Base64Codec.decode` calls it in Sources/RTMSProtocol/Codec.swift (its fast path).
@inline(never)
func decodeExtras(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    try? Base64.decode(bytes: text, options: [.omitPaddingCharacter])
}

/// (b) Foundation: the received bytes wrapped without a copy, decoded, and turned into the [UInt8] the
/// core hands on. Foundation wants the padding: it rejects unpadded text.
@inline(never)
func decodeFoundation(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    guard let base = text.baseAddress, text.count > 0 else { return [] }
    let wrapped = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: text.count, deallocator: .none)
    guard let data = Data(base64Encoded: wrapped) else { return nil }
    return [UInt8](data)
}

/// (c) ours: one 256-entry table, four characters to three bytes.
@inline(never)
func decodeScalar(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    ScalarBase64.decode(text)
}

/// Whether this CPU runs CBase64's vector decoder (SSSE3 on x86-64; AVX2 too where the CPU has it), as `Base64Codec.vectorDecoder`.
let vectorAvailable = openrtms_b64_vector_available() != 0

/// (d) exactly as `Base64Codec.decode` calls CBase64 in Sources/RTMSProtocol/Codec.swift: standard base64
/// of 20 characters or more goes to the vector decoder when the CPU has it; shorter text, a CPU without it
/// and any text it answers -1 for go to the library as (a) calls it. (The core's slow paths after the
/// library, URL-safe alphabet and whitespace, are left out here as they are from (a).)
@inline(never)
func decodeVector(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    if vectorAvailable, text.count >= 20, let base = text.baseAddress {
        var accepted = false
        let d = [UInt8](unsafeUninitializedCapacity: text.count / 4 * 3 + 3) { out, n in
            let r = openrtms_b64_decode(base, text.count, out.baseAddress!)
            accepted = r >= 0
            n = accepted ? r : 0
        }
        if accepted { return d }
    }
    return decodeExtras(text)
}

enum ScalarBase64 {
    /// Bit 7 set: not in the alphabet ('=' included: padding is handled before the table is used).
    static let invalid: UInt8 = 0xFF

    /// The 6-bit value of each character of the standard alphabet; `invalid` for every other byte.
    static let table: [UInt8] = {
        var t = [UInt8](repeating: invalid, count: 256)
        var value: UInt8 = 0
        for range in [
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
        ] {
            for c in range {
                t[Int(c)] = value
                value += 1
            }
        }
        t[Int(UInt8(ascii: "+"))] = 62
        t[Int(UInt8(ascii: "/"))] = 63
        return t
    }()

    /// Padded or unpadded standard base64, no whitespace. Trailing bits of a short last group are
    /// ignored, as most decoders do.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let src = text.baseAddress, text.count > 0 else { return [] }
        // Characters that carry data: at most two '=' at the end of a text whose length is a multiple of 4.
        var n = text.count
        let pad = UInt8(ascii: "=")
        if n % 4 == 0 && src[n - 1] == pad {
            n -= 1
            if src[n - 1] == pad { n -= 1 }
        }
        let tail = n % 4
        if tail == 1 { return nil }
        let groups = n / 4
        let outCount = groups * 3 + (tail == 0 ? 0 : tail - 1)
        var ok = true
        let out = table.withUnsafeBufferPointer { t in
            [UInt8](unsafeUninitializedCapacity: outCount) { dst, initialized in
                var i = 0
                var o = 0
                for _ in 0..<groups {
                    let a = t[Int(src[i])]
                    let b = t[Int(src[i + 1])]
                    let c = t[Int(src[i + 2])]
                    let d = t[Int(src[i + 3])]
                    if (a | b | c | d) & 0x80 != 0 {
                        ok = false
                        break
                    }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    dst[o] = UInt8(truncatingIfNeeded: v >> 16)
                    dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    dst[o + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    o += 3
                }
                if ok && tail > 0 {
                    let a = t[Int(src[i])]
                    let b = t[Int(src[i + 1])]
                    let c = tail == 3 ? t[Int(src[i + 2])] : 0
                    if (a | b | c) & 0x80 != 0 {
                        ok = false
                    } else {
                        let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                        dst[o] = UInt8(truncatingIfNeeded: v >> 16)
                        if tail == 3 { dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
                    }
                }
                initialized = ok ? outCount : 0
            }
        }
        return ok ? out : nil
    }
}
