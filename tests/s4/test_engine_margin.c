/* test_engine_margin.c — the margin watch end to end: the engine with the
 * S4 router as its order edge, against the S4 peer over loopback.  A long
 * walks down to the MARGIN_CALL level: the alert levels are announced
 * once per crossing, the treasury trigger is raised with the measured
 * ratio, and margin moves from the futures wallet into the position under
 * one idempotency key, even when S4's answer is lost; the liquidation
 * price moves away. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "engine/mem_state.h"
#include "rules/native/native_rules.h"
#include "rules/edge.h"
#include "s4_fixture.h"

/* Leverage 20 and a 0.4% bracket: the ratio starts near 0.08 and the
 * levels below are reached a few percent under the entry. */
#define EXTRA                                                             \
    "\"symbols\":{\"BTCUSDT\":{\"market\":\"FUT\",\"tick\":0.1,"          \
    "\"step\":0.001,\"min_qty\":0.001,\"min_notional\":5,"                \
    "\"taker_fee\":0.0005,\"leverage\":20,\"brackets\":[{"                \
    "\"notional_floor\":0,\"notional_cap\":50000000,\"mmr\":0.004,"       \
    "\"cum\":0}]},"                                                       \
    "\"ETHUSDT\":{\"market\":\"FUT\",\"tick\":0.01,\"step\":0.001,"       \
    "\"min_qty\":0.001,\"min_notional\":5,\"leverage\":20,\"brackets\":["  \
    "{\"notional_floor\":0,\"notional_cap\":50000,\"mmr\":0.005,"         \
    "\"cum\":0},{\"notional_floor\":50000,\"notional_cap\":250000,"       \
    "\"mmr\":0.01,\"cum\":250}]}},"                                       \
    "\"risk\":{\"margin_alert_ratio\":0.15,"                              \
    "\"margin_add_target_ratio\":0.1,\"margin_add_max\":500,"             \
    "\"margin_add_min_interval_s\":60},"                                  \
    "\"treasury\":{\"triggers\":{\"margin_call\":{\"threshold\":0.25}}}"

enum { MAX_RAISED = 8 };

typedef struct raised {
    char trigger[24];
    double amount, reported;
} raised;

typedef struct world {
    fx f;
    s6_mem_state *ms;
    s6_native_rules nr;
    s6_rules_edge rules;
    s6_engine *e;
    double now;
    unsigned rid;
    raised raised[MAX_RAISED];
    size_t n_raised;
    size_t n_events;
    char events[64][32];
} world;

static double clock_now(void *ud) { return ((world *)ud)->now; }

static int raise_trigger(void *ud, const char *trigger, double amount,
                         double reported)
{
    world *w = ud;
    if (w->n_raised < MAX_RAISED) {
        raised *r = &w->raised[w->n_raised++];
        snprintf(r->trigger, sizeof r->trigger, "%s", trigger);
        r->amount = amount;
        r->reported = reported;
    }
    return 0;
}

static void on_note(void *ud, const s6_engine_note *n)
{
    world *w = ud;
    if (w->n_events < 64)
        snprintf(w->events[w->n_events++], sizeof w->events[0], "%s",
                 n->type);
}

static size_t events_of(const world *w, const char *type)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n_events; i++)
        k += strcmp(w->events[i], type) == 0;
    return k;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    fx_start_with(&w->f, FX_FAST, NULL, EXTRA);
    w->ms = s6_mem_state_new(10000, 20);
    assert_non_null(w->ms);
    w->now = 1764110000;
    s6_native_rules_init(&w->nr);
    w->nr.tp_ladder.n_steps = 0;
    char err[256] = "";
    assert_int_equal(s6_rules_edge_native(&w->nr, 16, &w->rules, err,
                                          sizeof err), 0);
    s6_engine_edges ed = {
        .router = w->f.edge,
        .state = s6_mem_state_edge(w->ms),
        .rules = w->rules,
        .clock = { .now = clock_now, .ud = w },
        .treasury = { .raise = raise_trigger, .ud = w },
    };
    if (s6_engine_new(&w->f.cfg, &ed, &w->f.log, w->f.metrics, &w->e, err,
                      sizeof err) != 0)
        fail_msg("engine: %s", err);
    s6_engine_observe(w->e, on_note, w);
    assert_int_equal(s6_engine_resume(w->e), 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    s6_s4_router_free(w->f.router);
    w->f.router = NULL;
    s6_engine_free(w->e);
    s6_rules_edge_free(&w->rules);
    s6_mem_state_free(w->ms);
    fx_stop(&w->f);
    free(w);
    return 0;
}

/* A long of 0.010 BTC at 64250.1, its stop asked for at 61500. */
static void open_long(world *w)
{
    s6_order_result r = { .kind = S6_RES_FILL, .market = S6_MARKET_FUT,
                          .ts = w->now, .sl_px = 61500,
                          .risk_reserved = 30, .concurrency_reserved = 1 };
    snprintf(r.result_id, sizeof r.result_id, "r-%u", ++w->rid);
    snprintf(r.intent_id, sizeof r.intent_id, "up-1");
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    r.fill = (s6_fill){ .kind = S6_FILL_ENTRY, .side = 1, .qty = 0.010,
                        .price = 64250.1, .ts = w->now };
    snprintf(r.fill.intent_id, sizeof r.fill.intent_id, "up-1");
    snprintf(r.fill.result_id, sizeof r.fill.result_id, "%s", r.result_id);
    char err[160] = "";
    if (s6_engine_on_result(w->e, &r, err, sizeof err) != 0)
        fail_msg("result: %s", err);
}

static void mark(world *w, double px)
{
    w->now += 5;
    s6_market_update m = { .ts = w->now, .mark = px, .atr = NAN,
                           .regime = -1, .health = NAN };
    assert_int_equal(s6_engine_on_market(w->e, "BTCUSDT", S6_MARKET_FUT, &m),
                     0);
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

static void settle(world *w, unsigned long n)
{
    outcomes o = { w, n };
    fx_run_until(&w->f, delivered, &o, 8000);
}

static json_t *position(world *w)
{
    json_t *all = s6_engine_positions_json(w->e);
    assert_int_equal(json_array_size(all), 1);
    json_t *p = json_incref(json_array_get(all, 0));
    json_decref(all);
    return p;
}

static double num(json_t *p, const char *key)
{
    json_t *v = json_object_get(p, key);
    if (json_is_string(v))
        return strtod(json_string_value(v), NULL);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static double gauge_of(world *w, const char *name, const char *symbol)
{
    assert_int_equal(s6_engine_collect(w->f.metrics, w->e), 0);
    s6_gauge *g;
    const char *l[] = { symbol };
    assert_int_equal(s6_gauge_get(w->f.metrics, name, symbol ? 1 : 0,
                                  symbol ? l : NULL, &g), 0);
    return s6_gauge_value(g);
}

/* Down to the call level, with the first margin answer lost: one add at
 * S4, money moved once, the books agree with S4 and the liquidation price
 * moves away from the mark. */
static void margin_call_adds_margin_once(void **state)
{
    world *w = *state;
    s6_s4_peer_set_fut_free(w->f.peer, 1000);
    open_long(w);
    settle(w, 1); /* the stop */

    mark(w, 64000);
    json_t *p = position(w);
    double r0 = num(p, "margin_ratio");
    assert_true(r0 > 0.07 && r0 < 0.09);
    assert_string_equal(json_string_value(json_object_get(p, "margin_level")),
                        "OK");
    double liq0 = num(p, "liq_price");
    json_decref(p);
    assert_true(fabs(gauge_of(w, "s6_margin_ratio", "BTCUSDT") - r0) < 1e-12);

    /* Through the alert level: announced once, however long it stays. */
    mark(w, 63200);
    mark(w, 62600);
    mark(w, 62500);
    assert_int_equal(events_of(w, "MARGIN_ALERT"), 1);
    assert_int_equal(w->n_raised, 0);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_MARGIN_REQUESTS), 0);

    /* The call level: the treasury hears of it with the ratio measured,
     * and the add goes out; S4 takes it but the answer is lost. */
    s6_s4_peer_rule stall = { .mode = S6_S4P_STALL, .times = 4 };
    assert_int_equal(s6_s4_peer_rule_path(w->f.peer, "/positions/margin",
                                          &stall), 0);
    mark(w, 62200);
    mark(w, 61900);
    assert_int_equal(events_of(w, "MARGIN_CALL"), 1);
    assert_int_equal(w->n_raised, 1);
    assert_string_equal(w->raised[0].trigger, "MARGIN_CALL");
    assert_true(w->raised[0].reported >= 0.25);
    assert_true(gauge_of(w, "s6_margin_ratio_max", NULL) >= 0.25);
    p = position(w);
    assert_string_equal(json_string_value(json_object_get(p, "margin_level")),
                        "MARGIN_CALL");
    double margin0 = num(p, "margin");
    json_decref(p);
    settle(w, 2); /* the add fails after its retries: state unknown */
    assert_int_equal(events_of(w, "MARGIN_ADDED"), 0);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_MARGINS), 1);
    double drawn = 1000 - s6_s4_peer_fut_free(w->f.peer);
    assert_true(drawn > 0);

    /* The tick resends the same key; S4 answers the add it holds. */
    for (int i = 0; i < 20 && events_of(w, "MARGIN_ADDED") == 0; i++) {
        mark(w, 61900);
        assert_int_equal(s6_engine_tick(w->e), 0);
        s6_s4_router_stats st;
        s6_s4_router_get_stats(w->f.router, &st);
        if (st.sent > 2)
            settle(w, st.sent);
    }
    assert_int_equal(events_of(w, "MARGIN_ADDED"), 1);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_MARGINS), 1);
    size_t n = s6_s4_peer_count(w->f.peer, S6_S4P_MARGIN_REQUESTS);
    assert_int_equal(n, 5);
    const char *key = NULL;
    for (size_t i = 0; s6_s4_peer_get(w->f.peer, i) != NULL; i++) {
        const s6_s4_peer_rec *rec = s6_s4_peer_get(w->f.peer, i);
        if (strcmp(rec->path, "/positions/margin") != 0)
            continue;
        if (key == NULL)
            key = rec->idem_key;
        assert_string_equal(rec->idem_key, key);
        assert_non_null(strstr(rec->body, "\"type\":\"ADD\""));
    }
    assert_non_null(strstr(key, "-mg-"));
    assert_true(fabs(1000 - s6_s4_peer_fut_free(w->f.peer) - drawn) < 1e-9);

    /* The books: the margin S4 moved, a lower ratio, a liquidation price
     * further from the mark. */
    p = position(w);
    assert_true(fabs(num(p, "margin") - (margin0 + drawn)) < 0.005);
    double r1 = num(p, "margin_ratio");
    assert_true(r1 < 0.25 && fabs(r1 - 0.1) < 0.002);
    double liq1 = num(p, "liq_price");
    assert_true(liq1 < liq0 - 500);
    json_decref(p);
    s6_s4_peer_book book;
    assert_int_equal(s6_s4_peer_book_get(w->f.peer, "BTCUSDT", NULL, &book),
                     0);
    assert_true(fabs(book.margin - drawn) < 1e-9);

    /* Back under the call level the engine stays put; a later call within
     * the interval adds nothing more. */
    mark(w, 61900);
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_MARGIN_REQUESTS), 5);
}

/* S4 refuses the add (the futures wallet is empty): announced, nothing
 * booked, no retry storm. */
static void refused_add_books_nothing(void **state)
{
    world *w = *state;
    open_long(w);
    settle(w, 1);
    mark(w, 64000);
    json_t *p0 = position(w);
    double margin0 = num(p0, "margin");
    json_decref(p0);
    for (double px = 63500; px >= 61900; px -= 400)
        mark(w, px);
    settle(w, 2);
    assert_int_equal(events_of(w, "MARGIN_ADD_REFUSED"), 1);
    assert_int_equal(events_of(w, "MARGIN_ADDED"), 0);
    json_t *p = position(w);
    assert_true(fabs(num(p, "margin") - margin0) < 1e-9);
    json_decref(p);
    for (int i = 0; i < 3; i++) {
        mark(w, 61900);
        assert_int_equal(s6_engine_tick(w->e), 0);
    }
    assert_int_equal(s6_s4_peer_count(w->f.peer, S6_S4P_MARGIN_REQUESTS), 1);
}

/* The liquidation price takes the bracket of the notional at that price,
 * not at the entry: a long entered just above a bracket edge liquidates
 * in the bracket below it. */
static void liq_price_resolves_brackets(void **state)
{
    world *w = *state;
    s6_order_result r = { .kind = S6_RES_FILL, .market = S6_MARKET_FUT,
                          .ts = w->now, .sl_px = 2550 };
    snprintf(r.result_id, sizeof r.result_id, "r-eth-1");
    snprintf(r.intent_id, sizeof r.intent_id, "up-eth");
    snprintf(r.symbol, sizeof r.symbol, "ETHUSDT");
    r.fill = (s6_fill){ .kind = S6_FILL_ENTRY, .side = 1, .qty = 20,
                        .price = 2600, .ts = w->now };
    snprintf(r.fill.intent_id, sizeof r.fill.intent_id, "up-eth");
    snprintf(r.fill.result_id, sizeof r.fill.result_id, "r-eth-1");
    char err[160] = "";
    if (s6_engine_on_result(w->e, &r, err, sizeof err) != 0)
        fail_msg("result: %s", err);
    w->now += 1;
    s6_market_update m = { .ts = w->now, .mark = 2600, .atr = NAN,
                           .regime = -1, .health = NAN };
    assert_int_equal(s6_engine_on_market(w->e, "ETHUSDT", S6_MARKET_FUT, &m),
                     0);
    json_t *p = position(w);
    double margin = num(p, "margin");
    double liq = num(p, "liq_price");
    json_decref(p);
    const s6_symbol_cfg *sym = s6_config_symbol(&w->f.cfg, S6_MARKET_FUT,
                                                "ETHUSDT");
    double want = s6_liq_price_brackets(1, 20, 2600, margin, sym->brackets.v,
                                        sym->brackets.n);
    /* the entry's bracket (mmr 1%, cum 250) would say 2482.32 */
    double entry_bracket = s6_liq_price_isolated(1, 20, 2600, margin, 0.01,
                                                 250);
    assert_true(fabs(liq - want) < 0.006);
    assert_true(fabs(liq - entry_bracket) > 0.05);
    assert_true(20 * want < 50000); /* resolved into the lower bracket */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(margin_call_adds_margin_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_add_books_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(liq_price_resolves_brackets, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
