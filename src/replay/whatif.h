/*
 * whatif.h — the quant's questions to a replay: "is my rule better?"
 * (`replay --compare DIR_A DIR_B`) and "which value of this parameter?"
 * (`replay --sweep rule.path=v1,v2,...`), over prices read once
 * (docs/replay.md, "Comparing rule sets", "Parameter sweeps").
 */
#pragma once

#include <stdio.h>

#include "replay/replay.h"

/* The price files and the positions, loaded once for every run. */
typedef struct s6_replay_inputs {
    s6_price_series *series;
    size_t n_series;
    s6_paper_entry *entries;
    size_t n_entries;
} s6_replay_inputs;

int s6_replay_inputs_load(s6_replay_inputs *in, const s6_config *cfg,
                          const char *const *prices, size_t n_prices,
                          const char *positions, char *err, size_t errlen);
void s6_replay_inputs_free(s6_replay_inputs *in);

/* The same inputs through the rules of dir_a and of dir_b; prints the
 * figures per position and in total, A, B and B − A, and the first line
 * where the timelines part.  o->report: both runs on the same charts. */
int s6_replay_compare(const s6_replay_opts *o, const s6_replay_inputs *in,
                      const char *dir_a, const char *dir_b, FILE *out,
                      char *err, size_t errlen);

enum { S6_SWEEP_MAX_DIMS = 8, S6_SWEEP_MAX_VALUES = 64,
       S6_SWEEP_MAX_POINTS = 4096 };

typedef enum s6_sweep_order {
    S6_SWEEP_BY_PNL,        /* highest PnL first */
    S6_SWEEP_BY_DRAWDOWN,   /* smallest max drawdown first */
    S6_SWEEP_BY_RATIO,      /* highest PnL / max drawdown first */
} s6_sweep_order;

typedef struct s6_sweep_dim {
    char rule[64];          /* "trailing_stop" */
    char path[128];         /* "steps[1].roe" */
    double v[S6_SWEEP_MAX_VALUES];
    size_t n;
} s6_sweep_dim;

typedef struct s6_sweep {
    s6_sweep_dim dim[S6_SWEEP_MAX_DIMS];
    size_t n_dims;
    s6_sweep_order by;
    unsigned jobs;          /* worker processes; 0: the machine's cores */
} s6_sweep;

/* "trailing_stop.steps[1].roe=0.08,0.10,0.12" -> a dimension. */
int s6_sweep_parse(s6_sweep *sw, const char *arg, char *err, size_t errlen);
int s6_sweep_order_parse(const char *name, s6_sweep_order *out);
/* Runs the grid in worker processes (each its own engine and rule host,
 * the inputs shared from before the fork); prints the table sorted by
 * sw->by; o->report: the table and a heat map of the first two
 * parameters. */
int s6_replay_sweep(const s6_replay_opts *o, const s6_replay_inputs *in,
                    const s6_sweep *sw, FILE *out, char *err, size_t errlen);
