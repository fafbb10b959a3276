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

/** CMYK as libjpeg outputs it (Adobe-inverted) -> RGB as the reference converts; n pixels. */
void hw_jpeg_cmyk_to_rgb(const uint8_t *cmyk, uint32_t n, uint8_t *rgb);

#endif
