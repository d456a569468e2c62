/* utf8.h - incremental UTF-8 validation (RFC 3629), for text frames whose
 * bytes arrive in arbitrary chunks. */
#ifndef DGW_UTF8_H
#define DGW_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dgw_utf8 {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo, hi; /* allowed range of the next continuation byte */
} dgw_utf8;

static inline void dgw_utf8_init(dgw_utf8 *u) { u->need = 0; u->lo = 0x80; u->hi = 0xBF; }
/* Feeds bytes; false as soon as they cannot be valid UTF-8. */
bool dgw_utf8_feed(dgw_utf8 *u, const uint8_t *p, size_t n);
/* True when the bytes so far end on a character boundary. */
static inline bool dgw_utf8_complete(const dgw_utf8 *u) { return u->need == 0; }

/* True when [p, p+n) is whole, valid UTF-8. */
static inline bool dgw_utf8_valid(const void *p, size_t n)
{
    dgw_utf8 u;
    dgw_utf8_init(&u);
    return dgw_utf8_feed(&u, p, n) && dgw_utf8_complete(&u);
}

/* The length of the whole, valid UTF-8 sequence that starts at p (a byte
 * >= 0x80) and ends by `end`, or 0 when there is none: for scanners that
 * meet a non-ASCII byte and check its character on the spot. */
static inline size_t dgw_utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t b = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* The same for a NUL-terminated string; NULL counts as valid (absent). */
bool dgw_utf8_valid_str(const char *s);

#endif
