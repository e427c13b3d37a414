// fuzz-websocket: what a server sends after the upgrade, through the client's own WebSocket
// pipeline on an EmbeddedChannel: NIO's WebSocketFrameDecoder (ByteToMessageHandler), our
// WebSocketFrameValidator, NIO's NIOWebSocketFrameAggregator and our WebSocketFrameHandler with
// a WebSocketConnection (UTF-8 check of text messages, ping/pong, close handshake, failing with
// 1002/1007/1009) -- the handlers and parameters WebSocketClient.addWebSocketStage installs.
//
// Input: byte 0 = how the bytes arrive (0: in one read, n: reads of n bytes); byte 1 = the
// message size limit (bit 7 clear: the default 64 MiB; set: 1024 + 32 * (byte & 0x7F), the
// C ABI's smallest limits); the rest = bytes from the server.
//
// Invariants, besides "never traps": a reference model of RFC 6455 framing as this pipeline
// implements it (decoder limits, validator: RSV bits, masked server frames, reserved opcodes;
// aggregator; handler: UTF-8, close payload checks, echo) predicts exactly which messages reach
// the delegate, which pongs and which close frame the client writes, and how the connection
// ends; every text message delivered is valid UTF-8; isValidUTF8 agrees with String(validating:)
// on the raw input (at two alignments).

import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOWebSocket
import RTMSSession
@testable import RTMSTransport

// MARK: - What the pipeline did

final class Recorder: MessageConnectionDelegate {
    enum Event: Equatable {
        case opened
        case message(text: Bool, data: [UInt8])
        case pong
        case failed
        case closed(peerCode: Int?, initiatedLocally: Bool, hasError: Bool)
    }
    var events: [Event] = []
    func connectionOpened(_ c: any MessageConnection) { events.append(.opened) }
    func connectionFailed(_ c: any MessageConnection, _ failure: TransportFailure) { events.append(.failed) }
    func connectionMessage(_ c: any MessageConnection, _ data: inout ByteBuffer, text: Bool) {
        events.append(.message(text: text, data: data.readBytes(length: data.readableBytes) ?? []))
    }
    func connectionPong(_ c: any MessageConnection) { events.append(.pong) }
    func connectionClosed(_ c: any MessageConnection, _ info: CloseInfo) {
        events.append(.closed(peerCode: info.peerCloseCode, initiatedLocally: info.initiatedLocally, hasError: info.error != nil))
    }
}

// MARK: - Reference model

struct Model {
    enum End: Equatable {
        /// Bytes ran out (possibly mid-frame): the connection is still open.
        case open
        /// We fail the connection with this close code.
        case fail(Int)
        /// The server's close frame (code 1005 when it carried none).
        case peerClose(Int)
    }
    var delivered: [Recorder.Event] = []
    /// Frames the client writes: (opcode, payload).
    var written: [(UInt8, [UInt8])] = []
    var end = End.open

    init(_ input: UnsafeRawBufferPointer, maxBytes: Int) {
        let maxFrame = min(maxBytes, Int(UInt32.max))
        var p = 0
        var fragments: [UInt8]? = nil
        var fragmentsText = false
        var fragmentCount = 0
        func fail(_ code: Int) { end = .fail(code) }
        frames: while true {
            guard p + 2 <= input.count else { break }
            let b0 = input[p], b1 = input[p + 1]
            p += 2
            let fin = b0 & 0x80 != 0
            let rsv = b0 & 0x70
            let op = b0 & 0x0F
            let masked = b1 & 0x80 != 0
            var len = Int(b1 & 0x7F)
            if len == 126 {
                guard p + 2 <= input.count else { break }
                len = Int(input[p]) << 8 | Int(input[p + 1])
                p += 2
            } else if len == 127 {
                guard p + 8 <= input.count else { break }
                var l: UInt64 = 0
                for k in 0..<8 { l = l << 8 | UInt64(input[p + k]) }
                p += 8
                guard l <= UInt64(Int.max) else { fail(1009); break }
                len = Int(l)
            }
            // The decoder validates as soon as it knows the length.
            let control = op & 0x08 != 0
            if len > maxFrame { fail(1009); break }
            if control && !fin { fail(1002); break }
            if control && len > 125 { fail(1002); break }
            var key: [UInt8]? = nil
            if masked {
                guard p + 4 <= input.count else { break }
                key = Array(input[p..<(p + 4)])
                p += 4
            }
            guard len <= input.count - p else { break }
            var payload = Array(input[p..<(p + len)])
            p += len
            if let key { for i in payload.indices { payload[i] ^= key[i % 4] } }

            // Validator: no RSV bits, no masked frame from the server, no reserved opcodes.
            if rsv != 0 { fail(1002); break }
            if masked { fail(1002); break }
            guard [0, 1, 2, 8, 9, 10].contains(op) else { fail(1002); break }

            // Aggregator, then the handler.
            var message: (text: Bool, data: [UInt8])? = nil
            switch op {
            case 0:
                guard fragments != nil else { fail(1002); break frames }
                guard fragmentCount < 1 << 16, fin || fragmentCount + 1 < 1 << 16 else { fail(1002); break frames }
                fragments! += payload
                fragmentCount += 1
                guard fragments!.count <= maxBytes else { fail(1009); break frames }
                if fin {
                    message = (fragmentsText, fragments!)
                    fragments = nil
                    fragmentCount = 0
                }
            case 1, 2:
                guard fragments == nil else { fail(1002); break frames }
                if fin {
                    message = (op == 1, payload)
                } else {
                    guard payload.count <= maxBytes else { fail(1009); break frames }
                    fragments = payload
                    fragmentsText = op == 1
                    fragmentCount = 1
                }
            case 9:
                written.append((10, payload))
            case 10:
                delivered.append(.pong)
            default:  // 8: close, checked (RFC 6455 §5.5.1, §7.4): no 1-byte payload, a code that
                // may be sent, a UTF-8 reason
                if payload.count == 1 { fail(1002); break frames }
                let code = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                if payload.count >= 2 {
                    guard (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code) else {
                        fail(1002); break frames
                    }
                    guard String(validating: payload[2...], as: UTF8.self) != nil else { fail(1007); break frames }
                }
                end = .peerClose(code)
                written.append(
                    (
                        8,
                        [
                            UInt8(truncatingIfNeeded: (code == 1005 ? 1000 : code) >> 8),
                            UInt8(truncatingIfNeeded: code == 1005 ? 1000 : code),
                        ]
                    ))
                break frames
            }
            if let message {
                if message.text && String(validating: message.data, as: UTF8.self) == nil { fail(1007); break }
                delivered.append(.message(text: message.text, data: message.data))
            }
        }
        if case .fail(let code) = end {
            written.append((8, [UInt8(code >> 8), UInt8(code & 0xFF)]))
        }
    }
}

/// Client frames (masked) written by the pipeline: (opcode, unmasked payload).
func parseClientFrames(_ bytes: [UInt8]) -> [(UInt8, [UInt8])] {
    var out: [(UInt8, [UInt8])] = []
    var p = 0
    while p + 2 <= bytes.count {
        let op = bytes[p] & 0x0F
        fuzzCheck(bytes[p] & 0x80 != 0, "client wrote a fragmented frame")
        fuzzCheck(bytes[p + 1] & 0x80 != 0, "client wrote an unmasked frame")
        var len = Int(bytes[p + 1] & 0x7F)
        p += 2
        if len == 126 {
            len = Int(bytes[p]) << 8 | Int(bytes[p + 1]); p += 2
        } else if len == 127 {
            len = 0; for k in 0..<8 { len = len << 8 | Int(bytes[p + k]) }; p += 8
        }
        let key = Array(bytes[p..<(p + 4)])
        p += 4
        var payload = Array(bytes[p..<(p + len)])
        for i in payload.indices { payload[i] ^= key[i % 4] }
        p += len
        out.append((op, payload))
    }
    fuzzCheck(p == bytes.count, "client output ends mid-frame")
    return out
}

// MARK: - UTF-8

func checkUTF8(_ raw: UnsafeRawBufferPointer, alignment: Int) {
    // The input as it is, and shifted by 1-7 bytes (chosen by the input): the 8-byte ASCII fast
    // path meets the first non-ASCII byte at every offset, and starts at every address offset.
    let allocator = ByteBufferAllocator()
    for shift in Set([0, min(1 + alignment % 7, raw.count)]) {
        let slice = UnsafeRawBufferPointer(rebasing: raw[shift...])
        var buf = allocator.buffer(capacity: slice.count + 8)
        // Leading filler so the readable bytes start at a varying address offset as well.
        buf.writeRepeatingByte(0x41, count: shift)
        buf.moveReaderIndex(forwardBy: shift)
        buf.writeBytes(slice)
        let want = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) != nil
        fuzzCheck(isValidUTF8(buf) == want, "isValidUTF8 says \(!want) for \(fuzzShow(slice))")
    }
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let chunk = Int(input.byte())
    let limitByte = input.byte()
    let maxBytes = limitByte & 0x80 != 0 ? 1024 + 32 * Int(limitByte & 0x7F) : TransportConfig().maxMessageBytes
    let wire = input.rest
    checkUTF8(wire, alignment: chunk)

    let channel = EmbeddedChannel()
    let recorder = Recorder()
    let connection = WebSocketConnection(id: 1, eventLoop: channel.eventLoop, isClient: true, delegate: recorder)
    do {
        let s = channel.pipeline.syncOperations
        try s.addHandler(WebSocketFrameEncoder())
        try s.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: min(maxBytes, Int(UInt32.max)))))
        try s.addHandler(WebSocketFrameValidator(connection: connection))
        try s.addHandler(
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                maxAccumulatedFrameSize: maxBytes))
        try s.addHandler(WebSocketFrameHandler(connection: connection))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    } catch {
        fuzzFail("pipeline setup failed: \(error)")
    }

    var offset = 0
    repeat {
        let n = chunk == 0 ? wire.count : min(chunk, wire.count - offset)
        var buf = channel.allocator.buffer(capacity: n)
        buf.writeBytes(UnsafeRawBufferPointer(rebasing: wire[offset..<(offset + n)]))
        offset += n
        guard channel.isActive else { break }
        do { try channel.writeInbound(buf) } catch { break }
    } while offset < wire.count

    var out: [UInt8] = []
    while let b = try? channel.readOutbound(as: ByteBuffer.self) { out += b.readableBytesView }
    let stillOpen = channel.isActive
    _ = try? channel.finish(acceptAlreadyClosed: true)

    // Compare with the model.
    let model = Model(wire, maxBytes: maxBytes)
    var got = recorder.events
    fuzzCheck(got.first == .opened, "no connectionOpened first: \(got.prefix(3))")
    got.removeFirst()
    guard case .closed(let peerCode, let local, let hasError)? = got.last else {
        fuzzFail("connection did not report its end: \(got.suffix(3))")
    }
    got.removeLast()
    fuzzCheck(
        !got.contains(.failed)
            && !got.contains(where: {
                if case .closed = $0 { return true }; return false
            }),
        "extra open/close events: \(got)")
    for case .message(let text, let bytes) in got where text {
        fuzzCheck(String(validating: bytes, as: UTF8.self) != nil, "a text message with invalid UTF-8 was delivered: \(fuzzShow(bytes))")
    }
    fuzzCheck(
        got == model.delivered,
        """
        delivered events differ from the model (end \(model.end)):
          got   \(got.map { "\($0)".prefix(80) })
          model \(model.delivered.map { "\($0)".prefix(80) })
        """)
    let written = parseClientFrames(out)
    fuzzCheck(
        written.map(\.0) == model.written.map(\.0) && written.map(\.1) == model.written.map(\.1),
        """
        frames written differ from the model (end \(model.end)):
          got   \(written.map { ($0.0, fuzzShow($0.1, limit: 16)) })
          model \(model.written.map { ($0.0, fuzzShow($0.1, limit: 16)) })
        """)
    switch model.end {
    case .open:
        fuzzCheck(stillOpen, "connection closed though the model sees nothing wrong")
        fuzzCheck(peerCode == nil && !local && hasError, "an unfinished connection ended as \(String(describing: peerCode)) local \(local)")
    case .fail:
        fuzzCheck(!stillOpen, "connection still open after a protocol violation")
        fuzzCheck(peerCode == nil && hasError, "a failed connection reported peer code \(String(describing: peerCode)), error \(hasError)")
    case .peerClose(let code):
        fuzzCheck(!stillOpen, "connection still open after the server's close frame")
        fuzzCheck(peerCode == code && !hasError, "server close \(code) reported as \(String(describing: peerCode)), error \(hasError)")
    }
    return 0
}

/// What main.swift hands to libFuzzer's driver. (Referring to the @_cdecl function itself from
/// main.swift would emit its C thunk in both object files in a debug build.)
let fuzzTarget: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { fuzzWebSocket($0, $1) }
