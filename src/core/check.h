/* Internal input checks shared by the primitives (not part of the FFI). */
#pragma once

#include <math.h>

static inline int s6__side_ok(int side) { return side == 1 || side == -1; }
static inline int s6__pos(double x) { return isfinite(x) && x > 0.0; }
static inline int s6__nonneg(double x) { return isfinite(x) && x >= 0.0; }

/* The common futures position triple: side, quantity, entry price. */
static inline int s6__position_ok(int side, double qty, double entry)
{
    return s6__side_ok(side) && s6__pos(qty) && s6__pos(entry);
}

/* A price-valued result: anything but a finite positive number is invalid. */
static inline double s6__price_or_nan(double px)
{
    return s6__pos(px) ? px : NAN;
}
