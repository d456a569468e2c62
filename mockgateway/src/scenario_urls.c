/* The resume URLs a scenario can hand out in READY, besides the gateway's
 * own ({{url}}):
 *   {{dead_url}}        a loopback port that refuses connections (it was
 *                       bound, then closed), for a client that must fall
 *                       back to the gateway URL when the resume URL fails;
 *   {{downgraded_url}}  when the gateway serves wss://, a ws:// URL whose
 *                       port only listens: any connection there means the
 *                       client would have sent its token in clear text,
 *                       and fails the scenario. With plain ws:// there is
 *                       nothing to downgrade, and it is the gateway's URL. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scenario_internal.h"

static int loopback_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

void mg_scn_urls_init(mg_scenario_run *r)
{
    int port;
    r->decoy_fd = -1;
    snprintf(r->dead_url, sizeof r->dead_url, "%s", r->srv->ws_url);
    snprintf(r->downgraded_url, sizeof r->downgraded_url, "%s", r->srv->ws_url);
    int fd = loopback_socket(&port);
    if (fd >= 0) {
        /* Closed at once: connections to it are refused. */
        close(fd);
        snprintf(r->dead_url, sizeof r->dead_url, "ws://127.0.0.1:%d", port);
    }
    if (!r->srv->cfg.tls)
        return;
    fd = loopback_socket(&port);
    if (fd >= 0 && listen(fd, 4) == 0) {
        r->decoy_fd = fd;
        snprintf(r->downgraded_url, sizeof r->downgraded_url, "ws://127.0.0.1:%d", port);
    } else if (fd >= 0) {
        close(fd);
    }
}

void mg_scn_urls_free(mg_scenario_run *r)
{
    if (r->decoy_fd >= 0)
        close(r->decoy_fd);
    r->decoy_fd = -1;
}

const char *mg_scn_resume_url(const mg_scenario_run *r, const char *tmpl)
{
    if (tmpl && strcmp(tmpl, "{{dead_url}}") == 0)
        return r->dead_url;
    if (tmpl && strcmp(tmpl, "{{downgraded_url}}") == 0)
        return r->downgraded_url;
    return r->srv->ws_url;
}

int mg_scn_check_downgrade(mg_scenario_run *r, uint64_t now)
{
    if (r->decoy_fd < 0)
        return RUN_DONE;
    struct pollfd p = {r->decoy_fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0)
        return RUN_DONE;
    return mg_scn_failf(r, now, "the client connected to %s, a plain ws:// resume_gateway_url handed out on a "
                                "wss:// gateway: its RESUME would carry the token in clear text (PROTOCOL.md 3.4)",
                        r->downgraded_url);
}
