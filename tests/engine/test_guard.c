/*
 * The guard's invariants one at a time (docs/invariants.md): each test
 * offers a single proposal, or a few that do not compete, and checks the
 * decision, the rejection code and the numbers it acted on.
 */
#include "guard_fixture.h"

/* ---- arguments ---- */

FX_TEST(null_arguments_are_einval)
{
    fx x;
    fx_init(&x, 1);
    fx_stop(&x, 0, 96.0);
    s6_plan *out = &x.plan;
    assert_int_equal(s6_guard_plan(NULL, &x.mkt, &x.f, &x.lim, x.props, 1, out),
                     S6_EINVAL);
    assert_int_equal(s6_guard_plan(&x.pos, NULL, &x.f, &x.lim, x.props, 1, out),
                     S6_EINVAL);
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, NULL, &x.lim, x.props, 1, out),
                     S6_EINVAL);
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, NULL, x.props, 1, out),
                     S6_EINVAL);
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, NULL, 1, out),
                     S6_EINVAL);
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, x.props, 1,
                                   NULL),
                     S6_EINVAL);
    /* No proposals need no array. */
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, NULL, 0, out),
                     0);
}

FX_TEST(no_proposals_give_an_empty_plan)
{
    fx x;
    fx_init(&x, 1);
    memset(&x.plan, 0xab, sizeof x.plan);
    fx_run(&x);
    assert_int_equal(x.plan.slot, 7);
    assert_false(x.plan.stop.active);
    assert_false(x.plan.reduce.active);
    assert_false(x.plan.add.active);
    assert_false(x.plan.stop_resize);
    assert_int_equal(x.plan.n_events, 0);
    assert_int_equal(x.plan.n_rejects, 0);
}

FX_TEST(too_many_proposals_are_erange)
{
    fx x;
    fx_init(&x, 1);
    for (int i = 0; i <= S6_PLAN_MAX_PROPOSALS; i++)
        fx_event(&x, i, "E");
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, x.props,
                                   x.n, &x.plan),
                     S6_ERANGE);
    x.n--;
    fx_run(&x); /* exactly the maximum: every one accounted for */
    assert_int_equal(x.plan.n_events, 1);
    assert_int_equal(x.plan.n_rejects, S6_PLAN_MAX_PROPOSALS - 1);
}

/* Each broken input, applied alone to a valid fixture, must be refused and
 * leave an empty plan: the host acts on nothing it cannot trust. */
typedef void (*breaker)(fx *x);
static void b_side0(fx *x) { x->pos.side = 0; }
static void b_side2(fx *x) { x->pos.side = 2; }
static void b_qty_nan(fx *x) { x->pos.qty = NAN; }
static void b_qty_zero(fx *x) { x->pos.qty = 0; }
static void b_stop_neg(fx *x) { x->pos.stop = -1; }
static void b_stop_inf(fx *x) { x->pos.stop = INFINITY; }
static void b_lev_zero(fx *x) { x->pos.leverage = 0; }
static void b_last_add_nan(fx *x) { x->pos.last_add_at = NAN; }
static void b_adds_neg(fx *x) { x->pos.add_on_count = -1; }
static void b_mark_nan(fx *x) { x->mkt.mark = NAN; }
static void b_mark_zero(fx *x) { x->mkt.mark = 0; }
static void b_mark_inf(fx *x) { x->mkt.mark = INFINITY; }
static void b_now_nan(fx *x) { x->mkt.now = NAN; }
static void b_tick_zero(fx *x) { x->f.tick = 0; }
static void b_step_neg(fx *x) { x->f.step = -0.001; }
static void b_step_inf(fx *x) { x->f.step = INFINITY; }
static void b_min_qty_nan(fx *x) { x->f.min_qty = NAN; }
static void b_min_notional_neg(fx *x) { x->f.min_notional = -5; }
static void b_max_qty_nan(fx *x) { x->lim.max_position_qty = NAN; }
static void b_max_notional_zero(fx *x) { x->lim.max_position_notional = 0; }
static void b_max_lev_neg(fx *x) { x->lim.max_leverage = -1; }
static void b_cap_neg(fx *x) { x->lim.add_cap = -1; }
static void b_interval_nan(fx *x) { x->lim.add_min_interval_s = NAN; }
static void b_budget_inf(fx *x) { x->lim.risk_budget_free = INFINITY; }
static void b_move_one(fx *x) { x->lim.min_stop_move_frac = 1.0; }
static void b_move_neg(fx *x) { x->lim.min_stop_move_frac = -0.001; }
static void b_mixed_pos(fx *x) { x->props[1].pos_index = 4; }
static void b_rule_neg(fx *x) { x->props[0].rule_index = -2; }

FX_TEST(invalid_inputs_are_einval_with_an_empty_plan)
{
    static const breaker breakers[] = {
        b_side0, b_side2, b_qty_nan, b_qty_zero, b_stop_neg, b_stop_inf,
        b_lev_zero, b_last_add_nan, b_adds_neg, b_mark_nan, b_mark_zero,
        b_mark_inf, b_now_nan, b_tick_zero, b_step_neg, b_step_inf,
        b_min_qty_nan, b_min_notional_neg, b_max_qty_nan,
        b_max_notional_zero, b_max_lev_neg, b_cap_neg, b_interval_nan,
        b_budget_inf, b_move_one, b_move_neg, b_mixed_pos, b_rule_neg};
    for (size_t i = 0; i < sizeof breakers / sizeof breakers[0]; i++) {
        fx x;
        fx_init(&x, 1);
        fx_stop(&x, 0, 96.0);
        fx_close(&x, 1);
        fx_run(&x); /* the fixture itself is valid */
        breakers[i](&x);
        int rc = s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, x.props, x.n,
                               &x.plan);
        if (rc != S6_EINVAL)
            fail_msg("breaker %zu: rc %d", i, rc);
        assert_false(x.plan.stop.active || x.plan.reduce.active);
        assert_int_equal(x.plan.n_rejects, 0);
    }
}

FX_TEST(limits_may_be_infinite)
{
    fx x;
    fx_init(&x, 1);
    x.lim.max_position_qty = INFINITY;
    x.lim.max_position_notional = INFINITY;
    x.lim.max_leverage = INFINITY;
    int a = fx_add(&x, 0, 5.0);
    fx_run(&x);
    assert_accepted(&x, a);
}

/* ---- proposal kinds and fields ---- */

FX_TEST(unknown_kinds_are_rejected)
{
    static const int bad[] = {0, -1, 7, 99};
    fx x;
    fx_init(&x, 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        fx_prop(&x, 0, bad[i], NAN, NAN, NAN, NULL);
    fx_run(&x);
    for (size_t i = 0; i < x.n; i++)
        assert_rejected(&x, (int)i, S6_REJ_KIND);
    assert_reason_has(&x, 2, "7");
}

/*
 * Every numeric field of every kind against NaN, +-inf, negative, zero and
 * -0.  The expectation follows the field rules, not the implementation:
 * NaN and 0 mean "absent"; a field the kind does not carry must be absent
 * (else stray); a field it needs must be finite and > 0 (fraction <= 1).
 */
enum { P_PRICE, P_QTY, P_FRACTION };

static void set_field(s6_proposal *p, int field, double v)
{
    double *slot[] = {&p->price, &p->qty, &p->fraction};
    *slot[field] = v;
}

/* What each field is to a kind:
 *   'n' not carried: must be absent, else stray
 *   'r' required: absent or bad is the field's own code
 *   'u' the reduce amount in use: absent leaves neither qty nor fraction
 *   'o' the other reduce amount: may be absent, bad is its own code */
static const struct shape {
    const char *what;
    int kind;
    double price, qty, fraction; /* a valid proposal of the kind */
    char role[4];                /* price, qty, fraction */
} shapes[] = {
    {"stop", S6_ACT_STOP, 96.0, NAN, NAN, "rnn"},
    {"reduce qty", S6_ACT_REDUCE, NAN, 0.5, NAN, "nuo"},
    {"reduce fraction", S6_ACT_REDUCE, NAN, NAN, 0.5, "nou"},
    {"close", S6_ACT_CLOSE, NAN, NAN, NAN, "nnn"},
    {"add", S6_ACT_ADD, NAN, 0.5, NAN, "nrn"},
    {"event", S6_ACT_EVENT, NAN, NAN, NAN, "nnn"},
};

/* Every bad value is invalid for every field; only NaN and zeros are
 * also "absent". */
static int expected_code(const struct shape *s, int field, double v)
{
    static const int own[] = {S6_REJ_PRICE, S6_REJ_QTY, S6_REJ_FRACTION};
    bool absent = v == 0 || isnan(v);
    switch (s->role[field]) {
    case 'n': return absent ? S6_REJ_NONE : S6_REJ_STRAY_FIELD;
    case 'u': return absent ? S6_REJ_QTY : own[field];
    case 'o': return absent ? S6_REJ_NONE : own[field];
    default: return own[field];
    }
}

FX_TEST(every_numeric_field_refuses_nan_inf_negative_zero)
{
    static const double bad[] = {NAN, INFINITY, -INFINITY, -1.0, 0.0, -0.0};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const struct shape *sh = &shapes[s];
        for (int field = P_PRICE; field <= P_FRACTION; field++) {
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                fx x;
                fx_init(&x, 1);
                fx_prop(&x, 0, sh->kind, sh->price, sh->qty, sh->fraction,
                        "E");
                assert_int_equal(fx_code_of(&x), S6_REJ_NONE);
                fx_init(&x, 1);
                int i = fx_prop(&x, 0, sh->kind, sh->price, sh->qty,
                                sh->fraction, "E");
                set_field(&x.props[i], field, bad[b]);
                int want = expected_code(sh, field, bad[b]);
                int got = fx_code_of(&x);
                if (got != want)
                    fail_msg("%s, field %d = %g: %s, expected %s", sh->what,
                             field, bad[b], s6_reject_name(got),
                             s6_reject_name(want));
            }
        }
    }
}

FX_TEST(fraction_must_be_at_most_one)
{
    fx x;
    fx_init(&x, 1);
    int over = fx_reduce_frac(&x, 0, 1.0000001);
    fx_run(&x);
    assert_rejected(&x, over, S6_REJ_FRACTION);
    assert_reason_has(&x, over, "(0, 1]");
}

FX_TEST(reduce_takes_qty_or_fraction_not_both)
{
    fx x;
    fx_init(&x, 1);
    int both = fx_prop(&x, 0, S6_ACT_REDUCE, NAN, 0.3, 0.5, NULL);
    int neither = fx_prop(&x, 1, S6_ACT_REDUCE, NAN, NAN, NAN, NULL);
    int zeros = fx_prop(&x, 2, S6_ACT_REDUCE, 0, 0, 0, NULL);
    fx_run(&x);
    assert_rejected(&x, both, S6_REJ_AMBIGUOUS);
    assert_rejected(&x, neither, S6_REJ_QTY);
    assert_rejected(&x, zeros, S6_REJ_QTY);
}

FX_TEST(absent_fields_may_be_zero_as_c_initializers_leave_them)
{
    fx x;
    fx_init(&x, 1);
    int s = fx_prop(&x, 0, S6_ACT_STOP, 96.0, 0, 0, NULL);
    int r = fx_prop(&x, 1, S6_ACT_REDUCE, 0, 0, 0.25, NULL);
    fx_run(&x);
    assert_accepted(&x, s);
    assert_accepted(&x, r);
    assert_same(x.plan.reduce.qty, 0.25);
}

/* ---- stops ---- */

FX_TEST(stop_tightens_long)
{
    fx x;
    fx_init(&x, 1);
    int up = fx_stop(&x, 0, 96.0);
    fx_run(&x);
    assert_accepted(&x, up);
    assert_true(x.plan.stop.active);
    assert_same(x.plan.stop.price, 96.0);
    assert_same(x.plan.stop.old_price, 95.0);
    assert_int_equal(x.plan.stop.rule_index, 0);
    assert_int_equal(x.plan.stop.proposal, up);

    static const double looser[] = {94.0, 95.0, 10.0};
    for (size_t i = 0; i < 3; i++) {
        fx_init(&x, 1);
        int k = fx_stop(&x, 0, looser[i]);
        fx_run(&x);
        assert_rejected(&x, k, S6_REJ_STOP_NOT_TIGHTER);
        assert_reason_has(&x, k, "long");
        assert_false(x.plan.stop.active);
    }
}

FX_TEST(stop_tightens_short)
{
    fx x;
    fx_init(&x, -1);
    int down = fx_stop(&x, 0, 104.0);
    fx_run(&x);
    assert_accepted(&x, down);
    assert_same(x.plan.stop.price, 104.0);
    assert_same(x.plan.stop.old_price, 105.0);

    static const double looser[] = {106.0, 105.0, 500.0};
    for (size_t i = 0; i < 3; i++) {
        fx_init(&x, -1);
        int k = fx_stop(&x, 0, looser[i]);
        fx_run(&x);
        assert_rejected(&x, k, S6_REJ_STOP_NOT_TIGHTER);
        assert_reason_has(&x, k, "short");
    }
}

FX_TEST(any_protective_stop_when_none_long_and_short)
{
    fx x;
    fx_init(&x, 1);
    x.pos.stop = 0;
    x.lim.min_stop_move_frac = 0.5; /* no current stop: no minimum move */
    int k = fx_stop(&x, 0, 1.0);
    fx_run(&x);
    assert_accepted(&x, k);
    assert_same(x.plan.stop.old_price, 0.0);

    fx_init(&x, -1);
    x.pos.stop = 0;
    k = fx_stop(&x, 0, 1000.0);
    fx_run(&x);
    assert_accepted(&x, k);
    assert_same(x.plan.stop.price, 1000.0);
}

FX_TEST(stop_stays_below_the_mark_long)
{
    static const double at_or_above[] = {110.0, 110.05, 150.0};
    for (size_t i = 0; i < 3; i++) {
        fx x;
        fx_init(&x, 1);
        int k = fx_stop(&x, 0, at_or_above[i]);
        fx_run(&x);
        assert_rejected(&x, k, S6_REJ_STOP_WRONG_SIDE);
        assert_reason_has(&x, k, "below");
    }
}

FX_TEST(stop_stays_above_the_mark_short)
{
    static const double at_or_below[] = {90.0, 89.95, 50.0};
    for (size_t i = 0; i < 3; i++) {
        fx x;
        fx_init(&x, -1);
        int k = fx_stop(&x, 0, at_or_below[i]);
        fx_run(&x);
        assert_rejected(&x, k, S6_REJ_STOP_WRONG_SIDE);
        assert_reason_has(&x, k, "above");
    }
}

FX_TEST(stop_rounds_up_for_a_long)
{
    static const struct { double in, out; } cases[] = {
        {96.01, 96.1}, {96.09, 96.1}, {96.3, 96.3}, {100.000001, 100.1}};
    for (size_t i = 0; i < 4; i++) {
        fx x;
        fx_init(&x, 1);
        fx_stop(&x, 0, cases[i].in);
        fx_run(&x);
        assert_true(x.plan.stop.active);
        assert_same(x.plan.stop.price, cases[i].out);
        assert_same(x.plan.stop.requested, cases[i].in);
    }
}

FX_TEST(stop_rounds_down_for_a_short)
{
    static const struct { double in, out; } cases[] = {
        {104.09, 104.0}, {104.01, 104.0}, {103.7, 103.7}, {99.999999, 99.9}};
    for (size_t i = 0; i < 4; i++) {
        fx x;
        fx_init(&x, -1);
        fx_stop(&x, 0, cases[i].in);
        fx_run(&x);
        assert_true(x.plan.stop.active);
        assert_same(x.plan.stop.price, cases[i].out);
    }
}

FX_TEST(stop_rechecked_against_the_mark_after_rounding_long)
{
    fx x;
    fx_init(&x, 1);
    int k = fx_stop(&x, 0, 109.95); /* below 110, rounds up to it */
    fx_run(&x);
    assert_rejected(&x, k, S6_REJ_STOP_ROUNDED_PAST_MARK);
    assert_reason_has(&x, k, "110");

    fx_init(&x, 1);
    x.mkt.mark = 109.97; /* a mark off the tick grid */
    k = fx_stop(&x, 0, 109.91);
    fx_run(&x);
    assert_rejected(&x, k, S6_REJ_STOP_ROUNDED_PAST_MARK);

    fx_init(&x, 1);
    x.mkt.mark = 109.97;
    k = fx_stop(&x, 0, 109.89); /* rounds to 109.9, still below */
    fx_run(&x);
    assert_accepted(&x, k);
    assert_same(x.plan.stop.price, 109.9);
}

FX_TEST(stop_rechecked_against_the_mark_after_rounding_short)
{
    fx x;
    fx_init(&x, -1);
    int k = fx_stop(&x, 0, 90.05);
    fx_run(&x);
    assert_rejected(&x, k, S6_REJ_STOP_ROUNDED_PAST_MARK);

    fx_init(&x, -1);
    x.mkt.mark = 90.03;
    k = fx_stop(&x, 0, 90.11); /* rounds down to 90.1, still above */
    fx_run(&x);
    assert_accepted(&x, k);
    assert_same(x.plan.stop.price, 90.1);
}

FX_TEST(stop_that_cannot_be_rounded_is_rejected)
{
    fx x;
    fx_init(&x, 1);
    x.f.tick = 1e-15; /* 96 / 1e-15 is past the exact range of a double */
    int k = fx_stop(&x, 0, 96.0);
    fx_run(&x);
    assert_rejected(&x, k, S6_REJ_PRICE);
    assert_reason_has(&x, k, "tick");
}

/* Mark 110, minimum 0.001 of it: 0.11. */
FX_TEST(stop_improves_by_the_minimum_move_long)
{
    fx x;
    fx_init(&x, 1);
    int small = fx_stop(&x, 0, 95.1);
    fx_run(&x);
    assert_rejected(&x, small, S6_REJ_STOP_MOVE_TOO_SMALL);
    assert_reason_has(&x, small, "0.11");

    fx_init(&x, 1);
    int enough = fx_stop(&x, 0, 95.2);
    fx_run(&x);
    assert_accepted(&x, enough);
}

FX_TEST(stop_improves_by_the_minimum_move_short)
{
    fx x;
    fx_init(&x, -1);
    x.lim.min_stop_move_frac = 0.002; /* mark 90: minimum 0.18 */
    int small = fx_stop(&x, 0, 104.9);
    fx_run(&x);
    assert_rejected(&x, small, S6_REJ_STOP_MOVE_TOO_SMALL);
    assert_reason_has(&x, small, "0.18");

    fx_init(&x, -1);
    x.lim.min_stop_move_frac = 0.002;
    int enough = fx_stop(&x, 0, 104.85); /* rounds down to 104.8: 0.2 */
    fx_run(&x);
    assert_accepted(&x, enough);
    assert_same(x.plan.stop.price, 104.8);
}

/* 95.1 - 95 is 0.0999999999999943 in doubles: a move of exactly the
 * minimum must still count. */
FX_TEST(stop_move_exactly_at_the_minimum_counts)
{
    fx x;
    fx_init(&x, 1);
    x.mkt.mark = 100.0; /* minimum 0.1 */
    int k = fx_stop(&x, 0, 95.1);
    fx_run(&x);
    assert_accepted(&x, k);
}

FX_TEST(stop_refused_while_a_replace_is_in_flight)
{
    for (int side = -1; side <= 1; side += 2) {
        fx x;
        fx_init(&x, side);
        x.lim.stop_replace_in_flight = true;
        int k = fx_stop(&x, 0, 100.0);
        fx_run(&x);
        assert_rejected(&x, k, S6_REJ_STOP_IN_FLIGHT);
        x.lim.stop_replace_in_flight = false;
        fx_run(&x);
        assert_accepted(&x, k);
    }
}

FX_TEST(only_an_operator_may_loosen_and_only_when_allowed)
{
    fx x;
    fx_init(&x, 1);
    x.lim.manual_loosen_allowed = true;
    int manual = fx_prop(&x, S6_RULE_MANUAL, S6_ACT_STOP, 90.0, NAN, NAN,
                         NULL);
    fx_run(&x);
    assert_accepted(&x, manual);
    assert_same(x.plan.stop.price, 90.0);
    assert_int_equal(x.plan.stop.rule_index, S6_RULE_MANUAL);

    fx_init(&x, 1);
    x.lim.manual_loosen_allowed = true;
    int rule = fx_stop(&x, 0, 90.0);
    fx_run(&x);
    assert_rejected(&x, rule, S6_REJ_STOP_NOT_TIGHTER);

    fx_init(&x, 1);
    manual = fx_prop(&x, S6_RULE_MANUAL, S6_ACT_STOP, 90.0, NAN, NAN, NULL);
    fx_run(&x);
    assert_rejected(&x, manual, S6_REJ_STOP_NOT_TIGHTER);

    /* Loosening never crosses the mark, nor keeps the same stop. */
    fx_init(&x, -1);
    x.lim.manual_loosen_allowed = true;
    int past = fx_prop(&x, S6_RULE_MANUAL, S6_ACT_STOP, 80.0, NAN, NAN, NULL);
    int same = fx_prop(&x, S6_RULE_MANUAL, S6_ACT_STOP, 105.0, NAN, NAN, NULL);
    fx_run(&x);
    assert_rejected(&x, past, S6_REJ_STOP_WRONG_SIDE);
    assert_rejected(&x, same, S6_REJ_STOP_MOVE_TOO_SMALL);
    x.lim.min_stop_move_frac = 0; /* even with no minimum: a move moves */
    fx_run(&x);
    assert_rejected(&x, same, S6_REJ_STOP_MOVE_TOO_SMALL);
}

/* ---- reduces ---- */

FX_TEST(fraction_becomes_qty_rounded_down)
{
    fx x;
    fx_init(&x, 1);
    fx_reduce_frac(&x, 0, 0.3337); /* 0.3337 of 1.0 -> 0.333 */
    fx_run(&x);
    assert_true(x.plan.reduce.active);
    assert_false(x.plan.reduce.full_close);
    assert_same(x.plan.reduce.requested, 0.3337);
    assert_same(x.plan.reduce.qty, 0.333);
    assert_same(x.plan.reduce.after_qty, 0.667);

    fx_init(&x, -1);
    x.pos.qty = 2.5;
    fx_reduce_frac(&x, 0, 0.5); /* 1.25 is on the step */
    fx_run(&x);
    assert_same(x.plan.reduce.qty, 1.25);
}

FX_TEST(reduce_qty_rounds_down_to_the_step)
{
    static const struct { double in, out; } cases[] = {
        {0.4449, 0.444}, {0.4441, 0.444}, {0.3, 0.3}, {0.0509999, 0.05}};
    for (size_t i = 0; i < 4; i++) {
        fx x;
        fx_init(&x, 1);
        fx_reduce(&x, 0, cases[i].in);
        fx_run(&x);
        assert_true(x.plan.reduce.active);
        assert_same(x.plan.reduce.qty, cases[i].out);
    }
}

FX_TEST(reduce_of_the_whole_or_more_is_a_full_close)
{
    fx x;
    static const double qtys[] = {1.0, 1.0000001, 5.0, 1e300};
    for (size_t i = 0; i < 4; i++) {
        fx_init(&x, 1);
        fx_reduce(&x, 0, qtys[i]);
        fx_run(&x);
        assert_true(x.plan.reduce.full_close);
        assert_same(x.plan.reduce.qty, 1.0);
        assert_same(x.plan.reduce.after_qty, 0.0);
    }
    fx_init(&x, -1);
    fx_reduce_frac(&x, 0, 1.0);
    fx_run(&x);
    assert_true(x.plan.reduce.full_close);
}

FX_TEST(close_closes_the_whole_position)
{
    fx x;
    fx_init(&x, -1);
    x.pos.qty = 0.7;
    int c = fx_close(&x, 0);
    fx_run(&x);
    assert_accepted(&x, c);
    assert_true(x.plan.reduce.full_close);
    assert_int_equal(x.plan.reduce.kind, S6_ACT_CLOSE);
    assert_same(x.plan.reduce.qty, 0.7);
    assert_false(x.plan.stop_resize);
}

/* Min qty 0.01 (min notional off): 0.995 of 1.0 leaves 0.005. */
FX_TEST(partial_close_leaving_dust_under_min_qty_closes_all)
{
    fx x;
    fx_init(&x, 1);
    x.f.min_notional = 0;
    fx_reduce(&x, 0, 0.995);
    fx_run(&x);
    assert_true(x.plan.reduce.full_close);
    assert_same(x.plan.reduce.qty, 1.0);
    assert_same(x.plan.reduce.requested, 0.995);

    fx_init(&x, 1);
    fx_reduce(&x, 0, 0.99); /* leaves exactly min qty 0.01 ... */
    x.f.min_notional = 1.0; /* ... worth 1.1 */
    fx_run(&x);
    assert_false(x.plan.reduce.full_close);
    assert_same(x.plan.reduce.after_qty, 0.01);
}

/* Mark 110, min notional 5: 0.04 left is worth 4.4, 0.05 is worth 5.5. */
FX_TEST(partial_close_leaving_dust_under_min_notional_closes_all)
{
    fx x;
    fx_init(&x, 1);
    fx_reduce(&x, 0, 0.96);
    fx_run(&x);
    assert_true(x.plan.reduce.full_close);

    fx_init(&x, 1);
    fx_reduce(&x, 0, 0.95);
    fx_run(&x);
    assert_false(x.plan.reduce.full_close);
    assert_same(x.plan.reduce.qty, 0.95);

    fx_init(&x, 1);
    x.f.min_notional = 5.5; /* exactly what 0.05 is worth */
    fx_reduce(&x, 0, 0.95);
    fx_run(&x);
    assert_false(x.plan.reduce.full_close);
}

FX_TEST(reduce_too_small_by_itself_is_rejected)
{
    static const struct { double qty, min_notional; } tiny[] = {
        {0.0009, 0}, /* rounds to 0 on the 0.001 step */
        {0.009, 0},  /* under min qty 0.01 */
        {0.04, 5},   /* worth 4.4, under min notional 5 */
    };
    for (size_t i = 0; i < 3; i++) {
        fx x;
        fx_init(&x, 1);
        x.f.min_notional = tiny[i].min_notional;
        int k = fx_reduce(&x, 0, tiny[i].qty);
        fx_run(&x);
        assert_rejected(&x, k, S6_REJ_REDUCE_TOO_SMALL);
        assert_false(x.plan.reduce.active);
    }
}

FX_TEST(a_tiny_position_may_still_be_closed_whole)
{
    fx x;
    fx_init(&x, 1);
    x.pos.qty = 0.004; /* under min qty: any part of it is too small */
    int c = fx_close(&x, 0);
    fx_run(&x);
    assert_accepted(&x, c);
    assert_same(x.plan.reduce.qty, 0.004);

    fx_init(&x, 1);
    x.pos.qty = 0.0004; /* under one step */
    int r = fx_reduce_frac(&x, 0, 1.0);
    fx_run(&x);
    assert_accepted(&x, r);
    assert_true(x.plan.reduce.full_close);
}

FX_TEST(reduce_that_cannot_be_rounded_is_rejected)
{
    fx x;
    fx_init(&x, 1);
    x.pos.qty = 1e10;
    x.f.step = 1e-9; /* 5e9 / 1e-9 is past the exact range of a double */
    int k = fx_reduce(&x, 0, 5e9);
    fx_run(&x);
    assert_rejected(&x, k, S6_REJ_QTY);
}

FX_TEST(partial_reduce_asks_to_resize_the_stop)
{
    fx x;
    fx_init(&x, 1);
    fx_reduce(&x, 0, 0.3);
    fx_run(&x);
    assert_true(x.plan.stop_resize);
    assert_same(x.plan.stop_qty, 0.7);
}

/* ---- adds ---- */

FX_TEST(add_within_every_limit_is_sized_at_the_mark)
{
    for (int side = -1; side <= 1; side += 2) {
        fx x;
        fx_init(&x, side);
        int a = fx_add(&x, 0, 0.5559);
        fx_run(&x);
        assert_accepted(&x, a);
        double mark = side > 0 ? 110.0 : 90.0;
        assert_same(x.plan.add.qty, 0.555);
        assert_same(x.plan.add.requested, 0.5559);
        assert_same(x.plan.add.notional, 0.555 * mark);
        assert_same(x.plan.add.margin, 0.555 * mark / 10.0);
        assert_same(x.plan.add.after_qty, 1.555);
        assert_true(x.plan.stop_resize);
        assert_same(x.plan.stop_qty, 1.555);
    }
}

/* The yes/no facts that refuse an add outright, each with its code. */
static void g_daily_loss(fx *x) { x->lim.daily_loss_hit = true; }
static void g_add_in_flight(fx *x) { x->lim.add_in_flight = true; }
static void g_no_concurrency(fx *x) { x->lim.concurrency_ok = false; }
static void g_leverage(fx *x) { x->pos.leverage = 25.0; }

FX_TEST(add_refused_by_each_gate)
{
    static const struct { void (*set)(fx *); int code; } gates[] = {
        {g_daily_loss, S6_REJ_DAILY_LOSS},
        {g_add_in_flight, S6_REJ_ADD_IN_FLIGHT},
        {g_no_concurrency, S6_REJ_CONCURRENCY},
        {g_leverage, S6_REJ_LEVERAGE},
    };
    for (size_t i = 0; i < sizeof gates / sizeof gates[0]; i++) {
        fx x;
        fx_init(&x, i % 2 ? -1 : 1);
        int a = fx_add(&x, 0, 0.5);
        fx_run(&x);
        assert_accepted(&x, a); /* the add itself is fine... */
        gates[i].set(&x);
        fx_run(&x);
        assert_rejected(&x, a, gates[i].code); /* ...until the gate shuts */
    }
}

FX_TEST(add_respects_the_cap)
{
    fx x;
    fx_init(&x, 1);
    x.pos.add_on_count = 1;
    int a = fx_add(&x, 0, 0.5);
    fx_run(&x);
    assert_accepted(&x, a);

    x.pos.add_on_count = 2;
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_ADD_CAP);
    assert_reason_has(&x, a, "cap is 2");

    x.lim.add_cap = 0;
    x.pos.add_on_count = 0;
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_ADD_CAP);
}

FX_TEST(add_respects_the_minimum_interval)
{
    fx x;
    fx_init(&x, 1);
    int a = fx_add(&x, 0, 0.5);
    x.pos.last_add_at = 10000.0 - 299.0;
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_ADD_INTERVAL);
    assert_reason_has(&x, a, "299");

    x.pos.last_add_at = 10000.0 - 300.0;
    fx_run(&x);
    assert_accepted(&x, a);

    x.pos.last_add_at = 10000.0 + 5.0; /* a clock that went back */
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_ADD_INTERVAL);
}

/* At the maximum leverage exactly, an add still goes. */
FX_TEST(add_at_the_maximum_leverage)
{
    fx x;
    fx_init(&x, 1);
    x.pos.leverage = 20.0;
    int a = fx_add(&x, 0, 0.5);
    fx_run(&x);
    assert_accepted(&x, a);
}

FX_TEST(add_rounds_down_and_meets_the_minimums)
{
    static const struct { double qty, min_notional; } tiny[] = {
        {0.0005, 0}, {0.009, 0}, {0.04, 5}};
    for (size_t i = 0; i < 3; i++) {
        fx x;
        fx_init(&x, 1);
        x.f.min_notional = tiny[i].min_notional;
        int a = fx_add(&x, 0, tiny[i].qty);
        fx_run(&x);
        assert_rejected(&x, a, S6_REJ_ADD_TOO_SMALL);
    }
    fx x;
    fx_init(&x, 1);
    x.f.step = 1e-9;
    int a = fx_add(&x, 0, 5e9);
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_QTY);
}

FX_TEST(add_respects_max_position_qty)
{
    fx x;
    fx_init(&x, 1);
    x.lim.max_position_notional = INFINITY;
    int a = fx_add(&x, 0, 9.0); /* 1 + 9 = 10: at the maximum */
    fx_run(&x);
    assert_accepted(&x, a);
    x.props[a].qty = 9.001;
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_MAX_QTY);
    assert_reason_has(&x, a, "10.001");
}

/* 0.1 + 0.2 is 0.30000000000000004 in doubles: limits of exactly 0.3 and
 * 0.3 * 110 hold it. */
FX_TEST(add_limits_hold_at_the_exact_maximum)
{
    fx x;
    fx_init(&x, 1);
    x.pos.qty = 0.1;
    x.f.min_notional = 0;
    x.lim.max_position_qty = 0.3;
    x.lim.max_position_notional = 33.0;
    int a = fx_add(&x, 0, 0.2);
    fx_run(&x);
    assert_accepted(&x, a);
    assert_same(x.plan.add.after_qty, 0.3);
}

/* Mark 110: 1.8 is worth 198, 1.9 is worth 209. */
FX_TEST(add_respects_max_position_notional)
{
    fx x;
    fx_init(&x, 1);
    x.lim.max_position_notional = 200.0;
    int a = fx_add(&x, 0, 0.9);
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_MAX_NOTIONAL);
    assert_reason_has(&x, a, "209");

    x.props[a].qty = 0.8;
    fx_run(&x);
    assert_accepted(&x, a);
}

/* 0.5 at 110 with leverage 10 needs 5.5 of margin. */
FX_TEST(add_respects_the_risk_budget)
{
    fx x;
    fx_init(&x, 1);
    x.lim.risk_budget_free = 5.0;
    int a = fx_add(&x, 0, 0.5);
    fx_run(&x);
    assert_rejected(&x, a, S6_REJ_RISK_BUDGET);
    assert_reason_has(&x, a, "5.5");

    x.lim.risk_budget_free = 5.5;
    fx_run(&x);
    assert_accepted(&x, a);
}

/* ---- events ---- */

FX_TEST(event_names_are_checked)
{
    fx x;
    fx_init(&x, 1);
    int ok = fx_event(&x, 0, "STAGNATED");
    int ok2 = fx_event(&x, 1, "tp.step-1:x_2");
    int empty = fx_event(&x, 2, "");
    int space = fx_event(&x, 3, "A B");
    int quote = fx_event(&x, 4, "A\"");
    int full = fx_event(&x, 5, NULL);
    memset(x.props[full].name, 'A', sizeof x.props[full].name); /* no NUL */
    fx_run(&x);
    assert_accepted(&x, ok);
    assert_accepted(&x, ok2);
    assert_rejected(&x, empty, S6_REJ_EVENT_NAME);
    assert_rejected(&x, space, S6_REJ_EVENT_NAME);
    assert_reason_has(&x, space, "0x20");
    assert_rejected(&x, quote, S6_REJ_EVENT_NAME);
    assert_rejected(&x, full, S6_REJ_EVENT_NAME);
    assert_int_equal(x.plan.n_events, 2);
    assert_string_equal(x.plan.events[0].name, "STAGNATED");
    assert_int_equal(x.plan.events[1].rule_index, 1);
}

FX_TEST(a_plan_holds_a_bounded_number_of_events)
{
    fx x;
    fx_init(&x, 1);
    char name[8];
    for (int i = 0; i <= S6_PLAN_MAX_EVENTS; i++) {
        snprintf(name, sizeof name, "E%d", i);
        fx_event(&x, i, name);
    }
    fx_run(&x);
    assert_int_equal(x.plan.n_events, S6_PLAN_MAX_EVENTS);
    assert_rejected(&x, S6_PLAN_MAX_EVENTS, S6_REJ_EVENTS_FULL);
}

/* s6_guard_check alone: the same decision, without a plan. */
FX_TEST(single_check_reports_reason)
{
    fx x;
    fx_init(&x, 1);
    fx_stop(&x, 4, 94.0);
    s6_plan_action cand;
    char why[S6_PROPOSAL_REASON_LEN];
    int code = s6_guard_check(&x.pos, &x.mkt, &x.f, &x.lim, &x.props[0], 0,
                              &cand, why, sizeof why);
    assert_int_equal(code, S6_REJ_STOP_NOT_TIGHTER);
    assert_non_null(strstr(why, "94"));
    assert_non_null(strstr(why, "95"));
    code = s6_guard_check(&x.pos, &x.mkt, &x.f, &x.lim, &x.props[0], 0,
                          &cand, NULL, 0);
    assert_int_equal(code, S6_REJ_STOP_NOT_TIGHTER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_arguments_are_einval),
        cmocka_unit_test(no_proposals_give_an_empty_plan),
        cmocka_unit_test(too_many_proposals_are_erange),
        cmocka_unit_test(invalid_inputs_are_einval_with_an_empty_plan),
        cmocka_unit_test(limits_may_be_infinite),
        cmocka_unit_test(unknown_kinds_are_rejected),
        cmocka_unit_test(every_numeric_field_refuses_nan_inf_negative_zero),
        cmocka_unit_test(fraction_must_be_at_most_one),
        cmocka_unit_test(reduce_takes_qty_or_fraction_not_both),
        cmocka_unit_test(absent_fields_may_be_zero_as_c_initializers_leave_them),
        cmocka_unit_test(stop_tightens_long),
        cmocka_unit_test(stop_tightens_short),
        cmocka_unit_test(any_protective_stop_when_none_long_and_short),
        cmocka_unit_test(stop_stays_below_the_mark_long),
        cmocka_unit_test(stop_stays_above_the_mark_short),
        cmocka_unit_test(stop_rounds_up_for_a_long),
        cmocka_unit_test(stop_rounds_down_for_a_short),
        cmocka_unit_test(stop_rechecked_against_the_mark_after_rounding_long),
        cmocka_unit_test(stop_rechecked_against_the_mark_after_rounding_short),
        cmocka_unit_test(stop_that_cannot_be_rounded_is_rejected),
        cmocka_unit_test(stop_improves_by_the_minimum_move_long),
        cmocka_unit_test(stop_improves_by_the_minimum_move_short),
        cmocka_unit_test(stop_move_exactly_at_the_minimum_counts),
        cmocka_unit_test(stop_refused_while_a_replace_is_in_flight),
        cmocka_unit_test(only_an_operator_may_loosen_and_only_when_allowed),
        cmocka_unit_test(fraction_becomes_qty_rounded_down),
        cmocka_unit_test(reduce_qty_rounds_down_to_the_step),
        cmocka_unit_test(reduce_of_the_whole_or_more_is_a_full_close),
        cmocka_unit_test(close_closes_the_whole_position),
        cmocka_unit_test(partial_close_leaving_dust_under_min_qty_closes_all),
        cmocka_unit_test(partial_close_leaving_dust_under_min_notional_closes_all),
        cmocka_unit_test(reduce_too_small_by_itself_is_rejected),
        cmocka_unit_test(a_tiny_position_may_still_be_closed_whole),
        cmocka_unit_test(reduce_that_cannot_be_rounded_is_rejected),
        cmocka_unit_test(partial_reduce_asks_to_resize_the_stop),
        cmocka_unit_test(add_within_every_limit_is_sized_at_the_mark),
        cmocka_unit_test(add_refused_by_each_gate),
        cmocka_unit_test(add_respects_the_cap),
        cmocka_unit_test(add_respects_the_minimum_interval),
        cmocka_unit_test(add_at_the_maximum_leverage),
        cmocka_unit_test(add_rounds_down_and_meets_the_minimums),
        cmocka_unit_test(add_respects_max_position_qty),
        cmocka_unit_test(add_limits_hold_at_the_exact_maximum),
        cmocka_unit_test(add_respects_max_position_notional),
        cmocka_unit_test(add_respects_the_risk_budget),
        cmocka_unit_test(event_names_are_checked),
        cmocka_unit_test(a_plan_holds_a_bounded_number_of_events),
        cmocka_unit_test(single_check_reports_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
