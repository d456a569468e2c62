/* `mockgateway run SCENARIO_OR_DIR... -- CLIENT_CMD [ARGS]`: runs each
 * scenario against a fresh client process and reports the verdicts. */
#ifndef MG_RUNNER_H
#define MG_RUNNER_H

#include <stddef.h>
#include <stdint.h>

/* Collects scenario files: a file as is, a directory recursively (*.json,
 * sorted). Returns the count, or -1 with a message in err. *out is a
 * malloc'ed array of malloc'ed paths. */
int mg_collect_scenarios(const char *const *paths, size_t n, char ***out, char *err, size_t errlen);
void mg_free_paths(char **paths, size_t n);

/* Replaces {url}, {api}, {scenario} and {tmpdir} (when tmpdir is not NULL)
 * in arg; returns a malloc'ed string. */
char *mg_substitute_arg(const char *arg, const char *url, const char *api, const char *scenario, const char *tmpdir);

#include "log.h"

typedef struct mg_runner_opts {
    const char *listen, *cert, *key, *ca, *junit, *transcript_dir, *token;
    const char *html; /* the report page to write, or NULL */
    unsigned jobs;    /* scenarios run at once, each by a worker process (0, 1: serial) */
    int tls;
    uint32_t grace_ms;
    mg_logger log;
    const char **scenarios;
    size_t nscenarios;
    char **cmd; /* the client command; ncmd 0: wait for an outside client */
    size_t ncmd;
    unsigned supports; /* MG_REQUIRES_* the client has; other scenarios are skipped */
} mg_runner_opts;

/* Runs every scenario found under opts->scenarios; prints PASS/FAIL lines
 * in scenario order and "N passed, N failed" (progress on stderr). Returns
 * 0 all passed, 1 some failed, 2 setup error. */
int mg_runner_execute(const mg_runner_opts *opts);

/* Entry point of the run subcommand (argv[0] is "run"). Returns the exit
 * status: 0 all passed, 1 some failed, 2 usage or setup error. */
int mg_runner_main(int argc, char **argv);

#endif
