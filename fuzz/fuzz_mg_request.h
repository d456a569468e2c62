/* fuzz_mg_request.h - the input format of fuzz_mg_request's connection
 * part, shared with the seed generator (gen_corpus.c).
 *
 * An input is a request head, then a script:
 *   - starting with 'G': the bytes up to and including the first blank line
 *     (or all of them) are what the client sends first;
 *   - otherwise byte 0 picks a canned upgrade request: bits 0-1 compress
 *     (none, zlib-stream, zstd-stream, none), bits 2-3 the version (10, 9,
 *     7, 10), bits 4-6 the most bytes one recv returns (0: no limit, else
 *     1 << n), bit 7 ?encoding=etf.
 * The script is a list of operations, each a byte (op = byte % FZ_MG_OPS)
 * and its arguments; bytes of client frames build up until FZ_MG_DELIVER
 * hands them to the server as one read. */
#ifndef FZ_MG_REQUEST_H
#define FZ_MG_REQUEST_H

enum fz_mg_op {
    FZ_MG_RAW = 0,      /* len byte, then that many raw bytes */
    FZ_MG_FRAME = 1,    /* first byte (FIN/RSV/opcode), len byte, payload: masked */
    FZ_MG_PAYLOAD = 2,  /* index byte: one of the canned payloads, masked text */
    FZ_MG_REPEAT = 3,   /* count byte: 1 + count heartbeats, masked text */
    FZ_MG_DELIVER = 4,  /* the bytes so far become one read; one loop turn */
    FZ_MG_TURNS = 5,    /* count byte: 1 + count % 64 loop turns */
    FZ_MG_WINDOW = 6,   /* byte: the client reads (odd) or stops reading (even) */
    FZ_MG_EOF = 7,      /* the client closes its side */
    FZ_MG_OPS = 8
};

/* The canned payloads of FZ_MG_PAYLOAD (index % FZ_MG_NPAYLOADS). */
#define FZ_MG_IDENTIFY(tok)                                                   \
    "{\"op\":2,\"d\":{\"token\":\"" tok "\",\"intents\":513,"                 \
    "\"properties\":{\"os\":\"linux\",\"browser\":\"fz\",\"device\":\"fz\"}}}"
#define FZ_MG_PAYLOADS                                                        \
    {                                                                         \
        "{\"op\":1,\"d\":null}", FZ_MG_IDENTIFY("test-token"),                \
            FZ_MG_IDENTIFY("wrong"), FZ_MG_IDENTIFY("test-token\\u0000x"),    \
            "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"x\"," \
            "\"seq\":1}}",                                                    \
            "{\"op\":3,\"d\":{\"since\":null,\"activities\":[],"              \
            "\"status\":\"online\",\"afk\":false}}",                          \
            "{\"op\":42,\"d\":null}", "{\"op\":1,\"d\":null} trailing",       \
            "{nope", "{\"op\":8,\"d\":{\"guild_id\":\"1\",\"limit\":0}}"      \
    }
#define FZ_MG_NPAYLOADS 10

#endif
