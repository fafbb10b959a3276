/* api.c: the endpoints: /v1/check, /v1/lookup, /v1/lists, HMA compatibility, health, metrics. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "hashlib/hw_listfmt.h"
#include "srv_int.h"

#define API_MAX_MATCHES 64 /* matches per hash type per answer */
#define API_KEY_LISTS   64 /* lists a key may be restricted to */

extern const unsigned char srv_openapi_json[];
extern const size_t srv_openapi_json_len;

/* ---- helpers ---- */

struct api_scope {
    char buf[HW_KEY_LISTS_MAX];
    const char *names[API_KEY_LISTS];
    size_t n;
    int all;
};

static void api_scope_init(struct api_scope *sc, const struct hw_key_info *k)
{
    char *p, *save = NULL;

    memset(sc, 0, sizeof(*sc));
    if (k == NULL || k->lists[0] == '\0') {
        sc->all = 1;
        return;
    }
    snprintf(sc->buf, sizeof(sc->buf), "%s", k->lists);
    for (p = strtok_r(sc->buf, ",", &save); p != NULL && sc->n < API_KEY_LISTS;
         p = strtok_r(NULL, ",", &save)) {
        sc->names[sc->n++] = p;
    }
}

static void api_opts(const struct api_scope *sc, struct hw_match_opts *o, int max_distance,
                     int variants)
{
    memset(o, 0, sizeof(*o));
    o->lists = sc->all ? NULL : sc->names;
    o->n_lists = sc->all ? 0 : sc->n;
    o->max_distance = max_distance;
    o->variants = variants;
}

static char *api_dump(json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static void api_reply(struct srv_req *r, int status, json_t *j)
{
    char *s = api_dump(j);

    if (s == NULL) {
        srv_req_error(r, 500, "internal", "out of memory");
        return;
    }
    srv_req_json(r, status, s);
}

static int api_full_view(const struct srv_req *r)
{
    return r->key.role >= HW_ROLE_ANALYST;
}

static json_t *api_match_json(const struct srv_req *r, const struct hw_match *m)
{
    json_t *o = json_object();

    json_object_set_new(o, "list", json_string(m->list));
    json_object_set_new(o, "category", json_string(m->entry.category));
    json_object_set_new(o, "severity", json_string(hw_severity_name(m->entry.severity)));
    json_object_set_new(o, "hash_type", json_string(hw_hash_type_name(m->entry.type)));
    if (api_full_view(r)) {
        /* Distances and provenance are for analysts; platforms get the decision only. */
        json_object_set_new(o, "entry_id", json_string(m->entry.entry_id));
        json_object_set_new(o, "distance", json_integer(m->distance));
        json_object_set_new(o, "variant", json_string(hw_dihedral_name(m->variant)));
        json_object_set_new(o, "list_version", json_integer((json_int_t)m->list_version));
        if (m->entry.member_id[0] != '\0') {
            json_object_set_new(o, "member_id", json_string(m->entry.member_id));
        }
        if (m->entry.created != 0) {
            json_object_set_new(o, "created", json_integer(m->entry.created));
        }
    }
    return o;
}

/* Every list of the snapshot in a malloc'd array sized to fit (a few KiB, from the heap rather
 * than a fresh mapping per request); NULL when out of memory. */
static struct hw_list_info *api_list_infos(hw_snapshot *snap, size_t *n)
{
    struct hw_list_info *li;
    size_t count = 0;

    *n = 0;
    if (hw_snapshot_lists(snap, NULL, 0, &count) != HW_OK) {
        return NULL;
    }
    li = malloc((count ? count : 1) * sizeof(*li));
    if (li == NULL || hw_snapshot_lists(snap, li, count, n) != HW_OK) {
        free(li);
        return NULL;
    }
    if (*n > count) {
        *n = count; /* a snapshot does not change; defensive */
    }
    return li;
}

/* {name: version} of the lists this key may see, from the snapshot. */
static json_t *api_lists_versions(hw_snapshot *snap, const struct srv_req *r)
{
    json_t *o = json_object();
    size_t n = 0;
    struct hw_list_info *li = api_list_infos(snap, &n);

    for (size_t i = 0; li != NULL && i < n; i++) {
        if (hw_key_allows_list(&r->key, li[i].name)) {
            json_object_set_new(o, li[i].name, json_integer((json_int_t)li[i].version));
        }
    }
    free(li);
    return o;
}

int srv_audit_record(struct srv_req *r, const char *fields_json)
{
    char head[512];
    char *line;
    size_t n;
    int rc;
    char eb[256];
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];

    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* Key names are restricted to printable characters without quotes or backslashes. */
    snprintf(head, sizeof(head),
             "{\"time\":\"%s\",\"request_id\":\"%s\",\"key_id\":\"%s\",\"key_name\":\"%s\","
             "\"role\":\"%s\",\"endpoint\":\"%s\"",
             ts, r->rid, r->key.id, r->key.name, hw_role_name(r->key.role), r->path);
    n = strlen(head) + strlen(fields_json) + 4;
    line = malloc(n);
    if (line == NULL) {
        return -1;
    }
    /* fields_json is an object text; splice its members after ours. */
    snprintf(line, n, "%s%s%s", head, strlen(fields_json) > 2 ? "," : "",
             strlen(fields_json) > 2 ? fields_json + 1 : "}");
    rc = hw_audit_append(r->srv->audit, line, eb, sizeof(eb));
    free(line);
    if (rc != HW_OK) {
        fprintf(stderr, "hashwatchd: audit write failed: %s\n", eb);
        return -1;
    }
    return 0;
}

static int api_audit_json(struct srv_req *r, json_t *fields)
{
    char *s = api_dump(fields);
    int rc;

    if (s == NULL) {
        return -1;
    }
    rc = srv_audit_record(r, s);
    free(s);
    return rc;
}

static int api_begin(struct srv_req *r, hw_snapshot **snap)
{
    char eb[256];

    if (hw_snapshot_acquire(r->srv->store, snap, eb, sizeof(eb)) != HW_OK) {
        srv_req_error(r, 503, "unavailable", "the store is unavailable");
        r->retry_after = 1;
        return -1;
    }
    return 0;
}

/* ---- POST /v1/check ---- */

static const char *api_unscannable_reason(int rc, const struct hw_hash_result *res)
{
    switch (rc) {
    case HW_EUNSUPPORTED:
        return res->info.format == HW_FORMAT_UNKNOWN ? "not_an_image" : "unsupported_format";
    case HW_ETOOBIG:
        return "too_large";
    case HW_EFORMAT:
        return "corrupt";
    case HW_ETRUNCATED:
        return "truncated";
    default:
        return "undecodable";
    }
}

static void hashes_json(json_t *o, const struct hw_hash_result *res)
{
    char hex[2 * HW_SHA256_LEN + 1];

    if (res->decoded) {
        char pdq[65];
        hw_pdq_to_hex(&res->pdq[HW_DIH_ORIG], pdq);
        json_object_set_new(o, "pdq", json_string(pdq));
        json_object_set_new(o, "quality", json_integer(res->quality));
    } else {
        json_object_set_new(o, "pdq", json_null());
        json_object_set_new(o, "quality", json_null());
    }
    hw_hex_encode(res->digests.md5, HW_MD5_LEN, hex);
    json_object_set_new(o, "md5", json_string(hex));
    hw_hex_encode(res->digests.sha1, HW_SHA1_LEN, hex);
    json_object_set_new(o, "sha1", json_string(hex));
    hw_hex_encode(res->digests.sha256, HW_SHA256_LEN, hex);
    json_object_set_new(o, "sha256", json_string(hex));
}

static void api_check(struct srv_req *r, hw_hasher *h)
{
    struct hw_hash_result res;
    struct api_scope sc;
    struct hw_match_opts opts;
    struct hw_match *m = NULL;
    hw_snapshot *snap = NULL;
    json_t *out = NULL, *matches = NULL, *audit_matches = NULL, *hashes = NULL;
    const char *verdict, *reason = NULL;
    char eb[256];
    int rc;
    size_t total = 0, nf;
    int truncated = 0;
    static const struct {
        enum hw_hash_type t;
        size_t off;
    } exact[] = {
        {HW_HASH_MD5, offsetof(struct hw_digests, md5)},
        {HW_HASH_SHA1, offsetof(struct hw_digests, sha1)},
        {HW_HASH_SHA256, offsetof(struct hw_digests, sha256)},
    };

    memset(&res, 0, sizeof(res));
    rc = hw_hasher_hash(h, r->body, r->body_len, 0, &res, eb, sizeof(eb));
    if (rc == HW_ENOMEM) {
        srv_req_error(r, 503, "overloaded", "out of memory while decoding; retry later");
        r->retry_after = 1;
        return;
    }
    if (rc != HW_OK) {
        r->hash_err = rc;
        srv_metrics_decode_failure(r->srv->metrics, rc);
    }
    m = malloc(API_MAX_MATCHES * sizeof(*m));
    if (m == NULL || api_begin(r, &snap) != 0) {
        if (m == NULL) {
            srv_req_error(r, 503, "overloaded", "out of memory");
        }
        goto out;
    }
    api_scope_init(&sc, &r->key);
    matches = json_array();
    audit_matches = json_array();
    /* Exact digests count even when the image does not decode. */
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        api_opts(&sc, &opts, -1, 0);
        nf = 0;
        if (hw_snapshot_match_exact(snap, exact[i].t, (const uint8_t *)&res.digests + exact[i].off,
                                    &opts, m, API_MAX_MATCHES, &nf) != HW_OK) {
            srv_req_error(r, 503, "unavailable", "store read failed");
            goto out;
        }
        for (size_t j = 0; j < nf && j < API_MAX_MATCHES; j++) {
            json_array_append_new(matches, api_match_json(r, &m[j]));
            json_array_append_new(audit_matches,
                                  json_pack("{s:s,s:s,s:s}", "list", m[j].list, "entry_id",
                                            m[j].entry.entry_id, "hash_type",
                                            hw_hash_type_name(m[j].entry.type)));
            srv_metrics_list_match(r->srv->metrics, m[j].list);
        }
        truncated |= nf > API_MAX_MATCHES;
        total += nf;
    }
    /* PDQ below the quality floor is unreliable (upstream pdq/README.md): no near match. */
    if (res.decoded && res.quality >= HW_PDQ_QUALITY_MIN) {
        api_opts(&sc, &opts, r->max_distance, r->variants);
        nf = 0;
        if (hw_snapshot_match_pdq(snap, res.pdq, &opts, m, API_MAX_MATCHES, &nf) != HW_OK) {
            srv_req_error(r, 503, "unavailable", "store read failed");
            goto out;
        }
        for (size_t j = 0; j < nf && j < API_MAX_MATCHES; j++) {
            json_array_append_new(matches, api_match_json(r, &m[j]));
            json_array_append_new(audit_matches,
                                  json_pack("{s:s,s:s,s:s,s:i}", "list", m[j].list, "entry_id",
                                            m[j].entry.entry_id, "hash_type", "pdq", "distance",
                                            m[j].distance));
            srv_metrics_list_match(r->srv->metrics, m[j].list);
        }
        truncated |= nf > API_MAX_MATCHES;
        total += nf;
    }
    if (total > 0) {
        verdict = "match";
    } else if (!res.decoded) {
        verdict = "unscannable";
        reason = api_unscannable_reason(rc, &res);
    } else if (res.quality < HW_PDQ_QUALITY_MIN) {
        verdict = "unscannable";
        reason = "low_quality";
    } else {
        verdict = "no_match";
    }
    out = json_object();
    json_object_set_new(out, "verdict", json_string(verdict));
    if (reason != NULL) {
        json_object_set_new(out, "reason", json_string(reason));
    }
    json_object_set_new(out, "matches", matches);
    matches = NULL;
    if (truncated) {
        json_object_set_new(out, "matches_truncated", json_true());
    }
    hashes = json_object();
    hashes_json(hashes, &res);
    json_object_set_new(out, "hashes", hashes);
    json_object_set_new(out, "lists", api_lists_versions(snap, r));
    json_object_set_new(out, "request_id", json_string(r->rid));
    hw_snapshot_release(snap);
    snap = NULL;
    r->verdict = verdict;
    srv_metrics_verdict(r->srv->metrics, verdict);
    if (api_full_view(r)) {
        /* Analyst look-ups are audited before the answer leaves; no upload bytes or hashes. */
        json_t *a = json_pack("{s:s,s:O}", "verdict", verdict, "matches", audit_matches);
        if (reason != NULL) {
            json_object_set_new(a, "reason", json_string(reason));
        }
        if (api_audit_json(r, a) != 0) {
            json_decref(out);
            out = NULL;
            srv_req_error(r, 500, "audit_failed", "the audit log could not be written");
            goto out;
        }
    }
    api_reply(r, 200, out);
    out = NULL;
out:
    json_decref(out);
    json_decref(matches);
    json_decref(audit_matches);
    hw_snapshot_release(snap);
    free(m);
}

/* ---- POST /v1/lookup ---- */

/* Parse a hash's text: hex of the exact length, or (PhotoDNA) any of its text forms. */
int srv_parse_hash(enum hw_hash_type t, const char *s, uint8_t *out)
{
    size_t need = hw_hash_type_len(t), len = strlen(s);

    if (t == HW_HASH_PDQ) {
        struct hw_pdq p;
        if (hw_pdq_from_hex(s, len, &p) != HW_OK) {
            return -1;
        }
        memcpy(out, &p, sizeof(p));
        return 0;
    }
    if (len == 2 * need) {
        return hw_hex_decode(s, len, out, need) == HW_OK ? 0 : -1;
    }
    if (t == HW_HASH_PHOTODNA) {
        /* Every text form lists use (base64, hex, decimal bytes), parsed by hashlib. */
        return hw_listfmt_photodna_decode(s, len, out) == HW_OK ? 0 : -1;
    }
    return -1;
}

static void api_lookup(struct srv_req *r, hw_hasher *h)
{
    static const enum hw_hash_type types[] = {HW_HASH_PDQ,    HW_HASH_MD5,      HW_HASH_SHA1,
                                              HW_HASH_SHA256, HW_HASH_PHOTODNA, HW_HASH_VIDEO_MD5};
    json_t *req = NULL, *results = NULL, *audit_items = NULL, *out = NULL;
    json_error_t jerr;
    hw_snapshot *snap = NULL;
    struct hw_match *m = NULL;
    struct api_scope sc;
    struct hw_match_opts opts;
    size_t count = 0, n_match = 0;
    const char *key;
    json_t *val;

    (void)h;
    req = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL || !json_is_object(req)) {
        srv_req_error(r, 400, "bad_json", "the body must be a JSON object: %s",
                      req == NULL ? jerr.text : "not an object");
        goto out;
    }
    json_object_foreach(req, key, val)
    {
        enum hw_hash_type t = hw_hash_type_parse(key);
        int known = 0;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            known |= types[i] == t;
        }
        if (!known) {
            srv_req_error(r, 422, "bad_request",
                          "unknown hash type '%.64s' (pdq, md5, sha1, sha256, photodna, "
                          "video_md5)",
                          key);
            goto out;
        }
        if (!json_is_array(val)) {
            srv_req_error(r, 422, "bad_request", "'%.64s' must be an array of strings", key);
            goto out;
        }
        count += json_array_size(val);
    }
    if (count == 0) {
        srv_req_error(r, 422, "bad_request", "no hashes to look up");
        goto out;
    }
    if (count > r->srv->cfg.lookup_max) {
        srv_req_error(r, 413, "too_many_hashes", "at most %u hashes per request",
                      r->srv->cfg.lookup_max);
        goto out;
    }
    m = malloc(API_MAX_MATCHES * sizeof(*m));
    if (m == NULL) {
        srv_req_error(r, 503, "overloaded", "out of memory");
        goto out;
    }
    if (api_begin(r, &snap) != 0) {
        goto out;
    }
    api_scope_init(&sc, &r->key);
    results = json_array();
    audit_items = json_array();
    json_object_foreach(req, key, val)
    {
        enum hw_hash_type t = hw_hash_type_parse(key);
        size_t i;
        json_t *item;

        json_array_foreach(val, i, item)
        {
            uint8_t hash[HW_HASH_MAX_LEN];
            const char *text = json_string_value(item);
            json_t *res = json_object();
            json_t *ms;
            size_t nf = 0;
            int rc;

            json_object_set_new(res, "type", json_string(hw_hash_type_name(t)));
            if (text == NULL || srv_parse_hash(t, text, hash) != 0) {
                json_object_set_new(res, "hash",
                                    text != NULL && strlen(text) < 512 ? json_string(text)
                                                                       : json_null());
                json_object_set_new(res, "verdict", json_string("invalid"));
                json_object_set_new(res, "error", json_string("invalid_hash"));
                json_array_append_new(results, res);
                continue;
            }
            json_object_set_new(res, "hash", json_string(text));
            if (t == HW_HASH_PDQ) {
                api_opts(&sc, &opts, r->max_distance, 0);
                rc = hw_snapshot_match_pdq(snap, (const struct hw_pdq *)(void *)hash, &opts, m,
                                           API_MAX_MATCHES, &nf);
            } else {
                api_opts(&sc, &opts, -1, 0);
                rc = hw_snapshot_match_exact(snap, t, hash, &opts, m, API_MAX_MATCHES, &nf);
            }
            if (rc != HW_OK) {
                json_decref(res);
                srv_req_error(r, 503, "unavailable", "store read failed");
                goto out;
            }
            ms = json_array();
            for (size_t j = 0; j < nf && j < API_MAX_MATCHES; j++) {
                json_array_append_new(ms, api_match_json(r, &m[j]));
                srv_metrics_list_match(r->srv->metrics, m[j].list);
            }
            json_object_set_new(res, "verdict", json_string(nf > 0 ? "match" : "no_match"));
            json_object_set_new(res, "matches", ms);
            if (nf > API_MAX_MATCHES) {
                json_object_set_new(res, "matches_truncated", json_true());
            }
            n_match += nf > 0;
            json_array_append_new(audit_items,
                                  json_pack("{s:s,s:s,s:I}", "type", hw_hash_type_name(t), "hash",
                                            text, "matches", (json_int_t)nf));
            json_array_append_new(results, res);
        }
    }
    out = json_object();
    json_object_set_new(out, "results", results);
    results = NULL;
    json_object_set_new(out, "lists", api_lists_versions(snap, r));
    json_object_set_new(out, "request_id", json_string(r->rid));
    hw_snapshot_release(snap);
    snap = NULL;
    r->verdict = n_match > 0 ? "match" : "no_match";
    {
        json_t *a = json_pack("{s:O}", "lookups", audit_items);
        if (api_audit_json(r, a) != 0) {
            srv_req_error(r, 500, "audit_failed", "the audit log could not be written");
            goto out;
        }
    }
    api_reply(r, 200, out);
    out = NULL;
out:
    json_decref(req);
    json_decref(results);
    json_decref(audit_items);
    json_decref(out);
    hw_snapshot_release(snap);
    free(m);
}

/* ---- GET /v1/lists, PUT/DELETE /v1/lists/NAME ---- */

static void api_lists(struct srv_req *r, hw_hasher *h)
{
    struct hw_list_info *li = NULL;
    hw_snapshot *snap = NULL;
    json_t *arr, *out;
    size_t n = 0;

    (void)h;
    if (api_begin(r, &snap) != 0) {
        return;
    }
    li = api_list_infos(snap, &n);
    hw_snapshot_release(snap);
    if (li == NULL) {
        srv_req_error(r, 503, "overloaded", "out of memory");
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o, *counts;
        if (!hw_key_allows_list(&r->key, li[i].name)) {
            continue;
        }
        counts = json_object();
        for (int t = 1; t < HW_HASH_TYPE_COUNT; t++) {
            if (li[i].counts[t] != 0) {
                json_object_set_new(counts, hw_hash_type_name((enum hw_hash_type)t),
                                    json_integer((json_int_t)li[i].counts[t]));
            }
        }
        o = json_pack("{s:s,s:I,s:i,s:o,s:I,s:I,s:s,s:s}", "name", li[i].name, "version",
                      (json_int_t)li[i].version, "pdq_threshold", li[i].pdq_threshold, "counts",
                      counts, "created", (json_int_t)li[i].created, "updated",
                      (json_int_t)li[i].updated, "source", li[i].source, "licence", li[i].licence);
        json_array_append_new(arr, o);
    }
    free(li);
    out = json_pack("{s:o,s:s}", "lists", arr, "request_id", r->rid);
    api_reply(r, 200, out);
}

static void api_list_admin(struct srv_req *r, hw_hasher *h)
{
    const char *name = r->path + strlen("/v1/lists/");
    const char *method = r->route->method;
    char eb[256] = "";
    int rc;
    json_t *body = NULL;
    struct hw_list_config cfg = {NULL, NULL, -1};

    (void)h;
    if (!hw_key_allows_list(&r->key, name)) {
        srv_req_error(r, 403, "forbidden", "this key may not manage list '%s'", name);
        return;
    }
    if (strcmp(method, "PUT") == 0) {
        json_error_t jerr;
        json_t *v;
        body = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (body == NULL || !json_is_object(body)) {
            srv_req_error(r, 400, "bad_json", "the body must be a JSON object");
            goto out;
        }
        v = json_object_get(body, "pdq_threshold");
        if (v != NULL) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 256) {
                srv_req_error(r, 422, "bad_request", "pdq_threshold must be 0..256");
                goto out;
            }
            cfg.pdq_threshold = (int)json_integer_value(v);
        }
        v = json_object_get(body, "source");
        if (v != NULL) {
            cfg.source = json_string_value(v);
            if (cfg.source == NULL || strlen(cfg.source) >= 256) {
                srv_req_error(r, 422, "bad_request", "source must be a string < 256 bytes");
                goto out;
            }
        }
        v = json_object_get(body, "licence");
        if (v != NULL) {
            cfg.licence = json_string_value(v);
            if (cfg.licence == NULL || strlen(cfg.licence) >= 256) {
                srv_req_error(r, 422, "bad_request", "licence must be a string < 256 bytes");
                goto out;
            }
        }
    }
    /* The intent is audited before the store changes, the outcome after it. */
    if (api_audit_json(r, json_pack("{s:s,s:s,s:s,s:i}", "action",
                                    strcmp(method, "PUT") == 0 ? "list_set" : "list_remove", "list",
                                    name, "phase", "begin", "pdq_threshold", cfg.pdq_threshold)) !=
        0) {
        srv_req_error(r, 500, "audit_failed", "the audit log could not be written");
        goto out;
    }
    if (strcmp(method, "PUT") == 0) {
        rc = hw_store_list_set(r->srv->store, name, &cfg, eb, sizeof(eb));
    } else {
        rc = hw_store_list_remove(r->srv->store, name, eb, sizeof(eb));
    }
    if (api_audit_json(r, json_pack("{s:s,s:s,s:s,s:s}", "list", name, "phase", "end", "result",
                                    hw_errname(rc), "detail", eb)) != 0) {
        srv_req_error(r, 500, "audit_failed", "the audit log could not be written");
        goto out;
    }
    if (rc == HW_ENOTFOUND) {
        srv_req_error(r, 404, "not_found", "no list named '%s'", name);
    } else if (rc == HW_EINVAL) {
        srv_req_error(r, 422, "bad_request", "%s", eb);
    } else if (rc != HW_OK) {
        srv_req_error(r, 503, "unavailable", "%s", eb);
    } else {
        api_reply(r, 200,
                  json_pack("{s:s,s:s,s:s}", "list", name, "result",
                            strcmp(method, "PUT") == 0 ? "updated" : "removed", "request_id",
                            r->rid));
    }
out:
    json_decref(body);
}

/* ---- HMA compatibility (OpenMediaMatch matching/hashing blueprints) ---- */

/* Sorted, unique list names of the matches, as HMA's lookup answers (bank names). */
static json_t *api_bank_names(const struct hw_match *m, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++) {
            dup |= strcmp(m[i].list, m[j].list) == 0;
        }
        if (!dup) {
            json_array_append_new(arr, json_string(m[i].list));
        }
    }
    return arr;
}

static void api_hma_lookup_get(struct srv_req *r, hw_hasher *h)
{
    const char *st = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "signal_type");
    const char *sig = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "signal");
    enum hw_hash_type t;
    uint8_t hash[HW_HASH_MAX_LEN];
    struct hw_match m[API_MAX_MATCHES];
    struct hw_match_opts opts;
    struct api_scope sc;
    hw_snapshot *snap = NULL;
    size_t nf = 0;
    int rc;

    (void)h;
    if (st == NULL || sig == NULL) {
        srv_req_error(r, 400, "bad_request", "signal_type and signal are required");
        return;
    }
    t = hw_hash_type_parse(st);
    if (t == HW_HASH_NONE) {
        srv_req_error(r, 400, "bad_request", "No such SignalType '%.32s'", st);
        return;
    }
    if (srv_parse_hash(t, sig, hash) != 0) {
        srv_req_error(r, 400, "bad_request", "invalid signal for type %s", hw_hash_type_name(t));
        return;
    }
    if (api_begin(r, &snap) != 0) {
        return;
    }
    api_scope_init(&sc, &r->key);
    api_opts(&sc, &opts, -1, 0);
    if (t == HW_HASH_PDQ) {
        rc = hw_snapshot_match_pdq(snap, (const struct hw_pdq *)(void *)hash, &opts, m,
                                   API_MAX_MATCHES, &nf);
    } else {
        rc = hw_snapshot_match_exact(snap, t, hash, &opts, m, API_MAX_MATCHES, &nf);
    }
    hw_snapshot_release(snap);
    if (rc != HW_OK) {
        srv_req_error(r, 503, "unavailable", "store read failed");
        return;
    }
    if (nf > API_MAX_MATCHES) {
        nf = API_MAX_MATCHES;
    }
    r->verdict = nf > 0 ? "match" : "no_match";
    srv_metrics_verdict(r->srv->metrics, r->verdict);
    /* An analyst's hash look-up is audited whichever API it comes through. */
    if (api_full_view(r) &&
        api_audit_json(r, json_pack("{s:s,s:s,s:s,s:o}", "verdict", r->verdict, "signal_type",
                                    hw_hash_type_name(t), "signal", sig, "lists",
                                    api_bank_names(m, nf))) != 0) {
        srv_req_error(r, 500, "audit_failed", "the audit log could not be written");
        return;
    }
    api_reply(r, 200, api_bank_names(m, nf));
}

/* Hash an upload for HMA: 0 and res filled, or an error response set. */
static int api_hma_hash(struct srv_req *r, hw_hasher *h, struct hw_hash_result *res)
{
    char eb[256];
    int rc;

    memset(res, 0, sizeof(*res));
    rc = hw_hasher_hash(h, r->body, r->body_len, 0, res, eb, sizeof(eb));
    if (rc != HW_OK) {
        r->hash_err = rc;
        srv_metrics_decode_failure(r->srv->metrics, rc);
        r->verdict = "unscannable";
        srv_req_error(r, rc == HW_ETOOBIG ? 413 : 422, "unscannable", "%s",
                      api_unscannable_reason(rc, res));
        return -1;
    }
    return 0;
}

static void api_hma_lookup_post(struct srv_req *r, hw_hasher *h)
{
    struct hw_hash_result res;
    struct hw_match m[API_MAX_MATCHES];
    struct hw_match_opts opts;
    struct api_scope sc;
    hw_snapshot *snap = NULL;
    size_t nf = 0;

    if (api_hma_hash(r, h, &res) != 0) {
        return;
    }
    if (api_begin(r, &snap) != 0) {
        return;
    }
    api_scope_init(&sc, &r->key);
    api_opts(&sc, &opts, -1, 0);
    if (res.quality >= HW_PDQ_QUALITY_MIN &&
        hw_snapshot_match_pdq(snap, res.pdq, &opts, m, API_MAX_MATCHES, &nf) != HW_OK) {
        hw_snapshot_release(snap);
        srv_req_error(r, 503, "unavailable", "store read failed");
        return;
    }
    hw_snapshot_release(snap);
    if (nf > API_MAX_MATCHES) {
        nf = API_MAX_MATCHES;
    }
    r->verdict = nf > 0 ? "match" : (res.quality < HW_PDQ_QUALITY_MIN ? "unscannable" : "no_match");
    srv_metrics_verdict(r->srv->metrics, r->verdict);
    if (api_full_view(r) && api_audit_json(r, json_pack("{s:s,s:o}", "verdict", r->verdict, "lists",
                                                        api_bank_names(m, nf))) != 0) {
        srv_req_error(r, 500, "audit_failed", "the audit log could not be written");
        return;
    }
    api_reply(r, 200, json_pack("{s:o}", "pdq", api_bank_names(m, nf)));
}

static void api_hma_hash_post(struct srv_req *r, hw_hasher *h)
{
    struct hw_hash_result res;
    char pdq[65];

    if (api_hma_hash(r, h, &res) != 0) {
        return;
    }
    hw_pdq_to_hex(&res.pdq[HW_DIH_ORIG], pdq);
    api_reply(r, 200, json_pack("{s:s}", "pdq", pdq));
}

static void api_hma_status(struct srv_req *r, hw_hasher *h)
{
    static const enum hw_hash_type types[] = {HW_HASH_PDQ, HW_HASH_VIDEO_MD5, HW_HASH_MD5,
                                              HW_HASH_SHA1, HW_HASH_SHA256};
    const char *only = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "signal_type");
    struct hw_list_info *li = NULL;
    hw_snapshot *snap = NULL;
    json_t *out;
    size_t n = 0;
    enum hw_hash_type ot = HW_HASH_NONE;

    (void)h;
    if (only != NULL) {
        ot = hw_hash_type_parse(only);
        if (ot == HW_HASH_NONE || ot == HW_HASH_PHOTODNA) {
            srv_req_error(r, 400, "bad_request", "No such signal type '%.32s'", only);
            return;
        }
    }
    if (api_begin(r, &snap) != 0) {
        return;
    }
    li = api_list_infos(snap, &n);
    hw_snapshot_release(snap);
    if (li == NULL) {
        srv_req_error(r, 503, "overloaded", "out of memory");
        return;
    }
    out = json_object();
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        uint64_t size = 0;
        int64_t built = -1;
        if (ot != HW_HASH_NONE && ot != types[k]) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!hw_key_allows_list(&r->key, li[i].name)) {
                continue;
            }
            size += li[i].counts[types[k]];
            if (li[i].counts[types[k]] != 0 && li[i].updated > built) {
                built = li[i].updated;
            }
        }
        json_object_set_new(out, hw_hash_type_name(types[k]),
                            json_pack("{s:I,s:b,s:I}", "built_to", (json_int_t)built, "present",
                                      size > 0, "size", (json_int_t)size));
    }
    free(li);
    api_reply(r, 200, out);
}

/* ---- health, metrics, OpenAPI ---- */

static void api_healthz(struct srv_req *r, hw_hasher *h)
{
    (void)h;
    api_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void api_readyz(struct srv_req *r, hw_hasher *h)
{
    hw_snapshot *snap = NULL;
    char eb[256];
    size_t n = 0;

    (void)h;
    if (atomic_load(&r->srv->stopping)) {
        srv_req_error(r, 503, "shutting_down", "the server is shutting down");
        return;
    }
    if (hw_snapshot_acquire(r->srv->store, &snap, eb, sizeof(eb)) != HW_OK) {
        srv_req_error(r, 503, "not_ready", "store not readable: %s", eb);
        return;
    }
    hw_snapshot_lists(snap, NULL, 0, &n);
    hw_snapshot_release(snap);
    api_reply(r, 200,
              json_pack("{s:s,s:I,s:i,s:I}", "status", "ready", "lists", (json_int_t)n, "workers",
                        (int)r->srv->workers, "queue_depth",
                        (json_int_t)srv_pool_depth(r->srv->pool)));
}

static void api_metrics(struct srv_req *r, hw_hasher *h)
{
    size_t len = 0;
    char *text = srv_metrics_render(r->srv, &len);

    (void)h;
    if (text == NULL) {
        srv_req_error(r, 500, "internal", "out of memory");
        return;
    }
    srv_req_json(r, 200, text);
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static void api_openapi(struct srv_req *r, hw_hasher *h)
{
    (void)h;
    r->resp = (char *)(uintptr_t)srv_openapi_json;
    r->resp_len = srv_openapi_json_len;
    r->static_asset = 2; /* static data, API caching rules */
    r->ctype = "application/json";
    r->status = 200;
}

/* Paths with several methods are listed together (http.c builds Allow from this order). */
const struct srv_route srv_routes[] = {
    {"POST", "/v1/check", SRV_EP_CHECK, HW_ROLE_CHECK, 1, 1, api_check},
    {"POST", "/v1/lookup", SRV_EP_LOOKUP, HW_ROLE_ANALYST, 1, 1, api_lookup},
    {"GET", "/v1/lists", SRV_EP_LISTS, HW_ROLE_CHECK, 0, 0, api_lists},
    {"PUT", "/v1/lists/", SRV_EP_LIST_ADMIN, HW_ROLE_ADMIN, 1, 1, api_list_admin},
    {"DELETE", "/v1/lists/", SRV_EP_LIST_ADMIN, HW_ROLE_ADMIN, 0, 1, api_list_admin},
    {"GET", "/m/lookup", SRV_EP_HMA_LOOKUP_GET, HW_ROLE_CHECK, 0, 0, api_hma_lookup_get},
    {"POST", "/m/lookup", SRV_EP_HMA_LOOKUP_POST, HW_ROLE_CHECK, 1, 1, api_hma_lookup_post},
    {"POST", "/h/hash", SRV_EP_HMA_HASH, HW_ROLE_CHECK, 1, 1, api_hma_hash_post},
    {"GET", "/m/index/status", SRV_EP_HMA_STATUS, HW_ROLE_CHECK, 0, 0, api_hma_status},
    {"GET", "/healthz", SRV_EP_HEALTHZ, HW_ROLE_NONE, 0, 0, api_healthz},
    {"GET", "/readyz", SRV_EP_READYZ, HW_ROLE_NONE, 0, 0, api_readyz},
    {"GET", "/metrics", SRV_EP_METRICS, HW_ROLE_NONE, 0, 0, api_metrics},
    {"GET", "/openapi.json", SRV_EP_OPENAPI, HW_ROLE_NONE, 0, 0, api_openapi},
};
const size_t srv_n_routes = sizeof(srv_routes) / sizeof(srv_routes[0]);
