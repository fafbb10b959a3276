/* png_gen.h: builds PNG files in memory for the decoder tests (libpng write API + raw chunks). */
#ifndef HW_TESTS_PNG_GEN_H
#define HW_TESTS_PNG_GEN_H

#include <stddef.h>
#include <stdint.h>

#include <png.h>

/* A growable byte buffer; the tests abort on allocation failure. */
struct tbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

void tbuf_put(struct tbuf *b, const void *data, size_t len);
void tbuf_free(struct tbuf *b);

/* What to write: raw samples exactly as libpng's writer wants them (packed bits for depth < 8,
 * big-endian 16-bit samples), one row after the other, `rowbytes` apart. */
struct tpng {
    uint32_t width;
    uint32_t height;
    int depth;
    int ctype;     /* PNG_COLOR_TYPE_* */
    int interlace; /* 0 or 1 (Adam7) */
    const uint8_t *rows;
    size_t rowbytes;
    const png_color *palette;
    int n_palette;
    const uint8_t *trns_alpha; /* palette alpha entries, or NULL */
    int n_trns;
    const png_color_16 *trns_color; /* grey/RGB transparent colour, or NULL */
    int level;                      /* zlib level; 0 means 6 */
};

/* Encode `t` into `out` (appended). Returns 0, or -1 if libpng refused. */
int tpng_write(const struct tpng *t, struct tbuf *out);

/* CRC-32 as PNG uses it (ISO 3309), for hand-made chunks. */
uint32_t tpng_crc(const uint8_t *type_and_data, size_t len);

/* Append one chunk with a correct CRC. */
void tpng_chunk(struct tbuf *b, const char *type, const void *data, uint32_t len);

/* Offset of the first chunk of `type` in a PNG, or 0 if absent. */
size_t tpng_find(const uint8_t *png, size_t len, const char *type);

/* A copy of `png` with a chunk inserted at byte `at` (a chunk boundary). */
void tpng_insert(const uint8_t *png, size_t len, size_t at, const char *type, const void *data,
                 uint32_t data_len, struct tbuf *out);

#endif
