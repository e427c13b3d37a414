// Regressions found with the fuzz targets (Tests/fuzz, docs/fuzzing.md). Each input is also kept
// in the fuzz corpus (Tests/fuzz/corpus/<target>/regress-*), which the CI smoke replays.

import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSWebhook

@Suite struct FuzzRegressionTests {
    /// corpus/webhook/regress-negative-timestamp-overflow: a negative x-zm-request-timestamp
    /// overflowed `seconds * 1000` (or `nowMs - tsMs`) in the signature check and trapped the
    /// process: any unauthenticated sender could stop the intake (and the host of the C ABI).
    @Test(arguments: ["-99999999999999999", "-9223372036854775808", "-9223372036854775", "-1"])
    func aNegativeWebhookTimestampIsRefusedNotATrap(_ ts: String) {
        var s = WebhookSettings()
        s.secretToken = "fuzz-secret"
        var intake = WebhookIntake(settings: s)
        let body = Array(#"{"event":"meeting.rtms_started","payload":{}}"#.utf8)
        let signed = Signatures.webhook(secretToken: "fuzz-secret", timestamp: ts, body: body)
        let req = WebhookRequest(
            method: "POST", uri: "/", headers: ["x-zm-request-timestamp": ts, "x-zm-signature": signed],
            body: body)
        let (reply, delivery) = intake.handle(req, nowMs: nowMilliseconds())
        #expect(reply.status == 401 && delivery == nil)
        #expect(intake.counters.unauthorized == 1)
    }
}
