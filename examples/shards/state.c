/*
 * state.c - reading and writing the state file with cJSON. See state.h.
 */
#include "state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_VERSION 1
#define STATE_MAX_BYTES (64u * 1024 * 1024)

static char *read_all(const char *path, size_t *len, bool *missing, char *err,
                      size_t errlen)
{
    *missing = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            *missing = true;
        else
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap >= STATE_MAX_BYTES ? NULL : realloc(buf, 2 * cap + 1);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            snprintf(err, errlen, "%s: too large or out of memory", path);
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf != NULL && ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static bool get_u32(const cJSON *o, const char *key, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > UINT32_MAX ||
        v->valuedouble != (double)(uint32_t)v->valuedouble)
        return false;
    *out = (uint32_t)v->valuedouble;
    return true;
}

/* One entry; false when it is not usable. */
static bool take_entry(const cJSON *e, uint32_t shard_count, saved_session *out)
{
    uint32_t count;
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(e, "session_id");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "resume_url");
    if (!cJSON_IsObject(e) || !get_u32(e, "shard", &out->shard) ||
        !get_u32(e, "shard_count", &count) || count != shard_count ||
        out->shard >= shard_count || !cJSON_IsString(sid) ||
        sid->valuestring[0] == '\0')
        return false;
    out->session_id = sid->valuestring;
    /* seq is an integer below 2^53 (JSON numbers are doubles here). */
    out->seq = cJSON_IsNumber(seq) && seq->valuedouble >= 0 &&
                       seq->valuedouble < 9007199254740992.0
                   ? (int64_t)seq->valuedouble
                   : -1;
    out->resume_url = cJSON_IsString(url) && url->valuestring[0] ? url->valuestring
                                                                 : NULL;
    return true;
}

bool state_load(const char *path, state_file *out, size_t *skipped, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    *skipped = 0;
    size_t len = 0;
    bool missing;
    char *text = read_all(path, &len, &missing, err, errlen);
    if (text == NULL)
        return missing;
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "shards");
    uint32_t version = 0;
    if (!cJSON_IsObject(doc) || !get_u32(doc, "version", &version) ||
        version != STATE_VERSION || !get_u32(doc, "shard_count", &out->shard_count) ||
        !cJSON_IsArray(arr)) {
        snprintf(err, errlen, "%s is not a dgw-shards state file (version %d)", path,
                 STATE_VERSION);
        cJSON_Delete(doc);
        return false;
    }
    int total = cJSON_GetArraySize(arr);
    out->s = calloc(total > 0 ? (size_t)total : 1, sizeof *out->s);
    if (out->s == NULL) {
        snprintf(err, errlen, "out of memory");
        cJSON_Delete(doc);
        return false;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (take_entry(e, out->shard_count, &out->s[out->n]))
            out->n++;
        else
            (*skipped)++;
    }
    out->doc = doc;
    out->found = true;
    return true;
}

void state_file_free(state_file *st)
{
    cJSON_Delete(st->doc);
    free(st->s);
    memset(st, 0, sizeof *st);
}

static cJSON *build(uint32_t shard_count, const saved_session *s, size_t n)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "shards");
    bool ok = arr != NULL && cJSON_AddNumberToObject(doc, "version", STATE_VERSION) &&
              cJSON_AddNumberToObject(doc, "shard_count", shard_count);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        ok = e != NULL && cJSON_AddItemToArray(arr, e) &&
             cJSON_AddNumberToObject(e, "shard", s[i].shard) &&
             cJSON_AddNumberToObject(e, "shard_count", shard_count) &&
             cJSON_AddStringToObject(e, "session_id", s[i].session_id) &&
             (s[i].seq >= 0 ? cJSON_AddNumberToObject(e, "seq", (double)s[i].seq)
                            : cJSON_AddNullToObject(e, "seq")) &&
             (s[i].resume_url ? cJSON_AddStringToObject(e, "resume_url", s[i].resume_url)
                              : cJSON_AddNullToObject(e, "resume_url"));
    }
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

bool state_save(const char *path, uint32_t shard_count,
                const saved_session *s, size_t n, char *err, size_t errlen)
{
    cJSON *doc = build(shard_count, s, n);
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        sizeof tmp) {
        snprintf(err, errlen, "state file path too long");
        free(text);
        return false;
    }
    /* 0600: a session id with the token resumes the bot's session. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write_all(fd, text, strlen(text)) && write_all(fd, "\n", 1) &&
              fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", fd < 0 ? tmp : path,
                 strerror(saved));
        unlink(tmp);
    }
    free(text);
    return ok;
}
