/* fuzz_frames - the WebSocket frame reader of an open connection.
 *
 * Input: [mode][nsplit][split bytes...][server bytes...]
 *   mode bit 0: HELLO first (the connection is IDENTIFYING, heartbeats run)
 *   mode bit 1: HELLO and READY first (CONNECTED)
 *   mode bit 2: small max_message_size (4 KiB) to hit the size caps
 *   mode bit 3: EOF at the end instead of only letting time pass
 * The server bytes are fed through dgw_conn_recv in chunks whose sizes
 * cycle through the split bytes (0 = the rest at once). Events are drained
 * and checked, then time passes. */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t mode = fz_u8(&in);
    const uint8_t *splits;
    size_t nsplits = fz_take(&in, fz_u8(&in) % 16, &splits);

    fz_peer p;
    fz_peer_init(&p, DGW_COMPRESS_NONE, mode & 4 ? 4096 : 1u << 20, NULL,
                 NULL);
    if (!p.c)
        return 0;
    if (fz_connect(&p)) {
        if (mode & 3)
            fz_send_str(&p, "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}");
        if (mode & 2)
            fz_send_str(&p, "{\"t\":\"READY\",\"s\":1,\"op\":0,\"d\":{"
                            "\"session_id\":\"s1\",\"resume_gateway_url\":"
                            "\"ws://resume.test/\"}}");
        fz_feed(&p, in.p, in.n, splits, nsplits);
        fz_advance(&p, 1000);
        if (mode & 8)
            fz_eof(&p);
        else
            fz_advance(&p, 60000);
    }
    fz_peer_free(&p);
    return 0;
}
