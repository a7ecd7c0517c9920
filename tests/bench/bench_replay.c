/*
 * Run from the source root after `cmake --build build -j2`:
 *   S6_CONFIG=config/s6.json S6_RULES_DIR=rules build/bench_replay 1000000 100
 *
 * bench_replay — `s6-position replay` at scale: UPDATES price updates
 * over POSITIONS positions (one symbol each), through the Lua rule host
 * and then, in the same run, through the native-C reference of the
 * shipped rules, which is the limit (docs/performance.md).
 *
 *   bench_replay [UPDATES [POSITIONS]]     defaults: 1000000 100
 *
 * The prices are generated in memory (a seeded random walk with a slow
 * volatility cycle, marks one second apart per symbol, an hourly momentum
 * signal), so both runs see the very same input.  Needs S6_CONFIG (the
 * shipped config: its rules' parameters) and S6_RULES_DIR.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay.h"

static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double normal(uint64_t *s)
{
    double u = ((double)(next64(s) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(next64(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void symbol_name(size_t i, char out[S6_SYMBOL_MAX + 1])
{
    snprintf(out, S6_SYMBOL_MAX + 1, "S%03zuUSDT", i);
}

/* The shipped config with n symbols and room for n positions. */
static int make_config(size_t n, s6_config *cfg)
{
    const char *path = getenv("S6_CONFIG");
    json_error_t je;
    json_t *doc = json_load_file(path ? path : "config/s6.json", 0, &je);
    if (doc == NULL) {
        fprintf(stderr, "bench_replay: %s: %s\n", path, je.text);
        return -1;
    }
    json_t *syms = json_object();
    for (size_t i = 0; i < n; i++) {
        char name[S6_SYMBOL_MAX + 1];
        symbol_name(i, name);
        json_object_set_new(syms, name, json_pack(
            "{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:[{s:f,s:f,s:f,s:f}]}",
            "market", "FUT", "tick", 0.01, "step", 0.001, "min_qty", 0.001,
            "min_notional", 5.0, "taker_fee", 0.0005, "leverage", 10.0,
            "brackets", "notional_floor", 0.0, "notional_cap", 1e9, "mmr",
            0.004, "cum", 0.0));
    }
    json_object_set_new(doc, "symbols", syms);
    json_t *risk = json_object_get(doc, "risk");
    json_object_set_new(risk, "max_concurrent_positions",
                        json_integer((json_int_t)n * 2));
    json_object_set_new(risk, "budget", json_real(1e9));
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    s6_config_error ce;
    int rc = s6_config_load_text(text, "bench config", cfg, &ce);
    free(text);
    if (rc != 0)
        fprintf(stderr, "bench_replay: %s\n", ce.message);
    return rc;
}

static int make_series(size_t n, size_t rows, s6_price_series *s,
                       s6_paper_entry *e)
{
    uint64_t rng = 20261125;
    const double t0 = 1795564800;
    for (size_t i = 0; i < n; i++) {
        s[i] = (s6_price_series){ .market = S6_MARKET_FUT, .has_mark = true,
                                  .n = rows };
        symbol_name(i, s[i].symbol);
        snprintf(s[i].name, sizeof s[i].name, "%s (generated)", s[i].symbol);
        if ((s[i].bars = calloc(rows, sizeof *s[i].bars)) == NULL)
            return -1;
        double p = 100, hour_open = p;
        for (size_t k = 0; k < rows; k++) {
            /* volatility cycles between calm and wild every two hours */
            double vol = 1.2e-4 * (1.5 + sin((double)k / 1146.0));
            p *= exp(vol * normal(&rng));
            double m = nearbyint(p * 100) / 100;
            int signal = 0;
            if (k > 0 && k % 3600 == 0) {
                signal = p > hour_open * 1.003 ? 1 : p < hour_open * 0.997
                                                         ? -1 : 0;
                hour_open = p;
            }
            s[i].bars[k] = (s6_price_bar){ .t = t0 + (double)k, .open = m,
                                           .high = m, .low = m, .close = m,
                                           .mark = m, .signal = signal };
        }
        e[i] = (s6_paper_entry){ .market = S6_MARKET_FUT,
                                 .side = i % 2 ? -1 : 1, .qty = 1.0,
                                 .leverage = 10 };
        snprintf(e[i].pos_id, sizeof e[i].pos_id, "b%03zu", i);
        memcpy(e[i].symbol, s[i].symbol, sizeof e[i].symbol);
    }
    return 0;
}

static int run(const s6_config *cfg, bool native, const s6_price_series *s,
               size_t n, const s6_paper_entry *e, s6_replay_stats *st)
{
    s6_log log;
    s6_log_init(&log, S6_LOG_ERROR);
    s6_replay_opts o = { .cfg = cfg, .native = native, .log = &log,
                         .rules_dir = getenv("S6_RULES_DIR") };
    char err[512];
    if (s6_replay_run(&o, s, n, e, n, st, err, sizeof err) != 0) {
        fprintf(stderr, "bench_replay: %s\n", err);
        return -1;
    }
    return 0;
}

static void row(const char *name, const s6_replay_stats *st)
{
    printf("%-22s %10zu %9.3f %12.0f %8.3f %12.0f %6zu %7zu %6zu\n", name,
           st->updates, st->wall_s, st->updates / st->wall_s, st->cpu_s,
           st->updates / st->cpu_s, st->ticks, st->notes, st->fills);
}

int main(int argc, char **argv)
{
    size_t updates = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    if (n == 0 || n > 1000 || updates < n) {
        fprintf(stderr, "usage: bench_replay [UPDATES [POSITIONS<=1000]]\n");
        return 2;
    }
    s6_config cfg;
    s6_price_series *s = calloc(n, sizeof *s);
    s6_paper_entry *e = calloc(n, sizeof *e);
    if (s == NULL || e == NULL || make_config(n, &cfg) != 0 ||
        make_series(n, updates / n, s, e) != 0)
        return 1;
    s6_replay_stats lua, native;
    int rc = run(&cfg, false, s, n, e, &lua) || run(&cfg, true, s, n, e,
                                                     &native);
    if (rc == 0) {
        printf("replay of %zu price updates over %zu positions (%zu "
               "symbols, marks 1 s apart, manage tick %u s)\n",
               lua.updates, n, n, cfg.ticks.manage_interval_s);
        printf("%-22s %10s %9s %12s %8s %12s %6s %7s %6s\n", "rules",
               "updates", "wall_s", "updates/s", "cpu_s", "per cpu_s",
               "ticks", "events", "fills");
        row("Lua rule host", &lua);
        row("native-C reference", &native);
        printf("Lua / native: wall time %.2fx, CPU time %.2fx\n",
               lua.wall_s / native.wall_s, lua.cpu_s / native.cpu_s);
        /* The two runs must agree on what happened: the reference is the
         * same rules compiled. */
        if (lua.fills != native.fills || lua.notes != native.notes) {
            fprintf(stderr, "bench_replay: Lua and native runs differ "
                            "(fills %zu vs %zu, events %zu vs %zu)\n",
                    lua.fills, native.fills, lua.notes, native.notes);
            rc = 1;
        }
        if (lua.updates != updates / n * n || lua.fills < n)
            rc = 1; /* every update replayed, every position opened */
    }
    for (size_t i = 0; i < n; i++)
        s6_prices_free(&s[i]);
    free(s);
    free(e);
    s6_config_free(&cfg);
    return rc;
}
