/*
 * report.h — the HTML report of a replay (`--report FILE.html`): one chart
 * per position with the mark, the protective stop as it steps, and the
 * fills marked (entry, take-profits, adds, the stop, closes).  The page is
 * self-contained: Chart.js (Debian's libjs-chart.js) is inlined, so it
 * opens without a network.  A summary table above the charts gives each
 * position's PnL, fees, stop moves, take-profits, adds and how it ended.
 * The page checks itself out of sight of the reader: the body's attribute
 * data-check reads "ok charts=N drawn=N" once every chart has pixels on its
 * canvas, or lists the script errors met (the tests read it in headless
 * Chromium).
 */
#pragma once

#include <stddef.h>

#include "replay/timeline.h"

#define S6_CHARTJS_DEFAULT "/usr/share/javascript/chart.js/chart.min.js"

typedef struct s6_report s6_report;

int s6_report_new(size_t n_tracks, s6_report **out);
void s6_report_free(s6_report *r);
/* Names track k (one position). */
int s6_report_track(s6_report *r, size_t k, const char *pos_id,
                    const char *symbol, int side);
/* The mark and the resting stop (0 = none) at time t. */
int s6_report_point(s6_report *r, size_t k, double t, double mark,
                    double stop);
/* A fill: kind is the fill kind's name (ENTRY, ADD, REDUCE, STOP...). */
int s6_report_marker(s6_report *r, size_t k, double t, double price,
                     const char *kind, double qty);
void s6_report_pnl(s6_report *r, size_t k, double pnl);
/* The summary row of track k: the PnL table's row (timeline.h). */
void s6_report_summary(s6_report *r, size_t k, const s6_timeline_pnl *row);
/* The position closed at t: its chart ends a little after. */
void s6_report_closed(s6_report *r, size_t k, double t);
/* chartjs: the library to inline (S6_CHARTJS_DEFAULT); title: the inputs. */
int s6_report_write(const s6_report *r, const char *path, const char *chartjs,
                    const char *title, char *err, size_t errlen);
/* Several runs over the same positions on the same charts (a comparison):
 * every run's stop and fills beside the first run's mark, each named by
 * its label.  The runs must have the same tracks. */
int s6_report_write_runs(const s6_report *const *runs,
                         const char *const *labels, size_t n_runs,
                         const char *path, const char *chartjs,
                         const char *title, char *err, size_t errlen);
