/*
 * positions.c — reading the start positions file.  Every field is checked
 * before anything is returned, and the message names the field.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "venue/paper/positions.h"
#include "util/text_file.h"
#include "contract/names.h"

typedef struct ctx {
    const char *name;
    size_t i;
    char *err;
    size_t errlen;
} ctx;

static int bad(const ctx *c, const char *field, const char *why)
{
    snprintf(c->err, c->errlen, "%s: positions[%zu].%s: %s", c->name, c->i,
             field, why);
    return -EINVAL;
}

static int get_str(const ctx *c, json_t *o, const char *field, bool required,
                   char *out, size_t cap)
{
    json_t *v = json_object_get(o, field);
    if (v == NULL && !required)
        return 0;
    if (!json_is_string(v))
        return bad(c, field, "must be a string");
    if (json_string_length(v) == 0 || json_string_length(v) >= cap)
        return bad(c, field, "must be 1 to 24 characters");
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

/* min: exclusive when strict. */
static int get_num(const ctx *c, json_t *o, const char *field, bool required,
                   double min, bool strict, double *out)
{
    json_t *v = json_object_get(o, field);
    if (v == NULL && !required)
        return 0;
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!isfinite(d) || d < min || (strict && d == min))
        return bad(c, field, strict ? "must be a number > 0"
                                    : "must be a number >= 0");
    *out = d;
    return 0;
}

static int word(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

static int parse_side(const ctx *c, json_t *o, int *side)
{
    static const char *const names[] = { "LONG", "BUY", "SHORT", "SELL" };
    char s[8];
    int rc = get_str(c, o, "side", true, s, sizeof s);
    int w = rc ? -1 : word(s, names, 4);
    if (rc == 0 && w < 0)
        return bad(c, "side", "must be LONG, SHORT, BUY or SELL");
    *side = w < 2 ? 1 : -1;
    return rc;
}

static bool id_ok(const char *id)
{
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789_-") == strlen(id);
}

static int parse_one(const ctx *c, json_t *o, const s6_config *cfg,
                     s6_paper_entry *e)
{
    if (!json_is_object(o))
        return bad(c, "", "must be an object");
    *e = (s6_paper_entry){ .market = S6_MARKET_FUT };
    char market[8] = "FUT";
    int rc = get_str(c, o, "pos_id", true, e->pos_id, sizeof e->pos_id);
    if (rc == 0 && !id_ok(e->pos_id))
        return bad(c, "pos_id", "must be of A-Z a-z 0-9 _ -");
    if (rc || (rc = get_str(c, o, "symbol", true, e->symbol,
                            sizeof e->symbol)) ||
        (rc = get_str(c, o, "market", false, market, sizeof market)))
        return rc;
    if ((e->market = s6_market_parse(market)) < 0)
        return bad(c, "market", "must be FUT or SPOT");
    const s6_symbol_cfg *sym = s6_config_symbol(cfg, e->market, e->symbol);
    if (sym == NULL)
        return bad(c, "symbol", "is not configured for that market");
    double conc = 0;
    if ((rc = parse_side(c, o, &e->side)) ||
        (rc = get_num(c, o, "qty", true, 0, true, &e->qty)) ||
        (rc = get_num(c, o, "leverage", false, 1, false, &e->leverage)) ||
        (rc = get_num(c, o, "sl_px", false, 0, false, &e->sl_px)) ||
        (rc = get_num(c, o, "risk_reserved", false, 0, false,
                      &e->risk_reserved)) ||
        (rc = get_num(c, o, "concurrency_reserved", false, 0, false,
                      &conc)) ||
        (rc = get_num(c, o, "at", false, 0, false, &e->at)))
        return rc;
    e->concurrency_reserved = (int)conc;
    if (e->qty < sym->min_qty)
        return bad(c, "qty", "is below the symbol's min_qty");
    if (e->market == S6_MARKET_SPOT && e->side < 0)
        return bad(c, "side", "a SPOT position can only be LONG");
    if (e->leverage > cfg->risk.max_leverage)
        return bad(c, "leverage", "is above risk.max_leverage");
    return 0;
}

static int check_unique(const ctx *c0, const s6_paper_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            ctx c = *c0;
            c.i = i;
            if (strcmp(v[i].pos_id, v[j].pos_id) == 0)
                return bad(&c, "pos_id", "repeats an earlier position");
            if (strcmp(v[i].symbol, v[j].symbol) == 0 &&
                v[i].market == v[j].market)
                return bad(&c, "symbol", "one position per market and "
                                         "symbol (one-way mode)");
        }
    return 0;
}

int s6_paper_entries_parse(const char *text, const char *name,
                           const s6_config *cfg, s6_paper_entry **out,
                           size_t *n, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (doc == NULL) {
        snprintf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column,
                 je.text);
        return -EINVAL;
    }
    json_t *list = json_object_get(doc, "positions");
    int rc = 0;
    if (!json_is_array(list)) {
        snprintf(err, errlen, "%s: positions: must be an array", name);
        rc = -EINVAL;
    }
    size_t count = rc ? 0 : json_array_size(list);
    s6_paper_entry *v = calloc(count ? count : 1, sizeof *v);
    if (v == NULL && rc == 0)
        rc = -ENOMEM;
    ctx c = { .name = name, .err = err, .errlen = errlen };
    for (c.i = 0; rc == 0 && c.i < count; c.i++)
        rc = parse_one(&c, json_array_get(list, c.i), cfg, &v[c.i]);
    if (rc == 0)
        rc = check_unique(&c, v, count);
    json_decref(doc);
    if (rc != 0) {
        free(v);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

int s6_paper_entries_load(const char *path, const s6_config *cfg,
                          s6_paper_entry **out, size_t *n, char *err,
                          size_t errlen)
{
    char *text;
    int rc = s6_read_text_file(path, &text, err, errlen);
    if (rc != 0)
        return rc;
    rc = s6_paper_entries_parse(text, s6_base_name(path), cfg, out, n, err,
                                errlen);
    free(text);
    return rc;
}
