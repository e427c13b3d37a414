// A command-line bot: joins one stream and prints its transcript as it arrives.
//   transcript-bot --payload '<rtms_started body>'     join the stream of this webhook body
//   transcript-bot --listen 8080                       wait for an rtms_started on :8080/
// Credentials: ZM_RTMS_CLIENT / ZM_RTMS_SECRET (and ZM_RTMS_WEBHOOK_SECRET for --listen).

import Foundation
import OpenRTMSKit

func fail(_ text: String) -> Never {
    FileHandle.standardError.write(Data("transcript-bot: \(text)\n".utf8))
    exit(2)
}

let args = Array(CommandLine.arguments.dropFirst())
var payload: String?
if args.count == 2, args[0] == "--payload" {
    payload = args[1]
} else if args.count == 2, args[0] == "--listen", let port = Int(args[1]) {
    var settings = WebhookSettings()
    settings.port = port
    let intake: RTMSWebhookIntake
    do { intake = try RTMSWebhookIntake(settings: settings) } catch { fail("\(error)") }
    print("waiting for a meeting on port \(intake.port)")
    payload = await intake.nextStarted()
    if payload == nil { fail("no rtms_started arrived") }
} else {
    fail("usage: transcript-bot --payload JSON | --listen PORT")
}

do {
    let reason = try await RTMSStream.withStream(payload: payload!, media: [.transcript]) { stream -> Int in
        var end = 0
        for await event in stream.events {
            switch event {
            case .control(.joinConfirm(let reason, let text)):
                print(reason == 0 ? "joined \(stream.start.streamID)" : "join failed: \(text)")
                end = reason
            case .media(let m) where m.kind == .transcript:
                print("\(m.userName): \(String(decoding: m.data, as: UTF8.self))")
            case .control(.reconnecting(let connection, let attempt, _, _)):
                print("reconnecting \(connection) (attempt \(attempt))")
            case .control(.leave(let reason, let text)):
                print("left: \(text) (\(reason))")
                end = reason
            default:
                break
            }
        }
        return end
    }
    exit(reason == StopReason.meetingEnded ? 0 : 1)
} catch {
    fail("\(error)")
}
