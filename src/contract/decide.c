#include <stdlib.h>
#include <string.h>

#include "contract/decide.h"
#include "contract/guard.h"
#include "core/s6_core.h"

static void count(const s6_plan *plan, size_t nprops, s6_decide_stats *st)
{
    st->plans++;
    st->rejected += plan->n_rejects;
    st->accepted += nprops - plan->n_rejects;
    for (size_t i = 0; i < plan->n_rejects; i++) {
        int code = plan->rejects[i].code;
        if (code > 0 && code < S6_REJ_COUNT)
            st->by_code[code]++;
    }
}

static void refuse(const s6_decide_hooks *hooks, s6_decide_stats *st,
                   size_t pi, const char *reason, size_t n)
{
    st->unplanned += n;
    if (hooks->refused != NULL)
        hooks->refused(hooks->ud, pi, reason, n);
}

/* One position's run of proposals.  A run longer than the guard takes
 * loses its tail, not the whole plan: one rule's flood must not veto the
 * others' stops. */
static void decide_one(const s6_pos_view *pos, const s6_mkt_view *mkt,
                       size_t pi, const s6_proposal *run, size_t nrun,
                       const s6_decide_hooks *hooks, s6_decide_stats *st,
                       s6_plan *plan)
{
    s6_symbol_filters f;
    s6_limits lim;
    memset(&f, 0, sizeof f);
    memset(&lim, 0, sizeof lim);
    if (nrun > S6_PLAN_MAX_PROPOSALS) {
        refuse(hooks, st, pi, "too_many", nrun - S6_PLAN_MAX_PROPOSALS);
        nrun = S6_PLAN_MAX_PROPOSALS;
    }
    if (hooks->limits(hooks->ud, pi, &f, &lim) != 0) {
        refuse(hooks, st, pi, "limits", nrun);
        return;
    }
    if (s6_guard_plan(&pos[pi], &mkt[pi], &f, &lim, run, nrun, plan) != 0) {
        refuse(hooks, st, pi, "view", nrun);
        return;
    }
    count(plan, nrun, st);
    s6_plan_versions v;
    v.n = s6_plan_rules(plan, v.ids);
    for (size_t i = 0; i < v.n; i++)
        v.hashes[i] = v.ids[i] >= 0 && (size_t)v.ids[i] < hooks->n_rule_hashes &&
                              hooks->rule_hashes[v.ids[i]] != NULL
                          ? hooks->rule_hashes[v.ids[i]] : "?";
    hooks->plan(hooks->ud, pi, plan, run, nrun, &v);
}

int s6_decide_batch(const s6_pos_view *pos, const s6_mkt_view *mkt, size_t n,
                    const s6_proposal *props, size_t nprops,
                    const s6_decide_hooks *hooks, s6_decide_stats *stats)
{
    if (pos == NULL || mkt == NULL || (props == NULL && nprops > 0) ||
        hooks == NULL || hooks->limits == NULL || hooks->plan == NULL ||
        stats == NULL)
        return S6_EINVAL;
    memset(stats, 0, sizeof *stats);
    s6_plan *plan = nprops > 0 ? malloc(sizeof *plan) : NULL; /* ~8 KB */
    if (nprops > 0 && plan == NULL)
        return S6_ERANGE;
    for (size_t i = 0; i < nprops;) {
        size_t j = i + 1;
        while (j < nprops && props[j].pos_index == props[i].pos_index)
            j++;
        int pi = props[i].pos_index;
        if (pi < 0 || (size_t)pi >= n || (i > 0 && pi < props[i - 1].pos_index))
            stats->unplanned += j - i; /* out of order: trust nothing */
        else
            decide_one(pos, mkt, (size_t)pi, props + i, j - i, hooks, stats,
                       plan);
        i = j;
    }
    free(plan);
    return S6_OK;
}

static size_t add_id(int ids[], size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return n;
    ids[n] = id;
    return n + 1;
}

size_t s6_plan_rules(const s6_plan *plan, int ids[S6_PLAN_MAX_RULES])
{
    size_t n = 0;
    if (plan == NULL || ids == NULL)
        return 0;
    const s6_plan_action *acts[] = {&plan->stop, &plan->reduce, &plan->add};
    for (size_t i = 0; i < 3; i++)
        if (acts[i]->active)
            n = add_id(ids, n, acts[i]->rule_index);
    for (size_t i = 0; i < plan->n_events; i++)
        n = add_id(ids, n, plan->events[i].rule_index);
    return n;
}
