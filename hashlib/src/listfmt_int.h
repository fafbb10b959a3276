/* listfmt_int.h: the list parser object and the record builder shared by the format readers. */
#ifndef HASHLIB_LISTFMT_INT_H
#define HASHLIB_LISTFMT_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hw_listfmt.h"

/* At most this many hashes in one source record (a VICS Media with MD5, SHA1, SHA256,
 * PhotoDNA and AlternativeHashes; an NCMEC entry's fingerprints). More is an invalid record. */
#define LF_MAX_HASHES 16

#define LF_DEFAULT_MAX_FIELD  (8u * 1024u)
#define LF_DEFAULT_MAX_RECORD (64u * 1024u)
#define LF_DEFAULT_MAX_DEPTH  64u
#define LF_MAX_FIELD_CAP      (16u * 1024u * 1024u)
#define LF_MAX_DEPTH_CAP      1024u

struct lf_hash {
    enum hw_hash_type type;
    int empty_file; /* the hash of zero bytes: dropped */
    uint8_t hash[HW_HASH_MAX_LEN];
};

/* One source record being assembled: hashes are validated as they arrive, emitted at the end,
 * so an invalid record delivers nothing. */
struct lf_rec {
    enum hw_listfmt_op op;
    size_t n_hash;
    struct lf_hash h[LF_MAX_HASHES];
    uint64_t n_unsupported;
    char entry_id[HW_ENTRY_ID_MAX];
    char member_id[HW_MEMBER_ID_MAX];
    char category[HW_CATEGORY_MAX];
    int64_t created;
    int quality;
    int bad; /* 0, or the hw_err of the first problem */
    char reason[200];
};

/* A format reader: state plus three operations. */
struct lf_impl {
    int (*feed)(hw_listfmt_parser *p, const unsigned char *data, size_t len);
    int (*finish)(hw_listfmt_parser *p);
    void (*free_state)(void *state);
};

struct hw_listfmt_parser {
    enum hw_listfmt_format fmt;
    struct hw_listfmt_options o; /* columns/catmap point into the copies below */
    struct hw_listfmt_column *cols;
    char *col_strings;
    struct hw_listfmt_catmap_entry *catmap;

    const struct lf_impl *impl;
    void *state;

    int failed; /* 0, or the code every later call returns */
    char failmsg[256];
    char *eb; /* the current call's errbuf */
    size_t ebl;

    uint64_t line;     /* current line of the byte stream, 1-based */
    uint64_t rec_line; /* where the current record started */
    uint64_t rec_no;
    struct hw_listfmt_stats st;
};

/* Format readers (listfmt_csv.c, listfmt_json.c, listfmt_xml.c): set p->impl and p->state. */
int lf_csv_init(hw_listfmt_parser *p);
int lf_json_init(hw_listfmt_parser *p);
int lf_xml_init(hw_listfmt_parser *p);

/* Fail the parser with `err` and a reason (no hash values in it); returns err. */
int lf_fail(hw_listfmt_parser *p, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

void lf_rec_reset(struct lf_rec *r, enum hw_listfmt_op op);
/* Mark the record invalid (the first reason is kept). */
void lf_rec_bad(struct lf_rec *r, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Parse a hash text of type t into the record; `what` names the field for messages.
 * HW_HASH_NONE counts an unsupported hash. */
void lf_rec_add_hash(struct lf_rec *r, enum hw_hash_type t, const char *s, size_t len,
                     const char *what);
/* Copy text into a fixed field, trimmed, control characters replaced, cut on a UTF-8
 * boundary. */
void lf_copy_field(char *dst, size_t cap, const char *s, size_t len);
/* ISO 8601 date-time (YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|+HH:MM]) or decimal unix seconds. */
int lf_parse_time(const char *s, size_t len, int64_t *out);
/* Deliver a finished record (or count/skip/fail it when invalid). */
int lf_rec_emit(hw_listfmt_parser *p, struct lf_rec *r);
/* Report an invalid record that has no lf_rec (structure-level but skippable). */
int lf_invalid(hw_listfmt_parser *p, int err, const char *reason);

/* Case-insensitive ASCII comparison of s[0..len) with a NUL-terminated word. */
int lf_eq(const char *s, size_t len, const char *word);
/* Hash type of a signal / fingerprint / column name (pytx, TE, NCMEC, VICS spellings);
 * HW_HASH_NONE if it names no type we store. *known says whether the name is a hash type at
 * all (e.g. "url" or "tmk_pdqf": known but unsupported). */
enum hw_hash_type lf_type_from_name(const char *s, size_t len, int *known);

#endif
