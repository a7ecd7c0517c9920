/*
 * Run from the source root after `cmake --build build -j2`:
 *   S6_SOURCE_DIR=$PWD build/s6-bench-engine 10000 lua
 *
 * s6-bench-engine — the engine's own costs, on in-memory edges and a
 * router that takes every order at once:
 *
 *   s6-bench-engine [N] [native|lua]
 *
 * N positions (default 10000) on N symbols are opened from entry results
 * (each gets its first stop), then: one manage tick over all of them (the
 * median of 9), and price updates that evaluate one position each (no
 * order, then an update that crosses the lock-in step and sends a stop).
 * Prints one line per figure and the peak RSS.  With N <= 1000 it also
 * checks what it measured (the ctest smoke): every position evaluated,
 * one stop each, a step crossing sends one order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rules/service.h"
#include "engine/engine.h"
#include "engine/mem_state.h"
#include "metrics/metrics.h"
#include "rules/native/native_rules.h"
#include "rules/edge.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct bench {
    double clock;
    size_t orders;
} bench;

static double b_clock(void *ud) { return ((bench *)ud)->clock; }

typedef struct pending {
    s6_route_done done;
    void *cb_ud;
    char intent[S6_INTENT_ID_MAX + 1];
} pending;

static pending *queue;
static size_t nqueue, capqueue;

static int b_submit(void *ud, const s6_order *o, s6_route_done done,
                    void *cb_ud)
{
    ((bench *)ud)->orders++;
    if (nqueue == capqueue) {
        capqueue = capqueue ? capqueue * 2 : 1024;
        queue = realloc(queue, capqueue * sizeof *queue);
    }
    pending *p = &queue[nqueue++];
    p->done = done;
    p->cb_ud = cb_ud;
    snprintf(p->intent, sizeof p->intent, "%s", o->intent_id);
    return 0;
}

static int b_cancel(void *ud, const char *intent, const char *symbol,
                    int market, s6_route_done done, void *cb_ud)
{
    (void)ud, (void)symbol, (void)market;
    return b_submit(ud, &(s6_order){0}, done, cb_ud) == 0 &&
                   snprintf(queue[nqueue - 1].intent, S6_INTENT_ID_MAX + 1,
                            "%s", intent) > 0
               ? 0 : -1;
}

static void settle(void)
{
    for (size_t i = 0; i < nqueue; i++)
        queue[i].done(queue[i].cb_ud, queue[i].intent, S6_ROUTE_OK, "");
    nqueue = 0;
}

static char *config_text(int n)
{
    size_t cap = (size_t)n * 200 + 512, len = 0;
    char *t = malloc(cap);
    len += (size_t)snprintf(t + len, cap - len, "{\"symbols\":{");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(
            t + len, cap - len,
            "%s\"S%05dUSDT\":{\"market\":\"FUT\",\"tick\":0.1,\"step\":0.001,"
            "\"min_qty\":0.001,\"leverage\":10,\"brackets\":[{\"notional_floor\":0,"
            "\"notional_cap\":1e9,\"mmr\":0.004,\"cum\":0}]}",
            i ? "," : "", i);
    snprintf(t + len, cap - len, "}}");
    return t;
}

static void sink(void *ud, const char *line, size_t len)
{
    (void)ud, (void)line, (void)len;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One update at mark for each of the first n symbols; seconds per update. */
static double update_each(s6_engine *e, int n, double mark, double ts)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        char sym[16];
        snprintf(sym, sizeof sym, "S%05dUSDT", i);
        s6_market_update m = {.ts = ts, .mark = mark, .atr = NAN,
                              .regime = -1, .health = NAN};
        s6_engine_on_market(e, sym, S6_MARKET_FUT, &m);
    }
    return (now_s() - t0) / n;
}

static int check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "FAILED: %s\n", what);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    bool lua = argc > 2 && strcmp(argv[2], "lua") == 0;
    char err[512] = "";
    s6_config cfg;
    s6_config_error cerr;
    char *text = config_text(n);
    if (s6_config_load_text(text, "bench", &cfg, &cerr) != 0) {
        fprintf(stderr, "config: %s\n", cerr.message);
        return 1;
    }
    free(text);
    s6_log log;
    s6_log_init(&log, S6_LOG_WARN);
    s6_log_set_sink(&log, sink, NULL);
    bench b = {.clock = 1764110000};
    s6_mem_state *ms = s6_mem_state_new(1e12, 1 << 30);
    s6_native_rules nr;
    s6_native_rules_init(&nr);
    s6_rules_svc rs;
    s6_rules_edge rules;
    if (lua) {
        s6_rules_svc_config rc;
        s6_rules_svc_config_default(&rc);
        char lua_dir[512], rules_dir[512];
        const char *src = getenv("S6_SOURCE_DIR") ? getenv("S6_SOURCE_DIR") : ".";
        snprintf(lua_dir, sizeof lua_dir, "%s/lua", src);
        snprintf(rules_dir, sizeof rules_dir, "%s/rules", src);
        rc.lua_dir = lua_dir;
        rc.rules_dir = rules_dir;
        rc.deadline_ms = 60000;
        if (s6_rules_svc_start(&rs, NULL, &log, NULL, &rc, err, sizeof err) != 0 ||
            s6_rules_edge_lua(&rs, n, &rules, err, sizeof err) != 0) {
            fprintf(stderr, "rules: %s\n", err);
            return 1;
        }
    } else if (s6_rules_edge_native(&nr, n, &rules, err, sizeof err) != 0) {
        fprintf(stderr, "rules: %s\n", err);
        return 1;
    }
    s6_engine_edges ed = {
        .router = {.submit = b_submit, .cancel = b_cancel, .ud = &b},
        .state = s6_mem_state_edge(ms),
        .rules = rules,
        .clock = {.now = b_clock, .ud = &b},
    };
    s6_engine *e;
    if (s6_engine_new(&cfg, &ed, &log, NULL, &e, err, sizeof err) != 0) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }
    s6_engine_resume(e); /* nothing to restore or reconcile */
    int failures = 0;

    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        s6_order_result r = {.kind = S6_RES_FILL, .market = S6_MARKET_FUT,
                             .ts = b.clock, .sl_px = 49000};
        snprintf(r.result_id, sizeof r.result_id, "r-%d", i);
        snprintf(r.intent_id, sizeof r.intent_id, "up-%d", i);
        snprintf(r.symbol, sizeof r.symbol, "S%05dUSDT", i);
        r.fill = (s6_fill){.kind = S6_FILL_ENTRY, .side = 1, .qty = 0.1,
                           .price = 50000, .ts = b.clock};
        if (s6_engine_on_result(e, &r, err, sizeof err) != 0) {
            fprintf(stderr, "entry %d: %s\n", i, err);
            return 1;
        }
    }
    double t_open = now_s() - t0;
    failures += check(b.orders == (size_t)n, "one first stop per position");
    settle();
    update_each(e, n, 50100, b.clock);
    settle();

    double ticks[9];
    size_t before = b.orders;
    for (int k = 0; k < 9; k++) {
        t0 = now_s();
        s6_engine_tick(e);
        ticks[k] = now_s() - t0;
    }
    qsort(ticks, 9, sizeof ticks[0], cmp);
    failures += check(b.orders == before, "a quiet tick sends nothing");
    s6_engine_status st;
    s6_engine_get_status(e, &st);
    failures += check(st.positions == (size_t)n && st.unprotected == 0,
                      "every position open and protected");

    /* one position's price: evaluated alone, no order */
    int updates = n < 2000 ? n : 2000;
    double t_quiet = update_each(e, updates, 50110, b.clock);
    failures += check(b.orders == before, "a quiet update sends nothing");
    /* crossing lock-in step 1 (ROE > 10%): one stop order each */
    double t_cross = update_each(e, updates, 50520, b.clock);
    failures += check(b.orders == before + (size_t)updates,
                      "a step crossing sends one stop");
    settle();

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rules %s, %d positions\n", lua ? "lua" : "native", n);
    printf("open (entry result + first stop): %.2f us/position\n",
           t_open / n * 1e6);
    printf("manage tick: median %.2f ms, min %.2f ms, max %.2f ms "
           "(%.2f us/position)\n", ticks[4] * 1e3, ticks[0] * 1e3,
           ticks[8] * 1e3, ticks[4] / n * 1e6);
    printf("price update, no order: %.2f us\n", t_quiet * 1e6);
    printf("price update crossing a step (stop sent): %.2f us\n",
           t_cross * 1e6);
    printf("peak RSS: %.1f MB\n", ru.ru_maxrss / 1024.0);

    s6_engine_free(e);
    s6_rules_edge_free(&rules);
    if (lua)
        s6_rules_svc_free(&rs);
    s6_mem_state_free(ms);
    s6_config_free(&cfg);
    free(queue);
    return failures ? 1 : 0;
}
