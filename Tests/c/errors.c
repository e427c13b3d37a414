/* errors.c: every function of rtms_csdk.h and openrtms.h given bad input, checked against the
 * header's RETURN VALUES rules:
 *   - functions that report a status return a positive RTMS_SDK_* code (or RTMS_SDK_FAILURE);
 *   - functions that return a value (count, fd, length, state) return a negative number;
 *   - the rtms_webhook_* and rtms_fleet_* families return a negative number on every error;
 *   - functions that return a pointer return NULL;
 * and every failure leaves readable text in rtms_last_error(). No network: nothing joins.
 * Prints one line per failed check and "N passed, N failed"; exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L /* unsetenv() under -std=c11 */
#include "openrtms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what, long got)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s (returned %ld; last error: %s)\n", what, got, rtms_last_error());
}

/* A status error: positive code (RTMS_SDK_FAILURE is the one negative status) and text. */
#define STATUS_ERR(call, code)                                                                                         \
    do {                                                                                                               \
        int r_ = (call);                                                                                               \
        check(r_ == (code) && rtms_last_error()[0] != '\0', #call " == " #code, r_);                                   \
    } while (0)
/* A value (or webhook) error: negative, the negated code, and text. */
#define VALUE_ERR(call, code)                                                                                          \
    do {                                                                                                               \
        int r_ = (call);                                                                                               \
        check(r_ == -(code) && rtms_last_error()[0] != '\0', #call " == -" #code, r_);                                 \
    } while (0)
#define IS_NULL(call)                                                                                                  \
    do {                                                                                                               \
        const void *p_ = (const void *)(call);                                                                         \
        check(p_ == NULL && rtms_last_error()[0] != '\0', #call " == NULL", p_ != NULL);                               \
    } while (0)

static void client_functions(struct rtms_csdk *h)
{
    struct rtms_options o;
    struct rtms_stats st;
    struct rtms_csdk_ops ops;
    int events[1] = {3};
    char buf[64];
    memset(&ops, 0, sizeof ops);
    memset(&st, 0, sizeof st);

    /* Status family (Zoom's and ours). */
    STATUS_ERR(rtms_config(h, NULL, SDK_AUDIO, 0), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_set_callbacks(h, &ops), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_join(h, "m", "s", "sig", "ws://127.0.0.1:9/", 0), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_poll(h), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_subscribe_event(h, events, 1), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_unsubscribe_event(h, events, 1), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_send_subscript_video(h, 1, 1), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_set_proxy(h, "http", "http://127.0.0.1:9"), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_set_ext_callbacks(h, NULL), RTMS_SDK_NOT_EXIST);
    rtms_options_init(&o, RTMS_OPTIONS_VERSION);
    STATUS_ERR(rtms_set_options(h, &o), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_leave(h), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_close_stream(h), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_feed_webhook(h, "{}", -1), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_join_payload(h, "{}", 0), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_set_user_data(h, NULL), RTMS_SDK_NOT_EXIST);
    st.version = RTMS_STATS_VERSION;
    STATUS_ERR(rtms_get_stats(h, &st), RTMS_SDK_NOT_EXIST);
    STATUS_ERR(rtms_release(h), RTMS_SDK_NOT_EXIST);

    /* Value family. */
    VALUE_ERR(rtms_poll_ex(h, 0, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_wait(h, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_get_wake_fd(h), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_get_failure(h, buf, (int)sizeof buf), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_get_state(h), RTMS_SDK_NOT_EXIST);

    /* Pointers. */
    IS_NULL(rtms_get_user_data(h));
}

static void bad_arguments(void)
{
    struct rtms_csdk *h = rtms_alloc();
    struct rtms_options o;
    struct rtms_stats st;
    int events[1] = {0};
    char sig[65];
    check(h != NULL, "rtms_alloc", 0);
    if (!h) return;
    STATUS_ERR(rtms_config(h, NULL, 1 << 12, 0), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_config(h, NULL, SDK_AUDIO, 1), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_join(h, NULL, "s", "sig", "ws://127.0.0.1:9/", 0), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_join(h, "m", "s", "sig", "not a url", 0), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_subscribe_event(h, events, 1), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_subscribe_event(h, NULL, 1), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_set_proxy(h, "socks5", "x"), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_options_init(&o, 99), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_options_init(NULL, RTMS_OPTIONS_VERSION), RTMS_SDK_INVALID_ARGS);
    rtms_options_init(&o, RTMS_OPTIONS_VERSION);
    o.version = 99;
    STATUS_ERR(rtms_set_options(h, &o), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_set_options(h, NULL), RTMS_SDK_INVALID_ARGS);
    memset(&st, 0, sizeof st);
    STATUS_ERR(rtms_get_stats(h, &st), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_get_stats(h, NULL), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_close_stream(h), RTMS_SDK_INVALID_STATUS);
    STATUS_ERR(rtms_feed_webhook(h, NULL, 0), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_feed_webhook(h, "not json", -1), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_join_payload(h, NULL, 0), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_join_payload(h, "{\"payload\":{}}", 0), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(
        rtms_join_payload(h, "{\"meeting_uuid\":1,\"rtms_stream_id\":\"s\",\"server_urls\":\"ws://127.0.0.1:9\"}", 0),
        RTMS_SDK_INVALID_ARGS);
    /* No signature and no credentials anywhere: a code of its own. */
    unsetenv("ZM_RTMS_CLIENT");
    unsetenv("ZM_RTMS_SECRET");
    STATUS_ERR(rtms_join(h, "m", "s", NULL, "ws://127.0.0.1:9/", 0), RTMS_SDK_NO_CREDENTIALS);
    STATUS_ERR(
        rtms_join_payload(
            h,
            "{\"meeting_uuid\":\"m\",\"rtms_stream_id\":\"s\",\"server_urls\":\"ws://127.0.0.1:9\",\"client\":\"c\"}",
            0),
        RTMS_SDK_NO_CREDENTIALS);
    {
        char *resolved = (char *)1;
        VALUE_ERR(rtms_resolve_join(NULL, &resolved), RTMS_SDK_INVALID_ARGS);
        check(resolved == NULL, "rtms_resolve_join(NULL) leaves *out NULL", 0);
        VALUE_ERR(rtms_resolve_join("{\"meeting_uuid\":\"m\",\"rtms_stream_id\":\"s\",\"server_urls\":\"ws://h\"}",
                                    &resolved),
                  RTMS_SDK_NO_CREDENTIALS);
        VALUE_ERR(rtms_resolve_join("{}", NULL), RTMS_SDK_INVALID_ARGS);
    }
    STATUS_ERR(rtms_check_params(NULL), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_wrapper_defaults(NULL), RTMS_SDK_INVALID_ARGS);
    {
        /* OPUS at 16 kHz: refused by the check, as by rtms_config(). */
        struct audio_parameters ap = {2, 4, 1, 2, 2, 20, 0};
        struct media_parameters mp = {&ap, NULL, NULL, NULL};
        STATUS_ERR(rtms_check_params(&mp), RTMS_SDK_INVALID_ARGS);
        STATUS_ERR(rtms_config(h, &mp, SDK_AUDIO, 0), RTMS_SDK_INVALID_ARGS);
    }
    STATUS_ERR(rtms_generate_signature("", "b", "c", "d", sig, (int)sizeof sig), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_generate_signature("a", "b", "c", "d", sig, 10), RTMS_SDK_INVALID_ARGS);
    /* The wrappers' signature: no credentials (the environment was cleared above) is its own code. */
    STATUS_ERR(rtms_wrapper_signature(NULL, "b", "c", "d", sig, (int)sizeof sig), RTMS_SDK_NO_CREDENTIALS);
    STATUS_ERR(rtms_wrapper_signature("a", "", "c", "d", sig, (int)sizeof sig), RTMS_SDK_NO_CREDENTIALS);
    STATUS_ERR(rtms_wrapper_signature("a", "b", "", "d", sig, (int)sizeof sig), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_wrapper_signature("a", "b", "c", "d", sig, 64), RTMS_SDK_INVALID_ARGS);
    {
        char *ca = (char *)1;
        VALUE_ERR(rtms_find_ca("/nonexistent/ca.pem", NULL), RTMS_SDK_INVALID_ARGS);
        check(rtms_find_ca("/nonexistent/ca.pem", &ca) >= 0 && ca != NULL && strcmp(ca, "/nonexistent/ca.pem") != 0,
              "rtms_find_ca(missing file) falls back, never returns the missing path", 0);
        rtms_free(ca);
    }
    /* A fresh handle is idle: a valid state, and no pending events. */
    check(rtms_get_state(h) == RTMS_STATE_IDLE, "rtms_get_state(fresh) == RTMS_STATE_IDLE", rtms_get_state(h));
    check(rtms_poll_ex(h, 0, 0) == 0, "rtms_poll_ex(fresh) == 0", 0);
    check(rtms_release(h) == RTMS_SDK_OK, "rtms_release(fresh) == RTMS_SDK_OK", 0);
    /* Released: every function says so, never success. */
    client_functions(h);
}

/* rtms_group_*: the webhook family's convention (negative codes, NULL from create). */
static void group_functions(void)
{
    struct rtms_csdk *h = rtms_alloc();
    rtms_group *g;
    IS_NULL(rtms_group_create(-1));
    IS_NULL(rtms_group_create(2000000));
    VALUE_ERR(rtms_group_add(NULL, h), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_group_remove(NULL, h), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_group_get_wake_fd(NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_group_poll(NULL, 0, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_group_release(NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_group_set_media_batch(NULL, NULL, NULL), RTMS_SDK_NOT_EXIST);
    g = rtms_group_create(0);
    check(g != NULL, "rtms_group_create(0)", 0);
    if (!g) return;
    check(rtms_group_get_wake_fd(g) >= 0, "rtms_group_get_wake_fd(g) >= 0", 0);
    VALUE_ERR(rtms_group_add(g, NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_group_remove(g, h), RTMS_SDK_NOT_EXIST);
    check(rtms_group_add(g, h) == RTMS_SDK_OK, "rtms_group_add(g, h)", 0);
    VALUE_ERR(rtms_group_add(g, h), RTMS_SDK_INVALID_STATUS);
    check(rtms_group_poll(g, 0, 0) == 0, "rtms_group_poll(idle group) == 0", 0);
    rtms_release(h);
    VALUE_ERR(rtms_group_remove(g, h), RTMS_SDK_NOT_EXIST);
    check(rtms_group_set_media_batch(g, NULL, NULL) == RTMS_SDK_OK, "rtms_group_set_media_batch(g, NULL)", 0);
    check(rtms_group_release(g) == RTMS_SDK_OK, "rtms_group_release(g)", 0);
    VALUE_ERR(rtms_group_set_media_batch(g, NULL, NULL), RTMS_SDK_NOT_EXIST);
}

static void webhook_functions(void)
{
    struct rtms_webhook_options o;
    struct rtms_webhook_stats st;
    char *out = NULL;
    rtms_webhook *wh;
    VALUE_ERR(rtms_webhook_options_init(NULL, RTMS_WEBHOOK_OPTIONS_VERSION), RTMS_SDK_INVALID_ARGS);
    VALUE_ERR(rtms_webhook_options_init(&o, 99), RTMS_SDK_INVALID_ARGS);
    rtms_webhook_options_init(&o, RTMS_WEBHOOK_OPTIONS_VERSION);
    o.version = 99;
    IS_NULL(rtms_webhook_start(&o));
    IS_NULL(rtms_webhook_create(&o));
    memset(&st, 0, sizeof st);
    st.version = RTMS_WEBHOOK_STATS_VERSION;
    /* NULL intake. */
    VALUE_ERR(rtms_webhook_port(NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_set_callback(NULL, NULL, NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_poll(NULL, 0, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_get_wake_fd(NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_wait_started(NULL, NULL, 0, &out), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_get_stats(NULL, &st), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_handle(NULL, "POST", "/", "", "{}", -1, &out), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_stop(NULL), RTMS_SDK_NOT_EXIST);
    /* A listener-less intake: bad arguments, then stopped. */
    rtms_webhook_options_init(&o, RTMS_WEBHOOK_OPTIONS_VERSION);
    o.secret_token = "errors-secret";
    wh = rtms_webhook_create(&o);
    check(wh != NULL, "rtms_webhook_create", 0);
    if (!wh) return;
    VALUE_ERR(rtms_webhook_port(wh), RTMS_SDK_INVALID_STATUS);
    VALUE_ERR(rtms_webhook_handle(wh, NULL, "/", "", "{}", -1, &out), RTMS_SDK_INVALID_ARGS);
    VALUE_ERR(rtms_webhook_get_stats(wh, NULL), RTMS_SDK_INVALID_ARGS);
    st.version = 99;
    VALUE_ERR(rtms_webhook_get_stats(wh, &st), RTMS_SDK_INVALID_ARGS);
    check(rtms_webhook_get_wake_fd(wh) >= 0, "rtms_webhook_get_wake_fd(live) >= 0", 0);
    check(rtms_webhook_poll(wh, 0, 0) == 0, "rtms_webhook_poll(live, nothing) == 0", 0);
    check(rtms_webhook_stop(wh) == RTMS_SDK_OK, "rtms_webhook_stop == RTMS_SDK_OK", 0);
    VALUE_ERR(rtms_webhook_poll(wh, 0, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_get_wake_fd(wh), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_handle(wh, "POST", "/", "", "{}", -1, &out), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_webhook_stop(wh), RTMS_SDK_NOT_EXIST);
}

static void on_assigned(rtms_fleet *f, const char *id, int64_t generation, const char *payload, const char *prev,
                        void *ud)
{
    (void)f;
    (void)id;
    (void)generation;
    (void)payload;
    (void)prev;
    (void)ud;
}

/* A fleet that cannot be created: every option checked before anything is bound or connected. */
static void fleet_refused(const char *what, struct rtms_fleet_options *o, rtms_fleet_assigned_cb cb)
{
    rtms_fleet *f = rtms_fleet_create(o, cb, NULL, NULL);
    check(f == NULL && rtms_last_error()[0] != '\0', what, f != NULL);
    if (f) rtms_fleet_release(f);
}

static void fleet_functions(void)
{
    struct rtms_fleet_options o;
    struct rtms_fleet_options init = RTMS_FLEET_OPTIONS_INIT;
    char *out = (char *)"not touched";
    struct rtms_csdk *h;
    rtms_fleet *fake;
    /* Options. */
    VALUE_ERR(rtms_fleet_options_init(NULL, RTMS_FLEET_OPTIONS_VERSION), RTMS_SDK_INVALID_ARGS);
    VALUE_ERR(rtms_fleet_options_init(&o, 99), RTMS_SDK_INVALID_ARGS);
    VALUE_ERR(rtms_fleet_options_init(&o, 0), RTMS_SDK_INVALID_ARGS);
    check(rtms_fleet_options_init(&o, RTMS_FLEET_OPTIONS_VERSION) == RTMS_SDK_OK,
          "rtms_fleet_options_init == RTMS_SDK_OK", 0);
    check(o.version == init.version && o.database_url == init.database_url && o.node_id == init.node_id &&
              o.max_streams == init.max_streams && o.lease_ms == init.lease_ms && o.renew_ms == init.renew_ms &&
              o.lease_margin_ms == init.lease_margin_ms && o.advertise_url == init.advertise_url &&
              o.host == init.host && o.port == init.port && o.path == init.path &&
              o.secret_token == init.secret_token && o.cert_path == init.cert_path && o.key_path == init.key_path &&
              o.start_timeout_ms == init.start_timeout_ms,
          "rtms_fleet_options_init == RTMS_FLEET_OPTIONS_INIT", 0);
    check(o.max_streams == -1 && o.lease_ms == -1 && o.port == -1 && o.database_url == NULL && o.start_timeout_ms == -1,
          "rtms_fleet_options_init: -1 and NULL defaults", 0);
    check(RTMS_FLEET_REASON_UNKNOWN == -1 && RTMS_FLEET_DEFAULT_LEASE_MS == 10000 &&
              RTMS_FLEET_DEFAULT_MAX_STREAMS == 100,
          "RTMS_FLEET_* constants", 0);

    /* rtms_fleet_create: NULL with the reason, for every bad option. */
    o.database_url = "postgres://rtms@127.0.0.1:1/rtms";
    o.host = "127.0.0.1";
    o.port = 0;
    o.start_timeout_ms = 300;
    o.version = 99;
    fleet_refused("rtms_fleet_create(unknown version) == NULL", &o, on_assigned);
    o.version = RTMS_FLEET_OPTIONS_VERSION;
    fleet_refused("rtms_fleet_create(no on_assigned, max_streams -1) == NULL", &o, NULL);
    o.database_url = "mysql://x@y/z";
    fleet_refused("rtms_fleet_create(not a postgres URL) == NULL", &o, on_assigned);
    o.database_url = "";
    fleet_refused("rtms_fleet_create(empty database URL) == NULL", &o, on_assigned);
    if (getenv("RTMS_DATABASE_URL") == NULL) {
        o.database_url = NULL;
        fleet_refused("rtms_fleet_create(no database URL, RTMS_DATABASE_URL unset) == NULL", &o, on_assigned);
    }
    o.database_url = "postgres://rtms@127.0.0.1:1/rtms";
    o.node_id = "";
    fleet_refused("rtms_fleet_create(empty node_id) == NULL", &o, on_assigned);
    o.node_id = "errors-node";
    o.max_streams = -2;
    fleet_refused("rtms_fleet_create(max_streams -2) == NULL", &o, on_assigned);
    o.max_streams = 1;
    o.lease_ms = 100;
    fleet_refused("rtms_fleet_create(lease_ms 100 < 300) == NULL", &o, on_assigned);
    o.lease_ms = 3000;
    o.renew_ms = 2000;
    fleet_refused("rtms_fleet_create(renew_ms > lease_ms / 3) == NULL", &o, on_assigned);
    o.renew_ms = 500;
    o.lease_margin_ms = 0;
    fleet_refused("rtms_fleet_create(lease_margin_ms 0) == NULL", &o, on_assigned);
    o.lease_margin_ms = 2600;
    fleet_refused("rtms_fleet_create(renew + margin >= lease) == NULL", &o, on_assigned);
    o.lease_margin_ms = 1000;
    o.port = 70000;
    fleet_refused("rtms_fleet_create(port 70000) == NULL", &o, on_assigned);
    o.port = -2;
    fleet_refused("rtms_fleet_create(port -2) == NULL", &o, on_assigned);
    o.port = 0;
    o.path = "no-slash";
    fleet_refused("rtms_fleet_create(path without /) == NULL", &o, on_assigned);
    o.path = "/zoom";
    o.advertise_url = "not a url";
    fleet_refused("rtms_fleet_create(bad advertise_url) == NULL", &o, on_assigned);
    o.advertise_url = NULL;
    o.cert_path = "/nonexistent/cert.pem";
    o.key_path = "";
    fleet_refused("rtms_fleet_create(cert without key) == NULL", &o, on_assigned);
    o.cert_path = NULL;
    o.key_path = NULL;
    o.start_timeout_ms = 0;
    fleet_refused("rtms_fleet_create(start_timeout_ms 0) == NULL", &o, on_assigned);
    /* Valid options, but nothing answers at the database's address: NULL after start_timeout_ms. */
    o.start_timeout_ms = 300;
    fleet_refused("rtms_fleet_create(database unreachable) == NULL", &o, on_assigned);

    /* NULL fleet. */
    h = rtms_alloc();
    check(h != NULL, "rtms_alloc", 0);
    VALUE_ERR(rtms_fleet_poll(NULL, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_get_wake_fd(NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_port(NULL), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_join(NULL, "s", 1, h, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_done(NULL, "s", 1, RTMS_FLEET_REASON_UNKNOWN), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_status(NULL, &out), RTMS_SDK_NOT_EXIST);
    check(out == NULL, "rtms_fleet_status(NULL) sets *json_out = NULL", 0);
    VALUE_ERR(rtms_fleet_release(NULL), RTMS_SDK_NOT_EXIST);
    /* A pointer that is not a fleet (the client handle's address, cast). */
    fake = (rtms_fleet *)(void *)h;
    VALUE_ERR(rtms_fleet_poll(fake, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_get_wake_fd(fake), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_port(fake), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_join(fake, "s", 1, h, 0), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_done(fake, "s", 1, 6), RTMS_SDK_NOT_EXIST);
    VALUE_ERR(rtms_fleet_release(fake), RTMS_SDK_NOT_EXIST);
    /* The client handle is untouched by all of that. */
    check(rtms_get_state(h) == RTMS_STATE_IDLE, "rtms_get_state(after fleet errors) == RTMS_STATE_IDLE",
          rtms_get_state(h));
    check(rtms_release(h) == RTMS_SDK_OK, "rtms_release(after fleet errors) == RTMS_SDK_OK", 0);
}

int main(void)
{
    client_functions(NULL);
    bad_arguments();
    webhook_functions();
    group_functions();
    fleet_functions();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
