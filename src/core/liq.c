/* Liquidation price and distance, Binance USD-M isolated one-way mode. */
#include "core/s6_core.h"
#include "core/check.h"

/*
 * LP = (WB + cum - side*Q*EP) / (Q*MMR - side*Q)
 * The formula can give a value <= 0 (over-collateralised long, or a short
 * whose wallet covers any rise): that means no liquidation price, reported
 * as 0, never as a negative "price".
 */
double s6_liq_price_isolated(int side, double qty, double entry,
                             double wallet, double mmr, double cum)
{
    if (!s6__position_ok(side, qty, entry) || !s6__pos(wallet) ||
        !s6__nonneg(mmr) || mmr >= 1.0 || !s6__nonneg(cum))
        return NAN;
    double lp = (wallet + cum - side * qty * entry) / (qty * mmr - side * qty);
    if (!isfinite(lp))
        return NAN;
    return lp > 0.0 ? lp : 0.0;
}

static int brackets_ok(const s6_mm_bracket *b, size_t n)
{
    if (b == NULL || n == 0 || !s6__nonneg(b[0].notional_floor))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!(b[i].notional_cap > b[i].notional_floor) ||
            !s6__nonneg(b[i].mmr) || b[i].mmr >= 1.0 || !s6__nonneg(b[i].cum))
            return 0;
        if (i + 1 < n && b[i + 1].notional_floor != b[i].notional_cap)
            return 0;
    }
    return 1;
}

static size_t bracket_for(const s6_mm_bracket *b, size_t n, double notional)
{
    for (size_t i = 0; i < n; i++)
        if (notional < b[i].notional_cap)
            return i;
    return n - 1;
}

/*
 * Binance's rule: the liquidation price uses the bracket that the
 * position's notional *at the liquidation price* falls in.  Start from the
 * bracket of the entry notional and re-solve while the answer lands in a
 * different bracket.  Should the brackets cycle (possible only with odd
 * tables), keep the answer closest to the entry: the conservative one.
 */
double s6_liq_price_brackets(int side, double qty, double entry,
                             double wallet, const s6_mm_bracket *brackets,
                             size_t n)
{
    if (!brackets_ok(brackets, n))
        return NAN;
    size_t i = bracket_for(brackets, n, qty * entry);
    double best = NAN;
    for (size_t tries = 0; tries <= n; tries++) {
        double lp = s6_liq_price_isolated(side, qty, entry, wallet,
                                          brackets[i].mmr, brackets[i].cum);
        if (isnan(lp) || lp == 0.0)
            return lp;
        if (isnan(best) || side * lp > side * best)
            best = lp;
        size_t j = bracket_for(brackets, n, qty * lp);
        if (j == i)
            return lp;
        i = j;
    }
    return best;
}

/* Fraction of the mark left before liquidation; negative once past it. */
double s6_liq_distance(int side, double mark, double liq)
{
    if (!s6__side_ok(side) || !s6__pos(mark) || !s6__nonneg(liq))
        return NAN;
    if (liq == 0.0)
        return INFINITY;
    return side * (mark - liq) / mark;
}
