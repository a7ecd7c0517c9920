/* Shadow versions beside the live ones: evaluated, planned, compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/shadow.h"
#include "core/s6_core.h"

static const char *const KIND_NAMES[S6_SHADOW_KINDS] = {
    [S6_SHADOW_STOP] = "stop", [S6_SHADOW_REDUCE] = "reduce",
    [S6_SHADOW_ADD] = "add", [S6_SHADOW_HEDGE] = "hedge",
    [S6_SHADOW_EVENT] = "event"};

const char *s6_shadow_kind_name(int kind)
{
    return kind >= 0 && kind < S6_SHADOW_KINDS ? KIND_NAMES[kind] : "?";
}

static int grow(s6_shadow *sh, size_t n)
{
    if (n <= sh->cap)
        return S6_OK;
    s6_plan_sum *a = realloc(sh->live, n * sizeof *a);
    if (a != NULL)
        sh->live = a;
    s6_plan_sum *b = a != NULL ? realloc(sh->mine, n * sizeof *b) : NULL;
    if (b == NULL)
        return S6_ENOMEM;
    sh->mine = b;
    sh->cap = n;
    return S6_OK;
}

static int ready(s6_shadow *sh, const s6_state_store *live)
{
    if (sh->sink.v == NULL && s6_sink_init(&sh->sink, 1u << 20) != 0)
        return S6_ENOMEM;
    if (sh->merged.v == NULL && s6_sink_init(&sh->merged, 1u << 20) != 0)
        return S6_ENOMEM;
    if (sh->store.nslots != live->nslots || sh->store.nrules != live->nrules) {
        s6_state_store_free(&sh->store);
        return s6_state_store_init(&sh->store, live->nslots, live->nrules);
    }
    return S6_OK;
}

/* The shadow reads what the live version holds for each position. */
static void copy_states(s6_shadow *sh, const s6_rule_registry *reg,
                        const s6_pos_view *pos, size_t n,
                        const s6_state_store *live)
{
    for (int r = 0; r < reg->n; r++) {
        if (reg->rules[r].shadow == NULL)
            continue;
        for (size_t i = 0; i < n; i++) {
            size_t a = 0, b = 0;
            const char *want = s6_state_get(live, pos[i].slot, r, &a);
            const char *have = s6_state_get(&sh->store, pos[i].slot, r, &b);
            if (a != b || (a > 0 && memcmp(want, have, a) != 0) ||
                (want == NULL) != (have == NULL))
                (void)s6_state_set(&sh->store, pos[i].slot, r, want, a);
        }
    }
}

int s6_shadow_before(s6_shadow *sh, s6_rule_registry *reg,
                     const s6_pos_view *pos, const s6_mkt_view *mkt,
                     size_t n, const s6_state_store *live_store)
{
    sh->ran = false;
    if (reg->shadow_set == NULL || n == 0 || live_store == NULL)
        return S6_OK;
    int rc = ready(sh, live_store);
    if (rc == 0)
        rc = grow(sh, n);
    if (rc != 0)
        return rc;
    copy_states(sh, reg, pos, n, live_store);
    s6_sink_reset(&sh->sink);
    rc = s6_ruleset_eval(reg->shadow_set, pos, mkt, n, &sh->sink, &sh->store,
                         NULL);
    memset(sh->live, 0, n * sizeof *sh->live);
    sh->ran = rc == 0;
    return rc;
}

static void summarise(s6_plan_sum *s, const s6_plan *p)
{
    memset(s, 0, sizeof *s);
    s->stop = p->stop.active;
    s->stop_px = p->stop.active ? p->stop.price : 0;
    s->reduce = p->reduce.active;
    s->full_close = p->reduce.active && p->reduce.full_close;
    s->reduce_qty = p->reduce.active ? p->reduce.qty : 0;
    s->add = p->add.active;
    s->add_qty = p->add.active ? p->add.qty : 0;
    s->hedge = p->hedge.active;
    s->hedge_qty = p->hedge.active ? p->hedge.side * p->hedge.qty : 0;
    s->n_events = p->n_events;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < p->n_events; i++)
        for (const char *c = p->events[i].name; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
    s->events = h;
}

void s6_shadow_live_plan(s6_shadow *sh, size_t pi, const s6_plan *plan)
{
    if (sh->ran && pi < sh->cap)
        summarise(&sh->live[pi], plan);
}

/* The kinds in which two plans differ, as a bit mask. */
static unsigned differ(const s6_plan_sum *a, const s6_plan_sum *b)
{
    unsigned m = 0;
    if (a->stop != b->stop || a->stop_px != b->stop_px)
        m |= 1u << S6_SHADOW_STOP;
    if (a->reduce != b->reduce || a->full_close != b->full_close ||
        a->reduce_qty != b->reduce_qty)
        m |= 1u << S6_SHADOW_REDUCE;
    if (a->add != b->add || a->add_qty != b->add_qty)
        m |= 1u << S6_SHADOW_ADD;
    if (a->hedge != b->hedge || a->hedge_qty != b->hedge_qty)
        m |= 1u << S6_SHADOW_HEDGE;
    if (a->n_events != b->n_events || a->events != b->events)
        m |= 1u << S6_SHADOW_EVENT;
    return m;
}

/* One line an operator can read: what each side would have done. */
static void describe(char *out, size_t len, const s6_pos_view *pos,
                     unsigned mask, const s6_plan_sum *live,
                     const s6_plan_sum *mine)
{
    int k = 0;
    while (k < S6_SHADOW_KINDS && !(mask & (1u << k)))
        k++;
    double a = 0, b = 0;
    switch (k) {
    case S6_SHADOW_STOP: a = live->stop_px, b = mine->stop_px; break;
    case S6_SHADOW_REDUCE: a = live->reduce_qty, b = mine->reduce_qty; break;
    case S6_SHADOW_ADD: a = live->add_qty, b = mine->add_qty; break;
    case S6_SHADOW_HEDGE: a = live->hedge_qty, b = mine->hedge_qty; break;
    default: a = (double)live->n_events, b = (double)mine->n_events; break;
    }
    snprintf(out, len, "slot %d: %s %.10g live, %.10g shadow (0 = none)",
             pos->slot, s6_shadow_kind_name(k), a, b);
}

typedef struct plan_ctx {
    const s6_decide_hooks *user;
    s6_plan_sum *out;
} plan_ctx;

static int ctx_limits(void *ud, size_t pi, s6_symbol_filters *f,
                      s6_limits *lim)
{
    const plan_ctx *c = ud;
    return c->user->limits(c->user->ud, pi, f, lim);
}

static void ctx_plan(void *ud, size_t pi, const s6_plan *plan,
                     const s6_proposal *props, size_t n,
                     const s6_plan_versions *v)
{
    (void)props, (void)n, (void)v;
    summarise(&((plan_ctx *)ud)->out[pi], plan);
}

/* The live proposals of every rule but `id`, with the shadow's of `id`,
 * in (position, rule) order as the sink gives them. */
static void merge(s6_sink *out, const s6_sink *live, const s6_sink *shadow,
                  int id)
{
    s6_sink_reset(out);
    size_t i = 0, j = 0;
    for (;;) {
        while (i < live->n && live->v[i].rule_index == id)
            i++;
        while (j < shadow->n && shadow->v[j].rule_index != id)
            j++;
        if (i >= live->n && j >= shadow->n)
            return;
        const s6_proposal *a = i < live->n ? &live->v[i] : NULL;
        const s6_proposal *b = j < shadow->n ? &shadow->v[j] : NULL;
        int take_b = a == NULL ||
                     (b != NULL && (b->pos_index < a->pos_index ||
                                    (b->pos_index == a->pos_index &&
                                     b->rule_index < a->rule_index)));
        (void)s6_sink_put(out, take_b ? b : a);
        if (take_b)
            j++;
        else
            i++;
    }
}

void s6_shadow_compare(s6_shadow *sh, s6_rule_registry *reg,
                       const s6_pos_view *pos, const s6_mkt_view *mkt,
                       size_t n, const s6_sink *live,
                       const s6_decide_hooks *limits_from,
                       s6_shadow_count_fn count, void *ud)
{
    if (!sh->ran || n > sh->cap)
        return;
    for (int r = 0; r < reg->n; r++) {
        s6_rule_entry *e = &reg->rules[r];
        if (e->shadow == NULL)
            continue;
        merge(&sh->merged, live, &sh->sink, e->id);
        memset(sh->mine, 0, n * sizeof *sh->mine);
        plan_ctx c = {.user = limits_from, .out = sh->mine};
        s6_decide_hooks hooks = {.limits = ctx_limits, .plan = ctx_plan,
                                 .ud = &c};
        s6_decide_stats stats;
        if (s6_decide_batch(pos, mkt, n, sh->merged.v, sh->merged.n, &hooks,
                            &stats) != 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            unsigned mask = differ(&sh->live[i], &sh->mine[i]);
            e->shadow_evals++;
            if (mask == 0)
                continue;
            e->shadow_differed++;
            describe(e->shadow_last_diff, sizeof e->shadow_last_diff, &pos[i],
                     mask, &sh->live[i], &sh->mine[i]);
            for (int k = 0; k < S6_SHADOW_KINDS; k++) {
                if (!(mask & (1u << k)))
                    continue;
                e->shadow_diff[k]++;
                if (count != NULL)
                    count(ud, e, k);
            }
        }
    }
}

void s6_shadow_free(s6_shadow *sh)
{
    s6_sink_free(&sh->sink);
    s6_sink_free(&sh->merged);
    s6_state_store_free(&sh->store);
    free(sh->live);
    free(sh->mine);
    memset(sh, 0, sizeof *sh);
}
