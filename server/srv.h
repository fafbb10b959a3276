/* srv.h: the hwserver library: configure, start and stop hashwatchd in-process. */
#ifndef HASHWATCH_SRV_H
#define HASHWATCH_SRV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_store.h"

#define SRV_PATH_MAX 1024

/** Everything configurable, by flag or by `key = value` line in a --config file. */
struct srv_config {
    char listen[128];         /* ADDR:PORT, [v6]:PORT; port 0 picks one */
    char store[SRV_PATH_MAX]; /* store directory */
    char tls_cert[SRV_PATH_MAX];
    char tls_key[SRV_PATH_MAX];
    char audit_log[SRV_PATH_MAX]; /* "" = <store>/audit.log */
    char log[SRV_PATH_MAX];       /* "" = stderr */
    unsigned workers;             /* hashing threads; 0 = one per online core */
    unsigned http_threads;        /* MHD polling threads; 0 = one per online core */
    unsigned queue;               /* bounded job queue; 0 = 4 * workers */
    size_t max_body;              /* bytes; default 32 MiB */
    unsigned max_connections;     /* overall; default 1024 */
    unsigned max_per_ip;          /* per client address; default 64 (0 = unlimited) */
    unsigned timeout;             /* seconds of inactivity before a connection is closed */
    unsigned deadline;            /* seconds a request (headers+body+answer) may take */
    unsigned lookup_max;          /* hashes per /v1/lookup request */
    unsigned hot_index_mib;       /* hw_store_hot_index threshold in MiB; 0 = off */
    int demo;                     /* create the demo list and key when the store has no lists */
};

/** Fill defaults (store from $HASHWATCH_STORE, else ./hashwatch-data). */
void srv_config_default(struct srv_config *c);

/**
 * Apply command-line flags (argv[0] is skipped); --config FILE is read where it appears, so
 * later flags override it. Returns 0, 1 when --help or --version was printed to `out`, or -1
 * with a message in errbuf.
 */
int srv_config_parse_args(struct srv_config *c, int argc, char **argv, FILE *out, char *errbuf,
                          size_t errbuf_len);

/** Apply one config file of `key = value` lines ('#' comments). 0 or -1 with errbuf. */
int srv_config_load_file(struct srv_config *c, const char *path, char *errbuf, size_t errbuf_len);

/** Print the --help text. */
void srv_usage(FILE *f);

struct srv;

/**
 * Open the store, keys and audit log and start listening. Returns 0, or -1 with errbuf.
 * `store` may be an already-open store (tests share one with the server); NULL opens
 * c->store. An open store passed in is not closed by srv_stop().
 */
int srv_start(const struct srv_config *c, hw_store *store, struct srv **out, char *errbuf,
              size_t errbuf_len);

/** The TCP port the server listens on (the chosen one when the config said 0). */
unsigned srv_port(const struct srv *s);

/** The store the server reads. */
hw_store *srv_store(struct srv *s);

/** Reopen the log file (SIGHUP). Async-signal-unsafe: call from a normal thread. */
void srv_reopen_log(struct srv *s);

/**
 * Stop accepting, let in-flight requests finish (at most `drain_seconds`), stop the workers
 * and free everything. NULL is accepted.
 */
void srv_stop(struct srv *s, unsigned drain_seconds);

/**
 * Demo set-up (--demo): when the store has no lists, create list "demo" with the hashes of two
 * conformance images and an analyst key. Writes the key text into key_out (empty when the
 * store already had lists). Returns 0 or -1 with errbuf.
 */
int srv_demo_setup(hw_store *store, char *key_out, size_t key_out_len, char *errbuf,
                   size_t errbuf_len);

#endif
