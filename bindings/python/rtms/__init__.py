"""OpenRTMS for Python: a drop-in for Zoom's `rtms` 1.1.0 package, over the OpenRTMS core (librtms).

    import rtms

    client = rtms.Client()

    @client.on_transcript_data
    def on_text(data, size, timestamp, metadata):
        print(metadata.userName, data.decode())

    client.join(payload)          # the rtms_started webhook payload, or keywords
    rtms.run()                    # or let the client's own thread deliver events

Events are delivered on the loop thread that owns the client, inside the core's poll: the loop
sleeps on the core's wake descriptors (no timer polling), so an idle client costs no CPU.
Reconnection and server failover happen inside the core (on_reconnecting / on_reconnected).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import http.server
import inspect
import json
import os
import selectors
import sys
import threading
import time
import traceback
from concurrent.futures import Executor
from enum import Enum, IntEnum
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple, TypeVar, Union, overload

from . import _native
from ._core import (AiInterpreter, AiTargetLanguage, AudioParams, DeskshareParams, EventTypes, MediaBatches, Metadata,
                    NativeClient, Participant, Session, TranscriptParams, VideoParams, SESS_STATUS_ACTIVE, SESS_STATUS_PAUSED)
from ._native import (RTMS_SDK_FAILURE, RTMS_SDK_INVALID_ARGS, RTMS_SDK_INVALID_STATUS, RTMS_SDK_NO_CREDENTIALS,
                      RTMS_SDK_NOT_EXIST, RTMS_SDK_OK, RTMS_SDK_TIMEOUT, RTMS_SDK_WRONG_TYPE, USER_JOIN, USER_LEAVE,
                      RTMSException)
from ._types import (ActiveSpeakerEventCallback, AnyWebhookCallback, AudioDataCallback, ChatDataCallback,
                     DeskshareDataCallback, ErrorCallback, EventExCallback, EventParticipantInfo, FleetRevokedHandler,
                     FleetStreamHandler, JoinConfirmCallback, LeaveCallback, MediaConnectionInterruptedCallback,
                     MediaDataCallback, ParticipantEventCallback, ParticipantVideoCallback, RawWebhookCallback,
                     ReconnectedCallback, ReconnectingCallback, SessionUpdateCallback, SharingEventCallback,
                     StreamStateCallback, TranscriptDataCallback, UserUpdateCallback, VideoDataCallback,
                     VideoSubscribedCallback, WebhookCallback, WebhookPayload)

_ClientBase = NativeClient

# --------------------------------------------------------------------------------------------
# Constants (Zoom's names and values)
# --------------------------------------------------------------------------------------------

MEDIA_TYPE_AUDIO, MEDIA_TYPE_VIDEO, MEDIA_TYPE_DESKSHARE = 1, 2, 4
MEDIA_TYPE_TRANSCRIPT, MEDIA_TYPE_CHAT, MEDIA_TYPE_ALL = 8, 16, 32
SESSION_EVENT_ADD, SESSION_EVENT_STOP, SESSION_EVENT_PAUSE, SESSION_EVENT_RESUME = 1, 2, 3, 4
EVENT_UNDEFINED, EVENT_FIRST_PACKET_TIMESTAMP, EVENT_ACTIVE_SPEAKER_CHANGE = 0, 1, 2
EVENT_PARTICIPANT_JOIN, EVENT_PARTICIPANT_LEAVE, EVENT_SHARING_START, EVENT_SHARING_STOP = 3, 4, 5, 6
EVENT_MEDIA_CONNECTION_INTERRUPTED, EVENT_PARTICIPANT_VIDEO_ON, EVENT_PARTICIPANT_VIDEO_OFF = 7, 8, 9
EVENT_CONSUMER_ANSWERED, EVENT_CONSUMER_END, EVENT_USER_ANSWERED = 8, 9, 10
EVENT_USER_END, EVENT_USER_HOLD, EVENT_USER_UNHOLD = 11, 12, 13
# USER_JOIN, USER_LEAVE and RTMS_SDK_*: from _native (the C header's values).

AudioContentType = IntEnum("AudioContentType", {"UNDEFINED": 0, "RTP": 1, "RAW_AUDIO": 2, "FILE_STREAM": 4, "TEXT": 5})
AudioCodec = IntEnum("AudioCodec", {"UNDEFINED": 0, "L16": 1, "G711": 2, "G722": 3, "OPUS": 4})
AudioSampleRate = IntEnum("AudioSampleRate", {"SR_8K": 0, "SR_16K": 1, "SR_32K": 2, "SR_48K": 3})
AudioChannel = IntEnum("AudioChannel", {"MONO": 1, "STEREO": 2})
DataOption = IntEnum("DataOption", {"UNDEFINED": 0, "AUDIO_MIXED_STREAM": 1, "AUDIO_MULTI_STREAMS": 2,
                                    "VIDEO_SINGLE_ACTIVE_STREAM": 3, "VIDEO_SINGLE_INDIVIDUAL_STREAM": 4,
                                    "VIDEO_MIXED_SPEAKER_VIEW": 4, "VIDEO_MIXED_GALLERY_VIEW": 5})
AudioDataOption = DataOption
VideoDataOption = DataOption
VideoContentType = IntEnum("VideoContentType", {"UNDEFINED": 0, "RTP": 1, "RAW_VIDEO": 3, "FILE_STREAM": 4, "TEXT": 5})
VideoCodec = IntEnum("VideoCodec", {"UNDEFINED": 0, "JPG": 5, "PNG": 6, "H264": 7})
VideoResolution = IntEnum("VideoResolution", {"SD": 1, "HD": 2, "FHD": 3, "QHD": 4})
MediaDataType = IntEnum("MediaDataType", {"UNDEFINED": 0, "AUDIO": 1, "VIDEO": 2, "DESKSHARE": 4, "TRANSCRIPT": 8,
                                          "CHAT": 16, "ALL": 32})
SessionState = IntEnum("SessionState", {"INACTIVE": 0, "INITIALIZE": 1, "STARTED": 2, "PAUSED": 3, "RESUMED": 4,
                                        "STOPPED": 5})
StreamState = IntEnum("StreamState", {"INACTIVE": 0, "ACTIVE": 1, "INTERRUPTED": 2, "TERMINATING": 3, "TERMINATED": 4,
                                      "PAUSED": 5, "RESUMED": 6})
EventType = IntEnum("EventType", {"UNDEFINED": 0, "FIRST_PACKET_TIMESTAMP": 1, "ACTIVE_SPEAKER_CHANGE": 2,
                                  "PARTICIPANT_JOIN": 3, "PARTICIPANT_LEAVE": 4, "SHARING_START": 5, "SHARING_STOP": 6,
                                  "MEDIA_CONNECTION_INTERRUPTED": 7, "PARTICIPANT_VIDEO_ON": 8,
                                  "PARTICIPANT_VIDEO_OFF": 9, "CONSUMER_ANSWERED": 8, "CONSUMER_END": 9,
                                  "USER_ANSWERED": 10, "USER_END": 11, "USER_HOLD": 12, "USER_UNHOLD": 13})
# Every name is spelled out (no comprehension), so that type checkers see the members.
# StopReason: Zoom's 27 reasons, then the core's own (RTMS_REASON_* in include/openrtms.h), reported
# by on_leave when it gives up on a connection, by on_join_confirm and on_error: members too, so
# that StopReason(reason) names every reason the core reports. TIMEOUT, BAD_RESPONSE and
# LIVENESS_TIMEOUT share Zoom's values 1, 6 and 16 (aliases: StopReason(6).name is MEETING_ENDED);
# QUEUE_FULL comes with on_error only.
MessageType = IntEnum("MessageType", {"UNDEFINED": 0, "SIGNALING_HAND_SHAKE_REQ": 1, "SIGNALING_HAND_SHAKE_RESP": 2,
                                      "DATA_HAND_SHAKE_REQ": 3, "DATA_HAND_SHAKE_RESP": 4, "EVENT_SUBSCRIPTION": 5,
                                      "EVENT_UPDATE": 6, "CLIENT_READY_ACK": 7, "STREAM_STATE_UPDATE": 8,
                                      "SESSION_STATE_UPDATE": 9, "SESSION_STATE_REQ": 10, "SESSION_STATE_RESP": 11,
                                      "KEEP_ALIVE_REQ": 12, "KEEP_ALIVE_RESP": 13, "MEDIA_DATA_AUDIO": 14,
                                      "MEDIA_DATA_VIDEO": 15, "MEDIA_DATA_SHARE": 16, "MEDIA_DATA_TRANSCRIPT": 17,
                                      "MEDIA_DATA_CHAT": 18, "STREAM_STATE_REQ": 19, "STREAM_STATE_RESP": 20,
                                      "STREAM_CLOSE_REQ": 21, "STREAM_CLOSE_RESP": 22, "META_DATA_AUDIO": 23,
                                      "META_DATA_VIDEO": 24, "META_DATA_SHARE": 25, "META_DATA_TRANSCRIPT": 26,
                                      "META_DATA_CHAT": 27, "VIDEO_SUBSCRIPTION_REQ": 28,
                                      "VIDEO_SUBSCRIPTION_RESP": 29})
StopReason = IntEnum("StopReason", {"UNDEFINED": 0, "HOST_TRIGGERED": 1, "USER_TRIGGERED": 2, "USER_LEFT": 3,
                                    "USER_EJECTED": 4, "HOST_DISABLED_APP": 5, "MEETING_ENDED": 6,
                                    "STREAM_CANCELED": 7, "STREAM_REVOKED": 8, "ALL_APPS_DISABLED": 9,
                                    "INTERNAL_EXCEPTION": 10, "CONNECTION_TIMEOUT": 11,
                                    "INSTANCE_CONNECTION_INTERRUPTED": 12, "SIGNAL_CONNECTION_INTERRUPTED": 13,
                                    "DATA_CONNECTION_INTERRUPTED": 14, "SIGNAL_CONNECTION_CLOSED_ABNORMALLY": 15,
                                    "DATA_CONNECTION_CLOSED_ABNORMALLY": 16, "EXIT_SIGNAL": 17,
                                    "AUTHENTICATION_FAILURE": 18, "AWAIT_RECONNECTION_TIMEOUT": 19,
                                    "RECEIVER_REQUEST_CLOSE": 20, "CUSTOMER_DISCONNECTED": 21,
                                    "AGENT_DISCONNECTED": 22, "ADMIN_DISABLED_APP": 23, "KEEP_ALIVE_TIMEOUT": 24,
                                    "MANUAL_API_TRIGGERED": 25, "STREAMING_NOT_SUPPORTED": 26,
                                    "TIMEOUT": 1, "BAD_RESPONSE": 6, "LIVENESS_TIMEOUT": 16, "CONNECT_FAILED": 500,
                                    "CONNECTION_LOST": 502, "TLS_FAILED": 610, "UPGRADE_REFUSED": 620,
                                    "CLOSED_BY_SERVER": 960, "QUEUE_FULL": 700})
TranscriptLanguage = IntEnum("TranscriptLanguage", {"NONE": -1, "ARABIC": 0, "BENGALI": 1, "CANTONESE": 2,
                                                    "CATALAN": 3, "CHINESE_SIMPLIFIED": 4, "CHINESE_TRADITIONAL": 5,
                                                    "CZECH": 6, "DANISH": 7, "DUTCH": 8, "ENGLISH": 9,
                                                    "ESTONIAN": 10, "FINNISH": 11, "FRENCH_CANADA": 12,
                                                    "FRENCH_FRANCE": 13, "GERMAN": 14, "HEBREW": 15, "HINDI": 16,
                                                    "HUNGARIAN": 17, "INDONESIAN": 18, "ITALIAN": 19, "JAPANESE": 20,
                                                    "KOREAN": 21, "MALAY": 22, "PERSIAN": 23, "POLISH": 24,
                                                    "PORTUGUESE": 25, "ROMANIAN": 26, "RUSSIAN": 27, "SPANISH": 28,
                                                    "SWEDISH": 29, "TAGALOG": 30, "TAMIL": 31, "TELUGU": 32,
                                                    "THAI": 33, "TURKISH": 34, "UKRAINIAN": 35, "VIETNAMESE": 36})

# --------------------------------------------------------------------------------------------
# Logging (ZM_RTMS_LOG_LEVEL, ZM_RTMS_LOG_FORMAT, ZM_RTMS_LOG_ENABLED)
# --------------------------------------------------------------------------------------------


class LogLevel(IntEnum):
    ERROR = 0
    WARN = 1
    INFO = 2
    DEBUG = 3
    TRACE = 4


class LogFormat(str, Enum):
    PROGRESSIVE = "progressive"
    JSON = "json"


_log_level = os.getenv("ZM_RTMS_LOG_LEVEL", "info").lower()
_log_format = os.getenv("ZM_RTMS_LOG_FORMAT", "progressive").lower()
_log_enabled = os.getenv("ZM_RTMS_LOG_ENABLED", "true").lower() != "false"
_LEVEL_NAMES = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]


def _level_value(level: Any) -> int:
    if isinstance(level, str):
        return LogLevel.__members__.get(level.upper(), LogLevel.INFO)
    return int(level)


def _log(level: int, component: str, message: str, details: Any = None) -> None:
    if not _log_enabled or level > _level_value(_log_level):
        return
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    if str(getattr(_log_format, "value", _log_format)) == "json":
        rec = {"timestamp": stamp, "level": _LEVEL_NAMES[level].lower(), "component": component, "message": message}
        if details:
            rec["details"] = details
        line = json.dumps(rec)
    else:
        line = "%s | %s | %s | %s" % (component.ljust(8), stamp, _LEVEL_NAMES[level].ljust(5), message)
    print(line, file=sys.stderr if level == LogLevel.ERROR else sys.stdout)


def log_debug(component: str, message: str, details: Any = None) -> None: _log(LogLevel.DEBUG, component, message, details)
def log_info(component: str, message: str, details: Any = None) -> None: _log(LogLevel.INFO, component, message, details)
def log_warn(component: str, message: str, details: Any = None) -> None: _log(LogLevel.WARN, component, message, details)
def log_error(component: str, message: str, details: Any = None) -> None: _log(LogLevel.ERROR, component, message, details)


def configure_logger(options: Dict[str, Any]) -> None:
    """{'level': 'debug'|LogLevel, 'format': 'json'|'progressive', 'enabled': bool}"""
    global _log_level, _log_format, _log_enabled
    if not isinstance(options, dict):
        raise TypeError("configure_logger expects a dict")
    if "level" in options:
        lv = options["level"]
        _log_level = _LEVEL_NAMES[int(lv)].lower() if isinstance(lv, int) else str(lv).lower()
    if "format" in options:
        _log_format = str(getattr(options["format"], "value", options["format"])).lower()
    if "enabled" in options:
        _log_enabled = bool(options["enabled"])


# --------------------------------------------------------------------------------------------
# Module state (Zoom's globals: tests and programs reach into these)
# --------------------------------------------------------------------------------------------

_webhook_server: Optional["WebhookServer"] = None
_clients: Dict[int, "Client"] = {}
_clients_lock = threading.Lock()
_sdk_init_lock = threading.Lock()
# What join() gives the core's rtms_resolve_join (the instance id keys first, in its order).
_JOIN_KEYS = ("meeting_uuid", "webinar_uuid", "session_id", "engagement_id", "call_id", "rtms_stream_id",
              "server_urls", "signature", "client", "secret")


def _join_payload(params: Dict[str, Any]) -> Dict[str, Any]:
    return {k: params[k] for k in _JOIN_KEYS if params.get(k) is not None}
_running = False
_stop_event = threading.Event()
_run_executor: Optional[Executor] = None
_default_loop: Optional["EventLoop"] = None


def find_ca_certificate(specified_path: Optional[str] = None) -> str:
    """The core's CA bundle search (rtms_find_ca): an existing specified_path, else ZM_RTMS_CA, else
    a system bundle, else '' (the system trust store)."""
    out = ctypes.c_void_p()
    return _native.taken_string("find_ca_certificate", _native.rtms_find_ca(_native._b(specified_path), ctypes.byref(out)), out)


def generate_signature(client: Optional[str], secret: Optional[str], uuid: str, rtms_stream_id: str) -> str:
    """The core's rtms_wrapper_signature: ZM_RTMS_CLIENT / ZM_RTMS_SECRET override the arguments, as in
    Zoom's wrapper; EnvironmentError when neither gives a client id or secret."""
    out = ctypes.create_string_buffer(65)
    _native.check("generate_signature", _native.rtms_wrapper_signature(
        _native._b(client), _native._b(secret), _native._b(uuid), _native._b(rtms_stream_id), out, 65))
    return out.value.decode("ascii")


def initialize(ca_path: Optional[str] = None) -> bool:
    try:
        _ClientBase.initialize(find_ca_certificate(ca_path))
        Client._sdk_initialized = True
        return True
    except Exception as e:
        log_error("rtms", "Error initializing RTMS SDK: %s" % e)
        return False


def uninitialize() -> bool:
    try:
        _ClientBase.uninitialize()
        Client._sdk_initialized = False
        return True
    except Exception as e:
        log_error("rtms", "Error uninitializing RTMS SDK: %s" % e)
        return False


def _ensure_initialized(ca: Optional[str]) -> None:
    """Initializes the SDK once, before the first join of a client (or a fleet's): with the CA
    that find_ca_certificate(ca) picks, or with none if that fails."""
    with _sdk_init_lock:
        if not Client._sdk_initialized:
            try:
                _ClientBase.initialize(find_ca_certificate(ca), 1, "python-rtms")
            except Exception:
                _ClientBase.initialize("", 1, "python-rtms")
            Client._sdk_initialized = True


# --------------------------------------------------------------------------------------------
# Event loops: threads sleep on the clients' wake descriptors
# --------------------------------------------------------------------------------------------

# A loop's own wake-up (an EventLoop's, a Fleet's) is a non-blocking pipe: drained, then closed.
def _drain_pipe(fd: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fd, 512):
            pass


def _close_quietly(selector: Optional[selectors.BaseSelector], *fds: int) -> None:
    """Closes the selector and the descriptors (those >= 0), ignoring their errors."""
    with contextlib.suppress(Exception):
        if selector is not None:
            selector.close()
    for fd in fds:
        with contextlib.suppress(OSError):
            if fd >= 0:
                os.close(fd)


class EventLoop:
    """Owns clients and delivers their events on one thread. add() before client.join().

    The clients' handles are members of one delivery group of the core (rtms_group): the thread
    sleeps on the group's descriptor, and one wake-up delivers what is ready across all clients.
    latency_budget_us (an OpenRTMS extension; 0, the default, wakes at once) lets the core hold a
    wake-up that would come sooner than that after the previous one, so a loop busy with many
    streams wakes at most once per budget. Media cross from the core in one batch per wake-up
    (rtms_group_set_media_batch) and reach each client's callbacks in order; a client's leave()
    on another thread waits while the loop is delivering (then its callbacks are over)."""

    def __init__(self, poll_interval: float = 0.01, name: Optional[str] = None, latency_budget_us: int = 0):
        if not isinstance(latency_budget_us, int) or isinstance(latency_budget_us, bool):
            raise TypeError("latency_budget_us must be an int")
        self._group = _native.rtms_group_create(latency_budget_us)
        if not self._group:
            error = _native.last_error()
            kind = _native.RTMSArgumentError if "latency_budget_us" in error else RTMSException
            raise kind("EventLoop", RTMS_SDK_INVALID_ARGS if kind is not RTMSException else RTMS_SDK_FAILURE, error)
        self._batches = MediaBatches(self._group)   # media: one crossing per poll
        self._poll_interval = poll_interval
        self.name = name or "rtms-eventloop"
        self._clients: List["Client"] = []
        self._clients_lock = threading.Lock()
        self._pending: List["Client"] = []
        self._pending_lock = threading.Lock()
        self._running = False
        self._stop_event = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._rfd, selectors.EVENT_READ, None)
        self._selector.register(_native.rtms_group_get_wake_fd(self._group), selectors.EVENT_READ, "group")
        self._dirty = True
        self._next_prune = 0.0
        self._implicit = False   # started by a join, ends with its last client

    def __del__(self) -> None:
        # No client refers to this loop any more (a member keeps its loop): the group is empty.
        group = getattr(self, "_group", None)
        if group:
            _native.rtms_group_release(group)
        _close_quietly(getattr(self, "_selector", None), getattr(self, "_rfd", -1), getattr(self, "_wfd", -1))

    @property
    def client_count(self) -> int:
        with self._clients_lock, self._pending_lock:
            return len(self._clients) + len(self._pending)

    def _kick(self) -> None:
        try:
            os.write(self._wfd, b"x")
        except (BlockingIOError, OSError):
            pass

    def add(self, client: "Client") -> None:
        client._assigned_loop = self
        with self._pending_lock:
            if client not in self._pending:
                self._pending.append(client)
        self._kick()

    def _alive(self) -> bool:
        """Still delivering (an implicit loop ends when its last client leaves)."""
        return self._thread is None or self._thread.is_alive()

    def _drain_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, []
        for client in pending:
            if client._assigned_loop is not self or client._left:
                continue  # moved to another loop, or left before its join ran
            if client._pending_join_params is None:
                # add() came first; join() has not been called yet: keep waiting for it.
                with self._pending_lock:
                    self._pending.append(client)
                continue
            try:
                if not client._running:
                    client._do_alloc_and_join()
                client._join_group(self)
                with self._clients_lock:
                    if client not in self._clients:
                        self._clients.append(client)
            except Exception as e:
                # Refused by the core now (the stream is live in this process, ...): said, and
                # the client released, so that nothing keeps a handle nobody polls.
                log_error("eventloop", "Failed to alloc/join client: %s" % e)
                client.leave()

    def _prune(self) -> None:
        """Forgets clients that left or moved (their handles left the group with them)."""
        with self._clients_lock:
            self._clients = [c for c in self._clients if c._running and c._assigned_loop is self]
        self._dirty = False
        self._next_prune = time.monotonic() + 1.0

    def _deliver(self) -> None:
        """Every ready client's events, through its callbacks, on this thread."""
        _native.rtms_group_poll(self._group, 0, 0)

    def _drain_kicks(self) -> None:
        _drain_pipe(self._rfd)
        self._dirty = True   # a join, a leave or a stop

    def _poll_ready(self, timeout: Optional[float]) -> None:
        if self._dirty or time.monotonic() >= self._next_prune:
            self._prune()
        try:
            events = [key.data for key, _ in self._selector.select(timeout)]
        except (OSError, ValueError):
            events = [None, "group"]
        for what in events:
            if what is None:
                self._drain_kicks()
            else:
                self._deliver()

    def _idle(self, stop_on_empty: bool) -> bool:
        return stop_on_empty and self.client_count == 0

    def run(self, stop_on_empty: bool = False) -> None:
        """Blocks, delivering events, until stop() (or, with stop_on_empty, all clients left)."""
        self._running = True
        try:
            while self._running and not self._stop_event.is_set():
                self._drain_pending()
                if self._idle(stop_on_empty):
                    break
                # Wake-ups come from the descriptors; the timeout only re-checks leave() from
                # other threads and pending joins without a kick.
                self._poll_ready(max(self._poll_interval, 0.25) if (stop_on_empty or self._pending) else 1.0)
        finally:
            self._running = False

    async def run_async(self, stop_on_empty: bool = False) -> None:
        """The same on an asyncio loop: the descriptors are watched with add_reader."""
        loop = asyncio.get_running_loop()
        self._running = True
        changed = asyncio.Event()

        def kicked() -> None:
            self._drain_kicks()
            changed.set()

        group_fd = _native.rtms_group_get_wake_fd(self._group)
        loop.add_reader(self._rfd, kicked)
        loop.add_reader(group_fd, self._deliver)
        try:
            while self._running and not self._stop_event.is_set():
                self._drain_pending()
                self._prune()
                if self._idle(stop_on_empty):
                    break
                changed.clear()
                try:
                    await asyncio.wait_for(changed.wait(), timeout=0.25 if (stop_on_empty or self._pending) else 1.0)
                except asyncio.TimeoutError:
                    pass
        finally:
            loop.remove_reader(group_fd)
            loop.remove_reader(self._rfd)
            self._running = False

    def start(self, stop_on_empty: bool = False) -> "EventLoop":
        self._stop_event.clear()
        self._thread = threading.Thread(target=self.run, args=(stop_on_empty,), name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._stop_event.set()
        self._kick()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class EventLoopPool:
    """N loops; clients go to the least loaded (or round robin)."""

    def __init__(self, threads: int = 4, poll_interval: float = 0.01, strategy: str = "least_loaded",
                 latency_budget_us: int = 0):
        if not isinstance(threads, int) or threads < 1:
            raise ValueError("threads must be a positive integer")
        if strategy not in ("least_loaded", "round_robin"):
            raise ValueError("strategy must be 'least_loaded' or 'round_robin'")
        self._loops = [EventLoop(poll_interval, "rtms-pool-%d" % i, latency_budget_us) for i in range(threads)]
        self._strategy = strategy
        self._next = 0

    @property
    def loops(self) -> List[EventLoop]:
        return list(self._loops)

    @property
    def client_count(self) -> int:
        return sum(l.client_count for l in self._loops)

    def add(self, client: "Client") -> EventLoop:
        if self._strategy == "round_robin":
            loop = self._loops[self._next % len(self._loops)]
            self._next += 1
        else:
            loop = min(self._loops, key=lambda l: l.client_count)
        loop.add(client)
        return loop

    def run(self, stop_on_empty: bool = False) -> None:
        for l in self._loops[:-1]:
            l._thread = threading.Thread(target=l.run, args=(stop_on_empty,), name=l.name, daemon=True)
            l._thread.start()
        self._loops[-1].run(stop_on_empty)
        for l in self._loops[:-1]:
            l.join()

    async def run_async(self, stop_on_empty: bool = False) -> None:
        await asyncio.gather(*(l.run_async(stop_on_empty) for l in self._loops))

    def stop(self) -> None:
        for l in self._loops:
            l.stop()


# --------------------------------------------------------------------------------------------
# Webhooks: every decision is the core's intake (include/openrtms.h, "Webhook intake"): the path
# (query string ignored), 404/413/400/401, the signature and replay window, the validation
# challenge, dedupe of Zoom's retries, routing of rtms_started/interrupted/stopped to the live
# clients of this process, the queue of accepted events. Here: sockets, threads and Zoom's shapes.
# --------------------------------------------------------------------------------------------

class WebhookResponse:
    """Zoom's raw-callback response: set_status(), set_header(), send(data) (dict or list as JSON,
    str, bytes), once. What is sent is the HTTP answer to the request; a callback that sends
    nothing gets the core's answer (200 {"status":"ok"}) when it returns."""

    def __init__(self, handler: Any = None):
        self._handler = handler
        self._sent = False
        self._status = 200
        self._headers: Dict[str, str] = {"Content-Type": "application/json"}
        self._body: Any = None

    def set_status(self, code: int) -> None:
        self._status = int(code)

    def set_header(self, name: str, value: str) -> None:
        self._headers[name] = value

    def send(self, data: Any = None) -> None:
        if self._sent:
            return
        self._sent = True
        self._body = data
        if isinstance(data, bytes):
            raw = data
        elif isinstance(data, str):
            raw = data.encode("utf-8")
        elif data is None:
            raw = b""
        else:
            raw = json.dumps(data).encode("utf-8")
        h = self._handler
        if h is None:
            return
        h.send_response(self._status)
        for name, value in self._headers.items():
            if name.lower() != "content-length":
                h.send_header(name, value)
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)
        h.wfile.flush()


class WebhookHandler(http.server.BaseHTTPRequestHandler):
    """One request of the raw form's server, decided by the core's intake (WebhookServer._handle).
    The callback gets it as `request`, like Zoom's handler: `command`/`method`, `path` (with the
    query), `headers` (case-insensitive) and `body`, the raw bytes as received."""

    server_version = "OpenRTMS"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _answer(self, status: int, body: Any) -> None:
        r = WebhookResponse(self)
        r.set_status(status)
        r.send(body)

    def _serve(self) -> None:
        owner: "WebhookServer" = self.server.owner  # type: ignore[attr-defined]
        self.method = self.command
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            length = 0
        # At most one byte over the core's limit is read: enough for its 413.
        self.body = self.rfile.read(min(length, owner.max_body_bytes + 1)) if length else b""
        if len(self.body) < length:
            self.close_connection = True
        headers = "".join("%s: %s\r\n" % (k, v) for k, v in self.headers.items())
        try:
            status, reply, accepted = owner._handle(self.command, self.path, headers, self.body)
        except Exception as e:   # stopped meanwhile
            return self._answer(503, {"error": str(e)})
        if not accepted:
            return self._answer(status, reply)
        response = WebhookResponse(self)
        raw: RawWebhookCallback = owner.callback  # type: ignore[assignment]  # the raw form: three parameters
        try:
            raw(json.loads(accepted[0][1]), self, response)
        except Exception as e:
            log_error("webhook", "Error in webhook callback: %s" % e)
            traceback.print_exc()
            if not response._sent:
                response.set_status(500)
                response.send({"error": "Internal error: %s" % e})
        if not response._sent:
            self._answer(status, reply)

    do_POST = do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


class WebhookServer:
    """A webhook intake in the core, delivering each accepted event to callback(payload) on a thread.

    The raw form, callback(payload, request, response), writes the HTTP answer itself, which the
    core's listener cannot wait for (it answers before the application sees an event): that form
    is served by a threaded http.server here, and every request goes to the core's intake
    (rtms_webhook_create / rtms_webhook_handle), which decides and answers it, deduplicates
    retries and routes RTMS events to live clients; the callback gets what it accepted."""

    def __init__(self, port: int = 8080, path: str = "/", host: Optional[str] = None, secret: Optional[str] = None,
                 max_body_bytes: int = 1 << 20):
        self.port, self.path, self.host, self.secret = port, path, host, secret
        self.max_body_bytes = max_body_bytes
        self.callback: Optional[AnyWebhookCallback] = None
        self._wh: Optional[int] = None
        self._http: Optional[http.server.ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._cb_thunk: Any = None
        self._lock = threading.Lock()   # one request's handle and poll at a time (raw form)
        self._accepted: List[Tuple[str, bytes, bool]] = []

    def _options(self, port: int) -> "_native.rtms_webhook_options":
        o = _native.rtms_webhook_options()
        _native.rtms_webhook_options_init(o, 1)
        o.port = int(port)
        o.path = _native._b(self.path)
        o.host = _native._b(self.host)
        o.secret_token = _native._b(self.secret)   # None: ZM_RTMS_WEBHOOK_SECRET; "": no check
        o.max_body_bytes = int(self.max_body_bytes)
        return o

    def _intake(self, open_intake: Callable[[Any], Any], port: int, deliver: Callable[..., None]) -> Any:
        """An intake of the core (rtms_webhook_start or rtms_webhook_create) that gives what it
        accepts to deliver(wh, event, body, size, routed, user_data); None if it did not start."""
        wh = open_intake(self._options(port))
        if not wh:
            log_error("webhook", "Error starting webhook server: %s" % _native.last_error())
            return None
        self._cb_thunk = _native.WebhookCB(deliver)
        _native.rtms_webhook_set_callback(wh, self._cb_thunk, None)
        return wh

    def _start_raw(self, callback: RawWebhookCallback) -> bool:
        def collect(_wh: Any, event: bytes, body: Any, size: int, routed: int, _ud: Any) -> None:
            self._accepted.append((event.decode("utf-8", "replace"), ctypes.string_at(body, size), bool(routed)))

        wh = self._intake(_native.rtms_webhook_create, -1, collect)
        if not wh:
            return False
        try:
            srv = http.server.ThreadingHTTPServer((self.host or "0.0.0.0", int(self.port)), WebhookHandler)
        except OSError as e:
            _native.rtms_webhook_stop(wh)
            log_error("webhook", "Error starting webhook server: %s" % e)
            return False
        srv.daemon_threads = True
        cert, key = os.getenv("ZM_RTMS_CERT"), os.getenv("ZM_RTMS_KEY")
        if cert and key:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            if os.getenv("ZM_RTMS_CA_WEBHOOK"):
                ctx.load_verify_locations(os.getenv("ZM_RTMS_CA_WEBHOOK"))
                ctx.verify_mode = ssl.CERT_REQUIRED
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        srv.owner = self  # type: ignore[attr-defined]
        self.callback = callback
        self._wh = wh
        self._http = srv
        self.port = srv.server_address[1]
        self._thread = threading.Thread(target=srv.serve_forever, name="rtms-webhook", daemon=True)
        self._thread.start()
        log_info("webhook", "Listening for webhook events at http%s://localhost:%d%s" % (
            "s" if cert and key else "", self.port, self.path))
        return True

    def _handle(self, method: str, uri: str, headers: str,
                body: bytes) -> Tuple[int, str, List[Tuple[str, bytes, bool]]]:
        """One request of the raw form's server through the core's intake (rtms_webhook_handle):
        (status, reply body, accepted), accepted being the [(event, body bytes, routed)] it took
        (one, or none: a duplicate, a refusal, the validation challenge)."""
        reply = ctypes.c_void_p()
        with self._lock:
            if not self._wh:
                raise RuntimeError("the webhook server is stopped")
            status = _native.rtms_webhook_handle(self._wh, _native._b(method), _native._b(uri), _native._b(headers),
                                                 body, len(body), ctypes.byref(reply))
            if status < 0:
                raise RTMSException("webhook", -status, _native.last_error())
            try:
                text = ctypes.string_at(reply).decode("utf-8")
            finally:
                _native.rtms_free(reply)
            self._accepted = []
            _native.rtms_webhook_poll(self._wh, 0, 0)
            accepted, self._accepted = self._accepted, []
        return status, text, accepted

    def start(self, callback: AnyWebhookCallback) -> bool:
        """Starts the intake: callback(payload) for every event it accepts, or Zoom's raw form
        callback(payload, request, response) (three parameters or more)."""
        if self._wh or self._http:
            return False
        if len(inspect.signature(callback).parameters) >= 3:
            return self._start_raw(callback)  # type: ignore[arg-type]  # told apart by arity, as Zoom's
        simple: WebhookCallback = callback  # type: ignore[assignment]  # fewer than three parameters

        def deliver(_wh: Any, event: bytes, body: Any, size: int, routed: int, _ud: Any) -> None:
            try:
                payload = json.loads(ctypes.string_at(body, size).decode("utf-8"))
            except ValueError:
                return
            try:
                simple(payload)
            except Exception as e:
                log_error("webhook", "Error in webhook callback: %s" % e)
                traceback.print_exc()

        wh = self._intake(_native.rtms_webhook_start, self.port, deliver)
        if not wh:
            return False
        self.callback = callback
        self._wh = wh
        self.port = int(_native.rtms_webhook_port(wh))
        self._thread = threading.Thread(target=self._serve, args=(wh,), name="rtms-webhook", daemon=True)
        self._thread.start()
        log_info("webhook", "Listening for webhook events at http://localhost:%d%s" % (self.port, self.path))
        return True

    def _serve(self, wh: int) -> None:
        while _native.rtms_webhook_poll(wh, 0, -1) >= 0:
            pass

    def wait_started(self, rtms_stream_id: Optional[str] = None, timeout_ms: int = -1) -> Optional[WebhookPayload]:
        """The next rtms_started body for a stream no client here has joined (None on timeout)."""
        if not self._wh:
            raise RuntimeError("the webhook server is not running")
        out = ctypes.c_void_p()
        n = _native.rtms_webhook_wait_started(self._wh, _native._b(rtms_stream_id), int(timeout_ms), ctypes.byref(out))
        if n < 0:
            return None
        body: WebhookPayload = json.loads(_native.taken_string("wait_started", n, out))
        return body

    def stats(self) -> Dict[str, int]:
        """Every counter of struct rtms_webhook_stats (version 2), by its C name."""
        if not self._wh:
            return {}
        s = _native.rtms_webhook_stats()
        s.version = 2
        _native.rtms_webhook_get_stats(self._wh, ctypes.byref(s))
        return {f[0]: int(getattr(s, f[0])) for f in _native.rtms_webhook_stats._fields_ if f[0] != "version"}

    def stop(self) -> None:
        srv, self._http = self._http, None
        if srv is not None:
            if self._thread is not threading.current_thread():
                srv.shutdown()
            srv.server_close()
        with self._lock:   # not while a request of the raw form is in the core
            wh, self._wh = self._wh, None
        if wh:
            _native.rtms_webhook_stop(wh)
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(5)


def _webhook_server_at(port: Optional[int], path: Optional[str]) -> WebhookServer:
    """A WebhookServer on port and path, else ZM_RTMS_PORT (8080) and ZM_RTMS_PATH ("/"), with
    ZM_RTMS_WEBHOOK_SECRET."""
    return WebhookServer(port if port is not None else int(os.getenv("ZM_RTMS_PORT", "8080")),
                         path or str(os.getenv("ZM_RTMS_PATH", "/")), secret=os.getenv("ZM_RTMS_WEBHOOK_SECRET"))


_W = TypeVar("_W", bound=AnyWebhookCallback)
_F = TypeVar("_F", bound=Callable[..., object])


@overload
def onWebhookEvent(callback: _W, port: Optional[int] = None, path: Optional[str] = None) -> _W: ...
@overload
def onWebhookEvent(callback: None = None, port: Optional[int] = None,
                   path: Optional[str] = None) -> Callable[[_W], _W]: ...


def onWebhookEvent(callback: Optional[AnyWebhookCallback] = None, port: Optional[int] = None,
                   path: Optional[str] = None) -> Any:
    """Starts the process's webhook intake (once) and calls callback(payload) for every event
    (or Zoom's raw form callback(payload, request, response)). Decorator with or without
    arguments, or a direct call; returns the callback (or the decorator)."""
    def start(func: AnyWebhookCallback) -> AnyWebhookCallback:
        global _webhook_server
        if _webhook_server is None:
            _webhook_server = _webhook_server_at(port, path)
        if not _webhook_server.start(func):
            log_warn("webhook", "webhook server already running or could not start")
        return func

    return start(callback) if callback is not None and callable(callback) else start


on_webhook_event = onWebhookEvent

# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The asyncio loop running on this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Client(_ClientBase):
    """One RTMS stream. Callbacks may be registered before join(); data callbacks may be
    coroutine functions (run on the asyncio loop current at registration) or go to an executor."""

    _sdk_initialized = False

    def __init__(self, executor: Optional[Executor] = None):
        super().__init__()
        self._polling_interval = 10
        self._running = False
        self._left = False
        self._pending_join_params: Optional[Dict[str, Any]] = None
        self._webhook_server: Optional[WebhookServer] = None
        self._executor = executor
        self._assigned_loop: Optional[EventLoop] = None
        self._participant_video_callback: Optional[ParticipantVideoCallback] = None
        self._video_subscribed_callback: Optional[VideoSubscribedCallback] = None
        self._loop = _running_loop()
        with _clients_lock:
            _clients[id(self)] = self

    # -- join ------------------------------------------------------------------------------

    def join(self, meeting_uuid: Union[str, WebhookPayload, None] = None,  # type: ignore[override]  # Zoom's
             webinar_uuid: Optional[str] = None, session_id: Optional[str] = None,
             engagement_id: Optional[str] = None, rtms_stream_id: Optional[str] = None,
             server_urls: Optional[str] = None, signature: Optional[str] = None, timeout: int = -1,
             ca: Optional[str] = None, client: Optional[str] = None, secret: Optional[str] = None,
             poll_interval: int = 10, **kwargs: Any) -> bool:
        """Joins with keywords, positionally, or with the webhook payload dict as first argument.
        The instance id is the first of meeting_uuid, webinar_uuid, session_id, engagement_id,
        call_id. Returns True; the outcome arrives as on_join_confirm."""
        params: Dict[str, Any] = dict(
            meeting_uuid=meeting_uuid, webinar_uuid=webinar_uuid, session_id=session_id, engagement_id=engagement_id,
            rtms_stream_id=rtms_stream_id, server_urls=server_urls, signature=signature, timeout=timeout, ca=ca,
            client=client, secret=secret, poll_interval=poll_interval)
        params.update(kwargs)
        if isinstance(meeting_uuid, dict):
            explicit = {k: v for k, v in params.items() if k != "meeting_uuid" and v is not None
                        and not (k == "timeout" and v == -1) and not (k == "poll_interval" and v == 10)}
            params = dict(meeting_uuid)
            if isinstance(params.get("payload"), dict):
                params = dict(params["payload"])
            params.update(explicit)
        for key in _JOIN_KEYS:
            v = params.get(key)
            if v is not None and not isinstance(v, str):
                raise TypeError("%s must be a string, not %s" % (key, type(v).__name__))
        # The core's rules (rtms_resolve_join), here on the caller's thread: bad input raises now
        # (ValueError, EnvironmentError without credentials); the join itself happens on the
        # client's loop (_do_alloc_and_join), as in Zoom's wrapper; its outcome is on_join_confirm.
        _native.resolve_join(_join_payload(params))
        self._pending_join_params = params
        self._left = False
        loop = self._assigned_loop
        if loop is not None and loop._alive():
            loop.add(self)   # also after a leave: the loop dropped the client then
            return True
        if _default_loop is not None:
            _default_loop.add(self)
            return True
        # A thread of its own that ends when the client leaves.
        loop = EventLoop(poll_interval=(params.get("poll_interval") or 10) / 1000.0, name="rtms-implicit")
        loop._implicit = True
        loop.add(self)
        loop.start(stop_on_empty=True)
        return True

    def _do_alloc_and_join(self) -> None:
        """On the loop thread: initialize once, alloc, join (Zoom's wrapper's internals)."""
        params = self._pending_join_params
        if params is None:
            raise RuntimeError("_do_alloc_and_join called with no pending join params")
        r = _native.resolve_join(_join_payload(params))
        self._polling_interval = params.get("poll_interval", 10)
        _ensure_initialized(params.get("ca"))
        super().alloc()
        timeout = params.get("timeout", -1)
        super().join(r["instance_id"], r["rtms_stream_id"], r["signature"], r["server_urls"],
                     -1 if timeout is None else timeout)
        self._running = True

    def poll(self) -> None:
        if self._running:
            try:
                super().poll()
            except Exception as e:
                log_error("client", "Error during polling: %s" % e)

    # -- leave ------------------------------------------------------------------------------

    def leave(self) -> bool:
        """Leaves the stream and frees the handle (any thread; also inside a callback)."""
        try:
            self._running, self._left = False, True
            if self._assigned_loop is not None and self._assigned_loop._implicit:
                self._assigned_loop = None   # it ends now; a later join starts another
            with _clients_lock:
                _clients.pop(id(self), None)
            if self._webhook_server is not None:
                self._webhook_server.stop()
                self._webhook_server = None
            super().release()
            if self._assigned_loop is not None:
                self._assigned_loop._kick()
            return True
        except Exception as e:
            log_error("client", "Error leaving: %s" % e)
            return False

    def stop(self) -> bool:
        return self.leave()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: Any) -> Literal[False]:
        self.leave()
        return False

    # -- data callbacks: executor and coroutine dispatch -------------------------------------

    def _wrap_callback(self, callback: Callable[..., object]) -> Callable[..., object]:
        if callback is None:
            return None
        if inspect.iscoroutinefunction(callback):
            loop = self._loop or _running_loop()

            def run_coroutine(*args: Any) -> None:
                if loop is not None and loop.is_running():
                    asyncio.run_coroutine_threadsafe(callback(*args), loop)
                else:
                    asyncio.run(callback(*args))
            return run_coroutine
        executor = self._executor or _run_executor
        if executor is not None:
            def submit(*args: Any) -> None:
                executor.submit(callback, *args)
            return submit
        return callback

    # The registrars return the callback given, so `@client.on_transcript_data` keeps the
    # function bound to its name (Zoom's return None).

    def _data(self, register: Callable[[Any], object], callback: _F) -> _F:
        register(self._wrap_callback(callback))
        return callback

    def on_audio_data(self, callback: AudioDataCallback) -> AudioDataCallback:
        return self._data(super().on_audio_data, callback)

    def on_video_data(self, callback: VideoDataCallback) -> VideoDataCallback:
        return self._data(super().on_video_data, callback)

    def on_deskshare_data(self, callback: DeskshareDataCallback) -> DeskshareDataCallback:
        return self._data(super().on_deskshare_data, callback)

    def on_transcript_data(self, callback: TranscriptDataCallback) -> TranscriptDataCallback:
        return self._data(super().on_transcript_data, callback)

    def on_chat_data(self, callback: ChatDataCallback) -> ChatDataCallback:
        return self._data(super().on_chat_data, callback)

    onAudioData, onVideoData, onDeskshareData = on_audio_data, on_video_data, on_deskshare_data
    onTranscriptData, onChatData = on_transcript_data, on_chat_data

    # -- passthroughs through super() (Zoom's tests patch the native base) -------------------

    def set_audio_params(self, params: AudioParams) -> None: super().set_audio_params(params)
    def set_video_params(self, params: VideoParams) -> None: super().set_video_params(params)
    def set_deskshare_params(self, params: DeskshareParams) -> None: super().set_deskshare_params(params)
    def set_transcript_params(self, params: TranscriptParams) -> None: super().set_transcript_params(params)
    def set_proxy(self, proxy_type: str, proxy_url: str) -> None: super().set_proxy(proxy_type, proxy_url)
    def subscribe_video(self, user_id: int, subscribe: bool) -> None: super().subscribe_video(user_id, subscribe)
    def subscribe_event(self, events: EventTypes) -> bool: return super().subscribe_event(events)
    def unsubscribe_event(self, events: EventTypes) -> bool: return super().unsubscribe_event(events)

    setAudioParams, setVideoParams, setDeskshareParams = set_audio_params, set_video_params, set_deskshare_params
    setTranscriptParams, setProxy, subscribeVideo = set_transcript_params, set_proxy, subscribe_video
    subscribeEvent, unsubscribeEvent = subscribe_event, unsubscribe_event

    def on_participant_video(self, callback: ParticipantVideoCallback) -> ParticipantVideoCallback:
        self._participant_video_callback = callback
        return super().on_participant_video(callback)

    def on_video_subscribed(self, callback: VideoSubscribedCallback) -> VideoSubscribedCallback:
        self._video_subscribed_callback = callback
        return super().on_video_subscribed(callback)

    onParticipantVideo, onVideoSubscribed = on_participant_video, on_video_subscribed

    # -- typed events: the core's typed callbacks (rtms_ext_ops), in Zoom's argument shapes ----
    # on_participant_event(cb("join"|"leave", timestamp, [{"user_id", "user_name"}, ...])),
    # on_active_speaker_event(cb(timestamp, user_id, user_name)),
    # on_sharing_event(cb("start", timestamp, user_id, user_name) | cb("stop", timestamp, None, None)),
    # on_media_connection_interrupted(cb(timestamp)). Each subscribes its event types.
    # These return the callback too (truthy, where Zoom's return True), for decorator use.

    def _typed(self, name: str, callback: _F, events: List[int]) -> _F:
        if not callable(callback):
            raise TypeError("Function argument expected")
        self._set(name, callback)
        try:
            self.subscribe_event(events)
        except Exception as e:
            log_warn("client", "could not subscribe to events %s: %s" % (events, e))
        return callback

    def on_participant_event(self, callback: ParticipantEventCallback) -> ParticipantEventCallback:
        return self._typed("participant_event", callback, [EVENT_PARTICIPANT_JOIN, EVENT_PARTICIPANT_LEAVE])

    def on_active_speaker_event(self, callback: ActiveSpeakerEventCallback) -> ActiveSpeakerEventCallback:
        return self._typed("active_speaker", callback, [EVENT_ACTIVE_SPEAKER_CHANGE])

    def on_sharing_event(self, callback: SharingEventCallback) -> SharingEventCallback:
        return self._typed("sharing", callback, [EVENT_SHARING_START, EVENT_SHARING_STOP])

    def on_media_connection_interrupted(
            self, callback: MediaConnectionInterruptedCallback) -> MediaConnectionInterruptedCallback:
        return self._typed("media_interrupted", callback, [EVENT_MEDIA_CONNECTION_INTERRUPTED])

    def on_event_ex(self, callback: EventExCallback) -> EventExCallback:
        if not callable(callback):
            raise TypeError("Function argument expected")
        return super().on_event_ex(callback)

    onParticipantEvent, onActiveSpeakerEvent, onSharingEvent = on_participant_event, on_active_speaker_event, on_sharing_event
    onMediaConnectionInterrupted, onEventEx = on_media_connection_interrupted, on_event_ex

    # -- per-client webhook intake -------------------------------------------------------------

    @overload
    def on_webhook_event(self, callback: _W, port: Optional[int] = None, path: Optional[str] = None) -> _W: ...
    @overload
    def on_webhook_event(self, callback: None = None, port: Optional[int] = None,
                         path: Optional[str] = None) -> Callable[[_W], _W]: ...

    def on_webhook_event(self, callback: Optional[AnyWebhookCallback] = None, port: Optional[int] = None,
                         path: Optional[str] = None) -> Any:
        """This client's own webhook intake (stopped by leave()); as rtms.on_webhook_event."""
        def start(func: AnyWebhookCallback) -> AnyWebhookCallback:
            if self._webhook_server is None:
                self._webhook_server = _webhook_server_at(port, path)
            self._webhook_server.start(func)
            return func

        return start(callback) if callback is not None and callable(callback) else start

    onWebhookEvent = on_webhook_event


# --------------------------------------------------------------------------------------------
# The default loop
# --------------------------------------------------------------------------------------------

class _DefaultLoop:
    """The module's default loop for the time run()/run_async() runs."""

    def __init__(self, poll_interval: float, executor: Optional[Executor]):
        self.poll_interval, self.executor = poll_interval, executor

    def __enter__(self) -> "EventLoop":
        global _default_loop, _running, _run_executor
        _run_executor = self.executor
        _default_loop = EventLoop(poll_interval=self.poll_interval, name="rtms-default")
        _running = True
        _stop_event.clear()
        return _default_loop

    def __exit__(self, *_: Any) -> Literal[False]:
        global _default_loop, _running, _run_executor
        _running = False
        _default_loop = None
        _run_executor = None
        return False


def run(poll_interval: float = 0.01, stop_on_empty: bool = False, executor: Optional[Executor] = None) -> None:
    """Runs the default loop on this thread: clients that join() meanwhile are delivered here."""
    with _DefaultLoop(poll_interval, executor) as loop:
        loop.run(stop_on_empty=stop_on_empty)


async def run_async(poll_interval: float = 0.01, stop_on_empty: bool = False,
                    executor: Optional[Executor] = None) -> None:
    """run() as a coroutine: the clients' descriptors are watched by the asyncio loop."""
    with _DefaultLoop(poll_interval, executor) as loop:
        await loop.run_async(stop_on_empty=stop_on_empty)


def stop() -> None:
    global _running
    _running = False
    _stop_event.set()
    if _default_loop is not None:
        _default_loop.stop()


# The fleet (rtms_fleet_*): defined in its own module, on top of Client.
from ._fleet import Fleet, FleetStream  # noqa: E402

__all__ = [
    "Client", "EventLoop", "EventLoopPool", "Fleet", "FleetStream", "Session", "Participant", "AiTargetLanguage", "AiInterpreter", "Metadata",
    "AudioParams", "VideoParams", "DeskshareParams", "TranscriptParams", "LogLevel", "LogFormat",
    "MEDIA_TYPE_AUDIO", "MEDIA_TYPE_VIDEO", "MEDIA_TYPE_DESKSHARE", "MEDIA_TYPE_TRANSCRIPT", "MEDIA_TYPE_CHAT",
    "MEDIA_TYPE_ALL", "SESSION_EVENT_ADD", "SESSION_EVENT_STOP", "SESSION_EVENT_PAUSE", "SESSION_EVENT_RESUME",
    "USER_JOIN", "USER_LEAVE", "EVENT_UNDEFINED", "EVENT_FIRST_PACKET_TIMESTAMP", "EVENT_ACTIVE_SPEAKER_CHANGE",
    "EVENT_PARTICIPANT_JOIN", "EVENT_PARTICIPANT_LEAVE", "EVENT_SHARING_START", "EVENT_SHARING_STOP",
    "EVENT_MEDIA_CONNECTION_INTERRUPTED", "EVENT_PARTICIPANT_VIDEO_ON", "EVENT_PARTICIPANT_VIDEO_OFF",
    "EVENT_CONSUMER_ANSWERED", "EVENT_CONSUMER_END", "EVENT_USER_ANSWERED", "EVENT_USER_END", "EVENT_USER_HOLD",
    "EVENT_USER_UNHOLD", "RTMS_SDK_FAILURE", "RTMS_SDK_OK", "RTMS_SDK_TIMEOUT", "RTMS_SDK_NOT_EXIST",
    "RTMS_SDK_WRONG_TYPE", "RTMS_SDK_INVALID_STATUS", "RTMS_SDK_INVALID_ARGS", "RTMS_SDK_NO_CREDENTIALS", "SESS_STATUS_ACTIVE",
    "SESS_STATUS_PAUSED", "TranscriptLanguage", "AudioContentType", "AudioCodec", "AudioSampleRate", "AudioChannel",
    "DataOption", "AudioDataOption", "VideoContentType", "VideoCodec", "VideoResolution", "VideoDataOption",
    "MediaDataType", "SessionState", "StreamState", "EventType", "MessageType", "StopReason", "initialize",
    "uninitialize", "generate_signature", "onWebhookEvent", "on_webhook_event", "run", "run_async", "stop",
    "log_debug", "log_info", "log_warn", "log_error", "configure_logger",
    # Types (rtms/_types.py): Zoom's stub names, then ours.
    "EventParticipantInfo", "ParticipantEventCallback", "ActiveSpeakerEventCallback", "SharingEventCallback",
    "EventExCallback", "JoinConfirmCallback", "LeaveCallback", "SessionUpdateCallback", "UserUpdateCallback",
    "MediaDataCallback", "AudioDataCallback", "VideoDataCallback", "DeskshareDataCallback", "TranscriptDataCallback",
    "ChatDataCallback", "ParticipantVideoCallback", "VideoSubscribedCallback", "MediaConnectionInterruptedCallback",
    "ReconnectingCallback", "ReconnectedCallback", "StreamStateCallback", "ErrorCallback", "WebhookPayload",
    "WebhookCallback", "RawWebhookCallback", "AnyWebhookCallback", "FleetStreamHandler", "FleetRevokedHandler",
    "EventTypes",
]
