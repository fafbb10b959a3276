/* test_pdq_matching.c: brute-force needles x haystack at distance 31 vs the reference's pairs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_pdq.h"

#include "conformance/conformance_util.h"

#define MAX_HASHES 4096

/* Parse a file of one hex hash per line. Returns the count, or -1. */
static int load_hashes(const char *path, struct hw_pdq *out, int max)
{
    size_t len;
    char *text = (char *)conf_read_file(path, &len);
    char *save = NULL;
    int n = 0;

    if (text == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = '\0';
        if (n >= max || hw_pdq_from_hex(line, strlen(line), &out[n]) != HW_OK) {
            fprintf(stderr, "%s: line %d is not a PDQ hash\n", path, n + 1);
            n = -1;
            break;
        }
        n++;
    }
    free(text);
    return n;
}

int main(void)
{
    static struct hw_pdq needles[MAX_HASHES];
    static struct hw_pdq hay[MAX_HASHES];
    const int nn = load_hashes(CONF_DIR "/matching/needles.txt", needles, MAX_HASHES);
    const int nh = load_hashes(CONF_DIR "/matching/haystack.txt", hay, MAX_HASHES);
    size_t len;
    char *text = (char *)conf_read_file(CONF_DIR "/matching/expected-matches-d31.tsv", &len);
    char *save = NULL;
    char *line;
    char *hdr[CONF_MAX_COLS];
    int nhdr;
    int n_expected = 0;
    int n_found = 0;
    int matched_expected = 0;
    char *exp_set; /* exp_set[i * nh + j] = expected distance + 1, 0 = not expected */

    if (nn <= 0 || nh <= 0 || text == NULL) {
        fprintf(stderr, "cannot load matching data\n");
        return 1;
    }
    CONF_CHECK(nn == 100 && nh == 1350, "README documents 100 needles, 1350 haystack: got %d %d",
               nn, nh);
    exp_set = calloc((size_t)nn * nh, 1);
    if (exp_set == NULL) {
        return 1;
    }
    line = strtok_r(text, "\n", &save);
    nhdr = conf_split(line, hdr);
    {
        const int cn = conf_col(hdr, nhdr, "needle_line");
        const int cnh = conf_col(hdr, nhdr, "needle_hex");
        const int ch = conf_col(hdr, nhdr, "haystack_line");
        const int chh = conf_col(hdr, nhdr, "haystack_hex");
        const int cd = conf_col(hdr, nhdr, "distance");

        if (cn < 0 || cnh < 0 || ch < 0 || chh < 0 || cd < 0) {
            fprintf(stderr, "expected-matches-d31.tsv: missing columns\n");
            return 1;
        }
        while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
            char *c[CONF_MAX_COLS];
            int i;
            int j;
            int d;
            char hx[65];

            if (conf_split(line, c) != nhdr) {
                CONF_CHECK(0, "bad tsv row");
                continue;
            }
            i = atoi(c[cn]) - 1;
            j = atoi(c[ch]) - 1;
            d = atoi(c[cd]);
            if (i < 0 || i >= nn || j < 0 || j >= nh || d < 0 || d > 31) {
                CONF_CHECK(0, "tsv row out of range: %s %s %s", c[cn], c[ch], c[cd]);
                continue;
            }
            /* The line numbers must name the hashes the row quotes. */
            hw_pdq_to_hex(&needles[i], hx);
            CONF_CHECK(strcmp(hx, c[cnh]) == 0, "needle line %d is %s, tsv quotes %s", i + 1, hx,
                       c[cnh]);
            hw_pdq_to_hex(&hay[j], hx);
            CONF_CHECK(strcmp(hx, c[chh]) == 0, "haystack line %d is %s, tsv quotes %s", j + 1, hx,
                       c[chh]);
            exp_set[(size_t)i * nh + j] = (char)(d + 1);
            n_expected++;
        }
    }
    for (int i = 0; i < nn; i++) {
        for (int j = 0; j < nh; j++) {
            const int d = hw_pdq_distance(&needles[i], &hay[j]);
            const int e = exp_set[(size_t)i * nh + j];

            if (d <= HW_PDQ_THRESHOLD_DEFAULT) {
                n_found++;
                CONF_CHECK(e != 0, "needle %d haystack %d at distance %d: not in expected set",
                           i + 1, j + 1, d);
                if (e != 0) {
                    matched_expected++;
                    CONF_CHECK(e - 1 == d, "needle %d haystack %d: distance %d, tsv says %d", i + 1,
                               j + 1, d, e - 1);
                }
            } else {
                CONF_CHECK(e == 0, "needle %d haystack %d expected (d=%d) but distance is %d",
                           i + 1, j + 1, e - 1, d);
            }
        }
    }
    CONF_CHECK(n_expected == 250, "tsv has %d pairs, README documents 250", n_expected);
    CONF_CHECK(n_found == n_expected && matched_expected == n_expected,
               "found %d pairs, expected %d, in common %d", n_found, n_expected, matched_expected);
    printf("%d x %d hashes: %d pairs within %d, %d expected; %d failures\n", nn, nh, n_found,
           HW_PDQ_THRESHOLD_DEFAULT, n_expected, conf_failures);
    free(exp_set);
    free(text);
    return conf_failures == 0 ? 0 : 1;
}
