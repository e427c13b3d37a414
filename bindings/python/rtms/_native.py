"""ctypes layer over librtms (include/rtms_csdk.h and include/openrtms.h).

Everything here is a direct translation of the C ABI: the behaviour lives in the core. The
`NativeClient` class plays the part of Zoom's compiled `_rtms.Client`: the public `rtms.Client`
derives from it and calls it through `super()`.
"""

from __future__ import annotations

import ctypes
import json
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_int, c_int64, c_uint, c_uint64,
                    c_ubyte, c_void_p, byref)
from typing import Any, Dict, List, Optional

# --------------------------------------------------------------------------------------------
# Loading the library
# --------------------------------------------------------------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates() -> List[str]:
    out = []
    env = os.environ.get("RTMS_LIBRARY")
    if env:
        out.append(env)
    out.append(os.path.join(_HERE, "librtms.so"))
    out.append(os.path.join(_HERE, "librtms.dylib"))
    return out


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            # CDLL, not PyDLL: the GIL is released during calls, so a blocking poll lets other
            # Python threads run, and callbacks from the core re-acquire it.
            return ctypes.CDLL(path)
        tried.append(path)
    raise ImportError(
        "rtms: librtms not found (tried: %s). Install the package with the library inside "
        "(see bindings/python/README.md) or set RTMS_LIBRARY to its path." % ", ".join(tried))


lib = _load()

# --------------------------------------------------------------------------------------------
# Structures
# --------------------------------------------------------------------------------------------

MAX_MEETING_ID_LEN = 128
MAX_VOICE_ID_LEN = 64
MAX_ENGINE_LEN = 64
MAX_AI_TARGETS = 100


class rtms_csdk(Structure):
    _fields_ = [("meeting_uuid", c_char_p), ("rtms_stream_id", c_char_p), ("user_data", c_void_p)]


class session_info(Structure):
    _fields_ = [("session_id", c_char_p), ("stream_id", c_char_p), ("meeting_id", c_char * MAX_MEETING_ID_LEN),
                ("stat_time", c_int), ("status", c_int)]


class participant_info(Structure):
    _fields_ = [("participant_id", c_int), ("participant_name", c_char_p)]


class ai_target_lan(Structure):
    _fields_ = [("lid", c_int), ("toneid", c_int), ("voice_id", c_char * MAX_VOICE_ID_LEN),
                ("engine", c_char * MAX_ENGINE_LEN)]


class ai_interpreter(Structure):
    _fields_ = [("lid", c_int), ("timestamp", c_uint64), ("channel_num", c_int), ("sample_rate", c_int),
                ("target_size", c_int), ("atl", ai_target_lan * MAX_AI_TARGETS)]


class rtms_metadata(Structure):
    _fields_ = [("user_name", c_char_p), ("user_id", c_int), ("start_ts", c_uint64), ("end_ts", c_uint64),
                ("aii", ai_interpreter), ("channel_id", c_char_p), ("language", c_int)]


class audio_parameters(Structure):
    _fields_ = [("content_type", c_int), ("codec", c_int), ("sample_rate", c_int), ("channel", c_int),
                ("data_opt", c_int), ("duration", c_int), ("frame_size", c_int)]


class video_parameters(Structure):
    _fields_ = [("content_type", c_int), ("codec", c_int), ("resolution", c_int), ("data_opt", c_int), ("fps", c_int)]


class ds_parameters(Structure):
    _fields_ = [("content_type", c_int), ("codec", c_int), ("resolution", c_int), ("fps", c_int)]


class transcript_parameters(Structure):
    _fields_ = [("content_type", c_int), ("src_language", c_int), ("enable_lid", c_bool)]


class media_parameters(Structure):
    _fields_ = [("audio_param", POINTER(audio_parameters)), ("video_param", POINTER(video_parameters)),
                ("ds_param", POINTER(ds_parameters)), ("tr_param", POINTER(transcript_parameters))]


SDK = POINTER(rtms_csdk)
DataCB = CFUNCTYPE(None, SDK, POINTER(c_ubyte), c_int, c_uint64, POINTER(rtms_metadata))
JoinCB = CFUNCTYPE(None, SDK, c_int)
SessionCB = CFUNCTYPE(None, SDK, c_int, POINTER(session_info))
UserCB = CFUNCTYPE(None, SDK, c_int, POINTER(participant_info))
EventExCB = CFUNCTYPE(None, SDK, c_void_p, c_int)


class rtms_csdk_ops(Structure):
    _fields_ = [("on_join_confirm", JoinCB), ("on_session_update", SessionCB), ("on_user_update", UserCB),
                ("on_audio_data", DataCB), ("on_video_data", DataCB), ("on_ds_data", DataCB),
                ("on_transcript_data", DataCB), ("on_leave", JoinCB), ("on_event_ex", EventExCB)]


ErrorCB = CFUNCTYPE(None, SDK, c_int, c_char_p)
StateCB = CFUNCTYPE(None, SDK, c_int, c_int)
TsCB = CFUNCTYPE(None, SDK, c_uint64)
SpeakerCB = CFUNCTYPE(None, SDK, c_int, c_char_p, c_uint64)
SharingCB = CFUNCTYPE(None, SDK, c_int, c_int, c_char_p, c_uint64)
VideoUsersCB = CFUNCTYPE(None, SDK, POINTER(c_int), c_int, c_int)
VideoSubCB = CFUNCTYPE(None, SDK, c_int, c_int, c_char_p)
ReconnectingCB = CFUNCTYPE(None, SDK, c_int, c_int, c_int, c_char_p)
ReconnectedCB = CFUNCTYPE(None, SDK, c_int, c_int)
ParticipantEventCB = CFUNCTYPE(None, SDK, c_int, c_uint64, POINTER(participant_info), c_int)

RTMS_EXT_OPS_VERSION = 2
USER_JOIN, USER_LEAVE = 0, 1  # op of on_user_update and on_participant_event


class rtms_ext_ops(Structure):
    _fields_ = [("version", c_uint), ("on_chat_data", DataCB), ("on_stream_state", StateCB),
                ("on_stream_closed", ErrorCB), ("on_error", ErrorCB), ("on_first_packet", TsCB),
                ("on_active_speaker", SpeakerCB), ("on_sharing", SharingCB), ("on_media_interrupted", TsCB),
                ("on_participant_video", VideoUsersCB), ("on_video_subscript_resp", VideoSubCB),
                ("on_reconnecting", ReconnectingCB), ("on_reconnected", ReconnectedCB),
                ("on_participant_event", ParticipantEventCB)]  # version 2


class rtms_options(Structure):
    _fields_ = [("version", c_uint), ("poll_wait_ms", c_int), ("connect_timeout_ms", c_int),
                ("queue_max_bytes", c_int), ("drop_when_full", c_int), ("max_message_bytes", c_int),
                ("client_id", c_char_p), ("client_secret", c_char_p), ("ca_path", c_char_p), ("verify_cert", c_int),
                ("buffer_data", c_int), ("client_agent", c_char_p), ("reconnect_max_attempts", c_int),
                ("reconnect_base_delay_ms", c_int), ("connection_max_attempts", c_int),
                ("connection_retry_delay_ms", c_int), ("keepalive_interval_ms", c_int), ("keepalive_timeout_ms", c_int)]


class rtms_stats(Structure):
    _fields_ = [("version", c_uint), ("media_messages", c_uint64 * 5), ("media_bytes", c_uint64),
                ("control_events", c_uint64), ("delivered", c_uint64), ("dropped_queue_full", c_uint64),
                ("dropped_malformed", c_uint64), ("dropped_unexpected", c_uint64), ("read_pauses", c_uint64),
                ("queue_high_water_bytes", c_uint64), ("keepalives_answered", c_uint64),
                ("reconnect_attempts", c_uint64), ("rejoins", c_uint64), ("media_reconnects", c_uint64),
                ("max_gap_ms", c_uint64)]


class rtms_webhook_options(Structure):
    _fields_ = [("version", c_uint), ("host", c_char_p), ("port", c_int), ("path", c_char_p),
                ("cert_path", c_char_p), ("key_path", c_char_p), ("client_ca_path", c_char_p),
                ("secret_token", c_char_p), ("max_body_bytes", c_int), ("replay_window_s", c_int),
                ("queue_max_events", c_int)]


class rtms_webhook_stats(Structure):
    """Version 2 (set version = 2 before rtms_webhook_get_stats)."""
    _fields_ = [("version", c_uint)] + [(n, c_uint64) for n in (
        "requests", "accepted", "duplicates", "validations", "not_found", "malformed", "too_large",
        "unauthorized", "routed", "dropped_queue_full", "connections_accepted", "connections_open",
        "header_timeouts", "body_timeouts", "idle_timeouts", "evicted", "refused", "accept_errors")]


class rtms_media_item(Structure):
    _fields_ = [("sdk", c_void_p), ("data", c_void_p), ("user_name", c_void_p), ("channel_id", c_void_p),
                ("timestamp", c_uint64), ("start_ts", c_uint64), ("end_ts", c_uint64), ("size", c_int),
                ("media_type", c_int), ("user_id", c_int), ("language", c_int), ("user_name_len", c_int),
                ("channel_id_len", c_int)]


class rtms_media_batch(Structure):
    _fields_ = [("items", c_void_p), ("count", c_int), ("bytes", c_void_p), ("bytes_len", ctypes.c_size_t)]


MediaBatchCB = CFUNCTYPE(None, POINTER(rtms_media_batch), c_void_p)

WebhookCB = CFUNCTYPE(None, c_void_p, c_char_p, c_void_p, c_int, c_int, c_void_p)


class rtms_fleet_options(Structure):
    _fields_ = [("version", c_uint), ("database_url", c_char_p), ("node_id", c_char_p), ("max_streams", c_int),
                ("lease_ms", c_int), ("renew_ms", c_int), ("lease_margin_ms", c_int), ("advertise_url", c_char_p),
                ("host", c_char_p), ("port", c_int), ("path", c_char_p), ("secret_token", c_char_p),
                ("cert_path", c_char_p), ("key_path", c_char_p), ("start_timeout_ms", c_int)]


RTMS_FLEET_OPTIONS_VERSION = 1
RTMS_FLEET_REASON_UNKNOWN = -1
FleetAssignedCB = CFUNCTYPE(None, c_void_p, c_char_p, c_int64, c_char_p, c_char_p, c_void_p)
FleetRevokedCB = CFUNCTYPE(None, c_void_p, c_char_p, c_int64, c_char_p, c_void_p)


def _fn(name: str, restype: Any, *argtypes: Any) -> Any:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


rtms_init = _fn("rtms_init", c_int, c_char_p, c_int, c_char_p)
rtms_uninit = _fn("rtms_uninit", None)
rtms_alloc = _fn("rtms_alloc", SDK)
rtms_release = _fn("rtms_release", c_int, SDK)
rtms_config = _fn("rtms_config", c_int, SDK, POINTER(media_parameters), c_int, c_int)
rtms_set_callbacks = _fn("rtms_set_callbacks", c_int, SDK, POINTER(rtms_csdk_ops))
rtms_set_ext_callbacks = _fn("rtms_set_ext_callbacks", c_int, SDK, POINTER(rtms_ext_ops))
rtms_join = _fn("rtms_join", c_int, SDK, c_char_p, c_char_p, c_char_p, c_char_p, c_int)
rtms_join_payload = _fn("rtms_join_payload", c_int, SDK, c_char_p, c_int)
rtms_resolve_join = _fn("rtms_resolve_join", c_int, c_char_p, POINTER(c_void_p))
rtms_check_params = _fn("rtms_check_params", c_int, POINTER(media_parameters))
rtms_wrapper_defaults = _fn("rtms_wrapper_defaults", c_int, POINTER(media_parameters))
rtms_poll = _fn("rtms_poll", c_int, SDK)
rtms_poll_ex = _fn("rtms_poll_ex", c_int, SDK, c_int, c_int)
rtms_wait = _fn("rtms_wait", c_int, SDK, c_int)
rtms_get_wake_fd = _fn("rtms_get_wake_fd", c_int, SDK)
rtms_leave = _fn("rtms_leave", c_int, SDK)
rtms_close_stream = _fn("rtms_close_stream", c_int, SDK)
rtms_get_state = _fn("rtms_get_state", c_int, SDK)
rtms_subscribe_event = _fn("rtms_subscribe_event", c_int, SDK, POINTER(c_int), c_int)
rtms_unsubscribe_event = _fn("rtms_unsubscribe_event", c_int, SDK, POINTER(c_int), c_int)
rtms_set_proxy = _fn("rtms_set_proxy", c_int, SDK, c_char_p, c_char_p)
rtms_send_subscript_video = _fn("rtms_send_subscript_video", c_int, SDK, c_int, c_int)
rtms_options_init = _fn("rtms_options_init", c_int, POINTER(rtms_options), c_uint)
rtms_set_options = _fn("rtms_set_options", c_int, SDK, POINTER(rtms_options))
rtms_get_stats = _fn("rtms_get_stats", c_int, SDK, POINTER(rtms_stats))
rtms_last_error = _fn("rtms_last_error", c_char_p)
rtms_strerror = _fn("rtms_strerror", c_char_p, c_int)
rtms_get_failure = _fn("rtms_get_failure", c_int, SDK, c_char_p, c_int)
rtms_join_reason_string = _fn("rtms_join_reason_string", c_char_p, c_int)
rtms_leave_reason_string = _fn("rtms_leave_reason_string", c_char_p, c_int)
rtms_wrapper_signature = _fn("rtms_wrapper_signature", c_int, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_int)
rtms_find_ca = _fn("rtms_find_ca", c_int, c_char_p, POINTER(c_void_p))
rtms_group_create = _fn("rtms_group_create", c_void_p, c_int)
rtms_group_add = _fn("rtms_group_add", c_int, c_void_p, SDK)
rtms_group_remove = _fn("rtms_group_remove", c_int, c_void_p, SDK)
rtms_group_get_wake_fd = _fn("rtms_group_get_wake_fd", c_int, c_void_p)
rtms_group_poll = _fn("rtms_group_poll", c_int, c_void_p, c_int, c_int)
rtms_group_release = _fn("rtms_group_release", c_int, c_void_p)
rtms_group_set_media_batch = _fn("rtms_group_set_media_batch", c_int, c_void_p, MediaBatchCB, c_void_p)
rtms_version = _fn("rtms_version", c_char_p)
rtms_webhook_options_init = _fn("rtms_webhook_options_init", c_int, POINTER(rtms_webhook_options), c_uint)
rtms_webhook_start = _fn("rtms_webhook_start", c_void_p, POINTER(rtms_webhook_options))
rtms_webhook_create = _fn("rtms_webhook_create", c_void_p, POINTER(rtms_webhook_options))
rtms_webhook_handle = _fn("rtms_webhook_handle", c_int, c_void_p, c_char_p, c_char_p, c_char_p, c_char_p, c_int,
                          POINTER(c_void_p))
rtms_webhook_port = _fn("rtms_webhook_port", c_int, c_void_p)
rtms_webhook_set_callback = _fn("rtms_webhook_set_callback", c_int, c_void_p, WebhookCB, c_void_p)
rtms_webhook_poll = _fn("rtms_webhook_poll", c_int, c_void_p, c_int, c_int)
rtms_webhook_get_wake_fd = _fn("rtms_webhook_get_wake_fd", c_int, c_void_p)
rtms_webhook_wait_started = _fn("rtms_webhook_wait_started", c_int, c_void_p, c_char_p, c_int, POINTER(c_void_p))
rtms_webhook_get_stats = _fn("rtms_webhook_get_stats", c_int, c_void_p, POINTER(rtms_webhook_stats))
rtms_webhook_stop = _fn("rtms_webhook_stop", c_int, c_void_p)
rtms_free = _fn("rtms_free", None, c_void_p)
rtms_fleet_options_init = _fn("rtms_fleet_options_init", c_int, POINTER(rtms_fleet_options), c_uint)
rtms_fleet_create = _fn("rtms_fleet_create", c_void_p, POINTER(rtms_fleet_options), FleetAssignedCB, FleetRevokedCB, c_void_p)
rtms_fleet_poll = _fn("rtms_fleet_poll", c_int, c_void_p, c_int)
rtms_fleet_get_wake_fd = _fn("rtms_fleet_get_wake_fd", c_int, c_void_p)
rtms_fleet_port = _fn("rtms_fleet_port", c_int, c_void_p)
rtms_fleet_join = _fn("rtms_fleet_join", c_int, c_void_p, c_char_p, c_int64, SDK, c_int)
rtms_fleet_done = _fn("rtms_fleet_done", c_int, c_void_p, c_char_p, c_int64, c_int)
rtms_fleet_status = _fn("rtms_fleet_status", c_int, c_void_p, POINTER(c_void_p))
rtms_fleet_release = _fn("rtms_fleet_release", c_int, c_void_p)

RTMS_SDK_FAILURE, RTMS_SDK_OK, RTMS_SDK_TIMEOUT, RTMS_SDK_NOT_EXIST = -1, 0, 1, 2
RTMS_SDK_WRONG_TYPE, RTMS_SDK_INVALID_STATUS, RTMS_SDK_INVALID_ARGS = 3, 4, 5
RTMS_SDK_NO_CREDENTIALS = 16


class RTMSException(RuntimeError):
    """A failed call into the core: `code` is the RTMS_SDK_* value, the text says why."""

    def __init__(self, op: str, code: int, detail: str = ""):
        self.code = code
        words = _s(rtms_strerror(code))
        text = "%s failed: %s" % (op, words[:1].upper() + words[1:])
        if detail:
            text += " (%s)" % detail
        super().__init__(text)


class RTMSArgumentError(RTMSException, ValueError):
    """RTMS_SDK_INVALID_ARGS: also a ValueError, as Zoom's wrapper raises for bad input."""


class RTMSCredentialsError(RTMSException, EnvironmentError):
    """RTMS_SDK_NO_CREDENTIALS: also an EnvironmentError, as Zoom's wrapper raises."""


def last_error() -> str:
    return _s(rtms_last_error())


def check(op: str, rc: int) -> None:
    if rc != RTMS_SDK_OK:
        kind = {RTMS_SDK_INVALID_ARGS: RTMSArgumentError, RTMS_SDK_NO_CREDENTIALS: RTMSCredentialsError}
        raise kind.get(rc, RTMSException)(op, rc, last_error())


def resolve_join(payload: Dict[str, Any]) -> Dict[str, str]:
    """rtms_resolve_join: the ids, URLs and signature the core would join with; raises
    RTMSArgumentError / RTMSCredentialsError for what it refuses."""
    out = c_void_p()
    resolved: Dict[str, str] = json.loads(taken_string("join", rtms_resolve_join(_b(json.dumps(payload)), byref(out)), out))
    return resolved


def taken_string(op: str, n: int, out: c_void_p) -> str:
    """The text a core function returned in *out (its length n, or a negated code), freed."""
    if n < 0:
        check(op, -n)
    try:
        return ctypes.string_at(out, n).decode("utf-8") if n else ""
    finally:
        rtms_free(out)


def _b(s: Optional[str]) -> Optional[bytes]:
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def _s(b: Optional[bytes]) -> str:
    return b.decode("utf-8", "replace") if b else ""
