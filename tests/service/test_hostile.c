/*
 * test_hostile.c — every attack of tests/hostile/rules dropped into the
 * running service (the real binary, redis-server, the S4 peer) while it
 * manages a long: first as written (each is refused by its check in a
 * worker, off the event loop; the time bomb passes), then armed for live
 * positions (they go live and fire on the next prices).  All along the
 * service stays up and GET /health answers within a second; at the end
 * the faulting rules are quarantined and the trailing stop still walks up
 * both lock-in steps (docs/rule-worker.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "fixture.h"
#include "hostile.h"

static const char *const POS = "live-1";
static const char *const SYM = "BTCUSDT";
static const double QTY = 0.010, ENTRY = 60000, LEV = 10, FEE_RATE = 0.0005,
                    TICK = 0.1;

/* the attacks that fault, so end quarantined once armed */
static const char *const FAULTING[] = {
    "hang_pattern", "cstack_gsub", "oom_pcall", "bad_error", "burn",
    "raw_write", "huge_state", "time_bomb"};

static char rules_dir[128]; /* the service's live folder, a copy */

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.60, "entry", 1));
    svc_set(cfg, "rules", "dir", json_string(rules_dir));
}

/* As an editor saves: a temporary file renamed into place. */
static void save(const char *name, const char *text, size_t n)
{
    char to[256], tmp[264];
    snprintf(to, sizeof to, "%s/%s.lua", rules_dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    FILE *out = fopen(tmp, "w");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, n, out), n);
    fclose(out);
    assert_int_equal(rename(tmp, to), 0);
}

static void drop_attacks(int arm)
{
    static char text[16384];
    for (size_t i = 0; i < s6_hostile_n_attacks; i++) {
        size_t n = s6_hostile_source(s6_hostile_attacks[i], arm, text,
                                     sizeof text);
        assert_true(n > 0);
        save(s6_hostile_attacks[i], text, n);
    }
}

static void copy_shipped_rules(void)
{
    static const char *const shipped[] = {"add_on", "atr_stop", "hedge",
                                          "stagnation", "tp_ladder",
                                          "trailing_stop"};
    static char text[65536];
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
        char from[512];
        snprintf(from, sizeof from, "%s/rules/%s.lua", getenv("S6_SOURCE_DIR"),
                 shipped[i]);
        FILE *in = fopen(from, "r");
        assert_non_null(in);
        size_t n = fread(text, 1, sizeof text, in);
        fclose(in);
        save(shipped[i], text, n);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* GET /health, which must answer within a second; its rules check. */
static json_t *health_rules(svc_fx *f)
{
    json_t *doc = NULL;
    double t0 = now_s();
    long code = svc_http(f, "GET", "/health", NULL, NULL, &doc);
    double took = now_s() - t0;
    if (took >= 1.0) {
        svc_print_log(f);
        fail_msg("GET /health took %.3f s", took);
    }
    assert_true(code == 200 || code == 503);
    json_t *rules = json_incref(
        json_object_get(json_object_get(doc, "checks"), "rules"));
    json_decref(doc);
    return rules;
}

static json_t *rule_in(json_t *rules, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(rules, "rules"), i, r)
        if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
            return r;
    return NULL;
}

/* Every unarmed attack but the time bomb refused, the bomb live. */
static bool refused_all(svc_fx *f, void *ud)
{
    (void)ud;
    json_t *rules = health_rules(f);
    size_t ok = 0;
    for (size_t i = 0; i < s6_hostile_n_attacks; i++) {
        json_t *r = rule_in(rules, s6_hostile_attacks[i]);
        bool bomb = strcmp(s6_hostile_attacks[i], "time_bomb") == 0;
        ok += r != NULL &&
              (bomb ? json_is_true(json_object_get(r, "live"))
                    : json_is_string(json_object_get(r, "last_error")) &&
                          json_object_get(r, "version") == json_null());
    }
    json_decref(rules);
    return ok == s6_hostile_n_attacks;
}

/* Prices keep coming (each one a batch); the faulting attacks end up
 * quarantined. */
static bool quarantined_all(svc_fx *f, void *ud)
{
    int *tick = ud;
    svc_mark(f, SYM, 60000 + (*tick)++ % 50);
    json_t *rules = health_rules(f);
    size_t n = 0;
    for (size_t i = 0; i < sizeof FAULTING / sizeof *FAULTING; i++) {
        json_t *r = rule_in(rules, FAULTING[i]);
        n += r != NULL && json_is_true(json_object_get(r, "quarantined"));
    }
    json_decref(rules);
    return n == sizeof FAULTING / sizeof *FAULTING;
}

typedef struct want_stop {
    const char *price;
} want_stop;

static bool one_stop_at(svc_fx *f, void *ud)
{
    const want_stop *w = ud;
    s6_s4_peer_order o;
    json_decref(health_rules(f));
    return svc_resting_stop(f, POS, &o) == 1 &&
           strcmp(o.stop_price, w->price) == 0;
}

static double lock_price(double lock)
{
    double fees = QTY * ENTRY * FEE_RATE;
    double margin = QTY * ENTRY / LEV - fees;
    return s6_round_stop(1, s6_price_for_roe_net(1, QTY, ENTRY, margin, fees,
                                                 FEE_RATE, lock),
                         TICK);
}

static void attacks_do_not_stop_the_service(void **state)
{
    (void)state;
    unsetenv("S6_RULES_DIR"); /* ctest's; it would win over the config */
    snprintf(rules_dir, sizeof rules_dir, "/tmp/s6-hostile-svc-XXXXXX");
    assert_non_null(mkdtemp(rules_dir));
    copy_shipped_rules();
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    svc_start(&f);
    svc_entry_fill(&f, "r-1", POS, SYM, "BUY", "0.010", "60000", "58000");
    svc_mark(&f, SYM, 60000);
    svc_await(&f, one_stop_at, &(want_stop){"58000.0"}, "the first stop");

    drop_attacks(0);
    svc_await(&f, refused_all, NULL, "every attack refused by its check");
    drop_attacks(1);
    int tick = 0;
    svc_await(&f, quarantined_all, &tick, "the armed attacks quarantined");

    char p1[32], p2[32];
    s6_format_decimal(lock_price(0.0), TICK, p1, sizeof p1);
    s6_format_decimal(lock_price(0.10), TICK, p2, sizeof p2);
    svc_mark(&f, SYM, 60700);
    svc_await(&f, one_stop_at, &(want_stop){p1}, "the step 1 stop");
    svc_mark(&f, SYM, 61300);
    svc_await(&f, one_stop_at, &(want_stop){p2}, "the step 2 stop");
    assert_true(f.running);
    svc_stop(&f);
    svc_fx_teardown(&f);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", rules_dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attacks_do_not_stop_the_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
