/* pool.c: the bounded queue and the hashing worker threads, each with its own hw_hasher. */
#include <stdlib.h>

#include "srv_int.h"

struct srv_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct srv_req **q;
    unsigned cap, head, count, reserved;
    atomic_uint busy;
    int stop;
    unsigned n;
    pthread_t *threads;
    hw_hasher **hashers;
    unsigned started;
};

struct pool_arg {
    struct srv_pool *p;
    unsigned idx;
};

static void *pool_main(void *arg)
{
    struct pool_arg *a = arg;
    struct srv_pool *p = a->p;
    hw_hasher *h = p->hashers[a->idx];

    free(a);
    for (;;) {
        struct srv_req *r;

        pthread_mutex_lock(&p->mu);
        while (p->count == 0 && !p->stop) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        if (p->count == 0 && p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        r = p->q[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->reserved--;
        atomic_fetch_add(&p->busy, 1);
        pthread_mutex_unlock(&p->mu);

        r->route->fn(r, h);
        r->state = SRV_ST_DONE;
        atomic_fetch_sub(&p->busy, 1);
        /* After this call the connection may be processed (and r freed) by MHD at once. */
        MHD_resume_connection(r->conn);
    }
    return NULL;
}

int srv_pool_new(unsigned workers, unsigned queue, const struct hw_limits *lim,
                 struct srv_pool **out)
{
    struct srv_pool *p;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = queue;
    p->n = workers;
    p->q = calloc(queue, sizeof(*p->q));
    p->threads = calloc(workers, sizeof(*p->threads));
    p->hashers = calloc(workers, sizeof(*p->hashers));
    if (p->q == NULL || p->threads == NULL || p->hashers == NULL) {
        goto fail;
    }
    for (unsigned i = 0; i < workers; i++) {
        if (hw_hasher_new(lim, &p->hashers[i]) != HW_OK) {
            goto fail;
        }
    }
    for (unsigned i = 0; i < workers; i++) {
        struct pool_arg *a = malloc(sizeof(*a));
        if (a == NULL) {
            goto fail;
        }
        a->p = p;
        a->idx = i;
        if (pthread_create(&p->threads[i], NULL, pool_main, a) != 0) {
            free(a);
            goto fail;
        }
        p->started++;
    }
    *out = p;
    return 0;
fail:
    srv_pool_free(p);
    return -1;
}

int srv_pool_reserve(struct srv_pool *p)
{
    int rc = -1;

    pthread_mutex_lock(&p->mu);
    if (p->reserved < p->cap && !p->stop) {
        p->reserved++;
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void srv_pool_push(struct srv_pool *p, struct srv_req *r)
{
    pthread_mutex_lock(&p->mu);
    p->q[(p->head + p->count) % p->cap] = r;
    p->count++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

unsigned srv_pool_depth(struct srv_pool *p)
{
    unsigned d;

    pthread_mutex_lock(&p->mu);
    d = p->count;
    pthread_mutex_unlock(&p->mu);
    return d;
}

unsigned srv_pool_busy(struct srv_pool *p)
{
    return atomic_load(&p->busy);
}

void srv_pool_shutdown(struct srv_pool *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* Workers drain the queue before they exit, so every suspended request is resumed. */
    for (unsigned i = 0; i < p->started; i++) {
        pthread_join(p->threads[i], NULL);
    }
    p->started = 0;
}

void srv_pool_free(struct srv_pool *p)
{
    if (p == NULL) {
        return;
    }
    srv_pool_shutdown(p);
    if (p->hashers != NULL) {
        for (unsigned i = 0; i < p->n; i++) {
            hw_hasher_free(p->hashers[i]);
        }
    }
    free(p->hashers);
    free(p->threads);
    free(p->q);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
