#include "transcript.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void mg_transcript_init(mg_transcript *tr, uint64_t t0, const char *const *secrets)
{
    memset(tr, 0, sizeof *tr);
    tr->t0 = t0;
    tr->secrets = secrets;
    tr->max_bytes = 8u << 20;
}

void mg_transcript_free(mg_transcript *tr) { mg_buf_free(&tr->text); }

static void add_line(mg_transcript *tr, uint64_t now, int conn, const char *mark, const char *body)
{
    if (tr->text.len > tr->max_bytes) {
        if (!tr->truncated)
            mg_buf_append_str(&tr->text, "... transcript truncated ...\n");
        tr->truncated = 1;
        return;
    }
    char *safe = mg_redact(body, strlen(body), tr->secrets);
    uint64_t rel = now >= tr->t0 ? now - tr->t0 : 0;
    char tag[16] = "   ";
    if (conn > 0)
        snprintf(tag, sizeof tag, "#%d", conn);
    mg_buf_printf(&tr->text, "[%6llu.%03llu] %-3s %s %s\n", (unsigned long long)(rel / 1000),
                  (unsigned long long)(rel % 1000), tag, mark, safe ? safe : "(out of memory)");
    free(safe);
}

void mg_transcript_add(mg_transcript *tr, uint64_t now, int conn, const char *mark, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    add_line(tr, now, conn, mark, line);
}

void mg_transcript_payload(mg_transcript *tr, uint64_t now, int conn, const char *mark, const char *prefix,
                           const char *json, size_t len)
{
    char *text = NULL;
    /* Redact d.token structurally too: a client may send a token the
     * gateway does not know, which plain string redaction would miss. */
    cJSON *root = len < (64u << 10) ? cJSON_ParseWithLength(json, len) : NULL;
    const cJSON *d = root ? cJSON_GetObjectItemCaseSensitive(root, "d") : NULL;
    cJSON *tok = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "token") : NULL;
    if (cJSON_IsString(tok)) {
        cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)d, "token", cJSON_CreateString(MG_REDACTED));
        text = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    const char *src = text ? text : json;
    size_t sl = text ? strlen(text) : len;
    size_t show = sl > MG_TRANSCRIPT_PAYLOAD_MAX ? MG_TRANSCRIPT_PAYLOAD_MAX : sl;
    char *line = malloc(show + 128);
    if (line) {
        int n = snprintf(line, 128, "%s", prefix ? prefix : "");
        for (size_t i = 0; i < show; i++) {
            unsigned char ch = (unsigned char)src[i];
            line[n++] = (ch < 0x20 || ch == 0x7f) ? '.' : (char)ch;
        }
        line[n] = '\0';
        if (show < sl)
            snprintf(line + n, 64, " ... (%zu bytes)", sl);
        add_line(tr, now, conn, mark, line);
        free(line);
    }
    cJSON_free(text);
}

const char *mg_transcript_text(mg_transcript *tr)
{
    const char *s = mg_buf_cstr(&tr->text);
    return s ? s : "";
}
