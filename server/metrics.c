/* metrics.c: request, latency, verdict and decode-failure counters, rendered for Prometheus. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_int.h"

/* Statuses we count one by one; anything else falls in "other". */
static const int met_statuses[] = {200, 304, 400, 401, 403, 404, 405, 408,
                                   413, 415, 422, 429, 499, 500, 503, 0};
#define MET_N_STATUS (sizeof(met_statuses) / sizeof(met_statuses[0]))
/* Latency buckets in seconds (upper bounds); +Inf is implicit. */
static const double met_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1.0,   2.5,  10.0};
#define MET_N_BUCKETS (sizeof(met_buckets) / sizeof(met_buckets[0]))
#define MET_MAX_LISTS 256
#define MET_N_ERR     20

static const char *const met_verdicts[] = {"match", "no_match", "unscannable"};
static const char *const met_auth[] = {"missing", "malformed", "invalid", "forbidden",
                                       "rate_limited"};

struct srv_metrics {
    atomic_ulong req[SRV_EP_COUNT][MET_N_STATUS];
    atomic_ulong lat[SRV_EP_COUNT][MET_N_BUCKETS + 1];
    atomic_ulong lat_sum_us[SRV_EP_COUNT];
    atomic_ulong verdicts[3];
    atomic_ulong decode_fail[MET_N_ERR];
    atomic_ulong auth_fail[5];
    pthread_mutex_t mu;
    char list_names[MET_MAX_LISTS][HW_LIST_NAME_MAX];
    unsigned long list_matches[MET_MAX_LISTS];
    size_t n_lists;
};

static const char *const ep_names[SRV_EP_COUNT] = {
    [SRV_EP_OTHER] = "other",
    [SRV_EP_CHECK] = "/v1/check",
    [SRV_EP_LOOKUP] = "/v1/lookup",
    [SRV_EP_LISTS] = "/v1/lists",
    [SRV_EP_LIST_ADMIN] = "/v1/lists/{name}",
    [SRV_EP_HMA_LOOKUP_GET] = "GET /m/lookup",
    [SRV_EP_HMA_LOOKUP_POST] = "POST /m/lookup",
    [SRV_EP_HMA_HASH] = "/h/hash",
    [SRV_EP_HMA_STATUS] = "/m/index/status",
    [SRV_EP_HEALTHZ] = "/healthz",
    [SRV_EP_READYZ] = "/readyz",
    [SRV_EP_METRICS] = "/metrics",
    [SRV_EP_OPENAPI] = "/openapi.json",
    [SRV_EP_STATIC] = "static",
};

const char *srv_ep_name(enum srv_ep ep)
{
    return ep < SRV_EP_COUNT && ep_names[ep] != NULL ? ep_names[ep] : "other";
}

int srv_metrics_new(struct srv_metrics **out)
{
    struct srv_metrics *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (m == NULL) {
        return -1;
    }
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return 0;
}

void srv_metrics_free(struct srv_metrics *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void srv_metrics_request(struct srv_metrics *m, enum srv_ep ep, int status, uint64_t ns)
{
    size_t si = MET_N_STATUS - 1, b = 0;
    double sec = (double)ns / 1e9;

    if (m == NULL || ep >= SRV_EP_COUNT) {
        return;
    }
    for (size_t i = 0; i + 1 < MET_N_STATUS; i++) {
        if (met_statuses[i] == status) {
            si = i;
            break;
        }
    }
    atomic_fetch_add(&m->req[ep][si], 1);
    while (b < MET_N_BUCKETS && sec > met_buckets[b]) {
        b++;
    }
    atomic_fetch_add(&m->lat[ep][b], 1);
    atomic_fetch_add(&m->lat_sum_us[ep], (unsigned long)(ns / 1000));
}

void srv_metrics_verdict(struct srv_metrics *m, const char *verdict)
{
    for (size_t i = 0; m != NULL && verdict != NULL && i < 3; i++) {
        if (strcmp(verdict, met_verdicts[i]) == 0) {
            atomic_fetch_add(&m->verdicts[i], 1);
        }
    }
}

void srv_metrics_list_match(struct srv_metrics *m, const char *list)
{
    size_t i;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    for (i = 0; i < m->n_lists; i++) {
        if (strcmp(m->list_names[i], list) == 0) {
            break;
        }
    }
    if (i == m->n_lists && i < MET_MAX_LISTS) {
        snprintf(m->list_names[i], HW_LIST_NAME_MAX, "%s", list);
        m->n_lists++;
    }
    if (i < MET_MAX_LISTS) {
        m->list_matches[i]++;
    }
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_decode_failure(struct srv_metrics *m, int err)
{
    int i = -err;

    if (m != NULL && i > 0 && i < MET_N_ERR) {
        atomic_fetch_add(&m->decode_fail[i], 1);
    }
}

void srv_metrics_auth_failure(struct srv_metrics *m, const char *reason)
{
    for (size_t i = 0; m != NULL && i < 5; i++) {
        if (strcmp(reason, met_auth[i]) == 0) {
            atomic_fetch_add(&m->auth_fail[i], 1);
        }
    }
}

struct mbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void mb_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom) {
        return;
    }
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        {
            size_t nc = b->cap * 2 + (size_t)n;
            char *np = realloc(b->p, nc);
            if (np == NULL) {
                b->oom = 1;
                return;
            }
            b->p = np;
            b->cap = nc;
        }
    }
}

char *srv_metrics_render(struct srv *s, size_t *len)
{
    struct srv_metrics *m = s->metrics;
    struct mbuf b = {malloc(16384), 0, 16384, 0};
    hw_snapshot *snap = NULL;

    if (b.p == NULL) {
        return NULL;
    }
    mb_printf(&b, "# HELP hashwatch_requests_total HTTP requests by endpoint and status.\n"
                  "# TYPE hashwatch_requests_total counter\n");
    for (int e = 0; e < SRV_EP_COUNT; e++) {
        for (size_t i = 0; i < MET_N_STATUS; i++) {
            unsigned long v = atomic_load(&m->req[e][i]);
            if (v == 0) {
                continue;
            }
            if (met_statuses[i] != 0) {
                mb_printf(&b, "hashwatch_requests_total{endpoint=\"%s\",status=\"%d\"} %lu\n",
                          ep_names[e], met_statuses[i], v);
            } else {
                mb_printf(&b, "hashwatch_requests_total{endpoint=\"%s\",status=\"other\"} %lu\n",
                          ep_names[e], v);
            }
        }
    }
    mb_printf(&b, "# HELP hashwatch_request_duration_seconds Time from the first byte of a "
                  "request to its completion.\n"
                  "# TYPE hashwatch_request_duration_seconds histogram\n");
    for (int e = 0; e < SRV_EP_COUNT; e++) {
        unsigned long cum = 0;
        unsigned long tot = 0;
        for (size_t i = 0; i <= MET_N_BUCKETS; i++) {
            tot += atomic_load(&m->lat[e][i]);
        }
        if (tot == 0) {
            continue;
        }
        for (size_t i = 0; i <= MET_N_BUCKETS; i++) {
            cum += atomic_load(&m->lat[e][i]);
            if (i < MET_N_BUCKETS) {
                mb_printf(&b,
                          "hashwatch_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
                          "%lu\n",
                          ep_names[e], met_buckets[i], cum);
            } else {
                mb_printf(&b,
                          "hashwatch_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"}"
                          " %lu\n",
                          ep_names[e], cum);
            }
        }
        mb_printf(&b, "hashwatch_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", ep_names[e],
                  (double)atomic_load(&m->lat_sum_us[e]) / 1e6);
        mb_printf(&b, "hashwatch_request_duration_seconds_count{endpoint=\"%s\"} %lu\n",
                  ep_names[e], cum);
    }
    mb_printf(&b, "# HELP hashwatch_verdicts_total Verdicts of /v1/check and HMA look-ups.\n"
                  "# TYPE hashwatch_verdicts_total counter\n");
    for (size_t i = 0; i < 3; i++) {
        mb_printf(&b, "hashwatch_verdicts_total{verdict=\"%s\"} %lu\n", met_verdicts[i],
                  atomic_load(&m->verdicts[i]));
    }
    mb_printf(&b, "# HELP hashwatch_list_matches_total Matches reported, by list.\n"
                  "# TYPE hashwatch_list_matches_total counter\n");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_lists; i++) {
        mb_printf(&b, "hashwatch_list_matches_total{list=\"%s\"} %lu\n", m->list_names[i],
                  m->list_matches[i]);
    }
    pthread_mutex_unlock(&m->mu);
    mb_printf(&b, "# HELP hashwatch_decode_failures_total Uploads that did not decode, by "
                  "reason.\n# TYPE hashwatch_decode_failures_total counter\n");
    for (int i = 1; i < MET_N_ERR; i++) {
        unsigned long v = atomic_load(&m->decode_fail[i]);
        if (v != 0) {
            mb_printf(&b, "hashwatch_decode_failures_total{reason=\"%s\"} %lu\n", hw_errname(-i),
                      v);
        }
    }
    mb_printf(&b, "# HELP hashwatch_auth_failures_total Requests refused by authentication, "
                  "role or rate limit.\n# TYPE hashwatch_auth_failures_total counter\n");
    for (size_t i = 0; i < 5; i++) {
        mb_printf(&b, "hashwatch_auth_failures_total{reason=\"%s\"} %lu\n", met_auth[i],
                  atomic_load(&m->auth_fail[i]));
    }
    mb_printf(&b,
              "# HELP hashwatch_queue_depth Hashing jobs waiting for a worker.\n"
              "# TYPE hashwatch_queue_depth gauge\nhashwatch_queue_depth %u\n"
              "# HELP hashwatch_workers_busy Workers hashing now.\n"
              "# TYPE hashwatch_workers_busy gauge\nhashwatch_workers_busy %u\n"
              "# HELP hashwatch_workers Hashing worker threads.\n"
              "# TYPE hashwatch_workers gauge\nhashwatch_workers %u\n"
              "# HELP hashwatch_requests_in_flight Requests being received or answered.\n"
              "# TYPE hashwatch_requests_in_flight gauge\nhashwatch_requests_in_flight %ld\n"
              "# HELP hashwatch_connections_cut_total Connections ended by the watchdog "
              "(trickled headers or a request past its deadline).\n"
              "# TYPE hashwatch_connections_cut_total counter\nhashwatch_connections_cut_total "
              "%lu\n"
              "# HELP hashwatch_start_time_seconds Unix time the server started.\n"
              "# TYPE hashwatch_start_time_seconds gauge\nhashwatch_start_time_seconds %" PRId64
              "\n",
              srv_pool_depth(s->pool), srv_pool_busy(s->pool), s->workers,
              atomic_load(&s->in_flight), srv_watchdog_cuts(s->watchdog), s->started);
    {
        size_t hot_bytes;
        unsigned hot_copying;

        hw_store_hot_index_stats(s->store, &hot_bytes, &hot_copying);
        mb_printf(&b,
                  "# HELP hashwatch_index_hot_bytes Bytes of PDQ index searched in huge-page "
                  "copies (--hot-index); 0: searched in the store's map.\n"
                  "# TYPE hashwatch_index_hot_bytes gauge\nhashwatch_index_hot_bytes %zu\n"
                  "# HELP hashwatch_index_hot_copying Hot index copies being made.\n"
                  "# TYPE hashwatch_index_hot_copying gauge\nhashwatch_index_hot_copying %u\n",
                  hot_bytes, hot_copying);
    }
    if (hw_snapshot_acquire(s->store, &snap, NULL, 0) == HW_OK) {
        struct hw_list_info *li = malloc(MET_MAX_LISTS * sizeof(*li));
        size_t n = 0;
        if (li != NULL && hw_snapshot_lists(snap, li, MET_MAX_LISTS, &n) == HW_OK) {
            mb_printf(&b, "# HELP hashwatch_list_version Each list's version.\n"
                          "# TYPE hashwatch_list_version gauge\n");
            for (size_t i = 0; i < n && i < MET_MAX_LISTS; i++) {
                mb_printf(&b, "hashwatch_list_version{list=\"%s\"} %" PRIu64 "\n", li[i].name,
                          li[i].version);
            }
            mb_printf(&b, "# HELP hashwatch_list_entries Entries per list and hash type.\n"
                          "# TYPE hashwatch_list_entries gauge\n");
            for (size_t i = 0; i < n && i < MET_MAX_LISTS; i++) {
                for (int t = 1; t < HW_HASH_TYPE_COUNT; t++) {
                    mb_printf(&b, "hashwatch_list_entries{list=\"%s\",type=\"%s\"} %" PRIu64 "\n",
                              li[i].name, hw_hash_type_name((enum hw_hash_type)t), li[i].counts[t]);
                }
            }
        }
        free(li);
        hw_snapshot_release(snap);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
