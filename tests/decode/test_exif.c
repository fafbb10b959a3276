/* test_exif.c: EXIF orientation from constructed APP1 payloads, well-formed and hostile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hw_exif_orientation is internal to hashlib (decode_int.h); JPEG decoding reports it publicly
 * as hw_image_info.exif_orientation. Tested directly so malformed TIFF can be aimed precisely. */
#include "decode_int.h"

#include "hw_test.h"

struct payload {
    uint8_t b[256];
    size_t len;
    size_t ifd_end; /* first byte after IFD0's entries */
    size_t orient_entry;
};

static void put16(uint8_t *p, unsigned v, int le)
{
    p[le ? 0 : 1] = (uint8_t)v;
    p[le ? 1 : 0] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v, int le)
{
    for (int i = 0; i < 4; i++) {
        p[le ? i : 3 - i] = (uint8_t)(v >> (8 * i));
    }
}

/* "Exif\0\0", TIFF header, IFD0 with Make (ASCII, out of line), Orientation, XResolution
 * (RATIONAL, out of line), next-IFD offset 0, then the out-of-line data. */
static void build(struct payload *p, int le, unsigned orientation, unsigned orient_type,
                  uint32_t orient_count)
{
    uint8_t *t = p->b + 6;
    size_t ifd = 8, n = 3;
    size_t data = ifd + 2 + n * 12 + 4;

    memset(p, 0, sizeof(*p));
    memcpy(p->b, "Exif\0\0", 6);
    t[0] = t[1] = le ? 'I' : 'M';
    put16(t + 2, 42, le);
    put32(t + 4, (uint32_t)ifd, le);
    put16(t + ifd, (unsigned)n, le);
    uint8_t *e = t + ifd + 2;
    put16(e, 0x010f, le); /* Make */
    put16(e + 2, 2, le);
    put32(e + 4, 6, le);
    put32(e + 8, (uint32_t)data, le);
    e += 12;
    p->orient_entry = 6 + (size_t)(e - t);
    put16(e, 0x0112, le);
    put16(e + 2, orient_type, le);
    put32(e + 4, orient_count, le);
    put16(e + 8, orientation, le);
    e += 12;
    put16(e, 0x011a, le); /* XResolution */
    put16(e + 2, 5, le);
    put32(e + 4, 1, le);
    put32(e + 8, (uint32_t)data + 6, le);
    p->ifd_end = 6 + ifd + 2 + n * 12;
    memcpy(t + data, "Maker", 6);
    put32(t + data + 6, 72, le);
    put32(t + data + 10, 1, le);
    p->len = 6 + data + 14;
}

/* Call with the payload in an exact-size heap block, so ASan sees any read past `len`. */
static int orient(const uint8_t *b, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, b, len);
    int o = hw_exif_orientation(copy, len);
    free(copy);
    return o;
}

int main(void)
{
    struct payload p;

    for (int le = 0; le < 2; le++) {
        for (unsigned o = 1; o <= 8; o++) {
            build(&p, le, o, 3, 1);
            CHECK(orient(p.b, p.len) == (int)o, "le %d orientation %u", le, o);
        }
        /* Out of the 1..8 range, wrong type, wrong count: 0. */
        build(&p, le, 0, 3, 1);
        CHECK(orient(p.b, p.len) == 0, "orientation 0");
        build(&p, le, 9, 3, 1);
        CHECK(orient(p.b, p.len) == 0, "orientation 9");
        build(&p, le, 6, 4, 1);
        CHECK(orient(p.b, p.len) == 0, "LONG type");
        build(&p, le, 6, 3, 0x7fffffff);
        CHECK(orient(p.b, p.len) == 0, "huge value count");
        /* Absent: the orientation entry's tag changed. */
        build(&p, le, 6, 3, 1);
        put16(p.b + p.orient_entry, 0x0113, le);
        CHECK(orient(p.b, p.len) == 0, "absent tag");
        /* Truncated at every length: 0 until IFD0's entries are complete, then the value. */
        build(&p, le, 6, 3, 1);
        for (size_t cut = 0; cut < p.len; cut++) {
            int want = cut >= p.ifd_end ? 6 : 0;
            CHECK(orient(p.b, cut) == want, "le %d cut %zu: want %d", le, cut, want);
        }
        /* IFD0 offset outside the payload, inside the header, at the very end, near 2^32. */
        static const uint32_t bad_ifd[] = {0, 4, 7, 200, 0xffffffffu, 0xfffffff0u};
        for (size_t i = 0; i < sizeof(bad_ifd) / sizeof(bad_ifd[0]); i++) {
            build(&p, le, 6, 3, 1);
            put32(p.b + 6 + 4, bad_ifd[i], le);
            CHECK(orient(p.b, p.len) == 0, "ifd offset %u", bad_ifd[i]);
        }
        build(&p, le, 6, 3, 1);
        put32(p.b + 6 + 4, (uint32_t)(p.len - 6 - 1), le); /* count would straddle the end */
        CHECK(orient(p.b, p.len) == 0, "ifd at last byte");
        /* Entry counts larger than the payload holds. */
        static const unsigned bad_count[] = {5, 100, 0xffff}; /* 4 still fits */
        for (size_t i = 0; i < sizeof(bad_count) / sizeof(bad_count[0]); i++) {
            build(&p, le, 6, 3, 1);
            put16(p.b + 6 + 8, bad_count[i], le);
            CHECK(orient(p.b, p.len) == 0, "entry count %u", bad_count[i]);
        }
        /* Zero entries. */
        build(&p, le, 6, 3, 1);
        put16(p.b + 6 + 8, 0, le);
        CHECK(orient(p.b, p.len) == 0, "zero entries");
    }
    /* Not EXIF, wrong byte order mark, wrong magic, NULL. */
    build(&p, 1, 6, 3, 1);
    p.b[4] = 'x';
    CHECK(orient(p.b, p.len) == 0, "bad Exif prefix");
    build(&p, 1, 6, 3, 1);
    p.b[6] = 'M';
    CHECK(orient(p.b, p.len) == 0, "mixed byte order mark");
    build(&p, 0, 6, 3, 1);
    put16(p.b + 8, 43, 0);
    CHECK(orient(p.b, p.len) == 0, "magic 43");
    CHECK(hw_exif_orientation(NULL, 100) == 0, "NULL");
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
