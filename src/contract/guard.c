/*
 * The host's invariants over rule proposals (docs/invariants.md).  Each
 * invariant is one short check or one row of a table; a table per action
 * kind lists its fields, its gates (yes/no facts such as "an add is in
 * flight") and its checks in order, cheapest refusals first, and the first
 * refusal names the rejection.  Checks that pass may fill the candidate
 * (the rounded stop, the rounded quantity, the full-close decision) for
 * the next ones.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "contract/guard.h"
#include "core/s6_core.h"

/* Relative slack for comparing sums and products of grid values:
 * 0.1 + 0.2 must not exceed a limit of 0.3. */
#define S6__EPS 1e-9

typedef struct s6__guard {
    const s6_pos_view *pos;
    const s6_mkt_view *mkt;
    const s6_symbol_filters *f;
    const s6_limits *lim;
    const s6_proposal *prop;
    s6_plan_action *cand;
    char *why;
    size_t why_len;
} s6__guard;

typedef int (*s6__check_fn)(s6__guard *g);

__attribute__((format(printf, 3, 4)))
static int refuse(s6__guard *g, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (g->why_len > 0)
        vsnprintf(g->why, g->why_len, fmt, ap);
    va_end(ap);
    return code;
}

static bool at_most(double a, double b)
{
    return a <= b + S6__EPS * fmax(fabs(a), fabs(b));
}

static bool at_least(double a, double b) { return at_most(b, a); }

static const char *side_name(int side) { return side > 0 ? "long" : "short"; }

/* Under min qty or min notional at the mark: not an order the exchange
 * takes (and, for what remains of a position, dust). */
static bool below_minimum(const s6__guard *g, double qty)
{
    return !(qty > 0) || !at_least(qty, g->f->min_qty) ||
           !at_least(qty * g->mkt->mark, g->f->min_notional);
}

/* Rounds |want| down to the step into *q (so an order never exceeds what
 * was asked); refuses a quantity off every grid (qty) or under the
 * exchange minimums (too_small).  what names the kind in the reason. */
static int on_step(s6__guard *g, const char *what, double want,
                   int too_small, double *q)
{
    *q = s6_round_qty(fabs(want), g->f->step);
    if (isnan(*q))
        return refuse(g, S6_REJ_QTY, "%s %.10g does not round to the step "
                      "%.10g", what, want, g->f->step);
    if (below_minimum(g, *q))
        return refuse(g, too_small, "%s %.10g is %.10g on the step %.10g: "
                      "under min qty %.10g or min notional %.10g", what, want,
                      *q, g->f->step, g->f->min_qty, g->f->min_notional);
    return S6_REJ_NONE;
}

/* ---- fields ---- */

static bool positive(double x) { return isfinite(x) && x > 0; }
static bool in_unit(double x) { return isfinite(x) && x > 0 && x <= 1; }
static bool signed_nonzero(double x) { return isfinite(x) && x != 0; }

/* F_SIGNED: required, and its sign means something (a hedge's direction). */
enum { F_NONE, F_REQUIRED, F_OPTIONAL, F_SIGNED };

static const struct field {
    const char *name;
    size_t off;
    bool (*ok)(double);
    int code;
    const char *want;
} fields[] = {
    {"price", offsetof(s6_proposal, price), positive, S6_REJ_PRICE,
     "a finite number > 0"},
    {"qty", offsetof(s6_proposal, qty), positive, S6_REJ_QTY,
     "a finite number > 0"},
    {"fraction", offsetof(s6_proposal, fraction), in_unit, S6_REJ_FRACTION,
     "in (0, 1]"},
};
enum { N_FIELDS = sizeof fields / sizeof fields[0] };

static double field_value(const s6_proposal *p, const struct field *fl)
{
    double v;
    memcpy(&v, (const char *)p + fl->off, sizeof v);
    return v;
}

/* A field the kind does not carry must be absent; one it carries must be
 * valid (an optional one may be absent). */
static int check_fields(s6__guard *g, const char *kind_name,
                        const unsigned char *use)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field *fl = &fields[i];
        double v = field_value(g->prop, fl);
        if (use[i] == F_NONE && !s6_absent(v))
            return refuse(g, S6_REJ_STRAY_FIELD, "%s=%.10g is not a field "
                          "of a %s", fl->name, v, kind_name);
        if (use[i] == F_NONE || (use[i] == F_OPTIONAL && s6_absent(v)))
            continue;
        bool sig = use[i] == F_SIGNED;
        if (!(sig ? signed_nonzero(v) : fl->ok(v)))
            return refuse(g, fl->code, "%s %.10g is not %s", fl->name, v,
                          sig ? "a finite number other than 0" : fl->want);
    }
    return S6_REJ_NONE;
}

/* ---- stop ---- */

static bool protective(int side, double stop, double mark)
{
    return side * (mark - stop) > 0;
}

static int stop_protective(s6__guard *g)
{
    int side = g->pos->side;
    if (!protective(side, g->prop->price, g->mkt->mark))
        return refuse(g, S6_REJ_STOP_WRONG_SIDE, "stop %.10g is not %s the "
                      "mark %.10g (%s)", g->prop->price,
                      side > 0 ? "below" : "above", g->mkt->mark,
                      side_name(side));
    return S6_REJ_NONE;
}

/* Tighter on the tick (up for a long, down for a short), and the rounding
 * must not carry it to the mark. */
static int stop_rounded(s6__guard *g)
{
    int side = g->pos->side;
    double px = s6_round_stop(side, g->prop->price, g->f->tick);
    if (isnan(px))
        return refuse(g, S6_REJ_PRICE, "stop %.10g does not round to the "
                      "tick %.10g", g->prop->price, g->f->tick);
    g->cand->price = px;
    if (!protective(side, px, g->mkt->mark))
        return refuse(g, S6_REJ_STOP_ROUNDED_PAST_MARK, "stop %.10g rounds "
                      "%s to %.10g, not %s the mark %.10g", g->prop->price,
                      side > 0 ? "up" : "down", px,
                      side > 0 ? "below" : "above", g->mkt->mark);
    return S6_REJ_NONE;
}

static int stop_tightens(s6__guard *g)
{
    double cur = g->pos->stop, px = g->cand->price;
    int side = g->pos->side;
    bool manual = g->prop->rule_index == S6_RULE_MANUAL &&
                  g->lim->manual_loosen_allowed;
    if (cur == 0 || manual || side * (px - cur) > 0)
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_STOP_NOT_TIGHTER, "stop %.10g does not tighten "
                  "the current %.10g (%s)", px, cur, side_name(side));
}

static int stop_moves_enough(s6__guard *g)
{
    double cur = g->pos->stop;
    if (cur == 0)
        return S6_REJ_NONE;
    double moved = fabs(g->cand->price - cur);
    double need = g->lim->min_stop_move_frac * g->mkt->mark;
    if (moved > 0 && at_least(moved, need))
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_STOP_MOVE_TOO_SMALL, "stop moves %.10g, the "
                  "minimum is %.10g (%.4g of the mark)", moved, need,
                  g->lim->min_stop_move_frac);
}

/* ---- reduce and close ---- */

static void full_close(s6__guard *g)
{
    g->cand->full_close = true;
    g->cand->qty = g->pos->qty;
    g->cand->after_qty = 0;
}

static int reduce_one_amount(s6__guard *g)
{
    bool has_qty = !s6_absent(g->prop->qty);
    bool has_frac = !s6_absent(g->prop->fraction);
    if (has_qty && has_frac)
        return refuse(g, S6_REJ_AMBIGUOUS, "a reduce takes qty or fraction, "
                      "not both (qty %.10g, fraction %.10g)", g->prop->qty,
                      g->prop->fraction);
    if (!has_qty && !has_frac)
        return refuse(g, S6_REJ_QTY, "a reduce needs qty or fraction");
    return S6_REJ_NONE;
}

/* Down to the step, so a reduce never exceeds what is held; as much as
 * the position or more closes it. */
static int reduce_sized(s6__guard *g)
{
    const s6_proposal *p = g->prop;
    double want = !s6_absent(p->qty) ? p->qty : p->fraction * g->pos->qty;
    g->cand->requested = want;
    if (want >= g->pos->qty) {
        full_close(g);
        return S6_REJ_NONE;
    }
    double q;
    int code = on_step(g, "reduce", want, S6_REJ_REDUCE_TOO_SMALL, &q);
    if (code != S6_REJ_NONE)
        return code;
    g->cand->qty = q;
    g->cand->after_qty = s6_round_to_step(g->pos->qty - q, g->f->step, 0);
    return S6_REJ_NONE;
}

/* What a partial close leaves must still be a position the exchange can
 * close: dust below the minimum would sit unprotectable. */
static int reduce_no_dust(s6__guard *g)
{
    if (!g->cand->full_close && below_minimum(g, g->cand->after_qty))
        full_close(g);
    return S6_REJ_NONE;
}

static int close_all(s6__guard *g)
{
    g->cand->requested = g->pos->qty;
    full_close(g);
    return S6_REJ_NONE;
}

/* ---- add ---- */

static int add_under_cap(s6__guard *g)
{
    if (g->pos->add_on_count < g->lim->add_cap)
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_ADD_CAP, "%d adds done, the cap is %d",
                  g->pos->add_on_count, g->lim->add_cap);
}

static int add_spaced(s6__guard *g)
{
    if (g->pos->last_add_at == 0)
        return S6_REJ_NONE;
    double since = g->mkt->now - g->pos->last_add_at;
    if (since >= g->lim->add_min_interval_s)
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_ADD_INTERVAL, "%.10g s since the last add, the "
                  "minimum is %.10g s", since, g->lim->add_min_interval_s);
}

static int add_leverage(s6__guard *g)
{
    if (at_most(g->pos->leverage, g->lim->max_leverage))
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_LEVERAGE, "leverage %.10g is over the maximum "
                  "%.10g", g->pos->leverage, g->lim->max_leverage);
}

static int add_sized(s6__guard *g)
{
    double q;
    g->cand->requested = g->prop->qty;
    int code = on_step(g, "add", g->prop->qty, S6_REJ_ADD_TOO_SMALL, &q);
    if (code != S6_REJ_NONE)
        return code;
    g->cand->qty = q;
    g->cand->notional = q * g->mkt->mark;
    g->cand->margin = g->cand->notional / g->pos->leverage;
    g->cand->after_qty = s6_round_to_step(g->pos->qty + q, g->f->step, 0);
    return S6_REJ_NONE;
}

static int add_max_qty(s6__guard *g)
{
    if (at_most(g->cand->after_qty, g->lim->max_position_qty))
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_MAX_QTY, "the position would hold %.10g, the "
                  "maximum is %.10g", g->cand->after_qty,
                  g->lim->max_position_qty);
}

static int add_max_notional(s6__guard *g)
{
    double notional = g->cand->after_qty * g->mkt->mark;
    if (at_most(notional, g->lim->max_position_notional))
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_MAX_NOTIONAL, "the position would be worth "
                  "%.10g, the maximum is %.10g", notional,
                  g->lim->max_position_notional);
}

static int add_budget(s6__guard *g)
{
    if (at_most(g->cand->margin, g->lim->risk_budget_free))
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_RISK_BUDGET, "the add needs %.10g of margin, "
                  "the risk budget has %.10g", g->cand->margin,
                  g->lim->risk_budget_free);
}

/* ---- hedge ---- */

/* Only a SPOT position whose symbol has a target exposure is hedged; the
 * order goes to the symbol's FUT market. */
static int hedge_for_spot(s6__guard *g)
{
    if (g->pos->market == S6_MARKET_SPOT && isfinite(g->pos->target_exposure))
        return S6_REJ_NONE;
    return refuse(g, S6_REJ_HEDGE_MARKET, "a hedge is for a SPOT position "
                  "with a target exposure (market %d, target %.10g)",
                  g->pos->market, g->pos->target_exposure);
}

/* Toward zero on the step, so a hedge never overshoots the target; the
 * filters are the ones the caller passes for the position (the engine
 * passes the FUT symbol's, whose grid the order is placed on). */
static int hedge_sized(s6__guard *g)
{
    double want = g->prop->qty, q;
    g->cand->requested = want;
    int code = on_step(g, "hedge", want, S6_REJ_HEDGE_TOO_SMALL, &q);
    if (code != S6_REJ_NONE)
        return code;
    g->cand->side = want > 0 ? 1 : -1;
    g->cand->qty = q;
    g->cand->notional = q * g->mkt->mark;
    g->cand->after_qty = g->pos->hedge_qty + g->cand->side * q;
    return S6_REJ_NONE;
}

/* ---- event ---- */

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
           c == '-';
}

/*
 * The engine's own event types (src/engine): a rule's event must never be
 * mistaken for one in pos:events:{SYMBOL} or the log.  Keep in step with
 * the engine's e_event calls (docs/rules.md, "Actions").
 */
static const char *const engine_events[] = {
    "ADD_REFUSED", "ADD_ROLLED_BACK", "ADD_SENT", "ADOPTED",
    "BLOCKED_PAUSED", "FILL", "GUARD_ARMED", "GUARD_TRIGGERED", "HEDGE_SENT",
    "LIQ_ALERT", "LIQ_ALERT_CLEARED", "MANUAL", "ORDER_FAILED", "PLAN",
    "POSITION_CLOSED", "POSITION_OPENED", "QUOTA_RELEASED", "RECONCILED_QTY",
    "STATE", "STOP_CANCELLED", "STOP_CANCEL_FAILED", "STOP_CONFIRMED",
    "STOP_FAILED", "STOP_LOST", "STOP_MISSING", "STOP_MOVED",
    "STOP_REJECTED", "STOP_REQUESTED", "STOP_UNCONFIRMED", "TP_FILLED"};

static bool engine_event(const char *name)
{
    for (size_t i = 0; i < sizeof engine_events / sizeof *engine_events; i++)
        if (strcmp(name, engine_events[i]) == 0)
            return true;
    return false;
}

/* The name becomes a stream field value and a metric label; a rule's
 * events live beside the engine's, never under their names. */
static int event_named(s6__guard *g)
{
    const char *name = g->prop->name;
    size_t len = strnlen(name, sizeof g->prop->name);
    if (len == 0 || len == sizeof g->prop->name)
        return refuse(g, S6_REJ_EVENT_NAME, "an event name has 1 to %zu "
                      "characters", sizeof g->prop->name - 1);
    for (size_t i = 0; i < len; i++)
        if (!name_char(name[i]))
            return refuse(g, S6_REJ_EVENT_NAME, "event name has character "
                          "0x%02x outside [A-Za-z0-9_.:-]",
                          (unsigned char)name[i]);
    if (g->prop->rule_index != S6_RULE_MANUAL && engine_event(name))
        return refuse(g, S6_REJ_EVENT_NAME, "event name %s is the engine's; "
                      "a rule's events are named otherwise", name);
    return S6_REJ_NONE;
}

int s6_rule_event_ok(const char *name)
{
    size_t len = name != NULL ? strnlen(name, S6_PROPOSAL_NAME_LEN) : 0;
    if (len == 0 || len == S6_PROPOSAL_NAME_LEN || engine_event(name))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!name_char(name[i]))
            return 0;
    return 1;
}

/* ---- gates: yes/no facts from the limits that refuse a whole kind ---- */

static const struct gate {
    size_t off;        /* a bool in s6_limits */
    bool refuse_when;
    int code;
    const char *why;
} stop_gates[] = {
    {offsetof(s6_limits, stop_replace_in_flight), true, S6_REJ_STOP_IN_FLIGHT,
     "a stop replace is in flight; the next waits for its result"},
    {0, false, 0, NULL},
}, add_gates[] = {
    {offsetof(s6_limits, daily_loss_hit), true, S6_REJ_DAILY_LOSS,
     "the daily loss limit is hit; no adds until it resets"},
    {offsetof(s6_limits, add_in_flight), true, S6_REJ_ADD_IN_FLIGHT,
     "an add is in flight; the next waits for its fill"},
    {offsetof(s6_limits, concurrency_ok), false, S6_REJ_CONCURRENCY,
     "the concurrency quota is used up"},
    {0, false, 0, NULL},
}, hedge_gates[] = {
    {offsetof(s6_limits, hedge_in_flight), true, S6_REJ_HEDGE_IN_FLIGHT,
     "a hedge order is in flight; the next waits for its fill"},
    {0, false, 0, NULL},
}, no_gates[] = {{0, false, 0, NULL}};

static int check_gates(s6__guard *g, const struct gate *gate)
{
    for (; gate->why != NULL; gate++) {
        bool flag;
        memcpy(&flag, (const char *)g->lim + gate->off, sizeof flag);
        if (flag == gate->refuse_when)
            return refuse(g, gate->code, "%s", gate->why);
    }
    return S6_REJ_NONE;
}

/* ---- the table ---- */

static const s6__check_fn stop_checks[] = {
    stop_protective, stop_rounded, stop_tightens, stop_moves_enough, NULL};
static const s6__check_fn reduce_checks[] = {
    reduce_one_amount, reduce_sized, reduce_no_dust, NULL};
static const s6__check_fn close_checks[] = {close_all, NULL};
static const s6__check_fn add_checks[] = {
    add_under_cap, add_spaced, add_leverage, add_sized, add_max_qty,
    add_max_notional, add_budget, NULL};
static const s6__check_fn event_checks[] = {event_named, NULL};
static const s6__check_fn hedge_checks[] = {hedge_for_spot, hedge_sized,
                                            NULL};

/* Fields, then gates, then checks: the first refusal names the rejection. */
static const struct kind_spec {
    const char *name;
    unsigned char use[N_FIELDS]; /* price, qty, fraction */
    const struct gate *gates;
    const s6__check_fn *checks;
} kinds[] = {
    [S6_ACT_STOP] = {"stop", {F_REQUIRED, F_NONE, F_NONE}, stop_gates,
                     stop_checks},
    [S6_ACT_REDUCE] = {"reduce", {F_NONE, F_OPTIONAL, F_OPTIONAL}, no_gates,
                       reduce_checks},
    [S6_ACT_CLOSE] = {"close", {F_NONE, F_NONE, F_NONE}, no_gates,
                      close_checks},
    [S6_ACT_ADD] = {"add", {F_NONE, F_REQUIRED, F_NONE}, add_gates,
                    add_checks},
    [S6_ACT_EVENT] = {"event", {F_NONE, F_NONE, F_NONE}, no_gates,
                      event_checks},
    [S6_ACT_HEDGE] = {"hedge", {F_NONE, F_SIGNED, F_NONE}, hedge_gates,
                      hedge_checks},
};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };

int s6_guard_check(const s6_pos_view *pos, const s6_mkt_view *mkt,
                   const s6_symbol_filters *f, const s6_limits *lim,
                   const s6_proposal *prop, int index, s6_plan_action *cand,
                   char *why, size_t why_len)
{
    s6__guard g = {pos, mkt, f, lim, prop, cand, why, why_len};
    memset(cand, 0, sizeof *cand);
    cand->kind = prop->kind;
    cand->proposal = index;
    cand->rule_index = prop->rule_index;
    cand->requested = prop->price;
    cand->old_price = pos->stop;
    cand->step = prop->kind == S6_ACT_STOP && prop->step > 0 ? prop->step : 0;
    if (why_len > 0)
        why[0] = '\0';
    if (prop->kind <= 0 || prop->kind >= N_KINDS ||
        kinds[prop->kind].checks == NULL)
        return refuse(&g, S6_REJ_KIND, "unknown action kind %d", prop->kind);
    const struct kind_spec *k = &kinds[prop->kind];
    int code = check_fields(&g, k->name, k->use);
    if (code == S6_REJ_NONE)
        code = check_gates(&g, k->gates);
    for (const s6__check_fn *c = k->checks; code == 0 && *c != NULL; c++)
        code = (*c)(&g);
    return code;
}

/* ---- the host's own inputs ---- */

enum { W_POS, W_NONNEG, W_LIMIT, W_FRAC, W_FINITE };

static bool wanted(double x, int want)
{
    switch (want) {
    case W_POS: return isfinite(x) && x > 0;
    case W_NONNEG: return isfinite(x) && x >= 0;
    case W_LIMIT: return !isnan(x) && x > 0; /* +inf: no limit */
    case W_FRAC: return isfinite(x) && x >= 0 && x < 1;
    default: return isfinite(x);
    }
}

struct dcheck {
    size_t off;
    int want;
};

static bool doubles_ok(const void *base, const struct dcheck *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, (const char *)base + c[i].off, sizeof v);
        if (!wanted(v, c[i].want))
            return false;
    }
    return true;
}

#define S6__DOUBLES_OK(ptr, table) \
    doubles_ok((ptr), (table), sizeof(table) / sizeof((table)[0]))

static const struct dcheck pos_doubles[] = {
    {offsetof(s6_pos_view, qty), W_POS},
    {offsetof(s6_pos_view, stop), W_NONNEG},
    {offsetof(s6_pos_view, leverage), W_POS},
    {offsetof(s6_pos_view, last_add_at), W_NONNEG},
    {offsetof(s6_pos_view, hedge_qty), W_FINITE},
};
static const struct dcheck mkt_doubles[] = {
    {offsetof(s6_mkt_view, mark), W_POS},
    {offsetof(s6_mkt_view, now), W_FINITE},
};
static const struct dcheck filter_doubles[] = {
    {offsetof(s6_symbol_filters, tick), W_POS},
    {offsetof(s6_symbol_filters, step), W_POS},
    {offsetof(s6_symbol_filters, min_qty), W_NONNEG},
    {offsetof(s6_symbol_filters, min_notional), W_NONNEG},
};
static const struct dcheck limit_doubles[] = {
    {offsetof(s6_limits, max_position_qty), W_LIMIT},
    {offsetof(s6_limits, max_position_notional), W_LIMIT},
    {offsetof(s6_limits, max_leverage), W_LIMIT},
    {offsetof(s6_limits, add_min_interval_s), W_NONNEG},
    {offsetof(s6_limits, risk_budget_free), W_NONNEG},
    {offsetof(s6_limits, min_stop_move_frac), W_FRAC},
};

static bool proposals_ok(const s6_proposal *props, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = props[i].rule_index;
        if (props[i].pos_index != props[0].pos_index ||
            (r < 0 && r != S6_RULE_MANUAL))
            return false;
    }
    return true;
}

static bool inputs_ok(const s6_pos_view *pos, const s6_mkt_view *mkt,
                      const s6_symbol_filters *f, const s6_limits *lim,
                      const s6_proposal *props, size_t n)
{
    return (pos->side == 1 || pos->side == -1) && pos->add_on_count >= 0 &&
           lim->add_cap >= 0 && S6__DOUBLES_OK(pos, pos_doubles) &&
           S6__DOUBLES_OK(mkt, mkt_doubles) &&
           S6__DOUBLES_OK(f, filter_doubles) &&
           S6__DOUBLES_OK(lim, limit_doubles) && proposals_ok(props, n);
}

int s6_guard_plan(const s6_pos_view *pos, const s6_mkt_view *mkt,
                  const s6_symbol_filters *f, const s6_limits *lim,
                  const s6_proposal *props, size_t n, s6_plan *out)
{
    if (out == NULL)
        return S6_EINVAL;
    s6_plan_init(out, pos != NULL ? pos->slot : -1);
    if (pos == NULL || mkt == NULL || f == NULL || lim == NULL ||
        (props == NULL && n > 0))
        return S6_EINVAL;
    if (n > S6_PLAN_MAX_PROPOSALS)
        return S6_ERANGE;
    if (!inputs_ok(pos, mkt, f, lim, props, n))
        return S6_EINVAL;
    for (size_t i = 0; i < n; i++) {
        s6_plan_action cand;
        char why[S6_PROPOSAL_REASON_LEN];
        int code = s6_guard_check(pos, mkt, f, lim, &props[i], (int)i, &cand,
                                  why, sizeof why);
        if (code != S6_REJ_NONE)
            s6_plan_drop(out, &props[i], (int)i, code, "%s", why);
        else
            s6_plan_offer(out, props, pos->side, &cand);
    }
    s6_plan_finish(out);
    return S6_OK;
}
