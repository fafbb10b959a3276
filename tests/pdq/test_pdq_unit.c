/* test_pdq_unit.c: PDQ hex form and bit order, distance, weight, luma and argument checks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashlib/hw_error.h"
#include "hashlib/hw_pdq.h"

#include "hw_test.h"

/* Reference output for bridge-1-original.jpg (PDQ.md section 4). */
static const char bridge_hex[] = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

static int bit(const struct hw_pdq *h, int k)
{
    return (int)((h->q[k >> 6] >> (k & 63)) & 1);
}

static void set_bit(struct hw_pdq *h, int k)
{
    h->q[k >> 6] |= (uint64_t)1 << (k & 63);
}

static void test_hex_round_trip_and_bit_order(void)
{
    struct hw_pdq h;
    struct hw_pdq up;
    char out[65];
    char upper[65];

    CHECK(hw_pdq_from_hex(bridge_hex, 64, &h) == HW_OK, "bridge hex rejected");
    hw_pdq_to_hex(&h, out);
    CHECK(strcmp(out, bridge_hex) == 0, "round trip gave %s", out);
    /* The last 4 hex digits are word w[0] = DCT row 0 (PDQ.md 2.9): 0x9b22. */
    CHECK((h.q[0] & 0xffff) == 0x9b22, "row 0 bits are %04x", (unsigned)(h.q[0] & 0xffff));
    /* Last digit '2' = bits 3..0: bit 1 set, bit 0 (coefficient (0,0)) clear. */
    CHECK(bit(&h, 0) == 0 && bit(&h, 1) == 1, "bits 0/1 are %d/%d", bit(&h, 0), bit(&h, 1));
    /* First digit 'd' = 1101 = bits 255..252. */
    CHECK(bit(&h, 255) == 1 && bit(&h, 254) == 1 && bit(&h, 253) == 0 && bit(&h, 252) == 1,
          "top nibble bits wrong");
    /* Row 15 = first 4 hex digits 0xd8f8. */
    CHECK(((h.q[3] >> 48) & 0xffff) == 0xd8f8, "row 15 bits wrong");
    CHECK(hw_pdq_weight(&h) == 128, "bridge weight %d, a real image has 128", hw_pdq_weight(&h));

    for (int i = 0; i < 64; i++) {
        upper[i] = (bridge_hex[i] >= 'a') ? (char)(bridge_hex[i] - 'a' + 'A') : bridge_hex[i];
    }
    upper[64] = '\0';
    CHECK(hw_pdq_from_hex(upper, 64, &up) == HW_OK, "upper-case hex rejected");
    CHECK(memcmp(&up, &h, sizeof(h)) == 0, "upper-case hex parsed differently");
    hw_pdq_to_hex(&up, out);
    CHECK(strcmp(out, bridge_hex) == 0, "output is not lower-case: %s", out);

    /* Single bits land where the big-endian reading says. */
    {
        static const int ks[] = {0, 1, 15, 16, 63, 64, 128, 200, 255};

        for (size_t n = 0; n < sizeof(ks) / sizeof(ks[0]); n++) {
            struct hw_pdq one = {{0, 0, 0, 0}};
            struct hw_pdq back;
            const int k = ks[n];
            const int pos = 63 - k / 4; /* hex char holding bit k */
            const char digit = "1248"[k % 4];

            set_bit(&one, k);
            hw_pdq_to_hex(&one, out);
            for (int i = 0; i < 64; i++) {
                const char want = (i == pos) ? digit : '0';

                if (out[i] != want) {
                    CHECK(0, "bit %d: hex %s, char %d is %c, want %c", k, out, i, out[i], want);
                    break;
                }
            }
            CHECK(hw_pdq_from_hex(out, 64, &back) == HW_OK && memcmp(&back, &one, 32) == 0,
                  "bit %d does not round-trip", k);
        }
    }
}

static void test_hex_rejects(void)
{
    struct hw_pdq h = {{1, 2, 3, 4}};
    struct hw_pdq before = h;
    char bad[80];

    CHECK(hw_pdq_from_hex(bridge_hex, 63, &h) == HW_EINVAL, "63 chars accepted");
    memcpy(bad, bridge_hex, 64);
    bad[64] = '0';
    bad[65] = '\0';
    CHECK(hw_pdq_from_hex(bad, 65, &h) == HW_EINVAL, "65 chars accepted");
    CHECK(hw_pdq_from_hex("", 0, &h) == HW_EINVAL, "empty accepted");
    {
        static const char nonhex[] = {'g', 'G', ' ', 'x', '-', '\0', '+', '\n'};

        for (size_t n = 0; n < sizeof(nonhex); n++) {
            for (int pos = 0; pos < 64; pos += 21) {
                memcpy(bad, bridge_hex, 65);
                bad[pos] = nonhex[n];
                CHECK(hw_pdq_from_hex(bad, 64, &h) == HW_EINVAL, "non-hex 0x%02x at %d accepted",
                      (unsigned)(unsigned char)nonhex[n], pos);
            }
        }
    }
    CHECK(memcmp(&h, &before, sizeof(h)) == 0, "rejected parse modified the output");
}

static void test_distance_weight(void)
{
    struct hw_pdq zero = {{0, 0, 0, 0}};
    struct hw_pdq ones = {{~0ull, ~0ull, ~0ull, ~0ull}};
    struct hw_pdq a = {{0, 0, 0, 0}};
    struct hw_pdq b = {{0, 0, 0, 0}};
    struct hw_pdq br;

    CHECK(hw_pdq_distance(&zero, &ones) == 256, "zero vs ones: %d", hw_pdq_distance(&zero, &ones));
    CHECK(hw_pdq_weight(&ones) == 256 && hw_pdq_weight(&zero) == 0, "weights of extremes");
    /* Bits in every word, some shared. */
    for (int k = 0; k < 256; k += 7) {
        set_bit(&a, k);
    }
    for (int k = 0; k < 256; k += 11) {
        set_bit(&b, k);
    }
    {
        int want = 0;
        int wa = 0;

        for (int k = 0; k < 256; k++) {
            want += (k % 7 == 0) != (k % 11 == 0);
            wa += (k % 7 == 0);
        }
        CHECK(hw_pdq_distance(&a, &b) == want, "distance %d, want %d", hw_pdq_distance(&a, &b),
              want);
        CHECK(hw_pdq_distance(&b, &a) == want, "distance not symmetric");
        CHECK(hw_pdq_weight(&a) == wa, "weight %d want %d", hw_pdq_weight(&a), wa);
    }
    CHECK(hw_pdq_distance(&a, &a) == 0, "self distance");
    /* Flipping 31 bits keeps a match, 32 does not (threshold semantics rely on this count). */
    hw_pdq_from_hex(bridge_hex, 64, &br);
    b = br;
    for (int k = 0; k < 31; k++) {
        b.q[(k * 8) >> 6] ^= (uint64_t)1 << ((k * 8) & 63);
    }
    CHECK(hw_pdq_distance(&br, &b) == 31, "31 flips gave %d", hw_pdq_distance(&br, &b));
}

static void test_dihedral_names(void)
{
    static const char *const want[HW_DIH_COUNT] = {
        "orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1",
    };

    for (int v = 0; v < HW_DIH_COUNT; v++) {
        CHECK(strcmp(hw_dihedral_name(v), want[v]) == 0, "variant %d named %s", v,
              hw_dihedral_name(v));
    }
    CHECK(hw_dihedral_name(-1) != NULL && hw_dihedral_name(HW_DIH_COUNT) != NULL,
          "out-of-range name is NULL");
}

static void test_luma(void)
{
    /* 2 x 3 RGB with a padded stride; the grey image must use the sample itself. */
    uint8_t grey_rgb[2 * 16];
    uint8_t colour[2 * 16];
    struct hw_pixels px;
    float luma[6];

    memset(grey_rgb, 0xee, sizeof(grey_rgb));
    for (int y = 0; y < 2; y++) {
        for (int x = 0; x < 3; x++) {
            const uint8_t v = (uint8_t)(37 * (y * 3 + x) + 1);

            memset(grey_rgb + y * 16 + 3 * x, v, 3);
        }
    }
    memcpy(colour, grey_rgb, sizeof(colour));
    colour[16 + 6 + 2] = 200; /* one non-grey pixel: (1, 2) */
    px.width = 3;
    px.height = 2;
    px.channels = 3;
    px.stride = 16;
    px.data = grey_rgb;
    hw_pdq_luma(&px, luma);
    for (int i = 0; i < 6; i++) {
        CHECK(luma[i] == (float)(37 * i + 1), "grey RGB luma[%d] = %.9g", i, (double)luma[i]);
    }
    px.data = colour;
    hw_pdq_luma(&px, luma);
    for (int i = 0; i < 6; i++) {
        const uint8_t *p = colour + (i / 3) * 16 + 3 * (i % 3);
        const float r = p[0];
        const float g = p[1];
        const float b = p[2];
        const float want = ((0.299f * r) + (0.587f * g)) + (0.114f * b);

        CHECK(luma[i] == want, "colour luma[%d] = %.9g want %.9g", i, (double)luma[i],
              (double)want);
    }
    /* At least one grey value must differ between the two formulas, or the test is blind. */
    {
        int differs = 0;

        for (int v = 0; v < 256; v++) {
            const float f = v;

            differs |= (((0.299f * f) + (0.587f * f)) + (0.114f * f)) != f;
        }
        CHECK(differs, "weighted grey equals the sample for every value");
    }
    /* One-channel input: value as is, stride honoured. */
    {
        const uint8_t g1[2 * 5] = {1, 2, 3, 99, 99, 4, 5, 6, 99, 99};

        px.channels = 1;
        px.stride = 5;
        px.data = g1;
        hw_pdq_luma(&px, luma);
        CHECK(luma[0] == 1 && luma[2] == 3 && luma[3] == 4 && luma[5] == 6, "grey stride");
    }
}

static void test_from_luma_args(void)
{
    float small[4 * 4] = {0};
    float img[64 * 70];
    struct hw_pdq out[HW_DIH_COUNT];
    int q = -1;
    size_t need = hw_pdq_scratch_len(64, 70);
    float *scratch = malloc(need);

    CHECK(need > 64 * 70 * sizeof(float), "scratch_len too small: %zu", need);
    CHECK(hw_pdq_scratch_len(UINT32_MAX, UINT32_MAX) == 0 || sizeof(size_t) > 8,
          "overflowing scratch size not reported");
    if (scratch == NULL) {
        CHECK(0, "out of memory");
        return;
    }
    for (int i = 0; i < 64 * 70; i++) {
        img[i] = (float)((i * 7919) % 251);
    }
    memset(out, 0xff, sizeof(out));
    CHECK(hw_pdq_from_luma(small, 4, 4, NULL, 0, HW_DIH_COUNT, out, &q) == HW_OK, "4x4");
    for (int v = 0; v < HW_DIH_COUNT; v++) {
        CHECK(hw_pdq_weight(&out[v]) == 0, "4x4 variant %d not zero", v);
    }
    CHECK(q == 0, "4x4 quality %d", q);
    CHECK(hw_pdq_from_luma(img, 64, 70, scratch, need, 2, out, &q) == HW_EINVAL, "n_out 2");
    CHECK(hw_pdq_from_luma(img, 64, 70, scratch, need - 1, 1, out, &q) == HW_EINVAL,
          "short scratch accepted");
    CHECK(hw_pdq_from_luma(img, 64, 70, NULL, need, 1, out, &q) == HW_EINVAL, "NULL scratch");
    CHECK(hw_pdq_from_luma(img, 64, 70, scratch, need, 8, out, &q) == HW_OK, "64x70 failed");
    CHECK(hw_pdq_weight(&out[0]) == 128, "pseudo-random image weight %d", hw_pdq_weight(&out[0]));
    free(scratch);
}

int main(void)
{
    test_hex_round_trip_and_bit_order();
    test_hex_rejects();
    test_distance_weight();
    test_dihedral_names();
    test_luma();
    test_from_luma_args();
    printf("%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
