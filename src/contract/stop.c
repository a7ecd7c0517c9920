#include "contract/stop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/s6_core.h"

static void set_order(s6_stop_order *o, const char *intent, double price,
                      double qty)
{
    o->live = true;
    snprintf(o->intent_id, sizeof o->intent_id, "%s", intent);
    o->price = price;
    o->qty = qty;
}

static void to_cmd(s6_stop_cmd *cmd, s6_stop_cmd_kind kind,
                   const s6_stop_order *o)
{
    cmd->kind = kind;
    snprintf(cmd->intent_id, sizeof cmd->intent_id, "%s", o->intent_id);
    cmd->price = o->price;
    cmd->qty = o->qty;
}

static bool matches(const s6_stop_order *o, const char *intent)
{
    return o->live && intent != NULL && strcmp(o->intent_id, intent) == 0;
}

void s6_stop_init(s6_stop *st, int side)
{
    memset(st, 0, sizeof *st);
    st->side = side;
}

int s6_stop_request(s6_stop *st, double price, double qty, int step,
                    const char *intent_id, s6_stop_cmd *cmd)
{
    size_t n = intent_id != NULL ? strlen(intent_id) : 0;
    if (st == NULL || cmd == NULL || !(isfinite(price) && price > 0) ||
        !(isfinite(qty) && qty > 0) || n == 0 || n > S6_INTENT_ID_MAX)
        return S6_EINVAL;
    memset(cmd, 0, sizeof *cmd);
    if (st->pending.live)
        return S6_EBUSY;
    set_order(&st->pending, intent_id, price, qty);
    st->pending_step = step;
    if (!st->confirmed.live)
        st->guard = price; /* covered from this moment, whatever S4 does */
    to_cmd(cmd, S6_STOP_CMD_PLACE, &st->pending);
    return S6_OK;
}

int s6_stop_placed(s6_stop *st, const char *intent_id, s6_stop_cmd *cmd)
{
    if (st == NULL || cmd == NULL)
        return S6_EINVAL;
    memset(cmd, 0, sizeof *cmd);
    if (!matches(&st->pending, intent_id))
        return S6_EINVAL; /* not the placement in flight: ignore it */
    if (st->confirmed.live) {
        st->cancelling = st->confirmed;
        to_cmd(cmd, S6_STOP_CMD_CANCEL, &st->cancelling);
    }
    st->confirmed = st->pending;
    st->step = st->pending_step;
    st->pending.live = false;
    st->guard = 0;
    st->failures = 0;
    return S6_OK;
}

int s6_stop_place_failed(s6_stop *st, const char *intent_id, bool retry,
                         s6_stop_cmd *cmd)
{
    if (st == NULL || cmd == NULL)
        return S6_EINVAL;
    memset(cmd, 0, sizeof *cmd);
    if (!matches(&st->pending, intent_id))
        return S6_EINVAL;
    st->failures++;
    if (retry) {
        to_cmd(cmd, S6_STOP_CMD_PLACE, &st->pending); /* same key */
        return S6_OK;
    }
    /* Refused for good: the confirmed stop (if any) still protects, and
     * without one the guard keeps watching the price asked for. */
    st->pending.live = false;
    return S6_OK;
}

int s6_stop_cancelled(s6_stop *st, const char *intent_id)
{
    if (st == NULL || !matches(&st->cancelling, intent_id))
        return S6_EINVAL;
    st->cancelling.live = false;
    return S6_OK;
}

void s6_stop_clear(s6_stop *st)
{
    int side = st->side;
    s6_stop_init(st, side);
}

double s6_stop_guard_price(const s6_stop *st)
{
    return st != NULL && !st->confirmed.live ? st->guard : 0;
}

bool s6_stop_guard_hit(const s6_stop *st, double mark)
{
    double g = s6_stop_guard_price(st);
    return g > 0 && isfinite(mark) && st->side * (mark - g) <= 0;
}

bool s6_stop_in_flight(const s6_stop *st)
{
    return st != NULL && st->pending.live;
}
