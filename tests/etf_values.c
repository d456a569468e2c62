#include "etf_values.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static uint64_t next(etv_rng *r)
{
    /* xorshift64*: deterministic for a seed, on every machine. */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

static unsigned below(etv_rng *r, unsigned n) { return (unsigned)(next(r) % n); }

/* ------------------------------------------------------------------------ */
/* Text                                                                      */

void etv_text_free(etv_text *t)
{
    free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

static void put(etv_text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            abort();
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(etv_text *t, const char *s) { put(t, s, strlen(s)); }

static void putf(etv_text *t, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(t, buf, (size_t)n);
}

/* Decodes one UTF-8 code point (the generator only makes valid UTF-8). */
static uint32_t utf8_next(const char **pp)
{
    const unsigned char *p = (const unsigned char *)*pp;
    uint32_t c = *p++;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra)
        c &= 0x3F >> extra;
    while (extra--)
        c = c << 6 | (*p++ & 0x3F);
    *pp = (const char *)p;
    return c;
}

static void put_utf8(etv_text *t, uint32_t cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | cp >> 18);
        o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(t, o, n);
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */

static etv *node(etv_kind k)
{
    etv *v = xmalloc(sizeof *v);
    v->kind = k;
    return v;
}

static etv *str_node(const char *s, size_t n)
{
    etv *v = node(ETV_STR);
    v->s = xmalloc(n + 1);
    memcpy(v->s, s, n);
    v->n = n;
    return v;
}

static etv *int_node(bool neg, uint64_t mag)
{
    etv *v = node(ETV_INT);
    v->neg = neg && mag;
    v->mag = mag;
    return v;
}

static etv *float_node(double f)
{
    etv *v = node(ETV_FLOAT);
    v->f = f;
    return v;
}

static void add(etv *c, etv *key, etv *val)
{
    c->items = realloc(c->items, (c->count + 1) * sizeof *c->items);
    if (!c->items)
        abort();
    if (c->kind == ETV_OBJ) {
        c->keys = realloc(c->keys, (c->count + 1) * sizeof *c->keys);
        if (!c->keys)
            abort();
        c->keys[c->count] = key;
    }
    c->items[c->count++] = val;
}

static bool has_key(const etv *o, const char *s, size_t n)
{
    for (size_t i = 0; i < o->count; i++)
        if (o->keys[i]->n == n && memcmp(o->keys[i]->s, s, n) == 0)
            return true;
    return false;
}

void etv_free(etv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        etv_free(v->items[i]);
        if (v->keys)
            etv_free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

static const char *const field_names[] = {
    "id", "guild_id", "channel_id", "author", "username", "global_name",
    "discriminator", "avatar", "bot", "content", "timestamp",
    "edited_timestamp", "tts", "mention_everyone", "mentions",
    "mention_roles", "attachments", "embeds", "pinned", "type", "flags",
    "member", "roles", "nick", "joined_at", "premium_since", "deaf", "mute",
    "nonce", "referenced_message", "components", "position", "permissions",
    "status", "activities", "client_status", "since", "afk", "shard",
    "session_id", "resume_gateway_url", "heartbeat_interval", "v",
    "user_settings", "guilds", "unavailable", "application", "emoji",
    "name", "topic", "rate_limit_per_user", "bitrate", "user_limit",
    "parent_id", "last_message_id", "nsfw", "color", "hoist", "managed",
    "mentionable", "icon", "unicode_emoji", "tags", "width", "height",
    "proxy_url", "size", "filename", "content_type", "ephemeral",
    "duration_secs", "waveform", "url", "description", "\xc3\xa9t\xc3\xa9",
    "\xe6\x97\xa5\xe6\x9c\xac", "quote\"d", "back\\slash", "tab\tnew\nline",
    "", "\xf0\x9f\x98\x80 emoji"};

static const char *const words[] = {
    "hello", "", "MESSAGE_CREATE", "GUILD_CREATE", "online", "dnd",
    "https://cdn.discordapp.com/avatars/1/a.png", "2024-05-01T12:34:56.789000+00:00",
    "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89", "\"quoted\"", "back\\slash",
    "line\nbreak\ttab\rcr", "ctl\x01\x02\x1f\x7f", "slash/es", "a",
    "nil", "true", "false", "null", "\xc2\xa0nbsp", "\xef\xbf\xbf",
    "\xf4\x8f\xbf\xbf", "mixed \xce\xb1\xce\xb2\xce\xb3 text",
    /* Snowflake-shaped or nearly (DGW_ETF_SNOWFLAKE_INTEGERS). */
    "12345678901234567", "1234567890123456789", "18446744073709551615",
    "18446744073709551616", "01234567890123456789", "1234567890123456",
    "99999999999999999999"};

static bool word_is_literal(const char *s)
{
    return !strcmp(s, "nil") || !strcmp(s, "null") || !strcmp(s, "true") ||
           !strcmp(s, "false");
}

static size_t chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Erlang's scanner refuses noncharacters (U+FFFE, U+FFFF, ...) in atoms. */
static bool atom_ok(const char *s, size_t n)
{
    if (chars(s, n) > 255)
        return false;
    const char *p = s, *end = s + n;
    while (p < end) {
        uint32_t c = utf8_next(&p);
        if ((c & 0xFFFE) == 0xFFFE || (c >= 0xFDD0 && c <= 0xFDEF))
            return false;
    }
    return true;
}

static bool all_latin1(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    while (p < end)
        if (utf8_next(&p) > 0xFF)
            return false;
    return true;
}

static etv *random_string(etv_rng *r, bool key_position)
{
    etv *v;
    if (below(r, 6) == 0) {
        /* A longer string of random code points from a few ranges. */
        etv_text t = {0};
        unsigned len = below(r, 300);
        for (unsigned i = 0; i < len; i++) {
            static const uint32_t base[] = {0x20, 0x00, 0xA0, 0x400, 0x3040,
                                            0x1F300, 0x10000};
            static const uint32_t span[] = {0x5F, 0x20, 0x60, 0x100, 0x60,
                                            0x300, 0xFFFF};
            unsigned k = below(r, 7);
            uint32_t cp = base[k] + below(r, span[k]);
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                cp = 'x';
            put_utf8(&t, cp);
        }
        v = str_node(t.p ? t.p : "", t.len);
        etv_text_free(&t);
    } else {
        const char *w = words[below(r, sizeof words / sizeof *words)];
        v = str_node(w, strlen(w));
    }
    unsigned f = below(r, 4);
    if (f == 1 && atom_ok(v->s, v->n) &&
        (key_position || !word_is_literal(v->s)))
        v->flavour = ETV_AS_ATOM;
    else if (f == 2 && key_position && all_latin1(v->s, v->n))
        v->flavour = ETV_AS_CHARLIST;
    v->json_form = (uint8_t)below(r, 3);
    return v;
}

static etv *random_int(etv_rng *r)
{
    uint64_t x = next(r);
    switch (below(r, 9)) {
    case 0: return int_node(false, x % 256);
    case 1: return int_node(true, x % 300);
    case 2: return int_node(x & 1, x % 0x80000001u);
    case 3: return int_node(x & 1, (x >> 20) % (1ull << 40));
    case 4: /* snowflakes */
        return int_node(false, (1ull << 59) + (x >> 6));
    case 5: return int_node(false, UINT64_MAX - below(r, 3));
    case 6: return int_node(x & 1, (1ull << 53) - 1 + below(r, 3));
    case 7: return int_node(true, (x >> 1) | (1ull << 63));
    default: return int_node(x & 1, x >> below(r, 64));
    }
}

static etv *random_float(etv_rng *r)
{
    uint64_t x = next(r);
    double f;
    switch (below(r, 6)) {
    case 0: f = (double)(int64_t)(x % 20001 - 10000) / 4; break;
    case 1: f = (double)(x % 1000000) / 1000; break;
    case 2: f = 0.1 * (double)(x % 100); break;
    case 3: /* any finite double, subnormals included */
        memcpy(&f, &x, sizeof f);
        if (f != f || f - f != 0)
            f = 1.5;
        break;
    case 4: f = (x & 1 ? 1e300 : 1e-300) * (double)(x % 1000 + 1); break;
    default: f = (double)x / 3; break;
    }
    if (f == 0)
        f = 0.0; /* never -0.0: OTP 25 compares it equal to 0.0 */
    etv *v = float_node(f);
    v->json_form = (uint8_t)below(r, 3);
    return v;
}

static etv *random_key(etv_rng *r, const etv *obj)
{
    for (;;) {
        etv *k;
        unsigned c = below(r, 10);
        if (c < 6) {
            const char *w =
                field_names[below(r, sizeof field_names / sizeof *field_names)];
            k = str_node(w, strlen(w));
            unsigned f = below(r, 5);
            if (f == 1 && atom_ok(k->s, k->n))
                k->flavour = ETV_AS_ATOM;
            else if (f == 2 && all_latin1(k->s, k->n))
                k->flavour = ETV_AS_CHARLIST;
        } else if (c < 8) {
            /* An integer key: rendered as its digits. */
            etv *i = random_int(r);
            char d[24];
            int n = snprintf(d, sizeof d, "%s%llu", i->neg ? "-" : "",
                             (unsigned long long)i->mag);
            etv_free(i);
            k = str_node(d, (size_t)n);
            k->flavour = ETV_AS_INTEGER;
        } else {
            k = random_string(r, true);
        }
        k->json_form = (uint8_t)below(r, 3);
        if (!has_key(obj, k->s, k->n))
            return k;
        etv_free(k);
    }
}

static etv *random_value(etv_rng *r, int depth)
{
    unsigned c = below(r, depth > 0 ? 12 : 8);
    switch (c) {
    case 0: {
        etv *v = node(ETV_NULL);
        v->flavour = (uint8_t)below(r, 2);
        return v;
    }
    case 1: {
        etv *v = node(ETV_BOOL);
        v->b = below(r, 2);
        return v;
    }
    case 2:
    case 3: return random_int(r);
    case 4: return random_float(r);
    case 5:
    case 6:
    case 7: return random_string(r, false);
    case 8:
    case 9: {
        etv *v = node(ETV_ARR);
        v->flavour = below(r, 4) == 0 ? ETV_AS_TUPLE : ETV_AS_LIST;
        unsigned n = below(r, 4) == 0 ? 0 : below(r, 8);
        bool bytes = below(r, 4) == 0; /* all small ints: STRING_EXT */
        for (unsigned i = 0; i < n; i++)
            add(v, NULL, bytes ? int_node(false, below(r, 256))
                               : random_value(r, depth - 1));
        return v;
    }
    default: {
        etv *v = node(ETV_OBJ);
        unsigned n = below(r, 5) == 0 ? 0 : below(r, 10);
        for (unsigned i = 0; i < n; i++) {
            /* One call per statement: argument order is unspecified, and
             * the set must be the same with every compiler. */
            etv *k = random_key(r, v);
            add(v, k, random_value(r, depth - 1));
        }
        return v;
    }
    }
}

etv *etv_random(etv_rng *r, int depth)
{
    if (below(r, 3))
        return random_value(r, depth);
    /* A gateway payload. */
    static const char *const events[] = {"MESSAGE_CREATE", "GUILD_CREATE",
                                         "PRESENCE_UPDATE", "TYPING_START",
                                         "READY"};
    etv *p = node(ETV_OBJ);
    etv *k;
    k = str_node("op", 2);
    k->flavour = ETV_AS_ATOM;
    add(p, k, int_node(false, below(r, 3) ? 0 : below(r, 12)));
    k = str_node("d", 1);
    k->flavour = ETV_AS_ATOM;
    add(p, k, random_value(r, depth));
    k = str_node("s", 1);
    k->flavour = ETV_AS_ATOM;
    add(p, k, int_node(false, below(r, 100000)));
    k = str_node("t", 1);
    k->flavour = ETV_AS_ATOM;
    const char *ev = events[below(r, 5)];
    etv *t = str_node(ev, strlen(ev));
    t->flavour = ETV_AS_ATOM;
    add(p, k, t);
    return p;
}

static etv *nest(int levels, bool objects)
{
    etv *v = node(ETV_ARR);
    for (int i = 1; i < levels; i++) {
        etv *outer = node(objects ? ETV_OBJ : ETV_ARR);
        add(outer, objects ? str_node("k", 1) : NULL, v);
        v = outer;
    }
    return v;
}

size_t etv_edge_cases(etv **out, size_t max)
{
    size_t n = 0;
#define PUSH(x)                                                               \
    do {                                                                      \
        if (n < max)                                                          \
            out[n++] = (x);                                                   \
    } while (0)
    static const uint64_t mags[] = {0, 1, 127, 128, 255, 256, 65535, 65536,
                                    0x7fffffff, 0x80000000u, 0x80000001u,
                                    0xffffffffu, 0x100000000ull,
                                    (1ull << 53) - 1, 1ull << 53,
                                    (1ull << 53) + 1, 1ull << 63,
                                    UINT64_MAX - 1, UINT64_MAX,
                                    1234567890123456789ull};
    for (size_t i = 0; i < sizeof mags / sizeof *mags; i++) {
        PUSH(int_node(false, mags[i]));
        PUSH(int_node(true, mags[i]));
    }
    static const double fl[] = {0.0, 1.0, -1.0, 0.5, 0.1, 0.2, 0.3, 1e21,
                                1e20, 1e-7, 1e-6, 123456.789, 5e-324,
                                2.2250738585072014e-308, 1.7976931348623157e308,
                                -1.7976931348623157e308, 9007199254740993.0,
                                4294967296.5, 1e100, 3.141592653589793};
    for (size_t i = 0; i < sizeof fl / sizeof *fl; i++)
        for (uint8_t form = 0; form < 3; form++) {
            etv *v = float_node(fl[i]);
            v->json_form = form;
            PUSH(v);
        }
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        etv *v = str_node(words[i], strlen(words[i]));
        v->json_form = (uint8_t)(i % 3);
        PUSH(v);
    }
    PUSH(node(ETV_ARR));
    PUSH(node(ETV_OBJ));
    etv *t = node(ETV_ARR);
    t->flavour = ETV_AS_TUPLE;
    PUSH(t); /* {} */
    PUSH(nest(255, false));
    PUSH(nest(256, false));
    PUSH(nest(256, true));
    /* A 255-character atom and key (Erlang's longest). */
    char a[256];
    memset(a, 'a', 255);
    etv *at = str_node(a, 255);
    at->flavour = ETV_AS_ATOM;
    PUSH(at);
    /* Every byte a list can hold: STRING_EXT 0..255. */
    etv *bytes = node(ETV_ARR);
    for (unsigned i = 0; i < 256; i++)
        add(bytes, NULL, int_node(false, i));
    PUSH(bytes);
    /* A big payload, so that [compressed] really makes tag 80. */
    etv *big = node(ETV_ARR);
    for (unsigned i = 0; i < 400; i++) {
        etv *o = node(ETV_OBJ);
        add(o, str_node("id", 2), int_node(false, 1100000000000000000ull + i));
        add(o, str_node("content", 7), str_node("the same words again", 20));
        add(big, NULL, o);
    }
    PUSH(big);
#undef PUSH
    return n;
}

bool etv_byte_exact(const etv *v)
{
    if (v->kind == ETV_OBJ || v->kind == ETV_NULL || v->kind == ETV_BOOL)
        return false;
    for (size_t i = 0; i < v->count; i++)
        if (!etv_byte_exact(v->items[i]))
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Renderers                                                                 */

static void json_string(etv_text *t, const char *s, size_t n, uint8_t form)
{
    put(t, "\"", 1);
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *start = p;
        uint32_t c = utf8_next(&p);
        if (c == '"' || c == '\\') {
            put(t, "\\", 1);
            put(t, start, 1);
        } else if (c < 0x20 || (form == 1 && c >= 0x80)) {
            /* \u escapes, astral characters as surrogate pairs. */
            if (c >= 0x10000) {
                c -= 0x10000;
                putf(t, "\\u%04x\\u%04X", 0xD800 + (c >> 10),
                     0xDC00 + (c & 0x3FF));
            } else {
                putf(t, "\\u%04x", c);
            }
        } else if (form == 2 && c == '/') {
            put(t, "\\/", 2);
        } else {
            put(t, start, (size_t)(p - start));
        }
    }
    put(t, "\"", 1);
}

static void json_float(etv_text *t, double f, uint8_t form)
{
    char buf[64];
    snprintf(buf, sizeof buf, form == 1 ? "%.17e" : form == 2 ? "%.25g" : "%.17g",
             f);
    puts_(t, buf);
    if (!strpbrk(buf, ".eE"))
        puts_(t, ".0"); /* keep it a float */
}

static void json(const etv *v, etv_text *t, bool expected)
{
    switch (v->kind) {
    case ETV_NULL: puts_(t, "null"); break;
    case ETV_BOOL: puts_(t, v->b ? "true" : "false"); break;
    case ETV_INT: {
        bool quote = expected && v->mag > (1ull << 53);
        putf(t, "%s%s%llu%s", quote ? "\"" : "", v->neg ? "-" : "",
             (unsigned long long)v->mag, quote ? "\"" : "");
        break;
    }
    case ETV_FLOAT: json_float(t, v->f, expected ? 0 : v->json_form); break;
    case ETV_STR: json_string(t, v->s, v->n, expected ? 0 : v->json_form); break;
    case ETV_ARR:
        put(t, "[", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                put(t, ",", 1);
            json(v->items[i], t, expected);
        }
        put(t, "]", 1);
        break;
    case ETV_OBJ:
        put(t, "{", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                put(t, ",", 1);
            json_string(t, v->keys[i]->s, v->keys[i]->n,
                        expected ? 0 : v->keys[i]->json_form);
            put(t, ":", 1);
            json(v->items[i], t, expected);
        }
        put(t, "}", 1);
        break;
    }
}

void etv_json_expected(const etv *v, etv_text *t) { json(v, t, true); }
void etv_json_input(const etv *v, etv_text *t) { json(v, t, false); }

static void erl_binary(etv_text *t, const char *s, size_t n)
{
    put(t, "<<", 2);
    for (size_t i = 0; i < n; i++)
        putf(t, i ? ",%u" : "%u", (unsigned char)s[i]);
    put(t, ">>", 2);
}

static void erl_atom(etv_text *t, const char *s, size_t n)
{
    put(t, "'", 1);
    const char *p = s, *end = s + n;
    while (p < end) {
        uint32_t c = utf8_next(&p);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_')
            putf(t, "%c", (char)c);
        else
            putf(t, "\\x{%X}", c);
    }
    put(t, "'", 1);
}

static void erl_charlist(etv_text *t, const char *s, size_t n)
{
    put(t, "[", 1);
    const char *p = s, *end = s + n;
    for (bool first = true; p < end; first = false)
        putf(t, first ? "%u" : ",%u", utf8_next(&p));
    put(t, "]", 1);
}

enum { SIDE_DECODE, SIDE_CLIENT, SIDE_SERVER };

/* What DGW_ETF_SNOWFLAKE_INTEGERS turns into an integer. */
static bool snowflake_text(const etv *s)
{
    if (s->n < 17 || s->n > 20 || s->s[0] == '0')
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < s->n; i++) {
        unsigned d = (unsigned)(s->s[i] - '0');
        if (d > 9 || v > (~0ull - d) / 10)
            return false;
        v = v * 10 + d;
    }
    return true;
}

/* false: the term cannot be written as Erlang source (an atom key with a
 * noncharacter, which erl_scan refuses). */
static bool erl_string(etv_text *t, const etv *s, int side, bool key)
{
    uint8_t f = side == SIDE_DECODE ? s->flavour : ETV_AS_BINARY;
    if (side == SIDE_SERVER && key && chars(s->s, s->n) <= 255) {
        if (!atom_ok(s->s, s->n))
            return false;
        f = ETV_AS_ATOM;
    }
    if (side == SIDE_SERVER && !key && snowflake_text(s))
        f = ETV_AS_INTEGER;
    if (f == ETV_AS_ATOM)
        erl_atom(t, s->s, s->n);
    else if (f == ETV_AS_CHARLIST)
        erl_charlist(t, s->s, s->n);
    else if (f == ETV_AS_INTEGER)
        put(t, s->s, s->n);
    else
        erl_binary(t, s->s, s->n);
    return true;
}

static bool erl(const etv *v, etv_text *t, int side)
{
    bool ok = true;
    switch (v->kind) {
    case ETV_NULL:
        puts_(t, side == SIDE_DECODE && v->flavour == ETV_AS_NULL_ATOM ? "null"
                                                                      : "nil");
        break;
    case ETV_BOOL: puts_(t, v->b ? "true" : "false"); break;
    case ETV_INT:
        putf(t, "%s%llu", v->neg ? "-" : "", (unsigned long long)v->mag);
        break;
    case ETV_FLOAT: putf(t, "%.17e", v->f); break;
    case ETV_STR: ok = erl_string(t, v, side, false); break;
    case ETV_ARR: {
        bool tuple = side == SIDE_DECODE && v->flavour == ETV_AS_TUPLE;
        put(t, tuple ? "{" : "[", 1);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                put(t, ",", 1);
            ok &= erl(v->items[i], t, side);
        }
        put(t, tuple ? "}" : "]", 1);
        break;
    }
    case ETV_OBJ:
        put(t, "#{", 2);
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                put(t, ",", 1);
            ok &= erl_string(t, v->keys[i], side, true);
            put(t, "=>", 2);
            ok &= erl(v->items[i], t, side);
        }
        put(t, "}", 1);
        break;
    }
    return ok;
}

void etv_erl_decode_side(const etv *v, etv_text *t) { erl(v, t, SIDE_DECODE); }
void etv_erl_encode_side(const etv *v, etv_text *t) { erl(v, t, SIDE_CLIENT); }
bool etv_erl_server_side(const etv *v, etv_text *t)
{
    return erl(v, t, SIDE_SERVER);
}
