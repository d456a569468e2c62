/* `mockgateway run -j N`: N forked worker processes, each with its own
 * server and its own client processes, take scenarios from the parent one
 * at a time (the parent is the queue) and send each result back over a
 * socketpair; the parent feeds them to the collector, which keeps the
 * outputs in scenario order. */
#ifndef MG_RUN_POOL_H
#define MG_RUN_POOL_H

#include <stddef.h>

#include "run_results.h"

typedef struct mg_pool_job {
    /* In a worker, once before its first scenario (it makes the worker's
     * server). Returns 0, or -1 with a message in err. */
    int (*worker_start)(void *ctx, char *err, size_t errlen);
    /* In a worker: runs scenario index into *out; sets *stop when the
     * worker must end after it (a signal came). */
    void (*run)(void *ctx, size_t index, mg_run_result *out, int *stop);
    /* In a worker, before it exits. */
    void (*worker_end)(void *ctx);
    void *ctx;
} mg_pool_job;

#define MG_POOL_MAX_JOBS 64

/* Runs scenarios [0, n) on `jobs` workers and adds every result to col.
 * SIGINT/SIGTERM stop the dispatch; the scenarios running then fail as
 * interrupted. Returns 0 when every scenario ran, 1 when a signal cut the
 * run short, -1 when no worker could be started (message on stderr). */
int mg_pool_run(const mg_pool_job *job, size_t n, unsigned jobs, mg_results *col);

#endif
