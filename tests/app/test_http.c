/*
 * The HTTP server in-process (the service's own routes plus test routes),
 * reached over real sockets: raw ones where bytes matter (pipelining,
 * malformed input, timeouts) and libcurl where a real client is the point
 * (keep-alive reuse).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "fixture.h"

/* ---- fixtures: the same server with different limits ---- */

static int start_with(void **state, s6_http_limits lim)
{
    fx *f;
    int rc = fx_start(&f, &lim);
    *state = f;
    if (rc < 0) {
        fx_free(f);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    return start_with(state, fx_limits());
}

static int setup_short_timeouts(void **state)
{
    s6_http_limits l = fx_limits();
    l.header_timeout_ms = 200;
    l.idle_timeout_ms = 300;
    return start_with(state, l);
}

static int setup_pipeline_2(void **state)
{
    s6_http_limits l = fx_limits();
    l.max_pipeline = 2;
    return start_with(state, l);
}

static int setup_one_connection(void **state)
{
    s6_http_limits l = fx_limits();
    l.max_connections = 1;
    return start_with(state, l);
}

static int teardown(void **state)
{
    /* nonzero: handles left open on the loop, or a log line not JSON */
    return fx_free(*state) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static void open_conn(tc_conn *c, fx *f)
{
    assert_int_equal(tc_connect(c, f->port), 0);
}

static void request(tc_conn *c, const char *raw, tc_resp *r)
{
    assert_int_equal(tc_sends(c, raw), 0);
    assert_int_equal(tc_read(c, r, 1), 1);
}

static json_t *body_json(const tc_resp *r)
{
    json_error_t err;
    json_t *j = json_loads(r->body, 0, &err);
    if (j == NULL)
        fail_msg("body is not JSON (%s): %s", err.text, r->body);
    return j;
}

/* The error contract: {"error":{"code","message","field"}}. */
static void assert_error(const tc_resp *r, int status, const char *code)
{
    assert_int_equal(r->status, status);
    assert_string_equal(tc_header(r, "Content-Type"), "application/json");
    json_t *j = body_json(r);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_true(json_is_null(json_object_get(e, "field")));
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
}

static void assert_length_matches(const tc_resp *r)
{
    const char *cl = tc_header(r, "Content-Length");
    assert_non_null(cl);
    assert_int_equal(strtoul(cl, NULL, 10), r->body_len);
    assert_null(tc_header(r, "Transfer-Encoding"));
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    s6_buf_append(ud, p, size * n);
    return size * n;
}

static CURL *curl_for(fx *f, const char *path, s6_buf *out)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)TC_GUARD_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    return h;
}

/* ---- tests ---- */

static void health_is_json(void **state)
{
    fx *f = *state;
    s6_buf body = { 0 };
    CURL *h = curl_for(f, "/health", &body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    long code = 0;
    char *ctype = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
    assert_int_equal(code, 200);
    assert_string_equal(ctype, "application/json");
    json_t *j = json_loads(body.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "service")),
                        "s6-position");
    assert_string_equal(json_string_value(json_object_get(j, "version")),
                        S6_TEST_VERSION);
    assert_true(json_is_integer(json_object_get(j, "uptime_s")));
    assert_true(json_integer_value(json_object_get(j, "uptime_s")) >= 0);
    assert_true(json_is_object(json_object_get(j, "checks")));
    json_decref(j);
    curl_easy_cleanup(h);
    s6_buf_free(&body);
}

static void keep_alive_reuses_connection(void **state)
{
    fx *f = *state;
    s6_buf body = { 0 };
    CURL *h = curl_for(f, "/health", &body);
    long connects[2], ports[2], code;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        assert_int_equal(code, 200);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects[i]);
        curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &ports[i]);
    }
    assert_int_equal(connects[0], 1);
    assert_int_equal(connects[1], 0); /* the second request made no new one */
    assert_int_equal(ports[0], ports[1]);
    curl_easy_cleanup(h);
    s6_buf_free(&body);
}

static void two_requests_on_one_socket(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    for (int i = 0; i < 2; i++) {
        request(&c, GET("/health"), &r);
        assert_int_equal(r.status, 200);
        assert_null(tc_header(&r, "Connection"));
        assert_length_matches(&r);
    }
    tc_close(&c);
}

static void pipelined_answers_in_order(void **state)
{
    tc_conn c;
    tc_resp r[3];
    open_conn(&c, *state);
    assert_int_equal(tc_sends(&c, GET("/health") GET("/nope")
                                  "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                  "Content-Length: 5\r\n\r\nhello"), 0);
    assert_int_equal(tc_read(&c, r, 3), 3);
    assert_int_equal(r[0].status, 200);
    assert_error(&r[1], 404, "not_found");
    assert_int_equal(r[2].status, 200);
    json_t *j = body_json(&r[2]);
    assert_string_equal(json_string_value(json_object_get(j, "body")), "hello");
    json_decref(j);
    for (int i = 0; i < 3; i++)
        assert_length_matches(&r[i]);
    tc_close(&c);
}

/* A slow answer holds back the faster one behind it. */
static void async_answer_keeps_order(void **state)
{
    fx *f = *state;
    tc_conn c;
    tc_resp r[2];
    open_conn(&c, f);
    assert_int_equal(tc_sends(&c, GET("/defer") GET("/health")), 0);
    sem_wait(&f->deferred_sem);
    fx_release(f);
    assert_int_equal(tc_read(&c, r, 2), 2);
    assert_int_equal(r[0].status, 200);
    assert_string_equal(r[0].body, "deferred-1");
    assert_string_equal(tc_header(&r[0], "Content-Type"), "text/plain");
    assert_int_equal(r[1].status, 200);
    assert_non_null(strstr(r[1].body, "\"service\":\"s6-position\""));
    tc_close(&c);
}

/* With max_pipeline 2, the server parses no further than two unanswered
 * requests, then catches up as answers leave. */
static void pipeline_limit_applies_backpressure(void **state)
{
    fx *f = *state;
    tc_conn c;
    tc_resp r[2];
    char body[32];
    open_conn(&c, f);
    assert_int_equal(tc_sends(&c, GET("/defer") GET("/defer") GET("/defer")
                                  GET("/defer") GET("/defer")), 0);
    int seq = 0;
    for (int round = 0; round < 3; round++) {
        int batch = round < 2 ? 2 : 1;
        for (int i = 0; i < batch; i++)
            sem_wait(&f->deferred_sem);
        assert_int_equal(fx_ping(f), batch);
        fx_release(f);
        assert_int_equal(tc_read(&c, r, batch), batch);
        for (int i = 0; i < batch; i++) {
            snprintf(body, sizeof body, "deferred-%d", ++seq);
            assert_string_equal(r[i].body, body);
        }
    }
    tc_close(&c);
}

static void unknown_path_is_404(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    request(&c, GET("/positions/nothing/here"), &r);
    assert_error(&r, 404, "not_found");
    request(&c, GET("/health/"), &r); /* exact paths are exact */
    assert_error(&r, 404, "not_found");
    request(&c, GET("/items/"), &r); /* a parameter is never empty */
    assert_error(&r, 404, "not_found");
    tc_close(&c);
}

static void wrong_method_is_405_with_allow(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    request(&c, GET("/echo"), &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_string_equal(tc_header(&r, "Allow"), "POST, PUT");
    request(&c, "DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_string_equal(tc_header(&r, "Allow"), "GET");
    tc_close(&c); /* the connection stayed usable after both */
}

/* The client keeps sending a body far past the limit after the server has
 * refused it; the server must keep reading (lingering) so that the client
 * gets the 413 instead of a reset. */
static void oversized_body_is_413(void **state)
{
    tc_conn c;
    tc_resp r;
    long ms;
    static char big[4 << 20]; /* more than the socket buffers hold */
    memset(big, 'x', sizeof big);
    open_conn(&c, *state);
    assert_int_equal(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                  "Content-Length: 4194304\r\n\r\n"), 0);
    assert_int_equal(tc_send(&c, big, sizeof big), 0);
    assert_int_equal(tc_read(&c, &r, 1), 1);
    assert_error(&r, 413, "body_too_large");
    assert_string_equal(tc_header(&r, "Connection"), "close");
    assert_true(tc_await_close(&c, &ms));
    tc_close(&c);
}

static void oversized_chunked_body_is_413(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    assert_int_equal(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n"), 0);
    char chunk[600 + 16];
    int n = snprintf(chunk, sizeof chunk, "%x\r\n", 600);
    memset(chunk + n, 'y', 600);
    memcpy(chunk + n + 600, "\r\n", 2);
    for (int i = 0; i < 2; i++) /* 1200 bytes against a 1024 limit */
        assert_int_equal(tc_send(&c, chunk, (size_t)n + 602), 0);
    assert_int_equal(tc_read(&c, &r, 1), 1);
    assert_error(&r, 413, "body_too_large");
    assert_true(tc_await_close(&c, NULL));
    tc_close(&c);
}

static void chunked_body_reaches_handler(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    request(&c, "POST /echo?x=1&y=2 HTTP/1.1\r\nHost: t\r\n"
                "Authorization: Bearer s3cret\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "body")),
                        "hello world");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo");
    assert_string_equal(json_string_value(json_object_get(j, "query")),
                        "x=1&y=2");
    assert_string_equal(json_string_value(json_object_get(j, "auth")),
                        "Bearer s3cret");
    json_decref(j);
    tc_close(&c);
}

static void malformed_request_is_400(void **state)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
        "GET /health HTTP/9.9x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
        "\x01\x02\x03 junk\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tc_conn c;
        tc_resp r;
        open_conn(&c, *state);
        assert_int_equal(tc_sends(&c, bad[i]), 0);
        assert_int_equal(tc_read(&c, &r, 1), 1);
        assert_error(&r, 400, "bad_request");
        assert_string_equal(tc_header(&r, "Connection"), "close");
        assert_true(tc_await_close(&c, NULL));
        tc_close(&c);
    }
}

static void oversized_head_is_431(void **state)
{
    tc_conn c;
    tc_resp r;
    static char req[8192];
    int n = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\nX-Big: ");
    memset(req + n, 'z', 5000); /* over the fixture's 4096 */
    memcpy(req + n + 5000, "\r\n\r\n", 5);
    open_conn(&c, *state);
    request(&c, req, &r);
    assert_error(&r, 431, "headers_too_large");
    tc_close(&c);

    s6_buf many = { 0 };
    s6_buf_puts(&many, "GET /health HTTP/1.1\r\n");
    for (int i = 0; i < 70; i++) /* over the default 64 lines */
        s6_buf_printf(&many, "X-H%d: v\r\n", i);
    s6_buf_puts(&many, "\r\n");
    open_conn(&c, *state);
    request(&c, many.data, &r);
    assert_error(&r, 431, "too_many_headers");
    tc_close(&c);
    s6_buf_free(&many);
}

/* A connection that never sends a byte is closed by the header timer. */
static void silent_connection_times_out(void **state)
{
    tc_conn c;
    long ms;
    open_conn(&c, *state);
    assert_true(tc_await_close(&c, &ms));
    assert_true(ms >= 150); /* the 200 ms timer, with clock slack */
    tc_close(&c);

    /* ...and so is one that starts a request but never ends its headers. */
    open_conn(&c, *state);
    assert_int_equal(tc_sends(&c, "GET /health HTTP/1.1\r\nHost: t\r\n"), 0);
    assert_true(tc_await_close(&c, &ms));
    assert_true(ms >= 150);
    tc_close(&c);
}

static void idle_keep_alive_times_out(void **state)
{
    tc_conn c;
    tc_resp r;
    long ms;
    open_conn(&c, *state);
    request(&c, GET("/health"), &r);
    assert_int_equal(r.status, 200);
    assert_true(tc_await_close(&c, &ms));
    assert_true(ms >= 250); /* the 300 ms idle timer */
    tc_close(&c);
}

static void connection_close_is_honoured(void **state)
{
    static const char *const closing[] = {
        "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /health HTTP/1.0\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        tc_conn c;
        tc_resp r;
        open_conn(&c, *state);
        request(&c, closing[i], &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(tc_header(&r, "Connection"), "close");
        assert_true(tc_await_close(&c, NULL));
        tc_close(&c);
    }
}

static void http10_keep_alive_is_confirmed(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    for (int i = 0; i < 2; i++) {
        request(&c, "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(tc_header(&r, "Connection"), "keep-alive");
    }
    tc_close(&c);
}

static void routes_bind_parameters(void **state)
{
    static const struct {
        const char *path, *route, *id, *note;
    } cases[] = {
        { "/items/42", "param", "42", NULL },
        { "/items/special", "exact", NULL, NULL },
        { "/items/7/notes/n-1", "param", "7", "n-1" },
        { "/items/7?verbose=1", "param", "7", NULL },
    };
    tc_conn c;
    tc_resp r;
    char raw[256];
    open_conn(&c, *state);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
                 cases[i].path);
        request(&c, raw, &r);
        assert_int_equal(r.status, 200);
        json_t *j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "route")),
                            cases[i].route);
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *note = json_string_value(json_object_get(j, "note"));
        if (cases[i].id)
            assert_string_equal(id, cases[i].id);
        else
            assert_null(id);
        if (cases[i].note)
            assert_string_equal(note, cases[i].note);
        else
            assert_null(note);
        json_decref(j);
    }
    tc_close(&c);
}

static void request_id_is_echoed_or_made(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    request(&c, "POST /echo HTTP/1.1\r\nX-Request-Id: ui-7.a:b\r\n"
                "Content-Length: 0\r\n\r\n", &r);
    assert_string_equal(tc_header(&r, "X-Request-Id"), "ui-7.a:b");
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "request_id")),
                        "ui-7.a:b");
    json_decref(j);
    /* An id that could break a log line or a header is replaced. */
    request(&c, "POST /echo HTTP/1.1\r\nX-Request-Id: a\"b c\r\n"
                "Content-Length: 0\r\n\r\n", &r);
    const char *made = tc_header(&r, "X-Request-Id");
    assert_non_null(made);
    assert_true(strlen(made) > 0);
    assert_null(strchr(made, '"'));
    tc_close(&c);
}

static void expect_continue_gets_interim(void **state)
{
    tc_conn c;
    tc_resp r;
    open_conn(&c, *state);
    assert_int_equal(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                  "Expect: 100-continue\r\n"
                                  "Content-Length: 4\r\n\r\n"), 0);
    assert_int_equal(tc_read(&c, &r, 1), 1);
    assert_int_equal(r.status, 100);
    request(&c, "ping", &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "body")), "ping");
    json_decref(j);
    tc_close(&c);
}

/* The client leaves while its answer is pending; completing it later must
 * neither crash nor leak (the sanitizer build checks the latter). */
static void answer_after_client_left(void **state)
{
    fx *f = *state;
    tc_conn c;
    open_conn(&c, f);
    assert_int_equal(tc_sends(&c, GET("/defer")), 0);
    sem_wait(&f->deferred_sem);
    tc_close(&c);
    fx_release(f);
    assert_int_equal(fx_ping(f), 0);
    tc_resp r; /* the server still serves others */
    open_conn(&c, f);
    request(&c, GET("/health"), &r);
    assert_int_equal(r.status, 200);
    tc_close(&c);
}

static void graceful_shutdown_finishes_in_flight(void **state)
{
    fx *f = *state;
    tc_conn busy, idle, late;
    tc_resp r;
    open_conn(&idle, f);
    request(&idle, GET("/health"), &r);
    open_conn(&busy, f);
    assert_int_equal(tc_sends(&busy, GET("/defer")), 0);
    sem_wait(&f->deferred_sem);

    fx_stop(f);
    /* Idle keep-alive connections are closed at once... */
    assert_true(tc_await_close(&idle, NULL));
    /* ...the listener is gone (commands run in order, so it is closed
     * before the release below)... */
    fx_release(f);
    assert_int_equal(tc_connect(&late, f->port), -1);
    assert_int_equal(errno, ECONNREFUSED);
    /* ...and the request in flight still gets its answer, then a close. */
    assert_int_equal(tc_read(&busy, &r, 1), 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "deferred-1");
    assert_string_equal(tc_header(&r, "Connection"), "close");
    assert_true(tc_await_close(&busy, NULL));
    tc_close(&busy);
    tc_close(&idle);
    assert_int_equal(fx_join(f), 0); /* every handle closed, loop ended */
}

static void connection_limit_closes_extra(void **state)
{
    fx *f = *state;
    tc_conn first, extra;
    tc_resp r;
    open_conn(&first, f);
    request(&first, GET("/health"), &r); /* accepted and counted */
    open_conn(&extra, f);
    assert_true(tc_await_close(&extra, NULL));
    tc_close(&extra);
    request(&first, GET("/health"), &r);
    assert_int_equal(r.status, 200);
    tc_close(&first);
}

static void noop(s6_http_res *res, const s6_http_req *req, void *ud)
{
    (void)req;
    (void)ud;
    s6_http_res_send(res, 204, NULL, NULL, 0);
}

static void route_table_rejects_bad_patterns(void **state)
{
    (void)state;
    uv_loop_t loop;
    s6_http_server *srv;
    uv_loop_init(&loop);
    assert_int_equal(s6_http_server_new(&srv, &loop, NULL, NULL), 0);
    assert_int_equal(s6_http_route(srv, "GET", "/a/{id}", noop, NULL), 0);
    assert_int_equal(s6_http_route(srv, "GET", "/a/{id}", noop, NULL), -EEXIST);
    assert_int_equal(s6_http_route(srv, "POST", "/a/{id}", noop, NULL), 0);
    static const char *const bad_patterns[] = {
        "a", "/x{id}", "/{id}x", "/{}", "/{id", "/id}", "/{a-b}",
        "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}",
    };
    for (size_t i = 0; i < sizeof bad_patterns / sizeof *bad_patterns; i++)
        assert_int_equal(s6_http_route(srv, "GET", bad_patterns[i], noop, NULL),
                         -EINVAL);
    assert_int_equal(s6_http_route(srv, "get", "/b", noop, NULL), -EINVAL);
    assert_int_equal(s6_http_route(srv, "", "/b", noop, NULL), -EINVAL);
    s6_http_limits bad = s6_http_limits_default();
    bad.max_pipeline = 0;
    s6_http_server *none = NULL;
    assert_int_equal(s6_http_server_new(&none, &loop, &bad, NULL), -EINVAL);
    assert_null(none);
    s6_http_server_free(srv);
    assert_int_equal(uv_loop_close(&loop), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_WITH(fn, su) cmocka_unit_test_setup_teardown(fn, su, teardown)

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        T(health_is_json),
        T(keep_alive_reuses_connection),
        T(two_requests_on_one_socket),
        T(pipelined_answers_in_order),
        T(async_answer_keeps_order),
        T_WITH(pipeline_limit_applies_backpressure, setup_pipeline_2),
        T(unknown_path_is_404),
        T(wrong_method_is_405_with_allow),
        T(oversized_body_is_413),
        T(oversized_chunked_body_is_413),
        T(chunked_body_reaches_handler),
        T(malformed_request_is_400),
        T(oversized_head_is_431),
        T_WITH(silent_connection_times_out, setup_short_timeouts),
        T_WITH(idle_keep_alive_times_out, setup_short_timeouts),
        T(connection_close_is_honoured),
        T(http10_keep_alive_is_confirmed),
        T(routes_bind_parameters),
        T(request_id_is_echoed_or_made),
        T(expect_continue_gets_interim),
        T(answer_after_client_left),
        T(graceful_shutdown_finishes_in_flight),
        T_WITH(connection_limit_closes_extra, setup_one_connection),
        cmocka_unit_test(route_table_rejects_bad_patterns),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
