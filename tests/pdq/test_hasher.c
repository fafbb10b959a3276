/* test_hasher.c: hw_hasher digests on failure, buffer reuse across images, composition. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_hasher.h"

#include "hw_test.h"

#define IMG_DIR HW_TEST_DATA "/conformance/pdq/images/"

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    *len = 0;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = buf != NULL ? (size_t)n : 0;
    }
    fclose(f);
    return buf;
}

static int digests_of(const void *data, size_t len, const struct hw_digests *got)
{
    struct hw_digests want;

    hw_digests_compute(data, len, &want);
    return memcmp(&want, got, sizeof(want)) == 0;
}

/* Undecodable input still gets its digests (exact-match lists), and no PDQ. */
static void test_failures(hw_hasher *h, const unsigned char *png, size_t png_len)
{
    static const char garbage[] = "this is not an image, but it has an MD5 all the same";
    struct hw_hash_result r;
    char err[200] = "";
    int rc;

    rc = hw_hasher_hash(h, garbage, sizeof(garbage) - 1, 0, &r, err, sizeof(err));
    CHECK(rc == HW_EUNSUPPORTED, "garbage: %s", hw_errname(rc));
    CHECK(r.decoded == 0, "garbage marked decoded");
    CHECK(digests_of(garbage, sizeof(garbage) - 1, &r.digests), "garbage digests wrong");
    CHECK(err[0] != '\0', "no error detail for garbage");

    rc = hw_hasher_hash(h, "", 0, 0, &r, NULL, 0);
    CHECK(rc != HW_OK && r.decoded == 0, "empty input: %s decoded %d", hw_errname(rc), r.decoded);
    CHECK(digests_of("", 0, &r.digests), "empty input digests wrong");

    /* A PNG cut in half: a decoder error, digests of exactly the bytes given. */
    rc = hw_hasher_hash(h, png, png_len / 2, 0, &r, err, sizeof(err));
    CHECK(rc == HW_ETRUNCATED || rc == HW_EFORMAT, "truncated PNG: %s", hw_errname(rc));
    CHECK(r.decoded == 0, "truncated PNG marked decoded");
    CHECK(digests_of(png, png_len / 2, &r.digests), "truncated PNG digests wrong");
    CHECK(r.info.format == HW_FORMAT_PNG, "truncated PNG: format not reported");

    CHECK(hw_hasher_hash(h, NULL, 10, 0, &r, NULL, 0) == HW_EINVAL, "NULL data accepted");
}

/* The hasher is exactly decode -> luma -> PDQ with 8 variants. */
static void test_composition(const unsigned char *data, size_t len, unsigned flags,
                             const struct hw_hash_result *r)
{
    hw_decoder *d = NULL;
    struct hw_image_info info;
    struct hw_pixels px;
    struct hw_pdq out[HW_DIH_COUNT];
    float *luma = NULL;
    void *scratch = NULL;
    size_t slen;
    int q = -1;

    if (hw_decoder_new(NULL, &d) != HW_OK ||
        hw_decoder_decode(d, data, len, flags, &info, &px, NULL, 0) != HW_OK) {
        CHECK(0, "manual decode failed");
        goto done;
    }
    slen = hw_pdq_scratch_len(px.height, px.width);
    luma = malloc((size_t)px.width * px.height * sizeof(float));
    scratch = malloc(slen);
    if (luma == NULL || scratch == NULL) {
        CHECK(0, "out of memory");
        goto done;
    }
    hw_pdq_luma(&px, luma);
    CHECK(hw_pdq_from_luma(luma, px.height, px.width, scratch, slen, HW_DIH_COUNT, out, &q) ==
              HW_OK,
          "manual PDQ failed");
    CHECK(memcmp(out, r->pdq, sizeof(out)) == 0 && q == r->quality,
          "hasher differs from decode + luma + PDQ (flags %u)", flags);
    CHECK(info.width == r->info.width && info.height == r->info.height, "info differs");
done:
    free(luma);
    free(scratch);
    hw_decoder_free(d);
}

/* Growing the PDQ buffers for a full-resolution image obeys max_decoder_mem; the 512 x 512
 * working size is always available. */
static void test_memory_cap(const unsigned char *big, size_t big_len)
{
    struct hw_limits lim;
    hw_hasher *h = NULL;
    struct hw_hash_result r;
    char err[200] = "";
    int rc;

    hw_limits_default(&lim);
    /* L.png is 1600 x 1004 grey: its pixels fit in 4 MiB, its float luma alone does not. */
    lim.max_decoder_mem = 4u << 20;
    if (hw_hasher_new(&lim, &h) != HW_OK) {
        CHECK(0, "hasher with a 4 MiB cap not created");
        return;
    }
    rc = hw_hasher_hash(h, big, big_len, HW_DECODE_NOSAMPLE, &r, err, sizeof(err));
    CHECK(rc == HW_ETOOBIG && r.decoded == 0, "full-res over the cap: %s (%s)", hw_errname(rc),
          err);
    CHECK(digests_of(big, big_len, &r.digests), "digests missing after the cap refused");
    rc = hw_hasher_hash(h, big, big_len, 0, &r, err, sizeof(err));
    CHECK(rc == HW_OK && r.decoded, "sampled hash under the cap: %s (%s)", hw_errname(rc), err);
    hw_hasher_free(h);
}

int main(void)
{
    size_t small_len;
    size_t big_len;
    unsigned char *small = read_file(IMG_DIR "reg-test-input/pen-and-coaster.png", &small_len);
    unsigned char *big = read_file(IMG_DIR "misc-images/modes/L.png", &big_len);
    hw_hasher *h = NULL;
    struct hw_hash_result first;
    struct hw_hash_result again;
    struct hw_hash_result full;
    int rc;

    if (small == NULL || big == NULL || hw_hasher_new(NULL, &h) != HW_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    rc = hw_hasher_hash(h, small, small_len, 0, &first, NULL, 0);
    CHECK(rc == HW_OK && first.decoded, "pen-and-coaster.png: %s", hw_errname(rc));
    CHECK(digests_of(small, small_len, &first.digests), "digests of a decoded image wrong");
    CHECK(first.quality >= 0 && first.quality <= 100, "quality %d", first.quality);
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        CHECK(hw_pdq_weight(&first.pdq[v]) == 128, "variant %s weight %d", hw_dihedral_name(v),
              hw_pdq_weight(&first.pdq[v]));
    }
    test_composition(small, small_len, 0, &first);

    /* Failures in between, then a full-resolution image that grows the buffers, then the first
     * image again: nothing may leak from one image into the next. */
    test_failures(h, small, small_len);
    rc = hw_hasher_hash(h, big, big_len, HW_DECODE_NOSAMPLE, &full, NULL, 0);
    CHECK(rc == HW_OK && full.decoded, "L.png full resolution: %s", hw_errname(rc));
    CHECK(full.info.width > HW_PDQ_SAMPLE_DIM, "L.png should be larger than 512 (%u)",
          full.info.width);
    test_composition(big, big_len, HW_DECODE_NOSAMPLE, &full);
    rc = hw_hasher_hash(h, small, small_len, 0, &again, NULL, 0);
    CHECK(rc == HW_OK && memcmp(&first, &again, sizeof(first)) == 0,
          "same image hashed twice gives different results");
    /* PDQ only (`hashwatch hash`'s reference format): the same PDQ, no digest computed. */
    {
        struct hw_hash_result only;
        static const struct hw_digests zero;

        rc = hw_hasher_hash(h, small, small_len, HW_HASH_NO_DIGESTS, &only, NULL, 0);
        CHECK(rc == HW_OK && only.decoded && only.quality == first.quality &&
                  memcmp(only.pdq, first.pdq, sizeof(only.pdq)) == 0,
              "HW_HASH_NO_DIGESTS changed the PDQ result");
        CHECK(memcmp(&only.digests, &zero, sizeof(zero)) == 0,
              "HW_HASH_NO_DIGESTS still computed digests");
    }

    test_memory_cap(big, big_len);
    hw_hasher_free(h);
    hw_hasher_free(NULL);
    free(small);
    free(big);
    printf("%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
