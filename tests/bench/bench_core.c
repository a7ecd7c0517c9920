/*
 * Run from the source root after `cmake --build build -j2`:
 *   build/s6-bench-core
 *
 * s6-bench-core [iterations]
 *
 * Calls per second of representative core primitives, in one run, called
 * (a) from C in a tight loop and (b) from LuaJIT through the wrappers of
 * lua/s6/core.lua, which reach the statically linked primitives through
 * ffi.C (this binary exports its symbols).  Both loops feed the same inputs
 * and their sums must agree bit for bit.  It also watches the JIT: every
 * measured Lua loop must compile to a looping trace with no abort and no
 * stitch.  Exit status: 0 all good, 1 a check failed, 2 setup error.
 * Timings are printed, never judged (docs/performance.md).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/s6_core.h"

/* Inputs as functions of the iteration number; bench_core.lua's loops use
 * the same formulas, so both sides compute the same values. */
#define SIDE(i) (1 - 2 * (int)((i) & 1))
#define MARK(i) (100.0 + (double)((i) & 1023) * 0.01)
#define ATR_PERIOD 14

/* Iterations of each Lua loop before the timed runs: enough for the hot
 * loop and its side exits to compile whatever the iteration count. */
#define LUA_WARMUP 2000L
#define REPEATS 3

typedef double (*c_loop)(long n);

static double c_roe(long n)
{
    double acc = 0.0;
    for (long i = 0; i < n; i++)
        acc += s6_roe(SIDE(i), 0.5, 100.0, MARK(i), 10.0);
    return acc;
}

static double c_price_for_roe_net(long n)
{
    double acc = 0.0;
    for (long i = 0; i < n; i++)
        acc += s6_price_for_roe_net(SIDE(i), 0.5, 100.0, 10.0, 0.02, 0.0004,
                                    (double)(i & 255) * 0.001);
    return acc;
}

static double c_liq_price_isolated(long n)
{
    double acc = 0.0;
    for (long i = 0; i < n; i++)
        acc += s6_liq_price_isolated(SIDE(i), 0.5, 100.0, MARK(i) * 0.1,
                                     0.004, 0.0);
    return acc;
}

static double c_liq_distance(long n)
{
    double acc = 0.0;
    for (long i = 0; i < n; i++)
        acc += s6_liq_distance(SIDE(i), MARK(i), 90.0 + (double)(i & 3) * 5.0);
    return acc;
}

static double c_atr_push(long n)
{
    s6_atr_state st;
    double out = 0.0, acc = 0.0;
    s6_atr_init(&st, ATR_PERIOD);
    for (long i = 0; i <= ATR_PERIOD; i++)
        s6_atr_push(&st, MARK(i) + 0.5, MARK(i) - 0.5, MARK(i), &out);
    for (long i = 0; i < n; i++) {
        double m = MARK(i);
        s6_atr_push(&st, m + 0.5, m - 0.5, m, &out);
        acc += out;
    }
    return acc;
}

static double c_round_stop(long n)
{
    double acc = 0.0;
    for (long i = 0; i < n; i++)
        acc += s6_round_stop(SIDE(i), 100.0 + (double)(i & 1023) * 0.0037,
                             0.01);
    return acc;
}

static double c_format_decimal(long n)
{
    char buf[64];
    double acc = 0.0;
    for (long i = 0; i < n; i++)
        acc += s6_format_decimal((double)(i & 1023) * 0.01, 0.01, buf,
                                 sizeof buf);
    return acc;
}

/* Default iterations per timed run, sized for roughly half a second per row
 * (REPEATS runs each of C and Lua) on the development machine; a count on
 * the command line replaces them all. */
static const struct row {
    const char *name; /* also the key of bench_core.lua's loop */
    c_loop run_c;
    long default_n;
} rows[] = {
    {"s6_roe", c_roe, 12000000L},
    {"s6_price_for_roe_net", c_price_for_roe_net, 8000000L},
    {"s6_liq_price_isolated", c_liq_price_isolated, 9000000L},
    {"s6_liq_distance", c_liq_distance, 14000000L},
    {"s6_atr_push", c_atr_push, 8000000L},
    {"s6_round_stop", c_round_stop, 2500000L},
    {"s6_format_decimal", c_format_decimal, 400000L},
};

/* The C result lands here so the loops cannot be optimised away. */
static volatile double sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What the trace watcher saw for one row (bench_core.lua, watch_stop). */
struct jit_report {
    int trace, aborts, benign, stitches;
};

/* Calls B.<fn>(args...) with the bench module at stack index 1. */
static int call_bench(lua_State *L, const char *fn, int nargs, int nres)
{
    lua_getfield(L, 1, fn);
    lua_insert(L, -1 - nargs);
    if (lua_pcall(L, nargs, nres, 0) != 0) {
        fprintf(stderr, "s6-bench-core: %s: %s\n", fn, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* Runs B.loops[name](n); its sum goes to *acc, its duration to *secs. */
static int lua_loop(lua_State *L, const char *name, long n, double *acc,
                    double *secs)
{
    lua_getfield(L, 1, "loops");
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    lua_pushnumber(L, (lua_Number)n);
    double t0 = now_s();
    if (lua_pcall(L, 1, 1, 0) != 0) {
        fprintf(stderr, "s6-bench-core: %s: %s\n", name, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    *secs = now_s() - t0;
    *acc = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return 0;
}

static int watch_stop(lua_State *L, const char *name, struct jit_report *r)
{
    if (call_bench(L, "watch_stop", 0, 5) < 0)
        return -1;
    r->trace = (int)lua_tointeger(L, -5);
    r->aborts = (int)lua_tointeger(L, -4);
    r->benign = (int)lua_tointeger(L, -3);
    r->stitches = (int)lua_tointeger(L, -2);
    if (lua_objlen(L, -1) > 0)
        fprintf(stderr, "%s:\n%s\n", name, lua_tostring(L, -1));
    lua_pop(L, 5);
    return 0;
}

/* A lua_State with the standard libraries, lua/ on the module path and
 * bench_core.lua's table at stack index 1. */
static lua_State *open_bench(const char *src_dir)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return NULL;
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/lua/?.lua;", src_dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_pushfstring(L, "%s/tests/bench/bench_core.lua", src_dir);
    const char *file = lua_tostring(L, -1);
    if (luaL_loadfile(L, file) != 0 || lua_pcall(L, 0, 1, 0) != 0) {
        fprintf(stderr, "s6-bench-core: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    lua_remove(L, -2);
    lua_getfield(L, 1, "linked_in");
    int linked = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!linked) {
        fprintf(stderr, "s6-bench-core: s6.core did not bind to this "
                        "binary's primitives through ffi.C\n");
        lua_close(L);
        return NULL;
    }
    return L;
}

#define HEAD_FMT "%-22s %9s %11s %12s %6s %5s %6s %6s %8s %s\n"
#define ROW_FMT "%-22s %9ld %11.1f %12.1f %6.2f %5d %6d %6d %8d %s\n"

static int parse_count(const char *arg, long *n)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 1)
        return -1;
    *n = v;
    return 0;
}

/*
 * One row: the Lua loop's warm-up, then REPEATS alternating timed runs of
 * the C loop and the Lua loop (best rate of each kept: the machine is
 * shared), all under the trace watcher.  Returns 1 if the row passed its
 * checks, 0 if not, -1 on a Lua error.
 */
static int bench_row(lua_State *L, const struct row *row, long n)
{
    double acc = 0.0, lua_acc = 0.0, secs, c_best = 0.0, lua_best = 0.0;
    int same = 1;
    lua_pushstring(L, row->name);
    if (call_bench(L, "watch_start", 1, 0) < 0 ||
        lua_loop(L, row->name, LUA_WARMUP, &lua_acc, &secs) < 0 ||
        call_bench(L, "watch_timed", 0, 0) < 0)
        return -1;
    row->run_c(n / 100 + 1); /* warm caches and branch predictors */
    for (int rep = 0; rep < REPEATS; rep++) {
        double t0 = now_s();
        acc = row->run_c(n);
        c_best = fmax(c_best, (double)n / (now_s() - t0));
        sink = acc;
        if (lua_loop(L, row->name, n, &lua_acc, &secs) < 0)
            return -1;
        lua_best = fmax(lua_best, (double)n / secs);
        same &= memcmp(&acc, &lua_acc, sizeof acc) == 0;
    }
    struct jit_report jr;
    if (watch_stop(L, row->name, &jr) < 0)
        return -1;
    printf(ROW_FMT, row->name, n, c_best * 1e-6, lua_best * 1e-6,
           lua_best / c_best, jr.trace, jr.aborts, jr.benign, jr.stitches,
           same ? "same" : "DIFFERS");
    if (!same)
        fprintf(stderr, "%s: C sum %.17g, Lua sum %.17g\n", row->name, acc,
                lua_acc);
    return same && jr.trace > 0 && jr.aborts == 0 && jr.stitches == 0;
}

int main(int argc, char **argv)
{
    long n_arg = 0;
    if (argc > 2 || (argc == 2 && parse_count(argv[1], &n_arg) < 0)) {
        fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
        return 2;
    }
    const char *src_dir = getenv("S6_SOURCE_DIR");
    lua_State *L = open_bench(src_dir ? src_dir : S6_SOURCE_DIR);
    if (L == NULL)
        return 2;
    lua_getfield(L, 1, "version");
    printf("s6-bench-core: C vs %s through lua/s6/core.lua (ffi.C)\n",
           lua_tostring(L, -1));
    lua_pop(L, 1);
    printf(HEAD_FMT, "primitive", "calls", "C Mcalls/s", "Lua Mcalls/s",
           "Lua/C", "trace", "aborts", "benign", "stitches", "sums");

    int failed = 0, broken = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int ok = bench_row(L, &rows[i], n_arg ? n_arg : rows[i].default_n);
        broken |= ok < 0;
        failed |= ok == 0;
    }
    lua_close(L);
    if (failed)
        fprintf(stderr, "s6-bench-core: a Lua loop did not compile cleanly "
                        "or disagreed with C\n");
    return broken ? 2 : failed ? 1 : 0;
}
