/*
 * test_async_eval.c — a batch through the rule worker without waiting
 * (docs/rule-worker.md, "A batch in flight"), on a real libuv loop and
 * the real s6-position worker: the start returns before the answer is
 * read; the plans come from the loop.  A position its caller says
 * changed while the batch was out (hooks.current = 0) gets no plan and
 * keeps its rule state, in the service and in the worker: evaluated
 * again, it proposes what it would have.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "rules/edge.h"
#include "rules/service.h"
#include "../support/no_limits.h"

enum { NPOS = 2 };

/* Proposes its stop once per position: its state remembers it did. */
static const char ONCE[] =
    "return { name = 'once', triggers = { 'tick', 'price' },\n"
    "  evaluate = function(pos, mkt, params, state)\n"
    "    if state.done then return {} end\n"
    "    return { act.stop(mkt.mark - pos.side * 5, 'once') },\n"
    "           { done = true } end }\n";

typedef struct rig {
    char dir[64];
    uv_loop_t loop;
    s6_log log;
    s6_metrics *m;
    s6_rules_svc svc;
    s6_rules_edge edge;
    s6_pos_view pos[NPOS];
    s6_mkt_view mkt[NPOS];
    s6_decide_hooks hooks; /* lives until the answer */
    s6_decide_stats stats;
    int keep[NPOS];
    int asked[NPOS];
    int planned[NPOS];
    int done, rc;
} rig;

static void on_plan(void *ud, size_t pi, const s6_plan *plan,
                    const s6_proposal *props, size_t n,
                    const s6_plan_versions *v)
{
    rig *r = ud;
    (void)props, (void)n, (void)v;
    if (pi < NPOS && plan->stop.active)
        r->planned[pi]++;
}

static int current(void *ud, size_t pi)
{
    rig *r = ud;
    r->asked[pi]++;
    return r->keep[pi];
}

static void on_done(void *ud, int rc)
{
    rig *r = ud;
    r->done++;
    r->rc = rc;
}

static void setup_rig(rig *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/s6-async-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/once.lua", r->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(ONCE, 1, sizeof ONCE - 1, f), sizeof ONCE - 1);
    fclose(f);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    s6_log_init(&r->log, S6_LOG_OFF);
    assert_int_equal(s6_metrics_new_service(&r->m), 0);
    s6_rules_svc_config cfg;
    s6_rules_svc_config_default(&cfg);
    static char lua_dir[512];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", getenv("S6_SOURCE_DIR"));
    cfg.rules_dir = r->dir;
    cfg.lua_dir = lua_dir;
    cfg.worker_exe = S6_POSITION_EXE;
    /* no timing is tested here: a cold worker on a loaded machine must
     * not meet the hard limit (-ETIMEDOUT) */
    cfg.deadline_ms = 1000;
    char err[512] = "";
    if (s6_rules_svc_start(&r->svc, &r->loop, &r->log, r->m, &cfg, err,
                           sizeof err) != 0)
        fail_msg("rules: %s", err);
    assert_int_equal(s6_rules_edge_lua(&r->svc, 8, &r->edge, err, sizeof err),
                     0);
    assert_non_null(r->edge.start);
}

static void teardown_rig(rig *r)
{
    s6_rules_edge_free(&r->edge);
    s6_rules_svc_stop(&r->svc);
    s6_rules_svc_free(&r->svc);
    uv_run(&r->loop, UV_RUN_NOWAIT); /* the watcher's handles close */
    assert_int_equal(uv_loop_close(&r->loop), 0);
    s6_metrics_free(r->m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
}

/* Both positions at a mark of 120, sent; the answer is the loop's. */
static void send_batch(rig *r, int keep0, int keep1)
{
    for (int i = 0; i < NPOS; i++) {
        r->pos[i] = (s6_pos_view){.slot = i, .side = 1, .qty = 1,
                                  .entry = 100, .margin = 10, .leverage = 10,
                                  .n_entries = 1, .entry_qty = {1},
                                  .liq_distance = INFINITY};
        r->mkt[i] = (s6_mkt_view){.now = 1e9, .mark = 120, .last = 120,
                                  .mid = 120, .health = 1,
                                  .trigger = S6_TRIG_PRICE};
        r->planned[i] = r->asked[i] = 0;
    }
    r->keep[0] = keep0;
    r->keep[1] = keep1;
    r->done = 0;
    r->hooks = (s6_decide_hooks){.limits = s6test_no_limits, .plan = on_plan,
                                 .current = current, .ud = r};
    bool pending = false;
    assert_int_equal(r->edge.start(r->edge.ud, r->pos, r->mkt, NPOS,
                                   &r->hooks, &r->stats, on_done, r,
                                   &pending),
                     0);
    assert_true(pending);
}

/* One batch of both positions, started, then answered on the loop. */
static void batch(rig *r, int keep0, int keep1)
{
    send_batch(r, keep0, keep1);
    /* nothing of the answer before the loop reads it */
    assert_int_equal(r->done + r->planned[0] + r->planned[1] + r->asked[0] +
                         r->asked[1], 0);
    while (r->done == 0)
        assert_true(uv_run(&r->loop, UV_RUN_ONCE) >= 0);
    assert_int_equal(r->done, 1);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->asked[0], 1);
    assert_int_equal(r->asked[1], 1);
}

static bool state_done(rig *r, int slot)
{
    char *s = r->edge.state_get(r->edge.ud, slot);
    bool done = s != NULL && strstr(s, "\"done\":true") != NULL;
    free(s);
    return done;
}

static void changed_position_gets_no_plan_and_keeps_its_state(void **state)
{
    (void)state;
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    setup_rig(r);
    batch(r, 0, 1); /* position 0 changed while the batch was out */
    assert_int_equal(r->planned[0], 0);
    assert_int_equal(r->planned[1], 1);
    assert_false(state_done(r, 0));
    assert_true(state_done(r, 1));
    batch(r, 1, 1); /* evaluated again: as if the first never happened */
    assert_int_equal(r->planned[0], 1);
    assert_int_equal(r->planned[1], 0);
    assert_true(state_done(r, 0));
    teardown_rig(r);
    free(r);
}

/* A batch out when the rule set is replaced: the old worker answers it,
 * then goes; the next batch runs on the new set. */
static void replaced_set_answers_its_batch(void **state)
{
    (void)state;
    rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    setup_rig(r);
    send_batch(r, 1, 1);
    assert_int_equal(s6_registry_rebuild(&r->svc.reg), 0); /* a new set */
    while (r->done == 0)
        assert_true(uv_run(&r->loop, UV_RUN_ONCE) >= 0);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->planned[0] + r->planned[1], 2);
    batch(r, 1, 1);
    assert_int_equal(r->planned[0] + r->planned[1], 0); /* state kept */
    teardown_rig(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changed_position_gets_no_plan_and_keeps_its_state),
        cmocka_unit_test(replaced_set_answers_its_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
