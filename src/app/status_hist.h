/*
 * status_hist.h — the recent past of each position for the status page
 * (GET /): the mark and the protective stop sampled every few seconds,
 * the fills, and the last events with the rule behind them.  Kept in
 * memory by the service, fed by the engine's observer and a sampling
 * timer, so a page opened now shows the last hours without a store query.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "config/config.h"
#include "engine/engine.h"

enum {
    S6_HIST_MAX_POS = 64,    /* positions followed; the stalest goes first */
    S6_HIST_POINTS = 2880,   /* 4 hours at the default 5 s */
    S6_HIST_FILLS = 64,
    S6_HIST_EVENTS = 24,
    S6_HIST_SAMPLE_MS = 5000,
};

typedef struct s6_hist_point {
    double ts, mark, stop; /* stop 0: none */
} s6_hist_point;

typedef struct s6_hist_fill {
    double ts, price, qty;
    char kind[16];
} s6_hist_fill;

typedef struct s6_hist_event {
    double ts, value;
    char type[28];
    char rule[96]; /* a plan's: every rule behind it, name@hash8 */
} s6_hist_event;

typedef struct s6_hist_track {
    char pos_id[32], symbol[24];
    int market;
    double last_seen, stop;
    s6_hist_point *pts;    /* ring of S6_HIST_POINTS */
    size_t n_pts, head_pts;
    s6_hist_fill fills[S6_HIST_FILLS];
    size_t n_fills;
    s6_hist_event events[S6_HIST_EVENTS];
    size_t n_events;
} s6_hist_track;

typedef struct s6_status_hist {
    s6_hist_track *tracks[S6_HIST_MAX_POS];
    s6_engine *engine;            /* sampled on the timer; may be NULL */
    const s6_config_live *config; /* the symbols' tick and step; may be NULL */
    uv_timer_t timer;
    int timer_on;
} s6_status_hist;

/* Starts sampling app's engine every sample_ms (0: S6_HIST_SAMPLE_MS). */
int s6_status_hist_start(s6_status_hist *h, uv_loop_t *loop,
                         const s6_config_live *config, uint64_t sample_ms);
/* The engine to follow (its observer becomes the history's); NULL stops. */
void s6_status_hist_follow(s6_status_hist *h, s6_engine *engine);
/* An engine note (the observer). */
void s6_status_hist_note(void *ud, const s6_engine_note *n);
/* Reads the engine's open positions once now. */
void s6_status_hist_sample(s6_status_hist *h, double now);
/* {"sample_s":5,"positions":{"<pos_id>":{...}}}, at most max_points points
 * a position (thinned evenly, the last one always kept). */
json_t *s6_status_hist_json(const s6_status_hist *h, size_t max_points);
/* Closes the timer (on the loop's next run) and frees every track. */
void s6_status_hist_stop(s6_status_hist *h);
void s6_status_hist_free(s6_status_hist *h);
