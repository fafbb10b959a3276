/* test_store_match.c: randomised PDQ look-ups against a brute-force model, across index states. */
#include "store_testutil.h"

/* White box: the index's layout (to build worst-case queries) and its test hook hw_idx_mode
 * (0 = cost-based choice, 1 = always the slot tables, 2 = always scan). */
#include "index.h"
#include "store_int.h"

#define N_LISTS 4
static const char *list_names[N_LISTS] = {"alpha", "beta", "gamma", "zero"};
static const int list_thr[N_LISTS] = {31, 20, 45, 0};

struct rec {
    struct hw_pdq h;
    int list;
    int alive;
};

static struct rec *recs;
static size_t n_recs, cap_recs;
static int list_alive[N_LISTS];

static struct hw_pdq *centres;
static size_t n_centres;

static void add_rec(const struct hw_pdq *h, int list)
{
    if (n_recs == cap_recs) {
        cap_recs = cap_recs ? cap_recs * 2 : 1024;
        recs = realloc(recs, cap_recs * sizeof(*recs));
        if (recs == NULL) {
            exit(1);
        }
    }
    recs[n_recs].h = *h;
    recs[n_recs].list = list;
    recs[n_recs].alive = 1;
    n_recs++;
}

/* A hash: uniform, or a near-duplicate (0..40 bits) of one of a few hundred centres. */
static void gen_hash(struct hw_pdq *h)
{
    if (t_rand() % 3 == 0) {
        t_random_pdq(h);
    } else {
        *h = centres[t_rand() % n_centres];
        t_flip(h, (int)(t_rand() % 41));
    }
}

static int find_live(const struct hw_pdq *h, int list)
{
    for (size_t i = 0; i < n_recs; i++) {
        if (recs[i].alive && recs[i].list == list && memcmp(&recs[i].h, h, sizeof(*h)) == 0) {
            return 1;
        }
    }
    return 0;
}

static hw_store *store;

static void put_batch(int list, size_t n)
{
    hw_batch *b = NULL;
    struct hw_entry e;
    struct hw_batch_stats st;
    size_t added = 0;
    char id[32];

    CHECK_OK(hw_batch_begin(store, list_names[list], 0, &b, NULL, 0));
    for (size_t i = 0; i < n; i++) {
        struct hw_pdq h;
        gen_hash(&h);
        snprintf(id, sizeof(id), "r%zu", n_recs);
        t_entry_pdq(&e, &h, id);
        CHECK_OK(hw_batch_put(b, &e));
        if (!find_live(&h, list)) {
            add_rec(&h, list);
            added++;
        }
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.added == added);
    list_alive[list] = 1;
}

/* Delete record i in batch b if it is live and in `list`: 1 when deleted. */
static int delete_rec(hw_batch *b, size_t i, int list)
{
    struct hw_entry e;

    if (!recs[i].alive || recs[i].list != list) {
        return 0;
    }
    t_entry_pdq(&e, &recs[i].h, "");
    CHECK_OK(hw_batch_delete(b, &e));
    recs[i].alive = 0;
    return 1;
}

/* Delete about `n` live records of `list` (from anywhere: base or delta). */
static void delete_some(int list, size_t n)
{
    hw_batch *b = NULL;
    struct hw_batch_stats st;
    size_t done = 0;

    CHECK_OK(hw_batch_begin(store, list_names[list], 0, &b, NULL, 0));
    for (size_t tries = 0; done < n && tries < 50 * n; tries++) {
        done += delete_rec(b, t_rand() % n_recs, list);
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.deleted == done);
}

/* Re-add some deleted records (they may still sit in the base segment). */
static void readd_some(int list, size_t n)
{
    hw_batch *b = NULL;
    struct hw_entry e;
    size_t done = 0;

    CHECK_OK(hw_batch_begin(store, list_names[list], 0, &b, NULL, 0));
    for (size_t i = 0; i < n_recs && done < n; i++) {
        if (recs[i].alive || recs[i].list != list || find_live(&recs[i].h, list)) {
            continue;
        }
        t_entry_pdq(&e, &recs[i].h, "again");
        CHECK_OK(hw_batch_put(b, &e));
        recs[i].alive = 1;
        done++;
    }
    CHECK_OK(hw_batch_commit(b, NULL, NULL, 0));
}

/*
 * Replace n live records of `list` by n new ones in one batch: more than the delta holds, so
 * the base is rebuilt, with the same number of entries as before. Returns the index in recs
 * of the first new record.
 */
static size_t swap_batch(int list, size_t n)
{
    hw_batch *b = NULL;
    struct hw_entry e;
    struct hw_batch_stats st;
    size_t done = 0, first = n_recs;
    char id[32];

    CHECK_OK(hw_batch_begin(store, list_names[list], 0, &b, NULL, 0));
    for (size_t i = 0; i < first && done < n; i++) {
        done += delete_rec(b, i, list);
    }
    for (size_t i = 0; i < done; i++) {
        struct hw_pdq h;

        t_random_pdq(&h); /* uniform: never equal to a stored hash */
        snprintf(id, sizeof(id), "s%zu", n_recs);
        t_entry_pdq(&e, &h, id);
        CHECK_OK(hw_batch_put(b, &e));
        add_rec(&h, list);
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.deleted == done && st.added == done);
    return first;
}

struct expect {
    struct hw_pdq h;
    int list, distance, variant;
};

static size_t brute(const struct hw_pdq *q, int n_q, const struct hw_match_opts *o,
                    struct expect *out)
{
    size_t n = 0;

    for (size_t i = 0; i < n_recs; i++) {
        const struct rec *r = &recs[i];
        int thr = list_thr[r->list], best = 1000, bv = 0, sel = o->lists == NULL;

        if (!r->alive || !list_alive[r->list]) {
            continue;
        }
        for (size_t j = 0; j < o->n_lists && !sel; j++) {
            sel = strcmp(o->lists[j], list_names[r->list]) == 0;
        }
        if (!sel) {
            continue;
        }
        if (o->max_distance >= 0 && o->max_distance < thr) {
            thr = o->max_distance;
        }
        for (int v = 0; v < n_q; v++) {
            int d = t_dist(&q[v], &r->h);
            if (d < best) {
                best = d;
                bv = v;
            }
        }
        if (best <= thr) {
            out[n].h = r->h;
            out[n].list = r->list;
            out[n].distance = best;
            out[n].variant = bv;
            n++;
        }
    }
    return n;
}

static struct expect *exp_buf;
static struct hw_match *got;
static size_t n_queries_checked, n_matches_checked;

static void check_query(hw_snapshot *snap, const struct hw_pdq *q, int variants,
                        const struct hw_match_opts *o)
{
    size_t ne = brute(q, variants ? HW_DIH_COUNT : 1, o, exp_buf), n = 0;

    /* modes 0..2 as hw_idx_mode; 3: tables forced, but opts.scan asks for the scan */
    for (int mode = 0; mode < 4; mode++) {
        struct hw_match_opts oo = *o;
        oo.scan = mode == 3;
        hw_idx_mode = mode == 3 ? 1 : mode;
        CHECK_OK(hw_snapshot_match_pdq(snap, q, &oo, got, n_recs, &n));
        CHECK(n == ne);
        if (n != ne) {
            fprintf(stderr, "mode %d: got %zu matches, brute force %zu (max %d, variants %d)\n",
                    mode, n, ne, o->max_distance, variants);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            struct hw_pdq h;
            int ok = 0;
            t_pdq_from_bytes(got[i].entry.hash, &h);
            if (i > 0) {
                CHECK(got[i - 1].distance <= got[i].distance);
                CHECK(got[i - 1].distance < got[i].distance ||
                      strcmp(got[i - 1].list, got[i].list) <= 0);
            }
            for (size_t j = 0; j < ne && !ok; j++) {
                ok = memcmp(&exp_buf[j].h, &h, sizeof(h)) == 0 &&
                     strcmp(list_names[exp_buf[j].list], got[i].list) == 0 &&
                     exp_buf[j].distance == got[i].distance && exp_buf[j].variant == got[i].variant;
            }
            CHECK(ok);
            if (!ok) {
                fprintf(stderr, "mode %d: unexpected match %s d=%d v=%d\n", mode, got[i].list,
                        got[i].distance, got[i].variant);
                break;
            }
        }
        n_matches_checked += n;
    }
    hw_idx_mode = 0;
    n_queries_checked++;
}

/*
 * The pigeonhole worst case for the base segment's layout: distance exactly T from a stored
 * hash, with exactly r_s flips in one slot s, r_t + 1 in every other slot t, the rest in bits
 * no slot uses. Only the full-radius probe of slot s finds it, and its ring fingerprint (the
 * first positions of slot s + 1) is then exactly at its limit.
 * The ring worst case: r_s flips in slot s, r + 2 in s + 1, r in s + 2, r + 1 in the others.
 * Slot s's candidate fails its ring test (d_s + d_{s+1} = r_s + r_{s+1} + 2); only the probe
 * of slot s + 2 may keep it, at its limit.
 */
static struct hw_idx_seg layout;

static void load_layout(void)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbi;

    hw_idx_seg_release(&layout);
    CHECK(mdb_txn_begin(hw_store_env(store), NULL, MDB_RDONLY, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "pdqidx", 0, &dbi) == 0);
    CHECK_OK(hw_idx_load(txn, dbi, "b", &layout, NULL, 0));
    /* Keep only the header part: the arrays die with the transaction. */
    memset(layout.hash, 0, sizeof(layout.hash));
    layout.list = NULL;
    for (int s = 0; s < HW_IDX_SLOTS; s++) {
        layout.rank[s] = NULL;
        layout.bmp[s] = NULL;
        layout.word[s] = layout.ovf[s] = NULL;
    }
    mdb_txn_abort(txn);
    CHECK(layout.n_slots == HW_IDX_SLOTS);
}

static void flip_bit(struct hw_pdq *h, int b)
{
    h->q[b >> 6] ^= 1ull << (b & 63);
}

static void worst_case(struct hw_pdq *q, int t)
{
    int m = layout.n_slots, s0 = (int)(t_rand() % (uint64_t)m), budget = t;
    int ring = (int)(t_rand() % 2);
    uint8_t used[256] = {0};

    for (int s = 0; s < m; s++) {
        for (int j = 0; j < layout.bits[s]; j++) {
            used[layout.pos[s][j]] = 1;
        }
    }
    for (int k = 0; k < m && budget > 0; k++) {
        int s = (s0 + k) % m, r = hw_idx_slot_radius(m, t, s), want = k == 0 ? r : r + 1;
        if (ring && k == 1) {
            want = r + 2;
        } else if (ring && k == 2) {
            want = r;
        }
        for (int j = 0; j < want && j < layout.bits[s] && budget > 0; j++) {
            flip_bit(q, layout.pos[s][j]);
            budget--;
        }
    }
    for (int b = 0; b < 256 && budget > 0; b++) {
        if (!used[b]) {
            flip_bit(q, b);
            budget--;
        }
    }
}

static int hot_on; /* base segments searched in their hot copies (hw_store_hot_index) */

static void query_round(int n_queries)
{
    static const int maxd[] = {-1, -1, 0, 10, 31, 40, 64};
    const char *filter_a[] = {"alpha"};
    const char *filter_bg[] = {"beta", "gamma", "nosuch"};
    hw_snapshot *snap = NULL;

    load_layout();
    CHECK_OK(hw_snapshot_begin(store, &snap, NULL, 0));
    if (hot_on) {
        /* the first search loads the base and starts its hot copy; then every search of
         * this round runs on the copy (a copy of an earlier build would fail the checks) */
        size_t n = 0;
        size_t hot_bytes = 0;
        unsigned copying = 1;

        CHECK_OK(hw_snapshot_match_pdq(snap, &centres[0], NULL, NULL, 0, &n));
        CHECK(hw_store_hot_index_wait(store, 60000) == 1);
        /* what /metrics reports: one copy in use, at least the base's hashes, none pending */
        hw_store_hot_index_stats(store, &hot_bytes, &copying);
        CHECK(hot_bytes >= layout.n * 32 && copying == 0);
    } else {
        size_t hot_bytes = 1;
        unsigned copying = 1;

        hw_store_hot_index_stats(store, &hot_bytes, &copying);
        CHECK(hot_bytes == 0 && copying == 0);
    }
    for (int i = 0; i < n_queries; i++) {
        struct hw_pdq q[HW_DIH_COUNT];
        struct hw_match_opts o = {NULL, 0, maxd[t_rand() % 7], (int)(t_rand() % 2), 0};
        int kind = (int)(t_rand() % 7); /* 4..6: worst cases */

        for (int v = 0; v < HW_DIH_COUNT; v++) {
            if (kind == 0) {
                t_random_pdq(&q[v]);
            } else if (kind == 1) {
                q[v] = centres[t_rand() % n_centres];
                t_flip(&q[v], (int)(t_rand() % 40));
            } else if (kind == 2 || kind == 3) {
                q[v] = recs[t_rand() % n_recs].h;
                t_flip(&q[v], (int)(t_rand() % 48));
            } else {
                size_t r = t_rand() % n_recs;
                q[v] = recs[r].h;
                worst_case(&q[v], list_thr[recs[r].list]);
                o.max_distance = -1;
            }
        }
        if (t_rand() % 3 == 0) {
            o.lists = filter_a;
            o.n_lists = 1;
        } else if (t_rand() % 3 == 0) {
            o.lists = filter_bg;
            o.n_lists = 3;
        }
        check_query(snap, q, o.variants, &o);
    }
    hw_snapshot_end(snap);
}

/*
 * Damage every slot table of the base segment in place (a corrupt or hostile store file):
 * kind 0 points single-hash words past the segment, 1 points multi-hash words past the
 * overflow lists, 2 makes overflow counts run past their lists, 3 points overflow ids past the
 * segment. With restore, the tables saved by the last damage are put back.
 */
static int no_hit(void *ctx, uint32_t id, int distance, int variant)
{
    (void)ctx;
    (void)id;
    (void)distance;
    (void)variant;
    return HW_EINTERNAL; /* never reached: the search is refused first */
}

static void *saved_slot[HW_IDX_SLOTS];
static size_t saved_len[HW_IDX_SLOTS];

static void damage_slots(int kind, int restore)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbi;

    CHECK(mdb_txn_begin(hw_store_env(store), NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "pdqidx", 0, &dbi) == 0);
    for (int s = 0; s < layout.n_slots; s++) {
        char name[16];
        MDB_val k, v;
        uint8_t *t, *word, *ovf;
        uint32_t nnz;
        size_t fixed =
            48 + ((size_t)1 << layout.bits[s]) / 256 * 4 + ((size_t)1 << layout.bits[s]) / 64 * 8;

        snprintf(name, sizeof(name), "b.s%02d", s);
        k.mv_data = name;
        k.mv_size = strlen(name);
        if (restore) {
            v.mv_data = saved_slot[s];
            v.mv_size = saved_len[s];
            CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
            free(saved_slot[s]);
            saved_slot[s] = NULL;
            continue;
        }
        CHECK(mdb_get(txn, dbi, &k, &v) == 0);
        saved_len[s] = v.mv_size;
        saved_slot[s] = malloc(v.mv_size);
        t = malloc(v.mv_size);
        memcpy(saved_slot[s], v.mv_data, v.mv_size);
        memcpy(t, v.mv_data, v.mv_size);
        memcpy(&nnz, t, 4);
        word = t + fixed;
        ovf = word + 6 * (size_t)nnz;
        for (uint32_t i = 0; i < nnz; i++) {
            uint32_t w = (uint32_t)word[6 * i] | (uint32_t)word[6 * i + 1] << 8 |
                         (uint32_t)word[6 * i + 2] << 16 | (uint32_t)word[6 * i + 3] << 24;
            uint32_t bad = w, p = w & 0x7fffffffu, c;

            if (kind == 0 && !(w >> 31)) {
                bad = 0x7ffffff0u;
            } else if (kind == 1 && (w >> 31)) {
                bad = 0xfffffff0u;
            } else if ((kind == 2 || kind == 3) && (w >> 31)) {
                memcpy(&c, ovf + 6 * (size_t)p, 4); /* little-endian host, as the store */
                if (kind == 2) {
                    memset(ovf + 6 * (size_t)p, 0xff, 4);
                } else {
                    for (uint32_t j = 1; j <= c; j++) {
                        memset(ovf + 6 * ((size_t)p + j), 0x7f, 4);
                    }
                }
            }
            for (int b = 0; b < 4; b++) {
                word[6 * i + b] = (uint8_t)(bad >> (8 * b));
            }
        }
        v.mv_data = t;
        CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
        free(t);
    }
    CHECK(mdb_txn_commit(txn) == 0);
}

/* Make the base segment look written by another build (segment format `fmt`). */
static void set_base_format(uint32_t fmt)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {5, "b.hdr"}, v;
    uint8_t hdr[1024];

    CHECK(mdb_txn_begin(hw_store_env(store), NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "pdqidx", 0, &dbi) == 0);
    CHECK(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= sizeof(hdr));
    memcpy(hdr, v.mv_data, v.mv_size);
    for (int i = 0; i < 4; i++) {
        hdr[4 + i] = (uint8_t)(fmt >> (8 * i)); /* little-endian format field */
    }
    v.mv_data = hdr;
    CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
    CHECK(mdb_txn_commit(txn) == 0);
}

/*
 * The slot tables are built by several threads: a segment built by 1 builder and by 3 must be
 * the same bytes (clustered hashes, so that buckets hold several; more builders than the 2
 * cores of the test machine, so that slots finish out of order). The build runs in a write
 * transaction that is aborted: the store is untouched.
 */
static void builders_agree(void)
{
    enum { N = 20000 };
    uint64_t *hash = malloc((size_t)N * 32);
    uint32_t *list = malloc((size_t)N * 4);
    const char *parts[] = {"hdr", "hash", "list", "s00", "s01", "s02", "s03",
                           "s04", "s05",  "s06",  "s07", "s08", "s09", "s10"};
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    size_t compared = 0;

    CHECK(hash != NULL && list != NULL);
    for (size_t i = 0; i < N; i++) {
        struct hw_pdq h = centres[t_rand() % n_centres];
        for (int f = (int)(t_rand() % 8); f > 0; f--) {
            flip_bit(&h, (int)(t_rand() % 256));
        }
        if (i % 3 == 0) {
            t_random_pdq(&h);
        }
        memcpy(hash + 4 * i, h.q, 32);
        list[i] = (uint32_t)(i % 5);
    }
    CHECK(mdb_txn_begin(hw_store_env(store), NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "pdqidx", 0, &dbi) == 0);
    hw_idx_builders = 1;
    CHECK_OK(hw_idx_build(txn, dbi, "t1", hash, list, N, NULL, 0));
    hw_idx_builders = 3;
    CHECK_OK(hw_idx_build(txn, dbi, "t3", hash, list, N, NULL, 0));
    hw_idx_builders = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char k1[32], k3[32];
        MDB_val a, b, ka, kb;

        snprintf(k1, sizeof(k1), "t1.%s", parts[i]);
        snprintf(k3, sizeof(k3), "t3.%s", parts[i]);
        ka = (MDB_val){strlen(k1), k1};
        kb = (MDB_val){strlen(k3), k3};
        CHECK(mdb_get(txn, dbi, &ka, &a) == 0 && mdb_get(txn, dbi, &kb, &b) == 0);
        CHECK(a.mv_size == b.mv_size && a.mv_size > 0 &&
              memcmp(a.mv_data, b.mv_data, a.mv_size) == 0);
        compared += a.mv_size;
    }
    CHECK(compared > (size_t)N * 11 * 6);
    mdb_txn_abort(txn);
    free(hash);
    free(list);
}

int main(int argc, char **argv)
{
    char dir[256];
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    struct hw_list_config cfg = {NULL, NULL, 0};

    /* Hash parts of 4096 (1 GiB in production): every round spans several parts. */
    hw_idx_part_bits = 12;
    t_tmpdir(dir, sizeof(dir));
    CHECK_OK(hw_store_open(dir, 0, &store, NULL, 0));
    if (store == NULL) {
        return 1;
    }
    n_centres = 300;
    centres = malloc(n_centres * sizeof(*centres));
    exp_buf = malloc(200000 * sizeof(*exp_buf));
    got = malloc(200000 * sizeof(*got));
    for (size_t i = 0; i < n_centres; i++) {
        t_random_pdq(&centres[i]);
    }
    for (int l = 0; l < N_LISTS; l++) {
        cfg.pdq_threshold = list_thr[l];
        CHECK_OK(hw_store_list_set(store, list_names[l], &cfg, NULL, 0));
    }
    builders_agree();
    /* 1: a fresh base segment. */
    put_batch(0, 12000 * (size_t)scale);
    put_batch(1, 6000 * (size_t)scale);
    put_batch(2, 3000 * (size_t)scale);
    put_batch(3, 2000 * (size_t)scale);
    query_round(60);
    /* 2: inserts, deletes (base and delta) and re-adds, in the delta segment. */
    put_batch(0, 2000);
    put_batch(2, 1500);
    delete_some(0, 1500);
    delete_some(1, 800);
    readd_some(0, 300);
    query_round(60);
    /* From here on, base segments are searched in hot copies (huge pages) as in hashwatchd:
     * the same answers, and a rebuilt base must never be searched in an earlier copy. */
    hw_store_hot_index(1);
    hot_on = 1;
    /* 3: removing a list; its entries stay in the base but must never match. */
    CHECK_OK(hw_store_list_remove(store, "beta", NULL, 0));
    list_alive[1] = 0;
    for (size_t i = 0; i < n_recs; i++) {
        if (recs[i].list == 1) {
            recs[i].alive = 0;
        }
    }
    query_round(40);
    /* 4: a big import that overflows the delta and merges everything into a new base. */
    CHECK_OK(hw_store_list_set(store, "beta", &(struct hw_list_config){NULL, NULL, 20}, NULL, 0));
    put_batch(1, 70000);
    delete_some(2, 500);
    query_round(60);
    /* 5: a base segment of another format (a store from an older build) is refused by
     * readers, then rebuilt from the entries by the next import, which loses nothing. */
    set_base_format(HW_IDX_FORMAT - 1);
    {
        hw_snapshot *snap = NULL;
        size_t n = 0;
        CHECK_OK(hw_snapshot_begin(store, &snap, NULL, 0));
        CHECK(hw_snapshot_match_pdq(snap, &centres[0], NULL, NULL, 0, &n) == HW_EVERSION);
        hw_snapshot_end(snap);
    }
    put_batch(3, 50);
    query_round(40);
    /* 6: the same found when the store is opened for writing (a server after an upgrade):
     * rebuilt at open, answering without any import. */
    set_base_format(HW_IDX_FORMAT - 1);
    hw_store_close(store);
    store = NULL;
    CHECK_OK(hw_store_open(dir, 0, &store, NULL, 0));
    if (store == NULL) {
        return 1;
    }
    query_round(40);
    /* 6b: a rebuild that keeps the entry count. The new base must get its own hot copy (the
     * build id tells them apart), never be searched in the copy of the build before. */
    {
        uint64_t n_before;
        size_t first;
        hw_snapshot *snap = NULL;
        size_t n = 0, found = 0, tried = 0;
        struct hw_match_opts exact = {NULL, 0, 0, 0, 0};

        load_layout();
        n_before = layout.n;
        first = swap_batch(1, 40000);
        load_layout();
        CHECK(layout.n == n_before);
        CHECK_OK(hw_snapshot_begin(store, &snap, NULL, 0));
        CHECK_OK(hw_snapshot_match_pdq(snap, &centres[0], NULL, NULL, 0, &n));
        CHECK(hw_store_hot_index_wait(store, 60000) == 1);
        for (size_t i = first; i < n_recs; i += 97, tried++) {
            CHECK_OK(hw_snapshot_match_pdq(snap, &recs[i].h, &exact, got, n_recs, &n));
            found += n >= 1;
        }
        CHECK(tried > 100 && found == tried);
        if (found != tried) {
            fprintf(stderr, "rebuilt base: %zu of %zu new records found\n", found, tried);
        }
        hw_snapshot_end(snap);
        query_round(40);
    }
    /* 7: closing the store while its copy may still be running stops the copy first. */
    hw_store_close(store);
    store = NULL;
    CHECK_OK(hw_store_open(dir, 0, &store, NULL, 0));
    if (store == NULL) {
        return 1;
    }
    {
        hw_snapshot *snap = NULL;
        size_t n = 0;
        CHECK_OK(hw_snapshot_begin(store, &snap, NULL, 0));
        CHECK_OK(hw_snapshot_match_pdq(snap, &centres[0], NULL, NULL, 0, &n));
        hw_snapshot_end(snap);
    }

    /*
     * 8: damaged slot tables (a corrupt store file) make a table search fail with
     * HW_ECORRUPT, never read outside the segment (the ASan run checks that), while a scan
     * of the same snapshot still answers. Hot copies off: a copy made before the damage
     * would hide it.
     */
    hw_store_hot_index(0);
    hot_on = 0;
    hw_store_close(store);
    store = NULL;
    CHECK_OK(hw_store_open(dir, 0, &store, NULL, 0));
    if (store == NULL) {
        return 1;
    }
    load_layout();
    /* a probe key has 3 bits for the variant: more than 8 query hashes are refused */
    {
        struct hw_pdq q9[HW_DIH_COUNT + 1];
        memset(q9, 0, sizeof(q9));
        CHECK(hw_idx_search(&layout, q9, HW_DIH_COUNT + 1, 31, 0, no_hit, NULL) == HW_EINVAL);
    }
    for (int kind = 0; kind < 4; kind++) {
        hw_snapshot *snap = NULL;
        size_t n = 0;
        int rc;

        damage_slots(kind, 0);
        CHECK_OK(hw_snapshot_begin(store, &snap, NULL, 0));
        hw_idx_mode = 1;
        rc = HW_OK;
        /* centres sit in the many-hash buckets; a live record in single-hash ones too */
        for (size_t i = 0; i < n_centres && rc == HW_OK; i++) {
            rc = hw_snapshot_match_pdq(snap, &centres[i], NULL, NULL, 0, &n);
        }
        for (size_t i = 0; i < n_recs && rc == HW_OK; i += 101) {
            rc = hw_snapshot_match_pdq(snap, &recs[i].h, NULL, NULL, 0, &n);
        }
        CHECK(rc == HW_ECORRUPT);
        if (rc != HW_ECORRUPT) {
            fprintf(stderr, "damage kind %d: search gave %d\n", kind, rc);
        }
        hw_idx_mode = 2;
        CHECK_OK(hw_snapshot_match_pdq(snap, &centres[0], NULL, NULL, 0, &n));
        hw_idx_mode = 0;
        {
            /* the public brute-force option never reads the tables either */
            struct hw_match_opts scan = {NULL, 0, -1, 0, 1};
            CHECK_OK(hw_snapshot_match_pdq(snap, &centres[0], &scan, NULL, 0, &n));
        }
        hw_snapshot_end(snap);
        damage_slots(kind, 1);
    }
    query_round(20); /* restored: exact again */

    hw_idx_seg_release(&layout);
    hw_store_close(store);
    t_rmdir(dir);
    printf("%zu queries x 4 modes, %zu matches compared\n", n_queries_checked, n_matches_checked);
    if (t_failures) {
        fprintf(stderr, "%d check(s) failed\n", t_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
