/*
 * rate.h — a token bucket on an explicit clock, for the outbound order
 * rate (orders.rate_per_symbol_per_s, orders.rate_total_per_s).
 *
 * The bucket fills at `rate` tokens per second up to `burst` tokens; a
 * send takes one.  Time is passed in (seconds, any monotonic origin), so
 * tests drive it with a fake clock and the router with uv_now().  A clock
 * that goes backwards adds nothing (never a refund).
 */
#pragma once

#include <stdbool.h>

typedef struct s6_rate {
    double rate;   /* tokens per second, > 0 */
    double burst;  /* bucket size, >= 1 */
    double tokens; /* now in the bucket, 0..burst */
    double last;   /* time of the last refill */
} s6_rate;

/* A full bucket at time now.  -EINVAL when rate <= 0 or burst < 1 (or
 * either is not finite). */
int s6_rate_init(s6_rate *b, double rate, double burst, double now);

/* New rate and burst from now on; the tokens already earned are kept
 * (capped at the new burst). */
int s6_rate_set(s6_rate *b, double rate, double burst, double now);

/* Refills up to now; true when a whole token is there. */
bool s6_rate_ready(s6_rate *b, double now);

/* Takes one token if there is one (after refilling up to now). */
bool s6_rate_take(s6_rate *b, double now);

/* Seconds from now until a whole token is there; 0 when one is. */
double s6_rate_wait(s6_rate *b, double now);
