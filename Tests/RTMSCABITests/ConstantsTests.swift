// The protocol constants of include/openrtms.h ("Protocol constants") and the SDK_* media types of
// rtms_common.h against the core's values (RTMSProtocol, Constants.swift), table by table.
//
// Each table is a list of rows (C macro, its value as compiled, Swift member, its value). Checked:
//   - every row's C value equals its Swift value;
//   - header -> rows: every #define of the table's prefix, read from the header text, is a row
//     (a constant added to the header without a core counterpart fails), with the same value;
//   - Swift -> rows: every member of the Swift table (its cases, or the `static let` members
//     read from Constants.swift) is a row (a value added to the core without a header constant
//     fails), with the same value;
//   - names: the header's name is the Swift name in UPPER_SNAKE_CASE, unless the row says otherwise.
// The Python and Node tables are checked against the same header by their own tests.

import CRTMS
import Foundation
import RTMSCABI
import RTMSClient
@testable import RTMSProtocol
import Testing

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// One constant: the header macro and the core member it stands for.
private struct Row: CustomStringConvertible {
    let macro: String, c: Int, swift: String, value: Int
    /// Header name differs from UPPER_SNAKE(swift) (a rename or an alias): not name-checked.
    var renamed = false
    var description: String { "\(macro) = \(c) vs \(swift) = \(value)" }
}

private func row(
    _ macro: String, _ c: some BinaryInteger, _ swift: String, _ value: some BinaryInteger,
    renamed: Bool = false
) -> Row {
    Row(macro: macro, c: Int(c), swift: swift, value: Int(value), renamed: renamed)
}

/// `#define NAME value` of every public header, integer values only ("(-1)" included).
private let headerDefines: [String: Int] = {
    var out: [String: Int] = [:]
    for file in ["rtms_common.h", "rtms_csdk.h", "openrtms.h"] {
        let text = (try? String(contentsOf: repoRoot.appendingPathComponent("include/\(file)"), encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 3, parts[0] == "#define" else { continue }
            var v = Substring(parts[2])
            if v.hasPrefix("("), v.hasSuffix(")") { v = v.dropFirst().dropLast() }
            if let n = Int(v) { out[String(parts[1])] = n }
        }
    }
    return out
}()

private func defines(prefix: String) -> [String: Int] { headerDefines.filter { $0.key.hasPrefix(prefix) } }

/// The `public static let name = N` members of `public enum <name>` in Constants.swift.
private func swiftStaticInts(_ enumName: String) -> [String: Int] {
    let path = repoRoot.appendingPathComponent("Sources/RTMSProtocol/Constants.swift")
    guard let text = try? String(contentsOf: path, encoding: .utf8),
        let start = text.range(of: "public enum \(enumName) {")
    else { return [:] }
    // The body, up to the brace that closes the enum.
    var depth = 0
    var end = text.endIndex
    var i = text.index(before: start.upperBound)
    while i < text.endIndex {
        if text[i] == "{" {
            depth += 1
        } else if text[i] == "}" {
            depth -= 1
            if depth == 0 { end = i; break }
        }
        i = text.index(after: i)
    }
    var out: [String: Int] = [:]
    for line in text[start.upperBound..<end].split(separator: "\n") {
        guard let r = line.range(of: "static let ") else { continue }
        for decl in line[r.upperBound...].split(separator: ",") {
            let kv = decl.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, let n = Int(kv[1]) { out[kv[0]] = n }
        }
    }
    return out
}

/// "chatGroupMembersAdd" -> "CHAT_GROUP_MEMBERS_ADD", "manualAPITriggered" -> "MANUAL_API_TRIGGERED";
/// digits stay with their letters ("h264" -> "H264").
private func upperSnake(_ s: String) -> String {
    let c = Array(s)
    var out = ""
    for (i, ch) in c.enumerated() {
        if ch.isUppercase, i > 0 {
            let prev = c[i - 1], next = i + 1 < c.count ? c[i + 1] : nil
            if !prev.isUppercase || (next?.isLowercase ?? false) { out += "_" }
        }
        out += ch.uppercased()
    }
    return out
}

/// The checks of the file header, for one table.
private func check(
    _ rows: [Row], prefixes: [String], headerOnly: Set<String> = [], swiftMembers: [String: Int],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(!rows.isEmpty, sourceLocation: sourceLocation)
    for r in rows {
        #expect(r.c == r.value, "\(r)", sourceLocation: sourceLocation)
        if !r.renamed {
            let suffix = prefixes.compactMap { r.macro.hasPrefix($0) ? String(r.macro.dropFirst($0.count)) : nil }.first
            #expect(suffix == upperSnake(r.swift), "\(r.macro) is not the header name of \(r.swift)", sourceLocation: sourceLocation)
        }
    }
    // header -> rows
    var header: [String: Int] = [:]
    for p in prefixes { header.merge(defines(prefix: p)) { a, _ in a } }
    #expect(!header.isEmpty, "no #define \(prefixes) in the headers", sourceLocation: sourceLocation)
    let byMacro = Dictionary(rows.map { ($0.macro, $0) }, uniquingKeysWith: { a, _ in a })
    for (macro, v) in header where !headerOnly.contains(macro) {
        #expect(byMacro[macro]?.c == v, "\(macro) = \(v) in the header: no core value", sourceLocation: sourceLocation)
    }
    for r in rows {
        #expect(header[r.macro] == r.c, "\(r.macro) not read from the header as \(r.c)", sourceLocation: sourceLocation)
    }
    // Swift -> rows
    #expect(!swiftMembers.isEmpty, sourceLocation: sourceLocation)
    let bySwift = Dictionary(rows.map { ($0.swift, $0.value) }, uniquingKeysWith: { a, _ in a })
    for (name, v) in swiftMembers {
        #expect(bySwift[name] == v, "core member \(name) = \(v) has no header constant", sourceLocation: sourceLocation)
    }
    #expect(
        Set(bySwift.keys) == Set(swiftMembers.keys), "rows name members the core does not have",
        sourceLocation: sourceLocation)
}

@Suite struct ConstantsTests {
    @Test func contentTypes() {
        check(
            [
                row("RTMS_CONTENT_TYPE_RTP", RTMS_CONTENT_TYPE_RTP, "rtp", ContentType.rtp),
                row("RTMS_CONTENT_TYPE_RAW_AUDIO", RTMS_CONTENT_TYPE_RAW_AUDIO, "rawAudio", ContentType.rawAudio),
                row("RTMS_CONTENT_TYPE_RAW_VIDEO", RTMS_CONTENT_TYPE_RAW_VIDEO, "rawVideo", ContentType.rawVideo),
                row("RTMS_CONTENT_TYPE_FILE_STREAM", RTMS_CONTENT_TYPE_FILE_STREAM, "fileStream", ContentType.fileStream),
                row("RTMS_CONTENT_TYPE_TEXT", RTMS_CONTENT_TYPE_TEXT, "text", ContentType.text),
            ], prefixes: ["RTMS_CONTENT_TYPE_"], headerOnly: ["RTMS_CONTENT_TYPE_UNDEFINED"],
            swiftMembers: swiftStaticInts("ContentType"))
        #expect(RTMS_CONTENT_TYPE_UNDEFINED == 0)
    }

    @Test func codecs() {
        check(
            [
                row("RTMS_AUDIO_CODEC_L16", RTMS_AUDIO_CODEC_L16, "l16", Codec.l16),
                row("RTMS_AUDIO_CODEC_G711", RTMS_AUDIO_CODEC_G711, "g711", Codec.g711),
                row("RTMS_AUDIO_CODEC_G722", RTMS_AUDIO_CODEC_G722, "g722", Codec.g722),
                row("RTMS_AUDIO_CODEC_OPUS", RTMS_AUDIO_CODEC_OPUS, "opus", Codec.opus),
                row("RTMS_VIDEO_CODEC_JPG", RTMS_VIDEO_CODEC_JPG, "jpg", Codec.jpg),
                row("RTMS_VIDEO_CODEC_PNG", RTMS_VIDEO_CODEC_PNG, "png", Codec.png),
                row("RTMS_VIDEO_CODEC_H264", RTMS_VIDEO_CODEC_H264, "h264", Codec.h264),
            ], prefixes: ["RTMS_AUDIO_CODEC_", "RTMS_VIDEO_CODEC_"],
            headerOnly: ["RTMS_AUDIO_CODEC_UNDEFINED", "RTMS_VIDEO_CODEC_UNDEFINED"], swiftMembers: swiftStaticInts("Codec"))
        #expect(RTMS_AUDIO_CODEC_UNDEFINED == 0 && RTMS_VIDEO_CODEC_UNDEFINED == 0)
    }

    @Test func sampleRates() {
        // Zoom's names are SR_8K..SR_48K; the header says RTMS_SAMPLE_RATE_8K. Checked by hertz instead.
        check(
            [
                row("RTMS_SAMPLE_RATE_8K", RTMS_SAMPLE_RATE_8K, "sr8k", SampleRate.sr8k, renamed: true),
                row("RTMS_SAMPLE_RATE_16K", RTMS_SAMPLE_RATE_16K, "sr16k", SampleRate.sr16k, renamed: true),
                row("RTMS_SAMPLE_RATE_32K", RTMS_SAMPLE_RATE_32K, "sr32k", SampleRate.sr32k, renamed: true),
                row("RTMS_SAMPLE_RATE_48K", RTMS_SAMPLE_RATE_48K, "sr48k", SampleRate.sr48k, renamed: true),
            ], prefixes: ["RTMS_SAMPLE_RATE_"], swiftMembers: swiftStaticInts("SampleRate"))
        for (macro, v) in defines(prefix: "RTMS_SAMPLE_RATE_") {
            let khz = Int(macro.dropFirst("RTMS_SAMPLE_RATE_".count).dropLast())
            #expect(SampleRate.hertz(v) == khz.map { $0 * 1000 }, "\(macro)")
        }
    }

    @Test func audioChannels() {
        check(
            [
                row("RTMS_AUDIO_CHANNEL_MONO", RTMS_AUDIO_CHANNEL_MONO, "mono", AudioChannel.mono),
                row("RTMS_AUDIO_CHANNEL_STEREO", RTMS_AUDIO_CHANNEL_STEREO, "stereo", AudioChannel.stereo),
            ], prefixes: ["RTMS_AUDIO_CHANNEL_"], swiftMembers: swiftStaticInts("AudioChannel"))
    }

    @Test func dataOptions() {
        check(
            [
                row("RTMS_DATA_OPTION_UNDEFINED", RTMS_DATA_OPTION_UNDEFINED, "undefined", DataOption.undefined),
                row(
                    "RTMS_DATA_OPTION_AUDIO_MIXED_STREAM", RTMS_DATA_OPTION_AUDIO_MIXED_STREAM, "audioMixedStream",
                    DataOption.audioMixedStream),
                row(
                    "RTMS_DATA_OPTION_AUDIO_MULTI_STREAMS", RTMS_DATA_OPTION_AUDIO_MULTI_STREAMS, "audioMultiStreams",
                    DataOption.audioMultiStreams),
                row(
                    "RTMS_DATA_OPTION_VIDEO_SINGLE_ACTIVE_STREAM", RTMS_DATA_OPTION_VIDEO_SINGLE_ACTIVE_STREAM,
                    "videoSingleActiveStream", DataOption.videoSingleActiveStream),
                row(
                    "RTMS_DATA_OPTION_VIDEO_SINGLE_INDIVIDUAL_STREAM", RTMS_DATA_OPTION_VIDEO_SINGLE_INDIVIDUAL_STREAM,
                    "videoSingleIndividualStream", DataOption.videoSingleIndividualStream),
                // Zoom's older name of the same value.
                row(
                    "RTMS_DATA_OPTION_VIDEO_MIXED_SPEAKER_VIEW", RTMS_DATA_OPTION_VIDEO_MIXED_SPEAKER_VIEW,
                    "videoSingleIndividualStream", DataOption.videoSingleIndividualStream, renamed: true),
                row(
                    "RTMS_DATA_OPTION_VIDEO_MIXED_GALLERY_VIEW", RTMS_DATA_OPTION_VIDEO_MIXED_GALLERY_VIEW,
                    "videoMixedGalleryView", DataOption.videoMixedGalleryView),
            ], prefixes: ["RTMS_DATA_OPTION_"], swiftMembers: swiftStaticInts("DataOption"))
    }

    @Test func resolutions() {
        check(
            [
                row("RTMS_RESOLUTION_SD", RTMS_RESOLUTION_SD, "sd", Resolution.sd),
                row("RTMS_RESOLUTION_HD", RTMS_RESOLUTION_HD, "hd", Resolution.hd),
                row("RTMS_RESOLUTION_FHD", RTMS_RESOLUTION_FHD, "fhd", Resolution.fhd),
                row("RTMS_RESOLUTION_QHD", RTMS_RESOLUTION_QHD, "qhd", Resolution.qhd),
            ], prefixes: ["RTMS_RESOLUTION_"], swiftMembers: swiftStaticInts("Resolution"))
        #expect(Resolution.size(Int(RTMS_RESOLUTION_HD)).map { [$0.width, $0.height] } == [1280, 720])
        #expect(Resolution.size(Int(RTMS_RESOLUTION_QHD)).map { [$0.width, $0.height] } == [2560, 1440])
    }

    @Test func mediaTypes() {
        // rtms_common.h's SDK_* (Zoom's names) are the media_type bits: MediaKind, plus SDK_ALL.
        var kinds: [String: Int] = [:]
        for k in MediaKind.allCases { kinds["\(k)"] = k.rawValue }
        kinds["all"] = MediaMask.all.rawValue
        check(
            [
                row("SDK_AUDIO", SDK_AUDIO, "audio", MediaKind.audio.rawValue),
                row("SDK_VIDEO", SDK_VIDEO, "video", MediaKind.video.rawValue),
                row("SDK_DESKSHARE", SDK_DESKSHARE, "deskshare", MediaKind.deskshare.rawValue),
                row("SDK_TRANSCRIPT", SDK_TRANSCRIPT, "transcript", MediaKind.transcript.rawValue),
                row("SDK_CHAT", SDK_CHAT, "chat", MediaKind.chat.rawValue),
                row("SDK_ALL", SDK_ALL, "all", MediaMask.all.rawValue),
            ], prefixes: ["SDK_"], swiftMembers: kinds)
    }

    @Test func eventTypes() {
        check(
            [
                row("RTMS_EVENT_UNDEFINED", RTMS_EVENT_UNDEFINED, "undefined", EventType.undefined),
                row(
                    "RTMS_EVENT_FIRST_PACKET_TIMESTAMP", RTMS_EVENT_FIRST_PACKET_TIMESTAMP, "firstPacketTimestamp",
                    EventType.firstPacketTimestamp),
                row(
                    "RTMS_EVENT_ACTIVE_SPEAKER_CHANGE", RTMS_EVENT_ACTIVE_SPEAKER_CHANGE, "activeSpeakerChange",
                    EventType.activeSpeakerChange),
                row("RTMS_EVENT_PARTICIPANT_JOIN", RTMS_EVENT_PARTICIPANT_JOIN, "participantJoin", EventType.participantJoin),
                row("RTMS_EVENT_PARTICIPANT_LEAVE", RTMS_EVENT_PARTICIPANT_LEAVE, "participantLeave", EventType.participantLeave),
                row("RTMS_EVENT_SHARING_START", RTMS_EVENT_SHARING_START, "sharingStart", EventType.sharingStart),
                row("RTMS_EVENT_SHARING_STOP", RTMS_EVENT_SHARING_STOP, "sharingStop", EventType.sharingStop),
                row(
                    "RTMS_EVENT_MEDIA_CONNECTION_INTERRUPTED", RTMS_EVENT_MEDIA_CONNECTION_INTERRUPTED,
                    "mediaConnectionInterrupted", EventType.mediaConnectionInterrupted),
                row(
                    "RTMS_EVENT_PARTICIPANT_VIDEO_ON", RTMS_EVENT_PARTICIPANT_VIDEO_ON, "participantVideoOn",
                    EventType.participantVideoOn),
                row(
                    "RTMS_EVENT_PARTICIPANT_VIDEO_OFF", RTMS_EVENT_PARTICIPANT_VIDEO_OFF, "participantVideoOff",
                    EventType.participantVideoOff),
                row("RTMS_EVENT_CHAT_GROUP_CREATE", RTMS_EVENT_CHAT_GROUP_CREATE, "chatGroupCreate", EventType.chatGroupCreate),
                row("RTMS_EVENT_CHAT_GROUP_DELETE", RTMS_EVENT_CHAT_GROUP_DELETE, "chatGroupDelete", EventType.chatGroupDelete),
                row(
                    "RTMS_EVENT_CHAT_GROUP_MEMBERS_ADD", RTMS_EVENT_CHAT_GROUP_MEMBERS_ADD, "chatGroupMembersAdd",
                    EventType.chatGroupMembersAdd),
                row(
                    "RTMS_EVENT_CHAT_GROUP_MEMBERS_DELETE", RTMS_EVENT_CHAT_GROUP_MEMBERS_DELETE, "chatGroupMembersDelete",
                    EventType.chatGroupMembersDelete),
                row(
                    "RTMS_EVENT_CHAT_GROUP_MEMBER_STATUS_UPDATE", RTMS_EVENT_CHAT_GROUP_MEMBER_STATUS_UPDATE,
                    "chatGroupMemberStatusUpdate", EventType.chatGroupMemberStatusUpdate),
            ], prefixes: ["RTMS_EVENT_"], swiftMembers: swiftStaticInts("EventType"))
        // RTMS_ZCC_EVENT_* (Contact Center) have no core table: the core passes them through as
        // numbers. They are checked against the Python and Node EventType tables only.
        #expect(defines(prefix: "RTMS_ZCC_EVENT_").count == 6)
    }

    @Test func stopReasons() {
        // Constants.swift's StopReason: values as static members, Zoom's names in `names`.
        var rows: [Row] = []
        let statics = swiftStaticInts("StopReason")
        let header = defines(prefix: "RTMS_STOP_REASON_")
        for (value, name) in StopReason.names.enumerated() {
            let macro = "RTMS_STOP_REASON_" + name
            let swift = statics.first { $0.value == value }?.key ?? "?"
            rows.append(Row(macro: macro, c: header[macro] ?? -1, swift: swift, value: value))
            // The name the C ABI reports is the header's.
            #expect(String(cString: rtms_leave_reason_string(Int32(value))) == name)
            #expect(StopReason.name(value) == name)
        }
        check(rows, prefixes: ["RTMS_STOP_REASON_"], swiftMembers: statics)
        #expect(header.count == 27)
        // Compiled values, for the ones the core's code names.
        #expect(Int(RTMS_STOP_REASON_MEETING_ENDED) == StopReason.meetingEnded)
        #expect(Int(RTMS_STOP_REASON_AWAIT_RECONNECTION_TIMEOUT) == StopReason.awaitReconnectionTimeout)
        #expect(Int(RTMS_STOP_REASON_STREAMING_NOT_SUPPORTED) == StopReason.streamingNotSupported)
        #expect(Int(RTMS_STOP_REASON_UNDEFINED) == StopReason.undefined)
    }

    @Test func localReasons() {
        // RTMS_REASON_*: the core's own reasons, named by the C ABI as the header does.
        let local = defines(prefix: "RTMS_REASON_")
        #expect(local.count == 9)
        for (macro, v) in local {
            let name = String(macro.dropFirst("RTMS_REASON_".count))
            let join = String(cString: rtms_join_reason_string(Int32(v)))
            let leave = String(cString: rtms_leave_reason_string(Int32(v)))
            if v >= 100 {
                #expect(join == name && leave == name, "\(macro) = \(v): join \(join), leave \(leave)")
            } else {
                // TIMEOUT 1, BAD_RESPONSE 6, LIVENESS_TIMEOUT 16 share values with Zoom's stop reasons
                // (as Zoom's client reports them): a leave names the stop reason.
                #expect(leave == StopReason.name(v), "\(macro) = \(v)")
            }
        }
        #expect(String(cString: rtms_join_reason_string(RTMS_REASON_TIMEOUT)) == "TIMEOUT")
        #expect(String(cString: rtms_join_reason_string(RTMS_REASON_BAD_RESPONSE)) == "BAD_RESPONSE")
    }

    @Test func streamAndSessionStates() {
        var stream: [String: Int] = [:], session: [String: Int] = [:]
        for v in -1...64 {
            if let s = RTMSProtocol.StreamState(rawValue: v) { stream["\(s)"] = v }
            if let s = RTMSProtocol.SessionState(rawValue: v) { session["\(s)"] = v }
        }
        check(
            [
                row("RTMS_STREAM_STATE_INACTIVE", RTMS_STREAM_STATE_INACTIVE, "inactive", RTMSProtocol.StreamState.inactive.rawValue),
                row("RTMS_STREAM_STATE_ACTIVE", RTMS_STREAM_STATE_ACTIVE, "active", RTMSProtocol.StreamState.active.rawValue),
                row(
                    "RTMS_STREAM_STATE_INTERRUPTED", RTMS_STREAM_STATE_INTERRUPTED, "interrupted",
                    RTMSProtocol.StreamState.interrupted.rawValue),
                row(
                    "RTMS_STREAM_STATE_TERMINATING", RTMS_STREAM_STATE_TERMINATING, "terminating",
                    RTMSProtocol.StreamState.terminating.rawValue),
                row(
                    "RTMS_STREAM_STATE_TERMINATED", RTMS_STREAM_STATE_TERMINATED, "terminated",
                    RTMSProtocol.StreamState.terminated.rawValue),
                row("RTMS_STREAM_STATE_PAUSED", RTMS_STREAM_STATE_PAUSED, "paused", RTMSProtocol.StreamState.paused.rawValue),
                row("RTMS_STREAM_STATE_RESUMED", RTMS_STREAM_STATE_RESUMED, "resumed", RTMSProtocol.StreamState.resumed.rawValue),
            ], prefixes: ["RTMS_STREAM_STATE_"], swiftMembers: stream)
        check(
            [
                row("RTMS_SESSION_STATE_INACTIVE", RTMS_SESSION_STATE_INACTIVE, "inactive", RTMSProtocol.SessionState.inactive.rawValue),
                row(
                    "RTMS_SESSION_STATE_INITIALIZE", RTMS_SESSION_STATE_INITIALIZE, "initialize",
                    RTMSProtocol.SessionState.initialize.rawValue),
                row("RTMS_SESSION_STATE_STARTED", RTMS_SESSION_STATE_STARTED, "started", RTMSProtocol.SessionState.started.rawValue),
                row("RTMS_SESSION_STATE_PAUSED", RTMS_SESSION_STATE_PAUSED, "paused", RTMSProtocol.SessionState.paused.rawValue),
                row("RTMS_SESSION_STATE_RESUMED", RTMS_SESSION_STATE_RESUMED, "resumed", RTMSProtocol.SessionState.resumed.rawValue),
                row("RTMS_SESSION_STATE_STOPPED", RTMS_SESSION_STATE_STOPPED, "stopped", RTMSProtocol.SessionState.stopped.rawValue),
            ], prefixes: ["RTMS_SESSION_STATE_"], swiftMembers: session)
    }

    @Test func messageTypes() {
        // Zoom's wire names differ from the core's case names, so the rows pair them by hand.
        var cases: [String: Int] = [:]
        for m in MessageType.allCases { cases["\(m)"] = m.rawValue }
        let r = { (macro: String, c: Int32, m: MessageType) in row(macro, c, "\(m)", m.rawValue, renamed: true) }
        check(
            [
                r("RTMS_MSG_UNDEFINED", RTMS_MSG_UNDEFINED, .undefined),
                r("RTMS_MSG_SIGNALING_HAND_SHAKE_REQ", RTMS_MSG_SIGNALING_HAND_SHAKE_REQ, .signalingHandshakeRequest),
                r("RTMS_MSG_SIGNALING_HAND_SHAKE_RESP", RTMS_MSG_SIGNALING_HAND_SHAKE_RESP, .signalingHandshakeResponse),
                r("RTMS_MSG_DATA_HAND_SHAKE_REQ", RTMS_MSG_DATA_HAND_SHAKE_REQ, .dataHandshakeRequest),
                r("RTMS_MSG_DATA_HAND_SHAKE_RESP", RTMS_MSG_DATA_HAND_SHAKE_RESP, .dataHandshakeResponse),
                r("RTMS_MSG_EVENT_SUBSCRIPTION", RTMS_MSG_EVENT_SUBSCRIPTION, .eventSubscription),
                r("RTMS_MSG_EVENT_UPDATE", RTMS_MSG_EVENT_UPDATE, .eventUpdate),
                r("RTMS_MSG_CLIENT_READY_ACK", RTMS_MSG_CLIENT_READY_ACK, .clientReady),
                r("RTMS_MSG_STREAM_STATE_UPDATE", RTMS_MSG_STREAM_STATE_UPDATE, .streamStateUpdate),
                r("RTMS_MSG_SESSION_STATE_UPDATE", RTMS_MSG_SESSION_STATE_UPDATE, .sessionStateUpdate),
                r("RTMS_MSG_SESSION_STATE_REQ", RTMS_MSG_SESSION_STATE_REQ, .sessionStateRequest),
                r("RTMS_MSG_SESSION_STATE_RESP", RTMS_MSG_SESSION_STATE_RESP, .sessionStateResponse),
                r("RTMS_MSG_KEEP_ALIVE_REQ", RTMS_MSG_KEEP_ALIVE_REQ, .keepAliveRequest),
                r("RTMS_MSG_KEEP_ALIVE_RESP", RTMS_MSG_KEEP_ALIVE_RESP, .keepAliveResponse),
                r("RTMS_MSG_MEDIA_DATA_AUDIO", RTMS_MSG_MEDIA_DATA_AUDIO, .mediaAudio),
                r("RTMS_MSG_MEDIA_DATA_VIDEO", RTMS_MSG_MEDIA_DATA_VIDEO, .mediaVideo),
                r("RTMS_MSG_MEDIA_DATA_SHARE", RTMS_MSG_MEDIA_DATA_SHARE, .mediaShare),
                r("RTMS_MSG_MEDIA_DATA_TRANSCRIPT", RTMS_MSG_MEDIA_DATA_TRANSCRIPT, .mediaTranscript),
                r("RTMS_MSG_MEDIA_DATA_CHAT", RTMS_MSG_MEDIA_DATA_CHAT, .mediaChat),
                r("RTMS_MSG_STREAM_STATE_REQ", RTMS_MSG_STREAM_STATE_REQ, .streamStateRequest),
                r("RTMS_MSG_STREAM_STATE_RESP", RTMS_MSG_STREAM_STATE_RESP, .streamStateResponse),
                r("RTMS_MSG_STREAM_CLOSE_REQ", RTMS_MSG_STREAM_CLOSE_REQ, .streamCloseRequest),
                r("RTMS_MSG_STREAM_CLOSE_RESP", RTMS_MSG_STREAM_CLOSE_RESP, .streamCloseResponse),
                r("RTMS_MSG_META_DATA_AUDIO", RTMS_MSG_META_DATA_AUDIO, .metadataAudio),
                r("RTMS_MSG_META_DATA_VIDEO", RTMS_MSG_META_DATA_VIDEO, .metadataVideo),
                r("RTMS_MSG_META_DATA_SHARE", RTMS_MSG_META_DATA_SHARE, .metadataShare),
                r("RTMS_MSG_META_DATA_TRANSCRIPT", RTMS_MSG_META_DATA_TRANSCRIPT, .metadataTranscript),
                r("RTMS_MSG_META_DATA_CHAT", RTMS_MSG_META_DATA_CHAT, .metadataChat),
                r("RTMS_MSG_VIDEO_SUBSCRIPTION_REQ", RTMS_MSG_VIDEO_SUBSCRIPTION_REQ, .videoSubscriptionRequest),
                r("RTMS_MSG_VIDEO_SUBSCRIPTION_RESP", RTMS_MSG_VIDEO_SUBSCRIPTION_RESP, .videoSubscriptionResponse),
            ], prefixes: ["RTMS_MSG_"], swiftMembers: cases)
        // Each media kind's message type.
        #expect(MediaKind.audio.messageType.rawValue == Int(RTMS_MSG_MEDIA_DATA_AUDIO))
        #expect(MediaKind.chat.messageType.rawValue == Int(RTMS_MSG_MEDIA_DATA_CHAT))
    }

    @Test func transcriptLanguages() throws {
        // The core has no language table: it accepts src_language -1...36 (rtms_config validation)
        // and passes metadata languages through. The header's table must be exactly that range,
        // NONE = -1, and the names are Zoom's (checked against Python and Node by their tests).
        let langs = defines(prefix: "RTMS_LANGUAGE_")
        #expect(langs.count == 38)
        #expect(Set(langs.values) == Set(-1...36))
        #expect(
            RTMS_LANGUAGE_NONE == -1 && RTMS_LANGUAGE_ARABIC == 0 && RTMS_LANGUAGE_ENGLISH == 9
                && RTMS_LANGUAGE_VIETNAMESE == 36)
        let lo = try #require(langs.values.min()), hi = try #require(langs.values.max())
        let sdk = try #require(rtms_alloc())
        defer { _ = rtms_release(sdk) }
        func config(_ lang: Int) -> Int32 {
            var tr = transcript_parameters(content_type: RTMS_CONTENT_TYPE_TEXT, src_language: Int32(lang), enable_lid: true)
            return withUnsafeMutablePointer(to: &tr) { t in
                var mp = media_parameters(audio_param: nil, video_param: nil, ds_param: nil, tr_param: t)
                return rtms_config(sdk, &mp, SDK_TRANSCRIPT, 0)
            }
        }
        for (macro, v) in langs { #expect(config(v) == Int32(RTMS_SDK_OK), "\(macro)") }
        #expect(config(lo - 1) == Int32(RTMS_SDK_INVALID_ARGS))
        #expect(config(hi + 1) == Int32(RTMS_SDK_INVALID_ARGS))
    }

    @Test func version() {
        #expect(Int(OPENRTMS_VERSION_MAJOR) == OpenRTMSVersion.major)
        #expect(Int(OPENRTMS_VERSION_MINOR) == OpenRTMSVersion.minor)
        #expect(Int(OPENRTMS_VERSION_PATCH) == OpenRTMSVersion.patch)
        #expect(OPENRTMS_VERSION_STRING == OpenRTMSVersion.string)
        #expect(String(cString: rtms_version()) == OPENRTMS_VERSION_STRING)
        #expect(Int(rtms_version_number()) == OpenRTMSVersion.number)
    }
}
