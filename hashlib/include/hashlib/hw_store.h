/* hw_store.h: named hash lists in one LMDB store, atomic imports, and exact/near look-ups. */
#ifndef HASHLIB_HW_STORE_H
#define HASHLIB_HW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hw_pdq.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hw_hash_type {
    HW_HASH_NONE = 0,
    HW_HASH_PDQ = 1,       /* 32 bytes (struct hw_pdq, little-endian words); near match */
    HW_HASH_MD5 = 2,       /* 16 bytes; exact */
    HW_HASH_SHA1 = 3,      /* 20 bytes; exact */
    HW_HASH_SHA256 = 4,    /* 32 bytes; exact */
    HW_HASH_PHOTODNA = 5,  /* 144 raw bytes; exact only (cannot be computed here) */
    HW_HASH_VIDEO_MD5 = 6, /* 16 bytes; exact */
    HW_HASH_TYPE_COUNT = 7
};

#define HW_HASH_MAX_LEN 144

/** "pdq", "md5", "sha1", "sha256", "photodna", "video_md5"; "none" otherwise. Never NULL. */
const char *hw_hash_type_name(enum hw_hash_type t);
/** Parse a type name (case-insensitive; also "sha-1", "sha-256", "pdq256"...); NONE if unknown. */
enum hw_hash_type hw_hash_type_parse(const char *s);
/** Length in bytes of a hash of that type; 0 for HW_HASH_NONE. */
size_t hw_hash_type_len(enum hw_hash_type t);

#define HW_LIST_NAME_MAX 64 /* including the NUL; names are [a-z0-9_.-]{1,63} */
#define HW_ENTRY_ID_MAX  128
#define HW_MEMBER_ID_MAX 64
#define HW_CATEGORY_MAX  64

/* Severity mapped from a list's category strings (higher is worse). */
enum hw_severity {
    HW_SEV_UNKNOWN = 0,
    HW_SEV_LOW = 1,
    HW_SEV_MEDIUM = 2,
    HW_SEV_HIGH = 3,
    HW_SEV_CRITICAL = 4
};
const char *hw_severity_name(int sev);

/** One list's metadata. */
struct hw_list_info {
    char name[HW_LIST_NAME_MAX];
    char source[256];
    char licence[256];
    int pdq_threshold; /* default HW_PDQ_THRESHOLD_DEFAULT */
    uint64_t version;  /* changes on every committed import */
    uint64_t counts[HW_HASH_TYPE_COUNT];
    int64_t created; /* unix seconds */
    int64_t updated;
};

/** One list entry, as importers produce it and look-ups report it. */
struct hw_entry {
    enum hw_hash_type type;
    uint8_t hash[HW_HASH_MAX_LEN];
    char entry_id[HW_ENTRY_ID_MAX];   /* source record id ("" when the format has none) */
    char member_id[HW_MEMBER_ID_MAX]; /* member / ESP id where the format has one */
    char category[HW_CATEGORY_MAX];   /* the original category string */
    int severity;                     /* enum hw_severity */
    int64_t created;                  /* unix seconds, from the source when it has one */
};

typedef struct hw_store hw_store;

#define HW_STORE_RDONLY 0x1 /* open an existing store read-only */

/**
 * Open (creating when absent, unless HW_STORE_RDONLY) the store in directory `dir`.
 * @return HW_OK, HW_EIO, HW_EVERSION (written by another schema version), HW_ENOMEM.
 * Ownership: close with hw_store_close(). Thread safety: one hw_store per process, shared by
 * all threads; several processes may open the same store (one writer at a time).
 */
int hw_store_open(const char *dir, unsigned flags, hw_store **out, char *errbuf, size_t errbuf_len);
void hw_store_close(hw_store *s);

/**
 * Hot index copies, for long-running processes (the server, benchmarks); off by default.
 * With min_bytes > 0, a PDQ index segment of at least min_bytes is copied once, in the
 * background, into memory backed by transparent huge pages, and searched there once the copy
 * is complete: 29-35% faster at 10M entries on the earlier development machine, where most of a
 * search's random reads otherwise also miss the TLB. It costs that memory a second time (the
 * map's pages stay in the page cache, reclaimable) and a copy after each rebuild of the
 * segment. Never for an index larger than half of physical memory. 0 turns it off for
 * segments loaded from then on. Process-wide; call before serving.
 */
void hw_store_hot_index(size_t min_bytes);

/**
 * Wait up to timeout_ms until no hot copy of s's index is still being made.
 * @return the number of hot copies in use, or -1 on timeout.
 */
int hw_store_hot_index_wait(hw_store *s, int timeout_ms);

/**
 * What the hot copies of s's index hold now: *bytes_ready, the memory of the copies in use
 * (0 when every search reads LMDB's map), and *copying, the copies still being made. Both 0
 * for s == NULL. Thread-safe; cheap (walks a short list under a mutex).
 */
void hw_store_hot_index_stats(hw_store *s, size_t *bytes_ready, unsigned *copying);

/* ---- lists ---- */

struct hw_list_config {
    const char *source;  /* NULL: unchanged */
    const char *licence; /* NULL: unchanged */
    int pdq_threshold;   /* < 0: unchanged (new lists get HW_PDQ_THRESHOLD_DEFAULT) */
};

/** Create a list, or update the metadata of an existing one. Thread-safe. */
int hw_store_list_set(hw_store *s, const char *name, const struct hw_list_config *cfg, char *errbuf,
                      size_t errbuf_len);
/** Remove a list and all its entries, atomically. HW_ENOTFOUND if absent. Thread-safe. */
int hw_store_list_remove(hw_store *s, const char *name, char *errbuf, size_t errbuf_len);

/* ---- writing: one batch = one atomic import ---- */

typedef struct hw_batch hw_batch;

#define HW_BATCH_REPLACE 0x1 /* the batch becomes the whole content of the list */

struct hw_batch_stats {
    uint64_t added, updated, deleted, unchanged;
};

/**
 * Start an import into `list` (created if absent). Nothing is visible to readers until
 * hw_batch_commit(); a reader sees the old list or the new one, never a mix.
 */
int hw_batch_begin(hw_store *s, const char *list, unsigned flags, hw_batch **out, char *errbuf,
                   size_t errbuf_len);
/** Insert or update an entry (keyed by type + hash). */
int hw_batch_put(hw_batch *b, const struct hw_entry *e);
/** Remove an entry (by type + hash; by entry_id when type is HW_HASH_NONE). Absent: no-op. */
int hw_batch_delete(hw_batch *b, const struct hw_entry *e);
/** Commit durably; bumps the list version if anything changed. Frees the batch. */
int hw_batch_commit(hw_batch *b, struct hw_batch_stats *stats, char *errbuf, size_t errbuf_len);
/** Abandon the batch; nothing is applied. Frees it; NULL is accepted. */
void hw_batch_abort(hw_batch *b);

/* ---- reading: a consistent snapshot ---- */

typedef struct hw_snapshot hw_snapshot;

/** Begin a read snapshot (an LMDB read transaction). Cheap. One thread per snapshot. */
int hw_snapshot_begin(hw_store *s, hw_snapshot **out, char *errbuf, size_t errbuf_len);
/** End a snapshot; NULL is accepted. */
void hw_snapshot_end(hw_snapshot *snap);

/**
 * Like hw_snapshot_begin(), but reuses a snapshot given back by hw_snapshot_release(): its
 * decoded lists and mapped index stay valid while no write has committed, which saves most
 * of the cost of a short look-up. The result always shows the latest committed state, as a
 * new snapshot would. Any thread; end it with hw_snapshot_release() (or hw_snapshot_end()).
 */
int hw_snapshot_acquire(hw_store *s, hw_snapshot **out, char *errbuf, size_t errbuf_len);
/** Give a snapshot back for reuse. Its read transaction is reset: it pins no old pages. */
void hw_snapshot_release(hw_snapshot *snap);

/**
 * The lists as this snapshot sees them, sorted by name. Writes up to `cap` into out, sets
 * *n to the total count. HW_OK.
 */
int hw_snapshot_lists(hw_snapshot *snap, struct hw_list_info *out, size_t cap, size_t *n);

struct hw_match {
    char list[HW_LIST_NAME_MAX];
    uint64_t list_version;
    struct hw_entry entry;
    int distance; /* PDQ Hamming distance; 0 for exact types */
    int variant;  /* enum hw_dihedral that matched; HW_DIH_ORIG for exact types */
};

struct hw_match_opts {
    const char *const *lists; /* restrict to these lists; NULL means all */
    size_t n_lists;
    int max_distance; /* < 0: each list's threshold; else min(this, list threshold) */
    int variants;     /* PDQ: also match the 7 other dihedral variants in q[1..7] */
    int scan;         /* PDQ: compare q with every hash instead of using the index (the same
                       * answer, slowly): the brute-force side of benchmarks and checks */
};

/**
 * Every PDQ entry within the threshold of q[0] (or, with opts->variants, of any q[v]; the
 * smallest distance per entry is reported, with its variant). Exact: the same set as a
 * brute-force scan. Results sorted by distance, then list, then entry.
 *
 * @param q     1 hash, or HW_DIH_COUNT hashes when opts->variants
 * @param out   up to cap matches; *n_found receives the total (may exceed cap)
 * Thread safety: one thread per snapshot.
 */
int hw_snapshot_match_pdq(hw_snapshot *snap, const struct hw_pdq *q,
                          const struct hw_match_opts *opts, struct hw_match *out, size_t cap,
                          size_t *n_found);

/** Every entry of an exact type equal to `hash` (hw_hash_type_len(type) bytes). */
int hw_snapshot_match_exact(hw_snapshot *snap, enum hw_hash_type type, const uint8_t *hash,
                            const struct hw_match_opts *opts, struct hw_match *out, size_t cap,
                            size_t *n_found);

#ifdef __cplusplus
}
#endif
#endif
