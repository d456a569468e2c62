/* Internals shared by the scenario engine's files (not for other code):
 * scenario_run.c drives steps and owns the callbacks, scenario_wire.c says
 * things to the client, scenario_check.c judges what the client says,
 * scenario_steps.c implements the step types. */
#ifndef MG_SCENARIO_INTERNAL_H
#define MG_SCENARIO_INTERNAL_H

#include "scenario_run.h"

/* One connection the client made while the scenario ran. */
struct mg_scn_conn {
    mg_conn *c; /* NULL once the socket is gone */
    int num;    /* 1-based, in order of arrival */
    uint64_t arrived;
    int pending; /* not yet taken by the script */
    int lane;    /* its lane (sharded: from the IDENTIFY or RESUME that names its shard), -1 none yet */
    int opened;
    int gone;
    int close_code; /* from the client's close frame, 0 none */
    int identified;
    int hello_sent; /* before HELLO the client has nothing to say */
    mg_upgrade_info up;
    char query[256];
    struct rx {
        cJSON *json;
        int op;
        uint64_t at;
    } *rx;
    size_t nrx, caprx;
    long heartbeats;
    cJSON *last_hb_d;
    uint64_t last_hb_at;
    long pongs;
    char last_pong[126];
    size_t last_pong_len;
    uint64_t *cmd_times;
    size_t ncmd;
};

/* What a step's run function returns. */
enum { RUN_DONE, RUN_WAIT, RUN_FAIL };

__attribute__((format(printf, 3, 4))) int mg_scn_failf(mg_scenario_run *r, uint64_t now, const char *fmt, ...);
char *mg_scn_show(const cJSON *j);
int mg_scn_run_checks(const mg_scenario_run *r, const cJSON *payload, const mg_check *checks, size_t n, char *msg, size_t msglen);
void mg_scn_send_text(mg_scenario_run *r, mg_scn_conn *sc, const char *json, size_t len, const mg_step *shape, uint64_t now);
void mg_scn_send_str(mg_scenario_run *r, mg_scn_conn *sc, const char *json, uint64_t now);
int mg_scn_new_session(mg_scenario_run *r);
void mg_scn_note_seq_sent(mg_scenario_run *r, long seq, uint64_t now);
long mg_scn_seq_sent_before(const mg_scenario_run *r, uint64_t t);
void mg_scn_send_dispatch(mg_scenario_run *r, mg_scn_conn *sc, const char *t, const char *d, int withhold, const mg_step *shape, uint64_t now);
void mg_scn_send_ready(mg_scenario_run *r, mg_scn_conn *sc, int guilds, size_t size, const char *resume_url,
                       const mg_step *shape, uint64_t now);
void mg_scn_send_hello(mg_scenario_run *r, mg_scn_conn *sc, uint32_t interval, uint64_t now);
cJSON *mg_scn_take_op(mg_scn_conn *sc, int op, uint64_t *at, int *other_op);
mg_scn_conn *mg_scn_first_pending(mg_scenario_run *r);
mg_scn_conn *mg_scn_unexpected_conn(mg_scenario_run *r, uint64_t since);
int mg_scn_take_conn(mg_scenario_run *r, mg_scn_conn *sc, int accept, uint64_t now);
int mg_scn_client_gone_fail(mg_scenario_run *r, uint64_t now, const char *what);
int mg_scn_wait_until(mg_scenario_run *r, uint64_t deadline);
int mg_scn_check_identify(mg_scenario_run *r, const cJSON *p, const mg_check *extra, size_t nextra, uint64_t now);
int mg_scn_check_resume(mg_scenario_run *r, const cJSON *p, const mg_check *extra, size_t nextra, uint64_t now);
void mg_scn_answer_resume(mg_scenario_run *r, mg_scn_conn *sc, long from, uint64_t now);
int mg_scn_need_cur(mg_scenario_run *r, uint64_t now);
int mg_scn_code_matches(const mg_step *st, int code);
void mg_scn_describe_codes(const mg_step *st, char *out, size_t n);
int mg_scn_run_step(mg_scenario_run *r, const mg_step *st, uint64_t now);
/* Whether the scenario is sharded (several lanes at once). */
static inline int mg_scn_sharded(const mg_scenario_run *r) { return r->sc->shards.count > 0; }
/* What /gateway/bot says the shard count is (1 when not sharded). */
int mg_scn_reported_shards(const mg_scenario_run *r);
/* The shard of the lane being played. */
int mg_scn_lane_shard(const mg_scenario_run *r);
void mg_scn_where(const mg_scenario_run *r, char *out, size_t n);
int mg_scn_check_upgrade(mg_scenario_run *r, const mg_scn_conn *sc, uint64_t now);
/* scenario_shards.c: lanes, and what only sharded scenarios do */
int mg_scn_lanes_init(mg_scenario_run *r);
void mg_scn_lanes_free(mg_scenario_run *r);
/* "shard K" of the lane being played in a sharded scenario, else "". */
const char *mg_scn_shard_tag(const mg_scenario_run *r);
/* A sharded scenario's new connection: checked, accepted and greeted with
 * HELLO at once; its IDENTIFY or RESUME will say which lane it is. */
void mg_scn_open_sharded(mg_scenario_run *r, mg_scn_conn *sc, uint64_t now);
/* An IDENTIFY (op 2) or RESUME (op 6) of a sharded scenario: routes the
 * connection to its lane, checks the buckets and the budget. RUN_DONE:
 * queue the payload for the lane; RUN_WAIT: the gateway answered it
 * itself; RUN_FAIL. */
int mg_scn_route(mg_scenario_run *r, mg_scn_conn *sc, int op, const cJSON *payload, uint64_t now);
/* Asks the runner for a restart once every unfinished lane waits at one. */
void mg_scn_restart_barrier(mg_scenario_run *r, uint64_t now);
/* Every lane is done: the scenario-level checks and the summary. */
int mg_scn_complete(mg_scenario_run *r, uint64_t now);
void mg_scn_gateway_bot(void *app, uint64_t now, mg_gateway_bot *out);
/* scenario_stream.c */
int mg_scn_step_stream(mg_scenario_run *r, const mg_step *st, uint64_t now);
void mg_scn_stream_free(mg_scenario_run *r);
/* The payloads of every stream step, built before any client connects (a
 * step whose pool could not be built fails when it starts). */
void mg_scn_stream_pools_build(mg_scenario_run *r);
void mg_scn_stream_pools_free(mg_scenario_run *r);
/* scenario_urls.c */
void mg_scn_urls_init(mg_scenario_run *r);
void mg_scn_urls_free(mg_scenario_run *r);
const char *mg_scn_resume_url(const mg_scenario_run *r, const char *tmpl);
int mg_scn_check_downgrade(mg_scenario_run *r, uint64_t now);

#endif
