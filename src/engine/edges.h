/*
 * edges.h — the engine's ports: the order router (S4, paper), the state
 * edge (Redis, memory) with the record it persists, the rules edge (the
 * Lua rule service, the native reference), the clock, and the types they
 * carry (order results, market updates, orders, the venue's view).
 *
 * The edges include this header, never engine.h: they implement or feed
 * a port and need nothing of the engine itself.  No jansson here: a
 * record crosses as text (s6_engine_record_encode/decode).
 *
 * Threading: one thread, the loop's.  Re-entrancy: an edge never calls back
 * into the engine from inside an engine call; a router delivers its outcome
 * later (from the loop, or from the replay driver's pump).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/decide.h"
#include "contract/names.h"
#include "contract/position.h"
#include "contract/s6_rule_abi.h"
#include "contract/stop.h"

struct s6_store;

/* ------------------------------------------------------------------ */
/* Order results: what S4 (or the paper router) reports on ord:{results} */

typedef enum s6_result_kind {
    S6_RES_ACCEPTED = 1, /* the order rests on the exchange (a stop: armed) */
    S6_RES_FILL,         /* a partial or full fill: fill is set */
    S6_RES_REJECTED,     /* refused for good; reason says why */
    S6_RES_CANCELED,     /* cancelled or expired; nothing more will fill */
    S6_RES_FUNDING,      /* a funding payment settled on a FUT position:
                            funding_amount, funding_rate, ts */
    S6_RES_KIND_COUNT
} s6_result_kind;

/* Why a REJECTED or CANCELED order ended, for code to act on; reason keeps
 * S4's words for people (docs/contracts/order-results.md, `code`). */
typedef enum s6_result_code {
    S6_RCODE_NONE = 0,             /* not a refusal, or no cause named */
    S6_RCODE_INSUFFICIENT_BALANCE, /* the treasury's event trigger */
    S6_RCODE_REDUCE_ONLY_REJECTED,
    S6_RCODE_UNKNOWN,              /* a code this S6 does not know */
    S6_RCODE_COUNT
} s6_result_code;

typedef struct s6_order_result {
    int kind;                           /* s6_result_kind */
    char result_id[S6_RESULT_ID_MAX];   /* unique per result (replays refused) */
    char intent_id[S6_INTENT_ID_MAX + 1]; /* "" for orders S6 cannot name */
    char pos_id[S6_POS_ID_MAX + 1];     /* "" unless the intent carried one */
    char symbol[S6_SYMBOL_MAX + 1];
    int market;                         /* S6_MARKET_* */
    s6_fill fill;                       /* S6_RES_FILL only */
    char reason[96];                    /* REJECTED/CANCELED: S4's words,
                                           e.g. "insufficient_balance" */
    int code;                           /* s6_result_code */
    /* An entry intent's extras (upstream put them on the entry order). */
    double sl_px;                       /* first stop asked for, 0 = none */
    double leverage;                    /* 0 = the symbol's default */
    double risk_reserved;               /* quote reserved in risk:{budget} */
    int concurrency_reserved;           /* slots reserved in risk:{concurrency} */
    /* FUNDING: quote received (> 0) or paid (< 0) by the position, and
     * the funding rate it was settled at. */
    double funding_amount, funding_rate;
    double ts;                          /* seconds */
    /* The entry's id on ord:{results} ("ms-seq"), set by the consumer,
     * "" when the result did not come from the stream (replay, tests):
     * what a venue view's as_of is compared with (reconcile.c). */
    char stream_id[S6_RESULT_ID_MAX];
} s6_order_result;

/* ------------------------------------------------------------------ */
/* Market data and signals                                            */

typedef struct s6_market_update {
    double ts;       /* seconds, when the feed produced it */
    double mark;     /* > 0 */
    double last;     /* > 0, or 0 = unknown (mark used) */
    double mid;      /* > 0, or 0 = unknown (mark used) */
    double atr;      /* NaN or 0 = unknown */
    int regime;      /* index into config rules.regimes, -1 = unchanged */
    double health;   /* 0..1, NaN = unchanged */
} s6_market_update;

/* ------------------------------------------------------------------ */
/* Edge: the order router (S4, paper)                                 */

typedef enum s6_order_type { S6_ORDER_MARKET = 1, S6_ORDER_STOP_MARKET } s6_order_type;

/* What an order is for: s6_order_purpose, in contract/names.h. */

typedef struct s6_order {
    char intent_id[S6_INTENT_ID_MAX + 1]; /* the idempotency key */
    char pos_id[S6_POS_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;              /* S6_MARKET_* */
    int type;                /* s6_order_type */
    int purpose;             /* s6_order_purpose */
    int side;                /* +1 buy, -1 sell */
    bool reduce_only;
    double qty;              /* on the step */
    double stop_price;       /* STOP_MARKET: on the tick; else 0 */
    char qty_str[32];        /* exact decimal at the symbol's step */
    char price_str[32];      /* exact decimal at the tick, "" for market */
    char plan_id[40];        /* the plan it belongs to, "" for none */
} s6_order;

typedef enum s6_route_outcome {
    S6_ROUTE_OK = 0,      /* S4 took it (an order) or it is gone (a cancel) */
    S6_ROUTE_REJECTED,    /* S4 refused it for good (4xx, venue rejection) */
    S6_ROUTE_FAILED,      /* no answer after the retries: state unknown,
                             the engine may retry later with the same key */
    S6_ROUTE_OUTCOME_COUNT
} s6_route_outcome;

/* detail: S4's words or the transport error, for the log. */
typedef void (*s6_route_done)(void *cb_ud, const char *intent_id,
                              int outcome, const char *detail);

/* Margin added to an isolated position from the futures wallet (S4
 * POST /positions/margin, the exchange's add-isolated-margin). */
typedef struct s6_margin_order {
    char intent_id[S6_INTENT_ID_MAX + 1]; /* the idempotency key */
    char pos_id[S6_POS_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;              /* S6_MARKET_FUT */
    double amount;           /* quote, > 0, whole cents */
    char amount_str[32];     /* the same, exact, two decimals */
} s6_margin_order;

typedef struct s6_router {
    /* 0: done runs exactly once, later, never from inside the call. */
    int (*submit)(void *ud, const s6_order *o, s6_route_done done,
                  void *cb_ud);
    int (*cancel)(void *ud, const char *intent_id, const char *symbol,
                  int market, s6_route_done done, void *cb_ud);
    /* The same contract; NULL when the venue cannot add margin. */
    int (*add_margin)(void *ud, const s6_margin_order *m, s6_route_done done,
                      void *cb_ud);
    void *ud;
} s6_router;

/* ------------------------------------------------------------------ */
/* Edge: persisted state and announcements (Redis, memory)            */

/* An order of the position that has not finished: sent and not yet
 * answered, answered FAILED and waiting for its retry, or taken and waiting
 * for its fill.  Persisted with the record so a restart re-sends it with the
 * same key instead of inventing a new order.  (Stops live in s6_stop.) */
typedef enum s6_inflight_status {
    S6_INF_SENT = 1,     /* submitted, no outcome yet */
    S6_INF_FAILED,       /* no answer after S4's retries: re-sent on a tick */
    S6_INF_TAKEN,        /* S4 took it (S6_ROUTE_OK / ACCEPTED): fills due */
    S6_INF_RESERVING,    /* ADD: quota asked for, not yet answered (not
                            sent; a restart drops it: the plan is stale) */
    S6_INF_STATUS_COUNT
} s6_inflight_status;

enum { S6_ENGINE_MAX_INFLIGHT = 8 };

typedef struct s6_inflight {
    char intent_id[S6_INTENT_ID_MAX + 1];
    int purpose;          /* s6_order_purpose (not STOP) */
    int market;           /* S6_MARKET_*: a hedge goes to FUT */
    int side;             /* +1 buy, -1 sell */
    bool reduce_only;
    double qty;           /* ordered, on the step */
    double filled;        /* filled so far */
    double budget;        /* ADD: quote reserved for it (released if it dies) */
    int status;           /* s6_inflight_status */
    unsigned attempts;    /* sends so far */
    unsigned retry_tick;  /* FAILED: the tick count at which to re-send */
    char plan_id[40];
} s6_inflight;

/* The margin watch of a FUT position (engine.md, "Margin"): the alert
 * level reached and the margin add in flight, persisted so a restart
 * re-sends an unanswered add with its key instead of making a second. */
typedef enum s6_margin_level {
    S6_MARGIN_OK = 0,
    S6_MARGIN_ALERT,      /* ratio >= risk.margin_alert_ratio */
    S6_MARGIN_CALL,       /* ratio >= treasury.triggers.margin_call.threshold */
    S6_MARGIN_LEVEL_COUNT
} s6_margin_level;

typedef struct s6_margin_state {
    int level;                /* s6_margin_level, as last announced */
    char intent_id[S6_INTENT_ID_MAX + 1]; /* the add in flight, "" none */
    double amount;            /* its amount, quote */
    int status;               /* s6_inflight_status (SENT, FAILED) */
    unsigned attempts;        /* sends so far */
    unsigned retry_tick;      /* FAILED: the tick of the next send */
    double last_add_at;       /* when the last add was asked for */
    double added;             /* margin added over the position's life */
} s6_margin_state;

/* A position made from the venue's view before its ENTRY result was read:
 * kept in the record, so an engine restarted meanwhile still takes that
 * ENTRY over instead of merging it into the quantity the view brought. */
typedef struct s6_adoption {
    bool waiting;                 /* no ENTRY result taken over yet */
    char as_of[S6_RESULT_ID_MAX]; /* the adopting view's as_of, "" none */
} s6_adoption;

/* The longest rule-versions text a record holds, with its NUL.  One copy
 * per distinct text is kept engine-wide, so the limit can be roomy: the
 * names and hashes of 64 rules fit. */
enum { S6_RULE_VERSIONS_MAX = 4096 };

/* What the engine persists per position: enough to rebuild it. */
typedef struct s6_engine_record {
    s6_position pos;
    s6_stop stop;
    int tp_step;
    double best_price;
    double risk_reserved;
    int concurrency_reserved;
    bool quota_released;
    char last_plan_id[40];
    /* JSON {"rule":"hash",...} of the last plan, NULL = none.  The same
     * text for every position the same rule set planned: the engine keeps
     * one copy of each (texts.c), a decoded record owns its own. */
    const char *rule_versions;
    /* Orders in flight (TP, add, close, hedge) and the stop's retry. */
    size_t n_inflight;
    s6_inflight inflight[S6_ENGINE_MAX_INFLIGHT];
    bool stop_retry;          /* the pending stop failed: re-send, same key */
    unsigned stop_retry_tick;
    bool stop_needed;         /* no stop asked for yet (first stop, re-arm) */
    bool stop_resize;         /* after a fill: the stop must cover qty */
    bool liq_alerted;         /* inside the alert distance (once per crossing) */
    bool guard_alerted;       /* the unconfirmed-stop alert was raised */
    double mark;              /* last accepted mark (for views after restart) */
    double atr;               /* last ATR from the feed, 0 = unknown */
    s6_margin_state margin;   /* absent in older records: zeros */
    s6_adoption adoption;     /* absent in older records: none */
    /* Rule state JSON per rule name: {"trailing_stop":{...},...}; owned by
     * the caller of load, borrowed in save. */
    const char *rule_state_json;
} s6_engine_record;

/* The record as one JSON object, persisted whole next to the spec's keys
 * (docs/contracts/redis-state.md).  encode: malloc'd text, NULL on ENOMEM.
 * decode: validates every field; *rule_state (malloc'd, may be NULL) gets
 * the rule-state JSON the record's rule_state_json points to. */
char *s6_engine_record_encode(const s6_engine_record *rec);
int s6_engine_record_decode(const char *json, s6_engine_record *rec,
                            char **rule_state, char *err, size_t errlen);
/* Frees what a decoded record owns (its rule state and rule versions). */
void s6_engine_record_release(s6_engine_record *rec);

typedef struct s6_state_edge {
    /* Persists the record (Redis: the pos:{sl}/{tp}/{adds} keys, the
     * rule-state hash and the full record); ordered after earlier calls. */
    int (*save)(void *ud, const s6_engine_record *rec);
    /* Appends one event to pos:events:{symbol}: type (e.g. "STOP_MOVED",
     * "TP_FILLED", "STAGNATED"), json: a flat JSON object of fields. */
    int (*event)(void *ud, const char *symbol, const char *pos_id,
                 const char *type, const char *json);
    /* XADD to a named stream (risk:sl_arm, guard:spot:arm, strategy_events):
     * n field/value pairs. */
    int (*announce)(void *ud, const char *stream, const char *const *fields,
                    size_t n);
    /* Reserves quota for an add-on, atomically; done(ok) later. */
    int (*quota_reserve)(void *ud, const char *pos_id, double budget,
                         int concurrency,
                         void (*done)(void *cb_ud, bool ok), void *cb_ud);
    /* Releases exactly what the position reserved, once (a marker keyed
     * by pos_id makes a second call a no-op). */
    int (*quota_release)(void *ud, const char *pos_id, double budget,
                         int concurrency);
    /* Persists the engine's own record beside the positions' (today's
     * realized PnL and its day, the leftovers: s6_engine_book_encode),
     * replaced whole and ordered after earlier calls; kept until durable
     * like a save.  NULL: not persisted (a restart starts the day at 0). */
    int (*book_save)(void *ud, const char *json);
    /* Calls done(ok) once everything asked for so far is durable: the
     * result consumer acknowledges a result only then. */
    int (*barrier)(void *ud, void (*done)(void *cb_ud, bool ok),
                   void *cb_ud);
    void *ud;
} s6_state_edge;

/* ------------------------------------------------------------------ */
/* Edge: rules (the Lua rule host, or the native reference)           */

typedef struct s6_rules_edge {
    /* Evaluates the batch and calls hooks->plan once per planned
     * position (s6_rules_svc_run, or s6_native_eval + s6_decide_batch). */
    int (*run)(void *ud, const s6_pos_view *pos, const s6_mkt_view *mkt,
               size_t n, const s6_decide_hooks *hooks,
               s6_decide_stats *stats);
    /* Optional: the same without waiting.  *pending true: the batch left;
     * later, from the loop, the plans reach hooks (hooks->current asked
     * first, per position) and done(cb_ud, rc) runs.  *pending false: it
     * ran here as run does (rc its result, done not called).  One batch
     * at a time; pos, mkt, stats and hooks->ud live until done. */
    int (*start)(void *ud, const s6_pos_view *pos, const s6_mkt_view *mkt,
                 size_t n, const s6_decide_hooks *hooks,
                 s6_decide_stats *stats, void (*done)(void *cb_ud, int rc),
                 void *cb_ud, bool *pending);
    /* The batch in flight, now (at most its hard limit): settle delivers
     * it (done runs inside), cancel drops it (done never runs). */
    void (*settle)(void *ud);
    void (*cancel)(void *ud);
    /* The rule state of one position (slot) as one JSON object keyed by
     * rule name, for save; and the restore.  NULL when stateless. */
    char *(*state_get)(void *ud, int slot);
    int (*state_put)(void *ud, int slot, const char *json);
    void (*state_drop)(void *ud, int slot);
    /* Moves whenever the slot's state changes (NULL: never asked), so the
     * engine persists a state a rule changed without proposing anything. */
    unsigned (*state_gen)(void *ud, int slot);
    /* The rule's name for the id a proposal carries ("trailing_stop"),
     * NULL when unknown; for the record's rule versions. */
    const char *(*rule_name)(void *ud, int rule_id);
    /* The position a slot holds, before each view of it is evaluated
     * (NULL: rules see no id or symbol); cheap when nothing changed. */
    void (*slot_named)(void *ud, int slot, const char *id,
                       const char *symbol);
    int max_slots;            /* slots the state holds; 0 = no limit */
    void *ud;
} s6_rules_edge;

/* ------------------------------------------------------------------ */
/* Edge: the treasury (docs/treasury.md, "Triggers")                 */

typedef struct s6_treasury_edge {
    /* Raises a trigger by name ("MARGIN_CALL", "RISK_LIMIT",
     * "PROFIT_TAKING"): amount in quote, 0 = let the treasury compute the
     * need; reported = the figure its threshold guard checks (the margin
     * ratio, the budget use; NaN: none).  NULL: no treasury (replay). */
    int (*raise)(void *ud, const char *trigger, double amount,
                 double reported);
    void *ud;
} s6_treasury_edge;

typedef struct s6_clock {
    double (*now)(void *ud); /* seconds */
    void *ud;
} s6_clock;

typedef struct s6_engine_edges {
    s6_router router;
    s6_state_edge state;
    s6_rules_edge rules;
    s6_clock clock;
    s6_treasury_edge treasury;
    struct s6_store *store;    /* history; NULL: none (replay) */
} s6_engine_edges;

/* ------------------------------------------------------------------ */
/* Reconciliation with the venue's view (S4 GET /positions, /open-orders) */

typedef struct s6_venue_position {
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    int side;       /* +1/-1 */
    double qty;     /* > 0 */
    double entry;
    double margin;  /* the venue's isolated margin, 0 = not given */
} s6_venue_position;

typedef struct s6_venue_order {
    char intent_id[S6_INTENT_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    int type;        /* s6_order_type */
    int side;
    double qty;
    double stop_price;
} s6_venue_order;

typedef struct s6_venue_view {
    const s6_venue_position *positions;
    size_t n_positions;
    const s6_venue_order *orders;
    size_t n_orders;
    /* Freshness (docs/engine.md "The venue's view and the results"): the
     * as_of of the positions and of the open orders (the last
     * ord:{results} id S4 had published when it answered; "" = S4 did not
     * say), and how far the results consumer has read ("" = unknown). */
    const char *as_of_positions;
    const char *as_of_orders;
    const char *results_read;
    /* The clock (s6_clock) when the view was asked for, 0 = unknown: a
     * position whose stop changed since then gets no stop repair from it
     * (fills are ordered by the stream ids instead). */
    double taken_at;
} s6_venue_view;
