/*
 * metrics.c — the collected families of the metrics catalogue
 * (s6_positions, PnL, risk budget, concurrency, liquidation distance),
 * filled from the engine's positions at each scrape so they never drift
 * from the state they describe.
 */
#include <math.h>

#include "engine/internal.h"

static void gauge(s6_metrics *m, const char *name, size_t n,
                  const char *const *labels, double v)
{
    s6_gauge *g;
    if (s6_gauge_get(m, name, n, labels, &g) == 0)
        s6_gauge_set(g, v);
}

/* One market's open position into the per-symbol families. */
/* The exchange's margin ratio of a FUT position, and the worst one. */
static void collect_margin(s6_engine *e, s6_metrics *m, const e_mkt *mk,
                           const e_pos *p, double *worst)
{
    double ratio;
    if (mk->market != S6_MARKET_FUT)
        return;
    const char *l[] = {mk->symbol};
    bool have = p != NULL && p->rec.pos.qty > 0 &&
                e_margin_ratio(e, p, &ratio) == 0;
    gauge(m, "s6_margin_ratio", 1, l, have ? ratio : 0);
    if (have && ratio > *worst)
        *worst = ratio;
}

static void collect_market(s6_engine *e, s6_metrics *m, const e_mkt *mk,
                           double *liq_min, int *slots, double *worst)
{
    static const s6_pos_state open_states[] = {
        S6_POS_PENDING_ENTRY, S6_POS_ACTIVE, S6_POS_PENDING_CLOSING};
    const char *market = s6_market_name(mk->market);
    e_pos *p = e_find_open(e, mk->market, mk->symbol);
    for (size_t i = 0; i < 3; i++) {
        const char *l[] = {s6_pos_state_name(open_states[i]), market,
                           mk->symbol};
        gauge(m, "s6_positions", 3, l,
              p != NULL && p->rec.pos.state == open_states[i]);
    }
    const char *ms[] = {market, mk->symbol};
    gauge(m, "s6_realized_pnl", 2, ms, mk->day_realized);
    s6_pos_view v;
    bool viewed = p != NULL && p->rec.pos.qty > 0 && e_view(e, p, &v) == 0;
    gauge(m, "s6_unrealized_pnl", 2, ms, viewed ? v.upnl : 0);
    collect_margin(e, m, mk, p, worst);
    if (p != NULL && !p->rec.quota_released)
        *slots += p->rec.concurrency_reserved;
    if (!viewed || !(v.liq_price > 0) || !isfinite(v.liq_distance))
        return;
    s6_hist *h;
    if (s6_hist_get(m, "s6_liquidation_distance_ratio", 0, NULL, &h) == 0)
        s6_hist_observe(h, v.liq_distance);
    if (v.liq_distance < *liq_min)
        *liq_min = v.liq_distance;
}

int s6_engine_collect(s6_metrics *m, void *ud)
{
    s6_engine *e = ud;
    if (m == NULL || e == NULL)
        return -1;
    double liq_min = INFINITY, worst = 0;
    int slots = 0;
    for (size_t i = 0; i < e->n_mkts; i++)
        collect_market(e, m, &e->mkts[i], &liq_min, &slots, &worst);
    gauge(m, "s6_margin_ratio_max", 0, NULL, worst);
    gauge(m, "s6_risk_budget_reserved", 0, NULL, e->reserved);
    gauge(m, "s6_risk_budget_limit", 0, NULL, e->cfg->risk.budget);
    gauge(m, "s6_concurrency_used", 0, NULL, slots);
    gauge(m, "s6_concurrency_limit", 0, NULL,
          e->cfg->risk.max_concurrent_positions);
    gauge(m, "s6_liquidation_distance_min_ratio", 0, NULL, liq_min);
    return 0;
}
