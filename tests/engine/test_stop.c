/*
 * The stop's life: first placement covered by the local guard until S4
 * confirms, a move as place-new-then-cancel-old, one move at a time,
 * retries with the same key, a refused move keeping the old stop, a
 * refused first stop keeping the guard, and the guard's trigger on both
 * sides.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "contract/stop.h"

static void first_stop_is_guarded_until_confirmed(void **state)
{
    (void)state;
    s6_stop st;
    s6_stop_cmd cmd;
    s6_stop_init(&st, 1);
    assert_false(s6_stop_guard_hit(&st, 1)); /* nothing asked: no guard */
    assert_int_equal(s6_stop_request(&st, 95, 1, 0, "p-sl-0", &cmd), 0);
    assert_int_equal(cmd.kind, S6_STOP_CMD_PLACE);
    assert_string_equal(cmd.intent_id, "p-sl-0");
    /* not confirmed yet: the guard watches 95 */
    assert_true(s6_stop_guard_price(&st) == 95);
    assert_false(s6_stop_guard_hit(&st, 95.01));
    assert_true(s6_stop_guard_hit(&st, 95));
    assert_true(s6_stop_in_flight(&st));
    assert_int_equal(s6_stop_placed(&st, "p-sl-0", &cmd), 0);
    assert_int_equal(cmd.kind, S6_STOP_CMD_NONE); /* nothing to cancel */
    assert_true(s6_stop_guard_price(&st) == 0);
    assert_false(s6_stop_guard_hit(&st, 90)); /* the exchange stop covers it */
    assert_false(s6_stop_in_flight(&st));
}

static void move_places_new_then_cancels_old(void **state)
{
    (void)state;
    s6_stop st;
    s6_stop_cmd cmd;
    s6_stop_init(&st, 1);
    s6_stop_request(&st, 95, 1, 0, "p-sl-0", &cmd);
    s6_stop_placed(&st, "p-sl-0", &cmd);
    assert_int_equal(s6_stop_request(&st, 100.2, 1, 1, "p-sl-1", &cmd), 0);
    assert_int_equal(cmd.kind, S6_STOP_CMD_PLACE);
    /* while the new one is in flight the old one still stands: no guard */
    assert_true(st.confirmed.live && st.confirmed.price == 95);
    assert_true(s6_stop_guard_price(&st) == 0);
    /* a second move now is refused */
    assert_int_equal(s6_stop_request(&st, 101, 1, 2, "p-sl-2", &cmd), S6_EBUSY);
    assert_int_equal(cmd.kind, S6_STOP_CMD_NONE);
    /* a confirmation for another key is ignored */
    assert_int_equal(s6_stop_placed(&st, "p-sl-9", &cmd), S6_EINVAL);
    assert_int_equal(s6_stop_placed(&st, "p-sl-1", &cmd), 0);
    assert_int_equal(cmd.kind, S6_STOP_CMD_CANCEL);
    assert_string_equal(cmd.intent_id, "p-sl-0");
    assert_true(st.confirmed.price == 100.2 && st.step == 1);
    assert_int_equal(s6_stop_cancelled(&st, "p-sl-0"), 0);
    assert_false(st.cancelling.live);
    assert_int_equal(s6_stop_cancelled(&st, "p-sl-0"), S6_EINVAL); /* once */
}

static void failures_keep_the_position_covered(void **state)
{
    (void)state;
    s6_stop st;
    s6_stop_cmd cmd;
    s6_stop_init(&st, -1); /* a short */
    s6_stop_request(&st, 105, 2, 0, "p-sl-0", &cmd);
    /* S4 down: retry with the same key */
    assert_int_equal(s6_stop_place_failed(&st, "p-sl-0", true, &cmd), 0);
    assert_int_equal(cmd.kind, S6_STOP_CMD_PLACE);
    assert_string_equal(cmd.intent_id, "p-sl-0");
    /* rejected for good: no stop, but the guard stays on 105 */
    assert_int_equal(s6_stop_place_failed(&st, "p-sl-0", false, &cmd), 0);
    assert_int_equal(cmd.kind, S6_STOP_CMD_NONE);
    assert_true(s6_stop_guard_price(&st) == 105);
    assert_false(s6_stop_guard_hit(&st, 104.99));
    assert_true(s6_stop_guard_hit(&st, 105.5)); /* a short's guard is above */
    assert_int_equal(st.failures, 2);
    /* a new attempt, with a new key, is allowed */
    assert_int_equal(s6_stop_request(&st, 105, 2, 0, "p-sl-1", &cmd), 0);
    s6_stop_placed(&st, "p-sl-1", &cmd);
    /* a move refused for good keeps the old stop, no guard needed */
    s6_stop_request(&st, 99, 2, 1, "p-sl-2", &cmd);
    s6_stop_place_failed(&st, "p-sl-2", false, &cmd);
    assert_true(st.confirmed.live && st.confirmed.price == 105);
    assert_true(s6_stop_guard_price(&st) == 0);
    assert_false(s6_stop_in_flight(&st));
}

static void bad_requests(void **state)
{
    (void)state;
    s6_stop st;
    s6_stop_cmd cmd;
    s6_stop_init(&st, 1);
    assert_int_equal(s6_stop_request(&st, NAN, 1, 0, "k", &cmd), S6_EINVAL);
    assert_int_equal(s6_stop_request(&st, -1, 1, 0, "k", &cmd), S6_EINVAL);
    assert_int_equal(s6_stop_request(&st, 95, 0, 0, "k", &cmd), S6_EINVAL);
    assert_int_equal(s6_stop_request(&st, 95, 1, 0, "", &cmd), S6_EINVAL);
    assert_int_equal(s6_stop_request(&st, 95, 1, 0,
                     "0123456789012345678901234567890123456", &cmd), S6_EINVAL);
    assert_false(s6_stop_in_flight(&st));
    assert_true(s6_stop_guard_price(&st) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_stop_is_guarded_until_confirmed),
        cmocka_unit_test(move_places_new_then_cancels_old),
        cmocka_unit_test(failures_keep_the_position_covered),
        cmocka_unit_test(bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
