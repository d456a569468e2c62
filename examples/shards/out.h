/*
 * out.h - what dgw-shards prints: gateway payloads as JSON lines on stdout,
 * tagged with the shard; its own story and the statistics on stderr. The
 * token is replaced by [REDACTED] wherever it would appear.
 *
 * stdout is fully buffered and flushed by out_flush() before the loop
 * sleeps: one write per wake-up, not one per event, and a reader of the
 * pipe still sees every line as soon as the loop is idle. stderr is
 * line-buffered, so that a crash loses no line of the log.
 */
#ifndef SHARDS_OUT_H
#define SHARDS_OUT_H

#include <dgw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The monotonic clock in milliseconds: every now_ms given to libdgw. */
uint64_t now_ms(void);

/* secret: the token (kept as a pointer); level: LOG_*; events: print
 * payloads on stdout (false for --quiet). Sets the stream buffers. */
void out_init(const char *secret, int level, bool events);

/* "error", "warn", "info" or "debug"; false for anything else. */
bool out_parse_level(const char *s, int *level);

/* Milliseconds since out_init(): the time in log lines. */
uint64_t out_elapsed(uint64_t now);

__attribute__((format(printf, 2, 3)))
void logmsg(int level, const char *fmt, ...);

/* {"shard":3,"op":0,"t":"MESSAGE_CREATE","s":12,"d":<d as received>} */
void out_event(uint32_t shard, const dgw_event *ev);

/* A whole line of JSON for stderr (statistics), written as given. */
void out_stat_line(const char *line, size_t len);

void out_flush(void);

#endif
