/*
 * history.c — an order's fills in the history store's orders table: the
 * row of the intent a fill names moves to PARTIALLY_FILLED or FILLED with
 * the quantity filled so far and the fill's price (docs/engine.md,
 * "History").  Sent, accepted, cancelled, rejected and failed are written
 * where those happen (orders.c, results.c).  Each write is also one more
 * event of the order's life in order_events (the store appends it).
 */
#include <string.h>

#include "engine/internal.h"

/* The kind of the order a fill names: S6's own keys say it by their
 * action ("<pos_id>-<action>-<seq>"), an upstream entry is an ENTRY. */
static const char *fill_order_kind(const e_pos *p, const s6_fill *f)
{
    static const struct {
        const char *action;
        int purpose;
    } actions[] = {
        {"-sl-", S6_PURPOSE_STOP}, {"-tp-", S6_PURPOSE_TP},
        {"-add-", S6_PURPOSE_ADD}, {"-cl-", S6_PURPOSE_CLOSE},
        {"-hg-", S6_PURPOSE_HEDGE},
    };
    size_t n = strlen(p->rec.pos.id);
    if (strncmp(f->intent_id, p->rec.pos.id, n) == 0)
        for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
            if (strncmp(f->intent_id + n, actions[i].action,
                        strlen(actions[i].action)) == 0)
                return e_store_kind(actions[i].purpose);
    return f->kind == S6_FILL_STOP ? "STOP" : "ENTRY";
}

void e_history_fill(s6_engine *e, e_pos *p, const s6_fill *f)
{
    if (f->intent_id[0] == '\0')
        return; /* a liquidation, ADL or trade by hand names no order */
    s6_inflight *o = e_inflight_find(p, f->intent_id);
    double filled = o != NULL ? o->filled + f->qty : f->qty;
    bool done = o == NULL || filled >= o->qty - e_sym(e, p)->step / 2;
    e_store_order(e, p, f->intent_id, fill_order_kind(p, f),
                  done ? "FILLED" : "PARTIALLY_FILLED", f->price, filled);
}
