/* audit.c: the append-only, SHA-256-chained JSON-lines audit log (see hw_audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "hw_audit.h"
#include "hw_digest.h"
#include "hw_error.h"

#define AUDIT_RECORD_MAX (64 * 1024)
/* seq, prev and the caller's record: the longest line we ever write or accept. */
#define AUDIT_LINE_MAX (AUDIT_RECORD_MAX + 128)

struct hw_audit {
    pthread_mutex_t lock;
    int fd;
    int stale; /* a write failed: re-read the tail before the next append */
    uint64_t seq;
    char prev_hex[2 * HW_SHA256_LEN + 1];
};

static const char zero_hex[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* Read the last complete line of fd to learn seq and prev. Empty file: seq 0, zeros. */
static int audit_load_tail(struct hw_audit *a, char *errbuf, size_t errbuf_len)
{
    struct stat st;
    char *buf = NULL;
    int rc = HW_OK;
    size_t want, got = 0;
    off_t start;

    if (fstat(a->fd, &st) != 0) {
        return hw_seterr(HW_EIO, errbuf, errbuf_len, "audit log: %s", strerror(errno));
    }
    if (st.st_size == 0) {
        a->seq = 0;
        memcpy(a->prev_hex, zero_hex, sizeof(a->prev_hex));
        return HW_OK;
    }
    want = (size_t)st.st_size < AUDIT_LINE_MAX + 2 ? (size_t)st.st_size : AUDIT_LINE_MAX + 2;
    start = st.st_size - (off_t)want;
    buf = malloc(want + 1);
    if (buf == NULL) {
        return HW_ENOMEM;
    }
    while (got < want) {
        ssize_t r = pread(a->fd, buf + got, want - got, start + (off_t)got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = hw_seterr(HW_EIO, errbuf, errbuf_len, "audit log: read failed");
            goto out;
        }
        got += (size_t)r;
    }
    buf[want] = '\0';
    if (buf[want - 1] != '\n') {
        rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len,
                       "audit log does not end with a complete line");
        goto out;
    }
    {
        size_t end = want - 1; /* index of the final '\n' */
        size_t b = end;
        uint8_t digest[HW_SHA256_LEN];
        unsigned long long seq = 0;

        while (b > 0 && buf[b - 1] != '\n') {
            b--;
        }
        if (b == 0 && start != 0) {
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "audit log: last line too long");
            goto out;
        }
        if (sscanf(buf + b, "{\"seq\":%llu,", &seq) != 1) {
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "audit log: last line has no seq");
            goto out;
        }
        hw_sha256(buf + b, end - b, digest);
        hw_hex_encode(digest, HW_SHA256_LEN, a->prev_hex);
        a->seq = seq;
    }
out:
    free(buf);
    return rc;
}

int hw_audit_open(const char *path, hw_audit **out, char *errbuf, size_t errbuf_len)
{
    struct hw_audit *a = NULL;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (path == NULL || out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "audit: NULL argument");
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return HW_ENOMEM;
    }
    a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        rc = hw_seterr(HW_EIO, errbuf, errbuf_len, "audit log %s: %s", path, strerror(errno));
        free(a);
        return rc;
    }
    rc = audit_load_tail(a, errbuf, errbuf_len);
    if (rc != HW_OK) {
        close(a->fd);
        free(a);
        return rc;
    }
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return HW_OK;
}

void hw_audit_close(hw_audit *a)
{
    if (a == NULL) {
        return;
    }
    close(a->fd);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

int hw_audit_append(hw_audit *a, const char *record_json, char *errbuf, size_t errbuf_len)
{
    size_t rlen, len = 0, off = 0;
    char *line = NULL;
    int rc = HW_OK;
    uint8_t digest[HW_SHA256_LEN];

    if (a == NULL || record_json == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "audit: NULL argument");
    }
    rlen = strlen(record_json);
    if (rlen > AUDIT_RECORD_MAX) {
        return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len, "audit record over %d bytes",
                         AUDIT_RECORD_MAX);
    }
    if (rlen < 2 || record_json[0] != '{' || record_json[rlen - 1] != '}' ||
        memchr(record_json, '\n', rlen) != NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "audit record is not one JSON object");
    }
    line = malloc(AUDIT_LINE_MAX);
    if (line == NULL) {
        return HW_ENOMEM;
    }
    pthread_mutex_lock(&a->lock);
    if (a->stale) {
        rc = audit_load_tail(a, errbuf, errbuf_len);
        if (rc != HW_OK) {
            goto out;
        }
        a->stale = 0;
    }
    /* "{}" records add nothing after prev; others continue with a comma. */
    len = (size_t)snprintf(line, AUDIT_LINE_MAX, "{\"seq\":%" PRIu64 ",\"prev\":\"%s\"%s%.*s",
                           a->seq + 1, a->prev_hex, rlen > 2 ? "," : "", (int)(rlen - 1),
                           record_json + 1);
    if (len + 1 >= AUDIT_LINE_MAX) {
        rc = hw_seterr(HW_ETOOBIG, errbuf, errbuf_len, "audit line too long");
        goto out;
    }
    hw_sha256(line, len, digest);
    line[len] = '\n';
    while (off < len + 1) {
        ssize_t w = write(a->fd, line + off, len + 1 - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            a->stale = 1;
            rc = hw_seterr(HW_EIO, errbuf, errbuf_len, "audit log write: %s",
                           w < 0 ? strerror(errno) : "short write");
            goto out;
        }
        off += (size_t)w;
    }
    if (fdatasync(a->fd) != 0) {
        a->stale = 1;
        rc = hw_seterr(HW_EIO, errbuf, errbuf_len, "audit log fdatasync: %s", strerror(errno));
        goto out;
    }
    a->seq++;
    hw_hex_encode(digest, HW_SHA256_LEN, a->prev_hex);
out:
    pthread_mutex_unlock(&a->lock);
    free(line);
    return rc;
}

int hw_audit_verify(const char *path, uint64_t *n_lines, uint64_t *bad_line, char *errbuf,
                    size_t errbuf_len)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    char prev_hex[2 * HW_SHA256_LEN + 1];
    int rc = HW_OK;

    if (n_lines != NULL) {
        *n_lines = 0;
    }
    if (bad_line != NULL) {
        *bad_line = 0;
    }
    if (path == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "audit: NULL path");
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT) {
            return HW_OK;
        }
        return hw_seterr(HW_EIO, errbuf, errbuf_len, "%s: %s", path, strerror(errno));
    }
    memcpy(prev_hex, zero_hex, sizeof(prev_hex));
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *obj = NULL;
        json_error_t jerr;
        uint8_t digest[HW_SHA256_LEN];
        size_t len = (size_t)n;
        const char *p;

        lineno++;
        if (line[len - 1] != '\n') {
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "line %" PRIu64 " is incomplete",
                           lineno);
            goto bad;
        }
        len--;
        if (len > AUDIT_LINE_MAX) {
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "line %" PRIu64 " is too long", lineno);
            goto bad;
        }
        obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (obj == NULL || !json_is_object(obj)) {
            json_decref(obj);
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "line %" PRIu64 " is not JSON", lineno);
            goto bad;
        }
        if (json_integer_value(json_object_get(obj, "seq")) != (json_int_t)lineno) {
            json_decref(obj);
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "line %" PRIu64 ": seq is not %" PRIu64,
                           lineno, lineno);
            goto bad;
        }
        p = json_string_value(json_object_get(obj, "prev"));
        if (p == NULL || strcmp(p, prev_hex) != 0) {
            json_decref(obj);
            rc = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len,
                           "line %" PRIu64 ": prev does not match the previous line's SHA-256",
                           lineno);
            goto bad;
        }
        json_decref(obj);
        hw_sha256(line, len, digest);
        hw_hex_encode(digest, HW_SHA256_LEN, prev_hex);
        if (n_lines != NULL) {
            *n_lines = lineno;
        }
    }
    if (ferror(f)) {
        rc = hw_seterr(HW_EIO, errbuf, errbuf_len, "%s: read error", path);
    }
    goto out;
bad:
    if (bad_line != NULL) {
        *bad_line = lineno;
    }
out:
    free(line);
    fclose(f);
    return rc;
}
