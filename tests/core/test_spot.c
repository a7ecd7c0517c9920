/* SPOT books (weighted average cost, realized, unrealized) and the hedge. */
#include "s6_test.h"

S6_TEST(wac_after_buy)
{
    /* (Q*WAC + Qb*Pb) / (Q + Qb): (2*100 + 2*130) / 4 = 115. */
    assert_same(s6_wac_after_buy(2, 100, 2, 130), 115.0);
    /* (3*115 + 1*95) / 4 = 440 / 4 = 110. */
    assert_same(s6_wac_after_buy(3, 115, 1, 95), 110.0);
    /* From flat the cost is the buy price, whatever the old WAC says
     * (even nothing: a flat book has no meaningful WAC). */
    assert_same(s6_wac_after_buy(0, 0, 1.5, 123.45), 123.45);
    assert_same(s6_wac_after_buy(0, NAN, 1.5, 123.45), 123.45);
    /* Buying at the WAC leaves it where it is. */
    assert_same(s6_wac_after_buy(0.7, 88.25, 0.3, 88.25), 88.25);
}

S6_TEST_REFUSES(wac_bad_input, "nppp", NAN,
                s6_wac_after_buy(a[0], a[1], a[2], a[3]), 2, 100, 2, 130)
/* From flat the WAC is not looked at; the rest still is. */
S6_TEST_REFUSES(wac_from_flat_bad_input, "n.pp", NAN,
                s6_wac_after_buy(a[0], a[1], a[2], a[3]), 0, 0, 2, 130)

S6_TEST(realized)
{
    /* (P_sell - WAC) * Q_sell: (120 - 115) * 1.5 = 7.5, a gain. */
    assert_same(s6_spot_realized(120, 115, 1.5), 7.5);
    /* (110 - 115) * 2 = -10, a loss. */
    assert_same(s6_spot_realized(110, 115, 2), -10.0);
    assert_same(s6_spot_realized(115, 115, 2), 0.0);
}

S6_TEST_REFUSES(realized_bad_input, "ppp", NAN,
                s6_spot_realized(a[0], a[1], a[2]), 120, 115, 1.5)

S6_TEST(unrealized)
{
    /* (P_mark - WAC) * Q_remain: (130 - 115) * 4 = 60; (100 - 115) * 4 = -60. */
    assert_same(s6_spot_unrealized(130, 115, 4), 60.0);
    assert_same(s6_spot_unrealized(100, 115, 4), -60.0);
    /* Flat: nothing unrealized, and no WAC needed. */
    assert_same(s6_spot_unrealized(130, 0, 0), 0.0);
    assert_same(s6_spot_unrealized(130, NAN, 0), 0.0);
}

/* Realized on the part sold plus unrealized on the rest is the whole
 * book's unrealized before the sale, when sold at the mark. */
S6_TEST(realized_plus_unrealized)
{
    double wac = s6_wac_after_buy(1.25, 101.5, 0.75, 97.3);
    double before = s6_spot_unrealized(104.2, wac, 2.0);
    double after = s6_spot_realized(104.2, wac, 0.5) +
                   s6_spot_unrealized(104.2, wac, 1.5);
    assert_rel(after, before, 1e-14);
}

S6_TEST_REFUSES(unrealized_bad_input, "ppn", NAN,
                s6_spot_unrealized(a[0], a[1], a[2]), 130, 115, 4)
S6_TEST_REFUSES(unrealized_flat_bad_input, "p.n", NAN,
                s6_spot_unrealized(a[0], a[1], a[2]), 130, 0, 0)

/*
 * The futures quantity to trade so that Q_spot*P + Q_fut*P = E*:
 *   delta = E* / P - Q_spot - Q_fut  (negative: sell futures).
 */
S6_TEST(hedge_both_directions)
{
    /* 2 spot, no futures, price 100, target 0: sell 2 futures.
     * 0/100 - 2 - 0 = -2. */
    assert_same(s6_hedge_fut_qty(2, 0, 100, 0), -2.0);
    /* Over-hedged (short 3 against 2 spot), target 0: buy 1 back.
     * 0 - 2 - (-3) = 1. */
    assert_same(s6_hedge_fut_qty(2, -3, 100, 0), 1.0);
    /* Target 100 at price 100 with 2 spot and short 1: 1 - 2 + 1 = 0. */
    assert_same(s6_hedge_fut_qty(2, -1, 100, 100), 0.0);
    /* A short target exposure with no spot: -500/250 = -2, already long 1:
     * -2 - 0 - 1 = -3. */
    assert_same(s6_hedge_fut_qty(0, 1, 250, -500), -3.0);
    /* After the trade the net exposure is the target. */
    double d = s6_hedge_fut_qty(1.7, -0.4, 63123.5, 12000);
    assert_rel((1.7 + (-0.4 + d)) * 63123.5, 12000, 1e-12);
}

S6_TEST_REFUSES(hedge_bad_input, "nfpf", NAN,
                s6_hedge_fut_qty(a[0], a[1], a[2], a[3]), 2, -1, 100, 100)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wac_after_buy),
        cmocka_unit_test(wac_bad_input),
        cmocka_unit_test(wac_from_flat_bad_input),
        cmocka_unit_test(realized),
        cmocka_unit_test(realized_bad_input),
        cmocka_unit_test(unrealized),
        cmocka_unit_test(realized_plus_unrealized),
        cmocka_unit_test(unrealized_bad_input),
        cmocka_unit_test(unrealized_flat_bad_input),
        cmocka_unit_test(hedge_both_directions),
        cmocka_unit_test(hedge_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
