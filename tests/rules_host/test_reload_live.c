/*
 * Hot reload under load, on a real libuv loop: batches are evaluated
 * continuously while an editor-like writer replaces the rule file again and
 * again (temp file + rename, then a touch).  Every batch must evaluate every
 * position exactly once, with one rule version throughout; each save must
 * go live exactly once; a broken save must never go live.  The time from
 * rename() to the new version being live is printed (docs/performance.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utime.h>

#include <cmocka.h>
#include <uv.h>

#include "rules/registry.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "reload/watch.h"
#include "rules/watchdog.h"

enum { NPOS = 2000, SAVES = 12 };

typedef struct live {
    uv_loop_t loop;
    uv_idle_t idle;
    s6_watch watch;
    char dir[64];
    s6_watchdog *wd;
    s6_rule_registry reg;
    s6_sink sink;
    s6_state_store store;
    s6_pos_view pos[NPOS];
    s6_mkt_view mkt[NPOS];
    int saved;            /* versions written so far */
    int live_version;     /* version seen in the last batch */
    unsigned batches;
    uint64_t saved_at;    /* uv_hrtime of the last rename */
    double latency_ms[SAVES];
    int broken_written;
} live;

static void write_version(live *t, int v, int broken)
{
    char path[128], tmp[160], src[512];
    snprintf(path, sizeof path, "%s/mark.lua", t->dir);
    snprintf(tmp, sizeof tmp, "%s/.mark.lua.swp", t->dir);
    snprintf(src, sizeof src,
             "local r = { name = 'mark', triggers = { 'tick' } }\n"
             "function r.evaluate(pos)\n"
             "  return { act.event('V', 'v%d') }\n"
             "end\n%s"
             "return r\n", v, broken ? "this is not lua\n" : "");
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(src, f);
    fclose(f);
    t->saved_at = uv_hrtime();
    assert_int_equal(rename(tmp, path), 0);
    assert_int_equal(utime(path, NULL), 0); /* a second event in the burst */
}

/* One batch per loop turn: the version must be one, and whole. */
static void on_idle(uv_idle_t *h)
{
    live *t = h->data;
    s6_eval_report rep;
    s6_sink_reset(&t->sink);
    assert_int_equal(s6_ruleset_eval(t->reg.live, t->pos, t->mkt, NPOS,
                                     &t->sink, &t->store, &rep), 0);
    assert_int_equal(rep.positions, NPOS);
    assert_int_equal(rep.errors + rep.overruns, 0);
    assert_int_equal(t->sink.n, NPOS); /* one proposal per position: none lost or doubled */
    int v = atoi(t->sink.v[0].reason + 1);
    for (size_t i = 0; i < t->sink.n; i++) {
        assert_int_equal(t->sink.v[i].pos_index, (int)i);
        assert_int_equal(atoi(t->sink.v[i].reason + 1), v);
    }
    assert_true(v >= t->live_version); /* never back to an older version */
    t->live_version = v;
    t->batches++;
}

static void on_change(s6_watch *w, void *ud)
{
    live *t = ud;
    unsigned before = t->reg.version;
    (void)s6_registry_reload(&t->reg);
    if (t->broken_written) {
        /* the broken save: refused, the good version stays */
        assert_int_equal(t->reg.version, before);
        assert_non_null(strstr(t->reg.last_error, "mark.lua:5:"));
        s6_watch_stop(w);
        uv_idle_stop(&t->idle);
        uv_close((uv_handle_t *)&t->idle, NULL);
        return;
    }
    assert_int_equal(t->reg.version, before + 1); /* one reload per save */
    t->latency_ms[t->saved - 1] = (double)(uv_hrtime() - t->saved_at) / 1e6;
    if (t->saved < SAVES) {
        write_version(t, ++t->saved, 0);
    } else {
        t->broken_written = 1;
        write_version(t, 99, 1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void reload_under_load(void **state)
{
    (void)state;
    live *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->dir, sizeof t->dir, "/tmp/s6-reload-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(s6_watchdog_start(&t->wd), 0);
    assert_int_equal(s6_sink_init(&t->sink, 4 * NPOS), 0);
    assert_int_equal(s6_state_store_init(&t->store, NPOS, 4), 0);
    for (int i = 0; i < NPOS; i++) {
        t->pos[i] = (s6_pos_view){.slot = i, .side = 1, .qty = 1,
                                  .entry = 100, .margin = 10, .n_entries = 1,
                                  .entry_qty = {1}};
        t->mkt[i] = (s6_mkt_view){.mark = 100, .trigger = S6_TRIG_TICK};
    }
    char lua_dir[512];
    const char *src = getenv("S6_SOURCE_DIR");
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", src ? src : ".");
    s6_ruleset_opts o = {.lua_dir = lua_dir, .mem_limit = 64u << 20,
                         .deadline_ms = 200, .deadline_us_per_eval = 20,
                         .load_deadline_ms = 1000, .watchdog = t->wd};
    write_version(t, ++t->saved, 0);
    char err[512];
    assert_int_equal(s6_registry_init(&t->reg, t->dir, &o), 0);
    assert_int_equal(s6_registry_load(&t->reg, err, sizeof err), 0);
    assert_int_equal(s6_watch_start(&t->watch, &t->loop, t->dir, ".lua", 20,
                                    on_change, t), 0);
    assert_int_equal(uv_idle_init(&t->loop, &t->idle), 0);
    t->idle.data = t;
    assert_int_equal(uv_idle_start(&t->idle, on_idle), 0);
    write_version(t, ++t->saved, 0);
    assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(t->live_version, SAVES);
    assert_true(t->batches > SAVES);
    qsort(t->latency_ms + 1, SAVES - 1, sizeof(double), cmp_double);
    print_message("reload latency over %d saves (20 ms quiet period included): "
                  "p50 %.1f ms, max %.1f ms; %u batches of %d positions\n",
                  SAVES - 1, t->latency_ms[1 + (SAVES - 1) / 2],
                  t->latency_ms[SAVES - 1], t->batches, NPOS);
    s6_registry_free(&t->reg);
    s6_sink_free(&t->sink);
    s6_state_store_free(&t->store);
    s6_watchdog_stop(t->wd);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reload_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
