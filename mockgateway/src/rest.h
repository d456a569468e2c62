/* The REST endpoints the mock answers on its gateway port (any request
 * without `Upgrade: websocket`). Pure: a parsed request in, a response out;
 * conn.c writes it and closes. An endpoint is one row of the route table in
 * rest.c and one handler function. */
#ifndef MG_REST_H
#define MG_REST_H

#include "buf.h"
#include "http.h"

/* What GET /gateway/bot says: the app's shard count, buckets and
 * session-start budget (the app fills it; server.h, mg_app_ops). */
typedef struct mg_gateway_bot {
    int status; /* 200, or 401 once the bot's token was reset */
    int shards, max_concurrency;
    uint32_t total, remaining;
    uint64_t reset_after_ms;
} mg_gateway_bot;

/* What handlers may know about the server. */
typedef struct mg_rest_ctx {
    const char *ws_url;         /* ws(s)://host:port: what /gateway answers */
    const char *const *tokens;  /* NULL-terminated: the tokens authenticated routes accept */
    const mg_gateway_bot *bot;  /* NULL: one shard and a budget that never runs out */
} mg_rest_ctx;

typedef struct mg_rest_response {
    int status;
    const char *content_type;
    const char *headers; /* extra header lines ("Allow: GET\r\n"), or NULL */
    mg_buf body;         /* owned: free with mg_rest_response_free() */
} mg_rest_response;

/* Answers req: 200 from a route's handler, 404 for an unknown path, 405 for
 * a method the route does not take, 401 for an authenticated route without
 * "Authorization: Bot TOKEN" naming one of ctx->tokens. Error bodies are
 * Discord's: {"message": "401: Unauthorized", "code": 0}. Returns 0, or -1 when out of memory
 * (out is then still freeable). */
int mg_rest_handle(const mg_http_request *req, const mg_rest_ctx *ctx, mg_rest_response *out);
void mg_rest_response_free(mg_rest_response *r);

#endif
