/* Scenario files: a script of what the mock gateway does and expects over
 * one or more successive connections of one client. The format is
 * specified in scenarios/README.md.
 *
 * mg_scenario_parse() is a pure function over a byte buffer (the fuzz
 * target calls it on arbitrary bytes); mg_scenario_load() reads a file. */
#ifndef MG_SCENARIO_H
#define MG_SCENARIO_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ws.h"

typedef enum mg_step_kind {
    MG_STEP_HELLO,
    MG_STEP_HANDSHAKE,
    MG_STEP_SEND,
    MG_STEP_DISPATCH,
    MG_STEP_STREAM,
    MG_STEP_READY,
    MG_STEP_RECONNECT,
    MG_STEP_INVALID_SESSION,
    MG_STEP_HEARTBEAT_REQUEST,
    MG_STEP_HEARTBEAT_ACK,
    MG_STEP_ACK_MODE,
    MG_STEP_PING,
    MG_STEP_CLOSE,
    MG_STEP_DROP,
    MG_STEP_REJECT,
    MG_STEP_SLEEP,
    MG_STEP_EXPECT,
    MG_STEP_EXPECT_HEARTBEAT,
    MG_STEP_EXPECT_IDENTIFY,
    MG_STEP_EXPECT_RESUME,
    MG_STEP_EXPECT_CLOSE,
    MG_STEP_EXPECT_NO_RECONNECT,
    MG_STEP_RESTART,
    MG_STEP__COUNT
} mg_step_kind;

/* Name of a step kind as written in scenario files. */
const char *mg_step_kind_name(mg_step_kind k);

typedef enum { MG_CHECK_EQUALS, MG_CHECK_NOT_EQUALS, MG_CHECK_EXISTS, MG_CHECK_ABSENT, MG_CHECK_TYPE } mg_check_kind;

/* A field check on a payload the client sent: path is a JSON pointer
 * ("/d/seq"); value may be a template string ("{{seq}}"). */
typedef struct mg_check {
    mg_check_kind kind;
    char path[128];
    cJSON *value;  /* EQUALS/NOT_EQUALS: owned */
    char type[16]; /* TYPE: string|number|integer|object|array|bool|null */
} mg_check;

typedef enum { MG_HS_IDENTIFY, MG_HS_RESUME, MG_HS_ANY } mg_handshake_expect;

typedef struct mg_step {
    mg_step_kind kind;
    int index; /* position in its connection's step list, for messages */
    uint32_t within_ms, min_delay_ms, ms;
    int op;
    cJSON *payload;   /* send: object payload (owned) */
    char *raw;        /* send: payload given as a string (owned) */
    char *t;          /* dispatch: event name */
    cJSON *d;         /* dispatch: data (owned) */
    int count;
    uint32_t interval_ms;
    int withhold;
    int flag;         /* invalid_session: resumable; ack_mode: auto; handshake/expect_identify: ready */
    int allow_reconnect, allow_drop, check_seq, send_hello;
    mg_handshake_expect expect;
    int guilds;
    size_t size;      /* ready / handshake: minimum size of READY's d */
    int code;
    char *reason, *body, *headers; /* headers: "Name: value\r\n" lines */
    int status;
    int codes[16];
    size_t ncodes;
    int codes_negated; /* expect_close: codes are the forbidden ones */
    mg_check *checks;
    size_t nchecks;
    /* wire shaping for send/dispatch/ready */
    mg_splits message_splits, frame_splits, write_splits;
    uint32_t write_delay_ms;
    char *ping; /* ping payload (ping step, or between frames) */
    int has_ping;
    uint32_t interval; /* hello: heartbeat_interval override */
    char *resume_url;  /* handshake/ready/expect_identify: READY's resume URL template */
    int drop;          /* close: end TCP right after the close frame */
    int hold;          /* send/dispatch/ready: cork TCP (see scenario_wire.c) */
    int zpayload;      /* send/dispatch/ready: an mg_zpayload (payload compression) */
    /* stream: count dispatches of t/d, or (t NULL) generated from seed with
     * distinct payloads cycled; batch payloads queued at a time; the last
     * keep of them kept for replay; zlib_parts: with zlib-stream (and JSON),
     * messages spliced from parts compressed beforehand (scenario_stream.c) */
    uint32_t seed;
    int distinct, batch, keep, zlib_parts;
} mg_step;

typedef struct mg_scenario_conn {
    uint32_t within_ms;    /* the client must connect within this (from the previous step's end) */
    uint32_t min_delay_ms; /* ...and not sooner than this */
    uint64_t shard_mask;   /* the shards whose script this entry is part of (bit i: shard i); 0: all */
    uint32_t absent_ms;    /* > 0: the client must NOT connect for this long (it refuses to) */
    mg_step *steps;
    size_t nsteps;
} mg_scenario_conn;

/* What a scenario needs from the client besides being a correct Discord
 * client (top-level "requires"; a "shards" object and a restart step imply
 * theirs). A runner may skip a scenario whose client lacks one. */
enum {
    MG_REQUIRES_SHARDING = 1u << 0, /* runs the shards /gateway/bot names, IDENTIFYs paced per bucket */
    MG_REQUIRES_RESTART = 1u << 1,  /* SIGTERM, then a new start with the same arguments, RESUMEs its sessions */
    /* Optional protocol features, asked for through client_args. */
    MG_REQUIRES_ZLIB_STREAM = 1u << 2,
    MG_REQUIRES_ZSTD_STREAM = 1u << 3,
    MG_REQUIRES_ETF = 1u << 4,
    MG_REQUIRES_PAYLOAD_COMPRESSION = 1u << 5,
    MG_REQUIRES_REQUEST_CHANNEL_INFO = 1u << 6,
    /* What `mockgateway run` assumes a client offers unless told otherwise
     * (--supports adds, --without takes away): every feature of one
     * connection; a client that lacks one fails its scenarios. */
    MG_REQUIRES_DEFAULT = MG_REQUIRES_ZLIB_STREAM | MG_REQUIRES_ZSTD_STREAM | MG_REQUIRES_ETF |
                          MG_REQUIRES_PAYLOAD_COMPRESSION | MG_REQUIRES_REQUEST_CHANNEL_INFO
};
/* The names of the bits above, in order (NULL-terminated). */
extern const char *const mg_requirement_names[];

#define MG_SCENARIO_MAX_SHARDS 64 /* shards of a sharded scenario (its shard_mask bits) */

/* A sharded scenario: the client runs `count` shards at once, one script
 * per shard (scenarios/README.md, "Sharded scenarios"). */
typedef struct mg_scenario_shards {
    int count;                  /* 0: not sharded (one connection at a time) */
    int max_concurrency;        /* buckets: shard_id % max_concurrency */
    uint32_t identify_window_ms; /* one IDENTIFY per bucket per window */
    int gateway_bot_shards;     /* what GET /gateway/bot says (default count) */
    uint32_t total, remaining;  /* session_start_limit of GET /gateway/bot */
    uint32_t reset_after_ms;
    int all_ready;              /* every shard must get READY or RESUMED */
} mg_scenario_shards;

typedef struct mg_scenario {
    char *name, *rule, *description, *path;
    char *compress; /* "zlib-stream", "zstd-stream" or NULL: what the client must ask for */
    char *encoding; /* "json", "etf" or NULL (either): what the client must ask for */
    char *session_id; /* a fixed id for the sessions READY names (hex digits), or NULL */
    uint32_t heartbeat_interval;
    int version; /* required ?v=, 0: 9 or 10 */
    uint32_t timeout_ms;
    char **client_args;
    size_t nclient_args;
    unsigned max_commands;
    uint32_t commands_window_ms;
    unsigned max_connections;
    uint32_t connections_window_ms;
    uint32_t identify_interval_ms; /* two IDENTIFYs at least this far apart (0: no check) */
    unsigned requires;             /* MG_REQUIRES_*, declared and implied */
    mg_scenario_shards shards;
    mg_scenario_conn *conns;
    size_t nconns;
} mg_scenario;

/* Parses a scenario from json[0..len). filename is used in messages only
 * (may be NULL). Returns 0, or -1 with a message naming the file, the
 * connection and step index and the field in err. On error out is left
 * empty (nothing to free); on success free it with mg_scenario_free. */
int mg_scenario_parse(const char *json, size_t len, const char *filename, mg_scenario *out, char *err,
                      size_t errlen);
/* Reads and parses a file. */
int mg_scenario_load(const char *path, mg_scenario *out, char *err, size_t errlen);
void mg_scenario_free(mg_scenario *sc);

/* Resolves a JSON pointer ("/d/seq", "" for the root); NULL if absent. */
const cJSON *mg_json_pointer(const cJSON *root, const char *path);

#endif
