/* test_digest.c: MD5/SHA-1/SHA-256 against RFC 1321 / FIPS 180 vectors, hex forms, memeq. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "hashlib/hw_digest.h"
#include "hashlib/hw_error.h"

#include "hw_test.h"

static void check_hex(const uint8_t *bytes, size_t n, const char *want, const char *what)
{
    char buf[2 * 64 + 1];

    hw_hex_encode(bytes, n, buf);
    CHECK(strcmp(buf, want) == 0, "%s: got %s want %s", what, buf, want);
}

/* RFC 1321 appendix A.5 and FIPS 180-2 appendices A/B (SHA-1, SHA-256) test vectors. */
static void test_vectors(void)
{
    static const struct {
        const char *msg;
        const char *md5;
        const char *sha1;
        const char *sha256;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72", "a9993e364706816aba3e25717850c26c9cd0d89d",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "8215ef0796a20bcaaae116d3876c664a", "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct hw_digests d;
        uint8_t s[HW_SHA256_LEN];

        hw_digests_compute(v[i].msg, strlen(v[i].msg), &d);
        check_hex(d.md5, HW_MD5_LEN, v[i].md5, "md5");
        check_hex(d.sha1, HW_SHA1_LEN, v[i].sha1, "sha1");
        check_hex(d.sha256, HW_SHA256_LEN, v[i].sha256, "sha256");
        hw_sha256(v[i].msg, strlen(v[i].msg), s);
        check_hex(s, HW_SHA256_LEN, v[i].sha256, "hw_sha256");
    }
    /* NULL with length 0 is the empty message. */
    {
        struct hw_digests d;

        hw_digests_compute(NULL, 0, &d);
        check_hex(d.md5, HW_MD5_LEN, v[0].md5, "md5(NULL, 0)");
    }
}

/* A million 'a' (FIPS 180 long-message vector, RFC 1321 suite value) spans many chunks. */
static void test_multi_chunk(void)
{
    const size_t n = 1000000;
    uint8_t *buf = malloc(n);
    struct hw_digests d;

    if (buf == NULL) {
        CHECK(0, "out of memory");
        return;
    }
    memset(buf, 'a', n);
    hw_digests_compute(buf, n, &d);
    check_hex(d.md5, HW_MD5_LEN, "7707d6ae4e027c70eea2a935c2296f21", "md5(1M a)");
    check_hex(d.sha1, HW_SHA1_LEN, "34aa973cd4c4daa4f61eeb2bdbad27316534016f", "sha1(1M a)");
    check_hex(d.sha256, HW_SHA256_LEN,
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256(1M a)");

    /* Lengths around chunk boundaries with varied content, against one-shot nettle. */
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)((i * 2654435761u) >> 13);
    }
    {
        static const size_t lens[] = {1, 63, 64, 65, 8191, 8192, 8193, 16384, 16385, 100003};

        for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
            const size_t len = lens[li];
            struct md5_ctx m;
            struct sha1_ctx s1;
            struct sha256_ctx s2;
            uint8_t wm[HW_MD5_LEN];
            uint8_t w1[HW_SHA1_LEN];
            uint8_t w2[HW_SHA256_LEN];
            uint8_t h2[HW_SHA256_LEN];

            md5_init(&m);
            md5_update(&m, len, buf);
            md5_digest(&m, sizeof(wm), wm);
            sha1_init(&s1);
            sha1_update(&s1, len, buf);
            sha1_digest(&s1, sizeof(w1), w1);
            sha256_init(&s2);
            sha256_update(&s2, len, buf);
            sha256_digest(&s2, sizeof(w2), w2);
            hw_digests_compute(buf, len, &d);
            hw_sha256(buf, len, h2);
            CHECK(memcmp(d.md5, wm, sizeof(wm)) == 0, "md5 len %zu differs from one-shot", len);
            CHECK(memcmp(d.sha1, w1, sizeof(w1)) == 0, "sha1 len %zu differs", len);
            CHECK(memcmp(d.sha256, w2, sizeof(w2)) == 0, "sha256 len %zu differs", len);
            CHECK(memcmp(h2, w2, sizeof(w2)) == 0, "hw_sha256 len %zu differs", len);
        }
    }
    free(buf);
}

static void test_hex(void)
{
    const uint8_t bytes[5] = {0x00, 0x01, 0xab, 0xcd, 0xff};
    uint8_t back[5];
    uint8_t keep[5] = {9, 9, 9, 9, 9};
    char buf[11];

    hw_hex_encode(bytes, 5, buf);
    CHECK(strcmp(buf, "0001abcdff") == 0, "encode gave %s", buf);
    CHECK(hw_hex_decode("0001ABcdFF", 10, back, 5) == HW_OK && memcmp(back, bytes, 5) == 0,
          "mixed-case decode");
    CHECK(hw_hex_decode("0001abcdf", 9, keep, 5) == HW_EINVAL, "odd length accepted");
    CHECK(hw_hex_decode("0001abcdff00", 12, keep, 5) == HW_EINVAL, "long input accepted");
    CHECK(hw_hex_decode("0001abcdfg", 10, keep, 5) == HW_EINVAL, "'g' accepted");
    CHECK(hw_hex_decode("0001 bcdff", 10, keep, 5) == HW_EINVAL, "space accepted");
    CHECK(hw_hex_decode("0001abcd\0f", 10, keep, 5) == HW_EINVAL, "NUL accepted");
    CHECK(keep[0] == 9 && keep[4] == 9, "rejected decode wrote output");
    CHECK(hw_hex_decode("", 0, back, 0) == HW_OK, "empty decode");
    hw_hex_encode(bytes, 0, buf);
    CHECK(buf[0] == '\0', "empty encode not terminated");
}

static void test_memeq(void)
{
    uint8_t a[100];
    uint8_t b[100];

    for (int i = 0; i < 100; i++) {
        a[i] = b[i] = (uint8_t)i;
    }
    CHECK(hw_memeq_ct(a, b, 100) == 1, "equal buffers");
    CHECK(hw_memeq_ct(a, b, 0) == 1, "empty");
    b[99] ^= 0x80;
    CHECK(hw_memeq_ct(a, b, 100) == 0, "last byte differs");
    CHECK(hw_memeq_ct(a, b, 99) == 1, "prefix equal");
    b[99] = a[99];
    b[0] ^= 1;
    CHECK(hw_memeq_ct(a, b, 100) == 0, "first byte differs");
}

int main(void)
{
    test_vectors();
    test_multi_chunk();
    test_hex();
    test_memeq();
    printf("%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
