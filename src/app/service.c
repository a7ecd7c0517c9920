/*
 * service.c — the engine wired to its real edges (service.h).
 *
 * Everything here runs on the app's loop.  The start-up is a chain of
 * callbacks (lease -> load -> restore -> results read to the end ->
 * reconcile -> resume -> market feed and ticks), each step logged, so a
 * stalled step is visible in the log and in GET /ready.  Results come
 * before the venue's view (design.md §4b): a view is only compared with a
 * book that holds every result S4 had published when it answered.
 *
 * A lost lease pauses (design.md §4b): the engine and the edges that act
 * for it (router, rules edge) are torn down, the consumers and ticks stop,
 * and HTTP, health and metrics stay up.  Another instance may act
 * meanwhile, so when the lease comes back a fresh engine runs the whole
 * chain again from the positions in Redis.  svc->gen moves at each pause:
 * an answer to a call made before it finds a newer generation and is
 * dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/internal.h"
#include "bus/shard.h"
#include "store/arangodb.h"
#include "util/base64.h"
#include "util/fs.h"
#include "venue/s4/venue.h"

enum { SVC_SLOTS = 16384, LEASE_TTL_MS = 10000 };
/* The protection pass's cadence (s6_engine_protect), and how a start-up
 * view that is ahead of the results read is asked for again. */
enum { PROTECT_MS = 1000, AGAIN_MS = 250, AGAIN_TRIES = 40 };

/* Stops the whole process the way a signal does, so the app's stop hook
 * (main.c) runs and stops the service too. */
static void fatal(s6_service *svc)
{
    svc->app->failed = true;
    s6_app_stop(svc->app, svc->app->stopped_cb, svc->app->stopped_ud);
}

/* ---- clock ---------------------------------------------------------- */

static const s6_clock wall_clock = { s6_clock_wall_now, NULL };

/* ---- inputs into the engine ----------------------------------------- */

/* Sharded instances: the symbols this one serves. */
static bool ours(const s6_service *svc, const char *symbol)
{
    return s6_shard_of(symbol, svc->cfg->shard.count) == svc->cfg->shard.index;
}

static bool owns_symbol(void *ud, const char *symbol)
{
    return ours(ud, symbol);
}

static int on_result(void *ud, const s6_order_result *r, char *err,
                     size_t errlen)
{
    s6_service *svc = ud;
    /* Every shard's group sees every result: another shard's is
     * acknowledged without being applied. */
    if (!ours(svc, r->symbol))
        return 0;
    /* S4 refusing an order for want of margin is the treasury's event
     * trigger; the engine records the refusal as any other. */
    if (svc->treasury != NULL && r->kind == S6_RES_REJECTED &&
        r->code == S6_RCODE_INSUFFICIENT_BALANCE)
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
    if (!ours(svc, symbol))
        return;
    /* The paper venue sees the mark first, as the exchange would. */
    if (svc->paper != NULL)
        s6_svc_paper_mark(svc, symbol, market, u->mark);
    s6_engine_on_market(svc->engine, symbol, market, u);
}

static void on_signal(void *ud, const char *symbol, int market, int side,
                      double strength, double ts)
{
    (void)market;
    s6_service *svc = ud;
    if (!ours(svc, symbol))
        return;
    s6_engine_on_signal(svc->engine, symbol, side, strength, ts);
}

/* ---- the manage tick: re-read the latest market data, evaluate all ---- */

static void on_snapshot(void *ud, const s6_md_snap *snaps, size_t n)
{
    s6_service *svc = ud;
    if (svc->stopping || svc->paused || svc->engine == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (snaps[i].rc == 0)
            s6_engine_on_market(svc->engine, snaps[i].m.symbol,
                                snaps[i].m.market, &snaps[i].m.u);
    s6_engine_tick(svc->engine);
    if (svc->paper != NULL)
        s6_svc_paper_publish_balances(svc);
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
    unsigned gen;
    double taken_at;          /* the engine's clock when asked */
} reconcile_call;

static void reconcile_then(s6_service *svc, after_fn after);
static void resume_after_view(s6_service *svc);

static void on_again(uv_timer_t *t)
{
    s6_service *svc = t->data;
    if (!svc->stopping && !svc->paused && svc->engine != NULL)
        reconcile_then(svc, svc->acting_started ? NULL : resume_after_view);
}

/* S4's view lists every shard's positions and orders: the engine sees
 * only ours (another shard's would look like positions to adopt). */
static int reconcile_ours(s6_service *svc, const s6_venue_view *view,
                          double taken_at)
{
    s6_venue_view all = *view;
    all.results_read = svc->results ? s6_results_read_to(svc->results) : "";
    all.taken_at = taken_at;
    if (svc->cfg->shard.count <= 1)
        return s6_engine_reconcile(svc->engine, &all);
    s6_venue_position *p = calloc(view->n_positions + 1, sizeof *p);
    s6_venue_order *o = calloc(view->n_orders + 1, sizeof *o);
    s6_venue_view mine = all;
    mine.positions = p;
    mine.n_positions = 0;
    mine.orders = o;
    mine.n_orders = 0;
    for (size_t i = 0; p && i < view->n_positions; i++)
        if (ours(svc, view->positions[i].symbol))
            p[mine.n_positions++] = view->positions[i];
    for (size_t i = 0; o && i < view->n_orders; i++)
        if (ours(svc, view->orders[i].symbol))
            o[mine.n_orders++] = view->orders[i];
    int rc = S6_ENOMEM;
    if (p && o)
        rc = s6_engine_reconcile(svc->engine, &mine);
    else
        s6_log_error(svc->log, "service", "reconciliation skipped: out of memory");
    free(p);
    free(o);
    return rc;
}

static void on_venue(void *ud, int rc, const s6_venue_view *view,
                     const char *err)
{
    reconcile_call *c = ud;
    s6_service *svc = c->svc;
    after_fn after = c->after;
    unsigned gen = c->gen;
    double taken_at = c->taken_at;
    free(c);
    svc->reconciling = false;
    /* The pause frees the router, which ends this call from inside. */
    if (svc->stopping || gen != svc->gen)
        return;
    if (rc < 0) {
        snprintf(svc->reconcile_error, sizeof svc->reconcile_error, "%s",
                 err ? err : "failed");
        s6_log_error(svc->log, "service", "reconciliation with S4 failed; "
                     "retried on the next reconciliation tick",
                     S6_LOG_STR("error", svc->reconcile_error));
    } else if (reconcile_ours(svc, view, taken_at) == S6_ENOTREADY &&
               after != NULL && svc->again_tries++ < AGAIN_TRIES) {
        /* at start-up the view must not be ahead of the results: the
         * consumer reads on, the view is asked for again */
        uv_timer_start(&svc->again, on_again, AGAIN_MS, 0);
        return;
    } else {
        svc->reconcile_error[0] = '\0';
        svc->last_reconcile_ok = s6_clock_wall_s();
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
    *c = (reconcile_call){ svc, after, svc->gen, s6_clock_wall_now(NULL) };
    svc->reconciling = true;
    if (s6_s4_fetch_venue(svc->s4, on_venue, c) < 0) {
        svc->reconciling = false;
        free(c);
        if (after != NULL)
            after(svc);
    }
}

/* A view is compared with the book only while the consumer is current:
 * after a lost connection it first reads what it missed. */
static void on_reconcile_tick(uv_timer_t *t)
{
    s6_service *svc = t->data;
    if (svc->results_current)
        reconcile_then(svc, NULL);
}

static void on_protect(uv_timer_t *t)
{
    s6_service *svc = t->data;
    if (!svc->stopping && !svc->paused && svc->engine != NULL)
        s6_engine_protect(svc->engine);
}

/* ---- start-up chain ------------------------------------------------- */

static void on_feed_reading(void *ud);

static void reconcile_after_results(s6_service *svc);

static void on_results_current(void *ud, bool current)
{
    s6_service *svc = ud;
    svc->results_current = current;
    s6_log_info(svc->log, "service", current
                ? "order results read to the end of the stream"
                : "order results behind: views wait until they are read",
                S6_LOG_BOOL("acting", svc->acting));
    if (current && !svc->acting_started && !svc->reconciling &&
        !uv_is_active((uv_handle_t *)&svc->again) &&
        !svc->paused && !svc->stopping)
        reconcile_after_results(svc);
}

/* The first step after restore: results are read (and applied to the
 * engine, which does not act before resume) up to the stream's end. */
static void start_results(s6_service *svc)
{
    char err[256] = "";
    const s6_config *cfg = svc->cfg;
    s6_results_opts ro = {
        .url = cfg->redis.url, .consumer = svc->instance, .group = svc->group,
        .on_result = on_result, .result_ud = svc,
        .barrier = on_barrier, .barrier_ud = svc,
        .on_current = on_results_current, .current_ud = svc, .log = svc->log,
    };
    svc->results_current = false;
    svc->again_tries = 0;
    if (s6_results_start(svc->loop, svc->redis, &ro, &svc->results, err,
                         sizeof err) < 0) {
        s6_log_error(svc->log, "service", "cannot consume results; stopping",
                     S6_LOG_STR("error", err));
        fatal(svc);
    }
}

static void start_consuming(s6_service *svc)
{
    char err[256] = "";
    const s6_config *cfg = svc->cfg;
    s6_feed_opts fo = {
        .url = cfg->redis.url,
        .regimes = { (const char *const *)cfg->rules.regimes.v,
                     cfg->rules.regimes.n },
        .on_market = on_market, .on_signal = on_signal,
        .on_reading = on_feed_reading, .ud = svc,
        .busy = s6_feed_redis_busy, .busy_ud = svc->redis, .log = svc->log,
    };
    if (s6_feed_start(svc->loop, &fo, &svc->feed, err, sizeof err) < 0) {
        s6_log_error(svc->log, "service", "cannot consume the market feed; "
                     "stopping", S6_LOG_STR("error", err));
        fatal(svc);
        return;
    }
    uint64_t tick_ms = (uint64_t)cfg->ticks.manage_interval_s * 1000;
    uint64_t rec_ms = (uint64_t)cfg->ticks.reconcile_interval_s * 1000;
    uv_timer_start(&svc->tick, on_tick, tick_ms, tick_ms);
    uv_timer_start(&svc->protect, on_protect, PROTECT_MS, PROTECT_MS);
    if (svc->s4 != NULL)
        uv_timer_start(&svc->reconcile, on_reconcile_tick, rec_ms, rec_ms);
    if (svc->paper != NULL)
        s6_svc_paper_start(svc);
    /* The treasury keeps running through a pause (open_treasury says
     * why it needs no lease), so it starts once. */
    if (svc->treasury != NULL && !svc->treasury_started) {
        svc->treasury_started = true;
        if (s6_treasury_start(svc->treasury) < 0)
            s6_log_error(svc->log, "treasury", "the treasury did not start");
    }
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
    if (svc->stopping || svc->paused || svc->acting_started)
        return;
    svc->acting_started = true;
    s6_engine_resume(svc->engine);
    start_consuming(svc);
}

static void resume_after_view(s6_service *svc)
{
    resume(svc);
}

static void reconcile_after_results(s6_service *svc)
{
    if (svc->acting_started)
        return;
    s6_log_info(svc->log, "service", "results applied: reconciling");
    reconcile_then(svc, resume_after_view);
}

/* A load asked for before a pause must not restore into the engine built
 * after it. */
typedef struct load_call {
    s6_service *svc;
    unsigned gen;
} load_call;

/* A load's context: its answer is dropped when the engine changed since. */
static load_call *load_call_new(s6_service *svc)
{
    load_call *c = malloc(sizeof *c);
    if (c != NULL)
        *c = (load_call){ svc, svc->gen };
    return c;
}

/* The service when the answer is still wanted, else NULL; c is freed. */
static s6_service *load_call_end(void *ud)
{
    load_call *c = ud;
    s6_service *svc = c->svc;
    bool live = c->gen == svc->gen && !svc->stopping;
    free(c);
    return live ? svc : NULL;
}

/* Today's realized PnL and the leftovers, after the positions: then the
 * results are read to their end. */
static void on_book_loaded(void *ud, int rc, const char *json,
                           const char *err)
{
    s6_service *svc = load_call_end(ud);
    if (svc == NULL)
        return;
    char rerr[256] = "";
    if (rc < 0 ||
        s6_engine_restore_book(svc->engine, json, rerr, sizeof rerr) < 0) {
        s6_log_error(svc->log, "service", "cannot restore the engine's "
                     "record; nothing will act",
                     S6_LOG_STR("error", rc < 0 && err ? err : rerr));
        fatal(svc);
        return;
    }
    svc->acting_started = false;
    start_results(svc);
}

static void on_loaded(void *ud, int rc, s6_engine_record *recs, size_t n,
                      const char *err)
{
    s6_service *svc = load_call_end(ud);
    if (svc == NULL) {
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
    s6_svc_paper_restore(svc, recs, n);
    s6_state_free_records(recs, n);
    load_call *c = load_call_new(svc);
    if (c == NULL || s6_state_load_book(svc->state, on_book_loaded, c) < 0) {
        free(c);
        s6_log_error(svc->log, "service", "cannot load the engine's record");
        fatal(svc);
    }
}

static int build_engine(s6_service *svc, char *err, size_t errlen);
static void drop_engine(s6_service *svc);

static void on_lease_acquired(void *ud)
{
    s6_service *svc = ud;
    char err[512] = "";
    if (svc->stopping)
        return;
    /* Back after a pause: a fresh engine, as a restart would have. */
    if (svc->engine == NULL && build_engine(svc, err, sizeof err) < 0) {
        s6_log_error(svc->log, "service", "cannot rebuild the engine",
                     S6_LOG_STR("error", err));
        fatal(svc);
        return;
    }
    svc->paused = false;
    s6_app_set_ready(svc->app, "lease", true);
    s6_log_info(svc->log, "service", "lease acquired: this instance acts",
                S6_LOG_STR("instance", svc->instance));
    load_call *c = load_call_new(svc);
    if (c == NULL || s6_state_load(svc->state, on_loaded, c) < 0) {
        free(c);
        s6_log_error(svc->log, "service", "cannot load the positions");
        fatal(svc);
    }
}

/* The price publisher, the feed and the results consumer closed.
 * Unacknowledged results stay pending for whoever holds the lease
 * (reclaimed after their idle time) or for our own next start. */
static void close_streams(s6_service *svc)
{
    s6_price_pub_close(svc->pub);
    svc->pub = NULL;
    if (svc->feed != NULL)
        s6_feed_close(svc->feed);
    svc->feed = NULL;
    if (svc->results != NULL)
        s6_results_close(svc->results);
    svc->results = NULL;
}

/* Stops every input into the engine; the timers stay open for the next
 * start_consuming. */
static void stop_inputs(s6_service *svc)
{
    uv_timer_stop(&svc->tick);
    uv_timer_stop(&svc->reconcile);
    uv_timer_stop(&svc->pump);
    uv_timer_stop(&svc->protect);
    uv_timer_stop(&svc->again);
    svc->results_current = false;
    svc->acting_started = false;
    close_streams(svc);
}

/* Another instance holds the lease now (or may soon): acting on would make
 * two writers.  The process stays up and the lease module keeps trying to
 * take the lease back; on_lease_acquired then starts over. */
static void on_lease_lost(void *ud, const char *why)
{
    s6_service *svc = ud;
    if (svc->stopping)
        return;
    s6_log_error(svc->log, "service", "lease lost: paused until it is "
                 "acquired again", S6_LOG_STR("why", why ? why : ""));
    svc->paused = true;
    svc->acting = false;
    svc->gen++;
    s6_app_set_ready(svc->app, "lease", false);
    s6_app_set_ready(svc->app, "reconciled", false);
    stop_inputs(svc);
    drop_engine(svc);
}

static void on_redis_state(s6_redis *r, s6_redis_state st, int code,
                           void *ud)
{
    (void)r;
    (void)code;
    s6_service *svc = ud;
    s6_app_set_ready(svc->app, "redis", st == S6_REDIS_UP);
}

/* ---- building the pieces -------------------------------------------- */

/* "Basic " + base64(user:password), ArangoDB's HTTP authentication. */
static void basic_auth(const char *user, const char *pw, char *out,
                       size_t cap)
{
    char plain[400];
    int n = snprintf(plain, sizeof plain, "%s:%s", user, pw);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof plain ? (size_t)n
                                                        : sizeof plain - 1;
    int o = snprintf(out, cap, "Basic ");
    if (o < 0 || (size_t)o >= cap ||
        s6_base64_encode(plain, len, out + o, cap - (size_t)o) < 0)
        out[0] = '\0';
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
        /* The embedded default keeps its file under var/, which a fresh
         * clone lacks; a folder that cannot be made shows in the store's
         * error. */
        (void)s6_fs_make_parents(svc->cfg->history.path);
        rc = s6_store_open_sqlite(svc->cfg->history.path, &svc->store, &serr);
    }
    if (rc < 0)
        snprintf(err, errlen, "history store: %s", serr.msg);
    else if ((rc = s6_store_turn_start(svc->loop, svc->store, svc->log,
                                       &svc->store_turn)) < 0)
        snprintf(err, errlen, "history store: out of memory");
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
    return s6_svc_paper_open(svc, router, err, errlen);
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
        .clock = { s6_clock_wall_now, NULL }, .metrics = svc->app->metrics,
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
    svc->n_instruments = 0;
    for (size_t i = 0; i < cfg->n_symbols; i++)
        if (ours(svc, cfg->symbols[i].name))
            svc->instruments[svc->n_instruments++] = (s6_md_instrument){
                cfg->symbols[i].market, cfg->symbols[i].name };
    return 0;
}

/* ---- the engine's state edge, shut at a pause ------------------------ */

/* The engine writes through this gate, not to s6_state directly: while
 * the service is paused (the lease lost) nothing it does reaches Redis,
 * not even what the teardown's "failed" answers make it save. */
typedef struct gate_call {
    s6_service *svc;
    unsigned gen;
    void (*done)(void *cb_ud, bool ok);
    void *cb_ud;
} gate_call;

static s6_state_edge real_state(const s6_service *svc)
{
    return s6_state_edge_of(svc->state);
}

static int gate_save(void *ud, const s6_engine_record *rec)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    return svc->paused ? -ESHUTDOWN : e.save(e.ud, rec);
}

static int gate_event(void *ud, const char *symbol, const char *pos_id,
                      const char *type, const char *json)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    return svc->paused ? -ESHUTDOWN
                       : e.event(e.ud, symbol, pos_id, type, json);
}

static int gate_announce(void *ud, const char *stream,
                         const char *const *fields, size_t n)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    return svc->paused ? -ESHUTDOWN : e.announce(e.ud, stream, fields, n);
}

static int gate_release(void *ud, const char *pos_id, double budget,
                        int concurrency)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    return svc->paused ? -ESHUTDOWN
                       : e.quota_release(e.ud, pos_id, budget, concurrency);
}

static int gate_book_save(void *ud, const char *json)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    return svc->paused ? -ESHUTDOWN : e.book_save(e.ud, json);
}

/* An answer that comes after a pause would reach a freed engine: it is
 * dropped (with the engine's small context, once per pause at most). */
static void gate_done(void *ud, bool ok)
{
    gate_call *c = ud;
    if (c->gen == c->svc->gen)
        c->done(c->cb_ud, ok);
    free(c);
}

static gate_call *gate_call_new(s6_service *svc,
                                void (*done)(void *cb_ud, bool ok),
                                void *cb_ud)
{
    gate_call *c = svc->paused ? NULL : malloc(sizeof *c);
    if (c != NULL)
        *c = (gate_call){ svc, svc->gen, done, cb_ud };
    return c;
}

static int gate_reserve(void *ud, const char *pos_id, double budget,
                        int concurrency, void (*done)(void *cb_ud, bool ok),
                        void *cb_ud)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    gate_call *c = gate_call_new(svc, done, cb_ud);
    if (c == NULL)
        return svc->paused ? -ESHUTDOWN : -ENOMEM;
    int rc = e.quota_reserve(e.ud, pos_id, budget, concurrency, gate_done, c);
    if (rc != 0)
        free(c);
    return rc;
}

static int gate_barrier(void *ud, void (*done)(void *cb_ud, bool ok),
                        void *cb_ud)
{
    s6_service *svc = ud;
    s6_state_edge e = real_state(svc);
    gate_call *c = gate_call_new(svc, done, cb_ud);
    if (c == NULL)
        return svc->paused ? -ESHUTDOWN : -ENOMEM;
    int rc = e.barrier(e.ud, gate_done, c);
    if (rc != 0)
        free(c);
    return rc;
}

static s6_state_edge gated_state(s6_service *svc)
{
    return (s6_state_edge){
        .save = gate_save, .event = gate_event, .announce = gate_announce,
        .quota_reserve = gate_reserve, .quota_release = gate_release,
        .book_save = gate_book_save, .barrier = gate_barrier, .ud = svc,
    };
}

/* ---- the engine and what acts for it -------------------------------- */

/* The engine's treasury edge: a trigger it measured (the margin ratio at
 * MARGIN_CALL), named as the treasury names it. */
static int raise_trigger(void *ud, const char *trigger, double amount,
                         double reported)
{
    s6_service *svc = ud;
    s6_treasury_trigger tt;
    if (svc->treasury == NULL)
        return 0; /* treasury.enabled = false: nothing to raise */
    if (s6_treasury_trigger_parse(trigger, &tt) != 0)
        return -EINVAL;
    return s6_treasury_raise(svc->treasury, tt, amount, reported);
}

/* Positions by state, PnL, quotas and liquidation distances are read from
 * the engine at each scrape; while paused there is none to read. */
static int collect_engine(s6_metrics *m, void *ud)
{
    s6_service *svc = ud;
    return svc->engine != NULL ? s6_engine_collect(m, svc->engine) : 0;
}

/* The router, the rules edge, the write-ahead and the engine: built at
 * start and again after each pause. */
static int build_engine(s6_service *svc, char *err, size_t errlen)
{
    s6_router router;
    int rc;
    if ((rc = open_router(svc, &router, err, errlen)) < 0 ||
        (rc = s6_rules_edge_lua(&svc->app->rules, SVC_SLOTS, &svc->rules,
                                err, errlen)) < 0)
        return rc;
    svc->rules_edge_ok = true;
    s6_state_edge state = real_state(svc);
    if ((rc = s6_durable_router_new(svc->loop, &router, &state, svc->log,
                                    &svc->durable)) < 0)
        return rc;
    s6_engine_edges edges = {
        .router = s6_durable_router_edge(svc->durable),
        .state = gated_state(svc),
        .rules = svc->rules,
        .clock = wall_clock,
        .treasury = { raise_trigger, svc },
        .store = svc->store,
    };
    rc = s6_engine_new(svc->cfg, &edges, svc->log, svc->app->metrics,
                       &svc->engine, err, errlen);
    if (rc < 0)
        return rc;
    s6_app_set_engine(svc->app, svc->engine);
    return 0;
}

/* The pause's teardown.  Closing the routers ends what they hold as
 * failed, from inside these calls, while the engine is still there (its
 * saves meet the shut gate); after them nothing calls into the engine. */
static void drop_engine(s6_service *svc)
{
    s6_app_set_engine(svc->app, NULL);
    s6_durable_router_close(svc->durable);
    svc->durable = NULL;
    s6_s4_router_free(svc->s4);
    svc->s4 = NULL;
    s6_paper_free(svc->paper);
    svc->paper = NULL;
    s6_engine_free(svc->engine);
    svc->engine = NULL;
    if (svc->rules_edge_ok)
        s6_rules_edge_free(&svc->rules);
    svc->rules_edge_ok = false;
    /* Paper mode's start positions are decided again on the next book. */
    free(svc->entries);
    svc->entries = NULL;
    svc->n_entries = 0;
}

static int build(s6_service *svc, char *err, size_t errlen)
{
    const s6_config *cfg = svc->cfg;
    s6_redis_opts ro = { .log = svc->log, .name = "cmd",
                         .on_state = on_redis_state, .state_ud = svc };
    s6_shard_book_key(cfg->shard.index, cfg->shard.count, svc->book_key,
                      sizeof svc->book_key);
    s6_state_opts so = { .clock = wall_clock, .log = svc->log,
                         .owns = owns_symbol, .owns_ud = svc,
                         .book_key = svc->book_key,
                         .wait_replicas = cfg->redis.wait_replicas,
                         .wait_timeout_ms = cfg->redis.wait_timeout_ms,
                         .metrics = svc->app->metrics };
    int rc = s6_httpc_new(&svc->httpc, svc->loop, NULL, svc->log);
    if (rc < 0) {
        snprintf(err, errlen, "outbound HTTP: %s", s6_strerror(rc));
        return rc;
    }
    if ((rc = open_store(svc, err, errlen)) < 0 ||
        (rc = s6_redis_open(svc->loop, cfg->redis.url, &ro, &svc->redis,
                            err, errlen)) < 0 ||
        (rc = s6_state_new(svc->redis, &so, &svc->state)) < 0 ||
        (rc = collect_instruments(svc)) < 0 ||
        (rc = build_engine(svc, err, errlen)) < 0)
        return rc;
    /* The collector lives until after the app, the service too. */
    if ((rc = s6_metrics_add_collector(svc->app->metrics, collect_engine,
                                       svc)) < 0) {
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

/* ---- sharded instances: who serves what ------------------------------ */

static int locate_position(void *ud, const char *pos_id, s6_shard_located done,
                           void *cb_ud)
{
    s6_service *svc = ud;
    return s6_shard_locate(svc->redis, pos_id, svc->cfg->shard.count, done,
                           cb_ud);
}

/* What other shards name for ours: shard.http_url, else the address we
 * listen on (the host name when that is every interface). */
static char *holder_json(const s6_service *svc)
{
    const s6_config *cfg = svc->cfg;
    char url[300];
    if (cfg->shard.http_url && cfg->shard.http_url[0]) {
        snprintf(url, sizeof url, "%s", cfg->shard.http_url);
    } else {
        char host[256] = "127.0.0.1";
        const char *h = cfg->http.host;
        if (h && h[0] && strcmp(h, "0.0.0.0") != 0 && strcmp(h, "::") != 0)
            snprintf(host, sizeof host, "%s", h);
        else if (gethostname(host, sizeof host - 1) != 0)
            snprintf(host, sizeof host, "127.0.0.1");
        host[sizeof host - 1] = '\0';
        snprintf(url, sizeof url, "http://%s:%d", host,
                 s6_http_port(svc->app->http));
    }
    json_t *doc = json_pack("{s:s,s:s,s:i}", "instance", svc->instance,
                            "http", url, "shard", (json_int_t)cfg->shard.index);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
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
    uv_timer_init(svc->loop, &svc->protect);
    uv_timer_init(svc->loop, &svc->again);
    svc->tick.data = svc->reconcile.data = svc->pump.data = svc;
    svc->protect.data = svc->again.data = svc;
    svc->timers_on = true;
    *out = svc;
    s6_app_set_ready(app, "redis", false);
    s6_app_set_ready(app, "lease", false);
    s6_app_set_ready(app, "reconciled", false);
    s6_svc_add_checks(svc);

    char err[512] = "";
    int rc = build(svc, err, sizeof err);
    s6_shard_lease_key(cfg->shard.index, cfg->shard.count, svc->lease_key,
                       sizeof svc->lease_key);
    s6_shard_group(cfg->shard.index, cfg->shard.count, svc->group,
                   sizeof svc->group);
    char *holder = holder_json(svc);
    s6_lease_opts lo = {
        .key = svc->lease_key,
        .instance_id = svc->instance, .ttl_ms = LEASE_TTL_MS,
        .on_acquired = on_lease_acquired, .on_lost = on_lease_lost,
        .ud = svc, .log = svc->log, .holder = holder,
    };
    if (rc == 0)
        rc = s6_lease_start(svc->loop, svc->redis, &lo, &svc->lease, err,
                            sizeof err);
    free(holder);
    app->shard = (s6_app_shard){ .index = cfg->shard.index,
                                 .count = cfg->shard.count,
                                 .locate = locate_position, .ud = svc };
    if (rc < 0) {
        s6_log_error(svc->log, "service", "cannot start the engine",
                     S6_LOG_STR("error", err[0] ? err : s6_strerror(rc)));
        return rc;
    }
    s6_log_info(svc->log, "service", "waiting for the lease",
                S6_LOG_STR("instance", svc->instance),
                S6_LOG_STR("lease", svc->lease_key),
                S6_LOG_INT("shard", cfg->shard.index),
                S6_LOG_INT("shards", cfg->shard.count),
                S6_LOG_STR("mode", cfg->s4.mode == S6_S4_HTTP ? "s4"
                                                              : "paper"));
    return 0;
}

void s6_service_reconfigure(s6_service *svc, const s6_config *cfg)
{
    if (svc == NULL)
        return;
    char err[256] = "";
    /* While paused there is no engine, but the one rebuilt later reads
     * svc->cfg, so the new configuration is taken all the same. */
    if ((svc->engine != NULL &&
         s6_engine_reconfigure(svc->engine, cfg) < 0) ||
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
    svc->app->shard.locate = NULL; /* the connection goes now */
    if (svc->timers_on) {
        uv_close((uv_handle_t *)&svc->tick, NULL);
        uv_close((uv_handle_t *)&svc->reconcile, NULL);
        uv_close((uv_handle_t *)&svc->pump, NULL);
        uv_close((uv_handle_t *)&svc->protect, NULL);
        uv_close((uv_handle_t *)&svc->again, NULL);
        svc->timers_on = false;
    }
    close_streams(svc);
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
    s6_store_turn_stop(svc->store_turn); /* later rows commit alone */
    svc->store_turn = NULL;
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
    s6_store_turn_stop(svc->store_turn); /* a start that failed early */
    if (svc->store != NULL)
        s6_store_close(svc->store);
    if (svc->httpc != NULL)
        s6_httpc_free(svc->httpc);
    free(svc->instruments);
    free(svc->entries);
    free(svc);
}
