/*
 * rtms_common.h: types and constants shared by the RTMS C API.
 *
 * OpenRTMS. Source-compatible with the rtms_common.h of Zoom's C SDK as its pure-C
 * interface (rtms_csdk.h) was used: a program written for it compiles unchanged against this file.
 * Constant values are those of Zoom's SDK and of the RTMS protocol.
 *
 * This header is the documentation: if something is not described here, it is not API.
 */
#ifndef RTMS_COMMON_H
#define RTMS_COMMON_H

#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Media types: the media_types mask of rtms_config().
 *
 * Each of SDK_AUDIO..SDK_CHAT opens one media connection of its own ("split" mode, what Zoom's
 * client does). SDK_ALL requests every kind on one unified connection (media_type 32); when it is
 * set, the other bits are ignored.
 * ------------------------------------------------------------------------------------------- */
#define SDK_AUDIO      1
#define SDK_VIDEO      2
#define SDK_DESKSHARE  4
#define SDK_TRANSCRIPT 8
#define SDK_CHAT       16
#define SDK_ALL        32

/* Return codes of the API functions. Text: rtms_strerror(); details: rtms_last_error(). */
enum {
    RTMS_SDK_FAILURE        = -1, /* operation failed (see rtms_last_error()) */
    RTMS_SDK_OK             = 0,
    RTMS_SDK_TIMEOUT        = 1,
    RTMS_SDK_NOT_EXIST      = 2,  /* no such handle (NULL, released, or never allocated) */
    RTMS_SDK_WRONG_TYPE     = 3,
    RTMS_SDK_INVALID_STATUS = 4,  /* not allowed in the handle's current state */
    RTMS_SDK_INVALID_ARGS   = 5   /* an argument is missing or out of range */
};

/* on_session_update() op */
#define SESSION_ADD    1
#define SESSION_STOP   2
#define SESSION_PAUSE  3
#define SESSION_RESUME 4

/* session_info.status */
#define SESS_STATUS_ACTIVE 1
#define SESS_STATUS_PAUSED 2

/* on_user_update() op */
#define USER_JOIN  0
#define USER_LEAVE 1

#define MAX_MEETING_ID_LEN 128
#define MAX_VOICE_ID_LEN   64
#define MAX_ENGINE_LEN     64
#define MAX_AI_TARGETS     100

/* A session of the stream (SESSION_STATE_UPDATE on the wire). Valid during the callback only. */
struct session_info {
    char *session_id;                     /* rtms_session_id */
    char *stream_id;                      /* rtms_stream_id of the handle */
    char meeting_id[MAX_MEETING_ID_LEN];  /* instance id (meeting/webinar uuid, session id...), NUL-terminated */
    int stat_time;                        /* event timestamp in seconds since the epoch */
    int status;                           /* SESS_STATUS_ACTIVE or SESS_STATUS_PAUSED */
};

/* A participant (PARTICIPANT_JOIN / PARTICIPANT_LEAVE). Valid during the callback only. */
struct participant_info {
    int participant_id;                   /* the wire's 32-bit user id (cast to uint32_t if you need it unsigned) */
    char *participant_name;               /* "" when the server sent no name (leave events) */
};

struct ai_target_lan {
    int lid;
    int toneid;
    char voice_id[MAX_VOICE_ID_LEN];
    char engine[MAX_ENGINE_LEN];
};

struct ai_interpreter {
    int lid;
    uint64_t timestamp;
    int channel_num;
    int sample_rate;
    int target_size;                      /* 0..MAX_AI_TARGETS, always initialised */
    struct ai_target_lan atl[MAX_AI_TARGETS];
};

/* Metadata of a media message. Valid during the callback only. */
struct rtms_metadata {
    char *user_name;                      /* "" for mixed audio and Contact Center channels */
    int user_id;                          /* 0 for mixed audio; the wire's 32-bit id otherwise */
    uint64_t start_ts;                    /* transcript: start of the utterance (ms); else 0 */
    uint64_t end_ts;                      /* transcript: end of the utterance (ms); else 0 */
    struct ai_interpreter aii;            /* zeroed (OpenRTMS does not decode interpreter metadata yet) */
    /* OpenRTMS additions (after Zoom's fields, so older code is unaffected): */
    const char *channel_id;               /* Contact Center channel, or "" */
    int language;                         /* transcript language (RTMS_TRANSCRIPT_LANGUAGE), -1 if absent */
};

/* Media parameters. A field <= 0 takes the RTMS protocol default written in brackets (the
 * protocol's defaults, not the OPUS/48 kHz/stereo defaults of Zoom's SDK), except where noted.
 * rtms_config() rejects values outside the ranges below with RTMS_SDK_INVALID_ARGS (content_type:
 * audio 1, 2, 4 or 5; video and deskshare 1, 3, 4 or 5; transcript 5), and rtms_check_params()
 * (openrtms.h) applies the same rules without a handle. */
struct audio_parameters {
    int content_type;  /* [2 RAW_AUDIO] */
    int codec;         /* [1 L16]; 2 G711, 3 G722, 4 OPUS (needs sample_rate 3) */
    int sample_rate;   /* 0 SR_8K, 1 SR_16K, 2 SR_32K, 3 SR_48K; taken as given (0 is SR_8K); < 0 = [1] */
    int channel;       /* [1 MONO]; 2 STEREO */
    int data_opt;      /* [1 AUDIO_MIXED_STREAM]; 2 AUDIO_MULTI_STREAMS */
    int duration;      /* milliseconds per message, sent as send_rate [20] */
    int frame_size;    /* samples per message; informational, not sent */
};

struct video_parameters {
    int content_type;  /* [3 RAW_VIDEO] */
    int codec;         /* [5 JPG]; 6 PNG (fps <= 5), 7 H264 */
    int resolution;    /* [2 HD]; 1 SD, 3 FHD, 4 QHD */
    int data_opt;      /* [3 VIDEO_SINGLE_ACTIVE_STREAM]; 4 VIDEO_SINGLE_INDIVIDUAL_STREAM, 5 VIDEO_MIXED_GALLERY_VIEW */
    int fps;           /* [5]; 1..30 */
};

struct ds_parameters {
    int content_type;  /* [3 RAW_VIDEO] */
    int codec;         /* [5 JPG] */
    int resolution;    /* [3 FHD] */
    int fps;           /* [1] */
};

struct transcript_parameters {
    int content_type;  /* [5 TEXT] */
    int src_language;  /* RTMS_TRANSCRIPT_LANGUAGE 0..36, or -1 to let the server detect; taken as given */
    bool enable_lid;   /* language identification; taken as given */
};

/* NULL members take protocol defaults for the kinds requested in rtms_config(). */
struct media_parameters {
    struct audio_parameters *audio_param;
    struct video_parameters *video_param;
    struct ds_parameters *ds_param;
    struct transcript_parameters *tr_param;
};

#ifdef __cplusplus
}
#endif

#endif /* RTMS_COMMON_H */
