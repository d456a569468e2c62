/* fuzz_conn - the whole client state machine, driven by a script.
 *
 * Input: [setup][fail_after u16 if setup bit 3][op][args]...
 *   setup bits 0-1: 0/3 plain, 1 zlib-stream, 2 zstd-stream (zlib without
 *   zstd); bit 2: max_message_size 64 KiB instead of 1 MiB; bit 3: every
 *   allocation from the fail_after-th on fails (NOMEM paths); bits 4-5:
 *   configuration (default; shard + large_threshold + the IDENTIFY gate;
 *   encoding=etf with presence + odd strings; wss URL with tiny backoff
 *   and timeouts, and payload compression when there is no transport
 *   compression).
 * Each op is one byte: low 4 bits the kind, high 4 bits a
 * parameter `h`:
 *   0 server sends a canned payload (HELLO, READY, RESUMED, dispatch, op 1,
 *     op 7, op 9 true/false, ACK, unknown op, a close frame, a ping)
 *   1 server sends a payload from the input [chunk] as a message (compressed
 *     when the connection is), in frames of h*3 bytes (0: one frame)
 *   2 server sends raw bytes [chunk], fed in chunks of h bytes
 *   3 time passes: [u16] << (h & 3)*4 ms, deadlines run on the way
 *   4 caller sends op [u8] with d = [chunk]
 *   5 caller sends presence / voice state / request members / soundboard
 *     or channel info (op 43)
 *   6 caller closes with code [u16] and reason [chunk]
 *   7 EOF from the transport
 *   8 caller reconnects: dgw_conn_reconnect, start, and the server answers
 *     (h%4: 101, 101 + HELLO, 503 rejection, nothing yet)
 *   9 caller sends [u8] commands in a burst (rate limiting)
 *   10 server sends [u8] heartbeat requests (op 1) in a burst
 *   11 server answers the pending upgrade with a correct 101 (no-op unless
 *     UPGRADING)
 *   12 caller permits the IDENTIFY the gate holds (configuration 1 has
 *     identify_gate on)
 *   13 caller restores a saved session (h: seq; odd h: with a resume URL,
 *     h & 4: of the other scheme)
 *   14 caller reads the statistics (checked for consistency)
 * After every op the peer checks (fuzz_common.c): the state is valid, a
 * CLOSED event leaves the state CLOSED and nothing follows it, every byte
 * the client writes is a well-formed masked frame, text frames are JSON of
 * at most 4096 bytes without the token (except IDENTIFY/RESUME), at most
 * 120 text frames in any 60 s, nothing after the client's close frame,
 * dgw_conn_memory() equals the allocator's count and stays bounded, and
 * after handle_timeout() the next deadline is in the future. Caller strings
 * are made 7-bit ASCII first (see README: non-UTF-8 caller strings are
 * copied into frames unchecked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

/* A NUL-terminated 7-bit copy of a chunk; NULL when it holds the token. */
static char *cstr(const uint8_t *b, size_t n, char *buf, size_t cap)
{
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = (char)(b[i] & 0x7f);
        buf[i] = ch ? ch : ' ';
    }
    buf[n] = '\0';
    return strstr(buf, FZ_TOKEN) ? NULL : buf;
}

static void canned(fz_peer *p, fz_in *in, unsigned h)
{
    char b[512];
    static const uint32_t intervals[] = {41250, 1, 45, 1000, 600000, 0};
    static const uint16_t codes[] = {1000, 1001, 4000, 4004, 4007, 4009,
                                     4014, 1011, 4900, 3000};
    unsigned which = fz_u8(in);
    switch (which % 13) {
    case 0: {
        uint32_t iv = intervals[h % 6];
        if (iv == 0)
            iv = fz_u16(in);
        snprintf(b, sizeof b, "{\"op\":10,\"d\":{\"heartbeat_interval\":%u}}",
                 (unsigned)iv);
        break;
    }
    case 1:
        snprintf(b, sizeof b,
                 "{\"t\":\"READY\",\"s\":%u,\"op\":0,\"d\":{\"v\":10,"
                 "\"session_id\":\"sess-%u\",\"resume_gateway_url\":"
                 "\"ws://resume%u.test:%u/\"}}",
                 h, h, h % 3, 8000 + h);
        break;
    case 2:
        snprintf(b, sizeof b, "{\"t\":\"RESUMED\",\"s\":%u,\"op\":0,\"d\":{}}",
                 fz_u16(in));
        break;
    case 3:
        snprintf(b, sizeof b,
                 "{\"t\":\"MESSAGE_CREATE\",\"s\":%u,\"op\":0,\"d\":{"
                 "\"content\":\"hi\",\"id\":\"1\"}}",
                 fz_u16(in));
        break;
    case 4:
        snprintf(b, sizeof b, "{\"op\":1,\"d\":null}");
        break;
    case 5:
        snprintf(b, sizeof b, "{\"op\":7,\"d\":null}");
        break;
    case 6:
        snprintf(b, sizeof b, "{\"op\":9,\"d\":true}");
        break;
    case 7:
        snprintf(b, sizeof b, "{\"op\":9,\"d\":false}");
        break;
    case 8:
        snprintf(b, sizeof b, "{\"op\":11,\"d\":null}");
        break;
    case 9:
        snprintf(b, sizeof b, "{\"op\":%u,\"d\":{\"x\":[1,2]}}", 12 + h);
        break;
    case 10:
    case 11: {
        uint16_t code = which % 13 == 10 ? codes[h % 10] : fz_u16(in);
        uint8_t pl[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        uint8_t f[16];
        size_t n = fz_frame(f, true, 8, pl, 2);
        fz_feed(p, f, n, NULL, 0);
        return;
    }
    default: {
        uint8_t f[16];
        size_t n = fz_frame(f, true, 9, "hb", 2);
        fz_feed(p, f, n, NULL, 0);
        return;
    }
    }
    fz_send_str(p, b);
}

static void caller_command(fz_peer *p, fz_in *in, unsigned h)
{
    char s1[160], s2[160];
    const uint8_t *b;
    size_t n;
    switch (h % 4) {
    case 0: {
        dgw_presence pr = {0};
        pr.since_ms = (int64_t)fz_u16(in) - 1;
        n = fz_chunk(in, &b);
        pr.activities_json = h & 4 ? cstr(b, n, s1, sizeof s1) : NULL;
        n = fz_chunk(in, &b);
        pr.status = cstr(b, n, s2, sizeof s2);
        pr.afk = h & 8;
        if ((pr.activities_json || !(h & 4)) && pr.status)
            dgw_conn_update_presence(p->c, &pr, p->now);
        break;
    }
    case 1: {
        dgw_voice_state v = {0};
        n = fz_chunk(in, &b);
        v.guild_id = cstr(b, n, s1, sizeof s1);
        n = fz_chunk(in, &b);
        v.channel_id = h & 4 ? cstr(b, n, s2, sizeof s2) : NULL;
        v.self_mute = h & 8;
        if (v.guild_id)
            dgw_conn_update_voice_state(p->c, &v, p->now);
        break;
    }
    case 2: {
        dgw_request_members r = {0};
        r.guild_id = "81384788765712384";
        n = fz_chunk(in, &b);
        if (h & 4)
            r.query = cstr(b, n, s1, sizeof s1);
        else
            r.user_ids_json = cstr(b, n, s1, sizeof s1);
        n = fz_chunk(in, &b);
        r.nonce = h & 8 ? cstr(b, n, s2, sizeof s2) : NULL;
        r.limit = fz_u8(in);
        dgw_conn_request_guild_members(p->c, &r, p->now);
        break;
    }
    default: {
        static const char *const ids[] = {"1", "81384788765712384",
                                          "99999999999999999999"};
        if (h & 8) /* op 43, fields from the next byte (also invalid sets) */
            dgw_conn_request_channel_info(p->c, ids[h / 4 % 3], fz_u8(in) & 7,
                                          p->now);
        else
            dgw_conn_request_soundboard_sounds(p->c, ids, h / 4 % 4, p->now);
        break;
    }
    }
    fz_collect(p);
}

static void answer_upgrade(fz_peer *p, unsigned how)
{
    char resp[512];
    size_t n;
    switch (how) {
    case 0:
    case 1:
        n = fz_build_101(p, resp, sizeof resp);
        fz_feed(p, (const uint8_t *)resp, n, NULL, 0);
        if (how == 1 && dgw_conn_state(p->c) == DGW_STATE_WAIT_HELLO)
            fz_send_str(p, "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}");
        break;
    case 2: {
        static const char rej[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                  "Content-Length: 5\r\n\r\nbusy!";
        fz_feed(p, (const uint8_t *)rej, sizeof rej - 1, NULL, 0);
        break;
    }
    default:
        break;
    }
}

/* setup bits 4-5: what IDENTIFY carries. */
static void identify_variant(dgw_config *cfg, void *u)
{
    switch (*(unsigned *)u) {
    case 1:
        cfg->identify.shard_id = 3;
        cfg->identify.shard_count = 4;
        cfg->identify.large_threshold = 250;
        cfg->identify.intents = UINT64_MAX;
        cfg->identify_gate = true;
        break;
    case 2:
        cfg->encoding = DGW_ENCODING_ETF;
        cfg->identify.presence_json =
            "{\"since\":null,\"activities\":[{\"name\":\"x\",\"type\":0}],"
            "\"status\":\"dnd\",\"afk\":false}";
        cfg->identify.os = "Linux \"quoted\" \t";
        break;
    case 3:
        cfg->payload_compress = cfg->compress == DGW_COMPRESS_NONE;
        cfg->url = "wss://gateway.discord.gg:8443/some/path?v=6#frag";
        cfg->backoff_base_ms = 1;
        cfg->backoff_max_ms = 10;
        cfg->handshake_timeout_ms = 50;
        cfg->close_timeout_ms = 1;
        break;
    default:
        break;
    }
}

/* The accessors, on whatever state the connection is in. */
static void poke_accessors(fz_peer *p)
{
    dgw_conn *c = p->c;
    const char *sid = dgw_conn_session_id(c);
    FZ_CHECK(!sid || (sid[0] && strlen(sid) < 128), "session id");
    FZ_CHECK(dgw_conn_can_resume(c) == (sid != NULL), "can_resume");
    const char *url = dgw_conn_resume_url(c);
    FZ_CHECK(!url || sid, "resume URL without a session");
    if (url)
        p->sink += strlen(url);
    FZ_CHECK(dgw_conn_last_seq(c) >= -1, "last_seq");
    FZ_CHECK(dgw_conn_latency(c) >= -1, "latency");
    FZ_CHECK(dgw_conn_heartbeat_interval(c) <= 600000, "interval");
    dgw_endpoint ep;
    dgw_conn_endpoint(c, &ep);
    FZ_CHECK(ep.host && ep.host[0] && ep.port, "endpoint");
    p->sink += strlen(dgw_strerror(-(int)(p->sink % 80))) +
               strlen(dgw_state_name(dgw_conn_state(c)));
}

static uint64_t closing_since; /* when the state became CLOSING, or 0 */

static void check_after_op(fz_peer *p)
{
    poke_accessors(p);
    if (dgw_conn_state(p->c) != DGW_STATE_CLOSING) {
        closing_since = 0;
    } else if (!closing_since) {
        closing_since = p->now;
    } else {
        uint64_t limit = p->cfg.close_timeout_ms ? p->cfg.close_timeout_ms
                                                 : 5000;
        FZ_CHECK(p->now - closing_since <= limit,
                 "still CLOSING %llu ms after our close frame (timeout %llu)",
                 (unsigned long long)(p->now - closing_since),
                 (unsigned long long)limit);
    }
    dgw_state st = dgw_conn_state(p->c);
    if (st == DGW_STATE_CLOSED)
        FZ_CHECK(p->nclosed == 1, "state CLOSED after %zu CLOSED events",
                 p->nclosed);
    else
        FZ_CHECK(p->nclosed == 0, "CLOSED event but state %s",
                 dgw_state_name(st));
    if (st == DGW_STATE_CLOSED || st == DGW_STATE_IDLE)
        FZ_CHECK(dgw_conn_next_timeout(p->c) == DGW_NO_TIMEOUT,
                 "a deadline in state %s", dgw_state_name(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t setup = fz_u8(&in);
    dgw_compress comp = DGW_COMPRESS_NONE;
    if ((setup & 3) == 1)
        comp = DGW_COMPRESS_ZLIB_STREAM;
    if ((setup & 3) == 2) {
#ifdef DGW_HAVE_ZSTD
        comp = DGW_COMPRESS_ZSTD_STREAM;
#else
        comp = DGW_COMPRESS_ZLIB_STREAM;
#endif
    }
    size_t max = setup & 4 ? 1u << 16 : 1u << 20;
    long fail_after = setup & 8 ? (long)fz_u16(&in) : -1;
    unsigned id_variant = setup >> 4 & 3;
    fz_peer p;
    closing_since = 0;
    fz_peer_init(&p, comp, max, identify_variant, &id_variant);
    if (!p.c)
        return 0;
    /* Allocation failures start after dgw_conn_new(), so that the
     * connection exists; counted from there. */
    p.fail_after = fail_after;
    p.mem_bound = (10u << 20) + 2 * max + (1u << 20);
    if (!fz_start(&p))
        goto out;
    char buf[512];
    for (int ops = 0; in.n && ops < 2000; ops++) {
        uint8_t op = fz_u8(&in);
        unsigned h = op >> 4;
        const uint8_t *b;
        size_t n;
        if (getenv("FZ_DEBUG"))
            fprintf(stderr, "-- op %u h %u (state %s)\n", op & 15, h,
                    dgw_state_name(dgw_conn_state(p.c)));
        switch (op & 15) {
        case 0:
            canned(&p, &in, h);
            break;
        case 1:
            n = fz_chunk(&in, &b);
            fz_send_payload(&p, b, n, h * 3);
            break;
        case 2: {
            n = fz_chunk(&in, &b);
            uint8_t split = (uint8_t)h;
            fz_feed(&p, b, n, &split, 1);
            break;
        }
        case 3:
            fz_advance(&p, (uint64_t)fz_u16(&in) << ((h & 3) * 4));
            break;
        case 4: {
            int o = fz_u8(&in);
            n = fz_chunk(&in, &b);
            const char *d = cstr(b, n, buf, sizeof buf);
            if (d)
                dgw_conn_send(p.c, o, d, strlen(d), p.now);
            fz_collect(&p);
            break;
        }
        case 5:
            caller_command(&p, &in, h);
            break;
        case 6: {
            uint16_t code = fz_u16(&in);
            n = fz_chunk(&in, &b);
            const char *r = h & 1 ? cstr(b, n, buf, sizeof buf) : NULL;
            if (!(h & 1) || r) {
                dgw_state st = dgw_conn_state(p.c);
                dgw_err e = dgw_conn_close(p.c, code, r, p.now);
                fz_collect(&p);
                if (e == DGW_OK && (code == 1000 || code == 1001))
                    FZ_CHECK(!dgw_conn_can_resume(p.c),
                             "session kept after close(%u)", code);
                if (e == DGW_OK && st >= DGW_STATE_WAIT_HELLO &&
                    st <= DGW_STATE_CONNECTED)
                    FZ_CHECK(dgw_conn_state(p.c) == DGW_STATE_CLOSING ||
                                 dgw_conn_state(p.c) == DGW_STATE_CLOSED,
                             "close() OK but state %s",
                             dgw_state_name(dgw_conn_state(p.c)));
            }
            break;
        }
        case 7:
            fz_eof(&p);
            break;
        case 8: {
            uint32_t wait = 0;
            bool fatal = p.closed_fatal &&
                         dgw_conn_state(p.c) == DGW_STATE_CLOSED;
            dgw_err e = dgw_conn_reconnect(p.c, p.now, &wait);
            fz_collect(&p);
            if (fatal)
                FZ_CHECK(e == DGW_ERR_FATAL_CLOSE,
                         "reconnect after a fatal close returned %d", (int)e);
            if (e != DGW_OK)
                break;
            FZ_CHECK(wait <= 3600000,
                     "reconnect wait %u ms over an hour", wait);
            p.now += wait;
            if (fz_start(&p))
                answer_upgrade(&p, h % 4);
            break;
        }
        case 9: {
            unsigned k = fz_u8(&in);
            for (unsigned i = 0; i < k; i++)
                dgw_conn_send(p.c, 3 + (int)(i % 2), "{}", 2, p.now);
            fz_collect(&p);
            break;
        }
        case 10: {
            unsigned k = fz_u8(&in);
            for (unsigned i = 0; i < k; i++) {
                if (dgw_conn_state(p.c) == DGW_STATE_CLOSED)
                    break;
                fz_send_str(&p, "{\"op\":1,\"d\":null}");
            }
            break;
        }
        case 11:
            if (dgw_conn_state(p.c) == DGW_STATE_UPGRADING && p.request_done)
                answer_upgrade(&p, 0);
            break;
        case 12: {
            dgw_err e = dgw_conn_identify_permit(p.c, p.now);
            /* NOMEM: the IDENTIFY could not be built under the injected
             * allocation failures. */
            FZ_CHECK(e == DGW_OK || e == DGW_ERR_STATE || e < DGW_ERR_STATE ||
                         (e == DGW_ERR_NOMEM && p.fail_after >= 0),
                     "identify_permit returned %d", (int)e);
            fz_collect(&p);
            break;
        }
        case 13: {
            const char *url = !(h & 1) ? NULL
                              : (h & 4) ? "wss://other.test/"
                                        : "ws://resume.test/";
            dgw_state st = dgw_conn_state(p.c);
            dgw_err e = dgw_conn_restore_session(p.c, "saved-session", h, url);
            FZ_CHECK(st == DGW_STATE_IDLE ? e == DGW_OK || e == DGW_ERR_NOMEM
                                          : e == DGW_ERR_STATE,
                     "restore_session in %s returned %d", dgw_state_name(st),
                     (int)e);
            if (e == DGW_OK)
                FZ_CHECK(dgw_conn_can_resume(p.c) &&
                             dgw_conn_last_seq(p.c) == (int64_t)h,
                         "restored session not kept");
            fz_collect(&p);
            break;
        }
        case 14: {
            dgw_stats s;
            dgw_conn_stats(p.c, &s);
            FZ_CHECK(s.heartbeats_acked <= s.heartbeats_sent,
                     "%llu ACKs counted for %llu beats",
                     (unsigned long long)s.heartbeats_acked,
                     (unsigned long long)s.heartbeats_sent);
            uint64_t ended = 0;
            for (int k = 0; k < DGW_END__COUNT; k++)
                ended += s.ended_by[k];
            FZ_CHECK(ended <= s.attempts, "%llu attempts ended of %llu",
                     (unsigned long long)ended, (unsigned long long)s.attempts);
            FZ_CHECK(s.commands_dropped <= s.commands_queued,
                     "more commands dropped than queued");
            FZ_CHECK(s.dispatches <= s.events, "dispatches over events");
            p.sink += s.bytes_in + s.bytes_out;
            break;
        }
        default:
            break;
        }
        check_after_op(&p);
    }
    fz_eof(&p);
    check_after_op(&p);
out:
    fz_peer_free(&p);
    return 0;
}
