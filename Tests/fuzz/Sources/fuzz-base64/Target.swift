// fuzz-base64: Base64Codec.decode in every spelling it accepts (padded, unpadded, URL-safe,
// with whitespace), directly and as the `data` of a media message (raw or JSON-escaped, which is
// how it arrives: MediaScanner unescapes, then decodes).
//
// The first byte selects the mode:
//   bit 0 = 0  the rest is base64 TEXT from the network. Whatever it decodes to must re-encode
//              and decode to the same bytes; canonical text (one alphabet, padding only at the
//              end, zero trailing bits) must decode, to what a straightforward reference decoder
//              reads.
//   bit 0 = 1  the rest is BYTES, encoded here in the spelling of bits 1-3 (bit 1: no padding,
//              bit 2: URL-safe alphabet, bit 3: whitespace every n characters, n from the second
//              byte); the codec must give the bytes back.
//   bits 4-5   how the text goes into a media message: 0 raw when it can be (else escaped),
//              1 escaped with every "/" as "\/", 2 every byte as \u00XX, 3 not at all. The
//              message must decode to exactly what Base64Codec.decode gives, and fail when that
//              is nil or empty.

import ExtrasBase64
import FuzzSupport
@testable import RTMSProtocol

let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

func sextet(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
    case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
    case UInt8(ascii: "+"), UInt8(ascii: "-"): 62
    case UInt8(ascii: "/"), UInt8(ascii: "_"): 63
    default: nil
    }
}

/// A plain reference decoder for canonical text: whitespace removed, one alphabet, "=" only as
/// 0-2 final padding characters of a 4-aligned text, length mod 4 != 1, zero trailing bits.
/// nil when the text is not canonical (the codec may still accept some of those leniently).
func referenceDecode(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
    var t = text.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
    let std = t.contains(UInt8(ascii: "+")) || t.contains(UInt8(ascii: "/"))
    let url = t.contains(UInt8(ascii: "-")) || t.contains(UInt8(ascii: "_"))
    if std && url { return nil }
    var pad = 0
    while t.last == UInt8(ascii: "=") { t.removeLast(); pad += 1 }
    if pad > 0 && ((t.count + pad) % 4 != 0 || pad > 2) { return nil }
    if t.count % 4 == 1 { return nil }
    var out: [UInt8] = []
    var acc: UInt32 = 0
    var bits = 0
    for c in t {
        guard let v = sextet(c) else { return nil }
        acc = acc << 6 | UInt32(v)
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            acc &= (1 << UInt32(bits)) - 1
        }
    }
    if acc != 0 { return nil }  // non-zero trailing bits: not canonical
    return out
}

func codecDecode(_ text: some Collection<UInt8>) -> [UInt8]? {
    Array(text).withUnsafeBufferPointer { Base64Codec.decode($0) }
}

/// The text as a JSON string body (without quotes).
func jsonEmbed(_ text: [UInt8], style: UInt8) -> [UInt8] {
    let hex = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for c in text {
        switch style {
        case 2:
            out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]]
        default:
            if c == 0x22 || c == 0x5C {
                out += [0x5C, c]
            } else if c < 0x20 {
                out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]]
            } else if c == UInt8(ascii: "/") && style == 1 {
                out += [0x5C, c]
            } else {
                out.append(c)
            }
        }
    }
    return out
}

func checkMediaPath(_ text: [UInt8], style: UInt8, expect: [UInt8]?) {
    var msg = Array(#"{"msg_type":14,"content":{"user_id":7,"user_name":"u","data":""#.utf8)
    if style == 0 && !text.contains(0x22) && !text.contains(0x5C) { msg += text } else { msg += jsonEmbed(text, style: style) }
    msg += Array(#"","timestamp":1}}"#.utf8)
    let result: Result<RTMSMessage, DecodeError> = msg.withUnsafeBytes { b in
        do throws(DecodeError) { return .success(try JSONCodec().decode(b)) } catch { return .failure(error) }
    }
    switch (result, expect) {
    case (.success(.media(let m)), .some(let want)) where !want.isEmpty:
        fuzzCheck(m.data == want, "media path decodes base64 differently from Base64Codec: \(fuzzShow(m.data)) vs \(fuzzShow(want)) for \(fuzzShow(msg))")
    case (.failure, .none), (.failure, .some([])):
        break
    case (.success(let m), _):
        fuzzFail("media path accepted \(fuzzShow(msg)) as \(m); Base64Codec says \(expect.map { fuzzShow($0) } ?? "nil")")
    case (.failure(let e), .some(let want)):
        fuzzFail("media path rejected \(fuzzShow(msg)) (\(e)); Base64Codec decodes it to \(fuzzShow(want))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase64(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let embed = (mode >> 4) & 3
    if mode & 1 == 0 {
        // Text from the network.
        let text = input.rest
        let got = text.withMemoryRebound(to: UInt8.self) { Base64Codec.decode($0) }
        // The vector decoder (CBase64) answers only where the library gives the same answer.
        let library = text.withMemoryRebound(to: UInt8.self) { Base64Codec.decodeWithLibrary($0) }
        fuzzCheck(
            got == library, "decode gives \(got.map { fuzzShow($0) } ?? "nil"), the library \(library.map { fuzzShow($0) } ?? "nil") for \(fuzzShow(text))")
        if let got {
            let again = codecDecode(Base64Codec.encode(got).utf8)
            fuzzCheck(again == got, "re-encoded output does not decode to itself: \(fuzzShow(got))")
            let nonWhite = text.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }.count
            fuzzCheck(got.count * 4 <= nonWhite * 3, "\(got.count) bytes decoded from \(nonWhite) characters: \(fuzzShow(text))")
        }
        if let string = String(validating: text.bindMemory(to: UInt8.self), as: UTF8.self) {
            fuzzCheck(Base64Codec.decode(string) == got, "decode(String) differs from decode(bytes) for \(fuzzShow(text))")
        }
        if let want = referenceDecode(text) {
            fuzzCheck(got == want, "canonical base64 \(fuzzShow(text)) decodes to \(got.map { fuzzShow($0) } ?? "nil"), reference \(fuzzShow(want))")
        }
        if embed != 3 { checkMediaPath(Array(text), style: embed, expect: got) }
    } else {
        // Bytes, encoded here in one of the spellings.
        let every = Int(input.byte())
        let payload = Array(input.rest)
        var opts: Base64.EncodingOptions = []
        if mode & 2 != 0 { opts.insert(.omitPaddingCharacter) }
        if mode & 4 != 0 { opts.insert(.base64UrlAlphabet) }
        var text = Base64.encodeToBytes(bytes: payload, options: opts)
        if mode & 8 != 0 && every > 0 {
            let spaces: [UInt8] = [0x20, 0x0A, 0x0D, 0x09]
            var spaced: [UInt8] = []
            for (i, c) in text.enumerated() {
                if i > 0 && i % every == 0 { spaced.append(spaces[(i / every) % 4]) }
                spaced.append(c)
            }
            if every & 0x80 != 0 { spaced.append(0x0A) }  // trailing newline, as PEM-style writers do
            text = spaced
        }
        let got = codecDecode(text)
        fuzzCheck(got == payload, "spelling \(mode & 0x0F) of \(fuzzShow(payload)) = \(fuzzShow(text)) decodes to \(got.map { fuzzShow($0) } ?? "nil")")
        if embed != 3 { checkMediaPath(text, style: embed, expect: payload) }
    }
    return 0
}

/// What main.swift hands to libFuzzer's driver. (Referring to the @_cdecl function itself from
/// main.swift would emit its C thunk in both object files in a debug build.)
let fuzzTarget: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { fuzzBase64($0, $1) }
