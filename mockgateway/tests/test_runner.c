/* `mockgateway run`: verdicts, summary line, exit status, JUnit XML and
 * transcripts, driven with a tiny client built for the tests. */
#include <criterion/criterion.h>
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
