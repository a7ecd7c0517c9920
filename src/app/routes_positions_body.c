/*
 * The manage body: one table says which fields exist, their JSON type,
 * and for which actions each is allowed and required.  The checks run in a
 * fixed order (syntax, unknown fields, types, action, missing, not
 * allowed, values), so the same bad body always gets the same answer.
 */
#include "app/manage_keys.h"
#include "app/routes_positions.h"
#include "contract/names.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ACT(a) (1u << (a))
#define ALL_ACTIONS                                                    \
    (ACT(S6_MANAGE_STOP_MOVE) | ACT(S6_MANAGE_TAKE_PROFIT) |            \
     ACT(S6_MANAGE_ADD) | ACT(S6_MANAGE_CLOSE) | ACT(S6_MANAGE_EVALUATE))

typedef enum ftype { F_STR, F_NUM, F_BOOL } ftype;

/* The fields, in the table's order. */
enum {
    K_SYMBOL, K_MARKET, K_POSITION_ID, K_ACTION, K_NEW_STOP_PRICE, K_LOOSEN,
    K_QTY, K_FRACTION, K_REASON, K_DRY_RUN, K_ACTION_ID, N_FIELDS
};

typedef struct field {
    const char *name;
    ftype type;
    unsigned allowed;   /* ACT() bits */
    unsigned required;  /* ACT() bits */
} field;

static const field fields[N_FIELDS] = {
    [K_SYMBOL] = { "symbol", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    [K_MARKET] = { "market", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    [K_POSITION_ID] = { "position_id", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    [K_ACTION] = { "action", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    [K_NEW_STOP_PRICE] = { "new_stop_price", F_NUM, ACT(S6_MANAGE_STOP_MOVE),
                           ACT(S6_MANAGE_STOP_MOVE) },
    [K_LOOSEN] = { "loosen", F_BOOL, ACT(S6_MANAGE_STOP_MOVE), 0 },
    /* TAKE_PROFIT takes exactly one of qty and fraction (checked below) */
    [K_QTY] = { "qty", F_NUM, ACT(S6_MANAGE_TAKE_PROFIT) | ACT(S6_MANAGE_ADD),
                ACT(S6_MANAGE_ADD) },
    [K_FRACTION] = { "fraction", F_NUM, ACT(S6_MANAGE_TAKE_PROFIT), 0 },
    [K_REASON] = { "reason", F_STR, ALL_ACTIONS, 0 },
    [K_DRY_RUN] = { "dry_run", F_BOOL, ALL_ACTIONS, 0 },
    /* the idempotency key, when not sent as the Idempotency-Key header */
    [K_ACTION_ID] = { "action_id", F_STR, ALL_ACTIONS, 0 },
};

/* The body's values by field, NULL when absent: one walk of the object,
 * no lookup by name afterwards. */
typedef struct seen {
    const json_t *v[N_FIELDS];
} seen;

static const char *const action_names[] = {
    [S6_MANAGE_STOP_MOVE] = "STOP_MOVE",
    [S6_MANAGE_TAKE_PROFIT] = "TAKE_PROFIT",
    [S6_MANAGE_ADD] = "ADD",
    [S6_MANAGE_CLOSE] = "CLOSE",
    [S6_MANAGE_EVALUATE] = "EVALUATE",
};

static const char *const type_names[] = {
    [F_STR] = "a string", [F_NUM] = "a number", [F_BOOL] = "true or false",
};

__attribute__((format(printf, 4, 5))) static int
fail(s6_api_error *err, const char *code, const char *field_name,
     const char *fmt, ...)
{
    *err = (s6_api_error){ .status = 400 };
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->field, sizeof err->field, "%s", field_name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int field_named(const char *name)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].name, name) == 0)
            return i;
    return -1;
}

static bool type_ok(const json_t *v, ftype t)
{
    switch (t) {
    case F_STR: return json_is_string(v);
    case F_NUM: return json_is_number(v);
    case F_BOOL: return json_is_boolean(v);
    }
    return false;
}

static int parse_action(const char *s)
{
    for (int a = S6_MANAGE_STOP_MOVE; a <= S6_MANAGE_EVALUATE; a++)
        if (strcmp(s, action_names[a]) == 0)
            return a;
    return 0;
}

static int read_fields(const json_t *doc, seen *b, s6_api_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        int i = field_named(k);
        if (i < 0)
            return fail(err, "unknown_field", k, "no such field in a manage "
                        "request");
        if (!type_ok(v, fields[i].type))
            return fail(err, "bad_type", k, "must be %s",
                        type_names[fields[i].type]);
        b->v[i] = v;
    }
    return 0;
}

static int check_presence(const seen *b, int action, s6_api_error *err)
{
    unsigned bit = ACT(action);
    for (size_t i = 0; i < N_FIELDS; i++) {
        bool present = b->v[i] != NULL;
        if (!present && (fields[i].required & bit))
            return fail(err, "missing_field", fields[i].name,
                        "required for %s", action_names[action]);
        if (present && !(fields[i].allowed & bit))
            return fail(err, "field_not_allowed", fields[i].name,
                        "does not apply to %s", action_names[action]);
    }
    if (action == S6_MANAGE_TAKE_PROFIT) {
        bool q = b->v[K_QTY] != NULL;
        bool f = b->v[K_FRACTION] != NULL;
        if (q == f)
            return fail(err, q ? "field_not_allowed" : "missing_field",
                        q ? "fraction" : "qty",
                        "TAKE_PROFIT takes either qty or fraction");
    }
    return 0;
}

/* Copies a string field into dst[cap]; empty or too long is refused. */
static int copy_str(const seen *b, int k, char *dst, size_t cap,
                    bool may_be_empty, s6_api_error *err)
{
    const json_t *v = b->v[k];
    const char *name = fields[k].name;
    if (v == NULL)
        return 0;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 && !may_be_empty)
        return fail(err, "invalid_value", name, "must not be empty");
    if (n >= cap || strlen(s) != n)
        return fail(err, "invalid_value", name, "at most %zu characters, no "
                    "NUL", cap - 1);
    memcpy(dst, s, n + 1);
    return 0;
}

/* A price or quantity: finite and above zero; *out untouched if absent. */
static int read_positive(const seen *b, int k, double *out, s6_api_error *err)
{
    if (b->v[k] == NULL)
        return 0;
    double d = json_number_value(b->v[k]);
    if (!isfinite(d) || d <= 0)
        return fail(err, "invalid_value", fields[k].name, "must be a finite "
                    "number above zero");
    *out = d;
    return 0;
}

static int read_market(const seen *b, int *market, s6_api_error *err)
{
    const char *m = json_string_value(b->v[K_MARKET]);
    int parsed = s6_market_parse(m);
    if (parsed < 0)
        return fail(err, "invalid_value", "market", "must be FUT or SPOT");
    *market = parsed;
    return 0;
}

static int read_values(const seen *b, s6_manage_req *r, s6_api_error *err)
{
    int rc = copy_str(b, K_SYMBOL, r->symbol, sizeof r->symbol, false, err);
    if (rc == 0)
        rc = read_market(b, &r->market, err);
    if (rc == 0)
        rc = copy_str(b, K_POSITION_ID, r->position_id,
                      sizeof r->position_id, false, err);
    if (rc == 0)
        rc = copy_str(b, K_REASON, r->reason, sizeof r->reason, true, err);
    if (rc == 0)
        rc = read_positive(b, K_NEW_STOP_PRICE, &r->new_stop_price, err);
    if (rc == 0)
        rc = read_positive(b, K_QTY, &r->qty, err);
    if (rc == 0)
        rc = read_positive(b, K_FRACTION, &r->fraction, err);
    if (rc == 0 && r->fraction > 1)
        rc = fail(err, "invalid_value", "fraction", "a fraction of the "
                  "position: above 0, at most 1");
    if (rc == 0)
        rc = copy_str(b, K_ACTION_ID, r->action_id, sizeof r->action_id,
                      false, err);
    if (rc == 0 && b->v[K_ACTION_ID] != NULL && !s6_manage_key_ok(r->action_id))
        rc = fail(err, "invalid_value", "action_id", "visible ASCII "
                  "characters only, no space");
    r->loosen = json_is_true(b->v[K_LOOSEN]);
    r->dry_run = json_is_true(b->v[K_DRY_RUN]);
    return rc;
}

int s6_manage_parse(const char *body, size_t len, s6_manage_req *out,
                    s6_api_error *err)
{
    *out = (s6_manage_req){ .market = -1 };
    json_error_t je;
    /* Two values for one key would leave it to the parser which wins. */
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (doc == NULL)
        rc = fail(err, "bad_json", "", "the body is not JSON (line %d, "
                  "column %d: %s)", je.line, je.column, je.text);
    else if (!json_is_object(doc))
        rc = fail(err, "bad_json", "", "the body must be a JSON object");
    seen b = { 0 };
    if (rc == 0)
        rc = read_fields(doc, &b, err);
    const char *a = rc == 0 ? json_string_value(b.v[K_ACTION]) : NULL;
    if (rc == 0 && a == NULL)
        rc = fail(err, "missing_field", "action", "required");
    if (rc == 0 && (out->action = parse_action(a)) == 0)
        rc = fail(err, "unknown_action", "action", "one of STOP_MOVE, "
                  "TAKE_PROFIT, ADD, CLOSE, EVALUATE");
    if (rc == 0)
        rc = check_presence(&b, out->action, err);
    if (rc == 0)
        rc = read_values(&b, out, err);
    json_decref(doc);
    if (rc != 0)
        *out = (s6_manage_req){ .market = -1 };
    return rc;
}
