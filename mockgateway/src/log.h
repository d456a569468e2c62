/* Leveled logging to a stream (stderr by default). The logger is a value
 * passed around, not a global, so tests can silence or capture it. */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stdio.h>

typedef enum { MG_LOG_ERROR = 0, MG_LOG_WARN, MG_LOG_INFO, MG_LOG_DEBUG } mg_log_level;

typedef struct mg_logger {
    mg_log_level level;
    FILE *out; /* NULL: stderr */
} mg_logger;

void mg_log(const mg_logger *lg, mg_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses "error|warn|info|debug"; returns 0 or -1. */
int mg_log_level_parse(const char *s, mg_log_level *out);

#define MG_ERR(lg, ...) mg_log((lg), MG_LOG_ERROR, __VA_ARGS__)
#define MG_WARN(lg, ...) mg_log((lg), MG_LOG_WARN, __VA_ARGS__)
#define MG_INFO(lg, ...) mg_log((lg), MG_LOG_INFO, __VA_ARGS__)
#define MG_DEBUG(lg, ...) mg_log((lg), MG_LOG_DEBUG, __VA_ARGS__)

#endif
