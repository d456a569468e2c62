/* The server as a process for the tests: started on 127.0.0.1:0 with the
 * test options (and any extra ones), spoken to with the raw WebSocket
 * client of wsclient.h. */
#include "server_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MG_EXE
#error "MG_EXE must name the mockgateway binary"
#endif

int server_pid, port;
char cert_dir[64];

void start(const char *const *extra)
{
    const char *args[48] = {"--listen", "127.0.0.1:0", "--heartbeat-interval", "500", "--log-level", "error",
                            "--message-rate", "0", "--upgrade-timeout", "400"};
    int n = 10;
    for (int i = 0; extra && extra[i]; i++) {
        cr_assert_lt(n, 47, "too many options for the fixture");
        args[n++] = extra[i];
    }
    args[n] = NULL;
    server_pid = tws_spawn_server(MG_EXE, args, &port);
    cr_assert_gt(server_pid, 0, "mockgateway did not print its URL");
}

void start_default(void) { start(NULL); }

void stop(void)
{
    if (server_pid > 0)
        cr_expect_eq(tws_stop_server(server_pid), 0, "clean exit on SIGTERM");
    server_pid = 0;
}

void start_tls(void)
{
    snprintf(cert_dir, sizeof cert_dir, "/tmp/mg-test-certs-XXXXXX");
    cr_assert_not_null(mkdtemp(cert_dir));
    char cmd[512], cert[128], key[128];
    snprintf(cmd, sizeof cmd, "sh '%s' '%s' >/dev/null", MG_MAKE_CERTS, cert_dir);
    cr_assert_eq(system(cmd), 0, "make-test-certs.sh failed");
    snprintf(cert, sizeof cert, "%s/server.pem", cert_dir);
    snprintf(key, sizeof key, "%s/server.key", cert_dir);
    const char *extra[] = {"--tls", "--cert", cert, "--key", key, NULL};
    start(extra);
}

void stop_tls(void)
{
    stop();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cert_dir);
    cr_expect_eq(system(cmd), 0);
    cert_dir[0] = '\0';
}

/* TCP (or TLS, under the TLS fixture) to the server. */
int connect_any(tws *c)
{
    if (!cert_dir[0])
        return tws_connect(c, port);
    char cert[128];
    snprintf(cert, sizeof cert, "%s/server.pem", cert_dir);
    return tws_connect_tls(c, port, cert);
}

long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Opens a WebSocket and returns the HELLO's parsed JSON. */
cJSON *open_ws(tws *c, const char *query)
{
    char head[1024];
    cr_assert_eq(connect_any(c), 0);
    int st = tws_upgrade(c, query, head, sizeof head);
    cr_assert_eq(st, 101, "upgrade status %d: %s", st, head);
    cr_assert(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "%s", head);
    uint8_t *p;
    size_t n;
    int code;
    int op = tws_read_message(c, &p, &n, &code, 3000);
    cr_assert_eq(op, 1, "HELLO must be a text frame (got %d)", op);
    cJSON *j = cJSON_ParseWithLength((char *)p, n);
    free(p);
    cr_assert_not_null(j);
    return j;
}

void send_json(tws *c, const char *json) { cr_assert_eq(tws_send_frame(c, 1, json, strlen(json), 1), 0); }

/* Reads messages until op (and t, if given) or close; returns the JSON or NULL with *close_code. */
cJSON *read_until(tws *c, int want_op, const char *want_t, int *close_code)
{
    for (;;) {
        uint8_t *p;
        size_t n;
        int op = tws_read_message(c, &p, &n, close_code, 4000);
        if (op < 0 || op == 8) {
            if (op == 8)
                free(p);
            return NULL;
        }
        cJSON *j = cJSON_ParseWithLength((char *)p, n);
        free(p);
        const cJSON *o = cJSON_GetObjectItem(j, "op"), *t = cJSON_GetObjectItem(j, "t");
        if (cJSON_IsNumber(o) && o->valueint == want_op &&
            (!want_t || (cJSON_IsString(t) && strcmp(t->valuestring, want_t) == 0)))
            return j;
        cJSON_Delete(j);
    }
}

int expect_close(tws *c)
{
    int code = 0;
    cJSON *j = read_until(c, 999, NULL, &code);
    cJSON_Delete(j);
    return code;
}
