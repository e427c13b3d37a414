/*
 * all_headers.c: the OpenRTMS umbrella header (openrtms.h) in one translation unit, compiled
 * as C11 and as C++17 with -Wall -Wextra -pedantic -Werror. Pins the prototypes of the
 * OpenRTMS additions, uses every macro and initialiser the header offers, and checks the
 * compile-time constants. Compile only (-c); version_check.c compares with the library.
 */
#include "openrtms.h"
#include "rtms_csdk.h" /* including it again must be harmless */
#include "rtms_common.h"

#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
#define HT_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HT_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

HT_STATIC_ASSERT(OPENRTMS_VERSION_NUMBER ==
                     OPENRTMS_VERSION_MAJOR * 10000 + OPENRTMS_VERSION_MINOR * 100 + OPENRTMS_VERSION_PATCH,
                 "version number formula");
HT_STATIC_ASSERT(RTMS_OPTIONS_VERSION == 1 && RTMS_EXT_OPS_VERSION == 2 && RTMS_STATS_VERSION == 1, "struct versions");
HT_STATIC_ASSERT(RTMS_STATE_IDLE == 0 && RTMS_STATE_CONNECTING == 1 && RTMS_STATE_MEDIA == 2 &&
                     RTMS_STATE_JOINED == 3 && RTMS_STATE_ENDED == 4,
                 "handle states");
HT_STATIC_ASSERT(RTMS_REASON_TIMEOUT == 1 && RTMS_REASON_BAD_RESPONSE == 6 && RTMS_REASON_LIVENESS_TIMEOUT == 16 &&
                     RTMS_REASON_CONNECT_FAILED == 500 && RTMS_REASON_CONNECTION_LOST == 502 &&
                     RTMS_REASON_TLS_FAILED == 610 && RTMS_REASON_UPGRADE_REFUSED == 620 &&
                     RTMS_REASON_CLOSED_BY_SERVER == 960,
                 "local reasons");
/* Versioned structs start with their version field; FFI layers rely on it. */
HT_STATIC_ASSERT(offsetof(struct rtms_options, version) == 0, "rtms_options.version first");
HT_STATIC_ASSERT(offsetof(struct rtms_ext_ops, version) == 0, "rtms_ext_ops.version first");
HT_STATIC_ASSERT(offsetof(struct rtms_stats, version) == 0, "rtms_stats.version first");
/* OpenRTMS fields come after Zoom's in the shared structs. */
HT_STATIC_ASSERT(offsetof(struct rtms_metadata, channel_id) > offsetof(struct rtms_metadata, aii),
                 "metadata additions last");
HT_STATIC_ASSERT(offsetof(struct rtms_csdk, user_data) > offsetof(struct rtms_csdk, rtms_stream_id), "user_data last");

/* The OpenRTMS additions with their declared types. */
struct openrtms_api {
    const char *(*version)(void);
    int (*version_number)(void);
    const char *(*last_error)(void);
    const char *(*strerror_)(int code);
    const char *(*join_reason_string)(int reason);
    const char *(*leave_reason_string)(int reason);
    int (*get_failure)(struct rtms_csdk *sdk, char *buf, int len);
    int (*set_ext_callbacks)(struct rtms_csdk *sdk, const struct rtms_ext_ops *ops);
    int (*options_init)(struct rtms_options *opts, unsigned int version);
    int (*options_size)(void);
    int (*set_options)(struct rtms_csdk *sdk, const struct rtms_options *opts);
    int (*get_wake_fd)(struct rtms_csdk *sdk);
    int (*wait)(struct rtms_csdk *sdk, int timeout_ms);
    int (*poll_ex)(struct rtms_csdk *sdk, int max_events, int timeout_ms);
    int (*leave)(struct rtms_csdk *sdk);
    int (*close_stream)(struct rtms_csdk *sdk);
    int (*join_payload)(struct rtms_csdk *sdk, const char *payload_json, int timeout);
    int (*get_state)(struct rtms_csdk *sdk);
    int (*set_user_data)(struct rtms_csdk *sdk, void *user_data);
    void *(*get_user_data)(struct rtms_csdk *sdk);
    int (*get_stats)(struct rtms_csdk *sdk, struct rtms_stats *out);
    int (*generate_signature)(const char *client_id, const char *client_secret, const char *instance_id,
                              const char *rtms_stream_id, char *out, int out_len);
    int (*resolve_join)(const char *payload_json, char **out);
    int (*check_params)(const struct media_parameters *params);
    int (*wrapper_defaults)(struct media_parameters *out);
    rtms_group *(*group_create)(int latency_budget_us);
    int (*group_add)(rtms_group *group, struct rtms_csdk *sdk);
    int (*group_remove)(rtms_group *group, struct rtms_csdk *sdk);
    int (*group_get_wake_fd)(rtms_group *group);
    int (*group_poll)(rtms_group *group, int max_events, int timeout_ms);
    int (*group_release)(rtms_group *group);
};

extern const struct openrtms_api headertest_openrtms_api;
const struct openrtms_api headertest_openrtms_api = {
    rtms_version,
    rtms_version_number,
    rtms_last_error,
    rtms_strerror,
    rtms_join_reason_string,
    rtms_leave_reason_string,
    rtms_get_failure,
    rtms_set_ext_callbacks,
    rtms_options_init,
    rtms_options_size,
    rtms_set_options,
    rtms_get_wake_fd,
    rtms_wait,
    rtms_poll_ex,
    rtms_leave,
    rtms_close_stream,
    rtms_join_payload,
    rtms_get_state,
    rtms_set_user_data,
    rtms_get_user_data,
    rtms_get_stats,
    rtms_generate_signature,
    rtms_resolve_join,
    rtms_check_params,
    rtms_wrapper_defaults,
    rtms_group_create,
    rtms_group_add,
    rtms_group_remove,
    rtms_group_get_wake_fd,
    rtms_group_poll,
    rtms_group_release,
};

static void on_chat(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts, struct rtms_metadata *md)
{
    (void)sdk;
    (void)buf;
    (void)size;
    (void)ts;
    (void)md->channel_id;
    (void)md->language;
}
static void on_stream_state(struct rtms_csdk *sdk, int state, int reason)
{
    (void)sdk;
    (void)state;
    (void)reason;
}
static void on_stream_closed(struct rtms_csdk *sdk, int status, const char *reason)
{
    (void)sdk;
    (void)status;
    (void)reason;
}
static void on_error(struct rtms_csdk *sdk, int code, const char *message)
{
    (void)sdk;
    (void)code;
    (void)message;
}
static void on_participant_video(struct rtms_csdk *sdk, int *users, int n, int is_on)
{
    (void)sdk;
    (void)users;
    (void)n;
    (void)is_on;
}
static void on_participant_event(struct rtms_csdk *sdk, int op, uint64_t timestamp,
                                 struct participant_info *participants, int n)
{
    (void)sdk;
    (void)op;
    (void)timestamp;
    (void)participants;
    (void)n;
}
static void on_video_subscript_resp(struct rtms_csdk *sdk, int user_id, int status, const char *error)
{
    (void)sdk;
    (void)user_id;
    (void)status;
    (void)error;
}

extern int headertest_openrtms_style(struct rtms_csdk *sdk);
int headertest_openrtms_style(struct rtms_csdk *sdk)
{
    struct rtms_options opts = RTMS_OPTIONS_INIT; /* the macro is a valid initialiser in C and C++ */
    struct rtms_ext_ops ext;
    struct rtms_stats stats;
    char failure[256];
    char sig[65];

    memset(&ext, 0, sizeof ext);
    ext.version = RTMS_EXT_OPS_VERSION;
    ext.on_chat_data = on_chat;
    ext.on_stream_state = on_stream_state;
    ext.on_stream_closed = on_stream_closed;
    ext.on_error = on_error;
    ext.on_participant_video = on_participant_video;
    ext.on_video_subscript_resp = on_video_subscript_resp;
    ext.on_participant_event = on_participant_event;
    stats.version = RTMS_STATS_VERSION;
    opts.client_id = "id";
    opts.client_secret = "secret";

    if (rtms_options_init(&opts, RTMS_OPTIONS_VERSION) != RTMS_SDK_OK) return -1;
    rtms_set_options(sdk, &opts);
    rtms_set_ext_callbacks(sdk, &ext);
    rtms_generate_signature("id", "secret", "uuid", "stream", sig, (int)sizeof sig);
    if (rtms_poll_ex(sdk, 0, 0) < 0) return rtms_get_failure(sdk, failure, (int)sizeof failure);
    rtms_get_stats(sdk, &stats);
    return (int)stats.media_messages[0] + rtms_get_state(sdk) + rtms_get_wake_fd(sdk);
}

/* The fleet (rtms_fleet_*): constants, the options struct, the prototypes and callback types. */
HT_STATIC_ASSERT(RTMS_FLEET_OPTIONS_VERSION == 1 && RTMS_FLEET_REASON_UNKNOWN == -1, "fleet constants");
HT_STATIC_ASSERT(RTMS_FLEET_DEFAULT_MAX_STREAMS == 100 && RTMS_FLEET_DEFAULT_LEASE_MS == 10000 &&
                     RTMS_FLEET_DEFAULT_RENEW_MS == 2000 && RTMS_FLEET_DEFAULT_LEASE_MARGIN_MS == 2000 &&
                     RTMS_FLEET_DEFAULT_START_TIMEOUT_MS == 60000,
                 "fleet defaults");
HT_STATIC_ASSERT(offsetof(struct rtms_fleet_options, version) == 0, "rtms_fleet_options.version first");

struct openrtms_fleet_api {
    int (*options_init)(struct rtms_fleet_options *opts, unsigned int version);
    rtms_fleet *(*create)(const struct rtms_fleet_options *opts, rtms_fleet_assigned_cb on_assigned,
                          rtms_fleet_revoked_cb on_revoked, void *user_data);
    int (*poll)(rtms_fleet *fleet, int timeout_ms);
    int (*get_wake_fd)(rtms_fleet *fleet);
    int (*port)(rtms_fleet *fleet);
    int (*join)(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation, struct rtms_csdk *sdk,
                int timeout_ms);
    int (*done)(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation, int stop_reason);
    int (*status)(rtms_fleet *fleet, char **json_out);
    int (*release)(rtms_fleet *fleet);
};

extern const struct openrtms_fleet_api headertest_openrtms_fleet_api;
const struct openrtms_fleet_api headertest_openrtms_fleet_api = {
    rtms_fleet_options_init, rtms_fleet_create, rtms_fleet_poll,   rtms_fleet_get_wake_fd, rtms_fleet_port,
    rtms_fleet_join,         rtms_fleet_done,   rtms_fleet_status, rtms_fleet_release,
};

static void on_fleet_assigned(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation,
                              const char *payload_json, const char *previous_owner, void *user_data)
{
    (void)fleet;
    (void)rtms_stream_id;
    (void)generation;
    (void)payload_json;
    (void)previous_owner;
    (void)user_data;
}
static void on_fleet_revoked(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation, const char *reason,
                             void *user_data)
{
    (void)fleet;
    (void)rtms_stream_id;
    (void)generation;
    (void)reason;
    (void)user_data;
}

extern rtms_fleet *headertest_fleet_style(const char *database_url);
rtms_fleet *headertest_fleet_style(const char *database_url)
{
    struct rtms_fleet_options opts = RTMS_FLEET_OPTIONS_INIT; /* a valid initialiser in C and C++ */
    opts.database_url = database_url;
    opts.node_id = "node-1";
    opts.port = 0;
    return rtms_fleet_create(&opts, on_fleet_assigned, on_fleet_revoked, NULL);
}
