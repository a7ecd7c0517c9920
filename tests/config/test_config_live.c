/*
 * test_config_live: hot reload on a real libuv loop.  Each edit is saved
 * the way editors save (write a temp file, rename it over the config), and
 * the test waits for the watcher's work to show (a subscriber call, a
 * refusal, a no-change), never for a fixed time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

typedef struct fixture {
    char dir[256];
    char path[300];
    uv_loop_t loop;
    uv_timer_t guard;
    int timed_out;
    s6_config_live live;
    unsigned calls;
    uint32_t seen_old, seen_new; /* manage_interval_s of the last swap */
} fixture;

static void editor_save(fixture *f, const char *text)
{
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s/.s6.json.swp", f->dir);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(rename(tmp, f->path), 0);
}

static void on_guard(uv_timer_t *t)
{
    fixture *f = t->data;
    f->timed_out = 1;
}

/* Runs the loop until *counter reaches `want`; 5 s is a failure. */
static void await(fixture *f, const unsigned *counter, unsigned want,
                  const char *what)
{
    f->timed_out = 0;
    uv_timer_start(&f->guard, on_guard, 5000, 0);
    while (*counter < want && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->guard);
    if (*counter < want)
        fail_msg("timed out waiting for %s", what);
}

static void on_swap(s6_config_live *live, const s6_config *old,
                    const s6_config *cur, void *ud)
{
    fixture *f = ud;
    assert_ptr_equal(s6_config_live_get(live), cur); /* already swapped */
    f->calls++;
    f->seen_old = old->ticks.manage_interval_s;
    f->seen_new = cur->ticks.manage_interval_s;
}

static char *good(unsigned interval, unsigned port)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"http\": {\"port\": %u}, \"ticks\": {\"manage_interval_s\": "
             "%u}}\n", port, interval);
    return buf;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *base = getenv("S6_BUILD_DIR");
    snprintf(f->dir, sizeof f->dir, "%s/cfg-live-XXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/s6.json", f->dir);
    editor_save(f, good(10, 8086));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->guard);
    f->guard.data = f;
    s6_config_error e;
    if (s6_config_live_init(&f->live, f->path, false, NULL, &e) != 0)
        fail_msg("%s", e.message);
    assert_int_equal(s6_config_live_subscribe(&f->live, on_swap, f), 0);
    assert_int_equal(s6_config_live_watch(&f->live, &f->loop, 20), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    s6_config_live_stop(&f->live);
    uv_close((uv_handle_t *)&f->guard, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    s6_config_live_free(&f->live);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void good_bad_fix(void **state)
{
    fixture *f = *state;
    s6_config_live *live = &f->live;
    assert_int_equal(live->version, 1);

    /* a good edit swaps once; subscribers see old and new */
    editor_save(f, good(20, 8086));
    await(f, &f->calls, 1, "the first swap");
    assert_int_equal(f->seen_old, 10);
    assert_int_equal(f->seen_new, 20);
    assert_int_equal(live->version, 2);
    assert_false(live->has_error);

    /* a bad value is refused; the good config stays */
    editor_save(f, good(99, 8086));
    await(f, &live->failures, 1, "the refusal");
    assert_true(live->has_error);
    assert_string_equal(live->last_error.path, "ticks.manage_interval_s");
    assert_non_null(strstr(live->last_error.reason, "between 5 and 30"));
    assert_int_equal(s6_config_live_get(live)->ticks.manage_interval_s, 20);

    /* a broken save (half-written JSON) is refused with line:column */
    unsigned failures = live->failures;
    editor_save(f, "{\n  \"ticks\": {\"manage_interval_s\": 15\n");
    await(f, &live->failures, failures + 1, "the syntax refusal");
    assert_true(live->last_error.line > 0);
    assert_int_equal(s6_config_live_get(live)->ticks.manage_interval_s, 20);
    json_t *h = s6_config_live_health(live);
    assert_true(json_is_string(json_object_get(h, "last_error")));
    json_decref(h);

    /* the fix goes live and clears the error */
    editor_save(f, good(30, 8086));
    await(f, &f->calls, 2, "the fix");
    assert_int_equal(f->seen_old, 20);
    assert_int_equal(f->seen_new, 30);
    assert_false(live->has_error);
    assert_int_equal(live->version, 3);
    h = s6_config_live_health(live);
    assert_true(json_is_null(json_object_get(h, "last_error")));
    json_decref(h);
    assert_int_equal(f->calls, 2); /* each good edit swapped exactly once */
}

static void restart_keys_wait_for_a_restart(void **state)
{
    fixture *f = *state;
    s6_config_live *live = &f->live;
    /* only http.port changes: nothing to swap, the change is reported */
    editor_save(f, good(10, 9999));
    await(f, &live->unchanged, 1, "the no-change reload");
    assert_int_equal(f->calls, 0);
    assert_int_equal(live->n_restart_pending, 1);
    assert_string_equal(live->restart_pending[0], "http.port");
    assert_int_equal(s6_config_live_get(live)->http.port, 8086);

    /* with a hot key changing too, the swap keeps the running port */
    editor_save(f, good(25, 9999));
    await(f, &f->calls, 1, "the swap");
    assert_int_equal(s6_config_live_get(live)->http.port, 8086);
    assert_int_equal(s6_config_live_get(live)->ticks.manage_interval_s, 25);
    json_t *h = s6_config_live_health(live);
    json_t *p = json_object_get(h, "restart_pending");
    assert_int_equal(json_array_size(p), 1);
    assert_string_equal(json_string_value(json_array_get(p, 0)), "http.port");
    json_decref(h);

    /* back to the running port: nothing pending any more */
    editor_save(f, good(25, 8086));
    unsigned unchanged = live->unchanged;
    await(f, &live->unchanged, unchanged + 1, "the no-change reload");
    assert_int_equal(live->n_restart_pending, 0);
    assert_int_equal(f->calls, 1);
}

static void direct_reload_and_env(void **state)
{
    fixture *f = *state;
    s6_config_live *live = &f->live;
    /* a reload with nothing changed is not a swap */
    assert_int_equal(s6_config_live_reload(live), 0);
    assert_int_equal(f->calls, 0);
    /* a file that vanished is refused; the config stays */
    char moved[320];
    snprintf(moved, sizeof moved, "%s/moved", f->dir);
    assert_int_equal(rename(f->path, moved), 0);
    assert_true(s6_config_live_reload(live) < 0);
    assert_true(live->has_error);
    assert_non_null(s6_config_live_get(live));
    assert_int_equal(rename(moved, f->path), 0);
    assert_int_equal(s6_config_live_reload(live), 0);
    assert_false(live->has_error);
    /* an error quoting bytes that are not UTF-8 still makes valid JSON */
    editor_save(f, "{\"http\": \xff\xfe}");
    assert_true(s6_config_live_reload(live) < 0);
    json_t *h = s6_config_live_health(live);
    assert_non_null(h);
    assert_true(json_is_string(json_object_get(h, "last_error")));
    json_decref(h);
}

/* A file with symbols: the running config keeps them decoded only, so a
 * reload must still see a symbol's change, and a restart key's pin (a
 * rebuild) must keep the symbols. */
static const char *with_symbols(unsigned port, const char *tick,
                                const char *cum)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"http\": {\"port\": %u}, \"symbols\": {\"BTCUSDT\": "
             "{\"tick\": %s, \"step\": 0.001, \"min_qty\": 0.001, "
             "\"brackets\": [{\"notional_floor\": 0, \"notional_cap\": "
             "50000, \"mmr\": 0.004, \"cum\": 0}, {\"notional_floor\": "
             "50000, \"notional_cap\": 500000, \"mmr\": 0.005, \"cum\": "
             "%s}]}, \"BTCUSDT:SPOT\": {\"tick\": 0.01, \"step\": 0.00001, "
             "\"min_qty\": 0.00001}}}\n", port, tick, cum);
    return buf;
}

static void a_symbol_change_swaps(void **state)
{
    fixture *f = *state;
    s6_config_live *live = &f->live;
    editor_save(f, with_symbols(8086, "0.1", "50"));
    assert_int_equal(s6_config_live_reload(live), 1);
    assert_int_equal(s6_config_live_reload(live), 0); /* nothing changed */
    const s6_config *c = s6_config_live_get(live);
    assert_null(json_object_get(c->doc, "symbols"));
    assert_int_equal(c->n_symbols, 2);

    editor_save(f, with_symbols(8086, "0.5", "50"));
    assert_int_equal(s6_config_live_reload(live), 1);
    c = s6_config_live_get(live);
    assert_true(s6_config_symbol(c, S6_MARKET_FUT, "BTCUSDT")->tick == 0.5);

    /* a cum that breaks the table is refused, as any bad key */
    editor_save(f, with_symbols(8086, "0.5", "60"));
    assert_true(s6_config_live_reload(live) < 0);

    /* a restart key pinned: the rebuild keeps every symbol */
    editor_save(f, with_symbols(9999, "0.2", "50"));
    assert_int_equal(s6_config_live_reload(live), 1);
    c = s6_config_live_get(live);
    assert_int_equal(c->http.port, 8086);
    assert_int_equal(live->n_restart_pending, 1);
    assert_int_equal(c->n_symbols, 2);
    assert_true(s6_config_symbol(c, S6_MARKET_FUT, "BTCUSDT")->tick == 0.2);
    assert_non_null(s6_config_symbol(c, S6_MARKET_SPOT, "BTCUSDT"));
    assert_int_equal(f->calls, 3);
}

/* The check a reload must pass before it swaps: refuses an interval of
 * 12, naming a key, as the service's rule-schema check does. */
static int not_twelve(void *ud, const s6_config *fresh, s6_config_error *err)
{
    unsigned *checked = ud;
    (*checked)++;
    if (fresh->ticks.manage_interval_s != 12)
        return 0;
    return s6_config_error_set(err, "s6.json", "rules.params.x.base.k",
                               "must be a number in [0, 1] (got 2)");
}

static void a_refused_check_keeps_the_running_config(void **state)
{
    fixture *f = *state;
    s6_config_live *live = &f->live;
    unsigned checked = 0;
    s6_config_live_set_check(live, not_twelve, &checked);
    editor_save(f, good(12, 8086));
    assert_int_equal(s6_config_live_reload(live), -EINVAL);
    assert_int_equal(checked, 1);
    assert_int_equal(f->calls, 0);          /* nobody saw a swap */
    assert_int_equal(live->version, 1);
    assert_int_equal(s6_config_live_get(live)->ticks.manage_interval_s, 10);
    assert_true(live->has_error);
    assert_string_equal(live->last_error.path, "rules.params.x.base.k");
    assert_string_equal(live->last_error.message, "s6.json: rules.params.x."
                        "base.k: must be a number in [0, 1] (got 2)");
    /* a passing edit swaps and clears the error */
    editor_save(f, good(11, 8086));
    assert_int_equal(s6_config_live_reload(live), 1);
    assert_int_equal(checked, 2);
    assert_false(live->has_error);
    assert_int_equal(live->version, 2);
}

/* A check that answers later: the config waits for its answer (a change
 * saved meanwhile is read after it), a refusal keeps the running one. */
typedef struct later {
    const s6_config *fresh; /* the config being checked, NULL when none */
    unsigned asked;
} later;

static void ask_later(void *ud, const s6_config *fresh, s6_config_live *live)
{
    later *l = ud;
    (void)live;
    l->fresh = fresh;
    l->asked++;
}

static void an_async_check_answers_later(void **state)
{
    fixture *f = *state;
    s6_config_live *live = &f->live;
    later l = {0};
    s6_config_live_set_check_async(live, ask_later, &l);
    editor_save(f, good(12, 8086));
    assert_int_equal(s6_config_live_reload(live), 0); /* on its way */
    assert_int_equal(l.asked, 1);
    assert_int_equal(l.fresh->ticks.manage_interval_s, 12);
    assert_int_equal(live->version, 1);              /* not swapped yet */
    editor_save(f, good(11, 8086));
    assert_int_equal(s6_config_live_reload(live), 0); /* waits its turn */
    assert_int_equal(l.asked, 1);
    s6_config_error e;
    s6_config_error_set(&e, "s6.json", "rules.params", "spinner: too slow");
    s6_config_live_checked(live, -EINVAL, &e);
    /* 12 refused, the running config stays; 11 read again and asked */
    assert_true(live->has_error);
    assert_string_equal(live->last_error.path, "rules.params");
    assert_int_equal(live->version, 1);
    assert_int_equal(f->calls, 0);
    assert_int_equal(l.asked, 2);
    assert_int_equal(l.fresh->ticks.manage_interval_s, 11);
    s6_config_live_checked(live, 0, NULL);
    assert_int_equal(live->version, 2);
    assert_int_equal(f->calls, 1);
    assert_false(live->has_error);
    assert_int_equal(s6_config_live_get(live)->ticks.manage_interval_s, 11);
    /* an answer nobody waits for changes nothing */
    s6_config_live_checked(live, 0, NULL);
    assert_int_equal(live->version, 2);
}

static void env_applies_at_init_and_on_reload(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cfg-env-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/s6.json", f->dir);
    editor_save(f, good(10, 8086));
    setenv("PORT", "7070", 1);
    s6_config_error e;
    assert_int_equal(s6_config_live_init(&f->live, f->path, true, NULL, &e), 0);
    assert_int_equal(s6_config_live_get(&f->live)->http.port, 7070);
    editor_save(f, good(12, 8086));
    assert_int_equal(s6_config_live_reload(&f->live), 1);
    assert_int_equal(s6_config_live_get(&f->live)->http.port, 7070);
    assert_int_equal(f->live.n_restart_pending, 0);
    /* a bad environment refuses start-up with the variable named */
    setenv("PORT", "nope", 1);
    s6_config_live other;
    assert_int_equal(s6_config_live_init(&other, f->path, true, NULL, &e),
                     -EINVAL);
    assert_non_null(strstr(e.message, "PORT"));
    unsetenv("PORT");
    s6_config_live_free(&f->live);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(good_bad_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_keys_wait_for_a_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(direct_reload_and_env, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_symbol_change_swaps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_refused_check_keeps_the_running_config, setup, teardown),
        cmocka_unit_test_setup_teardown(an_async_check_answers_later, setup,
                                        teardown),
        cmocka_unit_test(env_applies_at_init_and_on_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
