/* hw_digest.h: MD5, SHA-1 and SHA-256 of raw bytes, and hex text forms of byte strings. */
#ifndef HASHLIB_HW_DIGEST_H
#define HASHLIB_HW_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HW_MD5_LEN    16
#define HW_SHA1_LEN   20
#define HW_SHA256_LEN 32

struct hw_digests {
    uint8_t md5[HW_MD5_LEN];
    uint8_t sha1[HW_SHA1_LEN];
    uint8_t sha256[HW_SHA256_LEN];
};

/** Compute all three digests of `len` bytes in one pass over memory (nettle). Reentrant. */
void hw_digests_compute(const void *data, size_t len, struct hw_digests *out);

/** SHA-256 alone (keys, audit chain). Reentrant. */
void hw_sha256(const void *data, size_t len, uint8_t out[HW_SHA256_LEN]);

/** Lowercase hex of `n` bytes into out (2n + 1 bytes, NUL-terminated). */
void hw_hex_encode(const uint8_t *bytes, size_t n, char *out);

/**
 * Parse exactly 2n hex digits (either case) from s[0..len) into n bytes.
 * @return HW_OK or HW_EINVAL (len != 2n or a non-hex character).
 */
int hw_hex_decode(const char *s, size_t len, uint8_t *out, size_t n);

/** Compare n bytes in time independent of their contents; 1 when equal. */
int hw_memeq_ct(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif
