/*
 * Run from the source root after `cmake --build build -j2`:
 *   build/s6_bench_deadline --seconds=4 --rounds=8
 *
 * Benchmark of the rule-deadline options (docs/sandbox-deadline.md).
 *
 * Built twice from this file: s6_bench_deadline on the hooked LuaJIT
 * (s6::luajit) and s6_bench_deadline_stock on Debian's stock libluajit
 * (S6_BENCH_STOCK). Two LuaJITs cannot share a process, so the hooked
 * program runs the stock one as a child, in alternating rounds so that both
 * see the same machine load, and prints every option in one table with the
 * ratios to the unprotected stock baseline.
 *
 *   s6_bench_deadline [--seconds=S] [--rounds=R]   the table
 *   s6_bench_deadline_stock [--seconds=S] [--demos] raw lines for the driver
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "rules/watchdog.h"

enum {
    POSITIONS = 10000,
    WARMUP_BATCHES = 30,
    MIN_BATCHES = 20,
    MAX_SAMPLES = 100000,
    MAX_DEMOS = 4,
    DEMO_DEADLINE_MS = 50,
    BATCH_DEADLINE_MS = 1000,
};

typedef struct {
    const char *key;   /* stable name, passed from the stock child */
    const char *label; /* what it stands for in the table */
    bool stock;        /* runs on the stock LuaJIT */
    bool jit_off;      /* option (b): rule functions never JIT-compiled */
    bool armed;        /* the watchdog armed around every batch */
} mode;

static const mode modes[] = {
    {"stock_jit", "stock LuaJIT, JIT on, no protection", true, false, false},
    {"stock_jitoff", "(b) stock, rules jit.off, armed per batch", true, true, true},
    {"hooked_unarmed", "(a) hooked LuaJIT, watchdog unarmed", false, false, false},
    {"hooked_armed", "(a) hooked LuaJIT, armed per batch", false, false, true},
};
enum { NMODES = sizeof modes / sizeof modes[0] };

#ifdef S6_BENCH_STOCK
static const bool this_is_stock = true;
#else
static const bool this_is_stock = false;
#endif

typedef struct {
    char key[32];
    double ms;
    char verdict[16];
} demo;

/* Every batch time of every mode, and the deadline demos. */
typedef struct {
    double *ms[NMODES];
    size_t n[NMODES];
    double cold_ms[NMODES]; /* the slowest first batch of a fresh state */
    demo demos[MAX_DEMOS];
    size_t ndemos;
} results;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_deadline: %s: %s\n", what, detail);
    exit(1);
}

static void add_sample(results *r, size_t m, double ms)
{
    if (!r->ms[m] && !(r->ms[m] = calloc(MAX_SAMPLES, sizeof(double))))
        die("calloc", "out of memory");
    if (r->n[m] < MAX_SAMPLES)
        r->ms[m][r->n[m]++] = ms;
}

static void add_cold(results *r, size_t m, double ms)
{
    if (ms > r->cold_ms[m])
        r->cold_ms[m] = ms;
}

static void add_demo(results *r, const char *key, double ms, const char *verdict)
{
    if (r->ndemos == MAX_DEMOS)
        die("demos", "too many");
    demo *d = &r->demos[r->ndemos++];
    snprintf(d->key, sizeof d->key, "%s", key);
    snprintf(d->verdict, sizeof d->verdict, "%s", verdict);
    d->ms = ms;
}

/* A fresh state with the workload module at stack index 1. */
static lua_State *open_workload(void)
{
    lua_State *L = luaL_newstate();
    if (!L)
        die("luaL_newstate", "out of memory");
    luaL_openlibs(L);
    if (luaL_dofile(L, S6_BENCH_LUA))
        die(S6_BENCH_LUA, lua_tostring(L, -1));
    return L;
}

/* Option (b): M.jit_off(what) keeps the rules (or the demo loop) out of the
 * trace compiler. */
static void jit_off(lua_State *L, const char *what)
{
    lua_getfield(L, 1, "jit_off");
    lua_pushstring(L, what);
    if (lua_pcall(L, 1, 0, 0))
        die("jit_off", lua_tostring(L, -1));
}

/* Pushes M.batch, book, M.rules, M.params: one batch call is ready to copy. */
static void push_batch_call(lua_State *L)
{
    lua_getfield(L, 1, "batch");
    lua_getfield(L, 1, "new_book");
    lua_pushinteger(L, POSITIONS);
    lua_pushinteger(L, 42);
    if (lua_pcall(L, 2, 1, 0))
        die("new_book", lua_tostring(L, -1));
    lua_getfield(L, 1, "rules");
    lua_getfield(L, 1, "params");
}

static double run_batch(lua_State *L, s6_watchdog *w, bool armed)
{
    for (int i = 2; i <= 5; i++)
        lua_pushvalue(L, i);
    double t0 = now_ms();
    if (armed && s6_watchdog_arm(w, L, BATCH_DEADLINE_MS))
        die("s6_watchdog_arm", "failed");
    int rc = lua_pcall(L, 3, 1, 0);
    if (armed && s6_watchdog_disarm(w) != 0)
        die("batch", "overran its deadline");
    double ms = now_ms() - t0;
    if (rc)
        die("batch", lua_tostring(L, -1));
    lua_pop(L, 1);
    return ms;
}

static void run_mode(results *r, size_t m, s6_watchdog *w, double seconds)
{
    lua_State *L = open_workload();
    if (modes[m].jit_off)
        jit_off(L, "rules");
    push_batch_call(L);
    add_cold(r, m, run_batch(L, w, modes[m].armed));
    for (int i = 1; i < WARMUP_BATCHES; i++)
        run_batch(L, w, modes[m].armed);
    double total = 0;
    for (int n = 0; n < MIN_BATCHES || total < seconds * 1e3; n++) {
        double ms = run_batch(L, w, modes[m].armed);
        add_sample(r, m, ms);
        total += ms;
    }
    lua_close(L);
}

/* How late a 50 ms deadline stops a loop that would run for longer. */
static void run_demo(results *r, const char *key, bool interpreted, s6_watchdog *w)
{
    lua_State *L = open_workload();
    if (interpreted)
        jit_off(L, "long_loop");
    lua_getfield(L, 1, "long_loop");
    double t0 = now_ms();
    if (s6_watchdog_arm(w, L, DEMO_DEADLINE_MS))
        die("s6_watchdog_arm", "failed");
    int rc = lua_pcall(L, 0, 1, 0);
    int fired = s6_watchdog_disarm(w);
    add_demo(r, key, now_ms() - t0, rc && fired == 1 ? "stopped" : "ran-to-end");
    lua_close(L);
}

/* This LuaJIT's modes, each for `seconds`, and optionally its demos. */
static void run_lua_modes(results *r, double seconds, bool demos)
{
    s6_watchdog *w;
    if (s6_watchdog_start(&w))
        die("s6_watchdog_start", "failed");
    for (size_t m = 0; m < NMODES; m++)
        if (modes[m].stock == this_is_stock)
            run_mode(r, m, w, seconds);
    if (demos && this_is_stock) {
        run_demo(r, "stock_jit", false, w);
        run_demo(r, "stock_jitoff", true, w);
    } else if (demos) {
        run_demo(r, "hooked_jit", false, w);
    }
    s6_watchdog_stop(w);
}

#ifdef S6_BENCH_STOCK
/* Raw lines for the hooked driver. */
static void print_lines(const results *r)
{
    for (size_t m = 0; m < NMODES; m++) {
        for (size_t i = 0; i < r->n[m]; i++)
            printf("sample %s %.6f\n", modes[m].key, r->ms[m][i]);
        if (r->n[m])
            printf("cold %s %.6f\n", modes[m].key, r->cold_ms[m]);
    }
    for (size_t i = 0; i < r->ndemos; i++)
        printf("demo %s %.3f %s\n", r->demos[i].key, r->demos[i].ms,
               r->demos[i].verdict);
}
#else
/* ---- option (c): the cost of a worker process, as socket round trips ---- */

static void io_all(int fd, void *buf, size_t n, bool writing)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            if (!writing && k == 0)
                _exit(0); /* the parent closed: the worker is done */
            die("socket", strerror(errno));
        }
        p += k;
        n -= (size_t)k;
    }
}

/* The worker: reads a request (header: request and reply sizes), replies. */
static void echo_worker(int fd, char *buf)
{
    for (;;) {
        uint32_t hdr[2];
        io_all(fd, hdr, sizeof hdr, false);
        io_all(fd, buf, hdr[0], false);
        io_all(fd, buf, hdr[1], true);
    }
}

/* Mean round trip in ms of `rounds` messages of req bytes answered by rep. */
static double round_trip_ms(int fd, char *buf, uint32_t req, uint32_t rep,
                            int rounds)
{
    uint32_t hdr[2] = {req, rep};
    double t0 = now_ms();
    for (int i = 0; i < rounds; i++) {
        io_all(fd, hdr, sizeof hdr, true);
        io_all(fd, buf, req, true);
        io_all(fd, buf, rep, false);
    }
    return (now_ms() - t0) / rounds;
}

typedef struct {
    double small_ms, full_ms;
} ipc_cost;

/* Both answer with 32-byte actions for 5 % of the positions (the workload
 * proposes about 4 %). Small: the 50 marks in, the worker mirrors the
 * positions. Full: every position's 8 numbers in. */
static ipc_cost run_ipc(void)
{
    enum { FULL_REQ = POSITIONS * 8 * 8, REPLY = POSITIONS / 20 * 32 };
    int sv[2];
    char *buf = calloc(1, FULL_REQ);
    if (!buf || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        echo_worker(sv[1], buf);
    }
    close(sv[1]);
    ipc_cost c = {round_trip_ms(sv[0], buf, 50 * 16, REPLY, 5000),
                  round_trip_ms(sv[0], buf, FULL_REQ, REPLY, 500)};
    close(sv[0]);
    waitpid(pid, NULL, 0);
    free(buf);
    return c;
}

static double arm_cost_ns(void)
{
    enum { N = 1000000 };
    s6_watchdog *w;
    lua_State *L = luaL_newstate();
    if (!L || s6_watchdog_start(&w))
        die("arm_cost", "setup failed");
    double t0 = now_ms();
    for (int i = 0; i < N; i++) {
        s6_watchdog_arm(w, L, BATCH_DEADLINE_MS);
        s6_watchdog_disarm(w);
    }
    double ns = (now_ms() - t0) * 1e6 / N;
    s6_watchdog_stop(w);
    lua_close(L);
    return ns;
}

/* ---- the driver ---- */

static size_t mode_index(const char *key)
{
    for (size_t i = 0; i < NMODES; i++)
        if (!strcmp(modes[i].key, key))
            return i;
    die("unknown mode", key);
    return 0;
}

static void parse_line(results *r, const char *line)
{
    char key[32], verdict[16];
    double ms;
    if (sscanf(line, "sample %31s %lf", key, &ms) == 2)
        add_sample(r, mode_index(key), ms);
    else if (sscanf(line, "cold %31s %lf", key, &ms) == 2)
        add_cold(r, mode_index(key), ms);
    else if (sscanf(line, "demo %31s %lf %15s", key, &ms, verdict) == 3)
        add_demo(r, key, ms, verdict);
    else
        die("unexpected line from the stock benchmark", line);
}

static void run_stock_child(results *r, double seconds, bool demos)
{
    char cmd[4096], line[256];
    snprintf(cmd, sizeof cmd, "'%s' --seconds=%g%s", S6_BENCH_STOCK_EXE,
             seconds, demos ? " --demos" : "");
    FILE *p = popen(cmd, "r");
    if (!p)
        die("popen", cmd);
    while (fgets(line, sizeof line, p))
        parse_line(r, line);
    if (pclose(p) != 0)
        die("the stock benchmark failed", cmd);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double mean_rate, median_rate, p50, p99, p999, max;
} stats;

static stats stats_of(double *ms, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += ms[i];
    qsort(ms, n, sizeof(double), cmp_double);
#define PCT(p) ms[(size_t)((p) * (double)(n - 1) + 0.5)]
    stats s = {POSITIONS * (double)n / (total / 1e3), POSITIONS / (PCT(0.5) / 1e3),
               PCT(0.5), PCT(0.99), PCT(0.999), ms[n - 1]};
#undef PCT
    return s;
}

static void print_table(results *r, ipc_cost ipc)
{
    stats st[NMODES];
    for (size_t m = 0; m < NMODES; m++) {
        if (r->n[m] == 0)
            die("results", modes[m].key);
        st[m] = stats_of(r->ms[m], r->n[m]);
    }
    const stats *base = &st[mode_index("stock_jit")];
    printf("positions per second (4 rules each), batches of %d; ratio = median "
           "batch rate / stock JIT's\n", POSITIONS);
    printf("%-44s %10s %10s %6s %7s %7s %8s %7s %7s %6s\n", "option", "mean",
           "median", "ratio", "p50 ms", "p99 ms", "p99.9 ms", "max ms",
           "cold ms", "batch");
    for (size_t m = 0; m < NMODES; m++)
        printf("%-44s %10.0f %10.0f %6.3f %7.3f %7.3f %8.3f %7.3f %7.3f %6zu\n",
               modes[m].label, st[m].mean_rate, st[m].median_rate,
               st[m].median_rate / base->median_rate, st[m].p50, st[m].p99,
               st[m].p999, st[m].max, r->cold_ms[m], r->n[m]);
    const struct { const char *label; double rtt; } est[] = {
        {"(c) worker est.: stock + marks message", ipc.small_ms},
        {"(c) worker est.: stock + whole batch sent", ipc.full_ms},
    };
    for (size_t i = 0; i < 2; i++) {
        double rate = POSITIONS / ((base->p50 + est[i].rtt) / 1e3);
        printf("%-44s %10s %10.0f %6.3f   (+%.3f ms round trip per batch)\n",
               est[i].label, "", rate, rate / base->median_rate, est[i].rtt);
    }
    printf("\nrunaway loop (M.long_loop) under a %d ms deadline:\n",
           DEMO_DEADLINE_MS);
    for (size_t i = 0; i < r->ndemos; i++)
        printf("  %-14s %s after %.0f ms\n", r->demos[i].key,
               r->demos[i].verdict, r->demos[i].ms);
}
#endif

int main(int argc, char **argv)
{
    double seconds = 2.0;
    int rounds = 3;
    bool demos = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--demos"))
            demos = true;
        else if (sscanf(argv[i], "--seconds=%lf", &seconds) != 1 &&
                 sscanf(argv[i], "--rounds=%d", &rounds) != 1)
            die("usage", "[--seconds=S] [--rounds=R]");
    }
    if (seconds <= 0 || rounds < 1)
        die("usage", "S > 0, R >= 1");
    results r = {0};
#ifdef S6_BENCH_STOCK
    run_lua_modes(&r, seconds, demos);
    print_lines(&r);
#else
    (void)demos; /* the driver asks for them in the last round */
    for (int k = 0; k < rounds; k++) {
        bool last = k == rounds - 1;
        run_stock_child(&r, seconds / rounds, last);
        run_lua_modes(&r, seconds / rounds, last);
    }
    print_table(&r, run_ipc());
    printf("\nwatchdog arm + disarm: %.0f ns\n", arm_cost_ns());
#endif
    for (size_t m = 0; m < NMODES; m++)
        free(r.ms[m]);
    return 0;
}
