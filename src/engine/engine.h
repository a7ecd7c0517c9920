/*
 * engine.h — the position engine: positions from order results, rule
 * evaluation on prices and on the manage tick, plans turned into orders,
 * the protective stop kept at all times (docs/engine.md).
 *
 * One engine, swappable edges.  The engine never touches a socket, a file
 * or the wall clock: it reaches the order router (S4 over HTTP, or the
 * paper router), the state it persists (Redis, or memory), the history
 * store and the clock through the small tables of edges.h (the ports), so
 * the service and `s6-position replay` run the very same engine.
 *
 * Threading: one thread, the loop's.  Re-entrancy: an edge never calls back
 * into the engine from inside an engine call; a router delivers its outcome
 * later (from the loop, or from the replay driver's pump).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "engine/edges.h"
#include "metrics/metrics.h"
#include "util/json_out.h"
#include "util/log.h"

typedef struct s6_engine s6_engine;

/* ------------------------------------------------------------------ */
/* Observers: what happened, for the replay timeline and tests.       */

typedef struct s6_engine_note {
    double ts;
    const char *pos_id;
    const char *symbol;
    const char *type;     /* the event type, as appended to pos:events */
    double price;         /* mark at the time */
    double roe;
    double value;         /* the event's number: new stop, qty filled... */
    const char *rule_version; /* "name@hash" of the rule behind it, or "" */
    const char *json;     /* the event's fields */
} s6_engine_note;

typedef void (*s6_engine_observer)(void *ud, const s6_engine_note *n);

/* ------------------------------------------------------------------ */
/* Life cycle and inputs                                              */

/* cfg must outlive the engine until s6_engine_reconfigure swaps it. */
int s6_engine_new(const s6_config *cfg, const s6_engine_edges *edges,
                  s6_log *log, s6_metrics *metrics, s6_engine **out,
                  char *err, size_t errlen);
void s6_engine_free(s6_engine *e);
int s6_engine_reconfigure(s6_engine *e, const s6_config *cfg);
void s6_engine_observe(s6_engine *e, s6_engine_observer fn, void *ud);

/* Restart: positions as persisted (before any input).  Stops that are
 * missing or unconfirmed are re-armed on the next s6_engine_resume. */
int s6_engine_restore(s6_engine *e, const s6_engine_record *recs, size_t n,
                      char *err, size_t errlen);
/* Restart: the engine's own record (book_save's JSON: today's realized
 * PnL, the daily loss alert's day, the leftovers), after
 * s6_engine_restore and before any input; NULL or "" = none.  A figure
 * of an earlier UTC day is dropped (a new day starts at 0); the
 * leftovers are cancelled again from the first protection pass on.  A
 * bad record changes nothing and names the field. */
int s6_engine_restore_book(s6_engine *e, const char *json, char *err,
                           size_t errlen);
/* The engine's own record as book_save gets it (malloc'd; NULL: ENOMEM). */
char *s6_engine_book_encode(const s6_engine *e);
/* Restore and reconciliation done: act (re-arm stops, finish plans). */
int s6_engine_resume(s6_engine *e);

/* One order result; 0 applied or a duplicate, < 0 refused (logged, nothing
 * changed).  Call barrier on the state edge before acknowledging it. */
int s6_engine_on_result(s6_engine *e, const s6_order_result *r, char *err,
                        size_t errlen);
/* A price update: hygiene (age, jump hold), then evaluation of the
 * symbol's positions at once. */
int s6_engine_on_market(s6_engine *e, const char *symbol, int market,
                        const s6_market_update *m);
/* A strategy signal for add-ons: side +1/-1. */
int s6_engine_on_signal(s6_engine *e, const char *symbol, int side,
                        double strength, double ts);
/* The manage tick: every position evaluated; liquidation alerts; stuck
 * in-flight orders retried. */
int s6_engine_tick(s6_engine *e);

/* ------------------------------------------------------------------ */
/* Reconciliation with the venue's view (edges.h: s6_venue_view)       */

/* Compares the book with the venue and repairs it: stops the venue holds
 * become confirmed, stops it lacks are re-armed, a position the venue no
 * longer has is closed, a quantity that differs is logged and adopted.
 * Only where the view is fresh (docs/engine.md "The venue's view and the
 * results"); S6_ENOTREADY, nothing done, when the view is ahead of the
 * results read (v->results_read before its as_of): ask again later. */
int s6_engine_reconcile(s6_engine *e, const s6_venue_view *v);

/* The protection pass, on a short fixed cadence of its own (the service
 * runs it every second): stops that failed are sent again, leftovers are
 * cancelled again, positions without a stop get one.  Cheap when all is
 * in order. */
int s6_engine_protect(s6_engine *e);

/* ------------------------------------------------------------------ */
/* Manual actions (POST /positions/manage) and queries                */

typedef enum s6_manage_action {
    S6_MANAGE_STOP_MOVE = 1,
    S6_MANAGE_TAKE_PROFIT,
    S6_MANAGE_ADD,
    S6_MANAGE_CLOSE,
    S6_MANAGE_EVALUATE
} s6_manage_action;

/* An idempotency key of a manual action: at most this many characters. */
#define S6_MANAGE_KEY_MAX 64

typedef struct s6_manage_req {
    char position_id[S6_POS_ID_MAX + 1];
    char symbol[S6_SYMBOL_MAX + 1];   /* "" = any; else must match */
    int market;                       /* -1 = any */
    int action;                       /* s6_manage_action */
    double new_stop_price;            /* STOP_MOVE */
    double qty;                       /* TAKE_PROFIT (or fraction), ADD */
    double fraction;
    bool loosen;                      /* STOP_MOVE may loosen (logged) */
    bool dry_run;
    char reason[96];
    char request_id[40];
    /* The body's action_id: the HTTP layer's idempotency key (docs/api.md);
     * the engine does not read it. */
    char action_id[S6_MANAGE_KEY_MAX + 1];
} s6_manage_req;

typedef struct s6_api_error {
    int status;          /* 400, 404, 409, 423 (paused), 503 */
    char code[32];       /* "unknown_position", "invalid_field", ... */
    char field[48];
    char message[200];
} s6_api_error;

/* The spec's response {plan:{plan_id, position_id, actions, reduce, adds},
 * orders:[...]} (docs/contracts.md).  On error *out is NULL and err set. */
int s6_engine_manage(s6_engine *e, const s6_manage_req *req, json_t **out,
                     s6_api_error *err);
/* The same answer written straight into w (the HTTP route: no tree), and
 * the plan's id (empty for a dry run) into plan_id when it is not NULL.
 * On error nothing is written and err is set. */
int s6_engine_manage_write(s6_engine *e, const s6_manage_req *req,
                           s6_jw *w, char *plan_id, size_t plan_id_len,
                           s6_api_error *err);

/* GET /positions: an array of the open positions; /positions/{id}: one
 * position (closed ones too while the engine still holds them), NULL when
 * the id is unknown.  Shapes: docs/contracts/manage.md. */
json_t *s6_engine_positions_json(s6_engine *e);
json_t *s6_engine_position_json(s6_engine *e, const char *pos_id);
/* The same written straight into w (the HTTP routes: no tree); the one
 * position answers -ENOENT, writing nothing, for an unknown id. */
void s6_engine_positions_write(s6_engine *e, s6_jw *w);
int s6_engine_position_write(s6_engine *e, const char *pos_id, s6_jw *w);

/* For /health and metrics. */
typedef struct s6_engine_status {
    size_t positions;         /* not CLOSED */
    size_t unprotected;       /* no confirmed stop (guard active) */
    double last_tick;         /* clock seconds, 0 = never */
    double last_price;        /* clock seconds of the last market update */
    bool resumed;
    size_t stale_dropped;     /* updates older than market_data.max_age_s */
    size_t jumps_held;        /* marks held for confirmation */
} s6_engine_status;
void s6_engine_get_status(const s6_engine *e, s6_engine_status *st);

/* The catalogue's collected families (s6_positions by state, market and
 * symbol; unrealized and today's realized PnL; the risk budget and
 * concurrency held and their limits; liquidation distances), for
 * s6_metrics_add_collector(m, s6_engine_collect, engine).  The engine must
 * outlive every render of m. */
int s6_engine_collect(s6_metrics *m, void *ud);

/* The kill switch (app/control.h decides; the engine asks). */
void s6_engine_set_pause(s6_engine *e,
                         bool (*blocks)(void *ud, const char *symbol,
                                        int purpose),
                         void *ud);
