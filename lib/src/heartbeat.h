/* heartbeat.h - the heartbeat schedule and ACK accounting (PROTOCOL.md 3.2,
 * 3.5, 3.6), as plain data: conn.c asks what is due and tells what was
 * sent and acknowledged.
 *
 * ACKs come back in the order the beats went out (one TCP stream), so each
 * ACK settles the oldest unacknowledged beat. A connection is a zombie
 * when a regular beat is due and some beat has gone a whole interval
 * without its ACK; a beat the server asked for (op 1) just before the
 * regular one has not had its round trip yet and does not count. */
#ifndef DGW_HEARTBEAT_H
#define DGW_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#define DGW_HB_TRACK 8 /* send times kept for unacknowledged beats */

typedef struct dgw_heartbeat {
    uint32_t interval;      /* from HELLO; 0: not running */
    uint64_t next;          /* when the next regular beat is due */
    uint64_t unacked[DGW_HB_TRACK]; /* send times, oldest first (a ring) */
    uint8_t head, count;    /* ring of the oldest DGW_HB_TRACK ... */
    uint32_t outstanding;   /* ... of this many unacknowledged beats */
    bool deferred;          /* a beat is owed and waits for a send slot */
    int64_t latency;        /* last round trip in ms, -1 before any */
} dgw_heartbeat;

typedef enum dgw_hb_due {
    DGW_HB_NOTHING,
    DGW_HB_BEAT,   /* send a regular beat now */
    DGW_HB_ZOMBIE  /* an ACK is a whole interval late */
} dgw_hb_due;

/* A new connection: nothing scheduled, nothing owed. Keeps latency. */
void dgw_hb_reset(dgw_heartbeat *hb);
/* The first HELLO: beats every interval, the first at interval * jitter,
 * jitter being r / 2^32 for a uniform random r. */
void dgw_hb_start(dgw_heartbeat *hb, uint32_t interval, uint64_t now,
                  uint32_t r);
/* A repeated HELLO: later beats use the new interval. Beats already
 * owed stay owed (a HELLO is no ACK). */
void dgw_hb_change_interval(dgw_heartbeat *hb, uint32_t interval,
                            uint64_t now);
/* What is due at now. */
dgw_hb_due dgw_hb_check(const dgw_heartbeat *hb, uint64_t now);
/* A beat went out (regular: the scheduled one; else asked for by op 1 or
 * deferred earlier). */
void dgw_hb_sent(dgw_heartbeat *hb, uint64_t now, bool regular);
/* A beat is owed but had no send slot (a server flooding op 1 used them
 * up): it goes out when one frees. A deferred regular beat still moves the
 * schedule on, so nothing is due again until the next interval. */
void dgw_hb_defer(dgw_heartbeat *hb, uint64_t now, bool regular);
/* An ACK arrived. Returns the round trip of the beat it settles, or -1 when
 * no beat was owed (servers send unsolicited ACKs; they change nothing). */
int64_t dgw_hb_acked(dgw_heartbeat *hb, uint64_t now);

#endif
