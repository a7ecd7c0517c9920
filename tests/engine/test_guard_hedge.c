/*
 * The hedge action through the guard and the merge: a signed futures
 * quantity for a SPOT position with a target exposure, rounded toward zero
 * on the step, at most one per plan, never beside a resize of the spot
 * position (docs/invariants.md, "Hedges").
 *
 * The fixture's long, made a SPOT book: 1.0 held, mark 110, target
 * exposure 100, futures held -0.2; step 0.001, min qty 0.01, min
 * notional 5.
 */
#include "guard_fixture.h"

static void spot_init(fx *x)
{
    fx_init(x, 1);
    x->pos.market = S6_MARKET_SPOT;
    x->pos.target_exposure = 100.0;
    x->pos.hedge_qty = -0.2;
}

static int fx_hedge(fx *x, int rule, double qty)
{
    return fx_prop(x, rule, S6_ACT_HEDGE, NAN, qty, NAN, NULL);
}

/* The code a lone hedge of qty gets on the SPOT book. */
static int hedge_code(double qty)
{
    fx x;
    spot_init(&x);
    fx_hedge(&x, 0, qty);
    return fx_code_of(&x);
}

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12))
        fail_msg("%.17g is not %.17g", got, want);
}

FX_TEST(a_sell_rounds_toward_zero)
{
    fx x;
    spot_init(&x);
    int h = fx_hedge(&x, 0, -0.5004);
    fx_run(&x);
    assert_accepted(&x, h);
    const s6_plan_action *a = &x.plan.hedge;
    assert_true(a->active);
    assert_int_equal(a->kind, S6_ACT_HEDGE);
    assert_int_equal(a->side, -1);
    assert_same(a->qty, 0.5);
    assert_same(a->requested, -0.5004);
    assert_same(a->notional, 55.0);
    assert_near(a->after_qty, -0.7);
}

FX_TEST(a_buy_carries_side_plus_one)
{
    fx x;
    spot_init(&x);
    int h = fx_hedge(&x, 0, 0.3337);
    fx_run(&x);
    assert_accepted(&x, h);
    assert_int_equal(x.plan.hedge.side, 1);
    assert_same(x.plan.hedge.qty, 0.333);
    assert_near(x.plan.hedge.after_qty, 0.133);
}

FX_TEST(only_a_spot_position_with_a_target)
{
    fx x;
    spot_init(&x);
    x.pos.market = S6_MARKET_FUT;
    fx_hedge(&x, 0, -0.5);
    assert_int_equal(fx_code_of(&x), S6_REJ_HEDGE_MARKET);
    assert_false(x.plan.hedge.active);

    static const double no_target[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof no_target / sizeof no_target[0]; i++) {
        spot_init(&x);
        x.pos.target_exposure = no_target[i];
        fx_hedge(&x, 0, -0.5);
        assert_int_equal(fx_code_of(&x), S6_REJ_HEDGE_MARKET);
    }
}

FX_TEST(the_quantity_is_signed_finite_and_not_zero)
{
    static const double bad[] = {0.0, -0.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hedge_code(bad[i]), S6_REJ_QTY);
}

FX_TEST(a_hedge_carries_nothing_but_qty)
{
    fx x;
    spot_init(&x);
    fx_prop(&x, 0, S6_ACT_HEDGE, 110.0, -0.5, NAN, NULL);
    assert_int_equal(fx_code_of(&x), S6_REJ_STRAY_FIELD);
    spot_init(&x);
    fx_prop(&x, 0, S6_ACT_HEDGE, NAN, -0.5, 0.5, NULL);
    assert_int_equal(fx_code_of(&x), S6_REJ_STRAY_FIELD);
}

FX_TEST(under_the_exchange_minimums_is_refused)
{
    /* 0.0099 is under min qty; 0.04 * 110 = 4.4 is under min notional;
     * 0.0004 rounds to 0 */
    static const double small[] = {-0.0099, 0.04, -0.0004};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        assert_int_equal(hedge_code(small[i]), S6_REJ_HEDGE_TOO_SMALL);
}

FX_TEST(one_in_flight_blocks_the_next)
{
    fx x;
    spot_init(&x);
    x.lim.hedge_in_flight = true;
    fx_hedge(&x, 0, -0.5);
    assert_int_equal(fx_code_of(&x), S6_REJ_HEDGE_IN_FLIGHT);
}

FX_TEST(the_smallest_hedge_wins)
{
    fx x;
    spot_init(&x);
    int big = fx_hedge(&x, 0, -0.5);
    int small = fx_hedge(&x, 1, 0.2);
    fx_run(&x);
    assert_accepted(&x, small);
    assert_rejected(&x, big, S6_REJ_OUTRANKED);
    assert_same(x.plan.hedge.qty, 0.2);

    spot_init(&x);
    int later = fx_hedge(&x, 2, -0.3);
    int first = fx_hedge(&x, 1, -0.3);
    fx_run(&x);
    assert_accepted(&x, first);
    assert_rejected(&x, later, S6_REJ_OUTRANKED);
}

FX_TEST(a_resize_of_the_spot_position_drops_the_hedge)
{
    fx x;
    spot_init(&x);
    int h = fx_hedge(&x, 0, -0.5);
    int r = fx_reduce(&x, 1, 0.5);
    fx_run(&x);
    assert_accepted(&x, r);
    assert_rejected(&x, h, S6_REJ_SIZE_DROPS_HEDGE);
    assert_false(x.plan.hedge.active);

    spot_init(&x);
    h = fx_hedge(&x, 0, -0.5);
    int a = fx_add(&x, 1, 0.1);
    fx_run(&x);
    assert_accepted(&x, a);
    assert_rejected(&x, h, S6_REJ_SIZE_DROPS_HEDGE);
}

FX_TEST(a_stop_move_and_a_hedge_share_a_plan)
{
    fx x;
    spot_init(&x);
    int s = fx_stop(&x, 0, 100.0);
    int h = fx_hedge(&x, 1, -0.5);
    fx_run(&x);
    assert_accepted(&x, s);
    assert_accepted(&x, h);
    assert_true(x.plan.stop.active && x.plan.hedge.active);
    assert_false(x.plan.stop_resize);
}

FX_TEST(a_non_finite_futures_holding_is_refused_whole)
{
    static const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx x;
        spot_init(&x);
        x.pos.hedge_qty = bad[i];
        fx_hedge(&x, 0, -0.5);
        assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, x.props,
                                       x.n, &x.plan),
                         S6_EINVAL);
        assert_false(x.plan.hedge.active);
    }
}

FX_TEST(the_new_codes_have_names)
{
    assert_string_equal(s6_reject_name(S6_REJ_HEDGE_MARKET), "hedge_market");
    assert_string_equal(s6_reject_name(S6_REJ_HEDGE_IN_FLIGHT),
                        "hedge_in_flight");
    assert_string_equal(s6_reject_name(S6_REJ_HEDGE_TOO_SMALL),
                        "hedge_too_small");
    assert_string_equal(s6_reject_name(S6_REJ_SIZE_DROPS_HEDGE),
                        "size_drops_hedge");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_sell_rounds_toward_zero),
        cmocka_unit_test(a_buy_carries_side_plus_one),
        cmocka_unit_test(only_a_spot_position_with_a_target),
        cmocka_unit_test(the_quantity_is_signed_finite_and_not_zero),
        cmocka_unit_test(a_hedge_carries_nothing_but_qty),
        cmocka_unit_test(under_the_exchange_minimums_is_refused),
        cmocka_unit_test(one_in_flight_blocks_the_next),
        cmocka_unit_test(the_smallest_hedge_wins),
        cmocka_unit_test(a_resize_of_the_spot_position_drops_the_hedge),
        cmocka_unit_test(a_stop_move_and_a_hedge_share_a_plan),
        cmocka_unit_test(a_non_finite_futures_holding_is_refused_whole),
        cmocka_unit_test(the_new_codes_have_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
