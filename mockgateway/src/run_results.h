/* The outcome of each scenario of a `mockgateway run`, and what the run
 * makes of them: progress on stderr, one PASS/FAIL line per scenario on
 * stdout in scenario file order (whatever order they finished in), the
 * failed transcripts and the summary at the end, transcript files, JUnit
 * XML and the HTML report. Serial and parallel runs feed the same
 * collector, so their outputs are the same. */
#ifndef MG_RUN_RESULTS_H
#define MG_RUN_RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mg_run_result {
    char *name;       /* the scenario's name; its path when it did not load */
    char *path;       /* the scenario file */
    char *rule;       /* the rule the scenario checks, or NULL */
    int loaded;       /* 0: the file did not parse (failure says why) */
    int passed;
    double seconds;   /* wall time of the scenario */
    char *failure;    /* why it failed; NULL when it passed */
    char *skipped;    /* why it did not run (a requirement the client does not declare), or NULL */
    char *transcript; /* redacted; NULL when the file did not load */
} mg_run_result;

/* Frees the strings (the struct itself is the caller's). */
void mg_run_result_free(mg_run_result *r);

typedef struct mg_results {
    mg_run_result *v; /* by scenario index */
    const char *const *paths; /* the scenario files, by index */
    unsigned char *have;
    size_t n;
    size_t printed;  /* results [0, printed) have their stdout line */
    size_t finished, passed, failed, skipped;
    uint64_t t0;
    const char *transcript_dir; /* NULL: no transcript files */
    int status_line;            /* stderr is a terminal: one line, redrawn */
    FILE *out, *err;
} mg_results;

/* n scenarios (paths: their files, kept by reference); t0 the run's start
 * (mg_now_ms). Returns 0 or -1 (memory). */
int mg_results_init(mg_results *c, const char *const *paths, size_t n, uint64_t t0, const char *transcript_dir);
/* Records the result of scenario index (taking its strings; *res is zeroed;
 * a NULL path becomes the index's file), writes its transcript file,
 * prints the progress and every stdout line that is now in order. */
void mg_results_add(mg_results *c, size_t index, mg_run_result *res);
/* Prints what is left: the stdout lines of the results recorded (a run cut
 * short by a signal has a gap only at its end), the transcripts of the
 * failed scenarios on stderr, "N skipped (...)" when some were, and "N
 * passed, N failed". */
void mg_results_finish(mg_results *c);
/* Writes JUnit XML of the recorded results, in scenario order. 0 or -1. */
int mg_results_write_junit(const mg_results *c, const char *path);
void mg_results_free(mg_results *c);

/* The folder a scenario file sits in ("" when none). */
void mg_scenario_folder(const char *path, char *out, size_t n);

#endif
