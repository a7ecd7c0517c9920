/*
 * s4_fixture.h — what the S4 suites share: a loop, the outbound client, a
 * config pointing at the S4 peer, the router, and completions recorded.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "engine/engine.h"
#include "metrics/metrics.h"
#include "venue/s4/router.h"
#include "s4_peer.h"
#include "util/log.h"

enum { FX_MAX_DONE = 64 };

/* Fast retries (3 resends 10..40 ms apart, 300 ms per attempt) and rates
 * high enough not to matter. */
#define FX_RETRIES "\"retry_initial_ms\":10,\"retry_max_ms\":40," \
                   "\"retry_max_attempts\":3"
#define FX_FAST "{\"rate_per_symbol_per_s\":1000," \
                "\"rate_total_per_s\":1000," FX_RETRIES "}"

typedef struct fx_done {
    char intent_id[S6_INTENT_ID_MAX + 1];
    int outcome;
    char detail[200];
} fx_done;

typedef struct fx {
    uv_loop_t loop;
    s6_httpc *httpc;
    s6_s4_peer *peer;
    s6_config cfg;
    s6_metrics *metrics;
    s6_log log;
    char *log_text;      /* every log line, appended */
    size_t log_len;
    s6_s4_router *router;
    s6_router edge;
    bool in_call;        /* set around submit/cancel */
    bool done_in_call;   /* a done ran inside a call: contract broken */
    fx_done done[FX_MAX_DONE];
    size_t n_done;
} fx;

/* orders_json: the "orders" object of the config, e.g.
 * "{\"rate_per_symbol_per_s\":5}"; timeouts are short.  0 or fails the
 * test. */
void fx_start(fx *f, const char *orders_json);
/* The same with the peer's options (a Redis URL to publish results) and
 * more top-level config keys (extra: "\"symbols\":{...}" or NULL). */
void fx_start_with(fx *f, const char *orders_json,
                   const s6_s4_peer_opts *peer, const char *extra);
void fx_stop(fx *f);
/* cmocka set-up and tear-down: *state is a started fx with FX_FAST. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* A valid order: FUT, SELL, reduce-only. */
void fx_order(s6_order *o, const char *intent, const char *symbol,
              int purpose, int type);
int fx_submit(fx *f, const s6_order *o);
/* fx_order then fx_submit, which must accept it. */
void fx_send(fx *f, const char *intent, const char *symbol, int purpose,
             int type);
int fx_cancel(fx *f, const char *intent, const char *symbol);
/* Runs the loop until pred(ud) holds (or fails the test after ms). */
void fx_run_until(fx *f, bool (*pred)(void *ud), void *ud, unsigned ms);
/* Runs the loop until n completions (or fails the test after ms). */
void fx_wait_done(fx *f, size_t n, unsigned ms);
const fx_done *fx_find(const fx *f, const char *intent);
