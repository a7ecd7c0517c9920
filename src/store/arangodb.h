/*
 * arangodb.h — the store over ArangoDB's HTTP API (document API and AQL
 * cursors), through the service's outbound HTTP client on the loop.
 *
 * Collections: positions_snapshots, orders, order_events,
 * treasury_transfers (created by the operator; the backend does not
 * create them).  Keys: orders by intent_id, transfers by transfer_id,
 * snapshots and order events by ArangoDB's own keys (the traditional,
 * increasing numeric generator: an order's events read back by key).
 * Every operation completes from the loop (store.h); close completes the
 * ones in flight with S6_ECLOSED before it returns.
 *
 * Tested against a scripted HTTP peer only: no ArangoDB server exists on
 * the build machines (docs/store.md).
 */
#pragma once

#include "httpc/httpc.h"
#include "store/store.h"

typedef struct s6_store_arango_opts {
    const char *base_url;      /* "http://127.0.0.1:8529", no trailing / */
    const char *database;      /* "_system", "s6", ... */
    const char *authorization; /* full header value ("Basic ...",
                                  "bearer ..."); NULL: none */
    unsigned timeout_ms;       /* per request; 0: httpc's default */
} s6_store_arango_opts;

/* http stays owned by the caller and must outlive the store. */
int s6_store_open_arangodb(const s6_store_arango_opts *o, s6_httpc *http,
                           s6_store **out, s6_store_err *err);
