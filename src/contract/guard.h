/*
 * guard.h — the host's invariants over rule proposals (docs/invariants.md).
 *
 * Rules propose, the host disposes: every proposal is checked against the
 * position, the market, the symbol's filters and the risk limits before it
 * may become an order, then the survivors merge into one plan (plan.h).
 */
#pragma once

#include "contract/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Checks one proposal on its own (no merge).  Returns S6_REJ_NONE and fills
 * cand (rounded price or quantity, full-close decision, ...), or a
 * rejection code with its reason in why.  The arguments must already be
 * valid (s6_guard_plan checks them).
 */
int s6_guard_check(const s6_pos_view *pos, const s6_mkt_view *mkt,
                   const s6_symbol_filters *f, const s6_limits *lim,
                   const s6_proposal *prop, int index, s6_plan_action *cand,
                   char *why, size_t why_len);

/*
 * Validates the n proposals for one position and merges them into out.
 * Every proposal ends either in the plan or in out->rejects, with a code
 * and a reason.  Returns 0; S6_EINVAL when an argument is NULL, a view,
 * filter or limit is invalid (NaN mark, side 0, tick <= 0, ...), or the
 * proposals name different positions or a negative rule other than
 * S6_RULE_MANUAL; S6_ERANGE when n > S6_PLAN_MAX_PROPOSALS.  On error out
 * is an empty plan: nothing is done on input the host cannot trust.
 */
int s6_guard_plan(const s6_pos_view *pos, const s6_mkt_view *mkt,
                  const s6_symbol_filters *f, const s6_limits *lim,
                  const s6_proposal *props, size_t n, s6_plan *out);

#ifdef __cplusplus
}
#endif
