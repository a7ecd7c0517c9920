/*
 * paper_book.c — what the paper venue holds per (market, symbol): its
 * one-way position, its resting stops, and the free balances fills move.
 *
 * FUT fills move the futures wallet by the isolated margin (notional /
 * leverage) they lock or release plus the realized PnL, minus the fee;
 * SPOT fills move the spot wallet by the notional, minus the fee.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "venue/paper/internal.h"
#include "core/s6_core.h"

long s6_paper_book_find(const s6_paper *p, const char *symbol, int market)
{
    for (size_t i = 0; i < p->n_books; i++)
        if (p->books[i].sym->market == market &&
            strcmp(p->books[i].sym->name, symbol) == 0)
            return (long)i;
    return -1;
}

int s6_paper_book_add_stop(s6_paper_book *b, size_t order)
{
    if (b->n_stops == b->cap_stops) {
        size_t cap = b->cap_stops ? b->cap_stops * 2 : 4;
        size_t *s = realloc(b->stops, cap * sizeof *s);
        if (s == NULL)
            return -ENOMEM;
        b->stops = s;
        b->cap_stops = cap;
    }
    b->stops[b->n_stops++] = order;
    return 0;
}

/* Keeps the others in their order: triggers then fire in placement order. */
void s6_paper_book_drop_stop(s6_paper_book *b, size_t order)
{
    for (size_t i = 0; i < b->n_stops; i++)
        if (b->stops[i] == order) {
            memmove(&b->stops[i], &b->stops[i + 1],
                    (b->n_stops - i - 1) * sizeof *b->stops);
            b->n_stops--;
            return;
        }
}

static double fee_of(const s6_paper_book *b, double qty, double price)
{
    return qty * price * b->sym->taker_fee;
}

/* why, with its s6_result_code in *code when the caller asks for it. */
static const char *refused(int *code, int c, const char *why)
{
    if (code != NULL)
        *code = c;
    return why;
}

const char *s6_paper_book_refusal(const s6_paper *p, const s6_paper_book *b,
                                  int side, bool reduce_only, double qty,
                                  double price, double leverage, int *code)
{
    const s6_paper_position *pos = &b->pos;
    double half = b->sym->step / 2;
    bool reduces = pos->side != 0 && side != pos->side;
    refused(code, S6_RCODE_NONE, NULL);
    if (reduce_only && (!reduces || qty > pos->qty + half))
        return refused(code, S6_RCODE_REDUCE_ONLY_REJECTED,
                       "reduce_only_rejected");
    if (reduces && qty > pos->qty + half)
        return "position_side_mismatch"; /* one-way mode never flips */
    if (reduces)
        return NULL;
    double notional = qty * price, fee = fee_of(b, qty, price);
    bool short_of = b->sym->market == S6_MARKET_SPOT
                        ? side < 0 /* no spot to sell */ ||
                              notional + fee > p->spot_free
                        : notional / leverage + fee > p->fut_free;
    return short_of ? refused(code, S6_RCODE_INSUFFICIENT_BALANCE,
                              "insufficient_balance")
                    : NULL;
}

static void apply_fut(s6_paper *p, s6_paper_position *pos, int side,
                      double qty, double price, double fee, double leverage,
                      double half)
{
    if (pos->side == 0 || side == pos->side) {
        if (pos->side == 0)
            pos->leverage = leverage;
        double m = qty * price / pos->leverage;
        pos->entry = (pos->qty * pos->entry + qty * price) / (pos->qty + qty);
        pos->qty += qty;
        pos->side = side;
        pos->margin += m;
        pos->realized -= fee;
        p->fut_free -= m + fee;
        return;
    }
    double released = pos->margin * qty / pos->qty;
    double pnl = pos->side * (price - pos->entry) * qty;
    pos->margin -= released;
    pos->qty -= qty;
    pos->realized += pnl - fee;
    p->fut_free += released + pnl - fee;
    if (pos->qty < half)
        *pos = (s6_paper_position){ .realized = pos->realized };
}

static void apply_spot(s6_paper *p, s6_paper_position *pos, int side,
                       double qty, double price, double fee, double half)
{
    if (side > 0) {
        pos->entry = s6_wac_after_buy(pos->qty, pos->entry, qty, price);
        pos->qty += qty;
        pos->side = 1;
        pos->leverage = 1;
        pos->margin = pos->entry * pos->qty;
        pos->realized -= fee;
        p->spot_free -= qty * price + fee;
        return;
    }
    pos->realized += s6_spot_realized(price, pos->entry, qty) - fee;
    pos->qty -= qty;
    pos->margin = pos->entry * pos->qty;
    p->spot_free += qty * price - fee;
    if (pos->qty < half)
        *pos = (s6_paper_position){ .realized = pos->realized };
}

void s6_paper_book_apply(s6_paper *p, s6_paper_book *b, int side,
                         double qty, double price, double fee,
                         double leverage)
{
    double half = b->sym->step / 2;
    if (b->sym->market == S6_MARKET_SPOT)
        apply_spot(p, &b->pos, side, qty, price, fee, half);
    else
        apply_fut(p, &b->pos, side, qty, price, fee, leverage, half);
}

double s6_paper_fill_price(const s6_paper *p, const s6_paper_book *b,
                           int side)
{
    double px = b->mark * (1 + side * p->o.slippage);
    /* A buy never fills below the slipped price, a sell never above. */
    double r = s6_round_to_step(px, b->sym->tick, side > 0 ? 1 : -1);
    return r > 0 ? r : b->sym->tick;
}
