/* The Redis state edge against a real redis-server: the spec's keys
 * exactly, the restart load, events and announcements, the quota scripts
 * (reserve within the limits, release once) and the barrier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include "bus/shard.h"
#include "bus/state.h"
#include "bus_fixture.h"
#include "redis/slot.h"

typedef struct tfx {
    bus_fx f;
    s6_state *st;
    s6_state_edge e;
} tfx;

static double fixed_now(void *ud)
{
    (void)ud;
    return 1764110000.5;
}

static int setup(void **state)
{
    tfx *t = calloc(1, sizeof *t);
    *state = t;
    if (bus_fx_setup(&t->f) != 0)
        return -1;
    s6_state_opts o = { .events_maxlen = 1000,
                        .clock = { .now = fixed_now } };
    if (s6_state_new(t->f.cmd, &o, &t->st) != 0)
        return -1;
    t->e = s6_state_edge_of(t->st);
    return 0;
}

static int teardown(void **state)
{
    tfx *t = *state;
    s6_state_free(t->st);
    int rc = bus_fx_teardown(&t->f);
    free(t);
    return rc;
}

typedef struct bwait {
    bool done, ok;
} bwait;

static void on_done(void *ud, bool ok)
{
    bwait *w = ud;
    w->done = true;
    w->ok = ok;
}

/* The barrier's answer: everything asked for so far is in. */
static bool barrier(tfx *t)
{
    bwait w = { 0 };
    assert_int_equal(t->e.barrier(t->e.ud, on_done, &w), 0);
    assert_true(bus_run_flag(&t->f, &w.done, 5000));
    return w.ok;
}

static void make_record(s6_engine_record *rec, const char *id)
{
    memset(rec, 0, sizeof *rec);
    char err[128];
    assert_int_equal(s6_position_init(&rec->pos, id, "BTCUSDT",
                                      S6_MARKET_FUT, 10, err, sizeof err), 0);
    rec->pos.state = S6_POS_ACTIVE;
    rec->pos.side = 1;
    rec->pos.qty = 0.01;
    rec->pos.entry = 64250.1;
    rec->pos.add_on_count = 2;
    rec->pos.last_add_at = 1764100000.25;
    s6_stop_init(&rec->stop, 1);
    rec->stop.confirmed = (s6_stop_order){ .live = true, .price = 63500.5,
                                           .qty = 0.01 };
    strcpy(rec->stop.confirmed.intent_id, "p1-sl-3");
    rec->stop.step = 2;
    rec->tp_step = 1;
    rec->risk_reserved = 64.25;
    rec->concurrency_reserved = 1;
    rec->rule_state_json =
        "{\"trailing_stop\":{\"step\":2,\"best\":64900.5},\"ladder\":{\"next\":1}}";
}

static void test_save_writes_the_spec_keys(void **state)
{
    tfx *t = *state;
    s6_engine_record rec;
    make_record(&rec, "p1");
    assert_int_equal(t->e.save(t->e.ud, &rec), 0);
    assert_true(barrier(t));

    bus_reply r;
    const char *want[] = { "pos:{sl}:level:p1", "pos:{tp}:ladder:p1",
                           "pos:{adds}:p1", "pos:{rules}:p1",
                           "pos:{state}:p1", "pos:{state}:open" };
    if (bus_fx_on_cluster()) { /* the keys lie on several masters */
        assert_int_equal(s6test_cluster_dbsize(bus_fx_cluster()), 6);
        for (size_t i = 0; i < 6; i++) {
            assert_int_equal(bus_cmdv(&t->f, &r, "EXISTS", want[i], NULL), 0);
            assert_int_equal(r.integer, 1);
        }
        r.n_items = 6;
        for (size_t i = 0; i < 6; i++)
            strcpy(r.items[i], want[i]);
    } else {
        assert_int_equal(bus_cmdv(&t->f, &r, "KEYS", "*", NULL), 0);
    }
    assert_int_equal(r.n_items, 6);
    for (size_t i = 0; i < 6; i++) {
        bool found = false;
        for (size_t j = 0; j < r.n_items; j++)
            found |= strcmp(r.items[j], want[i]) == 0;
        if (!found)
            fail_msg("key %s missing", want[i]);
    }
    assert_int_equal(bus_cmdv(&t->f, &r, "HGETALL", "pos:{sl}:level:p1",
                              NULL), 0);
    assert_int_equal(r.n_items, 8);
    assert_string_equal(bus_field(&r, "price"), "63500.5");
    assert_string_equal(bus_field(&r, "step"), "2");
    assert_string_equal(bus_field(&r, "intent_id"), "p1-sl-3");
    assert_string_equal(bus_field(&r, "confirmed"), "1");
    assert_int_equal(bus_cmdv(&t->f, &r, "HGETALL", "pos:{tp}:ladder:p1",
                              NULL), 0);
    assert_int_equal(r.n_items, 2);
    assert_string_equal(bus_field(&r, "step"), "1");
    assert_int_equal(bus_cmdv(&t->f, &r, "HGETALL", "pos:{adds}:p1", NULL),
                     0);
    assert_string_equal(bus_field(&r, "count"), "2");
    assert_string_equal(bus_field(&r, "last_add_at"), "1764100000.25");
    assert_int_equal(bus_cmdv(&t->f, &r, "HGETALL", "pos:{rules}:p1", NULL),
                     0);
    assert_int_equal(r.n_items, 4);
    assert_string_equal(bus_field(&r, "trailing_stop"),
                        "{\"step\":2,\"best\":64900.5}");
    assert_string_equal(bus_field(&r, "ladder"), "{\"next\":1}");
    assert_int_equal(bus_cmdv(&t->f, &r, "HGET", "pos:{state}:p1", "record",
                              NULL), 0);
    char *json = s6_engine_record_encode(&rec);
    assert_string_equal(r.str, json);
    free(json);
    assert_int_equal(bus_cmdv(&t->f, &r, "SISMEMBER", "pos:{state}:open",
                              "p1", NULL), 0);
    assert_int_equal(r.integer, 1);

    /* A pending (unconfirmed) stop, a rule dropped, then closed. */
    rec.stop.confirmed.live = false;
    rec.stop.pending = (s6_stop_order){ .live = true, .price = 63800 };
    strcpy(rec.stop.pending.intent_id, "p1-sl-4");
    rec.stop.pending_step = 3;
    rec.rule_state_json = "{\"ladder\":{\"next\":2}}";
    assert_int_equal(t->e.save(t->e.ud, &rec), 0);
    assert_true(barrier(t));
    assert_int_equal(bus_cmdv(&t->f, &r, "HGETALL", "pos:{sl}:level:p1",
                              NULL), 0);
    assert_string_equal(bus_field(&r, "price"), "63800");
    assert_string_equal(bus_field(&r, "step"), "3");
    assert_string_equal(bus_field(&r, "intent_id"), "p1-sl-4");
    assert_string_equal(bus_field(&r, "confirmed"), "0");
    assert_int_equal(bus_cmdv(&t->f, &r, "HGETALL", "pos:{rules}:p1", NULL),
                     0);
    assert_int_equal(r.n_items, 2);
    rec.pos.state = S6_POS_CLOSED;
    assert_int_equal(t->e.save(t->e.ud, &rec), 0);
    assert_true(barrier(t));
    assert_int_equal(bus_cmdv(&t->f, &r, "SCARD", "pos:{state}:open", NULL),
                     0);
    assert_int_equal(r.integer, 0);
}

static void test_save_refuses_bad_input(void **state)
{
    tfx *t = *state;
    s6_engine_record rec;
    make_record(&rec, "p1");
    strcpy(rec.pos.id, "p 1");
    assert_int_equal(t->e.save(t->e.ud, &rec), S6_EINVAL);
    make_record(&rec, "p1");
    rec.rule_state_json = "[1,2]";
    assert_int_equal(t->e.save(t->e.ud, &rec), S6_EINVAL);
    assert_true(barrier(t));
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "DBSIZE", NULL), 0);
    assert_int_equal(r.integer, 0); /* nothing written */
}

typedef struct loaded {
    bool done;
    int rc;
    s6_engine_record *recs;
    size_t n;
    char err[256];
} loaded;

static void on_loaded(void *ud, int rc, s6_engine_record *recs, size_t n,
                      const char *err)
{
    loaded *l = ud;
    l->done = true;
    l->rc = rc;
    l->recs = recs;
    l->n = n;
    snprintf(l->err, sizeof l->err, "%s", err ? err : "");
}

static loaded load(tfx *t)
{
    loaded l = { 0 };
    assert_int_equal(s6_state_load(t->st, on_loaded, &l), 0);
    assert_true(bus_run_flag(&t->f, &l.done, 5000));
    return l;
}

typedef struct book_loaded {
    bool done;
    int rc;
    char json[512];
    bool none;
} book_loaded;

static void on_book(void *ud, int rc, const char *json, const char *err)
{
    book_loaded *b = ud;
    (void)err;
    b->done = true;
    b->rc = rc;
    b->none = json == NULL;
    snprintf(b->json, sizeof b->json, "%s", json ? json : "");
}

static book_loaded load_book(tfx *t, s6_state *st)
{
    book_loaded b = { 0 };
    assert_int_equal(s6_state_load_book(st, on_book, &b), 0);
    assert_true(bus_run_flag(&t->f, &b.done, 5000));
    return b;
}

/* The engine's own record: absent on a first start, written whole under
 * pos:{state}:book (a shard's under its own key), read back as written,
 * replaced by the next save. */
static void test_book_record_round_trip(void **state)
{
    tfx *t = *state;
    book_loaded b = load_book(t, t->st);
    assert_int_equal(b.rc, 0);
    assert_true(b.none);

    const char *one = "{\"day\":1764028800,\"realized\":-1259.4,"
                      "\"alerted_day\":1764028800,\"leftovers\":[{"
                      "\"intent_id\":\"p1-sl-2\",\"symbol\":\"BTCUSDT\","
                      "\"market\":\"FUT\"}]}";
    const char *two = "{\"day\":1764028800,\"realized\":-1259.4,"
                      "\"alerted_day\":1764028800,\"leftovers\":[]}";
    assert_int_equal(t->e.book_save(t->e.ud, one), 0);
    assert_true(barrier(t));
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "HGET", S6_STATE_BOOK_KEY, "record",
                              NULL), 0);
    assert_string_equal(r.str, one);
    assert_int_equal(t->e.book_save(t->e.ud, two), 0);
    b = load_book(t, t->st);
    assert_int_equal(b.rc, 0);
    assert_string_equal(b.json, two);
    assert_int_equal(t->e.book_save(t->e.ud, "not json"), S6_EINVAL);

    /* shard 1 of 3 keeps its own */
    char key[48];
    s6_shard_book_key(1, 3, key, sizeof key);
    assert_string_equal(key, "pos:{state}:book:1");
    s6_state_opts o = { .book_key = key };
    s6_state *sh;
    assert_int_equal(s6_state_new(t->f.cmd, &o, &sh), 0);
    b = load_book(t, sh);
    assert_true(b.none);
    s6_state_edge e = s6_state_edge_of(sh);
    assert_int_equal(e.book_save(e.ud, one), 0);
    b = load_book(t, sh);
    assert_string_equal(b.json, one);
    assert_string_equal(load_book(t, t->st).json, two);
    s6_state_free(sh);
}

static void test_load_restores_open_positions(void **state)
{
    tfx *t = *state;
    loaded l = load(t);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 0);
    s6_state_free_records(l.recs, l.n);

    s6_engine_record a, b, c;
    make_record(&a, "p1");
    make_record(&b, "p2");
    b.pos.qty = 0.5;
    b.rule_state_json = NULL;
    make_record(&c, "p3");
    c.pos.state = S6_POS_CLOSED;
    assert_int_equal(t->e.save(t->e.ud, &a), 0);
    assert_int_equal(t->e.save(t->e.ud, &b), 0);
    assert_int_equal(t->e.save(t->e.ud, &c), 0);
    assert_true(barrier(t));
    /* The record is authoritative: a view changed behind its back does not
     * restore (and is rewritten from the record); a record without rule
     * state takes it from the view. */
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "pos:{rules}:p1",
                              "ladder", "{\"next\":5}", NULL), 0);
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "pos:{rules}:p2",
                              "ladder", "{\"next\":7}", NULL), 0);

    l = load(t);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.n, 2); /* p3 is closed */
    for (size_t i = 0; i < l.n; i++) {
        const s6_engine_record *r = &l.recs[i];
        if (strcmp(r->pos.id, "p1") == 0) {
            assert_true(r->pos.qty == 0.01 && r->pos.entry == 64250.1);
            assert_true(r->stop.confirmed.price == 63500.5);
            assert_int_equal(r->tp_step, 1);
            assert_null(strstr(r->rule_state_json, "\"next\":5"));
            assert_non_null(strstr(r->rule_state_json, "trailing_stop"));
        } else {
            assert_string_equal(r->pos.id, "p2");
            assert_true(r->pos.qty == 0.5);
            assert_non_null(strstr(r->rule_state_json, "\"next\":7"));
        }
    }
    s6_state_free_records(l.recs, l.n);
    /* The load wrote p1's view again from its record. */
    assert_true(barrier(t));
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "HGET", "pos:{rules}:p1", "ladder",
                              NULL), 0);
    assert_null(strstr(r.str, "\"next\":5"));
}

static void test_load_refuses_a_bad_record(void **state)
{
    tfx *t = *state;
    s6_engine_record a;
    make_record(&a, "p1");
    assert_int_equal(t->e.save(t->e.ud, &a), 0);
    assert_true(barrier(t));
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "pos:{state}:p1",
                              "record", "{\"pos\":7}", NULL), 0);
    loaded l = load(t);
    assert_int_equal(l.rc, S6_EINVAL);
    assert_null(l.recs);
    assert_non_null(strstr(l.err, "pos:{state}:p1 record"));

    assert_int_equal(bus_cmdv(&t->f, NULL, "SADD", "pos:{state}:open", "p9",
                              NULL), 0);
    assert_int_equal(bus_cmdv(&t->f, NULL, "SREM", "pos:{state}:open", "p1",
                              NULL), 0);
    l = load(t);
    assert_int_equal(l.rc, S6_EINVAL);
    assert_non_null(strstr(l.err, "pos:{state}:p9: in pos:{state}:open but "
                                  "has no record"));

    assert_int_equal(bus_cmdv(&t->f, NULL, "SREM", "pos:{state}:open", "p9",
                              NULL), 0);
    assert_int_equal(bus_cmdv(&t->f, NULL, "SADD", "pos:{state}:open", "p1",
                              NULL), 0);
    a.rule_state_json = NULL; /* read from the view, which is broken */
    assert_int_equal(t->e.save(t->e.ud, &a), 0);
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "pos:{rules}:p1",
                              "ladder", "{oops", NULL), 0);
    l = load(t);
    assert_int_equal(l.rc, S6_EINVAL);
    assert_non_null(strstr(l.err, "pos:{rules}:p1: field 'ladder': not JSON"));
}

static void test_event_and_announce(void **state)
{
    tfx *t = *state;
    assert_int_equal(t->e.event(t->e.ud, "BTCUSDT", "p1", "STOP_MOVED",
                                "{\"from\":63000,\"to\":63500.5,\"step\":2,"
                                "\"reason\":\"lock-in\",\"confirmed\":true,"
                                "\"plan\":{\"id\":\"x\"}}"), 0);
    assert_int_equal(t->e.event(t->e.ud, "BTCUSDT", "p1", "TP_FILLED",
                                "{\"ts\":17.5}"), 0);
    assert_int_equal(t->e.event(t->e.ud, "BTCUSDT", "p1", "BAD", "{oops"),
                     S6_EINVAL);
    assert_int_equal(t->e.event(t->e.ud, "BTC USDT", "p1", "X", "{}"),
                     S6_EINVAL);
    const char *f[] = { "symbol", "BTCUSDT", "sl_px", "63500.5" };
    assert_int_equal(t->e.announce(t->e.ud, "risk:sl_arm", f, 4), 0);
    assert_int_equal(t->e.announce(t->e.ud, "risk:sl_arm", f, 3),
                     S6_EINVAL);
    assert_true(barrier(t));

    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "XLEN", "pos:events:{BTCUSDT}",
                              NULL), 0);
    assert_int_equal(r.integer, 2);
    assert_int_equal(bus_cmdv(&t->f, &r, "EVAL",
                              "return redis.call('XRANGE', KEYS[1], '-', '+')[1][2]",
                              "1", "pos:events:{BTCUSDT}", NULL), 0);
    assert_string_equal(bus_field(&r, "type"), "STOP_MOVED");
    assert_string_equal(bus_field(&r, "pos_id"), "p1");
    assert_string_equal(bus_field(&r, "ts"), "1764110000.5");
    assert_string_equal(bus_field(&r, "from"), "63000");
    assert_string_equal(bus_field(&r, "to"), "63500.5");
    assert_string_equal(bus_field(&r, "reason"), "lock-in");
    assert_string_equal(bus_field(&r, "confirmed"), "true");
    assert_string_equal(bus_field(&r, "plan"), "{\"id\":\"x\"}");
    assert_int_equal(bus_cmdv(&t->f, &r, "EVAL",
                              "return redis.call('XRANGE', KEYS[1], '-', '+')[2][2]",
                              "1", "pos:events:{BTCUSDT}", NULL), 0);
    assert_string_equal(bus_field(&r, "ts"), "17.5"); /* the event's own */
    assert_int_equal(r.n_items, 6);
    assert_int_equal(bus_cmdv(&t->f, &r, "EVAL",
                              "return redis.call('XRANGE', KEYS[1], '-', '+')[1][2]",
                              "1", "risk:sl_arm", NULL), 0);
    assert_int_equal(r.n_items, 4);
    assert_string_equal(bus_field(&r, "sl_px"), "63500.5");
}


static bool reserve(tfx *t, const char *pos_id, double budget, int slots)
{
    bwait w = { 0 };
    assert_int_equal(t->e.quota_reserve(t->e.ud, pos_id, budget, slots,
                                        on_done, &w), 0);
    assert_true(bus_run_flag(&t->f, &w.done, 5000));
    return w.ok;
}

static void expect_used(tfx *t, const char *budget, const char *slots)
{
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "HGET", "risk:{budget}", "used",
                              NULL), 0);
    assert_string_equal(r.str, budget);
    assert_int_equal(bus_cmdv(&t->f, &r, "HGET", "risk:{concurrency}",
                              "used", NULL), 0);
    assert_string_equal(r.str, slots);
}

static void test_quota_reserve_and_release_once(void **state)
{
    tfx *t = *state;
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "risk:{budget}", "limit",
                              "100", "used", "0", NULL), 0);
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "risk:{concurrency}",
                              "limit", "2", "used", "0", NULL), 0);
    assert_true(reserve(t, "p1", 60.5, 1));
    expect_used(t, "60.5", "1");
    assert_false(reserve(t, "p2", 40, 1));   /* 100.5 > 100 */
    expect_used(t, "60.5", "1");             /* refused: nothing moved */
    assert_true(reserve(t, "p2", 39.5, 1));  /* exactly the limit */
    expect_used(t, "100", "2");
    assert_false(reserve(t, "p3", 0, 1));    /* no slot left */
    expect_used(t, "100", "2");
    /* Budget enough, no slot: both or none (on a cluster the budget step
     * is taken and then given back). */
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "risk:{budget}", "limit",
                              "200", NULL), 0);
    assert_false(reserve(t, "p3", 25.25, 1));
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "risk:{budget}", "limit",
                              "100", NULL), 0);
    expect_used(t, "100", "2");

    /* The same close, twice (and replayed): released once. */
    assert_int_equal(t->e.quota_release(t->e.ud, "p1", 60.5, 1), 0);
    assert_int_equal(t->e.quota_release(t->e.ud, "p1", 60.5, 1), 0);
    assert_true(barrier(t));
    expect_used(t, "39.5", "1");
    assert_int_equal(t->e.quota_release(t->e.ud, "p1", 60.5, 1), 0);
    assert_true(barrier(t));
    expect_used(t, "39.5", "1");
    s6_state_stats st;
    s6_state_get_stats(t->st, &st);
    assert_int_equal(st.releases_applied, 1);
    assert_int_equal(st.releases_repeated, 2);
    assert_int_equal(st.reserves_ok, 2);
    assert_int_equal(st.reserves_refused, 3);
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "EXISTS",
                              "risk:{budget}:released:p1", NULL), 0);
    assert_int_equal(r.integer, 1);

    /* A release larger than what is used stops at 0. */
    assert_int_equal(t->e.quota_release(t->e.ud, "p2", 50, 3), 0);
    assert_true(barrier(t));
    expect_used(t, "0", "0");
    /* No limit configured: nothing can be reserved. */
    assert_int_equal(bus_cmdv(&t->f, NULL, "DEL", "risk:{budget}", NULL), 0);
    assert_false(reserve(t, "p4", 1, 0));
    assert_int_equal(t->e.quota_release(t->e.ud, "p 5", 1, 0), S6_EINVAL);
    assert_int_equal(t->e.quota_release(t->e.ud, "p5", -1, 0), S6_EINVAL);
}

static void test_barrier_reports_a_failed_write(void **state)
{
    tfx *t = *state;
    assert_true(barrier(t));
    /* risk:{budget} of the wrong type: the release script fails. */
    assert_int_equal(bus_cmdv(&t->f, NULL, "SET", "risk:{budget}", "x",
                              NULL), 0);
    assert_int_equal(t->e.quota_release(t->e.ud, "p1", 5, 0), 0);
    assert_false(barrier(t));
    /* Reported once: the next window is clean. */
    assert_true(barrier(t));
    /* A write while Redis is gone: refused, and the barrier says so. */
    if (bus_fx_on_cluster())
        return; /* redis_cluster and service_cluster cover node faults */
    s6test_redis_stop(&t->f.srv);
    s6_engine_record rec;
    make_record(&rec, "p1");
    t->e.save(t->e.ud, &rec);
    bwait w = { 0 };
    if (t->e.barrier(t->e.ud, on_done, &w) == 0) {
        assert_true(bus_run_flag(&t->f, &w.done, 5000));
        assert_false(w.ok);
    }
    s6_state_stats st;
    s6_state_get_stats(t->st, &st);
    assert_true(st.failures >= 2);
}

static void expect_ladder_step(tfx *t, const char *step)
{
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "HGET", "pos:{tp}:ladder:p1", "step",
                              NULL), 0);
    assert_string_equal(r.str, step);
}

static void test_barrier_sends_a_failed_save_again(void **state)
{
    tfx *t = *state;
    s6_engine_record rec;
    make_record(&rec, "p1");
    /* A key of the wrong type makes one of the save's writes fail. */
    assert_int_equal(bus_cmdv(&t->f, NULL, "SET", "pos:{tp}:ladder:p1", "x",
                              NULL), 0);
    rec.tp_step = 5;
    assert_int_equal(t->e.save(t->e.ud, &rec), 0);
    assert_false(barrier(t));
    rec.tp_step = 6; /* a newer save of the same position replaces it */
    assert_int_equal(t->e.save(t->e.ud, &rec), 0);
    assert_false(barrier(t));
    /* Repaired: the next barrier sends the latest save again, and only
     * then says durable — the engine need not save again. */
    assert_int_equal(bus_cmdv(&t->f, NULL, "DEL", "pos:{tp}:ladder:p1",
                              NULL), 0);
    assert_true(barrier(t));
    expect_ladder_step(t, "6");
    s6_state_stats st;
    s6_state_get_stats(t->st, &st);
    assert_int_equal(st.resent, 1);
    assert_true(barrier(t)); /* nothing left to send */
    s6_state_get_stats(t->st, &st);
    assert_int_equal(st.resent, 1);
}

static bool client_up(void *r)
{
    return s6_redis_get_state(r) == S6_REDIS_UP;
}

/* The client noticed the server is gone (it stays DOWN between tries). */
static bool client_down(void *r)
{
    return s6_redis_get_state(r) == S6_REDIS_DOWN;
}

static void test_saves_survive_a_redis_outage(void **state)
{
    if (bus_fx_on_cluster())
        skip(); /* one server stopped: redis_cluster covers node faults */
    tfx *t = *state;
    s6_engine_record rec;
    make_record(&rec, "p1");
    assert_int_equal(bus_cmdv(&t->f, NULL, "HSET", "risk:{budget}", "used",
                              "10", NULL), 0);
    s6test_redis_stop(&t->f.srv);
    assert_true(bus_run_until(&t->f, client_down, t->f.cmd, 5000));
    rec.tp_step = 4;
    assert_int_equal(t->e.save(t->e.ud, &rec), 0);      /* kept */
    assert_int_equal(t->e.quota_release(t->e.ud, "p1", 10, 0), 0);
    bwait w = { 0 };
    if (t->e.barrier(t->e.ud, on_done, &w) == 0) {
        assert_true(bus_run_flag(&t->f, &w.done, 5000));
        assert_false(w.ok);
    }
    assert_int_equal(s6test_redis_restart(&t->f.srv), 0);
    assert_true(bus_run_until(&t->f, client_up, t->f.cmd, 10000));
    /* Redis lost everything (no persistence); the kept writes go again. */
    assert_true(barrier(t));
    expect_ladder_step(t, "4");
    bus_reply r;
    assert_int_equal(bus_cmdv(&t->f, &r, "EXISTS", "risk:{budget}:released:p1",
                              NULL), 0);
    assert_int_equal(r.integer, 1);
    assert_int_equal(bus_cmdv(&t->f, &r, "SISMEMBER", "pos:{state}:open",
                              "p1", NULL), 0);
    assert_int_equal(r.integer, 1);
    /* An event refused while Redis is down is not kept: the barrier after
     * it says "not durable" once. */
    s6test_redis_stop(&t->f.srv);
    assert_true(bus_run_until(&t->f, client_down, t->f.cmd, 5000));
    assert_int_equal(t->e.event(t->e.ud, "BTCUSDT", "p1", "STAGNATED", "{}"),
                     S6_EREDIS);
    assert_int_equal(s6test_redis_restart(&t->f.srv), 0);
    assert_true(bus_run_until(&t->f, client_up, t->f.cmd, 10000));
    assert_false(barrier(t));
    assert_true(barrier(t));
}

/* ---- redis.wait_replicas: WAIT before "durable" ---- */

/* On the cluster, once every replica has made its first sync (it blocks:
 * before the client exists, whose connect timers it would outlast). */
static int setup_replicated(void **state)
{
    s6test_cluster *c = bus_fx_cluster();
    for (int m = 0; c && m < S6TEST_CLUSTER_NODES; m++)
        if (s6test_cluster_replica_of(c, m) >= 0 &&
            s6test_cluster_await_replicated(c, m) != 0)
            return -1;
    return setup(state);
}

/* A second edge on the same client, waiting for `replicas` replicas.  A
 * WAIT that is to succeed gets a second: the acknowledgement is one
 * replica round trip, but on a loaded machine a scheduling delay can pass
 * 200 ms. */
static s6_state *waiting_state(tfx *t, uint32_t replicas, uint32_t timeout_ms,
                               s6_state_edge *e)
{
    s6_state *st;
    s6_state_opts o = { .events_maxlen = 1000, .clock = { .now = fixed_now },
                        .wait_replicas = replicas,
                        .wait_timeout_ms = timeout_ms };
    assert_int_equal(s6_state_new(t->f.cmd, &o, &st), 0);
    *e = s6_state_edge_of(st);
    return st;
}

static bool edge_barrier(tfx *t, const s6_state_edge *e)
{
    bwait w = { 0 };
    assert_int_equal(e->barrier(e->ud, on_done, &w), 0);
    assert_true(bus_run_flag(&t->f, &w.done, 5000));
    return w.ok;
}

/* One replica per master on the cluster: WAIT 1 is met, and a barrier
 * with nothing new written sends no WAIT.  A single server has no
 * replica: the barrier says "not durable", every time. */
static void test_wait_for_one_replica(void **state)
{
    tfx *t = *state;
    s6_state_edge e;
    s6_state *st = waiting_state(t, 1, 1000, &e);
    s6_engine_record rec;
    make_record(&rec, "p1");
    assert_int_equal(e.save(e.ud, &rec), 0);
    s6_state_stats ss;
    if (bus_fx_on_cluster()) {
        assert_true(edge_barrier(t, &e));
        s6_state_get_stats(st, &ss);
        assert_true(ss.waits_ok >= 1);
        assert_int_equal(ss.waits_short, 0);
        uint64_t ok = ss.waits_ok;
        assert_true(edge_barrier(t, &e));
        s6_state_get_stats(st, &ss);
        assert_int_equal(ss.waits_ok, ok);
    } else {
        assert_false(edge_barrier(t, &e));
        assert_false(edge_barrier(t, &e)); /* the same writes, waited again */
        s6_state_get_stats(st, &ss);
        assert_int_equal(ss.waits_short, 2);
    }
    s6_state_free(st);
}

/* More replicas than the cluster has: never durable. */
static void test_wait_that_cannot_be_met(void **state)
{
    if (!bus_fx_on_cluster())
        skip(); /* the single server's case is in test_wait_for_one_replica */
    tfx *t = *state;
    s6_state_edge e;
    s6_state *st = waiting_state(t, 2, 200, &e);
    s6_engine_record rec;
    make_record(&rec, "p1");
    assert_int_equal(e.save(e.ud, &rec), 0);
    assert_false(edge_barrier(t, &e));
    assert_false(edge_barrier(t, &e));
    s6_state_stats ss;
    s6_state_get_stats(st, &ss);
    assert_true(ss.waits_short >= 2);
    s6_state_free(st);
}

/* The replica of the record's master stalls: the barrier says "not
 * durable" (the orders it guards stay held) until the replica has the
 * writes again, with no new save in between. */
static void test_wait_holds_until_the_replica_is_back(void **state)
{
    if (!bus_fx_on_cluster())
        skip(); /* needs replicas */
    tfx *t = *state;
    s6test_cluster *c = bus_fx_cluster();
    const char *key = "pos:{state}:p1";
    int m = s6test_cluster_master_of(c, s6_redis_key_slot(key, strlen(key)));
    int rep = s6test_cluster_replica_of(c, m);
    assert_true(m >= 0 && rep >= 0);
    s6_state_edge e;
    s6_state *st = waiting_state(t, 1, 1000, &e);
    s6_engine_record rec;
    make_record(&rec, "p1");
    assert_int_equal(kill(c->node[rep].pid, SIGSTOP), 0);
    assert_int_equal(e.save(e.ud, &rec), 0);
    bool first = edge_barrier(t, &e), second = edge_barrier(t, &e);
    assert_int_equal(kill(c->node[rep].pid, SIGCONT), 0);
    assert_false(first);
    assert_false(second);
    assert_true(edge_barrier(t, &e));
    s6_state_stats ss;
    s6_state_get_stats(st, &ss);
    assert_true(ss.waits_short >= 2);
    assert_true(ss.waits_ok >= 1);
    s6_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_writes_the_spec_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_restores_open_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_a_bad_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_book_record_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_and_announce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_reserve_and_release_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_barrier_reports_a_failed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_barrier_sends_a_failed_save_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saves_survive_a_redis_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_one_replica, setup_replicated, teardown),
        cmocka_unit_test_setup_teardown(test_wait_that_cannot_be_met, setup_replicated, teardown),
        cmocka_unit_test_setup_teardown(test_wait_holds_until_the_replica_is_back, setup_replicated, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
