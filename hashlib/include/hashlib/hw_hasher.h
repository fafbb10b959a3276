/* hw_hasher.h: from uploaded bytes to every hash hashwatch matches on, with reused buffers. */
#ifndef HASHLIB_HW_HASHER_H
#define HASHLIB_HW_HASHER_H

#include <stddef.h>

#include "hw_digest.h"
#include "hw_image.h"
#include "hw_pdq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hw_hasher_hash() flag: skip MD5/SHA-1/SHA-256 (out->digests stays zero), for callers that
 * want only PDQ (the reference-format output of `hashwatch hash`): 10-15% of a 12 MP photo's
 * time. Never for matching: exact-match lists need the digests. */
#define HW_HASH_NO_DIGESTS 0x10000

struct hw_hash_result {
    struct hw_digests digests;       /* filled, even when decoding fails (unless
                                      * HW_HASH_NO_DIGESTS) */
    int decoded;                     /* 1 when the image decoded and pdq/quality are valid */
    struct hw_image_info info;       /* what the decoder learned (as far as it got) */
    struct hw_pdq pdq[HW_DIH_COUNT]; /* pdq[HW_DIH_ORIG] is the hash; the rest its variants */
    int quality;                     /* 0..100 */
};

typedef struct hw_hasher hw_hasher;

/**
 * Create a hasher: a decoder plus PDQ buffers sized for the 512 x 512 working image.
 * @param lim  NULL means hw_limits_default(); copied
 * @return HW_OK or HW_ENOMEM. Free with hw_hasher_free(). One hasher per thread.
 */
int hw_hasher_new(const struct hw_limits *lim, hw_hasher **out);

/** Free a hasher; NULL is accepted. */
void hw_hasher_free(hw_hasher *h);

/**
 * Hash an uploaded image: digests of the raw bytes, then decode, PDQ, quality, 8 variants.
 *
 * @param flags  HW_DECODE_* passed to the decoder (0 for the normal, fastest path), and
 *               HW_HASH_NO_DIGESTS
 * @param out    filled; out->digests is valid whatever the result
 * @return HW_OK, or a decoder error (HW_EUNSUPPORTED, HW_ETOOBIG, HW_EFORMAT, HW_ETRUNCATED,
 *         HW_ENOMEM) with out->decoded == 0. Low quality is not an error: check out->quality.
 * Thread safety: one hasher per thread.
 */
int hw_hasher_hash(hw_hasher *h, const void *data, size_t len, unsigned flags,
                   struct hw_hash_result *out, char *errbuf, size_t errbuf_len);

#ifdef __cplusplus
}
#endif
#endif
