/*
 * The manage body: one table says which fields exist, their JSON type,
 * and for which actions each is allowed and required.  The checks run in a
 * fixed order (syntax, unknown fields, types, action, missing, not
 * allowed, values), so the same bad body always gets the same answer.
 */
#include "app/routes_positions.h"

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

typedef struct field {
    const char *name;
    ftype type;
    unsigned allowed;   /* ACT() bits */
    unsigned required;  /* ACT() bits */
} field;

static const field fields[] = {
    { "symbol", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    { "market", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    { "position_id", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    { "action", F_STR, ALL_ACTIONS, ALL_ACTIONS },
    { "new_stop_price", F_NUM, ACT(S6_MANAGE_STOP_MOVE), ACT(S6_MANAGE_STOP_MOVE) },
    { "loosen", F_BOOL, ACT(S6_MANAGE_STOP_MOVE), 0 },
    /* TAKE_PROFIT takes exactly one of qty and fraction (checked below) */
    { "qty", F_NUM, ACT(S6_MANAGE_TAKE_PROFIT) | ACT(S6_MANAGE_ADD), ACT(S6_MANAGE_ADD) },
    { "fraction", F_NUM, ACT(S6_MANAGE_TAKE_PROFIT), 0 },
    { "reason", F_STR, ALL_ACTIONS, 0 },
    { "dry_run", F_BOOL, ALL_ACTIONS, 0 },
};

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

enum { N_FIELDS = sizeof fields / sizeof fields[0] };

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

static const field *field_named(const char *name)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
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

static int check_fields(const json_t *doc, s6_api_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        const field *f = field_named(k);
        if (f == NULL)
            return fail(err, "unknown_field", k, "no such field in a manage "
                        "request");
        if (!type_ok(v, f->type))
            return fail(err, "bad_type", k, "must be %s", type_names[f->type]);
    }
    return 0;
}

static int check_presence(const json_t *doc, int action, s6_api_error *err)
{
    unsigned bit = ACT(action);
    for (size_t i = 0; i < N_FIELDS; i++) {
        bool present = json_object_get(doc, fields[i].name) != NULL;
        if (!present && (fields[i].required & bit))
            return fail(err, "missing_field", fields[i].name,
                        "required for %s", action_names[action]);
        if (present && !(fields[i].allowed & bit))
            return fail(err, "field_not_allowed", fields[i].name,
                        "does not apply to %s", action_names[action]);
    }
    if (action == S6_MANAGE_TAKE_PROFIT) {
        bool q = json_object_get(doc, "qty") != NULL;
        bool f = json_object_get(doc, "fraction") != NULL;
        if (q == f)
            return fail(err, q ? "field_not_allowed" : "missing_field",
                        q ? "fraction" : "qty",
                        "TAKE_PROFIT takes either qty or fraction");
    }
    return 0;
}

/* Copies a string field into dst[cap]; empty or too long is refused. */
static int copy_str(const json_t *doc, const char *name, char *dst,
                    size_t cap, bool may_be_empty, s6_api_error *err)
{
    const json_t *v = json_object_get(doc, name);
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
static int read_positive(const json_t *doc, const char *name, double *out,
                         s6_api_error *err)
{
    const json_t *v = json_object_get(doc, name);
    if (v == NULL)
        return 0;
    double d = json_number_value(v);
    if (!isfinite(d) || d <= 0)
        return fail(err, "invalid_value", name, "must be a finite number "
                    "above zero");
    *out = d;
    return 0;
}

static int read_market(const json_t *doc, int *market, s6_api_error *err)
{
    const char *m = json_string_value(json_object_get(doc, "market"));
    if (strcmp(m, "FUT") == 0)
        *market = S6_MARKET_FUT;
    else if (strcmp(m, "SPOT") == 0)
        *market = S6_MARKET_SPOT;
    else
        return fail(err, "invalid_value", "market", "must be FUT or SPOT");
    return 0;
}

static int read_values(const json_t *doc, s6_manage_req *r, s6_api_error *err)
{
    int rc = copy_str(doc, "symbol", r->symbol, sizeof r->symbol, false, err);
    if (rc == 0)
        rc = read_market(doc, &r->market, err);
    if (rc == 0)
        rc = copy_str(doc, "position_id", r->position_id,
                      sizeof r->position_id, false, err);
    if (rc == 0)
        rc = copy_str(doc, "reason", r->reason, sizeof r->reason, true, err);
    if (rc == 0)
        rc = read_positive(doc, "new_stop_price", &r->new_stop_price, err);
    if (rc == 0)
        rc = read_positive(doc, "qty", &r->qty, err);
    if (rc == 0)
        rc = read_positive(doc, "fraction", &r->fraction, err);
    if (rc == 0 && r->fraction > 1)
        rc = fail(err, "invalid_value", "fraction", "a fraction of the "
                  "position: above 0, at most 1");
    r->loosen = json_is_true(json_object_get(doc, "loosen"));
    r->dry_run = json_is_true(json_object_get(doc, "dry_run"));
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
    if (rc == 0)
        rc = check_fields(doc, err);
    const char *a = rc == 0 ? json_string_value(json_object_get(doc, "action"))
                            : NULL;
    if (rc == 0 && a == NULL)
        rc = fail(err, "missing_field", "action", "required");
    if (rc == 0 && (out->action = parse_action(a)) == 0)
        rc = fail(err, "unknown_action", "action", "one of STOP_MOVE, "
                  "TAKE_PROFIT, ADD, CLOSE, EVALUATE");
    if (rc == 0)
        rc = check_presence(doc, out->action, err);
    if (rc == 0)
        rc = read_values(doc, out, err);
    json_decref(doc);
    if (rc != 0)
        *out = (s6_manage_req){ .market = -1 };
    return rc;
}
