/*
 * stop.h — the protective stop of one position: what the exchange holds,
 * what is being placed, and the local guard that covers the position
 * whenever no stop is confirmed (docs/engine.md, "The stop").
 *
 * A move is "place the new stop, then cancel the old one": between the two
 * steps the position holds two reduce-only stops, never none.  (The other
 * order, cancel first, leaves a gap in which a fast market has no stop.)
 * Whatever fails, the position is covered: by the old stop while the new
 * one is not confirmed, by the local guard on the mark when there is no
 * confirmed stop at all.  One move at a time; a request while one is in
 * flight is refused (S6_EBUSY) — the guard's stop_replace_in_flight.
 *
 * Pure: the functions return the command the executor must send next.
 */
#pragma once

#include <stdbool.h>

#include "contract/position.h"
#include "core/s6_errors.h"

typedef enum s6_stop_cmd_kind {
    S6_STOP_CMD_NONE = 0,
    S6_STOP_CMD_PLACE,   /* STOP_MARKET, reduceOnly, workingType MARK_PRICE */
    S6_STOP_CMD_CANCEL   /* cancel the order named by intent_id */
} s6_stop_cmd_kind;

typedef struct s6_stop_cmd {
    s6_stop_cmd_kind kind;
    char intent_id[S6_INTENT_ID_MAX + 1];
    double price;
    double qty;
} s6_stop_cmd;

typedef struct s6_stop_order {
    bool live;
    char intent_id[S6_INTENT_ID_MAX + 1];
    double price;
    double qty;
} s6_stop_order;

typedef struct s6_stop {
    int side;                /* of the position: +1 long, -1 short */
    s6_stop_order confirmed; /* on the exchange, confirmed by S4 */
    s6_stop_order pending;   /* sent, not yet confirmed */
    s6_stop_order cancelling;/* the replaced stop, being cancelled */
    int step;                /* lock-in step of the confirmed stop */
    int pending_step;
    double guard;            /* the local guard's price while no stop is
                                confirmed, 0 when a stop covers it */
    unsigned failures;       /* consecutive failed placements */
} s6_stop;

void s6_stop_init(s6_stop *st, int side);

/* Asks for a stop at price for qty (step: the lock-in step it stands for);
 * intent_id is a fresh key from s6_position_next_intent.  S6_EBUSY while a
 * placement is in flight. */
int s6_stop_request(s6_stop *st, double price, double qty, int step,
                    const char *intent_id, s6_stop_cmd *cmd);
/* S4 confirmed the placement: it becomes the stop, the old one is
 * cancelled. */
int s6_stop_placed(s6_stop *st, const char *intent_id, s6_stop_cmd *cmd);
/* The placement failed.  retry: send the same command again (same key);
 * otherwise it is dropped and the previous stop — or the guard — stays,
 * and a new request (with a new key) may follow. */
int s6_stop_place_failed(s6_stop *st, const char *intent_id, bool retry,
                         s6_stop_cmd *cmd);
/* The cancel of a replaced stop finished (or the order was gone). */
int s6_stop_cancelled(s6_stop *st, const char *intent_id);
/* The exchange stop filled, or the position closed otherwise. */
void s6_stop_clear(s6_stop *st);

/* The price the local guard watches: the last stop asked for while none
 * is confirmed, 0 when a confirmed stop covers the position. */
double s6_stop_guard_price(const s6_stop *st);
/* True when the mark has crossed the guard (a market close is due). */
bool s6_stop_guard_hit(const s6_stop *st, double mark);
/* True while a placement is in flight (for the guard's limits). */
bool s6_stop_in_flight(const s6_stop *st);
