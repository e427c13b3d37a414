// A small tolerant JSON reader and a compact writer. RTMS control messages are tiny objects, so
// a value tree is fine for them; media messages use MediaScanner and never build a tree.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON value. Objects keep their key order (duplicates: the last one wins on lookup).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var intValue: Int64? {
        switch self {
        case .int(let v): v
        case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 9.0e18: Int64(d)
        default: nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let v): Double(v)
        case .double(let d): d
        default: nil
        }
    }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// Name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// An ordered JSON object.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public var pairs: [(key: String, value: JSONValue)]

    public init(_ pairs: [(key: String, value: JSONValue)] = []) { self.pairs = pairs }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        pairs = elements.map { (key: $0.0, value: $0.1) }
    }

    public subscript(key: String) -> JSONValue? {
        get {
            var i = pairs.count - 1
            while i >= 0 {
                if pairs[i].key == key { return pairs[i].value }
                i -= 1
            }
            return nil
        }
        set {
            pairs.removeAll { $0.key == key }
            if let newValue { pairs.append((key: key, value: newValue)) }
        }
    }

    public var keys: [String] { pairs.map(\.key) }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

/// Why a byte sequence is not acceptable JSON.
public struct JSONError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

// MARK: - Scanner

/// A cursor over UTF-8 JSON bytes. Used both for the value tree and for targeted media scans.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var pos: Int
    let end: Int
    static let maxDepth = 64

    init(_ bytes: UnsafeRawBufferPointer, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.pos = start
        self.end = end ?? bytes.count
    }

    @inline(__always) func peek() -> UInt8? { pos < end ? bytes[pos] : nil }

    @inline(__always) mutating func skipWhitespace() {
        while pos < end {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    func error(_ reason: String) -> JSONError { JSONError(offset: pos, reason: reason) }

    mutating func expect(_ c: UInt8, _ what: String) throws(JSONError) {
        skipWhitespace()
        guard pos < end, bytes[pos] == c else {
            throw error(pos < end ? "expected \(what)" : "unexpected end, expected \(what)")
        }
        pos += 1
    }

    /// A key's colon, at once in the usual case (no whitespace before it).
    @inline(__always) mutating func expectColon() throws(JSONError) {
        if pos < end && bytes[pos] == 0x3A {
            pos += 1
            return
        }
        try expect(0x3A, "':'")
    }

    /// Reads a string token. Returns the byte range of its contents (without quotes) and whether it
    /// contains escapes. `pos` must be at the opening quote.
    mutating func readStringRange() throws(JSONError) -> (range: Range<Int>, escaped: Bool) {
        guard pos < end, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected string") }
        pos += 1
        let start = pos
        // Keys and short values (the first 64 bytes): eight bytes at a time until one of them is
        // a quote or a backslash, then byte by byte; the closing quote of an unescaped string is
        // found sooner than with two memchr calls. Longer strings and escapes: memchr below.
        var i = pos
        let shortEnd = Swift.min(end, pos + 64)
        while i + 8 <= shortEnd {
            let v = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let quotes = Self.byteMask(v, 0x22), backslashes = Self.byteMask(v, 0x5C)
            if quotes | backslashes != 0 {
                // The lowest marked byte is the first match (bytes load little-endian).
                let q = quotes.trailingZeroBitCount, b = backslashes.trailingZeroBitCount
                if q < b {
                    pos = i + q / 8 + 1
                    return (start..<(i + q / 8), false)
                }
                i += b / 8
                break
            }
            i += 8
        }
        while i < shortEnd {
            let c = bytes[i]
            if c == 0x22 {
                pos = i + 1
                return (start..<i, false)
            }
            if c == 0x5C { break }
            i += 1
        }
        // start..<i holds neither a quote nor a backslash: the search goes on from i.
        pos = i
        var escaped = false
        guard let base = bytes.baseAddress else { throw error("unterminated string") }
        while true {
            // memchr finds the next quote quickly even in megabytes of base64.
            guard let q = memchr(base + pos, 0x22, end - pos) else { throw error("unterminated string") }
            let qi = base.distance(to: UnsafeRawPointer(q))
            // A backslash run just before the quote decides whether it is escaped.
            var bs = 0
            var j = qi - 1
            while j >= start && bytes[j] == 0x5C { bs += 1; j -= 1 }
            if !escaped, memchr(base + pos, 0x5C, qi - pos) != nil { escaped = true }
            if bs % 2 == 0 {
                pos = qi + 1
                return (start..<qi, escaped)
            }
            escaped = true
            pos = qi + 1
        }
    }

    /// The bytes of `v` equal to `b`, marked by their high bit (the classic zero-byte test on `v`
    /// XOR b...b). Exact up to the first match: a borrow can mark a byte after a true match, never
    /// one before it, so the lowest mark is always right.
    @inline(__always) static func byteMask(_ v: UInt64, _ b: UInt8) -> UInt64 {
        let x = v ^ (0x0101_0101_0101_0101 &* UInt64(b))
        return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }

    /// Decodes a string token's contents into a Swift String.
    func decodeString(_ range: Range<Int>, escaped: Bool) throws(JSONError) -> String {
        if !escaped {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        let out = try unescape(range)
        return String(decoding: out, as: UTF8.self)
    }

    /// Unescapes JSON string contents into UTF-8 bytes.
    func unescape(_ range: Range<Int>) throws(JSONError) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        func hex4(_ at: Int) throws(JSONError) -> UInt32 {
            guard at + 4 <= range.upperBound else { throw JSONError(offset: at, reason: "short \\u escape") }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = bytes[at + k]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw JSONError(offset: at + k, reason: "bad hex digit in \\u escape")
                }
                v = v << 4 | d
            }
            return v
        }
        while i < range.upperBound {
            let c = bytes[i]
            if c != 0x5C { out.append(c); i += 1; continue }
            i += 1
            guard i < range.upperBound else { throw JSONError(offset: i, reason: "dangling backslash") }
            let e = bytes[i]
            i += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4(i)
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // High surrogate: expect a low one.
                    if i + 6 <= range.upperBound, bytes[i] == 0x5C, bytes[i + 1] == 0x75 {
                        let low = try hex4(i + 2)
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: UTF8.encode(u)!)
            default:
                throw JSONError(offset: i - 1, reason: "bad escape")
            }
        }
        return out
    }

    /// Whether the next byte can start a number (a digit or '-').
    @inline(__always) func peekIsNumberStart() -> Bool {
        guard pos < end else { return false }
        let c = bytes[pos]
        return c == 0x2D || (c &- 0x30) < 10
    }

    /// The media scan's integers (ids, timestamps, sequence numbers): an optional '-' and 1 to 18
    /// digits, ended by a byte that cannot continue a number. Eight digits are read at a time
    /// where eight bytes are left. Anything else returns nil with `pos` unchanged, for
    /// readNumber's general path.
    @inline(__always) mutating func readSmallInt() -> Int64? {
        var i = pos
        let negative = i < end && bytes[i] == 0x2D
        if negative { i += 1 }
        let first = i
        var magnitude: UInt64 = 0
        while i + 8 <= end {
            let v = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            guard Self.allDigits(v) else { break }
            magnitude = magnitude &* 100_000_000 &+ Self.eightDigits(v)
            i += 8
        }
        while i < end {
            let d = bytes[i] &- 0x30
            if d > 9 { break }
            magnitude = magnitude &* 10 &+ UInt64(d)
            i += 1
        }
        guard i > first && i - first <= 18 else { return nil }
        let next: UInt8 = i < end ? bytes[i] : 0x20
        guard next != 0x2E && next != 0x65 && next != 0x45 && next != 0x2B && next != 0x2D else { return nil }
        pos = i
        let v = Int64(magnitude)
        return negative ? -v : v
    }

    /// Whether all eight bytes of `v` are ASCII digits: each high nibble is 3, and adding 6 keeps it 3.
    @inline(__always) static func allDigits(_ v: UInt64) -> Bool {
        (v & 0xF0F0_F0F0_F0F0_F0F0) | (((v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4) == 0x3333_3333_3333_3333
    }

    /// The value of eight ASCII digits (the first in the lowest byte), combined pairwise: bytes to
    /// two-digit, then four-digit, then the eight-digit number.
    @inline(__always) static func eightDigits(_ v: UInt64) -> UInt64 {
        var x = v &- 0x3030_3030_3030_3030
        x = (x &* 10) &+ (x >> 8)
        x = ((x & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32)) &+ ((x >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32))) >> 32
        return x
    }

    /// Reads a number token: `.int` when integral and within Int64, else `.double`.
    mutating func readNumber() throws(JSONError) -> JSONValue {
        let start = pos
        // Fast path: an optional '-' and up to 18 digits (no overflow possible), ended by
        // something that cannot continue a number. Anything else takes the general path below.
        var i = pos
        let negative = i < end && bytes[i] == 0x2D
        if negative { i += 1 }
        let first = i
        var magnitude: UInt64 = 0
        while i < end {
            let d = bytes[i] &- 0x30
            if d > 9 { break }
            magnitude = magnitude &* 10 &+ UInt64(d)
            i += 1
        }
        if i > first && i - first <= 18 {
            let next: UInt8 = i < end ? bytes[i] : 0x20
            if next != 0x2E && next != 0x65 && next != 0x45 && next != 0x2B && next != 0x2D {
                pos = i
                let v = Int64(magnitude)
                return .int(negative ? -v : v)
            }
        }
        var isInt = true
        if pos < end && bytes[pos] == 0x2D { pos += 1 }
        var digits = 0
        while pos < end {
            let c = bytes[pos]
            if c >= 0x30 && c <= 0x39 {
                digits += 1; pos += 1
            } else if c == 0x2E || c == 0x65 || c == 0x45 || c == 0x2B || c == 0x2D {
                isInt = false; pos += 1
            } else {
                break
            }
        }
        guard digits > 0 else { pos = start; throw error("invalid number") }
        if isInt && pos - start <= 19 {
            var v: Int64 = 0
            var i = start
            let neg = bytes[i] == 0x2D
            if neg { i += 1 }
            var overflow = false
            while i < pos {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(bytes[i] - 0x30))
                if o1 || o2 { overflow = true; break }
                v = a
                i += 1
            }
            if !overflow { return .int(neg ? -v : v) }
        }
        // Floating point or out of Int64 range: strtod on a NUL-terminated copy, once the token
        // is a number strtod reads in full (not "EE10" or "1-2", which it would read as 0 and 1).
        guard Self.isNumberToken(bytes, start, pos) else { pos = start; throw error("invalid number") }
        var tmp = [CChar](repeating: 0, count: pos - start + 1)
        for k in 0..<(pos - start) { tmp[k] = CChar(bitPattern: bytes[start + k]) }
        var endp: UnsafeMutablePointer<CChar>? = nil
        let d = tmp.withUnsafeMutableBufferPointer { b in strtod(b.baseAddress!, &endp) }
        guard d.isFinite else { throw JSONError(offset: start, reason: "number out of range") }
        return .double(d)
    }

    /// `-? digits (. digits*)? ([eE] [+-]? digits)?`: JSON's number grammar, tolerating leading
    /// zeros and a bare trailing ".".
    static func isNumberToken(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var i = start
        func digits() -> Int {
            let from = i
            while i < end && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            return i - from
        }
        if i < end && b[i] == 0x2D { i += 1 }
        guard digits() > 0 else { return false }
        if i < end && b[i] == 0x2E { i += 1; _ = digits() }
        if i < end && (b[i] == 0x65 || b[i] == 0x45) {
            i += 1
            if i < end && (b[i] == 0x2B || b[i] == 0x2D) { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == end
    }

    mutating func parseValue(depth: Int = 0) throws(JSONError) -> JSONValue {
        guard depth < JSONScanner.maxDepth else { throw error("nesting deeper than \(JSONScanner.maxDepth)") }
        skipWhitespace()
        guard pos < end else { throw error("unexpected end") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var obj = JSONObject()
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            while true {
                skipWhitespace()
                let (r, esc) = try readStringRange()
                let key = try decodeString(r, escaped: esc)
                try expect(UInt8(ascii: ":"), "':'")
                let v = try parseValue(depth: depth + 1)
                obj.pairs.append((key: key, value: v))
                skipWhitespace()
                guard pos < end else { throw error("unterminated object") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            var arr = [JSONValue]()
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            while true {
                arr.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard pos < end else { throw error("unterminated array") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            let (r, esc) = try readStringRange()
            return .string(try decodeString(r, escaped: esc))
        case UInt8(ascii: "t"):
            try literal("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null"); return .null
        default:
            return try readNumber()
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= end else { throw error("unexpected end") }
        let p = word.utf8Start
        for k in 0..<n where bytes[pos + k] != p[k] { throw error("invalid literal") }
        pos += n
    }

    /// Skips one value without building it.
    mutating func skipValue(depth: Int = 0) throws(JSONError) {
        guard depth < JSONScanner.maxDepth else { throw error("nesting deeper than \(JSONScanner.maxDepth)") }
        skipWhitespace()
        guard pos < end else { throw error("unexpected end") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { pos += 1; return }
            while true {
                skipWhitespace()
                _ = try readStringRange()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard pos < end else { throw error("unterminated object") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { pos += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard pos < end else { throw error("unterminated array") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            _ = try readStringRange()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try readNumber()
        }
    }

    /// Reads an object key (`pos` at its opening quote) and returns its index in `keys`, or nil
    /// for any other key; `pos` is then just after the closing quote. Where 16 bytes follow the
    /// quote, the key and its closing quote are compared as two 8-byte words; otherwise the key is
    /// read as a string and compared byte by byte. Either way a key matches only as written, with
    /// no escapes (as keyEquals).
    @inline(__always) mutating func readKey(_ keys: [RawKey]) throws(JSONError) -> Int? {
        if pos + 17 <= end, bytes[pos] == 0x22 {
            let w0 = bytes.loadUnaligned(fromByteOffset: pos + 1, as: UInt64.self)
            let w1 = bytes.loadUnaligned(fromByteOffset: pos + 9, as: UInt64.self)
            for i in keys.indices {
                let k = keys[i]
                if w0 & k.mask0 == k.word0 && w1 & k.mask1 == k.word1 {
                    pos += 1 + k.length
                    return i
                }
            }
        }
        let (r, _) = try readStringRange()
        for i in keys.indices where keyEquals(r, keys[i].name) { return i }
        return nil
    }

    /// Compares a raw (unescaped) key range with an ASCII literal.
    @inline(__always) func keyEquals(_ r: Range<Int>, _ key: StaticString) -> Bool {
        let n = key.utf8CodeUnitCount
        guard r.count == n else { return false }
        let p = key.utf8Start
        var k = 0
        while k < n {
            if bytes[r.lowerBound + k] != p[k] { return false }
            k += 1
        }
        return true
    }
}

public enum JSON {
    /// Parses one JSON document (surrounding whitespace allowed, nothing after it).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        var s = JSONScanner(bytes)
        let v = try s.parseValue()
        s.skipWhitespace()
        // Some senders terminate text with a NUL byte; tolerate trailing NULs.
        while s.pos < s.end && bytes[s.pos] == 0 { s.pos += 1 }
        guard s.pos == s.end else { throw s.error("trailing bytes after the JSON value") }
        return v
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { (b) throws(JSONError) -> JSONValue in try parse(b) }
        } catch let e as JSONError { throw e } catch { throw JSONError(offset: 0, reason: "\(error)") }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Serializes compactly, keys in their stored order.
    public static func serialize(_ v: JSONValue) -> [UInt8] {
        var w = JSONWriter()
        w.value(v)
        return w.bytes
    }

    public static func string(_ v: JSONValue) -> String { String(decoding: serialize(v), as: UTF8.self) }

    /// Serializes compactly with object keys sorted (stable output for transcripts and tests).
    public static func sortedString(_ v: JSONValue) -> String {
        var w = JSONWriter()
        w.value(v, sortKeys: true)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// Appends compact JSON to a byte array.
public struct JSONWriter {
    public var bytes: [UInt8] = []
    public init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    @inline(__always) public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func string(_ s: String) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { u in
            var runStart = 0
            for i in 0..<u.count {
                let c = u[i]
                if c == 0x22 || c == 0x5C || c < 0x20 {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
                    switch c {
                    case 0x22: raw("\\\"")
                    case 0x5C: raw("\\\\")
                    case 0x0A: raw("\\n")
                    case 0x0D: raw("\\r")
                    case 0x09: raw("\\t")
                    case 0x08: raw("\\b")
                    case 0x0C: raw("\\f")
                    default:
                        raw("\\u00")
                        let hex: [UInt8] = Array("0123456789abcdef".utf8)
                        bytes.append(hex[Int(c >> 4)])
                        bytes.append(hex[Int(c & 15)])
                    }
                    runStart = i + 1
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count]))
        }
        bytes.append(0x22)
    }

    public mutating func int<I: BinaryInteger>(_ v: I) {
        if v == 0 { bytes.append(0x30); return }
        var digits: [UInt8] = []
        var neg = false
        var m = Int64(clamping: v)
        if m < 0 {
            neg = true
            if m == Int64.min { raw("-9223372036854775808"); return }
            m = -m
        }
        while m > 0 { digits.append(UInt8(m % 10) + 0x30); m /= 10 }
        if neg { bytes.append(0x2D) }
        bytes.append(contentsOf: digits.reversed())
    }

    public mutating func double(_ d: Double) {
        if d.isFinite && d == d.rounded() && abs(d) < 9.0e15 { int(Int64(d)); return }
        guard d.isFinite else { raw("null"); return }
        bytes.append(contentsOf: "\(d)".utf8)
    }

    public mutating func value(_ v: JSONValue, sortKeys: Bool = false) {
        switch v {
        case .null: raw("null")
        case .bool(let b): if b { raw("true") } else { raw("false") }
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let a):
            bytes.append(0x5B)
            for (i, e) in a.enumerated() {
                if i > 0 { bytes.append(0x2C) }
                value(e, sortKeys: sortKeys)
            }
            bytes.append(0x5D)
        case .object(let o):
            bytes.append(0x7B)
            let pairs = sortKeys ? o.pairs.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : o.pairs
            for (i, p) in pairs.enumerated() {
                if i > 0 { bytes.append(0x2C) }
                string(p.key)
                bytes.append(0x3A)
                value(p.value, sortKeys: sortKeys)
            }
            bytes.append(0x7D)
        }
    }
}

/// An object key of up to 15 bytes with its closing quote, as two little-endian 8-byte words and
/// the masks of the bytes that count (JSONScanner.readKey).
struct RawKey: Sendable {
    let name: StaticString
    /// The key's bytes and its closing quote.
    let length: Int
    let word0: UInt64, mask0: UInt64
    let word1: UInt64, mask1: UInt64

    init(_ name: StaticString) {
        let n = name.utf8CodeUnitCount
        precondition(n > 0 && n <= 15, "RawKey: 1 to 15 bytes")
        var b = [UInt8](repeating: 0, count: 16)
        for i in 0..<n { b[i] = name.utf8Start[i] }
        b[n] = 0x22
        func word(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
        func mask(_ bytes: Int) -> UInt64 { bytes >= 8 ? ~0 : bytes <= 0 ? 0 : (1 << (8 * UInt64(bytes))) - 1 }
        self.name = name
        length = n + 1
        word0 = word(0)
        mask0 = mask(n + 1)
        word1 = word(8)
        mask1 = mask(n + 1 - 8)
    }
}
