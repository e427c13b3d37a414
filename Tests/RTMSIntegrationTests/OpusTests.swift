// Opus from the simulator is real audio: the script's tones encoded with libopus (loaded at run
// time), decoded here with libopus again and checked for each speaker's pitch. Without libopus
// (Debian: libopus0) the decoding tests are skipped; the fallback to Opus's silence frame is
// checked either way.

import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSRecord
@testable import RTMSSession
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

let libopusMissing = "libopus (libopus.so.0, Debian's libopus0) is not installed: the simulator sends Opus's silence frame and nothing can be decoded"

func rms(_ x: [Double]) -> Double { x.isEmpty ? 0 : (x.reduce(0) { $0 + $1 * $1 } / Double(x.count)).squareRoot() }

/// Decodes `packets` in order with one decoder; the first channel, as Doubles.
func decodeOpus(_ packets: [[UInt8]], channels: Int) throws -> [Double] {
    let d = try #require(OpusDecoder(channels: channels))
    var out: [Double] = []
    for p in packets {
        let pcm = try #require(d.decode(p), "libopus rejects a packet of \(p.count) bytes")
        #expect(pcm.count == 960 * channels, "20 ms a packet")
        out += stride(from: 0, to: pcm.count, by: channels).map { Double(pcm[$0]) }
    }
    return out
}

/// Normalized cross-correlation of `x[lag...]` with `ref`.
func correlation(_ x: [Double], _ ref: [Double], lag: Int, count: Int? = nil) -> Double {
    let n = min(count ?? .max, x.count - lag, ref.count)
    guard n > 0 else { return 0 }
    var xy = 0.0, xx = 0.0, yy = 0.0
    for i in 0..<n {
        let a = x[lag + i], b = ref[i]
        xy += a * b; xx += a * a; yy += b * b
    }
    return xx > 0 && yy > 0 ? xy / (xx * yy).squareRoot() : 0
}

/// The decoder's output is the encoder's input a few milliseconds late (libopus's lookahead,
/// 312 samples at 48 kHz): the lag, searched on the first half second where the reference is
/// loudest, and the correlation over everything at that lag.
func matchAudio(_ x: [Double], _ ref: [Double]) -> (lag: Int, r: Double) {
    let window = 24_000
    var from = 0, loudest = 0.0
    for at in stride(from: 0, to: max(1, ref.count - window), by: 4800) {
        let e = rms(Array(ref[at..<min(ref.count, at + window)]))
        if e > loudest { loudest = e; from = at }
    }
    var best = (lag: 0, r: -1.0)
    let xs = Array(x[from...]), rs = Array(ref[from...])
    for lag in 0..<960 {
        let r = correlation(xs, rs, lag: lag, count: window)
        if r > best.r { best = (lag, r) }
    }
    return (best.lag, correlation(x, ref, lag: best.lag))
}

/// The script's PCM for one 20 ms tick at 48 kHz, first channel: what an L16 stream carries.
struct ScriptAudio {
    let seed: UInt64
    private var voices: [Int64: [Int16]] = [:]
    private var quiet: [Int16] = []

    init(seed: UInt64) { self.seed = seed }

    mutating func tick(_ tick: Int64, speaker: Participant?, channels: Int) -> [Double] {
        let second: [Int16]
        if let p = speaker {
            if voices[p.userID] == nil { voices[p.userID] = samples(MediaSynth.voiceSecond(pitch: p.pitch, sampleRate: 48_000, channels: 1)) }
            second = voices[p.userID] ?? []
        } else {
            if quiet.isEmpty {
                let all = samples(MediaSynth.quietSecond(sampleRate: 48_000, channels: channels, seed: seed))
                quiet = stride(from: 0, to: all.count, by: channels).map { all[$0] }
            }
            second = quiet
        }
        let off = Int((tick - 1) * 960 % 48_000)
        return second[off..<(off + 960)].map(Double.init)
    }
}

@Suite(.serialized) struct OpusTests {
    static let durationMs = 5000
    static func script(_ seed: UInt64) -> MeetingScript {
        MeetingScript.generate(seed: seed, durationMs: durationMs, participantCount: 3)
    }
    static func speakers(_ s: MeetingScript) -> [Participant] {
        var out: [Participant] = []
        for step in s.steps { if case .activeSpeaker(let p) = step.step, !out.contains(p) { out.append(p) } }
        return out
    }
    /// A meeting in which at least two participants speak.
    static let seed: UInt64 = (1...200).first { speakers(script($0)).count >= 2 } ?? 1

    /// Who speaks at `ms` after the start, by the script.
    static func speaker(atMs ms: Int64, _ s: MeetingScript) -> Participant? {
        var who: Participant?
        for step in s.steps where Int64(step.atMs) <= ms { if case .activeSpeaker(let p) = step.step { who = p } }
        return who
    }

    func join(_ h: SimHarness, _ audio: AudioParams) throws -> (StreamStart, Collected, started: Int64) {
        let start = h.meeting {
            $0.durationMs = Self.durationMs; $0.participants = 3; $0.seed = Self.seed
        }
        let client = try makeClient(types: MediaMask.audio.rawValue, params: MediaParams(audio: audio))
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        let c = collect(client, timeout: 20)
        #expect(c.joinConfirm?.reason == 0)
        #expect(c.leave?.reason == StopReason.meetingEnded)
        let started = h.sim.report(start.streamID)?["started_ms"]?.intValue ?? 0
        return (start, c, started)
    }

    @Test(.enabled(if: LibOpus.shared != nil, Comment(rawValue: libopusMissing)))
    func mixedOpusIsTheScriptsAudioEncoded() throws {
        let h = try SimHarness()
        let (start, c, started) = try join(h, AudioParams(sampleRate: SampleRate.sr48k, codec: Codec.opus, sendRate: 20))
        let audio = c.media[.audio] ?? []
        #expect(audio.count > 200, "one packet every 20 ms")
        #expect(audio.allSatisfy { $0.data.count > 3 && $0.data[0] & 0x04 == 0 && $0.userID == 0 }, "encoded packets, mono, mixed")
        let report = h.sim.report(start.streamID)
        #expect(report?["opus"]?["encoder"]?.stringValue?.hasPrefix("libopus") == true, "\(String(describing: report?["opus"]))")
        #expect(report?["opus"]?["encoded"]?.intValue == Int64(audio.count) && report?["opus"]?["silence"]?.intValue == 0)
        let pcm = try decodeOpus(audio.map(\.data), channels: 1)
        #expect(rms(pcm) > 1000, "not silence: RMS \(rms(pcm))")
        // The same samples an L16 stream carries: each tick's speaker's tone (quiet before anyone speaks).
        let script = Self.script(Self.seed)
        var synth = ScriptAudio(seed: Self.seed)
        var ref: [Double] = []
        for m in audio {
            let tick = (m.timestamp - started) / 20
            ref += synth.tick(tick, speaker: Self.speaker(atMs: tick * 20, script), channels: 1)
        }
        let match = matchAudio(pcm, ref)
        #expect(match.r > 0.8, "decoded vs the script's PCM: r = \(match.r) at a lag of \(match.lag) samples")
        #expect(match.lag < 700, "libopus's delay: \(match.lag) samples")
    }

    @Test(.enabled(if: LibOpus.shared != nil, Comment(rawValue: libopusMissing)))
    func perSpeakerStereoOpusCarriesEachSpeakersVoice() throws {
        let h = try SimHarness()
        let (_, c, started) = try join(
            h,
            AudioParams(
                sampleRate: SampleRate.sr48k, channel: AudioChannel.stereo, codec: Codec.opus,
                dataOpt: DataOption.audioMultiStreams, sendRate: 20))
        let script = Self.script(Self.seed)
        let audio = c.media[.audio] ?? []
        #expect(audio.allSatisfy { $0.userID != 0 && $0.data[0] & 0x04 != 0 }, "speaker packets, stereo")
        let speakers = Set(audio.map(\.userID))
        #expect(speakers.count >= 2, "several speakers: \(speakers)")
        var synth = ScriptAudio(seed: Self.seed)
        for id in speakers.sorted() {
            let p = try #require(script.participants.first { $0.userID == id })
            let mine = audio.filter { $0.userID == id }
            let pcm = try decodeOpus(mine.map(\.data), channels: 2)
            #expect(rms(pcm) > 1000, "\(p.name) is not silent: RMS \(rms(pcm))")
            // The speaker's own tone, and nobody else's.
            let ticks = mine.map { ($0.timestamp - started) / 20 }
            let own = ticks.flatMap { synth.tick($0, speaker: p, channels: 2) }
            let match = matchAudio(pcm, own)
            #expect(match.r > 0.8, "\(p.name): r = \(match.r) at lag \(match.lag)")
            for q in script.participants where q.userID != id {
                let other = ticks.flatMap { synth.tick($0, speaker: q, channels: 2) }
                let r = correlation(pcm, other, lag: match.lag)
                #expect(abs(r) < 0.3, "\(p.name)'s stream vs \(q.name)'s voice: r = \(r)")
            }
        }
    }

    @Test(.enabled(if: LibOpus.shared != nil, Comment(rawValue: libopusMissing)))
    func recordedOggOpusIsAudible() throws {
        // What `rtms record --audio-codec opus` writes: an Ogg Opus file per speaker, the packets
        // as received with silence frames in the gaps.
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = Self.durationMs; $0.participants = 3; $0.seed = Self.seed
        }
        let (summary, base) = try recordOpusMeeting(start, into: testDirectory("opus-audible"))
        let tracks = (summary["files"]?.arrayValue ?? []).compactMap(\.stringValue).filter { $0.hasSuffix(".opus") }
        #expect(tracks.count >= 2, "\(tracks)")
        for t in tracks {
            let pages = try #require(oggPages(readFile(base + "/" + t)), "\(t) is a valid Ogg stream")
            let packets = pages.dropFirst(2).flatMap(\.packets)
            let voiced = packets.filter { $0 != OggOpusWriter.silence(channels: 1) }
            #expect(voiced.count > 20, "\(t): \(voiced.count) packets of speech")
            let pcm = try decodeOpus(packets, channels: 1)
            let speech = try decodeOpus(voiced, channels: 1)
            #expect(rms(speech) > 1000, "\(t) is audible: RMS \(rms(speech)) while speaking")
            #expect(pcm.count == packets.count * 960)
        }
    }

    @Test func withoutEncodingOpusIsTheSilenceFrameAndTheReportSaysSo() throws {
        // The same path as a machine without libopus.
        let h = try SimHarness { $0.opusEncoding = false }
        let (start, c, _) = try join(h, AudioParams(sampleRate: SampleRate.sr48k, codec: Codec.opus, sendRate: 20))
        let packets = (c.media[.audio] ?? []).map(\.data)
        #expect(packets.count > 200 && packets.allSatisfy { $0 == [0xF8, 0xFF, 0xFE] })
        let report = h.sim.report(start.streamID)
        #expect(report?["opus"]?["encoder"]?.stringValue?.hasPrefix("silence") == true)
        #expect(report?["opus"]?["silence"]?.intValue == Int64(packets.count) && report?["opus"]?["encoded"]?.intValue == 0)
        if LibOpus.shared != nil {
            // libopus decodes the silence frame to silence.
            #expect(rms(try decodeOpus(packets, channels: 1)) == 0)
        }
    }
}
