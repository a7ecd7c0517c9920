/*
 * Liquidation price (Binance USD-M, isolated, one-way mode) and distance.
 *
 * Source of the formula and the bracket rule: Binance FAQ "How to Calculate
 * Liquidation Price of USDⓈ-M Futures Contracts",
 * https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93
 *   - isolated mode: WB is the isolated wallet, TMM = 0, UPNL = 0, so
 *     LP = (WB + cum - side*Q*EP) / (Q*MMR - side*Q);
 *   - "If the liquidation price is less than 0, the UI display would be --";
 *   - a BTCUSDT position of 264,000 USDT has a maintenance margin rate of 1%;
 *     one of 500,000 USDT a maintenance amount of 1,300 USDT;
 *   - maintenance amount on level n = floor_n * (mmr_n - mmr_{n-1}) + cum_{n-1},
 *     e.g. level 3 = 250,000 * (1% - 0.5%) + 50 = 1,300 USDT;
 *   - when the position at the liquidation price falls in another level than
 *     at the opening price, recalculate with that level's rate and amount.
 * The FAQ gives the formula but no numeric liquidation example, so the
 * prices below are worked by hand and checked by substitution: at LP the
 * margin balance WB + uPnL equals the maintenance margin Q*LP*MMR - cum.
 */
#include "s6_test.h"

/* The first BTCUSDT levels as the FAQ describes them (floor, cap, mmr, cum). */
static const s6_mm_bracket btc[] = {
    {0, 50000, 0.004, 0},
    {50000, 250000, 0.005, 50},
    {250000, 1000000, 0.01, 1300},
    {1000000, 10000000, 0.025, 16300},
};
#define NBTC (sizeof btc / sizeof btc[0])

/* Margin balance minus maintenance margin at price px: 0 at liquidation. */
static double excess_margin(int side, double qty, double entry, double wallet,
                            double mmr, double cum, double px)
{
    return wallet + side * qty * (px - entry) - (qty * px * mmr - cum);
}

S6_TEST(bracket_table_is_consistent)
{
    /* cum_i = cum_{i-1} + floor_i*(mmr_i - mmr_{i-1}):
     *   50,000*(0.005-0.004) + 0      = 50
     *   250,000*(0.01-0.005) + 50     = 1,300   (the FAQ's own example)
     *   1,000,000*(0.025-0.01) + 1,300 = 16,300 */
    for (size_t i = 1; i < NBTC; i++)
        assert_rel(btc[i].cum,
                   btc[i - 1].cum +
                       btc[i].notional_floor * (btc[i].mmr - btc[i - 1].mmr),
                   1e-12);
    /* The FAQ's lookups: 264,000 is in the 1% level; 500,000 has cum 1,300. */
    assert_true(btc[2].notional_floor <= 264000 && 264000 < btc[2].notional_cap);
    assert_same(btc[2].mmr, 0.01);
    assert_true(btc[2].notional_floor <= 500000 && 500000 < btc[2].notional_cap);
    assert_same(btc[2].cum, 1300.0);
}

/*
 * Q = 1 BTC at 50,000, wallet 5,000 (10x), mmr 0.4%, cum 0:
 *   long  LP = (5000 + 0 - 50000) / (0.004 - 1) = -45000 / -0.996 = 45180.7228915662...
 *   short LP = (5000 + 0 + 50000) / (0.004 + 1) =  55000 /  1.004 = 54780.8764940239...
 * Long check: balance 5000 + (45180.72 - 50000) = 180.72 = 45180.72 * 0.004.
 */
S6_TEST(isolated_both_sides)
{
    double l = s6_liq_price_isolated(1, 1, 50000, 5000, 0.004, 0);
    double s = s6_liq_price_isolated(-1, 1, 50000, 5000, 0.004, 0);
    assert_rel(l, 45180.7228915662651, 1e-14);
    assert_rel(s, 54780.8764940239044, 1e-14);
    assert_true(fabs(excess_margin(1, 1, 50000, 5000, 0.004, 0, l)) < 1e-9);
    assert_true(fabs(excess_margin(-1, 1, 50000, 5000, 0.004, 0, s)) < 1e-9);
}

/*
 * With a maintenance amount: Q = 10 at 50,000 (500,000 USDT, level 3:
 * mmr 1%, cum 1,300), wallet 50,000 (10x):
 *   long  (50000 + 1300 - 500000) / (0.1 - 10) = -448700 / -9.9 = 45323.2323...
 *   short (50000 + 1300 + 500000) / (0.1 + 10) =  551300 / 10.1 = 54584.1584...
 */
S6_TEST(isolated_with_cum)
{
    double l = s6_liq_price_isolated(1, 10, 50000, 50000, 0.01, 1300);
    double s = s6_liq_price_isolated(-1, 10, 50000, 50000, 0.01, 1300);
    assert_rel(l, 448700.0 / 9.9, 1e-15);
    assert_rel(s, 551300.0 / 10.1, 1e-15);
    assert_true(fabs(excess_margin(1, 10, 50000, 50000, 0.01, 1300, l)) < 1e-8);
    assert_true(fabs(excess_margin(-1, 10, 50000, 50000, 0.01, 1300, s)) <
                1e-8);
}

/* A long whose wallet covers the whole notional cannot be liquidated: the
 * formula gives <= 0 and the answer is 0 ("--" on Binance), never < 0. */
S6_TEST(isolated_no_liquidation_price)
{
    /* 1x: (100 - 100) / (0.004 - 1) = -0 -> +0, not -0. */
    double one_x = s6_liq_price_isolated(1, 1, 100, 100, 0.004, 0);
    assert_bits(one_x, 0.0);
    /* Over-collateralised: (150 - 100) / -0.996 < 0 -> 0. */
    assert_bits(s6_liq_price_isolated(1, 1, 100, 150, 0.004, 0), 0.0);
    /* cum alone can push it there: (90 + 20 - 100) / -0.996 < 0. */
    assert_bits(s6_liq_price_isolated(1, 1, 100, 90, 0.004, 20), 0.0);
    /* Just short of that, a tiny positive price remains:
     * (99 - 100) / -0.996 = 1.00401606... */
    assert_rel(s6_liq_price_isolated(1, 1, 100, 99, 0.004, 0), 1.0 / 0.996,
               1e-15);
    /* A short always has one: numerator and denominator are both > 0. */
    assert_true(s6_liq_price_isolated(-1, 1, 100, 1e6, 0.004, 0) > 0.0);
}

S6_TEST(isolated_zero_mmr)
{
    /* mmr 0: liquidation at bankruptcy.  Long (10 - 100)/(0 - 1) = 90,
     * short (10 + 100)/(0 + 1) = 110. */
    assert_same(s6_liq_price_isolated(1, 1, 100, 10, 0, 0), 90.0);
    assert_same(s6_liq_price_isolated(-1, 1, 100, 10, 0, 0), 110.0);
}

S6_TEST_REFUSES(isolated_bad_input, "spppnn", NAN,
                s6_liq_price_isolated((int)a[0], a[1], a[2], a[3], a[4], a[5]),
                1, 1, 50000, 5000, 0.004, 0)

S6_TEST(isolated_mmr_out_of_range)
{
    for (int side = -1; side <= 1; side += 2) {
        assert_nan(s6_liq_price_isolated(side, 1, 50000, 5000, 1.0, 0));
        assert_nan(s6_liq_price_isolated(side, 1, 50000, 5000, 2.0, 0));
    }
}

/* Inside one bracket the bracket form is the plain formula with that
 * bracket's rate and amount (the level-3 example above, both sides). */
S6_TEST(brackets_equal_plain_inside_one)
{
    for (int side = -1; side <= 1; side += 2)
        assert_bits(s6_liq_price_brackets(side, 10, 50000, 50000, btc, NBTC),
                    s6_liq_price_isolated(side, 10, 50000, 50000, 0.01, 1300));
    /* Level 1: Q = 0.5 at 40,000 = 20,000 notional, wallet 2,000. */
    for (int side = -1; side <= 1; side += 2)
        assert_bits(s6_liq_price_brackets(side, 0.5, 40000, 2000, btc, NBTC),
                    s6_liq_price_isolated(side, 0.5, 40000, 2000, 0.004, 0));
}

/*
 * Long: Q = 4 at 66,000 = 264,000 notional, level 3 (1%, 1,300) at entry
 * (the FAQ's example notional), wallet 26,400 (10x).
 *   level 3: (26400 + 1300 - 264000) / (0.04 - 4) = 59671.717...
 *            notional 4 * 59671.7 = 238,686.9 < 250,000: level 2, re-solve
 *   level 2: (26400 + 50 - 264000) / (0.02 - 4)   = 59685.929...
 *            notional 238,743.7: level 2 again, settled.
 */
S6_TEST(brackets_resolve_long)
{
    double lp = s6_liq_price_brackets(1, 4, 66000, 26400, btc, NBTC);
    assert_rel(lp, 237550.0 / 3.98, 1e-15);
    assert_bits(lp, s6_liq_price_isolated(1, 4, 66000, 26400, 0.005, 50));
    assert_true(lp != s6_liq_price_isolated(1, 4, 66000, 26400, 0.01, 1300));
    assert_true(fabs(excess_margin(1, 4, 66000, 26400, 0.005, 50, lp)) < 1e-8);
}

/*
 * Short: Q = 4 at 62,000 = 248,000 notional, level 2 (0.5%, 50) at entry,
 * wallet 24,800 (10x).
 *   level 2: (24800 + 50 + 248000) / (0.02 + 4) = 67873.134...
 *            notional 271,492.5 >= 250,000: level 3, re-solve
 *   level 3: (24800 + 1300 + 248000) / (0.04 + 4) = 67846.534...
 *            notional 271,386.1: level 3 again, settled.
 */
S6_TEST(brackets_resolve_short)
{
    double lp = s6_liq_price_brackets(-1, 4, 62000, 24800, btc, NBTC);
    assert_rel(lp, 274100.0 / 4.04, 1e-15);
    assert_bits(lp, s6_liq_price_isolated(-1, 4, 62000, 24800, 0.01, 1300));
    assert_true(lp != s6_liq_price_isolated(-1, 4, 62000, 24800, 0.005, 50));
    assert_true(fabs(excess_margin(-1, 4, 62000, 24800, 0.01, 1300, lp)) <
                1e-8);
}

S6_TEST(brackets_no_liquidation_price)
{
    /* 1x long in level 3 (Q = 5 at 100,000 = 500,000, wallet 500,000):
     * (500000 + 1300 - 500000) / (0.05 - 5) < 0 -> 0. */
    assert_bits(s6_liq_price_brackets(1, 5, 100000, 500000, btc, NBTC), 0.0);
}

S6_TEST(brackets_beyond_last_cap)
{
    /* 20,000,000 notional is past the table: the last level applies.
     * Q = 400 at 50,000, wallet 2,000,000 (10x), level 4 (2.5%, 16,300):
     * long (2000000 + 16300 - 20000000) / (10 - 400) = 46112.051...
     * (notional 18.4M, still past the table). */
    double lp = s6_liq_price_brackets(1, 400, 50000, 2000000, btc, NBTC);
    assert_bits(lp, s6_liq_price_isolated(1, 400, 50000, 2000000, 0.025,
                                          16300));
    assert_rel(lp, 17983700.0 / 390.0, 1e-15);
}

/*
 * A table whose amounts jump (not Binance's, whose cum keeps the
 * maintenance margin continuous) can send the re-solve back and forth.
 * Q = 1 at 100, wallet 10; A = [0, 80) mmr 0.5 cum 0; B = [80, inf)
 * mmr 0.01 cum 20.
 *   B: (10 + 20 - 100) / (0.01 - 1) = 70.7  -> notional in A
 *   A: (10 + 0 - 100) / (0.5 - 1)   = 180   -> notional in B, and so on.
 * The search stops and keeps the more conservative answer (the higher
 * price for a long).
 */
S6_TEST(brackets_cycle_terminates)
{
    static const s6_mm_bracket odd[] = {
        {0, 80, 0.5, 0},
        {80, INFINITY, 0.01, 20},
    };
    assert_same(s6_liq_price_brackets(1, 1, 100, 10, odd, 2), 180.0);
}

S6_TEST_REFUSES(brackets_bad_position, "sppp", NAN,
                s6_liq_price_brackets((int)a[0], a[1], a[2], a[3], btc, NBTC),
                1, 4, 66000, 26400)

/* Each table below breaks one rule; all must be refused for both sides. */
S6_TEST(brackets_bad_tables)
{
    static const s6_mm_bracket unsorted[] = {
        {50000, 250000, 0.005, 50},
        {0, 50000, 0.004, 0},
    };
    static const s6_mm_bracket gap[] = {
        {0, 50000, 0.004, 0},
        {60000, 250000, 0.005, 50},
    };
    static const s6_mm_bracket overlap[] = {
        {0, 50000, 0.004, 0},
        {40000, 250000, 0.005, 50},
    };
    static const s6_mm_bracket empty_range[] = {{0, 0, 0.004, 0}};
    static const s6_mm_bracket negative_floor[] = {{-1, 50000, 0.004, 0}};
    static const s6_mm_bracket mmr_one[] = {{0, 1e9, 1.0, 0}};
    static const s6_mm_bracket mmr_negative[] = {{0, 1e9, -0.004, 0}};
    static const s6_mm_bracket mmr_nan[] = {{0, 1e9, NAN, 0}};
    static const s6_mm_bracket cum_negative[] = {{0, 1e9, 0.004, -1}};
    static const s6_mm_bracket cum_inf[] = {{0, 1e9, 0.004, INFINITY}};
    static const s6_mm_bracket cap_nan[] = {{0, NAN, 0.004, 0}};
    static const s6_mm_bracket floor_nan[] = {{NAN, 1e9, 0.004, 0}};
    static const struct {
        const s6_mm_bracket *b;
        size_t n;
    } bad[] = {
        {NULL, 4},        {btc, 0},         {unsorted, 2},
        {gap, 2},         {overlap, 2},     {empty_range, 1},
        {negative_floor, 1}, {mmr_one, 1},  {mmr_negative, 1},
        {mmr_nan, 1},     {cum_negative, 1}, {cum_inf, 1},
        {cap_nan, 1},     {floor_nan, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (int side = -1; side <= 1; side += 2)
            assert_nan(s6_liq_price_brackets(side, 1, 100, 10, bad[i].b,
                                             bad[i].n));
}

S6_TEST(distance_both_sides)
{
    /* side*(mark - liq)/mark: long (100 - 90)/100 = 0.1,
     * short -(100 - 110)/100 = 0.1. */
    assert_same(s6_liq_distance(1, 100, 90), 0.1);
    assert_same(s6_liq_distance(-1, 100, 110), 0.1);
    /* Past the liquidation price the distance is negative:
     * long (85 - 90)/85 = -1/17, short -(115 - 110)/115 = -1/23. */
    assert_rel(s6_liq_distance(1, 85, 90), -1.0 / 17.0, 1e-15);
    assert_rel(s6_liq_distance(-1, 115, 110), -1.0 / 23.0, 1e-15);
    /* At it, nothing is left. */
    assert_same(s6_liq_distance(1, 90, 90), 0.0);
    assert_same(s6_liq_distance(-1, 110, 110), 0.0);
}

S6_TEST(distance_no_liquidation_price)
{
    assert_pos_inf(s6_liq_distance(1, 100, 0));
    assert_pos_inf(s6_liq_distance(-1, 100, 0));
    /* The chain the engine uses: an over-collateralised long. */
    double lp = s6_liq_price_isolated(1, 1, 100, 150, 0.004, 0);
    assert_pos_inf(s6_liq_distance(1, 100, lp));
}

S6_TEST_REFUSES(distance_bad_input, "spn", NAN,
                s6_liq_distance((int)a[0], a[1], a[2]), 1, 100, 90)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bracket_table_is_consistent),
        cmocka_unit_test(isolated_both_sides),
        cmocka_unit_test(isolated_with_cum),
        cmocka_unit_test(isolated_no_liquidation_price),
        cmocka_unit_test(isolated_zero_mmr),
        cmocka_unit_test(isolated_bad_input),
        cmocka_unit_test(isolated_mmr_out_of_range),
        cmocka_unit_test(brackets_equal_plain_inside_one),
        cmocka_unit_test(brackets_resolve_long),
        cmocka_unit_test(brackets_resolve_short),
        cmocka_unit_test(brackets_no_liquidation_price),
        cmocka_unit_test(brackets_beyond_last_cap),
        cmocka_unit_test(brackets_cycle_terminates),
        cmocka_unit_test(brackets_bad_position),
        cmocka_unit_test(brackets_bad_tables),
        cmocka_unit_test(distance_both_sides),
        cmocka_unit_test(distance_no_liquidation_price),
        cmocka_unit_test(distance_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
