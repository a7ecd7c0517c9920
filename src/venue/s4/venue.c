/* venue.c — S4's positions and open orders for reconciliation (venue.h). */
#include "venue/s4/venue.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "venue/s4/internal.h"
#include "contract/names.h"

#define COMP "s4"

/* ------------------------------------------------------------------ */
/* Strict parsing                                                     */

typedef struct cursor {
    const char *list; /* "positions" or "orders" */
    size_t i;
    char *err;
    size_t errlen;
} cursor;

static int bad(const cursor *c, const char *field, const char *why)
{
    snprintf(c->err, c->errlen, "%s[%zu].%s: %s", c->list, c->i, field, why);
    return -EPROTO;
}

static int get_str(const cursor *c, json_t *o, const char *field,
                   bool may_be_empty, size_t max, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, field));
    if (!s)
        return bad(c, field, "missing or not a string");
    size_t n = strlen(s);
    if ((n == 0 && !may_be_empty) || n > max || n >= cap)
        return bad(c, field, n == 0 ? "empty" : "too long");
    memcpy(out, s, n + 1);
    return 0;
}

/* One of names[] (index = value; NULL entries are gaps). */
static int get_enum(const cursor *c, json_t *o, const char *field,
                    const char *const *names, size_t n, int *out)
{
    const char *s = json_string_value(json_object_get(o, field));
    for (size_t k = 0; s && k < n; k++)
        if (names[k] && strcmp(s, names[k]) == 0) {
            *out = (int)k;
            return 0;
        }
    return bad(c, field, "missing or not one of the allowed names");
}

/* A positive decimal string: digits with at most one point. */
static int get_decimal(const cursor *c, json_t *o, const char *field,
                       double *out)
{
    const char *s = json_string_value(json_object_get(o, field));
    if (!s)
        return bad(c, field, "missing or not a decimal string");
    size_t n = strspn(s, "0123456789.");
    const char *pt = strchr(s, '.');
    if (n == 0 || s[n] != '\0' || s[0] == '.' || s[n - 1] == '.' ||
        (pt && strchr(pt + 1, '.')))
        return bad(c, field, "not a decimal string");
    double v = strtod(s, NULL);
    if (!(isfinite(v) && v > 0))
        return bad(c, field, "not positive");
    *out = v;
    return 0;
}

static const char *const POS_SIDES[] = { "SHORT", "LONG" };
static const char *const ORDER_SIDES[] = { "SELL", "BUY" };
static const char *const TYPE_NAMES[] = {
    [S6_ORDER_MARKET] = "MARKET", [S6_ORDER_STOP_MARKET] = "STOP_MARKET"
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse_position(const cursor *c, json_t *o, s6_venue_position *p)
{
    int side, rc;
    if (!json_is_object(o))
        return bad(c, "", "not an object");
    if ((rc = get_str(c, o, "symbol", false, S6_SYMBOL_MAX, p->symbol,
                      sizeof p->symbol)) < 0 ||
        (rc = get_enum(c, o, "market", s6_market_names, S6_MARKET_COUNT,
                       &p->market)) < 0 ||
        (rc = get_enum(c, o, "side", POS_SIDES, N(POS_SIDES), &side)) < 0 ||
        (rc = get_decimal(c, o, "qty", &p->qty)) < 0 ||
        (rc = get_decimal(c, o, "entry_price", &p->entry)) < 0)
        return rc;
    /* The isolated margin, when the venue gives it (0: not given). */
    p->margin = 0;
    if (json_object_get(o, "margin") != NULL &&
        (rc = get_decimal(c, o, "margin", &p->margin)) < 0)
        return rc;
    p->side = side ? 1 : -1;
    return 0;
}

static int parse_order(const cursor *c, json_t *o, s6_venue_order *v)
{
    int side, rc;
    if (!json_is_object(o))
        return bad(c, "", "not an object");
    /* An order S6 did not place (manual) has an empty intent_id. */
    if ((rc = get_str(c, o, "intent_id", true, S6_INTENT_ID_MAX, v->intent_id,
                      sizeof v->intent_id)) < 0 ||
        (rc = get_str(c, o, "symbol", false, S6_SYMBOL_MAX, v->symbol,
                      sizeof v->symbol)) < 0 ||
        (rc = get_enum(c, o, "market", s6_market_names, S6_MARKET_COUNT,
                       &v->market)) < 0 ||
        (rc = get_enum(c, o, "type", TYPE_NAMES, N(TYPE_NAMES), &v->type)) < 0 ||
        (rc = get_enum(c, o, "side", ORDER_SIDES, N(ORDER_SIDES), &side)) < 0 ||
        (rc = get_decimal(c, o, "qty", &v->qty)) < 0)
        return rc;
    v->side = side ? 1 : -1;
    v->stop_price = 0;
    if (v->type == S6_ORDER_STOP_MARKET)
        return get_decimal(c, o, "stop_price", &v->stop_price);
    return 0;
}

typedef int (*elem_parser)(const cursor *c, json_t *o, void *elem);

/* body must be {"<list>":[...]}; each element parsed into a fresh array. */
/* The answer's optional "as_of": the last ord:{results} id S4 had
 * published when it answered ("<ms>-<seq>"). */
static int parse_as_of(json_t *doc, char *as_of, size_t cap, char *err,
                       size_t errlen)
{
    json_t *v = json_object_get(doc, "as_of");
    as_of[0] = '\0';
    if (v == NULL || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || n >= cap || (n > 0 && strspn(s, "0123456789-") != n)) {
        snprintf(err, errlen, "as_of: not a stream id (\"<ms>-<seq>\")");
        return -EPROTO;
    }
    memcpy(as_of, s, n + 1);
    return 0;
}

static int parse_list(const char *body, const char *list, size_t elem_size,
                      elem_parser parse, void **out, size_t *n_out,
                      char *as_of, size_t as_of_cap, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
        return -EPROTO;
    }
    json_t *arr = json_object_get(doc, list);
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "%s: missing or not an array", list);
        json_decref(doc);
        return -EPROTO;
    }
    if (parse_as_of(doc, as_of, as_of_cap, err, errlen) < 0) {
        json_decref(doc);
        return -EPROTO;
    }
    size_t n = json_array_size(arr);
    char *v = calloc(n ? n : 1, elem_size);
    if (!v) {
        json_decref(doc);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cursor c = { .list = list, .err = err, .errlen = errlen };
    for (c.i = 0; c.i < n; c.i++) {
        int rc = parse(&c, json_array_get(arr, c.i), v + c.i * elem_size);
        if (rc < 0) {
            free(v);
            json_decref(doc);
            return rc;
        }
    }
    json_decref(doc);
    *out = v;
    *n_out = n;
    return 0;
}

int s6_s4_parse_positions(const char *body, s6_s4_venue *out, char *err,
                          size_t errlen)
{
    void *v;
    size_t n;
    char as_of[sizeof out->as_of_positions];
    int rc = parse_list(body, "positions", sizeof(s6_venue_position),
                        (elem_parser)parse_position, &v, &n, as_of,
                        sizeof as_of, err, errlen);
    if (rc < 0)
        return rc;
    free(out->positions);
    out->positions = v;
    out->n_positions = n;
    memcpy(out->as_of_positions, as_of, sizeof as_of);
    return 0;
}

int s6_s4_parse_open_orders(const char *body, s6_s4_venue *out, char *err,
                            size_t errlen)
{
    void *v;
    size_t n;
    char as_of[sizeof out->as_of_orders];
    int rc = parse_list(body, "orders", sizeof(s6_venue_order),
                        (elem_parser)parse_order, &v, &n, as_of, sizeof as_of,
                        err, errlen);
    if (rc < 0)
        return rc;
    free(out->orders);
    out->orders = v;
    out->n_orders = n;
    memcpy(out->as_of_orders, as_of, sizeof as_of);
    return 0;
}

void s6_s4_venue_clear(s6_s4_venue *v)
{
    free(v->positions);
    free(v->orders);
    *v = (s6_s4_venue){ 0 };
}

/* ------------------------------------------------------------------ */
/* The fetch: two GETs, one answer                                    */

enum { GET_POSITIONS = 0, GET_ORDERS, GET_COUNT };

static const struct {
    const char *path, *endpoint;
    int (*parse)(const char *, s6_s4_venue *, char *, size_t);
} GETS[GET_COUNT] = {
    [GET_POSITIONS] = { "/positions?market=FUT", "positions",
                        s6_s4_parse_positions },
    [GET_ORDERS] = { "/open-orders", "open_orders", s6_s4_parse_open_orders },
};

typedef struct fetch fetch;

typedef struct half {
    s6_s4_call call;
    fetch *f;
    int which;
} half;

struct fetch {
    s6_s4_router *r;
    half halves[GET_COUNT];
    int pending;
    int rc;            /* the first failure */
    char err[256];
    s6_s4_venue venue;
    s6_s4_venue_cb done;
    void *ud;
};

static void fail(fetch *f, int rc, const char *what, const char *detail)
{
    if (f->rc < 0)
        return;
    f->rc = rc;
    snprintf(f->err, sizeof f->err, "%s: %s", what, detail);
}

static void fetch_end(fetch *f)
{
    if (f->rc < 0) {
        s6_log_error(s6_s4_router_log(f->r), COMP, "venue fetch failed",
                     S6_LOG_STR("detail", f->err));
        f->done(f->ud, f->rc, NULL, f->err);
    } else {
        s6_venue_view v = {
            .positions = f->venue.positions,
            .n_positions = f->venue.n_positions,
            .orders = f->venue.orders,
            .n_orders = f->venue.n_orders,
            .as_of_positions = f->venue.as_of_positions,
            .as_of_orders = f->venue.as_of_orders,
        };
        f->done(f->ud, 0, &v, "");
    }
    s6_s4_venue_clear(&f->venue);
    free(f);
}

static void on_get(const s6_httpc_result *res, void *ud)
{
    half *h = ud;
    fetch *f = h->f;
    s6_s4_router *r = f->r;
    const char *ep = GETS[h->which].endpoint;
    s6_s4_call_untrack(r, &h->call);
    const char *kind = NULL;
    if (res->err != S6_HTTPC_OK) {
        kind = s6_s4_error_kind(res);
        fail(f, res->err == S6_HTTPC_E_TIMEOUT ? -ETIMEDOUT : -ECONNABORTED,
             ep, s6_httpc_err_name(res->err));
    } else if (res->status != 200) {
        char st[32];
        snprintf(st, sizeof st, "http %d", res->status);
        kind = s6_s4_error_kind(res);
        fail(f, -EPROTO, ep, st);
    } else {
        char err[200];
        int rc = GETS[h->which].parse(res->body, &f->venue, err, sizeof err);
        if (rc < 0) {
            kind = "bad_response";
            fail(f, rc, ep, err);
        }
    }
    s6_s4_call_observe(r, &h->call, ep, kind);
    if (--f->pending == 0)
        fetch_end(f);
}

int s6_s4_fetch_venue(s6_s4_router *r, s6_s4_venue_cb done, void *ud)
{
    if (!r || !done)
        return -EINVAL;
    if (s6_s4_router_closing(r))
        return -ESHUTDOWN;
    fetch *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    *f = (fetch){ .r = r, .done = done, .ud = ud };
    int sent = 0, rc = 0;
    for (int k = 0; k < GET_COUNT; k++) {
        char url[1100];
        s6_httpc_opts o = { .method = "GET", .url = url };
        s6_s4_router_opts(r, GETS[k].endpoint, &o);
        half *h = &f->halves[k];
        *h = (half){ .f = f, .which = k };
        uint64_t id;
        rc = s6_s4_router_url(r, GETS[k].path, url, sizeof url);
        if (rc == 0)
            rc = s6_httpc_request(s6_s4_router_httpc(r), &o, on_get, h, &id);
        if (rc < 0)
            break;
        s6_s4_call_track(r, &h->call, id);
        f->pending++;
        sent++;
    }
    if (rc < 0 && sent == 0) {
        free(f);
        return rc;
    }
    if (rc < 0) /* the first is out: it will end the fetch with the error */
        fail(f, rc, GETS[sent].endpoint, "not sent");
    return 0;
}
