/*
 * Exchange filters: snapping prices to the tick and quantities to the step
 * in the direction that keeps money safe, and printing them as the exact
 * decimal strings an order body needs.
 */
#include <stdio.h>

#include "core/s6_core.h"
#include "core/check.h"

/* Relative slack under which value/step counts as already on the grid:
 * far above double rounding noise, far below any real tick. */
#define S6_GRID_EPS 1e-9
#define S6_MAX_DECIMALS 12
/* A decimal step is one rounding away from its double, and step*10^d adds
 * one more (10^d is exact): x lies within ~2^-52 of an integer relative to
 * x.  S6_GRID_EPS here would accept 1/3 as 9 decimals (x = 333333333.33). */
#define S6_DECIMAL_EPS 1e-15

int s6_step_decimals(double step)
{
    if (!s6__pos(step))
        return S6_EINVAL;
    double scale = 1.0;
    for (int d = 0; d <= S6_MAX_DECIMALS; d++, scale *= 10.0) {
        double x = step * scale;
        if (fabs(x - nearbyint(x)) <= S6_DECIMAL_EPS * x)
            return d;
    }
    return S6_ERANGE;
}

static double pow10i(int d)
{
    double s = 1.0;
    while (d-- > 0)
        s *= 10.0;
    return s;
}

/* k*step, then the nearest double to the decimal k*step (no 0.30000000000000004). */
static double grid_value(double k, double step)
{
    int d = s6_step_decimals(step);
    double v = k * step;
    if (d >= 0) {
        double s = pow10i(d);
        v = nearbyint(v * s) / s;
    }
    return v == 0.0 ? 0.0 : v; /* no -0 */
}

/* dir: -1 down (floor), 0 nearest, +1 up (ceil). */
double s6_round_to_step(double value, double step, int dir)
{
    if (!isfinite(value) || !s6__pos(step) || dir < -1 || dir > 1)
        return NAN;
    double n = value / step;
    if (!isfinite(n) || fabs(n) > 9007199254740992.0)
        return NAN;
    double k = nearbyint(n);
    if (fabs(n - k) > S6_GRID_EPS * fmax(1.0, fabs(n)))
        k = dir < 0 ? floor(n) : dir > 0 ? ceil(n) : k;
    return grid_value(k, step);
}

/* A stop rounds tighter: up for a long, down for a short. */
double s6_round_stop(int side, double price, double tick)
{
    if (!s6__side_ok(side) || !s6__pos(price))
        return NAN;
    return s6__price_or_nan(s6_round_to_step(price, tick, side));
}

/* A quantity rounds down, so a reduce never exceeds what is held. */
double s6_round_qty(double qty, double step)
{
    if (!s6__nonneg(qty))
        return NAN;
    return s6_round_to_step(qty, step, -1);
}

/*
 * Prints value with exactly the step's decimals.  The value must already
 * lie on the step's grid: printf's own rounding could otherwise turn a
 * quantity of 0.0019999 into "0.002", more than the caller meant.
 * Returns the string length, S6_EINVAL off-grid, S6_ERANGE if len is short.
 */
int s6_format_decimal(double value, double step, char *buf, size_t len)
{
    if (buf == NULL || len == 0 || !isfinite(value))
        return S6_EINVAL;
    int d = s6_step_decimals(step);
    if (d < 0)
        return d;
    double on_grid = s6_round_to_step(value, step, 0);
    if (isnan(on_grid) || fabs(on_grid - value) >
                              S6_GRID_EPS * fmax(step, fabs(value)))
        return S6_EINVAL;
    int n = snprintf(buf, len, "%.*f", d, on_grid);
    if (n < 0 || (size_t)n >= len)
        return S6_ERANGE;
    return n;
}
