/*
 * venue.h — S4's view of the venue for reconciliation
 * (docs/contracts/s4.md): GET /positions?market=FUT and GET /open-orders,
 * fetched together and parsed strictly.  A malformed answer (a missing or
 * mistyped field, a quantity that is not a positive decimal string) is an
 * error naming the element and field, never a partial view.
 */
#pragma once

#include <stddef.h>

#include "engine/edges.h"
#include "venue/s4/router.h"

/* What was fetched; the arrays belong to it. */
typedef struct s6_s4_venue {
    s6_venue_position *positions;
    size_t n_positions;
    s6_venue_order *orders;
    size_t n_orders;
    /* Each answer's "as_of" (docs/contracts/s4.md), "" when absent. */
    char as_of_positions[48];
    char as_of_orders[48];
} s6_s4_venue;

/* rc 0: view is the venue (valid only during the call).  rc < 0: view is
 * NULL and err says what failed (transport, status, or which field). */
typedef void (*s6_s4_venue_cb)(void *ud, int rc, const s6_venue_view *view,
                               const char *err);

/* Both GETs go out at once (retried like orders, without the rate limit:
 * reads place nothing); done runs exactly once, later, from the loop.
 * -ESHUTDOWN while the router is closing, -ENOMEM. */
int s6_s4_fetch_venue(s6_s4_router *r, s6_s4_venue_cb done, void *ud);

/* The strict parsers, public for tests and fuzzing.  On error out is
 * untouched and err names the element and field. */
int s6_s4_parse_positions(const char *body, s6_s4_venue *out, char *err,
                          size_t errlen);
int s6_s4_parse_open_orders(const char *body, s6_s4_venue *out, char *err,
                            size_t errlen);
void s6_s4_venue_clear(s6_s4_venue *v);
