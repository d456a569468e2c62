/* float_text.h: the shortest round-tripping double formatter and the
 * correctly rounded decimal reader, checked against glibc's strtod (which
 * rounds correctly) and printf. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "float_text.h"

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static bool same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static char *fmt(double d, char *buf)
{
    size_t n = dgw_dtoa(d, buf);
    cr_assert_lt(n, DGW_DTOA_MAX);
    buf[n] = '\0';
    return buf;
}

/* Significant digits of a number's text. */
static int digits(const char *s)
{
    const char *e = strpbrk(s, "eE");
    size_t n = e ? (size_t)(e - s) : strlen(s);
    int first = -1, last = -1, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            continue;
        if (s[i] != '0') {
            if (first < 0)
                first = k;
            last = k;
        }
        k++;
    }
    return first < 0 ? 1 : last - first + 1;
}

static void check_double(double d)
{
    char buf[DGW_DTOA_MAX];
    fmt(d, buf);
    /* Valid JSON number text that keeps it a float. */
    cr_assert(strpbrk(buf, ".e"), "%s reads as an integer", buf);
    double back = strtod(buf, NULL);
    cr_assert(same_bits(back, d), "%s does not read back as %.17g", buf, d);
    double ours;
    cr_assert(dgw_decimal_to_double(buf, strlen(buf), &ours), "%s refused", buf);
    cr_assert(same_bits(ours, d), "our reading of %s is wrong", buf);
    /* No shorter correctly rounded text reads back as d. */
    char ref[40];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(ref, sizeof ref, "%.*e", p - 1, d);
        if (same_bits(strtod(ref, NULL), d))
            break;
    }
    cr_assert_leq(digits(buf), p, "%s is longer than %s", buf, ref);
}

Test(float_text, random_doubles_round_trip_shortest)
{
    for (int i = 0; i < 100000; i++) {
        uint64_t u = next();
        if (i % 3 == 1)
            u &= 0x800fffffffffffffull; /* subnormal */
        else if (i % 3 == 2)
            u = (u & 0x800fffffffffffffull) |
                (uint64_t)(1023 + (int)(next() % 120) - 60) << 52;
        double d = from_bits(u);
        if (isfinite(d))
            check_double(d);
    }
}

Test(float_text, special_doubles)
{
    static const double cases[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.30000000000000004, 1.0 / 3, 2.0 / 3,
        100.0, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 123456789012345680.0,
        9007199254740991.0, 9007199254740992.0, 9007199254740994.0,
        DBL_MAX, -DBL_MAX, DBL_MIN, DBL_TRUE_MIN, 2 * DBL_TRUE_MIN,
        DBL_MIN - DBL_TRUE_MIN, DBL_EPSILON, 1 + DBL_EPSILON, 5e-324,
        1e-7, 1e-6, 1.5e-7, 0.000001234, 4.35, 2.5, 0.5, 1e300, 1e-300,
        /* Powers of two: the lower neighbour is closer. */
        0x1p-1022, 0x1p-1021, 0x1p-1, 0x1p52, 0x1p53, 0x1p54, 0x1p100,
        0x1p1023, 0x1p-1000};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_double(cases[i]);
    for (int e = -1074; e <= 1023; e++)
        check_double(ldexp(1.0, e));
}

Test(float_text, layout)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {-2.5, "-2.5"},
        {100.0, "100.0"},
        {0.1, "0.1"},
        {0.30000000000000004, "0.30000000000000004"},
        {123.456, "123.456"},
        {1e20, "100000000000000000000.0"},
        {1e21, "1e+21"},
        {1.5e300, "1.5e+300"},
        {1e-6, "0.000001"},
        {1.25e-6, "0.00000125"},
        {1e-7, "1e-7"},
        {-1.5e-7, "-1.5e-7"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {9007199254740993.0, "9007199254740992.0"},
        {123456789012345680.0, "123456789012345680.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[DGW_DTOA_MAX];
        cr_assert_str_eq(fmt(cases[i].d, buf), cases[i].text);
    }
}

static void check_read(const char *s)
{
    double ours, ref = strtod(s, NULL);
    bool ok = dgw_decimal_to_double(s, strlen(s), &ours);
    if (isinf(ref)) {
        cr_assert(!ok, "%s overflows but was read as %.17g", s, ours);
        return;
    }
    cr_assert(ok, "%s refused", s);
    cr_assert(same_bits(ours, ref), "%s: ours %a, strtod %a", s, ours, ref);
}

Test(float_text, random_decimals_read_like_strtod)
{
    char s[900];
    for (int i = 0; i < 100000; i++) {
        uint64_t r = next();
        size_t k = 0;
        if (r & 1)
            s[k++] = '-';
        int nd = 1 + (int)(next() % (i % 10 == 0 ? 800 : 25));
        int point = (int)(next() % (unsigned)(nd + 1));
        for (int j = 0; j < nd; j++) {
            if (j == point && j > 0)
                s[k++] = '.';
            char c = (char)('0' + next() % 10);
            if (j == 0 && (point > 1 || nd == 1 || point == 0) && c == '0')
                c = '1';
            s[k++] = c;
        }
        if (next() % 2)
            k += (size_t)sprintf(s + k, "e%d", (int)(next() % 700) - 350);
        s[k] = '\0';
        check_read(s);
    }
}

Test(float_text, hard_decimals)
{
    static const char *const cases[] = {
        "0", "-0", "0.0", "0e5", "1", "1e0", "1E+2", "1e-2",
        "9007199254740993", "9007199254740992.5", "9007199254740993.0000000001",
        "2.4703282292062327e-324", "2.4703282292062328e-324",
        "2.47032822920623272e-324", "4.9406564584124654e-324",
        "2.2250738585072011e-308", "2.2250738585072012e-308",
        "2.2250738585072014e-308", "1.7976931348623157e308",
        "1.7976931348623158e308", "1.797693134862315807e308",
        "1.7976931348623159e308", "1e308", "1e309", "1e-324", "1e-400",
        "1e400", "123456789012345678901234567890e-30", "1e22", "1e23",
        "8.98846567431158e307", "0.1", "0.3", "3.0000000000000004e-1",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "7.0e-10", "4.35", "0.000000000000000000000000000001",
        "100000000000000000000000000000000000000000000000000000000000",
        "1e99999999999", "1e-99999999999", "0.0000e99999999999",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_read(cases[i]);
    /* A number with 1000 digits right at a halfway point, then a 1 far
     * out that decides the rounding (the kept-digit limit must not drop
     * it). */
    char s[1200];
    strcpy(s, "1.00000000000000011102230246251565404236316680908203125");
    size_t k = strlen(s);
    while (k < 1100)
        s[k++] = '0';
    s[k++] = '1';
    s[k] = '\0';
    check_read(s);
}

Test(float_text, grammar_is_json)
{
    static const char *const bad[] = {"", "-", "01", "-01", "1.", ".5", "+1",
                                      "1e", "1e+", "1e-", " 1", "1 ", "NaN",
                                      "inf", "-inf", "0x10", "1..2", "1e5.0",
                                      "1,5", "--1", "1ee5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double d;
        cr_assert(!dgw_decimal_to_double(bad[i], strlen(bad[i]), &d),
                  "\"%s\" accepted", bad[i]);
    }
}
