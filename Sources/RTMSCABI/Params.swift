// The C parameter structs (rtms_common.h): read into the core's MediaParams, checked by the one
// rule of the core (MediaParams.problem), and the defaults of Zoom's Python and Node wrappers,
// which the bindings read from here instead of keeping tables of their own.

import CRTMS
import RTMSClient
import RTMSProtocol

func positive(_ v: Int32, _ def: Int) -> Int { v > 0 ? Int(v) : def }

/// The structs given, fields <= 0 taking the protocol defaults; nil members stay nil. Throws the
/// first problem (MediaParams.problem, then a frame_size that does not match the rate and duration).
func mediaParams(_ p: media_parameters) throws(ClientError) -> MediaParams {
    var mp = MediaParams()
    if let a = p.audio_param?.pointee {
        let ap = AudioParams(
            contentType: positive(a.content_type, ContentType.rawAudio),
            sampleRate: a.sample_rate >= 0 ? Int(a.sample_rate) : SampleRate.sr16k,
            channel: positive(a.channel, AudioChannel.mono), codec: positive(a.codec, Codec.l16),
            dataOpt: positive(a.data_opt, DataOption.audioMixedStream),
            sendRate: positive(a.duration, 20))
        mp.audio = ap
    }
    if let v = p.video_param?.pointee {
        mp.video = VideoParams(
            contentType: positive(v.content_type, ContentType.rawVideo), codec: positive(v.codec, Codec.jpg),
            resolution: positive(v.resolution, Resolution.hd),
            dataOpt: positive(v.data_opt, DataOption.videoSingleActiveStream), fps: positive(v.fps, 5))
    }
    if let d = p.ds_param?.pointee {
        mp.deskshare = DeskshareParams(
            contentType: positive(d.content_type, ContentType.rawVideo), codec: positive(d.codec, Codec.jpg),
            resolution: positive(d.resolution, Resolution.fhd), fps: positive(d.fps, 1))
    }
    if let t = p.tr_param?.pointee {
        mp.transcript = TranscriptParams(
            contentType: positive(t.content_type, ContentType.text), srcLanguage: Int(t.src_language), enableLID: t.enable_lid)
    }
    if let problem = mp.problem { throw ClientError(ClientError.invalidArgs, problem) }
    // frame_size is not sent; a value that contradicts the rate and duration is a mistake.
    if let a = p.audio_param?.pointee, let ap = mp.audio, a.frame_size > 0, let hz = SampleRate.hertz(ap.sampleRate),
        Int(a.frame_size) != hz * ap.sendRate / 1000
    {
        throw ClientError(
            ClientError.invalidArgs,
            "audio frame_size \(a.frame_size) does not match \(hz) Hz × \(ap.sendRate) ms = \(hz * ap.sendRate / 1000) samples")
    }
    return mp
}

/// rtms_check_params is stricter than rtms_config: a field must be set as Zoom's wrappers require
/// (> 0; sample_rate 0 is SR_8K, frame_size 0 unset, src_language -1 detect), not left to a default.
func unsetField(_ p: media_parameters) -> String? {
    func first(_ kind: String, _ fields: [(String, Int32)], min: (String) -> Int32 = { _ in 1 }) -> String? {
        fields.first { $0.1 < min($0.0) }.map { "\(kind) \($0.0) \($0.1) is not set (must be >= \(min($0.0)))" }
    }
    if let a = p.audio_param?.pointee,
        let bad = first(
            "audio",
            [
                ("content_type", a.content_type), ("codec", a.codec), ("sample_rate", a.sample_rate), ("channel", a.channel),
                ("data_opt", a.data_opt), ("duration", a.duration), ("frame_size", a.frame_size),
            ],
            min: { $0 == "sample_rate" || $0 == "frame_size" ? 0 : 1 })
    {
        return bad
    }
    if let v = p.video_param?.pointee,
        let bad = first(
            "video",
            [("content_type", v.content_type), ("codec", v.codec), ("resolution", v.resolution), ("data_opt", v.data_opt), ("fps", v.fps)])
    {
        return bad
    }
    if let d = p.ds_param?.pointee,
        let bad = first("deskshare", [("content_type", d.content_type), ("codec", d.codec), ("resolution", d.resolution), ("fps", d.fps)])
    {
        return bad
    }
    if let t = p.tr_param?.pointee,
        let bad = first("transcript", [("content_type", t.content_type), ("src_language", t.src_language)], min: { $0 == "src_language" ? -1 : 1 })
    {
        return bad
    }
    return nil
}

@c @implementation public func rtms_check_params(_ params: UnsafePointer<media_parameters>?) -> Int32 {
    guard let params else { return fail(Code.invalidArgs, "rtms_check_params: params is NULL") }
    if let unset = unsetField(params.pointee) { return fail(Code.invalidArgs, "rtms_check_params: \(unset)") }
    do {
        _ = try mediaParams(params.pointee)
    } catch {
        return fail(Int32(error.code), "rtms_check_params: \(error.message)")
    }
    clearLastError()
    return Code.ok
}

@c @implementation public func rtms_wrapper_defaults(_ out: UnsafeMutablePointer<media_parameters>?) -> Int32 {
    guard let out else { return fail(Code.invalidArgs, "rtms_wrapper_defaults: out is NULL") }
    // Zoom's AudioParams(): OPUS, 48 kHz, stereo, a stream per speaker, 20 ms of 960 samples.
    out.pointee.audio_param?.pointee = audio_parameters(
        content_type: Int32(ContentType.rawAudio), codec: Int32(Codec.opus), sample_rate: Int32(SampleRate.sr48k),
        channel: Int32(AudioChannel.stereo), data_opt: Int32(DataOption.audioMultiStreams), duration: 20, frame_size: 960)
    // VideoParams() and DeskshareParams(): raw H.264, HD, 30 fps, the active speaker's video.
    out.pointee.video_param?.pointee = video_parameters(
        content_type: Int32(ContentType.rawVideo), codec: Int32(Codec.h264), resolution: Int32(Resolution.hd),
        data_opt: Int32(DataOption.videoSingleActiveStream), fps: 30)
    out.pointee.ds_param?.pointee = ds_parameters(
        content_type: Int32(ContentType.rawVideo), codec: Int32(Codec.h264), resolution: Int32(Resolution.hd), fps: 30)
    // TranscriptParams(): text, the language detected by the server.
    out.pointee.tr_param?.pointee = transcript_parameters(content_type: Int32(ContentType.text), src_language: -1, enable_lid: true)
    clearLastError()
    return Code.ok
}
