/* test_store_crash.c: kill -9 during replace imports; the store must hold old or new, whole. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "store_testutil.h"

#define N_ENTRIES  20000 /* per content; each entry is a SHA-256 and a PDQ record */
#define ITERATIONS 8

/* Content c: entries c*N/2 .. c*N/2 + N - 1, so consecutive contents share half. */
static void make_entry(unsigned c, unsigned i, int pdq, struct hw_entry *e)
{
    uint64_t k = (uint64_t)c * (N_ENTRIES / 2) + i;
    uint64_t saved = t_rng;

    memset(e, 0, sizeof(*e));
    e->type = pdq ? HW_HASH_PDQ : HW_HASH_SHA256;
    t_rng = k * 7919 + (pdq ? 1 : 2);
    for (int b = 0; b < 32; b += 8) {
        uint64_t r = t_rand();
        memcpy(e->hash + b, &r, 8);
    }
    t_rng = saved;
    snprintf(e->entry_id, sizeof(e->entry_id), "k%llu", (unsigned long long)k);
    snprintf(e->category, sizeof(e->category), "c%u", (unsigned)(k % 5));
}

static int import_content(const char *dir, unsigned c)
{
    hw_store *s = NULL;
    hw_batch *b = NULL;
    char err[256] = "";
    int rc = hw_store_open(dir, 0, &s, err, sizeof(err));

    if (rc == HW_OK) {
        rc = hw_batch_begin(s, "crash", HW_BATCH_REPLACE, &b, err, sizeof(err));
    }
    for (unsigned i = 0; rc == HW_OK && i < N_ENTRIES; i++) {
        struct hw_entry e;
        make_entry(c, i, 0, &e);
        rc = hw_batch_put(b, &e);
        if (rc == HW_OK) {
            make_entry(c, i, 1, &e);
            rc = hw_batch_put(b, &e);
        }
    }
    if (rc == HW_OK) {
        rc = hw_batch_commit(b, NULL, err, sizeof(err));
    } else {
        hw_batch_abort(b);
    }
    if (rc != HW_OK) {
        fprintf(stderr, "import %u: %s %s\n", c, hw_errname(rc), err);
    }
    hw_store_close(s);
    return rc;
}

static int has_entry(hw_snapshot *snap, const struct hw_entry *e)
{
    struct hw_match m;
    size_t n = 0;
    int rc;

    if (e->type == HW_HASH_PDQ) {
        struct hw_pdq q;
        struct hw_match_opts o = {NULL, 0, 0, 0, 0};
        t_pdq_from_bytes(e->hash, &q);
        rc = hw_snapshot_match_pdq(snap, &q, &o, &m, 1, &n);
    } else {
        rc = hw_snapshot_match_exact(snap, e->type, e->hash, NULL, &m, 1, &n);
    }
    CHECK_OK(rc);
    if (n == 1) {
        CHECK(strcmp(m.entry.entry_id, e->entry_id) == 0);
    }
    return n == 1;
}

/* The list must be exactly content `c`: every record present, counts equal, and the
 * records of the neighbouring contents that c lacks absent. Returns 1 when it is. */
static int is_content(const char *dir, unsigned c, int report)
{
    hw_store *s = NULL;
    hw_snapshot *snap = NULL;
    struct hw_list_info li[4];
    size_t n = 0;
    int ok = 1;
    char err[256] = "";

    CHECK_OK(hw_store_open(dir, HW_STORE_RDONLY, &s, err, sizeof(err)));
    if (s == NULL) {
        fprintf(stderr, "reopen: %s\n", err);
        return 0;
    }
    CHECK_OK(hw_snapshot_begin(s, &snap, NULL, 0));
    CHECK_OK(hw_snapshot_lists(snap, li, 4, &n));
    ok = n == 1 && li[0].counts[HW_HASH_SHA256] == N_ENTRIES &&
         li[0].counts[HW_HASH_PDQ] == N_ENTRIES;
    for (unsigned i = 0; ok && i < N_ENTRIES; i++) {
        struct hw_entry e;
        make_entry(c, i, i % 2, &e);
        ok = has_entry(snap, &e);
    }
    /* Content c-1's first half and c+1's second half are not in c. */
    for (unsigned i = 0; ok && i < N_ENTRIES / 2; i += 7) {
        struct hw_entry e;
        if (c > 0) {
            make_entry(c - 1, i, i % 2, &e);
            ok = !has_entry(snap, &e);
        }
        make_entry(c + 1, N_ENTRIES / 2 + i, i % 2, &e);
        ok = ok && !has_entry(snap, &e);
    }
    if (!ok && report) {
        fprintf(stderr, "store is not content %u (lists %zu, sha256 %llu, pdq %llu)\n", c, n,
                n ? (unsigned long long)li[0].counts[HW_HASH_SHA256] : 0ull,
                n ? (unsigned long long)li[0].counts[HW_HASH_PDQ] : 0ull);
    }
    hw_snapshot_end(snap);
    hw_store_close(s);
    return ok;
}

int main(void)
{
    char dir[256];
    struct timespec t0, t1;
    double full_s;
    unsigned current = 0;
    int killed_mid = 0, finished = 0;

    t_tmpdir(dir, sizeof(dir));
    CHECK_OK(import_content(dir, 0));
    CHECK(is_content(dir, 0, 1));
    /* Time an uninterrupted replace (half the entries change) to aim the kills. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(import_content(dir, 1));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    full_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK(is_content(dir, 1, 1));
    current = 1;
    srand((unsigned)time(NULL));

    for (unsigned it = 2; it < 2 + ITERATIONS; it++) {
        /* Kill somewhere in [0, 1.5 x an uninterrupted import]: puts, commit or after. */
        useconds_t delay = (useconds_t)(full_s * 1.5e6 * (double)rand() / RAND_MAX);
        if (it == 2) {
            delay = (useconds_t)(full_s * 0.3e6); /* at least one kill lands mid-import */
        }
        int status = 0;
        pid_t pid = fork();

        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            _exit(import_content(dir, it) == HW_OK ? 0 : 3);
        }
        usleep(delay);
        kill(pid, SIGKILL);
        CHECK(waitpid(pid, &status, 0) == pid);
        if (WIFEXITED(status)) {
            CHECK(WEXITSTATUS(status) == 0);
            CHECK(is_content(dir, it, 1)); /* it finished: the new content, whole */
            finished++;
            current = it;
            continue;
        }
        if (is_content(dir, it, 0)) {
            current = it; /* killed after the commit reached the disk */
        } else {
            CHECK(is_content(dir, current, 1)); /* else the old content, untouched */
            killed_mid++;
        }
        /* Running the import again simply works. */
        CHECK_OK(import_content(dir, it));
        CHECK(is_content(dir, it, 1));
        current = it;
    }
    printf("%d iterations: %d killed mid-import, %d finished (import %.2f s)\n", ITERATIONS,
           killed_mid, finished, full_s);
    CHECK(killed_mid > 0); /* else the test tested nothing */
    t_rmdir(dir);
    if (t_failures) {
        fprintf(stderr, "%d check(s) failed\n", t_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
