/*
 * Order results into the engine: duplicates and out-of-order results are
 * harmless, the same close twice releases quota once, fills S6 did not
 * ask for (exchange stop, liquidation) close the position, bad results are
 * refused with the field named and nothing changed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "util/exact.h"

#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}}"

static int apply(fx *f, s6_order_result *r, char *err, size_t errlen)
{
    return s6_engine_on_result(f->e, r, err, errlen);
}

static s6_order_result fill_result(const char *rid, const char *intent,
                                   int kind, int side, double qty,
                                   double price)
{
    s6_order_result r;
    memset(&r, 0, sizeof r);
    r.kind = S6_RES_FILL;
    snprintf(r.result_id, sizeof r.result_id, "%s", rid);
    snprintf(r.intent_id, sizeof r.intent_id, "%s", intent);
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    r.market = S6_MARKET_FUT;
    r.fill = (s6_fill){.kind = kind, .side = side, .qty = qty, .price = price,
                       .fee = 0.5, .ts = 1764110000};
    r.ts = 1764110000;
    r.risk_reserved = 500;
    r.concurrency_reserved = 1;
    return r;
}

static void duplicate_results_change_nothing(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    char err[160];
    s6_order_result entry = fill_result("r-e1", "up-1", S6_FILL_ENTRY, 1, 0.1,
                                        50000);
    assert_int_equal(apply(&f, &entry, err, sizeof err), 0);
    fx_follow(&f);
    json_t *before = fx_pos(&f);
    unsigned saves = s6_mem_state_saves(f.ms);
    size_t orders = f.router.n;
    assert_int_equal(apply(&f, &entry, err, sizeof err), 0); /* again */
    json_t *after = fx_pos(&f);
    assert_true(json_equal(before, after));
    assert_int_equal(s6_mem_state_saves(f.ms), saves);
    assert_int_equal(f.router.n, orders);
    json_decref(before);
    json_decref(after);

    /* the stop's ACCEPTED twice, and the router's OK after it */
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_int_equal(fx_result(&f, S6_RES_ACCEPTED, sl->o.intent_id, NULL), 0);
    assert_int_equal(fx_result(&f, S6_RES_ACCEPTED, sl->o.intent_id, NULL), 0);
    fx_answer(&f, sl, S6_ROUTE_OK);
    assert_int_equal(fx_events(&f, "STOP_CONFIRMED"), 1);
    fx_teardown(&f);
}

static void out_of_order_results_are_harmless(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    char sl_id[S6_INTENT_ID_MAX + 1];
    snprintf(sl_id, sizeof sl_id, "%s", sl->o.intent_id);
    /* the exchange stop fills before its ACCEPTED arrives */
    assert_int_equal(fx_fill(&f, sl_id, S6_FILL_STOP, -1, 0.1, 49000, 0, 0), 0);
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "CLOSED");
    json_decref(p);
    assert_true(fx_counter(&f, "s6_stop_triggers_total", "BTCUSDT", "exchange") == 1);
    /* then the ACCEPTED and the router's answer: nothing left to move */
    assert_int_equal(fx_result(&f, S6_RES_ACCEPTED, sl_id, NULL), 0);
    fx_answer(&f, sl, S6_ROUTE_OK);
    /* an intent nobody holds is logged */
    assert_int_equal(fx_result(&f, S6_RES_CANCELED, "nobody-sl-9", NULL), 0);
    s6_buf_append(&f.logs, "", 1);
    assert_non_null(strstr(f.logs.data, "nobody-sl-9"));
    assert_int_equal(s6_mem_state_releases(f.ms, f.pos_id), 1);
    fx_teardown(&f);
}

static void same_close_twice_releases_once(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    char err[160];
    s6_order_result entry = fill_result("r-e1", "up-1", S6_FILL_ENTRY, 1, 0.1,
                                        50000);
    assert_int_equal(apply(&f, &entry, err, sizeof err), 0);
    double budget = s6_mem_state_budget_free(f.ms);
    s6_order_result close = fill_result("r-c1", "", S6_FILL_MANUAL, -1, 0.1,
                                        50100);
    assert_int_equal(apply(&f, &close, err, sizeof err), 0);
    assert_true(fabs(s6_mem_state_budget_free(f.ms) - (budget + 500)) < 1e-9);
    assert_int_equal(fx_tick(&f), 0); /* the closed slot is freed */
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(apply(&f, &close, err, sizeof err), 0); /* replayed */
    json_t *all = s6_engine_positions_json(f.e);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    assert_true(fabs(s6_mem_state_budget_free(f.ms) - (budget + 500)) < 1e-9);
    assert_int_equal(s6_mem_state_count(f.ms, "QUOTA_RELEASED", NULL), 1);
    assert_int_equal(s6_mem_state_count(f.ms, "POSITION_CLOSED", NULL), 1);
    fx_teardown(&f);
}

static void liquidation_closes(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, -1, 0.1, 50000, 2.5, 0), 0);
    fx_answer_all(&f, S6_ROUTE_OK);
    assert_int_equal(fx_fill(&f, "", S6_FILL_LIQUIDATION, 1, 0.1, 54800, 0, 0), 0);
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "CLOSED");
    /* short 0.1 from 50000 to 54800: -480, minus the entry fee */
    assert_true(fabs(s6_exact_value(json_object_get(p, "realized_pnl")) -
                     (-482.5)) < 1e-9);
    json_decref(p);
    assert_int_equal(fx_count(&f, 0, true), 1); /* its stop cancelled */
    assert_int_equal(s6_mem_state_releases(f.ms, f.pos_id), 1);
    fx_teardown(&f);
}

static void bad_results_refused(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    char err[160];
    s6_order_result base = fill_result("r-e1", "up-1", S6_FILL_ENTRY, 1, 0.1,
                                       50000);
    struct {
        const char *prefix;
        s6_order_result r;
    } bad[8];
    size_t n = 0;
    bad[n].prefix = "qty:", bad[n].r = base, bad[n++].r.fill.qty = -1;
    bad[n].prefix = "price:", bad[n].r = base, bad[n++].r.fill.price = NAN;
    bad[n].prefix = "side:", bad[n].r = base, bad[n++].r.fill.side = 0;
    bad[n].prefix = "kind:", bad[n].r = base, bad[n++].r.kind = 9;
    bad[n].prefix = "market:", bad[n].r = base, bad[n++].r.market = 7;
    bad[n].prefix = "symbol:", bad[n].r = base;
    snprintf(bad[n++].r.symbol, sizeof base.symbol, "XRPUSDT");
    bad[n].prefix = "result_id:", bad[n].r = base;
    bad[n++].r.result_id[0] = '\0';
    bad[n].prefix = "fee:", bad[n].r = base, bad[n++].r.fill.fee = -1;
    for (size_t i = 0; i < n; i++) {
        err[0] = '\0';
        assert_true(apply(&f, &bad[i].r, err, sizeof err) < 0);
        if (strncmp(err, bad[i].prefix, strlen(bad[i].prefix)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, err,
                     bad[i].prefix);
    }
    json_t *all = s6_engine_positions_json(f.e);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    assert_int_equal(f.router.n, 0);
    assert_int_equal(s6_mem_state_saves(f.ms), 0);

    /* a reduce larger than the position: refused, position unchanged */
    assert_int_equal(apply(&f, &base, err, sizeof err), 0);
    fx_follow(&f);
    json_t *before = fx_pos(&f);
    s6_order_result big = fill_result("r-x", "", S6_FILL_REDUCE, -1, 0.5, 50000);
    assert_true(apply(&f, &big, err, sizeof err) < 0);
    assert_non_null(strstr(err, "reduce larger"));
    json_t *after = fx_pos(&f);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    fx_teardown(&f);
}

static void fees_enter_pnl_and_spot_base_fee(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    char err[160];
    s6_order_result r = fill_result("r-s1", "up-9", S6_FILL_ENTRY, 1, 0.01,
                                    60000);
    r.market = S6_MARKET_SPOT;
    r.fill.fee = 0.00001; /* paid in BTC */
    r.fill.fee_in_base = true;
    assert_int_equal(apply(&f, &r, err, sizeof err), 0);
    json_t *a = s6_engine_positions_json(f.e);
    json_t *p = json_array_get(a, 0);
    assert_true(fabs(s6_exact_value(json_object_get(p, "qty")) - 0.00999) < 1e-12);
    assert_true(fabs(s6_exact_value(json_object_get(p, "realized_pnl")) +
                     0.6) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(p, "market")), "SPOT");
    json_decref(a);
    /* S6 places no exchange stop for SPOT: a guard is armed instead */
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), 0);
    assert_int_equal(s6_mem_state_count(f.ms, "GUARD_ARMED", NULL), 1);
    assert_string_equal(s6_mem_state_announce(f.ms, 0)->stream, "guard:spot:arm");
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_results_change_nothing),
        cmocka_unit_test(out_of_order_results_are_harmless),
        cmocka_unit_test(same_close_twice_releases_once),
        cmocka_unit_test(liquidation_closes),
        cmocka_unit_test(bad_results_refused),
        cmocka_unit_test(fees_enter_pnl_and_spot_base_fee),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
