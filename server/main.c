/* main.c: hashwatchd, the matching service: flags, signals, demo set-up, run until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srv.h"

int main(int argc, char **argv)
{
    struct srv_config cfg;
    struct srv *s = NULL;
    hw_store *store = NULL;
    char err[512] = "";
    char demo_key[128] = "";
    sigset_t set;
    int rc, sig = 0;

    srv_config_default(&cfg);
    rc = srv_config_parse_args(&cfg, argc, argv, stdout, err, sizeof(err));
    if (rc == 1) {
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "hashwatchd: %s (try --help)\n", err);
        return 2;
    }
    /* Signals are taken synchronously by this thread; every other thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    mkdir(cfg.store, 0700);
    hw_store_hot_index((size_t)cfg.hot_index_mib << 20);
    if (hw_store_open(cfg.store, 0, &store, err, sizeof(err)) != HW_OK) {
        fprintf(stderr, "hashwatchd: store %s: %s\n", cfg.store, err);
        return 1;
    }
    {
        /* Load the PDQ index now, so that its hot copy (--hot-index) is made while the
         * server starts rather than during the first look-ups. */
        hw_snapshot *snap = NULL;
        struct hw_pdq zero;
        struct hw_match_opts none = {NULL, 0, 0, 0, 0};
        size_t n = 0;

        memset(&zero, 0, sizeof(zero));
        if (hw_snapshot_acquire(store, &snap, NULL, 0) == HW_OK) {
            (void)hw_snapshot_match_pdq(snap, &zero, &none, NULL, 0, &n);
            hw_snapshot_release(snap);
        }
    }
    if (cfg.demo && srv_demo_setup(store, demo_key, sizeof(demo_key), err, sizeof(err)) != 0) {
        fprintf(stderr, "hashwatchd: demo set-up: %s\n", err);
        hw_store_close(store);
        return 1;
    }
    if (srv_start(&cfg, store, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "hashwatchd: %s\n", err);
        hw_store_close(store);
        return 1;
    }
    printf("hashwatchd: listening on %.*s:%u (store %s)\n",
           (int)(strrchr(cfg.listen, ':') - cfg.listen), cfg.listen, srv_port(s), cfg.store);
    if (demo_key[0] != '\0') {
        printf("demo key (analyst, shown once): %s\n"
               "try:\n  curl -s -H 'Authorization: Bearer %s' --data-binary "
               "@tests/data/conformance/pdq/images/bridge-mods/blur-a-little.jpg "
               "http://127.0.0.1:%u/v1/check\n",
               demo_key, demo_key, srv_port(s));
    } else if (cfg.demo) {
        printf("demo: the store holds lists other than 'demo'; no demo key created (hashwatch "
               "keys create makes one)\n");
    }
    fflush(stdout);
    for (;;) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            srv_reopen_log(s);
            continue;
        }
        break;
    }
    fprintf(stderr, "hashwatchd: signal %d, draining\n", sig);
    srv_stop(s, 30);
    hw_store_close(store);
    return 0;
}
