// The simulator's JSON control API (/meetings, /streams/..., /chaos, /refuse) and the HTTP
// handler that serves it on the WebSocket port, also answering refused upgrades.

import NIOCore
import NIOHTTP1
import RTMSProtocol
import RTMSTransport

extension Simulator {
    func control(method: HTTPMethod, uri: String, body: [UInt8]) -> (HTTPResponseStatus, JSONValue) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let parts = path.split(separator: "/").map(String.init)
        let json = body.isEmpty ? JSONValue.object([:]) : ((try? JSON.parse(body)) ?? .null)
        guard json.objectValue != nil || body.isEmpty else { return (.badRequest, .object(["error": .string("body is not a JSON object")])) }
        let o = json.objectValue ?? [:]
        switch (method, parts.first ?? "", parts.count) {
        case (.GET, "health", 1):
            return (
                .ok,
                .object([
                    "status": .string("ok"), "streams": .int(Int64(streams.count)), "signaling_url": .string(signalingURL),
                    "webhook_validated": validated.map { .bool($0) } ?? .null,
                ])
            )
        case (.POST, "meetings", 1):
            var m = config.defaults
            if let d = o["duration_ms"]?.intValue { m.durationMs = Int(d) }
            if let d = o["duration"]?.intValue { m.durationMs = Int(d) * 1000 }
            if let s = o["seed"]?.intValue { m.seed = UInt64(truncatingIfNeeded: s) }
            if let p = o["participants"]?.intValue { m.participants = Int(p) }
            if let p = o["product"]?.stringValue {
                guard let prod = Product(rawValue: p) else { return (.badRequest, .object(["error": .string("unknown product \(p)")])) }
                m.product = prod
            }
            if let k = o["keepalive_ms"]?.intValue { m.keepAliveMs = Int(k) }
            if let s = o["rtms_stream_id"]?.stringValue { m.streamID = s }
            if let s = o["instance_id"]?.stringValue { m.instanceID = s }
            if let ov = o["overrides"]?.objectValue {
                m.overrides.signalingResponse = ov["signaling_response"].map { $0.stringValue ?? JSON.string($0) }
                m.overrides.mediaResponse = ov["media_response"].map { $0.stringValue ?? JSON.string($0) }
                m.overrides.silentSignaling = ov["silent_signaling"]?.boolValue ?? false
                m.overrides.silentMedia = ov["silent_media"]?.boolValue ?? false
                m.overrides.omitMediaURLs = ov["omit_media_urls"]?.arrayValue?.compactMap(\.stringValue) ?? []
            }
            if let b = o["bench"]?.objectValue {
                m.bench = BenchPlan(
                    count: Int(b["count"]?.intValue ?? 0), size: Int(b["size"]?.intValue ?? 640),
                    rate: Int(b["rate"]?.intValue ?? 0))
                m.bench?.hold = b["hold"]?.boolValue ?? false
                if let k = b["kind"]?.stringValue {
                    guard let kind = BenchKind(rawValue: k) else { return (.badRequest, .object(["error": .string("bench kind is audio or video")])) }
                    m.bench?.kind = kind
                }
                if let x = b["mix"]?.objectValue {
                    var mix = BenchMix()
                    if let v = x["seconds"]?.doubleValue { mix.seconds = v }
                    mix.hold = x["hold"]?.boolValue ?? m.bench?.hold ?? false
                    if let v = x["audio_rate"]?.intValue { mix.audioRate = Int(v) }
                    if let v = x["audio_size"]?.intValue { mix.audioSize = Int(v) }
                    if let v = x["video_fps"]?.intValue { mix.videoFPS = Int(v) }
                    if let v = x["deskshare_fps"]?.intValue { mix.deskshareFPS = Int(v) }
                    if let v = x["transcript_ms"]?.intValue { mix.transcriptMs = Int(v) }
                    guard mix.seconds >= 0, [mix.audioRate, mix.videoFPS, mix.deskshareFPS, mix.transcriptMs].allSatisfy({ $0 >= 0 }),
                        mix.audioRate <= 1000, mix.videoFPS <= 1000, mix.deskshareFPS <= 1000
                    else { return (.badRequest, .object(["error": .string("bench mix: seconds and rates are >= 0, rates at most 1000 a second")])) }
                    m.bench?.mix = mix
                }
            }
            for step in o["chaos"]?.arrayValue ?? [] {
                guard let at = step["at_ms"]?.intValue,
                    let action = ChaosAction.named(
                        step["action"]?.stringValue ?? "",
                        code: Int(step["code"]?.intValue ?? 1011))
                else {
                    return (.badRequest, .object(["error": .string("chaos steps are {\"at_ms\", \"connection\", \"action\": abort|close|freeze|mute}")]))
                }
                m.chaosPlan.append((Int(at), step["connection"]?.stringValue ?? "signaling", action))
            }
            return (.created, createMeetingOnLoop(m))
        case (.GET, "streams", 1):
            return (.ok, .object(["streams": .array(streams.keys.sorted().map { .string($0) })]))
        case (.GET, "streams", 2):
            guard let r = streams[parts[1]]?.report ?? finished[parts[1]] else { return (.notFound, .object(["error": .string("no such stream")])) }
            return (.ok, r)
        case (.POST, "streams", 3) where parts[2] == "stop":
            guard let s = streams[parts[1]] else { return (.notFound, .object(["error": .string("no such stream")])) }
            s.end(reason: Int(o["reason"]?.intValue ?? Int64(StopReason.meetingEnded)), note: "stopped through the control API")
            return (.ok, s.report)
        case (.POST, "streams", 3) where parts[2] == "send":
            guard let s = streams[parts[1]] else { return (.notFound, .object(["error": .string("no such stream")])) }
            let target = o["connection"]?.stringValue ?? "signaling"
            guard let msg = o["message"] else { return (.badRequest, .object(["error": .string("no message")])) }
            let raw = msg.stringValue ?? JSON.string(msg)
            let ok = inject(s.streamID, connectionOnLoop: target, raw: raw)
            return ok ? (.ok, .object(["sent": .bool(true)])) : (.conflict, .object(["error": .string("no open \(target) connection")]))
        case (.POST, "streams", 3) where parts[2] == "redeliver":
            // Zoom retries a webhook it thinks failed: the same rtms_started again.
            guard let s = streams[parts[1]] else { return (.notFound, .object(["error": .string("no such stream")])) }
            let body = s.announced ?? startedBody(s)
            announce(body)
            return (.ok, body)
        case (.POST, "streams", 3) where ["chaos", "failover", "interrupt"].contains(parts[2]):
            guard let s = streams[parts[1]] else { return (.notFound, .object(["error": .string("no such stream")])) }
            switch parts[2] {
            case "failover":
                s.failover(to: o["signaling_path"]?.stringValue)
                let body = startedBody(s)
                announce(body)
                return (.ok, body)
            case "interrupt":
                guard let sig = s.signaling else { return (.conflict, .object(["error": .string("no signaling connection")])) }
                s.keepAliveMissed(sig, movingTo: o["signaling_path"]?.stringValue)
                return (.ok, s.report)
            default:
                guard let action = ChaosAction.named(o["action"]?.stringValue ?? "", code: Int(o["code"]?.intValue ?? 1011)) else {
                    return (.badRequest, .object(["error": .string("action must be abort, close, freeze or mute")]))
                }
                let n = s.chaos(o["connection"]?.stringValue ?? "signaling", action)
                return (n > 0 ? .ok : .conflict, .object(["connections": .int(Int64(n))]))
            }
        case (.POST, "bench", 2) where parts[1] == "start":
            return (.ok, startHeldBench())
        case (.GET, "bench", 1):
            return (.ok, benchReport)
        case (.GET, "chaos", 1):
            return (.ok, .object(["faults": .array(chaosEvents)]))
        case (.POST, "chaos", 1):
            let rate = o["per_minute"]?.doubleValue ?? 0
            var faults = RandomFault.allCases
            if let names = o["faults"]?.arrayValue {
                faults = names.compactMap { $0.stringValue.flatMap(RandomFault.init(rawValue:)) }
                guard faults.count == names.count, !faults.isEmpty else {
                    return (
                        .badRequest, .object(["error": .string("faults must name some of: \(RandomFault.allCases.map(\.rawValue).joined(separator: ", "))")])
                    )
                }
            }
            startRandomChaosOnLoop(seed: UInt64(truncatingIfNeeded: o["seed"]?.intValue ?? 1), perMinute: rate, faults: faults)
            return (.ok, .object(["per_minute": .double(rate), "running": .bool(rate > 0)]))
        case (.POST, "refuse", 1):
            let status = Int(o["status"]?.intValue ?? 503)
            guard (300..<600).contains(status) else { return (.badRequest, .object(["error": .string("status must be 300...599")])) }
            refuseStatus = status
            if let n = o["media_count"]?.intValue {
                refuseMediaConnections(count: Int(n))
                return (.ok, .object(["refusing_media_upgrades": .int(n)]))
            }
            refuseUntilMs = wallMilliseconds() + (o["milliseconds"]?.intValue ?? (o["seconds"]?.intValue ?? 5) * 1000)
            return (.ok, .object(["refusing_until_ms": .int(refuseUntilMs)]))
        case (.POST, "streams", 3) where parts[2] == "events":
            guard let s = streams[parts[1]] else { return (.notFound, .object(["error": .string("no such stream")])) }
            guard let ev = o["event"]?.objectValue else { return (.badRequest, .object(["error": .string("no event object")])) }
            s.sendEvent(ev)
            return (.ok, .object(["sent": .bool(true)]))
        default:
            return (.notFound, .object(["error": .string("no route for \(method) \(path)")]))
        }
    }

    func inject(_ streamID: String, connectionOnLoop target: String, raw: String) -> Bool {
        guard let conn = streams[streamID]?.connection(named: target) else { return false }
        conn.send(Array(raw.utf8), text: true)
        return true
    }
}

/// Serves the control API and answers 404/503 to anything else that is not a WebSocket upgrade.
final class ControlHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    unowned let sim: Simulator
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// Set by the upgrader when chaos refuses this connection's upgrade: the status to answer.
    var refuseWith: Int?

    init(sim: Simulator) { self.sim = sim }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(var b):
            if body.count < 1 << 20 { body += b.readBytes(length: b.readableBytes) ?? [] }
        case .end:
            guard let h = head else { return }
            let (status, json): (HTTPResponseStatus, JSONValue)
            var headers = HTTPHeaders()
            if let refused = refuseWith {
                refuseWith = nil
                (status, json) = (HTTPResponseStatus(statusCode: refused), .object(["error": .string("refusing connections (chaos)")]))
                if (300..<400).contains(refused) { headers.add(name: "Location", value: "\(sim.scheme)://\(sim.urlHost):\(sim.port)/elsewhere") }
            } else if sim.role(forPath: h.uri) != nil {
                (status, json) = (.badRequest, .object(["error": .string("this path needs a WebSocket upgrade")]))
            } else {
                (status, json) = sim.control(method: h.method, uri: h.uri, body: body)
            }
            let bytes = JSON.serialize(json)
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(bytes.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil)
            var buf = context.channel.allocator.buffer(capacity: bytes.count)
            buf.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
            let keepAlive = h.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
            head = nil
        }
    }
}
