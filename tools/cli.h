/* cli.h: the hashwatch subcommands and the helpers they share. */
#ifndef HASHWATCH_CLI_H
#define HASHWATCH_CLI_H

#include <stddef.h>

/* Each subcommand gets argv starting at its own name; returns the process exit status. */
int cli_hash(int argc, char **argv);        /* cmd_hash.c */
int cli_bench(int argc, char **argv);       /* cmd_bench.c: dispatches to the three below */
int cli_bench_hash(int argc, char **argv);  /* cmd_bench_hash.c */
int cli_bench_store(int argc, char **argv); /* cmd_bench_store.c */
int cli_bench_http(int argc, char **argv);  /* cmd_bench_http.c */
int cli_import(int argc, char **argv);      /* cmd_import.c */
int cli_lookup(int argc, char **argv);      /* cmd_lookup.c */
int cli_lists(int argc, char **argv);       /* cmd_lists.c */
int cli_keys(int argc, char **argv);        /* cmd_keys.c */
int cli_audit(int argc, char **argv);       /* cmd_audit.c */

/* Exit statuses shared by every subcommand. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* an operation failed (or, for lookup, no match) */
#define CLI_EXIT_USAGE 2 /* bad arguments */

/**
 * The store directory a command should use: `flag` when given (--store), else
 * $HASHWATCH_STORE, else "./hashwatch-data". Never NULL.
 */
const char *cli_store_dir(const char *flag);

/**
 * Read a whole file ("-" is standard input) into a malloc'd buffer of at most max_len bytes.
 * Returns 0, or -1 with a message in errbuf (errno text, or "larger than N bytes").
 */
int cli_read_file(const char *path, size_t max_len, unsigned char **out, size_t *out_len,
                  char *errbuf, size_t errbuf_len);

/** Print "hashwatch: <fmt>\n" to stderr. */
void cli_err(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
