/*
 * state.h - the state file: each shard's session, saved on exit so that the
 * next start RESUMEs instead of spending session starts.
 *
 *   {"version":1,"shard_count":8,"shards":[
 *     {"shard":0,"shard_count":8,"session_id":"...","seq":42,
 *      "resume_url":"wss://..."}, ...]}
 *
 * Sessions belong to a shard count: [3, 8] and [3, 16] are different
 * shards, so a file saved for another count is not used. Writing is atomic
 * (a temporary file in the same directory, fsync, rename): a crash leaves
 * the old file or the new one, never half of one.
 */
#ifndef SHARDS_STATE_H
#define SHARDS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct saved_session {
    uint32_t shard;
    const char *session_id;
    int64_t seq;            /* -1: none */
    const char *resume_url; /* NULL: none */
} saved_session;

typedef struct state_file {
    bool found;             /* false: there was no file */
    uint32_t shard_count;
    saved_session *s;       /* strings point into doc */
    size_t n;
    void *doc;              /* the parsed file (cJSON) */
} state_file;

/* Reads path. A missing file is no error (found = false). Entries that are
 * not well-formed are skipped and counted in *skipped. False, with a
 * reason in err, when the file cannot be read or is not a state file. */
bool state_load(const char *path, state_file *out, size_t *skipped, char *err,
                size_t errlen);
void state_file_free(state_file *st);

/* Writes n sessions of shard_count atomically to path. False, with a
 * reason in err, on any failure (the old file is then untouched). */
bool state_save(const char *path, uint32_t shard_count,
                const saved_session *s, size_t n, char *err, size_t errlen);

#endif
