/* test_bigpng.c: a 12000 x 12000 PNG (8000 x 8000 Adam7) decodes in about one row of memory, not a
 * whole frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"

#include "decode/png_gen.h"

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static uint8_t pixel(uint32_t x, uint32_t y)
{
    return (uint8_t)((x >> 4) * 3 + (y >> 4) * 7);
}

/* Rows produced one at a time (png_gen's writer takes them all; stream here instead). */
static void write_cb(png_structp png, png_bytep data, size_t len)
{
    tbuf_put(png_get_io_ptr(png), data, len);
}

static void flush_cb(png_structp png)
{
    (void)png;
}

/* Write a side x side grey PNG row by row, decode it, check memory and the sampled pixels. */
static int big(uint32_t side, int interlace)
{
    struct tbuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pinfo = png_create_info_struct(png);
    uint8_t *row = malloc(side);
    int failures = 0;

    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng write failed\n");
        return 1;
    }
    png_set_write_fn(png, &b, write_cb, flush_cb);
    png_set_compression_level(png, 1);
    png_set_IHDR(png, pinfo, side, side, 8, PNG_COLOR_TYPE_GRAY,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pinfo);
    int passes = interlace ? png_set_interlace_handling(png) : 1;
    for (int p = 0; p < passes; p++) {
        for (uint32_t y = 0; y < side; y++) {
            for (uint32_t x = 0; x < side; x++) {
                row[x] = pixel(x, y);
            }
            png_write_row(png, row);
        }
    }
    png_write_end(png, pinfo);
    png_destroy_write_struct(&png, &pinfo);
    free(row);

    struct hw_limits lim;
    hw_limits_default(&lim);
    lim.max_pixels = (uint64_t)side * side; /* over the 100 Mpixel default */
    hw_decoder *d = NULL;
    struct hw_image_info info;
    struct hw_pixels px;
    char err[256] = "";
    if (hw_decoder_new(&lim, &d) != HW_OK) {
        return 1;
    }
    long before = peak_rss_kb();
    int rc = hw_decoder_decode(d, b.p, b.len, 0, &info, &px, err, sizeof(err));
    long grew_kb = peak_rss_kb() - before;
    if (rc != HW_OK) {
        fprintf(stderr, "FAIL decode: %s (%s)\n", hw_errname(rc), err);
        return 1;
    }
    /* A whole frame would be side * side bytes. Plain: one row plus libpng and the 512x512 output,
     * under 1 MiB; Adam7: 513 rows, 4 MiB. 32 MiB leaves room for allocator and sanitizer
     * noise. */
    if (grew_kb > 32 * 1024) {
        fprintf(stderr, "FAIL interlace %d: peak RSS grew by %ld KiB decoding %ux%u\n", interlace,
                grew_kb, side, side);
        failures++;
    }
    if (px.width != 512 || px.height != 512 || px.channels != 1 ||
        !!(info.flags & HW_IMG_INTERLACED) != interlace) {
        fprintf(stderr, "FAIL output %ux%u x%u flags 0x%x\n", px.width, px.height, px.channels,
                info.flags);
        failures++;
    } else {
        for (uint32_t oy = 0; oy < 512; oy++) {
            for (uint32_t ox = 0; ox < 512; ox++) {
                uint32_t sy = (uint32_t)((uint64_t)oy * side / 512);
                uint32_t sx = (uint32_t)((uint64_t)ox * side / 512);
                if (px.data[oy * px.stride + ox] != pixel(sx, sy)) {
                    failures++;
                }
            }
        }
    }
    printf("interlace %d: encoded %zu bytes, peak RSS grew %ld KiB\n", interlace, b.len, grew_kb);
    hw_decoder_free(d);
    tbuf_free(&b);
    return failures;
}

int main(void)
{
    /* 12000^2 = 144 MB and 8000^2 = 64 MB as whole 8-bit frames: twice the 32 MiB bound. */
    int failures = big(12000, 0) + big(8000, 1);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
