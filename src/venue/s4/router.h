/*
 * router.h — the engine's order router over S4's HTTP API
 * (docs/contracts/s4.md): POST /orders and POST /cancel through the
 * outbound client (httpc.h) on the service's loop.
 *
 * It fills the engine's s6_router edge (engine.h):
 *   - submit: the order as the contract's JSON body, header
 *     Idempotency-Key = intent_id (the same bytes on every retry);
 *   - cancel: {"intent_id","symbol","market"}.
 * Every accepted call gets its done exactly once, later, from the loop:
 *   2xx                      -> S6_ROUTE_OK
 *   404 on a cancel          -> S6_ROUTE_OK ("already gone")
 *   other 4xx (not 429)      -> S6_ROUTE_REJECTED, detail = S4's code: message
 *   5xx, 429, transport      -> retried with backoff (orders.retry_*), then
 *                               S6_ROUTE_FAILED (state unknown: the engine
 *                               may send again with the same key)
 * Every S4 error is logged with intent_id, pos_id, symbol and status.
 *
 * Rate limits: token buckets per symbol (orders.rate_per_symbol_per_s) and
 * overall (orders.rate_total_per_s), each holding one second's worth.  An
 * order over the rate waits in a queue and is sent as soon as tokens allow
 * (a uv timer); nothing is dropped.  Within a symbol the queue is FIFO,
 * except that protective orders (purpose sl or cl) and cancels go ahead of
 * tp, add and hg.  A cancel never overtakes its own order: it waits until
 * the order's request ends, and an order cancelled while it is being sent
 * or retried gets no further attempt (its request is ended from the loop,
 * outcome S6_ROUTE_FAILED, then the cancel goes).
 *
 * One thread: the loop's.  The router borrows the loop, the client, the
 * config, the log and the metrics; all must outlive it.
 */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "config/config.h"
#include "engine/edges.h"
#include "httpc/httpc.h"
#include "metrics/metrics.h"
#include "util/log.h"

typedef struct s6_s4_router s6_s4_router;

/* cfg: services.s4_url, services.{connect,request}_timeout_ms, orders.rate_*,
 * orders.retry_*.  log and metrics may be NULL.  -EINVAL (err names the
 * key) or -ENOMEM. */
int s6_s4_router_new(uv_loop_t *loop, s6_httpc *httpc, const s6_config *cfg,
                     s6_log *log, s6_metrics *metrics, s6_s4_router **out,
                     char *err, size_t errlen);

/* The engine's edge; out->ud is the router. */
void s6_s4_router_edge(s6_s4_router *r, s6_router *out);

/* A new config (hot reload): rates and retries apply to what is sent from
 * now on; queued orders stay queued.  cfg must outlive the router. */
int s6_s4_router_reconfigure(s6_s4_router *r, const s6_config *cfg,
                             char *err, size_t errlen);

typedef struct s6_s4_router_stats {
    size_t queued;      /* waiting for rate tokens */
    size_t in_flight;   /* sent (or waiting for a retry), not yet done */
    unsigned long sent; /* requests started (retries not counted) */
    unsigned long ok, rejected, failed;
} s6_s4_router_stats;
void s6_s4_router_get_stats(const s6_s4_router *r, s6_s4_router_stats *st);

/* Pins the seed of the retry jitter (tests, replays). */
void s6_s4_router_set_seed(s6_s4_router *r, uint64_t seed);

/* The clock the rate buckets read, in seconds (tests); NULL restores the
 * loop's.  Buckets start full on the new clock.  Queued orders still go
 * out from the loop's timer, when the new clock says a token is there. */
void s6_s4_router_set_clock(s6_s4_router *r, double (*now)(void *ud),
                            void *ud);

/* Ends everything still queued or in flight with S6_ROUTE_FAILED ("router
 * closed"), and a venue fetch with an error, each callback before this
 * returns; frees the router once the loop has closed its timers.  Call it
 * before shutting the httpc down, never from inside one of its callbacks. */
void s6_s4_router_free(s6_s4_router *r);
