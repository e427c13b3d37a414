// rtms-sim: the RTMS server simulator (Zoom's side) on loopback.

import ArgumentParser
import RTMSSimCommand

struct RTMSSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtms-sim",
        abstract: "Simulates Zoom's RTMS service: webhooks, signaling and media WebSockets, scripted meetings.",
        discussion: """
        Examples:
          rtms-sim --print-started --duration 20
              one 20 s meeting on ws://127.0.0.1:<port>; its rtms_started body goes to stdout
          rtms-sim --tls --url-host localhost --ca-out ca.pem --client-id ID --client-secret S
              wss:// with a generated CA written to ca.pem, signatures checked
          rtms-sim --port 9000 --webhook-url http://127.0.0.1:8080/ --webhook-secret T --meetings 5
              five meetings announced by signed webhooks
        Control API on the same port: POST /meetings, GET /streams/<id>, POST /streams/<id>/stop,
        POST /streams/<id>/events, POST /streams/<id>/send, GET /health (see docs/simulator.md in the repository).
        """)

    @OptionGroup var options: SimOptions

    func run() throws { try options.run() }
}

RTMSSim.main()
