/* srv_int.h: hwserver internals shared by the server's modules (not for the tests). */
#ifndef HASHWATCH_SRV_INT_H
#define HASHWATCH_SRV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <microhttpd.h>

#include "hashlib/hw_audit.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_hasher.h"
#include "hashlib/hw_keys.h"
#include "hashlib/hw_store.h"
#include "srv.h"

/* Endpoints, for routing, metrics and logs. */
enum srv_ep {
    SRV_EP_OTHER = 0,
    SRV_EP_CHECK,
    SRV_EP_LOOKUP,
    SRV_EP_LISTS,
    SRV_EP_LIST_ADMIN,
    SRV_EP_HMA_LOOKUP_GET,
    SRV_EP_HMA_LOOKUP_POST,
    SRV_EP_HMA_HASH,
    SRV_EP_HMA_STATUS,
    SRV_EP_HEALTHZ,
    SRV_EP_READYZ,
    SRV_EP_METRICS,
    SRV_EP_OPENAPI,
    SRV_EP_STATIC,
    SRV_EP_COUNT
};

/* Request states. */
enum srv_state {
    SRV_ST_NEW = 0,
    SRV_ST_BODY,   /* receiving the body */
    SRV_ST_QUEUED, /* suspended, waiting for or running on a worker */
    SRV_ST_DONE,   /* a response is ready in resp_* */
    SRV_ST_SENT
};

struct srv_req;
typedef void (*srv_handler)(struct srv_req *r, hw_hasher *h);

struct srv_route {
    const char *method;
    const char *path; /* exact, or prefix when it ends with '/' */
    enum srv_ep ep;
    int min_role; /* HW_ROLE_NONE: no key needed */
    int body;     /* 1: reads a body */
    int async;    /* 1: run on a worker thread */
    srv_handler fn;
};

struct srv_req {
    struct srv *srv;
    struct MHD_Connection *conn;
    const struct srv_route *route;
    enum srv_state state;
    char rid[20];
    uint64_t t_start_ns;
    uint64_t deadline_ns;
    char path[256];
    int authed;
    struct hw_key_info key;
    /* body */
    unsigned char *body;
    size_t body_len, body_cap;
    size_t body_max; /* this request's ceiling (--max-body, less for JSON) */
    int multipart;
    const char *field; /* multipart field to keep ("image", "photo") */
    int field_seen;
    int field_dup;
    int form_bad; /* the multipart body did not parse: answer 400 once it has all arrived */
    struct MHD_PostProcessor *pp;
    /* query */
    int variants;
    int max_distance;
    /* response */
    int status;
    char *resp; /* malloc'd */
    size_t resp_len;
    const char *ctype;
    unsigned retry_after; /* seconds; 0 = no header */
    const char *allow;    /* Allow header for 405 */
    char allow_buf[48];
    const char *verdict; /* for the log line; static string */
    int hash_err;        /* decode failure code for metrics, 0 = none */
    int static_asset;    /* 1: resp points at static data, not malloc'd */
    const char *etag;    /* static assets: their strong ETag */
};

struct srv_pool;

struct srv_metrics;
struct srv_watchdog;

struct srv {
    struct srv_config cfg;
    struct MHD_Daemon *d;
    unsigned port;
    /* the listening socket and the thread that accepts on it (see srv_accept_main) */
    int listen_fd, stop_pipe[2];
    pthread_t acceptor;
    int acceptor_running;
    hw_store *store;
    int own_store;
    hw_keys *keys;
    hw_audit *audit;
    struct srv_pool *pool;
    struct srv_metrics *metrics;
    struct srv_watchdog *watchdog;
    unsigned workers;
    char *tls_cert_pem, *tls_key_pem;
    /* logging: a line is written with one write(2) under the read lock (appends to a file
     * opened with O_APPEND do not interleave); SIGHUP's reopen takes the write lock */
    pthread_rwlock_t log_lock;
    FILE *log;
    int own_log;
    /* rate limits */
    pthread_mutex_t rl_mu;
    struct srv_bucket *buckets;
    size_t n_buckets, cap_buckets;
    /* lifecycle */
    atomic_long in_flight;
    atomic_ulong rid_counter;
    uint32_t rid_prefix;
    atomic_int stopping;
    int64_t started;
};

/* http.c */
void srv_req_json(struct srv_req *r, int status, char *json_text);
void srv_req_error(struct srv_req *r, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
uint64_t srv_now_ns(void);

/* api.c */
extern const struct srv_route srv_routes[];
extern const size_t srv_n_routes;
int srv_audit_record(struct srv_req *r, const char *fields_json);
/** Parse a hash's text (hex of the type's length; PhotoDNA also base64) into out
 * (HW_HASH_MAX_LEN bytes). 0 or -1. For untrusted input; fuzzed by fuzz_srv_parse. */
int srv_parse_hash(enum hw_hash_type t, const char *s, uint8_t *out);

/* pool.c */
int srv_pool_new(unsigned workers, unsigned queue, const struct hw_limits *lim,
                 struct srv_pool **out);
/** Reserve a queue slot: 0, or -1 when the queue is full. */
int srv_pool_reserve(struct srv_pool *p);
/** Queue a job into a reserved slot; never fails. */
void srv_pool_push(struct srv_pool *p, struct srv_req *r);
unsigned srv_pool_depth(struct srv_pool *p);
unsigned srv_pool_busy(struct srv_pool *p);
/** Stop accepting jobs, finish the queued ones, join the threads. Idempotent. */
void srv_pool_shutdown(struct srv_pool *p);
void srv_pool_free(struct srv_pool *p);

/* watchdog.c */
int srv_watchdog_new(unsigned timeout_s, unsigned deadline_s, struct srv_watchdog **out);
void srv_watchdog_free(struct srv_watchdog *w);
unsigned long srv_watchdog_cuts(struct srv_watchdog *w);
/** MHD_OPTION_NOTIFY_CONNECTION callback; cls is the struct srv. */
void srv_watchdog_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe);
/** A request's headers are complete (begin = 1), or its answer is done (begin = 0). */
void srv_watchdog_request(struct srv *s, struct MHD_Connection *conn, int begin);

/* metrics.c */
int srv_metrics_new(struct srv_metrics **out);
void srv_metrics_free(struct srv_metrics *m);
void srv_metrics_request(struct srv_metrics *m, enum srv_ep ep, int status, uint64_t ns);
void srv_metrics_verdict(struct srv_metrics *m, const char *verdict);
void srv_metrics_list_match(struct srv_metrics *m, const char *list);
void srv_metrics_decode_failure(struct srv_metrics *m, int err);
void srv_metrics_auth_failure(struct srv_metrics *m, const char *reason);
/** Render the Prometheus text into a malloc'd string. */
char *srv_metrics_render(struct srv *s, size_t *len);
const char *srv_ep_name(enum srv_ep ep);

#endif
