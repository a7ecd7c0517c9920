#include <time.h>

#include "util/clock.h"

/* clock_gettime cannot fail for these clock ids on Linux, so no error
 * path: a zeroed timespec would only hide a bug elsewhere. */
static struct timespec read_clock(clockid_t id)
{
    struct timespec ts = { 0 };
    clock_gettime(id, &ts);
    return ts;
}

static double to_seconds(struct timespec ts)
{
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double s6_clock_wall_s(void)
{
    return to_seconds(read_clock(CLOCK_REALTIME));
}

int64_t s6_clock_wall_ms(void)
{
    struct timespec ts = read_clock(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double s6_clock_wall_now(void *ud)
{
    (void)ud;
    return s6_clock_wall_s();
}

uint64_t s6_clock_mono_ns(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double s6_clock_cpu_s(void)
{
    return to_seconds(read_clock(CLOCK_PROCESS_CPUTIME_ID));
}
