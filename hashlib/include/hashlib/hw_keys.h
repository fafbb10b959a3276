/* hw_keys.h: API keys (roles, list restrictions, rate limits), stored hashed in the store. */
#ifndef HASHLIB_HW_KEYS_H
#define HASHLIB_HW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "hw_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A key's text is "hwk_" + 16 hex digits of id + "_" + 64 hex digits of secret (256 random
 * bits from getrandom(2)). Only the SHA-256 of the secret is stored, in the LMDB database
 * "keys" of the store's environment, keyed by id; a presented secret is compared with
 * hw_memeq_ct(). The key text is returned once, by hw_keys_create(), and never again.
 */

enum hw_role {
    HW_ROLE_NONE = 0,
    HW_ROLE_CHECK = 1,   /* /v1/check and the HMA endpoints; reduced match details */
    HW_ROLE_ANALYST = 2, /* adds hash look-ups; sees distances and provenance; audited */
    HW_ROLE_ADMIN = 3,   /* adds list management; every action audited */
};

/** "check", "analyst", "admin"; "none" otherwise. Never NULL. */
const char *hw_role_name(int role);
/** Parse a role name; HW_ROLE_NONE when unknown. */
int hw_role_parse(const char *s);

#define HW_KEY_ID_HEX    16
#define HW_KEY_TEXT_MAX  96  /* including the NUL */
#define HW_KEY_NAME_MAX  64  /* including the NUL */
#define HW_KEY_LISTS_MAX 512 /* comma-separated list names, including the NUL */

struct hw_key_info {
    char id[HW_KEY_ID_HEX + 1];
    char name[HW_KEY_NAME_MAX];
    int role;                     /* enum hw_role */
    char lists[HW_KEY_LISTS_MAX]; /* "" = every list; else comma-separated names */
    double rate;                  /* requests per second; 0 = unlimited */
    int64_t created;              /* unix seconds */
    int64_t revoked;              /* unix seconds; 0 while valid */
};

typedef struct hw_keys hw_keys;

/**
 * Open the key database of an open store (creating it unless the store is read-only).
 * @return HW_OK, HW_EINVAL, HW_EIO, HW_ENOTFOUND (read-only store without keys), HW_ENOMEM.
 * Ownership: close with hw_keys_close() before closing the store.
 * Thread safety: one handle per store, shared by all threads.
 */
int hw_keys_open(hw_store *s, hw_keys **out, char *errbuf, size_t errbuf_len);
/** Close the handle; NULL is accepted. */
void hw_keys_close(hw_keys *k);

/**
 * Create a key.
 * @param name      1..63 printable characters
 * @param role      HW_ROLE_CHECK, _ANALYST or _ADMIN
 * @param lists     NULL or "" for every list, else comma-separated list names (each
 *                  [a-z0-9_.-]{1,63}); the lists need not exist yet
 * @param rate      requests per second, 0 = unlimited, else 0 < rate <= 1e6
 * @param key_text  receives the key text, the only time it is ever available
 * @param info      optional; receives the stored record
 * @return HW_OK, HW_EINVAL, HW_EIO (getrandom or LMDB failed), HW_EFULL (map full).
 * Thread safety: any thread.
 */
int hw_keys_create(hw_keys *k, const char *name, int role, const char *lists, double rate,
                   char key_text[HW_KEY_TEXT_MAX], struct hw_key_info *info, char *errbuf,
                   size_t errbuf_len);

/**
 * Every key (revoked ones too), in id order: up to cap into out; *n receives the total.
 * @return HW_OK, HW_EIO.
 */
int hw_keys_list(hw_keys *k, struct hw_key_info *out, size_t cap, size_t *n, char *errbuf,
                 size_t errbuf_len);

/**
 * Revoke a key by id (or by its full text). Effective for the next request of a running
 * server: hw_keys_verify() reads the record in a fresh read transaction every time.
 * @return HW_OK, HW_ENOTFOUND, HW_EINVAL, HW_EIO.
 */
int hw_keys_revoke(hw_keys *k, const char *id, char *errbuf, size_t errbuf_len);

/**
 * Check a presented key text.
 * @param text, len  the bytes after "Bearer "
 * @param out        receives the key's record on success
 * @return HW_OK, HW_EAUTH (malformed, unknown, revoked or wrong secret), HW_EIO.
 * Thread safety: any thread; the calling thread must not hold an open hw_snapshot of the
 * same store (LMDB allows one read transaction per thread).
 */
int hw_keys_verify(hw_keys *k, const char *text, size_t len, struct hw_key_info *out);

/** 1 when the key may see list `name` (its lists are empty, or name is one of them). */
int hw_key_allows_list(const struct hw_key_info *key, const char *name);

#ifdef __cplusplus
}
#endif
#endif
