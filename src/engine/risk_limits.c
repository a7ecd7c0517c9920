/*
 * risk_limits.c — the host's risk limits on every position S6 manages,
 * whoever opened it (docs/engine.md, "Risk limits"):
 *   - an entry or a growth above risk.max_position_qty, _notional or
 *     max_leverage raises an alert and a RISK event; S6 did not open it,
 *     so it does not refuse it, but it reduces it to the limit when
 *     risk.enforce_entry_limits says so;
 *   - the daily loss alert, once per UTC day, when today's realized PnL
 *     crosses -risk.daily_loss_limit;
 *   - the concurrency quota add-ons respect;
 *   - RISK_LIMIT raised with the treasury when the risk-budget use
 *     crosses treasury.triggers.risk_limit.threshold (once per crossing).
 */
#include <math.h>

#include "engine/internal.h"

/* The largest quantity the size limits allow at price, on the step. */
static double allowed_qty(const s6_config *c, const s6_symbol_cfg *sym,
                          double price)
{
    double q = fmin(c->risk.max_position_qty,
                    c->risk.max_position_notional / price);
    return floor(q / sym->step + 1e-9) * sym->step;
}

static void reduce_to_limit(s6_engine *e, e_pos *p)
{
    s6_position *pos = &p->rec.pos;
    const s6_symbol_cfg *sym = e_sym(e, p);
    double price = e->mkts[p->mkt].has ? e->mkts[p->mkt].mark : pos->entry;
    double excess = pos->qty - allowed_qty(e->cfg, sym, price);
    excess = floor(excess / sym->step + 0.5) * sym->step;
    if (excess < sym->min_qty || e_inflight_of(p, S6_PURPOSE_CLOSE) != NULL ||
        e_inflight_of(p, S6_PURPOSE_TP) != NULL)
        return;
    s6_inflight *o = NULL;
    /* a reduce, not a close: the position stays ACTIVE at the limit */
    if (e_send_order(e, p, S6_PURPOSE_CLOSE, -pos->side, excess,
                     pos->market == S6_MARKET_FUT, "", &o) == 0)
        e_event(e, p, "RISK_REDUCE", excess, "", "{s:s,s:f,s:f}",
                "intent_id", o->intent_id, "qty", excess, "to",
                pos->qty - excess);
}

static void entry_limits(s6_engine *e, e_pos *p)
{
    const s6_config *c = e->cfg;
    const s6_position *pos = &p->rec.pos;
    const struct {
        const char *limit;
        double value, max;
        bool size;            /* a reduce brings it back under */
    } checks[] = {
        {"max_position_qty", pos->qty, c->risk.max_position_qty, true},
        {"max_position_notional", pos->qty * pos->entry,
         c->risk.max_position_notional, true},
        {"max_leverage", pos->leverage, c->risk.max_leverage, false},
    };
    bool oversize = false;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!(checks[i].value > checks[i].max * (1 + 1e-9)))
            continue;
        oversize |= checks[i].size;
        e_count(e, "s6_risk_alerts_total", "entry_limit", NULL);
        e_event(e, p, "RISK", checks[i].value, "", "{s:s,s:f,s:f,s:b}",
                "limit", checks[i].limit, "value", checks[i].value, "max",
                checks[i].max, "enforced", c->risk.enforce_entry_limits);
    }
    if (oversize && c->risk.enforce_entry_limits)
        reduce_to_limit(e, p);
}

void e_daily_loss_watch(s6_engine *e, e_pos *p)
{
    double limit = e->cfg->risk.daily_loss_limit;
    double day = floor(e_now(e) / 86400.0) * 86400.0;
    if (!(limit > 0) || e->day_start != day || e->day_realized > -limit ||
        e->daily_loss_day == day)
        return;
    e->daily_loss_day = day; /* once per UTC day, restarts included */
    e_book_save(e);
    e_count(e, "s6_risk_alerts_total", "daily_loss", NULL);
    e_event(e, p, "DAILY_LOSS", e->day_realized, "", "{s:f,s:f}",
            "realized_today", e->day_realized, "limit", limit);
}

void e_risk_after_fill(s6_engine *e, e_pos *p, int effect)
{
    if (effect == S6_FILL_OPENED || effect == S6_FILL_CLOSED)
        e->open_known = false; /* the fill moved the state */
    if (effect == S6_FILL_OPENED || effect == S6_FILL_GREW)
        entry_limits(e, p);
    e_daily_loss_watch(e, p);
}

/* Counted again only after a state changed: a price update that acts
 * must not walk a book of thousands of positions. */
bool e_concurrency_ok(s6_engine *e)
{
    if (!e->open_known) {
        e->n_open = 0;
        for (size_t i = 0; i < e->n_pos; i++)
            e->n_open += e->pos[i].used &&
                         e->pos[i].rec.pos.state != S6_POS_CLOSED;
        e->open_known = true;
    }
    return e->n_open <= e->cfg->risk.max_concurrent_positions;
}

void e_budget_watch(s6_engine *e)
{
    double budget = e->cfg->risk.budget;
    double use = budget > 0 ? e->reserved / budget : 0;
    bool over = use >= e->cfg->treasury.risk_limit.threshold;
    if (over == e->budget_over)
        return;
    e->budget_over = over;
    s6_log_write(e->log, over ? S6_LOG_WARN : S6_LOG_INFO, "engine",
                 over ? "risk budget use over the RISK_LIMIT threshold"
                      : "risk budget use back under the RISK_LIMIT threshold",
                 (s6_log_field[]){S6_LOG_NUM("use", use)}, 1);
    const s6_treasury_edge *t = &e->edges.treasury;
    if (over && t->raise != NULL && t->raise(t->ud, "RISK_LIMIT", 0, use) != 0)
        s6_log_warn(e->log, "engine", "treasury refused RISK_LIMIT",
                    S6_LOG_NUM("use", use));
}
