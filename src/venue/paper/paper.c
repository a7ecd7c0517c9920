/*
 * paper.c — the paper router's edge: orders in, answers and results out
 * through the queue (docs/contracts/paper.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "venue/paper/internal.h"
#include "core/s6_core.h"

void s6_paper_opts_from_config(const s6_config *cfg, s6_paper_opts *o)
{
    *o = (s6_paper_opts){
        .slippage = cfg->paper.slippage_bps / 1e4,
        .latency = cfg->paper.latency_ms / 1e3,
        .partial_fills = cfg->paper.partial_fills,
        .spot_balance = cfg->paper.spot_balance,
        .fut_balance = cfg->paper.fut_balance,
    };
    snprintf(o->result_prefix, sizeof o->result_prefix, "pr");
}

int s6_paper_new(const s6_config *cfg, const s6_paper_opts *opts,
                 s6_paper **out, char *err, size_t errlen)
{
    const char *bad = cfg == NULL || opts == NULL || out == NULL ? "argument"
        : opts->clock.now == NULL       ? "clock"
        : opts->on_result == NULL       ? "on_result"
        : !(opts->slippage >= 0 && opts->slippage < 1) ? "slippage"
        : !(opts->latency >= 0 && isfinite(opts->latency)) ? "latency"
        : opts->partial_fills < 1       ? "partial_fills"
        : !(opts->spot_balance >= 0 && opts->fut_balance >= 0) ? "balance"
                                        : NULL;
    if (bad != NULL) {
        snprintf(err, errlen, "paper router: invalid %s", bad);
        return -EINVAL;
    }
    s6_paper *p = calloc(1, sizeof *p);
    if (p == NULL || (cfg->n_symbols > 0 &&
                      !(p->books = calloc(cfg->n_symbols, sizeof *p->books)))) {
        free(p);
        snprintf(err, errlen, "paper router: out of memory");
        return -ENOMEM;
    }
    p->cfg = cfg;
    p->o = *opts;
    p->n_books = cfg->n_symbols;
    for (size_t i = 0; i < cfg->n_symbols; i++)
        p->books[i].sym = &cfg->symbols[i];
    p->spot_free = opts->spot_balance;
    p->fut_free = opts->fut_balance;
    p->started = opts->clock.now(opts->clock.ud);
    *out = p;
    return 0;
}

void s6_paper_free(s6_paper *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_books; i++)
        free(p->books[i].stops);
    free(p->books);
    free(p->orders);
    s6_paper_queue_free(p);
    free(p);
}

static double now_of(const s6_paper *p)
{
    return p->o.clock.now(p->o.clock.ud);
}

/* ---- the queue's producers ---- */

static int queue_done(s6_paper *p, size_t order, s6_route_done done,
                      void *cb_ud, int outcome)
{
    s6_paper_item it = { .due = now_of(p) + p->o.latency, .kind = S6_PQ_DONE,
                         .order = order, .outcome = outcome, .done = done,
                         .cb_ud = cb_ud };
    return s6_paper_queue_push(p, &it);
}

static void result_base(s6_paper *p, const s6_paper_order *o, int kind,
                        s6_order_result *r)
{
    const s6_paper_book *b = &p->books[o->book];
    *r = (s6_order_result){ .kind = kind, .market = b->sym->market,
                            .ts = now_of(p) };
    snprintf(r->result_id, sizeof r->result_id, "%s-%llu",
             p->o.result_prefix, ++p->results);
    memcpy(r->intent_id, o->intent_id, sizeof r->intent_id);
    memcpy(r->pos_id, o->pos_id, sizeof r->pos_id);
    snprintf(r->symbol, sizeof r->symbol, "%s", b->sym->name);
}

static int queue_result(s6_paper *p, const s6_paper_order *o, int kind,
                        const char *reason, double due)
{
    s6_paper_item it = { .due = due, .kind = S6_PQ_RESULT };
    result_base(p, o, kind, &it.res);
    if (reason != NULL)
        snprintf(it.res.reason, sizeof it.res.reason, "%s", reason);
    return s6_paper_queue_push(p, &it);
}

static int queue_fill(s6_paper *p, size_t order, double due)
{
    s6_paper_item it = { .due = due, .kind = S6_PQ_FILL, .order = order };
    return s6_paper_queue_push(p, &it);
}

/* ---- orders ---- */

static int new_order(s6_paper *p, const char *intent_id, size_t *out)
{
    if (p->n_orders == p->cap_orders) {
        size_t cap = p->cap_orders ? p->cap_orders * 2 : 64;
        s6_paper_order *o = realloc(p->orders, cap * sizeof *o);
        if (o == NULL)
            return -ENOMEM;
        p->orders = o;
        p->cap_orders = cap;
    }
    size_t i = p->n_orders++;
    p->orders[i] = (s6_paper_order){ 0 };
    snprintf(p->orders[i].intent_id, sizeof p->orders[i].intent_id, "%s",
             intent_id);
    if (s6_paper_index_put(p, i) != 0) {
        p->n_orders--;
        return -ENOMEM;
    }
    *out = i;
    return 0;
}

static double leverage_of(const s6_paper_book *b, double asked)
{
    if (b->pos.side != 0)
        return b->pos.leverage;
    return asked > 0 ? asked : b->sym->leverage;
}

/* Why S4 would answer 4xx at once, or NULL.  Quantities must sit on the
 * step: S4 refuses what the exchange would. */
static const char *static_refusal(const s6_paper *p, const s6_paper_book *b,
                                  const s6_paper_order *o)
{
    double steps = o->qty / b->sym->step;
    if (!(o->qty > 0) || !isfinite(o->qty) ||
        fabs(steps - nearbyint(steps)) > 1e-6 * fmax(1, steps))
        return "invalid_quantity";
    if (o->side != 1 && o->side != -1)
        return "invalid_side";
    if (!(b->mark > 0))
        return "no_market_price";
    if (o->type == S6_ORDER_STOP_MARKET) {
        if (!(o->stop_price > 0) || !isfinite(o->stop_price))
            return "invalid_stop_price";
        /* A sell stop at or above the mark (a buy stop at or below) would
         * trigger at once: the exchange refuses it. */
        if (o->side * (o->stop_price - b->mark) <= 0)
            return "would_immediately_trigger";
        return s6_paper_book_refusal(p, b, o->side, o->reduce_only, o->qty,
                                     o->stop_price, o->leverage, NULL);
    }
    if (o->type != S6_ORDER_MARKET)
        return "invalid_type";
    return s6_paper_book_refusal(p, b, o->side, o->reduce_only, o->qty,
                                 s6_paper_fill_price(p, b, o->side),
                                 o->leverage, NULL);
}

/* Splits the quantity into the configured number of parts on the step;
 * the first part carries the remainder. */
static void plan_parts(const s6_paper *p, s6_paper_order *o, long long n)
{
    long long steps = llround(o->qty / p->books[o->book].sym->step);
    if (n > steps)
        n = steps;
    o->steps_left = steps;
    o->part_steps = steps / n;
    o->next_steps = steps - o->part_steps * (n - 1);
}

/* Takes an order: refused (answer only), resting (answer + ACCEPTED), or
 * working (answer + fills). */
static int place(s6_paper *p, size_t i, s6_route_done done, void *cb_ud)
{
    s6_paper_order *o = &p->orders[i];
    s6_paper_book *b = &p->books[o->book];
    const char *why = static_refusal(p, b, o);
    if (why != NULL) {
        o->state = S6_PO_REJECTED;
        o->outcome = S6_ROUTE_REJECTED;
        snprintf(o->detail, sizeof o->detail, "%s", why);
        return done ? queue_done(p, i, done, cb_ud, o->outcome) : 0;
    }
    o->outcome = S6_ROUTE_OK;
    double due = now_of(p) + p->o.latency;
    int rc = done ? queue_done(p, i, done, cb_ud, S6_ROUTE_OK) : 0;
    if (o->type == S6_ORDER_STOP_MARKET) {
        o->state = S6_PO_RESTING;
        snprintf(o->detail, sizeof o->detail, "NEW");
        return rc ? rc : s6_paper_book_add_stop(b, i) ? -ENOMEM
                   : queue_result(p, o, S6_RES_ACCEPTED, NULL, due);
    }
    o->state = S6_PO_WORKING;
    snprintf(o->detail, sizeof o->detail, "FILLED");
    plan_parts(p, o, p->o.partial_fills);
    return rc ? rc : queue_fill(p, i, due);
}

static int submit(void *ud, const s6_order *ord, s6_route_done done,
                  void *cb_ud)
{
    s6_paper *p = ud;
    if (ord == NULL || done == NULL || ord->intent_id[0] == '\0')
        return -EINVAL; /* no order without an idempotency key */
    long known = s6_paper_index_find(p, ord->intent_id);
    if (known >= 0) /* the same order answers again; never a second one */
        return queue_done(p, (size_t)known, done, cb_ud,
                          p->orders[known].outcome);
    long book = s6_paper_book_find(p, ord->symbol, ord->market);
    size_t i;
    if (new_order(p, ord->intent_id, &i) != 0)
        return -ENOMEM;
    s6_paper_order *o = &p->orders[i];
    snprintf(o->pos_id, sizeof o->pos_id, "%s", ord->pos_id);
    o->type = ord->type;
    o->purpose = ord->purpose;
    o->side = ord->side;
    o->reduce_only = ord->reduce_only;
    o->qty = ord->qty;
    o->stop_price = ord->stop_price;
    if (book < 0) {
        o->state = S6_PO_REJECTED;
        o->outcome = S6_ROUTE_REJECTED;
        snprintf(o->detail, sizeof o->detail, "unknown_symbol");
        return queue_done(p, i, done, cb_ud, o->outcome);
    }
    o->book = (size_t)book;
    o->leverage = leverage_of(&p->books[book], 0);
    return place(p, i, done, cb_ud);
}

static int cancel(void *ud, const char *intent_id, const char *symbol,
                  int market, s6_route_done done, void *cb_ud)
{
    (void)symbol;
    (void)market;
    s6_paper *p = ud;
    if (intent_id == NULL || done == NULL)
        return -EINVAL;
    long i = s6_paper_index_find(p, intent_id);
    if (i < 0 || (p->orders[i].state != S6_PO_RESTING &&
                  p->orders[i].state != S6_PO_WORKING)) {
        /* S4's 404 unknown_order: gone, which is what a cancel wants. */
        s6_paper_item it = { .due = now_of(p) + p->o.latency,
                             .kind = S6_PQ_DONE, .order = SIZE_MAX,
                             .outcome = S6_ROUTE_OK, .done = done,
                             .cb_ud = cb_ud };
        snprintf(it.res.intent_id, sizeof it.res.intent_id, "%s", intent_id);
        return s6_paper_queue_push(p, &it);
    }
    s6_paper_order *o = &p->orders[i];
    if (o->state == S6_PO_RESTING)
        s6_paper_book_drop_stop(&p->books[o->book], (size_t)i);
    o->state = S6_PO_CANCELED;
    int rc = queue_done(p, (size_t)i, done, cb_ud, S6_ROUTE_OK);
    return rc ? rc : queue_result(p, o, S6_RES_CANCELED, "canceled",
                                  now_of(p) + p->o.latency);
}

/* Why the venue refuses a margin add, or NULL. */
static const char *margin_refusal(const s6_paper *p, long book,
                                  const s6_margin_order *m)
{
    if (book < 0)
        return "unknown_symbol";
    if (m->market != S6_MARKET_FUT || !(m->amount > 0))
        return "invalid_field";
    if (!(p->books[book].pos.qty > 0))
        return "no_position";
    return p->fut_free < m->amount ? "insufficient_balance" : NULL;
}

/* The exchange's add-isolated-margin: the futures wallet's free balance
 * moves into the position's margin, once per intent. */
static int add_margin(void *ud, const s6_margin_order *m, s6_route_done done,
                      void *cb_ud)
{
    s6_paper *p = ud;
    if (m == NULL || done == NULL || m->intent_id[0] == '\0')
        return -EINVAL;
    long known = s6_paper_index_find(p, m->intent_id);
    if (known >= 0)
        return queue_done(p, (size_t)known, done, cb_ud,
                          p->orders[known].outcome);
    long book = s6_paper_book_find(p, m->symbol, m->market);
    size_t i;
    if (new_order(p, m->intent_id, &i) != 0)
        return -ENOMEM;
    s6_paper_order *o = &p->orders[i];
    snprintf(o->pos_id, sizeof o->pos_id, "%s", m->pos_id);
    o->book = book < 0 ? 0 : (size_t)book;
    const char *why = margin_refusal(p, book, m);
    o->state = why ? S6_PO_REJECTED : S6_PO_FILLED;
    o->outcome = why ? S6_ROUTE_REJECTED : S6_ROUTE_OK;
    snprintf(o->detail, sizeof o->detail, "%s", why ? why : "margin added");
    if (why == NULL) {
        p->fut_free -= m->amount;
        p->books[book].pos.margin += m->amount;
    }
    return queue_done(p, i, done, cb_ud, o->outcome);
}

s6_router s6_paper_router(s6_paper *p)
{
    return (s6_router){ .submit = submit, .cancel = cancel,
                        .add_margin = add_margin, .ud = p };
}

/* ---- marks, fills, the pump ---- */

long s6_paper_book_id(const s6_paper *p, const char *symbol, int market)
{
    return symbol ? s6_paper_book_find(p, symbol, market) : -1;
}

int s6_paper_set_mark_id(s6_paper *p, long book, double mark)
{
    if (book < 0 || (size_t)book >= p->n_books || !(mark > 0) ||
        !isfinite(mark))
        return -EINVAL;
    p->books[book].mark = mark;
    return 0;
}

int s6_paper_trigger_id(s6_paper *p, long book)
{
    if (book < 0 || (size_t)book >= p->n_books)
        return -EINVAL;
    s6_paper_book *b = &p->books[book];
    /* A sell stop triggers at or below its price, a buy stop at or above
     * (workingType MARK_PRICE). */
    for (size_t k = 0; k < b->n_stops;) {
        size_t i = b->stops[k];
        s6_paper_order *o = &p->orders[i];
        if (o->side * (b->mark - o->stop_price) < 0) {
            k++;
            continue;
        }
        s6_paper_book_drop_stop(b, i);
        o->state = S6_PO_TRIGGERED;
        plan_parts(p, o, 1); /* a triggered stop fills whole */
        if (queue_fill(p, i, now_of(p)) != 0)
            return -ENOMEM;
    }
    return 0;
}

int s6_paper_mark(s6_paper *p, const char *symbol, int market, double mark)
{
    long book = s6_paper_book_id(p, symbol, market);
    int rc = s6_paper_set_mark_id(p, book, mark);
    return rc ? rc : s6_paper_trigger_id(p, book);
}

static int fill_kind(const s6_paper_order *o, const s6_paper_position *pos,
                     double qty, double half)
{
    static const int by_purpose[S6_PURPOSE_COUNT] = {
        [S6_PURPOSE_STOP] = S6_FILL_STOP, [S6_PURPOSE_TP] = S6_FILL_REDUCE,
        [S6_PURPOSE_ADD] = S6_FILL_ADD, [S6_PURPOSE_CLOSE] = S6_FILL_CLOSE,
    };
    if (o->entry)
        return S6_FILL_ENTRY;
    if (o->type == S6_ORDER_STOP_MARKET)
        return S6_FILL_STOP;
    if (o->purpose > 0 && o->purpose < S6_PURPOSE_COUNT &&
        by_purpose[o->purpose] != 0)
        return by_purpose[o->purpose];
    if (pos->side == 0)
        return S6_FILL_ENTRY;
    if (o->side == pos->side)
        return S6_FILL_ADD;
    return qty > pos->qty - half ? S6_FILL_CLOSE : S6_FILL_REDUCE;
}

/* One part of a working order (or a triggered stop) at the current mark.
 * A reduce the position can no longer take expires whole: never clipped. */
static void fill_part(s6_paper *p, size_t i)
{
    s6_paper_order *o = &p->orders[i];
    if (o->state != S6_PO_WORKING && o->state != S6_PO_TRIGGERED)
        return; /* cancelled while waiting */
    s6_paper_book *b = &p->books[o->book];
    long long steps = o->next_steps;
    double qty = s6_round_to_step((double)steps * b->sym->step,
                                  b->sym->step, 0);
    double price = s6_paper_fill_price(p, b, o->side);
    int code;
    const char *why = s6_paper_book_refusal(p, b, o->side, o->reduce_only,
                                            qty, price, o->leverage, &code);
    s6_order_result r;
    if (why != NULL) {
        o->state = S6_PO_CANCELED;
        result_base(p, o, S6_RES_CANCELED, &r);
        snprintf(r.reason, sizeof r.reason, "%s", why);
        r.code = code;
        p->o.on_result(p->o.result_ud, &r);
        return;
    }
    double fee = qty * price * b->sym->taker_fee;
    int kind = fill_kind(o, &b->pos, qty, b->sym->step / 2);
    s6_paper_book_apply(p, b, o->side, qty, price, fee, o->leverage);
    o->filled += qty;
    o->steps_left -= steps;
    o->next_steps = o->part_steps;
    result_base(p, o, S6_RES_FILL, &r);
    r.fill = (s6_fill){ .kind = kind, .side = o->side, .qty = qty,
                        .price = price, .fee = fee, .ts = r.ts };
    memcpy(r.fill.result_id, r.result_id, sizeof r.fill.result_id);
    memcpy(r.fill.intent_id, o->intent_id, sizeof r.fill.intent_id);
    if (o->entry) {
        r.sl_px = o->sl_px;
        r.leverage = o->leverage;
        r.risk_reserved = o->risk_reserved;
        r.concurrency_reserved = o->concurrency_reserved;
    }
    if (o->steps_left <= 0)
        o->state = S6_PO_FILLED;
    else if (queue_fill(p, i, now_of(p) + p->o.latency) != 0)
        o->state = S6_PO_CANCELED; /* out of memory: stop filling */
    p->o.on_result(p->o.result_ud, &r);
}

static void deliver(s6_paper *p, const s6_paper_item *it)
{
    if (it->kind == S6_PQ_RESULT) {
        p->o.on_result(p->o.result_ud, &it->res);
    } else if (it->kind == S6_PQ_FILL) {
        fill_part(p, it->order);
    } else if (it->order == SIZE_MAX) {
        it->done(it->cb_ud, it->res.intent_id, it->outcome, "unknown_order");
    } else {
        const s6_paper_order *o = &p->orders[it->order];
        char intent[S6_INTENT_ID_MAX + 1], detail[S6_PAPER_DETAIL_MAX];
        /* Copies: the callback may submit, which may move the orders. */
        memcpy(intent, o->intent_id, sizeof intent);
        memcpy(detail, o->detail, sizeof detail);
        it->done(it->cb_ud, intent, it->outcome, detail);
    }
}

size_t s6_paper_pump(s6_paper *p)
{
    size_t n = 0;
    s6_paper_item it;
    while (s6_paper_queue_pop_due(p, now_of(p), &it)) {
        deliver(p, &it);
        n++;
    }
    return n;
}

double s6_paper_next_due(const s6_paper *p)
{
    return p->n_heap ? p->heap[0].due : INFINITY;
}

/* ---- positions opened at start, queries ---- */

int s6_paper_open(s6_paper *p, const s6_paper_entry *e, char *err,
                  size_t errlen)
{
    long book = s6_paper_book_find(p, e->symbol, e->market);
    if (book < 0) {
        snprintf(err, errlen, "%s: symbol %s is not configured", e->pos_id,
                 e->symbol);
        return -EINVAL;
    }
    char intent[S6_INTENT_ID_MAX + 1];
    snprintf(intent, sizeof intent, "%s-en", e->pos_id);
    if (s6_paper_index_find(p, intent) >= 0) {
        snprintf(err, errlen, "%s: opened twice", e->pos_id);
        return -EEXIST;
    }
    size_t i;
    if (new_order(p, intent, &i) != 0)
        return -ENOMEM;
    s6_paper_order *o = &p->orders[i];
    snprintf(o->pos_id, sizeof o->pos_id, "%s", e->pos_id);
    o->book = (size_t)book;
    o->type = S6_ORDER_MARKET;
    o->side = e->side;
    o->entry = true;
    o->qty = s6_round_qty(e->qty, p->books[book].sym->step);
    o->leverage = leverage_of(&p->books[book], e->leverage);
    o->sl_px = e->sl_px;
    o->risk_reserved = e->risk_reserved;
    o->concurrency_reserved = e->concurrency_reserved;
    int rc = place(p, i, NULL, NULL);
    if (rc == 0 && o->state == S6_PO_REJECTED) {
        snprintf(err, errlen, "%s: entry refused: %s", e->pos_id, o->detail);
        return -EINVAL;
    }
    return rc;
}

int s6_paper_restore(s6_paper *p, const char *symbol, int market, int side,
                     double qty, double entry, double leverage, char *err,
                     size_t errlen)
{
    long bi = symbol ? s6_paper_book_find(p, symbol, market) : -1;
    const char *why = bi < 0 ? "symbol not configured"
        : p->books[bi].pos.side != 0 ? "the venue already holds a position"
        : side != 1 && side != -1 ? "side must be +1 or -1"
        : market == S6_MARKET_SPOT && side < 0 ? "a SPOT position is long"
        : !(qty > 0 && isfinite(qty)) ? "qty must be > 0"
        : !(entry > 0 && isfinite(entry)) ? "entry must be > 0"
        : !(leverage >= 1 && isfinite(leverage)) ? "leverage must be >= 1"
                                                   : NULL;
    if (why != NULL) {
        snprintf(err, errlen, "paper restore %s: %s", symbol ? symbol : "",
                 why);
        return -EINVAL;
    }
    s6_paper_position *pos = &p->books[bi].pos;
    bool spot = market == S6_MARKET_SPOT;
    *pos = (s6_paper_position){ .side = side, .qty = qty, .entry = entry,
                                .leverage = spot ? 1 : leverage,
                                .realized = pos->realized };
    pos->margin = qty * entry / pos->leverage;
    if (spot)
        p->spot_free -= pos->margin;
    else
        p->fut_free -= pos->margin;
    return 0;
}

void s6_paper_get_balances(const s6_paper *p, s6_paper_balances *b)
{
    *b = (s6_paper_balances){ .spot_free = p->spot_free,
                              .fut_free = p->fut_free };
}

int s6_paper_get_position(const s6_paper *p, const char *symbol, int market,
                          s6_paper_position *out)
{
    long i = s6_paper_book_find(p, symbol, market);
    if (i < 0)
        return -EINVAL;
    *out = p->books[i].pos;
    return 0;
}

size_t s6_paper_resting_stops(const s6_paper *p, const char *symbol,
                              int market)
{
    long i = s6_paper_book_find(p, symbol, market);
    return i < 0 ? 0 : p->books[i].n_stops;
}

double s6_paper_stop_level(const s6_paper *p, long book)
{
    double best = 0;
    if (book < 0 || (size_t)book >= p->n_books)
        return 0;
    const s6_paper_book *b = &p->books[book];
    for (size_t k = 0; k < b->n_stops; k++) {
        const s6_paper_order *o = &p->orders[b->stops[k]];
        /* A sell stop protects a long: the highest is nearest the mark. */
        if (best == 0 || -o->side * (o->stop_price - best) > 0)
            best = o->stop_price;
    }
    return best;
}
