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
 * one 6-byte entry per non-empty bucket: an id and a fingerprint of the next slot). By the
 * pigeonhole principle a hash within distance T of the query is within floor(T / HW_IDX_SLOTS)
 * of it in at least one slot, so probing every slot value within that radius finds every match
 * (exact); the fingerprints drop most candidates without reading their hashes, still exactly
 * (the pigeonring test, index.c).
 * hashlib/STORE.md documents the stored layout.
 */
#define HW_IDX_SLOTS    11
#define HW_IDX_MAX_BITS 24
#define HW_IDX_FORMAT   5

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
    const uint8_t *word[HW_IDX_SLOTS];          /* nnz 6-byte bucket entries, in bucket order */
    const uint8_t *ovf[HW_IDX_SLOTS];           /* entry lists of multi-hash buckets (index.c) */
    uint32_t nnz[HW_IDX_SLOTS];
    uint32_t ovf_len[HW_IDX_SLOTS];
    void *owned[HW_IDX_PARTS_MAX + 1 + HW_IDX_SLOTS]; /* copies made when the map was misaligned */
    struct hw_idx_hot *hot; /* its copy in huge pages, once made (hw_idx_attach_hot) */
};

/* The 4 words of hash `id` of the segment. */
static inline const uint64_t *hw_idx_hash(const struct hw_idx_seg *seg, uint64_t id)
{
    return seg->hash[id >> seg->part_bits] + 4 * (id & ((1ull << seg->part_bits) - 1));
}

/* Test hook: 0 = choose by cost (default), 1 = always use the tables, 2 = always scan. */
extern int hw_idx_mode;

/* Test hook: threads building slot tables; 0 (default) = by cores and memory (index.c). */
extern int hw_idx_builders;

/**
 * Build segment `prefix` ("b" or "d") from n hashes and list ids, replacing any previous one,
 * inside the write transaction. Arrays are read only. The slot tables are built by up to 4
 * threads (one per core, as memory allows); LMDB is called from the caller's thread only.
 * HW_OK, HW_ENOMEM, HW_EIO, HW_EFULL, HW_ETOOBIG.
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
 * more than once (several slots, several variants); callers de-duplicate. scan != 0 compares
 * q with every hash instead of using the tables.
 * HW_OK, HW_ECORRUPT (a table points outside the segment), HW_EINVAL (n_q > HW_DIH_COUNT),
 * HW_ENOMEM, or the callback's nonzero value.
 */
int hw_idx_search(const struct hw_idx_seg *seg, const struct hw_pdq *q, int n_q, int tmax, int scan,
                  hw_idx_hit_fn hit, void *ctx);

/**
 * The radius probed in slot s for threshold tmax: radii r_s with sum(r_s + 1) = tmax + 1,
 * as even as possible (the first (tmax + 1) % n_slots slots get one more). A hash with
 * distance d_s > r_s in every slot would be at distance >= tmax + 1, so one within tmax is
 * within r_s in some slot s (generalised pigeonhole). -1: the slot need not be probed.
 */
int hw_idx_slot_radius(int n_slots, int tmax, int s);

/*
 * Hot copies. A search touches thousands of random cache lines of a large segment, and with
 * 4 KiB pages of LMDB's map most of them also miss the TLB. A segment of at least
 * hw_idx_hot_min bytes that carries a build id is therefore copied once, by a background
 * thread with its own read transaction, into anonymous memory backed by transparent huge
 * pages; searches use the copy as soon as it is complete and the map until then. Copies are
 * shared by every snapshot of the same build (same id) in the process and dropped when the
 * segment is rebuilt (new id) and no snapshot uses them any more, or when the store closes.
 */
struct hw_idx_hot;

/* Segments smaller than this stay in the map; 0 (the default) disables hot copies. */
extern size_t hw_idx_hot_min;

/** Attach seg (loaded in a read transaction) to its hot copy, starting the copy if needed. */
void hw_idx_attach_hot(MDB_txn *txn, MDB_dbi dbi, const char *prefix, struct hw_idx_seg *seg);

/** Stop and free every hot copy of env's segments (before mdb_env_close). */
void hw_idx_hot_close(MDB_env *env);

/** Bytes of env's current hot copies that are ready, and how many are still being made. */
void hw_idx_hot_stats(MDB_env *env, size_t *bytes_ready, unsigned *copying);

/** Wait up to timeout_ms until no copy of env's segments is being made: the number of copies
 *  ready, or -1 on timeout. */
int hw_idx_hot_wait(MDB_env *env, int timeout_ms);

/** Hamming distance of two 4-word hashes (popcount instruction when the CPU has one). */
int hw_idx_distance(const uint64_t *a, const uint64_t *b);

#endif
