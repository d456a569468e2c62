#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

uint64_t mg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void mg_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0)
            break;
        p += r;
        n -= (size_t)r;
    }
    /* getrandom only fails on ancient kernels; the ids need uniqueness,
     * not secrecy, so a clock-seeded fallback is enough. */
    uint64_t x = mg_now_ms() ^ (uint64_t)(uintptr_t)buf;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

void mg_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t tmp[64];
    if (nbytes > sizeof tmp)
        nbytes = sizeof tmp;
    mg_random_bytes(tmp, nbytes);
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[tmp[i] >> 4];
        out[2 * i + 1] = hex[tmp[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

char *mg_redact(const char *s, size_t len, const char *const *secrets)
{
    size_t rl = strlen(MG_REDACTED);
    size_t cap = len + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t i = 0;
    while (i < len) {
        size_t hit = 0;
        for (const char *const *sp = secrets; sp && *sp; sp++) {
            size_t sl = strlen(*sp);
            if (sl > 0 && sl <= len - i && memcmp(s + i, *sp, sl) == 0) {
                hit = sl;
                break;
            }
        }
        size_t add = hit ? rl : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(out);
                return NULL;
            }
            out = nb;
        }
        if (hit) {
            memcpy(out + n, MG_REDACTED, rl);
            n += rl;
            i += hit;
        } else {
            out[n++] = s[i++];
        }
    }
    out[n] = '\0';
    return out;
}

int mg_strieq_n(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}
