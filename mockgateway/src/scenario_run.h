/* Runs one parsed scenario against the connections a client makes: the
 * scenario app for the server (see server.h), and its verdict. */
#ifndef MG_SCENARIO_RUN_H
#define MG_SCENARIO_RUN_H

#include "scenario.h"
#include "server.h"
#include "session.h"
#include "sharding.h"
#include "transcript.h"

typedef struct mg_scn_conn mg_scn_conn;

/* One shard's script, a "lane": the connection entries that include the
 * shard, in file order, played as one sequence, beside the other lanes.
 * A scenario that is not sharded has one lane, the whole script. */
typedef struct mg_scn_lane {
    int shard;       /* its shard (0 when not sharded) */
    char tag[24];    /* "shard K" in messages of a sharded scenario, else "" */
    size_t *entries; /* indexes into sc->conns */
    size_t nentries;
    /* position: entry ci, step si; awaiting: before step 0 */
    size_t ci, si;
    int awaiting, done;
    uint64_t step_start;
    int phase;
    long counter;
    uint64_t phase_at;
    long mark; /* heartbeat/pong count at step start */
    mg_scn_conn *cur;
    /* the shard's session, for templates, RESUME checks and replay */
    mg_session *sess;
    long last_sent_seq; /* -1: none sent */
    struct mg_seq_time {
        long seq;
        uint64_t at;
    } *seq_times;
    size_t nseq_times, capseq_times;
    int ack_auto;
    uint32_t ack_delay_ms; /* ACKs go this long after the beat */
    unsigned restart_wait; /* waits at a restart step for restart number restart_wait */
    uint32_t restart_grace_ms;
    unsigned identifies, resumes, readies; /* for the summary and the all_ready check */
} mg_scn_lane;

/* An IDENTIFY of a sharded scenario, for the pacing check and the summary. */
typedef struct mg_scn_identify {
    uint64_t at;
    int shard, bucket, conn;
} mg_scn_identify;

typedef struct mg_scenario_run {
    mg_server *srv;
    const mg_scenario *sc;
    mg_transcript tr;
    const char *token; /* the token the client was given */
    uint64_t t0;
    mg_scn_lane *lanes;
    size_t nlanes;
    mg_scn_lane *lane; /* the lane being played: messages name its position (NULL: none) */
    mg_scn_conn **conns;
    size_t nconns, capconns;
    mg_session_store store;
    struct mg_pending_ack {
        mg_scn_conn *sc;
        uint64_t due;
    } *acks;
    size_t nacks, capacks;
    uint64_t last_identify_at; /* 0: none yet */
    /* Session starts: buckets and budget (checked in sharded scenarios),
     * and every IDENTIFY of a sharded scenario. */
    mg_start_limits starts;
    mg_scn_identify *idents;
    size_t nidents, capidents;
    char dead_url[128], downgraded_url[128]; /* see scenario_urls.c */
    int decoy_fd;
    struct mg_scn_stream *stream; /* the stream step under way (scenario_stream.c) */
    struct mg_scn_pool *pools;    /* the payloads of each stream step, built at init */
    size_t npools;
    uint64_t *arrivals;
    size_t narrivals;
    int done, failed;
    char failure[1024];
    int client_exited, client_status;
    uint64_t client_exit_at;
    /* A restart step: every lane reached it, and the runner is asked to
     * stop the client and start it again (mg_scenario_run_restarted). */
    int restart_wanted;
    uint32_t restart_grace_ms;
    unsigned restarts; /* done so far */
} mg_scenario_run;

/* Returns 0, or -1 when out of memory (then free it all the same). */
int mg_scenario_run_init(mg_scenario_run *r, mg_server *srv, const mg_scenario *sc, const char *token,
                         const char *const *secrets, uint64_t t0);
void mg_scenario_run_free(mg_scenario_run *r);
extern const mg_app_ops mg_scenario_run_ops;
/* The runner tells the scenario that the client process ended. */
void mg_scenario_run_client_exited(mg_scenario_run *r, int status, uint64_t now);
/* The runner restarted the client (a restart step): ok 0 when it had to
 * kill it (it did not exit within the grace period), which fails the
 * scenario. */
void mg_scenario_run_restarted(mg_scenario_run *r, int ok, int status, uint64_t now);
/* Advances on time alone (the runner calls this each loop turn). */
void mg_scenario_run_poll(mg_scenario_run *r, uint64_t now);
/* Adds a line of client output to the transcript. */
void mg_scenario_run_client_output(mg_scenario_run *r, const char *line, uint64_t now);

#endif
