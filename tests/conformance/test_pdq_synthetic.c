/* test_pdq_synthetic.c: decoder-free PDQ vectors (synthetic.tsv) generated and hashed exactly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_digest.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_image.h"
#include "hashlib/hw_pdq.h"

#include "conformance/conformance_util.h"

/* The generator documented in conformance/pdq/README.md. */
static uint32_t xs_state;

static uint32_t xs_next(void)
{
    uint32_t s = xs_state;

    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    xs_state = s;
    return s;
}

static int synth_generate(const char *pattern, uint32_t w, uint32_t h, unsigned ch, uint8_t *px)
{
    size_t o = 0;

    xs_state = 2463534242u;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            if (strcmp(pattern, "mosaic-rgb") == 0 || strcmp(pattern, "mosaic-grey") == 0) {
                const uint32_t cx = (uint32_t)(((uint64_t)7 * x) / w);
                const uint32_t cy = (uint32_t)(((uint64_t)7 * y) / h);

                for (uint32_t c = 0; c < ch; c++) {
                    const uint32_t base = (cx * 37 + cy * 101 + c * 53 + 1) * 2654435761u;

                    px[o++] = (uint8_t)((base >> 25) + (xs_next() >> 26));
                }
            } else if (strcmp(pattern, "noise-rgb") == 0) {
                for (uint32_t c = 0; c < 3; c++) {
                    px[o++] = (uint8_t)(xs_next() >> 24);
                }
            } else if (strcmp(pattern, "rings-rgb") == 0) {
                const int64_t dx = (int64_t)x - w / 3;
                const int64_t dy = (int64_t)y - h / 4;
                const int64_t d = dx * dx + dy * dy;

                px[o++] = (uint8_t)((d / 16) % 256);
                px[o++] = (uint8_t)(255 - (d / 16) % 256);
                px[o++] = (uint8_t)((x + 2 * y) % 256);
            } else {
                return -1;
            }
        }
    }
    return 0;
}

/* The reference CLI's pre-resize: NN to exactly 512 x 512 when a side exceeds 512. */
static uint8_t *synth_sample(const uint8_t *px, uint32_t *w, uint32_t *h, unsigned ch)
{
    const uint32_t n = HW_PDQ_SAMPLE_DIM;
    uint8_t *out;

    if (*w <= n && *h <= n) {
        return NULL;
    }
    out = malloc((size_t)n * n * ch);
    if (out == NULL) {
        return NULL;
    }
    for (uint32_t y = 0; y < n; y++) {
        const uint32_t sy = (uint32_t)(((uint64_t)y * *h) / n);

        for (uint32_t x = 0; x < n; x++) {
            const uint32_t sx = (uint32_t)(((uint64_t)x * *w) / n);

            memcpy(out + ((size_t)y * n + x) * ch, px + ((size_t)sy * *w + sx) * ch, ch);
        }
    }
    *w = n;
    *h = n;
    return out;
}

static int hash_eq_hex(const struct hw_pdq *h, const char *hex)
{
    char buf[65];

    hw_pdq_to_hex(h, buf);
    return strcmp(buf, hex) == 0;
}

static void synth_row(char **c, int ci[])
{
    const char *name = c[ci[0]];
    const char *pattern = c[ci[1]];
    uint32_t w = (uint32_t)strtoul(c[ci[2]], NULL, 10);
    uint32_t h = (uint32_t)strtoul(c[ci[3]], NULL, 10);
    const unsigned ch = (unsigned)strtoul(c[ci[4]], NULL, 10);
    const char *want_hex = c[ci[5]];
    const int want_q = atoi(c[ci[6]]);
    const int fragile = strncmp(c[ci[15]], "yes", 3) == 0;
    const char *want_sha = c[ci[16]];
    const size_t len = (size_t)w * h * ch;
    uint8_t *px = malloc(len);
    uint8_t *sampled = NULL;
    float *luma = NULL;
    void *scratch = NULL;
    uint8_t sha[HW_SHA256_LEN];
    char sha_hex[2 * HW_SHA256_LEN + 1];
    struct hw_pixels pix;
    struct hw_pdq one;
    struct hw_pdq dih[HW_DIH_COUNT];
    struct hw_pdq want;
    int q1 = -1;
    int q8 = -1;
    size_t slen;

    if (px == NULL || synth_generate(pattern, w, h, ch, px) != 0) {
        CONF_CHECK(0, "%s: cannot generate pattern %s", name, pattern);
        goto done;
    }
    hw_sha256(px, len, sha);
    hw_hex_encode(sha, sizeof(sha), sha_hex);
    CONF_CHECK(strcmp(sha_hex, want_sha) == 0, "%s: generated pixels sha256 %s, tsv says %s", name,
               sha_hex, want_sha);

    sampled = synth_sample(px, &w, &h, ch);
    pix.width = w;
    pix.height = h;
    pix.channels = ch;
    pix.stride = (size_t)w * ch;
    pix.data = sampled != NULL ? sampled : px;
    slen = hw_pdq_scratch_len(h, w);
    luma = malloc((size_t)w * h * sizeof(float));
    scratch = malloc(slen);
    if (luma == NULL || scratch == NULL || slen == 0) {
        CONF_CHECK(0, "%s: out of memory", name);
        goto done;
    }
    hw_pdq_luma(&pix, luma);
    CONF_CHECK(hw_pdq_from_luma(luma, h, w, scratch, slen, 1, &one, &q1) == HW_OK,
               "%s: hw_pdq_from_luma(1) failed", name);
    hw_pdq_luma(&pix, luma);
    CONF_CHECK(hw_pdq_from_luma(luma, h, w, scratch, slen, HW_DIH_COUNT, dih, &q8) == HW_OK,
               "%s: hw_pdq_from_luma(8) failed", name);

    CONF_CHECK(q1 == want_q && q8 == want_q, "%s: quality %d / %d (dihedral path), want %d", name,
               q1, q8, want_q);
    if (hw_pdq_from_hex(want_hex, strlen(want_hex), &want) != HW_OK) {
        CONF_CHECK(0, "%s: bad hex in tsv", name);
        goto done;
    }
    if (w < HW_PDQ_MIN_DIM || h < HW_PDQ_MIN_DIM) {
        /* Below the reference's minimum: all zero, whatever the fragility flag says. */
        CONF_CHECK(hw_pdq_weight(&one) == 0 && q1 == 0,
                   "%s: below minimum size but hash "
                   "weight %d quality %d",
                   name, hw_pdq_weight(&one), q1);
        for (int v = 0; v < HW_DIH_COUNT; v++) {
            CONF_CHECK(hw_pdq_weight(&dih[v]) == 0, "%s: %s not all-zero", name,
                       hw_dihedral_name(v));
        }
    }
    printf("%-24s %s hash distance %3d", name, fragile ? "fragile" : "exact  ",
           hw_pdq_distance(&one, &want));
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        struct hw_pdq wv;
        const char *hx = c[ci[7 + v]];

        if (hw_pdq_from_hex(hx, strlen(hx), &wv) != HW_OK) {
            CONF_CHECK(0, "%s: bad dihedral hex in tsv", name);
            continue;
        }
        printf(" %s=%d", hw_dihedral_name(v), hw_pdq_distance(&dih[v], &wv));
        if (!fragile) {
            CONF_CHECK(hash_eq_hex(&dih[v], hx), "%s: dihedral %s differs by %d bits", name,
                       hw_dihedral_name(v), hw_pdq_distance(&dih[v], &wv));
        }
    }
    printf(" quality %d (want %d)\n", q1, want_q);
    if (!fragile) {
        CONF_CHECK(hash_eq_hex(&one, want_hex), "%s: hash differs from the tsv by %d bits", name,
                   hw_pdq_distance(&one, &want));
    }
done:
    free(px);
    free(sampled);
    free(luma);
    free(scratch);
}

int main(void)
{
    static const char *const want_cols[17] = {
        "name",
        "pattern",
        "width",
        "height",
        "channels",
        "pdq_hex",
        "quality",
        "dihedral_orig",
        "dihedral_rot90",
        "dihedral_rot180",
        "dihedral_rot270",
        "dihedral_flipx",
        "dihedral_flipy",
        "dihedral_flipplus1",
        "dihedral_flipminus1",
        "numerically_fragile",
        "pixels_sha256",
    };
    size_t len;
    char *text = (char *)conf_read_file(CONF_DIR "/synthetic.tsv", &len);
    char *save = NULL;
    char *line;
    char *hdr[CONF_MAX_COLS];
    int ci[17];
    int nh;
    int rows = 0;

    if (text == NULL) {
        fprintf(stderr, "cannot read %s\n", CONF_DIR "/synthetic.tsv");
        return 1;
    }
    line = strtok_r(text, "\n", &save);
    nh = conf_split(line, hdr);
    for (int i = 0; i < 17; i++) {
        ci[i] = conf_col(hdr, nh, want_cols[i]);
        if (ci[i] < 0) {
            fprintf(stderr, "synthetic.tsv: no column %s\n", want_cols[i]);
            return 1;
        }
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *c[CONF_MAX_COLS];

        if (conf_split(line, c) != nh) {
            CONF_CHECK(0, "synthetic.tsv: row with wrong column count");
            continue;
        }
        synth_row(c, ci);
        rows++;
    }
    free(text);
    CONF_CHECK(rows == 24, "synthetic.tsv: %d rows, README documents 24", rows);
    printf("%d rows, %d failures\n", rows, conf_failures);
    return conf_failures == 0 ? 0 : 1;
}
