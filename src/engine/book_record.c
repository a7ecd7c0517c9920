/*
 * book_record.c — what the engine itself must carry over a restart,
 * beside the positions' records (docs/engine.md, "What survives a
 * restart"):
 *   - today's realized PnL and its UTC day, and the day the daily loss
 *     alert fired: a crash loop must not give a desk its daily loss limit
 *     again at every start; each market's share of it (the
 *     s6_realized_pnl gauge) with it;
 *   - the leftovers: a stop or order whose cancel S4 has not confirmed
 *     would otherwise be forgotten and could fill the symbol's next
 *     position.
 *
 * One JSON object, saved whole through the state edge's book_save at
 * every change, before the position save of the same step (so a restart
 * that finds the position closed finds its leftovers too):
 *   {"day":1764028800,"realized":-1250.5,"alerted_day":1764028800,
 *    "markets":[{"symbol":"BTCUSDT","market":"FUT","realized":-1250.5}],
 *    "leftovers":[{"intent_id":"p1-sl-2","symbol":"BTCUSDT",
 *                  "market":"FUT"}]}
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

static json_t *enc_markets(const s6_engine *e)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < e->n_mkts; i++) {
        const e_mkt *m = &e->mkts[i];
        if (m->day_start == e->day_start && m->day_realized != 0)
            json_array_append_new(a, json_pack("{s:s,s:s,s:f}", "symbol",
                                               m->symbol, "market",
                                               s6_market_name(m->market),
                                               "realized", m->day_realized));
    }
    return a;
}

static json_t *enc_leftovers(const s6_engine *e)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < e->n_leftovers; i++) {
        const e_leftover *l = &e->leftovers[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "intent_id",
                                           l->intent_id, "symbol", l->symbol,
                                           "market",
                                           s6_market_name(l->market)));
    }
    return a;
}

char *s6_engine_book_encode(const s6_engine *e)
{
    json_t *o = json_pack("{s:f,s:f,s:f,s:o,s:o}", "day", e->day_start,
                          "realized", e->day_realized, "alerted_day",
                          e->daily_loss_day, "markets", enc_markets(e),
                          "leftovers", enc_leftovers(e));
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

/* One entry of "markets" or "leftovers", checked. */
typedef struct book_item {
    char intent_id[S6_INTENT_ID_MAX + 1]; /* leftovers */
    char symbol[S6_SYMBOL_MAX + 1];
    int market;
    double realized;                      /* markets */
} book_item;

static const char *const lists[] = {"markets", "leftovers"};
enum { L_MARKETS, L_LEFTOVERS };

static int bad_item(char *err, size_t errlen, int list, size_t i,
                    const char *what)
{
    char path[96];
    snprintf(path, sizeof path, "%s[%zu].%s", lists[list], i, what);
    return e_fail(err, errlen, -EINVAL, "book record: %s", path);
}

static int item_of(const json_t *v, int list, size_t i, book_item *it,
                   char *err, size_t errlen)
{
    const char *sym = json_string_value(json_object_get(v, "symbol"));
    const char *mkt = json_string_value(json_object_get(v, "market"));
    const char *id = json_string_value(json_object_get(v, "intent_id"));
    const json_t *num = json_object_get(v, "realized");
    memset(it, 0, sizeof *it);
    if (sym == NULL || sym[0] == '\0' || strlen(sym) > S6_SYMBOL_MAX)
        return bad_item(err, errlen, list, i, "symbol: a symbol expected");
    it->market = mkt != NULL ? s6_market_parse(mkt) : -1;
    if (it->market < 0)
        return bad_item(err, errlen, list, i, "market: FUT or SPOT expected");
    if (list == L_LEFTOVERS &&
        (id == NULL || id[0] == '\0' || strlen(id) > S6_INTENT_ID_MAX))
        return bad_item(err, errlen, list, i,
                        "intent_id: 1..36 characters expected");
    if (list == L_MARKETS &&
        (!json_is_number(num) || !isfinite(json_number_value(num))))
        return bad_item(err, errlen, list, i,
                        "realized: a finite number expected");
    snprintf(it->symbol, sizeof it->symbol, "%s", sym);
    snprintf(it->intent_id, sizeof it->intent_id, "%s", id ? id : "");
    it->realized = json_number_value(num);
    return 0;
}

/* Everything checked before anything changes: a bad record restores
 * nothing. */
static int decode(const json_t *o, double f[3], char *err, size_t errlen)
{
    static const char *const names[] = {"day", "realized", "alerted_day"};
    if (!json_is_object(o))
        return e_fail(err, errlen, -EINVAL, "%s", "book record: not a JSON "
                      "object");
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_object_get(o, names[i]);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return e_fail(err, errlen, -EINVAL, "book record: %s: a finite "
                          "number expected", names[i]);
        f[i] = json_number_value(v);
    }
    for (int l = 0; l < 2; l++) {
        const json_t *a = json_object_get(o, lists[l]);
        if (!json_is_array(a))
            return e_fail(err, errlen, -EINVAL, "book record: %s: an array "
                          "expected", lists[l]);
        book_item it;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (item_of(json_array_get(a, i), l, i, &it, err, errlen) != 0)
                return -EINVAL;
    }
    return 0;
}

/* Today's figures: the book's and each market's share. */
static void restore_day(s6_engine *e, const json_t *o, const double f[3])
{
    e->day_start = f[0];
    e->day_realized = f[1];
    const json_t *a = json_object_get(o, lists[L_MARKETS]);
    for (size_t i = 0; i < json_array_size(a); i++) {
        book_item it;
        item_of(json_array_get(a, i), L_MARKETS, i, &it, NULL, 0);
        int m = e_mkt_index(e, it.market, it.symbol);
        if (m < 0)
            continue; /* a market the config no longer has */
        e->mkts[m].day_start = f[0];
        e->mkts[m].day_realized = it.realized;
    }
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
    int rc = decode(o, f, err, errlen);
    if (rc == 0) {
        /* a figure of another UTC day is not today's: the day starts at 0 */
        if (f[0] == floor(e_now(e) / 86400.0) * 86400.0)
            restore_day(e, o, f);
        e->daily_loss_day = f[2];
        const json_t *a = json_object_get(o, lists[L_LEFTOVERS]);
        for (size_t i = 0; i < json_array_size(a); i++) {
            book_item it;
            item_of(json_array_get(a, i), L_LEFTOVERS, i, &it, NULL, 0);
            e_leftover_add(e, it.intent_id, it.symbol, it.market);
        }
        s6_log_info(e->log, "engine", "book restored",
                    S6_LOG_NUM("realized_today", e->day_realized),
                    S6_LOG_INT("leftovers", (int64_t)e->n_leftovers));
    }
    json_decref(o);
    return rc;
}
