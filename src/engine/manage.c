/*
 * manage.c — the operators' actions (POST /positions/manage) go
 * through the same guard as the rules' proposals, as rule S6_RULE_MANUAL;
 * the answer rendered as JSON from what the executor did (exec.c's
 * e_exec_view), and the JSON views of the positions
 * (docs/contracts/manage.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "contract/guard.h"
#include "core/s6_core.h"

static int api_fail(s6_api_error *err, int status, const char *code,
                    const char *field, const char *msg)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->status = status;
        snprintf(err->code, sizeof err->code, "%s", code);
        snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return status == 404 ? -ENOENT : status == 423 ? -EBUSY : -EINVAL;
}

/* The manual action as a proposal; NULL when it is EVALUATE. */
static const char *to_proposal(const s6_manage_req *q, s6_proposal *prop,
                               const char **field)
{
    memset(prop, 0, sizeof *prop);
    prop->rule_index = S6_RULE_MANUAL;
    snprintf(prop->reason, sizeof prop->reason, "manual: %.80s",
             q->reason[0] ? q->reason : "operator");
    switch (q->action) {
    case S6_MANAGE_STOP_MOVE:
        *field = "new_stop_price";
        prop->kind = S6_ACT_STOP;
        prop->price = q->new_stop_price;
        return isfinite(q->new_stop_price) && q->new_stop_price > 0
                   ? NULL : "new_stop_price: a finite price > 0";
    case S6_MANAGE_TAKE_PROFIT:
        *field = "qty";
        prop->kind = S6_ACT_REDUCE;
        prop->qty = q->qty;
        prop->fraction = q->fraction;
        return (q->qty > 0) != (q->fraction > 0) && isfinite(q->qty) &&
                       isfinite(q->fraction) && q->qty >= 0 && q->fraction >= 0
                   ? NULL : "qty or fraction: exactly one, > 0";
    case S6_MANAGE_ADD:
        *field = "qty";
        prop->kind = S6_ACT_ADD;
        prop->qty = q->qty;
        return isfinite(q->qty) && q->qty > 0 ? NULL : "qty: a number > 0";
    case S6_MANAGE_CLOSE:
        prop->kind = S6_ACT_CLOSE;
        return NULL;
    default:
        return NULL;
    }
}

static const int manage_purpose[] = {
    [S6_MANAGE_STOP_MOVE] = S6_PURPOSE_STOP,
    [S6_MANAGE_TAKE_PROFIT] = S6_PURPOSE_TP,
    [S6_MANAGE_ADD] = S6_PURPOSE_ADD,
    [S6_MANAGE_CLOSE] = S6_PURPOSE_CLOSE,
    [S6_MANAGE_EVALUATE] = S6_PURPOSE_TP,
};

static const char *const manage_names[] = {
    [S6_MANAGE_STOP_MOVE] = "STOP_MOVE", [S6_MANAGE_TAKE_PROFIT] = "TAKE_PROFIT",
    [S6_MANAGE_ADD] = "ADD", [S6_MANAGE_CLOSE] = "CLOSE",
    [S6_MANAGE_EVALUATE] = "EVALUATE"};

static int find_target(s6_engine *e, const s6_manage_req *q, e_pos **out,
                       s6_api_error *err)
{
    if (q->action < S6_MANAGE_STOP_MOVE || q->action > S6_MANAGE_EVALUATE)
        return api_fail(err, 400, "invalid_field", "action",
                        "action: STOP_MOVE, TAKE_PROFIT, ADD, CLOSE or "
                        "EVALUATE");
    e_pos *p = e_find(e, q->position_id);
    if (p == NULL || p->rec.pos.state == S6_POS_CLOSED)
        return api_fail(err, 404, "unknown_position", "position_id",
                        "no open position with that id");
    if (q->symbol[0] && strcmp(q->symbol, p->rec.pos.symbol) != 0)
        return api_fail(err, 400, "invalid_field", "symbol",
                        "symbol: not the position's symbol");
    if (q->market != -1 && q->market != p->rec.pos.market)
        return api_fail(err, 400, "invalid_field", "market",
                        "market: not the position's market");
    if (p->rec.pos.state != S6_POS_ACTIVE)
        return api_fail(err, 409, "not_active", "position_id",
                        "the position is not ACTIVE (entry or close pending)");
    if (!e->mkts[p->mkt].has)
        return api_fail(err, 503, "no_market_data", "",
                        "no market data for the symbol yet");
    if (q->action != S6_MANAGE_EVALUATE &&
        e_paused(e, p->rec.pos.symbol, manage_purpose[q->action]))
        return api_fail(err, 423, "paused", "",
                        "the kill switch holds for this symbol");
    *out = p;
    return 0;
}

static json_t *empty_response(void)
{
    return json_pack("{s:{s:n,s:n,s:[],s:[],s:[]},s:[]}", "plan", "plan_id",
                     "position_id", "actions", "reduce", "adds", "orders");
}

/* The answer's plan and orders, from what the executor did; the keys
 * are already in place (empty_response), so their order stays. */
static void render(json_t *resp, const e_exec_view *v)
{
    json_t *plan = json_object_get(resp, "plan");
    if (v->executed) {
        json_object_set_new(plan, "plan_id", v->has_plan_id
                                                 ? json_string(v->plan_id)
                                                 : json_null());
        json_object_set_new(plan, "position_id", json_string(v->position_id));
    }
    for (size_t i = 0; i < v->n_actions; i++) {
        const e_exec_action *a = &v->actions[i];
        json_array_append_new(
            json_object_get(plan, "actions"),
            json_pack("{s:s,s:o,s:o,s:s}", "action", a->action, "old_value",
                      a->has_old ? json_real(a->old_value) : json_null(),
                      "new_value", a->is_event ? json_string(a->name)
                                               : json_real(a->new_value),
                      "reason", a->reason));
    }
    if (v->has_reduce)
        json_array_append_new(json_object_get(plan, "reduce"),
                              json_pack("{s:f,s:f,s:b}", "qty", v->reduce.qty,
                                        "after_qty", v->reduce.after_qty,
                                        "full_close", v->reduce.full_close));
    if (v->has_add)
        json_array_append_new(json_object_get(plan, "adds"),
                              json_pack("{s:f,s:f,s:f}", "qty", v->add.qty,
                                        "notional", v->add.notional, "margin",
                                        v->add.margin));
    for (size_t i = 0; i < v->n_orders; i++) {
        const e_exec_order *o = &v->orders[i];
        json_array_append_new(
            json_object_get(resp, "orders"),
            json_pack("{s:o,s:s,s:s,s:s,s:f,s:f,s:b}", "intent_id",
                      o->has_intent ? json_string(o->intent_id) : json_null(),
                      "purpose", e_purpose_name(o->purpose), "type",
                      o->type == S6_ORDER_STOP_MARKET ? "STOP_MARKET"
                                                      : "MARKET",
                      "side", o->side > 0 ? "BUY" : "SELL", "qty", o->qty,
                      "stop_price", o->stop_price, "reduce_only",
                      o->reduce_only));
    }
}

/* ---- EVALUATE: the rules on one position, the plan captured ---- */

typedef struct capture {
    s6_engine *e;
    e_pos *p;
    bool got;
    s6_plan plan;
    s6_proposal props[S6_PLAN_MAX_PROPOSALS];
    size_t n;
    char versions[256];
} capture;

static int cap_limits(void *ud, size_t pi, s6_symbol_filters *f,
                      s6_limits *lim)
{
    capture *c = ud;
    return pi == 0 ? e_limits(c->e, c->p, f, lim, false) : -EINVAL;
}

static void cap_plan(void *ud, size_t pi, const s6_plan *plan,
                     const s6_proposal *props, size_t n,
                     const s6_plan_versions *v)
{
    capture *c = ud;
    if (pi != 0 || n > S6_PLAN_MAX_PROPOSALS)
        return;
    c->got = true;
    c->plan = *plan;
    memcpy(c->props, props, n * sizeof *props);
    c->n = n;
    json_t *o = json_object();
    for (size_t i = 0; i < v->n; i++) {
        const char *name = c->e->edges.rules.rule_name
                               ? c->e->edges.rules.rule_name(
                                     c->e->edges.rules.ud, v->ids[i])
                               : NULL;
        json_object_set_new(o, name ? name : "?", json_string(v->hashes[i]));
    }
    char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(c->versions, sizeof c->versions, "%s", t && strlen(t) < 256 ? t : "{}");
    free(t);
    json_decref(o);
}

static int evaluate_one(s6_engine *e, e_pos *p, bool dry_run,
                        e_exec_view *out, s6_api_error *err)
{
    capture *c = calloc(1, sizeof *c);
    if (c == NULL)
        return api_fail(err, 503, "no_memory", "", "out of memory");
    c->e = e;
    c->p = p;
    e_rules_settle(e); /* one batch at a time; this one answers now */
    s6_pos_view v;
    s6_mkt_view mv;
    int slot = (int)e_slot(e, p);
    e_keep_state(e, p); /* a dry run's undo, a paused action's rule */
    e_mkt_view(e, &e->mkts[p->mkt], S6_TRIG_TICK, &mv);
    int rc = e_view(e, p, &v);
    if (rc == 0) {
        s6_decide_hooks hooks = {.limits = cap_limits, .plan = cap_plan,
                                 .ud = c};
        s6_decide_stats stats;
        rc = e->edges.rules.run(e->edges.rules.ud, &v, &mv, 1, &hooks, &stats);
    }
    if (dry_run && e->edges.rules.state_put != NULL)
        e->edges.rules.state_put(e->edges.rules.ud, slot,
                                 p->state_before ? p->state_before : "{}");
    s6_plan *again = NULL;
    s6_proposal *kept = NULL;
    size_t nkept = 0;
    if (rc == 0 && c->got && !dry_run &&
        (again = malloc(sizeof *again)) != NULL &&
        (kept = malloc(sizeof c->props)) != NULL &&
        e_replan_unheld(e, p, &v, &mv, c->props, c->n, again, kept, &nkept)) {
        c->plan = *again;
        memcpy(c->props, kept, nkept * sizeof *kept);
        c->n = nkept;
    }
    free(again);
    free(kept);
    if (rc == 0 && c->got)
        e_exec_plan(e, p, &c->plan, c->props, c->n, c->versions, dry_run, out);
    e_drop_state(p);
    free(c);
    return rc == 0 ? 0 : api_fail(err, 503, "rules_failed", "",
                                  "the rule evaluation failed");
}

static int manual_plan(s6_engine *e, e_pos *p, const s6_manage_req *q,
                       e_exec_view *out, s6_api_error *err)
{
    s6_proposal prop;
    const char *field = "";
    const char *bad = to_proposal(q, &prop, &field);
    if (bad != NULL)
        return api_fail(err, 400, "invalid_field", field, bad);
    s6_pos_view v;
    s6_mkt_view mv;
    s6_symbol_filters f;
    s6_limits lim;
    e_mkt_view(e, &e->mkts[p->mkt], S6_TRIG_TICK, &mv);
    if (e_view(e, p, &v) != 0)
        return api_fail(err, 409, "not_active", "position_id",
                        "the position has no quantity to act on");
    e_limits(e, p, &f, &lim, q->loosen && q->action == S6_MANAGE_STOP_MOVE);
    if (lim.manual_loosen_allowed)
        s6_log_warn(e->log, "engine", "manual stop move may loosen the stop",
                    S6_LOG_STR("pos_id", p->rec.pos.id),
                    S6_LOG_STR("request_id", q->request_id));
    s6_plan *plan = malloc(sizeof *plan);
    if (plan == NULL)
        return api_fail(err, 503, "no_memory", "", "out of memory");
    if (s6_guard_plan(&v, &mv, &f, &lim, &prop, 1, plan) != 0) {
        free(plan);
        return api_fail(err, 400, "invalid_field", field, "refused by the guard");
    }
    if (plan->n_rejects > 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s: %s",
                 s6_reject_name(plan->rejects[0].code),
                 plan->rejects[0].reason);
        free(plan);
        return api_fail(err, 409, "rejected", field, msg);
    }
    if (!q->dry_run)
        e_event(e, p, "MANUAL", 0, "manual", "{s:s,s:s,s:s,s:b}", "action",
                manage_names[q->action], "request_id", q->request_id,
                "reason", q->reason, "loosen", q->loosen);
    e_exec_plan(e, p, plan, &prop, 1, "{\"manual\":\"operator\"}",
                q->dry_run, out);
    free(plan);
    return 0;
}

int s6_engine_manage(s6_engine *e, const s6_manage_req *req, json_t **out,
                     s6_api_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (e == NULL || req == NULL || out == NULL)
        return api_fail(err, 400, "invalid_request", "", "no request");
    e_pos *p = NULL;
    int rc = find_target(e, req, &p, err);
    if (rc != 0)
        return rc;
    json_t *resp = empty_response();
    e_exec_view *done = calloc(1, sizeof *done);
    if (resp == NULL || done == NULL) {
        json_decref(resp);
        free(done);
        return api_fail(err, 503, "no_memory", "", "out of memory");
    }
    rc = req->action == S6_MANAGE_EVALUATE
             ? evaluate_one(e, p, req->dry_run, done, err)
             : manual_plan(e, p, req, done, err);
    if (rc == 0)
        render(resp, done);
    free(done);
    if (rc != 0) {
        json_decref(resp);
        return rc;
    }
    json_object_set_new(json_object_get(resp, "plan"), "position_id",
                        json_string(p->rec.pos.id));
    e_exact(e, p, resp);
    *out = resp;
    return 0;
}

/* ---- views ---- */

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *inflight_json(const s6_engine_record *r)
{
    static const char *const status[] = {
        [S6_INF_SENT] = "SENT", [S6_INF_FAILED] = "FAILED",
        [S6_INF_TAKEN] = "TAKEN", [S6_INF_RESERVING] = "RESERVING"};
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_inflight; i++) {
        const s6_inflight *o = &r->inflight[i];
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:f,s:f,s:s,s:i}", "intent_id",
                         o->intent_id, "purpose", e_purpose_name(o->purpose),
                         "qty", o->qty, "filled", o->filled, "status",
                         o->status > 0 && o->status < S6_INF_STATUS_COUNT
                             ? status[o->status] : "?",
                         "attempts", (int)o->attempts));
    }
    return a;
}

static json_t *stop_json(const s6_stop *st)
{
    return json_pack(
        "{s:o,s:i,s:b,s:o,s:o,s:o}", "price",
        st->confirmed.live ? json_real(st->confirmed.price) : json_null(),
        "step", st->step, "confirmed", st->confirmed.live, "pending_price",
        st->pending.live ? json_real(st->pending.price) : json_null(),
        "guard", st->guard > 0 && !st->confirmed.live ? json_real(st->guard)
                                                      : json_null(),
        "intent_id", st->confirmed.live ? json_string(st->confirmed.intent_id)
                                        : json_null());
}

static json_t *pos_json(s6_engine *e, e_pos *p)
{
    const s6_engine_record *r = &p->rec;
    s6_pos_view v;
    bool viewed = r->pos.qty > 0 && e_view(e, p, &v) == 0;
    json_t *versions = json_loads(r->rule_versions ? r->rule_versions : "{}",
                                  0, NULL);
    double mark = e->mkts[p->mkt].has ? e->mkts[p->mkt].mark : r->mark;
    json_t *doc = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:o,s:o,s:o,s:o,s:o,s:f,s:f,"
        "s:o,s:i,s:i,s:f,s:o,s:f,s:s,s:o,s:o}",
        "position_id", r->pos.id, "symbol", r->pos.symbol, "market",
        s6_market_name(r->pos.market), "state",
        s6_pos_state_name(r->pos.state), "side",
        r->pos.side > 0 ? "LONG" : r->pos.side < 0 ? "SHORT" : "FLAT", "qty",
        r->pos.qty, "entry", r->pos.entry, "mark",
        mark > 0 ? json_real(mark) : json_null(), "roe",
        viewed ? num_or_null(v.roe) : json_null(), "liq_price",
        viewed && v.liq_price > 0 ? json_real(v.liq_price) : json_null(),
        "liq_distance", viewed ? num_or_null(v.liq_distance) : json_null(),
        "stop", stop_json(&r->stop), "leverage", r->pos.leverage, "margin",
        r->pos.margin, "tp", json_pack("{s:i}", "step", r->tp_step), "adds",
        r->pos.add_on_count, "entries", r->pos.n_entries, "realized_pnl",
        r->pos.realized_pnl, "unrealized_pnl",
        viewed ? num_or_null(v.upnl) : json_real(0), "fees_paid",
        r->pos.fees_paid, "last_plan_id", r->last_plan_id, "rule_versions",
        versions ? versions : json_object(), "orders_in_flight",
        inflight_json(r));
    e_exact(e, p, doc);
    double ratio;
    static const char *const levels[S6_MARGIN_LEVEL_COUNT] = {
        [S6_MARGIN_OK] = "OK", [S6_MARGIN_ALERT] = "ALERT",
        [S6_MARGIN_CALL] = "MARGIN_CALL"};
    bool fut = r->pos.market == S6_MARKET_FUT;
    json_object_set_new(doc, "margin_ratio",
                        fut && e_margin_ratio(e, p, &ratio) == 0
                            ? num_or_null(ratio) : json_null());
    json_object_set_new(doc, "margin_level",
                        fut && r->margin.level >= 0 &&
                                r->margin.level < S6_MARGIN_LEVEL_COUNT
                            ? json_string(levels[r->margin.level])
                            : json_null());
    return doc;
}

json_t *s6_engine_positions_json(s6_engine *e)
{
    json_t *a = json_array();
    for (size_t i = 0; e != NULL && i < e->n_pos; i++)
        if (e->pos[i].used && e->pos[i].rec.pos.state != S6_POS_CLOSED)
            json_array_append_new(a, pos_json(e, &e->pos[i]));
    return a;
}

json_t *s6_engine_position_json(s6_engine *e, const char *pos_id)
{
    e_pos *p = e != NULL ? e_find(e, pos_id) : NULL;
    return p != NULL ? pos_json(e, p) : NULL;
}
