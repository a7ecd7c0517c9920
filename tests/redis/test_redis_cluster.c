/* The cluster layer against a real 6-node Redis Cluster (3 masters, 3
 * replicas; tests/support/redis_cluster.h): routing, MOVED and ASK while a
 * slot migrates, per-slot order and in-order delivery across nodes, a
 * manual failover and a killed master.  One cluster for the whole file;
 * every wait is for an event, bounded by a guard timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "redis/cluster.h"
#include "redis/redis.h"
#include "redis/slot.h"
#include "redis_cluster.h"

static s6test_cluster cluster;
static s6_log test_log; /* stderr, for a failing run's story */

typedef struct fx {
    uv_loop_t loop;
    s6_redis *r;
} fx;

static void on_guard(uv_timer_t *t) { *(bool *)t->data = true; }

static bool run_until(uv_loop_t *loop, bool (*done)(const void *),
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

static bool is_up(const void *r)
{
    return s6_redis_get_state((const s6_redis *)r) == S6_REDIS_UP;
}

static int group_setup(void **state)
{
    (void)state;
    s6_log_init(&test_log, S6_LOG_INFO);
    return s6test_cluster_start(&cluster);
}

static int group_teardown(void **state)
{
    (void)state;
    s6test_cluster_destroy(&cluster);
    return 0;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[256];
    uv_loop_init(&f->loop);
    s6_redis_opts o = { .name = "test", .command_timeout_ms = 3000,
                        .log = &test_log };
    if (s6_redis_open(&f->loop, cluster.url, &o, &f->r, err, sizeof err) != 0) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    if (!run_until(&f->loop, is_up, f->r, 5000)) {
        fprintf(stderr, "the cluster client did not come up\n");
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    s6_redis_close(f->r);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    free(f);
    return rc == 0 ? 0 : -1; /* a handle left open fails the test */
}

/* ---- recorded replies ---- */

typedef struct rec {
    int calls, code, type;
    long long integer;
    char str[128];
    int order;          /* when it was delivered, across every rec */
} rec;

static int delivered;

static void on_rec(s6_redis *r, const redisReply *rep, int code, void *ud)
{
    rec *x = ud;
    (void)r;
    x->calls++;
    x->code = code;
    x->order = delivered++;
    if (rep) {
        x->type = rep->type;
        x->integer = rep->integer;
        snprintf(x->str, sizeof x->str, "%s", rep->str ? rep->str : "");
    }
}

static bool called(const void *x) { return ((const rec *)x)->calls > 0; }

static int cmdv(fx *f, rec *x, ...)
{
    const char *argv[16];
    size_t lens[16];
    int argc = 0;
    va_list ap;
    va_start(ap, x);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL; argc++) {
        argv[argc] = a;
        lens[argc] = strlen(a);
    }
    va_end(ap);
    memset(x, 0, sizeof *x);
    return s6_redis_cmd(f->r, on_rec, x, argc, argv, lens);
}

/* One command to its reply. */
static rec sync_cmd(fx *f, const char *a0, const char *a1, const char *a2)
{
    rec x;
    assert_int_equal(cmdv(f, &x, a0, a1, a2, NULL), 0);
    assert_true(run_until(&f->loop, called, &x, 10000));
    return x;
}

/* ---- slots ---- */

static void test_key_slots(void **state)
{
    (void)state;
    /* The cluster specification's example, and the hash-tag rules. */
    assert_int_equal(s6_redis_key_slot("123456789", 9), 12739);
    assert_int_equal(s6_redis_key_slot("foo", 3), 12182);
    assert_int_equal(s6_redis_key_slot("{user1000}.following", 20),
                     s6_redis_key_slot("user1000", 8));
    assert_int_equal(s6_redis_key_slot("foo{}{bar}", 10),
                     s6_redis_key_slot("foo{}{bar}", 10));
    assert_int_not_equal(s6_redis_key_slot("foo{}{bar}", 10),
                         s6_redis_key_slot("bar", 3));
    assert_int_equal(s6_redis_key_slot("foo{{bar}}zap", 13),
                     s6_redis_key_slot("{bar", 4));
    assert_int_equal(s6_redis_key_slot("pos:{sl}:level:p1", 17),
                     s6_redis_key_slot("pos:{sl}:level:p2", 17));
    const char *eval[] = { "EVAL", "return 1", "2", "pos:{state}:p1",
                           "pos:{state}:open", "x" };
    const size_t el[] = { 4, 8, 1, 14, 16, 1 };
    assert_int_equal(s6_redis_cmd_slot(6, eval, el),
                     s6_redis_key_slot("state", 5));
    const char *cross[] = { "EVAL", "return 1", "2", "risk:{budget}",
                            "risk:{concurrency}" };
    const size_t cl[] = { 4, 8, 1, 13, 18 };
    assert_int_equal(s6_redis_cmd_slot(5, cross, cl), S6_REDIS_SLOT_CROSS);
    const char *xr[] = { "XREADGROUP", "GROUP", "g", "c", "BLOCK", "10",
                         "STREAMS", "ord:{results}", ">" };
    const size_t xl[] = { 10, 5, 1, 1, 5, 2, 7, 13, 1 };
    assert_int_equal(s6_redis_cmd_slot(9, xr, xl),
                     s6_redis_key_slot("results", 7));
    const char *ping[] = { "PING" };
    const size_t pl[] = { 4 };
    assert_int_equal(s6_redis_cmd_slot(1, ping, pl), S6_REDIS_SLOT_NONE);
}

static void test_cluster_urls(void **state)
{
    uv_loop_t loop;
    s6_redis *r = NULL;
    char err[256];
    (void)state;
    uv_loop_init(&loop);
    const char *bad[] = { "redis+cluster://", "redis+cluster:///",
                          "redis+cluster://a:1,/", "redis+cluster://a:0/",
                          "redis+cluster://a:1/3", "redis+cluster://u@a:1/" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(s6_redis_open(&loop, bad[i], NULL, &r, err, sizeof err),
                         S6_EURL);
        assert_non_null(strstr(err, bad[i]));
    }
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- routing ---- */

static void test_keys_spread_over_the_masters(void **state)
{
    fx *f = *state;
    enum { N = 300 };
    static rec set[N], get[N];
    char keys[N][24], vals[N][24];
    bool master_used[S6TEST_CLUSTER_NODES] = { false };
    delivered = 0;
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "spread:%d", i);
        snprintf(vals[i], sizeof vals[i], "v%d", i * 7);
        assert_int_equal(cmdv(f, &set[i], "SET", keys[i], vals[i], NULL), 0);
        assert_int_equal(cmdv(f, &get[i], "GET", keys[i], NULL), 0);
    }
    assert_true(run_until(&f->loop, called, &get[N - 1], 10000));
    for (int i = 0; i < N; i++) {
        assert_int_equal(set[i].code, 0);
        assert_string_equal(get[i].str, vals[i]);
        /* Delivered in issue order although three nodes answered. */
        assert_int_equal(set[i].order, 2 * i);
        assert_int_equal(get[i].order, 2 * i + 1);
        int m = s6test_cluster_master_of(&cluster,
                                         s6_redis_key_slot(keys[i], strlen(keys[i])));
        assert_true(m >= 0);
        master_used[m] = true;
    }
    int masters = 0;
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        masters += master_used[i];
    assert_int_equal(masters, 3);
    assert_int_equal(s6_redis_in_flight(f->r), 0);
}

static void test_transactions_and_cross_slot_refused(void **state)
{
    fx *f = *state;
    rec x;
    assert_int_equal(cmdv(f, &x, "MULTI", NULL), S6_EINVAL);
    assert_int_equal(cmdv(f, &x, "MGET", "a{1}", "b{2}", NULL), S6_EINVAL);
    x = sync_cmd(f, "MGET", "a{1}", "b{1}");
    assert_int_equal(x.code, 0);
    x = sync_cmd(f, "PING", NULL, NULL);
    assert_string_equal(x.str, "PONG");
}

/* ---- migration: MOVED, ASK, order ---- */

typedef struct mig {
    fx *f;
    const char *key;
    rec during[200];
    int n_during;
} mig;

static bool all_called(const void *arg)
{
    const mig *m = arg;
    for (int i = 0; i < m->n_during; i++)
        if (!m->during[i].calls)
            return false;
    return true;
}

/* Half-way through the migration (some keys moved, the slot not yet
 * handed over): more INCRs, run to their answers. */
static void while_migrating(void *ud)
{
    mig *m = ud;
    for (int i = 0; i < 100; i++, m->n_during++)
        assert_int_equal(cmdv(m->f, &m->during[m->n_during], "INCR", m->key,
                              NULL), 0);
    assert_true(run_until(&m->f->loop, all_called, m, 10000));
}

static void test_slot_migration_keeps_order(void **state)
{
    fx *f = *state;
    static mig m;
    static rec before[100], after[100];
    /* The counter is the slot's only key: once it moved and before the
     * slot is handed over the old owner answers ASK; after, MOVED. */
    const char *key = "{mig}counter";
    int slot = s6_redis_key_slot(key, strlen(key));
    rec x = sync_cmd(f, "SET", key, "0");
    assert_int_equal(x.code, 0);
    memset(&m, 0, sizeof m);
    m.f = f;
    m.key = key;
    delivered = 0;
    for (int i = 0; i < 100; i++)
        assert_int_equal(cmdv(f, &before[i], "INCR", key, NULL), 0);
    int from = s6test_cluster_master_of(&cluster, slot);
    int to = (from + 1) % 3 == from ? (from + 2) % 3 : (from + 1) % 3;
    to = s6test_cluster_master_of(&cluster, to == 0 ? 1 : to == 1 ? 6000 : 12000);
    if (to == from)
        to = s6test_cluster_master_of(&cluster, (slot + 6000) % 16384);
    assert_int_equal(s6test_cluster_migrate_slot(&cluster, slot, to,
                                                 while_migrating, &m), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(cmdv(f, &after[i], "INCR", key, NULL), 0);
    assert_true(run_until(&f->loop, called, &after[99], 10000));
    /* Every INCR ran once, in issue order: the n-th answers n. */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(before[i].code, 0);
        assert_int_equal(before[i].integer, i + 1);
        assert_int_equal(m.during[i].code, 0);
        assert_int_equal(m.during[i].integer, 101 + i);
        assert_int_equal(after[i].code, 0);
        assert_int_equal(after[i].integer, 201 + i);
    }
    s6_redis_cluster_stats st;
    assert_int_equal(s6_redis_cluster_stats_get(f->r, &st), 0);
    assert_true(st.ask >= 100);  /* each INCR during the move, once */
    assert_true(st.moved >= 1);
    assert_int_equal(s6test_cluster_master_of(&cluster, slot), to);
}

/* ---- failover ---- */

typedef struct retry {
    fx *f;
    const char *key, *val;
    rec x;
    int failures;
} retry;

/* A write retried by the caller, as the state edge does (the layer itself
 * only retries what was certainly not executed); idempotent, so a retry
 * of one that did run is harmless. */
static bool set_done(const void *arg)
{
    retry *t = (retry *)arg;
    if (t->x.calls == 0)
        return false;
    if (t->x.code == 0)
        return true;
    t->failures++;
    cmdv(t->f, &t->x, "SET", t->key, t->val, NULL);
    return false;
}

static void set_until_ok(fx *f, const char *key, const char *val)
{
    retry t = { .f = f, .key = key, .val = val };
    assert_int_equal(cmdv(f, &t.x, "SET", key, val, NULL), 0);
    assert_true(run_until(&f->loop, set_done, &t, 20000));
    rec x = sync_cmd(f, "GET", key, NULL);
    assert_int_equal(x.code, 0);
    assert_string_equal(x.str, val);
}

static void test_failover_and_killed_master(void **state)
{
    fx *f = *state;
    const char *key = "{fo}n";
    int slot = s6_redis_key_slot(key, strlen(key));
    set_until_ok(f, key, "0");
    int m = s6test_cluster_master_of(&cluster, slot);

    /* A manual failover: the replica takes over without losing writes.
     * (The fixture blocks the loop meanwhile, so a command the client had
     * in flight may time out: the caller's retry covers it.) */
    assert_int_equal(s6test_cluster_failover(&cluster, m), 0);
    set_until_ok(f, key, "1");
    int m2 = s6test_cluster_master_of(&cluster, slot);
    assert_int_not_equal(m2, m);

    /* Its new master killed: a replica is promoted after the node
     * timeout; the client follows and writes go on. */
    assert_int_equal(s6test_cluster_await_replicated(&cluster, m2), 0);
    assert_int_equal(s6test_cluster_kill_master(&cluster, m2), 0);
    set_until_ok(f, key, "2");
    assert_true(run_until(&f->loop, is_up, f->r, 5000));
    s6_redis_cluster_stats st;
    assert_int_equal(s6_redis_cluster_stats_get(f->r, &st), 0);
    assert_true(st.refreshes >= 2);
    s6test_redis_restart(&cluster.node[m2]); /* back, as a replica */
    assert_int_equal(s6test_cluster_await_ok(&cluster, 20000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_slots),
        cmocka_unit_test(test_cluster_urls),
        cmocka_unit_test_setup_teardown(test_keys_spread_over_the_masters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions_and_cross_slot_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_migration_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_and_killed_master, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
