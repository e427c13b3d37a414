import Foundation
import Testing
@testable import RTMSProtocol
import CBase64

let codec = JSONCodec()

func decode(_ s: String) throws(DecodeError) -> RTMSMessage {
    let bytes = Array(s.utf8)
    do {
        return try bytes.withUnsafeBytes { (b) throws(DecodeError) -> RTMSMessage in try codec.decode(b) }
    } catch let e as DecodeError { throw e } catch { throw DecodeError(messageType: nil, reason: "\(error)") }
}

func decodeBytes(_ bytes: [UInt8]) throws(DecodeError) -> RTMSMessage {
    do {
        return try bytes.withUnsafeBytes { (b) throws(DecodeError) -> RTMSMessage in try codec.decode(b) }
    } catch let e as DecodeError { throw e } catch { throw DecodeError(messageType: nil, reason: "\(error)") }
}

func roundTrip(_ m: RTMSMessage) throws -> RTMSMessage {
    try decodeBytes(codec.encode(m))
}

@Suite struct JSONTests {
    @Test func parsesNestedValuesAndKeepsOrder() throws {
        let v = try JSON.parse(#" { "b" : [1, -2.5, true, false, null, "x"], "a": {"k": "v"} } "#)
        #expect(v.objectValue?.keys == ["b", "a"])
        #expect(v["b"]?.arrayValue == [.int(1), .double(-2.5), .bool(true), .bool(false), .null, .string("x")])
        #expect(v["a"]?["k"]?.stringValue == "v")
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try JSON.parse(#"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#)
        #expect(v["s"]?.stringValue == "a\"b\\c/d\né😀")
    }

    @Test func serializerEscapesControlCharactersAndRoundTrips() throws {
        let original: JSONValue = .object(["t": .string("q\"\\\n\t\u{01}é"), "n": .int(-42), "a": .array([.null, .bool(true)])])
        let text = JSON.string(original)
        #expect(text.contains("\\u0001"))
        #expect(try JSON.parse(text) == original)
    }

    @Test func sortedOutputIsStable() {
        #expect(JSON.sortedString(.object(["b": .int(1), "a": .int(2)])) == #"{"a":2,"b":1}"#)
    }

    @Test func largeIntegersAndFloats() throws {
        #expect(try JSON.parse("1795305655669") == .int(1_795_305_655_669))
        #expect(try JSON.parse("18446744073709551615") == .double(18446744073709551615.0))
        #expect(try JSON.parse("1e3").intValue == 1000)
    }

    /// Strings are scanned eight bytes at a time for their first 64 bytes: an escape or the end
    /// at every offset around those steps.
    @Test func stringsEndAndEscapeAtEveryOffset() throws {
        for length in 0...80 {
            let plain = String(repeating: "a", count: length)
            #expect(try JSON.parse(#"{"k":"\#(plain)","n":1}"#) == .object(["k": .string(plain), "n": .int(1)]))
            for at in stride(from: 0, through: length, by: 1) {
                let raw = String(plain.prefix(at)) + #"\""# + String(plain.dropFirst(at))
                let want = String(plain.prefix(at)) + "\"" + String(plain.dropFirst(at))
                #expect(try JSON.parse(#"["\#(raw)"]"#) == .array([.string(want)]))
            }
        }
    }

    /// Integers take a fast path up to 18 digits; the general path reads the rest. Both agree.
    @Test func integerBoundariesAndNumberForms() throws {
        #expect(try JSON.parse("999999999999999999") == .int(999_999_999_999_999_999))
        #expect(try JSON.parse("-999999999999999999") == .int(-999_999_999_999_999_999))
        #expect(try JSON.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSON.parse("9223372036854775808") == .double(9223372036854775808.0))
        #expect(try JSON.parse("-0") == .int(0))
        #expect(try JSON.parse("007") == .int(7))
        #expect(try JSON.parse("[12.5,-3e2,4E+1,5.]") == .array([.double(12.5), .double(-300), .double(40), .double(5)]))
        #expect(try JSON.parse(#"{"a":12,"b":-1}"#) == .object(["a": .int(12), "b": .int(-1)]))
    }

    /// The eight-digit test accepts exactly '0' to '9' in every byte, the bytes next to them in
    /// ASCII ('/' and ':') and every other value refused in each position.
    @Test func eightDigitsAtATime() {
        let base = Array("12345678".utf8)
        func word(_ b: [UInt8]) -> UInt64 { b.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        #expect(JSONScanner.allDigits(word(base)) && JSONScanner.eightDigits(word(base)) == 12_345_678)
        #expect(JSONScanner.eightDigits(word(Array("00000000".utf8))) == 0)
        #expect(JSONScanner.eightDigits(word(Array("99999999".utf8))) == 99_999_999)
        #expect(JSONScanner.eightDigits(word(Array("09080706".utf8))) == 9_080_706)
        for at in 0..<8 {
            for v in 0...255 {
                var b = base
                b[at] = UInt8(v)
                let isDigit = (0x30...0x39).contains(v)
                #expect(JSONScanner.allDigits(word(b)) == isDigit, "byte \(v) at \(at)")
                if isDigit { #expect(JSONScanner.eightDigits(word(b)) == UInt64(String(decoding: b, as: UTF8.self))) }
            }
        }
    }

    /// Keys are matched as two 8-byte words where 16 bytes follow the quote, else read and
    /// compared: the same answer either way, for the keys themselves, their prefixes and
    /// extensions, escaped spellings and keys of 16 bytes and more.
    @Test func keysMatchTheSameWithFewOrManyBytesAfterThem() throws {
        let names = ["user_id", "user_name", "data", "length", "timestamp", "sequence", "start_time", "end_time", "language", "channel_id"]
        var keys = names
        for n in names { keys += [n + "x", String(n.dropLast()), "x" + n, n.uppercased()] }
        keys += ["", "d\\u0061ta", "user\\\"id", "a_key_of_16_byte", "channel_id_and_more"]
        for key in keys {
            for tail in 0...20 {
                let text = Array("\"\(key)\"".utf8) + Array(repeating: UInt8(ascii: " "), count: tail)
                var pos = 0
                let index = text.withUnsafeBytes { raw -> Int? in
                    var s = JSONScanner(raw)
                    defer { pos = s.pos }
                    return try? s.readKey(MediaScanner.keys)
                }
                #expect(index == names.firstIndex(of: key), "\(key) with \(tail) bytes after it")
                #expect(pos == text.count - tail, "\(key) with \(tail) bytes after it")
            }
        }
        #expect(RawKey("abcdefgh").mask1 == 0xFF && RawKey("abcdefghijklmno").mask1 == ~0)
    }

    /// A media message's integers take the eight-digits-at-a-time path: every length from 1 to 20
    /// digits, signed or not, followed by what may follow a number or what makes it a float, at
    /// the end of the content or before another field, reads as the general path reads it.
    @Test func mediaIntegersOfEveryLength() throws {
        var rng = SeededRandom(seed: 13)
        for digits in 1...20 {
            for sign in ["", "-"] {
                var text = sign + String(Int.random(in: 1...9, using: &rng))
                for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &rng)) }
                for suffix in ["", ".5", "e2", "E-1"] {
                    let number = text + suffix
                    let want: Int64? =
                        switch try JSON.parse(number) {
                        case .int(let i): i
                        case .double(let d) where d.isFinite && abs(d) < 9.0e18: Int64(d)
                        default: nil
                        }
                    for tail in ["", #","sequence":5"#] {
                        let m = try decode(#"{"msg_type":14,"content":{"user_id":1,"data":"AAEC","timestamp":\#(number)\#(tail)}}"#)
                        guard case .media(let media) = m else {
                            Issue.record("not media: \(m)")
                            continue
                        }
                        #expect(media.timestamp == want ?? 0, "\(number)\(tail)")
                        #expect(media.sequence == (tail.isEmpty ? nil : 5))
                    }
                }
            }
        }
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "\"abc", "{} x", "-", "12-3", "1e", "--1", "1.2.3e"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test func rejectsExcessiveNesting() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONError.self) { try JSON.parse(deep) }
    }
}

@Suite struct Base64Tests {
    @Test func acceptsEverySpelling() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbe, 0x00, 0x10]
        #expect(Base64Codec.decode("+/++ABA=") == bytes)  // padded
        #expect(Base64Codec.decode("+/++ABA") == bytes)  // unpadded
        #expect(Base64Codec.decode("-_--ABA") == bytes)  // URL-safe, unpadded
        #expect(Base64Codec.decode("-_--ABA=") == bytes)  // URL-safe, padded
        #expect(Base64Codec.decode("+/++\nABA=") == bytes)  // with a line break
    }

    @Test func rejectsNonBase64() {
        #expect(Base64Codec.decode("not base64!") == nil)
        #expect(Base64Codec.decode("A") == nil)
    }

    /// The vector decoder (CBase64) against the library on the same texts: valid ones of every
    /// length up to 200 with and without padding, and each with one character replaced by a byte
    /// outside the alphabet, by a URL-safe one, by '=' or by a space, anywhere. Same answer for
    /// every text; the vector path must also have been taken (on a CPU that has it).
    @Test func vectorDecoderAgreesWithTheLibrary() {
        var rng = SystemRandomNumberGenerator()
        let odd: [UInt8] = [0x00, 0x20, 0x0A, 0x3D, 0x2D, 0x5F, 0x2E, 0x40, 0x5B, 0x60, 0x7B, 0x7F, 0x80, 0xC3, 0xFF, 0x3A, 0x2A]
        var vectorAccepted = 0, longEnough = 0
        for length in 0...200 {
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let padded = Array(Base64Codec.encode(payload).utf8)
            let unpadded = Array(padded.prefix { $0 != 0x3D })
            // Padding where the length does not call for it ("QUJD=", "QUJDRA===").
            var texts = [padded, unpadded, unpadded + [0x3D], unpadded + [0x3D, 0x3D], padded + [0x3D], padded + [0x3D, 0x3D, 0x3D, 0x3D]]
            for _ in 0..<6 where !padded.isEmpty {
                var t = padded
                t[Int.random(in: 0..<t.count, using: &rng)] = odd.randomElement(using: &rng)!
                texts.append(t)
            }
            // Non-zero unused bits in the last group ("QR==" rather than "QQ==").
            if let last = padded.lastIndex(where: { $0 != 0x3D }), padded.last == 0x3D {
                var t = padded
                t[last] = t[last] == 0x42 ? 0x43 : 0x42
                texts.append(t)
            }
            for (i, t) in texts.enumerated() {
                let fast = t.withUnsafeBufferPointer { Base64Codec.decode($0) }
                let reference = t.withUnsafeBufferPointer { Base64Codec.decodeWithLibrary($0) }
                #expect(fast == reference, "\(String(decoding: t, as: UTF8.self))")
                if i == 0, t.count >= 20 {
                    longEnough += 1
                    #expect(fast == payload)
                    let n = t.withUnsafeBufferPointer { b in
                        var out = [UInt8](repeating: 0, count: t.count / 4 * 3 + 3)
                        return out.withUnsafeMutableBufferPointer { openrtms_b64_decode(b.baseAddress!, b.count, $0.baseAddress!) }
                    }
                    if n == payload.count { vectorAccepted += 1 }
                }
            }
        }
        #expect(longEnough == 188)
        if Base64Codec.vectorDecoder { #expect(vectorAccepted == longEnough) }
    }
}

@Suite struct MessageRoundTripTests {
    static let samples: [RTMSMessage] = [
        .signalingHandshakeRequest(
            SignalingHandshakeRequest(sequence: 7, instanceID: "m==", streamID: "s1", signature: "sig", bufferData: false, clientAgent: "agent")),
        .signalingHandshakeResponse(
            SignalingHandshakeResponse(sequence: 7, statusCode: 0, reason: "", mediaURLs: [(key: "audio", url: "ws://h/a"), (key: "all", url: "ws://h/all")])),
        .signalingHandshakeResponse(SignalingHandshakeResponse(sequence: 1, statusCode: 3, reason: "invalid signature")),
        .dataHandshakeRequest(
            DataHandshakeRequest(
                sequence: 9, instanceID: "w", instanceKey: "webinar_uuid", streamID: "s", signature: "x", mediaType: 32,
                mediaParams: .explicit(for: MediaKind.allCases), payloadEncryption: false)),
        .dataHandshakeResponse(
            DataHandshakeResponse(sequence: 9, statusCode: 0, payloadEncrypted: false, mediaParams: MediaParams(audio: AudioParams(sendRate: 100)))),
        .eventSubscription(EventSubscription(events: [.init(eventType: 2, subscribe: true), .init(eventType: 8, subscribe: false)])),
        .eventUpdate(
            EventUpdate(event: [
                "event_type": .int(3), "timestamp": .int(5), "participants": .array([.object(["user_id": .int(1), "user_name": .string("A")])]),
            ])),
        .clientReady(streamID: "s"),
        .streamStateUpdate(StateUpdate(state: 4, reason: 6, timestamp: 10, streamID: "s")),
        .sessionStateUpdate(StateUpdate(state: 5, reason: 6, timestamp: 10, sessionID: "sess")),
        .sessionStateRequest(sessionID: "sess"),
        .sessionStateResponse(StateUpdate(state: 2, timestamp: 11, sessionID: "sess")),
        .keepAliveRequest(KeepAlive(sequence: 1, timestamp: 1_795_305_655_669)),
        .keepAliveResponse(KeepAlive(sequence: 1, timestamp: 1_795_305_655_669)),
        .media(MediaData(kind: .audio, userID: 16_778_240, userName: "Alice", data: [0, 7, 14, 21], timestamp: 99, sequence: 4)),
        .media(MediaData(kind: .video, userID: 1, userName: "B", data: [0xff, 0xd8, 0xff], timestamp: 100)),
        .media(MediaData(kind: .deskshare, userID: 2, userName: "C", data: [1], timestamp: 101)),
        .media(
            MediaData(
                kind: .transcript, userID: 3, userName: "D", data: Array("Héllo \"world\"".utf8), timestamp: 102, startTime: 90, endTime: 102, language: 9)),
        .media(MediaData(kind: .chat, userID: 4, userName: "E", data: Array("hi\nthere".utf8), timestamp: 103)),
        .media(MediaData(kind: .audio, data: [9, 9], timestamp: 104, channelID: "ch-1")),
        .streamStateRequest(streamID: "s"),
        .streamStateResponse(StateUpdate(state: 1, timestamp: 12, streamID: "s")),
        .streamCloseRequest(streamID: "s"),
        .streamCloseResponse(StatusReply(streamID: "s", statusCode: 0, reason: "OK", timestamp: 13)),
        .metadata(type: 23, content: .object(["interpreter": .object(["lid": .int(9)])])),
        .videoSubscriptionRequest(VideoSubscriptionRequest(userID: 16_778_240, subscribe: true, timestamp: 14)),
        .videoSubscriptionResponse(StatusReply(userID: 16_778_240, statusCode: 0, reason: "OK", timestamp: 14, sequence: 2)),
    ]

    @Test(arguments: samples)
    func encodesAndDecodesEveryMessageType(_ m: RTMSMessage) throws {
        #expect(try roundTrip(m) == m)
    }

    @Test func coversEveryMessageTypeExceptReservedOnes() {
        let covered = Set(Self.samples.map(\.messageType))
        let expected = Set(1...23).union([28, 29])
        #expect(covered == expected)
    }
}

@Suite struct ToleranceTests {
    @Test func acceptsZoomClientsPrettyBinaryJSONInAnyKeyOrder() throws {
        // What Zoom's client sends: JsonCpp styled output, tabs, "key" : value, trailing newline.
        let frame =
            "{\n\t\"meeting_uuid\" : \"mtg-uuid-1==\",\n\t\"msg_type\" : 1,\n\t\"protocol_version\" : 1,\n\t\"rtms_client_agent\" : \"rtms_sdk_cpp-.0.20260319-python-rtms\",\n\t\"rtms_stream_id\" : \"stream-1\",\n\t\"sequence\" : 297376,\n\t\"signature\" : \"sig-abc\"\n}\n"
        guard case .signalingHandshakeRequest(let r) = try decode(frame) else { Issue.record("wrong type"); return }
        #expect(r.instanceID == "mtg-uuid-1==" && r.streamID == "stream-1" && r.signature == "sig-abc")
        #expect(r.clientAgent == "rtms_sdk_cpp-.0.20260319-python-rtms")
    }

    @Test(arguments: ["meeting_uuid", "webinar_uuid", "session_id", "engagement_id", "call_id"])
    func acceptsTheInstanceIDUnderAnyProductKey(_ key: String) throws {
        guard
            case .dataHandshakeRequest(let r) = try decode(
                #"{"msg_type":3,"\#(key)":"id-1","rtms_stream_id":"s","signature":"x","media_type":1,"media_params":null}"#)
        else {
            Issue.record("wrong type"); return
        }
        #expect(r.instanceID == "id-1" && r.instanceKey == key && r.mediaParams == nil)
    }

    @Test func ignoresUnknownKeysAndMediaKeysOutsideContentOrder() throws {
        let m = try decode(
            #"{"zzz":{"deep":[1,{"x":"}"}]},"content":{"extra":[1,2],"timestamp":5,"data":"AAE=","user_name":"N","user_id":"42"},"msg_type":14}"#)
        #expect(m == .media(MediaData(kind: .audio, userID: 42, userName: "N", data: [0, 1], timestamp: 5)))
    }

    /// msg_type before content (Zoom's order) scans the content in place; after it, the content
    /// is found first and scanned afterwards. Every field and every error comes out the same.
    @Test(arguments: [
        (14, #"{"user_id":7,"user_name":"N\u00e9","data":"AAEC","length":3,"timestamp":1795305655669}"#),
        (15, #" { "data" : "\/\/8=" , "user_id" : "12", "timestamp" : 5.9, "extra" : [1, {"x": "}"}] } "#),
        (17, #"{"user_id":1,"user_name":"A","data":"hi \u00fc","timestamp":1,"start_time":2,"end_time":3,"language":9,"sequence":-4}"#),
        (18, #"{"timestamp":3,"data":{"text":"hi"},"channel_id":5}"#),
        (14, #"{"user_id":1,"data":"%%%","timestamp":1}"#),
        (14, #"{"user_id":1,"data":"AAEC","length":1.5e3,"timestamp":-7}"#),
        (14, #"{"user_id":1,"data":"AAEC","length":[1,}"#),
        (14, #"{"user_id":1,"data":"AAAA","timestamp":12-3}"#),
        (14, #"[1]"#),
    ])
    func mediaDecodesTheSameInEitherKeyOrder(_ type: Int, _ content: String) {
        // A failure as its reason with the offsets left out (they differ by where the content starts).
        func outcome(_ text: String) -> (String, Int?) {
            do { return ("\(try decode(text))", type) } catch {
                return ("error: " + error.reason.replacingOccurrences(of: #"\d+"#, with: "#", options: .regularExpression), error.messageType)
            }
        }
        let (first, firstType) = outcome(#"{"msg_type":\#(type),"content":\#(content)}"#)
        let (last, _) = outcome(#"{"content":\#(content),"msg_type":\#(type)}"#)
        #expect(first == last)
        #expect(firstType == type)
    }

    /// The in-place scan does not decide early: a later content or msg_type wins, and a fault in
    /// the content or after it gives the error the skip-then-scan path gives.
    @Test func inPlaceScanLeavesTheVerdictToTheWholeMessage() throws {
        #expect(
            try decode(#"{"msg_type":14,"content":{"data":"%%%"},"content":{"data":"AAAA"}}"#)
                == .media(MediaData(kind: .audio, data: [0, 0, 0], timestamp: 0)))
        #expect(
            try decode(#"{"msg_type":14,"content":{"data":"%%%"},"msg_type":17}"#)
                == .media(MediaData(kind: .transcript, data: Array("%%%".utf8), timestamp: 0)))
        #expect(
            try decode(#"{"msg_type":14,"content":{"data":"AAAA"},"msg_type":17}"#)
                == .media(MediaData(kind: .transcript, data: Array("AAAA".utf8), timestamp: 0)))
        for (text, reason) in [
            (#"{"msg_type":14,"content":{"data":"%%%"},}"#, "expected string"),
            (#"{"msg_type":14,"content":[1,}"#, "invalid number"),
            (#"{"msg_type":14,"content":{"data":"AAAA""#, "unterminated object"),
            (#"{"msg_type":14,"content":{"user_name":"\q","a":tru}}"#, "invalid literal"),
        ] {
            #expect(throws: DecodeError.self) { try decode(text) }
            do { _ = try decode(text) } catch { #expect(error.reason.contains(reason), "\(text): \(error.reason)") }
        }
    }

    @Test func mediaPayloadMayContainJSONEscapes() throws {
        // A sender that escapes "/" as "\/" inside base64.
        let m = try decode(#"{"msg_type":15,"content":{"user_id":1,"user_name":"v","data":"\/\/8=","timestamp":1}}"#)
        guard case .media(let d) = m else { Issue.record("not media"); return }
        #expect(d.data == [0xff, 0xff])
    }

    @Test func transcriptTextIsNotBase64AndKeepsUnicode() throws {
        let m = try decode(
            #"{"msg_type":17,"content":{"user_id":1,"user_name":"A","data":"SGVsbG8 \u00fc ✓","timestamp":1,"start_time":1,"end_time":2,"language":9}}"#)
        guard case .media(let d) = m else { Issue.record("not media"); return }
        #expect(String(decoding: d.data, as: UTF8.self) == "SGVsbG8 ü ✓")
        #expect(d.startTime == 1 && d.endTime == 2 && d.language == 9)
    }

    @Test func chatDataMayBeAnObject() throws {
        let m = try decode(#"{"msg_type":18,"content":{"timestamp":3,"data":{"sender":{"user_id":1},"text":"hi"}}}"#)
        guard case .media(let d) = m else { Issue.record("not media"); return }
        #expect(try JSON.parse(d.data)["text"]?.stringValue == "hi")
    }

    @Test func contactCenterChannelID() throws {
        let m = try decode(#"{"msg_type":14,"content":{"channel_id":"caller-1","data":"AAAA","timestamp":1}}"#)
        guard case .media(let d) = m else { Issue.record("not media"); return }
        #expect(d.channelID == "caller-1" && d.userID == 0)
    }

    @Test func decodesSixteenMebibyteMessages() throws {
        let payload = [UInt8](repeating: 0xAB, count: 12 << 20)
        let bytes = JSONCodec.encodeMedia(kind: .video, userID: 1, userName: "big", payload: payload, timestamp: 1)
        #expect(bytes.count > 16 << 20)
        guard case .media(let d) = try decodeBytes(bytes) else { Issue.record("not media"); return }
        #expect(d.data == payload)
    }
}

@Suite struct MalformedTests {
    @Test(arguments: [
        ("not json", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        ("{}", "no msg_type"),
        (#"{"msg_type":"2"}"#, "not an integer"),
        (#"{"msg_type":2,"reason":""}"#, "no status_code"),
        (#"{"msg_type":2,"status_code":"0"}"#, "status_code is a string"),
        (#"{"msg_type":2,"status_code":0}"#, "no media_server"),
        (#"{"msg_type":2,"status_code":0,"media_server":{"server_urls":"ws://x"}}"#, "server_urls is a string"),
        (#"{"msg_type":6,"content":{"event_type":1}}"#, "no event object"),
        (#"{"msg_type":14,"content":{"user_id":1,"data":"%%%","timestamp":1}}"#, "not base64"),
        (#"{"msg_type":14,"content":{"user_id":1,"timestamp":1}}"#, "no content.data"),
        (#"{"msg_type":14,"content":{"data":"","timestamp":1}}"#, "empty"),
        (#"{"msg_type":14}"#, "no content"),
        (#"{"msg_type":99}"#, "unknown msg_type"),
        (#"{"msg_type":29,"status_code":0}"#, "no user_id"),
    ])
    func reportsAReason(_ input: String, _ reason: String) {
        do {
            let m = try decode(input)
            Issue.record("decoded \(m) from \(input)")
        } catch {
            #expect(error.description.contains(reason), "\(error.description) should mention \(reason)")
        }
    }
}

@Suite struct SignatureTests {
    @Test func handshakeSignatureMatchesZoomsClient() {
        // Observed on the wire from Zoom's client.
        #expect(
            Signatures.handshake(
                clientID: "cid123", clientSecret: "csec456", instanceID: "4444AAAiAAAAAiAiAiiAii==",
                streamID: "609340fb2a7946909659956c8aa9250c")
                == "79f72363c77402ba68663a47ac4d4a02dc6daad1dd843796f950cc0a24595107")
    }

    @Test func webhookSignatureAndValidationToken() {
        #expect(
            Signatures.webhook(secretToken: "tok", timestamp: "1700000000", body: Array(#"{"event":"x"}"#.utf8))
                == "v0=67db58c5cf544da273f7139bb12d722e02d905e02a133c8630ae15cf2e068381")
        #expect(
            Signatures.urlValidation(secretToken: "tok", plainToken: "plain123")
                == "33aff939b126c706ae5310fcae440e2033546224091690c1f3c7bd54fa24185b")
        #expect(Signatures.constantTimeEqual("abc", "abc"))
        #expect(!Signatures.constantTimeEqual("abc", "abd"))
        #expect(!Signatures.constantTimeEqual("abc", "ab"))
    }

    @Test func webhookPayloadGivesJoinInformationByIDPriority() throws {
        let body = try JSON.parse(
            #"{"event":"webinar.rtms_started","payload":{"webinar_uuid":"w","session_id":"x","rtms_stream_id":"s","server_urls":"wss://a"}}"#)
        let s = try StreamStart(payload: body.objectValue!)
        #expect(s.instanceID == "w" && s.instanceKey == "webinar_uuid" && s.streamID == "s" && s.serverURLs == "wss://a")
        #expect(Product.parse(event: "contact_center.voice_rtms_stopped")! == (.contactCenter, "stopped"))
    }
}
