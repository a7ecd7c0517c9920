/*
 * exact.c — exact decimal strings for prices, quantities and money.  The
 * names are the one place that says which field is which, so an event, an
 * answer and a log line of the same value read the same.
 */
#include "util/exact.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/s6_core.h"

int s6_exact_format(double v, double grid, char *buf, size_t len)
{
    if (!isfinite(v))
        return -EINVAL;
    double on_grid = s6_round_to_step(v, grid, 0);
    if (isnan(on_grid))
        return -EINVAL;
    int n = s6_format_decimal(on_grid, grid, buf, len);
    return n < 0 ? -EINVAL : n;
}

json_t *s6_exact_json(double v, double grid)
{
    char buf[64];
    if (s6_exact_format(v, grid, buf, sizeof buf) < 0)
        return json_null();
    return json_string(buf);
}

double s6_exact_value(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    const char *s = json_string_value(v);
    char *end = NULL;
    double d = s != NULL && *s != '\0' ? strtod(s, &end) : NAN;
    return end != NULL && *end == '\0' ? d : NAN;
}

/* Sorted by name (strcmp order) for bsearch: every number of every
 * event and answer is looked up here. */
static const struct exact_name {
    const char *key;
    s6_exact_kind kind;
} names[] = {
    { "after_qty", S6_EXACT_QTY },
    { "budget", S6_EXACT_MONEY },
    { "entry", S6_EXACT_PRICE },
    { "entry_price", S6_EXACT_PRICE },
    { "fee", S6_EXACT_MONEY },
    { "fees", S6_EXACT_MONEY },
    { "fees_paid", S6_EXACT_MONEY },
    { "filled", S6_EXACT_QTY },
    { "first_stop", S6_EXACT_PRICE },
    { "guard", S6_EXACT_PRICE },
    { "liq_price", S6_EXACT_PRICE },
    { "margin", S6_EXACT_MONEY },
    { "mark", S6_EXACT_PRICE },
    { "mid", S6_EXACT_PRICE },
    { "new", S6_EXACT_PRICE },
    { "notional", S6_EXACT_MONEY },
    { "old", S6_EXACT_PRICE },
    { "ours", S6_EXACT_QTY },
    { "pending_price", S6_EXACT_PRICE },
    { "pnl", S6_EXACT_MONEY },
    { "position_qty", S6_EXACT_QTY },
    { "price", S6_EXACT_PRICE },
    { "qty", S6_EXACT_QTY },
    { "realized_pnl", S6_EXACT_MONEY },
    { "sl_px", S6_EXACT_PRICE },
    { "stop", S6_EXACT_PRICE },
    { "stop_price", S6_EXACT_PRICE },
    { "unrealized_pnl", S6_EXACT_MONEY },
    { "venue", S6_EXACT_QTY },
};

static int by_key(const void *k, const void *e)
{
    return strcmp(k, ((const struct exact_name *)e)->key);
}

s6_exact_kind s6_exact_kind_of(const char *key)
{
    const struct exact_name *n =
        key != NULL ? bsearch(key, names, sizeof names / sizeof *names,
                              sizeof *names, by_key)
                    : NULL;
    return n != NULL ? n->kind : S6_EXACT_NONE;
}

static double grid_of(s6_exact_kind k, const s6_exact_grid *g)
{
    switch (k) {
    case S6_EXACT_PRICE: return g->tick;
    case S6_EXACT_QTY: return g->step;
    case S6_EXACT_MONEY: return S6_EXACT_CENT;
    default: return 0;
    }
}

/* old_value/new_value of a plan action: a stop move's are prices. */
static s6_exact_kind value_kind(const json_t *obj, const char *key)
{
    if (strcmp(key, "old_value") != 0 && strcmp(key, "new_value") != 0)
        return s6_exact_kind_of(key);
    const char *action = json_string_value(json_object_get(obj, "action"));
    if (action == NULL || strcmp(action, "EVENT") == 0)
        return S6_EXACT_NONE;
    return strstr(action, "STOP") != NULL ? S6_EXACT_PRICE : S6_EXACT_QTY;
}

static int walk(json_t *doc, const s6_exact_grid *g, int depth);

static int walk_object(json_t *obj, const s6_exact_grid *g, int depth)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, v) {
        s6_exact_kind k = json_is_number(v) ? value_kind(obj, key)
                                            : S6_EXACT_NONE;
        if (k != S6_EXACT_NONE) {
            if (json_object_set_new(obj, key, s6_exact_json(
                    json_number_value(v), grid_of(k, g))) != 0)
                return -ENOMEM;
        } else if (walk(v, g, depth + 1) != 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* Depth-capped: the documents are the engine's own, a few levels deep. */
static int walk(json_t *doc, const s6_exact_grid *g, int depth)
{
    if (depth > 16)
        return -EINVAL;
    if (json_is_object(doc))
        return walk_object(doc, g, depth);
    for (size_t i = 0; json_is_array(doc) && i < json_array_size(doc); i++)
        if (walk(json_array_get(doc, i), g, depth + 1) != 0)
            return -EINVAL;
    return 0;
}

int s6_exact_object(json_t *doc, const s6_exact_grid *g)
{
    if (g == NULL || !(g->tick > 0) || !(g->step > 0))
        return -EINVAL;
    return walk(doc, g, 0);
}
