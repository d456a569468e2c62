/* gen.h - a deterministic generator of realistic gateway traffic: a READY
 * of about 1 MiB with many guilds, then a seeded mix of MESSAGE_CREATE,
 * PRESENCE_UPDATE, TYPING_START and GUILD_MEMBER_UPDATE with the sizes real
 * bots see. Same seed, same bytes, on every machine. The benchmarks use it,
 * and so does the mock gateway's scenario step "stream"
 * (mockgateway/src/scenario_stream.c) for its generated payloads. */
#ifndef DGW_TESTKIT_GEN_H
#define DGW_TESTKIT_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct gen {
    uint64_t s;
    int64_t seq;
} gen;

void gen_init(gen *g, uint64_t seed);
/* Writes one payload (NUL-terminated) into out; returns its length. */
size_t gen_hello(gen *g, char *out, size_t cap);
size_t gen_ready(gen *g, char *out, size_t cap, size_t target_bytes);
size_t gen_dispatch(gen *g, char *out, size_t cap);

#endif
