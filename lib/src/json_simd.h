/* json_simd.h - the block kernel, written once, compiled per instruction
 * set: json_scan_sse2.c and json_scan_avx2.c each define the type js_utf8
 * and JS_KERNEL, include this file, then define the four functions
 * declared below.
 *
 * Each 64-byte block becomes bit masks (one bit per byte): quotes,
 * backslashes, structure {}[]:, white space, control bytes, bytes >= 0x80.
 * From them, with carries from block to block:
 *   - escaped bytes (the byte after an unescaped backslash; backslashes
 *     are rare, so a short scalar loop that also checks each escape);
 *   - inside-string bytes: a prefix XOR of the unescaped quotes, from the
 *     opening quote up to, not including, the closing one;
 *   - tokens: structure outside strings, opening quotes, and the first
 *     byte of each run of other bytes (a number or literal, or garbage);
 *   - errors: control bytes in strings or outside white space, backslashes
 *     outside strings, bad escapes.
 * The grammar walk then visits tokens only: most bytes (string contents)
 * are never looked at one by one. Numbers and literals are checked by the
 * same scalar code as the scalar kernel (json_scan.h). UTF-8 is checked on
 * the same blocks when asked. Every error is a position, so a value that
 * ends inside a block is not failed by what comes after it. */
#ifndef JS_KERNEL
#error "define JS_KERNEL and js_utf8 before including json_simd.h"
#endif

typedef struct js_masks {
    uint64_t quote, bslash, op, ws, ctl, hi;
} js_masks;

/* Classifies p[0..63]. */
static inline __attribute__((always_inline)) void js_classify(const uint8_t *p,
                                                             js_masks *m);
static inline void js_utf8_init(js_utf8 *u);
/* Adds p[0..63] (hi: its bytes >= 0x80) to the UTF-8 check. */
static inline void js_utf8_block(js_utf8 *u, const uint8_t *p, uint64_t hi);
/* True when every block so far was UTF-8 and the last ended a character. */
static inline bool js_utf8_ok(const js_utf8 *u);

/* What carries from block to block. The walk keeps the block's position
 * and its tokens in locals; this is read and written once per block. */
typedef struct js_state {
    const char *end;
    uint64_t err;        /* bytes of the block no JSON may hold there */
    uint64_t in_string;  /* all ones when the last block ended in a string */
    uint64_t atom_tail;  /* 1 when it ended in a number/literal run */
    uint64_t escaped;    /* 1 when this block's first byte is escaped */
    unsigned mode;
    js_utf8 utf8;
} js_state;

/* The first four bytes of s as a word, in memory order. */
static inline uint32_t js_word(const char *s)
{
    uint32_t w;
    memcpy(&w, s, 4);
    return w;
}

/* Bytes after which a number or literal may end. */
static const bool js_delim[256] = {
    [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true,
    ['{'] = true, ['}'] = true, ['['] = true, [']'] = true,
    [':'] = true, [','] = true, ['"'] = true,
};

static inline uint64_t js_prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* The escaped bytes of the block at base; *carry: in, whether its first
 * byte is escaped; out, whether the next block's is. Bad escapes are
 * marked in *err at their backslash. */
static uint64_t js_escapes(const char *base, const char *end, uint64_t bs,
                           uint64_t *carry, uint64_t *err)
{
    uint64_t esc = *carry;
    uint64_t b = bs & ~esc; /* an escaped backslash escapes nothing */
    *carry = 0;
    while (b) {
        unsigned k = (unsigned)__builtin_ctzll(b);
        if (!dgw_js_escape_ok(base + k + 1, end))
            *err |= 1ull << k;
        if (k == 63) {
            *carry = 1;
        } else {
            esc |= 1ull << (k + 1);
            b &= ~(1ull << (k + 1));
        }
        b &= b - 1;
    }
    return esc;
}

static uint64_t js_load_tail(js_state *s, const char *base);

/* Classifies the 64 bytes at p (base in the input): returns the tokens,
 * leaves the errors in s->err. Inlined into the walk: it runs once per
 * block, as often as a handful of tokens. */
static inline __attribute__((always_inline)) uint64_t
js_block(js_state *s, const char *base, const uint8_t *p)
{
    js_masks m;
    js_classify(p, &m);
    if (s->mode & DGW_JS_UTF8)
        js_utf8_block(&s->utf8, p, m.hi);
    uint64_t err = 0, esc = 0;
    if (m.bslash | s->escaped) {
        uint64_t carry = s->escaped;
        esc = js_escapes(base, s->end, m.bslash, &carry, &err);
        s->escaped = carry;
    }
    uint64_t quote = m.quote & ~esc;
    uint64_t in_str = js_prefix_xor(quote) ^ s->in_string;
    s->in_string = (uint64_t)((int64_t)in_str >> 63);
    err |= (m.ctl & (in_str | ~m.ws)) | (m.bslash & ~in_str);
    uint64_t other = ~(m.ws | m.op | quote | in_str);
    uint64_t atom_start = other & ~((other << 1) | s->atom_tail);
    s->atom_tail = other >> 63;
    s->err = err;
    return (m.op & ~in_str) | (quote & in_str) | atom_start;
}

/* The block at base, which may be the short tail of the input (then
 * padded with white space: no tokens, no errors). */
static inline __attribute__((always_inline)) uint64_t
js_load(js_state *s, const char *base)
{
    if ((size_t)(s->end - base) < 64)
        return js_load_tail(s, base);
    return js_block(s, base, (const uint8_t *)base);
}

static __attribute__((noinline)) uint64_t js_load_tail(js_state *s,
                                                       const char *base)
{
    uint8_t pad[64];
    memset(pad, ' ', sizeof pad);
    memcpy(pad, base, (size_t)(s->end - base));
    return js_block(s, base, pad);
}

/* A number or literal at p, ending where a token may follow. The common
 * shapes (a literal, a short integer) are decided here with a word
 * compare or a few byte tests; the rest goes to the scalar grammar. */
static inline __attribute__((always_inline)) bool js_atom_ok(const char *p,
                                                             const char *end)
{
    if (end - p >= 8) {
        uint32_t w;
        memcpy(&w, p, 4);
        const char *q = NULL;
        if (w == js_word("true") || w == js_word("null"))
            q = p + 4;
        else if (w == js_word("fals") && p[4] == 'e')
            q = p + 5;
        else if (dgw_js_digit(p[0]) && p[0] != '0' && js_delim[(uint8_t)p[1]])
            return true;
        else if (p[0] == '0' && js_delim[(uint8_t)p[1]])
            return true;
        if (q)
            return js_delim[(uint8_t)*q];
    }
    dgw_json_type t;
    const char *q = dgw_js_atom(p, end, &t);
    return q && (q == end || js_delim[(uint8_t)*q]);
}

dgw_json_verdict JS_KERNEL(const char *p, const char *end, unsigned mode,
                           dgw_json_field *fields, size_t nfields,
                           const char **vend)
{
    js_state s;
    memset(&s, 0, sizeof s);
    s.end = end;
    s.mode = mode;
    js_utf8_init(&s.utf8);
    const char *blk = p;
    uint64_t tokens = js_load(&s, blk);

    uint64_t stack[DGW_JSON_MAX_DEPTH / 64]; /* 1: object, 0: array */
    unsigned depth = 0;
    unsigned top = 0; /* 1: members of the outer object are matched */
    dgw_json_field *field = NULL;
    const char *tok, *key, *val = p;
    char c;

    /* The next token into tok and c; a block with errors is only left
     * when the value goes on past it. */
#define NEXT()                                                                \
    do {                                                                      \
        while (!tokens) {                                                     \
            if (s.err || (size_t)(end - blk) <= 64)                           \
                goto bad;                                                     \
            blk += 64;                                                        \
            tokens = js_load(&s, blk);                                        \
        }                                                                     \
        tok = blk + __builtin_ctzll(tokens);                                  \
        tokens &= tokens - 1;                                                 \
        c = *tok;                                                             \
    } while (0)

    /* A value starts at tok: a string or number or literal is whole
     * (strings were checked by the masks); a container is entered. */
#define VALUE(then)                                                           \
    do {                                                                      \
        if (c == '"')                                                         \
            goto then;                                                        \
        if (c == '{')                                                         \
            goto obj_open;                                                    \
        if (c == '[')                                                         \
            goto arr_open;                                                    \
        if (!js_atom_ok(tok, end))                                            \
            goto bad;                                                         \
        goto then;                                                            \
    } while (0)

    NEXT();
    if (c == '[')
        goto arr_open;
    if (nfields) {
        /* The outer object has its own copy of the member loop, so that
         * the inner ones pay nothing for the matching. */
        top = 1;
        stack[0] = 1;
        depth = 1;
        NEXT();
        if (c == '}')
            goto close;
        if (c != '"')
            goto bad;
        goto top_key;
    }
obj_open:
    if (depth >= DGW_JSON_MAX_DEPTH)
        goto bad;
    stack[depth / 64] |= 1ull << (depth % 64);
    depth++;
    NEXT();
    if (c == '}')
        goto close;
    if (c != '"')
        goto bad;
obj_key:
    NEXT();
    if (c != ':')
        goto bad;
    NEXT();
    VALUE(obj_next);
obj_next:
    NEXT();
    if (c == ',') {
        NEXT();
        if (c != '"')
            goto bad;
        goto obj_key;
    }
    if (c == '}')
        goto close;
    goto bad;
arr_open:
    if (depth >= DGW_JSON_MAX_DEPTH)
        goto bad;
    stack[depth / 64] &= ~(1ull << (depth % 64));
    depth++;
    NEXT();
    if (c == ']')
        goto close;
arr_value:
    VALUE(arr_next);
arr_next:
    NEXT();
    if (c == ',') {
        NEXT();
        goto arr_value;
    }
    if (c == ']')
        goto close;
    goto bad;
top_key:
    key = tok;
    NEXT();
    if (c != ':')
        goto bad;
    field = dgw_js_match(fields, nfields,
                         (dgw_span){key, (size_t)(dgw_js_trim_back(key, tok) - key)});
    NEXT();
    val = tok;
    VALUE(top_next);
top_next:
    NEXT();
    if (field) {
        field->val.p = val;
        field->val.n = (size_t)(dgw_js_trim_back(val, tok) - val);
        field->type = dgw_js_type_of(*val);
        field = NULL;
    }
    if (c == ',') {
        NEXT();
        if (c != '"')
            goto bad;
        goto top_key;
    }
    if (c == '}')
        goto close;
    goto bad;
close:
    if (--depth == 0)
        goto done;
    if (depth == top)
        goto top_next;
    if ((stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1)
        goto obj_next;
    goto arr_next;
#undef NEXT
#undef VALUE

done: {
    unsigned k = (unsigned)(tok - blk);
    uint64_t upto = (2ull << k) - 1; /* bytes up to the closing bracket */
    if (s.err & upto)
        goto bad;
    *vend = tok + 1;
    if (!(mode & DGW_JS_WHOLE))
        return DGW_JSON_OK;
    bool trailing = (tokens | (s.err & ~upto)) != 0;
    /* The rest must be white space; with UTF-8 on, it is read to the end
     * whatever it holds, as the verdict depends on all of it. */
    while ((size_t)(end - blk) > 64 && (!trailing || (mode & DGW_JS_UTF8))) {
        blk += 64;
        trailing |= (js_load(&s, blk) | s.err) != 0;
    }
    if ((mode & DGW_JS_UTF8) && !js_utf8_ok(&s.utf8))
        return DGW_JSON_BAD_UTF8;
    return trailing ? DGW_JSON_TRAILING : DGW_JSON_OK;
}
bad:
    return DGW_JSON_BAD_SYNTAX;
}
