/* fuzz_srv_parse.c: hashwatchd's parsers of untrusted text: hash strings from /v1/lookup and
 * /m/lookup, config files, and audit logs fed to hw_audit_verify. First byte picks which. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashlib/hw_audit.h"
#include "srv.h"
#include "srv_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_tmp(const uint8_t *data, size_t size, char *path, size_t cap)
{
    FILE *f;

    snprintf(path, cap, "/tmp/fuzz-srv-%ld.txt", (long)getpid());
    f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];

    if (size < 1 || size > 65536) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0: {
        char *s = malloc(size);
        uint8_t out[HW_HASH_MAX_LEN];
        if (s == NULL) {
            return 0;
        }
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        for (int t = HW_HASH_PDQ; t < HW_HASH_TYPE_COUNT; t++) {
            if (srv_parse_hash((enum hw_hash_type)t, s, out) == 0) {
                /* Accepted text has exactly the type's length in hex, or is base64. */
                size_t len = strlen(s);
                if (t != HW_HASH_PHOTODNA && len != 2 * hw_hash_type_len((enum hw_hash_type)t)) {
                    abort();
                }
            }
        }
        free(s);
        break;
    }
    case 1: {
        struct srv_config c;
        char err[256];
        srv_config_default(&c);
        if (write_tmp(data + 1, size - 1, path, sizeof(path)) == 0) {
            srv_config_load_file(&c, path, err, sizeof(err));
            unlink(path);
        }
        break;
    }
    default: {
        uint64_t n = 0, bad = 0;
        char err[256];
        if (write_tmp(data + 1, size - 1, path, sizeof(path)) == 0) {
            int rc = hw_audit_verify(path, &n, &bad, err, sizeof(err));
            if (rc == HW_ECORRUPT && bad == 0) {
                abort(); /* a broken chain always names its line */
            }
            unlink(path);
        }
        break;
    }
    }
    return 0;
}
