/* hw_limits.h: limits applied to untrusted input before any memory is committed to it. */
#ifndef HASHLIB_HW_LIMITS_H
#define HASHLIB_HW_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Limits for decoding an untrusted image. Every field is checked before pixel memory is
 * allocated. Start from hw_limits_default() and tighten; a zero field means "use the default".
 */
struct hw_limits {
    size_t max_input_len;    /* encoded bytes; default 64 MiB */
    uint32_t max_width;      /* pixels; default 32768 */
    uint32_t max_height;     /* pixels; default 32768 */
    uint64_t max_pixels;     /* width * height; default 100 megapixels */
    uint32_t max_jpeg_scans; /* progressive scans; default 100 (libjpeg-turbo's fuzzers use 500) */
    size_t max_decoder_mem;  /* libjpeg's max_memory_to_use and our buffers; default 512 MiB */
    uint32_t max_png_chunk_len; /* bytes in any one PNG chunk; default 8 MiB */
    uint32_t max_png_chunks;    /* ancillary chunks cached by libpng; default 1000 */
};

/** Fill `lim` with defaults safe for the open internet. Thread-safe. */
void hw_limits_default(struct hw_limits *lim);

/**
 * Overflow-checked multiplication for sizes derived from input: *out = a * b.
 * Returns HW_OK, or HW_ETOOBIG when the product does not fit in size_t.
 */
int hw_size_mul(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
