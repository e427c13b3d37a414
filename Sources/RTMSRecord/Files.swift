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
    public private(set) var frames = 0   // samples per channel written

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

/// Mixes time-stamped 16-bit PCM from several speakers into one track. Packets are summed into a
/// window that is written out once it is older than `latencyMs` behind the newest packet.
public final class PCMMixer {
    public let writer: WAVWriter
    private let latencyFrames: Int
    private var acc: [Int32] = []   // interleaved samples from `accStart` (frames)
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
