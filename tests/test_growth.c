/* How buffers grow: a large message costs at most 1.125 times its size
 * (doubling cost up to twice), an exact reservation costs exactly that,
 * and a stream of small compressed messages does not allocate per
 * message. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef DGW_HAVE_ZSTD
#include <zstd.h>
#endif

#include "buf.h"
#include "decompress.h"

/* A counting allocator: bytes out now, the most ever, and calls. */
typedef struct counter {
    size_t now, peak, calls;
} counter;

static void *c_alloc(void *u, size_t n)
{
    counter *c = u;
    c->calls++;
    c->now += n;
    if (c->now > c->peak)
        c->peak = c->now;
    return malloc(n);
}

static void *c_realloc(void *u, void *p, size_t o, size_t n)
{
    counter *c = u;
    c->calls++;
    c->now = c->now - o + n;
    if (c->now > c->peak)
        c->peak = c->now;
    return realloc(p, n);
}

static void c_free(void *u, void *p, size_t n)
{
    counter *c = u;
    c->now -= n;
    free(p);
}

static void counting_mem(dgw_mem *m, counter *c)
{
    memset(c, 0, sizeof *c);
    dgw_allocator a = {c_alloc, c_realloc, c_free, c};
    dgw_mem_init(m, &a);
}

Test(growth, capacity_doubles_then_grows_by_an_eighth)
{
    cr_assert_eq(dgw_buf_grown_cap(0, 1), 256);
    cr_assert_eq(dgw_buf_grown_cap(256, 257), 512);
    cr_assert_eq(dgw_buf_grown_cap(40000, 40001), DGW_BUF_DOUBLE_MAX,
                 "doubling stops at the threshold, not past it");
    cr_assert_eq(dgw_buf_grown_cap(1u << 20, (1u << 20) + 1),
                 (1u << 20) + (1u << 17));
    cr_assert_eq(dgw_buf_grown_cap(1u << 20, 3u << 20), 3u << 20,
                 "never less than asked");
    cr_assert_eq(dgw_buf_grown_cap(SIZE_MAX - 8, SIZE_MAX - 1), SIZE_MAX,
                 "no overflow");
}

Test(growth, a_large_message_holds_at_most_an_eighth_more)
{
    counter c;
    dgw_mem m;
    counting_mem(&m, &c);
    dgw_buf b = {0};
    static uint8_t chunk[4096];
    size_t total = 16u << 20;
    for (size_t len = 0; len < total; len += sizeof chunk) {
        cr_assert_eq(dgw_buf_append(&m, &b, chunk, sizeof chunk, total), DGW_OK);
        size_t bound = b.len * 9 / 8 > DGW_BUF_DOUBLE_MAX ? b.len * 9 / 8
                                                          : DGW_BUF_DOUBLE_MAX;
        cr_assert_leq(b.cap, bound, "cap %zu for %zu bytes", b.cap, b.len);
    }
    cr_assert_leq(c.peak, total + total / 8, "peak %zu for a 16 MiB message",
                  c.peak);
    dgw_buf_free(&m, &b);
    cr_assert_eq(m.in_use, 0);
}

Test(growth, an_exact_reservation_allocates_just_that)
{
    counter c;
    dgw_mem m;
    counting_mem(&m, &c);
    dgw_buf b = {0};
    size_t n = (16u << 20) + 263;
    cr_assert_eq(dgw_buf_reserve(&m, &b, n, n), DGW_OK);
    cr_assert_eq(b.cap, n);
    cr_assert_eq(c.peak, n);
    cr_assert_eq(dgw_buf_reserve(&m, &b, n + 1, n), DGW_ERR_WS_TOO_LARGE);
    dgw_buf_free(&m, &b);
}

/* What ws.c does with a decoder: feed a message, end it, hand the
 * payload over, then empty the buffer (freed if it outgrew keep). */
static size_t calls_for_small_messages(dgw_compress kind)
{
    counter c;
    dgw_mem m;
    counting_mem(&m, &c);
    dgw_decoder d;
    dgw_decoder_init(&d, &m, kind);
    cr_assert_eq(dgw_decoder_reset(&d), DGW_OK);
    dgw_buf out = {0};
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit(&z, 6);
#ifdef DGW_HAVE_ZSTD
    ZSTD_CStream *zs = ZSTD_createCStream();
    ZSTD_initCStream(zs, 3);
#endif
    char msg[700];
    uint8_t wire[1024];
    size_t calls_after_warmup = 0;
    for (int i = 0; i < 200; i++) {
        int n = snprintf(msg, sizeof msg,
                         "{\"op\":0,\"s\":%d,\"t\":\"MESSAGE_CREATE\",\"d\":"
                         "{\"content\":\"message number %d of the test\"}}",
                         i, i);
        memset(msg + n, ' ', sizeof msg - (size_t)n); /* ~700 bytes each */
        size_t wn;
        if (kind == DGW_COMPRESS_ZLIB_STREAM) {
            z.next_in = (Bytef *)msg;
            z.avail_in = sizeof msg;
            z.next_out = wire;
            z.avail_out = sizeof wire;
            deflate(&z, Z_SYNC_FLUSH);
            wn = sizeof wire - z.avail_out;
        } else {
#ifdef DGW_HAVE_ZSTD
            ZSTD_inBuffer in = {msg, sizeof msg, 0};
            ZSTD_outBuffer ob = {wire, sizeof wire, 0};
            while (ZSTD_compressStream2(zs, &ob, &in, ZSTD_e_flush) != 0)
                ;
            wn = ob.pos;
#else
            wn = 0;
#endif
        }
        const char *why = NULL;
        cr_assert_eq(dgw_decoder_feed(&d, wire, wn, &out, 1u << 20, &why),
                     DGW_OK, "%s", why ? why : "");
        cr_assert_eq(dgw_decoder_message_end(&d, &out, 1u << 20, &why), 1);
        cr_assert_eq(dgw_buf_live(&out), sizeof msg);
        cr_assert(memcmp(out.p + out.off, msg, sizeof msg) == 0);
        dgw_buf_reset(&m, &out, 4096);
        if (i == 9)
            calls_after_warmup = c.calls;
    }
    size_t calls = c.calls - calls_after_warmup;
    deflateEnd(&z);
#ifdef DGW_HAVE_ZSTD
    ZSTD_freeCStream(zs);
#endif
    dgw_buf_free(&m, &out);
    dgw_decoder_free(&d);
    cr_assert_eq(m.in_use, 0);
    return calls;
}

Test(growth, small_zlib_messages_do_not_allocate_each_time)
{
    size_t calls = calls_for_small_messages(DGW_COMPRESS_ZLIB_STREAM);
    cr_assert_eq(calls, 0, "%zu allocations for 190 messages", calls);
}

#ifdef DGW_HAVE_ZSTD
Test(growth, small_zstd_messages_do_not_allocate_each_time)
{
    /* Asking the buffer for a whole free chunk before zstd's drain call
     * at the end of each message grew it past the 4 KiB kept between
     * messages: a realloc and a free per message. */
    size_t calls = calls_for_small_messages(DGW_COMPRESS_ZSTD_STREAM);
    cr_assert_eq(calls, 0, "%zu allocations for 190 messages", calls);
}
#endif
