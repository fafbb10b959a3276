/* scan_diff.h: our entropy decoder (jpeg_scan.c) against libjpeg's, coefficient by coefficient. */
#ifndef HW_TESTS_SCAN_DIFF_H
#define HW_TESTS_SCAN_DIFF_H

#include <stddef.h>
#include <stdint.h>

enum scan_diff_result {
    SCAN_DIFF_SAME,     /* ours decoded the scan; libjpeg did too, without a warning, and
                         * every coefficient of every block is the same */
    SCAN_DIFF_DECLINED, /* ours declined (libjpeg decodes such files in the product) */
    SCAN_DIFF_NA,       /* not a file for ours: not a one-scan sequential Huffman JPEG, a
                         * header libjpeg refuses, or beyond the harness's size cap */
    SCAN_DIFF_BUG,      /* ours accepted and differs from libjpeg, or libjpeg warned or
                         * failed on data ours accepted: msg says where */
};

/**
 * Decode `data` with libjpeg (jpeg_read_coefficients, counting warnings) and with our decoder
 * (every MCU, blocks placed as libjpeg places them), and compare. Images above max_pixels are
 * SCAN_DIFF_NA (bounds the harness's memory for fuzzing).
 */
enum scan_diff_result scan_diff(const uint8_t *data, size_t len, uint64_t max_pixels, char *msg,
                                size_t msg_len);

#endif
