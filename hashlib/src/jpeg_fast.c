/* jpeg_fast.c: the sampled JPEG fast path: DCT coefficients -> only the pixels PDQ keeps. */
#include <string.h>

#include "jpeg_fast.h"

/*
 * Why this is exact. libjpeg-turbo's default decode of an 8-bit JPEG is, per pixel, a fixed
 * chain of integer operations: dequantise (16-bit multipliers), the "islow" IDCT (Loeffler,
 * Ligtenberg and Moschytz's 1-D butterfly applied to columns then rows, with 13-bit constants,
 * a rounding shift by 11 after the column pass and by 18 after the row pass, then a range
 * limit around the centre sample 128), the chroma upsampling filter chosen per component, and
 * the fixed-point YCbCr->RGB conversion (16 fraction bits, round half up). Every step of the
 * butterfly between the two rounding shifts is integer addition and multiplication, hence
 * linear: each pass equals a product with an 8x8 integer matrix derived (below) by feeding unit
 * vectors through our own butterfly. So one output row of a block needs the column pass only
 * for that row, and the rest of the image need not be computed at all.
 *
 * Where the C IDCT and the SIMD one the library may run differ (dequantised coefficients or
 * intermediate values overflowing 16 bits, results beyond +-512 that the C code wraps and the
 * SIMD code saturates) and where the library would do something else altogether (progressive
 * block smoothing of incompletely refined coefficients, sampling factors it rejects) we decline
 * and the caller decodes in full. That never happens for ordinary camera or editor output.
 */

#define FAST_CONST_BITS  13    /* libjpeg islow: 13 fraction bits in the butterfly constants */
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

struct fast_comp {
    jpeg_component_info *cp;
    int32_t q[DCTSIZE2]; /* dequantisation multipliers as libjpeg stores them (short) */
    int16_t q16[DCTSIZE2];
    enum fast_mode hmode, vmode;
    uint32_t hexp, vexp; /* replication factors */
    uint32_t dw, dh;     /* component sample width and height (unscaled) */
    size_t row_len;      /* width_in_blocks * 8 */
    uint8_t *mask;       /* per block row: bit k set when its sample row k is needed */
    uint32_t *slot;      /* per sample row: index of its stored copy (needed rows only) */
    uint8_t *rows;       /* the needed sample rows, row_len bytes each */
    JSAMPARRAY raw;      /* row pointers handed to jpeg_read_raw_data (never read) */
    int scaled;          /* libjpeg's scaled IDCT size for it (2, or 4 or 8 for chroma) */
    unsigned scaled_log2;
    uint32_t *col_s;   /* per output column: the nearer sample, */
    uint32_t *col_n;   /* the next nearer one (fancy filters), */
    uint8_t *col_bias; /* and the filter's rounding bias */
    uint8_t *vals;     /* the component's upsampled value at each output column */
};

struct fast_ctx {
    j_decompress_ptr ci;
    int32_t m[DCTSIZE][DCTSIZE]; /* m[o][i]: butterfly output o from input i */
#ifdef FAST_HAVE_SSE2
    __m128i m1[DCTSIZE][4]; /* column pass, row k: (m[k][2p], m[k][2p+1]) in every lane pair */
    __m128i m2[4][2];       /* row pass: (m[o][2p], m[o][2p+1]) for o = 0..3 and 4..7 */
#endif
    struct fast_comp comp[4];
    int ncomp;
    uint32_t imcu; /* the iMCU row jpeg_read_raw_data is producing */
    int scalar;    /* use the portable kernel (tests compare both) */
    int bad;       /* set when a value leaves the range where C and SIMD libjpeg agree */
};

/*
 * libjpeg's IDCT dispatch (jpegint.h struct jpeg_inverse_dct, unchanged since libjpeg 6b and
 * through libjpeg-turbo 2.x): one method per component, reset by its start_pass at the start
 * of each output pass. We replace the methods after jpeg_start_decompress so that every block
 * libjpeg would transform (after its own entropy decoding and, for progressive files, block
 * smoothing) reaches fast_idct_hook instead.
 */
typedef void (*fast_idct_fn)(j_decompress_ptr ci, jpeg_component_info *cp, JCOEFPTR coef,
                             JSAMPARRAY out, JDIMENSION out_col);
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

/* Scale we ask libjpeg for: 1/4 makes its IDCT size 2 (4 or 8 for subsampled chroma, which it
 * scales up instead of upsampling), so every AC coefficient is still decoded and stored (at
 * size 1 it would drop them) while its own buffers hold 1/16 of the pixels. */
#define FAST_SCALE_DENOM  4
#define FAST_MAX_RAW_ROWS (MAX_SAMP_FACTOR * DCTSIZE)

/*
 * The 1-D islow butterfly on exact integers, without its final rounding shift: even part from
 * inputs 0, 2, 4, 6 and odd part from 1, 3, 5, 7 with the 13-bit constants of the LL&M
 * flowgraph (round(c * 8192) for c = 0.298631336, 0.390180644, 0.541196100, 0.765366865,
 * 0.899976223, 1.175875602, 1.501321110, 1.847759065, 1.961570560, 2.053119869, 2.562915447,
 * 3.072711026).
 */
static void fast_butterfly(const int64_t in[8], int64_t out[8])
{
    int64_t e0, e1, e2, e3, t10, t11, t12, t13;
    int64_t o0, o1, o2, o3, s1, s2, s3, s4, s5;

    s1 = (in[2] + in[6]) * 4433;
    e2 = s1 - in[6] * 15137;
    e3 = s1 + in[2] * 6270;
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
    s1 = o0 + o3;
    s2 = o1 + o2;
    s3 = o0 + o2;
    s4 = o1 + o3;
    s5 = (s3 + s4) * 9633;
    o0 *= 2446;
    o1 *= 16819;
    o2 *= 25172;
    o3 *= 12299;
    s1 *= -7373;
    s2 *= -20995;
    s3 = s3 * -16069 + s5;
    s4 = s4 * -3196 + s5;
    o0 += s1 + s3;
    o1 += s2 + s4;
    o2 += s2 + s3;
    o3 += s1 + s4;

    out[0] = t10 + o3;
    out[7] = t10 - o3;
    out[1] = t11 + o2;
    out[6] = t11 - o2;
    out[2] = t12 + o1;
    out[5] = t12 - o1;
    out[3] = t13 + o0;
    out[4] = t13 - o0;
}

static void fast_matrix(struct fast_ctx *f)
{
    for (int i = 0; i < DCTSIZE; i++) {
        int64_t in[8] = {0}, out[8];

        in[i] = 1;
        fast_butterfly(in, out);
        for (int o = 0; o < DCTSIZE; o++) {
            f->m[o][i] = (int32_t)out[o]; /* all within +-16384 (13-bit constants) */
        }
    }
#ifdef FAST_HAVE_SSE2
    for (int p = 0; p < 4; p++) {
        for (int k = 0; k < DCTSIZE; k++) {
            f->m1[k][p] = _mm_set1_epi32((int32_t)(((uint32_t)(uint16_t)f->m[k][2 * p + 1] << 16) |
                                                   (uint16_t)f->m[k][2 * p]));
        }
        for (int h = 0; h < 2; h++) {
            int16_t v[8];

            for (int o = 0; o < 4; o++) {
                v[2 * o] = (int16_t)f->m[4 * h + o][2 * p];
                v[2 * o + 1] = (int16_t)f->m[4 * h + o][2 * p + 1];
            }
            f->m2[p][h] = _mm_loadu_si128((const __m128i *)v);
        }
    }
#endif
}

/*
 * Rows `mask` (bit k = row k) of one block's IDCT, the needed rows one after the other from out
 * (stride apart, in row order), scalar.
 * Returns nonzero when a value leaves the range where libjpeg's C and SIMD IDCTs agree.
 */
static unsigned fast_block_scalar(const struct fast_ctx *f, const JCOEF *coef, const int32_t *q,
                                  unsigned mask, uint8_t *out, size_t stride)
{
    int32_t deq[DCTSIZE2];
    unsigned bad = 0;

    for (int i = 0; i < DCTSIZE2; i++) {
        deq[i] = (int32_t)coef[i] * q[i];
        bad |= (uint32_t)(deq[i] + FAST_SAFE16) > 2u * FAST_SAFE16;
    }
    if (bad) {
        return 1;
    }
    for (int k = 0; k < DCTSIZE; k++) {
        int32_t ws[DCTSIZE], acc[DCTSIZE];

        if (!(mask & (1u << k))) {
            continue;
        }
        /* column pass for output row k only: ws[c] = sum_u m[k][u] * deq[u][c] */
        for (int c = 0; c < DCTSIZE; c++) {
            int32_t a = 1 << (FAST_PASS1_SHIFT - 1);

            for (int u = 0; u < DCTSIZE; u++) {
                a += f->m[k][u] * deq[u * DCTSIZE + c];
            }
            ws[c] = a >> FAST_PASS1_SHIFT;
            bad |= (uint32_t)(ws[c] + FAST_SAFE16) > 2u * FAST_SAFE16;
        }
        if (bad) {
            return 1;
        }
        /* row pass: out[o] = sum_c m[o][c] * ws[c] */
        for (int o = 0; o < DCTSIZE; o++) {
            acc[o] = 1 << (FAST_PASS2_SHIFT - 1);
            for (int c = 0; c < DCTSIZE; c++) {
                acc[o] += f->m[o][c] * ws[c];
            }
        }
        for (int o = 0; o < DCTSIZE; o++) {
            int32_t v = acc[o] >> FAST_PASS2_SHIFT;

            /* C libjpeg wraps values beyond +-512 (RANGE_MASK), SIMD saturates: only inside
             * [-512, 511] do both give clamp(v + 128, 0, 255). */
            bad |= (uint32_t)(v + 512) > 1023u;
            v += CENTERJSAMPLE;
            out[o] = (uint8_t)(v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v);
        }
        out += stride;
    }
    return bad;
}

#ifdef FAST_HAVE_SSE2
/*
 * The same with SSE2: 16-bit dequantisation (the range check guarantees no product or pair sum
 * overflows), pmaddwd for both passes (pairs of coefficients times pairs of matrix entries),
 * and the final clamp by saturating packs, which equals the C range limit inside [-512, 511].
 */
static unsigned fast_block_sse2(const struct fast_ctx *f, const JCOEF *coef, const int16_t *q16,
                                unsigned mask, uint8_t *out, size_t stride)
{
    __m128i c[DCTSIZE], d[DCTSIZE], il[4][2], bad = _mm_setzero_si128();
    __m128i wmax = _mm_set1_epi16(-32768), wmin = _mm_set1_epi16(32767), omax = wmax, omin = wmin;
    const __m128i lim16 = _mm_set1_epi16(FAST_SAFE16), nlim16 = _mm_set1_epi16(-FAST_SAFE16);
    const __m128i zero = _mm_setzero_si128();
    const __m128i r1 = _mm_set1_epi32(1 << (FAST_PASS1_SHIFT - 1));
    const __m128i r2 = _mm_set1_epi32(1 << (FAST_PASS2_SHIFT - 1));
    const __m128i center = _mm_set1_epi16(CENTERJSAMPLE);
    __m128i rp[4], all, ac;
    uint64_t lo64, hi64;
    int npr, npc;

    for (int u = 0; u < DCTSIZE; u++) {
        c[u] = _mm_loadu_si128((const __m128i *)(coef + u * DCTSIZE));
    }
    /* Sparsity: pairs of coefficient rows (pass 1 terms) and of columns (pass 2 terms) that
     * are all zero contribute exactly nothing, so they are left out. */
    for (int p = 0; p < 4; p++) {
        rp[p] = _mm_or_si128(c[2 * p], c[2 * p + 1]);
    }
    all = _mm_or_si128(_mm_or_si128(rp[0], rp[1]), _mm_or_si128(rp[2], rp[3]));
    ac = _mm_or_si128(_mm_or_si128(_mm_srli_si128(c[0], 2), c[1]),
                      _mm_or_si128(_mm_or_si128(rp[1], rp[2]), rp[3]));
    npr = 1;
    for (int p = 3; p > 0; p--) {
        if (_mm_movemask_epi8(_mm_cmpeq_epi16(rp[p], zero)) != 0xffff) {
            npr = p + 1;
            break;
        }
    }
    lo64 = (uint64_t)_mm_cvtsi128_si64(all);
    hi64 = (uint64_t)_mm_cvtsi128_si64(_mm_srli_si128(all, 8));
    npc = hi64 != 0 ? ((hi64 >> 32) != 0 ? 4 : 3) : ((lo64 >> 32) != 0 ? 2 : 1);

    /* Dequantise the rows in use; the exact product fits 16 bits iff the high half is the sign
     * of the low half, and then |product| <= FAST_SAFE16 keeps every 16-bit pair sum exact. */
    for (int u = 0; u < 2 * npr; u++) {
        __m128i qq = _mm_loadu_si128((const __m128i *)(q16 + u * DCTSIZE));
        __m128i lo = _mm_mullo_epi16(c[u], qq), hi = _mm_mulhi_epi16(c[u], qq);

        bad = _mm_or_si128(bad, _mm_xor_si128(hi, _mm_srai_epi16(lo, 15)));
        bad = _mm_or_si128(bad, _mm_cmpgt_epi16(lo, lim16));
        bad = _mm_or_si128(bad, _mm_cmplt_epi16(lo, nlim16));
        d[u] = lo;
    }
    if (_mm_movemask_epi8(bad) != 0) {
        return 1;
    }
    if (_mm_movemask_epi8(_mm_cmpeq_epi16(ac, zero)) == 0xffff) {
        /* DC only: ws = 4 * dc everywhere in column 0 and zero elsewhere, so every pixel is
         * (4 * dc * 8192 + 2^17) >> 18 after the row pass (the same rounding) */
        int32_t dc = (int32_t)(int16_t)_mm_cvtsi128_si32(d[0]);
        int32_t v =
            (dc * 4 * (1 << FAST_CONST_BITS) + (1 << (FAST_PASS2_SHIFT - 1))) >> FAST_PASS2_SHIFT;
        uint8_t px;

        if (v < -512 || v > 511) {
            return 1;
        }
        v += CENTERJSAMPLE;
        px = (uint8_t)(v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v);
        for (int k = 0; k < DCTSIZE; k++) {
            if (mask & (1u << k)) {
                memset(out, px, DCTSIZE);
                out += stride;
            }
        }
        return 0;
    }
    for (int p = 0; p < npr; p++) {
        il[p][0] = _mm_unpacklo_epi16(d[2 * p], d[2 * p + 1]);
        il[p][1] = _mm_unpackhi_epi16(d[2 * p], d[2 * p + 1]);
    }
    for (int k = 0; k < DCTSIZE; k++) {
        __m128i a0 = r1, a1 = r1, ws, o0 = r2, o1 = r2, o16, px;

        if (!(mask & (1u << k))) {
            continue;
        }
        /* column pass for row k: columns 0-3 in a0, 4-7 in a1 (zero columns stay zero) */
        for (int p = 0; p < npr; p++) {
            a0 = _mm_add_epi32(a0, _mm_madd_epi16(il[p][0], f->m1[k][p]));
        }
        if (npc > 2) {
            for (int p = 0; p < npr; p++) {
                a1 = _mm_add_epi32(a1, _mm_madd_epi16(il[p][1], f->m1[k][p]));
            }
        }
        /* saturating pack: any value beyond 16 bits shows up beyond FAST_SAFE16 below */
        ws = _mm_packs_epi32(_mm_srai_epi32(a0, FAST_PASS1_SHIFT),
                             _mm_srai_epi32(a1, FAST_PASS1_SHIFT));
        wmax = _mm_max_epi16(wmax, ws);
        wmin = _mm_min_epi16(wmin, ws);
        o0 = _mm_add_epi32(o0, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0x00), f->m2[0][0]));
        o1 = _mm_add_epi32(o1, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0x00), f->m2[0][1]));
        if (npc > 1) {
            o0 = _mm_add_epi32(o0, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0x55), f->m2[1][0]));
            o1 = _mm_add_epi32(o1, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0x55), f->m2[1][1]));
        }
        if (npc > 2) {
            o0 = _mm_add_epi32(o0, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0xaa), f->m2[2][0]));
            o1 = _mm_add_epi32(o1, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0xaa), f->m2[2][1]));
        }
        if (npc > 3) {
            o0 = _mm_add_epi32(o0, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0xff), f->m2[3][0]));
            o1 = _mm_add_epi32(o1, _mm_madd_epi16(_mm_shuffle_epi32(ws, 0xff), f->m2[3][1]));
        }
        o16 = _mm_packs_epi32(_mm_srai_epi32(o0, FAST_PASS2_SHIFT),
                              _mm_srai_epi32(o1, FAST_PASS2_SHIFT));
        omax = _mm_max_epi16(omax, o16);
        omin = _mm_min_epi16(omin, o16);
        px = _mm_add_epi16(o16, center);
        px = _mm_packus_epi16(px, px);
        _mm_storel_epi64((__m128i *)out, px);
        out += stride;
    }
    /* C libjpeg wraps results beyond +-512 (RANGE_MASK) where SIMD saturates; workspace values
     * beyond FAST_SAFE16 could wrap in SIMD pair sums. Either way: not exact, decline. */
    bad = _mm_or_si128(_mm_cmpgt_epi16(wmax, lim16), _mm_cmplt_epi16(wmin, nlim16));
    bad = _mm_or_si128(bad, _mm_cmpgt_epi16(omax, _mm_set1_epi16(511)));
    bad = _mm_or_si128(bad, _mm_cmplt_epi16(omin, _mm_set1_epi16(-512)));
    return _mm_movemask_epi8(bad) != 0;
}
#endif

/* libjpeg hands us each block it would inverse-transform. */
static void fast_idct_hook(j_decompress_ptr ci, jpeg_component_info *cp, JCOEFPTR coef,
                           JSAMPARRAY out, JDIMENSION out_col)
{
    struct fast_ctx *f = ci->client_data;
    struct fast_comp *fc;
    uint32_t br, bc;
    ptrdiff_t row;
    unsigned mask;

    if (cp->component_index < 0 || cp->component_index >= f->ncomp) {
        f->bad = 1;
        return;
    }
    fc = &f->comp[cp->component_index];
    /* block row k of the iMCU row is written from our row pointer k * S, block column j from
     * sample j * S, S = the component's scaled IDCT size */
    row = out - fc->raw;
    if (row < 0 || ((size_t)row & (size_t)(fc->scaled - 1)) != 0 ||
        (out_col & (uint32_t)(fc->scaled - 1)) != 0) {
        f->bad = 1;
        return;
    }
    br = f->imcu * (uint32_t)cp->v_samp_factor + (uint32_t)((size_t)row >> fc->scaled_log2);
    bc = out_col >> fc->scaled_log2;
    if (br >= cp->height_in_blocks || bc >= cp->width_in_blocks) {
        f->bad = 1;
        return;
    }
    mask = fc->mask[br];
    if (mask == 0) {
        return;
    }
    {
        /* the needed rows of this block row are stored consecutively, in row order */
        uint32_t first = fc->slot[br * DCTSIZE + (uint32_t)__builtin_ctz(mask)];
        uint8_t *dst = fc->rows + (size_t)first * fc->row_len + (size_t)bc * DCTSIZE;
        unsigned bad;

        /* rows outside the mask are not written; pack needed rows: row k of the block goes
         * to stored row slot[br*8+k], i.e. dst + (slot - first) * row_len */
#ifdef FAST_HAVE_SSE2
        if (!f->scalar) {
            bad = fast_block_sse2(f, coef, fc->q16, mask, dst, fc->row_len);
        } else
#endif
        {
            bad = fast_block_scalar(f, coef, fc->q, mask, dst, fc->row_len);
        }
        if (bad) {
            f->bad = 1;
        }
    }
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

int hw_jpeg_fast_decode(hw_decoder *d, j_decompress_ptr ci, uint32_t out_w, uint32_t out_h,
                        unsigned flags, struct hw_pixels *px)
{
    struct fast_ctx f;
    struct fast_idct_mirror *idct;
    size_t ch, stride, need, work = 0, off = 0, nrows[4] = {0};
    const uint32_t *cols = d->idx, *rows = d->idx + HW_PDQ_SAMPLE_DIM;
    long prev = -1;
    int rc;

    memset(&f, 0, sizeof(f));
    f.ci = ci;
    f.ncomp = ci->num_components;
    f.scalar = (flags & HW_JPEG_FAST_SCALAR) != 0;
    if (!FAST_HOOK_OK || ci->data_precision != 8 || f.ncomp < 1 || f.ncomp > 4 ||
        out_w > HW_PDQ_SAMPLE_DIM || out_h > HW_PDQ_SAMPLE_DIM) {
        return HW_JPEG_FAST_DECLINED;
    }
    ch = ci->jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
    hw_sample_index(ci->image_width, out_w, d->idx);
    hw_sample_index(ci->image_height, out_h, d->idx + HW_PDQ_SAMPLE_DIM);
    fast_matrix(&f);

    /* Geometry and filters as the full decode sees them (unscaled), decided from the header. */
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
    /* The stored rows and the output go in d->out: the rows first, the pixels after. */
    stride = out_w * ch;
    need = stride * out_h;
    for (int c = 0; c < f.ncomp; c++) {
        need += nrows[c] * f.comp[c].row_len;
    }
    rc = hw_buf_reserve(&d->out, &d->out_cap, need, d->lim.max_decoder_mem);
    if (rc != HW_OK) {
        return rc;
    }
    off = stride * out_h;
    for (int c = 0; c < f.ncomp; c++) {
        f.comp[c].rows = d->out + off;
        off += nrows[c] * f.comp[c].row_len;
    }

    /* libjpeg: raw (downsampled, unconverted) output at 1/4 scale, our IDCT. */
    ci->raw_data_out = TRUE;
    ci->scale_num = 1;
    ci->scale_denom = FAST_SCALE_DENOM;
    ci->client_data = &f;
    jpeg_start_decompress(ci);
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];
        JSAMPLE *sink;
        size_t sink_len;
        JQUANT_TBL *qt = fc->cp->quant_table;

        fc->scaled = fc->cp->DCT_scaled_size;
        fc->scaled_log2 = fc->scaled == 2 ? 1 : fc->scaled == 4 ? 2 : 3;
        if ((fc->scaled != 2 && fc->scaled != 4 && fc->scaled != 8) ||
            fc->cp->component_index != c ||
            fc->cp->v_samp_factor * fc->scaled > FAST_MAX_RAW_ROWS) {
            return HW_JPEG_FAST_DECLINED;
        }
        sink_len =
            ((size_t)fc->cp->width_in_blocks + (size_t)fc->cp->h_samp_factor) * (size_t)fc->scaled;
        /* Latched by now (at each component's first scan). libjpeg keeps multipliers as 16-bit
         * shorts; a component in no scan has no table and transforms with zero multipliers. */
        for (int k = 0; k < DCTSIZE2; k++) {
            fc->q16[k] = qt != NULL ? (int16_t)qt->quantval[k] : 0;
            fc->q[k] = fc->q16[k];
        }
        /* libjpeg never writes through these (our IDCT replaces its own); one row each. */
        sink = (JSAMPLE *)(*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE,
                                                   (JDIMENSION)sink_len, 1)[0];
        for (int k = 0; k < FAST_MAX_RAW_ROWS; k++) {
            fc->raw[k] = sink;
        }
    }
    idct = (struct fast_idct_mirror *)(void *)ci->idct;
    for (int c = 0; c < f.ncomp; c++) {
        idct->inverse_DCT[c] = fast_idct_hook;
    }
    while (ci->output_scanline < ci->output_height) {
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
    jpeg_finish_decompress(ci);
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
