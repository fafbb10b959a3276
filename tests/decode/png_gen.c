/* png_gen.c: builds PNG files in memory for the decoder tests (libpng write API + raw chunks). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/png_gen.h"

void tbuf_put(struct tbuf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            fprintf(stderr, "out of memory\n");
            abort();
        }
        b->cap = cap;
    }
    if (len > 0) {
        memcpy(b->p + b->len, data, len);
    }
    b->len += len;
}

void tbuf_free(struct tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void tpng_write_cb(png_structp png, png_bytep data, size_t len)
{
    tbuf_put(png_get_io_ptr(png), data, len);
}

static void tpng_flush_cb(png_structp png)
{
    (void)png;
}

int tpng_write(const struct tpng *t, struct tbuf *out)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;

    if (info == NULL) {
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, out, tpng_write_cb, tpng_flush_cb);
    png_set_compression_level(png, t->level ? t->level : 6);
    png_set_IHDR(png, info, t->width, t->height, t->depth, t->ctype,
                 t->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (t->palette) {
        png_set_PLTE(png, info, t->palette, t->n_palette);
    }
    if (t->trns_alpha || t->trns_color) {
        png_set_tRNS(png, info, t->trns_alpha, t->n_trns, t->trns_color);
    }
    png_write_info(png, info);
    int passes = t->interlace ? png_set_interlace_handling(png) : 1;
    for (int p = 0; p < passes; p++) {
        for (uint32_t y = 0; y < t->height; y++) {
            png_write_row(png, t->rows + (size_t)y * t->rowbytes);
        }
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

uint32_t tpng_crc(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
        }
    }
    return c ^ 0xffffffffu;
}

static void tpng_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void tpng_chunk(struct tbuf *b, const char *type, const void *data, uint32_t len)
{
    uint8_t hdr[8];
    uint8_t crc[4];
    uint8_t *td = malloc((size_t)len + 4);

    if (td == NULL) {
        abort();
    }
    tpng_be32(hdr, len);
    memcpy(hdr + 4, type, 4);
    memcpy(td, type, 4);
    if (len > 0) {
        memcpy(td + 4, data, len);
    }
    tpng_be32(crc, tpng_crc(td, (size_t)len + 4));
    tbuf_put(b, hdr, 8);
    tbuf_put(b, data, len);
    tbuf_put(b, crc, 4);
    free(td);
}

size_t tpng_find(const uint8_t *png, size_t len, const char *type)
{
    size_t pos = 8;

    while (pos + 8 <= len) {
        uint32_t n = ((uint32_t)png[pos] << 24) | ((uint32_t)png[pos + 1] << 16) |
                     ((uint32_t)png[pos + 2] << 8) | png[pos + 3];
        if (memcmp(png + pos + 4, type, 4) == 0) {
            return pos;
        }
        pos += 12 + (size_t)n;
    }
    return 0;
}

void tpng_insert(const uint8_t *png, size_t len, size_t at, const char *type, const void *data,
                 uint32_t data_len, struct tbuf *out)
{
    tbuf_put(out, png, at);
    tpng_chunk(out, type, data, data_len);
    tbuf_put(out, png + at, len - at);
}
