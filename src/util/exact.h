/*
 * exact.h — numbers as the desk reads them: prices at the symbol's tick,
 * quantities at its step, money (PnL, fees, margin) to the cent of the
 * quote asset, written as exact decimal strings ("0.025", "64430.6",
 * "5.37") in every API answer, event and log line (docs/api.md).
 *
 * A double such as 0.025000000000000008 is what arithmetic leaves; the
 * string is the number an exchange statement would print.  The digits come
 * from s6_format_decimal, the formatter of S4's order bodies, after the
 * value is snapped to the nearest point of its grid.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* The quote asset's cent: PnL, fees and margin are shown to it. */
#define S6_EXACT_CENT 0.01

typedef enum s6_exact_kind {
    S6_EXACT_NONE = 0, /* a ratio, a count, a time: left as it is */
    S6_EXACT_PRICE,    /* at the tick */
    S6_EXACT_QTY,      /* at the step */
    S6_EXACT_MONEY     /* to the cent */
} s6_exact_kind;

typedef struct s6_exact_grid {
    double tick, step; /* the symbol's filters */
} s6_exact_grid;

/* Writes v at the nearest point of `grid` with the grid's decimals.
 * Returns the length, or a negative error code (v not finite, grid not a
 * positive decimal step, buf too short). */
int s6_exact_format(double v, double grid, char *buf, size_t len);

/* The decimal string of v on `grid`; JSON null when v is not finite. */
json_t *s6_exact_json(double v, double grid);

/* The value of a field written either way (a decimal string or a JSON
 * number), for readers of events and answers; NaN for anything else. */
double s6_exact_value(const json_t *v);

/* What a field of that name holds, by the names the engine's events and
 * answers use ("price", "qty", "realized_pnl", ...). */
s6_exact_kind s6_exact_kind_of(const char *key);

/* Rewrites, in place and through nested objects and arrays, every number
 * under a price, quantity or money name into its decimal string.  An
 * action element's old_value/new_value follow its "action" (a STOP_MOVE
 * holds prices, the others quantities).  Returns 0, or -EINVAL. */
int s6_exact_object(json_t *doc, const s6_exact_grid *g);
