/* jpeg.c: JPEG decoding with libjpeg-turbo (the reference's settings), limits, error handling. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "decode_int.h"
#include "jpeg_fast.h"

/*
 * Policy on damaged input (decided here, documented in hw_image.h's contract):
 *  - libjpeg "corrupt data" warnings (extraneous bytes, bad Huffman code, premature marker)
 *    are counted and tolerated, as ImageMagick (the reference decoder) tolerates them, up to
 *    HW_JPEG_MAX_WARNINGS; beyond that the image is rejected as HW_EFORMAT.
 *  - Running out of data (libjpeg's JWRN_JPEG_EOF, after which it would pad the image with
 *    grey) fails at once with HW_ETRUNCATED: a truncated upload must not silently hash grey
 *    padding. A file lacking only its final EOI marker is also reported as truncated, because
 *    the entropy decoder reads ahead and cannot tell the two apart.
 */
#define HW_JPEG_MAX_WARNINGS 1000 /* ours; ImageMagick's jpeg:max-warnings is of that order */

/* When the fast path pays, measured with hashwatch bench hash (thread CPU time, 4:2:0 q90-92,
 * on a shared 2-core machine). With libjpeg's entropy decoder (progressive and arithmetic
 * files): 3-4 MP 1.03-1.13x the full decode, 12 MP 0.88-1.05x, 48 MP 0.83x, 600x9000
 * 0.74-0.80x, so only from 16 MP or a 4096-pixel side. With our own (jpeg_scan.c, one
 * sequential Huffman scan): 1-1.7 MP 0.98-1.14x, 3 MP 0.80-0.92x, 4-4.8 MP 0.69-0.83x,
 * 12 MP 0.61-0.70x, so from 2.5 MP. */
#define HW_JPEG_FAST_MIN_PIXELS     16000000u
#define HW_JPEG_FAST_MIN_SIDE       4096u
#define HW_JPEG_FAST_MIN_PIXELS_SEQ 2500000u

/* Error manager: the only place a setjmp/longjmp crosses libjpeg. */
struct jpeg_err {
    struct jpeg_error_mgr pub; /* must stay first: libjpeg hands us &pub */
    jmp_buf jb;
    int code; /* HW_* chosen by the handler that jumped */
    int warnings;
    uint32_t max_scans;
    char msg[JMSG_LENGTH_MAX];
};

static int jpeg_code_for(int msg_code)
{
    switch (msg_code) {
    case JERR_OUT_OF_MEMORY:
        return HW_ENOMEM;
    case JERR_NO_BACKING_STORE: /* max_memory_to_use exceeded (no temp files in this build) */
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
        return HW_ETOOBIG;
    case JERR_BAD_PRECISION:
    case JERR_NOT_COMPILED:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_BAD_J_COLORSPACE:
        return HW_EUNSUPPORTED;
    default:
        return HW_EFORMAT;
    }
}

static void jpeg_err_exit(j_common_ptr ci)
{
    struct jpeg_err *e = (struct jpeg_err *)ci->err;

    (*ci->err->format_message)(ci, e->msg);
    e->code = jpeg_code_for(ci->err->msg_code);
    longjmp(e->jb, 1);
}

static void jpeg_err_emit(j_common_ptr ci, int level)
{
    struct jpeg_err *e = (struct jpeg_err *)ci->err;

    if (level >= 0) {
        return; /* trace messages */
    }
    ci->err->num_warnings++;
    if (ci->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(e->msg, sizeof(e->msg), "JPEG data ends early (truncated file)");
        e->code = HW_ETRUNCATED;
        longjmp(e->jb, 1);
    }
    if (++e->warnings > HW_JPEG_MAX_WARNINGS) {
        (*ci->err->format_message)(ci, e->msg);
        e->code = HW_EFORMAT;
        longjmp(e->jb, 1);
    }
}

static void jpeg_err_output(j_common_ptr ci)
{
    (void)ci; /* never print: the library does not write to stderr */
}

/* libjpeg-turbo's own fuzzers bound progressive scans the same way (fuzz/decompress.cc). */
static void jpeg_progress(j_common_ptr ci)
{
    struct jpeg_err *e = (struct jpeg_err *)ci->err;
    j_decompress_ptr di = (j_decompress_ptr)ci;

    if (ci->is_decompressor && di->input_scan_number > 0 &&
        (uint32_t)di->input_scan_number > e->max_scans) {
        snprintf(e->msg, sizeof(e->msg), "JPEG has more than %u scans (%d seen)", e->max_scans,
                 di->input_scan_number);
        e->code = HW_ETOOBIG;
        longjmp(e->jb, 1);
    }
}

/* Everything one decode call owns; the setjmp'd function reaches it only through a pointer. */
struct jpeg_job {
    hw_decoder *d;
    const uint8_t *data;
    size_t len;
    unsigned flags;
    struct hw_image_info *info;
    struct hw_pixels *px;
    struct jpeg_err err;
    struct jpeg_progress_mgr progress;
    struct jpeg_decompress_struct ci;
    int created;
    int fast_declined; /* the fast path gave up and asked for a full decode */
};

/* R = (255-C)(255-K)/255 on non-inverted CMYK, as ImageMagick converts; the libjpeg output
 * here is Adobe-inverted (stored value = 255 - C), so R = c * k / 255 on the stored values. */
static inline uint8_t jpeg_cmyk_ch(unsigned v, unsigned k)
{
    return (uint8_t)((v * k) / 255u);
}

/* One decoded scanline (comps samples per pixel) -> one output row, sampled by cols (or all). */
static void jpeg_emit_row(const uint8_t *src, int comps, const uint32_t *cols, uint32_t out_w,
                          uint8_t *dst)
{
    uint32_t x;

    switch (comps) {
    case 1:
        if (cols == NULL) {
            memcpy(dst, src, out_w);
        } else {
            for (x = 0; x < out_w; x++) {
                dst[x] = src[cols[x]];
            }
        }
        break;
    case 3:
        if (cols == NULL) {
            memcpy(dst, src, (size_t)out_w * 3);
        } else {
            for (x = 0; x < out_w; x++) {
                const uint8_t *s = src + (size_t)cols[x] * 3;
                dst[3 * x] = s[0];
                dst[3 * x + 1] = s[1];
                dst[3 * x + 2] = s[2];
            }
        }
        break;
    default: /* 4: CMYK */
        for (x = 0; x < out_w; x++) {
            const uint8_t *s = src + (size_t)(cols == NULL ? x : cols[x]) * 4;
            dst[3 * x] = jpeg_cmyk_ch(s[0], s[3]);
            dst[3 * x + 1] = jpeg_cmyk_ch(s[1], s[3]);
            dst[3 * x + 2] = jpeg_cmyk_ch(s[2], s[3]);
        }
        break;
    }
}

void hw_jpeg_cmyk_to_rgb(const uint8_t *cmyk, uint32_t n, uint8_t *rgb)
{
    jpeg_emit_row(cmyk, 4, NULL, n, rgb);
}

/* Read one scanline into the work buffer; the memory source never suspends, so 0 is a bug. */
static void jpeg_read_row(struct jpeg_job *j, uint8_t *row)
{
    JSAMPROW r = row;

    if (jpeg_read_scanlines(&j->ci, &r, 1) != 1) {
        snprintf(j->err.msg, sizeof(j->err.msg), "libjpeg returned no scanline");
        j->err.code = HW_EINTERNAL;
        longjmp(j->err.jb, 1);
    }
}

/* The full decode: libjpeg's scanline output, nearest-neighbour sampled row by row. */
static int jpeg_decode_full(struct jpeg_job *j, uint32_t out_w, uint32_t out_h, unsigned ch,
                            int sampled, char *errbuf, size_t errbuf_len)
{
    hw_decoder *d = j->d;
    j_decompress_ptr ci = &j->ci;
    size_t stride = (size_t)out_w * ch, row_len, need;
    const uint32_t *cols = NULL, *rows = NULL;
    uint32_t skip_min;
    long prev = -1;
    int comps, rc;

    jpeg_start_decompress(ci);
    comps = ci->output_components;
    if (ci->output_width != j->info->width || ci->output_height != j->info->height ||
        (comps != 1 && comps != 3 && comps != 4)) {
        return hw_seterr(HW_EINTERNAL, errbuf, errbuf_len, "unexpected libjpeg output %ux%ux%d",
                         ci->output_width, ci->output_height, comps);
    }
    rc = hw_size_mul(ci->output_width, (size_t)comps, &row_len);
    if (rc == HW_OK) {
        rc = hw_buf_reserve(&d->work, &d->work_cap, row_len, d->lim.max_decoder_mem);
    }
    if (rc == HW_OK) {
        rc = hw_size_mul(stride, out_h, &need);
    }
    if (rc == HW_OK) {
        rc = hw_buf_reserve(&d->out, &d->out_cap, need, d->lim.max_decoder_mem);
    }
    if (rc != HW_OK) {
        return hw_seterr(rc, errbuf, errbuf_len, "no memory for a %ux%u output", ci->output_width,
                         out_h);
    }
    if (sampled) {
        hw_sample_index(ci->output_width, out_w, d->idx);
        hw_sample_index(ci->output_height, out_h, d->idx + HW_PDQ_SAMPLE_DIM);
        cols = d->idx;
        rows = d->idx + HW_PDQ_SAMPLE_DIM;
    }
    /* Skipping pays only across whole iMCU rows; shorter gaps are read and dropped. */
    skip_min = 2u * (uint32_t)ci->max_v_samp_factor * DCTSIZE;
    for (uint32_t y = 0; y < out_h; y++) {
        uint32_t sy = rows != NULL ? rows[y] : y;
        uint8_t *dst = d->out + (size_t)y * stride;

        if ((long)sy == prev) {
            memcpy(dst, dst - stride, stride);
            continue;
        }
        if (sy - ci->output_scanline >= skip_min) {
            jpeg_skip_scanlines(ci, sy - ci->output_scanline);
        }
        while (ci->output_scanline <= sy) {
            jpeg_read_row(j, d->work);
        }
        jpeg_emit_row(d->work, comps, cols, out_w, dst);
        prev = (long)sy;
    }
    /* Read the rest (fewer than height/512 + 1 rows) so truncation anywhere is detected;
     * jpeg_skip_scanlines to the end would stop reading input. */
    while (ci->output_scanline < ci->output_height) {
        jpeg_read_row(j, d->work);
    }
    jpeg_finish_decompress(ci);
    j->px->width = out_w;
    j->px->height = out_h;
    j->px->channels = ch;
    j->px->stride = stride;
    j->px->data = d->out;
    return HW_OK;
}

/* Runs under setjmp; returns an HW_* code. Every libjpeg call on j->ci happens below here. */
static int jpeg_run(struct jpeg_job *j, char *errbuf, size_t errbuf_len)
{
    hw_decoder *d = j->d;
    j_decompress_ptr ci = &j->ci;
    struct hw_image_info *info = j->info;
    uint32_t out_w, out_h;
    unsigned ch;
    int rc, sampled, want_fast;

    if (setjmp(j->err.jb)) {
        return hw_seterr(j->err.code, errbuf, errbuf_len, "%s", j->err.msg);
    }
    jpeg_create_decompress(ci);
    j->created = 1;
    ci->mem->max_memory_to_use =
        (long)(d->lim.max_decoder_mem > (size_t)0x7fffffff ? (size_t)0x7fffffff
                                                           : d->lim.max_decoder_mem);
    j->progress.progress_monitor = jpeg_progress;
    ci->progress = &j->progress;
    jpeg_mem_src(ci, j->data, (unsigned long)j->len);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(ci, TRUE);

    info->width = ci->image_width;
    info->height = ci->image_height;
    if (ci->progressive_mode) {
        info->flags |= HW_IMG_PROGRESSIVE;
    }
    if (ci->arith_code) {
        info->flags |= HW_IMG_ARITHMETIC;
    }
    for (jpeg_saved_marker_ptr m = ci->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0) {
            info->exif_orientation = hw_exif_orientation(m->data, m->data_length);
            break;
        }
    }
    rc = hw_check_dims(&d->lim, ci->image_width, ci->image_height, errbuf, errbuf_len);
    if (rc != HW_OK) {
        return rc;
    }
    if (ci->data_precision != 8) {
        return hw_seterr(HW_EUNSUPPORTED, errbuf, errbuf_len, "%d-bit JPEG is not supported",
                         ci->data_precision);
    }
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        info->flags |= HW_IMG_GREY;
        ci->out_color_space = JCS_GRAYSCALE;
        ch = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        ch = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        info->flags |= HW_IMG_CMYK;
        ci->out_color_space = JCS_CMYK;
        ch = 3;
        break;
    default:
        return hw_seterr(HW_EUNSUPPORTED, errbuf, errbuf_len,
                         "JPEG with %d components in an unknown colour space is not supported",
                         ci->num_components);
    }
    /* The reference's decode (ImageMagick over libjpeg): ISLOW IDCT, fancy upsampling, 1:1. */
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    ci->scale_num = 1;
    ci->scale_denom = 1;

    hw_sample_dims(info->width, info->height, j->flags, &out_w, &out_h);
    sampled = out_w != info->width || out_h != info->height;
    want_fast = sampled && !(j->flags & HW_DECODE_FULL) && !j->fast_declined &&
                ((j->flags & HW_JPEG_FAST_ONLY) ||
                 (uint64_t)info->width * info->height >= (ci->progressive_mode || ci->arith_code
                                                              ? HW_JPEG_FAST_MIN_PIXELS
                                                              : HW_JPEG_FAST_MIN_PIXELS_SEQ) ||
                 info->width >= HW_JPEG_FAST_MIN_SIDE || info->height >= HW_JPEG_FAST_MIN_SIDE);
    if (want_fast) {
        rc = hw_jpeg_fast_decode(d, ci, out_w, out_h, j->flags, j->px);
        if (rc == HW_OK) {
            return HW_OK;
        }
        if (rc != HW_JPEG_FAST_DECLINED) {
            return hw_seterr(rc, errbuf, errbuf_len, "no memory for the sampled output");
        }
        if (j->flags & HW_JPEG_FAST_ONLY) {
            return hw_seterr(HW_EUNSUPPORTED, errbuf, errbuf_len, "fast path declined");
        }
        j->fast_declined = 1; /* the caller restarts with a full decode */
        return HW_JPEG_FAST_DECLINED;
    }
    if (j->flags & HW_JPEG_FAST_ONLY) {
        return hw_seterr(HW_EUNSUPPORTED, errbuf, errbuf_len, "fast path not applicable");
    }
    return jpeg_decode_full(j, out_w, out_h, ch, sampled, errbuf, errbuf_len);
}

int hw_jpeg_decode(hw_decoder *d, const uint8_t *data, size_t len, unsigned flags,
                   struct hw_image_info *info, struct hw_pixels *px, char *errbuf,
                   size_t errbuf_len)
{
    struct jpeg_job *j = NULL;
    int rc;

    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "out of memory");
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned keep_format = info->format;
        int declined = j->fast_declined;

        memset(j, 0, sizeof(*j));
        j->fast_declined = declined;
        j->d = d;
        j->data = data;
        j->len = len;
        j->flags = flags;
        j->info = info;
        j->px = px;
        memset(info, 0, sizeof(*info));
        memset(px, 0, sizeof(*px));
        info->format = keep_format;
        j->ci.err = jpeg_std_error(&j->err.pub);
        j->err.pub.error_exit = jpeg_err_exit;
        j->err.pub.emit_message = jpeg_err_emit;
        j->err.pub.output_message = jpeg_err_output;
        j->err.max_scans = d->lim.max_jpeg_scans;
        rc = jpeg_run(j, errbuf, errbuf_len);
        if (j->created) {
            jpeg_destroy_decompress(&j->ci);
        }
        if (rc != HW_JPEG_FAST_DECLINED) {
            break;
        }
    }
    free(j);
    return rc;
}
