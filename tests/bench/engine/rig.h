/*
 * rig.h — the service's engine wiring, in-process, for s6-bench-engine-live
 * (docs/performance.md, "Engine").
 *
 * The pieces are the ones src/app/service.c builds in S4 mode, configured
 * the same way: a private redis-server (tests/support/redis_server.h), the
 * Redis command connection shared by the state edge and the results
 * consumer, the market feed on its own connection, the S4 router over the
 * outbound HTTP client to the S4 test peer (its own thread, stamping each
 * request with uv_hrtime, the clock this process reads), the SQLite history
 * store, the Lua rule service with the configuration's rule parameters, and
 * the engine on the wall clock.  Left out: the lease, the HTTP server, the
 * treasury and the reconciliation timer, which act on none of the measured
 * paths.  The manage tick is not a timer here: the benchmark runs it when it
 * measures it, exactly as service.c's tick does (snapshot, every answer into
 * s6_engine_on_market, then s6_engine_tick).
 *
 * The feed's callback is the benchmark's (on_market): it hands the update
 * to the engine as service.c does and can stamp the moment the evaluation
 * returns — s6_engine_on_market evaluates before it returns, so no hook in
 * the engine is needed.
 *
 * A second peer without Redis ("floor") and a router to it carry the
 * orders of the transport-only baseline, so that the engine's peer and the
 * result stream only ever see the engine's own orders.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "rules/service.h"
#include "bus/feed.h"
#include "bus/results.h"
#include "bus/state.h"
#include "config/config.h"
#include "engine/engine.h"
#include "httpc/httpc.h"
#include "redis_cluster.h"
#include "redis_server.h"
#include "venue/s4/router.h"
#include "s4_peer.h"
#include "store/store.h"
#include "store/turn.h"

/* Symbols S00000USDT..S99999USDT; the config allows 100,000 positions. */
enum { RIG_SYMBOL_LEN = 16, RIG_MAX_POSITIONS = 100000, RIG_OPEN_CHUNK = 250 };

/* The service's log lines of a run (JSON lines, the config's level), in
 * the working directory: a warning during a run is worth reading. */
#define RIG_LOG_FILE "s6-bench-engine-live.log"

typedef struct rig {
    uv_loop_t loop;
    s6_log log;
    FILE *log_file;
    size_t log_lines;          /* warn and above: reported at the end */
    s6test_redis srv;
    s6test_cluster *cluster;   /* S6_BENCH_CLUSTER=1: a 6-node cluster */
    int *slot_port;            /* then the master's port of each slot */
    s6_s4_peer *peer;          /* the engine's S4, publishing results */
    s6_s4_peer *floor_peer;    /* the baseline's S4, publishing nothing */
    s6_config cfg;
    s6_config floor_cfg;       /* cfg with the floor peer's URL (borrowed) */
    char floor_url[64];
    bool cfg_ok;
    s6_metrics *metrics;
    s6_rules_svc rules_svc;
    bool rules_svc_ok;
    s6_rules_edge rules;
    bool rules_ok;
    s6_httpc *httpc;
    s6_store *store;
    s6_store_turn *store_turn;
    s6_redis *redis;
    bool redis_up;
    s6_state *state;
    s6_s4_router *s4;
    s6_s4_router *floor_s4;
    s6_engine *engine;
    s6_results *results;
    s6_feed *feed;
    size_t n;                        /* positions = symbols */
    char (*symbols)[RIG_SYMBOL_LEN]; /* S00000USDT ... */
    s6_md_instrument *instruments;
    struct rig_mem {
        size_t rss;                  /* resident set, bytes */
        size_t heap;                 /* malloc'd and in use, bytes (LuaJIT's
                                        own allocator is not in it) */
    } mem_start, mem_config;         /* before and after the config */
    s6_feed_on_market on_market;     /* the benchmark's feed callback */
    void *market_ud;
    int side;                        /* of the positions opened: +1, -1 */
    bool shipped_limits;             /* the S4 rate limits of config/s6.json */
    unsigned max_age_s;              /* market_data.max_age_s, 0: shipped */
} rig;

/* How rig_start_with builds: the defaults (rig_start) are long positions
 * and the S4 rate limits lifted. */
typedef struct rig_opts {
    int side;                        /* +1 long (0 means +1), -1 short */
    bool shipped_limits;             /* keep config/s6.json's S4 limits */
    const char *log_file;            /* the service's log, NULL:
                                        RIG_LOG_FILE */
    unsigned max_age_s;              /* market_data.max_age_s, 0: shipped
                                        (a backlog the benchmark builds on
                                        purpose must not age into drops) */
} rig_opts;

/* Everything up and the feed reading; 0, or -1 with the reason on stderr
 * (partial state is freed by rig_free).  on_market receives the feed. */
int rig_start(rig *r, size_t n, s6_feed_on_market on_market, void *ud);
int rig_start_with(rig *r, size_t n, const rig_opts *opts,
                   s6_feed_on_market on_market, void *ud);
void rig_free(rig *r);

/* Runs the loop until done(ud) or timeout_ms: 0, or -1 on the timeout. */
int rig_run_until(rig *r, bool (*done)(void *ud), void *ud,
                  unsigned timeout_ms);
/* Runs the loop for ms, whatever happens (to see that nothing does). */
void rig_run_for(rig *r, unsigned ms);

/* HSET md:last:FUT:<symbol> for every symbol at mark, ts = now, written as
 * one pipeline on the command connection; 0 once all are in. */
int rig_write_last(rig *r, double mark);
/* Opens every position from an entry FILL on ord:{results} (r->side, 10x,
 * at entry, first stop at sl), RIG_OPEN_CHUNK at a time, each chunk open
 * with its stops confirmed by the peer before the next; 0, or -1 on a
 * timeout. */
int rig_open_positions(rig *r, double entry, double qty, double sl);

double rig_wall_now(void);
/* The calling thread's CPU time, seconds (CLOCK_THREAD_CPUTIME_ID). */
double rig_thread_cpu_s(void);

/* p50, p99 and max of n durations in ns, in ms (NAN when n is 0); sorts
 * ns. */
typedef struct rig_pct {
    double p50, p99, max;
    size_t n;
} rig_pct;
rig_pct rig_percentiles(uint64_t *ns, size_t n);
/* Now: the resident set (/proc/self/statm) and the heap in use
 * (mallinfo2, every arena: the peers' threads included). */
struct rig_mem rig_mem_now(void);
