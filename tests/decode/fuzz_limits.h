/* fuzz_limits.h: the tight decode limits shared by the fuzz target and the regression replay. */
#ifndef HW_TESTS_FUZZ_LIMITS_H
#define HW_TESTS_FUZZ_LIMITS_H

#include "hashlib/hw_limits.h"

/* Small enough that every input decodes in milliseconds and well inside libFuzzer's
 * -rss_limit_mb; large enough to reach every code path (sampling needs sides over 512). */
static inline void hw_fuzz_decode_limits(struct hw_limits *lim)
{
    hw_limits_default(lim);
    lim->max_input_len = (size_t)1 << 20;
    lim->max_width = 8192;
    lim->max_height = 8192;
    lim->max_pixels = (uint64_t)4 * 1000 * 1000;
    lim->max_jpeg_scans = 50;
    lim->max_decoder_mem = (size_t)96 << 20;
    lim->max_png_chunk_len = (uint32_t)256 << 10;
    lim->max_png_chunks = 100;
}

#endif
