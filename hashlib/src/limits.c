/* limits.c: default limits for untrusted images and the overflow-checked size helper. */
#include <stdint.h>

#include "hw_error.h"
#include "hw_limits.h"

void hw_limits_default(struct hw_limits *lim)
{
    lim->max_input_len = (size_t)64 << 20;
    lim->max_width = 32768;
    lim->max_height = 32768;
    lim->max_pixels = (uint64_t)100 * 1000 * 1000;
    lim->max_jpeg_scans = 100;
    lim->max_decoder_mem = (size_t)512 << 20;
    lim->max_png_chunk_len = (uint32_t)8 << 20;
    lim->max_png_chunks = 1000;
}

int hw_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) {
        return HW_ETOOBIG;
    }
    *out = a * b;
    return HW_OK;
}
