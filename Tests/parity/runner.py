"""Parity runner, Python side (see runner.c): the same JSON lines through the rtms package.
Also `runner.py webserver <secret> [<body>]`: the raw webhook form (the binding's own server)."""

import json
import sys
import threading
import time

import rtms

rtms.configure_logger({"enabled": False})  # stdout carries only the transcript

out_lock = threading.Lock()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def media(kind):
    def f(data, size, ts, md):
        rec = {"cb": "media", "kind": kind, "user_id": md.userId, "user_name": md.userName, "size": size}
        if kind in ("transcript", "chat"):
            rec["text"] = data.decode("utf-8", "replace")
        emit(rec)
    return f


def join_mode(body):
    done = threading.Event()
    c = rtms.Client()
    c.set_audio_params(rtms.AudioParams(2, 1, 1, 1, 1, 20, 320))
    c.set_video_params(rtms.VideoParams(3, 5, 2, 3, 5))
    c.set_deskshare_params(rtms.DeskshareParams(3, 5, 3, 1))
    for kind in ("audio", "video", "deskshare", "transcript", "chat"):
        getattr(c, "on_%s_data" % kind)(media(kind))
    c.on_join_confirm(lambda r: emit({"cb": "join_confirm", "reason": r}))
    c.on_session_update(lambda op, s: emit({"cb": "session_update", "op": op, "active": s.isActive}))
    c.on_user_update(lambda op, p: emit({"cb": "user_update", "op": op, "id": p.id, "name": p.name}))
    c.on_event_ex(lambda j: emit({"cb": "event", "json": j}))
    # Typed events, as runner.c prints them (people: Zoom's dicts {"user_id", "user_name"}).
    c.on_participant_event(lambda op, ts, people: emit({"cb": "participant_event", "op": op, "timestamp": ts,
                                                        "participants": people}))
    c.on_active_speaker_event(lambda ts, uid, name: emit({"cb": "active_speaker", "timestamp": ts, "user_id": uid,
                                                          "user_name": name}))

    def sharing(op, ts, uid, name):
        rec = {"cb": "sharing", "op": op, "timestamp": ts}
        if op == "start":
            rec.update(user_id=uid, user_name=name)
        elif (uid, name) != (None, None):
            rec["unexpected_user"] = [uid, name]   # Zoom's stop names nobody
        emit(rec)

    c.on_sharing_event(sharing)
    c.on_media_connection_interrupted(lambda ts: emit({"cb": "media_interrupted", "timestamp": ts}))
    c.on_stream_state(lambda st, r: emit({"cb": "stream_state", "state": st, "reason": r}))
    c.on_reconnecting(lambda conn, a, d, why: emit({"cb": "reconnecting", "connection": conn, "attempt": a}))
    c.on_reconnected(lambda conn, gap: emit({"cb": "reconnected", "connection": conn}))

    def left(r):
        emit({"cb": "leave", "reason": r})
        done.set()

    c.on_leave(left)
    c.subscribe_event([2, 3, 4, 5, 6, 7, 8, 9])
    c.join(json.loads(body))
    ok = done.wait(60)
    c.leave()
    return 0 if ok else 1


STATS = ("requests", "accepted", "duplicates", "validations", "not_found", "malformed", "too_large", "unauthorized",
         "routed")


def webhook_mode(secret, body=None, form="listener"):
    """form "listener": the core's own listener, callback(payload); "webserver": the raw form,
    callback(payload, request, response), served by the binding's http.server and decided by
    the core's intake. With an rtms_started body, a client joins it first (see runner.c)."""
    done = threading.Event()
    left = threading.Event()
    server = rtms.WebhookServer(port=0, path="/parity", host="127.0.0.1", secret=secret)

    def seen(payload, raw=None):
        emit({"cb": "webhook", "event": payload.get("event"), "routed": False,
              "body": raw.decode("utf-8") if raw is not None else json.dumps(payload, separators=(",", ":"))})
        if payload.get("event") == "parity.done":
            done.set()

    def on_raw(payload, request, response):   # answers nothing: the core's answer goes out
        seen(payload, request.body)

    if not server.start(on_raw if form == "webserver" else seen):
        return 1
    client = None
    if body:
        joined = []
        client = rtms.Client()
        client.on_join_confirm(lambda r: joined.append(r))

        def on_leave(r):
            emit({"cb": "leave", "reason": r})
            left.set()

        client.on_leave(on_leave)
        client.join(json.loads(body))
        deadline = time.time() + 30
        while not joined and time.time() < deadline:
            time.sleep(0.01)
        if joined != [0]:
            return 1
    emit({"port": server.port})
    ok = done.wait(60) and (client is None or left.wait(20))
    emit({"stats": {k: v for k, v in server.stats().items() if k in STATS}})
    if client is not None:
        client.leave()
    server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "join":
        sys.exit(join_mode(sys.argv[2]))
    if len(sys.argv) in (3, 4) and sys.argv[1] in ("webhook", "webserver"):
        sys.exit(webhook_mode(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None,
                              "webserver" if sys.argv[1] == "webserver" else "listener"))
    sys.exit("usage: runner.py join '<rtms_started body>' | runner.py webhook|webserver <secret> ['<rtms_started body>']")
