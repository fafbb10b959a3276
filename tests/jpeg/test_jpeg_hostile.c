/* test_jpeg_hostile.c: hostile JPEGs (scan floods, bombs, truncation, garbage) fail cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"
#include "jpeg/jpeg_gen.h"
#include "jpeg_fast.h"

#include "hw_test.h"

static int decode(hw_decoder *d, const void *data, size_t len, unsigned flags, char *err,
                  size_t errlen)
{
    struct hw_image_info info;
    struct hw_pixels px;

    err[0] = 0;
    return hw_decoder_decode(d, data, len, flags, &info, &px, err, errlen);
}

static unsigned char *gen(uint32_t w, uint32_t h, int progressive, size_t *len)
{
    struct jgen g;

    memset(&g, 0, sizeof(g));
    g.width = w;
    g.height = h;
    g.in_space = JCS_RGB;
    g.jpeg_space = JCS_YCbCr;
    g.samp[0][0] = g.samp[0][1] = 2;
    g.quality = 85;
    g.baseline_quant = 1;
    g.progressive = progressive;
    return jgen_encode(&g, len);
}

/* Offset of the first SOFn marker's segment (FF C0..CF except C4, C8, CC). */
static size_t find_sof(const unsigned char *p, size_t len)
{
    for (size_t i = 2; i + 9 < len;) {
        unsigned m;
        size_t seg;

        if (p[i] != 0xff) {
            return 0;
        }
        m = p[i + 1];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            return i;
        }
        seg = ((size_t)p[i + 2] << 8) | p[i + 3];
        i += 2 + seg;
    }
    return 0;
}

/*
 * A progressive file with thousands of valid scans: each AC coefficient of each component gets
 * its own first scan and then successive-approximation refinements one bit at a time.
 */
static void test_scan_flood(void)
{
    enum { AL = 9 };
    static jpeg_scan_info scans[3 + 3 * 63 * (AL + 1)];
    int n = 0;
    struct jgen g;
    unsigned char *jpg;
    size_t len;
    hw_decoder *d = NULL, *lax = NULL;
    struct hw_limits lim;
    char err[256];
    int rc;

    for (int c = 0; c < 3; c++) {
        scans[n++] = (jpeg_scan_info){1, {c}, 0, 0, 0, 0};
    }
    for (int c = 0; c < 3; c++) {
        for (int k = 1; k < 64; k++) {
            scans[n++] = (jpeg_scan_info){1, {c}, k, k, 0, AL};
            for (int al = AL; al > 0; al--) {
                scans[n++] = (jpeg_scan_info){1, {c}, k, k, al, al - 1};
            }
        }
    }
    memset(&g, 0, sizeof(g));
    g.width = 48;
    g.height = 40;
    g.in_space = JCS_RGB;
    g.jpeg_space = JCS_YCbCr;
    g.quality = 90;
    g.baseline_quant = 1;
    g.scans = scans;
    g.n_scans = n;
    jpg = jgen_encode(&g, &len);
    CHECK(jpg != NULL, "could not encode a %d-scan JPEG", n);
    if (jpg == NULL) {
        return;
    }
    hw_decoder_new(NULL, &d);
    rc = decode(d, jpg, len, 0, err, sizeof(err));
    CHECK(rc == HW_ETOOBIG && strstr(err, "scans") != NULL,
          "%d scans: rc %d (%s), want HW_ETOOBIG naming scans", n, rc, err);
    rc = decode(d, jpg, len, HW_DECODE_FULL, err, sizeof(err));
    CHECK(rc == HW_ETOOBIG, "%d scans, full decode: rc %d (%s)", n, rc, err);
    /* the same file is valid: with the limit raised it decodes */
    hw_limits_default(&lim);
    lim.max_jpeg_scans = (uint32_t)n;
    hw_decoder_new(&lim, &lax);
    rc = decode(lax, jpg, len, 0, err, sizeof(err));
    CHECK(rc == HW_OK, "%d scans with max_jpeg_scans %d: rc %d (%s)", n, n, rc, err);
    hw_decoder_free(lax);
    hw_decoder_free(d);
    free(jpg);
}

/* A header declaring 65000 x 65000: rejected from the header, before pixel memory. */
static void test_bomb(void)
{
    size_t len, sof;
    unsigned char *jpg = gen(64, 64, 1, &len);
    hw_decoder *d = NULL, *lax = NULL;
    struct hw_limits lim;
    struct hw_image_info info;
    struct hw_pixels px;
    char err[256];
    int rc;

    CHECK(jpg != NULL, "could not encode");
    if (jpg == NULL) {
        return;
    }
    sof = find_sof(jpg, len);
    CHECK(sof > 0, "no SOF marker");
    /* SOF: FF Cx, length (2), precision (1), height (2), width (2) */
    jpg[sof + 5] = 65000 >> 8;
    jpg[sof + 6] = 65000 & 0xff;
    jpg[sof + 7] = 65000 >> 8;
    jpg[sof + 8] = 65000 & 0xff;
    hw_decoder_new(NULL, &d);
    for (unsigned fl = 0; fl < 4; fl++) {
        rc = hw_decoder_decode(d, jpg, len, fl, &info, &px, err, sizeof(err));
        CHECK(rc == HW_ETOOBIG, "65000x65000 flags %u: rc %d (%s)", fl, rc, err);
        CHECK(info.width == 65000 && info.height == 65000, "dims reported %ux%u", info.width,
              info.height);
        CHECK(px.data == NULL, "pixels returned for a bomb");
    }
    /* dimension limits lifted: libjpeg's own memory limit still refuses the coefficient
     * buffers a progressive image of that size needs (65000^2 * 1.5 * 2 bytes) */
    hw_limits_default(&lim);
    lim.max_width = lim.max_height = 65535;
    lim.max_pixels = (uint64_t)65535 * 65535;
    hw_decoder_new(&lim, &lax);
    rc = decode(lax, jpg, len, 0, err, sizeof(err));
    CHECK(rc == HW_ETOOBIG, "65000x65000 progressive, only memory limit: rc %d (%s)", rc, err);
    hw_decoder_free(lax);
    hw_decoder_free(d);
    free(jpg);
}

/* Every cut of a baseline and a progressive JPEG (over 512) is truncated, through the default
 * path, the full decode and the fast path. */
static void test_truncation(void)
{
    hw_decoder *d = NULL;
    char err[256];

    hw_decoder_new(NULL, &d);
    for (int prog = 0; prog < 2; prog++) {
        size_t len;
        unsigned char *jpg = gen(700, 530, prog, &len);
        int bad = 0;

        CHECK(jpg != NULL, "could not encode");
        if (jpg == NULL) {
            continue;
        }
        CHECK(decode(d, jpg, len, 0, err, sizeof(err)) == HW_OK, "whole file: %s", err);
        /* every byte of the headers, then a spread of cuts through the entropy-coded data */
        for (size_t cut = 3; cut < len; cut += cut < 700 ? 1 : 1 + len / 300) {
            static const unsigned flags[3] = {0, HW_DECODE_FULL, HW_JPEG_FAST_ONLY};

            for (unsigned fl = 0; fl < 3; fl++) {
                int rc = decode(d, jpg, cut, flags[fl], err, sizeof(err));

                if (rc != HW_ETRUNCATED && bad++ < 5) {
                    CHECK(0, "%s cut at %zu of %zu (flags %u): rc %d (%s)",
                          prog ? "progressive" : "baseline", cut, len, fl, rc, err);
                }
            }
        }
        /* the last two bytes are the EOI marker: without it the file still counts as cut */
        CHECK(decode(d, jpg, len - 2, 0, err, sizeof(err)) == HW_ETRUNCATED, "no EOI: %s", err);
        CHECK(decode(d, jpg, len - 2, HW_JPEG_FAST_ONLY, err, sizeof(err)) == HW_ETRUNCATED,
              "no EOI, fast path: %s", err);
        CHECK(bad == 0, "%d cuts not reported as truncated", bad);
        free(jpg);
    }
    hw_decoder_free(d);
}

static void test_small_and_garbage(void)
{
    hw_decoder *d = NULL;
    char err[256];
    unsigned char buf[4096];
    uint32_t s = 99;
    size_t len;
    unsigned char *jpg = gen(64, 48, 0, &len);
    int rc;

    hw_decoder_new(NULL, &d);
    rc = decode(d, buf, 0, 0, err, sizeof(err));
    CHECK(rc == HW_EUNSUPPORTED, "zero length: rc %d", rc);
    /* SOI, then a marker code no JPEG uses, then filler */
    buf[0] = 0xff;
    buf[1] = 0xd8;
    buf[2] = 0xff;
    buf[3] = 0x15;
    for (size_t i = 4; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 7 % 255); /* never 0xff */
    }
    rc = decode(d, buf, sizeof(buf), 0, err, sizeof(err));
    CHECK(rc == HW_EFORMAT, "SOI + unknown marker: rc %d (%s)", rc, err);
    /* SOI then random bytes (markers of every kind, bad lengths): an error, never a crash */
    for (int t = 0; t < 50; t++) {
        for (size_t i = 3; i < sizeof(buf); i++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            buf[i] = (unsigned char)(s >> 24);
        }
        rc = decode(d, buf, sizeof(buf), 0, err, sizeof(err));
        CHECK(rc == HW_EFORMAT || rc == HW_ETRUNCATED || rc == HW_EUNSUPPORTED,
              "SOI + random bytes %d: rc %d (%s)", t, rc, err);
        CHECK(rc == HW_OK || err[0] != 0, "no message for rc %d", rc);
    }
    /* a frame header whose length does not match its component count */
    {
        /* 3 components need 8 + 9 bytes; the segment says 11 */
        static const unsigned char sof_bad[32] = {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b,
                                                  0x08, 0x00, 0x10, 0x00, 0x10, 0x03};
        rc = decode(d, sof_bad, sizeof(sof_bad), 0, err, sizeof(err));
        CHECK(rc == HW_EFORMAT, "SOF of length 11: rc %d (%s)", rc, err);
    }
    /* 12-bit samples: valid JPEG, not what we hash */
    if (jpg != NULL) {
        size_t sof = find_sof(jpg, len);
        CHECK(sof > 0, "no SOF");
        jpg[sof + 4] = 12;
        rc = decode(d, jpg, len, 0, err, sizeof(err));
        CHECK(rc == HW_EUNSUPPORTED, "12-bit: rc %d (%s)", rc, err);
    }
    free(jpg);
    hw_decoder_free(d);
}

int main(void)
{
    test_scan_flood();
    test_bomb();
    test_truncation();
    test_small_and_garbage();
    if (failures == 0) {
        printf("all hostile JPEG checks passed\n");
    }
    return failures != 0;
}
