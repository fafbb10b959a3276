/* bench_faiss.cpp: the FAISS side of `hashwatch bench store` (built when libfaiss-dev is). */
#include "bench_faiss.h"

#include <cstdio>
#include <exception>

#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <omp.h>

struct hw_faiss {
    faiss::IndexBinaryMultiHash *index;
};

extern "C" hw_faiss *hw_faiss_build(const void *hashes, size_t n, char *errbuf,
                                    size_t errbuf_len)
{
    hw_faiss *f = nullptr;

    try {
        omp_set_num_threads(1); /* one core, like the other columns */
        f = new hw_faiss{nullptr};
        f->index = new faiss::IndexBinaryMultiHash(256, 16, 16);
        f->index->add((faiss::Index::idx_t)n, static_cast<const uint8_t *>(hashes));
        return f;
    } catch (const std::exception &e) {
        std::snprintf(errbuf, errbuf_len, "faiss: %s", e.what());
    }
    if (f != nullptr) {
        delete f->index;
        delete f;
    }
    return nullptr;
}

extern "C" long hw_faiss_count(hw_faiss *f, const void *query, int threshold)
{
    try {
        faiss::RangeSearchResult res(1);
        f->index->nflip = threshold / f->index->nhash;
        f->index->range_search(1, static_cast<const uint8_t *>(query), threshold + 1, &res);
        return (long)res.lims[1];
    } catch (const std::exception &) {
        return -1;
    }
}

extern "C" void hw_faiss_free(hw_faiss *f)
{
    if (f != nullptr) {
        delete f->index;
        delete f;
    }
}
