/*
 * app_engine.h — a real engine behind the in-process service (fixture.h):
 * the shipped config, the repo's Lua rules, the in-memory state edge, a
 * clock the test sets, and a small fake router that records every order
 * and cancel and answers them when the test settles it, as S4 would: OK,
 * and a stop ACCEPTED on the result stream.  Everything here runs on the fixture's loop thread; the test
 * thread reaches it through fx_call.  The HTTP benchmark's server
 * (tests/bench/http) runs the same engine.
 */
#pragma once

#include "rules/service.h"
#include "engine/engine.h"
#include "fixture.h"
#include "engine/mem_state.h"

enum { AE_MAX_CALLS = 256 };

typedef struct ae_call {
    bool cancel;
    s6_order o;
    s6_route_done done;
    void *cb_ud;
    bool answered;
} ae_call;

typedef struct app_engine {
    s6_mem_state *ms;
    s6_rules_svc rs;
    s6_rules_edge rules;
    s6_engine *e;
    double now;
    ae_call calls[AE_MAX_CALLS];
    size_t n_calls;
    unsigned rid;
    char pos_id[S6_POS_ID_MAX + 1]; /* the position seeded */
} app_engine;

/* Builds the engine on cfg (which must outlive it) and attaches it to the
 * started app (s6_app_set_engine, and the app's clock).  0 or -1 (the
 * reason on stderr). */
int ae_start(app_engine *ae, s6_app *app, s6_log *log, const s6_config *cfg);
/* fx_opts.before: ae_start on the fixture's service and config; ud is the
 * app_engine. */
int ae_attach(fx *f, void *ud);
/* After fx_free: the engine and its edges. */
void ae_free(app_engine *ae);

/* Loop thread: a long BTCUSDT FUT entry fill of qty at price (stop at
 * sl_px), then a mark, then the first stop confirmed; pos_id gets the new
 * position's id.  0 or < 0. */
int ae_seed_long(app_engine *ae, double qty, double price, double sl_px,
                 double mark);
/* Loop thread: answers every call not yet answered with OK, confirming
 * stops (ACCEPTED); answers may send more, which are answered too. */
void ae_settle(app_engine *ae);
/* Loop thread: the router's calls so far for that purpose (0 = any). */
size_t ae_count(const app_engine *ae, int purpose, bool cancel);
