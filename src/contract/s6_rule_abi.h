/*
 * s6_rule_abi.h — what the C host and the trusted Lua layer (lua/s6/host.lua)
 * exchange when rules are evaluated: the position and market views the host
 * fills, and the sink through which proposals come back.
 *
 * The block between the FFI markers is copied into lua/s6/cdef.lua (see
 * src/build/gen_cdef.cmake), so it must stay plain declarations.  Rule
 * scripts never see these types: the trusted loop copies each view into
 * plain Lua tables (docs/rules.md, "Views").
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* S6_FFI_BEGIN */
enum {
    S6_MAX_ENTRIES = 8,       /* entry fills remembered per position */
    S6_MARKET_FUT = 0,
    S6_MARKET_SPOT = 1
};

/* What made the host evaluate; a rule lists the triggers it answers. */
enum {
    S6_TRIG_TICK = 1,
    S6_TRIG_PRICE = 2,
    S6_TRIG_FILL = 4,
    S6_TRIG_SIGNAL = 8
};

/* What a rule may propose (docs/rules.md, "Actions"). */
enum {
    S6_ACT_STOP = 1,    /* move the protective stop to price */
    S6_ACT_REDUCE = 2,  /* close qty (or fraction of the remaining qty) */
    S6_ACT_CLOSE = 3,   /* close the whole position */
    S6_ACT_ADD = 4,     /* add qty in the position's direction */
    S6_ACT_EVENT = 5,   /* emit a named event (e.g. STAGNATED) */
    S6_ACT_HEDGE = 6    /* trade signed qty on the symbol's FUT market
                           (+ buy, - sell) toward target_exposure */
};

/* One position as the rules see it.  slot is the host's stable index. */
typedef struct s6_pos_view {
    int slot;
    int market;            /* S6_MARKET_* */
    int side;              /* +1 long, -1 short */
    int add_on_count;      /* adds filled so far */
    int n_entries;         /* valid entries in entry_qty */
    int stop_step;         /* lock-in step of the current stop, 0 = none */
    int tp_step;           /* take-profit ladder steps done */
    int regime;            /* index into the host's regime names */
    double qty;            /* remaining absolute base quantity */
    double entry;          /* average entry price */
    double margin;         /* isolated margin (FUT) or cost basis (SPOT) */
    double fees_paid;      /* quote fees charged so far */
    double exit_fee_rate;  /* taker fee rate of a closing order */
    double leverage;
    double opened_at;      /* seconds, host clock */
    double last_add_at;    /* seconds, 0 = never */
    double stop;           /* current protective stop, 0 = none */
    double best_price;     /* highest mark since entry (long), lowest (short) */
    double roe;            /* computed by the host for this evaluation */
    double upnl;
    double liq_price;      /* 0 = none */
    double liq_distance;   /* +inf when no liquidation price */
    double hedge_qty;      /* SPOT: signed futures quantity held on the
                              symbol's FUT market (+ long, - short) */
    double target_exposure; /* SPOT: net spot + futures exposure to hold,
                               quote; NaN = no hedging for the symbol */
    double entry_qty[8];   /* S6_MAX_ENTRIES; [0] is the first entry */
} s6_pos_view;

/* The market of one symbol at evaluation time. */
typedef struct s6_mkt_view {
    double now;            /* seconds, host clock */
    double mark;
    double last;
    double mid;
    double atr;            /* NaN when unknown */
    double health;         /* 0..1 feed health, 1 = good */
    int signal_side;       /* +1/-1 for a fresh strategy signal, 0 = none */
    int trigger;           /* S6_TRIG_* that caused this evaluation */
    double signal_strength;
} s6_mkt_view;

/* Proposals flow from the trusted Lua loop into a host-owned sink. */
typedef struct s6_sink s6_sink;

/* step: STOP only, the lock-in step the stop reaches (0 = none). */
int s6_sink_action(s6_sink *sink, int pos_index, int rule_id, int kind,
                   double price, double qty, double fraction, int step,
                   const char *name, const char *reason);
/* A rule returned n actions more than its cap; they were not sunk. */
void s6_sink_capped(s6_sink *sink, int rule_id, unsigned n);
/* 1 when a rule may emit an event of this name: [A-Za-z0-9_.:-], at most
 * 31 characters, none of the engine's own event types (the guard's test). */
int s6_rule_event_ok(const char *name);

/*
 * Per-position rule state, as JSON, keyed by (slot, rule id).  gen changes
 * whenever a state is set, so the Lua side can cache decoded tables and
 * notice when the host replaced one (restore, slot reuse).
 */
typedef struct s6_state_store s6_state_store;

unsigned s6_state_gen(const s6_state_store *st, int slot, int rule_id);
const char *s6_state_get(const s6_state_store *st, int slot, int rule_id,
                         size_t *len);
unsigned s6_state_set(s6_state_store *st, int slot, int rule_id,
                      const char *json, size_t len);

/* Where a batch starts and, while it runs, where it is; skip[i] != 0
 * suspends the rule at Lua index i+1 for the rest of the batch. */
typedef struct s6_eval_progress {
    int pos;
    int rule;
    unsigned char skip[64];
} s6_eval_progress;
/* S6_FFI_END */

#ifdef __cplusplus
}
#endif
