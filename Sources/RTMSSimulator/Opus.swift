// Opus for the simulator, from the system's libopus loaded at run time (dlopen of libopus.so.0,
// Debian's libopus0): no build-time dependency, so `swift build` and `rtms demo` work on a
// machine without it. Where it is missing, Opus audio falls back to Opus's 20 ms silence frame,
// with a warning once per process and the stream report saying so (`"opus"` in the report).

import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libopus's entry points, resolved once per process. Immutable after loading.
public final class LibOpus: @unchecked Sendable {
    typealias EncoderCreate = @convention(c) (Int32, Int32, Int32, UnsafeMutablePointer<Int32>?) -> OpaquePointer?
    typealias Encode = @convention(c) (OpaquePointer?, UnsafePointer<Int16>?, Int32, UnsafeMutablePointer<UInt8>?, Int32) -> Int32
    typealias Destroy = @convention(c) (OpaquePointer?) -> Void
    typealias DecoderCreate = @convention(c) (Int32, Int32, UnsafeMutablePointer<Int32>?) -> OpaquePointer?
    typealias Decode = @convention(c) (OpaquePointer?, UnsafePointer<UInt8>?, Int32, UnsafeMutablePointer<Int16>?, Int32, Int32) -> Int32
    typealias VersionString = @convention(c) () -> UnsafePointer<CChar>?

    let encoderCreate: EncoderCreate
    let encode: Encode
    let encoderDestroy: Destroy
    let decoderCreate: DecoderCreate
    let decode: Decode
    let decoderDestroy: Destroy
    /// libopus's own version string, e.g. "libopus 1.3.1".
    public let version: String

    /// OPUS_APPLICATION_AUDIO.
    static let applicationAudio: Int32 = 2049
    /// Names tried in order: Debian's runtime package (libopus0), then the development link, macOS.
    static let names = ["libopus.so.0", "libopus.so", "libopus.0.dylib", "libopus.dylib"]

    private init(
        encoderCreate: EncoderCreate, encode: Encode, encoderDestroy: Destroy, decoderCreate: DecoderCreate,
        decode: Decode, decoderDestroy: Destroy, version: String
    ) {
        self.encoderCreate = encoderCreate
        self.encode = encode
        self.encoderDestroy = encoderDestroy
        self.decoderCreate = decoderCreate
        self.decode = decode
        self.decoderDestroy = decoderDestroy
        self.version = version
    }

    /// The loaded library, or why there is none. Loaded on first use; never unloaded.
    public static let loaded: Result<LibOpus, OpusUnavailable> = load()

    /// The library if it could be loaded.
    public static var shared: LibOpus? { try? loaded.get() }

    private static func load() -> Result<LibOpus, OpusUnavailable> {
        var handle: UnsafeMutableRawPointer?
        var errors: [String] = []
        for name in names {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
            if handle != nil { break }
            if let e = dlerror() { errors.append(String(cString: e)) }
        }
        guard let handle else {
            return .failure(OpusUnavailable(reason: errors.first ?? "libopus.so.0 not found"))
        }
        func sym<T>(_ name: String, _ type: T.Type) -> T? {
            guard let p = dlsym(handle, name) else { return nil }
            return unsafeBitCast(p, to: type)
        }
        guard let ec = sym("opus_encoder_create", EncoderCreate.self), let en = sym("opus_encode", Encode.self),
            let ed = sym("opus_encoder_destroy", Destroy.self), let dc = sym("opus_decoder_create", DecoderCreate.self),
            let de = sym("opus_decode", Decode.self), let dd = sym("opus_decoder_destroy", Destroy.self)
        else {
            return .failure(OpusUnavailable(reason: "libopus lacks the opus_encoder_*/opus_decoder_* functions"))
        }
        let version = sym("opus_get_version_string", VersionString.self).flatMap { f in f().map { String(cString: $0) } } ?? "libopus"
        return .success(
            LibOpus(
                encoderCreate: ec, encode: en, encoderDestroy: ed, decoderCreate: dc, decode: de,
                decoderDestroy: dd, version: version))
    }
}

public struct OpusUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "libopus is not available (\(reason))" }
}

/// One Opus encoder (48 kHz, 20 ms frames, OPUS_APPLICATION_AUDIO, libopus's default bitrate).
/// Not thread-safe: one owner (a stream on the simulator's event loop).
public final class OpusEncoder {
    public let channels: Int
    public let sampleRate: Int
    private let lib: LibOpus
    private let state: OpaquePointer
    private var out = [UInt8](repeating: 0, count: 1500)

    /// nil when libopus is missing or refuses the parameters.
    public init?(sampleRate: Int = 48_000, channels: Int) {
        guard let lib = LibOpus.shared, channels == 1 || channels == 2 else { return nil }
        var err: Int32 = 0
        guard let st = lib.encoderCreate(Int32(sampleRate), Int32(channels), LibOpus.applicationAudio, &err), err == 0 else { return nil }
        self.lib = lib
        self.state = st
        self.channels = channels
        self.sampleRate = sampleRate
    }

    deinit { lib.encoderDestroy(state) }

    /// One packet from interleaved samples (a whole frame: 2.5, 5, 10, 20, 40 or 60 ms); nil on error.
    public func encode(_ pcm: [Int16]) -> [UInt8]? {
        let frame = pcm.count / channels
        guard frame > 0 else { return nil }
        let n = pcm.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                lib.encode(state, p.baseAddress, Int32(frame), o.baseAddress, Int32(o.count))
            }
        }
        guard n > 0 else { return nil }
        return Array(out[0..<Int(n)])
    }

    /// One packet from 16-bit little-endian interleaved PCM (what an L16 message carries).
    public func encode(l16 bytes: [UInt8]) -> [UInt8]? {
        var pcm = [Int16](repeating: 0, count: bytes.count / 2)
        for i in pcm.indices {
            pcm[i] = Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8)
        }
        return encode(pcm)
    }
}

/// One Opus decoder, for tests and tools that check what the simulator sends.
public final class OpusDecoder {
    public let channels: Int
    public let sampleRate: Int
    private let lib: LibOpus
    private let state: OpaquePointer
    private var out: [Int16]

    /// nil when libopus is missing or refuses the parameters.
    public init?(sampleRate: Int = 48_000, channels: Int) {
        guard let lib = LibOpus.shared, channels == 1 || channels == 2 else { return nil }
        var err: Int32 = 0
        guard let st = lib.decoderCreate(Int32(sampleRate), Int32(channels), &err), err == 0 else { return nil }
        self.lib = lib
        self.state = st
        self.channels = channels
        self.sampleRate = sampleRate
        out = [Int16](repeating: 0, count: 5760 * channels)  // 120 ms, Opus's longest packet
    }

    deinit { lib.decoderDestroy(state) }

    /// Interleaved samples of one packet; nil if libopus rejects it.
    public func decode(_ packet: [UInt8]) -> [Int16]? {
        let frame = out.count / channels
        let n = packet.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                lib.decode(state, p.baseAddress, Int32(p.count), o.baseAddress, Int32(frame), 0)
            }
        }
        guard n > 0 else { return nil }
        return Array(out[0..<(Int(n) * channels)])
    }
}

/// The missing-libopus warning is logged once per process.
let opusWarningLogged = NIOLockedValueBox(false)
