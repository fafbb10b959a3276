/* test_regress.c: every input in tests/fuzz/regress/decode/ gives the error regress.tsv names. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"

#include "decode/fuzz_limits.h"

#define MAX_ENTRIES 1024

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(n > 0 ? (size_t)n : 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const char *tsv = argc > 1 ? argv[1] : "regress.tsv";
    const char *dir = argc > 2 ? argv[2] : ".";
    static char names[MAX_ENTRIES][256];
    int n_names = 0, failures = 0;
    char line[1024], path[4096];
    struct hw_limits lim;
    hw_decoder *d = NULL;
    FILE *f = fopen(tsv, "r");

    hw_fuzz_decode_limits(&lim);
    if (f == NULL || hw_decoder_new(&lim, &d) != HW_OK) {
        fprintf(stderr, "cannot open %s\n", tsv);
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || line[0] == '\n' || tab == NULL || n_names == MAX_ENTRIES) {
            continue;
        }
        *tab = '\0';
        char *want = tab + 1;
        want[strcspn(want, "\r\n")] = '\0';
        if (strlen(line) >= sizeof(names[0])) {
            continue;
        }
        memcpy(names[n_names++], line, strlen(line) + 1);
        snprintf(path, sizeof(path), "%s/%s", dir, line);
        size_t len = 0;
        uint8_t *data = slurp(path, &len);
        if (data == NULL) {
            fprintf(stderr, "FAIL %s: cannot read\n", path);
            failures++;
            continue;
        }
        struct hw_image_info info;
        struct hw_pixels px;
        char err[256] = "";
        int rc = hw_decoder_decode(d, data, len, 0, &info, &px, err, sizeof(err));
        if (strcmp(hw_errname(rc), want) != 0) {
            fprintf(stderr, "FAIL %s: got %s (%s), want %s\n", line, hw_errname(rc), err, want);
            failures++;
        } else {
            printf("%s: %s (%s)\n", line, hw_errname(rc), err);
        }
        free(data);
    }
    fclose(f);
    /* Every kept input has an expectation. */
    DIR *dp = opendir(dir);
    struct dirent *de;
    while (dp != NULL && (de = readdir(dp)) != NULL) {
        int listed = de->d_name[0] == '.';
        for (int i = 0; i < n_names && !listed; i++) {
            listed = strcmp(names[i], de->d_name) == 0;
        }
        if (!listed) {
            fprintf(stderr, "FAIL %s is not listed in %s\n", de->d_name, tsv);
            failures++;
        }
    }
    if (dp != NULL) {
        closedir(dp);
    }
    hw_decoder_free(d);
    if (n_names == 0) {
        fprintf(stderr, "FAIL no entries in %s\n", tsv);
        failures++;
    }
    return failures ? 1 : 0;
}
