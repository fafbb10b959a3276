/* cmd_hash.c: `hashwatch hash`, PDQ (reference CLI format) or every hash as JSON, per file. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hashlib/hw_error.h>
#include <hashlib/hw_hasher.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hashwatch hash [--json] [--full-decode] FILE...\n"
            "\n"
            "Prints one line per file. By default the line is exactly what Meta's reference\n"
            "pdq-photo-hasher prints, <pdq-hex>,<quality>,<file>, so outputs can be diffed.\n"
            "  --json         one JSON object per line: pdq, quality, the 8 rotation/mirror\n"
            "                 variants, md5, sha1, sha256, width, height, format and flags\n"
            "  --full-decode  decode every pixel instead of the faster sampled path (same hash)\n"
            "  -              reads the image from standard input\n"
            "A file that cannot be hashed is reported on stderr; the others are still hashed.\n"
            "Exit status: 0 all hashed, 1 some failed, 2 usage.\n");
}

static int print_json(const char *name, const struct hw_hash_result *r)
{
    char hex[HW_SHA256_LEN * 2 + 1];
    char pdq[65];
    json_t *o = json_object(), *variants = json_object(), *flags = json_object();
    char *text = NULL;
    int rc = -1;

    if (o == NULL || variants == NULL || flags == NULL) {
        goto done;
    }
    json_object_set_new(o, "file", json_string(name));
    hw_pdq_to_hex(&r->pdq[HW_DIH_ORIG], pdq);
    json_object_set_new(o, "pdq", json_string(pdq));
    json_object_set_new(o, "quality", json_integer(r->quality));
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        hw_pdq_to_hex(&r->pdq[v], pdq);
        json_object_set_new(variants, hw_dihedral_name(v), json_string(pdq));
    }
    json_object_set(o, "variants", variants);
    hw_hex_encode(r->digests.md5, HW_MD5_LEN, hex);
    json_object_set_new(o, "md5", json_string(hex));
    hw_hex_encode(r->digests.sha1, HW_SHA1_LEN, hex);
    json_object_set_new(o, "sha1", json_string(hex));
    hw_hex_encode(r->digests.sha256, HW_SHA256_LEN, hex);
    json_object_set_new(o, "sha256", json_string(hex));
    json_object_set_new(o, "width", json_integer(r->info.width));
    json_object_set_new(o, "height", json_integer(r->info.height));
    json_object_set_new(o, "format", json_string(hw_format_name(r->info.format)));
    json_object_set_new(flags, "alpha", json_boolean(r->info.flags & HW_IMG_ALPHA));
    json_object_set_new(flags, "animated", json_boolean(r->info.flags & HW_IMG_ANIMATED));
    json_object_set_new(flags, "exif_orientation", json_integer(r->info.exif_orientation));
    json_object_set_new(flags, "grey", json_boolean(r->info.flags & HW_IMG_GREY));
    json_object_set_new(flags, "progressive", json_boolean(r->info.flags & HW_IMG_PROGRESSIVE));
    json_object_set_new(flags, "cmyk", json_boolean(r->info.flags & HW_IMG_CMYK));
    json_object_set_new(flags, "sixteen_bit", json_boolean(r->info.flags & HW_IMG_16BIT));
    json_object_set_new(flags, "interlaced", json_boolean(r->info.flags & HW_IMG_INTERLACED));
    json_object_set(o, "flags", flags);
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        goto done;
    }
    puts(text);
    rc = 0;
done:
    free(text);
    json_decref(variants);
    json_decref(flags);
    json_decref(o);
    return rc;
}

int cli_hash(int argc, char **argv)
{
    struct hw_limits lim;
    hw_hasher *h = NULL;
    int json = 0, n_files = 0, n_failed = 0, err;
    unsigned flags = 0;
    char errbuf[256];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
    }
    hw_limits_default(&lim);
    err = hw_hasher_new(&lim, &h);
    if (err != HW_OK) {
        cli_err("hash: %s", hw_strerror(err));
        return CLI_EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        unsigned char *data = NULL;
        size_t len = 0;
        struct hw_hash_result r;

        if (strcmp(arg, "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(arg, "--full-decode") == 0) {
            flags |= HW_DECODE_FULL;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            continue;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            cli_err("hash: unknown option '%s'", arg);
            usage(stderr);
            hw_hasher_free(h);
            return CLI_EXIT_USAGE;
        }
        n_files++;
        if (cli_read_file(arg, lim.max_input_len, &data, &len, errbuf, sizeof(errbuf)) != 0) {
            cli_err("%s: %s", arg, errbuf);
            n_failed++;
            continue;
        }
        errbuf[0] = '\0';
        /* the reference's format prints no digest: do not compute them for it */
        err = hw_hasher_hash(h, data, len, json ? flags : flags | HW_HASH_NO_DIGESTS, &r, errbuf,
                             sizeof(errbuf));
        free(data);
        if (err != HW_OK) {
            cli_err("%s: %s (%s)", arg, errbuf[0] ? errbuf : hw_strerror(err), hw_errname(err));
            n_failed++;
            continue;
        }
        if (json) {
            if (print_json(arg, &r) != 0) {
                cli_err("%s: out of memory", arg);
                n_failed++;
            }
        } else {
            char pdq[65];
            hw_pdq_to_hex(&r.pdq[HW_DIH_ORIG], pdq);
            printf("%s,%d,%s\n", pdq, r.quality, arg);
        }
    }
    hw_hasher_free(h);
    if (n_files == 0) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (fflush(stdout) != 0) {
        cli_err("hash: cannot write output");
        return CLI_EXIT_FAIL;
    }
    return n_failed > 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
