#!/usr/bin/env python3
"""Drive Zoom's official RTMS client (PyPI `rtms` 1.1.0) against one stream and record every
callback it delivers, one JSON object per line, to --events-out.

Run by official_sdk.py with the conformance venv's python, in a scratch directory (the SDK
writes its own log to ./logs/ relative to the working directory).

--api python  the public Python API: rtms.Client + rtms.EventLoop driven by asyncio on this
              (main) thread, so alloc/join/poll/subscribe/leave all happen on the SDK's owner
              thread and never inside a callback. One media socket per media type.
--api c       the SDK's exported C API (rtms_init/rtms_alloc/rtms_config/...) through ctypes on
              the wheel's librtmsdk.so.0, with a media_types mask the Python API cannot request
              (default 32 = ALL: one unified media socket).

Records (field "cb"): start, join_call, join_confirm, subscribe_event, session_update,
user_update, audio, video, deskshare, transcript, event_ex, participant_event, active_speaker,
sharing_event, participant_video, leave, stop, released, end (with counts).
"""
import argparse
import asyncio
import ctypes
import hashlib
import hmac
import importlib.util
import json
import os
import sys
import time

# Events subscribed after join confirm: active speaker, participant join/leave, sharing
# start/stop, media interrupted, participant video on/off.
SUBSCRIBE = [2, 3, 4, 5, 6, 7, 8, 9]

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--api", choices=["python", "c"], default="python")
ap.add_argument("--url", required=True, help="server_urls of the rtms_started webhook")
ap.add_argument("--meeting", required=True, help="meeting_uuid")
ap.add_argument("--stream", required=True, help="rtms_stream_id")
ap.add_argument("--client-id", required=True)
ap.add_argument("--client-secret", required=True)
ap.add_argument("--events-out", required=True, help="JSONL file for the recorded callbacks")
ap.add_argument("--deadline", type=float, default=40, help="give up (leave, exit) after this many seconds")
ap.add_argument("--join-timeout", type=int, default=10000, help="SDK join timeout, ms")
ap.add_argument("--media-types", type=int, default=32, help="--api c: media_types mask for rtms_config")
ap.add_argument("--subscribe", default=",".join(map(str, SUBSCRIBE)),
                help="event types to subscribe_event() after join confirm (comma list, may be empty)")
ap.add_argument("--lib", default=None, help="--api c: path of librtmsdk.so.0 (default: the one in the rtms package)")
args = ap.parse_args()
SUBSCRIBE = [int(x) for x in args.subscribe.split(",") if x.strip()]

os.makedirs("logs", exist_ok=True)
T0 = time.time()
OUT = open(args.events_out, "w", buffering=1, encoding="utf-8")
COUNTS = {}
STATE = {"join_reason": None, "left": None}


def emit(cb, **kw):
    rec = {"t": round(time.time() - T0, 4), "cb": cb}
    rec.update(kw)
    OUT.write(json.dumps(rec, default=repr) + "\n")


def count(kind):
    COUNTS[kind] = COUNTS.get(kind, 0) + 1


def data_record(kind, data, size, ts, user_id, user_name, start_ts, end_ts):
    count(kind)
    rec = {"size": size, "len": len(data), "ts": ts, "userId": user_id, "userName": user_name,
           "startTs": start_ts, "endTs": end_ts}
    if kind == "transcript":
        rec["text"] = data.decode("utf-8", "replace")
        rec["utf8"] = _is_utf8(data)
    else:
        rec["head"] = data[:8].hex()
    emit(kind, **rec)


def _is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def finish(code=0):
    emit("end", counts=COUNTS, join_reason=STATE["join_reason"], leave_reason=STATE["left"])
    OUT.flush()
    # os._exit: skip interpreter teardown, which must not run SDK destructors on a random thread.
    os._exit(code)


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------

def run_python():
    import rtms

    emit("start", api="python", rtms_file=rtms.__file__)
    c = rtms.Client()

    def on_join_confirm(reason):
        STATE["join_reason"] = reason
        emit("join_confirm", reason=reason)

    def on_leave(reason):
        STATE["left"] = reason
        emit("leave", reason=reason)

    def on_session_update(op, s):
        emit("session_update", op=op, sessionId=s.sessionId, statTime=s.statTime)

    def on_user_update(op, p):
        count("user_update")
        emit("user_update", op=op, id=p.id, name=p.name)

    def data_cb(kind):
        def cb(data, size, ts, md):
            data_record(kind, data, size, ts, md.userId, md.userName, md.startTs, md.endTs)
        return cb

    def on_event_ex(raw):
        count("event_ex")
        emit("event_ex", raw=raw)

    def on_participant_event(ev, ts, participants):
        count("participant_event")
        emit("participant_event", ev=ev, ts=ts, participants=participants)

    def on_active_speaker(ts, user_id, user_name):
        count("active_speaker")
        emit("active_speaker", ts=ts, user_id=user_id, user_name=user_name)

    def on_sharing(ev, ts, user_id, user_name):
        count("sharing_event")
        emit("sharing_event", ev=ev, ts=ts, user_id=user_id, user_name=user_name)

    def on_participant_video(users, is_on):
        count("participant_video")
        emit("participant_video", users=list(users), on=is_on)

    c.on_join_confirm(on_join_confirm)
    c.on_leave(on_leave)
    c.on_session_update(on_session_update)
    c.on_user_update(on_user_update)
    c.on_audio_data(data_cb("audio"))
    c.on_video_data(data_cb("video"))
    c.on_deskshare_data(data_cb("deskshare"))
    c.on_transcript_data(data_cb("transcript"))
    c.on_event_ex(on_event_ex)
    # Typed handlers dispatch from event_ex. Their own subscriptions made before join never reach
    # the wire in rtms 1.1.0, hence the explicit subscribe_event() after join confirm below.
    c.on_participant_event(on_participant_event)
    c.on_active_speaker_event(on_active_speaker)
    c.on_sharing_event(on_sharing)
    c.on_participant_video(on_participant_video)

    loop = rtms.EventLoop(poll_interval=0.01, name="conformance")
    loop.add(c)  # before join(): alloc + join then happen on the thread running the loop (this one)
    emit("join_call", url=args.url, meeting_uuid=args.meeting, rtms_stream_id=args.stream)
    # No signature: the package computes it from client/secret (generate_signature), which the
    # simulator checks.
    c.join(meeting_uuid=args.meeting, rtms_stream_id=args.stream, server_urls=args.url,
           client=args.client_id, secret=args.client_secret, timeout=args.join_timeout)

    async def controller():
        deadline = T0 + args.deadline
        while STATE["join_reason"] is None and STATE["left"] is None and time.time() < deadline:
            await asyncio.sleep(0.01)
        if STATE["join_reason"] == 0 and SUBSCRIBE:
            # Between poll cycles on the owner thread: never from inside a callback (the wrapper
            # holds its mutex during callbacks; subscribing there deadlocks).
            try:
                r = c.subscribe_event(SUBSCRIBE)
                emit("subscribe_event", events=SUBSCRIBE, result=r)
            except Exception as e:  # noqa: BLE001
                emit("subscribe_event", events=SUBSCRIBE, error=repr(e))
            while STATE["left"] is None and time.time() < deadline:
                await asyncio.sleep(0.02)
            if STATE["left"] is not None:
                # Keep polling briefly: nothing may arrive after on_leave.
                await asyncio.sleep(0.5)
        emit("stop", reason="left" if STATE["left"] is not None else
             ("join_failed" if STATE["join_reason"] not in (None, 0) else "deadline"))
        loop.stop()

    async def main():
        await asyncio.gather(loop.run_async(), controller())

    asyncio.run(main())
    # release() on the owner thread (a leave() from another thread leaks the sockets).
    ok = c.leave()
    emit("released", result=ok)
    finish(0)


# ---------------------------------------------------------------------------------------------
# C API through ctypes
# ---------------------------------------------------------------------------------------------

def run_c():
    lib_path = args.lib
    if not lib_path:
        spec = importlib.util.find_spec("rtms")  # locates the package without loading _rtms
        if spec is None or not spec.submodule_search_locations:
            emit("error", error="rtms package not found")
            finish(3)
        lib_path = os.path.join(list(spec.submodule_search_locations)[0], "librtmsdk.so.0")
    emit("start", api="c", lib=lib_path, media_types=args.media_types)
    lib = ctypes.CDLL(lib_path)
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.rtms_init.argtypes = [cp, ci, cp]
    lib.rtms_alloc.restype = vp
    lib.rtms_config.argtypes = [vp, vp, ci, ci]
    lib.rtms_set_callbacks.argtypes = [vp, vp]
    lib.rtms_join.argtypes = [vp, cp, cp, cp, cp, ci]
    lib.rtms_poll.argtypes = [vp]
    lib.rtms_release.argtypes = [vp]
    lib.rtms_subscribe_event.argtypes = [vp, ctypes.POINTER(ci), ci]

    def plausible(p):
        return p is not None and p > 0xFFFF

    def cstr(p):
        return ctypes.string_at(p).decode("utf-8", "replace") if plausible(p) else None

    def i32(v):
        return ctypes.c_int32((v or 0) & 0xFFFFFFFF).value

    # rtms_metadata { char* user_name; int user_id; uint64_t start_ts; uint64_t end_ts; ... }
    class Metadata(ctypes.Structure):
        _fields_ = [("user_name", vp), ("user_id", ctypes.c_int32), ("start_ts", ctypes.c_uint64),
                    ("end_ts", ctypes.c_uint64)]

    # participant_info { int participant_id; char* participant_name; }
    class ParticipantInfo(ctypes.Structure):
        _fields_ = [("participant_id", ctypes.c_int32), ("participant_name", vp)]

    # session_info { char* session_id; char* stream_id; ... }
    class SessionInfo(ctypes.Structure):
        _fields_ = [("session_id", vp), ("stream_id", vp)]

    u64 = ctypes.c_uint64
    CB_INT = ctypes.CFUNCTYPE(None, vp, ci)                    # join_confirm, leave
    CB_OP_PTR = ctypes.CFUNCTYPE(None, vp, ci, vp)             # session_update, user_update
    CB_DATA = ctypes.CFUNCTYPE(None, vp, vp, ci, u64, vp)      # audio, video, ds, transcript
    CB_STR = ctypes.CFUNCTYPE(None, vp, vp, ci)                # event_ex(buf, size)
    CB_ANY = ctypes.CFUNCTYPE(None, vp, u64, u64, u64, u64)    # participant_video, video_subscript_resp

    def on_join_confirm(sdk, reason):
        STATE["join_reason"] = reason
        emit("join_confirm", reason=reason)

    def on_leave(sdk, reason):
        STATE["left"] = reason
        emit("leave", reason=reason)

    def on_session_update(sdk, op, sess):
        d = {"op": op}
        if plausible(sess):
            s = SessionInfo.from_address(sess)
            d["sessionId"] = cstr(s.session_id)
        emit("session_update", **d)

    def on_user_update(sdk, op, pi):
        count("user_update")
        d = {"op": op}
        if plausible(pi):
            p = ParticipantInfo.from_address(pi)
            d.update(id=p.participant_id, name=cstr(p.participant_name))
        emit("user_update", **d)

    def data_cb(kind):
        def cb(sdk, buf, size, ts, md):
            data = ctypes.string_at(buf, size) if plausible(buf) and size > 0 else b""
            uid = name = sts = ets = None
            if plausible(md):
                m = Metadata.from_address(md)
                uid, name, sts, ets = m.user_id, cstr(m.user_name), m.start_ts, m.end_ts
            data_record(kind, data, size, ts, uid, name, sts, ets)
        return cb

    def on_event_ex(sdk, buf, size):
        count("event_ex")
        raw = ctypes.string_at(buf, size).decode("utf-8", "replace") if plausible(buf) and size > 0 else cstr(buf)
        emit("event_ex", raw=raw)

    def any_cb(name):
        def cb(sdk, a1, a2, a3, a4):
            count(name)
            emit(name, args=[i32(a1), i32(a2)])
        return cb

    # The ops table: 11 function pointers in this order (layout read from the binary).
    cbs = [CB_INT(on_join_confirm), CB_OP_PTR(on_session_update), CB_OP_PTR(on_user_update),
           CB_DATA(data_cb("audio")), CB_DATA(data_cb("video")), CB_DATA(data_cb("deskshare")),
           CB_DATA(data_cb("transcript")), CB_INT(on_leave), CB_STR(on_event_ex),
           CB_ANY(any_cb("participant_video")), CB_ANY(any_cb("video_subscript_resp"))]
    ops = (vp * len(cbs))(*[ctypes.cast(f, vp).value for f in cbs])

    ca = os.environ.get("ZM_RTMS_CA", "")
    emit("init", ca=ca, verify=1 if ca else 0,
         ret=lib.rtms_init(ca.encode(), 1 if ca else 0, b"openrtms-conformance"))
    sdk = lib.rtms_alloc()
    if not sdk:
        emit("error", error="rtms_alloc returned NULL")
        finish(3)
    emit("config", media_types=args.media_types, ret=lib.rtms_config(sdk, None, args.media_types, 0))
    emit("set_callbacks", ret=lib.rtms_set_callbacks(sdk, ops))
    # Zoom's handshake signature: hex(HMAC-SHA256(secret, "client_id,meeting_uuid,rtms_stream_id")).
    sig = hmac.new(args.client_secret.encode(), f"{args.client_id},{args.meeting},{args.stream}".encode(),
                   hashlib.sha256).hexdigest()
    emit("join_call", url=args.url, meeting_uuid=args.meeting, rtms_stream_id=args.stream,
         ret=lib.rtms_join(sdk, args.meeting.encode(), args.stream.encode(), sig.encode(), args.url.encode(),
                           args.join_timeout))
    deadline = T0 + args.deadline
    subscribed = False
    left_at = None
    while time.time() < deadline:
        lib.rtms_poll(sdk)
        if STATE["join_reason"] is not None and STATE["join_reason"] != 0:
            break
        if STATE["join_reason"] == 0 and not subscribed and SUBSCRIBE:
            subscribed = True
            arr = (ci * len(SUBSCRIBE))(*SUBSCRIBE)
            emit("subscribe_event", events=SUBSCRIBE, result=lib.rtms_subscribe_event(sdk, arr, len(SUBSCRIBE)))
        if STATE["left"] is not None:
            left_at = left_at or time.time()
            if time.time() - left_at > 0.5:
                break
        time.sleep(0.01)
    emit("stop", reason="left" if STATE["left"] is not None else
         ("join_failed" if STATE["join_reason"] not in (None, 0) else "deadline"))
    emit("released", result=lib.rtms_release(sdk))
    finish(0)


if __name__ == "__main__":
    for k in ("ZM_RTMS_CLIENT", "ZM_RTMS_SECRET"):  # would override client/secret in generate_signature
        os.environ.pop(k, None)
    try:
        run_python() if args.api == "python" else run_c()
    except Exception as e:  # noqa: BLE001
        emit("error", error=repr(e))
        finish(3)
