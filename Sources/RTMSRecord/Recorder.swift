// Records every stream it is given: one RTMSClient and one StreamRecorder per stream, all polled
// on the calling thread (sleeping in poll(2) on the clients' wake descriptors).

import RTMSClient
import RTMSProtocol
import RTMSSession

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct RecordSettings: Sendable {
    public var outputDirectory = "rtms-recordings"
    public var format = RecordFormat()
    /// MediaMask bits to receive.
    public var mediaTypes = MediaMask.everyKind.rawValue
    public var clientID: String?
    public var clientSecret: String?
    public var caPath: String?
    public var verifyCertificate = true
    public var events = [2, 3, 4, 5, 6, 7, 8, 9]
    public init() {}
}

public final class Recorder {
    public let settings: RecordSettings
    public private(set) var sessions: [(client: RTMSClient, recorder: StreamRecorder)] = []
    /// Called with each stream's recorder before its join starts (to set its `observer`).
    public var onNewStream: ((StreamRecorder) -> Void)?

    public init(settings: RecordSettings) { self.settings = settings }

    /// Joins a stream and starts recording it into `<output>/<stream id>/` (or `directory`: `rtms
    /// serve` records each owner's segment of a stream into a folder of its own).
    @discardableResult
    public func record(_ start: StreamStart, directory: String? = nil) throws -> StreamRecorder {
        let dir = directory ?? settings.outputDirectory + "/" + StreamRecorder.safeName(start.streamID)
        let rec = try StreamRecorder(directory: dir, streamID: start.streamID, instanceID: start.instanceID, format: settings.format)
        onNewStream?(rec)
        let client = RTMSClient()
        var cfg = client.config
        cfg.clientID = settings.clientID ?? cfg.clientID
        cfg.clientSecret = settings.clientSecret ?? cfg.clientSecret
        cfg.transport.caPath = settings.caPath
        cfg.transport.verifyCertificate = settings.verifyCertificate
        client.config = cfg
        let rate: Int
        switch settings.format.sampleRate {
        case 8000: rate = SampleRate.sr8k
        case 32000: rate = SampleRate.sr32k
        case 48000: rate = SampleRate.sr48k
        default: rate = SampleRate.sr16k
        }
        // Per-speaker audio (L16: one WAV each, mixed by the recorder; Opus: one Ogg file each),
        // JPEG video.
        let opus = settings.format.codec == .opus
        let params = MediaParams(
            audio: AudioParams(
                contentType: ContentType.rawAudio, sampleRate: opus ? SampleRate.sr48k : rate,
                channel: settings.format.channels == 2 ? AudioChannel.stereo : AudioChannel.mono,
                codec: opus ? Codec.opus : Codec.l16, dataOpt: DataOption.audioMultiStreams, sendRate: 20))
        do {
            try client.configure(mediaTypes: settings.mediaTypes, params: params)
            client.subscribe(events: settings.events, on: true)
            try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: start.signature, serverURLs: start.serverURLs)
        } catch {
            rec.finalize()
            throw RecordError("cannot join stream \(start.streamID): \(error.message)")
        }
        sessions.append((client, rec))
        return rec
    }

    /// Delivers pending events of every stream; sleeps up to `waitMs` in poll(2) when none is
    /// pending (also on `extraFD`, e.g. a webhook intake's). Returns the number delivered.
    @discardableResult
    public func poll(waitMs: Int, extraFD: Int32 = -1) -> Int {
        var fds = sessions.map { pollfd(fd: $0.client.queue.wakeFD, events: Int16(POLLIN), revents: 0) }
        if extraFD >= 0 { fds.append(pollfd(fd: extraFD, events: Int16(POLLIN), revents: 0)) }
        if waitMs != 0 && !fds.isEmpty { _ = pollDescriptors(&fds, Int32(waitMs)) } else if waitMs > 0 { usleep(useconds_t(waitMs * 1000)) }
        var n = 0
        for s in sessions where !s.recorder.ended {
            n += s.client.poll(maxEvents: 4096) { s.recorder.add($0) }
            if s.recorder.ended {
                s.client.leave()
                s.recorder.finalize(counters: s.client.counters)
            }
        }
        return n
    }

    public var activeCount: Int { sessions.filter { !$0.recorder.ended }.count }

    public func statusLine() -> String {
        let people = sessions.reduce(0) { $0 + $1.recorder.participantCount }
        let bytes = sessions.reduce(0) { $0 + $1.recorder.totalBytes }
        let rec = sessions.reduce(0) { $0 + $1.recorder.reconnectCount }
        let mib = Double(bytes) / 1_048_576
        return "streams \(activeCount)/\(sessions.count) | participants \(people) | \((mib * 10).rounded() / 10) MiB | reconnects \(rec)"
    }

    /// Leaves every stream and finalizes every file. Returns the summaries.
    @discardableResult
    public func finish() -> [JSONValue] {
        sessions.map { s in
            s.client.leave()
            return s.recorder.finalize(counters: s.client.counters)
        }
    }
}

/// poll(2) (named so that it does not clash with `Recorder.poll`).
func pollDescriptors(_ fds: inout [pollfd], _ ms: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.poll(&fds, nfds_t(fds.count), ms)
    #else
    return Darwin.poll(&fds, nfds_t(fds.count), ms)
    #endif
}
