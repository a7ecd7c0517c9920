/*
 * book_record.c — what the engine itself must carry over a restart,
 * beside the positions' records (docs/engine.md, "What survives a
 * restart"):
 *   - today's realized PnL and its UTC day, and the day the daily loss
 *     alert fired: a crash loop must not give a desk its daily loss limit
 *     again at every start;
 *   - the leftovers: a stop or order whose cancel S4 has not confirmed
 *     would otherwise be forgotten and could fill the symbol's next
 *     position.
 *
 * One JSON object, saved whole through the state edge's book_save at
 * every change, before the position save of the same step (so a restart
 * that finds the position closed finds its leftovers too):
 *   {"day":1764028800,"realized":-1250.5,"alerted_day":1764028800,
 *    "leftovers":[{"intent_id":"p1-sl-2","symbol":"BTCUSDT",
 *                  "market":"FUT"}]}
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

char *s6_engine_book_encode(const s6_engine *e)
{
    json_t *left = json_array();
    for (size_t i = 0; left != NULL && i < e->n_leftovers; i++) {
        const e_leftover *l = &e->leftovers[i];
        json_array_append_new(left, json_pack("{s:s,s:s,s:s}", "intent_id",
                                              l->intent_id, "symbol",
                                              l->symbol, "market",
                                              s6_market_name(l->market)));
    }
    json_t *o = json_pack("{s:f,s:f,s:f,s:o}", "day", e->day_start,
                          "realized", e->day_realized, "alerted_day",
                          e->daily_loss_day, "leftovers", left);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT |
                                                JSON_REAL_PRECISION(17))
                           : NULL;
    json_decref(o);
    return text;
}

void e_book_save(s6_engine *e)
{
    const s6_state_edge *st = &e->edges.state;
    if (st->book_save == NULL)
        return;
    char *json = s6_engine_book_encode(e);
    int rc = json != NULL ? st->book_save(st->ud, json) : -ENOMEM;
    free(json);
    if (rc != 0)
        s6_log_error(e->log, "engine", "book record not saved",
                     S6_LOG_INT("rc", rc));
}

static int num_field(const json_t *o, const char *name, double *out,
                     char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return e_fail(err, errlen, -EINVAL, "book record: %s: a finite "
                      "number expected", name);
    *out = json_number_value(v);
    return 0;
}

static int leftover_of(const json_t *v, size_t i, e_leftover *l, char *err,
                       size_t errlen)
{
    const char *id = json_string_value(json_object_get(v, "intent_id"));
    const char *sym = json_string_value(json_object_get(v, "symbol"));
    const char *mkt = json_string_value(json_object_get(v, "market"));
    char what[64];
    snprintf(what, sizeof what, "leftovers[%zu]", i);
    if (id == NULL || id[0] == '\0' || strlen(id) > S6_INTENT_ID_MAX)
        return e_fail(err, errlen, -EINVAL, "book record: %s.intent_id: "
                      "1..36 characters expected", what);
    if (sym == NULL || sym[0] == '\0' || strlen(sym) > S6_SYMBOL_MAX)
        return e_fail(err, errlen, -EINVAL, "book record: %s.symbol: a "
                      "symbol expected", what);
    int market = mkt != NULL ? s6_market_parse(mkt) : -1;
    if (market < 0)
        return e_fail(err, errlen, -EINVAL, "book record: %s.market: FUT "
                      "or SPOT expected", what);
    memset(l, 0, sizeof *l);
    snprintf(l->intent_id, sizeof l->intent_id, "%s", id);
    snprintf(l->symbol, sizeof l->symbol, "%s", sym);
    l->market = market;
    return 0;
}

/* Everything checked before anything changes: a bad record restores
 * nothing. */
static int decode(const json_t *o, double f[3], json_t **left, char *err,
                  size_t errlen)
{
    static const char *const names[] = {"day", "realized", "alerted_day"};
    if (!json_is_object(o))
        return e_fail(err, errlen, -EINVAL, "%s", "book record: not a JSON "
                      "object");
    for (size_t i = 0; i < 3; i++)
        if (num_field(o, names[i], &f[i], err, errlen) != 0)
            return -EINVAL;
    *left = json_object_get(o, "leftovers");
    if (!json_is_array(*left))
        return e_fail(err, errlen, -EINVAL, "%s", "book record: leftovers: "
                      "an array expected");
    e_leftover l;
    for (size_t i = 0; i < json_array_size(*left); i++)
        if (leftover_of(json_array_get(*left, i), i, &l, err, errlen) != 0)
            return -EINVAL;
    return 0;
}

int s6_engine_restore_book(s6_engine *e, const char *json, char *err,
                           size_t errlen)
{
    if (e == NULL)
        return -EINVAL;
    if (json == NULL || json[0] == '\0')
        return 0; /* a first start: nothing was persisted */
    if (e->resumed)
        return e_fail(err, errlen, -EBUSY, "%s", "restore comes before any "
                      "input");
    json_t *o = json_loads(json, 0, NULL);
    double f[3];
    json_t *left = NULL;
    int rc = decode(o, f, &left, err, errlen);
    if (rc == 0) {
        /* a figure of another UTC day is not today's: the day starts at 0 */
        if (f[0] == floor(e_now(e) / 86400.0) * 86400.0) {
            e->day_start = f[0];
            e->day_realized = f[1];
        }
        e->daily_loss_day = f[2];
        for (size_t i = 0; i < json_array_size(left); i++) {
            e_leftover l;
            leftover_of(json_array_get(left, i), i, &l, err, errlen);
            e_leftover_add(e, l.intent_id, l.symbol, l.market);
        }
        s6_log_info(e->log, "engine", "book restored",
                    S6_LOG_NUM("realized_today", e->day_realized),
                    S6_LOG_INT("leftovers", (int64_t)e->n_leftovers));
    }
    json_decref(o);
    return rc;
}
