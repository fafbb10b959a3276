/* cmd_bench.c: `hashwatch bench`, dispatching to the hash, store and http benchmarks. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: hashwatch bench hash [options] FILE...   decode + hash timings\n"
                "       hashwatch bench store <sub> [options]     synthetic lists, import, query\n"
                "       hashwatch bench http [options]            HTTP API throughput/latency\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "hash") == 0) {
        return cli_bench_hash(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "store") == 0) {
        return cli_bench_store(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "http") == 0) {
        return cli_bench_http(argc - 1, argv + 1);
    }
    cli_err("bench: unknown benchmark '%s'", argv[1]);
    return CLI_EXIT_USAGE;
}
