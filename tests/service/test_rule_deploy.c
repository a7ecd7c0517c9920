/*
 * test_rule_deploy.c — deploying a rule the safe way, against the real
 * binary, redis-server and the S4 peer, while the service manages a long
 * (docs/rules.md, "Deploying safely"):
 *
 *   - a candidate that burns its whole check deadline is refused off the
 *     event loop: the price -> stop latency of the live position measured
 *     while it burns stays what it is without it;
 *   - POST /rules/reload tries that candidate the same way: the answer
 *     (422, naming the file) comes after the deadline, while the price ->
 *     stop latency and GET /health stay what they are without it;
 *   - while a file is refused the service's /health status is degraded,
 *     and ok again once the file is gone;
 *   - a shadow version proposes a tighter stop: counted in GET /rules and
 *     /metrics, never sent to S4; POST /rules/promote makes it live and the
 *     next price moves the stop where the shadow wanted it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "fixture.h"

static const char *const POS = "live-1";
static const char *const SYM = "BTCUSDT";
static const double QTY = 0.010, ENTRY = 60000, LEV = 10, FEE_RATE = 0.0005,
                    TICK = 0.1;

static char rules_dir[128]; /* the service's live folder, a copy */

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.60, "entry", 1));
    svc_set(cfg, "rules", "dir", json_string(rules_dir));
}

static void save(const char *file, const char *text)
{
    char to[256], tmp[264];
    snprintf(to, sizeof to, "%s/%s", rules_dir, file);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", rules_dir, file);
    FILE *out = fopen(tmp, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
    assert_int_equal(rename(tmp, to), 0);
}

static char *read_text(const char *path)
{
    static char text[65536];
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return NULL;
    text[fread(text, 1, sizeof text - 1, in)] = '\0';
    fclose(in);
    return text;
}

static void copy_shipped_rules(void)
{
    static const char *const shipped[] = {"add_on", "atr_stop", "hedge",
                                          "stagnation", "tp_ladder",
                                          "trailing_stop"};
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
        char from[512], to[64];
        snprintf(from, sizeof from, "%s/rules/%s.lua", getenv("S6_SOURCE_DIR"),
                 shipped[i]);
        snprintf(to, sizeof to, "%s.lua", shipped[i]);
        char *text = read_text(from);
        assert_non_null(text);
        save(to, text);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double lock_price(double lock)
{
    double fees = QTY * ENTRY * FEE_RATE;
    double margin = QTY * ENTRY / LEV - fees;
    return s6_round_stop(1, s6_price_for_roe_net(1, QTY, ENTRY, margin, fees,
                                                 FEE_RATE, lock),
                         TICK);
}

/* Any stop order S4 was sent for the position at this price. */
static bool stop_sent_at(svc_fx *f, const char *price)
{
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        if (strcmp(o.pos_id, POS) == 0 && strcmp(o.type, "STOP_MARKET") == 0 &&
            strcmp(o.stop_price, price) == 0)
            return true;
    return false;
}

static int stops_sent(svc_fx *f)
{
    int n = 0;
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        n += strcmp(o.pos_id, POS) == 0 && strcmp(o.type, "STOP_MARKET") == 0;
    return n;
}

/* A mark, then the seconds until S4 is sent the stop at `price`. */
static double price_to_stop(svc_fx *f, double mark, double price)
{
    char want[32];
    s6_format_decimal(price, TICK, want, sizeof want);
    double t0 = now_s();
    svc_mark(f, SYM, mark);
    while (!stop_sent_at(f, want)) {
        if (now_s() - t0 > 10) {
            svc_print_log(f);
            fail_msg("no stop at %s within 10 s of the mark %.1f", want, mark);
        }
        pump(&f->p, 1); /* the child's log, and the peer's thread moves */
    }
    return now_s() - t0;
}

static bool stop_resting_at(svc_fx *f, void *ud)
{
    s6_s4_peer_order o;
    return svc_resting_stop(f, POS, &o) == 1 &&
           strcmp(o.stop_price, (const char *)ud) == 0;
}

static const char *health_status(svc_fx *f)
{
    static char status[32];
    json_t *doc = NULL;
    assert_int_equal(svc_http(f, "GET", "/health", NULL, NULL, &doc), 200);
    snprintf(status, sizeof status, "%s",
             json_string_value(json_object_get(doc, "status")));
    json_decref(doc);
    return status;
}

static bool status_is(svc_fx *f, void *ud)
{
    return strcmp(health_status(f), ud) == 0;
}

static bool log_seen(svc_fx *f, const char *msg)
{
    return f->p.err.data != NULL &&
           strstr(f->p.err.data, msg) != NULL;
}

/* The shipped rules (and `extra`, a rule named spinner, unless NULL) in a
 * private live folder, the service on them, a long with its first stop. */
static void start_with(svc_fx *f, const char *extra)
{
    unsetenv("S6_RULES_DIR"); /* ctest's; it would win over the config */
    snprintf(rules_dir, sizeof rules_dir, "/tmp/s6-deploy-svc-XXXXXX");
    assert_non_null(mkdtemp(rules_dir));
    copy_shipped_rules();
    if (extra != NULL)
        save("spinner.lua", extra);
    svc_fx_setup(f, edit_config);
    svc_start(f);
    svc_entry_fill(f, "r-1", POS, SYM, "BUY", "0.010", "60000", "58000");
    svc_mark(f, SYM, 60000);
    svc_await(f, stop_resting_at, "58000.0", "the first stop");
}

static void start(svc_fx *f)
{
    start_with(f, NULL);
}

static void finish(svc_fx *f)
{
    assert_true(f->running);
    svc_stop(f);
    svc_fx_teardown(f);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", rules_dir);
    assert_int_equal(system(cmd), 0);
}

static void loop_serves_while_a_candidate_burns(void **state)
{
    (void)state;
    svc_fx f;
    start(&f);
    svc_await(&f, status_is, "ok", "a healthy service");
    char p1[32], p2[32];
    s6_format_decimal(lock_price(0.0), TICK, p1, sizeof p1);
    s6_format_decimal(lock_price(0.10), TICK, p2, sizeof p2);

    double quiet = price_to_stop(&f, 60700, lock_price(0.0));
    svc_await(&f, stop_resting_at, p1, "the step 1 stop resting");

    /* a new rule whose chunk never returns: its check burns the whole
     * load deadline (1 s) in a worker before it is refused */
    save("spin.lua", "while true do end\n");
    json_t *line = svc_await_log_with(&f, "rule candidate being checked", "spin");
    json_decref(line);
    double t_burn = now_s();
    double busy = price_to_stop(&f, 61300, lock_price(0.10));
    pump(&f.p, 0);
    /* measured while the candidate was still being tried */
    assert_false(log_seen(&f, "rule reload refused"));
    line = svc_await_log(&f, "rule reload refused; the previous version keeps running");
    double burnt = now_s() - t_burn;
    print_message("refused: %s\n",
                  json_string_value(json_object_get(line, "error")));
    assert_non_null(strstr(json_string_value(json_object_get(line, "error")),
                           "spin.lua"));
    json_decref(line);
    print_message("price -> stop: %.1f ms quiet, %.1f ms while a candidate "
                  "burnt %.0f ms\n", quiet * 1e3, busy * 1e3, burnt * 1e3);
    assert_true(burnt > 0.8);
    assert_true(busy < 0.2);
    svc_await(&f, stop_resting_at, p2, "the step 2 stop resting");

    /* the refused file holds the service's status down until it goes;
     * the service stays ready: the last good versions still protect */
    assert_string_equal(health_status(&f), "degraded");
    json_t *ready = NULL;
    assert_int_equal(svc_http(&f, "GET", "/ready", NULL, NULL, &ready), 200);
    json_decref(ready);
    char path[192];
    snprintf(path, sizeof path, "%s/spin.lua", rules_dir);
    assert_int_equal(unlink(path), 0);
    svc_await(&f, status_is, "ok", "healthy again once the file is gone");
    finish(&f);
}

/* POST /rules/reload on a thread of its own: the test's thread measures
 * the service while the request waits for its answer. */
typedef struct reload_call {
    int port;
    long status;
    s6_buf body;
    double took;
    atomic_int done;
} reload_call;

static void *call_reload(void *ud)
{
    reload_call *c = ud;
    double t0 = now_s();
    c->status = http_call(c->port, "POST", "/rules/reload", SVC_TOKEN, NULL,
                          &c->body);
    c->took = now_s() - t0;
    atomic_store(&c->done, 1);
    return NULL;
}

static double health_took(svc_fx *f)
{
    s6_buf out = {0};
    double t0 = now_s();
    assert_int_equal(http_get(f->port, "/health", &out), 200);
    double took = now_s() - t0;
    s6_buf_free(&out);
    return took;
}

/* A saved file whose chunk never returns, reloaded on request: its
 * candidate burns the whole load deadline in a worker off the loop, the
 * request is answered 422 after it, and meanwhile the loop moves stops
 * and answers /health as fast as without it. */
static void reload_request_tried_off_the_loop(void **state)
{
    (void)state;
    svc_fx f;
    start(&f);
    char p1[32], p2[32];
    s6_format_decimal(lock_price(0.0), TICK, p1, sizeof p1);
    s6_format_decimal(lock_price(0.10), TICK, p2, sizeof p2);
    double quiet = price_to_stop(&f, 60700, lock_price(0.0));
    svc_await(&f, stop_resting_at, p1, "the step 1 stop resting");
    save("spin.lua", "while true do end\n");
    json_decref(svc_await_log(&f, "rule reload refused; the previous "
                                  "version keeps running"));
    double quiet_health = health_took(&f);

    reload_call c = {.port = f.port};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_reload, &c), 0);
    json_decref(svc_await_log_with(&f, "rule candidate being checked", "spin"));
    double busy = price_to_stop(&f, 61300, lock_price(0.10));
    double health = health_took(&f);
    /* measured while the request still waited for its answer */
    int answered_early = atomic_load(&c.done);
    assert_int_equal(pthread_join(th, NULL), 0);
    s6_buf_append(&c.body, "", 1);
    print_message("POST /rules/reload: %ld after %.0f ms: %s\n", c.status,
                  c.took * 1e3, c.body.data);
    print_message("price -> stop: %.1f ms quiet, %.1f ms while the request's "
                  "candidate burnt; /health %.1f ms quiet, %.1f ms\n",
                  quiet * 1e3, busy * 1e3, quiet_health * 1e3, health * 1e3);
    assert_false(answered_early);
    assert_int_equal(c.status, 422);
    assert_non_null(strstr(c.body.data, "rule_refused"));
    assert_non_null(strstr(c.body.data, "spin.lua"));
    s6_buf_free(&c.body);
    assert_true(c.took > 0.8);
    assert_true(busy < 0.2);
    assert_true(health < 0.2);
    svc_await(&f, stop_resting_at, p2, "the step 2 stop resting");
    finish(&f);
}

/* A rule that spins when its parameter says so: harmless as shipped,
 * a config that sets spin = 1 makes its check burn the whole deadline. */
static const char SPINNER[] =
    "return { name = 'spinner', triggers = { 'tick' },\n"
    "  params = { spin = 0 }, schema = { spin = 'integer in [0, 1]' },\n"
    "  evaluate = function(pos, mkt, p)\n"
    "    if p.spin == 1 then while true do end end\n"
    "  end }\n";

/* Rewrites the running config file with rules.params.spinner.base.spin. */
static void set_spin(svc_fx *f, int spin)
{
    json_error_t e;
    json_t *cfg = json_load_file(f->cfg_path, 0, &e);
    assert_non_null(cfg);
    svc_set_param(cfg, "spinner", "spin", json_integer(spin));
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->cfg_path);
    assert_int_equal(json_dump_file(cfg, tmp, JSON_INDENT(2)), 0);
    json_decref(cfg);
    assert_int_equal(rename(tmp, f->cfg_path), 0);
}

/* A configuration change is tried the same way: the rule set built with
 * the new parameters, probed and self-checked in a worker, off the loop. */
static void loop_serves_while_a_config_is_tried(void **state)
{
    (void)state;
    svc_fx f;
    start_with(&f, SPINNER);
    double quiet = price_to_stop(&f, 60700, lock_price(0.0));
    set_spin(&f, 1);
    json_decref(svc_await_log(&f, "rule parameters being checked"));
    double t_burn = now_s();
    double busy = price_to_stop(&f, 61300, lock_price(0.10));
    pump(&f.p, 0);
    assert_false(log_seen(&f, "config refused"));
    json_t *line = svc_await_log(&f, "config refused, the running one stays");
    double burnt = now_s() - t_burn;
    print_message("config refused: %s (%s)\n",
                  json_string_value(json_object_get(line, "key")),
                  json_string_value(json_object_get(line, "reason")));
    assert_string_equal(json_string_value(json_object_get(line, "key")),
                        "rules.params");
    assert_non_null(strstr(json_string_value(json_object_get(line, "reason")),
                           "spinner"));
    json_decref(line);
    print_message("price -> stop: %.1f ms quiet, %.1f ms while a config's "
                  "rule set burnt %.0f ms\n", quiet * 1e3, busy * 1e3,
                  burnt * 1e3);
    assert_true(burnt > 0.8);
    assert_true(busy < 0.2);
    json_t *doc = NULL;
    assert_int_equal(svc_http(&f, "GET", "/health", NULL, NULL, &doc), 200);
    json_t *cfg = json_object_get(json_object_get(doc, "checks"), "config");
    assert_int_equal(json_integer_value(json_object_get(cfg, "version")), 1);
    json_decref(doc);
    finish(&f);
}

static json_t *shadow_of(svc_fx *f, const char *rule)
{
    json_t *doc = NULL;
    assert_int_equal(svc_http(f, "GET", "/rules", NULL, NULL, &doc), 200);
    size_t i;
    json_t *r, *found = NULL;
    json_array_foreach(json_object_get(doc, "rules"), i, r)
        if (strcmp(json_string_value(json_object_get(r, "name")), rule) == 0)
            found = json_incref(json_object_get(r, "shadow"));
    json_decref(doc);
    return found;
}

static bool shadow_differed(svc_fx *f, void *ud)
{
    int *tick = ud;
    svc_mark(f, SYM, 61300 + (*tick)++ % 5);
    json_t *sh = shadow_of(f, "trailing_stop");
    bool ok = json_is_object(sh) &&
              json_integer_value(json_object_get(
                  json_object_get(sh, "diff"), "stop")) >= 3;
    json_decref(sh);
    return ok;
}

static double scrape(svc_fx *f, const char *series)
{
    s6_buf out = {0};
    assert_int_equal(http_get(f->port, "/metrics", &out), 200);
    s6_buf_append(&out, "", 1);
    const char *at = strstr(out.data, series);
    double v = at != NULL ? strtod(at + strlen(series), NULL) : -1;
    s6_buf_free(&out);
    return v;
}

static void shadow_counted_never_sent_then_promoted(void **state)
{
    (void)state;
    svc_fx f;
    start(&f);
    char p2[32], p3[32];
    s6_format_decimal(lock_price(0.10), TICK, p2, sizeof p2);
    s6_format_decimal(lock_price(0.15), TICK, p3, sizeof p3);
    svc_mark(&f, SYM, 61300);
    svc_await(&f, stop_resting_at, p2, "the step 2 stop");

    /* the shadow locks 5 points of ROE more at every step (the config
     * sets the steps, so the change is in the code); its own checks were
     * written for the old locks */
    char from[512];
    snprintf(from, sizeof from, "%s/rules/trailing_stop.lua",
             getenv("S6_SOURCE_DIR"));
    char *text = read_text(from);
    static const char lock[] = "steps[k].lock_roe)";
    char *at = strstr(text, lock);
    char *ret = strstr(text, "\nreturn rule");
    assert_non_null(at);
    assert_non_null(ret);
    static char shadow[65536];
    snprintf(shadow, sizeof shadow, "%.*ssteps[k].lock_roe + 0.05)%.*s"
             "\nrule.checks = {}%s", (int)(at - text), text,
             (int)(ret - at - (int)strlen(lock)), at + strlen(lock), ret);
    save("trailing_stop.shadow.lua", shadow);
    json_decref(svc_await_log_with(&f, "rule shadow running", "trailing_stop"));
    int sent = stops_sent(&f);
    int tick = 0;
    svc_await(&f, shadow_differed, &tick, "the shadow's plans differ");
    /* nothing of it went to S4; the service is healthy all along */
    assert_int_equal(stops_sent(&f), sent);
    assert_false(stop_sent_at(&f, p3));
    assert_string_equal(health_status(&f), "ok");
    json_t *sh = shadow_of(&f, "trailing_stop");
    assert_true(json_integer_value(json_object_get(sh, "differed")) >= 3);
    assert_true(json_integer_value(json_object_get(sh, "evaluations")) >=
                json_integer_value(json_object_get(sh, "differed")));
    assert_non_null(strstr(json_string_value(json_object_get(sh, "last_diff")),
                           "stop"));
    json_decref(sh);
    assert_true(scrape(&f, "s6_rule_shadow_diffs_total{rule=\"trailing_stop\","
                           "kind=\"stop\"} ") >= 3);
    assert_true(scrape(&f, "s6_rule_shadow_evals_total{rule=\"trailing_stop\"} ") >= 3);

    /* bad requests change nothing */
    json_t *doc = NULL;
    assert_int_equal(svc_http(&f, "POST", "/rules/promote", NULL,
                              "{\"rule\":\"trailing_stop\"}", &doc), 401);
    json_decref(doc);
    assert_int_equal(svc_http(&f, "POST", "/rules/promote", SVC_TOKEN,
                              "{\"rule\":\"nope\"}", &doc), 404);
    json_decref(doc);
    assert_int_equal(svc_http(&f, "POST", "/rules/promote", SVC_TOKEN,
                              "{\"rule\":\"atr_stop\"}", &doc), 409);
    json_decref(doc);
    assert_int_equal(svc_http(&f, "POST", "/rules/promote", SVC_TOKEN,
                              "{\"rule\":1}", &doc), 400);
    json_decref(doc);
    assert_int_equal(stops_sent(&f), sent);

    assert_int_equal(svc_http(&f, "POST", "/rules/promote", SVC_TOKEN,
                              "{\"rule\":\"trailing_stop\"}", &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "promoted")),
                        "trailing_stop");
    json_decref(doc);
    json_decref(svc_await_log(&f, "rule shadow promoted"));
    char live[192];
    snprintf(live, sizeof live, "%s/trailing_stop.lua", rules_dir);
    assert_non_null(strstr(read_text(live), "steps[k].lock_roe + 0.05)"));
    snprintf(live, sizeof live, "%s/trailing_stop.shadow.lua", rules_dir);
    assert_int_equal(access(live, F_OK), -1);
    svc_mark(&f, SYM, 61310);
    svc_await(&f, stop_resting_at, p3, "the promoted version's stop");
    assert_true(scrape(&f, "s6_rule_reloads_total{result=\"promoted\"} ") == 1);
    finish(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_serves_while_a_candidate_burns),
        cmocka_unit_test(reload_request_tried_off_the_loop),
        cmocka_unit_test(loop_serves_while_a_config_is_tried),
        cmocka_unit_test(shadow_counted_never_sent_then_promoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
