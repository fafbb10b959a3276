/* demo.c: the --demo list (hashes of two PDQ conformance images) and an analyst demo key. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hashlib/hw_digest.h"
#include "hashlib/hw_keys.h"
#include "srv.h"

/*
 * Hashes of two images from Meta's ThreatExchange repository, pdq/data/ (copied unmodified in
 * tests/data/conformance/pdq/images/): the PDQ values are the reference hasher's output listed
 * in tests/data/conformance/pdq/expected.tsv; MD5/SHA-1/SHA-256 are of the files' bytes
 * (md5sum, sha1sum, sha256sum).
 */
static const struct {
    const char *source;
    const char *pdq, *md5, *sha1, *sha256;
} demo_images[] = {
    {"reg-test-input/dih/bridge-1-original.jpg",
     "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22",
     "d35c785545392755e7e4164457657269", "ea45d7166b30f98aac6af52f952193ce3083cb4c",
     "b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298"},
    {"reg-test-input/pen-and-coaster.png",
     "1f811b9d267fbc6613c0c7f30e041f9df49b836303e10f067fcffc12c02d01f9",
     "e26b99893e82b864089da14d255df5a4", "cfc1607f08bf835f275d86745eed010725b8d500",
     "9bb522d00383f83f462058e06a09cc01fde43c0cff0238031aaff8ca1cfdb36d"},
};

static int demo_put(hw_batch *b, enum hw_hash_type t, const char *hex, const char *id)
{
    struct hw_entry e;

    memset(&e, 0, sizeof(e));
    e.type = t;
    if (t == HW_HASH_PDQ) {
        struct hw_pdq p;
        if (hw_pdq_from_hex(hex, strlen(hex), &p) != HW_OK) {
            return HW_EINVAL;
        }
        memcpy(e.hash, &p, sizeof(p));
    } else if (hw_hex_decode(hex, strlen(hex), e.hash, hw_hash_type_len(t)) != HW_OK) {
        return HW_EINVAL;
    }
    snprintf(e.entry_id, sizeof(e.entry_id), "%s", id);
    snprintf(e.category, sizeof(e.category), "demo");
    e.severity = HW_SEV_LOW;
    e.created = (int64_t)time(NULL);
    return hw_batch_put(b, &e);
}

/*
 * A fresh analyst key named "demo", printed once by main.c. Keys are stored only as hashes, so
 * a restart cannot show the old one again: earlier demo keys are revoked and a new one made.
 */
static int demo_new_key(hw_store *store, char *key_out, size_t key_out_len, char *errbuf,
                        size_t errbuf_len)
{
    hw_keys *keys = NULL;
    struct hw_key_info infos[64];
    char key[HW_KEY_TEXT_MAX];
    size_t n = 0;
    int rc;

    rc = hw_keys_open(store, &keys, errbuf, errbuf_len);
    if (rc == HW_OK) {
        rc = hw_keys_list(keys, infos, sizeof(infos) / sizeof(infos[0]), &n, errbuf, errbuf_len);
    }
    for (size_t i = 0; rc == HW_OK && i < n && i < sizeof(infos) / sizeof(infos[0]); i++) {
        if (infos[i].revoked == 0 && strcmp(infos[i].name, "demo") == 0) {
            rc = hw_keys_revoke(keys, infos[i].id, errbuf, errbuf_len);
        }
    }
    if (rc == HW_OK) {
        rc = hw_keys_create(keys, "demo", HW_ROLE_ANALYST, NULL, 0, key, NULL, errbuf, errbuf_len);
    }
    hw_keys_close(keys);
    if (rc != HW_OK) {
        return -1;
    }
    snprintf(key_out, key_out_len, "%s", key);
    return 0;
}

int srv_demo_setup(hw_store *store, char *key_out, size_t key_out_len, char *errbuf,
                   size_t errbuf_len)
{
    hw_snapshot *snap = NULL;
    hw_batch *b = NULL;
    struct hw_list_config cfg = {"ThreatExchange pdq/data conformance images (demo)",
                                 "BSD (Meta ThreatExchange repository)", -1};
    size_t n = 0;
    int rc;

    if (key_out_len > 0) {
        key_out[0] = '\0';
    }
    rc = hw_snapshot_begin(store, &snap, errbuf, errbuf_len);
    if (rc != HW_OK) {
        return -1;
    }
    hw_snapshot_lists(snap, NULL, 0, &n);
    if (n > 0) {
        /* A store with lists is only a demo store when it holds exactly the demo list. */
        struct hw_list_info only;
        size_t total = 0;
        hw_snapshot_lists(snap, &only, 1, &total);
        hw_snapshot_end(snap);
        if (total != 1 || strcmp(only.name, "demo") != 0) {
            return 0;
        }
        return demo_new_key(store, key_out, key_out_len, errbuf, errbuf_len);
    }
    hw_snapshot_end(snap);
    rc = hw_store_list_set(store, "demo", &cfg, errbuf, errbuf_len);
    if (rc == HW_OK) {
        rc = hw_batch_begin(store, "demo", 0, &b, errbuf, errbuf_len);
    }
    for (size_t i = 0; rc == HW_OK && i < sizeof(demo_images) / sizeof(demo_images[0]); i++) {
        char id[64];
        snprintf(id, sizeof(id), "demo-%zu", i + 1);
        rc = demo_put(b, HW_HASH_PDQ, demo_images[i].pdq, id);
        if (rc == HW_OK) {
            rc = demo_put(b, HW_HASH_MD5, demo_images[i].md5, id);
        }
        if (rc == HW_OK) {
            rc = demo_put(b, HW_HASH_SHA1, demo_images[i].sha1, id);
        }
        if (rc == HW_OK) {
            rc = demo_put(b, HW_HASH_SHA256, demo_images[i].sha256, id);
        }
    }
    if (rc != HW_OK) {
        hw_batch_abort(b);
        if (errbuf_len > 0 && errbuf[0] == '\0') {
            snprintf(errbuf, errbuf_len, "demo list: %s", hw_strerror(rc));
        }
        return -1;
    }
    rc = hw_batch_commit(b, NULL, errbuf, errbuf_len);
    if (rc != HW_OK) {
        return -1;
    }
    return demo_new_key(store, key_out, key_out_len, errbuf, errbuf_len);
}
