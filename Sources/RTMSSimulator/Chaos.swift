// Random chaos: faults at a rate, chosen from a seed, so a failing run can be replayed. Every
// injected fault is logged with its time and target (GET /chaos).

import NIOCore
import RTMSProtocol

extension Simulator {
    /// The faults random chaos draws from.
    public enum RandomFault: String, Sendable, CaseIterable {
        case abortSignaling = "abort-signaling", abortMedia = "abort-media", closeMedia = "close-media"
        case freezeSignaling = "freeze-signaling", freezeMedia = "freeze-media", muteKeepAlives = "mute-keepalives"
        case failover, interrupt, refuse, redeliver
    }

    /// Starts (or restarts) random chaos: on average `perMinute` faults a minute on running
    /// streams, drawn from `faults` with a generator seeded by `seed`. `perMinute <= 0` stops it.
    public func startRandomChaos(seed: UInt64, perMinute: Double, faults: [RandomFault] = RandomFault.allCases) {
        loop.execute { self.startRandomChaosOnLoop(seed: seed, perMinute: perMinute, faults: faults) }
    }

    public func stopRandomChaos() { startRandomChaos(seed: 0, perMinute: 0) }

    /// The faults injected so far: `{"at_ms", "rtms_stream_id", "fault"}` each.
    public var chaosLog: [JSONValue] { (try? loop.submit { self.chaosEvents }.wait()) ?? [] }

    func startRandomChaosOnLoop(seed: UInt64, perMinute: Double, faults: [RandomFault]) {
        chaosTask?.cancel()
        chaosTask = nil
        chaosGeneration += 1
        guard perMinute > 0, !faults.isEmpty else { return }
        var rng = SeededRandom(seed: seed)
        let generation = chaosGeneration
        let meanMs = 60_000.0 / perMinute
        func scheduleNext() {
            // Exponential gaps (a Poisson process), at least 20 ms apart.
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            let gap = max(20, Int64(-meanMs * naturalLog(max(1e-12, 1 - u))))
            chaosTask = loop.scheduleTask(in: .milliseconds(gap)) { [weak self] in
                guard let self, self.chaosGeneration == generation else { return }
                let live = self.runningStreams()
                if !live.isEmpty {
                    let s = live[Int(rng.next() % UInt64(live.count))]
                    let f = faults[Int(rng.next() % UInt64(faults.count))]
                    self.inject(f, into: s)
                }
                scheduleNext()
            }
        }
        scheduleNext()
    }

    func inject(_ f: RandomFault, into s: SimStream) {
        var hit = 1
        switch f {
        case .abortSignaling: hit = s.chaos("signaling", .abort)
        case .abortMedia: hit = s.chaos("media", .abort)
        case .closeMedia: hit = s.chaos("media", .close(code: 1011))
        case .freezeSignaling: hit = s.chaos("signaling", .freeze)
        case .freezeMedia: hit = s.chaos("media", .freeze)
        case .muteKeepAlives: hit = s.chaos("signaling", .muteKeepAlives)
        case .failover:
            s.failover()
            announce(startedBody(s))
        case .interrupt:
            if let sig = s.signaling { s.keepAliveMissed(sig) } else { hit = 0 }
        case .refuse:
            refuseUntilMs = max(refuseUntilMs, wallMilliseconds() + 1500)
        case .redeliver:
            announce(s.announced ?? startedBody(s))
        }
        log("chaos: \(f.rawValue) on stream \(s.streamID) (\(hit) hit)")
        chaosEvents.append(
            .object([
                "at_ms": .int(wallMilliseconds()), "rtms_stream_id": .string(s.streamID),
                "fault": .string(f.rawValue), "hit": .int(Int64(hit)),
            ]))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ln(x): `log` inside Simulator's extension means its logger.
func naturalLog(_ x: Double) -> Double { log(x) }
