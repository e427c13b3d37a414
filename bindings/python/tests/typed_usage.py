"""A fully annotated program over the public API of `rtms`.

Checked by `mypy --strict` (tests/typecheck.py): against the source tree, and against the
installed package, which mypy reads only because the package ships its py.typed marker. Run by
test_typing.py against the simulator: `main()` joins a meeting with a typed callback for every
registrar and records what each received, which the test compares with the callback aliases.

The lines marked `# type: ignore[...]` are mistakes the types must catch: with --strict
(warn_unused_ignores), an ignore that is not needed any more is an error, so types that became
too loose (Any) fail the check.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Literal, Optional, Tuple

import rtms

Calls = Dict[str, List[Tuple[Any, ...]]]


def register(client: rtms.Client, calls: Calls, left: threading.Event, subscribe_user: bool = True) -> None:
    """A typed callback for every registrar of the client; each records its arguments."""
    lock = threading.Lock()

    def record(name: str, *args: Any) -> None:
        with lock:
            calls.setdefault(name, []).append(args)

    def expect(ok: bool, what: str) -> None:
        """A failed expectation is recorded (an exception in a callback is only reported)."""
        if not ok:
            record("failures", what)

    def on_join_confirm(reason: int) -> None:
        record("join_confirm", reason)

    def on_session_update(op: int, session: rtms.Session) -> None:
        record("session_update", op, session)
        state: bool = session.isActive or session.isPaused
        ids: Tuple[str, str, str] = (session.sessionId, session.streamId, session.meetingId)
        expect(isinstance(state, bool) and all(isinstance(i, str) for i in ids), "session %r" % session)

    def on_user_update(op: int, participant: rtms.Participant) -> None:
        record("user_update", op, participant)
        who: Tuple[int, str] = (participant.id, participant.name)
        expect(isinstance(who[0], int) and isinstance(who[1], str), "participant %r" % participant)

    def on_audio_data(data: bytes, size: int, timestamp: int, metadata: rtms.Metadata) -> None:
        record("audio_data", data, size, timestamp, metadata)

    def on_video_data(data: bytes, size: int, timestamp: int, metadata: rtms.Metadata) -> None:
        record("video_data", data, size, timestamp, metadata)

    def on_deskshare_data(data: bytes, size: int, timestamp: int, metadata: rtms.Metadata) -> None:
        record("deskshare_data", data, size, timestamp, metadata)

    def on_chat_data(data: bytes, size: int, timestamp: int, metadata: rtms.Metadata) -> None:
        record("chat_data", data, size, timestamp, metadata)

    def on_leave(reason: int) -> None:
        record("leave", reason)
        expect(rtms.StopReason(reason).name == "MEETING_ENDED", "left with %d" % reason)
        left.set()

    def on_event_ex(event_json: str) -> None:
        record("event_ex", event_json)
        event: Dict[str, Any] = json.loads(event_json)
        expect("event_type" in event, "event_ex %s" % event_json)

    def on_participant_event(event: Literal["join", "leave"], timestamp: int,
                             participants: List[rtms.EventParticipantInfo]) -> None:
        record("participant_event", event, timestamp, participants)
        ids: List[int] = [p["user_id"] for p in participants]
        names: List[str] = [p["user_name"] for p in participants]
        expect(len(ids) == len(names) == len(participants), "participants %r" % participants)

    def on_active_speaker_event(timestamp: int, user_id: int, user_name: str) -> None:
        record("active_speaker", timestamp, user_id, user_name)

    def on_sharing_event(event: Literal["start", "stop"], timestamp: int, user_id: Optional[int],
                         user_name: Optional[str]) -> None:
        record("sharing", event, timestamp, user_id, user_name)

    def on_media_connection_interrupted(timestamp: int) -> None:
        record("media_interrupted", timestamp)

    def on_participant_video(users: List[int], is_on: bool) -> None:
        record("participant_video", users, is_on)
        if is_on and subscribe_user and users and "video_subscribed" not in calls:
            client.subscribe_video(users[0], True)

    def on_video_subscribed(user_id: int, status: int, error: str) -> None:
        record("video_subscribed", user_id, status, error)

    def on_reconnecting(connection: int, attempt: int, delay_ms: int, cause: str) -> None:
        record("reconnecting", connection, attempt, delay_ms, cause)

    def on_reconnected(connection: int, gap_ms: int) -> None:
        record("reconnected", connection, gap_ms)

    def on_stream_state(state: int, reason: int) -> None:
        record("stream_state", state, reason)

    def on_error(code: int, message: str) -> None:
        record("error", code, message)

    # snake_case and camelCase registrars alike; each returns the callback it was given.
    client.on_join_confirm(on_join_confirm)
    client.onSessionUpdate(on_session_update)
    client.on_user_update(on_user_update)
    kept: rtms.AudioDataCallback = client.on_audio_data(on_audio_data)
    assert kept is on_audio_data
    client.onVideoData(on_video_data)
    client.on_deskshare_data(on_deskshare_data)
    client.on_chat_data(on_chat_data)
    client.onLeave(on_leave)
    client.on_event_ex(on_event_ex)
    client.on_participant_event(on_participant_event)
    client.onActiveSpeakerEvent(on_active_speaker_event)
    client.on_sharing_event(on_sharing_event)
    client.onMediaConnectionInterrupted(on_media_connection_interrupted)
    client.on_participant_video(on_participant_video)
    client.onVideoSubscribed(on_video_subscribed)
    client.on_reconnecting(on_reconnecting)
    client.onReconnected(on_reconnected)
    client.on_stream_state(on_stream_state)
    client.on_error(on_error)

    # A decorator keeps the function's name bound to the function.
    @client.on_transcript_data
    def on_transcript(data: bytes, size: int, timestamp: int, metadata: rtms.Metadata) -> None:
        record("transcript_data", data, size, timestamp, metadata)
        text: str = data.decode("utf-8")
        language: int = metadata.language
        expect(bool(text) and size == len(data) and language >= -1, "transcript %r" % data)

    on_transcript(b"x", 1, 0, rtms.Metadata())   # callable by the application too (recorded, then dropped)
    calls.pop("transcript_data", None)


def configure(client: rtms.Client) -> None:
    """Media parameters in both spellings, and event subscriptions."""
    audio = rtms.AudioParams(rtms.AudioContentType.RAW_AUDIO, rtms.AudioCodec.L16, rtms.AudioSampleRate.SR_16K,
                             rtms.AudioChannel.MONO, rtms.DataOption.AUDIO_MULTI_STREAMS, 20, 320)
    audio.sampleRate = rtms.AudioSampleRate.SR_16K
    client.set_audio_params(audio)
    video = rtms.VideoParams()
    video.codec, video.fps = rtms.VideoCodec.JPG, 5
    client.setVideoParams(video)
    client.set_deskshare_params(rtms.DeskshareParams(rtms.VideoContentType.RAW_VIDEO, rtms.VideoCodec.JPG,
                                                     rtms.VideoResolution.HD, 5))
    transcript = rtms.TranscriptParams()
    transcript.src_language = rtms.TranscriptLanguage.ENGLISH
    transcript.enableLid = False
    client.set_transcript_params(transcript)
    ok: bool = client.subscribe_event([rtms.EVENT_ACTIVE_SPEAKER_CHANGE, rtms.EventType.SHARING_START])
    assert ok and client.unsubscribeEvent(rtms.EVENT_USER_HOLD)


def main(body: rtms.WebhookPayload, client_id: str, client_secret: str, timeout: float = 30.0) -> Calls:
    """Joins the meeting of an rtms_started body, waits for its end; what every callback received."""
    calls: Calls = {}
    left = threading.Event()
    with rtms.Client() as client:
        register(client, calls, left)
        configure(client)
        joined: bool = client.join(body["payload"], client=client_id, secret=client_secret)
        assert joined
        if not left.wait(timeout):
            raise TimeoutError("the meeting did not end within %.0f s" % timeout)
        stats: Dict[str, Any] = client.stats()
        assert stats["delivered"] > 0 and isinstance(client.state(), int)
    return calls


def rest_of_the_api() -> None:
    """Not run: the module functions, loops, webhooks and the fleet, for the type checker."""
    signature: str = rtms.generate_signature("client", "secret", "meeting-uuid", "stream-id")
    ca: str = rtms.find_ca_certificate()
    assert signature and ca is not None and rtms.initialize(ca) and rtms.uninitialize()
    rtms.configure_logger({"level": rtms.LogLevel.DEBUG, "format": rtms.LogFormat.JSON, "enabled": True})
    rtms.log_info("typed", "message", {"key": 1})
    reason: rtms.StopReason = rtms.StopReason.MEETING_ENDED
    kinds: List[int] = [rtms.MEDIA_TYPE_AUDIO | rtms.MEDIA_TYPE_TRANSCRIPT, rtms.MediaDataType.VIDEO,
                        rtms.SESSION_EVENT_ADD, rtms.USER_JOIN, rtms.RTMS_SDK_OK, rtms.SESS_STATUS_ACTIVE,
                        rtms.MessageType.MEDIA_DATA_AUDIO, rtms.StreamState.ACTIVE, rtms.SessionState.STARTED,
                        rtms.TranscriptLanguage.NONE, reason]
    assert kinds

    # Joins: keywords, positional ids, the payload dict.
    client = rtms.Client(executor=ThreadPoolExecutor(2))
    client.join(meeting_uuid="uuid", rtms_stream_id="stream", server_urls="wss://host", timeout=5000)
    client.join({"meeting_uuid": "uuid", "rtms_stream_id": "stream", "server_urls": "wss://host"})
    client.set_proxy("http", "http://proxy:3128")
    client.enable_audio(True)
    client.enableVideo(False)
    assert client.uuid() == "" and client.stream_id() == client.streamId() and client.leave() and client.stop()

    # Loops.
    loop = rtms.EventLoop(poll_interval=0.01, name="typed")
    loop.add(rtms.Client())
    started: rtms.EventLoop = loop.start()
    started.stop()
    started.join(1.0)
    pool = rtms.EventLoopPool(threads=2, strategy="round_robin")
    chosen: rtms.EventLoop = pool.add(rtms.Client())
    assert chosen in pool.loops and pool.client_count >= 0
    rtms.run(poll_interval=0.01, stop_on_empty=True)
    asyncio.run(rtms.run_async(stop_on_empty=True))
    rtms.stop()

    # Webhooks: the simple form, the raw form, as decorators and as calls.
    @rtms.on_webhook_event
    def on_webhook(body: rtms.WebhookPayload) -> None:
        event: str = body["event"]
        assert event

    @rtms.onWebhookEvent(port=8080, path="/zoom")
    def on_raw(body: Dict[str, Any], request: rtms.WebhookHandler, response: rtms.WebhookResponse) -> None:
        raw: bytes = request.body
        response.set_status(200)
        response.set_header("X-Seen", str(len(raw)))
        response.send({"ok": True})

    assert on_webhook is not None and on_raw is not None
    server = rtms.WebhookServer(port=0, path="/", secret="")
    assert server.start(lambda body: print(body["event"]))
    started_body: Optional[rtms.WebhookPayload] = server.wait_started(timeout_ms=10)
    counters: Dict[str, int] = server.stats()
    assert started_body is None and counters["requests"] >= 0
    server.stop()

    # The fleet.
    with rtms.Fleet(node_id="typed", port=0, max_streams=0) as fleet:
        @fleet.on_stream
        def on_stream(client: rtms.Client, stream: rtms.FleetStream) -> None:
            generation: int = stream.generation
            owner: Optional[str] = stream.previous_owner
            client.on_audio_data(lambda data, size, ts, md: print(stream.stream_id, generation, owner, md.userId))

        @fleet.on_revoked
        def on_revoked(stream: rtms.FleetStream, why: str) -> None:
            print(stream.stream_id, why)

        status: Dict[str, Any] = fleet.status()
        port: int = fleet.port
        held: Dict[str, rtms.Client] = fleet.clients
        assert status and port and held is not None
        fleet.poll(0.1)


def mistakes(client: rtms.Client) -> None:
    """Not run: each line is an error the types catch (an unneeded ignore fails the check)."""
    client.on_leave(lambda reason: reason.upper())  # type: ignore[attr-defined]
    client.on_audio_data(lambda data, size, ts, md: md.user_name)  # type: ignore[attr-defined]
    client.on_participant_event(lambda e, ts, ps: ps[0]["userId"])  # type: ignore[typeddict-item]
    client.on_session_update(lambda op: None)  # type: ignore[arg-type, misc]
    client.subscribe_event("3")  # type: ignore[arg-type]
    client.set_audio_params(rtms.VideoParams())  # type: ignore[arg-type]
    params = rtms.AudioParams()
    params.sampleRat = 1  # type: ignore[attr-defined]
    rtms.TranscriptParams(src_language="en")  # type: ignore[arg-type]
    rtms.generate_signature("client", "secret", "uuid")  # type: ignore[call-arg]
    bad: rtms.StopReason = rtms.StopReason.NOT_A_REASON  # type: ignore[attr-defined]
    assert bad


if __name__ == "__main__":
    import sys
    print(json.dumps({k: len(v) for k, v in main(json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]).items()}))
