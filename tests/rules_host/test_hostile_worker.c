/*
 * Hostile rules against the rule worker (docs/rule-worker.md): each attack
 * of tests/hostile/rules, armed only on live positions (a time bomb: the
 * probe and the self-checks pass it), runs beside an honest trailing rule
 * through the service's own path (registry, worker process, edge, guard).
 * Whatever the attack does, every batch returns within a second (the
 * hard limit and a restart; more under the sanitizers), the
 * attack is quarantined or cut to size, and the honest rule's stop keeps
 * coming for both positions.  (The service's own /health bound is
 * service_hostile's.)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostile.h"
#include "rules/edge.h"
#include "rules/service.h"
#include "util/buf.h"
#include "../support/no_limits.h"

enum { NPOS = 2, BATCHES = 12 };

/* The longest a batch may hold its caller: the hard limit of a worker
 * that must be killed, then the new worker's start.  Under the sanitizers
 * that start alone (spawn, load the set) takes most of a second. */
#ifdef S6_SANITIZE
static const double MAX_BATCH_S = 2.5;
#else
static const double MAX_BATCH_S = 1.0;
#endif

/* An honest rule: a stop 5 below the mark (long), and a check that the
 * views it reads are the host's, whatever ran before it. */
static const char HONEST[] =
    "return { name = 'trail', triggers = { 'tick', 'price' },\n"
    "  evaluate = function(pos, mkt)\n"
    "    local eq = pos.entry_quantities\n"
    "    assert(eq[1] == pos.qty and eq[2] == nil, 'entry_quantities poisoned')\n"
    "    assert(pos.entry == 100, 'entry poisoned')\n"
    "    return { act.stop(mkt.mark - pos.side * 5, 'trail') } end }\n";

typedef struct rig {
    char dir[64];
    s6_log log;
    s6_buf lines;
    s6_metrics *m;
    s6_rules_svc svc;
    s6_rules_edge edge;
    double stop[NPOS];
    int plans;
} rig;

static void capture(void *ud, const char *line, size_t len)
{
    s6_buf_append(ud, line, len);
}

static void write_file(const char *dir, const char *name, const char *text,
                       size_t len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* The attack's file, armed for live positions only. */
static void write_attack(const char *dir, const char *attack)
{
    static char src[16384];
    size_t n = s6_hostile_source(attack, 1, src, sizeof src);
    assert_true(n > 0);
    char file[64];
    snprintf(file, sizeof file, "%s.lua", attack);
    write_file(dir, file, src, n);
}

static void on_plan(void *ud, size_t pi, const s6_plan *plan,
                    const s6_proposal *props, size_t n,
                    const s6_plan_versions *v)
{
    rig *r = ud;
    (void)props;
    (void)n;
    (void)v;
    r->plans++;
    if (plan->stop.active && pi < NPOS)
        r->stop[pi] = plan->stop.price;
}

static void start(rig *r, const char *attack)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/s6-hostile-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    write_file(r->dir, "trail.lua", HONEST, sizeof HONEST - 1);
    write_attack(r->dir, attack);
    s6_log_init(&r->log, S6_LOG_INFO);
    s6_log_set_sink(&r->log, capture, &r->lines);
    assert_int_equal(s6_metrics_new_service(&r->m), 0);
    s6_rules_svc_config cfg;
    s6_rules_svc_config_default(&cfg);
    static char lua_dir[512];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", getenv("S6_SOURCE_DIR"));
    cfg.rules_dir = r->dir;
    cfg.lua_dir = lua_dir;
    cfg.deadline_ms = 50; /* the service's: a cold worker under ASan needs it */
    cfg.load_deadline_ms = 500;
    cfg.rollback_faults = 2;
    cfg.worker_exe = S6_POSITION_EXE;
    char err[512] = "";
    int rc = s6_rules_svc_start(&r->svc, NULL, &r->log, r->m, &cfg, err,
                                sizeof err);
    if (rc != 0)
        fail_msg("the armed attack must pass the checks: %s", err);
    assert_int_equal(s6_rules_edge_lua(&r->svc, 8, &r->edge, err, sizeof err),
                     0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One batch of both positions at mark; returns its wall time. */
static double batch(rig *r, double mark)
{
    static const char *const ids[NPOS] = {"live-1", "live-2"};
    static const char *const syms[NPOS] = {"BTCUSDT", "ETHUSDT"};
    s6_pos_view pos[NPOS];
    s6_mkt_view mkt[NPOS];
    for (int i = 0; i < NPOS; i++) {
        pos[i] = (s6_pos_view){.slot = i, .side = 1, .qty = 1, .entry = 100,
                               .margin = 10, .leverage = 10, .n_entries = 1,
                               .entry_qty = {1}, .liq_distance = INFINITY};
        mkt[i] = (s6_mkt_view){.now = 1e9, .mark = mark, .last = mark,
                               .mid = mark, .health = 1,
                               .trigger = S6_TRIG_PRICE};
        r->edge.slot_named(r->edge.ud, i, ids[i], syms[i]);
        r->stop[i] = 0;
    }
    s6_decide_hooks h = {.limits = s6test_no_limits, .plan = on_plan, .ud = r};
    s6_decide_stats st;
    double t0 = now_s();
    (void)r->edge.run(r->edge.ud, pos, mkt, NPOS, &h, &st);
    return now_s() - t0;
}

static int logged(rig *r, const char *needle)
{
    s6_buf_append(&r->lines, "", 1);
    r->lines.len--;
    return strstr(r->lines.data, needle) != NULL;
}

static int scraped(rig *r, const char *needle)
{
    s6_buf s = {0};
    assert_int_equal(s6_metrics_render(r->m, &s), 0);
    s6_buf_append(&s, "", 1);
    int found = strstr(s.data, needle) != NULL;
    s6_buf_free(&s);
    return found;
}

static void stop_rig(rig *r)
{
    s6_rules_edge_free(&r->edge);
    s6_rules_svc_free(&r->svc);
    s6_metrics_free(r->m);
    s6_buf_free(&r->lines);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
}

/*
 * The common story: batches at rising marks; none may hold the caller
 * for a second; by the last one the honest stop is there for both
 * positions.  Returns the rig for the attack's own checks.
 */
static void survive(rig *r, const char *attack)
{
    start(r, attack);
    double worst = 0;
    for (int b = 0; b < BATCHES; b++) {
        double t = batch(r, 120 + b);
        worst = t > worst ? t : worst;
    }
    if (worst >= MAX_BATCH_S)
        fail_msg("%s: a batch held the caller %.3f s", attack, worst);
    for (int i = 0; i < NPOS; i++)
        if (fabs(r->stop[i] - (120 + BATCHES - 1 - 5)) > 1e-9) {
            fprintf(stderr, "%.*s\n", (int)r->lines.len, r->lines.data);
            fail_msg("%s: position %d stop %.2f, want %d", attack, i,
                     r->stop[i], 120 + BATCHES - 1 - 5);
        }
}

static const s6_rule_entry *entry(rig *r, const char *name)
{
    const s6_rule_entry *e = s6_registry_find(&r->svc.reg, name);
    assert_non_null(e);
    return e;
}

/* Attacks that fault: the rule leaves the live set, the honest one stays. */
static void quarantined(const char *attack, const char *why)
{
    rig r;
    survive(&r, attack);
    if (!entry(&r, attack)->quarantined) {
        fprintf(stderr, "%.*s\n", (int)r.lines.len, r.lines.data);
        fail_msg("%s: not quarantined", attack);
    }
    assert_true(logged(&r, "\"msg\":\"rule quarantined\""));
    if (why != NULL && !logged(&r, why)) {
        fprintf(stderr, "%.*s\n", (int)r.lines.len, r.lines.data);
        fail_msg("%s: the log never says %s", attack, why);
    }
    assert_false(entry(&r, "trail")->quarantined);
    json_t *h = s6_rules_svc_health(&r.svc);
    assert_string_equal(json_string_value(json_object_get(h, "status")),
                        "degraded");
    json_decref(h);
    stop_rig(&r);
}

static void hang_in_c(void **s)
{
    (void)s;
    quarantined("hang_pattern", "without an answer while the rule ran");
}

static void c_stack_overflow(void **s)
{
    (void)s;
    quarantined("cstack_gsub", NULL); /* a crash, or the deadline first */
}

static void out_of_memory(void **s)
{
    (void)s;
    quarantined("oom_pcall", NULL);
}

static void error_object(void **s)
{
    (void)s;
    quarantined("bad_error", "error object is a table value");
}

static void deadline_burn(void **s)
{
    (void)s;
    quarantined("burn", "exceeded its deadline");
}

static void raw_writes(void **s)
{
    (void)s;
    quarantined("raw_write", "read-only table");
}

static void huge_state(void **s)
{
    (void)s;
    quarantined("huge_state", NULL); /* the limit, or the deadline first */
}

/* A flood is not a fault: the rule's first actions pass, the rest are
 * dropped, said and counted; nobody else's plan suffers. */
static void proposal_flood(void **s)
{
    (void)s;
    rig r;
    survive(&r, "flood");
    assert_false(entry(&r, "flood")->quarantined);
    assert_true(logged(&r, "actions over the rule's cap dropped"));
    assert_true(scraped(&r, "s6_rule_actions_dropped_total{rule=\"flood\"}"));
    stop_rig(&r);
}

/* An engine event from a rule is dropped by the guard, with its reason;
 * the rule's terminal escapes never reach the log raw. */
static void spoofed_event(void **s)
{
    (void)s;
    rig r;
    survive(&r, "spoof_event");
    assert_true(logged(&r, "event name POSITION_CLOSED is the engine's"));
    assert_true(scraped(&r, "s6_proposals_rejected_total{code=\"event_name\"}"));
    assert_false(logged(&r, "\x1b"));
    stop_rig(&r);
}

/* A bomb that waits for a live position (its id and symbol are the
 * live ones, never the probe's) goes off, and is taken out. */
static void time_bomb(void **s)
{
    (void)s;
    quarantined("time_bomb", "BOOM live-1 BTCUSDT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hang_in_c),
        cmocka_unit_test(c_stack_overflow),
        cmocka_unit_test(out_of_memory),
        cmocka_unit_test(error_object),
        cmocka_unit_test(deadline_burn),
        cmocka_unit_test(raw_writes),
        cmocka_unit_test(huge_state),
        cmocka_unit_test(proposal_flood),
        cmocka_unit_test(spoofed_event),
        cmocka_unit_test(time_bomb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
