/*
 * engine.c — the engine's life cycle: creation, the position table,
 * restore, reconciliation with the venue, resume, status (docs/engine.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "core/s6_core.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt,
                const char *arg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, arg);
    return rc;
}

double e_now(const s6_engine *e)
{
    return e->edges.clock.now(e->edges.clock.ud);
}

e_pos *e_find(s6_engine *e, const char *pos_id)
{
    int i = pos_id != NULL ? s6_index_get(&e->by_id, pos_id) : -1;
    return i >= 0 && (size_t)i < e->n_pos && e->pos[i].used &&
                   strcmp(e->pos[i].rec.pos.id, pos_id) == 0
               ? &e->pos[i] : NULL;
}

static bool is_open(const e_pos *p)
{
    return p->used && p->rec.pos.state != S6_POS_CLOSED;
}

e_pos *e_find_open(s6_engine *e, int market, const char *symbol)
{
    int mi = e_mkt_find(e, market, symbol);
    int s = mi >= 0 ? e->mkts[mi].open_slot : -1;
    return s >= 0 && (size_t)s < e->n_pos && is_open(&e->pos[s]) &&
                   e->pos[s].mkt == mi
               ? &e->pos[s] : NULL;
}

/* Keys are "<pos_id>-<action>-<seq>" and neither action nor seq holds a
 * '-', so the position is what precedes the last two. */
e_pos *e_by_intent(s6_engine *e, const char *intent_id)
{
    char id[S6_INTENT_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", intent_id != NULL ? intent_id : "");
    for (int cut = 0; cut < 2; cut++) {
        char *dash = strrchr(id, '-');
        if (dash == NULL)
            return NULL;
        *dash = '\0';
    }
    return e_find(e, id);
}

size_t e_slot(const s6_engine *e, const e_pos *p)
{
    return (size_t)(p - e->pos);
}

static void mkt_key(int market, const char *symbol, char out[S6_INDEX_KEY_MAX])
{
    snprintf(out, S6_INDEX_KEY_MAX, "%d:%.30s", market, symbol);
}

int e_mkt_find(const s6_engine *e, int market, const char *symbol)
{
    char key[S6_INDEX_KEY_MAX];
    mkt_key(market, symbol, key);
    return s6_index_get(&e->by_mkt, key);
}

int e_mkt_index(s6_engine *e, int market, const char *symbol)
{
    int found = e_mkt_find(e, market, symbol);
    if (found >= 0)
        return found;
    char key[S6_INDEX_KEY_MAX];
    mkt_key(market, symbol, key);
    int si = s6_index_get(&e->by_sym, key);
    if (si < 0)
        return -ENOENT;
    const s6_symbol_cfg *sym = &e->cfg->symbols[si];
    if (e->n_mkts == e->cap_mkts) {
        size_t nc = e->cap_mkts ? e->cap_mkts * 2 : 16;
        e_mkt *nv = realloc(e->mkts, nc * sizeof *nv);
        if (nv == NULL)
            return -ENOMEM;
        e->mkts = nv;
        e->cap_mkts = nc;
    }
    e_mkt *m = &e->mkts[e->n_mkts];
    memset(m, 0, sizeof *m);
    snprintf(m->symbol, sizeof m->symbol, "%s", symbol);
    m->market = market;
    m->sym = sym;
    m->health = 1;
    m->open_slot = -1;
    if (s6_index_put(&e->by_mkt, key, (int)e->n_mkts) != 0)
        return -ENOMEM;
    return (int)e->n_mkts++;
}

/* The symbol's config through the market table (a hash lookup; the
 * config's own lookup walks its list). */
const s6_symbol_cfg *e_symbol(s6_engine *e, int market, const char *symbol)
{
    int mi = e_mkt_index(e, market, symbol);
    return mi >= 0 ? e->mkts[mi].sym : NULL;
}

const s6_symbol_cfg *e_sym(const s6_engine *e, const e_pos *p)
{
    return e->mkts[p->mkt].sym;
}

e_pos *e_new_pos(s6_engine *e, const char *id, const char *symbol,
                 int market, double leverage, char *err, size_t errlen)
{
    int mi = e_mkt_index(e, market, symbol);
    if (mi < 0)
        return (void)fail(err, errlen, mi, "symbol: %s is not configured for "
                          "that market", symbol), NULL;
    size_t slot = e->free_hint;
    while (slot < e->n_pos && e->pos[slot].used)
        slot++;
    int max = e->edges.rules.max_slots;
    if (max > 0 && slot >= (size_t)max)
        return (void)fail(err, errlen, -ENOSPC, "%s: no free slot for a new "
                          "position", symbol), NULL;
    if (slot == e->cap_pos) {
        size_t nc = e->cap_pos ? e->cap_pos * 2 : 64;
        e_pos *nv = realloc(e->pos, nc * sizeof *nv);
        if (nv == NULL)
            return NULL;
        e->pos = nv;
        e->cap_pos = nc;
    }
    e_pos *p = &e->pos[slot];
    memset(p, 0, sizeof *p);
    if (s6_position_init(&p->rec.pos, id, symbol, market, leverage, err,
                         errlen) != 0)
        return NULL;
    if (s6_index_put(&e->by_id, id, (int)slot) != 0)
        return NULL;
    p->used = true;
    p->mkt = mi;
    e->free_hint = slot + 1;
    if (slot == e->n_pos)
        e->n_pos++;
    int *open = &e->mkts[mi].open_slot;
    if (*open < 0 || !is_open(&e->pos[*open]))
        *open = (int)slot;
    if (e->edges.rules.state_drop != NULL)
        e->edges.rules.state_drop(e->edges.rules.ud, (int)slot);
    return p;
}

/* The config's symbols by (market, name): its own lookup walks the list,
 * which a book of thousands of symbols cannot afford per new position. */
static int index_symbols(s6_index *ix, const s6_config *cfg)
{
    for (size_t i = 0; i < cfg->n_symbols; i++) {
        char key[S6_INDEX_KEY_MAX];
        mkt_key(cfg->symbols[i].market, cfg->symbols[i].name, key);
        int rc = s6_index_put(ix, key, (int)i);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Every change of what a position holds goes through here, so the book's
 * total stays the sum of its positions. */
void e_reserve(s6_engine *e, e_pos *p, double budget)
{
    p->rec.risk_reserved += budget;
    if (!p->rec.quota_released)
        e->reserved += budget;
}

void e_free_pos(s6_engine *e, e_pos *p)
{
    size_t slot = e_slot(e, p);
    if (!p->used)
        return;
    e_drop_state(p);
    if (!p->rec.quota_released)
        e->reserved -= p->rec.risk_reserved;
    p->used = false;
    s6_index_del(&e->by_id, p->rec.pos.id);
    if (e->mkts[p->mkt].open_slot == (int)slot)
        e->mkts[p->mkt].open_slot = -1;
    if (slot < e->free_hint)
        e->free_hint = slot;
}

void e_release_quota(s6_engine *e, e_pos *p)
{
    s6_engine_record *r = &p->rec;
    if (r->quota_released)
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
    p->rec.n_inflight = 0;
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
        return fail(err, errlen, -EINVAL, "%s", "cfg, edges and log are required");
    if (!edges_ok(edges))
        return fail(err, errlen, -EINVAL, "%s", "edges: router submit/cancel, "
                    "every state call, rules run and the clock are required");
    s6_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->cfg = cfg;
    e->edges = *edges;
    e->log = log;
    e->metrics = metrics;
    if (index_symbols(&e->by_sym, cfg) != 0) {
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
    free(e->pos);
    free(e->mkts);
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
    if (index_symbols(&by_sym, cfg) != 0) {
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
        return fail(err, errlen, -EEXIST, "pos.id: %s restored twice",
                    r->pos.id);
    if (r->pos.state != S6_POS_CLOSED &&
        e_find_open(e, r->pos.market, r->pos.symbol) != NULL)
        return fail(err, errlen, -EEXIST, "pos.symbol: a second open "
                    "position on %s", r->pos.symbol);
    e_pos *p = e_new_pos(e, r->pos.id, r->pos.symbol, r->pos.market,
                         r->pos.market == S6_MARKET_FUT ? r->pos.leverage : 1,
                         err, errlen);
    if (p == NULL)
        return -EINVAL;
    p->rec = *r;
    p->rec.rule_state_json = NULL;
    if (r->pos.state != S6_POS_CLOSED)
        e->mkts[p->mkt].open_slot = (int)e_slot(e, p);
    if (!r->quota_released)
        e->reserved += r->risk_reserved;
    if (r->rule_state_json != NULL && e->edges.rules.state_put != NULL &&
        e->edges.rules.state_put(e->edges.rules.ud, (int)e_slot(e, p),
                                 r->rule_state_json) != 0) {
        e_free_pos(e, p);
        return fail(err, errlen, -EINVAL, "rule_state: refused by the rules "
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
        return fail(err, errlen, -EBUSY, "%s", "restore comes before any "
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

/* ---- reconciliation ---- */

static const s6_venue_order *venue_order(const s6_venue_view *v,
                                         const char *intent)
{
    for (size_t i = 0; intent[0] != '\0' && i < v->n_orders; i++)
        if (strcmp(v->orders[i].intent_id, intent) == 0)
            return &v->orders[i];
    return NULL;
}

static const s6_venue_position *venue_pos(const s6_venue_view *v,
                                          const e_pos *p)
{
    for (size_t i = 0; i < v->n_positions; i++)
        if (v->positions[i].market == p->rec.pos.market &&
            strcmp(v->positions[i].symbol, p->rec.pos.symbol) == 0)
            return &v->positions[i];
    return NULL;
}

static void reconcile_stop(s6_engine *e, e_pos *p, const s6_venue_view *v)
{
    s6_stop *st = &p->rec.stop;
    if (st->pending.live && venue_order(v, st->pending.intent_id) != NULL)
        e_stop_placed(e, p, st->pending.intent_id);
    if (st->cancelling.live &&
        venue_order(v, st->cancelling.intent_id) == NULL)
        s6_stop_cancelled(st, st->cancelling.intent_id);
    if (st->confirmed.live &&
        venue_order(v, st->confirmed.intent_id) == NULL) {
        /* the venue lost it (expired, cancelled by hand): guard, re-arm */
        st->guard = st->confirmed.price;
        st->confirmed.live = false;
        p->rec.stop_needed = true;
        e_event(e, p, "STOP_MISSING", st->guard, "", "{s:f}", "stop",
                st->guard);
    }
}

/* A quantity that differs is adopted: the venue's book is the truth. */
static void adopt_qty(s6_engine *e, e_pos *p, const s6_venue_position *vp)
{
    s6_position *pos = &p->rec.pos;
    double step = e_sym(e, p)->step;
    if (fabs(vp->qty - pos->qty) < step * 0.5 && vp->side == pos->side)
        return;
    e_event(e, p, "RECONCILED_QTY", vp->qty, "", "{s:f,s:f,s:i}", "ours",
            pos->qty, "venue", vp->qty, "venue_side", vp->side);
    if (vp->side == pos->side) {
        pos->margin *= vp->qty / pos->qty;
        pos->qty = vp->qty;
        p->rec.stop_resize = true;
    }
}

static void adopt_unknown(s6_engine *e, const s6_venue_position *vp)
{
    char id[S6_POS_ID_MAX + 1], err[160];
    snprintf(id, sizeof id, "v%x%x", (unsigned)e_now(e), e->id_seq++);
    const s6_symbol_cfg *cfg = e_symbol(e, vp->market, vp->symbol);
    double lev = cfg != NULL && cfg->leverage > 0 ? cfg->leverage : 1;
    e_pos *p = e_new_pos(e, id, vp->symbol, vp->market, lev, err, sizeof err);
    if (p == NULL) {
        s6_log_error(e->log, "engine", "venue position not adopted",
                     S6_LOG_STR("symbol", vp->symbol), S6_LOG_STR("error", err));
        return;
    }
    const s6_symbol_cfg *sym = e_sym(e, p);
    s6_position *pos = &p->rec.pos;
    s6_fill f = {.kind = S6_FILL_MANUAL, .side = vp->side, .qty = vp->qty,
                 .price = vp->entry, .ts = e_now(e)};
    snprintf(f.result_id, sizeof f.result_id, "reconcile-%s", id);
    s6_fill_effect eff;
    if (s6_position_apply_fill(pos, &f, sym->step, &eff, err, sizeof err) != 0) {
        e_free_pos(e, p);
        s6_log_error(e->log, "engine", "venue position not adopted",
                     S6_LOG_STR("symbol", vp->symbol), S6_LOG_STR("error", err));
        return;
    }
    s6_stop_init(&p->rec.stop, pos->side);
    p->rec.stop_needed = true;
    p->rec.quota_released = true; /* S6 reserved nothing for it */
    e_event(e, p, "ADOPTED", vp->qty, "", "{s:f,s:f}", "qty", vp->qty,
            "entry", vp->entry);
    if (e->resumed)
        e_protect(e, p); /* at start-up, resume does it */
    e_save(e, p);
}

static bool holds_stop(const e_pos *p, const char *intent_id)
{
    const s6_stop *st = &p->rec.stop;
    const s6_stop_order *held[] = { &st->confirmed, &st->pending,
                                    &st->cancelling };
    for (size_t i = 0; i < sizeof held / sizeof *held; i++)
        if (held[i]->live && strcmp(held[i]->intent_id, intent_id) == 0)
            return true;
    return false;
}

/* A stop of ours (an "-sl-" key) resting at the venue that no open
 * position holds: its position closed and the process died before the
 * cancel went out, or a replaced stop's cancel was lost.  Left resting it
 * would act on the next position of the symbol, so it is cancelled.
 * Orders without our key shape (someone's manual stop) are left alone. */
static void cancel_orphan_stops(s6_engine *e, const s6_venue_view *v)
{
    for (size_t i = 0; i < v->n_orders; i++) {
        const s6_venue_order *o = &v->orders[i];
        if (o->type != S6_ORDER_STOP_MARKET ||
            strstr(o->intent_id, "-sl-") == NULL)
            continue;
        e_pos *p = e_by_intent(e, o->intent_id);
        if (p != NULL && p->rec.pos.state != S6_POS_CLOSED &&
            holds_stop(p, o->intent_id))
            continue;
        s6_log_warn(e->log, "engine", "orphan stop at the venue: cancelled",
                    S6_LOG_STR("intent_id", o->intent_id),
                    S6_LOG_STR("symbol", o->symbol));
        if (e->edges.router.cancel(e->edges.router.ud, o->intent_id,
                                   o->symbol, o->market, e_route_cancel_done,
                                   e) != 0)
            s6_log_error(e->log, "engine", "orphan stop not cancelled; "
                         "the next reconciliation tries again",
                         S6_LOG_STR("intent_id", o->intent_id));
    }
}

int s6_engine_reconcile(s6_engine *e, const s6_venue_view *v)
{
    if (e == NULL || v == NULL)
        return -EINVAL;
    size_t n = e->n_pos;
    for (size_t i = 0; i < n; i++) {
        e_pos *p = &e->pos[i];
        if (!p->used || p->rec.pos.state == S6_POS_CLOSED ||
            p->rec.pos.state == S6_POS_PENDING_ENTRY)
            continue;
        const s6_venue_position *vp = venue_pos(v, p);
        if (p->rec.pos.market == S6_MARKET_FUT && vp == NULL) {
            e_transition(e, p, S6_POS_CLOSED, "reconcile: the venue is flat");
            p->rec.pos.closed_at = e_now(e);
            e_close_done(e, p, "venue_flat");
            e_save(e, p);
            continue;
        }
        if (vp != NULL)
            adopt_qty(e, p, vp);
        if (p->rec.pos.market == S6_MARKET_FUT)
            reconcile_stop(e, p, v);
        if (e->resumed)
            e_protect(e, p); /* at start-up, resume does it */
        e_save(e, p);
    }
    for (size_t i = 0; i < v->n_positions; i++)
        if (e_find_open(e, v->positions[i].market, v->positions[i].symbol) ==
                NULL &&
            v->positions[i].qty > 0 &&
            (v->positions[i].side == 1 || v->positions[i].side == -1))
            adopt_unknown(e, &v->positions[i]);
    cancel_orphan_stops(e, v);
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
