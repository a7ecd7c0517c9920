/* test_router.c — the S4 router over loopback HTTP against the S4 peer. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s4_fixture.h"

/* The body of the request that carried this key (requests sent together
 * may reach the peer in any order). */
static json_t *body_of(fx *f, const char *intent)
{
    for (size_t i = 0; s6_s4_peer_get(f->peer, i); i++) {
        const s6_s4_peer_rec *r = s6_s4_peer_get(f->peer, i);
        if (strcmp(r->idem_key, intent) != 0)
            continue;
        json_t *b = json_loads(r->body, 0, NULL);
        assert_non_null(b);
        return b;
    }
    fail_msg("no request with Idempotency-Key %s", intent);
    return NULL;
}

/* The done of intent says OK and names the order the peer holds. */
static void assert_taken(fx *f, const char *intent, const char *status)
{
    s6_s4_peer_order po;
    assert_int_equal(s6_s4_peer_find_order(f->peer, intent, &po), 0);
    char want[96];
    snprintf(want, sizeof want, "order_id=%s status=%s", po.order_id, status);
    const fx_done *d = fx_find(f, intent);
    assert_non_null(d);
    assert_int_equal(d->outcome, S6_ROUTE_OK);
    assert_string_equal(d->detail, want);
}

static void assert_field(json_t *b, const char *k, const char *want)
{
    const char *v = json_string_value(json_object_get(b, k));
    if (!v || strcmp(v, want) != 0)
        fail_msg("field %s: got %s, want %s", k, v ? v : "(none)", want);
}

/* The body is the contract's, decimals are the engine's exact strings. */
static void body_fields_and_decimals(void **state)
{
    fx *f = *state;
    s6_order o;
    fx_order(&o, "p1-sl-1", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    snprintf(o.plan_id, sizeof o.plan_id, "pl-9");
    assert_int_equal(fx_submit(f, &o), 0);
    s6_order m;
    fx_order(&m, "p1-tp-2", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    m.side = 1;
    snprintf(m.qty_str, sizeof m.qty_str, "0.1230");
    assert_int_equal(fx_submit(f, &m), 0);
    assert_int_equal(f->n_done, 0); /* nothing inside the calls */
    fx_wait_done(f, 2, 5000);

    json_t *b = body_of(f, "p1-sl-1");
    assert_field(b, "intent_id", "p1-sl-1");
    assert_field(b, "pos_id", "p1");
    assert_field(b, "symbol", "BTCUSDT");
    assert_field(b, "market", "FUT");
    assert_field(b, "side", "SELL");
    assert_field(b, "type", "STOP_MARKET");
    assert_field(b, "quantity", "0.010");
    assert_field(b, "stop_price", "63000.0");
    assert_field(b, "working_type", "MARK_PRICE");
    assert_field(b, "purpose", "sl");
    assert_field(b, "plan_id", "pl-9");
    assert_true(json_is_true(json_object_get(b, "reduce_only")));
    json_decref(b);

    b = body_of(f, "p1-tp-2");
    assert_field(b, "type", "MARKET");
    assert_field(b, "side", "BUY");
    assert_field(b, "quantity", "0.1230");
    assert_field(b, "purpose", "tp");
    assert_null(json_object_get(b, "stop_price"));
    assert_null(json_object_get(b, "working_type"));
    assert_null(json_object_get(b, "plan_id"));
    json_decref(b);

    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 2);
    assert_taken(f, "p1-sl-1", "NEW");
    assert_taken(f, "p1-tp-2", "FILLED");
}

/* A 4xx is final: one request, REJECTED with S4's code and message, and
 * the error logged with the intent, position, symbol and status. */
static void rejection_is_final(void **state)
{
    fx *f = *state;
    s6_s4_peer_rule r = { .mode = S6_S4P_REJECT, .status = 409,
                          .code = "insufficient_balance" };
    assert_int_equal(s6_s4_peer_rule_intent(f->peer, "p1-add-3", &r), 0);
    fx_send(f, "p1-add-3", "ETHUSDT", S6_PURPOSE_ADD, S6_ORDER_MARKET);
    fx_wait_done(f, 1, 5000);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_REJECTED);
    assert_string_equal(f->done[0].detail,
                        "insufficient_balance: refused by the test");
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 1);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 0);
    assert_non_null(f->log_text);
    const char *line = strstr(f->log_text, "\"msg\":\"s4 error\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "\"intent_id\":\"p1-add-3\""));
    assert_non_null(strstr(line, "\"pos_id\":\"p1\""));
    assert_non_null(strstr(line, "\"symbol\":\"ETHUSDT\""));
    assert_non_null(strstr(line, "\"status\":409"));

    s6_s4_router_stats st;
    s6_s4_router_get_stats(f->router, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.ok + st.failed, 0);
}

/* 5xx twice, then an answer: OK after three sends, each with the same key
 * and the same bytes. */
static void server_errors_then_success(void **state)
{
    fx *f = *state;
    s6_s4_peer_rule r = { .mode = S6_S4P_FAIL, .status = 502, .times = 2 };
    assert_int_equal(s6_s4_peer_rule_path(f->peer, "/orders", &r), 0);
    fx_send(f, "p1-cl-4", "BTCUSDT", S6_PURPOSE_CLOSE, S6_ORDER_MARKET);
    fx_wait_done(f, 1, 5000);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_OK);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 3);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 1);
    const s6_s4_peer_rec *first = s6_s4_peer_get(f->peer, 0);
    for (size_t i = 0; i < 3; i++) {
        const s6_s4_peer_rec *rec = s6_s4_peer_get(f->peer, i);
        assert_string_equal(rec->idem_key, "p1-cl-4");
        assert_string_equal(rec->body, first->body);
    }
    assert_int_equal(s6_s4_peer_get(f->peer, 2)->status, 201);
}

/* No answer at all: every attempt times out, then FAILED; S4 (which did
 * take the order) holds exactly one. */
static void stall_fails_after_retries(void **state)
{
    fx *f = *state;
    s6_s4_peer_rule r = { .mode = S6_S4P_STALL };
    assert_int_equal(s6_s4_peer_rule_path(f->peer, "/orders", &r), 0);
    fx_send(f, "p1-sl-5", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    fx_wait_done(f, 1, 10000);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_FAILED);
    assert_non_null(strstr(f->done[0].detail, "timeout after 4 attempt(s)"));
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 4);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 1);
    s6_s4_peer_order po;
    assert_int_equal(s6_s4_peer_find_order(f->peer, "p1-sl-5", &po), 0);
    assert_int_equal(po.requests, 4);
}

/* The answer is lost once: the resend gets the order S4 already holds. */
static void lost_answer_resend_is_deduplicated(void **state)
{
    fx *f = *state;
    s6_s4_peer_rule r = { .mode = S6_S4P_STALL, .times = 1 };
    assert_int_equal(s6_s4_peer_rule_intent(f->peer, "p1-tp-6", &r), 0);
    fx_send(f, "p1-tp-6", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_wait_done(f, 1, 5000);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_OK);
    assert_taken(f, "p1-tp-6", "FILLED");
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 2);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 1);
    assert_int_equal(s6_s4_peer_get(f->peer, 1)->status, 200); /* a repeat */
}

/* The engine sending the same intent again (a restart) makes no second
 * order. */
static void repeated_intent_is_one_order(void **state)
{
    fx *f = *state;
    fx_send(f, "p1-add-7", "BTCUSDT", S6_PURPOSE_ADD, S6_ORDER_MARKET);
    fx_wait_done(f, 1, 5000);
    fx_send(f, "p1-add-7", "BTCUSDT", S6_PURPOSE_ADD, S6_ORDER_MARKET);
    fx_wait_done(f, 2, 5000);
    assert_string_equal(f->done[0].detail, f->done[1].detail);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 2);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 1);
}

static void cancel_outcomes(void **state)
{
    fx *f = *state;
    fx_send(f, "p1-sl-8", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    fx_wait_done(f, 1, 5000);
    assert_int_equal(fx_cancel(f, "p1-sl-8", "BTCUSDT"), 0);
    fx_wait_done(f, 2, 5000);
    assert_int_equal(f->done[1].outcome, S6_ROUTE_OK);
    assert_string_equal(f->done[1].detail, "canceled");
    /* Already gone: 404 unknown_order counts as done. */
    assert_int_equal(fx_cancel(f, "p1-sl-8", "BTCUSDT"), 0);
    fx_wait_done(f, 3, 5000);
    assert_int_equal(f->done[2].outcome, S6_ROUTE_OK);
    assert_string_equal(f->done[2].detail, "already gone");
    s6_s4_peer_order po;
    assert_int_equal(s6_s4_peer_find_order(f->peer, "p1-sl-8", &po), 0);
    assert_string_equal(po.state, "CANCELED");
    /* Another 4xx on a cancel is a rejection. */
    s6_s4_peer_rule r = { .mode = S6_S4P_REJECT, .code = "bad_symbol" };
    assert_int_equal(s6_s4_peer_rule_path(f->peer, "/cancel", &r), 0);
    assert_int_equal(fx_cancel(f, "p1-sl-9", "BTCUSDT"), 0);
    fx_wait_done(f, 4, 5000);
    assert_int_equal(f->done[3].outcome, S6_ROUTE_REJECTED);
    assert_string_equal(f->done[3].detail, "bad_symbol: refused by the test");
    const s6_s4_peer_rec *c = s6_s4_peer_get(f->peer, 1);
    assert_string_equal(c->path, "/cancel");
    assert_string_equal(c->body,
        "{\"intent_id\":\"p1-sl-8\",\"symbol\":\"BTCUSDT\",\"market\":\"FUT\"}");
    assert_string_equal(c->idem_key, "p1-sl-8");
    assert_non_null(strstr(f->log_text, "\"pos_id\":\"p1\""));
}

/* Nothing unfit reaches S4: each bad field is refused up front, and no
 * completion ever runs for a refused call. */
static void bad_orders_are_refused(void **state)
{
    fx *f = *state;
    s6_order o;
    const char *bad_qty[] = { "", "0", "0.000", "-1", "1e3", ".5", "5.",
                              "1.2.3", "0x10", " 1" };
    for (size_t i = 0; i < sizeof bad_qty / sizeof bad_qty[0]; i++) {
        fx_order(&o, "p1-tp-10", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
        snprintf(o.qty_str, sizeof o.qty_str, "%s", bad_qty[i]);
        assert_int_equal(fx_submit(f, &o), -EINVAL);
    }
    fx_order(&o, "", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    assert_int_equal(fx_submit(f, &o), -EINVAL); /* no idempotency key */
    fx_order(&o, "p1 sl\r\nX: y", "BTCUSDT", S6_PURPOSE_STOP,
             S6_ORDER_STOP_MARKET);
    assert_int_equal(fx_submit(f, &o), -EINVAL);
    fx_order(&o, "p1-sl-11", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    o.price_str[0] = '\0';
    assert_int_equal(fx_submit(f, &o), -EINVAL);
    fx_order(&o, "p1-sl-11", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    o.market = 7;
    assert_int_equal(fx_submit(f, &o), -EINVAL);
    fx_order(&o, "p1-sl-11", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    o.side = 0;
    assert_int_equal(fx_submit(f, &o), -EINVAL);
    fx_order(&o, "p1-sl-11", "BTCUSDT", 0, S6_ORDER_STOP_MARKET);
    assert_int_equal(fx_submit(f, &o), -EINVAL);
    assert_int_equal(fx_cancel(f, "", "BTCUSDT"), -EINVAL);
    assert_int_equal(fx_cancel(f, "p1-sl-11", ""), -EINVAL);
    assert_non_null(strstr(f->log_text, "\"field\":\"qty_str\""));
    assert_non_null(strstr(f->log_text, "\"field\":\"price_str\""));
    /* One good order afterwards is the only one S4 ever sees. */
    fx_send(f, "p1-sl-12", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    fx_wait_done(f, 1, 5000);
    assert_int_equal(f->n_done, 1);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 1);
}

/* Round trips and errors reach the catalogue's metrics. */
static void metrics_count_requests_and_errors(void **state)
{
    fx *f = *state;
    s6_s4_peer_rule r = { .mode = S6_S4P_REJECT };
    assert_int_equal(s6_s4_peer_rule_intent(f->peer, "p1-tp-14", &r), 0);
    fx_send(f, "p1-tp-13", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_send(f, "p1-tp-14", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_wait_done(f, 2, 5000);
    s6_hist *h;
    assert_int_equal(s6_hist_get(f->metrics, "s6_s4_request_seconds", 1,
                                 S6_LABELS("orders"), &h), 0);
    assert_int_equal(s6_hist_count(h), 2);
    s6_counter *c;
    assert_int_equal(s6_counter_get(f->metrics, "s6_s4_request_errors_total",
                                    2, S6_LABELS("orders", "http_4xx"), &c), 0);
    assert_true(s6_counter_value(c) == 1);
}

/* Freeing the router ends what is queued and in flight, each once. */
static void free_fails_everything_pending(void **state)
{
    fx *f = *state;
    s6_s4_peer_rule r = { .mode = S6_S4P_STALL };
    assert_int_equal(s6_s4_peer_rule_path(f->peer, "/orders", &r), 0);
    fx_send(f, "p1-sl-15", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    assert_int_equal(s6_s4_peer_run_until(f->peer, &f->loop, S6_S4P_REQUESTS,
                                          1, 5000), 0);
    s6_s4_router_stats st;
    s6_s4_router_get_stats(f->router, &st);
    assert_int_equal(st.in_flight, 1);
    s6_s4_router_free(f->router);
    f->router = NULL;
    assert_int_equal(f->n_done, 1);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_FAILED);
}

static void stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static bool one_order_request(void *ud)
{
    fx *f = ud;
    return s6_s4_peer_count(f->peer, S6_S4P_REQUESTS) >= 1;
}

/* An add-on cancelled while its order waits between retries (its position
 * closed): no further attempt reaches S4, the order ends FAILED and the
 * cancel goes after it.  Before, the retry landed after the cancel and
 * opened a position nobody managed. */
static void cancel_stops_the_retries_of_its_order(void **state)
{
    fx *f = *state;
    fx_stop(f);
    fx_start(f, "{\"rate_per_symbol_per_s\":1000,\"rate_total_per_s\":1000,"
                "\"retry_initial_ms\":300,\"retry_max_ms\":300,"
                "\"retry_max_attempts\":3}");
    s6_s4_peer_rule r = { .mode = S6_S4P_FAIL, .status = 503 };
    assert_int_equal(s6_s4_peer_rule_path(f->peer, "/orders", &r), 0);
    s6_order o;
    fx_order(&o, "p1-ad-3", "BTCUSDT", S6_PURPOSE_ADD, S6_ORDER_MARKET);
    o.reduce_only = false;
    assert_int_equal(fx_submit(f, &o), 0);
    fx_run_until(f, one_order_request, f, 5000);
    assert_int_equal(s6_s4_peer_rule_path(f->peer, "/orders", NULL), 0);
    assert_int_equal(fx_cancel(f, "p1-ad-3", "BTCUSDT"), 0);
    fx_wait_done(f, 2, 5000);
    assert_int_equal(fx_find(f, "p1-ad-3")->outcome, S6_ROUTE_FAILED);
    assert_int_equal(f->done[1].outcome, S6_ROUTE_OK);
    /* the retry S4 would have taken never came */
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    uv_timer_start(&t, stop_loop, 700, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 0);
    assert_false(f->done_in_call);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(body_fields_and_decimals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rejection_is_final, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(server_errors_then_success, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(stall_fails_after_retries, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(lost_answer_resend_is_deduplicated, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(repeated_intent_is_one_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(cancel_outcomes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_orders_are_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(metrics_count_requests_and_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(free_fails_everything_pending, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(cancel_stops_the_retries_of_its_order, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
