/* exif.c: the EXIF orientation tag (0x0112) from a JPEG APP1 payload, fully bounds-checked. */
#include <string.h>

#include "decode_int.h"

/* TIFF 6.0 section 2: header "II" or "MM", 42, offset of IFD0; 12-byte IFD entries. */
#define EXIF_PREFIX_LEN      6
#define TIFF_HEADER_LEN      8
#define TIFF_ENTRY_LEN       12
#define TIFF_TYPE_SHORT      3
#define EXIF_TAG_ORIENTATION 0x0112 /* EXIF 2.32 section 4.6.4 A */

static uint32_t exif_u16(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) : ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t exif_u32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                    ((uint32_t)p[3] << 24)
              : ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int hw_exif_orientation(const uint8_t *app1, size_t len)
{
    const uint8_t *t;
    size_t n, ifd, count;
    int le;

    if (app1 == NULL || len < EXIF_PREFIX_LEN + TIFF_HEADER_LEN ||
        memcmp(app1, "Exif\0\0", EXIF_PREFIX_LEN) != 0) {
        return 0;
    }
    /* Offsets inside TIFF data count from the TIFF header, not from the APP1 payload. */
    t = app1 + EXIF_PREFIX_LEN;
    n = len - EXIF_PREFIX_LEN;
    if (t[0] == 'I' && t[1] == 'I') {
        le = 1;
    } else if (t[0] == 'M' && t[1] == 'M') {
        le = 0;
    } else {
        return 0;
    }
    if (exif_u16(t + 2, le) != 42) {
        return 0;
    }
    ifd = exif_u32(t + 4, le);
    /* IFD0 must lie after the header and leave room for its 2-byte entry count. */
    if (ifd < TIFF_HEADER_LEN || ifd > n - 2) {
        return 0;
    }
    count = exif_u16(t + ifd, le);
    if (count > (n - ifd - 2) / TIFF_ENTRY_LEN) {
        return 0; /* declares more entries than the payload holds */
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + i * TIFF_ENTRY_LEN;

        if (exif_u16(e, le) != EXIF_TAG_ORIENTATION) {
            continue;
        }
        /* A SHORT with count 1 sits in the first 2 bytes of the 4-byte value field. */
        if (exif_u16(e + 2, le) != TIFF_TYPE_SHORT || exif_u32(e + 4, le) != 1) {
            return 0;
        }
        uint32_t v = exif_u16(e + 8, le);
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}
