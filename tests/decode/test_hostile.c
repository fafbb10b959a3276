/* test_hostile.c: hostile and broken inputs give their specific error code and a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"

#include "decode/png_gen.h"

#include "hw_test.h"

static hw_decoder *dec;
static char errmsg[512];

/* Decode a heap copy of exactly `len` bytes (so ASan sees over-reads); keep the message. */
static int decode_len(const uint8_t *data, size_t len, struct hw_pixels *px)
{
    struct hw_image_info info;
    struct hw_pixels tmp;
    uint8_t *copy = malloc(len ? len : 1);

    if (len) {
        memcpy(copy, data, len);
    }
    errmsg[0] = '\0';
    int rc = hw_decoder_decode(dec, copy, len, 0, &info, px ? px : &tmp, errmsg, sizeof(errmsg));
    free(copy);
    return rc;
}

/* `rc` must be `want` and the message must contain `needle`. */
static void expect(const char *what, int rc, int want, const char *needle)
{
    CHECK(rc == want, "%s: got %s (%s), want %s", what, hw_errname(rc), errmsg, hw_errname(want));
    CHECK(errmsg[0] != '\0', "%s: empty message", what);
    if (needle) {
        CHECK(strstr(errmsg, needle) != NULL, "%s: message '%s' lacks '%s'", what, errmsg, needle);
    }
}

/* Signature + IHDR with the given fields and a correct CRC. */
static void png_header(struct tbuf *b, uint32_t w, uint32_t h, int depth, int ctype)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13] = {(uint8_t)(w >> 24),
                        (uint8_t)(w >> 16),
                        (uint8_t)(w >> 8),
                        (uint8_t)w,
                        (uint8_t)(h >> 24),
                        (uint8_t)(h >> 16),
                        (uint8_t)(h >> 8),
                        (uint8_t)h,
                        (uint8_t)depth,
                        (uint8_t)ctype,
                        0,
                        0,
                        0};
    tbuf_put(b, sig, 8);
    tpng_chunk(b, "IHDR", ihdr, 13);
}

/* A small, valid RGB PNG to break in various ways. */
static void small_png(struct tbuf *b, int interlace)
{
    uint8_t rows[40 * 30 * 3];
    for (size_t i = 0; i < sizeof(rows); i++) {
        rows[i] = (uint8_t)(i * 7 + i / 97);
    }
    struct tpng t = {.width = 40,
                     .height = 30,
                     .depth = 8,
                     .ctype = PNG_COLOR_TYPE_RGB,
                     .interlace = interlace,
                     .rows = rows,
                     .rowbytes = 120};
    if (tpng_write(&t, b) != 0) {
        abort();
    }
}

static void test_not_images(void)
{
    static const char text[] = "This is a plain text file, not an image.\n";
    int rc = hw_decoder_decode(dec, NULL, 0, 0, &(struct hw_image_info){0}, &(struct hw_pixels){0},
                               errmsg, sizeof(errmsg));
    expect("zero bytes", rc, HW_EUNSUPPORTED, "0 bytes");
    expect("text", decode_len((const uint8_t *)text, sizeof(text) - 1, NULL), HW_EUNSUPPORTED,
           "not a JPEG or PNG");
    expect("signature only", decode_len((const uint8_t *)"\x89PNG\r\n\x1a\n", 8, NULL),
           HW_ETRUNCATED, "truncated");
}

/* Declared sizes over the limits fail before any pixel memory: the IHDR alone says so. */
static void test_bombs(void)
{
    struct tbuf b = {0};
    uint8_t junk[64] = {0};

    png_header(&b, 100000, 100000, 8, 2);
    tpng_chunk(&b, "IDAT", junk, sizeof(junk));
    expect("100000x100000", decode_len(b.p, b.len, NULL), HW_ETOOBIG, "100000x100000");
    tbuf_free(&b);
    /* Each side within 32768 but 30000 x 30000 = 900 Mpixels > 100 Mpixels. */
    png_header(&b, 30000, 30000, 8, 0);
    tpng_chunk(&b, "IDAT", junk, sizeof(junk));
    expect("30000x30000", decode_len(b.p, b.len, NULL), HW_ETOOBIG, "30000x30000");
    tbuf_free(&b);
    /* Width 2^31 and more (PNG allows at most 2^31-1). */
    png_header(&b, 0x80000000u, 1, 8, 0);
    expect("width 2^31", decode_len(b.p, b.len, NULL), HW_ETOOBIG, "over the limit");
    tbuf_free(&b);
    png_header(&b, 0, 10, 8, 0);
    tpng_chunk(&b, "IDAT", junk, sizeof(junk));
    expect("zero width", decode_len(b.p, b.len, NULL), HW_EFORMAT, "zero dimension");
    tbuf_free(&b);
}

/* Giant chunk lengths and too many chunks: refused from the header, nothing allocated. */
static void test_chunks(void)
{
    struct tbuf png = {0}, b = {0};
    small_png(&png, 0);
    size_t idat = tpng_find(png.p, png.len, "IDAT");
    static const char *giant[] = {"tEXt", "zTXt", "iCCP", "prVt"};

    for (int i = 0; i < 4; i++) {
        /* A 1 GiB chunk declared, followed by only a few bytes. */
        uint8_t hdr[8] = {0x40, 0, 0, 0};
        memcpy(hdr + 4, giant[i], 4);
        tbuf_put(&b, png.p, idat);
        tbuf_put(&b, hdr, 8);
        tbuf_put(&b, "abcdefgh", 8);
        expect(giant[i], decode_len(b.p, b.len, NULL), HW_ETOOBIG, giant[i]);
        b.len = 0;
    }
    /* Length field over 2^31-1: corrupt, not a limit. */
    uint8_t hdr[8] = {0x90, 0, 0, 0, 't', 'E', 'X', 't'};
    tbuf_put(&b, png.p, idat);
    tbuf_put(&b, hdr, 8);
    expect("length over 2^31", decode_len(b.p, b.len, NULL), HW_EFORMAT, "2^31");
    b.len = 0;

    /* 1000 ancillary chunks (the default cap) are accepted, 1001 are not. */
    for (int n = 1000; n <= 1001; n++) {
        tbuf_put(&b, png.p, idat);
        for (int i = 0; i < n; i++) {
            tpng_chunk(&b, "tEXt", "k\0v", 3);
        }
        tbuf_put(&b, png.p + idat, png.len - idat);
        int rc = decode_len(b.p, b.len, NULL);
        if (n == 1000) {
            CHECK(rc == HW_OK, "1000 chunks: %s (%s)", hw_errname(rc), errmsg);
        } else {
            expect("1001 chunks", rc, HW_ETOOBIG, "chunks");
        }
        b.len = 0;
    }
    tbuf_free(&b);
    tbuf_free(&png);
}

/* Cut at every offset: nothing crashes; before IEND the error is "truncated"; a cut inside IEND
 * may still decode (the pixels are complete), and then to the same pixels. */
static void test_truncation(void)
{
    for (int il = 0; il < 2; il++) {
        struct tbuf png = {0};
        struct hw_pixels px;
        small_png(&png, il);
        size_t iend = tpng_find(png.p, png.len, "IEND");
        uint8_t *ref = NULL;

        CHECK(decode_len(png.p, png.len, &px) == HW_OK, "intact");
        ref = malloc(40 * 30 * 3);
        memcpy(ref, px.data, 40 * 30 * 3);
        for (size_t cut = 0; cut < png.len; cut++) {
            int rc = decode_len(png.p, cut, &px);
            if (cut < 8) {
                CHECK(rc == HW_EUNSUPPORTED || (cut == 0 && rc == HW_EUNSUPPORTED), "cut %zu: %s",
                      cut, hw_errname(rc));
            } else if (cut < iend) {
                CHECK(rc == HW_ETRUNCATED, "il %d cut %zu of %zu: %s (%s)", il, cut, png.len,
                      hw_errname(rc), errmsg);
            } else if (rc == HW_OK) {
                CHECK(memcmp(px.data, ref, 40 * 30 * 3) == 0, "cut %zu in IEND: pixels differ",
                      cut);
            } else {
                CHECK(rc == HW_ETRUNCATED, "cut %zu in IEND: %s", cut, hw_errname(rc));
            }
        }
        free(ref);
        tbuf_free(&png);
    }
}

/* Corruption with the structure intact. */
static void test_corrupt(void)
{
    struct tbuf png = {0}, b = {0};
    small_png(&png, 0);
    size_t idat = tpng_find(png.p, png.len, "IDAT");
    uint32_t idat_len = ((uint32_t)png.p[idat] << 24) | ((uint32_t)png.p[idat + 1] << 16) |
                        ((uint32_t)png.p[idat + 2] << 8) | png.p[idat + 3];

    /* Bad CRC on IDAT (last CRC byte flipped). */
    tbuf_put(&b, png.p, png.len);
    b.p[idat + 8 + idat_len + 3] ^= 0x55;
    expect("IDAT CRC", decode_len(b.p, b.len, NULL), HW_EFORMAT, "CRC");
    /* Bad CRC on IHDR. */
    memcpy(b.p, png.p, png.len);
    b.p[8 + 8 + 13] ^= 1;
    expect("IHDR CRC", decode_len(b.p, b.len, NULL), HW_EFORMAT, "CRC");
    /* A flipped byte inside the deflate data, CRC recomputed: zlib finds it. */
    b.len = 0;
    uint8_t *bad = malloc(idat_len);
    memcpy(bad, png.p + idat + 8, idat_len);
    bad[idat_len / 2] ^= 0xff;
    bad[idat_len / 2 + 1] ^= 0x3c;
    tbuf_put(&b, png.p, idat);
    tpng_chunk(&b, "IDAT", bad, idat_len);
    tbuf_put(&b, png.p + idat + 12 + idat_len, png.len - idat - 12 - idat_len);
    expect("deflate data", decode_len(b.p, b.len, NULL), HW_EFORMAT, "PNG corrupt");
    /* The image data stops early (half the deflate stream, then IEND): truncated image data. */
    b.len = 0;
    tbuf_put(&b, png.p, idat);
    tpng_chunk(&b, "IDAT", png.p + idat + 8, idat_len / 2);
    tpng_chunk(&b, "IEND", NULL, 0);
    expect("half IDAT then IEND", decode_len(b.p, b.len, NULL), HW_ETRUNCATED, "image data");
    /* No IDAT at all. */
    b.len = 0;
    tbuf_put(&b, png.p, idat);
    tpng_chunk(&b, "IEND", NULL, 0);
    expect("no IDAT", decode_len(b.p, b.len, NULL), HW_EFORMAT, "PNG corrupt");
    /* First chunk not IHDR; invalid depth for the colour type. */
    b.len = 0;
    tbuf_put(&b, png.p, 8);
    tpng_chunk(&b, "tEXt", "k\0v", 3);
    tbuf_put(&b, png.p + 8, png.len - 8);
    expect("IHDR not first", decode_len(b.p, b.len, NULL), HW_EFORMAT, "IHDR");
    b.len = 0;
    png_header(&b, 4, 4, 3, 2);
    tbuf_put(&b, png.p + idat, png.len - idat);
    expect("RGB depth 3", decode_len(b.p, b.len, NULL), HW_EFORMAT, "PNG corrupt");
    /* Palette image without PLTE. */
    b.len = 0;
    png_header(&b, 40, 30, 8, 3);
    tbuf_put(&b, png.p + idat, png.len - idat);
    expect("no PLTE", decode_len(b.p, b.len, NULL), HW_EFORMAT, "PNG corrupt");
    free(bad);
    tbuf_free(&b);
    tbuf_free(&png);
}

/* A failed decode leaves the decoder usable: a good image right after decodes correctly. */
static void test_recovery(void)
{
    struct tbuf png = {0};
    struct hw_pixels px;
    small_png(&png, 1);
    CHECK(decode_len(png.p, png.len / 2, &px) == HW_ETRUNCATED, "half");
    CHECK(px.data == NULL && px.width == 0, "pixels on failure");
    CHECK(decode_len(png.p, png.len, &px) == HW_OK && px.width == 40, "after failure");
    tbuf_free(&png);
}

/* max_decoder_mem bounds our buffers: output pixels, and the kept rows of a sampled Adam7. */
static void test_decoder_mem(void)
{
    struct hw_limits lim;
    hw_decoder *small = NULL;
    struct hw_image_info info;
    struct hw_pixels px;
    const uint32_t w = 1300, h = 700;
    size_t rb = (size_t)w * 3;
    uint8_t *rows = calloc(h, rb);

    hw_limits_default(&lim);
    lim.max_decoder_mem = 1 << 20; /* 512x512x3 output fits; 513 rows of 3900 bytes do not */
    if (rows == NULL || hw_decoder_new(&lim, &small) != HW_OK) {
        abort();
    }
    for (int il = 0; il < 2; il++) {
        struct tbuf b = {0};
        struct tpng t = {.width = w,
                         .height = h,
                         .depth = 8,
                         .ctype = PNG_COLOR_TYPE_RGB,
                         .interlace = il,
                         .rows = rows,
                         .rowbytes = rb};
        if (tpng_write(&t, &b) != 0) {
            abort();
        }
        errmsg[0] = '\0';
        int rc = hw_decoder_decode(small, b.p, b.len, 0, &info, &px, errmsg, sizeof(errmsg));
        if (il == 0) {
            CHECK(rc == HW_OK, "plain 1300x700 in 1 MiB: %s (%s)", hw_errname(rc), errmsg);
        } else {
            expect("Adam7 rows over max_decoder_mem", rc, HW_ETOOBIG, "memory limit");
        }
        /* Full resolution needs 2.7 MB of output: over the limit either way. */
        errmsg[0] = '\0';
        rc = hw_decoder_decode(small, b.p, b.len, HW_DECODE_NOSAMPLE, &info, &px, errmsg,
                               sizeof(errmsg));
        expect("NOSAMPLE output over max_decoder_mem", rc, HW_ETOOBIG, "memory limit");
        tbuf_free(&b);
    }
    hw_decoder_free(small);
    free(rows);
}

int main(void)
{
    if (hw_decoder_new(NULL, &dec) != HW_OK) {
        return 1;
    }
    test_not_images();
    test_bombs();
    test_chunks();
    test_truncation();
    test_corrupt();
    test_recovery();
    test_decoder_mem();
    hw_decoder_free(dec);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
