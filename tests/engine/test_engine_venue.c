/*
 * The engine against the venue (docs/engine.md "The venue's view and the
 * results", "Protection first", "Leftovers"): a view never overrides a
 * result the engine has applied or not yet read, an entry is never
 * silently merged, stops retry on the protection pass and at once when S4
 * answers again, risk waits while a position is bare, and nothing of a
 * closed position stays at the venue or in the quotas.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"

#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}," \
              "\"trailing_stop\":{\"base\":{\"steps\":[{\"roe\":5,\"lock_roe\":0}]}}}"

static const s6_venue_position LONG_01 = {
    .symbol = "BTCUSDT", .market = S6_MARKET_FUT, .side = 1, .qty = 0.1,
    .entry = 50000};

/* An ENTRY as ord:{results} carries it: a pos_id, a stream id, the
 * reservations and the entry's stop. */
static int entry(fx *f, const char *pos_id, const char *stream_id, double qty,
                 double budget, double sl_px)
{
    s6_order_result r;
    memset(&r, 0, sizeof r);
    r.kind = S6_RES_FILL;
    snprintf(r.result_id, sizeof r.result_id, "r-%u", ++f->rid);
    snprintf(r.intent_id, sizeof r.intent_id, "%s-en-1", pos_id);
    snprintf(r.pos_id, sizeof r.pos_id, "%s", pos_id);
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    snprintf(r.stream_id, sizeof r.stream_id, "%s", stream_id);
    r.market = S6_MARKET_FUT;
    r.ts = f->now;
    r.fill = (s6_fill){.kind = S6_FILL_ENTRY, .side = 1, .qty = qty,
                       .price = 50000, .ts = f->now};
    r.sl_px = sl_px;
    r.risk_reserved = budget;
    r.concurrency_reserved = 1;
    char err[160] = "";
    int rc = s6_engine_on_result(f->e, &r, err, sizeof err);
    if (rc == 0 && f->pos_id[0] == '\0')
        fx_follow(f);
    return rc;
}

static const char *state_of(fx *f)
{
    static char st[24];
    json_t *p = fx_pos(f);
    snprintf(st, sizeof st, "%s",
             p ? json_string_value(json_object_get(p, "state")) : "none");
    json_decref(p);
    return st;
}

static size_t open_positions(fx *f)
{
    json_t *a = s6_engine_positions_json(f->e);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

static void confirm_stop(fx *f)
{
    fx_call *c = fx_last(f, S6_PURPOSE_STOP, false);
    assert_non_null(c);
    if (!c->answered)
        fx_answer(f, c, S6_ROUTE_OK);
}

/* The engine on params, p1 open (0.1 or qty at 50000, stop 49000) and,
 * when confirm, its stop resting. */
static void open_p1(fx *f, const char *params, double qty, bool confirm)
{
    fx_setup(f, params);
    assert_int_equal(entry(f, "p1", "", qty, 500, 49000), 0);
    if (confirm)
        confirm_stop(f);
}

/* One add-on at ROE 5%, no interval. */
#define ONE_ADD "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5," \
                "\"entry\":1}]}},\"add_on\":{\"base\":{\"thresholds\":" \
                "[0.05],\"cap\":1,\"min_interval\":0,\"gamma\":0.5}}}"

/* A same-side signal at a price where the add-on rule asks, and the
 * quota's answer. */
static void ask_add(fx *f, double mark)
{
    assert_int_equal(fx_price(f, mark), 0);
    assert_int_equal(s6_engine_on_signal(f->e, "BTCUSDT", 1, 0.9, f->now), 0);
    s6_mem_state_pump(f->ms);
}

/* Failure 2: an entry filled between the two GETs (or after them): the
 * view says flat, but the engine applied a later result for the symbol. */
static void a_stale_view_closes_nothing(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(entry(&f, "p1", "1700-3", 0.1, 500, 49000), 0);
    confirm_stop(&f);
    size_t cancels = fx_count(&f, 0, true);
    s6_venue_view stale = {.as_of_positions = "1700-2",
                           .as_of_orders = "1700-5", .results_read = "1700-5"};
    assert_int_equal(s6_engine_reconcile(f.e, &stale), 0);
    assert_string_equal(state_of(&f), "ACTIVE");
    assert_int_equal(fx_count(&f, 0, true), cancels);
    assert_int_equal(s6_mem_state_releases(f.ms, "p1"), 0);
    /* a view after the entry that still says flat is the truth */
    s6_venue_view fresh = {.as_of_positions = "1700-4",
                           .as_of_orders = "1700-4", .results_read = "1700-5"};
    assert_int_equal(s6_engine_reconcile(f.e, &fresh), 0);
    assert_string_equal(state_of(&f), "CLOSED");
    fx_teardown(&f);
}

/* Failure 1: a view S4 took after results the consumer has not read yet
 * is not used at all: nothing adopted under a new id. */
static void a_view_ahead_of_the_results_is_not_used(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    s6_venue_view ahead = {.positions = &LONG_01, .n_positions = 1,
                           .as_of_positions = "1700-9",
                           .as_of_orders = "1700-9",
                           .results_read = "1700-8"};
    assert_int_equal(s6_engine_reconcile(f.e, &ahead), S6_ENOTREADY);
    assert_int_equal(open_positions(&f), 0);
    assert_int_equal(fx_events(&f, "ADOPTED"), 0);
    /* the consumer reads the entry, the view is asked again: one position,
     * the entry's, with its stop and its reservation */
    assert_int_equal(entry(&f, "p1", "1700-9", 0.1, 500, 49500), 0);
    ahead.results_read = "1700-9";
    assert_int_equal(s6_engine_reconcile(f.e, &ahead), 0);
    assert_int_equal(open_positions(&f), 1);
    assert_string_equal(f.pos_id, "p1");
    assert_true(fabs(fx_num(&f, "qty") - 0.1) < 1e-12);
    assert_true(fabs(fx_last(&f, S6_PURPOSE_STOP, false)->o.stop_price -
                     49500) < 1e-9);
    fx_teardown(&f);
}

/* Without as_of: a quiet period since the symbol's last result, and two
 * views in a row that agree, before a view closes anything. */
static void without_as_of_two_quiet_views_are_needed(void **st)
{
    (void)st;
    fx f;
    open_p1(&f, NO_TP, 0.1, true);
    s6_venue_view flat = {0};
    assert_int_equal(s6_engine_reconcile(f.e, &flat), 0);
    assert_string_equal(state_of(&f), "ACTIVE"); /* not quiet yet */
    f.now += 10;
    assert_int_equal(s6_engine_reconcile(f.e, &flat), 0);
    assert_string_equal(state_of(&f), "ACTIVE"); /* one view */
    assert_int_equal(s6_engine_reconcile(f.e, &flat), 0);
    assert_string_equal(state_of(&f), "CLOSED"); /* two agree */
    fx_teardown(&f);
}

/* Failure 1: adopted from a view, then its own ENTRY is read: the
 * quantity stays the venue's (not merged to twice it), the entry's tighter
 * stop and its reservation are taken over and released at close.  With
 * restart, the engine is restarted between the two: that the position
 * waits for its own ENTRY is in its record. */
static void adopted_then_its_entry(bool restart)
{
    fx f;
    fx_setup(&f, NO_TP);
    double free0 = s6_mem_state_budget_free(f.ms);
    s6_venue_view v = {.positions = &LONG_01, .n_positions = 1};
    assert_int_equal(s6_engine_reconcile(f.e, &v), 0);
    assert_int_equal(fx_events(&f, "ADOPTED"), 1);
    fx_follow(&f);
    double loose = fx_last(&f, S6_PURPOSE_STOP, false)->o.stop_price;
    confirm_stop(&f);
    if (restart)
        fx_restart(&f);
    assert_int_equal(entry(&f, "up1", "", 0.1, 500, 49800), 0);
    assert_true(fabs(fx_num(&f, "qty") - 0.1) < 1e-12); /* not doubled */
    assert_int_equal(fx_events(&f, "ADOPTED_ENTRY"), 1);
    assert_int_equal(fx_events(&f, "ENTRY_MERGED"), 0);
    fx_call *tight = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_true(tight->o.stop_price > loose);
    assert_true(fabs(tight->o.stop_price - 49800) < 1e-9);
    fx_answer(&f, tight, S6_ROUTE_OK);
    /* the stop fills: closed, the entry's reservation given back */
    assert_int_equal(fx_fill(&f, tight->o.intent_id, S6_FILL_STOP, -1, 0.1,
                             49800, 0, 0), 0);
    assert_string_equal(state_of(&f), "CLOSED");
    assert_true(fabs(s6_mem_state_budget_free(f.ms) - free0 - 500) < 1e-9);
    fx_teardown(&f);
}

static void an_adopted_position_takes_its_entry_over(void **st)
{
    (void)st;
    adopted_then_its_entry(false);
}

static void an_adopted_position_waits_for_its_entry_across_a_restart(void **st)
{
    (void)st;
    adopted_then_its_entry(true);
}

/* Failure 7: a second ENTRY with its own pos_id on a symbol with an open
 * position (one-way mode) is merged, both ids in the event and both
 * reservations recorded and released once at close. */
static void a_second_entry_is_merged_with_both_reservations(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    double free0 = s6_mem_state_budget_free(f.ms);
    int slots0 = s6_mem_state_concurrency_free(f.ms);
    assert_int_equal(entry(&f, "p1", "", 0.1, 500, 49000), 0);
    confirm_stop(&f);
    assert_int_equal(entry(&f, "p2", "", 0.05, 250, 49000), 0);
    assert_int_equal(fx_events(&f, "ENTRY_MERGED"), 1);
    assert_int_equal(open_positions(&f), 1);
    assert_true(fabs(fx_num(&f, "qty") - 0.15) < 1e-12);
    confirm_stop(&f); /* resized to 0.15 */
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_int_equal(fx_fill(&f, sl->o.intent_id, S6_FILL_STOP, -1, 0.15,
                             49000, 0, 0), 0);
    assert_string_equal(state_of(&f), "CLOSED");
    assert_true(fabs(s6_mem_state_budget_free(f.ms) - free0 - 750) < 1e-9);
    assert_int_equal(s6_mem_state_concurrency_free(f.ms) - slots0, 2);
    assert_int_equal(s6_mem_state_releases(f.ms, "p1"), 1);
    fx_teardown(&f);
}

/* Failure 3: a stop that fails is sent again on every protection pass,
 * never backed off, and at once when S4 answers anything again. */
static void a_failing_stop_retries_without_backoff(void **st)
{
    (void)st;
    fx f;
    open_p1(&f, NO_TP, 0.1, false);
    for (int i = 0; i < 6; i++) {
        fx_call *c = fx_last(&f, S6_PURPOSE_STOP, false);
        assert_false(c->answered);
        fx_answer(&f, c, S6_ROUTE_FAILED);
        size_t before = fx_count(&f, S6_PURPOSE_STOP, false);
        assert_int_equal(s6_engine_protect(f.e), 0);
        assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), before + 1);
    }
    /* S4 answers a cancel of another order: the stop goes at once */
    fx_answer(&f, fx_last(&f, S6_PURPOSE_STOP, false), S6_ROUTE_FAILED);
    size_t before = fx_count(&f, S6_PURPOSE_STOP, false);
    s6_venue_order orphan = {.intent_id = "old9-sl-2", .symbol = "BTCUSDT",
                             .market = S6_MARKET_FUT,
                             .type = S6_ORDER_STOP_MARKET, .side = -1,
                             .qty = 0.1, .stop_price = 40000};
    s6_venue_view v = {.positions = &LONG_01, .n_positions = 1,
                       .orders = &orphan, .n_orders = 1,
                       .as_of_positions = "1-0", .as_of_orders = "1-0"};
    assert_int_equal(s6_engine_reconcile(f.e, &v), 0);
    fx_answer(&f, fx_find(&f, "old9-sl-2", true), S6_ROUTE_OK);
    assert_int_equal(fx_count(&f, S6_PURPOSE_STOP, false), before + 1);
    confirm_stop(&f);
    fx_teardown(&f);
}

/* Failure 3: while the symbol's position has no confirmed stop an add
 * waits; it goes once the stop is confirmed. */
static void an_add_waits_for_the_stop(void **st)
{
    (void)st;
    fx f;
    open_p1(&f, ONE_ADD, 0.2, false);
    ask_add(&f, 50300);
    assert_int_equal(fx_count(&f, S6_PURPOSE_ADD, false), 0);
    assert_true(fx_events(&f, "BLOCKED_UNPROTECTED") >= 1);
    confirm_stop(&f);
    f.now += 1;
    ask_add(&f, 50310);
    assert_int_equal(fx_count(&f, S6_PURPOSE_ADD, false), 1);
    fx_teardown(&f);
}

/* Failure 5: the stop of a closed position whose cancel failed is
 * cancelled again until S4 says it is gone. */
/* p1 with its stop resting, then closed by hand at the venue (the fill
 * names no intent of ours): the stop's key into sl, its cancel out. */
static void closed_by_hand(fx *f, char sl[S6_INTENT_ID_MAX + 1])
{
    open_p1(f, NO_TP, 0.1, true);
    snprintf(sl, S6_INTENT_ID_MAX + 1, "%s",
             fx_last(f, S6_PURPOSE_STOP, false)->o.intent_id);
    assert_int_equal(fx_fill(f, "desk-1", S6_FILL_MANUAL, -1, 0.1, 50100, 0,
                             0), 0);
    assert_string_equal(state_of(f), "CLOSED");
}

static void a_failed_cancel_is_hunted(void **st)
{
    (void)st;
    fx f;
    char sl[S6_INTENT_ID_MAX + 1];
    closed_by_hand(&f, sl);
    for (int i = 0; i < 3; i++) {
        fx_call *c = fx_last(&f, 0, true);
        assert_non_null(c);
        assert_string_equal(c->o.intent_id, sl);
        assert_false(c->answered);
        fx_answer(&f, c, S6_ROUTE_FAILED);
        assert_int_equal(s6_engine_protect(f.e), 0);
    }
    size_t n = fx_count(&f, 0, true);
    fx_answer(&f, fx_last(&f, 0, true), S6_ROUTE_OK);
    assert_int_equal(s6_engine_protect(f.e), 0);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_count(&f, 0, true), n); /* gone: no more */
    fx_teardown(&f);
}

/* Leftovers are persisted: a stop whose cancel failed, then a restart,
 * is cancelled by the new engine until S4 confirms it gone, and a
 * confirmed one is not hunted after the next restart. */
static void a_leftover_is_hunted_after_a_restart(void **st)
{
    (void)st;
    fx f;
    char sl[S6_INTENT_ID_MAX + 1];
    closed_by_hand(&f, sl);
    fx_answer(&f, fx_last(&f, 0, true), S6_ROUTE_FAILED);
    fx_restart(&f);
    assert_int_equal(fx_count(&f, 0, true), 0);
    assert_int_equal(s6_engine_protect(f.e), 0);
    fx_call *c = fx_last(&f, 0, true);
    assert_non_null(c);
    assert_string_equal(c->o.intent_id, sl);
    /* failing again after the restart: still hunted */
    fx_answer(&f, c, S6_ROUTE_FAILED);
    assert_int_equal(s6_engine_protect(f.e), 0);
    assert_int_equal(fx_count(&f, 0, true), 2);
    /* S4 confirms it gone: forgotten, also by the next restart */
    fx_answer(&f, fx_last(&f, 0, true), S6_ROUTE_OK);
    fx_restart(&f);
    assert_int_equal(s6_engine_protect(f.e), 0);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_count(&f, 0, true), 0);
    fx_teardown(&f);
}

/* Failure 6: an add still being retried when its position closes is
 * withdrawn (a cancel, since S4 may have it) and never sent again. */
static void a_close_withdraws_what_is_retrying(void **st)
{
    (void)st;
    fx f;
    open_p1(&f, ONE_ADD, 0.2, true);
    ask_add(&f, 50300);
    fx_call *add = fx_last(&f, S6_PURPOSE_ADD, false);
    assert_non_null(add);
    char intent[S6_INTENT_ID_MAX + 1];
    snprintf(intent, sizeof intent, "%s", add->o.intent_id);
    fx_answer(&f, add, S6_ROUTE_FAILED);
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_int_equal(fx_fill(&f, sl->o.intent_id, S6_FILL_STOP, -1, 0.2,
                             49000, 0, 0), 0);
    assert_string_equal(state_of(&f), "CLOSED");
    assert_non_null(fx_find(&f, intent, true)); /* withdrawn at S4 */
    for (int i = 0; i < 20; i++)
        assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_ADD, false), 1);
    assert_int_equal(fx_events(&f, "ORDER_WITHDRAWN"), 1);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_stale_view_closes_nothing),
        cmocka_unit_test(a_view_ahead_of_the_results_is_not_used),
        cmocka_unit_test(without_as_of_two_quiet_views_are_needed),
        cmocka_unit_test(an_adopted_position_takes_its_entry_over),
        cmocka_unit_test(an_adopted_position_waits_for_its_entry_across_a_restart),
        cmocka_unit_test(a_second_entry_is_merged_with_both_reservations),
        cmocka_unit_test(a_failing_stop_retries_without_backoff),
        cmocka_unit_test(an_add_waits_for_the_stop),
        cmocka_unit_test(a_failed_cancel_is_hunted),
        cmocka_unit_test(a_leftover_is_hunted_after_a_restart),
        cmocka_unit_test(a_close_withdraws_what_is_retrying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
