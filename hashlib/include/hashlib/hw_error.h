/* hw_error.h: the one error space of hashlib, and its messages. */
#ifndef HASHLIB_HW_ERROR_H
#define HASHLIB_HW_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Every hashlib function that can fail returns one of these (0 = success). Codes from LMDB,
 * libpng, libjpeg, libxml2, jansson or errno are translated at the boundary, never passed up.
 * "No match" is a result, not an error.
 */
enum hw_err {
    HW_OK = 0,
    HW_EINVAL = -1,       /* a caller's argument is wrong (NULL, out of range, bad syntax) */
    HW_ENOMEM = -2,       /* out of memory */
    HW_EUNSUPPORTED = -3, /* not an image format we read, or a feature we do not support */
    HW_ETOOBIG = -4,      /* a configured limit was exceeded (size, pixels, scans, chunks) */
    HW_EFORMAT = -5,      /* corrupt or malformed input (image, list file, record) */
    HW_ETRUNCATED = -6,   /* input ends early */
    HW_EIO = -7,          /* an I/O or storage error (disk, LMDB environment) */
    HW_ENOTFOUND = -8,    /* the named object (list, key, entry) does not exist */
    HW_EEXIST = -9,       /* the named object already exists */
    HW_EVERSION = -10,    /* a store written by an unknown or incompatible schema version */
    HW_EFULL = -11,       /* a store, queue or result buffer is full */
    HW_EBUSY = -12,       /* locked by another writer; try again */
    HW_EAUTH = -13,       /* a key is unknown, revoked or wrong */
    HW_ECORRUPT = -14,    /* stored data fails its integrity check (store, audit chain) */
    HW_ELOWQUALITY = -15, /* an image decoded but its PDQ quality is below the match floor */
    HW_EINTERNAL = -16,   /* a bug: an invariant did not hold */
};

/** Short English description of an error code; never NULL, static storage. Thread-safe. */
const char *hw_strerror(int err);

/** Machine-readable name of an error code ("too_big", "format", ...); never NULL. */
const char *hw_errname(int err);

/**
 * Write a printf-style detail into an optional caller buffer (NULL or 0 length: nothing).
 * Returns `err`, so a failure site can say `return hw_seterr(HW_EFORMAT, eb, ebl, "...")`.
 */
int hw_seterr(int err, char *errbuf, size_t errbuf_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
