/* hw_pdq.h: Meta's PDQ perceptual hash, bit-exact with the reference, and its text form. */
#ifndef HASHLIB_HW_PDQ_H
#define HASHLIB_HW_PDQ_H

#include <stddef.h>
#include <stdint.h>

#include "hw_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upstream pdq/README.md: "Quality Threshold where we recommend discarding hashes: <=49". */
#define HW_PDQ_QUALITY_MIN 50
/* Upstream pdq/README.md: "Distance Threshold to consider two hashes to be similar: <=31". */
#define HW_PDQ_THRESHOLD_DEFAULT 31
/* Upstream MIN_HASHABLE_DIM: a side below 5 pixels gives an all-zero hash, quality 0. */
#define HW_PDQ_MIN_DIM 5

/**
 * A 256-bit PDQ hash. Bit k (k = 16*i + j, DCT row i, column j) is (q[k >> 6] >> (k & 63)) & 1.
 * The hex form is the big-endian 256-bit number: q[3] first, q[0] last.
 */
struct hw_pdq {
    uint64_t q[4];
};

/** The 8 dihedral variants, in the reference's order and naming. */
enum hw_dihedral {
    HW_DIH_ORIG = 0,
    HW_DIH_ROT90 = 1, /* rotated 90 degrees counter-clockwise */
    HW_DIH_ROT180 = 2,
    HW_DIH_ROT270 = 3,
    HW_DIH_FLIPX = 4,      /* top and bottom swapped */
    HW_DIH_FLIPY = 5,      /* left and right swapped (mirror) */
    HW_DIH_FLIPPLUS1 = 6,  /* transpose */
    HW_DIH_FLIPMINUS1 = 7, /* anti-transpose */
    HW_DIH_COUNT = 8
};

/** "orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"; never NULL. */
const char *hw_dihedral_name(int variant);

/**
 * Bytes of scratch hw_pdq_from_luma() needs for an image of rows x cols; 0 if that overflows.
 */
size_t hw_pdq_scratch_len(uint32_t rows, uint32_t cols);

/**
 * PDQ of a float luma buffer, as the reference's pdqHash256FromFloatLuma /
 * pdqDihedralHash256esFromFloatLuma compute it (float32, reference operation order).
 *
 * @param luma        rows * cols floats, row-major; clobbered (the blur runs in place)
 * @param scratch     at least hw_pdq_scratch_len(rows, cols) bytes, suitably aligned for float
 * @param n_out       1 (the hash only, with the reference's exact 64x64 shortcut) or 8 (all
 *                    dihedral variants, out[HW_DIH_*], as the reference's dihedral entry point)
 * @param out         receives n_out hashes
 * @param quality     receives the quality metric 0..100
 * @return HW_OK or HW_EINVAL. Sides below HW_PDQ_MIN_DIM give all-zero hashes, quality 0.
 * Thread safety: reentrant.
 */
int hw_pdq_from_luma(float *luma, uint32_t rows, uint32_t cols, void *scratch, size_t scratch_len,
                     int n_out, struct hw_pdq *out, int *quality);

/**
 * Luma of decoded pixels as the reference computes it: grey samples as they are; RGB as
 * 0.299f*R + 0.587f*G + 0.114f*B in float, except that an RGB image whose every pixel has
 * R == G == B is treated as grey (the reference's decoder emits such images as one channel).
 *
 * @param luma  receives px->width * px->height floats
 */
void hw_pdq_luma(const struct hw_pixels *px, float *luma);

/** Hamming distance between two hashes, 0..256. */
int hw_pdq_distance(const struct hw_pdq *a, const struct hw_pdq *b);

/** Write the 64 lowercase hex digits and a NUL into out[65]. */
void hw_pdq_to_hex(const struct hw_pdq *h, char out[65]);

/**
 * Parse exactly 64 hex digits (either case) of length `len`.
 * @return HW_OK or HW_EINVAL (wrong length or a non-hex character).
 */
int hw_pdq_from_hex(const char *s, size_t len, struct hw_pdq *out);

/** Count of set bits (a real image has exactly 128). */
int hw_pdq_weight(const struct hw_pdq *h);

#ifdef __cplusplus
}
#endif
#endif
