/*
 * The rule host end to end: real rule files in a temporary folder, loaded
 * by the registry into capped, deadline-guarded Lua states, evaluated over
 * batches of positions.  Each test drives one promise of docs/rules.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rules/registry.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "rules/watchdog.h"

typedef struct fixture {
    char dir[64];
    s6_watchdog *wd;
    s6_rule_registry reg;
    s6_sink sink;
    s6_state_store store;
    s6_pos_view pos[4];
    s6_mkt_view mkt[4];
    int faults, overruns;
    char last_fault[512];
} fixture;

static void write_rule(fixture *f, const char *name, const char *src)
{
    char path[128], tmp[160];
    snprintf(path, sizeof path, "%s/%s.lua", f->dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs(src, fp);
    fclose(fp);
    assert_int_equal(rename(tmp, path), 0); /* as an editor saves */
}

static void on_fault(void *ud, const s6_rule_fault *flt)
{
    fixture *f = ud;
    f->faults++;
    f->overruns += flt->overrun;
    snprintf(f->last_fault, sizeof f->last_fault, "%s", flt->message);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/s6-rules-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(s6_watchdog_start(&f->wd), 0);
    assert_int_equal(s6_sink_init(&f->sink, 1024), 0);
    assert_int_equal(s6_state_store_init(&f->store, 4, 8), 0);
    for (int i = 0; i < 4; i++) {
        f->pos[i] = (s6_pos_view){.slot = i, .side = i % 2 ? -1 : 1,
                                  .qty = 1, .entry = 100, .margin = 10,
                                  .n_entries = 1, .entry_qty = {1},
                                  .liq_distance = 1.0 / 0.0};
        f->mkt[i] = (s6_mkt_view){.now = 1000, .mark = 100, .last = 100,
                                  .mid = 100, .health = 1,
                                  .trigger = S6_TRIG_TICK};
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    s6_registry_free(&f->reg);
    s6_sink_free(&f->sink);
    s6_state_store_free(&f->store);
    s6_watchdog_stop(f->wd);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int load(fixture *f, char *err, size_t errlen)
{
    const char *src = getenv("S6_SOURCE_DIR");
    static char lua_dir[512];
    snprintf(lua_dir, sizeof lua_dir, "%s/lua", src ? src : ".");
    s6_ruleset_opts o = {.lua_dir = lua_dir, .mem_limit = 32u << 20,
                         .deadline_ms = 100, .deadline_us_per_eval = 50,
                         .load_deadline_ms = 500, .max_faults_per_rule = 3,
                         .watchdog = f->wd, .on_fault = on_fault,
                         .fault_ud = f};
    assert_int_equal(s6_registry_init(&f->reg, f->dir, &o), 0);
    int rc = s6_registry_load(&f->reg, err, errlen);
    if (rc != 0)
        print_message("load refused: %s\n", err);
    return rc;
}

static void eval(fixture *f, size_t n, s6_eval_report *rep)
{
    s6_sink_reset(&f->sink);
    assert_int_equal(s6_ruleset_eval(f->reg.live, f->pos, f->mkt, n, &f->sink,
                                     &f->store, rep), 0);
}

/* Locks breakeven once ROE >= 10%, remembering the step in its state. */
static const char *LOCK_RULE =
    "local r = { name = 'lock', triggers = { 'tick', 'price' },\n"
    "            params = { at = 0.10 } }\n"
    "function r.evaluate(pos, mkt, p, st)\n"
    "  if (st.step or 0) < 1 and pos.roe >= p.at then\n"
    "    return { act.stop(pos.entry, 'breakeven') }, { step = 1 }\n"
    "  end\n"
    "end\n"
    "return r\n";

static void proposals_and_state(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    f->pos[0].roe = 0.12; /* long in profit: fires */
    f->pos[1].roe = 0.05; /* short below the step: nothing */
    s6_eval_report rep;
    eval(f, 2, &rep);
    assert_int_equal(rep.errors + rep.overruns, 0);
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->sink.v[0].pos_index, 0);
    assert_int_equal(f->sink.v[0].kind, S6_ACT_STOP);
    assert_true(f->sink.v[0].price == 100.0);
    assert_string_equal(f->sink.v[0].reason, "breakeven");
    size_t len = 0;
    const char *js = s6_state_get(&f->store, 0, 0, &len);
    assert_non_null(js);
    assert_string_equal(js, "{\"step\":1}");
    eval(f, 2, &rep); /* the step fired once: no second proposal */
    assert_int_equal(f->sink.n, 0);
}

static void error_names_file_and_line(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    write_rule(f, "zbad",
               "local r = { name = 'zbad', triggers = { 'tick' } }\n"
               "function r.evaluate(pos)\n"
               "  if pos.qty == 7 and pos.side == 1 then error('boom') end\n"
               "end\n"
               "return r\n");
    assert_int_equal(load(f, err, sizeof err), 0);
    for (int i = 0; i < 4; i++)
        f->pos[i].qty = 7; /* the canned probe positions hold 1 */
    f->pos[0].roe = f->pos[2].roe = 0.2;
    s6_eval_report rep;
    eval(f, 4, &rep);
    assert_true(rep.errors >= 1);
    assert_non_null(strstr(f->last_fault, "zbad.lua:3: boom"));
    /* the healthy rule still served every position */
    assert_int_equal(f->sink.n, 2);
}

/* The probe runs each rule on canned positions before it can go live. */
static void probe_refuses_a_rule_that_raises(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "zbad",
               "local r = { name = 'zbad', triggers = { 'tick' } }\n"
               "function r.evaluate(pos)\n"
               "  if pos.side == -1 then return pos.nothing.here end\n"
               "end\n"
               "return r\n");
    assert_int_not_equal(load(f, err, sizeof err), 0);
    assert_non_null(strstr(err, "zbad.lua:3:"));
    assert_null(f->reg.live);
}

/* Stock LuaJIT never runs a hook inside a compiled trace: without the
 * project's hooked build a runaway cannot be stopped, and says so. */
static void require_hooked_luajit(void)
{
#ifndef S6_HOOKED_LUAJIT
    print_message("SKIPPED: built with -DS6_HOOKED_LUAJIT=OFF, runaway rules "
                  "cannot be stopped (docs/sandbox-deadline.md)\n");
    skip();
#endif
}

static void runaway_is_stopped(void **state, const char *body)
{
    fixture *f = *state;
    require_hooked_luajit();
    char err[512] = "", src[512];
    write_rule(f, "lock", LOCK_RULE);
    snprintf(src, sizeof src,
             "local r = { name = 'spin', triggers = { 'tick' } }\n"
             "function r.evaluate(pos)\n%s\nend\nreturn r\n", body);
    write_rule(f, "spin", src);
    /* the probe on canned positions meets the loop before it goes live */
    assert_int_not_equal(load(f, err, sizeof err), 0);
    assert_non_null(strstr(err, "deadline"));
}

static void runaway_plain_loop(void **state)
{
    runaway_is_stopped(state, "  while true do end");
}

static void runaway_inside_pcall(void **state)
{
    runaway_is_stopped(state,
                       "  while true do pcall(function() while true do end end) end");
}

/* LuaJIT runs a real xpcall handler with hooks off: the sandbox's own
 * xpcall must leave the handler within the deadline's reach. */
static void runaway_in_xpcall_handler(void **state)
{
    runaway_is_stopped(state,
                       "  xpcall(function() error('x') end,\n"
                       "         function() while true do end end)");
}

static void runaway_at_load(void **state)
{
    fixture *f = *state;
    require_hooked_luajit();
    char err[512] = "";
    write_rule(f, "top", "while true do end\nreturn {}\n");
    assert_int_not_equal(load(f, err, sizeof err), 0);
    assert_non_null(strstr(err, "deadline"));
}

/* A rule that spins only on live positions (the probe's canned views have
 * qty 1; ours have qty 7) passes the checks and is stopped at run time. */
static void runaway_live_then_rollback(void **state)
{
    fixture *f = *state;
    require_hooked_luajit();
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    char good_hash[17];
    memcpy(good_hash, s6_registry_find(&f->reg, "lock")->hash, 17);
    write_rule(f, "lock",
               "local r = { name = 'lock', triggers = { 'tick' } }\n"
               "function r.evaluate(pos)\n"
               "  if pos.qty == 7 then while true do end end\n"
               "end\n"
               "return r\n");
    assert_int_equal(s6_registry_reload(&f->reg), 1);
    for (int i = 0; i < 4; i++)
        f->pos[i].qty = 7;
    s6_eval_report rep;
    for (int round = 0; round < 5; round++) {
        eval(f, 4, &rep);
        assert_int_equal(rep.overruns, 1); /* suspended after the first */
        assert_int_equal(rep.positions, 4);
    }
    assert_true(f->reg.rollback_pending);
    assert_int_equal(s6_registry_maintain(&f->reg), 1);
    assert_string_equal(s6_registry_find(&f->reg, "lock")->hash, good_hash);
    f->pos[0].roe = 0.5;
    eval(f, 4, &rep);
    assert_int_equal(rep.overruns, 0);
    assert_int_equal(f->sink.n, 1);
}

static void memory_bomb_is_capped(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    write_rule(f, "hog",
               "local r = { name = 'hog', triggers = { 'tick' } }\n"
               "function r.evaluate(pos)\n"
               "  if pos.qty ~= 7 then return end\n"
               "  local t = {}\n"
               "  for i = 1, 1e9 do t[i] = string.rep('x', 4096) .. i end\n"
               "end\n"
               "return r\n");
    assert_int_equal(s6_registry_reload(&f->reg), 1);
    f->pos[0].qty = 7;
    s6_eval_report rep;
    eval(f, 4, &rep);
    assert_int_equal(rep.errors + rep.overruns, 1);
    assert_true(s6_ruleset_mem_used(f->reg.live) <= 32u << 20);
    f->pos[0].qty = 1;
    f->pos[0].roe = 0.5;
    eval(f, 4, &rep); /* the state still works */
    assert_int_equal(rep.errors + rep.overruns, 0);
    assert_int_equal(f->sink.n, 1);
}

static void bad_version_never_replaces_good(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    unsigned version = f->reg.version;
    write_rule(f, "lock", "local r = { name = 'lock', triggers = {'tick'} \n"
                          "function r.evaluate() end\nreturn r\n");
    assert_int_equal(s6_registry_reload(&f->reg), 0);
    assert_int_equal(f->reg.version, version);
    assert_non_null(strstr(f->reg.last_error, "lock.lua:2:"));
    f->pos[0].roe = 0.5;
    s6_eval_report rep;
    eval(f, 1, &rep);
    assert_int_equal(f->sink.n, 1); /* the good version still runs */
}

static void reload_keeps_rule_state(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    f->pos[0].roe = 0.5;
    s6_eval_report rep;
    eval(f, 1, &rep);
    assert_int_equal(f->sink.n, 1);
    write_rule(f, "lock", LOCK_RULE); /* same text: nothing to do */
    assert_int_equal(s6_registry_reload(&f->reg), 0);
    char changed[1024];
    snprintf(changed, sizeof changed, "-- v2\n%s", LOCK_RULE);
    write_rule(f, "lock", changed);
    assert_int_equal(s6_registry_reload(&f->reg), 1);
    f->pos[1].roe = 0.5;
    eval(f, 2, &rep);
    /* step 1 of slot 0 persisted outside Lua: no second stop there, while
     * the new version does serve slot 1 */
    assert_int_equal(f->sink.n, 1);
    assert_int_equal(f->sink.v[0].pos_index, 1);
}

/* A version that errors on live positions, told apart by its text. */
static void write_broken(fixture *f, int v)
{
    char src[512];
    snprintf(src, sizeof src,
             "-- v%d\n"
             "local r = { name = 'lock', triggers = { 'tick' } }\n"
             "function r.evaluate(pos)\n"
             "  if pos.qty == 7 then error('broken v%d') end\n"
             "end\n"
             "return r\n", v, v);
    write_rule(f, "lock", src);
}

/* v1 runs clean long enough to be proven; v2 goes live and is replaced
 * before it ever runs; v3 breaks: the rollback lands on v1, not on v2
 * (the version before, as broken as v3), and the file's v3 stays out. */
static void rollback_to_last_clean_version(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    f->reg.clean_batches = 3;
    const s6_rule_entry *e = s6_registry_find(&f->reg, "lock");
    char v1[17], v2[17];
    memcpy(v1, e->hash, 17);
    s6_eval_report rep;
    for (int i = 0; i < 3; i++) {
        assert_null(e->proven);
        eval(f, 4, &rep);
        s6_registry_batch_done(&f->reg, 0);
    }
    assert_string_equal(e->proven_hash, v1);
    write_broken(f, 2);
    assert_int_equal(s6_registry_reload(&f->reg), 1);
    memcpy(v2, e->hash, 17);
    write_broken(f, 3);
    assert_int_equal(s6_registry_reload(&f->reg), 1);
    assert_string_equal(e->prev_hash, v2);
    for (int i = 0; i < 4; i++)
        f->pos[i].qty = 7;
    for (int round = 0; round < 2; round++) {
        eval(f, 4, &rep);
        s6_registry_batch_done(&f->reg, 0);
    }
    assert_true(f->reg.rollback_pending);
    assert_int_equal(s6_registry_maintain(&f->reg), 1);
    assert_string_equal(e->hash, v1);
    assert_true(e->rolled_back);
    assert_non_null(strstr(f->reg.last_error, "the last that ran cleanly"));
    /* the file still holds v3: a reload does not put it back */
    assert_int_equal(s6_registry_reload(&f->reg), 0);
    assert_string_equal(e->hash, v1);
    eval(f, 4, &rep);
    assert_int_equal(rep.errors, 0);
    /* a fault breaks a streak: v1 must run clean again from zero */
    assert_int_equal(e->clean, 0);
}

/* Rules that only fail at a real date: on the clock (caught by the probe)
 * and where only a self-check's position reaches it (caught by the
 * self-check run again at realistic host times).  Both refused, with the
 * time named, and the good version stays. */
static void clock_bombs_are_refused(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "lock", LOCK_RULE);
    assert_int_equal(load(f, err, sizeof err), 0);
    char good[17];
    memcpy(good, s6_registry_find(&f->reg, "lock")->hash, 17);
    static const char *const bombs[] = {
        "local r = { name = 'lock', triggers = { 'tick' } }\n"
        "function r.evaluate(pos, mkt)\n"
        "  if mkt.now > 1e9 then error('clock bomb') end\n"
        "end\n"
        "return r\n",
        "local r = { name = 'lock', triggers = { 'tick' } }\n"
        "function r.evaluate(pos, mkt)\n"
        "  if pos.add_on_count == 1 and mkt.now - pos.opened_at < 60\n"
        "     and pos.opened_at > 1.6e9 then error('added-on bomb') end\n"
        "end\n"
        "r.checks = { { name = 'after an add',\n"
        "  pos = { add_on_count = 1, opened_at = 100 }, mkt = { now = 130 },\n"
        "  expect = function(actions) assert(#actions == 0) end } }\n"
        "return r\n",
    };
    static const char *const want[] = {"lock.lua:3: clock bomb",
                                       "self-check 'after an add'"};
    for (size_t i = 0; i < 2; i++) {
        write_rule(f, "lock", bombs[i]);
        assert_int_equal(s6_registry_reload(&f->reg), 0);
        print_message("refused: %s\n", f->reg.last_error);
        assert_non_null(strstr(f->reg.last_error, want[i]));
        assert_non_null(strstr(f->reg.last_error, "(at now = "));
        assert_string_equal(s6_registry_find(&f->reg, "lock")->hash, good);
    }
}

/* The field names of the docs' table headed by `header` ("| `pos.`
 * field"), as a Lua list ("'id', 'symbol', ..."); returns how many. */
static int documented_fields(const char *doc, const char *header, char *out,
                             size_t len)
{
    const char *at = strstr(doc, header);
    assert_non_null(at);
    at = strchr(at, '\n') + 1;  /* the header row */
    at = strchr(at, '\n') + 1;  /* |---|---| */
    int n = 0;
    size_t k = 0;
    out[0] = '\0';
    while (at[0] == '|') {
        const char *end = strchr(at + 1, '|');  /* the first cell only */
        for (const char *q = strchr(at, '`'); q != NULL && q < end;
             q = strchr(q + 1, '`')) {
            const char *close = strchr(q + 1, '`');
            k += (size_t)snprintf(out + k, len - k, "%s'%.*s'", n ? ", " : "",
                                  (int)(close - q - 1), q + 1);
            n++;
            q = close;
        }
        at = strchr(at, '\n') + 1;
    }
    return n;
}

/* Every field docs/rules.md lists for pos and mkt reaches a rule, on the
 * positions of a real batch (not only on the canned views), and the
 * position's id and symbol are the slot's. */
static void views_carry_every_documented_field(void **state)
{
    fixture *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/docs/rules.md", getenv("S6_SOURCE_DIR"));
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    static char doc[1 << 17];
    doc[fread(doc, 1, sizeof doc - 1, in)] = '\0';
    fclose(in);
    char posf[2048], mktf[1024];
    int np = documented_fields(doc, "| `pos.` field", posf, sizeof posf);
    int nm = documented_fields(doc, "| `mkt.` field", mktf, sizeof mktf);
    print_message("%d pos fields: %s\n%d mkt fields: %s\n", np, posf, nm, mktf);
    assert_true(np >= 20); /* the table, read: a parse that lost rows fails */
    assert_true(nm >= 10);
    static char src[8192];
    snprintf(src, sizeof src,
             "local r = { name = 'fields', triggers = { 'tick' } }\n"
             "function r.evaluate(pos, mkt)\n"
             "  if pos.qty ~= 7 then return end -- the live batch only\n"
             "  local miss = {}\n"
             "  for _, k in ipairs({ %s }) do\n"
             "    if pos[k] == nil then miss[#miss + 1] = 'pos.' .. k end end\n"
             "  for _, k in ipairs({ %s }) do\n"
             "    if mkt[k] == nil then miss[#miss + 1] = 'mkt.' .. k end end\n"
             "  if #miss > 0 then error('missing ' .. table.concat(miss, ' '), 0) end\n"
             "  if pos.id ~= 'live-7' or pos.symbol ~= 'ETHUSDT' or\n"
             "     pos.entry_quantities[1] ~= 7 then error('wrong id, symbol or fill', 0) end\n"
             "  return { act.event('FIELDS_OK', 'every field') }\n"
             "end\n"
             "return r\n", posf, mktf);
    write_rule(f, "fields", src);
    char err[512] = "";
    assert_int_equal(load(f, err, sizeof err), 0);
    assert_int_equal(s6_ruleset_set_slot(f->reg.live, 0, "live-7", "ETHUSDT"), 0);
    f->pos[0].qty = 7;
    f->pos[0].entry_qty[0] = 7;
    s6_eval_report rep;
    eval(f, 1, &rep);
    if (f->faults > 0)
        fail_msg("%s", f->last_fault);
    assert_int_equal(f->sink.n, 1);
    assert_string_equal(f->sink.v[0].name, "FIELDS_OK");
}

static void bytecode_is_refused(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    write_rule(f, "bc", "\033LJ\002rest");
    assert_int_not_equal(load(f, err, sizeof err), 0);
    assert_non_null(strstr(err, "bytecode"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(proposals_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(error_names_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(probe_refuses_a_rule_that_raises, setup, teardown),
        cmocka_unit_test_setup_teardown(runaway_plain_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(runaway_inside_pcall, setup, teardown),
        cmocka_unit_test_setup_teardown(runaway_in_xpcall_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(runaway_at_load, setup, teardown),
        cmocka_unit_test_setup_teardown(runaway_live_then_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(memory_bomb_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_version_never_replaces_good, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_keeps_rule_state, setup, teardown),
        cmocka_unit_test_setup_teardown(bytecode_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_to_last_clean_version, setup, teardown),
        cmocka_unit_test_setup_teardown(clock_bombs_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(views_carry_every_documented_field, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
