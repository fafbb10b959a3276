/* test_import_cli.c: `hashwatch import` end to end against a temporary store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_store.h"

#include "hw_test.h"

static char tmpdir[256];
static char store[300];
static char outpath[300];
static char output[65536];

/* Run `hashwatch import --store <tmp> ARGS` (ARGS are shell words, paths without spaces);
 * returns the exit status; stdout and stderr land in `output`. */
static int run_import(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static int run_import(const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    FILE *f;
    size_t n;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s/hashwatch import --store %s %s >%s 2>&1", HW_BIN_DIR, store,
             args, outpath);
    st = system(cmd);
    output[0] = '\0';
    f = fopen(outpath, "rb");
    if (f != NULL) {
        n = fread(output, 1, sizeof(output) - 1, f);
        output[n] = '\0';
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void data(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/lists/%s", HW_TEST_DATA, name);
}

static void hex_to(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* Number of entries of list `list` matching an exact hash (hex, as the files give it). */
static size_t count_exact(const char *list, enum hw_hash_type t, const char *hex,
                          struct hw_match *first)
{
    hw_store *s = NULL;
    hw_snapshot *snap = NULL;
    uint8_t h[HW_HASH_MAX_LEN];
    struct hw_match m[4];
    struct hw_match_opts o;
    const char *lists[1] = {list};
    size_t n = 0;

    memset(&o, 0, sizeof(o));
    o.lists = lists;
    o.n_lists = 1;
    o.max_distance = -1;
    hex_to(hex, h, strlen(hex) / 2);
    if (hw_store_open(store, HW_STORE_RDONLY, &s, NULL, 0) != HW_OK) {
        return 0;
    }
    if (hw_snapshot_begin(s, &snap, NULL, 0) == HW_OK &&
        hw_snapshot_match_exact(snap, t, h, &o, m, 4, &n) == HW_OK && n > 0 && first != NULL) {
        *first = m[0];
    }
    hw_snapshot_end(snap);
    hw_store_close(s);
    return n;
}

/* PDQ entries of `list` at distance 0 from the hash written as hex. */
static size_t count_pdq(const char *list, const char *hex)
{
    hw_store *s = NULL;
    hw_snapshot *snap = NULL;
    struct hw_pdq q;
    uint8_t b[32];
    struct hw_match m[4];
    struct hw_match_opts o;
    const char *lists[1] = {list};
    size_t n = 0;

    hex_to(hex, b, 32);
    memset(&q, 0, sizeof(q));
    for (int w = 0; w < 4; w++) {
        for (int k = 0; k < 8; k++) {
            q.q[w] |= (uint64_t)b[31 - (8 * w + k)] << (8 * k);
        }
    }
    memset(&o, 0, sizeof(o));
    o.lists = lists;
    o.n_lists = 1;
    o.max_distance = 0;
    if (hw_store_open(store, HW_STORE_RDONLY, &s, NULL, 0) != HW_OK) {
        return 0;
    }
    if (hw_snapshot_begin(s, &snap, NULL, 0) == HW_OK) {
        hw_snapshot_match_pdq(snap, &q, &o, m, 4, &n);
    }
    hw_snapshot_end(snap);
    hw_store_close(s);
    return n;
}

/* The list's info; returns 0 when the list does not exist. */
static int list_info(const char *list, struct hw_list_info *out)
{
    hw_store *s = NULL;
    hw_snapshot *snap = NULL;
    struct hw_list_info infos[32];
    size_t n = 0;
    int found = 0;

    if (hw_store_open(store, HW_STORE_RDONLY, &s, NULL, 0) != HW_OK) {
        return 0;
    }
    if (hw_snapshot_begin(s, &snap, NULL, 0) == HW_OK &&
        hw_snapshot_lists(snap, infos, 32, &n) == HW_OK) {
        for (size_t i = 0; i < n && i < 32; i++) {
            if (strcmp(infos[i].name, list) == 0) {
                *out = infos[i];
                found = 1;
            }
        }
    }
    hw_snapshot_end(snap);
    hw_store_close(s);
    return found;
}

static uint64_t total(const struct hw_list_info *li)
{
    uint64_t t = 0;

    for (int i = 0; i < HW_HASH_TYPE_COUNT; i++) {
        t += li->counts[i];
    }
    return t;
}

static const char *PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
static const char *PDQ_B = "9def0b7dafa86a1c90f2abd78e79ceb25ec3d1a4b3d4bc7a4354baf7717ea038";

static void test_ncmec_and_reimport(void)
{
    char f[512], fdel[512];
    struct hw_list_info a, b;
    struct hw_match m;

    data(f, sizeof(f), "ncmec.xml");
    data(fdel, sizeof(fdel), "ncmec-delete.xml");
    CHECK(run_import("--list ncmec --source NCMEC --licence members-only %s", f) == 0);
    CHECK(strstr(output, "6 added") != NULL);
    CHECK(list_info("ncmec", &a) && total(&a) == 6);
    CHECK(strcmp(a.source, "NCMEC") == 0 && strcmp(a.licence, "members-only") == 0);
    CHECK(count_exact("ncmec", HW_HASH_MD5, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", &m) == 1);
    CHECK(strcmp(m.entry.entry_id, "42-image1") == 0 && strcmp(m.entry.member_id, "42") == 0);
    CHECK(strcmp(m.entry.category, "A1") == 0 && m.entry.severity == HW_SEV_CRITICAL);
    CHECK(count_exact("ncmec", HW_HASH_VIDEO_MD5, "facefacefacefacefacefacefaceface", NULL) == 1);
    CHECK(count_exact("ncmec", HW_HASH_MD5, "facefacefacefacefacefacefaceface", NULL) == 0);
    CHECK(count_pdq("ncmec", PDQ_A) == 1);

    /* The same file again changes nothing: same version, everything unchanged. */
    CHECK(run_import("--list ncmec %s", f) == 0);
    CHECK(strstr(output, "0 added, 0 updated, 0 deleted, 6 unchanged") != NULL);
    CHECK(list_info("ncmec", &b) && b.version == a.version && total(&b) == 6);

    /* A tombstone removes every hash of entry 42-image1, and only those. */
    CHECK(run_import("--list ncmec %s", fdel) == 0);
    CHECK(list_info("ncmec", &b) && total(&b) == 2 && b.version != a.version);
    CHECK(count_exact("ncmec", HW_HASH_MD5, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", NULL) == 0);
    CHECK(count_pdq("ncmec", PDQ_A) == 0);
    CHECK(count_exact("ncmec", HW_HASH_MD5, "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", NULL) == 1);
}

static void test_atomic_failure(void)
{
    char lines[512], bad[512];
    struct hw_list_info a, b;

    data(lines, sizeof(lines), "te-lines.txt");
    data(bad, sizeof(bad), "te-bad.csv");
    CHECK(run_import("--list te %s", lines) == 0);
    CHECK(list_info("te", &a) && total(&a) == 2);
    /* The bad record is line 4; the valid records before and after it are not applied. */
    CHECK(run_import("--list te %s", bad) == 1);
    CHECK(strstr(output, "te-bad.csv:4:") != NULL);
    CHECK(strstr(output, "PDQ is not 64 hex digits") != NULL);
    CHECK(strstr(output, "f8f8f0ce") == NULL && strstr(output, "9def0b7d") == NULL);
    CHECK(list_info("te", &b) && b.version == a.version && total(&b) == 2);
    CHECK(count_pdq("te", PDQ_B) == 0);
    /* Also with --replace: the old content stays whole. */
    CHECK(run_import("--list te --replace %s", bad) == 1);
    CHECK(list_info("te", &b) && b.version == a.version && total(&b) == 2);
    CHECK(count_pdq("te", PDQ_A) == 1);
    /* A failed import into a new list leaves no list behind. */
    CHECK(run_import("--list newlist %s", bad) == 1);
    CHECK(!list_info("newlist", &b));
    /* --skip-invalid: the bad record is skipped and counted, the rest applied. */
    CHECK(run_import("--list te --skip-invalid %s", bad) == 0);
    CHECK(strstr(output, "1 invalid") != NULL);
    CHECK(strstr(output, "te-bad.csv:4: record 3 skipped") != NULL);
    CHECK(count_pdq("te", PDQ_B) == 1);
}

static void test_replace_and_delete(void)
{
    char iwf[512], icse[512], lines[512], ncii[512], header_only[400];
    struct hw_list_info a, b;
    FILE *f;

    data(iwf, sizeof(iwf), "iwf-style.csv");
    data(icse, sizeof(icse), "icse.csv");
    data(lines, sizeof(lines), "te-lines.txt");
    data(ncii, sizeof(ncii), "stopncii.json");
    CHECK(run_import("--list rep %s", iwf) == 0);
    CHECK(list_info("rep", &a) && total(&a) == 5); /* both PhotoDNA forms are one hash */
    CHECK(count_exact("rep", HW_HASH_SHA256, PDQ_A, NULL) == 1);
    CHECK(count_pdq("rep", PDQ_A) == 0); /* the 64-hex column was SHA-256, not PDQ */
    CHECK(run_import("--list rep --replace %s", icse) == 0);
    CHECK(list_info("rep", &b) && total(&b) == 1 && b.version != a.version);
    CHECK(count_exact("rep", HW_HASH_MD5, "9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e", NULL) == 1);
    CHECK(count_exact("rep", HW_HASH_MD5, "aaaa1111aaaa1111aaaa1111aaaa1111", NULL) == 0);

    /* --replace with no usable record is refused rather than emptying the list. */
    snprintf(header_only, sizeof(header_only), "%s/header-only.csv", tmpdir);
    f = fopen(header_only, "w");
    if (f != NULL) {
        fputs("md5,category\n", f);
        fclose(f);
    }
    CHECK(run_import("--list rep --replace %s", header_only) == 1);
    CHECK(list_info("rep", &a) && total(&a) == 1 && a.version == b.version);

    /* StopNCII Withdrawn removes a PDQ that an earlier import added. */
    CHECK(run_import("--list ncii %s", lines) == 0);
    CHECK(count_pdq("ncii", PDQ_A) == 1);
    CHECK(run_import("--list ncii %s", ncii) == 0);
    CHECK(count_pdq("ncii", PDQ_A) == 0 && count_pdq("ncii", PDQ_B) == 1);
}

static void test_stdin_and_options(void)
{
    char te[512], tsv[512], map[400], pdq[512];
    struct hw_match m;
    FILE *f;

    data(te, sizeof(te), "te.csv");
    data(tsv, sizeof(tsv), "custom.tsv");
    data(pdq, sizeof(pdq), "pdq.csv");
    /* Standard input needs --format only when detection cannot tell; te.csv it can. */
    CHECK(run_import("--list stdin - <%s", te) == 0);
    CHECK(count_pdq("stdin", PDQ_A) == 1);
    /* Column mapping, delimiter and a category map. */
    snprintf(map, sizeof(map), "%s/map.txt", tmpdir);
    f = fopen(map, "w");
    if (f != NULL) {
        fputs("# test\nA=low\n", f);
        fclose(f);
    }
    CHECK(run_import("--list cols --delimiter tab --column md5=Hash_Value --column "
                     "category=Grade --column id=Ref --category-map %s %s",
                     map, tsv) == 1); /* "Hash_Value" is not the header's "Hash Value" */
    CHECK(strstr(output, "not in the header") != NULL);
    CHECK(run_import("--list cols --delimiter tab --column 'md5=Hash Value' --column "
                     "category=Grade --column id=Ref --category-map %s %s",
                     map, tsv) == 0);
    CHECK(count_exact("cols", HW_HASH_MD5, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", &m) == 1);
    CHECK(m.entry.severity == HW_SEV_LOW && strcmp(m.entry.entry_id, "ref-1") == 0);
    /* pdq-csv: the quality-49 hash is not imported. */
    CHECK(run_import("--list pdq %s", pdq) == 0);
    CHECK(count_pdq("pdq", PDQ_A) == 1);
    CHECK(strstr(output, "1 PDQ of quality < 50") != NULL);
    /* Only some members' entries (pytx's only_esp_ids: IWF's hashes on NCMEC). */
    {
        char nc[512];
        data(nc, sizeof(nc), "ncmec.xml");
        CHECK(run_import("--list members --only-member 43,101 %s", nc) == 0);
        CHECK(count_exact("members", HW_HASH_MD5, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", NULL) == 0);
        CHECK(count_exact("members", HW_HASH_MD5, "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", NULL) == 1);
        CHECK(count_exact("members", HW_HASH_VIDEO_MD5, "facefacefacefacefacefacefaceface", NULL) ==
              1);
        CHECK(strstr(output, "4 records of other members skipped") != NULL);
    }
    /* --check validates without writing: no list appears; a bad record still fails. */
    {
        char nc[512], bad[512];
        struct hw_list_info li;
        data(nc, sizeof(nc), "ncmec.xml");
        data(bad, sizeof(bad), "te-bad.csv");
        CHECK(run_import("--list checked --check %s", nc) == 0);
        CHECK(strstr(output, "6 upserts, 2 deletes") != NULL);
        CHECK(!list_info("checked", &li));
        CHECK(run_import("--list checked --check %s", bad) == 1);
        CHECK(strstr(output, "te-bad.csv:4:") != NULL);
    }
    /* Usage errors. */
    CHECK(run_import("%s", pdq) == 2);
    CHECK(run_import("--list x --format nope %s", pdq) == 2);
    CHECK(run_import("--list x --threshold 999 %s", pdq) == 2);
}

int main(void)
{
    char cmd[600];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hw-import-test-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(store, sizeof(store), "%s/store", tmpdir);
    snprintf(outpath, sizeof(outpath), "%s/out.txt", tmpdir);
    test_ncmec_and_reimport();
    test_atomic_failure();
    test_replace_and_delete();
    test_stdin_and_options();
    if (failures > 0) {
        fprintf(stderr, "last output:\n%s\n", output);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    if (failures > 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_import_cli: all checks passed\n");
    return 0;
}
