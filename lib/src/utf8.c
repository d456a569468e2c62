#include "utf8.h"

#include <string.h>

bool dgw_utf8_feed(dgw_utf8 *u, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (u->need == 0) {
            /* Fast path: runs of ASCII, 32 then 8 bytes at a time. */
            while (n - i >= 32) {
                uint64_t w[4];
                memcpy(w, p + i, 32);
                if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull)
                    break;
                i += 32;
            }
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i >= n)
                break;
            uint8_t b = p[i++];
            if (b < 0x80)
                continue;
            u->lo = 0x80;
            u->hi = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                u->need = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                u->need = 2;
                if (b == 0xE0)
                    u->lo = 0xA0;      /* no overlong forms */
                else if (b == 0xED)
                    u->hi = 0x9F;      /* no UTF-16 surrogates */
            } else if (b >= 0xF0 && b <= 0xF4) {
                u->need = 3;
                if (b == 0xF0)
                    u->lo = 0x90;
                else if (b == 0xF4)
                    u->hi = 0x8F;      /* nothing past U+10FFFF */
            } else {
                return false;
            }
        } else {
            uint8_t b = p[i++];
            if (b < u->lo || b > u->hi)
                return false;
            u->lo = 0x80;
            u->hi = 0xBF;
            u->need--;
        }
    }
    return true;
}

bool dgw_utf8_valid_str(const char *s)
{
    return !s || dgw_utf8_valid(s, strlen(s));
}
