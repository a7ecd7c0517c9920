/* wire.c — S4's order and cancel bodies and its answers (wire.h,
 * docs/contracts/s4.md). */
#include "venue/s4/wire.h"

#include "contract/names.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const TYPES[] = { [S6_ORDER_MARKET] = "MARKET",
                                     [S6_ORDER_STOP_MARKET] = "STOP_MARKET" };

/* "?" rather than NULL: the name goes into log fields. */
const char *s6_s4_market_name(int market)
{
    const char *name = s6_market_name(market);
    return name ? name : "?";
}

/* An intent id is a header value and a Redis field: a short token. */
static bool token_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1); /* a buffer filled to the brim */
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || strchr("-_.:", *p)))
            return false;
    return true;
}

/* An exact decimal as the venue takes it: digits, at most one point with
 * digits after it, and not zero. */
static bool decimal_ok(const char *s, size_t cap)
{
    if (strnlen(s, cap) == cap)
        return false; /* no terminator */
    const char *p = s;
    bool nonzero = false, point = false;
    size_t digits = 0;
    for (; *p; p++) {
        if (*p == '.') {
            if (point || digits == 0)
                return false;
            point = true;
            digits = 0;
        } else if (*p >= '0' && *p <= '9') {
            digits++;
            nonzero |= *p != '0';
        } else {
            return false;
        }
    }
    return digits > 0 && nonzero;
}

/* pos_id of an intent "<pos_id>-<action>-<seq>", for logging a cancel. */
void s6_s4_pos_of_intent(const char *intent, char *out, size_t cap)
{
    snprintf(out, cap, "%s", intent);
    for (int k = 0; k < 2; k++) {
        char *dash = strrchr(out, '-');
        if (!dash) {
            out[0] = '\0';
            return;
        }
        *dash = '\0';
    }
}

/* The field that makes the order unfit for S4, or NULL. */
const char *s6_s4_order_bad_field(const s6_order *o)
{
    if (!token_ok(o->intent_id, S6_INTENT_ID_MAX))
        return "intent_id";
    if (!token_ok(o->pos_id, S6_POS_ID_MAX))
        return "pos_id";
    if (!token_ok(o->symbol, S6_SYMBOL_MAX))
        return "symbol";
    if (o->market != S6_MARKET_FUT && o->market != S6_MARKET_SPOT)
        return "market";
    if (o->type != S6_ORDER_MARKET && o->type != S6_ORDER_STOP_MARKET)
        return "type";
    if (o->purpose < S6_PURPOSE_STOP || o->purpose >= S6_PURPOSE_COUNT)
        return "purpose";
    if (o->side != 1 && o->side != -1)
        return "side";
    if (!decimal_ok(o->qty_str, sizeof o->qty_str))
        return "qty_str";
    if (o->type == S6_ORDER_STOP_MARKET &&
        !decimal_ok(o->price_str, sizeof o->price_str))
        return "price_str";
    if (o->plan_id[0] && !token_ok(o->plan_id, sizeof o->plan_id - 1))
        return "plan_id";
    return NULL;
}

char *s6_s4_order_body(const s6_order *o)
{
    bool stop = o->type == S6_ORDER_STOP_MARKET;
    json_t *b = json_object();
    json_object_set_new(b, "intent_id", json_string(o->intent_id));
    json_object_set_new(b, "pos_id", json_string(o->pos_id));
    json_object_set_new(b, "symbol", json_string(o->symbol));
    json_object_set_new(b, "market", json_string(s6_market_name(o->market)));
    json_object_set_new(b, "side", json_string(o->side > 0 ? "BUY" : "SELL"));
    json_object_set_new(b, "type", json_string(TYPES[o->type]));
    json_object_set_new(b, "quantity", json_string(o->qty_str));
    if (stop) {
        json_object_set_new(b, "stop_price", json_string(o->price_str));
        json_object_set_new(b, "working_type", json_string("MARK_PRICE"));
    }
    json_object_set_new(b, "reduce_only", json_boolean(o->reduce_only));
    json_object_set_new(b, "purpose", json_string(s6_purpose_name(o->purpose)));
    if (o->plan_id[0])
        json_object_set_new(b, "plan_id", json_string(o->plan_id));
    char *s = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    return s;
}

const char *s6_s4_cancel_bad_field(const char *intent_id, const char *symbol,
                                   int market)
{
    if (!token_ok(intent_id, S6_INTENT_ID_MAX))
        return "intent_id";
    if (!token_ok(symbol, S6_SYMBOL_MAX))
        return "symbol";
    if (market != S6_MARKET_FUT && market != S6_MARKET_SPOT)
        return "market";
    return NULL;
}

char *s6_s4_cancel_body(const char *intent_id, const char *symbol,
                        int market)
{
    json_t *b = json_pack("{s:s, s:s, s:s}", "intent_id", intent_id,
                          "symbol", symbol, "market", s6_market_name(market));
    char *s = b ? json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(b);
    return s;
}

/* A margin add: isolated margin exists on FUT only. */
const char *s6_s4_margin_bad_field(const s6_margin_order *m)
{
    if (!token_ok(m->intent_id, S6_INTENT_ID_MAX))
        return "intent_id";
    if (!token_ok(m->pos_id, S6_POS_ID_MAX))
        return "pos_id";
    if (!token_ok(m->symbol, S6_SYMBOL_MAX))
        return "symbol";
    if (m->market != S6_MARKET_FUT)
        return "market";
    if (!decimal_ok(m->amount_str, sizeof m->amount_str))
        return "amount_str";
    return NULL;
}

char *s6_s4_margin_body(const s6_margin_order *m)
{
    json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "intent_id",
                          m->intent_id, "pos_id", m->pos_id, "symbol",
                          m->symbol, "market", s6_market_name(m->market),
                          "type", "ADD", "amount", m->amount_str);
    char *s = b ? json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(b);
    return s;
}

/* S4's {"error":{"code","message"}} as "code: message". */
static void error_detail(const s6_httpc_result *res, char *out, size_t cap)
{
    json_t *doc = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *e = json_object_get(doc, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code && msg)
        snprintf(out, cap, "%s: %s", code, msg);
    else if (code)
        snprintf(out, cap, "%s", code);
    else
        snprintf(out, cap, "http %d", res->status);
    json_decref(doc);
}

/* A 2xx to an order names the order S4 holds for our intent. */
static int order_answer(const char *intent_id, const s6_httpc_result *res,
                        char *out, size_t cap)
{
    json_t *doc = json_loadb(res->body, res->body_len, 0, NULL);
    const char *intent = json_string_value(json_object_get(doc, "intent_id"));
    const char *oid = json_string_value(json_object_get(doc, "order_id"));
    const char *st = json_string_value(json_object_get(doc, "status"));
    int outcome = S6_ROUTE_OK;
    if (intent && strcmp(intent, intent_id) != 0) {
        /* S4 answered for another order: ours is in an unknown state. */
        snprintf(out, cap, "answer names intent %s", intent);
        outcome = S6_ROUTE_FAILED;
    } else {
        snprintf(out, cap, "order_id=%s status=%s", oid ? oid : "?",
                 st ? st : "?");
    }
    json_decref(doc);
    return outcome;
}

const char *s6_s4_error_kind(const s6_httpc_result *res)
{
    switch (res->err) {
    case S6_HTTPC_OK:
        if (res->status >= 500)
            return "http_5xx";
        if (res->status >= 400)
            return "http_4xx";
        return "bad_response";
    case S6_HTTPC_E_TIMEOUT:
        return "timeout";
    case S6_HTTPC_E_TOO_LARGE:
        return "bad_response";
    case S6_HTTPC_E_CANCELLED:
    case S6_HTTPC_E_SHUTDOWN:
        return NULL; /* ours, not S4's */
    default:
        return "connect";
    }
}

int s6_s4_answer_outcome(const s6_httpc_result *res, const char *order_intent,
                         const char **kind, char *detail, size_t cap)
{
    *kind = s6_s4_error_kind(res);
    if (res->err != S6_HTTPC_OK) {
        snprintf(detail, cap, "%s after %u attempt(s)%s%s",
                 s6_httpc_err_name(res->err), res->attempts,
                 *res->err_msg ? ": " : "", res->err_msg);
        return S6_ROUTE_FAILED;
    }
    int st = res->status;
    if (st >= 200 && st < 300) {
        *kind = NULL;
        if (order_intent == NULL) {
            snprintf(detail, cap, "canceled");
            return S6_ROUTE_OK;
        }
        int o = order_answer(order_intent, res, detail, cap);
        *kind = o == S6_ROUTE_OK ? NULL : "bad_response";
        return o;
    }
    if (st == 404 && order_intent == NULL) { /* a cancel of an unknown order */
        *kind = NULL;
        snprintf(detail, cap, "already gone");
        return S6_ROUTE_OK;
    }
    if (st >= 400 && st < 500 && st != 429) {
        error_detail(res, detail, cap);
        return S6_ROUTE_REJECTED;
    }
    snprintf(detail, cap, "http %d after %u attempt(s)", st, res->attempts);
    return S6_ROUTE_FAILED;
}
