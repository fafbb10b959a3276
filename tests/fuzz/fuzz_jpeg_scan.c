/* fuzz_jpeg_scan.c: libFuzzer target: our JPEG entropy decoder agrees with libjpeg or declines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jpeg/scan_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];

    /* 4 MP bounds the harness's coefficient arrays; the decoder has no size of its own */
    if (scan_diff(data, size, 4u << 20, msg, sizeof(msg)) == SCAN_DIFF_BUG) {
        fprintf(stderr, "fuzz_jpeg_scan: %s\n", msg);
        abort();
    }
    return 0;
}
