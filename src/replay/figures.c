/*
 * figures.c — equity, drawdown and time in market of a replay, and where
 * two timelines part.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/s6_errors.h"
#include "replay/figures.h"

void s6_equity_sample(s6_equity_run *e, double equity)
{
    e->equity = equity;
    if (equity > e->peak)
        e->peak = equity;
    if (e->peak - equity > e->max_drawdown)
        e->max_drawdown = e->peak - equity;
}

void s6_equity_quantity(s6_equity_run *e, double t, double qty)
{
    if (!e->open && qty > 0) {
        e->open = true;
        e->open_since = t;
    } else if (e->open && qty <= 0) {
        e->open = false;
        e->time_in += t - e->open_since;
    }
}

double s6_equity_time_in_market(const s6_equity_run *e, double end)
{
    return e->time_in + (e->open && end > e->open_since ? end - e->open_since
                                                        : 0);
}

void s6_replay_result_free(s6_replay_result *r)
{
    free(r->pos_id);
    free(r->symbol);
    free(r->pos);
    free(r->events);
    memset(r, 0, sizeof *r);
}

int s6_replay_result_event(s6_replay_result *r, const s6_replay_event *ev)
{
    if (r->n_events == r->cap_events) {
        size_t cap = r->cap_events ? r->cap_events * 2 : 64;
        s6_replay_event *v = realloc(r->events, cap * sizeof *v);
        if (v == NULL)
            return S6_ENOMEM;
        r->events = v;
        r->cap_events = cap;
    }
    r->events[r->n_events++] = *ev;
    return 0;
}

static bool same_event(const s6_replay_event *a, const s6_replay_event *b)
{
    return a->ts == b->ts && a->pos == b->pos && a->price == b->price &&
           a->value == b->value && strcmp(a->type, b->type) == 0;
}

long s6_replay_first_divergence(const s6_replay_result *a,
                                const s6_replay_result *b)
{
    size_t n = a->n_events < b->n_events ? a->n_events : b->n_events;
    for (size_t i = 0; i < n; i++)
        if (!same_event(&a->events[i], &b->events[i]))
            return (long)i;
    return a->n_events == b->n_events ? -1 : (long)n;
}
