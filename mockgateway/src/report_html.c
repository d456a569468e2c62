#include "report_html.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* report_page.html, embedded at build time by tools/embed.py. */
extern const unsigned char mg_report_page[];
extern const size_t mg_report_page_len;

#define PLACEHOLDER "@REPORT_DATA@"
/* A line of a transcript longer than this is cut in the page (the
 * transcript file keeps it whole): a client echoing a 1 MiB READY in
 * 2000-byte lines would otherwise make the page megabytes long. */
#define PAGE_LINE_MAX 1000

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void mg_json_html_string(FILE *out, const char *str, size_t max_line)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), line = 0;
    fputs("\"", out);
    for (size_t i = 0; i < n;) {
        if (s[i] == '\n') {
            fputs("\\n", out);
            line = 0;
            i++;
            continue;
        }
        size_t len = utf8_seq(s + i, n - i);
        if (max_line && line + (len ? len : 1) > max_line) {
            const unsigned char *nl = memchr(s + i, '\n', n - i);
            size_t rest = nl ? (size_t)(nl - (s + i)) : n - i;
            fprintf(out, " [... %zu more bytes: see the transcript file]", rest);
            i += rest;
            continue;
        }
        line += len ? len : 1;
        if (len == 0) {
            fputs("\\ufffd", out);
            i++;
        } else if (len > 1) {
            fwrite(s + i, 1, len, out);
            i += len;
        } else {
            unsigned char c = s[i++];
            switch (c) {
            case '"': fputs("\\\"", out); break;
            case '\\': fputs("\\\\", out); break;
            case '\t': fputs("\\t", out); break;
            case '\r': fputs("\\r", out); break;
            case '<': fputs("\\u003c", out); break;
            case '>': fputs("\\u003e", out); break;
            case '&': fputs("\\u0026", out); break;
            default:
                if (c < 0x20 || c == 0x7f)
                    fprintf(out, "\\u%04x", c);
                else
                    fputc(c, out);
            }
        }
    }
    fputs("\"", out);
}

static void field_str(FILE *f, const char *key, const char *value, size_t max_line)
{
    if (!value)
        return;
    fprintf(f, ",\"%s\":", key);
    mg_json_html_string(f, value, max_line);
}

/* The data the page renders: the shape conformance/tools/matrix.mjs also
 * writes, with one client (this run's command). */
static void build_data(FILE *f, const mg_report_run *run, const mg_results *col)
{
    char date[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs("{\"kind\":\"run\",\"title\":\"mockgateway run\"", f);
    field_str(f, "generated", date, 0);
    fprintf(f, ",\"seconds\":%.1f,\"jobs\":%u,\"interrupted\":%s", run->seconds, run->jobs,
                  run->interrupted ? "true" : "false");
    fputs(",\"clients\":[{\"id\":\"client\"", f);
    field_str(f, "label", run->client, 0);
    field_str(f, "command", run->command, 0);
    fprintf(f, ",\"seconds\":%.1f}],\"scenarios\":[", run->seconds);
    int first = 1;
    for (size_t i = 0; i < col->n; i++) {
        if (!col->have[i])
            continue; /* never ran: the run was interrupted */
        const mg_run_result *r = &col->v[i];
        char folder[128];
        mg_scenario_folder(r->path, folder, sizeof folder);
        fputs(first ? "{" : ",{", f);
        first = 0;
        fputs("\"name\":", f);
        mg_json_html_string(f, r->name ? r->name : r->path ? r->path : "?", 0);
        field_str(f, "file", r->path, 0);
        field_str(f, "folder", folder, 0);
        field_str(f, "rule", r->rule, 0);
        fprintf(f, ",\"cells\":{\"client\":{\"status\":\"%s\",\"seconds\":%.1f",
                r->skipped ? "SKIP" : r->passed ? "PASS" : "FAIL", r->seconds);
        if (r->skipped) /* the page's class for a test the client cannot take */
            fputs(",\"verdict\":\"unsupported\"", f);
        field_str(f, "reason", r->skipped, 0);
        field_str(f, "mismatch", r->failure, 0);
        field_str(f, "transcript", r->transcript, PAGE_LINE_MAX);
        fputs("}}}", f);
    }
    fputs("]}", f);
}

int mg_report_html_write(const char *path, const mg_report_run *run, const mg_results *col, char *err,
                         size_t errlen)
{
    const char *page = (const char *)mg_report_page;
    const char *at = NULL;
    size_t pl = strlen(PLACEHOLDER);
    for (size_t i = 0; !at && i + pl <= mg_report_page_len; i++)
        if (!memcmp(page + i, PLACEHOLDER, pl))
            at = page + i;
    if (!at) {
        snprintf(err, errlen, "the embedded report page has no %s", PLACEHOLDER);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t head = (size_t)(at - page);
    fwrite(page, 1, head, f);
    build_data(f, run, col);
    fwrite(at + pl, 1, mg_report_page_len - head - pl, f);
    /* stdio errors are sticky: one check covers every write above */
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
