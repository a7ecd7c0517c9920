/*
 * metrics.h — the service's one metrics registry and its Prometheus text
 * exposition (format 0.0.4), docs/metrics.md.
 *
 * A metric family (counter, gauge or histogram) is registered once with a
 * fixed list of label names; a series is created the first time a tuple of
 * label values is asked for, and the caller keeps the handle it gets, so
 * the label lookup happens once and an update is a store or two:
 *
 *     s6_counter *moves;
 *     s6_counter_get(m, "s6_stop_moves_total", 1, S6_LABELS("BTCUSDT"), &moves);
 *     ...
 *     s6_counter_inc(moves);                    // hot path
 *
 * Bounds: each family holds at most max_series series, so a bad label
 * value (a symbol read from a message, say) cannot eat memory; a refused
 * tuple is counted in s6_metrics_series_dropped_total{metric}.
 *
 * Never a crash for a metrics mistake: every *_get function sets *out to a
 * valid handle even when it fails (a discard series nobody renders), so
 * code that ignores the return value keeps running; the error code and
 * s6_metrics_last_error() say what was wrong.
 *
 * Collected families take their values at scrape time from collector
 * callbacks (positions by state: cheaper to count than to track).  In such
 * a family a render shows only the series looked up during that render's
 * collection, each reset to zero at its first lookup, so a symbol that has
 * no position any more disappears from the scrape.
 *
 * Single-threaded: the registry belongs to the loop thread.  Functions
 * return 0 or a negative errno value.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    S6_METRICS_MAX_LABELS = 4,       /* label names per family */
    S6_METRICS_MAX_BUCKETS = 32,     /* finite histogram bounds (+Inf is implied) */
    S6_METRICS_LABEL_VALUE_MAX = 128, /* bytes of one label value */
    S6_METRICS_DEFAULT_MAX_SERIES = 1000,
    S6_METRICS_FLOAT_LEN = 32        /* s6_metrics_format_double's buffer */
};

typedef enum s6_metric_type {
    S6_METRIC_COUNTER = 1,
    S6_METRIC_GAUGE,
    S6_METRIC_HISTOGRAM
} s6_metric_type;

/* What a family is: one row of a catalogue table. */
typedef struct s6_metric_desc {
    const char *name;        /* [a-zA-Z_:][a-zA-Z0-9_:]*, base units, counters end in _total */
    const char *help;        /* one line for # HELP, required */
    s6_metric_type type;
    const char *labels[S6_METRICS_MAX_LABELS]; /* label names, unused slots NULL */
    const double *buckets;   /* histogram: finite upper bounds, strictly increasing */
    size_t n_buckets;
    size_t max_series;       /* 0 = S6_METRICS_DEFAULT_MAX_SERIES */
    bool collected;          /* values come from collectors at each render */
} s6_metric_desc;

typedef struct s6_metrics s6_metrics;
typedef struct s6_metric s6_metric;      /* a family */
typedef struct s6_counter s6_counter;    /* a series of a counter family */
typedef struct s6_gauge s6_gauge;
typedef struct s6_hist s6_hist;

/* Called at the start of each render, in the order added; a negative
 * return is counted in s6_metrics_collector_errors_total and the render
 * goes on with what the collector set. */
typedef int (*s6_metrics_collect_fn)(s6_metrics *m, void *ud);

/* The label values of a lookup as an array expression. */
#define S6_LABELS(...) ((const char *const[]){__VA_ARGS__})

/* A registry holding only its own families (series dropped, invalid
 * values, collector errors). */
int s6_metrics_new(s6_metrics **out);
void s6_metrics_free(s6_metrics *m);

/* Why the last failing call failed, naming the metric and the field. */
const char *s6_metrics_last_error(const s6_metrics *m);

/*
 * Registers a family.  -EINVAL for a bad name, label name, help text,
 * bucket list or type, -EEXIST when a name (or a histogram's _bucket,
 * _sum or _count) is taken; the registry is unchanged then.  A family
 * without labels that is not collected gets its one series at once, so it
 * shows 0 from the first scrape.
 */
int s6_metrics_register(s6_metrics *m, const s6_metric_desc *d);
/* Registers n rows in order; stops at the first failure (earlier rows stay). */
int s6_metrics_register_all(s6_metrics *m, const s6_metric_desc *d, size_t n);
const s6_metric *s6_metrics_find(const s6_metrics *m, const char *name);

int s6_metrics_add_collector(s6_metrics *m, s6_metrics_collect_fn fn, void *ud);

/*
 * The series of a family for n label values (n must be the family's label
 * count).  -ENOENT unknown name, -EPROTO a family of another type,
 * -EINVAL wrong count or a value that is NULL, too long or not UTF-8,
 * -ENOSPC the family is full (counted), -ENOMEM.
 */
int s6_counter_get(s6_metrics *m, const char *name, size_t n,
                   const char *const *values, s6_counter **out);
int s6_gauge_get(s6_metrics *m, const char *name, size_t n,
                 const char *const *values, s6_gauge **out);
int s6_hist_get(s6_metrics *m, const char *name, size_t n,
                const char *const *values, s6_hist **out);

/* Hot path.  A counter only goes up: a negative or NaN increment is
 * dropped and counted in s6_metrics_invalid_values_total; so is a NaN
 * observation (it would turn _sum into NaN for good). */
void s6_counter_inc(s6_counter *h);
void s6_counter_add(s6_counter *h, double v);
void s6_gauge_set(s6_gauge *h, double v);
void s6_gauge_add(s6_gauge *h, double v);
void s6_hist_observe(s6_hist *h, double v);

/* Current values, for tests and for code that reports them elsewhere. */
double s6_counter_value(const s6_counter *h);
double s6_gauge_value(const s6_gauge *h);
uint64_t s6_hist_count(const s6_hist *h);
double s6_hist_sum(const s6_hist *h);

/*
 * Runs the collectors, then appends the exposition of every family (in
 * registration order, series in creation order) to out.  On failure
 * (-ENOMEM) out is back at its old length.  Served as
 * "text/plain; version=0.0.4; charset=utf-8" (S6_METRICS_CONTENT_TYPE).
 */
int s6_metrics_render(s6_metrics *m, s6_buf *out);
#define S6_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- the pieces of the format, public for tests and tools ---- */

/* 0 when name is a valid metric name / label name (label names may not
 * start with "__"); -EINVAL otherwise. */
int s6_metrics_check_name(const char *name);
int s6_metrics_check_label_name(const char *name);
/* A sample value as Prometheus writes it: shortest text that reads back
 * to the same double, "NaN", "+Inf", "-Inf".  buf has
 * S6_METRICS_FLOAT_LEN bytes; returns the length. */
size_t s6_metrics_format_double(double v, char *buf);

/* ---- the service's catalogue (catalogue.c, docs/metrics.md) ---- */

extern const s6_metric_desc s6_metrics_catalogue[];
extern const size_t s6_metrics_catalogue_len;
/* s6_metrics_new plus every catalogue row. */
int s6_metrics_new_service(s6_metrics **out);

#ifdef __cplusplus
}
#endif
