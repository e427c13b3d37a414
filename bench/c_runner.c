/*
 * Bench runner for the C ABI: K handles polled on one thread (epoll on their wake fds, so a
 * wake-up costs O(ready), not O(K)), a callback that counts. Same options and JSON output as py_runner.py. Meetings are created
 * through the simulator's control API with curl-free plain sockets (HTTP/1.0 POST).
 *
 *   c_runner <sim host:port> <clients> <count> <size> <rate> <seconds> <kill-media-at> [mode [drain-s]]
 *
 * mode: audio (the default: the audio bench plans), mix (a meeting's media: audio, video, screen
 * share and transcript, held until every stream joined, then `seconds` of it; the runner then
 * waits up to drain-s (10) for what the simulator said it would send), video (the video blast:
 * `count` access units back to back on one video connection, also held until every stream
 * joined). Every mode counts messages and bytes per kind ("kinds" in the JSON line), and each
 * kind's messages in the measurement window ("window_by_kind").
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "openrtms.h"

#define MAXC 4096

#ifdef RTMS_BENCH_COUNT_ALLOCS
/* Built with -DRTMS_BENCH_COUNT_ALLOCS (bench/allocs.py): these definitions in the executable
 * stand in for glibc's allocator in the whole process, librtms and its threads included, and
 * count every allocation (frees are not counted); the JSON line then says how many happened in
 * the window, and per message delivered. glibc's own entry points do the work. */
#include <stdatomic.h>
#include <errno.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static atomic_llong allocations;
void *malloc(size_t n)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void *calloc(size_t k, size_t n)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n)
{
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(a, n);
}
void *memalign(size_t a, size_t n) { return aligned_alloc(a, n); }
int posix_memalign(void **out, size_t a, size_t n)
{
    void *p = aligned_alloc(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
static long long allocation_count(void) { return atomic_load(&allocations); }
#else
static long long allocation_count(void) { return -1; }
#endif

enum { MODE_AUDIO, MODE_MIX, MODE_VIDEO };
static int nclients, rate_mode, mode;
static long long counts[MAXC];
/* Per kind (audio, video, deskshare, transcript): messages and payload bytes, every stream. */
static const char *kind_names[4] = {"audio", "video", "deskshare", "transcript"};
static long long kind_msgs[4], kind_bytes[4], kind_expected[4];
static double firsts[MAXC], lasts[MAXC], max_gap;
static double join_ms[MAXC], t_join[MAXC];
static int joined_ok[MAXC], in_window;
static double *lat;
static size_t nlat, caplat;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int index_of(struct rtms_csdk *sdk) { return (int)(intptr_t)rtms_get_user_data(sdk); }

/* One media message of `kind` (Zoom's data callbacks carry no kind: the four below say it): counted
 * per kind; the mode's main kind (video in the video blast, audio otherwise) also counts per
 * stream, with gaps and (paced) latency. */
static void on_media(int kind, struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts,
                     struct rtms_metadata *md)
{
    int i = index_of(sdk);
    double t;
    (void)ts;
    (void)md;
    kind_msgs[kind]++;
    kind_bytes[kind] += size;
    if (kind != (mode == MODE_VIDEO ? 1 : 0)) return;
    t = now_s();
    if (lasts[i] > 0 && in_window && t - lasts[i] > max_gap) max_gap = t - lasts[i];
    if (firsts[i] == 0) firsts[i] = t;
    lasts[i] = t;
    counts[i]++;
    if (in_window && (rate_mode || mode == MODE_MIX) && size >= 8 && nlat < caplat) {
        uint64_t us = 0;
        int b;
        for (b = 7; b >= 0; b--) us = us << 8 | buf[b];
        lat[nlat++] = t * 1e6 - (double)us;
    }
}

/* Zoom's data callbacks, one per kind (the index in kind_names). */
static void on_audio(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts, struct rtms_metadata *md)
{
    on_media(0, sdk, buf, size, ts, md);
}
static void on_video(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts, struct rtms_metadata *md)
{
    on_media(1, sdk, buf, size, ts, md);
}
static void on_ds(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts, struct rtms_metadata *md)
{
    on_media(2, sdk, buf, size, ts, md);
}
static void on_transcript(struct rtms_csdk *sdk, unsigned char *buf, int size, uint64_t ts, struct rtms_metadata *md)
{
    on_media(3, sdk, buf, size, ts, md);
}

static void on_join(struct rtms_csdk *sdk, int reason)
{
    int i = index_of(sdk);
    join_ms[i] = (now_s() - t_join[i]) * 1000;
    joined_ok[i] = reason == 0 ? 1 : -1;
}

/* POST body to the simulator; the answer (JSON) into out. */
static int http_post(const char *host, int port, const char *path, const char *body, char *out, size_t cap)
{
    struct sockaddr_in a;
    char req[1024];
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    snprintf(req, sizeof req,
             "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", path,
             host, strlen(body), body);
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return -1;
    }
    while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0) got += (size_t)n;
    out[got] = 0;
    close(fd);
    return 0;
}

static int json_field(const char *s, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p, *e;
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    if (!(p = strstr(s, pat))) return -1;
    p += strlen(pat);
    if (!(e = strchr(p, '"')) || (size_t)(e - p) >= cap) return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 0;
}

/* The integer after "key": in s (the first occurrence), or -1. */
static long long json_int(const char *s, const char *key)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (!(p = strstr(s, pat))) return -1;
    return atoll(p + strlen(pat));
}

static int all_expected_received(void)
{
    int k;
    for (k = 0; k < 4; k++)
        if (kind_msgs[k] < kind_expected[k]) return 0;
    return 1;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

/* Context switches of every thread of the process so far (voluntary: wake-ups; and forced). */
static long long ctx_switches(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (long long)r.ru_nvcsw + r.ru_nivcsw;
}

static long rss_kb(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

/* RTMS_BENCH_GROUP_US=N: every handle in one delivery group (rtms_group_*) with a latency budget
 * of N microseconds, polled through the group's one descriptor, instead of epoll on each handle's. */
static rtms_group *group;

/* Delivers what is ready, waiting up to timeout_ms for it. */
static void pump(int ep, struct epoll_event *evs, struct rtms_csdk **sdk, int timeout_ms)
{
    int i, nev;
    if (group) {
        rtms_group_poll(group, 0, timeout_ms);
        return;
    }
    nev = epoll_wait(ep, evs, nclients, timeout_ms);
    for (i = 0; i < nev; i++) rtms_poll_ex(sdk[evs[i].data.u32], 0, 0);
}

int main(int argc, char **argv)
{
    char host[64], body[512], answer[8192], stream[MAXC][80], uuid[128], urls[256], path[160];
    int port, count, size, rate, i, joined = 0, started = -1;
    double seconds, kill_at, w0, w1, c0, c1, first = 0, last = 0, drain = 10, drained = -1;
    long long bytes0 = 0, cs0 = 0, cs1 = 0;
    long long n0 = 0, n1 = 0, total = 0, kinds0 = 0, kinds1 = 0, allocs0, allocs1;
    long long kind0[4], kind1[4]; /* kind_msgs at the window's start and end */
    struct rtms_csdk **sdk;
    struct epoll_event *evs;
    int ep;
    struct rtms_csdk_ops ops;
    int killed = 0;
    double killed_at = 0;
    if (argc < 8 || argc > 10 || sscanf(argv[1], "%63[^:]:%d", host, &port) != 2) {
        fprintf(stderr, "usage: c_runner <sim host:port> <clients> <count> <size> <rate> <seconds> <kill-media-at> "
                        "[audio|mix|video [drain-s]]\n");
        return 2;
    }
    mode = argc < 9 || strcmp(argv[8], "audio") == 0 ? MODE_AUDIO
           : strcmp(argv[8], "mix") == 0             ? MODE_MIX
           : strcmp(argv[8], "video") == 0           ? MODE_VIDEO
                                                     : -1;
    if (mode < 0) {
        fprintf(stderr, "c_runner: mode is audio, mix or video\n");
        return 2;
    }
    if (argc > 9) drain = atof(argv[9]);
    nclients = atoi(argv[2]);
    count = atoi(argv[3]);
    size = atoi(argv[4]);
    rate = atoi(argv[5]);
    seconds = atof(argv[6]);
    kill_at = atof(argv[7]);
    rate_mode = rate > 0;
    if (nclients < 1 || nclients > MAXC) return 2;
    caplat = 4000000;
    lat = malloc(caplat * sizeof *lat);
    sdk = calloc((size_t)nclients, sizeof *sdk);
    evs = calloc((size_t)nclients, sizeof *evs);
    ep = epoll_create1(0);
    if (getenv("RTMS_BENCH_GROUP_US") && !(group = rtms_group_create(atoi(getenv("RTMS_BENCH_GROUP_US"))))) {
        fprintf(stderr, "c_runner: %s\n", rtms_last_error());
        return 1;
    }
    memset(&ops, 0, sizeof ops);
    ops.on_audio_data = on_audio;
    ops.on_video_data = on_video;
    ops.on_ds_data = on_ds;
    ops.on_transcript_data = on_transcript;
    ops.on_join_confirm = on_join;
    for (i = 0; i < nclients; i++) {
        if (mode == MODE_MIX) /* RTMS_BENCH_MIX: more fields of the mix, e.g. "\"video_fps\":0" */
            snprintf(body, sizeof body, "{\"duration\":3600,\"bench\":{\"mix\":{\"seconds\":%g,\"hold\":true%s%s}}}",
                     seconds, getenv("RTMS_BENCH_MIX") ? "," : "",
                     getenv("RTMS_BENCH_MIX") ? getenv("RTMS_BENCH_MIX") : "");
        else if (mode == MODE_VIDEO)
            snprintf(body, sizeof body, "{\"duration\":3600,\"bench\":{\"kind\":\"video\",\"count\":%d,\"hold\":true}}",
                     count);
        else
            snprintf(body, sizeof body, "{\"duration\":3600,\"bench\":{\"count\":%d,\"size\":%d,\"rate\":%d}}", count,
                     size, rate);
        if (http_post(host, port, "/meetings", body, answer, sizeof answer) != 0 ||
            json_field(answer, "rtms_stream_id", stream[i], sizeof stream[i]) ||
            json_field(answer, "meeting_uuid", uuid, sizeof uuid) ||
            json_field(answer, "server_urls", urls, sizeof urls)) {
            fprintf(stderr, "c_runner: cannot create meeting %d: %s\n", i, answer);
            return 1;
        }
        sdk[i] = rtms_alloc();
        rtms_set_user_data(sdk[i], (void *)(intptr_t)i);
        rtms_set_callbacks(sdk[i], &ops);
        rtms_config(sdk[i], NULL,
                    mode == MODE_MIX     ? SDK_AUDIO | SDK_VIDEO | SDK_DESKSHARE | SDK_TRANSCRIPT
                    : mode == MODE_VIDEO ? SDK_VIDEO
                                         : SDK_AUDIO,
                    0);
        t_join[i] = now_s();
        if (rtms_join(sdk[i], uuid, stream[i], "bench", urls, 0) != RTMS_SDK_OK) {
            fprintf(stderr, "c_runner: join %d: %s\n", i, rtms_last_error());
            return 1;
        }
        {
            struct epoll_event ev;
            memset(&ev, 0, sizeof ev);
            ev.events = EPOLLIN;
            ev.data.u32 = (uint32_t)i;
            if (group ? rtms_group_add(group, sdk[i]) != RTMS_SDK_OK
                      : epoll_ctl(ep, EPOLL_CTL_ADD, rtms_get_wake_fd(sdk[i]), &ev) != 0) {
                fprintf(stderr, "c_runner: epoll_ctl failed for handle %d\n", i);
                return 1;
            }
        }
    }
    w0 = now_s() + 60;
    while (joined < nclients && now_s() < w0) {
        pump(ep, evs, sdk, 50);
        joined = 0;
        for (i = 0; i < nclients; i++) joined += joined_ok[i] != 0;
    }
    if (mode != MODE_AUDIO) {
        /* Every stream joined: the media starts now, on every stream at once. */
        int k;
        if (http_post(host, port, "/bench/start", "{}", answer, sizeof answer) != 0 ||
            (started = (int)json_int(answer, "started")) < 0) {
            fprintf(stderr, "c_runner: cannot start the media: %s\n", answer);
            return 1;
        }
        for (k = 0; k < 4; k++)
            kind_expected[k] = json_int(answer, kind_names[k]) > 0 ? json_int(answer, kind_names[k]) : 0;
    }
    c0 = cpu_s();
    cs0 = ctx_switches();
    w0 = now_s();
    for (i = 0; i < 4; i++) bytes0 += kind_bytes[i];
    for (i = 0; i < nclients; i++) n0 += counts[i];
    for (i = 0; i < 4; i++) kinds0 += kind0[i] = kind_msgs[i];
    allocs0 = allocation_count();
    in_window = 1;
    while (now_s() - w0 < seconds) {
        if (kill_at >= 0 && !killed && now_s() - w0 >= kill_at) {
            killed = 1;
            killed_at = now_s();
            for (i = 0; i < nclients; i++) {
                snprintf(path, sizeof path, "/streams/%.79s/chaos", stream[i]);
                http_post(host, port, path, "{\"connection\":\"audio\",\"action\":\"abort\"}", answer, sizeof answer);
            }
        }
        pump(ep, evs, sdk, 100);
        if (count > 0) {
            total = 0;
            for (i = 0; i < nclients; i++) total += counts[i];
            if (total >= (long long)count * nclients) break;
        }
    }
    in_window = 0;
    allocs1 = allocation_count();
    for (i = 0; i < 4; i++) kinds1 += kind1[i] = kind_msgs[i];
    c1 = cpu_s();
    cs1 = ctx_switches();
    w1 = now_s();
    if (mode == MODE_MIX) {
        /* What is still in flight or queued: read it, up to `drain` seconds; the rest is missing. */
        while (!all_expected_received() && now_s() - w1 < drain) {
            pump(ep, evs, sdk, 100);
        }
        drained = all_expected_received() ? now_s() - w1 : -1;
    }
    /* A stream that never came back counts its silence up to the end of the window. */
    for (i = 0; i < nclients && killed; i++)
        if (lasts[i] > 0 && w1 - lasts[i] > max_gap) max_gap = w1 - lasts[i];
    total = 0;
    for (i = 0; i < nclients; i++) {
        n1 += counts[i];
        total += counts[i];
        if (firsts[i] > 0 && (first == 0 || firsts[i] < first)) first = firsts[i];
        if (lasts[i] > last) last = lasts[i];
    }
    {
        long rss = rss_kb();
        unsigned long long dropped = 0, pauses = 0;
        for (i = 0; i < nclients; i++) {
            struct rtms_stats st;
            memset(&st, 0, sizeof st);
            st.version = RTMS_STATS_VERSION;
            if (rtms_get_stats(sdk[i], &st) == RTMS_SDK_OK) {
                dropped += st.dropped_queue_full + st.dropped_malformed + st.dropped_unexpected;
                pauses += st.read_pauses;
            }
        }
        double span = last - first, msgs = count > 0 ? (span > 0 ? total / span : 0) : (n1 - n0) / (w1 - w0);
        int ok = 0;
        double jm[MAXC];
        for (i = 0; i < nclients; i++)
            if (joined_ok[i] == 1) jm[ok++] = join_ms[i];
        qsort(jm, (size_t)ok, sizeof jm[0], cmp);
        qsort(lat, nlat, sizeof lat[0], cmp);
        printf("{\"clients\":%d,\"joined\":%d,\"delivered\":%lld,\"total\":%lld,\"msgs_per_s\":%.1f,\"cpu_s\":%.4f,"
               "\"wall_s\":%.3f,"
               "\"cpu_pct\":%.2f,\"cpu_us_per_msg\":%s%.3f,\"rss_kb\":%ld,\"join_ms\":%.2f",
               nclients, ok, n1 - n0, total, msgs, c1 - c0, w1 - w0, 100 * (c1 - c0) / (w1 - w0), "",
               n1 - n0 > 0 ? 1e6 * (c1 - c0) / (double)(n1 - n0) : 0.0, rss, ok ? jm[ok / 2] : -1.0);
        if ((rate_mode || mode == MODE_MIX) && nlat)
            printf(",\"lat_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", lat[nlat / 2] / 1000,
                   lat[(size_t)(nlat * 0.99)] / 1000, lat[nlat - 1] / 1000);
        if (rate_mode) printf(",\"expected\":%.0f", (double)rate * nclients * (w1 - w0));
        printf(",\"dropped\":%llu,\"read_pauses\":%llu", dropped, pauses);
        if (allocs0 >= 0) /* every kind's messages in the window */
            printf(",\"allocs\":%lld,\"window_msgs\":%lld,\"allocs_per_msg\":%.3f", allocs1 - allocs0, kinds1 - kinds0,
                   kinds1 > kinds0 ? (double)(allocs1 - allocs0) / (double)(kinds1 - kinds0) : -1.0);
        {
            int k;
            long long b1 = 0;
            for (k = 0; k < 4; k++) b1 += kind_bytes[k];
            printf(",\"mode\":\"%s\",\"kinds\":{", mode == MODE_MIX ? "mix" : mode == MODE_VIDEO ? "video" : "audio");
            for (k = 0; k < 4; k++)
                printf("%s\"%s\":{\"msgs\":%lld,\"bytes\":%lld}", k ? "," : "", kind_names[k], kind_msgs[k],
                       kind_bytes[k]);
            printf("},\"window_bytes\":%lld", b1 - bytes0);
            /* Each kind's messages in the window (they add up to window_msgs). */
            printf(",\"window_by_kind\":{");
            for (k = 0; k < 4; k++) printf("%s\"%s\":%lld", k ? "," : "", kind_names[k], kind1[k] - kind0[k]);
            printf("}");
            if (mode != MODE_AUDIO) printf(",\"ctx_switches\":%lld", cs1 - cs0);
            if (mode == MODE_VIDEO) {
                double mb = kind_bytes[1] / 1e6, wmb = (b1 - bytes0) / 1e6;
                printf(",\"mb_per_s\":%.2f,\"cpu_us_per_mb\":%.1f", span > 0 ? mb / span : 0.0,
                       wmb > 0 ? 1e6 * (c1 - c0) / wmb : 0.0);
            }
            if (mode == MODE_MIX) {
                printf(",\"started\":%d,\"expected_kinds\":{", started);
                for (k = 0; k < 4; k++) printf("%s\"%s\":%lld", k ? "," : "", kind_names[k], kind_expected[k]);
                printf("},\"drain_s\":%.3f", drained);
            }
        }
        if (kill_at >= 0) {
            int back = 0;
            for (i = 0; i < nclients; i++) back += killed && lasts[i] > killed_at && w1 - lasts[i] < 0.5;
            printf(",\"max_gap_ms\":%.1f,\"recovered\":%d", max_gap * 1000, back);
        }
        printf("}\n");
    }
    for (i = 0; i < nclients; i++) rtms_release(sdk[i]);
    return 0;
}
