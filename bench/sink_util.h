/* sink_util.h - what the end-to-end sinks of benchmark 2 (dgw_sink,
 * byte_sink) share: their clocks and a plain TCP connect. */
#ifndef DGW_BENCH_SINK_UTIL_H
#define DGW_BENCH_SINK_UTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t sink_now_ns(void);
/* User + system CPU seconds of the process so far. */
double sink_cpu_s(void);
/* A TCP connection to host:port with TCP_NODELAY; -1 (errno set) on error. */
int sink_tcp_connect(const char *host, uint16_t port);

#endif
