/*
 * test_engine_async.c — the engine with rules that answer later (as the
 * rule worker does on the loop; docs/rule-worker.md "A batch in
 * flight").  The rules edge here is the Lua one behind a start that
 * holds the batch until the test answers it.  A position saved while its
 * batch was out — closed by its stop, its stop confirmed — gets no plan
 * from that batch; one still open is evaluated again and planned.  While
 * the batch is out, protection runs at once.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"

/* ROE 12% closes half */
#define TP_HALF "{\"tp_ladder\":{\"base\":{\"steps\":" \
                "[{\"roe\":0.12,\"fraction\":0.5}]}}}"

/* The batch held: what the engine handed over, answered by answer(). */
static struct held {
    s6_rules_edge inner;
    const s6_pos_view *pos;
    const s6_mkt_view *mkt;
    size_t n;
    const s6_decide_hooks *hooks;
    s6_decide_stats *stats;
    void (*done)(void *cb_ud, int rc);
    void *cb_ud;
    bool out;
    int starts;
} H;

static int held_start(void *ud, const s6_pos_view *pos,
                      const s6_mkt_view *mkt, size_t n,
                      const s6_decide_hooks *hooks, s6_decide_stats *stats,
                      void (*done)(void *cb_ud, int rc), void *cb_ud,
                      bool *pending)
{
    (void)ud;
    assert_false(H.out); /* one batch at a time */
    H.pos = pos, H.mkt = mkt, H.n = n, H.hooks = hooks, H.stats = stats;
    H.done = done, H.cb_ud = cb_ud;
    H.out = true;
    H.starts++;
    *pending = true;
    return 0;
}

static void held_cancel(void *ud)
{
    (void)ud;
    H.out = false;
}

/* The answer, as the worker's edge takes it: each position asked first;
 * one that changed keeps the rule state it had (the engine drops its
 * plan). */
static void answer(void)
{
    assert_true(H.out);
    H.out = false;
    char *kept[8] = {0};
    assert_true(H.n <= 8);
    for (size_t i = 0; i < H.n; i++)
        if (!H.hooks->current(H.hooks->ud, i))
            kept[i] = H.inner.state_get(H.inner.ud, H.pos[i].slot);
    int slots[8];
    for (size_t i = 0; i < H.n; i++)
        slots[i] = H.pos[i].slot;
    size_t n = H.n;
    int rc = H.inner.run(H.inner.ud, H.pos, H.mkt, H.n, H.hooks, H.stats);
    for (size_t i = 0; i < n; i++)
        if (kept[i] != NULL) {
            H.inner.state_put(H.inner.ud, slots[i], kept[i]);
            free(kept[i]);
        }
    H.done(H.cb_ud, rc);
}

static s6_rules_edge hold(s6_rules_edge inner)
{
    memset(&H, 0, sizeof H);
    H.inner = inner;
    s6_rules_edge e = inner;
    e.start = held_start;
    e.cancel = held_cancel;
    return e;
}

static void confirm_stop(fx *f)
{
    fx_call *c = fx_last(f, S6_PURPOSE_STOP, false);
    assert_non_null(c);
    fx_answer(f, c, S6_ROUTE_OK);
}

static void closed_meanwhile_gets_no_plan(void **st)
{
    (void)st;
    fx f;
    fx_setup_wrapped(&f, TP_HALF, hold);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.2, 50000, 0, 49000), 0);
    confirm_stop(&f);
    while (H.out) /* the entry's own batch */
        answer();
    int starts = H.starts;
    /* ROE 12.2%: the ladder will want half */
    assert_int_equal(fx_price(&f, 50610), 0);
    assert_true(H.out);
    assert_int_equal(H.starts, starts + 1);
    /* the stop fills while the rules run: the position is gone */
    char stop_id[S6_INTENT_ID_MAX + 1];
    snprintf(stop_id, sizeof stop_id, "%s",
             fx_last(&f, S6_PURPOSE_STOP, false)->o.intent_id);
    assert_int_equal(fx_fill(&f, stop_id, S6_FILL_STOP, -1, 0.2, 49000, 0, 0), 0);
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "CLOSED");
    json_decref(p);
    answer();
    assert_int_equal(fx_count(&f, S6_PURPOSE_TP, false), 0);
    assert_false(H.out); /* nothing to evaluate again */
    assert_non_null(strstr((const char *)f.logs.data, "plan dropped"));
    fx_teardown(&f);
}

static void changed_meanwhile_is_evaluated_again(void **st)
{
    (void)st;
    fx f;
    fx_setup_wrapped(&f, TP_HALF, hold);
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.2, 50000, 0, 49000), 0);
    while (H.out)
        answer();
    assert_int_equal(fx_price(&f, 50610), 0);
    assert_true(H.out);
    int starts = H.starts;
    /* the stop is confirmed while the rules run (a save) */
    confirm_stop(&f);
    /* a price meanwhile: protection now, the rules after the batch */
    assert_int_equal(fx_price(&f, 50620), 0);
    assert_int_equal(H.starts, starts);
    answer();
    assert_int_equal(fx_count(&f, S6_PURPOSE_TP, false), 0); /* dropped */
    assert_true(H.out); /* evaluated again at once */
    assert_int_equal(H.starts, starts + 1);
    assert_int_equal(H.n, 1);
    answer();
    fx_call *tp = fx_last(&f, S6_PURPOSE_TP, false);
    assert_non_null(tp);
    assert_string_equal(tp->o.qty_str, "0.100");
    while (H.out)
        answer();
    assert_int_equal(fx_count(&f, S6_PURPOSE_TP, false), 1);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_meanwhile_gets_no_plan),
        cmocka_unit_test(changed_meanwhile_is_evaluated_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
