/*
 * The protective stop through the engine, with the repo's rules: the
 * first stop at once, the lock-in steps walked up (place new, then cancel
 * old), the local guard while S4 never confirms, compensation when S4
 * rejects a new stop.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "engine_fixture.h"

/* The ladder far away, so only the trailing stop acts. */
#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}}"

static void walk_steps(int side)
{
    fx f;
    fx_setup(&f, NO_TP);
    double e0 = 50000, sl = e0 - side * 1000;
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, side, 0.1, e0, 0, sl), 0);

    /* the first stop at once: STOP_MARKET reduce-only, exact decimals */
    fx_call *c = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_non_null(c);
    assert_int_equal(c->o.type, S6_ORDER_STOP_MARKET);
    assert_true(c->o.reduce_only);
    assert_int_equal(c->o.side, -side);
    assert_string_equal(c->o.qty_str, "0.100");
    char px[32];
    snprintf(px, sizeof px, "%.1f", sl);
    assert_string_equal(c->o.price_str, px);
    assert_int_equal(s6_mem_state_n_announces(f.ms), 1);
    assert_string_equal(s6_mem_state_announce(f.ms, 0)->stream, "risk:sl_arm");
    assert_int_equal(fx_answer_all(&f, S6_ROUTE_OK), 1);
    assert_true(fx_num(&f, "stop.confirmed") == 1);
    assert_true(fabs(fx_num(&f, "stop.price") - sl) < 1e-9);

    /* ROE 10.2%: lock step 1, the stop to net breakeven */
    assert_int_equal(fx_price(&f, e0 + side * 510), 0);
    fx_call *s1 = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_ptr_not_equal(s1, c);
    double p1 = s1->o.stop_price;
    assert_true(side * (p1 - e0) > 0); /* past the entry: fees covered */
    assert_int_equal(fx_count(&f, 0, true), 0); /* old kept until confirmed */
    assert_true(fabs(fx_num(&f, "stop.price") - sl) < 1e-9);
    /* a second update while the move is in flight starts no other */
    assert_int_equal(fx_price(&f, e0 + side * 520), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), 2);

    fx_answer(&f, s1, S6_ROUTE_OK);
    fx_call *k1 = fx_last(&f, 0, true);
    assert_non_null(k1);
    assert_string_equal(k1->o.intent_id, c->o.intent_id); /* then cancel old */
    fx_answer(&f, k1, S6_ROUTE_OK);
    assert_true(fabs(fx_num(&f, "stop.price") - p1) < 1e-9);
    assert_true(fx_num(&f, "stop.step") == 1);

    /* ROE 20.2%: lock step 2, the stop at 10% ROE net */
    assert_int_equal(fx_price(&f, e0 + side * 1010), 0);
    fx_call *s2 = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_ptr_not_equal(s2, s1);
    double p2 = s2->o.stop_price;
    assert_true(side * (p2 - (e0 + side * 500)) > 0);
    fx_answer(&f, s2, S6_ROUTE_OK);
    fx_answer(&f, fx_last(&f, 0, true), S6_ROUTE_OK);
    assert_true(fx_num(&f, "stop.step") == 2);
    assert_true(fabs(fx_num(&f, "stop.price") - p2) < 1e-9);
    assert_int_equal(fx_events(&f, "STOP_MOVED"), 2);
    assert_true(fx_counter(&f, "s6_stop_moves_total", "BTCUSDT", NULL) == 2);
    /* every key distinct */
    assert_string_not_equal(s1->o.intent_id, s2->o.intent_id);
    fx_teardown(&f);
}

static void long_walks_both_steps(void **st) { (void)st; walk_steps(1); }
static void short_walks_both_steps(void **st) { (void)st; walk_steps(-1); }

/* An entry read when the mark has already passed its first stop (the
 * fault campaign: a fill read late, after a restart): no stop goes to S4
 * on the wrong side of the mark (S4 would refuse it, or, resting, it
 * would meet the symbol's next position); the guard takes the price and
 * closes at market.  The same for a re-arm after the venue dropped the
 * stop. */
static void no_stop_the_mark_has_passed(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_price(&f, 48500), 0);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), 0);
    fx_call *cl = fx_last(&f, S6_PURPOSE_CLOSE, false);
    assert_non_null(cl);
    assert_true(cl->o.reduce_only);
    assert_true(fabs(fx_num(&f, "stop.guard") - 49000) < 1e-9);
    assert_int_equal(fx_events(&f, "GUARD_TRIGGERED"), 1);
    fx_teardown(&f);

    /* a confirmed stop the venue drops while the mark is past it */
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    fx_answer_all(&f, S6_ROUTE_OK);
    char sl[S6_INTENT_ID_MAX + 1];
    snprintf(sl, sizeof sl, "%s", fx_last(&f, S6_PURPOSE_STOP, false)->o.intent_id);
    assert_int_equal(fx_price(&f, 48500), 0); /* the exchange's to trigger */
    assert_int_equal(fx_count(&f, S6_PURPOSE_CLOSE, false), 0);
    assert_int_equal(fx_result(&f, S6_RES_CANCELED, sl, "expired"), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), 1);
    assert_int_equal(fx_count(&f, S6_PURPOSE_CLOSE, false), 1);
    fx_teardown(&f);
}

static void guard_when_never_confirmed(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), 1); /* never answered */
    assert_int_equal(fx_price(&f, 49500), 0);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_events(&f, "STOP_UNCONFIRMED"), 1);
    assert_true(fx_counter(&f, "s6_risk_alerts_total", "stop_unconfirmed", NULL) == 1);
    assert_true(fabs(fx_num(&f, "stop.guard") - 49000) < 1e-9);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_events(&f, "STOP_UNCONFIRMED"), 1); /* once */

    /* the mark touches the guard: reduce-only market close */
    assert_int_equal(fx_price(&f, 48990), 0);
    fx_call *cl = fx_last(&f, S6_PURPOSE_CLOSE, false);
    assert_non_null(cl);
    assert_int_equal(cl->o.type, S6_ORDER_MARKET);
    assert_true(cl->o.reduce_only);
    assert_int_equal(cl->o.side, -1);
    assert_string_equal(cl->o.qty_str, "0.100");
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "PENDING_CLOSING");
    json_decref(p);
    assert_int_equal(fx_events(&f, "GUARD_TRIGGERED"), 1);
    assert_true(fx_counter(&f, "s6_stop_triggers_total", "BTCUSDT", "guard") == 1);
    /* another touch sends no second close */
    assert_int_equal(fx_price(&f, 48980), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_CLOSE, false), 1);

    assert_int_equal(fx_fill(&f, cl->o.intent_id, S6_FILL_CLOSE, -1, 0.1, 48985,
                             0, 0), 0);
    p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "CLOSED");
    json_decref(p);
    assert_int_equal(s6_mem_state_releases(f.ms, f.pos_id), 1);
    /* the unconfirmed stop is cancelled with the position */
    assert_int_equal(fx_count(&f, 0, true), 1);
    fx_teardown(&f);
}

static void rejected_move_keeps_old_stop(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    fx_answer_all(&f, S6_ROUTE_OK);
    assert_int_equal(fx_price(&f, 50510), 0);
    fx_call *mv = fx_last(&f, S6_PURPOSE_STOP, false);
    char refused[S6_INTENT_ID_MAX + 1];
    snprintf(refused, sizeof refused, "%s", mv->o.intent_id);
    fx_answer(&f, mv, S6_ROUTE_REJECTED);

    /* compensation: the old stop stays, nothing was cancelled */
    assert_true(fx_num(&f, "stop.confirmed") == 1);
    assert_true(fabs(fx_num(&f, "stop.price") - 49000) < 1e-9);
    assert_int_equal(fx_count(&f, 0, true), 0);
    assert_int_equal(fx_events(&f, "STOP_REJECTED"), 1);

    /* the next evaluation asks again, with a new key */
    assert_int_equal(fx_price(&f, 50520), 0);
    fx_call *again = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_string_not_equal(again->o.intent_id, refused);
    fx_answer(&f, again, S6_ROUTE_OK);
    assert_int_equal(fx_count(&f, 0, true), 1);
    fx_teardown(&f);
}

static void rejected_first_stop_guard_then_new_key(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    fx_call *first = fx_last(&f, S6_PURPOSE_STOP, false);
    char refused[S6_INTENT_ID_MAX + 1];
    snprintf(refused, sizeof refused, "%s", first->o.intent_id);
    assert_int_equal(fx_result(&f, S6_RES_REJECTED, refused, "would_trigger"), 0);
    assert_true(fx_num(&f, "stop.confirmed") == 0);
    assert_true(fabs(fx_num(&f, "stop.guard") - 49000) < 1e-9); /* still covered */
    /* the router's late answer for the refused key changes nothing */
    fx_answer(&f, first, S6_ROUTE_REJECTED);
    assert_int_equal(fx_events(&f, "STOP_REJECTED"), 1);

    /* not on the next price (S4 would refuse a stream of them) ... */
    assert_int_equal(fx_price(&f, 49900), 0);
    assert_ptr_equal(fx_last(&f, S6_PURPOSE_STOP, false), first);
    /* ... on the next tick, with a new key */
    assert_int_equal(fx_tick(&f), 0);
    fx_call *again = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_ptr_not_equal(again, first);
    assert_string_not_equal(again->o.intent_id, refused);
    assert_true(fabs(again->o.stop_price - 49000) < 1e-9);
    assert_int_equal(fx_result(&f, S6_RES_ACCEPTED, again->o.intent_id, NULL), 0);
    assert_true(fx_num(&f, "stop.confirmed") == 1);
    fx_teardown(&f);
}

static void failed_stop_retried_with_same_key(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    fx_call *first = fx_last(&f, S6_PURPOSE_STOP, false);
    fx_answer(&f, first, S6_ROUTE_FAILED);
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), 1); /* not at once */
    assert_int_equal(fx_tick(&f), 0);
    fx_call *retry = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_ptr_not_equal(retry, first);
    assert_string_equal(retry->o.intent_id, first->o.intent_id);
    fx_teardown(&f);
}

/* Without sl_px the first stop is the ATR stop when the feed gave an ATR
 * (2 ATRs from the entry), else the max-loss ROE price (25% of margin). */
static void first_stop_from_atr_or_max_loss(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    s6_market_update m = {.ts = f.now, .mark = 50000, .atr = 300,
                          .regime = -1, .health = NAN};
    assert_int_equal(s6_engine_on_market(f.e, "BTCUSDT", S6_MARKET_FUT, &m), 0);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 0), 0);
    assert_string_equal(fx_last(&f, S6_PURPOSE_STOP, false)->o.price_str,
                        "49400.0");
    fx_teardown(&f);

    fx_setup(&f, NO_TP);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 0), 0);
    /* margin 500: losing 125 is 1250 below the entry */
    assert_string_equal(fx_last(&f, S6_PURPOSE_STOP, false)->o.price_str,
                        "48750.0");
    fx_teardown(&f);
}

/* The first stop of a 10x position of 1 at 100 (tick 0.1) opened after a
 * feed update with this ATR (NaN: none) and this sl_px (0: none). */
static double first_stop_at_100(int side, double atr, double sl_px,
                                double *max_loss)
{
    fx f;
    fx_setup(&f, NO_TP);
    s6_market_update m = {.ts = f.now, .mark = 100, .atr = atr,
                          .regime = -1, .health = NAN};
    assert_int_equal(s6_engine_on_market(f.e, "BTCUSDT", S6_MARKET_FUT, &m), 0);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, side, 1, 100, 0, sl_px),
                     0);
    assert_true(fabs(fx_num(&f, "leverage") - 10) < 1e-9);
    /* the max-loss stop from the position's own books, rounded the way
     * every stop is (towards the entry) */
    *max_loss = s6_round_stop(
        side,
        s6_price_for_roe(side, fx_num(&f, "qty"), fx_num(&f, "entry"),
                         fx_num(&f, "margin"),
                         -f.cfg.risk.first_stop_max_loss_roe),
        0.1);
    fx_call *c = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_non_null(c);
    double px = c->o.stop_price;
    fx_teardown(&f);
    return px;
}

/* Design 4b: a high ATR cannot put the first stop beyond the configured
 * loss.  ATR 3.35 puts the ATR stop 6.7 from the entry, 67% of a 10x
 * margin; the max-loss stop (25%) is tighter and is the one placed. */
static void first_stop_capped_by_max_loss(void **st)
{
    (void)st;
    for (int side = -1; side <= 1; side += 2) {
        double ml;
        double px = first_stop_at_100(side, 3.35, 0, &ml);
        double atr_stop = s6_atr_stop(side, 100, 3.35, 2);
        assert_true(side * (ml - atr_stop) > 0); /* the cap is tighter */
        assert_true(fabs(ml - (100 - side * 2.5)) < 1e-9); /* 25% of 10 */
        assert_true(fabs(px - ml) < 1e-9);
    }
}

/* A low ATR keeps the ATR stop: it already risks less than the cap. */
static void first_stop_low_atr_kept(void **st)
{
    (void)st;
    for (int side = -1; side <= 1; side += 2) {
        double ml;
        double px = first_stop_at_100(side, 0.5, 0, &ml);
        assert_true(fabs(px - (100 - side * 1.0)) < 1e-9);
        assert_true(side * (px - ml) > 0);
    }
}

/* The entry's sl_px wins on the protective side, even looser than the cap;
 * on the wrong side it is ignored and the capped stop is placed. */
static void first_stop_sl_px_wins_when_protective(void **st)
{
    (void)st;
    for (int side = -1; side <= 1; side += 2) {
        double ml;
        assert_true(fabs(first_stop_at_100(side, 3.35, 100 - side * 5, &ml) -
                         (100 - side * 5)) < 1e-9);
        double px = first_stop_at_100(side, 3.35, 100 + side * 1, &ml);
        assert_true(fabs(px - ml) < 1e-9);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_walks_both_steps),
        cmocka_unit_test(short_walks_both_steps),
        cmocka_unit_test(guard_when_never_confirmed),
        cmocka_unit_test(no_stop_the_mark_has_passed),
        cmocka_unit_test(rejected_move_keeps_old_stop),
        cmocka_unit_test(rejected_first_stop_guard_then_new_key),
        cmocka_unit_test(failed_stop_retried_with_same_key),
        cmocka_unit_test(first_stop_from_atr_or_max_loss),
        cmocka_unit_test(first_stop_capped_by_max_loss),
        cmocka_unit_test(first_stop_low_atr_kept),
        cmocka_unit_test(first_stop_sl_px_wins_when_protective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
