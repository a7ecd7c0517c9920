/* test_engine_s4.c — the engine with the S4 router as its order edge,
 * against the S4 peer over loopback: what the engine asks for is what S4
 * receives, and the venue fetch drives reconciliation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/mem_state.h"
#include "rules/native/native_rules.h"
#include "rules/edge.h"
#include "venue/s4/venue.h"
#include "s4_fixture.h"

#define SYMBOLS                                                           \
    "\"symbols\":{\"BTCUSDT\":{\"market\":\"FUT\",\"tick\":0.1,"          \
    "\"step\":0.001,\"min_qty\":0.001,\"min_notional\":5,"                \
    "\"taker_fee\":0.0005,\"leverage\":10,\"brackets\":[{"                \
    "\"notional_floor\":0,\"notional_cap\":50000000,\"mmr\":0.004,"       \
    "\"cum\":0}]}}"

typedef struct world {
    fx f;
    s6_mem_state *ms;
    s6_native_rules nr;
    s6_rules_edge rules;
    s6_engine *e;
    double now;
    unsigned rid;
} world;

static double clock_now(void *ud) { return ((world *)ud)->now; }

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    fx_start_with(&w->f, FX_FAST, NULL, SYMBOLS);
    w->ms = s6_mem_state_new(10000, 20);
    assert_non_null(w->ms);
    w->now = 1764110000;
    s6_native_rules_init(&w->nr);
    w->nr.tp_ladder.n_steps = 0; /* no take-profit closes the long here */
    char err[256] = "";
    assert_int_equal(s6_rules_edge_native(&w->nr, 16, &w->rules, err,
                                          sizeof err), 0);
    s6_engine_edges ed = {
        .router = w->f.edge,
        .state = s6_mem_state_edge(w->ms),
        .rules = w->rules,
        .clock = { .now = clock_now, .ud = w },
    };
    if (s6_engine_new(&w->f.cfg, &ed, &w->f.log, w->f.metrics, &w->e, err,
                      sizeof err) != 0)
        fail_msg("engine: %s", err);
    assert_int_equal(s6_engine_resume(w->e), 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    /* The router first: its completions still reach a live engine. */
    s6_s4_router_free(w->f.router);
    w->f.router = NULL;
    s6_engine_free(w->e);
    s6_rules_edge_free(&w->rules);
    s6_mem_state_free(w->ms);
    fx_stop(&w->f);
    free(w);
    return 0;
}

static void feed(world *w, int kind, const char *intent, const s6_fill *fill,
                 double sl_px)
{
    s6_order_result r = { .kind = kind, .market = S6_MARKET_FUT,
                          .ts = w->now, .sl_px = sl_px };
    snprintf(r.result_id, sizeof r.result_id, "r-%u", ++w->rid);
    snprintf(r.intent_id, sizeof r.intent_id, "%s", intent);
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    if (fill) {
        r.fill = *fill;
        r.risk_reserved = fill->qty * fill->price / 10;
        r.concurrency_reserved = 1;
    }
    char err[160] = "";
    if (s6_engine_on_result(w->e, &r, err, sizeof err) != 0)
        fail_msg("result: %s", err);
}

typedef struct outcomes {
    world *w;
    unsigned long n;
} outcomes;

static bool delivered(void *ud)
{
    outcomes *o = ud;
    s6_s4_router_stats st;
    s6_s4_router_get_stats(o->w->f.router, &st);
    return st.ok + st.rejected + st.failed >= o->n;
}

/* Runs the loop until the router has delivered n outcomes to the engine. */
static void settle(world *w, unsigned long n)
{
    outcomes o = { w, n };
    fx_run_until(&w->f, delivered, &o, 5000);
}

/* A long of 0.010 BTC with its first stop asked for at 63000. */
static void open_long(world *w)
{
    s6_fill fill = { .kind = S6_FILL_ENTRY, .side = 1, .qty = 0.010,
                     .price = 64250.1, .ts = w->now };
    snprintf(fill.intent_id, sizeof fill.intent_id, "up-1");
    feed(w, S6_RES_FILL, "up-1", &fill, 63000);
}

/* Prices and manage ticks until the router has started `sent` requests in
 * all. */
static void tick_until_sent(world *w, unsigned long sent)
{
    for (int i = 0; i < 40; i++) {
        s6_s4_router_stats st;
        s6_s4_router_get_stats(w->f.router, &st);
        if (st.sent >= sent)
            return;
        w->now += 5;
        /* A fresh mark: the engine acts on no stale price. */
        s6_market_update m = { .ts = w->now, .mark = 64250.0, .atr = NAN,
                               .regime = -1, .health = NAN };
        assert_int_equal(s6_engine_on_market(w->e, "BTCUSDT", S6_MARKET_FUT,
                                             &m), 0);
        assert_int_equal(s6_engine_tick(w->e), 0);
    }
    fail_msg("no resend after 40 ticks");
}

/* S4 never answers: the router fails the stop after its retries, the
 * engine's next attempt reuses the key, and S4 ends up with one order. */
static void failed_stop_is_resent_with_its_key(void **state)
{
    world *w = *state;
    s6_s4_peer_rule stall = { .mode = S6_S4P_STALL, .times = 4 };
    assert_int_equal(s6_s4_peer_rule_path(w->f.peer, "/orders", &stall), 0);
    open_long(w);
    settle(w, 1);
    s6_s4_router_stats st;
    s6_s4_router_get_stats(w->f.router, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_REQUESTS), 4);
    tick_until_sent(w, 2);
    settle(w, 2);
    s6_s4_router_get_stats(w->f.router, &st);
    assert_int_equal(st.ok, 1);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_REQUESTS), 5);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_ORDERS), 1);
    const char *key = s6_s4_peer_get(w->f.peer, 0)->idem_key;
    assert_string_equal(s6_s4_peer_get(w->f.peer, 4)->idem_key, key);
    assert_int_equal(s6_s4_peer_get(w->f.peer, 4)->status, 200); /* a repeat */
}

/* S4 refuses the stop: the guard covers the position, and the next
 * attempt is a new order under a new key. */
static void rejected_stop_is_replaced_under_a_new_key(void **state)
{
    world *w = *state;
    s6_s4_peer_rule no = { .mode = S6_S4P_REJECT, .code = "would_trigger",
                           .times = 1 };
    assert_int_equal(s6_s4_peer_rule_path(w->f.peer, "/orders", &no), 0);
    open_long(w);
    settle(w, 1);
    s6_engine_status est;
    s6_engine_get_status(w->e, &est);
    assert_int_equal(est.unprotected, 1);
    tick_until_sent(w, 2);
    settle(w, 2);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_REQUESTS), 2);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_ORDERS), 1);
    assert_string_not_equal(s6_s4_peer_get(w->f.peer, 0)->idem_key,
                            s6_s4_peer_get(w->f.peer, 1)->idem_key);
    s6_s4_peer_order po;
    assert_int_equal(s6_s4_peer_order_at(w->f.peer, 0, &po), 0);
    assert_string_equal(po.intent_id, s6_s4_peer_get(w->f.peer, 1)->idem_key);
}

typedef struct idle {
    world *w;
} idle;

static bool router_idle(void *ud)
{
    s6_s4_router_stats st;
    s6_s4_router_get_stats(((idle *)ud)->w->f.router, &st);
    return st.queued == 0 && st.in_flight == 0;
}

/* Runs until nothing is queued or in flight, then tells the engine what
 * S4 would publish for every stop it took and not yet confirmed; returns
 * how many stops rest at S4. */
static size_t confirm_stops(world *w, bool *told, size_t cap)
{
    idle i = { w };
    fx_run_until(&w->f, router_idle, &i, 10000);
    size_t resting = 0;
    s6_s4_peer_order po;
    for (size_t k = 0; s6_s4_peer_order_at(w->f.peer, k, &po) == 0; k++) {
        if (strcmp(po.type, "STOP_MARKET") != 0)
            continue;
        assert_true(k < cap);
        if (!told[k] && strcmp(po.state, "NEW") == 0) {
            told[k] = true;
            feed(w, S6_RES_ACCEPTED, po.intent_id, NULL, 0);
        }
        resting += strcmp(po.state, "NEW") == 0;
    }
    return resting;
}

/* The mark walks up through both lock-in steps: each move places the new
 * stop, and only once it rests cancels the old one, so S4 never holds the
 * position without a stop; at the end one stop rests, above the first. */
static void stop_moves_never_leave_the_position_bare(void **state)
{
    world *w = *state;
    bool told[64] = { false };
    open_long(w);
    assert_int_equal(s6_s4_peer_run_until(w->f.peer, &w->f.loop,
                                          S6_S4P_ORDERS, 1, 5000), 0);
    assert_int_equal(confirm_stops(w, told, 64), 1);
    for (double mark = 64400; mark <= 66200; mark += 150) {
        w->now += 1;
        s6_market_update m = { .ts = w->now, .mark = mark, .atr = NAN,
                               .regime = -1, .health = NAN };
        assert_int_equal(s6_engine_on_market(w->e, "BTCUSDT", S6_MARKET_FUT,
                                             &m), 0);
        for (int round = 0; round < 3; round++) /* place, confirm, cancel */
            assert_true(confirm_stops(w, told, 64) >= 1);
    }
    assert_int_equal(confirm_stops(w, told, 64), 1);
    size_t stops = 0;
    s6_s4_peer_order po, first;
    assert_int_equal(s6_s4_peer_order_at(w->f.peer, 0, &first), 0);
    assert_string_equal(first.state, "CANCELED");
    for (size_t k = 0; s6_s4_peer_order_at(w->f.peer, k, &po) == 0; k++) {
        if (strcmp(po.type, "STOP_MARKET") != 0)
            continue;
        stops++;
        if (strcmp(po.state, "NEW") == 0)
            assert_true(strtod(po.stop_price, NULL) > 64250.1); /* locked */
    }
    assert_true(stops >= 3); /* the first, and one per lock-in step */
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_CANCELS), stops - 1);
}

/* The long's first stop, as the engine computes it, is what S4 gets:
 * exact decimals at the tick and step, reduce-only on the mark price. */
static void first_stop_reaches_s4(void **state)
{
    world *w = *state;
    open_long(w);
    assert_int_equal(s6_s4_peer_run_until(w->f.peer, &w->f.loop,
                                          S6_S4P_ORDERS, 1, 5000), 0);
    s6_s4_peer_order po;
    assert_int_equal(s6_s4_peer_order_at(w->f.peer, 0, &po), 0);
    assert_string_equal(po.type, "STOP_MARKET");
    assert_string_equal(po.side, "SELL");
    assert_string_equal(po.quantity, "0.010");
    assert_string_equal(po.stop_price, "63000.0");
    assert_string_equal(po.purpose, "sl");
    assert_true(po.reduce_only);
    assert_string_equal(s6_s4_peer_get(w->f.peer, 0)->idem_key, po.intent_id);
    settle(w, 1);
    s6_engine_status st;
    s6_engine_get_status(w->e, &st);
    assert_int_equal(st.positions, 1);
    feed(w, S6_RES_ACCEPTED, po.intent_id, NULL, 0);
    s6_engine_get_status(w->e, &st);
    assert_int_equal(st.unprotected, 0);
}

typedef struct fetched {
    bool done;
    int rc;
    world *w;
} fetched;

static void on_venue(void *ud, int rc, const s6_venue_view *v,
                     const char *err)
{
    fetched *g = ud;
    g->done = true;
    g->rc = rc;
    if (rc == 0)
        assert_int_equal(s6_engine_reconcile(g->w->e, v), 0);
    else
        fail_msg("fetch: %s", err);
}

/* The venue lost the stop (S4 reports no open order): reconciliation
 * through the fetch re-arms it with a new key, and S4 gets it. */
static void reconcile_rearms_a_missing_stop(void **state)
{
    world *w = *state;
    open_long(w);
    assert_int_equal(s6_s4_peer_run_until(w->f.peer, &w->f.loop,
                                          S6_S4P_ORDERS, 1, 5000), 0);
    settle(w, 1);
    s6_s4_peer_order first;
    assert_int_equal(s6_s4_peer_order_at(w->f.peer, 0, &first), 0);
    feed(w, S6_RES_ACCEPTED, first.intent_id, NULL, 0);

    assert_int_equal(s6_s4_peer_serve(w->f.peer, "/positions", 200,
        "{\"positions\":[{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
        "\"side\":\"LONG\",\"qty\":\"0.010\",\"entry_price\":\"64250.1\"}],"
        "\"as_of\":\"1-0\"}"), 0);
    assert_int_equal(s6_s4_peer_serve(w->f.peer, "/open-orders", 200,
                                      "{\"orders\":[],\"as_of\":\"1-0\"}"),
                     0);
    fetched g = { .w = w };
    assert_int_equal(s6_s4_fetch_venue(w->f.router, on_venue, &g), 0);
    while (!g.done)
        uv_run(&w->f.loop, UV_RUN_ONCE);
    assert_int_equal(s6_s4_peer_run_until(w->f.peer, &w->f.loop,
                                          S6_S4P_ORDERS, 2, 5000), 0);
    s6_s4_peer_order again;
    assert_int_equal(s6_s4_peer_order_at(w->f.peer, 1, &again), 0);
    assert_string_equal(again.type, "STOP_MARKET");
    assert_string_equal(again.quantity, "0.010");
    assert_string_not_equal(again.intent_id, first.intent_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_stop_reaches_s4, setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_rearms_a_missing_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_stop_is_resent_with_its_key, setup, teardown),
        cmocka_unit_test_setup_teardown(rejected_stop_is_replaced_under_a_new_key, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_moves_never_leave_the_position_bare, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
