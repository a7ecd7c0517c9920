/*
 * durable.c — orders wait for the state that names them
 * (durable.h).
 */
#include "venue/durable.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef enum d_kind { D_SUBMIT = 0, D_CANCEL, D_MARGIN } d_kind;

typedef struct d_call {
    struct d_call *next;
    d_kind kind;
    s6_order order;                      /* submit */
    s6_margin_order margin;              /* margin add */
    char intent_id[S6_INTENT_ID_MAX + 1];/* cancel */
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    s6_route_done done;
    void *cb_ud;
} d_call;

struct s6_durable_router {
    uv_timer_t timer;
    s6_router inner;
    s6_state_edge state;
    s6_log *log;
    d_call *head, **tail;      /* waiting for the next barrier */
    struct d_batch *out;       /* batches whose barrier is out */
    unsigned refs;             /* the timer handle + barriers out */
    bool armed;                /* the timer will ask for a barrier */
    bool closing;
};

typedef struct d_batch {
    s6_durable_router *d;
    d_call *calls;             /* in order; NULL once close failed them */
    struct d_batch *next;      /* in d->out */
} d_batch;

static void unref(s6_durable_router *d)
{
    if (--d->refs == 0)
        free(d);
}

static void fail_all(d_call *c, const char *why)
{
    while (c != NULL) {
        d_call *next = c->next;
        const char *id = c->kind == D_CANCEL   ? c->intent_id
                         : c->kind == D_MARGIN ? c->margin.intent_id
                                               : c->order.intent_id;
        c->done(c->cb_ud, id, S6_ROUTE_FAILED, why);
        free(c);
        c = next;
    }
}

/* To the real router in order; one it refuses ends failed at once (the
 * engine's retry takes it from there). */
static void send_all(s6_durable_router *d, d_call *c)
{
    while (c != NULL) {
        d_call *next = c->next;
        int rc = c->kind == D_CANCEL
            ? d->inner.cancel(d->inner.ud, c->intent_id, c->symbol,
                              c->market, c->done, c->cb_ud)
            : c->kind == D_MARGIN
            ? d->inner.add_margin(d->inner.ud, &c->margin, c->done, c->cb_ud)
            : d->inner.submit(d->inner.ud, &c->order, c->done, c->cb_ud);
        if (rc != 0) {
            c->next = NULL;
            fail_all(c, "router refused the call");
        } else {
            free(c);
        }
        c = next;
    }
}

static void unlink_batch(s6_durable_router *d, d_batch *b)
{
    d_batch **pp = &d->out;
    while (*pp != NULL && *pp != b)
        pp = &(*pp)->next;
    if (*pp == b)
        *pp = b->next;
}

static void on_durable(void *ud, bool ok)
{
    d_batch *b = ud;
    s6_durable_router *d = b->d;
    unlink_batch(d, b);
    if (d->closing) {
        fail_all(b->calls, "stopping"); /* NULL: close failed them */
    } else if (!ok) {
        s6_log_warn(d->log, "orders", "state not confirmed durable: the "
                    "waiting orders are retried later with their keys");
        fail_all(b->calls, "state not durable");
    } else {
        send_all(d, b->calls);
    }
    free(b);
    unref(d);
}

static void on_timer(uv_timer_t *t)
{
    s6_durable_router *d = t->data;
    d->armed = false;
    if (d->head == NULL)
        return;
    d_batch *b = malloc(sizeof *b);
    if (b == NULL) {
        d_call *c = d->head;
        d->head = NULL;
        d->tail = &d->head;
        fail_all(c, "out of memory");
        return;
    }
    *b = (d_batch){ d, d->head, d->out };
    d->out = b;
    d->head = NULL;
    d->tail = &d->head;
    d->refs++;
    if (d->state.barrier(d->state.ud, on_durable, b) != 0)
        on_durable(b, false);
}

static int enqueue(s6_durable_router *d, d_call *c)
{
    if (d->closing) {
        free(c);
        return -ESHUTDOWN;
    }
    *d->tail = c;
    d->tail = &c->next;
    if (!d->armed) {
        d->armed = true;
        uv_timer_start(&d->timer, on_timer, 0, 0);
    }
    return 0;
}

static int d_submit(void *ud, const s6_order *o, s6_route_done done,
                    void *cb_ud)
{
    d_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->order = *o;
    c->done = done;
    c->cb_ud = cb_ud;
    return enqueue(ud, c);
}

static int d_cancel(void *ud, const char *intent_id, const char *symbol,
                    int market, s6_route_done done, void *cb_ud)
{
    d_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->kind = D_CANCEL;
    snprintf(c->intent_id, sizeof c->intent_id, "%s", intent_id);
    snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
    c->market = market;
    c->done = done;
    c->cb_ud = cb_ud;
    return enqueue(ud, c);
}

static int d_add_margin(void *ud, const s6_margin_order *m,
                        s6_route_done done, void *cb_ud)
{
    d_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->kind = D_MARGIN;
    c->margin = *m;
    c->done = done;
    c->cb_ud = cb_ud;
    return enqueue(ud, c);
}

int s6_durable_router_new(uv_loop_t *loop, const s6_router *inner,
                          const s6_state_edge *state, s6_log *log,
                          s6_durable_router **out)
{
    if (inner->submit == NULL || inner->cancel == NULL ||
        state->barrier == NULL)
        return -EINVAL;
    s6_durable_router *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -ENOMEM;
    d->inner = *inner;
    d->state = *state;
    d->log = log;
    d->tail = &d->head;
    d->refs = 1;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    *out = d;
    return 0;
}

s6_router s6_durable_router_edge(s6_durable_router *d)
{
    return (s6_router){ .submit = d_submit, .cancel = d_cancel,
                        .add_margin = d->inner.add_margin != NULL
                                          ? d_add_margin : NULL,
                        .ud = d };
}

static void on_closed(uv_handle_t *h)
{
    unref(h->data);
}

void s6_durable_router_close(s6_durable_router *d)
{
    if (d == NULL || d->closing)
        return;
    d->closing = true;
    d_call *c = d->head;
    d->head = NULL;
    d->tail = &d->head;
    /* The batches whose barrier is out end now too, so nothing is called
     * after close returns: the caller may free what asked (the service
     * frees its engine when the lease is lost). */
    for (d_batch *b = d->out; b != NULL; b = b->next) {
        fail_all(b->calls, "stopping");
        b->calls = NULL;
    }
    fail_all(c, "stopping");
    uv_close((uv_handle_t *)&d->timer, on_closed);
}
