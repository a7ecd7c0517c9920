/*
 * The treasury's HTTP side: POST /auto-transfer/trigger (the spec's request
 * and response) and POST /auto-transfer/approval (S12's decision).  Bad
 * input answers 400 naming the field and writes nothing; the bearer token
 * is checked by the route (src/app/routes_treasury.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treasury/internal.h"
#include "contract/names.h"

static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *s6_tr_answer_json(const s6_store_transfer *tr, const char *symbol,
                          const char *market)
{
    return json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,s:s,s:f,s:s,s:s,s:s}",
                     "log_id", tr->transfer_id,
                     "trigger_id", str_or_null(tr->trigger_id),
                     "symbol", str_or_null(symbol),
                     "market", str_or_null(market),
                     "trigger_type", tr->trigger_type,
                     "from", tr->from, "to", tr->to,
                     "amount_usdt", tr->amount, "reason", tr->reason,
                     "status", s6_transfer_status_name(tr->status),
                     "transfer_id", tr->transfer_id);
}

/* ---- validation ---- */

typedef struct s6__bad {
    int status;
    const char *code;
    char msg[200];
    const char *field;      /* NULL or field_buf */
    char field_buf[64];     /* a copy: the body's names go with the body */
} s6__bad;

__attribute__((format(printf, 4, 5)))
static bool bad(s6__bad *b, const char *code, const char *field,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    b->status = 400;
    b->code = code;
    b->field = NULL;
    if (field != NULL) {
        snprintf(b->field_buf, sizeof b->field_buf, "%s", field);
        b->field = b->field_buf;
    }
    return false;
}

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
           c == '-';
}

static bool sym_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A string of 1..max characters from the set. */
static bool word(const char *s, size_t max, bool (*ok)(char))
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ok(s[i]))
            return false;
    return true;
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

static const char *const TRIGGERS[] = {"MARGIN_CALL", "RISK_LIMIT",
                                       "PROFIT_TAKING", NULL};
static const char *const DECISIONS[] = {"APPROVED", "REJECTED", NULL};

enum { J_STR, J_NUM, J_BOOL };

/* Field -> type, required; anything else in the body is refused. */
typedef struct s6__field {
    const char *name;
    int type;
    bool required;
} s6__field;

static bool typed(json_t *v, int type)
{
    return type == J_STR ? json_is_string(v)
           : type == J_NUM ? json_is_number(v) : json_is_boolean(v);
}

static const char *const TYPE_NAMES[] = {"a string", "a number",
                                         "true or false"};

static json_t *load_object(const s6_http_req *req, s6__bad *b,
                           const s6__field *spec)
{
    json_error_t e;
    json_t *doc = json_loadb(req->body, req->body_len, 0, &e);
    if (doc == NULL || !json_is_object(doc)) {
        bad(b, "bad_json", NULL, "the body is not a JSON object (line %d, "
            "column %d: %s)", e.line, e.column,
            doc == NULL ? e.text : "not an object");
        json_decref(doc);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        const s6__field *f = spec;
        while (f->name != NULL && strcmp(f->name, k) != 0)
            f++;
        if (f->name == NULL || !typed(v, f->type)) {
            f->name == NULL
                ? bad(b, "unknown_field", k, "%s is not a field of this "
                      "request", k)
                : bad(b, "invalid_field", k, "%s must be %s", k,
                      TYPE_NAMES[f->type]);
            json_decref(doc);
            return NULL;
        }
    }
    for (const s6__field *f = spec; f->name != NULL; f++)
        if (f->required && json_object_get(doc, f->name) == NULL) {
            bad(b, "missing_field", f->name, "%s is required", f->name);
            json_decref(doc);
            return NULL;
        }
    return doc;
}

static const s6__field TRIGGER_FIELDS[] = {
    {"trigger_id", J_STR, true},     {"trigger_type", J_STR, true},
    {"symbol", J_STR, false},        {"market", J_STR, false},
    {"threshold", J_NUM, false},     {"transfer_from", J_STR, false},
    {"transfer_to", J_STR, false},   {"transfer_amount", J_NUM, false},
    {"enabled", J_BOOL, false},      {NULL, 0, false},
};

static const char *get_str(json_t *doc, const char *k)
{
    return json_string_value(json_object_get(doc, k));
}

/* A number field that must be finite and >= 0 when present. */
static bool nonneg(json_t *doc, const char *k, double *out, s6__bad *b)
{
    json_t *v = json_object_get(doc, k);
    if (v == NULL)
        return true;
    double x = json_number_value(v);
    if (!isfinite(x) || x < 0)
        return bad(b, "invalid_field", k, "%s must be a finite number >= 0",
                   k);
    *out = x;
    return true;
}

static bool direction_ok(json_t *doc, s6_treasury_trigger tt, s6__bad *b)
{
    bool to_fut = s6_tr_to_fut(tt);
    const char *want[2] = {s6_market_name(to_fut ? S6_MARKET_SPOT : S6_MARKET_FUT),
                           s6_market_name(to_fut ? S6_MARKET_FUT : S6_MARKET_SPOT)};
    const char *keys[2] = {"transfer_from", "transfer_to"};
    for (int i = 0; i < 2; i++) {
        const char *s = get_str(doc, keys[i]);
        if (s != NULL && strcmp(s, want[i]) != 0)
            return bad(b, "invalid_field", keys[i], "%s moves %s -> %s; %s "
                       "must be %s", s6_treasury_trigger_name(tt), want[0],
                       want[1], keys[i], want[i]);
    }
    return true;
}

static bool parse_trigger(json_t *doc, s6_tr_request *rq, s6__bad *b)
{
    const char *id = get_str(doc, "trigger_id");
    const char *type = get_str(doc, "trigger_type");
    const char *sym = get_str(doc, "symbol");
    const char *mkt = get_str(doc, "market");
    if (!word(id, S6_STORE_ID_MAX - 2, id_char))
        return bad(b, "invalid_field", "trigger_id", "trigger_id must be 1 "
                   "to %d characters of [A-Za-z0-9_.:-]", S6_STORE_ID_MAX - 2);
    if (!one_of(type, TRIGGERS) ||
        s6_treasury_trigger_parse(type, &rq->trigger) != 0)
        return bad(b, "invalid_field", "trigger_type", "trigger_type must be "
                   "MARGIN_CALL, RISK_LIMIT or PROFIT_TAKING");
    if (sym != NULL && !word(sym, S6_STORE_SYM_MAX, sym_char))
        return bad(b, "invalid_field", "symbol", "symbol must be 1 to %d "
                   "characters of [A-Z0-9]", S6_STORE_SYM_MAX);
    if (mkt != NULL && s6_market_parse(mkt) < 0)
        return bad(b, "invalid_field", "market", "market must be FUT or SPOT");
    for (int i = 0; i < 2; i++) {
        const char *k = i ? "transfer_to" : "transfer_from";
        const char *s = get_str(doc, k);
        if (s != NULL && s6_market_parse(s) < 0)
            return bad(b, "invalid_field", k, "%s must be SPOT or FUT", k);
    }
    rq->requested = 0;
    rq->reported = NAN;
    if (!nonneg(doc, "transfer_amount", &rq->requested, b) ||
        !nonneg(doc, "threshold", &rq->reported, b) ||
        !direction_ok(doc, rq->trigger, b))
        return false;
    json_t *en = json_object_get(doc, "enabled");
    rq->request_enabled = en == NULL || json_is_true(en);
    snprintf(rq->trigger_id, sizeof rq->trigger_id, "%s", id);
    snprintf(rq->symbol, sizeof rq->symbol, "%s", sym ? sym : "");
    snprintf(rq->market, sizeof rq->market, "%s", mkt ? mkt : "");
    return true;
}

static void refuse(s6_http_res *res, const s6__bad *b)
{
    s6_http_res_error(res, b->status, b->code, b->msg, b->field);
}

int s6_tr_parse_trigger_body(const char *body, size_t len,
                             s6_tr_request *rq, char *why, size_t whylen)
{
    const s6_http_req req = {.body = body, .body_len = len};
    s6__bad b = {0};
    json_t *doc = load_object(&req, &b, TRIGGER_FIELDS);
    bool ok = doc != NULL && parse_trigger(doc, rq, &b);
    json_decref(doc);
    if (!ok)
        snprintf(why, whylen, "%d %s %s: %s", b.status, b.code,
                 b.field ? b.field : "-", b.msg);
    return ok ? 0 : -1;
}

void s6_treasury_http_trigger(s6_treasury *t, s6_http_res *res,
                              const s6_http_req *req)
{
    s6__bad b = {0};
    json_t *doc = load_object(req, &b, TRIGGER_FIELDS);
    s6_tr_request rq = {0};
    bool ok = doc != NULL && parse_trigger(doc, &rq, &b);
    json_decref(doc);
    if (!ok) {
        refuse(res, &b);
        return;
    }
    s6_http_res_note(res, "trigger_id", rq.trigger_id);
    rq.res = res;
    if (s6_tr_submit(t, &rq) != 0)
        s6_http_res_error(res, 503, "unavailable", "the treasury is not "
                          "taking triggers", NULL);
}

/* ---- S12's decision ---- */

static const s6__field APPROVAL_FIELDS[] = {
    {"transfer_id", J_STR, true}, {"decision", J_STR, true},
    {"reason", J_STR, false},     {NULL, 0, false},
};

typedef struct s6__approval {
    s6_treasury *t;
    s6_http_res *res;
    bool approved;
    char reason[201];
} s6__approval;

static void answer_status(s6_http_res *res, const s6_store_transfer *tr)
{
    s6_http_res_send_json(res, 200, json_pack("{s:s,s:s,s:s}", "transfer_id",
                                              tr->transfer_id, "status",
                                              s6_transfer_status_name(tr->status),
                                              "reason", tr->reason));
}

static void apply(s6__approval *a, s6_tr_job *j)
{
    s6_tr_job_decided(j, a->approved, a->reason);
    answer_status(a->res, &j->tr);
}

static void approval_found(void *ud, int rc, const char *msg,
                           const s6_store_result *r)
{
    s6__approval *a = ud;
    s6_treasury *t = a->t;
    s6_tr_job *j = NULL;
    t->pending_cb--;
    if (t->closing)
        s6_http_res_error(a->res, 503, "unavailable", "the treasury is "
                          "stopping", NULL);
    else if (rc != 0)
        s6_http_res_error(a->res, 503, "store_unavailable", msg, NULL);
    else if (!r->found || r->transfer == NULL)
        s6_http_res_error(a->res, 404, "unknown_transfer", "no transfer has "
                          "this id", "transfer_id");
    else if ((j = s6_tr_job_find(a->t, r->transfer->transfer_id)) != NULL)
        apply(a, j);
    else if (s6_transfer_status_finished(r->transfer->status) ||
             a->t->closing || (j = s6_tr_job_new(a->t, r->transfer)) == NULL)
        answer_status(a->res, r->transfer);
    else
        apply(a, j); /* unfinished and not yet resumed: it is now */
    free(a);
    s6_tr_maybe_free(t);
}

static bool parse_approval(const char *body, size_t len, s6_tr_approval *ap,
                           s6__bad *b)
{
    const s6_http_req req = {.body = body, .body_len = len};
    json_t *doc = load_object(&req, b, APPROVAL_FIELDS);
    const char *id = doc ? get_str(doc, "transfer_id") : NULL;
    const char *dec = doc ? get_str(doc, "decision") : NULL;
    const char *why = doc ? get_str(doc, "reason") : NULL;
    bool ok = doc != NULL &&
              (word(id, S6_STORE_ID_MAX, id_char) ||
               bad(b, "invalid_field", "transfer_id", "transfer_id must be "
                   "1 to %d characters of [A-Za-z0-9_.:-]", S6_STORE_ID_MAX)) &&
              (one_of(dec, DECISIONS) ||
               bad(b, "invalid_field", "decision", "decision must be "
                   "APPROVED or REJECTED")) &&
              (why == NULL || strlen(why) <= 200 ||
               bad(b, "invalid_field", "reason", "reason has at most 200 "
                   "characters"));
    if (ok) {
        snprintf(ap->transfer_id, sizeof ap->transfer_id, "%s", id);
        ap->approved = strcmp(dec, "APPROVED") == 0;
        snprintf(ap->reason, sizeof ap->reason, "%s", why ? why : "");
    }
    json_decref(doc);
    return ok;
}

int s6_tr_parse_approval_body(const char *body, size_t len,
                              s6_tr_approval *ap, char *why, size_t whylen)
{
    s6__bad b = {0};
    bool ok = parse_approval(body, len, ap, &b);
    if (!ok)
        snprintf(why, whylen, "%d %s %s: %s", b.status, b.code,
                 b.field ? b.field : "-", b.msg);
    return ok ? 0 : -1;
}

void s6_treasury_http_approval(s6_treasury *t, s6_http_res *res,
                               const s6_http_req *req)
{
    s6__bad b = {0};
    s6_tr_approval ap = {0};
    bool ok = parse_approval(req->body, req->body_len, &ap, &b);
    const char *id = ap.transfer_id;
    s6__approval *a = ok ? calloc(1, sizeof *a) : NULL;
    if (a != NULL) {
        *a = (s6__approval){.t = t, .res = res, .approved = ap.approved};
        snprintf(a->reason, sizeof a->reason, "%s", ap.reason);
        s6_http_res_note(res, "transfer_id", id);
    }
    s6_store_err err;
    if (a != NULL)
        t->pending_cb++;
    int rc = a != NULL ? s6_store_get_transfer(t->d.store, id, approval_found,
                                               a, &err)
                       : 0;
    if (!ok)
        refuse(res, &b);
    else if (a == NULL)
        s6_http_res_error(res, 500, "internal", "out of memory", NULL);
    else if (rc != 0) {
        t->pending_cb--;
        free(a);
        s6_http_res_error(res, 400, "invalid_field", err.msg, "transfer_id");
    }
}
