/* hw_audit.h: the append-only, hash-chained JSON-lines audit log of analyst and admin actions. */
#ifndef HASHLIB_HW_AUDIT_H
#define HASHLIB_HW_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * File format: one JSON object per line, '\n'-terminated. Every line starts with
 *   {"seq":N,"prev":"<64 hex>", ...
 * where seq counts lines from 1 and prev is the lowercase hex SHA-256 of the previous line's
 * bytes (without its '\n'); the first line's prev is 64 zeros. The rest of the object is what
 * the caller recorded. Changing, removing or reordering any line breaks the chain at or after
 * that line, which hw_audit_verify() reports.
 *
 * Durability: hw_audit_append() returns only after the whole line was written with one
 * write(2) on an O_APPEND descriptor and fdatasync(2) succeeded, so a record that the caller
 * acted on survives a crash of the process or the machine.
 */

typedef struct hw_audit hw_audit;

/**
 * Open (creating with mode 0600 when absent) the audit log at `path` for appending, and read
 * its last line to continue the chain.
 *
 * @param path  file name; the directory must exist
 * @param out   receives the handle; set to NULL on entry
 * @return HW_OK, HW_EINVAL (NULL argument), HW_EIO (open/read failed), HW_ECORRUPT (the file
 *         does not end with a complete line), HW_ENOMEM.
 * Ownership: close with hw_audit_close(). Thread safety: one handle per process; appends from
 * any thread are serialised by the handle.
 */
int hw_audit_open(const char *path, hw_audit **out, char *errbuf, size_t errbuf_len);

/** Close the log; NULL is accepted. */
void hw_audit_close(hw_audit *a);

/**
 * Append one record, durably, before returning.
 *
 * @param record_json  a JSON object text "{...}" (no newline, no "seq"/"prev" keys; at most
 *                     64 KiB); its members are appended after seq and prev
 * @return HW_OK, HW_EINVAL (not an object text, or contains a newline), HW_ETOOBIG,
 *         HW_EIO (write or fdatasync failed: the record may not be in the log and the caller
 *         must fail its request), HW_ENOMEM. After HW_EIO the handle re-reads the file's
 *         last line on the next append, so the chain stays consistent.
 * Thread safety: any thread.
 */
int hw_audit_append(hw_audit *a, const char *record_json, char *errbuf, size_t errbuf_len);

/**
 * Check the chain of the log at `path`.
 *
 * @param n_lines     receives the count of lines that verified
 * @param bad_line    receives the 1-based number of the first broken line (0 when none)
 * @return HW_OK (all lines verify; an empty or absent file verifies with 0 lines),
 *         HW_ECORRUPT (*bad_line says where; errbuf says why), HW_EIO, HW_ENOMEM.
 * Thread safety: reentrant.
 */
int hw_audit_verify(const char *path, uint64_t *n_lines, uint64_t *bad_line, char *errbuf,
                    size_t errbuf_len);

#ifdef __cplusplus
}
#endif
#endif
