"""The binding's types at run time: the package is marked typed, every name of Zoom's stub exists,
and the callback aliases describe what the callbacks really receive (tests/typed_usage.py, a fully
annotated program, joins a simulator meeting; each call it recorded is checked against the alias
of its registrar). The static check, mypy, is tests/typecheck.py."""

import os
import sys
import typing
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simulator import CLIENT_ID, CLIENT_SECRET, Simulator  # noqa: E402

import rtms  # noqa: E402
import typed_usage  # noqa: E402

# Every module-level name of Zoom's stub (rtms 1.1.0, src/rtms/__init__.pyi).
ZOOM_STUB_NAMES = """
Session Participant Metadata AudioParams VideoParams DeskshareParams EventParticipantInfo
ParticipantEventCallback ActiveSpeakerEventCallback SharingEventCallback EventExCallback Client
MEDIA_TYPE_AUDIO MEDIA_TYPE_VIDEO MEDIA_TYPE_DESKSHARE MEDIA_TYPE_TRANSCRIPT MEDIA_TYPE_CHAT MEDIA_TYPE_ALL
SESSION_EVENT_ADD SESSION_EVENT_STOP SESSION_EVENT_PAUSE SESSION_EVENT_RESUME
EVENT_UNDEFINED EVENT_FIRST_PACKET_TIMESTAMP EVENT_ACTIVE_SPEAKER_CHANGE EVENT_PARTICIPANT_JOIN
EVENT_PARTICIPANT_LEAVE EVENT_SHARING_START EVENT_SHARING_STOP EVENT_MEDIA_CONNECTION_INTERRUPTED
EVENT_CONSUMER_ANSWERED EVENT_CONSUMER_END EVENT_USER_ANSWERED EVENT_USER_END EVENT_USER_HOLD EVENT_USER_UNHOLD
RTMS_SDK_OK RTMS_SDK_FAILURE RTMS_SDK_TIMEOUT RTMS_SDK_NOT_EXIST RTMS_SDK_WRONG_TYPE RTMS_SDK_INVALID_STATUS
RTMS_SDK_INVALID_ARGS SESS_STATUS_ACTIVE SESS_STATUS_PAUSED
AudioContentType AudioCodec AudioSampleRate AudioChannel AudioDataOption VideoContentType VideoCodec
VideoResolution VideoDataOption MediaDataType SessionState StreamState EventType MessageType StopReason
initialize uninitialize generate_signature onWebhookEvent on_webhook_event run stop
LogLevel LogFormat log_debug log_info log_warn log_error configure_logger
""".split()

# The methods of the stub's Client.
ZOOM_STUB_CLIENT_METHODS = """
initialize uninitialize join poll release leave stop uuid streamId enableAudio enableVideo enableTranscript
enableDeskshare setAudioParams setVideoParams setDeskshareParams onJoinConfirm onSessionUpdate onParticipantEvent
onActiveSpeakerEvent onSharingEvent onEventEx onAudioData onVideoData onDeskshareData onTranscriptData onLeave
subscribeEvent unsubscribeEvent on_webhook_event
""".split()

# What typed_usage records, by registrar, and the alias that registrar takes.
ALIASES = {
    "join_confirm": rtms.JoinConfirmCallback, "session_update": rtms.SessionUpdateCallback,
    "user_update": rtms.UserUpdateCallback, "audio_data": rtms.AudioDataCallback,
    "video_data": rtms.VideoDataCallback, "deskshare_data": rtms.DeskshareDataCallback,
    "transcript_data": rtms.TranscriptDataCallback, "chat_data": rtms.ChatDataCallback,
    "leave": rtms.LeaveCallback, "event_ex": rtms.EventExCallback,
    "participant_event": rtms.ParticipantEventCallback, "active_speaker": rtms.ActiveSpeakerEventCallback,
    "sharing": rtms.SharingEventCallback, "media_interrupted": rtms.MediaConnectionInterruptedCallback,
    "participant_video": rtms.ParticipantVideoCallback, "video_subscribed": rtms.VideoSubscribedCallback,
    "reconnecting": rtms.ReconnectingCallback, "reconnected": rtms.ReconnectedCallback,
    "stream_state": rtms.StreamStateCallback, "error": rtms.ErrorCallback,
}
# The simulator's meeting (with a media connection cut) produces these; the others are checked when they come.
EXPECTED = set(ALIASES) - {"media_interrupted", "error"}


def conforms(value, tp):
    """Whether value is of type tp (the forms the aliases use)."""
    if tp is typing.Any or tp is object:
        return True
    if tp is type(None):
        return value is None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        return any(conforms(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__"):   # a TypedDict
        hints = typing.get_type_hints(tp)
        return isinstance(value, dict) and set(value) == set(hints) and all(conforms(value[k], t) for k, t in hints.items())
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


class TestTypedPackage(unittest.TestCase):
    def test_py_typed_is_in_the_package_and_its_package_data(self):
        package = os.path.dirname(rtms.__file__)
        self.assertTrue(os.path.isfile(os.path.join(package, "py.typed")), package)
        pyproject = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyproject.toml")
        if os.path.exists(pyproject):   # the source tree (installed: the marker above is the proof)
            with open(pyproject, encoding="utf-8") as f:
                self.assertRegex(f.read(), r'(?m)^rtms = \[.*"py\.typed"')

    def test_every_name_of_zooms_stub_exists(self):
        self.assertEqual([n for n in ZOOM_STUB_NAMES if not hasattr(rtms, n)], [])
        self.assertEqual([n for n in ZOOM_STUB_CLIENT_METHODS if not callable(getattr(rtms.Client, n, None))], [])
        self.assertEqual([n for n in rtms.__all__ if not hasattr(rtms, n)], [])

    def test_the_participant_info_keys_are_the_ones_passed(self):
        self.assertEqual(typing.get_type_hints(rtms.EventParticipantInfo), {"user_id": int, "user_name": str})
        self.assertTrue(conforms({"user_id": 1, "user_name": ""}, rtms.EventParticipantInfo))
        self.assertFalse(conforms({"userId": 1, "userName": ""}, rtms.EventParticipantInfo))

    def test_enums_have_their_members_for_type_checkers(self):
        # Spelled out in the source (a comprehension would hide them from mypy): same values as Zoom's.
        self.assertEqual(rtms.TranscriptLanguage.NONE, -1)
        self.assertEqual(rtms.TranscriptLanguage.VIETNAMESE, 36)
        self.assertEqual(rtms.MessageType.VIDEO_SUBSCRIPTION_RESP, 29)
        self.assertEqual(rtms.StopReason(6).name, "MEETING_ENDED")
        self.assertEqual(rtms.StopReason(620).name, "UPGRADE_REFUSED")


class TestAliasesDescribeTheCalls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator()

    @classmethod
    def tearDownClass(cls):
        cls.sim.close()

    def test_typed_program_receives_what_its_annotations_say(self):
        body = self.sim.meeting(duration=5, participants=3,
                                chaos=[{"at_ms": 1500, "connection": "audio", "action": "abort"}])
        calls = typed_usage.main(body, CLIENT_ID, CLIENT_SECRET)
        self.assertEqual(calls.pop("failures", []), [])
        self.assertEqual(sorted(EXPECTED - set(calls)), [], "callbacks that never came")
        self.assertEqual(sorted(set(calls) - set(ALIASES)), [])
        for name, recorded in calls.items():
            params = typing.get_args(ALIASES[name])[0]
            for args in recorded:
                self.assertEqual(len(args), len(params), "%s%r" % (name, args))
                for value, tp in zip(args, params):
                    self.assertTrue(conforms(value, tp), "%s%r: %r is not %s" % (name, args, value, tp))
        self.assertEqual(calls["leave"], [(6,)])
        self.assertEqual({a[0] for a in calls["participant_event"]}, {"join", "leave"})
        self.assertEqual([a[0] for a in calls["sharing"]], ["start", "stop"])


if __name__ == "__main__":
    unittest.main()
