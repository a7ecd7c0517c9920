/*
 * timeline.c — formatting of the replay timeline and its tables.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "replay/timeline.h"

void s6_timeline_time(double ts, char out[32])
{
    double whole = floor(ts);
    time_t t = (time_t)whole;
    struct tm tm;
    gmtime_r(&t, &tm);
    int ms = (int)llround((ts - whole) * 1000);
    if (ms == 1000) { /* 59.9996 s rounds into the next second */
        t++;
        gmtime_r(&t, &tm);
        ms = 0;
    }
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", day, ms);
}

void s6_timeline_header(FILE *f)
{
    fprintf(f, "%-24s  %-16s  %-10s  %-18s  %12s  %8s  %14s  %s\n", "time",
            "position", "symbol", "event", "price", "roe", "value",
            "rule");
}

void s6_timeline_note(FILE *f, const s6_engine_note *n)
{
    char t[32];
    s6_timeline_time(n->ts, t);
    fprintf(f, "%-24s  %-16s  %-10s  %-18s  %12.10g  %7.2f%%  %14.10g  %s\n",
            t, n->pos_id ? n->pos_id : "", n->symbol ? n->symbol : "",
            n->type ? n->type : "", n->price, n->roe * 100, n->value,
            n->rule_version && n->rule_version[0] ? n->rule_version : "-");
}

void s6_timeline_pnl_table(FILE *f, const s6_timeline_pnl *rows, size_t n)
{
    fprintf(f, "\nFinal PnL per position (quote; realized net of fees)\n");
    fprintf(f, "%-16s  %-10s  %-5s  %10s  %10s  %12s  %12s  %12s  %10s  "
               "%5s  %3s  %4s  %s\n",
            "position", "symbol", "side", "entry_qty", "open_qty", "mark",
            "realized", "unrealized", "fees", "stops", "tps", "adds", "end");
    double tr = 0, tu = 0, tf = 0;
    for (size_t i = 0; i < n; i++) {
        const s6_timeline_pnl *r = &rows[i];
        fprintf(f, "%-16s  %-10s  %-5s  %10.6g  %10.6g  %12.10g  %12.4f  "
                   "%12.4f  %10.4f  %5u  %3u  %4u  %s\n",
                r->pos_id, r->symbol, r->side > 0 ? "LONG" : "SHORT",
                r->entry_qty, r->qty, r->mark, r->realized, r->unrealized,
                r->fees, r->stops_moved, r->tps, r->adds, r->end);
        tr += r->realized;
        tu += r->unrealized;
        tf += r->fees;
    }
    fprintf(f, "%-16s  %-10s  %-5s  %10s  %10s  %12s  %12.4f  %12.4f  "
               "%10.4f\n", "total", "", "", "", "", "", tr, tu, tf);
}
