/*
 * fixture.h — the whole service as production runs it, for end-to-end
 * tests: a real redis-server, the S4 peer (publishing results on
 * ord:{results}), and the s6-position binary as a child process with a
 * configuration written for them.  The test drives it the way the world
 * does: order results and prices into Redis, orders out to the peer.
 */
#pragma once

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdbool.h>

#include "proc.h"
#include "redis_cluster.h"
#include "redis_server.h"
#include "s4_peer.h"

typedef struct svc_fx {
    s6test_redis redis;
    s6test_cluster *cluster; /* set: everything runs on this cluster */
    s6_s4_peer *peer;
    redisContext *rc;        /* the test's own blocking connection */
    char dir[96];            /* scratch: config, history */
    char cfg_path[160];
    int port;                /* the service's HTTP port */
    proc p;
    bool running;
    unsigned starts;
} svc_fx;

/* edit: changes to config/s6.json for this test (may be NULL); called with
 * the document before it is written. */
void svc_fx_setup(svc_fx *f, void (*edit)(json_t *cfg));
/* The same with Redis on an append-only file (fsync always), for tests
 * that kill and restart it. */
void svc_fx_setup_aof(svc_fx *f, void (*edit)(json_t *cfg));
/* The same on a running Redis Cluster (the test owns it): the service,
 * the peer and svc_redis all go through its redis+cluster:// URL. */
void svc_fx_setup_cluster(svc_fx *f, s6test_cluster *c,
                          void (*edit)(json_t *cfg));
void svc_fx_teardown(svc_fx *f);

/* Starts the binary and waits until it manages positions (the log line of
 * the end of start-up). */
void svc_start(svc_fx *f);
/* SIGKILL: no clean-up of any kind, as a crash or an OOM kill. */
void svc_kill(svc_fx *f);
/* SIGTERM and a clean exit (status 0). */
void svc_stop(svc_fx *f);

/* Redis commands (printf-style, hiredis formatting); fails the test on
 * an error reply. */
redisReply *svc_redis(svc_fx *f, const char *fmt, ...);
/* An ENTRY fill on ord:{results}, as S4 publishes it. */
void svc_entry_fill(svc_fx *f, const char *result_id, const char *pos_id,
                    const char *symbol, const char *side, const char *qty,
                    const char *price, const char *sl_px);
/* A mark for a FUT symbol now (md:prices + md:last). */
void svc_mark(svc_fx *f, const char *symbol, double mark);
/* Events of type `type` for pos_id in pos:events:{symbol}. */
int svc_count_events(svc_fx *f, const char *symbol, const char *pos_id,
                     const char *type);
/* Waits (reading the child's log, never sleeping blind) for a log line
 * with msg; fails the test after the guard time. */
json_t *svc_await_log(svc_fx *f, const char *msg);
/* GET /positions/{id} as JSON (NULL when not 200). */
json_t *svc_position(svc_fx *f, const char *pos_id);
/* The intent_id of the i-th POST the peer recorded. */
const char *svc_request_intent(svc_fx *f, size_t i, char *buf, size_t cap);
/* The child's log tail and the peer's orders on stderr, for a failure. */
void svc_print_log(svc_fx *f);
/* Stops resting at the peer (NEW STOP_MARKET orders) for pos_id. */
int svc_resting_stops(svc_fx *f, const char *pos_id);

/* ---- for the end-to-end stories (docs/testing.md) ---- */

/* The stories' common configuration: reconciliation far apart (the peer
 * reports no positions unless a test serves some, and a reconciliation
 * would close what S4 does not list), the treasury off (no S1/S12 here),
 * the manage tick at its shortest, and the HTTP token SVC_TOKEN. */
#define SVC_TOKEN "e2e-token-0123456789abcdef"
void svc_edit_common(json_t *cfg);
/* cfg.rules.params.<rule>.base.<key> = value (value stolen). */
void svc_set_param(json_t *cfg, const char *rule, const char *key,
                   json_t *value);
/* cfg.<section>.<key> = value (value stolen; the section is made). */
void svc_set(json_t *cfg, const char *section, const char *key,
             json_t *value);

/* Spawns the binary without waiting for the end of start-up (a second
 * instance, a start held by the lease): on port, as instance id. */
void svc_spawn(svc_fx *f, proc *p, int port, const char *instance);
/* The same with one more NAME=value in its environment (NULL: none). */
void svc_spawn_env(svc_fx *f, proc *p, int port, const char *instance,
                   const char *extra);
/* Polls cond (reading the child's log between polls) until it holds;
 * fails the test naming `what` after the guard time. */
void svc_await(svc_fx *f, bool (*cond)(svc_fx *f, void *ud), void *ud,
               const char *what);
/* HGET key field into buf ("" when absent); returns buf. */
const char *svc_hget(svc_fx *f, const char *key, const char *field,
                     char *buf, size_t cap);
/* Entries of a stream; with symbol non-NULL only those whose `symbol`
 * field is it. */
size_t svc_stream_count(svc_fx *f, const char *stream, const char *symbol);
/* A field of the last entry of a stream into buf ("" when none). */
const char *svc_stream_last(svc_fx *f, const char *stream, const char *field,
                            char *buf, size_t cap);
/* A market update now on md:prices and md:last:<market>:<symbol>; mid 0
 * leaves it out. */
void svc_price(svc_fx *f, const char *market, const char *symbol, double mark,
               double mid);
/* A strategy signal now on strategy:signals. */
void svc_signal(svc_fx *f, const char *symbol, const char *market,
                const char *side);
/* An HTTP call to the service (token NULL: none); the answer's body parsed
 * into *doc when it is JSON. */
long svc_http(svc_fx *f, const char *method, const char *path,
              const char *token, const char *body, json_t **doc);
/* The body of the first POST /orders the peer recorded for intent_id
 * (NULL when none). */
json_t *svc_order_body(svc_fx *f, const char *intent_id);
/* Orders the peer took for pos_id with the given purpose. */
int svc_orders_of(svc_fx *f, const char *pos_id, const char *purpose);
/* Waits for a log line with msg whose text also contains needle. */
json_t *svc_await_log_with(svc_fx *f, const char *msg, const char *needle);
/* Waits until the consumer group s6 on ord:{results} has read entry id
 * (or later) and acknowledged everything it read. */
void svc_await_acked(svc_fx *f, const char *id);
/* XADD of a copy of the last entry of ord:{results}: a replayed result;
 * its new entry id into id. */
void svc_replay_last_result(svc_fx *f, char *id, size_t cap);
/* A FILL on ord:{results} as S4 publishes it (fee 0.05% of the notional
 * in quote; sl_px and the quotas only on an ENTRY). */
void svc_fill(svc_fx *f, const char *result_id, const char *intent_id,
              const char *pos_id, const char *symbol, const char *market,
              const char *side, const char *fill_kind, const char *qty,
              const char *price, const char *sl_px);
/* Waits until pos:events:{symbol} holds at least n events of type for
 * pos_id (the engine appends them as it acts, so one may land just after
 * the order it describes); returns the count. */
int svc_await_events(svc_fx *f, const char *symbol, const char *pos_id,
                     const char *type, int n);
/* The stops resting at the peer for pos_id (as svc_resting_stops), the
 * last of them into *last when there is one. */
int svc_resting_stop(svc_fx *f, const char *pos_id, s6_s4_peer_order *last);
