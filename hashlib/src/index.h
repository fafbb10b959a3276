/* index.h: PDQ multi-index-hashing segments, built into LMDB values and searched zero-copy. */
#ifndef HASHLIB_INDEX_H
#define HASHLIB_INDEX_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "hw_pdq.h"

/*
 * A segment is an immutable set of n PDQ hashes (each with a 32-bit list id) plus, for each
 * of HW_IDX_SLOTS disjoint subsets ("slots") of the 256 bit positions, a table mapping the
 * slot's value to the ids of the hashes having it (an occupancy bitmap with rank counts, then
 * one word per non-empty bucket). By the pigeonhole principle a hash
 * within distance T of the query is within floor(T / HW_IDX_SLOTS) of it in at least one
 * slot, so probing every slot value within that radius finds every match (exact).
 * hashlib/STORE.md documents the stored layout.
 */
#define HW_IDX_SLOTS    11
#define HW_IDX_MAX_BITS 24
#define HW_IDX_FORMAT   4

/*
 * The hashes are stored in parts of at most 2^HW_IDX_PART_BITS (1 GiB each): LMDB 0.9 writes
 * a value's pages with one write(2), which Linux cuts at 2 GiB, and LMDB then fails the commit
 * with EIO (a single 2.56 GB value at 80M entries did).
 */
#define HW_IDX_PART_BITS 25
#define HW_IDX_PARTS_MAX 128 /* 2^32 hashes */

/* Test hook: the part size in bits used by builds and loads (HW_IDX_PART_BITS). */
extern int hw_idx_part_bits;

struct hw_idx_seg {
    uint64_t n;
    int part_bits;
    const uint64_t *hash[HW_IDX_PARTS_MAX]; /* hash i at hw_idx_hash(seg, i) */
    const uint32_t *list;                   /* n list ids */
    int n_slots;                            /* 0: no tables, always scanned */
    int bits[HW_IDX_SLOTS];
    uint8_t pos[HW_IDX_SLOTS][HW_IDX_MAX_BITS]; /* bit positions (k = 16 * row + col) */
    const uint32_t *rank[HW_IDX_SLOTS];         /* per 256 buckets: non-empty ones before */
    const uint64_t *bmp[HW_IDX_SLOTS];          /* 2^bits bits: bucket is non-empty */
    const uint32_t *word[HW_IDX_SLOTS];         /* nnz bucket words, in bucket order (index.c) */
    const uint32_t *ovf[HW_IDX_SLOTS];          /* lists of multi-hash buckets */
    uint32_t nnz[HW_IDX_SLOTS];
    uint32_t ovf_len[HW_IDX_SLOTS];
    void *owned[HW_IDX_PARTS_MAX + 1 + HW_IDX_SLOTS]; /* copies made when the map was misaligned */
};

/* The 4 words of hash `id` of the segment. */
static inline const uint64_t *hw_idx_hash(const struct hw_idx_seg *seg, uint64_t id)
{
    return seg->hash[id >> seg->part_bits] + 4 * (id & ((1ull << seg->part_bits) - 1));
}

/* Test hook: 0 = choose by cost (default), 1 = always use the tables, 2 = always scan. */
extern int hw_idx_mode;

/**
 * Build segment `prefix` ("b" or "d") from n hashes and list ids, replacing any previous one,
 * inside the write transaction. Arrays are read only. HW_OK, HW_ENOMEM, HW_EIO, HW_EFULL.
 */
int hw_idx_build(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const uint64_t *hash,
                 const uint32_t *list, uint64_t n, char *errbuf, size_t errbuf_len);

/**
 * Map segment `prefix` as the (read or write) transaction sees it. An absent segment is an
 * empty one. Pointers stay valid until the transaction ends; free with hw_idx_seg_release().
 * HW_OK, HW_ECORRUPT (sizes do not agree), HW_EVERSION (unknown segment format), HW_ENOMEM,
 * HW_EIO.
 */
int hw_idx_load(MDB_txn *txn, MDB_dbi dbi, const char *prefix, struct hw_idx_seg *seg, char *errbuf,
                size_t errbuf_len);
void hw_idx_seg_release(struct hw_idx_seg *seg);

/* Called for each (id, variant) whose distance is <= tmax; nonzero stops the search. */
typedef int (*hw_idx_hit_fn)(void *ctx, uint32_t id, int distance, int variant);

/**
 * Report every hash of the segment within tmax of any of q[0..n_q). A hash may be reported
 * more than once (several slots, several variants); callers de-duplicate.
 * HW_OK, HW_ECORRUPT (a table points outside the segment), or the callback's nonzero value.
 */
int hw_idx_search(const struct hw_idx_seg *seg, const struct hw_pdq *q, int n_q, int tmax,
                  hw_idx_hit_fn hit, void *ctx);

/**
 * The radius probed in slot s for threshold tmax: radii r_s with sum(r_s + 1) = tmax + 1,
 * as even as possible (the first (tmax + 1) % n_slots slots get one more). A hash with
 * distance d_s > r_s in every slot would be at distance >= tmax + 1, so one within tmax is
 * within r_s in some slot s (generalised pigeonhole). -1: the slot need not be probed.
 */
int hw_idx_slot_radius(int n_slots, int tmax, int s);

/** Hamming distance of two 4-word hashes (popcount instruction when the CPU has one). */
int hw_idx_distance(const uint64_t *a, const uint64_t *b);

#endif
