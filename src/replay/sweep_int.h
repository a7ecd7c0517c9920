/*
 * sweep_int.h — what the sweep's table and its HTML page share.
 */
#pragma once

#include "replay/whatif.h"

/* One point of the grid, ranked. */
typedef struct s6_sweep_row {
    size_t point;                       /* in grid order */
    double value[S6_SWEEP_MAX_DIMS];    /* each parameter's value */
    double score;                       /* the figure sorted by, larger better */
    s6_replay_figures fig;              /* the run's totals */
} s6_sweep_row;

extern const char *const s6_sweep_order_names[];
void s6_sweep_dim_name(const s6_sweep_dim *d, char *out, size_t cap);
void s6_sweep_duration(double s, char *out, size_t cap);
/* pnl / max drawdown; +inf for a gain without drawdown. */
double s6_sweep_ratio(const s6_replay_figures *f);
/* The table and, for two parameters or more, a heat map of the first two
 * (each cell the best score over the other parameters). */
int s6_sweep_report_write(const s6_sweep *sw, const s6_sweep_row *rows,
                          size_t n, const char *path, const char *title,
                          char *err, size_t errlen);
