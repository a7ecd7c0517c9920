/* The async client against a real redis-server (tests/support), on a libuv
 * loop.  Every wait is for an event, bounded by a guard timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "redis/redis.h"
#include "redis_server.h"

typedef struct fx {
    uv_loop_t loop;
    s6test_redis srv;
    s6_redis_state last_state;
    int last_state_code;
    int ups, downs;
    int down_code;     /* why it last went DOWN */
    s6_redis *open[4]; /* closed by teardown if a failed test left them */
} fx;

/* ---- waiting on the loop ---- */

static void on_guard(uv_timer_t *t) { *(bool *)t->data = true; }

/* Runs the loop until done(arg) or the guard timer; returns done(arg). */
static bool run_until_fn(uv_loop_t *loop, bool (*done)(const void *),
                         const void *arg, uint64_t guard_ms)
{
    uv_timer_t guard;
    bool expired = false;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, guard_ms, 0);
    while (!done(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return done(arg);
}

static bool flag_set(const void *flag) { return *(const bool *)flag; }

static bool run_until(uv_loop_t *loop, const bool *flag, uint64_t guard_ms)
{
    return run_until_fn(loop, flag_set, flag, guard_ms);
}

static void on_state(s6_redis *r, s6_redis_state st, int code, void *ud)
{
    fx *f = ud;

    (void)r;
    f->last_state = st;
    f->last_state_code = code;
    f->ups += st == S6_REDIS_UP;
    f->downs += st == S6_REDIS_DOWN;
    if (st == S6_REDIS_DOWN)
        f->down_code = code;
}

static s6_redis *open_client(fx *f, const char *url, s6_redis_opts o)
{
    s6_redis *r = NULL;
    char err[256] = "";

    o.on_state = on_state;
    o.state_ud = f;
    if (s6_redis_open(&f->loop, url, &o, &r, err, sizeof(err)) != 0)
        fail_msg("open %s: %s", url, err);
    for (size_t i = 0; i < 4; i++)
        if (!f->open[i]) {
            f->open[i] = r;
            break;
        }
    return r;
}

typedef struct want_state {
    const fx *f;
    s6_redis_state st;
} want_state;

static bool state_reached(const void *arg)
{
    const want_state *w = arg;

    return w->f->last_state == w->st;
}

static void await_state(fx *f, s6_redis_state st, uint64_t guard_ms)
{
    want_state w = { f, st };

    if (!run_until_fn(&f->loop, state_reached, &w, guard_ms))
        fail_msg("state %d not reached in %llu ms (now %d)", st,
                 (unsigned long long)guard_ms, f->last_state);
}

static void close_client(fx *f, s6_redis *r)
{
    for (size_t i = 0; i < 4; i++)
        if (f->open[i] == r)
            f->open[i] = NULL;
    s6_redis_close(r);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the close callbacks */
}

/* ---- one recorded reply ---- */

typedef struct rec {
    int calls;
    int code;
    int type;
    long long integer;
    char str[2048];
    size_t len;
    size_t elements;
    char elem[4][64];
    uint64_t at_ms;
    bool done;
    uv_loop_t *loop;
} rec;

static void on_rec(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    rec *c = ud;

    (void)r;
    c->calls++;
    c->code = code;
    c->done = true;
    c->at_ms = c->loop ? uv_now(c->loop) : 0;
    c->type = rep ? rep->type : -1;
    if (!rep)
        return;
    c->integer = rep->integer;
    if (rep->str && rep->len <= sizeof(c->str)) {
        memcpy(c->str, rep->str, rep->len);
        c->len = rep->len;
    }
    c->elements = rep->elements;
    for (size_t i = 0; i < rep->elements && i < 4; i++)
    {
        const redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements) /* [name, ...] */
            e = e->element[0];
        if (e->str)
            snprintf(c->elem[i], sizeof(c->elem[i]), "%s", e->str);
    }
}

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Sends NUL-terminated words, awaits the reply. */
static rec call(fx *f, s6_redis *r, int argc, const char *const *argv)
{
    rec c = { .loop = &f->loop };
    size_t lens[16];

    assert_true(argc <= 16);
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    assert_int_equal(s6_redis_cmd(r, on_rec, &c, argc, argv, lens), 0);
    if (!run_until(&f->loop, &c.done, 5000))
        fail_msg("no reply to %s", argv[0]);
    assert_int_equal(c.calls, 1);
    return c;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    if (!f || uv_loop_init(&f->loop) != 0 || s6test_redis_start(&f->srv) != 0)
        return -1;
    f->last_state = S6_REDIS_DOWN;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int rc;

    for (size_t i = 0; i < 4; i++)
        if (f->open[i])
            s6_redis_close(f->open[i]);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* every handle closed... */
    rc = uv_loop_close(&f->loop);     /* ...or this reports a leak */
    s6test_redis_destroy(&f->srv);
    free(f);
    if (rc != 0)
        fprintf(stderr, "loop still has handles: %d\n", rc);
    return rc == 0 ? 0 : -1;
}

static s6_redis *up_client(fx *f, s6_redis_opts o)
{
    s6_redis *r = open_client(f, f->srv.url, o);

    await_state(f, S6_REDIS_UP, 5000);
    return r;
}

/* ---- tests ---- */

static void test_reply_types(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ .name = "t" });
    rec c;

    c = call(f, r, 3, (const char *[]){ "SET", "s", "hello" });
    assert_int_equal(c.code, 0);
    assert_int_equal(c.type, REDIS_REPLY_STATUS);
    assert_memory_equal(c.str, "OK", 2);
    c = call(f, r, 2, (const char *[]){ "GET", "s" });
    assert_int_equal(c.type, REDIS_REPLY_STRING);
    assert_int_equal(c.len, 5);
    assert_memory_equal(c.str, "hello", 5);
    c = call(f, r, 3, (const char *[]){ "INCRBY", "n", "41" });
    assert_int_equal(c.type, REDIS_REPLY_INTEGER);
    assert_int_equal(c.integer, 41);
    c = call(f, r, 5, (const char *[]){ "RPUSH", "l", "a", "b", "c" });
    assert_int_equal(c.integer, 3);
    c = call(f, r, 4, (const char *[]){ "LRANGE", "l", "0", "-1" });
    assert_int_equal(c.type, REDIS_REPLY_ARRAY);
    assert_int_equal(c.elements, 3);
    assert_string_equal(c.elem[2], "c");
    c = call(f, r, 2, (const char *[]){ "GET", "missing" });
    assert_int_equal(c.code, 0);
    assert_int_equal(c.type, REDIS_REPLY_NIL);
    c = call(f, r, 2, (const char *[]){ "INCR", "s" });
    assert_int_equal(c.code, S6_EREPLY);
    assert_int_equal(c.type, REDIS_REPLY_ERROR);
    assert_memory_equal(c.str, "ERR", 3);
    /* An error reply leaves the connection usable. */
    c = call(f, r, 1, (const char *[]){ "PING" });
    assert_int_equal(c.code, 0);
    assert_int_equal(f->downs, 0);
    close_client(f, r);
}

static void test_binary_safe(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ 0 });
    const char key[] = "k\0\r\n%s %n";
    char val[1024];
    rec set = { .loop = &f->loop }, get = { .loop = &f->loop };

    for (size_t i = 0; i < sizeof(val); i++)
        val[i] = (char)(i * 7 + 3);
    val[0] = '\0';
    memcpy(val + 1, "\r\n$-1\r\n%s%s%n", 13);
    const char *sargv[] = { "SET", key, val };
    const size_t slen[] = { 3, sizeof(key) - 1, sizeof(val) };
    const char *gargv[] = { "GET", key };
    const size_t glen[] = { 3, sizeof(key) - 1 };
    assert_int_equal(s6_redis_cmd(r, on_rec, &set, 3, sargv, slen), 0);
    assert_int_equal(s6_redis_cmd(r, on_rec, &get, 2, gargv, glen), 0);
    assert_true(run_until(&f->loop, &get.done, 5000));
    assert_int_equal(set.code, 0);
    assert_int_equal(get.code, 0);
    assert_int_equal(get.len, sizeof(val));
    assert_memory_equal(get.str, val, sizeof(val));
    /* The key with its NUL is one key, not "k". */
    rec c = call(f, r, 2, (const char *[]){ "EXISTS", "k" });
    assert_int_equal(c.integer, 0);
    close_client(f, r);
}

typedef struct seq {
    long long next;
    int bad;
    int failed;
    bool done;
    long long n;
} seq;

static void on_incr(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    seq *s = ud;

    (void)r;
    if (code != 0)
        s->failed++;
    else if (rep->integer != ++s->next)
        s->bad++;
    if (s->next + s->failed == s->n)
        s->done = true;
}

static void test_pipeline_10k(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ .command_timeout_ms = 10000 });
    seq s = { .n = 10000 };
    const char *argv[] = { "INCR", "ctr" };
    const size_t lens[] = { 4, 3 };

    uint64_t t0 = uv_now(&f->loop);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(s6_redis_cmd(r, on_incr, &s, 2, argv, lens), 0);
    assert_int_equal(s6_redis_in_flight(r), 10000);
    assert_true(run_until(&f->loop, &s.done, 20000));
    uv_update_time(&f->loop);
    print_message("10000 pipelined INCR answered in %llu ms\n",
                  (unsigned long long)(uv_now(&f->loop) - t0));
    assert_int_equal(s.failed, 0);
    assert_int_equal(s.bad, 0); /* each reply is the next integer: in order */
    assert_int_equal(s.next, 10000);
    assert_int_equal(s6_redis_in_flight(r), 0);
    close_client(f, r);
}

static void test_refused_connection(void **state)
{
    fx *f = *state;
    char url[64];
    int port = s6test_free_port();
    rec ping = { .loop = &f->loop };
    const char *argv[] = { "PING" };
    const size_t lens[] = { 4 };

    assert_true(port > 0);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    s6_redis *r = open_client(f, url, (s6_redis_opts){
        .connect_timeout_ms = 3000, .reconnect_min_ms = 10000 });
    assert_int_equal(s6_redis_get_state(r), S6_REDIS_CONNECTING);
    /* Accepted while connecting; fails with the connection. */
    assert_int_equal(s6_redis_cmd(r, on_rec, &ping, 1, argv, lens), 0);
    await_state(f, S6_REDIS_DOWN, 5000);
    uint64_t took = uv_now(&f->loop) - t0;
    print_message("refused connection reported after %llu ms\n",
                  (unsigned long long)took);
    assert_int_equal(f->down_code, S6_ECONNECT);
    assert_true(took < 3000); /* seen as refused, not as a timeout */
    assert_int_equal(ping.calls, 1);
    assert_int_equal(ping.code, S6_ECONNECT);
    /* While waiting to reconnect, commands are refused at once. */
    assert_int_equal(s6_redis_cmd(r, on_rec, &ping, 1, argv, lens), S6_EDOWN);
    assert_int_equal(ping.calls, 1);
    close_client(f, r);
}

static bool three_downs(const void *arg) { return ((const fx *)arg)->downs >= 3; }

static void test_reconnect_after_restart(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){
        .reconnect_min_ms = 20, .reconnect_max_ms = 200 });
    rec blpop = { .loop = &f->loop }, c;
    const char *argv[] = { "BLPOP", "nothing", "0" };
    const size_t lens[] = { 5, 7, 1 };

    assert_int_equal(s6_redis_cmd_ex(r, 60000, on_rec, &blpop, 3, argv, lens), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* let it go out */
    assert_int_equal(s6test_redis_stop(&f->srv), 0);
    await_state(f, S6_REDIS_DOWN, 5000);
    assert_int_equal(f->down_code, S6_EDISCONNECTED);
    assert_int_equal(blpop.calls, 1);
    assert_int_equal(blpop.code, S6_EDISCONNECTED);
    /* Stays down through failed attempts with capped backoff. */
    f->downs = 0;
    assert_true(run_until_fn(&f->loop, three_downs, f, 5000));
    assert_int_equal(s6test_redis_restart(&f->srv), 0);
    await_state(f, S6_REDIS_UP, 5000);
    assert_int_equal(f->ups, 2);
    c = call(f, r, 1, (const char *[]){ "PING" });
    assert_int_equal(c.code, 0);
    close_client(f, r);
}

static void test_command_timeout(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){
        .command_timeout_ms = 200, .connect_timeout_ms = 3000,
        .reconnect_min_ms = 20 });
    rec sleep = { .loop = &f->loop }, ping = { .loop = &f->loop }, c;
    const char *sargv[] = { "DEBUG", "SLEEP", "1" };
    const size_t slen[] = { 5, 5, 1 };
    const char *pargv[] = { "PING" };
    const size_t plen[] = { 4 };

    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    assert_int_equal(s6_redis_cmd(r, on_rec, &sleep, 3, sargv, slen), 0);
    assert_int_equal(s6_redis_cmd(r, on_rec, &ping, 1, pargv, plen), 0);
    assert_true(run_until(&f->loop, &ping.done, 5000));
    print_message("stalled command failed after %llu ms\n",
                  (unsigned long long)(sleep.at_ms - t0));
    assert_int_equal(sleep.code, S6_ETIMEDOUT);
    assert_int_equal(ping.code, S6_ETIMEDOUT);
    assert_int_equal(sleep.calls, 1);
    assert_true(sleep.at_ms - t0 >= 200);
    assert_true(sleep.at_ms - t0 < 900); /* well before the server woke */
    assert_int_equal(f->down_code, S6_ETIMEDOUT);
    await_state(f, S6_REDIS_UP, 5000); /* reconnected once Redis woke */
    c = call(f, r, 1, pargv);
    assert_int_equal(c.code, 0);
    close_client(f, r);
}

/* TCP connects but Redis does not answer the handshake (stalled by DEBUG
 * SLEEP from another client): the connect timeout reports it. */
static void test_connect_timeout(void **state)
{
    fx *f = *state;
    s6_redis *staller = up_client(f, (s6_redis_opts){ .command_timeout_ms = 5000 });
    rec sleep = { .loop = &f->loop };
    const char *argv[] = { "DEBUG", "SLEEP", "1" };
    const size_t lens[] = { 5, 5, 1 };

    assert_int_equal(s6_redis_cmd(staller, on_rec, &sleep, 3, argv, lens), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* written before the second client connects */
    uv_update_time(&f->loop);
    uint64_t t0 = uv_now(&f->loop);
    s6_redis *r = open_client(f, f->srv.url, (s6_redis_opts){
        .connect_timeout_ms = 200, .reconnect_min_ms = 10000 });
    await_state(f, S6_REDIS_DOWN, 5000);
    uint64_t took = uv_now(&f->loop) - t0;
    print_message("unanswered handshake reported after %llu ms\n",
                  (unsigned long long)took);
    assert_int_equal(f->down_code, S6_ECONNECT);
    assert_true(took >= 200 && took < 900);
    close_client(f, r);
    assert_true(run_until(&f->loop, &sleep.done, 5000));
    assert_int_equal(sleep.code, 0); /* the staller itself was patient */
    close_client(f, staller);
}

typedef struct pinger {
    s6_redis *r;
    int done;
    int failed;
    bool finished;
    bool read_seen_first;
    rec *read;
} pinger;

static void on_ping_chain(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    pinger *p = ud;
    const char *argv[] = { "PING" };
    const size_t lens[] = { 4 };

    (void)rep;
    if (code != 0)
        p->failed++;
    if (p->read->done)
        p->read_seen_first = true;
    if (++p->done == 200) {
        p->finished = true;
        return;
    }
    if (s6_redis_cmd(r, on_ping_chain, p, 1, argv, lens) != 0)
        p->failed++;
}

static void test_blocking_read_does_not_stall(void **state)
{
    fx *f = *state;
    s6_redis *cmd = up_client(f, (s6_redis_opts){ .name = "cmd" });
    s6_redis *blk = up_client(f, (s6_redis_opts){ .name = "blocking" });
    rec read = { .loop = &f->loop }, add = { .loop = &f->loop }, c;
    pinger p = { .r = cmd, .read = &read };
    const char *argv[] = { "PING" };
    const size_t lens[] = { 4 };

    c = call(f, cmd, 6, (const char *[]){ "XGROUP", "CREATE", "ev", "g", "$", "MKSTREAM" });
    assert_int_equal(c.code, 0);
    /* BLOCK and the guards are generous: on a loaded machine the 200 round
     * trips can take seconds, and the read must still be waiting after */
    assert_int_equal(s6_redis_xreadgroup(blk, "g", "c1", 10, 60000, "ev", ">",
                                         on_rec, &read), 0);
    assert_int_equal(s6_redis_cmd(cmd, on_ping_chain, &p, 1, argv, lens), 0);
    assert_true(run_until(&f->loop, &p.finished, 30000));
    assert_int_equal(p.failed, 0);
    assert_false(p.read_seen_first); /* 200 round trips while it blocked */
    assert_false(read.done);
    s6_redis_kv kv[] = { { "sym", 3, "BTCUSDT", 7 }, { "px", 2, "1\0" "2", 3 } };
    assert_int_equal(s6_redis_xadd(cmd, "ev", "*", kv, 2, on_rec, &add), 0);
    assert_true(run_until(&f->loop, &read.done, 30000));
    /* the two replies come on two connections: the woken read may be
     * delivered before the XADD's own answer */
    assert_true(run_until(&f->loop, &add.done, 30000));
    assert_int_equal(add.code, 0);
    assert_int_equal(add.type, REDIS_REPLY_STRING); /* the entry id */
    assert_int_equal(read.code, 0);
    assert_int_equal(read.type, REDIS_REPLY_ARRAY);
    assert_int_equal(read.elements, 1);
    assert_string_equal(read.elem[0], "ev");
    close_client(f, cmd);
    close_client(f, blk);
}

typedef struct counter {
    int calls;
    int cancels;
    int other;
    s6_redis *close_me;
} counter;

static void on_count(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    counter *k = ud;

    (void)r;
    (void)rep;
    k->calls++;
    if (code == S6_ECANCELED)
        k->cancels++;
    else
        k->other++;
    if (k->close_me) {
        s6_redis *c = k->close_me;
        k->close_me = NULL;
        s6_redis_close(c);
    }
}

static void test_close_with_commands_in_flight(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ 0 });
    counter k = { 0 };
    const char *argv[] = { "PING" };
    const size_t lens[] = { 4 };

    for (int i = 0; i < 1000; i++)
        assert_int_equal(s6_redis_cmd(r, on_count, &k, 1, argv, lens), 0);
    close_client(f, r);
    assert_int_equal(k.calls, 1000); /* all of them, before close returns */
    assert_int_equal(k.cancels, 1000);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(k.calls, 1000); /* and never again */
}

static void test_close_from_a_callback(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ 0 });
    counter first = { 0 }, rest = { 0 };
    const char *argv[] = { "PING" };
    const size_t lens[] = { 4 };

    first.close_me = r;
    f->open[0] = NULL; /* closed by the callback */
    assert_int_equal(s6_redis_cmd(r, on_count, &first, 1, argv, lens), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(s6_redis_cmd(r, on_count, &rest, 1, argv, lens), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(first.calls, 1);
    assert_int_equal(first.other, 1); /* its PONG */
    assert_int_equal(rest.calls, 50);
    assert_int_equal(rest.cancels, 50);
}

static void test_helpers(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ 0 });
    rec a = { .loop = &f->loop }, b = { .loop = &f->loop };
    s6_redis_kv kv[] = { { "qty", 3, "0.5", 3 }, { "state", 5, "ACTIVE", 6 } };

    assert_int_equal(s6_redis_hset(r, "pos:1", kv, 2, on_rec, &a), 0);
    assert_int_equal(s6_redis_hgetall(r, "pos:1", on_rec, &b), 0);
    assert_true(run_until(&f->loop, &b.done, 5000));
    assert_int_equal(a.integer, 2);
    assert_int_equal(b.elements, 4);
    assert_string_equal(b.elem[0], "qty");
    assert_string_equal(b.elem[3], "ACTIVE");

    rec l1 = { .loop = &f->loop }, l2 = { .loop = &f->loop };
    assert_int_equal(s6_redis_set_nx_px(r, "lease", "a", 5000, on_rec, &l1), 0);
    assert_int_equal(s6_redis_set_nx_px(r, "lease", "b", 5000, on_rec, &l2), 0);
    assert_true(run_until(&f->loop, &l2.done, 5000));
    assert_int_equal(l1.type, REDIS_REPLY_STATUS); /* taken */
    assert_int_equal(l2.type, REDIS_REPLY_NIL);    /* held by "a" */
    assert_int_equal(s6_redis_set_nx_px(r, "lease", "a", 0, on_rec, &l2),
                     S6_EINVAL);

    rec e = { .loop = &f->loop };
    const char *keys[] = { "quota" };
    const char *args[] = { "3" };
    assert_int_equal(s6_redis_eval(r, "return redis.call('INCRBY', KEYS[1], ARGV[1])",
                                   keys, 1, args, 1, on_rec, &e), 0);
    assert_true(run_until(&f->loop, &e.done, 5000));
    assert_int_equal(e.code, 0);
    assert_int_equal(e.integer, 3);
    assert_int_equal(s6_redis_xadd(r, "s", "*", NULL, 0, on_rec, &e), S6_EINVAL);
    close_client(f, r);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    s6_redis *r = up_client(f, (s6_redis_opts){ 0 });
    rec c = { 0 };
    const char *argv[] = { "GET", NULL };
    const size_t lens[] = { 3, 0 };

    assert_int_equal(s6_redis_cmd(r, on_rec, &c, 2, argv, lens), S6_EINVAL);
    assert_int_equal(s6_redis_cmd(r, on_rec, &c, 0, argv, lens), S6_EINVAL);
    assert_int_equal(s6_redis_cmd(r, NULL, &c, 1, argv, lens), S6_EINVAL);
    assert_int_equal(s6_redis_in_flight(r), 0);
    close_client(f, r);
    assert_int_equal(c.calls, 0);
}

/* The handshake selects the URL's database; a database Redis does not have
 * is a failed connection, not an UP state with commands going elsewhere. */
static void test_database_select(void **state)
{
    fx *f = *state;
    char url[64];
    rec c;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", f->srv.port);
    s6_redis *r = open_client(f, url, (s6_redis_opts){ 0 });
    await_state(f, S6_REDIS_UP, 5000);
    c = call(f, r, 2, (const char *[]){ "CLIENT", "INFO" });
    assert_non_null(strstr(c.str, " db=3 "));
    close_client(f, r);

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/99", f->srv.port);
    r = open_client(f, url, (s6_redis_opts){ .reconnect_min_ms = 10000 });
    await_state(f, S6_REDIS_DOWN, 5000);
    assert_int_equal(f->down_code, S6_ECONNECT);
    close_client(f, r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reply_types),
        T(test_binary_safe),
        T(test_pipeline_10k),
        T(test_refused_connection),
        T(test_reconnect_after_restart),
        T(test_command_timeout),
        T(test_connect_timeout),
        T(test_blocking_read_does_not_stall),
        T(test_close_with_commands_in_flight),
        T(test_close_from_a_callback),
        T(test_helpers),
        T(test_bad_arguments),
        T(test_database_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
