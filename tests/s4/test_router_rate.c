/* test_router_rate.c — the router's rate limits and queue order, against
 * the S4 peer.  The buckets read a fake clock: the test moves it one token
 * at a time and counts what was sent, so neither a slow machine nor the
 * order in which parallel connections reach the peer can change a result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "s4_fixture.h"

static fx *start(const char *sym_rate, const char *total_rate)
{
    char orders[256];
    snprintf(orders, sizeof orders,
             "{\"rate_per_symbol_per_s\":%s,\"rate_total_per_s\":%s," FX_RETRIES
             "}", sym_rate, total_rate);
    fx *f = calloc(1, sizeof *f);
    fx_start(f, orders);
    return f;
}

static void stop(fx *f)
{
    fx_stop(f);
    free(f);
}

/* n orders "<prefix>-<i>" for i in 0..n-1. */
static void submit_n(fx *f, const char *prefix, const char *symbol,
                     int purpose, int n)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        fx_send(f, id, symbol, purpose, S6_ORDER_MARKET);
    }
}

static void stats(fx *f, size_t sent, size_t queued)
{
    s6_s4_router_stats st;
    s6_s4_router_get_stats(f->router, &st);
    assert_int_equal(st.sent, sent);
    assert_int_equal(st.queued, queued);
}

/* The intent of the i-th request the peer received. */
static const char *intent_at(fx *f, size_t i)
{
    static char buf[64];
    const s6_s4_peer_rec *r = s6_s4_peer_get(f->peer, i);
    assert_non_null(r);
    json_t *b = json_loads(r->body, 0, NULL);
    snprintf(buf, sizeof buf, "%s",
             json_string_value(json_object_get(b, "intent_id")));
    json_decref(b);
    return buf;
}

typedef struct fake_clock {
    double t;
} fake_clock;

static double fake_now(void *ud) { return ((fake_clock *)ud)->t; }

static fx *start_fake(const char *sym_rate, const char *total_rate,
                      fake_clock *c)
{
    fx *f = start(sym_rate, total_rate);
    c->t = 0;
    s6_s4_router_set_clock(f->router, fake_now, c);
    return f;
}

/* Moves the clock by dt; once n requests in all are answered, exactly n
 * must have been sent.  (A hair over a token's time: sums of 0.2 are not
 * exact in binary.) */
static void advance(fx *f, fake_clock *c, double dt, size_t n)
{
    c->t += dt;
    fx_wait_done(f, n, 5000);
    s6_s4_router_stats st;
    s6_s4_router_get_stats(f->router, &st);
    assert_int_equal(st.sent, n);
}

/* 5/s per symbol: five go at once, then one per token, in submission
 * order; another symbol is not held up; idle time earns at most a burst. */
static void per_symbol_rate_is_fifo(void **state)
{
    (void)state;
    fake_clock c;
    fx *f = start_fake("5", "1000", &c);
    submit_n(f, "b-tp", "BTCUSDT", S6_PURPOSE_TP, 12);
    stats(f, 5, 7);
    submit_n(f, "e-tp", "ETHUSDT", S6_PURPOSE_TP, 3);
    stats(f, 8, 7);
    advance(f, &c, 0, 8); /* the answers come, the clock stands: no more */
    char id[32];
    for (size_t k = 5; k < 12; k++) {
        advance(f, &c, 0.2001, 8 + k - 4);
        snprintf(id, sizeof id, "b-tp-%zu", k);
        assert_string_equal(intent_at(f, 8 + k - 5), id);
    }
    stats(f, 15, 0);
    submit_n(f, "c-tp", "BTCUSDT", S6_PURPOSE_TP, 20);
    stats(f, 15, 20);
    s6_gauge *g;
    assert_int_equal(s6_gauge_get(f->metrics, "s6_s4_queued_orders", 0, NULL,
                                  &g), 0);
    assert_true(s6_gauge_value(g) == 20);
    advance(f, &c, 1.0, 20); /* one second: 5 */
    advance(f, &c, 10.0, 25); /* ten idle seconds: still one burst */
    stats(f, 25, 10);
    assert_true(s6_gauge_value(g) == 10);
    for (size_t i = 0; i < f->n_done; i++)
        assert_int_equal(f->done[i].outcome, S6_ROUTE_OK);
    stop(f);
}

/* 3/s overall: three symbols go, the others wait their turn in order. */
static void total_rate_holds_across_symbols(void **state)
{
    (void)state;
    fake_clock c;
    fx *f = start_fake("3", "3", &c);
    const char *syms[] = { "AUSDT", "BUSDT", "CUSDT", "DUSDT", "EUSDT",
                           "FUSDT" };
    char id[32];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "x-cl-%d", i);
        fx_send(f, id, syms[i], S6_PURPOSE_CLOSE, S6_ORDER_MARKET);
    }
    stats(f, 3, 3);
    advance(f, &c, 0, 3);
    for (size_t i = 3; i < 6; i++) {
        advance(f, &c, 0.3334, i + 1);
        snprintf(id, sizeof id, "x-cl-%zu", i);
        assert_string_equal(intent_at(f, i), id);
    }
    stop(f);
}

/* Stops, closes and cancels overtake queued take-profits, add-ons and
 * hedges; each class keeps its own order. */
static void protective_orders_go_first(void **state)
{
    (void)state;
    fake_clock c;
    fx *f = start_fake("5", "1000", &c);
    submit_n(f, "p-tp", "BTCUSDT", S6_PURPOSE_TP, 5);
    fx_send(f, "p-tp-5", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_send(f, "p-add-6", "BTCUSDT", S6_PURPOSE_ADD, S6_ORDER_MARKET);
    fx_send(f, "p-sl-7", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    fx_send(f, "p-hg-8", "BTCUSDT", S6_PURPOSE_HEDGE, S6_ORDER_MARKET);
    fx_send(f, "p-cl-9", "BTCUSDT", S6_PURPOSE_CLOSE, S6_ORDER_MARKET);
    assert_int_equal(fx_cancel(f, "p-sl-0", "BTCUSDT"), 0);
    stats(f, 5, 6);
    advance(f, &c, 0, 5);
    const char *want[] = { "p-sl-7", "p-cl-9", "p-sl-0", "p-tp-5", "p-add-6",
                           "p-hg-8" };
    for (size_t i = 0; i < 6; i++) {
        advance(f, &c, 0.2001, 6 + i);
        assert_string_equal(intent_at(f, 5 + i), want[i]);
    }
    assert_string_equal(s6_s4_peer_get(f->peer, 7)->path, "/cancel");
    stop(f);
}

/* Nothing is dropped however deep the queue. */
static void deep_queue_drains_completely(void **state)
{
    (void)state;
    fx *f = start("50", "50");
    submit_n(f, "q-tp", "BTCUSDT", S6_PURPOSE_TP, 60);
    stats(f, 50, 10);
    fx_wait_done(f, 60, 10000);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_ORDERS), 60);
    stop(f);
}

/* A hot reload that raises the rate speeds up what is already queued. */
static void reconfigure_applies_to_the_queue(void **state)
{
    (void)state;
    fx *f = start("1", "1000");
    submit_n(f, "r-tp", "BTCUSDT", S6_PURPOSE_TP, 10);
    stats(f, 1, 9);
    s6_config fast;
    s6_config_error e;
    char url[64], text[512];
    s6_s4_peer_url(f->peer, url, sizeof url);
    snprintf(text, sizeof text,
             "{\"services\":{\"s4_url\":\"%s\"},\"orders\":"
             "{\"rate_per_symbol_per_s\":1000,\"rate_total_per_s\":1000}}",
             url);
    assert_int_equal(s6_config_load_text(text, "t.json", &fast, &e), 0);
    char err[200];
    assert_int_equal(s6_s4_router_reconfigure(f->router, &fast, err,
                                              sizeof err), 0);
    /* At 1/s the rest would need 9 s. */
    fx_wait_done(f, 10, 3000);
    s6_s4_router_free(f->router); /* before its config goes */
    f->router = NULL;
    s6_config_free(&fast);
    stop(f);
}

/* A cancel of an order still queued sends neither: the order ends
 * REJECTED, the cancel OK, and S4 sees nothing of either. */
static void cancel_of_a_queued_order_sends_nothing(void **state)
{
    (void)state;
    fx *f = start("1", "1000");
    fx_send(f, "c-tp-0", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    fx_send(f, "c-tp-1", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    stats(f, 1, 1);
    assert_int_equal(fx_cancel(f, "c-tp-1", "BTCUSDT"), 0);
    stats(f, 1, 0);
    assert_int_equal(f->n_done, 0);
    fx_wait_done(f, 3, 5000);
    const fx_done *d = NULL;
    for (size_t i = 0; i < f->n_done; i++)
        if (strcmp(f->done[i].intent_id, "c-tp-1") == 0 &&
            f->done[i].outcome == S6_ROUTE_REJECTED)
            d = &f->done[i];
    assert_non_null(d);
    assert_string_equal(d->detail, "canceled before it was sent");
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 1);
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_CANCELS), 0);
    stop(f);
}

/* A cancel of an order whose answer is still awaited waits for it, and
 * the order is sent no more (a retry landing after the cancel would place
 * an order nobody tracks): the order ends FAILED, the cancel reaches S4
 * after the order's only send and finds the order resting. */
static void cancel_waits_for_its_order_in_flight(void **state)
{
    (void)state;
    fx *f = start("1000", "1000");
    s6_s4_peer_rule r = { .mode = S6_S4P_STALL, .times = 1 };
    assert_int_equal(s6_s4_peer_rule_intent(f->peer, "w-sl-1", &r), 0);
    fx_send(f, "w-sl-1", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    assert_int_equal(s6_s4_peer_run_until(f->peer, &f->loop, S6_S4P_REQUESTS,
                                          1, 5000), 0);
    assert_int_equal(fx_cancel(f, "w-sl-1", "BTCUSDT"), 0);
    fx_wait_done(f, 2, 5000);
    assert_false(f->done_in_call);
    assert_string_equal(f->done[0].intent_id, "w-sl-1");
    assert_int_equal(f->done[0].outcome, S6_ROUTE_FAILED); /* withdrawn */
    assert_int_equal(f->done[1].outcome, S6_ROUTE_OK);
    assert_string_equal(f->done[1].detail, "canceled");
    /* The stalled send, then the cancel; no resend. */
    assert_string_equal(s6_s4_peer_get(f->peer, 0)->path, "/orders");
    assert_string_equal(s6_s4_peer_get(f->peer, 1)->path, "/cancel");
    assert_int_equal(s6_s4_peer_count(f->peer, S6_S4P_REQUESTS), 1);
    s6_s4_peer_order po;
    assert_int_equal(s6_s4_peer_find_order(f->peer, "w-sl-1", &po), 0);
    assert_string_equal(po.state, "CANCELED");
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_symbol_rate_is_fifo),
        cmocka_unit_test(total_rate_holds_across_symbols),
        cmocka_unit_test(protective_orders_go_first),
        cmocka_unit_test(deep_queue_drains_completely),
        cmocka_unit_test(reconfigure_applies_to_the_queue),
        cmocka_unit_test(cancel_of_a_queued_order_sends_nothing),
        cmocka_unit_test(cancel_waits_for_its_order_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
