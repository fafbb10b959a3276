/* scan_diff.c: our entropy decoder (jpeg_scan.c) against libjpeg's, coefficient by coefficient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "jpeg/scan_diff.h"
#include "jpeg_scan.h"

struct sd_err {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us &pub */
    jmp_buf jb;
    int warnings;
};

static void sd_exit(j_common_ptr ci)
{
    longjmp(((struct sd_err *)(void *)ci->err)->jb, 1);
}

static void sd_emit(j_common_ptr ci, int level)
{
    if (level < 0) {
        ((struct sd_err *)(void *)ci->err)->warnings++;
    }
}

static void sd_output(j_common_ptr ci)
{
    (void)ci;
}

static void sd_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sd_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

/* Everything one comparison owns, reached from the setjmp'd code through one pointer. */
struct sd_job {
    struct jpeg_decompress_struct lj, ours;
    struct sd_err lj_err, ours_err;
    int lj_made, ours_made;
    JCOEF *coef[MAX_COMPONENTS]; /* ours, per component: height_in_blocks x width_in_blocks */
    struct hw_jpeg_scan *scan;
    uint8_t *work;
};

/* Only after the caller's setjmp on e->jb: both calls can fail (an empty input does). */
static void sd_init(j_decompress_ptr ci, struct sd_err *e, int *made, const uint8_t *data,
                    size_t len)
{
    ci->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = sd_exit;
    e->pub.emit_message = sd_emit;
    e->pub.output_message = sd_output;
    jpeg_create_decompress(ci);
    *made = 1;
    jpeg_mem_src(ci, data, (unsigned long)len);
}

/* Our decoder over the whole scan; 0 when it accepted every MCU and the end. */
static int sd_ours(struct sd_job *j, const uint8_t *data, size_t len)
{
    j_decompress_ptr ci = &j->ours;
    JCOEF blk[HW_SCAN_MAX_BLOCKS][DCTSIZE2];
    size_t work_len;

    jpeg_read_header(ci, TRUE);
    ci->raw_data_out = TRUE;
    jpeg_start_decompress(ci);
    work_len = hw_jpeg_scan_work(ci->src->bytes_in_buffer);
    j->scan = malloc(sizeof(*j->scan));
    j->work = malloc(work_len);
    if (j->scan == NULL || j->work == NULL || hw_jpeg_scan_start(j->scan, ci, j->work, work_len)) {
        return 1;
    }
    for (int c = 0; c < ci->num_components; c++) {
        const jpeg_component_info *cp = &ci->comp_info[c];

        j->coef[c] =
            calloc((size_t)cp->width_in_blocks * cp->height_in_blocks, DCTSIZE2 * sizeof(JCOEF));
        if (j->coef[c] == NULL) {
            return 1;
        }
    }
    (void)data;
    (void)len;
    memset(blk, 0, sizeof(blk));
    for (JDIMENSION my = 0; my < ci->MCU_rows_in_scan; my++) {
        for (JDIMENSION mx = 0; mx < ci->MCUs_per_row; mx++) {
            unsigned ac;
            int b = 0;

            if (hw_jpeg_scan_mcu(j->scan, blk, &ac) != 0) {
                return 1;
            }
            for (int c = 0; c < ci->comps_in_scan; c++) {
                const jpeg_component_info *cp = ci->cur_comp_info[c];

                for (int yi = 0; yi < cp->MCU_height; yi++) {
                    for (int xi = 0; xi < cp->MCU_width; xi++, b++) {
                        JDIMENSION by = my * (JDIMENSION)cp->MCU_height + (JDIMENSION)yi;
                        JDIMENSION bx = mx * (JDIMENSION)cp->MCU_width + (JDIMENSION)xi;

                        /* the flag must never hide an AC coefficient */
                        for (int k = 1; k < DCTSIZE2 && !((ac >> b) & 1u); k++) {
                            if (blk[b][k] != 0) {
                                return 2;
                            }
                        }
                        if (by < cp->height_in_blocks && bx < cp->width_in_blocks) {
                            memcpy(j->coef[cp->component_index] +
                                       ((size_t)by * cp->width_in_blocks + bx) * DCTSIZE2,
                                   blk[b], sizeof(blk[b]));
                        }
                        memset(blk[b], 0, sizeof(blk[b]));
                    }
                }
            }
        }
    }
    return hw_jpeg_scan_finish(j->scan);
}

static enum scan_diff_result sd_run(struct sd_job *j, const uint8_t *data, size_t len,
                                    uint64_t max_pixels, char *msg, size_t msg_len)
{
    jvirt_barray_ptr *arrays;
    int ours;

    /* libjpeg: the reference, with its warnings counted */
    if (setjmp(j->lj_err.jb)) {
        return SCAN_DIFF_NA; /* a header libjpeg refuses: ours never sees it */
    }
    sd_init(&j->lj, &j->lj_err, &j->lj_made, data, len);
    jpeg_read_header(&j->lj, TRUE);
    /* warnings in the headers (extraneous bytes before a marker, ...) come before any scan
     * data, the same in the product whichever decoder runs the scan: not counted */
    j->lj_err.warnings = 0;
    if (j->lj.progressive_mode || j->lj.arith_code || j->lj.data_precision != 8 ||
        j->lj.comps_in_scan != j->lj.num_components ||
        (uint64_t)j->lj.image_width * j->lj.image_height > max_pixels) {
        return SCAN_DIFF_NA;
    }

    if (setjmp(j->ours_err.jb)) {
        return SCAN_DIFF_NA; /* libjpeg refused the header or the start of decompression */
    }
    sd_init(&j->ours, &j->ours_err, &j->ours_made, data, len);
    ours = sd_ours(j, data, len);
    if (ours == 2) {
        sd_msg(msg, msg_len, "a block flagged DC-only has AC coefficients");
        return SCAN_DIFF_BUG;
    }
    if (ours != 0) {
        return SCAN_DIFF_DECLINED;
    }

    /* ours accepted: libjpeg must decode the same file cleanly to the same coefficients */
    if (setjmp(j->lj_err.jb)) {
        sd_msg(msg, msg_len, "libjpeg failed on a scan ours accepted");
        return SCAN_DIFF_BUG;
    }
    arrays = jpeg_read_coefficients(&j->lj); /* reads to EOI: every warning is counted */
    if (j->lj_err.warnings != 0) {
        sd_msg(msg, msg_len, "libjpeg warned %d times on a scan ours accepted (last: %d)",
               j->lj_err.warnings, j->lj_err.pub.msg_code);
        return SCAN_DIFF_BUG;
    }
    for (int c = 0; c < j->lj.num_components; c++) {
        const jpeg_component_info *cp = &j->lj.comp_info[c];

        for (JDIMENSION by = 0; by < cp->height_in_blocks; by++) {
            JBLOCKARRAY row =
                (*j->lj.mem->access_virt_barray)((j_common_ptr)&j->lj, arrays[c], by, 1, FALSE);

            for (JDIMENSION bx = 0; bx < cp->width_in_blocks; bx++) {
                const JCOEF *mine = j->coef[c] + ((size_t)by * cp->width_in_blocks + bx) * DCTSIZE2;

                for (int k = 0; k < DCTSIZE2; k++) {
                    if (row[0][bx][k] != mine[k]) {
                        if (getenv("HW_SCAN_DEBUG") != NULL) {
                            for (int q = 0; q < DCTSIZE2; q++) {
                                fprintf(stderr, "%d:%d/%d ", q, row[0][bx][q], mine[q]);
                            }
                            fprintf(stderr, "\n");
                        }
                        sd_msg(msg, msg_len,
                               "component %d block (%u, %u) coefficient %d: libjpeg %d, ours %d", c,
                               by, bx, k, row[0][bx][k], mine[k]);
                        return SCAN_DIFF_BUG;
                    }
                }
            }
        }
    }
    return SCAN_DIFF_SAME;
}

enum scan_diff_result scan_diff(const uint8_t *data, size_t len, uint64_t max_pixels, char *msg,
                                size_t msg_len)
{
    struct sd_job *j = calloc(1, sizeof(*j));
    enum scan_diff_result r;

    if (msg_len > 0) {
        msg[0] = '\0';
    }
    if (j == NULL) {
        sd_msg(msg, msg_len, "out of memory");
        return SCAN_DIFF_BUG;
    }
    r = sd_run(j, data, len, max_pixels, msg, msg_len);
    if (j->lj_made) {
        jpeg_destroy_decompress(&j->lj);
    }
    if (j->ours_made) {
        jpeg_destroy_decompress(&j->ours);
    }
    for (int c = 0; c < MAX_COMPONENTS; c++) {
        free(j->coef[c]);
    }
    free(j->scan);
    free(j->work);
    free(j);
    return r;
}
