/* pdq.c: Meta's PDQ hash in float32, bit-exact with the reference pipeline (shared/PDQ.md). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "hw_error.h"
#include "hw_limits.h"
#include "hw_digest.h"
#include "hw_pdq.h"

/*
 * Every float operation below mirrors Meta's pdq/cpp/hashing/pdqhashing.cpp and
 * downscaling/downscaling.cpp: same types, same operand order, same accumulation order. The
 * build compiles with -ffp-contract=off and without -ffast-math, so nothing is fused or
 * reassociated. Reordering any expression can move the hashes of degenerate images.
 */

#define PDQ_DIM     64 /* decimated image side (reference: 64x64 buffer) */
#define PDQ_DCT_DIM 16 /* DCT coefficients kept per axis */
#define PDQ_NCOEF   (PDQ_DCT_DIM * PDQ_DCT_DIM)
/* Reference PDQ_NUM_JAROSZ_XY_PASSES. */
#define PDQ_JAROSZ_PASSES 2
/* Reference computeJaroszFilterWindowSize(old, 64) = (old + 2*64 - 1) / (2*64). */
#define PDQ_WINDOW_DIVISOR 128

/* The fixed-size part of the scratch; after it come one float per column (running sums of the
 * column pass) and the blur's second rows x cols buffer. Everything is float, so float
 * alignment is all the caller must give. */
struct pdq_fixed {
    float a64[PDQ_DIM][PDQ_DIM];
    float t16x64[PDQ_DCT_DIM][PDQ_DIM];
    float b16[PDQ_DCT_DIM][PDQ_DCT_DIM];
    float aux16[PDQ_DCT_DIM][PDQ_DCT_DIM];
};

static float pdq_dct_matrix[PDQ_DCT_DIM][PDQ_DIM];
/* pdq_luma_lut[c][v] = coefficient_c * (float)v: the very products the reference's luma
 * expression forms, tabulated (float multiplication of the same operands is deterministic). */
static float pdq_luma_lut[3][256];
static pthread_once_t pdq_init_once = PTHREAD_ONCE_INIT;

/* Reference luma_from_{R,G,B}_coeff are float constants. */
static const float pdq_luma_coeff[3] = {0.299f, 0.587f, 0.114f};

static void pdq_init(void)
{
    /* Reference: matrix_scale_factor is a float holding sqrt(2.0 / 64); each entry is its
     * product with a double cosine, computed in double and stored as float. */
    const double pi = 3.14159265358979323846;
    const float scale = (float)sqrt(2.0 / 64.0);

    for (int i = 0; i < PDQ_DCT_DIM; i++) {
        for (int j = 0; j < PDQ_DIM; j++) {
            pdq_dct_matrix[i][j] =
                (float)(scale * cos((pi / 2.0 / 64.0) * (double)(i + 1) * (double)(2 * j + 1)));
        }
    }
    for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++) {
            pdq_luma_lut[c][v] = pdq_luma_coeff[c] * (float)v;
        }
    }
}

const char *hw_dihedral_name(int variant)
{
    static const char *const names[HW_DIH_COUNT] = {
        "orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1",
    };

    if (variant < 0 || variant >= HW_DIH_COUNT) {
        return "unknown";
    }
    return names[variant];
}

size_t hw_pdq_scratch_len(uint32_t rows, uint32_t cols)
{
    size_t n;
    size_t bytes;

    if (hw_size_mul(rows, cols, &n) != HW_OK || n > SIZE_MAX - cols) {
        return 0;
    }
    if (hw_size_mul(n + cols, sizeof(float), &bytes) != HW_OK ||
        bytes > SIZE_MAX - sizeof(struct pdq_fixed)) {
        return 0;
    }
    return sizeof(struct pdq_fixed) + bytes;
}

/*
 * Reference box1DFloat along one row (stride 1): a running float sum over a window of w,
 * centred for odd w and one sample further right for even w; edges average what is in range.
 */
static void pdq_box_row(const float *in, float *out, uint32_t n, uint32_t w)
{
    const uint32_t half = (w + 2) / 2;
    const uint32_t ph1 = half - 1;
    const uint32_t ph2 = w - half + 1;
    const uint32_t ph3 = n - w;
    const uint32_t ph4 = half - 1;
    uint32_t li = 0;
    uint32_t ri = 0;
    uint32_t oi = 0;
    float sum = 0.0f;
    int cur = 0;

    for (uint32_t i = 0; i < ph1; i++) {
        sum += in[ri++];
        cur++;
    }
    for (uint32_t i = 0; i < ph2; i++) {
        sum += in[ri++];
        cur++;
        out[oi++] = sum / (float)cur;
    }
    for (uint32_t i = 0; i < ph3; i++) {
        sum += in[ri++];
        sum -= in[li++];
        out[oi++] = sum / (float)w;
    }
    for (uint32_t i = 0; i < ph4; i++) {
        sum -= in[li++];
        cur--;
        out[oi++] = sum / (float)cur;
    }
}

/* Four floats operated on element by element: each lane is plain IEEE float arithmetic, so
 * results are those of the scalar code (GCC/Clang vector extension; SSE on x86-64, NEON on
 * aarch64). */
typedef float pdq_v4 __attribute__((vector_size(16)));

static pdq_v4 pdq_load4(const float *p)
{
    pdq_v4 v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static void pdq_store4(float *p, pdq_v4 v)
{
    memcpy(p, &v, sizeof(v));
}

/*
 * The row pass on PDQ_ROW_GROUP rows at once: each row's running sum sees exactly the reference's
 * operations in the reference's order, but the four independent chains run in the lanes of one
 * vector (one row alone is one long dependency chain of adds and divides).
 */
#define PDQ_ROW_GROUP 4

static pdq_v4 pdq_gather4(const float *r0, size_t n, uint32_t i)
{
    return (pdq_v4){r0[i], r0[n + i], r0[2 * n + i], r0[3 * n + i]};
}

static void pdq_scatter4(float *o0, size_t n, uint32_t i, pdq_v4 v)
{
    o0[i] = v[0];
    o0[n + i] = v[1];
    o0[2 * n + i] = v[2];
    o0[3 * n + i] = v[3];
}

static void pdq_box_row_group(const float *in, float *out, uint32_t n, uint32_t w)
{
    const uint32_t half = (w + 2) / 2;
    const uint32_t ph1 = half - 1;
    const uint32_t ph2 = w - half + 1;
    const uint32_t ph3 = n - w;
    const uint32_t ph4 = half - 1;
    const float fw = (float)w;
    const pdq_v4 vw = {fw, fw, fw, fw};
    uint32_t li = 0;
    uint32_t ri = 0;
    uint32_t oi = 0;
    pdq_v4 s = {0.0f, 0.0f, 0.0f, 0.0f};
    int cur = 0;

    for (uint32_t i = 0; i < ph1; i++, ri++) {
        s += pdq_gather4(in, n, ri);
        cur++;
    }
    for (uint32_t i = 0; i < ph2; i++, ri++, oi++) {
        float fc;

        cur++;
        fc = (float)cur;
        s += pdq_gather4(in, n, ri);
        pdq_scatter4(out, n, oi, s / (pdq_v4){fc, fc, fc, fc});
    }
    for (uint32_t i = 0; i < ph3; i++, ri++, li++, oi++) {
        s += pdq_gather4(in, n, ri);
        s -= pdq_gather4(in, n, li);
        pdq_scatter4(out, n, oi, s / vw);
    }
    for (uint32_t i = 0; i < ph4; i++, li++, oi++) {
        float fc;

        cur--;
        fc = (float)cur;
        s -= pdq_gather4(in, n, li);
        pdq_scatter4(out, n, oi, s / (pdq_v4){fc, fc, fc, fc});
    }
}

static void pdq_box_rows(const float *in, float *out, uint32_t rows, uint32_t cols, uint32_t w)
{
    uint32_t i = 0;

    for (; i + PDQ_ROW_GROUP <= rows; i += PDQ_ROW_GROUP) {
        pdq_box_row_group(in + (size_t)i * cols, out + (size_t)i * cols, cols, w);
    }
    for (; i < rows; i++) {
        pdq_box_row(in + (size_t)i * cols, out + (size_t)i * cols, cols, w);
    }
}

/*
 * The reference's box1DFloat run down every column (stride cols), restructured to walk the
 * image row by row with one running sum per column. Each column's sum sees exactly the same
 * float operations in the same order as the reference; only the interleaving across columns
 * differs, which is what makes it cache-friendly (and lets the compiler vectorise across j
 * without reassociating anything).
 */
static void pdq_box_cols(const float *in, float *out, float *sums, uint32_t rows, uint32_t cols,
                         uint32_t w)
{
    const uint32_t half = (w + 2) / 2;
    const uint32_t ph1 = half - 1;
    const uint32_t ph2 = w - half + 1;
    const uint32_t ph3 = rows - w;
    const uint32_t ph4 = half - 1;
    const uint32_t cols4 = cols & ~(uint32_t)3;
    const float *pr = in; /* row added next */
    const float *pl = in; /* row subtracted next */
    float *po = out;
    int cur = 0;

    memset(sums, 0, sizeof(float) * cols);
    for (uint32_t i = 0; i < ph1; i++) {
        uint32_t j = 0;

        for (; j < cols4; j += 4) {
            pdq_store4(sums + j, pdq_load4(sums + j) + pdq_load4(pr + j));
        }
        for (; j < cols; j++) {
            sums[j] += pr[j];
        }
        pr += cols;
        cur++;
    }
    for (uint32_t i = 0; i < ph2; i++) {
        float fc;
        pdq_v4 vc;
        uint32_t j = 0;

        cur++;
        fc = (float)cur;
        vc = (pdq_v4){fc, fc, fc, fc};
        for (; j < cols4; j += 4) {
            const pdq_v4 sv = pdq_load4(sums + j) + pdq_load4(pr + j);

            pdq_store4(sums + j, sv);
            pdq_store4(po + j, sv / vc);
        }
        for (; j < cols; j++) {
            sums[j] += pr[j];
            po[j] = sums[j] / fc;
        }
        pr += cols;
        po += cols;
    }
    for (uint32_t i = 0; i < ph3; i++) {
        const float fw = (float)w;
        const pdq_v4 vw = {fw, fw, fw, fw};
        uint32_t j = 0;

        for (; j < cols4; j += 4) {
            pdq_v4 sv = pdq_load4(sums + j) + pdq_load4(pr + j);

            sv -= pdq_load4(pl + j);
            pdq_store4(sums + j, sv);
            pdq_store4(po + j, sv / vw);
        }
        for (; j < cols; j++) {
            float sj = sums[j] + pr[j];

            sj -= pl[j];
            sums[j] = sj;
            po[j] = sj / fw;
        }
        pr += cols;
        pl += cols;
        po += cols;
    }
    for (uint32_t i = 0; i < ph4; i++) {
        float fc;
        pdq_v4 vc;
        uint32_t j = 0;

        cur--;
        fc = (float)cur;
        vc = (pdq_v4){fc, fc, fc, fc};
        for (; j < cols4; j += 4) {
            const pdq_v4 sv = pdq_load4(sums + j) - pdq_load4(pl + j);

            pdq_store4(sums + j, sv);
            pdq_store4(po + j, sv / vc);
        }
        for (; j < cols; j++) {
            sums[j] -= pl[j];
            po[j] = sums[j] / fc;
        }
        pl += cols;
        po += cols;
    }
}

/* Reference decimateFloat: sample the pixel centre of each of the 64 x 64 cells, index
 * (int)(((i + 0.5) * rows) / 64) in double (truncated; unsigned here, as it is never negative). */
static void pdq_decimate(const float *in, uint32_t rows, uint32_t cols, float out[PDQ_DIM][PDQ_DIM])
{
    uint32_t cidx[PDQ_DIM];

    for (int j = 0; j < PDQ_DIM; j++) {
        cidx[j] = (uint32_t)(((j + 0.5) * cols) / PDQ_DIM);
    }
    for (int i = 0; i < PDQ_DIM; i++) {
        const float *row = in + (size_t)(uint32_t)(((i + 0.5) * rows) / PDQ_DIM) * cols;

        for (int j = 0; j < PDQ_DIM; j++) {
            out[i][j] = row[cidx[j]];
        }
    }
}

/* Reference pdqImageDomainQualityMetric; constants "manually selected and tuned" upstream. */
static int pdq_quality(float a[PDQ_DIM][PDQ_DIM])
{
    int gradient_sum = 0;
    int quality;

    for (int i = 0; i < PDQ_DIM - 1; i++) {
        for (int j = 0; j < PDQ_DIM; j++) {
            int d = (int)(((a[i][j] - a[i + 1][j]) * 100) / 255);

            gradient_sum += d < 0 ? -d : d;
        }
    }
    for (int i = 0; i < PDQ_DIM; i++) {
        for (int j = 0; j < PDQ_DIM - 1; j++) {
            int d = (int)(((a[i][j] - a[i][j + 1]) * 100) / 255);

            gradient_sum += d < 0 ? -d : d;
        }
    }
    quality = gradient_sum / 90;
    return quality > 100 ? 100 : quality;
}

/* Reference dct64To16: B = D A D^T, each dot product accumulated in one float, k = 0..63. */
static void pdq_dct(float a[PDQ_DIM][PDQ_DIM], float t[PDQ_DCT_DIM][PDQ_DIM],
                    float b[PDQ_DCT_DIM][PDQ_DCT_DIM])
{
    for (int i = 0; i < PDQ_DCT_DIM; i++) {
        const float *d = pdq_dct_matrix[i];
        float acc[PDQ_DIM];

        /* Same per-element operation sequence as the reference's j-outer/k-inner loop, with
         * the loops swapped so the inner loop runs along rows of A (vectorisable). */
        for (int j = 0; j < PDQ_DIM; j++) {
            acc[j] = 0.0f;
        }
        for (int k = 0; k < PDQ_DIM; k++) {
            const float dk = d[k];

            for (int j = 0; j < PDQ_DIM; j++) {
                acc[j] += dk * a[k][j];
            }
        }
        memcpy(t[i], acc, sizeof(acc));
    }
    for (int i = 0; i < PDQ_DCT_DIM; i++) {
        for (int j = 0; j < PDQ_DCT_DIM; j++) {
            float sumk = 0.0f;

            for (int k = 0; k < PDQ_DIM; k++) {
                sumk += t[i][k] * pdq_dct_matrix[j][k];
            }
            b[i][j] = sumk;
        }
    }
}

/*
 * Torben Mogensen's median (N. Devillard's public-domain version, as the reference's
 * torben.cpp): for n = 256 it returns the 128th smallest value (the lower median).
 */
static float pdq_torben(const float *m, int n)
{
    int less = 0;
    int greater = 0;
    int equal = 0;
    float min = m[0];
    float max = m[0];
    float guess = 0.0f;
    float maxltguess = 0.0f;
    float mingtguess = 0.0f;

    for (int i = 1; i < n; i++) {
        if (m[i] < min) {
            min = m[i];
        }
        if (m[i] > max) {
            max = m[i];
        }
    }
    for (;;) {
        guess = (min + max) / 2;
        less = 0;
        greater = 0;
        equal = 0;
        maxltguess = min;
        mingtguess = max;
        for (int i = 0; i < n; i++) {
            if (m[i] < guess) {
                less++;
                if (m[i] > maxltguess) {
                    maxltguess = m[i];
                }
            } else if (m[i] > guess) {
                greater++;
                if (m[i] < mingtguess) {
                    mingtguess = m[i];
                }
            } else {
                equal++;
            }
        }
        if (less <= (n + 1) / 2 && greater <= (n + 1) / 2) {
            break;
        } else if (less > greater) {
            max = maxltguess;
        } else {
            min = mingtguess;
        }
    }
    if (less >= (n + 1) / 2) {
        return maxltguess;
    } else if (less + equal >= (n + 1) / 2) {
        return guess;
    }
    return mingtguess;
}

/* Reference pdqBuffer16x16ToBits: bit 16*i + j set when B[i][j] > median (strict). */
static void pdq_bits(float b[PDQ_DCT_DIM][PDQ_DCT_DIM], struct hw_pdq *h)
{
    const float median = pdq_torben(&b[0][0], PDQ_NCOEF);

    memset(h, 0, sizeof(*h));
    for (int i = 0; i < PDQ_DCT_DIM; i++) {
        for (int j = 0; j < PDQ_DCT_DIM; j++) {
            if (b[i][j] > median) {
                const int k = i * PDQ_DCT_DIM + j;

                h->q[k >> 6] |= (uint64_t)1 << (k & 63);
            }
        }
    }
}

/* The reference's dct16OriginalTo* helpers: a dihedral transform of the image permutes and
 * negates DCT coefficients (a mirror negates odd frequencies, i.e. even 0-based indices). */
static void pdq_dihedral(float a[PDQ_DCT_DIM][PDQ_DCT_DIM], int variant,
                         float b[PDQ_DCT_DIM][PDQ_DCT_DIM])
{
    for (int i = 0; i < PDQ_DCT_DIM; i++) {
        for (int j = 0; j < PDQ_DCT_DIM; j++) {
            const float v = a[i][j];

            switch (variant) {
            case HW_DIH_ROT90:
                b[j][i] = (j & 1) ? v : -v;
                break;
            case HW_DIH_ROT180:
                b[i][j] = ((i + j) & 1) ? -v : v;
                break;
            case HW_DIH_ROT270:
                b[j][i] = (i & 1) ? v : -v;
                break;
            case HW_DIH_FLIPX:
                b[i][j] = (i & 1) ? v : -v;
                break;
            case HW_DIH_FLIPY:
                b[i][j] = (j & 1) ? v : -v;
                break;
            case HW_DIH_FLIPPLUS1:
                b[j][i] = v;
                break;
            case HW_DIH_FLIPMINUS1:
                b[j][i] = ((i + j) & 1) ? -v : v;
                break;
            default:
                b[i][j] = v;
                break;
            }
        }
    }
}

int hw_pdq_from_luma(float *luma, uint32_t rows, uint32_t cols, void *scratch, size_t scratch_len,
                     int n_out, struct hw_pdq *out, int *quality)
{
    struct pdq_fixed *fx = scratch;
    float *sums;
    float *buf2;
    size_t need;

    if (luma == NULL || out == NULL || quality == NULL || (n_out != 1 && n_out != HW_DIH_COUNT)) {
        return HW_EINVAL;
    }
    memset(out, 0, sizeof(*out) * (size_t)n_out);
    *quality = 0;
    /* Reference MIN_HASHABLE_DIM: too small to hash; all-zero hashes, quality 0. */
    if (rows < HW_PDQ_MIN_DIM || cols < HW_PDQ_MIN_DIM) {
        return HW_OK;
    }
    need = hw_pdq_scratch_len(rows, cols);
    if (need == 0 || scratch == NULL || scratch_len < need ||
        ((uintptr_t)scratch % _Alignof(float)) != 0) {
        return HW_EINVAL;
    }
    pthread_once(&pdq_init_once, pdq_init);
    sums = (float *)(fx + 1);
    buf2 = sums + cols;

    if (n_out == 1 && rows == PDQ_DIM && cols == PDQ_DIM) {
        /* pdqFloat256FromFloatLuma's shortcut: a 64x64 image is used as is, unblurred. The
         * reference's dihedral entry point has no such shortcut (PDQ.md 2.3). */
        memcpy(fx->a64, luma, sizeof(fx->a64));
    } else {
        const uint32_t w_rows = (cols + PDQ_WINDOW_DIVISOR - 1) / PDQ_WINDOW_DIVISOR;
        const uint32_t w_cols = (rows + PDQ_WINDOW_DIVISOR - 1) / PDQ_WINDOW_DIVISOR;

        for (int rep = 0; rep < PDQ_JAROSZ_PASSES; rep++) {
            pdq_box_rows(luma, buf2, rows, cols, w_rows);
            pdq_box_cols(buf2, luma, sums, rows, cols, w_cols);
        }
        pdq_decimate(luma, rows, cols, fx->a64);
    }
    *quality = pdq_quality(fx->a64);
    pdq_dct(fx->a64, fx->t16x64, fx->b16);
    pdq_bits(fx->b16, &out[HW_DIH_ORIG]);
    for (int v = 1; v < n_out; v++) {
        pdq_dihedral(fx->b16, v, fx->aux16);
        pdq_bits(fx->aux16, &out[v]);
    }
    return HW_OK;
}

static int pdq_all_grey(const struct hw_pixels *px, unsigned step)
{
    for (uint32_t y = 0; y < px->height; y++) {
        const uint8_t *p = px->data + (size_t)y * px->stride;

        for (uint32_t x = 0; x < px->width; x++, p += step) {
            if (p[0] != p[1] || p[0] != p[2]) {
                return 0;
            }
        }
    }
    return 1;
}

static void pdq_luma_grey(const struct hw_pixels *px, unsigned step, float *o)
{
    for (uint32_t y = 0; y < px->height; y++) {
        const uint8_t *p = px->data + (size_t)y * px->stride;

        for (uint32_t x = 0; x < px->width; x++, p += step) {
            *o++ = (float)p[0];
        }
    }
}

void hw_pdq_luma(const struct hw_pixels *px, float *luma)
{
    /* hw_pixels promises 1 or 3 channels; should a decoder ever hand over 2 or 4, the extra
     * (alpha) sample is skipped, as the reference ignores alpha. */
    const unsigned step = px->channels > 0 ? px->channels : 1;
    float *o = luma;

    if (step < 3) {
        pdq_luma_grey(px, step, o);
        return;
    }
    if (pdq_all_grey(px, step)) {
        /* The reference's decoder (ImageMagick via CImg) emits an all-grey image as one
         * channel, so its luma is the sample itself, not the weighted sum. */
        pdq_luma_grey(px, step, o);
        return;
    }
    pthread_once(&pdq_init_once, pdq_init);
    for (uint32_t y = 0; y < px->height; y++) {
        const uint8_t *p = px->data + (size_t)y * px->stride;

        /* ((0.299f*R) + (0.587f*G)) + (0.114f*B), in the reference's order. */
        for (uint32_t x = 0; x < px->width; x++, p += step) {
            *o++ = (pdq_luma_lut[0][p[0]] + pdq_luma_lut[1][p[1]]) + pdq_luma_lut[2][p[2]];
        }
    }
}

int hw_pdq_distance(const struct hw_pdq *a, const struct hw_pdq *b)
{
    int d = 0;

    for (int i = 0; i < 4; i++) {
        d += __builtin_popcountll(a->q[i] ^ b->q[i]);
    }
    return d;
}

int hw_pdq_weight(const struct hw_pdq *h)
{
    int n = 0;

    for (int i = 0; i < 4; i++) {
        n += __builtin_popcountll(h->q[i]);
    }
    return n;
}

void hw_pdq_to_hex(const struct hw_pdq *h, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    char *o = out;

    for (int w = 3; w >= 0; w--) {
        for (int shift = 60; shift >= 0; shift -= 4) {
            *o++ = digits[(h->q[w] >> shift) & 0xf];
        }
    }
    *o = '\0';
}

int hw_pdq_from_hex(const char *s, size_t len, struct hw_pdq *out)
{
    uint8_t be[32];
    struct hw_pdq h = {{0, 0, 0, 0}};

    if (s == NULL || out == NULL || hw_hex_decode(s, len, be, sizeof(be)) != HW_OK) {
        return HW_EINVAL;
    }
    /* The hex text is the big-endian 256-bit number: byte 0 is the top byte of q[3]. */
    for (size_t i = 0; i < 32; i++) {
        h.q[3 - i / 8] |= (uint64_t)be[i] << (56 - 8 * (i % 8));
    }
    *out = h;
    return HW_OK;
}
