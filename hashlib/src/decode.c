/* decode.c: the reusable decoder, format detection and dispatch, shared sampling helpers. */
#include <stdlib.h>
#include <string.h>

#include "decode_int.h"

const char *hw_format_name(enum hw_format f)
{
    switch (f) {
    case HW_FORMAT_JPEG:
        return "jpeg";
    case HW_FORMAT_PNG:
        return "png";
    default:
        return "unknown";
    }
}

enum hw_format hw_format_detect(const void *data, size_t len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t *p = data;

    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) {
        return HW_FORMAT_JPEG;
    }
    if (len >= 8 && memcmp(p, png_sig, 8) == 0) {
        return HW_FORMAT_PNG;
    }
    return HW_FORMAT_UNKNOWN;
}

int hw_buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
    uint8_t *nb;

    if (need <= *cap) {
        return HW_OK;
    }
    if (need > max) {
        return HW_ETOOBIG;
    }
    nb = realloc(*buf, need);
    if (nb == NULL) {
        return HW_ENOMEM;
    }
    *buf = nb;
    *cap = need;
    return HW_OK;
}

int hw_check_dims(const struct hw_limits *lim, uint32_t width, uint32_t height, char *errbuf,
                  size_t errbuf_len)
{
    if (width == 0 || height == 0) {
        return hw_seterr(HW_EFORMAT, errbuf, errbuf_len, "image has a zero dimension (%ux%u)",
                         width, height);
    }
    if (width > lim->max_width || height > lim->max_height ||
        (uint64_t)width * height > lim->max_pixels) {
        return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len,
                         "image is %ux%u, over the limit (max %ux%u, %llu pixels)", width, height,
                         lim->max_width, lim->max_height, (unsigned long long)lim->max_pixels);
    }
    return HW_OK;
}

void hw_sample_dims(uint32_t width, uint32_t height, unsigned flags, uint32_t *out_w,
                    uint32_t *out_h)
{
    if (!(flags & HW_DECODE_NOSAMPLE) &&
        (width > HW_PDQ_SAMPLE_DIM || height > HW_PDQ_SAMPLE_DIM)) {
        *out_w = HW_PDQ_SAMPLE_DIM;
        *out_h = HW_PDQ_SAMPLE_DIM;
    } else {
        *out_w = width;
        *out_h = height;
    }
}

void hw_sample_index(uint32_t n, uint32_t out_n, uint32_t *idx)
{
    for (uint32_t i = 0; i < out_n; i++) {
        idx[i] = (uint32_t)(((uint64_t)i * n) / out_n);
    }
}

int hw_decoder_new(const struct hw_limits *lim, hw_decoder **out)
{
    hw_decoder *d;
    struct hw_limits def;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return HW_ENOMEM;
    }
    hw_limits_default(&def);
    d->lim = lim != NULL ? *lim : def;
    /* A zero field means "use the default" (hw_limits.h). */
    if (d->lim.max_input_len == 0) {
        d->lim.max_input_len = def.max_input_len;
    }
    if (d->lim.max_width == 0) {
        d->lim.max_width = def.max_width;
    }
    if (d->lim.max_height == 0) {
        d->lim.max_height = def.max_height;
    }
    if (d->lim.max_pixels == 0) {
        d->lim.max_pixels = def.max_pixels;
    }
    if (d->lim.max_jpeg_scans == 0) {
        d->lim.max_jpeg_scans = def.max_jpeg_scans;
    }
    if (d->lim.max_decoder_mem == 0) {
        d->lim.max_decoder_mem = def.max_decoder_mem;
    }
    if (d->lim.max_png_chunk_len == 0) {
        d->lim.max_png_chunk_len = def.max_png_chunk_len;
    }
    if (d->lim.max_png_chunks == 0) {
        d->lim.max_png_chunks = def.max_png_chunks;
    }
    d->idx = malloc(sizeof(uint32_t) * HW_PDQ_SAMPLE_DIM * 2);
    if (d->idx == NULL) {
        free(d);
        return HW_ENOMEM;
    }
    *out = d;
    return HW_OK;
}

void hw_decoder_free(hw_decoder *d)
{
    if (d == NULL) {
        return;
    }
    free(d->out);
    free(d->work);
    free(d->idx);
    free(d);
}

int hw_decoder_decode(hw_decoder *d, const void *data, size_t len, unsigned flags,
                      struct hw_image_info *info, struct hw_pixels *px, char *errbuf,
                      size_t errbuf_len)
{
    memset(info, 0, sizeof(*info));
    memset(px, 0, sizeof(*px));
    if (d == NULL || (data == NULL && len > 0)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "no decoder or no data");
    }
    if (len == 0) {
        return hw_seterr(HW_EUNSUPPORTED, errbuf, errbuf_len, "empty input (0 bytes)");
    }
    if (len > d->lim.max_input_len) {
        return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len, "input is %zu bytes, over the %zu limit",
                         len, d->lim.max_input_len);
    }
    info->format = hw_format_detect(data, len);
    switch (info->format) {
    case HW_FORMAT_JPEG:
        return hw_jpeg_decode(d, data, len, flags, info, px, errbuf, errbuf_len);
    case HW_FORMAT_PNG:
        return hw_png_decode(d, data, len, flags, info, px, errbuf, errbuf_len);
    default:
        return hw_seterr(HW_EUNSUPPORTED, errbuf, errbuf_len,
                         "not a JPEG or PNG image (unrecognised signature)");
    }
}
