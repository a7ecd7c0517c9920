/*
 * s6_ruleset: one compiled version of the rule set, in its own Lua state.
 *
 * A ruleset is built from rule sources (text), checked, and then used for
 * batch evaluations until a reload builds its successor.  It never changes
 * once built: a reload makes a new one and swaps it in between evaluations,
 * so a failing version can never half-replace a working one.
 *
 * Protection (docs/sandbox-deadline.md, docs/rules.md):
 *   - every script runs in an allow-listed environment (lua/s6/sandbox.lua);
 *   - the Lua state's allocator is capped at mem_limit bytes;
 *   - every call into Lua is under the watchdog's deadline;
 *   - an error or overrun is charged to the (position, rule) that was
 *     running, reported through on_fault, and the batch resumes after it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "contract/s6_rule_abi.h"

typedef struct s6_watchdog s6_watchdog;
typedef struct s6_sink s6_sink;
typedef struct s6_ruleset s6_ruleset;

typedef struct s6_rule_src {
    int id;                  /* stable rule id, indexes the state store */
    const char *name;        /* must equal the rule's `name` */
    const char *chunkname;   /* shown in errors: "rules/trailing_stop.lua" */
    const char *source;
    size_t len;
    const char *params_json; /* {"base":{...},"regimes":{...}} or NULL */
} s6_rule_src;

typedef struct s6_rule_fault {
    int pos_index;           /* -1 when not inside a position's evaluation */
    int rule_id;
    int overrun;             /* 1 deadline, 0 error */
    int fatal;               /* the worker died or was killed under it */
    char message[512];       /* with chunkname:line when the rule raised */
} s6_rule_fault;

typedef void (*s6_fault_cb)(void *ud, const s6_rule_fault *fault);

typedef struct s6_ruleset_opts {
    const char *lua_dir;          /* the trusted modules, e.g. "lua" */
    size_t mem_limit;             /* bytes per Lua state */
    uint32_t deadline_ms;         /* per batch, plus per_eval below */
    double deadline_us_per_eval;  /* added per position in the batch */
    uint32_t load_deadline_ms;    /* compiling and self-checking */
    unsigned max_faults_per_rule; /* per batch, then the rule sits it out */
    const char *const *regimes;   /* regime names; index 0 is the default */
    size_t n_regimes;
    s6_watchdog *watchdog;        /* NULL: no deadline (stock LuaJIT) */
    /* Per rule and evaluation: actions beyond max_actions are dropped and
     * counted (s6_sink.capped), a state above max_state_bytes (as JSON) is
     * an error of the rule.  0: the defaults below. */
    unsigned max_actions;
    size_t max_state_bytes;
    /* Not NULL: the rule code runs in a worker process started from this
     * executable (docs/rule-worker.md), never in the calling process. */
    const char *worker_exe;
    size_t worker_as_limit;       /* the worker's address-space limit */
    /* Where the worker publishes the rule it is in (NULL: private). */
    s6_eval_progress *progress;
    s6_fault_cb on_fault;
    void *fault_ud;
} s6_ruleset_opts;

enum { S6_RULE_MAX_ACTIONS = 16, S6_RULE_MAX_STATE_BYTES = 16384 };

typedef struct s6_eval_report {
    size_t positions;        /* positions whose evaluation finished */
    unsigned errors;
    unsigned overruns;
    unsigned oom;            /* errors that were the memory cap */
} s6_eval_report;

/* Builds a ruleset; on failure *out is NULL and err says why (file:line). */
int s6_ruleset_new(const s6_ruleset_opts *opts, const s6_rule_src *rules,
                   size_t n, s6_ruleset **out, char *err, size_t errlen);
/* Runs every rule's probe on canned positions and its own self-checks. */
int s6_ruleset_self_check(s6_ruleset *rs, char *err, size_t errlen);
int s6_ruleset_eval(s6_ruleset *rs, const s6_pos_view *pos,
                    const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                    s6_state_store *store, s6_eval_report *report);
/*
 * The same evaluation without waiting for it, for a caller on a libuv
 * loop: a worker ruleset sends the batch and returns with *call set; the
 * loop takes the answer and runs done(ud, rc) (never from inside this
 * call).  pos, mkt, sink and store must live until then.  keep (optional)
 * is asked per position when its answer is back: 0 drops the position's
 * proposals and rule-state changes (it changed meanwhile).  *call NULL:
 * the evaluation ran to its end here (an in-process ruleset), rc is its
 * result and done is not called.
 */
typedef struct s6_eval_call s6_eval_call;
typedef struct s6_eval_async {
    struct uv_loop_s *loop;
    int (*keep)(void *ud, size_t pos_index);
    void (*done)(void *ud, int rc);
    void *ud;
} s6_eval_async;
int s6_ruleset_eval_start(s6_ruleset *rs, const s6_pos_view *pos,
                          const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                          s6_state_store *store, const s6_eval_async *a,
                          s6_eval_call **call);
/* An evaluation in flight, now: waits for its answer (at most its hard
 * limit) and delivers it (settle: done runs; cancel: it does not).  A
 * ruleset freed meanwhile stays until then; its faults are not reported
 * (its rules are no longer the live ones). */
void s6_eval_call_settle(s6_eval_call *call);
void s6_eval_call_cancel(s6_eval_call *call);
/* Names a slot's position (id, symbol) and drops the slot's cached state. */
int s6_ruleset_set_slot(s6_ruleset *rs, int slot, const char *id,
                        const char *symbol);
size_t s6_ruleset_mem_used(const s6_ruleset *rs);
/* 0 once the worker behind a ruleset died or was killed: the ruleset has
 * to be rebuilt (a new worker).  An in-process ruleset is always alive. */
int s6_ruleset_alive(const s6_ruleset *rs);
void s6_ruleset_free(s6_ruleset *rs);
