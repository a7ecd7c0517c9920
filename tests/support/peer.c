/* The scriptable test peer (peer.h).  Dropping and resetting a connection
 * has no public call in the server, so this file, test code only, reaches
 * into src/http/internal.h for the exchange's connection. */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http/http.h"
#include "http/internal.h"

typedef struct route {
    struct route *next;
    s6_peer *p;
    char *method, *path;
    s6_peer_step *steps; /* strings owned, see step_copy */
    size_t n, used;
} route;

/* A request received and not yet answered. */
typedef struct pend {
    s6_peer *p;
    struct pend *prev, *next;
    s6_http_res *res;
    s6_peer_step step;  /* strings owned */
    uv_timer_t timer;
} pend;

struct s6_peer {
    uv_loop_t *loop;
    s6_http_server *srv;
    route *routes;
    pend *pends;
    size_t n_pends;
    s6_peer_rec *recs;
    size_t n_recs, cap_recs;
    int port;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void step_copy(s6_peer_step *dst, const s6_peer_step *src)
{
    *dst = *src;
    dst->body = dup_or_null(src->body);
    dst->content_type = dup_or_null(src->content_type);
    dst->header = dup_or_null(src->header);
}

static void step_free(s6_peer_step *s)
{
    free((char *)s->body);
    free((char *)s->content_type);
    free((char *)s->header);
}

/* ---- records ---- */

static void rec_free(s6_peer_rec *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->names);
    free(r->values);
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->body);
}

static int record(s6_peer *p, const s6_http_req *q)
{
    if (p->n_recs == p->cap_recs) {
        size_t cap = p->cap_recs ? p->cap_recs * 2 : 64;
        s6_peer_rec *n = realloc(p->recs, cap * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        p->recs = n;
        p->cap_recs = cap;
    }
    s6_peer_rec *r = &p->recs[p->n_recs++];
    memset(r, 0, sizeof *r);
    r->method = strdup(q->method);
    r->path = strdup(q->path);
    r->query = strdup(q->query);
    r->body = strndup(q->body, q->body_len);
    r->body_len = q->body_len;
    r->at_ms = uv_now(p->loop);
    r->names = calloc(q->n_headers + 1, sizeof *r->names);
    r->values = calloc(q->n_headers + 1, sizeof *r->values);
    if (r->names == NULL || r->values == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < q->n_headers; i++) {
        r->names[i] = strdup(q->headers[i].name);
        r->values[i] = strdup(q->headers[i].value);
        r->n_headers = i + 1;
    }
    return 0;
}

/* ---- answering ---- */

static void on_pend_closed(uv_handle_t *h)
{
    pend *d = h->data;
    step_free(&d->step);
    free(d);
}

static void abort_conn(s6_http_res *res, bool reset)
{
    s6__conn *c = res->conn;
    if (c == NULL || c->state == S6__CONN_CLOSED)
        return;
    uv_os_fd_t fd;
    if (reset && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    s6__conn_close(c);
}

/* Completes the exchange as the step says; the server then frees it. */
static void answer(s6_http_res *res, const s6_peer_step *s)
{
    if (s->action != S6_PEER_ANSWER) {
        abort_conn(res, s->action == S6_PEER_RESET);
        /* Nothing is written on a closed connection; this only frees. */
        s6_http_res_send(res, 500, NULL, NULL, 0);
        return;
    }
    const char *colon = s->header ? strchr(s->header, ':') : NULL;
    if (colon != NULL) {
        char *name = strndup(s->header, (size_t)(colon - s->header));
        const char *value = colon + 1 + strspn(colon + 1, " ");
        if (name != NULL)
            s6_http_res_header(res, name, value);
        free(name);
    }
    const char *ct = s->content_type ? s->content_type
                     : s->body        ? "application/json"
                                      : NULL;
    s6_http_res_send(res, s->status ? s->status : 200, ct, s->body,
                     s->body ? strlen(s->body) : 0);
}

static void pend_finish(pend *d, bool drop)
{
    s6_peer *p = d->p;
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        p->pends = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    p->n_pends--;
    if (drop)
        d->step.action = S6_PEER_DROP;
    answer(d->res, &d->step);
    uv_close((uv_handle_t *)&d->timer, on_pend_closed);
}

static void on_delay(uv_timer_t *t)
{
    pend_finish(t->data, false);
}

static int defer(s6_peer *p, s6_http_res *res, const s6_peer_step *s)
{
    pend *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -ENOMEM;
    d->p = p;
    d->res = res;
    step_copy(&d->step, s);
    uv_timer_init(p->loop, &d->timer);
    d->timer.data = d;
    if (s->action != S6_PEER_STALL)
        uv_timer_start(&d->timer, on_delay, s->delay_ms, 0);
    d->next = p->pends;
    if (p->pends != NULL)
        p->pends->prev = d;
    p->pends = d;
    p->n_pends++;
    return 0;
}

static void on_request(s6_http_res *res, const s6_http_req *req, void *ud)
{
    route *r = ud;
    s6_peer *p = r->p;
    if (record(p, req) < 0) {
        s6_http_res_error(res, 500, "peer", "out of memory", NULL);
        return;
    }
    const s6_peer_step *s = &r->steps[r->used < r->n ? r->used : r->n - 1];
    r->used++;
    if (s->action == S6_PEER_STALL || s->delay_ms > 0) {
        if (defer(p, res, s) < 0)
            s6_http_res_error(res, 500, "peer", "out of memory", NULL);
        return;
    }
    answer(res, s);
}

/* ---- setup ---- */

int s6_peer_new(s6_peer **out, uv_loop_t *loop)
{
    s6_peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->loop = loop;
    s6_http_limits lim = s6_http_limits_default();
    lim.drain_timeout_ms = 200; /* stalled exchanges are dropped first */
    lim.linger_ms = 200;
    int rc = s6_http_server_new(&p->srv, loop, &lim, NULL);
    if (rc == 0)
        rc = s6_http_listen(p->srv, "127.0.0.1", 0);
    if (rc < 0) {
        if (p->srv != NULL)
            s6_http_server_free(p->srv);
        free(p);
        return rc;
    }
    p->port = s6_http_port(p->srv);
    *out = p;
    return 0;
}

static route *route_find(s6_peer *p, const char *method, const char *path)
{
    for (route *r = p->routes; r != NULL; r = r->next)
        if (strcmp(r->method, method) == 0 && strcmp(r->path, path) == 0)
            return r;
    return NULL;
}

static route *route_add(s6_peer *p, const char *method, const char *path)
{
    route *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->p = p;
    r->method = strdup(method);
    r->path = strdup(path);
    if (r->method == NULL || r->path == NULL ||
        s6_http_route(p->srv, method, path, on_request, r) < 0) {
        free(r->method);
        free(r->path);
        free(r);
        return NULL;
    }
    r->next = p->routes;
    p->routes = r;
    return r;
}

static void route_steps_free(route *r)
{
    for (size_t i = 0; i < r->n; i++)
        step_free(&r->steps[i]);
    free(r->steps);
    r->steps = NULL;
    r->n = r->used = 0;
}

int s6_peer_script(s6_peer *p, const char *method, const char *path,
                   const s6_peer_step *steps, size_t n)
{
    if (p == NULL || method == NULL || path == NULL || steps == NULL || n == 0)
        return -EINVAL;
    s6_peer_step *copy = calloc(n, sizeof *copy);
    if (copy == NULL)
        return -ENOMEM;
    route *r = route_find(p, method, path);
    if (r == NULL && (r = route_add(p, method, path)) == NULL) {
        free(copy);
        return -EINVAL;
    }
    route_steps_free(r);
    for (size_t i = 0; i < n; i++)
        step_copy(&copy[i], &steps[i]);
    r->steps = copy;
    r->n = n;
    return 0;
}

int s6_peer_port(const s6_peer *p)
{
    return p->port;
}

const char *s6_peer_url(const s6_peer *p, const char *path, char *buf,
                        size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", p->port, path);
    return buf;
}

size_t s6_peer_count(const s6_peer *p)
{
    return p->n_recs;
}

const s6_peer_rec *s6_peer_get(const s6_peer *p, size_t i)
{
    return i < p->n_recs ? &p->recs[i] : NULL;
}

const char *s6_peer_header(const s6_peer *p, size_t i, const char *name)
{
    const s6_peer_rec *r = s6_peer_get(p, i);
    for (size_t k = 0; r != NULL && k < r->n_headers; k++)
        if (strcasecmp(r->names[k], name) == 0)
            return r->values[k];
    return NULL;
}

size_t s6_peer_waiting(const s6_peer *p)
{
    return p->n_pends;
}

void s6_peer_clear(s6_peer *p)
{
    for (size_t i = 0; i < p->n_recs; i++)
        rec_free(&p->recs[i]);
    p->n_recs = 0;
}

static void on_srv_closed(s6_http_server *srv, void *ud)
{
    (void)srv;
    *(bool *)ud = true;
}

void s6_peer_free(s6_peer *p)
{
    if (p == NULL)
        return;
    while (p->pends != NULL)
        pend_finish(p->pends, true);
    bool closed = false;
    s6_http_shutdown(p->srv, on_srv_closed, &closed);
    while (!closed)
        uv_run(p->loop, UV_RUN_ONCE);
    s6_http_server_free(p->srv);
    while (p->routes != NULL) {
        route *r = p->routes;
        p->routes = r->next;
        route_steps_free(r);
        free(r->method);
        free(r->path);
        free(r);
    }
    s6_peer_clear(p);
    free(p->recs);
    free(p);
}
