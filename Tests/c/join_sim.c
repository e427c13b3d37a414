/*
 * join_sim.c: joins RTMS streams of rtms-sim from C, the way a program written for Zoom's C SDK
 * does it, and checks that every kind of callback arrives.
 *
 *   rtms-sim --no-tls --print-started --duration 12 --client-id ID --client-secret SECRET > started.jsonl &
 *   join_sim --client-id ID --client-secret SECRET "$(head -n 1 started.jsonl)"
 *   join_sim --client-id ID --client-secret SECRET --sessions 2 < started.jsonl
 *
 * Input: the rtms_started webhook body printed by `rtms-sim --print-started`, one JSON line per
 * meeting, as the last argument or on stdin. With --sessions N the program runs N sessions one
 * after the other, each on a new handle (alloc, join, poll until on_leave, release), reading one
 * line per session; session 1 passes NULL media parameters and later sessions explicit ones.
 * --expect-reject CODE instead expects the join to fail with that reason (e.g. 3 when the
 * client secret is wrong) and no on_leave.
 *
 * The program is split in two on purpose:
 *   - Part 1 uses only the Zoom-compatible API of rtms_csdk.h: rtms_init, rtms_alloc,
 *     rtms_config, rtms_set_callbacks, rtms_subscribe_event, rtms_join, rtms_poll,
 *     rtms_release, rtms_uninit and the rtms_csdk_ops callbacks.
 *   - Part 2 uses the OpenRTMS additions of openrtms.h, which Zoom's SDK does not have: the
 *     chat, error and participant-video callbacks (rtms_set_ext_callbacks), the client
 *     id/secret in rtms_options so the signature is computed by the library, statistics and
 *     reason names.
 *
 * Exit status: 0 when every session met every expectation, 1 otherwise, 2 for bad usage.
 */
#define _POSIX_C_SOURCE 200809L

/* Zoom's C SDK API (a Zoom SDK program includes only this). */
#include "rtms_csdk.h"
/* OpenRTMS additions: chat/error callbacks, options, statistics. Used in part 2 only. */
#include "openrtms.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ============================================================================================
 * Test bookkeeping
 * ========================================================================================== */

struct counts {
    int join_confirms, join_reason;
    int leaves, leave_reason;
    int audio, video, ds, transcript, chat;
    long long audio_bytes, video_bytes, ds_bytes;
    int user_join, user_leave;
    int session_add, session_stop, session_other;
    int events_ex, participant_video;
    int stream_states, errors;
    int anomalies; /* callback arguments that contradict the header's contract */
};

static struct counts c;
static volatile int done; /* set by on_leave, or by a failed on_join_confirm */
static char expect_uuid[256], expect_stream[256];

static void anomaly(const char *fmt, ...)
{
    va_list ap;
    c.anomalies++;
    if (c.anomalies > 10) return; /* enough to see the pattern */
    fprintf(stderr, "join_sim: anomaly: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int is_jpeg(const unsigned char *buf, int size)
{
    return buf != NULL && size > 4 && buf[0] == 0xFF && buf[1] == 0xD8;
}

/* ============================================================================================
 * The rtms_started line: a small extractor for "key": "string value" anywhere in the JSON.
 * Enough for the webhook body (flat string values); returns 0 when the key is missing.
 * ========================================================================================== */

static int json_string(const char *json, const char *key, char *out, size_t out_len)
{
    size_t klen = strlen(key);
    const char *p = json;

    while ((p = strchr(p, '"')) != NULL) {
        const char *q;
        size_t n = 0;

        p++;
        if (strncmp(p, key, klen) != 0 || p[klen] != '"') {
            /* Not our key: skip this string (respecting escapes). */
            while (*p && *p != '"') p += (*p == '\\' && p[1]) ? 2 : 1;
            if (*p) p++;
            continue;
        }
        q = p + klen + 1;
        while (*q == ' ' || *q == '\t') q++;
        if (*q != ':') {
            p = q;
            continue;
        } /* the key text appeared as a value */
        q++;
        while (*q == ' ' || *q == '\t') q++;
        if (*q != '"') return 0; /* not a string value */
        q++;
        while (*q && *q != '"') {
            char ch = *q++;
            if (ch == '\\') {
                char e = *q++;
                switch (e) {
                case '"':
                case '\\':
                case '/':
                    ch = e;
                    break;
                case 'n':
                    ch = '\n';
                    break;
                case 't':
                    ch = '\t';
                    break;
                case 'r':
                    ch = '\r';
                    break;
                case 'b':
                    ch = '\b';
                    break;
                case 'f':
                    ch = '\f';
                    break;
                case 'u': { /* ASCII only; ids are ASCII */
                    unsigned v = 0;
                    int i;
                    for (i = 0; i < 4; i++) {
                        char h = *q++;
                        v <<= 4;
                        if (h >= '0' && h <= '9')
                            v |= (unsigned)(h - '0');
                        else if (h >= 'a' && h <= 'f')
                            v |= (unsigned)(h - 'a' + 10);
                        else if (h >= 'A' && h <= 'F')
                            v |= (unsigned)(h - 'A' + 10);
                        else
                            return 0;
                    }
                    if (v == 0 || v > 0x7F) return 0;
                    ch = (char)v;
                    break;
                }
                default:
                    return 0;
                }
            }
            if (n + 1 >= out_len) return 0;
            out[n++] = ch;
        }
        if (*q != '"') return 0; /* unterminated */
        out[n] = '\0';
        return 1;
    }
    return 0;
}

/* ============================================================================================
 * Part 1: the Zoom C SDK API (rtms_csdk.h)
 * ========================================================================================== */

static void on_join_confirm(struct rtms_csdk *sdk, int reason)
{
    c.join_confirms++;
    c.join_reason = reason;
    printf("join_sim: on_join_confirm(%d)\n", reason);
    if (reason != 0) {
        done = 1; /* a failed join reports no on_leave */
        return;
    }
    if (sdk->meeting_uuid == NULL || strcmp(sdk->meeting_uuid, expect_uuid) != 0)
        anomaly("sdk->meeting_uuid is '%s', expected '%s'", sdk->meeting_uuid ? sdk->meeting_uuid : "(null)",
                expect_uuid);
    if (sdk->rtms_stream_id == NULL || strcmp(sdk->rtms_stream_id, expect_stream) != 0)
        anomaly("sdk->rtms_stream_id is '%s', expected '%s'", sdk->rtms_stream_id ? sdk->rtms_stream_id : "(null)",
                expect_stream);
}

static void on_session_update(struct rtms_csdk *sdk, int op, struct session_info *sess)
{
    (void)sdk;
    if (op == SESSION_ADD)
        c.session_add++;
    else if (op == SESSION_STOP)
        c.session_stop++;
    else
        c.session_other++;
    if (sess == NULL || sess->session_id == NULL || sess->session_id[0] == '\0') {
        anomaly("on_session_update(%d) without a session id", op);
        return;
    }
    if (sess->stream_id == NULL || strcmp(sess->stream_id, expect_stream) != 0)
        anomaly("session_info.stream_id is '%s'", sess->stream_id ? sess->stream_id : "(null)");
    if (strncmp(sess->meeting_id, expect_uuid, sizeof sess->meeting_id) != 0)
        anomaly("session_info.meeting_id is '%.*s'", (int)sizeof sess->meeting_id, sess->meeting_id);
}

static void on_user_update(struct rtms_csdk *sdk, int op, struct participant_info *pi)
{
    (void)sdk;
    if (pi == NULL || pi->participant_name == NULL) {
        anomaly("on_user_update(%d) without participant_info or name", op);
        return;
    }
    if (op == USER_JOIN) {
        c.user_join++;
        if (pi->participant_name[0] == '\0') anomaly("USER_JOIN of %d without a name", pi->participant_id);
    } else if (op == USER_LEAVE) {
        c.user_leave++;
    } else {
        anomaly("on_user_update with op %d", op);
    }
}

static void check_media(const char *kind, unsigned char *buf, int size, struct rtms_metadata *md)
{
    if (buf == NULL || size <= 0) anomaly("%s callback with buf %p size %d", kind, (void *)buf, size);
    if (md == NULL || md->user_name == NULL) anomaly("%s callback without metadata/user_name", kind);
}

static void on_audio_data(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp,
                          struct rtms_metadata *md)
{
    (void)sdk;
    (void)timestamp;
    c.audio++;
    c.audio_bytes += size;
    check_media("audio", buf, size, md);
    if (size % 2 != 0) anomaly("L16 audio message of odd size %d", size);
}

static void on_video_data(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp,
                          struct rtms_metadata *md)
{
    (void)sdk;
    (void)timestamp;
    c.video++;
    c.video_bytes += size;
    check_media("video", buf, size, md);
    if (!is_jpeg(buf, size)) anomaly("video frame %d is not a JPEG", c.video);
}

static void on_ds_data(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp,
                       struct rtms_metadata *md)
{
    (void)sdk;
    (void)timestamp;
    c.ds++;
    c.ds_bytes += size;
    check_media("deskshare", buf, size, md);
    if (!is_jpeg(buf, size)) anomaly("deskshare frame %d is not a JPEG", c.ds);
}

static void on_transcript_data(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp,
                               struct rtms_metadata *md)
{
    (void)sdk;
    (void)timestamp;
    c.transcript++;
    check_media("transcript", buf, size, md);
    if (md != NULL && md->start_ts > md->end_ts)
        anomaly("transcript start_ts %llu > end_ts %llu", (unsigned long long)md->start_ts,
                (unsigned long long)md->end_ts);
    if (c.transcript == 1 && buf != NULL && size > 0)
        printf("join_sim: first transcript from '%s': %.*s\n", md && md->user_name ? md->user_name : "?", size,
               (const char *)buf);
}

static void on_leave(struct rtms_csdk *sdk, int reason)
{
    (void)sdk;
    c.leaves++;
    c.leave_reason = reason;
    printf("join_sim: on_leave(%d)\n", reason);
    done = 1;
}

static void on_event_ex(struct rtms_csdk *sdk, const char *buf, int size)
{
    (void)sdk;
    c.events_ex++;
    if (buf == NULL || size <= 0 || buf[size] != '\0' || buf[0] != '{')
        anomaly("on_event_ex: not a NUL-terminated JSON object of size %d", size);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ============================================================================================
 * Part 2: OpenRTMS additions (openrtms.h)
 * ========================================================================================== */

static void on_chat_data(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp,
                         struct rtms_metadata *md)
{
    (void)sdk;
    (void)timestamp;
    c.chat++;
    check_media("chat", buf, size, md);
    if (buf != NULL && size > 0)
        printf("join_sim: chat from '%s': %.*s\n", md && md->user_name ? md->user_name : "?", size, (const char *)buf);
}

static void on_participant_video(struct rtms_csdk *sdk, int *users, int n, int is_on)
{
    (void)sdk;
    (void)is_on;
    c.participant_video++;
    if (n <= 0 || users == NULL) anomaly("on_participant_video with %d users", n);
}

static void on_stream_state(struct rtms_csdk *sdk, int state, int reason)
{
    (void)sdk;
    (void)state;
    (void)reason;
    c.stream_states++;
}

static void on_error(struct rtms_csdk *sdk, int code, const char *message)
{
    (void)sdk;
    c.errors++;
    printf("join_sim: on_error(%d): %s\n", code, message ? message : "(null)");
}

/* Chat and error callbacks, client id/secret for the signature. Returns RTMS_SDK_OK or a code. */
static int openrtms_setup(struct rtms_csdk *sdk, const char *client_id, const char *client_secret)
{
    struct rtms_ext_ops ext;
    struct rtms_options opts;
    int rc;

    memset(&ext, 0, sizeof ext);
    ext.version = RTMS_EXT_OPS_VERSION;
    ext.on_chat_data = on_chat_data;
    ext.on_stream_state = on_stream_state;
    ext.on_error = on_error;
    ext.on_participant_video = on_participant_video; /* not in Zoom's rtms_csdk_ops */
    if ((rc = rtms_set_ext_callbacks(sdk, &ext)) != RTMS_SDK_OK) {
        fprintf(stderr, "join_sim: rtms_set_ext_callbacks: %d (%s)\n", rc, rtms_last_error());
        return rc;
    }
    if ((rc = rtms_options_init(&opts, RTMS_OPTIONS_VERSION)) != RTMS_SDK_OK) {
        fprintf(stderr, "join_sim: rtms_options_init: %d (%s)\n", rc, rtms_last_error());
        return rc;
    }
    opts.client_id = client_id;         /* NULL: ZM_RTMS_CLIENT from the environment */
    opts.client_secret = client_secret; /* NULL: ZM_RTMS_SECRET */
    if ((rc = rtms_set_options(sdk, &opts)) != RTMS_SDK_OK) {
        fprintf(stderr, "join_sim: rtms_set_options: %d (%s)\n", rc, rtms_last_error());
        return rc;
    }
    return RTMS_SDK_OK;
}

/* Statistics after the session; returns 1 when they are consistent with the callbacks seen. */
static int openrtms_check_stats(struct rtms_csdk *sdk, char *summary, size_t len)
{
    struct rtms_stats st;
    int ok = 1, rc;

    memset(&st, 0, sizeof st);
    st.version = RTMS_STATS_VERSION;
    if ((rc = rtms_get_stats(sdk, &st)) != RTMS_SDK_OK) {
        fprintf(stderr, "join_sim: rtms_get_stats: %d (%s)\n", rc, rtms_last_error());
        snprintf(summary, len, "stats=unavailable");
        return 0;
    }
    snprintf(summary, len,
             "queued=%llu/%llu/%llu/%llu/%llu control=%llu delivered=%llu malformed=%llu unexpected=%llu full=%llu "
             "pauses=%llu hwm=%llu",
             (unsigned long long)st.media_messages[0], (unsigned long long)st.media_messages[1],
             (unsigned long long)st.media_messages[2], (unsigned long long)st.media_messages[3],
             (unsigned long long)st.media_messages[4], (unsigned long long)st.control_events,
             (unsigned long long)st.delivered, (unsigned long long)st.dropped_malformed,
             (unsigned long long)st.dropped_unexpected, (unsigned long long)st.dropped_queue_full,
             (unsigned long long)st.read_pauses, (unsigned long long)st.queue_high_water_bytes);
    if (st.version != RTMS_STATS_VERSION) {
        fprintf(stderr, "join_sim: stats.version %u\n", st.version);
        ok = 0;
    }
    if (st.dropped_malformed != 0) {
        fprintf(stderr, "join_sim: dropped_malformed = %llu\n", (unsigned long long)st.dropped_malformed);
        ok = 0;
    }
    if (st.dropped_queue_full != 0) {
        fprintf(stderr, "join_sim: dropped_queue_full = %llu without drop_when_full\n",
                (unsigned long long)st.dropped_queue_full);
        ok = 0;
    }
    /* Every media callback was queued first; events queued after on_leave are never delivered. */
    if (st.media_messages[0] < (uint64_t)c.audio || st.media_messages[1] < (uint64_t)c.video ||
        st.media_messages[2] < (uint64_t)c.ds || st.media_messages[3] < (uint64_t)c.transcript ||
        st.media_messages[4] < (uint64_t)c.chat) {
        fprintf(stderr, "join_sim: stats count fewer media messages than callbacks\n");
        ok = 0;
    }
    if (st.delivered < (uint64_t)(c.audio + c.video + c.ds + c.transcript + c.chat)) {
        fprintf(stderr, "join_sim: stats.delivered %llu < media callbacks\n", (unsigned long long)st.delivered);
        ok = 0;
    }
    return ok;
}

/* ============================================================================================
 * One session
 * ========================================================================================== */

struct run_options {
    const char *client_id, *client_secret;
    int explicit_params;
    int expect_reject; /* 0 = expect success; else the expected join reason */
    double timeout_s;
};

static int fail_count;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "join_sim: FAILED: %s\n", what);
        fail_count++;
    }
}

static int run_session(int index, const char *line, const struct run_options *ro)
{
    char server_urls[1024];
    struct rtms_csdk_ops ops;
    struct audio_parameters ap;
    struct video_parameters vp;
    struct ds_parameters dp;
    struct transcript_parameters tp;
    struct media_parameters mp;
    int events[] = {2, 3, 4, 5, 6, 8, 9};
    struct rtms_csdk *sdk;
    char stats_summary[512] = "";
    int stats_ok = 0, rc, before = fail_count;
    double start, deadline;

    memset(&c, 0, sizeof c);
    c.join_reason = c.leave_reason = -12345;
    done = 0;

    if (!json_string(line, "meeting_uuid", expect_uuid, sizeof expect_uuid) ||
        !json_string(line, "rtms_stream_id", expect_stream, sizeof expect_stream) ||
        !json_string(line, "server_urls", server_urls, sizeof server_urls)) {
        fprintf(stderr, "join_sim: session %d: no meeting_uuid/rtms_stream_id/server_urls in: %s\n", index, line);
        fail_count++;
        return 0;
    }
    printf("join_sim: session %d: meeting %s stream %s at %s (%s media parameters)\n", index, expect_uuid,
           expect_stream, server_urls, ro->explicit_params ? "explicit" : "NULL");

    sdk = rtms_alloc();
    if (sdk == NULL) {
        fprintf(stderr, "join_sim: rtms_alloc failed: %s\n", rtms_last_error());
        fail_count++;
        return 0;
    }

    /* Media: everything, one connection per kind. */
    if (ro->explicit_params) {
        memset(&ap, 0, sizeof ap);
        ap.content_type = 2; /* RAW_AUDIO */
        ap.codec = 1;        /* L16 */
        ap.sample_rate = 1;  /* SR_16K */
        ap.channel = 1;      /* MONO */
        ap.data_opt = 1;     /* AUDIO_MIXED_STREAM */
        ap.duration = 20;
        ap.frame_size = 320; /* 16 kHz x 20 ms */
        memset(&vp, 0, sizeof vp);
        vp.content_type = 3; /* RAW_VIDEO */
        vp.codec = 5;        /* JPG */
        vp.resolution = 2;   /* HD */
        vp.data_opt = 3;     /* VIDEO_SINGLE_ACTIVE_STREAM */
        vp.fps = 5;
        memset(&dp, 0, sizeof dp);
        dp.content_type = 3;
        dp.codec = 5;
        dp.resolution = 3; /* FHD */
        dp.fps = 1;
        memset(&tp, 0, sizeof tp);
        tp.content_type = 5;  /* TEXT */
        tp.src_language = -1; /* let the server detect */
        tp.enable_lid = true;
        mp.audio_param = &ap;
        mp.video_param = &vp;
        mp.ds_param = &dp;
        mp.tr_param = &tp;
    }
    rc = rtms_config(sdk, ro->explicit_params ? &mp : NULL,
                     SDK_AUDIO | SDK_VIDEO | SDK_DESKSHARE | SDK_TRANSCRIPT | SDK_CHAT, 0);
    expect(rc == RTMS_SDK_OK, "rtms_config returns RTMS_SDK_OK");

    memset(&ops, 0, sizeof ops);
    ops.on_join_confirm = on_join_confirm;
    ops.on_session_update = on_session_update;
    ops.on_user_update = on_user_update;
    ops.on_audio_data = on_audio_data;
    ops.on_video_data = on_video_data;
    ops.on_ds_data = on_ds_data;
    ops.on_transcript_data = on_transcript_data;
    ops.on_leave = on_leave;
    ops.on_event_ex = on_event_ex;
    expect(rtms_set_callbacks(sdk, &ops) == RTMS_SDK_OK, "rtms_set_callbacks returns RTMS_SDK_OK");

    /* Part 2: chat and error callbacks, client id/secret (so the signature can be NULL). */
    expect(openrtms_setup(sdk, ro->client_id, ro->client_secret) == RTMS_SDK_OK, "OpenRTMS setup");

    /* Before the join: active speaker, participant join/leave, sharing start/stop, video on/off. */
    expect(rtms_subscribe_event(sdk, events, (int)(sizeof events / sizeof events[0])) == RTMS_SDK_OK,
           "rtms_subscribe_event before the join returns RTMS_SDK_OK");

    rc = rtms_join(sdk, expect_uuid, expect_stream, NULL, server_urls, 10000);
    if (rc != RTMS_SDK_OK) {
        fprintf(stderr, "join_sim: rtms_join: %d (%s)\n", rc, rtms_last_error());
        expect(0, "rtms_join returns RTMS_SDK_OK");
    } else {
        start = now_seconds();
        deadline = start + ro->timeout_s;
        while (!done) {
            rtms_poll(sdk);
            if (now_seconds() > deadline) {
                fprintf(stderr, "join_sim: no on_leave within %.0f s (state %d)\n", ro->timeout_s, rtms_get_state(sdk));
                expect(0, "the session ends within the time limit");
                break;
            }
        }
        printf("join_sim: session %d lasted %.1f s\n", index, now_seconds() - start);
    }

    if (rc != RTMS_SDK_OK) {
        /* Nothing to check about callbacks: the join never started. */
    } else if (ro->expect_reject) {
        expect(c.join_confirms == 1 && c.join_reason == ro->expect_reject,
               "on_join_confirm reports the expected rejection");
        expect(c.leaves == 0, "no on_leave after a failed join");
        expect(c.errors >= 1, "on_error explains the failed join");
        expect(c.audio + c.video + c.ds + c.transcript + c.chat == 0, "no media after a failed join");
        {
            char text[512];
            int n = rtms_get_failure(sdk, text, (int)sizeof text);
            printf("join_sim: rtms_get_failure: %s (%s)\n", n > 0 ? text : "(none)",
                   rtms_join_reason_string(c.join_reason));
            expect(n > 0, "rtms_get_failure has text after a failed join");
        }
    } else {
        expect(c.join_confirms == 1 && c.join_reason == 0, "on_join_confirm(0) exactly once");
        expect(c.audio > 0, "audio callbacks");
        expect(c.video > 0, "video callbacks");
        expect(c.ds > 0, "deskshare callbacks");
        expect(c.transcript > 0, "transcript callbacks");
        expect(c.chat > 0, "chat callbacks");
        expect(c.user_join > 0, "on_user_update(USER_JOIN)");
        expect(c.session_add > 0, "on_session_update(SESSION_ADD)");
        expect(c.events_ex > 0, "on_event_ex");
        expect(c.participant_video > 0, "on_participant_video (event types 8/9 subscribed)");
        expect(c.leaves == 1 && c.leave_reason == 6, "on_leave(6) (meeting ended) exactly once");
        stats_ok = openrtms_check_stats(sdk, stats_summary, sizeof stats_summary);
        expect(stats_ok, "rtms_get_stats consistent (dropped_malformed == 0)");
    }
    expect(c.anomalies == 0, "callback arguments follow the header's contract");

    rc = rtms_release(sdk);
    expect(rc == RTMS_SDK_OK, "rtms_release returns RTMS_SDK_OK");
    /* sdk is freed now: using it again would be a use-after-free, so it is not touched. */
    sdk = NULL;
    expect(rtms_release(NULL) == RTMS_SDK_NOT_EXIST, "rtms_release(NULL) returns RTMS_SDK_NOT_EXIST");

    printf("join_sim: session %d: %s join=%d audio=%d(%lldB) video=%d(%lldB) ds=%d(%lldB) transcript=%d chat=%d "
           "user_join=%d user_leave=%d session_add=%d session_stop=%d event_ex=%d participant_video=%d "
           "stream_state=%d errors=%d anomalies=%d leave=%d(%s) %s\n",
           index, fail_count == before ? "PASS" : "FAIL", c.join_reason, c.audio, c.audio_bytes, c.video, c.video_bytes,
           c.ds, c.ds_bytes, c.transcript, c.chat, c.user_join, c.user_leave, c.session_add, c.session_stop,
           c.events_ex, c.participant_video, c.stream_states, c.errors, c.anomalies, c.leave_reason,
           c.leaves ? rtms_leave_reason_string(c.leave_reason) : "none", stats_summary);
    return fail_count == before;
}

/* ============================================================================================
 * main
 * ========================================================================================== */

static void usage(void)
{
    fprintf(stderr, "usage: join_sim [--client-id ID] [--client-secret SECRET] [--sessions N] [--explicit-params]\n"
                    "                [--expect-reject REASON] [--timeout SECONDS] [RTMS_STARTED_JSON]\n"
                    "The rtms_started line(s) come from the last argument or, one per session, from stdin.\n");
}

static char *read_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n > 0) return line; /* skip blank lines */
    }
    free(line);
    return NULL;
}

int main(int argc, char **argv)
{
    struct run_options ro;
    const char *json_arg = NULL;
    int sessions = 1, i, passed = 0;

    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr in order in logs */
    memset(&ro, 0, sizeof ro);
    ro.timeout_s = 60;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--client-id") == 0 && i + 1 < argc)
            ro.client_id = argv[++i];
        else if (strcmp(a, "--client-secret") == 0 && i + 1 < argc)
            ro.client_secret = argv[++i];
        else if (strcmp(a, "--sessions") == 0 && i + 1 < argc)
            sessions = atoi(argv[++i]);
        else if (strcmp(a, "--explicit-params") == 0)
            ro.explicit_params = 1;
        else if (strcmp(a, "--expect-reject") == 0 && i + 1 < argc)
            ro.expect_reject = atoi(argv[++i]);
        else if (strcmp(a, "--timeout") == 0 && i + 1 < argc)
            ro.timeout_s = atof(argv[++i]);
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else if (a[0] == '-' && a[1] == '-') {
            usage();
            return 2;
        } else if (json_arg == NULL)
            json_arg = a;
        else {
            usage();
            return 2;
        }
    }
    if (sessions < 1 || ro.timeout_s <= 0 || (json_arg != NULL && sessions != 1)) {
        usage();
        return 2;
    }

    /* Zoom's order: process-wide init first (no CA file, verify certificates, agent name). */
    if (rtms_init(NULL, 1, "c-test") != RTMS_SDK_OK) {
        fprintf(stderr, "join_sim: rtms_init failed\n");
        return 1;
    }
    printf("join_sim: librtms %s\n", rtms_version());

    for (i = 1; i <= sessions; i++) {
        char *line = NULL;
        const char *input = json_arg;
        if (input == NULL) {
            line = read_line(stdin);
            if (line == NULL) {
                fprintf(stderr, "join_sim: stdin ended before session %d's rtms_started line\n", i);
                fail_count++;
                break;
            }
            input = line;
        }
        {
            struct run_options per = ro;
            if (sessions > 1) per.explicit_params = ro.explicit_params || i > 1;
            passed += run_session(i, input, &per);
        }
        free(line);
    }

    rtms_uninit();
    printf("join_sim: %s: %d of %d session(s) passed\n", fail_count == 0 && passed == sessions ? "PASS" : "FAIL",
           passed, sessions);
    return fail_count == 0 && passed == sessions ? 0 : 1;
}
