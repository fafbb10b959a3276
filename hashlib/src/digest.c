/* digest.c: MD5, SHA-1 and SHA-256 in one pass (nettle), hex text, constant-time compare. */
#include <nettle/md5.h>
#include <nettle/memops.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "hw_digest.h"
#include "hw_error.h"

/* Small enough that a chunk stays in L1 while all three digests read it. */
#define DIGEST_CHUNK 8192

void hw_digests_compute(const void *data, size_t len, struct hw_digests *out)
{
    const uint8_t *p = data;
    struct md5_ctx md5;
    struct sha1_ctx sha1;
    struct sha256_ctx sha256;

    md5_init(&md5);
    sha1_init(&sha1);
    sha256_init(&sha256);
    while (len > 0) {
        const size_t n = len < DIGEST_CHUNK ? len : DIGEST_CHUNK;

        md5_update(&md5, n, p);
        sha1_update(&sha1, n, p);
        sha256_update(&sha256, n, p);
        p += n;
        len -= n;
    }
    md5_digest(&md5, HW_MD5_LEN, out->md5);
    sha1_digest(&sha1, HW_SHA1_LEN, out->sha1);
    sha256_digest(&sha256, HW_SHA256_LEN, out->sha256);
}

void hw_sha256(const void *data, size_t len, uint8_t out[HW_SHA256_LEN])
{
    struct sha256_ctx ctx;

    sha256_init(&ctx);
    if (len > 0) {
        sha256_update(&ctx, len, data);
    }
    sha256_digest(&ctx, HW_SHA256_LEN, out);
}

void hw_hex_encode(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int digest_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int hw_hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
    if ((s == NULL && len > 0) || (out == NULL && n > 0) || n > SIZE_MAX / 2 || len != 2 * n) {
        return HW_EINVAL;
    }
    /* Validate everything before writing, so a rejected input leaves out untouched. */
    for (size_t i = 0; i < len; i++) {
        if (digest_hexval(s[i]) < 0) {
            return HW_EINVAL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)((digest_hexval(s[2 * i]) << 4) | digest_hexval(s[2 * i + 1]));
    }
    return HW_OK;
}

int hw_memeq_ct(const void *a, const void *b, size_t n)
{
    if (n == 0) {
        return 1;
    }
    return memeql_sec(a, b, n) ? 1 : 0;
}
