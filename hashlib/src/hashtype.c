/* hashtype.c: names and lengths of the stored hash types, and severity names. */
#include <strings.h>

#include "hw_digest.h"
#include "hw_store.h"

static const struct {
    enum hw_hash_type type;
    const char *name;
    size_t len;
} hw_types[] = {
    {HW_HASH_NONE, "none", 0},
    {HW_HASH_PDQ, "pdq", 32},
    {HW_HASH_MD5, "md5", HW_MD5_LEN},
    {HW_HASH_SHA1, "sha1", HW_SHA1_LEN},
    {HW_HASH_SHA256, "sha256", HW_SHA256_LEN},
    {HW_HASH_PHOTODNA, "photodna", 144},
    {HW_HASH_VIDEO_MD5, "video_md5", HW_MD5_LEN},
};

/* Other spellings seen in hotline formats (VICS, ThreatExchange, NCMEC) and by operators. */
static const struct {
    const char *alias;
    enum hw_hash_type type;
} hw_aliases[] = {
    {"pdq256", HW_HASH_PDQ},          {"pdq_256", HW_HASH_PDQ},
    {"pdq-256", HW_HASH_PDQ},         {"sha-1", HW_HASH_SHA1},
    {"sha_1", HW_HASH_SHA1},          {"sha-256", HW_HASH_SHA256},
    {"sha_256", HW_HASH_SHA256},      {"photo-dna", HW_HASH_PHOTODNA},
    {"photo_dna", HW_HASH_PHOTODNA},  {"pdna", HW_HASH_PHOTODNA},
    {"video-md5", HW_HASH_VIDEO_MD5}, {"videomd5", HW_HASH_VIDEO_MD5},
    {"video_md5", HW_HASH_VIDEO_MD5}, {"md5_video", HW_HASH_VIDEO_MD5},
};

const char *hw_hash_type_name(enum hw_hash_type t)
{
    for (size_t i = 0; i < sizeof(hw_types) / sizeof(hw_types[0]); i++) {
        if (hw_types[i].type == t) {
            return hw_types[i].name;
        }
    }
    return "none";
}

enum hw_hash_type hw_hash_type_parse(const char *s)
{
    if (s == NULL) {
        return HW_HASH_NONE;
    }
    for (size_t i = 1; i < sizeof(hw_types) / sizeof(hw_types[0]); i++) {
        if (strcasecmp(s, hw_types[i].name) == 0) {
            return hw_types[i].type;
        }
    }
    for (size_t i = 0; i < sizeof(hw_aliases) / sizeof(hw_aliases[0]); i++) {
        if (strcasecmp(s, hw_aliases[i].alias) == 0) {
            return hw_aliases[i].type;
        }
    }
    return HW_HASH_NONE;
}

size_t hw_hash_type_len(enum hw_hash_type t)
{
    for (size_t i = 0; i < sizeof(hw_types) / sizeof(hw_types[0]); i++) {
        if (hw_types[i].type == t) {
            return hw_types[i].len;
        }
    }
    return 0;
}

const char *hw_severity_name(int sev)
{
    static const char *const names[] = {"unknown", "low", "medium", "high", "critical"};

    if (sev < 0 || sev > HW_SEV_CRITICAL) {
        return "unknown";
    }
    return names[sev];
}
