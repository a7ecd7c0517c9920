/* test_venue.c — the venue view for reconciliation: strict parsing, and
 * the fetch over loopback HTTP against the S4 peer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "venue/s4/venue.h"
#include "s4_fixture.h"

static const char *const POSITIONS =
    "{\"positions\":["
    "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"side\":\"LONG\","
    "\"qty\":\"0.010\",\"entry_price\":\"64250.1\"},"
    "{\"symbol\":\"ETHUSDT\",\"market\":\"FUT\",\"side\":\"SHORT\","
    "\"qty\":\"1.5\",\"entry_price\":\"3100\",\"unrealized_pnl\":\"-3\","
    "\"margin\":\"232.55\"}]}";

static void parses_positions_and_orders(void **state)
{
    (void)state;
    s6_s4_venue v = { 0 };
    char err[200] = "";
    assert_int_equal(s6_s4_parse_positions(POSITIONS, &v, err, sizeof err), 0);
    assert_int_equal(v.n_positions, 2);
    assert_string_equal(v.positions[0].symbol, "BTCUSDT");
    assert_int_equal(v.positions[0].market, S6_MARKET_FUT);
    assert_int_equal(v.positions[0].side, 1);
    assert_true(v.positions[0].qty == 0.010);
    assert_true(v.positions[0].entry == 64250.1);
    assert_int_equal(v.positions[1].side, -1);
    assert_true(v.positions[0].margin == 0); /* not given */
    assert_true(v.positions[1].margin == 232.55);
    const char *orders =
        "{\"orders\":["
        "{\"intent_id\":\"p1-sl-3\",\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
        "\"type\":\"STOP_MARKET\",\"side\":\"SELL\",\"qty\":\"0.010\","
        "\"stop_price\":\"63000.0\"},"
        "{\"intent_id\":\"\",\"symbol\":\"ETHUSDT\",\"market\":\"SPOT\","
        "\"type\":\"MARKET\",\"side\":\"BUY\",\"qty\":\"2\"}]}";
    assert_int_equal(s6_s4_parse_open_orders(orders, &v, err, sizeof err), 0);
    assert_int_equal(v.n_orders, 2);
    assert_string_equal(v.orders[0].intent_id, "p1-sl-3");
    assert_int_equal(v.orders[0].type, S6_ORDER_STOP_MARKET);
    assert_int_equal(v.orders[0].side, -1);
    assert_true(v.orders[0].stop_price == 63000.0);
    assert_string_equal(v.orders[1].intent_id, ""); /* placed by hand */
    assert_int_equal(v.orders[1].market, S6_MARKET_SPOT);
    assert_true(v.orders[1].stop_price == 0);
    assert_int_equal(s6_s4_parse_positions("{\"positions\":[]}", &v, err,
                                           sizeof err), 0);
    assert_int_equal(v.n_positions, 0);
    s6_s4_venue_clear(&v);
}

#define POS(fields) "{\"positions\":[{" fields "}]}"
#define GOOD_POS "\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"side\":\"LONG\""
#define ORD(fields) "{\"orders\":[{" fields "}]}"
#define GOOD_ORD "\"intent_id\":\"p1-sl-3\",\"symbol\":\"BTCUSDT\"," \
                 "\"market\":\"FUT\",\"side\":\"SELL\""

static const struct {
    bool orders;
    const char *body;
    const char *err; /* a substring of the error */
} MALFORMED[] = {
    { false, "", "not JSON" },
    { false, "{\"positions\":[", "not JSON" },
    { false, "{}", "positions: missing or not an array" },
    { false, "{\"positions\":{}}", "positions: missing or not an array" },
    { false, "{\"positions\":[1]}", "positions[0].: not an object" },
    { false, POS("\"market\":\"FUT\",\"side\":\"LONG\",\"qty\":\"1\","
                 "\"entry_price\":\"1\""), "positions[0].symbol" },
    { false, POS(GOOD_POS ",\"qty\":1.5,\"entry_price\":\"1\""),
      "positions[0].qty: missing or not a decimal string" },
    { false, POS(GOOD_POS ",\"qty\":\"0\",\"entry_price\":\"1\""),
      "positions[0].qty: not positive" },
    { false, POS(GOOD_POS ",\"qty\":\"1e3\",\"entry_price\":\"1\""),
      "positions[0].qty: not a decimal string" },
    { false, POS(GOOD_POS ",\"qty\":\"1\",\"entry_price\":\"1.\""),
      "positions[0].entry_price: not a decimal string" },
    { false, POS(GOOD_POS ",\"qty\":\"1\""), "positions[0].entry_price" },
    { false, POS(GOOD_POS ",\"qty\":\"1\",\"entry_price\":\"1\","
                 "\"margin\":-2"), "positions[0].margin" },
    { false, POS("\"symbol\":\"BTCUSDT\",\"market\":\"PERP\",\"side\":\"LONG\","
                 "\"qty\":\"1\",\"entry_price\":\"1\""),
      "positions[0].market" },
    { false, POS("\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"side\":\"BUY\","
                 "\"qty\":\"1\",\"entry_price\":\"1\""), "positions[0].side" },
    { false, "{\"positions\":[],\"positions\":[]}", "not JSON" },
    { true, "{\"orders\":null}", "orders: missing or not an array" },
    { true, ORD(GOOD_ORD ",\"type\":\"STOP_MARKET\",\"qty\":\"1\""),
      "orders[0].stop_price" },
    { true, ORD(GOOD_ORD ",\"type\":\"LIMIT\",\"qty\":\"1\""),
      "orders[0].type" },
    { true, ORD(GOOD_ORD ",\"type\":\"MARKET\",\"qty\":\"-1\""),
      "orders[0].qty" },
    { true, ORD("\"intent_id\":\"0123456789012345678901234567890123456\","
                "\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"side\":\"SELL\","
                "\"type\":\"MARKET\",\"qty\":\"1\""),
      "orders[0].intent_id: too long" },
    { true, ORD("\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"side\":\"SELL\","
                "\"type\":\"MARKET\",\"qty\":\"1\""), "orders[0].intent_id" },
};

/* Any defect refuses the whole answer, names where, and keeps the old
 * view as it was. */
static void refuses_malformed_answers(void **state)
{
    (void)state;
    s6_s4_venue v = { 0 };
    char err[200];
    assert_int_equal(s6_s4_parse_positions(POSITIONS, &v, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof MALFORMED / sizeof MALFORMED[0]; i++) {
        err[0] = '\0';
        int rc = MALFORMED[i].orders
                     ? s6_s4_parse_open_orders(MALFORMED[i].body, &v, err,
                                               sizeof err)
                     : s6_s4_parse_positions(MALFORMED[i].body, &v, err,
                                             sizeof err);
        if (rc != -EPROTO || !strstr(err, MALFORMED[i].err))
            fail_msg("case %zu: rc %d, err \"%s\", want \"%s\"", i, rc, err,
                     MALFORMED[i].err);
        assert_int_equal(v.n_positions, 2);
        assert_int_equal(v.n_orders, 0);
    }
    s6_s4_venue_clear(&v);
}

/* ---- the fetch ---- */

typedef struct got {
    bool called;
    bool in_call;
    bool called_in_call;
    int rc;
    s6_s4_venue copy;
    char err[256];
} got;

static void on_venue(void *ud, int rc, const s6_venue_view *v,
                     const char *err)
{
    got *g = ud;
    assert_false(g->called); /* exactly once */
    g->called = true;
    g->called_in_call = g->in_call;
    g->rc = rc;
    snprintf(g->err, sizeof g->err, "%s", err);
    if (rc == 0) {
        size_t np = v->n_positions * sizeof *v->positions;
        size_t no = v->n_orders * sizeof *v->orders;
        g->copy.positions = malloc(np + 1);
        g->copy.orders = malloc(no + 1);
        memcpy(g->copy.positions, v->positions, np);
        memcpy(g->copy.orders, v->orders, no);
        g->copy.n_positions = v->n_positions;
        g->copy.n_orders = v->n_orders;
    } else {
        assert_null(v);
    }
}

static void fetch(fx *f, got *g)
{
    memset(g, 0, sizeof *g);
    g->in_call = true;
    assert_int_equal(s6_s4_fetch_venue(f->router, on_venue, g), 0);
    g->in_call = false;
    while (!g->called)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(g->called_in_call);
}

/* The positions the peer was given and the stop it holds come back. */
static void fetch_returns_the_venue(void **state)
{
    fx *f = *state;
    assert_int_equal(s6_s4_peer_serve(f->peer, "/positions", 200, POSITIONS),
                     0);
    fx_send(f, "p1-sl-1", "BTCUSDT", S6_PURPOSE_STOP, S6_ORDER_STOP_MARKET);
    fx_wait_done(f, 1, 5000);
    got g;
    fetch(f, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.copy.n_positions, 2);
    assert_string_equal(g.copy.positions[1].symbol, "ETHUSDT");
    assert_int_equal(g.copy.n_orders, 1);
    assert_string_equal(g.copy.orders[0].intent_id, "p1-sl-1");
    assert_int_equal(g.copy.orders[0].type, S6_ORDER_STOP_MARKET);
    assert_true(g.copy.orders[0].stop_price == 63000.0);
    assert_true(g.copy.orders[0].qty == 0.01);
    s6_s4_venue_clear(&g.copy);
    /* Cancelled, the stop is no longer open. */
    assert_int_equal(fx_cancel(f, "p1-sl-1", "BTCUSDT"), 0);
    fx_wait_done(f, 2, 5000);
    fetch(f, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.copy.n_orders, 0);
    s6_s4_venue_clear(&g.copy);
}

static void fetch_refuses_a_malformed_answer(void **state)
{
    fx *f = *state;
    assert_int_equal(s6_s4_peer_serve(f->peer, "/open-orders", 200,
                     ORD(GOOD_ORD ",\"type\":\"MARKET\",\"qty\":\"x\"")), 0);
    got g;
    fetch(f, &g);
    assert_int_equal(g.rc, -EPROTO);
    assert_non_null(strstr(g.err, "open_orders: orders[0].qty"));
    s6_hist *h;
    s6_hist_get(f->metrics, "s6_s4_request_seconds", 1,
                S6_LABELS("open_orders"), &h);
    assert_int_equal(s6_hist_count(h), 1);
    s6_counter *c;
    s6_counter_get(f->metrics, "s6_s4_request_errors_total", 2,
                   S6_LABELS("open_orders", "bad_response"), &c);
    assert_true(s6_counter_value(c) == 1);
}

static void fetch_fails_on_an_error_status(void **state)
{
    fx *f = *state;
    assert_int_equal(s6_s4_peer_serve(f->peer, "/positions", 503,
                                      "{\"error\":{\"code\":\"down\"}}"), 0);
    got g;
    fetch(f, &g);
    assert_int_equal(g.rc, -EPROTO);
    assert_non_null(strstr(g.err, "positions: http 503"));
}

/* Closing the router ends a fetch in flight, once. */
static void free_ends_a_fetch(void **state)
{
    fx *f = *state;
    got g = { 0 };
    assert_int_equal(s6_s4_fetch_venue(f->router, on_venue, &g), 0);
    s6_s4_router_free(f->router);
    f->router = NULL;
    assert_true(g.called);
    assert_true(g.rc < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_positions_and_orders),
        cmocka_unit_test(refuses_malformed_answers),
        cmocka_unit_test_setup_teardown(fetch_returns_the_venue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(fetch_refuses_a_malformed_answer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(fetch_fails_on_an_error_status, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(free_ends_a_fetch, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
