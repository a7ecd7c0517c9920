/*
 * Run from the source root:
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-rel -j2 --target s6-bench-engine-live
 *   cd build-rel && ./s6-bench-engine-live
 *
 * s6-bench-engine-live — the engine as the service wires it (rig.h: real
 * Redis, the feed reader, the results consumer, the Redis state edge, the
 * S4 router to the S4 test peer, the Lua rules) measured end to end
 * (docs/performance.md, "Engine"):
 *
 *   s6-bench-engine-live [positions=10000] [seconds=10] [every=100] [rounds=9]
 *
 * 1. Memory: RSS and malloc heap in use with no position, after the same
 *    number of stop orders sent to a peer with no engine involved (the
 *    peer and the router keep a copy of each: not the engine's), after
 *    every position is open with its first stop confirmed; ru_maxrss at
 *    the end.
 * 2. The manage tick as service.c runs it: s6_bus_feed_snapshot over every
 *    md:last hash, each answer into s6_engine_on_market, s6_engine_tick;
 *    `rounds` times.  The limit: redis-benchmark -P 16 on the same server,
 *    the same HGETALL, in the same run.
 * 3. Latency at 1,000 and 10,000 price updates per second offered (offer.h)
 *    for `seconds` each; one update in `every` crosses lock-in step 1 of a
 *    position that has not crossed it yet (an order is due: the new stop),
 *    the others move a mark between steps (no order).  Measured: written to
 *    Redis -> the peer has the stop's POST /orders, and written -> the
 *    engine's evaluation returned.  The limit, in the same run, on the same
 *    schedule: the feed handing each update to a callback that submits the
 *    crossing updates' stop straight to a router (the floor peer), i.e.
 *    Redis, the feed reader, the router and HTTP without the engine.
 *
 * The figures are printed; the exit status says whether what was measured
 * is what was meant: every update delivered in order with its own mark,
 * every crossing one stop order at S4 for its position and nothing else,
 * a quiet tick sending nothing, every snapshot answer right.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "offer.h"
#include "rig.h"

enum { CALIBRATION_WINDOW = 64 };
static const double ENTRY = 50000, QTY = 0.1, FIRST_SL = 49000;
static const double SEED_MARK = 50100;   /* ROE 2%, 10x */
static const double CROSS_MARK = 50540;  /* ROE 10.8%: past step 1 (10%),
                                            short of the TP step (12%) */
/* Quiet marks run from 50200 to 50339.9 (ROE 4-6.8%): above step 1's lock
 * (net breakeven, about 50050) so a moved stop is never touched, below
 * step 1 so nothing is due. */
static double quiet_mark(size_t k) { return (502000 + (double)(k % 1400)) / 10; }

typedef struct run {
    bool engine;              /* false: the transport-only floor */
    offer o;
    offer_update *upd;
    uint64_t *sent_ns, *in_ns, *eval_ns;
    size_t delivered, mismatched, crossings, submitted;
    double cpu_s;             /* the loop thread's, from start to handled */
} run;

typedef struct bench {
    rig rig;
    run *run;                 /* the latency run being fed, or NULL */
    size_t stray;             /* updates outside a run */
    size_t failures;
    size_t fresh;             /* next position that has not crossed step 1 */
    unsigned run_no;          /* the floor's intents: fl<run_no>-<k> */
    size_t calibrated;        /* memory calibration stops sent */
    /* the tick */
    bool tick_done;
    size_t snap_bad;
    uint64_t t_snap, t_market, t_tick;
    double tick_ms, snap_ms;  /* medians, for the ratio to the limit */
} bench;

static void fail(bench *b, const char *what)
{
    fprintf(stderr, "FAILED: %s\n", what);
    b->failures++;
}

/* ---- the floor's orders: the stop the engine would send ---- */

static void calibrate_next(bench *b);

static void on_floor_done(void *ud, const char *intent, int outcome,
                          const char *detail)
{
    bench *b = ud;
    if (outcome != S6_ROUTE_OK) {
        fprintf(stderr, "floor order %s: %s\n", intent, detail);
        b->failures++;
    }
    calibrate_next(b);
}

static int floor_submit(bench *b, const char *tag, size_t k,
                        const char *symbol)
{
    s6_order o = { .market = S6_MARKET_FUT, .type = S6_ORDER_STOP_MARKET,
                   .purpose = S6_PURPOSE_STOP, .side = -1,
                   .reduce_only = true, .qty = QTY, .stop_price = 50050 };
    snprintf(o.intent_id, sizeof o.intent_id, "%s%u-%zu", tag, b->run_no, k);
    snprintf(o.pos_id, sizeof o.pos_id, "floor");
    snprintf(o.symbol, sizeof o.symbol, "%s", symbol);
    snprintf(o.qty_str, sizeof o.qty_str, "0.100");
    snprintf(o.price_str, sizeof o.price_str, "50050.0");
    s6_router edge;
    s6_s4_router_edge(b->rig.floor_s4, &edge);
    return edge.submit(edge.ud, &o, on_floor_done, b);
}

/* ---- the feed's callback: service.c's on_market, stamped ---- */

static void on_market(void *ud, const char *symbol, int market,
                      const s6_market_update *u)
{
    bench *b = ud;
    run *x = b->run;
    if (x == NULL || x->delivered >= x->o.n) {
        b->stray++;
        return;
    }
    size_t k = x->delivered++;
    uint64_t t_in = uv_hrtime();
    const offer_update *want = &x->upd[k];
    if (strcmp(symbol, b->rig.symbols[want->pos]) != 0 ||
        u->mark != want->mark) {
        x->mismatched++;
        return;
    }
    if (x->engine)
        s6_engine_on_market(b->rig.engine, symbol, market, u);
    else if (want->cross && floor_submit(b, "fl", k, symbol) == 0)
        x->submitted++;
    x->in_ns[k] = t_in;
    x->eval_ns[k] = uv_hrtime();
}

/* ---- 1. memory ---- */

static bool floor_all_taken(void *ud)
{
    bench *b = ud;
    return s6_s4_peer_count(b->rig.floor_peer, S6_S4P_ORDERS) >= b->rig.n;
}

/* The calibration's stops go out a window at a time, as the engine's first
 * stops do (rig_open_positions): thousands of requests at once would only
 * measure the peer's accept queue. */
static void calibrate_next(bench *b)
{
    if (b->calibrated >= b->rig.n)
        return;
    size_t i = b->calibrated++;
    if (floor_submit(b, "mem", i, b->rig.symbols[i]) != 0)
        fail(b, "a memory-calibration stop was refused");
}

static double mib(size_t bytes) { return (double)bytes / 1048576.0; }

static void print_mem(const char *what, struct rig_mem m)
{
    printf("memory: %-44s RSS %7.1f MiB, heap in use %7.1f MiB\n", what,
           mib(m.rss), mib(m.heap));
}

/* (c - b) - (b - a) per position: the open's growth less the bare peer's. */
static double per_position(size_t a, size_t b, size_t c, size_t n)
{
    return ((double)c - 2.0 * (double)b + (double)a) / (double)n;
}

/* Per symbol: the config's growth over n symbols.  The service's share:
 * the process less what the two in-process S4 peers keep of the orders
 * they took (n each, the bare peer's growth).  The rules run in this
 * process here; in the service their Lua heap is the rule worker's. */
static void print_shares(bench *b, struct rig_mem built, struct rig_mem bare,
                         struct rig_mem open)
{
    size_t n = b->rig.n;
    printf("memory: per symbol, the config's growth: RSS %.0f bytes, heap "
           "%.0f bytes\n",
           ((double)b->rig.mem_config.rss - (double)b->rig.mem_start.rss) / n,
           ((double)b->rig.mem_config.heap - (double)b->rig.mem_start.heap) /
               n);
    printf("memory: the service's share with every position open (less both "
           "peers' orders): RSS %.1f MiB, heap %.1f MiB\n",
           mib(open.rss - 2 * (bare.rss - built.rss)),
           mib(open.heap - 2 * (bare.heap - built.heap)));
    printf("memory: the rules' Lua heap (the rule worker's in the service): "
           "%.1f MiB\n",
           mib(s6_ruleset_mem_used(b->rig.rules_svc.reg.live)));
}

static void memory_phase(bench *b)
{
    size_t n = b->rig.n;
    struct rig_mem built = rig_mem_now();
    for (size_t i = 0; i < CALIBRATION_WINDOW; i++)
        calibrate_next(b);
    if (rig_run_until(&b->rig, floor_all_taken, b, 120000) != 0)
        fail(b, "the floor peer did not take every calibration stop");
    struct rig_mem bare = rig_mem_now();
    uint64_t t0 = uv_hrtime();
    if (rig_open_positions(&b->rig, ENTRY, QTY, FIRST_SL) != 0)
        fail(b, "not every position opened with a confirmed first stop");
    double open_s = (uv_hrtime() - t0) / 1e9;
    struct rig_mem open = rig_mem_now();
    printf("open: %zu positions from ord:{results} entry fills, first stops "
           "confirmed by S4, in %.2f s\n", n, open_s);
    print_mem("at start", b->rig.mem_start);
    print_mem("config loaded (symbols, rule parameters)", b->rig.mem_config);
    print_mem("engine and edges built, no position", built);
    print_mem("+ as many stops sent to a bare peer", bare);
    print_mem("+ every position open, stop confirmed", open);
    printf("memory: per position, the open's growth less the bare peer's: "
           "RSS %.0f bytes, heap %.0f bytes\n",
           per_position(built.rss, bare.rss, open.rss, n),
           per_position(built.heap, bare.heap, open.heap, n));
    print_shares(b, built, bare, open);
}

/* ---- 2. the manage tick ---- */

static void on_snapshot(void *ud, const s6_md_snap *snaps, size_t n)
{
    bench *b = ud;
    rig *r = &b->rig;
    uint64_t t1 = uv_hrtime();
    for (size_t i = 0; i < n; i++)
        if (snaps[i].rc != 0 || snaps[i].m.u.mark != SEED_MARK)
            b->snap_bad++;
    for (size_t i = 0; i < n; i++)
        if (snaps[i].rc == 0)
            s6_engine_on_market(r->engine, snaps[i].m.symbol,
                                snaps[i].m.market, &snaps[i].m.u);
    uint64_t t2 = uv_hrtime();
    s6_engine_tick(r->engine);
    uint64_t t3 = uv_hrtime();
    b->t_market = t2 - t1;
    b->t_tick = t3 - t2;
    b->t_snap = t1;
    b->tick_done = true;
}

static bool tick_done(void *ud) { return ((bench *)ud)->tick_done; }

/* redis-benchmark's rate for one command (--csv: the second field of
 * its last line), or NAN. */
static double redis_rate(const rig *r, int clients, size_t requests,
                         const char *command)
{
    char cmd[512], line[512], last[512] = "";
    snprintf(cmd, sizeof cmd, "redis-benchmark -p %d -P 16 -c %d -n %zu "
             "--csv %s 2>/dev/null", r->srv.port, clients, requests, command);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return NAN;
    while (fgets(line, sizeof line, p) != NULL)
        if (line[0] == '"')
            snprintf(last, sizeof last, "%s", line);
    pclose(p);
    const char *f = strstr(last, "\",\"");
    printf("  $ %s\n", cmd);
    return f != NULL ? strtod(f + 3, NULL) : NAN;
}

/* Every POST the peer recorded so far. */
static size_t peer_records(s6_s4_peer *peer)
{
    size_t i = 0;
    while (s6_s4_peer_get(peer, i) != NULL)
        i++;
    return i;
}

static void tick_phase(bench *b, int rounds)
{
    rig *r = &b->rig;
    s6_md_regimes rg = { (const char *const *)r->cfg.rules.regimes.v,
                         r->cfg.rules.regimes.n };
    uint64_t *total = calloc((size_t)rounds, sizeof *total);
    uint64_t *snap = calloc((size_t)rounds, sizeof *snap);
    uint64_t *market = calloc((size_t)rounds, sizeof *market);
    uint64_t *tick = calloc((size_t)rounds, sizeof *tick);
    size_t posts = peer_records(r->peer);
    s6_engine_status st0, st1;
    s6_engine_get_status(r->engine, &st0);
    for (int k = 0; k < rounds; k++) {
        if (rig_write_last(r, SEED_MARK) != 0) /* fresh ts, as a live feed */
            fail(b, "cannot refresh md:last");
        b->tick_done = false;
        uint64_t t0 = uv_hrtime();
        if (s6_bus_feed_snapshot(r->redis, r->instruments, r->n, &rg,
                                 on_snapshot, b) < 0 ||
            rig_run_until(r, tick_done, b, 120000) != 0) {
            fail(b, "a manage tick did not finish");
            break;
        }
        snap[k] = b->t_snap - t0;
        market[k] = b->t_market;
        tick[k] = b->t_tick;
        total[k] = snap[k] + market[k] + tick[k];
    }
    rig_run_for(r, 300); /* an order a tick caused would be out by now */
    s6_engine_get_status(r->engine, &st1);
    if (peer_records(r->peer) != posts)
        fail(b, "a quiet manage tick sent an order");
    if (st1.stale_dropped != st0.stale_dropped)
        fail(b, "the tick's md:last data counted as stale");
    if (b->snap_bad)
        fail(b, "a snapshot answer was wrong");
    size_t n = r->n;
    rig_pct pt = rig_percentiles(total, (size_t)rounds);
    rig_pct ps = rig_percentiles(snap, (size_t)rounds);
    rig_pct pm = rig_percentiles(market, (size_t)rounds);
    rig_pct pk = rig_percentiles(tick, (size_t)rounds);
    printf("tick: %zu positions, %d rounds, median (max) ms: total %.1f "
           "(%.1f) = snapshot %.1f (%.1f) + %zu on_market %.1f (%.1f) + "
           "s6_engine_tick %.1f (%.1f)\n", n, rounds, pt.p50, pt.max, ps.p50,
           ps.max, n, pm.p50, pm.max, pk.p50, pk.max);
    b->tick_ms = pt.p50;
    b->snap_ms = ps.p50;
    free(total);
    free(snap);
    free(market);
    free(tick);
}

/* The limit of the tick's reads, measured last: redis-benchmark saturates
 * the server for a while, long enough for the feed's and the consumer's
 * blocking reads to time out and reconnect, which must not happen inside
 * a latency run. */
static void tick_limit_phase(bench *b)
{
    rig *r = &b->rig;
    size_t n = r->n, req = n * 20 < 200000 ? 200000 : n * 20;
    if (r->cluster) { /* redis-benchmark speaks to one node */
        printf("tick limit: not measured on a cluster\n");
        return;
    }
    char hgetall[64];
    snprintf(hgetall, sizeof hgetall, "HGETALL md:last:FUT:%s", r->symbols[0]);
    double rate50 = redis_rate(r, 50, req, hgetall);
    double rate1 = redis_rate(r, 1, req, hgetall);
    /* The limit is the better of the two: on a shared machine either can
     * lose to a neighbour's burst. */
    double limit_ms = n / fmax(rate50, rate1) * 1e3;
    printf("tick limit: redis-benchmark -P 16 HGETALL: -c 50 %.0f/s, -c 1 "
           "%.0f/s; %zu HGETALLs at the better rate take %.1f ms\n", rate50,
           rate1, n, limit_ms);
    printf("tick ratio to the limit: snapshot %.2f, whole tick %.2f\n",
           b->snap_ms / limit_ms, b->tick_ms / limit_ms);
    if (!(rate50 > 0) || !(rate1 > 0))
        fail(b, "no rate from redis-benchmark");
}

/* ---- 3. latency ---- */

static offer_update *schedule(bench *b, size_t n_upd, size_t every,
                              bool engine)
{
    offer_update *u = calloc(n_upd, sizeof *u);
    for (size_t k = 0; u != NULL && k < n_upd; k++) {
        bool cross = k % every == every - 1;
        size_t pos = k % b->rig.n;
        if (cross && engine)
            pos = b->fresh++;
        u[k] = (offer_update){ (uint32_t)pos,
                               cross ? CROSS_MARK : quiet_mark(k), cross };
    }
    return u;
}

static bool run_delivered(void *ud)
{
    bench *b = ud;
    return b->run->delivered + b->run->mismatched >= b->run->o.n;
}

typedef struct want_posts {
    s6_s4_peer *peer;
    s6_s4_peer_counter which;
    size_t n;
} want_posts;

static bool posts_in(void *ud)
{
    want_posts *w = ud;
    return s6_s4_peer_count(w->peer, w->which) >= w->n;
}

/* The order behind a peer record: the crossing update it answers, or
 * (size_t)-1.  Engine: the position's pos_id; floor: the intent's k. */
static size_t update_of(const run *x, const s6_s4_peer_rec *rec,
                        const size_t *cross_of_pos, size_t n_pos)
{
    json_t *body = json_loads(rec->body, 0, NULL);
    const char *id = json_string_value(json_object_get(
        body, x->engine ? "pos_id" : "intent_id"));
    const char *purpose = json_string_value(json_object_get(body, "purpose"));
    size_t k = (size_t)-1;
    if (id != NULL && purpose != NULL && strcmp(purpose, "sl") == 0) {
        const char *num = x->engine ? id + 1 : strchr(id, '-');
        size_t v = num ? strtoul(num + !x->engine, NULL, 10) : (size_t)-1;
        k = !x->engine ? v : v < n_pos ? cross_of_pos[v] : (size_t)-1;
    }
    json_decref(body);
    return k < x->o.n && x->upd[k].cross ? k : (size_t)-1;
}

/* Write -> the peer has the order, per crossing update; every crossing
 * exactly once, nothing else. */
static size_t order_latencies(bench *b, run *x, s6_s4_peer *peer,
                              size_t first_rec, uint64_t *out)
{
    size_t *cross_of_pos = calloc(b->rig.n, sizeof *cross_of_pos);
    unsigned char *seen = calloc(x->o.n, 1);
    size_t got = 0, extra = 0;
    for (size_t k = 0; k < x->o.n; k++)
        if (x->upd[k].cross)
            cross_of_pos[x->upd[k].pos] = k;
    const s6_s4_peer_rec *rec;
    for (size_t i = first_rec; (rec = s6_s4_peer_get(peer, i)) != NULL; i++) {
        if (strcmp(rec->path, "/orders") != 0)
            continue;
        size_t k = update_of(x, rec, cross_of_pos, b->rig.n);
        if (k == (size_t)-1 || seen[k]++) {
            extra++;
            continue;
        }
        out[got++] = rec->at_ns - x->sent_ns[k];
    }
    if (extra)
        fail(b, "an order S4 got answers no crossing (or one twice)");
    if (got != x->crossings)
        fail(b, "a crossing update sent no order");
    free(cross_of_pos);
    free(seen);
    return got;
}

/* Offered and written rates, the rate the loop got through them (to the
 * last update's return), and the loop thread's CPU per update: the figure
 * the shared machine disturbs least. */
static void print_run(const char *what, double rate, const run *x,
                      rig_pct order, rig_pct done, rig_pct in)
{
    double secs = (x->o.finished_ns - x->o.started_ns) / 1e9;
    uint64_t last = 0;
    for (size_t k = 0; k < x->o.n; k++)
        last = x->eval_ns[k] > last ? x->eval_ns[k] : last;
    double through = (last - x->o.started_ns) / 1e9;
    printf("latency %-6s %5.0f/s offered (%.0f/s written, %.0f/s handled), "
           "%zu updates, %zu crossings, loop CPU %.1f us/update\n", what,
           rate, x->o.n / secs, x->o.n / through, x->o.n, x->crossings,
           x->cpu_s / (double)x->o.n * 1e6);
    printf("  written -> S4 has the stop order : p50 %7.3f  p99 %7.3f  max "
           "%7.3f ms (n %zu)\n", order.p50, order.p99, order.max, order.n);
    printf("  written -> %-21s : p50 %7.3f  p99 %7.3f  max %7.3f ms (n %zu)\n",
           x->engine ? "evaluated (no order)" : "callback returned",
           done.p50, done.p99, done.max, done.n);
    printf("  written -> feed delivered        : p50 %7.3f  p99 %7.3f  max "
           "%7.3f ms\n", in.p50, in.p99, in.max);
}

typedef struct run_result {
    rig_pct order, done;
    double cpu_us;            /* the loop thread's CPU per update */
} run_result;

static void run_prepare(bench *b, run *x, double rate, size_t n_upd,
                        size_t every)
{
    rig *r = &b->rig;
    x->upd = schedule(b, n_upd, every, x->engine);
    x->sent_ns = calloc(n_upd, sizeof *x->sent_ns);
    x->in_ns = calloc(n_upd, sizeof *x->in_ns);
    x->eval_ns = calloc(n_upd, sizeof *x->eval_ns);
    x->o = (offer){ .port = r->srv.port, .slot_port = r->slot_port,
                    .upd = x->upd, .n = n_upd,
                    .rate = rate, .symbols = (const char (*)[16])r->symbols,
                    .regimes = (const char *const *)r->cfg.rules.regimes.v,
                    .n_regimes = r->cfg.rules.regimes.n,
                    .sent_ns = x->sent_ns };
    snprintf(x->o.host, sizeof x->o.host, "127.0.0.1");
    for (size_t k = 0; k < n_upd; k++)
        x->crossings += x->upd[k].cross;
}

/* Offers the updates and waits for them, then for every stop order (and,
 * behind the engine, every cancel of the stop it replaces). */
static void run_drive(bench *b, run *x, s6_s4_peer *peer, double seconds)
{
    rig *r = &b->rig;
    want_posts orders = { peer, S6_S4P_REQUESTS,
                          s6_s4_peer_count(peer, S6_S4P_REQUESTS) +
                              x->crossings };
    want_posts cancels = { peer, S6_S4P_CANCELS,
                           s6_s4_peer_count(peer, S6_S4P_CANCELS) +
                               x->crossings * x->engine };
    b->run = x;
    b->run_no++;
    double cpu0 = rig_thread_cpu_s();
    if (offer_start(&x->o) != 0) {
        fail(b, x->o.err);
    } else {
        if (rig_run_until(r, run_delivered, b,
                          (unsigned)(seconds * 1000) + 60000) != 0)
            fail(b, "not every update was delivered");
        x->cpu_s = rig_thread_cpu_s() - cpu0;
        if (offer_join(&x->o) != 0)
            fail(b, x->o.err);
    }
    if (rig_run_until(r, posts_in, &orders, 60000) != 0 ||
        rig_run_until(r, posts_in, &cancels, 60000) != 0)
        fail(b, "S4 did not get every stop order and cancel");
    rig_run_for(r, 300); /* a stray order would be out by now */
    b->run = NULL;
    if (x->mismatched)
        fail(b, "an update arrived out of order or changed");
}

static run_result run_report(bench *b, run *x, s6_s4_peer *peer,
                             size_t first_rec, double rate)
{
    size_t n_upd = x->o.n, n_done = 0;
    uint64_t *ord = calloc(x->crossings + 1, sizeof *ord);
    uint64_t *done = calloc(n_upd, sizeof *done);
    uint64_t *in = calloc(n_upd, sizeof *in);
    size_t n_ord = order_latencies(b, x, peer, first_rec, ord);
    for (size_t k = 0; k < n_upd; k++) {
        in[k] = x->in_ns[k] - x->sent_ns[k];
        if (!x->upd[k].cross)
            done[n_done++] = x->eval_ns[k] - x->sent_ns[k];
    }
    run_result res = { rig_percentiles(ord, n_ord),
                       rig_percentiles(done, n_done),
                       x->cpu_s / (double)n_upd * 1e6 };
    print_run(x->engine ? "engine" : "floor", rate, x, res.order, res.done,
              rig_percentiles(in, n_upd));
    free(ord);
    free(done);
    free(in);
    return res;
}

static run_result latency_run(bench *b, double rate, double seconds,
                              size_t every, bool engine)
{
    run x = { .engine = engine };
    s6_s4_peer *peer = engine ? b->rig.peer : b->rig.floor_peer;
    size_t first_rec = peer_records(peer);
    run_prepare(b, &x, rate, (size_t)(rate * seconds), every);
    run_drive(b, &x, peer, seconds);
    run_result res = run_report(b, &x, peer, first_rec, rate);
    free(x.upd);
    free(x.sent_ns);
    free(x.in_ns);
    free(x.eval_ns);
    return res;
}

static void latency_phase(bench *b, double seconds, size_t every)
{
    static const double rates[] = { 1000, 10000 };
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        run_result fl = latency_run(b, rates[i], seconds, every, false);
        run_result en = latency_run(b, rates[i], seconds, every, true);
        printf("latency ratio engine/floor at %.0f/s: order p50 %.2f p99 "
               "%.2f; no-order evaluation p50 %.2f p99 %.2f; loop CPU per "
               "update %.2f\n", rates[i],
               en.order.p50 / fl.order.p50, en.order.p99 / fl.order.p99,
               en.done.p50 / fl.done.p50, en.done.p99 / fl.done.p99,
               en.cpu_us / fl.cpu_us);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 10;
    size_t every = argc > 3 ? strtoul(argv[3], NULL, 10) : 100;
    int rounds = argc > 4 ? atoi(argv[4]) : 9;
    size_t crossings = (size_t)(11000 * seconds) / (every ? every : 1);
    if (n == 0 || n > RIG_MAX_POSITIONS || !(seconds > 0) || every < 2 ||
        rounds < 1 || crossings > n) {
        fprintf(stderr, "usage: s6-bench-engine-live [positions] [seconds] "
                "[every >= 2] [rounds]\n  (positions >= the crossings: "
                "11000 * seconds / every)\n");
        return 2;
    }
    static bench b;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (rig_start(&b.rig, n, on_market, &b) != 0) {
        rig_free(&b.rig);
        return 2;
    }
    printf("s6-bench-engine-live: %zu positions (long 10x at %.0f), Lua "
           "rules, redis-server on port %d; service log in %s\n", n, ENTRY,
           b.rig.srv.port, RIG_LOG_FILE);
    if (rig_write_last(&b.rig, SEED_MARK) != 0)
        fail(&b, "cannot write md:last");
    memory_phase(&b);
    if (b.failures == 0)
        tick_phase(&b, rounds);
    if (b.failures == 0)
        latency_phase(&b, seconds, every);
    if (b.failures == 0)
        tick_limit_phase(&b);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    print_mem("at the end", rig_mem_now());
    printf("memory: peak RSS (ru_maxrss) %.1f MiB\n", ru.ru_maxrss / 1024.0);
    printf("service log: %zu lines at warn or above\n", b.rig.log_lines);
    if (b.stray)
        fail(&b, "updates arrived outside a run");
    rig_free(&b.rig);
    return b.failures ? 1 : 0;
}
