/*
 * engine_fixture.h — the engine on in-memory edges for its suites: a fake
 * router that records every order and cancel and lets the test answer
 * them, the in-memory state edge, a clock the test moves, and the repo's
 * Lua rules (rules/) through the rules_svc edge.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "rules/service.h"
#include "engine/engine.h"
#include "engine/mem_state.h"
#include "util/buf.h"

enum { FX_MAX_CALLS = 512 };

typedef struct fx_call {
    bool cancel;           /* a cancel, else a submit */
    s6_order o;            /* submit: the order; cancel: intent and symbol */
    s6_route_done done;
    void *cb_ud;
    bool answered;
} fx_call;

typedef struct fx_router {
    fx_call calls[FX_MAX_CALLS];
    size_t n;
} fx_router;

typedef struct fx {
    s6_config cfg;
    s6_log log;
    s6_buf logs;
    s6_metrics *metrics;
    s6_mem_state *ms;
    fx_router router;
    double now;
    s6_rules_svc rs;
    s6_rules_edge rules;
    s6_engine *e;
    char pos_id[S6_POS_ID_MAX + 1]; /* the position the test follows */
    unsigned rid;                    /* result ids */
    struct s6_store *store;          /* history, NULL: none (set, then
                                        fx_restart, to give the engine one) */
    /* what the engine raised with the treasury edge */
    unsigned raised;
    char raised_trigger[24];
    double raised_reported;
    /* the engine's rules edge made from the Lua one (NULL: that one) */
    s6_rules_edge (*wrap)(s6_rules_edge inner);
} fx;

/* Engine on the rules of rules/ with params_json as the config's
 * rules.params (NULL: the shipped defaults). */
void fx_setup(fx *f, const char *params_json);
/* The same with the engine's rules edge made by wrap from the Lua one
 * (a test's edge that answers later). */
void fx_setup_wrapped(fx *f, const char *params_json,
                      s6_rules_edge (*wrap)(s6_rules_edge inner));
void fx_teardown(fx *f);
/* A new engine on the same state, clock and rules (the old one freed):
 * restore from the saved records and the book record, then resume.  The
 * router is emptied first so what the new engine sends is all that is in
 * it. */
void fx_restart(fx *f);
/* The same, answering the engine's own record's restore: on an error
 * (book_err says what) the new engine is left without resuming. */
int fx_restart_rc(fx *f, char *book_err, size_t errlen);

/* Inputs. */
int fx_fill(fx *f, const char *intent, int kind, int side, double qty,
            double price, double fee, double sl_px);
int fx_result(fx *f, int kind, const char *intent, const char *reason);
int fx_price(fx *f, double mark);
int fx_price_spot(fx *f, double mark, double mid);
int fx_tick(fx *f);

/* The router's calls. */
size_t fx_count(const fx *f, int purpose, bool cancel);
fx_call *fx_last(fx *f, int purpose, bool cancel);
fx_call *fx_find(fx *f, const char *intent, bool cancel);
/* Answers one call's outcome (once). */
void fx_answer(fx *f, fx_call *c, int outcome);
/* Answers every call not yet answered with outcome. */
size_t fx_answer_all(fx *f, int outcome);

/* Follows the first open position. */
void fx_follow(fx *f);
/* The followed position as JSON (owned by the caller). */
json_t *fx_pos(fx *f);
double fx_num(fx *f, const char *path);
size_t fx_events(const fx *f, const char *type);
/* The fields (JSON) of the last event of a type, NULL when none. */
const char *fx_last_event(const fx *f, const char *type);
double fx_counter(fx *f, const char *name, const char *l1, const char *l2);
/* Today's realized PnL of FUT BTCUSDT (the s6_realized_pnl gauge). */
double fx_realized_today(fx *f);
