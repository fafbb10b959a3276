/* bench_faiss.h: Meta HMA's PDQ index (FAISS IndexBinaryMultiHash), for `bench store` only. */
#ifndef HASHWATCH_BENCH_FAISS_H
#define HASHWATCH_BENCH_FAISS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hw_faiss hw_faiss;

/**
 * Build faiss::IndexBinaryMultiHash(256, 16, 16) over n 32-byte hashes, as HMA's
 * PDQMultiHashIndex does; FAISS runs on one thread. NULL on failure, with a message.
 */
hw_faiss *hw_faiss_build(const void *hashes, size_t n, char *errbuf, size_t errbuf_len);
/**
 * Count the hashes within `threshold` of the 32-byte query, as HMA searches: nflip =
 * threshold / 16, range_search with radius threshold + 1. -1 on failure.
 */
long hw_faiss_count(hw_faiss *f, const void *query, int threshold);
void hw_faiss_free(hw_faiss *f);

#ifdef __cplusplus
}
#endif
#endif
