/*
 * internal.h — the registry's structures, shared by the registry
 * (metrics.c), the checks at registration (check.c) and the exposition
 * (expo.c).  Not for users of the registry.
 */
#pragma once

#include "metrics/metrics.h"

typedef struct series {
    double value;              /* counter, gauge; histogram: _sum */
    uint64_t count;            /* histogram: _count */
    uint64_t *buckets;         /* histogram: n_bounds + 1 counts, not
                                  cumulative; the last is above every bound */
    struct s6_metric *fam;
    struct series *next;       /* creation order */
    struct series *hnext;      /* the family's hash chain */
    uint64_t hash;             /* of the label values, to skip strcmp */
    uint64_t seen;             /* render round of its last lookup */
    char *values[S6_METRICS_MAX_LABELS];
} series;

/* The typed handles are the series itself (a pointer to a struct converts
 * to a pointer to its first member and back), so the compiler catches an
 * s6_gauge_set on a counter and the hot path needs no type check. */
struct s6_counter { series s; };
struct s6_gauge { series s; };
struct s6_hist { series s; };

struct s6_metric {
    char *name;
    char *help;
    s6_metric_type type;
    size_t n_labels;
    char *labels[S6_METRICS_MAX_LABELS];
    size_t n_bounds;
    double bounds[S6_METRICS_MAX_BUCKETS];
    size_t max_series;
    size_t n_series;
    bool collected;
    bool discard;              /* the registry's sink for failed lookups */
    struct s6_metrics *reg;
    series *head;
    series **tail;
    series **chains;           /* by label-value hash; n_chains a power
                                  of two, at least n_series, or 0 */
    size_t n_chains;
    struct s6_metric *next;
    struct s6_metric *hnext;   /* the registry's chain of its name */
};

typedef struct collector {
    s6_metrics_collect_fn fn;
    void *ud;
} collector;

/* Families by name: a fixed table, their number is bounded by the code. */
enum { S6_METRICS_NAME_CHAINS = 256 };

struct s6_metrics {
    struct s6_metric *head;
    struct s6_metric **tail;
    struct s6_metric *by_name[S6_METRICS_NAME_CHAINS];
    collector *collectors;
    size_t n_collectors;
    uint64_t round;            /* renders so far */
    bool collecting;           /* collectors are running */
    /* Where a failed lookup points its caller: one per type, never
     * rendered. */
    struct s6_metric discard_fam[3];
    series discard[3];
    uint64_t discard_buckets[1];
    s6_counter *collector_errors;
    char err[256];
};

int s6__fail(s6_metrics *m, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 0 or -EINVAL with the reason in m->err. */
int s6__check_desc(s6_metrics *m, const s6_metric_desc *d);
int s6__check_label_value(s6_metrics *m, const s6_metric *f, size_t i,
                          const char *v);
const char *s6__type_name(s6_metric_type t);
