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
#define FAST_NSLOT       4     /* cached component rows (fancy filters need two per output row) */

enum fast_mode {
    FAST_FULL = 0, /* component at full resolution on this axis */
    FAST_REPL,     /* replicate by an integer factor */
    FAST_FANCY,    /* triangle filter, factor 2 (h2v1 or h1v2) */
    FAST_FANCY2D,  /* h2v2 triangle filter (column sums, then across) */
};

struct fast_comp {
    jpeg_component_info *cp;
    jvirt_barray_ptr arr;
    int32_t q[DCTSIZE2]; /* dequantisation multipliers as libjpeg stores them (short) */
    enum fast_mode hmode, vmode;
    uint32_t hexp, vexp; /* replication factors */
    uint32_t dw, dh;     /* component sample width and height */
    uint32_t row_len;    /* width_in_blocks * 8 */
    uint8_t *slot[FAST_NSLOT];
    long slot_row[FAST_NSLOT];
    unsigned slot_used[FAST_NSLOT];
    uint8_t *vals; /* the component's upsampled value at each output column */
};

struct fast_ctx {
    j_decompress_ptr ci;
    int32_t m[DCTSIZE][DCTSIZE];  /* m[o][i]: butterfly output o from input i */
    int32_t mt[DCTSIZE][DCTSIZE]; /* transposed */
    struct fast_comp comp[4];
    int ncomp;
    unsigned clock;
    int bad; /* set when a value leaves the range where C and SIMD libjpeg agree */
};

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
            f->m[o][i] = (int32_t)out[o];
            f->mt[i][o] = (int32_t)out[o];
        }
    }
}

/* IDCT output row `k` (0..7) of every block in block row `br` of component fc into dst. */
static void fast_idct_row(struct fast_ctx *f, struct fast_comp *fc, uint32_t br, int k,
                          uint8_t *dst)
{
    JBLOCKARRAY ba = (*f->ci->mem->access_virt_barray)((j_common_ptr)f->ci, fc->arr, br, 1, FALSE);
    JBLOCKROW blocks = ba[0];
    const int32_t *mk = f->m[k];
    unsigned bad = 0;

    for (uint32_t b = 0; b < fc->cp->width_in_blocks; b++) {
        const JCOEF *coef = blocks[b];
        int32_t ws[DCTSIZE], acc[DCTSIZE];

        for (int c = 0; c < DCTSIZE; c++) {
            ws[c] = 0;
        }
        /* Column pass for output row k only: ws[c] = sum_u m[k][u] * deq[u][c]. Rows of
         * coefficients that are all zero (most of them) contribute nothing. */
        for (int u = 0; u < DCTSIZE; u++) {
            const JCOEF *cr = coef + u * DCTSIZE;
            uint64_t w0, w1;

            memcpy(&w0, cr, 8);
            memcpy(&w1, cr + 4, 8);
            if ((w0 | w1) == 0) {
                continue;
            }
            for (int c = 0; c < DCTSIZE; c++) {
                int32_t dq = (int32_t)cr[c] * fc->q[u * DCTSIZE + c];

                bad |= (uint32_t)(dq + FAST_SAFE16) > 2u * FAST_SAFE16;
                ws[c] += mk[u] * (bad ? 0 : dq);
            }
        }
        for (int c = 0; c < DCTSIZE; c++) {
            ws[c] = (ws[c] + (1 << (FAST_PASS1_SHIFT - 1))) >> FAST_PASS1_SHIFT;
            bad |= (uint32_t)(ws[c] + FAST_SAFE16) > 2u * FAST_SAFE16;
        }
        if (bad) {
            break;
        }
        /* Row pass: out[o] = sum_c m[o][c] * ws[c], as a vector over o. */
        for (int o = 0; o < DCTSIZE; o++) {
            acc[o] = 1 << (FAST_PASS2_SHIFT - 1);
        }
        for (int c = 0; c < DCTSIZE; c++) {
            for (int o = 0; o < DCTSIZE; o++) {
                acc[o] += f->mt[c][o] * ws[c];
            }
        }
        for (int o = 0; o < DCTSIZE; o++) {
            int32_t v = acc[o] >> FAST_PASS2_SHIFT;

            /* C libjpeg wraps values beyond +-512 (RANGE_MASK), SIMD saturates: only inside
             * [-512, 511] do both give clamp(v + 128, 0, 255). */
            bad |= (uint32_t)(v + 512) > 1023u;
            v += CENTERJSAMPLE;
            dst[b * DCTSIZE + o] = (uint8_t)(v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v);
        }
    }
    if (bad) {
        f->bad = 1;
    }
}

/* Component sample row r (0..dh-1), computed on first use and kept in a small LRU cache. */
static const uint8_t *fast_comp_row(struct fast_ctx *f, struct fast_comp *fc, uint32_t r)
{
    int victim = 0;

    for (int s = 0; s < FAST_NSLOT; s++) {
        if (fc->slot_row[s] == (long)r) {
            fc->slot_used[s] = ++f->clock;
            return fc->slot[s];
        }
        if (fc->slot_used[s] < fc->slot_used[victim]) {
            victim = s;
        }
    }
    fast_idct_row(f, fc, r / DCTSIZE, (int)(r % DCTSIZE), fc->slot[victim]);
    fc->slot_row[victim] = (long)r;
    fc->slot_used[victim] = ++f->clock;
    return fc->slot[victim];
}

/* fc->vals[i] = the component, upsampled as libjpeg does, at image pixel (cols[i], sy). */
static void fast_comp_values(struct fast_ctx *f, struct fast_comp *fc, uint32_t sy,
                             const uint32_t *cols, uint32_t out_w)
{
    const uint8_t *a, *b = NULL;
    uint32_t r, last = fc->dw - 1;
    int below = 0;

    switch (fc->vmode) {
    case FAST_FULL:
        r = sy;
        break;
    case FAST_REPL:
        r = sy / fc->vexp;
        break;
    default: /* fancy: the nearer row and the next nearer; edges repeat the edge row */
        r = sy / 2;
        below = (int)(sy & 1);
        break;
    }
    a = fast_comp_row(f, fc, r);
    if (fc->vmode == FAST_FANCY || fc->vmode == FAST_FANCY2D) {
        uint32_t r2 = below ? (r + 1 < fc->dh ? r + 1 : r) : (r > 0 ? r - 1 : 0);

        b = fast_comp_row(f, fc, r2); /* LRU: cannot evict a, the most recently used */
    }
    if (fc->vmode == FAST_FANCY2D) {
        for (uint32_t i = 0; i < out_w; i++) {
            uint32_t x = cols[i], s = x / 2, n;
            int32_t cs, cn;

            if (x & 1) {
                n = s < last ? s + 1 : last;
                cs = 3 * a[s] + b[s];
                cn = 3 * a[n] + b[n];
                fc->vals[i] = (uint8_t)((3 * cs + cn + 7) >> 4);
            } else {
                n = s > 0 ? s - 1 : 0;
                cs = 3 * a[s] + b[s];
                cn = 3 * a[n] + b[n];
                fc->vals[i] = (uint8_t)((3 * cs + cn + 8) >> 4);
            }
        }
        return;
    }
    if (fc->vmode == FAST_FANCY) { /* h1v2: vertical triangle only */
        int bias = below ? 2 : 1;

        for (uint32_t i = 0; i < out_w; i++) {
            uint32_t x = cols[i];

            fc->vals[i] = (uint8_t)((3 * a[x] + b[x] + bias) >> 2);
        }
        return;
    }
    switch (fc->hmode) {
    case FAST_FULL:
        for (uint32_t i = 0; i < out_w; i++) {
            fc->vals[i] = a[cols[i]];
        }
        break;
    case FAST_REPL:
        for (uint32_t i = 0; i < out_w; i++) {
            fc->vals[i] = a[cols[i] / fc->hexp];
        }
        break;
    default: /* h2v1 triangle */
        for (uint32_t i = 0; i < out_w; i++) {
            uint32_t x = cols[i], s = x / 2;

            if (x & 1) {
                fc->vals[i] = (uint8_t)((3 * a[s] + a[s < last ? s + 1 : last] + 2) >> 2);
            } else {
                fc->vals[i] = (uint8_t)((3 * a[s] + a[s > 0 ? s - 1 : 0] + 1) >> 2);
            }
        }
        break;
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

/* libjpeg-turbo smooths progressive images whose low-frequency coefficients were not all
 * fully refined (jdcoefct.c, do_block_smoothing); we do not reproduce that. */
static int fast_needs_smoothing(j_decompress_ptr ci)
{
    if (!ci->progressive_mode || ci->coef_bits == NULL || !ci->do_block_smoothing) {
        return 0;
    }
    for (int c = 0; c < ci->num_components; c++) {
        for (int k = 0; k < 10; k++) { /* libjpeg-turbo 2.1 looks at the first 10 */
            if (ci->coef_bits[c][k] != 0) {
                return 1;
            }
        }
    }
    return 0;
}

int hw_jpeg_fast_decode(hw_decoder *d, j_decompress_ptr ci, uint32_t out_w, uint32_t out_h,
                        struct hw_pixels *px)
{
    struct fast_ctx f;
    jvirt_barray_ptr *arrays;
    size_t ch, stride, need, work = 0, off = 0;
    const uint32_t *cols = d->idx, *rows = d->idx + HW_PDQ_SAMPLE_DIM;
    long prev = -1;
    int rc;

    memset(&f, 0, sizeof(f));
    f.ci = ci;
    f.ncomp = ci->num_components;
    if (ci->data_precision != 8 || f.ncomp < 1 || f.ncomp > 4 || out_w > HW_PDQ_SAMPLE_DIM ||
        out_h > HW_PDQ_SAMPLE_DIM) {
        return HW_JPEG_FAST_DECLINED;
    }
    ch = ci->jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
    arrays = jpeg_read_coefficients(ci);
    if (fast_needs_smoothing(ci)) {
        return HW_JPEG_FAST_DECLINED;
    }
    fast_matrix(&f);
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];
        JQUANT_TBL *qt;

        fc->cp = &ci->comp_info[c];
        fc->arr = arrays[c];
        fc->dw = fc->cp->downsampled_width;
        fc->dh = fc->cp->downsampled_height;
        fc->row_len = fc->cp->width_in_blocks * DCTSIZE;
        if (fc->cp->DCT_scaled_size != DCTSIZE || fc->dw == 0 || fc->dh == 0 ||
            fast_choose(ci, fc) != 0) {
            return HW_JPEG_FAST_DECLINED;
        }
        /* libjpeg keeps multipliers as 16-bit shorts; a component that never appeared in a
         * scan has no table and decodes with zero multipliers. */
        qt = fc->cp->quant_table;
        for (int k = 0; k < DCTSIZE2; k++) {
            fc->q[k] = qt != NULL ? (int16_t)qt->quantval[k] : 0;
        }
        work += (size_t)FAST_NSLOT * fc->row_len + HW_PDQ_SAMPLE_DIM;
    }
    rc = hw_buf_reserve(&d->work, &d->work_cap, work, d->lim.max_decoder_mem);
    if (rc == HW_OK) {
        stride = out_w * ch;
        need = stride * out_h;
        rc = hw_buf_reserve(&d->out, &d->out_cap, need, d->lim.max_decoder_mem);
    }
    if (rc != HW_OK) {
        return rc;
    }
    for (int c = 0; c < f.ncomp; c++) {
        struct fast_comp *fc = &f.comp[c];

        for (int s = 0; s < FAST_NSLOT; s++) {
            fc->slot[s] = d->work + off;
            fc->slot_row[s] = -1;
            off += fc->row_len;
        }
        fc->vals = d->work + off;
        off += HW_PDQ_SAMPLE_DIM;
    }
    hw_sample_index(ci->image_width, out_w, d->idx);
    hw_sample_index(ci->image_height, out_h, d->idx + HW_PDQ_SAMPLE_DIM);
    for (uint32_t y = 0; y < out_h; y++) {
        uint8_t *dst = d->out + (size_t)y * stride;

        if ((long)rows[y] == prev) {
            memcpy(dst, dst - stride, stride);
            continue;
        }
        for (int c = 0; c < f.ncomp; c++) {
            fast_comp_values(&f, &f.comp[c], rows[y], cols, out_w);
        }
        if (f.bad) {
            return HW_JPEG_FAST_DECLINED;
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
