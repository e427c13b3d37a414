/*
 * OpenRTMS for Node: the N-API addon over librtms (include/openrtms.h).
 *
 * Every joined handle of an addon instance (one per napi_env: the main thread, each worker) is a
 * member of one delivery group (rtms_group_*), whose wake descriptor one libuv poll handle watches
 * on the JS thread. When it turns readable the addon calls rtms_group_poll() there, and the core's
 * callbacks call one JavaScript dispatch function per handle: dispatch(kind, ...args); media come
 * as one batch a poll (rtms_group_set_media_batch), and otherwise one message a call, both through
 * index.js's functions (setMedia), which build the metadata and call the dispatch functions.
 * No timer, no thread-safe function. The poll handle keeps
 * the process alive while a session is live (joined, not ended by on_leave, a failed
 * join_confirm, release() or the finalizer): it is referenced while that count is above zero.
 *
 * The JS object owns the handle through an external with a finalizer: a Client collected without
 * leave() releases its handle. The addon holds the dispatch function weakly (the Client keeps it),
 * so nothing here keeps a Client alive; index.js pins joined clients until their session ends.
 *
 * Thin on purpose: behaviour lives in the core, the JavaScript layer (index.js) shapes the API.
 */

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "openrtms.h"

#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        if ((call) != napi_ok) {                                                                                       \
            const napi_extended_error_info *info_ = NULL;                                                              \
            napi_get_last_error_info(env, &info_);                                                                     \
            napi_throw_error(env, NULL, info_ && info_->error_message ? info_->error_message : #call);                 \
            return NULL;                                                                                               \
        }                                                                                                              \
    } while (0)

/* The call's first n arguments in argv (the rest undefined), argc how many it was given. */
#define ARGS(n)                                                                                                        \
    size_t argc = (n);                                                                                                 \
    napi_value argv[(n)];                                                                                              \
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

typedef struct client_ctx client_ctx;

/* One addon instance (napi instance data). Freed once the environment is torn down (the poll
 * handle closed) and every client_ctx is freed. */
typedef struct addon {
    napi_env env;
    rtms_group *group; /* created, and watched, at the first join */
    uv_poll_t watch;
    napi_async_cleanup_hook_handle hook; /* the environment's teardown, until the watch is closed */
    int budget_us;                       /* the group's latency budget (setLatencyBudget) */
    int live;                            /* sessions live: the poll handle is referenced while > 0 */
    int polling;                         /* inside rtms_group_poll() or poll(): finalized clients wait in doomed */
    int clients;                         /* client_ctx not freed yet */
    int torn_down;
    int64_t wakeups; /* group polls run by the poll handle (for tests) */
    client_ctx *doomed;
    napi_ref media_fn; /* JS function(dispatch, type, data, ...): one media message (setMedia) */
    napi_ref batch_fn; /* JS function(fns, fields, bytes): the group's media batches (setMedia) */
    int64_t batches;   /* batches delivered (for tests) */
    int batches_off;   /* setMediaBatches(false), for tests: the per-message callbacks */
} addon;

/* One handle. Owned by the JS object through an external; the handle is released by release() or
 * the external's finalizer, the struct freed by the finalizer (after the poll, inside one). */
struct client_ctx {
    napi_env env;
    addon *a;
    struct rtms_csdk *sdk;
    napi_ref dispatch; /* JS function(kind, ...args), held weakly */
    client_ctx *next_doomed;
    int live; /* counted in a->live */
    int released;
};

/* Core handles allocated and not yet released, groups not yet released (for tests). */
static _Atomic int64_t live_handles, live_groups; /* across worker threads */

/* One intake. Owned by the JS object through an external with a finalizer; freed once it is
 * finalized and its poll handle (rtms_webhook_start() only) is closed. */
typedef struct webhook_ctx {
    napi_env env;
    rtms_webhook *wh;
    napi_ref dispatch;  /* rtms_webhook_start(): JS function(event, body, routed) */
    napi_value collect; /* inside webhookPoll(): the array the callback appends to */
    uv_poll_t poll;
    int polling;
    int stopped;
    int closed;
    int finalized;
} webhook_ctx;

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

/* The media kinds by their bit (SDK_AUDIO = 1 << 0 .. SDK_CHAT = 1 << 4), as JavaScript names them
 * (callbacks, stats, parameters); exported as mediaKinds, {1: 'audio', ..., 16: 'chat'}. */
static const char *const media_kinds[5] = {"audio", "video", "deskshare", "transcript", "chat"};

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
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return NULL;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
    out = malloc(len + 1);
    if (!out) return NULL;
    napi_get_value_string_utf8(env, v, out, len + 1, &len);
    return out;
}

static int arg_int(napi_env env, napi_value v, int def)
{
    napi_valuetype t;
    int32_t n;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return def;
    if (napi_get_value_int32(env, v, &n) != napi_ok) return def;
    return n;
}

static int is_type(napi_env env, napi_value v, napi_valuetype want)
{
    napi_valuetype t;
    return napi_typeof(env, v, &t) == napi_ok && t == want;
}

/* The pointer of an external argument (a client_ctx, webhook_ctx or fleet_ctx), else NULL. */
static void *external_arg(napi_env env, napi_value v)
{
    void *p = NULL;
    if (!is_type(env, v, napi_external) || napi_get_value_external(env, v, &p) != napi_ok) return NULL;
    return p;
}

/* *v = obj[name] when obj has the property (absent: not read). */
static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *v)
{
    bool has = false;
    return napi_has_named_property(env, obj, name, &has) == napi_ok && has &&
           napi_get_named_property(env, obj, name, v) == napi_ok;
}

/* Throw helpers: each returns NULL, what the exported function then returns. */
static napi_value throw_error(napi_env env, const char *msg)
{
    napi_throw_error(env, NULL, msg);
    return NULL;
}

static napi_value throw_type_error(napi_env env, const char *msg)
{
    napi_throw_type_error(env, NULL, msg);
    return NULL;
}

/* "op failed: <the core's words for code> (<rtms_last_error()>)", an Error. With wrapper (the
 * calls that follow Zoom's wrapper: join, generateSignature), RTMS_SDK_NO_CREDENTIALS is a
 * ReferenceError and RTMS_SDK_INVALID_ARGS a TypeError, as Zoom's wrapper throws, their `code`
 * the RTMS_SDK_* name. */
static napi_value throw_core(napi_env env, const char *op, int code, int wrapper)
{
    char msg[1024];
    napi_value global, ctor, err, text;
    const char *why = rtms_last_error(), *cls = NULL, *code_name = NULL;
    snprintf(msg, sizeof msg, "%s failed: %s%s%s%s", op, rtms_strerror(code), why && *why ? " (" : "", why ? why : "",
             why && *why ? ")" : "");
    if (wrapper && code == RTMS_SDK_NO_CREDENTIALS) {
        cls = "ReferenceError";
        code_name = "RTMS_SDK_NO_CREDENTIALS";
    } else if (wrapper && code == RTMS_SDK_INVALID_ARGS) {
        cls = "TypeError";
        code_name = "RTMS_SDK_INVALID_ARGS";
    }
    if (!cls) return throw_error(env, msg);
    text = str_value(env, msg);
    if (napi_get_global(env, &global) != napi_ok || napi_get_named_property(env, global, cls, &ctor) != napi_ok ||
        napi_new_instance(env, ctor, 1, &text, &err) != napi_ok) {
        napi_throw_error(env, code_name, msg);
        return NULL;
    }
    napi_set_named_property(env, err, "code", str_value(env, code_name));
    napi_throw(env, err);
    return NULL;
}

static napi_value throw_rtms(napi_env env, const char *op, int code) { return throw_core(env, op, code, 0); }

/* A pending exception becomes an uncaught exception, as for any Node event callback. */
static void report_pending(napi_env env)
{
    bool pending = false;
    napi_value err;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &err) == napi_ok)
        napi_fatal_exception(env, err);
}

/* Calls dispatch(argv...) on the JS thread; an exception is reported (report_pending). */
static void call_dispatch(napi_env env, napi_ref ref, size_t argc, napi_value *argv)
{
    napi_value fn, global, result;
    if (napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, argc, argv, &result) != napi_ok) report_pending(env);
}

/* ---------------------------------------------------------------------------------------------
 * Core callbacks (inside rtms_poll_ex, on the JS thread)
 * ------------------------------------------------------------------------------------------- */

static client_ctx *ctx_of(struct rtms_csdk *sdk) { return sdk ? (client_ctx *)rtms_get_user_data(sdk) : NULL; }

/* One media message (client.poll(), or with batches off): media(dispatch, type, data, ts, userName,
 * userId, startTs, endTs, channelId, language), index.js's function, which every item of a media
 * batch goes through too; it builds the metadata and calls dispatch(kind, data, size, ts, md). */
static void on_data(int type, struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts,
                    struct rtms_metadata *md)
{
    client_ctx *c = ctx_of(sdk);
    napi_env env;
    napi_value argv[10];
    void *copy = NULL;
    if (!c || c->released || !buf || size <= 0 || !md || !c->a->media_fn) return;
    env = c->env;
    if (napi_get_reference_value(env, c->dispatch, &argv[0]) != napi_ok || !argv[0] ||
        napi_create_buffer_copy(env, (size_t)size, buf, &copy, &argv[2]) != napi_ok)
        return;
    argv[1] = int_value(env, type);
    argv[3] = num_value(env, (double)ts);
    argv[4] = str_value(env, md->user_name);
    argv[5] = num_value(env, (double)(uint32_t)md->user_id);
    argv[6] = num_value(env, (double)md->start_ts);
    argv[7] = num_value(env, (double)md->end_ts);
    argv[8] = str_value(env, md->channel_id);
    argv[9] = int_value(env, md->language);
    call_dispatch(env, c->a->media_fn, 10, argv);
}

/* The core's data callbacks, one a media type. */
#define DATA_CB(name, type)                                                                                            \
    static void name(struct rtms_csdk *s, unsigned char *b, int n, uint64_t t, struct rtms_metadata *m)                \
    {                                                                                                                  \
        on_data(type, s, b, n, t, m);                                                                                  \
    }
DATA_CB(cb_audio, SDK_AUDIO)
DATA_CB(cb_video, SDK_VIDEO)
DATA_CB(cb_ds, SDK_DESKSHARE)
DATA_CB(cb_transcript, SDK_TRANSCRIPT)
DATA_CB(cb_chat, SDK_CHAT)
#undef DATA_CB

/* dispatch(kind, ints...) */
static void dispatch_ints(struct rtms_csdk *sdk, const char *kind, int n, const int64_t *vals, const char *text)
{
    client_ctx *c = ctx_of(sdk);
    napi_value argv[6];
    int i;
    if (!c || c->released) return;
    argv[0] = str_value(c->env, kind);
    for (i = 0; i < n && i < 4; i++) argv[1 + i] = num_value(c->env, (double)vals[i]);
    if (text) argv[1 + i++] = str_value(c->env, text);
    call_dispatch(c->env, c->dispatch, (size_t)(1 + i), argv);
}

static void set_live(client_ctx *c, int on);

static void cb_join(struct rtms_csdk *s, int reason)
{
    int64_t v = reason;
    if (reason != 0 && ctx_of(s)) set_live(ctx_of(s), 0);
    dispatch_ints(s, "join_confirm", 1, &v, NULL);
}

static void cb_leave(struct rtms_csdk *s, int reason)
{
    int64_t v = reason;
    if (ctx_of(s)) set_live(ctx_of(s), 0);
    dispatch_ints(s, "leave", 1, &v, NULL);
}

static void cb_session(struct rtms_csdk *sdk, int op, struct session_info *si)
{
    client_ctx *c = ctx_of(sdk);
    napi_env env;
    napi_value argv[3], o;
    char mid[MAX_MEETING_ID_LEN + 1];
    if (!c || c->released || !si) return;
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
    if (!c || c->released || !pi) return;
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
    if (!c || c->released || !buf || size <= 0) return;
    argv[0] = str_value(c->env, "event_ex");
    napi_create_string_utf8(c->env, buf, (size_t)size, &argv[1]);
    call_dispatch(c->env, c->dispatch, 2, argv);
}

static void cb_stream_state(struct rtms_csdk *s, int st, int r)
{
    int64_t v[2] = {st, r};
    dispatch_ints(s, "stream_state", 2, v, NULL);
}
static void cb_error(struct rtms_csdk *s, int code, const char *t)
{
    int64_t v = code;
    dispatch_ints(s, "error", 1, &v, t);
}
static void cb_reconnecting(struct rtms_csdk *s, int conn, int attempt, int delay, const char *cause)
{
    int64_t v[3] = {conn, attempt, delay};
    dispatch_ints(s, "reconnecting", 3, v, cause);
}
static void cb_reconnected(struct rtms_csdk *s, int conn, int gap)
{
    int64_t v[2] = {conn, gap};
    dispatch_ints(s, "reconnected", 2, v, NULL);
}
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
    if (!c || c->released) return;
    napi_create_array_with_length(c->env, (size_t)(n > 0 ? n : 0), &arr);
    for (i = 0; i < n; i++) napi_set_element(c->env, arr, (uint32_t)i, num_value(c->env, (double)(uint32_t)users[i]));
    argv[0] = str_value(c->env, "participant_video");
    argv[1] = arr;
    argv[2] = bool_value(c->env, is_on);
    call_dispatch(c->env, c->dispatch, 3, argv);
}

/* Typed events: the core's rtms_ext_ops callbacks, dispatched in the shapes of Zoom's JavaScript
 * Client: participant_event('join'|'leave', ts, [{userId, userName}]), active_speaker(ts, userId,
 * userName), sharing('start', ts, userId, userName) / sharing('stop', ts), media_interrupted(ts). */
static void cb_participant_event(struct rtms_csdk *sdk, int op, uint64_t ts, struct participant_info *ps, int n)
{
    client_ctx *c = ctx_of(sdk);
    napi_value argv[4], arr, o;
    int i;
    if (!c || c->released) return;
    napi_create_array_with_length(c->env, (size_t)(n > 0 ? n : 0), &arr);
    for (i = 0; ps && i < n; i++) {
        napi_create_object(c->env, &o);
        set_prop(c->env, o, "userId", num_value(c->env, (double)(uint32_t)ps[i].participant_id));
        set_prop(c->env, o, "userName", str_value(c->env, ps[i].participant_name));
        napi_set_element(c->env, arr, (uint32_t)i, o);
    }
    argv[0] = str_value(c->env, "participant_event");
    argv[1] = str_value(c->env, op == USER_JOIN ? "join" : "leave");
    argv[2] = num_value(c->env, (double)ts);
    argv[3] = arr;
    call_dispatch(c->env, c->dispatch, 4, argv);
}

static void cb_active_speaker(struct rtms_csdk *s, int uid, const char *name, uint64_t ts)
{
    int64_t v[2] = {(int64_t)ts, (uint32_t)uid};
    dispatch_ints(s, "active_speaker", 2, v, name);
}

static void cb_sharing(struct rtms_csdk *sdk, int is_start, int uid, const char *name, uint64_t ts)
{
    client_ctx *c = ctx_of(sdk);
    napi_value argv[5];
    if (!c || c->released) return;
    argv[0] = str_value(c->env, "sharing");
    argv[1] = str_value(c->env, is_start ? "start" : "stop");
    argv[2] = num_value(c->env, (double)ts);
    if (is_start) {
        argv[3] = num_value(c->env, (double)(uint32_t)uid);
        argv[4] = str_value(c->env, name);
    }
    call_dispatch(c->env, c->dispatch, is_start ? 5 : 3, argv);
}

static void cb_media_interrupted(struct rtms_csdk *s, uint64_t ts)
{
    int64_t v = (int64_t)ts;
    dispatch_ints(s, "media_interrupted", 1, &v, NULL);
}

/* The group's media batches (rtms_group_set_media_batch): one JS call a batch instead of one a
 * message. batch_fn(fns, fields, bytes): fns[i] is the dispatch function of item i's client
 * (undefined when its client is gone), fields a Float64Array of BATCH_FIELDS numbers an item
 * (index.js names them), bytes a Buffer holding the batch's bytes, which the offsets index;
 * index.js hands each item to the function on_data calls. */
#define BATCH_FIELDS 12
static void on_media_batch(const rtms_media_batch *b, void *user)
{
    addon *a = (addon *)user;
    napi_env env = a->env;
    size_t n = (size_t)b->count;
    napi_value fn, global, fns, buffer, fields, bytes, result, argv[3];
    napi_handle_scope scope;
    double *f = NULL;
    void *copy = NULL;
    size_t i;
    if (!a->batch_fn || napi_open_handle_scope(env, &scope) != napi_ok) return;
    a->batches++;
    if (napi_get_reference_value(env, a->batch_fn, &fn) != napi_ok || !fn ||
        napi_create_array_with_length(env, n, &fns) != napi_ok ||
        napi_create_arraybuffer(env, sizeof(double) * BATCH_FIELDS * n, (void **)&f, &buffer) != napi_ok ||
        napi_create_typedarray(env, napi_float64_array, BATCH_FIELDS * n, buffer, 0, &fields) != napi_ok ||
        napi_create_buffer_copy(env, b->bytes_len, b->bytes, &copy, &bytes) != napi_ok)
        goto done; /* out of memory: the exception pending is reported below */
    for (i = 0; i < n; i++) {
        const rtms_media_item *it = &b->items[i];
        client_ctx *c = ctx_of(it->sdk);
        double *o = f + i * BATCH_FIELDS;
        napi_value d;
        if (c && !c->released && c->dispatch && napi_get_reference_value(env, c->dispatch, &d) == napi_ok && d)
            napi_set_element(env, fns, (uint32_t)i, d);
        o[0] = it->media_type;
        o[1] = (double)(it->data - b->bytes);
        o[2] = it->size;
        o[3] = (double)it->timestamp;
        o[4] = (double)it->start_ts;
        o[5] = (double)it->end_ts;
        o[6] = (double)(uint32_t)it->user_id;
        o[7] = it->language;
        o[8] = (double)((const unsigned char *)it->user_name - b->bytes);
        o[9] = it->user_name_len;
        o[10] = (double)((const unsigned char *)it->channel_id - b->bytes);
        o[11] = it->channel_id_len;
    }
    argv[0] = fns;
    argv[1] = fields;
    argv[2] = bytes;
    napi_get_global(env, &global);
    napi_call_function(env, global, fn, 3, argv, &result);
done:
    report_pending(env);
    napi_close_handle_scope(env, scope);
}

/* ---------------------------------------------------------------------------------------------
 * The libuv side: the addon's delivery group
 * ------------------------------------------------------------------------------------------- */

static void maybe_free_addon(addon *a)
{
    if (a->torn_down && a->clients == 0) free(a);
}

static void free_client(client_ctx *c)
{
    if (c->dispatch) napi_delete_reference(c->env, c->dispatch);
    c->a->clients--;
    maybe_free_addon(c->a);
    free(c);
}

/* Counts the session in or out (once each way): the poll handle is referenced while one is live. */
static void set_live(client_ctx *c, int on)
{
    addon *a = c->a;
    if (c->live == on) return;
    c->live = on;
    a->live += on ? 1 : -1;
    if (a->group && a->live == on) /* 0 -> 1 or 1 -> 0 */
        (on ? uv_ref : uv_unref)((uv_handle_t *)&a->watch);
}

/* Ends the session and frees the core handle (it leaves the group by itself). Safe inside a
 * callback of this or another handle. */
static void release_handle(client_ctx *c)
{
    if (c->released) return;
    c->released = 1;
    set_live(c, 0);
    rtms_release(c->sdk);
    c->sdk = NULL;
    live_handles--;
}

/* A poll returned: the clients finalized inside it are freed once no poll runs. */
static void poll_done(addon *a)
{
    client_ctx *c;
    if (--a->polling > 0) return;
    while ((c = a->doomed) != NULL) {
        a->doomed = c->next_doomed;
        free_client(c);
    }
}

static void on_group_readable(uv_poll_t *h, int status, int events)
{
    addon *a = (addon *)h->data;
    napi_handle_scope scope;
    (void)status;
    (void)events;
    if (!a->group) return;
    napi_open_handle_scope(a->env, &scope);
    a->polling++;
    a->wakeups++;
    rtms_group_poll(a->group, 0, 0);
    poll_done(a);
    napi_close_handle_scope(a->env, scope);
}

static void teardown_done(addon *a)
{
    napi_remove_async_cleanup_hook(a->hook);
    a->torn_down = 1;
    maybe_free_addon(a);
}

static void on_watch_closed(uv_handle_t *h) { teardown_done((addon *)h->data); }

/* The environment's teardown: the group is released (the finalizers release the handles) and the
 * poll handle closed. */
static void addon_teardown(napi_async_cleanup_hook_handle hook, void *arg)
{
    addon *a = (addon *)arg;
    a->hook = hook;
    if (a->media_fn) napi_delete_reference(a->env, a->media_fn);
    if (a->batch_fn) napi_delete_reference(a->env, a->batch_fn);
    a->media_fn = a->batch_fn = NULL;
    if (!a->group) {
        teardown_done(a);
        return;
    }
    rtms_group_release(a->group);
    a->group = NULL;
    live_groups--;
    uv_poll_stop(&a->watch);
    uv_close((uv_handle_t *)&a->watch, on_watch_closed);
}

/* After a join: the handle joins the group (created, and watched, at the first join) and its
 * session keeps the process alive. 0, or -1 when the group cannot be created or watched. */
static int group_join(napi_env env, client_ctx *c)
{
    addon *a = c->a;
    uv_loop_t *loop = NULL;
    int rc;
    if (!a->group) {
        if (napi_get_uv_event_loop(env, &loop) != napi_ok || !(a->group = rtms_group_create(a->budget_us))) return -1;
        if (uv_poll_init(loop, &a->watch, rtms_group_get_wake_fd(a->group)) != 0) {
            rtms_group_release(a->group);
            a->group = NULL;
            return -1;
        }
        live_groups++;
        if (a->batch_fn && !a->batches_off) rtms_group_set_media_batch(a->group, on_media_batch, a);
        a->watch.data = a;
        uv_poll_start(&a->watch, UV_READABLE, on_group_readable);
        uv_unref((uv_handle_t *)&a->watch); /* no session is live yet */
    }
    rc = rtms_group_add(a->group, c->sdk); /* a handle joined again is in it already */
    if (rc < 0 && rc != -RTMS_SDK_INVALID_STATUS) return -1;
    set_live(c, 1);
    return 0;
}

/* The external's finalizer: the Client was garbage-collected. Releases the handle unless leave()
 * did; inside a poll, the struct is freed when the poll returns. */
static void finalize_client(napi_env env, void *data, void *hint)
{
    client_ctx *c = (client_ctx *)data;
    (void)env;
    (void)hint;
    release_handle(c);
    if (c->a->polling) {
        c->next_doomed = c->a->doomed;
        c->a->doomed = c;
    } else {
        free_client(c);
    }
}

static addon *addon_of(napi_env env)
{
    void *a = NULL;
    napi_get_instance_data(env, &a);
    return (addon *)a;
}

/* ---------------------------------------------------------------------------------------------
 * Exported functions
 * ------------------------------------------------------------------------------------------- */

/* alloc(dispatch) -> external */
static napi_value js_alloc(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value ext;
    client_ctx *c;
    struct rtms_csdk_ops ops;
    struct rtms_ext_ops xops;
    if (!is_type(env, argv[0], napi_function)) return throw_type_error(env, "Function argument expected");
    c = calloc(1, sizeof *c);
    if (!c) return throw_error(env, "out of memory");
    c->env = env;
    c->a = addon_of(env);
    c->sdk = rtms_alloc();
    if (!c->sdk) {
        free(c);
        return throw_rtms(env, "alloc", RTMS_SDK_FAILURE);
    }
    c->a->clients++;
    live_handles++;
    /* Weak: the Client holds its dispatch function; a strong reference here would keep every
     * Client alive forever (the function closes over it). */
    napi_create_reference(env, argv[0], 0, &c->dispatch);
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
    xops.on_participant_event = cb_participant_event;
    xops.on_active_speaker = cb_active_speaker;
    xops.on_sharing = cb_sharing;
    xops.on_media_interrupted = cb_media_interrupted;
    rtms_set_ext_callbacks(c->sdk, &xops);
    if (napi_create_external(env, c, finalize_client, NULL, &ext) != napi_ok) {
        release_handle(c);
        free_client(c);
        return throw_error(env, "alloc: cannot create the handle object");
    }
    return ext;
}

static void fill_int(napi_env env, napi_value obj, const char *name, int *out)
{
    napi_value v;
    if (get_prop(env, obj, name, &v)) *out = arg_int(env, v, *out);
}

/* The four parameter structs of a media_parameters, the core's wrapper defaults in every field. */
typedef struct {
    struct audio_parameters a;
    struct video_parameters v;
    struct ds_parameters d;
    struct transcript_parameters t;
    struct media_parameters mp;
} params_buf;

static void params_init(params_buf *p)
{
    memset(p, 0, sizeof *p);
    p->mp.audio_param = &p->a;
    p->mp.video_param = &p->v;
    p->mp.ds_param = &p->d;
    p->mp.tr_param = &p->t;
    rtms_wrapper_defaults(&p->mp);
}

/* The int fields of each parameter struct by the names Zoom's wrapper gives them (camelCase). */
typedef struct {
    const char *name;
    size_t offset;
} int_field;

#define FIELD(type, js, c)                                                                                             \
    {                                                                                                                  \
        js, offsetof(struct type, c)                                                                                   \
    }
static const int_field audio_fields[] = {
    FIELD(audio_parameters, "contentType", content_type), FIELD(audio_parameters, "codec", codec),
    FIELD(audio_parameters, "sampleRate", sample_rate),   FIELD(audio_parameters, "channel", channel),
    FIELD(audio_parameters, "dataOpt", data_opt),         FIELD(audio_parameters, "duration", duration),
    FIELD(audio_parameters, "frameSize", frame_size),     {NULL, 0}};
static const int_field video_fields[] = {FIELD(video_parameters, "contentType", content_type),
                                         FIELD(video_parameters, "codec", codec),
                                         FIELD(video_parameters, "resolution", resolution),
                                         FIELD(video_parameters, "dataOpt", data_opt),
                                         FIELD(video_parameters, "fps", fps),
                                         {NULL, 0}};
static const int_field ds_fields[] = {FIELD(ds_parameters, "contentType", content_type),
                                      FIELD(ds_parameters, "codec", codec),
                                      FIELD(ds_parameters, "resolution", resolution),
                                      FIELD(ds_parameters, "fps", fps),
                                      {NULL, 0}};
static const int_field transcript_fields[] = {FIELD(transcript_parameters, "contentType", content_type),
                                              FIELD(transcript_parameters, "srcLanguage", src_language),
                                              {NULL, 0}};
#undef FIELD

/* By kind, in media_kinds' order: audio, video, deskshare, transcript. */
static const int_field *const param_fields[4] = {audio_fields, video_fields, ds_fields, transcript_fields};

/* Overwrites the struct's fields with the object's numbers (enableLid for a transcript). */
static void fill_params(napi_env env, napi_value o, const int_field *fields, void *st, bool *lid)
{
    napi_value v;
    for (; fields->name; fields++) fill_int(env, o, fields->name, (int *)((char *)st + fields->offset));
    if (lid && get_prop(env, o, "enableLid", &v) && is_type(env, v, napi_boolean)) napi_get_value_bool(env, v, lid);
}

/* Reads objs[k] (k a kind of param_fields) over the defaults in p; a kind whose objs[k] is NULL or
 * not an object is left out of p->mp. */
static void read_params(napi_env env, params_buf *p, const napi_value objs[4])
{
    void *st[4] = {&p->a, &p->v, &p->d, &p->t};
    int k, given[4];
    for (k = 0; k < 4; k++) {
        given[k] = objs[k] && is_type(env, objs[k], napi_object);
        if (given[k]) fill_params(env, objs[k], param_fields[k], st[k], k == 3 ? &p->t.enable_lid : NULL);
    }
    if (!given[0]) p->mp.audio_param = NULL;
    if (!given[1]) p->mp.video_param = NULL;
    if (!given[2]) p->mp.ds_param = NULL;
    if (!given[3]) p->mp.tr_param = NULL;
}

static napi_value params_object(napi_env env, const int_field *fields, const void *st, const bool *lid)
{
    napi_value o;
    napi_create_object(env, &o);
    for (; fields->name; fields++)
        napi_set_named_property(env, o, fields->name,
                                int_value(env, *(const int *)((const char *)st + fields->offset)));
    if (lid) napi_set_named_property(env, o, "enableLid", bool_value(env, *lid));
    return o;
}

/* config(h, types, audio|null, video|null, ds|null, transcript|null) */
static napi_value js_config(napi_env env, napi_callback_info info)
{
    ARGS(6);
    client_ctx *c = argc >= 2 ? external_arg(env, argv[0]) : NULL;
    params_buf p;
    int rc;
    if (!c) return throw_type_error(env, "Wrong arguments");
    params_init(&p);
    read_params(env, &p, argv + 2);
    rc = rtms_config(c->sdk, &p.mp, arg_int(env, argv[1], 0), 0);
    if (rc != RTMS_SDK_OK) return throw_rtms(env, "config", rc);
    return bool_value(env, 1);
}

/* checkParams(kind, object): the core's rule (rtms_check_params); a RangeError saying what is wrong */
static napi_value js_check_params(napi_env env, napi_callback_info info)
{
    ARGS(2);
    char kind[16] = "";
    size_t len = 0;
    params_buf p;
    napi_value objs[4] = {NULL, NULL, NULL, NULL};
    int k = 0;
    if (argc < 2 || !is_type(env, argv[1], napi_object) ||
        napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &len) != napi_ok)
        return throw_type_error(env, "Wrong arguments");
    while (k < 4 && strcmp(kind, media_kinds[k]) != 0) k++;
    if (k == 4) return throw_type_error(env, "Wrong arguments");
    objs[k] = argv[1];
    params_init(&p);
    read_params(env, &p, objs);
    if (rtms_check_params(&p.mp) != RTMS_SDK_OK) {
        napi_throw_range_error(env, "RTMS_SDK_INVALID_ARGS", rtms_last_error());
        return NULL;
    }
    return bool_value(env, 1);
}

/* defaults(): Zoom's wrapper defaults from the core, as {audio, video, deskshare, transcript} */
static napi_value js_defaults(napi_env env, napi_callback_info info)
{
    napi_value out;
    params_buf p;
    const void *st[4] = {&p.a, &p.v, &p.d, &p.t};
    int k;
    (void)info;
    params_init(&p);
    napi_create_object(env, &out);
    for (k = 0; k < 4; k++)
        set_prop(env, out, media_kinds[k], params_object(env, param_fields[k], st[k], k == 3 ? &p.t.enable_lid : NULL));
    return out;
}

/* [instance id, stream id]: what the core set in the handle when it joined (rtms_csdk's fields). */
static napi_value join_ids(napi_env env, client_ctx *c)
{
    napi_value out;
    napi_create_array_with_length(env, 2, &out);
    napi_set_element(env, out, 0, str_value(env, c->sdk->meeting_uuid));
    napi_set_element(env, out, 1, str_value(env, c->sdk->rtms_stream_id));
    return out;
}

/* joinPayload(h, json, timeout) -> [instance id, stream id]: the core reads the payload, computes
 * a missing signature and refuses bad input (TypeError; ReferenceError without credentials, as
 * Zoom's wrapper throws); then the handle joins the delivery group. */
static napi_value js_join_payload(napi_env env, napi_callback_info info)
{
    ARGS(3);
    client_ctx *c = argc >= 2 ? external_arg(env, argv[0]) : NULL;
    char *json = c && !c->released ? arg_string(env, argv[1]) : NULL;
    int rc;
    if (!json) return throw_type_error(env, "Wrong arguments");
    rc = rtms_join_payload(c->sdk, json, arg_int(env, argv[2], -1));
    free(json);
    if (rc != RTMS_SDK_OK) return throw_core(env, "join", rc, 1);
    if (group_join(env, c) != 0) return throw_error(env, "join: cannot add the handle to the delivery group");
    return join_ids(env, c);
}

/* poll(h): delivers what is pending now (the group's wake fd normally does this) */
static napi_value js_poll(napi_env env, napi_callback_info info)
{
    ARGS(1);
    client_ctx *c = external_arg(env, argv[0]);
    int n = 0;
    if (c && !c->released) {
        c->a->polling++;
        n = rtms_poll_ex(c->sdk, 0, 0);
        poll_done(c->a);
    }
    return int_value(env, n);
}

/* release(h): leaves, frees the handle; no callback after this returns */
static napi_value js_release(napi_env env, napi_callback_info info)
{
    ARGS(1);
    client_ctx *c = external_arg(env, argv[0]);
    if (!c || c->released) return bool_value(env, 0);
    release_handle(c); /* the struct stays until the external is finalized (the JS object may call in) */
    return bool_value(env, 1);
}

static napi_value js_subscribe(napi_env env, napi_callback_info info)
{
    ARGS(3);
    client_ctx *c = argc >= 3 ? external_arg(env, argv[0]) : NULL;
    uint32_t n = 0, i;
    int *events;
    bool on = true, is_array = false;
    int rc;
    if (!c || c->released || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array)
        return throw_type_error(env, "Array of event types expected");
    napi_get_array_length(env, argv[1], &n);
    /* Every element goes to the core, which refuses a list it cannot take (more than 64). */
    if (n > INT_MAX / sizeof(int) || !(events = malloc((n ? n : 1) * sizeof(int))))
        return throw_error(env, "subscribeEvent: out of memory");
    for (i = 0; i < n; i++) {
        napi_value e;
        napi_get_element(env, argv[1], i, &e);
        if (!is_type(env, e, napi_number)) {
            free(events);
            return throw_type_error(env, "Array of event types expected");
        }
        events[i] = arg_int(env, e, 0);
    }
    napi_get_value_bool(env, argv[2], &on);
    rc = on ? rtms_subscribe_event(c->sdk, events, (int)n) : rtms_unsubscribe_event(c->sdk, events, (int)n);
    free(events);
    if (rc != RTMS_SDK_OK) return throw_rtms(env, on ? "subscribeEvent" : "unsubscribeEvent", rc);
    return bool_value(env, 1);
}

static napi_value js_subscribe_video(napi_env env, napi_callback_info info)
{
    ARGS(3);
    client_ctx *c = argc >= 3 ? external_arg(env, argv[0]) : NULL;
    bool on = false;
    double id = 0;
    int rc;
    if (!c || c->released || !is_type(env, argv[1], napi_number) || !is_type(env, argv[2], napi_boolean))
        return throw_type_error(env, "Two arguments expected: userId (number), subscribe (boolean)");
    napi_get_value_double(env, argv[1], &id);
    napi_get_value_bool(env, argv[2], &on);
    rc = rtms_send_subscript_video(c->sdk, (int)(uint32_t)id, on ? 1 : 0);
    if (rc != RTMS_SDK_OK) return throw_rtms(env, "subscribeVideo", rc);
    return bool_value(env, 1);
}

static napi_value js_set_proxy(napi_env env, napi_callback_info info)
{
    ARGS(3);
    client_ctx *c = argc >= 3 ? external_arg(env, argv[0]) : NULL;
    char *type, *url;
    int rc;
    if (!c || c->released || !is_type(env, argv[1], napi_string) || !is_type(env, argv[2], napi_string))
        return throw_type_error(env, "Two string arguments expected: proxy_type, proxy_url");
    type = arg_string(env, argv[1]);
    url = arg_string(env, argv[2]);
    rc = rtms_set_proxy(c->sdk, type, url);
    free(type);
    free(url);
    if (rc != RTMS_SDK_OK) return throw_rtms(env, "setProxy", rc);
    return bool_value(env, 1);
}

/* stats(h) -> every counter of struct rtms_stats by its C name (as the Python binding has them);
 * media_messages is {audio, video, deskshare, transcript, chat}. */
static napi_value js_stats(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value o, per_kind;
    client_ctx *c = external_arg(env, argv[0]);
    struct rtms_stats s;
    int i;
    napi_create_object(env, &o);
    if (!c || c->released) return o;
    memset(&s, 0, sizeof s);
    s.version = RTMS_STATS_VERSION;
    if (rtms_get_stats(c->sdk, &s) != RTMS_SDK_OK) return o;
    napi_create_object(env, &per_kind);
    for (i = 0; i < 5; i++) set_prop(env, per_kind, media_kinds[i], num_value(env, (double)s.media_messages[i]));
    set_prop(env, o, "media_messages", per_kind);
#define STAT(f) set_prop(env, o, #f, num_value(env, (double)s.f))
    STAT(media_bytes);
    STAT(control_events);
    STAT(delivered);
    STAT(dropped_queue_full);
    STAT(dropped_malformed);
    STAT(dropped_unexpected);
    STAT(read_pauses);
    STAT(queue_high_water_bytes);
    STAT(keepalives_answered);
    STAT(reconnect_attempts);
    STAT(rejoins);
    STAT(media_reconnects);
    STAT(max_gap_ms);
#undef STAT
    return o;
}

static napi_value js_state(napi_env env, napi_callback_info info)
{
    ARGS(1);
    client_ctx *c = external_arg(env, argv[0]);
    return int_value(env, c && !c->released ? rtms_get_state(c->sdk) : 0);
}

static napi_value js_init(napi_env env, napi_callback_info info)
{
    ARGS(3);
    char *ca = arg_string(env, argv[0]), *agent = arg_string(env, argv[2]);
    int rc = rtms_init(ca ? ca : "", arg_int(env, argv[1], 1), agent);
    free(ca);
    free(agent);
    if (rc != RTMS_SDK_OK) return throw_rtms(env, "initialize", rc);
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
 * Webhook intake: rtms_webhook_start() (the core's listener; events reach dispatch through the
 * wake fd) and rtms_webhook_create() (no listener: Node's own server feeds every request to
 * webhookHandle() and takes what was accepted with webhookPoll()). Every decision is the core's.
 * ------------------------------------------------------------------------------------------- */

static void webhook_cb(rtms_webhook *wh, const char *event, const char *body, int size, int routed, void *user_data)
{
    webhook_ctx *w = (webhook_ctx *)user_data;
    napi_value argv[3], o;
    uint32_t n = 0;
    (void)wh;
    if (!w || w->stopped) return;
    argv[0] = str_value(w->env, event);
    napi_create_string_utf8(w->env, body, (size_t)size, &argv[1]);
    argv[2] = bool_value(w->env, routed);
    if (w->collect) {
        /* inside webhookPoll(): {event, body, routed} appended to its result */
        napi_create_object(w->env, &o);
        set_prop(w->env, o, "event", argv[0]);
        set_prop(w->env, o, "body", argv[1]);
        set_prop(w->env, o, "routed", argv[2]);
        napi_get_array_length(w->env, w->collect, &n);
        napi_set_element(w->env, w->collect, n, o);
        return;
    }
    call_dispatch(w->env, w->dispatch, 3, argv);
}

static void free_webhook(webhook_ctx *w)
{
    if (w->dispatch) napi_delete_reference(w->env, w->dispatch);
    free(w);
}

static void on_webhook_closed(uv_handle_t *h)
{
    webhook_ctx *w = (webhook_ctx *)h->data;
    w->closed = 1;
    if (w->finalized) free_webhook(w);
}

static void stop_webhook(webhook_ctx *w)
{
    if (w->stopped) return;
    w->stopped = 1;
    rtms_webhook_stop(w->wh);
    w->wh = NULL;
    if (w->polling) {
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *)&w->poll, on_webhook_closed);
    }
}

/* The external's finalizer: an intake nobody references any more is stopped and freed. */
static void finalize_webhook(napi_env env, void *data, void *hint)
{
    webhook_ctx *w = (webhook_ctx *)data;
    (void)env;
    (void)hint;
    w->finalized = 1;
    stop_webhook(w);
    if (!w->polling || w->closed) free_webhook(w); /* else on_webhook_closed frees it */
}

static void on_webhook_readable(uv_poll_t *h, int status, int events)
{
    webhook_ctx *w = (webhook_ctx *)h->data;
    napi_handle_scope scope;
    (void)status;
    (void)events;
    if (w->stopped) return;
    napi_open_handle_scope(w->env, &scope);
    rtms_webhook_poll(w->wh, 0, 0);
    napi_close_handle_scope(w->env, scope);
}

/* out[i]: a copy of obj[names[i]] when that is a string, else NULL (caller frees). */
static void read_strings(napi_env env, napi_value obj, const char *const *names, int n, char **out)
{
    napi_value v;
    int i;
    for (i = 0; i < n; i++) out[i] = get_prop(env, obj, names[i], &v) ? arg_string(env, v) : NULL;
}

/* Reads {host, port, path, secret, cert, key, clientCa, maxBodyBytes, replayWindowS,
 * queueMaxEvents} into o; strings[] receives the copies (caller frees). Absent = the core's
 * default (its environment variables included). */
static void webhook_options(napi_env env, napi_value obj, struct rtms_webhook_options *o, char *strings[6])
{
    static const char *const names[6] = {"host", "path", "secret", "cert", "key", "clientCa"};
    rtms_webhook_options_init(o, RTMS_WEBHOOK_OPTIONS_VERSION);
    read_strings(env, obj, names, 6, strings);
    o->host = strings[0];
    o->path = strings[1];
    o->secret_token = strings[2];
    o->cert_path = strings[3];
    o->key_path = strings[4];
    o->client_ca_path = strings[5];
    fill_int(env, obj, "port", &o->port);
    fill_int(env, obj, "maxBodyBytes", &o->max_body_bytes);
    fill_int(env, obj, "replayWindowS", &o->replay_window_s);
    fill_int(env, obj, "queueMaxEvents", &o->queue_max_events);
}

/* webhookStart(options, dispatch(event, body, routed)) -> external: the core's listener.
 * webhookCreate(options) -> external: an intake without a listener (webhookHandle/webhookPoll). */
static napi_value webhook_new(napi_env env, napi_callback_info info, int listen)
{
    ARGS(2);
    napi_value ext;
    struct rtms_webhook_options o;
    char *strings[6];
    webhook_ctx *w;
    uv_loop_t *loop = NULL;
    int i;
    if (!is_type(env, argv[0], napi_object) || (listen && !is_type(env, argv[1], napi_function)))
        return throw_type_error(env, "Wrong arguments");
    w = calloc(1, sizeof *w);
    if (!w) return throw_error(env, "out of memory");
    w->env = env;
    webhook_options(env, argv[0], &o, strings);
    w->wh = listen ? rtms_webhook_start(&o) : rtms_webhook_create(&o);
    for (i = 0; i < 6; i++) free(strings[i]);
    if (!w->wh) {
        free(w);
        return throw_rtms(env, "webhook", RTMS_SDK_FAILURE);
    }
    rtms_webhook_set_callback(w->wh, webhook_cb, w);
    if (listen) {
        napi_create_reference(env, argv[1], 1, &w->dispatch);
        if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
            uv_poll_init(loop, &w->poll, rtms_webhook_get_wake_fd(w->wh)) != 0) {
            rtms_webhook_stop(w->wh);
            free_webhook(w);
            return throw_error(env, "webhook: cannot watch the wake descriptor");
        }
        w->poll.data = w;
        uv_poll_start(&w->poll, UV_READABLE, on_webhook_readable);
        w->polling = 1;
    }
    if (napi_create_external(env, w, finalize_webhook, NULL, &ext) != napi_ok) {
        w->finalized = 1;
        stop_webhook(w);
        if (!w->polling) free_webhook(w);
        return throw_error(env, "webhook: cannot create the handle object");
    }
    return ext;
}

static napi_value js_webhook_start(napi_env env, napi_callback_info info) { return webhook_new(env, info, 1); }
static napi_value js_webhook_create(napi_env env, napi_callback_info info) { return webhook_new(env, info, 0); }

/* webhookHandle(h, method, url, headerLines, body: Buffer|string) -> {status, body}: the core's
 * answer to one request (rtms_webhook_handle); what it accepted waits for webhookPoll(). */
static napi_value js_webhook_handle(napi_env env, napi_callback_info info)
{
    ARGS(5);
    size_t len = 0;
    napi_value o;
    webhook_ctx *w = argc >= 5 ? external_arg(env, argv[0]) : NULL;
    char *method = NULL, *uri = NULL, *headers = NULL, *text = NULL, *reply = NULL;
    void *data = NULL;
    bool is_buffer = false;
    int status;
    if (!w || w->stopped) return throw_error(env, "webhook: the intake is stopped");
    if (napi_is_buffer(env, argv[4], &is_buffer) == napi_ok && is_buffer) {
        napi_get_buffer_info(env, argv[4], &data, &len);
    } else if ((text = arg_string(env, argv[4])) != NULL) {
        data = text;
        len = strlen(text);
    }
    method = arg_string(env, argv[1]);
    uri = arg_string(env, argv[2]);
    headers = arg_string(env, argv[3]);
    status = len > INT32_MAX ? -RTMS_SDK_INVALID_ARGS
                             : rtms_webhook_handle(w->wh, method, uri, headers, (const char *)data, (int)len, &reply);
    free(method);
    free(uri);
    free(headers);
    free(text);
    if (status < 0) return throw_rtms(env, "webhookHandle", -status);
    napi_create_object(env, &o);
    set_prop(env, o, "status", int_value(env, status));
    set_prop(env, o, "body", str_value(env, reply));
    rtms_free(reply);
    return o;
}

/* webhookPoll(h) -> [{event, body, routed}]: what the intake accepted and has not delivered yet,
 * taken now (rtms_webhook_poll(h, 0, 0)). */
static napi_value js_webhook_poll(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value out;
    webhook_ctx *w = external_arg(env, argv[0]);
    int rc;
    napi_create_array(env, &out);
    if (!w || w->stopped || w->collect) return out;
    w->collect = out;
    rc = rtms_webhook_poll(w->wh, 0, 0);
    w->collect = NULL;
    if (rc < 0) return throw_rtms(env, "webhookPoll", -rc);
    return out;
}

static napi_value js_webhook_port(napi_env env, napi_callback_info info)
{
    ARGS(1);
    webhook_ctx *w = external_arg(env, argv[0]);
    return int_value(env, w && !w->stopped ? rtms_webhook_port(w->wh) : -1);
}

/* webhookStats(h) -> every field of struct rtms_webhook_stats (version 2), by its C name */
static napi_value js_webhook_stats(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value o;
    webhook_ctx *w = external_arg(env, argv[0]);
    struct rtms_webhook_stats s;
    napi_create_object(env, &o);
    memset(&s, 0, sizeof s);
    s.version = RTMS_WEBHOOK_STATS_VERSION;
    if (!w || w->stopped || rtms_webhook_get_stats(w->wh, &s) != RTMS_SDK_OK) return o;
#define STAT(f) set_prop(env, o, #f, num_value(env, (double)s.f))
    STAT(requests);
    STAT(accepted);
    STAT(duplicates);
    STAT(validations);
    STAT(not_found);
    STAT(malformed);
    STAT(too_large);
    STAT(unauthorized);
    STAT(routed);
    STAT(dropped_queue_full);
    STAT(connections_accepted);
    STAT(connections_open);
    STAT(header_timeouts);
    STAT(body_timeouts);
    STAT(idle_timeouts);
    STAT(evicted);
    STAT(refused);
    STAT(accept_errors);
#undef STAT
    return o;
}

static napi_value js_webhook_stop(napi_env env, napi_callback_info info)
{
    ARGS(1);
    webhook_ctx *w = external_arg(env, argv[0]);
    if (!w || w->stopped) return bool_value(env, 0);
    stop_webhook(w);
    return bool_value(env, 1);
}

/* generateSignature(client, secret, uuid, stream): Zoom's wrapper rule (rtms_wrapper_signature:
 * ZM_RTMS_CLIENT / ZM_RTMS_SECRET win); a ReferenceError without credentials, as Zoom's throws. */
static napi_value js_signature(napi_env env, napi_callback_info info)
{
    ARGS(4);
    char *a[4], out[65];
    int i, rc;
    for (i = 0; i < 4; i++) a[i] = arg_string(env, argv[i]);
    rc = rtms_wrapper_signature(a[0], a[1], a[2], a[3], out, (int)sizeof out);
    for (i = 0; i < 4; i++) free(a[i]);
    if (rc != RTMS_SDK_OK) return throw_core(env, "generateSignature", rc, 1);
    return str_value(env, out);
}

/* findCaCertificate(path|undefined) -> the CA bundle Zoom's wrappers pick (rtms_find_ca), or "" */
static napi_value js_find_ca(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value out;
    char *path = arg_string(env, argv[0]), *found = NULL;
    int n = rtms_find_ca(path, &found);
    free(path);
    if (n < 0) return throw_rtms(env, "findCaCertificate", -n);
    napi_create_string_utf8(env, found, (size_t)n, &out);
    rtms_free(found);
    return out;
}

/* setLatencyBudget(us): the latency budget of the delivery group, 0..1000000 (0 = none); before
 * the first join, which creates the group with it. */
static napi_value js_set_latency_budget(napi_env env, napi_callback_info info)
{
    ARGS(1);
    addon *a = addon_of(env);
    double us = -1;
    if (!is_type(env, argv[0], napi_number))
        return throw_type_error(env, "setLatencyBudget: microseconds must be a number");
    napi_get_value_double(env, argv[0], &us);
    if (!(us >= 0 && us <= 1000000) || us != (int)us) {
        napi_throw_range_error(env, NULL, "setLatencyBudget: microseconds must be an integer in 0..1000000");
        return NULL;
    }
    if (a->group)
        return throw_error(env, "setLatencyBudget: must be set before the first join (the delivery group exists)");
    a->budget_us = (int)us;
    return bool_value(env, 1);
}

/* setMedia(media, batch): index.js's functions (once per thread) that take the clients' media: media
 * one message (see on_data), batch the delivery group's batches (see on_media_batch). */
static napi_value js_set_media(napi_env env, napi_callback_info info)
{
    ARGS(2);
    addon *a = addon_of(env);
    if (!is_type(env, argv[0], napi_function) || !is_type(env, argv[1], napi_function))
        return throw_type_error(env, "setMedia: two functions expected");
    if (a->media_fn) napi_delete_reference(env, a->media_fn);
    if (a->batch_fn) napi_delete_reference(env, a->batch_fn);
    a->media_fn = a->batch_fn = NULL;
    CHECK(napi_create_reference(env, argv[0], 1, &a->media_fn));
    CHECK(napi_create_reference(env, argv[1], 1, &a->batch_fn));
    if (a->group && !a->batches_off) rtms_group_set_media_batch(a->group, on_media_batch, a);
    return bool_value(env, 1);
}

/* setMediaBatches(on), for tests: false delivers media one callback a message, as without a
 * batch function. */
static napi_value js_set_media_batches(napi_env env, napi_callback_info info)
{
    ARGS(1);
    bool on = true;
    addon *a = addon_of(env);
    napi_get_value_bool(env, argv[0], &on);
    a->batches_off = !on;
    if (a->group) rtms_group_set_media_batch(a->group, on && a->batch_fn ? on_media_batch : NULL, a);
    return bool_value(env, 1);
}

/* uncaught(err): err becomes an uncaught exception now, as a throwing callback's does. */
static napi_value js_uncaught(napi_env env, napi_callback_info info)
{
    ARGS(1);
    if (argc >= 1) napi_fatal_exception(env, argv[0]);
    return NULL;
}

static napi_value js_last_error(napi_env env, napi_callback_info info)
{
    (void)info;
    return str_value(env, rtms_last_error());
}

/* leaveReasonString(reason): the core's name of an on_leave reason. */
static napi_value js_leave_reason_string(napi_env env, napi_callback_info info)
{
    ARGS(1);
    return str_value(env, rtms_leave_reason_string(arg_int(env, argv[0], 0)));
}

/* liveHandles(): core handles allocated by this addon and not released yet (for tests). */
static napi_value js_live_handles(napi_env env, napi_callback_info info)
{
    (void)info;
    return int_value(env, live_handles);
}

/* groupStats() -> {groups (of the process), live, wakeups and batches (this instance's)}, for tests. */
static napi_value js_group_stats(napi_env env, napi_callback_info info)
{
    addon *a = addon_of(env);
    napi_value o;
    (void)info;
    napi_create_object(env, &o);
    set_prop(env, o, "groups", int_value(env, live_groups));
    set_prop(env, o, "live", int_value(env, a->live));
    set_prop(env, o, "wakeups", int_value(env, a->wakeups));
    set_prop(env, o, "batches", int_value(env, a->batches));
    return o;
}

/* ---------------------------------------------------------------------------------------------
 * Fleet (rtms_fleet_*): a node of a fleet coordinated through PostgreSQL. Creating and releasing
 * it wait for the database, so they run on libuv's thread pool and settle a promise; everything
 * else is on the JS thread. The fleet's wake fd is watched like the clients' group's:
 * rtms_fleet_poll() runs in the libuv callback and the core's on_assigned/on_revoked call the
 * fleet's JS dispatch function, dispatch('assigned', streamId, generation, payloadJson,
 * previousOwner|null) and dispatch('revoked', streamId, generation, reason). index.js joins the
 * clients (fleetJoin).
 * ------------------------------------------------------------------------------------------- */

typedef struct fleet_ctx {
    napi_env env;
    rtms_fleet *fleet;
    napi_ref dispatch; /* strong until the fleet is released: a running fleet is not collected */
    uv_poll_t poll;
    int polling;
    int closed;   /* uv_close completed */
    int released; /* release started: no more polls or dispatches */
    int finalized;
} fleet_ctx;

#define FLEET_STRINGS 10

/* One fleetCreate() or fleetRelease() on the thread pool. */
typedef struct fleet_op {
    fleet_ctx *f;
    napi_async_work work;
    napi_deferred deferred;
    napi_ref keep; /* fleetRelease(): the external, alive until the release is done */
    struct rtms_fleet_options opts;
    char *strings[FLEET_STRINGS];
    rtms_fleet *result;
    char error[1024];
} fleet_op;

static void fleet_assigned(rtms_fleet *fleet, const char *id, int64_t generation, const char *payload, const char *prev,
                           void *user_data)
{
    fleet_ctx *f = (fleet_ctx *)user_data;
    napi_value argv[5];
    (void)fleet;
    if (!f || f->released) return;
    argv[0] = str_value(f->env, "assigned");
    argv[1] = str_value(f->env, id);
    argv[2] = int_value(f->env, generation);
    argv[3] = str_value(f->env, payload);
    if (prev)
        argv[4] = str_value(f->env, prev);
    else
        napi_get_null(f->env, &argv[4]);
    call_dispatch(f->env, f->dispatch, 5, argv);
}

static void fleet_revoked(rtms_fleet *fleet, const char *id, int64_t generation, const char *reason, void *user_data)
{
    fleet_ctx *f = (fleet_ctx *)user_data;
    napi_value argv[4];
    (void)fleet;
    if (!f || f->released) return;
    argv[0] = str_value(f->env, "revoked");
    argv[1] = str_value(f->env, id);
    argv[2] = int_value(f->env, generation);
    argv[3] = str_value(f->env, reason);
    call_dispatch(f->env, f->dispatch, 4, argv);
}

static void free_fleet(fleet_ctx *f)
{
    if (f->dispatch) napi_delete_reference(f->env, f->dispatch);
    free(f);
}

static void on_fleet_closed(uv_handle_t *h)
{
    fleet_ctx *f = (fleet_ctx *)h->data;
    f->closed = 1;
    if (f->finalized) free_fleet(f);
}

static void on_fleet_readable(uv_poll_t *h, int status, int events)
{
    fleet_ctx *f = (fleet_ctx *)h->data;
    napi_handle_scope scope;
    (void)status;
    (void)events;
    if (f->released) return;
    napi_open_handle_scope(f->env, &scope);
    rtms_fleet_poll(f->fleet, 0);
    napi_close_handle_scope(f->env, scope);
}

/* No more polls: the watch stops (and no longer keeps the process alive). */
static void unwatch_fleet(fleet_ctx *f)
{
    f->released = 1;
    if (f->polling && !f->closed) {
        f->polling = 0;
        uv_poll_stop(&f->poll);
        uv_close((uv_handle_t *)&f->poll, on_fleet_closed);
    } else {
        f->closed = 1;
    }
}

/* The external's finalizer: a fleet never closed (the environment is going away) is released
 * here, which hands its streams back to the other nodes at once. */
static void finalize_fleet(napi_env env, void *data, void *hint)
{
    fleet_ctx *f = (fleet_ctx *)data;
    (void)env;
    (void)hint;
    f->finalized = 1;
    if (!f->released) {
        unwatch_fleet(f);
        rtms_fleet_release(f->fleet);
        f->fleet = NULL;
    }
    if (f->closed) free_fleet(f);
}

static void free_op(napi_env env, fleet_op *op)
{
    int i;
    for (i = 0; i < FLEET_STRINGS; i++) free(op->strings[i]);
    if (op->keep) napi_delete_reference(env, op->keep);
    if (op->work) napi_delete_async_work(env, op->work);
    free(op);
}

static void reject_with(napi_env env, napi_deferred d, const char *text)
{
    napi_value msg, err;
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, d, err);
}

static void resolve_undefined(napi_env env, napi_deferred d)
{
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, d, undefined);
}

static void fleet_create_execute(napi_env env, void *data)
{
    fleet_op *op = (fleet_op *)data;
    (void)env;
    op->result = rtms_fleet_create(&op->opts, fleet_assigned, fleet_revoked, op->f);
    if (!op->result) /* the text is thread-local: copied on this thread */
        snprintf(op->error, sizeof op->error, "Fleet start failed: %s", rtms_last_error());
}

static void fleet_create_complete(napi_env env, napi_status status, void *data)
{
    fleet_op *op = (fleet_op *)data;
    fleet_ctx *f = op->f;
    napi_value ext;
    uv_loop_t *loop = NULL;
    const char *error = op->result ? "Fleet start failed" : op->error;
    int fd;
    if (status == napi_ok && op->result) {
        f->fleet = op->result;
        fd = rtms_fleet_get_wake_fd(f->fleet);
        if (fd >= 0 && napi_get_uv_event_loop(env, &loop) == napi_ok && uv_poll_init(loop, &f->poll, fd) == 0 &&
            napi_create_external(env, f, finalize_fleet, NULL, &ext) == napi_ok) {
            f->poll.data = f;
            uv_poll_start(&f->poll, UV_READABLE, on_fleet_readable);
            f->polling = 1;
            napi_resolve_deferred(env, op->deferred, ext);
            free_op(env, op);
            return;
        }
        error = "Fleet start failed: cannot watch the wake descriptor";
    }
    reject_with(env, op->deferred, error);
    if (op->result) rtms_fleet_release(op->result);
    free_fleet(f);
    free_op(env, op);
}

/* Reads the options object: {databaseUrl, nodeId, advertiseUrl, host, path, webhookSecret, cert,
 * key} strings, {maxStreams, leaseMs, renewMs, leaseMarginMs, port, startTimeoutMs} numbers;
 * absent: the core's default (its environment variables included). */
static void fleet_options(napi_env env, napi_value obj, fleet_op *op)
{
    static const char *const names[8] = {"databaseUrl", "nodeId",        "advertiseUrl", "host",
                                         "path",        "webhookSecret", "cert",         "key"};
    struct rtms_fleet_options *o = &op->opts;
    rtms_fleet_options_init(o, RTMS_FLEET_OPTIONS_VERSION);
    read_strings(env, obj, names, 8, op->strings);
    o->database_url = op->strings[0];
    o->node_id = op->strings[1];
    o->advertise_url = op->strings[2];
    o->host = op->strings[3];
    o->path = op->strings[4];
    o->secret_token = op->strings[5];
    o->cert_path = op->strings[6];
    o->key_path = op->strings[7];
    fill_int(env, obj, "maxStreams", &o->max_streams);
    fill_int(env, obj, "leaseMs", &o->lease_ms);
    fill_int(env, obj, "renewMs", &o->renew_ms);
    fill_int(env, obj, "leaseMarginMs", &o->lease_margin_ms);
    fill_int(env, obj, "port", &o->port);
    fill_int(env, obj, "startTimeoutMs", &o->start_timeout_ms);
}

/* fleetCreate(options, dispatch) -> Promise<external> */
static napi_value js_fleet_create(napi_env env, napi_callback_info info)
{
    ARGS(2);
    napi_value promise, name;
    fleet_op *op;
    fleet_ctx *f;
    if (!is_type(env, argv[0], napi_object) || !is_type(env, argv[1], napi_function))
        return throw_type_error(env, "Wrong arguments");
    op = calloc(1, sizeof *op);
    f = calloc(1, sizeof *f);
    if (!op || !f) {
        free(op);
        free(f);
        return throw_error(env, "out of memory");
    }
    f->env = env;
    op->f = f;
    fleet_options(env, argv[0], op);
    napi_create_reference(env, argv[1], 1, &f->dispatch);
    napi_create_string_utf8(env, "rtms_fleet_create", NAPI_AUTO_LENGTH, &name);
    if (napi_create_promise(env, &op->deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, name, fleet_create_execute, fleet_create_complete, op, &op->work) !=
            napi_ok ||
        napi_queue_async_work(env, op->work) != napi_ok) {
        free_fleet(f);
        free_op(env, op);
        return throw_error(env, "Fleet start failed: cannot queue the work");
    }
    return promise;
}

static void fleet_release_execute(napi_env env, void *data)
{
    fleet_op *op = (fleet_op *)data;
    (void)env;
    rtms_fleet_release(op->result);
}

static void fleet_release_complete(napi_env env, napi_status status, void *data)
{
    fleet_op *op = (fleet_op *)data;
    (void)status;
    if (op->f->dispatch) {
        napi_delete_reference(env, op->f->dispatch);
        op->f->dispatch = NULL;
    }
    resolve_undefined(env, op->deferred);
    free_op(env, op);
}

/* fleetRelease(h) -> Promise: leaves every stream, hands them back, stops the intake. */
static napi_value js_fleet_release(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value promise, name;
    fleet_ctx *f = external_arg(env, argv[0]);
    fleet_op *op;
    napi_deferred deferred;
    CHECK(napi_create_promise(env, &deferred, &promise));
    if (!f || f->released) {
        resolve_undefined(env, deferred);
        return promise;
    }
    unwatch_fleet(f);
    op = calloc(1, sizeof *op);
    napi_create_string_utf8(env, "rtms_fleet_release", NAPI_AUTO_LENGTH, &name);
    if (!op || napi_create_async_work(env, NULL, name, fleet_release_execute, fleet_release_complete, op, &op->work) !=
                   napi_ok) {
        /* No thread for it: release here (it blocks a few seconds at most). */
        rtms_fleet_release(f->fleet);
        free(op);
        resolve_undefined(env, deferred);
        return promise;
    }
    op->f = f;
    op->result = f->fleet;
    op->deferred = deferred;
    napi_create_reference(env, argv[0], 1, &op->keep);
    napi_queue_async_work(env, op->work);
    return promise;
}

/* The 64-bit generation argument. */
static int arg_generation(napi_env env, napi_value v, int64_t *out)
{
    return is_type(env, v, napi_number) && napi_get_value_int64(env, v, out) == napi_ok;
}

/* fleetJoin(fleet, client, streamId, generation, timeoutMs, clientId|null, clientSecret|null):
 * rtms_fleet_join(), then the client joins the delivery group as after join(); -> [instance id,
 * stream id], as joinPayload. */
static napi_value js_fleet_join(napi_env env, napi_callback_info info)
{
    ARGS(7);
    fleet_ctx *f = argc >= 5 ? external_arg(env, argv[0]) : NULL;
    client_ctx *c = argc >= 5 ? external_arg(env, argv[1]) : NULL;
    char *id, *cid = NULL, *csecret = NULL;
    int64_t generation = 0;
    int rc;
    if (!f || !c || !arg_generation(env, argv[3], &generation)) return throw_type_error(env, "Wrong arguments");
    if (f->released || c->released)
        return throw_error(env, f->released ? "fleetJoin: the fleet is closed" : "fleetJoin: the client was released");
    if (argc > 6) {
        cid = arg_string(env, argv[5]);
        csecret = arg_string(env, argv[6]);
    }
    if (cid || csecret) {
        struct rtms_options o;
        rtms_options_init(&o, RTMS_OPTIONS_VERSION);
        o.client_id = cid;
        o.client_secret = csecret;
        rc = rtms_set_options(c->sdk, &o);
        free(cid);
        free(csecret);
        if (rc != RTMS_SDK_OK) return throw_rtms(env, "fleetJoin", rc);
    }
    id = arg_string(env, argv[2]);
    rc = rtms_fleet_join(f->fleet, id, generation, c->sdk, arg_int(env, argv[4], -1));
    free(id);
    if (rc < 0) return throw_rtms(env, "fleetJoin", -rc);
    if (group_join(env, c) != 0) return throw_error(env, "fleetJoin: cannot add the handle to the delivery group");
    return join_ids(env, c);
}

/* fleetDone(fleet, streamId, generation, reason) -> the core's return value (0, or negative) */
static napi_value js_fleet_done(napi_env env, napi_callback_info info)
{
    ARGS(4);
    fleet_ctx *f = argc >= 4 ? external_arg(env, argv[0]) : NULL;
    char *id;
    int64_t generation = 0;
    int rc;
    if (!f || !arg_generation(env, argv[2], &generation)) return throw_type_error(env, "Wrong arguments");
    if (f->released) return int_value(env, -RTMS_SDK_NOT_EXIST);
    id = arg_string(env, argv[1]);
    rc = rtms_fleet_done(f->fleet, id, generation, arg_int(env, argv[3], RTMS_FLEET_REASON_UNKNOWN));
    free(id);
    return int_value(env, rc);
}

static napi_value js_fleet_port(napi_env env, napi_callback_info info)
{
    ARGS(1);
    fleet_ctx *f = external_arg(env, argv[0]);
    return int_value(env, f && !f->released ? rtms_fleet_port(f->fleet) : -1);
}

/* fleetStatus(fleet) -> the JSON text of rtms_fleet_status() */
static napi_value js_fleet_status(napi_env env, napi_callback_info info)
{
    ARGS(1);
    napi_value out;
    fleet_ctx *f = external_arg(env, argv[0]);
    char *json = NULL;
    int n;
    if (!f || f->released) return throw_error(env, "fleetStatus: the fleet is closed");
    n = rtms_fleet_status(f->fleet, &json);
    if (n < 0) return throw_rtms(env, "fleetStatus", -n);
    napi_create_string_utf8(env, json, (size_t)n, &out);
    rtms_free(json);
    return out;
}

NAPI_MODULE_INIT()
{
    napi_property_descriptor props[] = {
        {"alloc", NULL, js_alloc, NULL, NULL, NULL, napi_default, NULL},
        {"config", NULL, js_config, NULL, NULL, NULL, napi_default, NULL},
        {"joinPayload", NULL, js_join_payload, NULL, NULL, NULL, napi_default, NULL},
        {"checkParams", NULL, js_check_params, NULL, NULL, NULL, napi_default, NULL},
        {"defaults", NULL, js_defaults, NULL, NULL, NULL, napi_default, NULL},
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
        {"webhookCreate", NULL, js_webhook_create, NULL, NULL, NULL, napi_default, NULL},
        {"webhookHandle", NULL, js_webhook_handle, NULL, NULL, NULL, napi_default, NULL},
        {"webhookPoll", NULL, js_webhook_poll, NULL, NULL, NULL, napi_default, NULL},
        {"webhookStats", NULL, js_webhook_stats, NULL, NULL, NULL, napi_default, NULL},
        {"webhookStop", NULL, js_webhook_stop, NULL, NULL, NULL, napi_default, NULL},
        {"generateSignature", NULL, js_signature, NULL, NULL, NULL, napi_default, NULL},
        {"findCaCertificate", NULL, js_find_ca, NULL, NULL, NULL, napi_default, NULL},
        {"setLatencyBudget", NULL, js_set_latency_budget, NULL, NULL, NULL, napi_default, NULL},
        {"groupStats", NULL, js_group_stats, NULL, NULL, NULL, napi_default, NULL},
        {"setMedia", NULL, js_set_media, NULL, NULL, NULL, napi_default, NULL},
        {"setMediaBatches", NULL, js_set_media_batches, NULL, NULL, NULL, napi_default, NULL},
        {"uncaught", NULL, js_uncaught, NULL, NULL, NULL, napi_default, NULL},
        {"lastError", NULL, js_last_error, NULL, NULL, NULL, napi_default, NULL},
        {"liveHandles", NULL, js_live_handles, NULL, NULL, NULL, napi_default, NULL},
        {"leaveReasonString", NULL, js_leave_reason_string, NULL, NULL, NULL, napi_default, NULL},
        {"fleetCreate", NULL, js_fleet_create, NULL, NULL, NULL, napi_default, NULL},
        {"fleetRelease", NULL, js_fleet_release, NULL, NULL, NULL, napi_default, NULL},
        {"fleetJoin", NULL, js_fleet_join, NULL, NULL, NULL, napi_default, NULL},
        {"fleetDone", NULL, js_fleet_done, NULL, NULL, NULL, napi_default, NULL},
        {"fleetPort", NULL, js_fleet_port, NULL, NULL, NULL, napi_default, NULL},
        {"fleetStatus", NULL, js_fleet_status, NULL, NULL, NULL, napi_default, NULL},
    };
    addon *a = calloc(1, sizeof *a);
    napi_value kinds;
    int i;
    if (!a || napi_set_instance_data(env, a, NULL, NULL) != napi_ok ||
        napi_add_async_cleanup_hook(env, addon_teardown, a, NULL) != napi_ok) {
        free(a);
        return throw_error(env, "cannot set up the addon instance");
    }
    a->env = env;
    napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
    napi_create_object(env, &kinds);
    for (i = 0; i < 5; i++) napi_set_element(env, kinds, 1u << i, str_value(env, media_kinds[i]));
    set_prop(env, exports, "mediaKinds", kinds);
    return exports;
}
