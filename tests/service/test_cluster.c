/*
 * test_cluster.c — the service on a real Redis Cluster (3 masters, 3
 * replicas) while it manages four positions: the slots of the order
 * results and of the position records migrate between masters, the
 * results' master fails over by hand, the records' master is killed, and
 * at the end the process is killed and restarted from the cluster.
 *
 * Invariants checked once each phase settled: every position keeps
 * exactly one resting stop at the level its ROE earned; no stop was
 * placed twice (the peer counts distinct orders per position, and each is
 * one lock-in step); every result on ord:{results} was read and
 * acknowledged; the restart places no order.
 *
 * Before that story, redis.wait_replicas: a stop move is held while the
 * replica of the records' master is stopped, and goes once it is back.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "redis/slot.h"
#include "util/buf.h"

typedef struct pos {
    const char *id, *sym;
    double entry;
    int step;        /* lock-in steps earned so far */
} pos;

static pos P[] = {
    { "p1", "BTCUSDT", 60000, 0 },
    { "p2", "ETHUSDT", 3000, 0 },
    { "p3", "SOLUSDT", 150, 0 },
    { "p4", "BNBUSDT", 600, 0 },
};
enum { NPOS = 4 };

static s6test_cluster cluster;
static svc_fx fx;

/* Two more FUT symbols shaped like BTCUSDT, so four positions share the
 * masters. */
static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    json_t *syms = json_object_get(cfg, "symbols");
    json_object_set_new(syms, "SOLUSDT",
                        json_deep_copy(json_object_get(syms, "BTCUSDT")));
    json_object_set_new(syms, "BNBUSDT",
                        json_deep_copy(json_object_get(syms, "BTCUSDT")));
    /* The take-profit above both lock-in steps: the stops are the story. */
    json_t *steps = json_pack("[{s:f, s:i}]", "roe", 0.30, "entry", 1);
    svc_set_param(cfg, "tp_ladder", "steps", steps);
}

static const char *qty_of(const pos *p)
{
    return p->entry >= 10000 ? "0.010" : p->entry >= 1000 ? "0.100" : "1.000";
}

/* ROE 11.7% earns step 1 (stop at breakeven), 21.8% step 2 (10% ROE). */
static void earn_step(pos *p, int step)
{
    p->step = step;
    svc_mark(&fx, p->sym, p->entry * (step == 1 ? 1.0117 : 1.0218));
}

/* One resting stop, on the protective side of the step earned. */
static bool settled(svc_fx *f, void *ud)
{
    const pos *p = ud;
    s6_s4_peer_order o;
    if (svc_resting_stop(f, p->id, &o) != 1)
        return false;
    double stop = atof(o.stop_price);
    return p->step == 0 ? stop < p->entry
         : p->step == 1 ? stop > p->entry && stop < p->entry * 1.01
                        : stop >= p->entry * 1.009;
}

static int stop_orders(const char *pos_id)
{
    int n = 0;
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(fx.peer, i, &o) == 0; i++)
        n += strcmp(o.pos_id, pos_id) == 0 && strcmp(o.type, "STOP_MARKET") == 0;
    return n;
}

static void settle_all(const char *phase)
{
    for (int i = 0; i < NPOS; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s: %s has one stop at step %d", phase,
                 P[i].id, P[i].step);
        svc_await(&fx, settled, &P[i], what);
        /* The first stop and one per step: nothing placed twice. */
        if (stop_orders(P[i].id) != 1 + P[i].step) {
            svc_print_log(&fx);
            fail_msg("%s: %s has %d stop orders, want %d", phase, P[i].id,
                     stop_orders(P[i].id), 1 + P[i].step);
        }
    }
    redisReply *last = svc_redis(&fx, "XREVRANGE ord:{results} + - COUNT 1");
    assert_int_equal((int)last->elements, 1);
    svc_await_acked(&fx, last->element[0]->element[0]->str);
    freeReplyObject(last);
}

static int slot_of(const char *key)
{
    char out[32];
    int i = 0;
    while (cluster.node[i].pid <= 0)
        i++;
    assert_int_equal(s6test_cluster_cmd(&cluster, i, out, sizeof out,
                                        "CLUSTER KEYSLOT %s", key), 0);
    return atoi(out);
}

static int master_of_key(const char *key)
{
    return s6test_cluster_master_of(&cluster, slot_of(key));
}

/* Another master than m. */
static int other_master(int m)
{
    for (int s = 0; s < 16384; s += 1000) {
        int o = s6test_cluster_master_of(&cluster, s);
        if (o >= 0 && o != m)
            return o;
    }
    return -1;
}

/* Runs while the slot is half-moved (clients get ASK). */
static void during_results_move(void *ud)
{
    (void)ud;
    earn_step(&P[0], 1);
    earn_step(&P[1], 1);
}

static void during_state_move(void *ud)
{
    (void)ud;
    earn_step(&P[2], 1);
}

static void cluster_faults(void **state)
{
    (void)state;
    svc_fx_setup_cluster(&fx, &cluster, edit_config);
    svc_start(&fx);
    for (int i = 0; i < NPOS; i++) {
        char rid[16], px[32], sl[32];
        snprintf(rid, sizeof rid, "r-%d", i + 1);
        snprintf(px, sizeof px, "%.1f", P[i].entry);
        snprintf(sl, sizeof sl, "%.1f", P[i].entry * 0.97);
        svc_entry_fill(&fx, rid, P[i].id, P[i].sym, "BUY", qty_of(&P[i]), px,
                       sl);
        svc_mark(&fx, P[i].sym, P[i].entry);
    }
    settle_all("entries");

    /* 1. ord:{results} and the records ({state}) move to other masters
     *    while stops move. */
    int m = master_of_key("ord:{results}");
    assert_int_equal(s6test_cluster_migrate_slot(&cluster,
                                                 slot_of("ord:{results}"),
                                                 other_master(m),
                                                 during_results_move, NULL), 0);
    m = master_of_key("pos:{state}:open");
    assert_int_equal(s6test_cluster_migrate_slot(&cluster,
                                                 slot_of("pos:{state}:open"),
                                                 other_master(m),
                                                 during_state_move, NULL), 0);
    settle_all("slot migration");

    /* 2. The results' master hands over to its replica. */
    assert_int_equal(s6test_cluster_failover(&cluster,
                                             master_of_key("ord:{results}")), 0);
    earn_step(&P[0], 2);
    earn_step(&P[3], 1);
    settle_all("manual failover");

    /* 3. The records' master dies (once its replica has everything: an
     *    asynchronous replica may miss the last writes of a killed master,
     *    docs/operations.md). */
    m = master_of_key("pos:{state}:open");
    assert_int_equal(s6test_cluster_await_replicated(&cluster, m), 0);
    assert_int_equal(s6test_cluster_kill_master(&cluster, m), 0);
    earn_step(&P[1], 2);
    settle_all("killed master");

    /* 4. The process dies and comes back from the cluster's records (S4
     *    reports the four positions, so reconciliation keeps them). */
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"positions\":[");
    for (int i = 0; i < NPOS; i++)
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "%s{\"symbol\":\"%s\",\"market\":\"FUT\",\"side\":"
                      "\"LONG\",\"qty\":\"%s\",\"entry_price\":\"%.1f\"}",
                      i ? "," : "", P[i].sym, qty_of(&P[i]), P[i].entry);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    assert_int_equal(s6_s4_peer_serve(fx.peer, "/positions", 200, body), 0);
    size_t orders = s6_s4_peer_count(fx.peer, S6_S4P_ORDERS);
    svc_kill(&fx);
    svc_start(&fx);
    settle_all("restart");
    assert_int_equal(s6_s4_peer_count(fx.peer, S6_S4P_ORDERS), orders);
    svc_stop(&fx);
    svc_fx_teardown(&fx);
}

/* ---- redis.wait_replicas: no order before its state is on a replica ---- */

static void edit_wait(json_t *cfg)
{
    edit_config(cfg);
    svc_set(cfg, "redis", "wait_replicas", json_integer(1));
    svc_set(cfg, "redis", "wait_timeout_ms", json_integer(1000));
}

static double waits_metric(const char *result)
{
    s6_buf body = { 0 };
    assert_int_equal(http_get(fx.port, "/metrics", &body), 200);
    char needle[64];
    snprintf(needle, sizeof needle, "s6_state_waits_total{result=\"%s\"} ",
             result);
    const char *at = body.data ? strstr(body.data, needle) : NULL;
    double v = at ? atof(at + strlen(needle)) : 0;
    s6_buf_free(&body);
    return v;
}

/* With one replica per master, WAIT 1 is met and the first stop goes.
 * The replica of the records' master stops: the stop move the next mark
 * earns is held (the log says so, S4 sees nothing new) until the replica
 * runs again; then it goes, once. */
static void wait_replicas_hold_orders(void **state)
{
    (void)state;
    for (int m = 0; m < S6TEST_CLUSTER_NODES; m++)
        if (s6test_cluster_replica_of(&cluster, m) >= 0)
            assert_int_equal(s6test_cluster_await_replicated(&cluster, m), 0);
    svc_fx_setup_cluster(&fx, &cluster, edit_wait);
    svc_start(&fx);
    pos p = { "w1", "BTCUSDT", 60000, 0 };
    svc_entry_fill(&fx, "rw-1", p.id, p.sym, "BUY", "0.010", "60000.0",
                   "58200.0");
    svc_mark(&fx, p.sym, p.entry);
    svc_await(&fx, settled, &p, "the first stop, with WAIT 1 met");
    assert_true(waits_metric("ok") > 0);

    const char *key = "pos:{state}:w1";
    int m = s6test_cluster_master_of(&cluster,
                                     s6_redis_key_slot(key, strlen(key)));
    int rep = s6test_cluster_replica_of(&cluster, m);
    assert_true(rep >= 0);
    assert_int_equal(kill(cluster.node[rep].pid, SIGSTOP), 0);
    earn_step(&p, 1);
    json_t *held = svc_await_log(&fx, "replicas short: orders held");
    int stops_while_held = stop_orders(p.id);
    double short_count = waits_metric("short");
    assert_int_equal(kill(cluster.node[rep].pid, SIGCONT), 0);
    json_decref(held);
    assert_int_equal(stops_while_held, 1);
    assert_true(short_count > 0);
    svc_await(&fx, settled, &p, "the moved stop, once the replica is back");
    assert_int_equal(stop_orders(p.id), 2);

    svc_stop(&fx);
    svc_fx_teardown(&fx);
    /* The next story starts from an empty cluster. */
    char out[64];
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        (void)s6test_cluster_cmd(&cluster, i, out, sizeof out, "FLUSHALL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wait_replicas_hold_orders),
        cmocka_unit_test(cluster_faults),
    };
    if (s6test_cluster_start(&cluster) != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    s6test_cluster_destroy(&cluster);
    return rc;
}
