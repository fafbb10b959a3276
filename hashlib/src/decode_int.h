/* decode_int.h: what the format decoders share inside hashlib (not a public header). */
#ifndef HASHLIB_DECODE_INT_H
#define HASHLIB_DECODE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hw_error.h"
#include "hw_image.h"
#include "hw_limits.h"

/* A reusable decoder: every buffer grows to the largest image seen and is kept. */
struct hw_decoder {
    struct hw_limits lim;
    uint8_t *out; /* output pixels handed back in struct hw_pixels */
    size_t out_cap;
    uint8_t *work; /* per-format scratch (rows, full frames for interlaced PNG, ...) */
    size_t work_cap;
    uint32_t *idx; /* nearest-neighbour source indices, HW_PDQ_SAMPLE_DIM * 2 entries */
};

/**
 * Make *buf hold at least `need` bytes, growing it (never shrinking); `max` is the hard cap
 * (HW_ETOOBIG beyond it). Returns HW_OK, HW_ETOOBIG or HW_ENOMEM; *buf is kept on failure.
 */
int hw_buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max);

/**
 * Check declared dimensions against the limits before any pixel memory is committed.
 * Returns HW_OK, HW_EFORMAT (zero side) or HW_ETOOBIG, with a message.
 */
int hw_check_dims(const struct hw_limits *lim, uint32_t width, uint32_t height, char *errbuf,
                  size_t errbuf_len);

/**
 * Output size after the reference's pre-resize: 512 x 512 when either side exceeds 512 (and
 * sampling is wanted), else unchanged.
 */
void hw_sample_dims(uint32_t width, uint32_t height, unsigned flags, uint32_t *out_w,
                    uint32_t *out_h);

/** idx[i] = floor(i * n / out_n) for i < out_n: the nearest-neighbour source of each output. */
void hw_sample_index(uint32_t n, uint32_t out_n, uint32_t *idx);

/* Format decoders: same contract as hw_decoder_decode(); output goes into d->out. */
int hw_jpeg_decode(hw_decoder *d, const uint8_t *data, size_t len, unsigned flags,
                   struct hw_image_info *info, struct hw_pixels *px, char *errbuf,
                   size_t errbuf_len);
int hw_png_decode(hw_decoder *d, const uint8_t *data, size_t len, unsigned flags,
                  struct hw_image_info *info, struct hw_pixels *px, char *errbuf,
                  size_t errbuf_len);

/**
 * EXIF orientation (1..8) from the payload of a JPEG APP1 segment (starting with "Exif\0\0");
 * 0 when absent or malformed. Bounds-checked against `len`; never reads outside it.
 */
int hw_exif_orientation(const uint8_t *app1, size_t len);

#endif
