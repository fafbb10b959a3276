/* cmd_lookup.c: `hashwatch lookup`, exact and PDQ near look-ups of hashes or image files. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hashlib/hw_digest.h>
#include <hashlib/hw_error.h>
#include <hashlib/hw_hasher.h>
#include <hashlib/hw_store.h>

#include "cli.h"

#define LOOKUP_MAX_FILE  ((size_t)256 << 20) /* larger than any image the hasher accepts */
#define LOOKUP_MAX_LISTS 64
#define LOOKUP_CAP       1000 /* matches printed per query; the total is always reported */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hashwatch lookup [--store DIR] [--json] [--list NAME]... QUERY...\n"
            "QUERY is any of:\n"
            "  --pdq HEX [--max-distance N] [--variants]   near matches by Hamming distance\n"
            "                          (--variants: also the 7 rotations/mirrors, approximated\n"
            "                          from the hash bits; exact for FILE queries)\n"
            "  --md5 HEX | --sha1 HEX | --sha256 HEX | --video-md5 HEX | --photodna HEX\n"
            "  FILE (or - for stdin)   hash the image: its MD5/SHA-1/SHA-256 exactly, and its\n"
            "                          PDQ with all 8 rotations/mirrors (when quality >= %d)\n"
            "Prints one line per match: query, list, entry id, category, type, distance,\n"
            "variant (--json: one JSON object per match). --max-distance never raises a list's\n"
            "own threshold. --list restricts to the named lists.\n"
            "Exit status: 0 some match, 1 no match (prints nothing) or an error, 2 usage.\n",
            HW_PDQ_QUALITY_MIN);
}

struct lookup {
    hw_snapshot *snap;
    struct hw_match_opts opts;
    int json;
    size_t n_matches;
    struct hw_match *m;
};

static int print_match(struct lookup *lk, const char *query, const struct hw_match *m)
{
    if (lk->json) {
        json_t *o = json_object();
        char *text;

        if (o == NULL) {
            return -1;
        }
        json_object_set_new(o, "query", json_string(query));
        json_object_set_new(o, "list", json_string(m->list));
        json_object_set_new(o, "list_version", json_integer((json_int_t)m->list_version));
        json_object_set_new(o, "entry_id", json_string(m->entry.entry_id));
        json_object_set_new(o, "member_id", json_string(m->entry.member_id));
        json_object_set_new(o, "category", json_string(m->entry.category));
        json_object_set_new(o, "severity", json_string(hw_severity_name(m->entry.severity)));
        json_object_set_new(o, "type", json_string(hw_hash_type_name(m->entry.type)));
        json_object_set_new(o, "distance", json_integer(m->distance));
        json_object_set_new(o, "variant", json_string(hw_dihedral_name(m->variant)));
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (text == NULL) {
            return -1;
        }
        puts(text);
        free(text);
    } else {
        printf("%s\t%s\t%s\t%s\t%s\t%d\t%s\n", query, m->list,
               m->entry.entry_id[0] ? m->entry.entry_id : "-",
               m->entry.category[0] ? m->entry.category : "-", hw_hash_type_name(m->entry.type),
               m->distance, hw_dihedral_name(m->variant));
    }
    return 0;
}

static int report(struct lookup *lk, const char *query, size_t n)
{
    size_t shown = n < LOOKUP_CAP ? n : LOOKUP_CAP;

    for (size_t i = 0; i < shown; i++) {
        if (print_match(lk, query, &lk->m[i]) != 0) {
            cli_err("lookup: out of memory");
            return -1;
        }
    }
    if (n > shown) {
        cli_err("lookup %s: %zu matches, first %zu shown", query, n, shown);
    }
    lk->n_matches += n;
    return 0;
}

static int lookup_exact(struct lookup *lk, const char *query, enum hw_hash_type t,
                        const uint8_t *hash)
{
    size_t n = 0;
    int rc = hw_snapshot_match_exact(lk->snap, t, hash, &lk->opts, lk->m, LOOKUP_CAP, &n);

    if (rc != HW_OK) {
        cli_err("lookup %s: %s", query, hw_strerror(rc));
        return -1;
    }
    return report(lk, query, n);
}

static int lookup_pdq(struct lookup *lk, const char *query, const struct hw_pdq *q, int variants)
{
    struct hw_match_opts o = lk->opts;
    size_t n = 0;
    int rc;

    o.variants = variants;
    rc = hw_snapshot_match_pdq(lk->snap, q, &o, lk->m, LOOKUP_CAP, &n);
    if (rc != HW_OK) {
        cli_err("lookup %s: %s", query, hw_strerror(rc));
        return -1;
    }
    return report(lk, query, n);
}

/*
 * Variants of a bare hash. The reference derives them from the 16x16 DCT matrix (transpose and
 * negate alternate coefficients, pdqhashing.cpp dct16OriginalTo*) and then thresholds at the
 * new matrix's median; from the bits alone a negated coefficient is approximated by the
 * inverted bit. Exact variants need the image: FILE queries use those.
 */
static void pdq_dihedral(const struct hw_pdq *h, struct hw_pdq out[HW_DIH_COUNT])
{
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        memset(&out[v], 0, sizeof(out[v]));
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 16; j++) {
                int k = 16 * i + j, bit = (int)((h->q[k >> 6] >> (k & 63)) & 1), neg = 0;
                int transpose = 0;

                switch (v) {
                case HW_DIH_ROT90:
                    transpose = 1;
                    neg = !(j & 1);
                    break;
                case HW_DIH_ROT180:
                    neg = (i + j) & 1;
                    break;
                case HW_DIH_ROT270:
                    transpose = 1;
                    neg = !(i & 1);
                    break;
                case HW_DIH_FLIPX:
                    neg = !(i & 1);
                    break;
                case HW_DIH_FLIPY:
                    neg = !(j & 1);
                    break;
                case HW_DIH_FLIPPLUS1:
                    transpose = 1;
                    break;
                case HW_DIH_FLIPMINUS1:
                    transpose = 1;
                    neg = (i + j) & 1;
                    break;
                default:
                    break;
                }
                k = transpose ? 16 * j + i : k;
                out[v].q[k >> 6] |= (uint64_t)(bit ^ neg) << (k & 63);
            }
        }
    }
}

static int lookup_file(struct lookup *lk, hw_hasher *hasher, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    struct hw_hash_result r;
    char err[256] = "";
    int rc = -1, hrc;

    if (cli_read_file(path, LOOKUP_MAX_FILE, &data, &len, err, sizeof(err)) != 0) {
        cli_err("%s: %s", path, err);
        goto done;
    }
    hrc = hw_hasher_hash(hasher, data, len, 0, &r, err, sizeof(err));
    if (lookup_exact(lk, path, HW_HASH_MD5, r.digests.md5) != 0 ||
        lookup_exact(lk, path, HW_HASH_SHA1, r.digests.sha1) != 0 ||
        lookup_exact(lk, path, HW_HASH_SHA256, r.digests.sha256) != 0) {
        goto done;
    }
    if (hrc != HW_OK) {
        cli_err("%s: not matched by PDQ: %s%s%s", path, hw_strerror(hrc), err[0] ? ": " : "", err);
    } else if (r.quality < HW_PDQ_QUALITY_MIN) {
        /* Upstream pdq/README.md: discard hashes of quality <= 49. */
        cli_err("%s: PDQ quality %d is below %d: not matched by PDQ", path, r.quality,
                HW_PDQ_QUALITY_MIN);
    } else if (lookup_pdq(lk, path, r.pdq, 1) != 0) {
        goto done;
    }
    rc = 0;
done:
    free(data);
    return rc;
}

static int parse_hex(const char *opt, const char *s, enum hw_hash_type t, uint8_t *out)
{
    size_t n = hw_hash_type_len(t);

    if (hw_hex_decode(s, strlen(s), out, n) != HW_OK) {
        cli_err("lookup: %s needs %zu hex digits", opt, 2 * n);
        return -1;
    }
    return 0;
}

struct query {
    enum hw_hash_type type; /* NONE: a file */
    const char *text;
};

int cli_lookup(int argc, char **argv)
{
    const char *store_dir = NULL, *lists[LOOKUP_MAX_LISTS];
    struct query *qs = NULL;
    size_t n_q = 0, n_lists = 0;
    int variants = 0, max_distance = -1, json = 0, status = CLI_EXIT_USAGE, have_pdq = 0;
    hw_store *s = NULL;
    hw_hasher *hasher = NULL;
    struct lookup lk;
    char err[512] = "";

    memset(&lk, 0, sizeof(lk));
    qs = calloc((size_t)argc + 1, sizeof(*qs));
    if (qs == NULL) {
        cli_err("lookup: out of memory");
        return CLI_EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        enum hw_hash_type t = HW_HASH_NONE;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            status = CLI_EXIT_OK;
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        } else if (strcmp(a, "--variants") == 0) {
            variants = 1;
            continue;
        } else if (strcmp(a, "-") == 0 || a[0] != '-') {
            qs[n_q].type = HW_HASH_NONE;
            qs[n_q++].text = a;
            continue;
        }
        if (i + 1 >= argc) {
            cli_err("lookup: %s needs a value", a);
            usage(stderr);
            goto done;
        }
        if (strcmp(a, "--store") == 0) {
            store_dir = argv[++i];
        } else if (strcmp(a, "--list") == 0) {
            if (n_lists == LOOKUP_MAX_LISTS) {
                cli_err("lookup: at most %d --list", LOOKUP_MAX_LISTS);
                goto done;
            }
            lists[n_lists++] = argv[++i];
        } else if (strcmp(a, "--max-distance") == 0) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || end == argv[i] || v < 0 || v > 256) {
                cli_err("lookup: --max-distance needs 0..256");
                goto done;
            }
            max_distance = (int)v;
        } else if (strcmp(a, "--pdq") == 0) {
            t = HW_HASH_PDQ;
            have_pdq = 1;
        } else if (strcmp(a, "--md5") == 0) {
            t = HW_HASH_MD5;
        } else if (strcmp(a, "--sha1") == 0) {
            t = HW_HASH_SHA1;
        } else if (strcmp(a, "--sha256") == 0) {
            t = HW_HASH_SHA256;
        } else if (strcmp(a, "--video-md5") == 0) {
            t = HW_HASH_VIDEO_MD5;
        } else if (strcmp(a, "--photodna") == 0) {
            t = HW_HASH_PHOTODNA;
        } else {
            cli_err("lookup: unknown option %s", a);
            usage(stderr);
            goto done;
        }
        if (t != HW_HASH_NONE) {
            qs[n_q].type = t;
            qs[n_q++].text = argv[++i];
        }
    }
    if (n_q == 0) {
        usage(stderr);
        goto done;
    }
    if ((variants || max_distance >= 0) && !have_pdq) {
        int files = 0;
        for (size_t i = 0; i < n_q; i++) {
            files |= qs[i].type == HW_HASH_NONE;
        }
        if (!files) {
            cli_err("lookup: --variants and --max-distance apply to --pdq and FILE queries");
            goto done;
        }
    }
    status = CLI_EXIT_FAIL;
    if (hw_store_open(cli_store_dir(store_dir), HW_STORE_RDONLY, &s, err, sizeof(err)) != HW_OK) {
        cli_err("lookup: %s", err);
        goto done;
    }
    lk.json = json;
    lk.opts.lists = n_lists > 0 ? lists : NULL;
    lk.opts.n_lists = n_lists;
    lk.opts.max_distance = max_distance;
    lk.m = calloc(LOOKUP_CAP, sizeof(*lk.m));
    if (lk.m == NULL || hw_snapshot_begin(s, &lk.snap, err, sizeof(err)) != HW_OK) {
        cli_err("lookup: %s", lk.m == NULL ? "out of memory" : err);
        goto done;
    }
    for (size_t i = 0; i < n_q; i++) {
        uint8_t hash[HW_HASH_MAX_LEN];
        int rc;

        if (qs[i].type == HW_HASH_NONE) {
            if (hasher == NULL && hw_hasher_new(NULL, &hasher) != HW_OK) {
                cli_err("lookup: out of memory");
                goto done;
            }
            rc = lookup_file(&lk, hasher, qs[i].text);
        } else if (qs[i].type == HW_HASH_PDQ) {
            struct hw_pdq q[HW_DIH_COUNT];
            if (hw_pdq_from_hex(qs[i].text, strlen(qs[i].text), &q[0]) != HW_OK) {
                cli_err("lookup: --pdq needs 64 hex digits");
                status = CLI_EXIT_USAGE;
                goto done;
            }
            if (variants) {
                struct hw_pdq orig = q[0];
                pdq_dihedral(&orig, q);
                cli_err("lookup: --variants with --pdq: rotations derived from the hash bits "
                        "are approximate; give the image file for exact ones");
            }
            rc = lookup_pdq(&lk, qs[i].text, q, variants);
        } else {
            if (parse_hex("hash", qs[i].text, qs[i].type, hash) != 0) {
                status = CLI_EXIT_USAGE;
                goto done;
            }
            rc = lookup_exact(&lk, qs[i].text, qs[i].type, hash);
        }
        if (rc != 0) {
            goto done;
        }
    }
    status = lk.n_matches > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    hw_snapshot_end(lk.snap);
    hw_hasher_free(hasher);
    hw_store_close(s);
    free(lk.m);
    free(qs);
    return status;
}
