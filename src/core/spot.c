/* SPOT books (weighted average cost) and the hedge to a target exposure. */
#include "core/s6_core.h"
#include "core/check.h"

/* WAC' = (Q*WAC + Qb*Pb) / (Q + Qb); with Q = 0 the old WAC is ignored. */
double s6_wac_after_buy(double qty, double wac, double buy_qty,
                        double buy_price)
{
    if (!s6__nonneg(qty) || !s6__pos(buy_qty) || !s6__pos(buy_price))
        return NAN;
    if (qty == 0.0)
        return buy_price;
    if (!s6__pos(wac))
        return NAN;
    return (qty * wac + buy_qty * buy_price) / (qty + buy_qty);
}

/* Realized PnL of a sell: (P_sell - WAC) * Q_sell. */
double s6_spot_realized(double sell_price, double wac, double sell_qty)
{
    if (!s6__pos(sell_price) || !s6__pos(wac) || !s6__pos(sell_qty))
        return NAN;
    return (sell_price - wac) * sell_qty;
}

/* Unrealized PnL of what is held: (P_mark - WAC) * Q_remain; 0 when flat. */
double s6_spot_unrealized(double mark, double wac, double qty)
{
    if (!s6__pos(mark) || !s6__nonneg(qty))
        return NAN;
    if (qty == 0.0)
        return 0.0;
    if (!s6__pos(wac))
        return NAN;
    return (mark - wac) * qty;
}

/*
 * The signed futures quantity to trade so that Q_spot*P + Q_fut*P = E*:
 *   delta = E* / P - Q_spot - Q_fut      (negative: sell/short futures)
 * fut_qty is signed (short < 0); target_exposure may be any finite value.
 */
double s6_hedge_fut_qty(double spot_qty, double fut_qty, double price,
                        double target_exposure)
{
    if (!s6__nonneg(spot_qty) || !isfinite(fut_qty) || !s6__pos(price) ||
        !isfinite(target_exposure))
        return NAN;
    return target_exposure / price - spot_qty - fut_qty;
}
