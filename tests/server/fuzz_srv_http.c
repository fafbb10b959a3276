/* fuzz_srv_http.c: request bodies and raw requests against a real in-process hashwatchd.
 * First byte picks: 0 = the rest is a /v1/lookup JSON body, 1 = a multipart /v1/check body,
 * 2 = the rest is a whole raw HTTP request. The server must answer bodies with a client error
 * or success (never 5xx, never silence) and stay up after any raw request. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct srv *g_srv;
static hw_store *g_store;
static char g_dir[64];
static char g_key[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    srv_stop(g_srv, 5);
    hw_store_close(g_store);
    nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    struct srv_config c;
    char err[256];

    snprintf(g_dir, sizeof(g_dir), "/tmp/hw-fuzzhttp-XXXXXX");
    if (mkdtemp(g_dir) == NULL || hw_store_open(g_dir, 0, &g_store, err, sizeof(err)) != HW_OK ||
        srv_demo_setup(g_store, g_key, sizeof(g_key), err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_srv_http: set-up failed: %s\n", err);
        abort();
    }
    srv_config_default(&c);
    snprintf(c.listen, sizeof(c.listen), "127.0.0.1:0");
    snprintf(c.store, sizeof(c.store), "%s", g_dir);
    snprintf(c.log, sizeof(c.log), "/dev/null");
    c.workers = 1;
    c.http_threads = 1;
    c.max_body = 1 << 20;
    if (srv_start(&c, g_store, &g_srv, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_srv_http: start failed: %s\n", err);
        abort();
    }
    atexit(teardown);
}

/*
 * Send a whole request and read the answer until the server closes or `wait_s` passes; returns
 * the status or 0. The client never half-closes: libmicrohttpd 0.9.75 takes a FIN that arrives
 * with the request as the end of the connection and may drop the answer.
 */
static int roundtrip(const void *req, size_t len, int wait_s)
{
    struct sockaddr_in a;
    struct timeval tv = {wait_s, 0};
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;

    if (fd < 0) {
        abort();
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv_port(g_srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        abort(); /* the server is gone */
    }
    for (size_t off = 0; off < len; off += (size_t)n) {
        n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            break; /* the server may refuse early (413) and close */
        }
    }
    while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    if (got > 12 && strncmp(buf, "HTTP/1.", 7) == 0) {
        status = atoi(buf + 9);
    }
    return status;
}

static int post(const char *path, const char *ctype, const uint8_t *body, size_t len)
{
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      path, g_key, ctype, len);
    char *req = malloc((size_t)hl + len);
    int status;

    if (req == NULL) {
        return -1;
    }
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, body, len);
    status = roundtrip(req, (size_t)hl + len, 10);
    free(req);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int status;

    if (g_srv == NULL) {
        setup();
    }
    if (size < 1 || size > (1 << 20)) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        status = post("/v1/lookup", "application/json", data + 1, size - 1);
        break;
    case 1:
        status = post("/v1/check", "multipart/form-data; boundary=XyZ", data + 1, size - 1);
        break;
    default:
        /* A raw request may be incomplete or keep the connection open: do not wait long. */
        roundtrip(data + 1, size - 1, 1);
        status = roundtrip(health, sizeof(health) - 1, 10); /* still alive and answering */
        if (status != 200) {
            fprintf(stderr, "fuzz_srv_http: /healthz answered %d after a raw request\n", status);
            abort();
        }
        return 0;
    }
    /* A body is the client's: success or a 4xx, never a server error and never silence. */
    if (status < 200 || status >= 500) {
        fprintf(stderr, "fuzz_srv_http: answered %d to a %zu-byte %s body\n", status, size - 1,
                data[0] % 3 == 0 ? "lookup" : "check");
        abort();
    }
    return 0;
}
