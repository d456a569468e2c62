/* Malformed input shared by test_server.c and the battery: client frames
 * the server must answer with a close code, and payloads the default mode
 * must close on. */
#ifndef MG_TEST_ATTACKS_H
#define MG_TEST_ATTACKS_H

#include <stddef.h>
#include <stdint.h>

typedef struct mg_bad_frame {
    const char *what;
    uint8_t bytes[24]; /* as sent (masked where a client must mask) */
    size_t len;
    int code; /* the close code the server answers with */
} mg_bad_frame;

extern const mg_bad_frame mg_bad_frames[];
extern const size_t mg_nbad_frames;

/* Writes bf into buf, then masked heartbeats while they fit in cap: the
 * server then has unread input when it ends the connection. Returns the
 * length. */
size_t mg_bad_frame_with_tail(const mg_bad_frame *bf, uint8_t *buf, size_t cap);

typedef struct mg_bad_payload {
    const char *what;
    const char *json;
    int code;
} mg_bad_payload;

/* Sent right after HELLO on a new connection. */
extern const mg_bad_payload mg_bad_payloads[];
extern const size_t mg_nbad_payloads;

#endif
