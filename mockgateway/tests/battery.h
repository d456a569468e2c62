/* The attack battery of issue 12 (README.md, "The battery"): battery.c
 * runs the servers, the honest clients, the phases and the verdict;
 * battery_attacks.c holds the attacks. */
#ifndef MG_BATTERY_H
#define MG_BATTERY_H

#include <stddef.h>

#include "wsclient.h"

/* The servers run with these, so that timeouts come within a test. */
#define UPGRADE_TIMEOUT_MS 3000
#define HEARTBEAT_INTERVAL_MS 2000 /* identify deadline 4 s, heartbeat deadline 3 s */
#define MAX_OUTPUT_MIB "16"        /* --max-output: the cap across connections */
#define LINGER_WAIT_MS 2500        /* the server's linger (2 s), and a margin */
/* Attacks that take milliseconds repeat for this long, so that the honest
 * clients' latency is measured while they go on. */
#define SUSTAIN_MS 4000
#if defined(__SANITIZE_ADDRESS__)
#define CHURN_GROWTH_CAP_MIB 64.0 /* freed memory waits in ASan's quarantine */
#else
#define CHURN_GROWTH_CAP_MIB 8.0
#endif

#define HEARTBEAT "{\"op\":1,\"d\":null}"
#define IDENTIFY_OK                                                                                          \
    "{\"op\":2,\"d\":{\"token\":\"test-token\",\"intents\":1,\"properties\":{\"os\":\"l\",\"browser\":\"b\"," \
    "\"device\":\"d\"}}}"
#define IDENTIFY_WRONG                                                                                  \
    "{\"op\":2,\"d\":{\"token\":\"wrong\",\"intents\":1,\"properties\":{\"os\":\"l\",\"browser\":\"b\"," \
    "\"device\":\"d\"}}}"

/* The two servers under attack. */
enum { PLAIN, TLS };
extern struct bt_server {
    int pid, port;
    char log[128]; /* its stderr (--log-level warn) */
} bt_srv[2];
extern char bt_cert_pem[128];

/* One attack's results. */
struct bt_phase {
    const char *name;
    int server; /* PLAIN or TLS: the one attacked */
    const char *expect;
    char seen[200];
    double response_ms; /* slowest attack connection to get its response */
    double bound_ms;
    int ok; /* the responses were right and within bound_ms */
    double t0;
    double quiet_p99;   /* the busier of the quiet seconds before and after it */
    double p99, max;    /* during it */
    size_t samples;
    double cap_ms;      /* what p99 must stay under */
    int latency_ok;
    int repeated;       /* its latency was over the cap: the attack ran again, that run is judged */
    double peak_mib;
    long log_from; /* the attacked server's log size when it began */
};

double bt_now_ms(void);
void bt_sleep_ms(double ms);
/* A field of /proc/PID/status in KiB (VmHWM, VmRSS), or -1. */
long bt_proc_kib(int pid, const char *field);
/* Lines of a server's log since byte offset from that contain needle. */
int bt_log_count(int which, long from, const char *needle);

/* A quiet second, then the phase begins: the server's peak RSS is reset
 * and honest samples are tagged with it. */
struct bt_phase *bt_begin(const char *name, int server, const char *expect, double bound_ms);
/* A quiet second, then the phase's latency and memory are judged. */
void bt_end(struct bt_phase *p);
/* Marks the phase failed with a reason (the first one is kept). */
void bt_fail(struct bt_phase *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a repeated attack goes another round (SUSTAIN_MS). */
int bt_again(const struct bt_phase *p);
/* Records the time since t_start as a response time. */
void bt_took(struct bt_phase *p, double t_start);

/* Clients: TCP or TLS to a server; upgrade and HELLO; and IDENTIFY. */
int bt_connect(int which, tws *c);
int bt_open_ws(int which, tws *c);
int bt_open_identified(int which, tws *c);
/* Reads until a message whose text contains want (returns 0; want NULL:
 * none does), or a close (returns its code), or the timeout (-1). */
int bt_read_until_text(tws *c, const char *want, int timeout_ms);
/* Reads until the close frame and returns its code (0: none before EOF or
 * the timeout). */
int bt_close_code_of(tws *c, int timeout_ms);

/* The attacks, in order (battery_attacks.c). */
extern void (*const bt_attacks[])(void);
extern const size_t bt_nattacks;

#endif
