/*
 * Standard-alphabet base64 decoding with SSSE3 (and AVX2 where the CPU has it) on x86-64 (the
 * media payload's hot path).
 * Internal to OpenRTMS: not part of the public C ABI, not exported from librtms.so.
 */
#ifndef OPENRTMS_CBASE64_H
#define OPENRTMS_CBASE64_H

#include <stddef.h>
#include <stdint.h>

/* 1 when openrtms_b64_decode runs its vector loop on this CPU, else 0 (then it does nothing
 * useful: callers use their scalar decoder instead). */
int openrtms_b64_vector_available(void);

/* Decodes `len` bytes of base64 text (RFC 4648 standard alphabet; padding optional) into `out`,
 * which has room for len / 4 * 3 + 3 bytes. Returns the number of bytes written, or -1 for
 * anything it does not accept: another alphabet, whitespace, misplaced padding, a length that is
 * 1 more than a multiple of 4, or unused trailing bits that are not zero. It accepts no text a
 * conforming standard-alphabet decoder would reject, so -1 means "decide elsewhere". */
ptrdiff_t openrtms_b64_decode(const uint8_t *in, size_t len, uint8_t *out);

#endif
