/* listfmt.c: the list parser object, format names and detection, hash normalisation, severity. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw_error.h"
#include "listfmt_int.h"

static const char *const lf_names[HW_LISTFMT_COUNT] = {
    "unknown", "ncmec-xml", "vics-json", "stopncii-json", "te-csv", "te-lines", "pdq-csv", "csv",
};

const char *hw_listfmt_format_name(enum hw_listfmt_format f)
{
    if ((int)f <= 0 || (int)f >= HW_LISTFMT_COUNT) {
        return "unknown";
    }
    return lf_names[f];
}

enum hw_listfmt_format hw_listfmt_format_parse(const char *s)
{
    if (s == NULL) {
        return HW_LISTFMT_UNKNOWN;
    }
    for (int i = 1; i < HW_LISTFMT_COUNT; i++) {
        if (lf_eq(s, strlen(s), lf_names[i])) {
            return (enum hw_listfmt_format)i;
        }
    }
    return HW_LISTFMT_UNKNOWN;
}

int lf_eq(const char *s, size_t len, const char *word)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (word[i] == '\0' || tolower((unsigned char)s[i]) != tolower((unsigned char)word[i])) {
            return 0;
        }
    }
    return word[i] == '\0';
}

/* Lower-case s without '-', '_', ' ' and '.' into out (cap bytes); 0 if it does not fit. */
static int lf_squash(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-' || c == '_' || c == ' ' || c == '.') {
            continue;
        }
        if (n + 1 >= cap) {
            return 0;
        }
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    return 1;
}

enum hw_hash_type lf_type_from_name(const char *s, size_t len, int *known)
{
    static const struct {
        const char *name;
        enum hw_hash_type type;
    } names[] = {
        /* pytx signal names, TE indicator types, NCMEC fingerprint elements, StopNCII
         * signalType values, VICS/IPED column names (shared/FORMATS.md sections 2-6). */
        {"pdq", HW_HASH_PDQ},
        {"pdq256", HW_HASH_PDQ},
        {"pdqhash", HW_HASH_PDQ},
        {"hashpdq", HW_HASH_PDQ},
        {"imagepdq", HW_HASH_PDQ},
        {"md5", HW_HASH_MD5},
        {"hashmd5", HW_HASH_MD5},
        {"videomd5", HW_HASH_VIDEO_MD5},
        {"hashvideomd5", HW_HASH_VIDEO_MD5},
        {"sha1", HW_HASH_SHA1},
        {"hashsha1", HW_HASH_SHA1},
        {"sha256", HW_HASH_SHA256},
        {"hashsha256", HW_HASH_SHA256},
        {"videosha256", HW_HASH_SHA256},
        {"hashvideosha256", HW_HASH_SHA256},
        {"photodna", HW_HASH_PHOTODNA},
        {"pdna", HW_HASH_PHOTODNA},
        {"hashphotodna", HW_HASH_PHOTODNA},
        /* Hash or signal types that exist in the feeds but that the store does not hold. */
        {"url", HW_HASH_NONE},
        {"urlmd5", HW_HASH_NONE},
        {"rawtext", HW_HASH_NONE},
        {"text", HW_HASH_NONE},
        {"trendquery", HW_HASH_NONE},
        {"vpdq", HW_HASH_NONE},
        {"pdqocr", HW_HASH_NONE},
        {"texttlsh", HW_HASH_NONE},
        {"tmkpdqf", HW_HASH_NONE},
        {"tmk", HW_HASH_NONE},
        {"hashtmk", HW_HASH_NONE},
        {"videotmk", HW_HASH_NONE},
        {"netclean", HW_HASH_NONE},
        {"videntifier", HW_HASH_NONE},
        {"ssvhpdna", HW_HASH_NONE},
        {"ssvhsaferhash", HW_HASH_NONE},
        {"tmksaferhash", HW_HASH_NONE},
        {"sha512", HW_HASH_NONE},
        {"edonkey", HW_HASH_NONE},
        {"md4", HW_HASH_NONE},
        {"crc32", HW_HASH_NONE},
        {"unknown", HW_HASH_NONE},
    };
    char buf[32];

    *known = 0;
    if (!lf_squash(s, len, buf, sizeof(buf))) {
        return HW_HASH_NONE;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(buf, names[i].name) == 0) {
            *known = 1;
            return names[i].type;
        }
    }
    return HW_HASH_NONE;
}

/* ---- hash text forms ---- */

/* Hex digit values, -1 for any other byte. */
static const signed char lf_hexdig[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  -1, -1, -1, -1, -1, -1, -1, 10, 11, 12, 13, 14, 15, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int lf_hexval(unsigned char c)
{
    return lf_hexdig[c];
}

static int lf_hex(const char *s, size_t len, uint8_t *out, size_t n)
{
    int bad = 0;

    if (len != 2 * n) {
        return HW_EFORMAT;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = lf_hexdig[(unsigned char)s[2 * i]], lo = lf_hexdig[(unsigned char)s[2 * i + 1]];
        bad |= hi | lo; /* negative if either is not a hex digit */
        out[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
    }
    return bad < 0 ? HW_EFORMAT : HW_OK;
}

static void lf_trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1])) {
        (*len)--;
    }
}

static int lf_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

int hw_listfmt_photodna_decode(const char *s, size_t len, uint8_t out[144])
{
    if (s == NULL || out == NULL) {
        return HW_EINVAL;
    }
    lf_trim(&s, &len);
    if (memchr(s, ',', len) != NULL) {
        /* ThreatExchange HASH_PHOTODNA: 144 comma-separated decimal values. */
        size_t i = 0, n = 0;
        while (i < len) {
            unsigned v = 0, digits = 0;
            while (i < len && (s[i] == ' ' || s[i] == '\t')) {
                i++;
            }
            while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
                v = v * 10 + (unsigned)(s[i] - '0');
                digits++;
                i++;
            }
            while (i < len && (s[i] == ' ' || s[i] == '\t')) {
                i++;
            }
            if (digits == 0 || v > 255 || n >= 144) {
                return HW_EFORMAT;
            }
            out[n++] = (uint8_t)v;
            if (i < len) {
                if (s[i] != ',') {
                    return HW_EFORMAT;
                }
                i++;
                if (i == len) {
                    return HW_EFORMAT; /* a trailing comma */
                }
            }
        }
        return n == 144 ? HW_OK : HW_EFORMAT;
    }
    if (len == 288) {
        return lf_hex(s, len, out, 144);
    }
    if (len == 192) {
        /* 144 bytes are exactly 192 base64 characters, with no padding. */
        for (size_t i = 0; i < 48; i++) {
            int v[4];
            for (int k = 0; k < 4; k++) {
                v[k] = lf_b64val((unsigned char)s[4 * i + (size_t)k]);
                if (v[k] < 0) {
                    return HW_EFORMAT;
                }
            }
            out[3 * i] = (uint8_t)(v[0] << 2 | v[1] >> 4);
            out[3 * i + 1] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
            out[3 * i + 2] = (uint8_t)((v[2] & 3) << 6 | v[3]);
        }
        return HW_OK;
    }
    return HW_EFORMAT;
}

static size_t lf_type_len(enum hw_hash_type t)
{
    switch (t) {
    case HW_HASH_PDQ:
    case HW_HASH_SHA256:
        return 32;
    case HW_HASH_MD5:
    case HW_HASH_VIDEO_MD5:
        return 16;
    case HW_HASH_SHA1:
        return 20;
    case HW_HASH_PHOTODNA:
        return 144;
    default:
        return 0;
    }
}

static const char *lf_type_label(enum hw_hash_type t)
{
    switch (t) {
    case HW_HASH_PDQ:
        return "PDQ";
    case HW_HASH_MD5:
        return "MD5";
    case HW_HASH_VIDEO_MD5:
        return "video MD5";
    case HW_HASH_SHA1:
        return "SHA-1";
    case HW_HASH_SHA256:
        return "SHA-256";
    case HW_HASH_PHOTODNA:
        return "PhotoDNA";
    default:
        return "hash";
    }
}

/* Digests of zero bytes (RFC 1321, FIPS 180 test vectors). IPED drops them (FORMATS.md 6). */
static const uint8_t lf_empty_md5[16] = {0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
                                         0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e};
static const uint8_t lf_empty_sha1[20] = {0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b,
                                          0x0d, 0x32, 0x55, 0xbf, 0xef, 0x95, 0x60,
                                          0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09};
static const uint8_t lf_empty_sha256[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

void lf_rec_reset(struct lf_rec *r, enum hw_listfmt_op op)
{
    r->op = op;
    r->n_hash = 0;
    r->n_unsupported = 0;
    r->entry_id[0] = '\0';
    r->member_id[0] = '\0';
    r->category[0] = '\0';
    r->created = 0;
    r->quality = -1;
    r->bad = 0;
    r->reason[0] = '\0';
}

void lf_rec_bad(struct lf_rec *r, int err, const char *fmt, ...)
{
    va_list ap;

    if (r->bad) {
        return;
    }
    r->bad = err;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
}

void lf_rec_add_hash(struct lf_rec *r, enum hw_hash_type t, const char *s, size_t len,
                     const char *what)
{
    struct lf_hash *h;
    uint8_t tmp[32];
    size_t n = lf_type_len(t);

    if (t == HW_HASH_NONE) {
        r->n_unsupported++;
        return;
    }
    lf_trim(&s, &len);
    if (len == 0) {
        return; /* an empty cell: no hash of that type in this record */
    }
    if (r->n_hash >= LF_MAX_HASHES) {
        lf_rec_bad(r, HW_ETOOBIG, "more than %d hashes in one record", LF_MAX_HASHES);
        return;
    }
    h = &r->h[r->n_hash];
    memset(h, 0, sizeof(*h));
    h->type = t;
    if (t == HW_HASH_PHOTODNA) {
        if (hw_listfmt_photodna_decode(s, len, h->hash) != HW_OK) {
            lf_rec_bad(r, HW_EFORMAT,
                       "%s: PhotoDNA is not 192 base64, 288 hex or 144 decimal values", what);
            return;
        }
    } else if (t == HW_HASH_PDQ) {
        if (lf_hex(s, len, tmp, 32) != HW_OK) {
            lf_rec_bad(r, HW_EFORMAT, "%s: PDQ is not 64 hex digits", what);
            return;
        }
        /* The hex form is the big-endian 256-bit number (q[3] first); the stored form is
         * struct hw_pdq's words q[0..3], each little-endian: the same bytes reversed. */
        for (size_t i = 0; i < 32; i++) {
            h->hash[i] = tmp[31 - i];
        }
    } else {
        if (lf_hex(s, len, h->hash, n) != HW_OK) {
            lf_rec_bad(r, HW_EFORMAT, "%s: %s is not %zu hex digits", what, lf_type_label(t),
                       2 * n);
            return;
        }
        if (((t == HW_HASH_MD5 || t == HW_HASH_VIDEO_MD5) &&
             memcmp(h->hash, lf_empty_md5, 16) == 0) ||
            (t == HW_HASH_SHA1 && memcmp(h->hash, lf_empty_sha1, 20) == 0) ||
            (t == HW_HASH_SHA256 && memcmp(h->hash, lf_empty_sha256, 32) == 0)) {
            h->empty_file = 1;
        }
    }
    /* The same hash twice in one record (VICS PhotoDNA and AlternativeHashes) is one. */
    for (size_t i = 0; i < r->n_hash; i++) {
        if (r->h[i].type == t && memcmp(r->h[i].hash, h->hash, lf_type_len(t)) == 0) {
            return;
        }
    }
    r->n_hash++;
}

void lf_copy_field(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n;

    lf_trim(&s, &len);
    n = len < cap - 1 ? len : cap - 1;
    if (n < len) {
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--; /* do not cut a UTF-8 sequence */
        }
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[n] = '\0';
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t lf_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int lf_digits(const char *s, size_t len, size_t *i, unsigned n, unsigned *out)
{
    unsigned v = 0;

    for (unsigned k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') {
            return 0;
        }
        v = v * 10 + (unsigned)(s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return 1;
}

int lf_parse_time(const char *s, size_t len, int64_t *out)
{
    unsigned y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0;
    size_t i = 0;
    int64_t off = 0;

    lf_trim(&s, &len);
    if (len == 0) {
        return HW_EFORMAT;
    }
    if (len <= 12 && memchr(s, '-', len) == NULL) {
        int64_t v = 0;
        for (i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return HW_EFORMAT;
            }
            v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return HW_OK;
    }
    if (!lf_digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' ||
        !lf_digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-' ||
        !lf_digits(s, len, &i, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
        return HW_EFORMAT;
    }
    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (!lf_digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
            !lf_digits(s, len, &i, 2, &mi) || h > 23 || mi > 59) {
            return HW_EFORMAT;
        }
        if (i < len && s[i] == ':') {
            i++;
            if (!lf_digits(s, len, &i, 2, &se) || se > 60) {
                return HW_EFORMAT;
            }
            if (i < len && (s[i] == '.' || s[i] == ',')) {
                i++;
                if (i >= len || s[i] < '0' || s[i] > '9') {
                    return HW_EFORMAT;
                }
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    i++;
                }
            }
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int neg = s[i] == '-';
            i++;
            if (!lf_digits(s, len, &i, 2, &oh)) {
                return HW_EFORMAT;
            }
            if (i < len && s[i] == ':') {
                i++;
            }
            if (i < len && !lf_digits(s, len, &i, 2, &om)) {
                return HW_EFORMAT;
            }
            if (oh > 23 || om > 59) {
                return HW_EFORMAT;
            }
            off = (int64_t)(oh * 3600 + om * 60) * (neg ? -1 : 1);
        }
    }
    if (i != len) {
        return HW_EFORMAT;
    }
    *out = lf_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return HW_OK;
}

/* ---- severity ---- */

struct lf_sev_rule {
    const char *cat;
    int sev;
};

/* UK grading (FORMATS.md 1.2), NCMEC classifications (2.4: A = prepubescent, B = pubescent,
 * 1 = sex act, 2 = lascivious exhibition; the common reading, not verified). */
static const struct lf_sev_rule lf_sev_generic[] = {
    {"A", HW_SEV_CRITICAL},
    {"B", HW_SEV_HIGH},
    {"C", HW_SEV_MEDIUM},
    {"Category A", HW_SEV_CRITICAL},
    {"Category B", HW_SEV_HIGH},
    {"Category C", HW_SEV_MEDIUM},
    {"A1", HW_SEV_CRITICAL},
    {"A2", HW_SEV_HIGH},
    {"B1", HW_SEV_HIGH},
    {"B2", HW_SEV_MEDIUM},
    {NULL, 0},
};
/* VICS US categories (FORMATS.md 4.3, from Autopsy). 0 = non-pertinent: a known-good image,
 * never a block-list entry. */
static const struct lf_sev_rule lf_sev_vics[] = {
    {"0", HW_LISTFMT_SEV_IGNORE}, {"1", HW_SEV_CRITICAL}, {"2", HW_SEV_MEDIUM},
    {"3", HW_SEV_MEDIUM},         {"4", HW_SEV_LOW},      {NULL, 0},
};
/* pytx SignalOpinionCategory; NEGATIVE_CLASS means "not the harm": never a match. */
static const struct lf_sev_rule lf_sev_te[] = {
    {"POSITIVE_CLASS", HW_SEV_HIGH},
    {"INVESTIGATION_SEED", HW_SEV_MEDIUM},
    {"NEGATIVE_CLASS", HW_LISTFMT_SEV_IGNORE},
    {NULL, 0},
};
static const struct lf_sev_rule lf_sev_stopncii[] = {
    {"NCII", HW_SEV_HIGH},
    {NULL, 0},
};

static int lf_sev_lookup(const struct lf_sev_rule *t, const char *cat, int *sev)
{
    for (; t->cat != NULL; t++) {
        if (lf_eq(cat, strlen(cat), t->cat)) {
            *sev = t->sev;
            return 1;
        }
    }
    return 0;
}

int hw_listfmt_severity(enum hw_listfmt_format fmt, const char *category,
                        const struct hw_listfmt_catmap_entry *catmap, size_t n_catmap)
{
    int sev = HW_SEV_UNKNOWN;
    const char *cat = category != NULL ? category : "";

    for (size_t i = 0; catmap != NULL && i < n_catmap; i++) {
        if (strcmp(catmap[i].category, "*") != 0 && lf_eq(cat, strlen(cat), catmap[i].category)) {
            return catmap[i].severity;
        }
    }
    if (cat[0] != '\0') {
        switch (fmt) {
        case HW_LISTFMT_VICS_JSON:
            if (lf_sev_lookup(lf_sev_vics, cat, &sev)) {
                return sev;
            }
            break;
        case HW_LISTFMT_TE_CSV:
        case HW_LISTFMT_TE_LINES:
            if (lf_sev_lookup(lf_sev_te, cat, &sev)) {
                return sev;
            }
            break;
        case HW_LISTFMT_STOPNCII_JSON:
            if (lf_sev_lookup(lf_sev_stopncii, cat, &sev)) {
                return sev;
            }
            break;
        case HW_LISTFMT_NCMEC_XML:
        case HW_LISTFMT_CSV:
        case HW_LISTFMT_PDQ_CSV:
            if (lf_sev_lookup(lf_sev_generic, cat, &sev)) {
                return sev;
            }
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; catmap != NULL && i < n_catmap; i++) {
        if (strcmp(catmap[i].category, "*") == 0) {
            return catmap[i].severity;
        }
    }
    return HW_SEV_UNKNOWN;
}

static int lf_sev_parse(const char *s, size_t len, int *out)
{
    static const char *const names[] = {"unknown", "low", "medium", "high", "critical"};

    if (lf_eq(s, len, "ignore")) {
        *out = HW_LISTFMT_SEV_IGNORE;
        return 1;
    }
    for (int i = 0; i < 5; i++) {
        if (lf_eq(s, len, names[i]) || (len == 1 && s[0] == '0' + i)) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

int hw_listfmt_catmap_parse(const char *text, size_t len, struct hw_listfmt_catmap_entry **out,
                            size_t *n, char *errbuf, size_t errbuf_len)
{
    struct hw_listfmt_catmap_entry *rules = NULL;
    size_t n_rules = 0, cap = 0, pos = 0, line = 0;
    int rc = HW_OK;

    if (out == NULL || n == NULL || (text == NULL && len > 0)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "missing argument");
    }
    *out = NULL;
    *n = 0;
    /* A category map is a handful of lines; 1 MiB is far beyond any real one. */
    if (len > 1024 * 1024) {
        return hw_seterr(HW_ETOOBIG, errbuf, errbuf_len, "category map larger than 1 MiB");
    }
    while (pos < len) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos), *sep = NULL;
        size_t ll = nl != NULL ? (size_t)(nl - l) : len - pos, kl, vl;
        const char *k, *v;
        int sev;

        pos += ll + (nl != NULL);
        line++;
        lf_trim(&l, &ll);
        if (ll == 0 || l[0] == '#') {
            continue;
        }
        for (size_t i = 0; i < ll; i++) {
            if (l[i] == '=' || l[i] == ',' || l[i] == '\t') {
                sep = l + i;
                break;
            }
        }
        if (sep == NULL) {
            rc = hw_seterr(HW_EFORMAT, errbuf, errbuf_len, "line %zu: expected CATEGORY=SEVERITY",
                           line);
            goto done;
        }
        k = l;
        kl = (size_t)(sep - l);
        v = sep + 1;
        vl = ll - kl - 1;
        lf_trim(&k, &kl);
        lf_trim(&v, &vl);
        if (kl == 0 || kl >= HW_CATEGORY_MAX) {
            rc = hw_seterr(HW_EFORMAT, errbuf, errbuf_len,
                           "line %zu: category empty or longer than %d bytes", line,
                           HW_CATEGORY_MAX - 1);
            goto done;
        }
        if (!lf_sev_parse(v, vl, &sev)) {
            rc = hw_seterr(HW_EFORMAT, errbuf, errbuf_len,
                           "line %zu: severity must be unknown, low, medium, high, critical, "
                           "0..4 or ignore",
                           line);
            goto done;
        }
        if (n_rules == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            struct hw_listfmt_catmap_entry *nr = realloc(rules, ncap * sizeof(*rules));
            if (nr == NULL) {
                rc = hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "out of memory");
                goto done;
            }
            rules = nr;
            cap = ncap;
        }
        memcpy(rules[n_rules].category, k, kl);
        rules[n_rules].category[kl] = '\0';
        rules[n_rules].severity = sev;
        n_rules++;
    }
    *out = rules;
    *n = n_rules;
    rules = NULL;
done:
    free(rules);
    return rc;
}

/* ---- the parser object ---- */

int lf_fail(hw_listfmt_parser *p, int err, const char *fmt, ...)
{
    va_list ap;

    if (p->failed) {
        return p->failed;
    }
    p->failed = err;
    va_start(ap, fmt);
    vsnprintf(p->failmsg, sizeof(p->failmsg), fmt, ap);
    va_end(ap);
    return err;
}

int lf_invalid(hw_listfmt_parser *p, int err, const char *reason)
{
    struct hw_listfmt_issue is;

    if (!p->o.skip_invalid) {
        return lf_fail(p, err, "%s", reason);
    }
    p->st.invalid++;
    if (p->o.on_issue == NULL) {
        return HW_OK;
    }
    is.err = err;
    is.line = p->rec_line;
    is.record = p->rec_no;
    is.reason = reason;
    err = p->o.on_issue(p->o.ctx, &is);
    if (err != HW_OK) {
        return lf_fail(p, err, "stopped by the caller");
    }
    return HW_OK;
}

int lf_rec_emit(hw_listfmt_parser *p, struct lf_rec *r)
{
    struct hw_listfmt_record out;
    int sev, rc;

    p->st.records++;
    if (r->bad) {
        return lf_invalid(p, r->bad, r->reason);
    }
    p->st.unsupported += r->n_unsupported;
    if (r->n_hash == 0) {
        if (r->op == HW_LISTFMT_DELETE && r->entry_id[0] != '\0') {
            /* A tombstone keyed by entry id (NCMEC deletedImage/deletedVideo). */
        } else if (r->n_unsupported > 0) {
            return HW_OK; /* only hash types the store does not hold: counted */
        } else {
            return lf_invalid(p, HW_EFORMAT, "no hash in this record");
        }
    }
    sev = hw_listfmt_severity(p->fmt, r->category, p->catmap, p->o.n_catmap);
    if (sev == HW_LISTFMT_SEV_IGNORE && r->op == HW_LISTFMT_UPSERT) {
        p->st.ignored++;
        return HW_OK;
    }
    memset(&out, 0, sizeof(out));
    out.op = r->op;
    out.line = p->rec_line;
    out.record = p->rec_no;
    out.quality = r->quality;
    memcpy(out.entry.entry_id, r->entry_id, sizeof(out.entry.entry_id));
    memcpy(out.entry.member_id, r->member_id, sizeof(out.entry.member_id));
    memcpy(out.entry.category, r->category, sizeof(out.entry.category));
    out.entry.severity = sev < 0 ? HW_SEV_UNKNOWN : sev;
    out.entry.created = r->created;
    if (r->n_hash == 0) {
        out.entry.type = HW_HASH_NONE;
        p->st.deletes++;
        rc = p->o.on_record(p->o.ctx, &out);
        return rc == HW_OK ? HW_OK : lf_fail(p, rc, "stopped by the caller");
    }
    for (size_t i = 0; i < r->n_hash; i++) {
        if (r->h[i].empty_file) {
            p->st.empty_file++;
            continue;
        }
        out.entry.type = r->h[i].type;
        memset(out.entry.hash, 0, sizeof(out.entry.hash));
        memcpy(out.entry.hash, r->h[i].hash, lf_type_len(r->h[i].type));
        if (r->op == HW_LISTFMT_DELETE) {
            p->st.deletes++;
        } else {
            p->st.upserts++;
        }
        rc = p->o.on_record(p->o.ctx, &out);
        if (rc != HW_OK) {
            return lf_fail(p, rc, "stopped by the caller");
        }
    }
    return HW_OK;
}

static int lf_copy_options(hw_listfmt_parser *p, const struct hw_listfmt_options *o)
{
    size_t total = 0, off = 0;

    p->o = *o;
    p->o.columns = NULL;
    p->o.catmap = NULL;
    if (o->n_catmap > 0) {
        if (o->catmap == NULL || o->n_catmap > 100000) {
            return HW_EINVAL;
        }
        p->catmap = malloc(o->n_catmap * sizeof(*p->catmap));
        if (p->catmap == NULL) {
            return HW_ENOMEM;
        }
        memcpy(p->catmap, o->catmap, o->n_catmap * sizeof(*p->catmap));
        for (size_t i = 0; i < o->n_catmap; i++) {
            p->catmap[i].category[HW_CATEGORY_MAX - 1] = '\0';
        }
        p->o.catmap = p->catmap;
    }
    if (o->n_columns > 0) {
        if (o->columns == NULL || o->n_columns > 1000) {
            return HW_EINVAL;
        }
        for (size_t i = 0; i < o->n_columns; i++) {
            if (o->columns[i].role == NULL || o->columns[i].name == NULL) {
                return HW_EINVAL;
            }
            total += strlen(o->columns[i].role) + strlen(o->columns[i].name) + 2;
        }
        p->cols = malloc(o->n_columns * sizeof(*p->cols));
        p->col_strings = malloc(total);
        if (p->cols == NULL || p->col_strings == NULL) {
            return HW_ENOMEM;
        }
        for (size_t i = 0; i < o->n_columns; i++) {
            size_t a = strlen(o->columns[i].role) + 1, b = strlen(o->columns[i].name) + 1;
            memcpy(p->col_strings + off, o->columns[i].role, a);
            p->cols[i].role = p->col_strings + off;
            off += a;
            memcpy(p->col_strings + off, o->columns[i].name, b);
            p->cols[i].name = p->col_strings + off;
            off += b;
        }
        p->o.columns = p->cols;
    }
    if (p->o.max_field_len == 0) {
        p->o.max_field_len = LF_DEFAULT_MAX_FIELD;
    }
    if (p->o.max_record_len == 0) {
        p->o.max_record_len = LF_DEFAULT_MAX_RECORD;
    }
    if (p->o.max_depth == 0) {
        p->o.max_depth = LF_DEFAULT_MAX_DEPTH;
    }
    if (p->o.max_field_len > LF_MAX_FIELD_CAP || p->o.max_record_len > LF_MAX_FIELD_CAP ||
        p->o.max_depth > LF_MAX_DEPTH_CAP) {
        return HW_EINVAL;
    }
    return HW_OK;
}

int hw_listfmt_parser_new(enum hw_listfmt_format fmt, const struct hw_listfmt_options *opts,
                          hw_listfmt_parser **out, char *errbuf, size_t errbuf_len)
{
    hw_listfmt_parser *p = NULL;
    int rc;

    if (out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "missing out pointer");
    }
    *out = NULL;
    if (opts == NULL || opts->on_record == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "on_record is required");
    }
    if ((int)fmt <= 0 || (int)fmt >= HW_LISTFMT_COUNT) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "unknown list format");
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return hw_seterr(HW_ENOMEM, errbuf, errbuf_len, "out of memory");
    }
    p->fmt = fmt;
    p->line = 1;
    p->rec_line = 1;
    rc = lf_copy_options(p, opts);
    if (rc != HW_OK) {
        hw_seterr(rc, errbuf, errbuf_len,
                  rc == HW_ENOMEM ? "out of memory" : "invalid options (limits or columns)");
        goto done;
    }
    switch (fmt) {
    case HW_LISTFMT_NCMEC_XML:
        rc = lf_xml_init(p);
        break;
    case HW_LISTFMT_VICS_JSON:
    case HW_LISTFMT_STOPNCII_JSON:
        rc = lf_json_init(p);
        break;
    default:
        rc = lf_csv_init(p);
        break;
    }
    if (rc != HW_OK) {
        hw_seterr(rc, errbuf, errbuf_len, "%s", p->failed ? p->failmsg : hw_strerror(rc));
        goto done;
    }
    *out = p;
    p = NULL;
done:
    hw_listfmt_parser_free(p);
    return rc;
}

int hw_listfmt_feed(hw_listfmt_parser *p, const void *data, size_t len, char *errbuf,
                    size_t errbuf_len)
{
    int rc;

    if (p == NULL || (data == NULL && len > 0)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "missing argument");
    }
    if (p->failed) {
        return hw_seterr(p->failed, errbuf, errbuf_len, "%s", p->failmsg);
    }
    if (len == 0) {
        return HW_OK;
    }
    rc = p->impl->feed(p, data, len);
    if (rc != HW_OK) {
        lf_fail(p, rc, "%s", hw_strerror(rc));
        return hw_seterr(p->failed, errbuf, errbuf_len, "%s", p->failmsg);
    }
    return HW_OK;
}

int hw_listfmt_finish(hw_listfmt_parser *p, char *errbuf, size_t errbuf_len)
{
    int rc;

    if (p == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "missing argument");
    }
    if (p->failed) {
        return hw_seterr(p->failed, errbuf, errbuf_len, "%s", p->failmsg);
    }
    rc = p->impl->finish(p);
    if (rc != HW_OK) {
        lf_fail(p, rc, "%s", hw_strerror(rc));
        return hw_seterr(p->failed, errbuf, errbuf_len, "%s", p->failmsg);
    }
    /* Finishing twice is an error: the parser is done. */
    lf_fail(p, HW_EINVAL, "the parser has already finished");
    return HW_OK;
}

void hw_listfmt_position(const hw_listfmt_parser *p, uint64_t *line, uint64_t *record)
{
    if (line != NULL) {
        *line = p != NULL ? p->rec_line : 0;
    }
    if (record != NULL) {
        *record = p != NULL ? p->rec_no : 0;
    }
}

void hw_listfmt_stats(const hw_listfmt_parser *p, struct hw_listfmt_stats *out)
{
    if (out == NULL) {
        return;
    }
    if (p == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = p->st;
}

void hw_listfmt_parser_free(hw_listfmt_parser *p)
{
    if (p == NULL) {
        return;
    }
    if (p->impl != NULL && p->impl->free_state != NULL) {
        p->impl->free_state(p->state);
    }
    free(p->catmap);
    free(p->cols);
    free(p->col_strings);
    free(p);
}

/* ---- detection ---- */

static const char *lf_memmem(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);

    if (nl > hl) {
        return NULL;
    }
    for (size_t i = 0; i + nl <= hl; i++) {
        if (lf_eq(h + i, nl, n)) {
            return h + i;
        }
    }
    return NULL;
}

static int lf_is_hexrun(const char *s, size_t len, size_t n)
{
    if (len < n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (lf_hexval((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

enum hw_listfmt_format hw_listfmt_detect(const void *data, size_t len)
{
    const char *s = data, *nl;
    size_t ll;
    int known;

    if (s == NULL) {
        return HW_LISTFMT_UNKNOWN;
    }
    if (len > 65536) {
        len = 65536;
    }
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        len -= 3;
    }
    while (len > 0 && isspace((unsigned char)s[0])) {
        s++;
        len--;
    }
    if (len == 0) {
        return HW_LISTFMT_UNKNOWN;
    }
    if (s[0] == '<') {
        if (lf_memmem(s, len, "<queryResult") != NULL ||
            lf_memmem(s, len, "hashsharing.ncmec.org") != NULL) {
            return HW_LISTFMT_NCMEC_XML;
        }
        return HW_LISTFMT_UNKNOWN;
    }
    if (s[0] == '{') {
        int vics = lf_memmem(s, len, "\"odata.metadata\"") != NULL ||
                   lf_memmem(s, len, "\"@odata.context\"") != NULL;
        int ncii = lf_memmem(s, len, "\"hashRecords\"") != NULL ||
                   lf_memmem(s, len, "\"nextSetTimestamp\"") != NULL;
        if (vics && !ncii) {
            return HW_LISTFMT_VICS_JSON;
        }
        if (ncii && !vics) {
            return HW_LISTFMT_STOPNCII_JSON;
        }
        return HW_LISTFMT_UNKNOWN;
    }
    nl = memchr(s, '\n', len);
    ll = nl != NULL ? (size_t)(nl - s) : len;
    if (ll > 0 && s[ll - 1] == '\r') {
        ll--;
    }
    if (lf_memmem(s, ll, "signal_type,signal_str") == s) {
        return HW_LISTFMT_TE_CSV;
    }
    if ((lf_is_hexrun(s, ll, 64) && ll > 65 && s[64] == ',' && s[65] >= '0' && s[65] <= '9') ||
        lf_memmem(s, ll, "hash=") == s) {
        return HW_LISTFMT_PDQ_CSV;
    }
    {
        const char *sp = memchr(s, ' ', ll);
        if (sp != NULL && sp > s) {
            lf_type_from_name(s, (size_t)(sp - s), &known);
            if (known && memchr(s, ',', ll) == NULL && memchr(s, '\t', ll) == NULL) {
                return HW_LISTFMT_TE_LINES;
            }
        }
    }
    /* A header naming hash columns: split on the likely delimiters and look for a type. */
    {
        size_t start = 0;
        for (size_t i = 0; i <= ll; i++) {
            if (i == ll || s[i] == ',' || s[i] == '\t' || s[i] == ';' || s[i] == '|') {
                const char *c = s + start;
                size_t cl = i - start;
                lf_trim(&c, &cl);
                if (cl >= 2 && c[0] == '"' && c[cl - 1] == '"') {
                    c++;
                    cl -= 2;
                }
                if (lf_type_from_name(c, cl, &known) != HW_HASH_NONE) {
                    return HW_LISTFMT_CSV;
                }
                start = i + 1;
            }
        }
    }
    return HW_LISTFMT_UNKNOWN;
}
