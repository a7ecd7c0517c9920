/*
 * reconcile.c — the book against the venue's view (S4's positions and open
 * orders), at start-up and periodically: a pending stop the venue holds is
 * confirmed, a confirmed stop it lacks is re-armed (the guard covers
 * meanwhile), a cancel it already did is done, a FUT position it no longer
 * has is closed, a different quantity is adopted, a position S6 does not
 * know is adopted and protected, and a stop of ours no open position
 * holds is cancelled (docs/engine.md, "Restart").
 *
 * Results before views (design 4b): a view S4 took before a result the
 * engine already applied for an instrument is stale for it, and a view
 * taken after results the engine has not read yet is ahead of it.  A view
 * ahead is not used at all (the caller asks again once the consumer has
 * read further); a stale one may confirm and adopt, never shrink, close
 * or cancel (docs/engine.md "The venue's view and the results").
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "util/stream_id.h"

void e_note_result(s6_engine *e, const s6_order_result *r)
{
    int mi = e_mkt_index(e, r->market, r->symbol);
    if (mi < 0)
        return;
    e_mkt *m = &e->mkts[mi];
    if (s6_stream_id_cmp(r->stream_id, m->last_result) > 0)
        snprintf(m->last_result, sizeof m->last_result, "%s", r->stream_id);
    m->last_result_at = e_now(e);
}

static bool has_as_of(const s6_venue_view *v)
{
    return v->as_of_positions != NULL && v->as_of_orders != NULL &&
           v->as_of_positions[0] != '\0' && v->as_of_orders[0] != '\0';
}

/* The older of the two answers' as_of: a result after it may be missing
 * from one of them. */
static const char *as_of_lo(const s6_venue_view *v)
{
    return s6_stream_id_cmp(v->as_of_positions, v->as_of_orders) < 0
               ? v->as_of_positions : v->as_of_orders;
}

/* The view is the truth for this instrument: no result applied for it
 * after the view (with as_of), or none for a quiet while (without). */
static bool fresh_for(s6_engine *e, const s6_venue_view *v, int market,
                      const char *symbol)
{
    int mi = e_mkt_find(e, market, symbol);
    if (mi < 0)
        return true;
    const e_mkt *m = &e->mkts[mi];
    if (has_as_of(v))
        return s6_stream_id_cmp(m->last_result, as_of_lo(v)) <= 0;
    return m->last_result_at == 0 ||
           e_now(e) - m->last_result_at >= S6_ENGINE_VIEW_QUIET_S;
}

/* For the stop's repairs: the view is also older than the position's
 * last stop change (a stop confirmed by S4's answer carries no stream
 * id, and a view asked for before it may not list it yet). */
static bool stop_fresh(const s6_venue_view *v, const e_pos *p, bool fresh)
{
    return fresh && !(v->taken_at > 0 && p->touched >= v->taken_at);
}

/* A change that shrinks, closes or cancels: with as_of one fresh view is
 * enough; without, the same discrepancy in S6_ENGINE_VIEW_AGREE views in
 * a row (count: the position's counter for this discrepancy). */
static bool agreed(const s6_venue_view *v, unsigned *count)
{
    (*count)++;
    return has_as_of(v) || *count >= S6_ENGINE_VIEW_AGREE;
}

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

static void reconcile_stop(s6_engine *e, e_pos *p, const s6_venue_view *v,
                           bool fresh)
{
    s6_stop *st = &p->rec.stop;
    if (st->pending.live && venue_order(v, st->pending.intent_id) != NULL)
        e_stop_placed(e, p, st->pending.intent_id);
    if (!fresh)
        return;
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
static void adopt_qty(s6_engine *e, e_pos *p, const s6_venue_position *vp,
                      const s6_venue_view *v)
{
    s6_position *pos = &p->rec.pos;
    double step = e_sym(e, p)->step;
    if (fabs(vp->qty - pos->qty) < step * 0.5 && vp->side == pos->side) {
        p->qty_views = 0;
        return;
    }
    if (fabs(vp->qty - p->qty_seen) >= step * 0.5)
        p->qty_views = 0;
    p->qty_seen = vp->qty;
    if (!agreed(v, &p->qty_views))
        return;
    e_event(e, p, "RECONCILED_QTY", vp->qty, "", "{s:f,s:f,s:i}", "ours",
            pos->qty, "venue", vp->qty, "venue_side", vp->side);
    if (vp->side == pos->side) {
        pos->margin *= vp->qty / pos->qty;
        pos->qty = vp->qty;
        p->rec.stop_resize = true;
    }
}

static void adopt_unknown(s6_engine *e, const s6_venue_position *vp,
                          const s6_venue_view *v)
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
    /* Nothing reserved yet; what its ENTRY result carries, and its
     * add-ons, are recorded and released at close like any other's. */
    p->rec.adoption.waiting = true;
    snprintf(p->rec.adoption.as_of, sizeof p->rec.adoption.as_of, "%s",
             has_as_of(v) ? as_of_lo(v) : "");
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
 * would act on the next position of the symbol, so it is cancelled, on
 * any view, fresh or not: S6 keys a stop only for a position it holds,
 * and saves the key before sending it.
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
        e_leftover_add(e, o->intent_id, o->symbol, o->market);
    }
    e_hunt(e);
}

/* The view was taken after results the consumer has not read yet. */
static bool ahead(const s6_venue_view *v)
{
    if (!has_as_of(v) || v->results_read == NULL)
        return false;
    const char *hi = s6_stream_id_cmp(v->as_of_positions,
                                      v->as_of_orders) > 0
                         ? v->as_of_positions : v->as_of_orders;
    return s6_stream_id_cmp(hi, v->results_read) > 0;
}

int s6_engine_reconcile(s6_engine *e, const s6_venue_view *v)
{
    if (e == NULL || v == NULL)
        return -EINVAL;
    if (ahead(v)) {
        s6_log_info(e->log, "engine", "venue view ahead of the results read: "
                    "not used", S6_LOG_STR("as_of", v->as_of_positions),
                    S6_LOG_STR("read", v->results_read));
        return S6_ENOTREADY;
    }
    size_t n = e->n_pos, stale = 0;
    for (size_t i = 0; i < n; i++) {
        e_pos *p = &e->pos[i];
        if (!p->used || p->rec.pos.state == S6_POS_CLOSED ||
            p->rec.pos.state == S6_POS_PENDING_ENTRY)
            continue;
        const s6_venue_position *vp = venue_pos(v, p);
        bool fresh = fresh_for(e, v, p->rec.pos.market, p->rec.pos.symbol);
        stale += !fresh;
        if (vp != NULL)
            p->flat_views = 0;
        if (p->rec.pos.market == S6_MARKET_FUT && vp == NULL && fresh &&
            agreed(v, &p->flat_views)) {
            e_transition(e, p, S6_POS_CLOSED, "reconcile: the venue is flat");
            p->rec.pos.closed_at = e_now(e);
            e_close_done(e, p, "venue_flat");
            e_save(e, p);
            continue;
        }
        if (vp != NULL && fresh) {
            adopt_qty(e, p, vp, v);
            e_venue_books(e, p, vp);
        }
        if (p->rec.pos.market == S6_MARKET_FUT)
            reconcile_stop(e, p, v, stop_fresh(v, p, fresh));
        if (e->resumed)
            e_protect(e, p); /* at start-up, resume does it */
        e_save(e, p);
    }
    for (size_t i = 0; i < v->n_positions; i++) {
        const s6_venue_position *vp = &v->positions[i];
        if (e_find_open(e, vp->market, vp->symbol) != NULL || !(vp->qty > 0) ||
            (vp->side != 1 && vp->side != -1))
            continue;
        if (fresh_for(e, v, vp->market, vp->symbol))
            adopt_unknown(e, vp, v);
        else
            stale++;
    }
    cancel_orphan_stops(e, v);
    if (stale > 0)
        s6_log_info(e->log, "engine", "venue view stale for some instruments: "
                    "only confirmations used there",
                    S6_LOG_INT("instruments", (int64_t)stale));
    return 0;
}
