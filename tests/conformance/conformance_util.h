/* conformance_util.h: file reading, TSV splitting and a failure counter for conformance tests. */
#ifndef HW_TESTS_CONFORMANCE_UTIL_H
#define HW_TESTS_CONFORMANCE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_DIR      HW_TEST_DATA "/conformance/pdq"
#define CONF_MAX_COLS 32

static int conf_failures;

#define CONF_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            conf_failures++;                                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Read a whole file; returns a malloc'd buffer (NUL-terminated) or NULL. */
static inline unsigned char *conf_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    *len = 0;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

/* Split a line (modified in place) at tabs; strips a trailing \r\n. Returns the column count. */
static inline int conf_split(char *line, char **cols)
{
    int n = 0;
    char *p = line;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < CONF_MAX_COLS) {
        char *tab = strchr(p, '\t');

        cols[n++] = p;
        if (tab == NULL) {
            break;
        }
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

/* Index of a header column by name, or -1. */
static inline int conf_col(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(hdr[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

#endif
