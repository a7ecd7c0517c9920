/*
 * test_short_lockin.c — a short position walks up both lock-in steps of
 * the trailing stop, the mirror of the long in test_restart.c, against the
 * running service: each stop the S4 peer receives is exactly the net-of-
 * fee lock price (s6_price_for_roe_net, rounded down to the tick for a
 * short), the old stop is cancelled only after the new one rests, and the
 * spec's Redis keys hold the step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "fixture.h"
#include "util/exact.h"

static const char *const POS = "s1";
static const char *const SYM = "BTCUSDT";

/* The position: 0.010 BTC short at 60,000, 10x, fee 0.05% paid in quote
 * (svc_entry_fill's rate), exits at the symbol's taker fee. */
enum { SIDE = -1 };
static const double QTY = 0.010, ENTRY = 60000, LEV = 10, FEE_RATE = 0.0005,
                    TICK = 0.1;

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    /* the take-profit well above both lock-in steps */
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.60, "entry", 1));
}

/* The stop price the engine must send for lock ROE `lock`. */
static double lock_price(double lock)
{
    double fees = QTY * ENTRY * FEE_RATE;
    double margin = QTY * ENTRY / LEV - fees;
    return s6_round_stop(SIDE, s6_price_for_roe_net(SIDE, QTY, ENTRY, margin,
                                                    fees, FEE_RATE, lock),
                         TICK);
}

typedef struct want_stop {
    const char *price; /* the exact decimal the peer holds */
} want_stop;

/* Exactly one resting stop for the position, at the wanted price. */
static bool one_stop_at(svc_fx *f, void *ud)
{
    const want_stop *w = ud;
    s6_s4_peer_order o;
    return svc_resting_stop(f, POS, &o) == 1 &&
           strcmp(o.stop_price, w->price) == 0;
}

/* risk:sl_arm holds *ud announcements for the symbol (they are written
 * as the order goes out, so they may land just after it). */
static bool sl_arms(svc_fx *f, void *ud)
{
    return svc_stream_count(f, "risk:sl_arm", SYM) >= *(size_t *)ud;
}

static bool level_step(svc_fx *f, void *ud)
{
    char k[64], v[32];
    snprintf(k, sizeof k, "pos:{sl}:level:%s", POS);
    return strcmp(svc_hget(f, k, "step", v, sizeof v), ud) == 0 &&
           strcmp(svc_hget(f, k, "confirmed", v, sizeof v), "1") == 0;
}

/* The body of the stop order resting at price: every field S4's contract
 * names, exact decimals, and the Idempotency-Key header is the intent. */
static void check_stop_body(svc_fx *f, const char *price, char *intent,
                            size_t cap)
{
    s6_s4_peer_order o;
    bool found = false;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        if (strcmp(o.stop_price, price) == 0 && strcmp(o.state, "NEW") == 0) {
            found = true;
            break;
        }
    assert_true(found);
    snprintf(intent, cap, "%s", o.intent_id);
    json_t *b = svc_order_body(f, o.intent_id);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "pos_id")), POS);
    assert_string_equal(json_string_value(json_object_get(b, "symbol")), SYM);
    assert_string_equal(json_string_value(json_object_get(b, "market")), "FUT");
    assert_string_equal(json_string_value(json_object_get(b, "side")), "BUY");
    assert_string_equal(json_string_value(json_object_get(b, "type")),
                        "STOP_MARKET");
    assert_string_equal(json_string_value(json_object_get(b, "quantity")),
                        "0.010");
    assert_string_equal(json_string_value(json_object_get(b, "stop_price")),
                        price);
    assert_true(json_is_true(json_object_get(b, "reduce_only")));
    assert_string_equal(json_string_value(json_object_get(b, "working_type")),
                        "MARK_PRICE");
    assert_string_equal(json_string_value(json_object_get(b, "purpose")), "sl");
    assert_true(strlen(o.intent_id) <= 36);
    assert_non_null(strstr(o.intent_id, "-sl-"));
    json_decref(b);
    const s6_s4_peer_rec *rec;
    for (size_t i = 0; (rec = s6_s4_peer_get(f->peer, i)) != NULL; i++)
        if (strstr(rec->body, o.intent_id) != NULL)
            assert_string_equal(rec->idem_key, o.intent_id);
}

static void short_walks_both_steps(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    svc_start(&f);

    /* The entry with its intent's stop above the entry: placed at once
     * and announced on risk:sl_arm. */
    svc_entry_fill(&f, "r-1", POS, SYM, "SELL", "0.010", "60000", "62000");
    svc_mark(&f, SYM, 60000);
    svc_await(&f, one_stop_at, &(want_stop){ "62000.0" }, "the first stop");
    char first[40], buf[64];
    check_stop_body(&f, "62000.0", first, sizeof first);
    svc_await(&f, sl_arms, &(size_t){ 1 }, "risk:sl_arm for the first stop");
    assert_int_equal(svc_stream_count(&f, "risk:sl_arm", SYM), 1);
    assert_string_equal(svc_stream_last(&f, "risk:sl_arm", "symbol", buf,
                                        sizeof buf), SYM);
    assert_true(atof(svc_stream_last(&f, "risk:sl_arm", "sl_px", buf,
                                     sizeof buf)) == 62000.0);
    svc_await(&f, level_step, "0", "pos:{sl}:level step 0, confirmed");

    /* Step 1, ROE ~11.7%: the stop to net breakeven, below the entry for
     * a short (the fees of both legs are covered). */
    char p1[32], p2[32];
    s6_format_decimal(lock_price(0.0), TICK, p1, sizeof p1);
    assert_true(atof(p1) < ENTRY);
    svc_mark(&f, SYM, 59300);
    svc_await(&f, one_stop_at, &(want_stop){ p1 }, "the step 1 stop");
    char second[40];
    check_stop_body(&f, p1, second, sizeof second);
    assert_string_not_equal(first, second);
    s6_s4_peer_order o;
    assert_int_equal(s6_s4_peer_find_order(f.peer, first, &o), 0);
    assert_string_equal(o.state, "CANCELED");
    svc_await(&f, level_step, "1", "pos:{sl}:level step 1, confirmed");
    char key[64];
    snprintf(key, sizeof key, "pos:{sl}:level:%s", POS);
    assert_true(atof(svc_hget(&f, key, "price", buf, sizeof buf)) == atof(p1));
    assert_string_equal(svc_hget(&f, key, "intent_id", buf, sizeof buf),
                        second);

    /* Step 2, ROE ~21.8%: the price of 10% ROE net of fees. */
    s6_format_decimal(lock_price(0.10), TICK, p2, sizeof p2);
    assert_true(atof(p2) < atof(p1));
    svc_mark(&f, SYM, 58700);
    svc_await(&f, one_stop_at, &(want_stop){ p2 }, "the step 2 stop");
    char third[40];
    check_stop_body(&f, p2, third, sizeof third);
    assert_int_equal(s6_s4_peer_find_order(f.peer, second, &o), 0);
    assert_string_equal(o.state, "CANCELED");
    svc_await(&f, level_step, "2", "pos:{sl}:level step 2, confirmed");
    assert_true(atof(svc_hget(&f, key, "price", buf, sizeof buf)) == atof(p2));

    /* Each move announced, nothing else sent: three stops, no market
     * order, the ladder and the adds untouched. */
    assert_int_equal(svc_orders_of(&f, POS, "sl"), 3);
    assert_int_equal((int)s6_s4_peer_count(f.peer, S6_S4P_ORDERS), 3);
    svc_await(&f, sl_arms, &(size_t){ 3 }, "risk:sl_arm for each stop");
    assert_int_equal(svc_stream_count(&f, "risk:sl_arm", SYM), 3);
    assert_int_equal(svc_await_events(&f, SYM, POS, "STOP_MOVED", 2), 2);
    snprintf(key, sizeof key, "pos:{tp}:ladder:%s", POS);
    assert_string_equal(svc_hget(&f, key, "step", buf, sizeof buf), "0");
    snprintf(key, sizeof key, "pos:{adds}:%s", POS);
    assert_string_equal(svc_hget(&f, key, "count", buf, sizeof buf), "0");

    /* The API agrees with Redis. */
    json_t *p = svc_position(&f, POS);
    assert_non_null(p);
    json_t *stop = json_object_get(p, "stop");
    assert_int_equal(json_integer_value(json_object_get(stop, "step")), 2);
    assert_true(s6_exact_value(json_object_get(stop, "price")) == atof(p2));
    assert_string_equal(json_string_value(json_object_get(p, "side")), "SHORT");
    json_decref(p);
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_walks_both_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
