/* hasher.c: digests, decode, luma and PDQ of one upload, reusing every buffer between images. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw_error.h"
#include "hw_hasher.h"
#include "hw_limits.h"

struct hw_hasher {
    hw_decoder *dec;
    size_t max_mem;     /* cap on growing the PDQ buffers (limits' max_decoder_mem) */
    float *luma;        /* width * height floats of the current image */
    size_t luma_len;    /* bytes allocated */
    void *scratch;      /* hw_pdq_from_luma scratch */
    size_t scratch_len; /* bytes allocated */
};

/*
 * Make the luma and scratch buffers big enough for a width x height image (grow only). Growth
 * beyond the 512 x 512 working size happens only for HW_DECODE_NOSAMPLE, and is held to the
 * limits' max_decoder_mem (checked before allocating).
 */
static int hasher_reserve(hw_hasher *h, uint32_t width, uint32_t height)
{
    size_t n;
    size_t luma_len;
    size_t scratch_len;

    if (hw_size_mul(width, height, &n) != HW_OK ||
        hw_size_mul(n, sizeof(float), &luma_len) != HW_OK) {
        return HW_ETOOBIG;
    }
    scratch_len = hw_pdq_scratch_len(height, width);
    if (scratch_len == 0 || luma_len > SIZE_MAX - scratch_len) {
        return HW_ETOOBIG;
    }
    if ((luma_len > h->luma_len || scratch_len > h->scratch_len) &&
        luma_len + scratch_len > h->max_mem) {
        return HW_ETOOBIG;
    }
    if (luma_len > h->luma_len) {
        /* Contents need not survive, so free + malloc rather than realloc's copy. */
        free(h->luma);
        h->luma_len = 0;
        h->luma = malloc(luma_len);
        if (h->luma == NULL) {
            return HW_ENOMEM;
        }
        h->luma_len = luma_len;
    }
    if (scratch_len > h->scratch_len) {
        free(h->scratch);
        h->scratch_len = 0;
        h->scratch = malloc(scratch_len);
        if (h->scratch == NULL) {
            return HW_ENOMEM;
        }
        h->scratch_len = scratch_len;
    }
    return HW_OK;
}

int hw_hasher_new(const struct hw_limits *lim, hw_hasher **out)
{
    hw_hasher *h = NULL;
    int err;

    if (out == NULL) {
        return HW_EINVAL;
    }
    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        err = HW_ENOMEM;
        goto done;
    }
    err = hw_decoder_new(lim, &h->dec);
    if (err != HW_OK) {
        goto done;
    }
    /* The sampled working image is at most 512 x 512 (reference DOWNSAMPLE_DIMS); those
     * buffers (about 2 MiB) are always allowed, whatever the limits say. */
    h->max_mem = SIZE_MAX;
    err = hasher_reserve(h, HW_PDQ_SAMPLE_DIM, HW_PDQ_SAMPLE_DIM);
    if (err != HW_OK) {
        err = HW_ENOMEM;
        goto done;
    }
    {
        struct hw_limits def;

        hw_limits_default(&def);
        h->max_mem =
            (lim != NULL && lim->max_decoder_mem != 0) ? lim->max_decoder_mem : def.max_decoder_mem;
    }
    *out = h;
    h = NULL;
done:
    hw_hasher_free(h);
    return err;
}

void hw_hasher_free(hw_hasher *h)
{
    if (h == NULL) {
        return;
    }
    hw_decoder_free(h->dec);
    free(h->luma);
    free(h->scratch);
    free(h);
}

int hw_hasher_hash(hw_hasher *h, const void *data, size_t len, unsigned flags,
                   struct hw_hash_result *out, char *errbuf, size_t errbuf_len)
{
    struct hw_pixels px;
    int err;

    if (out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "no result buffer");
    }
    memset(out, 0, sizeof(*out));
    if (h == NULL || (data == NULL && len > 0)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "no hasher or no data");
    }
    /* Digests come first: exact-match lists work even on undecodable uploads. */
    if (!(flags & HW_HASH_NO_DIGESTS)) {
        hw_digests_compute(data, len, &out->digests);
    }

    err = hw_decoder_decode(h->dec, data, len, flags & ~(unsigned)HW_HASH_NO_DIGESTS, &out->info,
                            &px, errbuf, errbuf_len);
    if (err != HW_OK) {
        goto done;
    }
    err = hasher_reserve(h, px.width, px.height);
    if (err != HW_OK) {
        hw_seterr(err, errbuf, errbuf_len,
                  err == HW_ETOOBIG ? "PDQ buffers for a %ux%u image exceed the memory limit"
                                    : "no memory for PDQ buffers of a %ux%u image",
                  px.width, px.height);
        goto done;
    }
    hw_pdq_luma(&px, h->luma);
    err = hw_pdq_from_luma(h->luma, px.height, px.width, h->scratch, h->scratch_len, HW_DIH_COUNT,
                           out->pdq, &out->quality);
    if (err != HW_OK) {
        /* Buffers were sized above, so this is an invariant failure, not bad input. */
        err = hw_seterr(HW_EINTERNAL, errbuf, errbuf_len, "PDQ rejected its buffers");
        goto done;
    }
    out->decoded = 1;
done:
    return err;
}
