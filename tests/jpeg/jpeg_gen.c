/* jpeg_gen.c: JPEGs written in memory with libjpeg's compressor, for the JPEG decoder tests. */
#include <dirent.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jpeg/jpeg_gen.h"

const struct jgen_mode jgen_modes[] = {
    {"444", JCS_RGB, JCS_YCbCr, {{1, 1}, {1, 1}, {1, 1}}},
    {"422", JCS_RGB, JCS_YCbCr, {{2, 1}, {1, 1}, {1, 1}}},
    {"420", JCS_RGB, JCS_YCbCr, {{2, 2}, {1, 1}, {1, 1}}},
    {"440", JCS_RGB, JCS_YCbCr, {{1, 2}, {1, 1}, {1, 1}}},
    {"411", JCS_RGB, JCS_YCbCr, {{4, 1}, {1, 1}, {1, 1}}},
    {"410", JCS_RGB, JCS_YCbCr, {{4, 2}, {1, 1}, {1, 1}}},
    {"311", JCS_RGB, JCS_YCbCr, {{3, 1}, {1, 1}, {1, 1}}},
    {"mixed", JCS_RGB, JCS_YCbCr, {{2, 2}, {1, 2}, {2, 1}}},
    {"chroma-up", JCS_RGB, JCS_YCbCr, {{1, 1}, {2, 2}, {2, 2}}},
    {"grey", JCS_GRAYSCALE, JCS_GRAYSCALE, {{1, 1}}},
    {"grey-2x2", JCS_GRAYSCALE, JCS_GRAYSCALE, {{2, 2}}},
    {"rgb", JCS_RGB, JCS_RGB, {{1, 1}, {1, 1}, {1, 1}}},
    {"rgb-420", JCS_RGB, JCS_RGB, {{2, 2}, {1, 1}, {1, 1}}},
    {"cmyk", JCS_CMYK, JCS_CMYK, {{1, 1}, {1, 1}, {1, 1}, {1, 1}}},
    {"ycck", JCS_CMYK, JCS_YCCK, {{1, 1}, {1, 1}, {1, 1}, {1, 1}}},
    {"ycck-420", JCS_CMYK, JCS_YCCK, {{2, 2}, {1, 1}, {1, 1}, {2, 2}}},
};
const size_t jgen_n_modes = sizeof(jgen_modes) / sizeof(jgen_modes[0]);

void jgen_init(struct jgen *g, const struct jgen_mode *m, uint32_t w, uint32_t h)
{
    memset(g, 0, sizeof(*g));
    g->width = w;
    g->height = h;
    g->in_space = m->in;
    g->jpeg_space = m->out;
    memcpy(g->samp, m->samp, sizeof(g->samp));
}

int jgen_each_jpeg(const char *dir,
                   void (*fn)(void *ctx, const char *path, const unsigned char *data, size_t len),
                   void *ctx, int *unreadable)
{
    DIR *dh = opendir(dir);
    struct dirent *de;
    int count = 0;

    if (dh == NULL) {
        return -1;
    }
    while ((de = readdir(dh)) != NULL) {
        char path[1024];
        struct stat st;
        size_t n = strlen(de->d_name);

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = jgen_each_jpeg(path, fn, ctx, unreadable);

            count += sub > 0 ? sub : 0;
        } else if (n > 4 && strcmp(de->d_name + n - 4, ".jpg") == 0) {
            FILE *f = fopen(path, "rb");
            unsigned char *buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);

            if (f != NULL && buf != NULL &&
                fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
                fn(ctx, path, buf, (size_t)st.st_size);
                count++;
            } else {
                fprintf(stderr, "jpeg_gen: cannot read %s\n", path);
                ++*unreadable;
            }
            if (f != NULL) {
                fclose(f);
            }
            free(buf);
        }
    }
    closedir(dh);
    return count;
}

struct jgen_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
};

static void jgen_error_exit(j_common_ptr ci)
{
    char msg[JMSG_LENGTH_MAX];

    (*ci->err->format_message)(ci, msg);
    fprintf(stderr, "jpeg_gen: libjpeg: %s\n", msg);
    longjmp(((struct jgen_err *)ci->err)->jb, 1);
}

static void jgen_quiet(j_common_ptr ci, int level)
{
    (void)ci;
    (void)level;
}

static uint32_t jgen_rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* One row of content: smooth gradients, a texture whose frequency varies across the image,
 * a few hard-edged rectangles (overshoot and clamping in the IDCT) and mild noise. */
static void jgen_row(const struct jgen *g, uint32_t y, int nch, uint32_t *rng, JSAMPLE *row)
{
    for (uint32_t x = 0; x < g->width; x++) {
        uint32_t gx = (uint32_t)(((uint64_t)x * 255) / g->width);
        uint32_t gy = (uint32_t)(((uint64_t)y * 255) / g->height);
        uint32_t tex = ((x * (1 + (y >> 6) % 5) + y * 3) >> 2) & 63;
        int edge = (((x / 97) + (y / 61) + g->seed) % 7) == 0;

        for (int c = 0; c < nch; c++) {
            int v = (int)((gx * (unsigned)(c + 1) + gy * (unsigned)(3 - c % 3)) / 3);

            v += (int)tex - 32 + (int)(jgen_rng(rng) >> 28) - 8;
            if (edge) {
                v = ((x + c * 13 + y) & 32) ? 250 : 5;
            }
            row[(size_t)x * nch + c] = (JSAMPLE)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

unsigned char *jgen_encode(const struct jgen *g, size_t *len)
{
    struct jpeg_compress_struct ci;
    struct jgen_err err;
    unsigned char *volatile out = NULL;
    unsigned long out_len = 0;
    JSAMPLE *volatile row = NULL;
    volatile uint32_t rng_seed = 2463534242u ^ (g->seed * 2654435761u);
    uint32_t rng;
    int nch = g->in_space == JCS_GRAYSCALE ? 1 : g->in_space == JCS_CMYK ? 4 : 3;

    *len = 0;
    memset(&ci, 0, sizeof(ci));
    ci.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jgen_error_exit;
    err.pub.emit_message = jgen_quiet;
    if (setjmp(err.jb)) {
        jpeg_destroy_compress(&ci);
        free(row);
        free(out);
        return NULL;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, (unsigned char **)&out, &out_len);
    ci.image_width = g->width;
    ci.image_height = g->height;
    ci.input_components = nch;
    ci.in_color_space = g->in_space;
    jpeg_set_defaults(&ci);
    jpeg_set_colorspace(&ci, g->jpeg_space);
    jpeg_set_quality(&ci, g->quality, g->baseline_quant ? TRUE : FALSE);
    for (int c = 0; c < ci.num_components && c < 4; c++) {
        ci.comp_info[c].h_samp_factor = g->samp[c][0] ? g->samp[c][0] : 1;
        ci.comp_info[c].v_samp_factor = g->samp[c][1] ? g->samp[c][1] : 1;
    }
    if (g->scans != NULL) {
        ci.scan_info = g->scans;
        ci.num_scans = g->n_scans;
    } else if (g->progressive) {
        jpeg_simple_progression(&ci);
    }
    ci.arith_code = g->arith ? TRUE : FALSE;
    ci.restart_in_rows = g->restart_rows;
    ci.optimize_coding = (!g->arith && g->progressive) ? TRUE : FALSE;
    jpeg_start_compress(&ci, TRUE);
    rng = rng_seed;
    row = malloc((size_t)g->width * nch);
    if (row == NULL) {
        longjmp(err.jb, 1);
    }
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = row;

        jgen_row(g, ci.next_scanline, nch, &rng, row);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    *len = out_len;
    return out;
}

unsigned char *jgen_transcode(const unsigned char *src, size_t src_len,
                              void (*edit)(int comp, uint32_t by, uint32_t bx, JCOEF *coef),
                              size_t *len)
{
    struct jpeg_decompress_struct di;
    struct jpeg_compress_struct co;
    struct jgen_err derr, cerr;
    unsigned char *volatile out = NULL;
    unsigned long out_len = 0;
    jvirt_barray_ptr *arrays;

    *len = 0;
    memset(&di, 0, sizeof(di));
    memset(&co, 0, sizeof(co));
    di.err = jpeg_std_error(&derr.pub);
    derr.pub.error_exit = jgen_error_exit;
    derr.pub.emit_message = jgen_quiet;
    co.err = jpeg_std_error(&cerr.pub);
    cerr.pub.error_exit = jgen_error_exit;
    cerr.pub.emit_message = jgen_quiet;
    if (setjmp(derr.jb) || setjmp(cerr.jb)) {
        jpeg_destroy_compress(&co);
        jpeg_destroy_decompress(&di);
        free(out);
        return NULL;
    }
    jpeg_create_decompress(&di);
    jpeg_create_compress(&co);
    jpeg_mem_src(&di, src, (unsigned long)src_len);
    jpeg_read_header(&di, TRUE);
    arrays = jpeg_read_coefficients(&di);
    for (int c = 0; c < di.num_components; c++) {
        jpeg_component_info *cp = &di.comp_info[c];

        for (uint32_t by = 0; by < cp->height_in_blocks; by++) {
            JBLOCKARRAY ba =
                (*di.mem->access_virt_barray)((j_common_ptr)&di, arrays[c], by, 1, TRUE);
            for (uint32_t bx = 0; bx < cp->width_in_blocks; bx++) {
                edit(c, by, bx, ba[0][bx]);
            }
        }
    }
    jpeg_copy_critical_parameters(&di, &co);
    jpeg_mem_dest(&co, (unsigned char **)&out, &out_len);
    jpeg_write_coefficients(&co, arrays);
    jpeg_finish_compress(&co);
    jpeg_finish_decompress(&di);
    jpeg_destroy_compress(&co);
    jpeg_destroy_decompress(&di);
    *len = out_len;
    return out;
}
