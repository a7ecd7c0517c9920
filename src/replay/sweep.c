/*
 * sweep.c — `replay --sweep RULE.PATH=V1,V2,...`: every point of the grid
 * replayed in worker processes, the table sorted by a chosen figure.
 *
 * The inputs are loaded before the fork and shared copy-on-write, so the
 * price files are read once per sweep.  Each worker builds its own engine
 * and rule host per run and sends one fixed-size record per point down
 * its pipe; the table depends only on the points, never on which worker
 * ran which, so it is the same with any number of workers.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/s6_errors.h"
#include "replay/sweep_int.h"
#include "util/clock.h"

typedef struct record {
    uint32_t point;
    int32_t rc;
    s6_replay_figures fig;  /* the totals of the run */
    char err[256];
} record;

/* ---- the grid ---- */

int s6_sweep_parse(s6_sweep *sw, const char *arg, char *err, size_t errlen)
{
    const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
    if (sw->n_dims == S6_SWEEP_MAX_DIMS)
        return snprintf(err, errlen, "--sweep: at most %d parameters",
                        S6_SWEEP_MAX_DIMS), S6_ERANGE;
    s6_sweep_dim *d = &sw->dim[sw->n_dims];
    if (dot == NULL || eq == NULL || dot > eq || dot == arg || eq == dot + 1 ||
        (size_t)(dot - arg) >= sizeof d->rule ||
        (size_t)(eq - dot - 1) >= sizeof d->path)
        return snprintf(err, errlen, "--sweep '%s': expected RULE.PARAM="
                        "V1,V2,... (e.g. add_on.gamma=0.3,0.5)", arg), S6_EINVAL;
    *d = (s6_sweep_dim){ 0 };
    memcpy(d->rule, arg, (size_t)(dot - arg));
    memcpy(d->path, dot + 1, (size_t)(eq - dot - 1));
    for (const char *s = eq + 1;; s++) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || (*end != ',' && *end != '\0'))
            return snprintf(err, errlen, "--sweep '%s': '%s' is not a "
                            "finite number", arg, s), S6_EINVAL;
        if (d->n == S6_SWEEP_MAX_VALUES)
            return snprintf(err, errlen, "--sweep '%s': at most %d values",
                            arg, S6_SWEEP_MAX_VALUES), S6_ERANGE;
        d->v[d->n++] = v;
        if (*end == '\0')
            break;
        s = end;
    }
    sw->n_dims++;
    return 0;
}

int s6_sweep_order_parse(const char *name, s6_sweep_order *out)
{
    static const char *const names[] = { "pnl", "drawdown", "ratio" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return *out = (s6_sweep_order)i, 0;
    return S6_EINVAL;
}

static size_t grid_size(const s6_sweep *sw)
{
    size_t n = 1;
    for (size_t k = 0; k < sw->n_dims && n <= S6_SWEEP_MAX_POINTS; k++)
        n *= sw->dim[k].n;
    return n;
}

/* The value index of dimension k at point p: the last dimension varies
 * fastest. */
static size_t value_at(const s6_sweep *sw, size_t p, size_t k)
{
    for (size_t j = sw->n_dims - 1; j > k; j--)
        p /= sw->dim[j].n;
    return p % sw->dim[k].n;
}

/* ---- one point's parameters: the config's overrides plus "set" ---- */

typedef struct point_params {
    const s6_config *cfg;
    const char *rule[S6_SWEEP_MAX_DIMS];
    char *json[S6_SWEEP_MAX_DIMS];
    size_t n;
} point_params;

static const char *point_params_of(void *ud, const char *rule)
{
    const point_params *pp = ud;
    for (size_t i = 0; i < pp->n; i++)
        if (strcmp(pp->rule[i], rule) == 0)
            return pp->json[i];
    return s6_config_rule_params(pp->cfg, rule);
}

static int point_params_build(point_params *pp, const s6_config *cfg,
                              const s6_sweep *sw, size_t p)
{
    *pp = (point_params){ .cfg = cfg };
    for (size_t k = 0; k < sw->n_dims; k++) {
        size_t i = 0;
        while (i < pp->n && strcmp(pp->rule[i], sw->dim[k].rule) != 0)
            i++;
        if (i < pp->n)
            continue; /* this rule's parameters are done */
        const char *over = s6_config_rule_params(cfg, sw->dim[k].rule);
        json_t *doc = over ? json_loads(over, 0, NULL) : json_object();
        json_t *set = json_object();
        for (size_t j = k; j < sw->n_dims; j++)
            if (strcmp(sw->dim[j].rule, sw->dim[k].rule) == 0)
                json_object_set_new(set, sw->dim[j].path,
                                    json_real(sw->dim[j].v[value_at(sw, p, j)]));
        json_object_set_new(doc, "set", set);
        pp->rule[pp->n] = sw->dim[k].rule;
        pp->json[pp->n] = json_dumps(doc, JSON_COMPACT |
                                          JSON_REAL_PRECISION(17));
        json_decref(doc);
        if (pp->json[pp->n++] == NULL)
            return S6_ENOMEM;
    }
    return 0;
}

static void point_params_free(point_params *pp)
{
    for (size_t i = 0; i < pp->n; i++)
        free(pp->json[i]);
}

/* ---- the workers ---- */

static void run_point(const s6_replay_opts *base, const s6_replay_inputs *in,
                      const s6_sweep *sw, size_t p, record *rec)
{
    *rec = (record){ .point = (uint32_t)p };
    point_params pp;
    s6_replay_result res = { 0 };
    rec->rc = point_params_build(&pp, base->cfg, sw, p);
    if (rec->rc == 0) {
        s6_replay_opts o = *base;
        o.native = false;
        o.out = NULL;
        o.progress = NULL;
        o.report = NULL;
        o.params_of = point_params_of;
        o.params_ud = &pp;
        o.result = &res;
        rec->rc = s6_replay_run(&o, in->series, in->n_series, in->entries,
                                in->n_entries, NULL, rec->err,
                                sizeof rec->err);
        rec->fig = res.total;
    } else {
        snprintf(rec->err, sizeof rec->err, "out of memory");
    }
    s6_replay_result_free(&res);
    point_params_free(&pp);
}

static void worker(const s6_replay_opts *o, const s6_replay_inputs *in,
                   const s6_sweep *sw, size_t w, size_t jobs, int fd)
{
    size_t n = grid_size(sw);
    for (size_t p = w; p < n; p += jobs) {
        record rec;
        run_point(o, in, sw, p, &rec);
        const char *at = (const char *)&rec;
        for (size_t left = sizeof rec; left > 0;) {
            ssize_t k = write(fd, at, left);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                _exit(3);
            at += k;
            left -= (size_t)k;
        }
    }
    _exit(0);
}

/* Reads one worker's records to its end. */
static int collect(int fd, record *recs, size_t n, bool *seen)
{
    record rec;
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, (char *)&rec + got, sizeof rec - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return got == 0 ? 0 : S6_EIO;
        if ((got += (size_t)k) < sizeof rec)
            continue;
        got = 0;
        if (rec.point >= n)
            return S6_EIO;
        recs[rec.point] = rec;
        seen[rec.point] = true;
    }
}

static unsigned jobs_for(const s6_sweep *sw, size_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t jobs = sw->jobs ? sw->jobs : cores > 0 ? (size_t)cores : 1;
    return (unsigned)(jobs < n ? jobs : n);
}

static int run_grid(const s6_replay_opts *o, const s6_replay_inputs *in,
                    const s6_sweep *sw, record *recs, char *err, size_t errlen)
{
    size_t n = grid_size(sw);
    unsigned jobs = jobs_for(sw, n);
    bool *seen = calloc(n, sizeof *seen);
    pid_t pid[64];
    int fd[64];
    if (jobs > 64)
        jobs = 64;
    if (seen == NULL)
        return snprintf(err, errlen, "replay: out of memory"), S6_ENOMEM;
    fflush(NULL); /* nothing buffered may be written twice */
    unsigned started = 0;
    for (; started < jobs; started++) {
        int p[2];
        if (pipe(p) != 0)
            break;
        pid[started] = fork();
        if (pid[started] == 0) {
            close(p[0]);
            worker(o, in, sw, started, jobs, p[1]);
        }
        close(p[1]);
        if (pid[started] < 0) {
            close(p[0]);
            break;
        }
        fd[started] = p[0];
    }
    int rc = started == jobs ? 0 : S6_EIO;
    for (unsigned w = 0; w < started; w++) {
        if (collect(fd[w], recs, n, seen) != 0)
            rc = S6_EIO;
        close(fd[w]);
        int status;
        waitpid(pid[w], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = S6_EIO;
    }
    for (size_t p = 0; rc == 0 && p < n; p++)
        if (!seen[p])
            rc = S6_EIO;
    free(seen);
    if (rc != 0)
        snprintf(err, errlen, "--sweep: a worker process failed (%s)",
                 started < jobs ? "cannot start it" : "it died");
    return rc;
}

/* ---- the table ---- */

const char *const s6_sweep_order_names[] = {
    "pnl (highest first)", "max drawdown (smallest first)",
    "pnl / max drawdown (highest first)" };

void s6_sweep_dim_name(const s6_sweep_dim *d, char *out, size_t cap)
{
    snprintf(out, cap, "%s.%s", d->rule, d->path);
}

void s6_sweep_duration(double s, char *out, size_t cap)
{
    long t = lround(s);
    snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

double s6_sweep_ratio(const s6_replay_figures *f)
{
    if (f->max_drawdown > 0)
        return f->pnl / f->max_drawdown;
    return f->pnl > 0 ? INFINITY : f->pnl < 0 ? -INFINITY : 0;
}

/* The figure a sweep is sorted by, larger is better. */
static double score(s6_sweep_order by, const s6_replay_figures *f)
{
    return by == S6_SWEEP_BY_PNL ? f->pnl
         : by == S6_SWEEP_BY_DRAWDOWN ? -f->max_drawdown : s6_sweep_ratio(f);
}

static int by_score(const void *a, const void *b)
{
    const s6_sweep_row *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->point < y->point ? -1 : x->point > y->point; /* grid order */
}

static s6_sweep_row *rank(const s6_sweep *sw, const record *recs, size_t n)
{
    s6_sweep_row *rows = calloc(n, sizeof *rows);
    for (size_t p = 0; rows != NULL && p < n; p++) {
        rows[p] = (s6_sweep_row){ .point = p, .fig = recs[p].fig,
                                  .score = score(sw->by, &recs[p].fig) };
        for (size_t k = 0; k < sw->n_dims; k++)
            rows[p].value[k] = sw->dim[k].v[value_at(sw, p, k)];
    }
    if (rows != NULL)
        qsort(rows, n, sizeof *rows, by_score);
    return rows;
}

static void print_table(FILE *f, const s6_sweep *sw, const s6_sweep_row *rows,
                        size_t n)
{
    fprintf(f, "Sweep: %zu runs over %zu parameter(s), sorted by %s\n\n",
            n, sw->n_dims, s6_sweep_order_names[sw->by]);
    int w[S6_SWEEP_MAX_DIMS];
    fprintf(f, "%4s", "rank");
    for (size_t k = 0; k < sw->n_dims; k++) {
        char name[200];
        s6_sweep_dim_name(&sw->dim[k], name, sizeof name);
        w[k] = (int)strlen(name) > 10 ? (int)strlen(name) : 10;
        fprintf(f, "  %*s", w[k], name);
    }
    fprintf(f, "  %12s  %12s  %10s  %12s  %10s  %14s  %5s  %4s  %4s\n", "pnl",
            "realized", "fees", "max_drawdown", "pnl/dd", "time_in_market",
            "stops", "tps", "adds");
    for (size_t r = 0; r < n; r++) {
        const s6_replay_figures *g = &rows[r].fig;
        fprintf(f, "%4zu", r + 1);
        for (size_t k = 0; k < sw->n_dims; k++)
            fprintf(f, "  %*.10g", w[k], rows[r].value[k]);
        char tm[32];
        s6_sweep_duration(g->time_in_market, tm, sizeof tm);
        fprintf(f, "  %12.4f  %12.4f  %10.4f  %12.4f  %10.4f  %14s  %5u  "
                   "%4u  %4u\n", g->pnl + 0.0, g->realized + 0.0, g->fees,
                g->max_drawdown, s6_sweep_ratio(g), tm, g->stops_moved,
                g->tps, g->adds);
    }
}

/* The first failing point in grid order: the same message whatever the
 * number of workers. */
static int first_failure(const record *recs, size_t n, char *err,
                         size_t errlen)
{
    for (size_t p = 0; p < n; p++)
        if (recs[p].rc != 0) {
            snprintf(err, errlen, "--sweep: %s", recs[p].err);
            return recs[p].rc;
        }
    return 0;
}

static double seconds_now(void)
{
    return (double)s6_clock_mono_ns() / 1e9;
}

int s6_replay_sweep(const s6_replay_opts *o, const s6_replay_inputs *in,
                    const s6_sweep *sw, FILE *out, char *err, size_t errlen)
{
    size_t n = grid_size(sw);
    if (sw->n_dims == 0 || n > S6_SWEEP_MAX_POINTS)
        return snprintf(err, errlen, "--sweep: %s", sw->n_dims == 0
                        ? "no parameter to sweep"
                        : "more than 4096 points in the grid"), S6_ERANGE;
    record *recs = calloc(n, sizeof *recs);
    if (recs == NULL)
        return snprintf(err, errlen, "replay: out of memory"), S6_ENOMEM;
    double start = seconds_now();
    int rc = run_grid(o, in, sw, recs, err, errlen);
    if (rc == 0)
        rc = first_failure(recs, n, err, errlen);
    s6_sweep_row *rows = rc == 0 ? rank(sw, recs, n) : NULL;
    if (rc == 0 && rows == NULL) {
        snprintf(err, errlen, "replay: out of memory");
        rc = S6_ENOMEM;
    }
    if (rc == 0) {
        print_table(out, sw, rows, n);
        fprintf(stderr, "sweep: %zu runs on %u worker process(es) in %.3f s\n",
                n, jobs_for(sw, n), seconds_now() - start);
    }
    if (rc == 0 && o->report != NULL)
        rc = s6_sweep_report_write(sw, rows, n, o->report,
                                   o->title ? o->title : "", err, errlen);
    free(rows);
    free(recs);
    return rc;
}
