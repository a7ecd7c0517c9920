/*
 * The rule host as an operator and a quant meet it, through the built
 * binary: `rules check` names each failing file with its line, the service
 * refuses to start on a broken rule, and a save into the live folder is
 * picked up (or refused, with file:line in the log and in /health) while
 * the service keeps serving.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"

typedef struct dir {
    char path[64];
} dir;

/* A private copy of the shipped rules, so the test may break them. */
static void copy_rules(dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/s6-live-rules-XXXXXX");
    assert_non_null(mkdtemp(d->path));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/rules/*.lua %s/", getenv("S6_SOURCE_DIR"),
             d->path);
    assert_int_equal(system(cmd), 0);
}

static void remove_dir(dir *d)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", d->path);
    assert_int_equal(system(cmd), 0);
}

/* Saves like an editor: a temp file renamed over the rule. */
static void save(const dir *d, const char *name, const char *text)
{
    char path[128], tmp[160];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.swp", d->path, name);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static int run_check(const char *folder, proc *p)
{
    const char *args[] = { "rules", "check", folder, NULL };
    spawn_args(p, NULL, args);
    int status = await_exit(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void check_passes_shipped_rules(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    proc p;
    assert_int_equal(run_check(d.path, &p), 0);
    for (const char *r = "trailing_stop\0atr_stop\0tp_ladder\0add_on\0stagnation\0";
         *r; r += strlen(r) + 1)
        assert_non_null(strstr(p.out.data, r));
    assert_non_null(strstr(p.out.data, "6 rule(s) pass"));
    proc_free(&p);
    remove_dir(&d);
}

static void check_names_every_broken_file(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    save(&d, "tp_ladder.lua", "local r = {\nreturn r\n");
    save(&d, "zz_bad.lua", "return { name = 'zz_bad', triggers = { 'sometimes' },\n"
                           "  evaluate = function() end }\n");
    proc p;
    assert_int_equal(run_check(d.path, &p), 1);
    assert_non_null(strstr(p.out.data, "tp_ladder.lua:2:"));
    assert_non_null(strstr(p.out.data, "zz_bad.lua: triggers[1] 'sometimes'"));
    assert_non_null(strstr(p.out.data, "ok    trailing_stop"));
    proc_free(&p);
    remove_dir(&d);
}

/* Starts the binary on the private folder (its rules, and its s6.json
 * when with_config) and the given port. */
static void start_in(proc *p, const dir *d, bool with_config, int port)
{
    char env_cfg[128], env_dir[128], env_port[32];
    snprintf(env_cfg, sizeof env_cfg, "S6_CONFIG=%s/s6.json", d->path);
    snprintf(env_dir, sizeof env_dir, "S6_RULES_DIR=%s", d->path);
    snprintf(env_port, sizeof env_port, "PORT=%d", port);
    const char *env[] = { env_dir, env_port, with_config ? env_cfg : NULL, NULL };
    spawn(p, env, NULL);
}

/* The start is refused: the error names `needle`, the exit status is 1. */
static void expect_start_refused(dir *d, bool with_config, const char *needle)
{
    proc p;
    start_in(&p, d, with_config, free_port());
    json_t *line = await_log(&p, "cannot load the rules");
    assert_non_null(strstr(json_string_value(json_object_get(line, "error")),
                           needle));
    json_decref(line);
    int status = await_exit(&p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    proc_free(&p);
    remove_dir(d);
}

static void start_refused_on_a_broken_rule(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    save(&d, "stagnation.lua", "error('not today')\n");
    expect_start_refused(&d, false, "stagnation.lua:1: not today");
}

static void start_refused_on_params_for_unknown_rule(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    save(&d, "s6.json", "{\"rules\": {\"params\": {\"atr_stp\": "
                        "{\"base\": {\"k\": 3}}}}}\n");
    expect_start_refused(&d, true, "rules.params.atr_stp");
}

/* A typo in a rule parameter is refused with its path (the rule's schema). */
static void start_refused_on_a_parameter_typo(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    save(&d, "s6.json", "{\"rules\": {\"params\": {\"trailing_stop\": "
                        "{\"base\": {\"min_mvoe\": 0.001}}}}}\n");
    expect_start_refused(&d, true, "rules.params.trailing_stop.base.min_mvoe: "
                                   "unknown parameter (expected one of "
                                   "min_move, steps)");
}

static const char *rules_status(int port, json_t **doc)
{
    assert_int_equal(http_get_json(port, "/health", doc), 200);
    json_t *rules = json_object_get(json_object_get(*doc, "checks"), "rules");
    assert_non_null(rules);
    return json_string_value(json_object_get(rules, "status"));
}

/* Log lines so far with message msg, and of those how many name rule. */
static int log_lines(const proc *p, const char *msg, const char *rule,
                     int *naming)
{
    int n = 0;
    *naming = 0;
    const char *at = p->err.data;
    while (at != NULL && *at) {
        const char *end = strchr(at, '\n');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)(len < 4095 ? len : 4095), at);
        json_t *doc = json_loads(line, 0, NULL);
        const char *m = json_string_value(json_object_get(doc, "msg"));
        if (m != NULL && strcmp(m, msg) == 0) {
            n++;
            const char *r = json_string_value(json_object_get(doc, "rule"));
            *naming += r != NULL && strcmp(r, rule) == 0;
        }
        json_decref(doc);
        at = end ? end + 1 : NULL;
    }
    return n;
}

/* The value of one series in a /metrics scrape, -1 when absent. */
static double scrape(int port, const char *series)
{
    s6_buf body = { 0 };
    assert_int_equal(http_get(port, "/metrics", &body), 200);
    const char *at = body.data ? strstr(body.data, series) : NULL;
    double v = -1;
    if (at != NULL && at[strlen(series)] == ' ')
        v = strtod(at + strlen(series) + 1, NULL);
    s6_buf_free(&body);
    return v;
}

static void hot_reload_refuses_then_accepts(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    int port = free_port();
    proc p;
    start_in(&p, &d, false, port);
    json_decref(await_log(&p, "listening"));
    json_t *doc;
    assert_string_equal(rules_status(port, &doc), "ok");
    json_decref(doc);

    /* a broken save: refused, the service serves on with the old version */
    save(&d, "stagnation.lua", "local r = {}\nr.name = \n");
    json_t *line = await_log(&p, "rule reload refused; the previous version keeps running");
    assert_non_null(strstr(json_string_value(json_object_get(line, "error")),
                           "stagnation.lua:3:"));
    json_decref(line);
    assert_string_equal(rules_status(port, &doc), "degraded");
    /* and so is the service as a whole; /ready is not the rules' to say */
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "degraded");
    json_t *rules = json_object_get(json_object_get(doc, "checks"), "rules");
    assert_non_null(strstr(json_string_value(json_object_get(rules, "last_error")),
                           "stagnation.lua:3:"));
    json_decref(doc);
    assert_true(scrape(port, "s6_rule_reloads_total{result=\"rejected\"}") == 1);
    assert_true(scrape(port, "s6_rule_reloads_total{result=\"ok\"}") == -1);

    /* a good save goes live, and the service is healthy again */
    char good[4096], path[512];
    snprintf(path, sizeof path, "%s/rules/stagnation.lua", getenv("S6_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(good, 1, sizeof good - 40, f);
    fclose(f);
    snprintf(good + n, sizeof good - n, "\n-- tuned\n");
    int naming;
    int at_start = log_lines(&p, "rule version live", "stagnation", &naming);
    assert_int_equal(at_start, 6); /* every rule once, at start */
    save(&d, "stagnation.lua", good);
    line = await_log(&p, "rule version live");
    /* the reload names the one rule that changed, and no other */
    assert_string_equal(json_string_value(json_object_get(line, "rule")),
                        "stagnation");
    json_decref(line);
    assert_int_equal(log_lines(&p, "rule version live", "stagnation", &naming),
                     at_start + 1);
    assert_int_equal(naming, 2);
    assert_string_equal(rules_status(port, &doc), "ok");
    /* the rules no longer hold the service's status down (Redis and the
     * rest may, here: they are not running) */
    assert_true(json_is_true(json_object_get(
        json_object_get(json_object_get(doc, "checks"), "rules"), "ok")));
    json_decref(doc);
    assert_true(scrape(port, "s6_rule_reloads_total{result=\"ok\"}") == 1);

    assert_int_equal(kill(p.pid, SIGTERM), 0);
    int status = await_exit(&p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(every_line_json(&p.err) > 5);
    proc_free(&p);
    remove_dir(&d);
}

/* The configuration drives the rule set: a parameter change rebuilds it,
 * a bad edit is refused with the key named and the old config runs on. */
static void config_reload_rebuilds_rules(void **state)
{
    (void)state;
    dir d;
    copy_rules(&d);
    save(&d, "s6.json", "{}\n"); /* every key at its default */
    int port = free_port();
    proc p;
    start_in(&p, &d, true, port);
    json_decref(await_log(&p, "listening"));

    save(&d, "s6.json", "{\"rules\": {\"params\": {\"trailing_stop\": "
                        "{\"base\": {\"min_move\": 0.001}}}}}\n");
    json_decref(await_log(&p, "config reloaded"));
    /* rebuilt with it: the log names the rule whose parameters changed */
    json_t *changed = await_log(&p, "rule parameters live");
    assert_string_equal(json_string_value(json_object_get(changed, "rule")),
                        "trailing_stop");
    json_decref(changed);
    int naming;
    assert_int_equal(log_lines(&p, "rule parameters live", "trailing_stop",
                               &naming), 1);
    assert_int_equal(naming, 1);
    assert_int_equal(log_lines(&p, "rule version live", "trailing_stop",
                               &naming), 6); /* only the start's */
    json_t *doc;
    assert_int_equal(http_get_json(port, "/health", &doc), 200);
    json_t *cfg = json_object_get(json_object_get(doc, "checks"), "config");
    assert_int_equal(json_integer_value(json_object_get(cfg, "version")), 2);
    json_decref(doc);

    save(&d, "s6.json", "{\"rules\": {\"nonsense\": 1}}\n");
    json_t *line = await_log(&p, "config refused, the running one stays");
    json_decref(line);

    /* a per-regime value out of its schema's range: refused before the
     * swap, with its path, and the version stays */
    save(&d, "s6.json", "{\"rules\": {\"params\": {\"atr_stop\": "
                        "{\"regimes\": {\"volatile\": {\"k\": 0}}}}}}\n");
    line = await_log_match(&p, "config refused, the running one stays",
                           "rules.params.atr_stop", 10000);
    assert_string_equal(json_string_value(json_object_get(line, "key")),
                        "rules.params.atr_stop.regimes.volatile.k");
    assert_string_equal(json_string_value(json_object_get(line, "reason")),
                        "must be a number in (0, 100] (got 0)");
    json_decref(line);
    assert_int_equal(http_get_json(port, "/health", &doc), 200);
    cfg = json_object_get(json_object_get(doc, "checks"), "config");
    assert_int_equal(json_integer_value(json_object_get(cfg, "version")), 2);
    json_decref(doc);
    save(&d, "s6.json", "{\"rules\": {\"nonsense\": 1}}\n");
    json_decref(await_log_match(&p, "config refused, the running one stays",
                                "rules.nonsense", 10000));
    assert_int_equal(http_get_json(port, "/health", &doc), 200);
    cfg = json_object_get(json_object_get(doc, "checks"), "config");
    assert_int_equal(json_integer_value(json_object_get(cfg, "version")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(cfg, "last_error")),
                           "rules.nonsense"));
    json_decref(doc);

    assert_int_equal(kill(p.pid, SIGTERM), 0);
    int status = await_exit(&p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    proc_free(&p);
    remove_dir(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_passes_shipped_rules),
        cmocka_unit_test(check_names_every_broken_file),
        cmocka_unit_test(start_refused_on_a_broken_rule),
        cmocka_unit_test(start_refused_on_params_for_unknown_rule),
        cmocka_unit_test(start_refused_on_a_parameter_typo),
        cmocka_unit_test(hot_reload_refuses_then_accepts),
        cmocka_unit_test(config_reload_rebuilds_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
