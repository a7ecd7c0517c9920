/*
 * service.c — the engine wired to its real edges (service.h).
 *
 * Everything here runs on the app's loop.  The start-up is a chain of
 * callbacks (lease -> load -> restore -> reconcile -> resume -> consume),
 * each step logged, so a stalled step is visible in the log and in
 * GET /ready.
 */
#include "app/service.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "venue/durable.h"
#include "replay/price_pub.h"
#include "bus/feed.h"
#include "bus/fields.h"
#include "bus/lease.h"
#include "bus/result_codec.h"
#include "bus/results.h"
#include "bus/state.h"
#include "engine/engine.h"
#include "httpc/httpc.h"
#include "venue/paper/paper.h"
#include "venue/paper/positions.h"
#include "redis/redis.h"
#include "rules/edge.h"
#include "venue/s4/router.h"
#include "venue/s4/venue.h"
#include "store/arangodb.h"
#include "store/store.h"
#include "treasury/treasury.h"

enum { SVC_SLOTS = 16384, PAPER_PUMP_MS = 10, LEASE_TTL_MS = 10000 };

struct s6_service {
    s6_app *app;
    uv_loop_t *loop;
    s6_log *log;
    const s6_config *cfg;
    char instance[64];
    s6_httpc *httpc;
    s6_store *store;
    s6_redis *redis;          /* commands: state, lease, snapshots */
    s6_state *state;
    s6_lease *lease;
    s6_results *results;
    s6_feed *feed;
    s6_s4_router *s4;         /* S6_S4_HTTP */
    s6_paper *paper;          /* S6_S4_PAPER */
    s6_durable_router *durable; /* write-ahead in front of either */
    s6_price_pub *pub;        /* paper mode: the recorded prices */
    s6_rules_edge rules;
    bool rules_edge_ok;
    s6_engine *engine;
    s6_treasury *treasury;    /* NULL when treasury.enabled is false */
    uv_timer_t tick, reconcile, pump;
    bool timers_on;
    bool acting;              /* start-up finished: consuming and ticking */
    bool stopping;
    bool reconciling;
    double last_reconcile_ok;  /* wall seconds, 0 = never */
    char reconcile_error[200];
    s6_md_instrument *instruments; /* configured symbols, for the tick */
    s6_paper_entry *entries;  /* paper mode: start positions not yet sent */
    size_t n_entries;
    size_t n_instruments;
};

/* Stops the whole process the way a signal does, so the app's stop hook
 * (main.c) runs and stops the service too. */
static void fatal(s6_service *svc)
{
    s6_app_stop(svc->app, svc->app->stopped_cb, svc->app->stopped_ud);
}

/* ---- clock ---------------------------------------------------------- */

static double wall_now(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const s6_clock wall_clock = { wall_now, NULL };

/* ---- paper mode: results go through ord:{results} like S4's ----------- */

static void on_xadd(s6_redis *r, const struct redisReply *reply, int code,
                    void *ud)
{
    (void)r;
    (void)reply;
    s6_service *svc = ud;
    if (code != 0)
        s6_log_error(svc->log, "paper", "cannot publish an order result",
                     S6_LOG_STR("error", s6_redis_strerror(code)));
}

static void paper_result(void *ud, const s6_order_result *res)
{
    s6_service *svc = ud;
    s6_bus_out out;
    char err[160];
    if (s6_result_format(res, &out, err, sizeof err) < 0 ||
        s6_redis_xadd(svc->redis, "ord:{results}", "*", out.kv, out.n,
                      on_xadd, svc) < 0)
        s6_log_error(svc->log, "paper", "order result not published",
                     S6_LOG_STR("result_id", res->result_id),
                     S6_LOG_STR("error", err));
}

static void publish_balances(s6_service *svc)
{
    s6_paper_balances b;
    s6_paper_get_balances(svc->paper, &b);
    s6_bus_out out;
    s6_bus_out_init(&out);
    s6_bus_out_num(&out, "spot_free", b.spot_free);
    s6_bus_out_num(&out, "fut_free", b.fut_free);
    s6_bus_out_num(&out, "ts", wall_now(NULL));
    s6_redis_hset(svc->redis, "treasury:balances", out.kv, out.n, on_xadd,
                  svc);
}

/* Paper mode stands in for the upstream risk service too: the config's
 * budget and concurrency become the quota limits when nobody has set them
 * (HSETNX), so the demo's add-ons can reserve.  A real deployment's risk
 * service owns these keys and S6 leaves them alone. */
static void seed_quota_limits(s6_service *svc)
{
    char budget[32], slots[16];
    snprintf(budget, sizeof budget, "%.8g", svc->cfg->risk.budget);
    snprintf(slots, sizeof slots, "%u", svc->cfg->risk.max_concurrent_positions);
    const char *b[] = { "HSETNX", "risk:{budget}", "limit", budget };
    const char *c[] = { "HSETNX", "risk:{concurrency}", "limit", slots };
    if (s6_bus_cmd(svc->redis, 0, on_xadd, svc, 4, b) != 0 ||
        s6_bus_cmd(svc->redis, 0, on_xadd, svc, 4, c) != 0)
        s6_log_error(svc->log, "paper", "quota limits not seeded");
}

static void on_pump(uv_timer_t *t)
{
    s6_service *svc = t->data;
    if (s6_paper_next_due(svc->paper) <= wall_now(NULL))
        s6_paper_pump(svc->paper);
}

/* The example positions open once, on a book that has none, each when the
 * paper venue has seen its symbol's first mark (a venue cannot fill a
 * market order without a price). */
static void load_start_positions(s6_service *svc)
{
    const char *path = svc->cfg->paper.positions;
    s6_engine_status st;
    s6_engine_get_status(svc->engine, &st);
    if (path == NULL || path[0] == '\0' || st.positions > 0)
        return;
    char err[256] = "";
    if (s6_paper_entries_load(path, svc->cfg, &svc->entries,
                              &svc->n_entries, err, sizeof err) < 0) {
        s6_log_error(svc->log, "paper", "start positions not opened",
                     S6_LOG_STR("file", path), S6_LOG_STR("error", err));
        return;
    }
    s6_log_info(svc->log, "paper", "start positions open at the first "
                "price of their symbol", S6_LOG_STR("file", path),
                S6_LOG_INT("count", (long long)svc->n_entries));
}

static void open_start_positions(s6_service *svc, const char *symbol,
                                 int market)
{
    for (size_t i = 0; i < svc->n_entries; i++) {
        s6_paper_entry *e = &svc->entries[i];
        if (e->symbol[0] == '\0' || e->market != market ||
            strcmp(e->symbol, symbol) != 0)
            continue;
        char err[256] = "";
        if (s6_paper_open(svc->paper, e, err, sizeof err) < 0)
            s6_log_error(svc->log, "paper", "start position refused",
                         S6_LOG_STR("pos_id", e->pos_id),
                         S6_LOG_STR("error", err));
        e->symbol[0] = '\0'; /* sent (or refused): never twice */
    }
}

/* ---- inputs into the engine ----------------------------------------- */

static int on_result(void *ud, const s6_order_result *r, char *err,
                     size_t errlen)
{
    s6_service *svc = ud;
    /* S4 refusing an order for want of margin is the treasury's event
     * trigger; the engine records the refusal as any other. */
    if (svc->treasury != NULL && r->kind == S6_RES_REJECTED &&
        strstr(r->reason, "insufficient_balance") != NULL)
        s6_treasury_on_insufficient_balance(svc->treasury, r->symbol);
    return s6_engine_on_result(svc->engine, r, err, errlen);
}

static int on_barrier(void *ud, void (*done)(void *cb_ud, bool ok),
                      void *cb_ud)
{
    s6_service *svc = ud;
    s6_state_edge edge = s6_state_edge_of(svc->state);
    return edge.barrier(edge.ud, done, cb_ud);
}

static void on_market(void *ud, const char *symbol, int market,
                      const s6_market_update *u)
{
    s6_service *svc = ud;
    /* The paper venue sees the mark first: a stop it triggers is a fill
     * the engine learns of through ord:{results}, as from a real venue. */
    if (svc->paper != NULL) {
        s6_paper_mark(svc->paper, symbol, market, u->mark);
        open_start_positions(svc, symbol, market);
    }
    s6_engine_on_market(svc->engine, symbol, market, u);
}

static void on_signal(void *ud, const char *symbol, int market, int side,
                      double strength, double ts)
{
    (void)market;
    s6_service *svc = ud;
    s6_engine_on_signal(svc->engine, symbol, side, strength, ts);
}

/* ---- the manage tick: re-read the latest market data, evaluate all ---- */

static void on_snapshot(void *ud, const s6_md_snap *snaps, size_t n)
{
    s6_service *svc = ud;
    if (svc->stopping || svc->engine == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (snaps[i].rc == 0)
            s6_engine_on_market(svc->engine, snaps[i].m.symbol,
                                snaps[i].m.market, &snaps[i].m.u);
    s6_engine_tick(svc->engine);
    if (svc->paper != NULL)
        publish_balances(svc);
}

static void on_tick(uv_timer_t *t)
{
    s6_service *svc = t->data;
    s6_md_regimes regimes = { (const char *const *)svc->cfg->rules.regimes.v,
                              svc->cfg->rules.regimes.n };
    if (svc->n_instruments == 0 ||
        s6_bus_feed_snapshot(svc->redis, svc->instruments,
                             svc->n_instruments, &regimes, on_snapshot,
                             svc) < 0)
        on_snapshot(svc, NULL, 0);
}

/* ---- reconciliation with S4 ----------------------------------------- */

typedef void (*after_fn)(s6_service *svc);

typedef struct reconcile_call {
    s6_service *svc;
    after_fn after;
} reconcile_call;

static void on_venue(void *ud, int rc, const s6_venue_view *view,
                     const char *err)
{
    reconcile_call *c = ud;
    s6_service *svc = c->svc;
    after_fn after = c->after;
    free(c);
    svc->reconciling = false;
    if (svc->stopping)
        return;
    if (rc < 0) {
        snprintf(svc->reconcile_error, sizeof svc->reconcile_error, "%s",
                 err ? err : "failed");
        s6_log_error(svc->log, "service", "reconciliation with S4 failed; "
                     "retried on the next reconciliation tick",
                     S6_LOG_STR("error", svc->reconcile_error));
    } else {
        svc->reconcile_error[0] = '\0';
        svc->last_reconcile_ok = wall_now(NULL);
        s6_engine_reconcile(svc->engine, view);
    }
    if (after != NULL)
        after(svc);
}

static void reconcile_then(s6_service *svc, after_fn after)
{
    if (svc->s4 == NULL) { /* the paper venue is this process: no drift */
        if (after != NULL)
            after(svc);
        return;
    }
    reconcile_call *c = malloc(sizeof *c);
    if (c == NULL || svc->reconciling) {
        free(c);
        if (after != NULL)
            after(svc);
        return;
    }
    *c = (reconcile_call){ svc, after };
    svc->reconciling = true;
    if (s6_s4_fetch_venue(svc->s4, on_venue, c) < 0) {
        svc->reconciling = false;
        free(c);
        if (after != NULL)
            after(svc);
    }
}

static void on_reconcile_tick(uv_timer_t *t)
{
    reconcile_then(t->data, NULL);
}

/* ---- start-up chain ------------------------------------------------- */

static void on_feed_reading(void *ud);

static void start_consuming(s6_service *svc)
{
    char err[256] = "";
    const s6_config *cfg = svc->cfg;
    s6_results_opts ro = {
        .url = cfg->redis.url, .consumer = svc->instance,
        .on_result = on_result, .result_ud = svc,
        .barrier = on_barrier, .barrier_ud = svc, .log = svc->log,
    };
    s6_feed_opts fo = {
        .url = cfg->redis.url,
        .regimes = { (const char *const *)cfg->rules.regimes.v,
                     cfg->rules.regimes.n },
        .on_market = on_market, .on_signal = on_signal,
        .on_reading = on_feed_reading, .ud = svc, .log = svc->log,
    };
    if (s6_results_start(svc->loop, svc->redis, &ro, &svc->results, err,
                         sizeof err) < 0 ||
        s6_feed_start(svc->loop, &fo, &svc->feed, err, sizeof err) < 0) {
        s6_log_error(svc->log, "service", "cannot consume results or the "
                     "market feed; stopping", S6_LOG_STR("error", err));
        fatal(svc);
        return;
    }
    uint64_t tick_ms = (uint64_t)cfg->ticks.manage_interval_s * 1000;
    uint64_t rec_ms = (uint64_t)cfg->ticks.reconcile_interval_s * 1000;
    uv_timer_start(&svc->tick, on_tick, tick_ms, tick_ms);
    if (svc->s4 != NULL)
        uv_timer_start(&svc->reconcile, on_reconcile_tick, rec_ms, rec_ms);
    if (svc->paper != NULL) {
        uv_timer_start(&svc->pump, on_pump, PAPER_PUMP_MS, PAPER_PUMP_MS);
        s6_price_pub_opts po = {
            .dir = cfg->replay.dir, .speed = cfg->replay.speed,
            .atr_bar_s = cfg->replay.atr_bar_s,
            .regimes = (const char *const *)cfg->rules.regimes.v,
            .n_regimes = cfg->rules.regimes.n, .log = svc->log,
        };
        if (s6_price_pub_start(svc->loop, svc->redis, &po, &svc->pub, err,
                               sizeof err) < 0)
            s6_log_error(svc->log, "replay", "no price replay",
                         S6_LOG_STR("error", err));
        seed_quota_limits(svc);
        load_start_positions(svc);
        publish_balances(svc);
    }
    if (svc->treasury != NULL && s6_treasury_start(svc->treasury) < 0)
        s6_log_error(svc->log, "treasury", "the treasury did not start");
}

/* The feed reads from its resolved start: no price written from now on
 * is missed, so the service is live.  A first tick re-reads the latest
 * prices at once instead of a manage interval later. */
static void on_feed_reading(void *ud)
{
    s6_service *svc = ud;
    if (svc->stopping || svc->acting)
        return;
    svc->acting = true;
    s6_app_set_ready(svc->app, "reconciled", true);
    s6_log_info(svc->log, "service", "start-up done: managing positions",
                S6_LOG_STR("instance", svc->instance));
    on_tick(&svc->tick);
}

static void resume(s6_service *svc)
{
    if (svc->stopping)
        return;
    s6_engine_resume(svc->engine);
    start_consuming(svc);
}

/* The paper venue is this process: after a restart it is empty while the
 * exchange it stands for would still hold the positions, so the restored
 * ones go back into its book (their stops are re-armed on resume). */
static void restore_paper_book(s6_service *svc, const s6_engine_record *recs,
                               size_t n)
{
    for (size_t i = 0; svc->paper != NULL && i < n; i++) {
        const s6_position *p = &recs[i].pos;
        char err[200] = "";
        if (p->state == S6_POS_CLOSED || !(p->qty > 0))
            continue;
        if (s6_paper_restore(svc->paper, p->symbol, p->market, p->side,
                             p->qty, p->entry, p->leverage, err,
                             sizeof err) < 0)
            s6_log_error(svc->log, "paper", "position not restored in the "
                         "paper book", S6_LOG_STR("pos_id", p->id),
                         S6_LOG_STR("error", err));
    }
}

static void on_loaded(void *ud, int rc, s6_engine_record *recs, size_t n,
                      const char *err)
{
    s6_service *svc = ud;
    if (svc->stopping) {
        s6_state_free_records(recs, n);
        return;
    }
    char rerr[256] = "";
    if (rc < 0 ||
        s6_engine_restore(svc->engine, recs, n, rerr, sizeof rerr) < 0) {
        s6_log_error(svc->log, "service", "cannot restore the positions; "
                     "nothing will act",
                     S6_LOG_STR("error", rc < 0 && err ? err : rerr));
        s6_state_free_records(recs, n);
        fatal(svc);
        return;
    }
    s6_log_info(svc->log, "service", "positions restored",
                S6_LOG_INT("count", (long long)n));
    restore_paper_book(svc, recs, n);
    s6_state_free_records(recs, n);
    reconcile_then(svc, resume);
}

static void on_lease_acquired(void *ud)
{
    s6_service *svc = ud;
    s6_app_set_ready(svc->app, "lease", true);
    s6_log_info(svc->log, "service", "lease acquired: this instance acts",
                S6_LOG_STR("instance", svc->instance));
    if (s6_state_load(svc->state, on_loaded, svc) < 0) {
        s6_log_error(svc->log, "service", "cannot load the positions");
        fatal(svc);
    }
}

/* Another instance holds the lease now: acting on would make two writers. */
static void on_lease_lost(void *ud, const char *why)
{
    s6_service *svc = ud;
    s6_app_set_ready(svc->app, "lease", false);
    s6_log_error(svc->log, "service", "lease lost: stopping so that one "
                 "instance acts", S6_LOG_STR("why", why ? why : ""));
    fatal(svc);
}

static void on_redis_state(s6_redis *r, s6_redis_state st, int code,
                           void *ud)
{
    (void)r;
    (void)code;
    s6_service *svc = ud;
    s6_app_set_ready(svc->app, "redis", st == S6_REDIS_UP);
}

/* ---- GET /health checks -------------------------------------------- */

static json_t *check_redis(void *ud)
{
    s6_service *svc = ud;
    s6_redis_state st = svc->redis ? s6_redis_get_state(svc->redis)
                                   : S6_REDIS_DOWN;
    s6_results_stats rs = { 0 };
    if (svc->results != NULL)
        s6_results_get_stats(svc->results, &rs);
    return json_pack("{s:b, s:s, s:I, s:b, s:I, s:I}", "ok",
                     st == S6_REDIS_UP, "url", svc->cfg->redis.url,
                     "in_flight", (json_int_t)(svc->redis
                                   ? s6_redis_in_flight(svc->redis) : 0),
                     "results_live", rs.live, "results_acked",
                     (json_int_t)rs.acked, "results_dead",
                     (json_int_t)rs.dead);
}

static json_t *check_lease(void *ud)
{
    s6_service *svc = ud;
    bool held = svc->lease != NULL && s6_lease_held(svc->lease);
    return json_pack("{s:b, s:s}", "ok", held, "instance", svc->instance);
}

static json_t *check_store(void *ud)
{
    s6_service *svc = ud;
    return json_pack("{s:b, s:s}", "ok", svc->store != NULL, "backend",
                     svc->cfg->history.backend == S6_HISTORY_ARANGODB
                         ? "arangodb" : "sqlite");
}

/* S4 is reachable when the last reconciliation call answered; the
 * paper router is in the process. */
static json_t *check_s4(void *ud)
{
    s6_service *svc = ud;
    if (svc->s4 == NULL)
        return json_pack("{s:b, s:s}", "ok", true, "mode", "paper");
    s6_s4_router_stats st;
    s6_s4_router_get_stats(svc->s4, &st);
    double age = svc->last_reconcile_ok > 0
                     ? wall_now(NULL) - svc->last_reconcile_ok : -1;
    return json_pack("{s:b, s:s, s:s, s:f, s:s, s:I, s:I, s:I, s:I}", "ok",
                     svc->last_reconcile_ok > 0 && !svc->reconcile_error[0],
                     "mode", "s4", "url", svc->cfg->services.s4_url,
                     "last_reconcile_age_s", age, "error",
                     svc->reconcile_error, "queued", (json_int_t)st.queued,
                     "in_flight", (json_int_t)st.in_flight, "rejected",
                     (json_int_t)st.rejected, "failed", (json_int_t)st.failed);
}

static void add_checks(s6_service *svc)
{
    static const struct {
        const char *name;
        s6_app_check_fn fn;
    } checks[] = { { "redis", check_redis }, { "lease", check_lease },
                   { "history_store", check_store }, { "s4", check_s4 } };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        if (s6_app_add_check(svc->app, checks[i].name, checks[i].fn, svc) < 0)
            s6_log_warn(svc->log, "service", "health check not added",
                        S6_LOG_STR("check", checks[i].name));
}

/* ---- building the pieces -------------------------------------------- */

/* The embedded default keeps its file under var/, which a fresh clone
 * lacks; a folder that cannot be made shows in the store's error. */
static void make_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    mkdir(dir, 0755);
}

/* "Basic " + base64(user:password), ArangoDB's HTTP authentication. */
static void basic_auth(const char *user, const char *pw, char *out,
                       size_t cap)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char plain[400];
    int n = snprintf(plain, sizeof plain, "%s:%s", user, pw);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof plain ? (size_t)n
                                                        : sizeof plain - 1;
    size_t o = (size_t)snprintf(out, cap, "Basic ");
    for (size_t i = 0; i < len && o + 5 < cap; i += 3) {
        unsigned v = (unsigned char)plain[i] << 16;
        if (i + 1 < len)
            v |= (unsigned char)plain[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)plain[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}

static int open_store(s6_service *svc, char *err, size_t errlen)
{
    s6_store_err serr = { "" };
    int rc;
    if (svc->cfg->history.backend == S6_HISTORY_ARANGODB) {
        const char *pw_env = svc->cfg->history.password_env;
        const char *pw = pw_env && pw_env[0] ? getenv(pw_env) : NULL;
        char auth[600] = "";
        if (pw != NULL)
            basic_auth(svc->cfg->history.user, pw, auth, sizeof auth);
        s6_store_arango_opts o = {
            .base_url = svc->cfg->history.arangodb_url,
            .database = svc->cfg->history.database,
            .authorization = auth[0] ? auth : NULL,
            .timeout_ms = svc->cfg->services.request_timeout_ms,
        };
        rc = s6_store_open_arangodb(&o, svc->httpc, &svc->store, &serr);
    } else {
        make_parent_dir(svc->cfg->history.path);
        rc = s6_store_open_sqlite(svc->cfg->history.path, &svc->store, &serr);
    }
    if (rc < 0)
        snprintf(err, errlen, "history store: %s", serr.msg);
    return rc;
}

static int open_router(s6_service *svc, s6_router *router, char *err,
                       size_t errlen)
{
    if (svc->cfg->s4.mode == S6_S4_HTTP) {
        int rc = s6_s4_router_new(svc->loop, svc->httpc, svc->cfg, svc->log,
                                  svc->app->metrics, &svc->s4, err, errlen);
        if (rc == 0)
            s6_s4_router_edge(svc->s4, router);
        return rc;
    }
    s6_paper_opts po;
    s6_paper_opts_from_config(svc->cfg, &po);
    po.clock = wall_clock;
    po.on_result = paper_result;
    po.result_ud = svc;
    /* Result ids must not repeat across restarts (the engine refuses an
     * id it has applied): the start time makes this run's prefix. */
    snprintf(po.result_prefix, sizeof po.result_prefix, "p%llx",
             (unsigned long long)wall_now(NULL));
    int rc = s6_paper_new(svc->cfg, &po, &svc->paper, err, errlen);
    if (rc == 0)
        *router = s6_paper_router(svc->paper);
    return rc;
}

static double treasury_now(void *ud)
{
    return wall_now(ud);
}

/* The treasury acts on its own schedule and triggers; it needs no lease
 * of its own because every transfer is keyed by its transfer_id (a second
 * instance finds the same transfer, never makes another). */
static int open_treasury(s6_service *svc, char *err, size_t errlen)
{
    if (!svc->cfg->treasury.enabled)
        return 0;
    s6_treasury_cfg tc;
    s6_treasury_cfg_from_config(&tc, svc->cfg);
    s6_treasury_deps deps = {
        .loop = svc->loop, .store = svc->store, .redis = svc->redis,
        .http = svc->httpc, .balances = s6_treasury_redis_balances(svc->redis),
        .clock = { treasury_now, NULL }, .metrics = svc->app->metrics,
        .log = svc->log,
    };
    int rc = s6_treasury_new(&svc->treasury, &deps, &tc, err, errlen);
    if (rc < 0)
        return rc;
    svc->app->treasury = svc->treasury;
    return 0;
}

static int collect_instruments(s6_service *svc)
{
    const s6_config *cfg = svc->cfg;
    svc->instruments = calloc(cfg->n_symbols + 1, sizeof *svc->instruments);
    if (svc->instruments == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_symbols; i++)
        svc->instruments[i] = (s6_md_instrument){ cfg->symbols[i].market,
                                                  cfg->symbols[i].name };
    svc->n_instruments = cfg->n_symbols;
    return 0;
}

static int build(s6_service *svc, char *err, size_t errlen)
{
    const s6_config *cfg = svc->cfg;
    s6_redis_opts ro = { .log = svc->log, .name = "cmd",
                         .on_state = on_redis_state, .state_ud = svc };
    s6_state_opts so = { .clock = wall_clock, .log = svc->log };
    s6_router router;
    int rc = s6_httpc_new(&svc->httpc, svc->loop, NULL, svc->log);
    if (rc < 0) {
        snprintf(err, errlen, "outbound HTTP: %s", strerror(-rc));
        return rc;
    }
    if ((rc = open_store(svc, err, errlen)) < 0 ||
        (rc = s6_redis_open(svc->loop, cfg->redis.url, &ro, &svc->redis,
                            err, errlen)) < 0 ||
        (rc = s6_state_new(svc->redis, &so, &svc->state)) < 0 ||
        (rc = open_router(svc, &router, err, errlen)) < 0 ||
        (rc = s6_rules_edge_lua(&svc->app->rules, SVC_SLOTS, &svc->rules,
                                err, errlen)) < 0)
        return rc;
    svc->rules_edge_ok = true;
    s6_state_edge state = s6_state_edge_of(svc->state);
    if ((rc = collect_instruments(svc)) < 0 ||
        (rc = s6_durable_router_new(svc->loop, &router, &state, svc->log,
                                    &svc->durable)) < 0)
        return rc;
    s6_engine_edges edges = {
        .router = s6_durable_router_edge(svc->durable),
        .state = s6_state_edge_of(svc->state),
        .rules = svc->rules,
        .clock = wall_clock,
        .store = svc->store,
    };
    rc = s6_engine_new(cfg, &edges, svc->log, svc->app->metrics,
                       &svc->engine, err, errlen);
    if (rc < 0)
        return rc;
    s6_app_set_engine(svc->app, svc->engine);
    /* Positions by state, PnL, quotas and liquidation distances are read
     * from the engine at each scrape; it lives until after the app. */
    if ((rc = s6_metrics_add_collector(svc->app->metrics, s6_engine_collect,
                                       svc->engine)) < 0) {
        snprintf(err, errlen, "metrics: cannot add the engine's collector");
        return rc;
    }
    return open_treasury(svc, err, errlen);
}

static void instance_id(char *out, size_t cap)
{
    const char *env = getenv("S6_INSTANCE_ID");
    if (env != NULL && env[0] != '\0' && strlen(env) < cap) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char host[40] = "s6";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(out, cap, "%s-%ld", host, (long)getpid());
}

int s6_service_start(s6_app *app, const s6_config *cfg, s6_service **out)
{
    s6_service *svc = calloc(1, sizeof *svc);
    if (svc == NULL)
        return -ENOMEM;
    *svc = (s6_service){ .app = app, .loop = app->loop, .log = app->log,
                         .cfg = cfg };
    instance_id(svc->instance, sizeof svc->instance);
    uv_timer_init(svc->loop, &svc->tick);
    uv_timer_init(svc->loop, &svc->reconcile);
    uv_timer_init(svc->loop, &svc->pump);
    svc->tick.data = svc->reconcile.data = svc->pump.data = svc;
    svc->timers_on = true;
    *out = svc;
    s6_app_set_ready(app, "redis", false);
    s6_app_set_ready(app, "lease", false);
    s6_app_set_ready(app, "reconciled", false);
    add_checks(svc);

    char err[512] = "";
    int rc = build(svc, err, sizeof err);
    s6_lease_opts lo = {
        .instance_id = svc->instance, .ttl_ms = LEASE_TTL_MS,
        .on_acquired = on_lease_acquired, .on_lost = on_lease_lost,
        .ud = svc, .log = svc->log,
    };
    if (rc == 0)
        rc = s6_lease_start(svc->loop, svc->redis, &lo, &svc->lease, err,
                            sizeof err);
    if (rc < 0) {
        s6_log_error(svc->log, "service", "cannot start the engine",
                     S6_LOG_STR("error", err[0] ? err : strerror(-rc)));
        return rc;
    }
    s6_log_info(svc->log, "service", "waiting for the lease",
                S6_LOG_STR("instance", svc->instance),
                S6_LOG_STR("mode", cfg->s4.mode == S6_S4_HTTP ? "s4"
                                                              : "paper"));
    return 0;
}

void s6_service_reconfigure(s6_service *svc, const s6_config *cfg)
{
    if (svc == NULL || svc->engine == NULL)
        return;
    char err[256] = "";
    if (s6_engine_reconfigure(svc->engine, cfg) < 0 ||
        (svc->s4 != NULL &&
         s6_s4_router_reconfigure(svc->s4, cfg, err, sizeof err) < 0)) {
        s6_log_error(svc->log, "service", "new configuration not applied "
                     "to the engine", S6_LOG_STR("error", err));
        return;
    }
    if (svc->treasury != NULL) {
        s6_treasury_cfg tc;
        s6_treasury_cfg_from_config(&tc, cfg);
        s6_treasury_set_cfg(svc->treasury, &tc);
    }
    svc->cfg = cfg;
}

static void on_httpc_closed(s6_httpc *c, void *ud)
{
    (void)c;
    s6_service *svc = ud;
    s6_log_info(svc->log, "service", "stopped");
}

/* Every state write asked for has landed (or Redis is gone): now the
 * connections may close without cancelling a write. */
static void on_flushed(void *ud, bool ok)
{
    s6_service *svc = ud;
    if (!ok)
        s6_log_warn(svc->log, "service", "state not confirmed durable at "
                    "stop; the next start reconciles");
    if (svc->redis != NULL)
        s6_redis_close(svc->redis);
    svc->redis = NULL; /* freed by the close once its handles are */
    if (svc->httpc != NULL)
        s6_httpc_shutdown(svc->httpc, on_httpc_closed, svc);
}

void s6_service_stop(s6_service *svc)
{
    if (svc == NULL || svc->stopping)
        return;
    svc->stopping = true;
    svc->acting = false;
    if (svc->timers_on) {
        uv_close((uv_handle_t *)&svc->tick, NULL);
        uv_close((uv_handle_t *)&svc->reconcile, NULL);
        uv_close((uv_handle_t *)&svc->pump, NULL);
        svc->timers_on = false;
    }
    s6_price_pub_close(svc->pub);
    svc->pub = NULL;
    if (svc->feed != NULL)
        s6_feed_close(svc->feed);
    svc->feed = NULL;
    if (svc->results != NULL)
        s6_results_close(svc->results);
    svc->results = NULL;
    if (svc->lease != NULL)
        s6_lease_close(svc->lease, true);
    svc->lease = NULL;
    s6_app_set_engine(svc->app, NULL);
    /* Before the httpc goes: the router ends what is queued or in flight
     * as failed (the next start re-sends them with their keys) and closes
     * its timers on the running loop. */
    s6_durable_router_close(svc->durable);
    svc->durable = NULL;
    s6_s4_router_free(svc->s4);
    svc->s4 = NULL;
    svc->app->treasury = NULL;
    s6_treasury_free(svc->treasury); /* its callbacks still need the loop */
    svc->treasury = NULL;
    s6_state_edge edge = svc->state ? s6_state_edge_of(svc->state)
                                    : (s6_state_edge){ 0 };
    if (edge.barrier == NULL || edge.barrier(edge.ud, on_flushed, svc) < 0)
        on_flushed(svc, false);
}

void s6_service_free(s6_service *svc)
{
    if (svc == NULL)
        return;
    s6_engine_free(svc->engine);
    if (svc->rules_edge_ok)
        s6_rules_edge_free(&svc->rules);
    s6_paper_free(svc->paper);
    s6_s4_router_free(svc->s4); /* NULL unless the start failed early */
    s6_state_free(svc->state);
    if (svc->store != NULL)
        s6_store_close(svc->store);
    if (svc->httpc != NULL)
        s6_httpc_free(svc->httpc);
    free(svc->instruments);
    free(svc->entries);
    free(svc);
}
