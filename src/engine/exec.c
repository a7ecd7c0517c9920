/*
 * exec.c — the plan executor: a guarded plan turned into orders (a stop
 * move, a reduce or close, an add through its quota, a hedge) and events,
 * every key from the position's sequence; the kill switch's hold on the
 * purposes it names, and a rule's state put back when its action is not
 * carried out.  What the plan did is also written, as data, into an
 * e_exec_view for the manage endpoint, which renders it (manage.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static const char *reason_of(const s6_proposal *props, size_t n, int i)
{
    return i >= 0 && (size_t)i < n ? props[i].reason : "";
}

/* ---- the account for the manage endpoint (NULL: nobody asks) ---- */

static e_exec_action *add_action(e_exec_view *out, const char *action,
                                 const char *reason)
{
    if (out == NULL || out->n_actions >= E_EXEC_MAX_ACTIONS)
        return NULL;
    e_exec_action *a = &out->actions[out->n_actions++];
    memset(a, 0, sizeof *a);
    a->action = action;
    snprintf(a->reason, sizeof a->reason, "%s", reason);
    return a;
}

static void add_value(e_exec_view *out, const char *action, bool has_old,
                      double old_value, double new_value, const char *reason)
{
    e_exec_action *a = add_action(out, action, reason);
    if (a == NULL)
        return;
    a->has_old = has_old;
    a->old_value = old_value;
    a->new_value = new_value;
}

static void add_order(e_exec_view *out, const char *intent, int purpose,
                      int type, int side, double qty, double price,
                      bool reduce_only)
{
    if (out == NULL || out->n_orders >= E_EXEC_MAX_ORDERS)
        return;
    e_exec_order *o = &out->orders[out->n_orders++];
    memset(o, 0, sizeof *o);
    o->has_intent = intent != NULL;
    snprintf(o->intent_id, sizeof o->intent_id, "%s", intent ? intent : "");
    o->purpose = purpose;
    o->type = type;
    o->side = side;
    o->qty = qty;
    o->stop_price = price;
    o->reduce_only = reduce_only;
}

/* ---- a rule's state when its action is not carried out ---- */

/*
 * An action the engine does not carry out must not be spent in its rule's
 * state: the ladder would count a rung no order took.  The rule's part of
 * the state goes back to what it was before the evaluation; the other
 * rules keep what they did.
 */
void e_rule_not_done(s6_engine *e, e_pos *p, int rule_index)
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
    e_rule_not_done(e, p, a->rule_index);
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

/* The kill switch holds this purpose: recorded (unless a dry run), the
 * rule's state put back, nothing sent. */
/* Design 4b: while a FUT position of the symbol has no confirmed stop,
 * orders that add risk on it wait (an add; a hedge unless it shrinks the
 * FUT position). */
static bool adds_unprotected_risk(s6_engine *e, const e_pos *p,
                                  const s6_plan_action *a, int purpose)
{
    if (purpose != S6_PURPOSE_ADD && purpose != S6_PURPOSE_HEDGE)
        return false;
    if (!e_symbol_unprotected(e, p->rec.pos.symbol))
        return false;
    const e_pos *fut = e_find_open(e, S6_MARKET_FUT, p->rec.pos.symbol);
    return purpose == S6_PURPOSE_ADD || fut == NULL ||
           fut->rec.pos.side == a->side;
}

static bool blocked(s6_engine *e, e_pos *p, const s6_plan_action *a,
                    int purpose, bool dry_run)
{
    bool paused = e_paused(e, p->rec.pos.symbol, purpose);
    if (!paused && !adds_unprotected_risk(e, p, a, purpose))
        return false;
    if (!dry_run) {
        not_done(e, p, a);
        e_event(e, p, paused ? "BLOCKED_PAUSED" : "BLOCKED_UNPROTECTED",
                a->qty, "", "{s:s}", "purpose", e_purpose_name(purpose));
    }
    return true;
}

/* ---- the actions ---- */

static void exec_stop(s6_engine *e, e_pos *p, const s6_plan *plan,
                      const char *reason, bool dry_run, e_exec_view *out)
{
    const s6_plan_action *a = &plan->stop;
    add_value(out, "STOP_MOVE", a->old_price > 0, a->old_price, a->price,
              reason);
    if (dry_run) {
        add_order(out, NULL, S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET,
                  -p->rec.pos.side, p->rec.pos.qty, a->price, true);
        return;
    }
    /* the lock-in step the new stop stands for travels in the plan (the
     * rule that reached it says so); the record keeps the larger */
    int step = a->step > p->rec.stop.step ? a->step : p->rec.stop.step;
    if (e_request_stop(e, p, a->price, p->rec.pos.qty, step, reason) == 0 &&
        p->rec.pos.market == S6_MARKET_FUT)
        add_order(out, p->rec.stop.pending.intent_id, S6_PURPOSE_STOP,
                  S6_ORDER_STOP_MARKET, -p->rec.pos.side,
                  p->rec.stop.pending.qty, p->rec.stop.pending.price, true);
}

static void exec_reduce(s6_engine *e, e_pos *p, const s6_plan *plan,
                        const char *reason, bool dry_run, e_exec_view *out)
{
    const s6_plan_action *a = &plan->reduce;
    s6_position *pos = &p->rec.pos;
    /* a rule's reduce, the whole position or part of it, takes profit
     * (the ladder's rung); "cl" is the operator's close and the guard's */
    int purpose = a->full_close && a->rule_index == S6_RULE_MANUAL
                      ? S6_PURPOSE_CLOSE : S6_PURPOSE_TP;
    add_value(out, a->full_close ? "CLOSE" : "TAKE_PROFIT", true, pos->qty,
              a->after_qty, reason);
    if (out != NULL) {
        out->has_reduce = true;
        out->reduce = (e_exec_reduce){a->qty, a->after_qty, a->full_close};
    }
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
                     const char *reason, bool dry_run, e_exec_view *out)
{
    const s6_plan_action *a = &plan->add;
    s6_position *pos = &p->rec.pos;
    add_value(out, "ADD", true, pos->qty, a->after_qty, reason);
    if (out != NULL) {
        out->has_add = true;
        out->add = (e_exec_add){a->qty, a->notional, a->margin};
    }
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
                       const char *reason, bool dry_run, e_exec_view *out)
{
    const s6_plan_action *a = &plan->hedge;
    add_value(out, "HEDGE", true, a->after_qty - a->side * a->qty,
              a->after_qty, reason);
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
                        e_exec_view *out)
{
    for (size_t i = 0; i < plan->n_events; i++) {
        const s6_plan_event *ev = &plan->events[i];
        const char *reason = reason_of(props, nprops, ev->proposal);
        e_exec_action *act = add_action(out, "EVENT", reason);
        if (act != NULL) {
            act->is_event = true;
            snprintf(act->name, sizeof act->name, "%s", ev->name);
        }
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
                const char *versions_json, bool dry_run, e_exec_view *out)
{
    s6_engine_record *r = &p->rec;
    char plan_id[40] = "";
    if (!dry_run) {
        s6_position_next_intent(&r->pos, "pl", plan_id);
        snprintf(r->last_plan_id, sizeof r->last_plan_id, "%s", plan_id);
        /* Cut, the text would not be JSON: none kept rather than that. */
        const char *rv = versions_json ? versions_json : "{}";
        if (strlen(rv) >= S6_RULE_VERSIONS_MAX) {
            s6_log_warn(e->log, "engine", "rule versions too long to keep",
                        S6_LOG_STR("pos_id", r->pos.id));
            rv = "{}";
        }
        if (e_text_intern(e, rv, &r->rule_versions) != 0)
            s6_log_warn(e->log, "engine", "rule versions not kept (no memory)",
                        S6_LOG_STR("pos_id", r->pos.id));
    }
    if (out != NULL) {
        out->executed = true;
        out->has_plan_id = !dry_run;
        snprintf(out->plan_id, sizeof out->plan_id, "%s", plan_id);
        snprintf(out->position_id, sizeof out->position_id, "%s", r->pos.id);
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
