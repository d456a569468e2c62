/* json_scan_sse2.c - the block kernel on SSE2, the x86-64 baseline.
 *
 * SSE2 has no byte shuffle, so bytes are classified with compares, and
 * UTF-8 is checked by the scalar validator, only on blocks that have a
 * byte >= 0x80 or follow one that ended mid-character: JSON from Discord is
 * mostly ASCII. */
#include <emmintrin.h>

#include "json_scan.h"
#include "utf8.h"

typedef struct js_utf8 {
    dgw_utf8 u;
    bool bad;
} js_utf8;

#define JS_KERNEL dgw_json_kernel_sse2
#include "json_simd.h"

static inline uint64_t mask16(__m128i eq, int i)
{
    return (uint64_t)(uint16_t)_mm_movemask_epi8(eq) << (16 * i);
}

static inline __attribute__((always_inline)) void js_classify(const uint8_t *p,
                                                             js_masks *m)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i lower = _mm_set1_epi8(0x20), ctl_max = _mm_set1_epi8(0x1f);
    const __m128i ob = _mm_set1_epi8('{'), cb = _mm_set1_epi8('}');
    const __m128i colon = _mm_set1_epi8(':'), comma = _mm_set1_epi8(',');
    const __m128i tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        /* '[' and ']' are '{' and '}' without the 0x20 bit. */
        __m128i v20 = _mm_or_si128(v, lower);
        __m128i op = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v20, ob), _mm_cmpeq_epi8(v20, cb)),
            _mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, comma)));
        __m128i ws = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, lower), _mm_cmpeq_epi8(v, tab)),
            _mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, cr)));
        __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, ctl_max), ctl_max);
        m->quote |= mask16(_mm_cmpeq_epi8(v, quote), i);
        m->bslash |= mask16(_mm_cmpeq_epi8(v, bslash), i);
        m->op |= mask16(op, i);
        m->ws |= mask16(ws, i);
        m->ctl |= mask16(ctl, i);
        m->hi |= mask16(v, i);
    }
}

static inline void js_utf8_init(js_utf8 *u)
{
    dgw_utf8_init(&u->u);
    u->bad = false;
}

static inline void js_utf8_block(js_utf8 *u, const uint8_t *p, uint64_t hi)
{
    if ((hi == 0 && dgw_utf8_complete(&u->u)) || u->bad)
        return;
    if (!dgw_utf8_feed(&u->u, p, 64))
        u->bad = true;
}

static inline bool js_utf8_ok(const js_utf8 *u)
{
    return !u->bad && dgw_utf8_complete(&u->u);
}
