/* PnL, ROE, lock prices (gross and net of fees) and the margin ratio. */
#include "s6_test.h"

/* Net PnL of closing the whole position at px, fees included, computed
 * here from its definition rather than from the solved formula. */
static double net_pnl_at(int side, double qty, double entry, double fees_paid,
                         double fee_rate, double px)
{
    return side * qty * (px - entry) - fees_paid - fee_rate * qty * px;
}

S6_TEST(upnl_both_sides)
{
    /* Q = 2, E = 100: +1*2*(110-100) = 20, -1*2*(110-100) = -20. */
    assert_same(s6_upnl(1, 2, 100, 110), 20.0);
    assert_same(s6_upnl(-1, 2, 100, 110), -20.0);
    /* Price falls to 90: long 2*(90-100) = -20, short -2*(-10) = +20. */
    assert_same(s6_upnl(1, 2, 100, 90), -20.0);
    assert_same(s6_upnl(-1, 2, 100, 90), 20.0);
    /* At the entry neither side has made or lost anything. */
    assert_same(s6_upnl(1, 2, 100, 100), 0.0);
    assert_same(s6_upnl(-1, 2, 100, 100), 0.0);
    /* Fractional size: 0.25 * (30500 - 30000) = 125. */
    assert_same(s6_upnl(1, 0.25, 30000, 30500), 125.0);
    assert_same(s6_upnl(-1, 0.25, 30000, 30500), -125.0);
}

S6_TEST_REFUSES(upnl_bad_input, "sppp", NAN,
                s6_upnl((int)a[0], a[1], a[2], a[3]), 1, 2, 100, 110)

S6_TEST(roe_both_sides)
{
    /* uPnL 20 on an isolated wallet of 40 (Q=2, E=100, 5x): 20/40 = 0.5. */
    assert_same(s6_roe(1, 2, 100, 110, 40), 0.5);
    assert_same(s6_roe(-1, 2, 100, 110, 40), -0.5);
    /* -2*(95-100) = 10 for the short: 10/40 = 0.25; the long -0.25. */
    assert_same(s6_roe(-1, 2, 100, 95, 40), 0.25);
    assert_same(s6_roe(1, 2, 100, 95, 40), -0.25);
    /* Adding margin lowers ROE: the same 20 on 80 is 0.25. */
    assert_same(s6_roe(1, 2, 100, 110, 80), 0.25);
}

S6_TEST_REFUSES(roe_bad_input, "spppp", NAN,
                s6_roe((int)a[0], a[1], a[2], a[3], a[4]), 1, 2, 100, 110, 40)

S6_TEST(price_for_roe_both_sides)
{
    /* P = E + side*roe*M/Q: 100 + 0.5*40/2 = 110 long, 100 - 10 = 90 short. */
    assert_same(s6_price_for_roe(1, 2, 100, 40, 0.5), 110.0);
    assert_same(s6_price_for_roe(-1, 2, 100, 40, 0.5), 90.0);
    /* roe = 0 is the gross breakeven: the entry itself, both sides. */
    assert_same(s6_price_for_roe(1, 2, 100, 40, 0.0), 100.0);
    assert_same(s6_price_for_roe(-1, 2, 100, 40, 0.0), 100.0);
    /* A stop at -25% ROE: 100 -/+ 0.25*40/2 = 95 long, 105 short. */
    assert_same(s6_price_for_roe(1, 2, 100, 40, -0.25), 95.0);
    assert_same(s6_price_for_roe(-1, 2, 100, 40, -0.25), 105.0);
    /* Round trip: the ROE at the returned price is the target. */
    for (int side = -1; side <= 1; side += 2) {
        double px = s6_price_for_roe(side, 0.3, 27123.4, 813.702, 0.1);
        assert_rel(s6_roe(side, 0.3, 27123.4, px, 813.702), 0.1, 1e-9);
    }
}

S6_TEST(price_for_roe_no_price)
{
    /* Long at -500%: 100 - 5*40/2 = 0, not a price.  Short at +500%:
     * 100 - 5*40/2 = 0 too; at +1000%: 100 - 200 = -100. */
    assert_nan(s6_price_for_roe(1, 2, 100, 40, -5.0));
    assert_nan(s6_price_for_roe(-1, 2, 100, 40, 5.0));
    assert_nan(s6_price_for_roe(-1, 2, 100, 40, 10.0));
}

S6_TEST_REFUSES(price_for_roe_bad_input, "spppf", NAN,
                s6_price_for_roe((int)a[0], a[1], a[2], a[3], a[4]),
                1, 2, 100, 40, 0.1)

/*
 * Net lock prices.  Q = 1, E = 1000, M = 100 (10x), entry fee paid 0.5
 * (0.05% of 1000), exit taker fee f = 0.0005.  Solving
 *   side*Q*(P-E) - fees - f*Q*P = roe*M   for P:
 *   P = (roe*M + fees + side*Q*E) / (Q*(side - f))
 * long,  roe 0:   (0 + 0.5 + 1000) / 0.9995   = 1001.000500250125...
 * short, roe 0:   (0 + 0.5 - 1000) / -1.0005  =  999.000499750125...
 * long,  roe 0.1: (10 + 0.5 + 1000) / 0.9995  = 1011.005502751375...
 * short, roe 0.1: (10 + 0.5 - 1000) / -1.0005 =  989.005497251374...
 */
S6_TEST(net_lock_price_hand_values)
{
    assert_rel(s6_price_for_roe_net(1, 1, 1000, 100, 0.5, 0.0005, 0.0),
               1001.000500250125, 1e-14);
    assert_rel(s6_price_for_roe_net(-1, 1, 1000, 100, 0.5, 0.0005, 0.0),
               999.000499750125, 1e-14);
    assert_rel(s6_price_for_roe_net(1, 1, 1000, 100, 0.5, 0.0005, 0.1),
               1011.005502751375, 1e-14);
    assert_rel(s6_price_for_roe_net(-1, 1, 1000, 100, 0.5, 0.0005, 0.1),
               989.005497251374, 1e-14);
}

/* Closing at the returned price leaves exactly the target net PnL.  The
 * breakeven target is 0, so the error is measured against the exit
 * notional Q*P, the scale of the numbers being cancelled. */
S6_TEST(net_lock_price_by_substitution)
{
    static const struct {
        double qty, entry, margin, fees, rate;
    } cases[] = {
        {1, 1000, 100, 0.5, 0.0005},
        {0.037, 64213.7, 118.79, 0.9503, 0.0004},
        {1250, 0.5321, 33.25, 0.3326, 0.0005},
    };
    static const double targets[] = {0.0, 0.1, -0.2};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++)
            for (int side = -1; side <= 1; side += 2) {
                double q = cases[c].qty, e = cases[c].entry;
                double m = cases[c].margin, roe = targets[t];
                double px = s6_price_for_roe_net(side, q, e, m, cases[c].fees,
                                                 cases[c].rate, roe);
                double net =
                    net_pnl_at(side, q, e, cases[c].fees, cases[c].rate, px);
                assert_true(fabs(net - roe * m) <= 1e-9 * q * px);
            }
}

S6_TEST(net_breakeven_beyond_gross)
{
    /* With any fee the net breakeven is further out than the entry: above
     * it for a long, below it for a short (1001.0005 vs 1000, 999.0005). */
    double gl = s6_price_for_roe(1, 1, 1000, 100, 0.0);
    double gs = s6_price_for_roe(-1, 1, 1000, 100, 0.0);
    assert_true(s6_price_for_roe_net(1, 1, 1000, 100, 0.5, 0.0005, 0) > gl);
    assert_true(s6_price_for_roe_net(-1, 1, 1000, 100, 0.5, 0.0005, 0) < gs);
    /* Only the exit fee, or only the paid fee: still strictly beyond. */
    assert_true(s6_price_for_roe_net(1, 1, 1000, 100, 0, 0.0005, 0) > gl);
    assert_true(s6_price_for_roe_net(-1, 1, 1000, 100, 0, 0.0005, 0) < gs);
    assert_true(s6_price_for_roe_net(1, 1, 1000, 100, 0.5, 0, 0) > gl);
    assert_true(s6_price_for_roe_net(-1, 1, 1000, 100, 0.5, 0, 0) < gs);
    /* Same for a 10% lock: gross 1010 / 990. */
    assert_true(s6_price_for_roe_net(1, 1, 1000, 100, 0.5, 0.0005, 0.1) >
                s6_price_for_roe(1, 1, 1000, 100, 0.1));
    assert_true(s6_price_for_roe_net(-1, 1, 1000, 100, 0.5, 0.0005, 0.1) <
                s6_price_for_roe(-1, 1, 1000, 100, 0.1));
}

S6_TEST(net_without_fees_is_gross)
{
    /* fees 0, f 0: P = (roe*M + side*Q*E)/(Q*side) = E + side*roe*M/Q. */
    for (int side = -1; side <= 1; side += 2) {
        assert_same(s6_price_for_roe_net(side, 2, 100, 40, 0, 0, 0.5),
                    s6_price_for_roe(side, 2, 100, 40, 0.5));
        assert_same(s6_price_for_roe_net(side, 2, 100, 40, 0, 0, 0), 100.0);
    }
}

S6_TEST_REFUSES(net_lock_price_bad_input, "spppnnf", NAN,
                s6_price_for_roe_net((int)a[0], a[1], a[2], a[3], a[4], a[5],
                                     a[6]),
                1, 1, 1000, 100, 0.5, 0.0005, 0.1)

S6_TEST(net_lock_price_out_of_range)
{
    /* A fee rate of 100% or more makes the long's equation unsolvable
     * (Q*(1 - f) <= 0); it is refused for both sides. */
    for (int side = -1; side <= 1; side += 2) {
        assert_nan(s6_price_for_roe_net(side, 1, 1000, 100, 0.5, 1.0, 0));
        assert_nan(s6_price_for_roe_net(side, 1, 1000, 100, 0.5, 1.5, 0));
    }
    /* A target no price reaches: a short asked for +1000% on 10x,
     * (1000 + 0.5 - 1000) / -1.0005 < 0. */
    assert_nan(s6_price_for_roe_net(-1, 1, 1000, 100, 0.5, 0.0005, 10.0));
}

/*
 * Margin ratio (Q*mark*mmr - cum) / (wallet + uPnL).  Q = 1, E = 1000,
 * wallet 100, mmr 0.004, cum 0:
 *   long  at 950:  3.8 / (100 - 50) = 0.076
 *   short at 1050: 4.2 / (100 - 50) = 0.084
 */
S6_TEST(margin_ratio_both_sides)
{
    assert_rel(s6_margin_ratio(1, 1, 1000, 950, 100, 0.004, 0), 0.076, 1e-15);
    assert_rel(s6_margin_ratio(-1, 1, 1000, 1050, 100, 0.004, 0), 0.084,
               1e-15);
    /* cum lowers the maintenance: (1*1000*0.01 - 5) / 100 = 0.05. */
    assert_rel(s6_margin_ratio(1, 1, 1000, 1000, 100, 0.01, 5), 0.05, 1e-15);
    /* cum above Q*mark*mmr: no maintenance at all, not a negative ratio. */
    assert_same(s6_margin_ratio(-1, 1, 1000, 1000, 100, 0.004, 50), 0.0);
    /* Balance used up: long at 900 has 100 - 100 = 0 left, short at 1100
     * likewise; the ratio is +inf, and beyond it too. */
    assert_pos_inf(s6_margin_ratio(1, 1, 1000, 900, 100, 0.004, 0));
    assert_pos_inf(s6_margin_ratio(-1, 1, 1000, 1100, 100, 0.004, 0));
    assert_pos_inf(s6_margin_ratio(1, 1, 1000, 850, 100, 0.004, 0));
}

/* At the liquidation price the ratio is 1: the two formulas agree. */
S6_TEST(margin_ratio_one_at_liquidation)
{
    for (int side = -1; side <= 1; side += 2) {
        double lp = s6_liq_price_isolated(side, 3, 2000, 600, 0.005, 50);
        assert_rel(s6_margin_ratio(side, 3, 2000, lp, 600, 0.005, 50), 1.0,
                   1e-12);
    }
}

S6_TEST_REFUSES(margin_ratio_bad_input, "sppppnn", NAN,
                s6_margin_ratio((int)a[0], a[1], a[2], a[3], a[4], a[5], a[6]),
                1, 1, 1000, 950, 100, 0.004, 0)

S6_TEST(margin_ratio_mmr_out_of_range)
{
    assert_nan(s6_margin_ratio(1, 1, 1000, 950, 100, 1.0, 0));
    assert_nan(s6_margin_ratio(-1, 1, 1000, 950, 100, 1.5, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upnl_both_sides),
        cmocka_unit_test(upnl_bad_input),
        cmocka_unit_test(roe_both_sides),
        cmocka_unit_test(roe_bad_input),
        cmocka_unit_test(price_for_roe_both_sides),
        cmocka_unit_test(price_for_roe_no_price),
        cmocka_unit_test(price_for_roe_bad_input),
        cmocka_unit_test(net_lock_price_hand_values),
        cmocka_unit_test(net_lock_price_by_substitution),
        cmocka_unit_test(net_breakeven_beyond_gross),
        cmocka_unit_test(net_without_fees_is_gross),
        cmocka_unit_test(net_lock_price_bad_input),
        cmocka_unit_test(net_lock_price_out_of_range),
        cmocka_unit_test(margin_ratio_both_sides),
        cmocka_unit_test(margin_ratio_one_at_liquidation),
        cmocka_unit_test(margin_ratio_bad_input),
        cmocka_unit_test(margin_ratio_mmr_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
