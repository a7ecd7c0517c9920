/*
 * plan.h — what the host does with the proposals of all rules for one
 * position: the proposal as the rule host hands it over, the symbol's
 * exchange filters and the risk limits the guard checks it against, and the
 * merged plan the engine turns into orders (docs/invariants.md).
 *
 * Plain C, no I/O: the guard (guard.h) fills a plan; nothing here allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "contract/s6_rule_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    S6_PROPOSAL_NAME_LEN = 32,
    S6_PROPOSAL_REASON_LEN = 96,
    /* Proposals the guard takes for one position in one evaluation; the
     * rule host caps each rule's actions so every dropped one keeps a
     * rejection record (s6_guard_plan answers S6_ERANGE above it). */
    S6_PLAN_MAX_PROPOSALS = 64,
    S6_PLAN_MAX_EVENTS = 8
};

/* rule_index of an action an operator asked for (HTTP API), not a rule. */
#define S6_RULE_MANUAL (-1)

/*
 * One proposed action.  A numeric field is absent when it is NaN (what the
 * rule host writes for a value the rule left out) or 0 (what C callers get
 * from an initializer).  A field the kind does not carry must be absent:
 * a rule that sets it meant something the host would not do.
 *   STOP    price; step, the lock-in step the stop stands for (a
 *           trailing rule's; 0 = none): the engine records it with the
 *           stop, and never reads a rule's state to learn it
 *   REDUCE  qty or fraction (exactly one)
 *   CLOSE   nothing
 *   ADD     qty
 *   EVENT   name (a name is ignored for the other kinds)
 *   HEDGE   qty, signed: + buy futures, - sell futures (never 0)
 */
typedef struct s6_proposal {
    int pos_index;    /* the position it is for, as the rule host numbers
                         them; one call to the guard takes one position's */
    int rule_index;   /* the rule that proposed it, or S6_RULE_MANUAL */
    int kind;         /* S6_ACT_*; 0 or unknown = malformed */
    double price;     /* quote per base unit */
    double qty;       /* base units (HEDGE: signed) */
    double fraction;  /* of the remaining quantity, in (0, 1] */
    int step;         /* STOP: the lock-in step it reaches, 0 = none */
    char name[S6_PROPOSAL_NAME_LEN];     /* event name, NUL-terminated */
    char reason[S6_PROPOSAL_REASON_LEN]; /* the rule's words, for the log */
} s6_proposal;

/* The symbol's exchange filters. */
typedef struct s6_symbol_filters {
    double tick;          /* price grid, quote units, > 0 */
    double step;          /* quantity grid, base units, > 0 */
    double min_qty;       /* smallest order quantity, base units, >= 0 */
    double min_notional;  /* smallest order value qty*mark, quote, >= 0 */
} s6_symbol_filters;

/*
 * Risk limits and the facts about in-flight work the guard needs.  The
 * three maxima accept +INFINITY for "no limit"; every other double is
 * finite and >= 0.
 */
typedef struct s6_limits {
    double max_position_qty;       /* base units the position may hold after an add */
    double max_position_notional;  /* quote value at mark after an add */
    double max_leverage;           /* the leverage an add may be placed at */
    int add_cap;                   /* adds allowed per position (add_on_count < cap) */
    double add_min_interval_s;     /* seconds between adds (from last_add_at) */
    bool daily_loss_hit;           /* the account's daily loss limit is reached */
    double risk_budget_free;       /* quote the risk budget still has for add-ons;
                                      an add needs notional / leverage of it */
    bool concurrency_ok;           /* the concurrency quota allows one more add */
    double min_stop_move_frac;     /* a stop must move by this fraction of the
                                      mark, in [0, 1); stops churn otherwise */
    bool stop_replace_in_flight;   /* a stop replace has not finished yet */
    bool add_in_flight;            /* an add order has not filled or failed yet */
    bool manual_loosen_allowed;    /* an operator's stop (rule_index
                                      S6_RULE_MANUAL) may loosen; never a rule's */
    bool hedge_in_flight;          /* a hedge order for the symbol has not
                                      filled or failed yet */
} s6_limits;

/* Why a proposal was dropped.  Stable numbers: metrics count by them. */
typedef enum s6_reject_code {
    S6_REJ_NONE = 0,
    S6_REJ_KIND,              /* kind 0 or unknown */
    S6_REJ_STRAY_FIELD,       /* a field the kind does not carry is set */
    S6_REJ_PRICE,             /* price missing, not finite or not > 0 */
    S6_REJ_QTY,               /* quantity missing, not finite, not > 0, off any grid */
    S6_REJ_FRACTION,          /* fraction not in (0, 1] */
    S6_REJ_AMBIGUOUS,         /* a reduce with both qty and fraction */
    S6_REJ_STOP_IN_FLIGHT,    /* a stop replace is still in flight */
    S6_REJ_STOP_WRONG_SIDE,   /* not on the protective side of the mark */
    S6_REJ_STOP_ROUNDED_PAST_MARK, /* on the tick, it reaches the mark */
    S6_REJ_STOP_NOT_TIGHTER,  /* would loosen the current stop, or keep it */
    S6_REJ_STOP_MOVE_TOO_SMALL, /* improves by less than the minimum move */
    S6_REJ_REDUCE_TOO_SMALL,  /* rounds to 0 or under min qty / notional */
    S6_REJ_DAILY_LOSS,        /* adds stop once the daily loss limit is hit */
    S6_REJ_ADD_IN_FLIGHT,     /* an add has not finished yet */
    S6_REJ_ADD_CAP,           /* add_on_count reached the cap */
    S6_REJ_ADD_INTERVAL,      /* too soon after the last add */
    S6_REJ_CONCURRENCY,       /* the concurrency quota is exhausted */
    S6_REJ_LEVERAGE,          /* the position's leverage is over the maximum */
    S6_REJ_ADD_TOO_SMALL,     /* rounds to 0 or under min qty / notional */
    S6_REJ_MAX_QTY,           /* the position would exceed its maximum size */
    S6_REJ_MAX_NOTIONAL,      /* ... or its maximum notional */
    S6_REJ_RISK_BUDGET,       /* the margin it needs is over the free budget */
    S6_REJ_EVENT_NAME,        /* missing, too long or not [A-Za-z0-9_.:-] */
    S6_REJ_EVENT_DUPLICATE,   /* another rule emits the same event */
    S6_REJ_EVENTS_FULL,       /* more distinct events than a plan holds */
    S6_REJ_OUTRANKED,         /* another proposal of the same kind wins */
    S6_REJ_CLOSE_DROPS_STOP,  /* the plan closes the position: no stop move */
    S6_REJ_REDUCE_DROPS_ADD,  /* the plan reduces or closes: no add */
    S6_REJ_HEDGE_MARKET,      /* not a SPOT position with a target exposure */
    S6_REJ_HEDGE_IN_FLIGHT,   /* a hedge order has not finished yet */
    S6_REJ_HEDGE_TOO_SMALL,   /* rounds to 0 or under min qty / notional */
    S6_REJ_SIZE_DROPS_HEDGE,  /* the plan changes the spot quantity: the
                                 hedge is recomputed once that fills */
    S6_REJ_COUNT
} s6_reject_code;

/* A numeric proposal field that carries no value (see s6_proposal). */
static inline bool s6_absent(double v) { return v == 0 || v != v; }

/* A short stable name for a code ("stop_not_tighter"), for logs and metric
 * labels; "unknown" outside the enum. */
const char *s6_reject_name(int code);

/*
 * An accepted action, or a proposal that passed its own checks and is
 * waiting for the merge.  Which fields mean something depends on kind.
 */
typedef struct s6_plan_action {
    bool active;        /* the plan holds this action */
    int kind;           /* S6_ACT_* as proposed (REDUCE or CLOSE for a reduce) */
    int proposal;       /* index into the proposals array */
    int rule_index;     /* who proposed it */
    double requested;   /* STOP: price asked; REDUCE/ADD: qty asked (fraction
                           already applied), before rounding; HEDGE: the
                           signed qty asked */
    double price;       /* STOP: the new stop, on the tick */
    int step;           /* STOP: the lock-in step it reaches (the highest of
                           the stops it won over: a tighter stop locks at
                           least what a looser one does), 0 = none */
    double old_price;   /* STOP: the stop it replaces, 0 = none */
    double qty;         /* REDUCE/ADD/HEDGE: on the step, > 0; a full close:
                           the whole remaining quantity */
    int side;           /* HEDGE: +1 buy futures, -1 sell futures */
    bool full_close;    /* REDUCE: closes the whole position */
    double notional;    /* ADD/HEDGE: qty * mark */
    double margin;      /* ADD: notional / leverage, drawn from the budget */
    double after_qty;   /* REDUCE/ADD: the position's quantity once it fills,
                           on the step (0 after a full close); HEDGE: the
                           signed futures quantity once it fills */
} s6_plan_action;

typedef struct s6_plan_event {
    char name[S6_PROPOSAL_NAME_LEN];
    int proposal;
    int rule_index;
} s6_plan_event;

typedef struct s6_plan_reject {
    int proposal;       /* index into the proposals array */
    int rule_index;
    int kind;           /* as proposed, even if unknown */
    int code;           /* s6_reject_code */
    char reason[S6_PROPOSAL_REASON_LEN]; /* what was wrong, with the numbers */
} s6_plan_reject;

/* The merged result for one position. */
typedef struct s6_plan {
    int slot;               /* the position's slot (s6_pos_view.slot) */
    s6_plan_action stop;    /* at most one stop move */
    s6_plan_action reduce;  /* at most one reduce or full close */
    s6_plan_action add;     /* at most one add */
    s6_plan_action hedge;   /* at most one futures hedge order (SPOT) */
    /* Set when the plan reduces (partially) or adds: once that fills, the
     * stop must cover stop_qty, not the size it was placed for.  A stop
     * left at the old size after a partial take-profit is refused by the
     * exchange's reduce-only checks or over-closes. */
    bool stop_resize;
    double stop_qty;
    size_t n_events;
    s6_plan_event events[S6_PLAN_MAX_EVENTS];
    size_t n_rejects;       /* every dropped proposal has exactly one */
    s6_plan_reject rejects[S6_PLAN_MAX_PROPOSALS];
} s6_plan;

/* ---- the merge (guard.c feeds it; usable alone for tests and tools) ---- */

/* An empty plan for the position. */
void s6_plan_init(s6_plan *plan, int slot);

/* Records why a proposal was dropped (printf-style reason, truncated). */
void s6_plan_drop(s6_plan *plan, const s6_proposal *prop, int index,
                  int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Offers a proposal that passed its own checks; the loser of any contest
 * it enters is rejected with the reason.  props is the array the
 * candidate's index refers to (an event's name is read from it). */
void s6_plan_offer(s6_plan *plan, const s6_proposal *props, int side,
                   const s6_plan_action *cand);

/* Applies the cross-kind precedence once every proposal was offered:
 * a close drops the stop move, a reduce drops the add, a reduce or an
 * add drops the hedge, and a partial reduce asks for the stop to be
 * resized. */
void s6_plan_finish(s6_plan *plan);

/* The rejection record of proposal index, or NULL when it was accepted. */
const s6_plan_reject *s6_plan_find_reject(const s6_plan *plan, int index);

#ifdef __cplusplus
}
#endif
