/*
 * no_limits.h — the decide hook `limits` for rule-host tests that look at
 * what the rules propose, not at what the guard lets through: a 0.5 tick,
 * a 0.001 step and no position, notional, leverage or concurrency limit.
 */
#pragma once

#include <math.h>
#include <stddef.h>

#include "contract/decide.h"

static inline int s6test_no_limits(void *ud, size_t pi, s6_symbol_filters *f,
                                   s6_limits *l)
{
    (void)ud;
    (void)pi;
    *f = (s6_symbol_filters){.tick = 0.5, .step = 0.001};
    *l = (s6_limits){.max_position_qty = INFINITY,
                     .max_position_notional = INFINITY,
                     .max_leverage = INFINITY, .concurrency_ok = true};
    return 0;
}
