/*
 * out.c - event lines, log lines and redaction. See out.h.
 */
#include "out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define STREAM_BUF (64 * 1024)

static const char *secret;
static size_t secret_len;
static int log_level = LOG_INFO;
static bool print_events = true;
static uint64_t started;
static char stdout_buf[STREAM_BUF], stderr_buf[STREAM_BUF];

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void out_init(const char *token, int level, bool events)
{
    secret = token;
    secret_len = token ? strlen(token) : 0;
    log_level = level;
    print_events = events;
    started = now_ms();
    setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
    /* Line-buffered: a crash must not swallow the last lines of the log. */
    setvbuf(stderr, stderr_buf, _IOLBF, sizeof stderr_buf);
}

bool out_parse_level(const char *s, int *level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *level = i;
            return true;
        }
    return false;
}

uint64_t out_elapsed(uint64_t now)
{
    return now - started;
}

/* Writes p[0..n) on one line: the token becomes [REDACTED], a raw line
 * break (JSON whitespace, or a stray one in a log text) becomes a space. */
static void put_redacted(FILE *f, const char *p, size_t n)
{
    while (n > 0) {
        const char *hit = secret_len ? memmem(p, n, secret, secret_len) : NULL;
        size_t clear = hit ? (size_t)(hit - p) : n;
        size_t from = 0;
        for (size_t i = 0; i < clear; i++) {
            if (p[i] != '\n' && p[i] != '\r')
                continue;
            fwrite(p + from, 1, i - from, f);
            fputc(' ', f);
            from = i + 1;
        }
        fwrite(p + from, 1, clear - from, f);
        if (hit == NULL)
            return;
        fputs("[REDACTED]", f);
        p = hit + secret_len;
        n -= clear + secret_len;
    }
}

void logmsg(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    static const char *const tags[] = {"error", "warn", "info", "debug"};
    uint64_t t = out_elapsed(now_ms());
    fprintf(stderr, "[%4" PRIu64 ".%03" PRIu64 "] %-5s ", t / 1000, t % 1000,
            tags[level]);
    put_redacted(stderr, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    fputc('\n', stderr);
}

static void put_json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void out_event(uint32_t shard, const dgw_event *ev)
{
    if (!print_events)
        return;
    FILE *f = stdout;
    fprintf(f, "{\"shard\":%" PRIu32 ",\"op\":%d,\"t\":", shard, ev->op);
    if (ev->name != NULL)
        put_json_string(f, ev->name, ev->name_len);
    else
        fputs("null", f);
    if (ev->seq >= 0)
        fprintf(f, ",\"s\":%" PRId64, ev->seq);
    else
        fputs(",\"s\":null", f);
    fputs(",\"d\":", f);
    if (ev->data != NULL && ev->data_len > 0)
        put_redacted(f, ev->data, ev->data_len);
    else
        fputs("null", f);
    fputs("}\n", f);
}

void out_stat_line(const char *line, size_t len)
{
    put_redacted(stderr, line, len);
    fputc('\n', stderr);
}

void out_flush(void)
{
    fflush(stdout);
    fflush(stderr);
}
