/*
 * orders.c — orders and the protective stop: every order gets its
 * key from s6_position_next_intent before it leaves, is remembered (in the
 * stop or as an in-flight order) before the router sees it, and a retry
 * sends the very same key again.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "core/s6_core.h"

/* The history store's order kind, by purpose (the intent letters are in
 * contract/names.h). */
static const char *const store_kinds[S6_PURPOSE_COUNT] = {
    [S6_PURPOSE_STOP] = "STOP", [S6_PURPOSE_TP] = "TAKE_PROFIT",
    [S6_PURPOSE_ADD] = "ADD", [S6_PURPOSE_CLOSE] = "CLOSE",
    [S6_PURPOSE_HEDGE] = "ENTRY",
};

/* "?" rather than NULL: the name goes into log fields. */
const char *e_purpose_name(int purpose)
{
    const char *name = s6_purpose_name(purpose);
    return name ? name : "?";
}

const char *e_store_kind(int purpose)
{
    return purpose > 0 && purpose < S6_PURPOSE_COUNT ? store_kinds[purpose]
                                                     : "ENTRY";
}

static unsigned backoff(unsigned attempts)
{
    unsigned t = 1;
    while (attempts > 1 && t < S6_ENGINE_BACKOFF_MAX_TICKS) {
        t *= 2;
        attempts--;
    }
    return t;
}

/* Quantities go out on the step, the nearest grid point to what the
 * position holds (fills are on the grid; a reconciled one may not be). */
static double on_step(double qty, double step)
{
    return s6_round_to_step(qty, step, 0);
}

static int build(s6_engine *e, const e_pos *p, int market, int type,
                 int purpose, int side, bool reduce_only, double qty,
                 double stop_price, const char *intent, const char *plan_id,
                 s6_order *o)
{
    const s6_symbol_cfg *sym = market == p->rec.pos.market
                                   ? e_sym(e, p)
                                   : e_symbol(e, market, p->rec.pos.symbol);
    if (sym == NULL)
        return -ENOENT;
    memset(o, 0, sizeof *o);
    snprintf(o->intent_id, sizeof o->intent_id, "%s", intent);
    snprintf(o->pos_id, sizeof o->pos_id, "%s", p->rec.pos.id);
    snprintf(o->symbol, sizeof o->symbol, "%s", p->rec.pos.symbol);
    snprintf(o->plan_id, sizeof o->plan_id, "%s", plan_id ? plan_id : "");
    o->market = market;
    o->type = type;
    o->purpose = purpose;
    o->side = side;
    o->reduce_only = reduce_only;
    o->qty = qty;
    o->stop_price = stop_price;
    if (s6_format_decimal(qty, sym->step, o->qty_str, sizeof o->qty_str) < 0)
        return -EINVAL;
    if (type == S6_ORDER_STOP_MARKET &&
        s6_format_decimal(stop_price, sym->tick, o->price_str,
                          sizeof o->price_str) < 0)
        return -EINVAL;
    return 0;
}

/* ---- the stop ---- */

static void submit_stop(s6_engine *e, e_pos *p, const s6_stop_order *so)
{
    s6_order o;
    /* No plan id on a stop: a re-send must carry the very same body, and
     * another plan may run between the first send and a retry (the
     * STOP_REQUESTED event names the plan's reason). */
    int rc = build(e, p, p->rec.pos.market, S6_ORDER_STOP_MARKET,
                   S6_PURPOSE_STOP, -p->rec.pos.side, true, so->qty, so->price,
                   so->intent_id, "", &o);
    if (rc == 0)
        rc = e->edges.router.submit(e->edges.router.ud, &o,
                                    e_route_submit_done, e);
    if (rc != 0) {
        e_stop_failed(e, p, so->intent_id, "router refused the call");
        return;
    }
    p->place_in_flight = true;
    p->rec.stop_retry = false;
    e_store_order(e, p, so->intent_id, "STOP", "SENT", so->price, so->qty);
}

static void announce(s6_engine *e, const e_pos *p, const char *stream,
                     double price)
{
    char px[32];
    snprintf(px, sizeof px, "%.10g", price);
    const char *f[] = {"symbol", p->rec.pos.symbol, "sl_px", px, "pos_id",
                       p->rec.pos.id};
    int rc = e->edges.state.announce(e->edges.state.ud, stream, f, 6);
    if (rc != 0)
        s6_log_error(e->log, "engine", "announce failed",
                     S6_LOG_STR("stream", stream), S6_LOG_INT("rc", rc));
}

/* SPOT: S6 places no exchange stop (an OCO is the entry service's, and S6
 * treats it as absent unless told otherwise); the guard on the mid is the
 * stop. */
static int arm_spot_guard(s6_engine *e, e_pos *p, double price, const char *why)
{
    s6_stop *st = &p->rec.stop;
    double old = st->guard;
    st->guard = price;
    st->confirmed.live = st->pending.live = false;
    p->rec.stop_needed = false;
    announce(e, p, "guard:spot:arm", price);
    e_event(e, p, "GUARD_ARMED", price, "", "{s:f,s:f,s:s}", "price", price,
            "old", old, "why", why);
    return 0;
}

/* The mark has passed px already: S4 refuses such a stop (it would
 * trigger at once), or, left resting untriggered, it meets the symbol's
 * next position.  Without a confirmed stop the guard takes the price and
 * closes at market; a confirmed one (a resize) triggers at the venue. */
static int stop_passed(s6_engine *e, e_pos *p, double px)
{
    double mark = e_guard_mark(e, p);
    if (!(mark > 0) || p->rec.pos.side * (mark - px) > 0)
        return 0;
    if (!p->rec.stop.confirmed.live) {
        p->rec.stop.guard = px;
        e_guard_close(e, p, "stop price passed by the mark");
        e_save(e, p);
    }
    return S6_EBUSY;
}

int e_request_stop(s6_engine *e, e_pos *p, double price, double qty,
                   int step, const char *why)
{
    const s6_symbol_cfg *sym = e_sym(e, p);
    s6_position *pos = &p->rec.pos;
    double px = s6_round_stop(pos->side, price, sym->tick);
    if (!(px > 0))
        return -EINVAL;
    if (pos->market == S6_MARKET_SPOT)
        return arm_spot_guard(e, p, px, why);
    if (!e->resumed) {
        /* results read before the venue's view: nothing goes out yet;
         * the guard holds the price and resume asks for the stop */
        p->rec.stop.guard = px;
        p->rec.stop_needed = true;
        return S6_ENOTREADY;
    }
    int passed = stop_passed(e, p, px);
    if (passed != 0)
        return passed;
    double q = on_step(qty, sym->step);
    if (!(q > 0))
        return -EINVAL;
    char intent[S6_INTENT_ID_MAX + 1];
    s6_stop_cmd cmd;
    const s6_stop *st = &p->rec.stop;
    /* one replace at a time: a confirmation now would leave the stop
     * still being cancelled untracked */
    if (s6_stop_in_flight(st) || (st->confirmed.live && st->cancelling.live))
        return S6_EBUSY;
    if (s6_position_next_intent(pos, e_purpose_name(S6_PURPOSE_STOP), intent) != 0)
        return -ERANGE;
    int rc = s6_stop_request(&p->rec.stop, px, q, step, intent, &cmd);
    if (rc != 0)
        return rc;
    p->rec.stop_needed = false;
    p->touched = e_now(e);
    /* the key is durable before S4 can hold an order under it: a restart
     * must never hand the same sequence number to another order */
    e_save(e, p);
    announce(e, p, "risk:sl_arm", px);
    e_event(e, p, "STOP_REQUESTED", px, "", "{s:s,s:f,s:f,s:i,s:s}",
            "intent_id", intent, "price", px, "qty", q, "step", step, "why",
            why);
    submit_stop(e, p, &p->rec.stop.pending);
    return 0;
}

/* The price at which the position has lost risk.first_stop_max_loss_roe
 * of its margin (SPOT: of its cost); NaN when the books cannot say. */
static double max_loss_stop(const s6_engine *e, const e_pos *p)
{
    const s6_position *pos = &p->rec.pos;
    double loss = e->cfg->risk.first_stop_max_loss_roe;
    if (pos->market == S6_MARKET_FUT)
        return s6_price_for_roe(pos->side, pos->qty, pos->entry, pos->margin,
                                -loss);
    return pos->entry * (1 - pos->side * loss);
}

/* Of two protective prices the one nearer the entry risks less; a NaN
 * (no ATR, no margin) loses to any real price. */
static double tighter_stop(int side, double a, double b)
{
    if (!(isfinite(a) && a > 0))
        return b;
    if (!(isfinite(b) && b > 0))
        return a;
    return side * (a - b) > 0 ? a : b;
}

/* Design 4b: the entry's own sl_px when it protects; else the tighter of
 * the ATR stop and the max-loss stop, so a volatile feed can never put
 * the first stop beyond the loss the config allows. */
int e_first_stop_price(s6_engine *e, e_pos *p, double sl_px, double *out)
{
    const s6_position *pos = &p->rec.pos;
    const e_mkt *m = &e->mkts[p->mkt];
    double atr = m->atr > 0 ? m->atr : p->rec.atr;
    double px;
    if (sl_px > 0 && isfinite(sl_px) && pos->side * (pos->entry - sl_px) > 0)
        px = sl_px;
    else
        px = tighter_stop(pos->side,
                          atr > 0 ? s6_atr_stop(pos->side, pos->entry, atr,
                                                S6_ENGINE_FIRST_STOP_ATR_K)
                                  : NAN,
                          max_loss_stop(e, p));
    if (!(isfinite(px) && px > 0)) /* never none */
        px = pos->entry * (1 - pos->side * e->cfg->risk.first_stop_max_loss_roe);
    *out = px;
    return 0;
}

/* Keeps the position covered: a stop where none is asked for, a stop of
 * the position's size after a fill changed it.  Called after every change
 * and on every evaluation; does nothing when all is in order. */
void e_protect(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    if (!p->used || r->pos.state != S6_POS_ACTIVE || !(r->pos.qty > 0))
        return;
    s6_stop *st = &r->stop;
    if (st->side == 0)
        s6_stop_init(st, r->pos.side);
    bool covered = st->confirmed.live || st->pending.live;
    if (!covered && r->stop_needed && e->ticks < p->rearm_tick)
        return;
    if (!covered && (r->stop_needed || s6_stop_guard_price(st) == 0)) {
        if (r->pos.market == S6_MARKET_SPOT && st->guard > 0 &&
            !r->stop_needed)
            return;
        double px = st->guard;
        if (!(px > 0))
            e_first_stop_price(e, p, 0, &px);
        e_request_stop(e, p, px, r->pos.qty, st->step,
                       r->stop_needed ? "re-arm" : "first stop");
        return;
    }
    if (!r->stop_resize || r->pos.market == S6_MARKET_SPOT) {
        r->stop_resize = false;
        return;
    }
    if (st->pending.live || st->cancelling.live)
        return; /* after the move in flight lands */
    double step = e_sym(e, p)->step;
    if (st->confirmed.live && fabs(st->confirmed.qty - r->pos.qty) < step / 2) {
        r->stop_resize = false;
        return;
    }
    double px = st->confirmed.live ? st->confirmed.price : st->guard;
    if (e_request_stop(e, p, px, r->pos.qty, st->step, "resize") == 0)
        r->stop_resize = false;
}

void e_resend_stop(s6_engine *e, e_pos *p)
{
    if (p->rec.stop.pending.live && !p->place_in_flight)
        submit_stop(e, p, &p->rec.stop.pending);
}

void e_send_cancel(s6_engine *e, e_pos *p)
{
    s6_stop_order *c = &p->rec.stop.cancelling;
    if (!c->live || p->cancel_in_flight)
        return;
    int rc = e->edges.router.cancel(e->edges.router.ud, c->intent_id,
                                    p->rec.pos.symbol, p->rec.pos.market,
                                    e_route_cancel_done, e);
    if (rc == 0)
        p->cancel_in_flight = true; /* else: the next tick tries again */
}

/* The position is gone: its reduce-only stops must go too (a stop left on
 * the exchange would meet the next position on the symbol). */
void e_cancel_stops(s6_engine *e, e_pos *p)
{
    s6_stop *st = &p->rec.stop;
    const s6_stop_order *orders[] = {&st->confirmed, &st->pending,
                                     &st->cancelling};
    for (size_t i = 0; p->rec.pos.market == S6_MARKET_FUT && i < 3; i++)
        if (orders[i]->live)
            e_leftover_add(e, orders[i]->intent_id, p->rec.pos.symbol,
                           p->rec.pos.market);
    s6_stop_clear(st);
    p->cancel_in_flight = p->place_in_flight = false;
    e_hunt(e);
}

/* ---- leftovers: cancelled until S4 confirms them gone ---- */

static e_leftover *leftover_find(s6_engine *e, const char *intent_id)
{
    for (size_t i = 0; intent_id != NULL && i < e->n_leftovers; i++)
        if (strcmp(e->leftovers[i].intent_id, intent_id) == 0)
            return &e->leftovers[i];
    return NULL;
}

void e_leftover_add(s6_engine *e, const char *intent_id, const char *symbol,
                    int market)
{
    if (leftover_find(e, intent_id) != NULL)
        return;
    if (e->n_leftovers == e->cap_leftovers) {
        size_t nc = e->cap_leftovers ? 2 * e->cap_leftovers : 8;
        e_leftover *nv = realloc(e->leftovers, nc * sizeof *nv);
        if (nv == NULL) {
            s6_log_error(e->log, "engine", "leftover not tracked: out of "
                         "memory; the next reconciliation finds it",
                         S6_LOG_STR("intent_id", intent_id));
            return;
        }
        e->leftovers = nv;
        e->cap_leftovers = nc;
    }
    e_leftover *l = &e->leftovers[e->n_leftovers++];
    memset(l, 0, sizeof *l);
    snprintf(l->intent_id, sizeof l->intent_id, "%s", intent_id);
    snprintf(l->symbol, sizeof l->symbol, "%s", symbol);
    l->market = market;
    e_book_save(e); /* before the close's save: a restart hunts it */
}

void e_leftover_gone(s6_engine *e, const char *intent_id)
{
    e_leftover *l = leftover_find(e, intent_id);
    if (l == NULL)
        return;
    *l = e->leftovers[--e->n_leftovers];
    e_book_save(e);
}

void e_leftover_failed(s6_engine *e, const char *intent_id)
{
    e_leftover *l = leftover_find(e, intent_id);
    if (l != NULL)
        l->in_flight = false; /* the next protection pass tries again */
}

void e_hunt(s6_engine *e)
{
    for (size_t i = 0; i < e->n_leftovers; i++) {
        e_leftover *l = &e->leftovers[i];
        if (l->in_flight)
            continue;
        l->in_flight = true; /* before the call: its outcome may be quick */
        l->attempts++;
        if (e->edges.router.cancel(e->edges.router.ud, l->intent_id,
                                   l->symbol, l->market, e_route_cancel_done,
                                   e) != 0)
            l->in_flight = false;
    }
}

bool e_symbol_unprotected(s6_engine *e, const char *symbol)
{
    const e_pos *p = e_find_open(e, S6_MARKET_FUT, symbol);
    return p != NULL && p->rec.pos.state != S6_POS_CLOSED &&
           !p->rec.stop.confirmed.live;
}

/* The position closed: nothing of it may still reach S4.  What S4 cannot
 * have seen is dropped; what it may have seen is cancelled (the router
 * drops one still queued, and holds the cancel behind one it is sending);
 * an add waiting for its quota stays until the answer, so a reservation
 * granted late is released with the rest. */
void e_withdraw_orders(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    for (size_t i = 0; i < r->n_inflight;) {
        s6_inflight *o = &r->inflight[i];
        if (o->status == S6_INF_RESERVING) {
            i++;
            continue;
        }
        if (o->attempts > 0) {
            e_leftover_add(e, o->intent_id, r->pos.symbol, o->market);
            e_event(e, p, "ORDER_WITHDRAWN", o->qty, "", "{s:s,s:s}",
                    "intent_id", o->intent_id, "purpose",
                    e_purpose_name(o->purpose));
        }
        e_inflight_drop(p, o);
    }
    e_hunt(e);
}

bool e_quota_pending(const e_pos *p)
{
    for (size_t i = 0; i < p->rec.n_inflight; i++)
        if (p->rec.inflight[i].status == S6_INF_RESERVING)
            return true;
    return false;
}

/* ---- market orders ---- */

s6_inflight *e_inflight_find(e_pos *p, const char *intent_id)
{
    for (size_t i = 0; intent_id != NULL && i < p->rec.n_inflight; i++)
        if (strcmp(p->rec.inflight[i].intent_id, intent_id) == 0)
            return &p->rec.inflight[i];
    return NULL;
}

s6_inflight *e_inflight_of(e_pos *p, int purpose)
{
    for (size_t i = 0; i < p->rec.n_inflight; i++)
        if (p->rec.inflight[i].purpose == purpose)
            return &p->rec.inflight[i];
    return NULL;
}

void e_inflight_drop(e_pos *p, s6_inflight *o)
{
    size_t i = (size_t)(o - p->rec.inflight);
    memmove(o, o + 1, (p->rec.n_inflight - i - 1) * sizeof *o);
    p->rec.n_inflight--;
}

static void submit_inflight(s6_engine *e, e_pos *p, s6_inflight *o)
{
    s6_order ord;
    o->attempts++;
    int rc = build(e, p, o->market, S6_ORDER_MARKET, o->purpose, o->side,
                   o->reduce_only, o->qty, 0, o->intent_id, o->plan_id, &ord);
    if (rc == 0)
        rc = e->edges.router.submit(e->edges.router.ud, &ord,
                                    e_route_submit_done, e);
    if (rc != 0) {
        o->status = S6_INF_FAILED;
        o->retry_tick = e->ticks + backoff(o->attempts);
        s6_log_warn(e->log, "engine", "order not sent, retried later",
                    S6_LOG_STR("intent_id", o->intent_id), S6_LOG_INT("rc", rc));
        return;
    }
    o->status = S6_INF_SENT;
    e_store_order(e, p, o->intent_id, e_store_kind(o->purpose), "SENT", 0,
                  o->qty);
}

int e_resend(s6_engine *e, e_pos *p, s6_inflight *o)
{
    submit_inflight(e, p, o);
    return 0;
}

static s6_inflight *new_inflight(e_pos *p, int purpose, int market, int side,
                                 double qty, bool reduce_only,
                                 const char *plan_id)
{
    if (p->rec.n_inflight >= S6_ENGINE_MAX_INFLIGHT)
        return NULL;
    s6_inflight *o = &p->rec.inflight[p->rec.n_inflight];
    memset(o, 0, sizeof *o);
    if (s6_position_next_intent(&p->rec.pos, e_purpose_name(purpose),
                                o->intent_id) != 0)
        return NULL;
    p->rec.n_inflight++;
    o->purpose = purpose;
    o->market = market;
    o->side = side;
    o->qty = qty;
    o->reduce_only = reduce_only;
    snprintf(o->plan_id, sizeof o->plan_id, "%s", plan_id ? plan_id : "");
    return o;
}

int e_send_order(s6_engine *e, e_pos *p, int purpose, int side, double qty,
                 bool reduce_only, const char *plan_id, s6_inflight **out)
{
    int market = purpose == S6_PURPOSE_HEDGE ? S6_MARKET_FUT
                                             : p->rec.pos.market;
    s6_inflight *o = new_inflight(p, purpose, market, side, qty, reduce_only,
                                  plan_id);
    if (o == NULL) {
        s6_log_error(e->log, "engine", "too many orders in flight",
                     S6_LOG_STR("pos_id", p->rec.pos.id));
        return -ENOSPC;
    }
    e_save(e, p); /* the key first, as for the stop */
    submit_inflight(e, p, o);
    if (out != NULL)
        *out = o;
    return 0;
}

void e_guard_close(s6_engine *e, e_pos *p, const char *why)
{
    s6_position *pos = &p->rec.pos;
    if (e_inflight_of(p, S6_PURPOSE_CLOSE) != NULL ||
        pos->state == S6_POS_PENDING_CLOSING)
        return; /* a full close is already out */
    double px = s6_stop_guard_price(&p->rec.stop);
    if (pos->state == S6_POS_ACTIVE)
        e_transition(e, p, S6_POS_PENDING_CLOSING, "guard touched");
    s6_inflight *o = NULL;
    /* SPOT has no reduceOnly: the guard sells what is held, no more */
    e_send_order(e, p, S6_PURPOSE_CLOSE, -pos->side,
                 on_step(pos->qty, e_sym(e, p)->step),
                 pos->market == S6_MARKET_FUT, "", &o);
    e_count(e, "s6_stop_triggers_total", pos->symbol, "guard");
    e_event(e, p, "GUARD_TRIGGERED", px, "", "{s:f,s:f,s:s,s:s}", "guard", px,
            "mark", e_guard_mark(e, p), "intent_id", o ? o->intent_id : "",
            "why", why);
}

/* ---- add-ons: quota first, then the order ---- */

typedef struct add_ctx {
    s6_engine *e;
    char pos_id[S6_POS_ID_MAX + 1];
    char intent[S6_INTENT_ID_MAX + 1];
} add_ctx;

int e_start_add(s6_engine *e, e_pos *p, double qty, double budget,
                const char *plan_id)
{
    s6_inflight *o = new_inflight(p, S6_PURPOSE_ADD, p->rec.pos.market,
                                  p->rec.pos.side, qty, false, plan_id);
    add_ctx *c = malloc(sizeof *c);
    if (o == NULL || c == NULL) {
        if (o != NULL)
            e_inflight_drop(p, o);
        free(c);
        return -ENOMEM;
    }
    o->status = S6_INF_RESERVING;
    o->budget = budget;
    c->e = e;
    snprintf(c->pos_id, sizeof c->pos_id, "%s", p->rec.pos.id);
    snprintf(c->intent, sizeof c->intent, "%s", o->intent_id);
    e_save(e, p); /* the key first, as for the stop */
    /* An add holds budget only (its margin); the position's one
     * concurrency slot was taken at entry. */
    int rc = e->edges.state.quota_reserve(e->edges.state.ud, p->rec.pos.id,
                                          budget, 0, e_add_reserved, c);
    if (rc != 0) {
        e_inflight_drop(p, o);
        free(c);
        return rc;
    }
    return 0;
}

void e_add_reserved(void *cb_ud, bool ok)
{
    add_ctx *c = cb_ud;
    s6_engine *e = c->e;
    e_pos *p = e_find(e, c->pos_id);
    s6_inflight *o = p != NULL ? e_inflight_find(p, c->intent) : NULL;
    if (o == NULL || o->status != S6_INF_RESERVING) {
        s6_log_error(e->log, "engine", "quota answer for an add no longer "
                     "waiting; its budget stays reserved",
                     S6_LOG_STR("intent_id", c->intent),
                     S6_LOG_BOOL("ok", ok));
        free(c);
        return;
    }
    free(c);
    if (!ok || p->rec.pos.state != S6_POS_ACTIVE) {
        if (ok)
            e_reserve(e, p, o->budget); /* released at close */
        e_event(e, p, "ADD_REFUSED", o->qty, "", "{s:s,s:s}", "intent_id",
                o->intent_id, "reason", ok ? "position not active" : "quota");
        e_inflight_drop(p, o);
    } else if (e_symbol_unprotected(e, p->rec.pos.symbol)) {
        e_reserve(e, p, o->budget);
        o->status = S6_INF_FAILED; /* attempts 0: S4 never saw it */
        o->retry_tick = e->ticks + 1;
        e_event(e, p, "ADD_HELD", o->qty, "", "{s:s,s:s}", "intent_id",
                o->intent_id, "reason", "a position of the symbol has no "
                "confirmed stop");
    } else {
        e_reserve(e, p, o->budget);
        submit_inflight(e, p, o);
        e_event(e, p, "ADD_SENT", o->qty, "", "{s:s,s:f,s:f}", "intent_id",
                o->intent_id, "qty", o->qty, "budget", o->budget);
    }
    e_save(e, p);
    if (p->rec.pos.state == S6_POS_CLOSED)
        e_release_quota(e, p); /* the late answer was the last wait */
}

/* ---- the tick's retries ---- */

void e_retry_due(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    if (r->pos.state == S6_POS_CLOSED) {
        e_release_quota(e, p);
        return;
    }
    bool changed = false;
    if (r->stop_retry) {
        e_resend_stop(e, p);
        changed = true;
    }
    bool hold = e_symbol_unprotected(e, r->pos.symbol);
    for (size_t i = 0; i < r->n_inflight;) {
        s6_inflight *o = &r->inflight[i];
        bool adds_risk = !o->reduce_only && o->purpose != S6_PURPOSE_CLOSE;
        if (o->status != S6_INF_FAILED || e->ticks < o->retry_tick ||
            (hold && adds_risk)) {
            i++;
            continue;
        }
        changed = true;
        if (o->attempts >= S6_ENGINE_ORDER_MAX_ATTEMPTS) {
            e_order_dead(e, p, o, "ABANDONED", "no answer from the router");
            continue;
        }
        submit_inflight(e, p, o);
        i++;
    }
    if (r->stop.cancelling.live && !p->cancel_in_flight)
        e_send_cancel(e, p);
    if (changed)
        e_save(e, p);
}

/* ---- the protection pass ---- */

int s6_engine_protect(s6_engine *e)
{
    if (e == NULL)
        return -EINVAL;
    if (!e->resumed)
        return 0;
    for (size_t i = 0; i < e->n_pos; i++) {
        e_pos *p = &e->pos[i];
        s6_engine_record *r = &p->rec;
        if (!p->used || r->pos.state == S6_POS_CLOSED)
            continue;
        bool retry = r->stop_retry && !p->place_in_flight;
        if (retry)
            e_resend_stop(e, p);
        if (r->stop.cancelling.live && !p->cancel_in_flight)
            e_send_cancel(e, p);
        e_protect(e, p);
        if (retry)
            e_save(e, p);
    }
    e_hunt(e);
    return 0;
}
