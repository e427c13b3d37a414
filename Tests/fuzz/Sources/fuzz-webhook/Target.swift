// fuzz-webhook: HTTP requests from the network into the webhook intake, through the server's
// own pipeline on an EmbeddedChannel (ConnectionGuard, NIO's HTTP/1 server pipeline with its
// error handler, WebhookHTTPHandler, WebhookEndpoint -> WebhookIntake: head checks, body limit,
// signature and replay window with a known secret, JSON parse, url_validation, dedupe, routing),
// or through rtms_webhook_handle()'s path (header lines parsed by WebhookRequest.headers(fromLines:)).
//
// Input: byte 0: bit 0 = a secret token is configured, bit 1 = the rtms_webhook_handle() path
// instead of the HTTP server, bits 2-7 = how the bytes arrive (0: in one read, n: reads of n
// bytes); the rest = the bytes of the request(s), where the harness replaces
//   {{TS}}  by the current time in seconds (so the replay window can hold),
//   {{SIG}} by the correct x-zm-signature of the request it is in (the k-th {{SIG}} by the k-th
//           request's), computed from that request's x-zm-request-timestamp and body as NIO's
//           decoder reads them -- so fuzzed requests can pass the signature check and reach the
//           JSON parse and the delivery path.
//
// Invariants, besides "never traps": every response is well-formed HTTP/1 with a status the
// intake documents (200, 400, 401, 404, 413); with a secret, nothing is accepted unless the
// harness signed it (a forged webhook never becomes a delivery); every delivery's body is a JSON
// object with a non-empty "event", and `rtms_started` deliveries name their stream.

import Crypto
import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import RTMSProtocol
@testable import RTMSWebhook

#if canImport(Glibc)
import Glibc
#endif

let secret = "fuzz-secret-token"
/// FUZZ_VERBOSE=1: print each input's statuses and counters (to check seeds do what they should).
let verbose = getenv("FUZZ_VERBOSE") != nil
let allowedStatus: Set<Int> = [200, 400, 401, 404, 413]

func nowSeconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec)
}

func replace(_ hay: [UInt8], _ needle: [UInt8], with pieces: (Int) -> [UInt8]) -> [UInt8] {
    guard hay.count >= needle.count, !needle.isEmpty else { return hay }
    var out: [UInt8] = []
    out.reserveCapacity(hay.count)
    var i = 0, k = 0
    while i < hay.count {
        if hay[i] == needle[0], i + needle.count <= hay.count, hay[i..<(i + needle.count)].elementsEqual(needle) {
            out += pieces(k)
            k += 1
            i += needle.count
        } else {
            out.append(hay[i])
            i += 1
        }
    }
    return out
}

let sigToken = Array("{{SIG}}".utf8)
let tsToken = Array("{{TS}}".utf8)

/// NIO's reading of the requests in `bytes`: (timestamp header, body) of each complete request.
func requestsAsNIOReadsThem(_ bytes: [UInt8]) -> [(ts: String, body: [UInt8])] {
    let ch = EmbeddedChannel()
    guard (try? ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))) != nil else { return [] }
    var buf = ch.allocator.buffer(capacity: bytes.count)
    buf.writeBytes(bytes)
    _ = try? ch.writeInbound(buf)
    var out: [(String, [UInt8])] = []
    var ts = ""
    var body: [UInt8] = []
    while let part = try? ch.readInbound(as: HTTPServerRequestPart.self) {
        switch part {
        case .head(let h): ts = h.headers["x-zm-request-timestamp"].last ?? ""; body = []
        case .body(var b): body += b.readBytes(length: b.readableBytes) ?? []
        case .end: out.append((ts, body))
        }
    }
    _ = try? ch.finish(acceptAlreadyClosed: true)
    return out
}

/// Responses in the server's output: their status codes. Checks the framing on the way.
func responseStatuses(_ out: [UInt8]) -> [Int] {
    var statuses: [Int] = []
    var p = 0
    while p < out.count {
        guard let headEnd = find(out, Array("\r\n\r\n".utf8), from: p) else {
            fuzzFail("response head without its end: \(fuzzShow(out[p...], limit: 300))")
        }
        let head = String(decoding: out[p..<headEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let status = lines[0].split(separator: " ")
        fuzzCheck(status.count >= 2 && status[0].hasPrefix("HTTP/"), "bad status line: \(lines[0])")
        let code = Int(status[1]) ?? -1
        statuses.append(code)
        var length = 0
        for l in lines.dropFirst() where l.lowercased().hasPrefix("content-length:") {
            length = Int(l.dropFirst("content-length:".count).trimmingCharacters()) ?? -1
        }
        fuzzCheck(length >= 0 && headEnd + 4 + length <= out.count, "response body framing is wrong: \(head)")
        p = headEnd + 4 + length
    }
    return statuses
}

func find(_ hay: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
    guard hay.count >= needle.count else { return nil }
    var i = from
    while i + needle.count <= hay.count {
        if hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
        i += 1
    }
    return nil
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}

func checkDeliveries(_ endpoint: WebhookEndpoint, signed: Bool, secretSet: Bool) {
    let c = endpoint.counters
    if secretSet && !signed {
        fuzzCheck(
            c.accepted == 0 && c.duplicates == 0 && c.validations == 0,
            "an unsigned request passed the signature check: \(c)")
    }
    for d in endpoint.inbox.take(max: 1 << 20) {
        guard let v = try? JSON.parse(d.body), let o = v.objectValue, let e = o["event"]?.stringValue, !e.isEmpty else {
            fuzzFail("a delivery's body is not a JSON object with an event: \(fuzzShow(d.body))")
        }
        fuzzCheck(e == d.event, "delivery event \(d.event) vs body \(e)")
        if d.rtmsKind == "started" {
            // What an application does next with it (join from the payload).
            _ = try? StreamStart(payload: o)
        }
    }
}

func makeEndpoint(secretSet: Bool) -> WebhookEndpoint {
    var settings = WebhookSettings()
    settings.path = "/webhook"
    settings.secretToken = secretSet ? secret : nil
    settings.maxBodyBytes = 4096
    return WebhookEndpoint(settings: settings, router: { _ in false })
}

func viaHTTPServer(_ bytes: [UInt8], chunk: Int, endpoint: WebhookEndpoint) -> [Int] {
    let channel = EmbeddedChannel()
    let table = ConnectionTable(limit: 4)
    guard let id = table.admit(channel) else { fuzzFail("connection table refused the first connection") }
    let conn = WebhookConnection(id: id, channel: channel, table: table, settings: endpoint.settings)
    do {
        let s = channel.pipeline.syncOperations
        try s.addHandler(ConnectionGuard(conn))
        try s.configureHTTPServerPipeline(withErrorHandling: true)
        try s.addHandler(WebhookHTTPHandler(endpoint: endpoint, connection: conn))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    } catch {
        fuzzFail("pipeline setup failed: \(error)")
    }
    var offset = 0
    repeat {
        let n = chunk == 0 ? bytes.count : min(chunk, bytes.count - offset)
        var buf = channel.allocator.buffer(capacity: n)
        buf.writeBytes(bytes[offset..<(offset + n)])
        offset += n
        guard channel.isActive else { break }
        do { try channel.writeInbound(buf) } catch { break }
    } while offset < bytes.count
    var out: [UInt8] = []
    while let part = try? channel.readOutbound(as: IOData.self) {
        switch part {
        case .byteBuffer(let b): out += b.readableBytesView
        case .fileRegion: fuzzFail("file region written")
        }
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return responseStatuses(out)
}

func viaHandleFunction(_ bytes: [UInt8], endpoint: WebhookEndpoint) -> [Int] {
    // "METHOD URI\r\n" header lines "\r\n\r\n" body, as a foreign web server would hand them over.
    let split = find(bytes, Array("\r\n\r\n".utf8), from: 0)
    let head = String(decoding: bytes[..<(split ?? bytes.count)], as: UTF8.self)
    let body = split.map { Array(bytes[($0 + 4)...]) } ?? []
    var lines = head.split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false)
    let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: true)
    let method = requestLine.first.map(String.init) ?? ""
    let uri = requestLine.count > 1 ? String(requestLine[1]) : ""
    guard !method.isEmpty else { return [] }  // rtms_webhook_handle rejects an empty method itself
    let headers = WebhookRequest.headers(fromLines: lines.first.map(String.init) ?? "")
    let reply = endpoint.handle(WebhookRequest(method: method, uri: uri, headers: headers, body: body))
    return [reply.status]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let secretSet = flags & 1 != 0
    let handlePath = flags & 2 != 0
    let chunk = Int(flags >> 2)
    var bytes = Array(input.rest)

    // Placeholders: the time first (it is signed), then each request's signature.
    let now = Array(String(nowSeconds()).utf8)
    bytes = replace(bytes, tsToken) { _ in now }
    var signed = false
    if bytes.count >= sigToken.count, find(bytes, sigToken, from: 0) != nil {
        let sigs: [[UInt8]]
        if handlePath {
            let split = find(bytes, Array("\r\n\r\n".utf8), from: 0)
            let body = split.map { Array(bytes[($0 + 4)...]) } ?? []
            let head = String(decoding: bytes[..<(split ?? bytes.count)], as: UTF8.self)
            let ts = WebhookRequest.headers(fromLines: head)["x-zm-request-timestamp"] ?? ""
            sigs = [Array(Signatures.webhook(secretToken: secret, timestamp: ts, body: body).utf8)]
        } else {
            sigs = requestsAsNIOReadsThem(bytes).map { Array(Signatures.webhook(secretToken: secret, timestamp: $0.ts, body: $0.body).utf8) }
        }
        bytes = replace(bytes, sigToken) { k in k < sigs.count ? sigs[k] : Array("v0=unsigned".utf8) }
        signed = true
    }

    let endpoint = makeEndpoint(secretSet: secretSet)
    let statuses = handlePath ? viaHandleFunction(bytes, endpoint: endpoint) : viaHTTPServer(bytes, chunk: chunk, endpoint: endpoint)
    for s in statuses {
        fuzzCheck(allowedStatus.contains(s), "status \(s) is not one the intake documents")
    }
    if verbose { print("statuses \(statuses) signed \(signed) secret \(secretSet) counters \(endpoint.counters)") }
    checkDeliveries(endpoint, signed: signed, secretSet: secretSet)
    endpoint.stop()
    return 0
}

/// What main.swift hands to libFuzzer's driver. (Referring to the @_cdecl function itself from
/// main.swift would emit its C thunk in both object files in a debug build.)
let fuzzTarget: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { fuzzWebhook($0, $1) }
