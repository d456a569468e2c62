/* `mockgateway run`: verdicts, summary line, exit status, JUnit XML and
 * transcripts, driven with a tiny client built for the tests. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MG_EXE
#error "MG_EXE must name the mockgateway binary"
#endif

/* Runs a shell command; returns its exit status and its stdout in out. */
static int run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *scenario = MG_SCENARIO_DIR "/handshake/identify-ready.json";

Test(runner, passing_scenario_exit_0_with_junit_and_redacted_transcript, .timeout = 60)
{
    char dir[] = "/tmp/mg-runner-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s run --junit %s/j.xml --transcript-dir %s/t %s -- %s 2>/dev/null", MG_EXE, dir, dir,
             scenario, MG_MINI_CLIENT);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "PASS  handshake-identify-ready"), "%s", out);
    cr_assert(strstr(out, "\n1 passed, 0 failed\n"), "summary line: %s", out);
    char path[512];
    snprintf(path, sizeof path, "%s/j.xml", dir);
    char *xml = slurp(path);
    cr_assert(xml && strstr(xml, "tests=\"1\" failures=\"0\"") && strstr(xml, "name=\"handshake-identify-ready\""),
              "%s", xml ? xml : "(no junit)");
    snprintf(path, sizeof path, "%s/t/handshake-identify-ready.log", dir);
    char *tr = slurp(path);
    cr_assert(tr && strstr(tr, "\"token\":\"[redacted]\""), "%s", tr ? tr : "(no transcript)");
    cr_assert_null(strstr(tr, "test-token"), "token leaked into the transcript");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(runner, wrong_token_fails_with_the_mismatch, .timeout = 60)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s run %s -- %s --wrong-token 2>/dev/null", MG_EXE, scenario, MG_MINI_CLIENT);
    cr_assert_eq(run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "FAIL  handshake-identify-ready") && strstr(out, "d.token"), "%s", out);
    cr_assert(strstr(out, "\n0 passed, 1 failed\n"), "%s", out);
}

Test(runner, a_client_that_exits_fails_fast, .timeout = 60)
{
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s run %s -- false 2>/dev/null", MG_EXE, scenario);
    cr_assert_eq(run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "exited (status 1)"), "%s", out);
}

Test(runner, bad_usage_is_exit_2, .timeout = 30)
{
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s run %s 2>/dev/null", MG_EXE, scenario);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "no client command");
    snprintf(cmd, sizeof cmd, "%s run /nonexistent -- true 2>/dev/null", MG_EXE);
    cr_assert_eq(run(cmd, out, sizeof out), 2);
}

/* A scenario that closes as soon as IDENTIFY arrives, against a client
 * that sends 8 KiB more right behind its IDENTIFY: the close step ran
 * inside wslay's message callback and re-entered wslay_event_recv, which
 * aborted the process (issue 12). */
Test(runner, close_step_with_more_bytes_behind_the_message, .timeout = 60)
{
    char path[] = "/tmp/mg-runner-close-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char scn[] =
        "{\"name\": \"close-right-after-identify\", \"rule\": \"issue 12 regression\",\n"
        " \"connections\": [{\"steps\": [{\"type\": \"handshake\", \"ready\": false},\n"
        "                                {\"type\": \"close\", \"code\": 4004}]}]}\n";
    cr_assert_eq(write(fd, scn, sizeof scn - 1), (ssize_t)(sizeof scn - 1));
    close(fd);
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s run %s -- %s --burst 2>&1", MG_EXE, path, MG_MINI_CLIENT);
    int st = run(cmd, out, sizeof out);
    unlink(path);
    cr_assert_eq(st, 0, "exit status %d: %s", st, out);
    cr_assert(strstr(out, "PASS  close-right-after-identify"), "%s", out);
}

/* ---- -j: parallel runs -------------------------------------------------- */

static const char *fixtures = MG_REPORT_FIXTURES; /* 4 scenarios, 2 folders: 3 pass, 1 fails */

/* Digits of any length become one '#': times, ports and pids differ
 * between two runs, nothing else may. */
static void collapse_digits(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r >= '0' && *r <= '9') {
            while (*r >= '0' && *r <= '9')
                r++;
            *w++ = '#'; /* after the reads: w may stand where r stood */
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* The <testcase>/<failure> lines of a JUnit file (not the transcripts). */
static void junit_cases(const char *path, char *out, size_t n)
{
    char *xml = slurp(path);
    cr_assert_not_null(xml, "no %s", path);
    size_t k = 0;
    out[0] = '\0';
    for (char *line = strtok(xml, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, "<testcase ") || strstr(line, "<failure "))
            k += (size_t)snprintf(out + k, k < n ? n - k : 0, "%s\n", line);
    collapse_digits(out);
}

Test(runner, parallel_run_has_the_outputs_of_a_serial_run, .timeout = 90)
{
    char dir[] = "/tmp/mg-runner-j-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    static char out[2][8192], cases[2][16384];
    const char *jobs[2] = {"1", "3"};
    for (int i = 0; i < 2; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "%s run -j %s --junit %s/j%d.xml --transcript-dir %s/t%d --html %s/r%d.html %s -- %s 2>%s/err%d",
                 MG_EXE, jobs[i], dir, i, dir, i, dir, i, fixtures, MG_MINI_CLIENT, dir, i);
        cr_assert_eq(run(cmd, out[i], sizeof out[i]), 1, "-j %s: %s", jobs[i], out[i]);
        collapse_digits(out[i]);
        char path[512];
        snprintf(path, sizeof path, "%s/j%d.xml", dir, i);
        junit_cases(path, cases[i], sizeof cases[i]);
        snprintf(path, sizeof path, "%s/t%d/report-close-4000-reconnect.log", dir, i);
        cr_assert_not_null(slurp(path), "-j %s: no transcript file", jobs[i]);
        snprintf(path, sizeof path, "%s/r%d.html", dir, i);
        char *html = slurp(path);
        cr_assert(html && strstr(html, "\"name\":\"report-dispatch\"") &&
                      strstr(html, "\"name\":\"report-dispatch\"") < strstr(html, "\"name\":\"report-close-4000-reconnect\""),
                  "-j %s: the page lists the scenarios in file order", jobs[i]);
    }
    cr_assert_str_eq(out[1], out[0], "stdout differs:\n-j 3:\n%s\n-j 1:\n%s", out[1], out[0]);
    cr_assert_str_eq(cases[1], cases[0], "JUnit differs:\n-j 3:\n%s\n-j 1:\n%s", cases[1], cases[0]);
    /* file order: basics/dispatch, basics/identify, closing/fatal, closing/reconnect
     * (digits collapsed: report-close-4004 reads report-close-#) */
    const char *a = strstr(out[0], "PASS  report-dispatch"), *b = strstr(out[0], "PASS  report-identify"),
               *c = strstr(out[0], "PASS  report-close-# ("), *d = strstr(out[0], "FAIL  report-close-#-reconnect");
    cr_assert(a && b && c && d && a < b && b < c && c < d, "order: %s", out[0]);
    cr_assert(strstr(out[0], "\n# passed, # failed\n"), "%s", out[0]);
    /* progress: one stderr line per finished scenario (stderr is no terminal
     * here), and the failed transcript after them, not between */
    char path[512];
    snprintf(path, sizeof path, "%s/err1", dir);
    const char *err = slurp(path); /* slurp's buffer: read nothing else below */
    cr_assert_not_null(err);
    int lines = 0;
    const char *last = NULL;
    for (const char *p = err; (p = strstr(p, "mockgateway: [")); p++, lines++)
        last = p;
    cr_assert_eq(lines, 4, "%s", err);
    cr_assert(strstr(err, "mockgateway: [4/4] 3 passed, 1 failed, "), "%s", err);
    const char *tr = strstr(err, "---- transcript of report-close-4000-reconnect ----");
    cr_assert(tr && tr > last, "the failed transcript comes after the progress: %s", err);
    cr_assert_null(strstr(out[0], "mockgateway: ["), "progress stays off stdout");
    snprintf(path, sizeof path, "rm -rf %s", dir);
    cr_assert_eq(system(path), 0);
}

/* A scenario that requires what the client does not declare is skipped,
 * the same way by a serial run and by workers: a SKIP line, the count,
 * JUnit <skipped>, the page's "unsupported" class. */
Test(runner, a_scenario_the_client_cannot_take_is_skipped, .timeout = 90)
{
    char dir[] = "/tmp/mg-runner-skip-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    static char out[2][8192];
    const char *jobs[2] = {"1", "2"};
    const char *sharded = MG_SCENARIO_DIR "/sharding/pacing-max-concurrency-1.json";
    for (int i = 0; i < 2; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "%s run -j %s --junit %s/j%d.xml --html %s/r%d.html %s %s -- %s 2>/dev/null", MG_EXE,
                 jobs[i], dir, i, dir, i, sharded, scenario, MG_MINI_CLIENT);
        cr_assert_eq(run(cmd, out[i], sizeof out[i]), 0, "-j %s: a skip is no failure: %s", jobs[i], out[i]);
        cr_assert(strstr(out[i], "SKIP  sharding-pacing-max-concurrency-1 (") &&
                      strstr(out[i], "requires sharding, which the client does not offer (--supports, --without)"),
                  "-j %s: %s", jobs[i], out[i]);
        cr_assert(strstr(out[i], "\n1 skipped (") && strstr(out[i], "\n1 passed, 0 failed\n"), "-j %s: %s", jobs[i],
                  out[i]);
        char path[512];
        snprintf(path, sizeof path, "%s/j%d.xml", dir, i);
        char *xml = slurp(path);
        cr_assert(xml && strstr(xml, "skipped=\"1\"") && strstr(xml, "<skipped message=\"requires sharding"), "%s",
                  xml ? xml : "(no junit)");
        snprintf(path, sizeof path, "%s/r%d.html", dir, i);
        char *html = slurp(path);
        cr_assert(html && strstr(html, "\"status\":\"SKIP\",\"seconds\":0.0,\"verdict\":\"unsupported\""),
                  "-j %s: the page marks it unsupported", jobs[i]);
    }
    collapse_digits(out[0]); /* the PASS line's seconds */
    collapse_digits(out[1]);
    cr_assert_str_eq(out[1], out[0], "stdout differs:\n-j 2:\n%s\n-j 1:\n%s", out[1], out[0]);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s run --supports sharding,telepathy %s -- %s 2>&1", MG_EXE, sharded, MG_MINI_CLIENT);
    cr_assert_eq(run(cmd, out[0], sizeof out[0]), 2, "an unknown capability is a usage error: %s", out[0]);
    /* Features of one connection are assumed; --without takes them away. */
    const char *etf = MG_SCENARIO_DIR "/encoding/etf-identify-ready.json";
    snprintf(cmd, sizeof cmd, "%s run --without zstd-stream,etf %s -- %s 2>/dev/null", MG_EXE, etf, MG_MINI_CLIENT);
    cr_assert_eq(run(cmd, out[0], sizeof out[0]), 0, "%s", out[0]);
    cr_assert(strstr(out[0], "SKIP  encoding-etf-identify-ready (") &&
                  strstr(out[0], "requires etf, which the client does not offer"), "%s", out[0]);
    snprintf(cmd, sizeof cmd, "%s run --without etf,telepathy %s -- %s 2>&1", MG_EXE, etf, MG_MINI_CLIENT);
    cr_assert_eq(run(cmd, out[0], sizeof out[0]), 2, "an unknown feature is a usage error: %s", out[0]);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(runner, jobs_option_is_checked, .timeout = 30)
{
    char cmd[2048], out[4096];
    const char *bad[] = {"-j 0", "-j 65", "-j x", "--jobs", "-j 2 --listen 127.0.0.1:4999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(cmd, sizeof cmd, "%s run %s %s -- %s 2>/dev/null", MG_EXE, bad[i], fixtures, MG_MINI_CLIENT);
        cr_assert_eq(run(cmd, out, sizeof out), 2, "%s: %s", bad[i], out);
    }
    snprintf(cmd, sizeof cmd, "%s run -j2 %s/basics/identify.json -- %s 2>/dev/null", MG_EXE, fixtures, MG_MINI_CLIENT);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "-j2: %s", out);
}

/* The oldest (lowest pid) child of parent, or 0. */
static pid_t oldest_child_of(pid_t parent)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    pid_t best = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[300], buf[512];
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        int ppid = 0;
        if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == (int)parent && (!best || pid < best))
            best = pid;
    }
    closedir(d);
    return best;
}

/* A worker killed in the middle of a scenario: that scenario fails with
 * the reason, the others still run on the other worker, nothing hangs. */
Test(runner, a_worker_that_dies_fails_its_scenario_only, .timeout = 60)
{
    char dir[] = "/tmp/mg-runner-kill-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char scn[512];
    snprintf(scn, sizeof scn, "%s/a-slow.json", dir);
    FILE *f = fopen(scn, "w");
    cr_assert_not_null(f);
    fputs("{\"name\": \"slow\", \"rule\": \"a worker dies while it runs this\",\n"
          " \"connections\": [{\"steps\": [{\"type\": \"handshake\"},\n"
          "  {\"type\": \"expect_no_reconnect\", \"ms\": 4000}]}]}\n", f);
    fclose(f);
    char outpath[512];
    snprintf(outpath, sizeof outpath, "%s/out", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (!freopen(outpath, "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execl(MG_EXE, MG_EXE, "run", "-j", "2", scn, fixtures, "--", MG_MINI_CLIENT, (char *)NULL);
        _exit(127);
    }
    /* The first worker takes "slow" (file order): kill it while it waits. */
    usleep(300 * 1000);
    pid_t worker = 0;
    for (int i = 0; i < 50 && !(worker = oldest_child_of(pid)); i++)
        usleep(20 * 1000);
    cr_assert_gt(worker, 0, "no worker process found");
    usleep(700 * 1000);
    /* the oldest child is the first worker, the one given "slow" */
    cr_assert_eq(kill(worker, SIGKILL), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
    char *out = slurp(outpath);
    cr_assert(out && strstr(out, "FAIL  ") && strstr(out, "a-slow.json: the worker process") &&
                  strstr(out, "killed by signal 9"),
              "%s", out ? out : "");
    cr_assert(strstr(out, "3 passed, 2 failed"), "the other scenarios ran: %s", out);
    snprintf(scn, sizeof scn, "rm -rf %s", dir);
    cr_assert_eq(system(scn), 0);
}
