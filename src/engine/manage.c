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
#include "util/exact.h"

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

/* A number of the answer as the desk reads it (util/exact.h): at the
 * symbol's grid when the engine has one, else the plain real. */
static void w_num(s6_jw *w, const char *key, double v, double grid)
{
    char buf[64];
    s6_jw_key(w, key);
    if (!(grid > 0))
        s6_jw_real(w, v);
    else if (s6_exact_format(v, grid, buf, sizeof buf) < 0)
        s6_jw_null(w);
    else
        s6_jw_str(w, buf);
}

/* The grids of the answer's numbers; all 0 when the symbol has none. */
typedef struct answer_grid {
    double price, qty, money;
} answer_grid;

static answer_grid grid_of(const s6_engine *e, const e_pos *p)
{
    const s6_symbol_cfg *sym = e->mkts[p->mkt].sym;
    if (sym == NULL || !(sym->tick > 0) || !(sym->step > 0))
        return (answer_grid){ 0 };
    return (answer_grid){ sym->tick, sym->step, S6_EXACT_CENT };
}

static void write_actions(s6_jw *w, const e_exec_view *v, const answer_grid *g)
{
    s6_jw_karr(w, "actions");
    for (size_t i = 0; i < v->n_actions; i++) {
        const e_exec_action *a = &v->actions[i];
        /* a stop move's values are prices, the others' quantities */
        double grid = a->action == NULL || strcmp(a->action, "EVENT") == 0
                          ? 0
                      : strstr(a->action, "STOP") != NULL ? g->price : g->qty;
        s6_jw_obj(w);
        s6_jw_kstr(w, "action", a->action);
        if (a->has_old)
            w_num(w, "old_value", a->old_value, grid);
        else
            s6_jw_knull(w, "old_value");
        if (a->is_event)
            s6_jw_kstr(w, "new_value", a->name);
        else
            w_num(w, "new_value", a->new_value, grid);
        s6_jw_kstr(w, "reason", a->reason);
        s6_jw_end_obj(w);
    }
    s6_jw_end_arr(w);
}

static void write_orders(s6_jw *w, const e_exec_view *v, const answer_grid *g)
{
    s6_jw_karr(w, "orders");
    for (size_t i = 0; i < v->n_orders; i++) {
        const e_exec_order *o = &v->orders[i];
        s6_jw_obj(w);
        s6_jw_kstr(w, "intent_id", o->has_intent ? o->intent_id : NULL);
        s6_jw_kstr(w, "purpose", e_purpose_name(o->purpose));
        s6_jw_kstr(w, "type", o->type == S6_ORDER_STOP_MARKET ? "STOP_MARKET"
                                                               : "MARKET");
        s6_jw_kstr(w, "side", o->side > 0 ? "BUY" : "SELL");
        w_num(w, "qty", o->qty, g->qty);
        w_num(w, "stop_price", o->stop_price, g->price);
        s6_jw_kbool(w, "reduce_only", o->reduce_only);
        s6_jw_end_obj(w);
    }
    s6_jw_end_arr(w);
}

/* The answer (docs/contracts/manage.md) from what the executor did:
 * {"plan":{plan_id, position_id, actions, reduce, adds}, "orders"}, its
 * numbers at the symbol's grid, written without a tree. */
static void write_answer(s6_jw *w, const s6_engine *e, const e_pos *p,
                         const e_exec_view *v)
{
    answer_grid g = grid_of(e, p);
    s6_jw_obj(w);
    s6_jw_kobj(w, "plan");
    s6_jw_kstr(w, "plan_id", v->executed && v->has_plan_id ? v->plan_id
                                                           : NULL);
    s6_jw_kstr(w, "position_id", p->rec.pos.id);
    write_actions(w, v, &g);
    s6_jw_karr(w, "reduce");
    if (v->has_reduce) {
        s6_jw_obj(w);
        w_num(w, "qty", v->reduce.qty, g.qty);
        w_num(w, "after_qty", v->reduce.after_qty, g.qty);
        s6_jw_kbool(w, "full_close", v->reduce.full_close);
        s6_jw_end_obj(w);
    }
    s6_jw_end_arr(w);
    s6_jw_karr(w, "adds");
    if (v->has_add) {
        s6_jw_obj(w);
        w_num(w, "qty", v->add.qty, g.qty);
        w_num(w, "notional", v->add.notional, g.money);
        w_num(w, "margin", v->add.margin, g.money);
        s6_jw_end_obj(w);
    }
    s6_jw_end_arr(w);
    s6_jw_end_obj(w);
    write_orders(w, v, &g);
    s6_jw_end_obj(w);
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

int s6_engine_manage_write(s6_engine *e, const s6_manage_req *req,
                           s6_jw *w, char *plan_id, size_t plan_id_len,
                           s6_api_error *err)
{
    if (plan_id != NULL && plan_id_len > 0)
        plan_id[0] = '\0';
    if (e == NULL || req == NULL || w == NULL)
        return api_fail(err, 400, "invalid_request", "", "no request");
    e_pos *p = NULL;
    int rc = find_target(e, req, &p, err);
    if (rc != 0)
        return rc;
    e_exec_view *done = calloc(1, sizeof *done);
    if (done == NULL)
        return api_fail(err, 503, "no_memory", "", "out of memory");
    rc = req->action == S6_MANAGE_EVALUATE
             ? evaluate_one(e, p, req->dry_run, done, err)
             : manual_plan(e, p, req, done, err);
    if (rc == 0) {
        write_answer(w, e, p, done);
        if (plan_id != NULL && plan_id_len > 0 && done->executed &&
            done->has_plan_id)
            snprintf(plan_id, plan_id_len, "%s", done->plan_id);
    }
    free(done);
    return rc;
}

int s6_engine_manage(s6_engine *e, const s6_manage_req *req, json_t **out,
                     s6_api_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL)
        return api_fail(err, 400, "invalid_request", "", "no request");
    s6_buf b = { 0 };
    s6_jw w;
    s6_jw_init(&w, &b);
    int rc = s6_engine_manage_write(e, req, &w, NULL, 0, err);
    if (rc != 0) {
        s6_buf_free(&b);
        return rc;
    }
    *out = s6_jw_parse(&b, &w);
    return *out != NULL ? 0 : api_fail(err, 503, "no_memory", "",
                                       "out of memory");
}

/* ---- views ---- */

static void write_inflight(s6_jw *w, const s6_engine_record *r,
                           const answer_grid *g)
{
    static const char *const status[] = {
        [S6_INF_SENT] = "SENT", [S6_INF_FAILED] = "FAILED",
        [S6_INF_TAKEN] = "TAKEN", [S6_INF_RESERVING] = "RESERVING"};
    s6_jw_karr(w, "orders_in_flight");
    for (size_t i = 0; i < r->n_inflight; i++) {
        const s6_inflight *o = &r->inflight[i];
        s6_jw_obj(w);
        s6_jw_kstr(w, "intent_id", o->intent_id);
        s6_jw_kstr(w, "purpose", e_purpose_name(o->purpose));
        w_num(w, "qty", o->qty, g->qty);
        w_num(w, "filled", o->filled, g->qty);
        s6_jw_kstr(w, "status", o->status > 0 && o->status < S6_INF_STATUS_COUNT
                                    ? status[o->status] : "?");
        s6_jw_kint(w, "attempts", (long long)o->attempts);
        s6_jw_end_obj(w);
    }
    s6_jw_end_arr(w);
}

/* A price that may be absent: null, else at the tick. */
static void w_price_if(s6_jw *w, const char *key, bool has, double v,
                       const answer_grid *g)
{
    if (has)
        w_num(w, key, v, g->price);
    else
        s6_jw_knull(w, key);
}

static void write_stop(s6_jw *w, const s6_stop *st, const answer_grid *g)
{
    s6_jw_kobj(w, "stop");
    w_price_if(w, "price", st->confirmed.live, st->confirmed.price, g);
    s6_jw_kint(w, "step", st->step);
    s6_jw_kbool(w, "confirmed", st->confirmed.live);
    w_price_if(w, "pending_price", st->pending.live, st->pending.price, g);
    w_price_if(w, "guard", st->guard > 0 && !st->confirmed.live, st->guard, g);
    s6_jw_kstr(w, "intent_id", st->confirmed.live ? st->confirmed.intent_id
                                                  : NULL);
    s6_jw_end_obj(w);
}

/* The rule versions are kept as JSON text (from a restored record, too):
 * written as they parse, {} when they do not. */
static void write_versions(s6_jw *w, const char *text)
{
    json_t *v = json_loads(text != NULL && text[0] ? text : "{}", 0, NULL);
    s6_jw_key(w, "rule_versions");
    if (json_is_object(v)) {
        s6_jw_json(w, v);
    } else {
        s6_jw_obj(w);
        s6_jw_end_obj(w);
    }
    json_decref(v);
}

static void write_margin(s6_jw *w, s6_engine *e, e_pos *p)
{
    static const char *const levels[S6_MARGIN_LEVEL_COUNT] = {
        [S6_MARGIN_OK] = "OK", [S6_MARGIN_ALERT] = "ALERT",
        [S6_MARGIN_CALL] = "MARGIN_CALL"};
    const s6_engine_record *r = &p->rec;
    bool fut = r->pos.market == S6_MARKET_FUT;
    double ratio;
    if (fut && e_margin_ratio(e, p, &ratio) == 0)
        s6_jw_kreal(w, "margin_ratio", ratio);
    else
        s6_jw_knull(w, "margin_ratio");
    s6_jw_kstr(w, "margin_level", fut && r->margin.level >= 0 &&
                                          r->margin.level < S6_MARGIN_LEVEL_COUNT
                                      ? levels[r->margin.level] : NULL);
}

/* One position (docs/contracts/manage.md), prices at the tick, quantities
 * at the step, money to the cent. */
static void write_pos(s6_jw *w, s6_engine *e, e_pos *p)
{
    const s6_engine_record *r = &p->rec;
    answer_grid g = grid_of(e, p);
    s6_pos_view v;
    bool viewed = r->pos.qty > 0 && e_view(e, p, &v) == 0;
    double mark = e->mkts[p->mkt].has ? e->mkts[p->mkt].mark : r->mark;
    s6_jw_obj(w);
    s6_jw_kstr(w, "position_id", r->pos.id);
    s6_jw_kstr(w, "symbol", r->pos.symbol);
    s6_jw_kstr(w, "market", s6_market_name(r->pos.market));
    s6_jw_kstr(w, "state", s6_pos_state_name(r->pos.state));
    s6_jw_kstr(w, "side", r->pos.side > 0 ? "LONG" : r->pos.side < 0 ? "SHORT"
                                                                     : "FLAT");
    w_num(w, "qty", r->pos.qty, g.qty);
    w_num(w, "entry", r->pos.entry, g.price);
    w_price_if(w, "mark", mark > 0, mark, &g);
    if (viewed)
        s6_jw_kreal(w, "roe", v.roe);
    else
        s6_jw_knull(w, "roe");
    w_price_if(w, "liq_price", viewed && v.liq_price > 0, v.liq_price, &g);
    if (viewed)
        s6_jw_kreal(w, "liq_distance", v.liq_distance);
    else
        s6_jw_knull(w, "liq_distance");
    write_stop(w, &r->stop, &g);
    s6_jw_kreal(w, "leverage", r->pos.leverage);
    w_num(w, "margin", r->pos.margin, g.money);
    s6_jw_kobj(w, "tp");
    s6_jw_kint(w, "step", r->tp_step);
    s6_jw_end_obj(w);
    s6_jw_kint(w, "adds", r->pos.add_on_count);
    s6_jw_kint(w, "entries", r->pos.n_entries);
    w_num(w, "realized_pnl", r->pos.realized_pnl, g.money);
    w_num(w, "unrealized_pnl", viewed ? v.upnl : 0, g.money);
    w_num(w, "fees_paid", r->pos.fees_paid, g.money);
    s6_jw_kstr(w, "last_plan_id", r->last_plan_id);
    write_versions(w, r->rule_versions);
    write_inflight(w, r, &g);
    write_margin(w, e, p);
    s6_jw_end_obj(w);
}

void s6_engine_positions_write(s6_engine *e, s6_jw *w)
{
    s6_jw_arr(w);
    for (size_t i = 0; e != NULL && i < e->n_pos; i++)
        if (e->pos[i].used && e->pos[i].rec.pos.state != S6_POS_CLOSED)
            write_pos(w, e, &e->pos[i]);
    s6_jw_end_arr(w);
}

int s6_engine_position_write(s6_engine *e, const char *pos_id, s6_jw *w)
{
    e_pos *p = e != NULL ? e_find(e, pos_id) : NULL;
    if (p == NULL)
        return -ENOENT;
    write_pos(w, e, p);
    return 0;
}

/* The tree forms, for readers inside the process: the written text
 * parsed, so both say the same. */
json_t *s6_engine_positions_json(s6_engine *e)
{
    s6_buf b = { 0 };
    s6_jw w;
    s6_jw_init(&w, &b);
    s6_engine_positions_write(e, &w);
    return s6_jw_parse(&b, &w);
}

json_t *s6_engine_position_json(s6_engine *e, const char *pos_id)
{
    s6_buf b = { 0 };
    s6_jw w;
    s6_jw_init(&w, &b);
    if (s6_engine_position_write(e, pos_id, &w) != 0) {
        s6_buf_free(&b);
        return NULL;
    }
    return s6_jw_parse(&b, &w);
}
