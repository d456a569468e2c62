#include "testkit.h"

#include <bearssl.h>
#include <stdio.h>
#include <string.h>

static void base64(const uint8_t *in, size_t n, char *out)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 |
                     (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}

size_t tk_101_response(const char *request, char *out, size_t cap)
{
    static const char field[] = "Sec-WebSocket-Key: ";
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    const char *k = strstr(request, field);
    if (!k)
        return 0;
    k += sizeof field - 1;
    size_t kl = strcspn(k, "\r\n");
    br_sha1_context sha;
    uint8_t digest[br_sha1_SIZE];
    br_sha1_init(&sha);
    br_sha1_update(&sha, k, kl);
    br_sha1_update(&sha, guid, sizeof guid - 1);
    br_sha1_out(&sha, digest);
    char accept[32];
    base64(digest, sizeof digest, accept);
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t tk_frame(uint8_t *out, bool fin, uint8_t opcode, const void *payload,
                size_t n, const uint8_t *mask)
{
    size_t h = 0;
    uint8_t mbit = mask ? 0x80 : 0;
    out[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (n < 126) {
        out[h++] = (uint8_t)(mbit | n);
    } else if (n < 65536) {
        out[h++] = mbit | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = mbit | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++)
        out[h + i] = p[i] ^ (mask ? mask[i % 4] : 0);
    return h + n;
}
