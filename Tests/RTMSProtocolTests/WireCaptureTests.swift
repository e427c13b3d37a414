// Every frame Zoom's official client exchanged with a scripted server (captured once and kept
// in Fixtures/wire-frames.jsonl by scripts/extract-wire-vectors.py) as test vectors for both
// directions.

import Testing
@testable import RTMSProtocol

#if canImport(Glibc)
import Glibc
#endif

struct WireFrame: CustomStringConvertible {
    let run: String
    let clientToServer: Bool
    let data: String
    var description: String { "\(run) \(clientToServer ? "c2s" : "s2c"): \(data.prefix(120))" }
}

func loadWireFrames() -> [WireFrame] {
    let dir = String(#filePath).split(separator: "/").dropLast().joined(separator: "/")
    let path = "/" + dir + "/Fixtures/wire-frames.jsonl"
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var frames: [WireFrame] = []
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    while getline(&line, &cap, f) > 0 {
        guard let line, let v = try? JSON.parse(String(cString: line)) else { continue }
        frames.append(
            WireFrame(
                run: v["run"]?.stringValue ?? "", clientToServer: v["dir"]?.stringValue == "c2s",
                data: v["data"]?.stringValue ?? ""))
    }
    free(line)
    return frames
}

let wireFrames = loadWireFrames()

@Suite struct WireCaptureTests {
    @Test func fixtureIsPresent() {
        #expect(wireFrames.count > 700)
    }

    /// What Zoom's client sends must decode, as the simulator decodes it.
    @Test func everyFrameZoomsClientSentDecodes() throws {
        var byType: [Int: Int] = [:]
        for f in wireFrames where f.clientToServer {
            let m = try decode(f.data)
            byType[m.messageType, default: 0] += 1
            switch m {
            case .signalingHandshakeRequest(let r): #expect(!r.instanceID.isEmpty && !r.signature.isEmpty)
            case .dataHandshakeRequest(let r): #expect(r.mediaType > 0)
            case .keepAliveResponse(let k): #expect(k.timestamp != nil && k.sequence != nil)
            default: break
            }
        }
        // Handshakes, subscriptions, client ready, keep-alive answers and video subscriptions.
        #expect(Set(byType.keys) == [1, 3, 5, 7, 13, 28])
    }

    /// What we encode for those messages must decode back to the same values.
    @Test func reencodingZoomsClientFramesPreservesThem() throws {
        for f in wireFrames where f.clientToServer {
            let m = try decode(f.data)
            #expect(try roundTrip(m) == m, "\(f)")
        }
    }

    /// Every server frame of the well-formed runs decodes on the client side.
    @Test func serverFramesOfWellFormedRunsDecode() throws {
        let good: Set<String> = [
            "r01_basic", "r12_all4", "r14_params", "r30_keepalive", "r41_subs", "r43_states",
            "r44_terminate", "r91_vsub_ok", "r91_vsub_err", "c02_ctypes_all_ok", "r60_subproto_binary_pretty",
        ]
        var n = 0
        for f in wireFrames where !f.clientToServer && good.contains(f.run) {
            _ = try decode(f.data)
            n += 1
        }
        #expect(n > 40)
    }

    /// Deliberately broken server frames give a reason, never a crash; the rest decode.
    @Test func everyServerFrameDecodesOrExplainsWhyNot() {
        var failures: [String: Int] = [:]
        for f in wireFrames where !f.clientToServer {
            do { _ = try decode(f.data) } catch {
                #expect(!error.reason.isEmpty)
                failures[f.run, default: 0] += 1
            }
        }
        // Only runs that exist to send broken frames fail.
        let brokenRuns: Set<String> = [
            "r11_no_status", "r12c_sig_status_str", "r11_no_media_server", "r11_url_string",
            "r50_media", "r51_media2", "r95_misc", "r52_meta", "r40_events",
        ]
        for run in failures.keys { #expect(brokenRuns.contains(run), "unexpected decode failure in \(run)") }
        #expect(failures["r11_no_status"] == 1)
        #expect(failures["r12c_sig_status_str"] == 1)
        #expect(failures["r40_events"] == 1, "the event sent under \"content\" instead of \"event\"")
    }
}
