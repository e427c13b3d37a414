/* errors.c: every function of rtms_csdk.h and openrtms.h given bad input, checked against the
 * header's RETURN VALUES rules:
 *   - functions that report a status return a positive RTMS_SDK_* code (or RTMS_SDK_FAILURE);
 *   - functions that return a value (count, fd, length, state) return a negative number;
 *   - the rtms_webhook_* family returns a negative number on every error;
 *   - functions that return a pointer return NULL;
 * and every failure leaves readable text in rtms_last_error(). No network: nothing joins.
 * Prints one line per failed check and "N passed, N failed"; exits non-zero on any failure. */
#include "openrtms.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what, long got) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL %s (returned %ld; last error: %s)\n", what, got, rtms_last_error());
}

/* A status error: positive code (RTMS_SDK_FAILURE is the one negative status) and text. */
#define STATUS_ERR(call, code)                                                                   \
    do {                                                                                         \
        int r_ = (call);                                                                         \
        check(r_ == (code) && rtms_last_error()[0] != '\0', #call " == " #code, r_);            \
    } while (0)
/* A value (or webhook) error: negative, the negated code, and text. */
#define VALUE_ERR(call, code)                                                                    \
    do {                                                                                         \
        int r_ = (call);                                                                         \
        check(r_ == -(code) && rtms_last_error()[0] != '\0', #call " == -" #code, r_);          \
    } while (0)
#define IS_NULL(call)                                                                            \
    do {                                                                                         \
        const void *p_ = (const void *)(call);                                                   \
        check(p_ == NULL && rtms_last_error()[0] != '\0', #call " == NULL", p_ != NULL);        \
    } while (0)

static void client_functions(struct rtms_csdk *h) {
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

static void bad_arguments(void) {
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
    STATUS_ERR(rtms_generate_signature("", "b", "c", "d", sig, (int)sizeof sig), RTMS_SDK_INVALID_ARGS);
    STATUS_ERR(rtms_generate_signature("a", "b", "c", "d", sig, 10), RTMS_SDK_INVALID_ARGS);
    /* A fresh handle is idle: a valid state, and no pending events. */
    check(rtms_get_state(h) == RTMS_STATE_IDLE, "rtms_get_state(fresh) == RTMS_STATE_IDLE", rtms_get_state(h));
    check(rtms_poll_ex(h, 0, 0) == 0, "rtms_poll_ex(fresh) == 0", 0);
    check(rtms_release(h) == RTMS_SDK_OK, "rtms_release(fresh) == RTMS_SDK_OK", 0);
    /* Released: every function says so, never success. */
    client_functions(h);
}

static void webhook_functions(void) {
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

int main(void) {
    client_functions(NULL);
    bad_arguments();
    webhook_functions();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
