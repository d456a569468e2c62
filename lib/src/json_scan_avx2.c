/* json_scan_avx2.c - the block kernel on AVX2 (this file alone is built
 * with -mavx2; json_scan.c calls it only when the CPU has AVX2).
 *
 * Bytes are classified with two nibble lookups (vpshufb), and UTF-8 is
 * checked on every block with the lookup method of J. Keiser and
 * D. Lemire, "Validating UTF-8 In Less Than One Instruction Per Byte"
 * (Software: Practice and Experience, 2021): three table lookups on the
 * nibbles of each byte and the byte before it name the error classes a
 * pair can be in; their AND is non-zero exactly on a bad pair, except
 * where a third or fourth byte of a sequence is due, which is known from
 * the bytes two and three back. */
#include <immintrin.h>

#include "json_scan.h"

typedef struct js_utf8 {
    __m256i prev;        /* the last 32 bytes seen */
    __m256i incomplete;  /* they end inside a character */
    __m256i err;         /* any bad byte so far */
} js_utf8;

#define JS_KERNEL dgw_json_kernel_avx2
#include "json_simd.h"

/* A 16-entry byte table, in both 128-bit lanes (vpshufb looks up per lane). */
#define B_(x) ((char)(uint8_t)(x))
#define TABLE16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)               \
    _mm256_setr_epi8(B_(a), B_(b), B_(c), B_(d), B_(e), B_(f), B_(g), B_(h),  \
                     B_(i), B_(j), B_(k), B_(l), B_(m), B_(n), B_(o), B_(p),  \
                     B_(a), B_(b), B_(c), B_(d), B_(e), B_(f), B_(g), B_(h),  \
                     B_(i), B_(j), B_(k), B_(l), B_(m), B_(n), B_(o), B_(p))

static inline uint64_t both(uint32_t lo, uint32_t hi)
{
    return (uint64_t)lo | (uint64_t)hi << 32;
}

static inline __m256i nibble_hi(__m256i v)
{
    return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
}

static inline __m256i nibble_lo(__m256i v)
{
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

static inline __attribute__((always_inline)) void js_classify(const uint8_t *p,
                                                             js_masks *m)
{
    /* A byte is white space when lo[low nibble] & hi[high nibble] has bit
     * 0 (\t \n \r) or 1 (space), structure when bit 2 (,), 3 (:) or 4
     * ([ ] { }). */
    const __m256i lo = TABLE16(0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x09, 0x10,
                               0x04, 0x11, 0, 0);
    const __m256i hi = TABLE16(0x01, 0, 0x06, 0x08, 0, 0x10, 0, 0x10, 0, 0, 0,
                               0, 0, 0, 0, 0);
    const __m256i ws_bits = _mm256_set1_epi8(0x03), op_bits = _mm256_set1_epi8(0x1c);
    const __m256i zero = _mm256_setzero_si256(), ctl_max = _mm256_set1_epi8(0x1f);
    uint32_t q[2], b[2], op[2], ws[2], ctl[2], high[2];
    for (int i = 0; i < 2; i++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * i));
        __m256i cls = _mm256_and_si256(_mm256_shuffle_epi8(lo, nibble_lo(v)),
                                       _mm256_shuffle_epi8(hi, nibble_hi(v)));
        ws[i] = ~(uint32_t)_mm256_movemask_epi8(
            _mm256_cmpeq_epi8(_mm256_and_si256(cls, ws_bits), zero));
        op[i] = ~(uint32_t)_mm256_movemask_epi8(
            _mm256_cmpeq_epi8(_mm256_and_si256(cls, op_bits), zero));
        q[i] = (uint32_t)_mm256_movemask_epi8(
            _mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')));
        b[i] = (uint32_t)_mm256_movemask_epi8(
            _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')));
        ctl[i] = (uint32_t)_mm256_movemask_epi8(
            _mm256_cmpeq_epi8(_mm256_max_epu8(v, ctl_max), ctl_max));
        high[i] = (uint32_t)_mm256_movemask_epi8(v);
    }
    m->quote = both(q[0], q[1]);
    m->bslash = both(b[0], b[1]);
    m->op = both(op[0], op[1]);
    m->ws = both(ws[0], ws[1]);
    m->ctl = both(ctl[0], ctl[1]);
    m->hi = both(high[0], high[1]);
}

/* Error classes of a byte pair (previous byte, this byte). */
enum {
    TOO_SHORT = 1 << 0,    /* lead byte, then no continuation */
    TOO_LONG = 1 << 1,     /* ASCII, then a continuation */
    OVERLONG_3 = 1 << 2,   /* E0 80..9F */
    TOO_LARGE = 1 << 3,    /* F4 90..BF, F5..FF 90..BF */
    SURROGATE = 1 << 4,    /* ED A0..BF */
    OVERLONG_2 = 1 << 5,   /* C0..C1 continuation */
    TOO_LARGE_1000 = 1 << 6, /* F5..FF 80..8F */
    OVERLONG_4 = 1 << 6,   /* F0 80..8F (shares the bit: both need hi F) */
    TWO_CONTS = 1 << 7,    /* continuation, continuation */
    CARRY = TOO_SHORT | TOO_LONG | TWO_CONTS
};

static inline __m256i utf8_errors(__m256i in, __m256i prev)
{
    const __m256i by_prev_hi = TABLE16(
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TOO_LONG, TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
        TOO_SHORT | OVERLONG_2, TOO_SHORT, TOO_SHORT | OVERLONG_3 | SURROGATE,
        TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
    const __m256i by_prev_lo = TABLE16(
        CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4, CARRY | OVERLONG_2,
        CARRY, CARRY, CARRY | TOO_LARGE, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000);
    const __m256i by_this_hi = TABLE16(
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        TOO_SHORT, TOO_SHORT,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT);
    /* The bytes 1, 2 and 3 places back, across the 32-byte boundary. */
    __m256i joined = _mm256_permute2x128_si256(prev, in, 0x21);
    __m256i prev1 = _mm256_alignr_epi8(in, joined, 15);
    __m256i prev2 = _mm256_alignr_epi8(in, joined, 14);
    __m256i prev3 = _mm256_alignr_epi8(in, joined, 13);
    __m256i special = _mm256_and_si256(
        _mm256_and_si256(_mm256_shuffle_epi8(by_prev_hi, nibble_hi(prev1)),
                         _mm256_shuffle_epi8(by_prev_lo, nibble_lo(prev1))),
        _mm256_shuffle_epi8(by_this_hi, nibble_hi(in)));
    /* A third byte (two after E0..FF) or fourth (three after F0..FF) is a
     * continuation that TWO_CONTS flagged: expected there, wrong elsewhere. */
    __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8(0xe0 - 0x80));
    __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8(0xf0 - 0x80));
    __m256i due = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                   _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(due, special);
}

static inline void js_utf8_init(js_utf8 *u)
{
    u->prev = u->incomplete = u->err = _mm256_setzero_si256();
}

static __attribute__((noinline)) void utf8_block_mixed(js_utf8 *u,
                                                       const uint8_t *p);

static inline void js_utf8_block(js_utf8 *u, const uint8_t *p, uint64_t hi)
{
    if (hi == 0) {
        /* ASCII: fine unless the last block left a character open. */
        u->err = _mm256_or_si256(u->err, u->incomplete);
        u->incomplete = _mm256_setzero_si256();
        u->prev = _mm256_setzero_si256();
    } else {
        utf8_block_mixed(u, p);
    }
}

static void utf8_block_mixed(js_utf8 *u, const uint8_t *p)
{
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    /* The last three bytes may not start a 4-, 3-, 2-byte sequence. */
    const __m256i last_ok = _mm256_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)(0xf0 - 1),
        (char)(0xe0 - 1), (char)(0xc0 - 1));
    u->err = _mm256_or_si256(
        u->err, _mm256_or_si256(utf8_errors(a, u->prev), utf8_errors(b, a)));
    u->incomplete = _mm256_subs_epu8(b, last_ok);
    u->prev = b;
}

static inline bool js_utf8_ok(const js_utf8 *u)
{
    __m256i e = _mm256_or_si256(u->err, u->incomplete);
    return _mm256_testz_si256(e, e);
}
