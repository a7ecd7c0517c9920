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
#include "redis_server.h"
#include "s4_peer.h"

typedef struct svc_fx {
    s6test_redis redis;
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
