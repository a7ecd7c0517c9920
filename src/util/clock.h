/*
 * clock.h — the one place S6 reads the system clocks.
 *
 * Code that can be driven by a simulated clock (the engine, the state edge,
 * the treasury, the HTTP API) takes an injected clock and falls back to
 * s6_clock_wall_s() only when none was given; the engine itself never
 * reads the wall clock.  The monotonic clock measures durations and is
 * never compared with wall time.
 */
#pragma once

#include <stdint.h>

/* Seconds since the Unix epoch, with the fraction. */
double s6_clock_wall_s(void);

/* Milliseconds since the Unix epoch. */
int64_t s6_clock_wall_ms(void);

/* s6_clock_wall_s() with the shape of an injected clock's `now(ud)`, for
 * the live service's ports; ud is ignored. */
double s6_clock_wall_now(void *ud);

/* Nanoseconds of a monotonic clock (durations only). */
uint64_t s6_clock_mono_ns(void);

/* Seconds of CPU time this process has used (replay statistics). */
double s6_clock_cpu_s(void);
