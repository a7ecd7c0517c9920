#include "contract/position.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/s6_core.h"

static const char *const state_names[S6_POS_STATE_COUNT] = {
    "PENDING_ENTRY", "ACTIVE", "PENDING_CLOSING", "CLOSED"};

/* The edges of the state machine; everything else is refused.  A close
 * order can fail (back to ACTIVE), and the exchange can close a position
 * S6 was not closing (stop, liquidation, ADL): ACTIVE -> CLOSED. */
static const bool edges[S6_POS_STATE_COUNT][S6_POS_STATE_COUNT] = {
    [S6_POS_PENDING_ENTRY] = {[S6_POS_ACTIVE] = true, [S6_POS_CLOSED] = true},
    [S6_POS_ACTIVE] = {[S6_POS_PENDING_CLOSING] = true, [S6_POS_CLOSED] = true},
    [S6_POS_PENDING_CLOSING] = {[S6_POS_ACTIVE] = true, [S6_POS_CLOSED] = true},
};

const char *s6_pos_state_name(s6_pos_state s)
{
    return s >= 0 && s < S6_POS_STATE_COUNT ? state_names[s] : "UNKNOWN";
}

int s6_pos_state_parse(const char *name)
{
    for (int i = 0; name != NULL && i < S6_POS_STATE_COUNT; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return S6_EINVAL;
}

static bool id_ok(const char *id, size_t max)
{
    size_t n = id != NULL ? strlen(id) : 0;
    return n >= 1 && n <= max && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "abcdefghijklmnopqrstuvwxyz"
                                             "0123456789_-") == n;
}

int s6_position_init(s6_position *p, const char *id, const char *symbol,
                     int market, double leverage, char *err, size_t errlen)
{
    if (p == NULL)
        return S6_EINVAL;
    if (!id_ok(id, S6_POS_ID_MAX))
        return fail(err, errlen, "id: 1 to 24 characters of [A-Za-z0-9_-]");
    if (!id_ok(symbol, S6_SYMBOL_MAX))
        return fail(err, errlen, "symbol: 1 to 24 characters of [A-Za-z0-9_-]");
    if (market != S6_MARKET_FUT && market != S6_MARKET_SPOT)
        return fail(err, errlen, "market: FUT or SPOT");
    if (market == S6_MARKET_FUT && !(isfinite(leverage) && leverage > 0))
        return fail(err, errlen, "leverage: a finite number > 0");
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    p->market = market;
    p->leverage = market == S6_MARKET_FUT ? leverage : 1.0;
    p->state = S6_POS_PENDING_ENTRY;
    return S6_OK;
}

int s6_position_transition(s6_position *p, s6_pos_state to, char *err,
                           size_t errlen)
{
    if (p == NULL || to < 0 || to >= S6_POS_STATE_COUNT)
        return S6_EINVAL;
    if (!edges[p->state][to]) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "illegal transition %s -> %s",
                     s6_pos_state_name(p->state), s6_pos_state_name(to));
        return S6_EINVAL;
    }
    p->state = to;
    return S6_OK;
}

static bool seen(const s6_position *p, const char *result_id)
{
    unsigned n = p->n_seen < S6_SEEN_RESULTS ? p->n_seen : S6_SEEN_RESULTS;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(p->seen[i], result_id) == 0)
            return true;
    return false;
}

static void remember(s6_position *p, const char *result_id)
{
    snprintf(p->seen[p->n_seen % S6_SEEN_RESULTS], S6_RESULT_ID_MAX, "%s",
             result_id);
    p->n_seen++;
}

int s6_position_apply_funding(s6_position *p, const char *result_id,
                              double amount, bool *duplicate, char *err,
                              size_t errlen)
{
    const char *why = NULL;
    if (p == NULL || result_id == NULL || duplicate == NULL)
        why = "NULL argument";
    else if (p->market != S6_MARKET_FUT)
        why = "funding settles on FUT positions only";
    else if (p->state == S6_POS_CLOSED || !(p->qty > 0))
        why = "no open position";
    else if (!isfinite(amount))
        why = "amount: a finite number";
    else if (result_id[0] == '\0' || strlen(result_id) >= S6_RESULT_ID_MAX)
        why = "result_id: 1 to 47 characters";
    if (why != NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return S6_EINVAL;
    }
    *duplicate = seen(p, result_id);
    if (*duplicate)
        return S6_OK;
    p->margin += amount;
    p->realized_pnl += amount;
    remember(p, result_id);
    return S6_OK;
}

void s6_position_mark_seen(s6_position *p, const char *result_id)
{
    remember(p, result_id);
}

bool s6_position_has_seen(const s6_position *p, const char *result_id)
{
    return seen(p, result_id);
}

static const char *fill_problem(const s6_position *p, const s6_fill *f)
{
    size_t idlen = strnlen(f->result_id, S6_RESULT_ID_MAX);
    if (idlen == 0 || idlen == S6_RESULT_ID_MAX)
        return "result_id: 1 to 47 characters";
    if (strnlen(f->intent_id, sizeof f->intent_id) == sizeof f->intent_id)
        return "intent_id: at most 36 characters";
    if (f->kind < S6_FILL_ENTRY || f->kind > S6_FILL_MANUAL)
        return "kind: unknown fill kind";
    if (f->side != 1 && f->side != -1)
        return "side: +1 (buy) or -1 (sell)";
    if (!(isfinite(f->qty) && f->qty > 0))
        return "qty: a finite number > 0";
    if (!(isfinite(f->price) && f->price > 0))
        return "price: a finite number > 0";
    if (!(isfinite(f->fee) && f->fee >= 0))
        return "fee: a finite number >= 0";
    if (!isfinite(f->ts))
        return "ts: a finite time";
    if (p->state == S6_POS_CLOSED)
        return "the position is closed";
    return NULL;
}

/* Quote value of a fee paid in base is charged at the fill price. */
static double fee_quote(const s6_fill *f)
{
    return f->fee_in_base ? f->fee * f->price : f->fee;
}

/*
 * Fees stay out of the entry price (and the WAC): they are counted in
 * fees_paid and come off realized PnL, the same whether paid in quote or
 * in base.  A fee paid in base only shrinks what was received.
 */
static int grow(s6_position *p, const s6_fill *f, s6_fill_effect *effect)
{
    bool first = p->side == 0;
    double got = f->qty;
    if (p->market == S6_MARKET_SPOT && f->fee_in_base)
        got -= f->fee;
    double entry = first ? f->price
                   : p->market == S6_MARKET_SPOT
                       ? s6_wac_after_buy(p->qty, p->entry, got, f->price)
                       : s6_avg_entry_after_add(p->qty, p->entry, got, f->price);
    p->side = f->side;
    p->entry = entry;
    p->qty += got;
    p->fees_paid += fee_quote(f);
    if (p->market == S6_MARKET_FUT)
        p->margin += f->qty * f->price / p->leverage - fee_quote(f);
    else
        p->margin = p->entry * p->qty;
    bool same_order = !first && f->intent_id[0] != '\0' &&
                      strcmp(f->intent_id, p->last_entry_intent) == 0;
    if (same_order)
        p->entry_qty[p->n_entries - 1] += got; /* a partial fill continues */
    else if (p->n_entries < S6_MAX_ENTRIES)
        p->entry_qty[p->n_entries++] = got;
    snprintf(p->last_entry_intent, sizeof p->last_entry_intent, "%s",
             f->intent_id);
    if (first) {
        p->opened_at = f->ts;
    } else if (!same_order) {
        p->add_on_count++; /* counted when the add fills, not when sent */
        p->last_add_at = f->ts;
    }
    p->realized_pnl -= fee_quote(f);
    *effect = first ? S6_FILL_OPENED : S6_FILL_GREW;
    return S6_OK;
}

static int shrink(s6_position *p, const s6_fill *f, double qty_step,
                  s6_fill_effect *effect)
{
    double fee = fee_quote(f);
    double gross = p->side * (f->price - p->entry) * f->qty;
    double left = p->qty - f->qty;
    p->realized_pnl += gross - fee;
    p->fees_paid += fee;
    if (p->market == S6_MARKET_FUT)
        p->margin *= left / p->qty; /* released in proportion */
    p->qty = left;
    if (p->market == S6_MARKET_SPOT)
        p->margin = p->entry * p->qty;
    if (p->qty < qty_step * 0.5 || p->qty <= 0) {
        p->qty = 0;
        p->margin = 0;
        p->state = S6_POS_CLOSED;
        p->closed_at = f->ts;
        *effect = S6_FILL_CLOSED;
    } else {
        *effect = S6_FILL_SHRANK;
    }
    return S6_OK;
}

int s6_position_apply_fill(s6_position *p, const s6_fill *f, double qty_step,
                           s6_fill_effect *effect, char *err, size_t errlen)
{
    if (p == NULL || f == NULL || effect == NULL || !(qty_step > 0))
        return fail(err, errlen, "invalid arguments");
    if (strnlen(f->result_id, S6_RESULT_ID_MAX) < S6_RESULT_ID_MAX &&
        seen(p, f->result_id)) {
        *effect = S6_FILL_DUPLICATE;
        return S6_OK;
    }
    const char *why = fill_problem(p, f);
    if (why != NULL)
        return fail(err, errlen, why);
    bool increases = p->side == 0 || f->side == p->side;
    if (!increases && f->qty > p->qty + qty_step * 0.5)
        return fail(err, errlen, "a reduce larger than the position: one-way "
                                 "mode cannot flip, reconcile with S4");
    if (p->market == S6_MARKET_SPOT && f->fee_in_base && increases &&
        f->fee >= f->qty)
        return fail(err, errlen, "fee: in base, it must be below the quantity");
    int rc = increases ? grow(p, f, effect) : shrink(p, f, qty_step, effect);
    if (rc == 0) {
        remember(p, f->result_id);
        if (p->state == S6_POS_PENDING_ENTRY && *effect == S6_FILL_OPENED)
            p->state = S6_POS_ACTIVE;
    }
    return rc;
}

int s6_position_next_intent(s6_position *p, const char *action,
                            char out[S6_INTENT_ID_MAX + 1])
{
    size_t n = action != NULL ? strlen(action) : 0;
    if (p == NULL || out == NULL || n < 1 || n > 3 ||
        strspn(action, "abcdefghijklmnopqrstuvwxyz") != n)
        return S6_EINVAL;
    /* the sequence in base 36 (at most 7 digits for 32 bits), so a 24
     * character id with a 3 letter action still fits 36 characters */
    char digits[8];
    int nd = 0;
    uint32_t v = p->seq;
    do {
        digits[nd++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v > 0);
    char seq[8];
    for (int i = 0; i < nd; i++)
        seq[i] = digits[nd - 1 - i];
    seq[nd] = '\0';
    int len = snprintf(out, S6_INTENT_ID_MAX + 1, "%s-%s-%s", p->id, action,
                       seq);
    if (len < 0 || len > S6_INTENT_ID_MAX)
        return S6_ERANGE;
    p->seq++;
    return S6_OK;
}

int s6_position_view(const s6_position *p, double mark, double mmr,
                     double cum, s6_pos_view *out)
{
    if (p == NULL || out == NULL || p->side == 0 || !(p->qty > 0) ||
        !(isfinite(mark) && mark > 0))
        return S6_EINVAL;
    memset(out, 0, sizeof *out);
    out->market = p->market;
    out->side = p->side;
    out->qty = p->qty;
    out->entry = p->entry;
    out->margin = p->margin;
    out->fees_paid = p->fees_paid;
    out->leverage = p->leverage;
    out->opened_at = p->opened_at;
    out->last_add_at = p->last_add_at;
    out->add_on_count = p->add_on_count;
    out->n_entries = p->n_entries;
    memcpy(out->entry_qty, p->entry_qty, sizeof out->entry_qty);
    out->upnl = p->market == S6_MARKET_SPOT
                    ? s6_spot_unrealized(mark, p->entry, p->qty)
                    : s6_upnl(p->side, p->qty, p->entry, mark);
    out->roe = p->margin > 0 ? out->upnl / p->margin : 0;
    out->liq_price = p->market == S6_MARKET_FUT
                         ? s6_liq_price_isolated(p->side, p->qty, p->entry,
                                                 p->margin, mmr, cum)
                         : 0;
    if (isnan(out->liq_price))
        out->liq_price = 0;
    out->liq_distance = s6_liq_distance(p->side, mark, out->liq_price);
    return S6_OK;
}
