// The live view's options and wiring, shared by `rtms record`, `rtms serve` and `rtms demo`
// (RTMSLive has the model, the page and the events).

import ArgumentParser
import RTMSLive
import RTMSProtocol
import RTMSRecord
import RTMSWebhook

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct LiveOptions: ParsableArguments {
    @Flag(
        help:
            "Serve the live view on the webhook port: a page at --live-path (every stream's participants, speaker, audio levels, transcript, latest frame, reconnects and gaps, updated by Server-Sent Events at <path>/events)."
    )
    var live = false
    @Option(help: "Path of the live view's page (implies --live).") var livePath: String?
    @Option(help: "Ask for ?token=TOKEN on the live view [RTMS_LIVE_TOKEN] (implies --live).") var liveToken: String?

    var enabled: Bool { live || livePath != nil || token != nil }
    var token: String? { liveToken ?? getenv("RTMS_LIVE_TOKEN").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }

    func validate() throws {
        if let p = livePath, !p.hasPrefix("/") || p.contains("?") || p.contains("#") {
            throw ValidationError("--live-path must start with / (a path, no query)")
        }
    }

    /// The hub, or nil when the live view is off.
    func hub(title: String = "OpenRTMS live") -> LiveHub? {
        guard enabled else { return nil }
        var s = LiveSettings()
        s.path = livePath ?? "/live"
        s.token = token
        s.title = title
        return LiveHub(settings: s)
    }
}

extension LiveHub {
    /// Every stream `recorder` records from now on feeds a model of this hub.
    func attach(to recorder: Recorder) {
        recorder.onNewStream = { [self] rec in self.attach(rec) }
    }

    /// Feeds `rec`'s events to a new model of this hub.
    func attach(_ rec: StreamRecorder) {
        let s = addStream(streamID: rec.streamID, instanceID: rec.instanceID, audioCodec: rec.format.codec == .opus ? .opus : .l16)
        rec.observer = { s.add($0) }
    }

    /// The page's URL on `server`, said as the line printed at start.
    func announce(on server: WebhookServer, listening settings: WebhookSettings) {
        let u = url(host: settings.host, port: server.port, tls: settings.certificatePath != nil)
        let everywhere = ["0.0.0.0", "::", ""].contains(settings.host)
        say(
            "live view: \(u)\(everywhere ? " (listening on every address: anyone who reaches this port sees the meetings\(self.settings.token == nil ? "; --live-token asks for a token" : ""))" : "")"
        )
    }
}
