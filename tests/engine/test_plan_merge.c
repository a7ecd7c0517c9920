/*
 * The merge of several rules' proposals into one plan (docs/invariants.md,
 * "Precedence"): the tightest stop, a close over a reduce over an add, the
 * largest reduce, the smallest add, the lower rule index on a tie, events
 * once per name — and the outcome does not depend on proposal order.
 */
#include "guard_fixture.h"

/* ---- stops ---- */

FX_TEST(tightest_stop_wins_long)
{
    fx x;
    fx_init(&x, 1);
    int a = fx_stop(&x, 2, 96.0);
    int b = fx_stop(&x, 1, 97.0);
    int c = fx_stop(&x, 0, 96.5);
    int bad = fx_stop(&x, 3, 120.0); /* tighter still, but past the mark */
    fx_run(&x);
    assert_int_equal(x.plan.stop.proposal, b);
    assert_same(x.plan.stop.price, 97.0);
    assert_rejected(&x, a, S6_REJ_OUTRANKED);
    assert_rejected(&x, c, S6_REJ_OUTRANKED);
    assert_reason_has(&x, a, "tightest");
    assert_rejected(&x, bad, S6_REJ_STOP_WRONG_SIDE);
}

FX_TEST(tightest_stop_wins_short)
{
    fx x;
    fx_init(&x, -1);
    int a = fx_stop(&x, 0, 104.0);
    int b = fx_stop(&x, 1, 103.0);
    int c = fx_stop(&x, 2, 103.5);
    fx_run(&x);
    assert_int_equal(x.plan.stop.proposal, b);
    assert_same(x.plan.stop.price, 103.0);
    assert_rejected(&x, a, S6_REJ_OUTRANKED);
    assert_rejected(&x, c, S6_REJ_OUTRANKED);
}

/* 96.01 and 96.05 both become 96.1 on the tick: a tie, decided by rule. */
FX_TEST(equal_stops_go_to_the_lower_rule_in_any_order)
{
    for (int order = 0; order < 2; order++) {
        fx x;
        fx_init(&x, 1);
        int hi = -1, lo = -1;
        if (order == 0) {
            hi = fx_stop(&x, 5, 96.01);
            lo = fx_stop(&x, 2, 96.05);
        } else {
            lo = fx_stop(&x, 2, 96.05);
            hi = fx_stop(&x, 5, 96.01);
        }
        fx_run(&x);
        assert_int_equal(x.plan.stop.rule_index, 2);
        assert_int_equal(x.plan.stop.proposal, lo);
        assert_same(x.plan.stop.price, 96.1);
        assert_rejected(&x, hi, S6_REJ_OUTRANKED);
        assert_reason_has(&x, hi, "lower rule");
    }
}

/* ---- reduces and closes ---- */

FX_TEST(close_beats_a_partial_reduce)
{
    fx x;
    fx_init(&x, 1);
    int r = fx_reduce(&x, 0, 0.5);
    int c = fx_close(&x, 3);
    fx_run(&x);
    assert_true(x.plan.reduce.full_close);
    assert_int_equal(x.plan.reduce.proposal, c);
    assert_rejected(&x, r, S6_REJ_OUTRANKED);
    assert_false(x.plan.stop_resize);
}

/* A reduce that would leave dust becomes a close, and ranks as one. */
FX_TEST(reduce_turned_close_by_dust_beats_a_larger_partial)
{
    fx x;
    fx_init(&x, 1);
    int big = fx_reduce(&x, 0, 0.9);
    int dust = fx_reduce(&x, 4, 0.995);
    fx_run(&x);
    assert_int_equal(x.plan.reduce.proposal, dust);
    assert_true(x.plan.reduce.full_close);
    assert_rejected(&x, big, S6_REJ_OUTRANKED);
}

FX_TEST(largest_reduce_wins)
{
    fx x;
    fx_init(&x, -1);
    int a = fx_reduce(&x, 0, 0.3);
    int b = fx_reduce_frac(&x, 1, 0.5);
    int c = fx_reduce(&x, 2, 0.45);
    fx_run(&x);
    assert_int_equal(x.plan.reduce.proposal, b);
    assert_same(x.plan.reduce.qty, 0.5);
    assert_rejected(&x, a, S6_REJ_OUTRANKED);
    assert_rejected(&x, c, S6_REJ_OUTRANKED);
    assert_reason_has(&x, a, "largest");
}

/* 0.3004 and 0.3 are both 0.3 on the step. */
FX_TEST(equal_reduces_and_closes_go_to_the_lower_rule)
{
    fx x;
    fx_init(&x, 1);
    int a = fx_reduce(&x, 7, 0.3004);
    int b = fx_reduce(&x, 1, 0.3);
    fx_run(&x);
    assert_int_equal(x.plan.reduce.proposal, b);
    assert_rejected(&x, a, S6_REJ_OUTRANKED);

    fx_init(&x, 1);
    int c1 = fx_close(&x, 6);
    int c2 = fx_reduce_frac(&x, 2, 1.0);
    int c3 = fx_close(&x, 4);
    fx_run(&x);
    assert_int_equal(x.plan.reduce.proposal, c2);
    assert_rejected(&x, c1, S6_REJ_OUTRANKED);
    assert_rejected(&x, c3, S6_REJ_OUTRANKED);
}

/* ---- adds ---- */

FX_TEST(any_accepted_reduce_drops_the_add)
{
    fx x;
    fx_init(&x, 1);
    int a = fx_add(&x, 0, 0.5);
    int r = fx_reduce(&x, 1, 0.2);
    fx_run(&x);
    assert_false(x.plan.add.active);
    assert_rejected(&x, a, S6_REJ_REDUCE_DROPS_ADD);
    assert_reason_has(&x, a, "reduces");
    assert_accepted(&x, r);
    assert_same(x.plan.stop_qty, 0.8); /* sized for the reduce, not the add */

    fx_init(&x, -1);
    a = fx_add(&x, 0, 0.5);
    fx_close(&x, 1);
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_REDUCE_DROPS_ADD);
    assert_reason_has(&x, a, "closes");
}

FX_TEST(a_rejected_reduce_does_not_drop_the_add)
{
    fx x;
    fx_init(&x, 1);
    int a = fx_add(&x, 0, 0.5);
    int r = fx_reduce(&x, 1, 0.001); /* too small */
    fx_run(&x);
    assert_accepted(&x, a);
    assert_rejected(&x, r, S6_REJ_REDUCE_TOO_SMALL);
}

FX_TEST(smallest_add_wins_ties_to_the_lower_rule)
{
    fx x;
    fx_init(&x, 1);
    int big = fx_add(&x, 0, 0.5);
    int small = fx_add(&x, 3, 0.2);
    int same = fx_add(&x, 1, 0.2004); /* 0.2 on the step too */
    fx_run(&x);
    assert_int_equal(x.plan.add.proposal, same);
    assert_same(x.plan.add.qty, 0.2);
    assert_rejected(&x, big, S6_REJ_OUTRANKED);
    assert_rejected(&x, small, S6_REJ_OUTRANKED);
    assert_reason_has(&x, big, "smallest");
}

/* ---- stop against reduce ---- */

FX_TEST(full_close_drops_the_stop_move)
{
    fx x;
    fx_init(&x, 1);
    int s = fx_stop(&x, 0, 100.0);
    fx_close(&x, 1);
    fx_run(&x);
    assert_false(x.plan.stop.active);
    assert_rejected(&x, s, S6_REJ_CLOSE_DROPS_STOP);
    assert_false(x.plan.stop_resize);
}

FX_TEST(partial_reduce_keeps_the_stop_and_resizes_it)
{
    fx x;
    fx_init(&x, -1);
    int s = fx_stop(&x, 0, 100.0);
    int r = fx_reduce_frac(&x, 1, 0.25);
    fx_run(&x);
    assert_accepted(&x, s);
    assert_accepted(&x, r);
    assert_true(x.plan.stop.active);
    assert_true(x.plan.stop_resize);
    assert_same(x.plan.stop_qty, 0.75);
}

/* ---- events ---- */

FX_TEST(events_pass_once_per_name_to_the_lower_rule)
{
    fx x;
    fx_init(&x, 1);
    int a2 = fx_event(&x, 2, "STAGNATED");
    int b0 = fx_event(&x, 0, "LIQ_NEAR");
    int a1 = fx_event(&x, 1, "STAGNATED");
    int a3 = fx_event(&x, 3, "STAGNATED");
    fx_run(&x);
    assert_int_equal(x.plan.n_events, 2);
    assert_string_equal(x.plan.events[0].name, "STAGNATED");
    assert_int_equal(x.plan.events[0].rule_index, 1);
    assert_int_equal(x.plan.events[0].proposal, a1);
    assert_string_equal(x.plan.events[1].name, "LIQ_NEAR");
    assert_int_equal(x.plan.events[1].proposal, b0);
    assert_rejected(&x, a2, S6_REJ_EVENT_DUPLICATE);
    assert_rejected(&x, a3, S6_REJ_EVENT_DUPLICATE);
    assert_accepted(&x, a1);
}

FX_TEST(events_pass_alongside_a_close)
{
    fx x;
    fx_init(&x, 1);
    int e = fx_event(&x, 0, "TP_DONE");
    fx_close(&x, 1);
    fx_add(&x, 2, 0.5);
    fx_run(&x);
    assert_accepted(&x, e);
    assert_int_equal(x.plan.n_events, 1);
}

/* ---- a whole evaluation ---- */

static void mixed(fx *x)
{
    fx_init(x, 1);
    fx_stop(x, 0, 96.0);                                /* 0 outranked */
    fx_stop(x, 1, 97.2);                                /* 1 wins */
    fx_stop(x, 2, 94.0);                                /* 2 not tighter */
    fx_reduce(x, 3, 0.25);                              /* 3 outranked */
    fx_reduce_frac(x, 4, 0.4);                          /* 4 wins: 0.4 */
    fx_add(x, 5, 0.3);                                  /* 5 dropped */
    fx_event(x, 6, "STAGNATED");                        /* 6 passes */
    fx_event(x, 7, "STAGNATED");                        /* 7 duplicate */
    fx_prop(x, 8, 0, NAN, NAN, NAN, NULL);              /* 8 malformed */
    fx_prop(x, 9, S6_ACT_ADD, NAN, INFINITY, NAN, NULL); /* 9 bad qty */
}

static void check_mixed(const fx *x)
{
    assert_int_equal(x->plan.stop.rule_index, 1);
    assert_same(x->plan.stop.price, 97.2);
    assert_int_equal(x->plan.reduce.rule_index, 4);
    assert_same(x->plan.reduce.qty, 0.4);
    assert_false(x->plan.add.active);
    assert_true(x->plan.stop_resize);
    assert_same(x->plan.stop_qty, 0.6);
    assert_int_equal(x->plan.n_events, 1);
    assert_int_equal(x->plan.events[0].rule_index, 6);
    assert_int_equal(x->plan.n_rejects, 7);
    static const struct { int rule, code; } want[] = {
        {0, S6_REJ_OUTRANKED}, {2, S6_REJ_STOP_NOT_TIGHTER},
        {3, S6_REJ_OUTRANKED}, {5, S6_REJ_REDUCE_DROPS_ADD},
        {7, S6_REJ_EVENT_DUPLICATE}, {8, S6_REJ_KIND}, {9, S6_REJ_QTY}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const s6_plan_reject *r = NULL;
        for (size_t k = 0; k < x->plan.n_rejects; k++)
            if (x->plan.rejects[k].rule_index == want[i].rule)
                r = &x->plan.rejects[k];
        assert_non_null(r);
        assert_int_equal(r->code, want[i].code);
        assert_int_equal(x->props[r->proposal].rule_index, want[i].rule);
    }
}

FX_TEST(a_mixed_evaluation_merges_as_documented)
{
    fx x;
    mixed(&x);
    fx_run(&x);
    check_mixed(&x);
}

/* Every rotation and the reversal of the same proposals: same plan. */
FX_TEST(the_plan_does_not_depend_on_proposal_order)
{
    fx base;
    mixed(&base);
    size_t n = base.n;
    for (size_t rot = 0; rot < 2 * n; rot++) {
        fx x = base;
        for (size_t i = 0; i < n; i++) {
            size_t from = rot < n ? (i + rot) % n : n - 1 - ((i + rot) % n);
            x.props[i] = base.props[from];
        }
        fx_run(&x);
        check_mixed(&x);
    }
}

FX_TEST(reject_names_are_distinct_and_bounded)
{
    for (int a = 0; a < S6_REJ_COUNT; a++) {
        const char *na = s6_reject_name(a);
        assert_string_not_equal(na, "unknown");
        for (int b = a + 1; b < S6_REJ_COUNT; b++)
            assert_string_not_equal(na, s6_reject_name(b));
    }
    assert_string_equal(s6_reject_name(-1), "unknown");
    assert_string_equal(s6_reject_name(S6_REJ_COUNT), "unknown");
    assert_string_equal(s6_reject_name(S6_REJ_STOP_NOT_TIGHTER),
                        "stop_not_tighter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tightest_stop_wins_long),
        cmocka_unit_test(tightest_stop_wins_short),
        cmocka_unit_test(equal_stops_go_to_the_lower_rule_in_any_order),
        cmocka_unit_test(close_beats_a_partial_reduce),
        cmocka_unit_test(reduce_turned_close_by_dust_beats_a_larger_partial),
        cmocka_unit_test(largest_reduce_wins),
        cmocka_unit_test(equal_reduces_and_closes_go_to_the_lower_rule),
        cmocka_unit_test(any_accepted_reduce_drops_the_add),
        cmocka_unit_test(a_rejected_reduce_does_not_drop_the_add),
        cmocka_unit_test(smallest_add_wins_ties_to_the_lower_rule),
        cmocka_unit_test(full_close_drops_the_stop_move),
        cmocka_unit_test(partial_reduce_keeps_the_stop_and_resizes_it),
        cmocka_unit_test(events_pass_once_per_name_to_the_lower_rule),
        cmocka_unit_test(events_pass_alongside_a_close),
        cmocka_unit_test(a_mixed_evaluation_merges_as_documented),
        cmocka_unit_test(the_plan_does_not_depend_on_proposal_order),
        cmocka_unit_test(reject_names_are_distinct_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
