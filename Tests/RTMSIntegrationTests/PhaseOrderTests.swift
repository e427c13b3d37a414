// The client's phase (rtms_get_state, isLive) against the order of API calls when the event loop
// runs behind the caller: found by the ThreadSanitizer run (scripts/sanitize.sh), whose slowdown
// let a step queued before join() overwrite the phase join() had set.
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import RTMSClient
import RTMSProtocol
import RTMSSession
import RTMSSimulator
import Testing

/// Holds the client's event loop until release(): everything the API queues meanwhile runs after.
private func holdLoop(_ client: RTMSClient) -> DispatchSemaphore {
    let entered = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
    client.eventLoop.execute {
        entered.signal(); gate.wait()
    }
    entered.wait()
    return gate
}

@Suite(.serialized) struct PhaseOrderTests {
    @Test func stepQueuedBeforeJoinDoesNotResetItsPhase() throws {
        let h = try SimHarness()
        let start = h.meeting { $0.durationMs = 3000 }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        let gate = holdLoop(client)
        client.subscribe(events: [3, 4], on: true)  // a step the loop runs before the join's
        let seen = NIOLockedValueBox<ClientSession.Phase?>(nil)
        let probe = DispatchSemaphore(value: 0)
        // Queued before join() but run after it returned: between the subscribe and join steps.
        client.eventLoop.execute {
            seen.withLockedValue { $0 = client.phase }; probe.signal()
        }
        try client.join(instanceID: start.instanceID, streamID: start.streamID, signature: nil, serverURLs: start.serverURLs)
        #expect(client.phase == .connectingSignaling)
        gate.signal()
        probe.wait()
        // Before the fix the subscribe step wrote the session's phase (idle) over the join's.
        #expect(seen.withLockedValue { $0 } == .connectingSignaling)
        let c = collect(client, timeout: 15)
        #expect(c.joinConfirm?.reason == 0)
        client.leave()
    }

    @Test func leaveThenJoinAtOnceJoinsTheNewStream() throws {
        let h = try SimHarness()
        let first = h.meeting { $0.durationMs = 30_000 }
        let second = h.meeting { $0.durationMs = 3000 }
        let client = try makeClient(types: MediaMask.audio.rawValue)
        try client.join(instanceID: first.instanceID, streamID: first.streamID, signature: nil, serverURLs: first.serverURLs)
        let deadline = nowMilliseconds() + 15_000
        while client.phase != .ready && nowMilliseconds() < deadline { sleepMs(10); _ = client.poll(maxEvents: 1000) { _ in } }
        #expect(client.phase == .ready)

        // leave() and join() before the loop has run leave()'s step.
        let gate = holdLoop(client)
        client.leave()
        try client.join(instanceID: second.instanceID, streamID: second.streamID, signature: nil, serverURLs: second.serverURLs)
        gate.signal()

        let c = collect(client, timeout: 15)
        #expect(c.joinConfirm?.reason == 0, "the second join was not confirmed")
        #expect(c.leave?.reason == StopReason.meetingEnded, "\(String(describing: c.leave))")
        #expect(c.count(.audio) > 50, "audio of the second stream: \(c.count(.audio))")
        // The client's own phase followed the new session (it stayed .ended before the fix).
        #expect(client.phase == .ended)
        client.leave()
    }
}
