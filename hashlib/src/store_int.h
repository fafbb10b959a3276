/* store_int.h: hashlib-internal access to the store's LMDB environment (for the keys table). */
#ifndef HASHLIB_STORE_INT_H
#define HASHLIB_STORE_INT_H

#include <lmdb.h>

#include "hw_store.h"

/*
 * Named databases the store itself uses (see hashlib/STORE.md for their layouts):
 *   "meta", "lists", "entries", "byid", "pdqdelta", "pdqidx".
 * Other hashlib modules may open their own named databases in the same environment; the
 * environment is opened with HW_STORE_MAXDBS slots. Reserved for the server's API keys: "keys".
 * Any name not listed above is free; do not touch the store's databases.
 */
#define HW_STORE_MAXDBS 32

/**
 * The LMDB environment behind an open store (opened with MDB_NOTLS, so read transactions may
 * be used from any thread; a write transaction stays on the thread that began it, and LMDB
 * allows one write transaction at a time across all processes: an open hw_batch blocks other
 * writers until it commits or aborts).
 *
 * Ownership: owned by the store; valid until hw_store_close(). Never NULL for an open store.
 * Do not call mdb_env_close / mdb_env_set_* on it.
 */
MDB_env *hw_store_env(hw_store *s);

#endif
