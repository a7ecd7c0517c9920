/* ATR stop families (docs/primitives.md). */
#include "core/s6_core.h"
#include "core/check.h"

/* The initial ATR stop: entry - side*k*ATR. */
double s6_atr_stop(int side, double entry, double atr, double k)
{
    if (!s6__side_ok(side) || !s6__pos(entry) || !s6__pos(atr) ||
        !s6__pos(k))
        return NAN;
    return s6__price_or_nan(entry - side * k * atr);
}

/*
 * The trailing ATR stop measured from the best price since entry
 * (highest for a long, lowest for a short); it never loosens:
 *   long  max(prev, highest - k*ATR)     short  min(prev, lowest + k*ATR)
 * prev_stop = 0 means "no stop yet".
 */
double s6_atr_trail(int side, double prev_stop, double extreme, double atr,
                    double k)
{
    if (!s6__side_ok(side) || !s6__nonneg(prev_stop) || !s6__pos(extreme) ||
        !s6__pos(atr) || !s6__pos(k))
        return NAN;
    double cand = extreme - side * k * atr;
    if (prev_stop == 0.0)
        return s6__price_or_nan(cand);
    if (!(cand > 0.0))
        return prev_stop;
    return side * cand > side * prev_stop ? cand : prev_stop;
}
