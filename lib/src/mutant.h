/* mutant.h - the mutation points of the mutation harness
 * (conformance/mutants.sh).
 *
 * A mutant is libdgw with exactly one protocol rule broken. The scenario
 * suite is as strict as the mutants it fails; the harness runs the suite
 * against each and reports which scenarios kill it.
 *
 * In the library everyone builds, DGW_MUTANT(m) is the constant 0: every
 * hook is a branch never taken, which the optimiser removes (gcc -O2 emits
 * the same code for every file with a hook as for the file without). lib/meson.build builds the sources a second time
 * with -DDGW_MUTANTS into a static library that only dgw-client-mutant
 * links; there DGW_MUTANT(m) compares with dgw_mutant, which that
 * program sets in main() from its DGW_MUTANT environment variable. */
#ifndef DGW_MUTANT_H
#define DGW_MUTANT_H

/* X(id, name, what the mutant does, the rule it breaks). Hooks in lib/src
 * and in examples/threaded-client/main.c (the driver, for what a driver
 * gets wrong or a configuration sets). */
#define DGW_MUTANT_LIST(X)                                                     \
    /* RECONNECT, INVALID_SESSION and close codes */                           \
    X(M_RECONNECT_CLOSE_1000, "reconnect-close-1000",                          \
      "closes with 1000 on RECONNECT",                                         \
      "PROTOCOL.md 3.7, 3.9; pitfall 6: close to reconnect with a code "       \
      "other than 1000/1001")                                                  \
    X(M_RECONNECT_IDENTIFIES, "reconnect-identifies",                          \
      "starts a new session after RECONNECT",                                  \
      "PROTOCOL.md 3.7: RECONNECT means reconnect and RESUME")                 \
    X(M_INVALID_SESSION_NO_WAIT, "invalid-session-no-wait",                    \
      "IDENTIFYs at once after INVALID_SESSION d=false (only the 5 s window "  \
      "holds it)",                                                             \
      "PROTOCOL.md 3.8; pitfall 7: wait a random 1-5 s, then IDENTIFY")        \
    X(M_INVALID_TRUE_IDENTIFIES, "invalid-true-identifies",                    \
      "starts a new session after INVALID_SESSION d=true",                     \
      "PROTOCOL.md 3.8: d=true means RESUME")                                  \
    X(M_INVALID_FALSE_RESUMES, "invalid-false-resumes",                        \
      "keeps the session after INVALID_SESSION d=false and RESUMEs",           \
      "PROTOCOL.md 3.8: d=false means a new session")                          \
    X(M_RESUME_AFTER_4007, "resume-after-4007",                                \
      "keeps the session after close 4007 and RESUMEs",                        \
      "PROTOCOL.md 4: 4007 (and 4003, 4009) start a new session")              \
    X(M_IDENTIFY_AFTER_4000, "identify-after-4000",                            \
      "drops the session after close 4000 and IDENTIFYs",                      \
      "PROTOCOL.md 4: 4000 keeps the session")                                 \
    X(M_SERVER_1001_ENDS_SESSION, "server-1001-ends-session",                  \
      "treats the server's close 1001 like its own: the session ends",         \
      "PROTOCOL.md 4: codes outside 4000-4999 from the server: reconnect "     \
      "and resume")                                                            \
    X(M_DROP_ENDS_SESSION, "drop-ends-session",                                \
      "drops the session when TCP ends without a close frame",                 \
      "PROTOCOL.md 3.9: a dropped connection keeps the session")               \
    X(M_RECONNECT_AFTER_4004, "reconnect-after-4004",                          \
      "reconnects after close 4004", "PROTOCOL.md 4: 4004 is fatal")           \
    X(M_NO_CLOSE_ECHO, "no-close-echo",                                        \
      "answers the server's close frame with an empty one",                    \
      "PROTOCOL.md 4 note, RFC 6455 5.5.1: echo the server's code")            \
    X(M_EOF_BEFORE_LAST_BYTES, "eof-before-last-bytes",                        \
      "(driver) calls recv_eof() while the last bytes are still unfed",        \
      "PROTOCOL.md 4 note; pitfall 17: feed every byte before the end")        \
    /* heartbeats */                                                           \
    X(M_NO_JITTER, "no-jitter",                                                \
      "sends the first heartbeat a whole interval after HELLO",                \
      "PROTOCOL.md 3.2; pitfall 4: first beat after interval x random[0,1)")   \
    X(M_HEARTBEAT_INTERVAL_DOUBLED, "heartbeat-interval-doubled",              \
      "beats every 2 x heartbeat_interval",                                    \
      "PROTOCOL.md 3.2: beat every heartbeat_interval")                        \
    X(M_HEARTBEAT_D_NULL, "heartbeat-d-null",                                  \
      "sends d null in every heartbeat",                                       \
      "PROTOCOL.md 2 (op 1): d is the last s")                                 \
    X(M_HEARTBEAT_D_STALE, "heartbeat-d-stale",                                \
      "sends the s it had at HELLO in every heartbeat, never updated",         \
      "PROTOCOL.md 2 (op 1): d is the last s")                                 \
    X(M_SEQ_NOT_RESET, "seq-not-reset",                                        \
      "keeps the old session's s when a session ends",                         \
      "PROTOCOL.md 3.3 note: a new session's beats carry null until its "      \
      "first dispatch")                                                        \
    X(M_REPLAY_SEQ_IGNORED, "replay-seq-ignored",                              \
      "does not take s from replayed dispatches and RESUMED",                  \
      "PROTOCOL.md 3.4; pitfall 9: track s from every dispatch")               \
    X(M_OP1_ANSWERED_LATE, "op1-answered-late",                                \
      "answers a server op 1 only with the next regular beat",                 \
      "PROTOCOL.md 3.6: beat at once")                                         \
    X(M_NO_ZOMBIE_CHECK, "no-zombie-check",                                    \
      "never closes a connection whose beats go unacknowledged",               \
      "PROTOCOL.md 3.5: no ACK when the next beat is due: zombie, close, "     \
      "resume")                                                                \
    X(M_ZOMBIE_ONE_ACK_FLAG, "zombie-one-ack-flag",                            \
      "keeps one 'acked' flag: any beat unanswered when the regular beat is "  \
      "due is a zombie",                                                       \
      "PROTOCOL.md 3.5 note; pitfall 5: ACKs settle beats oldest first")       \
    X(M_HELLO_IS_ACK, "hello-is-ack",                                          \
      "counts a repeated HELLO as a heartbeat ACK",                            \
      "PROTOCOL.md 3.5 note; pitfall 5: a repeated HELLO is no ACK")           \
    X(M_ZOMBIE_CLOSE_1000, "zombie-close-1000",                                \
      "closes a zombie connection with 1000",                                  \
      "PROTOCOL.md 3.5: close with a code other than 1000/1001")               \
    /* IDENTIFY and READY */                                                   \
    X(M_IDENTIFY_BEFORE_HELLO, "identify-before-hello",                        \
      "sends IDENTIFY right after the 101, before HELLO",                      \
      "PROTOCOL.md 3.1; porting.md 2: nothing is valid before HELLO")          \
    X(M_IDENTIFY_NO_PROPERTIES, "identify-no-properties",                      \
      "leaves properties out of IDENTIFY",                                     \
      "PROTOCOL.md 3.3: IDENTIFY carries properties {os, browser, device}")    \
    X(M_NO_IDENTIFY_WINDOW, "no-identify-window",                              \
      "(driver config) IDENTIFYs without the 5 s spacing",                     \
      "PROTOCOL.md 5; pitfall 13: one IDENTIFY per 5 s")                       \
    X(M_NO_READY_TIMEOUT, "no-ready-timeout",                                  \
      "(driver config) waits for READY or RESUMED forever",                    \
      "PROTOCOL.md 3.3 note; pitfall 16: give up on READY")                    \
    X(M_REFUSE_LONG_EVENT_NAME, "long-event-name-refused",                     \
      "fails the connection on an event name of 64 bytes or more",             \
      "PROTOCOL.md 2: t is any string")                                        \
    /* resume URL */                                                           \
    X(M_RESUME_AT_GATEWAY_URL, "resume-at-gateway-url",                        \
      "resumes at the gateway URL, ignoring resume_gateway_url",               \
      "PROTOCOL.md 3.4; pitfall 9: resume at resume_gateway_url")              \
    X(M_NO_RESUME_URL_FALLBACK, "no-resume-url-fallback",                      \
      "keeps trying a resume URL that refuses connections",                    \
      "PROTOCOL.md 3.4 note; pitfall 14: fall back to the gateway URL")        \
    X(M_RESUME_URL_DOWNGRADE, "resume-url-downgrade",                          \
      "accepts a ws:// resume_gateway_url from a wss:// gateway",              \
      "PROTOCOL.md 3.4 note; pitfall 12: never send the token over a weaker "  \
      "connection")                                                            \
    /* backoff and limits */                                                   \
    X(M_NO_BACKOFF_WAIT, "no-backoff-wait",                                    \
      "(driver) reconnects without waiting what reconnect() returned",         \
      "PROTOCOL.md 3.10: failed reconnects back off")                          \
    X(M_BACKOFF_BASE_100, "backoff-base-100ms",                                \
      "(driver config) backoff base 100 ms instead of 1 s",                    \
      "PROTOCOL.md 3.10 note: base 1 s, doubling")                             \
    X(M_BACKOFF_RESET_ON_READY, "backoff-reset-on-ready",                      \
      "resets the backoff on every READY or RESUMED",             \
      "PROTOCOL.md 3.10 note; pitfall 10: reset only after 60 s of session")   \
    X(M_IGNORE_RETRY_AFTER, "ignore-retry-after",                              \
      "ignores a rejected upgrade's Retry-After",                              \
      "PROTOCOL.md 3.10 note; pitfall 10: honour Retry-After")                 \
    X(M_REJECTION_FATAL, "rejection-fatal",                                    \
      "gives up after a rejected upgrade",                                     \
      "PROTOCOL.md 1, 3.10; pitfall 10: a rejection is a failed attempt")      \
    X(M_NO_RATE_LIMIT, "no-rate-limit",                                        \
      "(driver config) allows 512 payloads per 60 s",                          \
      "PROTOCOL.md 5; pitfall 8: 120 per 60 s, heartbeats included")           \
    /* WebSocket and compression */                                            \
    X(M_NO_PONG, "no-pong", "never answers a ping",                            \
      "PROTOCOL.md 1: pings are answered with pongs")                          \
    X(M_PONG_EMPTY, "pong-empty-payload",                                      \
      "answers a ping with an empty pong",                                     \
      "PROTOCOL.md 1: the pong carries the ping's payload")                    \
    X(M_PING_ENDS_MESSAGE, "ping-ends-message",                                \
      "drops the message being assembled when a ping comes between its "      \
      "fragments",                                                             \
      "PROTOCOL.md 1, RFC 6455 5.4: control frames may come between "          \
      "fragments")                                                             \
    X(M_MESSAGE_IS_PAYLOAD, "message-is-payload",                              \
      "with zlib-stream, takes every message as a whole payload, suffix or "   \
      "not",                                                                   \
      "PROTOCOL.md 6; pitfall 2: a payload ends with 00 00 ff ff")             \
    X(M_COMPRESS_CONTEXT_KEPT, "compress-context-kept",                        \
      "keeps the zlib/zstd context across connections",                        \
      "PROTOCOL.md 6; pitfall 1: a new connection is a new stream")

typedef enum dgw_mutant_id {
    M_NONE,
#define DGW_MUTANT_ENUM(id, name, what, rule) id,
    DGW_MUTANT_LIST(DGW_MUTANT_ENUM)
#undef DGW_MUTANT_ENUM
    M__COUNT
} dgw_mutant_id;

#ifdef DGW_MUTANTS
extern dgw_mutant_id dgw_mutant; /* conn.c; set by dgw-client-mutant */
#define DGW_MUTANT(m) (dgw_mutant == (m))
#else
#define DGW_MUTANT(m) 0
#endif

#endif
