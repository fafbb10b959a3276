/* test_server.c: hashwatchd end to end: the real server in-process on port 0, called with
 * libcurl: endpoints, verdicts, errors, keys, roles, limits, concurrency, live imports, audit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <png.h>

#include "hashlib/hw_audit.h"
#include "hashlib/hw_digest.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_hasher.h"
#include "hashlib/hw_keys.h"
#include "hashlib/hw_store.h"
#include "srv.h"

#ifdef HW_TEST_TLS
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#endif

#include "hw_test.h"

#define IMG(p) HW_TEST_DATA "/conformance/pdq/images/" p

/* ---- fixtures ---- */

struct blob {
    unsigned char *p;
    size_t len;
};

static struct blob slurp(const char *path)
{
    struct blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    long n;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.p = malloc((size_t)n + 1);
    b.len = fread(b.p, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static struct hw_hash_result hash_of(const struct blob *b)
{
    hw_hasher *h = NULL;
    struct hw_hash_result r;

    memset(&r, 0, sizeof(r));
    if (hw_hasher_new(NULL, &h) != HW_OK) {
        exit(1);
    }
    hw_hasher_hash(h, b->p, b->len, 0, &r, NULL, 0);
    hw_hasher_free(h);
    return r;
}

/* A flat grey PNG: decodes, but its PDQ quality is 0. */
static struct blob flat_png(void)
{
    png_image img;
    static unsigned char px[64 * 64];
    struct blob b = {NULL, 0};
    png_alloc_size_t len = 0;

    memset(px, 128, sizeof(px));
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = 64;
    img.height = 64;
    img.format = PNG_FORMAT_GRAY;
    png_image_write_to_memory(&img, NULL, &len, 0, px, 0, NULL);
    b.p = malloc(len);
    b.len = len;
    png_image_write_to_memory(&img, b.p, &len, 0, px, 0, NULL);
    b.len = len;
    return b;
}

static void put_entry(hw_batch *b, enum hw_hash_type t, const void *hash, const char *id,
                      const char *cat, int sev)
{
    struct hw_entry e;

    memset(&e, 0, sizeof(e));
    e.type = t;
    memcpy(e.hash, hash, hw_hash_type_len(t));
    snprintf(e.entry_id, sizeof(e.entry_id), "%s", id);
    snprintf(e.category, sizeof(e.category), "%s", cat);
    e.severity = sev;
    CHECK(hw_batch_put(b, &e) == HW_OK);
}

/* ---- HTTP client ---- */

struct resp {
    long status;
    char *body;
    size_t len;
    json_t *json;
    char retry_after[32];
    char allow[64];
    char ctype[128];
    char csp[256];
    char cache[64];
    char etag[80];
    CURLcode cc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);

    if (nb == NULL) {
        return 0;
    }
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);

    if (n > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
        size_t s = nl + 1, e = n;
        while (s < e && line[s] == ' ') {
            s++;
        }
        while (e > s && (line[e - 1] == '\r' || line[e - 1] == '\n')) {
            e--;
        }
        snprintf(out, cap, "%.*s", (int)(e - s), line + s);
    }
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;

    header_value(p, sz * n, "Retry-After", r->retry_after, sizeof(r->retry_after));
    header_value(p, sz * n, "Allow", r->allow, sizeof(r->allow));
    header_value(p, sz * n, "Content-Type", r->ctype, sizeof(r->ctype));
    header_value(p, sz * n, "Content-Security-Policy", r->csp, sizeof(r->csp));
    header_value(p, sz * n, "Cache-Control", r->cache, sizeof(r->cache));
    header_value(p, sz * n, "ETag", r->etag, sizeof(r->etag));
    return sz * n;
}

static unsigned g_port;

static void resp_free(struct resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* One request. ctype NULL: raw body with application/octet-stream. mime: multipart. */
static struct resp http(const char *method, const char *path, const char *key, const void *body,
                        size_t len, const char *ctype, curl_mime *(*mk)(CURL *, void *),
                        void *mk_arg)
{
    struct resp r;
    CURL *c = curl_easy_init();
    struct curl_slist *hs = NULL;
    char url[512], auth[256], ct[160];
    curl_mime *mime = NULL;

    memset(&r, 0, sizeof(r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", g_port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (key != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
        hs = curl_slist_append(hs, auth);
    }
    if (mk != NULL) {
        mime = mk(c, mk_arg);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    } else if (body != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/octet-stream");
        hs = curl_slist_append(hs, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    r.cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.body != NULL) {
        r.json = json_loadb(r.body, r.len, 0, NULL);
    }
    curl_mime_free(mime);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    return r;
}

static struct resp get(const char *path, const char *key)
{
    return http("GET", path, key, NULL, 0, NULL, NULL, NULL);
}

static struct resp post(const char *path, const char *key, const struct blob *b)
{
    return http("POST", path, key, b->p, b->len, NULL, NULL, NULL);
}

static struct resp post_json(const char *path, const char *key, const char *text)
{
    return http("POST", path, key, text, strlen(text), "application/json", NULL, NULL);
}

struct form {
    const char *field;
    const struct blob *b;
};

static curl_mime *mk_form(CURL *c, void *arg)
{
    struct form *f = arg;
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(m);

    curl_mime_name(p, "note");
    curl_mime_data(p, "ignored field", CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(m);
    curl_mime_name(p, f->field);
    curl_mime_filename(p, "upload.bin");
    curl_mime_type(p, "application/octet-stream");
    curl_mime_data(p, (const char *)f->b->p, f->b->len);
    return m;
}

static struct resp post_form(const char *path, const char *key, const char *field,
                             const struct blob *b)
{
    struct form f = {field, b};
    return http("POST", path, key, NULL, 0, NULL, mk_form, &f);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *verdict(const struct resp *r)
{
    const char *v = jstr(r->json, "verdict");
    return v != NULL ? v : "(none)";
}

/* 1 when the response's matches include list `l` (with hash_type t, or any when NULL). */
static int has_match(const struct resp *r, const char *l, const char *t)
{
    json_t *ms = json_object_get(r->json, "matches");
    size_t i;
    json_t *m;

    json_array_foreach(ms, i, m)
    {
        if (strcmp(jstr(m, "list"), l) == 0 &&
            (t == NULL || strcmp(jstr(m, "hash_type"), t) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* ---- the fixture store ---- */

static char g_dir[64];
static hw_store *g_store;
static hw_keys *g_keys;
static char k_check[HW_KEY_TEXT_MAX], k_beta[HW_KEY_TEXT_MAX], k_analyst[HW_KEY_TEXT_MAX];
static char k_admin[HW_KEY_TEXT_MAX], k_rate[HW_KEY_TEXT_MAX], k_revoke[HW_KEY_TEXT_MAX];
static struct blob b_bridge, b_blur, b_rot90, b_pen, b_text, b_trunc, b_flat, b_garbage, b_sq;
static struct hw_hash_result h_bridge, h_blur, h_rot90, h_pen, h_sq;
static struct blob b_mod; /* a bridge modification at PDQ distance 1..31 */
static int mod_distance;

static void make_key(char *out, const char *name, int role, const char *lists, double rate)
{
    char eb[256];
    if (hw_keys_create(g_keys, name, role, lists, rate, out, NULL, eb, sizeof(eb)) != HW_OK) {
        fprintf(stderr, "key: %s\n", eb);
        exit(1);
    }
}

static void fixtures(void)
{
    static const char *mods[] = {
        IMG("bridge-mods/blur-a-lot.jpg"), IMG("bridge-mods/sharpen-a-lot.jpg"),
        IMG("bridge-mods/high-contrast.jpg"), IMG("bridge-mods/shrink-a-lot.jpg"),
        IMG("bridge-mods/high-saturation.jpg")};
    char eb[256];
    hw_batch *b = NULL;
    struct hw_digests gd;

    b_bridge = slurp(IMG("reg-test-input/dih/bridge-1-original.jpg"));
    b_blur = slurp(IMG("bridge-mods/blur-a-little.jpg"));
    b_rot90 = slurp(IMG("reg-test-input/dih/bridge-2-rotate-90.jpg"));
    b_pen = slurp(IMG("reg-test-input/pen-and-coaster.png"));
    b_text = slurp(HW_TEST_DATA "/conformance/pdq/README.md");
    /* Small and cheap to hash: for the concurrency and live-import streams. */
    b_sq = slurp(IMG("bridge-mods/square-128x128.jpg"));
    h_sq = hash_of(&b_sq);
    CHECK(h_sq.decoded && h_sq.quality >= HW_PDQ_QUALITY_MIN);
    b_trunc.len = b_bridge.len / 3;
    b_trunc.p = malloc(b_trunc.len);
    memcpy(b_trunc.p, b_bridge.p, b_trunc.len);
    b_flat = flat_png();
    b_garbage.len = 4096;
    b_garbage.p = malloc(b_garbage.len);
    for (size_t i = 0; i < b_garbage.len; i++) {
        b_garbage.p[i] = (unsigned char)(i * 7 + 3);
    }
    h_bridge = hash_of(&b_bridge);
    h_blur = hash_of(&b_blur);
    h_rot90 = hash_of(&b_rot90);
    h_pen = hash_of(&b_pen);
    CHECK(h_bridge.decoded && h_blur.decoded && h_rot90.decoded && h_pen.decoded);
    /* A modification at a distance that max_distance can tighten below. */
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]) && mod_distance == 0; i++) {
        struct blob m = slurp(mods[i]);
        struct hw_hash_result hm = hash_of(&m);
        int d = hw_pdq_distance(&hm.pdq[0], &h_bridge.pdq[0]);
        if (hm.decoded && hm.quality >= HW_PDQ_QUALITY_MIN && d > 0 && d <= 31) {
            b_mod = m;
            mod_distance = d;
        } else {
            free(m.p);
        }
    }
    CHECK(mod_distance > 0);

    snprintf(g_dir, sizeof(g_dir), "/tmp/hw-srvtest-XXXXXX");
    if (mkdtemp(g_dir) == NULL || hw_store_open(g_dir, 0, &g_store, eb, sizeof(eb)) != HW_OK ||
        hw_keys_open(g_store, &g_keys, eb, sizeof(eb)) != HW_OK) {
        fprintf(stderr, "store: %s\n", eb);
        exit(1);
    }
    /* alpha: bridge-1 (PDQ + MD5) and the MD5 of a blob that is no image. */
    CHECK(hw_batch_begin(g_store, "alpha", 0, &b, eb, sizeof(eb)) == HW_OK);
    put_entry(b, HW_HASH_PDQ, &h_bridge.pdq[0], "a-1", "A1", HW_SEV_CRITICAL);
    put_entry(b, HW_HASH_MD5, h_bridge.digests.md5, "a-1", "A1", HW_SEV_CRITICAL);
    hw_digests_compute(b_garbage.p, b_garbage.len, &gd);
    put_entry(b, HW_HASH_MD5, gd.md5, "a-2", "A2", HW_SEV_HIGH);
    CHECK(hw_batch_commit(b, NULL, eb, sizeof(eb)) == HW_OK);
    /* beta: pen-and-coaster (PDQ + SHA-256). */
    CHECK(hw_batch_begin(g_store, "beta", 0, &b, eb, sizeof(eb)) == HW_OK);
    put_entry(b, HW_HASH_PDQ, &h_pen.pdq[0], "b-1", "B1", HW_SEV_MEDIUM);
    put_entry(b, HW_HASH_SHA256, h_pen.digests.sha256, "b-1", "B1", HW_SEV_MEDIUM);
    CHECK(hw_batch_commit(b, NULL, eb, sizeof(eb)) == HW_OK);

    make_key(k_check, "platform", HW_ROLE_CHECK, NULL, 0);
    make_key(k_beta, "beta-only", HW_ROLE_CHECK, "beta", 0);
    make_key(k_analyst, "analyst", HW_ROLE_ANALYST, NULL, 0);
    make_key(k_admin, "admin", HW_ROLE_ADMIN, NULL, 0);
    make_key(k_rate, "slow", HW_ROLE_CHECK, NULL, 0.5);
    make_key(k_revoke, "to-revoke", HW_ROLE_CHECK, NULL, 0);
}

static struct srv *start(struct srv_config *cfg)
{
    struct srv *s = NULL;
    char err[512];

    if (srv_start(cfg, g_store, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "srv_start: %s\n", err);
        exit(1);
    }
    g_port = srv_port(s);
    CHECK(g_port != 0);
    return s;
}

static void base_config(struct srv_config *c)
{
    srv_config_default(c);
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:0");
    snprintf(c->store, sizeof(c->store), "%s", g_dir);
    snprintf(c->log, sizeof(c->log), "%s/requests.log", g_dir);
    c->workers = 2;
    c->http_threads = 2;
    c->queue = 64;
    c->max_body = 4 * 1024 * 1024;
    c->timeout = 3;
    c->deadline = 3;
    c->lookup_max = 8;
    c->max_per_ip = 0;
}

/* ---- tests ---- */

static void test_meta_endpoints(void)
{
    struct resp r = get("/healthz", NULL);
    CHECK(r.status == 200 && strcmp(jstr(r.json, "status"), "ok") == 0);
    CHECK(strcmp(r.cache, "no-store") == 0);
    resp_free(&r);
    r = get("/readyz", NULL);
    CHECK(r.status == 200 && json_integer_value(json_object_get(r.json, "lists")) == 2);
    resp_free(&r);
    r = get("/openapi.json", NULL);
    CHECK(r.status == 200 && json_is_object(r.json) && jstr(r.json, "openapi") != NULL);
    CHECK(json_object_get(json_object_get(r.json, "paths"), "/v1/check") != NULL);
    resp_free(&r);
    r = get("/nope", NULL);
    CHECK(r.status == 404 && strcmp(jstr(r.json, "error"), "not_found") == 0);
    resp_free(&r);
    r = get("/v1/check", k_check);
    CHECK(r.status == 405 && strcmp(r.allow, "POST") == 0);
    CHECK(jstr(r.json, "message") != NULL);
    resp_free(&r);
    r = http("PATCH", "/v1/lists/alpha", k_admin, NULL, 0, NULL, NULL, NULL);
    CHECK(r.status == 405 && strstr(r.allow, "PUT") != NULL && strstr(r.allow, "DELETE") != NULL);
    resp_free(&r);
}

/* The analyst page (when built in): strict CSP, nosniff; never cached like the API. */
static void test_static(void)
{
    struct resp r = get("/", NULL);
    if (r.status == 200) {
        CHECK(strncmp(r.ctype, "text/html", 9) == 0);
        CHECK(strstr(r.csp, "default-src 'self'") != NULL);
        CHECK(strcmp(r.cache, "no-store") != 0);
        if (r.etag[0] != '\0') {
            /* Revalidation: the same ETag gives 304 without a body. */
            CURL *c = curl_easy_init();
            struct curl_slist *hs = NULL;
            char url[128], inm[160];
            long st = 0;
            snprintf(url, sizeof(url), "http://127.0.0.1:%u/", g_port);
            snprintf(inm, sizeof(inm), "If-None-Match: %s", r.etag);
            hs = curl_slist_append(hs, inm);
            curl_easy_setopt(c, CURLOPT_URL, url);
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
            CHECK(curl_easy_perform(c) == CURLE_OK);
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
            CHECK(st == 304);
            curl_slist_free_all(hs);
            curl_easy_cleanup(c);
        }
    } else {
        CHECK(r.status == 404); /* built without server/web */
    }
    resp_free(&r);
    r = get("/../../etc/passwd", NULL);
    CHECK(r.status == 404);
    resp_free(&r);
    r = http("HEAD", "/healthz", NULL, NULL, 0, NULL, NULL, NULL);
    CHECK(r.status == 200 && r.len == 0);
    resp_free(&r);
}

/* SIGHUP's job: the log file is reopened, so a rotated log gets new lines. */
static void test_log_reopen(struct srv *s)
{
    char path[128], moved[128];
    struct resp r;
    FILE *f;
    char line[1024];
    int lines = 0;

    snprintf(path, sizeof(path), "%s/requests.log", g_dir);
    snprintf(moved, sizeof(moved), "%s/requests.log.1", g_dir);
    CHECK(rename(path, moved) == 0);
    srv_reopen_log(s);
    r = get("/healthz", NULL);
    resp_free(&r);
    /* The line is written when MHD reports the request complete, just after the answer. */
    for (int tries = 0; tries < 100 && lines == 0; tries++) {
        usleep(20000);
        f = fopen(path, "r");
        CHECK(f != NULL);
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            lines++;
            /* One line per request: id, key, endpoint, status, verdict, latency. */
            CHECK(strstr(line, "rid=") != NULL && strstr(line, "status=") != NULL &&
                  strstr(line, "ms=") != NULL);
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    CHECK(lines >= 1);
    /*
     * No upload hash ever reaches the log; and every line of the earlier tests (50 concurrent
     * clients among them) is whole: each is one write(2) from its HTTP thread, no mutex.
     */
    {
        char md5[33];
        int n_lines = 0;
        hw_hex_encode(h_blur.digests.md5, HW_MD5_LEN, md5);
        f = fopen(moved, "r");
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            size_t len = strlen(line);
            CHECK(strstr(line, md5) == NULL && strstr(line, "signal=") == NULL);
            if (strncmp(line, "mhd: ", 5) == 0) {
                continue;
            }
            n_lines++;
            CHECK(len > 30 && line[len - 1] == '\n' && strncmp(line, "20", 2) == 0 &&
                  line[10] == 'T' && strstr(line, " rid=") != NULL &&
                  strstr(line, " rid=") == strchr(line, 'Z') + 1 && strstr(line, " ms=") != NULL &&
                  strstr(strstr(line, " rid=") + 1, " rid=") == NULL);
        }
        CHECK(n_lines >= 50);
        if (f != NULL) {
            fclose(f);
        }
    }
}

static void test_auth(void)
{
    struct resp r = post("/v1/check", NULL, &b_blur);
    CHECK(r.status == 401 && strcmp(jstr(r.json, "error"), "unauthorized") == 0);
    resp_free(&r);
    /* Right id, wrong secret. */
    {
        char bad[HW_KEY_TEXT_MAX];
        snprintf(bad, sizeof(bad), "%s", k_check);
        bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
        r = post("/v1/check", bad, &b_blur);
        CHECK(r.status == 401);
        resp_free(&r);
    }
    r = post("/v1/check", "hwk_nonsense", &b_blur);
    CHECK(r.status == 401);
    resp_free(&r);
    r = http("POST", "/v1/check", NULL, b_blur.p, b_blur.len, NULL, NULL, NULL);
    CHECK(r.status == 401);
    resp_free(&r);
    /* Roles. */
    r = post_json("/v1/lookup", k_check, "{\"md5\":[]}");
    CHECK(r.status == 403 && strcmp(jstr(r.json, "error"), "forbidden") == 0);
    resp_free(&r);
    r = http("DELETE", "/v1/lists/alpha", k_analyst, NULL, 0, NULL, NULL, NULL);
    CHECK(r.status == 403);
    resp_free(&r);
    r = get("/v1/lists", NULL);
    CHECK(r.status == 401);
    resp_free(&r);
    /* Revocation is seen by the running server at once. */
    r = get("/v1/lists", k_revoke);
    CHECK(r.status == 200);
    resp_free(&r);
    CHECK(hw_keys_revoke(g_keys, k_revoke, NULL, 0) == HW_OK);
    r = get("/v1/lists", k_revoke);
    CHECK(r.status == 401);
    resp_free(&r);
    /* Rate limit: 0.5/s with a burst of 1. */
    r = get("/v1/lists", k_rate);
    CHECK(r.status == 200);
    resp_free(&r);
    r = get("/v1/lists", k_rate);
    CHECK(r.status == 429 && atoi(r.retry_after) >= 1 &&
          strcmp(jstr(r.json, "error"), "rate_limited") == 0);
    resp_free(&r);
}

static void test_check(void)
{
    struct resp r;
    char pdq[65], md5[33], sha256[65];
    json_t *m;

    /* A near-duplicate of bridge-1, analyst view: distance, entry id, variant, hashes. */
    r = post("/v1/check", k_analyst, &b_blur);
    CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0);
    CHECK(has_match(&r, "alpha", "pdq") && !has_match(&r, "beta", NULL));
    m = json_array_get(json_object_get(r.json, "matches"), 0);
    CHECK(strcmp(jstr(m, "entry_id"), "a-1") == 0 && strcmp(jstr(m, "category"), "A1") == 0);
    CHECK(strcmp(jstr(m, "severity"), "critical") == 0);
    CHECK(json_integer_value(json_object_get(m, "distance")) ==
          hw_pdq_distance(&h_blur.pdq[0], &h_bridge.pdq[0]));
    CHECK(jstr(m, "variant") != NULL);
    hw_pdq_to_hex(&h_blur.pdq[0], pdq);
    hw_hex_encode(h_blur.digests.md5, HW_MD5_LEN, md5);
    hw_hex_encode(h_blur.digests.sha256, HW_SHA256_LEN, sha256);
    CHECK(strcmp(jstr(json_object_get(r.json, "hashes"), "pdq"), pdq) == 0);
    CHECK(strcmp(jstr(json_object_get(r.json, "hashes"), "md5"), md5) == 0);
    CHECK(strcmp(jstr(json_object_get(r.json, "hashes"), "sha256"), sha256) == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "hashes"), "quality")) ==
          h_blur.quality);
    CHECK(json_object_get(json_object_get(r.json, "lists"), "alpha") != NULL);
    CHECK(json_object_get(json_object_get(r.json, "lists"), "beta") != NULL);
    CHECK(jstr(r.json, "request_id") != NULL);
    resp_free(&r);

    /* Check role: the decision without distances or provenance. */
    r = post("/v1/check", k_check, &b_bridge);
    CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0);
    CHECK(has_match(&r, "alpha", "md5") && has_match(&r, "alpha", "pdq"));
    m = json_array_get(json_object_get(r.json, "matches"), 0);
    CHECK(json_object_get(m, "entry_id") == NULL && json_object_get(m, "distance") == NULL);
    CHECK(jstr(m, "list") != NULL && jstr(m, "category") != NULL && jstr(m, "severity") != NULL);
    resp_free(&r);

    /* A key licensed for beta only never sees alpha, nor its version. */
    r = post("/v1/check", k_beta, &b_bridge);
    CHECK(r.status == 200 && strcmp(verdict(&r), "no_match") == 0);
    CHECK(json_object_get(json_object_get(r.json, "lists"), "alpha") == NULL);
    CHECK(json_object_get(json_object_get(r.json, "lists"), "beta") != NULL);
    resp_free(&r);

    /* Multipart upload, field "image"; exact SHA-256 and PDQ. */
    r = post_form("/v1/check", k_beta, "image", &b_pen);
    CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0);
    CHECK(has_match(&r, "beta", "sha256") && has_match(&r, "beta", "pdq"));
    resp_free(&r);
    r = post_form("/v1/check", k_beta, "wrong", &b_pen);
    CHECK(r.status == 400);
    resp_free(&r);

    /* Rotated copy: found through the variants, unless they are turned off. */
    if (hw_pdq_distance(&h_rot90.pdq[0], &h_bridge.pdq[0]) > 31) {
        r = post("/v1/check", k_analyst, &b_rot90);
        CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0);
        m = json_array_get(json_object_get(r.json, "matches"), 0);
        CHECK(m != NULL && strcmp(jstr(m, "variant"), "orig") != 0);
        resp_free(&r);
        r = post("/v1/check?variants=false", k_analyst, &b_rot90);
        CHECK(r.status == 200 && strcmp(verdict(&r), "no_match") == 0);
        resp_free(&r);
    }

    /* max_distance tightens, never loosens. */
    {
        char path[64];
        snprintf(path, sizeof(path), "/v1/check?max_distance=%d", mod_distance - 1);
        r = post(path, k_check, &b_mod);
        CHECK(r.status == 200 && strcmp(verdict(&r), "no_match") == 0);
        resp_free(&r);
        snprintf(path, sizeof(path), "/v1/check?max_distance=%d", mod_distance);
        r = post(path, k_check, &b_mod);
        CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0);
        resp_free(&r);
        CHECK(hw_pdq_distance(&h_pen.pdq[0], &h_bridge.pdq[0]) > 31);
        r = post("/v1/check?max_distance=256&variants=false", k_check, &b_pen);
        CHECK(r.status == 200 && !has_match(&r, "alpha", NULL));
        resp_free(&r);
        r = post("/v1/check?max_distance=abc", k_check, &b_pen);
        CHECK(r.status == 400);
        resp_free(&r);
    }

    /* Unscannable, never no_match. */
    r = post("/v1/check", k_check, &b_text);
    CHECK(r.status == 200 && strcmp(verdict(&r), "unscannable") == 0);
    CHECK(strcmp(jstr(r.json, "reason"), "not_an_image") == 0);
    CHECK(json_is_null(json_object_get(json_object_get(r.json, "hashes"), "pdq")));
    resp_free(&r);
    r = post("/v1/check", k_check, &b_trunc);
    CHECK(r.status == 200 && strcmp(verdict(&r), "unscannable") == 0);
    resp_free(&r);
    r = post("/v1/check", k_check, &b_flat);
    CHECK(r.status == 200 && strcmp(verdict(&r), "unscannable") == 0);
    CHECK(jstr(r.json, "reason") != NULL && strcmp(jstr(r.json, "reason"), "low_quality") == 0);
    resp_free(&r);
    /* An exact digest match counts even when the bytes are no image. */
    r = post("/v1/check", k_check, &b_garbage);
    CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0 && has_match(&r, "alpha", "md5"));
    resp_free(&r);
    /* Empty body; JSON is no image. */
    r = http("POST", "/v1/check", k_check, "", 0, NULL, NULL, NULL);
    CHECK(r.status == 400);
    resp_free(&r);
    r = post_json("/v1/check", k_check, "{}");
    CHECK(r.status == 415);
    resp_free(&r);
}

static void test_lookup(void)
{
    char pdq[65], md5[33], sha[65], body[1024];
    struct resp r;
    json_t *res;

    hw_pdq_to_hex(&h_blur.pdq[0], pdq);
    hw_hex_encode(h_bridge.digests.md5, HW_MD5_LEN, md5);
    hw_hex_encode(h_pen.digests.sha256, HW_SHA256_LEN, sha);
    snprintf(body, sizeof(body),
             "{\"pdq\":[\"%s\"],\"md5\":[\"%s\",\"00112233445566778899aabbccddeeff\"],"
             "\"sha256\":[\"%s\",\"xyz\"]}",
             pdq, md5, sha);
    r = post_json("/v1/lookup", k_analyst, body);
    CHECK(r.status == 200);
    res = json_object_get(r.json, "results");
    CHECK(json_array_size(res) == 5);
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *it = json_array_get(res, i);
        const char *t = jstr(it, "type"), *h = jstr(it, "hash"), *v = jstr(it, "verdict");
        if (h == NULL || t == NULL || v == NULL) {
            CHECK(0);
            continue;
        }
        if (strcmp(h, "xyz") == 0) {
            CHECK(strcmp(v, "invalid") == 0);
        } else if (strcmp(h, "00112233445566778899aabbccddeeff") == 0) {
            CHECK(strcmp(v, "no_match") == 0);
        } else {
            CHECK(strcmp(v, "match") == 0);
        }
    }
    resp_free(&r);
    r = post_json("/v1/lookup", k_analyst,
                  "{\"md5\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
                  "\"h\",\"i\"]}");
    CHECK(r.status == 413);
    resp_free(&r);
    r = post_json("/v1/lookup", k_analyst, "{\"md5\": [");
    CHECK(r.status == 400 && strcmp(jstr(r.json, "error"), "bad_json") == 0);
    resp_free(&r);
    /* JSON bodies have their own, smaller ceiling (64 KiB + 512 bytes per allowed hash). */
    {
        size_t big_len = 200 * 1024;
        char *big = malloc(big_len + 1);
        memset(big, ' ', big_len);
        memcpy(big, "{\"md5\":[]", 9);
        big[big_len - 1] = '}';
        big[big_len] = '\0';
        r = post_json("/v1/lookup", k_analyst, big);
        CHECK(r.status == 413);
        resp_free(&r);
        free(big);
    }
    r = post_json("/v1/lookup", k_analyst, "{\"crc32\":[\"00\"]}");
    CHECK(r.status == 422);
    resp_free(&r);
}

static void test_lists_admin(void)
{
    struct resp r = get("/v1/lists", k_beta);
    json_t *ls = json_object_get(r.json, "lists");
    CHECK(r.status == 200 && json_array_size(ls) == 1);
    CHECK(strcmp(jstr(json_array_get(ls, 0), "name"), "beta") == 0);
    /* No list content is ever returned. */
    CHECK(r.body != NULL && strstr(r.body, "b-1") == NULL);
    resp_free(&r);
    r = http("PUT", "/v1/lists/beta", k_admin, "{\"pdq_threshold\": 12}", 21, "application/json",
             NULL, NULL);
    CHECK(r.status == 200);
    resp_free(&r);
    r = get("/v1/lists", k_check);
    ls = json_object_get(r.json, "lists");
    for (size_t i = 0; i < json_array_size(ls); i++) {
        json_t *l = json_array_get(ls, i);
        if (strcmp(jstr(l, "name"), "beta") == 0) {
            CHECK(json_integer_value(json_object_get(l, "pdq_threshold")) == 12);
        }
    }
    resp_free(&r);
    r = http("PUT", "/v1/lists/beta", k_admin, "{\"pdq_threshold\": 31}", 21, "application/json",
             NULL, NULL);
    CHECK(r.status == 200);
    resp_free(&r);
    r = http("PUT", "/v1/lists/beta", k_admin, "{\"pdq_threshold\": -3}", 21, "application/json",
             NULL, NULL);
    CHECK(r.status == 422);
    resp_free(&r);
    r = http("DELETE", "/v1/lists/no-such-list", k_admin, NULL, 0, NULL, NULL, NULL);
    CHECK(r.status == 404);
    resp_free(&r);
}

static void test_hma(void)
{
    char path[256], pdq[65];
    struct resp r;

    hw_pdq_to_hex(&h_blur.pdq[0], pdq);
    snprintf(path, sizeof(path), "/m/lookup?signal_type=pdq&signal=%s", pdq);
    r = get(path, k_check);
    CHECK(r.status == 200 && json_is_array(r.json) && json_array_size(r.json) == 1);
    CHECK(strcmp(json_string_value(json_array_get(r.json, 0)), "alpha") == 0);
    resp_free(&r);
    r = get(path, k_beta);
    CHECK(r.status == 200 && json_is_array(r.json) && json_array_size(r.json) == 0);
    resp_free(&r);
    r = get(path, k_analyst); /* audited */
    CHECK(r.status == 200 && json_array_size(r.json) == 1);
    resp_free(&r);
    r = get("/m/lookup?signal_type=pdq&signal=12", k_check);
    CHECK(r.status == 400);
    resp_free(&r);
    r = get("/m/lookup?signal_type=nope&signal=12", k_check);
    CHECK(r.status == 400);
    resp_free(&r);
    r = post_form("/m/lookup", k_check, "photo", &b_pen);
    CHECK(r.status == 200 && json_is_array(json_object_get(r.json, "pdq")));
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(r.json, "pdq"), 0)), "beta") ==
          0);
    resp_free(&r);
    r = post_form("/h/hash", k_check, "photo", &b_blur);
    CHECK(r.status == 200 && jstr(r.json, "pdq") != NULL && strcmp(jstr(r.json, "pdq"), pdq) == 0);
    resp_free(&r);
    r = get("/m/index/status", k_check);
    CHECK(r.status == 200);
    CHECK(json_is_boolean(json_object_get(json_object_get(r.json, "pdq"), "present")));
    CHECK(json_integer_value(json_object_get(json_object_get(r.json, "pdq"), "size")) == 2);
    resp_free(&r);
}

static void test_metrics_after(void)
{
    struct resp r = get("/metrics", NULL);
    CHECK(r.status == 200 && strncmp(r.ctype, "text/plain", 10) == 0);
    CHECK(r.body != NULL &&
          strstr(r.body, "hashwatch_requests_total{endpoint=\"/v1/check\",status=\"200\"}") !=
              NULL);
    CHECK(r.body != NULL && strstr(r.body, "hashwatch_request_duration_seconds_bucket") != NULL);
    CHECK(r.body != NULL && strstr(r.body, "hashwatch_list_matches_total{list=\"alpha\"}") != NULL);
    CHECK(r.body != NULL && strstr(r.body, "hashwatch_decode_failures_total{reason=") != NULL);
    CHECK(r.body != NULL && strstr(r.body, "hashwatch_list_version{list=\"beta\"}") != NULL);
    CHECK(r.body != NULL && strstr(r.body, "hashwatch_queue_depth") != NULL);
    /* the test store's index is far below --hot-index's default: searched in the map */
    CHECK(r.body != NULL && strstr(r.body, "\nhashwatch_index_hot_bytes 0\n") != NULL &&
          strstr(r.body, "\nhashwatch_index_hot_copying 0\n") != NULL);
    resp_free(&r);
}

/* ---- limits ---- */

struct chunk_src {
    size_t left;
};

static size_t chunk_read(char *buf, size_t sz, size_t n, void *ud)
{
    struct chunk_src *s = ud;
    size_t k = sz * n < s->left ? sz * n : s->left;
    memset(buf, 'x', k);
    s->left -= k;
    return k;
}

static void test_limits(void)
{
    struct blob big;
    struct resp r;

    /* Over max_body with Content-Length: 413 from the headers alone. */
    big.len = 4 * 1024 * 1024 + 1;
    big.p = calloc(1, big.len);
    r = post("/v1/check", k_check, &big);
    CHECK(r.status == 413 && strcmp(jstr(r.json, "error"), "too_large") == 0);
    resp_free(&r);
    free(big.p);
    /* Chunked, no Content-Length: cut off once past the limit, never a verdict. */
    {
        CURL *c = curl_easy_init();
        struct curl_slist *hs = NULL;
        struct chunk_src src = {(size_t)16 * 1024 * 1024};
        char url[128], auth[256];
        long status = 0;
        CURLcode cc;
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/check", g_port);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", k_check);
        hs = curl_slist_append(hs, auth);
        hs = curl_slist_append(hs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, chunk_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        struct resp sink;
        memset(&sink, 0, sizeof(sink));
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        CHECK(cc != CURLE_OK || status == 413);
        CHECK(status != 200);
        /* The server stopped reading long before the client's 16 MiB were sent. */
        CHECK(src.left > 0);
        free(sink.body);
        curl_slist_free_all(hs);
        curl_easy_cleanup(c);
    }
}

/* A client that sends one byte per second is cut off by the per-request deadline. */
static void test_slow_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    char req[512];
    int sent = 0, closed = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    snprintf(req, sizeof(req),
             "POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 60\r\n\r\n",
             k_check);
    CHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
    /* 60 bytes at 1/s would take a minute; the deadline is 3 s. */
    for (sent = 0; sent < 60; sent++) {
        char buf[256];
        ssize_t n;
        sleep(1);
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
            closed = 1;
            break;
        }
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            closed = 1;
            break;
        }
        if (sent == 1) {
            /* The trickling upload does not hold anyone else up. */
            struct resp h = post("/v1/check", k_check, &b_sq);
            CHECK(h.status == 200 && jstr(h.json, "verdict") != NULL);
            resp_free(&h);
        }
        if (n > 0) {
            /* Any answer must not be a verdict. */
            CHECK(strstr(buf, "200 OK") == NULL);
            closed = 1;
            break;
        }
    }
    CHECK(closed && sent < 60);
    close(fd);
}

/* Headers sent one byte per second never complete: the watchdog ends the connection. */
static void test_slow_headers(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    int sent, closed = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
    /* timeout 3 s + deadline 3 s: cut after about 7 s; 60 bytes would take a minute. */
    for (sent = 0; sent < 60; sent++) {
        char buf[256];
        ssize_t n;
        sleep(1);
        if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
            closed = 1;
            break;
        }
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            closed = 1;
            break;
        }
        CHECK(n < 0); /* no answer to a request whose headers never ended */
    }
    CHECK(closed && sent < 60);
    close(fd);
    {
        struct resp r = get("/metrics", NULL);
        CHECK(r.body != NULL && strstr(r.body, "hashwatch_connections_cut_total 0") == NULL);
        resp_free(&r);
    }
}

/* ---- concurrency ---- */

struct worker_arg {
    int ok, bad;
};

static void *client_main(void *arg)
{
    struct worker_arg *w = arg;
    /* The garbage blob matches alpha by MD5; the small square's verdict is what the store
     * says for its PDQ (alpha holds bridge-1, of which it is a resized copy). */
    int sq_match = hw_pdq_distance(&h_sq.pdq[0], &h_bridge.pdq[0]) <= 31;
    for (int i = 0; i < 2; i++) {
        struct resp r = post("/v1/check", k_check, i == 0 ? &b_garbage : &b_sq);
        int want_match = i == 0 || sq_match;
        if (r.status == 200 && strcmp(verdict(&r), want_match ? "match" : "no_match") == 0) {
            w->ok++;
        } else {
            w->bad++;
        }
        resp_free(&r);
    }
    return NULL;
}

static void test_concurrent(void)
{
    enum { N = 50 };
    pthread_t t[N];
    struct worker_arg w[N];
    int ok = 0, bad = 0;

    memset(w, 0, sizeof(w));
    for (int i = 0; i < N; i++) {
        CHECK(pthread_create(&t[i], NULL, client_main, &w[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        bad += w[i].bad;
    }
    CHECK(ok == 2 * N && bad == 0);
}

/* Queue full: with one worker and a queue of one, a burst gets 503 + Retry-After, never a
 * wrong answer. */
struct burst_arg {
    int ok, busy, other;
};

static void *burst_main(void *arg)
{
    struct burst_arg *b = arg;
    struct resp r = post("/v1/check", k_check, &b_bridge);
    if (r.status == 200 && strcmp(verdict(&r), "match") == 0) {
        b->ok++;
    } else if (r.status == 503 && atoi(r.retry_after) >= 1) {
        b->busy++;
    } else {
        b->other++;
    }
    resp_free(&r);
    return NULL;
}

static void test_queue_full(void)
{
    enum { N = 12 };
    struct srv_config c;
    struct srv *s;
    unsigned saved = g_port;
    pthread_t t[N];
    struct burst_arg b[N];
    int ok = 0, other = 0, busy = 0;

    base_config(&c);
    c.workers = 1;
    c.queue = 1;
    s = start(&c);
    memset(b, 0, sizeof(b));
    for (int i = 0; i < N; i++) {
        pthread_create(&t[i], NULL, burst_main, &b[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += b[i].ok;
        busy += b[i].busy;
        other += b[i].other;
    }
    CHECK(other == 0 && ok >= 1);
    printf("queue-full burst: %d answered, %d refused with 503\n", ok, busy);
    srv_stop(s, 5);
    g_port = saved;
}

/* Per-client connection limit: a third simultaneous connection from one address is refused. */
static void test_per_ip_limit(void)
{
    struct srv_config c;
    struct srv *s;
    unsigned saved = g_port;
    int fds[3];
    struct sockaddr_in a;
    char buf[64];
    ssize_t n;

    base_config(&c);
    c.max_per_ip = 2;
    s = start(&c);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 3; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(connect(fds[i], (struct sockaddr *)&a, sizeof(a)) == 0);
        usleep(100000); /* let the server accept in order */
    }
    /* The third is closed by the server without an answer; the first two still work. */
    {
        struct timeval tv = {5, 0};
        setsockopt(fds[2], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        n = recv(fds[2], buf, sizeof(buf), 0);
        /* Closed (0 or reset), not merely silent until the receive timeout. */
        CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
    }
    {
        const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        struct timeval tv = {5, 0};
        setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        CHECK(send(fds[0], req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
        n = recv(fds[0], buf, sizeof(buf) - 1, 0);
        CHECK(n > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0);
    }
    for (int i = 0; i < 3; i++) {
        close(fds[i]);
    }
    srv_stop(s, 5);
    g_port = saved;
}

/* ---- live imports ---- */

#define LIVE_ROUNDS 20
static int live_present[4 * LIVE_ROUNDS + 16]; /* by list version: 1 bridge in, 2 not in */
static volatile int live_done;

static void *importer_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < LIVE_ROUNDS; i++) {
        hw_batch *b = NULL;
        hw_snapshot *snap = NULL;
        struct hw_list_info li[8];
        size_t n = 0;
        struct hw_pdq other;
        char eb[256];
        int in = i % 2 == 0;

        memset(&other, 0x5a, sizeof(other));
        other.q[0] = (uint64_t)i;
        if (hw_batch_begin(g_store, "live", HW_BATCH_REPLACE, &b, eb, sizeof(eb)) != HW_OK) {
            CHECK(0);
            break;
        }
        put_entry(b, HW_HASH_PDQ, in ? (const void *)&h_sq.pdq[0] : (const void *)&other, "live-1",
                  "L", HW_SEV_HIGH);
        CHECK(hw_batch_commit(b, NULL, eb, sizeof(eb)) == HW_OK);
        /* Only this thread writes "live", so the version seen now is the one just made. */
        CHECK(hw_snapshot_begin(g_store, &snap, eb, sizeof(eb)) == HW_OK);
        hw_snapshot_lists(snap, li, 8, &n);
        for (size_t k = 0; k < n && k < 8; k++) {
            if (strcmp(li[k].name, "live") == 0 &&
                li[k].version < sizeof(live_present) / sizeof(live_present[0])) {
                live_present[li[k].version] = in ? 1 : 2;
            }
        }
        hw_snapshot_end(snap);
        usleep(30000);
    }
    live_done = 1;
    return NULL;
}

static void test_live_import(void)
{
    pthread_t t;
    int answers[512][2];
    int n = 0, versions_seen = 0, last_v = -1;

    live_done = 0;
    pthread_create(&t, NULL, importer_main, NULL);
    while (!live_done && n < 512) {
        struct resp r = post("/v1/check?variants=false", k_analyst, &b_sq);
        json_t *v = json_object_get(json_object_get(r.json, "lists"), "live");
        CHECK(r.status == 200);
        if (v != NULL) {
            answers[n][0] = (int)json_integer_value(v);
            answers[n][1] = has_match(&r, "live", NULL);
            n++;
        }
        resp_free(&r);
    }
    pthread_join(t, NULL);
    for (int i = 0; i < n; i++) {
        int v = answers[i][0];
        CHECK(v > 0 && v < (int)(sizeof(live_present) / sizeof(live_present[0])));
        if (v <= 0 || v >= (int)(sizeof(live_present) / sizeof(live_present[0]))) {
            continue;
        }
        /* The verdict agrees with the content of the version the answer names. */
        CHECK(live_present[v] != 0);
        CHECK((live_present[v] == 1) == (answers[i][1] == 1));
        if (v != last_v) {
            versions_seen++;
            last_v = v;
        }
    }
    CHECK(n > 0);
    printf("live import: %d answers across %d version changes\n", n, versions_seen);
}

/* ---- audit ---- */

/* GET url (a /healthz of a server started apart from g_port) with libcurl: 1 when it answers
 * 200 with a body saying ok. insecure: accept a self-signed TLS certificate. */
static int healthz_ok(const char *url, int insecure)
{
    struct resp r;
    CURL *h = curl_easy_init();
    CURLcode cc;
    int ok;

    memset(&r, 0, sizeof(r));
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    ok = cc == CURLE_OK && r.status == 200 && r.body != NULL && strstr(r.body, "ok") != NULL;
    curl_easy_cleanup(h);
    free(r.body);
    return ok;
}

static void test_audit(void)
{
    char path[128], eb[256];
    uint64_t n = 0, bad = 0;
    struct srv_config c;
    struct srv *s;
    unsigned saved = g_port;
    struct resp r;

    snprintf(path, sizeof(path), "%s/audit.log", g_dir);
    CHECK(hw_audit_verify(path, &n, &bad, eb, sizeof(eb)) == HW_OK);
    /* Analyst checks and look-ups, admin actions: well over 5 lines by now. */
    CHECK(n >= 5 && bad == 0);
    {
        FILE *f = fopen(path, "r");
        char line[65536];
        int saw_lookup = 0, saw_admin = 0, saw_check_role = 0, saw_hma = 0;
        char check_id[HW_KEY_ID_HEX + 1];
        snprintf(check_id, sizeof(check_id), "%.16s", k_check + 4);
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            saw_lookup |= strstr(line, "\"endpoint\":\"/v1/lookup\"") != NULL;
            saw_admin |= strstr(line, "\"action\":\"list_set\"") != NULL;
            saw_hma |= strstr(line, "\"endpoint\":\"/m/lookup\"") != NULL;
            saw_check_role |= strstr(line, check_id) != NULL;
        }
        if (f != NULL) {
            fclose(f);
        }
        CHECK(saw_lookup && saw_admin && saw_hma && !saw_check_role);
    }
    /* The audit log cannot be written: analyst requests fail, check requests still work. */
    if (access("/dev/full", W_OK) == 0) {
        base_config(&c);
        snprintf(c.audit_log, sizeof(c.audit_log), "/dev/full");
        s = start(&c);
        r = post("/v1/check", k_analyst, &b_blur);
        CHECK(r.status == 500 && strcmp(jstr(r.json, "error"), "audit_failed") == 0);
        CHECK(r.body != NULL && strstr(r.body, "verdict") == NULL);
        resp_free(&r);
        r = post_json("/v1/lookup", k_analyst, "{\"md5\":[\"00112233445566778899aabbccddeeff\"]}");
        CHECK(r.status == 500);
        resp_free(&r);
        r = post("/v1/check", k_check, &b_blur);
        CHECK(r.status == 200 && strcmp(verdict(&r), "match") == 0);
        resp_free(&r);
        srv_stop(s, 5);
        g_port = saved;
    }
}

#ifdef HW_TEST_TLS
static int write_pem(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, n, f) == n;
    if (f != NULL) {
        fclose(f);
    }
    return ok ? 0 : -1;
}

/* A throwaway self-signed ECDSA certificate for localhost. */
static int make_cert(const char *cert_path, const char *key_path)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    unsigned char buf[8192];
    size_t n;
    int rc = -1;
    time_t now = time(NULL);

    if (gnutls_global_init() < 0 || gnutls_x509_privkey_init(&key) < 0 ||
        gnutls_x509_crt_init(&crt) < 0) {
        goto out;
    }
    if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
        gnutls_x509_crt_set_version(crt, 3) < 0 || gnutls_x509_crt_set_serial(crt, "\x01", 1) < 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 60) < 0 ||
        gnutls_x509_crt_set_expiration_time(crt, now + 3600) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9) < 0 ||
        gnutls_x509_crt_set_key(crt, key) < 0 ||
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0) {
        goto out;
    }
    n = sizeof(buf);
    if (gnutls_x509_crt_export(crt, GNUTLS_X509_FMT_PEM, buf, &n) < 0 ||
        write_pem(cert_path, buf, n) != 0) {
        goto out;
    }
    n = sizeof(buf);
    if (gnutls_x509_privkey_export(key, GNUTLS_X509_FMT_PEM, buf, &n) < 0 ||
        write_pem(key_path, buf, n) != 0) {
        goto out;
    }
    rc = 0;
out:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    gnutls_global_deinit();
    return rc;
}

/* --tls-cert/--tls-key: HTTPS answers, plain HTTP does not. */
static void test_tls(void)
{
    struct srv_config c;
    struct srv *s;
    unsigned saved = g_port;
    char url[128];
    struct resp r;

    base_config(&c);
    snprintf(c.tls_cert, sizeof(c.tls_cert), "%s/cert.pem", g_dir);
    snprintf(c.tls_key, sizeof(c.tls_key), "%s/key.pem", g_dir);
    if (make_cert(c.tls_cert, c.tls_key) != 0) {
        CHECK(0);
        return;
    }
    s = start(&c);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/healthz", g_port);
    CHECK(healthz_ok(url, 1)); /* self-signed */
    r = get("/healthz", NULL); /* plain HTTP to the TLS port */
    CHECK(r.status != 200);
    resp_free(&r);
    srv_stop(s, 5);
    g_port = saved;
}
#endif

/* The listening socket: IPv6 loopback (where the machine has it), and a port that is taken is
 * refused at start with the address in the message instead of serving nothing. */
static void test_listen(void)
{
    struct srv_config c;
    struct srv *s, *s2 = NULL;
    unsigned saved = g_port;
    char url[128], err[512];
    struct resp r;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6;

    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_loopback;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0) {
        close(fd);
        base_config(&c);
        snprintf(c.listen, sizeof(c.listen), "[::1]:0");
        s = start(&c);
        snprintf(url, sizeof(url), "http://[::1]:%u/healthz", g_port);
        CHECK(healthz_ok(url, 0));
        srv_stop(s, 5);
    } else {
        if (fd >= 0) {
            close(fd);
        }
        printf("test_listen: no IPv6 loopback here, IPv6 part skipped\n");
    }

    base_config(&c);
    s = start(&c);
    snprintf(c.listen, sizeof(c.listen), "127.0.0.1:%u", g_port);
    err[0] = '\0';
    CHECK(srv_start(&c, g_store, &s2, err, sizeof(err)) != 0 && s2 == NULL);
    CHECK(strstr(err, c.listen) != NULL, "error does not name the address: %s", err);
    r = get("/healthz", NULL); /* the first server is unaffected */
    CHECK(r.status == 200);
    resp_free(&r);
    srv_stop(s, 5);
    g_port = saved;
}

static void test_config(void)
{
    struct srv_config c;
    char err[256], path[128];
    char *argv[] = {"hashwatchd", "--config", path, "--workers", "3", NULL};
    FILE *f;

    snprintf(path, sizeof(path), "%s/test.conf", g_dir);
    f = fopen(path, "w");
    fprintf(f, "# comment\nlisten = 127.0.0.1:0\nworkers = 7\nmax-body = 2M\ndemo = true\n");
    fclose(f);
    srv_config_default(&c);
    CHECK(srv_config_parse_args(&c, 5, argv, stdout, err, sizeof(err)) == 0);
    CHECK(c.workers == 3 && c.max_body == 2 * 1024 * 1024 && c.demo == 1);
    f = fopen(path, "w");
    fprintf(f, "bogus = 1\n");
    fclose(f);
    CHECK(srv_config_parse_args(&c, 3, argv, stdout, err, sizeof(err)) == -1);
    CHECK(strstr(err, "bogus") != NULL);
    /* --hot-index: MiB, 0 turns it off, default 256; garbage is refused with its name */
    srv_config_default(&c);
    CHECK(c.hot_index_mib == 256);
    {
        char *ok[] = {"hashwatchd", "--hot-index", "0", NULL};
        char *eq[] = {"hashwatchd", "--hot-index=1024", NULL};
        char *bad[][3] = {{"hashwatchd", "--hot-index", "-1"},
                          {"hashwatchd", "--hot-index", "12x"},
                          {"hashwatchd", "--hot-index", "99999999999"}};

        CHECK(srv_config_parse_args(&c, 3, ok, stdout, err, sizeof(err)) == 0 &&
              c.hot_index_mib == 0);
        CHECK(srv_config_parse_args(&c, 2, eq, stdout, err, sizeof(err)) == 0 &&
              c.hot_index_mib == 1024);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err[0] = '\0';
            CHECK(srv_config_parse_args(&c, 3, bad[i], stdout, err, sizeof(err)) == -1 &&
                      strstr(err, "hot-index") != NULL,
                  "%s accepted (%s)", bad[i][2], err);
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one test and reports its wall time (information only, never asserted). */
#define RUN(fn)                                                                                    \
    do {                                                                                           \
        double t0_ = now_s();                                                                      \
        int f0_ = failures;                                                                        \
        fn();                                                                                      \
        printf("%-22s %s  %.2f s\n", #fn, failures == f0_ ? "ok  " : "FAIL", now_s() - t0_);       \
        fflush(stdout);                                                                            \
    } while (0)

int main(void)
{
    struct srv_config cfg;
    struct srv *s;
    char cmd[128];

    curl_global_init(CURL_GLOBAL_ALL);
    fixtures();
    base_config(&cfg);
    s = start(&cfg);

    RUN(test_meta_endpoints);
    RUN(test_static);
    RUN(test_auth);
    RUN(test_check);
    RUN(test_lookup);
    RUN(test_lists_admin);
    RUN(test_hma);
    RUN(test_limits);
    RUN(test_slow_client);
    RUN(test_slow_headers);
    RUN(test_concurrent);
    RUN(test_live_import);
    RUN(test_metrics_after);
    test_log_reopen(s);
    srv_stop(s, 10);
    RUN(test_queue_full);
    RUN(test_per_ip_limit);
#ifdef HW_TEST_TLS
    RUN(test_tls);
#endif
    RUN(test_audit);
    RUN(test_listen);
    RUN(test_config);

    hw_keys_close(g_keys);
    hw_store_close(g_store);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0) {
        failures++;
    }
    curl_global_cleanup();
    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("server: ok\n");
    return 0;
}
