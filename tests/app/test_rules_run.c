/*
 * s6_rules_svc_run, the engine's one call per batch: rules evaluated,
 * proposals guarded into plans that name their rule versions, every
 * dropped proposal logged with its reason and counted by code.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "rules/service.h"
#include "util/buf.h"
#include "../support/no_limits.h"

typedef struct seen {
    int plans;
    double stop;
    char version[17];
} seen;

static void capture(void *ud, const char *line, size_t len)
{
    s6_buf_append(ud, line, len);
}

static void on_plan(void *ud, size_t pi, const s6_plan *plan,
                    const s6_proposal *props, size_t n,
                    const s6_plan_versions *v)
{
    seen *s = ud;
    (void)pi;
    (void)props;
    (void)n;
    s->plans++;
    s->stop = plan->stop.active ? plan->stop.price : 0;
    if (v->n == 1)
        snprintf(s->version, sizeof s->version, "%s", v->hashes[0]);
}

/* The rule host in-process on a folder, as the engine's edge starts it. */
static void start_rules(s6_rules_svc *rs, const char *dir, s6_log *log,
                        s6_metrics *m)
{
    s6_rules_svc_config cfg;
    s6_rules_svc_config_default(&cfg);
    cfg.rules_dir = dir;
    static char lua_dir[512]; /* the host keeps it for every later build */
    char err[512] = "";
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", getenv("S6_SOURCE_DIR"));
    cfg.lua_dir = lua_dir;
    assert_int_equal(s6_rules_svc_start(rs, NULL, log, m, &cfg, err, sizeof err), 0);
}

/* A 3 BTC long at 100 with the mark at 110. */
static const s6_pos_view POS = {.slot = 0, .side = 1, .qty = 3, .entry = 100,
                                .margin = 30, .leverage = 10, .n_entries = 1,
                                .entry_qty = {3}, .liq_distance = INFINITY};
static const s6_mkt_view MKT = {.now = 10, .mark = 110, .last = 110,
                                .mid = 110, .health = 1,
                                .trigger = S6_TRIG_TICK};

/* Two rules: one proposes a good stop (rounded up to the tick), the other
 * a stop above the mark, which the guard drops.  (A rule proposing that on
 * the canned positions would not even load: the probe refuses it.) */
static void plans_logged_and_counted(void **state)
{
    (void)state;
    char dir[] = "/tmp/s6-run-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const struct { const char *file, *src; } rules[] = {
        { "good.lua", "return { name = 'good', triggers = { 'tick' },\n"
                      "  evaluate = function(pos, mkt)\n"
                      "    return { act.stop(mkt.mark - pos.side * 5.2, 'trail') } end }\n" },
        { "wrong.lua", "return { name = 'wrong', triggers = { 'tick' },\n"
                       "  evaluate = function(pos, mkt)\n"
                       "    if pos.qty == 3 then -- only live: the probe holds 1\n"
                       "      return { act.stop(mkt.mark + 1, 'oops') } end end }\n" },
    };
    for (size_t i = 0; i < 2; i++) {
        char path[96];
        snprintf(path, sizeof path, "%s/%s", dir, rules[i].file);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(rules[i].src, f);
        fclose(f);
    }
    s6_log log;
    s6_buf lines = {0};
    s6_log_init(&log, S6_LOG_INFO);
    s6_log_set_sink(&log, capture, &lines);
    s6_metrics *m;
    assert_int_equal(s6_metrics_new_service(&m), 0);
    s6_rules_svc rs;
    start_rules(&rs, dir, &log, m);

    s6_pos_view pos = POS;
    s6_mkt_view mkt = MKT;
    s6_sink sink;
    s6_state_store store;
    assert_int_equal(s6_sink_init(&sink, 64), 0);
    assert_int_equal(s6_state_store_init(&store, 1, 8), 0);
    seen s = {0};
    s6_decide_hooks h = {.limits = s6test_no_limits, .plan = on_plan, .ud = &s};
    s6_decide_stats st;
    assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store, &h, &st), 0);

    /* 110 - 5.2 = 104.8, rounded up (tighter for a long) to 105.0 */
    assert_int_equal(s.plans, 1);
    assert_true(fabs(s.stop - 105.0) < 1e-9);
    assert_string_equal(s.version, s6_registry_find(&rs.reg, "good")->hash);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.by_code[S6_REJ_STOP_WRONG_SIDE], 1);
    s6_buf_append(&lines, "", 1);
    const char *drop = strstr(lines.data, "\"msg\":\"proposal dropped\"");
    assert_non_null(drop);
    assert_non_null(strstr(drop, "\"rule\":\"wrong\""));
    assert_non_null(strstr(drop, "\"code\":\"stop_wrong_side\""));

    s6_buf scrape = {0};
    assert_int_equal(s6_metrics_render(m, &scrape), 0);
    s6_buf_append(&scrape, "", 1);
    assert_non_null(strstr(scrape.data,
        "s6_proposals_rejected_total{code=\"stop_wrong_side\"} 1\n"));
    assert_non_null(strstr(scrape.data, "s6_rule_eval_seconds_count 1\n"));

    s6_buf_free(&scrape);
    s6_buf_free(&lines);
    s6_sink_free(&sink);
    s6_state_store_free(&store);
    s6_rules_svc_free(&rs);
    s6_metrics_free(m);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *const TRAIL =
    "return { name = 'trail', triggers = { 'tick' },\n"
    "  evaluate = function(pos, mkt)\n"
    "    return { act.stop(mkt.mark - pos.side * %s, 'trail') } end }\n";

static double metric(s6_metrics *m, const char *series)
{
    s6_buf scrape = {0};
    assert_int_equal(s6_metrics_render(m, &scrape), 0);
    s6_buf_append(&scrape, "", 1);
    const char *at = strstr(scrape.data, series);
    double v = at != NULL ? strtod(at + strlen(series), NULL) : -1;
    s6_buf_free(&scrape);
    return v;
}

/* A shadow version runs beside the live one: its different stop is
 * counted and described, never handed to the engine; promoted, it is the
 * live version, on disk too. */
static void shadow_counted_never_acted_then_promoted(void **state)
{
    (void)state;
    char dir[] = "/tmp/s6-shadow-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char live[512], shadow[512];
    snprintf(live, sizeof live, TRAIL, "5.2");
    snprintf(shadow, sizeof shadow, TRAIL, "3.2");
    write_file(dir, "trail.lua", live);
    write_file(dir, "trail.shadow.lua", shadow);
    s6_log log;
    s6_log_init(&log, S6_LOG_OFF);
    s6_metrics *m;
    assert_int_equal(s6_metrics_new_service(&m), 0);
    s6_rules_svc rs;
    start_rules(&rs, dir, &log, m);
    const s6_rule_entry *e = s6_registry_find(&rs.reg, "trail");
    assert_non_null(e->shadow);

    s6_pos_view pos = POS;
    s6_mkt_view mkt = MKT;
    s6_sink sink;
    s6_state_store store;
    assert_int_equal(s6_sink_init(&sink, 64), 0);
    assert_int_equal(s6_state_store_init(&store, 1, 8), 0);
    seen s = {0};
    s6_decide_hooks h = {.limits = s6test_no_limits, .plan = on_plan, .ud = &s};
    s6_decide_stats st;
    for (int i = 0; i < 2; i++)
        assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store, &h, &st), 0);
    /* the engine saw the live plans only: 110 - 5.2 on the tick, 105.0 */
    assert_int_equal(s.plans, 2);
    assert_true(fabs(s.stop - 105.0) < 1e-9);
    assert_int_equal(e->shadow_evals, 2);
    assert_int_equal(e->shadow_differed, 2);
    assert_int_equal(e->shadow_diff[S6_SHADOW_STOP], 2);
    assert_int_equal(e->shadow_diff[S6_SHADOW_REDUCE], 0);
    assert_non_null(strstr(e->shadow_last_diff, "stop 105 live, 107 shadow"));
    assert_true(metric(m, "s6_rule_shadow_diffs_total{rule=\"trail\",kind=\"stop\"} ") == 2);
    assert_true(metric(m, "s6_rule_shadow_evals_total{rule=\"trail\"} ") == 2);
    json_t *doc = s6_rules_svc_health(&rs);
    json_t *r0 = json_array_get(json_object_get(doc, "rules"), 0);
    json_t *sh = json_object_get(r0, "shadow");
    assert_int_equal(json_integer_value(json_object_get(sh, "differed")), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(sh, "diff"), "stop")), 2);
    json_decref(doc);

    char err[512];
    assert_int_equal(s6_rules_svc_promote(&rs, "nope", err, sizeof err), S6_ENOTFOUND);
    assert_int_equal(s6_rules_svc_promote(&rs, "trail", err, sizeof err), 0);
    assert_null(e->shadow);
    assert_int_equal(s6_rules_svc_promote(&rs, "trail", err, sizeof err), S6_EINVAL);
    assert_true(metric(m, "s6_rule_reloads_total{result=\"promoted\"} ") == 1);
    /* on disk: the live file holds the shadow's text, the shadow is gone */
    char path[128], text[512] = "";
    snprintf(path, sizeof path, "%s/trail.lua", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    assert_string_equal(text, shadow);
    snprintf(path, sizeof path, "%s/trail.shadow.lua", dir);
    assert_int_equal(access(path, F_OK), -1);
    /* a reload finds nothing new; the promoted version acts */
    assert_int_equal(s6_rules_svc_reload(&rs), 0);
    assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store, &h, &st), 0);
    assert_true(fabs(s.stop - 107.0) < 1e-9);
    assert_int_equal(e->shadow_evals, 0);

    s6_sink_free(&sink);
    s6_state_store_free(&store);
    s6_rules_svc_free(&rs);
    s6_metrics_free(m);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* rules.shadow_promote_after_s: a shadow that ran that long on live
 * positions without a fault goes live by itself, in the service (a loop);
 * a faulting one never does. */
static void shadow_promoted_after_a_clean_run(void **state)
{
    (void)state;
    char dir[] = "/tmp/s6-autopromote-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char live[512], shadow[512];
    snprintf(live, sizeof live, TRAIL, "5.2");
    snprintf(shadow, sizeof shadow, TRAIL, "3.2");
    write_file(dir, "trail.lua", live);
    write_file(dir, "trail.shadow.lua", shadow);
    s6_log log;
    s6_log_init(&log, S6_LOG_OFF);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    s6_rules_svc_config cfg;
    s6_rules_svc_config_default(&cfg);
    cfg.rules_dir = dir;
    static char lua_dir[512];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", getenv("S6_SOURCE_DIR"));
    cfg.lua_dir = lua_dir;
    cfg.shadow_promote_after_s = 0.05;
    char err[512] = "";
    s6_rules_svc rs;
    /* the shadow's time runs from its start, inside s6_rules_svc_start */
    uint64_t t0 = uv_hrtime();
    assert_int_equal(s6_rules_svc_start(&rs, &loop, &log, NULL, &cfg, err,
                                        sizeof err), 0);
    s6_pos_view pos = POS;
    s6_mkt_view mkt = MKT;
    s6_sink sink;
    s6_state_store store;
    assert_int_equal(s6_sink_init(&sink, 64), 0);
    assert_int_equal(s6_state_store_init(&store, 1, 8), 0);
    seen s = {0};
    s6_decide_hooks h = {.limits = s6test_no_limits, .plan = on_plan, .ud = &s};
    s6_decide_stats st;
    const s6_rule_entry *e = s6_registry_find(&rs.reg, "trail");
    /* batches until the shadow has run its time: then it is live */
    while (e->shadow != NULL) {
        assert_true(uv_hrtime() - t0 < 5000000000ull);
        assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store,
                                          &h, &st), 0);
    }
    assert_true(uv_hrtime() - t0 >= 50000000ull);
    assert_int_equal(rs.reg.promotions, 1);
    assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store, &h,
                                      &st), 0);
    assert_true(fabs(s.stop - 107.0) < 1e-9); /* the promoted version acts */

    /* a shadow that faults is never promoted, however long it runs */
    write_file(dir, "trail.shadow.lua",
               "return { name = 'trail', triggers = { 'tick' },\n"
               "  evaluate = function(pos) if pos.qty == 3 then\n"
               "    error('shadow bug') end end }\n");
    assert_int_equal(s6_rules_svc_reload(&rs), 0);
    assert_non_null(e->shadow);
    assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store, &h,
                                      &st), 0);
    assert_int_equal(e->shadow_faults, 1);
    t0 = uv_hrtime();
    while (uv_hrtime() - t0 < 100000000ull)
        assert_int_equal(s6_rules_svc_run(&rs, &pos, &mkt, 1, &sink, &store,
                                          &h, &st), 0);
    assert_int_equal(rs.reg.promotions, 1);

    s6_rules_svc_stop(&rs);
    uv_run(&loop, UV_RUN_NOWAIT);
    s6_sink_free(&sink);
    s6_state_store_free(&store);
    s6_rules_svc_free(&rs);
    (void)uv_loop_close(&loop);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plans_logged_and_counted),
        cmocka_unit_test(shadow_counted_never_acted_then_promoted),
        cmocka_unit_test(shadow_promoted_after_a_clean_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
