/*
 * position.h — one position as the engine keeps it, its state machine and
 * how fills change it (docs/engine.md).  Pure: no I/O, no clock; the
 * engine persists the struct and feeds it fills from ord:{results}.
 *
 * FUT positions are isolated, one-way: one per (market, symbol).  The
 * isolated margin is what Binance calls the isolated wallet: the sum of
 * entry notionals / leverage, plus margin added, minus fees charged to it;
 * a reduce releases margin in proportion to the quantity closed.  SPOT
 * positions keep the weighted average cost (WAC); a fee paid in the base
 * asset shrinks what can be sold.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/s6_rule_abi.h"

enum {
    S6_POS_ID_MAX = 24,       /* so an intent id fits Binance's 36 chars */
    S6_INTENT_ID_MAX = 36,
    S6_SYMBOL_MAX = 24,
    S6_RESULT_ID_MAX = 48,
    S6_SEEN_RESULTS = 32      /* recent result ids kept to refuse replays */
};

typedef enum s6_pos_state {
    S6_POS_PENDING_ENTRY = 0,
    S6_POS_ACTIVE,
    S6_POS_PENDING_CLOSING,
    S6_POS_CLOSED,
    S6_POS_STATE_COUNT
} s6_pos_state;

/* What a fill was, as S4 reports it on ord:{results}. */
typedef enum s6_fill_kind {
    S6_FILL_ENTRY = 1,    /* the entry order (or an add-on) */
    S6_FILL_ADD,
    S6_FILL_REDUCE,       /* take-profit or manual partial close */
    S6_FILL_CLOSE,        /* a full close S6 asked for */
    S6_FILL_STOP,         /* the exchange stop triggered */
    S6_FILL_LIQUIDATION,
    S6_FILL_ADL,
    S6_FILL_MANUAL        /* someone traded on the account by hand */
} s6_fill_kind;

typedef struct s6_fill {
    char result_id[S6_RESULT_ID_MAX];  /* unique per fill: replays refused */
    char intent_id[S6_INTENT_ID_MAX + 1]; /* the order it fills; "" unknown */
    int kind;                          /* s6_fill_kind */
    int side;                          /* +1 buy, -1 sell */
    double qty;                        /* base, > 0 */
    double price;                      /* quote per base, > 0 */
    double fee;                        /* >= 0, in quote, or in base when fee_in_base */
    bool fee_in_base;                  /* SPOT buys often pay the fee in the asset */
    double ts;                         /* seconds */
} s6_fill;

typedef struct s6_position {
    char id[S6_POS_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;                /* S6_MARKET_FUT / S6_MARKET_SPOT */
    int side;                  /* +1 long, -1 short; 0 until the first fill */
    s6_pos_state state;
    double qty;                /* FUT: open quantity; SPOT: sellable quantity */
    double entry;              /* FUT: average entry; SPOT: WAC */
    double margin;             /* FUT: isolated margin; SPOT: cost basis WAC*qty */
    double leverage;           /* FUT, > 0 */
    double fees_paid;          /* quote */
    double realized_pnl;       /* quote, net of fees */
    double opened_at, closed_at, last_add_at;
    int add_on_count;
    int n_entries;
    double entry_qty[S6_MAX_ENTRIES];
    uint32_t seq;              /* the next intent sequence number */
    char last_entry_intent[S6_INTENT_ID_MAX + 1]; /* partial fills of one
                                  entry or add order make one entry */
    unsigned n_seen;
    char seen[S6_SEEN_RESULTS][S6_RESULT_ID_MAX];
} s6_position;

/* The outcome of applying a fill. */
typedef enum s6_fill_effect {
    S6_FILL_OPENED = 1,   /* first fill: the position exists */
    S6_FILL_GREW,
    S6_FILL_SHRANK,
    S6_FILL_CLOSED,
    S6_FILL_DUPLICATE     /* result id seen before: nothing changed */
} s6_fill_effect;

const char *s6_pos_state_name(s6_pos_state s);
/* Parses "ACTIVE" etc.; -1 when unknown. */
int s6_pos_state_parse(const char *name);

/* A new, empty position (PENDING_ENTRY).  id: [A-Za-z0-9_-], 1..24 chars. */
int s6_position_init(s6_position *p, const char *id, const char *symbol,
                     int market, double leverage, char *err, size_t errlen);

/* Moves along PENDING_ENTRY -> ACTIVE -> PENDING_CLOSING -> CLOSED (and the
 * few other edges docs/engine.md lists); anything else is refused and
 * leaves p unchanged. */
int s6_position_transition(s6_position *p, s6_pos_state to, char *err,
                           size_t errlen);

/* A result the position has taken account of without applying it as a
 * fill (an adopted position's own ENTRY): later copies are duplicates. */
void s6_position_mark_seen(s6_position *p, const char *result_id);
bool s6_position_has_seen(const s6_position *p, const char *result_id);

/*
 * Applies one fill; on success *effect says what it did.  Validates
 * everything first and changes nothing on error: bad numbers, a reduce
 * larger than the position (one-way mode cannot flip; reconciliation must
 * look), a fill on a closed position.  A result id seen before is
 * S6_FILL_DUPLICATE and changes nothing.  qty_step lets "closed" mean
 * "less than one step left".
 */
int s6_position_apply_fill(s6_position *p, const s6_fill *f, double qty_step,
                           s6_fill_effect *effect, char *err, size_t errlen);

/*
 * A funding payment settled on a FUT position: amount in quote, > 0 when
 * the position received it, < 0 when it paid.  The exchange settles it
 * into the isolated wallet, so it moves the isolated margin, and it is
 * realized PnL.  result_id joins the fills' seen list: a replay sets
 * *duplicate and changes nothing.  Refused (nothing changed): SPOT, an
 * empty or closed position, an amount that is not finite.
 */
int s6_position_apply_funding(s6_position *p, const char *result_id,
                              double amount, bool *duplicate, char *err,
                              size_t errlen);

/*
 * The idempotency key of the next order for this position:
 * "<id>-<action>-<seq>", seq in base 36, at most 36 characters (Binance's
 * client order id limit), and seq moves on.  A retry
 * of the same order must reuse the key it got; a legitimate repeat (a new
 * stop after compensation) asks for a new one.  action: 1..3 letters, e.g.
 * "sl" (stop), "tp", "add", "cl" (close).
 */
int s6_position_next_intent(s6_position *p, const char *action,
                            char out[S6_INTENT_ID_MAX + 1]);

/* Fills the rule view of the position at a mark (ROE, uPnL, liquidation
 * price and distance from the primitives; mmr/cum: the symbol's bracket). */
int s6_position_view(const s6_position *p, double mark, double mmr,
                     double cum, s6_pos_view *out);
