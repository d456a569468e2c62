/*
 * stats.h - dgw-shards' statistics: one JSON line per shard from
 * dgw_conn_stats(), and a totals line with the process's RSS, on stderr.
 *
 *   {"stats":"shard","shard":3,"state":"CONNECTED","attempts":1,
 *    "identifies":1,"resumes":0,"ended_by":{"server_close":0,...},
 *    "bytes_in":..,"bytes_out":..,"payload_bytes_in":..,"events":..,
 *    "dispatches":..,"commands_sent":..,"commands_queued":..,
 *    "commands_dropped":..,"heartbeats_sent":..,"heartbeats_acked":..,
 *    "latency_ms":12,"latency_avg_ms":11,"memory":4712}
 *   {"stats":"totals","shards":8,"connected":8,...the sums...,
 *    "latency_avg_ms":..,"latency_max_ms":..,"memory":..,"rss_kib":..,
 *    "uptime_ms":..,"all_connected_ms":..,"ideal_ms":..,
 *    "session_starts_left":..}
 */
#ifndef SHARDS_STATS_H
#define SHARDS_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"

/* Prints the per-shard lines (when per_shard) and the totals line. */
void stats_print(const app *a, bool per_shard, uint64_t now);

#endif
