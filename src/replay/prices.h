/*
 * prices.h — recorded price files (examples/data/, docs/replay.md) and the
 * feed that turns one or more of them into market updates in time order.
 *
 * A file is CSV: '#' comment lines (anywhere; "symbol=X market=FUT" in a
 * comment names the instrument, else the file name up to its first '.' or
 * '_' does), one header line naming the columns time, open, high, low,
 * close and optionally mark and signal (a strategy signal at the bar's
 * start: 1 buy, -1 sell, 0 none), in any order, then one line per bar.  time
 * is Unix seconds (fractions allowed) or RFC 3339 UTC
 * ("2026-11-25T10:00:00Z") and strictly increasing; prices are finite and
 * > 0 with low <= open, close <= high.  A bad file is refused whole, and
 * the message names the file, the line and the reason.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "contract/position.h" /* S6_SYMBOL_MAX */

typedef struct s6_price_bar {
    double t, open, high, low, close;
    double mark; /* the mark column, NaN without one */
    int signal;  /* +1 buy, -1 sell, 0 none */
} s6_price_bar;

typedef struct s6_price_series {
    char name[64];                   /* the file's base name, for messages */
    char symbol[S6_SYMBOL_MAX + 1];
    int market;                      /* S6_MARKET_* */
    bool has_mark;
    s6_price_bar *bars;
    size_t n;
} s6_price_series;

int s6_prices_load(const char *path, s6_price_series *out, char *err,
                   size_t errlen);
/* The same from text; name stands for the file in messages. */
int s6_prices_parse(const char *text, const char *name, s6_price_series *out,
                    char *err, size_t errlen);
void s6_prices_free(s6_price_series *s);

/*
 * The updates of several series merged by time (ties: the series' order),
 * so the same files always give the same sequence.  A file with a mark
 * column gives one update per line at its mark; a file of bars gives four
 * per bar, the path open -> low -> high -> close (a falling bar: open ->
 * high -> low -> close) at quarters of the bar's interval, so stops inside
 * a bar's range trigger.  atr: Wilder's ATR (period atr_period) of the
 * bars completed before the update, NaN while warming up; the bars are
 * the file's, or, with atr_bar_s > 0, the file's bars grouped into bars of
 * that many seconds (UTC-aligned): a stop k ATRs away should not be
 * measured on one-minute noise.
 */
typedef struct s6_price_update {
    size_t series;
    double ts, mark, atr;
    int signal;      /* the bar's signal, on its first update only */
} s6_price_update;

typedef struct s6_price_feed s6_price_feed;

int s6_price_feed_new(const s6_price_series *series, size_t n, int atr_period,
                      double atr_bar_s, s6_price_feed **out);
void s6_price_feed_free(s6_price_feed *f);
/* false at the end. */
bool s6_price_feed_next(s6_price_feed *f, s6_price_update *u);
/* How many updates the feed gives in all (for progress). */
size_t s6_price_feed_total(const s6_price_feed *f);
