/*
 * metrics.c — the registry: families, series created on first lookup
 * under a per-family cap, the hot-path updates and the collectors.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/internal.h"

#define DROPPED "s6_metrics_series_dropped_total"
#define INVALID "s6_metrics_invalid_values_total"
#define COLLECTOR_ERRORS "s6_metrics_collector_errors_total"

/* The registry's own families: what it refused. */
static const s6_metric_desc self_families[] = {
    {.name = DROPPED, .type = S6_METRIC_COUNTER, .labels = {"metric", "reason"},
     .help = "Label-value tuples refused: reason cap (the metric holds its "
             "maximum of series) or bad_value (not UTF-8, too long)"},
    {.name = INVALID, .type = S6_METRIC_COUNTER, .labels = {"metric"},
     .help = "Updates dropped: a negative or NaN counter increment, a NaN "
             "histogram observation"},
    {.name = COLLECTOR_ERRORS, .type = S6_METRIC_COUNTER,
     .help = "Collector callbacks that failed during a render"},
};

int s6__fail(s6_metrics *m, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return rc;
}

const char *s6_metrics_last_error(const s6_metrics *m)
{
    return m->err;
}

int s6_metrics_new(s6_metrics **out)
{
    s6_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    m->tail = &m->head;
    for (int i = 0; i < 3; i++) {
        s6_metric *f = &m->discard_fam[i];
        *f = (s6_metric){.name = "(discard)", .type = (s6_metric_type)(i + 1),
                         .discard = true, .reg = m};
        m->discard[i] = (series){.fam = f, .buckets = m->discard_buckets};
    }
    size_t n = sizeof self_families / sizeof self_families[0];
    int rc = s6_metrics_register_all(m, self_families, n);
    if (rc == 0) {
        /* Bounded by the number of families, not by what callers pass. */
        for (s6_metric *f = m->head; f; f = f->next)
            f->max_series = (size_t)-1;
        rc = s6_counter_get(m, COLLECTOR_ERRORS, 0, NULL, &m->collector_errors);
    }
    if (rc < 0) {
        s6_metrics_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* FNV-1a over the values, each closed by a byte no UTF-8 text holds. */
static uint64_t hash_values(size_t n, const char *const *values)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static void free_family(s6_metric *f)
{
    free(f->chains);
    for (series *s = f->head, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void s6_metrics_free(s6_metrics *m)
{
    if (m == NULL)
        return;
    for (s6_metric *f = m->head, *next; f; f = next) {
        next = f->next;
        free_family(f);
    }
    free(m->collectors);
    free(m);
}

static struct s6_metric **name_chain(const s6_metrics *m, const char *name)
{
    uint64_t h = hash_values(1, &name);
    return (struct s6_metric **)&m->by_name[h % S6_METRICS_NAME_CHAINS];
}

const s6_metric *s6_metrics_find(const s6_metrics *m, const char *name)
{
    for (s6_metric *f = *name_chain(m, name); f; f = f->hnext)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Whether family f exposes samples named sample. */
static bool exposes(const s6_metric *f, const char *sample)
{
    size_t n = strlen(f->name);
    if (strncmp(f->name, sample, n) != 0)
        return false;
    const char *rest = sample + n;
    if (*rest == '\0')
        return true;
    return f->type == S6_METRIC_HISTOGRAM &&
           (strcmp(rest, "_bucket") == 0 || strcmp(rest, "_sum") == 0 ||
            strcmp(rest, "_count") == 0);
}

/* -EEXIST when a sample name of d is already exposed by a family: a new
 * gauge x_count must not shadow histogram x's count, nor a new histogram x
 * an existing x_sum. */
static int check_free_name(s6_metrics *m, const s6_metric_desc *d)
{
    static const char *const suffixes[] = {"", "_bucket", "_sum", "_count"};
    size_t n = d->type == S6_METRIC_HISTOGRAM ? 4 : 1;
    for (size_t i = 0; i < n; i++) {
        char sample[160];
        snprintf(sample, sizeof sample, "%s%s", d->name, suffixes[i]);
        for (s6_metric *f = m->head; f; f = f->next)
            if (exposes(f, sample))
                return s6__fail(m, -EEXIST, "%s: name: %s is already exposed by %s",
                                d->name, sample, f->name);
    }
    return 0;
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static s6_metric *family_from(s6_metrics *m, const s6_metric_desc *d)
{
    s6_metric *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    *f = (s6_metric){.type = d->type, .collected = d->collected, .reg = m,
                     .max_series = d->max_series ? d->max_series
                                                 : S6_METRICS_DEFAULT_MAX_SERIES};
    f->tail = &f->head;
    f->name = dup(d->name);
    f->help = dup(d->help);
    bool ok = f->name && f->help;
    for (size_t i = 0; i < S6_METRICS_MAX_LABELS && d->labels[i]; i++) {
        f->labels[i] = dup(d->labels[i]);
        f->n_labels = i + 1;
        ok = ok && f->labels[i];
    }
    f->n_bounds = d->n_buckets;
    if (d->n_buckets)
        memcpy(f->bounds, d->buckets, d->n_buckets * sizeof d->buckets[0]);
    if (!ok) {
        free_family(f);
        return NULL;
    }
    return f;
}

static int lookup(s6_metrics *m, const char *name, s6_metric_type type, size_t n,
                  const char *const *values, series **out);

int s6_metrics_register(s6_metrics *m, const s6_metric_desc *d)
{
    int rc = s6__check_desc(m, d);
    if (rc == 0)
        rc = check_free_name(m, d);
    if (rc < 0)
        return rc;
    s6_metric *f = family_from(m, d);
    if (f == NULL)
        return s6__fail(m, -ENOMEM, "%s: out of memory", d->name);
    *m->tail = f;
    m->tail = &f->next;
    struct s6_metric **chain = name_chain(m, f->name);
    f->hnext = *chain;
    *chain = f;
    if (f->n_labels == 0 && !f->collected) {
        series *s;
        rc = lookup(m, f->name, f->type, 0, NULL, &s);
    }
    return rc;
}

int s6_metrics_register_all(s6_metrics *m, const s6_metric_desc *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = s6_metrics_register(m, &d[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int s6_metrics_add_collector(s6_metrics *m, s6_metrics_collect_fn fn, void *ud)
{
    if (fn == NULL)
        return s6__fail(m, -EINVAL, "collector: function missing");
    collector *c = realloc(m->collectors, (m->n_collectors + 1) * sizeof *c);
    if (c == NULL)
        return s6__fail(m, -ENOMEM, "collector: out of memory");
    c[m->n_collectors++] = (collector){fn, ud};
    m->collectors = c;
    return 0;
}

/* ---- series ---- */

static bool same_values(const series *s, size_t n, const char *const *values)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static void reset(series *s, size_t n_bounds)
{
    s->value = 0;
    s->count = 0;
    if (s->fam->type == S6_METRIC_HISTOGRAM)
        memset(s->buckets, 0, (n_bounds + 1) * sizeof s->buckets[0]);
}

/* One block: the series, its bucket counts, its label values. */
static series *new_series(s6_metric *f, uint64_t hash, const char *const *values)
{
    size_t nb = f->type == S6_METRIC_HISTOGRAM ? f->n_bounds + 1 : 0;
    size_t size = sizeof(series) + nb * sizeof(uint64_t);
    for (size_t i = 0; i < f->n_labels; i++)
        size += strlen(values[i]) + 1;
    series *s = calloc(1, size);
    if (s == NULL)
        return NULL;
    s->fam = f;
    s->hash = hash;
    s->buckets = (uint64_t *)(s + 1);
    char *p = (char *)(s->buckets + nb);
    for (size_t i = 0; i < f->n_labels; i++) {
        size_t len = strlen(values[i]) + 1;
        s->values[i] = memcpy(p, values[i], len);
        p += len;
    }
    return s;
}

static series **chain_of(const s6_metric *f, uint64_t hash)
{
    return &f->chains[hash & (f->n_chains - 1)];
}

/* Room in the hash chains for one more series: at most one per chain on
 * average, so a lookup among 10,000 symbols compares a few, not all. */
static int reserve_chain(s6_metric *f)
{
    if (f->n_series < f->n_chains)
        return 0;
    size_t n = f->n_chains ? 2 * f->n_chains : 16;
    series **c = calloc(n, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    free(f->chains);
    f->chains = c;
    f->n_chains = n;
    for (series *s = f->head; s; s = s->next) {
        series **head = chain_of(f, s->hash);
        s->hnext = *head;
        *head = s;
    }
    return 0;
}

static void unlink_series(s6_metric *f, series *victim)
{
    series **hp = chain_of(f, victim->hash);
    while (*hp != victim)
        hp = &(*hp)->hnext;
    *hp = victim->hnext;
    series **pp = &f->head;
    while (*pp != victim)
        pp = &(*pp)->next;
    *pp = victim->next;
    if (f->tail == &victim->next)
        f->tail = pp;
    f->n_series--;
    free(victim);
}

/* In a collected family nobody holds a handle across renders, so during
 * collection a series not looked up yet in this round can make room. */
static bool reclaim_stale(s6_metrics *m, s6_metric *f)
{
    if (!f->collected || !m->collecting)
        return false;
    for (series *s = f->head; s; s = s->next)
        if (s->seen != m->round) {
            unlink_series(f, s);
            return true;
        }
    return false;
}

static void count_dropped(s6_metrics *m, const s6_metric *f, const char *reason)
{
    series *s;
    if (strcmp(f->name, DROPPED) == 0)
        return; /* its own cap is unreachable; never recurse */
    char saved[sizeof m->err];
    memcpy(saved, m->err, sizeof saved);
    if (lookup(m, DROPPED, S6_METRIC_COUNTER, 2, S6_LABELS(f->name, reason), &s) == 0)
        s->value += 1;
    memcpy(m->err, saved, sizeof saved);
}

static void count_invalid(const series *h)
{
    const s6_metric *f = h->fam;
    series *s;
    if (f->discard || strcmp(f->name, INVALID) == 0)
        return;
    if (lookup(f->reg, INVALID, S6_METRIC_COUNTER, 1, S6_LABELS(f->name), &s) == 0)
        s->value += 1;
}

static int check_values(s6_metrics *m, s6_metric *f, size_t n, const char *const *values)
{
    if (n != f->n_labels)
        return s6__fail(m, -EINVAL, "%s: %zu label values given, the metric has %zu labels",
                        f->name, n, f->n_labels);
    for (size_t i = 0; i < n; i++) {
        int rc = s6__check_label_value(m, f, i, values[i]);
        if (rc < 0) {
            count_dropped(m, f, "bad_value");
            return rc;
        }
    }
    return 0;
}

static int lookup(s6_metrics *m, const char *name, s6_metric_type type, size_t n,
                  const char *const *values, series **out)
{
    *out = &m->discard[type - 1];
    s6_metric *f = (s6_metric *)s6_metrics_find(m, name ? name : "");
    if (f == NULL)
        return s6__fail(m, -ENOENT, "%s: no such metric", name ? name : "(null)");
    if (f->type != type)
        return s6__fail(m, -EPROTO, "%s: is a %s, not a %s", name,
                        s6__type_name(f->type), s6__type_name(type));
    int rc = check_values(m, f, n, values);
    if (rc < 0)
        return rc;
    uint64_t h = hash_values(n, values);
    series *s = f->n_chains ? *chain_of(f, h) : NULL;
    while (s && !(s->hash == h && same_values(s, n, values)))
        s = s->hnext;
    if (s == NULL) {
        if (f->n_series >= f->max_series && !reclaim_stale(m, f)) {
            count_dropped(m, f, "cap");
            return s6__fail(m, -ENOSPC, "%s: holds its maximum of %zu series", name,
                            f->max_series);
        }
        s = reserve_chain(f) == 0 ? new_series(f, h, values) : NULL;
        if (s == NULL)
            return s6__fail(m, -ENOMEM, "%s: out of memory", name);
        series **head = chain_of(f, h);
        s->hnext = *head;
        *head = s;
        s->seen = m->round - 1; /* reset below when collecting */
        *f->tail = s;
        f->tail = &s->next;
        f->n_series++;
    }
    if (f->collected && m->collecting && s->seen != m->round) {
        reset(s, f->n_bounds);
        s->seen = m->round;
    }
    *out = s;
    return 0;
}

int s6_counter_get(s6_metrics *m, const char *name, size_t n,
                   const char *const *values, s6_counter **out)
{
    series *s;
    int rc = lookup(m, name, S6_METRIC_COUNTER, n, values, &s);
    *out = (s6_counter *)s;
    return rc;
}

int s6_gauge_get(s6_metrics *m, const char *name, size_t n,
                 const char *const *values, s6_gauge **out)
{
    series *s;
    int rc = lookup(m, name, S6_METRIC_GAUGE, n, values, &s);
    *out = (s6_gauge *)s;
    return rc;
}

int s6_hist_get(s6_metrics *m, const char *name, size_t n,
                const char *const *values, s6_hist **out)
{
    series *s;
    int rc = lookup(m, name, S6_METRIC_HISTOGRAM, n, values, &s);
    *out = (s6_hist *)s;
    return rc;
}

/* ---- hot path ---- */

void s6_counter_inc(s6_counter *h)
{
    h->s.value += 1;
}

void s6_counter_add(s6_counter *h, double v)
{
    if (v >= 0) /* false for NaN too */
        h->s.value += v;
    else
        count_invalid(&h->s);
}

void s6_gauge_set(s6_gauge *h, double v)
{
    h->s.value = v;
}

void s6_gauge_add(s6_gauge *h, double v)
{
    h->s.value += v;
}

void s6_hist_observe(s6_hist *h, double v)
{
    series *s = &h->s;
    if (isnan(v)) {
        count_invalid(s);
        return;
    }
    /* First bound >= v (the le semantics); n_bounds when above them all. */
    const double *b = s->fam->bounds;
    size_t lo = 0, hi = s->fam->n_bounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    s->buckets[lo]++;
    s->count++;
    s->value += v;
}

double s6_counter_value(const s6_counter *h) { return h->s.value; }
double s6_gauge_value(const s6_gauge *h) { return h->s.value; }
uint64_t s6_hist_count(const s6_hist *h) { return h->s.count; }
double s6_hist_sum(const s6_hist *h) { return h->s.value; }
