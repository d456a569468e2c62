/* heartbeat.c - see heartbeat.h. */
#include "heartbeat.h"

#include <string.h>

#include "mutant.h"

void dgw_hb_reset(dgw_heartbeat *hb)
{
    int64_t latency = hb->latency;
    memset(hb, 0, sizeof *hb);
    hb->latency = latency;
}

void dgw_hb_start(dgw_heartbeat *hb, uint32_t interval, uint64_t now,
                  uint32_t r)
{
    if (DGW_MUTANT(M_HEARTBEAT_INTERVAL_DOUBLED))
        interval *= 2;
    hb->interval = interval;
    /* Uniform jitter in [0, interval): spreads the beats of many clients
     * that connected at once. */
    hb->next = now + (((uint64_t)interval * r) >> 32);
    if (DGW_MUTANT(M_NO_JITTER))
        hb->next = now + interval;
}

void dgw_hb_change_interval(dgw_heartbeat *hb, uint32_t interval,
                            uint64_t now)
{
    hb->interval = interval;
    if (hb->next > now + interval)
        hb->next = now + interval;
}

dgw_hb_due dgw_hb_check(const dgw_heartbeat *hb, uint64_t now)
{
    if (hb->interval == 0 || now < hb->next)
        return DGW_HB_NOTHING;
    /* A beat sent a whole interval before this one was due and still
     * unanswered: the connection is dead. A deferred regular beat counts
     * as sent when it was due. */
    uint64_t limit = hb->next >= hb->interval ? hb->next - hb->interval : 0;
    if (hb->count > 0 && hb->unacked[hb->head] <= limit &&
        !DGW_MUTANT(M_NO_ZOMBIE_CHECK))
        return DGW_HB_ZOMBIE;
    if (DGW_MUTANT(M_ZOMBIE_ONE_ACK_FLAG) && hb->outstanding > 0)
        return DGW_HB_ZOMBIE;
    return DGW_HB_BEAT;
}

static void next_regular(dgw_heartbeat *hb, uint64_t now)
{
    hb->next += hb->interval;
    if (hb->next <= now) /* the caller slept through beats */
        hb->next = now + hb->interval;
}

void dgw_hb_defer(dgw_heartbeat *hb, uint64_t now, bool regular)
{
    hb->deferred = true;
    if (regular)
        next_regular(hb, now);
}

void dgw_hb_sent(dgw_heartbeat *hb, uint64_t now, bool regular)
{
    if (hb->count < DGW_HB_TRACK) {
        hb->unacked[(hb->head + hb->count) % DGW_HB_TRACK] = now;
        hb->count++;
    }
    if (hb->outstanding < UINT32_MAX)
        hb->outstanding++;
    hb->deferred = false;
    if (regular)
        next_regular(hb, now);
}

int64_t dgw_hb_acked(dgw_heartbeat *hb, uint64_t now)
{
    if (hb->outstanding == 0)
        return -1;
    hb->outstanding--;
    if (hb->count == 0) /* an older beat past the ring: no time kept */
        return -1;
    /* Beats beyond the ring are newer than all in it; while any of those
     * is owed, the oldest in the ring is the one this ACK settles. */
    uint64_t sent = hb->unacked[hb->head];
    hb->head = (uint8_t)((hb->head + 1) % DGW_HB_TRACK);
    hb->count--;
    hb->latency = (int64_t)(now - sent);
    return hb->latency;
}
