/*
 * Plans from the repo's rules turned into orders: the take-profit ladder
 * with partial fills and the stop resized after each, add-ons up to the
 * cap and refused beyond, the stagnation event, the liquidation-distance
 * alert once per crossing, the SPOT guard stop.
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

#define FAR_TRAIL "\"trailing_stop\":{\"base\":{\"steps\":[{\"roe\":5,\"lock_roe\":0}]}}"
#define NO_TP "\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}"

static fx_call *unanswered_stop(fx *f)
{
    fx_call *c = fx_last(f, S6_PURPOSE_STOP, false);
    return c != NULL && !c->answered ? c : NULL;
}

/* Confirms the stop in flight and the cancel of the one it replaces. */
static void confirm_stop(fx *f)
{
    fx_call *c = unanswered_stop(f);
    assert_non_null(c);
    fx_answer(f, c, S6_ROUTE_OK);
    fx_call *k = fx_last(f, 0, true);
    if (k != NULL && !k->answered)
        fx_answer(f, k, S6_ROUTE_OK);
}

static void tp_ladder_partial_fills_resize_stop(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{" FAR_TRAIL ",\"tp_ladder\":{\"base\":{\"steps\":"
                 "[{\"roe\":0.12,\"fraction\":0.5}]}}}");
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.2, 50000, 0, 49000), 0);
    confirm_stop(&f);
    /* ROE 12.2% on a margin of 1000: half the position */
    assert_int_equal(fx_price(&f, 50610), 0);
    fx_call *tp = fx_last(&f, S6_PURPOSE_TP, false);
    assert_non_null(tp);
    assert_int_equal(tp->o.type, S6_ORDER_MARKET);
    assert_true(tp->o.reduce_only);
    assert_int_equal(tp->o.side, -1);
    assert_string_equal(tp->o.qty_str, "0.100");
    fx_answer(&f, tp, S6_ROUTE_OK);
    char tp_id[S6_INTENT_ID_MAX + 1];
    snprintf(tp_id, sizeof tp_id, "%s", tp->o.intent_id);

    /* a partial fill: the stop follows the position's size */
    assert_int_equal(fx_fill(&f, tp_id, S6_FILL_REDUCE, -1, 0.04, 50610, 0, 0), 0);
    assert_true(fabs(fx_num(&f, "qty") - 0.16) < 1e-12);
    fx_call *rs = unanswered_stop(&f);
    assert_non_null(rs);
    assert_string_equal(rs->o.qty_str, "0.160");
    assert_true(fabs(rs->o.stop_price - 49000) < 1e-9);
    /* the rest fills while that resize is in flight: one at a time */
    assert_int_equal(fx_fill(&f, tp_id, S6_FILL_REDUCE, -1, 0.06, 50620, 0, 0), 0);
    assert_ptr_equal(unanswered_stop(&f), rs);
    confirm_stop(&f);
    fx_call *rs2 = unanswered_stop(&f);
    assert_non_null(rs2);
    assert_string_equal(rs2->o.qty_str, "0.100");
    confirm_stop(&f);
    assert_true(fx_num(&f, "tp.step") == 1);
    assert_true(fx_counter(&f, "s6_tp_fills_total", "BTCUSDT", NULL) == 1);
    assert_int_equal(fx_count(&f, S6_PURPOSE_TP, false), 1);
    assert_int_equal(fx_count(&f, 0, true), 2); /* both old stops cancelled */
    json_t *p = fx_pos(&f);
    assert_int_equal(json_array_size(json_object_get(p, "orders_in_flight")), 0);
    json_decref(p);
    fx_teardown(&f);
}

static void signal_add(fx *f, double mark)
{
    assert_int_equal(fx_price(f, mark), 0);
    assert_int_equal(s6_engine_on_signal(f->e, "BTCUSDT", 1, 0.9, f->now), 0);
    s6_mem_state_pump(f->ms); /* the quota answer */
}

static void adds_up_to_cap(void **st)
{
    (void)st;
    fx f;
    /* the rule would add three times; the host's cap is 2 */
    fx_setup(&f, "{" FAR_TRAIL "," NO_TP ",\"add_on\":{\"base\":{"
                 "\"thresholds\":[0.05,0.1,0.15],\"cap\":3,"
                 "\"min_interval\":300,\"gamma\":0.5}}}");
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.2, 50000, 0, 49000), 0);
    confirm_stop(&f);
    double budget = s6_mem_state_budget_free(f.ms);

    signal_add(&f, 50300); /* ROE 6% */
    fx_call *a1 = fx_last(&f, S6_PURPOSE_ADD, false);
    assert_non_null(a1);
    assert_false(a1->o.reduce_only);
    assert_int_equal(a1->o.side, 1);
    assert_string_equal(a1->o.qty_str, "0.100"); /* Q0 * 0.5 */
    assert_true(s6_mem_state_budget_free(&*f.ms) < budget); /* reserved first */
    assert_true(fx_num(&f, "adds") == 0); /* moves on the fill */
    fx_answer(&f, a1, S6_ROUTE_OK);
    assert_int_equal(fx_fill(&f, a1->o.intent_id, S6_FILL_ADD, 1, 0.1, 50300, 0, 0), 0);
    assert_true(fx_num(&f, "adds") == 1);
    confirm_stop(&f); /* resized to 0.3 */

    f.now += 301;
    signal_add(&f, 50700); /* ROE ~12% on the new average */
    fx_call *a2 = fx_last(&f, S6_PURPOSE_ADD, false);
    assert_ptr_not_equal(a2, a1);
    assert_string_equal(a2->o.qty_str, "0.050");
    fx_answer(&f, a2, S6_ROUTE_OK);
    assert_int_equal(fx_fill(&f, a2->o.intent_id, S6_FILL_ADD, 1, 0.05, 50700, 0, 0), 0);
    assert_true(fx_num(&f, "adds") == 2);
    confirm_stop(&f);

    f.now += 301;
    signal_add(&f, 51000); /* ROE ~16%: the rule asks, the guard refuses */
    assert_int_equal(fx_count(&f, S6_PURPOSE_ADD, false), 2);
    assert_true(fx_counter(&f, "s6_proposals_rejected_total", "add_cap", NULL) >= 1);
    assert_true(fx_counter(&f, "s6_adds_total", "BTCUSDT", NULL) == 2);

    /* an operator's add meets the same guard */
    s6_manage_req q = {.action = S6_MANAGE_ADD, .qty = 0.01, .market = -1};
    snprintf(q.position_id, sizeof q.position_id, "%s", f.pos_id);
    json_t *out = NULL;
    s6_api_error err;
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_null(out);
    assert_int_equal(err.status, 409);
    assert_non_null(strstr(err.message, "add_cap"));
    fx_teardown(&f);
}

static void stagnation_event_once(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{" NO_TP "}");
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    confirm_stop(&f);
    f.now += 14401;
    assert_int_equal(fx_price(&f, 50010), 0);
    assert_int_equal(fx_events(&f, "STAGNATED"), 0); /* a tick rule */
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_events(&f, "STAGNATED"), 1);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_events(&f, "STAGNATED"), 1);
    assert_true(fx_counter(&f, "s6_stagnation_events_total", "BTCUSDT", NULL) == 1);
    /* the event names its rule and version */
    const s6_mem_event *ev = NULL;
    for (size_t i = 0; i < s6_mem_state_n_events(f.ms); i++)
        if (strcmp(s6_mem_state_event(f.ms, i)->type, "STAGNATED") == 0)
            ev = s6_mem_state_event(f.ms, i);
    assert_non_null(ev);
    assert_non_null(strstr(ev->json, "\"rule\":\"stagnation\""));
    fx_teardown(&f);
}

static void liq_alert_once_per_crossing(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{" NO_TP "}");
    /* long 0.1 at 50000, 10x: liquidation near 45180 */
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 45000), 0);
    confirm_stop(&f);
    static const double marks[] = {48000, 47500, 47400, 48500, 47500};
    static const size_t alerts[] = {0, 1, 1, 1, 2};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(fx_price(&f, marks[i]), 0);
        assert_int_equal(fx_tick(&f), 0);
        assert_int_equal(fx_events(&f, "LIQ_ALERT"), alerts[i]);
    }
    assert_int_equal(fx_events(&f, "LIQ_ALERT_CLEARED"), 1);
    assert_true(fx_counter(&f, "s6_risk_alerts_total", "liquidation_distance",
                           NULL) == 2);
    double d = fx_num(&f, "liq_distance");
    assert_true(d > 0 && d < 0.05);
    fx_teardown(&f);
}

static void spot_guard_stop(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{" NO_TP "}");
    char err[160];
    s6_order_result r;
    memset(&r, 0, sizeof r);
    r.kind = S6_RES_FILL;
    snprintf(r.result_id, sizeof r.result_id, "r-spot");
    snprintf(r.intent_id, sizeof r.intent_id, "up-spot");
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    r.market = S6_MARKET_SPOT;
    r.fill = (s6_fill){.kind = S6_FILL_ENTRY, .side = 1, .qty = 0.01,
                       .price = 60000, .ts = f.now};
    r.sl_px = 58000;
    r.ts = f.now;
    assert_int_equal(s6_engine_on_result(f.e, &r, err, sizeof err), 0);
    fx_follow(&f);
    assert_int_equal(s6_mem_state_n_announces(f.ms), 1);
    assert_string_equal(s6_mem_state_announce(f.ms, 0)->stream, "guard:spot:arm");
    assert_non_null(strstr(s6_mem_state_announce(f.ms, 0)->fields, "sl_px=58000"));

    assert_int_equal(fx_price_spot(&f, 59000, 58900), 0);
    assert_int_equal(fx_count(&f, 0, false), 0);
    /* the mark is above the guard, the mid is not: the mid decides */
    assert_int_equal(fx_price_spot(&f, 58100, 57990), 0);
    fx_call *sell = fx_last(&f, S6_PURPOSE_CLOSE, false);
    assert_non_null(sell);
    assert_int_equal(sell->o.market, S6_MARKET_SPOT);
    assert_int_equal(sell->o.side, -1);
    assert_false(sell->o.reduce_only);
    assert_string_equal(sell->o.qty_str, "0.01000");
    assert_int_equal(fx_events(&f, "GUARD_TRIGGERED"), 1);
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "PENDING_CLOSING");
    json_decref(p);
    fx_teardown(&f);
}

static int eth(fx *f, int market, double mark)
{
    s6_market_update m = {.ts = f->now, .mark = mark, .atr = NAN,
                          .regime = -1, .health = NAN};
    return s6_engine_on_market(f->e, "ETHUSDT", market, &m);
}

static s6_order_result eth_fill(fx *f, int market, const char *intent,
                                int side, double qty, double price)
{
    s6_order_result r;
    memset(&r, 0, sizeof r);
    r.kind = S6_RES_FILL;
    snprintf(r.result_id, sizeof r.result_id, "r-eth-%u", ++f->rid);
    snprintf(r.intent_id, sizeof r.intent_id, "%s", intent);
    snprintf(r.symbol, sizeof r.symbol, "ETHUSDT");
    r.market = market;
    r.fill = (s6_fill){.kind = S6_FILL_ENTRY, .side = side, .qty = qty,
                       .price = price, .ts = f->now};
    r.ts = f->now;
    return r;
}

/* ETH spot with a target exposure of 0: the hedge rule sells the same
 * quantity of futures, the engine places it on FUT, the fill opens the
 * FUT position (with its own stop), and the book is then flat. */
static void spot_hedged_on_futures(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{" NO_TP "}");
    char err[160];
    assert_int_equal(eth(&f, S6_MARKET_FUT, 3000), 0);
    s6_order_result r = eth_fill(&f, S6_MARKET_SPOT, "up-eth", 1, 2, 3000);
    assert_int_equal(s6_engine_on_result(f.e, &r, err, sizeof err), 0);
    assert_int_equal(eth(&f, S6_MARKET_SPOT, 3000), 0);
    fx_call *hg = fx_last(&f, S6_PURPOSE_HEDGE, false);
    assert_non_null(hg);
    assert_int_equal(hg->o.market, S6_MARKET_FUT);
    assert_int_equal(hg->o.side, -1);
    assert_false(hg->o.reduce_only);
    assert_string_equal(hg->o.qty_str, "2.000");
    assert_int_equal(fx_events(&f, "HEDGE_SENT"), 1);
    /* in flight: no second hedge */
    assert_int_equal(eth(&f, S6_MARKET_SPOT, 3001), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_HEDGE, false), 1);
    fx_answer(&f, hg, S6_ROUTE_OK);

    s6_order_result fill = eth_fill(&f, S6_MARKET_FUT, hg->o.intent_id, -1, 2,
                                    3001);
    snprintf(fill.pos_id, sizeof fill.pos_id, "%s", hg->o.pos_id);
    assert_int_equal(s6_engine_on_result(f.e, &fill, err, sizeof err), 0);
    json_t *all = s6_engine_positions_json(f.e);
    assert_int_equal(json_array_size(all), 2);
    json_t *fut = NULL;
    for (size_t i = 0; i < 2; i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(all, i),
                                                     "market")), "FUT") == 0)
            fut = json_array_get(all, i);
    assert_non_null(fut);
    assert_string_equal(json_string_value(json_object_get(fut, "side")), "SHORT");
    assert_true(fabs(s6_exact_value(json_object_get(fut, "qty")) - 2) < 1e-12);
    assert_string_not_equal(json_string_value(json_object_get(fut, "position_id")),
                            hg->o.pos_id);
    json_decref(all);
    /* the FUT position is protected like any other */
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_non_null(sl);
    assert_int_equal(sl->o.side, 1);
    /* hedged: the next evaluations send nothing more */
    assert_int_equal(eth(&f, S6_MARKET_SPOT, 3002), 0);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_HEDGE, false), 1);
    fx_teardown(&f);
}

/* The daily loss limit (1000 by default) stops adds for the rest of the
 * UTC day, not longer. */
static void daily_loss_stops_adds_for_the_day(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{" FAR_TRAIL "," NO_TP "}");
    f.now = 1764115200; /* 00:00 UTC */
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 38000), 0);
    assert_int_equal(fx_fill(&f, "", S6_FILL_MANUAL, -1, 0.1, 39000, 0, 0), 0);
    f.pos_id[0] = '\0';
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.2, 39000, 0, 38000), 0);
    confirm_stop(&f);
    signal_add(&f, 39240); /* ROE 6% */
    assert_int_equal(fx_count(&f, S6_PURPOSE_ADD, false), 0);
    assert_true(fx_counter(&f, "s6_proposals_rejected_total", "daily_loss", NULL) >= 1);
    f.now += 86400; /* a new day */
    signal_add(&f, 39240);
    assert_int_equal(fx_count(&f, S6_PURPOSE_ADD, false), 1);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tp_ladder_partial_fills_resize_stop),
        cmocka_unit_test(adds_up_to_cap),
        cmocka_unit_test(stagnation_event_once),
        cmocka_unit_test(liq_alert_once_per_crossing),
        cmocka_unit_test(spot_guard_stop),
        cmocka_unit_test(spot_hedged_on_futures),
        cmocka_unit_test(daily_loss_stops_adds_for_the_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
