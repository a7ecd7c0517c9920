/* util/clock.h: the wall clock agrees with the system's in both units, and
 * the monotonic clock never goes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "util/clock.h"

static void wall_clock_is_the_epoch(void **state)
{
    (void)state;
    double before = (double)time(NULL);
    double s = s6_clock_wall_s();
    int64_t ms = s6_clock_wall_ms();
    double after = (double)time(NULL) + 1;
    assert_true(s >= before && s <= after);
    assert_true((double)ms / 1000.0 >= before && (double)ms / 1000.0 <= after);
    assert_true(s6_clock_wall_now(NULL) >= s);
}

static void mono_clock_moves_forward(void **state)
{
    (void)state;
    uint64_t a = s6_clock_mono_ns();
    struct timespec nap = { 0, 2000000 };
    nanosleep(&nap, NULL);
    uint64_t b = s6_clock_mono_ns();
    assert_true(b - a >= 2000000u);
}

static void cpu_clock_counts(void **state)
{
    (void)state;
    double t0 = s6_clock_cpu_s();
    volatile double x = 0;
    for (int i = 0; i < 2000000; i++)
        x += i;
    assert_true(s6_clock_cpu_s() > t0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wall_clock_is_the_epoch),
        cmocka_unit_test(mono_clock_moves_forward),
        cmocka_unit_test(cpu_clock_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
