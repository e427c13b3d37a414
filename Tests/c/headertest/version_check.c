/*
 * version_check.c: the compile-time constants of openrtms.h against the library actually
 * loaded. Built and run by Tests/c/run.sh as C (flags from pkg-config) and as C++ (which also
 * proves the extern "C" linkage of the declarations). Exit 0 when everything agrees.
 */
#include "openrtms.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

int main(void)
{
    struct rtms_options from_macro = RTMS_OPTIONS_INIT;
    struct rtms_options from_lib;
    const char *v = rtms_version();

    printf("header %s (%d), library %s (%d)\n", OPENRTMS_VERSION_STRING, OPENRTMS_VERSION_NUMBER, v ? v : "(null)",
           rtms_version_number());
    expect(rtms_version_number() == OPENRTMS_VERSION_NUMBER, "rtms_version_number() == OPENRTMS_VERSION_NUMBER");
    expect(v != NULL && strcmp(v, OPENRTMS_VERSION_STRING) == 0, "rtms_version() == OPENRTMS_VERSION_STRING");
    expect(rtms_options_size() == (int)sizeof(struct rtms_options),
           "rtms_options_size() == sizeof(struct rtms_options)");

    /* RTMS_OPTIONS_INIT and rtms_options_init() give the same defaults. */
    memset(&from_lib, 0xA5, sizeof from_lib);
    expect(rtms_options_init(&from_lib, RTMS_OPTIONS_VERSION) == RTMS_SDK_OK,
           "rtms_options_init(RTMS_OPTIONS_VERSION)");
    expect(from_lib.version == from_macro.version && from_lib.poll_wait_ms == from_macro.poll_wait_ms &&
               from_lib.connect_timeout_ms == from_macro.connect_timeout_ms &&
               from_lib.queue_max_bytes == from_macro.queue_max_bytes &&
               from_lib.drop_when_full == from_macro.drop_when_full &&
               from_lib.max_message_bytes == from_macro.max_message_bytes && from_lib.client_id == NULL &&
               from_lib.client_secret == NULL && from_lib.ca_path == NULL &&
               from_lib.verify_cert == from_macro.verify_cert && from_lib.buffer_data == from_macro.buffer_data &&
               from_lib.client_agent == NULL,
           "rtms_options_init() matches RTMS_OPTIONS_INIT");
    expect(rtms_options_init(&from_lib, RTMS_OPTIONS_VERSION + 1) == RTMS_SDK_INVALID_ARGS,
           "unknown options version rejected");

    /* RTMS_WEBHOOK_OPTIONS_INIT and rtms_webhook_options_init() give the same defaults. */
    {
        struct rtms_webhook_options wm = RTMS_WEBHOOK_OPTIONS_INIT, wl;
        memset(&wl, 0xA5, sizeof wl);
        expect(rtms_webhook_options_init(&wl, RTMS_WEBHOOK_OPTIONS_VERSION) == RTMS_SDK_OK,
               "rtms_webhook_options_init()");
        expect(wl.version == wm.version && wl.host == NULL && wl.port == wm.port && wl.path == NULL &&
                   wl.cert_path == NULL && wl.key_path == NULL && wl.client_ca_path == NULL &&
                   wl.secret_token == NULL && wl.max_body_bytes == wm.max_body_bytes &&
                   wl.replay_window_s == wm.replay_window_s && wl.queue_max_events == wm.queue_max_events,
               "rtms_webhook_options_init() matches RTMS_WEBHOOK_OPTIONS_INIT");
        expect(rtms_webhook_port(NULL) == -RTMS_SDK_NOT_EXIST, "rtms_webhook_port(NULL) == -RTMS_SDK_NOT_EXIST");
    }

    /* Calls that need no server. */
    expect(rtms_release(NULL) == RTMS_SDK_NOT_EXIST, "rtms_release(NULL) == RTMS_SDK_NOT_EXIST");
    expect(rtms_last_error() != NULL && rtms_last_error()[0] != '\0', "rtms_last_error() explains the failed call");
    expect(rtms_strerror(RTMS_SDK_INVALID_ARGS) != NULL && rtms_strerror(12345) != NULL, "rtms_strerror() never NULL");
    expect(rtms_poll(NULL) == RTMS_SDK_NOT_EXIST, "rtms_poll(NULL) == RTMS_SDK_NOT_EXIST");
    {
        char sig[65];
        expect(rtms_generate_signature("id", "secret", "uuid", "stream", sig, (int)sizeof sig) == RTMS_SDK_OK &&
                   strlen(sig) == 64,
               "rtms_generate_signature() writes 64 hex digits");
    }

    printf("%s\n", failures == 0 ? "version_check: all checks passed" : "version_check: FAILED");
    return failures == 0 ? 0 : 1;
}
