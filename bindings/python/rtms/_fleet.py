"""rtms.Fleet: a node of a fleet coordinated through PostgreSQL (the core's rtms_fleet_*).

Language glue only. The core runs the webhook intake that stores every event in the database,
claims streams under leases, takes over those of dead nodes, routes failover/interruption/stop
webhooks to the client that holds a stream and fences a client whose lease is lost (see
include/openrtms.h, "Fleet", and docs/fleet.md). Here: the handler API, the loop that sleeps on
the fleet's wake descriptor and its clients' delivery group, and a Client for every stream
assigned.
"""

from __future__ import annotations

import json
import os
import selectors
import threading
import traceback
from ctypes import byref, c_void_p
from typing import TYPE_CHECKING, Any, Dict, Literal, Optional, Tuple

from . import _native as N
from . import Client, _close_quietly, _drain_pipe, _ensure_initialized, log_error
from ._core import MediaBatches
from ._native import RTMSException

if TYPE_CHECKING:
    from ._types import FleetRevokedHandler, FleetStreamHandler


class FleetStream:
    """A stream assigned to this node: its id, the claim's generation (the fencing token), the
    latest rtms_started payload (a dict) and the node it was taken over from (None if new)."""

    __slots__ = ("stream_id", "generation", "payload", "previous_owner")

    def __init__(self, stream_id: str, generation: int, payload: Dict[str, Any], previous_owner: Optional[str]):
        self.stream_id, self.generation, self.payload, self.previous_owner = stream_id, generation, payload, previous_owner

    def __repr__(self) -> str:
        return "FleetStream(stream_id=%r, generation=%d, previous_owner=%r)" % (
            self.stream_id, self.generation, self.previous_owner)


class _FleetClient(Client):
    """A Client whose join is the fleet's (rtms_fleet_join): when its session ends (on_leave, a
    failed on_join_confirm, leave()), the fleet is told (rtms_fleet_done) and the handle freed."""

    def __init__(self, fleet: "Fleet", stream: FleetStream):
        super().__init__()
        self._fleet = fleet
        self._fleet_stream = stream
        self._fleet_done = False

    def join(self, *args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("a fleet's client is joined by the fleet (when the handler returns)")

    def _call(self, name: str, *args: Any) -> None:
        super()._call(name, *args)
        if name == "leave" or (name == "join_confirm" and args and args[0] != 0):
            self._fleet._finish(self, int(args[0]))

    def leave(self) -> bool:
        self._fleet._finish(self, N.RTMS_FLEET_REASON_UNKNOWN, release=False)
        return super().leave()

    stop = leave


def _opt_int(v: Optional[int], name: str) -> int:
    if v is None:
        return -1
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError("%s must be an int, not %s" % (name, type(v).__name__))
    return v


class Fleet:
    """One node of a fleet. Keyword options; None takes the core's default, the environment
    variables of `rtms serve` included: RTMS_DATABASE_URL, ZM_RTMS_PORT, ZM_RTMS_PATH,
    ZM_RTMS_WEBHOOK_SECRET, ZM_RTMS_CERT/ZM_RTMS_KEY, RTMS_ADVERTISE_URL, and ZM_RTMS_CLIENT /
    ZM_RTMS_SECRET for the joins. Creating it connects to the database and starts the intake
    (blocks until the database answered); port=0 takes a free port (`fleet.port`).

        fleet = rtms.Fleet(node_id="bot-1")

        @fleet.on_stream
        def handle(client, stream):          # register the client's callbacks here;
            client.on_audio_data(...)         # the fleet joins it when this returns

        fleet.run()                           # until fleet.stop()
    """

    def __init__(self, database_url: Optional[str] = None, node_id: Optional[str] = None,
                 max_streams: Optional[int] = None, lease_ms: Optional[int] = None, renew_ms: Optional[int] = None,
                 lease_margin_ms: Optional[int] = None, advertise_url: Optional[str] = None,
                 host: Optional[str] = None, port: Optional[int] = None, path: Optional[str] = None,
                 webhook_secret: Optional[str] = None, cert: Optional[str] = None, key: Optional[str] = None,
                 start_timeout_ms: Optional[int] = None, client: Optional[str] = None, secret: Optional[str] = None,
                 ca: Optional[str] = None, join_timeout_ms: int = -1):
        self._f: Optional[int] = None
        self._stream_handler: Optional[FleetStreamHandler] = None
        self._revoked_handler: Optional[FleetRevokedHandler] = None
        self._clients: Dict[Tuple[str, int], _FleetClient] = {}
        self._lock = threading.RLock()
        self._stopping = False
        self._credentials = (client, secret)
        self._ca = ca
        self._join_timeout_ms = int(join_timeout_ms)
        o = N.rtms_fleet_options()
        N.rtms_fleet_options_init(o, N.RTMS_FLEET_OPTIONS_VERSION)
        o.database_url, o.node_id, o.advertise_url = N._b(database_url), N._b(node_id), N._b(advertise_url)
        o.host, o.path, o.secret_token = N._b(host), N._b(path), N._b(webhook_secret)
        o.cert_path, o.key_path = N._b(cert), N._b(key)
        o.max_streams = _opt_int(max_streams, "max_streams")
        o.lease_ms = _opt_int(lease_ms, "lease_ms")
        o.renew_ms = _opt_int(renew_ms, "renew_ms")
        o.lease_margin_ms = _opt_int(lease_margin_ms, "lease_margin_ms")
        o.port = _opt_int(port, "port")
        o.start_timeout_ms = _opt_int(start_timeout_ms, "start_timeout_ms")
        # The thunks live as long as the fleet.
        self._assigned_thunk = N.FleetAssignedCB(self._on_assigned)
        self._revoked_thunk = N.FleetRevokedCB(self._on_revoked)
        f = N.rtms_fleet_create(byref(o), self._assigned_thunk, self._revoked_thunk, None)
        if not f:
            raise RTMSException("Fleet", N.RTMS_SDK_FAILURE, N.last_error())
        self._f = f
        self._group: Optional[int] = N.rtms_group_create(0)   # the clients' deliveries: one descriptor for all
        if not self._group:
            N.rtms_fleet_release(f)
            raise RTMSException("Fleet", N.RTMS_SDK_FAILURE, N.last_error())
        self._batches = MediaBatches(self._group)   # media: one crossing per poll
        self._kick_r, self._kick_w = os.pipe()
        os.set_blocking(self._kick_r, False)
        os.set_blocking(self._kick_w, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(N.rtms_fleet_get_wake_fd(f), selectors.EVENT_READ, None)
        self._selector.register(self._kick_r, selectors.EVENT_READ, "kick")
        self._selector.register(N.rtms_group_get_wake_fd(self._group), selectors.EVENT_READ, "group")
        self._runner: Optional[int] = None   # the thread inside run(), if any
        self._cleaned = False

    # -- handlers -----------------------------------------------------------------------------

    def on_stream(self, handler: FleetStreamHandler) -> FleetStreamHandler:
        """handler(client, stream): a stream was assigned to this node. Register the client's
        callbacks in it (they choose the media, as with Client); the fleet joins the client when it
        returns. Decorator or call; returns the handler."""
        if not callable(handler):
            raise TypeError("Function argument expected")
        self._stream_handler = handler
        return handler

    def on_revoked(self, handler: FleetRevokedHandler) -> FleetRevokedHandler:
        """handler(stream, reason): this node no longer holds the stream (lease lost, taken over);
        its client has been left by the core and is freed after the handler returns."""
        if not callable(handler):
            raise TypeError("Function argument expected")
        self._revoked_handler = handler
        return handler

    onStream, onRevoked = on_stream, on_revoked

    # -- the core's callbacks (inside rtms_fleet_poll, on the loop's thread) -------------------

    def _on_assigned(self, _f: Any, sid: bytes, generation: int, payload: bytes, prev: Optional[bytes], _ud: Any) -> None:
        try:
            body = json.loads(N._s(payload) or "{}")
        except ValueError:
            body = {}   # the core sends a JSON object; the join reads the payload in the core anyway
        stream = FleetStream(N._s(sid), int(generation), body, N._s(prev) if prev else None)
        handler = self._stream_handler
        if handler is None:
            log_error("fleet", "stream %s assigned but no on_stream handler: handed back" % stream.stream_id)
            N.rtms_fleet_done(self._f, sid, generation, N.RTMS_FLEET_REASON_UNKNOWN)
            return
        _ensure_initialized(self._ca)
        client = _FleetClient(self, stream)
        try:
            client.alloc()
            handler(client, stream)
        except Exception as e:
            log_error("fleet", "on_stream handler for %s failed: %s" % (stream.stream_id, e))
            traceback.print_exc()
            self._finish(client, N.RTMS_FLEET_REASON_UNKNOWN)
            return
        if client._fleet_done:
            return   # the handler left it
        if self._f is None:   # the handler closed the fleet
            client._fleet_done = True
            Client.leave(client)
            return
        try:
            self._join(client, stream)
        except Exception as e:
            log_error("fleet", "stream %s: %s" % (stream.stream_id, e))
            self._finish(client, N.RTMS_FLEET_REASON_UNKNOWN)

    def _join(self, client: _FleetClient, stream: FleetStream) -> None:
        cid, csecret = self._credentials
        if cid or csecret:
            o = N.rtms_options()
            N.rtms_options_init(byref(o), 1)
            o.client_id, o.client_secret = N._b(cid), N._b(csecret)
            N.check("set_options", N.rtms_set_options(client._sdk, byref(o)))
        client._configure()
        rc = N.rtms_fleet_join(self._f, N._b(stream.stream_id), stream.generation, client._sdk, self._join_timeout_ms)
        if rc < 0:
            raise RTMSException("fleet join", -rc, N.last_error())
        client._remember_ids()
        client._running = True
        client._join_group(self)
        with self._lock:
            self._clients[(stream.stream_id, stream.generation)] = client

    def _on_revoked(self, _f: Any, sid: bytes, generation: int, reason: bytes, _ud: Any) -> None:
        key = (N._s(sid), int(generation))
        with self._lock:
            client = self._clients.pop(key, None)
        stream = client._fleet_stream if client is not None else FleetStream(key[0], key[1], {}, None)
        if client is not None:
            client._fleet_done = True   # the core has left it and forgotten the assignment
        if self._revoked_handler is not None:
            try:
                self._revoked_handler(stream, N._s(reason))
            except Exception as e:
                log_error("fleet", "on_revoked handler failed: %s" % e)
                traceback.print_exc()
        if client is not None:
            Client.leave(client)

    def _finish(self, client: _FleetClient, reason: int, release: bool = True) -> None:
        """The client's session is over: tell the fleet once (rtms_fleet_done), free the handle."""
        if client._fleet_done:
            return
        client._fleet_done = True
        s = client._fleet_stream
        with self._lock:
            self._clients.pop((s.stream_id, s.generation), None)
        f = self._f
        if f is not None:
            N.rtms_fleet_done(f, N._b(s.stream_id), s.generation, reason if reason >= -1 else -1)
        if release:
            Client.leave(client)

    # -- the loop --------------------------------------------------------------------------------

    def poll(self, timeout: Optional[float] = 0) -> None:
        """Waits up to timeout seconds (None: until something happens) for the fleet or one of its
        clients, then delivers what is pending: handlers and the clients' callbacks run here."""
        if self._f is None:
            raise RuntimeError("the fleet is closed")
        try:
            ready = self._selector.select(timeout)
        except (OSError, ValueError):
            if self._f is None:
                return   # closed from another thread meanwhile
            raise
        for key, _ in ready:
            if key.data is None:
                f = self._f
                if f is not None:
                    N.rtms_fleet_poll(f, 0)
            elif key.data == "kick":
                _drain_pipe(self._kick_r)
            elif self._group is not None:   # None: closed by a handler meanwhile
                N.rtms_group_poll(self._group, 0, 0)

    def run(self) -> None:
        """Delivers on this thread until stop() (from any thread or a callback) or close()."""
        self._stopping = False
        self._runner = threading.get_ident()
        try:
            while not self._stopping and self._f is not None:
                self.poll(1.0)
        finally:
            self._runner = None
            if self._f is None:
                self._cleanup()

    def stop(self) -> None:
        """Makes run() return (the fleet keeps its streams: close() leaves them)."""
        self._stopping = True
        if self._cleaned:
            return   # the pipe is closed (its number may be another file's now)
        try:
            os.write(self._kick_w, b"x")
        except OSError:
            pass

    def close(self) -> None:
        """Leaves the fleet: every stream held is left and handed back to the other nodes, the
        intake stops, the clients are freed. Idempotent."""
        self.stop()
        f, self._f = self._f, None
        if f is None:
            return
        N.rtms_fleet_release(f)
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c._fleet_done = True
            Client.leave(c)
        # The descriptors go now, unless run() is still using them on another thread (it does it
        # when it returns).
        if self._runner is None or self._runner == threading.get_ident():
            self._cleanup()

    def _cleanup(self) -> None:
        if self._cleaned:
            return
        self._cleaned = True
        group, self._group = self._group, None
        N.rtms_group_release(group)
        _close_quietly(self._selector, self._kick_r, self._kick_w)

    release = close

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, *_: Any) -> Literal[False]:
        self.close()
        return False

    # -- state ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The intake's port."""
        if self._f is None:
            return -1
        return int(N.rtms_fleet_port(self._f))

    def wake_fd(self) -> int:
        """Readable while assignments or revocations are pending (-1 once closed)."""
        return N.rtms_fleet_get_wake_fd(self._f) if self._f is not None else -1

    def status(self) -> Dict[str, Any]:
        """The node's state (what GET /healthz answers, plus port and held streams)."""
        if self._f is None:
            return {}
        out = c_void_p()
        n = N.rtms_fleet_status(self._f, byref(out))
        if n < 0:
            raise RTMSException("status", -n, N.last_error())
        status: Dict[str, Any] = json.loads(N.taken_string("status", n, out))
        return status

    @property
    def clients(self) -> Dict[str, Client]:
        """The clients joined for the streams held now, by stream id."""
        with self._lock:
            return {k[0]: c for k, c in self._clients.items()}
