/*
 * test_shards.c — two sharded instances on a real Redis Cluster
 * (shard.count 2): each manages the positions of its own symbols only
 * (BTCUSDT and ETHUSDT hash to shard 0, SOLUSDT and BNBUSDT to shard 1),
 * each with its lease (s6:lease:<k>) and its consumer group (s6-<k>) on
 * ord:{results}; a standby of shard 1 takes it over when its holder is
 * killed, within the lease TTL, and moves that shard's stops from then on.
 * Their HTTP routes answer for their own shard and name the other shard's
 * holder (421), the new one after the takeover.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/shard.h"
#include "fixture.h"

typedef struct pos {
    const char *id, *sym;
    double entry;
    int step;
} pos;

static pos P[] = {
    { "p1", "BTCUSDT", 60000, 0 }, /* shard 0 */
    { "p2", "ETHUSDT", 3000, 0 },  /* shard 0 */
    { "p3", "SOLUSDT", 150, 0 },   /* shard 1 */
    { "p4", "BNBUSDT", 600, 0 },   /* shard 1 */
};
enum { NPOS = 4 };

static s6test_cluster cluster;
static svc_fx fx;
static proc *others[2]; /* pumped while the test waits on fx.p */

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    json_t *syms = json_object_get(cfg, "symbols");
    json_object_set_new(syms, "SOLUSDT",
                        json_deep_copy(json_object_get(syms, "BTCUSDT")));
    json_object_set_new(syms, "BNBUSDT",
                        json_deep_copy(json_object_get(syms, "BTCUSDT")));
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.30, "entry", 1));
    svc_set(cfg, "shard", "count", json_integer(2));
    /* Each instance advertises http://<http.host>:<its port>. */
    svc_set(cfg, "http", "host", json_string("127.0.0.1"));
}

static const char *qty_of(const pos *p)
{
    return p->entry >= 10000 ? "0.010" : p->entry >= 1000 ? "0.100" : "1.000";
}

static bool settled(svc_fx *f, void *ud)
{
    const pos *p = ud;
    s6_s4_peer_order o;
    if (svc_resting_stop(f, p->id, &o) != 1)
        return false;
    double stop = atof(o.stop_price);
    return p->step == 0 ? stop < p->entry : stop > p->entry;
}

static void await_all(const char *phase)
{
    for (size_t i = 0; i < 2; i++)
        if (others[i])
            pump_in_background(others[i]);
    for (int i = 0; i < NPOS; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s: %s has one stop at step %d", phase,
                 P[i].id, P[i].step);
        svc_await(&fx, settled, &P[i], what);
    }
    for (size_t i = 0; i < 2; i++)
        if (others[i])
            pump_stop(others[i]);
}

static bool logged_pos(proc *p, const char *id)
{
    char needle[48];
    snprintf(needle, sizeof needle, "\"pos_id\":\"%s\"", id);
    return p->err.data && strstr(p->err.data, needle);
}

static void await_on(proc *p, const char *msg)
{
    pump_in_background(&fx.p);
    json_decref(await_log(p, msg));
    pump_stop(&fx.p);
}

/* An HTTP call to the instance on `port` (svc_http speaks to fx.port). */
static long http_on(int port, const char *method, const char *path,
                    const char *body, json_t **doc)
{
    int own = fx.port;
    json_t *got = NULL;
    fx.port = port;
    for (size_t i = 0; i < 2; i++)
        if (others[i])
            pump_in_background(others[i]);
    long status = svc_http(&fx, method, path, SVC_TOKEN, body, &got);
    for (size_t i = 0; i < 2; i++)
        if (others[i])
            pump_stop(others[i]);
    fx.port = own;
    if (doc)
        *doc = got;
    else
        json_decref(got);
    return status;
}

/* GET /positions/<id> and POST /positions/manage on the instance on
 * `port` for a position of the other shard: 421, naming the shard, the
 * symbol and the holder (its instance id and HTTP address). */
static void expect_misdirected(int port, const pos *p, unsigned shard,
                               const char *holder, int holder_port)
{
    char path[64], url[64], body[256];
    snprintf(path, sizeof path, "/positions/%s", p->id);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", holder_port);
    snprintf(body, sizeof body,
             "{\"symbol\":\"%s\",\"market\":\"FUT\",\"position_id\":\"%s\","
             "\"action\":\"EVALUATE\",\"dry_run\":true}", p->sym, p->id);
    for (int i = 0; i < 2; i++) {
        json_t *doc = NULL;
        long status = i == 0 ? http_on(port, "GET", path, NULL, &doc)
                             : http_on(port, "POST", "/positions/manage", body,
                                       &doc);
        assert_int_equal(status, 421);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(doc, "error"), "code")),
                            "other_shard");
        json_t *sh = json_object_get(doc, "shard");
        assert_int_equal(json_integer_value(json_object_get(sh, "index")),
                         shard);
        assert_int_equal(json_integer_value(json_object_get(sh, "count")), 2);
        assert_string_equal(json_string_value(json_object_get(doc, "symbol")),
                            p->sym);
        json_t *h = json_object_get(doc, "holder");
        assert_string_equal(json_string_value(json_object_get(h, "instance")),
                            holder);
        assert_string_equal(json_string_value(json_object_get(h, "http")), url);
        json_decref(doc);
    }
}

/* The instance on `port` answers for its own: GET /positions lists its
 * shard's positions and says which shard; its own position is 200; an id
 * no shard knows stays 404. */
static void expect_own(int port, unsigned shard)
{
    json_t *doc = NULL;
    assert_int_equal(http_on(port, "GET", "/positions", NULL, &doc), 200);
    json_t *sh = json_object_get(doc, "shard");
    assert_int_equal(json_integer_value(json_object_get(sh, "index")), shard);
    assert_int_equal(json_integer_value(json_object_get(sh, "count")), 2);
    assert_int_equal(json_array_size(json_object_get(doc, "positions")), 2);
    json_decref(doc);
    char path[64];
    snprintf(path, sizeof path, "/positions/%s", P[shard * 2].id);
    assert_int_equal(http_on(port, "GET", path, NULL, NULL), 200);
    assert_int_equal(http_on(port, "GET", "/positions/nowhere", NULL, NULL),
                     404);
}

static void two_shards_and_a_takeover(void **state)
{
    (void)state;
    for (int i = 0; i < NPOS; i++)
        assert_int_equal(s6_shard_of(P[i].sym, 2), i < 2 ? 0 : 1);
    svc_fx_setup_cluster(&fx, &cluster, edit_config);
    svc_start(&fx); /* shard 0 (shard.index's default) */
    proc b, c;
    int port_b = free_port(), port_c = free_port();
    svc_spawn_env(&fx, &b, port_b, "s6-b", "S6_SHARD=1");
    await_on(&b, "start-up done: managing positions");
    others[0] = &b;

    for (int i = 0; i < NPOS; i++) {
        char rid[16], px[32], sl[32];
        snprintf(rid, sizeof rid, "r-%d", i + 1);
        snprintf(px, sizeof px, "%.1f", P[i].entry);
        snprintf(sl, sizeof sl, "%.1f", P[i].entry * 0.97);
        svc_entry_fill(&fx, rid, P[i].id, P[i].sym, "BUY", qty_of(&P[i]), px,
                       sl);
        svc_mark(&fx, P[i].sym, P[i].entry);
    }
    await_all("entries");
    /* Each instance acted on its own shard's positions only. */
    for (int i = 0; i < NPOS; i++) {
        assert_true(logged_pos(i < 2 ? &fx.p : &b, P[i].id));
        assert_false(logged_pos(i < 2 ? &b : &fx.p, P[i].id));
    }
    redisReply *groups = svc_redis(&fx, "XINFO GROUPS ord:{results}");
    assert_int_equal((int)groups->elements, 2);
    freeReplyObject(groups);
    redisReply *lease = svc_redis(&fx, "GET s6:lease:1");
    assert_string_equal(lease->str, "s6-b");
    freeReplyObject(lease);

    /* The HTTP routes answer for their shard and name the other's holder. */
    expect_own(fx.port, 0);
    expect_own(port_b, 1);
    expect_misdirected(fx.port, &P[2], 1, "s6-b", port_b);
    expect_misdirected(port_b, &P[0], 0, "s6-test-1", fx.port);

    /* S4 lists the positions, so a new holder's reconciliation keeps them;
     * a standby for shard 1 waits; shard 1's holder dies. */
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"positions\":[");
    for (int i = 0; i < NPOS; i++)
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "%s{\"symbol\":\"%s\",\"market\":\"FUT\",\"side\":"
                      "\"LONG\",\"qty\":\"%s\",\"entry_price\":\"%.1f\"}",
                      i ? "," : "", P[i].sym, qty_of(&P[i]), P[i].entry);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    assert_int_equal(s6_s4_peer_serve(fx.peer, "/positions", 200, body), 0);
    svc_spawn_env(&fx, &c, port_c, "s6-c", "S6_SHARD=1");
    await_on(&c, "waiting for the lease");
    kill(b.pid, SIGKILL);
    await_exit(&b);
    others[0] = &c;
    long t0 = now_ms();
    await_on(&c, "start-up done: managing positions");
    long took = now_ms() - t0;
    fprintf(stderr, "shard 1 taken over in %ld ms\n", took);
    assert_true(took < 10000 + 10000 / 3 + 2000);

    /* The new holder moves shard 1's stops; shard 0 goes on meanwhile. */
    P[2].step = 1;
    svc_mark(&fx, P[2].sym, P[2].entry * 1.0117);
    P[0].step = 1;
    svc_mark(&fx, P[0].sym, P[0].entry * 1.0117);
    await_all("after the takeover");
    assert_true(logged_pos(&c, "p3"));
    assert_false(logged_pos(&c, "p1"));
    /* Shard 0 now names the new holder. */
    expect_misdirected(fx.port, &P[3], 1, "s6-c", port_c);

    proc_free(&b);
    kill(c.pid, SIGKILL);
    await_exit(&c);
    proc_free(&c);
    svc_stop(&fx);
    svc_fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_shards_and_a_takeover),
    };
    if (s6test_cluster_start(&cluster) != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    s6test_cluster_destroy(&cluster);
    return rc;
}
