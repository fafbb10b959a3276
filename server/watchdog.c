/* watchdog.c: ends connections that dribble: headers that never finish, or a request that
 * outlives its deadline while its client trickles bytes (libmicrohttpd's own timeout only
 * measures inactivity, so one byte per second would keep a connection forever). */
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "srv_int.h"

struct srv_conn {
    struct srv_conn *prev, *next;
    MHD_socket fd;
    uint64_t phase_start_ns; /* connection start, or the end of its previous request */
    int in_request;
    int cut;
};

struct srv_watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct srv_conn *head;
    pthread_t t;
    int running, stop;
    uint64_t header_limit_ns;  /* from phase start to complete headers */
    uint64_t request_limit_ns; /* from complete headers to the end of the answer */
    atomic_ulong cuts;
};

static void *wd_main(void *arg)
{
    struct srv_watchdog *w = arg;

    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        uint64_t now;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        if (w->stop) {
            break;
        }
        now = srv_now_ns();
        for (struct srv_conn *c = w->head; c != NULL; c = c->next) {
            uint64_t limit = c->in_request ? w->request_limit_ns : w->header_limit_ns;
            if (!c->cut && now - c->phase_start_ns > limit) {
                /* The fd stays valid: MHD only closes it after NOTIFY_CLOSED, which needs
                 * this mutex. shutdown() makes MHD see the connection as dead. */
                shutdown(c->fd, SHUT_RDWR);
                c->cut = 1;
                atomic_fetch_add(&w->cuts, 1);
            }
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int srv_watchdog_new(unsigned timeout_s, unsigned deadline_s, struct srv_watchdog **out)
{
    struct srv_watchdog *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL) {
        return -1;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    /* An idle keep-alive connection is closed by MHD after timeout_s; headers get the
     * deadline on top of that. A request (queue wait included) gets twice the deadline. */
    w->header_limit_ns = ((uint64_t)timeout_s + deadline_s) * 1000000000ull;
    w->request_limit_ns = ((uint64_t)2 * deadline_s + timeout_s) * 1000000000ull;
    if (pthread_create(&w->t, NULL, wd_main, w) != 0) {
        free(w);
        return -1;
    }
    w->running = 1;
    *out = w;
    return 0;
}

void srv_watchdog_free(struct srv_watchdog *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->running) {
        pthread_join(w->t, NULL);
    }
    /* Records left over belong to connections MHD has already closed without notifying
     * (it always notifies; this is only defensive). */
    while (w->head != NULL) {
        struct srv_conn *c = w->head;
        w->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

unsigned long srv_watchdog_cuts(struct srv_watchdog *w)
{
    return w != NULL ? atomic_load(&w->cuts) : 0;
}

void srv_watchdog_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
    struct srv *s = cls;
    struct srv_watchdog *w = s->watchdog;

    if (w == NULL) {
        return;
    }
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct srv_conn *c = calloc(1, sizeof(*c));
        *socket_context = c;
        if (c == NULL || ci == NULL) {
            free(c);
            *socket_context = NULL;
            return;
        }
        c->fd = ci->connect_fd;
        c->phase_start_ns = srv_now_ns();
        pthread_mutex_lock(&w->mu);
        c->next = w->head;
        if (w->head != NULL) {
            w->head->prev = c;
        }
        w->head = c;
        pthread_mutex_unlock(&w->mu);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct srv_conn *c = *socket_context;
        if (c == NULL) {
            return;
        }
        pthread_mutex_lock(&w->mu);
        if (c->prev != NULL) {
            c->prev->next = c->next;
        } else {
            w->head = c->next;
        }
        if (c->next != NULL) {
            c->next->prev = c->prev;
        }
        pthread_mutex_unlock(&w->mu);
        free(c);
        *socket_context = NULL;
    }
}

static struct srv_conn *wd_conn(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

void srv_watchdog_request(struct srv *s, struct MHD_Connection *conn, int begin)
{
    struct srv_conn *c;

    if (s->watchdog == NULL || (c = wd_conn(conn)) == NULL) {
        return;
    }
    pthread_mutex_lock(&s->watchdog->mu);
    c->in_request = begin;
    c->phase_start_ns = srv_now_ns();
    pthread_mutex_unlock(&s->watchdog->mu);
}
