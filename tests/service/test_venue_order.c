/*
 * test_venue_order.c — crash, restart and the venue (docs/engine.md "The
 * venue's view and the results", "Protection first"): what filled while
 * the process was down is read from ord:{results} before S4's view is
 * compared with the book, so an entry stays the entry's position (its id,
 * its stop, the venue's size) and a stop fill is booked as a stop; and
 * after an S4 outage every position is protected within a bound.
 *
 * The real binary, a real redis-server and the S4 peer keeping a venue
 * book (its GETs carry as_of).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

static const char *const SYM = "BTCUSDT";

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.60, "entry", 1));
}

static void setup(svc_fx *f)
{
    svc_fx_setup(f, edit_config);
    s6_s4_peer_venue_book(f->peer, true);
    s6_s4_peer_set_price(f->peer, SYM, 60000);
    svc_mark(f, SYM, 60000);
}

static void venue_entry(svc_fx *f, const char *pos_id, int side,
                        double sl_px)
{
    size_t before = s6_s4_peer_count(f->peer, S6_S4P_PUBLISHED);
    s6_s4_peer_entry_fill e = {
        .pos_id = pos_id, .symbol = SYM, .side = side, .qty = 0.01,
        .price = 60000, .sl_px = sl_px, .risk_reserved = 60,
        .concurrency_reserved = 1, .seq = 1,
    };
    assert_int_equal(s6_s4_peer_entry(f->peer, &e), 0);
    assert_int_equal(s6_s4_peer_wait(f->peer, S6_S4P_PUBLISHED, before + 1,
                                     GUARD_MS), 0);
}

typedef struct stop_want {
    const char *pos_id;
    double price;
} stop_want;

static bool one_stop_at(svc_fx *f, void *ud)
{
    const stop_want *w = ud;
    s6_s4_peer_order o;
    return svc_resting_stop(f, w->pos_id, &o) == 1 &&
           fabs(atof(o.stop_price) - w->price) < 1e-6;
}

static long long xlen(svc_fx *f, const char *stream)
{
    redisReply *r = svc_redis(f, "XLEN %s", stream);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* Failure 1: an entry filled while S6 was down.  Before, the start-up
 * reconciliation adopted it under a new id with a looser stop and the
 * ENTRY read afterwards doubled it. */
static void an_entry_filled_while_down_stays_the_entrys(void **state)
{
    (void)state;
    svc_fx f;
    setup(&f);
    svc_start(&f);
    svc_kill(&f);
    venue_entry(&f, "d1", 1, 59000);
    svc_start(&f);
    stop_want w = { "d1", 59000 };
    svc_await(&f, one_stop_at, &w, "d1's stop at the entry's sl_px");
    json_t *doc = NULL;
    assert_int_equal(svc_http(&f, "GET", "/positions", SVC_TOKEN, NULL, &doc),
                     200);
    json_t *list = json_object_get(doc, "positions");
    assert_int_equal(json_array_size(list), 1);
    json_t *p = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(p, "position_id")),
                        "d1");
    json_t *q = json_object_get(p, "qty");
    double qty = json_is_string(q) ? atof(json_string_value(q))
                                   : json_number_value(q);
    assert_true(fabs(qty - 0.01) < 1e-12);
    json_decref(doc);
    assert_int_equal(svc_resting_stops(&f, "d1"), 1);
    svc_fx_teardown(&f);
}

/* Failure 1: the stop filled while S6 was down.  Before, the start-up
 * view closed the position as venue_flat and the STOP fill read after it
 * was dead-lettered: the loss never booked. */
static void a_stop_filled_while_down_is_booked(void **state)
{
    (void)state;
    svc_fx f;
    setup(&f);
    svc_start(&f);
    venue_entry(&f, "d2", 1, 59000);
    stop_want w = { "d2", 59000 };
    svc_await(&f, one_stop_at, &w, "d2's first stop");
    svc_kill(&f);
    size_t before = s6_s4_peer_count(f.peer, S6_S4P_PUBLISHED);
    assert_int_equal(s6_s4_peer_move(f.peer, SYM, 58900), 0);
    assert_int_equal(s6_s4_peer_wait(f.peer, S6_S4P_PUBLISHED, before + 1,
                                     GUARD_MS), 0);
    svc_mark(&f, SYM, 58900);
    svc_start(&f);
    svc_await_events(&f, SYM, "d2", "POSITION_CLOSED", 1);
    assert_int_equal(svc_count_events(&f, SYM, "d2", "FILL"), 2);
    assert_int_equal(xlen(&f, "ord:{results}:dead"), 0);
    svc_fx_teardown(&f);
}

/* Failure 3: S4 fails every order for a while; once it answers again the
 * position's stop rests within the protection cadence, whatever number
 * of failures went before (no backoff, the count reset). */
static void after_an_outage_protection_is_bounded(void **state)
{
    (void)state;
    svc_fx f;
    setup(&f);
    svc_start(&f);
    s6_s4_peer_rule down = { .mode = S6_S4P_FAIL, .status = 503 };
    assert_int_equal(s6_s4_peer_rule_path(f.peer, "/orders", &down), 0);
    venue_entry(&f, "d3", 1, 59000);
    long until = now_ms() + 25000; /* the outage: many failed stops */
    while (now_ms() < until)
        pump(&f.p, 100);
    assert_int_equal(svc_resting_stops(&f, "d3"), 0);
    assert_int_equal(s6_s4_peer_rule_path(f.peer, "/orders", NULL), 0);
    long t0 = now_ms();
    stop_want w = { "d3", 59000 };
    svc_await(&f, one_stop_at, &w, "d3's stop after S4 came back");
    long dt = now_ms() - t0;
    fprintf(stderr, "protected %ld ms after S4 answered again\n", dt);
    assert_true(dt < 3000); /* the 1 s protection pass, with room */
    svc_fx_teardown(&f);
}

/* ---- quotas: every way a position closes gives back what it held ---- */

static double hnum(svc_fx *f, const char *key)
{
    char b[64];
    return atof(svc_hget(f, key, "used", b, sizeof b));
}

static bool quotas_back(svc_fx *f, void *ud)
{
    (void)ud;
    return fabs(hnum(f, "risk:{budget}")) < 1e-6 &&
           fabs(hnum(f, "risk:{concurrency}")) < 1e-9;
}

/* The upstream risk service's reservation, then the entry at the venue,
 * then S6's stop resting. */
static void reserved_entry(svc_fx *f, const char *sym, const char *pos_id)
{
    freeReplyObject(svc_redis(f, "HINCRBYFLOAT risk:{budget} used 60"));
    freeReplyObject(svc_redis(f, "HINCRBY risk:{concurrency} used 1"));
    size_t before = s6_s4_peer_count(f->peer, S6_S4P_PUBLISHED);
    s6_s4_peer_entry_fill e = {
        .pos_id = pos_id, .symbol = sym, .side = 1,
        .qty = strcmp(sym, SYM) == 0 ? 0.01 : 0.2,
        .price = strcmp(sym, SYM) == 0 ? 60000 : 3000,
        .sl_px = strcmp(sym, SYM) == 0 ? 59000 : 2950, .risk_reserved = 60,
        .concurrency_reserved = 1, .seq = 1,
    };
    assert_int_equal(s6_s4_peer_entry(f->peer, &e), 0);
    assert_int_equal(s6_s4_peer_wait(f->peer, S6_S4P_PUBLISHED, before + 1,
                                     GUARD_MS), 0);
    stop_want w = { pos_id, e.sl_px };
    svc_await(f, one_stop_at, &w, "the entry's stop");
}

/* The venue's price and the feed's; a jump is held until a second mark
 * confirms it (market-data hygiene), so the mark goes twice. */
static void prices(svc_fx *f, double px)
{
    s6_s4_peer_move(f->peer, SYM, px);
    svc_mark(f, SYM, px);
    svc_mark(f, SYM, px);
}

static void closed_and_released(svc_fx *f, const char *pos_id)
{
    svc_await_events(f, SYM, pos_id, "POSITION_CLOSED", 1);
    svc_await(f, quotas_back, NULL, "risk:{budget}/{concurrency} back to 0");
}

/* Failure 7: a stop, a take-profit, a manual close, a venue that is flat
 * at start-up and a liquidation: after each, the quotas hold exactly what
 * the open positions hold (none).  (Adopted and merged positions, and
 * add-ons on them: adopted_and_merged_give_the_quotas_back.) */
static void every_close_gives_the_quotas_back(void **state)
{
    (void)state;
    svc_fx f;
    setup(&f);
    freeReplyObject(svc_redis(&f, "HSET risk:{budget} limit 100000 used 0"));
    freeReplyObject(svc_redis(&f, "HSET risk:{concurrency} limit 100 used 0"));
    svc_start(&f);

    reserved_entry(&f, SYM, "q1"); /* the stop */
    prices(&f, 58900);
    closed_and_released(&f, "q1");
    prices(&f, 60000);

    reserved_entry(&f, SYM, "q2"); /* the take-profit (ROE 60%) */
    prices(&f, 64000);
    closed_and_released(&f, "q2");
    prices(&f, 60000);

    reserved_entry(&f, SYM, "q3"); /* by hand */
    json_t *ans = NULL;
    long st = svc_http(&f, "POST", "/positions/manage", SVC_TOKEN,
                       "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
                       "\"position_id\":\"q3\",\"action\":\"CLOSE\","
                       "\"action_id\":\"close-q3\",\"reason\":\"desk\"}",
                       &ans);
    if (st != 200) {
        char *txt = ans ? json_dumps(ans, 0) : NULL;
        fail_msg("manual close: %ld %s", st, txt ? txt : "");
    }
    json_decref(ans);
    closed_and_released(&f, "q3");

    reserved_entry(&f, SYM, "q4"); /* the venue flat at start-up */
    svc_kill(&f);
    char as_of[48];
    redisReply *last = svc_redis(&f, "XREVRANGE ord:{results} + - COUNT 1");
    snprintf(as_of, sizeof as_of, "%s", last->element[0]->element[0]->str);
    freeReplyObject(last);
    char pos_body[96], ord_body[96];
    snprintf(pos_body, sizeof pos_body, "{\"positions\":[],\"as_of\":\"%s\"}",
             as_of);
    snprintf(ord_body, sizeof ord_body, "{\"orders\":[],\"as_of\":\"%s\"}",
             as_of);
    assert_int_equal(s6_s4_peer_serve(f.peer, "/positions", 200, pos_body), 0);
    assert_int_equal(s6_s4_peer_serve(f.peer, "/open-orders", 200, ord_body),
                     0);
    svc_start(&f);
    closed_and_released(&f, "q4");
    svc_kill(&f);
    assert_int_equal(s6_s4_peer_serve(f.peer, "/positions", 200, NULL), 0);
    assert_int_equal(s6_s4_peer_serve(f.peer, "/open-orders", 200, NULL), 0);

    /* a liquidation on another symbol (the venue book keeps BTCUSDT's q4) */
    svc_start(&f);
    reserved_entry(&f, "ETHUSDT", "q5");
    svc_fill(&f, "liq-q5", "", "", "ETHUSDT", "FUT", "SELL", "LIQUIDATION",
             "0.2", "2700", "");
    svc_await_events(&f, "ETHUSDT", "q5", "POSITION_CLOSED", 1);
    svc_await(&f, quotas_back, NULL, "risk quotas back after liquidation");
    svc_fx_teardown(&f);
}

/* ---- quotas: the positions S6 did not open itself ---- */

/* The id S6 gave the position it adopted on BTCUSDT ("" before). */
static const char *adopted_id(svc_fx *f, char *id, size_t cap)
{
    redisReply *r = svc_redis(f, "XRANGE pos:events:{%s} - +", SYM);
    id[0] = '\0';
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *kv = r->element[i]->element[1];
        const char *type = "", *pos = "";
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            if (strcmp(kv->element[j]->str, "type") == 0)
                type = kv->element[j + 1]->str;
            else if (strcmp(kv->element[j]->str, "pos_id") == 0)
                pos = kv->element[j + 1]->str;
        }
        if (strcmp(type, "ADOPTED") == 0)
            snprintf(id, cap, "%s", pos);
    }
    freeReplyObject(r);
    return id;
}

static bool adopted_protected(svc_fx *f, void *ud)
{
    char id[32];
    (void)ud;
    return adopted_id(f, id, sizeof id)[0] != '\0' &&
           svc_resting_stops(f, id) == 1;
}

typedef struct holdings {
    double budget;
    int slots;
} holdings;

static bool quotas_hold(svc_fx *f, void *ud)
{
    const holdings *h = ud;
    return fabs(hnum(f, "risk:{budget}") - h->budget) < 1e-6 &&
           fabs(hnum(f, "risk:{concurrency}") - h->slots) < 1e-9;
}

static void await_holdings(svc_fx *f, double budget, int slots,
                           const char *what)
{
    holdings h = { budget, slots };
    svc_await(f, quotas_hold, &h, what);
}

/* The upstream risk service's reservation and the entry at the venue. */
static void upstream_entry(svc_fx *f, const char *pos_id)
{
    freeReplyObject(svc_redis(f, "HINCRBYFLOAT risk:{budget} used 60"));
    freeReplyObject(svc_redis(f, "HINCRBY risk:{concurrency} used 1"));
    size_t before = s6_s4_peer_count(f->peer, S6_S4P_PUBLISHED);
    s6_s4_peer_entry_fill e = {
        .pos_id = pos_id, .symbol = SYM, .side = 1, .qty = 0.01,
        .price = 60000, .sl_px = 59000, .risk_reserved = 60,
        .concurrency_reserved = 1, .seq = 1,
    };
    assert_int_equal(s6_s4_peer_entry(f->peer, &e), 0);
    assert_int_equal(s6_s4_peer_wait(f->peer, S6_S4P_PUBLISHED, before + 1,
                                     GUARD_MS), 0);
}

static bool one_add(svc_fx *f, void *ud)
{
    char k[64], v[16];
    snprintf(k, sizeof k, "pos:{adds}:%s", (const char *)ud);
    return strcmp(svc_hget(f, k, "count", v, sizeof v), "1") == 0;
}

/* A position adopted from the venue's view (S6 never saw its entry), its
 * ENTRY read afterwards (the reservation taken over), an add-on on it,
 * and a second entry with a new pos_id merged into it; another position
 * open on ETHUSDT meanwhile.  When the BTCUSDT position closes, the
 * quotas hold exactly what ETHUSDT's holds; when that closes, nothing;
 * each release once. */
static void adopted_and_merged_give_the_quotas_back(void **state)
{
    (void)state;
    svc_fx f;
    setup(&f);
    freeReplyObject(svc_redis(&f, "HSET risk:{budget} limit 100000 used 0"));
    freeReplyObject(svc_redis(&f, "HSET risk:{concurrency} limit 100 used 0"));
    /* S4 lists a BTCUSDT long no result named (no as_of: the fallback) */
    assert_int_equal(s6_s4_peer_serve(f.peer, "/positions", 200,
                     "{\"positions\":[{\"symbol\":\"BTCUSDT\","
                     "\"market\":\"FUT\",\"side\":\"LONG\","
                     "\"qty\":\"0.010\",\"entry_price\":\"60000\"}]}"), 0);
    assert_int_equal(s6_s4_peer_serve(f.peer, "/open-orders", 200,
                                      "{\"orders\":[]}"), 0);
    svc_start(&f);
    svc_await(&f, adopted_protected, NULL, "the venue's position adopted");
    assert_int_equal(s6_s4_peer_serve(f.peer, "/positions", 200, NULL), 0);
    assert_int_equal(s6_s4_peer_serve(f.peer, "/open-orders", 200, NULL), 0);
    char id[32];
    adopted_id(&f, id, sizeof id);
    await_holdings(&f, 0, 0, "nothing reserved by an adoption");

    /* its own ENTRY, read after the view: the reservation taken over */
    upstream_entry(&f, "u1");
    svc_await_events(&f, SYM, id, "ADOPTED_ENTRY", 1);
    await_holdings(&f, 60, 1, "the adopted entry's reservation");

    /* an add-on on the adopted position reserves its margin */
    json_t *ans = NULL;
    char body[256];
    snprintf(body, sizeof body, "{\"symbol\":\"BTCUSDT\",\"market\":"
             "\"FUT\",\"position_id\":\"%s\",\"action\":\"ADD\","
             "\"qty\":0.005,\"action_id\":\"add-%s\"}", id, id);
    long st = svc_http(&f, "POST", "/positions/manage", SVC_TOKEN, body, &ans);
    if (st != 200) {
        char *txt = ans ? json_dumps(ans, 0) : NULL;
        fail_msg("manual add: %ld %s", st, txt ? txt : "");
    }
    json_decref(ans);
    svc_await(&f, one_add, id, "the add filled");
    double with_add = hnum(&f, "risk:{budget}");
    assert_true(with_add > 60 + 1e-6);
    await_holdings(&f, with_add, 1, "the add's budget");

    /* another position stays open throughout */
    reserved_entry(&f, "ETHUSDT", "h1");
    await_holdings(&f, with_add + 60, 2, "ETHUSDT's reservation");

    /* a second entry with its own pos_id: merged, both reservations */
    upstream_entry(&f, "m2");
    svc_await_events(&f, SYM, id, "ENTRY_MERGED", 1);
    await_holdings(&f, with_add + 120, 3, "the merged entry's reservation");

    /* the stop: everything the merged position held comes back, once */
    prices(&f, 58000);
    svc_await_events(&f, SYM, id, "POSITION_CLOSED", 1);
    await_holdings(&f, 60, 1, "only ETHUSDT's holding left");
    assert_int_equal(svc_count_events(&f, SYM, id, "QUOTA_RELEASED"), 1);
    char marker[64];
    snprintf(marker, sizeof marker, "risk:{budget}:released:%s", id);
    redisReply *m = svc_redis(&f, "EXISTS %s", marker);
    assert_int_equal(m->integer, 1);
    freeReplyObject(m);

    svc_fill(&f, "liq-h1", "", "", "ETHUSDT", "FUT", "SELL", "LIQUIDATION",
             "0.2", "2700", "");
    svc_await_events(&f, "ETHUSDT", "h1", "POSITION_CLOSED", 1);
    await_holdings(&f, 0, 0, "nothing left once both closed");
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_entry_filled_while_down_stays_the_entrys),
        cmocka_unit_test(a_stop_filled_while_down_is_booked),
        cmocka_unit_test(after_an_outage_protection_is_bounded),
        cmocka_unit_test(every_close_gives_the_quotas_back),
        cmocka_unit_test(adopted_and_merged_give_the_quotas_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
