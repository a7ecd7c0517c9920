/*
 * internal.h — the service's context, shared by the files that make it up:
 * service.c (the wiring and the start-up chain), paper_mode.c (the paper
 * venue and its price replay) and health.c (the GET /health checks).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "app/service.h"
#include "bus/feed.h"
#include "bus/lease.h"
#include "bus/results.h"
#include "bus/state.h"
#include "engine/engine.h"
#include "httpc/httpc.h"
#include "redis/redis.h"
#include "replay/price_pub.h"
#include "rules/edge.h"
#include "store/store.h"
#include "store/turn.h"
#include "treasury/treasury.h"
#include "util/clock.h"
#include "venue/durable.h"
#include "venue/paper/paper.h"
#include "venue/paper/positions.h"
#include "venue/s4/router.h"

struct s6_service {
    s6_app *app;
    uv_loop_t *loop;
    s6_log *log;
    const s6_config *cfg;
    char instance[64];
    char lease_key[32], group[32]; /* this shard's (bus/shard.h) */
    char book_key[40];        /* this shard's engine record (bus/shard.h) */
    s6_httpc *httpc;
    s6_store *store;
    s6_store_turn *store_turn; /* history rows: one commit per loop turn */
    s6_redis *redis;          /* commands: state, lease, snapshots */
    s6_state *state;
    s6_lease *lease;
    s6_results *results;
    s6_feed *feed;
    s6_s4_router *s4;         /* S6_S4_HTTP */
    s6_paper *paper;          /* S6_S4_PAPER */
    s6_durable_router *durable; /* write-ahead in front of either */
    s6_price_pub *pub;        /* paper mode: the recorded prices */
    s6_rules_edge rules;
    bool rules_edge_ok;
    s6_engine *engine;
    s6_treasury *treasury;    /* NULL when treasury.enabled is false */
    uv_timer_t tick, reconcile, pump;
    uv_timer_t protect;       /* the protection pass, every second */
    uv_timer_t again;         /* a start-up view ahead of the results */
    unsigned again_tries;
    bool results_current;     /* the consumer has read to the stream's end
                                 since its last failure */
    bool acting_started;      /* resume ran for this engine */
    bool timers_on;
    bool acting;              /* start-up finished: consuming and ticking */
    bool stopping;
    bool paused;              /* the lease is lost: no engine, nothing acts */
    bool treasury_started;    /* once: it needs no lease (service.c) */
    unsigned gen;             /* moves at each pause: late answers drop */
    bool reconciling;
    double last_reconcile_ok;  /* wall seconds, 0 = never */
    char reconcile_error[200];
    s6_md_instrument *instruments; /* configured symbols, for the tick */
    s6_paper_entry *entries;  /* paper mode: start positions not yet sent */
    size_t n_entries;
    size_t n_instruments;
};

/* paper_mode.c: the paper venue stands in for S4 (docs/contracts/paper.md). */
int s6_svc_paper_open(s6_service *svc, s6_router *router, char *err,
                      size_t errlen);
/* Once consuming: the pump, the price replay, the quota limits, the start
 * positions and the first balances. */
void s6_svc_paper_start(s6_service *svc);
/* A new mark: the venue sees it before the engine does. */
void s6_svc_paper_mark(s6_service *svc, const char *symbol, int market,
                       double mark);
void s6_svc_paper_publish_balances(s6_service *svc);
void s6_svc_paper_restore(s6_service *svc, const s6_engine_record *recs,
                          size_t n);

/* health.c */
void s6_svc_add_checks(s6_service *svc);
