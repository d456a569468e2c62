/* The server as a process for the tests (server_fixture.c). */
#ifndef MG_TEST_SERVER_FIXTURE_H
#define MG_TEST_SERVER_FIXTURE_H

#include <cjson/cJSON.h>

#include "wsclient.h"

extern int server_pid, port;
extern char cert_dir[64]; /* with the TLS fixture: where the test certificates are */

/* Starts mockgateway with the tests' options (heartbeat 500 ms, no
 * messages, upgrade timeout 400 ms) and then extra (NULL-terminated, may
 * be NULL; a later option wins). */
void start(const char *const *extra);
void start_default(void);
/* SIGTERM; expects a clean exit. */
void stop(void);
/* The same with wss:// and test certificates made for it. */
void start_tls(void);
void stop_tls(void);
/* TCP (or TLS, under the TLS fixture) to the server. */
int connect_any(tws *c);
long long now_us(void);
/* Opens a WebSocket and returns the HELLO's parsed JSON. */
cJSON *open_ws(tws *c, const char *query);
void send_json(tws *c, const char *json);
/* Reads messages until op (and t, if given) or close; returns the JSON or
 * NULL with *close_code. */
cJSON *read_until(tws *c, int want_op, const char *want_t, int *close_code);
/* Reads until the server closes; returns its close code. */
int expect_close(tws *c);

#define HEARTBEAT "{\"op\":1,\"d\":null}"

#define IDENTIFY(tok, intents)                                                                     \
    "{\"op\":2,\"d\":{\"token\":\"" tok "\",\"intents\":" #intents ",\"properties\":{\"os\":\"linux\"," \
    "\"browser\":\"t\",\"device\":\"t\"}}}"

#endif
