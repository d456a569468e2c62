/* Connection internals shared by loop.c and conn.c (not for apps). */
#ifndef MG_CONN_H
#define MG_CONN_H

#include "server.h"

mg_conn *mg_conn_new(mg_server *s, int fd, const char *peer);
/* Handles epoll readiness. */
void mg_conn_on_event(mg_conn *c, uint32_t events);
/* Checks core deadlines and write pauses. */
void mg_conn_sweep(mg_conn *c, uint64_t now);
/* Tries to make progress (read, hand to the app, write). */
void mg_conn_pump(mg_conn *c);
/* Frees a dead connection; calls the app's on_closed. */
void mg_conn_destroy(mg_conn *c, const char *why);

#endif
