/* Add-ons: geometric size decay and the average entry after an add. */
#include <limits.h>

#include "s6_test.h"

S6_TEST(addon_geometric)
{
    /* q0 * gamma^j with gamma 0.5 (exact in binary): 0.8, 0.4, 0.2, 0.1. */
    assert_same(s6_addon_qty(0.8, 0.5, 0), 0.8);
    assert_same(s6_addon_qty(0.8, 0.5, 1), 0.4);
    assert_same(s6_addon_qty(0.8, 0.5, 2), 0.2);
    assert_same(s6_addon_qty(0.8, 0.5, 3), 0.1);
    /* gamma 0.6: 2 * 0.6^2 = 0.72. */
    assert_rel(s6_addon_qty(2, 0.6, 2), 0.72, 1e-15);
    /* Each add-on is strictly smaller than the last. */
    for (int j = 1; j < 30; j++)
        assert_true(s6_addon_qty(1, 0.9, j) < s6_addon_qty(1, 0.9, j - 1));
}

S6_TEST(addon_underflow)
{
    /* 0.5^2000 underflows to 0: no size, not a zero order. */
    assert_nan(s6_addon_qty(1, 0.5, 2000));
    assert_nan(s6_addon_qty(1, 0.5, INT_MAX));
}

S6_TEST(addon_bad_input)
{
    static const double gammas[] = {0.0, 1.0, -0.5, 1.5, -0.0,
                                    NAN, INFINITY, -INFINITY};
    static const double q0s[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof gammas / sizeof gammas[0]; i++)
        assert_nan(s6_addon_qty(1, gammas[i], 1));
    for (size_t i = 0; i < sizeof q0s / sizeof q0s[0]; i++)
        assert_nan(s6_addon_qty(q0s[i], 0.5, 1));
    assert_nan(s6_addon_qty(1, 0.5, -1));
    assert_nan(s6_addon_qty(1, 0.5, INT_MIN));
    /* Just inside (0, 1) is fine. */
    assert_true(s6_addon_qty(1, 0x1.fffffffffffffp-1, 1) < 1.0);
    assert_true(s6_addon_qty(1, 0x1p-1074, 1) > 0.0);
}

S6_TEST(avg_entry)
{
    /* (1*100 + 0.5*130) / 1.5 = 165 / 1.5 = 110; the same formula holds for
     * a long and a short (quantities are absolute). */
    assert_same(s6_avg_entry_after_add(1, 100, 0.5, 130), 110.0);
    /* Adding below the entry (a short adding on a fall, or a long
     * averaging down): (2*100 + 2*90) / 4 = 95. */
    assert_same(s6_avg_entry_after_add(2, 100, 2, 90), 95.0);
    /* At the same price nothing moves. */
    assert_same(s6_avg_entry_after_add(3, 42.5, 1, 42.5), 42.5);
    /* The average lies between the two prices. */
    double a = s6_avg_entry_after_add(0.013, 64123.4, 0.0065, 65010.1);
    assert_true(a > 64123.4 && a < 65010.1);
}

S6_TEST_REFUSES(avg_entry_bad_input, "pppp", NAN,
                s6_avg_entry_after_add(a[0], a[1], a[2], a[3]),
                1, 100, 0.5, 130)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addon_geometric),
        cmocka_unit_test(addon_underflow),
        cmocka_unit_test(addon_bad_input),
        cmocka_unit_test(avg_entry),
        cmocka_unit_test(avg_entry_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
