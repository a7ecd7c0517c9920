/* rate.c — token buckets (rate.h). */
#include "venue/s4/rate.h"

#include <errno.h>
#include <math.h>

static bool valid(double rate, double burst)
{
    return isfinite(rate) && isfinite(burst) && rate > 0 && burst >= 1;
}

int s6_rate_init(s6_rate *b, double rate, double burst, double now)
{
    if (!valid(rate, burst) || !isfinite(now))
        return -EINVAL;
    *b = (s6_rate){ .rate = rate, .burst = burst, .tokens = burst,
                    .last = now };
    return 0;
}

static void refill(s6_rate *b, double now)
{
    /* A clock that steps back must not mint tokens later: keep `last`. */
    if (!(now > b->last))
        return;
    b->tokens = fmin(b->burst, b->tokens + (now - b->last) * b->rate);
    b->last = now;
}

int s6_rate_set(s6_rate *b, double rate, double burst, double now)
{
    if (!valid(rate, burst) || !isfinite(now))
        return -EINVAL;
    refill(b, now);
    b->rate = rate;
    b->burst = burst;
    b->tokens = fmin(b->tokens, burst);
    return 0;
}

bool s6_rate_ready(s6_rate *b, double now)
{
    refill(b, now);
    return b->tokens >= 1.0;
}

bool s6_rate_take(s6_rate *b, double now)
{
    if (!s6_rate_ready(b, now))
        return false;
    b->tokens -= 1.0;
    return true;
}

double s6_rate_wait(s6_rate *b, double now)
{
    if (s6_rate_ready(b, now))
        return 0;
    return (1.0 - b->tokens) / b->rate;
}
