/* rig.c — the service's engine wiring, in-process (rig.h). */
#include "rig.h"

#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/result_codec.h"
#include "rules/edge.h"

/* The S4 limits at their configured maximum so that they never bind: what
 * is measured is the path, not the venue's allowance (s6-bench-s4 does
 * the same). */
static const char *const overrides[][2] = {
    { "s4", "{\"mode\":\"http\"}" },
    { "orders", "{\"rate_per_symbol_per_s\":1000,\"rate_total_per_s\":10000}" },
    { "treasury", "{\"enabled\":false}" },
    { "paper", "{\"positions\":\"\"}" },
};

double rig_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double rig_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

rig_pct rig_percentiles(uint64_t *v, size_t n)
{
    if (n == 0)
        return (rig_pct){ NAN, NAN, NAN, 0 };
    qsort(v, n, sizeof *v, cmp_u64);
    return (rig_pct){ v[n / 2] / 1e6, v[(n * 99) / 100] / 1e6,
                      v[n - 1] / 1e6, n };
}

struct rig_mem rig_mem_now(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    struct mallinfo2 mi = mallinfo2();
    return (struct rig_mem){ (size_t)resident * (size_t)sysconf(_SC_PAGESIZE),
                             mi.uordblks + mi.hblkhd };
}

static void log_sink(void *ud, const char *line, size_t len)
{
    rig *r = ud;
    if (strstr(line, "\"level\":\"warn\"") != NULL ||
        strstr(line, "\"level\":\"error\"") != NULL)
        r->log_lines++;
    fwrite(line, 1, len, r->log_file);
}

/* One symbol object: the shipped BTCUSDT's filters and brackets. */
static json_t *symbol_json(json_t *model)
{
    json_t *s = json_deep_copy(model);
    json_object_set_new(s, "target_exposure", json_null());
    return s;
}

static int set_object(json_t *root, const char *key, const char *text)
{
    json_t *over = json_loads(text, 0, NULL);
    json_t *obj = json_object_get(root, key);
    if (over == NULL || obj == NULL) {
        json_decref(over);
        return -1;
    }
    json_object_update(obj, over);
    json_decref(over);
    return 0;
}

/* The shipped config/s6.json (its rule parameters, risk and market-data
 * settings) with n generated FUT symbols, Redis, S4 and the history file
 * of this run, loaded through the config loader like the service's. */
static int load_config(rig *r, char *url4)
{
    char path[512], text[1024];
    snprintf(path, sizeof path, "%s/config/s6.json", S6_SOURCE_DIR);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *model = root ? json_object_get(json_object_get(root, "symbols"),
                                           "BTCUSDT") : NULL;
    if (model == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        json_decref(root);
        return -1;
    }
    json_t *symbols = json_object();
    for (size_t i = 0; i < r->n; i++)
        json_object_set_new(symbols, r->symbols[i], symbol_json(model));
    json_object_set_new(root, "symbols", symbols);
    int bad = 0;
    for (size_t i = 0; i < sizeof overrides / sizeof *overrides; i++)
        if (!r->shipped_limits || strcmp(overrides[i][0], "orders") != 0)
            bad |= set_object(root, overrides[i][0], overrides[i][1]);
    snprintf(text, sizeof text,
             "{\"max_concurrent_positions\":%zu,\"budget\":1e12}", r->n);
    bad |= set_object(root, "risk", text);
    if (r->max_age_s) {
        snprintf(text, sizeof text, "{\"max_age_s\":%u}", r->max_age_s);
        bad |= set_object(root, "market_data", text);
    }
    snprintf(text, sizeof text, "{\"url\":\"%s\"}", r->srv.url);
    bad |= set_object(root, "redis", text);
    snprintf(text, sizeof text, "{\"s4_url\":\"%s\"}", url4);
    bad |= set_object(root, "services", text);
    snprintf(text, sizeof text, "{\"path\":\"%s/history.sqlite\"}", r->srv.dir);
    bad |= set_object(root, "history", text);
    snprintf(text, sizeof text, "{\"dir\":\"%s/rules\"}", S6_SOURCE_DIR);
    bad |= set_object(root, "rules", text);
    /* a file, read as the service reads its own */
    snprintf(path, sizeof path, "%s/s6.json", r->srv.dir);
    bad |= bad ? 0 : json_dump_file(root, path, JSON_COMPACT);
    json_decref(root);
    s6_config_error ce;
    int rc = bad ? -1 : s6_config_load_file(path, &r->cfg, &ce);
    if (rc != 0) {
        fprintf(stderr, "config: %s\n", bad ? "cannot build" : ce.message);
        return -1;
    }
    r->cfg_ok = true;
    return 0;
}

static const char *rule_params(void *ud, const char *rule)
{
    return s6_config_rule_params(ud, rule);
}

/* As app.c starts the rule host: the config's limits and parameters. */
static int start_rules(rig *r, char *err, size_t errlen)
{
    s6_rules_svc_config rcfg;
    s6_rules_svc_config_default(&rcfg);
    s6_rules_svc_config_from(&rcfg, &r->cfg);
    rcfg.params_of = rule_params;
    rcfg.params_ud = &r->cfg;
    if (s6_rules_svc_start(&r->rules_svc, NULL, &r->log, r->metrics,
                           &rcfg, err, errlen) != 0)
        return -1;
    r->rules_svc_ok = true;
    if (s6_rules_edge_lua(&r->rules_svc, (int)r->n + 16, &r->rules, err,
                          errlen) != 0)
        return -1;
    r->rules_ok = true;
    return 0;
}

static double clock_now(void *ud)
{
    (void)ud;
    return rig_wall_now();
}

static void on_redis_state(s6_redis *rd, s6_redis_state st, int code,
                           void *ud)
{
    (void)rd;
    (void)code;
    ((rig *)ud)->redis_up = st == S6_REDIS_UP;
}

static bool redis_up(void *ud) { return ((rig *)ud)->redis_up; }

/* service.c's build(), S4 mode. */
static int build(rig *r, char *err, size_t errlen)
{
    s6_redis_opts ro = { .log = &r->log, .name = "cmd",
                         .on_state = on_redis_state, .state_ud = r };
    s6_state_opts so = { .clock = { clock_now, NULL }, .log = &r->log };
    s6_store_err serr = { "" };
    if (s6_metrics_new_service(&r->metrics) < 0 ||
        s6_httpc_new(&r->httpc, &r->loop, NULL, &r->log) < 0 ||
        s6_store_open_sqlite(r->cfg.history.path, &r->store, &serr) < 0 ||
        s6_store_turn_start(&r->loop, r->store, &r->log, &r->store_turn) < 0 ||
        s6_redis_open(&r->loop, r->cfg.redis.url, &ro, &r->redis, err,
                      errlen) < 0 ||
        s6_state_new(r->redis, &so, &r->state) < 0 ||
        s6_s4_router_new(&r->loop, r->httpc, &r->cfg, &r->log, r->metrics,
                         &r->s4, err, errlen) < 0 ||
        s6_s4_router_new(&r->loop, r->httpc, &r->floor_cfg, &r->log, NULL,
                         &r->floor_s4, err, errlen) < 0 ||
        start_rules(r, err, errlen) < 0) {
        if (serr.msg[0])
            snprintf(err, errlen, "history store: %s", serr.msg);
        return -1;
    }
    s6_engine_edges edges = {
        .state = s6_state_edge_of(r->state),
        .rules = r->rules,
        .clock = { clock_now, NULL },
        .store = r->store,
    };
    s6_s4_router_edge(r->s4, &edges.router);
    if (s6_engine_new(&r->cfg, &edges, &r->log, r->metrics, &r->engine,
                      err, errlen) < 0)
        return -1;
    return s6_engine_resume(r->engine) < 0 ? -1 : 0; /* nothing to restore */
}

static int on_result(void *ud, const s6_order_result *res, char *err,
                     size_t errlen)
{
    return s6_engine_on_result(((rig *)ud)->engine, res, err, errlen);
}

static int on_barrier(void *ud, void (*done)(void *cb_ud, bool ok),
                      void *cb_ud)
{
    s6_state_edge edge = s6_state_edge_of(((rig *)ud)->state);
    return edge.barrier(edge.ud, done, cb_ud);
}

static bool feed_reading(void *ud)
{
    s6_feed_stats st;
    s6_feed_get_stats(((rig *)ud)->feed, &st);
    return st.reading;
}

/* service.c's start_consuming(), without the timers. */
static int consume(rig *r, char *err, size_t errlen)
{
    s6_results_opts ro = {
        .url = r->cfg.redis.url, .consumer = "bench",
        .on_result = on_result, .result_ud = r,
        .barrier = on_barrier, .barrier_ud = r, .log = &r->log,
    };
    s6_feed_opts fo = {
        .url = r->cfg.redis.url,
        .regimes = { (const char *const *)r->cfg.rules.regimes.v,
                     r->cfg.rules.regimes.n },
        .on_market = r->on_market, .ud = r->market_ud,
        .busy = s6_feed_redis_busy, .busy_ud = r->redis, .log = &r->log,
    };
    if (s6_results_start(&r->loop, r->redis, &ro, &r->results, err,
                         errlen) < 0 ||
        s6_feed_start(&r->loop, &fo, &r->feed, err, errlen) < 0)
        return -1;
    return rig_run_until(r, feed_reading, r, 10000);
}

static int start_peers(rig *r, char *url4, char *url0, size_t cap)
{
    s6_s4_peer_opts po = { .redis_url = r->srv.url };
    if (s6_s4_peer_start(&r->peer, &po) != 0 ||
        s6_s4_peer_start(&r->floor_peer, NULL) != 0)
        return -1;
    s6_s4_peer_url(r->peer, url4, cap);
    s6_s4_peer_url(r->floor_peer, url0, cap);
    return 0;
}

/* A private redis-server, or with S6_BENCH_CLUSTER=1 a private 6-node
 * Redis Cluster (3 masters, 3 replicas) that everything reaches through
 * its redis+cluster:// URL. */
static int start_redis(rig *r)
{
    const char *v = getenv("S6_BENCH_CLUSTER");
    if (!v || strcmp(v, "1") != 0)
        return s6test_redis_start(&r->srv);
    r->cluster = calloc(1, sizeof *r->cluster);
    r->slot_port = calloc(16384, sizeof *r->slot_port);
    if (!r->cluster || !r->slot_port || s6test_cluster_start(r->cluster) != 0 ||
        s6test_cluster_slot_ports(r->cluster, r->slot_port) != 0)
        return -1;
    snprintf(r->srv.url, sizeof r->srv.url, "%s", r->cluster->url);
    r->srv.port = r->cluster->node[0].port;
    snprintf(r->srv.dir, sizeof r->srv.dir, "/tmp/s6bench.XXXXXX");
    return mkdtemp(r->srv.dir) ? 0 : -1;
}

int rig_start(rig *r, size_t n, s6_feed_on_market on_market, void *ud)
{
    return rig_start_with(r, n, &(rig_opts){ .side = 1 }, on_market, ud);
}

int rig_start_with(rig *r, size_t n, const rig_opts *opts,
                   s6_feed_on_market on_market, void *ud)
{
    char err[512] = "", url4[64];
    *r = (rig){ .n = n, .on_market = on_market, .market_ud = ud,
                .side = opts->side < 0 ? -1 : 1,
                .shipped_limits = opts->shipped_limits,
                .max_age_s = opts->max_age_s };
    uv_loop_init(&r->loop);
    r->srv.aof = 0;
    r->symbols = calloc(n, sizeof *r->symbols);
    r->instruments = calloc(n, sizeof *r->instruments);
    if (r->symbols == NULL || r->instruments == NULL ||
        start_redis(r) != 0 ||
        start_peers(r, url4, r->floor_url, sizeof url4) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        snprintf(r->symbols[i], RIG_SYMBOL_LEN, "S%05uUSDT", (unsigned)i);
        r->instruments[i] = (s6_md_instrument){ S6_MARKET_FUT,
                                                r->symbols[i] };
    }
    r->mem_start = rig_mem_now();
    if ((r->log_file = fopen(opts->log_file ? opts->log_file : RIG_LOG_FILE,
                             "w")) == NULL ||
        load_config(r, url4) != 0)
        return -1;
    r->mem_config = rig_mem_now();
    s6_log_init(&r->log, (s6_log_level)r->cfg.log.level);
    s6_log_set_sink(&r->log, log_sink, r);
    r->floor_cfg = r->cfg;
    r->floor_cfg.services.s4_url = r->floor_url;
    if (build(r, err, sizeof err) != 0 ||
        rig_run_until(r, redis_up, r, 10000) != 0 ||
        consume(r, err, sizeof err) != 0) {
        fprintf(stderr, "rig: %s\n", err[0] ? err : "start-up timed out");
        return -1;
    }
    return 0;
}

/* ---- running the loop until something happened ---- */

typedef struct until {
    bool (*done)(void *ud);
    void *ud;
    bool met;
} until;

static void check(until *u, uv_loop_t *loop)
{
    if (u->done != NULL && u->done(u->ud)) {
        u->met = true;
        uv_stop(loop);
    }
}

/* After every loop iteration (no wake-ups of its own: a timer every
 * millisecond would cost the loop measurable CPU at 1,000 updates/s) ... */
static void on_iteration(uv_check_t *c)
{
    check(c->data, c->loop);
}

/* ... and now and then, for a condition another thread changes. */
static void on_poll(uv_timer_t *t)
{
    check(t->data, t->loop);
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

int rig_run_until(rig *r, bool (*done)(void *ud), void *ud,
                  unsigned timeout_ms)
{
    until u = { done, ud, done != NULL && done(ud) };
    uv_check_t iter;
    uv_timer_t poll, deadline;
    uv_check_init(&r->loop, &iter);
    uv_timer_init(&r->loop, &poll);
    uv_timer_init(&r->loop, &deadline);
    iter.data = poll.data = &u;
    uv_check_start(&iter, on_iteration);
    uv_timer_start(&poll, on_poll, 20, 20);
    uv_timer_start(&deadline, on_deadline, timeout_ms, 0);
    if (!u.met)
        uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&iter, NULL);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&r->loop, UV_RUN_NOWAIT);
    return u.met ? 0 : -1;
}

void rig_run_for(rig *r, unsigned ms)
{
    rig_run_until(r, NULL, NULL, ms);
}

/* ---- setup writes ---- */

typedef struct writes {
    size_t owed, failed;
} writes;

static void on_written(s6_redis *rd, const struct redisReply *rep, int code,
                       void *ud)
{
    (void)rd;
    (void)rep;
    writes *w = ud;
    w->owed--;
    w->failed += code != 0;
}

static bool all_written(void *ud) { return ((writes *)ud)->owed == 0; }

int rig_write_last(rig *r, double mark)
{
    writes w = { 0, 0 };
    s6_md_regimes rg = { (const char *const *)r->cfg.rules.regimes.v,
                         r->cfg.rules.regimes.n };
    for (size_t i = 0; i < r->n; i++) {
        s6_md_update m = { .market = S6_MARKET_FUT };
        snprintf(m.symbol, sizeof m.symbol, "%s", r->symbols[i]);
        m.u = (s6_market_update){ .ts = rig_wall_now(), .mark = mark,
                                  .regime = -1, .health = NAN };
        s6_bus_out out;
        char err[160], key[96];
        if (s6_md_update_format(&m, &rg, &out, err, sizeof err) < 0 ||
            s6_md_last_key(m.market, m.symbol, key, sizeof key) < 0 ||
            s6_redis_hset(r->redis, key, out.kv, out.n, on_written, &w) < 0)
            return -1;
        w.owed++;
    }
    return rig_run_until(r, all_written, &w, 60000) == 0 && w.failed == 0
               ? 0 : -1;
}

typedef struct opening {
    rig *r;
    size_t upto;
} opening;

static bool all_protected(void *ud)
{
    opening *o = ud;
    s6_engine_status st;
    s6_engine_get_status(o->r->engine, &st);
    return st.positions == o->upto && st.unprotected == 0;
}

/* Entries [from, to): written, then open and protected. */
static int open_chunk(rig *r, size_t from, size_t to, double entry,
                      double qty, double sl)
{
    writes w = { 0, 0 };
    for (size_t i = from; i < to; i++) {
        s6_order_result res = {
            .kind = S6_RES_FILL, .market = S6_MARKET_FUT, .sl_px = sl,
            .leverage = 10, .risk_reserved = entry * qty / 10,
            .concurrency_reserved = 1, .ts = rig_wall_now(),
            .fill = { .kind = S6_FILL_ENTRY, .side = r->side, .qty = qty,
                      .price = entry, .ts = rig_wall_now() },
        };
        snprintf(res.result_id, sizeof res.result_id, "entry-%zu", i);
        snprintf(res.intent_id, sizeof res.intent_id, "up-%zu", i);
        snprintf(res.pos_id, sizeof res.pos_id, "b%05u", (unsigned)i);
        snprintf(res.symbol, sizeof res.symbol, "%s", r->symbols[i]);
        s6_bus_out out;
        char err[160];
        if (s6_result_format(&res, &out, err, sizeof err) < 0 ||
            s6_redis_xadd(r->redis, "ord:{results}", "*", out.kv, out.n,
                          on_written, &w) < 0) {
            fprintf(stderr, "entry %zu: %s\n", i, err);
            return -1;
        }
        w.owed++;
    }
    opening o = { r, to };
    if (rig_run_until(r, all_written, &w, 60000) != 0 || w.failed != 0)
        return -1;
    return rig_run_until(r, all_protected, &o, 60000);
}

/* A chunk at a time, as positions arrive in a running system: ten thousand
 * first stops at once would measure S4's accept queue. */
int rig_open_positions(rig *r, double entry, double qty, double sl)
{
    for (size_t i = 0; i < r->n; i += RIG_OPEN_CHUNK) {
        size_t to = i + RIG_OPEN_CHUNK < r->n ? i + RIG_OPEN_CHUNK : r->n;
        if (open_chunk(r, i, to, entry, qty, sl) != 0)
            return -1;
    }
    return 0;
}

/* ---- teardown, in service.c's order ---- */

static void on_httpc_closed(s6_httpc *c, void *ud)
{
    (void)c;
    *(bool *)ud = true;
}

static bool flag_set(void *ud) { return *(bool *)ud; }

static void close_io(rig *r)
{
    if (r->feed != NULL)
        s6_feed_close(r->feed);
    if (r->results != NULL)
        s6_results_close(r->results);
    s6_engine_free(r->engine);
    s6_store_turn_stop(r->store_turn);
    s6_s4_router_free(r->s4);
    s6_s4_router_free(r->floor_s4);
    s6_state_free(r->state);
    if (r->redis != NULL)
        s6_redis_close(r->redis);
    bool closed = r->httpc == NULL;
    if (!closed)
        s6_httpc_shutdown(r->httpc, on_httpc_closed, &closed);
    rig_run_until(r, flag_set, &closed, 10000);
    if (r->httpc != NULL)
        s6_httpc_free(r->httpc);
    uv_run(&r->loop, UV_RUN_DEFAULT);
}

void rig_free(rig *r)
{
    close_io(r);
    uv_loop_close(&r->loop);
    s6_store_close(r->store);
    if (r->rules_ok)
        s6_rules_edge_free(&r->rules);
    if (r->rules_svc_ok)
        s6_rules_svc_free(&r->rules_svc);
    s6_metrics_free(r->metrics);
    s6_s4_peer_free(r->peer);
    s6_s4_peer_free(r->floor_peer);
    if (r->cfg_ok)
        s6_config_free(&r->cfg);
    if (r->log_file != NULL)
        fclose(r->log_file);
    if (r->srv.dir[0])
        s6test_redis_destroy(&r->srv);
    if (r->cluster)
        s6test_cluster_destroy(r->cluster);
    free(r->cluster);
    free(r->slot_port);
    free(r->symbols);
    free(r->instruments);
}
