/* config.c: hashwatchd's configuration: defaults, command-line flags, config files, --help. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

void srv_config_default(struct srv_config *c)
{
    const char *env = getenv("HASHWATCH_STORE");

    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
    snprintf(c->store, sizeof(c->store), "%s",
             env != NULL && env[0] != '\0' ? env : "./hashwatch-data");
    c->max_body = (size_t)32 * 1024 * 1024;
    c->max_connections = 1024;
    c->max_per_ip = 64;
    c->timeout = 30;
    c->deadline = 60;
    c->lookup_max = 1000;
    c->hot_index_mib = 256;
}

void srv_usage(FILE *f)
{
    fprintf(f,
            "usage: hashwatchd [options]\n"
            "\n"
            "Serves /v1/check, /v1/lookup, /v1/lists, the HMA-compatible /m/ and /h/ endpoints,\n"
            "/healthz, /readyz, /metrics and /openapi.json. Every option can also be given in a\n"
            "--config file as a 'key = value' line (key = option name without the dashes).\n"
            "\n"
            "  --config FILE          read options from FILE (later flags override it)\n"
            "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080; [::1]:PORT\n"
            "                         for IPv6; port 0 picks a free port and prints it)\n"
            "  --store DIR            the store directory (default $HASHWATCH_STORE, else\n"
            "                         ./hashwatch-data)\n"
            "  --tls-cert FILE        PEM certificate: serve HTTPS (needs --tls-key)\n"
            "  --tls-key FILE         PEM private key for --tls-cert\n"
            "  --workers N            hashing threads (default: one per online core)\n"
            "  --http-threads N       HTTP polling threads (default: one per online core)\n"
            "  --queue N              hashing jobs that may wait; beyond it 503 + Retry-After\n"
            "                         (default 4 x workers)\n"
            "  --max-body BYTES       largest request body (default 33554432 = 32 MiB);\n"
            "                         suffixes k, M accepted\n"
            "  --max-connections N    simultaneous connections (default 1024)\n"
            "  --max-per-ip N         simultaneous connections per client address (default 64,\n"
            "                         0 = unlimited)\n"
            "  --timeout SECONDS      close a connection idle this long (default 30)\n"
            "  --deadline SECONDS     a request must be received and answered within this\n"
            "                         (default 60); ends clients that trickle bytes\n"
            "  --lookup-max N         hashes per /v1/lookup request (default 1000); JSON\n"
            "                         bodies are capped at 64 KiB + 512 bytes per hash\n"
            "  --hot-index MIB        search a PDQ index of at least MIB MiB in a copy held in\n"
            "                         transparent huge pages, made in the background after\n"
            "                         each rebuild (default 256; 0 = search LMDB's map only);\n"
            "                         faster look-ups on large lists for that memory again\n"
            "  --audit-log FILE       audit log (default <store>/audit.log)\n"
            "  --log FILE             request log, one line per request (default stderr);\n"
            "                         reopened on SIGHUP\n"
            "  --demo                 if the store has no lists, create list 'demo' and an\n"
            "                         analyst key, and print a curl line that gets a match\n"
            "  --help                 this text\n"
            "\n"
            "Signals: SIGTERM/SIGINT drain in-flight requests and exit; SIGHUP reopens --log.\n");
}

static int cfg_uint(const char *v, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long x;
    unsigned long long mul = 1;

    if (v == NULL || *v == '\0' || *v == '-') {
        return -1;
    }
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || end == v) {
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        mul = 1024;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        mul = 1024 * 1024;
        end++;
    } else if (*end == 'G' || *end == 'g') {
        mul = 1024ULL * 1024 * 1024;
        end++;
    }
    if (*end != '\0' || (mul > 1 && x > max / mul) || x * mul > max) {
        return -1;
    }
    *out = x * mul;
    return 0;
}

static int cfg_str(char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap) {
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

/* Apply one option by name (without dashes). value NULL for flags without a value. */
static int cfg_set(struct srv_config *c, const char *name, const char *v, char *errbuf,
                   size_t errbuf_len)
{
    unsigned long long x = 0;
    int bad = 0;

    if (strcmp(name, "demo") == 0) {
        if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0) {
            c->demo = 1;
        } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0) {
            c->demo = 0;
        } else {
            bad = 1;
        }
        goto done;
    }
    if (v == NULL) {
        snprintf(errbuf, errbuf_len, "option %s needs a value", name);
        return -1;
    }
    if (strcmp(name, "listen") == 0) {
        bad = cfg_str(c->listen, sizeof(c->listen), v);
    } else if (strcmp(name, "store") == 0) {
        bad = cfg_str(c->store, sizeof(c->store), v);
    } else if (strcmp(name, "tls-cert") == 0) {
        bad = cfg_str(c->tls_cert, sizeof(c->tls_cert), v);
    } else if (strcmp(name, "tls-key") == 0) {
        bad = cfg_str(c->tls_key, sizeof(c->tls_key), v);
    } else if (strcmp(name, "audit-log") == 0) {
        bad = cfg_str(c->audit_log, sizeof(c->audit_log), v);
    } else if (strcmp(name, "log") == 0) {
        bad = cfg_str(c->log, sizeof(c->log), v);
    } else if (strcmp(name, "workers") == 0) {
        bad = cfg_uint(v, 256, &x) || x == 0;
        c->workers = (unsigned)x;
    } else if (strcmp(name, "http-threads") == 0) {
        bad = cfg_uint(v, 256, &x) || x == 0;
        c->http_threads = (unsigned)x;
    } else if (strcmp(name, "queue") == 0) {
        bad = cfg_uint(v, 1000000, &x) || x == 0;
        c->queue = (unsigned)x;
    } else if (strcmp(name, "max-body") == 0) {
        bad = cfg_uint(v, (unsigned long long)1 << 32, &x) || x == 0;
        c->max_body = (size_t)x;
    } else if (strcmp(name, "max-connections") == 0) {
        bad = cfg_uint(v, 1000000, &x) || x == 0;
        c->max_connections = (unsigned)x;
    } else if (strcmp(name, "max-per-ip") == 0) {
        bad = cfg_uint(v, 1000000, &x);
        c->max_per_ip = (unsigned)x;
    } else if (strcmp(name, "timeout") == 0) {
        bad = cfg_uint(v, 86400, &x) || x == 0;
        c->timeout = (unsigned)x;
    } else if (strcmp(name, "deadline") == 0) {
        bad = cfg_uint(v, 86400, &x) || x == 0;
        c->deadline = (unsigned)x;
    } else if (strcmp(name, "lookup-max") == 0) {
        bad = cfg_uint(v, 1000000, &x) || x == 0;
        c->lookup_max = (unsigned)x;
    } else if (strcmp(name, "hot-index") == 0) {
        bad = cfg_uint(v, 1u << 20, &x);
        c->hot_index_mib = (unsigned)x;
    } else {
        snprintf(errbuf, errbuf_len, "unknown option '%s'", name);
        return -1;
    }
done:
    if (bad) {
        snprintf(errbuf, errbuf_len, "bad value for %s: '%s'", name, v != NULL ? v : "");
        return -1;
    }
    return 0;
}

static char *cfg_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

int srv_config_load_file(struct srv_config *c, const char *path, char *errbuf, size_t errbuf_len)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int lineno = 0;
    int rc = 0;

    if (f == NULL) {
        snprintf(errbuf, errbuf_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s, *eq, *key, *val;
        char detail[512];

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(errbuf, errbuf_len, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        s = cfg_trim(line);
        if (*s == '\0' || *s == '#') {
            continue;
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(errbuf, errbuf_len, "%s:%d: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        key = cfg_trim(s);
        val = cfg_trim(eq + 1);
        if (strcmp(key, "config") == 0) {
            snprintf(errbuf, errbuf_len, "%s:%d: config files do not nest", path, lineno);
            rc = -1;
            break;
        }
        if (cfg_set(c, key, val, detail, sizeof(detail)) != 0) {
            snprintf(errbuf, errbuf_len, "%s:%d: %s", path, lineno, detail);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int srv_config_parse_args(struct srv_config *c, int argc, char **argv, FILE *out, char *errbuf,
                          size_t errbuf_len)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char name[64];
        const char *v = NULL;
        const char *eq;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            srv_usage(out);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(errbuf, errbuf_len, "unexpected argument '%s'", a);
            return -1;
        }
        a += 2;
        eq = strchr(a, '=');
        if (eq != NULL) {
            if ((size_t)(eq - a) >= sizeof(name)) {
                snprintf(errbuf, errbuf_len, "unknown option '%s'", argv[i]);
                return -1;
            }
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            v = eq + 1;
        } else {
            static const char *const known[] = {"config",     "listen",   "store",
                                                "tls-cert",   "tls-key",  "audit-log",
                                                "log",        "workers",  "http-threads",
                                                "queue",      "max-body", "max-connections",
                                                "max-per-ip", "timeout",  "deadline",
                                                "lookup-max", "hot-index"};
            int found = 0;
            snprintf(name, sizeof(name), "%s", a);
            for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
                found |= strcmp(name, known[k]) == 0;
            }
            if (!found && strcmp(name, "demo") != 0) {
                snprintf(errbuf, errbuf_len, "unknown option '%s'", argv[i]);
                return -1;
            }
            if (strcmp(name, "demo") != 0) {
                if (i + 1 >= argc) {
                    snprintf(errbuf, errbuf_len, "option --%s needs a value", name);
                    return -1;
                }
                v = argv[++i];
            }
        }
        if (strcmp(name, "config") == 0) {
            if (srv_config_load_file(c, v, errbuf, errbuf_len) != 0) {
                return -1;
            }
            continue;
        }
        if (cfg_set(c, name, v, errbuf, errbuf_len) != 0) {
            return -1;
        }
    }
    if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0')) {
        snprintf(errbuf, errbuf_len, "--tls-cert and --tls-key go together");
        return -1;
    }
    return 0;
}
