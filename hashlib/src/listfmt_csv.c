/* listfmt_csv.c: streaming RFC 4180 CSV/TSV and line readers: csv, te-csv, te-lines, pdq-csv. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hw_error.h"
#include "listfmt_int.h"

/* Fields kept per row; more makes the row invalid (TE has 5 columns, ICSE 12). */
#define LF_CSV_MAX_FIELDS 256

enum lf_csv_state { CS_FSTART, CS_UNQUOTED, CS_QUOTED, CS_QUOTE_SEEN };

enum lf_role {
    ROLE_NONE = 0,
    ROLE_HASH,
    ROLE_CATEGORY,
    ROLE_ID,
    ROLE_MEMBER,
    ROLE_CREATED,
    ROLE_QUALITY,
    ROLE_SIGNAL_TYPE, /* te-csv */
    ROLE_SIGNAL_STR,  /* te-csv */
    ROLE_COLLAB,      /* te-csv */
};

struct lf_csv {
    char delim;      /* 0 while the header's delimiter is not yet known (csv) */
    int quoting;     /* RFC 4180 quotes (csv, te-csv); pdq-csv and te-lines take lines raw */
    int whole_line;  /* te-lines: the whole line is one field */
    int started;     /* bytes seen (BOM handling) */
    int bom;         /* BOM bytes matched so far */
    int header_done; /* csv/te-csv: the header row has been read */
    enum lf_csv_state st;
    int in_record; /* bytes of the current record seen */
    char *buf;     /* the current row's field bytes, at most max_record_len */
    size_t len;
    size_t fend[LF_CSV_MAX_FIELDS]; /* end offset of each field in buf */
    int fquoted[LF_CSV_MAX_FIELDS];
    size_t nf;
    size_t fstart_len; /* len at the start of the current field */
    int too_many;
    int bad_quote;
    /* csv/te-csv: the role and hash type of each header column */
    size_t n_cols;
    unsigned char role[LF_CSV_MAX_FIELDS];
    enum hw_hash_type type[LF_CSV_MAX_FIELDS];
    char colname[LF_CSV_MAX_FIELDS][24]; /* for messages: a column name, truncated */
    /* csv with the delimiter unknown: the first line, held until its end */
    char *pending;
    size_t pending_len;
    struct lf_rec rec;
};

static void lf_csv_free(void *state)
{
    struct lf_csv *c = state;

    if (c == NULL) {
        return;
    }
    free(c->buf);
    free(c->pending);
    free(c);
}

static const char *lf_field(struct lf_csv *c, size_t i, size_t *len)
{
    size_t start = i == 0 ? 0 : c->fend[i - 1];

    *len = c->fend[i] - start;
    return c->buf + start;
}

static void lf_trim2(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1])) {
        (*len)--;
    }
}

/* Lower-case, without '-', '_', ' ' and '.', for header-name comparison. */
static void lf_colkey(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    lf_trim2(&s, &len);
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '-' || ch == '_' || ch == ' ' || ch == '.') {
            continue;
        }
        out[n++] = (char)tolower(ch);
    }
    out[n] = '\0';
}

static enum lf_role lf_role_from_name(const char *key)
{
    static const struct {
        const char *name;
        enum lf_role role;
    } names[] = {
        {"category", ROLE_CATEGORY},
        {"classification", ROLE_CATEGORY},
        {"grade", ROLE_CATEGORY},
        {"categoryname", ROLE_CATEGORY},
        {"id", ROLE_ID},
        {"entryid", ROLE_ID},
        {"mediaid", ROLE_ID},
        {"imageid", ROLE_ID},
        {"hashid", ROLE_ID},
        {"recordid", ROLE_ID},
        {"member", ROLE_MEMBER},
        {"memberid", ROLE_MEMBER},
        {"esp", ROLE_MEMBER},
        {"espid", ROLE_MEMBER},
        {"created", ROLE_CREATED},
        {"timestamp", ROLE_CREATED},
        {"dateadded", ROLE_CREATED},
        {"added", ROLE_CREATED},
        {"dateupdated", ROLE_CREATED},
        {"quality", ROLE_QUALITY},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(key, names[i].name) == 0) {
            return names[i].role;
        }
    }
    return ROLE_NONE;
}

/* An explicit column role ("md5", "category", "id"...): role and hash type; 0 if unknown. */
static int lf_explicit_role(const char *role, enum lf_role *r, enum hw_hash_type *t)
{
    char key[32];
    int known;

    *t = lf_type_from_name(role, strlen(role), &known);
    if (known) {
        *r = ROLE_HASH;
        return *t != HW_HASH_NONE;
    }
    lf_colkey(role, strlen(role), key, sizeof(key));
    *r = lf_role_from_name(key);
    return *r != ROLE_NONE && *r != ROLE_SIGNAL_TYPE;
}

static int lf_csv_header(hw_listfmt_parser *p, struct lf_csv *c)
{
    int any_hash = 0, known;

    c->n_cols = c->nf;
    for (size_t i = 0; i < c->nf; i++) {
        size_t l;
        const char *f = lf_field(c, i, &l);
        char key[64];
        enum hw_hash_type t;

        lf_colkey(f, l, key, sizeof(key));
        lf_copy_field(c->colname[i], sizeof(c->colname[i]), f, l);
        c->role[i] = ROLE_NONE;
        c->type[i] = HW_HASH_NONE;
        if (p->fmt == HW_LISTFMT_TE_CSV) {
            if (strcmp(key, "signaltype") == 0) {
                c->role[i] = ROLE_SIGNAL_TYPE;
            } else if (strcmp(key, "signalstr") == 0) {
                c->role[i] = ROLE_SIGNAL_STR;
            } else if (strcmp(key, "collab") == 0) {
                c->role[i] = ROLE_COLLAB;
            } else if (strcmp(key, "category") == 0) {
                c->role[i] = ROLE_CATEGORY;
            }
            continue;
        }
        t = lf_type_from_name(f, l, &known);
        if (known) {
            c->role[i] = ROLE_HASH;
            c->type[i] = t;
            any_hash |= t != HW_HASH_NONE;
        } else {
            c->role[i] = (unsigned char)lf_role_from_name(key);
        }
    }
    if (p->fmt == HW_LISTFMT_TE_CSV) {
        int have_t = 0, have_s = 0;
        for (size_t i = 0; i < c->nf; i++) {
            have_t |= c->role[i] == ROLE_SIGNAL_TYPE;
            have_s |= c->role[i] == ROLE_SIGNAL_STR;
        }
        if (!have_t || !have_s) {
            return lf_fail(p, HW_EFORMAT, "the header lacks signal_type and signal_str columns");
        }
        return HW_OK;
    }
    /* Explicit mappings (--column type=NAME) override the names recognised above. */
    for (size_t k = 0; k < p->o.n_columns; k++) {
        enum lf_role r;
        enum hw_hash_type t;
        int found = 0;
        if (!lf_explicit_role(p->o.columns[k].role, &r, &t)) {
            return lf_fail(p, HW_EINVAL, "unknown column role '%.32s'", p->o.columns[k].role);
        }
        for (size_t i = 0; i < c->nf; i++) {
            size_t l;
            const char *f = lf_field(c, i, &l);
            lf_trim2(&f, &l);
            if (lf_eq(f, l, p->o.columns[k].name)) {
                c->role[i] = (unsigned char)r;
                c->type[i] = t;
                found = 1;
            }
        }
        if (!found) {
            return lf_fail(p, HW_EFORMAT, "column '%.64s' is not in the header",
                           p->o.columns[k].name);
        }
        any_hash |= r == ROLE_HASH;
    }
    if (!any_hash) {
        return lf_fail(p, HW_EFORMAT,
                       "no hash column in the header (name one with a column mapping)");
    }
    return HW_OK;
}

static int lf_parse_quality(const char *s, size_t len, int *q)
{
    int v = 0;

    lf_trim2(&s, &len);
    if (len == 0 || len > 3) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v > 100) {
        return 0;
    }
    *q = v;
    return 1;
}

static void lf_set_created(struct lf_rec *r, const char *s, size_t len, const char *what)
{
    lf_trim2(&s, &len);
    if (len > 0 && lf_parse_time(s, len, &r->created) != HW_OK) {
        lf_rec_bad(r, HW_EFORMAT, "%s: not an ISO 8601 date or unix time", what);
    }
}

static int lf_row_csv(hw_listfmt_parser *p, struct lf_csv *c)
{
    struct lf_rec *r = &c->rec;

    lf_rec_reset(r, HW_LISTFMT_UPSERT);
    if (c->nf > c->n_cols) {
        lf_rec_bad(r, HW_EFORMAT, "%zu fields, the header has %zu", c->nf, c->n_cols);
    }
    for (size_t i = 0; i < c->nf && i < c->n_cols; i++) {
        size_t l;
        const char *f = lf_field(c, i, &l);
        switch (c->role[i]) {
        case ROLE_HASH:
            if (c->type[i] == HW_HASH_NONE) {
                lf_trim2(&f, &l);
                if (l > 0) {
                    r->n_unsupported++;
                }
            } else {
                lf_rec_add_hash(r, c->type[i], f, l, c->colname[i]);
            }
            break;
        case ROLE_CATEGORY:
            lf_copy_field(r->category, sizeof(r->category), f, l);
            break;
        case ROLE_ID:
            lf_copy_field(r->entry_id, sizeof(r->entry_id), f, l);
            break;
        case ROLE_MEMBER:
            lf_copy_field(r->member_id, sizeof(r->member_id), f, l);
            break;
        case ROLE_CREATED:
            lf_set_created(r, f, l, c->colname[i]);
            break;
        case ROLE_QUALITY:
            lf_trim2(&f, &l);
            if (l > 0 && !lf_parse_quality(f, l, &r->quality)) {
                lf_rec_bad(r, HW_EFORMAT, "%s: quality is not 0..100", c->colname[i]);
            }
            break;
        default:
            break;
        }
    }
    return lf_rec_emit(p, r);
}

static int lf_row_te_csv(hw_listfmt_parser *p, struct lf_csv *c)
{
    struct lf_rec *r = &c->rec;
    const char *ts = NULL, *hs = NULL;
    size_t tl = 0, hl = 0;
    int known;
    enum hw_hash_type t;

    lf_rec_reset(r, HW_LISTFMT_UPSERT);
    if (c->nf > c->n_cols) {
        lf_rec_bad(r, HW_EFORMAT, "%zu fields, the header has %zu", c->nf, c->n_cols);
    }
    for (size_t i = 0; i < c->nf && i < c->n_cols; i++) {
        size_t l;
        const char *f = lf_field(c, i, &l);
        switch (c->role[i]) {
        case ROLE_SIGNAL_TYPE:
            ts = f;
            tl = l;
            break;
        case ROLE_SIGNAL_STR:
            hs = f;
            hl = l;
            break;
        case ROLE_COLLAB:
            lf_copy_field(r->member_id, sizeof(r->member_id), f, l);
            break;
        case ROLE_CATEGORY:
            lf_copy_field(r->category, sizeof(r->category), f, l);
            break;
        default:
            break;
        }
    }
    if (ts != NULL) {
        lf_trim2(&ts, &tl);
    }
    if (ts == NULL || tl == 0) {
        lf_rec_bad(r, HW_EFORMAT, "no signal_type");
    } else {
        t = lf_type_from_name(ts, tl, &known);
        if (!known) {
            lf_rec_bad(r, HW_EFORMAT, "unknown signal type");
        } else if (t == HW_HASH_NONE) {
            r->n_unsupported++;
        } else if (hs == NULL || (lf_trim2(&hs, &hl), hl == 0)) {
            lf_rec_bad(r, HW_EFORMAT, "empty signal_str");
        } else {
            lf_rec_add_hash(r, t, hs, hl, "signal_str");
        }
    }
    return lf_rec_emit(p, r);
}

static int lf_row_te_lines(hw_listfmt_parser *p, struct lf_csv *c)
{
    struct lf_rec *r = &c->rec;
    size_t l, i = 0;
    const char *f = lf_field(c, 0, &l);
    int known;
    enum hw_hash_type t;

    lf_trim2(&f, &l);
    if (l == 0 || f[0] == '#') {
        p->rec_no--; /* a blank or comment line is not a record */
        return HW_OK;
    }
    lf_rec_reset(r, HW_LISTFMT_UPSERT);
    while (i < l && !isspace((unsigned char)f[i])) {
        i++;
    }
    if (i == l) {
        if (p->o.default_type == HW_HASH_NONE) {
            lf_rec_bad(r, HW_EFORMAT, "expected '<signal_type> <hash>'");
        } else {
            lf_rec_add_hash(r, p->o.default_type, f, l, "hash");
        }
        return lf_rec_emit(p, r);
    }
    t = lf_type_from_name(f, i, &known);
    while (i < l && isspace((unsigned char)f[i])) {
        i++;
    }
    if (!known) {
        lf_rec_bad(r, HW_EFORMAT, "unknown signal type");
    } else if (t == HW_HASH_NONE) {
        r->n_unsupported++;
    } else {
        lf_rec_add_hash(r, t, f + i, l - i, "hash");
    }
    return lf_rec_emit(p, r);
}

/* Next ','-separated piece of s[*pos..len); returns its start, sets *pl. */
static const char *lf_piece(const char *s, size_t len, size_t *pos, size_t *pl)
{
    const char *start = s + *pos;
    const char *comma = memchr(start, ',', len - *pos);
    size_t l = comma != NULL ? (size_t)(comma - start) : len - *pos;

    *pos += l + (comma != NULL);
    *pl = l;
    return start;
}

static int lf_row_pdq_csv(hw_listfmt_parser *p, struct lf_csv *c)
{
    struct lf_rec *r = &c->rec;
    const char *hs = NULL, *qs = NULL, *fn = NULL, *line;
    size_t hl = 0, ql = 0, fl = 0, len, pos = 0;

    line = lf_field(c, 0, &len);
    lf_trim2(&line, &len);
    if (len == 0) {
        p->rec_no--; /* blank line */
        return HW_OK;
    }
    if (p->rec_no == 1 && len >= 5 && lf_eq(line, 5, "hash,")) {
        p->rec_no--; /* a header line */
        return HW_OK;
    }
    lf_rec_reset(r, HW_LISTFMT_UPSERT);
    if (len >= 5 && lf_eq(line, 5, "hash=")) {
        /* pdq-photo-hasher --details: hash=...,norm=...,delta=...,quality=...,filename=... */
        while (pos < len) {
            size_t l, kl;
            const char *f = lf_piece(line, len, &pos, &l), *eq = memchr(f, '=', l);
            if (eq == NULL) {
                continue;
            }
            kl = (size_t)(eq - f);
            if (lf_eq(f, kl, "hash")) {
                hs = eq + 1;
                hl = l - kl - 1;
            } else if (lf_eq(f, kl, "quality")) {
                qs = eq + 1;
                ql = l - kl - 1;
            } else if (lf_eq(f, kl, "filename")) {
                /* The file name runs to the end of the line (it may contain commas). */
                fn = eq + 1;
                fl = (size_t)(line + len - fn);
                break;
            }
        }
    } else {
        hs = lf_piece(line, len, &pos, &hl);
        if (pos < len) {
            qs = lf_piece(line, len, &pos, &ql);
        }
        if (pos < len) {
            fn = line + pos; /* hash,quality,filename: the name is the rest of the line */
            fl = len - pos;
        }
    }
    if (hs == NULL) {
        lf_rec_bad(r, HW_EFORMAT, "no hash field");
    } else {
        lf_rec_add_hash(r, HW_HASH_PDQ, hs, hl, "hash");
        if (r->n_hash == 0 && !r->bad) {
            lf_rec_bad(r, HW_EFORMAT, "empty hash field");
        }
    }
    if (qs == NULL) {
        lf_rec_bad(r, HW_EFORMAT, "no quality field");
    } else if (!lf_parse_quality(qs, ql, &r->quality)) {
        lf_rec_bad(r, HW_EFORMAT, "quality is not 0..100");
    }
    if (fn != NULL) {
        lf_copy_field(r->entry_id, sizeof(r->entry_id), fn, fl);
    }
    return lf_rec_emit(p, r);
}

/* The end of a row: the header, a blank line, or a record. */
static int lf_csv_row(hw_listfmt_parser *p, struct lf_csv *c)
{
    int rc = HW_OK;

    if (c->nf < LF_CSV_MAX_FIELDS) {
        c->fend[c->nf] = c->len;
        c->fquoted[c->nf] = 0;
        c->nf++;
    } else {
        c->too_many = 1;
    }
    if (c->nf == 1 && c->fend[0] == 0 && !c->bad_quote && c->st != CS_QUOTE_SEEN) {
        goto reset; /* a blank line (or the LF of a CR LF) */
    }
    if ((p->fmt == HW_LISTFMT_CSV || p->fmt == HW_LISTFMT_TE_CSV) && !c->header_done) {
        c->header_done = 1;
        if (c->too_many) {
            rc = lf_fail(p, HW_ETOOBIG, "more than %d columns in the header", LF_CSV_MAX_FIELDS);
            goto reset;
        }
        rc = lf_csv_header(p, c);
        goto reset;
    }
    p->rec_no++;
    if (c->too_many || c->bad_quote) {
        p->st.records++;
        rc = lf_invalid(p, HW_EFORMAT,
                        c->too_many ? "too many fields" : "a character after a closing quote");
        goto reset;
    }
    switch (p->fmt) {
    case HW_LISTFMT_CSV:
        rc = lf_row_csv(p, c);
        break;
    case HW_LISTFMT_TE_CSV:
        rc = lf_row_te_csv(p, c);
        break;
    case HW_LISTFMT_TE_LINES:
        rc = lf_row_te_lines(p, c);
        break;
    default:
        rc = lf_row_pdq_csv(p, c);
        break;
    }
reset:
    c->len = 0;
    c->nf = 0;
    c->fstart_len = 0;
    c->too_many = 0;
    c->bad_quote = 0;
    c->in_record = 0;
    c->st = CS_FSTART;
    return rc;
}

static int lf_csv_endfield(struct lf_csv *c, int quoted)
{
    if (c->nf < LF_CSV_MAX_FIELDS) {
        c->fend[c->nf] = c->len;
        c->fquoted[c->nf] = quoted;
        c->nf++;
    } else {
        c->too_many = 1;
    }
    c->fstart_len = c->len;
    return HW_OK;
}

static int lf_csv_push(hw_listfmt_parser *p, struct lf_csv *c, char ch)
{
    if (c->len - c->fstart_len >= p->o.max_field_len) {
        return lf_fail(p, HW_ETOOBIG, "a field longer than %zu bytes", p->o.max_field_len);
    }
    if (c->len >= p->o.max_record_len) {
        return lf_fail(p, HW_ETOOBIG, "a record longer than %zu bytes", p->o.max_record_len);
    }
    c->buf[c->len++] = ch;
    return HW_OK;
}

/* Append a run of plain bytes to the current field, within the limits. */
static int lf_csv_append(hw_listfmt_parser *p, struct lf_csv *c, const unsigned char *s, size_t n)
{
    if (n > p->o.max_field_len - (c->len - c->fstart_len)) {
        return lf_fail(p, HW_ETOOBIG, "a field longer than %zu bytes", p->o.max_field_len);
    }
    if (n > p->o.max_record_len - c->len) {
        return lf_fail(p, HW_ETOOBIG, "a record longer than %zu bytes", p->o.max_record_len);
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    return HW_OK;
}

/* The tokenizer proper: bytes whose delimiter is known. */
static int lf_csv_run(hw_listfmt_parser *p, struct lf_csv *c, const unsigned char *d, size_t n)
{
    int rc;

    if (c->whole_line) {
        /* pdq-csv and te-lines: no quotes, no delimiters; copy up to each end of line. */
        size_t i = 0;
        while (i < n) {
            const unsigned char *nl = memchr(d + i, '\n', n - i);
            size_t end = nl != NULL ? (size_t)(nl - d) : n, take = end - i;
            if (!c->in_record) {
                c->in_record = 1;
                p->rec_line = p->line;
            }
            if (take > 0 && d[end - 1] == '\r' && nl != NULL) {
                take--; /* CR LF */
            }
            if (take > p->o.max_record_len - c->len) {
                return lf_fail(p, HW_ETOOBIG, "a line longer than %zu bytes", p->o.max_record_len);
            }
            memcpy(c->buf + c->len, d + i, take);
            c->len += take;
            if (nl == NULL) {
                break;
            }
            if (c->len > 0 && c->buf[c->len - 1] == '\r') {
                c->len--; /* a CR that ended the previous chunk */
            }
            p->line++;
            rc = lf_csv_row(p, c);
            if (rc != HW_OK) {
                return rc;
            }
            if (p->failed) {
                return p->failed;
            }
            i = end + 1;
        }
        return HW_OK;
    }
    for (size_t i = 0; i < n; i++) {
        char ch;
        if (c->in_record && (c->st == CS_UNQUOTED || c->st == CS_QUOTED)) {
            /* Copy the run of bytes that cannot change the state in one go. */
            size_t j = i;
            if (c->st == CS_UNQUOTED) {
                while (j < n && d[j] != (unsigned char)c->delim && d[j] != '\n' && d[j] != '\r') {
                    j++;
                }
            } else {
                while (j < n && d[j] != '"' && d[j] != '\n') {
                    j++;
                }
            }
            if (j > i) {
                rc = lf_csv_append(p, c, d + i, j - i);
                if (rc != HW_OK) {
                    return rc;
                }
                i = j;
                if (i == n) {
                    break;
                }
            }
        }
        ch = (char)d[i];
        if (!c->in_record) {
            c->in_record = 1;
            p->rec_line = p->line;
        }
        if (ch == '\n') {
            p->line++;
        }
        switch (c->st) {
        case CS_FSTART:
            if (ch == '"' && c->quoting) {
                c->st = CS_QUOTED;
                continue;
            }
            c->st = CS_UNQUOTED;
            /* fall through */
        case CS_UNQUOTED:
            if (ch == '\n' || ch == '\r') {
                rc = lf_csv_row(p, c);
            } else if (ch == c->delim && !c->whole_line) {
                rc = lf_csv_endfield(c, 0);
                c->st = CS_FSTART;
            } else {
                rc = lf_csv_push(p, c, ch);
            }
            break;
        case CS_QUOTED:
            if (ch == '"') {
                c->st = CS_QUOTE_SEEN;
                rc = HW_OK;
            } else {
                rc = lf_csv_push(p, c, ch);
            }
            break;
        default: /* CS_QUOTE_SEEN */
            if (ch == '"') {
                c->st = CS_QUOTED;
                rc = lf_csv_push(p, c, '"');
            } else if (ch == c->delim) {
                rc = lf_csv_endfield(c, 1);
                c->st = CS_FSTART;
            } else if (ch == '\n' || ch == '\r') {
                rc = lf_csv_row(p, c);
            } else {
                c->bad_quote = 1;
                c->st = CS_UNQUOTED;
                rc = lf_csv_push(p, c, ch);
            }
            break;
        }
        if (rc != HW_OK) {
            return rc;
        }
        if (p->failed) {
            return p->failed;
        }
    }
    return HW_OK;
}

/* csv: the delimiter most frequent in the header line, outside quotes. */
static char lf_csv_guess_delim(const char *s, size_t n)
{
    static const char cands[] = {',', '\t', ';', '|'};
    size_t counts[4] = {0, 0, 0, 0}, best = 0;
    int inq = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            inq = !inq;
        }
        for (int k = 0; k < 4 && !inq; k++) {
            counts[k] += s[i] == cands[k];
        }
    }
    for (int k = 1; k < 4; k++) {
        if (counts[k] > counts[best]) {
            best = (size_t)k;
        }
    }
    return cands[best];
}

static int lf_csv_feed(hw_listfmt_parser *p, const unsigned char *d, size_t n)
{
    struct lf_csv *c = p->state;
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    int rc;

    /* A UTF-8 byte-order mark at the start of the file, possibly split across feeds. */
    while (c->bom < 3 && n > 0) {
        if (d[0] != bom[c->bom]) {
            if (c->bom > 0) {
                int k = c->bom;
                c->bom = 3;
                rc = lf_csv_feed(p, bom, (size_t)k); /* not a BOM after all */
                if (rc != HW_OK) {
                    return rc;
                }
            }
            c->bom = 3;
            break;
        }
        c->bom++;
        d++;
        n--;
    }
    if (n == 0) {
        return HW_OK;
    }
    if (c->delim == 0) {
        const unsigned char *nl = memchr(d, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - d) + 1 : n;
        if (c->pending_len + take > p->o.max_record_len) {
            return lf_fail(p, HW_ETOOBIG, "a header line longer than %zu bytes",
                           p->o.max_record_len);
        }
        memcpy(c->pending + c->pending_len, d, take);
        c->pending_len += take;
        if (nl == NULL) {
            return HW_OK;
        }
        c->delim = lf_csv_guess_delim(c->pending, c->pending_len);
        rc = lf_csv_run(p, c, (const unsigned char *)c->pending, c->pending_len);
        free(c->pending);
        c->pending = NULL;
        if (rc != HW_OK) {
            return rc;
        }
        d += take;
        n -= take;
    }
    return lf_csv_run(p, c, d, n);
}

static int lf_csv_finish(hw_listfmt_parser *p)
{
    struct lf_csv *c = p->state;
    int rc;

    if (c->bom > 0 && c->bom < 3) {
        int k = c->bom;
        c->bom = 3;
        rc = lf_csv_feed(p, (const unsigned char *)"\xEF\xBB\xBF", (size_t)k);
        if (rc != HW_OK) {
            return rc;
        }
    }
    if (c->delim == 0 && c->pending_len > 0) {
        c->delim = lf_csv_guess_delim(c->pending, c->pending_len);
        rc = lf_csv_run(p, c, (const unsigned char *)c->pending, c->pending_len);
        if (rc != HW_OK) {
            return rc;
        }
    }
    if (c->st == CS_QUOTED) {
        return lf_fail(p, HW_ETRUNCATED, "the file ends inside a quoted field");
    }
    if (c->in_record) {
        rc = lf_csv_row(p, c);
        if (rc != HW_OK) {
            return rc;
        }
    }
    if ((p->fmt == HW_LISTFMT_CSV || p->fmt == HW_LISTFMT_TE_CSV) && !c->header_done) {
        return lf_fail(p, HW_EFORMAT, "the file has no header line");
    }
    return p->failed;
}

static const struct lf_impl lf_csv_impl = {lf_csv_feed, lf_csv_finish, lf_csv_free};

int lf_csv_init(hw_listfmt_parser *p)
{
    struct lf_csv *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return HW_ENOMEM;
    }
    p->impl = &lf_csv_impl;
    p->state = c;
    c->buf = malloc(p->o.max_record_len);
    if (c->buf == NULL) {
        return HW_ENOMEM;
    }
    c->st = CS_FSTART;
    switch (p->fmt) {
    case HW_LISTFMT_CSV:
        c->quoting = 1;
        c->delim = p->o.delimiter;
        if (c->delim == 0) {
            c->pending = malloc(p->o.max_record_len);
            if (c->pending == NULL) {
                return HW_ENOMEM;
            }
        }
        break;
    case HW_LISTFMT_TE_CSV:
        c->quoting = 1;
        c->delim = p->o.delimiter != 0 ? p->o.delimiter : ',';
        break;
    case HW_LISTFMT_TE_LINES:
        c->whole_line = 1;
        c->delim = '\n';
        break;
    default: /* pdq-csv: file names are printed raw (no quoting): split by hand */
        c->whole_line = 1;
        c->delim = '\n';
        break;
    }
    if (c->delim == '"' || c->delim == '\r' || (c->delim == '\n' && !c->whole_line)) {
        return lf_fail(p, HW_EINVAL, "invalid delimiter");
    }
    for (size_t k = 0; p->fmt == HW_LISTFMT_CSV && k < p->o.n_columns; k++) {
        enum lf_role r;
        enum hw_hash_type t;
        if (!lf_explicit_role(p->o.columns[k].role, &r, &t)) {
            return lf_fail(p, HW_EINVAL, "unknown column role '%.32s'", p->o.columns[k].role);
        }
    }
    return HW_OK;
}
