/* float_text.c - exact double <-> decimal conversions on small bignums.
 *
 * Both directions reduce to comparisons and short divisions of integers of
 * at most ~3800 bits, so a fixed-size bignum on the stack does: no
 * allocation, no libm, no locale. Common cases take a fast path that is
 * exact for its own reasons (said where it is taken). */
#include "float_text.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Bignums: little-endian 32-bit limbs. 128 limbs (4096 bits) hold the
 * largest operand either direction makes (about 3790 bits: 10^1104 shifted
 * left by 55 when reading a 780-digit number near the bottom of the
 * subnormal range); every operation still checks its room and reports
 * failure instead of writing past it. */

#define BIG_LIMBS 128

typedef struct big {
    uint32_t w[BIG_LIMBS];
    size_t n; /* limbs in use; w[n-1] != 0 unless n == 0 */
} big;

static void big_set(big *b, uint64_t v)
{
    b->n = 0;
    while (v) {
        b->w[b->n++] = (uint32_t)v;
        v >>= 32;
    }
}

static bool big_mul_add(big *b, uint32_t m, uint32_t add)
{
    uint64_t carry = add;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->w[i] * m + carry;
        b->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        if (b->n == BIG_LIMBS)
            return false;
        b->w[b->n++] = (uint32_t)carry;
    }
    return true;
}

static bool big_mul_pow10(big *b, unsigned k)
{
    static const uint32_t pow10[10] = {1, 10, 100, 1000, 10000, 100000,
                                       1000000, 10000000, 100000000,
                                       1000000000};
    for (; k >= 9; k -= 9)
        if (!big_mul_add(b, pow10[9], 0))
            return false;
    return k == 0 || big_mul_add(b, pow10[k], 0);
}

static bool big_shl(big *b, unsigned bits)
{
    if (b->n == 0)
        return true;
    size_t limbs = bits / 32;
    unsigned r = bits % 32;
    size_t top = b->n + limbs + (r ? 1 : 0);
    if (top > BIG_LIMBS)
        return false;
    if (r) {
        b->w[b->n + limbs] = 0;
        for (size_t i = b->n; i-- > 0;) {
            b->w[i + limbs + 1] |= b->w[i] >> (32 - r);
            b->w[i + limbs] = b->w[i] << r;
        }
    } else {
        memmove(b->w + limbs, b->w, b->n * sizeof b->w[0]);
    }
    memset(b->w, 0, limbs * sizeof b->w[0]);
    b->n = top;
    while (b->n && b->w[b->n - 1] == 0)
        b->n--;
    return true;
}

static void big_shr1(big *b)
{
    for (size_t i = 0; i < b->n; i++) {
        b->w[i] >>= 1;
        if (i + 1 < b->n)
            b->w[i] |= b->w[i + 1] << 31;
    }
    if (b->n && b->w[b->n - 1] == 0)
        b->n--;
}

static int big_cmp(const big *a, const big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t i = a->n; i-- > 0;)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a -= b; requires a >= b. */
static void big_sub(big *a, const big *b)
{
    uint64_t borrow = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
        a->w[i] = (uint32_t)t;
        borrow = (t >> 32) & 1;
    }
    while (a->n && a->w[a->n - 1] == 0)
        a->n--;
}

/* Compares a + b with c without forming the sum where it would not fit. */
static int big_cmp_sum(const big *a, const big *b, const big *c)
{
    big s = *a;
    uint64_t carry = 0;
    size_t n = a->n > b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = (uint64_t)(i < a->n ? a->w[i] : 0) +
                     (i < b->n ? b->w[i] : 0) + carry;
        s.w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    s.n = n;
    if (carry) {
        if (n == BIG_LIMBS)
            return 1; /* larger than anything c can hold */
        s.w[s.n++] = 1;
    }
    return big_cmp(&s, c);
}

static unsigned big_bitlen(const big *b)
{
    if (b->n == 0)
        return 0;
    return (unsigned)(b->n - 1) * 32 + 32 -
           (unsigned)__builtin_clz(b->w[b->n - 1]);
}

/* ------------------------------------------------------------------------ */
/* double -> shortest decimal                                               */

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double double_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* floor(x * log10(2)) for |x| < 2^20 (1233 / 4096 approximates log10(2)
 * closely enough that the caller's fix-up moves at most one step). */
static int floor_log10_pow2(int x)
{
    long t = (long)x * 1233;
    return (int)(t >= 0 ? t / 4096 : -((-t + 4095) / 4096));
}

/* Digits d[0..n) and exponent k: the value is 0.d1d2...dn * 10^k. */
static size_t shortest_digits(uint64_t f, int e, bool lower_closer,
                              char *d, int *kout)
{
    big r, s, mp, mm;
    bool even = (f & 1) == 0;
    /* Burger & Dybvig: v = r/s, the halfway points to the neighbours are
     * (r - mm)/s and (r + mp)/s; everything is scaled by 2 (or 4 when the
     * lower neighbour is closer) so these stay integers. */
    big_set(&r, f);
    if (e >= 0) {
        big_set(&mp, 1);
        big_shl(&mp, (unsigned)e);
        mm = mp;
        if (lower_closer) {
            big_shl(&mp, 1);
            big_shl(&r, (unsigned)e + 2);
            big_set(&s, 4);
        } else {
            big_shl(&r, (unsigned)e + 1);
            big_set(&s, 2);
        }
    } else {
        big_set(&mm, 1);
        if (lower_closer) {
            big_set(&mp, 2);
            big_shl(&r, 2);
            big_set(&s, 1);
            big_shl(&s, (unsigned)(2 - e));
        } else {
            big_set(&mp, 1);
            big_shl(&r, 1);
            big_set(&s, 1);
            big_shl(&s, (unsigned)(1 - e));
        }
    }
    /* Estimate k, the position of the first digit, then fix it up so that
     * the upper halfway point is below 10^k but not below 10^(k-1). */
    int bitlen = 64 - __builtin_clzll(f);
    int k = floor_log10_pow2(e + bitlen - 1) + 1;
    if (k >= 0) {
        big_mul_pow10(&s, (unsigned)k);
    } else {
        big_mul_pow10(&r, (unsigned)-k);
        big_mul_pow10(&mp, (unsigned)-k);
        big_mul_pow10(&mm, (unsigned)-k);
    }
    for (;;) {
        int c = big_cmp_sum(&r, &mp, &s);
        if (even ? c >= 0 : c > 0) {
            big_mul_add(&s, 10, 0);
            k++;
            continue;
        }
        big r10 = r, mp10 = mp;
        big_mul_add(&r10, 10, 0);
        big_mul_add(&mp10, 10, 0);
        c = big_cmp_sum(&r10, &mp10, &s);
        if (even ? c < 0 : c <= 0) {
            r = r10;
            mp = mp10;
            big_mul_add(&mm, 10, 0);
            k--;
            continue;
        }
        break;
    }
    size_t n = 0;
    for (;;) {
        big_mul_add(&r, 10, 0);
        big_mul_add(&mp, 10, 0);
        big_mul_add(&mm, 10, 0);
        int digit = 0;
        while (big_cmp(&r, &s) >= 0) {
            big_sub(&r, &s);
            digit++;
        }
        int lo = big_cmp(&r, &mm);
        int hi = big_cmp_sum(&r, &mp, &s);
        bool tc1 = even ? lo <= 0 : lo < 0;
        bool tc2 = even ? hi >= 0 : hi > 0;
        if (!tc1 && !tc2) {
            d[n++] = (char)('0' + digit);
            continue;
        }
        if (tc1 && tc2) {
            /* Both digit and digit+1 are inside: take the nearer, and of
             * two equally near the even one. */
            big r2 = r;
            big_mul_add(&r2, 2, 0);
            int half = big_cmp(&r2, &s);
            if (half > 0 || (half == 0 && (digit & 1)))
                digit++;
        } else if (tc2) {
            digit++;
        }
        d[n++] = (char)('0' + digit);
        break;
    }
    *kout = k;
    return n;
}

static size_t put_exp(char *o, int x)
{
    size_t i = 0;
    o[i++] = 'e';
    o[i++] = x < 0 ? '-' : '+';
    unsigned u = (unsigned)(x < 0 ? -x : x);
    char tmp[4];
    size_t t = 0;
    do {
        tmp[t++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (t)
        o[i++] = tmp[--t];
    return i;
}

size_t dgw_dtoa(double v, char *out)
{
    uint64_t u = bits_of(v);
    size_t o = 0;
    if (u >> 63)
        out[o++] = '-';
    unsigned be = (unsigned)(u >> 52) & 0x7ff;
    uint64_t frac = u & ((1ull << 52) - 1);
    if (be == 0 && frac == 0) {
        memcpy(out + o, "0.0", 3);
        return o + 3;
    }
    uint64_t f = be ? frac | (1ull << 52) : frac;
    int e = be ? (int)be - 1075 : -1074;
    char d[20];
    size_t n;
    int k;
    if (e <= 0 && e > -53 && (f & ((1ull << -e) - 1)) == 0) {
        /* An integer below 2^53: neighbours are at most 1 away, so its own
         * digits, trailing zeros dropped, are the shortest text. */
        uint64_t x = f >> -e;
        char tmp[20];
        size_t t = 0;
        do {
            tmp[t++] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        k = (int)t;
        n = 0;
        while (t)
            d[n++] = tmp[--t];
        while (d[n - 1] == '0')
            n--;
    } else {
        n = shortest_digits(f, e, frac == 0 && be > 1, d, &k);
    }
    if (k >= (int)n && k <= 21) {
        memcpy(out + o, d, n);
        o += n;
        for (int i = (int)n; i < k; i++)
            out[o++] = '0';
        memcpy(out + o, ".0", 2);
        return o + 2;
    }
    if (k > 0 && k < (int)n) {
        memcpy(out + o, d, (size_t)k);
        o += (size_t)k;
        out[o++] = '.';
        memcpy(out + o, d + k, n - (size_t)k);
        return o + n - (size_t)k;
    }
    if (k <= 0 && k > -6) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = k; i < 0; i++)
            out[o++] = '0';
        memcpy(out + o, d, n);
        return o + n;
    }
    out[o++] = d[0];
    if (n > 1) {
        out[o++] = '.';
        memcpy(out + o, d + 1, n - 1);
        o += n - 1;
    }
    return o + put_exp(out + o, k - 1);
}

/* ------------------------------------------------------------------------ */
/* decimal -> nearest double                                                */

/* Significant digits kept; any digit past them only matters as "the value
 * is a little more", which one extra nonzero digit says exactly. 767
 * digits decide every double's rounding; a few more for margin. */
#define KEEP_DIGITS 780

/* floor(a / b) for a quotient known to be below 2^56; a keeps the
 * remainder. */
static uint64_t big_div_small_quotient(big *a, const big *b)
{
    big t = *b;
    if (!big_shl(&t, 55))
        return UINT64_MAX; /* cannot happen within KEEP_DIGITS; fail loudly */
    uint64_t q = 0;
    for (int i = 55; i >= 0; i--) {
        if (big_cmp(a, &t) >= 0) {
            big_sub(a, &t);
            q |= 1ull << i;
        }
        big_shr1(&t);
    }
    return q;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool dgw_decimal_to_double(const char *p, size_t n, double *out)
{
    const char *end = p + n;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end || !is_digit(*p) ||
        (*p == '0' && p + 1 < end && is_digit(p[1])))
        return false;
    char dig[KEEP_DIGITS + 1];
    size_t k = 0;           /* digits kept */
    long dropped = 0;       /* digits not kept (they scale the value) */
    bool sticky = false;    /* a dropped digit was not zero */
    long frac_len = 0;
    bool in_frac = false;
    for (;;) {
        for (; p < end && is_digit(*p); p++) {
            if (in_frac)
                frac_len++;
            if (k == 0 && *p == '0')
                continue; /* leading zero */
            if (k < KEEP_DIGITS) {
                dig[k++] = *p;
            } else {
                dropped++;
                sticky |= *p != '0';
            }
        }
        if (!in_frac && p < end && *p == '.') {
            p++;
            if (p >= end || !is_digit(*p))
                return false;
            in_frac = true;
            continue;
        }
        break;
    }
    long exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || !is_digit(*p))
            return false;
        for (; p < end && is_digit(*p); p++)
            if (exp10 < 100000000)
                exp10 = exp10 * 10 + (*p - '0');
        if (eneg)
            exp10 = -exp10;
    }
    if (p != end)
        return false;
    uint64_t sign = neg ? 1ull << 63 : 0;
    if (k == 0) {
        *out = double_of(sign);
        return true;
    }
    /* The value is D * 10^E with D the kept digits (plus, when a dropped
     * digit was not zero, a final 1 standing for "a bit more"). */
    if (sticky)
        dig[k++] = '1', dropped--;
    while (dig[k - 1] == '0')
        k--, dropped++;
    long E = exp10 + dropped - frac_len;
    long mag = (long)k + E; /* 10^(mag-1) <= value < 10^mag */
    if (mag > 309)
        return false;
    if (mag < -323) {
        *out = double_of(sign); /* below half the smallest subnormal */
        return true;
    }
#if FLT_EVAL_METHOD == 0
    if (k <= 15 && E >= -22 && E <= 22) {
        /* D < 10^15 and 10^|E| are exact doubles, so one multiplication or
         * division rounds once, correctly (Clinger's fast path). */
        static const double p10[23] = {
            1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
            1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        uint64_t D = 0;
        for (size_t i = 0; i < k; i++)
            D = D * 10 + (uint64_t)(dig[i] - '0');
        double x = (double)D;
        x = E >= 0 ? x * p10[E] : x / p10[-E];
        *out = double_of(bits_of(x) | sign);
        return true;
    }
#endif
    /* value = N / M exactly. */
    big N, M;
    big_set(&N, 0);
    for (size_t i = 0; i < k; i++)
        big_mul_add(&N, 10, (uint32_t)(dig[i] - '0'));
    big_set(&M, 1);
    if (E >= 0) {
        if (!big_mul_pow10(&N, (unsigned)E))
            return false;
    } else if (!big_mul_pow10(&M, (unsigned)-E)) {
        return false;
    }
    /* Scale by 2^s so the quotient has 54 or 55 bits (53 for the
     * significand, one to round with), or, for subnormals, so that its
     * last bit is worth 2^-1075. */
    long s = 54 - ((long)big_bitlen(&N) - (long)big_bitlen(&M));
    if (s > 1075)
        s = 1075;
    if (s >= 0 ? !big_shl(&N, (unsigned)s) : !big_shl(&M, (unsigned)-s))
        return false;
    uint64_t q = big_div_small_quotient(&N, &M);
    if (q == UINT64_MAX)
        return false;
    bool rest = N.n != 0;
    if (q >= 1ull << 54) {
        rest |= q & 1;
        q >>= 1;
        s--;
    }
    uint64_t m = q >> 1;
    if ((q & 1) && (rest || (m & 1)))
        m++;
    if (m == 1ull << 53) {
        m >>= 1;
        s--;
    }
    uint64_t bits;
    if (m >= 1ull << 52) {
        long biased = 1076 - s;
        if (biased >= 2047)
            return false;
        bits = ((uint64_t)biased << 52) | (m & ((1ull << 52) - 1));
    } else {
        bits = m; /* subnormal: s is 1075, the significand is the value */
    }
    *out = double_of(bits | sign);
    return true;
}
