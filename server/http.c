/* http.c: hashwatchd's HTTP layer: the libmicrohttpd daemon, request lifecycle, routing,
 * authentication, rate limits, request logs, start and stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "srv_int.h"

#ifdef HW_HAVE_WEB
#include "web/web_assets.h"
#endif

/* The post processor's internal buffer (libmicrohttpd needs at least 256 bytes). */
#define SRV_PP_BUFFER 65536

struct srv_bucket {
    char id[HW_KEY_ID_HEX + 1];
    double tokens;
    uint64_t last_ns;
};

uint64_t srv_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void srv_req_json(struct srv_req *r, int status, char *json_text)
{
    free(r->resp);
    r->resp = json_text;
    r->resp_len = json_text != NULL ? strlen(json_text) : 0;
    r->ctype = "application/json";
    r->status = status;
}

static void json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;

    for (; *s != '\0' && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

void srv_req_error(struct srv_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512], esc[1100];
    char *body;
    va_list ap;
    size_t cap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_escape(esc, sizeof(esc), msg);
    cap = strlen(esc) + strlen(code) + 64;
    body = malloc(cap);
    if (body != NULL) {
        snprintf(body, cap, "{\"error\":\"%s\",\"message\":\"%s\"}", code, esc);
    }
    srv_req_json(r, status, body);
    if (body == NULL) {
        r->status = 500;
    }
}

/* ---- logging ---- */

/* Append one formatted line to the log with a single write(2), outside any mutex. */
static void srv_log_printf(struct srv *s, const char *fmt, ...)
{
    char buf[1024], *line = buf;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof(buf)) {
        line = malloc((size_t)n + 1);
        if (line == NULL) {
            return;
        }
        va_start(ap, fmt);
        vsnprintf(line, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    pthread_rwlock_rdlock(&s->log_lock);
    if (s->log != NULL) {
        int fd = fileno(s->log);
        for (size_t off = 0; off < (size_t)n;) {
            ssize_t w = write(fd, line + off, (size_t)n - off);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                break; /* a full disk must not stop the service; the audit log is separate */
            }
            off += (size_t)w;
        }
    }
    pthread_rwlock_unlock(&s->log_lock);
    if (line != buf) {
        free(line);
    }
}

static void srv_log_line(struct srv *s, struct srv_req *r)
{
    char ts[32];
    struct timespec now;
    struct tm tm;
    double ms = (double)(srv_now_ns() - r->t_start_ns) / 1e6;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    /* Never the query string, the body or anything derived from an upload. */
    srv_log_printf(s, "%s.%03ldZ rid=%s key=%s ep=%s path=%s status=%d verdict=%s ms=%.3f\n", ts,
                   now.tv_nsec / 1000000, r->rid, r->authed ? r->key.id : "-",
                   srv_ep_name(r->route != NULL ? r->route->ep : SRV_EP_OTHER), r->path, r->status,
                   r->verdict != NULL ? r->verdict : "-", ms);
}

void srv_reopen_log(struct srv *s)
{
    FILE *f;

    if (s == NULL || s->cfg.log[0] == '\0') {
        return;
    }
    f = fopen(s->cfg.log, "a");
    if (f == NULL) {
        return; /* keep the old stream: losing request logs silently would be worse */
    }
    pthread_rwlock_wrlock(&s->log_lock);
    if (s->own_log && s->log != NULL) {
        fclose(s->log);
    }
    s->log = f;
    s->own_log = 1;
    pthread_rwlock_unlock(&s->log_lock);
}

/* ---- authentication and rate limits ---- */

/* Token bucket per key: capacity max(1, rate), refilled at `rate` per second. Returns 0 when
 * the request may go ahead, else the seconds to wait. */
static unsigned srv_rate_take(struct srv *s, const struct hw_key_info *k)
{
    struct srv_bucket *b = NULL;
    uint64_t now = srv_now_ns();
    double cap = k->rate > 1.0 ? k->rate : 1.0;
    unsigned wait = 0;

    if (k->rate <= 0.0) {
        return 0;
    }
    pthread_mutex_lock(&s->rl_mu);
    for (size_t i = 0; i < s->n_buckets; i++) {
        if (strcmp(s->buckets[i].id, k->id) == 0) {
            b = &s->buckets[i];
            break;
        }
    }
    if (b == NULL) {
        if (s->n_buckets == s->cap_buckets) {
            size_t nc = s->cap_buckets ? 2 * s->cap_buckets : 16;
            struct srv_bucket *nb = realloc(s->buckets, nc * sizeof(*nb));
            if (nb == NULL) {
                pthread_mutex_unlock(&s->rl_mu);
                return 1;
            }
            s->buckets = nb;
            s->cap_buckets = nc;
        }
        b = &s->buckets[s->n_buckets++];
        snprintf(b->id, sizeof(b->id), "%s", k->id);
        b->tokens = cap;
        b->last_ns = now;
    }
    b->tokens += (double)(now - b->last_ns) / 1e9 * k->rate;
    if (b->tokens > cap) {
        b->tokens = cap;
    }
    b->last_ns = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = (unsigned)ceil((1.0 - b->tokens) / k->rate);
        if (wait == 0) {
            wait = 1;
        }
    }
    pthread_mutex_unlock(&s->rl_mu);
    return wait;
}

/* 0 when the request may go on; else an error response has been set. */
static int srv_authenticate(struct srv_req *r)
{
    struct srv *s = r->srv;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    int rc;
    unsigned wait;

    if (h == NULL) {
        srv_metrics_auth_failure(s->metrics, "missing");
        srv_req_error(r, 401, "unauthorized", "an API key is required: Authorization: Bearer ...");
        return -1;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        srv_metrics_auth_failure(s->metrics, "malformed");
        srv_req_error(r, 401, "unauthorized", "use Authorization: Bearer <key>");
        return -1;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    rc = hw_keys_verify(s->keys, h, strlen(h), &r->key);
    if (rc == HW_EIO) {
        srv_req_error(r, 503, "unavailable", "key store unavailable");
        r->retry_after = 1;
        return -1;
    }
    if (rc != HW_OK) {
        srv_metrics_auth_failure(s->metrics, "invalid");
        srv_req_error(r, 401, "unauthorized", "unknown, revoked or malformed API key");
        return -1;
    }
    r->authed = 1;
    if (r->key.role < r->route->min_role) {
        srv_metrics_auth_failure(s->metrics, "forbidden");
        srv_req_error(r, 403, "forbidden", "this endpoint needs the %s role; the key has %s",
                      hw_role_name(r->route->min_role), hw_role_name(r->key.role));
        return -1;
    }
    wait = srv_rate_take(s, &r->key);
    if (wait != 0) {
        srv_metrics_auth_failure(s->metrics, "rate_limited");
        srv_req_error(r, 429, "rate_limited", "this key's rate limit (%g/s) is exceeded",
                      r->key.rate);
        r->retry_after = wait;
        return -1;
    }
    return 0;
}

/* ---- responses ---- */

static enum MHD_Result srv_send(struct srv_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char ra[16];

    if (r->resp == NULL && r->status == 0) {
        srv_req_error(r, 500, "internal", "no response");
    }
    if (r->static_asset) {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer_with_free_callback(r->resp_len, r->resp, free);
        if (resp != NULL) {
            r->resp = NULL; /* owned by the response now */
        }
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->ctype != NULL ? r->ctype : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (r->static_asset == 1) {
#ifdef SRV_WEB_CSP
        MHD_add_response_header(resp, "Content-Security-Policy", SRV_WEB_CSP);
#else
        MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'self'");
#endif
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        if (r->etag != NULL) {
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    } else {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    }
    if (r->retry_after != 0) {
        snprintf(ra, sizeof(ra), "%u", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (r->allow != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    }
    if (r->status == 401) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"hashwatch\"");
    }
    if (r->status == 413 || r->status == 503 || r->status >= 500) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->state = SRV_ST_SENT;
    return ret;
}

/* ---- routing ---- */

static int route_path_match(const struct srv_route *rt, const char *url)
{
    size_t pl = strlen(rt->path);

    if (pl > 1 && rt->path[pl - 1] == '/') {
        return strncmp(url, rt->path, pl) == 0 && url[pl] != '\0' && strchr(url + pl, '/') == NULL;
    }
    return strcmp(url, rt->path) == 0;
}

/* Find the route; 0, or an error response set (404/405). */
static int srv_route(struct srv_req *r, const char *method, const char *url)
{
    int path_seen = 0;
    const struct srv_route *first = NULL;

    for (size_t i = 0; i < srv_n_routes; i++) {
        const struct srv_route *rt = &srv_routes[i];
        if (!route_path_match(rt, url)) {
            continue;
        }
        if (!path_seen) {
            first = rt;
        }
        path_seen = 1;
        if (strcmp(method, rt->method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            r->route = rt;
            return 0;
        }
    }
#ifdef HW_HAVE_WEB
    if (!path_seen && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        const struct srv_web_asset *a = srv_web_find(url);
        if (a != NULL) {
            static const struct srv_route web_route = {"GET", "/", SRV_EP_STATIC, HW_ROLE_NONE,
                                                       0,     0,   NULL};
            r->route = &web_route;
            r->resp = (char *)(uintptr_t)a->data;
            r->resp_len = a->len;
            r->ctype = a->content_type;
            r->static_asset = 1;
            r->status = 200;
            r->etag = a->etag;
            {
                const char *inm =
                    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
                if (inm != NULL && a->etag != NULL && strcmp(inm, a->etag) == 0) {
                    r->status = 304;
                    r->resp_len = 0;
                }
            }
            return 0;
        }
    }
#endif
    if (path_seen) {
        /* Allow: every method the table lists for this path. */
        char *a = r->allow_buf;
        a[0] = '\0';
        for (size_t i = 0; i < srv_n_routes; i++) {
            if (strcmp(srv_routes[i].path, first->path) == 0) {
                if (a[0] != '\0') {
                    strncat(a, ", ", sizeof(r->allow_buf) - strlen(a) - 1);
                }
                strncat(a, srv_routes[i].method, sizeof(r->allow_buf) - strlen(a) - 1);
            }
        }
        r->allow = a;
        srv_req_error(r, 405, "method_not_allowed", "%s is not allowed here", method);
        return -1;
    }
    srv_req_error(r, 404, "not_found", "no such endpoint");
    return -1;
}

/* ---- request bodies ---- */

static int body_append(struct srv_req *r, const char *data, size_t size)
{
    size_t max = r->body_max;

    if (size > max - r->body_len) {
        return -1;
    }
    if (r->body_len + size > r->body_cap) {
        size_t nc = r->body_cap ? r->body_cap : 65536;
        unsigned char *nb;
        while (nc < r->body_len + size) {
            nc = nc > max / 2 ? max : nc * 2;
        }
        nb = realloc(r->body, nc);
        if (nb == NULL) {
            return -2;
        }
        r->body = nb;
        r->body_cap = nc;
    }
    memcpy(r->body + r->body_len, data, size);
    r->body_len += size;
    return 0;
}

static enum MHD_Result pp_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    struct srv_req *r = cls;

    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (key == NULL || strcmp(key, r->field) != 0) {
        return MHD_YES; /* other fields are ignored */
    }
    if (off == 0) {
        if (r->field_seen && r->body_len > 0) {
            r->field_dup = 1;
        }
        r->field_seen = 1;
    }
    if (r->field_dup || size == 0) {
        return MHD_YES;
    }
    if (body_append(r, data, size) != 0) {
        r->status = 413;
        return MHD_NO;
    }
    return MHD_YES;
}

static int query_params(struct srv_req *r)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "variants");
    const char *md;

    r->variants = 1;
    r->max_distance = -1;
    if (v != NULL) {
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
            r->variants = 0;
        } else if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0) {
            srv_req_error(r, 400, "bad_request", "variants must be true or false");
            return -1;
        }
    }
    md = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "max_distance");
    if (md != NULL) {
        char *end = NULL;
        long x = strtol(md, &end, 10);
        if (end == md || *end != '\0' || x < 0 || x > 256) {
            srv_req_error(r, 400, "bad_request", "max_distance must be an integer 0..256");
            return -1;
        }
        r->max_distance = (int)x;
    }
    return 0;
}

/* Set up body reception; 0, or an error response set. */
static int body_begin(struct srv_req *r)
{
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    enum srv_ep ep = r->route->ep;

    /* JSON bodies hold hashes, not images: a much smaller ceiling than --max-body. */
    r->body_max = r->srv->cfg.max_body;
    if (ep == SRV_EP_LOOKUP || ep == SRV_EP_LIST_ADMIN) {
        size_t json_max = 65536 + (size_t)r->srv->cfg.lookup_max * 512;
        if (json_max < r->body_max) {
            r->body_max = json_max;
        }
    }
    if (cl != NULL) {
        char *end = NULL;
        unsigned long long n;
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl && n > r->body_max) {
            srv_req_error(r, 413, "too_large", "the body is larger than %zu bytes", r->body_max);
            return -1;
        }
        /* Announced and within the limit: one allocation, no regrowth while receiving
         * (multipart bodies carry more than the image, so they grow as they come). */
        if (errno == 0 && end != cl && n > 0 &&
            (ct == NULL || strncasecmp(ct, "multipart/", 10) != 0)) {
            r->body = malloc((size_t)n);
            r->body_cap = r->body != NULL ? (size_t)n : 0;
        }
    }
    if (ep == SRV_EP_LOOKUP || ep == SRV_EP_LIST_ADMIN) {
        /* JSON; curl's -d default (x-www-form-urlencoded) and text/plain are tolerated. */
        if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0 &&
            strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 &&
            strncasecmp(ct, "text/plain", 10) != 0) {
            srv_req_error(r, 415, "unsupported_media_type", "send application/json");
            return -1;
        }
        return 0;
    }
    if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        r->multipart = 1;
        r->field = ep == SRV_EP_CHECK ? "image" : "photo";
        r->pp = MHD_create_post_processor(r->conn, SRV_PP_BUFFER, pp_iter, r);
        if (r->pp == NULL) {
            srv_req_error(r, 400, "bad_request", "malformed multipart/form-data header");
            return -1;
        }
        return 0;
    }
    /* Any other type is taken as the raw image: the format is detected from the bytes, never
     * from Content-Type (curl --data-binary sends x-www-form-urlencoded), except other
     * multipart kinds and JSON, which cannot be an image. */
    if (ct != NULL &&
        (strncasecmp(ct, "multipart/", 10) == 0 || strncasecmp(ct, "application/json", 16) == 0)) {
        srv_req_error(r, 415, "unsupported_media_type",
                      "send the image as the raw body or as multipart/form-data");
        return -1;
    }
    return 0;
}

/* ---- the access handler ---- */

/* Hand the request to a worker: reserve a slot first so that a full queue is answered with
 * 503 before the connection is suspended (a suspended connection must always be resumed). */
static enum MHD_Result srv_enqueue(struct srv_req *r)
{
    if (srv_pool_reserve(r->srv->pool) != 0) {
        srv_req_error(r, 503, "overloaded", "the hashing queue is full; retry shortly");
        r->retry_after = 1;
        return srv_send(r);
    }
    r->state = SRV_ST_QUEUED;
    MHD_suspend_connection(r->conn);
    srv_pool_push(r->srv->pool, r);
    return MHD_YES;
}

static void req_init(struct srv *s, struct srv_req *r, struct MHD_Connection *c, const char *url)
{
    unsigned long n = atomic_fetch_add(&s->rid_counter, 1) + 1;

    r->srv = s;
    r->conn = c;
    r->t_start_ns = srv_now_ns();
    r->deadline_ns = r->t_start_ns + (uint64_t)s->cfg.deadline * 1000000000ull;
    snprintf(r->rid, sizeof(r->rid), "%08x%08lx", s->rid_prefix, n & 0xffffffffUL);
    snprintf(r->path, sizeof(r->path), "%s", url);
    for (char *p = r->path; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            *p = '?'; /* keep log lines one line, printable */
        }
    }
}

/* Route, authenticate and check what the headers say. 0 to go on, or -1 with the answer set
 * (an error, or a static asset). */
static int req_first(struct srv_req *r, const char *method, const char *url)
{
    struct srv *s = r->srv;

    if (strlen(url) >= sizeof(r->path)) {
        srv_req_error(r, 404, "not_found", "no such endpoint");
        return -1;
    }
    if (srv_route(r, method, url) != 0 || r->static_asset) {
        return -1;
    }
    if (atomic_load(&s->stopping) && r->route->ep != SRV_EP_HEALTHZ) {
        srv_req_error(r, 503, "shutting_down", "the server is shutting down");
        r->retry_after = 1;
        return -1;
    }
    if (r->route->min_role != HW_ROLE_NONE && srv_authenticate(r) != 0) {
        return -1;
    }
    if (query_params(r) != 0) {
        return -1;
    }
    if (r->route->body && body_begin(r) != 0) {
        return -1;
    }
    return 0;
}

/* 1 when the request announces a body (a non-zero Content-Length, or chunked). */
static int req_has_body(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

    if (te != NULL) {
        return 1;
    }
    if (cl == NULL) {
        return 0;
    }
    while (*cl == ' ' || *cl == '0') {
        cl++;
    }
    return *cl >= '1' && *cl <= '9';
}

static enum MHD_Result srv_access(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct srv *s = cls;
    struct srv_req *r = *con_cls;

    (void)version;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL) {
            return MHD_NO;
        }
        *con_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        srv_watchdog_request(s, c, 1);
        req_init(s, r, c, url);
        if (req_first(r, method, url) != 0) {
            /* An answer decided from the headers alone. With a body still to come, answer at
             * once: MHD then skips the body and closes (a 413 must not read 4 GB first).
             * Without one, answer on the next call, which keeps the connection alive (an
             * answer queued before the request is complete makes MHD close it). */
            if (req_has_body(c)) {
                return srv_send(r);
            }
            r->state = SRV_ST_DONE;
            return MHD_YES;
        }
        r->state = SRV_ST_BODY;
        return MHD_YES;
    }
    switch (r->state) {
    case SRV_ST_BODY:
        if (*upload_data_size != 0) {
            size_t n = *upload_data_size;
            if (srv_now_ns() > r->deadline_ns) {
                r->status = 408; /* logged; the connection is cut */
                return MHD_NO;
            }
            *upload_data_size = 0;
            if (!r->route->body) {
                return MHD_YES;
            }
            if (r->pp != NULL) {
                if (r->form_bad) {
                    return MHD_YES; /* read and drop the rest, then answer 400 */
                }
                if (MHD_post_process(r->pp, upload_data, n) != MHD_YES) {
                    if (r->status == 413) {
                        return MHD_NO; /* chunked or lying body over the limit: cut off */
                    }
                    /* Returning MHD_NO here would close the connection without an answer
                     * (found by fuzz_srv_http): remember it and answer when the body ends. */
                    r->form_bad = 1;
                }
                return MHD_YES;
            }
            int rc = body_append(r, upload_data, n);
            if (rc != 0) {
                r->status = rc == -1 ? 413 : 503;
                return MHD_NO;
            }
            return MHD_YES;
        }
        /* The whole request is here. */
        if (!r->route->body) {
            if (r->route->async) {
                return srv_enqueue(r);
            }
            r->route->fn(r, NULL);
            return srv_send(r);
        }
        if (r->form_bad) {
            srv_req_error(r, 400, "bad_request", "the multipart/form-data body is malformed");
            return srv_send(r);
        }
        if (r->multipart && (!r->field_seen || r->field_dup)) {
            srv_req_error(r, 400, "bad_request",
                          r->field_dup ? "send one '%s' field" : "no '%s' field in the form",
                          r->field);
            return srv_send(r);
        }
        if (r->body_len == 0) {
            srv_req_error(r, 400, "empty_body", "the request has no body");
            return srv_send(r);
        }
        if (!r->route->async) {
            r->route->fn(r, NULL);
            return srv_send(r);
        }
        return srv_enqueue(r);
    case SRV_ST_QUEUED:
        return MHD_YES;
    case SRV_ST_DONE:
        return srv_send(r);
    default:
        return MHD_YES;
    }
}

static void srv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    struct srv *s = cls;
    struct srv_req *r = *con_cls;
    uint64_t ns;

    if (r == NULL) {
        return;
    }
    *con_cls = NULL;
    srv_watchdog_request(s, c, 0);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->state != SRV_ST_SENT && r->status == 0) {
        r->status = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408 : 499;
    }
    ns = srv_now_ns() - r->t_start_ns;
    srv_metrics_request(s->metrics, r->route != NULL ? r->route->ep : SRV_EP_OTHER, r->status, ns);
    srv_log_line(s, r);
    if (r->pp != NULL) {
        MHD_destroy_post_processor(r->pp);
    }
    if (r->body != NULL) {
        /* Uploaded bytes exist only here; scrub before returning the memory. */
        explicit_bzero(r->body, r->body_len);
        free(r->body);
    }
    if (!r->static_asset) {
        free(r->resp);
    }
    free(r);
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- start and stop ---- */

/* libmicrohttpd's own messages go to the request log, one line each. The format comes from
 * libmicrohttpd (MHD_LogCallback), not from a client. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void
srv_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct srv *s = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    srv_log_printf(s, "mhd: %s\n", msg);
}

static int read_pem(const char *path, char **out, char *errbuf, size_t errbuf_len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *out = NULL;
    if (f == NULL) {
        snprintf(errbuf, errbuf_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(1024 * 1024 + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(errbuf, errbuf_len, "out of memory");
        return -1;
    }
    n = fread(buf, 1, 1024 * 1024, f);
    fclose(f);
    if (n == 0 || n == 1024 * 1024) {
        free(buf);
        snprintf(errbuf, errbuf_len, "%s: empty or larger than 1 MiB", path);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static int parse_listen(const char *s, struct sockaddr_storage *ss, int *v6, char *errbuf,
                        size_t errbuf_len)
{
    char host[128];
    const char *colon, *port_s;
    char *end = NULL;
    long port;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host)) {
            goto bad;
        }
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        port_s = rb + 2;
        *v6 = 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
            goto bad;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port_s = colon + 1;
        *v6 = 0;
    }
    port = strtol(port_s, &end, 10);
    if (end == port_s || *end != '\0' || port < 0 || port > 65535) {
        goto bad;
    }
    if (*v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            goto bad;
        }
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (host[0] == '\0' || strcmp(host, "*") == 0) {
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        } else if (strcmp(host, "localhost") == 0) {
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
            goto bad;
        }
    }
    return 0;
bad:
    snprintf(errbuf, errbuf_len, "bad --listen '%s' (want ADDR:PORT or [V6ADDR]:PORT)", s);
    return -1;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 256 ? (unsigned)n : 1;
}

/*
 * The acceptor. libmicrohttpd's thread pool lets every thread accept from the one listening
 * socket, and a client that opens its connections in a burst can land them all on one thread:
 * the server then runs on one core (measured: 25k look-ups/s at 1M entries against 35-43k
 * with the connections split). Accepting here and handing each socket to MHD_add_connection(),
 * which picks a pool thread by descriptor, spreads them.
 */
static void *srv_accept_main(void *arg)
{
    struct srv *s = arg;
    struct pollfd pf[2] = {{s->listen_fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};

    for (;;) {
        struct sockaddr_storage a;
        socklen_t alen = sizeof(a);
        int fd;

        if (poll(pf, 2, -1) < 0) {
            if (errno != EINTR) {
                /* out of memory in the kernel: never leave the server alive but deaf */
                struct timespec ts = {0, 10 * 1000000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        if (pf[1].revents != 0) {
            break; /* srv_stop() */
        }
        if (!(pf[0].revents & POLLIN)) {
            continue;
        }
        fd = accept(s->listen_fd, (struct sockaddr *)&a, &alen);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec ts = {0, 10 * 1000000}; /* out of descriptors: let some close */
                nanosleep(&ts, NULL);
            }
            continue;
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        /* MHD takes the socket in every case (makes it non-blocking, or closes it when it
         * cannot serve it: the connection limits) */
        (void)MHD_add_connection(s->d, fd, (struct sockaddr *)&a, alen);
    }
    return NULL;
}

/* Bind and listen on ss (port 0: any free port); the descriptor, or -1 with errbuf set. */
static int srv_listen(const struct sockaddr_storage *ss, int v6, const char *what, char *errbuf,
                      size_t errbuf_len)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;

    /* non-blocking: poll() may report a connection that is gone before accept() */
    if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)ss,
             v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0 ||
        listen(fd, 1024) != 0) {
        snprintf(errbuf, errbuf_len, "cannot listen on %s: %s", what, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

int srv_start(const struct srv_config *c, hw_store *store, struct srv **out, char *errbuf,
              size_t errbuf_len)
{
    struct srv *s = NULL;
    struct sockaddr_storage ss;
    struct hw_limits lim;
    char eb[256] = "";
    char audit_path[SRV_PATH_MAX + 16];
    unsigned flags, http_threads, queue;
    int v6 = 0;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(errbuf, errbuf_len, "out of memory");
        return -1;
    }
    s->cfg = *c;
    s->listen_fd = s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_rwlock_init(&s->log_lock, NULL);
    pthread_mutex_init(&s->rl_mu, NULL);
    s->log = stderr;
    s->started = (int64_t)time(NULL);
    if (getrandom(&s->rid_prefix, sizeof(s->rid_prefix), 0) != sizeof(s->rid_prefix)) {
        s->rid_prefix = (uint32_t)getpid();
    }
    if (c->log[0] != '\0') {
        s->log = fopen(c->log, "a");
        if (s->log == NULL) {
            snprintf(errbuf, errbuf_len, "--log %s: %s", c->log, strerror(errno));
            s->log = stderr;
            goto fail;
        }
        s->own_log = 1;
    }
    if (parse_listen(c->listen, &ss, &v6, errbuf, errbuf_len) != 0) {
        goto fail;
    }
    if (store != NULL) {
        s->store = store;
    } else {
        mkdir(c->store, 0700);
        if (hw_store_open(c->store, 0, &s->store, eb, sizeof(eb)) != HW_OK) {
            snprintf(errbuf, errbuf_len, "store %s: %s", c->store, eb);
            goto fail;
        }
        s->own_store = 1;
    }
    if (hw_keys_open(s->store, &s->keys, eb, sizeof(eb)) != HW_OK) {
        snprintf(errbuf, errbuf_len, "keys: %s", eb);
        goto fail;
    }
    if (c->audit_log[0] != '\0') {
        snprintf(audit_path, sizeof(audit_path), "%s", c->audit_log);
    } else {
        snprintf(audit_path, sizeof(audit_path), "%s/audit.log", c->store);
    }
    if (hw_audit_open(audit_path, &s->audit, eb, sizeof(eb)) != HW_OK) {
        snprintf(errbuf, errbuf_len, "audit log: %s", eb);
        goto fail;
    }
    if (srv_watchdog_new(c->timeout, c->deadline, &s->watchdog) != 0) {
        snprintf(errbuf, errbuf_len, "cannot start the connection watchdog");
        goto fail;
    }
    if (srv_metrics_new(&s->metrics) != 0) {
        snprintf(errbuf, errbuf_len, "out of memory");
        goto fail;
    }
    s->workers = c->workers ? c->workers : online_cpus();
    queue = c->queue ? c->queue : 4 * s->workers;
    http_threads = c->http_threads ? c->http_threads : online_cpus();
    hw_limits_default(&lim);
    lim.max_input_len = c->max_body;
    if (srv_pool_new(s->workers, queue, &lim, &s->pool) != 0) {
        snprintf(errbuf, errbuf_len, "cannot start %u worker threads", s->workers);
        goto fail;
    }
    /* The daemon listens on nothing: the acceptor hands it the sockets (MHD_USE_ITC wakes
     * the pool thread that gets one). */
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    if (v6) {
        flags |= MHD_USE_IPv6;
    }
    if (c->tls_cert[0] != '\0') {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(errbuf, errbuf_len, "this libmicrohttpd was built without TLS");
            goto fail;
        }
        if (read_pem(c->tls_cert, &s->tls_cert_pem, errbuf, errbuf_len) != 0 ||
            read_pem(c->tls_key, &s->tls_key_pem, errbuf, errbuf_len) != 0) {
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    {
        struct MHD_OptionItem ops[20];
        int n = 0;
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)srv_completed, s};
        ops[n++] =
            (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)srv_watchdog_notify, s};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                           (intptr_t)c->max_connections, NULL};
        ops[n++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)c->timeout, NULL};
        if (c->max_per_ip != 0) {
            ops[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                               (intptr_t)c->max_per_ip, NULL};
        }
        if (http_threads > 1) {
            ops[n++] =
                (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)http_threads, NULL};
        }
        if (s->tls_cert_pem != NULL) {
            ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
            ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
        }
        /*
         * Per-connection memory (headers and read buffer); longer headers get 431. MHD
         * zeroes this pool for every request of a keep-alive connection: 128 KiB cost 11% of
         * the CPU of a /m/lookup; 32 KiB (nginx's default header limit) is enough.
         */
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                           (intptr_t)(32 * 1024), NULL};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        /* The logger goes first so that MHD sends every message of its own to it. */
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, srv_access, s, MHD_OPTION_EXTERNAL_LOGGER,
                                srv_mhd_log, s, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    }
    if (s->d == NULL) {
        snprintf(errbuf, errbuf_len, "cannot start libmicrohttpd for %s", c->listen);
        goto fail;
    }
    s->listen_fd = srv_listen(&ss, v6, c->listen, errbuf, errbuf_len);
    if (s->listen_fd < 0) {
        goto fail;
    }
    {
        struct sockaddr_storage bound;
        socklen_t blen = sizeof(bound);
        if (getsockname(s->listen_fd, (struct sockaddr *)&bound, &blen) != 0) {
            snprintf(errbuf, errbuf_len, "cannot listen on %s: %s", c->listen, strerror(errno));
            goto fail;
        }
        s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                           : ((struct sockaddr_in *)&bound)->sin_port);
    }
    if (pipe(s->stop_pipe) != 0 || fcntl(s->stop_pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(s->stop_pipe[1], F_SETFD, FD_CLOEXEC) != 0 ||
        pthread_create(&s->acceptor, NULL, srv_accept_main, s) != 0) {
        snprintf(errbuf, errbuf_len, "cannot start the acceptor thread");
        goto fail;
    }
    s->acceptor_running = 1;
    *out = s;
    return 0;
fail:
    srv_stop(s, 0);
    return -1;
}

unsigned srv_port(const struct srv *s)
{
    return s->port;
}

hw_store *srv_store(struct srv *s)
{
    return s->store;
}

/* Stop accepting: new connections are refused from here on (the socket closes). */
static void srv_stop_accepting(struct srv *s)
{
    if (s->acceptor_running) {
        char b = 0;
        ssize_t w;
        do {
            w = write(s->stop_pipe[1], &b, 1);
        } while (w < 0 && errno == EINTR);
        pthread_join(s->acceptor, NULL);
        s->acceptor_running = 0;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
}

void srv_stop(struct srv *s, unsigned drain_seconds)
{
    if (s == NULL) {
        return;
    }
    atomic_store(&s->stopping, 1);
    srv_stop_accepting(s);
    if (s->d != NULL) {
        uint64_t until = srv_now_ns() + (uint64_t)drain_seconds * 1000000000ull;
        while (atomic_load(&s->in_flight) > 0 && srv_now_ns() < until) {
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    /* Workers first: a suspended connection must be resumed before MHD stops; the pool's
     * memory stays until MHD has stopped, since a late request may still try to reserve. */
    srv_pool_shutdown(s->pool);
    if (s->d != NULL) {
        MHD_stop_daemon(s->d);
    }
    for (int i = 0; i < 2; i++) {
        if (s->stop_pipe[i] >= 0) {
            close(s->stop_pipe[i]);
        }
    }
    srv_pool_free(s->pool);
    srv_watchdog_free(s->watchdog);
    srv_metrics_free(s->metrics);
    hw_audit_close(s->audit);
    hw_keys_close(s->keys);
    if (s->own_store) {
        hw_store_close(s->store);
    }
    if (s->own_log && s->log != NULL) {
        fclose(s->log);
    }
    free(s->tls_cert_pem);
    free(s->tls_key_pem);
    free(s->buckets);
    pthread_rwlock_destroy(&s->log_lock);
    pthread_mutex_destroy(&s->rl_mu);
    free(s);
}
