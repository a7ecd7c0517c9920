/*
 * Wilder's Average True Range exactly as TA-Lib computes it (ta_ATR.c):
 *   TR[i]  = max(H[i], C[i-1]) - min(L[i], C[i-1])      i >= 1
 *   ATR[p] = (TR[1] + ... + TR[p]) / p                  summed in order
 *   ATR[i] = (ATR[i-1]*(p-1) + TR[i]) / p               i > p
 * out[0..p-1] are NaN.  The batch form is written in terms of the
 * incremental one so the two can never disagree by a bit.
 */
#include "core/s6_core.h"
#include "core/check.h"

static int bar_ok(double h, double l, double c)
{
    return s6__pos(h) && s6__pos(l) && s6__pos(c) && l <= h;
}

int s6_atr_init(s6_atr_state *st, int period)
{
    if (st == NULL || period < 1)
        return S6_EINVAL;
    st->period = period;
    st->bars = 0;
    st->prev_close = NAN;
    st->tr_sum = 0.0;
    st->atr = NAN;
    return S6_OK;
}

int s6_atr_push(s6_atr_state *st, double high, double low, double close,
                double *out)
{
    if (st == NULL || st->period < 1 || !bar_ok(high, low, close))
        return S6_EINVAL;
    if (st->bars > 0) {
        double hi = high > st->prev_close ? high : st->prev_close;
        double lo = low < st->prev_close ? low : st->prev_close;
        double tr = hi - lo;
        if (st->bars < st->period) {
            st->tr_sum += tr;
        } else if (st->bars == st->period) {
            st->tr_sum += tr;
            st->atr = st->tr_sum / st->period;
        } else {
            st->atr = (st->atr * (st->period - 1) + tr) / st->period;
        }
    }
    st->bars++;
    st->prev_close = close;
    if (out != NULL)
        *out = st->atr;
    return isnan(st->atr) ? S6_ENOTREADY : S6_OK;
}

int s6_atr(const double *high, const double *low, const double *close,
           size_t n, int period, double *out)
{
    if (high == NULL || low == NULL || close == NULL || out == NULL ||
        period < 1)
        return S6_EINVAL;
    if (n < (size_t)period + 1)
        return S6_ESHORT;
    for (size_t i = 0; i < n; i++)
        if (!bar_ok(high[i], low[i], close[i]))
            return S6_EINVAL;
    s6_atr_state st;
    s6_atr_init(&st, period);
    for (size_t i = 0; i < n; i++)
        (void)s6_atr_push(&st, high[i], low[i], close[i], &out[i]);
    return S6_OK;
}
