/*
 * durable.h — write-ahead for orders: an order leaves for S4 only
 * once the engine's state that names it is durable in Redis.
 *
 * The engine saves a position's record (with the new intent, its key and
 * the sequence number it used) and hands the order to its router within
 * the same call.  Over the network the order can reach S4 before Redis has
 * applied the save; a crash in between leaves an order at S4 that the
 * restarted engine does not know, and it would then act again under a new
 * key — a second stop resting, a second take-profit.  This router wraps
 * the real one: submits and cancels wait in one FIFO; once the engine's
 * call has returned (a 0 ms timer, so every save of that call is already
 * queued on the Redis connection) one state barrier is asked for, and
 * when Redis confirms it the waiting calls go to the real router in order.
 * If the barrier fails they end S6_ROUTE_FAILED: the engine retries them
 * later with the same keys.  The cost is one Redis round trip per batch.
 */
#pragma once

#include <uv.h>

#include "engine/edges.h"
#include "util/log.h"

typedef struct s6_durable_router s6_durable_router;

/* inner: the real router (S4 or paper); state: the edge whose barrier
 * says "durable". */
int s6_durable_router_new(uv_loop_t *loop, const s6_router *inner,
                          const s6_state_edge *state, s6_log *log,
                          s6_durable_router **out);
/* The edge the engine is given. */
s6_router s6_durable_router_edge(s6_durable_router *d);
/* Ends everything not yet handed to the real router with S6_ROUTE_FAILED
 * ("stopping"), from inside this call, also the calls whose barrier is
 * still out; nothing is called after it returns.  Frees once the timer is
 * closed and no barrier is out. */
void s6_durable_router_close(s6_durable_router *d);
