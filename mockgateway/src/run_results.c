#include "run_results.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "junit.h"
#include "util.h"

void mg_run_result_free(mg_run_result *r)
{
    free(r->name);
    free(r->path);
    free(r->rule);
    free(r->failure);
    free(r->skipped);
    free(r->transcript);
    memset(r, 0, sizeof *r);
}

int mg_results_init(mg_results *c, const char *const *paths, size_t n, uint64_t t0, const char *transcript_dir)
{
    memset(c, 0, sizeof *c);
    c->v = calloc(n ? n : 1, sizeof *c->v);
    c->have = calloc(n ? n : 1, 1);
    if (!c->v || !c->have) {
        free(c->v);
        free(c->have);
        return -1;
    }
    c->paths = paths;
    c->n = n;
    c->t0 = t0;
    c->transcript_dir = transcript_dir;
    c->out = stdout;
    c->err = stderr;
    c->status_line = isatty(STDERR_FILENO);
    return 0;
}

void mg_results_free(mg_results *c)
{
    for (size_t i = 0; i < c->n; i++)
        mg_run_result_free(&c->v[i]);
    free(c->v);
    free(c->have);
    memset(c, 0, sizeof *c);
}

static const char *name_of(const mg_run_result *r) { return r->name ? r->name : r->path ? r->path : "?"; }

/* A file name from a scenario name: anything but [A-Za-z0-9._-] becomes _. */
static void safe_name(const char *name, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < n; p++) {
        char ch = *p;
        out[k++] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                    ch == '_' || ch == '.')
                       ? ch
                       : '_';
    }
    out[k] = '\0';
}

static void write_transcript(const mg_results *c, const mg_run_result *r)
{
    if (!c->transcript_dir || !r->transcript)
        return;
    mkdir(c->transcript_dir, 0777);
    char fn[256], path[4096];
    safe_name(name_of(r), fn, sizeof fn);
    snprintf(path, sizeof path, "%s/%s.log", c->transcript_dir, fn);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(c->err, "mockgateway run: cannot write %s\n", path);
        return;
    }
    fputs(r->transcript, f);
    if (fclose(f) != 0)
        fprintf(c->err, "mockgateway run: cannot write %s\n", path);
}

/* The stdout contract (scenarios/README.md, "Verdicts"). */
static void print_verdict(const mg_results *c, const mg_run_result *r)
{
    if (!r->loaded)
        fprintf(c->out, "FAIL  %s: %s\n", name_of(r), r->failure ? r->failure : "cannot load");
    else if (r->skipped)
        fprintf(c->out, "SKIP  %s (%s): %s\n", name_of(r), r->path ? r->path : "?", r->skipped);
    else if (!r->passed)
        fprintf(c->out, "FAIL  %s (%s): %s\n", name_of(r), r->path ? r->path : "?",
                r->failure ? r->failure : "(no reason recorded)");
    else
        fprintf(c->out, "PASS  %s (%.1f s)\n", name_of(r), r->seconds);
}

static void clear_status(const mg_results *c)
{
    if (c->status_line)
        fputs("\r\033[K", c->err);
}

static void print_progress(const mg_results *c, const mg_run_result *last)
{
    double secs = (double)(mg_now_ms() - c->t0) / 1000.0;
    fprintf(c->err, "mockgateway: [%zu/%zu] %zu passed, %zu failed, %.1f s; %s %s", c->finished, c->n, c->passed,
            c->failed, secs, last->skipped ? "SKIP" : last->passed ? "PASS" : "FAIL", name_of(last));
    if (c->status_line)
        fflush(c->err); /* stays on screen until the next one replaces it */
    else
        fputc('\n', c->err);
}

void mg_results_add(mg_results *c, size_t index, mg_run_result *res)
{
    if (index >= c->n || c->have[index]) {
        mg_run_result_free(res);
        return;
    }
    c->v[index] = *res;
    memset(res, 0, sizeof *res);
    c->have[index] = 1;
    mg_run_result *r = &c->v[index];
    if (!r->path && c->paths)
        r->path = strdup(c->paths[index]);
    c->finished++;
    if (r->skipped)
        c->skipped++;
    else if (r->passed)
        c->passed++;
    else
        c->failed++;
    write_transcript(c, r);
    clear_status(c);
    fflush(c->err);
    int printed = 0;
    while (c->printed < c->n && c->have[c->printed]) {
        print_verdict(c, &c->v[c->printed++]);
        printed = 1;
    }
    if (printed)
        fflush(c->out);
    print_progress(c, r);
}

void mg_results_finish(mg_results *c)
{
    clear_status(c);
    for (; c->printed < c->n; c->printed++)
        if (c->have[c->printed])
            print_verdict(c, &c->v[c->printed]);
    fflush(c->out);
    for (size_t i = 0; i < c->n; i++) {
        const mg_run_result *r = &c->v[i];
        if (c->have[i] && !r->passed && !r->skipped && r->transcript)
            fprintf(c->err, "---- transcript of %s ----\n%s---- end of transcript ----\n", name_of(r),
                    r->transcript);
    }
    fflush(c->err);
    if (c->skipped)
        fprintf(c->out, "%zu skipped (requirements the client does not offer: --supports, --without)\n", c->skipped);
    fprintf(c->out, "%zu passed, %zu failed\n", c->passed, c->failed);
    fflush(c->out);
}

void mg_scenario_folder(const char *path, char *out, size_t n)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash) {
        snprintf(out, n, "%s", "");
        return;
    }
    const char *start = slash;
    while (start > path && start[-1] != '/')
        start--;
    snprintf(out, n, "%.*s", (int)(slash - start), start);
}

int mg_results_write_junit(const mg_results *c, const char *path)
{
    mg_junit junit = {0};
    for (size_t i = 0; i < c->n; i++) {
        if (!c->have[i])
            continue;
        const mg_run_result *r = &c->v[i];
        char folder[128], cls[160] = "scenarios";
        mg_scenario_folder(r->path, folder, sizeof folder);
        if (folder[0])
            snprintf(cls, sizeof cls, "scenarios.%s", folder);
        if (r->skipped)
            mg_junit_add_skipped(&junit, cls, name_of(r), r->skipped);
        else
            mg_junit_add(&junit, cls, name_of(r), r->seconds, r->passed ? NULL : r->failure ? r->failure : "failed",
                         r->transcript);
    }
    int rc = mg_junit_write(&junit, path);
    mg_junit_free(&junit);
    return rc;
}
