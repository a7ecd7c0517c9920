/*
 * The books as the exchange keeps them: funding payments on
 * ord:{results} move a FUT position's margin and realized PnL (today's
 * included) once, restart or not; reconciliation adopts the venue's entry
 * price and isolated margin beyond the tolerances, saying by how much.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"

#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}}"

static int funding(fx *f, const char *rid, double amount, double rate)
{
    s6_order_result r = {.kind = S6_RES_FUNDING, .market = S6_MARKET_FUT,
                         .ts = f->now, .funding_amount = amount,
                         .funding_rate = rate};
    snprintf(r.result_id, sizeof r.result_id, "%s", rid);
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    char err[160] = "";
    return s6_engine_on_result(f->e, &r, err, sizeof err);
}

static void funding_moves_margin_and_realized_once(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000),
                     0);
    fx_answer_all(&f, S6_ROUTE_OK);
    double margin0 = fx_num(&f, "margin");
    double realized0 = fx_num(&f, "realized_pnl");
    double today0 = fx_realized_today(&f);
    /* the long pays 0.01% of 5000 */
    assert_int_equal(funding(&f, "fund-1", -0.5, 0.0001), 0);
    assert_true(fabs(fx_num(&f, "margin") - (margin0 - 0.5)) < 1e-9);
    assert_true(fabs(fx_num(&f, "realized_pnl") - (realized0 - 0.5)) < 1e-9);
    assert_true(fabs(fx_realized_today(&f) - (today0 - 0.5)) < 1e-9);
    assert_int_equal(fx_events(&f, "FUNDING"), 1);
    /* the same result again, and again after a restart: nothing moves */
    assert_int_equal(funding(&f, "fund-1", -0.5, 0.0001), 0);
    fx_restart(&f);
    assert_int_equal(funding(&f, "fund-1", -0.5, 0.0001), 0);
    assert_true(fabs(fx_num(&f, "margin") - (margin0 - 0.5)) < 1e-9);
    assert_int_equal(fx_events(&f, "FUNDING"), 1);
    /* a negative rate pays the long */
    assert_int_equal(funding(&f, "fund-2", 0.25, -0.00005), 0);
    assert_true(fabs(fx_num(&f, "margin") - (margin0 - 0.25)) < 1e-9);
    assert_true(fabs(fx_num(&f, "realized_pnl") - (realized0 - 0.25)) < 1e-9);
    /* a payment for a symbol without a position changes nothing */
    s6_order_result r = {.kind = S6_RES_FUNDING, .market = S6_MARKET_FUT,
                         .ts = f.now, .funding_amount = -3,
                         .funding_rate = 0.001};
    snprintf(r.result_id, sizeof r.result_id, "fund-3");
    snprintf(r.symbol, sizeof r.symbol, "ETHUSDT");
    char err[160] = "";
    assert_int_equal(s6_engine_on_result(f.e, &r, err, sizeof err), 0);
    assert_int_equal(fx_events(&f, "FUNDING"), 2);
    /* an amount that is no number is refused by name */
    r.funding_amount = NAN;
    snprintf(r.result_id, sizeof r.result_id, "fund-4");
    assert_int_not_equal(s6_engine_on_result(f.e, &r, err, sizeof err), 0);
    assert_non_null(strstr(err, "amount"));
    fx_teardown(&f);
}

static void venue_entry_and_margin_are_adopted(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000),
                     0);
    fx_answer_all(&f, S6_ROUTE_OK);
    assert_int_equal(fx_price(&f, 50000), 0);
    double margin0 = fx_num(&f, "margin");
    /* a view without as_of is used once the symbol has been quiet a while
     * (docs/engine.md, "The venue's view and the results") */
    f.now += 10;
    /* within the tolerances (0.01% of the entry, one cent): kept */
    s6_venue_position vp = {.symbol = "BTCUSDT", .market = S6_MARKET_FUT,
                            .side = 1, .qty = 0.1, .entry = 50004,
                            .margin = margin0 + 0.005};
    s6_venue_view v = {.positions = &vp, .n_positions = 1};
    assert_int_equal(s6_engine_reconcile(f.e, &v), 0);
    assert_int_equal(fx_events(&f, "RECONCILED_ENTRY"), 0);
    assert_int_equal(fx_events(&f, "RECONCILED_MARGIN"), 0);
    assert_true(fabs(fx_num(&f, "entry") - 50000) < 1e-9);
    /* beyond them: the venue's books, each with an event */
    vp.entry = 50012.5;
    vp.margin = margin0 + 20;
    double liq0 = fx_num(&f, "liq_price");
    assert_int_equal(s6_engine_reconcile(f.e, &v), 0);
    assert_int_equal(fx_events(&f, "RECONCILED_ENTRY"), 1);
    assert_int_equal(fx_events(&f, "RECONCILED_MARGIN"), 1);
    assert_true(fabs(fx_num(&f, "entry") - 50012.5) < 1e-9);
    assert_true(fabs(fx_num(&f, "margin") - (margin0 + 20)) < 0.005);
    assert_true(fx_num(&f, "liq_price") < liq0);
    const char *json = fx_last_event(&f, "RECONCILED_ENTRY");
    assert_non_null(json);
    assert_non_null(strstr(json, "\"diff\""));
    /* a view without a margin leaves ours */
    vp.margin = 0;
    assert_int_equal(s6_engine_reconcile(f.e, &v), 0);
    assert_int_equal(fx_events(&f, "RECONCILED_MARGIN"), 1);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(funding_moves_margin_and_realized_once),
        cmocka_unit_test(venue_entry_and_margin_are_adopted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
