/*
 * s6-bench-shards — the aggregate throughput of 1, 2 and 3 sharded
 * s6-position instances on a real Redis Cluster (docs/performance.md,
 * "Sharded instances on the cluster"):
 *
 *   cd build && ./s6-bench-shards [updates=20000]
 *
 * One private 6-node cluster (3 masters, 3 replicas) and the S4 test peer
 * for the whole run; then, for n = 1, 2, 3, in the same run: the cluster
 * emptied, n real s6-position processes (shard.count n, shard.index
 * 0..n-1, S4 mode against the peer), updates/100 positions opened (an
 * ENTRY fill each on ord:{results}) and every first stop confirmed, then
 * `updates` price updates written to md:prices in one pipeline as fast as
 * the master takes them.  One update in 100 crosses lock-in step 1 of a
 * position that has not crossed it (a stop move is due: a new stop at
 * S4), the others move a mark between steps (nothing is due).  Handled:
 * the clock runs from the first write to the moment the peer holds every
 * moved stop; the last update written is a crossing, and each instance
 * reads md:prices in order, so by then every update has been read and
 * evaluated by its shard's holder.  updates / that time is the aggregate
 * rate; its ratio to n x the one-instance rate of the same run is the
 * scaling.
 *
 * Every holder reads the whole md:prices (docs/operations.md, "Sharded
 * instances") and evaluates only its own symbols, so reading is not
 * divided by sharding; on a 2-core machine the instances, the six
 * redis-servers and the writer also share two cores.  The exit status
 * says whether what was measured is what was meant: exactly one moved
 * stop per crossing and no other order.
 *
 * market_data.max_age_s is raised to its maximum: the backlog of a
 * saturating burst would otherwise age past the default 5 s and be
 * dropped as stale, which is the hygiene rule working, not throughput.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/shard.h"
#include "fixture.h"
#include "redis/slot.h"

enum { MAX_INSTANCES = 3, EVERY = 100 };
static const double ENTRY = 50000, FIRST_SL = 49000, SEED_MARK = 50100;
static const double CROSS_MARK = 50540; /* ROE 10.8% at 10x: past step 1 */
/* 50200..50339.9: ROE 4-6.8%, between the moved stop and step 1. */
static double quiet_mark(size_t k) { return (502000 + (double)(k % 1400)) / 10; }
/* 50545..50589.5 once crossed: ROE 10.9-11.8%, still step 1 and short of
 * the take-profit step (12%).  Prices that arrive while a position's batch
 * is out are conflated (docs/engine.md, "Evaluation"): a crossing followed
 * at once by a price back under step 1 could be evaluated at the later
 * price only, so a crossed position stays crossed. */
static double crossed_mark(size_t k) { return (505450 + (double)(k % 446)) / 10; }

static size_t updates = 20000, positions;
static s6test_cluster cluster;
static svc_fx fx;
static proc procs[MAX_INSTANCES];
static unsigned running;

static void symbol_of(unsigned round, size_t j, char *out, size_t cap)
{
    snprintf(out, cap, "R%uS%04uUSDT", round, (unsigned)(j % 10000));
}

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    json_t *syms = json_object_get(cfg, "symbols");
    json_t *btc = json_object_get(syms, "BTCUSDT");
    for (unsigned r = 1; r <= MAX_INSTANCES; r++)
        for (size_t j = 0; j < positions; j++) {
            char s[24];
            symbol_of(r, j, s, sizeof s);
            json_object_set_new(syms, s, json_deep_copy(btc));
        }
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.30, "entry", 1));
    svc_set(cfg, "market_data", "max_age_s", json_integer(3600));
    svc_set(cfg, "risk", "max_concurrent_positions", json_integer(100000));
    svc_set(cfg, "risk", "budget", json_real(1e12));
    svc_set(cfg, "orders", "rate_total_per_s", json_integer(10000));
    svc_set(cfg, "orders", "rate_per_symbol_per_s", json_integer(1000));
}

static void set_shard_count(unsigned n)
{
    json_t *cfg = json_load_file(fx.cfg_path, 0, NULL);
    assert_non_null(cfg);
    svc_set(cfg, "shard", "count", json_integer(n));
    assert_int_equal(json_dump_file(cfg, fx.cfg_path, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static void pump_all(bool on)
{
    for (unsigned i = 0; i < running; i++)
        on ? pump_in_background(&procs[i]) : pump_stop(&procs[i]);
}

/* Every master emptied: leases, groups, records and streams of the
 * previous round are gone. */
static void empty_cluster(void)
{
    char out[64];
    for (int i = 0; i < S6TEST_CLUSTER_NODES; i++)
        (void)s6test_cluster_cmd(&cluster, i, out, sizeof out, "FLUSHALL");
    assert_int_equal(s6test_cluster_dbsize(&cluster), 0);
}

static void start_instances(unsigned n)
{
    set_shard_count(n);
    for (unsigned i = 0; i < n; i++) {
        char inst[32], env[32];
        snprintf(inst, sizeof inst, "bench-%u-%u", n, i);
        snprintf(env, sizeof env, "S6_SHARD=%u", i);
        svc_spawn_env(&fx, &procs[i], free_port(), inst, env);
        running = i + 1;
    }
    for (unsigned i = 0; i < n; i++) {
        pump_all(true);
        pump_stop(&procs[i]);
        json_decref(await_log(&procs[i], "start-up done: managing positions"));
        pump_all(false);
    }
}

static void stop_instances(void)
{
    for (unsigned i = 0; i < running; i++) {
        kill(procs[i].pid, SIGKILL);
        await_exit(&procs[i]);
        proc_free(&procs[i]);
    }
    running = 0;
}

typedef struct confirmed_want {
    unsigned round;
} confirmed_want;

static bool all_confirmed(svc_fx *f, void *ud)
{
    const confirmed_want *w = ud;
    for (size_t j = 0; j < positions; j++) {
        char key[48], v[8];
        snprintf(key, sizeof key, "pos:{sl}:level:r%up%zu", w->round, j);
        if (strcmp(svc_hget(f, key, "confirmed", v, sizeof v), "1") != 0)
            return false;
    }
    return true;
}

static void open_positions(unsigned round)
{
    for (size_t j = 0; j < positions; j++) {
        char sym[24], id[24], rid[32], px[32], sl[32];
        symbol_of(round, j, sym, sizeof sym);
        snprintf(id, sizeof id, "r%up%zu", round, j);
        snprintf(rid, sizeof rid, "e-%s", id);
        snprintf(px, sizeof px, "%.1f", ENTRY);
        snprintf(sl, sizeof sl, "%.1f", FIRST_SL);
        svc_entry_fill(&fx, rid, id, sym, "BUY", "0.100", px, sl);
        svc_mark(&fx, sym, SEED_MARK);
    }
    confirmed_want w = { round };
    pump_all(true);
    svc_await(&fx, all_confirmed, &w, "every first stop confirmed");
    pump_all(false);
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The updates in one pipeline to md:prices' master; returns the moment
 * the first was handed to the socket. */
static double write_updates(unsigned round)
{
    const char *key = "md:prices";
    int m = s6test_cluster_master_of(&cluster,
                                     s6_redis_key_slot(key, strlen(key)));
    assert_true(m >= 0);
    redisContext *rc = redisConnect("127.0.0.1", cluster.node[m].port);
    assert_true(rc != NULL && rc->err == 0);
    double t0 = mono_s();
    for (size_t k = 0; k < updates; k++) {
        bool cross = k % EVERY == EVERY - 1;
        size_t j = cross ? k / EVERY : k % positions;
        char sym[24], mark[32], ts[32];
        symbol_of(round, j, sym, sizeof sym);
        bool crossed = !cross && k > j * EVERY + EVERY - 1;
        snprintf(mark, sizeof mark, "%.1f",
                 cross ? CROSS_MARK : crossed ? crossed_mark(k) : quiet_mark(k));
        snprintf(ts, sizeof ts, "%.3f", wall_s());
        redisAppendCommand(rc, "XADD %s * symbol %s market FUT mark %s ts %s",
                           key, sym, mark, ts);
    }
    for (size_t k = 0; k < updates; k++) {
        redisReply *rep = NULL;
        assert_int_equal(redisGetReply(rc, (void **)&rep), REDIS_OK);
        assert_int_equal(rep->type, REDIS_REPLY_STRING);
        freeReplyObject(rep);
    }
    redisFree(rc);
    return t0;
}

/* utime + stime of the running instances, in seconds. */
static double instances_cpu_s(void)
{
    double sum = 0;
    long hz = sysconf(_SC_CLK_TCK);
    for (unsigned i = 0; i < running; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)procs[i].pid);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* the name may hold spaces */
        unsigned long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                                "%lu %lu", &ut, &st) == 2)
            sum += (double)(ut + st) / (double)hz;
    }
    return sum;
}

static double loadavg(void)
{
    double l[1] = { -1 };
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

/* One round: n instances; the aggregate rate in updates/s. */
static double round_of(unsigned n)
{
    empty_cluster();
    start_instances(n);
    size_t per_shard[MAX_INSTANCES] = { 0 };
    for (size_t j = 0; j < positions; j++) {
        char sym[24];
        symbol_of(n, j, sym, sizeof sym);
        per_shard[s6_shard_of(sym, n)]++;
    }
    open_positions(n);
    size_t base = s6_s4_peer_count(fx.peer, S6_S4P_ORDERS);
    size_t crossings = updates / EVERY;
    double la0 = loadavg(), cpu0 = instances_cpu_s();
    double t0 = write_updates(n);
    double t_written = mono_s();
    pump_all(true);
    int rc = s6_s4_peer_wait(fx.peer, S6_S4P_ORDERS, base + crossings, 120000);
    double t1 = mono_s(), cpu = instances_cpu_s() - cpu0;
    pump_all(false);
    assert_int_equal(rc, 0);
    double rate = (double)updates / (t1 - t0);
    printf("%u instance(s): %zu updates (%zu stop moves) handled in %.3f s "
           "(written in %.3f s): %.0f updates/s; the instances' CPU %.2f s "
           "(%.1f us per update); positions per shard",
           n, updates, crossings, t1 - t0, t_written - t0, rate, cpu,
           cpu * 1e6 / (double)updates);
    for (unsigned i = 0; i < n; i++)
        printf(" %zu", per_shard[i]);
    printf("; load average %.1f -> %.1f\n", la0, loadavg());
    fflush(stdout);
    /* Exactly the moved stops: a quiet update sent nothing. */
    size_t got = s6_s4_peer_count(fx.peer, S6_S4P_ORDERS);
    if (got != base + crossings)
        fail_msg("%zu orders at S4 after the updates, %zu expected", got - base,
                 crossings);
    stop_instances();
    return rate;
}

static void bench(void **state)
{
    (void)state;
    svc_fx_setup_cluster(&fx, &cluster, edit_config);
    double rate[MAX_INSTANCES + 1];
    for (unsigned n = 1; n <= MAX_INSTANCES; n++)
        rate[n] = round_of(n);
    printf("\n| instances | updates/s | ratio to n x one instance |\n"
           "|---:|---:|---:|\n");
    for (unsigned n = 1; n <= MAX_INSTANCES; n++)
        printf("| %u | %.0f | %.2f |\n", n, rate[n], rate[n] / (n * rate[1]));
    svc_fx_teardown(&fx);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        updates = strtoul(argv[1], NULL, 10);
    if (updates < EVERY || updates % EVERY != 0) {
        fprintf(stderr, "usage: s6-bench-shards [updates=20000, a multiple "
                        "of %d]\n", EVERY);
        return 2;
    }
    positions = updates / EVERY;
    if (positions > 10000) {
        fprintf(stderr, "s6-bench-shards: at most 1,000,000 updates\n");
        return 2;
    }
    setenv("S6_SOURCE_DIR", S6_SOURCE_DIR, 0);
    setenv("S6_BUILD_DIR", S6_BUILD_DIR, 0);
    setenv("S6_RULES_DIR", S6_SOURCE_DIR "/rules", 0);
    const struct CMUnitTest tests[] = { cmocka_unit_test(bench) };
    if (s6test_cluster_start(&cluster) != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    s6test_cluster_destroy(&cluster);
    return rc;
}
