/* Add-on sizing: geometric decay and the new average entry. */
#include "core/s6_core.h"
#include "core/check.h"

/* Q_add(j) = Q0 * gamma^j, 0 < gamma < 1, j = 0 for the first add-on. */
double s6_addon_qty(double q0, double gamma, int j)
{
    if (!s6__pos(q0) || !(gamma > 0.0 && gamma < 1.0) || j < 0)
        return NAN;
    double q = q0 * pow(gamma, (double)j);
    return s6__pos(q) ? q : NAN;
}

/* Quantity-weighted entry after adding add_qty at add_price. */
double s6_avg_entry_after_add(double qty, double entry, double add_qty,
                              double add_price)
{
    if (!s6__pos(qty) || !s6__pos(entry) || !s6__pos(add_qty) ||
        !s6__pos(add_price))
        return NAN;
    return (qty * entry + add_qty * add_price) / (qty + add_qty);
}
