/*
 * eval.c — one batch of positions through the rules: protection first
 * (a touched guard closes, a missing stop is asked for), the views, the
 * liquidation alert, the rules edge with the guard's limits, and each
 * plan handed to the executor (exec.c); which positions an input
 * evaluates, and the manage tick.  Market input and hygiene are
 * market.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "contract/guard.h"
#include "core/s6_core.h"

static double inf_or(double v) { return v > 0 ? v : INFINITY; }

int e_limits(s6_engine *e, e_pos *p, s6_symbol_filters *f, s6_limits *lim,
             bool manual_loosen)
{
    const s6_symbol_cfg *sym = e_sym(e, p);
    const s6_config *c = e->cfg;
    const s6_engine_record *r = &p->rec;
    /* a hedged SPOT position's plan is sized on the FUT grid, where its
     * hedge goes (docs/rules.md); the FUT step is a multiple of SPOT's */
    const s6_symbol_cfg *fut = e_symbol(e, S6_MARKET_FUT, r->pos.symbol);
    if (r->pos.market == S6_MARKET_SPOT && fut != NULL &&
        isfinite(e_target_exposure(e, r->pos.symbol)))
        sym = fut;
    f->tick = sym->tick;
    f->step = sym->step;
    f->min_qty = sym->min_qty;
    f->min_notional = sym->min_notional;
    memset(lim, 0, sizeof *lim);
    lim->max_position_qty = inf_or(c->risk.max_position_qty);
    lim->max_position_notional = inf_or(c->risk.max_position_notional);
    lim->max_leverage = inf_or(c->risk.max_leverage);
    lim->add_cap = (int)c->risk.add_on_cap;
    lim->add_min_interval_s = c->risk.add_on_min_interval_s;
    /* today's figure: yesterday's losses do not block today's adds */
    bool today = floor(e_now(e) / 86400.0) * 86400.0 == e->day_start;
    lim->daily_loss_hit = c->risk.daily_loss_limit > 0 && today &&
                          e->day_realized <= -c->risk.daily_loss_limit;
    double free_budget = c->risk.budget - e->reserved;
    lim->risk_budget_free = free_budget > 0 ? free_budget : 0;
    lim->concurrency_ok = e_concurrency_ok(e);
    lim->min_stop_move_frac = c->risk.stop_min_move_frac;
    lim->stop_replace_in_flight = r->stop.pending.live ||
                                  r->stop.cancelling.live;
    lim->add_in_flight = e_inflight_of(p, S6_PURPOSE_ADD) != NULL;
    lim->manual_loosen_allowed = manual_loosen;
    lim->hedge_in_flight = e_inflight_of(p, S6_PURPOSE_HEDGE) != NULL;
    return 0;
}

/* Might an action of this position's plan be left undone?  Then the rule
 * state is kept before the evaluation (not for every position: it costs
 * a copy). */
static bool may_be_left_undone(s6_engine *e, e_pos *p)
{
    static const int purposes[] = {S6_PURPOSE_TP, S6_PURPOSE_CLOSE,
                                   S6_PURPOSE_ADD, S6_PURPOSE_HEDGE};
    if (e_inflight_of(p, S6_PURPOSE_TP) != NULL ||
        e_inflight_of(p, S6_PURPOSE_CLOSE) != NULL)
        return true;
    for (size_t i = 0; e->blocks != NULL && i < 4; i++)
        if (e_paused(e, p->rec.pos.symbol, purposes[i]))
            return true;
    return false;
}

/* ---- one batch through the rules ---- */

static unsigned state_gen(s6_engine *e, e_pos *p)
{
    return e->edges.rules.state_gen != NULL
               ? e->edges.rules.state_gen(e->edges.rules.ud, (int)e_slot(e, p))
               : 0;
}

/*
 * A batch may be answered later (rules in a worker, on the loop), so it
 * names its positions by slot (the book may grow meanwhile) and by the
 * version each was evaluated at.  A position saved since (a fill, a
 * close, a stop confirmed) is no longer the one its rules saw: its plan
 * and rule-state changes are dropped and it is evaluated again.
 */
struct e_batch {
    s6_engine *e;
    size_t n;
    int trigger;
    size_t *slots;
    unsigned *versions;
    unsigned *gens;   /* each position's rule-state generation, as saved */
    bool *dropped;
    s6_pos_view *pv;
    s6_mkt_view *mv;
    s6_decide_hooks hooks;
    s6_decide_stats stats;
};
typedef struct e_batch batch;

static e_pos *pos_of(const batch *b, size_t pi)
{
    return &b->e->pos[b->slots[pi]];
}

/* The trigger waits for the batch in flight (one at a time). */
static void want(s6_engine *e, e_pos *p, int trigger)
{
    size_t slot = e_slot(e, p);
    if (slot >= e->want_cap) {
        size_t cap = e->cap_pos > slot ? e->cap_pos : slot + 1;
        unsigned *w = realloc(e->want, cap * sizeof *w);
        if (w == NULL)
            return; /* the next tick evaluates it */
        memset(w + e->want_cap, 0, (cap - e->want_cap) * sizeof *w);
        e->want = w;
        e->want_cap = cap;
    }
    e->want[slot] |= (unsigned)trigger;
}

static int hook_limits(void *ud, size_t pi, s6_symbol_filters *f,
                       s6_limits *lim)
{
    batch *b = ud;
    return pi < b->n ? e_limits(b->e, pos_of(b, pi), f, lim, false) : -EINVAL;
}

static int hook_current(void *ud, size_t pi)
{
    batch *b = ud;
    if (pi >= b->n)
        return 0;
    e_pos *p = pos_of(b, pi);
    bool same = b->slots[pi] < b->e->n_pos && p->used &&
                p->rec.pos.state == S6_POS_ACTIVE &&
                p->version == b->versions[pi];
    if (same)
        return 1;
    b->dropped[pi] = true;
    if (b->slots[pi] < b->e->n_pos && p->used) {
        s6_log_info(b->e->log, "engine", "plan dropped: the position changed "
                    "while its rules ran", S6_LOG_STR("pos_id", p->rec.pos.id));
        if (p->rec.pos.state == S6_POS_ACTIVE)
            want(b->e, p, b->trigger);
    }
    return 0;
}
static void versions_json(s6_engine *e, const s6_plan_versions *v, char *out,
                          size_t len)
{
    json_t *o = json_object();
    for (size_t i = 0; v != NULL && i < v->n; i++) {
        const char *name = e->edges.rules.rule_name != NULL
                               ? e->edges.rules.rule_name(e->edges.rules.ud,
                                                          v->ids[i])
                               : NULL;
        char id[16];
        snprintf(id, sizeof id, "%d", v->ids[i]);
        json_object_set_new(o, name ? name : id, json_string(v->hashes[i]));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, len, "%s", text && strlen(text) < len ? text : "{}");
    free(text);
    json_decref(o);
}

static int held_purpose(const s6_proposal *pr)
{
    switch (pr->kind) {
    case S6_ACT_REDUCE: return S6_PURPOSE_TP;
    case S6_ACT_CLOSE:
        return pr->rule_index == S6_RULE_MANUAL ? S6_PURPOSE_CLOSE
                                                : S6_PURPOSE_TP;
    case S6_ACT_ADD: return S6_PURPOSE_ADD;
    case S6_ACT_HEDGE: return S6_PURPOSE_HEDGE;
    default: return 0;
    }
}

/*
 * The kill switch holds some of the proposals: they are taken out and the
 * rest guarded again, so a held close cannot push out the stop move it
 * would otherwise win over (protective work goes on while paused).  The
 * held ones are recorded and their rules' state put back.  Returns the
 * new plan in out (props in kept), or false when nothing was held.
 */
bool e_replan_unheld(s6_engine *e, e_pos *p, const s6_pos_view *v,
                     const s6_mkt_view *m, const s6_proposal *props, size_t n,
                     s6_plan *out, s6_proposal *kept, size_t *nkept)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int purpose = held_purpose(&props[i]);
        if (purpose == 0 || !e_paused(e, p->rec.pos.symbol, purpose)) {
            kept[k++] = props[i];
            continue;
        }
        e_rule_not_done(e, p, props[i].rule_index);
        e_event(e, p, "BLOCKED_PAUSED", props[i].qty, "", "{s:s,s:s}",
                "purpose", e_purpose_name(purpose), "reason", props[i].reason);
    }
    if (k == n)
        return false;
    s6_symbol_filters f;
    s6_limits lim;
    e_limits(e, p, &f, &lim, false);
    if (k == 0 || s6_guard_plan(v, m, &f, &lim, kept, k, out) != 0)
        s6_plan_init(out, v->slot);
    *nkept = k;
    return true;
}

static bool plan_empty(const s6_plan *plan)
{
    return !plan->stop.active && !plan->reduce.active && !plan->add.active &&
           !plan->hedge.active && plan->n_events == 0;
}

static void hook_plan(void *ud, size_t pi, const s6_plan *plan,
                      const s6_proposal *props, size_t n,
                      const s6_plan_versions *versions)
{
    batch *b = ud;
    if (pi >= b->n || n > S6_PLAN_MAX_PROPOSALS || b->dropped[pi])
        return;
    e_pos *p = pos_of(b, pi);
    s6_plan *again = malloc(sizeof *again);
    s6_proposal *kept = malloc(n * sizeof *kept + 1);
    size_t nkept = 0;
    if (again != NULL && kept != NULL &&
        e_replan_unheld(b->e, p, &b->pv[pi], &b->mv[pi], props, n, again,
                        kept, &nkept)) {
        plan = again;
        props = kept;
        n = nkept;
    }
    if (!plan_empty(plan)) { /* else everything was dropped (logged) */
        char vj[256];
        versions_json(b->e, versions, vj, sizeof vj);
        e_exec_plan(b->e, p, plan, props, n, vj, false, NULL);
        b->gens[pi] = state_gen(b->e, p); /* saved with the plan */
    }
    free(again);
    free(kept);
}

static void liq_alert(s6_engine *e, e_pos *p, const s6_pos_view *v)
{
    double frac = e->cfg->risk.liq_distance_alert_frac;
    if (p->rec.pos.market != S6_MARKET_FUT || !(v->liq_price > 0))
        return;
    bool inside = v->liq_distance < frac;
    if (inside == p->rec.liq_alerted)
        return;
    p->rec.liq_alerted = inside;
    if (inside) {
        e_count(e, "s6_risk_alerts_total", "liquidation_distance", NULL);
        e_event(e, p, "LIQ_ALERT", v->liq_distance, "", "{s:f,s:f,s:f}",
                "liq_price", v->liq_price, "distance", v->liq_distance,
                "threshold", frac);
    } else {
        e_event(e, p, "LIQ_ALERT_CLEARED", v->liq_distance, "", "{s:f}",
                "distance", v->liq_distance);
    }
    e_save(e, p);
}

/* Protection before rules: a touched guard closes at once, a missing or
 * mis-sized stop is asked for.  False when the rules must not run. */
static bool protect_first(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    const e_mkt *m = &e->mkts[p->mkt];
    r->mark = m->mark;
    if (m->atr > 0)
        r->atr = m->atr;
    if (r->best_price == 0 || r->pos.side * (m->mark - r->best_price) > 0)
        r->best_price = m->mark;
    if (s6_stop_guard_hit(&r->stop, e_guard_mark(e, p))) {
        e_guard_close(e, p, "guard touched");
        e_save(e, p);
        e_snapshot(e, p);
        return false;
    }
    e_protect(e, p);
    return r->pos.state == S6_POS_ACTIVE;
}

static void batch_free(batch *b)
{
    free(b);
}

/* The batch and its arrays in one block: a replay makes one per price. */
static batch *batch_new(s6_engine *e, size_t n, int trigger)
{
    size_t m = n + 1;
    size_t size = sizeof(batch) + m * (sizeof(s6_pos_view) +
                                       sizeof(s6_mkt_view) + sizeof(size_t) +
                                       2 * sizeof(unsigned) + sizeof(bool));
    batch *b = malloc(size);
    if (b == NULL)
        return NULL;
    char *at = (char *)(b + 1); /* views first: the strictest alignment */
    *b = (batch){.e = e, .trigger = trigger};
    b->pv = (s6_pos_view *)at, at += m * sizeof *b->pv;
    b->mv = (s6_mkt_view *)at, at += m * sizeof *b->mv;
    b->slots = (size_t *)at, at += m * sizeof *b->slots;
    b->versions = (unsigned *)at, at += m * sizeof *b->versions;
    b->gens = (unsigned *)at, at += m * sizeof *b->gens;
    b->dropped = (bool *)at;
    memset(b->dropped, 0, m * sizeof *b->dropped);
    b->hooks = (s6_decide_hooks){.limits = hook_limits, .plan = hook_plan,
                                 .current = hook_current, .ud = b};
    return b;
}

/* The batch is answered (now, or later from the loop). */
static void batch_finish(batch *b, int rc)
{
    s6_engine *e = b->e;
    if (rc != 0)
        s6_log_error(e->log, "engine", "rule evaluation failed",
                     S6_LOG_INT("rc", rc), S6_LOG_INT("positions",
                                                      (int64_t)b->n));
    for (size_t i = 0; i < b->n; i++) {
        e_pos *p = pos_of(b, i);
        if (b->slots[i] >= e->n_pos || !p->used)
            continue;
        e_drop_state(p);
        /* rule state moved without a plan (a step reached, a flag set):
         * persisted too, or a restart would forget it */
        if (!b->dropped[i] && state_gen(e, p) != b->gens[i])
            e_save(e, p);
    }
    batch_free(b);
}

static void drain(s6_engine *e);

static void batch_done(void *ud, int rc)
{
    batch *b = ud;
    s6_engine *e = b->e;
    e->flight = NULL;
    batch_finish(b, rc);
    drain(e);
}

/* Protection and the views now; the rules now or, with a worker on the
 * loop, later (batch_done). */
static int start_batch(s6_engine *e, e_pos **ps, size_t n, int trigger)
{
    batch *b = batch_new(e, n, trigger);
    if (b == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        e_pos *p = ps[i];
        if (!p->used || p->rec.pos.state != S6_POS_ACTIVE ||
            !e_market_fresh(e, &e->mkts[p->mkt]) || !protect_first(e, p) ||
            e_view(e, p, &b->pv[k]) != 0)
            continue;
        liq_alert(e, p, &b->pv[k]);
        e_margin_watch(e, p);
        if (may_be_left_undone(e, p))
            e_keep_state(e, p);
        e_mkt_view(e, &e->mkts[p->mkt], trigger, &b->mv[k]);
        b->gens[k] = state_gen(e, p);
        b->versions[k] = p->version;
        b->slots[k++] = e_slot(e, p);
    }
    b->n = k;
    if (k == 0) {
        batch_free(b);
        return 0;
    }
    const s6_rules_edge *re = &e->edges.rules;
    bool pending = false;
    int rc = re->start != NULL
                 ? re->start(re->ud, b->pv, b->mv, k, &b->hooks, &b->stats,
                             batch_done, b, &pending)
                 : re->run(re->ud, b->pv, b->mv, k, &b->hooks, &b->stats);
    if (pending) {
        e->flight = b;
        return 0;
    }
    batch_finish(b, rc);
    return rc;
}

/* What waited for the batch in flight, one trigger per batch (a view
 * carries one), the lowest bit first. */
static void drain(s6_engine *e)
{
    while (e->flight == NULL) {
        unsigned all = 0;
        for (size_t s = 0; s < e->want_cap && s < e->n_pos; s++)
            all |= e->want[s];
        if (all == 0)
            return;
        unsigned bit = all & -all;
        e_pos **ps = malloc((e->n_pos + 1) * sizeof *ps);
        if (ps == NULL)
            return;
        size_t n = 0;
        for (size_t s = 0; s < e->want_cap && s < e->n_pos; s++)
            if (e->want[s] & bit) {
                e->want[s] &= ~bit;
                if (e->pos[s].used)
                    ps[n++] = &e->pos[s];
            }
        (void)start_batch(e, ps, n, (int)bit);
        free(ps);
    }
}

int e_evaluate(s6_engine *e, e_pos **ps, size_t n, int trigger)
{
    if (e->flight == NULL) {
        int rc = start_batch(e, ps, n, trigger);
        drain(e);
        return rc;
    }
    /* protective work never waits for the rules */
    for (size_t i = 0; i < n; i++) {
        e_pos *p = ps[i];
        if (p->used && p->rec.pos.state == S6_POS_ACTIVE &&
            e_market_fresh(e, &e->mkts[p->mkt]) && protect_first(e, p))
            want(e, p, trigger);
    }
    return 0;
}

void e_rules_settle(s6_engine *e)
{
    const s6_rules_edge *re = &e->edges.rules;
    for (int i = 0; e->flight != NULL && re->settle != NULL && i < 8; i++) {
        batch *b = e->flight;
        re->settle(re->ud);
        if (e->flight == b)
            break; /* nothing could be waited for */
    }
}

void e_rules_free(s6_engine *e)
{
    if (e->flight != NULL && e->edges.rules.cancel != NULL)
        e->edges.rules.cancel(e->edges.rules.ud);
    batch_free(e->flight);
    e->flight = NULL;
    free(e->want);
    e->want = NULL;
    e->want_cap = 0;
}

/* ---- which positions an input evaluates; the manage tick ---- */

/* The ACTIVE positions of one market (mi >= 0), of a symbol on both
 * markets, or all of them. */
static size_t positions_of(s6_engine *e, int mi, const char *symbol,
                           e_pos ***out)
{
    bool all = mi < 0 && symbol == NULL;
    *out = malloc((all ? e->n_pos + 1 : 2) * sizeof **out);
    size_t n = 0;
    if (*out == NULL)
        return 0;
    for (size_t i = 0; all && i < e->n_pos; i++)
        if (e->pos[i].used && e->pos[i].rec.pos.state == S6_POS_ACTIVE)
            (*out)[n++] = &e->pos[i];
    e_pos *one[2] = {NULL, NULL};
    if (mi >= 0)
        one[0] = e_find_open(e, e->mkts[mi].market, e->mkts[mi].symbol);
    else if (symbol != NULL)
        for (int market = S6_MARKET_FUT; market <= S6_MARKET_SPOT; market++)
            one[market] = e_find_open(e, market, symbol);
    for (size_t i = 0; i < 2; i++)
        if (one[i] != NULL && one[i]->rec.pos.state == S6_POS_ACTIVE)
            (*out)[n++] = one[i];
    return n;
}

int e_evaluate_where(s6_engine *e, int mi, const char *symbol, int trigger)
{
    e_pos **ps;
    size_t n = positions_of(e, mi, symbol, &ps);
    if (ps == NULL)
        return -ENOMEM;
    int rc = n > 0 ? e_evaluate(e, ps, n, trigger) : 0;
    free(ps);
    return rc;
}

/* A position without a confirmed exchange stop for a whole tick raises
 * the alert once (it clears when a stop is confirmed). */
static void unconfirmed_alert(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    if (r->pos.market != S6_MARKET_FUT || r->pos.state != S6_POS_ACTIVE ||
        r->stop.confirmed.live || r->guard_alerted)
        return;
    r->guard_alerted = true;
    e_count(e, "s6_risk_alerts_total", "stop_unconfirmed", NULL);
    e_event(e, p, "STOP_UNCONFIRMED", s6_stop_guard_price(&r->stop), "",
            "{s:f,s:s}", "guard", s6_stop_guard_price(&r->stop), "pending",
            r->stop.pending.live ? r->stop.pending.intent_id : "");
    e_save(e, p);
}

int s6_engine_tick(s6_engine *e)
{
    if (e == NULL)
        return -EINVAL;
    e->ticks++;
    e->last_tick = e_now(e);
    for (size_t i = 0; i < e->n_pos; i++) {
        e_pos *p = &e->pos[i];
        if (!p->used)
            continue;
        if (p->rec.pos.state == S6_POS_CLOSED && p->rec.quota_released &&
            p->closed_tick < e->ticks) {
            e_free_pos(e, p); /* its slot is free for the next position */
            continue;
        }
        e_retry_due(e, p);
        e_margin_tick(e, p);
        unconfirmed_alert(e, p);
    }
    e_budget_watch(e);
    return e_evaluate_where(e, -1, NULL, S6_TRIG_TICK);
}
