/* jpeg_fast.c: the sampled JPEG fast path: libjpeg decodes, only the pixels PDQ keeps are made. */
#include <stdlib.h>
#include <string.h>

#include "jpeg_fast.h"
#include "jpeg_scan.h"

/*
 * Why this is exact. libjpeg-turbo's default decode of an 8-bit JPEG is: entropy decoding (and,
 * for progressive files whose low frequencies were never fully refined, block smoothing), one
 * inverse DCT per 8x8 block (the "islow" method, its SIMD or C version), chroma upsampling with
 * the filter it picks per component, and fixed-point YCbCr->RGB. We let libjpeg do the first
 * two and the IDCT itself: the decode runs in raw-data mode at full scale, so libjpeg selects
 * exactly the IDCT method the full decode uses; we then put our function in its dispatch table
 * and forward to libjpeg's method only the blocks holding rows the 512 x 512 sampling reads,
 * with those rows pointed straight at our buffer. Upsampling and colour conversion happen only
 * at the sampled pixels, with libjpeg's integer arithmetic (reproduced below from its
 * documented behaviour; tests compare every mode byte for byte with the full decode).
 *
 * What is saved: libjpeg's IDCT of blocks no sampled row touches (most of a tall image),
 * upsampling and colour conversion of every pixel, and the full-width RGB rows.
 *
 * Baseline files (one sequential Huffman scan, what cameras and most encoders write) go
 * further: our own entropy decoder (jpeg_scan.c) replaces libjpeg's, and the loop over MCUs
 * below replaces jpeg_read_raw_data, handing each block of a needed block row to libjpeg's
 * IDCT method directly. On anything that decoder does not reproduce exactly it declines, and
 * libjpeg's own decoder then runs the scan from its start (libjpeg's state never moved).
 */

#define FAST_MAX_RAW_ROWS (MAX_SAMP_FACTOR * DCTSIZE)

/* The point IDCT (hw_jpeg_point_idct): islow's arithmetic at chosen pixels of a block. */
#define FAST_CONST_BITS  13    /* islow: 13 fraction bits in the butterfly constants */
#define FAST_PASS1_SHIFT 11    /* CONST_BITS - PASS1_BITS (2) */
#define FAST_PASS2_SHIFT 18    /* CONST_BITS + PASS1_BITS + 3 */
#define FAST_SAFE16      16383 /* |x| bound under which 16-bit SIMD sums of two cannot wrap */

#if defined(__SSE2__)
#include <emmintrin.h>
#define FAST_HAVE_SSE2 1
#endif

enum fast_mode {
    FAST_FULL = 0, /* component at full resolution on this axis */
    FAST_REPL,     /* replicate by an integer factor */
    FAST_FANCY,    /* triangle filter, factor 2 (h2v1 or h1v2) */
    FAST_FANCY2D,  /* h2v2 triangle filter (column sums, then across) */
};

typedef void (*fast_idct_fn)(j_decompress_ptr ci, jpeg_component_info *cp, JCOEFPTR coef,
                             JSAMPARRAY out, JDIMENSION out_col);

struct fast_comp {
    jpeg_component_info *cp;
    fast_idct_fn idct; /* libjpeg's own method for this component */
    enum fast_mode hmode, vmode;
    uint32_t hexp, vexp;    /* replication factors */
    uint32_t dw, dh;        /* component sample width and height */
    size_t row_len;         /* width_in_blocks * 8 */
    uint8_t *mask;          /* per block row: bit k set when its sample row k is needed */
    uint32_t *slot;         /* per sample row: index of its stored copy (needed rows only) */
    uint8_t *rows;          /* the needed sample rows, row_len bytes each */
    uint8_t *scratch;       /* where the IDCT writes rows nobody reads */
    JSAMPROW ptrs[DCTSIZE]; /* output rows for block row ptr_br */
    long ptr_br;
    JSAMPARRAY raw;    /* row pointers handed to jpeg_read_raw_data (libjpeg passes them back) */
    uint32_t *col_s;   /* per output column: the nearer sample, */
    uint32_t *col_n;   /* the next nearer one (fancy filters), */
    uint8_t *col_bias; /* and the filter's rounding bias */
    uint8_t *vals;     /* the component's upsampled value at each output column */
    int32_t q0;        /* DC quantiser (our entropy decoder's DC-only blocks) */
};

struct fast_ctx {
    j_decompress_ptr ci;
    struct hw_jpeg_scan *scan; /* our entropy decoder, NULL when libjpeg's decodes */
    struct fast_comp comp[4];
    int ncomp;
    uint32_t imcu; /* the iMCU row jpeg_read_raw_data is producing */
    int bad;       /* libjpeg called us with a block we cannot place */
};

/*
 * libjpeg's IDCT dispatch (jpegint.h struct jpeg_inverse_dct, unchanged since libjpeg 6b and
 * through libjpeg-turbo 2.x): one method per component, set by its start_pass at the start of
 * each output pass (jpeg_start_decompress here; there is no later pass in raw-data mode).
 */
struct fast_idct_mirror {
    void (*start_pass)(j_decompress_ptr ci);
    fast_idct_fn inverse_DCT[MAX_COMPONENTS];
};

#if defined(LIBJPEG_TURBO_VERSION_NUMBER) && LIBJPEG_TURBO_VERSION_NUMBER >= 2000000 &&            \
    LIBJPEG_TURBO_VERSION_NUMBER < 3000000
#define FAST_HOOK_OK 1
#else
#define FAST_HOOK_OK 0 /* another libjpeg: its internals are not known here; decode in full */
#endif

/*
 * The point IDCT. Each pass of libjpeg's islow IDCT is integer additions and multiplications by
 * constants, i.e. an exact integer linear map, followed by ONE rounding shift per output (11
 * bits after the column pass, 18 after the row pass) and, at the end, the range limit. So pass 1
 * at row k is ws[k][v] = (sum_u A[k][u] * q[u][v] * coef[u][v] + 2^10) >> 11 with the 8x8
 * integer matrix A of the butterfly (derived from it on unit inputs), and pass 2 at column c is
 * (sum_v A[c][v] * ws[k][v] + 2^17) >> 18; the DC-only shortcuts of jidctint.c give the same
 * values. libjpeg-turbo's SIMD islow (SSE2, AVX2) computes the same values with 16-bit
 * dequantisation and workspace and a saturating final clamp; it can differ from this exact
 * arithmetic only when a dequantised coefficient or a workspace value leaves 16 bits (or a sum
 * of two of them does), or when an output leaves [-512, 511] (the C code wraps there, the SIMD
 * code saturates): then the function refuses and the caller must use libjpeg's own method.
 *
 * Not used by the hook below yet: measured through hashwatch bench hash, 12 MP 4:2:0 photos
 * spend most of the fast path in libjpeg's entropy decoding, and computing ~1.4 luma pixels per
 * block this way (packed rows, per-block scatter) came out no faster than libjpeg's AVX2 IDCT
 * of the whole block. tests/jpeg/test_jpeg_idct.c checks it against libjpeg.
 */
hw_jpeg_idct_fn hw_jpeg_idct_method(j_decompress_ptr ci, int c)
{
    if (!FAST_HOOK_OK || ci->idct == NULL || c < 0 || c >= MAX_COMPONENTS) {
        return NULL;
    }
    return ((struct fast_idct_mirror *)(void *)ci->idct)->inverse_DCT[c];
}

/*
 * jidctint.c's 1-D butterfly on exact integers, without its rounding shift: even part from
 * inputs 0, 2, 4, 6 and odd part from 1, 3, 5, 7, with its constants round(c * 8192) for
 * c = 0.298631336, 0.390180644, 0.541196100, 0.765366865, 0.899976223, 1.175875602,
 * 1.501321110, 1.847759065, 1.961570560, 2.053119869, 2.562915447, 3.072711026.
 */
static void fast_butterfly(const int64_t in[DCTSIZE], int64_t out[DCTSIZE])
{
    int64_t e0, e1, e2, e3, t10, t11, t12, t13;
    int64_t o0, o1, o2, o3, z1, z2, z3, z4, z5;

    z1 = (in[2] + in[6]) * 4433;
    e2 = z1 - in[6] * 15137;
    e3 = z1 + in[2] * 6270;
    e0 = (in[0] + in[4]) * (1 << FAST_CONST_BITS);
    e1 = (in[0] - in[4]) * (1 << FAST_CONST_BITS);
    t10 = e0 + e3;
    t13 = e0 - e3;
    t11 = e1 + e2;
    t12 = e1 - e2;

    o0 = in[7];
    o1 = in[5];
    o2 = in[3];
    o3 = in[1];
    z1 = o0 + o3;
    z2 = o1 + o2;
    z3 = o0 + o2;
    z4 = o1 + o3;
    z5 = (z3 + z4) * 9633;
    o0 *= 2446;
    o1 *= 16819;
    o2 *= 25172;
    o3 *= 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    o0 += z1 + z3;
    o1 += z2 + z4;
    o2 += z2 + z3;
    o3 += z1 + z4;

    out[0] = t10 + o3;
    out[7] = t10 - o3;
    out[1] = t11 + o2;
    out[6] = t11 - o2;
    out[2] = t12 + o1;
    out[5] = t12 - o1;
    out[3] = t13 + o0;
    out[4] = t13 - o0;
}

void hw_jpeg_idct_matrix_init(struct hw_jpeg_idct_matrix *m)
{
    for (int i = 0; i < DCTSIZE; i++) {
        int64_t in[DCTSIZE] = {0}, out[DCTSIZE];

        in[i] = 1;
        fast_butterfly(in, out);
        for (int o = 0; o < DCTSIZE; o++) {
            m->a[o][i] = (int32_t)out[o]; /* |entries| < 2^14 (13-bit constants) */
            m->a16[o][i] = (int16_t)out[o];
        }
    }
    for (int k = 0; k < DCTSIZE; k++) {
        for (int p = 0; p < DCTSIZE / 2; p++) {
            m->pair[k][p] = (int32_t)(((uint32_t)(uint16_t)m->a16[k][2 * p + 1] << 16) |
                                      (uint16_t)m->a16[k][2 * p]);
        }
    }
}

void hw_jpeg_point_quant_init(struct hw_jpeg_point_quant *pq, const int16_t *q)
{
    for (int i = 0; i < DCTSIZE2; i++) {
        int32_t aq = q[i] < 0 ? -(int32_t)q[i] : q[i];

        pq->q[i] = q[i];
        pq->lim[i] = (int16_t)(aq == 0 ? 32767 : FAST_SAFE16 / aq);
    }
}

static inline int fast_out_of_16(int32_t v)
{
    return (uint32_t)(v + FAST_SAFE16) > 2u * FAST_SAFE16;
}

/*
 * Bounds that keep the int32 sums below exact: |A| <= 2^14 per entry with at most 8 terms per
 * sum, each term's other factor within +-FAST_SAFE16 (checked before it is used), so every sum
 * stays within 8 * 2^14 * 2^14 + 2^17 < 2^31 (the unit test checks the row sums of |A|).
 */
int hw_jpeg_point_idct_portable(const struct hw_jpeg_idct_matrix *m, const JCOEF *coef,
                                const struct hw_jpeg_point_quant *pq, unsigned rmask,
                                unsigned cmask, uint8_t *tile)
{
    const int16_t *q = pq->q;
    int32_t acc[DCTSIZE][DCTSIZE];
    int rows[DCTSIZE], nr = 0;
    unsigned colnz = 0;

    for (unsigned r = rmask & 0xffu; r != 0; r &= r - 1) {
        int k = __builtin_ctz(r);

        rows[nr++] = k;
        memset(acc[k], 0, sizeof(acc[k]));
    }
    /* pass 1 at the needed rows, from the nonzero coefficients only */
    for (int w = 0; w < DCTSIZE2; w += 4) {
        uint64_t word;

        memcpy(&word, coef + w, sizeof(word));
        if (word == 0) {
            continue;
        }
        for (int i = w; i < w + 4; i++) {
            int32_t d;
            int u, v;

            if (coef[i] == 0) {
                continue;
            }
            d = (int32_t)coef[i] * q[i];
            if (fast_out_of_16(d)) {
                return 1;
            }
            u = i / DCTSIZE;
            v = i % DCTSIZE;
            colnz |= 1u << v;
            for (int j = 0; j < nr; j++) {
                acc[rows[j]][v] += m->a[rows[j]][u] * d;
            }
        }
    }
    for (int j = 0; j < nr; j++) {
        const int32_t *ak = acc[rows[j]];
        uint8_t *o = tile + rows[j] * DCTSIZE;
        int32_t ws[DCTSIZE];

        for (unsigned cv = colnz; cv != 0; cv &= cv - 1) {
            int v = __builtin_ctz(cv);

            ws[v] = (ak[v] + (1 << (FAST_PASS1_SHIFT - 1))) >> FAST_PASS1_SHIFT;
            if (fast_out_of_16(ws[v])) {
                return 1;
            }
        }
        /* pass 2 at the needed columns; columns without coefficients have ws = 0 */
        for (unsigned cc = cmask & 0xffu; cc != 0; cc &= cc - 1) {
            int c = __builtin_ctz(cc);
            int32_t sum = 1 << (FAST_PASS2_SHIFT - 1), px;

            for (unsigned cv = colnz; cv != 0; cv &= cv - 1) {
                int v = __builtin_ctz(cv);

                sum += m->a[c][v] * ws[v];
            }
            px = sum >> FAST_PASS2_SHIFT;
            /* C libjpeg wraps beyond [-512, 511] (RANGE_MASK), SIMD saturates */
            if (px < -512 || px > 511) {
                return 1;
            }
            px += CENTERJSAMPLE;
            o[c] = (JSAMPLE)(px < 0 ? 0 : px > MAXJSAMPLE ? MAXJSAMPLE : px);
        }
    }
    return 0;
}

#ifdef FAST_HAVE_SSE2
/*
 * SSE2: the dequantised coefficient rows interleaved in pairs, pass 1 of a needed row by
 * pmaddwd with (a[k][2p], a[k][2p+1]), the workspace row packed to 16 bits, pass 2 of a needed
 * column as one pmaddwd dot product. No data-dependent branches but the range checks: on
 * entropy-decoded blocks sparsity tests cost more in mispredictions than they save.
 */
int hw_jpeg_point_idct(const struct hw_jpeg_idct_matrix *m, const JCOEF *coef,
                       const struct hw_jpeg_point_quant *pq, unsigned rmask, unsigned cmask,
                       uint8_t *tile)
{
    const __m128i zero = _mm_setzero_si128();
    const __m128i r1 = _mm_set1_epi32(1 << (FAST_PASS1_SHIFT - 1));
    const __m128i safe = _mm_set1_epi16(FAST_SAFE16), nsafe = _mm_set1_epi16(-FAST_SAFE16);
    __m128i il[DCTSIZE / 2][2], bad = zero;

    /* dequantise (16-bit; the range check against lim makes the products exact) and
     * interleave the coefficient rows in pairs; branch-free: zero rows add exactly nothing */
    for (int p = 0; p < DCTSIZE / 2; p++) {
        __m128i d[2];

        for (int h = 0; h < 2; h++) {
            int u = 2 * p + h;
            __m128i cu = _mm_loadu_si128((const __m128i *)(const void *)(coef + u * DCTSIZE));
            __m128i lim = _mm_loadu_si128((const __m128i *)(const void *)(pq->lim + u * DCTSIZE));
            __m128i qq = _mm_loadu_si128((const __m128i *)(const void *)(pq->q + u * DCTSIZE));

            bad = _mm_or_si128(bad, _mm_cmpgt_epi16(cu, lim));
            bad = _mm_or_si128(bad, _mm_cmplt_epi16(cu, _mm_sub_epi16(zero, lim)));
            d[h] = _mm_mullo_epi16(cu, qq);
        }
        il[p][0] = _mm_unpacklo_epi16(d[0], d[1]);
        il[p][1] = _mm_unpackhi_epi16(d[0], d[1]);
    }
    if (_mm_movemask_epi8(bad) != 0) {
        return 1;
    }
    for (unsigned rr = rmask & 0xffu; rr != 0; rr &= rr - 1) {
        int k = __builtin_ctz(rr);
        const int32_t *pk = m->pair[k];
        __m128i a0 = r1, a1 = r1, ws, px16;
        uint8_t *o = tile + k * DCTSIZE;

        for (int p = 0; p < DCTSIZE / 2; p++) {
            __m128i mp = _mm_set1_epi32(pk[p]);

            a0 = _mm_add_epi32(a0, _mm_madd_epi16(il[p][0], mp));
            a1 = _mm_add_epi32(a1, _mm_madd_epi16(il[p][1], mp));
        }
        /* saturating pack: a value beyond 16 bits fails the range check */
        ws = _mm_packs_epi32(_mm_srai_epi32(a0, FAST_PASS1_SHIFT),
                             _mm_srai_epi32(a1, FAST_PASS1_SHIFT));
        bad = _mm_or_si128(_mm_cmpgt_epi16(ws, safe), _mm_cmplt_epi16(ws, nsafe));
        if (_mm_movemask_epi8(bad) != 0) {
            return 1;
        }
        for (unsigned cc = cmask & 0xffu; cc != 0; cc &= cc - 1) {
            int c = __builtin_ctz(cc);
            __m128i t =
                _mm_madd_epi16(ws, _mm_loadu_si128((const __m128i *)(const void *)m->a16[c]));
            int32_t px;

            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
            px = (_mm_cvtsi128_si32(t) + (1 << (FAST_PASS2_SHIFT - 1))) >> FAST_PASS2_SHIFT;
            if (px < -512 || px > 511) {
                return 1;
            }
            px16 = _mm_cvtsi32_si128(px + CENTERJSAMPLE);
            o[c] = (uint8_t)_mm_cvtsi128_si32(_mm_packus_epi16(px16, px16));
        }
    }
    return 0;
}
#else
int hw_jpeg_point_idct(const struct hw_jpeg_idct_matrix *m, const JCOEF *coef,
                       const struct hw_jpeg_point_quant *pq, unsigned rmask, unsigned cmask,
                       uint8_t *tile)
{
    return hw_jpeg_point_idct_portable(m, coef, pq, rmask, cmask, tile);
}
#endif

/* Point block row br's eight output rows at its stored rows (the rest at scratch). */
static void fast_block_row_ptrs(struct fast_comp *fc, uint32_t br, JSAMPROW *ptrs)
{
    for (uint32_t k = 0; k < DCTSIZE; k++) {
        uint32_t r = br * DCTSIZE + k;

        ptrs[k] =
            (fc->mask[br] >> k) & 1u ? fc->rows + (size_t)fc->slot[r] * fc->row_len : fc->scratch;
    }
}

/* libjpeg hands us each block it would inverse-transform. */
static void fast_idct_hook(j_decompress_ptr ci, jpeg_component_info *cp, JCOEFPTR coef,
                           JSAMPARRAY out, JDIMENSION out_col)
{
    struct fast_ctx *f = ci->client_data;
    struct fast_comp *fc;
    uint32_t br;
    ptrdiff_t row;

    if (cp->component_index < 0 || cp->component_index >= f->ncomp) {
        f->bad = 1;
        return;
    }
    fc = &f->comp[cp->component_index];
    /* block row k of the iMCU row is written from our row pointer 8k, block column j from
     * sample 8j */
    row = out - fc->raw;
    if (row < 0 || row >= FAST_MAX_RAW_ROWS || (row & (DCTSIZE - 1)) != 0 ||
        (out_col & (DCTSIZE - 1)) != 0) {
        f->bad = 1;
        return;
    }
    br = f->imcu * (uint32_t)cp->v_samp_factor + (uint32_t)row / DCTSIZE;
    if (br >= cp->height_in_blocks || out_col / DCTSIZE >= cp->width_in_blocks) {
        f->bad = 1;
        return;
    }
    if (fc->mask[br] == 0) {
        return; /* no sampled row reads this block row */
    }
    if (fc->ptr_br != (long)br) {
        fast_block_row_ptrs(fc, br, fc->ptrs);
        fc->ptr_br = (long)br;
    }
    fc->idct(ci, cp, coef, fc->ptrs, out_col);
}

/* Component sample row r, stored by the hook (every row the sampling reads was marked). */
static const uint8_t *fast_comp_row(struct fast_ctx *f, struct fast_comp *fc, uint32_t r)
{
    (void)f;
    return fc->rows + (size_t)fc->slot[r] * fc->row_len;
}

/* Component rows image row sy needs: *r (nearer) and, for the fancy filters, *r2 (next nearer,
 * the edge row itself at the top and bottom, as libjpeg's context rows repeat it). */
static void fast_rows_for(const struct fast_comp *fc, uint32_t sy, uint32_t *r, uint32_t *r2,
                          int *below)
{
    *below = 0;
    switch (fc->vmode) {
    case FAST_FULL:
        *r = *r2 = sy;
        break;
    case FAST_REPL:
        *r = *r2 = sy / fc->vexp;
        break;
    default:
        *r = sy / 2;
        *below = (int)(sy & 1);
        *r2 = *below ? (*r + 1 < fc->dh ? *r + 1 : *r) : (*r > 0 ? *r - 1 : 0);
        break;
    }
}

/* Per output column: which samples of a component row the horizontal filter reads. */
static void fast_col_tables(struct fast_comp *fc, const uint32_t *cols, uint32_t out_w)
{
    uint32_t last = fc->dw - 1;

    for (uint32_t i = 0; i < out_w; i++) {
        uint32_t x = cols[i], s = x, n = x;
        uint8_t bias = 0;

        switch (fc->vmode == FAST_FANCY ? FAST_FULL : fc->hmode) {
        case FAST_FULL:
            break;
        case FAST_REPL:
            s = n = x / fc->hexp;
            break;
        default: /* h2v1 and h2v2 triangles: odd outputs lean right, even ones left */
            s = x / 2;
            if (x & 1) {
                n = s < last ? s + 1 : last;
                bias = fc->hmode == FAST_FANCY2D ? 7 : 2;
            } else {
                n = s > 0 ? s - 1 : 0;
                bias = fc->hmode == FAST_FANCY2D ? 8 : 1;
            }
            break;
        }
        fc->col_s[i] = s;
        fc->col_n[i] = n;
        fc->col_bias[i] = bias;
    }
}

/* fc->vals[i] = the component, upsampled as libjpeg does, at image pixel (cols[i], sy). */
static void fast_comp_values(struct fast_ctx *f, struct fast_comp *fc, uint32_t sy, uint32_t out_w)
{
    const uint32_t *cs = fc->col_s, *cn = fc->col_n;
    const uint8_t *bias = fc->col_bias, *a, *b;
    uint8_t *v = fc->vals;
    uint32_t r, r2;
    int below;

    fast_rows_for(fc, sy, &r, &r2, &below);
    a = fast_comp_row(f, fc, r);
    b = r2 == r ? a : fast_comp_row(f, fc, r2);
    if (fc->vmode == FAST_FANCY2D) { /* column sums 3:1, then 3:1 across, >> 4 */
        for (uint32_t i = 0; i < out_w; i++) {
            int32_t t = 3 * a[cs[i]] + b[cs[i]], u = 3 * a[cn[i]] + b[cn[i]];

            v[i] = (uint8_t)((3 * t + u + bias[i]) >> 4);
        }
    } else if (fc->vmode == FAST_FANCY) { /* h1v2: vertical triangle only */
        int32_t vb = below ? 2 : 1;

        for (uint32_t i = 0; i < out_w; i++) {
            v[i] = (uint8_t)((3 * a[cs[i]] + b[cs[i]] + vb) >> 2);
        }
    } else if (fc->hmode == FAST_FANCY) { /* h2v1 */
        for (uint32_t i = 0; i < out_w; i++) {
            v[i] = (uint8_t)((3 * a[cs[i]] + a[cn[i]] + bias[i]) >> 2);
        }
    } else {
        for (uint32_t i = 0; i < out_w; i++) {
            v[i] = a[cs[i]];
        }
    }
}

/* Pick libjpeg-turbo's upsampling method for a component (its jinit_upsampler rules). */
static int fast_choose(j_decompress_ptr ci, struct fast_comp *fc)
{
    int h = fc->cp->h_samp_factor, v = fc->cp->v_samp_factor;
    int hm = ci->max_h_samp_factor, vm = ci->max_v_samp_factor;

    fc->hexp = fc->vexp = 1;
    if (h == hm && v == vm) {
        fc->hmode = fc->vmode = FAST_FULL;
    } else if (h * 2 == hm && v == vm) {
        fc->vmode = FAST_FULL;
        if (fc->dw > 2) {
            fc->hmode = FAST_FANCY;
        } else {
            fc->hmode = FAST_REPL;
            fc->hexp = 2;
        }
    } else if (h == hm && v * 2 == vm) {
        fc->hmode = FAST_FULL;
        fc->vmode = FAST_FANCY;
    } else if (h * 2 == hm && v * 2 == vm) {
        if (fc->dw > 2) {
            fc->hmode = fc->vmode = FAST_FANCY2D;
        } else {
            fc->hmode = fc->vmode = FAST_REPL;
            fc->hexp = fc->vexp = 2;
        }
    } else if (hm % h == 0 && vm % v == 0) {
        fc->hmode = fc->vmode = FAST_REPL;
        fc->hexp = (uint32_t)(hm / h);
        fc->vexp = (uint32_t)(vm / v);
    } else {
        return -1; /* libjpeg rejects fractional factors: let the full decode say so */
    }
    return 0;
}

static inline uint8_t fast_clamp(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v);
}

/* libjpeg's YCbCr->RGB: 16 fraction bits, round half up; constants round(c * 65536) for
 * c = 1.40200 (Cr->R), 0.34414 (Cb->G), 0.71414 (Cr->G), 1.77200 (Cb->B). */
static inline void fast_ycc(int y, int cb, int cr, int32_t *r, int32_t *g, int32_t *b)
{
    cb -= CENTERJSAMPLE;
    cr -= CENTERJSAMPLE;
    *r = y + ((91881 * cr + 32768) >> 16);
    *g = y + ((-22554 * cb - 46802 * cr + 32768) >> 16);
    *b = y + ((116130 * cb + 32768) >> 16);
}

static void fast_convert(struct fast_ctx *f, uint32_t out_w, uint8_t *dst)
{
    const uint8_t *c0 = f->comp[0].vals;
    const uint8_t *c1 = f->ncomp > 1 ? f->comp[1].vals : NULL;
    const uint8_t *c2 = f->ncomp > 2 ? f->comp[2].vals : NULL;
    const uint8_t *c3 = f->ncomp > 3 ? f->comp[3].vals : NULL;
    int32_t r, g, b;

    switch (f->ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        memcpy(dst, c0, out_w);
        break;
    case JCS_RGB:
        for (uint32_t i = 0; i < out_w; i++) {
            dst[3 * i] = c0[i];
            dst[3 * i + 1] = c1[i];
            dst[3 * i + 2] = c2[i];
        }
        break;
    case JCS_YCbCr:
        for (uint32_t i = 0; i < out_w; i++) {
            fast_ycc(c0[i], c1[i], c2[i], &r, &g, &b);
            dst[3 * i] = fast_clamp(r);
            dst[3 * i + 1] = fast_clamp(g);
            dst[3 * i + 2] = fast_clamp(b);
        }
        break;
    case JCS_CMYK:
        for (uint32_t i = 0; i < out_w; i++) {
            uint8_t px[4] = {c0[i], c1[i], c2[i], c3[i]};

            hw_jpeg_cmyk_to_rgb(px, 1, dst + 3 * i);
        }
        break;
    default: /* JCS_YCCK: libjpeg makes CMYK as 255 - (YCbCr->RGB), K passed through */
        for (uint32_t i = 0; i < out_w; i++) {
            uint8_t px[4];

            fast_ycc(c0[i], c1[i], c2[i], &r, &g, &b);
            px[0] = (uint8_t)(MAXJSAMPLE - fast_clamp(r));
            px[1] = (uint8_t)(MAXJSAMPLE - fast_clamp(g));
            px[2] = (uint8_t)(MAXJSAMPLE - fast_clamp(b));
            px[3] = c3[i];
            hw_jpeg_cmyk_to_rgb(px, 1, dst + 3 * i);
        }
        break;
    }
}

static uint32_t fast_div_up(uint64_t a, uint64_t b)
{
    return (uint32_t)((a + b - 1) / b);
}

/* Zero a block the decoder wrote (aligned; a fixed-size memset here became rep stos). */
static inline void fast_zero_block(JCOEF *b)
{
#ifdef FAST_HAVE_SSE2
    const __m128i z = _mm_setzero_si128();

    for (int i = 0; i < DCTSIZE2; i += 8) {
        _mm_store_si128((__m128i *)(void *)(b + i), z);
    }
#else
    memset(b, 0, DCTSIZE2 * sizeof(JCOEF));
#endif
}

/*
 * A block with only its DC coefficient: islow's output is one value everywhere, (dq + 4) >> 3
 * for dq = dc * q (its two passes on the exact matrix: 4 dq, then (4 dq + 16) >> 5), offset
 * by 128 and clamped. libjpeg's C and SIMD versions agree while dq stays within +-4088 (no
 * 16-bit overflow, the output within [-511, 511] before the clamp); outside that, 1 and the
 * caller runs libjpeg's method. Writes the needed rows of the block at column col.
 */
static inline int fast_dc_block(int32_t q0, JCOEF dc, unsigned rmask, JSAMPROW *rows,
                                JDIMENSION col)
{
    int32_t dq = (int32_t)dc * q0, v;
    uint8_t px;

    if (dq < -4088 || dq > 4088) {
        return 1;
    }
    v = ((dq + 4) >> 3) + CENTERJSAMPLE;
    px = (uint8_t)(v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v);
    for (unsigned m = rmask; m != 0; m &= m - 1) {
        memset(rows[__builtin_ctz(m)] + col, px, DCTSIZE);
    }
    return 0;
}

/*
 * The scan through our entropy decoder: every MCU decoded, the blocks of needed block rows
 * inverse-transformed by libjpeg's method, in the order and with the arguments libjpeg's
 * decompress_onepass uses (blocks outside the component, an MCU's right and bottom padding,
 * are decoded and dropped as there). 0, or 1 to decline.
 */
static int fast_own_scan(struct fast_ctx *f)
{
    j_decompress_ptr ci = f->ci;
    JCOEF blk[HW_SCAN_MAX_BLOCKS][DCTSIZE2] __attribute__((aligned(32)));
    JSAMPROW ptrs[MAX_COMPS_IN_SCAN][MAX_SAMP_FACTOR][DCTSIZE];
    uint8_t need[MAX_COMPS_IN_SCAN][MAX_SAMP_FACTOR];

    memset(blk, 0, sizeof(blk));
    for (JDIMENSION my = 0; my < ci->MCU_rows_in_scan; my++) {
        /* this MCU row's block rows: needed or not, and where they go */
        for (int c = 0; c < ci->comps_in_scan; c++) {
            const jpeg_component_info *cp = ci->cur_comp_info[c];
            struct fast_comp *fc = &f->comp[cp->component_index];

            for (int yi = 0; yi < cp->MCU_height; yi++) {
                uint32_t br = (uint32_t)my * (uint32_t)cp->MCU_height + (uint32_t)yi;

                need[c][yi] = br < cp->height_in_blocks ? fc->mask[br] : 0;
                if (need[c][yi] != 0) {
                    fast_block_row_ptrs(fc, br, ptrs[c][yi]);
                }
            }
        }
        for (JDIMENSION mx = 0; mx < ci->MCUs_per_row; mx++) {
            unsigned ac;
            int b = 0;

            if (hw_jpeg_scan_mcu(f->scan, blk, &ac) != 0) {
                return 1;
            }
            for (int c = 0; c < ci->comps_in_scan; c++) {
                jpeg_component_info *cp = ci->cur_comp_info[c];
                struct fast_comp *fc = &f->comp[cp->component_index];
                JDIMENSION bc0 = mx * (JDIMENSION)cp->MCU_width;

                for (int yi = 0; yi < cp->MCU_height; yi++) {
                    for (int xi = 0; xi < cp->MCU_width; xi++, b++) {
                        JDIMENSION col = (bc0 + (JDIMENSION)xi) * DCTSIZE;

                        if (need[c][yi] != 0 && bc0 + (JDIMENSION)xi < cp->width_in_blocks &&
                            ((ac >> b) & 1u || fast_dc_block(fc->q0, blk[b][0], need[c][yi],
                                                             ptrs[c][yi], col) != 0)) {
                            fc->idct(ci, cp, blk[b], ptrs[c][yi], col);
                        }
                        fast_zero_block(blk[b]);
                    }
                }
            }
        }
    }
    return hw_jpeg_scan_finish(f->scan);
}

int hw_jpeg_fast_decode(hw_decoder *d, j_decompress_ptr ci, uint32_t out_w, uint32_t out_h,
                        unsigned flags, struct hw_pixels *px)
{
    struct fast_ctx f;
    struct fast_idct_mirror *idct;
    size_t ch, stride, need, work = 0, off = 0, nrows[4] = {0};
    const uint32_t *cols = d->idx, *rows = d->idx + HW_PDQ_SAMPLE_DIM;
    long prev = -1;
    size_t scan_off = 0, scan_len = 0;
    int rc, own_scan;

    memset(&f, 0, sizeof(f));
    f.ci = ci;
    f.ncomp = ci->num_components;
    if (!FAST_HOOK_OK || ci->data_precision != 8 || f.ncomp < 1 || f.ncomp > 4 ||
        out_w > HW_PDQ_SAMPLE_DIM || out_h > HW_PDQ_SAMPLE_DIM) {
        return HW_JPEG_FAST_DECLINED;
    }
    ch = ci->jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
    hw_sample_index(ci->image_width, out_w, d->idx);
    hw_sample_index(ci->image_height, out_h, d->idx + HW_PDQ_SAMPLE_DIM);

    /* Geometry and filters as the full decode sees them, decided from the header. */
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];

        fc->cp = &ci->comp_info[c];
        fc->dw = fast_div_up((uint64_t)ci->image_width * (uint32_t)fc->cp->h_samp_factor,
                             (uint32_t)ci->max_h_samp_factor);
        fc->dh = fast_div_up((uint64_t)ci->image_height * (uint32_t)fc->cp->v_samp_factor,
                             (uint32_t)ci->max_v_samp_factor);
        fc->row_len = (size_t)fc->cp->width_in_blocks * DCTSIZE;
        if (fc->dw == 0 || fc->dh == 0 || fc->dw > fc->row_len ||
            fc->dh > fc->cp->height_in_blocks * DCTSIZE || fast_choose(ci, fc) != 0) {
            return HW_JPEG_FAST_DECLINED;
        }
    }
    /* Which sample rows the sampled image rows read: sizes the stored rows. */
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];
        size_t nsamp = (size_t)fc->cp->height_in_blocks * DCTSIZE;

        work += fc->cp->height_in_blocks + nsamp * sizeof(uint32_t) +
                HW_PDQ_SAMPLE_DIM * (2 + 2 * sizeof(uint32_t)) +
                FAST_MAX_RAW_ROWS * sizeof(JSAMPROW) + 64;
    }
    /* Our entropy decoder where it may apply (it checks the rest itself): its state and the
     * unstuffed copy of a restart interval. */
    own_scan = !ci->progressive_mode && !ci->arith_code &&
               ci->comps_in_scan == ci->num_components && ci->src != NULL;
    if (own_scan) {
        scan_len = hw_jpeg_scan_work(ci->src->bytes_in_buffer);
        scan_off = (work + 63) & ~(size_t)63;
        /* the copy is an optimisation: beyond the memory limit, libjpeg's decoder runs */
        own_scan = hw_buf_reserve(&d->work, &d->work_cap,
                                  scan_off + sizeof(struct hw_jpeg_scan) + scan_len,
                                  d->lim.max_decoder_mem) == HW_OK;
    }
    if (!own_scan && (flags & HW_JPEG_OWN_SCAN_ONLY)) {
        return HW_JPEG_FAST_DECLINED;
    }
    rc = hw_buf_reserve(&d->work, &d->work_cap, work, d->lim.max_decoder_mem);
    if (rc != HW_OK) {
        return rc;
    }
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];
        size_t nsamp = (size_t)fc->cp->height_in_blocks * DCTSIZE;

        off = (off + 15) & ~(size_t)15;
        fc->slot = (uint32_t *)(void *)(d->work + off);
        off += nsamp * sizeof(uint32_t);
        fc->raw = (JSAMPARRAY)(void *)(d->work + off);
        off += FAST_MAX_RAW_ROWS * sizeof(JSAMPROW);
        fc->mask = d->work + off;
        off += fc->cp->height_in_blocks;
        fc->vals = d->work + off;
        off += HW_PDQ_SAMPLE_DIM;
        off = (off + 15) & ~(size_t)15;
        fc->col_s = (uint32_t *)(void *)(d->work + off);
        off += HW_PDQ_SAMPLE_DIM * sizeof(uint32_t);
        fc->col_n = (uint32_t *)(void *)(d->work + off);
        off += HW_PDQ_SAMPLE_DIM * sizeof(uint32_t);
        fc->col_bias = d->work + off;
        off += HW_PDQ_SAMPLE_DIM;
        fast_col_tables(fc, cols, out_w);
        memset(fc->mask, 0, fc->cp->height_in_blocks);
        for (uint32_t y = 0; y < out_h; y++) {
            uint32_t r, r2;
            int below;

            fast_rows_for(fc, rows[y], &r, &r2, &below);
            fc->mask[r / DCTSIZE] |= (uint8_t)(1u << (r % DCTSIZE));
            fc->mask[r2 / DCTSIZE] |= (uint8_t)(1u << (r2 % DCTSIZE));
        }
        for (size_t r = 0; r < nsamp; r++) {
            fc->slot[r] = (uint32_t)nrows[c];
            nrows[c] += (fc->mask[r / DCTSIZE] >> (r % DCTSIZE)) & 1u;
        }
    }
    /* d->out holds the output pixels, then each component's stored rows and scratch row. */
    stride = out_w * ch;
    need = stride * out_h;
    for (int c = 0; c < f.ncomp; c++) {
        need += (nrows[c] + 1) * f.comp[c].row_len;
    }
    rc = hw_buf_reserve(&d->out, &d->out_cap, need, d->lim.max_decoder_mem);
    if (rc != HW_OK) {
        return rc;
    }
    off = stride * out_h;
    for (int c = 0; c < f.ncomp; c++) {
        f.comp[c].rows = d->out + off;
        off += nrows[c] * f.comp[c].row_len;
        f.comp[c].scratch = d->out + off;
        off += f.comp[c].row_len;
        f.comp[c].ptr_br = -1;
    }

    /* libjpeg: raw (downsampled, unconverted) output at full scale, the default islow IDCT,
     * which we then call only for the blocks that matter. */
    ci->raw_data_out = TRUE;
    ci->client_data = &f;
    jpeg_start_decompress(ci);
    idct = (struct fast_idct_mirror *)(void *)ci->idct;
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];

        if (fc->cp->DCT_scaled_size != DCTSIZE || fc->cp->component_index != c ||
            fc->cp->v_samp_factor * DCTSIZE > FAST_MAX_RAW_ROWS || idct->inverse_DCT[c] == NULL) {
            return HW_JPEG_FAST_DECLINED;
        }
        /* libjpeg writes no sample through these (our method replaces its own); any row */
        for (int k = 0; k < FAST_MAX_RAW_ROWS; k++) {
            fc->raw[k] = fc->scratch;
        }
        fc->idct = idct->inverse_DCT[c];
        idct->inverse_DCT[c] = fast_idct_hook;
    }
    for (int c = 0; c < f.ncomp && own_scan; c++) {
        own_scan = f.comp[c].cp->quant_table != NULL;
        f.comp[c].q0 = own_scan ? f.comp[c].cp->quant_table->quantval[0] : 0;
    }
    if (own_scan) {
        f.scan = (struct hw_jpeg_scan *)(void *)(d->work + scan_off);
        if (hw_jpeg_scan_start(f.scan, ci, d->work + scan_off + sizeof(struct hw_jpeg_scan),
                               scan_len) != 0) {
            f.scan = NULL;
        }
    }
    /* Our decoder leaves libjpeg's source and entropy state at the scan start: when it
     * declines, libjpeg's own decoder runs the scan from there (and meets what ours refused,
     * with libjpeg's warnings and errors). When it succeeds, the object is destroyed unread. */
    if (f.scan != NULL && fast_own_scan(&f) != 0) {
        f.scan = NULL;
    }
    if (f.scan == NULL && (flags & HW_JPEG_OWN_SCAN_ONLY)) {
        return HW_JPEG_FAST_DECLINED;
    }
    while (f.scan == NULL && ci->output_scanline < ci->output_height) {
        JSAMPARRAY planes[4];

        for (int c = 0; c < f.ncomp; c++) {
            planes[c] = f.comp[c].raw;
        }
        f.imcu = ci->output_iMCU_row;
        if (jpeg_read_raw_data(
                ci, planes, (JDIMENSION)(ci->max_v_samp_factor * ci->min_DCT_scaled_size)) == 0) {
            return HW_JPEG_FAST_DECLINED;
        }
    }
    if (f.scan == NULL) {
        jpeg_finish_decompress(ci);
    }
    if (f.bad) {
        return HW_JPEG_FAST_DECLINED;
    }

    for (uint32_t y = 0; y < out_h; y++) {
        uint8_t *dst = d->out + (size_t)y * stride;

        if ((long)rows[y] == prev) {
            memcpy(dst, dst - stride, stride);
            continue;
        }
        for (int c = 0; c < f.ncomp; c++) {
            fast_comp_values(&f, &f.comp[c], rows[y], out_w);
        }
        fast_convert(&f, out_w, dst);
        prev = (long)rows[y];
    }
    px->width = out_w;
    px->height = out_h;
    px->channels = (unsigned)ch;
    px->stride = stride;
    px->data = d->out;
    return HW_OK;
}
