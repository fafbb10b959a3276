/* test_jpeg_scan.c: our entropy decoder stores exactly libjpeg's coefficients, or declines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeg/jpeg_gen.h"
#include "jpeg/scan_diff.h"

#include "hw_test.h"

#define MAX_PIXELS (64u * 1024 * 1024)

static uint32_t rng = 88172645u;

static uint32_t rnd(void)
{
    return t_xorshift32(&rng);
}

static int n_same, n_declined;

/* Compare one file; `want` is the result it must give, or -1 for "anything but a bug". */
static void check(const char *name, const unsigned char *data, size_t len, int want)
{
    char msg[256];
    enum scan_diff_result r = scan_diff(data, len, MAX_PIXELS, msg, sizeof(msg));

    CHECK(r != SCAN_DIFF_BUG, "%s: %s", name, msg);
    if (r == SCAN_DIFF_BUG && getenv("HW_SCAN_DUMP") != NULL) {
        FILE *fp = fopen(getenv("HW_SCAN_DUMP"), "wb");

        if (fp != NULL) {
            fwrite(data, 1, len, fp);
            fclose(fp);
        }
    }
    if (want >= 0) {
        CHECK((int)r == want, "%s: result %d, expected %d", name, r, want);
    }
    n_same += r == SCAN_DIFF_SAME;
    n_declined += r == SCAN_DIFF_DECLINED;
}

static unsigned char *gen(const struct jgen_mode *m, uint32_t w, uint32_t h, int quality, int rst,
                          uint32_t seed, size_t *len)
{
    struct jgen g;

    jgen_init(&g, m, w, h);
    g.quality = quality;
    g.baseline_quant = quality > 10;
    g.restart_rows = rst;
    g.seed = seed;
    return jgen_encode(&g, len);
}

/* Clean baseline files of every mode, quality and restart interval: ours decodes them all. */
static void test_generated(void)
{
    static const int qualities[] = {5, 50, 75, 90, 97, 100};
    static const uint32_t sizes[][2] = {{97, 61}, {640, 480}, {1, 1}, {333, 17}, {16, 1000}};

    for (size_t mi = 0; mi < jgen_n_modes; mi++) {
        for (size_t qi = 0; qi < sizeof(qualities) / sizeof(qualities[0]); qi++) {
            const uint32_t *sz = sizes[(mi + qi) % (sizeof(sizes) / sizeof(sizes[0]))];
            size_t len;
            unsigned char *jpg = gen(&jgen_modes[mi], sz[0], sz[1], qualities[qi], (int)(qi % 3),
                                     (uint32_t)(mi * 10 + qi), &len);
            char name[96];

            snprintf(name, sizeof(name), "%s q%d %ux%u rst%zu", jgen_modes[mi].name, qualities[qi],
                     sz[0], sz[1], qi % 3);
            CHECK(jpg != NULL, "%s: could not encode", name);
            if (jpg != NULL) {
                check(name, jpg, len, SCAN_DIFF_SAME);
            }
            free(jpg);
        }
    }
}

/* Random coefficients over the whole 8-bit range: long codes, 10- and 11-bit values, the
 * table's slow path, and large DC differences. */
static void edit_random(int comp, uint32_t by, uint32_t bx, JCOEF *coef)
{
    (void)comp;
    (void)by;
    (void)bx;
    for (int k = 0; k < DCTSIZE2; k++) {
        uint32_t r = rnd();

        if (k == 0) {
            coef[0] = (JCOEF)((int)(r % 2047) - 1023);
        } else if (r % 4 == 0) {
            coef[k] = (JCOEF)((int)((r >> 8) % 2047) - 1023);
        } else if (r % 4 == 1) {
            coef[k] = 0;
        }
    }
}

static void test_random_coefficients(void)
{
    for (int i = 0; i < 4; i++) {
        size_t len, tlen;
        unsigned char *jpg =
            gen(&jgen_modes[(size_t)i * 3 % jgen_n_modes], 200, 120, 80, i % 2, 77, &len);
        unsigned char *t = jpg != NULL ? jgen_transcode(jpg, len, edit_random, &tlen) : NULL;

        CHECK(t != NULL, "could not transcode");
        if (t != NULL) {
            check("random coefficients", t, tlen, SCAN_DIFF_SAME);
        }
        free(jpg);
        free(t);
    }
}

/* Offset of the first entropy-coded byte (after SOS's header), or 0. */
static size_t scan_start(const unsigned char *j, size_t len)
{
    for (size_t i = 2; i + 4 < len;) {
        size_t seg;

        if (j[i] != 0xFF) {
            return 0;
        }
        seg = ((size_t)j[i + 2] << 8) | j[i + 3];
        if (j[i + 1] == 0xDA) {
            return i + 2 + seg;
        }
        i += 2 + seg;
    }
    return 0;
}

/* FF FF 00 in the data (which libjpeg-turbo's fast and slow paths read differently), restart
 * markers out of order, a missing EOI, truncations: ours declines. */
static void test_edits(void)
{
    size_t len, at;
    unsigned char *jpg = gen(&jgen_modes[2], 640, 480, 95, 1, 5, &len);
    unsigned char *e;
    int done = 0;

    CHECK(jpg != NULL, "could not encode");
    if (jpg == NULL) {
        return;
    }
    at = scan_start(jpg, len);
    CHECK(at != 0, "no scan found");
    e = malloc(len + 1);
    for (size_t i = at; e != NULL && i + 1 < len && !done; i++) {
        if (jpg[i] == 0xFF && jpg[i + 1] == 0x00) {
            memcpy(e, jpg, i);
            e[i] = 0xFF;
            memcpy(e + i + 1, jpg + i, len - i);
            check("FF FF 00", e, len + 1, SCAN_DIFF_DECLINED);
            done = 1;
        }
    }
    CHECK(done, "no stuffed FF in the test image");
    /* the first two restart markers swapped */
    if (e != NULL) {
        unsigned char *r0 = NULL, *r1 = NULL;

        memcpy(e, jpg, len);
        for (size_t i = at; i + 1 < len; i++) {
            if (e[i] == 0xFF && e[i + 1] == 0xD0) {
                r0 = e + i + 1;
            } else if (e[i] == 0xFF && e[i + 1] == 0xD1) {
                r1 = e + i + 1;
            }
        }
        CHECK(r0 != NULL && r1 != NULL, "no restart markers");
        if (r0 != NULL && r1 != NULL) {
            *r0 = 0xD1;
            *r1 = 0xD0;
            check("restart markers swapped", e, len, SCAN_DIFF_DECLINED);
        }
    }
    check("no EOI", jpg, len - 2, SCAN_DIFF_DECLINED);
    for (size_t cut = at + 1; cut < len - 2; cut += 1 + len / 97) {
        check("truncated", jpg, cut, SCAN_DIFF_DECLINED);
    }
    free(e);
    free(jpg);
}

/* Random damage to the entropy-coded data of files with and without restart intervals:
 * whatever ours accepts, libjpeg decodes without a warning to the same coefficients. */
static void test_mutations(void)
{
    /* small files, and files long enough for libjpeg-turbo's fast Huffman path (which needs
     * 512 bytes ahead per block of the MCU) with and without restart markers */
    static const struct {
        size_t mode;
        uint32_t w, h;
        int rst;
    } files[] = {{9, 160, 96, 0}, {2, 160, 96, 1}, {2, 640, 480, 0}, {1, 512, 384, 1}};
    const char *env = getenv("HW_SCAN_MUTATIONS");
    int per_file = env != NULL ? atoi(env) : 1500;
    int same0 = n_same, declined0 = n_declined;

    for (int f = 0; f < 4; f++) {
        size_t len, at;
        unsigned char *jpg = gen(&jgen_modes[files[f].mode], files[f].w, files[f].h, 60 + 10 * f,
                                 files[f].rst, 9, &len);
        unsigned char *m = jpg != NULL ? malloc(len + 8) : NULL;

        CHECK(m != NULL, "could not encode");
        at = jpg != NULL ? scan_start(jpg, len) : 0;
        for (int i = 0; m != NULL && at != 0 && i < per_file; i++) {
            size_t n = len, pos = at + rnd() % (len - at - 2);

            memcpy(m, jpg, len);
            switch (rnd() % 4) {
            case 0: /* flip a bit */
                m[pos] ^= (unsigned char)(1u << (rnd() % 8));
                break;
            case 1: /* a random byte */
                m[pos] = (unsigned char)rnd();
                break;
            case 2: /* a byte dropped */
                memmove(m + pos, m + pos + 1, len - pos - 1);
                n--;
                break;
            default: /* a marker-like pair inserted */
                memmove(m + pos + 2, m + pos, len - pos);
                m[pos] = 0xFF;
                m[pos + 1] = (unsigned char)(rnd() % 3 == 0 ? 0x00 : 0xD0 + rnd() % 10);
                n += 2;
                break;
            }
            check("mutation", m, n, -1);
        }
        free(m);
        free(jpg);
    }
    /* the harness must see both outcomes, or it proves nothing */
    CHECK(n_same - same0 > 50, "only %d mutations accepted", n_same - same0);
    CHECK(n_declined - declined0 > 50, "only %d mutations declined", n_declined - declined0);
}

/* The conformance photos: whatever ours accepts is identical (the count is checked in main). */
static void conformance_one(void *ctx, const char *path, const unsigned char *data, size_t len)
{
    (void)ctx;
    check(path, data, len, -1);
}

int main(void)
{
    int same0;

    test_generated();
    test_random_coefficients();
    test_edits();
    test_mutations();
    same0 = n_same;
    {
        int unreadable = 0;

        CHECK(jgen_each_jpeg(HW_TEST_DATA "/conformance/pdq/images", conformance_one, NULL,
                             &unreadable) > 0 &&
                  unreadable == 0,
              "conformance images missing or unreadable");
    }
    CHECK(n_same - same0 >= 20, "only %d conformance JPEGs through our decoder", n_same - same0);
    printf("%d scans identical to libjpeg's, %d declined, %d failures\n", n_same, n_declined,
           failures);
    return failures != 0;
}
