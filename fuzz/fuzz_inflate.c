/* fuzz_inflate - transport decompression (zlib-stream, zstd-stream).
 *
 * Input: [mode][records...]
 *   mode bit 0: zstd-stream instead of zlib-stream (zlib when the build has
 *               no zstd)
 *   mode bit 1: drive the decoder API (decompress.h) directly instead of a
 *               connection
 *   mode bits 2-3: max_message_size 1 MiB, 64 KiB, 4 KiB, 256 B
 * A record is [ctl][len][bytes] (len: one byte, 0xff = two more, big
 * endian): ctl bits 0-1 pick the frame (0 binary message start,
 * 1 continuation, 2 text message, 3 ping), bit 2 is FIN, bit 3 sends the
 * record's bytes raw (no frame header: lets a frame header be split or
 * broken). Every frame goes through dgw_conn_recv in 1..16-byte chunks when
 * ctl bit 4 is set, else whole. So one compressed payload can be cut across
 * any number of WebSocket frames and messages, as the seeds do with real
 * compressed streams. */
#include <stdlib.h>
#include <string.h>

#include "decompress.h"
#include "fuzz_common.h"

static const size_t caps[4] = {1u << 20, 1u << 16, 4096, 256};

static void direct(dgw_compress kind, size_t max, fz_in *in)
{
    dgw_mem m;
    dgw_mem_init(&m, NULL);
    dgw_decoder d;
    dgw_decoder_init(&d, &m, kind);
    if (dgw_decoder_reset(&d) != DGW_OK)
        return;
    dgw_buf out = {0};
    while (in->n) {
        uint8_t ctl = fz_u8(in);
        const uint8_t *b;
        size_t n = fz_chunk(in, &b);
        const char *err = NULL;
        int r = dgw_decoder_feed(&d, b, n, &out, max, &err);
        FZ_CHECK(dgw_buf_live(&out) <= max, "decoder wrote %zu > %zu",
                 dgw_buf_live(&out), max);
        if (r != DGW_OK) {
            FZ_CHECK(r < 0 && err, "feed failed (%d) without a reason", r);
            break;
        }
        if (ctl & 4) {
            r = dgw_decoder_message_end(&d, &out, max, &err);
            FZ_CHECK(r <= 1, "message_end returned %d", r);
            if (r < 0)
                break;
            if (r == 1)
                dgw_buf_reset(&m, &out, 8192);
        }
        if (ctl & 8) {
            /* A new connection: the context restarts. */
            if (dgw_decoder_reset(&d) != DGW_OK)
                break;
            dgw_buf_reset(&m, &out, 0);
        }
    }
    dgw_buf_free(&m, &out);
    dgw_decoder_free(&d);
    FZ_CHECK(m.in_use == 0, "decoder leaked %zu bytes", m.in_use);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    dgw_compress kind = DGW_COMPRESS_ZLIB_STREAM;
#ifdef DGW_HAVE_ZSTD
    if (mode & 1)
        kind = DGW_COMPRESS_ZSTD_STREAM;
#endif
    size_t max = caps[(mode >> 2) & 3];
    if (mode & 2) {
        direct(kind, max, &in);
        return 0;
    }
    fz_peer p;
    fz_peer_init(&p, kind, max, NULL, NULL);
    if (!p.c)
        return 0;
    /* zlib's window and zstd's (capped at 8 MiB) plus the message. */
    p.mem_bound = (10u << 20) + 2 * max;
    static const uint8_t opcodes[4] = {2, 0, 1, 9};
    static const uint8_t small[] = {1, 3, 7, 2, 16, 5};
    uint8_t *frame = malloc(65536 + 14);
    if (frame && fz_connect(&p)) {
        while (in.n && dgw_conn_state(p.c) != DGW_STATE_CLOSED) {
            uint8_t ctl = fz_u8(&in);
            const uint8_t *b;
            size_t n = fz_chunk(&in, &b);
            size_t w;
            if (ctl & 8) {
                memcpy(frame, b, n);
                w = n;
            } else {
                w = fz_frame(frame, ctl & 4, opcodes[ctl & 3], b, n);
            }
            fz_feed(&p, frame, w, ctl & 16 ? small : NULL,
                    ctl & 16 ? sizeof small : 0);
        }
        fz_advance(&p, 100);
        fz_eof(&p);
    }
    free(frame);
    fz_peer_free(&p);
    return 0;
}
