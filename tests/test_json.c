/* The JSON scanner's kernels (scalar, SSE2, AVX2 where the CPU has it) on
 * the same inputs: the same verdicts and spans, at every alignment of the
 * input to the 64-byte blocks; the one-pass payload scan (UTF-8 + JSON +
 * fields); zero-copy reads by path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "utf8.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

#define FOR_EACH_ISA(isa)                                                     \
    for (dgw_json_isa isa = DGW_JSON_ISA_SCALAR; isa < DGW_JSON_ISA_COUNT;    \
         isa = (dgw_json_isa)(isa + 1))                                       \
        if (dgw_json_isa_available(isa))

/* The same text with k spaces after its first '{' or '[' (or in front when
 * there is none): shifts every later byte against the block boundaries
 * without changing what the text means, except inside a string. */
static char *shifted(const char *s, size_t n, size_t k, size_t *out_n)
{
    size_t at = 0;
    while (at < n && s[at] != '{' && s[at] != '[')
        at++;
    at = at < n ? at + 1 : 0;
    char *o = malloc(n + k + 1);
    memcpy(o, s, at);
    memset(o + at, ' ', k);
    memcpy(o + at + k, s + at, n - at);
    o[n + k] = '\0';
    *out_n = n + k;
    return o;
}

/* Every kernel gives is_value == want for s at every shift 0..70. */
static void expect_is_value(const char *s, size_t n, bool want)
{
    for (size_t k = 0; k <= 70; k++) {
        size_t m;
        char *t = shifted(s, n, k, &m);
        FOR_EACH_ISA(isa)
        {
            cr_assert_eq(dgw_json_is_value_isa(isa, t, m), want,
                         "%s, shift %zu: is_value(%.*s) should be %d",
                         dgw_json_isa_name(isa), k, (int)(n > 120 ? 120 : n), s,
                         want);
        }
        free(t);
    }
}

#define VALID(lit) expect_is_value(lit, sizeof(lit) - 1, true)
#define INVALID(lit) expect_is_value(lit, sizeof(lit) - 1, false)

/* All kernels agree with the scalar one on value(), is_value() and
 * scan_payload(), spans included. Returns the scalar payload verdict. */
static dgw_json_verdict agree(const char *s, size_t n)
{
    const char *end = s + n;
    const char *p0 = s;
    dgw_span v0 = {0};
    dgw_json_type t0 = dgw_json_value_isa(DGW_JSON_ISA_SCALAR, &p0, end, &v0);
    bool w0 = dgw_json_is_value_isa(DGW_JSON_ISA_SCALAR, s, n);
    dgw_json_field f0[4] = {{.name = "op"}, {.name = "d"}, {.name = "s"},
                            {.name = "t"}};
    dgw_json_verdict r0 =
        dgw_json_scan_payload_isa(DGW_JSON_ISA_SCALAR, s, n, f0, 4);
    FOR_EACH_ISA(isa)
    {
        const char *p = s;
        dgw_span v = {0};
        dgw_json_type t = dgw_json_value_isa(isa, &p, end, &v);
        cr_assert_eq(t, t0, "%s: value type %d, scalar %d: %.*s",
                     dgw_json_isa_name(isa), t, t0, (int)(n > 200 ? 200 : n), s);
        if (t != DGW_JSON_INVALID)
            cr_assert(v.p == v0.p && v.n == v0.n && p == p0,
                      "%s: value span differs: %.*s", dgw_json_isa_name(isa),
                      (int)(n > 200 ? 200 : n), s);
        cr_assert_eq(dgw_json_is_value_isa(isa, s, n), w0,
                     "%s: is_value differs: %.*s", dgw_json_isa_name(isa),
                     (int)(n > 200 ? 200 : n), s);
        dgw_json_field f[4] = {{.name = "op"}, {.name = "d"}, {.name = "s"},
                               {.name = "t"}};
        dgw_json_verdict r = dgw_json_scan_payload_isa(isa, s, n, f, 4);
        cr_assert_eq(r, r0, "%s: payload verdict %d, scalar %d: %.*s",
                     dgw_json_isa_name(isa), r, r0, (int)(n > 200 ? 200 : n), s);
        if (r == DGW_JSON_OK)
            for (int i = 0; i < 4; i++)
                cr_assert(f[i].type == f0[i].type && f[i].val.p == f0[i].val.p &&
                              f[i].val.n == f0[i].val.n,
                          "%s: field %s differs: %.*s", dgw_json_isa_name(isa),
                          f[i].name, (int)(n > 200 ? 200 : n), s);
    }
    return r0;
}

static dgw_json_verdict payload(dgw_json_isa isa, const char *s,
                                dgw_json_field *f, size_t nf)
{
    return dgw_json_scan_payload_isa(isa, s, strlen(s), f, nf);
}

/* ------------------------------------------------------------------------ */
/* Grammar, on every kernel, at every block alignment                       */

Test(json, kernels_report_what_they_are)
{
    cr_assert(dgw_json_isa_available(DGW_JSON_ISA_SCALAR));
    cr_assert(dgw_json_isa_available(dgw_json_isa_best()));
#if defined(__x86_64__)
    cr_assert(dgw_json_isa_available(DGW_JSON_ISA_SSE2),
              "x86-64 builds have the SSE2 kernel");
    cr_assert_eq(dgw_json_isa_available(DGW_JSON_ISA_AVX2),
                 (bool)__builtin_cpu_supports("avx2") &&
                     (bool)__builtin_cpu_supports("bmi"));
#endif
    cr_assert_str_eq(dgw_json_isa_name(DGW_JSON_ISA_AVX2), "avx2");
}

Test(json, valid_values_are_accepted)
{
    VALID("{}");
    VALID("[]");
    VALID(" { } ");
    VALID("{\"a\":1}");
    VALID("{\"a\" : [1, 2.5, -3e+7, 0, -0.0e-1, true, false, null, \"x\"] }");
    VALID("[[[[[]]]],{\"\":{}},[{}]]");
    VALID("{\"k\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}");
    VALID("[\"\\\\\",\"\\\\\\\"\"]");
    VALID("[\"{}[]:,\"]");
    VALID("{\"op\":0,\"d\":{\"content\":\"h\xc3\xa9llo \xf0\x9f\x98\x80\"}}");
    VALID("\t\r\n[1]\n");
    VALID("\"just a string\"");
    VALID("-12.5e3");
    VALID("null");
}

Test(json, invalid_values_are_refused)
{
    INVALID("");
    INVALID("   ");
    INVALID("{");
    INVALID("{\"a\"}");
    INVALID("{\"a\":}");
    INVALID("{\"a\" 1}");
    INVALID("{\"a\":1,}");
    INVALID("{,\"a\":1}");
    INVALID("{\"a\":1 \"b\":2}");
    INVALID("{1:2}");
    INVALID("[1,]");
    INVALID("[,1]");
    INVALID("[1 2]");
    INVALID("[1,,2]");
    INVALID("[}");
    INVALID("{]");
    INVALID("[[]");
    INVALID("[]]");
    INVALID("[\"a\":1]");
    INVALID("{\"a\":\"b\":1}");
    INVALID("[tru]");
    INVALID("[truex]");
    INVALID("[nul]");
    INVALID("[falsey]");
    INVALID("[01]");
    INVALID("[1.]");
    INVALID("[.5]");
    INVALID("[-]");
    INVALID("[1e]");
    INVALID("[+1]");
    INVALID("[1\"a\"]");
    INVALID("[\"a\"1]");
    INVALID("[\"unterminated]");
    INVALID("[\"bad escape \\x\"]");
    INVALID("[\"bad unicode \\u12G4\"]");
    INVALID("[\"short unicode \\u12\"]");
    INVALID("[\"tab\tin string\"]");
    INVALID("[\"nl\nin string\"]");
    INVALID("[1]x");
    INVALID("[1] [2]");
    INVALID("[\\\"a\"]");
    INVALID("[\x01]");
    INVALID("[1,\x7f]");
    INVALID("[\xc3\xa9]");
    INVALID("{\"a\":1}}");
}

Test(json, strings_and_escapes_across_block_boundaries)
{
    /* Lengths around 64 put quotes, backslashes and escaped bytes at every
     * position of a block, and \u escapes across two blocks. */
    char buf[400];
    for (size_t len = 0; len < 140; len++) {
        for (int kind = 0; kind < 5; kind++) {
            size_t n = 0;
            buf[n++] = '[';
            buf[n++] = '"';
            for (size_t i = 0; i < len; i++)
                buf[n++] = 'a';
            switch (kind) {
            case 0: memcpy(buf + n, "\\\"", 2); n += 2; break;
            case 1: memcpy(buf + n, "\\\\", 2); n += 2; break;
            case 2: memcpy(buf + n, "\\u00e9", 6); n += 6; break;
            case 3: memcpy(buf + n, "\\\\\\\"x", 5); n += 5; break;
            default: memcpy(buf + n, "\xf0\x9f\x98\x80", 4); n += 4; break;
            }
            memcpy(buf + n, "\",1]", 4);
            n += 4;
            agree(buf, n);
            FOR_EACH_ISA(isa)
            cr_assert(dgw_json_is_value_isa(isa, buf, n), "%s: len %zu kind %d",
                      dgw_json_isa_name(isa), len, kind);
            /* The same, cut before its end: never valid, never a crash. */
            for (size_t cut = n > 12 ? n - 12 : 0; cut < n; cut++) {
                agree(buf, cut);
                FOR_EACH_ISA(isa)
                cr_assert(!dgw_json_is_value_isa(isa, buf, cut));
            }
        }
    }
}

Test(json, nesting_is_bounded_the_same_everywhere)
{
    char buf[2 * DGW_JSON_MAX_DEPTH + 32];
    for (int depth = DGW_JSON_MAX_DEPTH - 1; depth <= DGW_JSON_MAX_DEPTH + 1;
         depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            buf[n++] = '[';
        for (int i = 0; i < depth; i++)
            buf[n++] = ']';
        FOR_EACH_ISA(isa)
        cr_assert_eq(dgw_json_is_value_isa(isa, buf, n),
                     depth <= DGW_JSON_MAX_DEPTH, "%s: depth %d",
                     dgw_json_isa_name(isa), depth);
        agree(buf, n);
    }
    /* A payload's members sit one level down: 1 + 255 arrays is the most. */
    for (int inner = DGW_JSON_MAX_DEPTH - 2; inner <= DGW_JSON_MAX_DEPTH;
         inner++) {
        size_t n = 0;
        n += (size_t)sprintf(buf, "{\"op\":0,\"d\":");
        for (int i = 0; i < inner; i++)
            buf[n++] = '[';
        for (int i = 0; i < inner; i++)
            buf[n++] = ']';
        buf[n++] = '}';
        buf[n] = '\0';
        dgw_json_verdict want = 1 + inner <= DGW_JSON_MAX_DEPTH
                                    ? DGW_JSON_OK
                                    : DGW_JSON_BAD_SYNTAX;
        FOR_EACH_ISA(isa)
        cr_assert_eq(payload(isa, buf, NULL, 0), want, "%s: 1 + %d levels",
                     dgw_json_isa_name(isa), inner);
    }
}

Test(json, value_stops_at_its_end_whatever_follows)
{
    /* Garbage after the value, in the same block, must not fail it. */
    static const char *const tails[] = {"", "x", "\"open", "\\q", "\x01",
                                        "\xff\xfe", "}", "]]]", " ,"};
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        char buf[128];
        int n = snprintf(buf, sizeof buf, "  {\"a\":[1,{\"b\":\"c\"}]}%s",
                         tails[i]);
        FOR_EACH_ISA(isa)
        {
            const char *p = buf;
            dgw_span v;
            cr_assert_eq(dgw_json_value_isa(isa, &p, buf + n, &v),
                         DGW_JSON_OBJECT, "%s: tail %zu",
                         dgw_json_isa_name(isa), i);
            cr_assert(v.p == buf + 2 && v.n == 19 && p == buf + 21);
        }
        agree(buf, (size_t)n);
    }
}

Test(json, value_never_reads_past_end)
{
    /* Heap copies of exact length: ASan catches any read beyond. */
    static const char *const cases[] = {"{\"a\":[1,2,3]}", "[\"abc\\u00", "[1",
                                        "{\"k\":tru", "[\"a\\", "[-"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i]);
        for (size_t len = 0; len <= n; len++) {
            char *b = malloc(len ? len : 1);
            memcpy(b, cases[i], len);
            agree(b, len);
            free(b);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The payload scan                                                         */

Test(json, payload_verdicts)
{
    static const struct {
        const char *s;
        dgw_json_verdict want;
    } cases[] = {
        {"{\"op\":11}", DGW_JSON_OK},
        {" {\"op\":11} \n", DGW_JSON_OK},
        {"{}", DGW_JSON_OK},
        {"", DGW_JSON_NOT_OBJECT},
        {"  ", DGW_JSON_NOT_OBJECT},
        {"[1]", DGW_JSON_NOT_OBJECT},
        {"\"op\"", DGW_JSON_NOT_OBJECT},
        {"{\"op\":11", DGW_JSON_BAD_SYNTAX},
        {"{op:11}", DGW_JSON_BAD_SYNTAX},
        {"{\"op\":11,}", DGW_JSON_BAD_SYNTAX},
        {"{\"op\":11} x", DGW_JSON_TRAILING},
        {"{\"op\":11}{}", DGW_JSON_TRAILING},
        {"{\"op\":11} \"open", DGW_JSON_TRAILING},
        {"{\"op\":11}\x01", DGW_JSON_TRAILING},
        {"{\"d\":\"\xc3\xa9\"}", DGW_JSON_OK},
        {"{\"d\":\"\xc3\"}", DGW_JSON_BAD_UTF8},
        {"{\"d\":\"\xc0\xaf\"}", DGW_JSON_BAD_UTF8},         /* overlong */
        {"{\"d\":\"\xe0\x80\xaf\"}", DGW_JSON_BAD_UTF8},     /* overlong */
        {"{\"d\":\"\xed\xa0\x80\"}", DGW_JSON_BAD_UTF8},     /* surrogate */
        {"{\"d\":\"\xf4\x90\x80\x80\"}", DGW_JSON_BAD_UTF8}, /* > U+10FFFF */
        {"{\"d\":\"\xf0\x8f\xbf\xbf\"}", DGW_JSON_BAD_UTF8}, /* overlong */
        {"{\"d\":\"\xf4\x8f\xbf\xbf\"}", DGW_JSON_OK},       /* U+10FFFF */
        {"{\"d\":\"\xef\xbf\xbf\"}", DGW_JSON_OK},           /* U+FFFF */
        {"{\"d\":\"\x80\"}", DGW_JSON_BAD_UTF8},
        {"{\"d\":\"\xff\"}", DGW_JSON_BAD_UTF8},
        /* Bad UTF-8 wins over every other finding, wherever it is. */
        {"\xff{\"op\":1}", DGW_JSON_BAD_UTF8},
        {"[\xff]", DGW_JSON_BAD_UTF8},
        {"{\"op\":1,\xff}", DGW_JSON_BAD_UTF8},
        {"{\"op\":1} \xe2\x82", DGW_JSON_BAD_UTF8},
        {"{\"op\":1} \xe2\x82\xac", DGW_JSON_TRAILING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        FOR_EACH_ISA(isa)
        cr_assert_eq(payload(isa, cases[i].s, NULL, 0), cases[i].want,
                     "%s: case %zu (%s): got %d", dgw_json_isa_name(isa), i,
                     cases[i].s, payload(isa, cases[i].s, NULL, 0));
        cr_assert_eq(agree(cases[i].s, strlen(cases[i].s)), cases[i].want);
    }
}

Test(json, payload_utf8_across_block_boundaries)
{
    /* Every character length, ending at every position around a block
     * boundary; whole, and cut one byte short (an incomplete character at
     * the end of a string, then the closing quote). */
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};
    char buf[300];
    for (size_t c = 0; c < 3; c++) {
        size_t cl = strlen(chars[c]);
        for (size_t pad = 50; pad < 140; pad++) {
            for (int cut = 0; cut <= 1; cut++) {
                size_t n = (size_t)sprintf(buf, "{\"d\":\"");
                memset(buf + n, 'x', pad);
                n += pad;
                memcpy(buf + n, chars[c], cl - (size_t)cut);
                n += cl - (size_t)cut;
                n += (size_t)sprintf(buf + n, "\"}");
                dgw_json_verdict want = cut ? DGW_JSON_BAD_UTF8 : DGW_JSON_OK;
                FOR_EACH_ISA(isa)
                cr_assert_eq(dgw_json_scan_payload_isa(isa, buf, n, NULL, 0),
                             want, "%s: char %zu pad %zu cut %d",
                             dgw_json_isa_name(isa), c, pad, cut);
                /* The payload ending one byte earlier, inside the
                 * character (or, for a 2-byte one already cut, after the
                 * last x): the check at the very end of the input. */
                size_t kept = cl - (size_t)cut - 1;
                cr_assert_eq(agree(buf, n - 3), kept ? DGW_JSON_BAD_UTF8
                                                     : DGW_JSON_BAD_SYNTAX,
                             "char %zu pad %zu cut %d", c, pad, cut);
            }
        }
    }
}

Test(json, payload_fields_are_found_once_and_last_wins)
{
    FOR_EACH_ISA(isa)
    {
        dgw_json_field f[5] = {{.name = "op"}, {.name = "d"}, {.name = "s"},
                               {.name = "t"}, {.name = "absent"}};
        const char *s =
            "{ \"t\" : \"MESSAGE_CREATE\" , \"s\":42,\"op\":0,"
            "\"d\":{\"op\":99,\"t\":\"inner\",\"x\":[{\"s\":1}]} ,"
            "\"\\u006fp\":7 }";
        cr_assert_eq(payload(isa, s, f, 5), DGW_JSON_OK, "%s",
                     dgw_json_isa_name(isa));
        cr_assert_eq(f[0].type, DGW_JSON_NUMBER);
        cr_assert(f[0].val.n == 1 && f[0].val.p[0] == '7',
                  "%s: the escaped \"op\" comes last and wins",
                  dgw_json_isa_name(isa));
        cr_assert_eq(f[1].type, DGW_JSON_OBJECT);
        cr_assert_eq(f[1].val.n, strlen("{\"op\":99,\"t\":\"inner\",\"x\":[{\"s\":1}]}"));
        cr_assert_eq(f[2].type, DGW_JSON_NUMBER);
        cr_assert(f[2].val.n == 2 && memcmp(f[2].val.p, "42", 2) == 0);
        cr_assert_eq(f[3].type, DGW_JSON_STRING);
        cr_assert(f[3].val.n == 16 && memcmp(f[3].val.p, "\"MESSAGE_CREATE\"", 16) == 0,
                  "%s: no white space in the span", dgw_json_isa_name(isa));
        cr_assert_eq(f[4].type, DGW_JSON_INVALID);
        cr_assert_null(f[4].val.p);
    }
}

Test(json, payload_fields_are_matched_safely_before_the_key_is_checked)
{
    /* A raw NUL in a key is refused, but the block kernels match names
     * when they reach the colon, before the block's errors count: the
     * match must stop at the name's end (found by fuzz_json_paths). */
    static const char s[] = "{\"o\0p\":1,\"op\":2}";
    char *o = malloc(2); /* exactly "o": ASan sees a read past it */
    memcpy(o, "o", 2);
    FOR_EACH_ISA(isa)
    {
        dgw_json_field f[2] = {{.name = o}, {.name = "op"}};
        cr_assert_eq(dgw_json_scan_payload_isa(isa, s, sizeof s - 1, f, 2),
                     DGW_JSON_BAD_SYNTAX, "%s", dgw_json_isa_name(isa));
    }
    free(o);
}

Test(json, payload_field_types)
{
    const char *s = "{\"a\":null,\"b\":true,\"c\":false,\"d\":[],\"e\":-1.5,"
                    "\"f\":\"\",\"g\":{}}";
    static const dgw_json_type want[] = {
        DGW_JSON_NULL,  DGW_JSON_TRUE,   DGW_JSON_FALSE, DGW_JSON_ARRAY,
        DGW_JSON_NUMBER, DGW_JSON_STRING, DGW_JSON_OBJECT};
    FOR_EACH_ISA(isa)
    {
        dgw_json_field f[7] = {{.name = "a"}, {.name = "b"}, {.name = "c"},
                               {.name = "d"}, {.name = "e"}, {.name = "f"},
                               {.name = "g"}};
        cr_assert_eq(payload(isa, s, f, 7), DGW_JSON_OK);
        for (int i = 0; i < 7; i++)
            cr_assert_eq(f[i].type, want[i], "%s: field %s",
                         dgw_json_isa_name(isa), f[i].name);
    }
}

/* ------------------------------------------------------------------------ */
/* Differential: the kernels on many mutated payloads                        */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(json, kernels_agree_on_mutated_payloads)
{
    static const char *const seeds[] = {
        ("{\"t\":\"MESSAGE_CREATE\",\"s\":12,\"op\":0,\"d\":{\"type\":0,"
         "\"tts\":false,\"content\":\"h\xc3\xa9llo \\\"w\\\" \\u00e9\","
         "\"mentions\":[],\"author\":{\"id\":\"123\",\"bot\":true},"
         "\"edited_timestamp\":null,\"flags\":0,\"embeds\":[{\"x\":[1,2.5e3]}]}}"),
        ("{\"op\":10,\"d\":{\"heartbeat_interval\":41250,\"_trace\":"
         "[\"[\\\"gateway-prd\\\"]\"]}}"),
        "{\"op\":11}",
        "[[[{\"a\":[\"\\\\\",\"\\/\"]}]]]",
    };
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    static const char alphabet[] = "{}[]:,\"\\ \t\nux01-.eE+truefalsn\x80\xc3\xa9\xff";
    char buf[1024];
    size_t seen[DGW_JSON_TRAILING + 1] = {0};
    for (int iter = 0; iter < 40000; iter++) {
        const char *s = seeds[rnd(&seed) % (sizeof seeds / sizeof *seeds)];
        size_t n = strlen(s);
        /* Stretch it past a block or two now and then. */
        size_t k = rnd(&seed) % 4 == 0 ? rnd(&seed) % 130 : 0;
        size_t m;
        char *t = shifted(s, n, k, &m);
        memcpy(buf, t, m);
        free(t);
        int edits = (int)(rnd(&seed) % 4);
        for (int e = 0; e < edits && m > 0; e++) {
            size_t at = rnd(&seed) % m;
            char ch = alphabet[rnd(&seed) % (sizeof alphabet - 1)];
            switch (rnd(&seed) % 3) {
            case 0:
                buf[at] = ch;
                break;
            case 1:
                if (m + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, m - at);
                    buf[at] = ch;
                    m++;
                }
                break;
            default:
                memmove(buf + at, buf + at + 1, m - at - 1);
                m--;
                break;
            }
        }
        seen[agree(buf, m)]++;
    }
    /* The mutations reach every verdict, often. */
    for (int v = 0; v <= DGW_JSON_TRAILING; v++)
        cr_assert_gt(seen[v], 100, "verdict %d seen %zu times", v, seen[v]);
}

/* ------------------------------------------------------------------------ */
/* Reads by path                                                            */

static const char msg[] =
    "{\"type\":0,\"content\":\"hi \\\"there\\\" \\u00e9\",\"mentions\":[{\"id\":"
    "\"1\",\"u\":{\"n\":[10,20]}},{\"id\":\"2\"}],\"channel_id\":\"42\","
    "\"author\":{\"id\":\"7\",\"bot\":false,\"x.y\":1},\"\\u0069d\":\"esc\","
    "\"nested\":{\"deep\":{\"deeper\":[[],[[\"z\"]]]}},\"n\":-1.5e3}";

static dgw_json_type at(const char *path, dgw_span *v)
{
    return dgw_json_path((dgw_span){msg, sizeof msg - 1}, path, v);
}

static void expect_at(const char *path, dgw_json_type t, const char *raw)
{
    dgw_span v = {0};
    cr_assert_eq(at(path, &v), t, "path %s: type %d", path, at(path, &v));
    cr_assert(v.n == strlen(raw) && memcmp(v.p, raw, v.n) == 0,
              "path %s: got %.*s, want %s", path, (int)v.n, v.p, raw);
    cr_assert(v.p >= msg && v.p + v.n <= msg + sizeof msg - 1, "a slice of d");
}

Test(json_path, members_indexes_and_nesting)
{
    expect_at("channel_id", DGW_JSON_STRING, "\"42\"");
    expect_at("author.id", DGW_JSON_STRING, "\"7\"");
    expect_at("author.bot", DGW_JSON_FALSE, "false");
    expect_at("type", DGW_JSON_NUMBER, "0");
    expect_at("n", DGW_JSON_NUMBER, "-1.5e3");
    expect_at("mentions.0.id", DGW_JSON_STRING, "\"1\"");
    expect_at("mentions.1.id", DGW_JSON_STRING, "\"2\"");
    expect_at("mentions.0.u.n.1", DGW_JSON_NUMBER, "20");
    expect_at("mentions.1", DGW_JSON_OBJECT, "{\"id\":\"2\"}");
    expect_at("nested.deep.deeper.1.0.0", DGW_JSON_STRING, "\"z\"");
    expect_at("nested.deep.deeper.0", DGW_JSON_ARRAY, "[]");
    expect_at("id", DGW_JSON_STRING, "\"esc\""); /* key written \u0069d */
    expect_at("", DGW_JSON_OBJECT, msg);
}

Test(json_path, what_is_not_there)
{
    dgw_span v;
    static const char *const missing[] = {
        "nope", "author.nope", "mentions.2", "mentions.x", "type.x",
        "channel_id.0", "author.x.y", "mentions.-1", "mentions.00000000001",
        "author.", ".author", "nested.deep.deeper.1.5"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++)
        cr_assert_eq(at(missing[i], &v), DGW_JSON_INVALID, "path %s",
                     missing[i]);
}

Test(json_path, several_paths_in_one_walk)
{
    static const char *const paths[] = {
        "channel_id", "author.id", "content", "author", "nope",
        "mentions.1.id", "", "author.id", "n", "nested.deep.deeper.1.0.0"};
    enum { N = sizeof paths / sizeof *paths };
    dgw_span out[N];
    dgw_json_type types[N];
    size_t found = dgw_json_paths((dgw_span){msg, sizeof msg - 1}, paths, N,
                                  out, types);
    cr_assert_eq(found, N - 1, "all but \"nope\"");
    for (size_t i = 0; i < N; i++) {
        dgw_span one = {0};
        dgw_json_type t = at(paths[i], &one);
        cr_assert_eq(types[i], t, "path %s", paths[i]);
        if (t != DGW_JSON_INVALID)
            cr_assert(out[i].p == one.p && out[i].n == one.n, "path %s",
                      paths[i]);
    }
    cr_assert_eq(types[4], DGW_JSON_INVALID);
    cr_assert_null(out[4].p);
}

Test(json_path, strings_unescaped_on_request)
{
    dgw_span d = {msg, sizeof msg - 1};
    char buf[64];
    cr_assert_eq(dgw_json_path_string(d, "content", buf, sizeof buf), 13);
    cr_assert_str_eq(buf, "hi \"there\" \xc3\xa9");
    cr_assert_eq(dgw_json_path_string(d, "author.id", buf, sizeof buf), 1);
    cr_assert_str_eq(buf, "7");
    cr_assert_eq(dgw_json_path_string(d, "type", buf, sizeof buf), -1,
                 "not a string");
    cr_assert_eq(dgw_json_path_string(d, "nope", buf, sizeof buf), -1);
    cr_assert_eq(dgw_json_path_string(d, "content", buf, 8), -1, "too small");
}

Test(json_path, malformed_input_stays_inside_d)
{
    /* Not JSON: any answer, but never a read outside the bytes (ASan). */
    static const char *const bad[] = {"{\"a\":", "{\"a\"", "{\"a\":\"x", "[",
                                      "{\"a\":{\"b\":[1,", "{\"a\\", "\"",
                                      "{\"a\":[\"\\"};
    static const char *const paths[] = {"a", "a.b", "a.b.0", "0", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = strlen(bad[i]);
        char *b = malloc(n);
        memcpy(b, bad[i], n);
        for (size_t j = 0; j < sizeof paths / sizeof *paths; j++) {
            dgw_span v;
            if (dgw_json_path((dgw_span){b, n}, paths[j], &v) !=
                DGW_JSON_INVALID)
                cr_assert(v.p >= b && v.p + v.n <= b + n);
        }
        free(b);
    }
}
