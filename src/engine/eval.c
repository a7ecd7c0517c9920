/*
 * eval.c — market data in, plans out: hygiene on every update, the
 * evaluation of a batch of positions (protection first, then the rules,
 * then the plans), the manage tick.
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
    lim->concurrency_ok = true; /* adds take budget, not slots */
    lim->min_stop_move_frac = c->risk.stop_min_move_frac;
    lim->stop_replace_in_flight = r->stop.pending.live ||
                                  r->stop.cancelling.live;
    lim->add_in_flight = e_inflight_of(p, S6_PURPOSE_ADD) != NULL;
    lim->manual_loosen_allowed = manual_loosen;
    lim->hedge_in_flight = e_inflight_of(p, S6_PURPOSE_HEDGE) != NULL;
    return 0;
}

/* ---- plans ---- */

static const char *reason_of(const s6_proposal *props, size_t n, int i)
{
    return i >= 0 && (size_t)i < n ? props[i].reason : "";
}

static void add_action(json_t *out, const char *action, json_t *old_value,
                       json_t *new_value, const char *reason)
{
    if (out == NULL) {
        json_decref(old_value);
        json_decref(new_value);
        return;
    }
    json_array_append_new(json_object_get(json_object_get(out, "plan"),
                                          "actions"),
                          json_pack("{s:s,s:o,s:o,s:s}", "action", action,
                                    "old_value", old_value, "new_value",
                                    new_value, "reason", reason));
}

static void add_order(json_t *out, const char *intent, int purpose, int type,
                      int side, double qty, double price, bool reduce_only)
{
    if (out == NULL)
        return;
    json_array_append_new(
        json_object_get(out, "orders"),
        json_pack("{s:o,s:s,s:s,s:s,s:f,s:f,s:b}", "intent_id",
                  intent != NULL ? json_string(intent) : json_null(),
                  "purpose", e_purpose_name(purpose), "type",
                  type == S6_ORDER_STOP_MARKET ? "STOP_MARKET" : "MARKET",
                  "side", side > 0 ? "BUY" : "SELL", "qty", qty, "stop_price",
                  price, "reduce_only", reduce_only));
}

/* The lock-in step the new stop stands for: the trailing rule's state
 * counts it, the record keeps the larger. */
static int stop_step_after(s6_engine *e, e_pos *p)
{
    int step = p->rec.stop.step;
    if (e->edges.rules.state_get == NULL)
        return step;
    char *rs = e->edges.rules.state_get(e->edges.rules.ud, (int)e_slot(e, p));
    json_t *o = rs != NULL ? json_loads(rs, 0, NULL) : NULL;
    json_t *s = json_object_get(json_object_get(o, "trailing_stop"), "step");
    if (json_is_number(s) && json_number_value(s) > step)
        step = (int)json_number_value(s);
    json_decref(o);
    free(rs);
    return step;
}

static void exec_stop(s6_engine *e, e_pos *p, const s6_plan *plan,
                      const char *reason, bool dry_run, json_t *out)
{
    const s6_plan_action *a = &plan->stop;
    add_action(out, "STOP_MOVE", a->old_price > 0 ? json_real(a->old_price)
                                                  : json_null(),
               json_real(a->price), reason);
    if (dry_run) {
        add_order(out, NULL, S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET,
                  -p->rec.pos.side, p->rec.pos.qty, a->price, true);
        return;
    }
    if (e_request_stop(e, p, a->price, p->rec.pos.qty, stop_step_after(e, p),
                       reason) == 0 &&
        p->rec.pos.market == S6_MARKET_FUT)
        add_order(out, p->rec.stop.pending.intent_id, S6_PURPOSE_STOP,
                  S6_ORDER_STOP_MARKET, -p->rec.pos.side,
                  p->rec.stop.pending.qty, p->rec.stop.pending.price, true);
}

/*
 * An action the engine does not carry out must not be spent in its rule's
 * state: the ladder would count a rung no order took.  The rule's part of
 * the state goes back to what it was before the evaluation; the other
 * rules keep what they did.
 */
static void rule_not_done(s6_engine *e, e_pos *p, int rule_index)
{
    const s6_rules_edge *re = &e->edges.rules;
    const char *name = re->rule_name != NULL ? re->rule_name(re->ud,
                                                             rule_index)
                                             : NULL;
    if (p->state_before == NULL || name == NULL || re->state_get == NULL ||
        re->state_put == NULL)
        return;
    int slot = (int)e_slot(e, p);
    char *now = re->state_get(re->ud, slot);
    json_t *before = json_loads(p->state_before, 0, NULL);
    json_t *cur = now != NULL ? json_loads(now, 0, NULL) : json_object();
    json_t *old = json_object_get(before, name);
    if (json_is_object(cur)) {
        if (old != NULL)
            json_object_set(cur, name, old);
        else
            json_object_del(cur, name);
        char *text = json_dumps(cur, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (text != NULL)
            re->state_put(re->ud, slot, text);
        free(text);
    }
    json_decref(cur);
    json_decref(before);
    free(now);
}

static void not_done(s6_engine *e, e_pos *p, const s6_plan_action *a)
{
    rule_not_done(e, p, a->rule_index);
}

/* The kill switch holds this purpose: recorded (unless a dry run), the
 * rule's state put back, nothing sent. */
static bool blocked(s6_engine *e, e_pos *p, const s6_plan_action *a,
                    int purpose, bool dry_run)
{
    if (!e_paused(e, p->rec.pos.symbol, purpose))
        return false;
    if (!dry_run) {
        not_done(e, p, a);
        e_event(e, p, "BLOCKED_PAUSED", a->qty, "", "{s:s}", "purpose",
                e_purpose_name(purpose));
    }
    return true;
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

void e_keep_state(s6_engine *e, e_pos *p)
{
    free(p->state_before);
    p->state_before = e->edges.rules.state_get != NULL
                          ? e->edges.rules.state_get(e->edges.rules.ud,
                                                     (int)e_slot(e, p))
                          : NULL;
}

void e_drop_state(e_pos *p)
{
    free(p->state_before);
    p->state_before = NULL;
}

static void exec_reduce(s6_engine *e, e_pos *p, const s6_plan *plan,
                        const char *reason, bool dry_run, json_t *out)
{
    const s6_plan_action *a = &plan->reduce;
    s6_position *pos = &p->rec.pos;
    /* a rule's reduce, the whole position or part of it, takes profit
     * (the ladder's rung); "cl" is the operator's close and the guard's */
    int purpose = a->full_close && a->rule_index == S6_RULE_MANUAL
                      ? S6_PURPOSE_CLOSE : S6_PURPOSE_TP;
    add_action(out, a->full_close ? "CLOSE" : "TAKE_PROFIT", json_real(pos->qty),
               json_real(a->after_qty), reason);
    if (out != NULL)
        json_array_append_new(json_object_get(json_object_get(out, "plan"),
                                              "reduce"),
                              json_pack("{s:f,s:f,s:b}", "qty", a->qty,
                                        "after_qty", a->after_qty,
                                        "full_close", a->full_close));
    if (blocked(e, p, a, purpose, dry_run))
        return;
    bool reduce_only = pos->market == S6_MARKET_FUT;
    if (dry_run) {
        add_order(out, NULL, purpose, S6_ORDER_MARKET, -pos->side, a->qty, 0,
                  reduce_only);
        return;
    }
    if (e_inflight_of(p, S6_PURPOSE_TP) != NULL ||
        e_inflight_of(p, S6_PURPOSE_CLOSE) != NULL) {
        s6_log_info(e->log, "engine", "reduce skipped: one is in flight",
                    S6_LOG_STR("pos_id", pos->id));
        not_done(e, p, a);
        return;
    }
    if (a->full_close)
        e_transition(e, p, S6_POS_PENDING_CLOSING, "plan closes");
    s6_inflight *o = NULL;
    if (e_send_order(e, p, purpose, -pos->side, a->qty, reduce_only,
                     p->rec.last_plan_id, &o) == 0)
        add_order(out, o->intent_id, purpose, S6_ORDER_MARKET, -pos->side,
                  a->qty, 0, reduce_only);
}

static void exec_add(s6_engine *e, e_pos *p, const s6_plan *plan,
                     const char *reason, bool dry_run, json_t *out)
{
    const s6_plan_action *a = &plan->add;
    s6_position *pos = &p->rec.pos;
    add_action(out, "ADD", json_real(pos->qty), json_real(a->after_qty),
               reason);
    if (out != NULL)
        json_array_append_new(json_object_get(json_object_get(out, "plan"),
                                              "adds"),
                              json_pack("{s:f,s:f,s:f}", "qty", a->qty,
                                        "notional", a->notional, "margin",
                                        a->margin));
    if (blocked(e, p, a, S6_PURPOSE_ADD, dry_run))
        return;
    if (dry_run) {
        add_order(out, NULL, S6_PURPOSE_ADD, S6_ORDER_MARKET, pos->side,
                  a->qty, 0, false);
        return;
    }
    if (e_start_add(e, p, a->qty, a->margin, p->rec.last_plan_id) == 0)
        add_order(out, p->rec.inflight[p->rec.n_inflight - 1].intent_id,
                  S6_PURPOSE_ADD, S6_ORDER_MARKET, pos->side, a->qty, 0,
                  false);
}

static void exec_hedge(s6_engine *e, e_pos *p, const s6_plan *plan,
                       const char *reason, bool dry_run, json_t *out)
{
    const s6_plan_action *a = &plan->hedge;
    add_action(out, "HEDGE", json_real(a->after_qty - a->side * a->qty),
               json_real(a->after_qty), reason);
    if (blocked(e, p, a, S6_PURPOSE_HEDGE, dry_run))
        return;
    if (dry_run) {
        add_order(out, NULL, S6_PURPOSE_HEDGE, S6_ORDER_MARKET, a->side,
                  a->qty, 0, false);
        return;
    }
    /* not reduce-only: a hedge may open, grow or shrink the FUT position */
    s6_inflight *o = NULL;
    if (e_send_order(e, p, S6_PURPOSE_HEDGE, a->side, a->qty, false,
                     p->rec.last_plan_id, &o) != 0)
        return;
    add_order(out, o->intent_id, S6_PURPOSE_HEDGE, S6_ORDER_MARKET, a->side,
              a->qty, 0, false);
    e_event(e, p, "HEDGE_SENT", a->qty, "", "{s:s,s:i,s:f,s:f}", "intent_id",
            o->intent_id, "side", a->side, "qty", a->qty, "after_qty",
            a->after_qty);
}

static void exec_events(s6_engine *e, e_pos *p, const s6_plan *plan,
                        const s6_proposal *props, size_t nprops, bool dry_run,
                        json_t *out)
{
    for (size_t i = 0; i < plan->n_events; i++) {
        const s6_plan_event *ev = &plan->events[i];
        const char *reason = reason_of(props, nprops, ev->proposal);
        add_action(out, "EVENT", json_null(), json_string(ev->name), reason);
        if (dry_run)
            continue;
        char rule[48] = "";
        const char *name = e->edges.rules.rule_name != NULL
                               ? e->edges.rules.rule_name(e->edges.rules.ud,
                                                          ev->rule_index)
                               : NULL;
        snprintf(rule, sizeof rule, "%s", name ? name : "");
        if (strcmp(ev->name, "STAGNATED") == 0)
            e_count(e, "s6_stagnation_events_total", p->rec.pos.symbol, NULL);
        e_event(e, p, ev->name, 0, rule, "{s:s}", "reason", reason);
    }
}

int e_exec_plan(s6_engine *e, e_pos *p, const s6_plan *plan,
                const s6_proposal *props, size_t nprops,
                const char *versions_json, bool dry_run, json_t *out)
{
    s6_engine_record *r = &p->rec;
    char plan_id[40] = "";
    if (!dry_run) {
        s6_position_next_intent(&r->pos, "pl", plan_id);
        snprintf(r->last_plan_id, sizeof r->last_plan_id, "%s", plan_id);
        snprintf(r->rule_versions, sizeof r->rule_versions, "%s",
                 versions_json ? versions_json : "{}");
    }
    if (out != NULL) {
        json_t *pl = json_object_get(out, "plan");
        json_object_set_new(pl, "plan_id", dry_run ? json_null()
                                                   : json_string(plan_id));
        json_object_set_new(pl, "position_id", json_string(r->pos.id));
    }
    if (plan->stop.active)
        exec_stop(e, p, plan, reason_of(props, nprops, plan->stop.proposal),
                  dry_run, out);
    if (plan->reduce.active)
        exec_reduce(e, p, plan, reason_of(props, nprops,
                                          plan->reduce.proposal),
                    dry_run, out);
    if (plan->add.active)
        exec_add(e, p, plan, reason_of(props, nprops, plan->add.proposal),
                 dry_run, out);
    if (plan->hedge.active)
        exec_hedge(e, p, plan, reason_of(props, nprops, plan->hedge.proposal),
                   dry_run, out);
    exec_events(e, p, plan, props, nprops, dry_run, out);
    if (!dry_run) {
        e_event(e, p, "PLAN", 0, "", "{s:s,s:b,s:b,s:b,s:i,s:i}", "plan_id",
                plan_id, "stop", plan->stop.active, "reduce",
                plan->reduce.active, "add", plan->add.active, "events",
                (int)plan->n_events, "rejected", (int)plan->n_rejects);
        e_save(e, p);
        e_snapshot(e, p);
    }
    return 0;
}

/* ---- one batch through the rules ---- */

static unsigned state_gen(s6_engine *e, e_pos *p)
{
    return e->edges.rules.state_gen != NULL
               ? e->edges.rules.state_gen(e->edges.rules.ud, (int)e_slot(e, p))
               : 0;
}

typedef struct batch {
    s6_engine *e;
    e_pos **ps;
    size_t n;
    unsigned *gens;   /* each position's rule-state generation, as saved */
    const s6_pos_view *pv;
    const s6_mkt_view *mv;
} batch;

static int hook_limits(void *ud, size_t pi, s6_symbol_filters *f,
                       s6_limits *lim)
{
    batch *b = ud;
    return pi < b->n ? e_limits(b->e, b->ps[pi], f, lim, false) : -EINVAL;
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
        rule_not_done(e, p, props[i].rule_index);
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
    if (pi >= b->n || n > S6_PLAN_MAX_PROPOSALS)
        return;
    e_pos *p = b->ps[pi];
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

static bool market_fresh(const s6_engine *e, const e_mkt *m)
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

int e_evaluate(s6_engine *e, e_pos **ps, size_t n, int trigger)
{
    s6_pos_view *pv = malloc((n + 1) * sizeof *pv);
    s6_mkt_view *mv = malloc((n + 1) * sizeof *mv);
    e_pos **run = malloc((n + 1) * sizeof *run);
    unsigned *gens = malloc((n + 1) * sizeof *gens);
    if (pv == NULL || mv == NULL || run == NULL || gens == NULL) {
        free(pv), free(mv), free(run), free(gens);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        e_pos *p = ps[i];
        if (!p->used || p->rec.pos.state != S6_POS_ACTIVE ||
            !market_fresh(e, &e->mkts[p->mkt]) || !protect_first(e, p) ||
            e_view(e, p, &pv[k]) != 0)
            continue;
        liq_alert(e, p, &pv[k]);
        if (may_be_left_undone(e, p))
            e_keep_state(e, p);
        e_mkt_view(e, &e->mkts[p->mkt], trigger, &mv[k]);
        gens[k] = state_gen(e, p);
        run[k++] = p;
    }
    int rc = 0;
    if (k > 0) {
        batch b = {.e = e, .ps = run, .n = k, .gens = gens, .pv = pv,
                   .mv = mv};
        s6_decide_hooks hooks = {.limits = hook_limits, .plan = hook_plan,
                                 .ud = &b};
        s6_decide_stats stats;
        rc = e->edges.rules.run(e->edges.rules.ud, pv, mv, k, &hooks, &stats);
        if (rc != 0)
            s6_log_error(e->log, "engine", "rule evaluation failed",
                         S6_LOG_INT("rc", rc), S6_LOG_INT("positions",
                                                          (int64_t)k));
        /* rule state moved without a plan (a step reached, a flag set):
         * persisted too, or a restart would forget it */
        for (size_t i = 0; i < k; i++) {
            e_drop_state(run[i]);
            if (state_gen(e, run[i]) != gens[i])
                e_save(e, run[i]);
        }
    }
    free(pv), free(mv), free(run), free(gens);
    return rc;
}

/* ---- inputs ---- */

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

static int evaluate_where(s6_engine *e, int mi, const char *symbol,
                          int trigger)
{
    e_pos **ps;
    size_t n = positions_of(e, mi, symbol, &ps);
    if (ps == NULL)
        return -ENOMEM;
    int rc = n > 0 ? e_evaluate(e, ps, n, trigger) : 0;
    free(ps);
    return rc;
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
    return evaluate_where(e, mi, symbol, S6_TRIG_PRICE);
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
    return evaluate_where(e, -1, symbol, S6_TRIG_SIGNAL);
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
        unconfirmed_alert(e, p);
    }
    return evaluate_where(e, -1, NULL, S6_TRIG_TICK);
}
