/* The outbound client against the scriptable peer (tests/support/peer.h),
 * both on one libuv loop over loopback.  Every wait is for an event,
 * bounded by a guard timer; a blocked loop would show as the peer never
 * answering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpc/httpc.h"
#include "peer.h"

enum { GUARD_MS = 10000, MAX_GOT = 256 };

/* What one request's callback saw. */
typedef struct got {
    int calls;
    s6_httpc_err err;
    int status;
    char body[2048];
    char trace[64];   /* the kept X-Trace header */
    unsigned attempts;
    bool reused;
    uint64_t at_ms;
} got;

typedef struct fx {
    uv_loop_t loop;
    s6_peer *peer;
    s6_httpc *c;
    s6_log log;
    int retries;        /* "retrying" lines logged */
    char last_line[512];
    got g[MAX_GOT];
    char url[128];
} fx;

static void on_line(void *ud, const char *line, size_t len)
{
    fx *f = ud;
    snprintf(f->last_line, sizeof f->last_line, "%.*s", (int)len, line);
    if (strstr(f->last_line, "\"msg\":\"retrying\"") != NULL)
        f->retries++;
}

/* ---- waiting on the loop ---- */

static void on_guard(uv_timer_t *t) { *(bool *)t->data = true; }

static bool run_until(uv_loop_t *loop, bool (*done)(const void *),
                      const void *arg)
{
    uv_timer_t guard;
    bool expired = false;
    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (!done(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return done(arg);
}

static bool called(const void *g) { return ((const got *)g)->calls > 0; }

static bool flag_set(const void *b) { return *(const bool *)b; }

static bool int_set(const void *n) { return *(const int *)n > 0; }

typedef struct waiting_arg {
    const s6_peer *peer;
    size_t n;
} waiting_arg;

static bool peer_waiting(const void *a)
{
    const waiting_arg *w = a;
    return s6_peer_waiting(w->peer) >= w->n;
}

static void on_result(const s6_httpc_result *r, void *ud)
{
    got *g = ud;
    g->calls++;
    g->err = r->err;
    g->status = r->status;
    g->attempts = r->attempts;
    g->reused = r->reused;
    snprintf(g->body, sizeof g->body, "%s", r->body);
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, "X-Trace") == 0)
            snprintf(g->trace, sizeof g->trace, "%s", r->headers[i].value);
}

/* ---- fixture ---- */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (f == NULL || uv_loop_init(&f->loop) != 0)
        return -1;
    s6_log_init(&f->log, S6_LOG_INFO);
    s6_log_set_sink(&f->log, on_line, f);
    if (s6_peer_new(&f->peer, &f->loop) < 0 ||
        s6_httpc_new(&f->c, &f->loop, NULL, &f->log) < 0)
        return -1;
    *state = f;
    return 0;
}

static void on_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(bool *)ud = true;
}

static void close_client(fx *f)
{
    bool closed = false;
    s6_httpc_shutdown(f->c, on_closed, &closed);
    assert_true(run_until(&f->loop, flag_set, &closed));
    s6_httpc_free(f->c);
    f->c = NULL;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->c != NULL)
        close_client(f);
    s6_peer_free(f->peer);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    free(f);
    return rc == 0 ? 0 : -1;
}

static const char *url(fx *f, const char *path)
{
    return s6_peer_url(f->peer, path, f->url, sizeof f->url);
}

static void script1(fx *f, const char *method, const char *path,
                    s6_peer_step s)
{
    assert_int_equal(s6_peer_script(f->peer, method, path, &s, 1), 0);
}

/* Sends one request and waits for its callback. */
static got *call(fx *f, const s6_httpc_opts *o, got *g)
{
    assert_int_equal(s6_httpc_request(f->c, o, on_result, g, NULL), 0);
    assert_true(run_until(&f->loop, called, g));
    assert_int_equal(g->calls, 1);
    return g;
}

/* ---- requests and responses ---- */

static void get_and_post_json(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/positions", (s6_peer_step){
        .body = "{\"n\":2}", .header = "X-Trace: abc-1" });
    script1(f, "POST", "/orders", (s6_peer_step){
        .status = 201, .body = "{\"accepted\":true}" });

    const char *gh[] = { "Authorization: Bearer t0k" };
    const char *keep[] = { "X-Trace", "X-Absent" };
    got *g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = url(f, "/positions?limit=5"), .headers = gh, .n_headers = 1,
        .keep_headers = keep, .n_keep_headers = 2 }, &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_OK);
    assert_int_equal(g->status, 200);
    assert_string_equal(g->body, "{\"n\":2}");
    assert_string_equal(g->trace, "abc-1");

    const char body[] = "{\"symbol\":\"BTCUSDT\",\"qty\":\"0.010\"}";
    const char *ph[] = { "Idempotency-Key: p1-stop-7" };
    g = call(f, &(s6_httpc_opts){ .method = "POST", .url = url(f, "/orders"),
        .headers = ph, .n_headers = 1, .body = body,
        .body_len = strlen(body) }, &f->g[1]);
    assert_int_equal(g->status, 201);
    assert_string_equal(g->body, "{\"accepted\":true}");

    assert_int_equal(s6_peer_count(f->peer), 2);
    const s6_peer_rec *r = s6_peer_get(f->peer, 0);
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->path, "/positions");
    assert_string_equal(r->query, "limit=5");
    assert_string_equal(s6_peer_header(f->peer, 0, "authorization"),
                        "Bearer t0k");
    r = s6_peer_get(f->peer, 1);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->body, body);
    assert_string_equal(s6_peer_header(f->peer, 1, "Content-Type"),
                        "application/json");
    assert_string_equal(s6_peer_header(f->peer, 1, "Idempotency-Key"),
                        "p1-stop-7");
    /* The second request went over the first one's connection. */
    assert_true(f->g[1].reused);
}

static void error_statuses_are_responses(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/missing", (s6_peer_step){ .status = 404,
        .body = "{\"error\":\"nope\"}" });
    script1(f, "POST", "/busy", (s6_peer_step){ .status = 503 });
    got *g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = url(f, "/missing") }, &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_OK);
    assert_int_equal(g->status, 404);
    assert_string_equal(g->body, "{\"error\":\"nope\"}");
    g = call(f, &(s6_httpc_opts){ .method = "POST", .url = url(f, "/busy"),
        .body = "{}", .body_len = 2 }, &f->g[1]);
    assert_int_equal(g->err, S6_HTTPC_OK);
    assert_int_equal(g->status, 503);
    assert_int_equal(g->attempts, 1);
}

/* A port nobody listens on: bound, read, then closed again. */
static int dead_port(uv_loop_t *loop)
{
    uv_tcp_t t;
    struct sockaddr_in sa;
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_tcp_init(loop, &t);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len), 0);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static void refused_connection(void **state)
{
    fx *f = *state;
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", dead_port(&f->loop));
    got *g = call(f, &(s6_httpc_opts){ .method = "GET", .url = u }, &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_E_REFUSED);
    assert_int_equal(g->status, 0);
}

/* .invalid never resolves (RFC 6761), so the answer is a quick NXDOMAIN
 * from the resolver (or none at all from /etc/hosts). */
static void unknown_host(void **state)
{
    fx *f = *state;
    got *g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = "http://s6-no-such-host.invalid/x", .timeout_ms = 8000 },
        &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_E_DNS);
}

static void dropped_and_reset_connections(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/drop", (s6_peer_step){ .action = S6_PEER_DROP });
    script1(f, "GET", "/reset", (s6_peer_step){ .action = S6_PEER_RESET,
        .delay_ms = 10 });
    got *g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = url(f, "/drop") }, &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_E_RESET);
    g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = url(f, "/reset") }, &f->g[1]);
    assert_int_equal(g->err, S6_HTTPC_E_RESET);
    assert_int_equal(s6_peer_count(f->peer), 2);
}

static void total_timeout_on_stall(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/stall", (s6_peer_step){ .action = S6_PEER_STALL });
    uint64_t t0 = uv_now(&f->loop);
    got *g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = url(f, "/stall"), .timeout_ms = 200 }, &f->g[0]);
    uv_update_time(&f->loop);
    uint64_t took = uv_now(&f->loop) - t0;
    assert_int_equal(g->err, S6_HTTPC_E_TIMEOUT);
    assert_true(took >= 190 && took < 2000);
}

static void body_limit(void **state)
{
    fx *f = *state;
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    script1(f, "GET", "/big", (s6_peer_step){ .body = big,
        .content_type = "text/plain" });
    got *g = call(f, &(s6_httpc_opts){ .method = "GET", .url = url(f, "/big"),
        .max_body = 100 }, &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_E_TOO_LARGE);
    assert_string_equal(g->body, "");
    g = call(f, &(s6_httpc_opts){ .method = "GET", .url = url(f, "/big"),
        .max_body = 1000 }, &f->g[1]);
    assert_int_equal(g->err, S6_HTTPC_OK);
    assert_int_equal(strlen(g->body), 1000);
}

/* ---- cancel and shutdown ---- */

static void cancel_in_flight(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/stall", (s6_peer_step){ .action = S6_PEER_STALL });
    uint64_t id = 0;
    assert_int_equal(s6_httpc_request(f->c, &(s6_httpc_opts){
        .method = "GET", .url = url(f, "/stall") }, on_result, &f->g[0], &id), 0);
    assert_true(run_until(&f->loop, peer_waiting,
                          &(waiting_arg){ f->peer, 1 }));
    assert_int_equal(s6_httpc_pending(f->c), 1);
    assert_int_equal(s6_httpc_cancel(f->c, id), 0);
    assert_int_equal(f->g[0].calls, 1);
    assert_int_equal(f->g[0].err, S6_HTTPC_E_CANCELLED);
    assert_int_equal(s6_httpc_cancel(f->c, id), -ENOENT);
    assert_int_equal(s6_httpc_pending(f->c), 0);
    /* The loop keeps going and nothing calls back a second time. */
    script1(f, "GET", "/ok", (s6_peer_step){ .body = "{}" });
    got *g = call(f, &(s6_httpc_opts){ .method = "GET", .url = url(f, "/ok") },
                  &f->g[1]);
    assert_int_equal(g->status, 200);
    assert_int_equal(f->g[0].calls, 1);
}

static void shutdown_with_requests_in_flight(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/stall", (s6_peer_step){ .action = S6_PEER_STALL });
    script1(f, "GET", "/busy", (s6_peer_step){ .status = 503 });
    for (int i = 0; i < 5; i++)
        assert_int_equal(s6_httpc_request(f->c, &(s6_httpc_opts){
            .method = "GET", .url = url(f, "/stall") }, on_result, &f->g[i],
            NULL), 0);
    /* One more waits in its backoff when the shutdown comes. */
    s6_httpc_retry rp = { .max_attempts = 5, .base_ms = 60000,
                          .cap_ms = 60000, .seed = 1 };
    assert_int_equal(s6_httpc_request(f->c, &(s6_httpc_opts){
        .method = "GET", .url = url(f, "/busy"), .retry = &rp }, on_result,
        &f->g[5], NULL), 0);
    assert_true(run_until(&f->loop, peer_waiting,
                          &(waiting_arg){ f->peer, 5 }));
    assert_true(run_until(&f->loop, int_set, &f->retries));
    bool closed = false;
    s6_httpc_shutdown(f->c, on_closed, &closed);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(f->g[i].calls, 1);
        assert_int_equal(f->g[i].err, S6_HTTPC_E_SHUTDOWN);
    }
    assert_int_equal(s6_httpc_request(f->c, &(s6_httpc_opts){
        .method = "GET", .url = url(f, "/stall") }, on_result, &f->g[6],
        NULL), -ESHUTDOWN);
    assert_true(run_until(&f->loop, flag_set, &closed));
    for (int i = 0; i < 7; i++)
        assert_int_equal(f->g[i].calls, i < 6 ? 1 : 0);
    s6_httpc_free(f->c);
    f->c = NULL;
}

/* ---- load ---- */

typedef struct count_arg {
    const got *g;
    int n;
} count_arg;

static bool all_called(const void *a)
{
    const count_arg *c = a;
    for (int i = 0; i < c->n; i++)
        if (c->g[i].calls == 0)
            return false;
    return true;
}

static void two_hundred_concurrent(void **state)
{
    fx *f = *state;
    script1(f, "POST", "/orders", (s6_peer_step){ .status = 201,
        .body = "{\"ok\":true}" });
    char body[64];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(body, sizeof body, "{\"i\":%d}", i);
        assert_int_equal(s6_httpc_request(f->c, &(s6_httpc_opts){
            .method = "POST", .url = url(f, "/orders"), .body = body,
            .body_len = (size_t)n }, on_result, &f->g[i], NULL), 0);
    }
    assert_int_equal(s6_httpc_pending(f->c), 200);
    assert_true(run_until(&f->loop, all_called, &(count_arg){ f->g, 200 }));
    for (int i = 0; i < 200; i++) {
        assert_int_equal(f->g[i].calls, 1);
        assert_int_equal(f->g[i].status, 201);
    }
    assert_int_equal(s6_peer_count(f->peer), 200);
    /* Each body arrived once: the sum of 0..199. */
    long sum = 0;
    for (size_t i = 0; i < 200; i++)
        sum += atol(s6_peer_get(f->peer, i)->body + 5);
    assert_int_equal(sum, 199 * 200 / 2);
    assert_int_equal(s6_httpc_pending(f->c), 0);
}

/* A 20 ms uv timer keeps its schedule while a 600 ms request is pending. */
typedef struct ticker {
    uv_timer_t t;
    uint64_t last, max_gap;
    int ticks;
} ticker;

static void on_tick(uv_timer_t *t)
{
    ticker *k = (ticker *)t;
    uint64_t now = uv_now(t->loop);
    if (k->ticks++ > 0 && now - k->last > k->max_gap)
        k->max_gap = now - k->last;
    k->last = now;
}

static void loop_never_blocked(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/slow", (s6_peer_step){ .body = "{}",
        .delay_ms = 600 });
    ticker k = { 0 };
    uv_timer_init(&f->loop, &k.t);
    uv_timer_start(&k.t, on_tick, 20, 20);
    got *g = call(f, &(s6_httpc_opts){ .method = "GET",
        .url = url(f, "/slow") }, &f->g[0]);
    uv_close((uv_handle_t *)&k.t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* k lives on this stack */
    assert_int_equal(g->status, 200);
    /* A blocking call would show one gap of ~600 ms; 250 leaves room for
     * a loaded machine without letting a block through. */
    assert_true(k.ticks >= 15);
    assert_true(k.max_gap < 250);
}

/* ---- retries ---- */

static s6_httpc_retry policy(unsigned max)
{
    return (s6_httpc_retry){ .max_attempts = max, .base_ms = 40,
                             .cap_ms = 100, .seed = 42 };
}

static void retry_5xx_then_ok(void **state)
{
    fx *f = *state;
    s6_peer_step steps[] = { { .status = 503 }, { .status = 500 },
                             { .status = 200, .body = "{\"id\":\"o1\"}" } };
    assert_int_equal(s6_peer_script(f->peer, "POST", "/orders", steps, 3), 0);
    s6_httpc_retry rp = policy(5);
    const char *h[] = { "Idempotency-Key: p9-entry-1" };
    got *g = call(f, &(s6_httpc_opts){ .method = "POST",
        .url = url(f, "/orders"), .headers = h, .n_headers = 1,
        .body = "{\"q\":1}", .body_len = 7, .retry = &rp }, &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_OK);
    assert_int_equal(g->status, 200);
    assert_int_equal(g->attempts, 3);
    assert_string_equal(g->body, "{\"id\":\"o1\"}");
    assert_int_equal(s6_peer_count(f->peer), 3);
    /* The same key and body each time, and at least the backoff apart. */
    uint64_t rng = rp.seed;
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(s6_peer_header(f->peer, i, "Idempotency-Key"),
                            "p9-entry-1");
        assert_string_equal(s6_peer_get(f->peer, i)->body, "{\"q\":1}");
        if (i == 0)
            continue;
        unsigned want = s6_httpc_backoff_ms(&rp, (unsigned)i, &rng);
        uint64_t gap = s6_peer_get(f->peer, i)->at_ms -
                       s6_peer_get(f->peer, i - 1)->at_ms;
        assert_true(gap >= want);
    }
}

static void no_retry_on_4xx(void **state)
{
    fx *f = *state;
    s6_peer_step steps[] = { { .status = 400 }, { .status = 200 } };
    assert_int_equal(s6_peer_script(f->peer, "POST", "/orders", steps, 2), 0);
    s6_httpc_retry rp = policy(5);
    got *g = call(f, &(s6_httpc_opts){ .method = "POST",
        .url = url(f, "/orders"), .body = "{}", .body_len = 2, .retry = &rp },
        &f->g[0]);
    assert_int_equal(g->status, 400);
    assert_int_equal(g->attempts, 1);
    assert_int_equal(s6_peer_count(f->peer), 1);
}

static void retry_cap_gives_final_failure(void **state)
{
    fx *f = *state;
    script1(f, "POST", "/orders", (s6_peer_step){ .status = 429 });
    s6_httpc_retry rp = policy(3);
    got *g = call(f, &(s6_httpc_opts){ .method = "POST",
        .url = url(f, "/orders"), .body = "{}", .body_len = 2, .retry = &rp },
        &f->g[0]);
    assert_int_equal(g->err, S6_HTTPC_OK);
    assert_int_equal(g->status, 429);
    assert_int_equal(g->attempts, 3);
    assert_int_equal(s6_peer_count(f->peer), 3);

    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", dead_port(&f->loop));
    rp = policy(2);
    g = call(f, &(s6_httpc_opts){ .method = "GET", .url = u, .retry = &rp },
             &f->g[1]);
    assert_int_equal(g->err, S6_HTTPC_E_REFUSED);
    assert_int_equal(g->attempts, 2);
}

static void cancel_during_backoff(void **state)
{
    fx *f = *state;
    script1(f, "GET", "/busy", (s6_peer_step){ .status = 502 });
    s6_httpc_retry rp = { .max_attempts = 4, .base_ms = 60000,
                          .cap_ms = 60000, .seed = 3 };
    uint64_t id;
    assert_int_equal(s6_httpc_request(f->c, &(s6_httpc_opts){
        .method = "GET", .url = url(f, "/busy"), .retry = &rp }, on_result,
        &f->g[0], &id), 0);
    assert_true(run_until(&f->loop, int_set, &f->retries));
    assert_int_equal(s6_httpc_cancel(f->c, id), 0);
    assert_int_equal(f->g[0].calls, 1);
    assert_int_equal(f->g[0].err, S6_HTTPC_E_CANCELLED);
    assert_int_equal(f->g[0].attempts, 1);
}

static void backoff_is_capped_jittered_and_seeded(void **state)
{
    (void)state;
    s6_httpc_retry p = { .max_attempts = 10, .base_ms = 100, .cap_ms = 1000,
                         .seed = 7 };
    uint64_t a = 7, b = 7, c = 8;
    bool differs = false;
    for (unsigned n = 1; n <= 8; n++) {
        unsigned d = 100u << (n - 1);
        if (d > 1000)
            d = 1000;
        unsigned x = s6_httpc_backoff_ms(&p, n, &a);
        assert_true(x >= d - d / 2 && x <= d);
        assert_int_equal(s6_httpc_backoff_ms(&p, n, &b), x);
        differs |= s6_httpc_backoff_ms(&p, n, &c) != x;
    }
    assert_true(differs);
}

/* ---- bad input ---- */

static void bad_options_refused(void **state)
{
    fx *f = *state;
    const char *crlf[] = { "X-A: 1\r\nX-B: 2" };
    const char *nocolon[] = { "X-A" };
    s6_httpc_retry zero = { 0 };
    const s6_httpc_opts bad[] = {
        { .method = "get", .url = url(f, "/x") },
        { .method = NULL, .url = url(f, "/x") },
        { .method = "GET", .url = "ftp://127.0.0.1/x" },
        { .method = "GET", .url = NULL },
        { .method = "GET", .url = url(f, "/x"), .headers = crlf, .n_headers = 1 },
        { .method = "GET", .url = url(f, "/x"), .headers = nocolon,
          .n_headers = 1 },
        { .method = "POST", .url = url(f, "/x"), .body_len = 3 },
        { .method = "GET", .url = url(f, "/x"), .retry = &zero },
    };
    const char *field[] = { "method", "method", "url", "url", "headers",
                            "headers", "body", "retry" };
    char want[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s6_httpc_request(f->c, &bad[i], on_result, &f->g[0],
                                          NULL), -EINVAL);
        snprintf(want, sizeof want, "\"field\":\"%s\"", field[i]);
        assert_non_null(strstr(f->last_line, want));
    }
    assert_int_equal(s6_httpc_pending(f->c), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->g[0].calls, 0);
    assert_int_equal(s6_peer_count(f->peer), 0);

    s6_httpc *c2 = NULL;
    s6_httpc_limits lim = s6_httpc_limits_default();
    lim.max_body = 0;
    assert_int_equal(s6_httpc_new(&c2, &f->loop, &lim, NULL), -EINVAL);
    assert_null(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_and_post_json, setup, teardown),
        cmocka_unit_test_setup_teardown(error_statuses_are_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_host, setup, teardown),
        cmocka_unit_test_setup_teardown(dropped_and_reset_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(total_timeout_on_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(shutdown_with_requests_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(two_hundred_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(loop_never_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_5xx_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(no_retry_on_4xx, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_cap_gives_final_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_during_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(backoff_is_capped_jittered_and_seeded, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_options_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
