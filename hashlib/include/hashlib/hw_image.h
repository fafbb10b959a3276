/* hw_image.h: decoding untrusted JPEG and PNG bytes into the 8-bit pixels PDQ hashes. */
#ifndef HASHLIB_HW_IMAGE_H
#define HASHLIB_HW_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "hw_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hw_format {
    HW_FORMAT_UNKNOWN = 0,
    HW_FORMAT_JPEG = 1,
    HW_FORMAT_PNG = 2,
};

/** "jpeg", "png" or "unknown"; never NULL. */
const char *hw_format_name(enum hw_format f);

/** Detect the format from the first bytes (magic numbers only); HW_FORMAT_UNKNOWN if neither. */
enum hw_format hw_format_detect(const void *data, size_t len);

/* hw_image_info.flags */
#define HW_IMG_ALPHA       0x01 /* the image has an alpha channel or tRNS (hashed as stored colour) */
#define HW_IMG_ANIMATED    0x02  /* APNG (acTL chunk): the default image is hashed */
#define HW_IMG_GREY        0x04  /* stored as greyscale (JPEG 1 component, PNG grey / grey+alpha) */
#define HW_IMG_PROGRESSIVE 0x08  /* progressive JPEG */
#define HW_IMG_ARITHMETIC  0x10  /* arithmetic-coded JPEG */
#define HW_IMG_CMYK        0x20  /* CMYK or YCCK JPEG, converted as the reference does */
#define HW_IMG_16BIT       0x40  /* 16-bit PNG samples, reduced to 8 bits by rounding */
#define HW_IMG_INTERLACED  0x80  /* Adam7 PNG */
#define HW_IMG_PALETTE     0x100 /* palette PNG */

/** What the decoder learned about an image, apart from its pixels. */
struct hw_image_info {
    enum hw_format format;
    uint32_t width; /* as stored, before any resampling */
    uint32_t height;
    unsigned flags;       /* HW_IMG_* */
    int exif_orientation; /* 1..8 from EXIF (JPEG APP1), 0 when absent; reported, never applied */
};

/**
 * Pixels as the PDQ pipeline sees them: 8 bits per sample, 1 (grey) or 3 (RGB) channels,
 * rows top to bottom. When sampled (the default), an image wider or taller than 512 has been
 * resampled by nearest neighbour to exactly 512 x 512 like Meta's reference CLI
 * (src = floor(dst * N / 512) on each axis); smaller images are untouched.
 */
struct hw_pixels {
    uint32_t width;
    uint32_t height;
    unsigned channels; /* 1 or 3 */
    size_t stride;     /* bytes from one row to the next */
    const uint8_t *data;
};

/* Reference CLI pre-resize (pdq-photo-hasher DOWNSAMPLE_DIMS). */
#define HW_PDQ_SAMPLE_DIM 512

typedef struct hw_decoder hw_decoder;

/**
 * Create a reusable decoder. Its buffers are kept between calls, so hashing a stream of images
 * allocates nothing per image beyond what libjpeg/libpng allocate internally.
 *
 * @param lim  limits to enforce; NULL means hw_limits_default(). Copied.
 * @param out  receives the decoder; set to NULL on entry
 * @return HW_OK or HW_ENOMEM.
 * Ownership: free with hw_decoder_free(). Thread safety: one decoder per thread.
 */
int hw_decoder_new(const struct hw_limits *lim, hw_decoder **out);

/** Free a decoder; NULL is accepted. */
void hw_decoder_free(hw_decoder *d);

/* hw_decoder_decode() flags */
#define HW_DECODE_FULL     0x01 /* force a full-image decode, then sample (baseline, checks) */
#define HW_DECODE_NOSAMPLE 0x02 /* return every pixel at full resolution, no 512 resample */

/**
 * Decode a whole JPEG or PNG held in memory.
 *
 * The format is taken from the bytes, never from a file name or Content-Type. Limits are
 * checked before pixel memory is allocated. EXIF orientation is read and reported, not applied.
 * Alpha is ignored for hashing (stored colour), and reported.
 *
 * @param d            decoder
 * @param data, len    encoded bytes; read only, not kept after return
 * @param flags        HW_DECODE_* (0 = sampled, fastest path)
 * @param info         receives what was learned (filled as far as decoding got, even on error)
 * @param px           receives the pixels; valid until the next call on `d` or hw_decoder_free
 * @return HW_OK, or HW_EUNSUPPORTED (not JPEG/PNG, or an unsupported variant), HW_ETOOBIG (a
 *         limit), HW_EFORMAT (corrupt), HW_ETRUNCATED (ends early), HW_ENOMEM.
 * Thread safety: one decoder per thread.
 */
int hw_decoder_decode(hw_decoder *d, const void *data, size_t len, unsigned flags,
                      struct hw_image_info *info, struct hw_pixels *px, char *errbuf,
                      size_t errbuf_len);

#ifdef __cplusplus
}
#endif
#endif
