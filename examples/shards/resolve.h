/*
 * resolve.h - host names resolved once per minute, not once per
 * connection.
 *
 * getaddrinfo() blocks, and in a one-thread loop a blocked lookup stalls
 * every shard's heartbeats. All shards connect to one or a few hosts
 * (the gateway and its resume URLs), so a small cache makes the blocking
 * rare: one lookup per host per RESOLVE_TTL_MS. A port that must never
 * block would resolve in a helper thread or with an asynchronous resolver
 * (c-ares) and feed the answer back into the loop.
 */
#ifndef SHARDS_RESOLVE_H
#define SHARDS_RESOLVE_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVE_TTL_MS 60000
#define RESOLVE_SLOTS 8

typedef struct resolved_host {
    char host[256];
    uint16_t port;
    struct addrinfo *list;
    size_t count;
    uint64_t at;
} resolved_host;

typedef struct resolver {
    resolved_host slot[RESOLVE_SLOTS];
} resolver;

/* The turn-th address (modulo their number) of host:port: a shard whose
 * connect failed asks for the next one. NULL, with a reason in err, when
 * the name does not resolve. */
const struct addrinfo *resolve(resolver *r, const char *host, uint16_t port,
                               uint64_t now, unsigned turn, char *err,
                               size_t errlen);
void resolver_free(resolver *r);

#endif
