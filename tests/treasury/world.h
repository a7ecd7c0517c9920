/*
 * world.h — the treasury under test with everything real around it: a
 * redis-server of its own, the SQLite store in a temporary folder, the S1
 * and S12 peers, the outbound client, and an HTTP server carrying the
 * treasury's two handlers, all on one loop the test runs.  The clock is
 * the test's.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "redis_server.h"
#include "s12_peer.h"
#include "s1_peer.h"
#include "treasury/treasury.h"

#define W_NOW 1764110000.0 /* 2025-11-25T22:33:20Z, mid-window */

typedef struct world {
    uv_loop_t loop;
    s6test_redis rs;
    s6_redis *redis;
    s6_store *store;
    s6_httpc *http;
    s6_metrics *metrics;
    s6_s1_peer *s1;
    s6_s12_peer *s12;
    s6_http_server *srv;
    s6_treasury *t;
    s6_treasury_cfg cfg;
    double now;
    char dir[64], db[96];
} world;

void w_setup(world *w, bool full_auto);
void w_teardown(world *w);
/* A new treasury object over the same SQLite file (closed and opened
 * again) and the same Redis, the old one freed first: what a restart of
 * the service does. */
void w_restart(world *w);
s6_treasury_cfg w_default_cfg(const world *w, bool full_auto);

/* Runs the loop until pred(w) or timeout_ms; false on timeout. */
bool w_until(world *w, bool (*pred)(world *), unsigned timeout_ms);
/* Runs the loop for about ms, to show that nothing (more) happens. */
void w_settle(world *w, unsigned ms);

/* One Redis command, waited for; the reply's string or integer as text
 * into out (empty for nil).  Returns the reply type, or -1. */
int w_redis(world *w, char *out, size_t cap, int argc, const char **argv);
void w_balances(world *w, double spot, double fut, double age_s);
long long w_events(world *w); /* XLEN strategy_events */

/* The stored transfer; false when there is none. */
bool w_transfer(world *w, const char *id, s6_store_transfer *out);

/* POST to the world's server; the status, and the body into out. */
int w_post(world *w, const char *path, const char *body, char *out,
           size_t cap);

double w_metric(world *w, const char *status, const char *trigger);
