/*
 * Base64 decoding, 32 characters per step with AVX2 and 16 with SSSE3 (Muła and Lemire's method:
 * classify each character by its high nibble, add a per-class offset, then fold four 6-bit values
 * into three bytes with two multiply-adds and a byte shuffle). The last block (and any text
 * shorter than one) goes through a strict scalar loop. See cbase64.h for the contract.
 */
#include "cbase64.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPENRTMS_B64_X86 1
#include <immintrin.h>
#endif

/* Character -> 6-bit value, 0xFF for anything outside the standard alphabet. */
static const uint8_t decode_table[256] = {
#define X 0xFF
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x00 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x10 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,  X,  63, /* 0x20: '+' '/' */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,  /* 0x30: '0'-'9' */
    X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40: 'A'-'O' */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  X,  /* 0x50: 'P'-'Z' */
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60: 'a'-'o' */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  /* 0x70: 'p'-'z' */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

/* The strict scalar decoder: whole groups of four, then a final group of 2 or 3 characters
 * (optionally padded to 4 with '='), whose unused bits must be zero. */
static ptrdiff_t decode_scalar(const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t *o = out;
    size_t i = 0, rest;
    /* Padding only ends a text whose length is a multiple of 4 ("QQ==", "QUI="). */
    if (len >= 4 && len % 4 == 0 && in[len - 1] == '=') len -= in[len - 2] == '=' ? 2 : 1;
    rest = len % 4;
    if (rest == 1) return -1;
    for (; i + 4 <= len; i += 4) {
        uint32_t a = decode_table[in[i]], b = decode_table[in[i + 1]];
        uint32_t c = decode_table[in[i + 2]], d = decode_table[in[i + 3]];
        if ((a | b | c | d) & 0x80) return -1;
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    if (rest) {
        uint32_t a = decode_table[in[i]], b = decode_table[in[i + 1]];
        uint32_t c = rest == 3 ? decode_table[in[i + 2]] : 0;
        if ((a | b | c) & 0x80) return -1;
        uint32_t v = a << 18 | b << 12 | c << 6;
        *o++ = (uint8_t)(v >> 16);
        if (rest == 3) {
            *o++ = (uint8_t)(v >> 8);
            if (v & 0xFF) return -1;
        } else if (v & 0xFFFF) {
            return -1;
        }
    }
    return o - out;
}

#ifdef OPENRTMS_B64_X86
/* Whether c is in [lo, hi], as 0xFF/0x00 bytes (signed compares: bytes from 0x80 up are negative
 * and fall outside every range used here). */
__attribute__((target("ssse3"))) static inline __m128i in_range(__m128i c, char lo, char hi)
{
    return _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8((char)(lo - 1))),
                         _mm_cmplt_epi8(c, _mm_set1_epi8((char)(hi + 1))));
}

/* Decodes whole 16-character blocks while 20 or more characters remain: the final group, which
 * may hold padding, is left to the scalar loop, and the 16-byte store of a block's 12 bytes stays
 * inside the caller's len / 4 * 3 + 3 bytes. Returns the characters consumed, or (size_t)-1 at a
 * character outside the alphabet. */
__attribute__((target("ssse3"))) static size_t decode_blocks(const uint8_t *in, size_t len, uint8_t **out)
{
    /* Offset to add per high nibble; index 1 is '/' (its high nibble, 2, minus one). */
    const __m128i roll = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    /* Each 32-bit lane holds 00 v0v1v2v3 (24 bits) after the multiply-adds: its bytes 2, 1, 0
     * are the three output bytes in order. */
    const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    uint8_t *o = *out;
    size_t i = 0;
    while (len - i >= 20) {
        __m128i c = _mm_loadu_si128((const __m128i *)(in + i));
        __m128i valid =
            _mm_or_si128(_mm_or_si128(in_range(c, 'A', 'Z'), in_range(c, 'a', 'z')),
                         _mm_or_si128(in_range(c, '0', '9'), _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('+')),
                                                                          _mm_cmpeq_epi8(c, _mm_set1_epi8('/')))));
        if (_mm_movemask_epi8(valid) != 0xFFFF) return (size_t)-1;
        __m128i hi = _mm_and_si128(_mm_srli_epi32(c, 4), nibble);
        __m128i slash = _mm_cmpeq_epi8(c, _mm_set1_epi8('/'));
        __m128i v = _mm_add_epi8(c, _mm_shuffle_epi8(roll, _mm_add_epi8(hi, slash)));
        __m128i pairs = _mm_maddubs_epi16(v, _mm_set1_epi32(0x01400140));
        __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
        __m128i bytes = _mm_shuffle_epi8(quads, pack);
        /* 12 bytes are the output; the store writes 16 (room: see above). */
        _mm_storeu_si128((__m128i *)o, bytes);
        o += 12;
        i += 16;
    }
    *out = o;
    return i;
}

__attribute__((target("avx2"))) static inline __m256i in_range32(__m256i c, char lo, char hi)
{
    return _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8((char)(lo - 1))),
                            _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(hi + 1)), c));
}

/* The same with AVX2, 32 characters a step (each 128-bit lane as above, then the two lanes' 12
 * bytes moved together), while 40 or more characters remain: the 32-byte store of a step's 24
 * bytes then stays inside the caller's buffer (40 characters leave room for 33 bytes). */
__attribute__((target("avx2"))) static size_t decode_blocks_avx2(const uint8_t *in, size_t len, uint8_t **out)
{
    const __m256i roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65,
                                          -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10,
                                          9, 8, 14, 13, 12, -1, -1, -1, -1);
    /* 32-bit words 0-2 (lane 0's 12 bytes), then 4-6 (lane 1's). */
    const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    uint8_t *o = *out;
    size_t i = 0;
    while (len - i >= 40) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(in + i));
        __m256i valid = _mm256_or_si256(
            _mm256_or_si256(in_range32(c, 'A', 'Z'), in_range32(c, 'a', 'z')),
            _mm256_or_si256(in_range32(c, '0', '9'), _mm256_or_si256(_mm256_cmpeq_epi8(c, _mm256_set1_epi8('+')),
                                                                     _mm256_cmpeq_epi8(c, _mm256_set1_epi8('/')))));
        if ((unsigned)_mm256_movemask_epi8(valid) != 0xFFFFFFFFu) return (size_t)-1;
        __m256i hi = _mm256_and_si256(_mm256_srli_epi32(c, 4), nibble);
        __m256i slash = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('/'));
        __m256i v = _mm256_add_epi8(c, _mm256_shuffle_epi8(roll, _mm256_add_epi8(hi, slash)));
        __m256i pairs = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
        __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
        __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(quads, pack), join);
        _mm256_storeu_si256((__m256i *)o, bytes);
        o += 24;
        i += 32;
    }
    *out = o;
    return i;
}

#endif

int openrtms_b64_vector_available(void)
{
#ifdef OPENRTMS_B64_X86
    return __builtin_cpu_supports("ssse3") ? 1 : 0;
#else
    return 0;
#endif
}

ptrdiff_t openrtms_b64_decode(const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t *o = out;
    size_t done = 0;
    ptrdiff_t tail;
#ifdef OPENRTMS_B64_X86
    if (len >= 20 && openrtms_b64_vector_available()) {
        size_t more;
        /* AVX2 first where the CPU has it; both leave whole groups behind (multiples of 4
         * characters, 3 bytes each), so the next loop's bounds hold for the rest. */
        if (len >= 40 && __builtin_cpu_supports("avx2")) {
            done = decode_blocks_avx2(in, len, &o);
            if (done == (size_t)-1) return -1;
        }
        more = decode_blocks(in + done, len - done, &o);
        if (more == (size_t)-1) return -1;
        done += more;
    }
#endif
    tail = decode_scalar(in + done, len - done, o);
    return tail < 0 ? -1 : (o - out) + tail;
}
