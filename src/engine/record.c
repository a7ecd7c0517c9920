/*
 * record.c — s6_engine_record <-> one JSON object (engine.h).
 *
 * Field tables, not code per field: each struct the record nests (the
 * position, the stop and its three orders, an in-flight order) is one
 * table of (name, type, offset, range), walked by the same encoder and
 * decoder.  Doubles are written with 17 significant digits so a decode
 * gives back the very same bits: a restored stop must be the stop that
 * was placed, not one a rounding away from it.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* F_TEXT: a const char * (NULL written as ""), decoded to a malloc'd
 * copy of at most size - 1 characters (the record's limit when it was a
 * buffer, kept so every stored record still decodes the same). */
typedef enum ftype { F_DBL, F_INT, F_UINT, F_BOOL, F_STR, F_STATE, F_TEXT } ftype;

typedef struct field {
    const char *name;
    ftype type;
    size_t off;
    size_t size;      /* F_STR: buffer size */
    double min, max;  /* numbers: inclusive range */
} field;

#define INF_ (1.0 / 0.0)
#define D(n, m, lo, hi) {#n, F_DBL, offsetof(m, n), 0, lo, hi}
#define I(n, m, lo, hi) {#n, F_INT, offsetof(m, n), 0, lo, hi}
#define U(n, m) {#n, F_UINT, offsetof(m, n), 0, 0, 4294967295.0}
#define B(n, m) {#n, F_BOOL, offsetof(m, n), 0, 0, 0}
#define S(n, m) {#n, F_STR, offsetof(m, n), sizeof(((m *)0)->n), 0, 0}
#define T(n, m, size) {#n, F_TEXT, offsetof(m, n), size, 0, 0}

static const field pos_fields[] = {
    S(id, s6_position), S(symbol, s6_position),
    I(market, s6_position, 0, 1), I(side, s6_position, -1, 1),
    {"state", F_STATE, offsetof(s6_position, state), 0, 0, 0},
    D(qty, s6_position, 0, INF_), D(entry, s6_position, 0, INF_),
    D(margin, s6_position, -INF_, INF_), D(leverage, s6_position, 0, INF_),
    D(fees_paid, s6_position, 0, INF_),
    D(realized_pnl, s6_position, -INF_, INF_),
    D(opened_at, s6_position, 0, INF_), D(closed_at, s6_position, 0, INF_),
    D(last_add_at, s6_position, 0, INF_),
    I(add_on_count, s6_position, 0, 1e6),
    I(n_entries, s6_position, 0, S6_MAX_ENTRIES),
    U(seq, s6_position), S(last_entry_intent, s6_position),
    U(n_seen, s6_position),
};

static const field order_fields[] = {
    B(live, s6_stop_order), S(intent_id, s6_stop_order),
    D(price, s6_stop_order, 0, INF_), D(qty, s6_stop_order, 0, INF_),
};

static const field stop_fields[] = {
    I(side, s6_stop, -1, 1), I(step, s6_stop, 0, 1e6),
    I(pending_step, s6_stop, 0, 1e6), D(guard, s6_stop, 0, INF_),
    U(failures, s6_stop),
};

static const field inflight_fields[] = {
    S(intent_id, s6_inflight),
    I(purpose, s6_inflight, S6_PURPOSE_STOP, S6_PURPOSE_COUNT - 1),
    I(market, s6_inflight, 0, 1), I(side, s6_inflight, -1, 1),
    B(reduce_only, s6_inflight), D(qty, s6_inflight, 0, INF_),
    D(filled, s6_inflight, 0, INF_), D(budget, s6_inflight, 0, INF_),
    I(status, s6_inflight, S6_INF_SENT, S6_INF_STATUS_COUNT - 1),
    U(attempts, s6_inflight), U(retry_tick, s6_inflight), S(plan_id, s6_inflight),
};

static const field rec_fields[] = {
    I(tp_step, s6_engine_record, 0, 1e6),
    D(best_price, s6_engine_record, 0, INF_),
    D(risk_reserved, s6_engine_record, 0, INF_),
    I(concurrency_reserved, s6_engine_record, 0, 1e6),
    B(quota_released, s6_engine_record), S(last_plan_id, s6_engine_record),
    T(rule_versions, s6_engine_record, S6_RULE_VERSIONS_MAX), B(stop_retry, s6_engine_record),
    U(stop_retry_tick, s6_engine_record), B(stop_needed, s6_engine_record),
    B(stop_resize, s6_engine_record), B(liq_alerted, s6_engine_record),
    B(guard_alerted, s6_engine_record), D(mark, s6_engine_record, 0, INF_),
    D(atr, s6_engine_record, 0, INF_),
};

static const field margin_fields[] = {
    I(level, s6_margin_state, 0, S6_MARGIN_LEVEL_COUNT - 1),
    S(intent_id, s6_margin_state), D(amount, s6_margin_state, 0, INF_),
    I(status, s6_margin_state, 0, S6_INF_STATUS_COUNT - 1),
    U(attempts, s6_margin_state), U(retry_tick, s6_margin_state),
    D(last_add_at, s6_margin_state, 0, INF_),
    D(added, s6_margin_state, 0, INF_),
};

static const field adoption_fields[] = {
    B(waiting, s6_adoption), S(as_of, s6_adoption),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- encode ---- */

static json_t *enc_field(const void *base, const field *f)
{
    const char *p = (const char *)base + f->off;
    switch (f->type) {
    case F_DBL: return json_real(*(const double *)p);
    case F_INT: return json_integer(*(const int *)p);
    case F_UINT: return json_integer(*(const unsigned *)p);
    case F_BOOL: return json_boolean(*(const bool *)p);
    case F_STR: return json_string(p);
    case F_TEXT: {
        const char *s = *(const char *const *)p;
        return json_string(s != NULL ? s : "");
    }
    case F_STATE: return json_string(s6_pos_state_name(*(const s6_pos_state *)p));
    }
    return NULL;
}

static json_t *enc_obj(const void *base, const field *t, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        if (json_object_set_new(o, t[i].name, enc_field(base, &t[i])) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *enc_position(const s6_position *p)
{
    json_t *o = enc_obj(p, pos_fields, N(pos_fields));
    json_t *eq = json_array(), *seen = json_array();
    for (int i = 0; i < p->n_entries && i < S6_MAX_ENTRIES; i++)
        json_array_append_new(eq, json_real(p->entry_qty[i]));
    unsigned ns = p->n_seen < S6_SEEN_RESULTS ? p->n_seen : S6_SEEN_RESULTS;
    for (unsigned i = 0; i < ns; i++)
        json_array_append_new(seen, json_string(p->seen[i]));
    json_object_set_new(o, "entry_qty", eq);
    json_object_set_new(o, "seen", seen);
    return o;
}

static json_t *enc_stop(const s6_stop *st)
{
    json_t *o = enc_obj(st, stop_fields, N(stop_fields));
    json_object_set_new(o, "confirmed", enc_obj(&st->confirmed, order_fields,
                                                N(order_fields)));
    json_object_set_new(o, "pending", enc_obj(&st->pending, order_fields,
                                              N(order_fields)));
    json_object_set_new(o, "cancelling", enc_obj(&st->cancelling, order_fields,
                                                 N(order_fields)));
    return o;
}

char *s6_engine_record_encode(const s6_engine_record *rec)
{
    if (rec == NULL)
        return NULL;
    json_t *o = enc_obj(rec, rec_fields, N(rec_fields));
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "pos", enc_position(&rec->pos));
    json_object_set_new(o, "stop", enc_stop(&rec->stop));
    json_object_set_new(o, "margin", enc_obj(&rec->margin, margin_fields,
                                             N(margin_fields)));
    json_object_set_new(o, "adoption", enc_obj(&rec->adoption,
                                               adoption_fields,
                                               N(adoption_fields)));
    json_t *inf = json_array();
    for (size_t i = 0; i < rec->n_inflight && i < S6_ENGINE_MAX_INFLIGHT; i++)
        json_array_append_new(inf, enc_obj(&rec->inflight[i], inflight_fields,
                                           N(inflight_fields)));
    json_object_set_new(o, "inflight", inf);
    json_t *rs = NULL;
    if (rec->rule_state_json != NULL && rec->rule_state_json[0] != '\0')
        rs = json_loads(rec->rule_state_json, 0, NULL);
    json_object_set_new(o, "rule_state", rs != NULL ? rs : json_null());
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

/* ---- decode ---- */

static int bad(char *err, size_t errlen, const char *path, const char *name,
               const char *why)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s: %s", path, name, why);
    return S6_EINVAL;
}

/* "" stays NULL: nothing to own. */
static int dec_text(const char *s, const char **out)
{
    char *copy = NULL;
    if (s[0] != '\0' && (copy = strdup(s)) == NULL)
        return -ENOMEM;
    *out = copy;
    return 0;
}

static int dec_field(const json_t *v, void *base, const field *f,
                     const char *path, char *err, size_t errlen)
{
    char *p = (char *)base + f->off;
    if (v == NULL)
        return bad(err, errlen, path, f->name, "missing");
    if (f->type == F_BOOL) {
        if (!json_is_boolean(v))
            return bad(err, errlen, path, f->name, "not a boolean");
        *(bool *)p = json_is_true(v);
        return 0;
    }
    if (f->type == F_STR || f->type == F_STATE || f->type == F_TEXT) {
        if (!json_is_string(v))
            return bad(err, errlen, path, f->name, "not a string");
        const char *s = json_string_value(v);
        if (f->type == F_STATE) {
            int st = s6_pos_state_parse(s);
            if (st < 0)
                return bad(err, errlen, path, f->name, "unknown state");
            *(s6_pos_state *)p = (s6_pos_state)st;
            return 0;
        }
        if (strlen(s) >= f->size)
            return bad(err, errlen, path, f->name, "too long");
        if (f->type == F_TEXT)
            return dec_text(s, (const char **)(void *)p);
        memcpy(p, s, strlen(s) + 1);
        return 0;
    }
    if (!json_is_number(v))
        return bad(err, errlen, path, f->name, "not a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < f->min || d > f->max)
        return bad(err, errlen, path, f->name, "out of range");
    if (f->type != F_DBL && (!json_is_integer(v)))
        return bad(err, errlen, path, f->name, "not an integer");
    if (f->type == F_DBL)
        *(double *)p = d;
    else if (f->type == F_INT)
        *(int *)p = (int)json_integer_value(v);
    else
        *(unsigned *)p = (unsigned)json_integer_value(v);
    return 0;
}

static int dec_obj(const json_t *o, void *base, const field *t, size_t n,
                   const char *path, char *err, size_t errlen)
{
    if (!json_is_object(o))
        return bad(err, errlen, path, "", "not an object");
    for (size_t i = 0; i < n; i++) {
        int rc = dec_field(json_object_get(o, t[i].name), base, &t[i], path,
                           err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int dec_position(const json_t *o, s6_position *p, char *err,
                        size_t errlen)
{
    int rc = dec_obj(o, p, pos_fields, N(pos_fields), "pos.", err, errlen);
    if (rc != 0)
        return rc;
    const json_t *eq = json_object_get(o, "entry_qty");
    if (!json_is_array(eq) || json_array_size(eq) != (size_t)p->n_entries)
        return bad(err, errlen, "pos.", "entry_qty", "an array of n_entries numbers");
    for (size_t i = 0; i < json_array_size(eq); i++) {
        double q = json_number_value(json_array_get(eq, i));
        if (!json_is_number(json_array_get(eq, i)) || !isfinite(q) || q < 0)
            return bad(err, errlen, "pos.", "entry_qty", "a number >= 0");
        p->entry_qty[i] = q;
    }
    const json_t *seen = json_object_get(o, "seen");
    unsigned ns = p->n_seen < S6_SEEN_RESULTS ? p->n_seen : S6_SEEN_RESULTS;
    if (!json_is_array(seen) || json_array_size(seen) != ns)
        return bad(err, errlen, "pos.", "seen", "an array of the seen result ids");
    for (size_t i = 0; i < ns; i++) {
        const char *s = json_string_value(json_array_get(seen, i));
        if (s == NULL || strlen(s) >= S6_RESULT_ID_MAX)
            return bad(err, errlen, "pos.", "seen", "result ids of 1 to 47 characters");
        memcpy(p->seen[i], s, strlen(s) + 1);
    }
    char why[96];
    s6_position chk;
    if (s6_position_init(&chk, p->id, p->symbol, p->market,
                         p->market == S6_MARKET_FUT ? p->leverage : 1, why,
                         sizeof why) != 0)
        return bad(err, errlen, "pos.", "", why);
    return 0;
}

static int dec_stop(const json_t *o, s6_stop *st, char *err, size_t errlen)
{
    int rc = dec_obj(o, st, stop_fields, N(stop_fields), "stop.", err, errlen);
    static const struct {
        const char *name, *path;
        size_t off;
    } orders[] = {
        {"confirmed", "stop.confirmed.", offsetof(s6_stop, confirmed)},
        {"pending", "stop.pending.", offsetof(s6_stop, pending)},
        {"cancelling", "stop.cancelling.", offsetof(s6_stop, cancelling)},
    };
    for (size_t i = 0; rc == 0 && i < N(orders); i++)
        rc = dec_obj(json_object_get(o, orders[i].name),
                     (char *)st + orders[i].off, order_fields, N(order_fields),
                     orders[i].path, err, errlen);
    return rc;
}

static int dec_inflight(const json_t *a, s6_engine_record *rec, char *err,
                        size_t errlen)
{
    if (!json_is_array(a) || json_array_size(a) > S6_ENGINE_MAX_INFLIGHT)
        return bad(err, errlen, "", "inflight", "an array of at most 8 orders");
    rec->n_inflight = json_array_size(a);
    for (size_t i = 0; i < rec->n_inflight; i++) {
        int rc = dec_obj(json_array_get(a, i), &rec->inflight[i],
                         inflight_fields, N(inflight_fields), "inflight[].",
                         err, errlen);
        if (rc != 0)
            return rc;
        if (rec->inflight[i].intent_id[0] == '\0')
            return bad(err, errlen, "inflight[].", "intent_id", "empty");
    }
    return 0;
}

int s6_engine_record_decode(const char *json, s6_engine_record *rec,
                            char **rule_state, char *err, size_t errlen)
{
    if (json == NULL || rec == NULL || rule_state == NULL)
        return bad(err, errlen, "", "record", "NULL argument");
    *rule_state = NULL;
    json_error_t jerr;
    json_t *o = json_loads(json, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(err, errlen, "", "record", "not a JSON object");
    }
    s6_engine_record r;
    memset(&r, 0, sizeof r);
    int rc = dec_obj(o, &r, rec_fields, N(rec_fields), "", err, errlen);
    if (rc == 0)
        rc = dec_position(json_object_get(o, "pos"), &r.pos, err, errlen);
    if (rc == 0)
        rc = dec_stop(json_object_get(o, "stop"), &r.stop, err, errlen);
    if (rc == 0)
        rc = dec_inflight(json_object_get(o, "inflight"), &r, err, errlen);
    /* Records written before the margin watch have none: zeros. */
    const json_t *mg = json_object_get(o, "margin");
    if (rc == 0 && mg != NULL)
        rc = dec_obj(mg, &r.margin, margin_fields, N(margin_fields),
                     "margin.", err, errlen);
    /* Records written before adoptions were kept: none waiting. */
    const json_t *ad = json_object_get(o, "adoption");
    if (rc == 0 && ad != NULL)
        rc = dec_obj(ad, &r.adoption, adoption_fields, N(adoption_fields),
                     "adoption.", err, errlen);
    const json_t *rs = json_object_get(o, "rule_state");
    if (rc == 0 && rs != NULL && !json_is_null(rs) && !json_is_object(rs))
        rc = bad(err, errlen, "", "rule_state", "an object or null");
    char *rstext = NULL;
    if (rc == 0 && json_is_object(rs)) {
        rstext = json_dumps(rs, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (rstext == NULL)
            rc = -ENOMEM;
    }
    json_decref(o);
    if (rc != 0) {
        free((char *)r.rule_versions);
        return rc;
    }
    *rec = r;
    rec->rule_state_json = rstext;
    *rule_state = rstext;
    return 0;
}

void s6_engine_record_release(s6_engine_record *rec)
{
    if (rec == NULL)
        return;
    free((char *)rec->rule_state_json);
    free((char *)rec->rule_versions);
    rec->rule_state_json = rec->rule_versions = NULL;
}
