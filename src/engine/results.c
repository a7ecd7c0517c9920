/*
 * results.c — order results (ord:{results}) and the router's
 * outcomes.  Both name an intent; each moves the stop or the in-flight
 * order it names and nothing else.  A result that names nothing the
 * engine knows (late, repeated, out of order) is logged and harmless.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "core/s6_core.h"
#include "util/stream_id.h"

static unsigned backoff_ticks(unsigned failures)
{
    unsigned t = 1;
    while (failures-- > 1 && t < S6_ENGINE_BACKOFF_MAX_TICKS)
        t *= 2;
    return t;
}

/* S4 answered after a run of failures: every stop waiting for its retry
 * goes now rather than at the next protection pass. */
static void venue_answered(s6_engine *e, int outcome)
{
    bool was_failing = e->venue_failing;
    e->venue_failing = outcome == S6_ROUTE_FAILED;
    if (was_failing && !e->venue_failing)
        s6_engine_protect(e);
}

/* ---- the stop's outcomes ---- */

void e_stop_placed(s6_engine *e, e_pos *p, const char *intent)
{
    s6_stop *st = &p->rec.stop;
    s6_stop_cmd cmd;
    double price = st->pending.price;
    if (s6_stop_placed(st, intent, &cmd) != 0)
        return; /* not the placement in flight: a repeat */
    p->place_in_flight = false;
    p->rec.stop_retry = false;
    p->rec.guard_alerted = false;
    p->touched = e_now(e);
    st->failures = 0; /* S4 answers again: the count starts over */
    bool moved = cmd.kind == S6_STOP_CMD_CANCEL;
    if (moved) {
        p->cancel_in_flight = false;
        e_send_cancel(e, p); /* place new, then cancel old */
        e_count(e, "s6_stop_moves_total", p->rec.pos.symbol, NULL);
    }
    e_store_order(e, p, intent, "STOP", "ACKED", price, st->confirmed.qty);
    e_event(e, p, moved ? "STOP_MOVED" : "STOP_CONFIRMED", price, "",
            "{s:s,s:f,s:i,s:s}", "intent_id", intent, "price", price, "step",
            st->step, "replaces", moved ? cmd.intent_id : "");
    e_protect(e, p);
}

/* Refused for good.  A move keeps the old stop (nothing to compensate);
 * without one the guard keeps watching the price and the next tick asks
 * again with a new key: the refused key can never be used again. */
void e_stop_refused(s6_engine *e, e_pos *p, const char *intent,
                    const char *reason)
{
    s6_stop *st = &p->rec.stop;
    s6_stop_cmd cmd;
    double price = st->pending.price, qty = st->pending.qty;
    if (s6_stop_place_failed(st, intent, false, &cmd) != 0)
        return;
    p->place_in_flight = false;
    p->rec.stop_retry = false;
    if (!st->confirmed.live) {
        p->rec.stop_needed = true;
        p->rearm_tick = e->ticks + 1;
        e_count(e, "s6_risk_alerts_total", "stop_unconfirmed", NULL);
    }
    e_store_order(e, p, intent, "STOP", "REJECTED", price, qty);
    e_event(e, p, "STOP_REJECTED", price, "", "{s:s,s:s,s:s,s:f}",
            "intent_id", intent, "reason", reason ? reason : "",
            "kept", st->confirmed.live ? "old stop" : "guard", "guard",
            s6_stop_guard_price(st));
}

void e_stop_failed(s6_engine *e, e_pos *p, const char *intent,
                   const char *detail)
{
    s6_stop *st = &p->rec.stop;
    s6_stop_cmd cmd;
    if (s6_stop_place_failed(st, intent, true, &cmd) != 0)
        return;
    p->place_in_flight = false;
    /* no backoff: the protection pass re-sends it every second, and at
     * once when S4 answers again (venue_answered) */
    p->rec.stop_retry = true;
    p->rec.stop_retry_tick = e->ticks;
    e_store_order(e, p, intent, "STOP", "FAILED", st->pending.price,
                  st->pending.qty);
    e_event(e, p, "STOP_FAILED", st->pending.price, "", "{s:s,s:s,s:i}",
            "intent_id", intent, "detail", detail ? detail : "", "failures",
            (int)st->failures);
}

/* ---- market orders' outcomes ---- */

void e_order_dead(s6_engine *e, e_pos *p, s6_inflight *o, const char *what,
                  const char *reason)
{
    s6_position *pos = &p->rec.pos;
    char type[40];
    snprintf(type, sizeof type, "ORDER_%s", what);
    e_store_order(e, p, o->intent_id, e_store_kind(o->purpose),
                  strcmp(what, "CANCELED") == 0 ? "CANCELED"
                  : strcmp(what, "REJECTED") == 0 ? "REJECTED" : "FAILED",
                  0, o->qty);
    e_event(e, p, type, o->qty, "", "{s:s,s:s,s:s,s:f}", "intent_id",
            o->intent_id, "purpose", e_purpose_name(o->purpose), "reason",
            reason ? reason : "", "filled", o->filled);
    e_inflight_drop(p, o);
    /* the full close died (a guard's, an operator's or a rung's): the
     * position is ACTIVE again and the guard or the rules decide anew */
    if (pos->state == S6_POS_PENDING_CLOSING &&
        e_inflight_of(p, S6_PURPOSE_CLOSE) == NULL &&
        e_inflight_of(p, S6_PURPOSE_TP) == NULL)
        e_transition(e, p, S6_POS_ACTIVE, what);
}

static void order_outcome(s6_engine *e, e_pos *p, s6_inflight *o,
                          int outcome, const char *detail)
{
    if (outcome == S6_ROUTE_OK) {
        if (o->status != S6_INF_TAKEN)
            e_store_order(e, p, o->intent_id, e_store_kind(o->purpose),
                          "ACKED", 0, o->qty);
        o->status = S6_INF_TAKEN;
    } else if (outcome == S6_ROUTE_REJECTED) {
        e_order_dead(e, p, o, "REJECTED", detail);
    } else {
        o->status = S6_INF_FAILED;
        o->retry_tick = e->ticks + backoff_ticks(o->attempts);
        e_event(e, p, "ORDER_FAILED", o->qty, "", "{s:s,s:s,s:i}",
                "intent_id", o->intent_id, "detail", detail ? detail : "",
                "attempts", (int)o->attempts);
    }
}

static void unknown_intent(s6_engine *e, const char *what, const char *intent)
{
    s6_log_warn(e->log, "engine", "result for an intent the engine does not "
                "hold", S6_LOG_STR("what", what),
                S6_LOG_STR("intent_id", intent ? intent : ""));
}

void e_route_submit_done(void *cb_ud, const char *intent_id, int outcome,
                         const char *detail)
{
    s6_engine *e = cb_ud;
    e_pos *p = e_by_intent(e, intent_id);
    s6_inflight *o = p != NULL ? e_inflight_find(p, intent_id) : NULL;
    venue_answered(e, outcome);
    if (p != NULL && p->rec.stop.pending.live &&
        strcmp(p->rec.stop.pending.intent_id, intent_id) == 0) {
        p->place_in_flight = false;
        if (outcome == S6_ROUTE_OK)
            e_stop_placed(e, p, intent_id);
        else if (outcome == S6_ROUTE_REJECTED)
            e_stop_refused(e, p, intent_id, detail);
        else
            e_stop_failed(e, p, intent_id, detail);
    } else if (o != NULL) {
        order_outcome(e, p, o, outcome, detail);
    } else {
        if (p == NULL || outcome != S6_ROUTE_OK)
            unknown_intent(e, "submit outcome", intent_id);
        return; /* a result got there first: nothing left to do */
    }
    e_save(e, p);
}

void e_route_cancel_done(void *cb_ud, const char *intent_id, int outcome,
                         const char *detail)
{
    s6_engine *e = cb_ud;
    e_pos *p = e_by_intent(e, intent_id);
    venue_answered(e, outcome);
    if (outcome == S6_ROUTE_OK)
        e_leftover_gone(e, intent_id);
    else
        e_leftover_failed(e, intent_id);
    if (p == NULL || !p->rec.stop.cancelling.live ||
        strcmp(p->rec.stop.cancelling.intent_id, intent_id) != 0) {
        s6_log_debug(e->log, "engine", "cancel outcome for a stop no longer "
                     "held", S6_LOG_STR("intent_id", intent_id));
        return;
    }
    p->cancel_in_flight = false;
    if (outcome != S6_ROUTE_OK) {
        /* two reduce-only stops stay until the next tick's cancel */
        e_event(e, p, "STOP_CANCEL_FAILED", 0, "", "{s:s,s:s}", "intent_id",
                intent_id, "detail", detail ? detail : "");
        return;
    }
    s6_stop_order gone = p->rec.stop.cancelling;
    s6_stop_cancelled(&p->rec.stop, intent_id);
    e_store_order(e, p, intent_id, "STOP", "CANCELED", gone.price, gone.qty);
    e_event(e, p, "STOP_CANCELLED", 0, "", "{s:s}", "intent_id", intent_id);
    e_protect(e, p);
    e_save(e, p);
}

/* ---- ord:{results} ---- */

static int refuse(s6_engine *e, char *err, size_t errlen, const char *rid,
                  const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    s6_log_warn(e->log, "engine", "result refused",
                S6_LOG_STR("result_id", rid ? rid : ""),
                S6_LOG_STR("error", msg));
    return -EINVAL;
}

static bool id_chars(const char *s, size_t max, bool may_be_empty)
{
    size_t n = strnlen(s, max + 1);
    return (n > 0 || may_be_empty) && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_-.:") == n;
}

static const char *result_problem(const s6_order_result *r)
{
    if (r->kind < S6_RES_ACCEPTED || r->kind >= S6_RES_KIND_COUNT)
        return "kind: ACCEPTED, FILL, REJECTED, CANCELED or FUNDING";
    size_t n = strnlen(r->result_id, sizeof r->result_id);
    if (n == 0 || n == sizeof r->result_id)
        return "result_id: 1 to 47 characters";
    if (!id_chars(r->intent_id, S6_INTENT_ID_MAX,
                  r->kind == S6_RES_FILL || r->kind == S6_RES_FUNDING))
        return "intent_id: 1 to 36 characters of [A-Za-z0-9_.:-]";
    if (!id_chars(r->pos_id, S6_POS_ID_MAX, true))
        return "pos_id: at most 24 characters of [A-Za-z0-9_-]";
    if (!id_chars(r->symbol, S6_SYMBOL_MAX, false))
        return "symbol: 1 to 24 characters of [A-Za-z0-9_-]";
    if (r->market != S6_MARKET_FUT && r->market != S6_MARKET_SPOT)
        return "market: FUT or SPOT";
    if (!isfinite(r->ts))
        return "ts: a finite time";
    if (r->kind == S6_RES_FUNDING && !(isfinite(r->funding_amount) &&
                                       isfinite(r->funding_rate)))
        return "amount, rate: finite numbers";
    if (r->kind != S6_RES_FILL)
        return NULL;
    if (!(isfinite(r->sl_px) && r->sl_px >= 0))
        return "sl_px: a finite number >= 0";
    if (!(isfinite(r->leverage) && r->leverage >= 0))
        return "leverage: a finite number >= 0";
    if (!(isfinite(r->risk_reserved) && r->risk_reserved >= 0))
        return "risk_reserved: a finite number >= 0";
    if (r->concurrency_reserved < 0)
        return "concurrency_reserved: >= 0";
    return NULL;
}

static bool seen_recently(s6_engine *e, const char *rid)
{
    unsigned n = e->n_recent < 64 ? e->n_recent : 64;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(e->recent[i], rid) == 0)
            return true;
    return false;
}

static void remember(s6_engine *e, const char *rid)
{
    snprintf(e->recent[e->n_recent++ % 64], S6_RESULT_ID_MAX, "%s", rid);
}

/* A flat (market, symbol) gets a new id: the symbol's head and the
 * clock in milliseconds, base 16, then a counter. */
static void assign_id(s6_engine *e, const char *symbol, char *out, size_t len)
{
    unsigned long long ms = (unsigned long long)(e_now(e) * 1000.0);
    snprintf(out, len, "%.8s-%llx%x", symbol, ms, e->id_seq++ & 0xfff);
}

/* The position the result names (by pos_id, else by its intent's key),
 * closed or not. */
static e_pos *named_position(s6_engine *e, const s6_order_result *r)
{
    e_pos *p = r->pos_id[0] ? e_find(e, r->pos_id) : NULL;
    return p == NULL && r->intent_id[0] ? e_by_intent(e, r->intent_id) : p;
}

/* The position an intent of S6's own shape was keyed for
 * ("<pos_id>-<action>-<seq>", one of the actions of a position's own
 * orders), into owner; false for any other key.  A hedge is keyed for the
 * SPOT position and fills the FUT one, so it names no owner here. */
static bool key_owner(const char *intent, char owner[S6_POS_ID_MAX + 1])
{
    static const int own[] = { S6_PURPOSE_STOP, S6_PURPOSE_TP,
                               S6_PURPOSE_ADD, S6_PURPOSE_CLOSE };
    const char *seq = strrchr(intent, '-');
    const char *act = seq;
    while (act != NULL && act > intent && act[-1] != '-')
        act--;
    if (seq == NULL || act == NULL || act <= intent + 1)
        return false;
    size_t n = (size_t)(act - 1 - intent), len = (size_t)(seq - act);
    for (size_t i = 0; n <= S6_POS_ID_MAX && i < sizeof own / sizeof *own;
         i++) {
        const char *name = s6_purpose_name(own[i]);
        if (strlen(name) == len && strncmp(act, name, len) == 0) {
            memcpy(owner, intent, n);
            owner[n] = '\0';
            return true;
        }
    }
    return false;
}

/* A fill naming another position than p (its pos_id, or S6's key of one
 * of that position's orders), made before p opened at the venue: a copy
 * of a closed position's fill read again (S4 published it twice, or it
 * came again after a restart, which loads open records only, while p was
 * opened by a later result).  It is that position's fill — an ENTRY too:
 * merged into p it would claim a reservation released already — never
 * p's.  A stale order of a closed position that fills after p opened did
 * change p at the venue, and is p's; an adopted position's own ENTRY is
 * older than the adoption and is absorbed. */
static bool made_before(const s6_order_result *r, const s6_fill *f,
                        const e_pos *p)
{
    char owner[S6_POS_ID_MAX + 1];
    const char *named = r->pos_id[0] ? r->pos_id
                        : key_owner(f->intent_id, owner) ? owner : NULL;
    return named != NULL && strcmp(named, p->rec.pos.id) != 0 &&
           !p->rec.adoption.waiting && f->ts < p->rec.pos.opened_at;
}

static e_pos *position_for(s6_engine *e, const s6_order_result *r)
{
    e_pos *p = named_position(e, r);
    if (p == NULL || p->rec.pos.state == S6_POS_CLOSED)
        p = e_find_open(e, r->market, r->symbol);
    return p;
}

/* A fill the named, closed position already applied (its persisted list
 * of result ids says so): a replay after a restart, not an error. */
static bool applied_before(s6_engine *e, const s6_order_result *r,
                           const s6_fill *f)
{
    e_pos *p = named_position(e, r);
    if (p == NULL || p->rec.pos.state != S6_POS_CLOSED)
        return false;
    s6_position copy = p->rec.pos;
    s6_fill_effect eff;
    return s6_position_apply_fill(&copy, f, e_sym(e, p)->step, &eff, NULL,
                                  0) == 0 && eff == S6_FILL_DUPLICATE;
}

static e_pos *open_new(s6_engine *e, const s6_order_result *r, char *err,
                       size_t errlen)
{
    const s6_symbol_cfg *sym = e_symbol(e, r->market, r->symbol);
    if (sym == NULL) {
        snprintf(err, errlen, "symbol: %s is not configured for %s",
                 r->symbol, s6_market_name(r->market));
        return NULL;
    }
    char id[S6_POS_ID_MAX + 1];
    if (r->pos_id[0])
        snprintf(id, sizeof id, "%s", r->pos_id);
    else
        assign_id(e, r->symbol, id, sizeof id);
    double lev = r->leverage > 0 ? r->leverage : sym->leverage;
    e_pos *p = e_new_pos(e, id, r->symbol, r->market, lev > 0 ? lev : 1, err,
                         errlen);
    if (p == NULL)
        return NULL;
    e_reserve(e, p, r->risk_reserved);
    p->rec.concurrency_reserved = r->concurrency_reserved;
    return p;
}

static const char *close_reason(int kind)
{
    static const char *const names[] = {
        [S6_FILL_ENTRY] = "entry", [S6_FILL_ADD] = "add",
        [S6_FILL_REDUCE] = "reduce", [S6_FILL_CLOSE] = "close",
        [S6_FILL_STOP] = "stop", [S6_FILL_LIQUIDATION] = "liquidation",
        [S6_FILL_ADL] = "adl", [S6_FILL_MANUAL] = "manual"};
    return kind >= S6_FILL_ENTRY && kind <= S6_FILL_MANUAL ? names[kind]
                                                          : "unknown";
}

/* What a fill of one of S6's own orders means for that order. */
static void fill_inflight(s6_engine *e, e_pos *p, const s6_fill *f,
                          s6_fill_effect eff)
{
    s6_inflight *o = e_inflight_find(p, f->intent_id);
    if (o == NULL)
        return;
    bool first = o->filled == 0;
    o->filled += f->qty;
    if (o->purpose == S6_PURPOSE_TP && first) {
        p->rec.tp_step++;
        e_count(e, "s6_tp_fills_total", p->rec.pos.symbol, NULL);
    }
    if (o->purpose == S6_PURPOSE_ADD && first && eff == S6_FILL_GREW)
        e_count(e, "s6_adds_total", p->rec.pos.symbol, NULL);
    if (o->filled >= o->qty - e_sym(e, p)->step / 2)
        e_inflight_drop(p, o);
    else
        o->status = S6_INF_TAKEN;
}

/* Today's realized PnL (UTC days), of the book (the daily loss limit)
 * and of the market (the s6_realized_pnl gauge). */
void e_day_pnl(s6_engine *e, e_mkt *mk, double delta)
{
    double day = floor(e_now(e) / 86400.0) * 86400.0;
    if (day != e->day_start) {
        e->day_start = day;
        e->day_realized = 0;
    }
    if (day != mk->day_start) {
        mk->day_start = day;
        mk->day_realized = 0;
    }
    e->day_realized += delta;
    mk->day_realized += delta;
    e_book_save(e); /* before the position's save: a restart counts it */
}

static void after_fill(s6_engine *e, e_pos *p, const s6_order_result *r,
                       const s6_fill *f, s6_fill_effect eff, int old_state)
{
    s6_engine_record *rec = &p->rec;
    e_history_fill(e, p, f);
    fill_inflight(e, p, f, eff);
    e_event(e, p, "FILL", f->qty, "", "{s:s,s:s,s:s,s:i,s:f,s:f,s:f,s:f}",
            "result_id", r->result_id, "intent_id", f->intent_id, "kind",
            close_reason(f->kind), "side", f->side, "qty", f->qty, "price",
            f->price, "fee", f->fee, "position_qty", rec->pos.qty);
    if ((int)rec->pos.state != old_state)
        e_event(e, p, "STATE", 0, "", "{s:s,s:s,s:s}", "from",
                s6_pos_state_name(old_state), "to",
                s6_pos_state_name(rec->pos.state), "why", close_reason(f->kind));
    if (eff == S6_FILL_OPENED) {
        s6_stop_init(&rec->stop, rec->pos.side);
        rec->best_price = f->price;
        double px;
        e_first_stop_price(e, p, r->sl_px, &px);
        e_event(e, p, "POSITION_OPENED", f->qty, "", "{s:f,s:f,s:f,s:f}",
                "qty", rec->pos.qty, "entry", rec->pos.entry, "leverage",
                rec->pos.leverage, "first_stop", px);
        e_request_stop(e, p, px, rec->pos.qty, 0, "first stop");
    } else if (eff == S6_FILL_CLOSED) {
        if (f->kind == S6_FILL_STOP)
            e_count(e, "s6_stop_triggers_total", rec->pos.symbol, "exchange");
        e_close_done(e, p, close_reason(f->kind));
    } else {
        rec->stop_resize = true;
        e_protect(e, p);
    }
    e_risk_after_fill(e, p, eff);
}

/* The fill's own fields, checked by s6_position_apply_fill on a scratch
 * position (the same words), before anything is looked up or created. */
static int fill_problem(const s6_fill *f, int market, char *why, size_t len)
{
    s6_position scratch;
    s6_fill_effect eff;
    int rc = s6_position_init(&scratch, "check", "CHECK", market, 1, why, len);
    return rc != 0 ? rc
                   : s6_position_apply_fill(&scratch, f, 1e-12, &eff, why, len);
}

/* The reservations an entry carries, recorded with the position that
 * took the entry: released with it, once. */
static void claim_reservation(s6_engine *e, e_pos *p, const s6_order_result *r)
{
    e_reserve(e, p, r->risk_reserved);
    p->rec.concurrency_reserved += r->concurrency_reserved;
}

/* An adopted position's own ENTRY, read after the view it was adopted
 * from (a view without as_of, or one the consumer had not caught up
 * with): the quantity is already in; its reservation and its stop are
 * taken over. */
static bool absorbs(s6_engine *e, const e_pos *p, const s6_order_result *r,
                    const s6_fill *f)
{
    return p->rec.adoption.waiting && f->side == p->rec.pos.side &&
           f->qty <= p->rec.pos.qty + e_sym(e, p)->step / 2 &&
           (p->rec.adoption.as_of[0] == '\0' ||
            s6_stream_id_cmp(r->stream_id, p->rec.adoption.as_of) <= 0);
}

static void absorb_entry(s6_engine *e, e_pos *p, const s6_order_result *r)
{
    s6_stop *st = &p->rec.stop;
    double px, now = st->confirmed.live ? st->confirmed.price
                     : st->pending.live ? st->pending.price : st->guard;
    e_first_stop_price(e, p, r->sl_px, &px);
    claim_reservation(e, p, r);
    p->rec.adoption.waiting = false;
    /* the view brought the quantity, the result brings its fee */
    double fee = r->fill.fee_in_base ? r->fill.fee * r->fill.price
                                     : r->fill.fee;
    p->rec.pos.fees_paid += fee;
    p->rec.pos.realized_pnl -= fee;
    e_day_pnl(e, &e->mkts[p->mkt], -fee);
    e_event(e, p, "ADOPTED_ENTRY", r->fill.qty, "", "{s:s,s:s,s:f,s:f}",
            "result_id", r->result_id, "entry_pos_id", r->pos_id, "budget",
            r->risk_reserved, "stop", px);
    if (r->sl_px > 0 && (now <= 0 || p->rec.pos.side * (px - now) > 0)) {
        if (st->confirmed.live || st->pending.live)
            e_request_stop(e, p, px, p->rec.pos.qty, st->step, "entry's stop");
        else
            st->guard = px;
    }
    e_save(e, p);
}

/* One-way mode: an ENTRY naming another position (or none) on a symbol
 * with an open one is the same venue position.  It is merged, both ids
 * logged and both reservations recorded (docs/contracts/order-results.md
 * "Identity"), or absorbed into a position adopted from the venue. */
static bool other_entry(s6_engine *e, e_pos *p, const s6_order_result *r,
                        const s6_fill *f)
{
    return f->kind == S6_FILL_ENTRY && p->rec.pos.state != S6_POS_CLOSED &&
           named_position(e, r) != p;
}

static int on_fill(s6_engine *e, const s6_order_result *r, char *err,
                   size_t errlen)
{
    s6_fill f = r->fill;
    if (f.result_id[0] == '\0')
        snprintf(f.result_id, sizeof f.result_id, "%s", r->result_id);
    if (f.intent_id[0] == '\0')
        snprintf(f.intent_id, sizeof f.intent_id, "%s", r->intent_id);
    if (f.ts == 0)
        f.ts = r->ts;
    char bad[160];
    if (fill_problem(&f, r->market, bad, sizeof bad) != 0)
        return refuse(e, err, errlen, r->result_id, bad);
    if (applied_before(e, r, &f))
        return 0;
    e_pos *p = position_for(e, r);
    if (p != NULL && made_before(r, &f, p)) {
        s6_log_warn(e->log, "engine", "fill naming a closed position, "
                    "made before the open one opened: not applied to it",
                    S6_LOG_STR("result_id", r->result_id),
                    S6_LOG_STR("intent_id", f.intent_id),
                    S6_LOG_STR("open_pos_id", p->rec.pos.id));
        return 0;
    }
    s6_order_result hedged;
    bool hedge = p != NULL && p->rec.pos.market != r->market;
    size_t hedger = hedge ? e_slot(e, p) : 0; /* a slot: e->pos may move */
    if (hedge) {
        /* a SPOT position's hedge fills on the FUT market: the order is
         * the SPOT position's, the quantity the FUT position's */
        hedged = *r;
        hedged.pos_id[0] = '\0';
        r = &hedged;
        p = e_find_open(e, r->market, r->symbol);
    }
    bool merged = false;
    if (!hedge && p != NULL && other_entry(e, p, r, &f)) {
        if (s6_position_has_seen(&p->rec.pos, f.result_id))
            return 0;
        if (absorbs(e, p, r, &f)) {
            s6_position_mark_seen(&p->rec.pos, f.result_id);
            absorb_entry(e, p, r);
            return 0;
        }
        merged = true;
    }
    bool created = false;
    if (p == NULL) {
        if (!hedge && f.kind != S6_FILL_ENTRY && f.kind != S6_FILL_MANUAL)
            return refuse(e, err, errlen, r->result_id,
                          "no open position for this market and symbol: only "
                          "an ENTRY fill opens one");
        char why[160] = "";
        p = open_new(e, r, why, sizeof why);
        if (p == NULL)
            return refuse(e, err, errlen, r->result_id, why);
        created = true;
    }
    int old_state = p->rec.pos.state;
    double realized = p->rec.pos.realized_pnl;
    s6_fill_effect eff;
    char why[160] = "";
    if (s6_position_apply_fill(&p->rec.pos, &f, e_sym(e, p)->step, &eff, why,
                               sizeof why) != 0) {
        if (created)
            e_free_pos(e, p);
        return refuse(e, err, errlen, r->result_id, why);
    }
    if (eff == S6_FILL_DUPLICATE)
        return 0;
    if (merged) {
        claim_reservation(e, p, r);
        p->rec.adoption.waiting = false;
        e_count(e, "s6_risk_alerts_total", "entry_merged", NULL);
        e_event(e, p, "ENTRY_MERGED", f.qty, "", "{s:s,s:s,s:f,s:i}",
                "merged_pos_id", r->pos_id, "result_id", r->result_id,
                "budget", r->risk_reserved, "concurrency",
                r->concurrency_reserved);
    }
    if (hedge) {
        fill_inflight(e, &e->pos[hedger], &f, S6_FILL_GREW);
        e_save(e, &e->pos[hedger]);
    }
    e_day_pnl(e, &e->mkts[p->mkt], p->rec.pos.realized_pnl - realized);
    after_fill(e, p, r, &f, eff, old_state);
    if (p->rec.pos.state == S6_POS_ACTIVE && e->mkts[p->mkt].has &&
        e->resumed) {
        e_pos *one = p;
        e_evaluate(e, &one, 1, S6_TRIG_FILL);
    }
    e_save(e, p);
    e_snapshot(e, p);
    return 0;
}

static void on_accepted(s6_engine *e, e_pos *p, const char *intent)
{
    s6_inflight *o = e_inflight_find(p, intent);
    if (p->rec.stop.pending.live &&
        strcmp(p->rec.stop.pending.intent_id, intent) == 0)
        e_stop_placed(e, p, intent);
    else if (o != NULL)
        o->status = S6_INF_TAKEN;
    else if (strcmp(p->rec.stop.confirmed.intent_id, intent) != 0)
        unknown_intent(e, "accepted", intent); /* a repeat is quiet */
}

static void on_refused(s6_engine *e, e_pos *p, const s6_order_result *r)
{
    s6_stop *st = &p->rec.stop;
    s6_inflight *o = e_inflight_find(p, r->intent_id);
    bool rejected = r->kind == S6_RES_REJECTED;
    if (st->pending.live && strcmp(st->pending.intent_id, r->intent_id) == 0) {
        e_stop_refused(e, p, r->intent_id, r->reason);
    } else if (!rejected && st->cancelling.live &&
               strcmp(st->cancelling.intent_id, r->intent_id) == 0) {
        s6_stop_cancelled(st, r->intent_id);
        p->cancel_in_flight = false;
        e_event(e, p, "STOP_CANCELLED", 0, "", "{s:s}", "intent_id",
                r->intent_id);
    } else if (!rejected && st->confirmed.live &&
               strcmp(st->confirmed.intent_id, r->intent_id) == 0) {
        /* the venue dropped the live stop: guard now, a new stop next */
        st->guard = st->confirmed.price;
        st->confirmed.live = false;
        p->rec.stop_needed = true;
        e_event(e, p, "STOP_LOST", st->guard, "", "{s:s,s:s}", "intent_id",
                r->intent_id, "reason", r->reason);
        e_protect(e, p);
    } else if (o != NULL) {
        e_order_dead(e, p, o, rejected ? "REJECTED" : "CANCELED", r->reason);
    }
}

int s6_engine_on_result(s6_engine *e, const s6_order_result *r, char *err,
                        size_t errlen)
{
    if (e == NULL || r == NULL)
        return -EINVAL;
    const char *why = result_problem(r);
    if (why != NULL)
        return refuse(e, err, errlen, r->result_id, why);
    if (seen_recently(e, r->result_id))
        return 0;
    e_note_result(e, r);
    if (r->kind != S6_RES_ACCEPTED)
        e_leftover_gone(e, r->intent_id); /* filled, refused or cancelled */
    int rc = 0;
    if (r->kind == S6_RES_FILL) {
        rc = on_fill(e, r, err, errlen);
    } else if (r->kind == S6_RES_FUNDING) {
        rc = e_on_funding(e, r, err, errlen);
    } else {
        e_pos *p = position_for(e, r);
        if (p == NULL || p->rec.pos.state == S6_POS_CLOSED) {
            unknown_intent(e, "result", r->intent_id);
        } else {
            if (r->kind == S6_RES_ACCEPTED)
                on_accepted(e, p, r->intent_id);
            else
                on_refused(e, p, r);
            e_save(e, p);
        }
    }
    if (rc == 0)
        remember(e, r->result_id);
    return rc;
}
