/* test_pdq_images.c: hw_hasher on the reference images vs expected/dihedral/pairs/fullres.tsv. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_hasher.h"
#include "hashlib/hw_pdq.h"

#include "conformance/conformance_util.h"

/* Hash one conformance image; returns the hasher's result code (or HW_EIO if unreadable). */
static int hash_file(hw_hasher *h, const char *rel, unsigned flags, struct hw_hash_result *res)
{
    char path[1024];
    char err[256] = "";
    size_t len;
    unsigned char *data;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", CONF_DIR, rel);
    data = conf_read_file(path, &len);
    if (data == NULL) {
        memset(res, 0, sizeof(*res));
        CONF_CHECK(0, "%s: cannot read", path);
        return HW_EIO;
    }
    rc = hw_hasher_hash(h, data, len, flags, res, err, sizeof(err));
    free(data);
    CONF_CHECK(rc == HW_OK && res->decoded, "%s: hasher returned %s (%s)", rel, hw_errname(rc),
               err);
    return rc;
}

/* Distance between a computed hash and a hex string from a tsv (-1 if the hex is bad). */
static int dist_hex(const struct hw_pdq *h, const char *hex)
{
    struct hw_pdq w;

    if (hw_pdq_from_hex(hex, strlen(hex), &w) != HW_OK) {
        CONF_CHECK(0, "bad hex in tsv: %s", hex);
        return -1;
    }
    return hw_pdq_distance(h, &w);
}

struct tsv {
    char *text;
    char *save;
    char *hdr[CONF_MAX_COLS];
    int ncols;
};

static int tsv_open(struct tsv *t, const char *name)
{
    char path[1024];
    size_t len;
    char *line;

    snprintf(path, sizeof(path), "%s/%s", CONF_DIR, name);
    t->text = (char *)conf_read_file(path, &len);
    t->save = NULL;
    if (t->text == NULL || (line = strtok_r(t->text, "\n", &t->save)) == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    t->ncols = conf_split(line, t->hdr);
    return 0;
}

static int tsv_next(struct tsv *t, char **c)
{
    char *line;

    while ((line = strtok_r(NULL, "\n", &t->save)) != NULL) {
        if (conf_split(line, c) == t->ncols) {
            return 1;
        }
        CONF_CHECK(0, "tsv row with wrong column count");
    }
    return 0;
}

static int tsv_col(struct tsv *t, const char *name)
{
    int c = conf_col(t->hdr, t->ncols, name);

    if (c < 0) {
        fprintf(stderr, "tsv: no column %s\n", name);
        exit(2);
    }
    return c;
}

static void print_info(const struct hw_hash_result *r)
{
    printf(" [%s %ux%u flags 0x%x]", hw_format_name(r->info.format), r->info.width, r->info.height,
           r->info.flags);
}

/* expected.tsv (flags 0) or expected-fullres.tsv (HW_DECODE_NOSAMPLE). */
static void run_expected(hw_hasher *h, const char *name, unsigned flags)
{
    struct tsv t;
    char *c[CONF_MAX_COLS];
    int rows = 0;
    int exact = 0;

    if (tsv_open(&t, name) != 0) {
        conf_failures++;
        return;
    }
    {
        const int cf = tsv_col(&t, "file");
        const int chx = tsv_col(&t, "pdq_hex");
        const int cq = tsv_col(&t, "quality");
        const int cw = conf_col(t.hdr, t.ncols, "width");
        const int ch = conf_col(t.hdr, t.ncols, "height");

        while (tsv_next(&t, c)) {
            struct hw_hash_result r;
            const int want_q = atoi(c[cq]);
            int d;

            rows++;
            if (hash_file(h, c[cf], flags, &r) != HW_OK) {
                continue;
            }
            d = dist_hex(&r.pdq[HW_DIH_ORIG], c[chx]);
            printf("%-52s distance %3d quality %3d (want %3d)", c[cf], d, r.quality, want_q);
            print_info(&r);
            printf("\n");
            exact += d == 0;
            CONF_CHECK(r.quality == want_q, "%s: quality %d, reference %d", c[cf], r.quality,
                       want_q);
            if (want_q >= HW_PDQ_QUALITY_MIN) {
                CONF_CHECK(d == 0, "%s: hash %d bits from the reference (quality %d)", c[cf], d,
                           want_q);
            }
            if (cw >= 0 && ch >= 0) {
                CONF_CHECK(r.info.width == strtoul(c[cw], NULL, 10) &&
                               r.info.height == strtoul(c[ch], NULL, 10),
                           "%s: decoded %ux%u, tsv says %sx%s", c[cf], r.info.width, r.info.height,
                           c[cw], c[ch]);
            }
        }
    }
    printf("%s: %d rows, %d exact\n", name, rows, exact);
    free(t.text);
}

static void run_dihedral(hw_hasher *h)
{
    struct tsv t;
    char *c[CONF_MAX_COLS];
    int cv[HW_DIH_COUNT];
    int rows = 0;

    if (tsv_open(&t, "dihedral.tsv") != 0) {
        conf_failures++;
        return;
    }
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        cv[v] = tsv_col(&t, hw_dihedral_name(v));
    }
    {
        const int cf = tsv_col(&t, "file");
        const int cq = tsv_col(&t, "quality");

        while (tsv_next(&t, c)) {
            struct hw_hash_result r;
            const int want_q = atoi(c[cq]);

            rows++;
            if (hash_file(h, c[cf], 0, &r) != HW_OK) {
                continue;
            }
            printf("%-52s", c[cf]);
            for (int v = 0; v < HW_DIH_COUNT; v++) {
                const int d = dist_hex(&r.pdq[v], c[cv[v]]);

                printf(" %s=%d", hw_dihedral_name(v), d);
                if (want_q >= HW_PDQ_QUALITY_MIN) {
                    CONF_CHECK(d == 0, "%s: dihedral %s %d bits from the reference", c[cf],
                               hw_dihedral_name(v), d);
                }
            }
            printf(" quality %d (want %d)\n", r.quality, want_q);
            CONF_CHECK(r.quality == want_q, "%s: quality %d, reference %d", c[cf], r.quality,
                       want_q);
        }
    }
    printf("dihedral.tsv: %d rows\n", rows);
    free(t.text);
}

static int variant_by_name(const char *name)
{
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        if (strcmp(hw_dihedral_name(v), name) == 0) {
            return v;
        }
    }
    return -1;
}

static void run_pairs(hw_hasher *h)
{
    struct tsv t;
    char *c[CONF_MAX_COLS];
    int rows = 0;

    if (tsv_open(&t, "pairs.tsv") != 0) {
        conf_failures++;
        return;
    }
    {
        const int ca = tsv_col(&t, "file_a");
        const int cb = tsv_col(&t, "file_b");
        const int cexp = tsv_col(&t, "expected_at_31");
        const int cd = tsv_col(&t, "distance");
        const int cvar = tsv_col(&t, "dihedral_variant_of_a");
        const int cdv = tsv_col(&t, "distance_via_that_variant");
        const int cmin = tsv_col(&t, "min_distance_over_8_variants_of_a");

        static struct hw_hash_result ra;
        char prev_a[1024] = "";

        while (tsv_next(&t, c)) {
            struct hw_hash_result rb;
            const int thr = HW_PDQ_THRESHOLD_DEFAULT;
            const char *expect = c[cexp];
            int d;
            int dmin = 256;
            int dv = -1;
            int var = -1;

            rows++;
            /* Most rows share file_a: hash it once. */
            if (strcmp(prev_a, c[ca]) != 0) {
                prev_a[0] = '\0';
                if (hash_file(h, c[ca], 0, &ra) != HW_OK) {
                    continue;
                }
                snprintf(prev_a, sizeof(prev_a), "%s", c[ca]);
            }
            if (hash_file(h, c[cb], 0, &rb) != HW_OK) {
                continue;
            }
            d = hw_pdq_distance(&ra.pdq[HW_DIH_ORIG], &rb.pdq[HW_DIH_ORIG]);
            for (int v = 0; v < HW_DIH_COUNT; v++) {
                const int x = hw_pdq_distance(&ra.pdq[v], &rb.pdq[HW_DIH_ORIG]);

                dmin = x < dmin ? x : dmin;
            }
            if (strcmp(c[cvar], "-") != 0) {
                var = variant_by_name(c[cvar]);
                CONF_CHECK(var >= 0, "unknown variant %s", c[cvar]);
                if (var >= 0) {
                    dv = hw_pdq_distance(&ra.pdq[var], &rb.pdq[HW_DIH_ORIG]);
                }
            }
            printf("%-44s distance %3d (tsv %s) via %s %d (tsv %s) min8 %d (tsv %s)", c[cb], d,
                   c[cd], c[cvar], dv, c[cdv], dmin, c[cmin]);
            print_info(&rb);
            printf("\n");
            CONF_CHECK(d == atoi(c[cd]), "%s vs %s: distance %d, tsv %s", c[ca], c[cb], d, c[cd]);
            CONF_CHECK(dmin == atoi(c[cmin]), "%s vs %s: min over 8 variants %d, tsv %s", c[ca],
                       c[cb], dmin, c[cmin]);
            if (var >= 0) {
                CONF_CHECK(dv == atoi(c[cdv]), "%s vs %s: via %s %d, tsv %s", c[ca], c[cb], c[cvar],
                           dv, c[cdv]);
            }
            if (strcmp(expect, "match") == 0) {
                CONF_CHECK(d <= thr, "%s vs %s should match: distance %d", c[ca], c[cb], d);
            } else if (strcmp(expect, "non-match") == 0) {
                CONF_CHECK(d > thr && dmin > thr, "%s vs %s should not match: %d, min8 %d", c[ca],
                           c[cb], d, dmin);
            } else if (strcmp(expect, "non-match-plain/match-via-dihedral") == 0) {
                CONF_CHECK(d > thr && var >= 0 && dv <= thr,
                           "%s vs %s: plain %d must exceed %d, via %s %d must not", c[ca], c[cb], d,
                           thr, c[cvar], dv);
            } else {
                CONF_CHECK(0, "unknown expectation %s", expect);
            }
        }
    }
    printf("pairs.tsv: %d rows\n", rows);
    free(t.text);
}

/* Source pixel of oriented pixel (x, y) for EXIF orientation o (1..8) of a w x h image. */
static void exif_source(int o, uint32_t w, uint32_t h, uint32_t x, uint32_t y, uint32_t *sx,
                        uint32_t *sy)
{
    switch (o) {
    case 2: /* mirrored */
        *sx = w - 1 - x, *sy = y;
        break;
    case 3: /* rotated 180 */
        *sx = w - 1 - x, *sy = h - 1 - y;
        break;
    case 4: /* flipped vertically */
        *sx = x, *sy = h - 1 - y;
        break;
    case 5: /* transposed */
        *sx = y, *sy = x;
        break;
    case 6: /* display = stored rotated 90 degrees clockwise */
        *sx = y, *sy = h - 1 - x;
        break;
    case 7: /* transverse */
        *sx = w - 1 - y, *sy = h - 1 - x;
        break;
    case 8: /* display = stored rotated 90 degrees counter-clockwise */
        *sx = w - 1 - y, *sy = x;
        break;
    default:
        *sx = x, *sy = y;
        break;
    }
}

/* PDQ of the pixels with EXIF orientation applied, then (if `sample`) the reference's 512 x 512
 * nearest-neighbour step: what the reference outputs for an auto-oriented copy. */
static int hash_oriented(const struct hw_pixels *px, int o, int sample, struct hw_pdq *out,
                         int *quality)
{
    const int swap = o >= 5 && o <= 8;
    const uint32_t dw = swap ? px->height : px->width;
    const uint32_t dh = swap ? px->width : px->height;
    const uint32_t ow = (sample && (dw > 512 || dh > 512)) ? 512 : dw;
    const uint32_t oh = (sample && (dw > 512 || dh > 512)) ? 512 : dh;
    const unsigned ch = px->channels;
    uint8_t *buf = malloc((size_t)ow * oh * ch);
    float *luma = malloc((size_t)ow * oh * sizeof(float));
    const size_t slen = hw_pdq_scratch_len(oh, ow);
    void *scratch = malloc(slen);
    struct hw_pixels opx;
    int rc = -1;

    if (buf != NULL && luma != NULL && scratch != NULL) {
        for (uint32_t y = 0; y < oh; y++) {
            const uint32_t dy = (uint32_t)(((uint64_t)y * dh) / oh);

            for (uint32_t x = 0; x < ow; x++) {
                const uint32_t dx = (uint32_t)(((uint64_t)x * dw) / ow);
                uint32_t sx;
                uint32_t sy;

                exif_source(o, px->width, px->height, dx, dy, &sx, &sy);
                memcpy(buf + ((size_t)y * ow + x) * ch, px->data + sy * px->stride + sx * ch, ch);
            }
        }
        opx.width = ow;
        opx.height = oh;
        opx.channels = ch;
        opx.stride = (size_t)ow * ch;
        opx.data = buf;
        hw_pdq_luma(&opx, luma);
        rc = hw_pdq_from_luma(luma, oh, ow, scratch, slen, 1, out, quality);
    }
    free(buf);
    free(luma);
    free(scratch);
    return rc;
}

/* exif-orientation.tsv: the stored-pixel hash, the orientation the decoder reports, the
 * closest dihedral variant, and hashes of the oriented pixels (sampled and full resolution). */
static void run_exif(hw_hasher *h)
{
    struct tsv t;
    char *c[CONF_MAX_COLS];
    int rows = 0;
    hw_decoder *dec = NULL;

    if (tsv_open(&t, "exif-orientation.tsv") != 0 || hw_decoder_new(NULL, &dec) != HW_OK) {
        conf_failures++;
        free(t.text);
        return;
    }
    {
        const int cf = tsv_col(&t, "file");
        const int co = tsv_col(&t, "exif_orientation");
        const int csw = tsv_col(&t, "stored_width");
        const int csh = tsv_col(&t, "stored_height");
        const int cst = tsv_col(&t, "pdq_hex_as_stored");
        const int cor = tsv_col(&t, "pdq_hex_oriented");
        const int cqo = tsv_col(&t, "quality_oriented");
        const int cfr = tsv_col(&t, "pdq_hex_oriented_fullres");
        const int cv = tsv_col(&t, "closest_dihedral_of_stored");
        const int cd = tsv_col(&t, "distance_oriented_to_that_dihedral");

        while (tsv_next(&t, c)) {
            struct hw_hash_result r;
            struct hw_image_info info;
            struct hw_pixels px;
            struct hw_pdq oriented;
            struct hw_pdq ofull;
            struct hw_pdq want_or;
            const int o = atoi(c[co]);
            const int var = variant_by_name(c[cv]);
            int qo = -1;
            int qf = -1;
            int dmin = 256;
            int dvar = -1;
            char path[1024];
            size_t len;
            unsigned char *data;

            rows++;
            if (hash_file(h, c[cf], 0, &r) != HW_OK || var < 0 ||
                hw_pdq_from_hex(c[cor], strlen(c[cor]), &want_or) != HW_OK) {
                CONF_CHECK(0, "%s: cannot hash, or bad tsv row", c[cf]);
                continue;
            }
            CONF_CHECK(r.info.exif_orientation == o, "%s: decoder reports orientation %d, tsv %d",
                       c[cf], r.info.exif_orientation, o);
            CONF_CHECK(r.info.width == strtoul(c[csw], NULL, 10) &&
                           r.info.height == strtoul(c[csh], NULL, 10),
                       "%s: stored size %ux%u", c[cf], r.info.width, r.info.height);
            CONF_CHECK(dist_hex(&r.pdq[HW_DIH_ORIG], c[cst]) == 0,
                       "%s: stored-pixel hash %d bits off", c[cf],
                       dist_hex(&r.pdq[HW_DIH_ORIG], c[cst]));
            for (int v = 0; v < HW_DIH_COUNT; v++) {
                const int d = hw_pdq_distance(&r.pdq[v], &want_or);

                dmin = d < dmin ? d : dmin;
            }
            dvar = hw_pdq_distance(&r.pdq[var], &want_or);
            CONF_CHECK(dvar == atoi(c[cd]) && dvar == dmin && dvar <= HW_PDQ_THRESHOLD_DEFAULT,
                       "%s: %s to oriented hash %d (tsv %s), min over 8 %d", c[cf], c[cv], dvar,
                       c[cd], dmin);

            snprintf(path, sizeof(path), "%s/%s", CONF_DIR, c[cf]);
            data = conf_read_file(path, &len);
            if (data == NULL ||
                hw_decoder_decode(dec, data, len, HW_DECODE_NOSAMPLE, &info, &px, NULL, 0) !=
                    HW_OK ||
                hash_oriented(&px, o, 1, &oriented, &qo) != HW_OK ||
                hash_oriented(&px, o, 0, &ofull, &qf) != HW_OK) {
                CONF_CHECK(0, "%s: full-resolution decode or oriented hash failed", c[cf]);
                free(data);
                continue;
            }
            free(data);
            printf("%-52s orientation %d: stored %d, via %s %d (min8 %d), oriented %d (q %d), "
                   "oriented full-res %d (q %d)\n",
                   c[cf], r.info.exif_orientation, dist_hex(&r.pdq[HW_DIH_ORIG], c[cst]), c[cv],
                   dvar, dmin, dist_hex(&oriented, c[cor]), qo, dist_hex(&ofull, c[cfr]), qf);
            CONF_CHECK(dist_hex(&oriented, c[cor]) == 0 && qo == atoi(c[cqo]),
                       "%s: oriented hash %d bits off, quality %d (tsv %s)", c[cf],
                       dist_hex(&oriented, c[cor]), qo, c[cqo]);
            CONF_CHECK(dist_hex(&ofull, c[cfr]) == 0, "%s: oriented full-res hash %d bits off",
                       c[cf], dist_hex(&ofull, c[cfr]));
        }
    }
    printf("exif-orientation.tsv: %d rows\n", rows);
    hw_decoder_free(dec);
    free(t.text);
}

int main(int argc, char **argv)
{
    hw_hasher *h = NULL;

    if (argc != 2) {
        fprintf(stderr, "usage: %s expected|fullres|dihedral|pairs|exif\n", argv[0]);
        return 2;
    }
    if (hw_hasher_new(NULL, &h) != HW_OK) {
        fprintf(stderr, "hw_hasher_new failed\n");
        return 1;
    }
    if (strcmp(argv[1], "expected") == 0) {
        run_expected(h, "expected.tsv", 0);
    } else if (strcmp(argv[1], "fullres") == 0) {
        run_expected(h, "expected-fullres.tsv", HW_DECODE_NOSAMPLE);
    } else if (strcmp(argv[1], "dihedral") == 0) {
        run_dihedral(h);
    } else if (strcmp(argv[1], "pairs") == 0) {
        run_pairs(h);
    } else if (strcmp(argv[1], "exif") == 0) {
        run_exif(h);
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        hw_hasher_free(h);
        return 2;
    }
    hw_hasher_free(h);
    printf("%d failures\n", conf_failures);
    return conf_failures == 0 ? 0 : 1;
}
