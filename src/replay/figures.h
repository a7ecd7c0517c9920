/*
 * figures.h — what a replay comes to, per position and in total: the
 * figures `replay --compare` and `replay --sweep` set side by side
 * (docs/replay.md, "Comparing rule sets").
 *
 * Equity is realized PnL (net of every fee, the entry's included) plus the
 * unrealized PnL at the mark, sampled after each price update has been
 * handled (its fills included); it is 0 before the entry.  The maximum
 * drawdown is the largest fall of equity from its running peak.  Time in
 * market runs from the fill that opens a position to the fill that leaves
 * it flat, or to the last price update.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct s6_replay_figures {
    double realized;        /* net of fees */
    double unrealized;      /* at the last mark */
    double fees;
    double pnl;             /* realized + unrealized */
    double max_drawdown;    /* of equity, >= 0 */
    double time_in_market;  /* seconds */
    unsigned stops_moved, tps, adds;
} s6_replay_figures;

/* The running side of the figures: equity's peak and drawdown, and the
 * open interval. */
typedef struct s6_equity_run {
    double equity, peak, max_drawdown;
    double open_since, time_in;
    bool open;
} s6_equity_run;

void s6_equity_sample(s6_equity_run *e, double equity);
/* The position's quantity after a fill at t. */
void s6_equity_quantity(s6_equity_run *e, double t, double qty);
/* Closes the open interval at the end of the replay. */
double s6_equity_time_in_market(const s6_equity_run *e, double end);

/* One line of the timeline, kept for finding where two runs part. */
typedef struct s6_replay_event {
    double ts, price, value;
    unsigned pos;           /* index of the position in the positions file */
    char type[24];          /* "STOP_MOVED", "FILL stop", ... */
} s6_replay_event;

typedef struct s6_replay_result {
    size_t n;                   /* positions */
    char (*pos_id)[32];
    char (*symbol)[16];
    s6_replay_figures *pos;     /* per position */
    s6_replay_figures total;    /* sums; drawdown of the summed equity;
                                 * time with any position open */
    s6_replay_event *events;    /* when asked for (keep_events) */
    size_t n_events, cap_events;
    size_t updates;
} s6_replay_result;

void s6_replay_result_free(s6_replay_result *r);
int s6_replay_result_event(s6_replay_result *r, const s6_replay_event *ev);
/* The first index where the two timelines differ (time, position, event,
 * price or value), or -1 when they are the same. */
long s6_replay_first_divergence(const s6_replay_result *a,
                                const s6_replay_result *b);
