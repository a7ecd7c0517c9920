/*
 * The shipped rules in C (native_rules.h).  Each function below follows its
 * rules/<name>.lua line by line: the same guards in the same order, the
 * same primitives, the same comparisons (written so that a NaN fails them
 * as it fails the Lua ones), the same reason text.  A change to a shipped
 * rule must be made here too; test_native_equiv catches a mismatch.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "rules/native/native_rules.h"
#include "rules/registry.h"
#include "core/s6_core.h"

/* Where one rule's proposals for one position go. */
typedef struct s6__emit {
    s6_sink *sink;
    int pos_index;
    int rule_id;
} s6__emit;

typedef void (*s6__rule_fn)(const s6_native_rules *nr, const s6_pos_view *p,
                            const s6_mkt_view *m, s6_native_state *st,
                            const s6__emit *e);

/* Absent fields are NaN, as the Lua host writes what an action leaves out. */
#define NONE NAN

/* The Lua rules' reasons are longer than a proposal keeps at most once;
 * the sink cuts both the same way. */
enum { REASON_MAX = 160 };

__attribute__((format(printf, 8, 9)))
static void emit(const s6__emit *e, int kind, double price, double qty,
                 double fraction, int step, const char *name,
                 const char *fmt, ...)
{
    char why[REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    (void)s6_sink_action(e->sink, e->pos_index, e->rule_id, kind, price, qty,
                         fraction, step, name, why);
}

static bool side_ok(int side) { return side == 1 || side == -1; }
/* Lua's positive(): a number in (0, inf); NaN is not. */
static bool positive(double x) { return x > 0 && x < INFINITY; }
/* Lua's count(): a non-negative count, anything else 0. */
static int count(int x) { return x >= 0 ? x : 0; }
/* Lua's nonneg(): a number in [0, inf); NaN is not. */
static bool nonneg(double x) { return x >= 0 && x < INFINITY; }
static int max_int(int a, int b) { return a > b ? a : b; }

/* ---- add_on ------------------------------------------------------------ */

/* Seconds since the last add, filled or proposed; +inf when none. */
static double since_last(const s6_pos_view *p, const s6_mkt_view *m,
                         const s6_native_state *st)
{
    double filled = isfinite(p->last_add_at) ? p->last_add_at : 0;
    double proposed = isfinite(st->add_on.proposed_at) ? st->add_on.proposed_at : 0;
    double last = filled > proposed ? filled : proposed;
    return last > 0 ? m->now - last : INFINITY;
}

static void add_on(const s6_native_rules *nr, const s6_pos_view *p,
                   const s6_mkt_view *m, s6_native_state *st,
                   const s6__emit *e)
{
    const s6_native_add_on_params *pr = &nr->add_on;
    int side = p->side, j = p->add_on_count;
    double roe = p->roe;
    if (!side_ok(side) || m->signal_side != side || !isfinite(roe) || j < 0 ||
        !isfinite(m->now) || !isfinite(pr->gamma) || !isfinite(pr->min_interval))
        return;
    if (j >= pr->cap || j >= pr->n_thresholds)
        return;
    double threshold = pr->thresholds[j];
    if (!isfinite(threshold) || roe < threshold ||
        since_last(p, m, st) < pr->min_interval)
        return;
    double q0 = p->n_entries >= 1 ? p->entry_qty[0] : NONE;
    double qty = isfinite(q0) ? s6_addon_qty(q0, pr->gamma, j + 1) : NONE;
    if (!(isfinite(qty) && qty > 0))
        return;
    emit(e, S6_ACT_ADD, NONE, qty, NONE, 0, NULL,
         "signal %+d, ROE %.2f%% >= %.2f%%: add %d of %d", side, roe * 100,
         threshold * 100, j + 1, pr->cap);
    st->add_on.proposed_at = m->now;
}

/* ---- atr_stop ---------------------------------------------------------- */

static void atr_stop(const s6_native_rules *nr, const s6_pos_view *p,
                     const s6_mkt_view *m, s6_native_state *st,
                     const s6__emit *e)
{
    (void)st; /* the rule keeps no state */
    const s6_native_atr_params *pr = &nr->atr_stop;
    int side = p->side;
    double mark = m->mark, k = pr->k, min_move = pr->min_move;
    double atr = isnan(m->atr) ? 0 : m->atr; /* the view's "unknown" is 0 */
    if (!side_ok(side) || !(positive(mark) && positive(atr) && positive(k)) ||
        !(min_move == 0 || positive(min_move)))
        return;
    bool initial = p->stop == 0;
    double price = initial ? s6_atr_stop(side, p->entry, atr, k)
                           : s6_atr_trail(side, p->stop, p->best_price, atr, k);
    if (!(positive(price) && side * (mark - price) > 0))
        return;
    if (!initial) {
        double gain = side * (price - p->stop);
        if (!(gain > 0 && gain >= min_move * mark))
            return;
    }
    emit(e, S6_ACT_STOP, price, NONE, NONE, 0, NULL,
         "%s %g ATR (ATR %g) from %s",
         initial ? "initial stop" : "trailing stop", k, atr,
         initial ? "the entry" : "the best price");
}

/* ---- hedge ------------------------------------------------------------- */

static void hedge(const s6_native_rules *nr, const s6_pos_view *p,
                  const s6_mkt_view *m, s6_native_state *st,
                  const s6__emit *e)
{
    (void)st; /* the rule keeps no state */
    const s6_native_hedge_params *pr = &nr->hedge;
    double target = p->target_exposure, held = p->hedge_qty, mark = m->mark;
    if (p->market != S6_MARKET_SPOT || p->side != 1)
        return;
    if (!isfinite(target) || !nonneg(pr->deadband) || !nonneg(pr->min_quote))
        return;
    double delta = s6_hedge_fut_qty(p->qty, held, mark, target);
    if (!isfinite(delta) || delta == 0)
        return;
    double gap = fabs(delta) * mark;
    double band = fmax(pr->deadband * fabs(target), pr->min_quote);
    if (!(gap >= band))
        return;
    emit(e, S6_ACT_HEDGE, NONE, delta, NONE, 0, NULL,
         "exposure %.2f, target %.2f: %s %.8g futures", (p->qty + held) * mark,
         target, delta > 0 ? "buy" : "sell", fabs(delta));
}

/* ---- stagnation -------------------------------------------------------- */

static void stagnation(const s6_native_rules *nr, const s6_pos_view *p,
                       const s6_mkt_view *m, s6_native_state *st,
                       const s6__emit *e)
{
    const s6_native_stagnation_params *pr = &nr->stagnation;
    double roe = p->roe, duration = m->now - p->opened_at;
    int stagnant = s6_is_stagnant(duration, pr->t_stagnation, roe, pr->roe_min);
    if (stagnant < 0)
        return; /* invalid input: no verdict, state kept */
    if (stagnant == 1 && !st->stagnation.flagged) {
        /* "\xc2\xb1" is the rule's UTF-8 plus-minus sign */
        emit(e, S6_ACT_EVENT, NONE, NONE, NONE, 0, "STAGNATED",
             "open %.1f h, ROE %.2f%% within \xc2\xb1%.2f%%", duration / 3600,
             roe * 100, pr->roe_min * 100);
        st->stagnation.flagged = true;
        return;
    }
    if (st->stagnation.flagged && fabs(roe) >= pr->roe_min)
        st->stagnation.flagged = false;
}

/* ---- tp_ladder --------------------------------------------------------- */

static void tp_ladder(const s6_native_rules *nr, const s6_pos_view *p,
                      const s6_mkt_view *m, s6_native_state *st,
                      const s6__emit *e)
{
    (void)m;
    const s6_native_tp_params *pr = &nr->tp_ladder;
    double roe = p->roe;
    if (!side_ok(p->side) || !(positive(p->qty) && isfinite(roe)))
        return;
    int i = max_int(count(st->tp_ladder.step), count(p->tp_step)) + 1;
    if (i > pr->n_steps)
        return;
    const s6_native_rung *r = &pr->steps[i - 1];
    if (!isfinite(r->roe) || roe < r->roe)
        return;
    int kind = S6_ACT_REDUCE;
    double qty = NONE, fraction = NONE;
    if (r->entry > 0) {
        int n = r->entry;
        double q = n <= p->n_entries && n <= S6_MAX_ENTRIES ? p->entry_qty[n - 1] : NONE;
        if (!positive(q))
            return;
        if (q >= p->qty)
            kind = S6_ACT_CLOSE;
        else
            qty = q;
    } else {
        if (!positive(r->fraction))
            return;
        if (r->fraction >= 1)
            kind = S6_ACT_CLOSE;
        else
            fraction = r->fraction;
    }
    emit(e, kind, NONE, qty, fraction, 0, NULL,
         "ROE %.2f%% reached take-profit step %d (>= %.2f%%)", roe * 100, i,
         r->roe * 100);
    st->tp_ladder.step = i;
}

/* ---- trailing_stop ----------------------------------------------------- */

static bool usable(const s6_native_lock_step *s)
{
    return isfinite(s->roe) && isfinite(s->lock_roe);
}

static void trailing_stop(const s6_native_rules *nr, const s6_pos_view *p,
                          const s6_mkt_view *m, s6_native_state *st,
                          const s6__emit *e)
{
    const s6_native_trailing_params *pr = &nr->trailing_stop;
    int side = p->side;
    double mark = m->mark, roe = p->roe, min_move = pr->min_move;
    if (!side_ok(side) || !(isfinite(mark) && mark > 0 && isfinite(roe)) ||
        !(isfinite(min_move) && min_move >= 0))
        return;
    /* the highest step met, never below the stored one or the host's */
    int before = count(st->trailing_stop.step);
    int reached = max_int(before, count(p->stop_step));
    for (int i = 0; i < pr->n_steps; i++)
        if (usable(&pr->steps[i]) && roe >= pr->steps[i].roe && i + 1 > reached)
            reached = i + 1;
    if (reached > before)
        st->trailing_stop.step = reached;
    /* the usable step at or below it (a config may have shortened the list) */
    int k = reached < pr->n_steps ? reached : pr->n_steps;
    while (k > 0 && !usable(&pr->steps[k - 1]))
        k--;
    if (k == 0)
        return;
    const s6_native_lock_step *s = &pr->steps[k - 1];
    double lock = s6_price_for_roe_net(side, p->qty, p->entry, p->margin,
                                       p->fees_paid, p->exit_fee_rate,
                                       s->lock_roe);
    bool protective = isfinite(lock) && lock > 0 && side * (mark - lock) > 0;
    double gain = p->stop == 0 ? INFINITY : side * (lock - p->stop);
    if (!(protective && gain > 0 && gain >= min_move * mark))
        return;
    /* the stop carries the step it reaches: the engine records it */
    emit(e, S6_ACT_STOP, lock, NONE, NONE, reached, NULL,
         "ROE %.2f%% reached lock step %d (>= %.2f%%): stop at net ROE %.2f%%",
         roe * 100, k, s->roe * 100, s->lock_roe * 100);
}

/* ---- the rule set ------------------------------------------------------ */

static const struct {
    const char *name;
    unsigned triggers; /* as the rule's `triggers` list */
    s6__rule_fn fn;
} RULES[S6_NATIVE_NRULES] = {
    [S6_NATIVE_ADD_ON] = {"add_on", S6_TRIG_SIGNAL | S6_TRIG_TICK, add_on},
    [S6_NATIVE_ATR_STOP] = {"atr_stop", S6_TRIG_TICK | S6_TRIG_PRICE, atr_stop},
    [S6_NATIVE_HEDGE] = {"hedge", S6_TRIG_TICK | S6_TRIG_PRICE | S6_TRIG_FILL,
                         hedge},
    [S6_NATIVE_STAGNATION] = {"stagnation", S6_TRIG_TICK, stagnation},
    [S6_NATIVE_TP_LADDER] = {"tp_ladder",
                             S6_TRIG_TICK | S6_TRIG_PRICE | S6_TRIG_FILL, tp_ladder},
    [S6_NATIVE_TRAILING_STOP] = {"trailing_stop",
                                 S6_TRIG_TICK | S6_TRIG_PRICE | S6_TRIG_FILL,
                                 trailing_stop},
};

void s6_native_rules_init(s6_native_rules *nr)
{
    *nr = (s6_native_rules){
        .add_on = {.thresholds = {0.05, 0.10}, .n_thresholds = 2, .cap = 2,
                   .min_interval = 300, .gamma = 0.5},
        .atr_stop = {.k = 2, .min_move = 0.0005},
        .hedge = {.deadband = 0.05, .min_quote = 10},
        .stagnation = {.t_stagnation = 14400, .roe_min = 0.02},
        .tp_ladder = {.steps = {{.roe = 0.12, .entry = 1}}, .n_steps = 1},
        .trailing_stop = {.steps = {{.roe = 0.10, .lock_roe = 0.00},
                                    {.roe = 0.20, .lock_roe = 0.10}},
                          .n_steps = 2, .min_move = 0.0005},
    };
    for (int r = 0; r < S6_NATIVE_NRULES; r++)
        nr->rule_id[r] = r;
}

int s6_native_rules_bind(s6_native_rules *nr, const s6_rule_registry *reg)
{
    if (nr == NULL || reg == NULL || reg->n != S6_NATIVE_NRULES)
        return S6_EINVAL;
    for (int r = 0; r < S6_NATIVE_NRULES; r++) {
        const s6_rule_entry *e = s6_registry_find(reg, RULES[r].name);
        if (e == NULL)
            return S6_EINVAL;
        nr->rule_id[r] = e->id;
    }
    return S6_OK;
}

const char *s6_native_rule_name(int rule)
{
    return rule >= 0 && rule < S6_NATIVE_NRULES ? RULES[rule].name : NULL;
}

unsigned s6_native_rule_triggers(int rule)
{
    return rule >= 0 && rule < S6_NATIVE_NRULES ? RULES[rule].triggers : 0;
}

int s6_native_eval(const s6_native_rules *nr, const s6_pos_view *pos,
                   const s6_mkt_view *mkt, size_t n, s6_sink *sink,
                   s6_native_state *states)
{
    if (nr == NULL || sink == NULL ||
        (n > 0 && (pos == NULL || mkt == NULL || states == NULL)))
        return S6_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (pos[i].slot < 0)
            return S6_EINVAL;
    for (size_t i = 0; i < n; i++) {
        s6_native_state *st = &states[pos[i].slot];
        unsigned trigger = (unsigned)mkt[i].trigger;
        for (int r = 0; r < S6_NATIVE_NRULES; r++) {
            if (nr->rule_id[r] < 0 || (RULES[r].triggers & trigger) == 0)
                continue;
            s6__emit e = {sink, (int)i, nr->rule_id[r]};
            RULES[r].fn(nr, &pos[i], &mkt[i], st, &e);
        }
    }
    return S6_OK;
}
