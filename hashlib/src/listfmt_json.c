/* listfmt_json.c: streaming VICS OData and StopNCII FetchHashes JSON readers (yajl SAX). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "hw_error.h"
#include "listfmt_int.h"

/* What a JSON container is to us. */
enum lf_jframe {
    JF_OTHER = 0,  /* ignored subtree */
    JF_ROOT,       /* the top-level object */
    JF_VALUE,      /* VICS root "value" array */
    JF_MEDIA,      /* a VICS Media object (or a Case, until it shows a "Media" array) */
    JF_CASE_MEDIA, /* VICS Case "Media" array */
    JF_ALT_ARRAY,  /* Media "AlternativeHashes" array */
    JF_ALT,        /* one AlternativeHashes object */
    JF_NCII_ARRAY, /* StopNCII "hashRecords" array */
    JF_NCII,       /* one hash record */
};

struct lf_json {
    yajl_handle h;
    unsigned char *frames; /* enum lf_jframe per depth, max_depth deep */
    unsigned depth;
    char key[64];      /* the last map key at the current depth, truncated */
    int key_long;      /* the key did not fit: it matches nothing */
    int saw_list;      /* "value" / "hashRecords" seen */
    int media_is_case; /* the current JF_MEDIA object holds a "Media" array */
    /* token-length guard and line tracking over the raw bytes */
    int in_string, escape;
    size_t tok_len;
    int bom; /* bytes of a leading UTF-8 byte-order mark seen (3: done) */
    /* AlternativeHashes / StopNCII record fields that must wait for the object's end */
    char alt_name[32];
    char sig_type[32];
    char status[32];
    char *value; /* HashValue / hashValue, at most max_field_len bytes */
    size_t value_len;
    int have_value;
    struct lf_rec rec;
};

static hw_listfmt_parser *lf_jp(void *ctx)
{
    return ctx;
}

static struct lf_json *lf_js(void *ctx)
{
    return ((hw_listfmt_parser *)ctx)->state;
}

static enum lf_jframe lf_top(const struct lf_json *j)
{
    return j->depth == 0 ? JF_OTHER : (enum lf_jframe)j->frames[j->depth - 1];
}

static int lf_key_is(const struct lf_json *j, const char *word)
{
    return !j->key_long && strcmp(j->key, word) == 0;
}

static int lf_key_ieq(const struct lf_json *j, const char *word)
{
    return !j->key_long && lf_eq(j->key, strlen(j->key), word);
}

/* A scalar (string text or number text) in the current container. */
static int lf_scalar(hw_listfmt_parser *p, struct lf_json *j, const char *s, size_t len,
                     int is_string)
{
    struct lf_rec *r = &j->rec;
    enum lf_jframe f = lf_top(j);
    int known;
    enum hw_hash_type t;

    if (f == JF_MEDIA) {
        if (lf_key_is(j, "MediaID")) {
            lf_copy_field(r->entry_id, sizeof(r->entry_id), s, len);
        } else if (lf_key_is(j, "Category")) {
            lf_copy_field(r->category, sizeof(r->category), s, len);
        } else if (lf_key_is(j, "DateUpdated")) {
            if (lf_parse_time(s, len, &r->created) != HW_OK) {
                lf_rec_bad(r, HW_EFORMAT, "DateUpdated is not an ISO 8601 date");
            }
        } else if (!j->key_long) {
            t = lf_type_from_name(j->key, strlen(j->key), &known);
            if (known && t != HW_HASH_NONE) {
                if (!is_string) {
                    lf_rec_bad(r, HW_EFORMAT, "%s is not a string", j->key);
                } else {
                    lf_rec_add_hash(r, t, s, len, j->key);
                }
            }
        }
    } else if (f == JF_ALT) {
        if (lf_key_is(j, "HashName")) {
            lf_copy_field(j->alt_name, sizeof(j->alt_name), s, len);
        } else if (lf_key_is(j, "HashValue")) {
            memcpy(j->value, s, len); /* len <= max_field_len: the byte guard saw it */
            j->value_len = len;
            j->have_value = 1;
        }
    } else if (f == JF_NCII) {
        if (lf_key_ieq(j, "hashValue")) {
            memcpy(j->value, s, len);
            j->value_len = len;
            j->have_value = 1;
        } else if (lf_key_ieq(j, "hashStatus")) {
            lf_copy_field(j->status, sizeof(j->status), s, len);
        } else if (lf_key_ieq(j, "signalType")) {
            lf_copy_field(j->sig_type, sizeof(j->sig_type), s, len);
        } else if (lf_key_ieq(j, "lastModtimestamp")) {
            if (lf_parse_time(s, len, &r->created) != HW_OK) {
                lf_rec_bad(r, HW_EFORMAT, "lastModtimestamp is not a time");
            }
        }
    }
    (void)p;
    return 1;
}

static int lf_j_string(void *ctx, const unsigned char *s, size_t len)
{
    return lf_scalar(lf_jp(ctx), lf_js(ctx), (const char *)s, len, 1);
}

static int lf_j_number(void *ctx, const char *s, size_t len)
{
    return lf_scalar(lf_jp(ctx), lf_js(ctx), s, len, 0);
}

static int lf_j_null(void *ctx)
{
    return 1; /* an absent value: Category null, PhotoDNA null */
}

static int lf_j_bool(void *ctx, int v)
{
    return 1; /* VICS flags arrive as JSON booleans or "true"/"false": neither is used */
}

static int lf_j_key(void *ctx, const unsigned char *s, size_t len)
{
    struct lf_json *j = lf_js(ctx);

    j->key_long = len >= sizeof(j->key);
    if (!j->key_long) {
        memcpy(j->key, s, len);
        j->key[len] = '\0';
    } else {
        j->key[0] = '\0';
    }
    return 1;
}

static int lf_push(hw_listfmt_parser *p, struct lf_json *j, enum lf_jframe f)
{
    if (j->depth >= p->o.max_depth) {
        lf_fail(p, HW_ETOOBIG, "JSON nested deeper than %u", p->o.max_depth);
        return 0;
    }
    j->frames[j->depth++] = (unsigned char)f;
    return 1;
}

/* The frame a new container opens, from its parent frame and key. */
static enum lf_jframe lf_child(hw_listfmt_parser *p, struct lf_json *j, int is_array)
{
    enum lf_jframe parent = lf_top(j);
    int vics = p->fmt == HW_LISTFMT_VICS_JSON;

    if (j->depth == 0) {
        return JF_ROOT;
    }
    switch (parent) {
    case JF_ROOT:
        if (is_array && vics && lf_key_is(j, "value")) {
            j->saw_list = 1;
            return JF_VALUE;
        }
        if (is_array && !vics && lf_key_ieq(j, "hashRecords")) {
            j->saw_list = 1;
            return JF_NCII_ARRAY;
        }
        return JF_OTHER;
    case JF_VALUE:
    case JF_CASE_MEDIA:
        return is_array ? JF_OTHER : JF_MEDIA;
    case JF_MEDIA:
        if (is_array && lf_key_is(j, "Media") && parent == JF_MEDIA && j->depth == 3) {
            j->media_is_case = 1; /* a #Cases export: the Case's Media items follow */
            p->rec_no--;          /* a Case is not a record; its Media items are */
            p->rec_line = p->line;
            return JF_CASE_MEDIA;
        }
        if (is_array && lf_key_is(j, "AlternativeHashes")) {
            return JF_ALT_ARRAY;
        }
        return JF_OTHER;
    case JF_ALT_ARRAY:
        return is_array ? JF_OTHER : JF_ALT;
    case JF_NCII_ARRAY:
        return is_array ? JF_OTHER : JF_NCII;
    default:
        return JF_OTHER;
    }
}

static int lf_j_start_map(void *ctx)
{
    hw_listfmt_parser *p = lf_jp(ctx);
    struct lf_json *j = lf_js(ctx);
    enum lf_jframe f = lf_child(p, j, 0);

    if (f == JF_MEDIA || f == JF_NCII) {
        p->rec_no++;
        p->rec_line = p->line;
        lf_rec_reset(&j->rec, HW_LISTFMT_UPSERT);
        if (f == JF_MEDIA && j->depth == 2) {
            j->media_is_case = 0;
        }
        j->have_value = 0;
        j->sig_type[0] = '\0';
        j->status[0] = '\0';
    } else if (f == JF_ALT) {
        j->alt_name[0] = '\0';
        j->have_value = 0;
    }
    j->key[0] = '\0';
    return lf_push(p, j, f);
}

static int lf_end_ncii(hw_listfmt_parser *p, struct lf_json *j)
{
    struct lf_rec *r = &j->rec;
    int known;
    enum hw_hash_type t;

    /* StopNCII hashStatus: Withdrawn and Deleted must leave the bank (FORMATS.md 3). */
    if (lf_eq(j->status, strlen(j->status), "Withdrawn") ||
        lf_eq(j->status, strlen(j->status), "Deleted")) {
        r->op = HW_LISTFMT_DELETE;
    } else if (j->status[0] != '\0' && !lf_eq(j->status, strlen(j->status), "Active") &&
               !lf_eq(j->status, strlen(j->status), "Received")) {
        lf_rec_bad(r, HW_EFORMAT, "unknown hashStatus");
    }
    snprintf(r->category, sizeof(r->category), "NCII");
    if (j->sig_type[0] == '\0') {
        lf_rec_bad(r, HW_EFORMAT, "no signalType");
    } else {
        t = lf_type_from_name(j->sig_type, strlen(j->sig_type), &known);
        if (!known) {
            lf_rec_bad(r, HW_EFORMAT, "unknown signalType");
        } else if (t == HW_HASH_NONE) {
            r->n_unsupported++;
        } else if (!j->have_value) {
            lf_rec_bad(r, HW_EFORMAT, "no hashValue");
        } else {
            lf_rec_add_hash(r, t, j->value, j->value_len, "hashValue");
            if (r->n_hash == 0 && !r->bad) {
                lf_rec_bad(r, HW_EFORMAT, "empty hashValue");
            }
        }
    }
    return lf_rec_emit(p, r) == HW_OK && !p->failed;
}

static int lf_j_end_map(void *ctx)
{
    hw_listfmt_parser *p = lf_jp(ctx);
    struct lf_json *j = lf_js(ctx);
    enum lf_jframe f = lf_top(j);
    int ok = 1;

    j->depth--;
    if (f == JF_MEDIA) {
        if (!(j->depth == 2 && j->media_is_case)) {
            ok = lf_rec_emit(p, &j->rec) == HW_OK && !p->failed;
        }
    } else if (f == JF_ALT) {
        int known;
        enum hw_hash_type t = lf_type_from_name(j->alt_name, strlen(j->alt_name), &known);
        if (known && j->have_value) {
            if (t == HW_HASH_NONE) {
                j->rec.n_unsupported++;
            } else {
                lf_rec_add_hash(&j->rec, t, j->value, j->value_len, "AlternativeHashes");
            }
        }
    } else if (f == JF_NCII) {
        ok = lf_end_ncii(p, j);
    }
    return ok;
}

static int lf_j_start_array(void *ctx)
{
    hw_listfmt_parser *p = lf_jp(ctx);
    struct lf_json *j = lf_js(ctx);

    if (j->depth == 0) {
        lf_fail(p, HW_EFORMAT, "the document is not a JSON object");
        return 0;
    }
    return lf_push(p, j, lf_child(p, j, 1));
}

static int lf_j_end_array(void *ctx)
{
    lf_js(ctx)->depth--;
    return 1;
}

static const yajl_callbacks lf_j_callbacks = {
    lf_j_null,    lf_j_bool,        NULL,           NULL,
    lf_j_number,  lf_j_string,      lf_j_start_map, lf_j_key,
    lf_j_end_map, lf_j_start_array, lf_j_end_array,
};

static int lf_json_status(hw_listfmt_parser *p, struct lf_json *j, yajl_status st,
                          const unsigned char *d, size_t n)
{
    unsigned char *msg;
    char clean[160];
    size_t k = 0;

    if (st == yajl_status_ok) {
        return HW_OK;
    }
    if (p->failed) {
        return p->failed; /* a callback stopped the parse */
    }
    /* Not verbose: yajl's verbose message quotes the input, which may hold hashes. */
    msg = yajl_get_error(j->h, 0, d, n);
    for (const unsigned char *m = msg; m != NULL && *m != '\0' && k + 1 < sizeof(clean); m++) {
        clean[k++] = (*m == '\n' || *m < 0x20) ? ' ' : (char)*m;
    }
    while (k > 0 && clean[k - 1] == ' ') {
        k--;
    }
    clean[k] = '\0';
    if (msg != NULL) {
        yajl_free_error(j->h, msg);
    }
    p->rec_line = p->line;
    return lf_fail(p, HW_EFORMAT, "JSON syntax: %s", k > 0 ? clean : "error");
}

/* The byte guard tripped at a token over max_field_len: let yajl see the bytes before it
 * first, so that the outcome does not depend on how the file was cut into feeds. */
static int lf_json_too_long(hw_listfmt_parser *p, struct lf_json *j, const unsigned char *d,
                            size_t n, const char *what)
{
    int rc = n > 0 ? lf_json_status(p, j, yajl_parse(j->h, d, n), d, n) : HW_OK;

    if (rc != HW_OK) {
        return rc;
    }
    p->rec_line = p->line;
    return lf_fail(p, HW_ETOOBIG, "a JSON %s longer than %zu bytes", what, p->o.max_field_len);
}

static int lf_json_feed(hw_listfmt_parser *p, const unsigned char *d, size_t n)
{
    struct lf_json *j = p->state;
    size_t start = 0;
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

    /* Windows tools write VICS files with a UTF-8 byte-order mark, which yajl refuses. */
    while (j->bom < 3 && n > 0) {
        if (d[0] != bom[j->bom]) {
            if (j->bom > 0) {
                return lf_fail(p, HW_EFORMAT, "JSON syntax: a broken byte-order mark");
            }
            j->bom = 3;
            break;
        }
        j->bom++;
        d++;
        n--;
    }

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = d[i];
        if (j->in_string) {
            if (j->escape) {
                j->escape = 0;
            } else if (ch == '\\') {
                j->escape = 1;
            } else if (ch == '"') {
                j->in_string = 0;
                continue;
            }
            if (++j->tok_len > p->o.max_field_len) {
                return lf_json_too_long(p, j, d + start, i - start, "string");
            }
        } else if (ch == '"') {
            j->in_string = 1;
            j->tok_len = 0;
        } else if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '+' || ch == '.') {
            if (++j->tok_len > p->o.max_field_len) {
                return lf_json_too_long(p, j, d + start, i - start, "token");
            }
        } else {
            j->tok_len = 0;
        }
        if (ch == '\n') {
            /* Feed line by line so that callbacks know the line they are on. */
            int rc = lf_json_status(p, j, yajl_parse(j->h, d + start, i + 1 - start), d + start,
                                    i + 1 - start);
            if (rc != HW_OK) {
                return rc;
            }
            p->line++;
            start = i + 1;
        }
    }
    if (start < n) {
        return lf_json_status(p, j, yajl_parse(j->h, d + start, n - start), d + start, n - start);
    }
    return HW_OK;
}

static int lf_json_finish(hw_listfmt_parser *p)
{
    struct lf_json *j = p->state;
    int rc;

    if (j->depth > 0 || j->in_string) {
        p->rec_line = p->line;
        return lf_fail(p, HW_ETRUNCATED, "the JSON document ends early");
    }
    rc = lf_json_status(p, j, yajl_complete_parse(j->h), NULL, 0);
    if (rc != HW_OK) {
        return rc;
    }
    if (!j->saw_list) {
        return lf_fail(p, HW_EFORMAT,
                       p->fmt == HW_LISTFMT_VICS_JSON
                           ? "no \"value\" array: not a VICS OData document"
                           : "no \"hashRecords\" array: not a StopNCII FetchHashes page");
    }
    return HW_OK;
}

static void lf_json_free(void *state)
{
    struct lf_json *j = state;

    if (j == NULL) {
        return;
    }
    if (j->h != NULL) {
        yajl_free(j->h);
    }
    free(j->frames);
    free(j->value);
    free(j);
}

static const struct lf_impl lf_json_impl = {lf_json_feed, lf_json_finish, lf_json_free};

int lf_json_init(hw_listfmt_parser *p)
{
    struct lf_json *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        return HW_ENOMEM;
    }
    p->impl = &lf_json_impl;
    p->state = j;
    j->frames = malloc(p->o.max_depth);
    j->value = malloc(p->o.max_field_len + 1);
    if (j->frames == NULL || j->value == NULL) {
        return HW_ENOMEM;
    }
    j->h = yajl_alloc(&lf_j_callbacks, NULL, p);
    if (j->h == NULL) {
        return HW_ENOMEM;
    }
    /* Strict JSON: no comments, valid UTF-8, one document. */
    yajl_config(j->h, yajl_allow_comments, 0);
    yajl_config(j->h, yajl_dont_validate_strings, 0);
    return HW_OK;
}
