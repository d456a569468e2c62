#include "rest.h"

#include <string.h>

#include "util.h"

static int error_body(mg_rest_response *out, int status, const char *message);

/* GET /api/v{9,10}/gateway/bot: where to connect, how many shards, and the
 * session-start limits the app keeps (a budget that never runs out and
 * one shard when it keeps none). */
static int gateway_bot(const mg_http_request *req, const mg_rest_ctx *ctx, mg_rest_response *out)
{
    (void)req;
    static const mg_gateway_bot unlimited = {200, 1, 1, 1000, 1000, 86400000};
    const mg_gateway_bot *b = ctx->bot ? ctx->bot : &unlimited;
    if (b->status == 401)
        return error_body(out, 401, "Unauthorized");
    return mg_buf_printf(&out->body,
                         "{\"url\":\"%s\",\"shards\":%d,\"session_start_limit\":{\"total\":%u,"
                         "\"remaining\":%u,\"reset_after\":%llu,\"max_concurrency\":%d}}",
                         ctx->ws_url, b->shards, b->total, b->remaining, (unsigned long long)b->reset_after_ms,
                         b->max_concurrency);
}

/* GET /api/v{9,10}/gateway: the URL alone (no authentication on Discord). */
static int gateway(const mg_http_request *req, const mg_rest_ctx *ctx, mg_rest_response *out)
{
    (void)req;
    return mg_buf_printf(&out->body, "{\"url\":\"%s\"}", ctx->ws_url);
}

static const struct route {
    const char *path;
    int (*get)(const mg_http_request *req, const mg_rest_ctx *ctx, mg_rest_response *out);
} routes[] = {
    {"/api/v10/gateway/bot", gateway_bot},
    {"/api/v9/gateway/bot", gateway_bot},
    {"/api/v10/gateway", gateway},
    {"/api/v9/gateway", gateway},
};

static int error_body(mg_rest_response *out, int status, const char *message)
{
    out->status = status;
    return mg_buf_printf(&out->body, "{\"message\": \"%d: %s\", \"code\": 0}", status, message);
}

int mg_rest_handle(const mg_http_request *req, const mg_rest_ctx *ctx, mg_rest_response *out)
{
    memset(out, 0, sizeof *out);
    out->content_type = "application/json";
    const struct route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !r; i++)
        if (req->path.n == strlen(routes[i].path) && memcmp(req->path.p, routes[i].path, req->path.n) == 0)
            r = &routes[i];
    if (!r)
        return error_body(out, 404, "Not Found");
    if (!mg_strieq_n(req->method.p, req->method.n, "GET")) {
        out->headers = "Allow: GET\r\n";
        return error_body(out, 405, "Method Not Allowed");
    }
    out->status = 200;
    return r->get(req, ctx, out);
}

void mg_rest_response_free(mg_rest_response *r) { mg_buf_free(&r->body); }
