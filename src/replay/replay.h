/*
 * replay.h — `s6-position replay`: the real engine and the real rules over
 * recorded prices, in-process, as fast as the machine allows
 * (docs/replay.md).
 *
 * Edges: the in-memory state (mem_state.h), the paper router (paper.h),
 * the Lua rule service or the native reference (rules_edge.h), and a
 * simulated clock that is the time of the update being replayed.  Between
 * two updates the driver runs, in time order, what falls due: the paper
 * router's answers and fills (its latency), the quota answers, and the
 * manage ticks (ticks.manage_interval_s).  Nothing reads the wall clock,
 * so the same inputs give the same timeline, byte for byte.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "replay/figures.h"
#include "venue/paper/paper.h"
#include "replay/prices.h"
#include "util/log.h"

typedef struct s6_replay_opts {
    const s6_config *cfg;       /* symbols, risk, rules params, paper.* */
    const char *rules_dir;      /* NULL: cfg->rules.dir */
    bool native;                /* the native-C reference instead of Lua */
    FILE *out;                  /* timeline and tables; NULL: none */
    bool timeline;              /* one line per engine note */
    FILE *progress;             /* a progress bar here (a tty), or NULL */
    const char *report;         /* HTML report path, or NULL */
    const char *chartjs;        /* the library to inline; NULL: Debian's */
    const char *title;          /* the report's line naming the inputs */
    s6_log *log;                /* the engine's and the rule host's */
    /* The rules' parameter overrides ({"base":..,"set":..}) instead of
     * the config's rules.params (a sweep's grid point), or NULL. */
    const char *(*params_of)(void *ud, const char *rule);
    void *params_ud;
    s6_replay_result *result;   /* the figures (figures.h), or NULL;
                                 * zeroed, s6_replay_result_free after */
    bool keep_events;           /* ... with the timeline as data */
    struct s6_report **report_out; /* the report's data handed over
                                    * instead of written (a comparison) */
} s6_replay_opts;

typedef struct s6_replay_stats {
    size_t updates;             /* market updates fed to the engine */
    size_t ticks;               /* manage ticks */
    size_t signals;             /* strategy signals from the files */
    size_t notes;               /* timeline lines */
    size_t fills;               /* paper fills */
    size_t refused;             /* results the engine refused */
    double wall_s;              /* the replay loop itself (monotonic) */
    double cpu_s;               /* the process's CPU time in that loop */
} s6_replay_stats;

/* Loads the price files and the positions file, then replays. */
int s6_replay_files(const s6_replay_opts *o, const char *const *prices,
                    size_t n_prices, const char *positions,
                    s6_replay_stats *st, char *err, size_t errlen);

/* Replays series already loaded (the benchmark builds them in memory).
 * Every entry's symbol must have a series. */
int s6_replay_run(const s6_replay_opts *o, const s6_price_series *series,
                  size_t n_series, const s6_paper_entry *entries,
                  size_t n_entries, s6_replay_stats *st, char *err,
                  size_t errlen);
