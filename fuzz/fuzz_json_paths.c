/* fuzz_json_paths - the JSON scanner's kernels against each other, against
 * cJSON and an independent UTF-8 validator, and reads by path against the
 * member iterator.
 *
 * Input: the bytes to scan (a payload, or any JSON text).
 * For every kernel this CPU runs (scalar, SSE2, AVX2: json_scan.h):
 *   - dgw_json_value_isa: the same type, span and end as the scalar one;
 *   - dgw_json_is_value_isa: the same answer;
 *   - dgw_json_scan_payload_isa with op/d/s/t: the same verdict and the
 *     same field spans.
 * Then, once: BAD_UTF8 exactly when the reference validator refuses the
 * bytes; a value accepted is read by cJSON (RFC 8259 values are a subset
 * of what cJSON reads, see fuzz_payload.c for the escapes it differs on); a
 * payload accepted is a cJSON object holding the fields found, of the same
 * types; and for objects and arrays up to three levels down, every member
 * name without a dot and every index, alone and joined into paths, is found
 * by dgw_json_path where the iterator finds it, and dgw_json_paths finds
 * them all in one call as dgw_json_path does one by one; and on any bytes,
 * JSON or not, a few fixed paths stay inside the input. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "json_scan.h"

#define SHOW(s, n) (int)((n) > 160 ? 160 : (n)), (s)

static const char *const names[4] = {"op", "d", "s", "t"};

static void fields_init(dgw_json_field *f)
{
    for (int i = 0; i < 4; i++)
        f[i] = (dgw_json_field){.name = names[i]};
}

static dgw_json_verdict check_kernels(const char *s, size_t n,
                                      dgw_json_field *f0)
{
    const char *end = s + n;
    const char *p0 = s;
    dgw_span v0 = {0};
    dgw_json_type t0 = dgw_json_value_isa(DGW_JSON_ISA_SCALAR, &p0, end, &v0);
    bool w0 = dgw_json_is_value_isa(DGW_JSON_ISA_SCALAR, s, n);
    fields_init(f0);
    dgw_json_verdict r0 =
        dgw_json_scan_payload_isa(DGW_JSON_ISA_SCALAR, s, n, f0, 4);
    for (int k = DGW_JSON_ISA_SCALAR + 1; k < DGW_JSON_ISA_COUNT; k++) {
        dgw_json_isa isa = (dgw_json_isa)k;
        if (!dgw_json_isa_available(isa))
            continue;
        const char *name = dgw_json_isa_name(isa);
        const char *p = s;
        dgw_span v = {0};
        dgw_json_type t = dgw_json_value_isa(isa, &p, end, &v);
        FZ_CHECK(t == t0, "%s: value type %d, scalar %d: %.*s", name, t, t0,
                 SHOW(s, n));
        if (t != DGW_JSON_INVALID)
            FZ_CHECK(v.p == v0.p && v.n == v0.n && p == p0,
                     "%s: value span differs: %.*s", name, SHOW(s, n));
        FZ_CHECK(dgw_json_is_value_isa(isa, s, n) == w0,
                 "%s: is_value %d, scalar %d: %.*s", name, !w0, w0, SHOW(s, n));
        dgw_json_field f[4];
        fields_init(f);
        dgw_json_verdict r = dgw_json_scan_payload_isa(isa, s, n, f, 4);
        FZ_CHECK(r == r0, "%s: payload verdict %d, scalar %d: %.*s", name, r,
                 r0, SHOW(s, n));
        if (r != DGW_JSON_OK)
            continue;
        for (int i = 0; i < 4; i++)
            FZ_CHECK(f[i].type == f0[i].type && f[i].val.p == f0[i].val.p &&
                         f[i].val.n == f0[i].val.n,
                     "%s: field %s differs: %.*s", name, names[i], SHOW(s, n));
    }
    if (t0 != DGW_JSON_INVALID)
        FZ_CHECK(v0.p >= s && v0.n > 0 && v0.p + v0.n <= end && p0 == v0.p + v0.n,
                 "value span outside the input");
    return r0;
}

/* Whether cJSON read node j as a value of type t. */
static bool cjson_is(const cJSON *j, dgw_json_type t)
{
    switch (t) {
    case DGW_JSON_OBJECT: return cJSON_IsObject(j);
    case DGW_JSON_ARRAY: return cJSON_IsArray(j);
    case DGW_JSON_STRING: return cJSON_IsString(j);
    case DGW_JSON_NUMBER: return cJSON_IsNumber(j);
    case DGW_JSON_TRUE: return cJSON_IsTrue(j);
    case DGW_JSON_FALSE: return cJSON_IsFalse(j);
    case DGW_JSON_NULL: return cJSON_IsNull(j);
    default: return false;
    }
}

static bool has_u_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '\\' && s[i + 1] == 'u')
            return true;
    return false;
}

static void check_references(const char *s, size_t n, dgw_json_verdict r,
                             const dgw_json_field *f)
{
    bool utf8 = fz_utf8_valid((const uint8_t *)s, n);
    FZ_CHECK((r == DGW_JSON_BAD_UTF8) == !utf8,
             "verdict %d, reference UTF-8 check says %d: %.*s", r, utf8,
             SHOW(s, n));
    if (dgw_json_is_value(s, n))
        FZ_CHECK(fz_cjson_accepts(s, n), "scanner accepts, cJSON refuses: %.*s",
                 SHOW(s, n));
    if (r == DGW_JSON_NOT_OBJECT) {
        const char *q = s;
        while (q < s + n && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            q++;
        FZ_CHECK(q == s + n || *q != '{', "NOT_OBJECT for an object: %.*s",
                 SHOW(s, n));
    }
    if (r != DGW_JSON_OK)
        return;
    FZ_CHECK(dgw_json_is_value(s, n), "payload OK but not a value");
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (!j)
        return; /* a lone surrogate escape: see tricky() */
    FZ_CHECK(cJSON_IsObject(j), "payload OK, cJSON sees no object");
    for (int i = 0; i < 4; i++) {
        /* \u escapes: cJSON reads NUL and lone surrogates its own way. */
        if (f[i].type == DGW_JSON_INVALID || has_u_escape(s, n))
            continue;
        /* The scan keeps the last member of a name; cJSON's lookup finds
         * the first. */
        const cJSON *it = NULL;
        for (const cJSON *c = j->child; c; c = c->next)
            if (c->string && strcmp(c->string, names[i]) == 0)
                it = c;
        FZ_CHECK(it && cjson_is(it, f[i].type),
                 "field %s: type %d, cJSON's node %s", names[i], f[i].type,
                 it ? "differs" : "is missing");
    }
    cJSON_Delete(j);
}

/* The paths checked one by one, kept to be looked up all at once too. */
#define MANY 24
static char many[MANY][512];
static size_t nmany;

/* Every member (no dot in its name) and index under v, alone and as a
 * path from the root: dgw_json_path finds what iteration finds. */
static void check_paths(dgw_span root, dgw_span v, dgw_json_type t,
                        char *path, size_t plen, int depth)
{
    if (depth > 3 || (t != DGW_JSON_OBJECT && t != DGW_JSON_ARRAY))
        return;
    char seg[80];
    const char *p = v.p + 1, *end = v.p + v.n - 1;
    for (size_t i = 0; i < 64; i++) {
        dgw_span key = {0}, val;
        dgw_json_type vt;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
                           *p == ','))
            p++;
        if (p >= end)
            break;
        if (t == DGW_JSON_OBJECT) {
            FZ_CHECK(dgw_json_value(&p, end, &key) == DGW_JSON_STRING,
                     "member name is not a string");
            while (*p != ':')
                p++;
            p++;
        }
        vt = dgw_json_value(&p, end, &val);
        FZ_CHECK(vt != DGW_JSON_INVALID, "member of a valid value is invalid");
        long sn;
        if (t == DGW_JSON_OBJECT) {
            sn = dgw_json_unescape(key, seg, sizeof seg);
            /* "" as a whole path is the value itself; dots join names. */
            if (sn <= 0 || memchr(seg, '.', (size_t)sn) ||
                strlen(seg) != (size_t)sn)
                continue;
            /* The first member of that name is the one found. */
            dgw_span first;
            if (dgw_json_get(v, seg, &first) == DGW_JSON_INVALID ||
                first.p != val.p)
                continue;
        } else {
            sn = snprintf(seg, sizeof seg, "%zu", i);
        }
        dgw_span got;
        dgw_json_type gt = dgw_json_path(v, seg, &got);
        FZ_CHECK(gt == vt && got.p == val.p && got.n == val.n,
                 "path \"%s\": type %d, iteration %d", seg, gt, vt);
        if (plen + (size_t)sn + 2 > 400)
            continue;
        size_t nl = plen;
        if (plen)
            path[nl++] = '.';
        memcpy(path + nl, seg, (size_t)sn + 1);
        gt = dgw_json_path(root, path, &got);
        FZ_CHECK(gt == vt && got.p == val.p && got.n == val.n,
                 "path \"%s\" from the root: type %d, iteration %d", path, gt,
                 vt);
        if (nmany < MANY)
            memcpy(many[nmany++], path, nl + (size_t)sn + 1);
        check_paths(root, val, vt, path, nl + (size_t)sn, depth + 1);
        path[plen] = '\0';
    }
}

/* Paths on any bytes, JSON or not: whatever comes back is inside them
 * (ASan checks that nothing outside was read). */
static void check_paths_any(const char *s, size_t n)
{
    static const char *const any[] = {"a", "0", "a.b.0", "op", "d.t.1", ""};
    enum { N = sizeof any / sizeof *any };
    dgw_span out[N];
    dgw_json_type types[N];
    dgw_json_paths((dgw_span){s, n}, any, N, out, types);
    for (size_t i = 0; i < N; i++) {
        if (types[i] == DGW_JSON_INVALID)
            continue;
        FZ_CHECK(out[i].p >= s && out[i].n > 0 && out[i].p + out[i].n <= s + n,
                 "path \"%s\": span outside the input", any[i]);
        char buf[64];
        dgw_json_path_string((dgw_span){s, n}, any[i], buf, sizeof buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    dgw_json_field f[4];
    dgw_json_verdict r = check_kernels(s, size, f);
    check_references(s, size, r, f);
    check_paths_any(s, size);
    const char *p = s;
    dgw_span v;
    dgw_json_type t = dgw_json_value(&p, s + size, &v);
    if (t != DGW_JSON_INVALID) {
        char path[512] = "";
        nmany = 0;
        check_paths(v, v, t, path, 0, 0);
        /* All of them in one walk, plus one that is not there and the
         * root itself: the same answers as one at a time. */
        const char *list[MANY + 2];
        for (size_t i = 0; i < nmany; i++)
            list[i] = many[i];
        list[nmany] = "no.such.member";
        list[nmany + 1] = "";
        size_t k = nmany + 2, found = 0;
        dgw_span outs[MANY + 2];
        dgw_json_type types[MANY + 2];
        size_t nf = dgw_json_paths(v, list, k, outs, types);
        for (size_t i = 0; i < k; i++) {
            dgw_span one = {0};
            dgw_json_type ot = dgw_json_path(v, list[i], &one);
            FZ_CHECK(ot == types[i] &&
                         (ot == DGW_JSON_INVALID ||
                          (one.p == outs[i].p && one.n == outs[i].n)),
                     "paths[%zu] \"%s\": type %d, alone %d", i, list[i],
                     types[i], ot);
            found += ot != DGW_JSON_INVALID;
        }
        FZ_CHECK(nf == found, "dgw_json_paths counted %zu of %zu", nf, found);
    }
    return 0;
}
