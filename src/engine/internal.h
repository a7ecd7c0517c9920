/*
 * internal.h — the engine's insides, shared by its files:
 *   engine.c    life cycle, restore, resume, status
 *   book.c      the book: position records and slots, the market table,
 *               the lookups (util/str_index.c), the quota the book holds
 *   market.c    market input and hygiene, signals, the market view
 *   eval.c      the evaluation batch (protection first, the rules, the
 *               plans), the manage tick
 *   exec.c      the plan executor: plans to orders and events, the kill
 *               switch's hold, a rule's state put back
 *   orders.c    orders and the stop: build, send, retry
 *   results.c   order results and the router's outcomes
 *   reconcile.c reconciliation with the venue's view
 *   manage.c    manual actions; the manage answer and the position views
 *               as JSON
 *   emit.c      events, notes, saves, snapshots, metrics
 *   funding.c   funding payments: margin and realized PnL
 *   venue_books.c  the venue's entry and margin adopted
 *   risk_limits.c  entry limits, daily loss alert, concurrency, RISK_LIMIT
 *   history.c   fills into the history store's order rows
 *   margin.c    the margin ratio, its alert levels, MARGIN_CALL and the
 *               margin added to an isolated position
 *   record.c    the record codec; metrics.c the collected families;
 *   book_record.c  the engine's own record: today's PnL, the leftovers
 * Internal functions and types are prefixed e_.  Nothing here is part of
 * the interface.
 */
#pragma once

#include "engine/engine.h"
#include "util/str_index.h"
#include "contract/plan.h"
#include "contract/names.h"

/* A market order that keeps failing is re-sent no more often than every
 * this many ticks.  (A stop is retried on the protection cadence, never
 * backed off: s6_engine_protect.) */
enum { S6_ENGINE_BACKOFF_MAX_TICKS = 8 };
/* Without an as_of from S4, a view is used for an instrument only when no
 * result was applied for it this long before, and a discrepancy that
 * shrinks or closes only when two views in a row show it. */
#define S6_ENGINE_VIEW_QUIET_S 3.0
enum { S6_ENGINE_VIEW_AGREE = 2 };
/* A market order (TP, add, close, hedge) answered FAILED this many times
 * is abandoned: S4 could not be reached, the plan is stale by then. */
enum { S6_ENGINE_ORDER_MAX_ATTEMPTS = 5 };
/* ATRs between the entry and the first stop when the entry named none
 * (the atr_stop rule's default k). */
#define S6_ENGINE_FIRST_STOP_ATR_K 2.0

typedef struct e_pos {
    bool used;
    s6_engine_record rec;      /* rule_state_json unused in memory */
    int mkt;                   /* index into e->mkts */
    bool cancel_in_flight;     /* a cancel of stop.cancelling is out */
    bool place_in_flight;      /* stop.pending was sent, no outcome yet */
    unsigned closed_tick;      /* the tick it closed in (freed after) */
    char *state_before;        /* during an evaluation that may not carry
                                  out an action: the rule state before it */
    bool margin_in_flight;     /* rec.margin's add was sent, no answer yet */
    unsigned rearm_tick;       /* after a refused stop: no new one before
                                  this tick (S4 would refuse a stream of
                                  them; the guard covers meanwhile) */
    unsigned version;          /* moves at every save (engine-wide seq):
                                  a plan made before is stale */
    double touched;            /* clock of the last stop change: a view
                                  asked for before it does not repair the
                                  stop */
    unsigned flat_views;       /* fallback: views in a row without it */
    unsigned qty_views;        /* fallback: views in a row with qty_seen */
    double qty_seen;           /* the venue's quantity in the last view */
} e_pos;

typedef struct e_mkt {
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    const s6_symbol_cfg *sym;
    bool has;                  /* an update was accepted */
    double mark, last, mid, atr, health, ts;
    int regime;
    bool held;                 /* a jump waits for confirmation */
    bool stale_warned;         /* this run of stale updates was logged */
    double day_start, day_realized; /* realized PnL since 00:00 UTC */
    int open_slot;             /* the position open on it (one-way mode:
                                  at most one), -1 none; checked on use */
    double held_mark;
    char last_result[S6_RESULT_ID_MAX]; /* stream id of the last result
                                  applied for it (reconcile.c) */
    double last_result_at;     /* clock when it was applied */
    int signal_side;
    double signal_strength, signal_ts;
} e_mkt;

/* An order of ours S4 may still hold after its position let go of it (a
 * replaced or closed position's stop whose cancel failed, an order that
 * was withdrawn while it may have reached S4): cancelled again until S4
 * confirms it gone (orders.c, e_hunt). */
typedef struct e_leftover {
    char intent_id[S6_INTENT_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    bool in_flight;            /* a cancel is out */
    unsigned attempts;
} e_leftover;

struct s6_engine {
    const s6_config *cfg;
    s6_engine_edges edges;
    s6_log *log;
    s6_metrics *metrics;
    e_pos *pos;
    size_t n_pos, cap_pos;
    size_t free_hint;          /* no free slot below it */
    s6_index by_id;            /* pos_id -> slot */
    s6_index by_mkt;           /* "<market>:<symbol>" -> index into mkts */
    s6_index by_sym;           /* "<market>:<symbol>" -> cfg->symbols[i] */
    e_mkt *mkts;
    size_t n_mkts, cap_mkts;
    s6_engine_observer observer;
    void *observer_ud;
    bool (*blocks)(void *ud, const char *symbol, int purpose);
    void *blocks_ud;
    unsigned ticks;
    unsigned id_seq;           /* for assigned position ids */
    double last_tick, last_price;
    bool resumed;
    double day_start, day_realized; /* the daily loss limit's figures */
    double daily_loss_day;     /* the UTC day the daily loss alert fired */
    bool budget_over;          /* budget use over the RISK_LIMIT threshold */
    size_t n_open;             /* open positions, counted when !open_known:
                                  every change of state forgets the count */
    bool open_known;
    size_t stale_dropped, jumps_held;
    double reserved;           /* risk budget held by positions whose quota
                                  is not released (kept as they change: a
                                  sum over the book per plan would walk it) */
    char recent[64][S6_RESULT_ID_MAX]; /* non-fill results seen */
    unsigned n_recent;
    unsigned save_seq;         /* the last e_pos.version handed out */
    struct e_batch *flight;    /* the rule batch out, if any (eval.c) */
    unsigned *want;            /* by slot: S6_TRIG_* waiting for it */
    size_t want_cap;
    e_leftover *leftovers;     /* orders to cancel until S4 says gone */
    size_t n_leftovers, cap_leftovers;
    bool venue_failing;        /* the last router outcome was FAILED */
    struct e_text *texts;      /* the records' rule-versions texts */
};

/* engine.c */
double e_now(const s6_engine *e);
/* texts.c: *out = the engine's copy of s (NULL for NULL or ""). */
int e_text_intern(s6_engine *e, const char *s, const char **out);
size_t e_text_count(const s6_engine *e);
void e_texts_free(s6_engine *e);
/* Writes fmt (one %s: arg) into err; returns rc. */
int e_fail(char *err, size_t errlen, int rc, const char *fmt, const char *arg);
bool e_paused(s6_engine *e, const char *symbol, int purpose);
void e_release_quota(s6_engine *e, e_pos *p);
void e_close_done(s6_engine *e, e_pos *p, const char *why);
/* The state machine's move, refused and logged when illegal, a STATE
 * event when done. */
int e_transition(s6_engine *e, e_pos *p, s6_pos_state to, const char *why);

/* book.c */
e_pos *e_find(s6_engine *e, const char *pos_id);
e_pos *e_find_open(s6_engine *e, int market, const char *symbol);
e_pos *e_by_intent(s6_engine *e, const char *intent_id);
int e_mkt_index(s6_engine *e, int market, const char *symbol);
e_pos *e_new_pos(s6_engine *e, const char *id, const char *symbol,
                 int market, double leverage, char *err, size_t errlen);
void e_free_pos(s6_engine *e, e_pos *p);
int e_mkt_find(const s6_engine *e, int market, const char *symbol);
const s6_symbol_cfg *e_symbol(s6_engine *e, int market, const char *symbol);
size_t e_slot(const s6_engine *e, const e_pos *p);
const s6_symbol_cfg *e_sym(const s6_engine *e, const e_pos *p);
void e_reserve(s6_engine *e, e_pos *p, double budget);
/* The config's symbols by (market, name) into ix. */
int e_index_symbols(s6_index *ix, const s6_config *cfg);

/* emit.c: every event goes to pos:events, the observer and the
 * log; fmt builds the event's flat JSON object (json_pack format). */
void e_event(s6_engine *e, e_pos *p, const char *type, double value,
             const char *rule_version, const char *fmt, ...);
/* Rewrites doc's prices, quantities and money as exact decimal strings at
 * p's symbol's tick and step (util/exact.h). */
void e_exact(const s6_engine *e, const e_pos *p, json_t *doc);
void e_save(s6_engine *e, e_pos *p);
void e_snapshot(s6_engine *e, e_pos *p);
const char *e_store_kind(int purpose);
void e_count(s6_engine *e, const char *name, const char *l1, const char *l2);
void e_store_order(s6_engine *e, const e_pos *p, const char *intent,
                   const char *kind, const char *status, double price,
                   double qty);
int e_view(s6_engine *e, e_pos *p, s6_pos_view *v);
double e_target_exposure(s6_engine *e, const char *symbol);
/* The maintenance bracket (mmr, cum) of a notional; zeros without one. */
void e_bracket(const s6_symbol_cfg *sym, double notional, double *mmr,
               double *cum);
double e_guard_mark(const s6_engine *e, const e_pos *p);

/* orders.c*/
const char *e_purpose_name(int purpose);
int e_request_stop(s6_engine *e, e_pos *p, double price, double qty,
                   int step, const char *why);
int e_first_stop_price(s6_engine *e, e_pos *p, double sl_px, double *out);
void e_protect(s6_engine *e, e_pos *p);
int e_send_order(s6_engine *e, e_pos *p, int purpose, int side, double qty,
                 bool reduce_only, const char *plan_id, s6_inflight **out);
int e_resend(s6_engine *e, e_pos *p, s6_inflight *o);
void e_resend_stop(s6_engine *e, e_pos *p);
void e_send_cancel(s6_engine *e, e_pos *p);
void e_retry_due(s6_engine *e, e_pos *p);
s6_inflight *e_inflight_find(e_pos *p, const char *intent_id);
s6_inflight *e_inflight_of(e_pos *p, int purpose);
void e_inflight_drop(e_pos *p, s6_inflight *o);
void e_guard_close(s6_engine *e, e_pos *p, const char *why);
void e_cancel_stops(s6_engine *e, e_pos *p);
void e_add_reserved(void *cb_ud, bool ok);
int e_start_add(s6_engine *e, e_pos *p, double qty, double budget,
                const char *plan_id);

/* reconcile.c */
/* A result for (market, symbol) was applied: views older than it are
 * stale for that instrument. */
void e_note_result(s6_engine *e, const s6_order_result *r);

/* orders.c: the hunt for leftovers */
void e_leftover_add(s6_engine *e, const char *intent_id, const char *symbol,
                    int market);
void e_leftover_gone(s6_engine *e, const char *intent_id);
void e_leftover_failed(s6_engine *e, const char *intent_id);
void e_hunt(s6_engine *e);

/* book_record.c: today's PnL and the leftovers, saved whole */
void e_book_save(s6_engine *e);
/* The symbol has an open FUT position without a confirmed stop: orders
 * that add risk on it wait (design 4b). */
bool e_symbol_unprotected(s6_engine *e, const char *symbol);
/* Withdraws what a closing position still has queued or retrying. */
void e_withdraw_orders(s6_engine *e, e_pos *p);
/* An add's quota answer is still due: the release waits for it. */
bool e_quota_pending(const e_pos *p);

/* results.c */
void e_stop_placed(s6_engine *e, e_pos *p, const char *intent);
void e_stop_refused(s6_engine *e, e_pos *p, const char *intent,
                    const char *reason);
void e_stop_failed(s6_engine *e, e_pos *p, const char *intent,
                   const char *detail);
void e_order_dead(s6_engine *e, e_pos *p, s6_inflight *o, const char *what,
                  const char *reason);
void e_route_submit_done(void *cb_ud, const char *intent_id, int outcome,
                         const char *detail);
void e_route_cancel_done(void *cb_ud, const char *intent_id, int outcome,
                         const char *detail);

/* Today's realized PnL (UTC days) of the book and of one market. */
void e_day_pnl(s6_engine *e, e_mkt *mk, double delta);

/* venue_books.c: the venue's entry and isolated margin adopted beyond
 * the tolerances (reconciliation). */
void e_venue_books(s6_engine *e, e_pos *p, const s6_venue_position *vp);

/* risk_limits.c: the entry limits and the daily loss alert after a fill;
 * the daily loss alert alone (funding); the concurrency quota add-ons
 * respect; RISK_LIMIT on the budget use (the tick). */
void e_risk_after_fill(s6_engine *e, e_pos *p, int effect);
void e_daily_loss_watch(s6_engine *e, e_pos *p);
bool e_concurrency_ok(s6_engine *e);
void e_budget_watch(s6_engine *e);

/* history.c: a fill into its order's row of the history store (before
 * the in-flight order moves). */
void e_history_fill(s6_engine *e, e_pos *p, const s6_fill *f);

/* funding.c: a FUNDING result (0 applied, ignored or a duplicate). */
int e_on_funding(s6_engine *e, const s6_order_result *r, char *err,
                 size_t errlen);

/* market.c */
bool e_market_fresh(const s6_engine *e, const e_mkt *m);
void e_mkt_view(const s6_engine *e, const e_mkt *m, int trigger,
                s6_mkt_view *v);

/* eval.c */
/* Evaluates the batch; while another is out (rules answered later), the
 * protective part runs now and the rules when that one is back. */
int e_evaluate(s6_engine *e, e_pos **ps, size_t n, int trigger);
/* The batch out, answered now (POST /positions/manage evaluates at once). */
void e_rules_settle(s6_engine *e);
void e_rules_free(s6_engine *e);
/* The ACTIVE positions of one market (mi >= 0), of a symbol on both
 * markets, or all of them (mi < 0, symbol NULL), evaluated as one batch. */
int e_evaluate_where(s6_engine *e, int mi, const char *symbol, int trigger);
bool e_replan_unheld(s6_engine *e, e_pos *p, const s6_pos_view *v,
                     const s6_mkt_view *m, const s6_proposal *props, size_t n,
                     s6_plan *out, s6_proposal *kept, size_t *nkept);
int e_limits(s6_engine *e, e_pos *p, s6_symbol_filters *f, s6_limits *lim,
             bool manual_loosen);

/* margin.c */
/* The exchange's margin ratio of a FUT position at the mark (+inf when its
 * margin balance is gone); S6_EINVAL for SPOT or an empty position. */
int e_margin_ratio(const s6_engine *e, const e_pos *p, double *out);
/* Alert levels, MARGIN_CALL and the margin add, after each evaluation. */
void e_margin_watch(s6_engine *e, e_pos *p);
/* On the tick: resend an unanswered margin add with its key. */
void e_margin_tick(s6_engine *e, e_pos *p);

/* exec.c */

/* What a plan did, as data, for the manage endpoint's answer (manage.c
 * renders it as docs/contracts/manage.md shows). */
enum { E_EXEC_MAX_ACTIONS = 4 + S6_PLAN_MAX_EVENTS, E_EXEC_MAX_ORDERS = 4 };

typedef struct e_exec_action {
    const char *action;        /* "STOP_MOVE", "TAKE_PROFIT", ..., "EVENT" */
    bool has_old;              /* else old_value is null */
    double old_value, new_value;
    bool is_event;             /* new_value is the event's name */
    char name[S6_PROPOSAL_NAME_LEN];
    char reason[S6_PROPOSAL_REASON_LEN];
} e_exec_action;

typedef struct e_exec_order {
    bool has_intent;           /* a dry run names no key */
    char intent_id[S6_INTENT_ID_MAX + 1];
    int purpose, type, side;
    double qty, stop_price;
    bool reduce_only;
} e_exec_order;

typedef struct e_exec_reduce { double qty, after_qty; bool full_close; } e_exec_reduce;
typedef struct e_exec_add { double qty, notional, margin; } e_exec_add;

typedef struct e_exec_view {
    bool executed;             /* a plan went through e_exec_plan */
    bool has_plan_id;          /* a dry run has none */
    char plan_id[40];
    char position_id[S6_POS_ID_MAX + 1];
    size_t n_actions;
    e_exec_action actions[E_EXEC_MAX_ACTIONS];
    bool has_reduce, has_add;
    e_exec_reduce reduce;
    e_exec_add add;
    size_t n_orders;
    e_exec_order orders[E_EXEC_MAX_ORDERS];
} e_exec_view;

/* out: NULL, or what the plan did for the manage answer. */
int e_exec_plan(s6_engine *e, e_pos *p, const s6_plan *plan,
                const s6_proposal *props, size_t nprops,
                const char *versions_json, bool dry_run, e_exec_view *out);
/* The rule state before an evaluation, to put a rule's part back when
 * its action is not carried out (paused, one in flight). */
void e_keep_state(s6_engine *e, e_pos *p);
void e_rule_not_done(s6_engine *e, e_pos *p, int rule_index);
void e_drop_state(e_pos *p);
