/* cmd_lists.c: `hashwatch lists`: show, configure and remove the store's hash lists. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hashlib/hw_error.h>
#include <hashlib/hw_store.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hashwatch lists [--store DIR] [--json]\n"
            "       hashwatch lists set NAME [--threshold N] [--source S] [--licence L]\n"
            "       hashwatch lists remove NAME\n"
            "  (every form takes --store DIR)\n"
            "Shows each list's name, entry counts per hash type, version, PDQ threshold and\n"
            "last update; `set` creates a list or changes its metadata (the threshold is the\n"
            "largest PDQ distance that matches, 0..256, default %d); `remove` deletes a list\n"
            "and all its entries atomically.\n",
            HW_PDQ_THRESHOLD_DEFAULT);
}

static void iso_time(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, len, "-");
    }
}

static int show(hw_store *s, int json)
{
    hw_snapshot *snap = NULL;
    struct hw_list_info *infos = NULL;
    size_t n = 0, n2 = 0;
    char err[256] = "", when[32];
    int status = CLI_EXIT_FAIL;

    if (hw_snapshot_begin(s, &snap, err, sizeof(err)) != HW_OK ||
        hw_snapshot_lists(snap, NULL, 0, &n) != HW_OK) {
        cli_err("lists: %s", err);
        goto done;
    }
    infos = calloc(n + 1, sizeof(*infos));
    if (infos == NULL || hw_snapshot_lists(snap, infos, n, &n2) != HW_OK) {
        cli_err("lists: out of memory");
        goto done;
    }
    if (!json) {
        printf("%-24s %10s %10s %10s %10s %10s %10s %8s %4s  %s\n", "NAME", "PDQ", "MD5", "SHA1",
               "SHA256", "PHOTODNA", "VIDEO_MD5", "VERSION", "THR", "UPDATED");
    }
    for (size_t i = 0; i < n; i++) {
        const struct hw_list_info *l = &infos[i];
        iso_time(l->updated, when, sizeof(when));
        if (json) {
            json_t *o = json_object(), *counts = json_object();
            char *text = NULL, created[32];
            if (o == NULL || counts == NULL) {
                json_decref(o);
                json_decref(counts);
                cli_err("lists: out of memory");
                goto done;
            }
            iso_time(l->created, created, sizeof(created));
            json_object_set_new(o, "name", json_string(l->name));
            for (int t = 1; t < HW_HASH_TYPE_COUNT; t++) {
                json_object_set_new(counts, hw_hash_type_name((enum hw_hash_type)t),
                                    json_integer((json_int_t)l->counts[t]));
            }
            json_object_set_new(o, "counts", counts);
            json_object_set_new(o, "version", json_integer((json_int_t)l->version));
            json_object_set_new(o, "pdq_threshold", json_integer(l->pdq_threshold));
            json_object_set_new(o, "source", json_string(l->source));
            json_object_set_new(o, "licence", json_string(l->licence));
            json_object_set_new(o, "created", json_string(created));
            json_object_set_new(o, "updated", json_string(when));
            text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(o);
            if (text == NULL) {
                cli_err("lists: out of memory");
                goto done;
            }
            puts(text);
            free(text);
        } else {
            printf("%-24s %10llu %10llu %10llu %10llu %10llu %10llu %8llu %4d  %s\n", l->name,
                   (unsigned long long)l->counts[HW_HASH_PDQ],
                   (unsigned long long)l->counts[HW_HASH_MD5],
                   (unsigned long long)l->counts[HW_HASH_SHA1],
                   (unsigned long long)l->counts[HW_HASH_SHA256],
                   (unsigned long long)l->counts[HW_HASH_PHOTODNA],
                   (unsigned long long)l->counts[HW_HASH_VIDEO_MD5], (unsigned long long)l->version,
                   l->pdq_threshold, when);
        }
    }
    status = CLI_EXIT_OK;
done:
    free(infos);
    hw_snapshot_end(snap);
    return status;
}

int cli_lists(int argc, char **argv)
{
    const char *store_dir = NULL, *action = NULL, *name = NULL;
    struct hw_list_config cfg = {NULL, NULL, -1};
    int json = 0, status = CLI_EXIT_USAGE, rc;
    hw_store *s = NULL;
    char err[512] = "";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (a[0] != '-') {
            if (action == NULL) {
                action = a;
            } else if (name == NULL) {
                name = a;
            } else {
                cli_err("lists: unexpected argument %s", a);
                usage(stderr);
                return CLI_EXIT_USAGE;
            }
        } else if (i + 1 >= argc) {
            cli_err("lists: %s needs a value", a);
            return CLI_EXIT_USAGE;
        } else if (strcmp(a, "--store") == 0) {
            store_dir = argv[++i];
        } else if (strcmp(a, "--source") == 0) {
            cfg.source = argv[++i];
        } else if (strcmp(a, "--licence") == 0 || strcmp(a, "--license") == 0) {
            cfg.licence = argv[++i];
        } else if (strcmp(a, "--threshold") == 0) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || end == argv[i] || v < 0 || v > 256) {
                cli_err("lists: --threshold needs 0..256");
                return CLI_EXIT_USAGE;
            }
            cfg.pdq_threshold = (int)v;
        } else {
            cli_err("lists: unknown option %s", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (action != NULL && strcmp(action, "set") != 0 && strcmp(action, "remove") != 0) {
        cli_err("lists: unknown action '%s'", action);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (action != NULL && name == NULL) {
        cli_err("lists %s: needs a list NAME", action);
        return CLI_EXIT_USAGE;
    }
    if ((action == NULL || strcmp(action, "remove") == 0) &&
        (cfg.source != NULL || cfg.licence != NULL || cfg.pdq_threshold >= 0)) {
        cli_err("lists: --threshold, --source and --licence go with `lists set`");
        return CLI_EXIT_USAGE;
    }
    rc = hw_store_open(cli_store_dir(store_dir), action == NULL ? HW_STORE_RDONLY : 0, &s, err,
                       sizeof(err));
    if (rc != HW_OK) {
        cli_err("lists: %s", err);
        return CLI_EXIT_FAIL;
    }
    if (action == NULL) {
        status = show(s, json);
    } else if (strcmp(action, "set") == 0) {
        rc = hw_store_list_set(s, name, &cfg, err, sizeof(err));
        status = rc == HW_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        if (rc != HW_OK) {
            cli_err("lists set %s: %s", name, err[0] ? err : hw_strerror(rc));
        }
    } else {
        rc = hw_store_list_remove(s, name, err, sizeof(err));
        status = rc == HW_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        if (rc != HW_OK) {
            cli_err("lists remove %s: %s", name, err[0] ? err : hw_strerror(rc));
        }
    }
    hw_store_close(s);
    return status;
}
