/*
 * test_store_arangodb: the ArangoDB backend, on one libuv loop, against
 *   1. the store contract suite (test_store_contract.c) with an in-memory
 *      stand-in for ArangoDB's HTTP API (arango_fake.c), and
 *   2. the scripted HTTP peer (tests/support/peer.h): each operation makes
 *      the HTTP calls ArangoDB's documentation describes (method, path,
 *      query, headers, body) and reads its documented answers (201 with
 *      "new", 409 errorNum 1210, 404, 412, cursor batches with hasMore),
 *      and failures map to store errors.
 * No ArangoDB server exists on the build machines: none of this proves
 * that a real server answers that way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "arango_fake.h"
#include "contract.h"
#include "peer.h"
#include "store/arangodb.h"

#define DB "/_db/s6"

typedef struct fx {
    uv_loop_t loop;
    s6_peer *peer;
    s6_httpc *http;
    s6_store *st;
} fx;

static void on_guard(uv_timer_t *t) { *(bool *)t->data = true; }

/* Runs the loop until *flag is set or 5 s pass. */
static void wait_loop(uv_loop_t *loop, const int *flag)
{
    uv_timer_t guard;
    bool expired = false;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, 5000, 0);
    while (*flag == 0 && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (*flag == 0)
        fail_msg("no completion within 5 s");
}

static void wait_flag(fx *f, const int *flag) { wait_loop(&f->loop, flag); }

static void on_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(int *)ud = 1;
}

static void close_http(uv_loop_t *loop, s6_httpc *http)
{
    int closed = 0;
    s6_httpc_shutdown(http, on_closed, &closed);
    wait_loop(loop, &closed);
    s6_httpc_free(http);
}

/* ---- the contract against the ArangoDB stand-in ---------------------- */

#define AUTH "Basic czY6c2VjcmV0"

typedef struct afx {
    uv_loop_t loop;
    arango_fake *fake;
    s6_httpc *http;
    char base[64];
} afx;

static s6_store *afx_store(afx *a)
{
    s6_store_arango_opts o = { .base_url = a->base, .database = "s6",
                               .authorization = AUTH, .timeout_ms = 2000 };
    s6_store *st = NULL;
    s6_store_err e;
    if (s6_store_open_arangodb(&o, a->http, &st, &e) != 0)
        fail_msg("open: %s", e.msg);
    return st;
}

static s6_store *afx_open(void **state)
{
    afx *a = calloc(1, sizeof *a);
    assert_non_null(a);
    assert_int_equal(uv_loop_init(&a->loop), 0);
    /* Two documents per cursor batch, so the list pages. */
    assert_int_equal(arango_fake_new(&a->fake, &a->loop, "s6", AUTH, 2), 0);
    assert_int_equal(s6_httpc_new(&a->http, &a->loop, NULL, NULL), 0);
    snprintf(a->base, sizeof a->base, "http://127.0.0.1:%d",
             arango_fake_port(a->fake));
    *state = a;
    return afx_store(a);
}

static s6_store *afx_reopen(void **state, s6_store *st)
{
    s6_store_close(st);
    return afx_store(*state);
}

static void afx_wait(void **state, const int *flag)
{
    wait_loop(&((afx *)*state)->loop, flag);
}

static void afx_teardown(void **state, s6_store *st)
{
    afx *a = *state;
    s6_store_close(st);
    close_http(&a->loop, a->http);
    arango_fake_free(a->fake);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&a->loop), 0);
    free(a);
}

static const contract_backend ARANGO_BACKEND = {
    .name = "store_contract_arangodb",
    .open_fresh = afx_open,
    .reopen = afx_reopen,
    .wait = afx_wait,
    .teardown = afx_teardown,
};

/* ---- exact calls against the scripted peer -------------------------- */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char base[128];
    if (!f || uv_loop_init(&f->loop) != 0 ||
        s6_peer_new(&f->peer, &f->loop) < 0 ||
        s6_httpc_new(&f->http, &f->loop, NULL, NULL) < 0)
        return -1;
    s6_peer_url(f->peer, "", base, sizeof base);
    s6_store_arango_opts o = { .base_url = base, .database = "s6",
                               .authorization = AUTH,
                               .timeout_ms = 2000 };
    s6_store_err e;
    if (s6_store_open_arangodb(&o, f->http, &f->st, &e) != 0) {
        fprintf(stderr, "open: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    s6_store_close(f->st);
    close_http(&f->loop, f->http);
    s6_peer_free(f->peer);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void script(fx *f, const char *method, const char *path, int status,
                   const char *body)
{
    s6_peer_step s = { .action = S6_PEER_ANSWER, .status = status,
                       .body = body };
    assert_int_equal(s6_peer_script(f->peer, method, path, &s, 1), 0);
}

/* Header `name` of request i is `want` (a missing one fails, not crashes). */
static void header_is(fx *f, size_t i, const char *name, const char *want)
{
    const char *v = s6_peer_header(f->peer, i, name);
    if (!v || strcmp(v, want) != 0)
        fail_msg("request %zu header %s: %s, wanted %s", i, name,
                 v ? v : "(missing)", want);
}

/* Request i was `method path?query` with the store's auth header. */
static const s6_peer_rec *req(fx *f, size_t i, const char *method,
                              const char *path, const char *query)
{
    assert_true(s6_peer_count(f->peer) > i);
    const s6_peer_rec *r = s6_peer_get(f->peer, i);
    assert_string_equal(r->method, method);
    assert_string_equal(r->path, path);
    assert_string_equal(r->query ? r->query : "", query);
    header_is(f, i, "Authorization", AUTH);
    return r;
}

/* The request's body equals the JSON text `want` (order-insensitive). */
static void body_is(const s6_peer_rec *r, const char *want)
{
    json_error_t je;
    json_t *a = json_loadb(r->body, r->body_len, 0, &je);
    json_t *b = json_loads(want, 0, &je);
    assert_non_null(b);
    if (!a || !json_equal(a, b))
        fail_msg("body %.*s\nwanted %s", (int)r->body_len, r->body, want);
    json_decref(a);
    json_decref(b);
}

#define RUN(f, g, call)                                                    \
    do {                                                                   \
        s6_store_err e_;                                                   \
        memset(&(g), 0, sizeof(g));                                        \
        int rc_ = (call);                                                  \
        if (rc_ != 0)                                                      \
            fail_msg("refused %d: %s", rc_, e_.msg);                       \
        wait_flag((f), &(g).calls);                                        \
        assert_int_equal((g).calls, 1);                                    \
    } while (0)

static const char TR_DOC[] =
    "{\"transfer_id\":\"tr-1\",\"trigger_id\":\"trg-1\","
    "\"trigger_type\":\"MARGIN_CALL\",\"from\":\"SPOT\",\"to\":\"FUT\","
    "\"amount\":250.5,\"status\":\"PENDING\",\"reason\":\"need 250.5\","
    "\"attempts\":0,\"created_ms\":1000,\"updated_ms\":1000";

static s6_store_transfer tr1(void)
{
    s6_store_transfer t = { .transfer_id = "tr-1", .trigger_id = "trg-1",
                            .trigger_type = "MARGIN_CALL", .from = "SPOT",
                            .to = "FUT", .amount = 250.5,
                            .status = S6_TRANSFER_PENDING,
                            .reason = "need 250.5", .created_ms = 1000,
                            .updated_ms = 1000 };
    return t;
}

static void create_transfer_posts_the_document(void **state)
{
    fx *f = *state;
    got g;
    char answer[1024];
    snprintf(answer, sizeof answer, "{\"_key\":\"tr-1\",\"_id\":"
             "\"treasury_transfers/tr-1\",\"_rev\":\"_h1\",\"new\":%s,"
             "\"_key\":\"tr-1\",\"_rev\":\"_h1\"}}", TR_DOC);
    script(f, "POST", DB "/_api/document/treasury_transfers", 201, answer);
    s6_store_transfer t = tr1();
    RUN(f, g, s6_store_create_transfer(f->st, &t, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_false(g.existed);
    assert_string_equal(g.transfer.transfer_id, "tr-1");
    assert_true(g.transfer.amount == 250.5);
    const s6_peer_rec *r = req(f, 0, "POST",
                               DB "/_api/document/treasury_transfers",
                               "returnNew=true");
    char want[1024];
    snprintf(want, sizeof want, "%s,\"_key\":\"tr-1\"}", TR_DOC);
    body_is(r, want);
}

static void create_existing_transfer_returns_the_stored_row(void **state)
{
    fx *f = *state;
    got g;
    char stored[1024];
    script(f, "POST", DB "/_api/document/treasury_transfers", 409,
           "{\"error\":true,\"code\":409,\"errorNum\":1210,\"errorMessage\":"
           "\"unique constraint violated - in index primary of type primary "
           "over '_key'; conflicting key: tr-1\"}");
    snprintf(stored, sizeof stored, "%s,\"_key\":\"tr-1\",\"_rev\":\"_h1\"}",
             TR_DOC);
    script(f, "GET", DB "/_api/document/treasury_transfers/tr-1", 200, stored);
    s6_store_transfer t = tr1();
    t.amount = 999; /* a repeated trigger with other numbers */
    RUN(f, g, s6_store_create_transfer(f->st, &t, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_true(g.existed);
    assert_true(g.transfer.amount == 250.5);
    assert_int_equal(s6_peer_count(f->peer), 2);
    req(f, 1, "GET", DB "/_api/document/treasury_transfers/tr-1", "");
}

static void update_transfer_reads_then_patches_with_if_match(void **state)
{
    fx *f = *state;
    got g;
    char stored[1024], answer[1024];
    snprintf(stored, sizeof stored, "%s,\"_key\":\"tr-1\",\"_rev\":\"_h1\"}",
             TR_DOC);
    snprintf(answer, sizeof answer, "{\"_key\":\"tr-1\",\"_rev\":\"_h2\","
             "\"new\":{\"transfer_id\":\"tr-1\",\"trigger_id\":\"trg-1\","
             "\"trigger_type\":\"MARGIN_CALL\",\"from\":\"SPOT\",\"to\":\"FUT\","
             "\"amount\":250.5,\"status\":\"SUCCESS\",\"reason\":\"S1 ok\","
             "\"attempts\":1,\"created_ms\":1000,\"updated_ms\":1300}}");
    script(f, "GET", DB "/_api/document/treasury_transfers/tr-1", 200, stored);
    script(f, "PATCH", DB "/_api/document/treasury_transfers/tr-1", 200,
           answer);
    s6_store_transfer_update u = { .status = S6_TRANSFER_SUCCESS,
                                   .reason = "S1 ok", .attempts = 1,
                                   .updated_ms = 1300 };
    RUN(f, g, s6_store_update_transfer(f->st, "tr-1", &u, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.transfer.status, S6_TRANSFER_SUCCESS);
    assert_string_equal(g.transfer.reason, "S1 ok");
    const s6_peer_rec *r = req(f, 1, "PATCH",
                               DB "/_api/document/treasury_transfers/tr-1",
                               "returnNew=true");
    header_is(f, 1, "If-Match", "_h1");
    body_is(r, "{\"status\":\"SUCCESS\",\"attempts\":1,\"updated_ms\":1300,"
               "\"reason\":\"S1 ok\"}");

    /* A finished transfer refuses another outcome before any write. */
    s6_peer_clear(f->peer);
    snprintf(stored, sizeof stored, "{\"transfer_id\":\"tr-1\",\"trigger_id\":"
             "\"trg-1\",\"trigger_type\":\"MARGIN_CALL\",\"from\":\"SPOT\","
             "\"to\":\"FUT\",\"amount\":250.5,\"status\":\"SUCCESS\","
             "\"reason\":\"S1 ok\",\"attempts\":1,\"created_ms\":1000,"
             "\"updated_ms\":1300,\"_rev\":\"_h2\"}");
    script(f, "GET", DB "/_api/document/treasury_transfers/tr-1", 200, stored);
    u.status = S6_TRANSFER_FAILED;
    RUN(f, g, s6_store_update_transfer(f->st, "tr-1", &u, got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "SUCCESS is final"));
    assert_int_equal(s6_peer_count(f->peer), 1); /* no PATCH */

    /* Someone changed it between the read and the write: 412. */
    s6_peer_clear(f->peer);
    script(f, "GET", DB "/_api/document/treasury_transfers/tr-1", 200, stored);
    script(f, "PATCH", DB "/_api/document/treasury_transfers/tr-1", 412,
           "{\"error\":true,\"code\":412,\"errorNum\":1200,\"errorMessage\":"
           "\"conflict, _rev values do not match\"}");
    u.status = S6_TRANSFER_SUCCESS;
    RUN(f, g, s6_store_update_transfer(f->st, "tr-1", &u, got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "HTTP 412, errorNum 1200"));
}

static void missing_documents(void **state)
{
    fx *f = *state;
    got g;
    const char *nf = "{\"error\":true,\"code\":404,\"errorNum\":1202,"
                     "\"errorMessage\":\"document not found\"}";
    script(f, "GET", DB "/_api/document/treasury_transfers/tr-9", 404, nf);
    script(f, "GET", DB "/_api/document/orders/p1-sl-9", 404, nf);
    RUN(f, g, s6_store_get_transfer(f->st, "tr-9", got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_false(g.found);
    RUN(f, g, s6_store_get_order(f->st, "p1-sl-9", got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_false(g.found);
    s6_store_transfer_update u = { .status = S6_TRANSFER_FAILED,
                                   .updated_ms = 5 };
    RUN(f, g, s6_store_update_transfer(f->st, "tr-9", &u, got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ENOTFOUND);
    assert_string_equal(g.msg, "transfer tr-9: not found");
}

static void unfinished_list_follows_the_cursor(void **state)
{
    fx *f = *state;
    got g;
    char first[1024], next[1024];
    snprintf(first, sizeof first, "{\"result\":[%s}],\"hasMore\":true,"
             "\"id\":\"7731\",\"error\":false,\"code\":201}", TR_DOC);
    snprintf(next, sizeof next, "{\"result\":[{\"transfer_id\":\"tr-2\","
             "\"trigger_id\":\"\",\"trigger_type\":\"SCHEDULED\",\"from\":"
             "\"SPOT\",\"to\":\"FUT\",\"amount\":10.0,\"status\":\"SUBMITTED\","
             "\"reason\":\"\",\"attempts\":2,\"created_ms\":2000,"
             "\"updated_ms\":2100}],\"hasMore\":false,\"error\":false,"
             "\"code\":200}");
    script(f, "POST", DB "/_api/cursor", 201, first);
    script(f, "PUT", DB "/_api/cursor/7731", 200, next);
    RUN(f, g, s6_store_list_unfinished_transfers(f->st, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n_list, 2);
    assert_string_equal(g.list[0].transfer_id, "tr-1");
    assert_string_equal(g.list[1].transfer_id, "tr-2");
    assert_int_equal(g.list[1].status, S6_TRANSFER_SUBMITTED);
    body_is(req(f, 0, "POST", DB "/_api/cursor", ""),
            "{\"query\":\"FOR t IN treasury_transfers FILTER t.status IN "
            "@statuses SORT t.created_ms, t.transfer_id RETURN t\","
            "\"bindVars\":{\"statuses\":[\"PENDING\",\"APPROVED\","
            "\"SUBMITTED\"]},\"batchSize\":1000}");
    req(f, 1, "PUT", DB "/_api/cursor/7731", "");
}

static void snapshots_append_and_latest(void **state)
{
    fx *f = *state;
    got g;
    script(f, "POST", DB "/_api/document/positions_snapshots", 202,
           "{\"_key\":\"12345\",\"_id\":\"positions_snapshots/12345\","
           "\"_rev\":\"_a\"}");
    s6_store_snapshot s = { .pos_id = "p1", .symbol = "ETHUSDT",
                            .market = "FUT", .state = "ACTIVE", .side = "SHORT",
                            .qty = 1.5, .entry_px = 3000.25, .mark_px = 2990,
                            .roe = 0.05, .liq_px = 3300, .stop_px = 3010,
                            .stop_step = 1, .ts_ms = 77 };
    RUN(f, g, s6_store_append_snapshot(f->st, &s, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    body_is(req(f, 0, "POST", DB "/_api/document/positions_snapshots", ""),
            "{\"pos_id\":\"p1\",\"symbol\":\"ETHUSDT\",\"market\":\"FUT\","
            "\"state\":\"ACTIVE\",\"side\":\"SHORT\",\"qty\":1.5,"
            "\"entry_px\":3000.25,\"mark_px\":2990.0,\"roe\":0.05,"
            "\"liq_px\":3300.0,\"stop_px\":3010.0,\"stop_step\":1,"
            "\"tp_step\":0,\"adds\":0,\"realized_pnl\":0.0,"
            "\"unrealized_pnl\":0.0,\"plan_id\":\"\",\"ts_ms\":77,"
            "\"rule_versions\":{}}");

    script(f, "POST", DB "/_api/cursor", 201,
           "{\"result\":[{\"_key\":\"12345\",\"pos_id\":\"p1\",\"symbol\":"
           "\"ETHUSDT\",\"market\":\"FUT\",\"state\":\"ACTIVE\",\"side\":"
           "\"SHORT\",\"qty\":1.5,\"entry_px\":3000.25,\"mark_px\":2990.0,"
           "\"roe\":0.05,\"liq_px\":3300.0,\"stop_px\":3010.0,\"stop_step\":1,"
           "\"tp_step\":0,\"adds\":0,\"realized_pnl\":0.0,\"unrealized_pnl\":"
           "0.0,\"plan_id\":\"\",\"ts_ms\":77,\"rule_versions\":{\"x\":\"1\"}}],"
           "\"hasMore\":false}");
    RUN(f, g, s6_store_latest_snapshot(f->st, "p1", got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_true(g.found);
    assert_true(g.snap.entry_px == 3000.25);
    assert_string_equal(g.rule_versions, "{\"x\":\"1\"}");
    body_is(req(f, 1, "POST", DB "/_api/cursor", ""),
            "{\"query\":\"FOR s IN positions_snapshots FILTER s.pos_id == "
            "@pos_id SORT s.ts_ms DESC, TO_NUMBER(s._key) DESC LIMIT 1 "
            "RETURN s\",\"bindVars\":{\"pos_id\":\"p1\"},\"batchSize\":1000}");
}

static const char ORDER_DOC[] =
    "{\"intent_id\":\"p1-sl-1\",\"pos_id\":\"p1\",\"kind\":\"STOP\","
    "\"status\":\"ACKED\",\"s4_order_id\":\"s4-9\",\"price\":100.5,"
    "\"qty\":2.0,\"created_ms\":10,\"updated_ms\":20,\"_rev\":\"_o1\"}";

static const char EVENT_ANSWER[] =
    "{\"_key\":\"41\",\"_id\":\"order_events/41\",\"_rev\":\"_e1\"}";

static void order_upsert_inserts_or_patches(void **state)
{
    fx *f = *state;
    got g;
    char answer[512];
    s6_store_order o = { .intent_id = "p1-sl-1", .pos_id = "p1",
                         .kind = "STOP", .status = "NEW", .price = 100.5,
                         .qty = 2, .created_ms = 10, .updated_ms = 10,
                         .symbol = "BTCUSDT" };
    /* Absent: inserted with its key. */
    script(f, "GET", DB "/_api/document/orders/p1-sl-1", 404,
           "{\"error\":true,\"code\":404,\"errorNum\":1202}");
    snprintf(answer, sizeof answer, "{\"new\":%s}", ORDER_DOC);
    script(f, "POST", DB "/_api/document/orders", 201, answer);
    script(f, "POST", DB "/_api/document/order_events", 202, EVENT_ANSWER);
    RUN(f, g, s6_store_upsert_order(f->st, &o, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    body_is(req(f, 1, "POST", DB "/_api/document/orders", "returnNew=true"),
            "{\"intent_id\":\"p1-sl-1\",\"pos_id\":\"p1\",\"kind\":\"STOP\","
            "\"status\":\"NEW\",\"s4_order_id\":\"\",\"price\":100.5,"
            "\"qty\":2.0,\"created_ms\":10,\"updated_ms\":10,"
            "\"_key\":\"p1-sl-1\"}");
    /* then the event, appended: no key, no If-Match */
    body_is(req(f, 2, "POST", DB "/_api/document/order_events", ""),
            "{\"intent_id\":\"p1-sl-1\",\"pos_id\":\"p1\","
            "\"symbol\":\"BTCUSDT\",\"kind\":\"STOP\",\"status\":\"NEW\","
            "\"price\":100.5,\"qty\":2.0,\"ts_ms\":10}");
    assert_null(s6_peer_header(f->peer, 2, "If-Match"));
    assert_int_equal(s6_peer_count(f->peer), 3);

    /* Present: patched; created_ms and an empty S4 id are not sent. */
    s6_peer_clear(f->peer);
    script(f, "GET", DB "/_api/document/orders/p1-sl-1", 200, ORDER_DOC);
    script(f, "PATCH", DB "/_api/document/orders/p1-sl-1", 200, answer);
    script(f, "POST", DB "/_api/document/order_events", 202, EVENT_ANSWER);
    strcpy(o.status, "CANCELED");
    o.updated_ms = 30;
    RUN(f, g, s6_store_upsert_order(f->st, &o, got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.order.s4_order_id, "s4-9");
    header_is(f, 1, "If-Match", "_o1");
    body_is(req(f, 1, "PATCH", DB "/_api/document/orders/p1-sl-1",
                "returnNew=true"),
            "{\"status\":\"CANCELED\",\"price\":100.5,\"qty\":2.0,"
            "\"updated_ms\":30}");
    body_is(req(f, 2, "POST", DB "/_api/document/order_events", ""),
            "{\"intent_id\":\"p1-sl-1\",\"pos_id\":\"p1\","
            "\"symbol\":\"BTCUSDT\",\"kind\":\"STOP\","
            "\"status\":\"CANCELED\",\"price\":100.5,\"qty\":2.0,"
            "\"ts_ms\":30}");

    /* The key stored for another position: refused, nothing written. */
    s6_peer_clear(f->peer);
    strcpy(o.pos_id, "p9");
    RUN(f, g, s6_store_upsert_order(f->st, &o, got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ECONFLICT);
    assert_non_null(strstr(g.msg, "refused for pos_id p9"));
    assert_int_equal(s6_peer_count(f->peer), 1);
}

/* The orders document moved but its event was refused: the upsert says
 * so, naming the step, and a read of the life pages through the cursor
 * in key order. */
static void order_events_append_and_read(void **state)
{
    fx *f = *state;
    got g;
    char answer[512];
    s6_store_order o = { .intent_id = "p1-sl-1", .pos_id = "p1",
                         .kind = "STOP", .status = "ACKED", .price = 100.5,
                         .qty = 2, .created_ms = 10, .updated_ms = 20 };
    snprintf(answer, sizeof answer, "{\"new\":%s}", ORDER_DOC);
    script(f, "GET", DB "/_api/document/orders/p1-sl-1", 404,
           "{\"error\":true,\"code\":404,\"errorNum\":1202}");
    script(f, "POST", DB "/_api/document/orders", 201, answer);
    script(f, "POST", DB "/_api/document/order_events", 507,
           "{\"error\":true,\"code\":507,\"errorNum\":32,"
           "\"errorMessage\":\"disk full\"}");
    RUN(f, g, s6_store_upsert_order(f->st, &o, got_done, &g, &e_));
    assert_int_equal(g.rc, S6_EFULL);
    assert_string_equal(g.msg, "arangodb append order event: HTTP 507, "
                               "errorNum 32: disk full");

    s6_peer_clear(f->peer);
    static const char first[] =
        "{\"result\":[{\"_key\":\"7\",\"intent_id\":\"p1-sl-1\","
        "\"pos_id\":\"p1\",\"symbol\":\"BTCUSDT\",\"kind\":\"STOP\","
        "\"status\":\"SENT\",\"price\":100.5,\"qty\":2,\"ts_ms\":10}],"
        "\"hasMore\":true,\"id\":\"88\",\"error\":false,\"code\":201}";
    static const char next[] =
        "{\"result\":[{\"_key\":\"12\",\"intent_id\":\"p1-sl-1\","
        "\"pos_id\":\"p1\",\"symbol\":\"BTCUSDT\",\"kind\":\"STOP\","
        "\"status\":\"ACKED\",\"price\":100.5,\"qty\":2,\"ts_ms\":20}],"
        "\"hasMore\":false,\"error\":false,\"code\":200}";
    script(f, "POST", DB "/_api/cursor", 201, first);
    script(f, "PUT", DB "/_api/cursor/88", 200, next);
    RUN(f, g, s6_store_order_events(f->st, "p1-sl-1", got_done, &g, &e_));
    assert_int_equal(g.rc, 0);
    assert_true(g.found);
    assert_int_equal(g.n_events, 2);
    assert_int_equal(g.events[0].seq, 7);
    assert_string_equal(g.events[0].status, "SENT");
    assert_int_equal(g.events[1].seq, 12);
    assert_string_equal(g.events[1].status, "ACKED");
    assert_int_equal(g.events[1].ts_ms, 20);
    body_is(req(f, 0, "POST", DB "/_api/cursor", ""),
            "{\"query\":\"FOR e IN order_events FILTER e.intent_id == "
            "@intent_id SORT TO_NUMBER(e._key) RETURN e\",\"bindVars\":"
            "{\"intent_id\":\"p1-sl-1\"},\"batchSize\":1000}");
    req(f, 1, "PUT", DB "/_api/cursor/88", "");

    /* a key from another generator cannot order the life: refused */
    s6_peer_clear(f->peer);
    script(f, "POST", DB "/_api/cursor", 201,
           "{\"result\":[{\"_key\":\"a7\",\"intent_id\":\"p1-sl-1\","
           "\"pos_id\":\"p1\",\"symbol\":\"\",\"kind\":\"STOP\","
           "\"status\":\"SENT\",\"price\":1,\"qty\":2,\"ts_ms\":10}],"
           "\"hasMore\":false,\"error\":false,\"code\":201}");
    RUN(f, g, s6_store_order_events(f->st, "p1-sl-1", got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ECORRUPT);
    assert_non_null(strstr(g.msg, "_key a7 is not a number"));
}

static void failures_map_to_store_errors(void **state)
{
    fx *f = *state;
    got g;
    script(f, "GET", DB "/_api/document/treasury_transfers/tr-1", 503,
           "{\"error\":true,\"code\":503,\"errorNum\":503,\"errorMessage\":"
           "\"service unavailable\"}");
    RUN(f, g, s6_store_get_transfer(f->st, "tr-1", got_done, &g, &e_));
    assert_int_equal(g.rc, S6_EBUSY);
    assert_string_equal(g.msg, "arangodb get transfer: HTTP 503, errorNum "
                               "503: service unavailable");

    s6_peer_step reset = { .action = S6_PEER_RESET };
    s6_peer_script(f->peer, "GET", DB "/_api/document/orders/o-1", &reset, 1);
    RUN(f, g, s6_store_get_order(f->st, "o-1", got_done, &g, &e_));
    assert_int_equal(g.rc, S6_EIO);
    assert_non_null(strstr(g.msg, "arangodb get order: "));

    script(f, "GET", DB "/_api/document/orders/o-2", 200, "{\"pos_id\":1}");
    RUN(f, g, s6_store_get_order(f->st, "o-2", got_done, &g, &e_));
    assert_int_equal(g.rc, S6_ECORRUPT);
    assert_non_null(strstr(g.msg, "stored order: field intent_id missing"));
}

static void close_completes_what_is_in_flight(void **state)
{
    fx *f = *state;
    got g = { 0 };
    s6_store_err e;
    s6_peer_step stall = { .action = S6_PEER_STALL };
    s6_peer_script(f->peer, "GET", DB "/_api/document/orders/o-1", &stall, 1);
    assert_int_equal(s6_store_get_order(f->st, "o-1", got_done, &g, &e), 0);
    while (s6_peer_waiting(f->peer) == 0) /* the request reached the peer */
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(g.calls, 0);
    s6_store_close(f->st);
    f->st = NULL;
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rc, S6_ECLOSED);
    assert_string_equal(g.msg, "arangodb get order: store closed");
}

static void bad_options_are_refused(void **state)
{
    fx *f = *state;
    s6_store *st = NULL;
    s6_store_err e;
    s6_store_arango_opts o = { .base_url = "127.0.0.1:8529", .database = "s6" };
    assert_int_equal(s6_store_open_arangodb(&o, f->http, &st, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "base_url: must start with http:// or https://");
    o.base_url = "http://127.0.0.1:8529/";
    assert_int_equal(s6_store_open_arangodb(&o, f->http, &st, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "base_url: no trailing '/'");
    o.base_url = "http://127.0.0.1:8529";
    o.database = "a/b";
    assert_int_equal(s6_store_open_arangodb(&o, f->http, &st, &e),
                     S6_EINVAL);
    assert_string_equal(e.msg, "database: missing or not a plain name");
    assert_null(st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(create_transfer_posts_the_document),
        T(create_existing_transfer_returns_the_stored_row),
        T(update_transfer_reads_then_patches_with_if_match),
        T(missing_documents),
        T(unfinished_list_follows_the_cursor),
        T(snapshots_append_and_latest),
        T(order_upsert_inserts_or_patches),
        T(order_events_append_and_read),
        T(failures_map_to_store_errors),
        T(close_completes_what_is_in_flight),
        T(bad_options_are_refused),
    };
    int failed = contract_run(&ARANGO_BACKEND);
    return failed + cmocka_run_group_tests_name("store_arangodb", tests, NULL,
                                                NULL);
}
