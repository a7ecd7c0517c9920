/*
 * service.h — the running position manager: the engine wired to its real
 * edges (Redis state and order results, the market-data feed, S4 or the
 * paper router, the history store), the single-writer lease, and the
 * start-up that comes before any action (docs/operations.md).
 *
 * Start-up, in order, and nothing acts before the last step:
 *   1. connect Redis, open the history store, build the router and engine;
 *   2. wait for the lease (a second instance waits here);
 *   3. load the persisted positions and restore them into the engine;
 *   4. ask S4 for its positions and open orders and reconcile;
 *   5. resume: re-arm missing stops, re-send unfinished orders with their
 *      own keys;
 *   6. consume ord:{results} and the market feed, start the manage and
 *      reconciliation ticks, and report ready.
 * A lost lease pauses: consumers and ticks stop and the engine is torn
 * down (nothing more is sent or written), HTTP, health and metrics stay
 * up; when the lease comes back a fresh engine runs steps 3-6 again.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include "app/app.h"
#include "config/config.h"
#include "util/log.h"

typedef struct s6_service s6_service;

/* Builds everything and starts the start-up sequence on app's loop; the
 * service sets app->engine and the readiness components "redis", "lease",
 * "reconciled".  Errors are logged and returned (the caller stops). */
int s6_service_start(s6_app *app, const s6_config *cfg, s6_service **out);
/* A new configuration (hot reload): limits, rules parameters, rates. */
void s6_service_reconfigure(s6_service *svc, const s6_config *cfg);
/* Stops acting and closes every handle; the loop then runs out.  Idempotent. */
void s6_service_stop(s6_service *svc);
/* After the loop has returned. */
void s6_service_free(s6_service *svc);
