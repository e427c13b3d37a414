// Files a person can open: WAV (PCM 16-bit), WebVTT, JSON lines, H.264 elementary streams and
// JPEG frames. POSIX stdio only; every writer can be finalized at any moment (SIGINT) and leaves
// a valid file.

import RTMSProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct RecordError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A file opened for writing; closed by `close()` or deinit.
final class OutFile {
    let path: String
    private var f: UnsafeMutablePointer<FILE>?
    private(set) var bytes: Int = 0

    init(_ path: String) throws {
        self.path = path
        guard let f = fopen(path, "wb") else { throw RecordError("cannot write \(path): \(String(cString: strerror(errno)))") }
        self.f = f
    }

    deinit { close() }

    func write(_ b: [UInt8]) {
        guard let f, !b.isEmpty else { return }
        b.withUnsafeBytes { raw in bytes += fwrite(raw.baseAddress, 1, raw.count, f) }
    }

    func write(_ s: String) { write(Array(s.utf8)) }

    /// Overwrites bytes at `offset` (the file position returns to the end).
    func patch(at offset: Int, _ b: [UInt8]) {
        guard let f else { return }
        fflush(f)
        fseek(f, offset, SEEK_SET)
        b.withUnsafeBytes { raw in _ = fwrite(raw.baseAddress, 1, raw.count, f) }
        fseek(f, 0, SEEK_END)
    }

    func flush() { if let f { fflush(f) } }

    func close() {
        if let f { fclose(f) }
        f = nil
    }
}

func makeDirectory(_ path: String) throws {
    var built = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        built += "/" + part
        if mkdir(built, 0o755) != 0 && errno != EEXIST {
            throw RecordError("cannot create \(built): \(String(cString: strerror(errno)))")
        }
    }
}

func littleEndian32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
func littleEndian16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

/// PCM 16-bit little-endian WAV. The header's sizes are patched on every `sync()` and at
/// `finalize()`, so the file is valid even if the process dies between syncs (up to the last one).
public final class WAVWriter {
    public let path: String
    public let sampleRate: Int
    public let channels: Int
    private let file: OutFile
    public private(set) var frames = 0  // samples per channel written

    public init(path: String, sampleRate: Int, channels: Int) throws {
        self.path = path
        self.sampleRate = sampleRate
        self.channels = channels
        file = try OutFile(path)
        file.write(header(dataBytes: 0))
    }

    func header(dataBytes: Int) -> [UInt8] {
        let blockAlign = channels * 2
        var h: [UInt8] = Array("RIFF".utf8) + littleEndian32(UInt32(36 + dataBytes)) + Array("WAVE".utf8)
        h += Array("fmt ".utf8) + littleEndian32(16) + littleEndian16(1) + littleEndian16(UInt16(channels))
        h += littleEndian32(UInt32(sampleRate)) + littleEndian32(UInt32(sampleRate * blockAlign))
        h += littleEndian16(UInt16(blockAlign)) + littleEndian16(16)
        h += Array("data".utf8) + littleEndian32(UInt32(dataBytes))
        return h
    }

    /// Appends interleaved 16-bit little-endian samples.
    public func append(pcm: [UInt8]) {
        let whole = pcm.count - pcm.count % (channels * 2)
        guard whole > 0 else { return }
        file.write(whole == pcm.count ? pcm : Array(pcm[0..<whole]))
        frames += whole / (channels * 2)
    }

    /// Appends `count` frames of silence.
    public func appendSilence(frames count: Int) {
        guard count > 0 else { return }
        var left = count * channels * 2
        let chunk = [UInt8](repeating: 0, count: min(left, 64 << 10))
        while left > 0 {
            let n = min(left, chunk.count)
            file.write(n == chunk.count ? chunk : Array(chunk[0..<n]))
            left -= n
        }
        frames += count
    }

    public func sync() {
        file.patch(at: 0, header(dataBytes: frames * channels * 2))
        file.flush()
    }

    public func finalize() {
        sync()
        file.close()
    }

    public var durationMs: Int { sampleRate > 0 ? frames * 1000 / sampleRate : 0 }
}

/// Opus packets as they arrive, in an Ogg container (RFC 7845): a `.opus` file any player opens,
/// no codec needed to write it. Pages hold up to a second of packets; the last page carries the
/// end-of-stream flag once finalized (an interrupted recording loses at most the open page).
public final class OggOpusWriter {
    public let path: String
    public let channels: Int
    private let file: OutFile
    private let serial: UInt32
    private var pageSequence: UInt32 = 0
    /// Samples at 48 kHz (Opus's granule clock) of every packet written.
    public private(set) var granule: UInt64 = 0
    public private(set) var packets = 0
    private var pending: [[UInt8]] = []
    private var pendingBytes = 0

    /// Opus's 20 ms silence frame (CELT, full band), mono or stereo.
    public static func silence(channels: Int) -> [UInt8] { [channels == 2 ? 0xFC : 0xF8, 0xFF, 0xFE] }

    public init(path: String, channels: Int, inputSampleRate: Int, serial: UInt32) throws {
        self.path = path
        self.channels = channels == 2 ? 2 : 1
        self.serial = serial
        file = try OutFile(path)
        var head: [UInt8] = Array("OpusHead".utf8) + [1, UInt8(self.channels)]
        head += littleEndian16(0) + littleEndian32(UInt32(inputSampleRate)) + littleEndian16(0) + [0]
        writePage([head], granule: 0, flags: 0x02)
        let vendor = Array("OpenRTMS".utf8)
        let tags: [UInt8] = Array("OpusTags".utf8) + littleEndian32(UInt32(vendor.count)) + vendor + littleEndian32(0)
        writePage([tags], granule: 0, flags: 0)
        file.flush()
    }

    /// Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 §3.1); 0 if malformed.
    public static func samples(_ packet: [UInt8]) -> Int {
        guard let toc = packet.first else { return 0 }
        let config = Int(toc >> 3)
        let frame: Int  // samples per frame at 48 kHz
        switch config {
        case 0...11: frame = [480, 960, 1920, 2880][config % 4]
        case 12...15: frame = [480, 960][config % 2]
        default: frame = [120, 240, 480, 960][config % 4]
        }
        let count: Int
        switch toc & 3 {
        case 0: count = 1
        case 1, 2: count = 2
        default:
            guard packet.count > 1 else { return 0 }
            count = Int(packet[1] & 0x3F)
        }
        let total = frame * count
        return total <= 5760 ? total : 0  // at most 120 ms
    }

    /// Appends one packet. Returns false (and writes nothing) for a packet that is not Opus.
    @discardableResult
    public func append(packet: [UInt8]) -> Bool {
        let n = Self.samples(packet)
        guard n > 0, packet.count <= 255 * 255 else { return false }
        pending.append(packet)
        pendingBytes += packet.count
        granule += UInt64(n)
        packets += 1
        if pending.count >= 50 || pendingBytes > 32 << 10 { flushPage(flags: 0) }
        return true
    }

    /// Appends 20 ms silence frames until the track reaches `ms` milliseconds (keeps speakers
    /// aligned with the meeting's clock, as the WAV tracks are).
    public func padSilence(toMs ms: Int) {
        let silence = Self.silence(channels: channels)
        while Int(granule / 48) + 20 <= ms { append(packet: silence) }
    }

    private func flushPage(flags: UInt8) {
        guard !pending.isEmpty || flags & 0x04 != 0 else { return }
        writePage(pending, granule: granule, flags: flags)
        pending = []
        pendingBytes = 0
    }

    private func writePage(_ packets: [[UInt8]], granule: UInt64, flags: UInt8) {
        var lacing: [UInt8] = []
        for p in packets {
            var left = p.count
            while left >= 255 { lacing.append(255); left -= 255 }
            lacing.append(UInt8(left))
        }
        var page: [UInt8] = Array("OggS".utf8) + [0, flags]
        for i in 0..<8 { page.append(UInt8((granule >> (8 * UInt64(i))) & 0xFF)) }
        page += littleEndian32(serial) + littleEndian32(pageSequence) + [0, 0, 0, 0] + [UInt8(lacing.count)] + lacing
        for p in packets { page += p }
        let crc = Self.crc(page)
        page[22] = UInt8(crc & 0xFF); page[23] = UInt8((crc >> 8) & 0xFF)
        page[24] = UInt8((crc >> 16) & 0xFF); page[25] = UInt8(crc >> 24)
        file.write(page)
        pageSequence += 1
    }

    /// Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0.
    static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var r = UInt32(i) << 24
        for _ in 0..<8 { r = r & 0x8000_0000 != 0 ? (r << 1) ^ 0x04C1_1DB7 : r << 1 }
        return r
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0
        for b in bytes { c = (c << 8) ^ crcTable[Int(((c >> 24) ^ UInt32(b)) & 0xFF)] }
        return c
    }

    /// Writes the open page so far (the file stays valid if the process dies later).
    public func sync() {
        flushPage(flags: 0)
        file.flush()
    }

    /// Writes the last page with the end-of-stream flag and closes the file.
    public func finalize() {
        flushPage(flags: 0x04)
        file.close()
    }

    public var durationMs: Int { Int(granule / 48) }
}

/// Mixes time-stamped 16-bit PCM from several speakers into one track. Packets are summed into a
/// window that is written out once it is older than `latencyMs` behind the newest packet.
public final class PCMMixer {
    public let writer: WAVWriter
    private let latencyFrames: Int
    private var acc: [Int32] = []  // interleaved samples from `accStart` (frames)
    private var accStart = 0

    public init(writer: WAVWriter, latencyMs: Int = 2000) {
        self.writer = writer
        latencyFrames = writer.sampleRate * latencyMs / 1000
    }

    /// Adds `pcm` starting at frame `at` of the timeline.
    public func add(pcm: [UInt8], at: Int) {
        let ch = writer.channels
        let n = pcm.count / 2
        guard n > 0 else { return }
        var start = at
        var skip = 0
        if start < accStart {
            // Older than what was already written: keep the part that is not.
            skip = (accStart - start) * ch
            start = accStart
            if skip >= n { return }
        }
        let offset = (start - accStart) * ch
        let needed = offset + (n - skip)
        if acc.count < needed { acc += [Int32](repeating: 0, count: needed - acc.count) }
        pcm.withUnsafeBytes { raw in
            for i in skip..<n {
                let s = Int16(bitPattern: UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)
                acc[offset + i - skip] += Int32(s)
            }
        }
        let newest = accStart + acc.count / ch
        if newest - accStart > latencyFrames * 2 { flush(upTo: newest - latencyFrames) }
    }

    /// Writes everything before frame `upTo` (or all).
    public func flush(upTo: Int? = nil) {
        let ch = writer.channels
        let end = min(upTo ?? (accStart + acc.count / ch), accStart + acc.count / ch)
        let count = (end - accStart) * ch
        guard count > 0 else { return }
        if writer.frames < accStart { writer.appendSilence(frames: accStart - writer.frames) }
        var out = [UInt8](repeating: 0, count: count * 2)
        for i in 0..<count {
            let v = UInt16(bitPattern: Int16(clamping: acc[i]))
            out[2 * i] = UInt8(v & 0xFF)
            out[2 * i + 1] = UInt8(v >> 8)
        }
        writer.append(pcm: out)
        acc.removeFirst(count)
        accStart = end
    }
}

/// WebVTT with one cue per transcript message.
public final class WebVTTWriter {
    private let file: OutFile
    public private(set) var cues = 0

    public init(path: String) throws {
        file = try OutFile(path)
        file.write("WEBVTT\n\n")
    }

    static func stamp(_ ms: Int64) -> String {
        let v = max(0, ms)
        func pad(_ n: Int64, _ w: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(v / 3_600_000, 2)):\(pad(v / 60_000 % 60, 2)):\(pad(v / 1000 % 60, 2)).\(pad(v % 1000, 3))"
    }

    /// A cue from `startMs` to `endMs` (relative to the start of the recording).
    public func cue(startMs: Int64, endMs: Int64, speaker: String, text: String) {
        cues += 1
        let end = max(endMs, startMs + 1)
        // A cue's text may not contain "-->" or a blank line.
        let clean = text.replacing("-->", with: "->").split(separator: "\n", omittingEmptySubsequences: true).joined(separator: "\n")
        let who = speaker.replacing(">", with: "").replacing("<", with: "")
        file.write("\(cues)\n\(Self.stamp(startMs)) --> \(Self.stamp(end))\n<v \(who)>\(clean)\n\n")
    }

    public func finalize() { file.close() }
    public func sync() { file.flush() }
}

/// One JSON object per line.
public final class JSONLinesWriter {
    private let file: OutFile
    public private(set) var lines = 0

    public init(path: String) throws { file = try OutFile(path) }

    public func write(_ o: JSONObject) {
        lines += 1
        file.write(JSON.serialize(.object(o)))
        file.write([10])
    }

    public func sync() { file.flush() }
    public func finalize() { file.close() }
}
