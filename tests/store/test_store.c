/* test_store.c: the store's API: lists, batches (upsert, delete, replace), snapshots, schema. */
#include <lmdb.h>

#include "store_testutil.h"

static struct hw_entry mk(enum hw_hash_type t, uint8_t fill, const char *id, const char *cat)
{
    struct hw_entry e;
    memset(&e, 0, sizeof(e));
    e.type = t;
    memset(e.hash, fill, hw_hash_type_len(t));
    snprintf(e.entry_id, sizeof(e.entry_id), "%s", id);
    snprintf(e.member_id, sizeof(e.member_id), "m1");
    snprintf(e.category, sizeof(e.category), "%s", cat);
    e.severity = HW_SEV_MEDIUM;
    e.created = 1600000000;
    return e;
}

static struct hw_list_info list_info(hw_store *s, const char *name, int *found)
{
    hw_snapshot *snap = NULL;
    struct hw_list_info infos[16], r;
    size_t n = 0;

    memset(&r, 0, sizeof(r));
    *found = 0;
    CHECK_OK(hw_snapshot_begin(s, &snap, NULL, 0));
    CHECK_OK(hw_snapshot_lists(snap, infos, 16, &n));
    for (size_t i = 0; i < n && i < 16; i++) {
        if (strcmp(infos[i].name, name) == 0) {
            r = infos[i];
            *found = 1;
        }
    }
    hw_snapshot_end(snap);
    return r;
}

static size_t exact_count(hw_store *s, const struct hw_entry *e, struct hw_match *m)
{
    hw_snapshot *snap = NULL;
    size_t n = 0;
    CHECK_OK(hw_snapshot_begin(s, &snap, NULL, 0));
    CHECK_OK(hw_snapshot_match_exact(snap, e->type, e->hash, NULL, m, m ? 1 : 0, &n));
    hw_snapshot_end(snap);
    return n;
}

static void test_names(void)
{
    CHECK(strcmp(hw_hash_type_name(HW_HASH_PDQ), "pdq") == 0);
    CHECK(strcmp(hw_hash_type_name(HW_HASH_VIDEO_MD5), "video_md5") == 0);
    CHECK(strcmp(hw_hash_type_name((enum hw_hash_type)99), "none") == 0);
    for (int t = 1; t < HW_HASH_TYPE_COUNT; t++) {
        CHECK((int)hw_hash_type_parse(hw_hash_type_name((enum hw_hash_type)t)) == t);
    }
    CHECK(hw_hash_type_parse("SHA-1") == HW_HASH_SHA1);
    CHECK(hw_hash_type_parse("sha-256") == HW_HASH_SHA256);
    CHECK(hw_hash_type_parse("PDQ256") == HW_HASH_PDQ);
    CHECK(hw_hash_type_parse("PhotoDNA") == HW_HASH_PHOTODNA);
    CHECK(hw_hash_type_parse("crc32") == HW_HASH_NONE);
    CHECK(hw_hash_type_parse(NULL) == HW_HASH_NONE);
    CHECK(hw_hash_type_len(HW_HASH_PDQ) == 32 && hw_hash_type_len(HW_HASH_PHOTODNA) == 144);
    CHECK(hw_hash_type_len(HW_HASH_SHA1) == 20 && hw_hash_type_len(HW_HASH_NONE) == 0);
    CHECK(strcmp(hw_severity_name(HW_SEV_CRITICAL), "critical") == 0);
    CHECK(strcmp(hw_severity_name(-3), "unknown") == 0);
}

static void test_lists(hw_store *s)
{
    struct hw_list_config cfg = {"IWF", "members only", 20};
    struct hw_list_info a, b;
    int found;

    CHECK(hw_store_list_set(s, "Bad Name", NULL, NULL, 0) == HW_EINVAL);
    CHECK(hw_store_list_set(s, "", NULL, NULL, 0) == HW_EINVAL);
    CHECK_OK(hw_store_list_set(s, "iwf", NULL, NULL, 0));
    a = list_info(s, "iwf", &found);
    CHECK(found && a.pdq_threshold == HW_PDQ_THRESHOLD_DEFAULT && a.created > 0);
    CHECK_OK(hw_store_list_set(s, "iwf", &cfg, NULL, 0));
    b = list_info(s, "iwf", &found);
    CHECK(b.pdq_threshold == 20 && strcmp(b.source, "IWF") == 0);
    CHECK(strcmp(b.licence, "members only") == 0 && b.version != a.version);
    CHECK_OK(hw_store_list_set(s, "iwf", &cfg, NULL, 0)); /* no change: same version */
    a = list_info(s, "iwf", &found);
    CHECK(a.version == b.version);
    cfg.pdq_threshold = 257;
    CHECK(hw_store_list_set(s, "iwf", &cfg, NULL, 0) == HW_EINVAL);
    CHECK(hw_store_list_remove(s, "nosuch", NULL, 0) == HW_ENOTFOUND);
}

static void test_batches(hw_store *s)
{
    struct hw_entry md5 = mk(HW_HASH_MD5, 0x11, "e1", "A1");
    struct hw_entry sha1 = mk(HW_HASH_SHA1, 0x22, "e1", "A1"); /* same record, second hash */
    struct hw_entry sha256 = mk(HW_HASH_SHA256, 0x33, "e2", "B");
    struct hw_entry pdna = mk(HW_HASH_PHOTODNA, 0x44, "e3", "B");
    struct hw_entry vmd5 = mk(HW_HASH_VIDEO_MD5, 0x11, "e4", "C"); /* same bytes as md5 */
    struct hw_entry pdq = mk(HW_HASH_PDQ, 0x55, "e5", "A1");
    struct hw_entry all[] = {md5, sha1, sha256, pdna, vmd5, pdq};
    struct hw_batch_stats st;
    struct hw_list_info li, li2;
    struct hw_match m;
    hw_batch *b = NULL;
    hw_snapshot *old = NULL;
    int found;

    CHECK(hw_batch_begin(s, "UPPER", 0, &b, NULL, 0) == HW_EINVAL && b == NULL);
    CHECK_OK(hw_batch_begin(s, "ncmec", 0, &b, NULL, 0));
    for (size_t i = 0; i < 6; i++) {
        CHECK_OK(hw_batch_put(b, &all[i]));
    }
    {
        struct hw_entry bad = md5;
        bad.type = HW_HASH_NONE;
        CHECK(hw_batch_put(b, &bad) == HW_EINVAL);
        bad = md5;
        bad.severity = 9;
        CHECK(hw_batch_put(b, &bad) == HW_EINVAL);
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.added == 6 && st.updated == 0 && st.deleted == 0 && st.unchanged == 0);
    li = list_info(s, "ncmec", &found);
    CHECK(found);
    for (int t = 1; t < HW_HASH_TYPE_COUNT; t++) {
        CHECK(li.counts[t] == 1);
    }
    /* Exact look-ups keep provenance; MD5 and video MD5 with equal bytes stay distinct. */
    CHECK(exact_count(s, &md5, &m) == 1);
    CHECK(strcmp(m.list, "ncmec") == 0 && strcmp(m.entry.entry_id, "e1") == 0);
    CHECK(strcmp(m.entry.member_id, "m1") == 0 && strcmp(m.entry.category, "A1") == 0);
    CHECK(m.entry.severity == HW_SEV_MEDIUM && m.entry.created == 1600000000);
    CHECK(m.entry.type == HW_HASH_MD5 && m.list_version == li.version && m.distance == 0);
    CHECK(exact_count(s, &vmd5, &m) == 1 && m.entry.type == HW_HASH_VIDEO_MD5);
    CHECK(exact_count(s, &pdna, &m) == 1 && memcmp(m.entry.hash, pdna.hash, 144) == 0);
    {
        struct hw_entry other = mk(HW_HASH_SHA256, 0x34, "x", "");
        CHECK(exact_count(s, &other, NULL) == 0);
    }

    /* The same import again changes nothing, not even the version. */
    CHECK_OK(hw_batch_begin(s, "ncmec", 0, &b, NULL, 0));
    for (size_t i = 0; i < 6; i++) {
        CHECK_OK(hw_batch_put(b, &all[i]));
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.added == 0 && st.updated == 0 && st.unchanged == 6);
    li2 = list_info(s, "ncmec", &found);
    CHECK(li2.version == li.version);

    /* Update: new category; a snapshot taken before the commit still sees the old one. */
    CHECK_OK(hw_snapshot_begin(s, &old, NULL, 0));
    CHECK_OK(hw_batch_begin(s, "ncmec", 0, &b, NULL, 0));
    snprintf(sha256.category, sizeof(sha256.category), "A2");
    CHECK_OK(hw_batch_put(b, &sha256));
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.updated == 1 && st.added == 0);
    CHECK(exact_count(s, &sha256, &m) == 1 && strcmp(m.entry.category, "A2") == 0);
    {
        size_t n = 0;
        CHECK_OK(hw_snapshot_match_exact(old, HW_HASH_SHA256, sha256.hash, NULL, &m, 1, &n));
        CHECK(n == 1 && strcmp(m.entry.category, "B") == 0);
        hw_snapshot_end(old);
    }
    li = list_info(s, "ncmec", &found);
    CHECK(li.version != li2.version);

    /* Delete by entry id removes every hash of that record; absent ids are a no-op. */
    CHECK_OK(hw_batch_begin(s, "ncmec", 0, &b, NULL, 0));
    {
        struct hw_entry byid;
        memset(&byid, 0, sizeof(byid));
        snprintf(byid.entry_id, sizeof(byid.entry_id), "e1");
        CHECK_OK(hw_batch_delete(b, &byid));
        snprintf(byid.entry_id, sizeof(byid.entry_id), "nosuch");
        CHECK_OK(hw_batch_delete(b, &byid));
    }
    CHECK_OK(hw_batch_delete(b, &pdq));
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.deleted == 3);
    CHECK(exact_count(s, &md5, NULL) == 0 && exact_count(s, &sha1, NULL) == 0);
    li = list_info(s, "ncmec", &found);
    CHECK(li.counts[HW_HASH_MD5] == 0 && li.counts[HW_HASH_SHA1] == 0);
    CHECK(li.counts[HW_HASH_PDQ] == 0 && li.counts[HW_HASH_SHA256] == 1);

    /* The same key twice in one batch, with another id: applied in order, byid follows. */
    {
        struct hw_entry x = mk(HW_HASH_SHA1, 0x77, "first", "A");
        struct hw_entry byid;
        CHECK_OK(hw_batch_begin(s, "dups", 0, &b, NULL, 0));
        CHECK_OK(hw_batch_put(b, &x));
        snprintf(x.entry_id, sizeof(x.entry_id), "second");
        CHECK_OK(hw_batch_put(b, &x));
        CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
        CHECK(st.added == 1 && st.updated == 1);
        CHECK(exact_count(s, &x, &m) == 1 && strcmp(m.entry.entry_id, "second") == 0);
        memset(&byid, 0, sizeof(byid));
        CHECK_OK(hw_batch_begin(s, "dups", 0, &b, NULL, 0));
        snprintf(byid.entry_id, sizeof(byid.entry_id), "first");
        CHECK_OK(hw_batch_delete(b, &byid));
        CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
        CHECK(st.deleted == 0 && exact_count(s, &x, NULL) == 1);
        CHECK_OK(hw_batch_begin(s, "dups", 0, &b, NULL, 0));
        snprintf(byid.entry_id, sizeof(byid.entry_id), "second");
        CHECK_OK(hw_batch_delete(b, &byid));
        CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
        CHECK(st.deleted == 1 && exact_count(s, &x, NULL) == 0);
        CHECK_OK(hw_store_list_remove(s, "dups", NULL, 0));
    }

    /* Abort applies nothing. */
    CHECK_OK(hw_batch_begin(s, "ncmec", 0, &b, NULL, 0));
    CHECK_OK(hw_batch_put(b, &md5));
    hw_batch_abort(b);
    CHECK(exact_count(s, &md5, NULL) == 0);

    /* Replace: {sha256, pdna, vmd5} becomes {pdna, md5}. */
    CHECK_OK(hw_batch_begin(s, "ncmec", HW_BATCH_REPLACE, &b, NULL, 0));
    CHECK_OK(hw_batch_put(b, &pdna));
    CHECK_OK(hw_batch_put(b, &md5));
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.added == 1 && st.unchanged == 1 && st.deleted == 2 && st.updated == 0);
    CHECK(exact_count(s, &sha256, NULL) == 0 && exact_count(s, &vmd5, NULL) == 0);
    CHECK(exact_count(s, &pdna, NULL) == 1 && exact_count(s, &md5, NULL) == 1);
    li = list_info(s, "ncmec", &found);
    CHECK(li.counts[HW_HASH_MD5] == 1 && li.counts[HW_HASH_PHOTODNA] == 1);
    CHECK(li.counts[HW_HASH_SHA256] == 0 && li.counts[HW_HASH_VIDEO_MD5] == 0);
    /* The same replace again: nothing changes. */
    CHECK_OK(hw_batch_begin(s, "ncmec", HW_BATCH_REPLACE, &b, NULL, 0));
    CHECK_OK(hw_batch_put(b, &md5));
    CHECK_OK(hw_batch_put(b, &pdna));
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.unchanged == 2 && st.added + st.deleted + st.updated == 0);
    li2 = list_info(s, "ncmec", &found);
    CHECK(li2.version == li.version);
    /* The byid table followed the replace: deleting e1 (md5's id) now removes md5 only. */
    CHECK_OK(hw_batch_begin(s, "ncmec", 0, &b, NULL, 0));
    {
        struct hw_entry byid;
        memset(&byid, 0, sizeof(byid));
        snprintf(byid.entry_id, sizeof(byid.entry_id), "e1");
        CHECK_OK(hw_batch_delete(b, &byid));
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.deleted == 1 && exact_count(s, &pdna, NULL) == 1);
}

static void test_pdq_basic(hw_store *s)
{
    struct hw_pdq base, near, q[HW_DIH_COUNT];
    struct hw_entry e;
    struct hw_match m[4];
    struct hw_match_opts opts = {NULL, 0, -1, 0, 0};
    const char *only[] = {"iwf"};
    hw_batch *b = NULL;
    hw_snapshot *snap = NULL;
    size_t n;

    t_random_pdq(&base);
    near = base;
    t_flip(&near, 25);
    CHECK_OK(hw_batch_begin(s, "iwf", 0, &b, NULL, 0)); /* iwf threshold is 20 */
    t_entry_pdq(&e, &base, "p1");
    CHECK_OK(hw_batch_put(b, &e));
    CHECK_OK(hw_batch_commit(b, NULL, NULL, 0));
    CHECK_OK(hw_batch_begin(s, "other", 0, &b, NULL, 0)); /* default threshold 31 */
    t_entry_pdq(&e, &base, "p2");
    CHECK_OK(hw_batch_put(b, &e));
    CHECK_OK(hw_batch_commit(b, NULL, NULL, 0));

    CHECK_OK(hw_snapshot_begin(s, &snap, NULL, 0));
    CHECK_OK(hw_snapshot_match_pdq(snap, &base, &opts, m, 4, &n));
    CHECK(n == 2 && m[0].distance == 0 && strcmp(m[0].list, "iwf") == 0);
    CHECK(strcmp(m[1].list, "other") == 0 && strcmp(m[1].entry.entry_id, "p2") == 0);
    /* Distance 25: within other's 31, beyond iwf's 20. */
    CHECK_OK(hw_snapshot_match_pdq(snap, &near, &opts, m, 4, &n));
    CHECK(n == 1 && strcmp(m[0].list, "other") == 0 && m[0].distance == 25);
    opts.max_distance = 24;
    CHECK_OK(hw_snapshot_match_pdq(snap, &near, &opts, m, 4, &n));
    CHECK(n == 0);
    opts.max_distance = 100; /* never above the list's own threshold */
    CHECK_OK(hw_snapshot_match_pdq(snap, &near, &opts, m, 4, &n));
    CHECK(n == 1);
    opts.max_distance = -1;
    opts.lists = only;
    opts.n_lists = 1;
    CHECK_OK(hw_snapshot_match_pdq(snap, &base, &opts, m, 4, &n));
    CHECK(n == 1 && strcmp(m[0].list, "iwf") == 0);
    CHECK_OK(hw_snapshot_match_pdq(snap, &base, &opts, NULL, 0, &n)); /* count only */
    CHECK(n == 1);
    /* Variants: the stored hash is q[5]; reported with distance 0 and variant 5. */
    opts.lists = NULL;
    opts.variants = 1;
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        t_random_pdq(&q[v]);
    }
    q[5] = base;
    CHECK_OK(hw_snapshot_match_pdq(snap, q, &opts, m, 1, &n));
    CHECK(n == 2 && m[0].variant == 5 && m[0].distance == 0);
    hw_snapshot_end(snap);

    CHECK_OK(hw_store_list_remove(s, "other", NULL, 0));
    CHECK(hw_store_list_remove(s, "other", NULL, 0) == HW_ENOTFOUND);
    CHECK_OK(hw_snapshot_begin(s, &snap, NULL, 0));
    opts.variants = 0;
    CHECK_OK(hw_snapshot_match_pdq(snap, &base, &opts, m, 4, &n));
    CHECK(n == 1 && strcmp(m[0].list, "iwf") == 0);
    hw_snapshot_end(snap);
    /* A new list of the same name does not inherit the removed one's entries. */
    CHECK_OK(hw_store_list_set(s, "other", NULL, NULL, 0));
    CHECK_OK(hw_snapshot_begin(s, &snap, NULL, 0));
    CHECK_OK(hw_snapshot_match_pdq(snap, &base, &opts, m, 4, &n));
    CHECK(n == 1);
    hw_snapshot_end(snap);
}

static void test_schema(const char *dir)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    uint8_t v99[4] = {99, 0, 0, 0};
    MDB_val k = {6, "schema"}, v = {4, v99};
    hw_store *s = NULL;
    char err[256] = "";

    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_set_maxdbs(env, 32) == 0);
    CHECK(mdb_env_set_mapsize(env, (size_t)1 << 30) == 0);
    CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
    CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
    CHECK(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    CHECK(hw_store_open(dir, 0, &s, err, sizeof(err)) == HW_EVERSION && s == NULL);
    CHECK(strstr(err, "schema version 99") != NULL);
    CHECK(hw_store_open(dir, HW_STORE_RDONLY, &s, err, sizeof(err)) == HW_EVERSION);
}

static size_t pdq_count(hw_snapshot *snap, const struct hw_pdq *q)
{
    size_t n = 99;
    CHECK_OK(hw_snapshot_match_pdq(snap, q, NULL, NULL, 0, &n));
    return n;
}

/* hw_snapshot_acquire/release: reuse while nothing changed, the latest state after a commit. */
static void test_snapshot_reuse(hw_store *s)
{
    struct hw_pdq a, bnew, other;
    struct hw_entry e;
    hw_batch *b = NULL;
    hw_snapshot *s1 = NULL, *s2 = NULL, *held = NULL;
    char id[32];

    t_random_pdq(&a);
    t_random_pdq(&bnew);
    CHECK_OK(hw_batch_begin(s, "reuse", 0, &b, NULL, 0));
    t_entry_pdq(&e, &a, "a");
    CHECK_OK(hw_batch_put(b, &e));
    for (int i = 0; i < 200; i++) { /* enough for index tables */
        t_random_pdq(&other);
        snprintf(id, sizeof(id), "r%d", i);
        t_entry_pdq(&e, &other, id);
        CHECK_OK(hw_batch_put(b, &e));
    }
    CHECK_OK(hw_batch_commit(b, NULL, NULL, 0));

    CHECK_OK(hw_snapshot_acquire(s, &s1, NULL, 0));
    CHECK(pdq_count(s1, &a) == 1 && pdq_count(s1, &bnew) == 0);
    hw_snapshot_release(s1);
    CHECK_OK(hw_snapshot_acquire(s, &s2, NULL, 0));
    CHECK(s2 == s1); /* the idle one, reused */
    CHECK(pdq_count(s2, &a) == 1);
    CHECK_OK(hw_snapshot_acquire(s, &held, NULL, 0)); /* none idle: a new one */
    CHECK(held != s2);
    hw_snapshot_release(s2);

    /* A commit: an idle snapshot, once acquired again, shows it. */
    CHECK_OK(hw_batch_begin(s, "reuse", 0, &b, NULL, 0));
    t_entry_pdq(&e, &bnew, "b");
    CHECK_OK(hw_batch_put(b, &e));
    CHECK_OK(hw_batch_commit(b, NULL, NULL, 0));
    CHECK_OK(hw_snapshot_acquire(s, &s1, NULL, 0));
    CHECK(pdq_count(s1, &bnew) == 1 && pdq_count(s1, &a) == 1);
    hw_snapshot_release(s1);
    /* One held across the commit still sees its own state, then the new one after. */
    CHECK(pdq_count(held, &bnew) == 0 && pdq_count(held, &a) == 1);
    CHECK_OK(hw_store_list_remove(s, "reuse", NULL, 0));
    CHECK(pdq_count(held, &a) == 1);
    hw_snapshot_release(held);
    for (int i = 0; i < 3; i++) { /* whichever idle snapshot comes back */
        CHECK_OK(hw_snapshot_acquire(s, &s1, NULL, 0));
        CHECK(pdq_count(s1, &a) == 0 && pdq_count(s1, &bnew) == 0);
        hw_snapshot_release(s1);
    }
}

/*
 * A batch larger than the first sorted chunk (about 670k of these records fill its 64 MiB):
 * the chunk grows after it is flushed, and a key put again in a later chunk is applied after
 * its first put (an update when its record differs, unchanged when it is the same), exactly
 * as if every put had been applied as it came.
 */
#define BIG_N 1600000u

static struct hw_entry big_rec(uint32_t i)
{
    struct hw_entry e = mk(HW_HASH_SHA256, 0, "", "big");

    /* spread over the key space, so that each chunk's sort really reorders */
    for (int b = 0; b < 32; b++) {
        e.hash[b] = (uint8_t)((i * 2654435761u) >> (8 * (b & 3))) ^ (uint8_t)b;
    }
    memcpy(e.hash + 28, &i, 4); /* unique per i */
    snprintf(e.entry_id, sizeof(e.entry_id), "b%u", i);
    return e;
}

static void test_big_batch(hw_store *s)
{
    struct hw_batch_stats st;
    struct hw_entry e5 = big_rec(5), e7 = big_rec(7), last = big_rec(BIG_N - 1);
    struct hw_list_info li;
    struct hw_match m;
    hw_batch *b = NULL;
    int found;

    CHECK_OK(hw_batch_begin(s, "big", 0, &b, NULL, 0));
    for (uint32_t i = 0; i < BIG_N && b != NULL; i++) {
        struct hw_entry e = big_rec(i);
        CHECK_OK(hw_batch_put(b, &e));
        if (i == BIG_N - 100000) { /* well past the first chunk */
            struct hw_entry upd = e5;
            snprintf(upd.entry_id, sizeof(upd.entry_id), "updated");
            CHECK_OK(hw_batch_put(b, &upd));
            CHECK_OK(hw_batch_put(b, &e7)); /* the same record again */
        }
    }
    CHECK_OK(hw_batch_commit(b, &st, NULL, 0));
    CHECK(st.added == BIG_N && st.updated == 1 && st.unchanged == 1 && st.deleted == 0);
    li = list_info(s, "big", &found);
    CHECK(found && li.counts[HW_HASH_SHA256] == BIG_N);
    CHECK(exact_count(s, &e5, &m) == 1 && strcmp(m.entry.entry_id, "updated") == 0);
    CHECK(exact_count(s, &e7, &m) == 1 && strcmp(m.entry.entry_id, "b7") == 0);
    CHECK(exact_count(s, &last, &m) == 1 && strcmp(m.entry.entry_id, last.entry_id) == 0);
    CHECK_OK(hw_store_list_remove(s, "big", NULL, 0));
}

int main(void)
{
    char dir[256], sub[300];
    hw_store *s = NULL, *ro = NULL;
    hw_batch *b = NULL;
    struct hw_entry e = mk(HW_HASH_PHOTODNA, 0x44, "e3", "B");

    test_names();
    t_tmpdir(dir, sizeof(dir));
    snprintf(sub, sizeof(sub), "%s/store", dir);
    CHECK(hw_store_open(sub, HW_STORE_RDONLY, &s, NULL, 0) != HW_OK && s == NULL);
    CHECK_OK(hw_store_open(sub, 0, &s, NULL, 0)); /* creates the directory */
    if (s == NULL) {
        return 1;
    }
    test_lists(s);
    test_batches(s);
    test_pdq_basic(s);
    test_snapshot_reuse(s);
    test_big_batch(s);
    hw_store_close(s);

    /* Reopen: everything persisted; read-only opens refuse writes. */
    CHECK_OK(hw_store_open(sub, HW_STORE_RDONLY, &ro, NULL, 0));
    CHECK(exact_count(ro, &e, NULL) == 1);
    CHECK(hw_batch_begin(ro, "iwf", 0, &b, NULL, 0) == HW_EINVAL);
    CHECK(hw_store_list_set(ro, "iwf", NULL, NULL, 0) == HW_EINVAL);
    hw_store_close(ro);
    hw_store_close(NULL);

    test_schema(sub);
    t_rmdir(sub);
    rmdir(dir);
    if (t_failures) {
        fprintf(stderr, "%d check(s) failed\n", t_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
