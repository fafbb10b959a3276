/* fuzz_listfmt.c: fuzz target for the hash-list parsers; the first byte picks format and mode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_listfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    uint64_t n;
};

static int fz_record(void *ctx, const struct hw_listfmt_record *r)
{
    struct fz *f = ctx;

    /* What every record must satisfy, whatever the input. */
    if (r->entry.type < HW_HASH_NONE || r->entry.type >= HW_HASH_TYPE_COUNT ||
        (r->entry.type == HW_HASH_NONE &&
         (r->op != HW_LISTFMT_DELETE || r->entry.entry_id[0] == '\0')) ||
        memchr(r->entry.entry_id, 0, sizeof(r->entry.entry_id)) == NULL ||
        memchr(r->entry.member_id, 0, sizeof(r->entry.member_id)) == NULL ||
        memchr(r->entry.category, 0, sizeof(r->entry.category)) == NULL ||
        r->entry.severity < HW_SEV_UNKNOWN || r->entry.severity > HW_SEV_CRITICAL ||
        r->quality < -1 || r->quality > 100 || r->record == 0 || r->line == 0) {
        abort();
    }
    f->n++;
    return HW_OK;
}

static int fz_issue(void *ctx, const struct hw_listfmt_issue *is)
{
    if (is->reason == NULL || is->err == HW_OK) {
        abort();
    }
    return HW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hw_listfmt_options o;
    hw_listfmt_parser *p = NULL;
    struct fz f = {0};
    char err[128];
    uint8_t mode;
    size_t chunk, off = 0;
    int rc = HW_OK;

    if (size < 1) {
        return 0;
    }
    mode = data[0];
    data++;
    size--;
    (void)hw_listfmt_detect(data, size);
    if ((mode & 7) == 0) {
        /* The small text decoders. */
        uint8_t pdna[144];
        struct hw_listfmt_catmap_entry *m = NULL;
        size_t n = 0;
        (void)hw_listfmt_photodna_decode((const char *)data, size, pdna);
        if (hw_listfmt_catmap_parse((const char *)data, size, &m, &n, err, sizeof(err)) == HW_OK) {
            for (size_t i = 0; i < n; i++) {
                (void)hw_listfmt_severity(HW_LISTFMT_CSV, m[i].category, m, n);
            }
        }
        free(m);
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.on_record = fz_record;
    o.on_issue = fz_issue;
    o.ctx = &f;
    o.skip_invalid = (mode & 8) != 0;
    /* Small limits so that the fuzzer reaches them. */
    o.max_field_len = 1024;
    o.max_record_len = 4096;
    o.max_depth = 16;
    if (mode & 16) {
        static const struct hw_listfmt_column cols[] = {{"md5", "h"}, {"category", "c"}};
        o.columns = cols;
        o.n_columns = 2;
    }
    if (hw_listfmt_parser_new((enum hw_listfmt_format)(mode & 7), &o, &p, err, sizeof(err)) !=
        HW_OK) {
        return 0;
    }
    /* Chunk sizes 1..8 or everything at once: records split across feeds. */
    chunk = (mode >> 5) == 0 ? size : (size_t)(mode >> 5);
    while (off < size && rc == HW_OK) {
        size_t n = chunk < size - off ? chunk : size - off;
        rc = hw_listfmt_feed(p, data + off, n, err, sizeof(err));
        off += n;
    }
    if (rc == HW_OK) {
        rc = hw_listfmt_finish(p, err, sizeof(err));
    }
    if (rc != HW_OK && err[0] == '\0') {
        abort(); /* every failure carries a reason */
    }
    hw_listfmt_parser_free(p);
    return 0;
}
