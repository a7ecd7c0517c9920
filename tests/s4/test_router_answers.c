/* test_router_answers.c — the router's reading of answers a real S4 never
 * should give (another intent, a redirect, no body, 429, resets), scripted
 * with the generic HTTP peer; and the S4 peer's own checks of a request. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "peer.h"
#include "s4_fixture.h"

typedef struct scripted {
    uv_loop_t loop;
    s6_httpc *httpc;
    s6_peer *peer;
    s6_config cfg;
    s6_metrics *metrics;
    s6_s4_router *router;
    s6_router edge;
    int outcome;
    char detail[200];
    bool done;
} scripted;

static void on_done(void *ud, const char *intent, int outcome,
                    const char *detail)
{
    (void)intent;
    scripted *s = ud;
    s->done = true;
    s->outcome = outcome;
    snprintf(s->detail, sizeof s->detail, "%s", detail);
}

static void on_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(bool *)ud = true;
}

/* One order against a peer answering with steps; its outcome. */
static void run(scripted *s, const s6_peer_step *steps, size_t n)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(uv_loop_init(&s->loop), 0);
    assert_int_equal(s6_httpc_new(&s->httpc, &s->loop, NULL, NULL), 0);
    assert_int_equal(s6_peer_new(&s->peer, &s->loop), 0);
    assert_int_equal(s6_peer_script(s->peer, "POST", "/orders", steps, n), 0);
    char url[64], text[512];
    s6_peer_url(s->peer, "", url, sizeof url);
    snprintf(text, sizeof text,
             "{\"services\":{\"s4_url\":\"%s\",\"request_timeout_ms\":300},"
             "\"orders\":%s}", url, FX_FAST);
    s6_config_error e;
    assert_int_equal(s6_config_load_text(text, "t.json", &s->cfg, &e), 0);
    assert_int_equal(s6_metrics_new_service(&s->metrics), 0);
    char err[200];
    assert_int_equal(s6_s4_router_new(&s->loop, s->httpc, &s->cfg, NULL,
                                      s->metrics, &s->router, err,
                                      sizeof err), 0);
    s6_s4_router_set_seed(s->router, 7);
    s6_s4_router_edge(s->router, &s->edge);
    s6_order o;
    fx_order(&o, "p1-tp-1", "BTCUSDT", S6_PURPOSE_TP, S6_ORDER_MARKET);
    assert_int_equal(s->edge.submit(s->edge.ud, &o, on_done, s), 0);
    while (!s->done)
        uv_run(&s->loop, UV_RUN_ONCE);
}

static double errors(scripted *s, const char *kind)
{
    s6_counter *c;
    s6_counter_get(s->metrics, "s6_s4_request_errors_total", 2,
                   S6_LABELS("orders", kind), &c);
    return s6_counter_value(c);
}

static void finish(scripted *s)
{
    s6_s4_router_free(s->router);
    bool closed = false;
    s6_httpc_shutdown(s->httpc, on_closed, &closed);
    while (!closed)
        uv_run(&s->loop, UV_RUN_ONCE);
    s6_httpc_free(s->httpc);
    s6_peer_free(s->peer);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    s6_metrics_free(s->metrics);
    s6_config_free(&s->cfg);
}

static void answer_for_another_intent_fails(void **state)
{
    (void)state;
    scripted s;
    s6_peer_step st = { .status = 201, .body =
        "{\"intent_id\":\"p9-tp-1\",\"order_id\":\"o-1\",\"status\":\"NEW\"}" };
    run(&s, &st, 1);
    assert_int_equal(s.outcome, S6_ROUTE_FAILED);
    assert_string_equal(s.detail, "answer names intent p9-tp-1");
    assert_true(errors(&s, "bad_response") == 1);
    finish(&s);
}

static void taken_without_a_body_is_ok(void **state)
{
    (void)state;
    scripted s;
    s6_peer_step st = { .status = 201 };
    run(&s, &st, 1);
    assert_int_equal(s.outcome, S6_ROUTE_OK);
    assert_string_equal(s.detail, "order_id=? status=?");
    finish(&s);
}

/* 429 is S4's rate limit, not a verdict: retried like a 5xx. */
static void too_many_requests_is_retried(void **state)
{
    (void)state;
    scripted s;
    s6_peer_step st[] = { { .status = 429 }, { .status = 429 },
                          { .status = 200, .body = "{\"order_id\":\"o-2\"}" } };
    run(&s, st, 3);
    assert_int_equal(s.outcome, S6_ROUTE_OK);
    assert_int_equal(s6_peer_count(s.peer), 3);
    finish(&s);

    s6_peer_step always = { .status = 429 };
    run(&s, &always, 1);
    assert_int_equal(s.outcome, S6_ROUTE_FAILED);
    assert_string_equal(s.detail, "http 429 after 4 attempt(s)");
    assert_true(errors(&s, "http_4xx") == 1);
    finish(&s);
}

static void refusal_without_an_error_body(void **state)
{
    (void)state;
    scripted s;
    s6_peer_step st = { .status = 400, .body = "bad", .content_type =
                        "text/plain" };
    run(&s, &st, 1);
    assert_int_equal(s.outcome, S6_ROUTE_REJECTED);
    assert_string_equal(s.detail, "http 400");
    assert_int_equal(s6_peer_count(s.peer), 1);
    finish(&s);
}

static void redirect_is_a_failure(void **state)
{
    (void)state;
    scripted s;
    s6_peer_step st = { .status = 302, .header = "Location: /elsewhere" };
    run(&s, &st, 1);
    assert_int_equal(s.outcome, S6_ROUTE_FAILED);
    assert_string_equal(s.detail, "http 302 after 1 attempt(s)");
    assert_int_equal(s6_peer_count(s.peer), 1); /* not retried, not followed */
    finish(&s);
}

static void resets_fail_after_the_retries(void **state)
{
    (void)state;
    scripted s;
    s6_peer_step st = { .action = S6_PEER_RESET };
    run(&s, &st, 1);
    assert_int_equal(s.outcome, S6_ROUTE_FAILED);
    assert_non_null(strstr(s.detail, "after 4 attempt(s)"));
    assert_int_equal(s6_peer_count(s.peer), 4);
    assert_true(errors(&s, "connect") == 1);
    finish(&s);
}

typedef struct raw {
    bool done;
    int status;
    char body[256];
} raw;

static void on_raw(const s6_httpc_result *r, void *ud)
{
    raw *g = ud;
    g->done = true;
    g->status = r->status;
    snprintf(g->body, sizeof g->body, "%s", r->body);
}

/* The S4 peer refuses what S4 would: a key that is not the intent, a
 * missing field (named). */
static void s4_peer_checks_requests(void **state)
{
    (void)state;
    fx f;
    fx_start(&f, FX_FAST);
    char url[128];
    s6_s4_peer_url(f.peer, url, sizeof url);
    strcat(url, "/orders");
    static const struct {
        const char *key, *body, *answer;
    } cases[] = {
        { "Idempotency-Key: other",
          "{\"intent_id\":\"p1-tp-1\",\"pos_id\":\"p1\",\"symbol\":\"BTCUSDT\","
          "\"market\":\"FUT\",\"side\":\"SELL\",\"type\":\"MARKET\","
          "\"quantity\":\"0.010\",\"reduce_only\":true,\"purpose\":\"tp\"}",
          "idempotency_key_mismatch" },
        { "Idempotency-Key: p1-tp-1",
          "{\"intent_id\":\"p1-tp-1\",\"pos_id\":\"p1\",\"symbol\":\"BTCUSDT\","
          "\"market\":\"FUT\",\"side\":\"SELL\",\"type\":\"MARKET\","
          "\"reduce_only\":true,\"purpose\":\"tp\"}",
          "\"message\":\"quantity\"" },
        { "Idempotency-Key: p1-sl-1",
          "{\"intent_id\":\"p1-sl-1\",\"pos_id\":\"p1\",\"symbol\":\"BTCUSDT\","
          "\"market\":\"FUT\",\"side\":\"SELL\",\"type\":\"STOP_MARKET\","
          "\"quantity\":\"0.010\",\"stop_price\":\"63000.0\","
          "\"reduce_only\":true,\"purpose\":\"sl\"}",
          "\"message\":\"working_type\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *h[] = { cases[i].key };
        s6_httpc_opts o = { .method = "POST", .url = url, .headers = h,
                            .n_headers = 1, .body = cases[i].body,
                            .body_len = strlen(cases[i].body) };
        raw got = { 0 };
        assert_int_equal(s6_httpc_request(f.httpc, &o, on_raw, &got, NULL), 0);
        while (!got.done)
            uv_run(&f.loop, UV_RUN_ONCE);
        assert_int_equal(got.status, 400);
        if (!strstr(got.body, cases[i].answer))
            fail_msg("case %zu: %s", i, got.body);
    }
    assert_int_equal(s6_s4_peer_count(f.peer, S6_S4P_REQUESTS), 3);
    assert_int_equal(s6_s4_peer_count(f.peer, S6_S4P_ORDERS), 0);
    fx_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answer_for_another_intent_fails),
        cmocka_unit_test(taken_without_a_body_is_ok),
        cmocka_unit_test(too_many_requests_is_retried),
        cmocka_unit_test(refusal_without_an_error_body),
        cmocka_unit_test(redirect_is_a_failure),
        cmocka_unit_test(resets_fail_after_the_retries),
        cmocka_unit_test(s4_peer_checks_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
