/*
 * Run from the source root after `cmake --build build -j2`:
 *   build/s6-bench-treasury 1000
 *
 * s6-bench-treasury [triggers]
 *
 * What a transfer costs, on loopback with everything real (world.h):
 *   - the decision alone (s6_tr_decide), per call;
 *   - POST /auto-transfer/trigger to its answer in full-auto mode, for
 *     distinct trigger ids: the store lookup, Redis (balances, ledger),
 *     the row, three status writes, strategy_events and the S1 call;
 *   - the same in approval mode, to the PENDING answer (S12 took it).
 * Prints p50, p99 and max per kind (docs/performance.md, "Treasury").
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "treasury/internal.h"
#include "world.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    printf("%-34s n=%-6zu p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", what,
           n, v[n / 2] * 1e6, v[(size_t)((double)n * 0.99)] * 1e6,
           v[n - 1] * 1e6);
}

static void bench_decide(size_t n)
{
    s6_treasury_cfg cfg = {.enabled = true, .min_free_fut = 500,
                           .spot_buffer = 100, .max_per_transfer = 1000,
                           .max_per_day = 5000, .min_spot_retained = 1000,
                           .profit_ceiling = 10000, .balances_max_age_s = 60};
    for (int i = 0; i < S6_TT_COUNT; i++)
        cfg.trig[i].enabled = true;
    s6_tr_input in = {.trigger = S6_TT_MARGIN_CALL, .reported = NAN,
                      .request_enabled = true, .have_balances = true,
                      .bal = {5000, 200, 1000}, .now = 1001};
    s6_tr_decision d;
    double sink = 0, t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        in.bal.fut_free = (double)(i % 600);
        s6_tr_decide(&cfg, &in, &d);
        sink += d.amount;
    }
    double dt = now_s() - t0;
    printf("%-34s n=%-6zu %8.1f ns per call (checksum %.0f)\n",
           "decision (s6_tr_decide)", n, dt / (double)n * 1e9, sink);
}

static void bench_triggers(bool full_auto, size_t n)
{
    world w;
    w_setup(&w, full_auto);
    w.cfg.max_per_day = 1e15;
    w.cfg.approval_poll_s = 3600;
    s6_treasury_set_cfg(w.t, &w.cfg);
    w_balances(&w, 1e9, 200, 1);
    double *lat = calloc(n, sizeof *lat);
    const char *want = full_auto ? "\"SUCCESS\"" : "\"PENDING\"";
    for (size_t i = 0; i < n; i++) {
        char body[256], out[1024];
        snprintf(body, sizeof body, "{\"trigger_id\":\"b-%zu\","
                 "\"trigger_type\":\"MARGIN_CALL\"}", i);
        double t0 = now_s();
        int st = w_post(&w, "/auto-transfer/trigger", body, out, sizeof out);
        lat[i] = now_s() - t0;
        if (st != 200 || strstr(out, want) == NULL) {
            fprintf(stderr, "trigger %zu: HTTP %d %s\n", i, st, out);
            exit(1);
        }
    }
    report(full_auto ? "trigger -> SUCCESS (full-auto)"
                     : "trigger -> PENDING (approval)", lat, n);
    free(lat);
    w_teardown(&w);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    if (n < 2) {
        fprintf(stderr, "usage: s6-bench-treasury [triggers >= 2]\n");
        return 2;
    }
    bench_decide(n * 1000);
    bench_triggers(true, n);
    bench_triggers(false, n);
    return 0;
}
