/* cmd_bench_hash.c: `hashwatch bench hash`, decode (sampled vs full) + PDQ + digest timings. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Only for --synthetic: writing test JPEGs in memory (hashlib links libjpeg anyway). */
#include <jpeglib.h>

#include <hashlib/hw_digest.h>
#include <hashlib/hw_error.h>
#include <hashlib/hw_image.h>
#include <hashlib/hw_pdq.h>

#include "cli.h"

#define BENCH_MAX_INPUT  (256u << 20)
#define BENCH_MAX_REPEAT 1000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hashwatch bench hash [--repeat N] [--json] [--synthetic] [--libjpeg] FILE...\n"
            "\n"
            "For each image (read once into memory, one decoder reused), times over N repeats\n"
            "(default 5; median and min, milliseconds, CLOCK_MONOTONIC):\n"
            "  decode   the normal path (sampled to 512x512; the JPEG fast path when it applies)\n"
            "  full     the forced full decode (HW_DECODE_FULL), same output\n"
            "  pdq      luma + PDQ with the 8 rotation/mirror variants\n"
            "  digests  MD5 + SHA-1 + SHA-256 of the bytes\n"
            "  total    decode + pdq + digests; ratio = decode / full (medians)\n"
            "  cpu      thread CPU time of decode and full (min), for shared machines\n"
            "  --synthetic  also bench generated 1, 4 and 12 megapixel JPEGs (4:2:0, quality 90,\n"
            "               photographic-like content) written in memory\n"
            "  --json       one JSON object per image instead of the table\n"
            "  --libjpeg    also, for JPEGs, what libjpeg-turbo's own modes cost against its\n"
            "               full decode (thread CPU, min): scale 1/8 (stores no AC\n"
            "               coefficients), raw data at full scale (entropy + IDCT, no\n"
            "               upsampling or colour), jpeg_read_coefficients (entropy only)\n");
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this thread: on a shared machine it shows the work apart from waiting. */
static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

struct stat2 {
    double median, min;
};

static struct stat2 stat_of(double *v, int n)
{
    struct stat2 s;

    qsort(v, (size_t)n, sizeof(double), cmp_double);
    s.min = v[0];
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

/* ---- synthetic photographic-like JPEGs (--synthetic) ---- */

struct synth_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
};

static void synth_error_exit(j_common_ptr ci)
{
    longjmp(((struct synth_err *)ci->err)->jb, 1);
}

/* Smooth lighting, textured regions whose scale varies, hard edges and sensor-like noise, so
 * that the entropy-coded size per pixel resembles a camera photo's at quality 90. */
static void synth_row(uint32_t w, uint32_t h, uint32_t y, uint32_t *rng, JSAMPLE *row)
{
    for (uint32_t x = 0; x < w; x++) {
        uint32_t gx = (uint32_t)(((uint64_t)x * 200) / w), gy = (uint32_t)(((uint64_t)y * 200) / h);
        uint32_t cell = (x / 150) * 7 + (y / 110) * 13;
        uint32_t tex = ((x * (1 + cell % 4) + y * (1 + cell % 3)) >> (cell % 3)) & 31;

        for (int c = 0; c < 3; c++) {
            int v;

            *rng ^= *rng << 13;
            *rng ^= *rng >> 17;
            *rng ^= *rng << 5;
            v = 30 + (int)((gx * (unsigned)(c + 1) + gy * (unsigned)(3 - c)) / 4) + (int)tex +
                (int)(*rng >> 27) - 16;
            if ((cell + (unsigned)c) % 5 == 0) {
                v = (int)((cell * 37u + (unsigned)c * 50u) & 255u);
            }
            row[3 * x + (uint32_t)c] = (JSAMPLE)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

static unsigned char *synth_jpeg(uint32_t w, uint32_t h, size_t *len)
{
    struct jpeg_compress_struct ci;
    struct synth_err err;
    unsigned char *volatile out = NULL;
    JSAMPLE *volatile row = NULL;
    unsigned long out_len = 0;
    uint32_t rng;

    *len = 0;
    memset(&ci, 0, sizeof(ci));
    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = synth_error_exit;
    if (setjmp(err.jb)) {
        jpeg_destroy_compress(&ci);
        free(row);
        free(out);
        return NULL;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, (unsigned char **)&out, &out_len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci); /* YCbCr 4:2:0 */
    jpeg_set_quality(&ci, 90, TRUE);
    jpeg_start_compress(&ci, TRUE);
    rng = 2463534242u;
    row = malloc((size_t)w * 3);
    if (row == NULL) {
        longjmp(err.jb, 1);
    }
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = row;

        synth_row(w, h, ci.next_scanline, &rng, row);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    *len = out_len;
    return out;
}

/* ---- the benchmark ---- */

struct bench_ctx {
    hw_decoder *dec;
    float *luma;
    size_t luma_cap;
    void *scratch;
    size_t scratch_len;
    int repeat, json;
    double *t[7]; /* decode, full, pdq, digests, total (wall); decode, full (thread CPU) */
};

static int bench_pdq(struct bench_ctx *b, const struct hw_pixels *px, struct hw_pdq *out,
                     int *quality)
{
    size_t n = (size_t)px->width * px->height, sl = hw_pdq_scratch_len(px->height, px->width);

    if (n > b->luma_cap) {
        float *nl = realloc(b->luma, n * sizeof(float));
        if (nl == NULL) {
            return HW_ENOMEM;
        }
        b->luma = nl;
        b->luma_cap = n;
    }
    if (sl > b->scratch_len) {
        void *ns = realloc(b->scratch, sl);
        if (ns == NULL) {
            return HW_ENOMEM;
        }
        b->scratch = ns;
        b->scratch_len = sl;
    }
    hw_pdq_luma(px, b->luma);
    return hw_pdq_from_luma(b->luma, px->height, px->width, b->scratch, b->scratch_len,
                            HW_DIH_COUNT, out, quality);
}

static int bench_one(struct bench_ctx *b, const char *name, const unsigned char *data, size_t len)
{
    struct hw_image_info info;
    struct hw_pixels px;
    struct hw_pdq pdq[HW_DIH_COUNT];
    struct hw_digests dg;
    struct stat2 s[7];
    char err[256], hex[65];
    int quality = 0, rc;
    double mp;

    /* a warm-up decode that also tells whether the file decodes at all */
    rc = hw_decoder_decode(b->dec, data, len, 0, &info, &px, err, sizeof(err));
    if (rc != HW_OK) {
        cli_err("bench hash: %s: %s (%s)", name, hw_strerror(rc), err);
        return -1;
    }
    for (int i = 0; i < b->repeat; i++) {
        double t0, t1, c0;

        t0 = now_ms();
        c0 = cpu_ms();
        rc = hw_decoder_decode(b->dec, data, len, HW_DECODE_FULL, &info, &px, err, sizeof(err));
        b->t[6][i] = cpu_ms() - c0;
        t1 = now_ms();
        b->t[1][i] = t1 - t0;
        t0 = now_ms();
        c0 = cpu_ms();
        rc |= hw_decoder_decode(b->dec, data, len, 0, &info, &px, err, sizeof(err));
        b->t[5][i] = cpu_ms() - c0;
        t1 = now_ms();
        b->t[0][i] = t1 - t0;
        t0 = now_ms();
        rc |= bench_pdq(b, &px, pdq, &quality);
        t1 = now_ms();
        b->t[2][i] = t1 - t0;
        t0 = now_ms();
        hw_digests_compute(data, len, &dg);
        t1 = now_ms();
        b->t[3][i] = t1 - t0;
        b->t[4][i] = b->t[0][i] + b->t[2][i] + b->t[3][i];
        if (rc != HW_OK) {
            cli_err("bench hash: %s: %s (%s)", name, hw_strerror(rc), err);
            return -1;
        }
    }
    for (int k = 0; k < 7; k++) {
        s[k] = stat_of(b->t[k], b->repeat);
    }
    mp = (double)info.width * info.height / 1e6;
    hw_pdq_to_hex(&pdq[HW_DIH_ORIG], hex);
    if (b->json) {
        printf("{\"file\":\"");
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\') {
                putchar('\\');
            }
            putchar((unsigned char)*p >= 0x20 ? *p : '?');
        }
        printf("\",\"format\":\"%s\",\"width\":%u,\"height\":%u,\"megapixels\":%.2f,"
               "\"bytes\":%zu,\"repeat\":%d,",
               hw_format_name(info.format), info.width, info.height, mp, len, b->repeat);
        static const char *const keys[5] = {"decode", "full_decode", "pdq", "digests", "total"};
        for (int k = 0; k < 5; k++) {
            printf("\"%s_ms\":{\"median\":%.3f,\"min\":%.3f},", keys[k], s[k].median, s[k].min);
        }
        printf("\"decode_cpu_ms\":{\"median\":%.3f,\"min\":%.3f},"
               "\"full_decode_cpu_ms\":{\"median\":%.3f,\"min\":%.3f},",
               s[5].median, s[5].min, s[6].median, s[6].min);
        printf("\"decode_ratio\":%.3f,\"decode_cpu_ratio\":%.3f,\"pdq\":\"%s\",\"quality\":%d}\n",
               s[0].median / s[1].median, s[5].min / s[6].min, hex, quality);
    } else {
        printf("%-44s %-4s %6.2f MP  decode %8.2f (min %8.2f)  full %8.2f (min %8.2f)  "
               "ratio %.3f  pdq %6.2f  digests %6.2f  total %8.2f ms  | cpu min: decode %.2f "
               "full %.2f ratio %.3f\n",
               name, hw_format_name(info.format), mp, s[0].median, s[0].min, s[1].median, s[1].min,
               s[0].median / s[1].median, s[2].median, s[3].median, s[4].median, s[5].min, s[6].min,
               s[5].min / s[6].min);
    }
    fflush(stdout);
    return 0;
}

/* ---- libjpeg-turbo's own modes (--libjpeg): where a faster exact decode could start ---- */

/* One decode of `data` in a mode: 0 full RGB, 1 scale 1/8, 2 raw data full scale, 3 coefficients.
 * Returns thread CPU ms, or -1. */
static double libjpeg_mode(const unsigned char *data, size_t len, int mode)
{
    struct jpeg_decompress_struct ci;
    struct synth_err err;
    JSAMPLE *volatile buf = NULL; /* freed after a longjmp too */
    double c0;

    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = synth_error_exit;
    jpeg_create_decompress(&ci);
    if (setjmp(err.jb)) {
        jpeg_destroy_decompress(&ci);
        free(buf);
        return -1;
    }
    c0 = cpu_ms();
    jpeg_mem_src(&ci, data, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if (mode == 3) {
        (void)jpeg_read_coefficients(&ci);
    } else {
        size_t width;
        ci.scale_denom = mode == 1 ? 8 : 1;
        ci.raw_data_out = mode == 2;
        jpeg_start_decompress(&ci);
        width = (size_t)ci.output_width * (size_t)ci.output_components + 64;
        buf = malloc(width * 4 * DCTSIZE);
        if (buf == NULL) {
            longjmp(err.jb, 1);
        }
        while (ci.output_scanline < ci.output_height) {
            if (mode == 2) {
                JSAMPROW rows[MAX_COMPONENTS][4 * DCTSIZE];
                JSAMPARRAY planes[MAX_COMPONENTS];
                for (int c = 0; c < ci.num_components && c < MAX_COMPONENTS; c++) {
                    for (int r = 0; r < 4 * DCTSIZE; r++) {
                        rows[c][r] = buf + (size_t)r * width;
                    }
                    planes[c] = rows[c];
                }
                if (ci.max_v_samp_factor > 4 ||
                    jpeg_read_raw_data(&ci, planes, (JDIMENSION)(ci.max_v_samp_factor * DCTSIZE)) ==
                        0) {
                    longjmp(err.jb, 1);
                }
            } else {
                JSAMPROW row = buf;
                (void)jpeg_read_scanlines(&ci, &row, 1);
            }
        }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(buf);
    return cpu_ms() - c0;
}

static void libjpeg_modes(const char *name, const unsigned char *data, size_t len, int repeat)
{
    static const char *const names[4] = {"full", "scale 1/8", "raw data", "coefficients"};
    double best[4] = {-1, -1, -1, -1};

    if (len < 3 || data[0] != 0xff || data[1] != 0xd8) {
        return;
    }
    for (int r = 0; r < repeat; r++) {
        for (int m = 0; m < 4; m++) {
            double t = libjpeg_mode(data, len, m);
            if (t >= 0 && (best[m] < 0 || t < best[m])) {
                best[m] = t;
            }
        }
    }
    if (best[0] <= 0) {
        printf("%-44s libjpeg modes: the full decode failed\n", name);
        return;
    }
    printf("%-44s libjpeg cpu min:", name);
    for (int m = 0; m < 4; m++) {
        printf(" %s %.2f ms (%.2f)%s", names[m], best[m], best[m] / best[0], m < 3 ? "," : "\n");
    }
}

int cli_bench_hash(int argc, char **argv)
{
    struct bench_ctx b;
    int synthetic = 0, libjpeg = 0, first = 1, failed = 0, rc = CLI_EXIT_OK;

    memset(&b, 0, sizeof(b));
    b.repeat = 5;
    for (; first < argc && argv[first][0] == '-' && argv[first][1] != 0; first++) {
        if (strcmp(argv[first], "--repeat") == 0 && first + 1 < argc) {
            char *end;
            long n = strtol(argv[++first], &end, 10);
            if (*end != 0 || n < 1 || n > BENCH_MAX_REPEAT) {
                cli_err("bench hash: --repeat wants 1..%d", BENCH_MAX_REPEAT);
                return CLI_EXIT_USAGE;
            }
            b.repeat = (int)n;
        } else if (strcmp(argv[first], "--json") == 0) {
            b.json = 1;
        } else if (strcmp(argv[first], "--synthetic") == 0) {
            synthetic = 1;
        } else if (strcmp(argv[first], "--libjpeg") == 0) {
            libjpeg = 1;
        } else if (strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else {
            cli_err("bench hash: unknown option %s", argv[first]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (first >= argc && !synthetic) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (hw_decoder_new(NULL, &b.dec) != HW_OK) {
        cli_err("bench hash: out of memory");
        return CLI_EXIT_FAIL;
    }
    for (int k = 0; k < 7; k++) {
        b.t[k] = calloc((size_t)b.repeat, sizeof(double));
        if (b.t[k] == NULL) {
            cli_err("bench hash: out of memory");
            rc = CLI_EXIT_FAIL;
            goto done;
        }
    }
    if (synthetic) {
        static const uint32_t dims[3][2] = {{1152, 864}, {2304, 1728}, {4000, 3000}};
        for (int i = 0; i < 3; i++) {
            char name[64];
            size_t len;
            unsigned char *jpg = synth_jpeg(dims[i][0], dims[i][1], &len);

            if (jpg == NULL) {
                cli_err("bench hash: could not generate a %ux%u JPEG", dims[i][0], dims[i][1]);
                failed++;
                continue;
            }
            snprintf(name, sizeof(name), "synthetic-%ux%u-420-q90.jpg", dims[i][0], dims[i][1]);
            if (bench_one(&b, name, jpg, len) != 0) {
                failed++;
            } else if (libjpeg) {
                libjpeg_modes(name, jpg, len, b.repeat);
            }
            free(jpg);
        }
    }
    for (int i = first; i < argc; i++) {
        unsigned char *data = NULL;
        size_t len = 0;
        char err[256];

        if (cli_read_file(argv[i], BENCH_MAX_INPUT, &data, &len, err, sizeof(err)) != 0) {
            cli_err("bench hash: %s: %s", argv[i], err);
            failed++;
            continue;
        }
        /* libjpeg's own modes run without our limits: only on images the decoder accepted */
        if (bench_one(&b, argv[i], data, len) != 0) {
            failed++;
        } else if (libjpeg) {
            libjpeg_modes(argv[i], data, len, b.repeat);
        }
        free(data);
    }
    rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
done:
    for (int k = 0; k < 7; k++) {
        free(b.t[k]);
    }
    free(b.luma);
    free(b.scratch);
    hw_decoder_free(b.dec);
    return rc;
}
