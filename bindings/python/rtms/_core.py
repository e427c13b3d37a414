"""Value classes (Session, Participant, Metadata, params) and NativeClient: one core handle.

NativeClient is what Zoom's package calls its native `_rtms.Client`: registrars store callbacks
(before or after alloc), alloc() creates the handle and applies everything buffered, poll()
delivers queued events on the calling thread. Callbacks receive Python values.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from ctypes import byref, c_int, c_void_p, cast, string_at
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Type, TypeVar, Union

from . import _native as N

if TYPE_CHECKING:
    from ._types import (ChatDataCallback, ErrorCallback, EventExCallback, JoinConfirmCallback, LeaveCallback,
                         MediaDataCallback, ParticipantVideoCallback, ReconnectedCallback, ReconnectingCallback,
                         SessionUpdateCallback, StreamStateCallback, UserUpdateCallback, VideoSubscribedCallback)

_CB = TypeVar("_CB", bound=Optional[Callable[..., object]])

EventTypes = Union[int, Sequence[int], Set[int]]
"""What subscribe_event / unsubscribe_event take: one EVENT_* value, or a list, tuple or set of them."""

# Zoom's Python constants (values as its package exports them).
SESS_STATUS_ACTIVE = 0
SESS_STATUS_PAUSED = 1


class Session:
    """A session of the stream (on_session_update). Read-only, camelCase like Zoom's."""

    __slots__ = ("sessionId", "streamId", "meetingId", "statTime", "status")

    def __init__(self, sessionId: str = "", streamId: str = "", meetingId: str = "", statTime: int = 0,
                 status: int = SESS_STATUS_ACTIVE):
        self.sessionId, self.streamId, self.meetingId = sessionId, streamId, meetingId
        self.statTime, self.status = statTime, status

    @property
    def isActive(self) -> bool:
        return self.status == SESS_STATUS_ACTIVE

    @property
    def isPaused(self) -> bool:
        return self.status == SESS_STATUS_PAUSED

    def __repr__(self) -> str:
        return "Session(sessionId=%r, streamId=%r, meetingId=%r, statTime=%d, status=%d)" % (
            self.sessionId, self.streamId, self.meetingId, self.statTime, self.status)


class Participant:
    __slots__ = ("id", "name")

    def __init__(self, id: int = 0, name: str = ""):
        self.id, self.name = id, name

    def __repr__(self) -> str:
        return "Participant(id=%d, name=%r)" % (self.id, self.name)


class AiTargetLanguage:
    __slots__ = ("lid", "toneId", "voiceId", "engine")

    def __init__(self, lid: int = 0, toneId: int = 0, voiceId: str = "", engine: str = ""):
        self.lid, self.toneId, self.voiceId, self.engine = lid, toneId, voiceId, engine


class AiInterpreter:
    __slots__ = ("lid", "timestamp", "channelNum", "sampleRate", "targets")

    def __init__(self, lid: int = 0, timestamp: int = 0, channelNum: int = 0, sampleRate: int = 0,
                 targets: Optional[List[AiTargetLanguage]] = None):
        self.lid, self.timestamp, self.channelNum, self.sampleRate = lid, timestamp, channelNum, sampleRate
        self.targets = targets or []


class Metadata:
    """Who and when for a media callback. userId is the wire's 32-bit id (unsigned)."""

    __slots__ = ("userName", "userId", "startTs", "endTs", "aiInterpreter", "channelId", "language")

    def __init__(self, userName: str = "", userId: int = 0, startTs: int = 0, endTs: int = 0,
                 aiInterpreter: Optional[AiInterpreter] = None, channelId: str = "", language: int = -1):
        self.userName, self.userId, self.startTs, self.endTs = userName, userId, startTs, endTs
        self.aiInterpreter = aiInterpreter or AiInterpreter()
        self.channelId, self.language = channelId, language

    def __repr__(self) -> str:
        return "Metadata(userName=%r, userId=%d, startTs=%d, endTs=%d)" % (
            self.userName, self.userId, self.startTs, self.endTs)


# --------------------------------------------------------------------------------------------
# Params: both spellings (content_type / contentType ...), validated in the core at join.
# --------------------------------------------------------------------------------------------

class _Params:
    _fields: Tuple[str, ...] = ()
    _camel: Dict[str, str] = {}
    _kind = ""            # "audio", "video", "deskshare" or "transcript"
    _struct: Any = None   # its C struct, whose fields are taken from ours by name
    _param = ""           # the struct's pointer in struct media_parameters

    def __init__(self, *args: Any, **kwargs: Any):
        defaults = self._defaults()
        if args and len(args) != len(self._fields):
            raise TypeError("%s() takes no arguments or all of (%s)" % (type(self).__name__, ", ".join(self._fields)))
        values = dict(zip(self._fields, args)) if args else dict(defaults)
        for k, v in kwargs.items():
            name = self._snake(k)
            if name not in self._fields:
                raise TypeError("%s has no field %r" % (type(self).__name__, k))
            values[name] = v
        for name in self._fields:
            object.__setattr__(self, name, values.get(name, defaults[name]))

    @classmethod
    def _snake(cls, name: str) -> str:
        for snake, camel in cls._camel.items():
            if name == camel:
                return snake
        return name

    # Hidden from type checkers, which see the fields each class declares (both spellings) and
    # so catch a misspelt one.
    if not TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:
            snake = self._snake(name)
            if snake != name:
                return getattr(self, snake)
            raise AttributeError("%s has no attribute %r" % (type(self).__name__, name))

        def __setattr__(self, name: str, value: Any) -> None:
            snake = self._snake(name)
            if snake not in self._fields:
                raise AttributeError("%s has no field %r" % (type(self).__name__, name))
            if snake == "enable_lid":
                value = bool(value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise TypeError("%s.%s must be an int, not %s" % (type(self).__name__, name, type(value).__name__))
            object.__setattr__(self, snake, value)

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (f, getattr(self, f)) for f in self._fields))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def _defaults(self) -> Dict[str, Any]:
        return _defaults_of(self._kind)

    def _c(self) -> Any:
        """The C struct of these parameters."""
        return self._struct(*[getattr(self, f) for f, _ in self._struct._fields_])


class AudioParams(_Params):
    """AudioParams() (Zoom's defaults), all seven fields positionally, or keywords."""

    _fields = ("content_type", "codec", "sample_rate", "channel", "data_opt", "duration", "frame_size")
    _camel = {"content_type": "contentType", "sample_rate": "sampleRate", "data_opt": "dataOpt", "frame_size": "frameSize"}
    _kind, _struct, _param = "audio", N.audio_parameters, "audio_param"
    content_type: int
    codec: int
    sample_rate: int
    channel: int
    data_opt: int
    duration: int
    frame_size: int

    if TYPE_CHECKING:
        contentType: int
        sampleRate: int
        dataOpt: int
        frameSize: int

        def __init__(self, content_type: int = 2, codec: int = 4, sample_rate: int = 3, channel: int = 2,
                     data_opt: int = 2, duration: int = 20, frame_size: int = 960) -> None: ...


class VideoParams(_Params):
    """VideoParams() (RAW_VIDEO, H264, HD, single active stream, 30 fps), all five fields, or keywords."""

    _fields = ("content_type", "codec", "resolution", "data_opt", "fps")
    _camel = {"content_type": "contentType", "data_opt": "dataOpt"}
    _kind, _struct, _param = "video", N.video_parameters, "video_param"
    content_type: int
    codec: int
    resolution: int
    data_opt: int
    fps: int

    if TYPE_CHECKING:
        contentType: int
        dataOpt: int

        def __init__(self, content_type: int = 3, codec: int = 7, resolution: int = 2, data_opt: int = 3,
                     fps: int = 30) -> None: ...


class DeskshareParams(_Params):
    """DeskshareParams() (as VideoParams), the four fields of Zoom's positional form, or keywords."""

    _fields = ("content_type", "codec", "resolution", "fps", "data_opt")
    _camel = {"content_type": "contentType", "data_opt": "dataOpt"}
    _kind, _struct, _param = "deskshare", N.ds_parameters, "ds_param"   # data_opt is not in the struct
    content_type: int
    codec: int
    resolution: int
    fps: int
    data_opt: int

    if TYPE_CHECKING:
        contentType: int
        dataOpt: int

        def __init__(self, content_type: int = 3, codec: int = 7, resolution: int = 2, fps: int = 30,
                     data_opt: int = 3) -> None: ...
    else:
        def __init__(self, *args: Any, **kwargs: Any):
            # Zoom's positional form has four fields; data_opt exists as a property only.
            if len(args) == 4:
                args = args + (3,)
            super().__init__(*args, **kwargs)


class TranscriptParams(_Params):
    """TranscriptParams() (TEXT, language NONE = detect, LID on), all three fields, or keywords."""

    _fields = ("content_type", "src_language", "enable_lid")
    _camel = {"content_type": "contentType", "src_language": "srcLanguage", "enable_lid": "enableLid"}
    _kind, _struct, _param = "transcript", N.transcript_parameters, "tr_param"
    content_type: int
    src_language: int
    enable_lid: bool

    if TYPE_CHECKING:
        contentType: int
        srcLanguage: int
        enableLid: bool

        def __init__(self, content_type: int = 5, src_language: int = -1, enable_lid: bool = True) -> None: ...


def _check(params: "_Params") -> None:
    """The core's rule for a parameter object (rtms_check_params), when it is set."""
    for f in params._fields:
        v = getattr(params, f)
        if isinstance(v, bool) or not isinstance(v, int):
            if f != "enable_lid":
                raise TypeError("%s.%s must be an int, not %s" % (type(params).__name__, f, type(v).__name__))
        elif not -2**31 <= v < 2**31:
            raise ValueError("%s.%s %d is out of range" % (type(params).__name__, f, v))
    mp = N.media_parameters()
    c = params._c()
    setattr(mp, params._param, ctypes.pointer(c))
    N.check("set params", N.rtms_check_params(byref(mp)))


_wrapper_defaults: Dict[str, Dict[str, Any]] = {}


def _defaults_of(kind: str) -> Dict[str, Any]:
    """Zoom's wrapper defaults, read once from the core (rtms_wrapper_defaults)."""
    global _wrapper_defaults
    if not _wrapper_defaults:
        a, v, d, t = N.audio_parameters(), N.video_parameters(), N.ds_parameters(), N.transcript_parameters()
        mp = N.media_parameters(ctypes.pointer(a), ctypes.pointer(v), ctypes.pointer(d), ctypes.pointer(t))
        N.check("defaults", N.rtms_wrapper_defaults(byref(mp)))
        read = {name: {f[0]: getattr(st, f[0]) for f in st._fields_}
                for name, st in (("audio", a), ("video", v), ("deskshare", d), ("transcript", t))}
        read["deskshare"]["data_opt"] = v.data_opt   # a Python-only field, as in Zoom's
        _wrapper_defaults = read   # whole at once: another thread sees none of it or all
    return dict(_wrapper_defaults[kind])


# --------------------------------------------------------------------------------------------
# NativeClient
# --------------------------------------------------------------------------------------------

_CALLBACK_NAMES = ("join_confirm", "session_update", "user_update", "audio_data", "video_data", "deskshare_data",
                   "transcript_data", "leave", "event_ex", "participant_video", "video_subscribed", "chat_data",
                   "reconnecting", "reconnected", "stream_state", "error",
                   # typed events (the core's rtms_ext_ops), in the shapes of Zoom's Python Client
                   "participant_event", "active_speaker", "sharing", "media_interrupted")

_init_lock = threading.Lock()


def _report(name: str, exc: BaseException) -> None:
    import sys
    import traceback
    sys.stderr.write("Error in %s callback: %s\n" % (name, exc))
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


# rtms_media_item as struct unpacks it: one call reads a whole batch's items.
_ITEM = struct.Struct("@PPPPQQQiiiiii")
assert _ITEM.size == ctypes.sizeof(N.rtms_media_item), "rtms_media_item layout"
# The media kinds by their bit (SDK_AUDIO = 1 << 0 .. SDK_CHAT = 1 << 4), and their callbacks.
_KINDS = ("audio", "video", "deskshare", "transcript", "chat")
_MEDIA_CALLBACKS = {1 << i: kind + "_data" for i, kind in enumerate(_KINDS)}
_user_names: Dict[bytes, str] = {}   # decoded once (up to 4096 of them)


def _metadata(user_name: bytes, user_id: int, start_ts: int, end_ts: int, channel_id: bytes, language: int) -> Metadata:
    """A media callback's metadata, from an rtms_metadata (one message) or an rtms_media_item (a
    batch): the names decoded, userId unsigned."""
    name = _user_names.get(user_name)
    if name is None:
        name = user_name.decode("utf-8", "replace")
        if len(_user_names) < 4096:
            _user_names[user_name] = name
    return Metadata(name, user_id & 0xFFFFFFFF, start_ts, end_ts, None, channel_id.decode("utf-8", "replace"), language)


# Allocated clients by their handle's address (alloc to release): whose a batch's message is.
_by_address: Dict[int, "NativeClient"] = {}


class MediaBatches:
    """The media messages of a delivery group's members, one crossing per poll
    (rtms_group_set_media_batch): each goes to its client's data callback with the arguments the
    per-message path gives."""

    def __init__(self, group: Any) -> None:
        self._thunk = N.MediaBatchCB(self._deliver)   # lives as long as this object (the group's owner)
        N.check("media batch", -N.rtms_group_set_media_batch(group, self._thunk, None))

    def _deliver(self, batch: Any, user: Any) -> None:
        b = batch.contents
        base = b.bytes
        blob = string_at(base, b.bytes_len)   # every payload and name of the batch, copied once
        members = _by_address
        for sdk, data, name, channel, ts, start, end, size, kind, uid, language, name_len, channel_len in \
                _ITEM.iter_unpack(string_at(b.items, b.count * _ITEM.size)):
            client = members.get(sdk)
            cb_name = _MEDIA_CALLBACKS.get(kind, "")
            cb = client._cbs.get(cb_name) if client is not None else None
            if cb is None or size <= 0:
                continue
            meta = _metadata(blob[name - base:name - base + name_len], uid, start, end,
                             blob[channel - base:channel - base + channel_len], language)
            try:
                cb(blob[data - base:data - base + size], size, ts, meta)
            except BaseException as e:  # not into the core, nor past the batch's other messages
                _report(cb_name, e)


class NativeClient:
    """One core handle. Registrars may be called before alloc(); alloc() applies them."""

    def __init__(self) -> None:
        self._sdk = None
        self._cbs: Dict[str, Optional[Callable[..., object]]] = {n: None for n in _CALLBACK_NAMES}
        self._types = 0
        self._params: Dict[str, Any] = {}
        self._proxy: Optional[Tuple[str, str]] = None
        self._events: List[int] = []
        self._native_lock = threading.RLock()
        self._ops: Optional[N.rtms_csdk_ops] = None
        self._ext: Optional[N.rtms_ext_ops] = None
        self._uuid = ""
        self._stream = ""
        self._group_owner: Any = None   # whose delivery group (rtms_group) this handle is in

    # -- lifecycle ---------------------------------------------------------------------------

    @staticmethod
    def initialize(ca_path: Optional[str] = None, is_verify_cert: int = 1, agent: Optional[str] = None) -> bool:
        N.check("initialize", N.rtms_init(N._b(ca_path or ""), int(is_verify_cert), N._b(agent)))
        return True

    @staticmethod
    def uninitialize() -> bool:
        N.rtms_uninit()
        return True

    def alloc(self) -> None:
        with self._native_lock:
            if self._sdk is not None:
                return
            sdk = N.rtms_alloc()
            if not sdk:
                raise N.RTMSException("alloc", N.RTMS_SDK_FAILURE, N.last_error())
            self._sdk = sdk
            _by_address[cast(sdk, c_void_p).value or 0] = self
            self._group_owner = None
            self._install_callbacks()
            if self._proxy:
                self._apply_proxy(*self._proxy)
            if self._events:
                self._apply_events(self._events, True)

    def is_allocated(self) -> bool:
        return self._sdk is not None

    def _configure(self) -> None:
        mp = N.media_parameters()
        keep = []
        for cls, kind in ((AudioParams, 1), (VideoParams, 2), (DeskshareParams, 4), (TranscriptParams, 8)):
            p = self._params.get(cls._kind)
            if p is None and self._types & kind and cls is not TranscriptParams:
                p = cls()
            if p is not None:
                c = p._c()
                keep.append(c)
                setattr(mp, cls._param, ctypes.pointer(c))
        N.check("config", N.rtms_config(self._sdk, byref(mp), self._types, 0))

    def join(self, uuid: str, stream_id: str, signature: str, server_urls: str, timeout: int = -1) -> bool:
        with self._native_lock:
            if self._sdk is None:
                raise RuntimeError("join: the client is not allocated (call alloc() first)")
            self._configure()
            N.check("join", N.rtms_join(self._sdk, N._b(uuid), N._b(stream_id), N._b(signature), N._b(server_urls),
                                        int(timeout)))
            self._remember_ids()
        return True

    def _remember_ids(self) -> None:
        """After a join (ours or the fleet's): the ids the core set in the handle's struct."""
        sdk = self._sdk
        if sdk:
            self._uuid, self._stream = N._s(sdk.contents.meeting_uuid), N._s(sdk.contents.rtms_stream_id)

    def poll(self) -> None:
        """Delivers pending events through the callbacks, on this thread; never waits."""
        sdk = self._sdk
        if sdk is not None:
            N.rtms_poll_ex(sdk, 0, 0)

    def release(self) -> None:
        # rtms_release() waits for a callback running on another thread; that callback may need
        # this lock (leave(), subscribe...), so the handle is taken under the lock and released
        # outside it.
        with self._native_lock:
            sdk, self._sdk, self._group_owner = self._sdk, None, None
        if sdk is not None:
            _by_address.pop(cast(sdk, c_void_p).value or 0, None)
            N.rtms_release(sdk)   # also takes it out of its group

    def _join_group(self, owner: Any) -> None:
        """Delivers this handle's events through owner._group (an rtms_group), leaving the group of
        its previous owner. The owner object is kept, so its group outlives the membership."""
        with self._native_lock:
            if self._sdk is None or self._group_owner is owner:
                return
            if self._group_owner is not None:
                N.rtms_group_remove(self._group_owner._group, self._sdk)
            rc = N.rtms_group_add(owner._group, self._sdk)
            if rc < 0:
                N.check("group_add", -rc)
            self._group_owner = owner

    def wake_fd(self) -> int:
        """A descriptor readable while events are pending (-1 before alloc); quiet while the client
        is in an EventLoop or a Fleet, whose delivery group signals instead."""
        sdk = self._sdk
        return N.rtms_get_wake_fd(sdk) if sdk is not None else -1

    def state(self) -> int:
        sdk = self._sdk
        return N.rtms_get_state(sdk) if sdk is not None else 0

    def stats(self) -> Dict[str, Any]:
        sdk = self._sdk
        if sdk is None:
            return {}
        s = N.rtms_stats()
        s.version = 1
        N.check("stats", N.rtms_get_stats(sdk, byref(s)))
        out = {name: getattr(s, name) for name, _ in N.rtms_stats._fields_ if name not in ("version", "media_messages")}
        out["media_messages"] = dict(zip(_KINDS, list(s.media_messages)))
        return out

    def failure(self) -> str:
        sdk = self._sdk
        if sdk is None:
            return ""
        buf = ctypes.create_string_buffer(1024)
        N.rtms_get_failure(sdk, buf, 1024)
        return N._s(buf.value)

    def uuid(self) -> str:
        return self._uuid

    def stream_id(self) -> str:
        return self._stream

    streamId = stream_id

    # -- media selection and params -----------------------------------------------------------

    def _enable(self, kind: int, on: bool) -> None:
        self._types = (self._types | kind) if on else (self._types & ~kind)

    def enable_audio(self, enable: bool = True) -> None: self._enable(1, enable)
    def enable_video(self, enable: bool = True) -> None: self._enable(2, enable)
    def enable_deskshare(self, enable: bool = True) -> None: self._enable(4, enable)
    def enable_transcript(self, enable: bool = True) -> None: self._enable(8, enable)
    def enable_chat(self, enable: bool = True) -> None: self._enable(16, enable)
    enableAudio, enableVideo, enableDeskshare, enableTranscript = enable_audio, enable_video, enable_deskshare, enable_transcript

    def _set_params(self, cls: Type["_Params"], params: "_Params") -> None:
        if not isinstance(params, cls):
            raise TypeError("%s expected, got %s" % (cls.__name__, type(params).__name__))
        copy = cls(*[getattr(params, f) for f in cls._fields])
        _check(copy)
        self._params[cls._kind] = copy

    def set_audio_params(self, params: AudioParams) -> None: self._set_params(AudioParams, params)
    def set_video_params(self, params: VideoParams) -> None: self._set_params(VideoParams, params)
    def set_deskshare_params(self, params: DeskshareParams) -> None: self._set_params(DeskshareParams, params)
    def set_transcript_params(self, params: TranscriptParams) -> None: self._set_params(TranscriptParams, params)

    setAudioParams, setVideoParams = set_audio_params, set_video_params
    setDeskshareParams, setTranscriptParams = set_deskshare_params, set_transcript_params

    def _apply_proxy(self, proxy_type: str, proxy_url: str) -> None:
        N.check("setProxy", N.rtms_set_proxy(self._sdk, N._b(proxy_type), N._b(proxy_url)))

    def set_proxy(self, proxy_type: str, proxy_url: str) -> None:
        if not isinstance(proxy_type, str) or not isinstance(proxy_url, str):
            raise TypeError("Two string arguments expected: proxy_type, proxy_url")
        with self._native_lock:
            if self._sdk is not None:
                self._apply_proxy(proxy_type, proxy_url)
            self._proxy = (proxy_type, proxy_url)

    setProxy = set_proxy

    # -- events --------------------------------------------------------------------------------

    @staticmethod
    def _event_list(events: EventTypes) -> List[int]:
        if isinstance(events, int) and not isinstance(events, bool):
            events = [events]
        if not isinstance(events, (list, tuple, set)) or not all(isinstance(e, int) and not isinstance(e, bool) for e in events):
            raise TypeError("Array of event types expected")
        return [int(e) for e in events]

    def _apply_events(self, events: List[int], on: bool) -> None:
        arr = (c_int * len(events))(*events)
        fn = N.rtms_subscribe_event if on else N.rtms_unsubscribe_event
        N.check("subscribeEvent" if on else "unsubscribeEvent", fn(self._sdk, arr, len(events)))

    def subscribe_event(self, events: EventTypes) -> bool:
        ev = self._event_list(events)
        with self._native_lock:
            for e in ev:
                if e not in self._events:
                    self._events.append(e)
            if self._sdk is not None and ev:
                self._apply_events(ev, True)
        return True

    def unsubscribe_event(self, events: EventTypes) -> bool:
        ev = self._event_list(events)
        with self._native_lock:
            self._events = [e for e in self._events if e not in ev]
            if self._sdk is not None and ev:
                self._apply_events(ev, False)
        return True

    subscribeEvent, unsubscribeEvent = subscribe_event, unsubscribe_event

    def subscribe_video(self, user_id: int, subscribe: bool) -> None:
        if not isinstance(user_id, int) or not isinstance(subscribe, bool):
            raise TypeError("Two arguments expected: userId (number), subscribe (boolean)")
        if self._sdk is None:
            raise RuntimeError("subscribe_video: the client is not joined")
        N.check("subscribeVideo", N.rtms_send_subscript_video(self._sdk, ctypes.c_int32(user_id & 0xFFFFFFFF).value,
                                                              1 if subscribe else 0))

    subscribeVideo = subscribe_video

    # -- callback registrars (work before alloc; data registrars enable their media) ----------
    # Each returns the callback, so that `@client.on_audio_data` leaves the function bound to
    # its name (Zoom's return None there).

    def _set(self, name: str, cb: _CB, events: Sequence[int] = ()) -> _CB:
        """Registers cb (None unregisters) and, with events, subscribes to them; returns cb."""
        if cb is not None and not callable(cb):
            raise TypeError("Function argument expected")
        self._cbs[name] = cb
        if cb is not None and events:
            self.subscribe_event(list(events))
        return cb

    def _set_data(self, name: str, kind: int, cb: _CB) -> _CB:
        self._enable(kind, self._set(name, cb) is not None)
        return cb

    # None unregisters (not in the types: Zoom's stub takes a callable).
    def on_join_confirm(self, callback: JoinConfirmCallback) -> JoinConfirmCallback:
        return self._set("join_confirm", callback)

    def on_session_update(self, callback: SessionUpdateCallback) -> SessionUpdateCallback:
        return self._set("session_update", callback)

    def on_user_update(self, callback: UserUpdateCallback) -> UserUpdateCallback:
        return self._set("user_update", callback, [2, 3, 4])

    def on_audio_data(self, callback: MediaDataCallback) -> MediaDataCallback:
        return self._set_data("audio_data", 1, callback)

    def on_video_data(self, callback: MediaDataCallback) -> MediaDataCallback:
        return self._set_data("video_data", 2, callback)

    def on_deskshare_data(self, callback: MediaDataCallback) -> MediaDataCallback:
        return self._set_data("deskshare_data", 4, callback)

    def on_transcript_data(self, callback: MediaDataCallback) -> MediaDataCallback:
        return self._set_data("transcript_data", 8, callback)

    def on_chat_data(self, callback: ChatDataCallback) -> ChatDataCallback:
        return self._set_data("chat_data", 16, callback)

    def on_leave(self, callback: LeaveCallback) -> LeaveCallback:
        return self._set("leave", callback)

    def on_event_ex(self, callback: EventExCallback) -> EventExCallback:
        return self._set("event_ex", callback)

    def on_participant_video(self, callback: ParticipantVideoCallback) -> ParticipantVideoCallback:
        return self._set("participant_video", callback, [8, 9])

    def on_video_subscribed(self, callback: VideoSubscribedCallback) -> VideoSubscribedCallback:
        return self._set("video_subscribed", callback)

    def on_reconnecting(self, callback: ReconnectingCallback) -> ReconnectingCallback:
        return self._set("reconnecting", callback)

    def on_reconnected(self, callback: ReconnectedCallback) -> ReconnectedCallback:
        return self._set("reconnected", callback)

    def on_stream_state(self, callback: StreamStateCallback) -> StreamStateCallback:
        return self._set("stream_state", callback)

    def on_error(self, callback: ErrorCallback) -> ErrorCallback:
        return self._set("error", callback)

    onJoinConfirm, onSessionUpdate, onUserUpdate = on_join_confirm, on_session_update, on_user_update
    onAudioData, onVideoData, onDeskshareData = on_audio_data, on_video_data, on_deskshare_data
    onTranscriptData, onChatData, onLeave, onEventEx = on_transcript_data, on_chat_data, on_leave, on_event_ex
    onParticipantVideo, onVideoSubscribed = on_participant_video, on_video_subscribed
    onReconnecting, onReconnected, onStreamState, onError = on_reconnecting, on_reconnected, on_stream_state, on_error

    # -- C callbacks -------------------------------------------------------------------------

    def _call(self, name: str, *args: Any) -> None:
        cb = self._cbs.get(name)
        if cb is None:
            return
        try:
            cb(*args)
        except BaseException as e:  # as the batch path: never into the core (ctypes cannot carry it)
            _report(name, e)

    def _install_callbacks(self) -> None:
        call = self._call

        def data(name: str) -> Any:
            def f(sdk: Any, buf: Any, size: int, ts: int, md: Any) -> None:
                if not buf or size <= 0 or not md:
                    return
                m = md.contents
                meta = _metadata(m.user_name or b"", m.user_id, m.start_ts, m.end_ts, m.channel_id or b"", m.language)
                call(name, string_at(buf, size), int(size), int(ts), meta)
            return N.DataCB(f)

        def session(sdk: Any, op: int, si: Any) -> None:
            if not si:
                return
            s = si.contents
            status = SESS_STATUS_PAUSED if s.status == 2 else SESS_STATUS_ACTIVE
            call("session_update", int(op), Session(N._s(s.session_id), N._s(s.stream_id),
                                                    N._s(bytes(s.meeting_id).split(b"\0", 1)[0]), int(s.stat_time), status))

        def user(sdk: Any, op: int, pi: Any) -> None:
            if not pi:
                return
            call("user_update", int(op), Participant(pi.contents.participant_id & 0xFFFFFFFF, N._s(pi.contents.participant_name)))

        def event_ex(sdk: Any, buf: Any, size: int) -> None:
            if buf and size > 0:
                call("event_ex", string_at(buf, size).decode("utf-8", "replace"))

        def pvideo(sdk: Any, users: Any, n: int, on: int) -> None:
            call("participant_video", [users[i] & 0xFFFFFFFF for i in range(n)], bool(on))

        def people(sdk: Any, op: int, ts: int, ps: Any, n: int) -> None:
            call("participant_event", "join" if op == N.USER_JOIN else "leave", int(ts),
                 [{"user_id": ps[i].participant_id & 0xFFFFFFFF, "user_name": N._s(ps[i].participant_name)} for i in range(n)])

        def sharing(sdk: Any, start: int, uid: int, name: Optional[bytes], ts: int) -> None:
            if start:
                call("sharing", "start", int(ts), uid & 0xFFFFFFFF, N._s(name))
            else:
                call("sharing", "stop", int(ts), None, None)

        ops = N.rtms_csdk_ops(
            N.JoinCB(lambda sdk, r: call("join_confirm", int(r))),
            N.SessionCB(session), N.UserCB(user),
            data("audio_data"), data("video_data"), data("deskshare_data"), data("transcript_data"),
            N.JoinCB(lambda sdk, r: call("leave", int(r))),
            N.EventExCB(event_ex))
        ext = N.rtms_ext_ops()
        ext.version = N.RTMS_EXT_OPS_VERSION
        ext.on_chat_data = data("chat_data")
        ext.on_stream_state = N.StateCB(lambda sdk, st, r: call("stream_state", int(st), int(r)))
        ext.on_error = N.ErrorCB(lambda sdk, code, text: call("error", int(code), N._s(text)))
        ext.on_participant_video = N.VideoUsersCB(pvideo)
        ext.on_video_subscript_resp = N.VideoSubCB(lambda sdk, uid, st, err: call("video_subscribed", uid & 0xFFFFFFFF, int(st), N._s(err)))
        ext.on_reconnecting = N.ReconnectingCB(lambda sdk, c, a, d, cause: call("reconnecting", int(c), int(a), int(d), N._s(cause)))
        ext.on_reconnected = N.ReconnectedCB(lambda sdk, c, gap: call("reconnected", int(c), int(gap)))
        ext.on_participant_event = N.ParticipantEventCB(people)
        ext.on_active_speaker = N.SpeakerCB(lambda sdk, uid, name, ts: call("active_speaker", int(ts), uid & 0xFFFFFFFF, N._s(name)))
        ext.on_sharing = N.SharingCB(sharing)
        ext.on_media_interrupted = N.TsCB(lambda sdk, ts: call("media_interrupted", int(ts)))
        # Keep the ctypes thunks alive as long as the handle.
        self._ops, self._ext = ops, ext
        N.check("setCallbacks", N.rtms_set_callbacks(self._sdk, byref(ops)))
        N.check("setCallbacks", N.rtms_set_ext_callbacks(self._sdk, byref(ext)))
