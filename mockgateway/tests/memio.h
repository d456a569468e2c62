/* A connection transport in memory (mg_conn_io): what the test or fuzz
 * target puts in `in` is what the server reads, in chunks of at most
 * `chunk` bytes; what the server sends lands in `out`, while `room` allows.
 * The server's code path is the production one: only recv/send differ. */
#ifndef MG_TEST_MEMIO_H
#define MG_TEST_MEMIO_H

#include <stddef.h>

#include "buf.h"
#include "server.h"

typedef struct mg_memio {
    mg_buf in;     /* bytes from the client, not yet read by the server */
    size_t chunk;  /* most bytes one recv returns (0: no limit) */
    int eof;       /* once `in` is empty, recv returns EOF (else: would block) */
    mg_buf out;    /* bytes the server sent */
    size_t room;   /* send accepts this many more bytes (SIZE_MAX: no limit) */
    int shut_write, closed;
} mg_memio;

extern const mg_conn_io mg_memio_ops;

/* A new connection on s (a detached server, mg_server_init_detached) whose
 * transport is m. Returns it or NULL. */
mg_conn *mg_memio_connect(mg_server *s, mg_memio *m);
/* Appends client bytes and tells the connection it is readable. */
void mg_memio_push(mg_conn *c, const void *p, size_t n);
void mg_memio_free(mg_memio *m);

#endif
