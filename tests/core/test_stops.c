/* ATR stops: the initial stop and the trailing stop that never loosens. */
#include "s6_test.h"

S6_TEST(atr_stop_both_sides)
{
    /* entry - side*k*ATR: 100 - 1.5*2 = 97 long, 100 + 3 = 103 short. */
    assert_same(s6_atr_stop(1, 100, 2, 1.5), 97.0);
    assert_same(s6_atr_stop(-1, 100, 2, 1.5), 103.0);
    /* BTC-sized: 64,000 -/+ 2.5*812 = 61,970 / 66,030. */
    assert_same(s6_atr_stop(1, 64000, 812, 2.5), 61970.0);
    assert_same(s6_atr_stop(-1, 64000, 812, 2.5), 66030.0);
}

S6_TEST(atr_stop_not_a_price)
{
    /* A long whose stop distance reaches the entry: 10 - 2*5 = 0, and
     * beyond it 10 - 3*5 = -5.  Neither is a price. */
    assert_nan(s6_atr_stop(1, 10, 5, 2));
    assert_nan(s6_atr_stop(1, 10, 5, 3));
    /* The short's stop is above the entry and always a price: 10 + 15. */
    assert_same(s6_atr_stop(-1, 10, 5, 3), 25.0);
}

S6_TEST_REFUSES(atr_stop_bad_input, "sppp", NAN,
                s6_atr_stop((int)a[0], a[1], a[2], a[3]), 1, 100, 2, 1.5)

S6_TEST(trail_tightens_long)
{
    /* max(prev, highest - k*ATR): highest 110, k 3, ATR 2 -> 104 > 95. */
    assert_same(s6_atr_trail(1, 95, 110, 2, 3), 104.0);
    /* The candidate 104 is below a stop already at 105: keep 105. */
    assert_same(s6_atr_trail(1, 105, 110, 2, 3), 105.0);
    /* Equal: unchanged. */
    assert_same(s6_atr_trail(1, 104, 110, 2, 3), 104.0);
}

S6_TEST(trail_tightens_short)
{
    /* min(prev, lowest + k*ATR): lowest 90, k 3, ATR 2 -> 96 < 105. */
    assert_same(s6_atr_trail(-1, 105, 90, 2, 3), 96.0);
    /* The candidate 96 is above a stop already at 95: keep 95. */
    assert_same(s6_atr_trail(-1, 95, 90, 2, 3), 95.0);
    assert_same(s6_atr_trail(-1, 96, 90, 2, 3), 96.0);
}

S6_TEST(trail_first_stop)
{
    /* prev_stop 0 means no stop yet: the candidate itself. */
    assert_same(s6_atr_trail(1, 0, 110, 2, 3), 104.0);
    assert_same(s6_atr_trail(-1, 0, 90, 2, 3), 96.0);
    /* A long candidate that is not a price (5 - 3*2 = -1): with no stop yet
     * there is nothing to return; with a stop, it stays. */
    assert_nan(s6_atr_trail(1, 0, 5, 2, 3));
    assert_same(s6_atr_trail(1, 4, 5, 2, 3), 4.0);
    /* Exactly zero (6 - 3*2) is no price either. */
    assert_nan(s6_atr_trail(1, 0, 6, 2, 3));
    assert_same(s6_atr_trail(1, 4, 6, 2, 3), 4.0);
}

/* Along a path the long stop never moves down and the short stop never up,
 * whatever the ATR does. */
S6_TEST(trail_monotone_along_a_path)
{
    static const double price[] = {100, 103, 101, 108, 104, 111, 109, 115};
    static const double atr[] = {2, 2.5, 4, 1.5, 3, 2, 6, 1};
    double hi = 0, lo = 1e300, sl = 0, ss = 0;
    for (size_t i = 0; i < sizeof price / sizeof price[0]; i++) {
        hi = fmax(hi, price[i]);
        lo = fmin(lo, 230 - price[i]); /* the mirrored path for the short */
        double nl = s6_atr_trail(1, sl, hi, atr[i], 2);
        double ns = s6_atr_trail(-1, ss, lo, atr[i], 2);
        assert_true(nl >= sl);
        assert_true(ss == 0 || ns <= ss);
        assert_true(nl >= hi - 2 * atr[i]);
        assert_true(ns <= lo + 2 * atr[i]);
        sl = nl;
        ss = ns;
    }
    /* The last bar: hi 115, ATR 1 -> 113; lo 115, 115 + 2 = 117. */
    assert_same(sl, 113.0);
    assert_same(ss, 117.0);
}

S6_TEST_REFUSES(trail_bad_input, "snppp", NAN,
                s6_atr_trail((int)a[0], a[1], a[2], a[3], a[4]),
                1, 95, 110, 2, 3)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atr_stop_both_sides),
        cmocka_unit_test(atr_stop_not_a_price),
        cmocka_unit_test(atr_stop_bad_input),
        cmocka_unit_test(trail_tightens_long),
        cmocka_unit_test(trail_tightens_short),
        cmocka_unit_test(trail_first_stop),
        cmocka_unit_test(trail_monotone_along_a_path),
        cmocka_unit_test(trail_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
