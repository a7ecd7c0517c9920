/* PnL, ROE and lock prices of an isolated futures position (docs/primitives.md). */
#include "core/s6_core.h"
#include "core/check.h"

double s6_upnl(int side, double qty, double entry, double mark)
{
    if (!s6__position_ok(side, qty, entry) || !s6__pos(mark))
        return NAN;
    return side * qty * (mark - entry);
}

/* ROE as Binance shows it: unRealizedProfit / isolatedWallet. */
double s6_roe(int side, double qty, double entry, double mark,
              double isolated_margin)
{
    if (!s6__pos(isolated_margin))
        return NAN;
    return s6_upnl(side, qty, entry, mark) / isolated_margin;
}

/* Solves side*Q*(P-E) = roe*M for P; roe = 0 is the gross breakeven. */
double s6_price_for_roe(int side, double qty, double entry,
                        double isolated_margin, double roe)
{
    if (!s6__position_ok(side, qty, entry) || !s6__pos(isolated_margin) ||
        !isfinite(roe))
        return NAN;
    return s6__price_or_nan(entry + side * roe * isolated_margin / qty);
}

/*
 * The price at which closing the whole position leaves a net PnL of
 * roe*M after the fees already paid and the exit's own fee f*Q*P:
 *   side*Q*(P-E) - fees_paid - f*Q*P = roe*M
 *   P = (roe*M + fees_paid + side*Q*E) / (Q*(side - f))
 * A gross breakeven would lose both fees on every stop-out at "breakeven".
 */
double s6_price_for_roe_net(int side, double qty, double entry,
                            double isolated_margin, double fees_paid,
                            double exit_fee_rate, double roe)
{
    if (!s6__position_ok(side, qty, entry) || !s6__pos(isolated_margin) ||
        !s6__nonneg(fees_paid) || !s6__nonneg(exit_fee_rate) ||
        exit_fee_rate >= 1.0 || !isfinite(roe))
        return NAN;
    double px = (roe * isolated_margin + fees_paid + side * qty * entry) /
                (qty * (side - exit_fee_rate));
    return s6__price_or_nan(px);
}

/*
 * Isolated margin ratio as Binance reports it: maintenance margin over
 * margin balance, (Q*mark*mmr - cum) / (wallet + uPnL).  At 1.0 the
 * position is liquidated; a balance at or below zero is reported as +inf.
 */
double s6_margin_ratio(int side, double qty, double entry, double mark,
                       double wallet, double mmr, double cum)
{
    if (!s6__pos(wallet) || !s6__nonneg(mmr) || mmr >= 1.0 || !s6__nonneg(cum))
        return NAN;
    double upnl = s6_upnl(side, qty, entry, mark);
    if (isnan(upnl))
        return NAN;
    double balance = wallet + upnl;
    double maint = qty * mark * mmr - cum;
    if (maint < 0.0)
        maint = 0.0;
    return balance > 0.0 ? maint / balance : INFINITY;
}
