/* web_assets.h: the analyst page's static files, compiled into hashwatchd (see embed.cmake). */
#ifndef HASHWATCH_WEB_ASSETS_H
#define HASHWATCH_WEB_ASSETS_H

#include <stddef.h>

/** One embedded file, generated at build time from server/web/ by embed.cmake. */
struct srv_web_asset {
    const char *path;          /* URL path, e.g. "/index.html", "/app.js" */
    const char *content_type;  /* e.g. "text/html; charset=utf-8" */
    const unsigned char *data; /* the file's bytes (static storage, never freed) */
    size_t len;                /* number of bytes in data */
    const char *etag;          /* strong ETag with its quotes: "\"<16 hex of SHA-256>\"" */
};

/**
 * Find the embedded file served at `path`, the URL path without query string ("?..." is
 * ignored if present). "/" maps to "/index.html". Matching is exact and case-sensitive; no
 * path is ever resolved against the file system, so "..", "//" or "%2e" simply find nothing.
 *
 * @param path  URL path starting with '/'; NULL is accepted (returns NULL)
 * @return the asset (static, valid for the life of the process), or NULL when there is none
 * Thread safety: any thread, any time (read-only data).
 */
const struct srv_web_asset *srv_web_find(const char *path);

/** Number of embedded files (for tests and /metrics). */
size_t srv_web_count(void);

/** The i-th embedded file, 0 <= i < srv_web_count(), in path order; NULL otherwise. */
const struct srv_web_asset *srv_web_at(size_t i);

/*
 * Headers the server should send with every asset (the page works under this policy; the
 * page also repeats it in a <meta> element). img-src needs blob: for the local preview of an
 * image being checked (an object URL, nothing leaves the browser).
 */
#define SRV_WEB_CSP                                                                                \
    "default-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; "            \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
/* Also recommended: X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
 * Cache-Control: no-cache (with the ETag above for 304 answers), X-Frame-Options: DENY. */

#endif
