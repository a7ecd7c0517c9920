/* The rule deadline: runaway scripts, JIT-compiled or not, inside pcall or
 * not, are stopped by s6_watchdog and the state keeps working. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include "rules/watchdog.h"

enum { DEADLINE_MS = 50, SANITY_CAP_MS = 10000 };

typedef struct {
    lua_State *L;
    s6_watchdog *w;
} fixture;

typedef struct {
    int rc;
    int fired;
    double ms;
    char msg[256];
} outcome;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    luaL_openlibs(L);
#ifdef S6_TEST_JIT_OFF
    /* Stock LuaJIT (S6_HOOKED_LUAJIT=OFF): hooks only fire in the
     * interpreter, so these tests cover the jit.off fallback. */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
#endif
    return L;
}

static int setup(void **state)
{
    fixture *f = test_calloc(1, sizeof *f);
    f->L = new_state();
    assert_int_equal(s6_watchdog_start(&f->w), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    s6_watchdog_stop(f->w);
    lua_close(f->L);
    test_free(f);
    return 0;
}

static outcome run(lua_State *L, s6_watchdog *w, const char *code,
                   uint32_t deadline_ms)
{
    outcome o = {0};
    assert_int_equal(luaL_loadbuffer(L, code, strlen(code), "=rule"), 0);
    double t0 = now_ms();
    assert_int_equal(s6_watchdog_arm(w, L, deadline_ms), 0);
    o.rc = lua_pcall(L, 0, 1, 0);
    o.fired = s6_watchdog_disarm(w);
    o.ms = now_ms() - t0;
    const char *s = lua_tostring(L, -1);
    snprintf(o.msg, sizeof o.msg, "%s", s ? s : "(not a string)");
    lua_pop(L, 1);
    return o;
}

static void assert_no_hook(lua_State *L)
{
    assert_null(lua_gethook(L));
    assert_int_equal(lua_gethookmask(L), 0);
}

/* The trace compiler really compiled the loop: trace 1 exists. */
static void assert_traced(lua_State *L, int want)
{
    const char *probe = "return require('jit.util').traceinfo(1) ~= nil";
    assert_int_equal(luaL_dostring(L, probe), 0);
    assert_int_equal(lua_toboolean(L, -1), want);
    lua_pop(L, 1);
}

static int jit_expected(void)
{
#ifdef S6_TEST_JIT_OFF
    return 0;
#else
    return 1;
#endif
}

static void assert_stopped_on(lua_State *L, s6_watchdog *w, const char *code)
{
    outcome o = run(L, w, code, DEADLINE_MS);
    print_message("stopped after %.1f ms (deadline %d ms): %s\n", o.ms,
                  DEADLINE_MS, o.msg);
    assert_int_equal(o.rc, LUA_ERRRUN);
    assert_int_equal(o.fired, 1);
    assert_non_null(strstr(o.msg, "rule evaluation exceeded its deadline of 50 ms"));
    assert_memory_equal(o.msg, "rule:", 5); /* file:line of the runaway */
    assert_true(o.ms >= DEADLINE_MS);
    assert_true(o.ms < SANITY_CAP_MS);
    assert_no_hook(L);
}

static void assert_stopped(void **state, const char *code)
{
    fixture *f = *state;
    assert_stopped_on(f->L, f->w, code);
    assert_traced(f->L, jit_expected());
}

static void test_counting_loop(void **state)
{
    assert_stopped(state, "local n = 0 while true do n = n + 1 end");
}

static void test_empty_loop(void **state)
{
    assert_stopped(state, "while true do end");
}

static void test_repeat_until_false(void **state)
{
    assert_stopped(state, "local x = 0 repeat x = x + 1 until false");
}

static void test_huge_numeric_for(void **state)
{
    assert_stopped(state, "local s = 0 for i = 1, 2^53 do s = s + i end return s");
}

static void test_pairs_loop(void **state)
{
    assert_stopped(state,
        "local t = {} for i = 1, 100 do t[i] = i end "
        "local s = 0 while true do for k, v in pairs(t) do s = s + v end end");
}

static void test_recursion_in_loop(void **state)
{
    assert_stopped(state,
        "local function depth(n) if n == 0 then return 0 end "
        "return 1 + depth(n - 1) end "
        "local s = 0 while true do s = s + depth(40) end");
}

#define SPIN "local function spin() local n = 0 while true do n = n + 1 end end "

/* The script's own pcall catches the first error; the hook keeps raising it
 * until the evaluation reaches the host. */
static void test_pcall_then_return(void **state)
{
    assert_stopped(state, SPIN "pcall(spin) return 'swallowed'");
}

static void test_pcall_loop(void **state)
{
    assert_stopped(state, SPIN "while true do pcall(spin) end");
}

static void test_nested_pcall_loop(void **state)
{
    assert_stopped(state, SPIN
        "for i = 1, math.huge do pcall(pcall, pcall, spin) "
        "pcall(function() pcall(spin) while true do end end) end");
}

/* LuaJIT runs a message handler inside the erroring hook, where hooks are
 * off: this handler's loop runs to its end although the hook is set. (Its
 * trace exits pile up side traces until LuaJIT flushes them all, so there is
 * no trace left to check afterwards.) */
static void test_raw_xpcall_handler_runs_unhooked(void **state)
{
    fixture *f = *state;
    assert_stopped_on(f->L, f->w, SPIN
        "handled = 0 "
        "local function h(e) for i = 1, 1000 do end handled = handled + 1 return e end "
        "while true do xpcall(spin, h) end");
    lua_getglobal(f->L, "handled");
    assert_int_equal(lua_tointeger(f->L, -1), 1);
    lua_pop(f->L, 1);
}

/* Hence the sandbox's xpcall: pcall, then the handler at the caller's level,
 * where the hook reaches it. */
#define SANDBOX_XPCALL \
    "local function xpcall(f, h) local ok, e = pcall(f) " \
    "if ok then return ok, e end return false, h(e) end "

static void test_sandbox_xpcall_looping_handler(void **state)
{
    assert_stopped(state, SPIN SANDBOX_XPCALL "while true do xpcall(spin, spin) end");
}

static void test_replaced_error(void **state)
{
    assert_stopped(state, SPIN
        "while true do local ok, e = pcall(spin) "
        "if not ok then error('just a normal error') end end");
}

static void test_coroutine_loop(void **state)
{
    assert_stopped(state, SPIN
        "while true do coroutine.resume(coroutine.create(spin)) end");
}

static void test_state_runs_after_kill(void **state)
{
    fixture *f = *state;
    assert_stopped(state, "while true do end");
    outcome o = run(f->L, f->w,
        "local t = {} for i = 1, 1000 do t[i] = i * 2 end "
        "return tostring(t[1000])", 1000);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.fired, 0);
    assert_string_equal(o.msg, "2000");
    assert_no_hook(f->L);
    /* And a second runaway is stopped as well. */
    assert_stopped(state, SPIN "spin()");
}

/* A hot pairs() loop runs to its end: the hook check at the start of every
 * trace once made it compile into an empty endless loop
 * (src/build/luajit-checkhook-itern.patch). */
static void test_hot_pairs_loop_ends(void **state)
{
    fixture *f = *state;
    outcome o = run(f->L, f->w,
        "local t = {} for i = 1, 100 do t[i] = i end "
        "local s = 0 for j = 1, 200 do for k, v in pairs(t) do s = s + v end end "
        "return tostring(s)", 5000);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.fired, 0);
    assert_string_equal(o.msg, "1010000"); /* 200 * (100 * 101 / 2) */
    assert_traced(f->L, jit_expected());
}

static void test_no_deadline_hit(void **state)
{
    fixture *f = *state;
    outcome o = run(f->L, f->w,
        "local s = 0 for i = 1, 1e6 do s = s + i % 7 end return tostring(s)", 5000);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.fired, 0);
    assert_string_equal(o.msg, "2999998"); /* sum of i % 7, checked independently */
    assert_no_hook(f->L);
}

/* Back-to-back short evaluations, as the host runs them: none may fire, and
 * arming must stay cheap. */
static void test_many_short_evaluations(void **state)
{
    fixture *f = *state;
    enum { N = 100000 };
    assert_int_equal(luaL_dostring(f->L, "return function(x) return x + 1 end"), 0);
    double t0 = now_ms();
    for (int i = 0; i < N; i++) {
        lua_pushvalue(f->L, -1);
        lua_pushinteger(f->L, i);
        assert_int_equal(s6_watchdog_arm(f->w, f->L, 1000), 0);
        int rc = lua_pcall(f->L, 1, 1, 0);
        int fired = s6_watchdog_disarm(f->w);
        if (rc != 0 || fired != 0 || lua_tointeger(f->L, -1) != i + 1)
            fail_msg("evaluation %d: rc %d fired %d", i, rc, fired);
        lua_pop(f->L, 1);
    }
    print_message("arm + pcall + disarm: %.0f ns per evaluation\n",
                  (now_ms() - t0) * 1e6 / N);
    lua_pop(f->L, 1);
    assert_no_hook(f->L);
}

static void test_states_share_a_watchdog(void **state)
{
    fixture *f = *state;
    lua_State *other = new_state();
    assert_stopped_on(other, f->w, "while true do end");
    assert_stopped_on(f->L, f->w, "repeat until false");
    outcome o = run(other, f->w, "return 'fine'", 1000);
    assert_int_equal(o.rc, 0);
    assert_string_equal(o.msg, "fine");
    lua_close(other);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    assert_int_equal(s6_watchdog_start(NULL), -EINVAL);
    assert_int_equal(s6_watchdog_arm(f->w, f->L, 0), -EINVAL);
    assert_int_equal(s6_watchdog_arm(NULL, f->L, 10), -EINVAL);
    assert_int_equal(s6_watchdog_arm(f->w, NULL, 10), -EINVAL);
    assert_int_equal(s6_watchdog_disarm(f->w), -EINVAL);
    assert_int_equal(s6_watchdog_arm(f->w, f->L, 1000), 0);
    assert_int_equal(s6_watchdog_arm(f->w, f->L, 1000), -EBUSY);
    assert_int_equal(s6_watchdog_disarm(f->w), 0);
    s6_watchdog_stop(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_counting_loop),
        T(test_empty_loop),
        T(test_repeat_until_false),
        T(test_huge_numeric_for),
        T(test_pairs_loop),
        T(test_recursion_in_loop),
        T(test_pcall_then_return),
        T(test_pcall_loop),
        T(test_nested_pcall_loop),
        T(test_raw_xpcall_handler_runs_unhooked),
        T(test_sandbox_xpcall_looping_handler),
        T(test_replaced_error),
        T(test_coroutine_loop),
        T(test_state_runs_after_kill),
        T(test_hot_pairs_loop_ends),
        T(test_no_deadline_hit),
        T(test_many_short_evaluations),
        T(test_states_share_a_watchdog),
        T(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
