/* error.c: hashlib's error messages and the errbuf helper. */
#include <stdarg.h>
#include <stdio.h>

#include "hw_error.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} hw_errors[] = {
    {HW_OK, "ok", "success"},
    {HW_EINVAL, "invalid_argument", "invalid argument"},
    {HW_ENOMEM, "out_of_memory", "out of memory"},
    {HW_EUNSUPPORTED, "unsupported", "unsupported format or feature"},
    {HW_ETOOBIG, "too_big", "a size limit was exceeded"},
    {HW_EFORMAT, "corrupt", "corrupt or malformed input"},
    {HW_ETRUNCATED, "truncated", "input is truncated"},
    {HW_EIO, "io_error", "input/output or storage error"},
    {HW_ENOTFOUND, "not_found", "not found"},
    {HW_EEXIST, "exists", "already exists"},
    {HW_EVERSION, "version", "incompatible store schema version"},
    {HW_EFULL, "full", "full"},
    {HW_EBUSY, "busy", "busy; try again"},
    {HW_EAUTH, "unauthorized", "unknown, revoked or wrong key"},
    {HW_ECORRUPT, "integrity", "stored data failed its integrity check"},
    {HW_ELOWQUALITY, "low_quality", "image quality too low to match"},
    {HW_EINTERNAL, "internal", "internal error"},
};

const char *hw_strerror(int err)
{
    for (size_t i = 0; i < sizeof(hw_errors) / sizeof(hw_errors[0]); i++) {
        if (hw_errors[i].code == err) {
            return hw_errors[i].text;
        }
    }
    return "unknown error";
}

const char *hw_errname(int err)
{
    for (size_t i = 0; i < sizeof(hw_errors) / sizeof(hw_errors[0]); i++) {
        if (hw_errors[i].code == err) {
            return hw_errors[i].name;
        }
    }
    return "unknown";
}

int hw_seterr(int err, char *errbuf, size_t errbuf_len, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errbuf_len == 0) {
        return err;
    }
    va_start(ap, fmt);
    vsnprintf(errbuf, errbuf_len, fmt, ap);
    va_end(ap);
    return err;
}
