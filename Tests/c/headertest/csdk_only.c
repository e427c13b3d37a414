/*
 * csdk_only.c: the Zoom-compatible entry point on its own.
 *
 * A program written for Zoom's pure-C SDK includes only rtms_csdk.h. This unit checks that the
 * header is self-contained (it pulls in rtms_common.h and nothing from openrtms.h), that it
 * compiles cleanly as C11 and as C++17, and that the Zoom API keeps the exact prototypes and
 * constant values of Zoom's header. Compile only (-c); nothing here runs.
 */
#include "rtms_csdk.h"

#include <stddef.h> /* NULL */

#ifdef OPENRTMS_H
#error "rtms_csdk.h must not include openrtms.h"
#endif
#ifdef OPENRTMS_VERSION_NUMBER
#error "rtms_csdk.h must not define OpenRTMS macros"
#endif

#ifdef __cplusplus
#define HT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Constant values of Zoom's rtms_common.h. */
HT_STATIC_ASSERT(SDK_AUDIO == 1 && SDK_VIDEO == 2 && SDK_DESKSHARE == 4, "media type bits");
HT_STATIC_ASSERT(SDK_TRANSCRIPT == 8 && SDK_CHAT == 16 && SDK_ALL == 32, "media type bits");
HT_STATIC_ASSERT(RTMS_SDK_FAILURE == -1 && RTMS_SDK_OK == 0 && RTMS_SDK_TIMEOUT == 1, "return codes");
HT_STATIC_ASSERT(RTMS_SDK_NOT_EXIST == 2 && RTMS_SDK_WRONG_TYPE == 3, "return codes");
HT_STATIC_ASSERT(RTMS_SDK_INVALID_STATUS == 4 && RTMS_SDK_INVALID_ARGS == 5, "return codes");
HT_STATIC_ASSERT(SESSION_ADD == 1 && SESSION_STOP == 2 && SESSION_PAUSE == 3 && SESSION_RESUME == 4, "session ops");
HT_STATIC_ASSERT(USER_JOIN == 0 && USER_LEAVE == 1, "user ops");
/* Zoom's library reads a callback table of exactly nine function pointers. */
HT_STATIC_ASSERT(sizeof(struct rtms_csdk_ops) == 9 * sizeof(void (*)(void)), "rtms_csdk_ops has Zoom's nine members");

/* The Zoom API, each function with the type a Zoom SDK program relies on. A changed prototype
 * in rtms_csdk.h fails to initialise its member here. */
struct zoom_api {
    int (*init)(const char *ca_path, int is_verify_cert, const char *agent);
    void (*uninit)(void);
    struct rtms_csdk *(*alloc)(void);
    int (*release)(struct rtms_csdk *sdk);
    int (*config)(struct rtms_csdk *sdk, struct media_parameters *params, int media_types, int ale);
    int (*set_callbacks)(struct rtms_csdk *sdk, struct rtms_csdk_ops *ops);
    int (*join)(struct rtms_csdk *sdk, const char *meeting_uuid, const char *rtms_stream_id, const char *signature,
                const char *server_url, int timeout);
    int (*poll)(struct rtms_csdk *sdk);
    int (*subscribe_event)(struct rtms_csdk *sdk, int *events, int n);
    int (*unsubscribe_event)(struct rtms_csdk *sdk, int *events, int n);
    int (*set_proxy)(struct rtms_csdk *sdk, const char *type, const char *url);
    int (*send_subscript_video)(struct rtms_csdk *sdk, int user_id, int is_sub);
};

extern const struct zoom_api headertest_zoom_api;
const struct zoom_api headertest_zoom_api = {
    rtms_init, rtms_uninit, rtms_alloc,           rtms_release,           rtms_config,    rtms_set_callbacks,
    rtms_join, rtms_poll,   rtms_subscribe_event, rtms_unsubscribe_event, rtms_set_proxy, rtms_send_subscript_video,
};

/* Callbacks written the way a Zoom SDK user writes them, stored in the ops table. */
static void on_join_confirm(struct rtms_csdk *sdk, int reason)
{
    (void)sdk;
    (void)reason;
}
static void on_session_update(struct rtms_csdk *sdk, int op, struct session_info *sess)
{
    (void)sdk;
    (void)op;
    (void)sess->session_id;
    (void)sess->stream_id;
    (void)sess->meeting_id[0];
    (void)sess->stat_time;
    (void)sess->status;
}
static void on_user_update(struct rtms_csdk *sdk, int op, struct participant_info *pi)
{
    (void)sdk;
    (void)op;
    (void)pi->participant_id;
    (void)pi->participant_name;
}
static void on_media(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp, struct rtms_metadata *md)
{
    (void)sdk;
    (void)buf;
    (void)size;
    (void)timestamp;
    (void)md->user_name;
    (void)md->user_id;
    (void)md->start_ts;
    (void)md->end_ts;
    (void)md->aii.target_size;
}
static void on_leave(struct rtms_csdk *sdk, int reason)
{
    (void)sdk;
    (void)reason;
}
static void on_event_ex(struct rtms_csdk *sdk, const char *buf, int size)
{
    (void)sdk;
    (void)buf;
    (void)size;
}

extern int headertest_zoom_style(const char *uuid, const char *stream, const char *sig, const char *url);
int headertest_zoom_style(const char *uuid, const char *stream, const char *sig, const char *url)
{
    struct rtms_csdk_ops ops;
    struct audio_parameters ap = {2, 1, 1, 1, 1, 20, 320};
    struct video_parameters vp = {3, 5, 2, 3, 5};
    struct ds_parameters dp = {3, 5, 3, 1};
    struct transcript_parameters tp = {5, -1, false};
    struct media_parameters mp = {&ap, &vp, &dp, &tp};
    int events[] = {2, 3, 4, 5, 6, 8, 9};
    struct rtms_csdk *sdk;

    ops.on_join_confirm = on_join_confirm;
    ops.on_session_update = on_session_update;
    ops.on_user_update = on_user_update;
    ops.on_audio_data = on_media;
    ops.on_video_data = on_media;
    ops.on_ds_data = on_media;
    ops.on_transcript_data = on_media;
    ops.on_leave = on_leave;
    ops.on_event_ex = on_event_ex;

    if (rtms_init(NULL, 1, "headertest") != RTMS_SDK_OK) return -1;
    sdk = rtms_alloc();
    if (sdk == NULL) return -1;
    rtms_config(sdk, &mp, SDK_AUDIO | SDK_VIDEO | SDK_DESKSHARE | SDK_TRANSCRIPT, 0);
    rtms_set_callbacks(sdk, &ops);
    rtms_subscribe_event(sdk, events, (int)(sizeof events / sizeof events[0]));
    rtms_join(sdk, uuid, stream, sig, url, 10000);
    rtms_poll(sdk);
    (void)sdk->meeting_uuid;
    (void)sdk->rtms_stream_id;
    return rtms_release(sdk);
}
