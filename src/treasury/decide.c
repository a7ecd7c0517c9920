/*
 * The decision of one treasury run, without I/O: from the trigger, the
 * balances, today's total and the last start of the trigger to "transfer
 * this much" (PENDING) or a refusal with its reason (docs/treasury.md,
 * "Guards").  The checks run in a fixed order, cheapest and most general
 * first; the first refusal is the answer.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "treasury/internal.h"
#include "core/s6_core.h"

/* Where the config keys of each trigger live, for the reasons. */
static const char *const trig_key[S6_TT_COUNT] = {
    [S6_TT_SCHEDULED] = "scheduled",
    [S6_TT_MARGIN_CALL] = "margin_call",
    [S6_TT_RISK_LIMIT] = "risk_limit",
    [S6_TT_PROFIT_TAKING] = "profit_taking",
    [S6_TT_INSUFFICIENT_BALANCE] = "insufficient_balance",
};

bool s6_tr_to_fut(s6_treasury_trigger t) { return t != S6_TT_PROFIT_TAKING; }

double s6_tr_cents(double quote)
{
    if (!(quote > 0) || !isfinite(quote))
        return 0;
    /* 1e-9 absorbs the binary error of values that are whole cents */
    return floor(quote * 100 + 1e-9) / 100;
}

typedef struct s6__dec {
    const s6_treasury_cfg *cfg;
    const s6_tr_input *in;
    s6_tr_decision *out;
    const char *name;        /* trigger name */
    const char *key;         /* its config key segment */
    double want;             /* the amount before the caps */
} s6__dec;

/* Every check returns true to go on, false once it decided. */
typedef bool (*s6__check)(s6__dec *d);

__attribute__((format(printf, 3, 4)))
static bool refuse(s6__dec *d, s6_transfer_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->out->reason, sizeof d->out->reason, fmt, ap);
    va_end(ap);
    d->out->status = st;
    d->out->amount = 0;
    return false;
}

static bool treasury_on(s6__dec *d)
{
    return d->cfg->enabled ||
           refuse(d, S6_TRANSFER_SKIPPED, "the treasury is disabled "
                  "(treasury.enabled)");
}

static bool trigger_on(s6__dec *d)
{
    return d->cfg->trig[d->in->trigger].enabled ||
           refuse(d, S6_TRANSFER_SKIPPED, "trigger %s is disabled "
                  "(treasury.triggers.%s.enabled)", d->name, d->key);
}

static bool request_on(s6__dec *d)
{
    return d->in->request_enabled ||
           refuse(d, S6_TRANSFER_SKIPPED, "the request has enabled=false");
}

static bool spaced(s6__dec *d)
{
    double min = d->cfg->trig[d->in->trigger].min_interval_s;
    double since = d->in->now - d->in->last_started;
    if (d->in->last_started <= 0 || since >= min)
        return true;
    return refuse(d, S6_TRANSFER_SKIPPED, "%.0f s since the last %s "
                  "transfer, the minimum is %.0f s "
                  "(treasury.triggers.%s.min_interval_s)", since, d->name,
                  min, d->key);
}

/* MARGIN_CALL and RISK_LIMIT: the caller's measured ratio must reach the
 * configured threshold; PROFIT_TAKING's threshold is a sweep size (below). */
static bool over_threshold(s6__dec *d)
{
    s6_treasury_trigger tt = d->in->trigger;
    double th = d->cfg->trig[tt].threshold, v = d->in->reported;
    if ((tt != S6_TT_MARGIN_CALL && tt != S6_TT_RISK_LIMIT) || isnan(v) ||
        v >= th)
        return true;
    return refuse(d, S6_TRANSFER_SKIPPED, "reported %.4g is under the %s "
                  "threshold %.4g (treasury.triggers.%s.threshold)", v,
                  d->name, th, d->key);
}

static bool balances_fresh(s6__dec *d)
{
    const s6_tr_input *in = d->in;
    if (!in->have_balances)
        return refuse(d, S6_TRANSFER_REJECTED, "balances unavailable: %s",
                      in->balances_why ? in->balances_why : "no reading");
    if (!isfinite(in->bal.spot_free) || !isfinite(in->bal.fut_free) ||
        !isfinite(in->bal.ts))
        return refuse(d, S6_TRANSFER_REJECTED, "balances unavailable: a "
                      "value is not a finite number");
    double age = in->now - in->bal.ts;
    if (age <= d->cfg->balances_max_age_s)
        return true;
    return refuse(d, S6_TRANSFER_REJECTED, "balances are stale: %.0f s old, "
                  "the limit is %.0f s (treasury.balances_max_age_s)", age,
                  d->cfg->balances_max_age_s);
}

/* SPOT -> FUT: the need (or the amount asked), if spot can pay it and
 * keep its buffer. */
static bool sized_to_fut(s6__dec *d)
{
    const s6_tr_input *in = d->in;
    double need = s6_treasury_need(d->cfg->min_free_fut, in->bal.fut_free);
    d->want = in->requested > 0 ? in->requested : need;
    if (!(d->want > 0))
        return refuse(d, S6_TRANSFER_SKIPPED, "no need: free FUT %.2f is at "
                      "least min_free_fut %.2f", in->bal.fut_free,
                      d->cfg->min_free_fut);
    if (s6_treasury_feasible(in->bal.spot_free, d->want,
                             d->cfg->spot_buffer) == 1)
        return true;
    return refuse(d, S6_TRANSFER_REJECTED, "spot too low: free SPOT %.2f < "
                  "%.2f + spot_buffer %.2f", in->bal.spot_free, d->want,
                  d->cfg->spot_buffer);
}

/* FUT -> SPOT: what lies above the ceiling (at most the amount asked), if
 * the sweep is worth a transfer. */
static bool sized_to_spot(s6__dec *d)
{
    const s6_tr_input *in = d->in;
    double excess = in->bal.fut_free - d->cfg->profit_ceiling;
    if (!(excess > 0))
        return refuse(d, S6_TRANSFER_SKIPPED, "nothing to sweep: free FUT "
                      "%.2f is not above profit_ceiling %.2f",
                      in->bal.fut_free, d->cfg->profit_ceiling);
    d->want = in->requested > 0 && in->requested < excess ? in->requested
                                                          : excess;
    double th = d->cfg->trig[S6_TT_PROFIT_TAKING].threshold;
    if (d->want >= th)
        return true;
    return refuse(d, S6_TRANSFER_SKIPPED, "a sweep of %.2f is under the "
                  "threshold %.2f (treasury.triggers.profit_taking."
                  "threshold)", d->want, th);
}

static bool sized(s6__dec *d)
{
    return s6_tr_to_fut(d->in->trigger) ? sized_to_fut(d) : sized_to_spot(d);
}

/* The caps, each by name: a transfer is cut down to the lowest; a cap
 * that leaves nothing refuses it. */
static bool capped(s6__dec *d)
{
    const s6_treasury_cfg *c = d->cfg;
    bool to_fut = s6_tr_to_fut(d->in->trigger);
    struct {
        const char *name;
        double cap;
    } caps[] = {
        {"max_per_transfer", c->max_per_transfer},
        {"max_per_day", c->max_per_day - d->in->day_total},
        {"min_spot_retained", to_fut ? d->in->bal.spot_free -
                                       c->min_spot_retained : INFINITY},
    };
    double amount = d->want;
    const char *by = NULL;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        double cap = isinf(caps[i].cap) ? caps[i].cap : s6_tr_cents(caps[i].cap);
        if (!(cap > 0))
            return refuse(d, S6_TRANSFER_REJECTED, "%s leaves nothing to "
                          "transfer (%.2f asked)", caps[i].name, d->want);
        if (amount > cap) {
            amount = cap;
            by = caps[i].name;
        }
    }
    amount = s6_tr_cents(amount);
    if (!(amount > 0))
        return refuse(d, S6_TRANSFER_SKIPPED, "%.4f rounds to 0 cents",
                      d->want);
    d->out->amount = amount;
    d->out->status = S6_TRANSFER_PENDING;
    if (by != NULL)
        snprintf(d->out->reason, sizeof d->out->reason, "Auto transfer "
                 "triggered by %s (%.2f asked, capped by %s)", d->name,
                 d->want, by);
    else
        snprintf(d->out->reason, sizeof d->out->reason, "Auto transfer "
                 "triggered by %s", d->name);
    return false;
}

static const s6__check checks[] = {
    treasury_on, trigger_on, request_on, spaced, over_threshold,
    balances_fresh, sized, capped,
};

void s6_tr_decide(const s6_treasury_cfg *cfg, const s6_tr_input *in,
                  s6_tr_decision *out)
{
    memset(out, 0, sizeof *out);
    out->to_fut = s6_tr_to_fut(in->trigger);
    s6__dec d = {cfg, in, out, s6_treasury_trigger_name(in->trigger),
                 trig_key[in->trigger], 0};
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (!checks[i](&d))
            return;
}
