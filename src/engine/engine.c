/*
 * engine.c — the engine's life cycle: creation, reconfiguration, the
 * state machine's moves and a closed position's release, restore and
 * resume after a restart, status (docs/engine.md).  The book is book.c's,
 * reconciliation with the venue reconcile.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "core/s6_core.h"

int e_fail(char *err, size_t errlen, int rc, const char *fmt, const char *arg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, arg);
    return rc;
}

double e_now(const s6_engine *e)
{
    return e->edges.clock.now(e->edges.clock.ud);
}

void e_release_quota(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    if (r->quota_released || e_quota_pending(p))
        return;
    /* The record's flag keeps this engine from asking twice; the edge's
     * marker keeps a restart between the two from releasing twice. */
    int rc = e->edges.state.quota_release(e->edges.state.ud, r->pos.id,
                                          r->risk_reserved,
                                          r->concurrency_reserved);
    if (rc != 0) {
        s6_log_error(e->log, "engine", "quota release failed, retried on the "
                     "next tick", S6_LOG_STR("pos_id", r->pos.id),
                     S6_LOG_INT("rc", rc));
        return;
    }
    r->quota_released = true;
    e->reserved -= r->risk_reserved;
    e_event(e, p, "QUOTA_RELEASED", r->risk_reserved, "", "{s:f,s:i}",
            "budget", r->risk_reserved, "concurrency",
            r->concurrency_reserved);
}

/* The position is CLOSED: nothing of it may stay on the exchange or in
 * the books. */
void e_close_done(s6_engine *e, e_pos *p, const char *why)
{
    e_cancel_stops(e, p);
    e_withdraw_orders(e, p);
    p->rec.stop_needed = p->rec.stop_resize = p->rec.stop_retry = false;
    p->closed_tick = e->ticks;
    e_event(e, p, "POSITION_CLOSED", p->rec.pos.realized_pnl, "",
            "{s:s,s:f}", "reason", why, "realized_pnl",
            p->rec.pos.realized_pnl);
    e_release_quota(e, p);
    if (e->edges.rules.state_drop != NULL)
        e->edges.rules.state_drop(e->edges.rules.ud, (int)e_slot(e, p));
}

int e_transition(s6_engine *e, e_pos *p, s6_pos_state to, const char *why)
{
    s6_pos_state from = p->rec.pos.state;
    char err[96] = "";
    int rc = s6_position_transition(&p->rec.pos, to, err, sizeof err);
    if (rc != 0) {
        s6_log_error(e->log, "engine", "transition refused",
                     S6_LOG_STR("pos_id", p->rec.pos.id),
                     S6_LOG_STR("error", err), S6_LOG_STR("why", why));
        return rc;
    }
    e->open_known = false;
    e_event(e, p, "STATE", 0, "", "{s:s,s:s,s:s}", "from",
            s6_pos_state_name(from), "to", s6_pos_state_name(to), "why", why);
    return 0;
}

bool e_paused(s6_engine *e, const char *symbol, int purpose)
{
    return e->blocks != NULL && e->blocks(e->blocks_ud, symbol, purpose);
}

static bool edges_ok(const s6_engine_edges *ed)
{
    const s6_state_edge *s = &ed->state;
    return ed->router.submit != NULL && ed->router.cancel != NULL &&
           s->save != NULL && s->event != NULL && s->announce != NULL &&
           s->quota_reserve != NULL && s->quota_release != NULL &&
           ed->rules.run != NULL && ed->clock.now != NULL;
}

int s6_engine_new(const s6_config *cfg, const s6_engine_edges *edges,
                  s6_log *log, s6_metrics *metrics, s6_engine **out,
                  char *err, size_t errlen)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (cfg == NULL || edges == NULL || log == NULL)
        return e_fail(err, errlen, -EINVAL, "%s", "cfg, edges and log are required");
    if (!edges_ok(edges))
        return e_fail(err, errlen, -EINVAL, "%s", "edges: router submit/cancel, "
                    "every state call, rules run and the clock are required");
    s6_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->cfg = cfg;
    e->edges = *edges;
    e->log = log;
    e->metrics = metrics;
    if (e_index_symbols(&e->by_sym, cfg) != 0) {
        s6_engine_free(e);
        return -ENOMEM;
    }
    *out = e;
    return 0;
}

void s6_engine_free(s6_engine *e)
{
    if (e == NULL)
        return;
    e_rules_free(e);
    free(e->pos);
    free(e->mkts);
    free(e->leftovers);
    e_texts_free(e);
    s6_index_free(&e->by_id);
    s6_index_free(&e->by_mkt);
    s6_index_free(&e->by_sym);
    free(e);
}

int s6_engine_reconfigure(s6_engine *e, const s6_config *cfg)
{
    if (e == NULL || cfg == NULL)
        return -EINVAL;
    /* Symbols a position trades must stay configured: a position without
     * its tick and step could not be protected. */
    for (size_t i = 0; i < e->n_mkts; i++)
        if (s6_config_symbol(cfg, e->mkts[i].market, e->mkts[i].symbol) ==
            NULL) {
            for (size_t j = 0; j < e->n_pos; j++)
                if (e->pos[j].used && e->pos[j].mkt == (int)i &&
                    e->pos[j].rec.pos.state != S6_POS_CLOSED) {
                    s6_log_error(e->log, "engine", "reconfigure refused: a "
                                 "position trades a symbol the new config "
                                 "drops", S6_LOG_STR("symbol",
                                                     e->mkts[i].symbol));
                    return -EBUSY;
                }
        }
    s6_index by_sym = {0};
    if (e_index_symbols(&by_sym, cfg) != 0) {
        s6_index_free(&by_sym);
        return -ENOMEM;
    }
    s6_index_free(&e->by_sym);
    e->by_sym = by_sym;
    e->cfg = cfg;
    for (size_t i = 0; i < e->n_mkts; i++)
        e->mkts[i].sym = s6_config_symbol(cfg, e->mkts[i].market,
                                          e->mkts[i].symbol);
    return 0;
}

void s6_engine_observe(s6_engine *e, s6_engine_observer fn, void *ud)
{
    e->observer = fn;
    e->observer_ud = ud;
}

void s6_engine_set_pause(s6_engine *e,
                         bool (*blocks)(void *ud, const char *symbol,
                                        int purpose),
                         void *ud)
{
    e->blocks = blocks;
    e->blocks_ud = ud;
}

/* ---- restart ---- */

static int restore_one(s6_engine *e, const s6_engine_record *r, char *err,
                       size_t errlen)
{
    if (e_find(e, r->pos.id) != NULL)
        return e_fail(err, errlen, -EEXIST, "pos.id: %s restored twice",
                    r->pos.id);
    if (r->pos.state != S6_POS_CLOSED &&
        e_find_open(e, r->pos.market, r->pos.symbol) != NULL)
        return e_fail(err, errlen, -EEXIST, "pos.symbol: a second open "
                    "position on %s", r->pos.symbol);
    e_pos *p = e_new_pos(e, r->pos.id, r->pos.symbol, r->pos.market,
                         r->pos.market == S6_MARKET_FUT ? r->pos.leverage : 1,
                         err, errlen);
    if (p == NULL)
        return -EINVAL;
    p->rec = *r;
    p->rec.rule_state_json = NULL;
    if (e_text_intern(e, r->rule_versions, &p->rec.rule_versions) != 0) {
        e_free_pos(e, p);
        return e_fail(err, errlen, -ENOMEM, "rule_versions: out of memory "
                      "for %s", r->pos.id);
    }
    if (r->pos.state != S6_POS_CLOSED)
        e->mkts[p->mkt].open_slot = (int)e_slot(e, p);
    if (!r->quota_released)
        e->reserved += r->risk_reserved;
    if (r->rule_state_json != NULL && e->edges.rules.state_put != NULL &&
        e->edges.rules.state_put(e->edges.rules.ud, (int)e_slot(e, p),
                                 r->rule_state_json) != 0) {
        e_free_pos(e, p);
        return e_fail(err, errlen, -EINVAL, "rule_state: refused by the rules "
                    "edge for %s", r->pos.id);
    }
    return 0;
}

int s6_engine_restore(s6_engine *e, const s6_engine_record *recs, size_t n,
                      char *err, size_t errlen)
{
    if (e == NULL || (recs == NULL && n > 0))
        return -EINVAL;
    if (e->resumed || e->n_pos > 0)
        return e_fail(err, errlen, -EBUSY, "%s", "restore comes before any "
                    "input");
    for (size_t i = 0; i < n; i++) {
        int rc = restore_one(e, &recs[i], err, errlen);
        if (rc != 0) {
            for (size_t j = 0; j < e->n_pos; j++)
                e_free_pos(e, &e->pos[j]); /* all or nothing */
            e->n_pos = 0;
            e->free_hint = 0;
            return rc;
        }
    }
    s6_log_info(e->log, "engine", "restored", S6_LOG_INT("positions",
                                                         (int64_t)n));
    return 0;
}

/* Half-done work of one position after a restart: everything that was
 * out is sent again with its own key (S4 answers a known key with the
 * order it has, never a second one), and what cannot be finished is
 * rolled back. */
static void resume_one(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    if (r->pos.state == S6_POS_CLOSED) {
        e_release_quota(e, p);
        return;
    }
    for (size_t i = 0; i < r->n_inflight;) {
        s6_inflight *o = &r->inflight[i];
        if (o->status == S6_INF_RESERVING) {
            e_event(e, p, "ADD_ROLLED_BACK", o->qty, "", "{s:s}",
                    "intent_id", o->intent_id);
            e_inflight_drop(p, o);
            continue;
        }
        if (o->status != S6_INF_TAKEN)
            e_resend(e, p, o);
        i++;
    }
    if (r->pos.state == S6_POS_PENDING_CLOSING &&
        e_inflight_of(p, S6_PURPOSE_CLOSE) == NULL &&
        e_inflight_of(p, S6_PURPOSE_TP) == NULL) {
        e_transition(e, p, S6_POS_ACTIVE, "resume: the close never went out");
    }
    if (r->stop.pending.live)
        e_resend_stop(e, p);
    if (r->stop.cancelling.live)
        e_send_cancel(e, p);
    e_protect(e, p);
    e_save(e, p);
}

int s6_engine_resume(s6_engine *e)
{
    if (e == NULL)
        return -EINVAL;
    e->resumed = true;
    for (size_t i = 0; i < e->n_pos; i++)
        if (e->pos[i].used)
            resume_one(e, &e->pos[i]);
    s6_log_info(e->log, "engine", "resumed", S6_LOG_INT("positions",
                                                        (int64_t)e->n_pos));
    return 0;
}

void s6_engine_get_status(const s6_engine *e, s6_engine_status *st)
{
    memset(st, 0, sizeof *st);
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n_pos; i++) {
        const s6_engine_record *r = &e->pos[i].rec;
        if (!e->pos[i].used || r->pos.state == S6_POS_CLOSED)
            continue;
        st->positions++;
        st->unprotected += !r->stop.confirmed.live;
    }
    st->last_tick = e->last_tick;
    st->last_price = e->last_price;
    st->resumed = e->resumed;
    st->stale_dropped = e->stale_dropped;
    st->jumps_held = e->jumps_held;
}
