/* index.c: build and search the PDQ multi-index-hashing segments kept as LMDB values. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hw_error.h"
#include "index.h"
#include "le_bytes.h"

int hw_idx_mode = 0;
int hw_idx_part_bits = HW_IDX_PART_BITS;

#define HW_IDX_MAGIC  0x58495748u /* "HWIX" */
#define HW_IDX_ENDIAN 0x01020304u /* arrays are native; refuse a store from another byte order */

/* Stored header: fixed little-endian layout, see STORE.md. */
#define HDR_LEN (4 + 4 + 4 + 8 + 4 + 4 * HW_IDX_SLOTS + HW_IDX_SLOTS * HW_IDX_MAX_BITS)

/* Slot s may use up to slot_len(s) bits: 3 x 24 + 8 x 23 = 256, so slots never share a bit. */
static int slot_len(int s)
{
    return s < 3 ? 24 : 23;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/*
 * Real lists are clustered and neighbouring DCT coefficients are correlated, so contiguous
 * bit ranges fill buckets unevenly; each slot takes bits from a fixed pseudo-random
 * permutation of all 256 positions instead. The positions are stored in the segment header,
 * so changing this function never invalidates an existing store.
 */
static void bit_permutation(uint8_t perm[256])
{
    uint64_t seed = 0x68617368776174ull; /* "hashwat" */

    for (int i = 0; i < 256; i++) {
        perm[i] = (uint8_t)i;
    }
    for (int i = 255; i > 0; i--) {
        int j = (int)(splitmix64(&seed) % (uint64_t)(i + 1));
        uint8_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int ceil_log2(uint64_t n)
{
    int b = 0;

    while (b < 63 && (1ull << b) < n) {
        b++;
    }
    return b;
}

static void key_name(char *out, size_t len, const char *prefix, const char *what)
{
    snprintf(out, len, "%s.%s", prefix, what);
}

/* Hash part p (< HW_IDX_PARTS_MAX): "hash", then "hash.1", "hash.2", ... */
static void part_name(char *out, size_t len, uint64_t p)
{
    if (p == 0) {
        snprintf(out, len, "hash");
    } else {
        snprintf(out, len, "hash.%u", (unsigned)(p % HW_IDX_PARTS_MAX));
    }
}

static int lmdb_err(int rc, char *errbuf, size_t errbuf_len, const char *what)
{
    if (rc == MDB_MAP_FULL) {
        return hw_seterr(HW_EFULL, errbuf, errbuf_len, "%s: store map is full", what);
    }
    if (rc == ENOMEM) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "%s: out of memory", what);
    }
    return hw_seterr(HW_EIO, errbuf, errbuf_len, "%s: %s", what, mdb_strerror(rc));
}

static int reserve(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *what, size_t len,
                   void **out, char *errbuf, size_t errbuf_len)
{
    char name[32];
    MDB_val k, v;
    int rc;

    key_name(name, sizeof(name), prefix, what);
    k.mv_data = name;
    k.mv_size = strlen(name);
    v.mv_data = NULL;
    v.mv_size = len;
    rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index build");
    }
    *out = v.mv_data;
    return HW_OK;
}

static void drop_key(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *what)
{
    char name[32];
    MDB_val k;

    key_name(name, sizeof(name), prefix, what);
    k.mv_data = name;
    k.mv_size = strlen(name);
    (void)mdb_del(txn, dbi, &k, NULL);
}

/* The slot value of byte-array hash h, through per-byte lookup tables. */
struct slot_tab {
    int n_bytes;
    uint8_t byte[32];
    uint32_t tab[32][256];
};

static void slot_tab_init(struct slot_tab *t, const uint8_t *pos, int bits)
{
    int used[32] = {0};

    memset(t, 0, sizeof(*t));
    for (int j = 0; j < bits; j++) {
        int p = pos[j];
        used[p >> 3] = 1;
        for (int v = 0; v < 256; v++) {
            if ((v >> (p & 7)) & 1) {
                t->tab[p >> 3][v] |= 1u << j;
            }
        }
    }
    for (int b = 0; b < 32; b++) {
        if (used[b]) {
            t->byte[t->n_bytes++] = (uint8_t)b;
        }
    }
}

static uint32_t slot_tab_value(const struct slot_tab *t, const uint64_t *h)
{
    uint32_t v = 0;

    for (int i = 0; i < t->n_bytes; i++) {
        int b = t->byte[i];
        v |= t->tab[t->byte[i]][(uint8_t)(h[b >> 3] >> (8 * (b & 7)))];
    }
    return v;
}

/* The value of hash h at the first n positions of pos (bit j from pos[j]). */
static uint32_t pos_value(const uint8_t *pos, int n, const uint64_t *h)
{
    uint32_t v = 0;

    for (int j = 0; j < n; j++) {
        int p = pos[j];
        v |= (uint32_t)((h[p >> 6] >> (p & 63)) & 1) << j;
    }
    return v;
}

static uint32_t slot_value(const struct hw_idx_seg *seg, int s, const uint64_t *h)
{
    return pos_value(seg->pos[s], seg->bits[s], h);
}

/*
 * Slot table layout (format 5), one LMDB value per slot, native byte order but for the
 * entries (little-endian):
 *   u32 nnz (non-empty buckets), 44 bytes of 0 (LMDB puts a large value 16 bytes into a
 *       page: the rank table and the bitmap then start on a cache line),
 *   u32 rank[2^bits / 256]  non-empty buckets before each block of 256,
 *   u64 bmp[2^bits / 64]    bit v set when bucket v is non-empty,
 *   e48 word[nnz]           one entry per non-empty bucket, in bucket order,
 *   e48 ovf[]               lists of the buckets holding several hashes,
 *   8 bytes of 0            (an entry is read with one unaligned 8-byte load).
 * An entry is 6 bytes: a u32 then a u16 "ring fingerprint". A word is (id, fp) for a bucket
 * holding one hash, or (SLOT_MULTI | p, 0) for a bucket of c >= 2 hashes, whose count and
 * entries are ovf[p] = (c, 0), ovf[p + 1 .. p + c] = (id, fp).
 *
 * fp is the value of the hash at the first ring_bits() positions of the next slot (s + 1
 * mod the slot count). Pigeonring (Qin and Xiao, VLDB 2018): with e_s = r_s + 1 - d_s and
 * sum(e_s) = T + 1 - d >= 1 for a hash at distance d <= T, some slot s starts a cyclic run
 * whose every partial sum is >= 1; in particular d_s <= r_s and d_s + d_{s+1} <=
 * r_s + r_{s+1} + 1. So a candidate found in slot s at slot distance d_s is dropped, still
 * exactly, when its fingerprint differs from the query's in more than r_s + r_{s+1} + 1 - d_s
 * bits (fewer positions can only lower that count). A random candidate passes with
 * probability about 1%, so most candidates are dropped without reading their hash.
 */
#define SLOT_HDR   48
#define SLOT_MULTI 0x80000000u
#define SLOT_TAIL  8
#define ENT_LEN    6
#define RING_BITS  16

/* Positions of the next slot that make slot s's fingerprints. */
static int ring_bits(const int *bits, int n_slots, int s)
{
    int b = bits[(s + 1) % n_slots];

    return b < RING_BITS ? b : RING_BITS;
}

static void ent_put(uint8_t *p, uint32_t v, uint16_t fp)
{
    put_u32(p, v);
    put_u16(p + 4, fp);
}

/* Entry i of an entry array: the u32 in bits 0..31, the fingerprint in 32..47. */
static inline uint64_t ent_get(const uint8_t *base, size_t i)
{
    uint64_t v;

    memcpy(&v, base + ENT_LEN * i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/*
 * One stable counting-sort pass of the `width`-bit digit at `shift` of each key, moving each
 * key's fingerprint along with it (reading both in order: looking fingerprints up by id after
 * the sort would take a cache miss per hash and slot on a large segment).
 */
static void radix_pass(const uint64_t *in, const uint16_t *in_fp, uint64_t *out, uint16_t *out_fp,
                       uint64_t n, int shift, int width)
{
    size_t count[1u << 12], digits = (size_t)1 << width, sum = 0;
    uint64_t mask = digits - 1;

    memset(count, 0, digits * sizeof(count[0]));
    for (uint64_t i = 0; i < n; i++) {
        count[(in[i] >> shift) & mask]++;
    }
    for (size_t d = 0; d < digits; d++) {
        size_t c = count[d];
        count[d] = sum;
        sum += c;
    }
    for (uint64_t i = 0; i < n; i++) {
        size_t at = count[(in[i] >> shift) & mask]++;
        out[at] = in[i];
        out_fp[at] = in_fp[i];
    }
}

/* A slot table, built in the heap by a builder thread for the transaction's thread to store. */
struct slot_out {
    uint8_t *data;
    size_t len;
    int err; /* HW_ENOMEM, HW_ETOOBIG */
    int done;
};

/* The slot tables of one segment, built by several threads (see hw_idx_build). */
struct slot_job {
    const uint64_t *hash;
    uint64_t n;
    int n_slots;
    const int *bits;
    const uint8_t (*pos)[HW_IDX_MAX_BITS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int next;   /* the next slot to build */
    int stored; /* slots the transaction's thread is done with */
    int ahead;  /* at most this many slots built beyond `stored` (bounds the memory held) */
    int stop;   /* the build failed: builders stop */
    struct slot_out out[HW_IDX_SLOTS];
};

/* A builder's sort arrays, kept across the slots it builds. */
struct slot_scratch {
    uint64_t *pairs, *tmp;
    uint16_t *fps;
    struct slot_tab tab[2];
};

/* Build slot s's table (layout above) from the segment's hashes into a fresh heap buffer. */
static void slot_build(const struct slot_job *job, int s, struct slot_scratch *w,
                       struct slot_out *out)
{
    const uint64_t *hash = job->hash;
    uint64_t n = job->n, *pairs = w->pairs;
    uint16_t *fps = w->fps;
    size_t buckets = (size_t)1 << job->bits[s], blocks = buckets / 256, words = buckets / 64;
    size_t nnz = 0, ovf_len = 0, o = 0, r = 0, len;
    uint32_t *rank, acc = 0;
    uint8_t *slot, *word, *ovf;
    uint64_t *bmp;

    slot_tab_init(&w->tab[0], job->pos[s], job->bits[s]);
    slot_tab_init(&w->tab[1], job->pos[(s + 1) % job->n_slots],
                  ring_bits(job->bits, job->n_slots, s));
    for (uint64_t j = 0; j < n; j++) {
        pairs[j] = (uint64_t)slot_tab_value(&w->tab[0], hash + 4 * j) << 32 | j;
        fps[j] = (uint16_t)slot_tab_value(&w->tab[1], hash + 4 * j);
    }
    /*
     * Group ids by slot value with a two-pass LSD radix sort (12 bits per pass): both passes
     * stream through memory, where counting straight into a 2^bits table would take a cache
     * miss per hash and slot.
     */
    radix_pass(pairs, fps, w->tmp, fps + n, n, 32, 12);
    radix_pass(w->tmp, fps + n, pairs, fps, n, 44, 12);
    for (uint64_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && (pairs[j] >> 32) == (pairs[i] >> 32); j++) {
        }
        nnz++;
        if (j - i > 1) {
            ovf_len += 1 + (size_t)(j - i);
        }
    }
    if (ovf_len > SLOT_MULTI - 1) {
        out->err = HW_ETOOBIG;
        return;
    }
    /* Built in the heap: a small value may sit unaligned inside an LMDB page. */
    len = SLOT_HDR + blocks * 4 + words * 8 + (nnz + ovf_len) * ENT_LEN + SLOT_TAIL;
    slot = malloc(len);
    if (slot == NULL) {
        out->err = HW_ENOMEM;
        return;
    }
    rank = (uint32_t *)(void *)(slot + SLOT_HDR);
    bmp = (uint64_t *)(void *)(rank + blocks);
    word = (uint8_t *)(bmp + words);
    ovf = word + nnz * ENT_LEN;
    memcpy(slot, &(uint32_t){(uint32_t)nnz}, 4);
    memset(slot + 4, 0, SLOT_HDR - 4);
    memset(bmp, 0, words * 8);
    memset(slot + len - SLOT_TAIL, 0, SLOT_TAIL);
    for (uint64_t i = 0, j; i < n; i = j) {
        uint32_t b = (uint32_t)(pairs[i] >> 32);
        for (j = i + 1; j < n && (pairs[j] >> 32) == b; j++) {
        }
        bmp[b >> 6] |= 1ull << (b & 63);
        if (j - i == 1) {
            ent_put(word + ENT_LEN * r++, (uint32_t)pairs[i], fps[i]);
            continue;
        }
        ent_put(word + ENT_LEN * r++, SLOT_MULTI | (uint32_t)o, 0);
        ent_put(ovf + ENT_LEN * o++, (uint32_t)(j - i), 0);
        for (uint64_t x = i; x < j; x++) {
            ent_put(ovf + ENT_LEN * o++, (uint32_t)pairs[x], fps[x]);
        }
    }
    for (size_t b = 0; b < blocks; b++) {
        rank[b] = acc;
        for (size_t x = 4 * b; x < 4 * b + 4; x++) {
            acc += (uint32_t)__builtin_popcountll(bmp[x]);
        }
    }
    out->data = slot;
    out->len = len;
}

/* Builder thread: take the next slot, build it, hand it over; until none is left. */
static void *slot_builder(void *arg)
{
    struct slot_job *job = arg;
    struct slot_scratch w;
    uint64_t n = job->n;
    int s, nomem;

    w.pairs = malloc((size_t)n * sizeof(*w.pairs));
    w.tmp = malloc((size_t)n * sizeof(*w.tmp));
    w.fps = malloc((size_t)n * 2 * sizeof(*w.fps)); /* in and out of each radix pass */
    nomem = w.pairs == NULL || w.tmp == NULL || w.fps == NULL;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        while (!job->stop && job->next < job->n_slots && job->next - job->stored >= job->ahead) {
            pthread_cond_wait(&job->cond, &job->lock);
        }
        s = job->stop || job->next >= job->n_slots ? -1 : job->next++;
        pthread_mutex_unlock(&job->lock);
        if (s < 0) {
            break;
        }
        if (nomem) {
            job->out[s].err = HW_ENOMEM;
        } else {
            slot_build(job, s, &w, &job->out[s]);
        }
        pthread_mutex_lock(&job->lock);
        job->out[s].done = 1;
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&job->lock);
    }
    free(w.pairs);
    free(w.tmp);
    free(w.fps);
    return NULL;
}

int hw_idx_builders = 0;

/*
 * How many threads build slot tables: one per core, at most 4 (the passes are bound by memory
 * bandwidth), and only as many as a quarter of physical memory holds (each builder sorts
 * 20 bytes per hash and holds a table of about 7).
 */
static int builders_for(uint64_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES),
         psize = sysconf(_SC_PAGESIZE);
    double budget = pages > 0 && psize > 0 ? (double)pages * (double)psize / 4 : 0;
    int w = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores;

    if (hw_idx_builders > 0) {
        return hw_idx_builders > HW_IDX_SLOTS ? HW_IDX_SLOTS : hw_idx_builders;
    }
    while (w > 1 && (double)w * 28.0 * (double)n > budget) {
        w--;
    }
    return w;
}

/*
 * Store the slot tables: builder threads make them in the heap, in slot order, while this
 * thread (the transaction's: LMDB calls stay on it) stores each as it is ready. Memory held:
 * the builders' sort arrays plus at most 2 x builders finished tables.
 */
static int store_slots(MDB_txn *txn, MDB_dbi dbi, const char *prefix, struct slot_job *job,
                       char *errbuf, size_t errbuf_len)
{
    pthread_t tid[HW_IDX_SLOTS];
    int n_thr = 0, want = builders_for(job->n), err = HW_OK;
    char what[16];
    void *dst;

    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->cond, NULL);
    job->ahead = 2 * want;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&tid[n_thr], NULL, slot_builder, job) == 0) {
            n_thr++;
        }
    }
    if (n_thr == 0) {
        err = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "index build: cannot start a thread");
    }
    for (int s = 0; s < job->n_slots && err == HW_OK; s++) {
        struct slot_out *o = &job->out[s];

        pthread_mutex_lock(&job->lock);
        while (!o->done) {
            pthread_cond_wait(&job->cond, &job->lock);
        }
        pthread_mutex_unlock(&job->lock);
        if (o->err == HW_ETOOBIG) {
            err = hw_seterr(HW_ETOOBIG, errbuf, errbuf_len, "index: slot %d overflows", s);
        } else if (o->err != HW_OK) {
            err = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "index build: out of memory");
        } else {
            snprintf(what, sizeof(what), "s%02d", s);
            err = reserve(txn, dbi, prefix, what, o->len, &dst, errbuf, errbuf_len);
            if (err == HW_OK) {
                memcpy(dst, o->data, o->len);
            }
        }
        free(o->data);
        o->data = NULL;
        pthread_mutex_lock(&job->lock);
        job->stored = s + 1;
        job->stop = err != HW_OK;
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&job->lock);
    }
    for (int i = 0; i < n_thr; i++) {
        pthread_join(tid[i], NULL);
    }
    for (int s = 0; s < job->n_slots; s++) {
        free(job->out[s].data); /* built after a failure */
    }
    pthread_cond_destroy(&job->cond);
    pthread_mutex_destroy(&job->lock);
    return err;
}

int hw_idx_build(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const uint64_t *hash,
                 const uint32_t *list, uint64_t n, char *errbuf, size_t errbuf_len)
{
    uint8_t hdr[HDR_LEN], perm[256];
    uint8_t pos[HW_IDX_SLOTS][HW_IDX_MAX_BITS];
    int bits[HW_IDX_SLOTS], target, n_slots, start = 0, err = HW_OK;
    void *dst = NULL;
    char what[16];
    MDB_val k, v;
    char name[32];
    int rc;

    if (n >= SLOT_MULTI - 1 || n > SIZE_MAX / 32 ||
        n > (uint64_t)HW_IDX_PARTS_MAX << hw_idx_part_bits) {
        return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len, "index: %llu hashes is too many",
                         (unsigned long long)n);
    }
    /* 2^bits ~ 16n, within [10, 24] bits (a rank block is 256 buckets); n < 64 is scanned. */
    target = ceil_log2(n) + 4;
    target = target < 10 ? 10 : target > HW_IDX_MAX_BITS ? HW_IDX_MAX_BITS : target;
    n_slots = n < 64 ? 0 : HW_IDX_SLOTS;
    bit_permutation(perm);
    memset(pos, 0, sizeof(pos));
    memset(bits, 0, sizeof(bits));
    for (int s = 0; s < HW_IDX_SLOTS; s++) {
        bits[s] = target < slot_len(s) ? target : slot_len(s);
        memcpy(pos[s], perm + start, (size_t)slot_len(s));
        start += slot_len(s);
    }

    for (uint64_t p = 0; p < HW_IDX_PARTS_MAX; p++) {
        uint64_t first = p << hw_idx_part_bits, cnt;

        part_name(what, sizeof(what), p);
        if (first >= n) {
            drop_key(txn, dbi, prefix, what); /* parts a bigger segment left behind */
            continue;
        }
        cnt = n - first < (1ull << hw_idx_part_bits) ? n - first : 1ull << hw_idx_part_bits;
        err = reserve(txn, dbi, prefix, what, (size_t)cnt * 32, &dst, errbuf, errbuf_len);
        if (err != HW_OK) {
            return err;
        }
        memcpy(dst, hash + 4 * first, (size_t)cnt * 32);
    }
    if (n > 0) {
        err = reserve(txn, dbi, prefix, "list", (size_t)n * 4, &dst, errbuf, errbuf_len);
        if (err != HW_OK) {
            return err;
        }
        memcpy(dst, list, (size_t)n * 4);
    } else {
        drop_key(txn, dbi, prefix, "list");
    }
    for (int s = n_slots; s < HW_IDX_SLOTS; s++) {
        snprintf(what, sizeof(what), "s%02d", s);
        drop_key(txn, dbi, prefix, what);
    }
    if (n_slots > 0) {
        struct slot_job job;

        memset(&job, 0, sizeof(job));
        job.hash = hash;
        job.n = n;
        job.n_slots = n_slots;
        job.bits = bits;
        job.pos = (const uint8_t(*)[HW_IDX_MAX_BITS])pos;
        err = store_slots(txn, dbi, prefix, &job, errbuf, errbuf_len);
        if (err != HW_OK) {
            return err;
        }
    }

    put_u32(hdr, HW_IDX_MAGIC);
    put_u32(hdr + 4, HW_IDX_FORMAT);
    memcpy(hdr + 8, &(uint32_t){HW_IDX_ENDIAN}, 4); /* native on purpose: a byte-order probe */
    put_u64(hdr + 12, n);
    put_u32(hdr + 20, (uint32_t)n_slots);
    for (int s = 0; s < HW_IDX_SLOTS; s++) {
        put_u32(hdr + 24 + 4 * s, (uint32_t)bits[s]);
        memcpy(hdr + 24 + 4 * HW_IDX_SLOTS + s * HW_IDX_MAX_BITS, pos[s], HW_IDX_MAX_BITS);
    }
    key_name(name, sizeof(name), prefix, "hdr");
    k.mv_data = name;
    k.mv_size = strlen(name);
    v.mv_data = hdr;
    v.mv_size = sizeof(hdr);
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc == 0) {
        /* a build id, so that a hot copy is never taken for a later build's data */
        uint64_t id = 0;
        static _Atomic uint64_t seq;

        if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
            id = (uint64_t)time(NULL) * 1000003u;
        }
        id ^= atomic_fetch_add(&seq, 1) + 1;
        key_name(name, sizeof(name), prefix, "id");
        k.mv_size = strlen(name);
        v.mv_data = &id;
        v.mv_size = sizeof(id);
        rc = mdb_put(txn, dbi, &k, &v, 0);
    }
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index build");
    }
    return HW_OK;
}

static void hot_detach(struct hw_idx_hot *h);

void hw_idx_seg_release(struct hw_idx_seg *seg)
{
    if (seg == NULL) {
        return;
    }
    if (seg->hot != NULL) {
        hot_detach(seg->hot);
    }
    for (size_t i = 0; i < sizeof(seg->owned) / sizeof(seg->owned[0]); i++) {
        free(seg->owned[i]);
    }
    memset(seg, 0, sizeof(*seg));
}

/* Fetch a value of exactly `len` bytes, copying it when the map does not align it to 8. */
static int fetch(MDB_txn *txn, MDB_dbi dbi, const char *prefix, const char *what, size_t len,
                 const void **out, void **owned, char *errbuf, size_t errbuf_len)
{
    char name[32];
    MDB_val k, v;
    int rc;

    key_name(name, sizeof(name), prefix, what);
    k.mv_data = name;
    k.mv_size = strlen(name);
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "index segment %s lacks %s", prefix,
                         what);
    }
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index load");
    }
    if (v.mv_size != len) {
        return hw_seterr(HW_ECORRUPT, errbuf, errbuf_len,
                         "index segment %s: %s has %zu bytes, expected %zu", prefix, what,
                         v.mv_size, len);
    }
    if (((uintptr_t)v.mv_data & 7) != 0) {
        *owned = malloc(len == 0 ? 1 : len);
        if (*owned == NULL) {
            return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "index load: out of memory");
        }
        memcpy(*owned, v.mv_data, len);
        *out = *owned;
    } else {
        *out = v.mv_data;
    }
    return HW_OK;
}

int hw_idx_load(MDB_txn *txn, MDB_dbi dbi, const char *prefix, struct hw_idx_seg *seg, char *errbuf,
                size_t errbuf_len)
{
    char name[32], what[16];
    MDB_val k, v;
    const uint8_t *h;
    const void *p;
    uint32_t endian;
    int rc, err = HW_OK;

    memset(seg, 0, sizeof(*seg));
    key_name(name, sizeof(name), prefix, "hdr");
    k.mv_data = name;
    k.mv_size = strlen(name);
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return HW_OK;
    }
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index load");
    }
    h = v.mv_data;
    if (v.mv_size != HDR_LEN || get_u32(h) != HW_IDX_MAGIC) {
        return hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "index segment %s: bad header", prefix);
    }
    if (get_u32(h + 4) != HW_IDX_FORMAT) {
        return hw_seterr(HW_EVERSION, errbuf, errbuf_len,
                         "index segment %s has format %u; this build reads format %d", prefix,
                         get_u32(h + 4), HW_IDX_FORMAT);
    }
    memcpy(&endian, h + 8, 4);
    if (endian != HW_IDX_ENDIAN) {
        return hw_seterr(HW_EVERSION, errbuf, errbuf_len,
                         "index segment %s was written on a machine of another byte order", prefix);
    }
    seg->n = get_u64(h + 12);
    seg->n_slots = (int)get_u32(h + 20);
    if (seg->n >= SLOT_MULTI - 1 || seg->n > (uint64_t)HW_IDX_PARTS_MAX << hw_idx_part_bits ||
        seg->n_slots < 0 || seg->n_slots > HW_IDX_SLOTS) {
        err = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "index segment %s: bad header", prefix);
        goto done;
    }
    for (int s = 0; s < HW_IDX_SLOTS; s++) {
        seg->bits[s] = (int)get_u32(h + 24 + 4 * s);
        memcpy(seg->pos[s], h + 24 + 4 * HW_IDX_SLOTS + s * HW_IDX_MAX_BITS, HW_IDX_MAX_BITS);
        if (seg->bits[s] < (s < seg->n_slots ? 10 : 0) || seg->bits[s] > HW_IDX_MAX_BITS) {
            err =
                hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "index segment %s: bad header", prefix);
            goto done;
        }
    }
    if (seg->n == 0) {
        seg->n_slots = 0;
        goto done;
    }
    seg->part_bits = hw_idx_part_bits;
    for (uint64_t part = 0; part << seg->part_bits < seg->n; part++) {
        uint64_t first = part << seg->part_bits, cnt = seg->n - first;

        cnt = cnt < (1ull << seg->part_bits) ? cnt : 1ull << seg->part_bits;
        part_name(what, sizeof(what), part);
        err = fetch(txn, dbi, prefix, what, (size_t)cnt * 32, &p, &seg->owned[part], errbuf,
                    errbuf_len);
        if (err != HW_OK) {
            goto done;
        }
        seg->hash[part] = p;
    }
    err = fetch(txn, dbi, prefix, "list", (size_t)seg->n * 4, &p, &seg->owned[HW_IDX_PARTS_MAX],
                errbuf, errbuf_len);
    if (err != HW_OK) {
        goto done;
    }
    seg->list = p;
    for (int s = 0; s < seg->n_slots; s++) {
        size_t buckets = (size_t)1 << seg->bits[s], len, fixed;
        uint32_t nnz;
        char name2[32];
        MDB_val k2, v2;

        snprintf(what, sizeof(what), "s%02d", s);
        key_name(name2, sizeof(name2), prefix, what);
        k2.mv_data = name2;
        k2.mv_size = strlen(name2);
        rc = mdb_get(txn, dbi, &k2, &v2);
        if (rc != 0) {
            err = rc == MDB_NOTFOUND ? hw_seterr(HW_ECORRUPT, errbuf, errbuf_len,
                                                 "index segment %s lacks %s", prefix, what)
                                     : lmdb_err(rc, errbuf, errbuf_len, "index load");
            goto done;
        }
        len = v2.mv_size;
        fixed = SLOT_HDR + buckets / 256 * 4 + buckets / 64 * 8 + SLOT_TAIL;
        if (len < fixed || (len - fixed) % ENT_LEN != 0) {
            err = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "index segment %s: bad slot %d",
                            prefix, s);
            goto done;
        }
        memcpy(&nnz, v2.mv_data, 4);
        if ((len - fixed) / ENT_LEN < nnz || (len - fixed) / ENT_LEN - nnz >= SLOT_MULTI) {
            err = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "index segment %s: bad slot %d",
                            prefix, s);
            goto done;
        }
        err = fetch(txn, dbi, prefix, what, len, &p, &seg->owned[HW_IDX_PARTS_MAX + 1 + s], errbuf,
                    errbuf_len);
        if (err != HW_OK) {
            goto done;
        }
        seg->rank[s] = (const uint32_t *)(const void *)((const uint8_t *)p + SLOT_HDR);
        seg->bmp[s] = (const uint64_t *)(const void *)(seg->rank[s] + buckets / 256);
        seg->word[s] = (const uint8_t *)(seg->bmp[s] + buckets / 64);
        seg->nnz[s] = nnz;
        seg->ovf[s] = seg->word[s] + (size_t)nnz * ENT_LEN;
        seg->ovf_len[s] = (uint32_t)((len - fixed) / ENT_LEN - nnz);
    }
done:
    if (err != HW_OK) {
        hw_idx_seg_release(seg);
    }
    return err;
}

/* ---- hot copies (index.h) ---- */

size_t hw_idx_hot_min; /* off unless the process asks (hw_store_hot_index) */

enum { HOT_COPYING, HOT_READY, HOT_FAILED };

struct hw_idx_hot {
    struct hw_idx_hot *next; /* in hot_list while current for its (env, prefix) */
    MDB_env *env;
    MDB_dbi dbi;
    char prefix[4];
    uint64_t id, n;
    int refs;   /* segments attached (under hot_mu) */
    int listed; /* in hot_list (under hot_mu) */
    _Atomic int state;
    _Atomic int cancel;
    pthread_t thread;
    pthread_mutex_t join_mu;
    int joined;
    uint8_t *mem; /* one mapping holding every array */
    size_t mem_len;
    struct hw_idx_seg seg; /* the segment with its arrays in mem */
};

static pthread_mutex_t hot_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hw_idx_hot *hot_list;

static const struct hw_idx_seg *hot_seg(const struct hw_idx_seg *seg)
{
    const struct hw_idx_hot *h = seg->hot;

    if (h != NULL && atomic_load_explicit(&h->state, memory_order_acquire) == HOT_READY) {
        return &h->seg;
    }
    return seg;
}

/* Bytes of slot s's value (header, rank counts, bitmap, entries, tail). */
static size_t hot_slot_len(const struct hw_idx_seg *seg, int s)
{
    size_t buckets = (size_t)1 << seg->bits[s];

    return SLOT_HDR + buckets / 256 * 4 + buckets / 64 * 8 +
           ((size_t)seg->nnz[s] + seg->ovf_len[s]) * ENT_LEN + SLOT_TAIL;
}

/* Bytes of the segment's arrays, each (in a hot copy) starting on a 64-byte boundary. */
static size_t seg_bytes(const struct hw_idx_seg *seg)
{
    size_t total = (size_t)seg->n * (32 + 4) + 64 * ((size_t)HW_IDX_PARTS_MAX + 1 + HW_IDX_SLOTS);

    for (int s = 0; s < seg->n_slots; s++) {
        total += hot_slot_len(seg, s);
    }
    return total;
}

static int read_id(MDB_txn *txn, MDB_dbi dbi, const char *prefix, uint64_t *id)
{
    char name[32];
    MDB_val k, v;

    key_name(name, sizeof(name), prefix, "id");
    k.mv_data = name;
    k.mv_size = strlen(name);
    if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != sizeof(*id)) {
        return -1; /* built before ids existed: no hot copy until the next build */
    }
    memcpy(id, v.mv_data, sizeof(*id));
    return 0;
}

/*
 * Ask the kernel to read [p, p + len) of the map ahead. The store is opened with readahead
 * off (MDB_NORDAHEAD: its B-trees are read at random), so a sequential read says so itself.
 * In 1 MiB requests: Linux reads at most one readahead window (read_ahead_kb) per request.
 */
static void will_need(const void *p, size_t len)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p & ~(pg - 1);
    uintptr_t end = (uintptr_t)p + len;

    for (; a < end; a += (uintptr_t)1 << 20) {
        size_t n = end - a < ((uintptr_t)1 << 20) ? end - a : (size_t)1 << 20;
        (void)madvise((void *)a, n, MADV_WILLNEED); /* a hint */
    }
}

/* Copy len bytes in 64 MiB steps, the next step read ahead, giving up when asked to. */
static int hot_copy_bytes(struct hw_idx_hot *h, uint8_t *dst, const void *src, size_t len)
{
    const size_t step = (size_t)64 << 20;

    will_need(src, len < step ? len : step);
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;

        if (atomic_load_explicit(&h->cancel, memory_order_relaxed)) {
            return -1;
        }
        if (off + n < len) {
            size_t next = len - off - n < step ? len - off - n : step;
            will_need((const uint8_t *)src + off + n, next);
        }
        memcpy(dst + off, (const uint8_t *)src + off, n);
    }
    return 0;
}

static uint8_t *hot_align(uint8_t *p)
{
    return p + ((64 - ((uintptr_t)p & 63)) & 63);
}

/* The copying thread: its own read transaction keeps the pages it copies alive. */
static void *hot_copy(void *arg)
{
    struct hw_idx_hot *h = arg;
    struct hw_idx_seg cold, *hs = &h->seg;
    MDB_txn *txn = NULL;
    uint64_t id;
    uint8_t *at;
    int ok = 0;

    memset(&cold, 0, sizeof(cold));
    if (mdb_txn_begin(h->env, NULL, MDB_RDONLY, &txn) != 0) {
        goto done;
    }
    if (hw_idx_load(txn, h->dbi, h->prefix, &cold, NULL, 0) != HW_OK ||
        read_id(txn, h->dbi, h->prefix, &id) != 0 || id != h->id || cold.n != h->n) {
        goto done; /* rebuilt meanwhile: a later snapshot attaches to the new build */
    }
    h->mem_len = (seg_bytes(&cold) + ((size_t)1 << 21) - 1) & ~(((size_t)1 << 21) - 1);
    h->mem = mmap(NULL, h->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h->mem == MAP_FAILED) {
        h->mem = NULL;
        goto done;
    }
    (void)madvise(h->mem, h->mem_len, MADV_HUGEPAGE); /* a hint: without THP it still works */
    *hs = cold;
    memset(hs->owned, 0, sizeof(hs->owned));
    hs->hot = NULL;
    at = h->mem;
    for (uint64_t p = 0; p * ((uint64_t)1 << cold.part_bits) < cold.n; p++) {
        uint64_t left = cold.n - p * ((uint64_t)1 << cold.part_bits);
        size_t len =
            (size_t)(left < ((uint64_t)1 << cold.part_bits) ? left
                                                            : (uint64_t)1 << cold.part_bits) *
            32;

        at = hot_align(at);
        if (hot_copy_bytes(h, at, cold.hash[p], len) != 0) {
            goto done;
        }
        hs->hash[p] = (const uint64_t *)(const void *)at;
        at += len;
    }
    at = hot_align(at);
    if (hot_copy_bytes(h, at, cold.list, (size_t)cold.n * 4) != 0) {
        goto done;
    }
    hs->list = (const uint32_t *)(const void *)at;
    at += (size_t)cold.n * 4;
    for (int s = 0; s < cold.n_slots; s++) {
        const uint8_t *src = (const uint8_t *)(const void *)cold.rank[s] - SLOT_HDR;
        size_t buckets = (size_t)1 << cold.bits[s], len = hot_slot_len(&cold, s);

        at = hot_align(at);
        if (hot_copy_bytes(h, at, src, len) != 0) {
            goto done;
        }
        hs->rank[s] = (const uint32_t *)(const void *)(at + SLOT_HDR);
        hs->bmp[s] = (const uint64_t *)(const void *)(hs->rank[s] + buckets / 256);
        hs->word[s] = (const uint8_t *)(hs->bmp[s] + buckets / 64);
        hs->ovf[s] = hs->word[s] + (size_t)cold.nnz[s] * ENT_LEN;
        at += len;
    }
    ok = 1;
done:
    hw_idx_seg_release(&cold);
    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    atomic_store_explicit(&h->state, ok ? HOT_READY : HOT_FAILED, memory_order_release);
    return NULL;
}

/* Wait for h's copying thread (once; stops it early when cancel is set). */
static void hot_join(struct hw_idx_hot *h)
{
    pthread_mutex_lock(&h->join_mu);
    if (!h->joined) {
        pthread_join(h->thread, NULL);
        h->joined = 1;
    }
    pthread_mutex_unlock(&h->join_mu);
}

static void hot_free(struct hw_idx_hot *h)
{
    atomic_store(&h->cancel, 1);
    hot_join(h);
    pthread_mutex_destroy(&h->join_mu);
    if (h->mem != NULL) {
        munmap(h->mem, h->mem_len);
    }
    free(h);
}

/* Under hot_mu: take h out of hot_list. */
static void hot_unlist(struct hw_idx_hot *h)
{
    for (struct hw_idx_hot **pp = &hot_list; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    h->listed = 0;
}

static void hot_detach(struct hw_idx_hot *h)
{
    int gone;

    pthread_mutex_lock(&hot_mu);
    gone = --h->refs == 0 && !h->listed;
    pthread_mutex_unlock(&hot_mu);
    if (gone) {
        hot_free(h);
    }
}

/* Is the kernel's transparent huge page support off? Then a copy would gain nothing. */
static int hot_thp_off(void)
{
    static _Atomic int cached = -1;
    int v = atomic_load(&cached);

    if (v < 0) {
        FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
        char buf[128] = "";

        if (f != NULL) {
            if (fgets(buf, sizeof(buf), f) == NULL) {
                buf[0] = '\0';
            }
            fclose(f);
        }
        v = f == NULL || strstr(buf, "[never]") != NULL;
        atomic_store(&cached, v);
    }
    return v;
}

/*
 * Half of physical memory. Once the copy is in use the map's pages of the index are no longer
 * read and the kernel reclaims them as it needs, so the copy costs its size once, not twice;
 * a 100M-entry index (about 11.5 GB) then fits a 24 GB machine. Without the copy, a search of
 * such a store faults its pages in from a file larger than memory (a median of 4.6 ms a query
 * on the development machine, against 0.40-0.79 ms from the copy).
 */
static size_t hot_max_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    return pages > 0 && size > 0 ? (size_t)pages / 2 * (size_t)size : 0;
}

/*
 * Read a segment's arrays ahead (without read-ahead a cold 1M-entry index faults in 4 KiB at a
 * time, a query's 1,300 bitmap lines each a disk read). For an index below the hot copy's
 * threshold in a process that asked for hot copies (a server): it then stays in the page cache.
 */
static void seg_will_need(const struct hw_idx_seg *seg)
{
    for (uint64_t p = 0; p * ((uint64_t)1 << seg->part_bits) < seg->n; p++) {
        uint64_t left = seg->n - p * ((uint64_t)1 << seg->part_bits);
        uint64_t cnt =
            left < ((uint64_t)1 << seg->part_bits) ? left : (uint64_t)1 << seg->part_bits;
        will_need(seg->hash[p], (size_t)cnt * 32);
    }
    will_need(seg->list, (size_t)seg->n * 4);
    for (int s = 0; s < seg->n_slots; s++) {
        will_need((const uint8_t *)(const void *)seg->rank[s] - SLOT_HDR, hot_slot_len(seg, s));
    }
}

void hw_idx_attach_hot(MDB_txn *txn, MDB_dbi dbi, const char *prefix, struct hw_idx_seg *seg)
{
    MDB_env *env = mdb_txn_env(txn);
    struct hw_idx_hot *h, *old = NULL;
    uint64_t id;

    if (seg->hot == NULL && seg->n > 0 && hw_idx_hot_min > 0 && seg_bytes(seg) < hw_idx_hot_min) {
        seg_will_need(seg);
        return;
    }
    if (seg->hot != NULL || seg->n == 0 || hw_idx_hot_min == 0 || strlen(prefix) >= 4 ||
        seg_bytes(seg) < hw_idx_hot_min || seg_bytes(seg) > hot_max_bytes() ||
        read_id(txn, dbi, prefix, &id) != 0 || hot_thp_off()) {
        return;
    }
    pthread_mutex_lock(&hot_mu);
    for (h = hot_list; h != NULL; h = h->next) {
        if (h->env == env && strcmp(h->prefix, prefix) == 0) {
            break;
        }
    }
    if (h != NULL && h->id == id && h->n == seg->n) {
        h->refs++;
        seg->hot = h;
        pthread_mutex_unlock(&hot_mu);
        return;
    }
    if (h != NULL) { /* an earlier build: freed when its last snapshot goes */
        hot_unlist(h);
        if (h->refs == 0) {
            old = h;
        }
    }
    h = calloc(1, sizeof(*h));
    if (h != NULL) {
        h->env = env;
        h->dbi = dbi;
        memcpy(h->prefix, prefix, strlen(prefix) + 1);
        h->id = id;
        h->n = seg->n;
        h->refs = 1;
        atomic_init(&h->state, HOT_COPYING);
        atomic_init(&h->cancel, 0);
        pthread_mutex_init(&h->join_mu, NULL);
        if (pthread_create(&h->thread, NULL, hot_copy, h) != 0) {
            pthread_mutex_destroy(&h->join_mu);
            free(h);
            h = NULL;
        }
    }
    if (h != NULL) {
        h->listed = 1;
        h->next = hot_list;
        hot_list = h;
        seg->hot = h;
    }
    pthread_mutex_unlock(&hot_mu);
    if (old != NULL) {
        hot_free(old);
    }
}

void hw_idx_hot_close(MDB_env *env)
{
    struct hw_idx_hot *stop = NULL, **pp;

    /* Unlist env's copies and hold each one, so none is freed while its thread is joined:
     * every thread must be gone before the environment closes. */
    pthread_mutex_lock(&hot_mu);
    for (pp = &hot_list; *pp != NULL;) {
        struct hw_idx_hot *h = *pp;

        if (h->env != env) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        h->listed = 0;
        h->refs++;
        atomic_store(&h->cancel, 1);
        h->next = stop;
        stop = h;
    }
    pthread_mutex_unlock(&hot_mu);
    while (stop != NULL) {
        struct hw_idx_hot *next = stop->next;

        hot_join(stop);
        hot_detach(stop); /* frees it unless a snapshot still holds it */
        stop = next;
    }
}

void hw_idx_hot_stats(MDB_env *env, size_t *bytes_ready, unsigned *copying)
{
    size_t bytes = 0;
    unsigned n = 0;

    pthread_mutex_lock(&hot_mu);
    for (struct hw_idx_hot *h = hot_list; h != NULL; h = h->next) {
        if (h->env == env) {
            int st = atomic_load_explicit(&h->state, memory_order_acquire);

            bytes += st == HOT_READY ? h->mem_len : 0;
            n += st == HOT_COPYING;
        }
    }
    pthread_mutex_unlock(&hot_mu);
    *bytes_ready = bytes;
    *copying = n;
}

int hw_idx_hot_wait(MDB_env *env, int timeout_ms)
{
    for (int t = 0;; t++) {
        int copying = 0, ready = 0;

        pthread_mutex_lock(&hot_mu);
        for (struct hw_idx_hot *h = hot_list; h != NULL; h = h->next) {
            if (h->env == env) {
                int st = atomic_load_explicit(&h->state, memory_order_acquire);

                copying += st == HOT_COPYING;
                ready += st == HOT_READY;
            }
        }
        pthread_mutex_unlock(&hot_mu);
        if (copying == 0 || t >= timeout_ms) {
            return copying == 0 ? ready : -1;
        }
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

/* ---- search ---- */

/*
 * A probe is up to four dependent memory accesses (the bitmap word, the bucket word, an
 * overflow list, the hash), but probes are independent of each other: the search runs in
 * stages over chunks of probes, prefetching each stage's loads before using them, so that
 * many misses are in flight at once.
 */
#ifndef HW_IDX_KEY_CHUNK
#define HW_IDX_KEY_CHUNK 512
#endif
#define KEY_CHUNK  HW_IDX_KEY_CHUNK
#define CAND_CHUNK (2 * KEY_CHUNK) /* a chunk's single-hash buckets always fit */
#ifndef HW_IDX_PF_DIST
#define HW_IDX_PF_DIST 32
#endif
#define PF_DIST HW_IDX_PF_DIST

#if defined(__GNUC__) && defined(__x86_64__)
#define HW_HAVE_POPCNT_TARGET 1
#endif

#define HW_INLINE static inline __attribute__((always_inline))

HW_INLINE int dist4(const uint64_t *a, const uint64_t *b)
{
    return __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
           __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]);
}

struct search;
typedef int (*stage_fn)(struct search *st);

struct search {
    const struct hw_idx_seg *seg;
    const uint64_t *q;
    const struct hw_pdq *qs; /* all variants; candidates carry their variant */
    int tmax, variant, slot, lim0;
    hw_idx_hit_fn hit;
    void *ctx;
    stage_fn flush_keys, scan;
    size_t n_keys, n_cands;
    uint16_t qfp[HW_DIH_COUNT][HW_IDX_SLOTS]; /* each variant's ring fingerprint per slot */
    /* keys[k]: fingerprint limit in bits 32..39, variant 28..30, slot 24..27, bucket 0..23 */
    uint64_t keys[KEY_CHUNK];
    uint64_t hi[KEY_CHUNK];
    uint32_t lo[KEY_CHUNK];
    uint32_t cands[CAND_CHUNK];
    uint8_t cvars[CAND_CHUNK];
};

#define TAG_SLOT(tag) ((int)((tag) >> 24) & 15)
#define TAG_VAR(tag)  ((int)((tag) >> 28) & 7)
#define TAG_LIM(tag)  ((int)((tag) >> 32) & 255)

HW_INLINE int verify_body(struct search *st)
{
    const struct hw_idx_seg *seg = st->seg;
    size_t n = st->n_cands;

    st->n_cands = 0;
    for (size_t i = 0; i < PF_DIST && i < n; i++) {
        __builtin_prefetch(hw_idx_hash(seg, st->cands[i]));
    }
    for (size_t i = 0; i < n; i++) {
        int d;
        if (i + PF_DIST < n) {
            __builtin_prefetch(hw_idx_hash(seg, st->cands[i + PF_DIST]));
        }
        d = dist4(hw_idx_hash(seg, st->cands[i]), st->qs[st->cvars[i]].q);
        if (d <= st->tmax) {
            int rc = st->hit(st->ctx, st->cands[i], d, st->cvars[i]);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

HW_INLINE int scan_body(struct search *st)
{
    const struct hw_idx_seg *seg = st->seg;

    for (uint64_t id = 0; id < seg->n; id++) {
        int d = dist4(hw_idx_hash(seg, id), st->q);
        if (d <= st->tmax) {
            int rc = st->hit(st->ctx, (uint32_t)id, d, st->variant);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* Does entry e (id, fingerprint) pass the pigeonring test of the probe `tag`? 0 or 1. */
HW_INLINE uint32_t ring_ok(const struct search *st, uint64_t e, uint64_t tag)
{
    uint32_t fp = (uint32_t)(e >> 32) & 0xffff;

    return __builtin_popcount(fp ^ st->qfp[TAG_VAR(tag)][TAG_SLOT(tag)]) <= TAG_LIM(tag);
}

/* Add a candidate (an id already checked against the segment's size). */
HW_INLINE int add_cand(struct search *st, uint32_t id, uint64_t tag)
{
    st->cvars[st->n_cands] = (uint8_t)TAG_VAR(tag);
    st->cands[st->n_cands++] = id;
    return st->n_cands == CAND_CHUNK ? verify_body(st) : 0;
}

HW_INLINE void prefetch_key(const struct hw_idx_seg *seg, uint64_t tag)
{
    uint32_t key = (uint32_t)tag & 0xffffff;

    __builtin_prefetch(seg->bmp[TAG_SLOT(tag)] + (key >> 6));
}

HW_INLINE void prefetch_rank(const struct hw_idx_seg *seg, uint64_t tag)
{
    uint32_t key = (uint32_t)tag & 0xffffff;

    __builtin_prefetch(seg->rank[TAG_SLOT(tag)] + (key >> 8));
}

/*
 * Stages for the buffered probe keys: bitmap words (most probes end here), bucket entries of
 * the non-empty buckets (a single-hash bucket's entry is its candidate, kept when its ring
 * fingerprint passes), the overflow lists of the others (likewise), then the (prefetched)
 * hashes of the candidates left.
 */
HW_INLINE int flush_keys_body(struct search *st)
{
    const struct hw_idx_seg *seg = st->seg;
    size_t n_set = 0, n_multi = 0;
    uint32_t bad = 0;
    int rc;

    /*
     * Each stage prefetches PF_DIST items ahead: far enough to hide a miss, near enough that
     * the prefetches are not dropped for want of miss buffers.
     */
    for (size_t k = 0; k < PF_DIST && k < st->n_keys; k++) {
        prefetch_key(seg, st->keys[k]);
    }
    /*
     * Bitmap test, branch-free: whether a bucket is empty is a coin toss on a full segment,
     * and a mispredicted branch costs about as much as the rest of the probe. The keys of
     * non-empty buckets are kept (in place) for the rank stage.
     */
    for (size_t k = 0; k < st->n_keys; k++) {
        uint64_t tag = st->keys[k];
        uint32_t key = (uint32_t)tag & 0xffffff;

        if (k + PF_DIST < st->n_keys) {
            prefetch_key(seg, st->keys[k + PF_DIST]);
        }
        st->keys[n_set] = tag; /* n_set <= k */
        n_set += (uint32_t)(seg->bmp[TAG_SLOT(tag)][key >> 6] >> (key & 63)) & 1;
    }
    /* Rank: which entry of the slot a non-empty bucket owns (its bitmap line is cached). */
    for (size_t k = 0; k < PF_DIST && k < n_set; k++) {
        prefetch_rank(seg, st->keys[k]);
    }
    for (size_t k = 0; k < n_set; k++) {
        uint64_t tag = st->keys[k];
        uint32_t key = (uint32_t)tag & 0xffffff, idx;
        int s = TAG_SLOT(tag);
        size_t wi = key >> 6, j = wi & 3;
        const uint64_t *blk = seg->bmp[s] + (wi - j);
        uint64_t low = (1ull << (key & 63)) - 1;

        if (k + PF_DIST < n_set) {
            prefetch_rank(seg, st->keys[k + PF_DIST]);
        }
        idx = seg->rank[s][key >> 8];
        for (unsigned x = 0; x < 4; x++) {
            uint64_t m = (0 - (uint64_t)(x < j)) | (low & (0 - (uint64_t)(x == j)));
            idx += (uint32_t)__builtin_popcountll(blk[x] & m);
        }
        bad |= idx >= seg->nnz[s];
        st->lo[k] = idx;
        st->hi[k] = tag;
    }
    if (bad) {
        return HW_ECORRUPT;
    }
    /* Single-hash buckets go straight to the candidates, the others to the overflow stage. */
    if (st->n_cands + n_set > CAND_CHUNK && (rc = verify_body(st)) != 0) {
        return rc;
    }
    for (size_t k = 0; k < PF_DIST && k < n_set; k++) {
        __builtin_prefetch(seg->word[TAG_SLOT(st->hi[k])] + (size_t)st->lo[k] * ENT_LEN);
    }
    for (size_t k = 0; k < n_set; k++) {
        uint64_t tag = st->hi[k], e;
        uint32_t w, multi, p;
        int s = TAG_SLOT(tag);

        if (k + PF_DIST < n_set) {
            __builtin_prefetch(seg->word[TAG_SLOT(st->hi[k + PF_DIST])] +
                               (size_t)st->lo[k + PF_DIST] * ENT_LEN);
        }
        e = ent_get(seg->word[s], st->lo[k]);
        w = (uint32_t)e;
        multi = w >> 31;
        p = w & ~SLOT_MULTI;
        bad |= (multi ^ 1) & (w >= seg->n);
        bad |= multi & (p >= seg->ovf_len[s]);
        st->cands[st->n_cands] = w;
        st->cvars[st->n_cands] = (uint8_t)TAG_VAR(tag);
        st->n_cands += (multi ^ 1) & ring_ok(st, e, tag);
        st->lo[n_multi] = p; /* n_multi <= k: overwrites only entries already read */
        st->hi[n_multi] = tag;
        n_multi += multi;
    }
    if (bad) {
        return HW_ECORRUPT;
    }
    for (size_t k = 0; k < PF_DIST && k < n_multi; k++) {
        __builtin_prefetch(seg->ovf[TAG_SLOT(st->hi[k])] + (size_t)st->lo[k] * ENT_LEN);
    }
    for (size_t k = 0; k < n_multi; k++) {
        uint64_t tag = st->hi[k];
        int s = TAG_SLOT(tag);
        const uint8_t *o = seg->ovf[s];
        uint32_t p = st->lo[k], c;

        if (k + PF_DIST < n_multi) {
            __builtin_prefetch(seg->ovf[TAG_SLOT(st->hi[k + PF_DIST])] +
                               (size_t)st->lo[k + PF_DIST] * ENT_LEN);
        }
        c = (uint32_t)ent_get(o, p);
        if (c > seg->ovf_len[s] - p - 1) {
            return HW_ECORRUPT;
        }
        for (uint32_t i = 1; i <= c; i++) {
            uint64_t e = ent_get(o, (size_t)p + i);

            /* every id is checked, kept or not, as in the word stage */
            if ((uint32_t)e >= seg->n) {
                return HW_ECORRUPT;
            }
            if (ring_ok(st, e, tag) && (rc = add_cand(st, (uint32_t)e, tag)) != 0) {
                return rc;
            }
        }
    }
    st->n_keys = 0;
    return verify_body(st);
}

/* The stages compiled twice: for any x86-64, and with the popcount instruction. */
#define HW_IDX_KERNELS(SUFFIX, ATTR)                                                               \
    ATTR static int flush_keys_##SUFFIX(struct search *st)                                         \
    {                                                                                              \
        return flush_keys_body(st);                                                                \
    }                                                                                              \
    ATTR static int scan_##SUFFIX(struct search *st)                                               \
    {                                                                                              \
        return scan_body(st);                                                                      \
    }

HW_IDX_KERNELS(generic, )
#ifdef HW_HAVE_POPCNT_TARGET
HW_IDX_KERNELS(popcnt, __attribute__((target("popcnt"))))
#endif

static int have_popcnt(void)
{
#ifdef HW_HAVE_POPCNT_TARGET
    static volatile int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("popcnt") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

int hw_idx_distance(const uint64_t *a, const uint64_t *b)
{
    return dist4(a, b);
}

/*
 * The tag of the current variant and slot for a bucket `left` flips short of the slot's
 * radius: its ring limit r_s + r_{s+1} + 1 - d_s, with d_s = r_s - left (8 bits: a limit of
 * 16 or more already keeps every fingerprint).
 */
HW_INLINE uint64_t probe_tag(const struct search *st, int left)
{
    uint64_t lim = (uint64_t)(st->lim0 + left > 255 ? 255 : st->lim0 + left);

    return lim << 32 | (uint64_t)st->variant << 28 | (uint64_t)st->slot << 24;
}

/* Buffer bucket `key` of the current slot, `left` flips short of the slot's radius. */
HW_INLINE int push_key(struct search *st, uint32_t key, int left)
{
    st->keys[st->n_keys++] = probe_tag(st, left) | key;
    return st->n_keys == KEY_CHUNK ? st->flush_keys(st) : 0;
}

/* Buffer every value within `left` more bit flips of key, flipping only bits >= from. */
static int probe(struct search *st, uint32_t key, int from, int left, int bits)
{
    int rc;

    if ((rc = push_key(st, key, left)) != 0 || left == 0) {
        return rc;
    }
    if (left == 2) {
        /*
         * The usual case (T = 31, 11 slots), without the recursion and, since a chunk has
         * room for the bits - a keys of one step, without a check per key. The chunk is never
         * left full: push_key() writes before it flushes.
         */
        uint64_t t1 = probe_tag(st, 1), t0 = probe_tag(st, 0);

        for (int a = from; a < bits; a++) {
            uint32_t ka = key ^ (1u << a);
            uint64_t *out;

            /* >=: push_key() expects room for one more key after any step */
            if (st->n_keys + (size_t)(bits - a) >= KEY_CHUNK && (rc = st->flush_keys(st)) != 0) {
                return rc;
            }
            out = st->keys + st->n_keys;
            *out++ = t1 | ka;
            for (int b = a + 1; b < bits; b++) {
                *out++ = t0 | (ka ^ (1u << b));
            }
            st->n_keys += (size_t)(bits - a);
        }
        return 0;
    }
    for (int b = from; b < bits; b++) {
        rc = probe(st, key ^ (1u << b), b + 1, left - 1, bits);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The query's ring fingerprint for slot s: its bits at the fingerprint positions of s. */
static uint16_t ring_value(const struct hw_idx_seg *seg, int s, const uint64_t *h)
{
    return (uint16_t)pos_value(seg->pos[(s + 1) % seg->n_slots],
                               ring_bits(seg->bits, seg->n_slots, s), h);
}

int hw_idx_slot_radius(int n_slots, int tmax, int s)
{
    int base = (tmax + 1) / n_slots, extra = (tmax + 1) % n_slots;

    return base - 1 + (s < extra ? 1 : 0);
}

static double binom_sum(int bits, int r)
{
    double c = 1, sum = 1;

    for (int i = 1; i <= r && i <= bits; i++) {
        c = c * (bits - i + 1) / i;
        sum += c;
    }
    return sum;
}

int hw_idx_search(const struct hw_idx_seg *seg, const struct hw_pdq *q, int n_q, int tmax, int scan,
                  hw_idx_hit_fn hit, void *ctx)
{
    struct search *st = NULL;
    int use_tables, rc = 0;

    if (seg->n == 0 || tmax < 0) {
        return 0;
    }
    if (n_q < 0 || n_q > HW_DIH_COUNT) {
        return HW_EINVAL; /* a probe key has 3 bits for the variant */
    }
    seg = hot_seg(seg);
    st = malloc(sizeof(*st));
    if (st == NULL) {
        return HW_ENOMEM;
    }
    st->flush_keys = flush_keys_generic;
    st->scan = scan_generic;
#ifdef HW_HAVE_POPCNT_TARGET
    if (have_popcnt()) {
        st->flush_keys = flush_keys_popcnt;
        st->scan = scan_popcnt;
    }
#endif
    use_tables = seg->n_slots > 0 && !scan;
    if (use_tables && hw_idx_mode == 0) {
        /*
         * Cost in random memory accesses: a probe mostly reads a cached bitmap (counted as a
         * quarter), each candidate costs two, against a sequential scan that costs about 1/16
         * of a random access per hash.
         */
        double probes = 0, cands = 0;
        for (int s = 0; s < seg->n_slots; s++) {
            int r = hw_idx_slot_radius(seg->n_slots, tmax, s);
            double p = r < 0 ? 0 : binom_sum(seg->bits[s], r);
            probes += p;
            cands += p * (double)seg->n / (double)(1u << seg->bits[s]);
        }
        use_tables = probes / 4 + 2 * cands < (double)seg->n / 16;
    } else if (hw_idx_mode == 2) {
        use_tables = 0;
    }
    st->seg = seg;
    st->tmax = tmax;
    st->hit = hit;
    st->ctx = ctx;
    st->n_keys = st->n_cands = 0;
    st->qs = q;
    for (int v = 0; v < n_q && rc == 0; v++) {
        st->q = q[v].q;
        st->variant = v;
        if (!use_tables) {
            rc = st->scan(st);
            continue;
        }
        for (int s = 0; s < seg->n_slots; s++) {
            st->qfp[v][s] = ring_value(seg, s, st->q);
        }
        for (int s = 0; s < seg->n_slots && rc == 0; s++) {
            int r = hw_idx_slot_radius(seg->n_slots, tmax, s);
            if (r < 0) {
                continue;
            }
            st->slot = s;
            st->lim0 = hw_idx_slot_radius(seg->n_slots, tmax, (s + 1) % seg->n_slots) + 1;
            rc = probe(st, slot_value(seg, s, st->q), 0, r, seg->bits[s]);
        }
    }
    /* Probes of all slots and variants share chunks: more misses in flight at once. */
    if (rc == 0 && use_tables) {
        rc = st->flush_keys(st);
    }
    free(st);
    return rc;
}
