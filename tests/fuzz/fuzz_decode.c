/* fuzz_decode.c: libFuzzer target for JPEG/PNG decoding and PDQ hashing of the result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"
#include "hashlib/hw_pdq.h"

#include "decode/fuzz_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hw_decoder *dec;
static uint8_t sampled[HW_PDQ_SAMPLE_DIM * HW_PDQ_SAMPLE_DIM * 3];

static void fuzz_check(int cond)
{
    if (!cond) {
        abort(); /* an invariant of hw_decoder_decode broke: libFuzzer reports it */
    }
}

/* i + step, but visit n - 1 before leaving [0, n). */
static uint32_t fuzz_step(uint32_t i, uint32_t n, uint32_t step)
{
    if (i + step < n || i == n - 1) {
        return i + step;
    }
    return n - 1;
}

static void fuzz_hash(const struct hw_pixels *px)
{
    size_t n = (size_t)px->width * px->height;
    float *luma = malloc(n * sizeof(float));
    size_t scratch_len = hw_pdq_scratch_len(px->height, px->width);
    void *scratch = malloc(scratch_len ? scratch_len : 1);
    struct hw_pdq h[HW_DIH_COUNT];
    int quality = -1;

    if (luma != NULL && scratch != NULL && scratch_len != 0) {
        hw_pdq_luma(px, luma);
        fuzz_check(hw_pdq_from_luma(luma, px->height, px->width, scratch, scratch_len, HW_DIH_COUNT,
                                    h, &quality) == HW_OK);
        fuzz_check(quality >= 0 && quality <= 100);
    }
    free(scratch);
    free(luma);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hw_image_info info;
    struct hw_pixels px;
    char err[256];
    int rc;

    if (dec == NULL) {
        struct hw_limits lim;
        hw_fuzz_decode_limits(&lim);
        if (hw_decoder_new(&lim, &dec) != HW_OK) {
            return 0;
        }
    }
    err[0] = '\0';
    rc = hw_decoder_decode(dec, data, size, 0, &info, &px, err, sizeof(err));
    if (rc != HW_OK) {
        /* Every failure is one of the documented codes and says why. */
        fuzz_check(rc == HW_EUNSUPPORTED || rc == HW_ETOOBIG || rc == HW_EFORMAT ||
                   rc == HW_ETRUNCATED || rc == HW_ENOMEM);
        fuzz_check(err[0] != '\0' && px.data == NULL);
        return 0;
    }
    fuzz_check(px.data != NULL && (px.channels == 1 || px.channels == 3));
    fuzz_check(px.width >= 1 && px.width <= HW_PDQ_SAMPLE_DIM && px.height >= 1 &&
               px.height <= HW_PDQ_SAMPLE_DIM && px.stride == (size_t)px.width * px.channels);
    fuzz_check((px.width == info.width && px.height == info.height) ||
               (px.width == HW_PDQ_SAMPLE_DIM && px.height == HW_PDQ_SAMPLE_DIM));
    memcpy(sampled, px.data, px.stride * px.height);
    /* Hashing a 512x512 output costs tens of ms under ASan and does not depend on how hostile
     * the encoding was, so big outputs are hashed for one input in eight (chosen by the input,
     * so a crash reproduces); small ones always. */
    if ((size_t)px.width * px.height <= 128 * 128 || size % 8 == 0) {
        fuzz_hash(&px);
    }

    /* Oracle for PNG (whose sampled path is exact by design; a JPEG fast path may scale in the
     * DCT domain): the full-resolution decode, sampled by floor(i * N / 512), gives the same
     * pixels. */
    if (info.format != HW_FORMAT_PNG) {
        return 0;
    }
    struct hw_pixels full;
    struct hw_image_info info2;
    uint32_t w = px.width, h = px.height, ch = px.channels;
    rc = hw_decoder_decode(dec, data, size, HW_DECODE_NOSAMPLE, &info2, &full, err, sizeof(err));
    fuzz_check(rc == HW_OK && full.channels == ch && full.width == info.width &&
               full.height == info.height && info2.flags == info.flags);
    /* A lattice of rows and columns (steps prime to 512) keeps per-input cost low under
     * coverage instrumentation; the edges are always included. */
    for (uint32_t oy = 0; oy < h; oy = fuzz_step(oy, h, 7)) {
        uint32_t sy = (uint32_t)((uint64_t)oy * full.height / h);
        for (uint32_t ox = 0; ox < w; ox = fuzz_step(ox, w, 5)) {
            uint32_t sx = (uint32_t)((uint64_t)ox * full.width / w);
            fuzz_check(memcmp(sampled + (size_t)oy * w * ch + (size_t)ox * ch,
                              full.data + sy * full.stride + (size_t)sx * ch, ch) == 0);
        }
    }
    return 0;
}
