/*
 * test_paper: the paper router against the S4 semantics it mimics —
 * fills at the mark with slippage and the taker fee, latency, partial
 * fills, stops that trigger on a cross, reduceOnly refused (never
 * clipped), cancels, idempotent repeats, balances, and nothing delivered
 * from inside a call.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "venue/paper/paper.h"
#include "venue/paper/positions.h"

enum { MAXN = 32 };

#define assert_double_equal(a, b, eps) near_at((a), (b), (eps), __LINE__)
static void near_at(double a, double b, double eps, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("line %d: %.12g != %.12g (within %g)", line, a, b, eps);
}

typedef struct fx {
    s6_config cfg;
    double now;
    s6_paper *p;
    s6_router r;
    s6_order_result res[MAXN];
    size_t n_res;
    struct {
        char intent[S6_INTENT_ID_MAX + 1];
        int outcome;
        char detail[96];
    } done[MAXN];
    size_t n_done;
} fx;

static double clock_now(void *ud) { return ((fx *)ud)->now; }

static void on_result(void *ud, const s6_order_result *r)
{
    fx *f = ud;
    assert_true(f->n_res < MAXN);
    f->res[f->n_res++] = *r;
}

static void on_done(void *ud, const char *intent, int outcome,
                    const char *detail)
{
    fx *f = ud;
    assert_true(f->n_done < MAXN);
    snprintf(f->done[f->n_done].intent, sizeof f->done[0].intent, "%s",
             intent);
    snprintf(f->done[f->n_done].detail, sizeof f->done[0].detail, "%s",
             detail ? detail : "");
    f->done[f->n_done++].outcome = outcome;
}

static fx *make(double slippage, double latency, unsigned parts)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    s6_config_error ce;
    const char *path = getenv("S6_CONFIG");
    assert_int_equal(s6_config_load_file(path ? path : "config/s6.json",
                                         &f->cfg, &ce), 0);
    s6_paper_opts o;
    s6_paper_opts_from_config(&f->cfg, &o);
    o.slippage = slippage;
    o.latency = latency;
    o.partial_fills = parts;
    o.fut_balance = 10000;
    o.spot_balance = 5000;
    o.clock = (s6_clock){ clock_now, f };
    o.on_result = on_result;
    o.result_ud = f;
    char err[200];
    assert_int_equal(s6_paper_new(&f->cfg, &o, &f->p, err, sizeof err), 0);
    f->r = s6_paper_router(f->p);
    return f;
}

static void drop(fx *f)
{
    s6_paper_free(f->p);
    s6_config_free(&f->cfg);
    free(f);
}

static s6_order order(const char *intent, int type, int purpose, int side,
                      bool reduce, double qty, double stop)
{
    s6_order o = { .market = S6_MARKET_FUT, .type = type, .purpose = purpose,
                   .side = side, .reduce_only = reduce, .qty = qty,
                   .stop_price = stop };
    snprintf(o.intent_id, sizeof o.intent_id, "%s", intent);
    snprintf(o.pos_id, sizeof o.pos_id, "p1");
    snprintf(o.symbol, sizeof o.symbol, "BTCUSDT");
    return o;
}

static int submit(fx *f, s6_order o)
{
    return f->r.submit(f->r.ud, &o, on_done, f);
}

/* A long of qty BTCUSDT at the current mark, filled and delivered. */
static void open_long(fx *f, double qty)
{
    s6_paper_entry e = { .pos_id = "p1", .symbol = "BTCUSDT",
                         .market = S6_MARKET_FUT, .side = 1, .qty = qty,
                         .leverage = 10, .sl_px = 48000 };
    char err[200];
    assert_int_equal(s6_paper_open(f->p, &e, err, sizeof err), 0);
    f->now += 1;
    s6_paper_pump(f->p);
    assert_int_equal(f->n_res, 1);
    assert_int_equal(f->res[0].fill.kind, S6_FILL_ENTRY);
    f->n_res = 0;
}

static void market_fills_at_mark_with_slippage_and_fee(void **state)
{
    (void)state;
    fx *f = make(0.001, 0.05, 1);
    assert_int_equal(s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000.03),
                     0);
    assert_int_equal(submit(f, order("p1-add-1", S6_ORDER_MARKET,
                                     S6_PURPOSE_ADD, 1, false, 0.010, 0)), 0);
    /* Nothing from inside the call, nothing before the latency. */
    assert_int_equal(f->n_done + f->n_res, 0);
    f->now = 0.049;
    assert_int_equal(s6_paper_pump(f->p), 0);
    f->now = 0.05;
    assert_int_equal(s6_paper_pump(f->p), 2);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_OK);
    assert_string_equal(f->done[0].intent, "p1-add-1");
    const s6_order_result *r = &f->res[0];
    assert_int_equal(r->kind, S6_RES_FILL);
    assert_int_equal(r->fill.kind, S6_FILL_ADD); /* as the intent says */
    /* 50000.03 * 1.001 = 50050.03 -> up to the tick: 50050.1 */
    assert_double_equal(r->fill.price, 50050.1, 1e-9);
    assert_double_equal(r->fill.qty, 0.010, 1e-12);
    assert_double_equal(r->fill.fee, 0.010 * 50050.1 * 0.0005, 1e-9);
    assert_string_equal(r->intent_id, "p1-add-1");
    assert_string_equal(r->fill.result_id, r->result_id);
    assert_double_equal(r->ts, 0.05, 0);
    /* A sell slips the other way and rounds down. */
    assert_int_equal(submit(f, order("p1-tp-2", S6_ORDER_MARKET,
                                     S6_PURPOSE_TP, -1, true, 0.004, 0)), 0);
    f->now = 1;
    s6_paper_pump(f->p);
    assert_int_equal(f->res[1].fill.kind, S6_FILL_REDUCE);
    /* 50000.03 * 0.999 = 49950.00997 */
    assert_double_equal(f->res[1].fill.price, 49950.0, 1e-9);
    drop(f);
}

static void stop_rests_then_triggers_on_cross(void **state)
{
    (void)state;
    fx *f = make(0.0005, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    open_long(f, 0.010);
    assert_int_equal(submit(f, order("p1-sl-1", S6_ORDER_STOP_MARKET,
                                     S6_PURPOSE_STOP, -1, true, 0.010,
                                     49000)), 0);
    s6_paper_pump(f->p);
    assert_int_equal(f->n_res, 1);
    assert_int_equal(f->res[0].kind, S6_RES_ACCEPTED);
    assert_int_equal(s6_paper_resting_stops(f->p, "BTCUSDT", S6_MARKET_FUT),
                     1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 49000.1);
    assert_int_equal(s6_paper_pump(f->p), 0);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 48990);
    assert_int_equal(f->n_res, 1); /* triggered, delivered by the pump */
    s6_paper_pump(f->p);
    assert_int_equal(f->n_res, 2);
    assert_int_equal(f->res[1].kind, S6_RES_FILL);
    assert_int_equal(f->res[1].fill.kind, S6_FILL_STOP);
    assert_int_equal(f->res[1].fill.side, -1);
    /* 48990 * (1 - 0.0005) = 48965.505 -> down to the tick */
    assert_double_equal(f->res[1].fill.price, 48965.5, 1e-9);
    s6_paper_position pos;
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_FUT, &pos);
    assert_int_equal(pos.side, 0);
    assert_int_equal(s6_paper_resting_stops(f->p, "BTCUSDT", S6_MARKET_FUT),
                     0);
    /* A short's buy stop triggers upwards, and fills above. */
    s6_paper_mark(f->p, "ETHUSDT", S6_MARKET_FUT, 3000);
    s6_paper_entry e = { .pos_id = "p2", .symbol = "ETHUSDT",
                         .market = S6_MARKET_FUT, .side = -1, .qty = 0.1,
                         .leverage = 10 };
    char err[200];
    assert_int_equal(s6_paper_open(f->p, &e, err, sizeof err), 0);
    s6_paper_pump(f->p); /* the entry fills first */
    s6_order o = order("p2-sl-1", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, 1,
                       true, 0.1, 3100);
    snprintf(o.symbol, sizeof o.symbol, "ETHUSDT");
    submit(f, o);
    s6_paper_pump(f->p);
    long book = s6_paper_book_id(f->p, "ETHUSDT", S6_MARKET_FUT);
    assert_double_equal(s6_paper_stop_level(f->p, book), 3100, 0);
    f->n_res = 0;
    s6_paper_mark(f->p, "ETHUSDT", S6_MARKET_FUT, 3099.99);
    assert_int_equal(s6_paper_pump(f->p), 0);
    s6_paper_mark(f->p, "ETHUSDT", S6_MARKET_FUT, 3100);
    s6_paper_pump(f->p);
    assert_int_equal(f->n_res, 1);
    assert_int_equal(f->res[0].fill.kind, S6_FILL_STOP);
    assert_int_equal(f->res[0].fill.side, 1);
    assert_double_equal(f->res[0].fill.price, 3101.55, 1e-9);
    assert_double_equal(s6_paper_stop_level(f->p, book), 0, 0);
    drop(f);
}

static void reduce_only_above_the_position_is_rejected(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    open_long(f, 0.010);
    submit(f, order("p1-tp-1", S6_ORDER_MARKET, S6_PURPOSE_TP, -1, true,
                    0.011, 0));
    submit(f, order("p1-tp-2", S6_ORDER_MARKET, S6_PURPOSE_TP, 1, true,
                    0.001, 0));
    submit(f, order("p1-sl-3", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.020, 49000));
    s6_paper_pump(f->p);
    assert_int_equal(f->n_done, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->done[i].outcome, S6_ROUTE_REJECTED);
        assert_string_equal(f->done[i].detail, "reduce_only_rejected");
    }
    assert_int_equal(f->n_res, 0); /* nothing filled, not even in part */
    s6_paper_position pos;
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_FUT, &pos);
    assert_double_equal(pos.qty, 0.010, 1e-12);
    /* Two stops for the whole position (a move in progress): the first to
     * fill closes it, the second expires instead of opening a short. */
    submit(f, order("p1-sl-4", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.010, 49000));
    submit(f, order("p1-sl-5", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.010, 49500));
    s6_paper_pump(f->p);
    f->n_res = 0;
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 48000);
    s6_paper_pump(f->p);
    assert_int_equal(f->n_res, 2);
    assert_int_equal(f->res[0].kind, S6_RES_FILL);
    assert_string_equal(f->res[0].intent_id, "p1-sl-4");
    assert_int_equal(f->res[1].kind, S6_RES_CANCELED);
    assert_string_equal(f->res[1].reason, "reduce_only_rejected");
    assert_int_equal(f->res[1].code, S6_RCODE_REDUCE_ONLY_REJECTED);
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_FUT, &pos);
    assert_int_equal(pos.side, 0);
    drop(f);
}

static void cancel_removes_a_resting_stop(void **state)
{
    (void)state;
    fx *f = make(0, 0.01, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    open_long(f, 0.010);
    submit(f, order("p1-sl-1", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.010, 49000));
    f->now += 1;
    s6_paper_pump(f->p);
    f->n_res = f->n_done = 0;
    assert_int_equal(f->r.cancel(f->r.ud, "p1-sl-1", "BTCUSDT",
                                 S6_MARKET_FUT, on_done, f), 0);
    assert_int_equal(f->r.cancel(f->r.ud, "nope-sl-9", "BTCUSDT",
                                 S6_MARKET_FUT, on_done, f), 0);
    assert_int_equal(f->n_done, 0);
    f->now += 1;
    s6_paper_pump(f->p);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_OK);
    assert_int_equal(f->done[1].outcome, S6_ROUTE_OK);
    assert_string_equal(f->done[1].intent, "nope-sl-9");
    assert_string_equal(f->done[1].detail, "unknown_order");
    assert_int_equal(f->n_res, 1);
    assert_int_equal(f->res[0].kind, S6_RES_CANCELED);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 40000);
    f->now += 1;
    assert_int_equal(s6_paper_pump(f->p), 0); /* no fill after the cancel */
    drop(f);
}

static void partial_fills_follow_the_mark(void **state)
{
    (void)state;
    fx *f = make(0, 0.1, 3);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    submit(f, order("p1-add-1", S6_ORDER_MARKET, S6_PURPOSE_ADD, 1, false,
                    0.010, 0));
    double marks[3] = { 50000, 50010, 50020 };
    for (int k = 0; k < 3; k++) {
        s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, marks[k]);
        f->now = k + 1;
        s6_paper_pump(f->p);
        assert_int_equal(f->n_res, (size_t)k + 1);
        assert_double_equal(f->res[k].fill.price, marks[k], 1e-9);
    }
    assert_double_equal(f->res[0].fill.qty, 0.004, 1e-12);
    assert_double_equal(f->res[1].fill.qty, 0.003, 1e-12);
    assert_double_equal(f->res[2].fill.qty, 0.003, 1e-12);
    for (int k = 1; k < 3; k++) /* one order, distinct results */
        assert_string_not_equal(f->res[k].result_id, f->res[k - 1].result_id);
    f->now = 10;
    assert_int_equal(s6_paper_pump(f->p), 0);
    drop(f);
}

static void a_repeated_intent_never_fills_twice(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    s6_order o = order("p1-add-1", S6_ORDER_MARKET, S6_PURPOSE_ADD, 1, false,
                       0.010, 0);
    submit(f, o);
    submit(f, o);
    s6_paper_pump(f->p);
    submit(f, o); /* after the fill */
    s6_paper_pump(f->p);
    assert_int_equal(f->n_done, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(f->done[i].outcome, S6_ROUTE_OK);
    assert_int_equal(f->n_res, 1);
    s6_paper_position pos;
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_FUT, &pos);
    assert_double_equal(pos.qty, 0.010, 1e-12);
    /* A refused intent stays refused. */
    o.qty = 0.0105;
    snprintf(o.intent_id, sizeof o.intent_id, "p1-add-2");
    submit(f, o);
    submit(f, o);
    s6_paper_pump(f->p);
    assert_int_equal(f->done[3].outcome, S6_ROUTE_REJECTED);
    assert_string_equal(f->done[4].detail, "invalid_quantity");
    /* No key, no order. */
    o.intent_id[0] = '\0';
    assert_int_not_equal(submit(f, o), 0);
    drop(f);
}

static void refusals_name_the_reason(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    submit(f, order("p1-add-1", S6_ORDER_MARKET, S6_PURPOSE_ADD, 1, false,
                    0.010, 0)); /* no mark yet */
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    open_long(f, 0.010);
    f->n_done = 0;
    submit(f, order("p1-sl-2", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.010, 50000));      /* at the mark */
    submit(f, order("p1-add-3", S6_ORDER_MARKET, S6_PURPOSE_ADD, 1, false,
                    3.0, 0));  /* 15000 / 10 > the free balance */
    s6_order o = order("p1-add-4", S6_ORDER_MARKET, S6_PURPOSE_ADD, 1, false,
                       0.010, 0);
    snprintf(o.symbol, sizeof o.symbol, "DOGEUSDT");
    submit(f, o);
    submit(f, order("p1-add-5", S6_ORDER_MARKET, S6_PURPOSE_CLOSE, -1, false,
                    0.020, 0));                 /* would flip */
    s6_paper_pump(f->p);
    const char *want[] = { "would_immediately_trigger",
                           "insufficient_balance", "unknown_symbol",
                           "position_side_mismatch" };
    assert_int_equal(f->n_done, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->done[i].outcome, S6_ROUTE_REJECTED);
        assert_string_equal(f->done[i].detail, want[i]);
    }
    drop(f);
}

static void balances_move_with_margin_pnl_and_fees(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    open_long(f, 0.100);
    s6_paper_balances b;
    s6_paper_get_balances(f->p, &b);
    double fee_in = 0.1 * 50000 * 0.0005;
    assert_double_equal(b.fut_free, 10000 - 500 - fee_in, 1e-9);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 51000);
    submit(f, order("p1-cl-1", S6_ORDER_MARKET, S6_PURPOSE_CLOSE, -1, true,
                    0.100, 0));
    s6_paper_pump(f->p);
    assert_int_equal(f->res[0].fill.kind, S6_FILL_CLOSE);
    double fee_out = 0.1 * 51000 * 0.0005;
    s6_paper_get_balances(f->p, &b);
    assert_double_equal(b.fut_free, 10000 + 100 - fee_in - fee_out, 1e-9);
    assert_double_equal(b.spot_free, 5000, 0);
    drop(f);
}

static int add_margin(fx *f, const char *intent, const char *symbol,
                      double amount)
{
    s6_margin_order m = { .market = S6_MARKET_FUT, .amount = amount };
    snprintf(m.intent_id, sizeof m.intent_id, "%s", intent);
    snprintf(m.pos_id, sizeof m.pos_id, "p1");
    snprintf(m.symbol, sizeof m.symbol, "%s", symbol);
    snprintf(m.amount_str, sizeof m.amount_str, "%.2f", amount);
    return f->r.add_margin(f->r.ud, &m, on_done, f);
}

/* The add-isolated-margin call: wallet to position once per key;
 * refusals named, nothing moved. */
static void margin_adds_move_the_wallet_once(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    assert_int_equal(add_margin(f, "p1-mg-1", "BTCUSDT", 10), 0);
    open_long(f, 0.100);
    s6_paper_balances b0, b1;
    s6_paper_get_balances(f->p, &b0);
    s6_paper_position pos0, pos1;
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_FUT, &pos0);
    assert_int_equal(add_margin(f, "p1-mg-2", "BTCUSDT", 25.5), 0);
    assert_int_equal(add_margin(f, "p1-mg-2", "BTCUSDT", 25.5), 0);
    assert_int_equal(add_margin(f, "p1-mg-3", "BTCUSDT", 1e6), 0);
    assert_int_equal(add_margin(f, "p1-mg-4", "DOGEUSDT", 1), 0);
    s6_paper_pump(f->p);
    const int want_out[] = { S6_ROUTE_REJECTED, S6_ROUTE_OK, S6_ROUTE_OK,
                             S6_ROUTE_REJECTED, S6_ROUTE_REJECTED };
    const char *want[] = { "no_position", "margin added", "margin added",
                           "insufficient_balance", "unknown_symbol" };
    assert_int_equal(f->n_done, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f->done[i].outcome, want_out[i]);
        assert_string_equal(f->done[i].detail, want[i]);
    }
    s6_paper_get_balances(f->p, &b1);
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_FUT, &pos1);
    assert_double_equal(b1.fut_free, b0.fut_free - 25.5, 1e-9);
    assert_double_equal(pos1.margin, pos0.margin + 25.5, 1e-9);
    drop(f);
}

static void spot_books_move_the_spot_balance(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_SPOT, 50000);
    s6_paper_entry e = { .pos_id = "s1", .symbol = "BTCUSDT",
                         .market = S6_MARKET_SPOT, .side = 1, .qty = 0.05 };
    char err[200];
    assert_int_equal(s6_paper_open(f->p, &e, err, sizeof err), 0);
    s6_paper_pump(f->p);
    s6_paper_balances b;
    s6_paper_get_balances(f->p, &b);
    double fee_in = 0.05 * 50000 * 0.001; /* the SPOT taker fee */
    assert_double_equal(b.spot_free, 5000 - 2500 - fee_in, 1e-9);
    assert_double_equal(b.fut_free, 10000, 0);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_SPOT, 52000);
    s6_order o = order("s1-tp-1", S6_ORDER_MARKET, S6_PURPOSE_TP, -1, true,
                       0.02, 0);
    o.market = S6_MARKET_SPOT;
    submit(f, o);
    o.qty = 0.04; /* more than is left after the first */
    snprintf(o.intent_id, sizeof o.intent_id, "s1-tp-2");
    s6_paper_pump(f->p);
    submit(f, o);
    s6_paper_pump(f->p);
    assert_int_equal(f->done[1].outcome, S6_ROUTE_REJECTED);
    assert_string_equal(f->done[1].detail, "reduce_only_rejected");
    double fee_out = 0.02 * 52000 * 0.001;
    s6_paper_get_balances(f->p, &b);
    assert_double_equal(b.spot_free, 5000 - 2500 - fee_in + 1040 - fee_out,
                        1e-9);
    s6_paper_position pos;
    s6_paper_get_position(f->p, "BTCUSDT", S6_MARKET_SPOT, &pos);
    assert_double_equal(pos.qty, 0.03, 1e-12);
    assert_double_equal(pos.realized, 0.02 * 2000 - fee_in - fee_out, 1e-9);
    drop(f);
}

static void a_restored_position_can_be_protected_and_closed(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    char err[200];
    /* Without it, a restarted venue refuses the engine's re-armed stop. */
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    submit(f, order("p1-sl-9", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.010, 49000));
    assert_int_equal(s6_paper_restore(f->p, "BTCUSDT", S6_MARKET_FUT, 1,
                                      0.010, 48000, 10, err, sizeof err), 0);
    assert_int_not_equal(s6_paper_restore(f->p, "BTCUSDT", S6_MARKET_FUT, 1,
                                          0.010, 48000, 10, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "already holds"));
    submit(f, order("p1-sl-10", S6_ORDER_STOP_MARKET, S6_PURPOSE_STOP, -1,
                    true, 0.010, 49000));
    s6_paper_pump(f->p);
    assert_int_equal(f->done[0].outcome, S6_ROUTE_REJECTED);
    assert_int_equal(f->done[1].outcome, S6_ROUTE_OK);
    s6_paper_balances b;
    s6_paper_get_balances(f->p, &b);
    assert_double_equal(b.fut_free, 10000 - 48, 1e-9);
    f->n_res = 0;
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 48900);
    s6_paper_pump(f->p);
    assert_int_equal(f->res[0].fill.kind, S6_FILL_STOP);
    s6_paper_get_balances(f->p, &b); /* margin back, PnL 9, the fee */
    assert_double_equal(b.fut_free, 10000 + 9 - 0.010 * 48900 * 0.0005,
                        1e-9);
    drop(f);
}

static void entries_carry_the_intent_extras(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    s6_paper_mark(f->p, "BTCUSDT", S6_MARKET_FUT, 50000);
    s6_paper_entry e = { .pos_id = "demo-1", .symbol = "BTCUSDT",
                         .market = S6_MARKET_FUT, .side = -1, .qty = 0.0109,
                         .leverage = 5, .sl_px = 51000, .risk_reserved = 50,
                         .concurrency_reserved = 1 };
    char err[200];
    assert_int_equal(s6_paper_open(f->p, &e, err, sizeof err), 0);
    assert_int_not_equal(s6_paper_open(f->p, &e, err, sizeof err), 0);
    assert_non_null(strstr(err, "opened twice"));
    s6_paper_pump(f->p);
    const s6_order_result *r = &f->res[0];
    assert_string_equal(r->pos_id, "demo-1");
    assert_string_equal(r->intent_id, "demo-1-en");
    assert_int_equal(r->fill.kind, S6_FILL_ENTRY);
    assert_int_equal(r->fill.side, -1);
    assert_double_equal(r->fill.qty, 0.010, 1e-12); /* down to the step */
    assert_double_equal(r->sl_px, 51000, 0);
    assert_double_equal(r->leverage, 5, 0);
    assert_double_equal(r->risk_reserved, 50, 0);
    assert_int_equal(r->concurrency_reserved, 1);
    drop(f);
}

static void positions_file_errors_name_the_field(void **state)
{
    (void)state;
    fx *f = make(0, 0, 1);
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "{\"positions\": 3}", "x.json: positions: must be an array" },
        { "{\"positions\": [{\"pos_id\":\"a\",\"symbol\":\"BTCUSDT\","
          "\"side\":\"LONG\",\"qty\":0}]}",
          "x.json: positions[0].qty: must be a number > 0" },
        { "{\"positions\": [{\"pos_id\":\"a\",\"symbol\":\"XYZ\","
          "\"side\":\"LONG\",\"qty\":1}]}",
          "x.json: positions[0].symbol: is not configured for that market" },
        { "{\"positions\": [{\"pos_id\":\"a\",\"symbol\":\"BTCUSDT\","
          "\"side\":\"UP\",\"qty\":1}]}",
          "x.json: positions[0].side: must be LONG, SHORT, BUY or SELL" },
        { "{\"positions\": [{\"pos_id\":\"a\",\"symbol\":\"BTCUSDT\","
          "\"side\":\"LONG\",\"qty\":1},{\"pos_id\":\"a\",\"symbol\":"
          "\"ETHUSDT\",\"side\":\"LONG\",\"qty\":1}]}",
          "x.json: positions[1].pos_id: repeats an earlier position" },
        { "{\"positions\": [{\"pos_id\":\"a b\",\"symbol\":\"BTCUSDT\","
          "\"side\":\"LONG\",\"qty\":1}]}",
          "x.json: positions[0].pos_id: must be of A-Z a-z 0-9 _ -" },
        { "{\"positions\": [", "x.json:1:" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s6_paper_entry *v = NULL;
        size_t n = 0;
        char err[300] = "";
        assert_int_not_equal(s6_paper_entries_parse(cases[i].text, "x.json",
                                                    &f->cfg, &v, &n, err,
                                                    sizeof err), 0);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
                     cases[i].want);
        assert_null(v);
    }
    s6_paper_entry *v = NULL;
    size_t n = 0;
    char err[300] = "";
    char path[4096];
    const char *root = getenv("S6_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/examples/positions/demo.json",
             root ? root : ".");
    if (s6_paper_entries_load(path, &f->cfg, &v, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(n >= 2);
    free(v);
    drop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(market_fills_at_mark_with_slippage_and_fee),
        cmocka_unit_test(stop_rests_then_triggers_on_cross),
        cmocka_unit_test(reduce_only_above_the_position_is_rejected),
        cmocka_unit_test(cancel_removes_a_resting_stop),
        cmocka_unit_test(partial_fills_follow_the_mark),
        cmocka_unit_test(a_repeated_intent_never_fills_twice),
        cmocka_unit_test(refusals_name_the_reason),
        cmocka_unit_test(balances_move_with_margin_pnl_and_fees),
        cmocka_unit_test(margin_adds_move_the_wallet_once),
        cmocka_unit_test(spot_books_move_the_spot_balance),
        cmocka_unit_test(a_restored_position_can_be_protected_and_closed),
        cmocka_unit_test(entries_carry_the_intent_extras),
        cmocka_unit_test(positions_file_errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
