/* router.c — orders and cancels to S4 over HTTP: the queue, the rate
 * limits, dispatch and outcomes (router.h); the bodies and answers are
 * wire.c's. */
#include "venue/s4/router.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "venue/s4/internal.h"
#include "venue/s4/rate.h"
#include "venue/s4/wire.h"

#define COMP "s4"

enum { OP_ORDER = 0, OP_CANCEL, OP_MARGIN, OP_COUNT };

/* Per operation: the path and the metric endpoint label. */
static const struct {
    const char *path, *endpoint;
} OPS[OP_COUNT] = {
    [OP_ORDER] = { "/orders", "orders" },
    [OP_CANCEL] = { "/cancel", "cancel" },
    [OP_MARGIN] = { "/positions/margin", "margin" },
};

static const char *const OUTCOMES[S6_ROUTE_OUTCOME_COUNT] = {
    [S6_ROUTE_OK] = "ok", [S6_ROUTE_REJECTED] = "rejected",
    [S6_ROUTE_FAILED] = "failed",
};

/* One rate bucket per (market, symbol), found through r->sym_ix. */
typedef struct s6_s4_sym_rate {
    int market;
    char symbol[S6_SYMBOL_MAX + 1];
    s6_rate bucket;
} sym_rate;

typedef struct s6_s4_job {
    struct s6_s4_job *prev, *next; /* the queue, or the deferred list */
    s6_s4_call call;         /* while in flight */
    s6_s4_router *r;
    int op;
    bool priority;
    size_t sym;              /* index into r->syms */
    char intent_id[S6_INTENT_ID_MAX + 1];
    char pos_id[S6_POS_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    char *body;
    int outcome;             /* deferred: the outcome to deliver */
    bool withdrawn;          /* a cancel came while it was being sent */
    char detail[160];
    s6_route_done done;
    void *cb_ud;
} job;

typedef s6_s4_job_list job_list;

static void dispatch(s6_s4_router *r);

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

/* A job list counts its orders by intent, so that a cancel
 * finds its order, and a held cancel its answer, without walking the
 * thousands of requests of a burst.  When a count cannot be stored the
 * list is walked from then on: slower, never wrong. */
static void count_order(job_list *l, const job *j, int delta)
{
    if (!l->indexed || l->lost || j->op != OP_ORDER)
        return;
    int n = s6_index_get(&l->orders, j->intent_id);
    n = (n < 0 ? 0 : n) + delta;
    if (n <= 0)
        s6_index_del(&l->orders, j->intent_id);
    else if (s6_index_put(&l->orders, j->intent_id, n) != 0)
        l->lost = true;
}

static void list_push(job_list *l, job *j)
{
    count_order(l, j, +1);
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static void list_remove(job_list *l, job *j)
{
    count_order(l, j, -1);
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

static double now_s(const s6_s4_router *r)
{
    return r->clock ? r->clock(r->clock_ud) : (double)uv_now(r->loop) / 1000.0;
}

static void note_queue(s6_s4_router *r)
{
    if (r->queued)
        s6_gauge_set(r->queued, (double)r->queue.n);
}

static void job_free(job *j)
{
    free(j->body);
    free(j);
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                           */

static void log_outcome(s6_s4_router *r, const job *j,
                        const s6_httpc_result *res, int outcome,
                        const char *detail)
{
    s6_log_level lvl = outcome == S6_ROUTE_OK ? S6_LOG_DEBUG
                       : outcome == S6_ROUTE_REJECTED ? S6_LOG_WARN
                                                      : S6_LOG_ERROR;
    s6_log_field f[] = {
        S6_LOG_STR("intent_id", j->intent_id),
        S6_LOG_STR("pos_id", j->pos_id),
        S6_LOG_STR("symbol", j->symbol),
        S6_LOG_STR("market", s6_s4_market_name(j->market)),
        S6_LOG_STR("endpoint", OPS[j->op].endpoint),
        S6_LOG_INT("status", res ? res->status : 0),
        S6_LOG_STR("error", res ? s6_httpc_err_name(res->err) : "none"),
        S6_LOG_INT("attempts", res ? (long long)res->attempts : 0),
        S6_LOG_STR("outcome", OUTCOMES[outcome]),
        S6_LOG_STR("detail", detail),
    };
    s6_log_write(r->log, lvl, COMP,
                 outcome == S6_ROUTE_OK ? "s4 answered" : "s4 error", f,
                 sizeof f / sizeof f[0]);
}

static void count(s6_s4_router *r, int outcome)
{
    unsigned long *c[S6_ROUTE_OUTCOME_COUNT] = {
        [S6_ROUTE_OK] = &r->stats.ok, [S6_ROUTE_REJECTED] = &r->stats.rejected,
        [S6_ROUTE_FAILED] = &r->stats.failed,
    };
    (*c[outcome])++;
}

/* The job leaves the router here: done runs last, so it may submit anew. */
static void finish(s6_s4_router *r, job *j, const s6_httpc_result *res,
                   int outcome, const char *detail)
{
    if (outcome != S6_ROUTE_OK || s6_log_enabled(r->log, S6_LOG_DEBUG))
        log_outcome(r, j, res, outcome, detail);
    count(r, outcome);
    s6_route_done done = j->done;
    void *ud = j->cb_ud;
    char intent[sizeof j->intent_id];
    memcpy(intent, j->intent_id, sizeof intent);
    char why[sizeof j->detail];
    snprintf(why, sizeof why, "%s", detail);
    job_free(j);
    done(ud, intent, outcome, why);
}

static void on_answer(const s6_httpc_result *res, void *ud)
{
    job *j = ud;
    s6_s4_router *r = j->r;
    s6_s4_call_untrack(r, &j->call);
    list_remove(&r->sending, j);
    const char *kind;
    char detail[sizeof j->detail];
    int outcome = s6_s4_answer_outcome(
        res, j->op != OP_CANCEL ? j->intent_id : NULL, &kind, detail,
        sizeof detail);
    s6_s4_call_observe(r, &j->call, OPS[j->op].endpoint, kind);
    finish(r, j, res, outcome, detail);
    if (!r->closing && r->queue.head)
        dispatch(r); /* a cancel held behind this order may go now */
}

static void on_defer(uv_timer_t *t)
{
    s6_s4_router *r = t->data;
    /* Only what is there now: a done that defers again waits a turn. */
    size_t n = r->deferred.n;
    while (n-- > 0 && r->deferred.head) {
        job *j = r->deferred.head;
        list_remove(&r->deferred, j);
        finish(r, j, NULL, j->outcome, j->detail);
    }
}

/* An outcome decided inside submit or cancel is delivered from the loop. */
static void defer(s6_s4_router *r, job *j, int outcome, const char *detail)
{
    j->outcome = outcome;
    snprintf(j->detail, sizeof j->detail, "%s", detail);
    list_push(&r->deferred, j);
    uv_timer_start(&r->defer_timer, on_defer, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Sending and the queue                                              */

static void send_job(s6_s4_router *r, job *j)
{
    char url[1100], idem[64 + S6_INTENT_ID_MAX];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", j->intent_id);
    const char *headers[] = { idem };
    s6_httpc_opts o = {
        .method = "POST", .url = url, .headers = headers, .n_headers = 1,
        .body = j->body, .body_len = strlen(j->body),
    };
    s6_s4_router_opts(r, j->intent_id, &o);
    r->stats.sent++;
    uint64_t id = 0;
    int rc = s6_s4_router_url(r, OPS[j->op].path, url, sizeof url);
    if (rc == 0)
        rc = s6_httpc_request(r->httpc, &o, on_answer, j, &id);
    if (rc < 0) {
        char why[96];
        snprintf(why, sizeof why, "not sent: %s", s6_strerror(rc));
        defer(r, j, S6_ROUTE_FAILED, why);
        return;
    }
    s6_s4_call_track(r, &j->call, id);
    list_push(&r->sending, j);
}

static job *walk_orders(const job_list *l, const char *intent)
{
    for (job *j = l->head; j; j = j->next)
        if (j->op == OP_ORDER && strcmp(j->intent_id, intent) == 0)
            return j;
    return NULL;
}

static bool has_order(const job_list *l, const char *intent)
{
    if (l->lost)
        return walk_orders(l, intent) != NULL;
    return s6_index_get(&l->orders, intent) > 0;
}

/* The first order of l with this intent: walked only when there is one. */
static job *find_order(const job_list *l, const char *intent)
{
    return has_order(l, intent) ? walk_orders(l, intent) : NULL;
}

/* An order cancelled while it is being sent (or waits between its
 * retries) is not tried again: a retry landing after the cancel would
 * place an order nobody tracks (an add-on of a closed position).  The
 * request is ended from the loop, never inside the engine's cancel call;
 * the cancel, held behind it, goes next. */
static void on_withdraw(uv_timer_t *t)
{
    s6_s4_router *r = t->data;
    for (bool again = true; again;) {
        again = false;
        for (job *j = r->sending.head; j; j = j->next)
            if (j->op == OP_ORDER && j->withdrawn) {
                if (s6_httpc_cancel(r->httpc, j->call.id) == 0)
                    again = true; /* j is gone: start over */
                else
                    j->withdrawn = false;
                break;
            }
    }
}

/* A cancel must not overtake its own order: S4 would answer "unknown
 * order" and the order would land afterwards, uncancelled. */
static bool held(const s6_s4_router *r, const job *j)
{
    return j->op == OP_CANCEL && has_order(&r->sending, j->intent_id);
}

/* The first queued job whose symbol has a token: protective ones first. */
static job *next_ready(s6_s4_router *r, double now)
{
    for (int pass = 0; pass < 2; pass++)
        for (job *j = r->queue.head; j; j = j->next)
            if (j->priority == (pass == 0) && !held(r, j) &&
                s6_rate_ready(&r->syms[j->sym].bucket, now))
                return j;
    return NULL;
}

/* Until a token for a job that is not held; INFINITY when all are held
 * (the answer they wait for dispatches again). */
static double min_wait(s6_s4_router *r, double now)
{
    double w = INFINITY;
    for (job *j = r->queue.head; j; j = j->next)
        if (!held(r, j))
            w = fmin(w, s6_rate_wait(&r->syms[j->sym].bucket, now));
    return fmax(w, s6_rate_wait(&r->total, now));
}

static void on_rate_timer(uv_timer_t *t);

static void dispatch(s6_s4_router *r)
{
    double now = now_s(r);
    while (r->queue.head && s6_rate_ready(&r->total, now)) {
        job *j = next_ready(r, now);
        if (!j)
            break;
        list_remove(&r->queue, j);
        s6_rate_take(&r->total, now);
        s6_rate_take(&r->syms[j->sym].bucket, now);
        send_job(r, j);
    }
    note_queue(r);
    double wait = r->queue.head ? min_wait(r, now) : INFINITY;
    if (isinf(wait))
        return;
    /* Round up to a whole millisecond past the token, never 0: the timer
     * must not spin on a bucket a hair short. */
    uint64_t ms = (uint64_t)ceil(wait * 1000.0) + 1;
    uv_timer_start(&r->rate_timer, on_rate_timer, ms, 0);
}

static void on_rate_timer(uv_timer_t *t) { dispatch(t->data); }

static double burst_of(double rate) { return fmax(1.0, rate); }

static int sym_index(s6_s4_router *r, const char *symbol, int market,
                     size_t *out)
{
    char key[S6_INDEX_KEY_MAX];
    snprintf(key, sizeof key, "%d:%s", market, symbol);
    int found = s6_index_get(&r->sym_ix, key);
    if (found >= 0) {
        *out = (size_t)found;
        return 0;
    }
    if (r->n_syms == r->cap_syms) {
        size_t cap = r->cap_syms ? 2 * r->cap_syms : 8;
        sym_rate *v = realloc(r->syms, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        r->syms = v;
        r->cap_syms = cap;
    }
    sym_rate *s = &r->syms[r->n_syms];
    s->market = market;
    snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    double rate = r->cfg->orders.rate_per_symbol_per_s;
    int rc = s6_rate_init(&s->bucket, rate, burst_of(rate), now_s(r));
    if (rc == 0)
        rc = s6_index_put(&r->sym_ix, key, (int)r->n_syms);
    if (rc < 0)
        return rc;
    *out = r->n_syms++;
    return 0;
}

static int enqueue(s6_s4_router *r, job *j)
{
    int rc = sym_index(r, j->symbol, j->market, &j->sym);
    if (rc < 0) {
        job_free(j);
        return rc;
    }
    list_push(&r->queue, j);
    dispatch(r);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The edge                                                           */

static int refuse(s6_s4_router *r, const char *op, const char *intent,
                  const char *field)
{
    s6_log_warn(r->log, COMP, "refused", S6_LOG_STR("op", op),
                S6_LOG_STR("intent_id", intent), S6_LOG_STR("field", field));
    return -EINVAL;
}

static job *job_new(s6_s4_router *r, int op, const char *intent,
                    const char *symbol, int market, s6_route_done done,
                    void *cb_ud)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->r = r;
    j->op = op;
    snprintf(j->intent_id, sizeof j->intent_id, "%s", intent);
    snprintf(j->symbol, sizeof j->symbol, "%s", symbol);
    j->market = market;
    j->done = done;
    j->cb_ud = cb_ud;
    return j;
}

static int edge_submit(void *ud, const s6_order *o, s6_route_done done,
                       void *cb_ud)
{
    s6_s4_router *r = ud;
    if (r->closing)
        return -ESHUTDOWN;
    if (!o || !done)
        return -EINVAL;
    const char *bad = s6_s4_order_bad_field(o);
    if (bad)
        return refuse(r, "submit", o->intent_id, bad);
    job *j = job_new(r, OP_ORDER, o->intent_id, o->symbol, o->market, done,
                     cb_ud);
    if (!j)
        return -ENOMEM;
    snprintf(j->pos_id, sizeof j->pos_id, "%s", o->pos_id);
    j->priority = o->purpose == S6_PURPOSE_STOP ||
                  o->purpose == S6_PURPOSE_CLOSE;
    j->body = s6_s4_order_body(o);
    if (!j->body) {
        job_free(j);
        return -ENOMEM;
    }
    return enqueue(r, j);
}

static int edge_cancel(void *ud, const char *intent_id, const char *symbol,
                       int market, s6_route_done done, void *cb_ud)
{
    s6_s4_router *r = ud;
    if (r->closing)
        return -ESHUTDOWN;
    if (!done || !intent_id || !symbol)
        return -EINVAL;
    const char *bad = s6_s4_cancel_bad_field(intent_id, symbol, market);
    if (bad)
        return refuse(r, "cancel", intent_id, bad);
    job *j = job_new(r, OP_CANCEL, intent_id, symbol, market, done, cb_ud);
    if (!j)
        return -ENOMEM;
    s6_s4_pos_of_intent(intent_id, j->pos_id, sizeof j->pos_id);
    job *sending = find_order(&r->sending, intent_id);
    if (sending && !sending->withdrawn) {
        sending->withdrawn = true;
        uv_timer_start(&r->withdraw_timer, on_withdraw, 0, 0);
    }
    job *queued = find_order(&r->queue, intent_id);
    if (queued) { /* never sent: neither request is needed */
        list_remove(&r->queue, queued);
        note_queue(r);
        defer(r, queued, S6_ROUTE_REJECTED, "canceled before it was sent");
        defer(r, j, S6_ROUTE_OK, "canceled before it was sent");
        return 0;
    }
    /* A cancel is the first or second half of a stop move: it must not
     * wait behind take-profits. */
    j->priority = true;
    j->body = s6_s4_cancel_body(intent_id, symbol, market);
    if (!j->body) {
        job_free(j);
        return -ENOMEM;
    }
    return enqueue(r, j);
}

/* Margin is protection: it goes ahead of take-profits and add-ons. */
static int edge_add_margin(void *ud, const s6_margin_order *m,
                           s6_route_done done, void *cb_ud)
{
    s6_s4_router *r = ud;
    if (r->closing)
        return -ESHUTDOWN;
    if (!m || !done)
        return -EINVAL;
    const char *bad = s6_s4_margin_bad_field(m);
    if (bad)
        return refuse(r, "add_margin", m->intent_id, bad);
    job *j = job_new(r, OP_MARGIN, m->intent_id, m->symbol, m->market, done,
                     cb_ud);
    if (!j)
        return -ENOMEM;
    snprintf(j->pos_id, sizeof j->pos_id, "%s", m->pos_id);
    j->priority = true;
    j->body = s6_s4_margin_body(m);
    if (!j->body) {
        job_free(j);
        return -ENOMEM;
    }
    return enqueue(r, j);
}

void s6_s4_router_edge(s6_s4_router *r, s6_router *out)
{
    *out = (s6_router){ .submit = edge_submit, .cancel = edge_cancel,
                        .add_margin = edge_add_margin, .ud = r };
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */

static int check_config(const s6_config *cfg, char *base, size_t cap,
                        char *err, size_t errlen)
{
    const char *url = cfg->services.s4_url;
    if (!url || (strncmp(url, "http://", 7) != 0 &&
                 strncmp(url, "https://", 8) != 0)) {
        snprintf(err, errlen, "services.s4_url: not an http(s) URL");
        return -EINVAL;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= cap) {
        snprintf(err, errlen, "services.s4_url: longer than %zu", cap - 1);
        return -EINVAL;
    }
    memcpy(base, url, n);
    base[n] = '\0';
    double rates[] = { cfg->orders.rate_per_symbol_per_s,
                       cfg->orders.rate_total_per_s };
    const char *keys[] = { "orders.rate_per_symbol_per_s",
                           "orders.rate_total_per_s" };
    for (int i = 0; i < 2; i++)
        if (!(isfinite(rates[i]) && rates[i] > 0)) {
            snprintf(err, errlen, "%s: must be > 0", keys[i]);
            return -EINVAL;
        }
    return 0;
}

int s6_s4_router_new(uv_loop_t *loop, s6_httpc *httpc, const s6_config *cfg,
                     s6_log *log, s6_metrics *metrics, s6_s4_router **out,
                     char *err, size_t errlen)
{
    if (!loop || !httpc || !cfg || !out) {
        snprintf(err, errlen, "loop, httpc, cfg and out are required");
        return -EINVAL;
    }
    s6_s4_router *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = check_config(cfg, r->base, sizeof r->base, err, errlen);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->loop = loop;
    r->httpc = httpc;
    r->cfg = cfg;
    r->log = log;
    r->metrics = metrics;
    if (metrics)
        s6_gauge_get(metrics, "s6_s4_queued_orders", 0, NULL, &r->queued);
    r->calls.next = r->calls.prev = &r->calls;
    r->queue.indexed = r->sending.indexed = true;
    r->seed = uv_hrtime();
    double rate = cfg->orders.rate_total_per_s;
    s6_rate_init(&r->total, rate, burst_of(rate), now_s(r));
    uv_timer_init(loop, &r->rate_timer);
    uv_timer_init(loop, &r->defer_timer);
    uv_timer_init(loop, &r->withdraw_timer);
    r->rate_timer.data = r->defer_timer.data = r->withdraw_timer.data = r;
    r->open_handles = 3;
    *out = r;
    return 0;
}

int s6_s4_router_reconfigure(s6_s4_router *r, const s6_config *cfg,
                             char *err, size_t errlen)
{
    char base[sizeof r->base];
    int rc = check_config(cfg, base, sizeof base, err, errlen);
    if (rc < 0)
        return rc;
    double now = now_s(r), sym = cfg->orders.rate_per_symbol_per_s,
           tot = cfg->orders.rate_total_per_s;
    s6_rate_set(&r->total, tot, burst_of(tot), now);
    for (size_t i = 0; i < r->n_syms; i++)
        s6_rate_set(&r->syms[i].bucket, sym, burst_of(sym), now);
    memcpy(r->base, base, sizeof base);
    r->cfg = cfg;
    dispatch(r);
    return 0;
}

void s6_s4_router_get_stats(const s6_s4_router *r, s6_s4_router_stats *st)
{
    *st = r->stats;
    st->queued = r->queue.n;
    st->in_flight = r->in_flight;
}

void s6_s4_router_set_seed(s6_s4_router *r, uint64_t seed) { r->seed = seed; }

void s6_s4_router_set_clock(s6_s4_router *r, double (*now)(void *ud),
                            void *ud)
{
    r->clock = now;
    r->clock_ud = ud;
    /* Times of the old clock mean nothing on the new one: start full. */
    double t = now_s(r), sym = r->cfg->orders.rate_per_symbol_per_s,
           tot = r->cfg->orders.rate_total_per_s;
    s6_rate_init(&r->total, tot, burst_of(tot), t);
    for (size_t i = 0; i < r->n_syms; i++)
        s6_rate_init(&r->syms[i].bucket, sym, burst_of(sym), t);
}

static void on_closed(uv_handle_t *h)
{
    s6_s4_router *r = h->data;
    if (--r->open_handles == 0) {
        s6_index_free(&r->sym_ix);
        s6_index_free(&r->queue.orders);
        s6_index_free(&r->sending.orders);
        free(r->syms);
        free(r);
    }
}

void s6_s4_router_free(s6_s4_router *r)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    while (r->queue.head) {
        job *j = r->queue.head;
        list_remove(&r->queue, j);
        finish(r, j, NULL, S6_ROUTE_FAILED, "router closed");
    }
    /* Each cancel runs its callback (an order's done, a fetch's) now. */
    while (r->calls.next != &r->calls)
        if (s6_httpc_cancel(r->httpc, r->calls.next->id) < 0)
            s6_s4_call_untrack(r, r->calls.next);
    while (r->deferred.head) {
        job *j = r->deferred.head;
        list_remove(&r->deferred, j);
        finish(r, j, NULL, j->outcome, j->detail);
    }
    uv_close((uv_handle_t *)&r->rate_timer, on_closed);
    uv_close((uv_handle_t *)&r->defer_timer, on_closed);
    uv_close((uv_handle_t *)&r->withdraw_timer, on_closed);
}
