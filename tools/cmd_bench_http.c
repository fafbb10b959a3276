/* cmd_bench_http.c: hashwatch bench http: load a running hashwatchd over keep-alive HTTP/1.1
 * connections (/v1/check with an image, or /m/lookup with PDQ hashes), report requests/s and
 * latency percentiles, then hash the same image offline in this process for the ratio. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hashlib/hw_error.h"
#include "hashlib/hw_hasher.h"
#include "hashlib/hw_store.h"

#define BH_MAX_IMAGE (64u * 1024 * 1024)
#define BH_LAT_CAP   (4u * 1024 * 1024) /* latencies kept per thread */

enum bh_mode { BH_CHECK, BH_MLOOKUP, BH_HEALTHZ };

struct bh_cfg {
    char host[128];
    unsigned port;
    const char *key;
    enum bh_mode mode;
    const unsigned char *image;
    size_t image_len;
    unsigned connections;
    double duration;
    int known_pct;     /* /m/lookup: share of queries that are a known hash */
    const char *query; /* /v1/check: query string without '?', or "" */
    char known_hex[65];
};

struct bh_thread {
    const struct bh_cfg *cfg;
    pthread_t t;
    unsigned n_conns; /* connections this thread keeps busy */
    double *lat;
    size_t n_lat;
    uint64_t ok, errors, reconnects;
    uint64_t status[6]; /* by hundreds: 1xx..5xx, [0] other */
    uint64_t matches;
    uint64_t rng;
};

static atomic_int bh_stop;

static double bh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t bh_rand(uint64_t *s)
{
    /* xorshift64*: fast, good enough for picking query hashes */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static int bh_connect(const struct bh_cfg *c)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;

    if (fd < 0) {
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)c->port);
    if (inet_pton(AF_INET, c->host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/*
 * One response in buf[0..have): 0 while incomplete, the status when whole (*used = its length),
 * or -1 when malformed. Sets *close_after and *matched.
 */
static int bh_parse_resp(char *buf, size_t have, size_t *used, int *close_after, int *matched)
{
    char *e, *cl;
    size_t hdr_end, body_len = 0;
    int status;

    buf[have] = '\0';
    e = strstr(buf, "\r\n\r\n");
    if (e == NULL) {
        return 0;
    }
    hdr_end = (size_t)(e - buf) + 4;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 999) {
        return -1;
    }
    cl = strstr(buf, "\r\nContent-Length:");
    if (cl != NULL && cl < e) {
        body_len = strtoul(cl + 17, NULL, 10);
    }
    if (have < hdr_end + body_len) {
        return 0;
    }
    *used = hdr_end + body_len;
    *close_after = strstr(buf, "\r\nConnection: close") != NULL;
    /* "match" verdict, or a non-empty HMA bank list. */
    *matched = strstr(buf + hdr_end, "\"verdict\":\"match\"") != NULL ||
               (body_len >= 2 && buf[hdr_end] == '[' && buf[hdr_end + 1] != ']');
    return status;
}

/* One keep-alive connection of a client thread: a request in flight, always. */
struct bh_conn {
    int fd;
    char *req, *resp;
    size_t req_len, sent, have;
    double t0;
};

#define BH_RESP_CAP (1u << 20)

/* Build conn's next request (a fresh random hash for /m/lookup). */
static void bh_next_req(struct bh_thread *t, struct bh_conn *k, size_t cap)
{
    const struct bh_cfg *c = t->cfg;

    if (c->mode == BH_MLOOKUP) {
        char hex[65];
        if ((int)(bh_rand(&t->rng) % 100) < c->known_pct) {
            memcpy(hex, c->known_hex, 65);
        } else {
            for (int i = 0; i < 4; i++) {
                snprintf(hex + 16 * i, 17, "%016" PRIx64, bh_rand(&t->rng));
            }
        }
        k->req_len = (size_t)snprintf(k->req, cap,
                                      "GET /m/lookup?signal_type=pdq&signal=%s HTTP/1.1\r\n"
                                      "Host: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                                      hex, c->host, c->key);
    } else if (c->mode == BH_HEALTHZ) {
        k->req_len =
            (size_t)snprintf(k->req, cap, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", c->host);
    }
    /* BH_CHECK: the request built once stays */
    k->sent = k->have = 0;
}

static void bh_drop(struct bh_conn *k)
{
    if (k->fd >= 0) {
        close(k->fd);
        k->fd = -1;
    }
}

/* (Re)connect k and send its first request; -1 on failure. */
static int bh_open(struct bh_thread *t, int ep, struct bh_conn *k, size_t cap)
{
    struct epoll_event ev;

    k->fd = bh_connect(t->cfg);
    if (k->fd < 0) {
        return -1;
    }
    /* Edge-triggered: a response's bytes or room to send raise an event once. */
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.ptr = k;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev) != 0) {
        bh_drop(k);
        return -1;
    }
    t->reconnects++;
    bh_next_req(t, k, cap);
    k->t0 = bh_now();
    return 0;
}

/* Move k on as far as its socket allows: send, receive, and start the next request. 0; 1 when
 * the server closes the connection after its answer; -1 on a transport error. */
static int bh_step(struct bh_thread *t, struct bh_conn *k, size_t cap, uint32_t events)
{
    for (;;) {
        int sending = k->sent < k->req_len;

        while (k->sent < k->req_len) {
            ssize_t w = send(k->fd, k->req + k->sent, k->req_len - k->sent, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return 0; /* EPOLLOUT comes when there is room */
            }
            if (w <= 0) {
                return -1;
            }
            k->sent += (size_t)w;
        }
        /* A request just sent has no answer yet: its bytes will raise EPOLLIN (a receive that
         * can only say EAGAIN would cost a system call per request). */
        if (sending && !(events & EPOLLIN)) {
            return 0;
        }
        events = 0;
        for (;;) {
            size_t used = 0;
            int st, close_after = 0, matched = 0;
            ssize_t n = recv(k->fd, k->resp + k->have, BH_RESP_CAP - 1 - k->have, 0);

            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return 0; /* EPOLLIN comes with the rest */
            }
            if (n <= 0) {
                return -1;
            }
            k->have += (size_t)n;
            st = bh_parse_resp(k->resp, k->have, &used, &close_after, &matched);
            if (st < 0 || (st == 0 && k->have + 1 >= BH_RESP_CAP) || (st > 0 && used != k->have)) {
                return -1; /* malformed, too long, or bytes nobody asked for */
            }
            if (st == 0) {
                continue;
            }
            if (t->n_lat < BH_LAT_CAP) {
                t->lat[t->n_lat++] = bh_now() - k->t0;
            }
            t->status[st < 600 ? st / 100 : 0]++;
            if (st == 200) {
                t->ok++;
                t->matches += (uint64_t)matched;
            }
            if (close_after) {
                return 1; /* the server ends the connection: open another */
            }
            if (atomic_load_explicit(&bh_stop, memory_order_relaxed)) {
                return 0;
            }
            break;
        }
        /* No pipelining: the next request goes out once the answer is whole. */
        bh_next_req(t, k, cap);
        k->t0 = bh_now();
    }
}

/*
 * A client thread: its share of the connections on one epoll set, each with one request in
 * flight. One thread per connection costs a wake-up per response, and on a 2-core machine that
 * the server shares, the client's CPU is taken from the server.
 */
static void *bh_main(void *arg)
{
    struct bh_thread *t = arg;
    const struct bh_cfg *c = t->cfg;
    size_t cap = 1024 + c->image_len;
    struct bh_conn *k = calloc(t->n_conns, sizeof(*k));
    struct epoll_event evs[64];
    int ep = epoll_create1(EPOLL_CLOEXEC);

    for (unsigned i = 0; k != NULL && i < t->n_conns; i++) {
        k[i].fd = -1;
        k[i].req = malloc(cap);
        k[i].resp = malloc(BH_RESP_CAP);
        if (k[i].req == NULL || k[i].resp == NULL) {
            goto out;
        }
        if (c->mode == BH_CHECK) {
            size_t h =
                (size_t)snprintf(k[i].req, 1024,
                                 "POST /v1/check%s%s HTTP/1.1\r\nHost: %s\r\n"
                                 "Authorization: Bearer %s\r\n"
                                 "Content-Type: application/octet-stream\r\n"
                                 "Content-Length: %zu\r\n\r\n",
                                 c->query[0] ? "?" : "", c->query, c->host, c->key, c->image_len);
            memcpy(k[i].req + h, c->image, c->image_len);
            k[i].req_len = h + c->image_len;
        }
    }
    if (k == NULL || ep < 0) {
        goto out;
    }
    while (!atomic_load(&bh_stop)) {
        int n;
        for (unsigned i = 0; i < t->n_conns; i++) {
            if (k[i].fd < 0 && bh_open(t, ep, &k[i], cap) != 0) {
                t->errors++;
                usleep(10000);
            }
        }
        n = epoll_wait(ep, evs, 64, 50);
        for (int i = 0; i < n; i++) {
            struct bh_conn *x = evs[i].data.ptr;
            int rc = x->fd >= 0 ? bh_step(t, x, cap, evs[i].events) : 0;
            if (rc != 0) {
                t->errors += rc < 0;
                bh_drop(x);
            }
        }
    }
out:
    for (unsigned i = 0; k != NULL && i < t->n_conns; i++) {
        bh_drop(&k[i]);
        free(k[i].req);
        free(k[i].resp);
    }
    free(k);
    if (ep >= 0) {
        close(ep);
    }
    return NULL;
}

/* CPU seconds (user + system) used so far by process `pid`; -1 when unreadable. */
static double bh_proc_cpu(long pid)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;
    char *p;
    unsigned long ut = 0, st = 0;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return -1;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int bh_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct bh_hash_arg {
    const struct bh_cfg *cfg;
    double until;
    uint64_t n;
    int rc;
};

static void *bh_hash_main(void *arg)
{
    struct bh_hash_arg *a = arg;
    hw_hasher *h = NULL;
    struct hw_hash_result r;

    if (hw_hasher_new(NULL, &h) != HW_OK) {
        a->rc = -1;
        return NULL;
    }
    while (bh_now() < a->until) {
        a->rc = hw_hasher_hash(h, a->cfg->image, a->cfg->image_len, 0, &r, NULL, 0);
        a->n++;
    }
    hw_hasher_free(h);
    return NULL;
}

static void bh_usage(FILE *f)
{
    fprintf(f, "usage: hashwatch bench http --url http://127.0.0.1:PORT --key KEY\n"
               "                            [--endpoint check|mlookup|healthz] [--image FILE]\n"
               "                            [--connections N] [--threads N] [--duration S]\n"
               "                            [--hash-threads N]\n"
               "                            [--known PCT] [--known-pdq HEX] [--server-pid PID]\n"
               "                            [--query 'variants=false']\n"
               "\n"
               "Loads a running hashwatchd over N keep-alive connections, each with one request\n"
               "in flight, for S seconds, and prints requests/s with p50/p90/p99 latency. The\n"
               "connections share --threads client threads (default 1) on epoll: on a small\n"
               "machine the client's CPU is taken from the server.\n"
               "  check    POST /v1/check with --image as the raw body (default endpoint)\n"
               "  mlookup  GET /m/lookup?signal_type=pdq&signal=HEX with random PDQ hashes;\n"
               "           --known PCT of them are --known-pdq (default 0)\n"
               "  healthz  GET /healthz (the HTTP layer alone)\n"
               "With --image, it then hashes the same image in this process with\n"
               "--hash-threads threads (default: online cores) for the same duration, and\n"
               "prints the offline rate and the ratio HTTP / offline. With --server-pid (the\n"
               "hashwatchd process, on this machine) it also reports the server's CPU time per\n"
               "request and the ratio of CPU costs, which a shared machine does not skew.\n");
}

int cli_bench_http(int argc, char **argv)
{
    struct bh_cfg c;
    const char *url = NULL, *image = NULL;
    unsigned hash_threads = 0, threads = 1;
    long server_pid = 0;
    double srv_cpu0 = -1, srv_cpu = -1;
    struct bh_thread *th = NULL;
    unsigned char *img = NULL;
    size_t img_len = 0;
    char eb[256];
    double t0, el;
    uint64_t ok = 0, errors = 0, matches = 0, st[6] = {0};
    size_t n_lat = 0;
    double *all = NULL;
    int rc = CLI_EXIT_FAIL;

    memset(&c, 0, sizeof(c));
    c.mode = BH_CHECK;
    c.connections = 16;
    c.duration = 10;
    c.query = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            bh_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (v == NULL) {
            cli_err("bench http: %s needs a value", a);
            return CLI_EXIT_USAGE;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "--key") == 0) {
            c.key = v;
        } else if (strcmp(a, "--endpoint") == 0) {
            if (strcmp(v, "check") == 0) {
                c.mode = BH_CHECK;
            } else if (strcmp(v, "mlookup") == 0) {
                c.mode = BH_MLOOKUP;
            } else if (strcmp(v, "healthz") == 0) {
                c.mode = BH_HEALTHZ;
            } else {
                cli_err("bench http: --endpoint check|mlookup|healthz");
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(a, "--image") == 0) {
            image = v;
        } else if (strcmp(a, "--connections") == 0) {
            c.connections = (unsigned)atoi(v);
        } else if (strcmp(a, "--duration") == 0) {
            c.duration = atof(v);
        } else if (strcmp(a, "--threads") == 0) {
            threads = (unsigned)atoi(v);
        } else if (strcmp(a, "--hash-threads") == 0) {
            hash_threads = (unsigned)atoi(v);
        } else if (strcmp(a, "--query") == 0) {
            c.query = v;
        } else if (strcmp(a, "--server-pid") == 0) {
            server_pid = atol(v);
        } else if (strcmp(a, "--known") == 0) {
            c.known_pct = atoi(v);
        } else if (strcmp(a, "--known-pdq") == 0) {
            snprintf(c.known_hex, sizeof(c.known_hex), "%s", v);
        } else {
            cli_err("bench http: unknown option '%s'", a);
            bh_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (url == NULL || (c.key == NULL && c.mode != BH_HEALTHZ) || c.connections == 0 ||
        c.connections > 1024 || threads == 0 || threads > c.connections || !(c.duration > 0) ||
        (c.mode == BH_CHECK && image == NULL) || (c.known_pct > 0 && strlen(c.known_hex) != 64)) {
        bh_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (c.key == NULL) {
        c.key = "";
    }
    if (sscanf(url, "http://%127[^:/]:%u", c.host, &c.port) != 2) {
        cli_err("bench http: --url must be http://IPV4:PORT");
        return CLI_EXIT_USAGE;
    }
    if (image != NULL) {
        if (cli_read_file(image, BH_MAX_IMAGE, &img, &img_len, eb, sizeof(eb)) != 0) {
            cli_err("bench http: %s: %s", image, eb);
            return CLI_EXIT_FAIL;
        }
        c.image = img;
        c.image_len = img_len;
    }
    th = calloc(threads, sizeof(*th));
    if (th == NULL) {
        goto out;
    }
    atomic_store(&bh_stop, 0);
    for (unsigned i = 0; i < threads; i++) {
        th[i].cfg = &c;
        th[i].n_conns = c.connections / threads + (i < c.connections % threads);
        th[i].lat = malloc(BH_LAT_CAP * sizeof(double));
        if (th[i].lat == NULL || getrandom(&th[i].rng, sizeof(th[i].rng), 0) != 8) {
            goto out;
        }
        th[i].rng |= 1;
    }
    if (server_pid > 0) {
        srv_cpu0 = bh_proc_cpu(server_pid);
    }
    t0 = bh_now();
    for (unsigned i = 0; i < threads; i++) {
        pthread_create(&th[i].t, NULL, bh_main, &th[i]);
    }
    while (bh_now() - t0 < c.duration) {
        usleep(20000);
    }
    atomic_store(&bh_stop, 1);
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i].t, NULL);
    }
    el = bh_now() - t0;
    if (server_pid > 0 && srv_cpu0 >= 0) {
        double now_cpu = bh_proc_cpu(server_pid);
        srv_cpu = now_cpu >= 0 ? now_cpu - srv_cpu0 : -1;
    }
    for (unsigned i = 0; i < threads; i++) {
        ok += th[i].ok;
        errors += th[i].errors;
        matches += th[i].matches;
        n_lat += th[i].n_lat;
        for (int k = 0; k < 6; k++) {
            st[k] += th[i].status[k];
        }
    }
    all = malloc((n_lat ? n_lat : 1) * sizeof(double));
    if (all == NULL) {
        goto out;
    }
    n_lat = 0;
    for (unsigned i = 0; i < threads; i++) {
        memcpy(all + n_lat, th[i].lat, th[i].n_lat * sizeof(double));
        n_lat += th[i].n_lat;
    }
    qsort(all, n_lat, sizeof(double), bh_cmp);
    printf("endpoint     %s\n", c.mode == BH_CHECK     ? "POST /v1/check"
                                : c.mode == BH_MLOOKUP ? "GET /m/lookup (pdq)"
                                                       : "GET /healthz");
    if (image != NULL) {
        printf("image        %s (%zu bytes)\n", image, img_len);
    }
    printf("connections  %u on %u client thread%s, %.1f s\n", c.connections, threads,
           threads == 1 ? "" : "s", el);
    printf("responses    %" PRIu64 " (2xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64
           "), transport errors %" PRIu64 ", matches %" PRIu64 "\n",
           st[1] + st[2] + st[3] + st[4] + st[5] + st[0], st[2], st[4], st[5], errors, matches);
    printf("throughput   %.1f requests/s (200 OK: %.1f/s)\n", (double)n_lat / el, (double)ok / el);
    if (n_lat > 0) {
        printf("latency      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n",
               all[n_lat / 2] * 1e3, all[(size_t)((double)n_lat * 0.90)] * 1e3,
               all[(size_t)((double)n_lat * 0.99)] * 1e3, all[n_lat - 1] * 1e3);
    }
    if (srv_cpu >= 0 && n_lat > 0) {
        printf("server CPU   %.1f us per request (%.2f CPU s for %zu requests)\n",
               srv_cpu / (double)n_lat * 1e6, srv_cpu, n_lat);
    }
    if (image != NULL) {
        unsigned n = hash_threads ? hash_threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
        struct bh_hash_arg *ha = calloc(n, sizeof(*ha));
        pthread_t *ht = calloc(n, sizeof(*ht));
        uint64_t total = 0;
        struct timespec c0, c1;
        double h0, hel, hcpu;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        h0 = bh_now();
        if (ha == NULL || ht == NULL) {
            free(ha);
            free(ht);
            goto out;
        }
        for (unsigned i = 0; i < n; i++) {
            ha[i].cfg = &c;
            ha[i].until = h0 + c.duration;
            pthread_create(&ht[i], NULL, bh_hash_main, &ha[i]);
        }
        for (unsigned i = 0; i < n; i++) {
            pthread_join(ht[i], NULL);
            total += ha[i].n;
        }
        hel = bh_now() - h0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        hcpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        printf("offline      %.1f images/s hashing the same image in this process, %u threads "
               "(hw_hasher_hash, result %s)\n",
               (double)total / hel, n, hw_errname(ha[0].rc));
        if (c.mode == BH_CHECK && total > 0) {
            printf("ratio        HTTP /v1/check 200s / offline = %.2f (wall clock)\n",
                   ((double)ok / el) / ((double)total / hel));
        }
        if (total > 0) {
            printf("offline CPU  %.1f us per image\n", hcpu / (double)total * 1e6);
        }
        if (c.mode == BH_CHECK && total > 0 && srv_cpu > 0 && ok > 0) {
            /* CPU time does not depend on what else the machine runs: the share of its
             * cores' offline hashing rate the server reaches when it has the cores to itself. */
            printf("ratio (CPU)  offline CPU per image / server CPU per check = %.2f\n",
                   (hcpu / (double)total) / (srv_cpu / (double)n_lat));
        }
        free(ha);
        free(ht);
    }
    rc = CLI_EXIT_OK;
out:
    if (th != NULL) {
        for (unsigned i = 0; i < threads; i++) {
            free(th[i].lat);
        }
    }
    free(th);
    free(all);
    free(img);
    return rc;
}
