/*
 * sweep_report.c — a sweep's HTML page: the ranked table, and a heat map
 * of the first two parameters coloured from the worst score (red) to the
 * best (green).  Plain HTML and CSS, nothing to load.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/s6_errors.h"
#include "replay/sweep_int.h"

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>S6 replay sweep</title>\n<style>\n"
    "body{font-family:sans-serif;margin:24px;color:#222}\n"
    "table{border-collapse:collapse;margin:12px 0}\n"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
    "table.heat td{min-width:70px}\n</style>\n</head><body>\n"
    "<h1>S6 replay sweep</h1>\n";

static void put_html_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*s, f);
        }
}

static void table(FILE *f, const s6_sweep *sw, const s6_sweep_row *rows,
                  size_t n)
{
    fputs("<table class=\"runs\">\n<tr><th>rank</th>", f);
    for (size_t k = 0; k < sw->n_dims; k++) {
        char name[200];
        s6_sweep_dim_name(&sw->dim[k], name, sizeof name);
        fputs("<th>", f);
        put_html_text(f, name);
        fputs("</th>", f);
    }
    fputs("<th>pnl</th><th>realized</th><th>fees</th><th>max drawdown</th>"
          "<th>pnl/dd</th><th>time in market</th><th>stops</th><th>tps</th>"
          "<th>adds</th></tr>\n", f);
    for (size_t r = 0; r < n; r++) {
        const s6_replay_figures *g = &rows[r].fig;
        fprintf(f, "<tr><td>%zu</td>", r + 1);
        for (size_t k = 0; k < sw->n_dims; k++)
            fprintf(f, "<td>%.10g</td>", rows[r].value[k]);
        char tm[32];
        s6_sweep_duration(g->time_in_market, tm, sizeof tm);
        fprintf(f, "<td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>"
                   "<td>%.4f</td><td>%s</td><td>%u</td><td>%u</td><td>%u</td>"
                   "</tr>\n", g->pnl + 0.0, g->realized + 0.0, g->fees,
                g->max_drawdown, s6_sweep_ratio(g), tm, g->stops_moved,
                g->tps, g->adds);
    }
    fputs("</table>\n", f);
}

/* The best score of the rows at values (a, b) of the first two
 * parameters; -inf when none. */
static double cell(const s6_sweep *sw, const s6_sweep_row *rows, size_t n,
                   size_t a, size_t b)
{
    double best = -INFINITY;
    for (size_t r = 0; r < n; r++)
        if (rows[r].value[0] == sw->dim[0].v[a] &&
            rows[r].value[1] == sw->dim[1].v[b] && rows[r].score > best)
            best = rows[r].score;
    return best;
}

/* The score as shown: drawdown is sorted negated. */
static double shown(s6_sweep_order by, double score)
{
    return by == S6_SWEEP_BY_DRAWDOWN ? -score : score;
}

static void heat_map(FILE *f, const s6_sweep *sw, const s6_sweep_row *rows,
                     size_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < n; r++)
        if (isfinite(rows[r].score)) {
            lo = fmin(lo, rows[r].score);
            hi = fmax(hi, rows[r].score);
        }
    char a[200], b[200];
    s6_sweep_dim_name(&sw->dim[0], a, sizeof a);
    s6_sweep_dim_name(&sw->dim[1], b, sizeof b);
    fprintf(f, "<h2>Heat map: %s</h2>\n<p>rows ", s6_sweep_order_names[sw->by]);
    put_html_text(f, a);
    fputs(", columns ", f);
    put_html_text(f, b);
    fputs(sw->n_dims > 2 ? "; each cell the best over the other parameters"
                         : "", f);
    fputs("</p>\n<table class=\"heat\">\n<tr><th></th>", f);
    for (size_t j = 0; j < sw->dim[1].n; j++)
        fprintf(f, "<th>%.10g</th>", sw->dim[1].v[j]);
    fputs("</tr>\n", f);
    for (size_t i = 0; i < sw->dim[0].n; i++) {
        fprintf(f, "<tr><th>%.10g</th>", sw->dim[0].v[i]);
        for (size_t j = 0; j < sw->dim[1].n; j++) {
            double s = cell(sw, rows, n, i, j);
            double x = hi > lo && isfinite(s) ? (s - lo) / (hi - lo)
                       : s == INFINITY ? 1 : 0.5;
            fprintf(f, "<td class=\"cell\" style=\"background:hsl(%.0f,70%%,"
                       "75%%)\">%.4f</td>", 120 * x, shown(sw->by, s));
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

int s6_sweep_report_write(const s6_sweep *sw, const s6_sweep_row *rows,
                          size_t n, const char *path, const char *title,
                          char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), S6_EIO;
    fputs(page_head, f);
    fputs("<p>", f);
    put_html_text(f, title);
    fprintf(f, "</p>\n<p>%zu runs, sorted by %s</p>\n", n,
            s6_sweep_order_names[sw->by]);
    if (sw->n_dims >= 2)
        heat_map(f, sw, rows, n);
    fputs("<h2>Every run</h2>\n", f);
    table(f, sw, rows, n);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0)
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), S6_EIO;
    return 0;
}
