/*
 * venue_books.c — the venue's books adopted at reconciliation: the entry
 * price and the isolated margin S4's view gives, when they differ from
 * ours beyond a tolerance (reconcile.entry_tolerance_frac,
 * reconcile.margin_tolerance).  The venue's books are the exchange's:
 * its entry decides the PnL it pays, its margin the liquidation price.
 * Each adoption is an event saying by how much (docs/engine.md,
 * "Restart").
 */
#include <math.h>

#include "engine/internal.h"

typedef struct adopt_field {
    const char *event;           /* RECONCILED_ENTRY, RECONCILED_MARGIN */
    size_t off;                  /* in s6_position */
} adopt_field;

static void adopt(s6_engine *e, e_pos *p, const adopt_field *f, double venue,
                  double tolerance)
{
    double *ours = (double *)((char *)&p->rec.pos + f->off);
    double diff = venue - *ours;
    if (!(venue > 0) || !(fabs(diff) > tolerance))
        return;
    e_event(e, p, f->event, venue, "", "{s:f,s:f,s:f}", "ours", *ours,
            "venue", venue, "diff", diff);
    *ours = venue;
}

void e_venue_books(s6_engine *e, e_pos *p, const s6_venue_position *vp)
{
    static const adopt_field entry = {"RECONCILED_ENTRY",
                                      offsetof(s6_position, entry)};
    static const adopt_field margin = {"RECONCILED_MARGIN",
                                       offsetof(s6_position, margin)};
    const s6_position *pos = &p->rec.pos;
    if (vp->side != pos->side)
        return; /* a flip is the quantity's story (reconcile.c) */
    adopt(e, p, &entry, vp->entry,
          e->cfg->reconcile.entry_tolerance_frac * pos->entry);
    if (pos->market == S6_MARKET_FUT)
        adopt(e, p, &margin, vp->margin, e->cfg->reconcile.margin_tolerance);
}
