// A scripted meeting, deterministic from a seed: who joins and leaves, who speaks when, what is
// said (transcript) and written (chat), when video and screen sharing are on. Plus the media a
// scripted participant produces: PCM tones a person can hear, JPEG frames, an H.264 clip.

import RTMSProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct Participant: Sendable, Equatable {
    public var userID: Int64
    public var name: String
    /// Pitch of this participant's voice tone (Hz).
    public var pitch: Double
}

public enum ScriptStep: Sendable, Equatable {
    case join([Participant])
    case leave([Participant])
    case activeSpeaker(Participant)
    case videoOn(Participant)
    case videoOff(Participant)
    case sharingStart(Participant)
    case sharingStop(Participant)
    /// A transcript line, sent when the utterance ends.
    case transcript(Participant, text: String, startMs: Int, endMs: Int)
    case chat(Participant, text: String)
}

public struct MeetingScript: Sendable {
    public var participants: [Participant]
    /// Steps with their time in ms after the stream became ready, in time order.
    public var steps: [(atMs: Int, step: ScriptStep)]
    public var durationMs: Int

    static let names = ["Alice Anders", "Bob Brandt", "Chen Wei", "Dana Diaz", "Emeka Obi", "Fatima Khan", "Goran Petrov", "Hana Sato"]
    static let words = [
        "roadmap", "budget", "release", "customers", "latency", "design", "review", "launch", "metrics",
        "quarter", "feedback", "support", "pricing", "onboarding", "security", "deadline", "demo", "team",
    ]
    static let openers = [
        "I think the", "Let's look at the", "Can we revisit the", "Quick update on the", "We should finalise the",
        "Good point about the", "My concern is the", "Next step for the",
    ]

    /// A meeting of `durationMs` with `count` participants (2...8), deterministic from `seed`.
    public static func generate(seed: UInt64, durationMs: Int, participantCount: Int = 3) -> MeetingScript {
        var rng = SeededRandom(seed: seed)
        let n = max(2, min(participantCount, names.count))
        var people: [Participant] = []
        let base = Int64(16_778_240) + Int64(seed % 1000) * 1024
        for i in 0..<n {
            people.append(
                Participant(
                    userID: base + Int64(i) * 1025, name: names[(Int(seed) + i) % names.count],
                    pitch: 180 + Double(i) * 70 + Double(rng.next() % 20)))
        }
        let late = people.count > 2 ? people.removeLast() : nil
        var steps: [(Int, ScriptStep)] = []
        let d = max(1000, durationMs)
        steps.append((0, .join(people)))
        // Speaker turns with transcript lines.
        var t = 200
        var present = people
        while t < d - 600 {
            let len = 1200 + Int(rng.next() % 2300)
            let end = min(t + len, d - 300)
            // The late participant speaks only while present.
            if let l = late, end >= d * 4 / 5 { present.removeAll { $0 == l } }
            let speaker = present[Int(rng.next() % UInt64(present.count))]
            steps.append((t, .activeSpeaker(speaker)))
            let w1 = words[Int(rng.next() % UInt64(words.count))]
            let w2 = words[Int(rng.next() % UInt64(words.count))]
            let text = "\(openers[Int(rng.next() % UInt64(openers.count))]) \(w1) and the \(w2)."
            steps.append((end, .transcript(speaker, text: text, startMs: t, endMs: end)))
            t = end + 150 + Int(rng.next() % 400)
            if let l = late, t > d / 2, !present.contains(l), t < d * 4 / 5 { present.append(l) }
        }
        if let v = people.dropFirst().first ?? people.first {
            steps.append((d / 5, .videoOn(v)))
            steps.append((d * 7 / 10, .videoOff(v)))
        }
        if let s = people.first {
            steps.append((d * 2 / 5, .sharingStart(s)))
            steps.append((d * 3 / 5, .sharingStop(s)))
        }
        if let l = late {
            steps.append((d / 2, .join([l])))
            steps.append((d * 4 / 5, .leave([l])))
        }
        let chatters = people
        steps.append((d * 3 / 10, .chat(chatters[0], text: "Hi all, slides are coming up shortly.")))
        steps.append((d * 13 / 20, .chat(chatters[chatters.count - 1], text: "Thanks! Can you share the link afterwards?")))
        var all = people
        if let l = late { all.append(l) }
        let ordered = steps.enumerated().sorted { a, b in
            a.element.0 != b.element.0 ? a.element.0 < b.element.0 : a.offset < b.offset
        }.map { (atMs: $0.element.0, step: $0.element.1) }
        return MeetingScript(participants: all, steps: ordered, durationMs: d)
    }
}

/// Media a scripted participant produces.
enum MediaSynth {
    /// One second of a participant's voice: a tone with a syllable-like envelope, 16-bit little-endian
    /// PCM, interleaved when stereo. Looped by the caller.
    static func voiceSecond(pitch: Double, sampleRate: Int, channels: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(sampleRate * channels * 2)
        for i in 0..<sampleRate {
            let t = Double(i) / Double(sampleRate)
            // Syllables: a 4 Hz envelope, never fully silent; a little vibrato.
            let env = 0.35 + 0.65 * max(0, sin(2 * Double.pi * 4 * t))
            let f = pitch * (1 + 0.01 * sin(2 * Double.pi * 5 * t))
            let v = env * 0.3 * (sin(2 * Double.pi * f * t) + 0.4 * sin(4 * Double.pi * f * t))
            let s = Int16(max(-32767, min(32767, v * 32767)))
            for _ in 0..<channels {
                out.append(UInt8(truncatingIfNeeded: s))
                out.append(UInt8(truncatingIfNeeded: s >> 8))
            }
        }
        return out
    }

    /// Near-silence (comfort noise) for mixed audio while nobody speaks.
    static func quietSecond(sampleRate: Int, channels: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(sampleRate * channels * 2)
        for _ in 0..<(sampleRate * channels) {
            let s = Int16(Int(rng.next() % 61) - 30)
            out.append(UInt8(truncatingIfNeeded: s))
            out.append(UInt8(truncatingIfNeeded: s >> 8))
        }
        return out
    }

    static let videoJPEGs: [[UInt8]] = Assets.videoJPEGs.compactMap { Base64Codec.decode($0) }
    static let deskshareJPEGs: [[UInt8]] = Assets.deskshareJPEGs.compactMap { Base64Codec.decode($0) }
    /// The H.264 clip split into access units (each starts with an access unit delimiter).
    static let h264AccessUnits: [[UInt8]] = {
        guard let clip = Base64Codec.decode(Assets.h264Clip) else { return [] }
        var starts: [Int] = []
        var i = 0
        while i + 4 < clip.count {
            if clip[i] == 0, clip[i + 1] == 0, clip[i + 2] == 0, clip[i + 3] == 1, clip[i + 4] & 0x1F == 9 {
                starts.append(i)
                i += 4
            } else {
                i += 1
            }
        }
        if starts.first != 0 { starts.insert(0, at: 0) }
        var units: [[UInt8]] = []
        for (k, s) in starts.enumerated() {
            let e = k + 1 < starts.count ? starts[k + 1] : clip.count
            units.append(Array(clip[s..<e]))
        }
        return units
    }()
}
