"""The callback types of the public API, as typing aliases: what each registrar accepts, in the
shapes the callbacks are really called with. Zoom's stub (rtms 1.1.0 `__init__.pyi`) declares
EventParticipantInfo, ParticipantEventCallback, ActiveSpeakerEventCallback, SharingEventCallback
and EventExCallback; the others carry the names of the Node package's rtms.d.ts.

A callback's return value is ignored, so every alias returns `object`: a function returning
anything is accepted, and a data callback may be a coroutine function (run on the asyncio loop
current at registration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Optional, TypedDict, Union

from ._core import Metadata, Participant, Session

if TYPE_CHECKING:
    from . import Client, WebhookHandler, WebhookResponse
    from ._fleet import FleetStream


class EventParticipantInfo(TypedDict):
    """One participant of on_participant_event. The keys are the ones really passed (snake_case,
    like Zoom's runtime); Zoom's stub spells them userId/userName, which its package never sends.
    A name the server did not send (leave events) is ""."""

    user_id: int
    user_name: str


# -- Zoom's stub names ---------------------------------------------------------------------------

ParticipantEventCallback = Callable[[Literal["join", "leave"], int, List[EventParticipantInfo]], object]
"""(event, timestamp_ms, participants)"""

ActiveSpeakerEventCallback = Callable[[int, int, str], object]
"""(timestamp_ms, user_id, user_name)"""

SharingEventCallback = Callable[[Literal["start", "stop"], int, Optional[int], Optional[str]], object]
"""("start", timestamp_ms, user_id, user_name) or ("stop", timestamp_ms, None, None)"""

EventExCallback = Callable[[str], object]
"""(json): the event as the server sent it"""

# -- the other callbacks (names as in rtms.d.ts) ------------------------------------------------------

JoinConfirmCallback = Callable[[int], object]
"""(reason): 0 = joined"""

LeaveCallback = Callable[[int], object]
"""(reason): a StopReason value (Zoom's, or the core's own)"""

SessionUpdateCallback = Callable[[int, Session], object]
"""(op, session): op is a SESSION_EVENT_* value"""

UserUpdateCallback = Callable[[int, Participant], object]
"""(op, participant): op is USER_JOIN or USER_LEAVE"""

MediaDataCallback = Callable[[bytes, int, int, Metadata], object]
"""(data, size, timestamp_ms, metadata): audio, video, deskshare, transcript (UTF-8) or chat"""

AudioDataCallback = MediaDataCallback
VideoDataCallback = MediaDataCallback
DeskshareDataCallback = MediaDataCallback
TranscriptDataCallback = MediaDataCallback
ChatDataCallback = MediaDataCallback

ParticipantVideoCallback = Callable[[List[int], bool], object]
"""(user_ids, is_on)"""

VideoSubscribedCallback = Callable[[int, int, str], object]
"""(user_id, status, error): the answer to subscribe_video ("" when it succeeded)"""

MediaConnectionInterruptedCallback = Callable[[int], object]
"""(timestamp_ms)"""

ReconnectingCallback = Callable[[int, int, int, str], object]
"""(connection, attempt, delay_ms, cause): connection 0 = signaling, else a MEDIA_TYPE_* value"""

ReconnectedCallback = Callable[[int, int], object]
"""(connection, gap_ms)"""

StreamStateCallback = Callable[[int, int], object]
"""(state, reason): state is a StreamState value"""

ErrorCallback = Callable[[int, str], object]
"""(code, message)"""

WebhookPayload = Dict[str, Any]
"""A webhook's JSON body: {"event": ..., "payload": {...}, ...}"""

WebhookCallback = Callable[[WebhookPayload], object]
"""(payload): called for every event the intake accepted"""

RawWebhookCallback = Callable[[WebhookPayload, "WebhookHandler", "WebhookResponse"], object]
"""(payload, request, response): answers the request itself (Zoom's raw form)"""

AnyWebhookCallback = Union[WebhookCallback, RawWebhookCallback]

FleetStreamHandler = Callable[["Client", "FleetStream"], object]
"""(client, stream): register the client's callbacks; the fleet joins it when this returns"""

FleetRevokedHandler = Callable[["FleetStream", str], object]
"""(stream, reason): this node no longer holds the stream"""

__all__ = [
    "EventParticipantInfo", "ParticipantEventCallback", "ActiveSpeakerEventCallback", "SharingEventCallback",
    "EventExCallback", "JoinConfirmCallback", "LeaveCallback", "SessionUpdateCallback", "UserUpdateCallback",
    "MediaDataCallback", "AudioDataCallback", "VideoDataCallback", "DeskshareDataCallback", "TranscriptDataCallback",
    "ChatDataCallback", "ParticipantVideoCallback", "VideoSubscribedCallback", "MediaConnectionInterruptedCallback",
    "ReconnectingCallback", "ReconnectedCallback", "StreamStateCallback", "ErrorCallback", "WebhookPayload",
    "WebhookCallback", "RawWebhookCallback", "AnyWebhookCallback", "FleetStreamHandler", "FleetRevokedHandler",
]
