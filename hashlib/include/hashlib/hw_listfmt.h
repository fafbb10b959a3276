/* hw_listfmt.h: streaming readers for hotline hash-list files (NCMEC, VICS, StopNCII, TE, CSV). */
#ifndef HASHLIB_HW_LISTFMT_H
#define HASHLIB_HW_LISTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "hw_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A list parser turns the bytes of one list file, fed in chunks of any size, into records
 * delivered through a callback, in memory bounded by the limits below whatever the file size.
 * The hash type of a record always comes from the field, element or column that carries it,
 * never from the length of the value (PDQ and SHA-256 are both 64 hex digits).
 *
 * Normalisation (shared/FORMATS.md section 8): hex is trimmed and lower-cased and its length
 * checked for the type; PDQ hex becomes the 32 bytes of struct hw_pdq (words q[0..3], each
 * little-endian); PhotoDNA in base64 (192 characters), hex (288) or comma-separated decimal
 * (144 values 0..255) becomes its 144 raw bytes. Hashes of the empty file (MD5 d41d8cd9...,
 * SHA-1 da39a3ee..., SHA-256 e3b0c442...) would match every empty upload: they are dropped
 * and counted, never delivered.
 */

/*
 * What each format gives (entry_id / member_id / category / created; one record per hash):
 *
 *  ncmec-xml      <image>/<video> under <images>/<videos>: "<member id>-<id>" / member@id /
 *                 <classification> / <timestamp>. Fingerprints md5 (video: video MD5), sha1,
 *                 sha256, pdna, pdq; others (tmk-pdqf, netclean, videntifier: links) are
 *                 counted as unsupported. <deletedImage>/<deletedVideo>: a DELETE by entry id.
 *  vics-json      root "value" array of Media (#Media) or of Cases holding "Media" (#Cases):
 *                 MediaID / - / Category / DateUpdated. MD5, SHA1, SHA256, PhotoDNA keys and
 *                 AlternativeHashes[{HashName, HashValue}]. Flags and other keys are ignored.
 *  stopncii-json  "hashRecords": - / - / "NCII" / lastModtimestamp; signalType ImagePDQ or
 *                 VideoMD5 (others unsupported); hashStatus Withdrawn or Deleted: a DELETE by
 *                 type + hash.
 *  te-csv         header signal_type,signal_str,collab,category,tags: - / collab / category.
 *  te-lines       "<signal_type> <hash>"; blank lines and '#' comments skipped.
 *  pdq-csv        "hash,quality,filename" or hash=...,quality=...,filename=... (--details):
 *                 filename / - / - ; quality delivered in the record.
 *  csv            header-named columns (see hw_listfmt_options.columns); each non-empty
 *                 hash cell of a row is a record.
 */

/** The file formats. Details and example records: shared/FORMATS.md. */
enum hw_listfmt_format {
    HW_LISTFMT_UNKNOWN = 0,
    HW_LISTFMT_NCMEC_XML = 1,     /* NCMEC Hash Sharing v2 queryResult pages */
    HW_LISTFMT_VICS_JSON = 2,     /* Project VIC / VICS OData JSON 1.x and 2.0, #Media/#Cases */
    HW_LISTFMT_STOPNCII_JSON = 3, /* StopNCII FetchHashes pages */
    HW_LISTFMT_TE_CSV = 4,        /* signal_type,signal_str,collab,category,tags */
    HW_LISTFMT_TE_LINES = 5,      /* "<signal_type> <hash>" lines */
    HW_LISTFMT_PDQ_CSV = 6,       /* the reference hasher's hash,quality,filename lines */
    HW_LISTFMT_CSV = 7,           /* generic CSV/TSV with named hash columns */
    HW_LISTFMT_COUNT = 8
};

/** "ncmec-xml", "vics-json", "stopncii-json", "te-csv", "te-lines", "pdq-csv", "csv";
 *  "unknown" otherwise. Never NULL; static storage. Thread-safe. */
const char *hw_listfmt_format_name(enum hw_listfmt_format f);

/** The format named `s` (exact names above, case-insensitive); HW_LISTFMT_UNKNOWN if none.
 *  Thread-safe. */
enum hw_listfmt_format hw_listfmt_format_parse(const char *s);

/**
 * Guess the format from the first bytes of a file.
 *
 * Only unambiguous signatures are accepted: an XML queryResult / NCMEC namespace, a JSON
 * object carrying an OData context key (VICS) or StopNCII's hashRecords / nextSetTimestamp,
 * the TE CSV header, a first line that is "<64 hex>,<quality>," (pdq-csv) or "<known signal
 * type> <value>" (te-lines), or a header line naming at least one hash column (csv).
 *
 * @param data, len  the first bytes of the file (a few KiB is plenty; more is not read past
 *                   the first 64 KiB); read only
 * @return the format, or HW_LISTFMT_UNKNOWN when nothing matches or several could.
 * Thread safety: reentrant.
 */
enum hw_listfmt_format hw_listfmt_detect(const void *data, size_t len);

/** What a record asks of the list. */
enum hw_listfmt_op {
    HW_LISTFMT_UPSERT = 1, /* insert or update entry (keyed by type + hash) */
    HW_LISTFMT_DELETE = 2  /* remove: by type + hash, or by entry_id when type is NONE */
};

/** One record, as delivered to the callback. */
struct hw_listfmt_record {
    enum hw_listfmt_op op;
    /* type, hash, entry_id, member_id, category (the original string, truncated to fit),
     * severity (mapped, see below), created (unix seconds from the record when it has a
     * timestamp, else 0). For NCMEC the entry_id is "<member>-<id>" as pytx keys entries
     * (ids are unique per member only); a tombstone has type HW_HASH_NONE and that key. */
    struct hw_entry entry;
    uint64_t line;   /* 1-based line where the record starts */
    uint64_t record; /* 1-based record number in the file (row, array item, XML entry) */
    int quality;     /* PDQ quality 0..100 where the format carries it (pdq-csv), else -1 */
};

/** One skipped invalid record (only with skip_invalid). `reason` never contains a hash. */
struct hw_listfmt_issue {
    int err;            /* HW_EFORMAT, HW_ETOOBIG... */
    uint64_t line;      /* 1-based line where the record starts */
    uint64_t record;    /* 1-based record number */
    const char *reason; /* valid during the callback only */
};

/**
 * Receives each record. Return HW_OK to continue; any other value stops the parse and is
 * returned by the hw_listfmt_feed() / hw_listfmt_finish() call that delivered the record
 * (the parser then stays failed). `rec` is valid during the call only.
 */
typedef int (*hw_listfmt_record_fn)(void *ctx, const struct hw_listfmt_record *rec);

/** Receives each invalid record skipped under skip_invalid. Same return convention. */
typedef int (*hw_listfmt_issue_fn)(void *ctx, const struct hw_listfmt_issue *issue);

/** Severity value a category map may give to mean "drop records of this category". */
#define HW_LISTFMT_SEV_IGNORE (-1)

/** One category-to-severity rule: `category` (case-insensitive exact match; "*" matches any
 *  category no other rule matched, including the empty one) maps to `severity` (enum
 *  hw_severity, or HW_LISTFMT_SEV_IGNORE). */
struct hw_listfmt_catmap_entry {
    char category[HW_CATEGORY_MAX];
    int severity;
};

/** Generic CSV: the column named `name` (case-insensitive) holds `role`. Roles: a hash type
 *  name ("md5", "sha1", "sha256", "pdq", "photodna", "video_md5"), "category", "id",
 *  "member", "created" or "quality". */
struct hw_listfmt_column {
    const char *role;
    const char *name;
};

/** Parser options. Zero-fill, then set what you need; zero fields take the defaults. */
struct hw_listfmt_options {
    hw_listfmt_record_fn on_record; /* required */
    hw_listfmt_issue_fn on_issue;   /* optional; called for each skipped invalid record */
    void *ctx;                      /* passed to both callbacks */

    int skip_invalid; /* nonzero: a malformed record is skipped and counted, not fatal.
                         Damage to the file's structure (XML/JSON syntax, an unterminated
                         CSV quote, a field or record over the limits) is always fatal. */

    size_t max_field_len;  /* bytes in one CSV field, XML text or JSON string/number;
                              default 8 KiB (a decimal PhotoDNA is at most 575); at most
                              16 MiB */
    size_t max_record_len; /* bytes of one CSV row or te-lines/pdq-csv line; default
                              64 KiB; at most 16 MiB */
    unsigned max_depth;    /* JSON/XML nesting; default 64; at most 1024 */

    /* csv, te-csv: field delimiter; 0 = the format's default (csv: the most frequent of
     * ',', '\t', ';', '|' in the header line; te-csv: ','). pdq-csv splits on ',' always
     * (the file name, last, may hold commas); te-lines on white space. */
    char delimiter;
    /* csv: explicit column roles, applied over the header names recognised by default
     * (MD5, SHA1/SHA-1, SHA256/SHA-256, PDQ, PhotoDNA/PDNA, video_md5; category,
     * classification, grade; id, entry_id, media_id, image_id; member, member_id, esp_id;
     * created, timestamp, date_added; quality. Case, '-', '_' and spaces are ignored). */
    const struct hw_listfmt_column *columns;
    size_t n_columns;
    /* te-lines: the type of a line holding a bare hash; HW_HASH_NONE (default) makes such
     * lines invalid. */
    enum hw_hash_type default_type;

    /* Category rules consulted before the format's defaults (see hw_listfmt_catmap_parse). */
    const struct hw_listfmt_catmap_entry *catmap;
    size_t n_catmap;
};

/** Counters of one parse, for the summary. */
struct hw_listfmt_stats {
    uint64_t records;     /* source records read (rows, entries, items) */
    uint64_t upserts;     /* upsert records delivered (one per hash) */
    uint64_t deletes;     /* delete records delivered */
    uint64_t invalid;     /* invalid records skipped (skip_invalid) */
    uint64_t unsupported; /* hashes of a type the store does not hold (URL, TMK, ...) */
    uint64_t empty_file;  /* hashes of the empty file, dropped */
    uint64_t ignored;     /* records whose category maps to HW_LISTFMT_SEV_IGNORE */
};

typedef struct hw_listfmt_parser hw_listfmt_parser;

/**
 * Create a parser for one file of format `fmt`.
 *
 * @param fmt   a known format (not HW_LISTFMT_UNKNOWN; see hw_listfmt_detect)
 * @param opts  options; copied (the columns and catmap arrays and their strings too), so
 *              they need not outlive the call. on_record is required.
 * @param out   receives the parser; set to NULL on entry
 * @return HW_OK, HW_EINVAL (unknown format, no on_record, a column role that does not
 *         exist, a limit out of range), HW_ENOMEM.
 *
 * Ownership: free with hw_listfmt_parser_free().
 * Thread safety: a parser is used by one thread at a time; distinct parsers are independent.
 * An ncmec-xml parser sets libxml2's (per-thread) generic error handler of the calling thread
 * to a silent one, so that libxml2 never prints to stderr.
 */
int hw_listfmt_parser_new(enum hw_listfmt_format fmt, const struct hw_listfmt_options *opts,
                          hw_listfmt_parser **out, char *errbuf, size_t errbuf_len);

/**
 * Feed the next `len` bytes of the file. Records complete in them are delivered before the
 * call returns; a partial record is kept (within the limits) for the next call.
 *
 * @return HW_OK; HW_EFORMAT (a malformed record or structure, or a csv header without a
 *         hash column or without a mapped column), HW_ETOOBIG (a limit), HW_EUNSUPPORTED (an
 *         XML DOCTYPE / entity declaration: refused, never expanded), HW_ENOMEM, HW_EINVAL
 *         (data NULL with len > 0, or the parser has finished), or a callback's non-zero
 *         return. The errbuf message is the reason, never
 *         a hash value; hw_listfmt_position() gives where. After an error the parser is
 *         failed: every later call returns the same code.
 */
int hw_listfmt_feed(hw_listfmt_parser *p, const void *data, size_t len, char *errbuf,
                    size_t errbuf_len);

/**
 * Signal the end of the file and deliver the last record.
 * @return as hw_listfmt_feed(), plus HW_ETRUNCATED when the file ends inside a record,
 *         string or element.
 */
int hw_listfmt_finish(hw_listfmt_parser *p, char *errbuf, size_t errbuf_len);

/**
 * Where the parser is: the record being read (or that failed), for error messages as
 * "file:line". Either pointer may be NULL. Thread safety: as the parser.
 */
void hw_listfmt_position(const hw_listfmt_parser *p, uint64_t *line, uint64_t *record);

/** The counters so far. Thread safety: as the parser. */
void hw_listfmt_stats(const hw_listfmt_parser *p, struct hw_listfmt_stats *out);

/** Free a parser; NULL is accepted. */
void hw_listfmt_parser_free(hw_listfmt_parser *p);

/**
 * The severity the format's defaults (and the `catmap` rules first) give to a category.
 *
 * Defaults (shared/FORMATS.md sections 1.2, 2.4, 4.3, 8): UK A/B/C -> critical/high/medium;
 * NCMEC A1/A2/B1/B2 -> critical/high/high/medium; VICS 1 (CAM) critical, 2 (exploitive /
 * age difficult) medium, 3 (CGI/animation) medium, 4 (comparison) low, 0 (non-pertinent,
 * known-good) ignored; TE POSITIVE_CLASS high, INVESTIGATION_SEED medium, NEGATIVE_CLASS
 * ignored; StopNCII (NCII) high. Anything else: HW_SEV_UNKNOWN.
 *
 * @return an enum hw_severity value, or HW_LISTFMT_SEV_IGNORE. Thread-safe.
 */
int hw_listfmt_severity(enum hw_listfmt_format fmt, const char *category,
                        const struct hw_listfmt_catmap_entry *catmap, size_t n_catmap);

/**
 * Parse a category map: one rule per line, "CATEGORY=SEVERITY" (or ',' or a tab instead of
 * '='), where SEVERITY is unknown, low, medium, high, critical (or 0..4) or ignore; blank lines
 * and lines starting with '#' are skipped; CATEGORY "*" is the fallback.
 *
 * @param text, len  the file's bytes (at most 1 MiB)
 * @param out, n     receive a malloc'd array of rules and its length; *out NULL on entry
 * @return HW_OK, HW_EFORMAT (errbuf names the line), HW_ETOOBIG, HW_ENOMEM.
 * Ownership: the caller free()s *out. Thread safety: reentrant.
 */
int hw_listfmt_catmap_parse(const char *text, size_t len, struct hw_listfmt_catmap_entry **out,
                            size_t *n, char *errbuf, size_t errbuf_len);

/**
 * Decode a PhotoDNA hash from any of its text forms (base64 of 192 characters, hex of 288,
 * or 144 comma-separated decimal values), surrounding whitespace ignored.
 * @return HW_OK or HW_EFORMAT. Thread-safe.
 */
int hw_listfmt_photodna_decode(const char *s, size_t len, uint8_t out[144]);

#ifdef __cplusplus
}
#endif
#endif
