#include "url.h"

#include <string.h>
#include <strings.h>

static bool starts_with_ci(const char *s, const char *prefix, size_t *n)
{
    *n = strlen(prefix);
    return strncasecmp(s, prefix, *n) == 0;
}

bool dgw_url_parse(const char *s, dgw_url *u, const char **err)
{
    size_t n;
    memset(u, 0, sizeof *u);
    if (!s) {
        *err = "no URL";
        return false;
    }
    if (starts_with_ci(s, "wss://", &n) || starts_with_ci(s, "https://", &n)) {
        u->tls = true;
        u->port = 443;
    } else if (starts_with_ci(s, "ws://", &n) ||
               starts_with_ci(s, "http://", &n)) {
        u->tls = false;
        u->port = 80;
    } else {
        *err = "URL scheme must be ws:// or wss://";
        return false;
    }
    const char *p = s + n;
    const char *host_end;
    const char *after;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (!host_end) {
            *err = "unterminated IPv6 literal in URL";
            return false;
        }
        p++;
        after = host_end + 1;
        u->host_is_ipv6 = true;
    } else {
        host_end = p + strcspn(p, ":/?#");
        after = host_end;
    }
    size_t hl = (size_t)(host_end - p);
    if (hl == 0 || hl >= sizeof u->host) {
        *err = hl ? "URL host name too long" : "URL has no host";
        return false;
    }
    for (size_t i = 0; i < hl; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= ' ' || ch == '@' || ch == '\\' || ch >= 0x7f) {
            *err = "URL host has an invalid character";
            return false;
        }
    }
    memcpy(u->host, p, hl);
    u->host[hl] = '\0';
    p = after;
    if (*p == ':') {
        p++;
        unsigned long port = 0;
        const char *d = p;
        while (*p >= '0' && *p <= '9' && port <= 65535)
            port = port * 10 + (unsigned long)(*p++ - '0');
        if (p == d || port == 0 || port > 65535) {
            *err = "URL port is not a number in 1-65535";
            return false;
        }
        u->port = (uint16_t)port;
    }
    if (*p && *p != '/' && *p != '?' && *p != '#') {
        *err = "unexpected character after URL host";
        return false;
    }
    size_t pl = strcspn(p, "?#");
    if (pl == 0) {
        strcpy(u->path, "/");
    } else {
        if (pl >= sizeof u->path) {
            *err = "URL path too long";
            return false;
        }
        for (size_t i = 0; i < pl; i++) {
            unsigned char ch = (unsigned char)p[i];
            if (ch <= ' ' || ch >= 0x7f) {
                *err = "URL path has an invalid character";
                return false;
            }
        }
        memcpy(u->path, p, pl);
        u->path[pl] = '\0';
    }
    return true;
}
