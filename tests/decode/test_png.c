/* test_png.c: PNG decoding through hw_image.h against images written here with libpng. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"

#include "decode/png_gen.h"

#include "hw_test.h"

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
    return t_xorshift32(&rng_state);
}

/* Source channels per PNG colour type (palette: one index). */
static int src_channels(int ctype)
{
    switch (ctype) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE:
        return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    default:
        return 4;
    }
}

/* 8-bit value of a sample of `depth` bits, as the PNG spec (12.4) and PDQ.md 1 define it:
 * low depths replicate to the full range, 16 bits round v * 255 / 65535. */
static uint8_t to8(uint32_t v, int depth)
{
    if (depth == 16) {
        return (uint8_t)((v * 255 + 32767) / 65535);
    }
    return (uint8_t)(v * 255 / ((1u << depth) - 1));
}

/* Pack samples (s[(y*w+x)*nch+c]) into PNG raw rows. */
static uint8_t *pack_rows(const uint16_t *s, uint32_t w, uint32_t h, int nch, int depth,
                          size_t *rowbytes)
{
    size_t rb = ((size_t)w * nch * depth + 7) / 8;
    uint8_t *rows = calloc(h, rb);

    for (uint32_t y = 0; y < h; y++) {
        uint8_t *r = rows + y * rb;
        for (uint32_t i = 0; i < w * (uint32_t)nch; i++) {
            uint16_t v = s[(size_t)y * w * nch + i];
            if (depth == 16) {
                r[2 * i] = (uint8_t)(v >> 8);
                r[2 * i + 1] = (uint8_t)v;
            } else if (depth == 8) {
                r[i] = (uint8_t)v;
            } else {
                size_t bit = (size_t)i * depth;
                r[bit / 8] |= (uint8_t)(v << (8 - depth - bit % 8));
            }
        }
    }
    *rowbytes = rb;
    return rows;
}

static hw_decoder *dec;

static int decode(const struct tbuf *b, unsigned flags, struct hw_image_info *info,
                  struct hw_pixels *px)
{
    char err[256] = "";
    int rc = hw_decoder_decode(dec, b->p, b->len, flags, info, px, err, sizeof(err));
    if (rc != HW_OK) {
        fprintf(stderr, "  decode: %s (%s)\n", hw_errname(rc), err);
    }
    return rc;
}

/* One colour type and depth, plain and Adam7: every output sample equals the expected one. */
static void check_mode(int ctype, int depth, int with_trns)
{
    const uint32_t w = 37, h = 23; /* odd sizes exercise partial Adam7 blocks */
    int nch = src_channels(ctype);
    uint32_t maxv = (1u << depth) - 1;
    uint16_t *s = malloc(sizeof(uint16_t) * w * h * nch);
    uint8_t *expect = malloc((size_t)w * h * 3);
    png_color pal[256];
    uint8_t pal_alpha[256];
    png_color_16 tc = {0};
    int n_pal = ctype == PNG_COLOR_TYPE_PALETTE ? 1 << depth : 0;
    int out_ch = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    size_t rowbytes;

    for (int i = 0; i < n_pal; i++) {
        pal[i].red = (uint8_t)rng();
        pal[i].green = (uint8_t)rng();
        pal[i].blue = (uint8_t)rng();
        pal_alpha[i] = (uint8_t)(i * 37);
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        for (int c = 0; c < nch; c++) {
            s[i * nch + c] = (uint16_t)(rng() % (maxv + 1));
        }
        if (ctype == PNG_COLOR_TYPE_PALETTE) {
            png_color p = pal[s[i]];
            expect[i * 3] = p.red;
            expect[i * 3 + 1] = p.green;
            expect[i * 3 + 2] = p.blue;
        } else {
            for (int c = 0; c < out_ch; c++) {
                expect[i * out_ch + c] = to8(s[i * nch + c], depth);
            }
        }
    }
    tc.gray = tc.red = (uint16_t)(maxv / 3);
    tc.green = tc.blue = 1;
    uint8_t *rows = pack_rows(s, w, h, nch, depth, &rowbytes);
    struct hw_pixels ref = {0};
    uint8_t *ref_copy = NULL;

    for (int il = 0; il < 2; il++) {
        struct tpng t = {.width = w,
                         .height = h,
                         .depth = depth,
                         .ctype = ctype,
                         .interlace = il,
                         .rows = rows,
                         .rowbytes = rowbytes,
                         .palette = n_pal ? pal : NULL,
                         .n_palette = n_pal};
        struct tbuf b = {0};
        struct hw_image_info info;
        struct hw_pixels px;
        unsigned want = 0;

        if (with_trns && ctype == PNG_COLOR_TYPE_PALETTE) {
            t.trns_alpha = pal_alpha;
            t.n_trns = n_pal;
        } else if (with_trns) {
            t.trns_color = &tc;
        }
        CHECK(tpng_write(&t, &b) == 0, "write ctype %d depth %d", ctype, depth);
        if (decode(&b, 0, &info, &px) != HW_OK) {
            CHECK(0, "ctype %d depth %d interlace %d trns %d failed", ctype, depth, il, with_trns);
            tbuf_free(&b);
            continue;
        }
        want |= (ctype & PNG_COLOR_MASK_COLOR) ? 0 : HW_IMG_GREY;
        want |= ctype == PNG_COLOR_TYPE_PALETTE ? HW_IMG_PALETTE : 0;
        want |= ((ctype & PNG_COLOR_MASK_ALPHA) || with_trns) ? HW_IMG_ALPHA : 0;
        want |= depth == 16 ? HW_IMG_16BIT : 0;
        want |= il ? HW_IMG_INTERLACED : 0;
        CHECK(info.format == HW_FORMAT_PNG && info.width == w && info.height == h,
              "info ctype %d depth %d", ctype, depth);
        CHECK(info.flags == want, "ctype %d depth %d il %d: flags 0x%x want 0x%x", ctype, depth, il,
              info.flags, want);
        CHECK(px.width == w && px.height == h && px.channels == (unsigned)out_ch &&
                  px.stride == (size_t)w * out_ch,
              "ctype %d depth %d: %ux%u x%u", ctype, depth, px.width, px.height, px.channels);
        if (px.channels == (unsigned)out_ch && px.width == w && px.height == h) {
            size_t bad = 0;
            for (uint32_t y = 0; y < h; y++) {
                bad += memcmp(px.data + y * px.stride, expect + (size_t)y * w * out_ch,
                              (size_t)w * out_ch) != 0;
            }
            CHECK(bad == 0, "ctype %d depth %d il %d trns %d: %zu rows differ", ctype, depth, il,
                  with_trns, bad);
            if (il == 0) {
                ref = px;
                ref_copy = malloc((size_t)w * h * out_ch);
                memcpy(ref_copy, px.data, (size_t)w * h * out_ch);
            } else if (ref_copy != NULL) {
                CHECK(memcmp(ref_copy, px.data, (size_t)w * h * out_ch) == 0,
                      "interlaced differs from plain, ctype %d depth %d", ctype, depth);
            }
        }
        tbuf_free(&b);
    }
    (void)ref;
    free(ref_copy);
    free(rows);
    free(s);
    free(expect);
}

static void test_modes(void)
{
    static const int grey_depths[] = {1, 2, 4, 8, 16};
    static const int pal_depths[] = {1, 2, 4, 8};

    for (int i = 0; i < 5; i++) {
        check_mode(PNG_COLOR_TYPE_GRAY, grey_depths[i], 0);
        check_mode(PNG_COLOR_TYPE_GRAY, grey_depths[i], 1);
    }
    for (int i = 0; i < 4; i++) {
        check_mode(PNG_COLOR_TYPE_PALETTE, pal_depths[i], 0);
        check_mode(PNG_COLOR_TYPE_PALETTE, pal_depths[i], 1);
    }
    for (int depth = 8; depth <= 16; depth += 8) {
        check_mode(PNG_COLOR_TYPE_GRAY_ALPHA, depth, 0);
        check_mode(PNG_COLOR_TYPE_RGB, depth, 0);
        check_mode(PNG_COLOR_TYPE_RGB, depth, 1);
        check_mode(PNG_COLOR_TYPE_RGB_ALPHA, depth, 0);
    }
}

/* Every 16-bit value once: the result is the rounded v*255/65535, neither byte alone. */
static void test_scale16(void)
{
    uint16_t *s = malloc(sizeof(uint16_t) * 65536);
    size_t rowbytes;
    struct tbuf b = {0};
    struct hw_image_info info;
    struct hw_pixels px;
    size_t bad = 0, differs_low = 0, differs_high = 0;

    for (uint32_t v = 0; v < 65536; v++) {
        s[v] = (uint16_t)v;
    }
    uint8_t *rows = pack_rows(s, 256, 256, 1, 16, &rowbytes);
    struct tpng t = {.width = 256,
                     .height = 256,
                     .depth = 16,
                     .ctype = PNG_COLOR_TYPE_GRAY,
                     .interlace = 0,
                     .rows = rows,
                     .rowbytes = rowbytes};
    CHECK(tpng_write(&t, &b) == 0, "write");
    if (decode(&b, 0, &info, &px) == HW_OK && px.channels == 1) {
        for (uint32_t v = 0; v < 65536; v++) {
            uint8_t got = px.data[(v >> 8) * px.stride + (v & 255)];
            bad += got != to8(v, 16);
            differs_low += got != (v & 255);
            differs_high += got != (v >> 8);
        }
        CHECK(bad == 0, "%zu of 65536 16-bit values mis-scaled", bad);
        /* The image really tells the three reductions apart. */
        CHECK(differs_low > 60000 && differs_high > 100, "low %zu high %zu", differs_low,
              differs_high);
        CHECK(info.flags == (HW_IMG_GREY | HW_IMG_16BIT), "flags 0x%x", info.flags);
    } else {
        CHECK(0, "16-bit grey did not decode to 1 channel");
    }
    tbuf_free(&b);
    free(rows);
    free(s);
}

/* Colour hidden under alpha = 0 is hashed as stored: two images differing only there differ. */
static void test_hidden_alpha(void)
{
    const uint32_t w = 16, h = 16;
    uint8_t *out[2] = {NULL, NULL};

    for (int variant = 0; variant < 2; variant++) {
        uint8_t rows[16 * 16 * 4];
        struct tbuf b = {0};
        struct hw_image_info info;
        struct hw_pixels px;

        for (uint32_t i = 0; i < w * h; i++) {
            int hidden = (i % w) < 8 && (i / w) < 8;
            rows[i * 4] = (uint8_t)(hidden ? (variant ? 250 : 10) : i);
            rows[i * 4 + 1] = (uint8_t)(hidden ? (variant ? 5 : 200) : 2 * i);
            rows[i * 4 + 2] = (uint8_t)(hidden ? 128 : 3 * i);
            rows[i * 4 + 3] = (uint8_t)(hidden ? 0 : 255);
        }
        struct tpng t = {.width = w,
                         .height = h,
                         .depth = 8,
                         .ctype = PNG_COLOR_TYPE_RGB_ALPHA,
                         .interlace = 0,
                         .rows = rows,
                         .rowbytes = w * 4};
        CHECK(tpng_write(&t, &b) == 0, "write");
        if (decode(&b, 0, &info, &px) == HW_OK && px.channels == 3) {
            out[variant] = malloc(w * h * 3);
            memcpy(out[variant], px.data, w * h * 3);
            for (uint32_t i = 0; i < w * h; i++) {
                CHECK(memcmp(out[variant] + i * 3, rows + i * 4, 3) == 0,
                      "pixel %u not the stored colour", i);
            }
            CHECK(info.flags & HW_IMG_ALPHA, "alpha flag");
        } else {
            CHECK(0, "RGBA variant %d", variant);
        }
        tbuf_free(&b);
    }
    if (out[0] && out[1]) {
        CHECK(memcmp(out[0], out[1], w * h * 3) != 0, "hidden colours gave the same pixels");
    }
    free(out[0]);
    free(out[1]);
}

/* Above 512 on either side: exactly 512x512, output (oy, ox) = source (floor(oy*H/512),
 * floor(ox*W/512)); HW_DECODE_NOSAMPLE gives every pixel; HW_DECODE_FULL the same as 0. */
static void check_sampling(uint32_t w, uint32_t h, int interlace)
{
    size_t rb = (size_t)w * 3;
    uint8_t *rows = malloc(rb * h);
    struct tbuf b = {0};
    struct hw_image_info info;
    struct hw_pixels px;

    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = rows + y * rb + x * 3;
            p[0] = (uint8_t)x;
            p[1] = (uint8_t)y;
            p[2] = (uint8_t)((x >> 8) | ((y >> 8) << 4));
        }
    }
    struct tpng t = {.width = w,
                     .height = h,
                     .depth = 8,
                     .ctype = PNG_COLOR_TYPE_RGB,
                     .interlace = interlace,
                     .rows = rows,
                     .rowbytes = rb};
    t.level = 1;
    CHECK(tpng_write(&t, &b) == 0, "write");
    for (int pass = 0; pass < 2; pass++) {
        unsigned flags = pass ? HW_DECODE_FULL : 0;
        if (decode(&b, flags, &info, &px) != HW_OK) {
            CHECK(0, "%ux%u il %d", w, h, interlace);
            continue;
        }
        CHECK(info.width == w && info.height == h, "info size");
        CHECK(px.width == 512 && px.height == 512 && px.channels == 3, "%ux%u -> %ux%u", w, h,
              px.width, px.height);
        if (px.width != 512 || px.height != 512 || px.channels != 3) {
            continue;
        }
        size_t bad = 0;
        for (uint32_t oy = 0; oy < 512; oy++) {
            uint32_t sy = (uint32_t)((uint64_t)oy * h / 512);
            for (uint32_t ox = 0; ox < 512; ox++) {
                uint32_t sx = (uint32_t)((uint64_t)ox * w / 512);
                bad += memcmp(px.data + oy * px.stride + ox * 3, rows + sy * rb + sx * 3, 3) != 0;
            }
        }
        CHECK(bad == 0, "%ux%u il %d flags %u: %zu sampled pixels wrong", w, h, interlace, flags,
              bad);
    }
    if (decode(&b, HW_DECODE_NOSAMPLE, &info, &px) == HW_OK) {
        CHECK(px.width == w && px.height == h && px.stride == rb &&
                  memcmp(px.data, rows, rb * h) == 0,
              "NOSAMPLE %ux%u not the full image", w, h);
    } else {
        CHECK(0, "NOSAMPLE decode");
    }
    tbuf_free(&b);
    free(rows);
}

static void test_sampling(void)
{
    check_sampling(1300, 700, 0);
    check_sampling(1300, 700, 1);
    check_sampling(600, 40, 0);  /* rows repeated ~13 times */
    check_sampling(33, 2000, 1); /* columns repeated, interlaced */
    check_sampling(513, 512, 0); /* just over on one side */
    /* Exactly 512 is untouched (no sampling). */
    uint8_t rows[512 * 1];
    for (int i = 0; i < 512; i++) {
        rows[i] = (uint8_t)(i * 7);
    }
    struct tpng t = {.width = 512,
                     .height = 1,
                     .depth = 8,
                     .ctype = PNG_COLOR_TYPE_GRAY,
                     .interlace = 0,
                     .rows = rows,
                     .rowbytes = 512};
    struct tbuf b = {0};
    struct hw_image_info info;
    struct hw_pixels px;
    CHECK(tpng_write(&t, &b) == 0, "write");
    if (decode(&b, 0, &info, &px) == HW_OK) {
        CHECK(px.width == 512 && px.height == 1 && memcmp(px.data, rows, 512) == 0,
              "512x1 must not be resampled");
    } else {
        CHECK(0, "512x1");
    }
    tbuf_free(&b);
}

/* APNG: an acTL chunk before IDAT flags the image animated; the default image is decoded. */
static void test_apng(void)
{
    uint8_t rows[8 * 8 * 3];
    struct tbuf plain = {0}, anim = {0};
    struct hw_image_info info;
    struct hw_pixels px;
    uint8_t *ref = NULL;
    /* acTL: num_frames 2, num_plays 0 (APNG spec); fcTL for frame 0 covering the image. */
    static const uint8_t actl[8] = {0, 0, 0, 2, 0, 0, 0, 0};
    static const uint8_t fctl[26] = {0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0,
                                     0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0};

    for (int i = 0; i < 8 * 8 * 3; i++) {
        rows[i] = (uint8_t)(i * 5);
    }
    struct tpng t = {.width = 8,
                     .height = 8,
                     .depth = 8,
                     .ctype = PNG_COLOR_TYPE_RGB,
                     .interlace = 0,
                     .rows = rows,
                     .rowbytes = 24};
    CHECK(tpng_write(&t, &plain) == 0, "write");
    if (decode(&plain, 0, &info, &px) == HW_OK) {
        CHECK(!(info.flags & HW_IMG_ANIMATED), "plain PNG flagged animated");
        ref = malloc(8 * 8 * 3);
        memcpy(ref, px.data, 8 * 8 * 3);
    }
    size_t idat = tpng_find(plain.p, plain.len, "IDAT");
    struct tbuf tmp = {0};
    tpng_insert(plain.p, plain.len, idat, "acTL", actl, sizeof(actl), &tmp);
    tpng_insert(tmp.p, tmp.len, idat + 20, "fcTL", fctl, sizeof(fctl), &anim);
    if (decode(&anim, 0, &info, &px) == HW_OK && ref != NULL) {
        CHECK(info.flags & HW_IMG_ANIMATED, "APNG not flagged animated");
        CHECK(memcmp(ref, px.data, 8 * 8 * 3) == 0, "APNG default image differs");
    } else {
        CHECK(0, "APNG decode");
    }
    /* An acTL after the image data is not APNG (APNG spec: acTL must precede IDAT). */
    struct tbuf late = {0};
    size_t iend = tpng_find(plain.p, plain.len, "IEND");
    tpng_insert(plain.p, plain.len, iend, "acTL", actl, sizeof(actl), &late);
    if (decode(&late, 0, &info, &px) == HW_OK) {
        CHECK(!(info.flags & HW_IMG_ANIMATED), "acTL after IDAT flagged animated");
    } else {
        CHECK(0, "late acTL decode");
    }
    tbuf_free(&late);
    tbuf_free(&tmp);
    tbuf_free(&plain);
    tbuf_free(&anim);
    free(ref);
}

int main(void)
{
    if (hw_decoder_new(NULL, &dec) != HW_OK) {
        return 1;
    }
    test_modes();
    test_scale16();
    test_hidden_alpha();
    test_sampling();
    test_apng();
    hw_decoder_free(dec);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
