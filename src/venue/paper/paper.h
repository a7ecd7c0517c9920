/*
 * paper.h — the paper order router: an in-process venue that answers the
 * engine's s6_router edge the way S4 does (docs/contracts/paper.md).
 *
 *   - MARKET orders fill at the mark, moved against the order by the
 *     configured slippage and rounded to the tick the adverse way, after
 *     the configured latency, in paper.partial_fills parts one latency
 *     apart; each part pays the symbol's taker fee in quote;
 *   - STOP_MARKET orders rest (ACCEPTED) until a mark crosses them, then
 *     fill at that mark with slippage as fill_kind STOP;
 *   - reduceOnly is enforced: a reduce larger than the position, on its
 *     side, or with no position is REJECTED, never clipped;
 *   - an intent_id seen before answers the first order again and never
 *     places a second one; cancels of unknown or finished orders answer
 *     OK (S4's 404 "unknown_order", which counts as gone);
 *   - free balances (spot, futures) move with every fill.
 *
 * Nothing is delivered from inside a call: answers (s6_route_done) and
 * results (s6_order_result, for ord:{results}) wait in a queue ordered by
 * due time, and s6_paper_pump delivers what is due.  The replay driver
 * pumps after every engine call; the service pumps on a timer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "engine/edges.h"

typedef struct s6_paper s6_paper;

/* Receives each result as S4 would publish it on ord:{results}. */
typedef void (*s6_paper_result_fn)(void *ud, const s6_order_result *r);

typedef struct s6_paper_opts {
    double slippage;          /* fraction of the mark (paper.slippage_bps/1e4) */
    double latency;           /* seconds */
    unsigned partial_fills;   /* >= 1 */
    double spot_balance, fut_balance; /* starting free balances, quote */
    char result_prefix[16];   /* result ids are "<prefix>-<n>" */
    s6_clock clock;           /* the venue's time: orders, fills, results */
    s6_paper_result_fn on_result;
    void *result_ud;
} s6_paper_opts;

/* The opts of the config's paper.* keys (clock and callback left unset). */
void s6_paper_opts_from_config(const s6_config *cfg, s6_paper_opts *o);

/* cfg's symbols are the venue's books (tick, step, taker fee, leverage);
 * cfg must outlive the router. */
int s6_paper_new(const s6_config *cfg, const s6_paper_opts *opts,
                 s6_paper **out, char *err, size_t errlen);
void s6_paper_free(s6_paper *p);

/* The engine's edge over this router. */
s6_router s6_paper_router(s6_paper *p);

/* A new mark for (market, symbol): resting stops it crosses trigger and
 * fill.  Unknown symbols and bad marks are refused (-EINVAL). */
int s6_paper_mark(s6_paper *p, const char *symbol, int market, double mark);
/* The two halves of s6_paper_mark, for a driver that lets the engine see
 * a price before the venue triggers on it (the replay, so a stop's fill
 * is reported at the price that triggered it), by book id so a driver
 * that sends millions of prices looks each symbol up once: set_mark moves
 * the price market orders fill at; trigger fires the resting stops it
 * crosses. */
long s6_paper_book_id(const s6_paper *p, const char *symbol, int market);
int s6_paper_set_mark_id(s6_paper *p, long book, double mark);
int s6_paper_trigger_id(s6_paper *p, long book);

/* Delivers every answer and result due at or before the clock's now, in
 * due order; callbacks may submit again (those wait for the next round
 * when not due).  Returns how many were delivered. */
size_t s6_paper_pump(s6_paper *p);
/* The earliest due time still queued, or INFINITY when none. */
double s6_paper_next_due(const s6_paper *p);

/* A position opened at start: a market entry the venue fills like any
 * other, reported as fill_kind ENTRY with the intent's extras. */
typedef struct s6_paper_entry {
    char pos_id[S6_POS_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    int side;                 /* +1 long, -1 short */
    double qty;               /* rounded to the step */
    double leverage;          /* 0 = the symbol's */
    double sl_px;             /* first stop asked for, 0 = the engine's */
    double risk_reserved;
    int concurrency_reserved;
    double at;                /* seconds after the start it is sent */
} s6_paper_entry;

int s6_paper_open(s6_paper *p, const s6_paper_entry *e, char *err,
                  size_t errlen);

/* After a restart the venue (this process) starts empty while the exchange
 * it stands for would still hold the positions the engine restores: this
 * puts one back — no fill, no result — and takes its margin (FUT) or cost
 * (SPOT) off the free balance.  Refused unless the book is flat. */
int s6_paper_restore(s6_paper *p, const char *symbol, int market, int side,
                     double qty, double entry, double leverage, char *err,
                     size_t errlen);

typedef struct s6_paper_balances {
    double spot_free, fut_free;
} s6_paper_balances;
void s6_paper_get_balances(const s6_paper *p, s6_paper_balances *b);

/* The venue's position in (market, symbol): side 0 when flat; realized
 * is net of every fee, entries' included. */
typedef struct s6_paper_position {
    int side;
    double qty, entry, margin, leverage, realized;
} s6_paper_position;
int s6_paper_get_position(const s6_paper *p, const char *symbol, int market,
                          s6_paper_position *out);
/* Resting stops of (market, symbol). */
size_t s6_paper_resting_stops(const s6_paper *p, const char *symbol,
                              int market);
/* The resting stop of a book nearest the mark (the one that protects
 * first), 0 when none rests. */
double s6_paper_stop_level(const s6_paper *p, long book);
