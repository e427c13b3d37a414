// The wire codec behind an internal protocol: V1 is JSON over WebSocket; Zoom's announced V2
// (protobuf) would be another conformer.

import CBase64
import ExtrasBase64

/// Turns wire bytes into messages and back.
public protocol WireCodec: Sendable {
    /// Decodes one complete WebSocket message (text or binary frame payload).
    func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> RTMSMessage
    /// Encodes one message.
    func encode(_ message: RTMSMessage) -> [UInt8]
    /// Whether encoded messages go out as text frames (else binary).
    var usesTextFrames: Bool { get }
}

/// RTMS V1: UTF-8 JSON. Media messages (14–18) are decoded by a targeted scan that never builds a
/// value tree and base64-decodes the payload straight from the received bytes.
public struct JSONCodec: WireCodec {
    public init() {}
    public var usesTextFrames: Bool { true }

    /// The message's keys that matter, by index (readKey).
    static let keys = [RawKey("msg_type"), RawKey("content")]

    public func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> RTMSMessage {
        var s = JSONScanner(bytes)
        var msgType: Int? = nil
        var content: Range<Int>? = nil
        // A media message whose msg_type comes before its content (Zoom's order) is scanned in
        // place: its content, a long base64 string, is read once, not skipped and read again.
        // (Two optionals, not an optional tuple: the tuple's copies go through generic witnesses.)
        var scannedKind: MediaKind? = nil
        var scanned: MediaData? = nil
        do {
            s.skipWhitespace()
            guard s.pos < s.end else { throw DecodeError(messageType: nil, reason: "empty message") }
            guard bytes[s.pos] == UInt8(ascii: "{") else {
                throw DecodeError(messageType: nil, reason: "not a JSON object")
            }
            s.pos += 1
            s.skipWhitespace()
            if s.peek() != UInt8(ascii: "}") {
                while true {
                    s.skipWhitespace()
                    let key = try s.readKey(Self.keys)
                    try s.expectColon()
                    s.skipWhitespace()
                    if key == 0 {
                        let at = s.pos
                        if let i = s.readSmallInt(), i >= 0, i < 1 << 20 {
                            msgType = Int(i)
                        } else {
                            s.pos = at
                            let v = try s.parseValue(depth: 1)
                            if let i = v.intValue, i >= 0, i < 1 << 20 {
                                msgType = Int(i)
                            } else {
                                throw DecodeError(messageType: nil, reason: "msg_type is a \(v.typeName), not an integer")
                            }
                        }
                    } else if key == 1 {
                        let start = s.pos
                        if let mt = msgType, let kind = MediaKind(messageType: mt) {
                            do {
                                scanned = try MediaScanner.scan(&s, kind: kind)
                                scannedKind = kind
                            } catch {
                                // Skipped instead, as in the other order: a later content or
                                // msg_type, or a fault after this one, decides, and the scan of the
                                // final content below gives the error it always gave.
                                s.pos = start
                                scanned = nil
                                scannedKind = nil
                                try s.skipValue(depth: 1)
                            }
                        } else {
                            scanned = nil
                            scannedKind = nil
                            try s.skipValue(depth: 1)
                        }
                        content = start..<s.pos
                    } else {
                        try s.skipValue(depth: 1)
                    }
                    s.skipWhitespace()
                    guard s.pos < s.end else { throw s.error("unterminated object") }
                    if bytes[s.pos] == UInt8(ascii: ",") { s.pos += 1; continue }
                    if bytes[s.pos] == UInt8(ascii: "}") { s.pos += 1; break }
                    throw s.error("expected ',' or '}'")
                }
            }
        } catch let e as JSONError {
            throw DecodeError(messageType: msgType, reason: e.description)
        } catch let e as DecodeError {
            throw e
        } catch {
            throw DecodeError(messageType: msgType, reason: "\(error)")
        }
        guard let mt = msgType else { throw DecodeError(messageType: nil, reason: "no msg_type") }
        if let kind = MediaKind(messageType: mt) {
            if scannedKind == kind, let scanned { return .media(scanned) }
            guard let content else { throw DecodeError(messageType: mt, reason: "no content object") }
            return .media(try MediaScanner.scan(bytes, content, kind: kind))
        }
        let value: JSONValue
        do { value = try JSON.parse(bytes) } catch {
            throw DecodeError(messageType: mt, reason: error.description)
        }
        guard let o = value.objectValue else { throw DecodeError(messageType: mt, reason: "not a JSON object") }
        return try RTMSMessage(json: o)
    }

    public func encode(_ message: RTMSMessage) -> [UInt8] {
        if case .media(let m) = message { return JSONCodec.encodeMedia(m) }
        return JSON.serialize(.object(message.json))
    }

    /// Writes a media message without building a value tree (the simulator's hot path).
    public static func encodeMedia(_ m: MediaData) -> [UInt8] {
        encodeMedia(
            kind: m.kind, userID: m.userID, userName: m.userName, channelID: m.channelID,
            payload: m.data, timestamp: m.timestamp, startTime: m.startTime, endTime: m.endTime,
            language: m.language, sequence: m.sequence)
    }

    public static func encodeMedia(
        kind: MediaKind, userID: Int64, userName: String, channelID: String? = nil,
        payload: some Collection<UInt8>, timestamp: Int64, startTime: Int64 = 0,
        endTime: Int64 = 0, language: Int? = nil, sequence: Int64? = nil
    ) -> [UInt8] {
        var w = JSONWriter(capacity: payload.count * 4 / 3 + 192)
        w.raw("{\"msg_type\":")
        w.int(kind.messageType.rawValue)
        w.raw(",\"content\":{")
        if let channelID {
            w.raw("\"channel_id\":")
            w.string(channelID)
        } else {
            w.raw("\"user_id\":")
            w.int(userID)
            w.raw(",\"user_name\":")
            w.string(userName)
        }
        w.raw(",\"data\":")
        switch kind {
        case .audio, .video, .deskshare:
            w.bytes.append(0x22)
            w.bytes.append(contentsOf: Base64.encodeToBytes(bytes: payload))
            w.bytes.append(0x22)
            w.raw(",\"length\":")
            w.int(payload.count)
        case .transcript, .chat:
            w.string(String(decoding: Array(payload), as: UTF8.self))
        }
        w.raw(",\"timestamp\":")
        w.int(timestamp)
        if kind == .transcript {
            w.raw(",\"start_time\":")
            w.int(startTime)
            w.raw(",\"end_time\":")
            w.int(endTime)
        }
        if let language {
            w.raw(",\"language\":")
            w.int(language)
        }
        if let sequence {
            w.raw(",\"sequence\":")
            w.int(sequence)
        }
        w.raw("}}")
        return w.bytes
    }
}

/// base64 in every spelling Zoom-side senders use: padded, unpadded, URL-safe, with whitespace.
public enum Base64Codec {
    public static func encode(_ bytes: some Collection<UInt8>) -> String { Base64.encodeToString(bytes: bytes) }

    /// Whether this CPU runs CBase64's vector decoder (SSSE3 on x86-64; AVX2 too where the CPU has it).
    static let vectorDecoder = openrtms_b64_vector_available() != 0

    /// Decodes base64 text. Returns nil if it is not base64 in any accepted spelling.
    public static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        // Standard base64 of 20 characters or more: the vector decoder (bench/base64_bench.py
        // measures it against the library). It accepts only what the library accepts too, and
        // leaves everything else, URL-safe and whitespace included, to the paths below.
        if vectorDecoder, text.count >= 20, let base = text.baseAddress {
            let capacity = text.count / 4 * 3 + 3
            if capacity <= 1024 {
                // An audio message's payload: decoded on the stack, then copied into an array of
                // its exact size. Array(_:) of a buffer is specialized here; the array's
                // uninitialized-capacity initializer is not, and looks up the storage class's
                // metadata in the runtime on every call (about 350 instructions, more than the
                // copy).
                let d = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { out -> [UInt8]? in
                    let r = openrtms_b64_decode(base, text.count, out.baseAddress!)
                    return r >= 0 ? Array(UnsafeBufferPointer(rebasing: out[0..<r])) : nil
                }
                if let d { return d }
            } else {
                var accepted = false
                let d = [UInt8](unsafeUninitializedCapacity: capacity) { out, n in
                    let r = openrtms_b64_decode(base, text.count, out.baseAddress!)
                    accepted = r >= 0
                    n = accepted ? r : 0
                }
                if accepted { return d }
            }
        }
        return decodeWithLibrary(text)
    }

    /// The library's decoder in every accepted spelling (what `decode` answers for any text the
    /// vector decoder leaves alone).
    static func decodeWithLibrary(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        if let d = try? Base64.decode(bytes: text, options: [.omitPaddingCharacter]) { return d }
        // Slow paths: URL-safe alphabet, embedded whitespace.
        var cleaned = [UInt8]()
        cleaned.reserveCapacity(text.count)
        var urlSafe = false
        for c in text {
            switch c {
            case 0x20, 0x0A, 0x0D, 0x09: continue
            case UInt8(ascii: "-"), UInt8(ascii: "_"): urlSafe = true; cleaned.append(c)
            default: cleaned.append(c)
            }
        }
        if cleaned.count == text.count && !urlSafe { return nil }
        var opts: Base64.DecodingOptions = [.omitPaddingCharacter]
        if urlSafe { opts.insert(.base64UrlAlphabet) }
        return cleaned.withUnsafeBufferPointer { try? Base64.decode(bytes: $0, options: opts) }
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var t = text
        return t.withUTF8 { decode($0) }
    }
}

/// Reads the `content` object of a media message.
public enum MediaScanner {
    /// The content's keys, by index (readKey, the switch in scan), in the order Zoom sends an
    /// audio message's ("length", the payload's size, is matched only to be skipped cheaply).
    static let keys = [
        RawKey("user_id"), RawKey("user_name"), RawKey("data"), RawKey("length"), RawKey("timestamp"),
        RawKey("sequence"), RawKey("start_time"), RawKey("end_time"), RawKey("language"), RawKey("channel_id"),
    ]

    /// Fast path: scans `content` (a byte range of `bytes`) without building a tree.
    static func scan(_ bytes: UnsafeRawBufferPointer, _ content: Range<Int>, kind: MediaKind) throws(DecodeError) -> MediaData {
        var s = JSONScanner(bytes, start: content.lowerBound, end: content.upperBound)
        return try scan(&s, kind: kind)
    }

    /// Scans the content object at the scanner's position (leading whitespace allowed) and leaves
    /// the scanner just after its closing brace.
    static func scan(_ s: inout JSONScanner, kind: MediaKind) throws(DecodeError) -> MediaData {
        let mt = kind.messageType.rawValue
        let bytes = s.bytes
        var userID: Int64 = 0
        var userName = ""
        var channelID: String? = nil
        var timestamp: Int64 = 0
        var startTime: Int64 = 0
        var endTime: Int64 = 0
        var language: Int? = nil
        var sequence: Int64? = nil
        var dataRange: Range<Int>? = nil
        var dataEscaped = false
        var dataObject: JSONValue? = nil
        do {
            s.skipWhitespace()
            guard s.peek() == UInt8(ascii: "{") else {
                throw DecodeError(messageType: mt, reason: "content is not an object")
            }
            s.pos += 1
            s.skipWhitespace()
            if s.peek() != UInt8(ascii: "}") {
                while true {
                    s.skipWhitespace()
                    let key = try s.readKey(Self.keys)
                    try s.expectColon()
                    s.skipWhitespace()
                    let first = s.peek()
                    switch key {
                    case 0: userID = try Self.readInt(&s) ?? 0
                    case 1: userName = try Self.readString(&s) ?? ""
                    case 2:  // data
                        if first == UInt8(ascii: "\"") {
                            let (r, esc) = try s.readStringRange()
                            dataRange = r
                            dataEscaped = esc
                        } else {
                            let v = try s.parseValue(depth: 2)
                            if !v.isNull { dataObject = v }
                        }
                    case 3:  // length: the payload's size, not needed
                        if s.readSmallInt() == nil { try s.skipValue(depth: 2) }
                    case 4: timestamp = try Self.readInt(&s) ?? 0
                    case 5: sequence = try Self.readInt(&s)
                    case 6: startTime = try Self.readInt(&s) ?? 0
                    case 7: endTime = try Self.readInt(&s) ?? 0
                    case 8: language = try Self.readInt(&s).map { Int($0) }
                    case 9:  // channel_id
                        if first == UInt8(ascii: "\"") { channelID = try Self.readString(&s) } else if let v = try Self.readInt(&s) { channelID = String(v) }
                    default: try s.skipValue(depth: 2)
                    }
                    s.skipWhitespace()
                    guard s.pos < s.end else { throw s.error("unterminated content object") }
                    if bytes[s.pos] == UInt8(ascii: ",") { s.pos += 1; continue }
                    if bytes[s.pos] == UInt8(ascii: "}") { s.pos += 1; break }
                    throw s.error("expected ',' or '}' in content")
                }
            }
        } catch let e as DecodeError {
            throw e
        } catch let e as JSONError {
            throw DecodeError(messageType: mt, reason: e.description)
        } catch {
            throw DecodeError(messageType: mt, reason: "\(error)")
        }

        let payload: [UInt8]
        if let dataRange {
            switch kind {
            case .audio, .video, .deskshare:
                if dataEscaped {
                    let raw: [UInt8]
                    do { raw = try s.unescape(dataRange) } catch {
                        throw DecodeError(messageType: mt, reason: "content.data: \(error.description)")
                    }
                    guard let d = raw.withUnsafeBufferPointer({ Base64Codec.decode($0) }) else {
                        throw DecodeError(messageType: mt, reason: "content.data is not base64")
                    }
                    payload = d
                } else {
                    let text = UnsafeRawBufferPointer(rebasing: bytes[dataRange]).bindMemory(to: UInt8.self)
                    guard let d = Base64Codec.decode(text) else {
                        throw DecodeError(messageType: mt, reason: "content.data is not base64")
                    }
                    payload = d
                }
            case .transcript, .chat:
                if dataEscaped {
                    do { payload = try s.unescape(dataRange) } catch {
                        throw DecodeError(messageType: mt, reason: "content.data: \(error.description)")
                    }
                } else {
                    payload = Array(UnsafeRawBufferPointer(rebasing: bytes[dataRange]))
                }
            }
        } else if let dataObject, kind == .chat || kind == .transcript {
            // Chat may carry a JSON object instead of a JSON string: hand over its compact text.
            payload = JSON.serialize(dataObject)
        } else {
            throw DecodeError(messageType: mt, reason: dataObject == nil ? "no content.data" : "content.data is not a string")
        }
        guard !payload.isEmpty else { throw DecodeError(messageType: mt, reason: "content.data is empty") }
        return MediaData(
            kind: kind, userID: userID, userName: userName, data: payload, timestamp: timestamp,
            startTime: startTime, endTime: endTime, channelID: channelID, language: language,
            sequence: sequence)
    }

    /// Integer field: number (fraction truncated) or a string of digits. nil for null or other types.
    static func readInt(_ s: inout JSONScanner) throws(JSONError) -> Int64? {
        s.skipWhitespace()
        if let small = s.readSmallInt() { return small }
        let v = try s.peekIsNumberStart() ? s.readNumber() : s.parseValue(depth: 2)
        switch v {
        case .int(let i): return i
        case .double(let d) where d.isFinite && abs(d) < 9.0e18: return Int64(d)
        case .string(let str): return Int64(str)
        default: return nil
        }
    }

    static func readString(_ s: inout JSONScanner) throws(JSONError) -> String? {
        let v = try s.parseValue(depth: 2)
        switch v {
        case .string(let str): return str
        // Integers, 5.0 included (as the value tree, which writes 5.0 as 5, reads it).
        default: return v.intValue.map { String($0) }
        }
    }

    /// Slow path from a parsed `content` object.
    public static func media(from c: JSONObject, kind: MediaKind) throws(DecodeError) -> MediaData {
        let bytes = JSON.serialize(.object(["content": .object(c)]))
        do {
            return try bytes.withUnsafeBytes { (b) throws(DecodeError) -> MediaData in
                // Skip the `{"content":` prefix (11 bytes) and the final `}`.
                try scan(b, 11..<(b.count - 1), kind: kind)
            }
        } catch let e as DecodeError { throw e } catch { throw DecodeError(messageType: nil, reason: "\(error)") }
    }
}
