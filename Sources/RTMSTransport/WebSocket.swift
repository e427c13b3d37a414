// WebSocket connections on SwiftNIO, shared by the client core (outbound) and the simulator
// (inbound). A connection lives on one event loop; its delegate is called on that loop only.

import Dispatch
import NIOCore
import NIOWebSocket
import RTMSSession

/// One message connection as the layers above see it. V1 is a WebSocket over TCP or TLS; Zoom's
/// announced SRT data transport would be another conformer. Loop-confined.
public protocol MessageConnection: AnyObject {
    var id: Int { get }
    func send(_ bytes: [UInt8], text: Bool, flush: Bool)
    /// Starts the close handshake; the connection ends when the peer answers or after 2 s.
    func close(code: Int, reason: String)
    /// The same, ending the connection after `timeoutMs` at the latest (0: right after the close
    /// frame is written; for an owner that must be gone by a deadline).
    func close(code: Int, reason: String, timeoutMs: Int)
    /// Starts the close handshake like `close(code:reason:)`, but messages that arrive before
    /// the peer's answer are still delivered (RFC 6455 §1.4: the peer may have sent them before
    /// it saw our close).
    func drain(code: Int, reason: String)
    /// Stops or resumes reading from the network (backpressure).
    func setReading(_ on: Bool)
    /// Pings after `pingAfterMs` of silence; declares the connection lost after `deadAfterMs`.
    func startLiveness(pingAfterMs: Int, deadAfterMs: Int)
    /// The local TCP port once connected (diagnostics: which socket is this connection's).
    var localPort: Int? { get }
}

extension MessageConnection {
    public func send(_ bytes: [UInt8], text: Bool) { send(bytes, text: text, flush: true) }
}

/// Opens message connections.
public protocol MessageTransport: Sendable {
    /// Starts opening `url`; the outcome reaches `delegate` on `loop`.
    func open(
        _ url: EndpointURL, id: Int, config: TransportConfig, on loop: EventLoop,
        delegate: MessageConnectionDelegate
    ) -> any MessageConnection
}

/// Receives what happens on a connection. Called on the connection's event loop.
public protocol MessageConnectionDelegate: AnyObject {
    func connectionOpened(_ c: any MessageConnection)
    func connectionFailed(_ c: any MessageConnection, _ failure: TransportFailure)
    /// One complete message (fragments already joined). `data` is valid during the call only.
    func connectionMessage(_ c: any MessageConnection, _ data: inout ByteBuffer, text: Bool)
    /// The end of one socket read: a good moment to hand a batch on.
    func connectionReadComplete(_ c: any MessageConnection)
    func connectionPong(_ c: any MessageConnection)
    func connectionClosed(_ c: any MessageConnection, _ info: CloseInfo)
}

extension MessageConnectionDelegate {
    public func connectionReadComplete(_ c: any MessageConnection) {}
    public func connectionPong(_ c: any MessageConnection) {}
}

/// RTMS V1's transport: WebSockets (ws://, wss://, optionally through an HTTP CONNECT proxy).
public struct WebSocketTransport: MessageTransport {
    public init() {}
    public func open(
        _ url: EndpointURL, id: Int, config: TransportConfig, on loop: EventLoop,
        delegate: MessageConnectionDelegate
    ) -> any MessageConnection {
        let conn = WebSocketConnection(id: id, eventLoop: loop, isClient: true, delegate: delegate)
        WebSocketClient.connect(url, config: config, connection: conn)
        return conn
    }
}

/// One WebSocket connection (client or server side). Loop-confined: call its methods on `eventLoop`
/// (the `…Anywhere` variants hop there).
public final class WebSocketConnection: MessageConnection, @unchecked Sendable {
    public enum State: Sendable, Equatable { case connecting, open, closing, closed }

    public let id: Int
    public let eventLoop: EventLoop
    public let isClient: Bool
    public private(set) var state: State = .connecting
    public weak var delegate: MessageConnectionDelegate?
    /// Free for the owner (e.g. the role of this connection).
    public var tag: Int = 0
    var channel: Channel?
    /// The TCP (or TLS, or proxy) channel while the upgrade is under way: closed with the
    /// connection when it is abandoned before it opened.
    private var dialingChannel: Channel?
    private var closeTimer: Scheduled<Void>?
    /// When closeTimer ends the connection (nil: no deadline set by close()).
    private var closeDeadline: NIODeadline?
    private var reported = false
    private var peerClose: (Int, String)? = nil
    private var localClose = false
    /// Closed by drain(): messages keep arriving until the peer answers the close.
    private var draining = false
    /// Bytes queued for writing but not yet flushed to the socket.
    public private(set) var messagesSent = 0

    public init(id: Int, eventLoop: EventLoop, isClient: Bool, delegate: MessageConnectionDelegate?) {
        self.id = id
        self.eventLoop = eventLoop
        self.isClient = isClient
        self.delegate = delegate
    }

    public var localPort: Int? { (channel ?? dialingChannel)?.localAddress?.port }

    // MARK: Called by the pipeline

    /// The socket is connected; the upgrade starts. Returns false when the connection was
    /// abandoned while dialing (the caller closes the channel).
    func dialed(_ channel: Channel) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard state == .connecting else { return false }
        dialingChannel = channel
        return true
    }

    func opened(_ channel: Channel) {
        eventLoop.preconditionInEventLoop()
        guard state == .connecting else { channel.close(promise: nil); return }
        dialingChannel = nil
        self.channel = channel
        state = .open
        delegate?.connectionOpened(self)
    }

    func failedToOpen(_ failure: TransportFailure) {
        eventLoop.preconditionInEventLoop()
        guard state == .connecting, !reported else { return }
        reported = true
        state = .closed
        channel?.close(promise: nil)
        dialingChannel?.close(promise: nil)
        dialingChannel = nil
        delegate?.connectionFailed(self, failure)
    }

    // MARK: Liveness

    private var lastReceivedNs: UInt64 = DispatchTime.now().uptimeNanoseconds
    private var lastPingNs: UInt64 = 0
    private var livenessTask: RepeatedTask?
    private var abortReason: String?
    /// Reading was stopped on purpose (backpressure): silence is ours, not the peer's.
    private var readingPaused = false

    /// Declares the connection dead when nothing at all (data, keep-alive, pong) arrives for
    /// `deadAfterMs`; sends a WebSocket ping after `pingAfterMs` of silence. A dead connection is
    /// closed at once and reported with the error "no traffic for … ms". While reading is paused
    /// (`setReading(false)`) nothing can arrive, so the silence does not count.
    public func startLiveness(pingAfterMs: Int, deadAfterMs: Int) {
        eventLoop.preconditionInEventLoop()
        livenessTask?.cancel()
        guard deadAfterMs > 0 else { return }
        let check = TimeAmount.milliseconds(Int64(max(50, min(pingAfterMs > 0 ? pingAfterMs : deadAfterMs, deadAfterMs) / 4)))
        lastReceivedNs = DispatchTime.now().uptimeNanoseconds
        livenessTask = eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { [weak self] task in
            guard let self, self.state == .open else { task.cancel(); return }
            let now = DispatchTime.now().uptimeNanoseconds
            if self.readingPaused {
                self.lastReceivedNs = now
                return
            }
            let idleMs = Int((now - self.lastReceivedNs) / 1_000_000)
            if idleMs >= deadAfterMs {
                task.cancel()
                self.abort(reason: "no traffic for \(idleMs) ms (limit \(deadAfterMs) ms)")
            } else if pingAfterMs > 0, idleMs >= pingAfterMs, (now - self.lastPingNs) / 1_000_000 >= UInt64(pingAfterMs) {
                self.lastPingNs = now
                self.ping()
            }
        }
    }

    func received(_ frame: WebSocketFrame) {
        lastReceivedNs = DispatchTime.now().uptimeNanoseconds
        switch frame.opcode {
        case .text, .binary:
            guard state == .open || (state == .closing && draining && peerClose == nil && abortReason == nil) else { return }
            var data = frame.unmaskedData
            if frame.opcode == .text && !isValidUTF8(data) {
                fail(code: 1007, reason: "WebSocket protocol violation: a text message is not valid UTF-8 (RFC 6455 §8.1)")
                return
            }
            delegate?.connectionMessage(self, &data, text: frame.opcode == .text)
        case .ping:
            guard state == .open else { return }
            let payload = frame.unmaskedData
            write(WebSocketFrame(fin: true, opcode: .pong, maskKey: mask(), data: payload), flush: true)
        case .pong:
            // Like messages: nothing reaches the delegate once the connection is failing or closed
            // (a pong decoded from the same read as a violation came after connectionClosed).
            guard state == .open else { return }
            delegate?.connectionPong(self)
        case .connectionClose:
            var data = frame.unmaskedData
            if state == .open, let why = Self.closePayloadProblem(data) {
                fail(code: why.code, reason: "WebSocket protocol violation: \(why.text) (RFC 6455 §5.5.1, §7.4); connection failed with close code \(why.code)")
                return
            }
            let code = data.readInteger(as: UInt16.self).map(Int.init) ?? 1005
            let reason = data.readString(length: data.readableBytes) ?? ""
            // A connection we are failing keeps its reason: the peer's close is not the cause.
            if abortReason == nil { peerClose = (code, reason) }
            if state == .open {
                // Answer the close handshake with the same code, then end the TCP connection.
                state = .closing
                var out = channel?.allocator.buffer(capacity: 2) ?? ByteBuffer()
                out.writeInteger(UInt16(code == 1005 ? 1000 : code))
                let ch = channel
                channel?.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask(), data: out))
                    .whenComplete { _ in ch?.close(promise: nil) }
                closeTimer?.cancel()
                closeTimer = eventLoop.scheduleTask(in: .seconds(2)) { ch?.close(promise: nil) }
                closeDeadline = .now() + .seconds(2)
            } else {
                channel?.close(promise: nil)
            }
        default:
            break
        }
    }

    func readComplete() { delegate?.connectionReadComplete(self) }

    /// What is wrong with a close frame's payload, if anything: one byte only, a code that may not
    /// be sent (below 1000, 1004–1006, 1015, 1016–2999 unassigned, 5000 and up), a reason that is
    /// not UTF-8.
    static func closePayloadProblem(_ payload: ByteBuffer) -> (code: Int, text: String)? {
        var data = payload
        guard data.readableBytes != 1 else { return (1002, "a close frame with a one-byte payload") }
        guard let code = data.readInteger(as: UInt16.self).map(Int.init) else { return nil }
        let allowed = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
        guard allowed else { return (1002, "a close frame with the code \(code), which may not be sent") }
        guard isValidUTF8(data) else { return (1007, "a close frame whose reason is not UTF-8") }
        return nil
    }

    func inactive(error: String?) {
        eventLoop.preconditionInEventLoop()
        closeTimer?.cancel()
        closeTimer = nil
        livenessTask?.cancel()
        livenessTask = nil
        let error = abortReason ?? error
        let wasConnecting = state == .connecting
        state = .closed
        guard !reported else { return }
        reported = true
        if wasConnecting {
            delegate?.connectionFailed(self, TransportFailure(.protocolError, error ?? "connection closed during the WebSocket upgrade"))
            return
        }
        delegate?.connectionClosed(
            self,
            CloseInfo(
                peerCloseCode: peerClose?.0, peerCloseReason: peerClose?.1 ?? "",
                initiatedLocally: localClose, error: peerClose == nil && !localClose ? (error ?? "connection reset") : nil))
    }

    // MARK: Use

    @inline(__always) private func mask() -> WebSocketMaskingKey? { isClient ? .random() : nil }

    private func write(_ frame: WebSocketFrame, flush: Bool) {
        guard let channel else { return }
        if flush { channel.writeAndFlush(frame, promise: nil) } else { channel.write(frame, promise: nil) }
    }

    /// Sends one message. Call on the event loop.
    public func send(_ bytes: [UInt8], text: Bool, flush: Bool = true) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, let channel else { return }
        var buf = channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        send(buffer: buf, text: text, flush: flush)
    }

    public func send(buffer: ByteBuffer, text: Bool, flush: Bool = true) {
        guard state == .open else { return }
        messagesSent += 1
        write(WebSocketFrame(fin: true, opcode: text ? .text : .binary, maskKey: mask(), data: buffer), flush: flush)
    }

    public func flush() { channel?.flush() }

    /// Writes a frame as given, RSV bits and opcode included (a simulator's hostile behaviours).
    public func sendRawFrame(fin: Bool = true, rsv1: Bool = false, masked: Bool? = nil, opcode: UInt8, payload: [UInt8]) {
        eventLoop.preconditionInEventLoop()
        guard state == .open, let channel, let op = WebSocketOpcode(encodedWebSocketOpcode: opcode) else { return }
        var buf = channel.allocator.buffer(capacity: payload.count)
        buf.writeBytes(payload)
        let key: WebSocketMaskingKey? = masked.map { $0 ? .random() : nil } ?? mask()
        write(WebSocketFrame(fin: fin, rsv1: rsv1, opcode: op, maskKey: key, data: buf), flush: true)
    }

    /// Sends one message, flushes, and calls `written` on the event loop once the bytes are in the
    /// kernel (or the write failed): backpressure for a sender that must not outrun the socket.
    public func send(buffer: ByteBuffer, text: Bool, written: @escaping @Sendable () -> Void) {
        guard state == .open, let channel else { return written() }
        messagesSent += 1
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in written() }
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: text ? .text : .binary, maskKey: mask(), data: buffer), promise: promise)
    }

    /// False while the socket's outbound buffer is above NIO's high-water mark (a slow reader).
    public var isWritable: Bool { channel?.isWritable ?? false }

    public func close(code: Int, reason: String) { close(code: code, reason: reason, timeout: .seconds(2)) }

    public func drain(code: Int, reason: String) {
        eventLoop.preconditionInEventLoop()
        if state == .open { draining = true }
        close(code: code, reason: reason, timeout: .seconds(2))
    }

    public func close(code: Int, reason: String, timeoutMs: Int) {
        close(code: code, reason: reason, timeout: .milliseconds(Int64(max(0, timeoutMs))))
    }

    /// Sends a ping (liveness checks).
    public func ping() {
        guard state == .open, let channel else { return }
        write(WebSocketFrame(fin: true, opcode: .ping, maskKey: mask(), data: channel.allocator.buffer(capacity: 0)), flush: true)
    }

    /// Starts the close handshake; the TCP connection ends when the peer answers or after `timeout`.
    public func close(code: Int = 1000, reason: String = "Normal close", timeout: TimeAmount) {
        eventLoop.preconditionInEventLoop()
        switch state {
        case .connecting:
            localClose = true
            failedToOpen(TransportFailure(.connect, "closed before the connection was open"))
        case .open:
            localClose = true
            state = .closing
            guard let channel else { return }
            var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
            data.writeInteger(UInt16(code))
            data.writeString(reason)
            write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask(), data: data), flush: true)
            closeTimer = eventLoop.scheduleTask(in: timeout) { [weak self] in self?.channel?.close(promise: nil) }
            closeDeadline = .now() + timeout
        case .closing:
            // Closing already (a drain, the peer's close): a caller with a nearer deadline (a
            // fleet node that lost its lease: 0 ms) gets it.
            let deadline = NIODeadline.now() + timeout
            guard let current = closeDeadline, deadline < current else { return }
            closeTimer?.cancel()
            closeDeadline = deadline
            closeTimer = eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.channel?.close(promise: nil) }
        case .closed:
            break
        }
    }

    /// Ends the TCP connection at once, without a close frame (chaos testing, shutdown).
    public func abort() {
        if state == .connecting {
            localClose = true
            failedToOpen(TransportFailure(.connect, "aborted before the connection was open"))
        }
        channel?.close(promise: nil)
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with `code` (1002 protocol error,
    /// 1007 invalid data, 1009 too big), then the TCP connection ends. Reported as lost, with
    /// `reason` as the error.
    public func fail(code: Int, reason: String) {
        eventLoop.preconditionInEventLoop()
        if abortReason == nil { abortReason = reason }
        guard state == .open, let channel else {
            self.channel?.close(promise: nil)
            return
        }
        state = .closing
        var data = channel.allocator.buffer(capacity: 2)
        data.writeInteger(UInt16(code))
        let ch = channel
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask(), data: data))
            .whenComplete { _ in ch.close(promise: nil) }
        // A peer that stopped reading never lets that write complete: end the socket anyway.
        closeTimer?.cancel()
        closeTimer = eventLoop.scheduleTask(in: .seconds(2)) { ch.close(promise: nil) }
        closeDeadline = .now() + .seconds(2)
    }

    /// Ends the TCP connection at once and reports it as lost for `reason` (not as a local close).
    public func abort(reason: String) {
        abortReason = reason
        channel?.close(promise: nil)
    }

    /// Stops or resumes reading from the socket (backpressure).
    public func setReading(_ on: Bool) {
        readingPaused = !on
        if on { lastReceivedNs = DispatchTime.now().uptimeNanoseconds }
        _ = channel?.setOption(ChannelOptions.autoRead, value: on)
    }
}

/// The last handler of a WebSocket pipeline: frames in, delegate calls out.
public final class WebSocketFrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias OutboundOut = WebSocketFrame

    let connection: WebSocketConnection
    private var lastError: String?

    public init(connection: WebSocketConnection) { self.connection = connection }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { connection.opened(context.channel) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        connection.opened(context.channel)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data))
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        connection.readComplete()
        context.fireChannelReadComplete()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        connection.inactive(error: lastError)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let v = error as? WebSocketViolation {
            connection.fail(code: v.closeCode, reason: v.text)
            return
        }
        if let e = error as? NIOWebSocketError, case .invalidFrameLength = e {
            connection.fail(code: 1009, reason: "the server sent a message over the size limit (max_message_bytes); connection failed with close code 1009")
            return
        }
        if let e = error as? NIOWebSocketFrameAggregator.Error, case .accumulatedFrameSizeIsTooLarge = e {
            connection.fail(code: 1009, reason: "the server sent a message over the size limit (max_message_bytes); connection failed with close code 1009")
            return
        }
        if error is NIOWebSocketError || error is NIOWebSocketFrameAggregator.Error {
            connection.fail(code: 1002, reason: "WebSocket protocol violation: \(describe(error)); connection failed with close code 1002")
            return
        }
        lastError = describe(error)
        context.close(promise: nil)
    }
}

/// A breach of RFC 6455 found in a frame, with the close code that fails the connection.
public struct WebSocketViolation: Error, Sendable, Equatable {
    public var closeCode: Int
    public var text: String
}

/// Checks every frame as it comes off the wire, before fragments are joined: no RSV bit without
/// a negotiated extension (we negotiate none), no reserved opcode (RFC 6455 §5.2). A violation
/// fails the connection with 1002.
///
/// With a connection, a frame that needs no joining (a whole text or binary message while no
/// fragmented one is in progress, or a control frame) goes straight to the connection; fragments,
/// and everything while a fragmented message is in progress, go on through the pipeline to NIO's
/// NIOWebSocketFrameAggregator, which joins them (and rejects what it rejects) as before. The
/// two pipeline steps skipped cost about 1,300 instructions a message (bench/run.py's
/// instructions workload).
public final class WebSocketFrameValidator: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias InboundOut = WebSocketFrame
    private var failed = false
    private let connection: WebSocketConnection?
    /// A fragmented message was started and has not ended: the aggregator may hold fragments.
    /// (Stays set after an aggregator error until a final continuation frame: those frames then
    /// take the aggregator's path, which handles them as it always did.)
    private var fragmenting = false

    public init(connection: WebSocketConnection? = nil) { self.connection = connection }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        var why: String? = nil
        if frame.rsv1 || frame.rsv2 || frame.rsv3 {
            why = "a frame has RSV bits set (rsv1 \(frame.rsv1), rsv2 \(frame.rsv2), rsv3 \(frame.rsv3)) and no extension was negotiated"
        } else if frame.maskKey != nil {
            why = "the server masked a frame (§5.1: a client must fail the connection)"
        } else {
            switch frame.opcode {
            case .continuation, .text, .binary, .connectionClose, .ping, .pong: break
            default: why = "a frame has the reserved opcode \(frame.opcode)"
            }
        }
        if let why {
            failed = true
            context.fireErrorCaught(
                WebSocketViolation(closeCode: 1002, text: "WebSocket protocol violation: \(why) (RFC 6455 §5.2); connection failed with close code 1002"))
            return
        }
        if let connection {
            switch frame.opcode {
            case .text, .binary:
                if frame.fin && !fragmenting {
                    connection.received(frame)
                    return
                }
                if !frame.fin { fragmenting = true }
            case .continuation:
                if frame.fin { fragmenting = false }
            default:
                // Control frames are never fragmented; the aggregator passes them on unchanged.
                connection.received(frame)
                return
            }
        }
        context.fireChannelRead(data)
    }
}

/// RFC 3629 validation with an ASCII fast path (32, then eight bytes at a time): JSON with base64
/// payloads is almost always pure ASCII.
func isValidUTF8(_ buffer: ByteBuffer) -> Bool {
    buffer.withUnsafeReadableBytes { raw -> Bool in
        let n = raw.count
        var i = 0
        while i + 32 <= n {
            let any =
                raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                | raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            if any & 0x8080_8080_8080_8080 != 0 { break }
            i += 32
        }
        while i + 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < n && raw[i] < 0x80 { i += 1 }
        if i == n { return true }
        return String(validating: UnsafeRawBufferPointer(rebasing: raw[i...]).bindMemory(to: UInt8.self), as: UTF8.self) != nil
    }
}

func describe(_ error: Error) -> String {
    let s = String(describing: error)
    if let io = error as? IOError { return "\(io.description)" }
    return s
}
