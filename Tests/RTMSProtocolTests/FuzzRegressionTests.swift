// Regressions found with the fuzz targets (Tests/fuzz, docs/fuzzing.md). Each input is also kept
// in the fuzz corpus (Tests/fuzz/corpus/json/regress-*), which the CI smoke replays.

import Testing
@testable import RTMSProtocol

@Suite struct FuzzRegressionTests {
    /// corpus/json/regress-number-token-strtod-prefix: a run of number characters that is not a
    /// number ("EEEE10", "1-2") was handed to strtod, which read a prefix of it (0, 1) and the
    /// rest was dropped: garbage became a value.
    @Test(arguments: ["EEEE10", "1-2", "1e5e5", "--1", "1e", "1e+", "-", "1.2.3", "+1", ".5", "1E-"])
    func aMalformedNumberIsRejected(_ token: String) {
        #expect(throws: JSONError.self) { try JSON.parse("[\(token)]") }
    }

    @Test func wellFormedNumbersStillParse() throws {
        let v = try JSON.parse("[1., -0.5e-3, 1E+2, 007, 12345678901234567890, -1e-300]")
        #expect(v.arrayValue == [.double(1), .double(-0.0005), .double(100), .int(7), .double(12345678901234567890), .double(-1e-300)])
    }

    /// corpus/json/regress-user-name-integral-double: the media fast path read `"user_name":5.0` as
    /// no name while the value tree (which writes 5.0 as 5) read "5".
    @Test func theMediaFastPathReadsAnIntegralNumberAsTheValueTreeDoes() throws {
        let text = #"{"msg_type":17,"content":{"user_id":1,"user_name":5.0,"channel_id":7.0,"data":"hi","timestamp":2}}"#
        let fast = try Array(text.utf8).withUnsafeBytes { try JSONCodec().decode($0) }
        let tree = try RTMSMessage(json: JSON.parse(text).objectValue!)
        #expect(fast == tree)
        guard case .media(let m) = fast else { Issue.record("not media: \(fast)"); return }
        #expect(m.userName == "5" && m.channelID == "7")
    }
}
