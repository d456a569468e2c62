/*
 * resolve.c - a few cached getaddrinfo() answers. See resolve.h.
 */
#include "resolve.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void forget(resolved_host *h)
{
    if (h->list != NULL)
        freeaddrinfo(h->list);
    memset(h, 0, sizeof *h);
}

/* The slot holding host:port, else the one to reuse (free or oldest). */
static resolved_host *slot_for(resolver *r, const char *host, uint16_t port)
{
    resolved_host *victim = &r->slot[0];
    for (size_t i = 0; i < RESOLVE_SLOTS; i++) {
        resolved_host *h = &r->slot[i];
        if (h->list != NULL && h->port == port && strcmp(h->host, host) == 0)
            return h;
        if (h->list == NULL ? victim->list != NULL : h->at < victim->at)
            victim = h;
    }
    forget(victim);
    return victim;
}

const struct addrinfo *resolve(resolver *r, const char *host, uint16_t port,
                               uint64_t now, unsigned turn, char *err,
                               size_t errlen)
{
    if (strlen(host) >= sizeof r->slot[0].host) {
        snprintf(err, errlen, "host name too long");
        return NULL;
    }
    resolved_host *h = slot_for(r, host, port);
    if (h->list != NULL && now - h->at >= RESOLVE_TTL_MS)
        forget(h);
    if (h->list == NULL) {
        char portstr[8];
        snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
        struct addrinfo hints = {0};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int gai = getaddrinfo(host, portstr, &hints, &h->list);
        if (gai != 0) {
            h->list = NULL;
            snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
            return NULL;
        }
        snprintf(h->host, sizeof h->host, "%s", host);
        h->port = port;
        h->at = now;
        h->count = 0;
        for (const struct addrinfo *ai = h->list; ai != NULL; ai = ai->ai_next)
            h->count++;
    }
    const struct addrinfo *ai = h->list;
    for (size_t k = turn % h->count; k > 0; k--)
        ai = ai->ai_next;
    return ai;
}

void resolver_free(resolver *r)
{
    for (size_t i = 0; i < RESOLVE_SLOTS; i++)
        forget(&r->slot[i]);
}
