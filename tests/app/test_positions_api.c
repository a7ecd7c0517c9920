/*
 * POST /positions/manage, GET /positions and GET /positions/{id} over real
 * HTTP, against the service in-process with a real engine (the shipped
 * config, the repo's Lua rules, in-memory state, a recording router).
 * Every refusal is checked for its status, code and field, and for having
 * changed nothing: no order, no event, the position as it was.
 * Also /ready and the engine's part of /health.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "app_engine.h"
#include "util/exact.h"
#include "client.h"

#define TOKEN "manage-token-0123456789"

typedef struct world {
    fx *f;
    app_engine ae;
} world;

/* ---- fixtures ---- */

static int seed(world *w);

static int setup_engine(void **state)
{
    world *w = calloc(1, sizeof *w);
    *state = w;
    fx_opts o = { .token = TOKEN, .before = ae_attach, .ud = &w->ae };
    if (fx_start_opts(&w->f, &o) < 0)
        return -1;
    return seed(w);
}

static int setup_no_engine(void **state)
{
    world *w = calloc(1, sizeof *w);
    *state = w;
    fx_opts o = { .token = TOKEN };
    return fx_start_opts(&w->f, &o) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    world *w = *state;
    /* the engine goes before the service's metrics it counts into */
    fx_stop(w->f);
    int rc = fx_join(w->f);
    if (w->ae.e != NULL)
        ae_free(&w->ae);
    rc |= fx_free(w->f);
    free(w);
    return rc == 0 ? 0 : -1;
}

/* ---- the loop thread's side ---- */

typedef struct seed_call {
    world *w;
    int rc;
} seed_call;

static void do_seed(void *ud)
{
    seed_call *s = ud;
    s->rc = ae_seed_long(&s->w->ae, 0.01, 60000, 58000, 60500);
}

static int seed(world *w)
{
    seed_call s = { .w = w };
    fx_call(w->f, do_seed, &s);
    return s.rc;
}

/* What the engine has done so far, read on the loop thread. */
typedef struct snapshot {
    world *w;
    size_t orders, cancels, events;
    char record[4096];
    s6_order last; /* the last order sent */
} snapshot;

static void do_snapshot(void *ud)
{
    snapshot *s = ud;
    app_engine *ae = &s->w->ae;
    s->orders = ae_count(ae, 0, false);
    s->cancels = ae_count(ae, 0, true);
    s->events = s6_mem_state_n_events(ae->ms);
    for (size_t i = ae->n_calls; i-- > 0;)
        if (!ae->calls[i].cancel) {
            s->last = ae->calls[i].o;
            break;
        }
    const char *rec = s6_mem_state_record(ae->ms, ae->pos_id);
    snprintf(s->record, sizeof s->record, "%s", rec ? rec : "");
}

static snapshot take(world *w)
{
    snapshot s = { .w = w };
    fx_call(w->f, do_snapshot, &s);
    return s;
}

static void assert_unchanged(const snapshot *a, const snapshot *b)
{
    assert_int_equal(a->orders, b->orders);
    assert_int_equal(a->cancels, b->cancels);
    assert_int_equal(a->events, b->events);
    assert_string_equal(a->record, b->record);
}

/* ---- HTTP ---- */

typedef struct reply {
    int status;
    json_t *doc;
    char request_id[80];
    char body[8192];  /* the body as sent, for byte-for-byte comparisons */
    bool replayed;    /* Idempotent-Replayed: true */
} reply;

/* extra: more header lines, each ending in CRLF ("" for none). */
static reply call_h(world *w, const char *method, const char *path,
                    const char *token, const char *extra, const char *body)
{
    char head[1024];
    size_t len = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: t\r\n%s%s%s%sContent-Length: %zu\r\n"
                     "Content-Type: application/json\r\n\r\n",
                     method, path, token ? "Authorization: Bearer " : "",
                     token ? token : "", token ? "\r\n" : "", extra, len);
    tc_conn c;
    static tc_resp r;
    assert_int_equal(tc_connect(&c, w->f->port), 0);
    assert_int_equal(tc_send(&c, head, (size_t)n), 0);
    if (len)
        assert_int_equal(tc_send(&c, body, len), 0);
    assert_int_equal(tc_read(&c, &r, 1), 1);
    tc_close(&c);
    reply out = { .status = r.status };
    out.doc = json_loadb(r.body, r.body_len, 0, NULL);
    snprintf(out.request_id, sizeof out.request_id, "%s",
             tc_header(&r, "X-Request-Id") ? tc_header(&r, "X-Request-Id") : "");
    snprintf(out.body, sizeof out.body, "%.*s", (int)r.body_len, r.body);
    /* Whether a tree or the writer built it (util/json_out.h), an answer
     * is the text jansson prints for it: reals, escapes, no spaces. */
    if (out.doc != NULL && r.body_len < sizeof out.body) {
        char *again = json_dumps(out.doc, JSON_COMPACT);
        assert_string_equal(again, out.body);
        free(again);
    }
    const char *rp = tc_header(&r, "Idempotent-Replayed");
    out.replayed = rp != NULL && strcmp(rp, "true") == 0;
    return out;
}

static reply call(world *w, const char *method, const char *path,
                  const char *token, const char *body)
{
    return call_h(w, method, path, token, "", body);
}

static reply manage(world *w, const char *token, const char *body)
{
    return call(w, "POST", "/positions/manage", token, body);
}

static void expect_error(const reply *r, int status, const char *code,
                         const char *field)
{
    if (r->status != status)
        fail_msg("status %d, want %d: %s", r->status, status,
                 r->doc ? json_dumps(r->doc, JSON_COMPACT) : "(not JSON)");
    json_t *e = json_object_get(r->doc, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    if (field == NULL)
        assert_true(json_is_null(json_object_get(e, "field")));
    else
        assert_string_equal(json_string_value(json_object_get(e, "field")), field);
}

/* One call that must be refused as given. */
static void refused(world *w, const char *method, const char *path,
                    const char *token, const char *body_text, int status,
                    const char *code, const char *field)
{
    reply r = call(w, method, path, token, body_text);
    expect_error(&r, status, code, field);
    json_decref(r.doc);
}

static void refused_manage(world *w, const char *token, const char *body_text,
                           int status, const char *code, const char *field)
{
    refused(w, "POST", "/positions/manage", token, body_text, status, code,
            field);
}

/* A manage body for the seeded position: `rest` adds fields. */
static const char *body(world *w, const char *action, const char *rest)
{
    static char b[1024];
    snprintf(b, sizeof b, "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
             "\"position_id\":\"%s\",\"action\":\"%s\"%s%s}", w->ae.pos_id,
             action, rest[0] ? "," : "", rest);
    return b;
}

static double num_at(const json_t *doc, const char *a, const char *b)
{
    const json_t *v = json_object_get(doc, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return s6_exact_value(v);
}

/* ---- tests ---- */

static void without_the_token_nothing_happens(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    const char *b = body(w, "CLOSE", "");
    static const char *const tokens[] = { NULL, "wrong-token", TOKEN "x" };
    for (size_t i = 0; i < 3; i++)
        refused_manage(w, tokens[i], b, 401, "unauthorized", NULL);
    snapshot after = take(w);
    assert_unchanged(&before, &after);
}

typedef struct bad_body {
    const char *action, *rest; /* NULL action: `rest` is the whole body */
    int status;
    const char *code, *field;
} bad_body;

static const bad_body bad[] = {
    { NULL, "{\"symbol\":\"BTCUSDT\",", 400, "bad_json", NULL },
    { NULL, "not json", 400, "bad_json", NULL },
    { NULL, "[]", 400, "bad_json", NULL },
    { NULL, "", 400, "bad_json", NULL },
    { "STOP_MOVE", "\"new_stop_price\":NaN", 400, "bad_json", NULL },
    { "STOP_MOVE", "\"new_stop_price\":\"59000\"", 400, "bad_type", "new_stop_price" },
    { "CLOSE", "\"dry_run\":\"true\"", 400, "bad_type", "dry_run" },
    { "STOP_MOVE", "", 400, "missing_field", "new_stop_price" },
    { "ADD", "", 400, "missing_field", "qty" },
    { "TAKE_PROFIT", "", 400, "missing_field", "qty" },
    { "STOP_MOVE", "\"new_stop_price\":0", 400, "invalid_value", "new_stop_price" },
    { "STOP_MOVE", "\"new_stop_price\":-59000", 400, "invalid_value", "new_stop_price" },
    { "TAKE_PROFIT", "\"qty\":-0.001", 400, "invalid_value", "qty" },
    { "TAKE_PROFIT", "\"fraction\":2", 400, "invalid_value", "fraction" },
    { "ADD", "\"qty\":0", 400, "invalid_value", "qty" },
    { "LIQUIDATE", "", 400, "unknown_action", "action" },
    { "CLOSE", "\"leverage\":20", 400, "unknown_field", "leverage" },
    { "CLOSE", "\"new_stop_price\":59000", 400, "field_not_allowed", "new_stop_price" },
};

static void bad_bodies_change_nothing(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *b = bad[i].action ? body(w, bad[i].action, bad[i].rest)
                                      : bad[i].rest;
        refused_manage(w, TOKEN, b, bad[i].status, bad[i].code,
                       bad[i].field);
    }
    snapshot after = take(w);
    assert_unchanged(&before, &after);
}

static void oversized_body_is_413(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    size_t n = fx_limits().max_body + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    memcpy(big, body(w, "CLOSE", ""), strlen(body(w, "CLOSE", "")));
    refused_manage(w, TOKEN, big, 413, "body_too_large", NULL);
    free(big);
    snapshot after = take(w);
    assert_unchanged(&before, &after);
}

static void unknown_position_is_404(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    refused_manage(w, TOKEN, "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
                   "\"position_id\":\"nope\",\"action\":\"CLOSE\"}", 404,
                   "unknown_position", "position_id");
    /* the position is looked up first; then symbol and market must match */
    refused_manage(w, TOKEN, "{\"symbol\":\"ETHUSDT\",\"market\":\"FUT\","
                   "\"position_id\":\"x\",\"action\":\"CLOSE\"}", 404,
                   "unknown_position", "position_id");
    char b[256];
    snprintf(b, sizeof b, "{\"symbol\":\"ETHUSDT\",\"market\":\"FUT\","
             "\"position_id\":\"%s\",\"action\":\"CLOSE\"}", w->ae.pos_id);
    refused_manage(w, TOKEN, b, 400, "invalid_field", "symbol");
    snapshot after = take(w);
    assert_unchanged(&before, &after);
}

/* The spec's shape: {plan:{plan_id, position_id, actions, reduce, adds},
 * orders}; a dry run sends nothing. */
static void expect_ok(const reply *r)
{
    if (r->status != 200)
        fail_msg("status %d: %s", r->status,
                 r->doc ? json_dumps(r->doc, JSON_COMPACT) : "(not JSON)");
}

static void dry_run_returns_the_plan_only(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    reply r = manage(w, TOKEN, body(w, "STOP_MOVE", "\"new_stop_price\":59000,"
                                    "\"reason\":\"tighten\",\"dry_run\":true"));
    expect_ok(&r);
    json_t *plan = json_object_get(r.doc, "plan");
    assert_true(json_is_object(plan));
    assert_string_equal(json_string_value(json_object_get(plan, "position_id")),
                        w->ae.pos_id);
    json_t *acts = json_object_get(plan, "actions");
    assert_int_equal(json_array_size(acts), 1);
    json_t *a = json_array_get(acts, 0);
    assert_string_equal(json_string_value(json_object_get(a, "action")), "STOP_MOVE");
    assert_true(fabs(num_at(a, "new_value", NULL) - 59000) < 1e-9);
    assert_true(fabs(num_at(a, "old_value", NULL) - 58000) < 1e-9);
    assert_true(json_is_array(json_object_get(plan, "reduce")));
    assert_true(json_is_array(json_object_get(plan, "adds")));
    assert_true(json_is_array(json_object_get(r.doc, "orders")));
    json_decref(r.doc);
    snapshot after = take(w);
    assert_unchanged(&before, &after);
}

static void stop_move_sends_the_stop(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    reply r = manage(w, TOKEN, body(w, "STOP_MOVE", "\"new_stop_price\":59000,"
                                    "\"reason\":\"tighten\""));
    assert_int_equal(r.status, 200);
    const char *plan_id = json_string_value(
        json_object_get(json_object_get(r.doc, "plan"), "plan_id"));
    assert_non_null(plan_id);
    json_t *orders = json_object_get(r.doc, "orders");
    assert_true(json_array_size(orders) >= 1);
    snapshot after = take(w);
    assert_int_equal(after.orders, before.orders + 1);
    assert_int_equal(after.last.purpose, S6_PURPOSE_STOP);
    assert_int_equal(after.last.type, S6_ORDER_STOP_MARKET);
    assert_true(after.last.reduce_only);
    assert_true(fabs(after.last.stop_price - 59000) < 1e-9);
    /* a stop carries no plan id (its re-sends must be byte-identical,
     * docs/contracts/s4.md); the answer names the plan */
    assert_string_equal(after.last.plan_id, "");
    assert_true(plan_id[0] != '\0');
    assert_true(after.events > before.events);
    json_decref(r.doc);
}

/* Loosening needs the flag; the refusal changes nothing. */
static void loosening_needs_the_flag(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    refused_manage(w, TOKEN, body(w, "STOP_MOVE", "\"new_stop_price\":57000"),
                   409, "rejected", "new_stop_price");
    snapshot after = take(w);
    assert_unchanged(&before, &after);
    reply r = manage(w, TOKEN, body(w, "STOP_MOVE", "\"new_stop_price\":57000,"
                                    "\"loosen\":true,\"dry_run\":true"));
    assert_int_equal(r.status, 200);
    json_decref(r.doc);
}

static void paused_symbol_answers_423(void **state)
{
    world *w = *state;
    reply r = call(w, "POST", "/control/pause", TOKEN, "{\"symbol\":\"BTCUSDT\"}");
    assert_int_equal(r.status, 200);
    json_decref(r.doc);
    snapshot before = take(w);
    refused_manage(w, TOKEN, body(w, "TAKE_PROFIT", "\"fraction\":0.5"), 423,
                   "paused", NULL);
    snapshot after = take(w);
    assert_unchanged(&before, &after);
    r = call(w, "POST", "/control/resume", TOKEN, "");
    assert_int_equal(r.status, 200);
    json_decref(r.doc);
    r = manage(w, TOKEN, body(w, "TAKE_PROFIT", "\"fraction\":0.5,\"dry_run\":true"));
    assert_int_equal(r.status, 200);
    json_decref(r.doc);
}

static void positions_are_listed(void **state)
{
    world *w = *state;
    reply r = call(w, "GET", "/positions", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *list = json_object_get(r.doc, "positions");
    assert_int_equal(json_array_size(list), 1);
    json_t *p = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(p, "position_id")),
                        w->ae.pos_id);
    json_decref(r.doc);

    char path[96];
    snprintf(path, sizeof path, "/positions/%s", w->ae.pos_id);
    r = call(w, "GET", path, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.doc, "symbol")), "BTCUSDT");
    assert_string_equal(json_string_value(json_object_get(r.doc, "side")), "LONG");
    /* the desk's numbers: the step's and the tick's decimals, exactly */
    assert_string_equal(json_string_value(json_object_get(r.doc, "qty")), "0.010");
    assert_string_equal(json_string_value(json_object_get(r.doc, "entry")), "60000.0");
    assert_string_equal(json_string_value(json_object_get(r.doc, "mark")), "60500.0");
    assert_true(json_is_number(json_object_get(r.doc, "roe")));
    const char *liq = json_string_value(json_object_get(r.doc, "liq_price"));
    assert_non_null(liq);
    assert_non_null(strchr(liq, '.'));
    assert_int_equal(strlen(strchr(liq, '.') + 1), 1);
    assert_true(json_is_object(json_object_get(r.doc, "stop")));
    json_decref(r.doc);

    refused(w, "GET", "/positions/pos-unknown", NULL, NULL, 404, "unknown_position", "id");
}

/* The access line of a manage names the position and the plan. */
typedef struct lines_call {
    fx *f;
    size_t len;
    char *copy;
} lines_call;

static void do_copy_lines(void *ud)
{
    lines_call *c = ud;
    c->copy = strndup(c->f->log_lines.data ? c->f->log_lines.data : "",
                      c->f->log_lines.len);
}

static void access_line_names_the_ids(void **state)
{
    world *w = *state;
    reply r = manage(w, TOKEN, body(w, "STOP_MOVE", "\"new_stop_price\":59100"));
    assert_int_equal(r.status, 200);
    const char *plan_id = json_string_value(
        json_object_get(json_object_get(r.doc, "plan"), "plan_id"));
    char want[256];
    snprintf(want, sizeof want, "\"request_id\":\"%s\",\"outcome\":\"sent\","
             "\"pos_id\":\"%s\",\"plan_id\":\"%s\"}", r.request_id,
             w->ae.pos_id, plan_id);
    /* the line is written once the answer is: poll for it */
    long deadline = tc_now_ms() + TC_GUARD_MS;
    lines_call c = { .f = w->f };
    for (;;) {
        fx_call(w->f, do_copy_lines, &c);
        bool found = strstr(c.copy, want) != NULL;
        free(c.copy);
        if (found)
            break;
        if (tc_now_ms() > deadline)
            fail_msg("no access line with %s", want);
    }
    json_decref(r.doc);
}

static void without_engine_503_after_validation(void **state)
{
    world *w = *state;
    refused_manage(w, TOKEN, "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
                   "\"position_id\":\"p1\",\"action\":\"CLOSE\"}", 503,
                   "unavailable", NULL);
    refused_manage(w, TOKEN, "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
                   "\"position_id\":\"p1\",\"action\":\"NOPE\"}", 400,
                   "unknown_action", "action");
    refused_manage(w, NULL, "{}", 401, "unauthorized", NULL);
    refused(w, "GET", "/positions", NULL, NULL, 503, "unavailable", NULL);
    refused(w, "GET", "/positions/p1", NULL, NULL, 503, "unavailable", NULL);
}

/* The treasury's routes are served (their behaviour is the treasury's
 * suite): the token first, then 503 while no treasury runs. */
static void transfer_routes_are_wired(void **state)
{
    world *w = *state;
    static const char *const paths[] = { "/auto-transfer/trigger",
                                         "/auto-transfer/approval" };
    for (size_t i = 0; i < 2; i++) {
        refused(w, "POST", paths[i], NULL, "{}", 401, "unauthorized", NULL);
        refused(w, "POST", paths[i], TOKEN, "{}", 503, "unavailable", NULL);
        refused(w, "GET", paths[i], NULL, NULL, 405, "method_not_allowed", NULL);
    }
}

/* ---- readiness and health ---- */

typedef struct ready_call {
    fx *f;
    const char *name;
    bool ok;
} ready_call;

static void do_ready(void *ud)
{
    ready_call *c = ud;
    assert_int_equal(s6_app_set_ready(&c->f->app, c->name, c->ok), 0);
}

static void set_ready(world *w, const char *name, bool ok)
{
    ready_call c = { w->f, name, ok };
    fx_call(w->f, do_ready, &c);
}

static void ready_follows_the_components(void **state)
{
    world *w = *state;
    reply r = call(w, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 200); /* nothing registered yet */
    json_decref(r.doc);
    set_ready(w, "redis", false);
    set_ready(w, "reconciled", false);
    r = call(w, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_true(json_is_false(json_object_get(r.doc, "ready")));
    json_t *waiting = json_object_get(r.doc, "waiting");
    assert_int_equal(json_array_size(waiting), 2);
    assert_string_equal(json_string_value(json_array_get(waiting, 0)), "redis");
    expect_error(&r, 503, "not_ready", NULL);
    json_decref(r.doc);
    set_ready(w, "redis", true);
    r = call(w, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_int_equal(json_array_size(json_object_get(r.doc, "waiting")), 1);
    json_decref(r.doc);
    set_ready(w, "reconciled", true);
    r = call(w, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.doc, "ready")));
    assert_true(json_is_true(json_object_get(json_object_get(r.doc, "components"),
                                             "redis")));
    assert_null(json_object_get(r.doc, "error"));
    json_decref(r.doc);
}

static bool store_check(void *ud, s6_jw *w)
{
    bool ok = *(bool *)ud;
    s6_jw_obj(w);
    s6_jw_kbool(w, "ok", ok);
    s6_jw_kstr(w, "backend", "sqlite");
    s6_jw_end_obj(w);
    return ok;
}

static bool store_ok = true;

static void do_add_check(void *ud)
{
    fx *f = ud;
    assert_int_equal(s6_app_add_check(&f->app, "history", store_check, &store_ok), 0);
    assert_int_equal(s6_app_add_check(&f->app, "history", store_check, &store_ok),
                     -EEXIST);
    /* the app's own members of checks cannot be doubled */
    assert_int_equal(s6_app_add_check(&f->app, "engine", store_check, &store_ok),
                     -EEXIST);
}

static void health_shows_the_engine_and_checks(void **state)
{
    world *w = *state;
    fx_call(w->f, do_add_check, w->f);
    reply r = call(w, "GET", "/health", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *checks = json_object_get(r.doc, "checks");
    json_t *eng = json_object_get(checks, "engine");
    assert_true(json_is_true(json_object_get(eng, "running")));
    assert_int_equal(json_integer_value(json_object_get(eng, "positions")), 1);
    assert_true(json_is_integer(json_object_get(eng, "unprotected")));
    /* the seeded price came at the clock's now: age 0 */
    assert_true(num_at(eng, "last_price_age_s", NULL) == 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(checks, "history"), "backend")),
                        "sqlite");
    assert_true(json_is_object(json_object_get(checks, "paused")));
    json_decref(r.doc);
    store_ok = false;
    r = call(w, "GET", "/health", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.doc, "status")),
                        "degraded");
    json_decref(r.doc);
    store_ok = true;
}

/* ---- idempotent manual actions ---- */

static reply manage_keyed(world *w, const char *key, const char *body_text)
{
    char extra[128];
    snprintf(extra, sizeof extra, "Idempotency-Key: %s\r\n", key);
    return call_h(w, "POST", "/positions/manage", TOKEN, extra, body_text);
}

/* Loop thread: S4 takes every order, and the last take-profit fills at
 * the mark, so the position is free for another reduce. */
static void do_fill_take_profit(void *ud)
{
    app_engine *ae = ud;
    ae_settle(ae);
    const ae_call *tp = NULL;
    for (size_t i = ae->n_calls; i-- > 0 && tp == NULL;)
        if (!ae->calls[i].cancel && ae->calls[i].o.purpose == S6_PURPOSE_TP)
            tp = &ae->calls[i];
    assert_non_null(tp);
    s6_order_result r = { .kind = S6_RES_FILL, .market = S6_MARKET_FUT,
                          .ts = ae->now };
    snprintf(r.result_id, sizeof r.result_id, "r-%u", ++ae->rid);
    snprintf(r.intent_id, sizeof r.intent_id, "%s", tp->o.intent_id);
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    r.fill = (s6_fill){ .kind = S6_FILL_REDUCE, .side = -1, .qty = tp->o.qty,
                        .price = 60500, .ts = ae->now };
    char err[160] = "";
    if (s6_engine_on_result(ae->e, &r, err, sizeof err) != 0)
        fail_msg("take-profit fill refused: %s", err);
    ae_settle(ae);
}

/* A retried TAKE_PROFIT under one key reduces once: the router sees one
 * order, and the retry gets the first answer byte for byte, even after
 * the first one filled (when the same request without a key acts again). */
static void take_profit_repeat_acts_once(void **state)
{
    world *w = *state;
    snapshot before = take(w);
    const char *b = body(w, "TAKE_PROFIT", "\"fraction\":0.5");
    reply r1 = manage_keyed(w, "tp-0001", b);
    expect_ok(&r1);
    assert_false(r1.replayed);
    snapshot once = take(w);
    assert_int_equal(once.orders, before.orders + 1);
    assert_int_equal(once.last.purpose, S6_PURPOSE_TP);
    assert_true(once.last.reduce_only);
    assert_true(fabs(once.last.qty - 0.005) < 1e-12);
    fx_call(w->f, do_fill_take_profit, &w->ae);
    snapshot filled = take(w);

    /* the same request with its fields in another order: the same meaning */
    char again[1024];
    snprintf(again, sizeof again, "{\"fraction\":0.5,\"action\":\"TAKE_PROFIT\","
             "\"position_id\":\"%s\",\"market\":\"FUT\",\"symbol\":\"BTCUSDT\"}",
             w->ae.pos_id);
    reply r2 = manage_keyed(w, "tp-0001", again);
    assert_int_equal(r2.status, r1.status);
    assert_string_equal(r2.body, r1.body);
    assert_true(r2.replayed);
    snapshot after = take(w);
    assert_unchanged(&filled, &after);

    /* without the key the same body acts again: the key is what dedupes */
    reply r3 = manage(w, TOKEN, b);
    expect_ok(&r3);
    snapshot third = take(w);
    assert_int_equal(third.orders, filled.orders + 1);
    assert_int_equal(third.last.purpose, S6_PURPOSE_TP);
    json_decref(r1.doc);
    json_decref(r2.doc);
    json_decref(r3.doc);
}

/* The body's action_id is the same key as the header; another request
 * under a used key is refused 422 and changes nothing. */
static void reused_key_with_other_body_is_refused(void **state)
{
    world *w = *state;
    reply r1 = manage(w, TOKEN, body(w, "TAKE_PROFIT", "\"fraction\":0.5,"
                                     "\"action_id\":\"tp-0002\""));
    expect_ok(&r1);
    snapshot before = take(w);
    reply r2 = manage_keyed(w, "tp-0002", body(w, "TAKE_PROFIT",
                                               "\"fraction\":0.5"));
    assert_int_equal(r2.status, 200);
    assert_string_equal(r2.body, r1.body);
    reply r3 = manage_keyed(w, "tp-0002", body(w, "TAKE_PROFIT",
                                               "\"fraction\":0.25"));
    expect_error(&r3, 422, "idempotency_key_reused", "Idempotency-Key");
    refused_manage(w, TOKEN, body(w, "CLOSE", "\"action_id\":\"tp-0002\""),
                   422, "idempotency_key_reused", "action_id");
    snapshot after = take(w);
    assert_unchanged(&before, &after);
    /* header and body naming two keys, or a key with a space: 400 */
    reply r4 = manage_keyed(w, "tp-0003", body(w, "TAKE_PROFIT",
                                               "\"fraction\":0.25,"
                                               "\"action_id\":\"tp-0004\""));
    expect_error(&r4, 400, "invalid_value", "action_id");
    reply r5 = manage_keyed(w, "tp 0005", body(w, "TAKE_PROFIT",
                                               "\"fraction\":0.25"));
    expect_error(&r5, 400, "invalid_value", "Idempotency-Key");
    snapshot last = take(w);
    assert_unchanged(&before, &last);
    json_decref(r1.doc);
    json_decref(r2.doc);
    json_decref(r3.doc);
    json_decref(r4.doc);
    json_decref(r5.doc);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_engine, teardown)
    const struct CMUnitTest tests[] = {
        T(without_the_token_nothing_happens),
        T(bad_bodies_change_nothing),
        T(oversized_body_is_413),
        T(unknown_position_is_404),
        T(dry_run_returns_the_plan_only),
        T(stop_move_sends_the_stop),
        T(loosening_needs_the_flag),
        T(paused_symbol_answers_423),
        T(take_profit_repeat_acts_once),
        T(reused_key_with_other_body_is_refused),
        T(positions_are_listed),
        T(access_line_names_the_ids),
        T(ready_follows_the_components),
        T(health_shows_the_engine_and_checks),
        cmocka_unit_test_setup_teardown(without_engine_503_after_validation,
                                        setup_no_engine, teardown),
        cmocka_unit_test_setup_teardown(transfer_routes_are_wired,
                                        setup_no_engine, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
