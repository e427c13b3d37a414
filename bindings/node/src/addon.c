/*
 * OpenRTMS for Node: the N-API addon over librtms (include/openrtms.h).
 *
 * Every handle's wake descriptor is watched by a libuv poll handle on the JS thread. When it turns
 * readable the addon calls rtms_poll_ex() there, and the core's callbacks call one JavaScript
 * dispatch function per handle: dispatch(kind, ...args). No timer, no thread-safe function, no
 * copy beyond the Buffer a data callback gets. While a handle is joined its poll handle keeps the
 * process alive; release() stops and closes it, so a left client does not.
 *
 * Thin on purpose: behaviour lives in the core, the JavaScript layer (index.js) shapes the API.
 */

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openrtms.h"

#define CHECK(call)                                                                                    \
    do {                                                                                               \
        if ((call) != napi_ok) {                                                                       \
            const napi_extended_error_info *info_ = NULL;                                              \
            napi_get_last_error_info(env, &info_);                                                     \
            napi_throw_error(env, NULL, info_ && info_->error_message ? info_->error_message : #call); \
            return NULL;                                                                               \
        }                                                                                              \
    } while (0)

/* One joined (or joinable) handle. Owned by the JS object through an external; freed when
 * released and its poll handle closed. */
typedef struct client_ctx {
    napi_env env;
    struct rtms_csdk *sdk;
    napi_ref dispatch;    /* JS function(kind, ...args) */
    uv_poll_t poll;
    int polling;          /* poll handle started */
    int closing;          /* uv_close requested */
    int released;
    int in_dispatch;      /* inside rtms_poll_ex on the JS thread */
} client_ctx;

typedef struct webhook_ctx {
    napi_env env;
    rtms_webhook *wh;
    napi_ref dispatch;
    uv_poll_t poll;
    int polling;
    int stopped;
} webhook_ctx;

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

static napi_value str_value(napi_env env, const char *s)
{
    napi_value v;
    napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
    return v;
}

static napi_value int_value(napi_env env, int64_t n)
{
    napi_value v;
    napi_create_int64(env, n, &v);
    return v;
}

static napi_value num_value(napi_env env, double d)
{
    napi_value v;
    napi_create_double(env, d, &v);
    return v;
}

static napi_value bool_value(napi_env env, int b)
{
    napi_value v;
    napi_get_boolean(env, b != 0, &v);
    return v;
}

static void set_prop(napi_env env, napi_value obj, const char *name, napi_value v)
{
    napi_set_named_property(env, obj, name, v);
}

/* A copied UTF-8 string argument; NULL for undefined/null. Caller frees. */
static char *arg_string(napi_env env, napi_value v)
{
    napi_valuetype t;
    size_t len = 0;
    char *out;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string)
        return NULL;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
        return NULL;
    out = malloc(len + 1);
    if (!out)
        return NULL;
    napi_get_value_string_utf8(env, v, out, len + 1, &len);
    return out;
}

static int arg_int(napi_env env, napi_value v, int def)
{
    napi_valuetype t;
    int32_t n;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_number)
        return def;
    if (napi_get_value_int32(env, v, &n) != napi_ok)
        return def;
    return n;
}

static int is_type(napi_env env, napi_value v, napi_valuetype want)
{
    napi_valuetype t;
    return napi_typeof(env, v, &t) == napi_ok && t == want;
}

/* Calls dispatch(argv...) on the JS thread; an exception becomes an uncaught exception, as for
 * any Node event callback. */
static void call_dispatch(napi_env env, napi_ref ref, size_t argc, napi_value *argv)
{
    napi_value fn, global, result;
    bool pending = false;
    if (napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL)
        return;
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, argc, argv, &result) != napi_ok) {
        napi_is_exception_pending(env, &pending);
        if (pending) {
            napi_value err;
            napi_get_and_clear_last_exception(env, &err);
            napi_fatal_exception(env, err);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Core callbacks (inside rtms_poll_ex, on the JS thread)
 * ------------------------------------------------------------------------------------------- */

static client_ctx *ctx_of(struct rtms_csdk *sdk)
{
    return sdk ? (client_ctx *)rtms_get_user_data(sdk) : NULL;
}

static napi_value metadata_value(napi_env env, struct rtms_metadata *md)
{
    napi_value o, ai, targets;
    napi_create_object(env, &o);
    set_prop(env, o, "userName", str_value(env, md->user_name));
    set_prop(env, o, "userId", num_value(env, (double)(uint32_t)md->user_id));
    set_prop(env, o, "startTs", num_value(env, (double)md->start_ts));
    set_prop(env, o, "endTs", num_value(env, (double)md->end_ts));
    napi_create_object(env, &ai);
    set_prop(env, ai, "lid", int_value(env, md->aii.lid));
    set_prop(env, ai, "timestamp", num_value(env, (double)md->aii.timestamp));
    set_prop(env, ai, "channelNum", int_value(env, md->aii.channel_num));
    set_prop(env, ai, "sampleRate", int_value(env, md->aii.sample_rate));
    napi_create_array(env, &targets);
    set_prop(env, ai, "targets", targets);
    set_prop(env, o, "aiInterpreter", ai);
    set_prop(env, o, "channelId", str_value(env, md->channel_id));
    set_prop(env, o, "language", int_value(env, md->language));
    return o;
}

static void on_data(const char *kind, struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts, struct rtms_metadata *md)
{
    client_ctx *c = ctx_of(sdk);
    napi_env env;
    napi_value argv[5];
    void *copy = NULL;
    if (!c || c->released || !buf || size <= 0 || !md)
        return;
    env = c->env;
    argv[0] = str_value(env, kind);
    if (napi_create_buffer_copy(env, (size_t)size, buf, &copy, &argv[1]) != napi_ok)
        return;
    argv[2] = int_value(env, size);
    argv[3] = num_value(env, (double)ts);
    argv[4] = metadata_value(env, md);
    call_dispatch(env, c->dispatch, 5, argv);
}

static void cb_audio(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m) { on_data("audio", s, b, n, t, m); }
static void cb_video(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m) { on_data("video", s, b, n, t, m); }
static void cb_ds(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m) { on_data("deskshare", s, b, n, t, m); }
static void cb_transcript(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m) { on_data("transcript", s, b, n, t, m); }
static void cb_chat(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m) { on_data("chat", s, b, n, t, m); }

/* dispatch(kind, ints...) */
static void dispatch_ints(struct rtms_csdk *sdk, const char *kind, int n, const int64_t *vals, const char *text)
{
    client_ctx *c = ctx_of(sdk);
    napi_value argv[6];
    int i;
    if (!c || c->released)
        return;
    argv[0] = str_value(c->env, kind);
    for (i = 0; i < n && i < 4; i++)
        argv[1 + i] = num_value(c->env, (double)vals[i]);
    if (text)
        argv[1 + i++] = str_value(c->env, text);
    call_dispatch(c->env, c->dispatch, (size_t)(1 + i), argv);
}

static void cb_join(struct rtms_csdk *s, int reason) { int64_t v = reason; dispatch_ints(s, "join_confirm", 1, &v, NULL); }
static void cb_leave(struct rtms_csdk *s, int reason) { int64_t v = reason; dispatch_ints(s, "leave", 1, &v, NULL); }

static void cb_session(struct rtms_csdk *sdk, int op, struct session_info *si)
{
    client_ctx *c = ctx_of(sdk);
    napi_env env;
    napi_value argv[3], o;
    char mid[MAX_MEETING_ID_LEN + 1];
    if (!c || c->released || !si)
        return;
    env = c->env;
    memcpy(mid, si->meeting_id, MAX_MEETING_ID_LEN);
    mid[MAX_MEETING_ID_LEN] = 0;
    napi_create_object(env, &o);
    set_prop(env, o, "sessionId", str_value(env, si->session_id));
    set_prop(env, o, "streamId", str_value(env, si->stream_id));
    set_prop(env, o, "meetingId", str_value(env, mid));
    set_prop(env, o, "statTime", int_value(env, si->stat_time));
    /* Zoom's JavaScript values: SESS_STATUS_ACTIVE 0, SESS_STATUS_PAUSED 1. */
    set_prop(env, o, "status", int_value(env, si->status == SESS_STATUS_PAUSED ? 1 : 0));
    set_prop(env, o, "isActive", bool_value(env, si->status != SESS_STATUS_PAUSED));
    set_prop(env, o, "isPaused", bool_value(env, si->status == SESS_STATUS_PAUSED));
    argv[0] = str_value(env, "session_update");
    argv[1] = int_value(env, op);
    argv[2] = o;
    call_dispatch(env, c->dispatch, 3, argv);
}

static void cb_user(struct rtms_csdk *sdk, int op, struct participant_info *pi)
{
    client_ctx *c = ctx_of(sdk);
    napi_env env;
    napi_value argv[3], o;
    if (!c || c->released || !pi)
        return;
    env = c->env;
    napi_create_object(env, &o);
    set_prop(env, o, "id", num_value(env, (double)(uint32_t)pi->participant_id));
    set_prop(env, o, "name", str_value(env, pi->participant_name));
    argv[0] = str_value(env, "user_update");
    argv[1] = int_value(env, op);
    argv[2] = o;
    call_dispatch(env, c->dispatch, 3, argv);
}

static void cb_event_ex(struct rtms_csdk *sdk, const char *buf, int size)
{
    client_ctx *c = ctx_of(sdk);
    napi_value argv[2];
    if (!c || c->released || !buf || size <= 0)
        return;
    argv[0] = str_value(c->env, "event_ex");
    napi_create_string_utf8(c->env, buf, (size_t)size, &argv[1]);
    call_dispatch(c->env, c->dispatch, 2, argv);
}

static void cb_stream_state(struct rtms_csdk *s, int st, int r) { int64_t v[2] = {st, r}; dispatch_ints(s, "stream_state", 2, v, NULL); }
static void cb_error(struct rtms_csdk *s, int code, const char *t) { int64_t v = code; dispatch_ints(s, "error", 1, &v, t); }
static void cb_reconnecting(struct rtms_csdk *s, int conn, int attempt, int delay, const char *cause)
{
    int64_t v[3] = {conn, attempt, delay};
    dispatch_ints(s, "reconnecting", 3, v, cause);
}
static void cb_reconnected(struct rtms_csdk *s, int conn, int gap) { int64_t v[2] = {conn, gap}; dispatch_ints(s, "reconnected", 2, v, NULL); }
static void cb_video_sub(struct rtms_csdk *s, int uid, int status, const char *err)
{
    int64_t v[2] = {(uint32_t)uid, status};
    dispatch_ints(s, "video_subscribed", 2, v, err);
}

static void cb_participant_video(struct rtms_csdk *sdk, int *users, int n, int is_on)
{
    client_ctx *c = ctx_of(sdk);
    napi_value argv[3], arr;
    int i;
    if (!c || c->released)
        return;
    napi_create_array_with_length(c->env, (size_t)(n > 0 ? n : 0), &arr);
    for (i = 0; i < n; i++)
        napi_set_element(c->env, arr, (uint32_t)i, num_value(c->env, (double)(uint32_t)users[i]));
    argv[0] = str_value(c->env, "participant_video");
    argv[1] = arr;
    argv[2] = bool_value(c->env, is_on);
    call_dispatch(c->env, c->dispatch, 3, argv);
}

/* ---------------------------------------------------------------------------------------------
 * The libuv side
 * ------------------------------------------------------------------------------------------- */

static void free_client(client_ctx *c)
{
    if (c->dispatch)
        napi_delete_reference(c->env, c->dispatch);
    free(c);
}

static void on_client_closed(uv_handle_t *h)
{
    client_ctx *c = (client_ctx *)h->data;
    free_client(c);
}

static void stop_polling(client_ctx *c)
{
    if (c->polling && !c->closing) {
        c->closing = 1;
        uv_poll_stop(&c->poll);
        uv_close((uv_handle_t *)&c->poll, on_client_closed);
    }
}

static void on_client_readable(uv_poll_t *h, int status, int events)
{
    client_ctx *c = (client_ctx *)h->data;
    napi_handle_scope scope;
    (void)status;
    (void)events;
    if (c->released || c->closing)
        return;
    napi_open_handle_scope(c->env, &scope);
    c->in_dispatch = 1;
    rtms_poll_ex(c->sdk, 0, 0);
    c->in_dispatch = 0;
    napi_close_handle_scope(c->env, scope);
    if (c->released)
        stop_polling(c);
}

/* ---------------------------------------------------------------------------------------------
 * Exported functions
 * ------------------------------------------------------------------------------------------- */

static client_ctx *client_arg(napi_env env, napi_value v)
{
    void *p = NULL;
    if (!is_type(env, v, napi_external) || napi_get_value_external(env, v, &p) != napi_ok)
        return NULL;
    return (client_ctx *)p;
}

static napi_value throw_rtms(napi_env env, const char *op, int code)
{
    char msg[1024];
    const char *why = rtms_last_error();
    snprintf(msg, sizeof msg, "%s failed: %s%s%s%s", op, rtms_strerror(code), why && *why ? " (" : "", why ? why : "",
             why && *why ? ")" : "");
    napi_throw_error(env, NULL, msg);
    return NULL;
}

/* alloc(dispatch) -> external */
static napi_value js_alloc(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], ext;
    client_ctx *c;
    struct rtms_csdk_ops ops;
    struct rtms_ext_ops xops;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || !is_type(env, argv[0], napi_function)) {
        napi_throw_type_error(env, NULL, "Function argument expected");
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    c->env = env;
    c->sdk = rtms_alloc();
    if (!c->sdk) {
        free(c);
        return throw_rtms(env, "alloc", RTMS_SDK_FAILURE);
    }
    napi_create_reference(env, argv[0], 1, &c->dispatch);
    rtms_set_user_data(c->sdk, c);
    memset(&ops, 0, sizeof ops);
    ops.on_join_confirm = cb_join;
    ops.on_session_update = cb_session;
    ops.on_user_update = cb_user;
    ops.on_audio_data = cb_audio;
    ops.on_video_data = cb_video;
    ops.on_ds_data = cb_ds;
    ops.on_transcript_data = cb_transcript;
    ops.on_leave = cb_leave;
    ops.on_event_ex = cb_event_ex;
    rtms_set_callbacks(c->sdk, &ops);
    memset(&xops, 0, sizeof xops);
    xops.version = RTMS_EXT_OPS_VERSION;
    xops.on_chat_data = cb_chat;
    xops.on_stream_state = cb_stream_state;
    xops.on_error = cb_error;
    xops.on_participant_video = cb_participant_video;
    xops.on_video_subscript_resp = cb_video_sub;
    xops.on_reconnecting = cb_reconnecting;
    xops.on_reconnected = cb_reconnected;
    rtms_set_ext_callbacks(c->sdk, &xops);
    CHECK(napi_create_external(env, c, NULL, NULL, &ext));
    return ext;
}

static void fill_int(napi_env env, napi_value obj, const char *name, int *out)
{
    napi_value v;
    bool has = false;
    if (napi_has_named_property(env, obj, name, &has) == napi_ok && has &&
        napi_get_named_property(env, obj, name, &v) == napi_ok && is_type(env, v, napi_number))
        *out = arg_int(env, v, *out);
}

/* config(h, types, audio|null, video|null, ds|null, transcript|null): objects carry every field */
static napi_value js_config(napi_env env, napi_callback_info info)
{
    size_t argc = 6;
    napi_value argv[6];
    client_ctx *c;
    struct media_parameters mp;
    struct audio_parameters ap;
    struct video_parameters vp;
    struct ds_parameters dp;
    struct transcript_parameters tp;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 2 ? client_arg(env, argv[0]) : NULL;
    if (!c) {
        napi_throw_type_error(env, NULL, "Wrong arguments");
        return NULL;
    }
    memset(&mp, 0, sizeof mp);
    if (argc > 2 && is_type(env, argv[2], napi_object)) {
        ap.content_type = 2; ap.codec = 1; ap.sample_rate = 1; ap.channel = 1; ap.data_opt = 1; ap.duration = 20; ap.frame_size = 0;
        fill_int(env, argv[2], "contentType", &ap.content_type);
        fill_int(env, argv[2], "codec", &ap.codec);
        fill_int(env, argv[2], "sampleRate", &ap.sample_rate);
        fill_int(env, argv[2], "channel", &ap.channel);
        fill_int(env, argv[2], "dataOpt", &ap.data_opt);
        fill_int(env, argv[2], "duration", &ap.duration);
        fill_int(env, argv[2], "frameSize", &ap.frame_size);
        mp.audio_param = &ap;
    }
    if (argc > 3 && is_type(env, argv[3], napi_object)) {
        vp.content_type = 3; vp.codec = 5; vp.resolution = 2; vp.data_opt = 3; vp.fps = 5;
        fill_int(env, argv[3], "contentType", &vp.content_type);
        fill_int(env, argv[3], "codec", &vp.codec);
        fill_int(env, argv[3], "resolution", &vp.resolution);
        fill_int(env, argv[3], "dataOpt", &vp.data_opt);
        fill_int(env, argv[3], "fps", &vp.fps);
        mp.video_param = &vp;
    }
    if (argc > 4 && is_type(env, argv[4], napi_object)) {
        dp.content_type = 3; dp.codec = 5; dp.resolution = 3; dp.fps = 1;
        fill_int(env, argv[4], "contentType", &dp.content_type);
        fill_int(env, argv[4], "codec", &dp.codec);
        fill_int(env, argv[4], "resolution", &dp.resolution);
        fill_int(env, argv[4], "fps", &dp.fps);
        mp.ds_param = &dp;
    }
    if (argc > 5 && is_type(env, argv[5], napi_object)) {
        napi_value v;
        bool has = false, lid = true;
        int ct = 5, lang = -1;
        fill_int(env, argv[5], "contentType", &ct);
        fill_int(env, argv[5], "srcLanguage", &lang);
        if (napi_has_named_property(env, argv[5], "enableLid", &has) == napi_ok && has &&
            napi_get_named_property(env, argv[5], "enableLid", &v) == napi_ok)
            napi_get_value_bool(env, v, &lid);
        tp.content_type = ct;
        tp.src_language = lang;
        tp.enable_lid = lid;
        mp.tr_param = &tp;
    }
    rc = rtms_config(c->sdk, &mp, arg_int(env, argv[1], 0), 0);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, "config", rc);
    return bool_value(env, 1);
}

/* join(h, uuid, stream, signature, urls, timeout): starts watching the wake fd */
static napi_value js_join(napi_env env, napi_callback_info info)
{
    size_t argc = 6;
    napi_value argv[6];
    client_ctx *c;
    char *uuid, *stream, *sig, *urls;
    int rc, fd;
    uv_loop_t *loop = NULL;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 5 ? client_arg(env, argv[0]) : NULL;
    if (!c || c->released) {
        napi_throw_type_error(env, NULL, "Wrong arguments");
        return NULL;
    }
    uuid = arg_string(env, argv[1]);
    stream = arg_string(env, argv[2]);
    sig = arg_string(env, argv[3]);
    urls = arg_string(env, argv[4]);
    rc = rtms_join(c->sdk, uuid, stream, sig, urls, argc > 5 ? arg_int(env, argv[5], -1) : -1);
    free(uuid);
    free(stream);
    free(sig);
    free(urls);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, "join", rc);
    if (!c->polling) {
        fd = rtms_get_wake_fd(c->sdk);
        if (fd < 0 || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &c->poll, fd) != 0) {
            napi_throw_error(env, NULL, "join: cannot watch the wake descriptor");
            return NULL;
        }
        c->poll.data = c;
        uv_poll_start(&c->poll, UV_READABLE, on_client_readable);
        c->polling = 1;
    }
    return bool_value(env, 1);
}

/* poll(h): delivers what is pending now (the wake fd normally does this) */
static napi_value js_poll(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    client_ctx *c;
    int n = 0;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 1 ? client_arg(env, argv[0]) : NULL;
    if (c && !c->released && !c->in_dispatch) {
        c->in_dispatch = 1;
        n = rtms_poll_ex(c->sdk, 0, 0);
        c->in_dispatch = 0;
        if (c->released)
            stop_polling(c);
    }
    return int_value(env, n);
}

/* release(h): leaves, frees the handle; no callback after this returns */
static napi_value js_release(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    client_ctx *c;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 1 ? client_arg(env, argv[0]) : NULL;
    if (!c || c->released)
        return bool_value(env, 0);
    c->released = 1;
    rtms_release(c->sdk);
    c->sdk = NULL;
    if (c->polling) {
        if (!c->in_dispatch)
            stop_polling(c);  /* inside a callback: on_client_readable closes it afterwards */
    } else {
        free_client(c);
    }
    return bool_value(env, 1);
}

static napi_value js_subscribe(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    client_ctx *c;
    uint32_t n = 0, i;
    int events[64];
    bool on = true, is_array = false;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 3 ? client_arg(env, argv[0]) : NULL;
    if (!c || c->released || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
        napi_throw_type_error(env, NULL, "Array of event types expected");
        return NULL;
    }
    napi_get_array_length(env, argv[1], &n);
    if (n > 64)
        n = 64;
    for (i = 0; i < n; i++) {
        napi_value e;
        napi_get_element(env, argv[1], i, &e);
        if (!is_type(env, e, napi_number)) {
            napi_throw_type_error(env, NULL, "Array of event types expected");
            return NULL;
        }
        events[i] = arg_int(env, e, 0);
    }
    napi_get_value_bool(env, argv[2], &on);
    rc = on ? rtms_subscribe_event(c->sdk, events, (int)n) : rtms_unsubscribe_event(c->sdk, events, (int)n);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, on ? "subscribeEvent" : "unsubscribeEvent", rc);
    return bool_value(env, 1);
}

static napi_value js_subscribe_video(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    client_ctx *c;
    bool on = false;
    double id = 0;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 3 ? client_arg(env, argv[0]) : NULL;
    if (!c || c->released || !is_type(env, argv[1], napi_number) || !is_type(env, argv[2], napi_boolean)) {
        napi_throw_type_error(env, NULL, "Two arguments expected: userId (number), subscribe (boolean)");
        return NULL;
    }
    napi_get_value_double(env, argv[1], &id);
    napi_get_value_bool(env, argv[2], &on);
    rc = rtms_send_subscript_video(c->sdk, (int)(uint32_t)id, on ? 1 : 0);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, "subscribeVideo", rc);
    return bool_value(env, 1);
}

static napi_value js_set_proxy(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    client_ctx *c;
    char *type, *url;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 3 ? client_arg(env, argv[0]) : NULL;
    if (!c || c->released || !is_type(env, argv[1], napi_string) || !is_type(env, argv[2], napi_string)) {
        napi_throw_type_error(env, NULL, "Two string arguments expected: proxy_type, proxy_url");
        return NULL;
    }
    type = arg_string(env, argv[1]);
    url = arg_string(env, argv[2]);
    rc = rtms_set_proxy(c->sdk, type, url);
    free(type);
    free(url);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, "setProxy", rc);
    return bool_value(env, 1);
}

/* stats(h) -> object */
static napi_value js_stats(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], o;
    client_ctx *c;
    struct rtms_stats s;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 1 ? client_arg(env, argv[0]) : NULL;
    napi_create_object(env, &o);
    if (!c || c->released)
        return o;
    memset(&s, 0, sizeof s);
    s.version = RTMS_STATS_VERSION;
    if (rtms_get_stats(c->sdk, &s) != RTMS_SDK_OK)
        return o;
    set_prop(env, o, "audio", num_value(env, (double)s.media_messages[0]));
    set_prop(env, o, "video", num_value(env, (double)s.media_messages[1]));
    set_prop(env, o, "deskshare", num_value(env, (double)s.media_messages[2]));
    set_prop(env, o, "transcript", num_value(env, (double)s.media_messages[3]));
    set_prop(env, o, "chat", num_value(env, (double)s.media_messages[4]));
    set_prop(env, o, "delivered", num_value(env, (double)s.delivered));
    set_prop(env, o, "droppedQueueFull", num_value(env, (double)s.dropped_queue_full));
    set_prop(env, o, "droppedMalformed", num_value(env, (double)s.dropped_malformed));
    set_prop(env, o, "reconnectAttempts", num_value(env, (double)s.reconnect_attempts));
    set_prop(env, o, "rejoins", num_value(env, (double)s.rejoins));
    set_prop(env, o, "mediaReconnects", num_value(env, (double)s.media_reconnects));
    set_prop(env, o, "maxGapMs", num_value(env, (double)s.max_gap_ms));
    return o;
}

static napi_value js_state(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    client_ctx *c;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 1 ? client_arg(env, argv[0]) : NULL;
    return int_value(env, c && !c->released ? rtms_get_state(c->sdk) : 0);
}

static napi_value js_init(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    char *ca, *agent;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    ca = argc > 0 ? arg_string(env, argv[0]) : NULL;
    agent = argc > 2 ? arg_string(env, argv[2]) : NULL;
    rc = rtms_init(ca ? ca : "", argc > 1 ? arg_int(env, argv[1], 1) : 1, agent);
    free(ca);
    free(agent);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, "initialize", rc);
    return bool_value(env, 1);
}

static napi_value js_uninit(napi_env env, napi_callback_info info)
{
    (void)info;
    rtms_uninit();
    return bool_value(env, 1);
}

static napi_value js_version(napi_env env, napi_callback_info info)
{
    (void)info;
    return str_value(env, rtms_version());
}

/* ---------------------------------------------------------------------------------------------
 * Webhook intake
 * ------------------------------------------------------------------------------------------- */

static void webhook_cb(rtms_webhook *wh, const char *event, const char *body, int size, int routed, void *user_data)
{
    webhook_ctx *w = (webhook_ctx *)user_data;
    napi_value argv[3];
    (void)wh;
    if (!w || w->stopped)
        return;
    argv[0] = str_value(w->env, event);
    napi_create_string_utf8(w->env, body, (size_t)size, &argv[1]);
    argv[2] = bool_value(w->env, routed);
    call_dispatch(w->env, w->dispatch, 3, argv);
}

static void on_webhook_closed(uv_handle_t *h)
{
    webhook_ctx *w = (webhook_ctx *)h->data;
    napi_delete_reference(w->env, w->dispatch);
    free(w);
}

static void on_webhook_readable(uv_poll_t *h, int status, int events)
{
    webhook_ctx *w = (webhook_ctx *)h->data;
    napi_handle_scope scope;
    (void)status;
    (void)events;
    if (w->stopped)
        return;
    napi_open_handle_scope(w->env, &scope);
    rtms_webhook_poll(w->wh, 0, 0);
    napi_close_handle_scope(w->env, scope);
}

/* webhookStart({host, port, path, secret, cert, key, clientCa}, dispatch(event, body, routed)) -> external */
static napi_value js_webhook_start(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2], v, ext;
    struct rtms_webhook_options o;
    char *host = NULL, *path = NULL, *secret = NULL, *cert = NULL, *key = NULL, *ca = NULL;
    webhook_ctx *w;
    uv_loop_t *loop = NULL;
    bool has = false;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !is_type(env, argv[0], napi_object) || !is_type(env, argv[1], napi_function)) {
        napi_throw_type_error(env, NULL, "Wrong arguments");
        return NULL;
    }
    rtms_webhook_options_init(&o, RTMS_WEBHOOK_OPTIONS_VERSION);
#define OPT_STR(name, var) \
    if (napi_has_named_property(env, argv[0], name, &has) == napi_ok && has && napi_get_named_property(env, argv[0], name, &v) == napi_ok) var = arg_string(env, v)
    OPT_STR("host", host);
    OPT_STR("path", path);
    OPT_STR("secret", secret);
    OPT_STR("cert", cert);
    OPT_STR("key", key);
    OPT_STR("clientCa", ca);
#undef OPT_STR
    fill_int(env, argv[0], "port", &o.port);
    o.host = host;
    o.path = path;
    o.secret_token = secret;
    o.cert_path = cert;
    o.key_path = key;
    o.client_ca_path = ca;
    w = calloc(1, sizeof *w);
    if (!w) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    w->env = env;
    w->wh = rtms_webhook_start(&o);
    free(host); free(path); free(secret); free(cert); free(key); free(ca);
    if (!w->wh) {
        free(w);
        return throw_rtms(env, "webhook", RTMS_SDK_FAILURE);
    }
    napi_create_reference(env, argv[1], 1, &w->dispatch);
    rtms_webhook_set_callback(w->wh, webhook_cb, w);
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &w->poll, rtms_webhook_get_wake_fd(w->wh)) != 0) {
        rtms_webhook_stop(w->wh);
        napi_delete_reference(env, w->dispatch);
        free(w);
        napi_throw_error(env, NULL, "webhook: cannot watch the wake descriptor");
        return NULL;
    }
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE, on_webhook_readable);
    w->polling = 1;
    CHECK(napi_create_external(env, w, NULL, NULL, &ext));
    return ext;
}

static webhook_ctx *webhook_arg(napi_env env, napi_value v)
{
    void *p = NULL;
    if (!is_type(env, v, napi_external) || napi_get_value_external(env, v, &p) != napi_ok)
        return NULL;
    return (webhook_ctx *)p;
}

static napi_value js_webhook_port(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    webhook_ctx *w;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    w = argc >= 1 ? webhook_arg(env, argv[0]) : NULL;
    return int_value(env, w && !w->stopped ? rtms_webhook_port(w->wh) : -1);
}

static napi_value js_webhook_stats(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1], o;
    webhook_ctx *w;
    struct rtms_webhook_stats s;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    w = argc >= 1 ? webhook_arg(env, argv[0]) : NULL;
    napi_create_object(env, &o);
    memset(&s, 0, sizeof s);
    s.version = RTMS_WEBHOOK_STATS_VERSION;
    if (!w || w->stopped || rtms_webhook_get_stats(w->wh, &s) != RTMS_SDK_OK)
        return o;
    set_prop(env, o, "requests", num_value(env, (double)s.requests));
    set_prop(env, o, "accepted", num_value(env, (double)s.accepted));
    set_prop(env, o, "duplicates", num_value(env, (double)s.duplicates));
    set_prop(env, o, "validations", num_value(env, (double)s.validations));
    set_prop(env, o, "notFound", num_value(env, (double)s.not_found));
    set_prop(env, o, "malformed", num_value(env, (double)s.malformed));
    set_prop(env, o, "tooLarge", num_value(env, (double)s.too_large));
    set_prop(env, o, "unauthorized", num_value(env, (double)s.unauthorized));
    set_prop(env, o, "routed", num_value(env, (double)s.routed));
    set_prop(env, o, "droppedQueueFull", num_value(env, (double)s.dropped_queue_full));
    return o;
}

static napi_value js_webhook_stop(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    webhook_ctx *w;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    w = argc >= 1 ? webhook_arg(env, argv[0]) : NULL;
    if (!w || w->stopped)
        return bool_value(env, 0);
    w->stopped = 1;
    rtms_webhook_stop(w->wh);
    w->wh = NULL;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_webhook_closed);
    return bool_value(env, 1);
}

/* feedWebhook(h, body): an rtms_started/interrupted/stopped body for this handle's stream */
static napi_value js_feed_webhook(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    client_ctx *c;
    char *body;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    c = argc >= 2 ? client_arg(env, argv[0]) : NULL;
    body = c && !c->released ? arg_string(env, argv[1]) : NULL;
    if (!body)
        return int_value(env, RTMS_SDK_INVALID_ARGS);
    rc = rtms_feed_webhook(c->sdk, body, -1);
    free(body);
    return int_value(env, rc);
}

/* generateSignature(client, secret, uuid, stream) */
static napi_value js_signature(napi_env env, napi_callback_info info)
{
    size_t argc = 4;
    napi_value argv[4];
    char *a[4] = {NULL, NULL, NULL, NULL}, out[65];
    size_t i;
    int rc;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    for (i = 0; i < 4 && i < argc; i++)
        a[i] = arg_string(env, argv[i]);
    rc = rtms_generate_signature(a[0], a[1], a[2], a[3], out, (int)sizeof out);
    for (i = 0; i < 4; i++)
        free(a[i]);
    if (rc != RTMS_SDK_OK)
        return throw_rtms(env, "generateSignature", rc);
    return str_value(env, out);
}

static napi_value js_last_error(napi_env env, napi_callback_info info)
{
    (void)info;
    return str_value(env, rtms_last_error());
}

NAPI_MODULE_INIT()
{
    napi_property_descriptor props[] = {
        {"alloc", NULL, js_alloc, NULL, NULL, NULL, napi_default, NULL},
        {"config", NULL, js_config, NULL, NULL, NULL, napi_default, NULL},
        {"join", NULL, js_join, NULL, NULL, NULL, napi_default, NULL},
        {"poll", NULL, js_poll, NULL, NULL, NULL, napi_default, NULL},
        {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
        {"subscribe", NULL, js_subscribe, NULL, NULL, NULL, napi_default, NULL},
        {"subscribeVideo", NULL, js_subscribe_video, NULL, NULL, NULL, napi_default, NULL},
        {"setProxy", NULL, js_set_proxy, NULL, NULL, NULL, napi_default, NULL},
        {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
        {"state", NULL, js_state, NULL, NULL, NULL, napi_default, NULL},
        {"initialize", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
        {"uninitialize", NULL, js_uninit, NULL, NULL, NULL, napi_default, NULL},
        {"version", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
        {"webhookStart", NULL, js_webhook_start, NULL, NULL, NULL, napi_default, NULL},
        {"webhookPort", NULL, js_webhook_port, NULL, NULL, NULL, napi_default, NULL},
        {"webhookStats", NULL, js_webhook_stats, NULL, NULL, NULL, napi_default, NULL},
        {"webhookStop", NULL, js_webhook_stop, NULL, NULL, NULL, napi_default, NULL},
        {"feedWebhook", NULL, js_feed_webhook, NULL, NULL, NULL, napi_default, NULL},
        {"generateSignature", NULL, js_signature, NULL, NULL, NULL, napi_default, NULL},
        {"lastError", NULL, js_last_error, NULL, NULL, NULL, napi_default, NULL},
    };
    napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
    return exports;
}
