/*
 * market.c — market data in: each update checked field by field, then
 * hygiene (an update older than market_data.max_age_s is dropped, a mark
 * that jumps more than market_data.jump_hold_frac is held until a second
 * update confirms it), the accepted data kept per (market, symbol) and
 * the symbol's positions evaluated (eval.c); strategy signals; the market
 * view the rules see.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

bool e_market_fresh(const s6_engine *e, const e_mkt *m)
{
    return m->has && e_now(e) - m->ts <= e->cfg->market_data.max_age_s;
}

void e_mkt_view(const s6_engine *e, const e_mkt *m, int trigger,
                s6_mkt_view *v)
{
    double now = e_now(e);
    memset(v, 0, sizeof *v);
    v->now = now;
    v->mark = m->mark;
    v->last = m->last > 0 ? m->last : m->mark;
    v->mid = m->mid > 0 ? m->mid : m->mark;
    v->atr = m->atr > 0 ? m->atr : NAN;
    v->health = m->health;
    v->trigger = trigger;
    if (m->signal_side != 0 &&
        now - m->signal_ts <= e->cfg->market_data.max_age_s) {
        v->signal_side = m->signal_side;
        v->signal_strength = m->signal_strength;
    }
}

static const char *update_problem(const s6_engine *e, const s6_market_update *m)
{
    if (!(isfinite(m->mark) && m->mark > 0))
        return "mark: a finite number > 0";
    if (!isfinite(m->ts))
        return "ts: a finite time";
    if (!(isfinite(m->last) && m->last >= 0))
        return "last: a finite number >= 0 (0 = unknown)";
    if (!(isfinite(m->mid) && m->mid >= 0))
        return "mid: a finite number >= 0 (0 = unknown)";
    if (!(isnan(m->atr) || (isfinite(m->atr) && m->atr >= 0)))
        return "atr: a finite number >= 0, or NaN";
    if (!(isnan(m->health) || (m->health >= 0 && m->health <= 1)))
        return "health: 0..1, or NaN";
    size_t nreg = e->cfg->rules.regimes.n > 0 ? e->cfg->rules.regimes.n : 1;
    if (m->regime < -1 || (m->regime >= 0 && (size_t)m->regime >= nreg))
        return "regime: an index into rules.regimes, or -1";
    return NULL;
}

/* Hygiene: old data is dropped; a jump is held until a second update
 * confirms it.  True when the update is accepted. */
static bool hygiene(s6_engine *e, e_mkt *mk, const s6_market_update *m)
{
    double now = e_now(e);
    if (now - m->ts > e->cfg->market_data.max_age_s) {
        e->stale_dropped++;
        e_count(e, "s6_risk_alerts_total", "stale_market", NULL);
        /* once per run of stale updates: a feed that lags says so
         * without flooding the log */
        if (!mk->stale_warned)
            s6_log_warn(e->log, "engine", "stale market data dropped, "
                        "nothing acts on it", S6_LOG_STR("symbol", mk->symbol),
                        S6_LOG_NUM("age_s", now - m->ts),
                        S6_LOG_NUM("max_age_s",
                                   e->cfg->market_data.max_age_s));
        mk->stale_warned = true;
        return false;
    }
    double hold = e->cfg->market_data.jump_hold_frac;
    if (mk->has && hold > 0 &&
        fabs(m->mark - mk->mark) / mk->mark > hold) {
        bool confirms = mk->held &&
                        fabs(m->mark - mk->held_mark) / mk->held_mark <= hold;
        if (!confirms) {
            mk->held = true;
            mk->held_mark = m->mark;
            e->jumps_held++;
            e_count(e, "s6_risk_alerts_total", "mark_jump", NULL);
            s6_log_warn(e->log, "engine", "mark jump held for confirmation",
                        S6_LOG_STR("symbol", mk->symbol));
            return false;
        }
    }
    return true;
}

int s6_engine_on_market(s6_engine *e, const char *symbol, int market,
                        const s6_market_update *m)
{
    if (e == NULL || symbol == NULL || m == NULL)
        return -EINVAL;
    const char *why = update_problem(e, m);
    if (why != NULL) {
        s6_log_warn(e->log, "engine", "market update refused",
                    S6_LOG_STR("symbol", symbol), S6_LOG_STR("error", why));
        return -EINVAL;
    }
    int mi = e_mkt_index(e, market, symbol);
    if (mi < 0)
        return mi;
    e_mkt *mk = &e->mkts[mi];
    if (!hygiene(e, mk, m))
        return 0;
    mk->has = true;
    mk->held = false;
    mk->stale_warned = false;
    mk->mark = m->mark;
    mk->last = m->last;
    mk->mid = m->mid;
    mk->ts = m->ts;
    if (isfinite(m->atr) && m->atr > 0)
        mk->atr = m->atr;
    if (m->regime >= 0)
        mk->regime = m->regime;
    if (!isnan(m->health))
        mk->health = m->health;
    e->last_price = e_now(e);
    return e_evaluate_where(e, mi, symbol, S6_TRIG_PRICE);
}

int s6_engine_on_signal(s6_engine *e, const char *symbol, int side,
                        double strength, double ts)
{
    if (e == NULL || symbol == NULL || (side != 1 && side != -1) ||
        !(strength >= 0 && strength <= 1) || !isfinite(ts))
        return -EINVAL;
    bool any = false;
    for (int market = S6_MARKET_FUT; market <= S6_MARKET_SPOT; market++) {
        int mi = e_mkt_index(e, market, symbol);
        if (mi < 0)
            continue;
        any = true;
        e->mkts[mi].signal_side = side;
        e->mkts[mi].signal_strength = strength;
        e->mkts[mi].signal_ts = ts;
    }
    if (!any)
        return -ENOENT;
    return e_evaluate_where(e, -1, symbol, S6_TRIG_SIGNAL);
}
