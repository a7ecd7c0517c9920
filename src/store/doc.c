/*
 * doc.c — a snapshot as a JSON document and back.  Both backends store this
 * document, so one field table decides its shape; a field added here is kept
 * by every backend without a schema migration.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

typedef enum { F_STR, F_NUM, F_I32, F_I64 } ftype;

typedef struct field {
    const char *key;
    ftype type;
    size_t off;
    size_t size; /* F_STR: the array's size */
} field;

#define STR(k) { #k, F_STR, offsetof(s6_store_snapshot, k), \
                 sizeof(((s6_store_snapshot *)0)->k) }
#define NUM(k) { #k, F_NUM, offsetof(s6_store_snapshot, k), 0 }
#define I32(k) { #k, F_I32, offsetof(s6_store_snapshot, k), 0 }
#define I64(k) { #k, F_I64, offsetof(s6_store_snapshot, k), 0 }

static const field FIELDS[] = {
    STR(pos_id), STR(symbol), STR(market), STR(state), STR(side),
    NUM(qty), NUM(entry_px), NUM(mark_px), NUM(roe), NUM(liq_px),
    NUM(stop_px), I32(stop_step), I32(tp_step), I32(adds),
    NUM(realized_pnl), NUM(unrealized_pnl), STR(plan_id), I64(ts_ms),
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

static json_t *field_to_json(const field *f, const char *base)
{
    const void *p = base + f->off;
    switch (f->type) {
    case F_STR: return json_string(p);
    case F_NUM: return json_real(*(const double *)p);
    case F_I32: return json_integer(*(const int32_t *)p);
    case F_I64: return json_integer(*(const int64_t *)p);
    }
    return NULL;
}

json_t *s6_store_snapshot_to_json(const s6_store_snapshot *s)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < N_FIELDS; i++)
        if (json_object_set_new(o, FIELDS[i].key,
                                field_to_json(&FIELDS[i], (const char *)s))) {
            json_decref(o);
            return NULL;
        }
    json_t *rv = s->rule_versions && *s->rule_versions
                     ? json_loads(s->rule_versions, 0, NULL) : json_object();
    if (!o || json_object_set_new(o, "rule_versions", rv)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int field_from_json(const field *f, const json_t *v, char *base)
{
    void *p = base + f->off;
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
    }
    return -1;
}

int s6_store_snapshot_from_json(const json_t *doc, s6_store_snapshot *s,
                                char **rv_out, s6_store_err *err)
{
    memset(s, 0, sizeof *s);
    *rv_out = NULL;
    if (!json_is_object(doc))
        return s6_store_errf(err, S6_STORE_ECORRUPT,
                             "stored snapshot: not a JSON object");
    for (size_t i = 0; i < N_FIELDS; i++)
        if (field_from_json(&FIELDS[i], json_object_get(doc, FIELDS[i].key),
                            (char *)s))
            return s6_store_errf(err, S6_STORE_ECORRUPT,
                                 "stored snapshot: field %s missing or of the "
                                 "wrong type", FIELDS[i].key);
    const json_t *rv = json_object_get(doc, "rule_versions");
    char *text = json_is_object(rv) ? json_dumps(rv, JSON_COMPACT | JSON_SORT_KEYS)
                                    : NULL;
    if (!text)
        return s6_store_errf(err, S6_STORE_ECORRUPT,
                             "stored snapshot: rule_versions missing");
    *rv_out = text;
    s->rule_versions = text;
    return 0;
}
