#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Tests/fuzz/corpus/<target>/seed-*) from the wire
captures of Zoom's client: Tests/RTMSProtocolTests/Fixtures/wire-frames.jsonl (committed)
and, when a folder of captures is given as the argument, its <run>/server.jsonl files,
plus hand-written inputs for the spellings and edge cases the captures do not show.

    python3 Tests/fuzz/make_corpus.py [CAPTURES_DIR]

Only seed-* files are rewritten; regress-* files (crashes found by fuzzing, kept as regression
inputs) are left alone. Deterministic: the same captures give the same files. Kept small: media
payloads are shortened and near-duplicate messages dropped.
"""
import base64
import glob
import hashlib
import hmac
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
fixture = os.path.join(root, "Tests/RTMSProtocolTests/Fixtures/wire-frames.jsonl")
captures = sys.argv[1] if len(sys.argv) > 1 else None

corpora = {t: {} for t in ("json", "base64", "websocket", "webhook")}


def add(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    key = hashlib.sha1(data).hexdigest()[:16]
    corpora[target][f"seed-{name or key}"] = data


# ---------------------------------------------------------------- messages from the captures

def messages():
    """(direction, kind, text) of every captured WebSocket message."""
    out = []
    for line in open(fixture, encoding="utf-8"):
        d = json.loads(line)
        out.append((d["dir"], "text", d["data"]))
    for path in (sorted(glob.glob(os.path.join(captures, "*", "server.jsonl"))) if captures else []):
        for line in open(path, encoding="utf-8"):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("ev") in ("s2c", "c2s") and isinstance(d.get("data"), str):
                out.append((d["ev"], d.get("kind") or "text", d["data"]))
            elif d.get("ev") in ("s2c", "c2s") and d.get("data_b64") is not None:
                out.append((d["ev"], d.get("kind"), base64.b64decode(d["data_b64"])))
    return out


def shorten(text):
    """A long media message with its base64 payload cut to a few dozen bytes (same layout)."""
    try:
        o = json.loads(text)
    except ValueError:
        return text
    c = o.get("content") if isinstance(o, dict) else None
    if isinstance(c, dict) and isinstance(c.get("data"), str) and len(c["data"]) > 64:
        raw = c["data"]
        c["data"] = raw[:48] + ("==" if raw.endswith("==") else "=" if raw.endswith("=") else "")
        if o.get("msg_type") in (14, 15, 16) and not raw.endswith("="):
            c["data"] = raw[:48]
        if "length" in c:
            c["length"] = len(base64.b64decode(c["data"] + "=" * (-len(c["data"]) % 4)))
        sep = (", ", ": ") if ", \"" in text else (",", ":")
        indent = "\t" if "\n\t" in text else None
        return json.dumps(o, separators=sep if indent is None else None, indent=indent)
    return text


def shape(text):
    """What makes two messages different for the decoder: msg_type, keys, layout, value types."""
    try:
        o = json.loads(text)
    except ValueError:
        return ("invalid", text[:40])
    def sig(v, depth=0):
        if isinstance(v, dict):
            return "{" + ",".join(k + ":" + sig(v[k], depth + 1) for k in sorted(v)) + "}" if depth < 3 else "{}"
        if isinstance(v, list):
            return "[" + (sig(v[0], depth + 1) if v else "") + "]"
        return type(v).__name__
    layout = "pretty" if "\n" in text else "spaced" if ", \"" in text else "compact"
    return (sig(o), layout)


msgs = messages()
seen = set()
texts = []
for direction, kind, data in msgs:
    if not isinstance(data, str) or kind not in ("text", "binary"):
        continue
    t = shorten(data)
    s = shape(t)
    if s in seen:
        continue
    seen.add(s)
    texts.append((direction, kind, t))

for direction, kind, t in texts:
    add("json", t)

# Spellings and edge cases of the protocol the captures do not show.
hand_json = [
    '{"msg_type":14,"content":{"user_id":16778240,"user_name":"Alice","data":"AAcOFRwjKjE4P0ZN","timestamp":1700000000000}}',
    '{"msg_type":14,"content":{"user_id":"16778240","user_name":"Al\\u00efce","data":"AAcOFRwjKjE4P0ZNVA","timestamp":1.7e12}}',
    '{"msg_type":14,"content":{"user_id":1,"data":"AAcO\\/Rwj\\/jE4P0ZN","timestamp":1}}',
    '{"msg_type":15,"content":{"user_id":1,"data":"-_-_AAcOFRwj","timestamp":1,"sequence":42}}',
    '{"msg_type":16,"content":{"user_id":1,"data":"AAcO\\nFRwj\\r\\nKjE4","timestamp":1}}',
    '{"msg_type":16,"content":{"user_id":1,"data":"AAcO FRwj\nKjE4","timestamp":1}}',
    '{"msg_type":17,"content":{"user_id":2,"user_name":"Bob","data":"hello \\ud83d\\ude00 world","timestamp":5,"start_time":1,"end_time":4,"language":9}}',
    '{"msg_type":17,"content":{"user_id":2,"data":"lone \\ud800 surrogate \\udc00","timestamp":5}}',
    '{"msg_type":18,"content":{"user_id":3,"user_name":"C","data":{"text":"hi","to":[1,2]},"timestamp":6}}',
    '{"msg_type":18,"content":{"channel_id":77,"data":"chat","timestamp":6}}',
    '{"msg_type":14,"content":{"channel_id":"cc-1","data":"AAAA","timestamp":6,"length":3}}',
    '{"content":{"user_id":1,"data":"AAAA","timestamp":1},"msg_type":14}',
    '{"msg_type":14.0,"content":{"user_id":1,"data":"AAAA","timestamp":1}}\u0000',
    '{"msg_type":14,"content":{"user_id":1,"data":"AAAA","timestamp":1},"msg_type":12}',
    '{"msg_type":14,"content":{"user_id":9223372036854775807,"data":"AA==","timestamp":-9223372036854775808}}',
    '{"msg_type":14,"content":{"user_id":1e300,"data":"AA","timestamp":1}}',
    '{"msg_type":23,"content":{"a":[1,2.5,-3e-7,true,false,null,{"b":"c"}]}}',
    '{"msg_type":26,"content":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}',
    '{"msg_type":6,"event":{"event_type":2,"participants":[{"user_id":1,"user_name":"A"}]}}',
    '{"msg_type":5,"events":[{"event_type":2,"subscribe":true},{"event_type":3}]}',
    '{"msg_type":29,"user_id":5,"subscribe":true,"status_code":0,"reason":"","timestamp":"17"}',
    '{"msg_type":28,"user_id":5,"subscribe":1}',
    '{"msg_type":12,"sequence":"123","timestamp":1700000000000}',
    ' \t\r\n{}',
    '[]',
]
for i, t in enumerate(hand_json):
    add("json", t, f"hand-{i:02d}")

# ---------------------------------------------------------------- base64
payloads = []
for direction, kind, t in texts:
    try:
        o = json.loads(t)
    except ValueError:
        continue
    c = o.get("content") if isinstance(o, dict) else None
    if isinstance(c, dict) and isinstance(c.get("data"), str) and o.get("msg_type") in (14, 15, 16):
        payloads.append(c["data"])
for i, p in enumerate(sorted(set(payloads))[:12]):
    for embed in (0, 1, 2):
        add("base64", bytes([embed << 4]) + p.encode(), f"text-{i:02d}-embed{embed}")
raw = bytes(range(0, 256, 7))
for mode in range(16):
    add("base64", bytes([mode | 1 | (mode % 3) << 4, 5]) + raw[: 8 + mode], f"spell-{mode:02d}")
for i, t in enumerate(["", "AA", "AAA", "AAAA", "AA==", "AAA=", "QQ=A", "Q===", "====", "-_8=", "+/8=", "-/8=",
                       "AA\nAA", " AAAA ", "AA\tA=\r\n", "YWJj\\/ZA==", "\x00\xff"]):
    add("base64", b"\x00" + t.encode("latin-1"), f"edge-{i:02d}")

# ---------------------------------------------------------------- websocket (server -> client)

def frame(op, payload, fin=True, rsv=0, mask=None, long16=False):
    b0 = (0x80 if fin else 0) | rsv << 4 | op
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126 and not long16:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126, n >> 8, n & 255])
    else:
        head = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += bytes(mask)
    return head + payload


s2c = [(k, t) for d, k, t in texts if d == "s2c"]
closes = [d for _, k, d in msgs if k == "close" and isinstance(d, bytes)]
for i, (kind, t) in enumerate(s2c[:40]):
    data = t.encode()
    add("websocket", b"\x00\x00" + frame(1 if kind == "text" else 2, data), f"msg-{i:02d}")
# A session's worth: several messages, a ping, fragments with a ping between them, the close.
seq = b"".join(frame(1, t.encode()) for _, t in s2c[:4])
add("websocket", b"\x00\x00" + seq + frame(9, b"ka") + frame(10, b"") + frame(8, b"\x03\xe8bye"), "session")
if s2c:
    d = s2c[0][1].encode()
    third = max(1, len(d) // 3)
    frag = frame(1, d[:third], fin=False) + frame(9, b"p") + frame(0, d[third:2 * third], fin=False) + frame(0, d[2 * third:])
    add("websocket", b"\x00\x00" + frag, "fragmented")
    add("websocket", b"\x07\x00" + frag, "fragmented-chunked7")
    add("websocket", b"\x00\x80" + frame(2, bytes(1100), fin=False) + frame(0, bytes(100)), "over-small-limit")
    add("websocket", b"\x00\x00" + frame(1, d, mask=[1, 2, 3, 4]), "masked")
    add("websocket", b"\x00\x00" + frame(1, d, long16=True), "len16")
for i, c in enumerate(sorted(set(closes))[:6]):
    add("websocket", b"\x00\x00" + frame(8, c), f"close-{i}")
add("websocket", b"\x00\x00" + frame(1, b"ok", rsv=4), "rsv1")
add("websocket", b"\x00\x00" + frame(3, b"x"), "reserved-opcode")
add("websocket", b"\x00\x00" + frame(1, b"\xc3\x28 not utf-8"), "invalid-utf8")
add("websocket", b"\x00\x00" + frame(1, "caf\u00e9 \U0001F600".encode()), "utf8")
add("websocket", b"\x00\x00" + frame(0, b"x"), "continuation-first")
add("websocket", b"\x00\x00" + frame(8, b"\x03"), "close-1-byte")
add("websocket", b"\x00\x00" + bytes([0x81, 127]) + (1 << 63).to_bytes(8, "big"), "len64-huge")

# ---------------------------------------------------------------- webhook (HTTP requests)

def body(event, payload):
    return json.dumps({"event": event, "event_ts": 1700000000123, "payload": payload}, separators=(",", ":"))


bodies = [
    body("meeting.rtms_started", {"meeting_uuid": "mtg-uuid-1==", "operator_id": "sim-operator",
                                  "rtms_stream_id": "stream-1", "server_urls": "ws://127.0.0.1:9000/sig"}),
    body("meeting.rtms_stopped", {"meeting_uuid": "mtg-uuid-1==", "rtms_stream_id": "stream-1", "stop_reason": 6}),
    body("webinar.rtms_interrupted", {"webinar_uuid": "w==", "rtms_stream_id": "s2"}),
    body("contact_center.voice_rtms_started", {"engagement_id": "e1", "rtms_stream_id": "s3",
                                                "server_urls": "wss://a/sig,wss://b/sig", "signature": "abc"}),
    body("endpoint.url_validation", {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}),
    body("meeting.participant_joined", {"object": {"id": 1}}),
]


def request(b, signed=True, path="/webhook", extra="", chunked=False, keep_alive=False, version="1.1"):
    h = f"POST {path} HTTP/{version}\r\nHost: bot.example\r\nContent-Type: application/json\r\n"
    if signed:
        h += "x-zm-request-timestamp: {{TS}}\r\nx-zm-signature: {{SIG}}\r\n"
    h += extra
    if not keep_alive and version == "1.1":
        h += "Connection: close\r\n"
    if chunked:
        data = b.encode()
        mid = len(data) // 2
        return (h + "Transfer-Encoding: chunked\r\n\r\n").encode() + \
            f"{mid:x}\r\n".encode() + data[:mid] + f"\r\n{len(data) - mid:x}\r\n".encode() + data[mid:] + b"\r\n0\r\n\r\n"
    return (h + f"Content-Length: {len(b.encode())}\r\n\r\n").encode() + b.encode()


for i, b in enumerate(bodies):
    add("webhook", b"\x01" + request(b), f"signed-{i}")
    add("webhook", b"\x00" + request(b, signed=False), f"nosecret-{i}")
    add("webhook", b"\x03" + request(b), f"handle-{i}")
add("webhook", b"\x01" + request(bodies[0], chunked=True), "chunked")
add("webhook", b"\x1d" + request(bodies[0], chunked=True), "chunked-reads7")
add("webhook", b"\x01" + request(bodies[1], keep_alive=True) + request(bodies[2]), "pipelined")
add("webhook", b"\x01" + request(bodies[0], signed=False), "unsigned")
add("webhook", b"\x01" + request(bodies[0], signed=False,
                                 extra="x-zm-request-timestamp: {{TS}}\r\nx-zm-signature: v0=0000\r\n"), "badsig")
add("webhook", b"\x01" + request(bodies[0], signed=False,
                                 extra="x-zm-request-timestamp: 1000\r\nx-zm-signature: {{SIG}}\r\n"), "replayed")
add("webhook", b"\x01" + request(bodies[0], path="/webhook?x=1&y=2"), "query")
add("webhook", b"\x01" + request(bodies[0], version="1.0"), "http10")
add("webhook", b"\x01" + request("{not json", keep_alive=False), "badjson")
add("webhook", b"\x01" + request('{"event":""}'), "emptyevent")
add("webhook", b"\x00GET /webhook HTTP/1.1\r\nHost: x\r\n\r\n", "get")
add("webhook", b"\x00POST /other HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "otherpath")
add("webhook", b"\x00POST /webhook HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{}", "toolarge")
add("webhook", b"\x00POST /webhook HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "duplength")
add("webhook", b"\x00GARBAGE\r\n\r\n", "garbage")

# ---------------------------------------------------------------- write

for target, files in corpora.items():
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.remove(os.path.join(d, old))
    for name, data in sorted(files.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    size = sum(len(v) for v in files.values())
    print(f"{target}: {len(files)} seeds, {size} bytes")
