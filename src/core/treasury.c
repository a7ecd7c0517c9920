/* Treasury arithmetic and the stagnation predicate. */
#include "core/s6_core.h"
#include "core/check.h"

/* need = max(0, min_free_fut - free_fut); free_fut may be negative. */
double s6_treasury_need(double min_free_fut, double free_fut)
{
    if (!s6__nonneg(min_free_fut) || !isfinite(free_fut))
        return NAN;
    double need = min_free_fut - free_fut;
    return need > 0.0 ? need : 0.0;
}

/* 1 when free_spot >= need + spot_buffer, 0 when not, S6_EINVAL on bad input. */
int s6_treasury_feasible(double free_spot, double need, double spot_buffer)
{
    if (!isfinite(free_spot) || !s6__nonneg(need) || !s6__nonneg(spot_buffer))
        return S6_EINVAL;
    return free_spot >= need + spot_buffer;
}

/* 1 when duration > T and |ROE| < roe_min (both strict), else 0. */
int s6_is_stagnant(double duration_s, double t_stagnation_s, double roe,
                   double roe_min)
{
    if (!s6__nonneg(duration_s) || !s6__pos(t_stagnation_s) ||
        !isfinite(roe) || !s6__pos(roe_min))
        return S6_EINVAL;
    return duration_s > t_stagnation_s && fabs(roe) < roe_min;
}
