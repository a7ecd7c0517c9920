/*
 * decide.h — from a batch of rule proposals to one guarded plan per
 * position.  The rule host leaves proposals in its sink in position order;
 * each position's run goes through s6_guard_plan (guard.h) and the plan is
 * handed to the caller, who executes, logs and counts it.  No I/O here.
 */
#pragma once

#include <stddef.h>

#include "contract/plan.h"

/* Up to this many rules contribute to one plan (stop, reduce, add, events). */
enum { S6_PLAN_MAX_RULES = 3 + S6_PLAN_MAX_EVENTS };

/* The rule versions a plan was made from: ids and their content hashes. */
typedef struct s6_plan_versions {
    size_t n;
    int ids[S6_PLAN_MAX_RULES];
    const char *hashes[S6_PLAN_MAX_RULES]; /* "?" when the id is unknown */
} s6_plan_versions;

typedef struct s6_decide_hooks {
    /* The symbol filters and risk limits of position pos_index; non-zero
     * refuses every proposal of that position (counted as unplanned). */
    int (*limits)(void *ud, size_t pos_index, s6_symbol_filters *f,
                  s6_limits *lim);
    /* One plan, valid during the call; props is the position's run and
     * versions the rules the plan holds, with their content hashes. */
    void (*plan)(void *ud, size_t pos_index, const s6_plan *plan,
                 const s6_proposal *props, size_t n,
                 const s6_plan_versions *versions);
    /* Optional: the guard refused nprops proposals of pos_index without a
     * plan (reason "limits", "view"), or dropped the ones beyond
     * S6_PLAN_MAX_PROPOSALS ("too_many") and planned the rest. */
    void (*refused)(void *ud, size_t pos_index, const char *reason,
                    size_t nprops);
    /* Optional, for a batch evaluated without waiting: asked for each
     * position when the rules' answer is back; 0 (the position changed
     * meanwhile: a fill, a close) drops its proposals and the rule-state
     * changes its evaluation made. */
    int (*current)(void *ud, size_t pos_index);
    /* Content hash of each rule by id (the registry's), for the plan. */
    const char *const *rule_hashes;
    size_t n_rule_hashes;
    void *ud;
} s6_decide_hooks;

typedef struct s6_decide_stats {
    size_t plans;              /* positions that got a plan */
    size_t accepted;           /* proposals that made it into a plan */
    size_t rejected;           /* proposals dropped by the guard */
    size_t unplanned;          /* proposals of positions the guard refused
                                  whole (no limits, bad view) or beyond
                                  S6_PLAN_MAX_PROPOSALS */
    unsigned by_code[S6_REJ_COUNT];
} s6_decide_stats;

/* Plans every position that has proposals.  props must be grouped by
 * pos_index in increasing order (the sink's order); n is the batch size. */
int s6_decide_batch(const s6_pos_view *pos, const s6_mkt_view *mkt, size_t n,
                    const s6_proposal *props, size_t nprops,
                    const s6_decide_hooks *hooks, s6_decide_stats *stats);

/* The distinct rules whose proposals the plan holds, so the plan can
 * record their versions.  Returns how many were written to ids. */
size_t s6_plan_rules(const s6_plan *plan, int ids[S6_PLAN_MAX_RULES]);
