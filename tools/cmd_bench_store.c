/* cmd_bench_store.c: `hashwatch bench store`: synthetic lists, import rate, query latency. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hashlib/hw_error.h>
#include <hashlib/hw_store.h>

#include "bench_faiss.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hashwatch bench store gen --store DIR [--list NAME] [--count N]\n"
            "                                 [--clustered F] [--seed S] [--batch M]\n"
            "                                 [--resume K]\n"
            "       hashwatch bench store run [--store DIR] [--count N] [--clustered F]\n"
            "                                 [--queries Q] [--brute-queries B] [--seed S]\n"
            "                                 [--hot MIB] [--faiss 0|1]\n"
            "       hashwatch bench store query --store DIR [--count N] [--clustered F]\n"
            "                                 [--queries Q] [--brute-queries B] [--seed S]\n"
            "                                 [--hot MIB] [--faiss 0|1] [--lean 0|1]\n"
            "gen: import a synthetic PDQ list (a fraction F, default 0.5, near-duplicates at\n"
            "     distances 0..40 of N/1000+300 centres; the rest uniform) and report the rate.\n"
            "     --batch M commits every M records (default: one transaction), for lists\n"
            "     whose one-transaction import would not fit in memory (100M entries);\n"
            "     --resume K continues such an import after its first K records.\n"
            "run: gen into a fresh store (default ./bench-store-N, removed unless --store),\n"
            "     then: open time, query latency (median, p99) through the index and by a\n"
            "     brute-force scan of the same hashes, with and without the 8 variants, the\n"
            "     latency of a 10,000-entry update and removal, RSS and store bytes per entry.\n"
            "query: the query part of run on a store made by gen (same --count, --clustered\n"
            "     and --seed regenerate the same hashes for the brute-force side).\n"
            "--hot MIB: as hashwatchd, search an index of at least MIB MiB in its huge-page\n"
            "     copy, waiting for the copy before timing (default 256; 0: the LMDB map).\n"
            "--faiss 0: skip the FAISS comparison (built when libfaiss-dev is present).\n"
            "--lean 1: query keeps only a sample of the hashes and times its brute-force\n"
            "     side on the store's own copy of them, through the same scan the index uses\n"
            "     for small segments; the default above 20M entries, where the bench's own\n"
            "     copy (32 bytes per entry) would take memory from the index.\n"
            "Timings depend on the machine and its load; run on an idle machine.\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: the machine may be shared, and the floors are "on one core". */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void flip(struct hw_pdq *h, int n)
{
    uint64_t used[4] = {0, 0, 0, 0};

    for (int i = 0; i < n;) {
        int b = (int)(rng() % 256);
        uint64_t m = 1ull << (b & 63);
        if (used[b >> 6] & m) {
            continue; /* distinct bits, so the distance is exactly n */
        }
        used[b >> 6] |= m;
        h->q[b >> 6] ^= m;
        i++;
    }
}

/*
 * Above this many entries, `query` keeps a sample of the hashes (for near-entry queries) and
 * its brute-force side scans the store's own copy of them (hw_match_opts.scan) instead of its
 * own: at 100M entries the bench's 3.2 GB of hashes, beside an 11.5 GB hot index and the
 * pages it is copied from, left a 24 GB machine short of memory and slowed the index 4-10x.
 */
#define LEAN_ABOVE  20000000u
#define LEAN_SAMPLE 65536u

struct synth {
    struct hw_pdq *h; /* all generated hashes for the brute-force side, or a sample (lean) */
    size_t n;
    int lean;
    struct hw_pdq *centres;
    size_t n_centres;
    double clustered;
};

static void gen_one(struct synth *sy, struct hw_pdq *h)
{
    if ((double)(rng() >> 11) / 9007199254740992.0 < sy->clustered) {
        *h = sy->centres[rng() % sy->n_centres];
        flip(h, (int)(rng() % 41));
    } else {
        for (int w = 0; w < 4; w++) {
            h->q[w] = rng();
        }
    }
}

static void to_bytes(const struct hw_pdq *h, uint8_t *out)
{
    for (int w = 0; w < 4; w++) {
        for (int i = 0; i < 8; i++) {
            out[8 * w + i] = (uint8_t)(h->q[w] >> (8 * i));
        }
    }
}

static int synth_init(struct synth *sy, size_t n, double clustered, int lean)
{
    memset(sy, 0, sizeof(*sy));
    sy->clustered = clustered;
    sy->lean = lean;
    sy->n_centres = n / 1000 + 300;
    sy->centres = malloc(sy->n_centres * sizeof(*sy->centres));
    sy->h = malloc(((lean ? LEAN_SAMPLE : n) + 1) * sizeof(*sy->h));
    if (sy->centres == NULL || sy->h == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sy->n_centres; i++) {
        for (int w = 0; w < 4; w++) {
            sy->centres[i].q[w] = rng();
        }
    }
    return 0;
}

static int cmp_pdq(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct hw_pdq));
}

/* The list holds each hash once: so must the brute-force side. */
static void synth_dedupe(struct synth *sy)
{
    size_t k = 0;

    qsort(sy->h, sy->n, sizeof(*sy->h), cmp_pdq);
    for (size_t i = 0; i < sy->n; i++) {
        if (k == 0 || memcmp(&sy->h[k - 1], &sy->h[i], sizeof(*sy->h)) != 0) {
            sy->h[k++] = sy->h[i];
        }
    }
    sy->n = k;
}

static void synth_free(struct synth *sy)
{
    free(sy->h);
    free(sy->centres);
}

/* Import sy->n new hashes into `list`; returns records/s (batch begin to durable commit). */
static int import_list(hw_store *s, const char *list, struct synth *sy, size_t n, size_t batch,
                       size_t skip, int keep, double *rate, double *cpu_rate, double *commit_s)
{
    hw_batch *b = NULL;
    struct hw_entry e;
    struct hw_batch_stats st;
    char err[256] = "";
    double t0 = now(), c0 = cpu_now(), t1;
    int rc;

    *commit_s = 0;

    rc = hw_batch_begin(s, list, 0, &b, err, sizeof(err));
    if (rc != HW_OK) {
        cli_err("bench: %s", err);
        return -1;
    }
    memset(&e, 0, sizeof(e));
    e.type = HW_HASH_PDQ;
    snprintf(e.category, sizeof(e.category), "bench");
    e.severity = HW_SEV_HIGH;
    e.created = 1700000000;
    for (size_t i = 0; i < n; i++) {
        struct hw_pdq h;
        gen_one(sy, &h);
        if (keep) {
            sy->h[sy->n++] = h;
        }
        if (i < skip) {
            continue; /* already imported: only the generator's state moves on */
        }
        to_bytes(&h, e.hash);
        snprintf(e.entry_id, sizeof(e.entry_id), "s%zu", i);
        rc = hw_batch_put(b, &e);
        if (rc != HW_OK) {
            cli_err("bench: put: %s", hw_strerror(rc));
            hw_batch_abort(b);
            return -1;
        }
        if ((i + 1) % 1000000 == 0) {
            fprintf(stderr, "  %zu records put, %.0f/s\n", i + 1, (double)(i + 1) / (now() - t0));
        }
        if (batch > 0 && (i + 1) % batch == 0 && i + 1 < n) {
            t1 = now();
            rc = hw_batch_commit(b, &st, err, sizeof(err));
            if (rc == HW_OK) {
                *commit_s += now() - t1;
                fprintf(stderr, "  committed %zu records (%.1f s)\n", i + 1, now() - t1);
                rc = hw_batch_begin(s, list, 0, &b, err, sizeof(err));
            }
            if (rc != HW_OK) {
                cli_err("bench: %s", err);
                return -1;
            }
        }
    }
    t1 = now();
    rc = hw_batch_commit(b, &st, err, sizeof(err));
    if (rc != HW_OK) {
        cli_err("bench: commit: %s", err);
        return -1;
    }
    *commit_s += now() - t1;
    *rate = (double)(n - skip) / (now() - t0);
    *cpu_rate = (double)(n - skip) / (cpu_now() - c0);
    return 0;
}

static void rss(long *rss_kb, long *hwm_kb)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];

    *rss_kb = *hwm_kb = -1;
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        sscanf(line, "VmRSS: %ld", rss_kb);
        sscanf(line, "VmHWM: %ld", hwm_kb);
    }
    fclose(f);
}

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("popcnt")))
#endif
static size_t
brute_scan(const struct synth *sy, const struct hw_pdq *q, int n_q, int t)
{
    size_t found = 0;

    for (size_t i = 0; i < sy->n; i++) {
        const uint64_t *h = sy->h[i].q;
        for (int v = 0; v < n_q; v++) {
            int d = __builtin_popcountll(h[0] ^ q[v].q[0]) +
                    __builtin_popcountll(h[1] ^ q[v].q[1]) +
                    __builtin_popcountll(h[2] ^ q[v].q[2]) + __builtin_popcountll(h[3] ^ q[v].q[3]);
            if (d <= t) {
                found++;
                break;
            }
        }
    }
    return found;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void make_query(const struct synth *sy, int hit, struct hw_pdq *q)
{
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        if (hit && v == 0) {
            q[v] = sy->h[rng() % sy->n];
            flip(&q[v], (int)(rng() % 32));
        } else {
            for (int w = 0; w < 4; w++) {
                q[v].q[w] = rng();
            }
        }
    }
}

/* Median and p99 latency (ms) of n queries; index or brute force. Checks the counts agree. */
static int latency(hw_store *s, const struct synth *sy, int n, int brute, int variants, int hit,
                   double *med, double *p99, double *wall_med, size_t *matches, int check)
{
    double *t = malloc((size_t)n * sizeof(*t)), *w = malloc((size_t)n * sizeof(*w));
    hw_snapshot *snap = NULL;
    struct hw_match_opts o = {NULL, 0, -1, variants, 0};
    struct hw_match_opts scan = {NULL, 0, -1, variants, 1};
    struct hw_pdq q[HW_DIH_COUNT];
    int rc = -1;

    *matches = 0;
    if (t == NULL || w == NULL || hw_snapshot_begin(s, &snap, NULL, 0) != HW_OK) {
        goto done;
    }
    for (int i = 0; i < n; i++) {
        size_t found = 0;
        double t0, c0;

        make_query(sy, hit, q);
        t0 = now();
        c0 = cpu_now();
        if (brute && sy->lean) {
            if (hw_snapshot_match_pdq(snap, q, &scan, NULL, 0, &found) != HW_OK) {
                cli_err("bench: scan failed");
                goto done;
            }
        } else if (brute) {
            found = brute_scan(sy, q, variants ? HW_DIH_COUNT : 1, HW_PDQ_THRESHOLD_DEFAULT);
        } else if (hw_snapshot_match_pdq(snap, q, &o, NULL, 0, &found) != HW_OK) {
            cli_err("bench: query failed");
            goto done;
        }
        t[i] = (cpu_now() - c0) * 1e3;
        w[i] = (now() - t0) * 1e3;
        *matches += found;
        if (check && !brute) {
            size_t bf = 0;
            if (!sy->lean) {
                bf = brute_scan(sy, q, variants ? HW_DIH_COUNT : 1, HW_PDQ_THRESHOLD_DEFAULT);
            } else if (hw_snapshot_match_pdq(snap, q, &scan, NULL, 0, &bf) != HW_OK) {
                cli_err("bench: scan failed");
                goto done;
            }
            if (bf != found) {
                cli_err("bench: index found %zu, brute force %zu: NOT EXACT", found, bf);
                goto done;
            }
        }
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_double);
    qsort(w, (size_t)n, sizeof(*w), cmp_double);
    *med = t[n / 2];
    *p99 = t[(size_t)n * 99 / 100];
    *wall_med = w[n / 2];
    rc = 0;
done:
    hw_snapshot_end(snap);
    free(t);
    free(w);
    return rc;
}

struct opts {
    const char *store, *list;
    size_t count;
    double clustered;
    int queries, brute_queries;
    uint64_t seed;
    size_t batch;  /* records per transaction; 0: one */
    size_t resume; /* records already imported */
    long hot_mib;  /* hw_store_hot_index threshold in MiB; 0: search the map */
    int faiss;     /* compare with FAISS when built with it */
    int lean;      /* query: -1 above LEAN_ABOVE entries, else 0 or 1 as asked */
};

static int parse(int argc, char **argv, struct opts *o)
{
    o->store = NULL;
    o->list = "bench";
    o->count = 1000000;
    o->clustered = 0.5;
    o->queries = 2000;
    o->brute_queries = 50;
    o->seed = 1;
    o->batch = 0;
    o->resume = 0;
    o->hot_mib = 256;
    o->faiss = 1;
    o->lean = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            cli_err("bench store: %s needs a value", a);
            return -1;
        }
        if (strcmp(a, "--store") == 0) {
            o->store = v;
        } else if (strcmp(a, "--list") == 0) {
            o->list = v;
        } else if (strcmp(a, "--count") == 0) {
            o->count = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--clustered") == 0) {
            o->clustered = strtod(v, NULL);
        } else if (strcmp(a, "--queries") == 0) {
            o->queries = atoi(v);
        } else if (strcmp(a, "--brute-queries") == 0) {
            o->brute_queries = atoi(v);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--batch") == 0) {
            o->batch = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--hot") == 0) {
            o->hot_mib = strtol(v, NULL, 10);
        } else if (strcmp(a, "--faiss") == 0) {
            o->faiss = atoi(v) != 0;
        } else if (strcmp(a, "--lean") == 0) {
            o->lean = atoi(v) != 0;
        } else {
            cli_err("bench store: unknown option %s", a);
            return -1;
        }
        i++;
    }
    if (o->count == 0 || o->count > 2000000000ull || o->queries < 2 || o->brute_queries < 2 ||
        o->clustered < 0 || o->clustered > 1 || o->resume >= o->count || o->hot_mib < 0) {
        cli_err("bench store: bad --count, --queries, --brute-queries, --clustered, --resume or "
                "--hot");
        return -1;
    }
    rng_state = o->seed;
    return 0;
}

/*
 * Meta HMA's PDQ index, FAISS IndexBinaryMultiHash with 16 maps of 16 bits, on the same
 * hashes and queries; every count is checked against brute force. Its hash maps cost far more
 * memory than the hashes, so it is skipped above 20M entries.
 */
static int faiss_compare(const struct synth *sy, int queries)
{
#ifdef HW_HAVE_FAISS
    char err[256] = "";
    double t0 = now(), t_build, *t = NULL;
    long rss0, hwm0, rss1, hwm1;
    hw_faiss *f = NULL;
    int rc = -1;

    if (sy->lean || sy->n > LEAN_ABOVE) {
        printf("faiss: skipped above 20M entries (its hash maps would not fit in memory)\n");
        return 0;
    }
    queries = queries < 200 ? queries : 200; /* tens of ms each at 10M */
    rss(&rss0, &hwm0);
    f = hw_faiss_build(sy->h, sy->n, err, sizeof(err));
    if (f == NULL) {
        cli_err("bench: %s", err);
        return -1;
    }
    t_build = now() - t0;
    rss(&rss1, &hwm1);
    t = malloc((size_t)queries * sizeof(*t));
    if (t == NULL) {
        goto done;
    }
    for (int hit = 0; hit < 2; hit++) {
        long total = 0;
        for (int i = 0; i < queries; i++) {
            struct hw_pdq q[HW_DIH_COUNT];
            double c0;
            long c;
            size_t bf;

            make_query(sy, hit, q);
            c0 = cpu_now();
            c = hw_faiss_count(f, q[0].q, HW_PDQ_THRESHOLD_DEFAULT);
            t[i] = (cpu_now() - c0) * 1e3;
            bf = brute_scan(sy, q, 1, HW_PDQ_THRESHOLD_DEFAULT);
            if (c < 0 || (size_t)c != bf) {
                cli_err("bench: faiss found %ld, brute force %zu: NOT EXACT", c, bf);
                goto done;
            }
            total += c;
        }
        qsort(t, (size_t)queries, sizeof(*t), cmp_double);
        printf("query 1 hash     %-10s faiss IndexBinaryMultiHash 16x16 (HMA): median %.4f p99 "
               "%.4f ms cpu (%d q, %.2f matches/q, each equal to brute force)\n",
               hit ? "near-entry" : "random", t[queries / 2], t[(size_t)queries * 99 / 100],
               queries, (double)total / queries);
    }
    printf("faiss: build %.1f s, resident +%.1f MB\n", t_build, (double)(rss1 - rss0) / 1024);
    rc = 0;
done:
    free(t);
    hw_faiss_free(f);
    return rc;
#else
    (void)sy;
    (void)queries;
    printf("faiss: not built in (apt-get install libfaiss-dev g++, then configure again)\n");
    return 0;
#endif
}

static int update_visibility(hw_store *s, struct synth *sy)
{
    hw_batch *b = NULL;
    hw_snapshot *snap = NULL;
    struct hw_entry e;
    struct hw_pdq probe;
    struct hw_match_opts mo = {NULL, 0, 0, 0, 0};
    double t0, t_add, t_del;
    size_t n = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    e.type = HW_HASH_PDQ;
    t0 = now();
    rc = hw_batch_begin(s, "bench-update", 0, &b, NULL, 0);
    for (int i = 0; rc == HW_OK && i < 10000; i++) {
        struct hw_pdq h;
        gen_one(sy, &h);
        if (i == 0) {
            probe = h;
        }
        to_bytes(&h, e.hash);
        snprintf(e.entry_id, sizeof(e.entry_id), "u%d", i);
        rc = hw_batch_put(b, &e);
    }
    if (rc == HW_OK) {
        rc = hw_batch_commit(b, NULL, NULL, 0);
    } else {
        hw_batch_abort(b);
    }
    if (rc == HW_OK) {
        rc = hw_snapshot_begin(s, &snap, NULL, 0);
    }
    if (rc == HW_OK) {
        rc = hw_snapshot_match_pdq(snap, &probe, &mo, NULL, 0, &n);
    }
    hw_snapshot_end(snap);
    snap = NULL;
    t_add = now() - t0;
    if (rc != HW_OK || n == 0) {
        cli_err("bench: 10k update not visible (%s)", hw_strerror(rc));
        return -1;
    }
    t0 = now();
    rc = hw_store_list_remove(s, "bench-update", NULL, 0);
    if (rc == HW_OK) {
        rc = hw_snapshot_begin(s, &snap, NULL, 0);
    }
    n = 0;
    if (rc == HW_OK) {
        const char *only[] = {"bench-update"};
        mo.lists = only;
        mo.n_lists = 1;
        rc = hw_snapshot_match_pdq(snap, &probe, &mo, NULL, 0, &n);
    }
    hw_snapshot_end(snap);
    t_del = now() - t0;
    if (rc != HW_OK || n != 0) {
        cli_err("bench: 10k removal not visible");
        return -1;
    }
    printf("10k update: add+commit+visible %.3f s; remove list+visible %.3f s\n", t_add, t_del);
    return 0;
}

/* mode: 0 run (all), 1 gen (import only), 2 query (an existing store made by gen). */
static int run(const struct opts *o, int mode)
{
    int gen_only = mode == 1;
    char dir[512], err[512] = "", path[600];
    hw_store *s = NULL;
    struct synth sy;
    struct stat st;
    double rate, cpu_rate, commit_s, t0, t_open;
    long rss_kb, hwm_kb;
    int status = CLI_EXIT_FAIL;

    if (o->store != NULL) {
        snprintf(dir, sizeof(dir), "%s", o->store);
    } else {
        snprintf(dir, sizeof(dir), "./bench-store-%zu", o->count);
    }
    /* gen keeps no hashes of its own (lean: a sample-sized array it never fills), so that at
     * 100M entries its 3.2 GB stay with the page cache the import runs in. */
    if (synth_init(&sy, o->count, o->clustered,
                   gen_only || (mode == 2 && (o->lean < 0 ? o->count > LEAN_ABOVE : o->lean))) !=
        0) {
        cli_err("bench: out of memory");
        goto done;
    }
    printf("store %s: %zu PDQ entries, %.0f%% clustered (%zu centres, distances 0..40)\n", dir,
           o->count, o->clustered * 100, sy.n_centres);
    if (mode == 2 && sy.lean) {
        /* Same seed, same sequence: every k-th hash `gen` imported, for near-entry queries. */
        size_t k = o->count / LEAN_SAMPLE + 1;
        for (size_t i = 0; i < o->count; i++) {
            struct hw_pdq h;
            gen_one(&sy, &h);
            if (i % k == 0) {
                sy.h[sy.n++] = h;
            }
        }
        printf("lean: %zu sampled hashes for near-entry queries; the brute-force side scans "
               "the store's copy of the hashes\n",
               sy.n);
        goto queries;
    }
    if (mode == 2) {
        /* Same seed, same sequence: the hashes `gen` imported, for the brute-force side. */
        while (sy.n < o->count) {
            gen_one(&sy, &sy.h[sy.n++]);
        }
        synth_dedupe(&sy);
        goto queries;
    }
    if (hw_store_open(dir, 0, &s, err, sizeof(err)) != HW_OK) {
        cli_err("bench: %s", err);
        goto done;
    }
    if (import_list(s, o->list, &sy, o->count, o->batch, o->resume, !gen_only, &rate, &cpu_rate,
                    &commit_s) != 0) {
        goto done;
    }
    printf("import: %.0f records/s wall, %.0f records/s per CPU second, through hw_batch "
           "(commits incl. index build and fsync: %.2f s wall)\n",
           rate, cpu_rate, commit_s);
    synth_dedupe(&sy);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) == 0) {
        printf("store size: %.1f MB on disk, %.1f bytes per entry\n",
               (double)st.st_blocks * 512 / 1e6, (double)st.st_blocks * 512 / (double)o->count);
    }
    if (gen_only) {
        status = CLI_EXIT_OK;
        goto done;
    }
queries:
    hw_store_close(s);
    s = NULL;
    hw_store_hot_index((size_t)o->hot_mib << 20);
    t0 = now();
    {
        hw_snapshot *snap = NULL;
        struct hw_pdq q[HW_DIH_COUNT];
        size_t n = 0;
        make_query(&sy, 1, q);
        if (hw_store_open(dir, HW_STORE_RDONLY, &s, err, sizeof(err)) != HW_OK ||
            hw_snapshot_begin(s, &snap, NULL, 0) != HW_OK ||
            hw_snapshot_match_pdq(snap, q, NULL, NULL, 0, &n) != HW_OK) {
            cli_err("bench: reopen: %s", err);
            goto done;
        }
        hw_snapshot_end(snap);
    }
    t_open = now() - t0;
    printf("open read-only + first query: %.1f ms\n", t_open * 1e3);
    if (o->hot_mib > 0) {
        int hot;

        t0 = now();
        hot = hw_store_hot_index_wait(s, 600000);
        printf("hot index copy (huge pages, made in the background): %s, %.1f ms\n",
               hot > 0    ? "in use"
               : hot == 0 ? "none (small index or no THP)"
                          : "timed out",
               (now() - t0) * 1e3);
    }
    for (int variants = 0; variants < 2; variants++) {
        for (int hit = 0; hit < 2; hit++) {
            double m1, p1, m2, p2, w1, w2;
            size_t f1, f2;
            /* A first pass checks exactness against brute force on a few queries. */
            if (latency(s, &sy, o->brute_queries < 20 ? o->brute_queries : 20, 0, variants, hit,
                        &m1, &p1, &w1, &f1, 1) != 0 ||
                latency(s, &sy, o->queries, 0, variants, hit, &m1, &p1, &w1, &f1, 0) != 0 ||
                latency(s, &sy, o->brute_queries, 1, variants, hit, &m2, &p2, &w2, &f2, 0) != 0) {
                goto done;
            }
            printf("query %-10s %-10s index: median %.4f p99 %.4f ms cpu (wall median %.4f; "
                   "%d q, %.2f matches/q) | brute force: median %.2f p99 %.2f ms cpu (wall "
                   "%.2f; %d q)\n",
                   variants ? "8 variants" : "1 hash", hit ? "near-entry" : "random", m1, p1, w1,
                   o->queries, (double)f1 / o->queries, m2, p2, w2, o->brute_queries);
        }
    }
    rss(&rss_kb, &hwm_kb);
    printf("memory: VmRSS %.1f MB, VmHWM %.1f MB (incl. the bench's own %.1f MB of hashes)\n",
           (double)rss_kb / 1024, (double)hwm_kb / 1024, (double)sy.n * 32 / 1e6);
    hw_store_close(s);
    s = NULL;
    if (o->faiss && faiss_compare(&sy, o->queries) != 0) {
        goto done;
    }
    /* (query mode too: the update list is removed again, the store ends as it was) */
    if (hw_store_open(dir, 0, &s, err, sizeof(err)) != HW_OK || update_visibility(s, &sy) != 0) {
        goto done;
    }
    status = CLI_EXIT_OK;
done:
    hw_store_close(s);
    synth_free(&sy);
    if (status == CLI_EXIT_OK && o->store == NULL && mode == 0) {
        snprintf(path, sizeof(path), "%s/data.mdb", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/lock.mdb", dir);
        unlink(path);
        rmdir(dir);
    }
    return status;
}

int cli_bench_store(int argc, char **argv)
{
    struct opts o;

    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (parse(argc, argv, &o) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "gen") == 0) {
        if (o.store == NULL) {
            cli_err("bench store gen: needs --store DIR");
            return CLI_EXIT_USAGE;
        }
        return run(&o, 1);
    }
    if (strcmp(argv[1], "run") == 0) {
        return run(&o, 0);
    }
    if (strcmp(argv[1], "query") == 0) {
        if (o.store == NULL) {
            cli_err("bench store query: needs --store DIR (made by gen with the same options)");
            return CLI_EXIT_USAGE;
        }
        return run(&o, 2);
    }
    cli_err("bench store: unknown subcommand '%s'", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
