/* png.c: PNG decoding with libpng (full API, memory source) into the pixels PDQ hashes. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

#include "decode_int.h"

/*
 * Everything libpng's callbacks touch, and everything the error path reads after a longjmp,
 * lives here. The struct is owned by hw_png_decode(), which never calls setjmp itself; png_run()
 * holds the setjmp, so no automatic variable of the setjmp frame is read after a longjmp.
 */
struct png_job {
    hw_decoder *d;
    const uint8_t *data;
    size_t len;
    size_t pos;     /* next byte libpng reads */
    unsigned flags; /* HW_DECODE_* */
    int err;        /* HW_* chosen by a callback before it longjmps; HW_OK if none yet */
    char msg[200];  /* the detail for errbuf */
    png_structp png;
    png_infop pinfo;
    struct hw_image_info *info;
    struct hw_pixels *px;
};

/* PNG file structure (PNG spec, ISO/IEC 15948, sections 5.2 and 5.3). */
#define PNG_SIG_LEN        8
#define PNG_CHUNK_OVERHEAD 12          /* length, type, CRC (PNG spec 5.3) */
#define PNG_LEN_MAX        0x7fffffffu /* PNG spec 5.3: chunk lengths are at most 2^31 - 1 */

static uint32_t png_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * Walk the chunk headers up to the first IDAT before libpng sees any byte: read IHDR's size and
 * check it against the limits, refuse any chunk but IDAT over max_png_chunk_len (libpng would
 * only warn, "chunk data is too large" being a benign error, and then try to allocate it), count
 * ancillary chunks against max_png_chunks, and spot acTL (APNG; the spec puts it before IDAT, and
 * Debian's libpng 1.6 has no APNG support). IDAT is streamed by libpng, so its length is not
 * capped here; nothing after the image data is read at all (png_read_end is never called).
 * A walk that runs off the end is left to libpng, which reports the truncation precisely.
 */
static int png_scan(struct png_job *j, char *errbuf, size_t errbuf_len)
{
    const struct hw_limits *lim = &j->d->lim;
    size_t pos = PNG_SIG_LEN;
    uint32_t n_chunks = 0;
    int rc;

    if (j->len < PNG_SIG_LEN + 8 + 13) {
        return hw_seterr(HW_ETRUNCATED, errbuf, errbuf_len,
                         "PNG truncated: %zu bytes, ends before the end of its IHDR chunk", j->len);
    }
    if (png_be32(j->data + pos) != 13 || memcmp(j->data + pos + 4, "IHDR", 4) != 0) {
        return hw_seterr(HW_EFORMAT, errbuf, errbuf_len,
                         "PNG corrupt: the first chunk is not a 13-byte IHDR");
    }
    j->info->width = png_be32(j->data + pos + 8);
    j->info->height = png_be32(j->data + pos + 12);
    rc = hw_check_dims(lim, j->info->width, j->info->height, errbuf, errbuf_len);
    if (rc != HW_OK) {
        return rc;
    }
    while (j->len - pos >= 8) {
        uint32_t clen = png_be32(j->data + pos);
        const uint8_t *type = j->data + pos + 4;

        if (clen > PNG_LEN_MAX) {
            return hw_seterr(HW_EFORMAT, errbuf, errbuf_len,
                             "PNG corrupt: chunk at byte %zu declares length %u (over 2^31-1)", pos,
                             clen);
        }
        if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0) {
            break;
        }
        if (memcmp(type, "acTL", 4) == 0) {
            j->info->flags |= HW_IMG_ANIMATED;
        }
        /* Bit 5 of the first type byte set: ancillary (PNG spec 5.4). */
        if ((type[0] & 0x20) != 0 && ++n_chunks > lim->max_png_chunks) {
            return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len,
                             "PNG has more than %u ancillary chunks before its image data "
                             "(limit)",
                             lim->max_png_chunks);
        }
        if (clen > lim->max_png_chunk_len) {
            return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len,
                             "PNG chunk %.4s at byte %zu declares %u bytes, over the %u limit",
                             (const char *)type, pos, clen, lim->max_png_chunk_len);
        }
        if (j->len - pos < PNG_CHUNK_OVERHEAD || clen > j->len - pos - PNG_CHUNK_OVERHEAD) {
            break; /* runs off the end: libpng reports the truncation */
        }
        pos += PNG_CHUNK_OVERHEAD + (size_t)clen;
    }
    return HW_OK;
}

static void png_read_cb(png_structp png, png_bytep out, size_t n)
{
    struct png_job *j = png_get_io_ptr(png);

    if (n > j->len - j->pos) {
        j->err = HW_ETRUNCATED;
        snprintf(j->msg, sizeof(j->msg),
                 "PNG truncated: the data ends at byte %zu, inside a chunk or before IEND", j->len);
        png_error(png, "truncated");
    }
    memcpy(out, j->data + j->pos, n);
    j->pos += n;
}

/* libpng's messages mapped onto our error space; the message itself goes to errbuf. */
static int png_classify(const char *msg)
{
    if (strstr(msg, "Not enough image data") != NULL) {
        return HW_ETRUNCATED; /* the compressed image stream stops before the last row */
    }
    if (strstr(msg, "too large") != NULL || strstr(msg, "exceeds") != NULL) {
        return HW_ETOOBIG;
    }
    if (strstr(msg, "memory") != NULL || strstr(msg, "Memory") != NULL) {
        return HW_ENOMEM;
    }
    return HW_EFORMAT;
}

/* Never returns: libpng requires the error function to longjmp (png_longjmp), never exit. */
static void png_error_cb(png_structp png, png_const_charp msg)
{
    struct png_job *j = png_get_error_ptr(png);

    if (j->err == HW_OK) {
        j->err = png_classify(msg);
        snprintf(j->msg, sizeof(j->msg), "PNG %s: %s",
                 j->err == HW_ETRUNCATED ? "truncated" : "corrupt", msg);
    }
    png_longjmp(png, 1);
}

/* Warnings (bad ancillary CRC, benign oddities) do not change the pixels we hash: dropped. */
static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/*
 * Ancillary chunks that could change pixels only if we applied them (gamma, ICC, sBIT: the
 * reference applies none, shared/PDQ.md section 1) or are text and metadata. libpng is told to
 * skip them unread (CRC checked, nothing allocated), which also removes the zTXt/iCCP inflate
 * bombs. tRNS is kept: it sets HW_IMG_ALPHA and palette expansion needs it.
 */
static const png_byte png_ignored[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0"
                                      "pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";

/* Copy the kept columns of one decoded row into output row `oy`. */
static void png_sample_row(struct png_job *j, const uint8_t *row, uint32_t oy, uint32_t out_w,
                           unsigned ch)
{
    uint8_t *dst = j->d->out + (size_t)oy * out_w * ch;
    const uint32_t *xi = j->d->idx;

    if (ch == 1) {
        for (uint32_t x = 0; x < out_w; x++) {
            dst[x] = row[xi[x]];
        }
    } else {
        for (uint32_t x = 0; x < out_w; x++) {
            memcpy(dst + (size_t)x * 3, row + (size_t)xi[x] * 3, 3);
        }
    }
}

/* The libpng part. The only setjmp of the library's PNG path; see struct png_job. */
static int png_run(struct png_job *j)
{
    png_structp png = j->png;
    png_infop pinfo = j->pinfo;
    const struct hw_limits *lim = &j->d->lim;

    if (setjmp(png_jmpbuf(png))) {
        return j->err != HW_OK ? j->err : HW_EFORMAT;
    }
    png_set_read_fn(png, j, png_read_cb);
    png_set_user_limits(png, lim->max_width < PNG_LEN_MAX ? lim->max_width : PNG_LEN_MAX,
                        lim->max_height < PNG_LEN_MAX ? lim->max_height : PNG_LEN_MAX);
    png_set_chunk_malloc_max(png, lim->max_png_chunk_len);
    png_set_chunk_cache_max(png, lim->max_png_chunks);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, png_ignored,
                                (int)(sizeof(png_ignored) / 5));
    png_read_info(png, pinfo);

    uint32_t w = png_get_image_width(png, pinfo);
    uint32_t h = png_get_image_height(png, pinfo);
    int depth = png_get_bit_depth(png, pinfo);
    int ctype = png_get_color_type(png, pinfo);
    int interlaced = png_get_interlace_type(png, pinfo) != PNG_INTERLACE_NONE;

    /* png_scan already checked IHDR's numbers; this checks what libpng parsed. */
    j->err = hw_check_dims(lim, w, h, j->msg, sizeof(j->msg));
    if (j->err != HW_OK) {
        return j->err;
    }
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        j->info->flags |= HW_IMG_PALETTE;
        png_set_palette_to_rgb(png); /* also turns tRNS into an alpha channel, stripped below */
    }
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) {
        j->info->flags |= HW_IMG_GREY;
        if (depth < 8) {
            png_set_expand_gray_1_2_4_to_8(png); /* 1-bit: 0 -> 0, 1 -> 255 */
        }
    }
    /* Alpha is reported, never blended: the stored colour is hashed like the reference does. */
    if (png_get_valid(png, pinfo, PNG_INFO_tRNS)) {
        j->info->flags |= HW_IMG_ALPHA;
    }
    if ((ctype & PNG_COLOR_MASK_ALPHA) != 0 || (j->info->flags & HW_IMG_ALPHA) != 0) {
        j->info->flags |= HW_IMG_ALPHA;
        png_set_strip_alpha(png);
    }
    if (depth == 16) {
        j->info->flags |= HW_IMG_16BIT;
        png_set_scale_16(png); /* (v * 255 + 32767) / 65535, not the low byte (PDQ.md 1) */
    }
    int passes = png_set_interlace_handling(png);
    if (interlaced) {
        j->info->flags |= HW_IMG_INTERLACED;
    }
    png_read_update_info(png, pinfo);

    unsigned ch = png_get_channels(png, pinfo);
    size_t rowbytes = png_get_rowbytes(png, pinfo);
    if ((ch != 1 && ch != 3) || png_get_bit_depth(png, pinfo) != 8 || rowbytes != (size_t)w * ch) {
        j->err = hw_seterr(HW_EINTERNAL, j->msg, sizeof(j->msg),
                           "PNG transforms gave %u channels of %d bits, %zu bytes a row", ch,
                           png_get_bit_depth(png, pinfo), rowbytes);
        return j->err;
    }

    uint32_t out_w, out_h;
    size_t out_len;
    hw_sample_dims(w, h, j->flags, &out_w, &out_h);
    int sampled = out_w != w || out_h != h;
    int rc = hw_size_mul((size_t)out_w * ch, out_h, &out_len);
    if (rc == HW_OK) {
        rc = hw_buf_reserve(&j->d->out, &j->d->out_cap, out_len, lim->max_decoder_mem);
    }
    if (rc != HW_OK) {
        j->err = hw_seterr(rc, j->msg, sizeof(j->msg),
                           rc == HW_ENOMEM ? "PNG: out of memory for %ux%u output pixels"
                                           : "PNG output of %ux%u is over the decoder memory limit",
                           out_w, out_h);
        return j->err;
    }

    /*
     * Non-interlaced: rows arrive one by one into one row buffer, and only the rows and columns
     * the nearest-neighbour sampling keeps are copied, so a 20000x20000 PNG costs one row.
     * Adam7: every pass adds pixels to every row, so each kept source row needs its own buffer
     * until the last pass; rows nobody keeps all go through one throwaway buffer. That is at
     * most 512 + 1 rows, not the whole frame. HW_DECODE_FULL behaves the same: the PNG path has
     * no faster shortcut to check against.
     */
    if (!sampled) {
        for (int p = 0; p < passes; p++) {
            for (uint32_t y = 0; y < h; y++) {
                png_read_row(png, j->d->out + (size_t)y * rowbytes, NULL);
            }
        }
    } else {
        uint32_t *yi = j->d->idx + HW_PDQ_SAMPLE_DIM;
        size_t work_len = rowbytes;

        hw_sample_index(w, out_w, j->d->idx);
        hw_sample_index(h, out_h, yi);
        if (interlaced && hw_size_mul(rowbytes, (size_t)out_h + 1, &work_len) != HW_OK) {
            work_len = SIZE_MAX;
        }
        rc = hw_buf_reserve(&j->d->work, &j->d->work_cap, work_len, lim->max_decoder_mem);
        if (rc != HW_OK) {
            j->err = hw_seterr(rc, j->msg, sizeof(j->msg),
                               rc == HW_ENOMEM ? "PNG: out of memory for %zu bytes of rows"
                                               : "PNG rows of %zu bytes are over the decoder "
                                                 "memory limit",
                               work_len);
            return j->err;
        }
        if (interlaced) {
            /* Source row y lives in slot k, the first output row sampling it (yi is sorted). */
            uint8_t *spare = j->d->work + (size_t)out_h * rowbytes;
            for (int p = 0; p < passes; p++) {
                uint32_t k = 0;
                for (uint32_t y = 0; y < h; y++) {
                    while (k < out_h && yi[k] < y) {
                        k++;
                    }
                    png_read_row(
                        png, k < out_h && yi[k] == y ? j->d->work + (size_t)k * rowbytes : spare,
                        NULL);
                }
            }
            uint32_t first = 0;
            for (uint32_t oy = 0; oy < out_h; oy++) {
                if (oy > 0 && yi[oy] != yi[oy - 1]) {
                    first = oy;
                }
                png_sample_row(j, j->d->work + (size_t)first * rowbytes, oy, out_w, ch);
            }
        } else {
            uint32_t oy = 0;
            for (uint32_t y = 0; y < h; y++) {
                png_read_row(png, j->d->work, NULL);
                for (; oy < out_h && yi[oy] == y; oy++) {
                    png_sample_row(j, j->d->work, oy, out_w, ch);
                }
            }
        }
    }
    j->px->width = out_w;
    j->px->height = out_h;
    j->px->channels = ch;
    j->px->stride = (size_t)out_w * ch;
    j->px->data = j->d->out;
    /* IEND and any chunk after the image data are not read: the pixels are complete. */
    return HW_OK;
}

int hw_png_decode(hw_decoder *d, const uint8_t *data, size_t len, unsigned flags,
                  struct hw_image_info *info, struct hw_pixels *px, char *errbuf, size_t errbuf_len)
{
    struct png_job j;
    int rc;

    memset(&j, 0, sizeof(j));
    memset(px, 0, sizeof(*px));
    j.d = d;
    j.data = data;
    j.len = len;
    j.pos = PNG_SIG_LEN;
    j.flags = flags;
    j.info = info;
    j.px = px;
    info->format = HW_FORMAT_PNG;

    rc = png_scan(&j, errbuf, errbuf_len);
    if (rc != HW_OK) {
        goto done;
    }
    j.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &j, png_error_cb, png_warning_cb);
    if (j.png == NULL) {
        rc = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "PNG: out of memory creating libpng");
        goto done;
    }
    j.pinfo = png_create_info_struct(j.png);
    if (j.pinfo == NULL) {
        rc = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "PNG: out of memory creating libpng");
        goto done;
    }
    png_set_sig_bytes(j.png, PNG_SIG_LEN); /* hw_format_detect checked the signature */
    rc = png_run(&j);
    if (rc != HW_OK) {
        memset(px, 0, sizeof(*px));
        hw_seterr(rc, errbuf, errbuf_len, "%s", j.msg);
    }
done:
    if (j.png != NULL) {
        png_destroy_read_struct(&j.png, j.pinfo != NULL ? &j.pinfo : NULL, NULL);
    }
    return rc;
}
