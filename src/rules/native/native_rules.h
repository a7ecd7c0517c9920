/*
 * native_rules.h — the native-C reference of the shipped rules.
 *
 * The six rules of rules/ (add_on, atr_stop, hedge, stagnation, tp_ladder,
 * trailing_stop) written in C, with the same defaults, the same proposals
 * and the same state transitions.  It exists for two reasons:
 *
 *   - it is the limit every benchmark compares the Lua rule host against
 *     (tests/bench/bench_rules.c, and later the engine and replay ones):
 *     "how fast would the rules be if they were compiled C";
 *   - tests/rules_host/test_native_equiv.c evaluates both on the same inputs
 *     and requires the same proposals and equivalent states, so the two
 *     cannot drift apart silently.
 *
 * Same shape as the Lua path (s6_ruleset_eval): a batch of n positions, the
 * market view of each, proposals into the same s6_sink, with the same kind,
 * price, qty, fraction (NaN where the action carries none, as the Lua host
 * writes them), event name and reason text.  Proposals are numbered by the
 * position's index in the batch and tagged with the rule's id; within a
 * position, rules run in file order (s6_native_rule), as the Lua host runs
 * the shipped folder.
 *
 * Differences from the Lua path, by design:
 *   - one parameter set for every regime (the Lua host can overlay config
 *     per regime; the shipped defaults are the same for all);
 *   - state is a C struct per position (s6_native_state), not JSON: each
 *     field says which Lua state field it mirrors;
 *   - no sandbox, memory cap or deadline: it is trusted C.
 * The rules' own words in docs/rules.md are the specification of both.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "contract/s6_rule_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rules, in the order of their files (the registry's ids for the
 * shipped folder, which it numbers alphabetically). */
typedef enum s6_native_rule {
    S6_NATIVE_ADD_ON = 0,
    S6_NATIVE_ATR_STOP,
    S6_NATIVE_HEDGE,
    S6_NATIVE_STAGNATION,
    S6_NATIVE_TP_LADDER,
    S6_NATIVE_TRAILING_STOP,
    S6_NATIVE_NRULES
} s6_native_rule;

enum { S6_NATIVE_MAX_STEPS = 8 };

/* trailing_stop: ROE reached -> ROE locked by the stop, net of fees. */
typedef struct s6_native_lock_step {
    double roe;       /* threshold, fraction of the margin (>=) */
    double lock_roe;  /* ROE the stop keeps after fees; 0 = net breakeven */
} s6_native_lock_step;

typedef struct s6_native_trailing_params {
    s6_native_lock_step steps[S6_NATIVE_MAX_STEPS];
    int n_steps;      /* default 2: 10% -> 0%, 20% -> 10% */
    double min_move;  /* fraction of the mark, default 0.0005 */
} s6_native_trailing_params;

typedef struct s6_native_atr_params {
    double k;         /* ATRs, default 2 */
    double min_move;  /* fraction of the mark, default 0.0005 */
} s6_native_atr_params;

/* tp_ladder rung: entry > 0 closes entry_qty[entry - 1] (Lua's
 * `entry = n`), else fraction of the remaining quantity. */
typedef struct s6_native_rung {
    double roe;
    int entry;
    double fraction;
} s6_native_rung;

typedef struct s6_native_tp_params {
    s6_native_rung steps[S6_NATIVE_MAX_STEPS];
    int n_steps;      /* default 1: ROE >= 12% -> close entry 1 */
} s6_native_tp_params;

typedef struct s6_native_add_on_params {
    double thresholds[S6_NATIVE_MAX_STEPS]; /* ROE for add 1, 2, ... */
    int n_thresholds; /* default 2: 5%, 10% */
    int cap;          /* default 2 */
    double min_interval; /* seconds, default 300 */
    double gamma;     /* size decay, default 0.5 */
} s6_native_add_on_params;

typedef struct s6_native_hedge_params {
    double deadband;  /* fraction of |E*| under which no hedge, default 0.05 */
    double min_quote; /* quote gap under which no hedge, default 10 */
} s6_native_hedge_params;

typedef struct s6_native_stagnation_params {
    double t_stagnation; /* seconds, default 14400 */
    double roe_min;      /* band +-roe_min, default 0.02 */
} s6_native_stagnation_params;

typedef struct s6_native_rules {
    s6_native_add_on_params add_on;
    s6_native_atr_params atr_stop;
    s6_native_hedge_params hedge;
    s6_native_stagnation_params stagnation;
    s6_native_tp_params tp_ladder;
    s6_native_trailing_params trailing_stop;
    /* The id each rule's proposals carry (s6_proposal.rule_index); a
     * negative id leaves the rule out.  Defaults 0..5 in enum order, which
     * is what the registry assigns to the shipped folder. */
    int rule_id[S6_NATIVE_NRULES];
} s6_native_rules;

/*
 * One position's state, one small struct per rule.  A fresh position is
 * all zeros (memset or {0}), like the Lua host's `{}`.
 */
typedef struct s6_native_state {
    struct { double proposed_at; } add_on;  /* state.proposed_at, 0 = none */
    struct { bool flagged; } stagnation;    /* state.flagged (absent = false) */
    struct { int step; } tp_ladder;         /* state.step, rungs fired */
    struct { int step; } trailing_stop;     /* state.step, highest lock step */
} s6_native_state;

/* Fills nr with the defaults of the rules/ files and ids 0..5. */
void s6_native_rules_init(s6_native_rules *nr);

/*
 * Takes each rule's id from a registry that loaded the shipped folder, so
 * both paths tag proposals alike.  Returns 0, or S6_EINVAL when a rule is
 * missing or the registry holds other rules too (the Lua path would then
 * do work the reference does not).
 */
typedef struct s6_rule_registry s6_rule_registry;
int s6_native_rules_bind(s6_native_rules *nr, const s6_rule_registry *reg);

/* The rule's name ("trailing_stop"), NULL outside the enum. */
const char *s6_native_rule_name(int rule);

/* The S6_TRIG_* bits the rule answers, as its Lua file lists them. */
unsigned s6_native_rule_triggers(int rule);

/*
 * Evaluates every rule on positions pos[0..n) with markets mkt[0..n) (a
 * rule runs only if mkt[i].trigger is one of its triggers).  states is
 * indexed by pos[i].slot, like the Lua host's state store; the caller
 * sizes it.  Proposals go to sink (a full sink drops and counts them, as
 * for the Lua path).  Returns 0, or S6_EINVAL for a NULL argument or a
 * negative slot.
 */
int s6_native_eval(const s6_native_rules *nr, const s6_pos_view *pos,
                   const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                   s6_native_state *states);

#ifdef __cplusplus
}
#endif
