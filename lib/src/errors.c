/* errors.c - names for error codes, states and gateway close codes. */
#include <stddef.h>

#include "dgw.h"

const char *dgw_strerror(int err)
{
    switch ((dgw_err)err) {
    case DGW_OK: return "success";
    case DGW_ERR_NOMEM: return "out of memory";
    case DGW_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DGW_ERR_STATE: return "not valid in the connection's current state";
    case DGW_ERR_URL: return "unusable gateway URL";
    case DGW_ERR_UNSUPPORTED: return "not supported by this build";
    case DGW_ERR_HTTP: return "malformed HTTP upgrade response";
    case DGW_ERR_HTTP_TOO_LARGE: return "HTTP upgrade response headers too large";
    case DGW_ERR_HANDSHAKE: return "WebSocket handshake failed";
    case DGW_ERR_REJECTED: return "WebSocket upgrade rejected by the server";
    case DGW_ERR_WS_PROTOCOL: return "WebSocket protocol violation";
    case DGW_ERR_WS_TOO_LARGE: return "WebSocket message too large";
    case DGW_ERR_WS_UTF8: return "invalid UTF-8 in a text message";
    case DGW_ERR_INFLATE: return "corrupt compressed data";
    case DGW_ERR_INFLATE_TOO_LARGE: return "payload decompresses past the size cap";
    case DGW_ERR_INFLATE_TRUNCATED: return "compressed stream ended inside a payload";
    case DGW_ERR_PAYLOAD: return "malformed gateway payload";
    case DGW_ERR_HELLO: return "malformed HELLO";
    case DGW_ERR_READY: return "malformed READY";
    case DGW_ERR_ZOMBIE: return "no heartbeat ACK (zombie connection)";
    case DGW_ERR_TIMEOUT: return "timed out";
    case DGW_ERR_EOF: return "connection ended without a close frame";
    case DGW_ERR_SEND_TOO_LARGE: return "payload over 4096 bytes";
    case DGW_ERR_RATE_LIMITED: return "send rate limit reached, queue full";
    case DGW_ERR_FATAL_CLOSE: return "closed with a code that forbids reconnecting";
    }
    return "unknown error";
}

const char *dgw_state_name(dgw_state s)
{
    switch (s) {
    case DGW_STATE_IDLE: return "IDLE";
    case DGW_STATE_UPGRADING: return "UPGRADING";
    case DGW_STATE_WAIT_HELLO: return "WAIT_HELLO";
    case DGW_STATE_IDENTIFYING: return "IDENTIFYING";
    case DGW_STATE_RESUMING: return "RESUMING";
    case DGW_STATE_CONNECTED: return "CONNECTED";
    case DGW_STATE_CLOSING: return "CLOSING";
    case DGW_STATE_CLOSED: return "CLOSED";
    }
    return "?";
}

/* PROTOCOL.md section 4. */
static const struct {
    uint16_t code;
    bool fatal;
    bool keeps_session;
    const char *name;
} close_codes[] = {
    {4000, false, true, "unknown error"},
    {4001, false, true, "unknown opcode"},
    {4002, false, true, "decode error"},
    {4003, false, false, "not authenticated"}, /* or "session invalidated" */
    {4004, true, false, "authentication failed"},
    {4005, false, true, "already authenticated"},
    {4007, false, false, "invalid seq"},
    {4008, false, true, "rate limited"},
    {4009, false, false, "session timed out"},
    {4010, true, false, "invalid shard"},
    {4011, true, false, "sharding required"},
    {4012, true, false, "invalid API version"},
    {4013, true, false, "invalid intents"},
    {4014, true, false, "disallowed intents"},
};

static int find(uint16_t code)
{
    for (size_t i = 0; i < sizeof close_codes / sizeof close_codes[0]; i++)
        if (close_codes[i].code == code)
            return (int)i;
    return -1;
}

bool dgw_close_code_is_fatal(uint16_t code)
{
    int i = find(code);
    return i >= 0 && close_codes[i].fatal;
}

bool dgw_close_code_keeps_session(uint16_t code)
{
    int i = find(code);
    return i < 0 || close_codes[i].keeps_session;
}

const char *dgw_close_code_name(uint16_t code)
{
    int i = find(code);
    return i >= 0 ? close_codes[i].name : NULL;
}
