/* Small helpers without a better home: clock, randomness, redaction. */
#ifndef MG_UTIL_H
#define MG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define MG_REDACTED "[redacted]"

/* Monotonic milliseconds. */
uint64_t mg_now_ms(void);
/* Fills buf with n random bytes (getrandom, falling back to a time seed). */
void mg_random_bytes(void *buf, size_t n);
/* Writes 2*nbytes lowercase hex digits plus NUL into out (size >= 2*nbytes+1). */
void mg_random_hex(char *out, size_t nbytes);
/* Replaces every occurrence of each secret in s (in place, may shorten or
 * lengthen: returns a new malloc'ed string, or NULL on OOM). secrets is a
 * NULL-terminated list; empty strings are ignored. */
char *mg_redact(const char *s, size_t len, const char *const *secrets);
/* Case-insensitive comparison of a counted string with a C string. */
int mg_strieq_n(const char *a, size_t alen, const char *b);

#endif
