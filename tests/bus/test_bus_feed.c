/* The market-data and signal reader and the md:last snapshot against a
 * real redis-server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus/feed.h"
#include "bus_fixture.h"

static const char *const regime_names[] = { "normal", "trend", "chop" };

typedef struct got {
    int updates, signals;
    double marks[256];
    char symbols[256][16];
    int regimes[256];
    int sides[16];
    double strengths[16];
} got;

static void on_market(void *ud, const char *symbol, int market,
                      const s6_market_update *u)
{
    got *g = ud;
    (void)market;
    if (g->updates < 256) {
        g->marks[g->updates] = u->mark;
        g->regimes[g->updates] = u->regime;
        snprintf(g->symbols[g->updates], 16, "%s", symbol);
    }
    g->updates++;
}

static void on_signal(void *ud, const char *symbol, int market, int side,
                      double strength, double ts)
{
    got *g = ud;
    (void)symbol;
    (void)market;
    (void)ts;
    if (g->signals < 16) {
        g->sides[g->signals] = side;
        g->strengths[g->signals] = strength;
    }
    g->signals++;
}

static s6_feed *start(bus_fx *f, got *g, const char *prices_from)
{
    s6_feed_opts o = { .url = f->srv.url,
                       .regimes = { regime_names, 3 },
                       .prices_from = prices_from, .count = 16,
                       .block_ms = 100, .retry_ms = 20,
                       .on_market = on_market, .on_signal = on_signal,
                       .ud = g };
    s6_feed *feed = NULL;
    char err[256] = "";
    if (s6_feed_start(&f->loop, &o, &feed, err, sizeof err) != 0)
        fail_msg("start: %s", err);
    return feed;
}

static void add_price(bus_fx *f, const char *symbol, double mark)
{
    char m[32];
    snprintf(m, sizeof m, "%.2f", mark);
    assert_int_equal(bus_cmdv(f, NULL, "XADD", "md:prices", "*", "symbol",
                              symbol, "market", "FUT", "mark", m, "regime",
                              "trend", "ts", "1764110000", NULL), 0);
}

static bool reading(void *arg)
{
    s6_feed_stats st;
    s6_feed_get_stats(arg, &st);
    return st.reading;
}

typedef struct want {
    got *g;
    int updates, signals;
} want;

static bool reached(void *arg)
{
    want *w = arg;
    return w->g->updates >= w->updates && w->g->signals >= w->signals;
}

static void wait_for(bus_fx *f, got *g, int updates, int signals)
{
    want w = { g, updates, signals };
    assert_true(bus_run_until(f, reached, &w, 5000));
}

static void test_updates_in_order_from_now(void **state)
{
    bus_fx *f = *state;
    add_price(f, "OLDUSDT", 1); /* before the start: not delivered */
    got g = { 0 };
    s6_feed *feed = start(f, &g, NULL);
    assert_true(bus_run_until(f, reading, feed, 5000));
    for (int i = 1; i <= 100; i++)
        add_price(f, i % 2 ? "BTCUSDT" : "ETHUSDT", 1000 + i);
    assert_int_equal(bus_cmdv(f, NULL, "XADD", "strategy:signals", "*",
                              "symbol", "BTCUSDT", "market", "FUT", "side",
                              "SELL", "strength", "0.8", "ts", "1", NULL), 0);
    wait_for(f, &g, 100, 1);
    for (int i = 0; i < 100; i++) {
        assert_true(g.marks[i] == 1001 + i);
        assert_string_equal(g.symbols[i], i % 2 ? "ETHUSDT" : "BTCUSDT");
        assert_int_equal(g.regimes[i], 1);
    }
    assert_int_equal(g.sides[0], -1);
    assert_true(g.strengths[0] == 0.8);
    s6_feed_stats st;
    s6_feed_get_stats(feed, &st);
    assert_int_equal(st.updates, 100);
    assert_int_equal(st.signals, 1);
    s6_feed_close(feed);
}

/* Backpressure: while busy says so no read is outstanding, so nothing is
 * delivered; once it clears, the rest arrives in order. */
typedef struct busy_probe {
    got *g;
    bool busy;
    int said_busy;            /* answers "busy" so far */
    int updates_then;         /* updates at the first of them */
} busy_probe;

static bool probe_busy(void *ud)
{
    busy_probe *b = ud;
    if (b->busy && b->said_busy++ == 0)
        b->updates_then = b->g->updates;
    return b->busy;
}

static bool said_busy_often(void *arg)
{
    return ((busy_probe *)arg)->said_busy >= 5;
}

static void test_busy_consumer_holds_reads(void **state)
{
    bus_fx *f = *state;
    got g = { 0 };
    busy_probe b = { .g = &g };
    s6_feed_opts o = { .url = f->srv.url, .regimes = { regime_names, 3 },
                       .count = 16, .block_ms = 100, .retry_ms = 20,
                       .on_market = on_market, .ud = &g,
                       .busy = probe_busy, .busy_ud = &b };
    s6_feed *feed = NULL;
    char err[256] = "";
    assert_int_equal(s6_feed_start(&f->loop, &o, &feed, err, sizeof err), 0);
    assert_true(bus_run_until(f, reading, feed, 5000));
    add_price(f, "BTCUSDT", 1000);
    wait_for(f, &g, 1, 0);
    b.busy = true;
    for (int i = 1; i <= 40; i++)
        add_price(f, "BTCUSDT", 1000 + i);
    assert_true(bus_run_until(f, said_busy_often, &b, 5000));
    assert_int_equal(g.updates, b.updates_then); /* nothing while busy */
    assert_true(g.updates < 41);
    b.busy = false;
    wait_for(f, &g, 41, 0);
    for (int i = 0; i < 41; i++)
        assert_true(g.marks[i] == 1000 + i);
    s6_feed_close(feed);
}

static void test_bad_entry_skipped(void **state)
{
    bus_fx *f = *state;
    got g = { 0 };
    s6_feed *feed = start(f, &g, "0");
    assert_int_equal(bus_cmdv(f, NULL, "XADD", "md:prices", "*", "symbol",
                              "BTCUSDT", "market", "FUT", "mark", "NaN",
                              "ts", "1", NULL), 0);
    assert_int_equal(bus_cmdv(f, NULL, "XADD", "md:prices", "*", "symbol",
                              "BTCUSDT", "market", "FUT", "mark", "10",
                              "regime", "panic", "ts", "1", NULL), 0);
    add_price(f, "BTCUSDT", 11);
    wait_for(f, &g, 1, 0);
    assert_int_equal(g.updates, 1);
    assert_true(g.marks[0] == 11);
    s6_feed_stats st;
    s6_feed_get_stats(feed, &st);
    assert_int_equal(st.bad, 2);
    s6_feed_close(feed);
}

static void test_resume_from_remembered_id(void **state)
{
    bus_fx *f = *state;
    got g = { 0 };
    s6_feed *feed = start(f, &g, "0");
    for (int i = 0; i < 3; i++)
        add_price(f, "BTCUSDT", 100 + i);
    wait_for(f, &g, 3, 0);
    s6_feed_stats st;
    s6_feed_get_stats(feed, &st);
    char remembered[S6_FEED_ID_LEN];
    strcpy(remembered, st.prices_id);
    s6_feed_close(feed);

    add_price(f, "BTCUSDT", 200); /* written while no reader runs */
    got g2 = { 0 };
    feed = start(f, &g2, remembered);
    add_price(f, "BTCUSDT", 201);
    wait_for(f, &g2, 2, 0);
    assert_int_equal(g2.updates, 2);
    assert_true(g2.marks[0] == 200 && g2.marks[1] == 201);
    s6_feed_close(feed);
}

static bool price_added(void *arg)
{
    return bus_cmdv(arg, NULL, "XADD", "md:prices", "*", "symbol", "BTCUSDT",
                    "market", "FUT", "mark", "300", "ts", "2", NULL) == 0;
}

static void test_reads_on_after_a_redis_restart(void **state)
{
    if (bus_fx_on_cluster())
        skip(); /* one server stopped: redis_cluster covers node faults */
    bus_fx *f = *state;
    got g = { 0 };
    s6_feed *feed = start(f, &g, NULL);
    assert_true(bus_run_until(f, reading, feed, 5000));
    add_price(f, "BTCUSDT", 299);
    wait_for(f, &g, 1, 0);
    assert_int_equal(s6test_redis_restart(&f->srv), 0);
    /* The stream is gone with the data; new ids are later in time than
     * the remembered one, so the next update is read. */
    assert_true(bus_run_until(f, price_added, f, 10000));
    wait_for(f, &g, 2, 0);
    assert_true(g.marks[1] == 300);
    s6_feed_close(feed);
}

static void test_start_refuses_bad_options(void **state)
{
    bus_fx *f = *state;
    got g = { 0 };
    s6_feed_opts o = { .url = f->srv.url, .prices_from = "abc",
                       .on_market = on_market, .ud = &g };
    s6_feed *feed = NULL;
    char err[256] = "";
    assert_int_equal(s6_feed_start(&f->loop, &o, &feed, err, sizeof err),
                     S6_EINVAL);
    assert_non_null(strstr(err, "prices_from 'abc'"));
    o.prices_from = NULL;
    o.on_market = NULL;
    assert_int_equal(s6_feed_start(&f->loop, &o, &feed, err, sizeof err),
                     S6_EINVAL);
}

typedef struct snap_got {
    bool done;
    size_t n;
    s6_md_snap snaps[4];
} snap_got;

static void on_snap(void *ud, const s6_md_snap *snaps, size_t n)
{
    snap_got *s = ud;
    s->n = n;
    memcpy(s->snaps, snaps, (n > 4 ? 4 : n) * sizeof *snaps);
    s->done = true;
}

static void test_snapshot(void **state)
{
    bus_fx *f = *state;
    assert_int_equal(bus_cmdv(f, NULL, "HSET", "md:last:FUT:BTCUSDT",
                              "symbol", "BTCUSDT", "market", "FUT", "mark",
                              "64000.5", "atr", "300", "regime", "chop",
                              "health", "0.5", "ts", "1764110000", NULL), 0);
    assert_int_equal(bus_cmdv(f, NULL, "HSET", "md:last:SPOT:ETHUSDT",
                              "symbol", "ETHUSDT", "market", "SPOT", "mark",
                              "-1", "ts", "1764110000", NULL), 0);
    char chop[] = "chop";
    const char *names[] = { "normal", "trend", chop };
    s6_md_regimes rg = { names, 3 };
    s6_md_instrument ins[] = { { S6_MARKET_FUT, "BTCUSDT" },
                               { S6_MARKET_SPOT, "ETHUSDT" },
                               { S6_MARKET_FUT, "XRPUSDT" } };
    snap_got s = { 0 };
    assert_int_equal(s6_bus_feed_snapshot(f->cmd, ins, 3, &rg, on_snap, &s),
                     0);
    assert_false(s.done); /* never from inside the call */
    /* the caller's list may be gone before the answers come (a tick's
     * frame, a reloaded config): the answers still use the names asked */
    memcpy(chop, "xxxx", sizeof chop);
    names[0] = names[1] = names[2] = "gone";
    rg.n = 0;
    assert_true(bus_run_flag(f, &s.done, 5000));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.snaps[0].rc, 0);
    assert_true(s.snaps[0].m.u.mark == 64000.5 && s.snaps[0].m.u.atr == 300);
    assert_int_equal(s.snaps[0].m.u.regime, 2);
    assert_true(s.snaps[0].m.u.health == 0.5);
    assert_int_equal(s.snaps[1].rc, S6_EINVAL);
    assert_non_null(strstr(s.snaps[1].err,
                           "md:last:SPOT:ETHUSDT: field 'mark': negative"));
    assert_int_equal(s.snaps[2].rc, 1); /* no such hash */
    assert_string_equal(s.snaps[2].m.symbol, "XRPUSDT");
    assert_int_equal(s6_bus_feed_snapshot(f->cmd, ins, 0, &rg, on_snap, &s),
                     S6_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_updates_in_order_from_now, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_bad_entry_skipped, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_busy_consumer_holds_reads, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_resume_from_remembered_id, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_reads_on_after_a_redis_restart, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_start_refuses_bad_options, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_snapshot, bus_fx_setup_state, bus_fx_teardown_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
