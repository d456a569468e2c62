#include "rest.h"

#include <string.h>

#include "util.h"

/* The bot user and its application, as READY names them (mg_build_ready). */
#define BOT_USER                                                                                      \
    "{\"id\":\"100000000000000001\",\"username\":\"mockbot\",\"discriminator\":\"0000\","            \
    "\"global_name\":null,\"avatar\":null,\"bot\":true,\"flags\":0,\"mfa_enabled\":false,"           \
    "\"verified\":true}"

static int error_body(mg_rest_response *out, int status, const char *message);

/* GET /api/v{9,10}/gateway/bot: where to connect, how many shards, and the
 * session-start limits the app keeps (a budget that never runs out and
 * one shard when it keeps none). */
static int gateway_bot(const mg_rest_ctx *ctx, mg_rest_response *out)
{
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
static int gateway(const mg_rest_ctx *ctx, mg_rest_response *out)
{
    return mg_buf_printf(&out->body, "{\"url\":\"%s\"}", ctx->ws_url);
}

/* GET /api/v{9,10}/users/@me: the bot's user (discord.py logs in with it). */
static int users_me(const mg_rest_ctx *ctx, mg_rest_response *out)
{
    (void)ctx;
    return mg_buf_printf(&out->body, "%s", BOT_USER);
}

/* GET /api/v{9,10}/oauth2/applications/@me: the bot's application, with the
 * fields discord.py's AppInfo reads without a default. */
static int application_me(const mg_rest_ctx *ctx, mg_rest_response *out)
{
    (void)ctx;
    return mg_buf_printf(&out->body,
                         "{\"id\":\"100000000000000001\",\"name\":\"mockbot\",\"description\":\"\","
                         "\"icon\":null,\"rpc_origins\":[],\"bot_public\":true,\"bot_require_code_grant\":false,"
                         "\"owner\":%s,\"team\":null,\"verify_key\":\"%064d\",\"flags\":0,\"summary\":\"\"}",
                         BOT_USER, 0);
}

/* A route answers under /api/v10 and /api/v9 (the versions the gateway
 * accepts); "auth" routes want "Authorization: Bot TOKEN" with a token the
 * server accepts, as Discord does. */
static const struct route {
    const char *path; /* after /api/vN */
    int auth;
    int (*get)(const mg_rest_ctx *ctx, mg_rest_response *out);
} routes[] = {
    {"/gateway/bot", 1, gateway_bot},
    {"/gateway", 0, gateway},
    {"/users/@me", 1, users_me},
    {"/oauth2/applications/@me", 1, application_me},
};

/* The route for path ("/api/v10/users/@me"), or NULL. */
static const struct route *find_route(mg_slice path)
{
    static const char *const prefixes[] = {"/api/v10", "/api/v9"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t pn = strlen(prefixes[i]);
        if (path.n < pn || memcmp(path.p, prefixes[i], pn) != 0)
            continue;
        for (size_t r = 0; r < sizeof routes / sizeof *routes; r++)
            if (path.n - pn == strlen(routes[r].path) && memcmp(path.p + pn, routes[r].path, path.n - pn) == 0)
                return &routes[r];
    }
    return NULL;
}

/* Whether the request carries "Authorization: Bot TOKEN" with an accepted
 * token (whole strings compared; Discord wants the "Bot " prefix). */
static int authorized(const mg_http_request *req, const mg_rest_ctx *ctx)
{
    const mg_slice *v = mg_http_header_get(req, "Authorization");
    if (!v || v->n < 4 || memcmp(v->p, "Bot ", 4) != 0)
        return 0;
    for (const char *const *t = ctx->tokens; t && *t; t++)
        if (v->n - 4 == strlen(*t) && memcmp(v->p + 4, *t, v->n - 4) == 0)
            return 1;
    return 0;
}

static int error_body(mg_rest_response *out, int status, const char *message)
{
    out->status = status;
    return mg_buf_printf(&out->body, "{\"message\": \"%d: %s\", \"code\": 0}", status, message);
}

int mg_rest_handle(const mg_http_request *req, const mg_rest_ctx *ctx, mg_rest_response *out)
{
    memset(out, 0, sizeof *out);
    out->content_type = "application/json";
    const struct route *r = find_route(req->path);
    if (!r)
        return error_body(out, 404, "Not Found");
    if (!mg_strieq_n(req->method.p, req->method.n, "GET")) {
        out->headers = "Allow: GET\r\n";
        return error_body(out, 405, "Method Not Allowed");
    }
    if (r->auth && !authorized(req, ctx))
        return error_body(out, 401, "Unauthorized");
    out->status = 200;
    return r->get(ctx, out);
}

void mg_rest_response_free(mg_rest_response *r) { mg_buf_free(&r->body); }
