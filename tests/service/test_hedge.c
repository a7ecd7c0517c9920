/*
 * test_hedge.c — the hedge end to end: a SPOT position on a symbol whose
 * SPOT entry has a target exposure (symbols.BTCUSDT:SPOT.target_exposure)
 * makes the hedge rule propose, the engine sends a FUT MARKET order
 * (purpose hg) of the quantity s6_hedge_fut_qty gives, and its fill opens
 * the FUT position; the book is then at its target and nothing more is
 * proposed.
 */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "fixture.h"
#include "util/exact.h"

static const char *const SPOT_POS = "h1";
static const char *const SYM = "BTCUSDT";
static const double SPOT_QTY = 0.025, PRICE = 60000, TARGET = 600,
                    FUT_STEP = 0.001;

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    json_t *spot = json_object_get(json_object_get(cfg, "symbols"),
                                   "BTCUSDT:SPOT");
    json_object_set_new(spot, "target_exposure", json_real(TARGET));
}

static bool hedge_sent(svc_fx *f, void *ud)
{
    (void)ud;
    return svc_orders_of(f, SPOT_POS, "hg") > 0;
}

/* The FUT position the hedge's fill opened, from GET /positions. */
static json_t *fut_position(svc_fx *f)
{
    json_t *doc = NULL;
    if (svc_http(f, "GET", "/positions", NULL, NULL, &doc) != 200) {
        json_decref(doc);
        return NULL;
    }
    json_t *list = json_object_get(doc, "positions"), *p, *found = NULL;
    size_t i;
    json_array_foreach(list, i, p) {
        const char *m = json_string_value(json_object_get(p, "market"));
        const char *s = json_string_value(json_object_get(p, "symbol"));
        if (m && s && strcmp(m, "FUT") == 0 && strcmp(s, SYM) == 0)
            found = json_incref(p);
    }
    json_decref(doc);
    return found;
}

static bool fut_opened(svc_fx *f, void *ud)
{
    (void)ud;
    json_t *p = fut_position(f);
    json_decref(p);
    return p != NULL;
}

static void hedge_end_to_end(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    assert_int_equal(s6_s4_peer_set_price(f.peer, SYM, PRICE), 0);
    svc_start(&f);

    svc_fill(&f, "r-1", "h1-en", SPOT_POS, SYM, "SPOT", "BUY", "ENTRY",
             "0.02500", "60000", "57000");
    svc_price(&f, "SPOT", SYM, PRICE, PRICE);
    svc_await(&f, hedge_sent, NULL, "the hedge order");

    /* 0.025 BTC held, 600 of target at 60,000: sell 0.015 futures. */
    double delta = s6_hedge_fut_qty(SPOT_QTY, 0, PRICE, TARGET);
    assert_true(delta < 0);
    char want[32];
    s6_format_decimal(s6_round_qty(-delta, FUT_STEP), FUT_STEP, want,
                      sizeof want);
    assert_string_equal(want, "0.015");
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f.peer, i, &o) == 0; i++)
        if (strcmp(o.purpose, "hg") == 0)
            break;
    json_t *b = svc_order_body(&f, o.intent_id);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "market")), "FUT");
    assert_string_equal(json_string_value(json_object_get(b, "symbol")), SYM);
    assert_string_equal(json_string_value(json_object_get(b, "type")),
                        "MARKET");
    assert_string_equal(json_string_value(json_object_get(b, "side")), "SELL");
    assert_string_equal(json_string_value(json_object_get(b, "quantity")),
                        want);
    assert_string_equal(json_string_value(json_object_get(b, "purpose")), "hg");
    assert_false(json_is_true(json_object_get(b, "reduce_only")));
    json_decref(b);
    assert_int_equal(svc_await_events(&f, SYM, SPOT_POS, "HEDGE_SENT", 1), 1);

    /* The peer's fill (published on ord:{results}) opens the FUT position:
     * short the hedge's quantity at the fill price. */
    svc_await(&f, fut_opened, NULL, "the FUT position from the hedge's fill");
    json_t *fut = fut_position(&f);
    assert_string_equal(json_string_value(json_object_get(fut, "side")),
                        "SHORT");
    assert_true(fabs(s6_exact_value(json_object_get(fut, "qty")) -
                     atof(want)) < 1e-12);
    assert_true(s6_exact_value(json_object_get(fut, "entry")) == PRICE);
    json_decref(fut);

    /* At the target now: the rules, asked again, propose no hedge, and
     * still one hedge order went out. */
    json_t *doc = NULL;
    long st = svc_http(&f, "POST", "/positions/manage", SVC_TOKEN,
                       "{\"symbol\":\"BTCUSDT\",\"market\":\"SPOT\","
                       "\"position_id\":\"h1\",\"action\":\"EVALUATE\","
                       "\"dry_run\":true}", &doc);
    assert_int_equal(st, 200);
    json_t *acts = json_object_get(json_object_get(doc, "plan"), "actions"),
           *a;
    size_t i;
    json_array_foreach(acts, i, a)
        assert_string_not_equal(json_string_value(json_object_get(a, "action")),
                                "HEDGE");
    json_decref(doc);
    assert_int_equal(svc_orders_of(&f, SPOT_POS, "hg"), 1);
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hedge_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
