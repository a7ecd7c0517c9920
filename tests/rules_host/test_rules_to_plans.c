/*
 * Rules propose, the host disposes — end to end with the shipped rules:
 * the real rules/ folder evaluated by the rule host, every proposal run
 * through the guard into one plan per position, each plan naming the
 * content hash of the rule versions it came from.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contract/decide.h"
#include "rules/registry.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "rules/watchdog.h"

enum { N = 4 };

typedef struct seen {
    const s6_rule_registry *reg;
    int plans;
    int stop_rule[N];
    double stop_price[N];
    char stop_version[N][17];
    int rejected;
    double reduced[N];
    bool resize[N];
    double resize_qty[N];
} seen;

static int limits(void *ud, size_t pi, s6_symbol_filters *f, s6_limits *l)
{
    (void)ud;
    (void)pi;
    *f = (s6_symbol_filters){.tick = 0.1, .step = 0.001, .min_qty = 0.001,
                             .min_notional = 5};
    *l = (s6_limits){.max_position_qty = 100, .max_position_notional = 1e6,
                     .max_leverage = 20, .add_cap = 2,
                     .add_min_interval_s = 300, .risk_budget_free = 1e4,
                     .concurrency_ok = true, .min_stop_move_frac = 0.0005};
    return 0;
}

static void on_plan(void *ud, size_t pi, const s6_plan *plan,
                    const s6_proposal *props, size_t n,
                    const s6_plan_versions *v)
{
    seen *s = ud;
    (void)props;
    (void)n;
    s->plans++;
    s->rejected += (int)plan->n_rejects;
    s->reduced[pi] = plan->reduce.active ? plan->reduce.qty : 0;
    s->resize[pi] = plan->stop_resize;
    s->resize_qty[pi] = plan->stop_qty;
    if (!plan->stop.active)
        return;
    s->stop_rule[pi] = plan->stop.rule_index;
    s->stop_price[pi] = plan->stop.price;
    for (size_t i = 0; i < v->n; i++)
        if (v->ids[i] == plan->stop.rule_index)
            snprintf(s->stop_version[pi], 17, "%s", v->hashes[i]);
}

static void shipped_rules_make_guarded_plans(void **state)
{
    (void)state;
    char rules_dir[512], lua_dir[512], err[512] = "";
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", getenv("S6_SOURCE_DIR"));
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", getenv("S6_SOURCE_DIR"));
    s6_watchdog *wd;
    assert_int_equal(s6_watchdog_start(&wd), 0);
    s6_ruleset_opts o = {.lua_dir = lua_dir, .mem_limit = 64u << 20,
                         .deadline_ms = 100, .deadline_us_per_eval = 10,
                         .load_deadline_ms = 2000, .watchdog = wd};
    s6_rule_registry reg;
    assert_int_equal(s6_registry_init(&reg, rules_dir, &o), 0);
    assert_int_equal(s6_registry_load(&reg, err, sizeof err), 0);
    s6_sink sink;
    s6_state_store store;
    assert_int_equal(s6_sink_init(&sink, 256), 0);
    assert_int_equal(s6_state_store_init(&store, N, S6_REG_MAX_RULES), 0);

    /* a long and a short at +25% ROE (past both lock-in steps), a long at
     * +5% (nothing to lock yet), a short at -5% */
    static const struct { int side; double mark; } cases[N] = {
        {1, 102.5}, {-1, 97.5}, {1, 100.5}, {-1, 100.5}};
    s6_pos_view pos[N];
    s6_mkt_view mkt[N];
    for (int i = 0; i < N; i++) {
        /* two entry fills of 1: the ladder's first step takes one back */
        pos[i] = (s6_pos_view){.slot = i, .side = cases[i].side, .qty = 2,
                               .entry = 100, .margin = 20, .leverage = 10,
                               .exit_fee_rate = 0.0005, .fees_paid = 0.1,
                               .n_entries = 2, .entry_qty = {1, 1},
                               .stop = cases[i].side > 0 ? 95 : 105,
                               .opened_at = 0, .liq_distance = INFINITY};
        pos[i].upnl = cases[i].side * 2 * (cases[i].mark - 100);
        pos[i].roe = pos[i].upnl / 20;
        pos[i].best_price = cases[i].mark;
        mkt[i] = (s6_mkt_view){.now = 60, .mark = cases[i].mark,
                               .last = cases[i].mark, .mid = cases[i].mark,
                               .atr = NAN, .health = 1,
                               .trigger = S6_TRIG_PRICE};
    }
    s6_eval_report rep;
    assert_int_equal(s6_ruleset_eval(reg.live, pos, mkt, N, &sink, &store, &rep), 0);
    assert_int_equal(rep.errors + rep.overruns, 0);

    const char *hashes[S6_REG_MAX_RULES];
    int nrules = s6_registry_hashes(&reg, hashes, S6_REG_MAX_RULES);
    seen s = {.reg = &reg};
    s6_decide_hooks h = {.limits = limits, .plan = on_plan,
                         .rule_hashes = hashes,
                         .n_rule_hashes = (size_t)nrules, .ud = &s};
    s6_decide_stats st;
    assert_int_equal(s6_decide_batch(pos, mkt, N, sink.v, sink.n, &h, &st), 0);
    assert_int_equal(st.unplanned, 0);

    /* +25% ROE: trailing_stop locks 10% ROE net of fees.  Long:
     * P = (0.1*20 + 0.1 + 2*100) / (2*(1 - 0.0005)) = 202.1 / 1.999
     *   = 101.1005..., on the tick upwards (tighter) = 101.2 */
    const s6_rule_entry *ts = s6_registry_find(&reg, "trailing_stop");
    assert_non_null(ts);
    assert_int_equal(s.stop_rule[0], ts->id);
    assert_true(fabs(s.stop_price[0] - 101.2) < 1e-9);
    assert_string_equal(s.stop_version[0], ts->hash);
    /* Short: P = (2*100 - 0.1*20 - 0.1) / (2*(1 + 0.0005)) = 197.9 / 2.001
     *      = 98.9005..., on the tick downwards = 98.9 */
    assert_int_equal(s.stop_rule[1], ts->id);
    assert_true(fabs(s.stop_price[1] - 98.9) < 1e-9);
    /* no lock below 10% ROE */
    assert_true(s.stop_price[2] == 0 && s.stop_price[3] == 0);
    /* the ladder's 12% step took entry_quantities[1] back: a partial
     * close, so the plan asks for the stop to be resized to what is left */
    assert_true(fabs(s.reduced[0] - 1.0) < 1e-12);
    assert_true(s.resize[0] && fabs(s.resize_qty[0] - 1.0) < 1e-12);

    s6_registry_free(&reg);
    s6_sink_free(&sink);
    s6_state_store_free(&store);
    s6_watchdog_stop(wd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_rules_make_guarded_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
