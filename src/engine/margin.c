/*
 * margin.c — the margin ratio of each FUT position, its alert levels, the
 * MARGIN_CALL trigger, and the isolated margin S6 adds from the futures
 * wallet when the ratio reaches the call level (docs/engine.md, "Margin").
 *
 * The ratio is the exchange's: maintenance margin (from the symbol's
 * brackets, at the mark's notional) over the position's margin balance
 * (isolated margin plus unrealized PnL).  At 1.0 the exchange liquidates.
 *
 * A margin add is money moving, so it is treated as a transfer is: an
 * idempotency key persisted before the call (the record is saved first),
 * an amount capped by configuration, a minimum interval between two, the
 * same key on every resend until S4 answers, and the books changed once,
 * on S4's answer.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/s6_core.h"
#include "engine/internal.h"

/* Per level: the event a move to it emits, and the alert kind counted in
 * s6_risk_alerts_total when the ratio rises into it. */
static const struct {
    const char *event, *alert;
} LEVELS[S6_MARGIN_LEVEL_COUNT] = {
    [S6_MARGIN_OK] = {"MARGIN_CLEARED", NULL},
    [S6_MARGIN_ALERT] = {"MARGIN_ALERT", "margin_ratio"},
    [S6_MARGIN_CALL] = {"MARGIN_CALL", "margin_call"},
};

static double mark_of(const s6_engine *e, const e_pos *p)
{
    const e_mkt *m = &e->mkts[p->mkt];
    return m->has ? m->mark : p->rec.mark;
}

int e_margin_ratio(const s6_engine *e, const e_pos *p, double *out)
{
    const s6_position *pos = &p->rec.pos;
    double mark = mark_of(e, p);
    if (pos->market != S6_MARKET_FUT || pos->side == 0 || !(pos->qty > 0) ||
        !(mark > 0))
        return S6_EINVAL;
    if (!(pos->margin > 0)) { /* nothing left to carry the position */
        *out = INFINITY;
        return 0;
    }
    double mmr, cum;
    e_bracket(e->mkts[p->mkt].sym, pos->qty * mark, &mmr, &cum);
    double r = s6_margin_ratio(pos->side, pos->qty, pos->entry, mark,
                               pos->margin, mmr, cum);
    if (isnan(r))
        return S6_EINVAL;
    *out = r;
    return 0;
}

static int level_of(const s6_config *c, double ratio)
{
    if (ratio >= c->treasury.margin_call.threshold)
        return S6_MARGIN_CALL;
    return ratio >= c->risk.margin_alert_ratio ? S6_MARGIN_ALERT
                                               : S6_MARGIN_OK;
}

/* The margin that brings the ratio down to risk.margin_add_target_ratio,
 * capped by risk.margin_add_max, down to the cent; 0 when none. */
static double add_amount(const s6_engine *e, const e_pos *p)
{
    const s6_position *pos = &p->rec.pos;
    const s6_config *c = e->cfg;
    double mark = mark_of(e, p), mmr, cum;
    e_bracket(e->mkts[p->mkt].sym, pos->qty * mark, &mmr, &cum);
    double maint = fmax(0.0, pos->qty * mark * mmr - cum);
    double balance = pos->margin + s6_upnl(pos->side, pos->qty, pos->entry,
                                           mark);
    double need = maint / c->risk.margin_add_target_ratio - balance;
    need = fmin(need, c->risk.margin_add_max);
    double cents = floor(need * 100.0 + 1e-9) / 100.0;
    return isfinite(cents) && cents >= 0.01 ? cents : 0.0;
}

static void margin_done(void *cb_ud, const char *intent_id, int outcome,
                        const char *detail);

static void send_add(s6_engine *e, e_pos *p)
{
    s6_margin_state *ms = &p->rec.margin;
    s6_margin_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.intent_id, sizeof o.intent_id, "%s", ms->intent_id);
    snprintf(o.pos_id, sizeof o.pos_id, "%s", p->rec.pos.id);
    snprintf(o.symbol, sizeof o.symbol, "%s", p->rec.pos.symbol);
    o.market = p->rec.pos.market;
    o.amount = ms->amount;
    snprintf(o.amount_str, sizeof o.amount_str, "%.2f", ms->amount);
    ms->status = S6_INF_SENT;
    ms->attempts++;
    e_save(e, p); /* the key is durable before it leaves */
    p->margin_in_flight = true;
    const s6_router *rt = &e->edges.router;
    int rc = rt->add_margin(rt->ud, &o, margin_done, e);
    if (rc != 0) {
        p->margin_in_flight = false;
        char why[48];
        snprintf(why, sizeof why, "not sent: rc %d", rc);
        margin_done(e, o.intent_id, S6_ROUTE_FAILED, why);
    }
}

/* At the call level: one add at a time, at most one per interval. */
static void maybe_add(s6_engine *e, e_pos *p)
{
    const s6_config *c = e->cfg;
    s6_margin_state *ms = &p->rec.margin;
    if (!c->risk.margin_add_enabled || e->edges.router.add_margin == NULL ||
        ms->intent_id[0] != '\0' ||
        (ms->last_add_at > 0 &&
         e_now(e) - ms->last_add_at < c->risk.margin_add_min_interval_s))
        return;
    double amount = add_amount(e, p);
    if (amount <= 0)
        return;
    if (s6_position_next_intent(&p->rec.pos, "mg", ms->intent_id) != 0)
        return;
    ms->amount = amount;
    ms->attempts = 0;
    ms->last_add_at = e_now(e);
    e_event(e, p, "MARGIN_ADD_SENT", amount, "", "{s:s,s:f,s:f}",
            "intent_id", ms->intent_id, "amount", amount, "margin",
            p->rec.pos.margin);
    send_add(e, p);
}

static void raise_call(s6_engine *e, e_pos *p, double ratio)
{
    const s6_treasury_edge *t = &e->edges.treasury;
    if (t->raise == NULL)
        return;
    int rc = t->raise(t->ud, "MARGIN_CALL", 0, ratio);
    if (rc != 0)
        s6_log_warn(e->log, "engine", "treasury refused the margin call",
                    S6_LOG_STR("pos_id", p->rec.pos.id), S6_LOG_INT("rc", rc));
}

void e_margin_watch(s6_engine *e, e_pos *p)
{
    double ratio;
    if (p->rec.pos.state != S6_POS_ACTIVE ||
        e_margin_ratio(e, p, &ratio) != 0)
        return;
    s6_margin_state *ms = &p->rec.margin;
    int level = level_of(e->cfg, ratio);
    if (level != ms->level) {
        bool rising = level > ms->level;
        ms->level = level;
        if (rising && LEVELS[level].alert != NULL)
            e_count(e, "s6_risk_alerts_total", LEVELS[level].alert, NULL);
        e_event(e, p, LEVELS[level].event, ratio, "", "{s:f,s:f,s:f}",
                "margin_ratio", ratio, "alert_ratio",
                e->cfg->risk.margin_alert_ratio, "call_ratio",
                e->cfg->treasury.margin_call.threshold);
        if (rising && level == S6_MARGIN_CALL)
            raise_call(e, p, ratio);
        e_save(e, p);
    }
    if (level == S6_MARGIN_CALL)
        maybe_add(e, p);
}

/* ---- the answer ---- */

static void clear_add(s6_margin_state *ms)
{
    ms->intent_id[0] = '\0';
    ms->status = 0;
    ms->attempts = 0;
    ms->retry_tick = 0;
}

static void added(s6_engine *e, e_pos *p)
{
    s6_margin_state *ms = &p->rec.margin;
    s6_pos_view before, after;
    double r0 = NAN, r1 = NAN;
    bool viewed = e_view(e, p, &before) == 0;
    (void)e_margin_ratio(e, p, &r0);
    p->rec.pos.margin += ms->amount;
    ms->added += ms->amount;
    viewed = viewed && e_view(e, p, &after) == 0;
    (void)e_margin_ratio(e, p, &r1);
    e_event(e, p, "MARGIN_ADDED", ms->amount, "",
            "{s:s,s:f,s:f,s:f,s:f,s:f,s:f}", "intent_id", ms->intent_id,
            "amount", ms->amount, "margin", p->rec.pos.margin,
            "liq_price_before", viewed ? before.liq_price : 0.0,
            "liq_price", viewed ? after.liq_price : 0.0,
            "margin_ratio_before", isfinite(r0) ? r0 : -1.0,
            "margin_ratio", isfinite(r1) ? r1 : -1.0);
    clear_add(ms);
    e_save(e, p);
    e_snapshot(e, p);
}

static void margin_done(void *cb_ud, const char *intent_id, int outcome,
                        const char *detail)
{
    s6_engine *e = cb_ud;
    e_pos *p = e_by_intent(e, intent_id);
    if (p == NULL || strcmp(p->rec.margin.intent_id, intent_id) != 0) {
        s6_log_warn(e->log, "engine", "margin answer for no add in flight",
                    S6_LOG_STR("intent_id", intent_id));
        return;
    }
    p->margin_in_flight = false;
    s6_margin_state *ms = &p->rec.margin;
    if (outcome == S6_ROUTE_OK) {
        added(e, p);
        return;
    }
    bool give_up = outcome == S6_ROUTE_REJECTED ||
                   ms->attempts >= S6_ENGINE_ORDER_MAX_ATTEMPTS;
    if (give_up) {
        e_event(e, p, outcome == S6_ROUTE_REJECTED ? "MARGIN_ADD_REFUSED"
                                                   : "MARGIN_ADD_FAILED",
                ms->amount, "", "{s:s,s:f,s:s}", "intent_id", intent_id,
                "amount", ms->amount, "reason", detail ? detail : "");
        clear_add(ms);
    } else {
        unsigned wait = ms->attempts < S6_ENGINE_BACKOFF_MAX_TICKS
                            ? ms->attempts
                            : S6_ENGINE_BACKOFF_MAX_TICKS;
        ms->status = S6_INF_FAILED;
        ms->retry_tick = e->ticks + wait;
        s6_log_warn(e->log, "engine", "margin add failed, will resend",
                    S6_LOG_STR("intent_id", intent_id),
                    S6_LOG_STR("detail", detail ? detail : ""));
    }
    e_save(e, p);
}

/* On the tick: an add S4 never answered (or one a restart found sent) goes
 * again with its key; S4 answers the first, so money moves once. */
void e_margin_tick(s6_engine *e, e_pos *p)
{
    s6_margin_state *ms = &p->rec.margin;
    if (ms->intent_id[0] == '\0' || p->margin_in_flight)
        return;
    if (p->rec.pos.state == S6_POS_CLOSED ||
        e->edges.router.add_margin == NULL) {
        clear_add(ms);
        e_save(e, p);
        return;
    }
    if (ms->status == S6_INF_FAILED && e->ticks < ms->retry_tick)
        return;
    send_add(e, p);
}
