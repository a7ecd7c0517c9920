/*
 * treasury.h — automatic margin transfers between the SPOT and FUT wallets
 * (docs/treasury.md; the wire contracts in docs/contracts/treasury.md).
 *
 * The treasury keeps the futures wallet's free balance above min_free_fut:
 * on a schedule, on S4's insufficient_balance result, on a risk-budget need
 * from the engine, and on POST /auto-transfer/trigger.  Each run becomes at
 * most one transfer with an idempotent transfer_id, written to the store
 * before anything leaves S6, then approved by S12 (callback or polling) or,
 * in full-auto mode, executed by S1 directly.  Every status change goes to
 * the store and, as a TransferRequest/TransferResponse event, to the Redis
 * stream strategy_events.
 *
 * Everything runs on one libuv loop; nothing here is thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/http.h"
#include "httpc/httpc.h"
#include "metrics/metrics.h"
#include "redis/redis.h"
#include "store/store.h"
#include "util/log.h"

struct s6_config;

typedef enum s6_treasury_trigger {
    S6_TT_SCHEDULED = 0,
    S6_TT_MARGIN_CALL,
    S6_TT_RISK_LIMIT,
    S6_TT_PROFIT_TAKING,
    S6_TT_INSUFFICIENT_BALANCE,
    S6_TT_COUNT
} s6_treasury_trigger;

/* "MARGIN_CALL", ...; NULL outside the enum. */
const char *s6_treasury_trigger_name(s6_treasury_trigger t);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int s6_treasury_trigger_parse(const char *name, s6_treasury_trigger *out);

/* ---- configuration (config keys treasury.*, docs/configuration.md) ---- */

typedef struct s6_treasury_trigger_cfg {
    bool enabled;
    double min_interval_s;  /* between two transfers this trigger starts */
    double threshold;       /* per trigger: docs/treasury.md, "Guards" */
} s6_treasury_trigger_cfg;

typedef struct s6_treasury_cfg {
    bool enabled, full_auto;
    double min_free_fut, spot_buffer, max_per_transfer, max_per_day;
    double min_spot_retained, profit_ceiling;
    double interval_s;          /* scheduled runs, and the id window */
    double approval_poll_s;     /* S12 polling while a decision is awaited */
    double balances_max_age_s;  /* older balances refuse a transfer */
    s6_treasury_trigger_cfg trig[S6_TT_COUNT];
    char s1_url[512], s12_url[512]; /* base URLs, no trailing slash */
    unsigned timeout_ms;        /* per outbound attempt */
    unsigned retry_attempts, retry_base_ms, retry_cap_ms;
    unsigned answer_wait_ms;    /* the trigger endpoint answers by then */
} s6_treasury_cfg;

/* The treasury's view of the service configuration. */
void s6_treasury_cfg_from_config(s6_treasury_cfg *out,
                                 const struct s6_config *c);

/* ---- edges ---- */

typedef struct s6_treasury_balances {
    double spot_free, fut_free; /* quote (USDT) */
    double ts;                  /* unix seconds of the reading */
} s6_treasury_balances;

/* rc 0 with the balances, or a negative code with why (b NULL). */
typedef void (*s6_treasury_balances_cb)(void *ud, int rc,
                                        const s6_treasury_balances *b,
                                        const char *why);

/* Where free balances come from.  read() returns 0 and calls cb exactly
 * once (later or before returning), or returns a negative code and never
 * calls it. */
typedef struct s6_treasury_balances_edge {
    int (*read)(void *self, s6_treasury_balances_cb cb, void *ud);
    void *self;
} s6_treasury_balances_edge;

/* The Redis hash treasury:balances (spot_free, fut_free, ts). */
s6_treasury_balances_edge s6_treasury_redis_balances(s6_redis *r);

/* Seconds since the Unix epoch; NULL now: the system clock. */
typedef struct s6_treasury_clock {
    double (*now)(void *ud);
    void *ud;
} s6_treasury_clock;

typedef struct s6_treasury_deps {
    uv_loop_t *loop;
    s6_store *store;        /* treasury_transfers */
    s6_redis *redis;        /* strategy_events, the daily ledger */
    s6_httpc *http;         /* S1 and S12 */
    s6_treasury_balances_edge balances;
    s6_treasury_clock clock;
    s6_metrics *metrics;    /* optional: s6_transfers_total */
    s6_log *log;            /* optional */
} s6_treasury_deps;

typedef struct s6_treasury s6_treasury;

/* Checks deps and cfg; *err says which is missing or wrong. */
int s6_treasury_new(s6_treasury **out, const s6_treasury_deps *deps,
                    const s6_treasury_cfg *cfg, char *err, size_t errlen);
/* Resumes the unfinished transfers of the store (without a second
 * transfer: every outbound call carries the transfer_id as its key) and
 * starts the schedule. */
int s6_treasury_start(s6_treasury *t);
/* Takes effect from the next run. */
void s6_treasury_set_cfg(s6_treasury *t, const s6_treasury_cfg *cfg);
/* Stops timers and outbound calls; the memory goes once Redis and store
 * callbacks in flight have come back (the loop must run).  NULL: no-op. */
void s6_treasury_free(s6_treasury *t);

/* ---- triggers ---- */

/* S4 answered insufficient_balance for symbol (may be NULL). */
int s6_treasury_on_insufficient_balance(s6_treasury *t, const char *symbol);
/* The engine needs margin: amount in quote, 0 = compute the need. */
int s6_treasury_request(s6_treasury *t, s6_treasury_trigger trigger,
                        double amount);
/* The same for any trigger the engine measures itself (MARGIN_CALL with
 * the margin ratio, RISK_LIMIT with the budget use, PROFIT_TAKING with
 * NaN): reported goes to the threshold guard as a request's would; NaN
 * skips that guard. */
int s6_treasury_raise(s6_treasury *t, s6_treasury_trigger trigger,
                      double amount, double reported);
/* One scheduled run now (what the timer does). */
int s6_treasury_run_scheduled(s6_treasury *t);

/* ---- the HTTP side (src/app/routes_treasury.c registers them) ---- */

/* POST /auto-transfer/trigger: the spec's request and response.  The
 * caller has checked the bearer token. */
void s6_treasury_http_trigger(s6_treasury *t, s6_http_res *res,
                              const s6_http_req *req);
/* POST /auto-transfer/approval: S12's decision on a pending transfer. */
void s6_treasury_http_approval(s6_treasury *t, s6_http_res *res,
                               const s6_http_req *req);

/* ---- observation, for tests and /ready ---- */

typedef struct s6_treasury_stats {
    size_t active;          /* unfinished transfers held in memory */
    size_t queued;          /* runs waiting for their decision */
    unsigned long decided;  /* runs that reached a decision */
} s6_treasury_stats;

void s6_treasury_stats_get(const s6_treasury *t, s6_treasury_stats *out);
