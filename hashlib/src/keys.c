/* keys.c: API keys stored as SHA-256 of their secret in the store's LMDB "keys" database. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <lmdb.h>

#include "hw_digest.h"
#include "hw_error.h"
#include "hw_keys.h"
#include "store_int.h"

#define KEY_PREFIX       "hwk_"
#define KEY_PREFIX_LEN   4
#define KEY_SECRET_BYTES 32
#define KEY_TEXT_LEN     (KEY_PREFIX_LEN + HW_KEY_ID_HEX + 1 + 2 * KEY_SECRET_BYTES)
#define KEY_REC_VERSION  1u

struct hw_keys {
    MDB_env *env;
    MDB_dbi dbi;
};

/* The stored record: fixed layout, host byte order (the store is not portable across
 * architectures anyway: LMDB's own files are not). */
struct key_rec {
    uint32_t version;
    int32_t role;
    double rate;
    int64_t created;
    int64_t revoked;
    uint8_t secret_hash[HW_SHA256_LEN];
    char name[HW_KEY_NAME_MAX];
    char lists[HW_KEY_LISTS_MAX];
};

const char *hw_role_name(int role)
{
    switch (role) {
    case HW_ROLE_CHECK:
        return "check";
    case HW_ROLE_ANALYST:
        return "analyst";
    case HW_ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

int hw_role_parse(const char *s)
{
    if (s == NULL) {
        return HW_ROLE_NONE;
    }
    if (strcmp(s, "check") == 0) {
        return HW_ROLE_CHECK;
    }
    if (strcmp(s, "analyst") == 0) {
        return HW_ROLE_ANALYST;
    }
    if (strcmp(s, "admin") == 0) {
        return HW_ROLE_ADMIN;
    }
    return HW_ROLE_NONE;
}

static int keys_mdb_err(int rc, char *errbuf, size_t errbuf_len, const char *what)
{
    if (rc == MDB_MAP_FULL) {
        return hw_seterr(HW_EFULL, errbuf, errbuf_len, "%s: store map full", what);
    }
    return hw_seterr(HW_EIO, errbuf, errbuf_len, "%s: %s", what, mdb_strerror(rc));
}

int hw_keys_open(hw_store *s, hw_keys **out, char *errbuf, size_t errbuf_len)
{
    struct hw_keys *k = NULL;
    MDB_txn *txn = NULL;
    unsigned envflags = 0;
    int rc, mrc;

    if (out != NULL) {
        *out = NULL;
    }
    if (s == NULL || out == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "keys: NULL argument");
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return HW_ENOMEM;
    }
    k->env = hw_store_env(s);
    if (k->env == NULL) {
        rc = hw_seterr(HW_EINVAL, errbuf, errbuf_len, "keys: store has no environment");
        goto fail;
    }
    mdb_env_get_flags(k->env, &envflags);
    if (envflags & MDB_RDONLY) {
        mrc = mdb_txn_begin(k->env, NULL, MDB_RDONLY, &txn);
        if (mrc == 0) {
            mrc = mdb_dbi_open(txn, "keys", 0, &k->dbi);
            if (mrc == MDB_NOTFOUND) {
                mdb_txn_abort(txn);
                rc = hw_seterr(HW_ENOTFOUND, errbuf, errbuf_len, "store has no keys yet");
                goto fail;
            }
        }
    } else {
        mrc = mdb_txn_begin(k->env, NULL, 0, &txn);
        if (mrc == 0) {
            mrc = mdb_dbi_open(txn, "keys", MDB_CREATE, &k->dbi);
        }
    }
    if (mrc != 0) {
        if (txn != NULL) {
            mdb_txn_abort(txn);
        }
        rc = keys_mdb_err(mrc, errbuf, errbuf_len, "keys: open");
        goto fail;
    }
    mrc = mdb_txn_commit(txn);
    if (mrc != 0) {
        rc = keys_mdb_err(mrc, errbuf, errbuf_len, "keys: open");
        goto fail;
    }
    *out = k;
    return HW_OK;
fail:
    free(k);
    return rc;
}

void hw_keys_close(hw_keys *k)
{
    /* The DBI handle belongs to the environment and is closed with it. */
    free(k);
}

static int keys_name_ok(const char *n)
{
    size_t len = strlen(n);

    if (len == 0 || len >= HW_KEY_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)n[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

static int keys_lists_ok(const char *l)
{
    size_t run = 0;
    size_t len = strlen(l);

    if (len >= HW_KEY_LISTS_MAX) {
        return 0;
    }
    for (size_t i = 0; i <= len; i++) {
        char c = l[i];
        if (c == ',' || c == '\0') {
            if (run == 0 && len > 0) {
                return 0;
            }
            run = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-')) {
            return 0;
        }
        if (++run >= HW_LIST_NAME_MAX) {
            return 0;
        }
    }
    return 1;
}

static void keys_info_from_rec(const char *id, const struct key_rec *r, struct hw_key_info *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s", id);
    memcpy(o->name, r->name, sizeof(o->name));
    o->name[sizeof(o->name) - 1] = '\0';
    memcpy(o->lists, r->lists, sizeof(o->lists));
    o->lists[sizeof(o->lists) - 1] = '\0';
    o->role = r->role;
    o->rate = r->rate;
    o->created = r->created;
    o->revoked = r->revoked;
}

static int keys_random(void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = getrandom((char *)buf + got, len - got, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

int hw_keys_create(hw_keys *k, const char *name, int role, const char *lists, double rate,
                   char key_text[HW_KEY_TEXT_MAX], struct hw_key_info *info, char *errbuf,
                   size_t errbuf_len)
{
    struct key_rec rec;
    uint8_t idb[HW_KEY_ID_HEX / 2];
    uint8_t secret[KEY_SECRET_BYTES];
    char id[HW_KEY_ID_HEX + 1];
    char secret_hex[2 * KEY_SECRET_BYTES + 1];
    MDB_txn *txn = NULL;
    MDB_val kv, vv;
    int mrc, rc = HW_OK;

    if (key_text != NULL) {
        key_text[0] = '\0';
    }
    if (k == NULL || name == NULL || key_text == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "keys: NULL argument");
    }
    if (!keys_name_ok(name)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len,
                         "key name must be 1..63 printable characters without quotes");
    }
    if (role != HW_ROLE_CHECK && role != HW_ROLE_ANALYST && role != HW_ROLE_ADMIN) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "role must be check, analyst or admin");
    }
    if (lists == NULL) {
        lists = "";
    }
    if (!keys_lists_ok(lists)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len,
                         "lists must be comma-separated names [a-z0-9_.-]{1,63}");
    }
    if (!(rate >= 0.0 && rate <= 1e6)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "rate must be 0 (unlimited) to 1e6");
    }
    if (keys_random(idb, sizeof(idb)) != 0 || keys_random(secret, sizeof(secret)) != 0) {
        return hw_seterr(HW_EIO, errbuf, errbuf_len, "getrandom: %s", strerror(errno));
    }
    hw_hex_encode(idb, sizeof(idb), id);
    hw_hex_encode(secret, sizeof(secret), secret_hex);
    memset(&rec, 0, sizeof(rec));
    rec.version = KEY_REC_VERSION;
    rec.role = role;
    rec.rate = rate;
    rec.created = (int64_t)time(NULL);
    hw_sha256(secret, sizeof(secret), rec.secret_hash);
    snprintf(rec.name, sizeof(rec.name), "%s", name);
    snprintf(rec.lists, sizeof(rec.lists), "%s", lists);

    mrc = mdb_txn_begin(k->env, NULL, 0, &txn);
    if (mrc != 0) {
        rc = keys_mdb_err(mrc, errbuf, errbuf_len, "keys: create");
        goto out;
    }
    kv.mv_data = id;
    kv.mv_size = HW_KEY_ID_HEX;
    vv.mv_data = &rec;
    vv.mv_size = sizeof(rec);
    mrc = mdb_put(txn, k->dbi, &kv, &vv, MDB_NOOVERWRITE);
    if (mrc == 0) {
        mrc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    txn = NULL;
    if (mrc != 0) {
        rc = keys_mdb_err(mrc, errbuf, errbuf_len, "keys: create");
        goto out;
    }
    snprintf(key_text, HW_KEY_TEXT_MAX, KEY_PREFIX "%s_%s", id, secret_hex);
    if (info != NULL) {
        keys_info_from_rec(id, &rec, info);
    }
out:
    memset(secret, 0, sizeof(secret));
    memset(secret_hex, 0, sizeof(secret_hex));
    return rc;
}

int hw_keys_list(hw_keys *k, struct hw_key_info *out, size_t cap, size_t *n, char *errbuf,
                 size_t errbuf_len)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    size_t count = 0;
    int mrc, rc = HW_OK;

    if (n != NULL) {
        *n = 0;
    }
    if (k == NULL || n == NULL || (out == NULL && cap > 0)) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "keys: NULL argument");
    }
    mrc = mdb_txn_begin(k->env, NULL, MDB_RDONLY, &txn);
    if (mrc == 0) {
        mrc = mdb_cursor_open(txn, k->dbi, &cur);
    }
    if (mrc != 0) {
        rc = keys_mdb_err(mrc, errbuf, errbuf_len, "keys: list");
        goto out;
    }
    for (mrc = mdb_cursor_get(cur, &kv, &vv, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        struct key_rec rec;
        char id[HW_KEY_ID_HEX + 1];

        if (kv.mv_size != HW_KEY_ID_HEX || vv.mv_size != sizeof(rec)) {
            continue;
        }
        memcpy(&rec, vv.mv_data, sizeof(rec));
        memcpy(id, kv.mv_data, HW_KEY_ID_HEX);
        id[HW_KEY_ID_HEX] = '\0';
        if (count < cap) {
            keys_info_from_rec(id, &rec, &out[count]);
        }
        count++;
    }
    if (mrc != MDB_NOTFOUND) {
        rc = keys_mdb_err(mrc, errbuf, errbuf_len, "keys: list");
        goto out;
    }
    *n = count;
out:
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    return rc;
}

int hw_keys_revoke(hw_keys *k, const char *id, char *errbuf, size_t errbuf_len)
{
    MDB_txn *txn = NULL;
    MDB_val kv, vv;
    struct key_rec rec;
    char idbuf[HW_KEY_ID_HEX + 1];
    int mrc;

    if (k == NULL || id == NULL) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "keys: NULL argument");
    }
    if (strncmp(id, KEY_PREFIX, KEY_PREFIX_LEN) == 0) {
        id += KEY_PREFIX_LEN;
    }
    if (strlen(id) < HW_KEY_ID_HEX) {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "a key id is %d hex digits", HW_KEY_ID_HEX);
    }
    memcpy(idbuf, id, HW_KEY_ID_HEX);
    idbuf[HW_KEY_ID_HEX] = '\0';
    if (id[HW_KEY_ID_HEX] != '\0' && id[HW_KEY_ID_HEX] != '_') {
        return hw_seterr(HW_EINVAL, errbuf, errbuf_len, "a key id is %d hex digits", HW_KEY_ID_HEX);
    }
    mrc = mdb_txn_begin(k->env, NULL, 0, &txn);
    if (mrc != 0) {
        return keys_mdb_err(mrc, errbuf, errbuf_len, "keys: revoke");
    }
    kv.mv_data = idbuf;
    kv.mv_size = HW_KEY_ID_HEX;
    mrc = mdb_get(txn, k->dbi, &kv, &vv);
    if (mrc == MDB_NOTFOUND || (mrc == 0 && vv.mv_size != sizeof(rec))) {
        mdb_txn_abort(txn);
        return hw_seterr(HW_ENOTFOUND, errbuf, errbuf_len, "no key with id %s", idbuf);
    }
    if (mrc != 0) {
        mdb_txn_abort(txn);
        return keys_mdb_err(mrc, errbuf, errbuf_len, "keys: revoke");
    }
    memcpy(&rec, vv.mv_data, sizeof(rec));
    if (rec.revoked == 0) {
        rec.revoked = (int64_t)time(NULL);
        if (rec.revoked == 0) {
            rec.revoked = 1;
        }
    }
    vv.mv_data = &rec;
    vv.mv_size = sizeof(rec);
    mrc = mdb_put(txn, k->dbi, &kv, &vv, 0);
    if (mrc != 0) {
        mdb_txn_abort(txn);
        return keys_mdb_err(mrc, errbuf, errbuf_len, "keys: revoke");
    }
    mrc = mdb_txn_commit(txn);
    if (mrc != 0) {
        return keys_mdb_err(mrc, errbuf, errbuf_len, "keys: revoke");
    }
    return HW_OK;
}

int hw_keys_verify(hw_keys *k, const char *text, size_t len, struct hw_key_info *out)
{
    uint8_t secret[KEY_SECRET_BYTES];
    uint8_t digest[HW_SHA256_LEN];
    struct key_rec rec;
    MDB_txn *txn = NULL;
    MDB_val kv, vv;
    char id[HW_KEY_ID_HEX + 1];
    int mrc, ok;

    if (k == NULL || text == NULL || out == NULL) {
        return HW_EAUTH;
    }
    if (len != KEY_TEXT_LEN || memcmp(text, KEY_PREFIX, KEY_PREFIX_LEN) != 0 ||
        text[KEY_PREFIX_LEN + HW_KEY_ID_HEX] != '_') {
        return HW_EAUTH;
    }
    memcpy(id, text + KEY_PREFIX_LEN, HW_KEY_ID_HEX);
    id[HW_KEY_ID_HEX] = '\0';
    if (hw_hex_decode(text + KEY_PREFIX_LEN + HW_KEY_ID_HEX + 1, 2 * KEY_SECRET_BYTES, secret,
                      sizeof(secret)) != HW_OK) {
        return HW_EAUTH;
    }
    hw_sha256(secret, sizeof(secret), digest);
    mrc = mdb_txn_begin(k->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0) {
        return HW_EIO;
    }
    kv.mv_data = id;
    kv.mv_size = HW_KEY_ID_HEX;
    mrc = mdb_get(txn, k->dbi, &kv, &vv);
    if (mrc != 0 || vv.mv_size != sizeof(rec)) {
        mdb_txn_abort(txn);
        return mrc == 0 || mrc == MDB_NOTFOUND ? HW_EAUTH : HW_EIO;
    }
    memcpy(&rec, vv.mv_data, sizeof(rec));
    mdb_txn_abort(txn);
    ok = hw_memeq_ct(rec.secret_hash, digest, HW_SHA256_LEN);
    if (!ok || rec.revoked != 0 || rec.version != KEY_REC_VERSION) {
        return HW_EAUTH;
    }
    keys_info_from_rec(id, &rec, out);
    return HW_OK;
}

int hw_key_allows_list(const struct hw_key_info *key, const char *name)
{
    const char *p;
    size_t nl;

    if (key == NULL || name == NULL) {
        return 0;
    }
    if (key->lists[0] == '\0') {
        return 1;
    }
    nl = strlen(name);
    p = key->lists;
    while (*p != '\0') {
        const char *c = strchr(p, ',');
        size_t l = c != NULL ? (size_t)(c - p) : strlen(p);
        if (l == nl && memcmp(p, name, nl) == 0) {
            return 1;
        }
        if (c == NULL) {
            break;
        }
        p = c + 1;
    }
    return 0;
}
