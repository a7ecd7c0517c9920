/*
 * s6_decide_batch: proposals of a whole batch, grouped per position, each
 * run guarded into one plan; counts by rejection code; refusal of input
 * it cannot trust.
 */
#include "contract/decide.h"
#include "guard_fixture.h"

typedef struct batch {
    s6_pos_view pos[3];
    s6_mkt_view mkt[3];
    fx base;
    s6_proposal props[8];
    size_t n;
    int limits_fail_for;      /* -1 none */
    size_t plans[3];          /* plans seen per position */
    size_t last_rejects[3];
    double stop_price[3];
    char versions[3][64];
} batch;

static void batch_init(batch *b)
{
    memset(b, 0, sizeof *b);
    fx_init(&b->base, 1);
    for (int i = 0; i < 3; i++) {
        b->pos[i] = b->base.pos;
        b->pos[i].slot = i;
        b->mkt[i] = b->base.mkt;
    }
    b->limits_fail_for = -1;
}

static void push(batch *b, int pos_index, int rule, int kind, double price,
                 double qty)
{
    s6_proposal *p = &b->props[b->n++];
    memset(p, 0, sizeof *p);
    *p = (s6_proposal){.pos_index = pos_index, .rule_index = rule,
                       .kind = kind, .price = price, .qty = qty,
                       .fraction = NAN};
}

static int limits(void *ud, size_t pi, s6_symbol_filters *f, s6_limits *l)
{
    batch *b = ud;
    if ((int)pi == b->limits_fail_for)
        return -1;
    *f = b->base.f;
    *l = b->base.lim;
    return 0;
}

static void on_plan(void *ud, size_t pi, const s6_plan *plan,
                    const s6_proposal *props, size_t n,
                    const s6_plan_versions *v)
{
    batch *b = ud;
    b->versions[pi][0] = '\0';
    for (size_t i = 0; i < v->n; i++)
        snprintf(b->versions[pi] + strlen(b->versions[pi]),
                 sizeof b->versions[pi] - strlen(b->versions[pi]), "%s%d=%s",
                 i ? "," : "", v->ids[i], v->hashes[i]);
    assert_true(n > 0);
    assert_int_equal(props[0].pos_index, (int)pi);
    b->plans[pi]++;
    b->last_rejects[pi] = plan->n_rejects;
    b->stop_price[pi] = plan->stop.active ? plan->stop.price : 0;
}

static const char *const HASHES[] = {"aaaa", "bbbb"};

static s6_decide_hooks hooks_of(batch *b)
{
    return (s6_decide_hooks){.limits = limits, .plan = on_plan,
                             .rule_hashes = HASHES, .n_rule_hashes = 2,
                             .ud = b};
}

FX_TEST(one_plan_per_position_with_counts)
{
    batch b;
    batch_init(&b);
    /* position 0: two stops, the tighter (104.05 -> 104.1 on the tick) wins */
    push(&b, 0, 0, S6_ACT_STOP, 101.0, NAN);
    push(&b, 0, 1, S6_ACT_STOP, 104.05, NAN);
    /* position 2: a stop above the mark (110) is refused */
    push(&b, 2, 0, S6_ACT_STOP, 111.0, NAN);
    s6_decide_hooks h = hooks_of(&b);
    s6_decide_stats st;
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, b.n, &h, &st), 0);
    assert_int_equal(st.plans, 2);
    assert_int_equal(b.plans[0], 1);
    assert_int_equal(b.plans[1], 0);
    assert_int_equal(b.plans[2], 1);
    assert_true(fabs(b.stop_price[0] - 104.1) < 1e-9);
    /* the plan names the version of the rule whose stop won */
    assert_string_equal(b.versions[0], "1=bbbb");
    assert_string_equal(b.versions[2], ""); /* nothing accepted there */
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.by_code[S6_REJ_OUTRANKED], 1);
    assert_int_equal(st.by_code[S6_REJ_STOP_WRONG_SIDE], 1);
    assert_int_equal(st.unplanned, 0);
}

FX_TEST(untrusted_runs_are_not_planned)
{
    batch b;
    batch_init(&b);
    push(&b, 1, 5, S6_ACT_STOP, 104.0, NAN); /* rule 5: no known version */
    push(&b, 0, 0, S6_ACT_STOP, 104.0, NAN); /* out of order */
    push(&b, 7, 0, S6_ACT_STOP, 104.0, NAN); /* no such position */
    s6_decide_hooks h = hooks_of(&b);
    s6_decide_stats st;
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, b.n, &h, &st), 0);
    assert_int_equal(st.plans, 1);
    assert_int_equal(st.unplanned, 2);
    assert_int_equal(b.plans[0], 0);
    assert_string_equal(b.versions[1], "5=?");

    batch_init(&b);
    push(&b, 0, 0, S6_ACT_STOP, 104.0, NAN);
    b.limits_fail_for = 0;
    h = hooks_of(&b);
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, b.n, &h, &st), 0);
    assert_int_equal(st.plans, 0);
    assert_int_equal(st.unplanned, 1);

    batch_init(&b);
    b.pos[0].side = 0; /* a view the guard cannot trust */
    push(&b, 0, 0, S6_ACT_STOP, 104.0, NAN);
    h = hooks_of(&b);
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, b.n, &h, &st), 0);
    assert_int_equal(st.unplanned, 1);
}

FX_TEST(bad_arguments)
{
    batch b;
    batch_init(&b);
    s6_decide_hooks h = hooks_of(&b), none = {0};
    s6_decide_stats st;
    assert_int_equal(s6_decide_batch(NULL, b.mkt, 3, NULL, 0, &h, &st), S6_EINVAL);
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, NULL, 1, &h, &st), S6_EINVAL);
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, 0, &none, &st), S6_EINVAL);
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, 0, &h, NULL), S6_EINVAL);
    assert_int_equal(s6_decide_batch(b.pos, b.mkt, 3, b.props, 0, &h, &st), 0);
    assert_int_equal(st.plans, 0);
}

FX_TEST(plan_names_each_contributing_rule_once)
{
    fx x;
    fx_init(&x, 1);
    fx_stop(&x, 4, 104.0);
    fx_reduce(&x, 2, 0.5);
    fx_event(&x, 4, "LOCKED");
    fx_event(&x, 3, "NOTE");
    assert_int_equal(s6_guard_plan(&x.pos, &x.mkt, &x.f, &x.lim, x.props, x.n,
                                   &x.plan), 0);
    int ids[S6_PLAN_MAX_RULES];
    size_t n = s6_plan_rules(&x.plan, ids);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_plan_per_position_with_counts),
        cmocka_unit_test(untrusted_runs_are_not_planned),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(plan_names_each_contributing_rule_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
