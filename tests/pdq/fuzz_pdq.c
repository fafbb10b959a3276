/* fuzz_pdq.c: fuzz the PDQ/digest hex parsers and hw_pdq_from_luma on arbitrary sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_digest.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_pdq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lower(int c)
{
    return (c >= 'A' && c <= 'F') ? c - 'A' + 'a' : c;
}

/* Mode 0: text parsers. A parse that succeeds must print back to the same (lower-case) text. */
static void fuzz_hex(const char *s, size_t len)
{
    struct hw_pdq h;
    char out[65];
    uint8_t bytes[64];

    if (hw_pdq_from_hex(s, len, &h) == HW_OK) {
        hw_pdq_to_hex(&h, out);
        for (size_t i = 0; i < 64; i++) {
            if (out[i] != lower((unsigned char)s[i])) {
                __builtin_trap();
            }
        }
        if (hw_pdq_distance(&h, &h) != 0 || hw_pdq_weight(&h) > 256) {
            __builtin_trap();
        }
    }
    if (len / 2 <= sizeof(bytes) && hw_hex_decode(s, len, bytes, len / 2) == HW_OK) {
        char back[2 * sizeof(bytes) + 1];

        hw_hex_encode(bytes, len / 2, back);
        for (size_t i = 0; i < len; i++) {
            if (back[i] != lower((unsigned char)s[i])) {
                __builtin_trap();
            }
        }
    }
}

/* Mode 1: two size bytes (1..256 each), then grey pixels (repeated to fill). */
static void fuzz_luma(const uint8_t *p, size_t len)
{
    uint32_t rows;
    uint32_t cols;
    float *luma;
    void *scratch;
    size_t slen;
    struct hw_pdq out[HW_DIH_COUNT];
    int q = -1;

    if (len < 3) {
        return;
    }
    rows = (uint32_t)p[0] + 1;
    cols = (uint32_t)p[1] + 1;
    p += 2;
    len -= 2;
    slen = hw_pdq_scratch_len(rows, cols);
    luma = malloc((size_t)rows * cols * sizeof(float));
    scratch = malloc(slen);
    if (luma != NULL && scratch != NULL) {
        for (int n_out = 1; n_out <= HW_DIH_COUNT; n_out += HW_DIH_COUNT - 1) {
            for (size_t i = 0; i < (size_t)rows * cols; i++) {
                luma[i] = (float)p[i % len];
            }
            if (hw_pdq_from_luma(luma, rows, cols, scratch, slen, n_out, out, &q) != HW_OK ||
                q < 0 || q > 100) {
                __builtin_trap();
            }
            if ((rows < HW_PDQ_MIN_DIM || cols < HW_PDQ_MIN_DIM) &&
                (q != 0 || hw_pdq_weight(&out[0]) != 0)) {
                __builtin_trap();
            }
        }
    }
    free(luma);
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_luma(data + 1, size - 1);
    } else {
        fuzz_hex((const char *)data + 1, size - 1);
    }
    return 0;
}
