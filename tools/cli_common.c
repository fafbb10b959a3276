/* cli_common.c: helpers shared by the hashwatch subcommands (store path, file reading). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_store_dir(const char *flag)
{
    const char *env;

    if (flag != NULL && flag[0] != '\0') {
        return flag;
    }
    env = getenv("HASHWATCH_STORE");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return "./hashwatch-data";
}

void cli_err(const char *fmt, ...)
{
    va_list ap;

    fputs("hashwatch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_read_file(const char *path, size_t max_len, unsigned char **out, size_t *out_len,
                  char *errbuf, size_t errbuf_len)
{
    FILE *f = NULL;
    unsigned char *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;
    int rc = -1;

    *out = NULL;
    *out_len = 0;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errbuf_len, "%s", strerror(errno));
        goto done;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            if (cap > max_len) {
                snprintf(errbuf, errbuf_len, "larger than %zu bytes", max_len);
                goto done;
            }
            nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                snprintf(errbuf, errbuf_len, "out of memory");
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        snprintf(errbuf, errbuf_len, "read error: %s", strerror(errno));
        goto done;
    }
    if (len > max_len) {
        snprintf(errbuf, errbuf_len, "larger than %zu bytes", max_len);
        goto done;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    if (f != NULL && f != stdin) {
        fclose(f);
    }
    return rc;
}
