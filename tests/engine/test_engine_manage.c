/*
 * Manual actions through the same guard as the rules (dry run, loosening,
 * errors by field), the kill switch, the observer's notes, a failed order
 * retried with its key and given up after the cap, market-data hygiene.
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
#include "util/exact.h"
#include "metrics/metrics.h"

#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}}"

static void open_long(fx *f)
{
    assert_int_equal(fx_fill(f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000), 0);
    fx_answer_all(f, S6_ROUTE_OK);
    assert_int_equal(fx_price(f, 50100), 0);
}

static s6_manage_req req(const fx *f, int action)
{
    s6_manage_req q;
    memset(&q, 0, sizeof q);
    snprintf(q.position_id, sizeof q.position_id, "%s", f->pos_id);
    q.market = -1;
    q.action = action;
    snprintf(q.reason, sizeof q.reason, "desk");
    snprintf(q.request_id, sizeof q.request_id, "req-1");
    return q;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void stop_move_dry_run_then_real(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    open_long(&f);
    size_t calls = f.router.n, events = s6_mem_state_n_events(f.ms);
    s6_manage_req q = req(&f, S6_MANAGE_STOP_MOVE);
    q.new_stop_price = 49500;
    q.dry_run = true;
    json_t *out = NULL;
    s6_api_error err;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    json_t *plan = json_object_get(out, "plan");
    assert_true(json_is_null(json_object_get(plan, "plan_id")));
    assert_string_equal(str_at(out, "plan", "position_id"), f.pos_id);
    json_t *acts = json_object_get(plan, "actions");
    assert_int_equal(json_array_size(acts), 1);
    json_t *a = json_array_get(acts, 0);
    assert_string_equal(json_string_value(json_object_get(a, "action")), "STOP_MOVE");
    assert_true(s6_exact_value(json_object_get(a, "old_value")) == 49000);
    assert_true(s6_exact_value(json_object_get(a, "new_value")) == 49500);
    assert_string_equal(json_string_value(json_object_get(a, "reason")), "manual: desk");
    assert_int_equal(json_array_size(json_object_get(plan, "reduce")), 0);
    assert_int_equal(json_array_size(json_object_get(plan, "adds")), 0);
    json_t *orders = json_object_get(out, "orders");
    assert_int_equal(json_array_size(orders), 1);
    assert_true(json_is_null(json_object_get(json_array_get(orders, 0), "intent_id")));
    json_decref(out);
    assert_int_equal(f.router.n, calls); /* nothing sent */
    assert_int_equal(s6_mem_state_n_events(f.ms), events);

    q.dry_run = false;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    assert_true(json_is_string(json_object_get(json_object_get(out, "plan"), "plan_id")));
    json_t *o = json_array_get(json_object_get(out, "orders"), 0);
    fx_call *c = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_string_equal(json_string_value(json_object_get(o, "intent_id")),
                        c->o.intent_id);
    assert_string_equal(c->o.price_str, "49500.0");
    json_decref(out);
    assert_int_equal(fx_events(&f, "MANUAL"), 1);
    fx_teardown(&f);
}

static void loosen_only_when_asked(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    open_long(&f);
    s6_manage_req q = req(&f, S6_MANAGE_STOP_MOVE);
    q.new_stop_price = 48000;
    json_t *out = NULL;
    s6_api_error err;
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_null(out);
    assert_int_equal(err.status, 409);
    assert_string_equal(err.code, "rejected");
    assert_non_null(strstr(err.message, "stop_not_tighter"));
    q.loosen = true;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    json_decref(out);
    assert_true(fabs(fx_last(&f, S6_PURPOSE_STOP, false)->o.stop_price - 48000) < 1e-9);
    s6_buf_append(&f.logs, "", 1);
    assert_non_null(strstr(f.logs.data, "may loosen"));
    fx_teardown(&f);
}

static void errors_name_the_field(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    open_long(&f);
    json_t *out = NULL;
    s6_api_error err;
    s6_manage_req q = req(&f, S6_MANAGE_CLOSE);
    snprintf(q.position_id, sizeof q.position_id, "nope");
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_int_equal(err.status, 404);
    assert_string_equal(err.code, "unknown_position");
    q = req(&f, S6_MANAGE_CLOSE);
    snprintf(q.symbol, sizeof q.symbol, "ETHUSDT");
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.field, "symbol");
    q = req(&f, S6_MANAGE_TAKE_PROFIT);
    q.qty = 0.05;
    q.fraction = 0.5;
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_string_equal(err.field, "qty");
    q = req(&f, 42);
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_string_equal(err.field, "action");
    assert_null(out);
    /* a take-profit by fraction goes through */
    q = req(&f, S6_MANAGE_TAKE_PROFIT);
    q.fraction = 0.5;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    json_t *red = json_array_get(json_object_get(json_object_get(out, "plan"),
                                                 "reduce"), 0);
    assert_true(fabs(s6_exact_value(json_object_get(red, "qty")) - 0.05) < 1e-12);
    json_decref(out);
    assert_string_equal(fx_last(&f, S6_PURPOSE_TP, false)->o.qty_str, "0.050");
    fx_teardown(&f);
}

static bool block_tp_add(void *ud, const char *symbol, int purpose)
{
    (void)symbol;
    ++*(int *)ud;
    return purpose != S6_PURPOSE_STOP && purpose != S6_PURPOSE_CLOSE;
}

static void paused_only_protective_work(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":0.12,"
                 "\"fraction\":0.5}]}}}");
    open_long(&f);
    int asked = 0;
    s6_engine_set_pause(f.e, block_tp_add, &asked);
    json_t *out = NULL;
    s6_api_error err;
    s6_manage_req q = req(&f, S6_MANAGE_TAKE_PROFIT);
    q.qty = 0.05;
    assert_true(s6_engine_manage(f.e, &q, &out, &err) < 0);
    assert_int_equal(err.status, 423);
    /* ROE 13%: the ladder's TP is blocked, the trailing stop still moves */
    assert_int_equal(fx_price(&f, 50650), 0);
    assert_int_equal(fx_count(&f, S6_PURPOSE_TP, false), 0);
    assert_int_equal(fx_events(&f, "BLOCKED_PAUSED"), 1);
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_true(sl->o.stop_price > 50000);
    assert_true(asked > 0);
    /* the blocked rung is not spent: resumed, the ladder takes it */
    fx_answer_all(&f, S6_ROUTE_OK);
    s6_engine_set_pause(f.e, NULL, NULL);
    assert_int_equal(fx_price(&f, 50660), 0);
    fx_call *tp = fx_last(&f, S6_PURPOSE_TP, false);
    assert_non_null(tp);
    assert_string_equal(tp->o.qty_str, "0.050");
    fx_teardown(&f);
}

static void evaluate_dry_run_keeps_rule_state(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    open_long(&f);
    /* a held jump is not acted on: 50100 -> 53000 waits for a second */
    assert_int_equal(fx_price(&f, 53000), 0);
    s6_engine_status es;
    s6_engine_get_status(f.e, &es);
    assert_int_equal(es.jumps_held, 1);
    assert_true(fabs(fx_num(&f, "mark") - 50100) < 1e-9);
    /* stale data is dropped */
    s6_market_update old = {.ts = f.now - 6, .mark = 50520, .atr = NAN,
                            .regime = -1, .health = NAN};
    assert_int_equal(s6_engine_on_market(f.e, "BTCUSDT", S6_MARKET_FUT, &old), 0);
    s6_engine_get_status(f.e, &es);
    assert_int_equal(es.stale_dropped, 1);
    assert_true(fabs(fx_num(&f, "mark") - 50100) < 1e-9);
    /* EVALUATE, dry run: the stagnation rule's verdict comes back as a
     * plan, and neither the event nor the rule's flag is kept */
    f.now += 14401;
    assert_int_equal(fx_price(&f, 50050), 0); /* ROE 1% */
    s6_manage_req q = req(&f, S6_MANAGE_EVALUATE);
    q.dry_run = true;
    s6_api_error err;
    unsigned saves = s6_mem_state_saves(f.ms);
    for (int i = 0; i < 2; i++) {
        json_t *out = NULL;
        assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
        json_t *a = json_array_get(json_object_get(json_object_get(out, "plan"),
                                                   "actions"), 0);
        assert_non_null(a);
        assert_string_equal(json_string_value(json_object_get(a, "action")), "EVENT");
        assert_string_equal(json_string_value(json_object_get(a, "new_value")),
                            "STAGNATED");
        json_decref(out);
    }
    assert_int_equal(s6_mem_state_saves(f.ms), saves);
    assert_int_equal(fx_events(&f, "STAGNATED"), 0);
    /* for real: once, and then the rule has said it */
    q.dry_run = false;
    json_t *out = NULL;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    json_decref(out);
    assert_int_equal(fx_events(&f, "STAGNATED"), 1);
    q.dry_run = true;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(out, "plan"),
                                                     "actions")), 0);
    json_decref(out);
    fx_teardown(&f);
}

typedef struct notes {
    int n;
    int with_rule;
} notes;

static void on_note(void *ud, const s6_engine_note *n)
{
    notes *ns = ud;
    ns->n++;
    assert_non_null(n->type);
    assert_non_null(n->json);
    ns->with_rule += n->rule_version[0] != '\0';
}

static void observer_and_order_retries(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    notes ns = {0};
    s6_engine_observe(f.e, on_note, &ns);
    open_long(&f);
    assert_true((size_t)ns.n == s6_mem_state_n_events(f.ms)); /* one each */

    s6_manage_req q = req(&f, S6_MANAGE_TAKE_PROFIT);
    q.qty = 0.02;
    json_t *out = NULL;
    s6_api_error err;
    assert_int_equal(s6_engine_manage(f.e, &q, &out, &err), 0);
    json_decref(out);
    fx_call *tp = fx_last(&f, S6_PURPOSE_TP, false);
    char key[S6_INTENT_ID_MAX + 1];
    snprintf(key, sizeof key, "%s", tp->o.intent_id);
    /* FAILED: re-sent with the same key on later ticks, backing off, then
     * given up after the cap */
    fx_answer(&f, tp, S6_ROUTE_FAILED);
    int sends = 1;
    for (int t = 0; t < 40; t++) {
        assert_int_equal(fx_tick(&f), 0);
        fx_call *c = fx_last(&f, S6_PURPOSE_TP, false);
        if (!c->answered) {
            assert_string_equal(c->o.intent_id, key);
            sends++;
            fx_answer(&f, c, S6_ROUTE_FAILED);
        }
    }
    assert_int_equal(sends, 5);
    assert_int_equal(fx_events(&f, "ORDER_ABANDONED"), 1);
    assert_true(ns.n > 0 && (size_t)ns.n == s6_mem_state_n_events(f.ms));
    fx_teardown(&f);
}

static void metrics_collected(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    open_long(&f);
    assert_int_equal(s6_metrics_add_collector(f.metrics, s6_engine_collect, f.e), 0);
    s6_buf out = {0};
    assert_int_equal(s6_metrics_render(f.metrics, &out), 0);
    s6_buf_append(&out, "", 1);
    static const char *const want[] = {
        "s6_positions{state=\"ACTIVE\",market=\"FUT\",symbol=\"BTCUSDT\"} 1\n",
        "s6_positions{state=\"PENDING_CLOSING\",market=\"FUT\",symbol=\"BTCUSDT\"} 0\n",
        "s6_unrealized_pnl{market=\"FUT\",symbol=\"BTCUSDT\"} 10\n",
        "s6_risk_budget_reserved 500\n",
        "s6_concurrency_used 1\n",
        "s6_liquidation_distance_ratio_count 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(out.data, want[i]) == NULL)
            fail_msg("missing %s", want[i]);
    s6_buf_free(&out);
    /* closed: no longer counted, the budget back */
    assert_int_equal(fx_fill(&f, "", S6_FILL_MANUAL, -1, 0.1, 50100, 0, 0), 0);
    assert_int_equal(s6_metrics_render(f.metrics, &out), 0);
    s6_buf_append(&out, "", 1);
    assert_non_null(strstr(out.data, "s6_positions{state=\"ACTIVE\",market=\"FUT\",symbol=\"BTCUSDT\"} 0\n"));
    assert_non_null(strstr(out.data, "s6_risk_budget_reserved 0\n"));
    assert_non_null(strstr(out.data, "s6_realized_pnl{market=\"FUT\",symbol=\"BTCUSDT\"} 10\n"));
    s6_buf_free(&out);
    fx_teardown(&f);
}

static bool block_all_but_stops(void *ud, const char *symbol, int purpose)
{
    (void)ud;
    (void)symbol;
    return purpose != S6_PURPOSE_STOP;
}

/* The ladder's rung is the whole position (a close); while paused the
 * held close does not push the lock-in stop out of the plan. */
static void paused_close_leaves_the_stop_move(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NULL); /* the shipped ladder: ROE 12% closes entry 1 */
    open_long(&f);
    s6_engine_set_pause(f.e, block_all_but_stops, NULL);
    assert_int_equal(fx_price(&f, 50650), 0); /* ROE 13% */
    assert_int_equal(fx_count(&f, S6_PURPOSE_TP, false), 0);
    assert_true(fx_events(&f, "BLOCKED_PAUSED") >= 1);
    fx_call *sl = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_true(sl->o.stop_price > 50000);
    fx_answer_all(&f, S6_ROUTE_OK);
    s6_engine_set_pause(f.e, NULL, NULL);
    assert_int_equal(fx_price(&f, 50660), 0);
    /* the rung closes the whole position: a take-profit order, the
     * position PENDING_CLOSING */
    fx_call *tp = fx_last(&f, S6_PURPOSE_TP, false);
    assert_non_null(tp);
    assert_string_equal(tp->o.qty_str, "0.100");
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "PENDING_CLOSING");
    json_decref(p);
    /* refused: ACTIVE again */
    fx_answer(&f, tp, S6_ROUTE_REJECTED);
    p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")), "ACTIVE");
    json_decref(p);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stop_move_dry_run_then_real),
        cmocka_unit_test(loosen_only_when_asked),
        cmocka_unit_test(errors_name_the_field),
        cmocka_unit_test(paused_only_protective_work),
        cmocka_unit_test(paused_close_leaves_the_stop_move),
        cmocka_unit_test(evaluate_dry_run_keeps_rule_state),
        cmocka_unit_test(observer_and_order_retries),
        cmocka_unit_test(metrics_collected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
