/*
 * test_addons.c — add-ons end to end: strategy signals on
 * strategy:signals and ROE over 5% then 10% make two ADD orders of
 * geometric size (Q0·γ, Q0·γ²); add_on_count moves only when S4's fill
 * arrives; a third add is refused at the host's cap; the stop is resized
 * to the grown position; the risk budget is reserved before each add and
 * released, once, when the position closes.
 *
 * The peer has no price for the symbol, so it takes the market orders
 * without publishing their fills: the test publishes each fill itself,
 * later, as S4 would.
 */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/s6_core.h"
#include "fixture.h"

static const char *const POS = "a1";
static const char *const SYM = "BTCUSDT";
static const double Q0 = 0.040, GAMMA = 0.5, STEP = 0.001, LEV = 10;

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    /* Nothing but the adds and the stop's size moves: the lock-in steps
     * and the ladder out of reach. */
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 5.0, "entry", 1));
    svc_set_param(cfg, "trailing_stop", "steps",
                  json_pack("[{s:f, s:f}]", "roe", 5.0, "lock_roe", 0.0));
    /* The rule would add a third time; the host's cap (2) refuses it. */
    svc_set_param(cfg, "add_on", "thresholds", json_pack("[f,f,f]", 0.05,
                                                         0.10, 0.15));
    svc_set_param(cfg, "add_on", "cap", json_integer(3));
    svc_set_param(cfg, "add_on", "min_interval", json_integer(0));
    svc_set_param(cfg, "add_on", "gamma", json_real(GAMMA));
    svc_set(cfg, "risk", "add_on_min_interval_s", json_integer(0));
    svc_set(cfg, "risk", "add_on_cap", json_integer(2));
}

static double hget_num(svc_fx *f, const char *key, const char *field)
{
    char v[64];
    return atof(svc_hget(f, key, field, v, sizeof v));
}

typedef struct want_orders {
    const char *purpose;
    int n;
} want_orders;

static bool orders_reach(svc_fx *f, void *ud)
{
    const want_orders *w = ud;
    return svc_orders_of(f, POS, w->purpose) >= w->n;
}

/* One resting stop for the whole position: quantity qty. */
static bool stop_sized(svc_fx *f, void *ud)
{
    s6_s4_peer_order o;
    return svc_resting_stop(f, POS, &o) == 1 && strcmp(o.quantity, ud) == 0;
}

static bool adds_count(svc_fx *f, void *ud)
{
    char k[64], v[32];
    snprintf(k, sizeof k, "pos:{adds}:%s", POS);
    return strcmp(svc_hget(f, k, "count", v, sizeof v), ud) == 0;
}

static bool closed(svc_fx *f, void *ud)
{
    (void)ud;
    return svc_count_events(f, SYM, POS, "QUOTA_RELEASED") > 0;
}

/* The j-th add's order: its body, and the quantity the rule must ask. */
static void check_add(svc_fx *f, int j, char *intent, size_t cap)
{
    s6_s4_peer_order o;
    int seen = 0;
    for (size_t i = 0; s6_s4_peer_order_at(f->peer, i, &o) == 0; i++)
        if (strcmp(o.pos_id, POS) == 0 && strcmp(o.purpose, "add") == 0 &&
            ++seen == j)
            break;
    assert_int_equal(seen, j);
    char want[32];
    s6_format_decimal(s6_round_qty(s6_addon_qty(Q0, GAMMA, j), STEP), STEP,
                      want, sizeof want);
    json_t *b = svc_order_body(f, o.intent_id);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "type")),
                        "MARKET");
    assert_string_equal(json_string_value(json_object_get(b, "side")), "BUY");
    assert_string_equal(json_string_value(json_object_get(b, "quantity")),
                        want);
    assert_false(json_is_true(json_object_get(b, "reduce_only")));
    json_decref(b);
    snprintf(intent, cap, "%s", o.intent_id);
}

/* The add's order is out but unfilled: the count has not moved. */
static void check_unfilled(svc_fx *f, int adds)
{
    char k[64];
    snprintf(k, sizeof k, "pos:{adds}:%s", POS);
    assert_int_equal((int)hget_num(f, k, "count"), adds);
    json_t *p = svc_position(f, POS);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "adds")), adds);
    json_decref(p);
}

typedef struct add_case {
    int j;              /* the add's number */
    double mark;        /* the price that makes its ROE */
    const char *qty;    /* Q0·γ^j at the step */
    const char *after;  /* the position's quantity once it filled */
} add_case;

/* One add: the signal at the mark, the order of the right size, its
 * margin reserved from the budget before it went out, the count moving
 * only on the fill, the stop resized to the grown position. */
static void add_step(svc_fx *f, const add_case *c, double *used)
{
    svc_mark(f, SYM, c->mark);
    svc_signal(f, SYM, "FUT", "BUY");
    svc_await(f, orders_reach, &(want_orders){ "add", c->j }, "an add");
    char intent[40], count[8], rid[16];
    check_add(f, c->j, intent, sizeof intent);
    *used += atof(c->qty) * c->mark / LEV;
    assert_true(fabs(hget_num(f, "risk:{budget}", "used") - *used) < 1e-6);
    check_unfilled(f, c->j - 1);
    snprintf(rid, sizeof rid, "r-add-%d", c->j);
    char price[32];
    snprintf(price, sizeof price, "%.1f", c->mark);
    /* S4's fill, published later than the order was taken */
    svc_fill(f, rid, intent, POS, SYM, "FUT", "BUY", "ADD", c->qty, price, "");
    snprintf(count, sizeof count, "%d", c->j);
    svc_await(f, adds_count, count, "pos:{adds} count after the fill");
    svc_await(f, stop_sized, (void *)c->after, "the stop resized");
}

static void adds_to_the_cap(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    /* The risk service reserved 60 and one slot for the entry. */
    freeReplyObject(svc_redis(&f, "HSET risk:{budget} limit 1000 used 60"));
    freeReplyObject(svc_redis(&f, "HSET risk:{concurrency} limit 5 used 1"));
    svc_start(&f);
    svc_entry_fill(&f, "r-1", POS, SYM, "BUY", "0.040", "60000", "58000");
    svc_mark(&f, SYM, 60000);
    svc_await(&f, stop_sized, "0.040", "the first stop");

    /* ROE ~6.7% and a BUY signal: the first add, Q0·γ; ROE ~14.5% on
     * the new average entry and a fresh signal: the second, Q0·γ². */
    double used = 60;
    add_step(&f, &(add_case){ 1, 60400, "0.020", "0.060" }, &used);
    add_step(&f, &(add_case){ 2, 61000, "0.010", "0.070" }, &used);

    /* A third add, asked by hand, is refused at the cap; nothing sent,
     * nothing reserved. */
    size_t orders = s6_s4_peer_count(f.peer, S6_S4P_REQUESTS);
    json_t *doc = NULL;
    long st = svc_http(&f, "POST", "/positions/manage", SVC_TOKEN,
                       "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
                       "\"position_id\":\"a1\",\"action\":\"ADD\","
                       "\"qty\":0.005}", &doc);
    assert_int_equal(st, 409);
    const char *msg = json_string_value(
        json_object_get(json_object_get(doc, "error"), "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "add_cap"));
    json_decref(doc);
    /* ... and by the rule: ROE over its third threshold (15%) with a
     * signal: the guard drops the proposal, no order. */
    svc_mark(&f, SYM, 61300);
    svc_signal(&f, SYM, "FUT", "BUY");
    json_decref(svc_await_log_with(&f, "proposal dropped", "add_cap"));
    assert_int_equal(svc_orders_of(&f, POS, "add"), 2);
    assert_int_equal(s6_s4_peer_count(f.peer, S6_S4P_REQUESTS), orders);
    assert_true(hget_num(&f, "risk:{budget}", "used") == used);

    /* The stop triggers at the venue: the position closes and releases
     * everything it reserved (60 + both adds' margins), once; the slot
     * too. */
    s6_s4_peer_order o;
    char stop[40] = "";
    for (size_t i = 0; s6_s4_peer_order_at(f.peer, i, &o) == 0; i++)
        if (strcmp(o.type, "STOP_MARKET") == 0 && strcmp(o.state, "NEW") == 0)
            snprintf(stop, sizeof stop, "%s", o.intent_id);
    assert_int_equal(s6_s4_peer_trigger_stop(f.peer, stop, 58000), 0);
    svc_await(&f, closed, NULL, "the close and its release");
    assert_true(fabs(hget_num(&f, "risk:{budget}", "used")) < 1e-6);
    assert_int_equal((int)hget_num(&f, "risk:{concurrency}", "used"), 0);
    char marker[64], v[32];
    snprintf(marker, sizeof marker, "risk:{budget}:released:%s", POS);
    redisReply *m = svc_redis(&f, "GET %s", marker);
    assert_int_equal(m->type, REDIS_REPLY_STRING);
    freeReplyObject(m);

    /* The closing fill again: a duplicate, nothing released twice. */
    char replayed[40];
    svc_replay_last_result(&f, replayed, sizeof replayed);
    svc_await_acked(&f, replayed);
    assert_int_equal(svc_await_events(&f, SYM, POS, "QUOTA_RELEASED", 1), 1);
    assert_true(fabs(hget_num(&f, "risk:{budget}", "used")) < 1e-6);
    assert_int_equal((int)hget_num(&f, "risk:{concurrency}", "used"), 0);
    snprintf(marker, sizeof marker, "pos:{adds}:%s", POS);
    assert_string_equal(svc_hget(&f, marker, "count", v, sizeof v), "2");
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adds_to_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
