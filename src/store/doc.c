/*
 * doc.c — records as JSON documents and back, one field table per record.
 * SQLite stores the snapshot's document; ArangoDB stores all three, so one
 * table decides each shape, and a snapshot field added here is kept by
 * every backend without a schema migration.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

typedef enum { F_STR, F_NUM, F_I32, F_I64, F_STATUS } ftype;

typedef struct field {
    const char *key;
    ftype type;
    size_t off;
    size_t size; /* F_STR: the array's size */
} field;

#define STR(T, k) { #k, F_STR, offsetof(T, k), sizeof(((T *)0)->k) }
#define NUM(T, k) { #k, F_NUM, offsetof(T, k), 0 }
#define I32(T, k) { #k, F_I32, offsetof(T, k), 0 }
#define I64(T, k) { #k, F_I64, offsetof(T, k), 0 }
#define STATUS(T, k) { #k, F_STATUS, offsetof(T, k), 0 }
#define END { NULL, F_STR, 0, 0 }

#define S s6_store_snapshot
static const field SNAPSHOT_FIELDS[] = {
    STR(S, pos_id), STR(S, symbol), STR(S, market), STR(S, state),
    STR(S, side), NUM(S, qty), NUM(S, entry_px), NUM(S, mark_px),
    NUM(S, roe), NUM(S, liq_px), NUM(S, stop_px), I32(S, stop_step),
    I32(S, tp_step), I32(S, adds), NUM(S, realized_pnl),
    NUM(S, unrealized_pnl), STR(S, plan_id), I64(S, ts_ms), END,
};
#undef S
#define O s6_store_order
static const field ORDER_FIELDS[] = {
    STR(O, intent_id), STR(O, pos_id), STR(O, kind), STR(O, status),
    STR(O, s4_order_id), NUM(O, price), NUM(O, qty), I64(O, created_ms),
    I64(O, updated_ms), END,
};
#undef O
/* seq is not a field: SQLite's row id, ArangoDB's generated _key. */
#define E s6_store_order_event
static const field EVENT_FIELDS[] = {
    STR(E, intent_id), STR(E, pos_id), STR(E, symbol), STR(E, kind),
    STR(E, status), NUM(E, price), NUM(E, qty), I64(E, ts_ms), END,
};
#undef E
#define T s6_store_transfer
static const field TRANSFER_FIELDS[] = {
    STR(T, transfer_id), STR(T, trigger_id), STR(T, trigger_type),
    STR(T, from), STR(T, to), NUM(T, amount), STATUS(T, status),
    STR(T, reason), I32(T, attempts), I64(T, created_ms),
    I64(T, updated_ms), END,
};
#undef T

static json_t *field_to_json(const field *f, const void *rec)
{
    const void *p = (const char *)rec + f->off;
    switch (f->type) {
    case F_STR: return json_string(p);
    case F_NUM: return json_real(*(const double *)p);
    case F_I32: return json_integer(*(const int32_t *)p);
    case F_I64: return json_integer(*(const int64_t *)p);
    case F_STATUS:
        return json_string(s6_transfer_status_name(*(const s6_transfer_status *)p));
    }
    return NULL;
}

static json_t *record_to_json(const field *fields, const void *rec)
{
    json_t *o = json_object();
    for (const field *f = fields; o && f->key; f++)
        if (json_object_set_new(o, f->key, field_to_json(f, rec))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

json_t *s6_store_snapshot_to_json(const s6_store_snapshot *s)
{
    json_t *o = record_to_json(SNAPSHOT_FIELDS, s);
    json_t *rv = s->rule_versions && *s->rule_versions
                     ? json_loads(s->rule_versions, 0, NULL) : json_object();
    if (!o || json_object_set_new(o, "rule_versions", rv)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int field_from_json(const field *f, const json_t *v, void *rec)
{
    void *p = (char *)rec + f->off;
    switch (f->type) {
    case F_STR:
        return json_is_string(v) && s6_store_copy(p, f->size,
                                                  json_string_value(v)) ? 0 : -1;
    case F_NUM:
        if (!json_is_number(v))
            return -1;
        *(double *)p = json_number_value(v);
        return 0;
    case F_I32:
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX)
            return -1;
        *(int32_t *)p = (int32_t)json_integer_value(v);
        return 0;
    case F_I64:
        if (!json_is_integer(v))
            return -1;
        *(int64_t *)p = json_integer_value(v);
        return 0;
    case F_STATUS:
        return s6_transfer_status_parse(json_string_value(v), p) ? -1 : 0;
    }
    return -1;
}

static int record_from_json(const field *fields, const json_t *doc, void *rec,
                            const char *what, s6_store_err *err)
{
    if (!json_is_object(doc))
        return s6_store_errf(err, S6_ECORRUPT,
                             "stored %s: not a JSON object", what);
    for (const field *f = fields; f->key; f++)
        if (field_from_json(f, json_object_get(doc, f->key), rec))
            return s6_store_errf(err, S6_ECORRUPT,
                                 "stored %s: field %s missing or of the "
                                 "wrong type", what, f->key);
    return 0;
}

json_t *s6_store_order_to_json(const s6_store_order *o)
{
    return record_to_json(ORDER_FIELDS, o);
}

void s6_store_order_event_of(const s6_store_order *o,
                             s6_store_order_event *ev)
{
    memset(ev, 0, sizeof *ev);
    memcpy(ev->intent_id, o->intent_id, sizeof ev->intent_id);
    memcpy(ev->pos_id, o->pos_id, sizeof ev->pos_id);
    memcpy(ev->symbol, o->symbol, sizeof ev->symbol);
    memcpy(ev->kind, o->kind, sizeof ev->kind);
    memcpy(ev->status, o->status, sizeof ev->status);
    ev->price = o->price;
    ev->qty = o->qty;
    ev->ts_ms = o->updated_ms;
}

json_t *s6_store_order_event_to_json(const s6_store_order_event *ev)
{
    return record_to_json(EVENT_FIELDS, ev);
}

int s6_store_order_event_from_json(const json_t *doc, s6_store_order_event *ev,
                                   s6_store_err *err)
{
    memset(ev, 0, sizeof *ev);
    int rc = record_from_json(EVENT_FIELDS, doc, ev, "order event", err);
    const char *key = json_string_value(json_object_get(doc, "_key"));
    char *end = NULL;
    if (rc == 0 && key)
        ev->seq = strtoll(key, &end, 10);
    if (rc == 0 && (!key || !*key || *end))
        rc = s6_store_errf(err, S6_ECORRUPT,
                           "stored order event: _key %s is not a number "
                           "(the collection needs the traditional key "
                           "generator)", key ? key : "missing");
    return rc;
}

json_t *s6_store_transfer_to_json(const s6_store_transfer *t)
{
    return record_to_json(TRANSFER_FIELDS, t);
}

int s6_store_order_from_json(const json_t *doc, s6_store_order *o,
                             s6_store_err *err)
{
    memset(o, 0, sizeof *o);
    return record_from_json(ORDER_FIELDS, doc, o, "order", err);
}

int s6_store_transfer_from_json(const json_t *doc, s6_store_transfer *t,
                                s6_store_err *err)
{
    memset(t, 0, sizeof *t);
    return record_from_json(TRANSFER_FIELDS, doc, t, "transfer", err);
}

int s6_store_snapshot_from_json(const json_t *doc, s6_store_snapshot *s,
                                char **rv_out, s6_store_err *err)
{
    memset(s, 0, sizeof *s);
    *rv_out = NULL;
    int rc = record_from_json(SNAPSHOT_FIELDS, doc, s, "snapshot", err);
    if (rc)
        return rc;
    const json_t *rv = json_object_get(doc, "rule_versions");
    char *text = json_is_object(rv) ? json_dumps(rv, JSON_COMPACT | JSON_SORT_KEYS)
                                    : NULL;
    if (!text)
        return s6_store_errf(err, S6_ECORRUPT,
                             "stored snapshot: rule_versions missing");
    *rv_out = text;
    s->rule_versions = text;
    return 0;
}
