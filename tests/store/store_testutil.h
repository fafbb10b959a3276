/* store_testutil.h: shared helpers for the store tests (temporary stores, checks, PRNG). */
#ifndef HW_TESTS_STORE_TESTUTIL_H
#define HW_TESTS_STORE_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_store.h"

static int t_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            t_failures++;                                                                          \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != HW_OK) {                                                                        \
            fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__, #expr,                  \
                    hw_errname(rc_));                                                              \
            t_failures++;                                                                          \
        }                                                                                          \
    } while (0)

static uint64_t t_rng = 0x1234567ull;

static inline uint64_t t_rand(void)
{
    uint64_t z = (t_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A fresh empty directory under TMPDIR; removed by t_rmdir(). */
static inline void t_tmpdir(char *out, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, len, "%s/hwstore-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline void t_rmdir(const char *dir)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static inline void t_pdq_to_bytes(const struct hw_pdq *h, uint8_t *out)
{
    for (int w = 0; w < 4; w++) {
        for (int i = 0; i < 8; i++) {
            out[8 * w + i] = (uint8_t)(h->q[w] >> (8 * i));
        }
    }
}

static inline void t_pdq_from_bytes(const uint8_t *b, struct hw_pdq *h)
{
    for (int w = 0; w < 4; w++) {
        h->q[w] = 0;
        for (int i = 7; i >= 0; i--) {
            h->q[w] = h->q[w] << 8 | b[8 * w + i];
        }
    }
}

static inline int t_dist(const struct hw_pdq *a, const struct hw_pdq *b)
{
    int d = 0;
    for (int w = 0; w < 4; w++) {
        d += __builtin_popcountll(a->q[w] ^ b->q[w]);
    }
    return d;
}

/* Flip `n` distinct random bits of h. */
static inline void t_flip(struct hw_pdq *h, int n)
{
    uint8_t used[256] = {0};
    while (n > 0) {
        int b = (int)(t_rand() % 256);
        if (used[b]) {
            continue;
        }
        used[b] = 1;
        h->q[b >> 6] ^= 1ull << (b & 63);
        n--;
    }
}

static inline void t_random_pdq(struct hw_pdq *h)
{
    for (int w = 0; w < 4; w++) {
        h->q[w] = t_rand();
    }
}

static inline void t_entry_pdq(struct hw_entry *e, const struct hw_pdq *h, const char *id)
{
    memset(e, 0, sizeof(*e));
    e->type = HW_HASH_PDQ;
    t_pdq_to_bytes(h, e->hash);
    snprintf(e->entry_id, sizeof(e->entry_id), "%s", id);
    snprintf(e->category, sizeof(e->category), "A1");
    e->severity = HW_SEV_HIGH;
    e->created = 1700000000;
}

#endif
