/* store.c: named hash lists in one LMDB environment: lists, atomic batches, snapshots, look-ups. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hw_error.h"
#include "hw_store.h"
#include "index.h"
#include "store_int.h"
#include "le_bytes.h"

#define HW_SCHEMA_VERSION 1u
/* Address space reserved for the map (sparse; the file grows as data is written). 256 GiB holds
 * 100M PDQ entries with their index several times over. */
#define HW_STORE_MAPSIZE    ((size_t)256 << 30)
#define HW_STORE_MAXREADERS 1024
/* The delta segment is merged into the base once it (plus stale base entries) exceeds
 * clamp(base / 32, 64k, 1M): small enough to rebuild in well under a second per commit. */
#define HW_DELTA_MIN 65536u
#define HW_DELTA_MAX (1u << 20)

#define KEY_MAX         (4 + 1 + HW_HASH_MAX_LEN)
#define LIST_FIXED_LEN  88
#define ENTRY_FIXED_LEN 17 /* stamp, created, severity */

struct list_rec {
    uint32_t id;
    struct hw_list_info info;
};

/* Idle snapshots kept for reuse by hw_snapshot_acquire(); more are simply ended. */
#define HW_SNAP_CACHE 64

struct hw_store {
    MDB_env *env;
    MDB_dbi meta, lists, entries, byid, pdqdelta, pdqidx;
    unsigned flags;
    pthread_mutex_t snap_lock;
    hw_snapshot *snap_idle[HW_SNAP_CACHE]; /* read transactions reset, not ended */
    size_t n_snap_idle;
};

struct pend;

struct hw_batch {
    hw_store *s;
    MDB_txn *txn;
    struct list_rec list;
    unsigned flags;
    uint64_t stamp;
    uint64_t stale_add; /* base entries deleted by this batch */
    struct hw_batch_stats st;
    int pdq_changed, created, err;
    /* PDQ hashes added by this batch, for the delta; dropped when a merge is certain. */
    uint64_t *pend;
    size_t n_pend, cap_pend;
    int force_merge;
    /* Buffered puts, applied in key order (see pend_flush). */
    uint8_t *arena;
    size_t arena_len;
    struct pend *pend_puts;
    size_t n_pend_puts, cap_recs, cap_bytes;
};

struct hw_snapshot {
    hw_store *s;
    MDB_txn *txn;
    size_t txnid; /* the transaction the lists and segments were read in */
    struct list_rec *lists;
    size_t n_lists;
    int segs_loaded;
    struct hw_idx_seg seg[2]; /* base, delta */
};

/* ---- small encoders (little-endian, independent of the host) ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int lmdb_err(int rc, char *errbuf, size_t errbuf_len, const char *what)
{
    switch (rc) {
    case MDB_MAP_FULL:
        return hw_seterr(HW_EFULL, errbuf, errbuf_len, "%s: the store is full (map size)", what);
    case ENOMEM:
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "%s: out of memory", what);
    case MDB_READERS_FULL:
        return hw_seterr(HW_EBUSY, errbuf, errbuf_len, "%s: too many concurrent readers", what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "%s: %s", what, mdb_strerror(rc));
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
        return hw_seterr(HW_EVERSION, errbuf, errbuf_len, "%s: %s", what, mdb_strerror(rc));
    default:
        return hw_seterr(HW_EIO, errbuf, errbuf_len, "%s: %s", what, mdb_strerror(rc));
    }
}

static int name_valid(const char *name)
{
    size_t n;

    if (name == NULL) {
        return 0;
    }
    n = strnlen(name, HW_LIST_NAME_MAX);
    if (n == 0 || n >= HW_LIST_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-')) {
            return 0;
        }
    }
    return 1;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- meta ---- */

static int meta_get_u64(MDB_txn *txn, hw_store *s, const char *k, uint64_t *out)
{
    MDB_val key = {strlen(k), (void *)k}, val;
    int rc = mdb_get(txn, s->meta, &key, &val);

    *out = 0;
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (val.mv_size != 8) {
        return MDB_CORRUPTED;
    }
    *out = get_u64(val.mv_data);
    return 0;
}

static int meta_put_u64(MDB_txn *txn, hw_store *s, const char *k, uint64_t v)
{
    uint8_t b[8];
    MDB_val key = {strlen(k), (void *)k}, val = {8, b};

    put_u64(b, v);
    return mdb_put(txn, s->meta, &key, &val, 0);
}

/* ---- list records ---- */

static size_t list_encode(const struct list_rec *l, uint8_t *out)
{
    size_t src = strnlen(l->info.source, sizeof(l->info.source) - 1);
    size_t lic = strnlen(l->info.licence, sizeof(l->info.licence) - 1);
    uint8_t *p = out;

    put_u32(p, l->id);
    put_u32(p + 4, (uint32_t)l->info.pdq_threshold);
    put_u64(p + 8, l->info.version);
    for (int t = 0; t < HW_HASH_TYPE_COUNT; t++) {
        put_u64(p + 16 + 8 * t, l->info.counts[t]);
    }
    put_u64(p + 72, (uint64_t)l->info.created);
    put_u64(p + 80, (uint64_t)l->info.updated);
    p += LIST_FIXED_LEN;
    put_u16(p, (uint16_t)src);
    memcpy(p + 2, l->info.source, src);
    p += 2 + src;
    put_u16(p, (uint16_t)lic);
    memcpy(p + 2, l->info.licence, lic);
    p += 2 + lic;
    return (size_t)(p - out);
}

static int list_decode(const MDB_val *k, const MDB_val *v, struct list_rec *l)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    size_t n;

    memset(l, 0, sizeof(*l));
    if (k->mv_size == 0 || k->mv_size >= HW_LIST_NAME_MAX || v->mv_size < LIST_FIXED_LEN + 4) {
        return HW_ECORRUPT;
    }
    memcpy(l->info.name, k->mv_data, k->mv_size);
    l->id = get_u32(p);
    l->info.pdq_threshold = (int)get_u32(p + 4);
    l->info.version = get_u64(p + 8);
    for (int t = 0; t < HW_HASH_TYPE_COUNT; t++) {
        l->info.counts[t] = get_u64(p + 16 + 8 * t);
    }
    l->info.created = (int64_t)get_u64(p + 72);
    l->info.updated = (int64_t)get_u64(p + 80);
    p += LIST_FIXED_LEN;
    n = get_u16(p);
    if (n >= sizeof(l->info.source) || (size_t)(end - p) < 2 + n + 2) {
        return HW_ECORRUPT;
    }
    memcpy(l->info.source, p + 2, n);
    p += 2 + n;
    n = get_u16(p);
    if (n >= sizeof(l->info.licence) || (size_t)(end - p) != 2 + n) {
        return HW_ECORRUPT;
    }
    memcpy(l->info.licence, p + 2, n);
    return HW_OK;
}

static int list_get(MDB_txn *txn, hw_store *s, const char *name, struct list_rec *l, int *found)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, s->lists, &k, &v);

    *found = 0;
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (list_decode(&k, &v, l) != HW_OK) {
        return MDB_CORRUPTED;
    }
    *found = 1;
    return 0;
}

static int list_put(MDB_txn *txn, hw_store *s, const struct list_rec *l)
{
    uint8_t buf[LIST_FIXED_LEN + 4 + 512];
    MDB_val k = {strlen(l->info.name), (void *)l->info.name}, v;

    v.mv_data = buf;
    v.mv_size = list_encode(l, buf);
    return mdb_put(txn, s->lists, &k, &v, 0);
}

/* A new list: fresh internal id (never reused) and version. */
static int list_new(MDB_txn *txn, hw_store *s, const char *name, struct list_rec *l)
{
    uint64_t next, seq;
    int rc;

    memset(l, 0, sizeof(*l));
    if ((rc = meta_get_u64(txn, s, "next_list", &next)) != 0 ||
        (rc = meta_get_u64(txn, s, "seq", &seq)) != 0) {
        return rc;
    }
    if (next >= UINT32_MAX) {
        return MDB_MAP_FULL;
    }
    l->id = (uint32_t)next + 1;
    snprintf(l->info.name, sizeof(l->info.name), "%s", name);
    l->info.pdq_threshold = HW_PDQ_THRESHOLD_DEFAULT;
    l->info.version = seq + 1;
    l->info.created = l->info.updated = now_s();
    if ((rc = meta_put_u64(txn, s, "next_list", next + 1)) != 0 ||
        (rc = meta_put_u64(txn, s, "seq", seq + 1)) != 0) {
        return rc;
    }
    return 0;
}

static int version_bump(MDB_txn *txn, hw_store *s, struct list_rec *l)
{
    uint64_t seq;
    int rc = meta_get_u64(txn, s, "seq", &seq);

    if (rc != 0) {
        return rc;
    }
    l->info.version = seq + 1;
    l->info.updated = now_s();
    return meta_put_u64(txn, s, "seq", seq + 1);
}

/* ---- open / close ---- */

MDB_env *hw_store_env(hw_store *s)
{
    return s->env;
}

static int open_dbis(MDB_txn *txn, hw_store *s, unsigned flags)
{
    struct {
        const char *name;
        MDB_dbi *dbi;
        unsigned f;
    } dbs[] = {
        {"meta", &s->meta, 0},           {"lists", &s->lists, 0},       {"entries", &s->entries, 0},
        {"byid", &s->byid, MDB_DUPSORT}, {"pdqdelta", &s->pdqdelta, 0}, {"pdqidx", &s->pdqidx, 0},
    };
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        int rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].f | flags, dbs[i].dbi);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int check_schema(MDB_txn *txn, hw_store *s, const char *dir, int *present, char *errbuf,
                        size_t errbuf_len)
{
    MDB_val k = {6, "schema"}, v;
    uint32_t ver;
    int rc = mdb_get(txn, s->meta, &k, &v);

    *present = 0;
    if (rc == MDB_NOTFOUND) {
        return HW_OK;
    }
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "store open");
    }
    ver = v.mv_size == 4 ? get_u32(v.mv_data) : 0;
    if (ver != HW_SCHEMA_VERSION) {
        return hw_seterr(HW_EVERSION, errbuf, errbuf_len,
                         "store %s has schema version %u; this hashwatch reads version %u only "
                         "(use the hashwatch that wrote it, or re-import the lists into a new "
                         "store)",
                         dir, ver, HW_SCHEMA_VERSION);
    }
    *present = 1;
    return HW_OK;
}

static int rebuild_base(MDB_txn *txn, hw_store *s, char *errbuf, size_t errbuf_len);

/*
 * A base segment written by another build (its format is not this build's) is rebuilt from
 * `entries` when the store is opened for writing, so that an upgraded server answers at once
 * instead of failing every PDQ look-up until the next import. Other problems of the segment
 * are left for the look-ups to report.
 */
static int index_upgrade(hw_store *s, char *errbuf, size_t errbuf_len)
{
    struct hw_idx_seg seg;
    MDB_txn *txn = NULL;
    int rc, err;

    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "store open");
    }
    err = hw_idx_load(txn, s->pdqidx, "b", &seg, NULL, 0);
    hw_idx_seg_release(&seg);
    mdb_txn_abort(txn);
    if (err != HW_EVERSION) {
        return HW_OK;
    }
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index upgrade");
    }
    err = rebuild_base(txn, s, errbuf, errbuf_len);
    if (err != HW_OK) {
        mdb_txn_abort(txn);
        return err;
    }
    rc = mdb_txn_commit(txn);
    return rc != 0 ? lmdb_err(rc, errbuf, errbuf_len, "index upgrade") : HW_OK;
}

/* Half of physical memory, in bytes (0 when unknown). */
static uint64_t half_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    return pages > 0 && size > 0 ? (uint64_t)pages / 2 * (uint64_t)size : 0;
}

/*
 * The background read of a store's file into the page cache (see store_warm()): 1 MiB at a
 * time, one read in flight and no read-ahead, so that the queries it runs beside, whose page
 * faults are 4 KiB reads, do not queue behind gigabytes of it (asking for the whole file at
 * once made a cold 10M store's first query take 2.0 s instead of 0.06).
 */
static void *warm_main(void *arg)
{
    char *path = arg;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = malloc((size_t)1 << 20);
    ssize_t n = 1;

    if (fd >= 0 && buf != NULL) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
        for (off_t off = 0; n > 0; off += n) {
            n = pread(fd, buf, (size_t)1 << 20, off);
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    free(path);
    return NULL;
}

/*
 * A long-running process (one that asked for hot index copies) reads a store that fits in
 * half of memory into the page cache, in the background: the store is opened with
 * MDB_NORDAHEAD, so otherwise its pages would come in 4 KiB at a time, on demand, after each
 * restart. A store larger than that is left to demand paging.
 */
static void store_warm(const char *dir)
{
    char *path = malloc(strlen(dir) + sizeof("/data.mdb"));
    struct stat st;
    pthread_attr_t at;
    pthread_t t;
    int started = 0;

    if (path == NULL) {
        return;
    }
    strcpy(path, dir);
    strcat(path, "/data.mdb");
    if (stat(path, &st) == 0 && (uint64_t)st.st_size <= half_memory() &&
        pthread_attr_init(&at) == 0) {
        (void)pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &at, warm_main, path) == 0;
        pthread_attr_destroy(&at);
    }
    if (!started) {
        free(path);
    }
}

int hw_store_open(const char *dir, unsigned flags, hw_store **out, char *errbuf, size_t errbuf_len)
{
    hw_store *s = NULL;
    MDB_txn *txn = NULL;
    struct stat st;
    int rc, err = HW_OK, present = 0, dead;
    /*
     * MDB_NORDAHEAD: the B-trees are read at random, and on a store larger than memory (100M
     * entries: 35 GB) the kernel's read-ahead on every page fault (up to read_ahead_kb, 8 MiB
     * on the benchmark machine) read far more than was used and evicted pages still in use.
     * Sequential readers ask for read-ahead themselves (the index's hot copy, store_warm()).
     */
    unsigned envflags = MDB_NOTLS | MDB_NORDAHEAD;

    if (out != NULL) {
        *out = NULL;
    }
    if (dir == NULL || dir[0] == '\0' || out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "store open: no directory");
    }
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || (flags & HW_STORE_RDONLY)) {
            return hw_seterr(HW_EIO, errbuf, errbuf_len, "store %s: %s", dir, strerror(errno));
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            return hw_seterr(HW_EIO, errbuf, errbuf_len, "store %s: cannot create: %s", dir,
                             strerror(errno));
        }
    } else if (!S_ISDIR(st.st_mode)) {
        return hw_seterr(HW_EIO, errbuf, errbuf_len, "store %s: not a directory", dir);
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "store open: out of memory");
    }
    pthread_mutex_init(&s->snap_lock, NULL);
    s->flags = flags;
    if (flags & HW_STORE_RDONLY) {
        envflags |= MDB_RDONLY;
    }
    if ((rc = mdb_env_create(&s->env)) != 0 ||
        (rc = mdb_env_set_maxdbs(s->env, HW_STORE_MAXDBS)) != 0 ||
        (rc = mdb_env_set_maxreaders(s->env, HW_STORE_MAXREADERS)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, HW_STORE_MAPSIZE)) != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "store open");
        goto done;
    }
    rc = mdb_env_open(s->env, dir, envflags, 0600);
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, dir);
        goto done;
    }
    /* Reader slots left by killed processes would pin old pages forever. */
    (void)mdb_reader_check(s->env, &dead);

    /* Existing store: a read transaction is enough, so opening never waits for an import. */
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "store open");
        goto done;
    }
    rc = open_dbis(txn, s, 0);
    if (rc == 0) {
        err = check_schema(txn, s, dir, &present, errbuf, errbuf_len);
        if (err != HW_OK) {
            goto done;
        }
    } else if (rc != MDB_NOTFOUND) {
        err = lmdb_err(rc, errbuf, errbuf_len, "store open");
        goto done;
    }
    if (present) {
        rc = mdb_txn_commit(txn); /* keeps the database handles */
        txn = NULL;
        if (rc != 0) {
            err = lmdb_err(rc, errbuf, errbuf_len, "store open");
        } else if (!(flags & HW_STORE_RDONLY)) {
            err = index_upgrade(s, errbuf, errbuf_len);
        }
        if (err == HW_OK && hw_idx_hot_min > 0) {
            store_warm(dir);
        }
        goto done;
    }
    mdb_txn_abort(txn);
    txn = NULL;
    if (flags & HW_STORE_RDONLY) {
        err = hw_seterr(HW_EVERSION, errbuf, errbuf_len,
                        "%s is not a hashwatch store (no schema record)", dir);
        goto done;
    }
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = open_dbis(txn, s, MDB_CREATE);
    }
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "store create");
        goto done;
    }
    err = check_schema(txn, s, dir, &present, errbuf, errbuf_len);
    if (err != HW_OK) {
        goto done;
    }
    if (!present) {
        uint8_t b[4];
        MDB_val k = {6, "schema"}, v = {4, b};
        MDB_stat ms;

        /* Any list data without a schema record was not written by us. */
        if ((rc = mdb_stat(txn, s->lists, &ms)) != 0) {
            err = lmdb_err(rc, errbuf, errbuf_len, "store create");
            goto done;
        }
        if (ms.ms_entries != 0) {
            err = hw_seterr(HW_EVERSION, errbuf, errbuf_len,
                            "store %s has lists but no schema record", dir);
            goto done;
        }
        put_u32(b, HW_SCHEMA_VERSION);
        if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0) {
            err = lmdb_err(rc, errbuf, errbuf_len, "store create");
            goto done;
        }
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "store create");
    }
done:
    mdb_txn_abort(txn);
    if (err != HW_OK) {
        hw_store_close(s);
        return err;
    }
    *out = s;
    return HW_OK;
}

void hw_store_hot_index(size_t min_bytes)
{
    hw_idx_hot_min = min_bytes;
}

int hw_store_hot_index_wait(hw_store *s, int timeout_ms)
{
    return s == NULL || s->env == NULL ? 0 : hw_idx_hot_wait(s->env, timeout_ms);
}

void hw_store_hot_index_stats(hw_store *s, size_t *bytes_ready, unsigned *copying)
{
    *bytes_ready = 0;
    *copying = 0;
    if (s != NULL && s->env != NULL) {
        hw_idx_hot_stats(s->env, bytes_ready, copying);
    }
}

void hw_store_close(hw_store *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n_snap_idle; i++) {
        hw_snapshot_end(s->snap_idle[i]);
    }
    pthread_mutex_destroy(&s->snap_lock);
    if (s->env != NULL) {
        hw_idx_hot_close(s->env);
        mdb_env_close(s->env);
    }
    free(s);
}

/* ---- entries ---- */

static size_t entry_key(uint32_t list_id, enum hw_hash_type t, const uint8_t *hash, uint8_t *key)
{
    size_t len = hw_hash_type_len(t);

    put_be32(key, list_id);
    key[4] = (uint8_t)t;
    memcpy(key + 5, hash, len);
    return 5 + len;
}

static int str_ok(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

static int entry_valid(const struct hw_entry *e)
{
    return e->type > HW_HASH_NONE && e->type < HW_HASH_TYPE_COUNT &&
           str_ok(e->entry_id, sizeof(e->entry_id)) && str_ok(e->member_id, sizeof(e->member_id)) &&
           str_ok(e->category, sizeof(e->category)) && e->severity >= HW_SEV_UNKNOWN &&
           e->severity <= HW_SEV_CRITICAL;
}

static size_t entry_encode(const struct hw_entry *e, uint64_t stamp, uint8_t *out)
{
    const char *strs[3] = {e->entry_id, e->member_id, e->category};
    uint8_t *p = out;

    put_u64(p, stamp);
    put_u64(p + 8, (uint64_t)e->created);
    p[16] = (uint8_t)e->severity;
    p += ENTRY_FIXED_LEN;
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(strs[i]);
        *p++ = (uint8_t)n;
        memcpy(p, strs[i], n);
        p += n;
    }
    return (size_t)(p - out);
}

/* Decode a stored value into e (type and hash are set by the caller). */
static int entry_decode(const MDB_val *v, struct hw_entry *e, uint64_t *stamp)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    char *strs[3] = {e->entry_id, e->member_id, e->category};
    size_t caps[3] = {sizeof(e->entry_id), sizeof(e->member_id), sizeof(e->category)};

    if (v->mv_size < ENTRY_FIXED_LEN + 3) {
        return HW_ECORRUPT;
    }
    if (stamp != NULL) {
        *stamp = get_u64(p);
    }
    e->created = (int64_t)get_u64(p + 8);
    e->severity = p[16];
    p += ENTRY_FIXED_LEN;
    for (int i = 0; i < 3; i++) {
        size_t n;
        if (p >= end) {
            return HW_ECORRUPT;
        }
        n = *p++;
        if (n >= caps[i] || (size_t)(end - p) < n) {
            return HW_ECORRUPT;
        }
        memcpy(strs[i], p, n);
        strs[i][n] = '\0';
        p += n;
    }
    return p == end ? HW_OK : HW_ECORRUPT;
}

/* The entry_id of a stored value, as a pointer into it (not NUL-terminated). */
static int entry_value_id(const MDB_val *v, const uint8_t **id, size_t *len)
{
    const uint8_t *p = v->mv_data;

    if (v->mv_size < ENTRY_FIXED_LEN + 3 ||
        (size_t)p[ENTRY_FIXED_LEN] + ENTRY_FIXED_LEN + 1 > v->mv_size) {
        return HW_ECORRUPT;
    }
    *len = p[ENTRY_FIXED_LEN];
    *id = p + ENTRY_FIXED_LEN + 1;
    return HW_OK;
}

static int byid_op(hw_batch *b, const uint8_t *id, size_t id_len, enum hw_hash_type t,
                   const uint8_t *hash, int del)
{
    uint8_t kb[4 + HW_ENTRY_ID_MAX], db[1 + HW_HASH_MAX_LEN];
    MDB_val k = {4 + id_len, kb}, d = {1 + hw_hash_type_len(t), db};
    int rc;

    if (id_len == 0) {
        return 0;
    }
    put_be32(kb, b->list.id);
    memcpy(kb + 4, id, id_len);
    db[0] = (uint8_t)t;
    memcpy(db + 1, hash, hw_hash_type_len(t));
    if (del) {
        rc = mdb_del(b->txn, b->s->byid, &k, &d);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    rc = mdb_put(b->txn, b->s->byid, &k, &d, MDB_NODUPDATA);
    return rc == MDB_KEYEXIST ? 0 : rc;
}

/* Remember an added PDQ hash; the delta table is written at commit unless a merge is due. */
static int pdq_added(hw_batch *b, const uint8_t *hash)
{
    b->pdq_changed = 1;
    if (b->force_merge) {
        return 0;
    }
    if (b->n_pend == HW_DELTA_MAX) {
        /* More than the largest delta: the commit merges whatever else happens. */
        b->force_merge = 1;
        free(b->pend);
        b->pend = NULL;
        b->n_pend = b->cap_pend = 0;
        return 0;
    }
    if (b->n_pend == b->cap_pend) {
        size_t ncap = b->cap_pend ? b->cap_pend * 2 : 1024;
        uint64_t *np = realloc(b->pend, ncap * 32);
        if (np == NULL) {
            return ENOMEM;
        }
        b->pend = np;
        b->cap_pend = ncap;
    }
    memcpy(b->pend + 4 * b->n_pend, hash, 32);
    b->n_pend++;
    return 0;
}

static int pdq_pending_flush(hw_batch *b)
{
    uint8_t kb[36];
    MDB_val k = {36, kb}, v = {0, kb};

    put_be32(kb, b->list.id);
    for (size_t i = 0; i < b->n_pend; i++) {
        int rc;
        memcpy(kb + 4, b->pend + 4 * i, 32);
        rc = mdb_put(b->txn, b->s->pdqdelta, &k, &v, 0);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int pdq_removed(hw_batch *b, const uint8_t *hash)
{
    uint8_t kb[36];
    MDB_val k = {36, kb};
    int rc;

    put_be32(kb, b->list.id);
    memcpy(kb + 4, hash, 32);
    b->pdq_changed = 1;
    rc = mdb_del(b->txn, b->s->pdqdelta, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        b->stale_add++; /* it lives in the base segment, which still lists it until a merge */
        return 0;
    }
    return rc;
}

int hw_batch_begin(hw_store *s, const char *list, unsigned flags, hw_batch **out, char *errbuf,
                   size_t errbuf_len)
{
    hw_batch *b = NULL;
    int rc, err = HW_OK, found;
    uint64_t seq;

    if (out != NULL) {
        *out = NULL;
    }
    if (s == NULL || out == NULL || !name_valid(list) || (flags & ~HW_BATCH_REPLACE)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len,
                         "batch: bad argument (list names are [a-z0-9_.-]{1,63})");
    }
    if (s->flags & HW_STORE_RDONLY) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "batch: the store is open read-only");
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "batch: out of memory");
    }
    b->s = s;
    b->flags = flags;
    rc = mdb_txn_begin(s->env, NULL, 0, &b->txn);
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "batch begin");
        goto done;
    }
    rc = list_get(b->txn, s, list, &b->list, &found);
    if (rc == 0 && !found) {
        rc = list_new(b->txn, s, list, &b->list);
        b->created = 1;
    }
    if (rc == 0 && (flags & HW_BATCH_REPLACE)) {
        /* Entries this batch writes carry a fresh stamp; the rest are deleted at commit. */
        rc = meta_get_u64(b->txn, s, "seq", &seq);
        if (rc == 0) {
            b->stamp = seq + 1;
            rc = meta_put_u64(b->txn, s, "seq", seq + 1);
        }
    }
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "batch begin");
        goto done;
    }
done:
    if (err != HW_OK) {
        hw_batch_abort(b);
        return err;
    }
    *out = b;
    return HW_OK;
}

/*
 * Puts are buffered and applied in key order (a chunk of cap_recs records or cap_bytes bytes at a
 * time, and before any delete or the commit): consecutive B-tree inserts then touch neighbouring
 * pages, which is several times faster than inserting random hashes in file order. Records
 * with the same key are applied in their original order, so the result and the statistics are
 * those of applying every put as it came.
 *
 * The chunk starts at PEND_MIN_* and doubles with every full chunk, up to PEND_MAX_* (about
 * 0.8 GB with the flush's sort arrays). Each chunk rewrites every B-tree page it touches, and
 * a transaction larger than LMDB's dirty-page limit (512 MB) writes those pages out again
 * whenever it spills: a 100M-record import in 1M chunks wrote 738 GB for a 34.5 GB store
 * (161 GB with this growth).
 * Small imports keep the small buffers.
 */
#define PEND_MIN_RECS  (1u << 20)
#define PEND_MIN_BYTES ((size_t)64 << 20)
#define PEND_MAX_RECS  (1u << 23)
#define PEND_MAX_BYTES ((size_t)512 << 20)

struct pend {
    uint64_t prefix; /* key bytes 4..11 (type and the first 7 hash bytes), big-endian */
    uint32_t off;    /* record offset in the arena */
    uint32_t seq;    /* arrival order */
};

static int pend_cmp(const void *pa, const void *pb)
{
    const struct pend *a = pa, *b = pb;

    if (a->prefix != b->prefix) {
        return a->prefix < b->prefix ? -1 : 1;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Arena record: u8 key_len, u16 val_len (LE), key, value. */
static const uint8_t *rec_key(const hw_batch *b, uint32_t off, size_t *len)
{
    *len = b->arena[off];
    return b->arena + off + 3;
}

static const uint8_t *rec_val(const hw_batch *b, uint32_t off, size_t *len)
{
    *len = get_u16(b->arena + off + 1);
    return b->arena + off + 3 + b->arena[off];
}

static int key_cmp(const hw_batch *b, const struct pend *x, const struct pend *y)
{
    size_t lx, ly;
    const uint8_t *kx = rec_key(b, x->off, &lx), *ky = rec_key(b, y->off, &ly);
    int c = memcmp(kx, ky, lx < ly ? lx : ly);

    if (c != 0 || lx == ly) {
        return c;
    }
    return lx < ly ? -1 : 1;
}

/*
 * Apply one buffered put. With defer_byid, a newly added entry's byid pair is left to the
 * caller (*added = 1), to be written later in arrival order (ids are usually sequential).
 */
static int apply_put(hw_batch *b, uint32_t off, int defer_byid, int *added)
{
    size_t klen, vlen, id_len, old_id_len;
    const uint8_t *kp = rec_key(b, off, &klen), *vp = rec_val(b, off, &vlen), *old_id;
    enum hw_hash_type t = (enum hw_hash_type)kp[4];
    MDB_val k = {klen, (void *)kp}, v = {vlen, (void *)vp}, old = v;
    const uint8_t *id = vp + ENTRY_FIXED_LEN + 1;
    int rc;

    *added = 0;
    id_len = vp[ENTRY_FIXED_LEN];
    rc = mdb_put(b->txn, b->s->entries, &k, &old, MDB_NOOVERWRITE);
    if (rc == 0) {
        if (!defer_byid) {
            rc = byid_op(b, id, id_len, t, kp + 5, 0);
        }
        if (rc == 0 && t == HW_HASH_PDQ) {
            rc = pdq_added(b, kp + 5);
        }
        b->list.info.counts[t]++;
        b->st.added++;
        *added = 1;
        return rc;
    }
    if (rc != MDB_KEYEXIST) {
        return rc;
    }
    /* old now holds the stored value */
    if (old.mv_size == vlen && memcmp((const uint8_t *)old.mv_data + 8, vp + 8, vlen - 8) == 0) {
        b->st.unchanged++;
        if ((b->flags & HW_BATCH_REPLACE) && get_u64(old.mv_data) != b->stamp) {
            return mdb_put(b->txn, b->s->entries, &k, &v, 0);
        }
        return 0;
    }
    if (entry_value_id(&old, &old_id, &old_id_len) != HW_OK) {
        return MDB_CORRUPTED;
    }
    if (old_id_len != id_len || memcmp(old_id, id, id_len) != 0) {
        uint8_t idcopy[HW_ENTRY_ID_MAX];
        memcpy(idcopy, old_id, old_id_len); /* old points into the map, which puts may move */
        rc = byid_op(b, idcopy, old_id_len, t, kp + 5, 1);
        if (rc == 0) {
            rc = byid_op(b, id, id_len, t, kp + 5, 0);
        }
        if (rc != 0) {
            return rc;
        }
    }
    b->st.updated++;
    return mdb_put(b->txn, b->s->entries, &k, &v, 0);
}

/* Stable LSD radix sort by prefix (4 passes of 16 bits); equal prefixes keep arrival order. */
static void pend_sort(struct pend *v, struct pend *tmp, size_t n)
{
    size_t *count = calloc((size_t)1 << 16, sizeof(*count));
    struct pend *in = v, *out = tmp;

    if (count == NULL) {
        qsort(v, n, sizeof(*v), pend_cmp); /* same order, only slower */
        return;
    }
    for (int shift = 0; shift < 64; shift += 16) {
        size_t sum = 0;
        memset(count, 0, ((size_t)1 << 16) * sizeof(*count));
        for (size_t i = 0; i < n; i++) {
            count[(in[i].prefix >> shift) & 0xffff]++;
        }
        for (size_t d = 0; d < ((size_t)1 << 16); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            out[count[(in[i].prefix >> shift) & 0xffff]++] = in[i];
        }
        in = out;
        out = in == v ? tmp : v;
    }
    free(count); /* four passes: the result is back in v */
}

static int pend_flush(hw_batch *b)
{
    struct pend *tmp = NULL;
    uint8_t *added = NULL;
    uint32_t *by_seq = NULL;
    size_t n = b->n_pend_puts, i = 0;
    int rc = 0;

    if (n == 0 || b->err != HW_OK) {
        return b->err;
    }
    added = calloc(n, 1);
    by_seq = malloc(n * sizeof(*by_seq));
    if (added == NULL || by_seq == NULL) {
        rc = ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        by_seq[b->pend_puts[j].seq] = b->pend_puts[j].off;
    }
    tmp = malloc(n * sizeof(*tmp));
    if (tmp == NULL) {
        rc = ENOMEM;
        goto done;
    }
    pend_sort(b->pend_puts, tmp, n);
    while (i < n && rc == 0) {
        size_t j = i + 1;
        while (j < n && b->pend_puts[j].prefix == b->pend_puts[i].prefix) {
            j++;
        }
        if (j - i > 1) {
            /* Same 8-byte prefix: order by full key, then arrival (insertion sort; rare). */
            for (size_t x = i + 1; x < j; x++) {
                struct pend t = b->pend_puts[x];
                size_t y = x;
                while (y > i && (key_cmp(b, &b->pend_puts[y - 1], &t) > 0 ||
                                 (key_cmp(b, &b->pend_puts[y - 1], &t) == 0 &&
                                  b->pend_puts[y - 1].seq > t.seq))) {
                    b->pend_puts[y] = b->pend_puts[y - 1];
                    y--;
                }
                b->pend_puts[y] = t;
            }
        }
        for (size_t x = i; x < j && rc == 0; x++) {
            int is_added = 0,
                single = (x == i || key_cmp(b, &b->pend_puts[x - 1], &b->pend_puts[x]) != 0) &&
                         (x + 1 == j || key_cmp(b, &b->pend_puts[x], &b->pend_puts[x + 1]) != 0);
            /* A key put more than once in this chunk keeps its byid updates in order. */
            rc = apply_put(b, b->pend_puts[x].off, single, &is_added);
            if (single && is_added) {
                added[b->pend_puts[x].seq] = 1;
            }
        }
        i = j;
    }
    for (size_t seq = 0; seq < n && rc == 0; seq++) {
        if (added[seq]) {
            size_t klen, vlen;
            const uint8_t *kp = rec_key(b, by_seq[seq], &klen);
            const uint8_t *vp = rec_val(b, by_seq[seq], &vlen);
            rc = byid_op(b, vp + ENTRY_FIXED_LEN + 1, vp[ENTRY_FIXED_LEN], (enum hw_hash_type)kp[4],
                         kp + 5, 0);
        }
    }
done:
    free(added);
    free(by_seq);
    free(tmp);
    b->n_pend_puts = 0;
    b->arena_len = 0;
    if (rc != 0) {
        b->err = lmdb_err(rc, NULL, 0, "batch put");
    }
    return b->err;
}

/* After a full chunk is flushed (the buffers are empty): double them, up to PEND_MAX_*. Out of
 * memory is not an error here: the batch goes on with the buffers it has. */
static void pend_grow(hw_batch *b)
{
    size_t recs = b->cap_recs * 2, bytes = b->cap_bytes * 2;
    uint8_t *arena;
    struct pend *puts;

    if (recs > PEND_MAX_RECS) {
        recs = PEND_MAX_RECS;
    }
    if (bytes > PEND_MAX_BYTES) {
        bytes = PEND_MAX_BYTES;
    }
    if (recs == b->cap_recs && bytes == b->cap_bytes) {
        return;
    }
    arena = malloc(bytes);
    puts = malloc(recs * sizeof(*puts));
    if (arena == NULL || puts == NULL) {
        free(arena);
        free(puts);
        return;
    }
    free(b->arena);
    free(b->pend_puts);
    b->arena = arena;
    b->pend_puts = puts;
    b->cap_recs = recs;
    b->cap_bytes = bytes;
}

int hw_batch_put(hw_batch *b, const struct hw_entry *e)
{
    uint8_t kb[KEY_MAX],
        vb[ENTRY_FIXED_LEN + 3 + HW_ENTRY_ID_MAX + HW_MEMBER_ID_MAX + HW_CATEGORY_MAX];
    size_t klen, vlen, need;
    struct pend *p;

    if (b == NULL || e == NULL || !entry_valid(e)) {
        return HW_EINVAL;
    }
    if (b->err != HW_OK) {
        return b->err;
    }
    klen = entry_key(b->list.id, e->type, e->hash, kb);
    vlen = entry_encode(e, b->stamp, vb);
    need = 3 + klen + vlen;
    if (b->arena != NULL && (b->n_pend_puts == b->cap_recs || b->arena_len + need > b->cap_bytes)) {
        if (pend_flush(b) != HW_OK) {
            return b->err;
        }
        pend_grow(b);
    }
    if (b->arena == NULL) {
        b->cap_recs = PEND_MIN_RECS;
        b->cap_bytes = PEND_MIN_BYTES;
        b->arena = malloc(b->cap_bytes);
        b->pend_puts = malloc(b->cap_recs * sizeof(*b->pend_puts));
        if (b->arena == NULL || b->pend_puts == NULL) {
            b->err = HW_ENOMEM;
            return b->err;
        }
    }
    p = &b->pend_puts[b->n_pend_puts];
    p->off = (uint32_t)b->arena_len;
    p->seq = (uint32_t)b->n_pend_puts;
    p->prefix = 0;
    for (size_t i = 4; i < 12; i++) {
        p->prefix = p->prefix << 8 | (i < klen ? kb[i] : 0);
    }
    b->arena[b->arena_len] = (uint8_t)klen;
    put_u16(b->arena + b->arena_len + 1, (uint16_t)vlen);
    memcpy(b->arena + b->arena_len + 3, kb, klen);
    memcpy(b->arena + b->arena_len + 3 + klen, vb, vlen);
    b->arena_len += need;
    b->n_pend_puts++;
    return HW_OK;
}

/* Delete one entry by its key; absent is a no-op. */
static int delete_key(hw_batch *b, enum hw_hash_type t, const uint8_t *hash)
{
    uint8_t kb[KEY_MAX], idcopy[HW_ENTRY_ID_MAX], hcopy[HW_HASH_MAX_LEN];
    MDB_val k, old;
    const uint8_t *old_id;
    size_t old_id_len;
    int rc;

    k.mv_data = kb;
    k.mv_size = entry_key(b->list.id, t, hash, kb);
    memcpy(hcopy, hash, hw_hash_type_len(t)); /* hash may point into the map */
    rc = mdb_get(b->txn, b->s->entries, &k, &old);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (entry_value_id(&old, &old_id, &old_id_len) != HW_OK) {
        return MDB_CORRUPTED;
    }
    memcpy(idcopy, old_id, old_id_len);
    rc = mdb_del(b->txn, b->s->entries, &k, NULL);
    if (rc == 0) {
        rc = byid_op(b, idcopy, old_id_len, t, hcopy, 1);
    }
    if (rc == 0 && t == HW_HASH_PDQ) {
        rc = pdq_removed(b, hcopy);
    }
    if (rc == 0) {
        if (b->list.info.counts[t] > 0) {
            b->list.info.counts[t]--;
        }
        b->st.deleted++;
    }
    return rc;
}

int hw_batch_delete(hw_batch *b, const struct hw_entry *e)
{
    int rc = 0;

    if (b == NULL || e == NULL) {
        return HW_EINVAL;
    }
    if (b->err != HW_OK || pend_flush(b) != HW_OK) {
        return b->err;
    }
    if (e->type == HW_HASH_NONE) {
        uint8_t kb[4 + HW_ENTRY_ID_MAX];
        size_t id_len = strnlen(e->entry_id, sizeof(e->entry_id));
        MDB_cursor *c = NULL;
        MDB_val k = {4 + id_len, kb}, d;

        if (id_len == 0 || id_len >= sizeof(e->entry_id)) {
            return HW_EINVAL;
        }
        put_be32(kb, b->list.id);
        memcpy(kb + 4, e->entry_id, id_len);
        /* Each deletion changes the duplicates under the cursor: take the first, repeat. */
        for (;;) {
            uint8_t db[1 + HW_HASH_MAX_LEN];
            rc = mdb_cursor_open(b->txn, b->s->byid, &c);
            if (rc == 0) {
                rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY);
            }
            if (rc == 0 && (d.mv_size < 2 || d.mv_size > sizeof(db))) {
                rc = MDB_CORRUPTED;
            }
            if (rc == 0) {
                memcpy(db, d.mv_data, d.mv_size);
            }
            mdb_cursor_close(c);
            c = NULL;
            if (rc != 0) {
                break;
            }
            if (db[0] <= HW_HASH_NONE || db[0] >= HW_HASH_TYPE_COUNT ||
                d.mv_size != 1 + hw_hash_type_len((enum hw_hash_type)db[0])) {
                rc = MDB_CORRUPTED;
                break;
            }
            rc = delete_key(b, (enum hw_hash_type)db[0], db + 1);
            if (rc != 0) {
                break;
            }
            k.mv_size = 4 + id_len;
            k.mv_data = kb;
        }
        if (rc == MDB_NOTFOUND) {
            rc = 0;
        }
    } else if (e->type > HW_HASH_NONE && e->type < HW_HASH_TYPE_COUNT) {
        rc = delete_key(b, e->type, e->hash);
    } else {
        return HW_EINVAL;
    }
    if (rc != 0) {
        b->err = lmdb_err(rc, NULL, 0, "batch delete");
        return b->err;
    }
    return HW_OK;
}

/* Replace: delete every entry of the list that this batch did not write. */
static int sweep_unstamped(hw_batch *b)
{
    uint8_t kb[KEY_MAX];
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc;

    put_be32(kb, b->list.id);
    k.mv_data = kb;
    k.mv_size = 4;
    rc = mdb_cursor_open(b->txn, b->s->entries, &c);
    if (rc == 0) {
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    while (rc == 0) {
        const uint8_t *kp = k.mv_data;
        enum hw_hash_type t;

        if (k.mv_size < 6 || get_be32(kp) != b->list.id) {
            break;
        }
        if (v.mv_size < 8 || get_u64(v.mv_data) == b->stamp) {
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            continue;
        }
        t = (enum hw_hash_type)kp[4];
        if (t <= HW_HASH_NONE || t >= HW_HASH_TYPE_COUNT || k.mv_size != 5 + hw_hash_type_len(t)) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(kb, kp, k.mv_size);
        k.mv_data = kb;
        rc = delete_key(b, t, kb + 5);
        if (rc == 0) {
            /* Deleting under the cursor moved the tree: seek again past the deleted key. */
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Rebuild the delta segment from the pdqdelta table. */
static int rebuild_delta(MDB_txn *txn, hw_store *s, char *errbuf, size_t errbuf_len)
{
    MDB_stat ms;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    uint64_t *hash = NULL, n = 0;
    uint32_t *list = NULL;
    int rc, err = HW_OK;

    rc = mdb_stat(txn, s->pdqdelta, &ms);
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "index delta");
        goto done;
    }
    hash = malloc((ms.ms_entries + 1) * 32);
    list = malloc((ms.ms_entries + 1) * 4);
    if (hash == NULL || list == NULL) {
        err = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "index delta: out of memory");
        goto done;
    }
    rc = mdb_cursor_open(txn, s->pdqdelta, &c);
    if (rc == 0) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    }
    while (rc == 0 && n < ms.ms_entries) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size != 36) {
            rc = MDB_CORRUPTED;
            break;
        }
        list[n] = get_be32(p);
        for (int w = 0; w < 4; w++) {
            hash[4 * n + w] = get_u64(p + 4 + 8 * w);
        }
        n++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        err = lmdb_err(rc, errbuf, errbuf_len, "index delta");
        goto done;
    }
    err = hw_idx_build(txn, s->pdqidx, "d", hash, list, n, errbuf, errbuf_len);
done:
    mdb_cursor_close(c);
    free(hash);
    free(list);
    return err;
}

/* Merge: rebuild the base segment from every live PDQ entry; the delta becomes empty. */
static int rebuild_base(MDB_txn *txn, hw_store *s, char *errbuf, size_t errbuf_len)
{
    MDB_cursor *lc = NULL, *ec = NULL;
    MDB_val k, v;
    uint64_t *hash = NULL, n = 0, cap = 0;
    uint32_t *list = NULL;
    int rc, err = HW_OK;

    rc = mdb_cursor_open(txn, s->lists, &lc);
    if (rc == 0) {
        rc = mdb_cursor_open(txn, s->entries, &ec);
    }
    if (rc == 0) {
        rc = mdb_cursor_get(lc, &k, &v, MDB_FIRST);
    }
    while (rc == 0) {
        struct list_rec l;
        uint8_t kb[5];
        MDB_val ek = {5, kb}, ev;

        if (list_decode(&k, &v, &l) != HW_OK) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (n + l.info.counts[HW_HASH_PDQ] > cap) {
            uint64_t ncap = n + l.info.counts[HW_HASH_PDQ] + 1024;
            uint64_t *nh = NULL;
            uint32_t *nl = NULL;
            if (ncap > UINT32_MAX || (nh = realloc(hash, ncap * 32)) == NULL) {
                err = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "index merge: out of memory");
                goto done;
            }
            hash = nh;
            if ((nl = realloc(list, ncap * 4)) == NULL) {
                err = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "index merge: out of memory");
                goto done;
            }
            list = nl;
            cap = ncap;
        }
        put_be32(kb, l.id);
        kb[4] = HW_HASH_PDQ;
        rc = mdb_cursor_get(ec, &ek, &ev, MDB_SET_RANGE);
        while (rc == 0) {
            const uint8_t *p = ek.mv_data;
            if (ek.mv_size != 37 || memcmp(p, kb, 5) != 0) {
                break;
            }
            if (n == cap) { /* counts disagree with the entries */
                rc = MDB_CORRUPTED;
                break;
            }
            list[n] = l.id;
            for (int w = 0; w < 4; w++) {
                hash[4 * n + w] = get_u64(p + 5 + 8 * w);
            }
            n++;
            rc = mdb_cursor_get(ec, &ek, &ev, MDB_NEXT);
        }
        if (rc != 0 && rc != MDB_NOTFOUND) {
            break;
        }
        rc = mdb_cursor_get(lc, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        err = lmdb_err(rc, errbuf, errbuf_len, "index merge");
        goto done;
    }
    err = hw_idx_build(txn, s->pdqidx, "b", hash, list, n, errbuf, errbuf_len);
    if (err != HW_OK) {
        goto done;
    }
    rc = mdb_drop(txn, s->pdqdelta, 0);
    if (rc == 0) {
        rc = meta_put_u64(txn, s, "pdq_stale", 0);
    }
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "index merge");
        goto done;
    }
    err = hw_idx_build(txn, s->pdqidx, "d", NULL, NULL, 0, errbuf, errbuf_len);
done:
    mdb_cursor_close(lc);
    mdb_cursor_close(ec);
    free(hash);
    free(list);
    return err;
}

/* After PDQ changes: refresh the delta segment, or merge everything into a new base. */
static int index_maintain(MDB_txn *txn, hw_store *s, uint64_t stale_add, hw_batch *pending,
                          char *errbuf, size_t errbuf_len)
{
    uint64_t stale, bound;
    struct hw_idx_seg base;
    MDB_stat ms;
    MDB_val k = {5, "b.hdr"}, v;
    int rc, has_base, err;

    rc = meta_get_u64(txn, s, "pdq_stale", &stale);
    if (rc == 0) {
        rc = mdb_stat(txn, s->pdqdelta, &ms);
    }
    if (rc == 0) {
        rc = mdb_get(txn, s->pdqidx, &k, &v);
        has_base = rc == 0;
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index");
    }
    stale += stale_add;
    memset(&base, 0, sizeof(base));
    if (has_base) {
        err = hw_idx_load(txn, s->pdqidx, "b", &base, errbuf, errbuf_len);
        if (err == HW_EVERSION) {
            /* Written by another build: the segments are derived data, rebuilt from entries. */
            return rebuild_base(txn, s, errbuf, errbuf_len);
        }
        if (err != HW_OK) {
            return err;
        }
    }
    bound = base.n / 32;
    bound = bound < HW_DELTA_MIN ? HW_DELTA_MIN : bound > HW_DELTA_MAX ? HW_DELTA_MAX : bound;
    hw_idx_seg_release(&base);
    if (!has_base || (pending != NULL && pending->force_merge) ||
        ms.ms_entries + (pending != NULL ? pending->n_pend : 0) + stale > bound) {
        return rebuild_base(txn, s, errbuf, errbuf_len);
    }
    rc = meta_put_u64(txn, s, "pdq_stale", stale);
    if (rc == 0 && pending != NULL) {
        rc = pdq_pending_flush(pending);
    }
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "index");
    }
    return rebuild_delta(txn, s, errbuf, errbuf_len);
}

int hw_batch_commit(hw_batch *b, struct hw_batch_stats *stats, char *errbuf, size_t errbuf_len)
{
    int rc = 0, err = HW_OK;

    if (stats != NULL) {
        memset(stats, 0, sizeof(*stats));
    }
    if (b == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "batch commit: no batch");
    }
    if (b->err != HW_OK || pend_flush(b) != HW_OK) {
        err = hw_seterr(b->err, errbuf, errbuf_len, "batch failed: %s", hw_strerror(b->err));
        goto done;
    }
    if (b->flags & HW_BATCH_REPLACE) {
        rc = sweep_unstamped(b);
    }
    if (rc == 0 && (b->st.added + b->st.updated + b->st.deleted > 0) && !b->created) {
        rc = version_bump(b->txn, b->s, &b->list);
    }
    if (rc == 0 && (b->created || b->st.added + b->st.updated + b->st.deleted > 0)) {
        rc = list_put(b->txn, b->s, &b->list);
    }
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "batch commit");
        goto done;
    }
    if (b->pdq_changed) {
        err = index_maintain(b->txn, b->s, b->stale_add, b, errbuf, errbuf_len);
        if (err != HW_OK) {
            goto done;
        }
    }
    rc = mdb_txn_commit(b->txn);
    b->txn = NULL;
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "batch commit");
        goto done;
    }
    if (stats != NULL) {
        *stats = b->st;
    }
done:
    hw_batch_abort(b);
    return err;
}

void hw_batch_abort(hw_batch *b)
{
    if (b == NULL) {
        return;
    }
    if (b->txn != NULL) {
        mdb_txn_abort(b->txn);
    }
    free(b->pend);
    free(b->arena);
    free(b->pend_puts);
    free(b);
}

/* ---- list metadata ---- */

int hw_store_list_set(hw_store *s, const char *name, const struct hw_list_config *cfg, char *errbuf,
                      size_t errbuf_len)
{
    MDB_txn *txn = NULL;
    struct list_rec l, before;
    int rc, err = HW_OK, found;

    if (s == NULL || !name_valid(name)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len,
                         "list: bad name (list names are [a-z0-9_.-]{1,63})");
    }
    if (cfg != NULL && ((cfg->source != NULL && strlen(cfg->source) >= sizeof(l.info.source)) ||
                        (cfg->licence != NULL && strlen(cfg->licence) >= sizeof(l.info.licence)) ||
                        cfg->pdq_threshold > 256)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len,
                         "list: source/licence longer than 255 bytes or threshold above 256");
    }
    if (s->flags & HW_STORE_RDONLY) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "list: the store is open read-only");
    }
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = list_get(txn, s, name, &l, &found);
    }
    if (rc == 0 && !found) {
        rc = list_new(txn, s, name, &l);
    }
    if (rc != 0) {
        goto done;
    }
    before = l;
    if (cfg != NULL) {
        if (cfg->source != NULL) {
            snprintf(l.info.source, sizeof(l.info.source), "%s", cfg->source);
        }
        if (cfg->licence != NULL) {
            snprintf(l.info.licence, sizeof(l.info.licence), "%s", cfg->licence);
        }
        if (cfg->pdq_threshold >= 0) {
            l.info.pdq_threshold = cfg->pdq_threshold;
        }
    }
    if (found && memcmp(&before, &l, sizeof(l)) == 0) {
        goto done; /* nothing changed: keep the version */
    }
    if (found) {
        rc = version_bump(txn, s, &l);
    }
    if (rc == 0) {
        rc = list_put(txn, s, &l);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
done:
    mdb_txn_abort(txn);
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "list set");
    }
    return err;
}

/* Delete every key of `dbi` that starts with the 4-byte list id prefix. */
static int drop_prefix(MDB_txn *txn, MDB_dbi dbi, uint32_t list_id, uint64_t *n_deleted)
{
    uint8_t kb[4];
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc;

    put_be32(kb, list_id);
    rc = mdb_cursor_open(txn, dbi, &c);
    while (rc == 0) {
        k.mv_data = kb;
        k.mv_size = 4;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size < 4 || memcmp(k.mv_data, kb, 4) != 0) {
            break;
        }
        rc = mdb_cursor_del(c, MDB_NODUPDATA);
        if (n_deleted != NULL) {
            (*n_deleted)++;
        }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int hw_store_list_remove(hw_store *s, const char *name, char *errbuf, size_t errbuf_len)
{
    MDB_txn *txn = NULL;
    struct list_rec l;
    uint64_t in_delta = 0;
    int rc, err = HW_OK, found;
    MDB_val k;

    if (s == NULL || !name_valid(name)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "list remove: bad name");
    }
    if (s->flags & HW_STORE_RDONLY) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "list: the store is open read-only");
    }
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = list_get(txn, s, name, &l, &found);
    }
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "list remove");
        goto done;
    }
    if (!found) {
        err = hw_seterr(HW_ENOTFOUND, errbuf, errbuf_len, "no list named '%s'", name);
        goto done;
    }
    k.mv_data = l.info.name;
    k.mv_size = strlen(l.info.name);
    if ((rc = drop_prefix(txn, s->entries, l.id, NULL)) != 0 ||
        (rc = drop_prefix(txn, s->byid, l.id, NULL)) != 0 ||
        (rc = drop_prefix(txn, s->pdqdelta, l.id, &in_delta)) != 0 ||
        (rc = mdb_del(txn, s->lists, &k, NULL)) != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "list remove");
        goto done;
    }
    /* Its base entries are unreachable (the list id is gone) but still occupy the base. */
    if (l.info.counts[HW_HASH_PDQ] > 0) {
        uint64_t stale_add =
            l.info.counts[HW_HASH_PDQ] > in_delta ? l.info.counts[HW_HASH_PDQ] - in_delta : 0;
        err = index_maintain(txn, s, stale_add, NULL, errbuf, errbuf_len);
        if (err != HW_OK) {
            goto done;
        }
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        err = lmdb_err(rc, errbuf, errbuf_len, "list remove");
    }
done:
    mdb_txn_abort(txn);
    return err;
}

/* ---- snapshots ---- */

/* (Re)read the list records in the snapshot's transaction; segments load on first use. */
static int snapshot_load(hw_snapshot *snap, char *errbuf, size_t errbuf_len)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    MDB_stat ms;
    int rc, err = HW_OK;

    hw_idx_seg_release(&snap->seg[0]);
    hw_idx_seg_release(&snap->seg[1]);
    snap->segs_loaded = 0;
    free(snap->lists);
    snap->lists = NULL;
    snap->n_lists = 0;
    snap->txnid = mdb_txn_id(snap->txn);
    rc = mdb_stat(snap->txn, snap->s->lists, &ms);
    if (rc != 0) {
        return lmdb_err(rc, errbuf, errbuf_len, "snapshot");
    }
    snap->lists = calloc(ms.ms_entries + 1, sizeof(*snap->lists));
    if (snap->lists == NULL) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "snapshot: out of memory");
    }
    rc = mdb_cursor_open(snap->txn, snap->s->lists, &c);
    if (rc == 0) {
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    }
    while (rc == 0 && snap->n_lists < ms.ms_entries) {
        if (list_decode(&k, &v, &snap->lists[snap->n_lists]) != HW_OK) {
            err = hw_seterr(HW_ECORRUPT, errbuf, errbuf_len, "snapshot: corrupt list record");
            goto done;
        }
        snap->n_lists++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        err = lmdb_err(rc, errbuf, errbuf_len, "snapshot");
    }
done:
    mdb_cursor_close(c);
    return err;
}

int hw_snapshot_begin(hw_store *s, hw_snapshot **out, char *errbuf, size_t errbuf_len)
{
    hw_snapshot *snap = NULL;
    int rc, err;

    if (out != NULL) {
        *out = NULL;
    }
    if (s == NULL || out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "snapshot: bad argument");
    }
    snap = calloc(1, sizeof(*snap));
    if (snap == NULL) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "snapshot: out of memory");
    }
    snap->s = s;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &snap->txn);
    if (rc != 0) {
        hw_snapshot_end(snap);
        return lmdb_err(rc, errbuf, errbuf_len, "snapshot");
    }
    err = snapshot_load(snap, errbuf, errbuf_len);
    if (err != HW_OK) {
        hw_snapshot_end(snap);
        return err;
    }
    *out = snap;
    return HW_OK;
}

/*
 * An idle snapshot keeps its reset read transaction, its decoded lists and its mapped index
 * segments. Renewing the transaction costs little; when no write has committed since the
 * snapshot was read (same transaction id), every page it points into is still the live
 * one, so the lists and segments are reused as they are. A reset transaction pins nothing.
 */
int hw_snapshot_acquire(hw_store *s, hw_snapshot **out, char *errbuf, size_t errbuf_len)
{
    hw_snapshot *snap = NULL;
    int rc, err;

    if (s == NULL || out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "snapshot: bad argument");
    }
    pthread_mutex_lock(&s->snap_lock);
    if (s->n_snap_idle > 0) {
        snap = s->snap_idle[--s->n_snap_idle];
    }
    pthread_mutex_unlock(&s->snap_lock);
    if (snap == NULL) {
        return hw_snapshot_begin(s, out, errbuf, errbuf_len);
    }
    rc = mdb_txn_renew(snap->txn);
    if (rc != 0) {
        hw_snapshot_end(snap);
        return hw_snapshot_begin(s, out, errbuf, errbuf_len);
    }
    if (mdb_txn_id(snap->txn) != snap->txnid) {
        err = snapshot_load(snap, errbuf, errbuf_len);
        if (err != HW_OK) {
            hw_snapshot_end(snap);
            *out = NULL;
            return err;
        }
    }
    *out = snap;
    return HW_OK;
}

void hw_snapshot_release(hw_snapshot *snap)
{
    hw_store *s;

    if (snap == NULL) {
        return;
    }
    s = snap->s;
    mdb_txn_reset(snap->txn);
    pthread_mutex_lock(&s->snap_lock);
    if (s->n_snap_idle < HW_SNAP_CACHE) {
        s->snap_idle[s->n_snap_idle++] = snap;
        snap = NULL;
    }
    pthread_mutex_unlock(&s->snap_lock);
    hw_snapshot_end(snap);
}

void hw_snapshot_end(hw_snapshot *snap)
{
    if (snap == NULL) {
        return;
    }
    hw_idx_seg_release(&snap->seg[0]);
    hw_idx_seg_release(&snap->seg[1]);
    if (snap->txn != NULL) {
        mdb_txn_abort(snap->txn);
    }
    free(snap->lists);
    free(snap);
}

int hw_snapshot_lists(hw_snapshot *snap, struct hw_list_info *out, size_t cap, size_t *n)
{
    if (n != NULL) {
        *n = 0;
    }
    if (snap == NULL || n == NULL || (out == NULL && cap > 0)) {
        return HW_EINVAL;
    }
    for (size_t i = 0; i < snap->n_lists && i < cap; i++) {
        out[i] = snap->lists[i].info;
    }
    *n = snap->n_lists;
    return HW_OK;
}

/* Per-list thresholds for a query: -1 for lists not selected. Returns the largest. */
static int select_lists(const hw_snapshot *snap, const struct hw_match_opts *opts, int *thr)
{
    int tmax = -1;

    for (size_t i = 0; i < snap->n_lists; i++) {
        const struct hw_list_info *li = &snap->lists[i].info;
        int sel = opts == NULL || opts->lists == NULL;

        for (size_t j = 0; !sel && j < opts->n_lists; j++) {
            sel = opts->lists[j] != NULL && strcmp(opts->lists[j], li->name) == 0;
        }
        thr[i] = -1;
        if (sel) {
            thr[i] = li->pdq_threshold;
            if (opts != NULL && opts->max_distance >= 0 && opts->max_distance < thr[i]) {
                thr[i] = opts->max_distance;
            }
            if (thr[i] > tmax) {
                tmax = thr[i];
            }
        }
    }
    return tmax;
}

struct hit {
    uint64_t hash[4];
    MDB_val val; /* the stored entry, once checked (valid for the snapshot's lifetime) */
    uint32_t list_idx;
    uint16_t distance;
    uint8_t variant;
};

struct hits {
    const hw_snapshot *snap;
    const struct hw_idx_seg *seg;
    const int *thr;
    struct hit *v;
    size_t n, cap;
    uint32_t last_list_id, last_idx;
};

static int hit_add(void *ctx, uint32_t id, int distance, int variant)
{
    struct hits *h = ctx;
    uint32_t lid = h->seg->list[id], idx;

    if (lid == h->last_list_id) {
        idx = h->last_idx;
    } else {
        idx = UINT32_MAX;
        for (size_t i = 0; i < h->snap->n_lists; i++) {
            if (h->snap->lists[i].id == lid) {
                idx = (uint32_t)i;
                break;
            }
        }
        h->last_list_id = lid;
        h->last_idx = idx;
    }
    if (idx == UINT32_MAX || distance > h->thr[idx]) {
        return 0; /* a removed list, not selected, or beyond that list's threshold */
    }
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        struct hit *nv = realloc(h->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            return HW_ENOMEM;
        }
        h->v = nv;
        h->cap = ncap;
    }
    memcpy(h->v[h->n].hash, hw_idx_hash(h->seg, id), 32);
    h->v[h->n].list_idx = idx;
    h->v[h->n].variant = (uint8_t)variant;
    h->v[h->n].distance = (uint16_t)distance;
    h->n++;
    return 0;
}

static int hash_cmp(const uint64_t *a, const uint64_t *b)
{
    for (int w = 0; w < 4; w++) {
        if (a[w] != b[w]) {
            return a[w] < b[w] ? -1 : 1;
        }
    }
    return 0;
}

/* Group by (list, hash), best (distance, variant) first. */
static int hit_cmp_entry(const void *pa, const void *pb)
{
    const struct hit *a = pa, *b = pb;
    int c;

    if (a->list_idx != b->list_idx) {
        return a->list_idx < b->list_idx ? -1 : 1;
    }
    c = hash_cmp(a->hash, b->hash);
    if (c != 0) {
        return c;
    }
    if (a->distance != b->distance) {
        return a->distance < b->distance ? -1 : 1;
    }
    return a->variant < b->variant ? -1 : a->variant > b->variant;
}

/* Result order: distance, then list (lists are sorted by name), then entry (its hash). */
static int hit_cmp_result(const void *pa, const void *pb)
{
    const struct hit *a = pa, *b = pb;

    if (a->distance != b->distance) {
        return a->distance < b->distance ? -1 : 1;
    }
    if (a->list_idx != b->list_idx) {
        return a->list_idx < b->list_idx ? -1 : 1;
    }
    return hash_cmp(a->hash, b->hash);
}

static void hash_bytes(const uint64_t *h, uint8_t *out)
{
    for (int w = 0; w < 4; w++) {
        put_u64(out + 8 * w, h[w]);
    }
}

static int fill_match(const hw_snapshot *snap, size_t list_idx, enum hw_hash_type t,
                      const uint8_t *hash, const MDB_val *v, int distance, int variant,
                      struct hw_match *m)
{
    memset(m, 0, sizeof(*m));
    memcpy(m->list, snap->lists[list_idx].info.name, sizeof(m->list));
    m->list_version = snap->lists[list_idx].info.version;
    m->entry.type = t;
    memcpy(m->entry.hash, hash, hw_hash_type_len(t));
    m->distance = distance;
    m->variant = variant;
    return entry_decode(v, &m->entry, NULL);
}

int hw_snapshot_match_pdq(hw_snapshot *snap, const struct hw_pdq *q,
                          const struct hw_match_opts *opts, struct hw_match *out, size_t cap,
                          size_t *n_found)
{
    struct hits h;
    int *thr = NULL, tmax, err = HW_OK;
    size_t kept = 0;

    if (n_found != NULL) {
        *n_found = 0;
    }
    if (snap == NULL || q == NULL || n_found == NULL || (out == NULL && cap > 0)) {
        return HW_EINVAL;
    }
    memset(&h, 0, sizeof(h));
    thr = malloc((snap->n_lists + 1) * sizeof(*thr));
    if (thr == NULL) {
        return HW_ENOMEM;
    }
    tmax = select_lists(snap, opts, thr);
    if (tmax < 0) {
        goto done;
    }
    if (!snap->segs_loaded) {
        err = hw_idx_load(snap->txn, snap->s->pdqidx, "b", &snap->seg[0], NULL, 0);
        if (err == HW_OK) {
            hw_idx_attach_hot(snap->txn, snap->s->pdqidx, "b", &snap->seg[0]);
            err = hw_idx_load(snap->txn, snap->s->pdqidx, "d", &snap->seg[1], NULL, 0);
        }
        if (err != HW_OK) {
            goto done;
        }
        snap->segs_loaded = 1;
    }
    h.snap = snap;
    h.thr = thr;
    h.last_list_id = UINT32_MAX;
    for (uint8_t sg = 0; sg < 2; sg++) {
        h.seg = &snap->seg[sg];
        err = hw_idx_search(h.seg, q, opts != NULL && opts->variants ? HW_DIH_COUNT : 1, tmax,
                            opts != NULL && opts->scan, hit_add, &h);
        if (err != HW_OK) {
            goto done;
        }
    }
    /* De-duplicate (slots, variants, base and delta), then keep entries that still exist. */
    if (h.n > 1) {
        qsort(h.v, h.n, sizeof(*h.v), hit_cmp_entry);
    }
    for (size_t i = 0; i < h.n; i++) {
        uint8_t kb[KEY_MAX], hb[32];
        MDB_val k = {37, kb}, v;
        int rc;

        if (kept > 0 && h.v[kept - 1].list_idx == h.v[i].list_idx &&
            hash_cmp(h.v[kept - 1].hash, h.v[i].hash) == 0) {
            continue;
        }
        hash_bytes(h.v[i].hash, hb);
        entry_key(snap->lists[h.v[i].list_idx].id, HW_HASH_PDQ, hb, kb);
        rc = mdb_get(snap->txn, snap->s->entries, &k, &v);
        if (rc == MDB_NOTFOUND) {
            continue; /* deleted since the segment was built */
        }
        if (rc != 0) {
            err = lmdb_err(rc, NULL, 0, "match");
            goto done;
        }
        h.v[i].val = v;
        h.v[kept++] = h.v[i];
    }
    if (kept > 1) {
        qsort(h.v, kept, sizeof(*h.v), hit_cmp_result);
    }
    for (size_t i = 0; i < kept && i < cap; i++) {
        uint8_t hb[32];

        hash_bytes(h.v[i].hash, hb);
        err = fill_match(snap, h.v[i].list_idx, HW_HASH_PDQ, hb, &h.v[i].val, h.v[i].distance,
                         h.v[i].variant, &out[i]);
        if (err != HW_OK) {
            goto done;
        }
    }
    *n_found = kept;
done:
    free(thr);
    free(h.v);
    return err;
}

int hw_snapshot_match_exact(hw_snapshot *snap, enum hw_hash_type type, const uint8_t *hash,
                            const struct hw_match_opts *opts, struct hw_match *out, size_t cap,
                            size_t *n_found)
{
    int *thr = NULL, err = HW_OK;
    size_t found = 0;

    if (n_found != NULL) {
        *n_found = 0;
    }
    if (snap == NULL || hash == NULL || n_found == NULL || (out == NULL && cap > 0) ||
        type <= HW_HASH_NONE || type >= HW_HASH_TYPE_COUNT) {
        return HW_EINVAL;
    }
    thr = malloc((snap->n_lists + 1) * sizeof(*thr));
    if (thr == NULL) {
        return HW_ENOMEM;
    }
    (void)select_lists(snap, opts, thr);
    for (size_t i = 0; i < snap->n_lists; i++) {
        uint8_t kb[KEY_MAX];
        MDB_val k, v;
        int rc;

        if (thr[i] < 0) {
            continue; /* not selected */
        }
        k.mv_data = kb;
        k.mv_size = entry_key(snap->lists[i].id, type, hash, kb);
        rc = mdb_get(snap->txn, snap->s->entries, &k, &v);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc != 0) {
            err = lmdb_err(rc, NULL, 0, "match");
            goto done;
        }
        if (found < cap) {
            err = fill_match(snap, i, type, hash, &v, 0, HW_DIH_ORIG, &out[found]);
            if (err != HW_OK) {
                goto done;
            }
        }
        found++;
    }
    *n_found = found;
done:
    free(thr);
    return err;
}
