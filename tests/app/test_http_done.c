/*
 * The completion hook of the HTTP server, seen from outside: one access
 * log line per request (method, path, route, status, duration, request id,
 * the ids a handler noted, the outcome) and the request metrics the
 * service keeps through the hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "client.h"
#include "fixture.h"

static int setup(void **state)
{
    fx *f;
    int rc = fx_start(&f, NULL);
    *state = f;
    return rc < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    return fx_free(*state) == 0 ? 0 : -1;
}

static void exchange(fx *f, const char *raw, int status)
{
    tc_conn c;
    tc_resp r;
    assert_int_equal(tc_connect(&c, f->port), 0);
    assert_int_equal(tc_sends(&c, raw), 0);
    assert_int_equal(tc_read(&c, &r, 1), 1);
    assert_int_equal(r.status, status);
    tc_close(&c);
}

/* The access lines the loop wrote, after the loop has ended. */
static json_t *access_lines(fx *f)
{
    fx_stop(f);
    assert_int_equal(fx_join(f), 0);
    json_t *lines = json_array();
    const char *p = f->log_lines.data ? f->log_lines.data : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_t *j = json_loadb(p, n, 0, NULL);
        assert_non_null(j);
        const char *msg = json_string_value(json_object_get(j, "msg"));
        const char *comp = json_string_value(json_object_get(j, "component"));
        if (strcmp(msg, "request") == 0 && strcmp(comp, "http") == 0)
            json_array_append(lines, j);
        json_decref(j);
        p += n + (nl != NULL);
    }
    return lines;
}

static const char *str(const json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

static json_t *line_where(const json_t *lines, const char *key,
                          const char *value)
{
    size_t i;
    json_t *j;
    json_array_foreach(lines, i, j) {
        const char *v = str(j, key);
        if (v != NULL && strcmp(v, value) == 0)
            return j;
    }
    fail_msg("no access line with %s %s", key, value);
    return NULL;
}

static json_t *line_for(const json_t *lines, const char *request_id)
{
    return line_where(lines, "request_id", request_id);
}

static void one_line_per_request(void **state)
{
    fx *f = *state;
    exchange(f, "GET /health HTTP/1.1\r\nHost: t\r\nX-Request-Id: rq-health\r\n\r\n", 200);
    exchange(f, "POST /noted/p42 HTTP/1.1\r\nHost: t\r\nX-Request-Id: rq-noted\r\n"
                "Content-Length: 0\r\n\r\n", 201);
    exchange(f, "GET /nowhere HTTP/1.1\r\nHost: t\r\nX-Request-Id: rq-404\r\n\r\n", 404);
    /* refused before the headers are read as a request: its own id */
    exchange(f, "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999\r\n\r\n",
             413);
    json_t *lines = access_lines(f);
    assert_int_equal(json_array_size(lines), 4);

    json_t *h = line_for(lines, "rq-health");
    assert_string_equal(str(h, "level"), "info");
    assert_string_equal(str(h, "method"), "GET");
    assert_string_equal(str(h, "path"), "/health");
    assert_string_equal(str(h, "route"), "/health");
    assert_int_equal(json_integer_value(json_object_get(h, "status")), 200);
    assert_true(json_is_number(json_object_get(h, "ms")));
    assert_true(json_number_value(json_object_get(h, "ms")) >= 0);
    assert_string_equal(str(h, "outcome"), "sent");
    assert_null(json_object_get(h, "pos_id"));

    json_t *n = line_for(lines, "rq-noted");
    assert_string_equal(str(n, "route"), "/noted/{id}");
    assert_string_equal(str(n, "path"), "/noted/p42");
    assert_string_equal(str(n, "pos_id"), "p42");
    assert_string_equal(str(n, "plan_id"), "plan-p42");
    assert_string_equal(str(n, "k4"), "v4");
    assert_null(json_object_get(n, "k5"));

    json_t *miss = line_for(lines, "rq-404");
    assert_true(json_is_null(json_object_get(miss, "route")));
    assert_int_equal(json_integer_value(json_object_get(miss, "status")), 404);

    json_t *big = line_where(lines, "method", "PUT");
    assert_int_equal(json_integer_value(json_object_get(big, "status")), 413);
    assert_string_equal(str(big, "outcome"), "sent");
    json_decref(lines);
}

/* A generated request id is logged as the reply's X-Request-Id says. */
static void generated_id_is_logged(void **state)
{
    fx *f = *state;
    tc_conn c;
    tc_resp r;
    assert_int_equal(tc_connect(&c, f->port), 0);
    assert_int_equal(tc_sends(&c, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(&c, &r, 1), 1);
    tc_close(&c);
    char rid[80];
    snprintf(rid, sizeof rid, "%s", tc_header(&r, "X-Request-Id"));
    json_t *lines = access_lines(f);
    assert_int_equal(json_array_size(lines), 1);
    assert_string_equal(str(line_for(lines, rid), "path"), "/health");
    json_decref(lines);
}

static void *first_deferred(fx *f)
{
    return f->ndeferred > 0 ? f->deferred[0] : NULL;
}

typedef struct aborted_probe {
    fx *f;
    bool aborted;
} aborted_probe;

static void probe_aborted(void *ud)
{
    aborted_probe *p = ud;
    s6_http_res *res = first_deferred(p->f);
    p->aborted = res != NULL && s6_http_res_aborted(res);
}

/* An answer completed after its client reset the connection is logged
 * once, as client_gone. */
static void client_gone_is_logged(void **state)
{
    fx *f = *state;
    tc_conn c;
    assert_int_equal(tc_connect(&c, f->port), 0);
    assert_int_equal(tc_sends(&c, "GET /defer HTTP/1.1\r\nHost: t\r\n"
                                  "X-Request-Id: rq-gone\r\n\r\n"), 0);
    sem_wait(&f->deferred_sem);
    struct linger rst = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    tc_close(&c);
    aborted_probe p = { .f = f };
    long deadline = tc_now_ms() + TC_GUARD_MS;
    while (fx_call(f, probe_aborted, &p), !p.aborted)
        assert_true(tc_now_ms() < deadline);
    fx_release(f);
    json_t *lines = access_lines(f);
    assert_int_equal(json_array_size(lines), 1);
    json_t *g = line_for(lines, "rq-gone");
    assert_string_equal(str(g, "outcome"), "client_gone");
    assert_int_equal(json_integer_value(json_object_get(g, "status")), 200);
    json_decref(lines);
}

static void get_metrics(fx *f, tc_resp *r)
{
    tc_conn c;
    assert_int_equal(tc_connect(&c, f->port), 0);
    assert_int_equal(tc_sends(&c, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    assert_int_equal(tc_read(&c, r, 1), 1);
    assert_int_equal(r->status, 200);
    tc_close(&c);
}

/* The value of one sample line of the exposition, or -1 when absent. */
static double sample(const char *text, const char *series)
{
    const char *at = strstr(text, series);
    if (at == NULL || (at != text && at[-1] != '\n'))
        return -1;
    return strtod(at + strlen(series), NULL);
}

/* The hook runs once the answer is written; poll the scrape for it. */
static double await_sample(fx *f, const char *series, double want)
{
    long deadline = tc_now_ms() + TC_GUARD_MS;
    static tc_resp r;
    for (;;) {
        get_metrics(f, &r);
        double v = sample(r.body, series);
        if (v == want || tc_now_ms() > deadline)
            return v;
    }
}

static void requests_are_counted(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 3; i++)
        exchange(f, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 200);
    exchange(f, "GET /items/7 HTTP/1.1\r\nHost: t\r\n\r\n", 200);
    exchange(f, "GET /items/8 HTTP/1.1\r\nHost: t\r\n\r\n", 200);
    exchange(f, "GET /no/such/path HTTP/1.1\r\nHost: t\r\n\r\n", 404);
    exchange(f, "DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n", 405);

    assert_true(await_sample(f, "s6_http_requests_total{route=\"/health\","
                             "method=\"GET\",code=\"200\"} ", 3) == 3);
    /* the pattern, never the id */
    assert_true(await_sample(f, "s6_http_requests_total{route=\"/items/{id}\","
                             "method=\"GET\",code=\"200\"} ", 2) == 2);
    assert_true(await_sample(f, "s6_http_requests_total{route=\"unmatched\","
                             "method=\"GET\",code=\"404\"} ", 1) == 1);
    assert_true(await_sample(f, "s6_http_requests_total{route=\"unmatched\","
                             "method=\"DELETE\",code=\"405\"} ", 1) == 1);
    assert_true(await_sample(f, "s6_http_request_seconds_count{route="
                             "\"/health\"} ", 3) == 3);
    tc_resp r;
    get_metrics(f, &r);
    assert_null(strstr(r.body, "route=\"/items/7\""));
    assert_true(sample(r.body, "s6_http_request_seconds_bucket{route="
                       "\"/health\",le=\"+Inf\"} ") == 3);
    assert_true(sample(r.body, "s6_http_request_seconds_sum{route="
                       "\"/health\"} ") > 0);
}

static void set_warn(void *ud)
{
    ((fx *)ud)->log.level = S6_LOG_WARN;
}

/* At warn the access line goes; the metrics stay. */
static void access_line_follows_the_level(void **state)
{
    fx *f = *state;
    fx_call(f, set_warn, f);
    for (int i = 0; i < 2; i++)
        exchange(f, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 200);
    assert_true(await_sample(f, "s6_http_requests_total{route=\"/health\","
                             "method=\"GET\",code=\"200\"} ", 2) == 2);
    json_t *lines = access_lines(f);
    assert_int_equal(json_array_size(lines), 0);
    json_decref(lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_line_per_request, setup, teardown),
        cmocka_unit_test_setup_teardown(generated_id_is_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(client_gone_is_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(requests_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(access_line_follows_the_level, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
