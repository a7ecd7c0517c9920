/*
 * emit.c — what the engine tells the world about a position: the
 * event stream, the observer, the log, the persisted record, the history
 * store and the counters.  One place, so no path forgets one of them.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "core/s6_core.h"
#include "store/store.h"
#include "util/exact.h"

void e_bracket(const s6_symbol_cfg *sym, double notional, double *mmr,
               double *cum)
{
    *mmr = 0;
    *cum = 0;
    for (size_t i = 0; sym != NULL && i < sym->brackets.n; i++) {
        const s6_mm_bracket *b = &sym->brackets.v[i];
        *mmr = b->mmr;
        *cum = b->cum;
        if (notional < b->notional_cap)
            break;
    }
}

/* The exchange takes the bracket of the notional *at the liquidation
 * price*, not at the entry: with more than one bracket the price is
 * resolved across them (s6_liq_price_brackets). */
static void liq_from_brackets(const s6_symbol_cfg *sym, const s6_position *pos,
                              double mark, s6_pos_view *v)
{
    if (pos->market != S6_MARKET_FUT || sym == NULL || sym->brackets.n == 0 ||
        !(pos->margin > 0))
        return;
    double lp = s6_liq_price_brackets(pos->side, pos->qty, pos->entry,
                                      pos->margin, sym->brackets.v,
                                      sym->brackets.n);
    v->liq_price = isnan(lp) ? 0 : lp;
    v->liq_distance = s6_liq_distance(pos->side, mark, v->liq_price);
}

double e_guard_mark(const s6_engine *e, const e_pos *p)
{
    const e_mkt *m = &e->mkts[p->mkt];
    if (!m->has)
        return p->rec.mark;
    /* SPOT guards watch the mid (what a market sell meets); FUT stops
     * trigger on the mark (workingType MARK_PRICE). */
    return p->rec.pos.market == S6_MARKET_SPOT && m->mid > 0 ? m->mid : m->mark;
}

int e_view(s6_engine *e, e_pos *p, s6_pos_view *v)
{
    const s6_engine_record *r = &p->rec;
    const e_mkt *m = &e->mkts[p->mkt];
    double mark = m->has ? m->mark : r->mark;
    double mmr, cum;
    e_bracket(m->sym, r->pos.qty * r->pos.entry, &mmr, &cum);
    int rc = s6_position_view(&r->pos, mark, mmr, cum, v);
    if (rc != 0)
        return rc;
    liq_from_brackets(m->sym, &r->pos, mark, v);
    v->slot = (int)e_slot(e, p);
    const s6_rules_edge *re = &e->edges.rules;
    if (re->slot_named != NULL) /* pos.id and pos.symbol for the rules */
        re->slot_named(re->ud, v->slot, r->pos.id, r->pos.symbol);
    v->stop = r->stop.confirmed.live ? r->stop.confirmed.price
                                     : s6_stop_guard_price(&r->stop);
    v->stop_step = r->stop.step;
    v->tp_step = r->tp_step;
    v->regime = m->regime > 0 ? m->regime : 0;
    v->best_price = r->best_price > 0 ? r->best_price : mark;
    v->exit_fee_rate = m->sym != NULL ? m->sym->taker_fee : 0;
    v->hedge_qty = 0;
    v->target_exposure = NAN;
    if (r->pos.market == S6_MARKET_SPOT) {
        e_pos *fut = e_find_open(e, S6_MARKET_FUT, r->pos.symbol);
        if (fut != NULL)
            v->hedge_qty = fut->rec.pos.side * fut->rec.pos.qty;
        v->target_exposure = e_target_exposure(e, r->pos.symbol);
    }
    return 0;
}

/* The symbol's hedge target: the SPOT entry's, else the FUT one's. */
double e_target_exposure(s6_engine *e, const char *symbol)
{
    for (int market = S6_MARKET_SPOT; market >= S6_MARKET_FUT; market--) {
        const s6_symbol_cfg *s = e_symbol(e, market, symbol);
        if (s != NULL && s->target_exposure.set)
            return s->target_exposure.v;
    }
    return NAN;
}

void e_count(s6_engine *e, const char *name, const char *l1, const char *l2)
{
    if (e->metrics == NULL)
        return;
    const char *vals[2] = {l1, l2};
    size_t n = l1 == NULL ? 0 : l2 == NULL ? 1 : 2;
    s6_counter *c = NULL;
    if (s6_counter_get(e->metrics, name, n, vals, &c) == 0)
        s6_counter_inc(c);
}

static void note(s6_engine *e, e_pos *p, const char *type, double value,
                 const char *rule_version, const char *json)
{
    if (e->observer == NULL)
        return;
    s6_pos_view v;
    double roe = p->rec.pos.qty > 0 && e_view(e, p, &v) == 0 ? v.roe : 0;
    s6_engine_note n = {.ts = e_now(e), .pos_id = p->rec.pos.id,
                        .symbol = p->rec.pos.symbol, .type = type,
                        .price = e->mkts[p->mkt].has ? e->mkts[p->mkt].mark
                                                     : p->rec.mark,
                        .roe = roe, .value = value,
                        .rule_version = rule_version ? rule_version : "",
                        .json = json};
    e->observer(e->observer_ud, &n);
}

/* Prices at the tick, quantities at the step, money to the cent: what
 * leaves the engine reads as the desk's numbers (docs/api.md). */
void e_exact(const s6_engine *e, const e_pos *p, json_t *doc)
{
    const s6_symbol_cfg *sym = e->mkts[p->mkt].sym;
    if (sym != NULL)
        (void)s6_exact_object(doc, &(s6_exact_grid){ sym->tick, sym->step });
}

void e_event(s6_engine *e, e_pos *p, const char *type, double value,
             const char *rule_version, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_error_t jerr;
    json_t *o = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (o == NULL)
        o = json_pack("{s:s}", "pack_error", jerr.text);
    json_object_set_new(o, "ts", json_real(e_now(e)));
    json_object_set_new(o, "state", json_string(s6_pos_state_name(
                                        p->rec.pos.state)));
    if (rule_version != NULL && rule_version[0] != '\0')
        json_object_set_new(o, "rule", json_string(rule_version));
    e_exact(e, p, o);
    char *json = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    const char *text = json != NULL ? json : "{}";
    int rc = e->edges.state.event(e->edges.state.ud, p->rec.pos.symbol,
                                  p->rec.pos.id, type, text);
    s6_log_info(e->log, "engine", type, S6_LOG_STR("pos_id", p->rec.pos.id),
                S6_LOG_STR("symbol", p->rec.pos.symbol),
                S6_LOG_STR("fields", text));
    if (rc != 0)
        s6_log_error(e->log, "engine", "event not appended",
                     S6_LOG_STR("pos_id", p->rec.pos.id),
                     S6_LOG_STR("type", type), S6_LOG_INT("rc", rc));
    note(e, p, type, value, rule_version, text);
    free(json);
}

void e_save(s6_engine *e, e_pos *p)
{
    p->version = ++e->save_seq;
    char *rs = e->edges.rules.state_get != NULL && p->rec.pos.state !=
                       S6_POS_CLOSED
                   ? e->edges.rules.state_get(e->edges.rules.ud,
                                              (int)e_slot(e, p))
                   : NULL;
    p->rec.rule_state_json = rs;
    int rc = e->edges.state.save(e->edges.state.ud, &p->rec);
    p->rec.rule_state_json = NULL;
    free(rs);
    if (rc != 0)
        s6_log_error(e->log, "engine", "record not saved",
                     S6_LOG_STR("pos_id", p->rec.pos.id), S6_LOG_INT("rc", rc));
}

static void store_done(void *ud, int rc, const char *msg,
                       const s6_store_result *res)
{
    s6_engine *e = ud;
    (void)res;
    if (rc != 0)
        s6_log_warn(e->log, "engine", "history store write failed",
                    S6_LOG_INT("rc", rc), S6_LOG_STR("error", msg));
}

void e_snapshot(s6_engine *e, e_pos *p)
{
    if (e->edges.store == NULL)
        return;
    const s6_engine_record *r = &p->rec;
    s6_store_snapshot s;
    memset(&s, 0, sizeof s);
    snprintf(s.pos_id, sizeof s.pos_id, "%s", r->pos.id);
    snprintf(s.symbol, sizeof s.symbol, "%s", r->pos.symbol);
    snprintf(s.market, sizeof s.market, "%s",
             s6_market_name(r->pos.market));
    snprintf(s.state, sizeof s.state, "%s", s6_pos_state_name(r->pos.state));
    snprintf(s.side, sizeof s.side, "%s",
             r->pos.side > 0 ? "LONG" : r->pos.side < 0 ? "SHORT" : "FLAT");
    s6_pos_view v;
    bool viewed = r->pos.qty > 0 && e_view(e, p, &v) == 0;
    s.qty = r->pos.qty;
    s.entry_px = r->pos.entry;
    s.mark_px = e->mkts[p->mkt].has ? e->mkts[p->mkt].mark : r->mark;
    s.roe = viewed ? v.roe : 0;
    s.liq_px = viewed ? v.liq_price : 0;
    s.stop_px = viewed ? v.stop : 0;
    s.stop_step = r->stop.step;
    s.tp_step = r->tp_step;
    s.adds = r->pos.add_on_count;
    s.realized_pnl = r->pos.realized_pnl;
    s.unrealized_pnl = viewed ? v.upnl : 0;
    snprintf(s.plan_id, sizeof s.plan_id, "%s", r->last_plan_id);
    s.rule_versions = r->rule_versions;
    s.ts_ms = (int64_t)(e_now(e) * 1000.0);
    if (s.ts_ms <= 0)
        s.ts_ms = 1;
    s6_store_err err;
    if (s6_store_append_snapshot(e->edges.store, &s, store_done, e, &err) != 0)
        s6_log_warn(e->log, "engine", "snapshot refused",
                    S6_LOG_STR("pos_id", r->pos.id), S6_LOG_STR("error", err.msg));
}

void e_store_order(s6_engine *e, const e_pos *p, const char *intent,
                   const char *kind, const char *status, double price,
                   double qty)
{
    if (e->edges.store == NULL || !(qty > 0))
        return;
    s6_store_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.intent_id, sizeof o.intent_id, "%s", intent);
    snprintf(o.pos_id, sizeof o.pos_id, "%s", p->rec.pos.id);
    snprintf(o.symbol, sizeof o.symbol, "%s", p->rec.pos.symbol);
    snprintf(o.kind, sizeof o.kind, "%s", kind);
    snprintf(o.status, sizeof o.status, "%s", status);
    o.price = price;
    o.qty = qty;
    o.created_ms = o.updated_ms = (int64_t)(e_now(e) * 1000.0);
    if (o.created_ms <= 0)
        o.created_ms = o.updated_ms = 1;
    s6_store_err err;
    if (s6_store_upsert_order(e->edges.store, &o, store_done, e, &err) != 0)
        s6_log_warn(e->log, "engine", "order record refused",
                    S6_LOG_STR("intent_id", intent), S6_LOG_STR("error", err.msg));
}
