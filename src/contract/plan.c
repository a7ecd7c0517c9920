/*
 * The merge: proposals that passed their own checks compete for the plan's
 * three action slots and its event list by a fixed precedence
 * (docs/invariants.md, "Precedence").  The principle is "the safer one
 * wins": the tightest stop, the largest reduce, the smallest add; equal
 * proposals go to the lower rule index, so the outcome never depends on the
 * order the rule host happened to evaluate rules in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "contract/plan.h"

static const char *const reject_names[S6_REJ_COUNT] = {
    [S6_REJ_NONE] = "none",
    [S6_REJ_KIND] = "kind",
    [S6_REJ_STRAY_FIELD] = "stray_field",
    [S6_REJ_PRICE] = "price",
    [S6_REJ_QTY] = "qty",
    [S6_REJ_FRACTION] = "fraction",
    [S6_REJ_AMBIGUOUS] = "ambiguous",
    [S6_REJ_STOP_IN_FLIGHT] = "stop_in_flight",
    [S6_REJ_STOP_WRONG_SIDE] = "stop_wrong_side",
    [S6_REJ_STOP_ROUNDED_PAST_MARK] = "stop_rounded_past_mark",
    [S6_REJ_STOP_NOT_TIGHTER] = "stop_not_tighter",
    [S6_REJ_STOP_MOVE_TOO_SMALL] = "stop_move_too_small",
    [S6_REJ_REDUCE_TOO_SMALL] = "reduce_too_small",
    [S6_REJ_DAILY_LOSS] = "daily_loss",
    [S6_REJ_ADD_IN_FLIGHT] = "add_in_flight",
    [S6_REJ_ADD_CAP] = "add_cap",
    [S6_REJ_ADD_INTERVAL] = "add_interval",
    [S6_REJ_CONCURRENCY] = "concurrency",
    [S6_REJ_LEVERAGE] = "leverage",
    [S6_REJ_ADD_TOO_SMALL] = "add_too_small",
    [S6_REJ_MAX_QTY] = "max_qty",
    [S6_REJ_MAX_NOTIONAL] = "max_notional",
    [S6_REJ_RISK_BUDGET] = "risk_budget",
    [S6_REJ_EVENT_NAME] = "event_name",
    [S6_REJ_EVENT_DUPLICATE] = "event_duplicate",
    [S6_REJ_EVENTS_FULL] = "events_full",
    [S6_REJ_OUTRANKED] = "outranked",
    [S6_REJ_CLOSE_DROPS_STOP] = "close_drops_stop",
    [S6_REJ_REDUCE_DROPS_ADD] = "reduce_drops_add",
    [S6_REJ_HEDGE_MARKET] = "hedge_market",
    [S6_REJ_HEDGE_IN_FLIGHT] = "hedge_in_flight",
    [S6_REJ_HEDGE_TOO_SMALL] = "hedge_too_small",
    [S6_REJ_SIZE_DROPS_HEDGE] = "size_drops_hedge",
};

const char *s6_reject_name(int code)
{
    if (code < 0 || code >= S6_REJ_COUNT || reject_names[code] == NULL)
        return "unknown";
    return reject_names[code];
}

/* The event and rejection arrays are written entry by entry as they fill;
 * clearing their 8 KB on every evaluation was a fifth of the guard's time. */
void s6_plan_init(s6_plan *plan, int slot)
{
    memset(plan, 0, offsetof(s6_plan, events));
    plan->slot = slot;
    plan->n_events = 0;
    plan->n_rejects = 0;
}

static void add_reject(s6_plan *plan, int index, int rule_index, int kind,
                       int code, const char *fmt, va_list ap)
{
    /* Full only if a caller rejects one proposal twice: s6_guard_plan
     * takes at most S6_PLAN_MAX_PROPOSALS and rejects each at most once. */
    if (plan->n_rejects >= S6_PLAN_MAX_PROPOSALS)
        return;
    s6_plan_reject *r = &plan->rejects[plan->n_rejects++];
    r->proposal = index;
    r->rule_index = rule_index;
    r->kind = kind;
    r->code = code;
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
}

void s6_plan_drop(s6_plan *plan, const s6_proposal *prop, int index,
                  int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_reject(plan, index, prop->rule_index, prop->kind, code, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5)))
static void reject_action(s6_plan *plan, const s6_plan_action *a, int code,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_reject(plan, a->proposal, a->rule_index, a->kind, code, fmt, ap);
    va_end(ap);
}

const s6_plan_reject *s6_plan_find_reject(const s6_plan *plan, int index)
{
    for (size_t i = 0; i < plan->n_rejects; i++)
        if (plan->rejects[i].proposal == index)
            return &plan->rejects[i];
    return NULL;
}

/* ---- contests for the three action slots ---- */

static int sign(double x) { return (x > 0) - (x < 0); }

/* Each returns > 0 when a is the safer action, < 0 when b is, 0 on a tie. */
static int rank_stop(const s6_plan_action *a, const s6_plan_action *b,
                     int side)
{
    return sign(side * (a->price - b->price));
}

static int rank_reduce(const s6_plan_action *a, const s6_plan_action *b,
                       int side)
{
    (void)side;
    if (a->full_close != b->full_close)
        return a->full_close ? 1 : -1;
    return a->full_close ? 0 : sign(a->qty - b->qty);
}

static int rank_add(const s6_plan_action *a, const s6_plan_action *b,
                    int side)
{
    (void)side;
    return sign(b->qty - a->qty);
}

typedef int (*s6__rank_fn)(const s6_plan_action *, const s6_plan_action *,
                           int);

static const struct contest_rule {
    s6__rank_fn rank;
    const char *wins; /* the precedence, as the losers' reason states it */
} contests[] = {
    [S6_ACT_STOP] = {rank_stop, "the tightest stop wins"},
    [S6_ACT_REDUCE] = {rank_reduce, "a close beats a reduce, the largest "
                                    "reduce wins"},
    [S6_ACT_CLOSE] = {rank_reduce, "a close beats a reduce, the largest "
                                   "reduce wins"},
    [S6_ACT_ADD] = {rank_add, "the smallest add wins"},
    /* rules that disagree on a hedge: the smaller trade can be wrong by
     * less, and the next evaluation sees its fill */
    [S6_ACT_HEDGE] = {rank_add, "the smallest hedge wins"},
};

static bool earlier(const s6_plan_action *a, const s6_plan_action *b)
{
    if (a->rule_index != b->rule_index)
        return a->rule_index < b->rule_index;
    return a->proposal < b->proposal;
}

static s6_plan_action *slot_for(s6_plan *plan, int kind)
{
    switch (kind) {
    case S6_ACT_STOP: return &plan->stop;
    case S6_ACT_REDUCE:
    case S6_ACT_CLOSE: return &plan->reduce;
    case S6_ACT_ADD: return &plan->add;
    case S6_ACT_HEDGE: return &plan->hedge;
    default: return NULL;
    }
}

static void contest(s6_plan *plan, s6_plan_action *slot,
                    const s6_plan_action *cand, int side)
{
    if (!slot->active) {
        *slot = *cand;
        slot->active = true;
        return;
    }
    const struct contest_rule *c = &contests[cand->kind];
    int r = c->rank(cand, slot, side);
    s6_plan_action win = *slot, lose = *cand;
    if (r > 0 || (r == 0 && earlier(cand, slot))) {
        win = *cand;
        lose = *slot;
    }
    reject_action(plan, &lose, S6_REJ_OUTRANKED,
                  "%s: rule %d's proposal #%d wins", r == 0
                      ? "equal proposals: the lower rule index wins"
                      : c->wins,
                  win.rule_index, win.proposal);
    /* a tighter stop locks at least the step a looser one reached */
    if (win.kind == S6_ACT_STOP && lose.step > win.step)
        win.step = lose.step;
    *slot = win;
    slot->active = true;
}

/* ---- events: all pass, once per name ---- */

static void offer_event(s6_plan *plan, const s6_proposal *props,
                        const s6_plan_action *cand)
{
    const char *name = props[cand->proposal].name;
    for (size_t i = 0; i < plan->n_events; i++) {
        s6_plan_event *e = &plan->events[i];
        if (strncmp(e->name, name, sizeof e->name) != 0)
            continue;
        s6_plan_action held = {.kind = S6_ACT_EVENT, .proposal = e->proposal,
                               .rule_index = e->rule_index};
        const s6_plan_action *lose = cand;
        if (earlier(cand, &held)) {
            e->proposal = cand->proposal;
            e->rule_index = cand->rule_index;
            lose = &held;
        }
        reject_action(plan, lose, S6_REJ_EVENT_DUPLICATE,
                      "event %s is already emitted by rule %d", e->name,
                      e->rule_index);
        return;
    }
    if (plan->n_events >= S6_PLAN_MAX_EVENTS) {
        reject_action(plan, cand, S6_REJ_EVENTS_FULL,
                      "a plan holds %d distinct events", S6_PLAN_MAX_EVENTS);
        return;
    }
    s6_plan_event *e = &plan->events[plan->n_events++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->proposal = cand->proposal;
    e->rule_index = cand->rule_index;
}

void s6_plan_offer(s6_plan *plan, const s6_proposal *props, int side,
                   const s6_plan_action *cand)
{
    if (cand->kind == S6_ACT_EVENT) {
        offer_event(plan, props, cand);
        return;
    }
    s6_plan_action *slot = slot_for(plan, cand->kind);
    if (slot != NULL)
        contest(plan, slot, cand, side);
}

/* ---- precedence across kinds ---- */

void s6_plan_finish(s6_plan *plan)
{
    const s6_plan_action *red = &plan->reduce;
    if (red->active && plan->add.active) {
        reject_action(plan, &plan->add, S6_REJ_REDUCE_DROPS_ADD,
                      "the plan %s (rule %d): no add in the same plan",
                      red->full_close ? "closes the position" : "reduces",
                      red->rule_index);
        plan->add.active = false;
    }
    if (red->active && red->full_close && plan->stop.active) {
        reject_action(plan, &plan->stop, S6_REJ_CLOSE_DROPS_STOP,
                      "the plan closes the position (rule %d): no stop move",
                      red->rule_index);
        plan->stop.active = false;
    }
    /* The hedge was computed from the spot quantity before this plan;
     * once the reduce or add fills, the next evaluation sizes it right. */
    const s6_plan_action *resizing = red->active ? red
                                     : plan->add.active ? &plan->add : NULL;
    if (resizing != NULL && plan->hedge.active) {
        reject_action(plan, &plan->hedge, S6_REJ_SIZE_DROPS_HEDGE,
                      "the plan %s the spot position (rule %d): the hedge "
                      "waits for the fill", red->active ? "reduces" : "adds to",
                      resizing->rule_index);
        plan->hedge.active = false;
    }
    const s6_plan_action *resize =
        red->active ? (red->full_close ? NULL : red)
                    : (plan->add.active ? &plan->add : NULL);
    plan->stop_resize = resize != NULL;
    plan->stop_qty = resize != NULL ? resize->after_qty : 0.0;
}
