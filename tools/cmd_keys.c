/* cmd_keys.c: hashwatch keys create|list|revoke: API keys for hashwatchd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_keys.h"

static void keys_usage(FILE *f)
{
    fprintf(f, "usage: hashwatch keys create --role check|analyst|admin --name NAME\n"
               "                             [--lists a,b] [--rate R] [--store DIR]\n"
               "       hashwatch keys list [--store DIR]\n"
               "       hashwatch keys revoke ID [--store DIR]\n"
               "\n"
               "create prints the new key alone on the first line of standard output; it is\n"
               "shown once and stored only as a SHA-256 of its secret. Roles: check (POST\n"
               "/v1/check and the HMA endpoints), analyst (adds /v1/lookup, distances and\n"
               "provenance; audited), admin (adds list management; audited). --lists limits\n"
               "the key to those lists; --rate limits it to R requests per second (0 = no\n"
               "limit). revoke takes the id shown by list (or the whole key) and takes effect\n"
               "on the running server's next request.\n");
}

static void fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0) {
        snprintf(out, n, "-");
        return;
    }
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_keys(int argc, char **argv)
{
    const char *sub = NULL, *role = NULL, *name = NULL, *lists = NULL, *rate_s = NULL;
    const char *store_flag = NULL, *id = NULL;
    hw_store *store = NULL;
    hw_keys *keys = NULL;
    char eb[256] = "";
    int rc = CLI_EXIT_FAIL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            keys_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--role") == 0) {
            dst = &role;
        } else if (strcmp(a, "--name") == 0) {
            dst = &name;
        } else if (strcmp(a, "--lists") == 0) {
            dst = &lists;
        } else if (strcmp(a, "--rate") == 0) {
            dst = &rate_s;
        } else if (strcmp(a, "--store") == 0) {
            dst = &store_flag;
        } else if (a[0] == '-') {
            cli_err("keys: unknown option '%s'", a);
            keys_usage(stderr);
            return CLI_EXIT_USAGE;
        } else if (sub == NULL) {
            sub = a;
            continue;
        } else if (id == NULL) {
            id = a;
            continue;
        } else {
            cli_err("keys: unexpected argument '%s'", a);
            return CLI_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            cli_err("keys: %s needs a value", a);
            return CLI_EXIT_USAGE;
        }
        *dst = argv[++i];
    }
    if (sub == NULL) {
        keys_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "create") == 0) {
        if (role == NULL || name == NULL || id != NULL) {
            cli_err("keys create needs --role and --name");
            return CLI_EXIT_USAGE;
        }
        if (hw_role_parse(role) == HW_ROLE_NONE) {
            cli_err("keys create: --role must be check, analyst or admin");
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(sub, "revoke") == 0) {
        if (id == NULL) {
            cli_err("keys revoke needs an ID");
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(sub, "list") != 0 || id != NULL) {
        cli_err("keys: unknown subcommand '%s'", sub);
        keys_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    {
        const char *dir = cli_store_dir(store_flag);
        mkdir(dir, 0700);
        if (hw_store_open(dir, 0, &store, eb, sizeof(eb)) != HW_OK) {
            cli_err("store %s: %s", dir, eb);
            return CLI_EXIT_FAIL;
        }
    }
    if (hw_keys_open(store, &keys, eb, sizeof(eb)) != HW_OK) {
        cli_err("keys: %s", eb);
        goto out;
    }
    if (strcmp(sub, "create") == 0) {
        char key[HW_KEY_TEXT_MAX];
        struct hw_key_info info;
        double rate = 0;
        if (rate_s != NULL) {
            char *end = NULL;
            rate = strtod(rate_s, &end);
            if (end == rate_s || *end != '\0') {
                cli_err("keys create: --rate must be a number");
                rc = CLI_EXIT_USAGE;
                goto out;
            }
        }
        if (hw_keys_create(keys, name, hw_role_parse(role), lists, rate, key, &info, eb,
                           sizeof(eb)) != HW_OK) {
            cli_err("keys create: %s", eb);
            goto out;
        }
        printf("%s\n", key);
        printf("id %s  role %s  name %s  lists %s  rate %g/s\n"
               "(the key is shown only this once)\n",
               info.id, hw_role_name(info.role), info.name, info.lists[0] ? info.lists : "(all)",
               info.rate);
        memset(key, 0, sizeof(key));
    } else if (strcmp(sub, "list") == 0) {
        struct hw_key_info *all = NULL;
        size_t n = 0;
        if (hw_keys_list(keys, NULL, 0, &n, eb, sizeof(eb)) != HW_OK) {
            cli_err("keys list: %s", eb);
            goto out;
        }
        all = calloc(n ? n : 1, sizeof(*all));
        if (all == NULL || hw_keys_list(keys, all, n, &n, eb, sizeof(eb)) != HW_OK) {
            free(all);
            cli_err("keys list: %s", eb[0] ? eb : "out of memory");
            goto out;
        }
        printf("%-16s  %-7s  %-20s  %-8s  %-20s  %-20s  %s\n", "ID", "ROLE", "CREATED", "RATE",
               "REVOKED", "NAME", "LISTS");
        for (size_t i = 0; i < n; i++) {
            char c[32], r[32], rate[16];
            fmt_time(all[i].created, c, sizeof(c));
            fmt_time(all[i].revoked, r, sizeof(r));
            if (all[i].rate > 0) {
                snprintf(rate, sizeof(rate), "%g/s", all[i].rate);
            } else {
                snprintf(rate, sizeof(rate), "-");
            }
            printf("%-16s  %-7s  %-20s  %-8s  %-20s  %-20s  %s\n", all[i].id,
                   hw_role_name(all[i].role), c, rate, r, all[i].name,
                   all[i].lists[0] ? all[i].lists : "(all)");
        }
        free(all);
    } else {
        if (hw_keys_revoke(keys, id, eb, sizeof(eb)) != HW_OK) {
            cli_err("keys revoke: %s", eb);
            goto out;
        }
        printf("revoked %.*s\n", 16, strncmp(id, "hwk_", 4) == 0 ? id + 4 : id);
    }
    rc = CLI_EXIT_OK;
out:
    hw_keys_close(keys);
    hw_store_close(store);
    return rc;
}
