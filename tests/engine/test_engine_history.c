/*
 * The history an engine run leaves, read back from the store: every
 * order's row with its last status (sent, accepted, filled with quantity
 * and price, cancelled with the stop it was, rejected), every order's
 * whole life from order_events (each status in turn, with its price and
 * quantity) and the position's snapshots — on SQLite, and on the ArangoDB
 * backend through its HTTP stand-in (tests/store/arango_fake.h).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arango_fake.h"
#include "engine_fixture.h"
#include "store/arangodb.h"
#include "store/store.h"

#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}}"
#define AUTH "Basic czY6c2VjcmV0"

typedef struct backend {
    s6_store *st;
    uv_loop_t loop;           /* ArangoDB: its answers come on it */
    bool async;
    arango_fake *fake;
    s6_httpc *http;
} backend;

static void open_sqlite(backend *b)
{
    memset(b, 0, sizeof *b);
    s6_store_err e;
    if (s6_store_open_sqlite(":memory:", &b->st, &e) != 0)
        fail_msg("sqlite: %s", e.msg);
}

static void open_arangodb(backend *b)
{
    memset(b, 0, sizeof *b);
    b->async = true;
    assert_int_equal(uv_loop_init(&b->loop), 0);
    assert_int_equal(arango_fake_new(&b->fake, &b->loop, "s6", AUTH, 2), 0);
    assert_int_equal(s6_httpc_new(&b->http, &b->loop, NULL, NULL), 0);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d",
             arango_fake_port(b->fake));
    s6_store_arango_opts o = {.base_url = base, .database = "s6",
                              .authorization = AUTH, .timeout_ms = 2000};
    s6_store_err e;
    if (s6_store_open_arangodb(&o, b->http, &b->st, &e) != 0)
        fail_msg("arangodb: %s", e.msg);
}

/* Every write the engine asked for has landed (ArangoDB answers on the
 * loop; an upsert is two requests, so each step is drained in turn). */
static void drain(backend *b)
{
    for (int i = 0; b->async && s6_httpc_pending(b->http) > 0 && i < 100000;
         i++)
        uv_run(&b->loop, UV_RUN_ONCE);
    if (b->async)
        assert_int_equal(s6_httpc_pending(b->http), 0);
}

static void on_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(bool *)ud = true;
}

static void close_backend(backend *b)
{
    s6_store_close(b->st);
    if (!b->async)
        return;
    bool closed = false;
    s6_httpc_shutdown(b->http, on_closed, &closed);
    while (!closed)
        uv_run(&b->loop, UV_RUN_ONCE);
    s6_httpc_free(b->http);
    arango_fake_free(b->fake);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&b->loop), 0);
}

#define MAX_EVENTS 8

typedef struct got {
    int done, rc;
    bool found;
    s6_store_order order;
    s6_store_snapshot snap;
    s6_store_order_event events[MAX_EVENTS];
    size_t n_events;
} got;

static void on_got(void *ud, int rc, const char *msg,
                   const s6_store_result *res)
{
    (void)msg;
    got *g = ud;
    g->done = 1;
    g->rc = rc;
    g->found = res->found;
    if (res->order != NULL)
        g->order = *res->order;
    if (res->snapshot != NULL) {
        g->snap = *res->snapshot;
        g->snap.rule_versions = NULL;
    }
    g->n_events = res->n_events;
    for (size_t i = 0; i < res->n_events && i < MAX_EVENTS; i++)
        g->events[i] = res->events[i];
}

static void wait_got(backend *b, got *g)
{
    for (int i = 0; !g->done && i < 100000; i++)
        uv_run(&b->loop, UV_RUN_ONCE);
    assert_int_equal(g->done, 1);
    assert_int_equal(g->rc, 0);
}

static s6_store_order order_of(backend *b, const char *intent)
{
    got g = {0};
    s6_store_err e;
    assert_int_equal(s6_store_get_order(b->st, intent, on_got, &g, &e), 0);
    wait_got(b, &g);
    if (!g.found)
        fail_msg("no order row for %s", intent);
    return g.order;
}

static void expect(backend *b, const char *intent, const char *kind,
                   const char *status, double price, double qty)
{
    s6_store_order o = order_of(b, intent);
    if (strcmp(o.kind, kind) != 0 || strcmp(o.status, status) != 0 ||
        fabs(o.price - price) > 1e-9 || fabs(o.qty - qty) > 1e-9)
        fail_msg("%s: %s %s %.10g x %.10g, want %s %s %.10g x %.10g", intent,
                 o.kind, o.status, o.price, o.qty, kind, status, price, qty);
}

/* One status of an order's life: what it was, at which price and
 * quantity. */
typedef struct step {
    const char *status;
    double price, qty;
} step;

/* The order's events are exactly `want`, in order, each naming the order,
 * its position, symbol and kind, their seq growing. */
static void expect_life(backend *b, const fx *f, const char *intent,
                        const char *kind, const step *want, size_t n)
{
    got g = {0};
    s6_store_err e;
    assert_int_equal(s6_store_order_events(b->st, intent, on_got, &g, &e), 0);
    wait_got(b, &g);
    char have[256] = "";
    for (size_t i = 0; i < g.n_events && i < MAX_EVENTS; i++)
        snprintf(have + strlen(have), sizeof have - strlen(have), " %s",
                 g.events[i].status);
    if (g.n_events != n)
        fail_msg("%s: %zu events (%s), want %zu", intent, g.n_events, have, n);
    for (size_t i = 0; i < n; i++) {
        const s6_store_order_event *ev = &g.events[i];
        if (strcmp(ev->status, want[i].status) != 0 ||
            fabs(ev->price - want[i].price) > 1e-9 ||
            fabs(ev->qty - want[i].qty) > 1e-9)
            fail_msg("%s event %zu: %s %.10g x %.10g, want %s %.10g x %.10g "
                     "(life:%s)", intent, i, ev->status, ev->price, ev->qty,
                     want[i].status, want[i].price, want[i].qty, have);
        assert_string_equal(ev->intent_id, intent);
        assert_string_equal(ev->pos_id, f->pos_id);
        assert_string_equal(ev->symbol, "BTCUSDT");
        assert_string_equal(ev->kind, kind);
        assert_true(ev->ts_ms > 0);
        if (i > 0)
            assert_true(ev->seq > g.events[i - 1].seq);
    }
}

#define LIFE(b, f, intent, kind, ...)                                     \
    do {                                                                  \
        const step life_[] = {__VA_ARGS__};                              \
        expect_life(b, f, intent, kind, life_,                            \
                    sizeof life_ / sizeof life_[0]);                      \
    } while (0)

static s6_manage_req req(fx *f, int action)
{
    s6_manage_req q = {.action = action, .market = -1};
    snprintf(q.position_id, sizeof q.position_id, "%s", f->pos_id);
    return q;
}

static void manage(fx *f, s6_manage_req q)
{
    json_t *out = NULL;
    s6_api_error err;
    if (s6_engine_manage(f->e, &q, &out, &err) != 0)
        fail_msg("manage: %s", err.message);
    json_decref(out);
}

/* An engine run through an order's every end, then the store read. */
static void run_and_read_back(backend *b)
{
    fx f;
    fx_setup(&f, NO_TP);
    f.store = b->st;
    fx_restart(&f); /* the engine now writes its history to b */

    /* the upstream entry, its first stop sent and taken */
    assert_int_equal(fx_fill(&f, "up-1", S6_FILL_ENTRY, 1, 0.1, 50000, 0,
                             49000), 0);
    assert_int_equal(fx_price(&f, 50000), 0);
    drain(b);
    expect(b, "up-1", "ENTRY", "FILLED", 50000, 0.1);
    fx_call *sl1 = fx_last(&f, S6_PURPOSE_STOP, false);
    char first_stop[S6_INTENT_ID_MAX + 1];
    snprintf(first_stop, sizeof first_stop, "%s", sl1->o.intent_id);
    expect(b, first_stop, "STOP", "SENT", 49000, 0.1);
    fx_answer(&f, sl1, S6_ROUTE_OK);
    drain(b);
    expect(b, first_stop, "STOP", "ACKED", 49000, 0.1);

    /* a stop move: the new one taken, the old one cancelled (its price
     * and quantity kept, not dropped) */
    s6_manage_req mv = req(&f, S6_MANAGE_STOP_MOVE);
    mv.new_stop_price = 49500;
    manage(&f, mv);
    fx_call *sl2 = fx_last(&f, S6_PURPOSE_STOP, false);
    assert_string_not_equal(sl2->o.intent_id, first_stop);
    fx_answer(&f, sl2, S6_ROUTE_OK);
    fx_call *cancel = fx_find(&f, first_stop, true);
    assert_non_null(cancel);
    fx_answer(&f, cancel, S6_ROUTE_OK);
    drain(b);
    expect(b, first_stop, "STOP", "CANCELED", 49000, 0.1);
    expect(b, sl2->o.intent_id, "STOP", "ACKED", 49500, 0.1);

    /* a take-profit filled in two parts: quantity so far and price */
    s6_manage_req tp = req(&f, S6_MANAGE_TAKE_PROFIT);
    tp.qty = 0.04;
    manage(&f, tp);
    fx_call *t = fx_last(&f, S6_PURPOSE_TP, false);
    char tp_intent[S6_INTENT_ID_MAX + 1];
    snprintf(tp_intent, sizeof tp_intent, "%s", t->o.intent_id);
    drain(b);
    expect(b, tp_intent, "TAKE_PROFIT", "SENT", 0, 0.04);
    fx_answer(&f, t, S6_ROUTE_OK);
    drain(b);
    expect(b, tp_intent, "TAKE_PROFIT", "ACKED", 0, 0.04);
    assert_int_equal(fx_fill(&f, tp_intent, S6_FILL_REDUCE, -1, 0.01, 50100,
                             0, 0), 0);
    drain(b);
    expect(b, tp_intent, "TAKE_PROFIT", "PARTIALLY_FILLED", 50100, 0.01);
    assert_int_equal(fx_fill(&f, tp_intent, S6_FILL_REDUCE, -1, 0.03, 50120,
                             0, 0), 0);
    drain(b);
    expect(b, tp_intent, "TAKE_PROFIT", "FILLED", 50120, 0.04);

    /* a close S4 refuses */
    manage(&f, req(&f, S6_MANAGE_CLOSE));
    fx_call *cl = fx_last(&f, S6_PURPOSE_CLOSE, false);
    char cl_intent[S6_INTENT_ID_MAX + 1];
    snprintf(cl_intent, sizeof cl_intent, "%s", cl->o.intent_id);
    fx_answer(&f, cl, S6_ROUTE_REJECTED);
    drain(b);
    expect(b, cl_intent, "CLOSE", "REJECTED", 0, 0.06);

    /* the snapshots: the latest is the position as it stands */
    got g = {0};
    s6_store_err e;
    assert_int_equal(s6_store_latest_snapshot(b->st, f.pos_id, on_got, &g, &e),
                     0);
    wait_got(b, &g);
    assert_true(g.found);
    assert_string_equal(g.snap.pos_id, f.pos_id);
    assert_true(fabs(g.snap.qty - 0.06) < 1e-9);
    assert_true(fabs(g.snap.entry_px - 50000) < 1e-9);
    assert_true(g.snap.realized_pnl > 0);

    /* the stop that stands is hit: the rest of the position goes */
    char sl2_intent[S6_INTENT_ID_MAX + 1];
    snprintf(sl2_intent, sizeof sl2_intent, "%s", sl2->o.intent_id);
    assert_int_equal(fx_fill(&f, sl2_intent, S6_FILL_STOP, -1, 0.06, 49500,
                             0, 0), 0);
    drain(b);
    expect(b, sl2_intent, "STOP", "FILLED", 49500, 0.06);

    /* every order's whole life, not only the status its row kept */
    LIFE(b, &f, "up-1", "ENTRY", {"FILLED", 50000, 0.1});
    LIFE(b, &f, first_stop, "STOP", {"SENT", 49000, 0.1},
         {"ACKED", 49000, 0.1}, {"CANCELED", 49000, 0.1});
    LIFE(b, &f, sl2_intent, "STOP", {"SENT", 49500, 0.1},
         {"ACKED", 49500, 0.1}, {"FILLED", 49500, 0.06});
    LIFE(b, &f, tp_intent, "TAKE_PROFIT", {"SENT", 0, 0.04},
         {"ACKED", 0, 0.04}, {"PARTIALLY_FILLED", 50100, 0.01},
         {"FILLED", 50120, 0.04});
    LIFE(b, &f, cl_intent, "CLOSE", {"SENT", 0, 0.06}, {"REJECTED", 0, 0.06});
    fx_teardown(&f);
}

static void sqlite_read_back(void **st)
{
    (void)st;
    backend b;
    open_sqlite(&b);
    run_and_read_back(&b);
    close_backend(&b);
}

static void arangodb_read_back(void **st)
{
    (void)st;
    backend b;
    open_arangodb(&b);
    run_and_read_back(&b);
    close_backend(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sqlite_read_back),
        cmocka_unit_test(arangodb_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
