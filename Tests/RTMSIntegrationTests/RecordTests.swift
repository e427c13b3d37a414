// The recorder: files a person can open, checked byte by byte (WAV headers, WebVTT, JSON lines),
// and a whole meeting recorded from the simulator, including a stop in the middle.

import Testing
@testable import RTMSClient
@testable import RTMSProtocol
@testable import RTMSRecord
@testable import RTMSSession
@testable import RTMSSimulator

#if canImport(Glibc)
import Glibc
#endif

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

func u32(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }

/// (sample rate, channels, frames) of a WAV file whose header agrees with its size; nil otherwise.
func wavInfo(_ path: String) -> (rate: Int, channels: Int, frames: Int)? {
    let b = readFile(path)
    guard b.count >= 44, Array(b[0..<4]) == Array("RIFF".utf8), Array(b[8..<12]) == Array("WAVE".utf8),
        Array(b[12..<16]) == Array("fmt ".utf8), u16(b, 20) == 1, u16(b, 34) == 16,
        Array(b[36..<40]) == Array("data".utf8)
    else { return nil }
    let data = u32(b, 40)
    guard u32(b, 4) == 36 + data, data == b.count - 44 else { return nil }
    let ch = u16(b, 22)
    return (u32(b, 24), ch, data / (2 * ch))
}

/// Pages of an Ogg file, each checked against its CRC: (flags, granule, packets).
func oggPages(_ b: [UInt8]) -> [(flags: UInt8, granule: UInt64, packets: [[UInt8]])]? {
    var out: [(flags: UInt8, granule: UInt64, packets: [[UInt8]])] = []
    var at = 0
    while at < b.count {
        guard at + 27 <= b.count, Array(b[at..<(at + 4)]) == Array("OggS".utf8), b[at + 4] == 0 else { return nil }
        let n = Int(b[at + 26])
        guard at + 27 + n <= b.count else { return nil }
        let lacing = Array(b[(at + 27)..<(at + 27 + n)])
        let size = 27 + n + lacing.reduce(0) { $0 + Int($1) }
        guard at + size <= b.count else { return nil }
        var page = Array(b[at..<(at + size)])
        let stored = UInt32(u32(page, 22))
        page[22] = 0; page[23] = 0; page[24] = 0; page[25] = 0
        guard OggOpusWriter.crc(page) == stored else { return nil }
        var granule: UInt64 = 0
        for i in 0..<8 { granule |= UInt64(b[at + 6 + i]) << (8 * UInt64(i)) }
        var packets: [[UInt8]] = [], cur: [UInt8] = [], off = at + 27 + n
        for l in lacing {
            cur += b[off..<(off + Int(l))]
            off += Int(l)
            if l < 255 { packets.append(cur); cur = [] }
        }
        out.append((b[at + 5], granule, packets))
        at += size
    }
    return out
}

func testDirectory(_ name: String) -> String {
    let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return tmp + "/openrtms-record-\(getpid())-\(name)-\(nowMilliseconds())"
}

func pcm(_ samples: [Int16]) -> [UInt8] {
    samples.flatMap { s -> [UInt8] in
        let v = UInt16(bitPattern: s); return [UInt8(v & 0xFF), UInt8(v >> 8)]
    }
}

func samples(_ b: [UInt8]) -> [Int16] {
    stride(from: 0, to: b.count - 1, by: 2).map { Int16(bitPattern: UInt16(b[$0]) | UInt16(b[$0 + 1]) << 8) }
}

@Suite struct RecordFileTests {
    @Test func wavHeadersAgreeWithTheDataAtEverySync() throws {
        let dir = testDirectory("wav")
        try makeDirectory(dir)
        let w = try WAVWriter(path: dir + "/t.wav", sampleRate: 16_000, channels: 2)
        w.append(pcm: pcm([1, 2, 3, 4]))
        w.append(pcm: [9, 9, 9])  // not a whole frame: ignored
        w.appendSilence(frames: 3)
        w.sync()
        #expect(wavInfo(dir + "/t.wav")?.frames == 5)
        w.append(pcm: pcm([5, 6]))
        w.finalize()
        let info = try #require(wavInfo(dir + "/t.wav"))
        #expect(info.rate == 16_000 && info.channels == 2 && info.frames == 6)
        #expect(samples(Array(readFile(dir + "/t.wav")[44...])) == [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 5, 6])
    }

    @Test func theMixerSumsOnOneTimelineAndClips() throws {
        let dir = testDirectory("mix")
        try makeDirectory(dir)
        let mixer = PCMMixer(writer: try WAVWriter(path: dir + "/m.wav", sampleRate: 1000, channels: 1), latencyMs: 2)
        mixer.add(pcm: pcm([100, 100, 100]), at: 0)
        mixer.add(pcm: pcm([10, 10]), at: 1)
        mixer.add(pcm: pcm([30_000]), at: 5)
        mixer.add(pcm: pcm([30_000]), at: 5)
        mixer.flush()
        // Late audio for what was already written is dropped, not misplaced.
        mixer.add(pcm: pcm([7, 7]), at: 0)
        mixer.flush()
        mixer.writer.finalize()
        #expect(samples(Array(readFile(dir + "/m.wav")[44...])) == [100, 110, 110, 0, 0, Int16.max])
    }

    @Test func oggOpusPagesAreValidAndTimed() throws {
        let dir = testDirectory("ogg")
        try makeDirectory(dir)
        let path = dir + "/a.opus"
        let w = try OggOpusWriter(path: path, channels: 1, inputSampleRate: 48_000, serial: 7)
        #expect(OggOpusWriter.samples([0xF8, 0xFF, 0xFE]) == 960, "CELT 20 ms, one frame")
        #expect(OggOpusWriter.samples([0x08, 0x00]) == 960 && OggOpusWriter.samples([0x18]) == 2880 && OggOpusWriter.samples([0xF9, 0, 0]) == 1920)
        #expect(OggOpusWriter.samples([0xFB, 0x03]) == 2880 && OggOpusWriter.samples([0xFB, 0x3F]) == 0, "code 3: count from byte 1, at most 120 ms")
        #expect(!w.append(packet: []), "an empty packet is not Opus")
        for _ in 0..<120 { w.append(packet: OggOpusWriter.silence(channels: 1)) }
        w.sync()
        let mid = try #require(oggPages(readFile(path)), "valid after sync")
        #expect(mid.count >= 3 && mid.last!.granule == 120 * 960 && mid.allSatisfy { $0.flags & 0x04 == 0 })
        w.padSilence(toMs: 3000)
        w.finalize()
        let pages = try #require(oggPages(readFile(path)))
        #expect(pages[0].flags == 0x02 && pages[0].packets.count == 1 && Array(pages[0].packets[0].prefix(8)) == Array("OpusHead".utf8))
        #expect(pages[0].packets[0][9] == 1 && u32(pages[0].packets[0], 12) == 48_000, "channels, input rate")
        #expect(Array(pages[1].packets[0].prefix(8)) == Array("OpusTags".utf8))
        #expect(pages.last!.flags & 0x04 != 0 && pages.last!.granule == 150 * 960, "EOS; padded to 3 s")
        #expect(pages.dropFirst(2).reduce(0) { $0 + $1.packets.count } == 150)
        #expect(zip(pages.dropFirst(), pages.dropFirst(2)).allSatisfy { $0.granule <= $1.granule })
        #expect(w.durationMs == 3000)
    }

    @Test func webVTTCuesAreWellFormed() throws {
        #expect(WebVTTWriter.stamp(0) == "00:00:00.000")
        #expect(WebVTTWriter.stamp(3_723_045) == "01:02:03.045")
        let dir = testDirectory("vtt")
        try makeDirectory(dir)
        let v = try WebVTTWriter(path: dir + "/t.vtt")
        v.cue(startMs: 1500, endMs: 1500, speaker: "A <b>", text: "one --> two\n\nthree")
        v.finalize()
        let text = String(decoding: readFile(dir + "/t.vtt"), as: UTF8.self)
        #expect(text == "WEBVTT\n\n1\n00:00:01.500 --> 00:00:01.501\n<v A b>one -> two\nthree\n\n")
    }
}

@Suite(.serialized) struct RecordSessionTests {
    func record(_ h: SimHarness, _ start: StreamStart, dir: String) throws -> Recorder {
        var s = RecordSettings()
        s.outputDirectory = dir
        s.clientID = testClientID
        s.clientSecret = testClientSecret
        let r = Recorder(settings: s)
        try r.record(start)
        return r
    }

    @Test func aWholeMeetingOnDisk() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 6000; $0.participants = 4
        }
        let dir = testDirectory("meeting")
        let r = try record(h, start, dir: dir)
        let deadline = nowMilliseconds() + 20_000
        while r.activeCount > 0 && nowMilliseconds() < deadline { r.poll(waitMs: 100) }
        #expect(r.activeCount == 0, "the stream ended")
        let summary = r.finish()[0]
        let base = dir + "/" + StreamRecorder.safeName(start.streamID)
        let mixed = try #require(wavInfo(base + "/audio/mixed.wav"), "mixed.wav valid")
        #expect(mixed.rate == 16_000 && mixed.channels == 1 && mixed.frames > 16_000 * 2)
        let tracks = (summary["files"]?.arrayValue ?? []).compactMap(\.stringValue).filter { $0.hasPrefix("audio/") && $0 != "audio/mixed.wav" }
        #expect(tracks.count >= 2, "one track per speaker")
        for t in tracks {
            let info = try #require(wavInfo(base + "/" + t), "\(t) valid")
            #expect(info.frames <= mixed.frames + 16_000 / 10)
        }
        let vtt = String(decoding: readFile(base + "/transcript.vtt"), as: UTF8.self)
        let cues = vtt.split(separator: "\n").filter { $0.contains(" --> ") }.count
        #expect(vtt.hasPrefix("WEBVTT\n\n") && cues == Int(summary["media"]?["transcript"]?["messages"]?.intValue ?? -1) && cues > 0)
        let chatLines = String(decoding: readFile(base + "/chat.jsonl"), as: UTF8.self).split(separator: "\n")
        #expect(chatLines.count == 2 && chatLines.allSatisfy { (try? JSON.parse(String($0)))?["text"]?.stringValue != nil })
        let frames = summary["media"]?["video"]?["messages"]?.intValue ?? 0
        #expect(frames > 0 && readFile(base + "/video/000001.jpg").prefix(2) == [0xFF, 0xD8])
        let onDisk = try #require(try JSON.parse(readFile(base + "/summary.json")).objectValue)
        #expect(onDisk["end"]?["reason"]?.intValue == Int64(StopReason.meetingEnded))
        #expect((onDisk["participants"]?.arrayValue?.count ?? 0) >= 3)
        #expect(onDisk["drops"]?["queue_full"]?.intValue == 0 && onDisk["drops"]?["malformed"]?.intValue == 0)
        let events = String(decoding: readFile(base + "/events.jsonl"), as: UTF8.self).split(separator: "\n")
        #expect(events.contains { $0.contains("\"join_confirm\"") } && events.contains { $0.contains("\"leave\"") })
    }

    @Test func opusIsRecordedAsOggPerSpeaker() throws {
        let h = try SimHarness()
        let start = h.meeting {
            $0.durationMs = 6000; $0.participants = 4
        }
        let (summary, base) = try recordOpusMeeting(start, into: testDirectory("opus"))
        #expect(summary["audio_format"]?["codec"]?.stringValue == "Opus" && summary["audio_format"]?["sample_rate"]?.intValue == 48_000)
        let files = (summary["files"]?.arrayValue ?? []).compactMap(\.stringValue)
        let tracks = files.filter { $0.hasPrefix("audio/") }
        #expect(tracks.count >= 2 && tracks.allSatisfy { $0.hasSuffix(".opus") }, "\(files)")
        #expect(!files.contains("audio/mixed.wav"), "no mixed track without a decoder")
        var packets = 0
        for t in tracks {
            let pages = try #require(oggPages(readFile(base + "/" + t)), "\(t) is a valid Ogg stream")
            #expect(pages.first?.flags == 0x02 && pages.last.map { $0.flags & 0x04 != 0 } == true)
            packets += pages.dropFirst(2).reduce(0) { $0 + $1.packets.count }
        }
        #expect(packets >= Int(summary["media"]?["audio"]?["messages"]?.intValue ?? .max), "every packet written (plus silence for gaps)")
        #expect(summary["drops"]?["not_opus"]?.intValue == 0)
    }

    @Test func stoppingInTheMiddleLeavesValidFiles() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 60_000 }
        let dir = testDirectory("interrupted")
        let r = try record(h, start, dir: dir)
        let until = nowMilliseconds() + 1500
        while nowMilliseconds() < until { r.poll(waitMs: 50) }
        r.finish()
        r.finish()  // idempotent
        let base = dir + "/" + StreamRecorder.safeName(start.streamID)
        let mixed = try #require(wavInfo(base + "/audio/mixed.wav"))
        #expect(mixed.frames > 0)
        let summary = try JSON.parse(readFile(base + "/summary.json"))
        #expect((summary["media"]?["audio"]?["messages"]?.intValue ?? 0) > 0 && summary["end"] == nil)
    }
}

/// Records a simulated meeting as `rtms record --audio-codec opus` does (mono Ogg Opus per
/// speaker) until it ends (20 s at most); returns the summary and the stream's folder.
func recordOpusMeeting(_ start: StreamStart, into dir: String) throws -> (summary: JSONValue, base: String) {
    var s = RecordSettings()
    s.outputDirectory = dir
    s.clientID = testClientID
    s.clientSecret = testClientSecret
    s.format = RecordFormat(channels: 1, codec: .opus)
    let r = Recorder(settings: s)
    try r.record(start)
    let deadline = nowMilliseconds() + 20_000
    while r.activeCount > 0 && nowMilliseconds() < deadline { r.poll(waitMs: 100) }
    return (r.finish()[0], dir + "/" + StreamRecorder.safeName(start.streamID))
}
