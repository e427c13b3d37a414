/*
 * openrtms.h: OpenRTMS, the open RTMS client core. Includes rtms_csdk.h (Zoom-compatible API)
 * and adds what Zoom's C SDK lacks: a wake fd and blocking wait, leave and close-stream, chat
 * and error callbacks, per-handle options, statistics, thread-local error text and versions.
 *
 * MIT license. This header is the documentation: if something is not described here, it is not API.
 * Every function is callable from ctypes and N-API; every macro has a function twin.
 *
 * Environment:
 *   ZM_RTMS_CLIENT, ZM_RTMS_SECRET  credentials for computing signatures when rtms_join() gets none
 *                                   (rtms_options.client_id/client_secret take precedence)
 *   ZM_RTMS_PORT, ZM_RTMS_PATH, ZM_RTMS_CERT, ZM_RTMS_KEY, ZM_RTMS_CA_WEBHOOK, ZM_RTMS_WEBHOOK_SECRET
 *                                   webhook intake defaults (see "Webhook intake")
 *   RTMS_WEBHOOK_WAIT_TIMEOUT_MS    rtms_webhook_wait_started() default timeout [300000]
 *   RTMS_* reconnection knobs       see "RECONNECTION" and struct rtms_options
 *   RTMS_MAX_PAUSE_MS               longest backpressure pause of a handle's reading [10000; 0 = no
 *                                   limit]: see "EVENT QUEUE" in rtms_csdk.h
 *   RTMS_LOG_LEVEL (or ZM_RTMS_LOG_LEVEL)  trace|debug|info|warn|error|off [warn]: the library's
 *                                   own log lines, written to stderr. Read once, at first use.
 *   RTMS_NETWORK_THREADS            1..64: the library's network threads, which read and decode
 *                                   every handle's connections [half the cores, 1..8: the other half
 *                                   is left to the threads that deliver events]. Read once, at first use.
 *
 * Child processes: the library's wake fds are close-on-exec, its sockets (opened by SwiftNIO)
 * are not. A child the application starts while handles are connected inherits their sockets
 * unless the spawner closes inherited descriptors (Python's subprocess does by default; Node's
 * child_process does not; with posix_spawn, posix_spawn_file_actions_addclosefrom_np(a, 3)).
 * An inherited socket stays open until the child exits: a connection the library closed (a
 * leave, a failover) is then still open for its server.
 *
 * Compile-time vs run-time version: assert that
 *     rtms_version_number() == OPENRTMS_VERSION_NUMBER
 * if your program depends on this exact build.
 */
#ifndef OPENRTMS_H
#define OPENRTMS_H

#include "rtms_csdk.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OPENRTMS_VERSION_MAJOR 0
#define OPENRTMS_VERSION_MINOR 1
#define OPENRTMS_VERSION_PATCH 0
#define OPENRTMS_VERSION_NUMBER (OPENRTMS_VERSION_MAJOR * 10000 + OPENRTMS_VERSION_MINOR * 100 + OPENRTMS_VERSION_PATCH)
#define OPENRTMS_VERSION_STRING "0.1.0"

/* "0.1.0" */
const char *rtms_version(void);
/* OPENRTMS_VERSION_NUMBER of the library actually loaded */
int rtms_version_number(void);

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

/* Readable text of the last failed API call on the calling thread ("" if none). Valid until the
 * next OpenRTMS call on this thread. Thread-local, like libgit2's git_error_last(). */
const char *rtms_last_error(void);

/* Static text for an RTMS_SDK_* return code. Never NULL. */
const char *rtms_strerror(int code);

/* OpenRTMS's own return code, beside Zoom's RTMS_SDK_* (rtms_common.h): rtms_join() and
 * rtms_join_payload() got no signature and find no client id or secret to compute one (a case of
 * RTMS_SDK_INVALID_ARGS of its own, so that a binding can raise its language's configuration
 * error, as Zoom's wrappers do). rtms_last_error() says which is missing. */
#define RTMS_SDK_NO_CREDENTIALS 16

/* Local reasons reported by on_join_confirm() / on_leave() (the server's status codes 1..47 and
 * stop reasons 0..26 are reported as they are). Values match Zoom's client where it has one. */
#define RTMS_REASON_TIMEOUT           1    /* join did not complete within the join timeout */
#define RTMS_REASON_BAD_RESPONSE      6    /* a server response lacked required fields */
#define RTMS_REASON_LIVENESS_TIMEOUT  16   /* a connection stopped answering */
#define RTMS_REASON_CONNECT_FAILED    500  /* TCP connect failed (refused, unreachable, DNS, proxy) */
#define RTMS_REASON_CONNECTION_LOST   502  /* a connection dropped without a close frame */
#define RTMS_REASON_TLS_FAILED        610  /* TLS handshake or certificate verification failed */
#define RTMS_REASON_UPGRADE_REFUSED   620  /* the HTTP upgrade to WebSocket was refused */
#define RTMS_REASON_CLOSED_BY_SERVER  960  /* the server closed a connection with a close frame */
#define RTMS_REASON_QUEUE_FULL        700  /* on_error only: the queue stayed full past the pause limit,
                                               media is being dropped (counted); said again, with the
                                               number dropped, when the queue has drained */

/* Static names of callback reasons. Join reasons are wire status codes or RTMS_REASON_*
 * ("INVALID_SIGNATURE", "TLS_FAILED"...); leave reasons are stop reasons or RTMS_REASON_*
 * ("MEETING_ENDED", "CLOSED_BY_SERVER"...). Never NULL. */
const char *rtms_join_reason_string(int reason);
const char *rtms_leave_reason_string(int reason);

/* Text of the last join failure or session end of this handle, e.g. "signaling handshake
 * rejected: INVALID_SIGNATURE (3): bad signature". Copies at most len-1 bytes plus a NUL into
 * buf. Returns the full length, or a negated RTMS_SDK_* code (-RTMS_SDK_NOT_EXIST). */
int rtms_get_failure(struct rtms_csdk *sdk, char *buf, int len);

/* ---------------------------------------------------------------------------------------------
 * More callbacks
 * ------------------------------------------------------------------------------------------- */

/* Version 2 appended on_participant_event. A version 1 table (the struct as it was, ending at
 * on_reconnected) is still accepted: the library reads only the fields of the version given. */
#define RTMS_EXT_OPS_VERSION 2

/* Like rtms_csdk_ops: any member may be NULL; every callback runs inside rtms_poll() /
 * rtms_poll_ex() on the calling thread (rtms_csdk.h, "THREADING CONTRACT"); pointers passed to
 * a callback (strings, arrays, structs) are valid until it returns: copy what you keep. */
struct rtms_ext_ops {
    unsigned int version;  /* RTMS_EXT_OPS_VERSION (1 or 2) */
    /* Chat messages (media type SDK_CHAT): text or JSON text as sent, not NUL-terminated. */
    void (*on_chat_data)(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp, struct rtms_metadata *md);
    /* Every STREAM_STATE_UPDATE: state (0 INACTIVE .. 6 RESUMED), reason (STOP_REASON). */
    void (*on_stream_state)(struct rtms_csdk *sdk, int state, int reason);
    /* Answer to rtms_close_stream(): status_code and reason text. */
    void (*on_stream_closed)(struct rtms_csdk *sdk, int status, const char *reason);
    /* Readable text for every failure and warning: code is the join/leave reason for failures,
     * or a RTMS_REASON_* for warnings (a dropped malformed message, a media URL the server did not
     * offer...). Called before the on_join_confirm / on_leave it explains. */
    void (*on_error)(struct rtms_csdk *sdk, int code, const char *message);
    /* Typed events (each also arrives through on_event_ex, just before it, as in Zoom's wrappers:
     * on_first_packet and on_participant_video come before it, like on_user_update). Names are "" when
     * the server sent none, user ids 0; ids are the wire's 32-bit ids. on_sharing: is_start 1
     * for SHARING_START, 0 for SHARING_STOP. */
    void (*on_first_packet)(struct rtms_csdk *sdk, uint64_t timestamp);
    void (*on_active_speaker)(struct rtms_csdk *sdk, int user_id, const char *user_name, uint64_t timestamp);
    void (*on_sharing)(struct rtms_csdk *sdk, int is_start, int user_id, const char *user_name, uint64_t timestamp);
    void (*on_media_interrupted)(struct rtms_csdk *sdk, uint64_t timestamp);
    /* PARTICIPANT_VIDEO_ON/OFF (event types 8/9): the users whose video turned on or off. */
    void (*on_participant_video)(struct rtms_csdk *sdk, int *users, int n, int is_on);
    /* Answer to rtms_send_subscript_video(): status 0 = subscribed; error is the server's text. */
    void (*on_video_subscript_resp)(struct rtms_csdk *sdk, int user_id, int status, const char *error);
    /* Reconnection (see "RECONNECTION" below). connection: 0 = signaling (a full rejoin), else the
     * media_type mask of the media connection (SDK_AUDIO... or SDK_ALL). */
    void (*on_reconnecting)(struct rtms_csdk *sdk, int connection, int attempt, int delay_ms, const char *cause);
    void (*on_reconnected)(struct rtms_csdk *sdk, int connection, int gap_ms);
    /* Version 2. PARTICIPANT_JOIN / PARTICIPANT_LEAVE (event types 3/4, subscribe them with
     * rtms_subscribe_event()) as one call per event: op is USER_JOIN or USER_LEAVE, timestamp the
     * event's (ms; 0 when absent), participants[0..n-1] every participant named, in the order sent
     * (participant_name "" when the server sent none: Zoom's leave events carry no names). n is 0
     * and participants NULL when the event named nobody. The array and its names are valid during
     * the call only. Called after the event's on_user_update calls (one per participant, Zoom's
     * form) and its on_event_ex. */
    void (*on_participant_event)(struct rtms_csdk *sdk, int op, uint64_t timestamp, struct participant_info *participants, int n);
};

/* Copies the table (NULL clears it). version must be 1..RTMS_EXT_OPS_VERSION; fields added after
 * the version given are not read (they stay unset). */
int rtms_set_ext_callbacks(struct rtms_csdk *sdk, const struct rtms_ext_ops *ops);

/* ---------------------------------------------------------------------------------------------
 * Options (versioned: fields are only ever appended; set version to RTMS_OPTIONS_VERSION)
 * ------------------------------------------------------------------------------------------- */

#define RTMS_OPTIONS_VERSION 1

struct rtms_options {
    unsigned int version;      /* RTMS_OPTIONS_VERSION */
    int poll_wait_ms;          /* rtms_poll() waits this long when idle: 0 = never, -1 = until an event [10] */
    int connect_timeout_ms;    /* TCP + TLS + upgrade, per connection [10000] */
    int queue_max_bytes;       /* event queue limit before backpressure/drops [67108864] */
    int drop_when_full;        /* 0 = pause reading when full (no loss); 1 = drop new media, counted [0] */
    int max_message_bytes;     /* largest WebSocket message accepted [67108864] */
    const char *client_id;     /* for computing signatures; NULL = ZM_RTMS_CLIENT */
    const char *client_secret; /* NULL = ZM_RTMS_SECRET */
    const char *ca_path;       /* NULL = rtms_init()'s; "" = system trust store */
    int verify_cert;           /* -1 = rtms_init()'s [-1]; 0 = off; 1 = on */
    int buffer_data;           /* buffer_data in the handshake: -1 = not sent [-1], 0 = false, 1 = true */
    const char *client_agent;  /* rtms_client_agent in the handshake; NULL = "openrtms-<version>" */
    /* Reconnection knobs; -1 = the environment variable named, else the default in brackets. */
    int reconnect_max_attempts;    /* RTMS_RECONNECT_MAX_ATTEMPTS [5]; 0 = never reconnect */
    int reconnect_base_delay_ms;   /* RTMS_RECONNECT_BASE_DELAY_MS [3000]: backoff 0, base, 2·base... <= 30000 */
    int connection_max_attempts;   /* RTMS_CONNECTION_MAX_ATTEMPTS [5]: each connection of the first join */
    int connection_retry_delay_ms; /* RTMS_CONNECTION_RETRY_DELAY_MS [5000], shortened to fit every attempt in the join timeout */
    int keepalive_interval_ms;     /* RTMS_KEEPALIVE_INTERVAL_MS [10000, >= 3000]: ping after this much silence */
    int keepalive_timeout_ms;      /* RTMS_KEEPALIVE_TIMEOUT_MS [15000]: silence that declares a connection dead; 0 = never */
};

#define RTMS_OPTIONS_INIT { RTMS_OPTIONS_VERSION, 10, 10000, 67108864, 0, 67108864, NULL, NULL, NULL, -1, -1, NULL, \
                            -1, -1, -1, -1, -1, -1 }

/* Fills *opts with the defaults above. Returns RTMS_SDK_INVALID_ARGS for an unknown version. */
int rtms_options_init(struct rtms_options *opts, unsigned int version);
/* sizeof(struct rtms_options) of this library (for FFI layers). */
int rtms_options_size(void);

/* ---------------------------------------------------------------------------------------------
 * Media parameters: the core's one rule and Zoom's wrapper defaults
 * ------------------------------------------------------------------------------------------- */

/* Checks the non-NULL members of *params by the rules rtms_config() applies, without a handle, and
 * more strictly: every field must be set (> 0; sample_rate and frame_size >= 0, src_language >= -1)
 * where rtms_config() would give a field <= 0 the protocol default. For bindings that report a bad
 * parameter object when it is set, as Zoom's wrappers do. Returns RTMS_SDK_OK, or
 * RTMS_SDK_INVALID_ARGS (NULL params, a field not set, or a value out of range: rtms_last_error()
 * says which). Any thread. */
int rtms_check_params(const struct media_parameters *params);

/* Fills every non-NULL member of *out with the defaults of Zoom's Python and Node wrappers
 * (AudioParams() and friends), which differ from the protocol defaults rtms_config() uses for
 * fields <= 0: audio OPUS, SR_48K, STEREO, AUDIO_MULTI_STREAMS, 20 ms, 960 samples; video and
 * deskshare RAW_VIDEO, H264, HD, 30 fps (video VIDEO_SINGLE_ACTIVE_STREAM); transcript TEXT,
 * src_language -1 (detect), enable_lid true. Returns RTMS_SDK_OK or RTMS_SDK_INVALID_ARGS (NULL
 * out). Any thread. */
int rtms_wrapper_defaults(struct media_parameters *out);

/* Zoom's wrappers' generateSignature() / generate_signature(): the handshake signature of
 * rtms_generate_signature(), but ZM_RTMS_CLIENT and ZM_RTMS_SECRET, when set and not empty,
 * override client_id and client_secret (which may then be NULL or ""). Writes 64 hex digits and
 * a NUL into out (out_len >= 65). The credentials are checked first. Returns RTMS_SDK_OK,
 * RTMS_SDK_NO_CREDENTIALS (no client id or no secret from either: rtms_last_error() begins
 * "Client ID cannot be blank" or "Client Secret cannot be blank") or RTMS_SDK_INVALID_ARGS
 * (instance_id or rtms_stream_id NULL or empty, out NULL or too short). Any thread. */
int rtms_wrapper_signature(const char *client_id, const char *client_secret, const char *instance_id,
                           const char *rtms_stream_id, char *out, int out_len);

/* Zoom's wrappers' CA bundle search (findCaCertificate / find_ca_certificate): specified_path if
 * that file exists, else $ZM_RTMS_CA if that file exists, else the first existing system bundle of
 * /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/ca-bundle.pem,
 * /etc/pki/tls/cacert.pem, /etc/ssl/cert.pem, /usr/local/etc/openssl/cert.pem,
 * /opt/homebrew/etc/openssl/cert.pem, else "" (rtms_init() then uses the system trust store).
 * *out receives the path, NUL-terminated, to release with rtms_free(). Returns its length (>= 0),
 * or -RTMS_SDK_INVALID_ARGS (NULL out) or -RTMS_SDK_FAILURE (out of memory); *out is then NULL.
 * specified_path may be NULL. Any thread. */
int rtms_find_ca(const char *specified_path, char **out);

/* Applies options to a handle (strings are copied). Connection settings take effect at the next
 * rtms_join(); poll and queue settings at once. */
int rtms_set_options(struct rtms_csdk *sdk, const struct rtms_options *opts);

/* ---------------------------------------------------------------------------------------------
 * Waiting, polling, leaving
 * ------------------------------------------------------------------------------------------- */

/* A file descriptor that is readable while events are pending, for poll(2)/epoll/select or an
 * event loop (asyncio add_reader, libuv uv_poll). Owned by the handle: do not read or close it.
 * Returns the fd, or a negated RTMS_SDK_* code (-RTMS_SDK_NOT_EXIST). */
int rtms_get_wake_fd(struct rtms_csdk *sdk);

/* Blocks until events are pending or timeout_ms passes (-1 = no limit). Returns 1 when events are
 * pending, 0 on timeout or after rtms_leave(), or a negated RTMS_SDK_* code (-RTMS_SDK_NOT_EXIST,
 * also when rtms_release() ran meanwhile: it wakes every waiter). */
int rtms_wait(struct rtms_csdk *sdk, int timeout_ms);

/* Like rtms_poll(), with an explicit wait (0 = none, -1 = until an event) and an upper bound on the
 * number of callbacks (<= 0 = all pending). Returns the number of events delivered (>= 0) or a
 * negated RTMS_SDK_* code: -RTMS_SDK_NOT_EXIST for a released handle (also when released meanwhile),
 * -RTMS_SDK_INVALID_STATUS for a nested call from inside a callback of the same handle. */
int rtms_poll_ex(struct rtms_csdk *sdk, int max_events, int timeout_ms);

/* Leaves the stream: closes every connection with a normal close frame, drops events still queued,
 * and calls no further callbacks for this session. The handle can join again. Safe from callbacks. */
int rtms_leave(struct rtms_csdk *sdk);

/* Asks the server to end the stream (STREAM_CLOSE_REQ). The answer arrives as
 * rtms_ext_ops.on_stream_closed; the end of the session as on_leave(20). */
int rtms_close_stream(struct rtms_csdk *sdk);

/*
 * RECONNECTION
 * The core follows Zoom's failover guide (developers.zoom.us/docs/rtms/meetings/failover-reconnection/):
 *   1. RTMS server failure: a new rtms_started for the stream with new server_urls. Give it to
 *      rtms_feed_webhook(): the handle rejoins the new server. The same body again is ignored.
 *   2. Signaling down: the signaling socket is lost, stops answering (keepalive_timeout_ms), or
 *      rtms_interrupted arrives (rtms_feed_webhook()): signaling and media are rejoined.
 *   3. Media down: a media socket is lost or silent, or the server says so (event 7, or stream
 *      state INTERRUPTED with reason 14): that media connection alone is reconnected.
 * Attempts: the first at once, then reconnect_base_delay_ms doubling (capped at 30 s, ±20 % jitter),
 * at most reconnect_max_attempts; each reports on_reconnecting and success on_reconnected with
 * the gap. Giving up calls on_leave with the last reason. No reconnection after stream state
 * TERMINATED, rtms_stopped, a refused signature (on_leave(18), AUTHENTICATION_FAILURE) or
 * rtms_leave(). Event subscriptions and the individual video subscription are sent again.
 * After TERMINATED or rtms_stopped the media connections close cleanly and still deliver what
 * arrives before the server answers the close (media sent before the end); on_leave follows when
 * they are closed (at most 3 s).
 */

/* Feeds a webhook body (rtms_started, rtms_interrupted, rtms_stopped) that concerns this handle's
 * stream: an rtms_started with other server_urls than the current ones (a server the stream used
 * before included) moves the session to that server; one naming the current server changes
 * nothing; rtms_interrupted rejoins (at its server_urls when it carries some); rtms_stopped ends
 * the session with on_leave(stop_reason). Returns RTMS_SDK_OK, RTMS_SDK_INVALID_ARGS (not JSON, not an RTMS
 * event) or RTMS_SDK_NOT_EXIST (another stream, or the handle has not joined one). */
int rtms_feed_webhook(struct rtms_csdk *sdk, const char *body, int size);

/* Joins with a webhook payload: the JSON of an rtms_started body or of its "payload" object. The
 * instance id is the first non-empty of meeting_uuid, webinar_uuid, session_id, engagement_id,
 * call_id. These, rtms_stream_id, server_urls, signature, client and secret must be strings when
 * present. A non-empty "signature" is used as given; without one it is computed, from the first
 * client id and the first secret found in: rtms_options.client_id/client_secret, the environment
 * (ZM_RTMS_CLIENT/ZM_RTMS_SECRET), the payload's "client"/"secret" (the arguments of Zoom's
 * wrappers' join(), which the environment overrides there too).
 * Returns RTMS_SDK_OK, RTMS_SDK_INVALID_ARGS (not a JSON object, an id or URL missing or not a
 * string: rtms_last_error() names it), RTMS_SDK_NO_CREDENTIALS, RTMS_SDK_INVALID_STATUS (as
 * rtms_join()) or RTMS_SDK_NOT_EXIST. */
int rtms_join_payload(struct rtms_csdk *sdk, const char *payload_json, int timeout);

/* What rtms_join_payload() would join with, without a handle and without joining: the payload is
 * read and checked by the same rules and the signature resolved (the one given, or computed from
 * ZM_RTMS_CLIENT/ZM_RTMS_SECRET, else the payload's client/secret). *out receives a NUL-terminated
 * JSON object {"instance_id", "rtms_stream_id", "server_urls", "signature"}, to release with
 * rtms_free(). For bindings that report bad input on the caller's thread and join later, as Zoom's
 * Python wrapper does. Returns the length of *out (> 0), or -RTMS_SDK_INVALID_ARGS (NULL out or
 * payload, not JSON, an id or URL missing or not a string), -RTMS_SDK_NO_CREDENTIALS, or
 * -RTMS_SDK_FAILURE (out of memory); *out is then NULL. Any thread. */
int rtms_resolve_join(const char *payload_json, char **out);

/* Handle states (rtms_get_state()). */
#define RTMS_STATE_IDLE         0
#define RTMS_STATE_CONNECTING   1  /* signaling connection and handshake */
#define RTMS_STATE_MEDIA        2  /* media handshakes */
#define RTMS_STATE_JOINED       3  /* also while the last media of an ended stream drains, until on_leave */
#define RTMS_STATE_ENDED        4  /* left, failed or ended; may join again */
#define RTMS_STATE_RECONNECTING 5  /* joined, re-establishing signaling (failover scenarios 1 and 2) */
/* One of RTMS_STATE_*, or -RTMS_SDK_NOT_EXIST for a NULL or released handle. Any thread. */
int rtms_get_state(struct rtms_csdk *sdk);

int rtms_set_user_data(struct rtms_csdk *sdk, void *user_data);
void *rtms_get_user_data(struct rtms_csdk *sdk);

/* ---------------------------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------------------------- */

#define RTMS_STATS_VERSION 1

struct rtms_stats {
    unsigned int version;            /* set to RTMS_STATS_VERSION before the call */
    uint64_t media_messages[5];      /* queued per kind: audio, video, deskshare, transcript, chat */
    uint64_t media_bytes;            /* decoded payload bytes queued */
    uint64_t control_events;         /* non-media events queued */
    uint64_t delivered;              /* events taken by rtms_poll */
    uint64_t dropped_queue_full;     /* media dropped because the queue was full (drop_when_full) */
    uint64_t dropped_malformed;      /* messages that could not be decoded */
    uint64_t dropped_unexpected;     /* media on a connection not (or no longer) accepted */
    uint64_t read_pauses;            /* times reading paused because the application fell behind */
    uint64_t queue_high_water_bytes; /* largest queue size seen */
    uint64_t keepalives_answered;
    uint64_t reconnect_attempts;     /* reconnection attempts started */
    uint64_t rejoins;                /* successful full rejoins (scenarios 1 and 2) */
    uint64_t media_reconnects;       /* successful media reconnections (scenario 3) */
    uint64_t max_gap_ms;             /* longest time a connection was down before it was back */
};

int rtms_get_stats(struct rtms_csdk *sdk, struct rtms_stats *out);

/* ---------------------------------------------------------------------------------------------
 * Webhook intake
 *
 * An HTTP/1.1 server (HTTPS with ZM_RTMS_CERT/ZM_RTMS_KEY, mutual TLS with ZM_RTMS_CA_WEBHOOK)
 * that receives Zoom's webhooks inside the core:
 *   - only POST to the path is a webhook (the query string is ignored): anything else gets 404
 *     {"error":"Not Found"};
 *   - a body over max_body_bytes gets 413; a body that is not a JSON object gets 400
 *     {"error":"Invalid JSON received"}; one without a string "event" gets 400;
 *   - with a secret token (ZM_RTMS_WEBHOOK_SECRET), x-zm-signature must be
 *     "v0=" + hex(HMAC-SHA256(token, "v0:" + x-zm-request-timestamp + ":" + body)), compared in
 *     constant time, and the timestamp within replay_window_s of now: else 401;
 *   - endpoint.url_validation is answered with plainToken and encryptedToken;
 *   - everything else gets 200 {"status":"ok"} BEFORE any work is done (Zoom retries after 3 s);
 *   - a body already received within the last hour is a duplicate delivery: 200, nothing else;
 *   - then an RTMS event (rtms_started / rtms_interrupted / rtms_stopped) for a stream that a
 *     handle of this process has joined goes to that handle, as with rtms_feed_webhook()
 *     (server failover, rejoin, end), and every accepted event is queued for the application.
 * Callbacks run only inside rtms_webhook_poll(), on the calling thread. Queued events beyond
 * queue_max_events drop the oldest (counted in rtms_webhook_stats.dropped_queue_full).
 *
 * Connections: a request head must arrive within header_timeout_ms (from the connection's start,
 * or from the request's first byte on a kept-alive connection), its body within body_timeout_ms
 * of the head; a kept-alive connection without a request is closed after idle_timeout_ms. At
 * most max_connections are open: a new connection at the cap closes the oldest idle one (else the
 * oldest still sending its request), so a real request always finds room; when every connection
 * is being answered it gets 503 and is closed. When accept() fails for lack of descriptors
 * (EMFILE, ENFILE) a few connections are closed in the same order and accepting pauses briefly
 * (no busy loop). All of it is counted in rtms_webhook_stats (version 2).
 *
 * Your own web server (Node's http, a Python web framework...) can use the same intake without
 * the core's listening socket: rtms_webhook_create() and rtms_webhook_handle(). The core's
 * server calls the same code for every request.
 *
 * RETURN VALUES of the rtms_webhook_* functions (one convention for the whole family):
 *   >= 0 on success (RTMS_SDK_OK, or a count, port, fd, length or HTTP status as stated), and a
 *   negative value on every error: the negated RTMS_SDK_* code
 *     -RTMS_SDK_NOT_EXIST      the intake is NULL, stopped, or not an intake
 *     -RTMS_SDK_INVALID_ARGS   a NULL out pointer, an unknown struct version, a bad argument
 *     -RTMS_SDK_INVALID_STATUS not allowed now (a nested poll, no listener for rtms_webhook_port())
 *     -RTMS_SDK_TIMEOUT        rtms_webhook_wait_started() only
 *   or RTMS_SDK_FAILURE (-1: out of memory, no wake pipe; -1 is also -RTMS_SDK_TIMEOUT, which
 *   only rtms_webhook_wait_started() returns). rtms_last_error() says what happened. The
 *   functions returning a pointer return NULL on error, with the reason in rtms_last_error().
 *   (Unlike rtms_options_init() and Zoom's functions, which return positive codes, so does
 *   rtms_webhook_options_init().)
 *
 * THREADING: every function may be called from any thread, also from inside the intake's own
 * callback (except a nested rtms_webhook_poll()); calls on one intake from several threads at
 * once are safe.
 * OWNERSHIP: an intake belongs to the caller from rtms_webhook_start()/_create() until
 * rtms_webhook_stop(); after that the pointer must not be used again (functions given it return
 * -RTMS_SDK_NOT_EXIST when they can tell). Strings passed in are copied or read during the call.
 * ------------------------------------------------------------------------------------------- */

typedef struct rtms_webhook rtms_webhook;

/* Versions are only ever appended to; a caller built against version 1 keeps working. */
#define RTMS_WEBHOOK_OPTIONS_VERSION 2

struct rtms_webhook_options {
    unsigned int version;       /* RTMS_WEBHOOK_OPTIONS_VERSION (1 or 2) */
    const char *host;           /* address to listen on; NULL = "0.0.0.0" */
    int port;                   /* -1 = ZM_RTMS_PORT or 8080; 0 = any free port (rtms_webhook_port()) */
    const char *path;           /* NULL = ZM_RTMS_PATH or "/" */
    const char *cert_path;      /* PEM; NULL = ZM_RTMS_CERT. HTTPS needs both cert and key */
    const char *key_path;       /* PEM; NULL = ZM_RTMS_KEY */
    const char *client_ca_path; /* require client certificates from this CA; NULL = ZM_RTMS_CA_WEBHOOK */
    const char *secret_token;   /* NULL = ZM_RTMS_WEBHOOK_SECRET; "" = do not verify signatures */
    int max_body_bytes;         /* -1 = 1048576 */
    int replay_window_s;        /* -1 = 300 */
    int queue_max_events;       /* -1 = 1024 */
    /* version 2: connections of the listening server (see "Connections" above); 0 = no limit */
    int header_timeout_ms;      /* -1 = 10000 */
    int body_timeout_ms;        /* -1 = 30000 */
    int idle_timeout_ms;        /* -1 = 30000 */
    int max_connections;        /* -1 = 512 (must be > 0 otherwise) */
};

#define RTMS_WEBHOOK_OPTIONS_INIT { RTMS_WEBHOOK_OPTIONS_VERSION, NULL, -1, NULL, NULL, NULL, NULL, NULL, -1, -1, -1, \
                                    -1, -1, -1, -1 }

/* Fills *opts with the defaults above for version 1 or 2 (writing only that version's fields).
 * Returns RTMS_SDK_OK or -RTMS_SDK_INVALID_ARGS (NULL opts, unknown version).
 * Threading: any thread. Ownership: writes the caller's struct only. */
int rtms_webhook_options_init(struct rtms_webhook_options *opts, unsigned int version);

/* Starts listening (opts NULL = all defaults). Returns NULL on failure (port taken, a bad
 * certificate, only one of cert and key, an unknown opts->version...) with the reason in
 * rtms_last_error().
 * Threading: any thread. Ownership: the intake is the caller's until rtms_webhook_stop(); opts
 * and its strings are copied. */
rtms_webhook *rtms_webhook_start(const struct rtms_webhook_options *opts);

/* An intake without a listening socket, for an application's own web server: feed it every
 * request with rtms_webhook_handle(). Uses path, secret_token, max_body_bytes, replay_window_s
 * and queue_max_events of opts (NULL = defaults); ignores host, port, TLS and the connection
 * settings. Poll, wake fd, wait_started, stats and stop work as for rtms_webhook_start().
 * Returns NULL on failure with the reason in rtms_last_error().
 * Threading: any thread. Ownership: the caller's until rtms_webhook_stop(); opts is copied. */
rtms_webhook *rtms_webhook_create(const struct rtms_webhook_options *opts);

/* Decides one HTTP request exactly as the listening server does (path, 404/413/400/401,
 * signature and replay window, validation challenge, dedupe), then routes an accepted RTMS event
 * to the joined handle of its stream and queues it for rtms_webhook_poll(). Works on any intake.
 *   method, uri: the request line's ("POST", "/webhook?x=1"; the query string is ignored);
 *   headers: "Name: value" lines separated by "\r\n" or "\n" (names case-insensitive; NULL = none);
 *   body, body_len: the raw body (body_len >= 0; -1 = NUL-terminated; body may be NULL if 0).
 * Returns the HTTP status to answer with (200, 400, 401, 404, 413) and sets *reply_out to the
 * JSON reply body (NUL-terminated, Content-Type application/json), to be freed with rtms_free();
 * or a negative code (-RTMS_SDK_NOT_EXIST, -RTMS_SDK_INVALID_ARGS for NULL method, uri or
 * reply_out) with *reply_out = NULL when reply_out is given. The routing and queueing are done
 * when it returns; it never blocks (a joined handle's reconnection runs on its own thread).
 * Threading: any thread, concurrently. Ownership: arguments are read during the call only;
 * *reply_out is the caller's. */
int rtms_webhook_handle(rtms_webhook *wh, const char *method, const char *uri, const char *headers,
                        const char *body, int body_len, char **reply_out);

/* The port actually bound, or a negative code (-RTMS_SDK_INVALID_STATUS for an intake made by
 * rtms_webhook_create()). Threading: any thread. */
int rtms_webhook_port(rtms_webhook *wh);

/* Called inside rtms_webhook_poll() for every accepted event: event is the "event" field, body
 * the request body as received (not NUL-terminated; size bytes), routed is 1 when the event went
 * to a joined handle of this process (failover, rejoin or end). Both pointers are valid during
 * the call only. */
typedef void (*rtms_webhook_cb)(rtms_webhook *wh, const char *event, const char *body, int size, int routed, void *user_data);

/* Sets (cb NULL: clears) the callback. Returns RTMS_SDK_OK or a negative code.
 * Threading: any thread; the callback runs only inside rtms_webhook_poll(), on its caller's
 * thread. Ownership: user_data stays the caller's; it is passed back as it is. */
int rtms_webhook_set_callback(rtms_webhook *wh, rtms_webhook_cb cb, void *user_data);

/* Delivers queued events through the callback (at most max_events, <= 0 = all), waiting up to
 * timeout_ms (0 = no wait, -1 = until an event) when none is pending. Returns the number delivered
 * or a negative code: -RTMS_SDK_NOT_EXIST once stopped (also when rtms_webhook_stop() ran
 * meanwhile, from another thread or from inside a callback), -RTMS_SDK_INVALID_STATUS when called
 * from inside its own callback.
 * Threading: any thread; polls of one intake from several threads are serialised. */
int rtms_webhook_poll(rtms_webhook *wh, int max_events, int timeout_ms);

/* Readable while events are pending, or a negative code (never a valid-looking number on error).
 * Ownership: the intake's: do not read or close it; valid until rtms_webhook_stop().
 * Threading: any thread. */
int rtms_webhook_get_wake_fd(rtms_webhook *wh);

/* Waits for an rtms_started of a stream no handle of this process has joined (for rtms_stream_id
 * when not NULL) and takes it: *body_out receives the body, NUL-terminated, to be freed with
 * rtms_free(); pass it to rtms_join_payload(). timeout_ms: -1 = RTMS_WEBHOOK_WAIT_TIMEOUT_MS
 * [300000], 0 = only what is already there. Returns the body length, -RTMS_SDK_TIMEOUT,
 * -RTMS_SDK_NOT_EXIST when the intake stops meanwhile, -RTMS_SDK_INVALID_ARGS for a NULL body_out.
 * The same events also reach the callback.
 * Threading: any thread (it blocks its caller; rtms_webhook_stop() from another thread wakes it).
 * Ownership: *body_out is the caller's. */
int rtms_webhook_wait_started(rtms_webhook *wh, const char *rtms_stream_id, int timeout_ms, char **body_out);

/* Version 1 callers keep working: the library writes only the fields of the version given. */
#define RTMS_WEBHOOK_STATS_VERSION 2

struct rtms_webhook_stats {
    unsigned int version;        /* set to RTMS_WEBHOOK_STATS_VERSION (or 1) before the call */
    uint64_t requests;           /* every request answered */
    uint64_t accepted;           /* events queued for the application */
    uint64_t duplicates;         /* repeated deliveries answered 200 and ignored */
    uint64_t validations;        /* endpoint.url_validation challenges answered */
    uint64_t not_found;          /* 404: another path or method */
    uint64_t malformed;          /* 400 */
    uint64_t too_large;          /* 413 */
    uint64_t unauthorized;       /* 401: bad or missing signature, timestamp outside the window */
    uint64_t routed;             /* RTMS events handed to a joined handle */
    uint64_t dropped_queue_full; /* accepted events dropped because the application did not poll */
    /* version 2: connections of the listening server (all 0 for rtms_webhook_create()) */
    uint64_t connections_accepted; /* every connection accepted */
    uint64_t connections_open;     /* open now */
    uint64_t header_timeouts;      /* closed: no complete request head within header_timeout_ms */
    uint64_t body_timeouts;        /* closed: no complete body within body_timeout_ms */
    uint64_t idle_timeouts;        /* closed: no request within idle_timeout_ms (or header_timeout_ms for a new one) */
    uint64_t evicted;              /* closed to make room at max_connections or when out of descriptors */
    uint64_t refused;              /* answered 503 at max_connections: every connection was being answered */
    uint64_t accept_errors;        /* accept() failed (EMFILE, ENFILE, ENOBUFS, ENOMEM): accepting paused */
};

/* Fills *out (version 1 or 2 fields). Returns RTMS_SDK_OK or a negative code
 * (-RTMS_SDK_INVALID_ARGS for NULL out or an unknown out->version). Threading: any thread. */
int rtms_webhook_get_stats(rtms_webhook *wh, struct rtms_webhook_stats *out);

/* Stops listening, closes every connection and frees the intake; waiters return
 * -RTMS_SDK_NOT_EXIST. Returns RTMS_SDK_OK or -RTMS_SDK_NOT_EXIST (NULL, already stopped).
 * Threading: any thread. Safe from inside its own callback (the intake is freed when that poll
 * returns); from another thread while a callback runs, it waits for that callback to return, so
 * user_data may be freed once it returns. Ownership: wh must not be used afterwards. */
int rtms_webhook_stop(rtms_webhook *wh);

/* Frees memory the library allocated for the caller (rtms_webhook_wait_started(),
 * rtms_webhook_handle()). NULL is fine. Threading: any thread. */
void rtms_free(void *p);

/* ---------------------------------------------------------------------------------------------
 * Fleet: many processes, one owner per stream (rtms_fleet_*)
 *
 * What `rtms serve` does (docs/fleet.md), for an application's own bot: join a fleet of nodes
 * (processes, on any number of hosts) coordinated through one PostgreSQL database, and receive
 * the streams this node is assigned. A fleet handle runs, inside the core:
 *   - a webhook intake: an HTTP(S) server deciding every request as rtms_webhook_start()'s does
 *     (path, 404/413/400/401, signature and replay window, validation challenge), which stores
 *     each accepted event in the database BEFORE answering 200, and answers 503 when it cannot
 *     (Zoom retries). The same event posted to several nodes, or retried, is stored once. Point
 *     Zoom (or a load balancer) at any node. GET /healthz (the node's state as JSON; 503 while the
 *     database is unreachable) and GET /metrics (Prometheus) are served on the same port;
 *   - a worker that claims pending streams under a lease (at most max_streams at a time), renews
 *     the leases, takes over the streams of a node that died once their lease expired, and hands
 *     every later RTMS webhook of a stream it holds to the handle the application joined for it,
 *     whichever node received it: rtms_started again (server failover), rtms_interrupted
 *     (rejoin), rtms_stopped (the handle leaves with the stop reason: its on_leave);
 *   - fencing: a stream whose lease can no longer be proven is left (its handle's connections
 *     closed at once, by the core, without waiting for the application) before another node may
 *     claim it. docs/fleet.md ("Leases and fencing", "Database outages", "Network partitions")
 *     states the assumptions (clocks running at about the same rate) and the cases not covered.
 * The application hears of its streams through two callbacks, run inside rtms_fleet_poll() on
 * the thread calling it: on_assigned (join this stream: rtms_fleet_join() with a client handle
 * it configured) and on_revoked (this node no longer holds the stream: its handle has been
 * left). It tells the fleet when it is done with a stream (rtms_fleet_done()); a handle whose
 * session ended is noticed without it, 3 s later.
 *
 * Lifecycle:
 *   rtms_fleet_options_init() → rtms_fleet_create(opts, on_assigned, on_revoked, user_data) →
 *   loop: rtms_fleet_poll() (or poll(2) on rtms_fleet_get_wake_fd() next to the handles' fds)
 *     on_assigned:  rtms_alloc() → rtms_config() → rtms_set_callbacks() → rtms_fleet_join()
 *     the handle's on_leave(reason), or on_join_confirm(reason != 0):
 *                   rtms_fleet_done(fleet, id, generation, reason) → rtms_release()
 *     on_revoked:   rtms_release() of that stream's handle (rtms_fleet_done() is not needed)
 *   → rtms_fleet_release(): leaves every stream it holds and hands them back (pending again: the
 *     other nodes claim them at once instead of after the lease), stops the intake.
 *
 * What a stream's end means to the fleet: rtms_fleet_done() on a stream whose handle joined ends
 * it in the database (nobody claims it again); on a stream whose handle never joined (a failed
 * join) it goes back for another attempt, on any node, after a pause (1 s, 2 s, ...; ended after
 * 5 failed joins). A handle whose session ends without rtms_fleet_done() is treated the same way
 * 3 s later (time to poll its last events), with the reason of its on_leave or failed
 * on_join_confirm (none when the application left it: rtms_leave(), rtms_release()). A handle
 * counts as joined once its join was confirmed.
 *
 * Environment: RTMS_DATABASE_URL (database_url NULL), RTMS_ADVERTISE_URL (advertise_url NULL),
 * the intake's ZM_RTMS_PORT, ZM_RTMS_PATH, ZM_RTMS_WEBHOOK_SECRET, ZM_RTMS_CERT, ZM_RTMS_KEY
 * (their fields NULL or -1), and for the handles' joins ZM_RTMS_CLIENT / ZM_RTMS_SECRET (see
 * rtms_join()). Tables, leases and failure modes: docs/fleet.md.
 *
 * RETURN VALUES of the rtms_fleet_* functions: the convention of the rtms_webhook_* family, >= 0
 * on success (RTMS_SDK_OK, or a count, port, fd or length as stated) and a negative value on
 * every error, the negated RTMS_SDK_* code:
 *     -RTMS_SDK_NOT_EXIST      the fleet is NULL or released; the client handle is not live; no
 *                              such assignment (never assigned, revoked, or done already)
 *     -RTMS_SDK_INVALID_ARGS   a NULL or empty string, NULL out pointer, bad number, unknown
 *                              struct version
 *     -RTMS_SDK_INVALID_STATUS not allowed now: a nested rtms_fleet_poll(), an assignment that
 *                              was joined already, a handle that is already joined
 *     -RTMS_SDK_NO_CREDENTIALS rtms_fleet_join(): no signature and no client id or secret
 *   or RTMS_SDK_FAILURE (-1: out of memory). rtms_fleet_create() returns NULL on error. Either
 *   way rtms_last_error() says what happened.
 *
 * THREADING: no callback ever runs on an internal thread: on_assigned and on_revoked run only
 * inside rtms_fleet_poll(), on its caller's thread, one at a time, in the order things happened.
 * Every function may be called from any thread, also from inside the fleet's own callbacks
 * (except a nested rtms_fleet_poll()) and from a client handle's callbacks; polls of one fleet
 * from several threads at once are serialised. rtms_fleet_create() and rtms_fleet_release()
 * block (the database); rtms_fleet_poll() waits up to its timeout; the others return at once.
 * OWNERSHIP: a fleet belongs to the caller from rtms_fleet_create() until rtms_fleet_release();
 * after that the pointer must not be used again (functions given it return -RTMS_SDK_NOT_EXIST
 * when they can tell). Client handles stay the application's: the fleet never allocates or
 * releases one, it only joins and leaves them. Strings passed in are copied or read during the
 * call; strings passed to callbacks are valid during the call only.
 * ------------------------------------------------------------------------------------------- */

typedef struct rtms_fleet rtms_fleet;

/* Versions are only ever appended to; a caller built against version 1 keeps working. */
#define RTMS_FLEET_OPTIONS_VERSION 1

/* The defaults of the fields below (the same as `rtms serve`'s). */
#define RTMS_FLEET_DEFAULT_MAX_STREAMS      100
#define RTMS_FLEET_DEFAULT_LEASE_MS         10000
#define RTMS_FLEET_DEFAULT_RENEW_MS         2000
#define RTMS_FLEET_DEFAULT_LEASE_MARGIN_MS  2000
#define RTMS_FLEET_DEFAULT_START_TIMEOUT_MS 60000

/* rtms_fleet_done()'s stop_reason when the application does not know why the stream ended. */
#define RTMS_FLEET_REASON_UNKNOWN (-1)

struct rtms_fleet_options {
    unsigned int version;      /* RTMS_FLEET_OPTIONS_VERSION */
    const char *database_url;  /* postgres://user[:password]@host[:port]/db[?sslmode=...]; NULL = RTMS_DATABASE_URL */
    const char *node_id;       /* this node's name, unique per running process; NULL = "<hostname>-<pid>" */
    int max_streams;           /* -1 = RTMS_FLEET_DEFAULT_MAX_STREAMS; 0 = intake only (stores, never claims) */
    int lease_ms;              /* -1 = 10000; at least 300 */
    int renew_ms;              /* -1 = 2000; at most lease_ms / 3 */
    int lease_margin_ms;       /* -1 = 2000; renew_ms + lease_margin_ms < lease_ms */
    const char *advertise_url; /* where the other nodes reach this node's GET /healthz, "http://HOST:PORT";
                                  NULL = RTMS_ADVERTISE_URL, else the intake's address (this host's
                                  name when it listens on every address) */
    const char *host;          /* the intake's address; NULL = "0.0.0.0" */
    int port;                  /* -1 = ZM_RTMS_PORT or 8080; 0 = any free port (rtms_fleet_port()) */
    const char *path;          /* NULL = ZM_RTMS_PATH or "/"; must start with "/" */
    const char *secret_token;  /* NULL = ZM_RTMS_WEBHOOK_SECRET; "" = do not verify signatures */
    const char *cert_path;     /* PEM; NULL = ZM_RTMS_CERT. HTTPS needs both cert and key */
    const char *key_path;      /* PEM; NULL = ZM_RTMS_KEY */
    int start_timeout_ms;      /* -1 = 60000: how long rtms_fleet_create() waits for the database */
};

#define RTMS_FLEET_OPTIONS_INIT { RTMS_FLEET_OPTIONS_VERSION, NULL, NULL, -1, -1, -1, -1, NULL, NULL, -1, NULL, NULL, \
                                  NULL, NULL, -1 }

/* This node was assigned a stream: join it with rtms_fleet_join(fleet, rtms_stream_id,
 * generation, handle, ...) (now, or later from any thread), or give it back with
 * rtms_fleet_done(). generation is the claim's fencing token (> 0; +1 at every claim of the
 * stream, by any node). payload_json is the stream's latest rtms_started payload (with every
 * server change received since), a JSON object: the ids and server_urls rtms_fleet_join() uses.
 * previous_owner is the node id it was taken over from (its lease expired), else NULL. */
typedef void (*rtms_fleet_assigned_cb)(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation,
                                       const char *payload_json, const char *previous_owner, void *user_data);

/* This node no longer holds the stream under that generation (its lease could not be renewed
 * in time, another node owns it now, or the row ended otherwise); the handle joined for it has
 * been left already (no on_leave follows). reason is readable text. Release the handle. */
typedef void (*rtms_fleet_revoked_cb)(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation,
                                      const char *reason, void *user_data);

/* Fills *opts with the defaults above (-1 and NULL: the environment's or the built-in value).
 * Returns RTMS_SDK_OK or -RTMS_SDK_INVALID_ARGS (NULL opts, unknown version).
 * Threading: any thread. Ownership: writes the caller's struct only. */
int rtms_fleet_options_init(struct rtms_fleet_options *opts, unsigned int version);

/* Joins the fleet: checks the options, binds the intake, connects to the database, creates or
 * migrates the schema `rtms` (tables in docs/fleet.md), registers the node and starts claiming.
 * Blocks until the database answered, or start_timeout_ms passed (an attempt under way when it
 * passes is finished first: up to 5 s more); a node id in use by a live process waits for that
 * process's lease to run out first. opts NULL = every default (RTMS_DATABASE_URL must
 * then be set). on_assigned is required unless max_streams is 0; on_revoked may be NULL.
 * Returns the fleet, or NULL (a bad option, no database URL, the port taken, the database
 * unreachable within start_timeout_ms...) with the reason in rtms_last_error().
 * Threading: any thread; the callbacks run only inside rtms_fleet_poll(). Ownership: the fleet
 * is the caller's until rtms_fleet_release(); opts and its strings are copied; user_data stays
 * the caller's and is passed back as it is. */
rtms_fleet *rtms_fleet_create(const struct rtms_fleet_options *opts, rtms_fleet_assigned_cb on_assigned,
                              rtms_fleet_revoked_cb on_revoked, void *user_data);

/* Delivers what happened since the last poll (assignments, revocations) through the callbacks,
 * waiting up to timeout_ms (0 = no wait, -1 = until something happens) when nothing is pending.
 * Returns the number delivered, or a negative code: -RTMS_SDK_INVALID_ARGS for a timeout below -1,
 * -RTMS_SDK_NOT_EXIST once released (also when
 * rtms_fleet_release() ran meanwhile, from another thread or from inside a callback),
 * -RTMS_SDK_INVALID_STATUS when called from inside its own callback.
 * Threading: any thread; polls of one fleet from several threads are serialised. */
int rtms_fleet_poll(rtms_fleet *fleet, int timeout_ms);

/* Readable while assignments or revocations are pending (a poll takes them), or a negative code.
 * Ownership: the fleet's: do not read or close it; valid until rtms_fleet_release().
 * Threading: any thread. */
int rtms_fleet_get_wake_fd(rtms_fleet *fleet);

/* The intake's bound port (after port 0: the one chosen), or a negative code.
 * Threading: any thread. */
int rtms_fleet_port(rtms_fleet *fleet);

/* Joins an assigned stream with the application's client handle, from the assignment's payload
 * (instance id, stream id, server_urls, and its signature or one computed from the handle's
 * rtms_options.client_id/client_secret, else ZM_RTMS_CLIENT/ZM_RTMS_SECRET),
 * and attaches the handle to the stream: from now on the fleet hands the stream's failover,
 * interruption and stop webhooks to it, and leaves it when the lease is lost (on_revoked).
 * Configure the handle first (rtms_config(), callbacks, options); it must not be joined.
 * timeout_ms: the join timeout, as rtms_join()'s (<= 0: 10000). The outcome arrives as the
 * handle's on_join_confirm().
 * Returns RTMS_SDK_OK or a negative code: -RTMS_SDK_NOT_EXIST (fleet released, sdk not a live
 * handle, no such assignment, or revoked during the call: the handle has been left then),
 * -RTMS_SDK_INVALID_ARGS (NULL or empty rtms_stream_id, generation <= 0, NULL sdk, or what
 * rtms_join() refuses), -RTMS_SDK_INVALID_STATUS (the assignment was joined already; the handle
 * is joined or joining; another handle of this process has joined the stream),
 * -RTMS_SDK_NO_CREDENTIALS (the started body has no signature and no client id or secret is set).
 * On an error the assignment stays this node's: join it with another handle, or give it back
 * with rtms_fleet_done().
 * Threading: any thread (also inside on_assigned or a handle's callback). Ownership: sdk stays
 * the application's; release it after rtms_fleet_done() or on_revoked. */
int rtms_fleet_join(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation, struct rtms_csdk *sdk,
                    int timeout_ms);

/* The application is done with an assigned stream (its handle's on_leave(reason), a failed
 * on_join_confirm(reason), or it does not want it): the handle, if any, is left; a stream that was
 * joined is ended in the database with stop_reason (RTMS_FLEET_REASON_UNKNOWN: none); one that
 * never joined goes back for another attempt elsewhere (see "What a stream's end means" above).
 * Returns RTMS_SDK_OK or a negative code: -RTMS_SDK_NOT_EXIST (fleet released; no such
 * assignment: never assigned, revoked, or done already), -RTMS_SDK_INVALID_ARGS (NULL or empty
 * rtms_stream_id, generation <= 0, stop_reason < -1).
 * Threading: any thread (also inside a callback). Ownership: the handle stays the application's. */
int rtms_fleet_done(rtms_fleet *fleet, const char *rtms_stream_id, int64_t generation, int stop_reason);

/* The node's state as a JSON object, NUL-terminated, into *json_out (free it with rtms_free()):
 * what GET /healthz answers ("status": "ok", "database unreachable" or "stopped"; "node_id",
 * "streams", "max_streams", "claims", "takeovers", "lease_losses", ...), plus "port" and
 * "held" (the stream ids held now). Returns its length, or a negative code (-RTMS_SDK_INVALID_ARGS
 * for a NULL json_out; *json_out is NULL then).
 * Threading: any thread. Ownership: *json_out is the caller's. */
int rtms_fleet_status(rtms_fleet *fleet, char **json_out);

/* Leaves the fleet: stops claiming, leaves every stream it holds (their handles' connections
 * close; no on_revoked follows), hands them back to the other nodes, closes the database
 * connections, stops the intake and frees the fleet. Blocks a few seconds at most. Returns
 * RTMS_SDK_OK or -RTMS_SDK_NOT_EXIST (NULL, released already).
 * Threading: any thread. Safe from inside its own callback (the fleet is freed when that poll
 * returns); from another thread while a callback runs, it waits for that callback to return, so
 * user_data may be freed once it returns (except when called from inside a callback of another
 * handle, fleet or intake: then it returns without waiting, as rtms_release() does). Ownership:
 * fleet must not be used afterwards; the client handles joined through it stay the
 * application's to release. */
int rtms_fleet_release(rtms_fleet *fleet);

/* ---------------------------------------------------------------------------------------------
 * Delivery groups: one wake descriptor and one poll for many handles
 *
 * A thread that serves many streams sleeps on the group's descriptor and wakes once for whatever
 * is ready, instead of once per stream's message (curl multi's model). Members' events are
 * delivered by rtms_group_poll() on the calling thread, through each handle's callbacks, exactly
 * as rtms_poll_ex() delivers them. A member's own wake descriptor stays quiet while it is in the
 * group, and rtms_wait() / rtms_poll_ex() waiting on the member see its events only when their
 * timeout ends (rtms_leave() still wakes them); rtms_poll_ex(sdk, n, 0) on a member delivers at
 * once. rtms_release() of a member takes it out.
 *
 * latency_budget_us trades latency for wake-ups: 0 (no delay) signals as soon as a member has an
 * event; with a budget, a signal less than the budget after the previous one waits for the rest
 * of it, and what arrives meanwhile is delivered in the same wake-up; the first event after a
 * quiet spell still wakes at once. Under steady load from many streams this bounds the wake-ups
 * to one per budget, at the cost of up to that much latency.
 *
 * RETURN VALUES: the rtms_webhook_* convention: >= 0 on success (RTMS_SDK_OK, or a count or fd),
 * the negated RTMS_SDK_* code on error (-RTMS_SDK_NOT_EXIST for a NULL or released group or
 * handle, -RTMS_SDK_INVALID_STATUS as stated); rtms_group_create() returns NULL on error.
 * rtms_last_error() says why. THREADING: any thread; one rtms_group_poll() of a group at a time.
 * ------------------------------------------------------------------------------------------- */

typedef struct rtms_group rtms_group;

/* A new, empty group; latency_budget_us 0..1000000 (0 = deliver at once). NULL on error. */
rtms_group *rtms_group_create(int latency_budget_us);
/* Adds a handle (in one group at a time: -RTMS_SDK_INVALID_STATUS otherwise). Events already
 * queued make it ready at once. */
int rtms_group_add(rtms_group *group, struct rtms_csdk *sdk);
/* Takes a handle out (-RTMS_SDK_NOT_EXIST when it is not in this group); its own wake descriptor
 * works again. When a poll of the group is inside its batch callback on another thread, it
 * returns after that callback has (that batch may carry the handle's messages), as
 * rtms_release() does for a member; from inside a callback it returns at once. */
int rtms_group_remove(rtms_group *group, struct rtms_csdk *sdk);
/* Readable while a member has events (after the latency budget). Owned by the group. */
int rtms_group_get_wake_fd(rtms_group *group);
/* Waits up to timeout_ms (0 = not at all, -1 = until an event) for a member with events, then
 * delivers the events of every ready member (at most max_events in all; <= 0 = no limit).
 * Returns the number delivered, -RTMS_SDK_INVALID_STATUS when another rtms_group_poll() of this
 * group is running. A member polled from inside its own callback is skipped and stays ready. */
int rtms_group_poll(rtms_group *group, int max_events, int timeout_ms);
/* Takes every member out (their own descriptors work again) and frees the group. A poll waiting
 * on another thread returns -RTMS_SDK_NOT_EXIST. */
int rtms_group_release(rtms_group *group);

/* Media batches: the media messages that one rtms_group_poll() takes from its members, handed to
 * the application in one call instead of one per message (a language binding crosses into its
 * runtime once per poll; a C program gets an array it can walk).
 *
 * With a batch callback set, the members' media messages (every kind: audio, video, deskshare,
 * transcript, chat) reach it instead of on_audio_data ... on_chat_data, and only during
 * rtms_group_poll(): rtms_poll_ex() on a member still uses the per-kind callbacks. Order is
 * kept within the group's polls: a member's other events (join, leave, session, errors...) go
 * through its callbacks as before, after the batch holding that member's earlier messages; do
 * not also rtms_poll_ex() a member on another thread while its group polls (that poll could
 * deliver its later events before the batch). A batch is delivered when it holds 256 messages or
 * 1 MiB of bytes (one large message may make it larger), before a member's other event, and when
 * the poll ends. Messages of a member released before its batch is delivered are left out; a
 * member taken out with rtms_group_remove(), or a group released inside a callback, still has
 * the messages that poll took delivered before it returns.
 *
 * Each item's data and strings lie in the batch's one byte range [bytes, bytes + bytes_len),
 * copied there from the core's buffers: a binding can copy that range out once and slice it.
 * Everything the batch points to, the members' rtms_csdk structs included, is valid until the
 * callback returns. */
typedef struct rtms_media_item {
    struct rtms_csdk *sdk;         /* the member the message came from */
    const unsigned char *data;     /* the payload: decoded media bytes, or UTF-8 text (transcript, chat) */
    const char *user_name;         /* NUL-terminated; "" for mixed audio */
    const char *channel_id;        /* NUL-terminated; Contact Center channel or "" */
    uint64_t timestamp;            /* as the per-kind callbacks' timestamp */
    uint64_t start_ts;             /* as rtms_metadata.start_ts */
    uint64_t end_ts;               /* as rtms_metadata.end_ts */
    int size;                      /* bytes at data */
    int media_type;                /* SDK_AUDIO, SDK_VIDEO, SDK_DESKSHARE, SDK_TRANSCRIPT or SDK_CHAT */
    int user_id;                   /* as rtms_metadata.user_id */
    int language;                  /* as rtms_metadata.language (-1 if absent) */
    int user_name_len;             /* strlen(user_name) */
    int channel_id_len;            /* strlen(channel_id) */
} rtms_media_item;

typedef struct rtms_media_batch {
    const rtms_media_item *items;  /* count items, in delivery order */
    int count;                     /* >= 1 */
    const unsigned char *bytes;    /* every item's data, user_name and channel_id lie in here */
    size_t bytes_len;
} rtms_media_batch;

typedef void (*rtms_media_batch_cb)(const rtms_media_batch *batch, void *user_data);

/* Sets the group's batch callback (NULL = the per-kind callbacks again), from the next poll on.
 * Returns RTMS_SDK_OK, or -RTMS_SDK_NOT_EXIST for a NULL or released group.
 * Threading: any thread, also from inside a callback. The callback runs on the thread in
 * rtms_group_poll(). Called on another thread while that poll delivers (any of its callbacks,
 * once a batch callback is set), rtms_group_set_media_batch(), rtms_group_release() and
 * rtms_release() of a member wait until the poll's delivery ends, so the previous user_data and
 * the application's per-handle state may be freed once they return. From inside a callback they
 * return at once; the batch's remaining items of a handle released there are still in the array
 * (their memory valid): skip them. Ownership: user_data stays the application's. */
int rtms_group_set_media_batch(rtms_group *group, rtms_media_batch_cb callback, void *user_data);

/* ---------------------------------------------------------------------------------------------
 * Utilities
 * ------------------------------------------------------------------------------------------- */

/* Writes the 64-hex-digit handshake signature and a NUL into out (out_len >= 65). */
int rtms_generate_signature(const char *client_id, const char *client_secret, const char *instance_id,
                            const char *rtms_stream_id, char *out, int out_len);

/* ---------------------------------------------------------------------------------------------
 * Protocol constants
 *
 * The RTMS protocol's enumerations, one prefix per table, member names as Zoom's SDKs spell them.
 * Values are those of the wire and of Zoom's SDK; the core (RTMSProtocol) uses the same ones.
 * The Python and Node tables of the same names are checked against this section by their tests,
 * and the core's Swift values by Tests/RTMSCABITests/ConstantsTests.swift.
 *
 * Media types (the media_type mask) are SDK_AUDIO..SDK_ALL in rtms_common.h. These are plain
 * values with no function twins: a binding carries the same table, checked by its tests.
 * ------------------------------------------------------------------------------------------- */

/* Content type (media_params *.content_type; Zoom: MEDIA_CONTENT_TYPE). */
#define RTMS_CONTENT_TYPE_UNDEFINED   0
#define RTMS_CONTENT_TYPE_RTP         1
#define RTMS_CONTENT_TYPE_RAW_AUDIO   2
#define RTMS_CONTENT_TYPE_RAW_VIDEO   3
#define RTMS_CONTENT_TYPE_FILE_STREAM 4
#define RTMS_CONTENT_TYPE_TEXT        5

/* Audio codec (audio_parameters.codec; Zoom: MEDIA_PAYLOAD_TYPE 0..4). OPUS needs SR_48K. */
#define RTMS_AUDIO_CODEC_UNDEFINED 0
#define RTMS_AUDIO_CODEC_L16       1
#define RTMS_AUDIO_CODEC_G711      2
#define RTMS_AUDIO_CODEC_G722      3
#define RTMS_AUDIO_CODEC_OPUS      4

/* Video and deskshare codec (video_parameters.codec, ds_parameters.codec; MEDIA_PAYLOAD_TYPE 5..7). */
#define RTMS_VIDEO_CODEC_UNDEFINED 0
#define RTMS_VIDEO_CODEC_JPG       5
#define RTMS_VIDEO_CODEC_PNG       6
#define RTMS_VIDEO_CODEC_H264      7

/* Audio sample rate (audio_parameters.sample_rate; Zoom: AUDIO_SAMPLE_RATE SR_8K..SR_48K). An
 * enumeration, not hertz. */
#define RTMS_SAMPLE_RATE_8K  0
#define RTMS_SAMPLE_RATE_16K 1
#define RTMS_SAMPLE_RATE_32K 2
#define RTMS_SAMPLE_RATE_48K 3

/* Audio channels (audio_parameters.channel; Zoom: AUDIO_CHANNEL). */
#define RTMS_AUDIO_CHANNEL_MONO   1
#define RTMS_AUDIO_CHANNEL_STEREO 2

/* Data option (audio_parameters.data_opt, video_parameters.data_opt; Zoom: MEDIA_DATA_OPTION). */
#define RTMS_DATA_OPTION_UNDEFINED                      0
#define RTMS_DATA_OPTION_AUDIO_MIXED_STREAM             1
#define RTMS_DATA_OPTION_AUDIO_MULTI_STREAMS            2
#define RTMS_DATA_OPTION_VIDEO_SINGLE_ACTIVE_STREAM     3
#define RTMS_DATA_OPTION_VIDEO_SINGLE_INDIVIDUAL_STREAM 4
#define RTMS_DATA_OPTION_VIDEO_MIXED_SPEAKER_VIEW       4  /* older name of VIDEO_SINGLE_INDIVIDUAL_STREAM */
#define RTMS_DATA_OPTION_VIDEO_MIXED_GALLERY_VIEW       5

/* Video and deskshare resolution (*.resolution; Zoom: MEDIA_RESOLUTION). */
#define RTMS_RESOLUTION_SD  1  /* 640x360 */
#define RTMS_RESOLUTION_HD  2  /* 1280x720 */
#define RTMS_RESOLUTION_FHD 3  /* 1920x1080 */
#define RTMS_RESOLUTION_QHD 4  /* 2560x1440 */

/* Event types (rtms_subscribe_event(), on_event_ex; Zoom: RTMS_EVENT_TYPE). */
#define RTMS_EVENT_UNDEFINED                       0
#define RTMS_EVENT_FIRST_PACKET_TIMESTAMP          1
#define RTMS_EVENT_ACTIVE_SPEAKER_CHANGE           2
#define RTMS_EVENT_PARTICIPANT_JOIN                3
#define RTMS_EVENT_PARTICIPANT_LEAVE               4
#define RTMS_EVENT_SHARING_START                   5
#define RTMS_EVENT_SHARING_STOP                    6
#define RTMS_EVENT_MEDIA_CONNECTION_INTERRUPTED    7
#define RTMS_EVENT_PARTICIPANT_VIDEO_ON            8
#define RTMS_EVENT_PARTICIPANT_VIDEO_OFF           9
#define RTMS_EVENT_CHAT_GROUP_CREATE               10
#define RTMS_EVENT_CHAT_GROUP_DELETE               11
#define RTMS_EVENT_CHAT_GROUP_MEMBERS_ADD          12
#define RTMS_EVENT_CHAT_GROUP_MEMBERS_DELETE       13
#define RTMS_EVENT_CHAT_GROUP_MEMBER_STATUS_UPDATE 14

/* Contact Center voice events: the same event_type field on Zoom Contact Center streams, values
 * overlapping the meeting events above (Zoom: RTMS_ZCC_VOICE_EVENT_TYPE; the names Zoom's SDKs
 * export). Other values pass through on_event_ex as numbers. */
#define RTMS_ZCC_EVENT_CONSUMER_ANSWERED 8
#define RTMS_ZCC_EVENT_CONSUMER_END      9
#define RTMS_ZCC_EVENT_USER_ANSWERED     10
#define RTMS_ZCC_EVENT_USER_END          11
#define RTMS_ZCC_EVENT_USER_HOLD         12
#define RTMS_ZCC_EVENT_USER_UNHOLD       13

/* Stop reasons (the server's reason in on_leave() and on_stream_state(); Zoom: RTMS_STOP_REASON).
 * on_leave() may also report the local RTMS_REASON_* above. */
#define RTMS_STOP_REASON_UNDEFINED                           0
#define RTMS_STOP_REASON_HOST_TRIGGERED                      1
#define RTMS_STOP_REASON_USER_TRIGGERED                      2
#define RTMS_STOP_REASON_USER_LEFT                           3
#define RTMS_STOP_REASON_USER_EJECTED                        4
#define RTMS_STOP_REASON_HOST_DISABLED_APP                   5
#define RTMS_STOP_REASON_MEETING_ENDED                       6
#define RTMS_STOP_REASON_STREAM_CANCELED                     7
#define RTMS_STOP_REASON_STREAM_REVOKED                      8
#define RTMS_STOP_REASON_ALL_APPS_DISABLED                   9
#define RTMS_STOP_REASON_INTERNAL_EXCEPTION                  10
#define RTMS_STOP_REASON_CONNECTION_TIMEOUT                  11
#define RTMS_STOP_REASON_INSTANCE_CONNECTION_INTERRUPTED     12
#define RTMS_STOP_REASON_SIGNAL_CONNECTION_INTERRUPTED       13
#define RTMS_STOP_REASON_DATA_CONNECTION_INTERRUPTED         14
#define RTMS_STOP_REASON_SIGNAL_CONNECTION_CLOSED_ABNORMALLY 15
#define RTMS_STOP_REASON_DATA_CONNECTION_CLOSED_ABNORMALLY   16
#define RTMS_STOP_REASON_EXIT_SIGNAL                         17
#define RTMS_STOP_REASON_AUTHENTICATION_FAILURE              18
#define RTMS_STOP_REASON_AWAIT_RECONNECTION_TIMEOUT          19
#define RTMS_STOP_REASON_RECEIVER_REQUEST_CLOSE              20
#define RTMS_STOP_REASON_CUSTOMER_DISCONNECTED               21
#define RTMS_STOP_REASON_AGENT_DISCONNECTED                  22
#define RTMS_STOP_REASON_ADMIN_DISABLED_APP                  23
#define RTMS_STOP_REASON_KEEP_ALIVE_TIMEOUT                  24
#define RTMS_STOP_REASON_MANUAL_API_TRIGGERED                25
#define RTMS_STOP_REASON_STREAMING_NOT_SUPPORTED             26

/* Stream states (on_stream_state(); Zoom: RTMS_STREAM_STATE). Not the handle's RTMS_STATE_*. */
#define RTMS_STREAM_STATE_INACTIVE    0
#define RTMS_STREAM_STATE_ACTIVE      1
#define RTMS_STREAM_STATE_INTERRUPTED 2
#define RTMS_STREAM_STATE_TERMINATING 3
#define RTMS_STREAM_STATE_TERMINATED  4
#define RTMS_STREAM_STATE_PAUSED      5
#define RTMS_STREAM_STATE_RESUMED     6

/* Session states (SESSION_STATE_UPDATE on the wire; Zoom: RTMS_SESSION_STATE). */
#define RTMS_SESSION_STATE_INACTIVE   0
#define RTMS_SESSION_STATE_INITIALIZE 1
#define RTMS_SESSION_STATE_STARTED    2
#define RTMS_SESSION_STATE_PAUSED     3
#define RTMS_SESSION_STATE_RESUMED    4
#define RTMS_SESSION_STATE_STOPPED    5

/* Transcript languages (transcript_parameters.src_language, rtms_metadata.language; Zoom:
 * RTMS_TRANSCRIPT_LANGUAGE). NONE lets the server detect the language. */
#define RTMS_LANGUAGE_NONE                (-1)
#define RTMS_LANGUAGE_ARABIC              0
#define RTMS_LANGUAGE_BENGALI             1
#define RTMS_LANGUAGE_CANTONESE           2
#define RTMS_LANGUAGE_CATALAN             3
#define RTMS_LANGUAGE_CHINESE_SIMPLIFIED  4
#define RTMS_LANGUAGE_CHINESE_TRADITIONAL 5
#define RTMS_LANGUAGE_CZECH               6
#define RTMS_LANGUAGE_DANISH              7
#define RTMS_LANGUAGE_DUTCH               8
#define RTMS_LANGUAGE_ENGLISH             9
#define RTMS_LANGUAGE_ESTONIAN            10
#define RTMS_LANGUAGE_FINNISH             11
#define RTMS_LANGUAGE_FRENCH_CANADA       12
#define RTMS_LANGUAGE_FRENCH_FRANCE       13
#define RTMS_LANGUAGE_GERMAN              14
#define RTMS_LANGUAGE_HEBREW              15
#define RTMS_LANGUAGE_HINDI               16
#define RTMS_LANGUAGE_HUNGARIAN           17
#define RTMS_LANGUAGE_INDONESIAN          18
#define RTMS_LANGUAGE_ITALIAN             19
#define RTMS_LANGUAGE_JAPANESE            20
#define RTMS_LANGUAGE_KOREAN              21
#define RTMS_LANGUAGE_MALAY               22
#define RTMS_LANGUAGE_PERSIAN             23
#define RTMS_LANGUAGE_POLISH              24
#define RTMS_LANGUAGE_PORTUGUESE          25
#define RTMS_LANGUAGE_ROMANIAN            26
#define RTMS_LANGUAGE_RUSSIAN             27
#define RTMS_LANGUAGE_SPANISH             28
#define RTMS_LANGUAGE_SWEDISH             29
#define RTMS_LANGUAGE_TAGALOG             30
#define RTMS_LANGUAGE_TAMIL               31
#define RTMS_LANGUAGE_TELUGU              32
#define RTMS_LANGUAGE_THAI                33
#define RTMS_LANGUAGE_TURKISH             34
#define RTMS_LANGUAGE_UKRAINIAN           35
#define RTMS_LANGUAGE_VIETNAMESE          36

/* Message types: msg_type of every protocol message (Zoom: RTMS_MESSAGE_TYPE). */
#define RTMS_MSG_UNDEFINED                  0
#define RTMS_MSG_SIGNALING_HAND_SHAKE_REQ   1
#define RTMS_MSG_SIGNALING_HAND_SHAKE_RESP  2
#define RTMS_MSG_DATA_HAND_SHAKE_REQ        3
#define RTMS_MSG_DATA_HAND_SHAKE_RESP       4
#define RTMS_MSG_EVENT_SUBSCRIPTION         5
#define RTMS_MSG_EVENT_UPDATE               6
#define RTMS_MSG_CLIENT_READY_ACK           7
#define RTMS_MSG_STREAM_STATE_UPDATE        8
#define RTMS_MSG_SESSION_STATE_UPDATE       9
#define RTMS_MSG_SESSION_STATE_REQ          10
#define RTMS_MSG_SESSION_STATE_RESP         11
#define RTMS_MSG_KEEP_ALIVE_REQ             12
#define RTMS_MSG_KEEP_ALIVE_RESP            13
#define RTMS_MSG_MEDIA_DATA_AUDIO           14
#define RTMS_MSG_MEDIA_DATA_VIDEO           15
#define RTMS_MSG_MEDIA_DATA_SHARE           16
#define RTMS_MSG_MEDIA_DATA_TRANSCRIPT      17
#define RTMS_MSG_MEDIA_DATA_CHAT            18
#define RTMS_MSG_STREAM_STATE_REQ           19
#define RTMS_MSG_STREAM_STATE_RESP          20
#define RTMS_MSG_STREAM_CLOSE_REQ           21
#define RTMS_MSG_STREAM_CLOSE_RESP          22
#define RTMS_MSG_META_DATA_AUDIO            23
#define RTMS_MSG_META_DATA_VIDEO            24
#define RTMS_MSG_META_DATA_SHARE            25
#define RTMS_MSG_META_DATA_TRANSCRIPT       26
#define RTMS_MSG_META_DATA_CHAT             27
#define RTMS_MSG_VIDEO_SUBSCRIPTION_REQ     28
#define RTMS_MSG_VIDEO_SUBSCRIPTION_RESP    29

#ifdef __cplusplus
}
#endif

#endif /* OPENRTMS_H */
