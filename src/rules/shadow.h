/*
 * s6_shadow: a rule's shadow version evaluated beside its live version on
 * the same positions, its plan built by the same guard and compared with
 * the live plan, never acted on (docs/rules.md, "Deploying safely").
 *
 * Per batch: s6_shadow_before (the shadow versions evaluate first, on the
 * states the live versions hold before this batch), then the live batch
 * reports each live plan (s6_shadow_live_plan), then s6_shadow_compare
 * plans each shadow — the live proposals of every other rule plus the
 * shadow's own — and counts where it differs.  The shadow's own state
 * changes are discarded: both versions always answer the same question.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/decide.h"
#include "rules/registry.h"
#include "rules/sink.h"
#include "rules/state_store.h"

/* What a plan does, reduced to what a comparison needs. */
typedef struct s6_plan_sum {
    bool stop, reduce, full_close, add, hedge;
    double stop_px, reduce_qty, add_qty, hedge_qty;
    size_t n_events;
    uint64_t events;       /* hash of the event names, in order */
} s6_plan_sum;

typedef struct s6_shadow {
    s6_sink sink;          /* the shadow versions' proposals */
    s6_sink merged;        /* one shadow's plan input */
    s6_state_store store;  /* the live states, copied per batch */
    s6_plan_sum *live, *mine;
    size_t cap;
    bool ran;              /* this batch's shadow evaluation succeeded */
} s6_shadow;

/* Called once per difference: the rule and the kind (s6_shadow_kind). */
typedef void (*s6_shadow_count_fn)(void *ud, const s6_rule_entry *e,
                                   int kind);

/* Evaluates the shadow versions on the batch (nothing when none). */
int s6_shadow_before(s6_shadow *sh, s6_rule_registry *reg,
                     const s6_pos_view *pos, const s6_mkt_view *mkt,
                     size_t n, const s6_state_store *live_store);
/* The live plan of position pi (from the batch's plan hook). */
void s6_shadow_live_plan(s6_shadow *sh, size_t pi, const s6_plan *plan);
/* Plans each shadow with the batch's limits and counts the differences
 * into its entry (and through count, when not NULL). */
void s6_shadow_compare(s6_shadow *sh, s6_rule_registry *reg,
                       const s6_pos_view *pos, const s6_mkt_view *mkt,
                       size_t n, const s6_sink *live,
                       const s6_decide_hooks *limits_from,
                       s6_shadow_count_fn count, void *ud);
void s6_shadow_free(s6_shadow *sh);
/* "stop", "reduce", ... for a kind. */
const char *s6_shadow_kind_name(int kind);
