/* cmd_lookup.c: placeholder until its owner lands the real command. */
#include "cli.h"

int cli_lookup(int argc, char **argv)
{
    (void)argc;
    cli_err("%s: not built yet", argv[0]);
    return CLI_EXIT_FAIL;
}
