/*
 * guard_fixture.h — a position, its market, filters and limits for the
 * guard suites, with builders for proposals and checks on the plan.
 *
 * The defaults are round numbers chosen so the expected values in the
 * tests can be worked out by hand:
 *   long 1.0 @ 100, leverage 10, stop 95, mark 110
 *   short 1.0 @ 100, leverage 10, stop 105, mark 90
 *   tick 0.1, step 0.001, min qty 0.01, min notional 5
 *   minimum stop move 0.001 of the mark; add cap 2 every 300 s;
 *   max 10 base / 2000 quote / leverage 20; risk budget 100
 * Absent proposal fields are NaN, as the rule host writes them.
 */
#pragma once

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "contract/guard.h"
#include "core/s6_core.h"

#define FX_TEST(name) \
    static void name(void **state_unused_ __attribute__((unused)))

typedef struct fx {
    s6_pos_view pos;
    s6_mkt_view mkt;
    s6_symbol_filters f;
    s6_limits lim;
    s6_proposal props[S6_PLAN_MAX_PROPOSALS + 1];
    size_t n;
    s6_plan plan;
} fx;

static inline void fx_init(fx *x, int side)
{
    memset(x, 0, sizeof *x);
    x->pos = (s6_pos_view){.slot = 7, .side = side, .qty = 1.0,
                           .entry = 100.0, .margin = 10.0, .leverage = 10.0,
                           .opened_at = 1000.0,
                           .stop = side > 0 ? 95.0 : 105.0};
    x->mkt = (s6_mkt_view){.now = 10000.0, .mark = side > 0 ? 110.0 : 90.0,
                           .health = 1.0};
    x->mkt.last = x->mkt.mid = x->mkt.mark;
    x->f = (s6_symbol_filters){.tick = 0.1, .step = 0.001, .min_qty = 0.01,
                               .min_notional = 5.0};
    x->lim = (s6_limits){.max_position_qty = 10.0,
                         .max_position_notional = 2000.0,
                         .max_leverage = 20.0, .add_cap = 2,
                         .add_min_interval_s = 300.0,
                         .risk_budget_free = 100.0, .concurrency_ok = true,
                         .min_stop_move_frac = 0.001};
}

/* Appends a proposal and returns its index. */
static inline int fx_prop(fx *x, int rule, int kind, double price, double qty,
                          double fraction, const char *name)
{
    s6_proposal *p = &x->props[x->n];
    memset(p, 0, sizeof *p);
    p->pos_index = 3;
    p->rule_index = rule;
    p->kind = kind;
    p->price = price;
    p->qty = qty;
    p->fraction = fraction;
    if (name != NULL)
        snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->reason, sizeof p->reason, "rule %d", rule);
    return (int)x->n++;
}

static inline int fx_stop(fx *x, int rule, double price)
{
    return fx_prop(x, rule, S6_ACT_STOP, price, NAN, NAN, NULL);
}
static inline int fx_reduce(fx *x, int rule, double qty)
{
    return fx_prop(x, rule, S6_ACT_REDUCE, NAN, qty, NAN, NULL);
}
static inline int fx_reduce_frac(fx *x, int rule, double fraction)
{
    return fx_prop(x, rule, S6_ACT_REDUCE, NAN, NAN, fraction, NULL);
}
static inline int fx_close(fx *x, int rule)
{
    return fx_prop(x, rule, S6_ACT_CLOSE, NAN, NAN, NAN, NULL);
}
static inline int fx_add(fx *x, int rule, double qty)
{
    return fx_prop(x, rule, S6_ACT_ADD, NAN, qty, NAN, NULL);
}
static inline int fx_event(fx *x, int rule, const char *name)
{
    return fx_prop(x, rule, S6_ACT_EVENT, NAN, NAN, NAN, name);
}

static inline size_t fx_accepted(const s6_plan *p)
{
    return (size_t)p->stop.active + (size_t)p->reduce.active +
           (size_t)p->add.active + (size_t)p->hedge.active + p->n_events;
}

/* Runs the guard; every proposal must end in the plan or be rejected once. */
static inline void fx_run_at(fx *x, const char *file, int line)
{
    int rc = s6_guard_plan(&x->pos, &x->mkt, &x->f, &x->lim, x->props, x->n,
                           &x->plan);
    if (rc != 0) {
        print_error("s6_guard_plan returned %d\n", rc);
        _fail(file, line);
    }
    if (fx_accepted(&x->plan) + x->plan.n_rejects != x->n) {
        print_error("%zu accepted + %zu rejected != %zu proposals\n",
                    fx_accepted(&x->plan), x->plan.n_rejects, x->n);
        _fail(file, line);
    }
    for (size_t i = 0; i < x->n; i++) {
        int seen = 0;
        for (size_t k = 0; k < x->plan.n_rejects; k++)
            seen += x->plan.rejects[k].proposal == (int)i;
        if (seen > 1) {
            print_error("proposal %zu rejected %d times\n", i, seen);
            _fail(file, line);
        }
    }
}
#define fx_run(x) fx_run_at((x), __FILE__, __LINE__)

static inline void fx_rejected_at(const fx *x, int index, int code,
                                  const char *file, int line)
{
    const s6_plan_reject *r = s6_plan_find_reject(&x->plan, index);
    if (r == NULL) {
        print_error("proposal %d accepted, expected %s\n", index,
                    s6_reject_name(code));
        _fail(file, line);
    }
    if (r->code != code || r->reason[0] == '\0' ||
        r->rule_index != x->props[index].rule_index ||
        r->kind != x->props[index].kind) {
        print_error("proposal %d: %s (\"%s\", rule %d, kind %d), expected "
                    "%s\n", index, s6_reject_name(r->code), r->reason,
                    r->rule_index, r->kind, s6_reject_name(code));
        _fail(file, line);
    }
}
#define assert_rejected(x, index, code) \
    fx_rejected_at((x), (index), (code), __FILE__, __LINE__)

static inline void fx_accepted_at(const fx *x, int index, const char *file,
                                  int line)
{
    const s6_plan_reject *r = s6_plan_find_reject(&x->plan, index);
    if (r != NULL) {
        print_error("proposal %d rejected: %s \"%s\"\n", index,
                    s6_reject_name(r->code), r->reason);
        _fail(file, line);
    }
}
#define assert_accepted(x, index) \
    fx_accepted_at((x), (index), __FILE__, __LINE__)

/* The reason given for proposal index mentions text (a number, a word). */
static inline void fx_reason_has_at(const fx *x, int index, const char *text,
                                    const char *file, int line)
{
    const s6_plan_reject *r = s6_plan_find_reject(&x->plan, index);
    if (r == NULL || strstr(r->reason, text) == NULL) {
        print_error("reason \"%s\" lacks \"%s\"\n", r ? r->reason : "(none)",
                    text);
        _fail(file, line);
    }
}
#define assert_reason_has(x, index, text) \
    fx_reason_has_at((x), (index), (text), __FILE__, __LINE__)

/* Exact double comparison, printed with every digit. */
static inline void fx_same_at(double got, double want, const char *file,
                              int line)
{
    if (!(got == want)) {
        print_error("%.17g != %.17g\n", got, want);
        _fail(file, line);
    }
}
#define assert_same(got, want) fx_same_at((got), (want), __FILE__, __LINE__)

/* One proposal on a fresh fixture: returns its rejection code, or
 * S6_REJ_NONE when it reached the plan. */
static inline int fx_code_of(fx *x)
{
    fx_run(x);
    const s6_plan_reject *r = s6_plan_find_reject(&x->plan, (int)x->n - 1);
    return r != NULL ? r->code : S6_REJ_NONE;
}
