/* jpeg_fast.h: the sampled JPEG fast path (only the pixels the 512x512 sampling keeps). */
#ifndef HASHLIB_JPEG_FAST_H
#define HASHLIB_JPEG_FAST_H

#include <stdint.h>
#include <stdio.h>

#include <jpeglib.h>

#include "decode_int.h"

/* Internal hw_decoder_decode() flag for tests: fail with HW_EUNSUPPORTED instead of falling
 * back to a full decode when the fast path declines (shows which path produced the pixels). */
#define HW_JPEG_FAST_ONLY 0x100

/* Internal flag for tests: decline the fast path unless our own entropy decoder (jpeg_scan.c)
 * decoded the scan, instead of letting libjpeg's decode it. */
#define HW_JPEG_OWN_SCAN_ONLY 0x200

/* Not an error: the fast path cannot reproduce libjpeg exactly here; decode in full instead. */
#define HW_JPEG_FAST_DECLINED 1

/**
 * Decode `ci` (header read, output colour space and the default islow IDCT set, nothing
 * started) computing only the out_w x out_h nearest-neighbour samples, exactly as
 * libjpeg-turbo's full decode would produce them, into d->out; fills *px.
 *
 * libjpeg errors longjmp out through ci->err (the caller's setjmp in jpeg.c).
 * @return HW_OK, HW_JPEG_FAST_DECLINED (nothing written to *px; the caller must restart with a
 *         full decode on a fresh libjpeg object), HW_ETOOBIG or HW_ENOMEM (buffers).
 */
int hw_jpeg_fast_decode(hw_decoder *d, j_decompress_ptr ci, uint32_t out_w, uint32_t out_h,
                        unsigned flags, struct hw_pixels *px);

/* libjpeg's per-block IDCT method signature (jpegint.h inverse_DCT_method_ptr). */
typedef void (*hw_jpeg_idct_fn)(j_decompress_ptr ci, jpeg_component_info *cp, JCOEFPTR coef,
                                JSAMPARRAY out, JDIMENSION out_col);

/** The islow IDCT's 1-D pass as an exact 8x8 integer matrix, and the forms the kernels use. */
struct hw_jpeg_idct_matrix {
    int32_t a[DCTSIZE][DCTSIZE];        /* a[o][i] = output o for input i; |a| < 2^14 */
    int32_t pair[DCTSIZE][DCTSIZE / 2]; /* pass 1: a[k][2p] (low 16 bits), a[k][2p+1] (high) */
    int16_t a16[DCTSIZE][DCTSIZE];      /* pass 2: a as 16-bit */
};

/**
 * Derive the matrix from libjpeg's islow butterfly (jidctint.c, 13-bit constants) on unit
 * inputs. Pure; thread-safe.
 */
void hw_jpeg_idct_matrix_init(struct hw_jpeg_idct_matrix *m);

/** A component's dequantisation as the point IDCT reads it. */
struct hw_jpeg_point_quant {
    int16_t q[DCTSIZE2];   /* libjpeg's islow multipliers (16-bit, natural order) */
    int16_t lim[DCTSIZE2]; /* largest |coef| whose coef * q stays within +-16383 */
};

/** Fill *pq from libjpeg's 16-bit islow multipliers q (natural order). Pure. */
void hw_jpeg_point_quant_init(struct hw_jpeg_point_quant *pq, const int16_t *q);

/**
 * The islow IDCT of one block, only at the rows set in rmask and the columns set in cmask
 * (bit k = row or column k): tile[8 * k + c] is written for those and nothing else.
 * coef: the block's 64 coefficients (natural order); pq: the component's dequantisation.
 * SSE2 where the compiler targets it, else hw_jpeg_point_idct_portable().
 * @return 0 with the pixels written, equal to what libjpeg-turbo's islow method (C or SIMD)
 *         writes there; 1 when the block leaves the range where libjpeg's C and SIMD IDCTs are
 *         known to agree (a dequantised coefficient or a needed workspace value beyond
 *         +-16383, a needed output beyond [-512, 511]): pixels may be partly written, the
 *         caller must run libjpeg's own method on the block. Thread-safe.
 */
int hw_jpeg_point_idct(const struct hw_jpeg_idct_matrix *m, const JCOEF *coef,
                       const struct hw_jpeg_point_quant *pq, unsigned rmask, unsigned cmask,
                       uint8_t *tile);

/** The same in portable C (the tests compare both with libjpeg). */
int hw_jpeg_point_idct_portable(const struct hw_jpeg_idct_matrix *m, const JCOEF *coef,
                                const struct hw_jpeg_point_quant *pq, unsigned rmask,
                                unsigned cmask, uint8_t *tile);

/**
 * libjpeg's IDCT method for component c of a started decompressor (raw-data mode), or NULL
 * when this libjpeg's internals are not the known ones (tests call it to compare).
 */
hw_jpeg_idct_fn hw_jpeg_idct_method(j_decompress_ptr ci, int c);

/** CMYK as libjpeg outputs it (Adobe-inverted) -> RGB as the reference converts; n pixels. */
void hw_jpeg_cmyk_to_rgb(const uint8_t *cmyk, uint32_t n, uint8_t *rgb);

#endif
