/*
 * Parity runner, C ABI side: joins the stream of an rtms_started body (argv[2]) or runs a
 * webhook intake, and prints every callback as one JSON line (the fields the parity driver
 * compares). Tests/parity/runner.py and runner.js print the same lines from Python and Node.
 *
 *   runner join '<rtms_started body>'    credentials from ZM_RTMS_CLIENT / ZM_RTMS_SECRET
 *   runner webhook <secret> [<body>]     the core's listener: prints {"port": N}, then one line
 *                                        per accepted event until an event named "parity.done",
 *                                        then {"stats": ...}. With an rtms_started body, a client
 *                                        joins that stream first ({"port"} once it has joined) and
 *                                        the runner also waits for its on_leave (a routed
 *                                        rtms_stopped ends it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openrtms.h"

static int done; /* join mode: on_leave; webhook mode: "parity.done" */
static int left;

static void put_string(const char *s, int n)
{
    int i;
    putchar('"');
    for (i = 0; n < 0 ? s[i] != 0 : i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void media(const char *kind, unsigned char *buf, int size, struct rtms_metadata *md)
{
    printf("{\"cb\":\"media\",\"kind\":\"%s\",\"user_id\":%u,\"user_name\":", kind, (unsigned)md->user_id);
    put_string(md->user_name ? md->user_name : "", -1);
    printf(",\"size\":%d", size);
    if (strcmp(kind, "transcript") == 0 || strcmp(kind, "chat") == 0) {
        printf(",\"text\":");
        put_string((const char *)buf, size);
    }
    printf("}\n");
}

static void on_audio(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m)
{
    (void)s;
    (void)t;
    media("audio", b, n, m);
}
static void on_video(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m)
{
    (void)s;
    (void)t;
    media("video", b, n, m);
}
static void on_ds(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m)
{
    (void)s;
    (void)t;
    media("deskshare", b, n, m);
}
static void on_transcript(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m)
{
    (void)s;
    (void)t;
    media("transcript", b, n, m);
}
static void on_chat(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m)
{
    (void)s;
    (void)t;
    media("chat", b, n, m);
}
static void on_join(struct rtms_csdk *s, int r)
{
    (void)s;
    printf("{\"cb\":\"join_confirm\",\"reason\":%d}\n", r);
}
static void on_leave(struct rtms_csdk *s, int r)
{
    (void)s;
    printf("{\"cb\":\"leave\",\"reason\":%d}\n", r);
    left = 1;
}
static void on_session(struct rtms_csdk *s, int op, struct session_info *si)
{
    (void)s;
    printf("{\"cb\":\"session_update\",\"op\":%d,\"active\":%s}\n", op,
           si->status == SESS_STATUS_PAUSED ? "false" : "true");
}
static void on_user(struct rtms_csdk *s, int op, struct participant_info *pi)
{
    (void)s;
    printf("{\"cb\":\"user_update\",\"op\":%d,\"id\":%u,\"name\":", op, (unsigned)pi->participant_id);
    put_string(pi->participant_name ? pi->participant_name : "", -1);
    printf("}\n");
}
static void on_event(struct rtms_csdk *s, const char *buf, int size)
{
    (void)s;
    printf("{\"cb\":\"event\",\"json\":");
    put_string(buf, size);
    printf("}\n");
}
/* Typed events (rtms_ext_ops): the same records as runner.py and runner.js print. */
static void on_participants(struct rtms_csdk *s, int op, uint64_t ts, struct participant_info *ps, int n)
{
    int i;
    (void)s;
    printf("{\"cb\":\"participant_event\",\"op\":\"%s\",\"timestamp\":%llu,\"participants\":[",
           op == USER_JOIN ? "join" : "leave", (unsigned long long)ts);
    for (i = 0; i < n; i++) {
        printf("%s{\"user_id\":%u,\"user_name\":", i ? "," : "", (unsigned)ps[i].participant_id);
        put_string(ps[i].participant_name ? ps[i].participant_name : "", -1);
        printf("}");
    }
    printf("]}\n");
}
static void on_speaker(struct rtms_csdk *s, int uid, const char *name, uint64_t ts)
{
    (void)s;
    printf("{\"cb\":\"active_speaker\",\"timestamp\":%llu,\"user_id\":%u,\"user_name\":", (unsigned long long)ts,
           (unsigned)uid);
    put_string(name ? name : "", -1);
    printf("}\n");
}
static void on_sharing(struct rtms_csdk *s, int start, int uid, const char *name, uint64_t ts)
{
    (void)s;
    printf("{\"cb\":\"sharing\",\"op\":\"%s\",\"timestamp\":%llu", start ? "start" : "stop", (unsigned long long)ts);
    if (start) { /* Zoom's bindings name no user for a stop */
        printf(",\"user_id\":%u,\"user_name\":", (unsigned)uid);
        put_string(name ? name : "", -1);
    }
    printf("}\n");
}
static void on_interrupted(struct rtms_csdk *s, uint64_t ts)
{
    (void)s;
    printf("{\"cb\":\"media_interrupted\",\"timestamp\":%llu}\n", (unsigned long long)ts);
}
static void on_state(struct rtms_csdk *s, int st, int r)
{
    (void)s;
    printf("{\"cb\":\"stream_state\",\"state\":%d,\"reason\":%d}\n", st, r);
}
static void on_reconnecting(struct rtms_csdk *s, int c, int a, int d, const char *why)
{
    (void)s;
    (void)d;
    (void)why;
    printf("{\"cb\":\"reconnecting\",\"connection\":%d,\"attempt\":%d}\n", c, a);
}
static void on_reconnected(struct rtms_csdk *s, int c, int g)
{
    (void)s;
    (void)g;
    printf("{\"cb\":\"reconnected\",\"connection\":%d}\n", c);
}

static int join_mode(const char *body)
{
    struct rtms_csdk *sdk = rtms_alloc();
    struct rtms_csdk_ops ops;
    struct rtms_ext_ops ext;
    struct audio_parameters ap = {2, 1, 1, 1, 1, 20, 320};
    struct video_parameters vp = {3, 5, 2, 3, 5};
    struct ds_parameters dp = {3, 5, 3, 1};
    struct media_parameters mp = {&ap, &vp, &dp, NULL};
    int events[] = {2, 3, 4, 5, 6, 7, 8, 9};
    memset(&ops, 0, sizeof ops);
    ops.on_join_confirm = on_join;
    ops.on_leave = on_leave;
    ops.on_session_update = on_session;
    ops.on_user_update = on_user;
    ops.on_audio_data = on_audio;
    ops.on_video_data = on_video;
    ops.on_ds_data = on_ds;
    ops.on_transcript_data = on_transcript;
    ops.on_event_ex = on_event;
    memset(&ext, 0, sizeof ext);
    ext.version = RTMS_EXT_OPS_VERSION;
    ext.on_chat_data = on_chat;
    ext.on_stream_state = on_state;
    ext.on_reconnecting = on_reconnecting;
    ext.on_reconnected = on_reconnected;
    ext.on_participant_event = on_participants;
    ext.on_active_speaker = on_speaker;
    ext.on_sharing = on_sharing;
    ext.on_media_interrupted = on_interrupted;
    if (!sdk || rtms_set_callbacks(sdk, &ops) || rtms_set_ext_callbacks(sdk, &ext) ||
        rtms_config(sdk, &mp, SDK_AUDIO | SDK_VIDEO | SDK_DESKSHARE | SDK_TRANSCRIPT | SDK_CHAT, 0) ||
        rtms_subscribe_event(sdk, events, 8) || rtms_join_payload(sdk, body, 0)) {
        fprintf(stderr, "runner: %s\n", rtms_last_error());
        return 1;
    }
    while (!left && rtms_poll_ex(sdk, 0, 30000) >= 0) fflush(stdout);
    fflush(stdout);
    rtms_release(sdk);
    return left ? 0 : 1;
}

static void on_webhook(rtms_webhook *wh, const char *event, const char *body, int size, int routed, void *ud)
{
    (void)wh;
    (void)ud;
    printf("{\"cb\":\"webhook\",\"event\":");
    put_string(event, -1);
    printf(",\"routed\":%s,\"body\":", routed ? "true" : "false");
    put_string(body, size);
    printf("}\n");
    fflush(stdout);
    if (strcmp(event, "parity.done") == 0) done = 1;
}

static int joined = -1;
static void on_hook_join(struct rtms_csdk *s, int r)
{
    (void)s;
    joined = r;
}

static int webhook_mode(const char *secret, const char *body)
{
    struct rtms_webhook_options o = RTMS_WEBHOOK_OPTIONS_INIT;
    struct rtms_webhook_stats st;
    struct rtms_csdk *sdk = NULL;
    struct rtms_csdk_ops ops;
    rtms_webhook *wh;
    int i;
    o.host = "127.0.0.1";
    o.port = 0;
    o.path = "/parity";
    o.secret_token = secret;
    wh = rtms_webhook_start(&o);
    if (!wh) {
        fprintf(stderr, "runner: %s\n", rtms_last_error());
        return 1;
    }
    rtms_webhook_set_callback(wh, on_webhook, NULL);
    if (body) {
        memset(&ops, 0, sizeof ops);
        ops.on_join_confirm = on_hook_join;
        ops.on_leave = on_leave;
        sdk = rtms_alloc();
        if (!sdk || rtms_set_callbacks(sdk, &ops) || rtms_join_payload(sdk, body, 0)) {
            fprintf(stderr, "runner: %s\n", rtms_last_error());
            return 1;
        }
        for (i = 0; i < 300 && joined < 0; i++) rtms_poll_ex(sdk, 0, 100);
        if (joined != 0) {
            fprintf(stderr, "runner: join_confirm %d\n", joined);
            return 1;
        }
    }
    printf("{\"port\":%d}\n", rtms_webhook_port(wh));
    fflush(stdout);
    for (i = 0; i < 3000 && !(done && (!sdk || left)); i++) {
        if (sdk) rtms_poll_ex(sdk, 0, 0);
        if (rtms_webhook_poll(wh, 0, 10) < 0) break;
        fflush(stdout);
    }
    memset(&st, 0, sizeof st);
    st.version = RTMS_WEBHOOK_STATS_VERSION;
    rtms_webhook_get_stats(wh, &st);
    printf("{\"stats\":{\"requests\":%llu,\"accepted\":%llu,\"duplicates\":%llu,\"validations\":%llu,"
           "\"not_found\":%llu,\"malformed\":%llu,\"too_large\":%llu,\"unauthorized\":%llu,\"routed\":%llu}}\n",
           (unsigned long long)st.requests, (unsigned long long)st.accepted, (unsigned long long)st.duplicates,
           (unsigned long long)st.validations, (unsigned long long)st.not_found, (unsigned long long)st.malformed,
           (unsigned long long)st.too_large, (unsigned long long)st.unauthorized, (unsigned long long)st.routed);
    fflush(stdout);
    if (sdk) rtms_release(sdk);
    rtms_webhook_stop(wh);
    return done && (!sdk || left) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "join") == 0) return join_mode(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "webhook") == 0)
        return webhook_mode(argv[2], argc == 4 ? argv[3] : NULL);
    fprintf(stderr, "usage: runner join '<rtms_started body>' | runner webhook <secret> ['<rtms_started body>']\n");
    return 2;
}
