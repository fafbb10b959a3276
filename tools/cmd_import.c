/* cmd_import.c: `hashwatch import`: stream hash-list files into one atomic store batch. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_listfmt.h"
#include "hashlib/hw_pdq.h"
#include "hashlib/hw_store.h"

#define IMPORT_CHUNK       (256 * 1024)
#define IMPORT_MAX_COLUMNS 64
/* Invalid records printed one by one under --skip-invalid; the rest are only counted. */
#define IMPORT_MAX_ISSUES_SHOWN 20

static const char import_usage[] =
    "usage: hashwatch import [--store DIR] --list NAME [--format F] [--replace]\n"
    "         [--skip-invalid] [--source S] [--licence L] [--threshold N]\n"
    "         [--category-map FILE] [--delimiter C] [--column ROLE=NAME ...]\n"
    "         [--hash-type T] [--only-member ID[,ID...]] [--check] [--quiet]\n"
    "         FILE... ('-' is standard input)\n"
    "formats: ncmec-xml vics-json stopncii-json te-csv te-lines pdq-csv csv\n"
    "         (detected from the first bytes when unambiguous)\n"
    "--column roles (csv): md5 sha1 sha256 pdq photodna video_md5 category id member\n"
    "         created quality; --hash-type: the type of bare hashes in te-lines\n"
    "--check: read and validate the files only; the store is not opened\n"
    "--only-member: keep only records of these member/ESP ids (e.g. IWF's on NCMEC)\n"
    "--category-map: lines CATEGORY=SEVERITY (unknown low medium high critical ignore),\n"
    "         '*' for the rest\n";

struct import_ctx {
    hw_batch *batch;
    const char *file;
    int store_err;
    char store_msg[256];
    uint64_t applied; /* records given to the store, all files */
    uint64_t upserts, deletes;
    uint64_t low_quality;    /* PDQ records below the quality floor, skipped */
    const char *only_member; /* --only-member: comma-separated member ids to keep, or NULL */
    uint64_t other_member;   /* records of other members, skipped */
    uint64_t issues_shown;
    /* progress */
    int progress;
    uint64_t total_bytes; /* 0 when unknown (a pipe) */
    uint64_t done_bytes;
    double start, last_draw;
};

static double import_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether `member` is one of the comma-separated ids in `list` (pytx's only_esp_ids). */
static int import_member_kept(const char *list, const char *member)
{
    size_t ml = strlen(member);

    while (*list != '\0') {
        const char *comma = strchr(list, ',');
        size_t l = comma != NULL ? (size_t)(comma - list) : strlen(list);
        if (l == ml && ml > 0 && memcmp(list, member, l) == 0) {
            return 1;
        }
        list += l + (comma != NULL);
    }
    return 0;
}

static int import_on_record(void *vctx, const struct hw_listfmt_record *rec)
{
    struct import_ctx *c = vctx;
    int rc;

    if (c->only_member != NULL && !import_member_kept(c->only_member, rec->entry.member_id)) {
        c->other_member++;
        return HW_OK;
    }
    if (rec->op == HW_LISTFMT_UPSERT) {
        /* Upstream pdq/README.md: discard hashes of quality <= 49; they match noise. */
        if (rec->entry.type == HW_HASH_PDQ && rec->quality >= 0 &&
            rec->quality < HW_PDQ_QUALITY_MIN) {
            c->low_quality++;
            return HW_OK;
        }
        rc = c->batch == NULL ? HW_OK : hw_batch_put(c->batch, &rec->entry);
        c->upserts += rc == HW_OK;
    } else {
        rc = c->batch == NULL ? HW_OK : hw_batch_delete(c->batch, &rec->entry);
        c->deletes += rc == HW_OK;
    }
    if (rc != HW_OK) {
        c->store_err = rc;
        snprintf(c->store_msg, sizeof(c->store_msg), "store: %s", hw_strerror(rc));
        return rc;
    }
    c->applied++;
    return HW_OK;
}

static int import_on_issue(void *vctx, const struct hw_listfmt_issue *is)
{
    struct import_ctx *c = vctx;

    if (c->issues_shown < IMPORT_MAX_ISSUES_SHOWN) {
        if (c->progress) {
            fputs("\r\033[K", stderr);
        }
        fprintf(stderr, "hashwatch: %s:%llu: record %llu skipped: %s\n", c->file,
                (unsigned long long)is->line, (unsigned long long)is->record, is->reason);
    } else if (c->issues_shown == IMPORT_MAX_ISSUES_SHOWN) {
        fprintf(stderr, "hashwatch: further invalid records are counted, not shown\n");
    }
    c->issues_shown++;
    return HW_OK;
}

static void import_fmt_count(char *out, size_t cap, uint64_t v)
{
    char tmp[32];
    size_t n = (size_t)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < cap) {
            out[o++] = ',';
        }
        out[o++] = tmp[i];
    }
    out[o] = '\0';
}

/* Redraw the progress line at most ten times a second (or when forced). */
static void import_progress(struct import_ctx *c, int force)
{
    double now, el, rate;
    char recs[32], rs[32];

    if (!c->progress) {
        return;
    }
    now = import_now();
    if (!force && now - c->last_draw < 0.1) {
        return;
    }
    c->last_draw = now;
    el = now - c->start;
    rate = el > 0 ? (double)c->applied / el : 0;
    import_fmt_count(recs, sizeof(recs), c->applied);
    import_fmt_count(rs, sizeof(rs), (uint64_t)rate);
    if (c->total_bytes > 0) {
        double frac = (double)c->done_bytes / (double)c->total_bytes;
        int width = 30, filled;
        char bar[31];
        if (frac > 1) {
            frac = 1;
        }
        filled = (int)(frac * width);
        for (int i = 0; i < width; i++) {
            bar[i] = i < filled ? '#' : '.';
        }
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %3.0f%%  %s records  %s rec/s", bar, frac * 100, recs, rs);
        if (frac > 0.001 && el > 0.5) {
            double eta = el / frac - el;
            fprintf(stderr, "  ETA %d:%02d", (int)(eta / 60), (int)eta % 60);
        }
    } else {
        fprintf(stderr, "\r\033[K%s records  %s rec/s", recs, rs);
    }
    fflush(stderr);
}

static int import_parse_delim(const char *s, char *out)
{
    if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0) {
        *out = '\t';
    } else if (strcmp(s, "comma") == 0) {
        *out = ',';
    } else if (strcmp(s, "semicolon") == 0) {
        *out = ';';
    } else if (strcmp(s, "pipe") == 0) {
        *out = '|';
    } else if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r') {
        *out = s[0];
    } else {
        return -1;
    }
    return 0;
}

/* Import one file into the batch. Returns 0, or 1 after printing the error. */
static int import_file(struct import_ctx *c, const char *path, enum hw_listfmt_format fmt,
                       struct hw_listfmt_options *o, unsigned char *buf,
                       struct hw_listfmt_stats *sum)
{
    FILE *f = NULL;
    hw_listfmt_parser *p = NULL;
    char err[256];
    size_t n;
    int rc, ret = 1;
    uint64_t line = 0, record = 0;
    struct hw_listfmt_stats st;

    c->file = path;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_err("%s: %s", path, strerror(errno));
        goto done;
    }
    n = fread(buf, 1, IMPORT_CHUNK, f);
    if (ferror(f)) {
        cli_err("%s: read error: %s", path, strerror(errno));
        goto done;
    }
    if (fmt == HW_LISTFMT_UNKNOWN && o->n_columns > 0) {
        fmt = HW_LISTFMT_CSV; /* column mappings only make sense for csv */
    }
    if (fmt == HW_LISTFMT_UNKNOWN) {
        fmt = hw_listfmt_detect(buf, n);
        if (fmt == HW_LISTFMT_UNKNOWN) {
            cli_err("%s: cannot tell the list format from its first bytes; give --format", path);
            goto done;
        }
    }
    rc = hw_listfmt_parser_new(fmt, o, &p, err, sizeof(err));
    if (rc != HW_OK) {
        cli_err("%s: %s", path, err);
        goto done;
    }
    rc = HW_OK;
    while (n > 0 && rc == HW_OK) {
        rc = hw_listfmt_feed(p, buf, n, err, sizeof(err));
        c->done_bytes += n;
        import_progress(c, 0);
        if (rc != HW_OK) {
            break;
        }
        n = fread(buf, 1, IMPORT_CHUNK, f);
        if (ferror(f)) {
            cli_err("%s: read error: %s", path, strerror(errno));
            goto done;
        }
    }
    if (rc == HW_OK) {
        rc = hw_listfmt_finish(p, err, sizeof(err));
    }
    if (rc != HW_OK) {
        if (c->progress) {
            fputs("\r\033[K", stderr);
        }
        if (c->store_err != HW_OK) {
            cli_err("%s", c->store_msg);
        } else {
            char rec[48] = "";
            hw_listfmt_position(p, &line, &record);
            if (record > 0) {
                snprintf(rec, sizeof(rec), " record %llu", (unsigned long long)record);
            }
            cli_err("%s:%llu:%s (%s): %s", path, (unsigned long long)line, rec,
                    hw_listfmt_format_name(fmt), err);
        }
        goto done;
    }
    hw_listfmt_stats(p, &st);
    sum->records += st.records;
    sum->upserts += st.upserts;
    sum->deletes += st.deletes;
    sum->invalid += st.invalid;
    sum->unsupported += st.unsupported;
    sum->empty_file += st.empty_file;
    sum->ignored += st.ignored;
    ret = 0;
done:
    hw_listfmt_parser_free(p);
    if (f != NULL && f != stdin) {
        fclose(f);
    }
    return ret;
}

static uint64_t import_list_version(hw_store *s, const char *list)
{
    hw_snapshot *snap = NULL;
    struct hw_list_info *infos = NULL;
    size_t n = 0;
    uint64_t v = 0;

    if (hw_snapshot_begin(s, &snap, NULL, 0) != HW_OK ||
        hw_snapshot_lists(snap, NULL, 0, &n) != HW_OK || n == 0) {
        goto done;
    }
    infos = calloc(n, sizeof(*infos));
    if (infos == NULL || hw_snapshot_lists(snap, infos, n, &n) != HW_OK) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(infos[i].name, list) == 0) {
            v = infos[i].version;
        }
    }
done:
    free(infos);
    hw_snapshot_end(snap);
    return v;
}

int cli_import(int argc, char **argv)
{
    const char *store_dir = NULL, *list = NULL, *source = NULL, *licence = NULL;
    const char *catmap_path = NULL;
    const char *files[256];
    size_t n_files = 0, n_cols = 0;
    struct hw_listfmt_column cols[IMPORT_MAX_COLUMNS];
    char colbuf[IMPORT_MAX_COLUMNS][256];
    enum hw_listfmt_format fmt = HW_LISTFMT_UNKNOWN;
    int replace = 0, skip_invalid = 0, quiet = 0, check = 0, threshold = -1;
    int ret = CLI_EXIT_FAIL, rc;
    char delim = 0, err[256];
    enum hw_hash_type bare_type = HW_HASH_NONE;
    struct hw_listfmt_catmap_entry *catmap = NULL;
    size_t n_catmap = 0;
    unsigned char *buf = NULL, *mapbuf = NULL;
    size_t maplen = 0;
    hw_store *s = NULL;
    struct import_ctx c;
    struct hw_listfmt_options o;
    struct hw_listfmt_stats sum;
    struct hw_batch_stats bst;
    double elapsed;

    memset(&c, 0, sizeof(c));
    memset(&sum, 0, sizeof(sum));
    memset(&bst, 0, sizeof(bst));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        char name[32];
        size_t nl = eq != NULL ? (size_t)(eq - a) : strlen(a);
        static const char *const with_value[] = {
            "--store",     "--list",      "--format",      "--source",
            "--licence",   "--threshold", "--column",      "--category-map",
            "--delimiter", "--hash-type", "--only-member",
        };
        int takes = 0;

        if (strcmp(a, "-") == 0 || a[0] != '-') {
            if (n_files >= sizeof(files) / sizeof(files[0])) {
                cli_err("import: at most %zu files", sizeof(files) / sizeof(files[0]));
                ret = CLI_EXIT_USAGE;
                goto done;
            }
            files[n_files++] = a;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(import_usage, stdout);
            ret = CLI_EXIT_OK;
            goto done;
        }
        if (nl >= sizeof(name)) {
            nl = sizeof(name) - 1;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
            takes |= strcmp(name, with_value[k]) == 0;
        }
        if (takes) {
            if (eq != NULL) {
                v = eq + 1;
            } else if (i + 1 < argc) {
                v = argv[++i];
            } else {
                cli_err("import: %s needs a value", name);
                ret = CLI_EXIT_USAGE;
                goto done;
            }
        }
        if (strcmp(name, "--store") == 0) {
            store_dir = v;
        } else if (strcmp(name, "--list") == 0) {
            list = v;
        } else if (strcmp(name, "--format") == 0) {
            fmt = hw_listfmt_format_parse(v);
            if (fmt == HW_LISTFMT_UNKNOWN) {
                cli_err("import: unknown format '%s'", v);
                ret = CLI_EXIT_USAGE;
                goto done;
            }
        } else if (strcmp(name, "--source") == 0) {
            source = v;
        } else if (strcmp(name, "--licence") == 0) {
            licence = v;
        } else if (strcmp(name, "--threshold") == 0) {
            char *end;
            long t = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || t < 0 || t > 256) {
                cli_err("import: --threshold must be 0..256");
                ret = CLI_EXIT_USAGE;
                goto done;
            }
            threshold = (int)t;
        } else if (strcmp(name, "--column") == 0) {
            const char *e2 = strchr(v, '=');
            if (e2 == NULL || e2 == v || e2[1] == '\0' || strlen(v) >= sizeof(colbuf[0]) ||
                n_cols >= IMPORT_MAX_COLUMNS) {
                cli_err("import: --column takes ROLE=NAME (at most %d)", IMPORT_MAX_COLUMNS);
                ret = CLI_EXIT_USAGE;
                goto done;
            }
            memcpy(colbuf[n_cols], v, strlen(v) + 1);
            colbuf[n_cols][e2 - v] = '\0';
            cols[n_cols].role = colbuf[n_cols];
            cols[n_cols].name = colbuf[n_cols] + (e2 - v) + 1;
            n_cols++;
        } else if (strcmp(name, "--only-member") == 0) {
            c.only_member = v;
        } else if (strcmp(name, "--category-map") == 0) {
            catmap_path = v;
        } else if (strcmp(name, "--delimiter") == 0) {
            if (import_parse_delim(v, &delim) != 0) {
                cli_err("import: --delimiter takes one character, 'tab', 'comma', "
                        "'semicolon' or 'pipe'");
                ret = CLI_EXIT_USAGE;
                goto done;
            }
        } else if (strcmp(name, "--hash-type") == 0) {
            bare_type = hw_hash_type_parse(v);
            if (bare_type == HW_HASH_NONE) {
                cli_err("import: unknown hash type '%s'", v);
                ret = CLI_EXIT_USAGE;
                goto done;
            }
        } else if (strcmp(name, "--replace") == 0 && eq == NULL) {
            replace = 1;
        } else if (strcmp(name, "--skip-invalid") == 0 && eq == NULL) {
            skip_invalid = 1;
        } else if (strcmp(name, "--check") == 0 && eq == NULL) {
            check = 1;
        } else if (strcmp(name, "--quiet") == 0 && eq == NULL) {
            quiet = 1;
        } else {
            cli_err("import: unknown option '%s'", a);
            fputs(import_usage, stderr);
            ret = CLI_EXIT_USAGE;
            goto done;
        }
    }
    if (list == NULL || n_files == 0) {
        fputs(import_usage, stderr);
        ret = CLI_EXIT_USAGE;
        goto done;
    }
    if (catmap_path != NULL) {
        if (cli_read_file(catmap_path, 1024 * 1024, &mapbuf, &maplen, err, sizeof(err)) != 0) {
            cli_err("import: %s: %s", catmap_path, err);
            ret = CLI_EXIT_USAGE;
            goto done;
        }
        if (hw_listfmt_catmap_parse((const char *)mapbuf, maplen, &catmap, &n_catmap, err,
                                    sizeof(err)) != HW_OK) {
            cli_err("import: %s: %s", catmap_path, err);
            ret = CLI_EXIT_USAGE;
            goto done;
        }
    }
    buf = malloc(IMPORT_CHUNK);
    if (buf == NULL) {
        cli_err("import: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_files; i++) {
        struct stat sb;
        if (strcmp(files[i], "-") != 0 && stat(files[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            c.total_bytes += (uint64_t)sb.st_size;
        } else {
            c.total_bytes = 0; /* a pipe: no percentage or ETA */
            break;
        }
    }
    if (!check) {
        rc = hw_store_open(cli_store_dir(store_dir), 0, &s, err, sizeof(err));
        if (rc != HW_OK) {
            cli_err("import: store %s: %s", cli_store_dir(store_dir), err);
            goto done;
        }
        rc = hw_batch_begin(s, list, replace ? HW_BATCH_REPLACE : 0, &c.batch, err, sizeof(err));
        if (rc != HW_OK) {
            cli_err("import: %s", err);
            goto done;
        }
    }
    memset(&o, 0, sizeof(o));
    o.on_record = import_on_record;
    o.on_issue = import_on_issue;
    o.ctx = &c;
    o.skip_invalid = skip_invalid;
    o.delimiter = delim;
    o.columns = cols;
    o.n_columns = n_cols;
    o.default_type = bare_type;
    o.catmap = catmap;
    o.n_catmap = n_catmap;
    c.progress = !quiet && isatty(STDERR_FILENO);
    c.start = c.last_draw = import_now();
    for (size_t i = 0; i < n_files; i++) {
        if (import_file(&c, files[i], fmt, &o, buf, &sum) != 0) {
            if (check) {
                cli_err("import: check failed");
            } else {
                cli_err("import: nothing was applied to list '%s'", list);
            }
            goto done;
        }
    }
    import_progress(&c, 1);
    if (c.progress) {
        fputs("\r\033[K", stderr);
    }
    if (check) {
        /* --check: the files were read and validated; the store was not opened. */
        printf("check: %llu source records in %zu file%s: %llu upserts, %llu deletes, %llu "
               "invalid; nothing was written\n",
               (unsigned long long)sum.records, n_files, n_files == 1 ? "" : "s",
               (unsigned long long)c.upserts, (unsigned long long)c.deletes,
               (unsigned long long)sum.invalid);
        ret = CLI_EXIT_OK;
        goto done;
    }
    if (replace && c.applied == 0) {
        /* An empty or wholly unusable file would otherwise wipe the list. */
        cli_err("import: --replace with no usable records would empty list '%s'; nothing was "
                "applied (use `hashwatch lists remove` to delete a list)",
                list);
        goto done;
    }
    if (c.progress) {
        /* The commit (index upkeep, durable write) can take a while on a big import. */
        fprintf(stderr, "\r\033[Kcommitting %llu records...", (unsigned long long)c.applied);
        fflush(stderr);
    }
    rc = hw_batch_commit(c.batch, &bst, err, sizeof(err));
    c.batch = NULL;
    if (c.progress) {
        fputs("\r\033[K", stderr);
    }
    if (rc != HW_OK) {
        cli_err("import: commit: %s; nothing was applied", err);
        goto done;
    }
    if (source != NULL || licence != NULL || threshold >= 0) {
        struct hw_list_config cfg = {source, licence, threshold};
        rc = hw_store_list_set(s, list, &cfg, err, sizeof(err));
        if (rc != HW_OK) {
            cli_err("import: the records were imported, but setting the list's metadata "
                    "failed: %s",
                    err);
            goto done;
        }
    }
    elapsed = import_now() - c.start;
    printf("list %s: %llu added, %llu updated, %llu deleted, %llu unchanged, %llu invalid; "
           "version %llu\n",
           list, (unsigned long long)bst.added, (unsigned long long)bst.updated,
           (unsigned long long)bst.deleted, (unsigned long long)bst.unchanged,
           (unsigned long long)sum.invalid, (unsigned long long)import_list_version(s, list));
    printf("%llu source records in %zu file%s, %.2f s (%.0f records/s)",
           (unsigned long long)sum.records, n_files, n_files == 1 ? "" : "s", elapsed,
           elapsed > 0 ? (double)c.applied / elapsed : 0.0);
    if (c.only_member != NULL) {
        printf("; %llu records of other members skipped", (unsigned long long)c.other_member);
    }
    if (sum.unsupported + sum.empty_file + sum.ignored + c.low_quality > 0) {
        printf("; not imported: %llu of unsupported types, %llu empty-file hashes, %llu by "
               "category, %llu PDQ of quality < %d",
               (unsigned long long)sum.unsupported, (unsigned long long)sum.empty_file,
               (unsigned long long)sum.ignored, (unsigned long long)c.low_quality,
               HW_PDQ_QUALITY_MIN);
    }
    printf("\n");
    ret = CLI_EXIT_OK;
done:
    hw_batch_abort(c.batch);
    hw_store_close(s);
    free(buf);
    free(mapbuf);
    free(catmap);
    return ret;
}
