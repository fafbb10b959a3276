/* jpeg_scan.h: our own entropy decoder for baseline (sequential Huffman) JPEG scans. */
#ifndef HASHLIB_JPEG_SCAN_H
#define HASHLIB_JPEG_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jpeglib.h>

#define HW_SCAN_FAST_BITS  10 /* look-up table width: codes (and AC code + value) up to this */
#define HW_SCAN_MAX_BLOCKS 10 /* blocks in one MCU (JPEG's D_MAX_BLOCKS_IN_MCU) */

/* A Huffman table as the decoder reads it. */
struct hw_scan_huff {
    uint16_t fast[1 << HW_SCAN_FAST_BITS];    /* (symbol << 8) | length; 0: longer code */
    uint64_t fast_ac[1 << HW_SCAN_FAST_BITS]; /* AC: one or two symbols with their values
                                               * (jpeg_scan.c); 0: not in one look-up */
    int32_t maxcode[18];                      /* largest code of each length, -1 for none */
    int32_t valoff[18];                       /* code of length l -> vals[code + valoff[l]] */
    uint8_t vals[256];
};

/**
 * The decoder's state. hw_jpeg_scan_start() fills it; it points into the caller's input and
 * work buffer, owns nothing, and is thread-confined.
 */
struct hw_jpeg_scan {
    const uint8_t *in, *in_end; /* stuffed scan bytes not yet unstuffed */
    uint8_t *buf;               /* unstuffed bytes of the current restart interval */
    size_t seg_len;             /* unstuffed bytes in buf */
    int marker;                 /* the marker ending that interval, -1: the input ended first */
    const uint8_t *p;           /* bit reader: next byte to load, */
    uint64_t bits;              /* bits, most significant first, */
    unsigned nb;                /* and how many of them are valid */
    unsigned restart_interval, restarts_to_go, next_rst;
    int blocks;                           /* blocks per MCU */
    uint8_t blk_comp[HW_SCAN_MAX_BLOCKS]; /* component (scan order) of each block */
    const struct hw_scan_huff *blk_dc[HW_SCAN_MAX_BLOCKS], *blk_ac[HW_SCAN_MAX_BLOCKS];
    int32_t pred[MAX_COMPS_IN_SCAN]; /* DC predictions (libjpeg keeps them as int) */
    struct hw_scan_huff dc[NUM_HUFF_TBLS], ac[NUM_HUFF_TBLS];
};

/**
 * Bytes of work buffer hw_jpeg_scan_start() needs when `len` bytes of input remain after the
 * scan header: the unstuffed copy of a restart interval can be that long, plus read-ahead
 * padding.
 */
size_t hw_jpeg_scan_work(size_t len);

/**
 * Prepare to decode the scan of `ci`, a decompressor whose header is read and whose
 * decompression is started, from its source's bytes (a memory source holding the rest of the
 * file, positioned at the first entropy-coded byte); `work` holds hw_jpeg_scan_work() bytes.
 *
 * Only what this decoder reproduces exactly is accepted: 8-bit, sequential, Huffman, one scan
 * holding every component. Anything else returns 1 and the caller decodes with libjpeg.
 * @return 0 ready; 1 declined (nothing to undo).
 */
int hw_jpeg_scan_start(struct hw_jpeg_scan *s, j_decompress_ptr ci, uint8_t *work, size_t work_len);

/**
 * Decode the next MCU into blk[0..s->blocks), which must be zero on entry, in libjpeg's
 * natural order and exactly as libjpeg's Huffman decoder stores them. Bit b of *ac_blocks is
 * set when block b may have AC coefficients (clear: only blk[b][0] can be nonzero).
 * @return 0; 1 when the data is not what a clean encoder writes (a bad code, data running
 *         into a marker, a wrong restart marker, DC predictions near overflow): libjpeg would
 *         warn or fail there, so the caller must let libjpeg decode the scan.
 */
int hw_jpeg_scan_mcu(struct hw_jpeg_scan *s, JCOEF (*blk)[DCTSIZE2], unsigned *ac_blocks);

/**
 * After the last MCU: 0 when the scan used its data exactly (no whole byte left over) and
 * the EOI marker follows it, so libjpeg would finish the image without a warning; else 1.
 */
int hw_jpeg_scan_finish(struct hw_jpeg_scan *s);

#endif
