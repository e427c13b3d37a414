/*
 * rtms_csdk.h: the RTMS client C API.
 *
 * OpenRTMS. Source-compatible with Zoom's pure-C RTMS SDK header of the same name:
 * a program written for it compiles and runs unchanged against this file and librtms.so. The
 * OpenRTMS additions (wake fd, leave, close stream, chat, options, errors, versions) are declared
 * in openrtms.h, which includes this file.
 *
 * THREADING CONTRACT
 *  - The network runs on internal threads and never waits for the application.
 *  - Callbacks run only inside rtms_poll() (or rtms_poll_ex()), on the thread that calls it, one
 *    at a time, in the order events happened. No callback ever runs on an internal thread.
 *  - Any thread may own a handle and call any function on it; a handle may move between threads.
 *    Calls on one handle from several threads at once are safe but are serialised.
 *  - rtms_release() is safe at any time: from inside a callback of the same handle, and while
 *    another thread is inside rtms_poll() on it. In that case it wakes the poll and waits until
 *    the callback running there (if any) has returned and the poll has returned (without further
 *    callbacks, with RTMS_SDK_NOT_EXIST); so when rtms_release() returns, no callback of the
 *    handle is running anywhere and the application may free whatever its callbacks use (their
 *    user_data included). Do not call it, from another thread, while holding a lock that one of
 *    the handle's callbacks takes: that waits forever. From inside a callback (of this handle,
 *    or of another handle or intake: two threads could otherwise wait for each other) it
 *    returns at once without waiting; no further callback follows, and the memory is freed
 *    when the poll that was running returns. After rtms_release() returns, the handle pointer must not be used again ("drop
 *    after the last call"); functions given a released handle return RTMS_SDK_NOT_EXIST when
 *    they can tell.
 *
 * RETURN VALUES: two families, one convention each.
 *  - Functions that report a status (rtms_join(), rtms_poll(), rtms_config()... and the
 *    openrtms.h functions that return a status) return RTMS_SDK_OK (0) or a positive
 *    RTMS_SDK_* code (RTMS_SDK_FAILURE is -1), as Zoom's SDK does.
 *  - Functions that return a value (a count, a file descriptor, a length, a state, a port:
 *    rtms_poll_ex(), rtms_wait(), rtms_get_wake_fd(), rtms_get_failure(), rtms_get_state(),
 *    rtms_webhook_poll()...) return it (>= 0), or a negative number on error: the negated
 *    RTMS_SDK_* code (-RTMS_SDK_NOT_EXIST for a NULL or released handle), never a value that
 *    could be mistaken for a result.
 *  - The webhook intake family (rtms_webhook_*, openrtms.h) returns >= 0 on success and a
 *    negative number on every error, status or value alike.
 *  Tests/c/errors.c checks every function's error path against these rules. Either way
 *  rtms_last_error() holds the text of the failure on the calling thread.
 *  - Many handles and many sequential sessions per process are supported; rtms_init() and
 *    rtms_uninit() may be called again at any time.
 *
 * EVENT QUEUE
 *  Events wait in a bounded per-handle queue until rtms_poll(). When the application falls behind
 *  and the queue exceeds its byte limit (rtms_options.queue_max_bytes), reading from the media
 *  connections pauses until the queue drains, so nothing is lost (or, with
 *  rtms_options.drop_when_full, new media is dropped and counted). A pause lasts at most
 *  RTMS_MAX_PAUSE_MS (10 s): a server drops a client that stops reading, so after that reading
 *  resumes, keep-alives are answered, and media beyond the limit is dropped and counted until the
 *  application drains the queue; on_error(RTMS_REASON_QUEUE_FULL) says so when it starts and,
 *  with the number dropped, when it ends. A paused connection is never declared dead for its
 *  silence. rtms_get_stats() reports pauses and drops (read_pauses, dropped_queue_full).
 *
 * LIFECYCLE
 *  rtms_init() (optional) → rtms_alloc() → rtms_config() → rtms_set_callbacks() → rtms_join() →
 *  rtms_poll() in a loop → on_join_confirm(0) … media and events … → on_leave(reason) or
 *  rtms_leave() → rtms_release().
 *  A failed join reports on_join_confirm(reason != 0) and no on_leave. A joined session that the
 *  server or the network ends reports on_leave(reason) once. rtms_leave() reports nothing.
 */
#ifndef RTMS_CSDK_H
#define RTMS_CSDK_H

#include "rtms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A client handle: one RTMS stream. Allocated by rtms_alloc(), freed by rtms_release(). */
struct rtms_csdk {
    char *meeting_uuid;    /* instance id given to rtms_join(), or NULL before; read-only */
    char *rtms_stream_id;  /* stream id given to rtms_join(), or NULL before; read-only */
    void *user_data;       /* OpenRTMS: free for the application (also rtms_set_user_data()) */
};

/*
 * Callbacks. Any member may be NULL. Pointers passed to a callback (buffers, metadata, strings,
 * structs) are valid until it returns; copy what you keep.
 *
 * on_join_confirm(reason): 0 when the stream is joined (all handshakes done, client-ready sent).
 *   Otherwise the join failed and the handle is idle again; reason is the server's status_code
 *   (e.g. 3 = invalid signature) or a local reason (RTMS_REASON_* in openrtms.h: 1 timeout,
 *   6 malformed server response, 500 connect failed, 610 TLS failure, ...). Text: rtms_last_error()
 *   is not set by callbacks; use openrtms.h's on_error or rtms_get_failure().
 * on_leave(reason): a joined session ended: a STOP_REASON from the server (6 = meeting ended,
 *   20 = closed on request) or a local reason (960 = server closed a connection, 502 = connection
 *   lost). Not called for rtms_leave() / rtms_release().
 * on_session_update(op, sess): SESSION_ADD / SESSION_STOP / SESSION_PAUSE / SESSION_RESUME.
 * on_user_update(op, pi): USER_JOIN / USER_LEAVE, once per participant. Needs event types 3 and 4
 *   subscribed (rtms_subscribe_event()). The event as a whole (every participant and the event's
 *   timestamp, in one call) is openrtms.h's rtms_ext_ops.on_participant_event.
 * on_audio_data / on_video_data / on_ds_data / on_transcript_data(buf, size, timestamp, md):
 *   decoded payload (audio: PCM or codec frames as negotiated; video/deskshare: one JPEG/PNG image
 *   or H.264 access unit; transcript: UTF-8 text, not NUL-terminated), the server's timestamp in ms.
 * on_event_ex(buf, size): every EVENT_UPDATE as compact JSON of its "event" object (keys sorted),
 *   NUL-terminated; size excludes the NUL.
 *
 * The member order and count are those of Zoom's public C header (nine pointers; Zoom's library
 * copies exactly nine from the struct you pass, whatever its internal table holds), so objects
 * compiled against Zoom's header link and run unchanged. Participant video and video-subscription answers,
 * which Zoom's C interface never exposed, are in rtms_ext_ops (openrtms.h).
 */
struct rtms_csdk_ops {
    void (*on_join_confirm)(struct rtms_csdk *sdk, int reason);
    void (*on_session_update)(struct rtms_csdk *sdk, int op, struct session_info *sess);
    void (*on_user_update)(struct rtms_csdk *sdk, int op, struct participant_info *pi);
    void (*on_audio_data)(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp, struct rtms_metadata *md);
    void (*on_video_data)(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp, struct rtms_metadata *md);
    void (*on_ds_data)(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp, struct rtms_metadata *md);
    void (*on_transcript_data)(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t timestamp, struct rtms_metadata *md);
    void (*on_leave)(struct rtms_csdk *sdk, int reason);
    void (*on_event_ex)(struct rtms_csdk *sdk, const char *buf, int size);
};

/*
 * Process-wide defaults for TLS and the client agent. Optional (rtms_alloc() works without it);
 * may be called again (later calls replace the defaults for joins that start afterwards).
 *   ca_path: PEM file of trusted CAs; NULL or "" = the system trust store.
 *   is_verify_cert: 1 = verify the server certificate and its host name or IP address (default);
 *                   0 = accept any certificate.
 *   agent: appended to the client agent sent in the handshake; may be NULL.
 * Returns RTMS_SDK_OK.
 */
int rtms_init(const char *ca_path, int is_verify_cert, const char *agent);

/* Restores the defaults of rtms_init(). Existing handles keep working. */
void rtms_uninit(void);

/* A new handle, or NULL (rtms_last_error() says why). */
struct rtms_csdk *rtms_alloc(void);

/* Leaves if joined, stops all callbacks, frees the handle; waits for a callback of the handle
 * running on another thread to return (see the threading contract above). NULL or a released
 * handle: RTMS_SDK_NOT_EXIST. Any thread. */
int rtms_release(struct rtms_csdk *sdk);

/*
 * Chooses the media to receive and their parameters, before rtms_join().
 *   params: NULL, or per-kind parameters (NULL members take protocol defaults).
 *   media_types: SDK_AUDIO | SDK_VIDEO | ... or SDK_ALL; 0 = events only.
 *   ale: application-layer encryption; must be 0 (RTMS_SDK_INVALID_ARGS otherwise).
 */
int rtms_config(struct rtms_csdk *sdk, struct media_parameters *params, int media_types, int ale);

/* Copies the callback table (the application's copy may be freed afterwards). NULL clears it. */
int rtms_set_callbacks(struct rtms_csdk *sdk, struct rtms_csdk_ops *ops);

/*
 * Starts joining a stream and returns at once; the outcome arrives as on_join_confirm().
 *   meeting_uuid: the instance id: meeting_uuid, webinar_uuid, session_id (Video SDK),
 *                 engagement_id (Contact Center) or call_id (Phone).
 *   rtms_stream_id: from the rtms_started webhook.
 *   signature: hex HMAC-SHA256 of "client_id,instance_id,stream_id" under the client secret; NULL or
 *              "" computes it from rtms_options.client_id/client_secret or the environment
 *              variables ZM_RTMS_CLIENT / ZM_RTMS_SECRET.
 *   server_url: the webhook's server_urls (ws:// or wss://); a comma-separated list is tried in order.
 *   timeout: join timeout in ms (<= 0: 10000).
 * Returns RTMS_SDK_OK, RTMS_SDK_INVALID_ARGS (bad or missing argument; rtms_last_error() says
 * which), RTMS_SDK_NO_CREDENTIALS (openrtms.h: no signature and nothing to compute one from) or
 * RTMS_SDK_INVALID_STATUS (this handle is already joined or joining: leave first; or
 * another handle of this process has joined the same rtms_stream_id: one connection per stream).
 */
int rtms_join(struct rtms_csdk *sdk, const char *meeting_uuid, const char *rtms_stream_id,
              const char *signature, const char *server_url, int timeout);

/*
 * Delivers pending events through the callbacks, on the calling thread. When none is pending it
 * first waits up to rtms_options.poll_wait_ms (default 10, like Zoom's SDK) for one, so a plain
 * `while (running) rtms_poll(sdk);` loop does not spin. Returns RTMS_SDK_OK, RTMS_SDK_NOT_EXIST for a
 * released handle, or RTMS_SDK_INVALID_STATUS when called from inside a callback of the same
 * handle. See rtms_poll_ex() and rtms_get_wake_fd() in openrtms.h.
 */
int rtms_poll(struct rtms_csdk *sdk);

/*
 * Event subscriptions (RTMS_EVENT_TYPE: 2 active speaker, 3/4 participant join/leave, 5/6 sharing,
 * 8/9 participant video on/off, 10-14 chat groups). Allowed before the join: kept and sent once
 * the join is confirmed, and again on every later join of this handle. Types 1 and 7 are always
 * delivered and need no subscription.
 */
int rtms_subscribe_event(struct rtms_csdk *sdk, int *events, int n);
int rtms_unsubscribe_event(struct rtms_csdk *sdk, int *events, int n);

/*
 * HTTP CONNECT proxy for this handle's connections, before rtms_join().
 *   type: "http" or "https" (TLS to the proxy); url: "http://[user:password@]host:port".
 *   A NULL or empty url removes the proxy.
 */
int rtms_set_proxy(struct rtms_csdk *sdk, const char *type, const char *url);

/* Individual video (video data_opt 4): subscribe (is_sub 1) or unsubscribe (0) a participant's
 * video. Before the join confirm it is queued. The answer arrives as
 * rtms_ext_ops.on_video_subscript_resp (openrtms.h). */
int rtms_send_subscript_video(struct rtms_csdk *sdk, int user_id, int is_sub);

#ifdef __cplusplus
}
#endif

#endif /* RTMS_CSDK_H */
