/*
 * test_spot_guard.c — the SPOT guard stop: a SPOT position gets no
 * exchange stop but a guard, announced on guard:spot:arm; a mid through
 * the guard sends a market SELL for the held quantity, the position moves
 * to PENDING_CLOSING with a GUARD_TRIGGERED event, and S4's fill closes
 * it.
 *
 * The peer has no price for the symbol, so the close is taken but not
 * filled until the test publishes the fill: PENDING_CLOSING is seen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "util/exact.h"

static const char *const POS = "g1";
static const char *const SYM = "BTCUSDT";

static bool guard_armed(svc_fx *f, void *ud)
{
    (void)ud;
    return svc_stream_count(f, "guard:spot:arm", SYM) > 0;
}

static bool close_sent(svc_fx *f, void *ud)
{
    (void)ud;
    return svc_orders_of(f, POS, "cl") > 0;
}

static bool position_state(svc_fx *f, void *ud)
{
    json_t *p = svc_position(f, POS);
    const char *st = json_string_value(json_object_get(p, "state"));
    bool is = st != NULL && strcmp(st, ud) == 0;
    json_decref(p);
    return is;
}

static void spot_guard_stop(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, svc_edit_common);
    svc_start(&f);

    svc_fill(&f, "r-1", "g1-en", POS, SYM, "SPOT", "BUY", "ENTRY", "0.02500",
             "60000", "58000");
    svc_price(&f, "SPOT", SYM, 60000, 60000);
    svc_await(&f, guard_armed, NULL, "guard:spot:arm");
    char buf[64];
    assert_true(atof(svc_stream_last(&f, "guard:spot:arm", "sl_px", buf,
                                     sizeof buf)) == 58000.0);
    assert_string_equal(svc_stream_last(&f, "guard:spot:arm", "symbol", buf,
                                        sizeof buf), SYM);
    assert_int_equal(svc_await_events(&f, SYM, POS, "GUARD_ARMED", 1), 1);
    /* no exchange stop for SPOT: the guard is the stop */
    assert_int_equal(svc_orders_of(&f, POS, "sl"), 0);
    json_t *p = svc_position(&f, POS);
    assert_true(s6_exact_value(json_object_get(json_object_get(p, "stop"),
                                                  "guard")) == 58000.0);
    json_decref(p);

    /* Above the guard: nothing.  Through it (the mid; the mark stays
     * above, SPOT watches the mid): a market SELL of what is held. */
    svc_price(&f, "SPOT", SYM, 58500, 58500);
    svc_price(&f, "SPOT", SYM, 58100, 57990);
    svc_await(&f, close_sent, NULL, "the guard's market close");
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f.peer, i, &o) == 0; i++)
        if (strcmp(o.purpose, "cl") == 0)
            break;
    json_t *b = svc_order_body(&f, o.intent_id);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "market")),
                        "SPOT");
    assert_string_equal(json_string_value(json_object_get(b, "type")),
                        "MARKET");
    assert_string_equal(json_string_value(json_object_get(b, "side")), "SELL");
    assert_string_equal(json_string_value(json_object_get(b, "quantity")),
                        "0.02500");
    json_decref(b);
    assert_int_equal((int)s6_s4_peer_count(f.peer, S6_S4P_ORDERS), 1);
    svc_await(&f, position_state, "PENDING_CLOSING", "PENDING_CLOSING");
    assert_int_equal(svc_await_events(&f, SYM, POS, "GUARD_TRIGGERED", 1), 1);

    /* S4 fills the close: CLOSED, once. */
    svc_fill(&f, "r-2", o.intent_id, POS, SYM, "SPOT", "SELL", "CLOSE",
             "0.02500", "57990", "");
    svc_await(&f, position_state, "CLOSED", "CLOSED");
    assert_int_equal(svc_await_events(&f, SYM, POS, "POSITION_CLOSED", 1), 1);
    assert_int_equal((int)s6_s4_peer_count(f.peer, S6_S4P_ORDERS), 1);
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spot_guard_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
