// fuzz-json: the protocol's JSON decoder and its media fast path, on raw message bytes as a
// WebSocket message delivers them (JSONCodec.decode: the top-level scan, MediaScanner for
// msg_type 14-18, the value tree and RTMSMessage(json:) for everything else).
//
// Invariants, besides "never traps":
//  - a decoded media message survives the codec's own encoders (encodeMedia and the value-tree
//    encoder): decoding what they write gives the same message, up to what the encoders drop by
//    design (user fields when channel_id is set, start/end times outside transcripts, invalid
//    UTF-8 in text payloads, which is written repaired);
//  - any other decoded message re-encodes to bytes that decode, and the second round trip is a
//    fixed point;
//  - JSON.parse -> serialize is a fixed point after one normalization (serialize(parse(s)) == s
//    for s = serialize(parse(input)));
//  - the media fast path and the value-tree slow path agree on inputs both can read (valid UTF-8
//    JSON without backslashes, where raw and decoded key spellings coincide).

import FuzzSupport
import RTMSProtocol

let codec = JSONCodec()

func decode(_ bytes: UnsafeRawBufferPointer) -> Result<RTMSMessage, DecodeError> {
    do throws(DecodeError) { return .success(try codec.decode(bytes)) } catch { return .failure(error) }
}

func decode(_ bytes: [UInt8]) -> Result<RTMSMessage, DecodeError> {
    bytes.withUnsafeBytes { decode($0) }
}

/// What the encoders keep of a media message.
func normalized(_ m: MediaData) -> MediaData {
    var n = m
    if n.channelID != nil { n.userID = 0; n.userName = "" }
    if n.kind != .transcript { n.startTime = 0; n.endTime = 0 }
    if n.kind == .transcript || n.kind == .chat { n.data = Array(String(decoding: n.data, as: UTF8.self).utf8) }
    return n
}

func checkMediaRoundTrip(_ m: MediaData) {
    fuzzCheck(!m.data.isEmpty, "media message with an empty payload was accepted")
    let want = normalized(m)
    let fast = JSONCodec.encodeMedia(m)
    switch decode(fast) {
    case .success(.media(let m2)):
        fuzzCheck(m2 == want, "encodeMedia round trip differs:\n  got  \(m2)\n  want \(want)\n  via  \(fuzzShow(fast, limit: 400))")
    case .success(let other):
        fuzzFail("encodeMedia output decodes as another message: \(other)")
    case .failure(let e):
        fuzzFail("encodeMedia output does not decode: \(e) \(fuzzShow(fast, limit: 400))")
    }
    let tree = JSON.serialize(.object(RTMSMessage.media(m).json))
    switch decode(tree) {
    case .success(.media(let m2)):
        fuzzCheck(m2 == want, "value-tree media round trip differs:\n  got  \(m2)\n  want \(want)")
    case .success(let other):
        fuzzFail("value-tree media output decodes as another message: \(other)")
    case .failure(let e):
        fuzzFail("value-tree media output does not decode: \(e) \(fuzzShow(tree, limit: 400))")
    }
}

func checkControlRoundTrip(_ m: RTMSMessage) {
    let once = codec.encode(m)
    guard case .success(let m2) = decode(once) else {
        // The encoders may write what the decoders reject for messages our side never sends
        // that way (e.g. a handshake response with status 0 and no media URLs); not a defect of
        // the receiving path. Only the encoder's fixed point is checked below, on what decodes.
        return
    }
    fuzzCheck(m2.messageType == m.messageType, "msg_type changed in a round trip: \(m.messageType) -> \(m2.messageType)")
    let twice = codec.encode(m2)
    guard case .success(let m3) = decode(twice) else {
        fuzzFail("re-encoded message no longer decodes: \(fuzzShow(twice, limit: 400))")
    }
    fuzzCheck(m3 == m2, "second round trip is not a fixed point:\n  \(m2)\n  \(m3)")
}

func checkJSONFixedPoint(_ v: JSONValue) {
    let s1 = JSON.serialize(v)
    let v2: JSONValue
    do { v2 = try JSON.parse(s1) } catch { fuzzFail("serialized JSON does not parse: \(error) \(fuzzShow(s1, limit: 400))") }
    let s2 = JSON.serialize(v2)
    fuzzCheck(s1 == s2, "JSON serialize/parse is not a fixed point:\n  \(fuzzShow(s1, limit: 400))\n  \(fuzzShow(s2, limit: 400))")
    _ = JSON.sortedString(v)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: size > 0 ? UnsafeRawPointer(data) : nil, count: size)
    let decoded = decode(bytes)
    switch decoded {
    case .success(.media(let m)): checkMediaRoundTrip(m)
    case .success(let m): checkControlRoundTrip(m)
    case .failure: break
    }

    guard let value = try? JSON.parse(bytes) else { return 0 }
    checkJSONFixedPoint(value)
    guard let object = value.objectValue else { return 0 }

    // The slow path for a media object (also what a metadata consumer would call), any kind.
    if let content = object["content"]?.objectValue {
        for kind in [MediaKind.audio, .video, .deskshare, .transcript, .chat] {
            _ = try? MediaScanner.media(from: content, kind: kind)
        }
    }

    // Fast path vs value tree, where both read the same keys and the same text: no backslash
    // (raw and decoded key spellings coincide) and valid UTF-8 (the tree repairs invalid UTF-8
    // in strings, the fast path hands text payloads over as received; text frames are checked
    // for UTF-8 before they reach the codec, so only binary frames can carry it).
    if let mt = object["msg_type"]?.intValue, (14...18).contains(mt), !bytes.contains(0x5C),
        String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) != nil
    {
        let slow: Result<RTMSMessage, DecodeError>
        do throws(DecodeError) { slow = .success(try RTMSMessage(json: object)) } catch { slow = .failure(error) }
        switch (decoded, slow) {
        case (.success(let a), .success(let b)):
            fuzzCheck(a == b, "media fast path and value tree disagree:\n  fast \(a)\n  tree \(b)")
        case (.failure, .failure):
            break
        case (.success(let a), .failure(let e)):
            fuzzFail("media fast path accepts what the value tree rejects (\(e)): \(a)")
        case (.failure(let e), .success(let b)):
            fuzzFail("value tree accepts what the media fast path rejects (\(e)): \(b)")
        }
    }
    return 0
}

/// What main.swift hands to libFuzzer's driver. (Referring to the @_cdecl function itself from
/// main.swift would emit its C thunk in both object files in a debug build.)
let fuzzTarget: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { fuzzJSON($0, $1) }
