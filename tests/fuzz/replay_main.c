/* replay_main.c: runs a fuzz target over every file of its corpus folders, without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto done;
    }
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        goto done;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

/* Files are replayed in name order, so a failure reproduces the same way everywhere. */
static int replay_dir(const char *dir, long *count)
{
    struct dirent **names = NULL;
    char path[4096];
    struct stat st;
    int n = scandir(dir, &names, NULL, alphasort), rc = 0;

    if (n < 0) {
        return 0; /* an absent folder is an empty corpus */
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0 && names[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                rc = replay_dir(path, count);
            } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                rc = replay_file(path);
                (*count)++;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;

    for (int i = 1; i < argc; i++) {
        if (replay_dir(argv[i], &count) != 0) {
            return 1;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no corpus files found\n");
        return 1;
    }
    printf("replayed %ld inputs\n", count);
    return 0;
}
