// A small web service with Hummingbird: Zoom's webhooks arrive at POST /webhook (checked by the
// core's intake), every stream announced is joined, and GET /transcript streams every joined
// meeting's transcript as Server-Sent Events, one JSON object per line spoken.
//   live-transcript [PORT]     (0: any free port; the port is printed)
// Credentials: ZM_RTMS_CLIENT / ZM_RTMS_SECRET; ZM_RTMS_WEBHOOK_SECRET for the webhook signatures.

import Foundation
import Hummingbird
import OpenRTMSKit

/// Transcript lines to every listener. Each listener keeps the newest 256 lines it has not read:
/// a listener that stops reading loses the oldest, never slows the streams.
final class Broadcast: @unchecked Sendable {
    private let lock = NSLock()
    private var listeners: [Int: AsyncStream<String>.Continuation] = [:]
    private var next = 0

    func listen() -> AsyncStream<String> {
        AsyncStream(bufferingPolicy: .bufferingNewest(256)) { continuation in
            let id = lock.withLock { () -> Int in
                next += 1
                listeners[next] = continuation
                return next
            }
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                _ = self.lock.withLock { self.listeners.removeValue(forKey: id) }
            }
        }
    }

    func send(_ line: String) {
        for c in lock.withLock({ Array(listeners.values) }) { c.yield(line) }
    }
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8080 : 8080
var settings = WebhookSettings()
settings.path = "/webhook"
let intake = RTMSWebhookIntake(handlingRequestsFor: settings)
let transcript = Broadcast()

// Every rtms_started joins its stream; its transcript goes to the listeners.
let joiner = Task {
    while !Task.isCancelled {
        guard let body = await intake.nextStarted(timeoutMilliseconds: 1000) else { continue }
        Task {
            do {
                try await RTMSStream.withStream(payload: body, media: [.transcript]) { stream in
                    for await event in stream.events {
                        guard case .media(let m) = event, m.kind == .transcript else { continue }
                        let line: JSONValue = .object([
                            "stream": .string(stream.start.streamID), "speaker": .string(m.userName),
                            "text": .string(String(decoding: m.data, as: UTF8.self)), "timestamp": .int(m.timestamp),
                        ])
                        transcript.send(JSON.string(line))
                    }
                }
            } catch {
                print("join refused: \(error)")
            }
        }
    }
}

let router = Router()
router.post("/webhook") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    var headers: [String: String] = [:]
    for field in request.headers { headers[field.name.canonicalName] = field.value }
    let reply = intake.handle(
        method: "POST", uri: request.uri.description, headers: headers, body: body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? [])
    return Response(
        status: .init(code: reply.status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: reply.body)))
}
router.get("/transcript") { _, _ -> Response in
    let lines = transcript.listen()
    return Response(
        status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
        body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ": listening\n\n"))
            for await line in lines { try await writer.write(ByteBuffer(string: "data: \(line)\n\n")) }
            try await writer.finish(nil)
        })
}

let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        // Unbuffered, so that a supervisor reading a pipe sees it at once.
        FileHandle.standardOutput.write(Data("live-transcript: listening on port \(channel.localAddress?.port ?? 0)\n".utf8))
    })
try await app.runService()
joiner.cancel()
