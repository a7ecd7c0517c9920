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
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cluster_faults),
    };
    if (s6test_cluster_start(&cluster) != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    s6test_cluster_destroy(&cluster);
    return rc;
}
