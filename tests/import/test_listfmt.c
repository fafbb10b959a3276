/* test_listfmt.c: the list-format parsers on synthetic sample files, field by field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_listfmt.h"

#include "hw_test.h"

#define MAXREC 64

struct collect {
    size_t n;
    struct hw_listfmt_record r[MAXREC];
    size_t n_issues;
    uint64_t issue_line[MAXREC];
    uint64_t issue_record[MAXREC];
};

static int on_record(void *ctx, const struct hw_listfmt_record *rec)
{
    struct collect *c = ctx;

    if (c->n < MAXREC) {
        c->r[c->n] = *rec;
    }
    c->n++;
    return HW_OK;
}

static int on_issue(void *ctx, const struct hw_listfmt_issue *is)
{
    struct collect *c = ctx;

    if (c->n_issues < MAXREC) {
        c->issue_line[c->n_issues] = is->line;
        c->issue_record[c->n_issues] = is->record;
    }
    c->n_issues++;
    CHECK(is->reason != NULL && is->reason[0] != '\0');
    return HW_OK;
}

static unsigned char *read_all(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    unsigned char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/lists/%s", HW_TEST_DATA, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

struct result {
    int rc;
    uint64_t line, record;
    struct hw_listfmt_stats st;
    char err[256];
};

/* Parse a buffer with the given options, fed in chunks of `chunk` bytes (0: all at once). */
static struct result parse_buf(enum hw_listfmt_format fmt, struct hw_listfmt_options *o,
                               const unsigned char *d, size_t len, size_t chunk, struct collect *c)
{
    struct result res;
    hw_listfmt_parser *p = NULL;
    size_t off = 0;

    memset(&res, 0, sizeof(res));
    memset(c, 0, sizeof(*c));
    o->on_record = on_record;
    o->on_issue = on_issue;
    o->ctx = c;
    res.rc = hw_listfmt_parser_new(fmt, o, &p, res.err, sizeof(res.err));
    if (res.rc != HW_OK) {
        return res;
    }
    while (off < len && res.rc == HW_OK) {
        size_t n = chunk == 0 || chunk > len - off ? len - off : chunk;
        res.rc = hw_listfmt_feed(p, d + off, n, res.err, sizeof(res.err));
        off += n;
    }
    if (res.rc == HW_OK) {
        res.rc = hw_listfmt_finish(p, res.err, sizeof(res.err));
    }
    hw_listfmt_position(p, &res.line, &res.record);
    hw_listfmt_stats(p, &res.st);
    hw_listfmt_parser_free(p);
    return res;
}

static struct result parse_file(enum hw_listfmt_format fmt, struct hw_listfmt_options *o,
                                const char *name, size_t chunk, struct collect *c)
{
    size_t len;
    unsigned char *d = read_all(name, &len);
    struct result r = parse_buf(fmt, o, d, len, chunk, c);

    free(d);
    return r;
}

static void hex_to(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static int hash_is_hex(const struct hw_entry *e, const char *hex)
{
    uint8_t b[64];
    size_t n = strlen(hex) / 2;

    hex_to(hex, b, n);
    return memcmp(e->hash, b, n) == 0;
}

/* PDQ: the hex is the big-endian number; the stored bytes are little-endian words q[0..3]. */
static int hash_is_pdq(const struct hw_entry *e, const char *hex)
{
    uint8_t b[32];

    hex_to(hex, b, 32);
    for (int i = 0; i < 32; i++) {
        if (e->hash[i] != b[31 - i]) {
            return 0;
        }
    }
    return 1;
}

/* The synthetic PhotoDNA of the sample files: byte i is (7i + 3) mod 256. */
static int hash_is_pdna1(const struct hw_entry *e)
{
    for (int i = 0; i < 144; i++) {
        if (e->hash[i] != (uint8_t)((i * 7 + 3) % 256)) {
            return 0;
        }
    }
    return 1;
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static const char *PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
static const char *PDQ_B = "9def0b7dafa86a1c90f2abd78e79ceb25ec3d1a4b3d4bc7a4354baf7717ea038";

static const size_t chunks[] = {0, 1, 7, 4096};

static void test_ncmec(void)
{
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;

        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_NCMEC_XML, &o, "ncmec.xml", chunks[k], &c);
        CHECK(res.rc == HW_OK);
        CHECK(c.n == 8);
        if (c.n != 8) {
            fprintf(stderr, "ncmec chunk %zu: %zu records, rc %d %s\n", chunks[k], c.n, res.rc,
                    res.err);
            continue;
        }
        for (int i = 0; i < 4; i++) {
            CHECK(c.r[i].op == HW_LISTFMT_UPSERT);
            CHECK(strcmp(c.r[i].entry.entry_id, "42-image1") == 0);
            CHECK(strcmp(c.r[i].entry.member_id, "42") == 0);
            CHECK(strcmp(c.r[i].entry.category, "A1") == 0);
            CHECK(c.r[i].entry.severity == HW_SEV_CRITICAL);
            CHECK(c.r[i].entry.created == utc(2017, 10, 24, 15, 0, 0));
            CHECK(c.r[i].line == 4 && c.r[i].record == 1);
            CHECK(c.r[i].quality == -1);
        }
        CHECK(c.r[0].entry.type == HW_HASH_MD5 &&
              hash_is_hex(&c.r[0].entry, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"));
        CHECK(c.r[1].entry.type == HW_HASH_SHA1 &&
              hash_is_hex(&c.r[1].entry, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"));
        CHECK(c.r[2].entry.type == HW_HASH_PHOTODNA && hash_is_pdna1(&c.r[2].entry));
        CHECK(c.r[3].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[3].entry, PDQ_A));
        /* CDATA text; a timestamp with an offset. */
        CHECK(c.r[4].entry.type == HW_HASH_MD5 &&
              hash_is_hex(&c.r[4].entry, "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"));
        CHECK(strcmp(c.r[4].entry.entry_id, "43-image2") == 0);
        CHECK(c.r[4].entry.severity == HW_SEV_MEDIUM);
        CHECK(c.r[4].entry.created == utc(2018, 1, 2, 2, 4, 5));
        CHECK(c.r[4].record == 2 && c.r[4].line == 21);
        /* Tombstones: by "<member>-<id>", no hash. */
        CHECK(c.r[5].op == HW_LISTFMT_DELETE && c.r[5].entry.type == HW_HASH_NONE);
        CHECK(strcmp(c.r[5].entry.entry_id, "43-image4") == 0);
        CHECK(c.r[5].record == 3);
        /* A video's md5 is a video MD5; its TMK link is counted as unsupported. */
        CHECK(c.r[6].op == HW_LISTFMT_UPSERT && c.r[6].entry.type == HW_HASH_VIDEO_MD5);
        CHECK(hash_is_hex(&c.r[6].entry, "facefacefacefacefacefacefaceface"));
        CHECK(strcmp(c.r[6].entry.entry_id, "101-largetags") == 0);
        CHECK(c.r[6].entry.severity == HW_SEV_HIGH);
        CHECK(c.r[7].op == HW_LISTFMT_DELETE && strcmp(c.r[7].entry.entry_id, "101-vid9") == 0);
        CHECK(res.st.records == 5 && res.st.upserts == 6 && res.st.deletes == 2);
        CHECK(res.st.unsupported == 1 && res.st.invalid == 0);
    }
}

static void test_ncmec_bad(void)
{
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;

    memset(&o, 0, sizeof(o));
    res = parse_file(HW_LISTFMT_NCMEC_XML, &o, "ncmec-bad-last.xml", 0, &c);
    CHECK(res.rc == HW_EFORMAT);
    CHECK(res.line == 36 && res.record == 5);
    CHECK(strstr(res.err, "MD5") != NULL && strstr(res.err, "not-a-hash") == NULL);

    memset(&o, 0, sizeof(o));
    o.skip_invalid = 1;
    res = parse_file(HW_LISTFMT_NCMEC_XML, &o, "ncmec-bad-last.xml", 3, &c);
    CHECK(res.rc == HW_OK);
    CHECK(res.st.invalid == 1 && c.n_issues == 1);
    CHECK(c.issue_line[0] == 36 && c.issue_record[0] == 5);
    CHECK(c.n == 8);
}

static void test_xml_hostile(void)
{
    const char *files[] = {"xxe.xml", "billion-laughs.xml"};

    for (int i = 0; i < 2; i++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;

        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_NCMEC_XML, &o, files[i], 0, &c);
        CHECK(res.rc == HW_EUNSUPPORTED);
        CHECK(c.n == 0);
        CHECK(strstr(res.err, "DOCTYPE") != NULL);
        CHECK(res.line == 2); /* where the DOCTYPE is */
        /* Skipping invalid records does not let a DTD through. */
        memset(&o, 0, sizeof(o));
        o.skip_invalid = 1;
        res = parse_file(HW_LISTFMT_NCMEC_XML, &o, files[i], 5, &c);
        CHECK(res.rc == HW_EUNSUPPORTED && c.n == 0);
    }
    {
        /* An undeclared entity without any DTD is a well-formedness error, not a lookup. */
        static const char doc[] =
            "<queryResult><images><image><member id=\"1\"/><id>&ext;</id></image></images>"
            "</queryResult>";
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(HW_LISTFMT_NCMEC_XML, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
        CHECK(res.rc == HW_EFORMAT && c.n == 0);
    }
}

static void test_vics(void)
{
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;

        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_VICS_JSON, &o, "vics-media.json", chunks[k], &c);
        CHECK(res.rc == HW_OK);
        CHECK(c.n == 7);
        if (c.n != 7) {
            fprintf(stderr, "vics chunk %zu: %zu records rc %d %s\n", chunks[k], c.n, res.rc,
                    res.err);
            continue;
        }
        /* 1001: MD5, SHA1 upper-case in the file; PhotoDNA in both places counted once. */
        CHECK(c.r[0].entry.type == HW_HASH_MD5 &&
              hash_is_hex(&c.r[0].entry, "5f06b85e1619b2b8b56f7b758a0a310a"));
        CHECK(c.r[1].entry.type == HW_HASH_SHA1 &&
              hash_is_hex(&c.r[1].entry, "385fcd6760f6432fcdc51c5f995ea61a31d5bbab"));
        CHECK(c.r[2].entry.type == HW_HASH_PHOTODNA && hash_is_pdna1(&c.r[2].entry));
        for (int i = 0; i < 3; i++) {
            CHECK(strcmp(c.r[i].entry.entry_id, "1001") == 0);
            CHECK(strcmp(c.r[i].entry.category, "1") == 0);
            CHECK(c.r[i].entry.severity == HW_SEV_CRITICAL);
            CHECK(c.r[i].entry.created == utc(2025, 1, 2, 3, 4, 5));
            CHECK(c.r[i].record == 1 && c.r[i].line == 3);
        }
        /* 1002: null category; PhotoDNA as hex and a PDQ in AlternativeHashes. */
        CHECK(c.r[3].entry.type == HW_HASH_MD5 && strcmp(c.r[3].entry.entry_id, "1002") == 0);
        CHECK(c.r[3].entry.category[0] == '\0' && c.r[3].entry.severity == HW_SEV_UNKNOWN);
        CHECK(c.r[4].entry.type == HW_HASH_PHOTODNA && hash_is_pdna1(&c.r[4].entry));
        CHECK(c.r[5].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[5].entry, PDQ_B));
        /* 1003: category 0 (non-pertinent) ignored; 1004: the empty-file MD5 dropped. */
        CHECK(c.r[6].entry.type == HW_HASH_SHA1 && strcmp(c.r[6].entry.entry_id, "1004") == 0);
        CHECK(c.r[6].entry.severity == HW_SEV_MEDIUM && c.r[6].record == 4);
        CHECK(res.st.records == 4 && res.st.ignored == 1 && res.st.empty_file == 1);
    }
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;

        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_VICS_JSON, &o, "vics-cases.json", chunks[k], &c);
        CHECK(res.rc == HW_OK);
        CHECK(c.n == 4);
        if (c.n != 4) {
            continue;
        }
        CHECK(c.r[0].entry.type == HW_HASH_MD5 && strcmp(c.r[0].entry.entry_id, "2001") == 0);
        CHECK(c.r[0].entry.severity == HW_SEV_CRITICAL && c.r[0].record == 1);
        CHECK(c.r[1].entry.type == HW_HASH_MD5 && strcmp(c.r[1].entry.entry_id, "2002") == 0);
        CHECK(c.r[2].entry.type == HW_HASH_PHOTODNA && hash_is_pdna1(&c.r[2].entry));
        CHECK(c.r[2].entry.severity == HW_SEV_MEDIUM && c.r[2].record == 2);
        CHECK(c.r[3].entry.type == HW_HASH_SHA1 && c.r[3].entry.severity == HW_SEV_LOW);
        CHECK(c.r[3].record == 3);
        CHECK(res.st.records == 3);
    }
}

/* A VICS file as Windows tools write it: byte-order mark, CR LF. */
static void test_vics_bom_crlf(void)
{
    size_t len, n = 3;
    unsigned char *d = read_all("vics-media.json", &len);
    unsigned char *w = malloc(2 * len + 3);

    memcpy(w, "\xEF\xBB\xBF", 3);
    for (size_t i = 0; i < len; i++) {
        if (d[i] == '\n') {
            w[n++] = '\r';
        }
        w[n++] = d[i];
    }
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(HW_LISTFMT_VICS_JSON, &o, w, n, chunks[k], &c);
        CHECK(res.rc == HW_OK && c.n == 7);
        CHECK(c.r[6].record == 4 && c.r[6].line == 16);
    }
    CHECK(hw_listfmt_detect(w, n) == HW_LISTFMT_VICS_JSON);
    free(w);
    free(d);
}

static void test_stopncii(void)
{
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;

    memset(&o, 0, sizeof(o));
    res = parse_file(HW_LISTFMT_STOPNCII_JSON, &o, "stopncii.json", 5, &c);
    CHECK(res.rc == HW_OK);
    CHECK(c.n == 3);
    if (c.n != 3) {
        return;
    }
    CHECK(c.r[0].op == HW_LISTFMT_UPSERT && c.r[0].entry.type == HW_HASH_PDQ);
    CHECK(hash_is_pdq(&c.r[0].entry, PDQ_B));
    CHECK(c.r[0].entry.created == 1625175071 && c.r[0].entry.severity == HW_SEV_HIGH);
    CHECK(c.r[1].op == HW_LISTFMT_UPSERT && c.r[1].entry.type == HW_HASH_VIDEO_MD5);
    /* Withdrawn: removed from the bank, by type and hash. */
    CHECK(c.r[2].op == HW_LISTFMT_DELETE && c.r[2].entry.type == HW_HASH_PDQ);
    CHECK(hash_is_pdq(&c.r[2].entry, PDQ_A) && c.r[2].record == 3);
    CHECK(res.st.unsupported == 1 && res.st.records == 4 && res.st.deletes == 1);
}

static void test_te(void)
{
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;

    memset(&o, 0, sizeof(o));
    res = parse_file(HW_LISTFMT_TE_CSV, &o, "te.csv", 3, &c);
    CHECK(res.rc == HW_OK && c.n == 2);
    if (c.n == 2) {
        CHECK(c.r[0].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[0].entry, PDQ_A));
        CHECK(strcmp(c.r[0].entry.member_id, "Sample Signals") == 0);
        CHECK(strcmp(c.r[0].entry.category, "INVESTIGATION_SEED") == 0);
        CHECK(c.r[0].entry.severity == HW_SEV_MEDIUM && c.r[0].line == 2);
        CHECK(c.r[1].entry.type == HW_HASH_VIDEO_MD5 &&
              hash_is_hex(&c.r[1].entry, "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"));
        CHECK(c.r[1].entry.severity == HW_SEV_HIGH && c.r[1].record == 2);
    }
    CHECK(res.st.unsupported == 1 && res.st.ignored == 1 && res.st.records == 4);

    memset(&o, 0, sizeof(o));
    res = parse_file(HW_LISTFMT_TE_LINES, &o, "te-lines.txt", 0, &c);
    CHECK(res.rc == HW_OK && c.n == 2);
    if (c.n == 2) {
        CHECK(c.r[0].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[0].entry, PDQ_A));
        CHECK(c.r[1].entry.type == HW_HASH_VIDEO_MD5 && c.r[1].line == 4);
        CHECK(c.r[1].record == 2);
    }
    CHECK(res.st.unsupported == 1 && res.st.records == 3);
}

static void test_te_bad(void)
{
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;

    memset(&o, 0, sizeof(o));
    res = parse_file(HW_LISTFMT_TE_CSV, &o, "te-bad.csv", 0, &c);
    CHECK(res.rc == HW_EFORMAT);
    CHECK(res.line == 4 && res.record == 3);
    CHECK(strstr(res.err, "PDQ is not 64 hex digits") != NULL);
    CHECK(c.n == 2);

    memset(&o, 0, sizeof(o));
    o.skip_invalid = 1;
    res = parse_file(HW_LISTFMT_TE_CSV, &o, "te-bad.csv", 1, &c);
    CHECK(res.rc == HW_OK && c.n == 3 && res.st.invalid == 1);
    CHECK(c.n_issues == 1 && c.issue_line[0] == 4 && c.issue_record[0] == 3);
}

static void test_pdq_csv(void)
{
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;

    memset(&o, 0, sizeof(o));
    res = parse_file(HW_LISTFMT_PDQ_CSV, &o, "pdq.csv", 2, &c);
    CHECK(res.rc == HW_OK && c.n == 3);
    if (c.n == 3) {
        CHECK(c.r[0].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[0].entry, PDQ_A));
        CHECK(c.r[0].quality == 100 && strcmp(c.r[0].entry.entry_id, "aaa-orig.jpg") == 0);
        CHECK(c.r[1].quality == 49 && strcmp(c.r[1].entry.entry_id, "dir/with,comma.jpg") == 0);
        CHECK(hash_is_pdq(&c.r[1].entry, PDQ_B));
        CHECK(c.r[2].quality == 90 && strcmp(c.r[2].entry.entry_id, "detail.png") == 0);
        CHECK(hash_is_pdq(&c.r[2].entry, PDQ_B) && c.r[2].line == 3);
    }
}

/* CR LF line ends, split across feeds at every position, in the line readers. */
static void test_crlf_lines(void)
{
    char doc[512];
    size_t len;

    len = (size_t)snprintf(doc, sizeof(doc), "%s,100,a.jpg\r\n\r\n%s,90,b.jpg\r\n", PDQ_A, PDQ_B);
    for (size_t chunk = 1; chunk <= 3; chunk++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(HW_LISTFMT_PDQ_CSV, &o, (const unsigned char *)doc, len, chunk, &c);
        CHECK(res.rc == HW_OK && c.n == 2);
        CHECK(strcmp(c.r[0].entry.entry_id, "a.jpg") == 0);
        CHECK(strcmp(c.r[1].entry.entry_id, "b.jpg") == 0 && c.r[1].line == 3);
        CHECK(c.r[1].record == 2 && c.r[1].quality == 90);
    }
    len = (size_t)snprintf(doc, sizeof(doc), "\xEF\xBB\xBFpdq %s\r\nmd5 %.32s\r\n", PDQ_A, PDQ_B);
    for (size_t chunk = 1; chunk <= 3; chunk++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(HW_LISTFMT_TE_LINES, &o, (const unsigned char *)doc, len, chunk, &c);
        CHECK(res.rc == HW_OK && c.n == 2);
        CHECK(c.r[0].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[0].entry, PDQ_A));
        CHECK(c.r[1].entry.type == HW_HASH_MD5 && hash_is_hex(&c.r[1].entry, "9def0b7dafa86a1c"));
    }
}

static void test_csv(void)
{
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;

        /* BOM, CRLF, quoted fields, SHA-256 (not PDQ) in a 64-hex column named SHA-256. */
        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_CSV, &o, "iwf-style.csv", chunks[k], &c);
        CHECK(res.rc == HW_OK && c.n == 6);
        if (c.n != 6) {
            fprintf(stderr, "csv chunk %zu: %zu rc %d %s\n", chunks[k], c.n, res.rc, res.err);
            continue;
        }
        CHECK(c.r[0].entry.type == HW_HASH_MD5 && strcmp(c.r[0].entry.entry_id, "iwf-1") == 0);
        CHECK(c.r[1].entry.type == HW_HASH_SHA256 && hash_is_hex(&c.r[1].entry, PDQ_A));
        CHECK(c.r[2].entry.type == HW_HASH_PHOTODNA && hash_is_pdna1(&c.r[2].entry));
        CHECK(c.r[0].entry.severity == HW_SEV_CRITICAL && c.r[0].line == 2);
        CHECK(c.r[3].entry.type == HW_HASH_MD5 && strcmp(c.r[3].entry.entry_id, "iwf-2") == 0);
        CHECK(hash_is_hex(&c.r[3].entry, "bbbb2222bbbb2222bbbb2222bbbb2222"));
        CHECK(c.r[4].entry.type == HW_HASH_SHA1 && c.r[4].entry.severity == HW_SEV_HIGH);
        CHECK(c.r[5].entry.type == HW_HASH_PHOTODNA && hash_is_pdna1(&c.r[5].entry));
        CHECK(c.r[5].entry.severity == HW_SEV_MEDIUM && c.r[5].line == 4);
        CHECK(c.r[5].record == 3 && strcmp(c.r[5].entry.category, "C") == 0);
    }
    {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;

        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_CSV, &o, "icse.csv", 0, &c);
        CHECK(res.rc == HW_OK && c.n == 1);
        CHECK(c.r[0].entry.type == HW_HASH_MD5 && strcmp(c.r[0].entry.entry_id, "icse-1") == 0);
    }
    {
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        struct hw_listfmt_column cols[] = {
            {"md5", "hash value"}, {"category", "Grade"}, {"id", "Ref"}};

        memset(&o, 0, sizeof(o));
        o.columns = cols;
        o.n_columns = 3;
        res = parse_file(HW_LISTFMT_CSV, &o, "custom.tsv", 1, &c);
        CHECK(res.rc == HW_OK && c.n == 2);
        CHECK(c.r[0].entry.severity == HW_SEV_CRITICAL &&
              strcmp(c.r[0].entry.entry_id, "ref-1") == 0);
        CHECK(c.r[1].line == 4 && c.r[1].record == 2);
        CHECK(hash_is_hex(&c.r[1].entry, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
        /* A role that does not exist is refused when the parser is made. */
        {
            struct hw_listfmt_column badcol[] = {{"colour", "Grade"}};
            hw_listfmt_parser *p = NULL;
            char err[128];
            memset(&o, 0, sizeof(o));
            o.on_record = on_record;
            o.columns = badcol;
            o.n_columns = 1;
            CHECK(hw_listfmt_parser_new(HW_LISTFMT_CSV, &o, &p, err, sizeof(err)) == HW_EINVAL);
            CHECK(p == NULL && strstr(err, "colour") != NULL);
        }
        /* Without the mapping there is no hash column. */
        memset(&o, 0, sizeof(o));
        res = parse_file(HW_LISTFMT_CSV, &o, "custom.tsv", 0, &c);
        CHECK(res.rc == HW_EFORMAT && c.n == 0);
    }
}

/* PDQ and SHA-256 are both 64 hex digits: the column decides, never the length. */
static void test_pdq_vs_sha256(void)
{
    char doc[512];
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;

    snprintf(doc, sizeof(doc), "PDQ,SHA256\n%s,%s\n", PDQ_A, PDQ_A);
    memset(&o, 0, sizeof(o));
    res = parse_buf(HW_LISTFMT_CSV, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
    CHECK(res.rc == HW_OK && c.n == 2);
    CHECK(c.r[0].entry.type == HW_HASH_PDQ && hash_is_pdq(&c.r[0].entry, PDQ_A));
    CHECK(c.r[1].entry.type == HW_HASH_SHA256 && hash_is_hex(&c.r[1].entry, PDQ_A));

    snprintf(doc, sizeof(doc), "sha256 %s\npdq %s\n", PDQ_B, PDQ_B);
    res = parse_buf(HW_LISTFMT_TE_LINES, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
    CHECK(res.rc == HW_OK && c.n == 2);
    CHECK(c.r[0].entry.type == HW_HASH_SHA256 && c.r[1].entry.type == HW_HASH_PDQ);

    /* A bare 64-hex line is not guessed... */
    snprintf(doc, sizeof(doc), "%s\n", PDQ_B);
    res = parse_buf(HW_LISTFMT_TE_LINES, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
    CHECK(res.rc == HW_EFORMAT && c.n == 0);
    /* ...unless the caller names the type. */
    o.default_type = HW_HASH_SHA256;
    res = parse_buf(HW_LISTFMT_TE_LINES, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
    CHECK(res.rc == HW_OK && c.n == 1 && c.r[0].entry.type == HW_HASH_SHA256);

    /* A 64-hex value in an MD5 column is an error, not a re-typed hash. */
    snprintf(doc, sizeof(doc), "md5\n%s\n", PDQ_B);
    memset(&o, 0, sizeof(o));
    res = parse_buf(HW_LISTFMT_CSV, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
    CHECK(res.rc == HW_EFORMAT && res.line == 2 && c.n == 0);
}

static void test_detect(void)
{
    static const struct {
        const char *file;
        enum hw_listfmt_format fmt;
    } cases[] = {
        {"ncmec.xml", HW_LISTFMT_NCMEC_XML},
        {"vics-media.json", HW_LISTFMT_VICS_JSON},
        {"vics-cases.json", HW_LISTFMT_VICS_JSON},
        {"stopncii.json", HW_LISTFMT_STOPNCII_JSON},
        {"te.csv", HW_LISTFMT_TE_CSV},
        {"te-lines.txt", HW_LISTFMT_TE_LINES},
        {"pdq.csv", HW_LISTFMT_PDQ_CSV},
        {"iwf-style.csv", HW_LISTFMT_CSV},
        {"icse.csv", HW_LISTFMT_CSV},
        {"custom.tsv", HW_LISTFMT_UNKNOWN},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        unsigned char *d = read_all(cases[i].file, &len);
        enum hw_listfmt_format f = hw_listfmt_detect(d, len);
        if (f != cases[i].fmt) {
            fprintf(stderr, "detect %s: got %s\n", cases[i].file, hw_listfmt_format_name(f));
        }
        CHECK(f == cases[i].fmt);
        free(d);
    }
    CHECK(hw_listfmt_detect("{\"a\": 1}", 8) == HW_LISTFMT_UNKNOWN);
    CHECK(hw_listfmt_detect("", 0) == HW_LISTFMT_UNKNOWN);
    CHECK(hw_listfmt_detect("hello world\n", 12) == HW_LISTFMT_UNKNOWN);
    for (int f = 1; f < HW_LISTFMT_COUNT; f++) {
        CHECK((int)hw_listfmt_format_parse(hw_listfmt_format_name((enum hw_listfmt_format)f)) == f);
    }
    CHECK(hw_listfmt_format_parse("nope") == HW_LISTFMT_UNKNOWN);
}

static void test_limits(void)
{
    size_t big = 100 * 1024;
    unsigned char *d = malloc(big + 64);
    struct hw_listfmt_options o;
    struct collect c;
    struct result res;
    size_t n;

    /* A huge CSV field. */
    n = (size_t)sprintf((char *)d, "md5,category\n");
    memset(d + n, 'a', big);
    n += big;
    memset(&o, 0, sizeof(o));
    o.skip_invalid = 1;
    res = parse_buf(HW_LISTFMT_CSV, &o, d, n, 4096, &c);
    CHECK(res.rc == HW_ETOOBIG && c.n == 0);
    /* A huge JSON string. */
    n = (size_t)sprintf((char *)d, "{\"value\":[{\"MD5\":\"");
    memset(d + n, 'a', big);
    n += big;
    res = parse_buf(HW_LISTFMT_VICS_JSON, &o, d, n, 4096, &c);
    CHECK(res.rc == HW_ETOOBIG);
    /* A huge XML text. */
    n = (size_t)sprintf((char *)d, "<queryResult><images><image><id>");
    memset(d + n, 'a', big);
    n += big;
    res = parse_buf(HW_LISTFMT_NCMEC_XML, &o, d, n, 4096, &c);
    CHECK(res.rc == HW_ETOOBIG);
    /* Deep nesting. */
    n = (size_t)sprintf((char *)d, "{\"value\":");
    for (int i = 0; i < 200; i++) {
        d[n++] = '[';
    }
    res = parse_buf(HW_LISTFMT_VICS_JSON, &o, d, n, 0, &c);
    CHECK(res.rc == HW_ETOOBIG);
    n = (size_t)sprintf((char *)d, "<queryResult>");
    for (int i = 0; i < 200; i++) {
        n += (size_t)sprintf((char *)d + n, "<a>");
    }
    res = parse_buf(HW_LISTFMT_NCMEC_XML, &o, d, n, 0, &c);
    CHECK(res.rc == HW_ETOOBIG);
    /* A record over max_record_len (many small fields). */
    n = (size_t)sprintf((char *)d, "md5,x\n");
    for (size_t i = 0; i < 40000; i++) {
        d[n++] = 'b';
        d[n++] = ',';
    }
    o.max_record_len = 1024;
    res = parse_buf(HW_LISTFMT_CSV, &o, d, n, 0, &c);
    CHECK(res.rc == HW_ETOOBIG);
    free(d);
}

static void test_truncated(void)
{
    const char *files[] = {"ncmec.xml", "vics-media.json", "stopncii.json"};
    const enum hw_listfmt_format fmts[] = {HW_LISTFMT_NCMEC_XML, HW_LISTFMT_VICS_JSON,
                                           HW_LISTFMT_STOPNCII_JSON};

    for (int i = 0; i < 3; i++) {
        size_t len;
        unsigned char *d = read_all(files[i], &len);
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(fmts[i], &o, d, len / 2, 0, &c);
        CHECK(res.rc == HW_ETRUNCATED);
        free(d);
    }
    {
        static const char doc[] = "md5,category\n\"abc";
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(HW_LISTFMT_CSV, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
        CHECK(res.rc == HW_ETRUNCATED);
    }
    {
        /* Not the format's document at all. */
        static const char doc[] = "{\"foo\": [1, 2]}";
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        res = parse_buf(HW_LISTFMT_VICS_JSON, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
        CHECK(res.rc == HW_EFORMAT);
        res =
            parse_buf(HW_LISTFMT_STOPNCII_JSON, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
        CHECK(res.rc == HW_EFORMAT);
        res = parse_buf(HW_LISTFMT_TE_CSV, &o, (const unsigned char *)doc, strlen(doc), 0, &c);
        CHECK(res.rc == HW_EFORMAT);
    }
}

static void test_catmap(void)
{
    static const char text[] = "# comment\nA1 = low\n\nB2,ignore\n*\thigh\n";
    struct hw_listfmt_catmap_entry *m = NULL;
    size_t n = 0;
    char err[128];
    int rc = hw_listfmt_catmap_parse(text, strlen(text), &m, &n, err, sizeof(err));

    CHECK(rc == HW_OK && n == 3);
    CHECK(hw_listfmt_severity(HW_LISTFMT_NCMEC_XML, "A1", m, n) == HW_SEV_LOW);
    CHECK(hw_listfmt_severity(HW_LISTFMT_NCMEC_XML, "b2", m, n) == HW_LISTFMT_SEV_IGNORE);
    CHECK(hw_listfmt_severity(HW_LISTFMT_NCMEC_XML, "A2", m, n) == HW_SEV_HIGH);
    CHECK(hw_listfmt_severity(HW_LISTFMT_NCMEC_XML, "Z9", m, n) == HW_SEV_HIGH);
    CHECK(hw_listfmt_severity(HW_LISTFMT_NCMEC_XML, "Z9", NULL, 0) == HW_SEV_UNKNOWN);
    CHECK(hw_listfmt_severity(HW_LISTFMT_VICS_JSON, "0", NULL, 0) == HW_LISTFMT_SEV_IGNORE);
    CHECK(hw_listfmt_severity(HW_LISTFMT_CSV, "a", NULL, 0) == HW_SEV_CRITICAL);
    free(m);
    rc = hw_listfmt_catmap_parse("A=worst\n", 8, &m, &n, err, sizeof(err));
    CHECK(rc == HW_EFORMAT && m == NULL && strstr(err, "line 1") != NULL);
    {
        /* The override reaches the records. */
        struct hw_listfmt_catmap_entry rules[1] = {{"A1", HW_SEV_LOW}};
        struct hw_listfmt_options o;
        struct collect c;
        struct result res;
        memset(&o, 0, sizeof(o));
        o.catmap = rules;
        o.n_catmap = 1;
        res = parse_file(HW_LISTFMT_NCMEC_XML, &o, "ncmec.xml", 0, &c);
        CHECK(res.rc == HW_OK && c.n == 8 && c.r[0].entry.severity == HW_SEV_LOW);
        CHECK(c.r[4].entry.severity == HW_SEV_MEDIUM);
    }
}

static void test_photodna_forms(void)
{
    uint8_t a[144], b[144];
    char dec[1024];
    size_t n = 0;

    for (int i = 0; i < 144; i++) {
        n += (size_t)sprintf(dec + n, "%s%d", i ? ", " : "", (i * 7 + 3) % 256);
    }
    CHECK(hw_listfmt_photodna_decode(dec, n, a) == HW_OK);
    for (int i = 0; i < 144; i++) {
        CHECK(a[i] == (uint8_t)((i * 7 + 3) % 256));
    }
    for (int i = 0; i < 144; i++) {
        sprintf(dec + 2 * i, "%02X", a[i]);
    }
    CHECK(hw_listfmt_photodna_decode(dec, 288, b) == HW_OK && memcmp(a, b, 144) == 0);
    CHECK(hw_listfmt_photodna_decode(dec, 287, b) == HW_EFORMAT);
    CHECK(hw_listfmt_photodna_decode("1,2,3", 5, b) == HW_EFORMAT);
    CHECK(hw_listfmt_photodna_decode("256", 3, b) == HW_EFORMAT);
}

int main(void)
{
    test_ncmec();
    test_ncmec_bad();
    test_xml_hostile();
    test_vics();
    test_vics_bom_crlf();
    test_stopncii();
    test_te();
    test_te_bad();
    test_pdq_csv();
    test_crlf_lines();
    test_csv();
    test_pdq_vs_sha256();
    test_detect();
    test_limits();
    test_truncated();
    test_catmap();
    test_photodna_forms();
    if (failures > 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_listfmt: all checks passed\n");
    return 0;
}
