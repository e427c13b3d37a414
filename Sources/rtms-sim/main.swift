// rtms-sim: the RTMS server simulator (Zoom's side) on loopback.

import ArgumentParser
import RTMSSimCommand

struct RTMSSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtms-sim",
        abstract: "Simulates Zoom's RTMS service: webhooks, signaling and media WebSockets, scripted meetings.",
        discussion: """
            Examples:
              rtms-sim --print-started --duration 20 --ca-out ca.pem
                  one 20 s meeting on wss://127.0.0.1:<port> (wss:// as Zoom's, the default) with a
                  generated CA written to ca.pem for clients to trust (ZM_RTMS_CA=ca.pem); its
                  rtms_started body goes to stdout
              rtms-sim --no-tls --print-started --duration 20
                  the same on plain ws://127.0.0.1:<port>
              rtms-sim --url-host localhost --ca-out ca.pem --client-id ID --client-secret S
                  wss:// with URLs naming localhost (for Zoom's client), signatures checked
              rtms-sim --port 9000 --webhook-url http://127.0.0.1:8080/ --webhook-secret T --meetings 5 --no-tls
                  five meetings on ws:// announced by signed webhooks
            Control API on the same port: POST /meetings, GET /streams/<id>, POST /streams/<id>/stop,
            POST /streams/<id>/events, POST /streams/<id>/send, GET /health (see docs/simulator.md in the repository).
            """)

    @OptionGroup var options: SimOptions

    func run() throws { try options.run() }
}

RTMSSim.main()
