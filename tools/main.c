/* main.c: hashwatch, the command-line front end: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"hash", cli_hash, "hash image files (PDQ, quality, variants, MD5/SHA-1/SHA-256)"},
    {"import", cli_import, "import a hash list file into the store"},
    {"lookup", cli_lookup, "look a hash or an image up in the store"},
    {"lists", cli_lists, "show or remove the store's lists"},
    {"keys", cli_keys, "create, list and revoke API keys"},
    {"audit", cli_audit, "verify the audit log's hash chain"},
    {"bench", cli_bench, "benchmarks: hash, store, http"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: hashwatch <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(f, "\n'hashwatch <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    cli_err("unknown command '%s'", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
