/* jpeg_scan.c: our own entropy decoder for baseline (sequential Huffman) JPEG scans. */
#include <string.h>

#include "jpeg_scan.h"

/*
 * Why: entropy decoding is most of what a sampled decode costs (every block is needed at
 * 12 MP), and libjpeg-turbo's decoder is byte-at-a-time around its stuffing checks. Here the
 * stuffing is removed once per restart interval (memchr and memcpy), after which the bit
 * reader refills branch-free with one unaligned 64-bit load, and a 10-bit table decodes an AC
 * code together with its value bits in one look-up.
 *
 * Why it is exact: Huffman decoding is lossless and canonical, so on data a clean encoder
 * wrote, any correct decoder stores the same coefficients libjpeg stores (libjpeg's rules are
 * reproduced: DC predictions kept as int and stored truncated to 16 bits, an AC run past
 * position 63 stores at 63, any EOB-like symbol (size 0, run < 15) ends the block). Wherever
 * libjpeg would warn or fail (a code longer than 16 bits, data running into a marker, a
 * restart marker out of sequence, whole bytes left over before a marker, no EOI after the
 * scan), this decoder stops with 1 and libjpeg's decoder runs the scan instead, so damaged
 * files get exactly libjpeg's result (decoded twice, up to where ours stopped).
 * tests/jpeg/test_jpeg_scan.c compares the coefficients with libjpeg's on generated, conformance
 * and mutated files.
 */

#define SCAN_PAD                                                                                   \
    4096 /* zero bytes after a segment: > one MCU's worst case (10 blocks of                       \
          * 64 codes of 16 + 15 bits = 2480 bytes) plus one 8-byte load */
/*
 * An AC look-up entry (fast_ac): up to two symbols whose codes and value bits fit in the
 * table's HW_SCAN_FAST_BITS. Bits 0-5 hold the length of the whole entry and nothing else, so
 * a 64-bit shift by the entry needs no mask (x86 masks shift counts to 6 bits).
 */
#define SCAN_EOB1     (1ull << 7) /* the first symbol ends the block */
#define SCAN_EOB2     (1ull << 6) /* the second symbol ends the block */
#define SCAN_RUN1(e)  (((unsigned)(e) >> 8) & 15u)
#define SCAN_RUN2(e)  (((unsigned)(e) >> 12) & 15u)
#define SCAN_LEN1(e)  (((unsigned)(e) >> 16) & 63u) /* length of the first symbol alone */
#define SCAN_HAS2     (1ull << 22) /* the second is a coefficient or a run of 16 zeros */
#define SCAN_VAL1(e)  ((int16_t)(uint16_t)((e) >> 32))
#define SCAN_VAL2(e)  ((int16_t)(uint16_t)((e) >> 48))
#define SCAN_PRED_MAX (1 << 30) /* DC prediction bound; libjpeg's int would overflow at 2^31 */

/* Zig-zag position -> natural order, with libjpeg's 16 extra entries: runs past 63 land on 63. */
static const uint8_t scan_natural[DCTSIZE2 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33,
    40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

size_t hw_jpeg_scan_work(size_t len)
{
    return len + SCAN_PAD;
}

/* libjpeg's HUFF_EXTEND: s value bits v as a signed coefficient. s in 1..15. */
static inline int32_t scan_extend(uint32_t v, unsigned s)
{
    return v < (1u << (s - 1)) ? (int32_t)v - (int32_t)(1u << s) + 1 : (int32_t)v;
}

/*
 * One symbol of an AC entry from the first `avail` bits of `bits` (left-aligned in
 * HW_SCAN_FAST_BITS): 0 when its code and value bits do not fit, else its length, with *sym
 * and, for a coefficient, *val.
 */
static unsigned scan_ac_sym(const struct hw_scan_huff *h, uint32_t bits, unsigned avail,
                            unsigned *sym, int32_t *val)
{
    unsigned e = h->fast[bits & ((1u << HW_SCAN_FAST_BITS) - 1u)], l = e & 0xffu, sz;

    if (e == 0 || l > avail) {
        return 0;
    }
    *sym = e >> 8;
    sz = *sym & 15u;
    *val = 0;
    if (sz == 0) {
        return l;
    }
    if (l + sz > avail) {
        return 0;
    }
    *val = scan_extend((bits >> (HW_SCAN_FAST_BITS - l - sz)) & ((1u << sz) - 1u), sz);
    return l + sz;
}

/*
 * The AC entry for table index j: its first symbol, and a second one when it also fits. An
 * end-of-block symbol is any size-0 symbol but a run of 16 zeros (r = 15), as in libjpeg.
 */
static uint64_t scan_ac_entry(const struct hw_scan_huff *h, uint32_t j)
{
    unsigned sym1, sym2, l1, l2;
    int32_t v1, v2;
    uint64_t e;

    l1 = scan_ac_sym(h, j, HW_SCAN_FAST_BITS, &sym1, &v1);
    if (l1 == 0) {
        return 0;
    }
    if ((sym1 & 15u) == 0 && (sym1 >> 4) != 15) {
        return SCAN_EOB1 | l1;
    }
    e = ((uint64_t)(uint16_t)v1 << 32) | ((uint64_t)l1 << 16) | ((uint64_t)(sym1 >> 4) << 8) | l1;
    l2 = scan_ac_sym(h, (j << l1) & ((1u << HW_SCAN_FAST_BITS) - 1u), HW_SCAN_FAST_BITS - l1, &sym2,
                     &v2);
    if (l2 == 0) {
        return e;
    }
    e = (e & ~(uint64_t)63) | (l1 + l2);
    if ((sym2 & 15u) == 0 && (sym2 >> 4) != 15) {
        return e | SCAN_EOB2;
    }
    return e | SCAN_HAS2 | ((uint64_t)(uint16_t)v2 << 48) | ((uint64_t)(sym2 >> 4) << 12);
}

/*
 * Build the decoding tables of one DHT table, with the checks libjpeg's
 * jpeg_make_d_derived_tbl makes (it has already accepted the table when decompression
 * started; a table it refused never gets here, but this decoder does not rely on that).
 */
static int scan_build(struct hw_scan_huff *h, const JHUFF_TBL *t, int is_dc)
{
    unsigned n = 0, k = 0;
    uint32_t code = 0;

    if (t == NULL) {
        return 1;
    }
    for (int l = 1; l <= 16; l++) {
        n += t->bits[l];
    }
    if (n > 256) {
        return 1;
    }
    memcpy(h->vals, t->huffval, n);
    memset(h->fast, 0, sizeof(h->fast));
    memset(h->fast_ac, 0, sizeof(h->fast_ac));
    for (int l = 1; l <= 16; l++) {
        unsigned cnt = t->bits[l];

        h->maxcode[l] = -1;
        h->valoff[l] = 0;
        if (cnt != 0) {
            h->valoff[l] = (int32_t)k - (int32_t)code;
            for (unsigned i = 0; i < cnt; i++, k++, code++) {
                uint8_t sym = h->vals[k];

                if (is_dc && sym > 15) {
                    return 1;
                }
                if (l > HW_SCAN_FAST_BITS) {
                    continue;
                }
                /* every table index whose first l bits are this code */
                for (uint32_t j = code << (HW_SCAN_FAST_BITS - l);
                     j < (code + 1) << (HW_SCAN_FAST_BITS - l); j++) {
                    h->fast[j] = (uint16_t)(((unsigned)sym << 8) | (unsigned)l);
                }
            }
            h->maxcode[l] = (int32_t)code - 1;
        }
        /* libjpeg: the codes of a length must not reach the all-ones code */
        if (code >= (1u << l)) {
            return 1;
        }
        code <<= 1;
    }
    h->maxcode[0] = -1;
    h->maxcode[17] = -1;
    if (!is_dc) {
        for (uint32_t j = 0; j < (1u << HW_SCAN_FAST_BITS); j++) {
            h->fast_ac[j] = scan_ac_entry(h, j);
        }
    }
    return 0;
}

/*
 * Unstuff the next restart interval into s->buf: FF 00 is a data FF, FF xx (any number of FFs)
 * ends the interval with marker xx. FF FF 00 is not valid JPEG, and libjpeg-turbo 2.1 reads it
 * two ways: its slow path as a data FF, its fast path as a marker, after which it decodes zero
 * bits, falls back to the slow path and keeps the coefficients the zeros gave. It ends the
 * interval here with no marker, which makes this decoder decline.
 */
static void scan_segment(struct hw_jpeg_scan *s)
{
    const uint8_t *in = s->in, *end = s->in_end;
    uint8_t *o = s->buf;

    s->marker = -1;
    while (in < end) {
        const uint8_t *ff = memchr(in, 0xFF, (size_t)(end - in));
        const uint8_t *q;

        if (ff == NULL) {
            memcpy(o, in, (size_t)(end - in));
            o += end - in;
            in = end;
            break;
        }
        memcpy(o, in, (size_t)(ff - in));
        o += ff - in;
        for (q = ff + 1; q < end && *q == 0xFF; q++) {
        }
        if (q == end) {
            in = end;
            break;
        }
        in = q + 1;
        if (*q == 0 && q == ff + 1) {
            *o++ = 0xFF;
            continue;
        }
        if (*q == 0) {
            in = end; /* FF FF 00: see above */
            break;
        }
        s->marker = *q;
        break;
    }
    s->in = in;
    s->seg_len = (size_t)(o - s->buf);
    memset(o, 0, SCAN_PAD);
    s->p = s->buf;
    s->bits = 0;
    s->nb = 0;
}

int hw_jpeg_scan_start(struct hw_jpeg_scan *s, j_decompress_ptr ci, uint8_t *work, size_t work_len)
{
    const uint8_t *at = ci->src != NULL ? ci->src->next_input_byte : NULL;
    size_t avail = ci->src != NULL ? ci->src->bytes_in_buffer : 0;
    int built_dc = 0, built_ac = 0;

    if (ci->data_precision != 8 || ci->progressive_mode || ci->arith_code ||
        ci->comps_in_scan != ci->num_components || ci->comps_in_scan > MAX_COMPS_IN_SCAN ||
        ci->Ss != 0 || ci->Se != DCTSIZE2 - 1 || ci->Ah != 0 || ci->Al != 0 ||
        ci->blocks_in_MCU < 1 || ci->blocks_in_MCU > HW_SCAN_MAX_BLOCKS || ci->unread_marker != 0 ||
        at == NULL || work_len < avail + SCAN_PAD) {
        return 1;
    }
    memset(s->pred, 0, sizeof(s->pred));
    s->blocks = 0;
    for (int c = 0; c < ci->comps_in_scan; c++) {
        const jpeg_component_info *cp = ci->cur_comp_info[c];
        int dt = cp->dc_tbl_no, at_ = cp->ac_tbl_no;

        if (dt < 0 || dt >= NUM_HUFF_TBLS || at_ < 0 || at_ >= NUM_HUFF_TBLS ||
            cp->MCU_blocks < 1 || s->blocks + cp->MCU_blocks > HW_SCAN_MAX_BLOCKS) {
            return 1;
        }
        if (!(built_dc & (1 << dt))) {
            if (scan_build(&s->dc[dt], ci->dc_huff_tbl_ptrs[dt], 1) != 0) {
                return 1;
            }
            built_dc |= 1 << dt;
        }
        if (!(built_ac & (1 << at_))) {
            if (scan_build(&s->ac[at_], ci->ac_huff_tbl_ptrs[at_], 0) != 0) {
                return 1;
            }
            built_ac |= 1 << at_;
        }
        for (int b = 0; b < cp->MCU_blocks; b++) {
            s->blk_comp[s->blocks] = (uint8_t)c;
            s->blk_dc[s->blocks] = &s->dc[dt];
            s->blk_ac[s->blocks] = &s->ac[at_];
            s->blocks++;
        }
    }
    if (s->blocks != ci->blocks_in_MCU) {
        return 1;
    }
    s->restart_interval = ci->restart_interval;
    s->restarts_to_go = ci->restart_interval;
    s->next_rst = 0;
    s->in = at;
    s->in_end = at + avail;
    s->buf = work;
    scan_segment(s);
    return 0;
}

/* Bits taken from the current interval so far. */
static inline uint64_t scan_used(const struct hw_jpeg_scan *s)
{
    return (uint64_t)(s->p - s->buf) * 8u - s->nb;
}

/* The interval ended: all its bits but a partial byte were used, and nothing more. */
static inline int scan_segment_done(const struct hw_jpeg_scan *s)
{
    uint64_t used = scan_used(s), have = (uint64_t)s->seg_len * 8u;

    return used <= have && have - used < 8;
}

static inline uint64_t scan_load_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return __builtin_bswap64(v);
}

/* Make 56..63 bits valid (reads at most 8 bytes at p; the segment padding covers it). */
#define SCAN_REFILL()                                                                              \
    do {                                                                                           \
        bits |= scan_load_be64(p) >> nb;                                                           \
        p += (63u - nb) >> 3;                                                                      \
        nb |= 56u;                                                                                 \
    } while (0)

#define SCAN_DROP(n)                                                                               \
    do {                                                                                           \
        bits <<= (n);                                                                              \
        nb -= (n);                                                                                 \
    } while (0)

/* A code longer than the look-up table: canonical decoding, as libjpeg's jpeg_huff_decode. */
static inline int scan_slow_sym(const struct hw_scan_huff *h, uint64_t *bits, unsigned *nb)
{
    for (unsigned l = HW_SCAN_FAST_BITS + 1; l <= 16; l++) {
        int32_t code = (int32_t)(*bits >> (64 - l));

        if (code <= h->maxcode[l]) {
            *bits <<= l;
            *nb -= l;
            return h->vals[(code + h->valoff[l]) & 0xff];
        }
    }
    return -1; /* libjpeg: "Corrupt JPEG data: bad Huffman code" */
}

static inline int scan_sym(const struct hw_scan_huff *h, uint64_t *bits, unsigned *nb)
{
    unsigned e = h->fast[*bits >> (64 - HW_SCAN_FAST_BITS)];

    if (e != 0) {
        unsigned l = e & 0xffu;

        *bits <<= l;
        *nb -= l;
        return (int)(e >> 8);
    }
    return scan_slow_sym(h, bits, nb);
}

int hw_jpeg_scan_mcu(struct hw_jpeg_scan *s, JCOEF (*blk)[DCTSIZE2], unsigned *ac_blocks)
{
    const uint8_t *p;
    uint64_t bits;
    unsigned nb, acb = 0;

    if (s->restart_interval != 0) {
        if (s->restarts_to_go == 0) {
            if (!scan_segment_done(s) || s->marker != (int)(0xD0 + s->next_rst)) {
                return 1;
            }
            s->next_rst = (s->next_rst + 1) & 7u;
            scan_segment(s);
            memset(s->pred, 0, sizeof(s->pred));
            s->restarts_to_go = s->restart_interval;
        }
        s->restarts_to_go--;
    }
    p = s->p;
    bits = s->bits;
    nb = s->nb;
    for (int b = 0; b < s->blocks; b++) {
        const struct hw_scan_huff *ac = s->blk_ac[b];
        JCOEF *out = blk[b];
        int32_t pred;
        int sym;
        unsigned k;

        SCAN_REFILL();
        sym = scan_sym(s->blk_dc[b], &bits, &nb);
        if (sym < 0) {
            return 1;
        }
        pred = s->pred[s->blk_comp[b]];
        if (sym != 0) {
            uint32_t v = (uint32_t)(bits >> (64 - sym));

            SCAN_DROP((unsigned)sym);
            pred += scan_extend(v, (unsigned)sym);
            if (pred > SCAN_PRED_MAX || pred < -SCAN_PRED_MAX) {
                return 1;
            }
            s->pred[s->blk_comp[b]] = pred;
        }
        out[0] = (JCOEF)(int16_t)(uint16_t)(uint32_t)pred; /* libjpeg's (JCOEF) cast */

        for (k = 1; k < DCTSIZE2;) {
            /* At least 25 bits are valid here (56 after a refill, at most 31 taken since), so
             * the look-up index does not wait for the refill: the load runs beside it. */
            uint32_t idx = (uint32_t)(bits >> (64 - HW_SCAN_FAST_BITS));
            uint64_t e;

            SCAN_REFILL();
            e = ac->fast_ac[idx];
            if (e != 0) {
                uint64_t before = bits;

                SCAN_DROP((unsigned)e & 63u);
                if (e & SCAN_EOB1) {
                    break;
                }
                k += SCAN_RUN1(e);
                out[scan_natural[k]] = SCAN_VAL1(e);
                k++;
                if (k >= DCTSIZE2) {
                    /* the block is full: a second symbol belongs to the next block */
                    if (e & (SCAN_HAS2 | SCAN_EOB2)) {
                        nb += ((unsigned)e & 63u) - SCAN_LEN1(e);
                        bits = before << SCAN_LEN1(e);
                    }
                    break;
                }
                /* branch-free: without a second coefficient this stores 0 at position k,
                 * not written yet; a run past 63 lands on 63, as in libjpeg */
                k += SCAN_RUN2(e);
                out[scan_natural[k]] = SCAN_VAL2(e);
                k += (unsigned)(e >> 22) & 1u;
                if (e & SCAN_EOB2) {
                    break;
                }
                continue;
            }
            sym = scan_sym(ac, &bits, &nb);
            if (sym < 0) {
                return 1;
            }
            if ((sym & 15) != 0) {
                unsigned sz = (unsigned)sym & 15u;
                uint32_t v = (uint32_t)(bits >> (64 - sz));

                SCAN_DROP(sz);
                k += (unsigned)sym >> 4;
                out[scan_natural[k]] = (JCOEF)scan_extend(v, sz);
                k++;
            } else if ((sym >> 4) == 15) {
                k += 16;
            } else {
                break;
            }
        }
        acb |= (unsigned)(k > 1) << b;
    }
    *ac_blocks = acb;
    s->p = p;
    s->bits = bits;
    s->nb = nb;
    /* Data running past the interval: libjpeg would warn and decode zeros from here on. */
    return scan_used(s) > (uint64_t)s->seg_len * 8u;
}

int hw_jpeg_scan_finish(struct hw_jpeg_scan *s)
{
    return !(scan_segment_done(s) && s->marker == 0xD9);
}
