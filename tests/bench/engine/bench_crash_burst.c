/*
 * Run from the source root:
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-rel -j2 --target s6-bench-crash-burst
 *   cd build-rel && ./s6-bench-crash-burst
 *
 * s6-bench-crash-burst — every mark moves past a lock-in step in the same
 * second (19 May 2021: the whole market fell at once), on the engine as
 * the service wires it (rig.h), docs/performance.md "Crash burst":
 *
 *   s6-bench-crash-burst [positions=10000] [drain=50]
 *
 * 1. The burst, S4 rate limits lifted: `positions` short positions (one per
 *    instrument: design.md §4 allows one position per (market, symbol)),
 *    each with its first stop confirmed; then one mark update per
 *    instrument, all written within one second (offer.h at `positions`
 *    updates/s), each past lock-in step 1 (ROE 10.8%: the stop moves to
 *    net breakeven).  Measured per position: written -> S4 has the new
 *    stop's POST /orders and the old stop's POST /cancel (the later of
 *    the two), p50/p99/max, and the time until every position is done;
 *    the loop thread's CPU per stop move, to the moment every result S4
 *    published for them (the new stop's, the cancel's) is applied.
 *    The floor, in the same run, on the same schedule: the feed handing
 *    each update to a callback that sends a stop to a bare S4 peer and,
 *    once S4 took it, the cancel of an old stop placed there beforehand:
 *    the same HTTP requests in the same order, without the engine.
 * 2. The drain with the shipped limits (5 requests/s per symbol, 20/s
 *    overall): `drain` positions, every mark past step 1 within half a
 *    second, and a strategy signal in the positions' direction right
 *    after each mark (an add-on is due too: an order that adds risk).
 *    Checked from what S4 received, in order, once every mark was read:
 *    every moved stop before any add-on; the moved stops in the order
 *    their marks were written (no symbol overtakes another); neither
 *    limit exceeded, per symbol or overall.  A violation fails the
 *    program.
 *
 * The service's log lines go to s6-bench-crash-burst.log (the burst) and
 * s6-bench-crash-burst-drain.log in the working directory.
 *
 * The exit status says whether what was measured is what was meant: every
 * update delivered in order, exactly one new stop and one cancel per
 * position, every result applied, the drain order right.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "offer.h"
#include "rig.h"

static const double ENTRY = 50000, QTY = 0.1, FIRST_SL = 51000;
static const double SEED_MARK = 49900;   /* ROE 2%, short 10x */
static const double CROSS_MARK = 49460;  /* ROE 10.8%: past step 1 (10%),
                                            short of the TP step (12%) */
enum { SIDE = -1, FLOOR_WINDOW = 64, MAX_AGE_S = 3600 };
/* The shipped limits (config/s6.json orders.*), which the drain checks. */
static const double RATE_SYMBOL = 5, RATE_TOTAL = 20;

typedef struct burst {
    rig rig;
    bool engine;              /* the engine's run, else the floor's */
    bool signals;             /* a signal after each mark (the drain) */
    const offer_update *upd;
    size_t n_upd, delivered, mismatched, stray, failures;
    size_t floor_placed;      /* floor: old stops placed beforehand */
    size_t floor_done;        /* floor: moves whose cancel S4 answered */
    uint64_t last_in_ns;      /* the last update handed to the engine */
    unsigned run_no;
} burst;

static void fail(burst *b, const char *what)
{
    fprintf(stderr, "FAILED: %s\n", what);
    b->failures++;
}

/* S00042USDT -> 42, or (size_t)-1. */
static size_t pos_of_symbol(const char *s, size_t n)
{
    size_t i = s && s[0] == 'S' ? strtoul(s + 1, NULL, 10) : (size_t)-1;
    return i < n ? i : (size_t)-1;
}

/* ---- the floor: the same requests straight to a bare peer ---- */

static void on_floor_cancelled(void *ud, const char *intent, int outcome,
                               const char *detail)
{
    burst *b = ud;
    if (outcome != S6_ROUTE_OK) {
        fprintf(stderr, "floor cancel %s: %s\n", intent, detail);
        fail(b, "the floor's cancel failed");
    }
    b->floor_done++;
}

static void floor_place(burst *b, const char *tag, size_t i,
                        s6_route_done done);

/* A new stop at S4: the old one goes, as the engine does it. */
static void on_floor_placed(void *ud, const char *intent, int outcome,
                            const char *detail)
{
    burst *b = ud;
    size_t i = strtoul(intent + 2, NULL, 10);
    char old[S6_INTENT_ID_MAX + 1];
    snprintf(old, sizeof old, "fo%zu", i);
    s6_router edge;
    s6_s4_router_edge(b->rig.floor_s4, &edge);
    if (outcome != S6_ROUTE_OK) {
        fprintf(stderr, "floor order %s: %s\n", intent, detail);
        fail(b, "the floor's order failed");
        b->floor_done++;
    } else if (edge.cancel(edge.ud, old, b->rig.symbols[i], S6_MARKET_FUT,
                           on_floor_cancelled, b) != 0) {
        fail(b, "the floor's cancel was refused");
        b->floor_done++;
    }
}

/* The old stops, a window at a time (thousands at once would measure the
 * peer's accept queue). */
static void on_floor_old(void *ud, const char *intent, int outcome,
                         const char *detail)
{
    burst *b = ud;
    if (outcome != S6_ROUTE_OK) {
        fprintf(stderr, "floor old stop %s: %s\n", intent, detail);
        fail(b, "the floor's old stop failed");
    }
    if (b->floor_placed < b->rig.n)
        floor_place(b, "fo", b->floor_placed++, on_floor_old);
}

static void floor_place(burst *b, const char *tag, size_t i,
                        s6_route_done done)
{
    s6_order o = { .market = S6_MARKET_FUT, .type = S6_ORDER_STOP_MARKET,
                   .purpose = S6_PURPOSE_STOP, .side = -SIDE,
                   .reduce_only = true, .qty = QTY, .stop_price = 49950 };
    snprintf(o.intent_id, sizeof o.intent_id, "%s%zu", tag, i);
    snprintf(o.pos_id, sizeof o.pos_id, "floor");
    snprintf(o.symbol, sizeof o.symbol, "%s", b->rig.symbols[i]);
    snprintf(o.qty_str, sizeof o.qty_str, "0.100");
    snprintf(o.price_str, sizeof o.price_str, "49950.0");
    s6_router edge;
    s6_s4_router_edge(b->rig.floor_s4, &edge);
    if (edge.submit(edge.ud, &o, done, b) != 0)
        fail(b, "a floor order was refused");
}

static bool floor_old_in(void *ud)
{
    burst *b = ud;
    return s6_s4_peer_count(b->rig.floor_peer, S6_S4P_ORDERS) >= b->rig.n;
}

/* ---- the feed's callback: service.c's on_market ---- */

static void on_market(void *ud, const char *symbol, int market,
                      const s6_market_update *u)
{
    burst *b = ud;
    if (b->upd == NULL || b->delivered >= b->n_upd) {
        b->stray++;
        return;
    }
    const offer_update *want = &b->upd[b->delivered++];
    if (strcmp(symbol, b->rig.symbols[want->pos]) != 0 ||
        u->mark != want->mark) {
        b->mismatched++;
        return;
    }
    if (!b->engine) {
        floor_place(b, "fn", want->pos, on_floor_placed);
        return;
    }
    b->last_in_ns = uv_hrtime();
    s6_engine_on_market(b->rig.engine, symbol, market, u);
    if (b->signals)
        s6_engine_on_signal(b->rig.engine, symbol, SIDE, 1.0, u->ts);
}

/* ---- what S4 received ---- */

typedef struct seen {
    uint64_t order_ns, cancel_ns;  /* first of each, 0 = none */
    size_t order_seq, cancel_seq;  /* their places among the requests */
    size_t orders, cancels;        /* how many */
} seen;

typedef struct tally {
    seen *pos;                     /* per position */
    size_t n_req;                  /* requests since the burst began */
    size_t adds, other;
    uint64_t *at_ns;               /* each request's arrival, n_req */
    size_t *req_pos;               /* each request's position */
    bool *req_add;                 /* each request: an add-on? */
} tally;

static void tally_free(tally *t)
{
    free(t->pos);
    free(t->at_ns);
    free(t->req_pos);
    free(t->req_add);
}

/* Every request the peer recorded from first_rec on, by position. */
static int tally_of(s6_s4_peer *peer, size_t first_rec, size_t n, tally *t)
{
    size_t total = 0;
    while (s6_s4_peer_get(peer, first_rec + total) != NULL)
        total++;
    *t = (tally){ .pos = calloc(n, sizeof *t->pos),
                  .at_ns = calloc(total + 1, sizeof *t->at_ns),
                  .req_pos = calloc(total + 1, sizeof *t->req_pos),
                  .req_add = calloc(total + 1, sizeof *t->req_add) };
    if (!t->pos || !t->at_ns || !t->req_pos || !t->req_add)
        return -1;
    for (size_t k = 0; k < total; k++) {
        const s6_s4_peer_rec *rec = s6_s4_peer_get(peer, first_rec + k);
        json_t *body = json_loads(rec->body, 0, NULL);
        const char *purpose =
            json_string_value(json_object_get(body, "purpose"));
        size_t i = pos_of_symbol(
            json_string_value(json_object_get(body, "symbol")), n);
        bool cancel = strcmp(rec->path, "/cancel") == 0;
        bool stop = !cancel && purpose && strcmp(purpose, "sl") == 0;
        bool add = !cancel && purpose && strcmp(purpose, "add") == 0;
        json_decref(body);
        size_t seq = t->n_req++;
        t->at_ns[seq] = rec->at_ns;
        t->req_pos[seq] = i;
        t->req_add[seq] = add;
        t->adds += add;
        if (i == (size_t)-1 || !(stop || cancel)) {
            t->other += !add;
            continue;
        }
        seen *s = &t->pos[i];
        if (stop && s->orders++ == 0) {
            s->order_ns = rec->at_ns;
            s->order_seq = seq;
        }
        if (cancel && s->cancels++ == 0) {
            s->cancel_ns = rec->at_ns;
            s->cancel_seq = seq;
        }
    }
    return 0;
}

/* ---- 1. the burst ---- */

typedef struct burst_run {
    offer o;
    offer_update *upd;
    uint64_t *sent_ns;
    size_t *upd_of;           /* position -> its update */
    double cpu_s;             /* the loop thread's, to all done */
    uint64_t t0, t_done;
} burst_run;

typedef struct engine_done {
    burst *b;
    size_t requests, cancels; /* the peer's counts to reach */
    size_t published0, delivered0;
} engine_done;

static uint64_t delivered_results(burst *b)
{
    s6_results_stats st;
    s6_results_get_stats(b->rig.results, &st);
    return st.delivered;
}

/* S4 has every new stop and every cancel, and the engine has applied
 * every result S4 published since. */
static bool engine_all_done(void *ud)
{
    engine_done *d = ud;
    s6_s4_peer *p = d->b->rig.peer;
    if (s6_s4_peer_count(p, S6_S4P_REQUESTS) < d->requests ||
        s6_s4_peer_count(p, S6_S4P_CANCELS) < d->cancels)
        return false;
    size_t published = s6_s4_peer_count(p, S6_S4P_PUBLISHED);
    return delivered_results(d->b) - d->delivered0 >=
           published - d->published0;
}

static bool floor_all_done(void *ud)
{
    burst *b = ud;
    return b->floor_done >= b->n_upd;
}

static void burst_prepare(burst *b, burst_run *x, double rate)
{
    rig *r = &b->rig;
    size_t n = r->n;
    x->upd = calloc(n, sizeof *x->upd);
    x->sent_ns = calloc(n, sizeof *x->sent_ns);
    x->upd_of = calloc(n, sizeof *x->upd_of);
    for (size_t k = 0; k < n; k++) {
        x->upd[k] = (offer_update){ (uint32_t)k, CROSS_MARK, true };
        x->upd_of[k] = k;
    }
    x->o = (offer){ .port = r->srv.port, .slot_port = r->slot_port,
                    .upd = x->upd, .n = n, .rate = rate,
                    .symbols = (const char (*)[16])r->symbols,
                    .regimes = (const char *const *)r->cfg.rules.regimes.v,
                    .n_regimes = r->cfg.rules.regimes.n,
                    .sent_ns = x->sent_ns };
    snprintf(x->o.host, sizeof x->o.host, "127.0.0.1");
    b->upd = x->upd;
    b->n_upd = n;
    b->delivered = b->mismatched = 0;
}

/* Offers the burst and runs the loop until done(ud); the loop's CPU. */
static void burst_drive(burst *b, burst_run *x, bool (*done)(void *),
                        void *ud, unsigned timeout_ms)
{
    double cpu0 = rig_thread_cpu_s();
    x->t0 = uv_hrtime();
    if (offer_start(&x->o) != 0) {
        fail(b, x->o.err);
        return;
    }
    if (rig_run_until(&b->rig, done, ud, timeout_ms) != 0)
        fail(b, "the burst did not finish in time");
    x->t_done = uv_hrtime();
    x->cpu_s = rig_thread_cpu_s() - cpu0;
    if (offer_join(&x->o) != 0)
        fail(b, x->o.err);
    rig_run_for(&b->rig, 300); /* a stray order would be out by now */
    if (b->mismatched || b->delivered != b->n_upd)
        fail(b, "an update was lost, reordered or changed");
    b->upd = NULL;
}

typedef struct burst_result {
    rig_pct stop, both;       /* written -> new stop; -> stop and cancel */
    double all_s;             /* first write -> every position done */
    double cpu_us;            /* loop CPU per stop move */
} burst_result;

static burst_result burst_report(burst *b, burst_run *x, s6_s4_peer *peer,
                                 size_t first_rec, const char *what)
{
    size_t n = b->rig.n, bad = 0;
    tally t;
    burst_result res = { .cpu_us = x->cpu_s / (double)n * 1e6 };
    uint64_t *stop = calloc(n, sizeof *stop), *both = calloc(n, sizeof *both);
    uint64_t last = 0;
    if (tally_of(peer, first_rec, n, &t) != 0 || !stop || !both) {
        fail(b, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            const seen *s = &t.pos[i];
            uint64_t sent = x->sent_ns[x->upd_of[i]];
            uint64_t end = s->order_ns > s->cancel_ns ? s->order_ns
                                                      : s->cancel_ns;
            bad += s->orders != 1 || s->cancels != 1;
            stop[i] = s->order_ns - sent;
            both[i] = end - sent;
            last = end > last ? end : last;
        }
        if (bad || t.other || t.adds)
            fail(b, "not exactly one new stop and one cancel per position");
        res.stop = rig_percentiles(stop, n);
        res.both = rig_percentiles(both, n);
        res.all_s = (last - x->sent_ns[0]) / 1e9;
    }
    printf("burst %-6s %zu stop moves written in %.3f s: written -> new stop "
           "at S4 p50 %.2f p99 %.2f max %.2f ms; -> stop and cancel p50 "
           "%.2f p99 %.2f max %.2f ms; all done %.3f s after the first "
           "write; loop CPU %.1f us per stop move\n", what, n,
           (x->o.finished_ns - x->o.started_ns) / 1e9, res.stop.p50,
           res.stop.p99, res.stop.max, res.both.p50, res.both.p99,
           res.both.max, res.all_s, res.cpu_us);
    tally_free(&t);
    free(stop);
    free(both);
    return res;
}

static void burst_free(burst_run *x)
{
    free(x->upd);
    free(x->sent_ns);
    free(x->upd_of);
}

static burst_result floor_burst(burst *b, unsigned timeout_ms)
{
    rig *r = &b->rig;
    for (size_t i = 0; i < FLOOR_WINDOW && b->floor_placed < r->n; i++)
        floor_place(b, "fo", b->floor_placed++, on_floor_old);
    if (rig_run_until(r, floor_old_in, b, timeout_ms) != 0)
        fail(b, "the floor peer did not take every old stop");
    size_t first_rec = 0;
    while (s6_s4_peer_get(r->floor_peer, first_rec) != NULL)
        first_rec++;
    burst_run x = { 0 };
    b->engine = false;
    burst_prepare(b, &x, (double)r->n);
    burst_drive(b, &x, floor_all_done, b, timeout_ms);
    burst_result res = burst_report(b, &x, r->floor_peer, first_rec, "floor");
    burst_free(&x);
    return res;
}

static burst_result engine_burst(burst *b, double rate, unsigned timeout_ms)
{
    rig *r = &b->rig;
    size_t first_rec = 0;
    while (s6_s4_peer_get(r->peer, first_rec) != NULL)
        first_rec++;
    engine_done d = {
        b, s6_s4_peer_count(r->peer, S6_S4P_REQUESTS) + r->n,
        s6_s4_peer_count(r->peer, S6_S4P_CANCELS) + r->n,
        s6_s4_peer_count(r->peer, S6_S4P_PUBLISHED), delivered_results(b),
    };
    burst_run x = { 0 };
    b->engine = true;
    burst_prepare(b, &x, rate);
    burst_drive(b, &x, engine_all_done, &d, timeout_ms);
    burst_result res = burst_report(b, &x, r->peer, first_rec, "engine");
    s6_engine_status st;
    s6_engine_get_status(r->engine, &st);
    if (st.unprotected != 0 || st.positions != r->n)
        fail(b, "a position is unprotected after the burst");
    burst_free(&x);
    return res;
}

static int burst_phase(size_t n)
{
    static burst b;
    rig_opts ro = { .side = SIDE, .max_age_s = MAX_AGE_S,
                    .log_file = "s6-bench-crash-burst.log" };
    unsigned timeout_ms = 60000 + (unsigned)(n * 20);
    if (rig_start_with(&b.rig, n, &ro, on_market, &b) != 0) {
        rig_free(&b.rig);
        return 2;
    }
    printf("burst: %zu short positions (10x at %.0f), one per instrument, "
           "S4 limits lifted, redis-server on port %d\n", n, ENTRY,
           b.rig.srv.port);
    uint64_t t0 = uv_hrtime();
    if (rig_write_last(&b.rig, SEED_MARK) != 0 ||
        rig_open_positions(&b.rig, ENTRY, QTY, FIRST_SL) != 0)
        fail(&b, "not every position opened with a confirmed first stop");
    printf("open: %zu positions, first stops confirmed, in %.2f s\n", n,
           (uv_hrtime() - t0) / 1e9);
    if (b.failures == 0) {
        burst_result fl = floor_burst(&b, timeout_ms);
        burst_result en = engine_burst(&b, (double)n, timeout_ms);
        printf("burst ratio engine/floor: new stop p50 %.2f p99 %.2f; stop "
               "and cancel p50 %.2f p99 %.2f; all done %.2f; loop CPU per "
               "stop move %.2f\n", en.stop.p50 / fl.stop.p50,
               en.stop.p99 / fl.stop.p99, en.both.p50 / fl.both.p50,
               en.both.p99 / fl.both.p99, en.all_s / fl.all_s,
               en.cpu_us / fl.cpu_us);
    }
    if (b.stray)
        fail(&b, "updates arrived outside a run");
    printf("service log: %zu lines at warn or above\n", b.rig.log_lines);
    size_t failures = b.failures;
    rig_free(&b.rig);
    return failures ? 1 : 0;
}

/* ---- 2. the drain order with the shipped limits ---- */

typedef struct drain_done {
    burst *b;
    size_t first_rec;
} drain_done;

/* Every position's moved stop, its cancel and its add-on are at S4. */
static bool drain_all_in(void *ud)
{
    drain_done *d = ud;
    size_t n = d->b->rig.n, stops = 0, cancels = 0;
    tally t;
    if (tally_of(d->b->rig.peer, d->first_rec, n, &t) != 0) {
        tally_free(&t);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        stops += t.pos[i].orders > 0;
        cancels += t.pos[i].cancels > 0;
    }
    bool all = stops == n && cancels == n && t.adds >= n;
    tally_free(&t);
    return all;
}

/* At most burst + rate * T requests in any window of length T (the
 * token bucket's promise), with `slack` for the clocks of two threads. */
static bool within_rate(const uint64_t *at, size_t n, double rate,
                        double slack)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            double span = (at[j] - at[i]) / 1e9;
            if ((double)(j - i + 1) > rate + rate * span + slack)
                return false;
        }
    return true;
}

static void check_rates(burst *b, const tally *t)
{
    size_t n = b->rig.n;
    if (!within_rate(t->at_ns, t->n_req, RATE_TOTAL, 1))
        fail(b, "the drain exceeded the overall S4 rate");
    uint64_t *mine = calloc(t->n_req + 1, sizeof *mine);
    for (size_t i = 0; mine && i < n; i++) {
        size_t m = 0;
        for (size_t k = 0; k < t->n_req; k++)
            if (t->req_pos[k] == i)
                mine[m++] = t->at_ns[k];
        if (!within_rate(mine, m, RATE_SYMBOL, 1)) {
            fail(b, "the drain exceeded a symbol's S4 rate");
            break;
        }
    }
    free(mine);
}

/* Protective work first, symbols in turn, the limits kept.  Priority is
 * judged once every mark was read: an add-on sent before a later mark
 * arrived overtook nothing.  Symbols in turn: the moved stops reach S4 in
 * the order their marks were written (a cancel finishing an earlier
 * symbol's move may go between them: it was queued first). */
static void check_drain(burst *b, const tally *t)
{
    size_t n = b->rig.n, last_stop = 0, first_add = (size_t)-1;
    bool fifo = true;
    for (size_t k = t->n_req; k-- > 0;)
        if (t->req_add[k] && t->at_ns[k] > b->last_in_ns)
            first_add = k;
    for (size_t i = 0; i < n; i++) {
        const seen *s = &t->pos[i];
        last_stop = s->order_seq > last_stop ? s->order_seq : last_stop;
        fifo &= i == 0 || t->pos[i - 1].order_seq < s->order_seq;
    }
    printf("drain: %zu requests at S4; the last moved stop at place %zu, "
           "the first add-on sent after every mark was read at %zu\n",
           t->n_req, last_stop, first_add);
    if (t->adds < n)
        fail(b, "an add-on was not sent (the drain checks nothing)");
    if (first_add < last_stop)
        fail(b, "an add-on reached S4 before a moved stop");
    if (!fifo)
        fail(b, "moved stops reached S4 out of the order of their marks");
    check_rates(b, t);
}

/* Room in risk:{budget} for every add-on (the upstream risk service sets
 * the limit, docs/contracts.md). */
static int set_budget(rig *r)
{
    redisContext *c = redisConnect("127.0.0.1", r->srv.port);
    redisReply *rep = c && !c->err
                          ? redisCommand(c, "HSET risk:{budget} limit 1e12")
                          : NULL;
    int rc = rep && rep->type == REDIS_REPLY_INTEGER ? 0 : -1;
    freeReplyObject(rep);
    redisFree(c);
    return rc;
}

static int drain_phase(size_t n)
{
    static burst b;
    rig_opts ro = { .side = SIDE, .shipped_limits = true,
                    .max_age_s = MAX_AGE_S,
                    .log_file = "s6-bench-crash-burst-drain.log" };
    if (rig_start_with(&b.rig, n, &ro, on_market, &b) != 0) {
        rig_free(&b.rig);
        return 2;
    }
    rig *r = &b.rig;
    unsigned timeout_ms = 60000 + (unsigned)(n * 4 / RATE_TOTAL * 1000);
    printf("drain: %zu short positions, the shipped S4 limits (%.0f/s per "
           "symbol, %.0f/s overall)\n", n, RATE_SYMBOL, RATE_TOTAL);
    if (rig_write_last(r, SEED_MARK) != 0 ||
        rig_open_positions(r, ENTRY, QTY, FIRST_SL) != 0)
        fail(&b, "not every position opened with a confirmed first stop");
    rig_run_for(r, 1100); /* the first stops' tokens back in the buckets */
    if (set_budget(r) != 0)
        fail(&b, "cannot set the risk budget");
    drain_done d = { &b, 0 };
    while (s6_s4_peer_get(r->peer, d.first_rec) != NULL)
        d.first_rec++;
    burst_run x = { 0 };
    b.engine = b.signals = true;
    /* Over half a second: the first marks' add-ons wait in the router's
     * queue (the overall limit binds after 20 requests) when the last
     * marks' stops arrive, and must be overtaken by them. */
    burst_prepare(&b, &x, 2.0 * (double)n);
    if (b.failures == 0)
        burst_drive(&b, &x, drain_all_in, &d, timeout_ms);
    tally t;
    if (tally_of(r->peer, d.first_rec, n, &t) == 0)
        check_drain(&b, &t);
    printf("drain: every moved stop, cancel and add-on at S4 %.2f s after "
           "the write\n", (x.t_done - x.t0) / 1e9);
    tally_free(&t);
    burst_free(&x);
    if (b.stray)
        fail(&b, "updates arrived outside a run");
    size_t failures = b.failures;
    rig_free(r);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t drain = argc > 2 ? strtoul(argv[2], NULL, 10) : 50;
    if (n == 0 || n > RIG_MAX_POSITIONS || drain == 0 || drain > 1000) {
        fprintf(stderr, "usage: s6-bench-crash-burst [positions] [drain "
                "positions <= 1000]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = burst_phase(n);
    int rc2 = drain_phase(drain);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("memory: peak RSS (ru_maxrss) %.1f MiB\n", ru.ru_maxrss / 1024.0);
    return rc ? rc : rc2;
}
