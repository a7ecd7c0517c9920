/* The treasury's test world (world.h). */
#include "world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

static double clock_now(void *ud) { return ((world *)ud)->now; }

s6_treasury_cfg w_default_cfg(const world *w, bool full_auto)
{
    s6_treasury_cfg c = {
        .enabled = true, .full_auto = full_auto, .min_free_fut = 500,
        .spot_buffer = 100, .max_per_transfer = 1000, .max_per_day = 5000,
        .min_spot_retained = 1000, .profit_ceiling = 10000,
        .interval_s = 300, .approval_poll_s = 0.05,
        .balances_max_age_s = 60, .timeout_ms = 2000,
        .retry_attempts = 3, .retry_base_ms = 5, .retry_cap_ms = 20,
        .answer_wait_ms = 3000};
    for (int i = 0; i < S6_TT_COUNT; i++)
        c.trig[i] = (s6_treasury_trigger_cfg){true, 0, 0};
    c.trig[S6_TT_MARGIN_CALL].threshold = 0.8;
    c.trig[S6_TT_RISK_LIMIT].threshold = 0.9;
    c.trig[S6_TT_PROFIT_TAKING].threshold = 100;
    /* off, as configured by default: enabled, every scheduled run sweeps */
    c.trig[S6_TT_PROFIT_TAKING].enabled = false;
    s6_s1_peer_url(w->s1, c.s1_url, sizeof c.s1_url);
    s6_s12_peer_url(w->s12, c.s12_url, sizeof c.s12_url);
    return c;
}

static void new_treasury(world *w)
{
    /* S6_TEST_LOG=1 shows the treasury's log lines on stderr */
    static s6_log lg;
    s6_log_init(&lg, getenv("S6_TEST_LOG") ? S6_LOG_DEBUG : S6_LOG_OFF);
    s6_treasury_deps d = {
        .loop = &w->loop, .store = w->store, .redis = w->redis,
        .http = w->http, .balances = s6_treasury_redis_balances(w->redis),
        .clock = {clock_now, w}, .metrics = w->metrics, .log = &lg};
    char err[256] = "";
    if (s6_treasury_new(&w->t, &d, &w->cfg, err, sizeof err) != 0)
        fail_msg("s6_treasury_new: %s", err);
    assert_int_equal(s6_treasury_start(w->t), 0);
}

static void trigger_route(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_treasury_http_trigger(((world *)ud)->t, res, req);
}

static void approval_route(s6_http_res *res, const s6_http_req *req, void *ud)
{
    s6_treasury_http_approval(((world *)ud)->t, res, req);
}

void w_setup(world *w, bool full_auto)
{
    memset(w, 0, sizeof *w);
    w->now = W_NOW;
    assert_int_equal(uv_loop_init(&w->loop), 0);
    if (s6test_redis_start(&w->rs) != 0)
        fail_msg("redis-server did not start");
    char err[256];
    if (s6_redis_open(&w->loop, w->rs.url, NULL, &w->redis, err,
                      sizeof err) != 0)
        fail_msg("redis: %s", err);
    snprintf(w->dir, sizeof w->dir, "/tmp/s6-treasury-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->db, sizeof w->db, "%s/history.db", w->dir);
    s6_store_err se;
    if (s6_store_open_sqlite(w->db, &w->store, &se) != 0)
        fail_msg("store: %s", se.msg);
    assert_int_equal(s6_httpc_new(&w->http, &w->loop, NULL, NULL), 0);
    assert_int_equal(s6_metrics_new_service(&w->metrics), 0);
    assert_int_equal(s6_s1_peer_new(&w->s1, &w->loop), 0);
    assert_int_equal(s6_s12_peer_new(&w->s12, &w->loop), 0);
    assert_int_equal(s6_http_server_new(&w->srv, &w->loop, NULL, NULL), 0);
    assert_int_equal(s6_http_route(w->srv, "POST", "/auto-transfer/trigger",
                                   trigger_route, w), 0);
    assert_int_equal(s6_http_route(w->srv, "POST", "/auto-transfer/approval",
                                   approval_route, w), 0);
    assert_int_equal(s6_http_listen(w->srv, "127.0.0.1", 0), 0);
    w->cfg = w_default_cfg(w, full_auto);
    new_treasury(w);
}

static bool treasury_gone;

void w_restart(world *w)
{
    s6_treasury_free(w->t);
    w->t = NULL;
    w_settle(w, 50); /* its callbacks come back; the memory goes */
    /* the store too: what the new object knows comes from the file */
    s6_store_close(w->store);
    s6_store_err se;
    if (s6_store_open_sqlite(w->db, &w->store, &se) != 0)
        fail_msg("store: %s", se.msg);
    new_treasury(w);
}

static bool flag_set(world *w)
{
    (void)w;
    return treasury_gone;
}

static void srv_closed(s6_http_server *s, void *ud)
{
    (void)s;
    (void)ud;
    treasury_gone = true;
}

static void httpc_closed(s6_httpc *c, void *ud)
{
    (void)c;
    (void)ud;
    treasury_gone = true;
}

void w_teardown(world *w)
{
    s6_treasury_free(w->t);
    w_settle(w, 20);
    /* the client first: servers then find no open connection to linger on */
    treasury_gone = false;
    s6_httpc_shutdown(w->http, httpc_closed, NULL);
    assert_true(w_until(w, flag_set, 5000));
    s6_httpc_free(w->http);
    treasury_gone = false;
    s6_http_shutdown(w->srv, srv_closed, NULL);
    assert_true(w_until(w, flag_set, 5000));
    s6_http_server_free(w->srv);
    s6_s1_peer_free(w->s1);
    s6_s12_peer_free(w->s12);
    s6_redis_close(w->redis);
    s6_store_close(w->store);
    s6_metrics_free(w->metrics);
    w_settle(w, 20);
    uv_run(&w->loop, UV_RUN_NOWAIT);
    (void)uv_loop_close(&w->loop);
    s6test_redis_destroy(&w->rs);
    unlink(w->db);
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", w->db);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", w->db);
    unlink(wal);
    rmdir(w->dir);
}

static void wake(uv_timer_t *h) { (void)h; }

bool w_until(world *w, bool (*pred)(world *), unsigned timeout_ms)
{
    uv_timer_t tick;
    uv_timer_init(&w->loop, &tick);
    uv_timer_start(&tick, wake, 5, 5);
    uv_update_time(&w->loop);
    uint64_t end = uv_now(&w->loop) + timeout_ms;
    bool ok;
    while (!(ok = pred(w)) && uv_now(&w->loop) < end)
        uv_run(&w->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
    return ok;
}

static bool never(world *w)
{
    (void)w;
    return false;
}

void w_settle(world *w, unsigned ms) { (void)w_until(w, never, ms); }

/* ---- Redis ---- */

typedef struct s6__sync {
    bool done;
    int type;
    char *out;
    size_t cap;
} s6__sync;

static void synced(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    (void)r;
    s6__sync *s = ud;
    s->done = true;
    s->type = code == 0 && rep ? rep->type : -1;
    if (s->cap > 0)
        s->out[0] = '\0';
    if (code == 0 && rep && rep->type == REDIS_REPLY_INTEGER)
        snprintf(s->out, s->cap, "%lld", rep->integer);
    else if (code == 0 && rep && rep->str)
        snprintf(s->out, s->cap, "%s", rep->str);
}

static s6__sync *sync_now;

static bool sync_done(world *w)
{
    (void)w;
    return sync_now->done;
}

int w_redis(world *w, char *out, size_t cap, int argc, const char **argv)
{
    char scratch[8];
    s6__sync s = {false, -1, out ? out : scratch, out ? cap : sizeof scratch};
    sync_now = &s;
    size_t len[16];
    assert_true(argc <= 16);
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    assert_int_equal(s6_redis_cmd(w->redis, synced, &s, argc, argv, len), 0);
    assert_true(w_until(w, sync_done, 5000));
    return s.type;
}

void w_balances(world *w, double spot, double fut, double age_s)
{
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "%.2f", spot);
    snprintf(b, sizeof b, "%.2f", fut);
    snprintf(c, sizeof c, "%.3f", w->now - age_s);
    const char *argv[] = {"HSET", "treasury:balances", "spot_free", a,
                          "fut_free", b, "ts", c};
    assert_int_equal(w_redis(w, NULL, 0, 8, argv), REDIS_REPLY_INTEGER);
}

long long w_events(world *w)
{
    char out[32];
    const char *argv[] = {"XLEN", "strategy_events"};
    w_redis(w, out, sizeof out, 2, argv);
    return atoll(out);
}

/* ---- store ---- */

typedef struct s6__got {
    bool found;
    s6_store_transfer tr;
} s6__got;

static void got(void *ud, int rc, const char *msg, const s6_store_result *r)
{
    (void)msg;
    s6__got *g = ud;
    g->found = rc == 0 && r->found && r->transfer != NULL;
    if (g->found)
        g->tr = *r->transfer;
}

bool w_transfer(world *w, const char *id, s6_store_transfer *out)
{
    s6__got g = {0};
    s6_store_err e;
    assert_int_equal(s6_store_get_transfer(w->store, id, got, &g, &e), 0);
    if (g.found && out != NULL)
        *out = g.tr;
    return g.found;
}

/* ---- HTTP ---- */

typedef struct s6__post {
    bool done;
    int status;
    char *out;
    size_t cap;
} s6__post;

static s6__post *post_now;

static void posted(const s6_httpc_result *r, void *ud)
{
    s6__post *p = ud;
    p->done = true;
    p->status = r->err == S6_HTTPC_OK ? r->status : -1;
    snprintf(p->out, p->cap, "%s", r->body);
}

static bool post_done(world *w)
{
    (void)w;
    return post_now->done;
}

int w_post(world *w, const char *path, const char *body, char *out,
           size_t cap)
{
    char url[128], scratch[8];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s6_http_port(w->srv),
             path);
    s6__post p = {false, 0, out ? out : scratch, out ? cap : sizeof scratch};
    post_now = &p;
    s6_httpc_opts o = {.method = "POST", .url = url, .body = body,
                       .body_len = strlen(body), .timeout_ms = 10000};
    assert_int_equal(s6_httpc_request(w->http, &o, posted, &p, NULL), 0);
    assert_true(w_until(w, post_done, 10000));
    return p.status;
}

double w_metric(world *w, const char *status, const char *trigger)
{
    s6_counter *c;
    if (s6_counter_get(w->metrics, "s6_transfers_total", 2,
                       S6_LABELS(status, trigger), &c) != 0)
        return -1;
    return s6_counter_value(c);
}
