/* commands.h - the payloads a client sends (PROTOCOL.md 2-3), built as
 * JSON text into a caller's bounded writer.
 *
 * A leaf: it validates the caller's fields and writes bytes; whether and
 * when they are sent (rate limit, queue, state) is conn.c's business. A
 * writer that overflowed means the payload is over the gateway's 4096-byte
 * limit. */
#ifndef DGW_COMMANDS_H
#define DGW_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "dgw.h"
#include "json.h"

/* Room to build a command as JSON text. The gateway's 4096-byte limit is
 * on what is sent: under ETF the JSON can be longer than its encoding
 * (escapes, quoted keys), so the text gets room for four times that; the
 * limit itself is checked when the wire form is made (send.c). */
#define DGW_CMD_BUF (4 * DGW_MAX_SEND_PAYLOAD + 1)

/* True when the JSON text did not even fit DGW_CMD_BUF. */
static inline bool dgw_cmd_overflow(const dgw_jw *w)
{
    return w->overflow;
}

/* Op 2. Fields as in dgw_identify (the strings are the connection's
 * copies); os/browser/device default to "linux"/"libdgw"/"libdgw";
 * "compress": true with payload compression. */
void dgw_cmd_identify(const dgw_identify *id, bool payload_compress,
                      dgw_jw *w);
/* Op 6. seq < 0 is written as null. */
void dgw_cmd_resume(const char *token, const char *session_id, int64_t seq,
                    dgw_jw *w);
/* Op 1 with the last sequence number (< 0: null). */
void dgw_cmd_heartbeat(int64_t seq, dgw_jw *w);

/* The caller-facing commands. Each returns DGW_OK with the payload in w,
 * DGW_ERR_INVALID_ARGUMENT with *why naming the bad field, or
 * DGW_ERR_SEND_TOO_LARGE. */
dgw_err dgw_cmd_raw(int op, const char *d_json, size_t d_len, dgw_jw *w,
                    const char **why);
dgw_err dgw_cmd_presence(const dgw_presence *p, dgw_jw *w, const char **why);
dgw_err dgw_cmd_voice_state(const dgw_voice_state *v, dgw_jw *w,
                            const char **why);
dgw_err dgw_cmd_request_members(const dgw_request_members *r, dgw_jw *w,
                                const char **why);
dgw_err dgw_cmd_soundboard(const char *const *guild_ids, size_t n,
                           dgw_jw *w, const char **why);
dgw_err dgw_cmd_channel_info(const char *guild_id, unsigned fields, dgw_jw *w,
                             const char **why);

#endif
