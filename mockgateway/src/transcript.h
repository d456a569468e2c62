/* A scenario's transcript: what was sent, received and expected, with
 * times relative to the scenario start. Secrets are redacted on the way in. */
#ifndef MG_TRANSCRIPT_H
#define MG_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MG_TRANSCRIPT_PAYLOAD_MAX 600 /* longer payloads are cut in the text */

typedef struct mg_transcript {
    mg_buf text;
    uint64_t t0;
    const char *const *secrets; /* NULL-terminated, redacted */
    size_t max_bytes;           /* stop growing after this (a note is added) */
    int truncated;
} mg_transcript;

void mg_transcript_init(mg_transcript *tr, uint64_t t0, const char *const *secrets);
void mg_transcript_free(mg_transcript *tr);
/* Adds a line "[  12.345] #conn MARK text" (conn 0: no connection tag).
 * mark: "->" sent to the client, "<-" received, "??" expectation, "!!"
 * mismatch, ".." note. */
void mg_transcript_add(mg_transcript *tr, uint64_t now, int conn, const char *mark, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Adds a payload, redacting d.token and cutting it to a readable length. */
void mg_transcript_payload(mg_transcript *tr, uint64_t now, int conn, const char *mark, const char *prefix,
                           const char *json, size_t len);
const char *mg_transcript_text(mg_transcript *tr);

#endif
