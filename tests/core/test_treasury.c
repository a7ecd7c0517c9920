/* Treasury need and feasibility, and the stagnation predicate. */
#include "s6_test.h"

S6_TEST(need)
{
    /* max(0, min_free_fut - free_fut): 1000 - 400 = 600. */
    assert_same(s6_treasury_need(1000, 400), 600.0);
    /* Enough already: 1000 - 1200 < 0 -> 0; exactly at the floor -> 0. */
    assert_same(s6_treasury_need(1000, 1200), 0.0);
    assert_same(s6_treasury_need(1000, 1000), 0.0);
    /* A negative free balance (losses beyond it): 1000 - (-100) = 1100. */
    assert_same(s6_treasury_need(1000, -100), 1100.0);
    /* A floor of 0: a need only while the balance is negative. */
    assert_same(s6_treasury_need(0, 5), 0.0);
    assert_same(s6_treasury_need(0, -5), 5.0);
}

S6_TEST_REFUSES(need_bad_input, "nf", NAN, s6_treasury_need(a[0], a[1]),
                1000, 400)

S6_TEST(feasible)
{
    /* free_spot >= need + buffer: 700 >= 600 + 100 holds (the boundary). */
    assert_int_equal(s6_treasury_feasible(700, 600, 100), 1);
    assert_int_equal(s6_treasury_feasible(800, 600, 100), 1);
    /* 699.99 < 700. */
    assert_int_equal(s6_treasury_feasible(699.99, 600, 100), 0);
    /* Nothing needed, no buffer: any non-negative balance will do. */
    assert_int_equal(s6_treasury_feasible(0, 0, 0), 1);
    /* A negative spot balance can fund nothing. */
    assert_int_equal(s6_treasury_feasible(-1, 0, 0), 0);
}

S6_TEST_REFUSES(feasible_bad_input, "fnn", S6_EINVAL,
                s6_treasury_feasible(a[0], a[1], a[2]), 700, 600, 100)

/* duration > T and |roe| < roe_min, both strict.  T = 3600 s, roe_min 2%. */
S6_TEST(stagnant)
{
    assert_int_equal(s6_is_stagnant(3601, 3600, 0.01, 0.02), 1);
    assert_int_equal(s6_is_stagnant(3601, 3600, -0.01, 0.02), 1);
    assert_int_equal(s6_is_stagnant(3601, 3600, 0.0, 0.02), 1);
    /* Exactly at T: not yet. */
    assert_int_equal(s6_is_stagnant(3600, 3600, 0.01, 0.02), 0);
    assert_int_equal(s6_is_stagnant(3599, 3600, 0.01, 0.02), 0);
    /* Exactly at roe_min, either sign: moving enough, not stagnant. */
    assert_int_equal(s6_is_stagnant(3601, 3600, 0.02, 0.02), 0);
    assert_int_equal(s6_is_stagnant(3601, 3600, -0.02, 0.02), 0);
    assert_int_equal(s6_is_stagnant(3601, 3600, 0.5, 0.02), 0);
    /* The nearest doubles on either side of each boundary. */
    assert_int_equal(s6_is_stagnant(nextafter(3600, 4000), 3600, 0.01, 0.02),
                     1);
    assert_int_equal(s6_is_stagnant(3601, 3600, nextafter(0.02, 0), 0.02), 1);
    assert_int_equal(s6_is_stagnant(3601, 3600, nextafter(-0.02, 0), 0.02), 1);
}

/* From a stagnant and from a lively position: neither answer may leak. */
S6_TEST_REFUSES(stagnant_bad_input, "npfp", S6_EINVAL,
                s6_is_stagnant(a[0], a[1], a[2], a[3]), 3601, 3600, 0.01, 0.02)
S6_TEST_REFUSES(lively_bad_input, "npfp", S6_EINVAL,
                s6_is_stagnant(a[0], a[1], a[2], a[3]), 10, 3600, 0.5, 0.02)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(need),
        cmocka_unit_test(need_bad_input),
        cmocka_unit_test(feasible),
        cmocka_unit_test(feasible_bad_input),
        cmocka_unit_test(stagnant),
        cmocka_unit_test(stagnant_bad_input),
        cmocka_unit_test(lively_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
