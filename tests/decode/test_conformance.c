/* test_conformance.c: the reference PNGs decode, with the channel counts PDQ expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"

#include "hw_test.h"

static uint8_t *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/conformance/pdq/images/%s", HW_TEST_DATA, rel);
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* file, stored size, output channels, flags the file's IHDR/tRNS imply (pngcheck/`file`). */
static const struct {
    const char *file;
    uint32_t width, height;
    unsigned channels;
    unsigned flags;
} cases[] = {
    {"misc-images/modes/1.png", 1600, 1004, 1, HW_IMG_GREY},
    {"misc-images/modes/L.png", 1600, 1004, 1, HW_IMG_GREY},
    {"misc-images/modes/LA.png", 1600, 1004, 1, HW_IMG_GREY | HW_IMG_ALPHA},
    {"misc-images/modes/P.png", 1600, 1004, 3, HW_IMG_PALETTE},
    {"misc-images/c.png", 1432, 812, 3, HW_IMG_ALPHA},
    {"reg-test-input/pen-and-coaster.png", 924, 735, 3, HW_IMG_ALPHA},
};

int main(void)
{
    hw_decoder *d = NULL;
    uint8_t *grey[2] = {NULL, NULL};

    if (hw_decoder_new(NULL, &d) != HW_OK) {
        return 1;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 0;
        uint8_t *data = slurp(cases[i].file, &len);
        struct hw_image_info info;
        struct hw_pixels px;
        char err[256] = "";

        CHECK(data != NULL, "cannot read %s", cases[i].file);
        if (data == NULL) {
            continue;
        }
        int rc = hw_decoder_decode(d, data, len, 0, &info, &px, err, sizeof(err));
        CHECK(rc == HW_OK, "%s: %s (%s)", cases[i].file, hw_errname(rc), err);
        if (rc == HW_OK) {
            CHECK(info.format == HW_FORMAT_PNG && info.width == cases[i].width &&
                      info.height == cases[i].height,
                  "%s: %ux%u", cases[i].file, info.width, info.height);
            CHECK(info.flags == cases[i].flags, "%s: flags 0x%x want 0x%x", cases[i].file,
                  info.flags, cases[i].flags);
            /* Both sides over 512: the reference pre-resize gives exactly 512 x 512. */
            CHECK(px.width == 512 && px.height == 512 && px.channels == cases[i].channels &&
                      px.stride == 512 * px.channels,
                  "%s: %ux%u x%u", cases[i].file, px.width, px.height, px.channels);
            if (i == 0) {
                /* Bilevel: expanded to exactly 0 and 255, both present. */
                size_t n0 = 0, n255 = 0;
                for (size_t k = 0; k < 512 * 512; k++) {
                    n0 += px.data[k] == 0;
                    n255 += px.data[k] == 255;
                }
                CHECK(n0 + n255 == 512 * 512 && n0 > 0 && n255 > 0, "1.png: %zu + %zu", n0, n255);
            }
            if ((i == 1 || i == 2) && px.channels == 1) {
                grey[i - 1] = malloc(512 * 512);
                memcpy(grey[i - 1], px.data, 512 * 512);
            }
        }
        free(data);
    }
    /* L.png and LA.png are the same picture; its alpha is fully opaque (README), so dropping
     * the alpha channel must leave exactly the grey samples of L.png. */
    if (grey[0] && grey[1]) {
        CHECK(memcmp(grey[0], grey[1], 512 * 512) == 0, "LA.png grey differs from L.png");
    }
    free(grey[0]);
    free(grey[1]);
    hw_decoder_free(d);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
