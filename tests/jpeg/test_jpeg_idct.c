/* test_jpeg_idct.c: the point IDCT equals libjpeg-turbo's islow IDCT (C and dispatched SIMD). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeg/jpeg_gen.h"
#include "jpeg_fast.h"

/* libjpeg-turbo's C islow IDCT (jidctint.c): exported by the library, not in its headers. */
void jpeg_idct_islow(j_decompress_ptr ci, jpeg_component_info *cp, JCOEFPTR coef, JSAMPARRAY out,
                     JDIMENSION out_col);

#include "hw_test.h"

static uint32_t rng = 2463534242u;

static uint32_t rnd(void)
{
    return t_xorshift32(&rng);
}

static int32_t rnd_range(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

/* libjpeg's islow multipliers are MULTIPLIER (short in this SIMD build): the point IDCT's
 * contract; jpeg_fast.c checks the same at run time. */
static short qtab[DCTSIZE2];

struct stats {
    long blocks, accepted, refused, pixels;
};

/* One block through libjpeg's method `fn` (whole 8x8) and through both point kernels at
 * random (or all) rows and columns; accepted results must match libjpeg at every pixel asked. */
static void check_block(j_decompress_ptr ci, jpeg_component_info *cp, hw_jpeg_idct_fn fn,
                        const struct hw_jpeg_idct_matrix *m, const JCOEF *coef, const char *what,
                        struct stats *st)
{
    struct hw_jpeg_point_quant pq;
    JCOEF blk[DCTSIZE2] __attribute__((aligned(32)));
    uint8_t ref[DCTSIZE2], tile[DCTSIZE2], tile2[DCTSIZE2];
    JSAMPROW rows[DCTSIZE];
    unsigned rmask = rnd() & 3u ? (rnd() & 0xffu) | 1u << (rnd() % 8) : 0xffu;
    unsigned cmask = rnd() & 3u ? (rnd() & 0xffu) | 1u << (rnd() % 8) : 0xffu;
    int r1, r2;

    memcpy(blk, coef, sizeof(blk));
    hw_jpeg_point_quant_init(&pq, qtab);
    for (int k = 0; k < DCTSIZE; k++) {
        rows[k] = ref + k * DCTSIZE;
    }
    fn(ci, cp, blk, rows, 0);
    memset(tile, 0xa5, sizeof(tile));
    memset(tile2, 0x5a, sizeof(tile2));
    r1 = hw_jpeg_point_idct(m, coef, &pq, rmask, cmask, tile);
    r2 = hw_jpeg_point_idct_portable(m, coef, &pq, rmask, cmask, tile2);
    st->blocks++;
    CHECK(r1 == r2, "%s: SSE2/portable kernels disagree on the range (%d vs %d)", what, r1, r2);
    if (r1 != 0) {
        st->refused++;
        return;
    }
    st->accepted++;
    for (int k = 0; k < DCTSIZE; k++) {
        for (int c = 0; c < DCTSIZE; c++) {
            int want = (rmask >> k) & (cmask >> c) & 1u;
            uint8_t t = tile[k * DCTSIZE + c], t2 = tile2[k * DCTSIZE + c];

            if (want) {
                st->pixels++;
                CHECK(t == ref[k * DCTSIZE + c] && t2 == ref[k * DCTSIZE + c],
                      "%s: pixel (%d,%d) point %u portable %u libjpeg %u", what, k, c, t, t2,
                      ref[k * DCTSIZE + c]);
            } else {
                CHECK(t == 0xa5 && t2 == 0x5a, "%s: pixel (%d,%d) written though not asked", what,
                      k, c);
            }
        }
    }
}

static void random_quant(int maxq)
{
    for (int i = 0; i < DCTSIZE2; i++) {
        qtab[i] = (short)rnd_range(1, maxq);
    }
}

/* Blocks of several kinds through libjpeg's method `fn`. */
static void run_kind(j_decompress_ptr ci, jpeg_component_info *cp, hw_jpeg_idct_fn fn,
                     const struct hw_jpeg_idct_matrix *m, const char *name)
{
    struct stats real = {0}, dc = {0}, sparse = {0}, edge = {0}, wild = {0};
    JCOEF coef[DCTSIZE2];
    char what[96];

    for (int t = 0; t < 60000; t++) {
        int kind = t % 5;

        if (t % 500 == 0) {
            random_quant(t % 1000 == 0 ? 16 : 99);
        }
        memset(coef, 0, sizeof(coef));
        switch (kind) {
        case 0: /* photo-like: large DC, decaying AC */
            coef[0] = (JCOEF)rnd_range(-1024 / qtab[0], 1016 / qtab[0]);
            for (int i = 1; i < DCTSIZE2; i++) {
                int f = i / DCTSIZE + i % DCTSIZE, lim = 400 / (1 + 2 * f) / qtab[i];

                if (rnd() % (unsigned)(1 + f) == 0) {
                    coef[i] = (JCOEF)rnd_range(-lim - 1, lim + 1);
                }
            }
            snprintf(what, sizeof(what), "%s/photo#%d", name, t);
            check_block(ci, cp, fn, m, coef, what, &real);
            break;
        case 1: /* DC only, over the whole range where the output wraps or saturates too */
            coef[0] = (JCOEF)rnd_range(-2047, 2047);
            snprintf(what, sizeof(what), "%s/dc#%d", name, t);
            check_block(ci, cp, fn, m, coef, what, &dc);
            break;
        case 2: /* a few coefficients anywhere (dequantised within +-200: outputs in range) */
            for (int n = rnd_range(1, 4); n > 0; n--) {
                int i = (int)(rnd() % DCTSIZE2), lim = 200 / qtab[i];

                coef[i] = (JCOEF)rnd_range(-lim, lim);
            }
            snprintf(what, sizeof(what), "%s/sparse#%d", name, t);
            check_block(ci, cp, fn, m, coef, what, &sparse);
            break;
        case 3: /* dense, scaled so that outputs straddle [-512, 511] and workspace values
                 * +-16383 (both sides of every range check), or one row's workspace driven to
                 * its extreme by the signs of the coefficients */
            if (t % 10 == 3) {
                int k = (int)(rnd() % 8), div = rnd_range(1, 64);

                for (int i = 0; i < DCTSIZE2; i++) {
                    int sign = m->a[k][i / DCTSIZE] < 0 ? -1 : 1;

                    coef[i] = (JCOEF)(sign * (16383 / qtab[i] / div));
                }
            } else {
                int mag = rnd_range(20, 4000);

                for (int i = 0; i < DCTSIZE2; i++) {
                    int lim = mag / qtab[i];

                    coef[i] = (JCOEF)rnd_range(-lim, lim);
                }
                coef[0] = (JCOEF)rnd_range(-16383 / qtab[0], 16383 / qtab[0]);
            }
            snprintf(what, sizeof(what), "%s/edge#%d", name, t);
            check_block(ci, cp, fn, m, coef, what, &edge);
            break;
        default: /* anything a JPEG can carry (libjpeg's C and SIMD may differ here) */
            for (int i = 0; i < DCTSIZE2; i++) {
                if (rnd() % 3 == 0) {
                    coef[i] = (JCOEF)rnd_range(-32767, 32767);
                }
            }
            snprintf(what, sizeof(what), "%s/wild#%d", name, t);
            check_block(ci, cp, fn, m, coef, what, &wild);
            break;
        }
    }
    printf("%s: photo %ld/%ld accepted, dc %ld/%ld, sparse %ld/%ld, edge %ld/%ld, wild %ld/%ld; "
           "%ld pixels compared\n",
           name, real.accepted, real.blocks, dc.accepted, dc.blocks, sparse.accepted, sparse.blocks,
           edge.accepted, edge.blocks, wild.accepted, wild.blocks,
           real.pixels + dc.pixels + sparse.pixels + edge.pixels + wild.pixels);
    /* the point IDCT is for ordinary blocks: it must accept practically all of them */
    CHECK(real.accepted * 1000 >= real.blocks * 999, "%s: photo-like blocks refused (%ld/%ld)",
          name, real.refused, real.blocks);
    CHECK(sparse.refused == 0, "%s: sparse blocks refused", name);
    /* and both sides of the range checks must really be exercised */
    CHECK(dc.accepted > 0 && dc.refused > 0, "%s: DC range not exercised (%ld/%ld)", name,
          dc.accepted, dc.blocks);
    CHECK(edge.accepted > 0 && edge.refused > 0, "%s: edge range not exercised (%ld/%ld)", name,
          edge.accepted, edge.blocks);
}

int main(void)
{
    struct hw_jpeg_idct_matrix m;
    struct jgen g;
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *jpg;
    size_t len;
    hw_jpeg_idct_fn simd;
    jpeg_component_info *cp;
    void *saved_table;
    int64_t worst = 0;

    /* the matrix: every entry fits 16 bits (the SIMD kernel's operands) and the int32 sums of
     * the kernels cannot overflow for inputs within +-16383 */
    hw_jpeg_idct_matrix_init(&m);
    for (int o = 0; o < DCTSIZE; o++) {
        int64_t sum = 0;

        for (int i = 0; i < DCTSIZE; i++) {
            CHECK(m.a[o][i] == m.a16[o][i], "a[%d][%d] = %d beyond 16 bits", o, i, m.a[o][i]);
            sum += m.a[o][i] < 0 ? -m.a[o][i] : m.a[o][i];
        }
        worst = sum > worst ? sum : worst;
    }
    CHECK(worst * 16383 + (1 << 17) < INT32_MAX, "row sums of |A| up to %lld overflow int32",
          (long long)worst);
    /* DC row: a[o][0] = 2^13 for every o (islow's even part) */
    for (int o = 0; o < DCTSIZE; o++) {
        CHECK(m.a[o][0] == 8192, "a[%d][0] = %d", o, m.a[o][0]);
    }

    /* a started libjpeg decompressor (raw data: its IDCT methods are chosen as for a normal
     * decode, SIMD when the CPU has it) to borrow the islow methods and range tables from */
    memset(&g, 0, sizeof(g));
    g.width = 16;
    g.height = 16;
    g.in_space = JCS_GRAYSCALE;
    g.jpeg_space = JCS_GRAYSCALE;
    g.quality = 90;
    g.baseline_quant = 1;
    jpg = jgen_encode(&g, &len);
    if (jpg == NULL) {
        fprintf(stderr, "could not encode\n");
        return 1;
    }
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, jpg, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    ci.dct_method = JDCT_ISLOW;
    ci.raw_data_out = TRUE;
    jpeg_start_decompress(&ci);
    simd = hw_jpeg_idct_method(&ci, 0);
    CHECK(simd != NULL, "no islow method");
    cp = &ci.comp_info[0];
    saved_table = cp->dct_table;
    cp->dct_table = qtab;
    printf("libjpeg's dispatched islow method is %s\n",
           simd == jpeg_idct_islow ? "its C code (no SIMD here)" : "a SIMD version");
    if (simd != NULL) {
        run_kind(&ci, cp, simd, &m, "libjpeg-dispatched");
    }
    run_kind(&ci, cp, jpeg_idct_islow, &m, "libjpeg-C");
    cp->dct_table = saved_table;
    jpeg_abort_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(jpg);
    printf("%d failures\n", failures);
    return failures != 0;
}
