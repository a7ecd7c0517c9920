/*
 * compare.c — `replay --compare DIR_A DIR_B`: one input, two rule sets,
 * the figures side by side and the first line where the runs part.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replay/report.h"
#include "replay/timeline.h"
#include "replay/whatif.h"

/* One figure of the table: its column, and how it reads from figures. */
typedef struct column {
    const char *head;
    double (*get)(const s6_replay_figures *f);
    int width, decimals;  /* decimals < 0: a duration, h:mm:ss */
} column;

static double realized(const s6_replay_figures *f) { return f->realized; }
static double unrealized(const s6_replay_figures *f) { return f->unrealized; }
static double fees(const s6_replay_figures *f) { return f->fees; }
static double pnl(const s6_replay_figures *f) { return f->pnl; }
static double drawdown(const s6_replay_figures *f) { return f->max_drawdown; }
static double in_market(const s6_replay_figures *f) { return f->time_in_market; }
static double stops(const s6_replay_figures *f) { return f->stops_moved; }
static double tps(const s6_replay_figures *f) { return f->tps; }
static double adds(const s6_replay_figures *f) { return f->adds; }

static const column columns[] = {
    { "realized", realized, 12, 4 },     { "unrealized", unrealized, 12, 4 },
    { "fees", fees, 10, 4 },             { "pnl", pnl, 12, 4 },
    { "max_drawdown", drawdown, 12, 4 }, { "time_in_market", in_market, 14, -1 },
    { "stops", stops, 6, 0 },            { "tps", tps, 4, 0 },
    { "adds", adds, 5, 0 },
};
enum { N_COLUMNS = sizeof columns / sizeof *columns };

/* "123:04:05" hours, minutes, seconds; a difference keeps its sign. */
static void duration(double s, char out[24])
{
    long t = lround(fabs(s));
    snprintf(out, 24, "%s%ld:%02ld:%02ld", s < 0 ? "-" : "", t / 3600,
             t / 60 % 60, t % 60);
}

static void header(FILE *f)
{
    fprintf(f, "%-16s  %-3s", "position", "run");
    for (size_t c = 0; c < N_COLUMNS; c++)
        fprintf(f, "  %*s", columns[c].width, columns[c].head);
    fputc('\n', f);
}

static void row(FILE *f, const char *name, const char *run,
                const s6_replay_figures *a, const s6_replay_figures *b)
{
    fprintf(f, "%-16s  %-3s", name, run);
    for (size_t c = 0; c < N_COLUMNS; c++) {
        double v = b ? columns[c].get(b) - columns[c].get(a)
                     : columns[c].get(a);
        if (columns[c].decimals < 0) {
            char d[24];
            duration(v, d);
            fprintf(f, "  %*s", columns[c].width, d);
        } else { /* + 0.0: no "-0.0000" */
            fprintf(f, "  %*.*f", columns[c].width, columns[c].decimals,
                    v + 0.0);
        }
    }
    fputc('\n', f);
}

static void figures_table(FILE *f, const s6_replay_result *a,
                          const s6_replay_result *b)
{
    fprintf(f, "\nFigures per position and in total (quote; realized net of "
               "fees; B-A = B minus A)\n");
    header(f);
    for (size_t i = 0; i <= a->n; i++) {
        const char *name = i < a->n ? a->pos_id[i] : "total";
        const s6_replay_figures *fa = i < a->n ? &a->pos[i] : &a->total;
        const s6_replay_figures *fb = i < b->n ? &b->pos[i] : &b->total;
        row(f, name, "A", fa, NULL);
        row(f, name, "B", fb, NULL);
        row(f, name, "B-A", fa, fb);
    }
}

static void event_line(FILE *f, const char *run, const s6_replay_result *r,
                       long i)
{
    if (i < 0 || (size_t)i >= r->n_events) {
        fprintf(f, "  %s: (the timeline has ended)\n", run);
        return;
    }
    const s6_replay_event *e = &r->events[i];
    char t[32];
    s6_timeline_time(e->ts, t);
    fprintf(f, "  %s: %-24s  %-16s  %-18s  %12.10g  %14.10g\n", run, t,
            e->pos < r->n ? r->pos_id[e->pos] : "-", e->type, e->price,
            e->value);
}

static void divergence(FILE *f, const s6_replay_result *a,
                       const s6_replay_result *b)
{
    long i = s6_replay_first_divergence(a, b);
    if (i < 0) {
        fprintf(f, "\nThe timelines are the same (%zu lines).\n", a->n_events);
        return;
    }
    fprintf(f, "\nFirst divergence, at line %ld of the timelines:\n", i + 1);
    event_line(f, "A", a, i);
    event_line(f, "B", b, i);
}

static int run_one(const s6_replay_opts *base, const s6_replay_inputs *in,
                   const char *dir, s6_replay_result *res, s6_report **rep,
                   char *err, size_t errlen)
{
    s6_replay_opts o = *base;
    o.rules_dir = dir;
    o.native = false;
    o.out = NULL;
    o.report = NULL;
    o.report_out = base->report ? rep : NULL;
    o.result = res;
    o.keep_events = true;
    int rc = s6_replay_run(&o, in->series, in->n_series, in->entries,
                           in->n_entries, NULL, err, errlen);
    if (rc != 0) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (rules %s)", dir);
    }
    return rc;
}

int s6_replay_compare(const s6_replay_opts *o, const s6_replay_inputs *in,
                      const char *dir_a, const char *dir_b, FILE *out,
                      char *err, size_t errlen)
{
    s6_replay_result ra = { 0 }, rb = { 0 };
    s6_report *rep[2] = { NULL, NULL };
    int rc = run_one(o, in, dir_a, &ra, &rep[0], err, errlen);
    if (rc == 0)
        rc = run_one(o, in, dir_b, &rb, &rep[1], err, errlen);
    if (rc == 0) {
        fprintf(out, "Comparison of two rule sets over the same prices and "
                     "positions\n  A  %s\n  B  %s\n", dir_a, dir_b);
        figures_table(out, &ra, &rb);
        divergence(out, &ra, &rb);
    }
    if (rc == 0 && o->report != NULL) {
        char la[300], lb[300];
        snprintf(la, sizeof la, "A (%s)", dir_a);
        snprintf(lb, sizeof lb, "B (%s)", dir_b);
        const char *labels[2] = { la, lb };
        const s6_report *runs[2] = { rep[0], rep[1] };
        rc = s6_report_write_runs(runs, labels, 2, o->report,
                                  o->chartjs ? o->chartjs : S6_CHARTJS_DEFAULT,
                                  o->title ? o->title : "", err, errlen);
    }
    s6_report_free(rep[0]);
    s6_report_free(rep[1]);
    s6_replay_result_free(&ra);
    s6_replay_result_free(&rb);
    return rc;
}
