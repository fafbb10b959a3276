/* fuzz_listfmt.c: fuzz target for the list parsers (first byte: format, mode, chunking). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_listfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    uint64_t n;
    uint64_t sum; /* FNV-1a over every delivered record */
};

static void fz_mix(struct fz *f, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        f->sum = (f->sum ^ b[i]) * 0x100000001b3ULL;
    }
}

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
    fz_mix(f, &r->op, sizeof(r->op));
    fz_mix(f, &r->entry.type, sizeof(r->entry.type));
    fz_mix(f, r->entry.hash, sizeof(r->entry.hash));
    fz_mix(f, r->entry.entry_id, strlen(r->entry.entry_id));
    fz_mix(f, r->entry.member_id, strlen(r->entry.member_id));
    fz_mix(f, r->entry.category, strlen(r->entry.category));
    fz_mix(f, &r->entry.severity, sizeof(r->entry.severity));
    fz_mix(f, &r->entry.created, sizeof(r->entry.created));
    fz_mix(f, &r->record, sizeof(r->record));
    fz_mix(f, &r->quality, sizeof(r->quality));
    return HW_OK;
}

static int fz_issue(void *ctx, const struct hw_listfmt_issue *is)
{
    if (is->reason == NULL || is->err == HW_OK) {
        abort();
    }
    return HW_OK;
}

/* Parse data fed in chunks of `chunk` bytes; *f receives the records' digest. */
static int fz_parse(uint8_t mode, const uint8_t *data, size_t size, size_t chunk, struct fz *f)
{
    struct hw_listfmt_options o;
    hw_listfmt_parser *p = NULL;
    char err[128];
    size_t off = 0;
    int rc = HW_OK;

    memset(&o, 0, sizeof(o));
    o.on_record = fz_record;
    o.on_issue = fz_issue;
    o.ctx = f;
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
    f->n = 0;
    f->sum = 0xcbf29ce484222325ULL;
    err[0] = '\0';
    rc = hw_listfmt_parser_new((enum hw_listfmt_format)(mode & 7), &o, &p, err, sizeof(err));
    if (rc != HW_OK) {
        return rc;
    }
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
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    uint8_t mode;

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
    {
        /* The same bytes whole and in small chunks (1..7, from the mode byte) must give the
         * same outcome: feeding is invisible. A successful parse gives the same records; a
         * failed one the same code, except that libxml2's push parser may find an error at
         * the end of the document (truncated) or earlier (malformed) depending on the cut. */
        struct fz whole, split;
        size_t chunk = (mode >> 5) == 0 ? 1 : (size_t)(mode >> 5);
        int rc1 = fz_parse(mode, data, size, size, &whole);
        int rc2 = fz_parse(mode, data, size, chunk, &split);
        if ((rc1 == HW_OK) != (rc2 == HW_OK)) {
            abort();
        }
        if (rc1 == HW_OK && (whole.n != split.n || whole.sum != split.sum)) {
            abort();
        }
        if ((mode & 7) != HW_LISTFMT_NCMEC_XML &&
            (rc1 != rc2 || whole.n != split.n || whole.sum != split.sum)) {
            abort();
        }
    }
    return 0;
}
