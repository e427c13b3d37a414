"""The binding's constant tables against the public C headers (include/openrtms.h "Protocol
constants" and rtms_common.h), read from the header text: for every table, the same names and
values here, in Node (bindings/node/test/constants.test.js, same mapping) and in the header.
Also the one version string (Tests/consistency/versions.py).

The tables keep Zoom's public names; the mapping from header prefix to binding table is TABLES."""

import os
import re
import subprocess
import sys
import unittest

import rtms

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
INCLUDE = os.path.join(ROOT, "include")


def header_constants():
    """{name: value} of every integer #define of the public headers ("(-1)" included), and of the
    RTMS_SDK_* enum of rtms_common.h."""
    found = {}
    for name in sorted(os.listdir(INCLUDE)):
        if not name.endswith(".h"):
            continue
        with open(os.path.join(INCLUDE, name), encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"^#define\s+(\w+)\s+\(?(-?\d+)\)?(?:\s|$)", text, re.M):
            found[m.group(1)] = int(m.group(2))
        for m in re.finditer(r"^\s*(RTMS_SDK_\w+)\s*=\s*(-?\d+)\s*,?", text, re.M):
            found[m.group(1)] = int(m.group(2))
    return found


HEADER = header_constants()


def table(prefix, rename=lambda n: n, leave_out=()):
    """The header constants of one prefix as {binding name: value}, without the names left out."""
    out = {rename(k[len(prefix):]): v for k, v in HEADER.items() if k.startswith(prefix)}
    assert out, "no #define %s* in include/" % prefix
    for n in leave_out:
        assert n in out, "%s%s is not in the header" % (prefix, n)
        del out[n]
    return out


CHAT_GROUP_EVENTS = [k[len("RTMS_EVENT_"):] for k in HEADER if k.startswith("RTMS_EVENT_CHAT_GROUP_")]

# Binding table -> {name: value} it must be exactly (aliases included), from the header.
#   Leaving out: AudioContentType has no RAW_VIDEO and VideoContentType no RAW_AUDIO (Zoom's
#   tables); Zoom's EventType has no CHAT_GROUP_* (the core passes them as numbers).
#   Binding-only: MediaDataType.UNDEFINED (0; the header's media types are the SDK_* bits).
TABLES = {
    "AudioContentType": lambda: table("RTMS_CONTENT_TYPE_", leave_out=["RAW_VIDEO"]),
    "VideoContentType": lambda: table("RTMS_CONTENT_TYPE_", leave_out=["RAW_AUDIO"]),
    "AudioCodec": lambda: table("RTMS_AUDIO_CODEC_"),
    "VideoCodec": lambda: table("RTMS_VIDEO_CODEC_"),
    "AudioSampleRate": lambda: table("RTMS_SAMPLE_RATE_", rename=lambda n: "SR_" + n),
    "AudioChannel": lambda: table("RTMS_AUDIO_CHANNEL_"),
    "DataOption": lambda: table("RTMS_DATA_OPTION_"),  # AudioDataOption, VideoDataOption: the same
    "VideoResolution": lambda: table("RTMS_RESOLUTION_"),
    "MediaDataType": lambda: dict(table("SDK_"), UNDEFINED=0),
    "EventType": lambda: dict(table("RTMS_EVENT_", leave_out=CHAT_GROUP_EVENTS), **table("RTMS_ZCC_EVENT_")),
    "StopReason": lambda: dict(table("RTMS_STOP_REASON_"), **table("RTMS_REASON_")),
    "StreamState": lambda: table("RTMS_STREAM_STATE_"),
    "SessionState": lambda: table("RTMS_SESSION_STATE_"),
    "TranscriptLanguage": lambda: table("RTMS_LANGUAGE_"),
    "MessageType": lambda: table("RTMS_MSG_"),
}
# Integer tables of the binding that are not protocol constants.
NOT_PROTOCOL = {"LogLevel"}

# Flat names -> header prefix (Zoom's flat names: MEDIA_TYPE_AUDIO is SDK_AUDIO...).
FLAT = {
    "MEDIA_TYPE_": lambda: table("SDK_"),
    "SESSION_EVENT_": lambda: {n: HEADER["SESSION_" + n] for n in ("ADD", "STOP", "PAUSE", "RESUME")},
    "USER_": lambda: table("USER_"),
    "EVENT_": lambda: TABLES["EventType"](),
    "RTMS_SDK_": lambda: table("RTMS_SDK_"),
    # Zoom's Python and Node SDKs say ACTIVE 0, PAUSED 1 where the C header (session_info.status)
    # says 1 and 2: the bindings translate (_core.py, addon.c), so the binding value is C's - 1.
    "SESS_STATUS_": lambda: {k: v - 1 for k, v in table("SESS_STATUS_").items()},
}


class TestConstantsMatchTheHeader(unittest.TestCase):
    def test_header_parse(self):
        self.assertEqual(HEADER["RTMS_STOP_REASON_MEETING_ENDED"], 6)
        self.assertEqual(HEADER["RTMS_LANGUAGE_NONE"], -1)
        self.assertEqual(HEADER["RTMS_SDK_FAILURE"], -1)
        self.assertEqual(HEADER["RTMS_MSG_VIDEO_SUBSCRIPTION_RESP"], 29)

    def test_every_table_is_the_headers(self):
        for name, expected in TABLES.items():
            with self.subTest(table=name):
                actual = {n: int(m) for n, m in getattr(rtms, name).__members__.items()}
                self.assertEqual(actual, expected())
        self.assertIs(rtms.AudioDataOption, rtms.DataOption)
        self.assertIs(rtms.VideoDataOption, rtms.DataOption)

    def test_every_integer_table_is_mapped(self):
        tables = {n for n in dir(rtms) if isinstance(getattr(rtms, n), type) and issubclass(getattr(rtms, n), int)
                  and getattr(rtms, n) is not int and n[0].isupper() and n != "IntEnum"}
        tables -= {"AudioDataOption", "VideoDataOption"}  # aliases of DataOption
        self.assertEqual(tables, set(TABLES) | NOT_PROTOCOL)

    def test_flat_names_are_the_headers(self):
        flat = {n: getattr(rtms, n) for n in dir(rtms) if re.fullmatch(r"[A-Z][A-Z0-9_]+", n)
                and isinstance(getattr(rtms, n), int)}
        expected = {}
        for prefix, values in FLAT.items():
            expected.update({prefix + n: v for n, v in values().items()})
        self.assertEqual(flat, expected)

    def test_stop_reasons_named_by_the_core(self):
        # The library's name of each stop reason is the header's and the binding's.
        for macro, value in HEADER.items():
            if macro.startswith("RTMS_STOP_REASON_"):
                self.assertEqual(rtms._native.rtms_leave_reason_string(value).decode(),
                                 macro[len("RTMS_STOP_REASON_"):])


class TestOneVersion(unittest.TestCase):
    def test_versions_agree(self):
        script = os.path.join(ROOT, "Tests", "consistency", "versions.py")
        r = subprocess.run([sys.executable, script], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)

    def test_loaded_library_is_this_version(self):
        with open(os.path.join(INCLUDE, "openrtms.h"), encoding="utf-8") as f:
            version = re.search(r'OPENRTMS_VERSION_STRING\s+"([^"]+)"', f.read()).group(1)
        self.assertEqual(rtms._native.rtms_version().decode(), version)


if __name__ == "__main__":
    unittest.main()
