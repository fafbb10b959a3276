/* cmd_audit.c: hashwatch audit verify: check the audit log's SHA-256 chain. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hashlib/hw_audit.h"
#include "hashlib/hw_error.h"

static void audit_usage(FILE *f)
{
    fprintf(f, "usage: hashwatch audit verify [--audit-log FILE | --store DIR]\n"
               "\n"
               "Checks that every line of the audit log (default <store>/audit.log) carries\n"
               "the SHA-256 of the line before it and the next sequence number. Exit 0 when\n"
               "the whole chain verifies; 1 with the first broken line otherwise.\n");
}

int cli_audit(int argc, char **argv)
{
    const char *log = NULL, *store = NULL;
    char path[4096];
    char eb[256] = "";
    uint64_t n = 0, bad = 0;
    int rc;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        audit_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        audit_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--audit-log") == 0 && i + 1 < argc) {
            log = argv[++i];
        } else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            store = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            audit_usage(stdout);
            return CLI_EXIT_OK;
        } else {
            cli_err("audit verify: unexpected argument '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (log == NULL) {
        snprintf(path, sizeof(path), "%s/audit.log", cli_store_dir(store));
        log = path;
    }
    rc = hw_audit_verify(log, &n, &bad, eb, sizeof(eb));
    if (rc == HW_OK) {
        printf("%s: %" PRIu64 " lines, chain intact\n", log, n);
        return CLI_EXIT_OK;
    }
    if (rc == HW_ECORRUPT) {
        printf("%s: chain broken at line %" PRIu64 " (%" PRIu64 " lines verified before it): %s\n",
               log, bad, n, eb);
        return CLI_EXIT_FAIL;
    }
    cli_err("audit verify: %s", eb[0] ? eb : hw_strerror(rc));
    return CLI_EXIT_FAIL;
}
