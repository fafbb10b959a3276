/* jpeg_gen.h: JPEGs written in memory with libjpeg's compressor, for the JPEG decoder tests. */
#ifndef HW_TESTS_JPEG_GEN_H
#define HW_TESTS_JPEG_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jpeglib.h>

struct jgen {
    uint32_t width, height;
    J_COLOR_SPACE in_space;      /* JCS_GRAYSCALE, JCS_RGB or JCS_CMYK (pixels we generate) */
    J_COLOR_SPACE jpeg_space;    /* colour space in the file (jpeg_set_colorspace) */
    int samp[4][2];              /* h, v sampling factor per component; 0 = 1 */
    int quality;                 /* 1..100 */
    int baseline_quant;          /* 1: clamp quantisers to 8 bits (force_baseline) */
    int progressive;             /* jpeg_simple_progression */
    int arith;                   /* arithmetic coding */
    int restart_rows;            /* restart interval in MCU rows (0 = none) */
    const jpeg_scan_info *scans; /* custom scan script (overrides progressive) */
    int n_scans;
    uint32_t seed; /* content variation */
};

/* A colour space and sampling factors the JPEG tests encode with. */
struct jgen_mode {
    const char *name;
    J_COLOR_SPACE in, out; /* jgen.in_space, jgen.jpeg_space */
    int samp[4][2];
};

/* Every mode the JPEG tests cover; tests rely on the order (1 is 4:2:2, 2 is 4:2:0, 9 grey). */
extern const struct jgen_mode jgen_modes[];
extern const size_t jgen_n_modes;

/** *g for mode m at w x h, all else zero: the caller sets the quality and the rest. */
void jgen_init(struct jgen *g, const struct jgen_mode *m, uint32_t w, uint32_t h);

/**
 * Call fn(ctx, path, bytes, len) for every *.jpg below dir (recursively; each file read whole).
 * Returns the number of files given to fn, or -1 when dir cannot be opened; an unreadable
 * file is reported on stderr and counted in *unreadable.
 */
int jgen_each_jpeg(const char *dir,
                   void (*fn)(void *ctx, const char *path, const unsigned char *data, size_t len),
                   void *ctx, int *unreadable);

/**
 * Encode a synthetic image with photographic-like content (gradients, texture, hard edges,
 * noise). Returns a malloc'd buffer and its length, or NULL on failure.
 */
unsigned char *jgen_encode(const struct jgen *g, size_t *len);

/**
 * Re-encode `src` with its DCT coefficients passed through `edit` (jpegtran style, no loss).
 * edit(component, block_row, block_col, coefs) may change the 64 coefficients. NULL on failure.
 */
unsigned char *jgen_transcode(const unsigned char *src, size_t src_len,
                              void (*edit)(int comp, uint32_t by, uint32_t bx, JCOEF *coef),
                              size_t *len);

#endif
