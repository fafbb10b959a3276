/* test_jpeg_fast.c: the sampled JPEG fast path equals libjpeg-turbo's full decode, byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"
#include "jpeg/jpeg_gen.h"
#include "jpeg_fast.h"

#include "hw_test.h"

static int n_compared, n_fast, n_declined, n_own;
/* Set around compare(): the fast path must accept the image with our own entropy decoder. */
static int expect_own;

/* Copy of a decode result (the decoder's buffers are reused by the next call). */
struct img {
    int rc;
    uint32_t w, h;
    unsigned ch;
    uint8_t *px; /* w * h * ch, packed */
};

static struct img decode(hw_decoder *d, const void *data, size_t len, unsigned flags, char *err,
                         size_t errlen)
{
    struct img im = {0};
    struct hw_image_info info;
    struct hw_pixels px;

    err[0] = 0;
    im.rc = hw_decoder_decode(d, data, len, flags, &info, &px, err, errlen);
    if (im.rc == HW_OK) {
        size_t row = (size_t)px.width * px.channels;

        im.w = px.width;
        im.h = px.height;
        im.ch = px.channels;
        im.px = malloc(row * px.height);
        for (uint32_t y = 0; y < px.height; y++) {
            memcpy(im.px + y * row, px.data + y * px.stride, row);
        }
    }
    return im;
}

/* First differing byte of two results, or -1 when identical. */
static long img_diff(const struct img *a, const struct img *b)
{
    size_t n = (size_t)a->w * a->h * a->ch;

    if (a->w != b->w || a->h != b->h || a->ch != b->ch) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (a->px[i] != b->px[i]) {
            return (long)i;
        }
    }
    return -1;
}

/* The reference's nearest-neighbour rule, applied here to a full-resolution decode. */
static struct img sample_ref(const struct img *full)
{
    struct img s = {0};
    uint32_t ow = full->w, oh = full->h;

    if (ow > HW_PDQ_SAMPLE_DIM || oh > HW_PDQ_SAMPLE_DIM) {
        ow = oh = HW_PDQ_SAMPLE_DIM;
    }
    s.w = ow;
    s.h = oh;
    s.ch = full->ch;
    s.px = malloc((size_t)ow * oh * s.ch);
    for (uint32_t y = 0; y < oh; y++) {
        uint32_t sy = (uint32_t)(((uint64_t)y * full->h) / oh);
        for (uint32_t x = 0; x < ow; x++) {
            uint32_t sx = (uint32_t)(((uint64_t)x * full->w) / ow);
            memcpy(s.px + ((size_t)y * ow + x) * s.ch,
                   full->px + ((size_t)sy * full->w + sx) * full->ch, s.ch);
        }
    }
    return s;
}

/*
 * Decode `data` three ways and require identical pixels: the default path (fast when it
 * applies), the forced full decode, and a full-resolution decode sampled here (checks the
 * full path's row skipping too). expect_fast: 1 = the fast path must accept the image,
 * 0 = it must decline (the default then falls back), -1 = either, -2 = it must accept
 * exactly when the image has a side over 512 (the only case where sampling does something).
 */
static void compare(hw_decoder *d, const char *name, const void *data, size_t len, int expect_fast)
{
    char e1[256], e2[256], e3[256], e4[256];
    struct img fast = decode(d, data, len, 0, e1, sizeof(e1));
    struct img full = decode(d, data, len, HW_DECODE_FULL, e2, sizeof(e2));
    struct img only = decode(d, data, len, HW_JPEG_FAST_ONLY, e3, sizeof(e3));
    struct img nos = decode(d, data, len, HW_DECODE_NOSAMPLE, e4, sizeof(e4));
    char e5[256];
    struct img own =
        decode(d, data, len, HW_JPEG_FAST_ONLY | HW_JPEG_OWN_SCAN_ONLY, e5, sizeof(e5));

    long diff;

    n_compared++;
    if (expect_fast == -2 && nos.rc == HW_OK) {
        expect_fast = (nos.w > HW_PDQ_SAMPLE_DIM || nos.h > HW_PDQ_SAMPLE_DIM) ? 1 : 0;
    }
    CHECK(fast.rc == full.rc, "%s: default rc %d (%s) vs full rc %d (%s)", name, fast.rc, e1,
          full.rc, e2);
    if (fast.rc == HW_OK && full.rc == HW_OK) {
        diff = img_diff(&fast, &full);
        CHECK(diff < 0, "%s: default and full decodes differ at byte %ld (%ux%ux%u)", name, diff,
              fast.w, fast.h, fast.ch);
    }
    if (only.rc == HW_OK) {
        n_fast++;
        if (full.rc == HW_OK) {
            diff = img_diff(&only, &full);
            CHECK(diff < 0, "%s: fast and full decodes differ at byte %ld", name, diff);
        }
    } else {
        n_declined++;
    }
    if (own.rc == HW_OK) {
        n_own++;
        CHECK(full.rc == HW_OK, "%s: our entropy decoder accepted what the full decode refuses: %s",
              name, e2);
        if (full.rc == HW_OK) {
            diff = img_diff(&own, &full);
            CHECK(diff < 0, "%s: own-scan and full decodes differ at byte %ld", name, diff);
        }
    }
    CHECK(!expect_own || own.rc == HW_OK, "%s: our entropy decoder declined: %s", name, e5);
    if (expect_fast == 1) {
        CHECK(only.rc == HW_OK, "%s: fast path declined: %s", name, e3);
    } else if (expect_fast == 0) {
        CHECK(only.rc == HW_EUNSUPPORTED, "%s: fast path should decline, rc %d", name, only.rc);
    }
    CHECK(nos.rc == full.rc, "%s: nosample rc %d (%s) vs full %d", name, nos.rc, e4, full.rc);
    if (nos.rc == HW_OK && full.rc == HW_OK) {
        struct img s = sample_ref(&nos);

        diff = img_diff(&s, &full);
        CHECK(diff < 0, "%s: full decode differs from sampled full-resolution decode at %ld", name,
              diff);
        free(s.px);
    }
    free(fast.px);
    free(full.px);
    free(only.px);
    free(nos.px);
    free(own.px);
}

struct variant {
    const char *name;
    int quality, baseline_quant, progressive, arith, restart_rows;
};

static const struct variant variants[] = {
    {"q90", 90, 1, 0, 0, 0},          {"q75-prog", 75, 1, 1, 0, 0},
    {"q95-arith", 95, 1, 0, 1, 0},    {"q50-arith-prog", 50, 1, 1, 1, 0},
    {"q100-rst", 100, 1, 0, 0, 1},    {"q3-16bit-quant", 3, 0, 0, 0, 2},
    {"q85-prog-rst", 85, 1, 1, 0, 3},
};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static void gen_compare(hw_decoder *d, const struct jgen_mode *m, const struct variant *v,
                        uint32_t w, uint32_t h, uint32_t seed, int expect_fast)
{
    struct jgen g;
    unsigned char *jpg;
    size_t len;
    char name[160];

    jgen_init(&g, m, w, h);
    g.quality = v->quality;
    g.baseline_quant = v->baseline_quant;
    g.progressive = v->progressive;
    g.arith = v->arith;
    g.restart_rows = v->restart_rows;
    g.seed = seed;
    snprintf(name, sizeof(name), "%s/%s/%ux%u", m->name, v->name, w, h);
    jpg = jgen_encode(&g, &len);
    CHECK(jpg != NULL, "%s: could not encode", name);
    if (jpg != NULL) {
        expect_own = expect_fast == 1 && !v->progressive && !v->arith;
        compare(d, name, jpg, len, expect_fast);
        expect_own = 0;
    }
    free(jpg);
}

/* Every mode x a rotation of variants x sizes with partial MCUs on the right and bottom. */
static void test_generated(hw_decoder *d)
{
    /* Partial MCUs on both edges; small sides stretched to 512 reach the last sample row or
     * column, where the fancy filters repeat the edge (even sides end on a "below" or "right"
     * neighbour, odd ones on an "above" or "left" one); sides of 1 and 2 switch libjpeg's
     * h2 filters to plain replication. */
    static const uint32_t sizes[][2] = {{513, 513}, {517, 771}, {1021, 601}, {700, 9}, {600, 10},
                                        {10, 600},  {3, 701},   {2, 700},    {1, 1000}};
    size_t nm = jgen_n_modes;
    unsigned k = 0;

    for (size_t mi = 0; mi < nm; mi++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            const struct variant *v = &variants[k++ % N_VARIANTS];
            gen_compare(d, &jgen_modes[mi], v, sizes[si][0], sizes[si][1], (uint32_t)k, 1);
        }
    }
    /* every variant on the common subsamplings */
    for (size_t vi = 0; vi < N_VARIANTS; vi++) {
        gen_compare(d, &jgen_modes[1], &variants[vi], 777, 555, (uint32_t)vi, 1);
        gen_compare(d, &jgen_modes[2], &variants[vi], 555, 777, (uint32_t)vi + 50, 1);
    }
    /* images the sampling leaves alone take the full path (the fast one is not applicable) */
    gen_compare(d, &jgen_modes[2], &variants[0], 512, 512, 7, 0);
    gen_compare(d, &jgen_modes[2], &variants[0], 100, 37, 8, 0);
    /* large: a 12 MP camera-like photo and a tall strip */
    gen_compare(d, &jgen_modes[2], &variants[0], 4000, 3000, 9, 1);
    gen_compare(d, &jgen_modes[1], &variants[1], 600, 9000, 10, 1);
}

/* A progressive image whose AC coefficients are never fully refined: libjpeg smooths blocks
 * before its IDCT; the fast path receives the smoothed blocks and must stay exact. */
static void test_unrefined_progressive(hw_decoder *d)
{
    static const jpeg_scan_info scans[] = {
        {3, {0, 1, 2}, 0, 0, 0, 0},
        {1, {0}, 1, 63, 0, 1},
        {1, {1}, 1, 63, 0, 1},
        {1, {2}, 1, 63, 0, 1},
    };
    struct jgen g;
    unsigned char *jpg;
    size_t len;

    memset(&g, 0, sizeof(g));
    g.width = 640;
    g.height = 600;
    g.in_space = JCS_RGB;
    g.jpeg_space = JCS_YCbCr;
    g.samp[0][0] = g.samp[0][1] = 2;
    g.quality = 80;
    g.baseline_quant = 1;
    g.scans = scans;
    g.n_scans = 4;
    jpg = jgen_encode(&g, &len);
    CHECK(jpg != NULL, "unrefined progressive: could not encode");
    if (jpg != NULL) {
        compare(d, "unrefined-progressive", jpg, len, 1);
    }
    free(jpg);
}

static void edit_extreme(int comp, uint32_t by, uint32_t bx, JCOEF *coef)
{
    /* a patch of blocks whose IDCT overflows the sample range many times over (libjpeg's C
     * and SIMD IDCTs even disagree there): the fast path runs libjpeg's own method on them */
    if (comp == 0 && by >= 10 && by < 12 && bx >= 20 && bx < 30) {
        for (int k = 0; k < DCTSIZE2; k++) {
            coef[k] = (JCOEF)((k % 3) ? 1023 : -1023);
        }
    }
}

static void edit_none(int comp, uint32_t by, uint32_t bx, JCOEF *coef)
{
    (void)comp;
    (void)by;
    (void)bx;
    (void)coef;
}

/* Out-of-range coefficients, and a lossless re-encode, through both paths. */
static void test_extreme_coefficients(hw_decoder *d)
{
    struct jgen g;
    unsigned char *jpg, *ext, *same;
    size_t len, ext_len, same_len;

    memset(&g, 0, sizeof(g));
    g.width = 900;
    g.height = 700;
    g.in_space = JCS_RGB;
    g.jpeg_space = JCS_YCbCr;
    g.samp[0][0] = g.samp[0][1] = 2;
    g.quality = 90;
    g.baseline_quant = 1;
    jpg = jgen_encode(&g, &len);
    ext = jpg != NULL ? jgen_transcode(jpg, len, edit_extreme, &ext_len) : NULL;
    same = jpg != NULL ? jgen_transcode(jpg, len, edit_none, &same_len) : NULL;
    CHECK(ext != NULL && same != NULL, "could not transcode");
    if (ext != NULL && same != NULL) {
        expect_own = 1;
        compare(d, "extreme-coefficients", ext, ext_len, 1);
        compare(d, "transcoded-unchanged", same, same_len, 1);
        expect_own = 0;
    }
    free(jpg);
    free(ext);
    free(same);
}

/* Damaged entropy-coded data (tolerated with warnings): both paths agree on pixels or error. */
static void test_corrupt_data(hw_decoder *d)
{
    struct jgen g;
    unsigned char *jpg;
    size_t len;
    uint32_t s = 12345;

    memset(&g, 0, sizeof(g));
    g.width = 800;
    g.height = 600;
    g.in_space = JCS_RGB;
    g.jpeg_space = JCS_YCbCr;
    g.samp[0][0] = g.samp[0][1] = 2;
    g.quality = 90;
    g.baseline_quant = 1;
    jpg = jgen_encode(&g, &len);
    CHECK(jpg != NULL, "could not encode");
    for (int t = 0; jpg != NULL && t < 12; t++) {
        unsigned char *bad = malloc(len);
        char name[64];

        memcpy(bad, jpg, len);
        for (int k = 0; k < 1 + t; k++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            bad[len / 3 + s % (len / 2)] ^= (unsigned char)(1u << (s >> 29));
        }
        snprintf(name, sizeof(name), "corrupt-%d", t);
        compare(d, name, bad, len, -1);
        free(bad);
    }
    free(jpg);
}

/*
 * Differential fuzzing, deterministic: random byte flips anywhere in small images over 512
 * wide (headers, tables, entropy data) of several codings. Whatever libjpeg makes of the
 * damage, the fast path must agree with the full decode: same pixels when that succeeds
 * (or a decline, after which the default falls back), an error when it fails.
 */
static void test_mutations(hw_decoder *d)
{
    static const struct {
        int mode, variant;
        uint32_t w, h;
    } bases[] = {{2, 0, 700, 40},  {2, 1, 640, 48},  {1, 2, 600, 33}, {9, 4, 520, 20},
                 {13, 0, 530, 24}, {15, 3, 560, 30}, {7, 6, 600, 36}};
    uint32_t s = 777;
    int agree_ok = 0;

    for (size_t bi = 0; bi < sizeof(bases) / sizeof(bases[0]); bi++) {
        struct jgen g;
        unsigned char *jpg, *bad;
        size_t len;
        const struct jgen_mode *m = &jgen_modes[bases[bi].mode];
        const struct variant *v = &variants[bases[bi].variant];

        jgen_init(&g, m, bases[bi].w, bases[bi].h);
        g.quality = v->quality;
        g.baseline_quant = v->baseline_quant;
        g.progressive = v->progressive;
        g.arith = v->arith;
        g.restart_rows = v->restart_rows;
        jpg = jgen_encode(&g, &len);
        CHECK(jpg != NULL, "could not encode base %zu", bi);
        if (jpg == NULL) {
            continue;
        }
        bad = malloc(len);
        for (int t = 0; t < 60; t++) {
            char e1[256], e2[256], e3[256];
            struct img full, only, def;

            memcpy(bad, jpg, len);
            for (int k = 0; k < 1 + t % 4; k++) {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                bad[2 + s % (len - 2)] ^= (unsigned char)(1u + (s >> 24) % 255u);
            }
            full = decode(d, bad, len, HW_DECODE_FULL, e1, sizeof(e1));
            only = decode(d, bad, len, HW_JPEG_FAST_ONLY, e2, sizeof(e2));
            def = decode(d, bad, len, 0, e3, sizeof(e3));
            if (full.rc == HW_OK) {
                CHECK(only.rc == HW_OK || only.rc == HW_EUNSUPPORTED,
                      "%s mutation %d: full ok, fast rc %d (%s)", m->name, t, only.rc, e2);
                if (only.rc == HW_OK) {
                    agree_ok++;
                    CHECK(img_diff(&only, &full) < 0, "%s mutation %d: pixels differ", m->name, t);
                }
                CHECK(def.rc == HW_OK && img_diff(&def, &full) < 0,
                      "%s mutation %d: default differs from full", m->name, t);
            } else {
                CHECK(only.rc != HW_OK && def.rc != HW_OK,
                      "%s mutation %d: full failed (%d: %s) but fast %d default %d", m->name, t,
                      full.rc, e1, only.rc, def.rc);
            }
            free(full.px);
            free(only.px);
            free(def.px);
        }
        free(bad);
        free(jpg);
    }
    /* most flips land in entropy-coded data, which libjpeg tolerates: many must decode */
    CHECK(agree_ok > 50, "only %d mutated files decoded through both paths", agree_ok);
    printf("mutations: %d decoded identically through both paths\n", agree_ok);
}

/* Every JPEG of the PDQ conformance set (incl. 12 MP camera photos, CMYK, progressive). */
static void conformance_one(void *ctx, const char *path, const unsigned char *data, size_t len)
{
    compare(ctx, path, data, len, -2);
}

/*
 * Under a memory limit too small for the unstuffed copy our entropy decoder reads from (it is
 * about the size of the file), the sampled path still runs, with libjpeg's decoder: same
 * pixels, no error.
 */
static void test_memory_limit(hw_decoder *d)
{
    struct jgen g;
    struct hw_limits lim;
    hw_decoder *small = NULL;
    unsigned char *jpg;
    size_t len;
    char e1[256], e2[256], e3[256];

    jgen_init(&g, &jgen_modes[0], 1600, 1200);
    g.quality = 100;
    g.baseline_quant = 1;
    g.seed = 31;
    jpg = jgen_encode(&g, &len);
    CHECK(jpg != NULL, "could not encode");
    if (jpg == NULL) {
        return;
    }
    hw_limits_default(&lim);
    lim.max_decoder_mem = len; /* the copy needs len + padding + the decoder's state */
    CHECK(hw_decoder_new(&lim, &small) == HW_OK, "no decoder");
    if (small != NULL) {
        struct img full = decode(d, jpg, len, HW_DECODE_FULL, e1, sizeof(e1));
        struct img fast = decode(small, jpg, len, HW_JPEG_FAST_ONLY, e2, sizeof(e2));
        struct img own =
            decode(small, jpg, len, HW_JPEG_FAST_ONLY | HW_JPEG_OWN_SCAN_ONLY, e3, sizeof(e3));

        CHECK(full.rc == HW_OK, "full decode: %s", e1);
        CHECK(fast.rc == HW_OK, "sampled path under a %zu-byte limit: %s", len, e2);
        CHECK(own.rc == HW_EUNSUPPORTED, "our decoder ran without room for its copy: rc %d",
              own.rc);
        if (full.rc == HW_OK && fast.rc == HW_OK) {
            CHECK(img_diff(&fast, &full) < 0, "limited sampled decode differs from the full one");
        }
        free(full.px);
        free(fast.px);
        free(own.px);
        hw_decoder_free(small);
    }
    free(jpg);
}

int main(void)
{
    hw_decoder *d = NULL;

    if (hw_decoder_new(NULL, &d) != HW_OK) {
        fprintf(stderr, "no decoder\n");
        return 1;
    }
    test_generated(d);
    test_unrefined_progressive(d);
    test_extreme_coefficients(d);
    test_corrupt_data(d);
    test_mutations(d);
    test_memory_limit(d);
    {
        int unreadable = 0;

        CHECK(jgen_each_jpeg(HW_TEST_DATA "/conformance/pdq/images", conformance_one, d,
                             &unreadable) > 0 &&
                  unreadable == 0,
              "conformance images missing or unreadable");
    }
    hw_decoder_free(d);
    printf("%d images compared (%d through the fast path, %d of them also with our entropy "
           "decoder; %d declined or not applicable), %d failures\n",
           n_compared, n_fast, n_own, n_declined, failures);
    return failures != 0;
}
