/* test_rate.c — the token bucket on a fake clock (src/venue/s4/rate.h). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "venue/s4/rate.h"

static void refuses_bad_parameters(void **state)
{
    (void)state;
    s6_rate b;
    assert_int_equal(s6_rate_init(&b, 0, 1, 0), -EINVAL);
    assert_int_equal(s6_rate_init(&b, -1, 1, 0), -EINVAL);
    assert_int_equal(s6_rate_init(&b, 5, 0.5, 0), -EINVAL);
    assert_int_equal(s6_rate_init(&b, NAN, 1, 0), -EINVAL);
    assert_int_equal(s6_rate_init(&b, 5, INFINITY, 0), -EINVAL);
    assert_int_equal(s6_rate_init(&b, 5, 5, 0), 0);
    assert_int_equal(s6_rate_set(&b, 0, 5, 0), -EINVAL);
    assert_true(b.rate == 5); /* unchanged */
}

/* A full bucket gives `burst` sends at once, then one per 1/rate. */
static void burst_then_rate(void **state)
{
    (void)state;
    s6_rate b;
    assert_int_equal(s6_rate_init(&b, 4, 4, 100.0), 0);
    int sent = 0;
    while (s6_rate_take(&b, 100.0))
        sent++;
    assert_int_equal(sent, 4);
    assert_true(fabs(s6_rate_wait(&b, 100.0) - 0.25) < 1e-9);
    assert_false(s6_rate_take(&b, 100.2));
    assert_true(s6_rate_take(&b, 100.25));
    assert_false(s6_rate_take(&b, 100.25));
    /* Over 10 s of a steady drip, exactly 40 more sends. */
    sent = 0;
    for (int ms = 1; ms <= 10000; ms++)
        sent += s6_rate_take(&b, 100.25 + ms / 1000.0);
    assert_int_equal(sent, 40);
}

/* In any window of length w, at most burst + rate*w sends. */
static void window_bound_holds(void **state)
{
    (void)state;
    s6_rate b;
    assert_int_equal(s6_rate_init(&b, 5, 5, 0), 0);
    double at[400];
    int n = 0;
    for (int ms = 0; ms < 20000 && n < 400; ms += 7)
        if (s6_rate_take(&b, ms / 1000.0))
            at[n++] = ms / 1000.0;
    assert_true(n > 90);
    for (int i = 0; i < n; i++) {
        int in_window = 0;
        for (int j = i; j < n && at[j] < at[i] + 1.0; j++)
            in_window++;
        assert_true(in_window <= 5 + 5);
    }
}

static void idle_time_is_capped_at_burst(void **state)
{
    (void)state;
    s6_rate b;
    assert_int_equal(s6_rate_init(&b, 2, 3, 0), 0);
    while (s6_rate_take(&b, 0)) {
    }
    int sent = 0;
    while (s6_rate_take(&b, 3600))
        sent++;
    assert_int_equal(sent, 3);
}

static void clock_going_back_mints_nothing(void **state)
{
    (void)state;
    s6_rate b;
    assert_int_equal(s6_rate_init(&b, 1, 1, 50), 0);
    assert_true(s6_rate_take(&b, 50));
    assert_false(s6_rate_take(&b, 10)); /* back 40 s */
    assert_false(s6_rate_take(&b, 50.5));
    assert_true(s6_rate_take(&b, 51));
}

static void set_keeps_earned_tokens_capped(void **state)
{
    (void)state;
    s6_rate b;
    assert_int_equal(s6_rate_init(&b, 10, 10, 0), 0);
    assert_int_equal(s6_rate_set(&b, 1, 2, 0), 0);
    int sent = 0;
    while (s6_rate_take(&b, 0))
        sent++;
    assert_int_equal(sent, 2);
    assert_true(fabs(s6_rate_wait(&b, 0) - 1.0) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_bad_parameters),
        cmocka_unit_test(burst_then_rate),
        cmocka_unit_test(window_bound_holds),
        cmocka_unit_test(idle_time_is_capped_at_burst),
        cmocka_unit_test(clock_going_back_mints_nothing),
        cmocka_unit_test(set_keeps_earned_tokens_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
