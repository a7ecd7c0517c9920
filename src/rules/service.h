/*
 * service.h — the rule host as the service runs it: the registry of
 * the rule scripts under the deadline watchdog and the memory cap, hot-reloaded
 * by the debounced watcher (validate-then-swap), reported in logs and in
 * GET /health.  `s6-position rules check` uses the same loading path.
 */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "contract/decide.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "rules/registry.h"
#include "rules/shadow.h"
#include "rules/sink.h"
#include "rules/state_store.h"
#include "util/log.h"
#include "reload/watch.h"

typedef struct s6_rules_svc_config {
    const char *rules_dir;        /* "rules" */
    const char *lua_dir;          /* the trusted modules */
    size_t mem_limit;             /* bytes per Lua state */
    uint32_t deadline_ms;         /* per batch ... */
    double deadline_us_per_eval;  /* ... plus per position */
    uint32_t load_deadline_ms;    /* compile + self-checks */
    uint64_t quiet_ms;            /* watcher debounce */
    unsigned rollback_faults;     /* faults of a version before it is rolled
                                     back (or quarantined, when new) */
    unsigned clean_batches;       /* clean batches that prove a version (0:
                                     20), what a rollback returns to */
    double shadow_promote_after_s; /* a shadow without a fault this long
                                      is promoted; 0: only by request */
    unsigned max_actions;         /* per rule and evaluation (0: default) */
    size_t max_state_bytes;       /* per rule and position (0: default) */
    /* Not NULL: rules run in worker processes started from this
     * executable with `rules worker` (the service); NULL: in this process
     * (replay, benchmarks, in-process tests). */
    const char *worker_exe;
    const char *const *regimes;   /* index 0 the default; NULL: "normal" */
    size_t n_regimes;
    /* the config's overrides of a rule's parameters (NULL: defaults) */
    const char *(*params_of)(void *ud, const char *rule);
    void *params_ud;
} s6_rules_svc_config;

/* What the registry ran before a reload, so the log names what changed. */
typedef struct s6_rules_snap {
    char live[S6_REG_MAX_RULES][17];   /* "" when none */
    char shadow[S6_REG_MAX_RULES][17];
    char params[S6_REG_MAX_RULES][17];
} s6_rules_snap;
typedef struct s6_rules_flight s6_rules_flight;

/* An answer for whoever asked: 0 or a negative code, err NULL or why. */
typedef void (*s6_rules_done_cb)(void *ud, int rc, const char *err);

enum { S6_RULES_WAITERS = 8 };

typedef struct s6_rules_waiter {
    s6_rules_done_cb done;
    void *ud;
    unsigned round;               /* the reload round it waits for */
} s6_rules_waiter;

typedef struct s6_rules_svc {
    s6_log *log;
    s6_metrics *metrics;          /* NULL: not counted (rules check) */
    s6_watchdog *wd;
    s6_rule_registry reg;
    s6_watch watch;
    int watching;
    /* A reload the watcher started, its candidates tried one by one on
     * libuv's thread pool (worker mode): the loop never waits for them. */
    uv_loop_t *loop;
    uv_work_t work;
    s6_rule_trial *trial;
    int reloading, again, stopping, scan_rc, accepted;
    unsigned failures_before;
    char scan_err[512];
    s6_rules_snap before;         /* the registry as the reload found it */
    s6_shadow shadow;             /* shadow versions, evaluated per batch */
    /* A configuration's parameters tried off the loop before it swaps. */
    uv_work_t pwork;
    s6_rule_trial *ptrial;
    void (*pdone)(void *ud, int rc, const char *err);
    void *pdone_ud;
    s6_ruleset *pset;             /* the set it built, adopted at the swap */
    unsigned pset_version;        /* the registry's version it was built on */
    double promote_after_s;
    /* Callers waiting for a reload round (POST /rules/reload): the round
     * that starts next, or the one after the round running. */
    s6_rules_waiter waiting[S6_RULES_WAITERS];
    int nwaiting;
    unsigned round;               /* reload rounds started */
    /* A promotion whose set is checked off the loop, one at a time. */
    uv_work_t mwork;
    s6_rule_trial *mtrial;
    s6_rules_done_cb mdone;
    void *mdone_ud;
    char mrule[S6_RULE_NAME_MAX];
    s6_rules_flight *flight;      /* the batch in flight, if any */
} s6_rules_svc;

/* Defaults, with S6_RULES_DIR and S6_LUA_DIR from the environment. */
void s6_rules_svc_config_default(s6_rules_svc_config *cfg);
/* The rule host's settings from a loaded configuration; strings point into
 * c, which must outlive the start. */
void s6_rules_svc_config_from(s6_rules_svc_config *cfg, const s6_config *c);
/* Loads every rule (all must pass: err says file:line) and, when loop is
 * not NULL, starts watching the folder for changes. */
int s6_rules_svc_start(s6_rules_svc *rs, uv_loop_t *loop, s6_log *log,
                       s6_metrics *metrics, const s6_rules_svc_config *cfg,
                       char *err, size_t errlen);
/* The configuration changed (parameters, regimes, limits): rebuild the
 * live set with it — validate-then-swap, logged either way. */
int s6_rules_svc_reconfigure(s6_rules_svc *rs, const s6_rules_svc_config *cfg);
/* Would the live versions build, probe and self-check with these
 * parameters (a config about to be swapped in)?  Tried on libuv's thread
 * pool in worker mode (here otherwise); done(ud, 0 | code, err) answers
 * on the loop, never after s6_rules_svc_stop.  The set it built goes live
 * at the next s6_rules_svc_reconfigure without being built again. */
void s6_rules_svc_try_params(s6_rules_svc *rs,
                             const char *(*params_of)(void *, const char *),
                             void *params_ud,
                             void (*done)(void *ud, int rc, const char *err),
                             void *done_ud);
/* Re-reads the folder now; logs what changed or why nothing did. */
int s6_rules_svc_reload(s6_rules_svc *rs);
/* The same without waiting (worker mode, with a loop): the answer is
 * logged when the last candidate has been tried; a change seen meanwhile
 * starts another round after it.  In-process, the same as _reload. */
void s6_rules_svc_reload_async(s6_rules_svc *rs);
/* A reload for a caller (POST /rules/reload): tried like the watcher's,
 * off the loop in worker mode; done(ud, changed, err) on the loop once the
 * round that reads the folder after this call has finished, err the
 * refusal (changed may still count other rules) or NULL.  A negative
 * changed: the folder could not be read, too many callers waiting
 * (S6_EBUSY) or the service stopping (S6_ECANCELED). */
void s6_rules_svc_reload_then(s6_rules_svc *rs, s6_rules_done_cb done,
                              void *ud);
/* For the engine, between evaluations: applies a pending rollback. */
void s6_rules_svc_maintain(s6_rules_svc *rs);

/*
 * The one call the engine makes per batch: evaluate the live rules over
 * the positions, guard every proposal into one plan per position (hooks
 * give each position's limits and take each plan with the rule versions
 * it came from), log every dropped proposal with its reason and count it
 * by code, time the evaluation, then apply any pending rollback.  sink and
 * store belong to the caller.
 */
int s6_rules_svc_run(s6_rules_svc *rs, const s6_pos_view *pos,
                     const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                     s6_state_store *store, const s6_decide_hooks *hooks,
                     s6_decide_stats *stats);
/* Makes the rule's shadow live (see s6_registry_promote_trial), its set
 * checked on this thread; logged and counted.  0, or the registry's code
 * with err saying why. */
int s6_rules_svc_promote(s6_rules_svc *rs, const char *rule, char *err,
                         size_t errlen);
/* The same with the set checked on libuv's thread pool (worker mode; here
 * otherwise): done(ud, 0 | code, err) on the loop, S6_EBUSY while another
 * promotion is checked, S6_ECANCELED when the service stopped meanwhile. */
void s6_rules_svc_promote_async(s6_rules_svc *rs, const char *rule,
                                s6_rules_done_cb done, void *ud);
/*
 * The same without waiting (worker mode, with a loop): the batch leaves,
 * *pending is true, and later, from the loop, the plans reach the hooks
 * and done(ud, rc) runs.  hooks->current, when set, is asked per position
 * as the answer arrives: a position that changed meanwhile gets no plan
 * and keeps its rule state.  One batch at a time (-EBUSY).  pos, mkt,
 * sink, store, stats and hooks->ud must live until done.  Without a loop
 * or a worker, or with done NULL, the batch runs here: *pending is false
 * and the result is returned.
 */
typedef void (*s6_rules_svc_done)(void *ud, int rc);
int s6_rules_svc_run_start(s6_rules_svc *rs, const s6_pos_view *pos,
                           const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                           s6_state_store *store,
                           const s6_decide_hooks *hooks,
                           s6_decide_stats *stats, s6_rules_svc_done done,
                           void *ud, bool *pending);
/* The batch in flight, now (bounded by its hard limit): settle delivers
 * it (its done runs here), cancel drops it (done never runs). */
void s6_rules_svc_settle(s6_rules_svc *rs);
void s6_rules_svc_cancel(s6_rules_svc *rs);
/* {"version":N,"rules":[{"name","hash","previous","last_error"}],...} */
json_t *s6_rules_svc_health(const s6_rules_svc *rs);
void s6_rules_svc_stop(s6_rules_svc *rs);
void s6_rules_svc_free(s6_rules_svc *rs);

/* `s6-position rules check [DIR]`: 0 when every rule loads and passes its
 * checks, 1 otherwise; one line per rule on out, errors with file:line. */
int s6_rules_check(const s6_rules_svc_config *cfg, FILE *out);
