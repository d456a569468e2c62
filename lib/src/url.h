/* url.h - the parts of a ws:// or wss:// URL a gateway connection needs. */
#ifndef DGW_URL_H
#define DGW_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DGW_URL_HOST_MAX 254   /* DNS names are at most 253 bytes */
#define DGW_URL_PATH_MAX 256

typedef struct dgw_url {
    bool tls;
    uint16_t port;
    char host[DGW_URL_HOST_MAX];  /* without brackets for IPv6 literals */
    bool host_is_ipv6;
    char path[DGW_URL_PATH_MAX];  /* "/" when empty; query and fragment cut */
} dgw_url;

/* Parses ws://, wss:// (and, for REST-style inputs, http:// and https://,
 * mapped to ws/wss). Returns false with a reason in err on failure. */
bool dgw_url_parse(const char *s, dgw_url *u, const char **err);

#endif
