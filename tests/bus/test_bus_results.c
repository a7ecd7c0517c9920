/* The ord:{results} consumer against a real redis-server: acknowledgement
 * only after the barrier, reclaim of a dead consumer's entries, duplicates
 * passed on, malformed entries dead-lettered, one batch at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "bus/result_codec.h"
#include "bus/results.h"
#include "bus_fixture.h"

typedef struct rx {
    int calls;
    char ids[64][S6_RESULT_ID_MAX];
    const char *refuse;          /* result_id on_result refuses */
    const char *hold_once;       /* result_id answered "not now" once */
    s6_results **close_in_cb;    /* closed from inside on_result */
    bool hold;                   /* the barrier keeps its answer */
    int held;
    void (*held_done[8])(void *, bool);
    void *held_ud[8];
    int fail_barriers;           /* this many barriers answer "not durable" */
    int barriers;
} rx;

static int on_result(void *ud, const s6_order_result *r, char *err,
                     size_t errlen)
{
    rx *x = ud;
    if (x->calls < 64)
        strcpy(x->ids[x->calls], r->result_id);
    x->calls++;
    if (x->close_in_cb) {
        s6_results_close(*x->close_in_cb);
        x->close_in_cb = NULL;
        return 0;
    }
    if (x->hold_once && strcmp(r->result_id, x->hold_once) == 0) {
        x->hold_once = NULL;
        return S6_RESULTS_RETRY;
    }
    if (x->refuse && strcmp(r->result_id, x->refuse) == 0) {
        snprintf(err, errlen, "unknown position for %s", r->symbol);
        return -1;
    }
    return 0;
}

static int barrier(void *ud, void (*done)(void *, bool), void *cb_ud)
{
    rx *x = ud;
    x->barriers++;
    if (x->hold && x->held < 8) {
        x->held_done[x->held] = done;
        x->held_ud[x->held++] = cb_ud;
        return 0;
    }
    bool ok = x->fail_barriers <= 0;
    x->fail_barriers--;
    done(cb_ud, ok);
    return 0;
}

static void release_held(rx *x, bool ok)
{
    for (int i = 0; i < x->held; i++)
        x->held_done[i](x->held_ud[i], ok);
    x->held = 0;
}

static s6_results *start(bus_fx *f, rx *x, const char *consumer,
                         uint32_t count, uint32_t min_idle_ms)
{
    s6_results_opts o = { .url = f->srv.url, .consumer = consumer,
                          .count = count, .block_ms = 200,
                          .min_idle_ms = min_idle_ms, .retry_ms = 20,
                          .on_result = on_result, .result_ud = x,
                          .barrier = barrier, .barrier_ud = x };
    s6_results *c = NULL;
    char err[256] = "";
    if (s6_results_start(&f->loop, f->cmd, &o, &c, err, sizeof err) != 0)
        fail_msg("start: %s", err);
    return c;
}

static void add_result(bus_fx *f, const char *result_id, const char *kind)
{
    assert_int_equal(bus_cmdv(f, NULL, "XADD", "ord:{results}", "*",
                              "result_id", result_id, "kind", kind,
                              "intent_id", "p1-sl-1", "symbol", "BTCUSDT",
                              "market", "FUT", "ts", "1764110000.5", NULL),
                     0);
}

static long long pending_count(bus_fx *f)
{
    bus_reply r;
    assert_int_equal(bus_cmdv(f, &r, "XPENDING", "ord:{results}", "s6",
                              NULL), 0);
    return atoll(r.items[0]);
}

typedef struct wait_calls {
    rx *x;
    int n;
} wait_calls;

static bool calls_reached(void *arg)
{
    wait_calls *w = arg;
    return w->x->calls >= w->n;
}

static void wait_for_calls(bus_fx *f, rx *x, int n)
{
    wait_calls w = { x, n };
    assert_true(bus_run_until(f, calls_reached, &w, 5000));
}

typedef struct wait_acked {
    s6_results *c;
    uint64_t n;
} wait_acked;

static bool acked_reached(void *arg)
{
    wait_acked *w = arg;
    s6_results_stats st;
    s6_results_get_stats(w->c, &st);
    return st.acked >= w->n;
}

static void wait_for_acked(bus_fx *f, s6_results *c, uint64_t n)
{
    wait_acked w = { c, n };
    assert_true(bus_run_until(f, acked_reached, &w, 5000));
}

static bool held_reached(void *arg)
{
    return ((rx *)arg)->held > 0;
}

static void test_ack_only_after_barrier(void **state)
{
    bus_fx *f = *state;
    rx x = { .hold = true };
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    add_result(f, "r-1", "ACCEPTED");
    wait_for_calls(f, &x, 1);
    assert_true(bus_run_until(f, held_reached, &x, 5000));
    assert_string_equal(x.ids[0], "r-1");
    /* Delivered, barrier not answered: still pending. */
    assert_int_equal(pending_count(f), 1);
    release_held(&x, true);
    wait_for_acked(f, c, 1);
    assert_int_equal(pending_count(f), 0);
    s6_results_close(c);
}

static void test_barrier_failure_redelivers(void **state)
{
    bus_fx *f = *state;
    rx x = { .fail_barriers = 1 };
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    add_result(f, "r-2", "ACCEPTED");
    /* Not durable the first time: nothing acked, read again from the
     * pending list, delivered a second time, then acked. */
    wait_for_acked(f, c, 1);
    assert_int_equal(x.calls, 2);
    assert_string_equal(x.ids[0], "r-2");
    assert_string_equal(x.ids[1], "r-2");
    assert_int_equal(x.barriers, 2);
    s6_results_stats st;
    s6_results_get_stats(c, &st);
    assert_int_equal(st.barrier_failures, 1);
    assert_int_equal(pending_count(f), 0);
    s6_results_close(c);
}

static bool idle_pending(void *arg)
{
    bus_reply r;
    /* entries idle for at least 5 ms: XAUTOCLAIM's min idle is 2 ms */
    return bus_cmdv(arg, &r, "XPENDING", "ord:{results}", "s6", "IDLE", "5",
                    "-", "+", "10", NULL) == 0 && r.elements == 1;
}

static void test_crash_before_ack_reclaimed(void **state)
{
    bus_fx *f = *state;
    rx a = { .hold = true };
    s6_results *ca = start(f, &a, "inst-a", 16, 2);
    add_result(f, "r-3", "ACCEPTED");
    wait_for_calls(f, &a, 1);
    assert_true(bus_run_until(f, held_reached, &a, 5000));
    /* The instance dies with the result applied but not acknowledged. */
    s6_results_close(ca);
    assert_int_equal(pending_count(f), 1);
    assert_true(bus_run_until(f, idle_pending, f, 5000));

    rx b = { 0 };
    s6_results *cb = start(f, &b, "inst-b", 16, 2);
    wait_for_acked(f, cb, 1);
    assert_int_equal(b.calls, 1);
    assert_string_equal(b.ids[0], "r-3");
    s6_results_stats st;
    s6_results_get_stats(cb, &st);
    assert_int_equal(st.reclaimed, 1);
    assert_int_equal(pending_count(f), 0);
    /* The dead instance's barrier answers late: nothing is acked by it
     * and nothing reaches its callback any more. */
    release_held(&a, true);
    assert_int_equal(a.calls, 1);
    s6_results_close(cb);
}

static void test_reclaimed_later_when_not_yet_idle(void **state)
{
    bus_fx *f = *state;
    rx a = { .hold = true };
    s6_results *ca = start(f, &a, "inst-a", 16, 300);
    add_result(f, "r-9", "ACCEPTED");
    wait_for_calls(f, &a, 1);
    assert_true(bus_run_until(f, held_reached, &a, 5000));
    s6_results_close(ca);
    /* b starts at once: r-9 is not idle for 300 ms yet, so the start-up
     * reclaim leaves it; the periodic one takes it. */
    rx b = { 0 };
    s6_results *cb = start(f, &b, "inst-b", 16, 300);
    wait_for_acked(f, cb, 1);
    assert_string_equal(b.ids[0], "r-9");
    s6_results_stats st;
    s6_results_get_stats(cb, &st);
    assert_int_equal(st.reclaimed, 1);
    assert_int_equal(pending_count(f), 0);
    release_held(&a, true);
    s6_results_close(cb);
}

static void test_duplicate_passed_on_not_acked_early(void **state)
{
    bus_fx *f = *state;
    rx x = { .hold = true };
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    add_result(f, "r-4", "ACCEPTED");
    add_result(f, "r-4", "ACCEPTED");
    wait_for_calls(f, &x, 2);
    assert_true(bus_run_until(f, held_reached, &x, 5000));
    /* The consumer does not dedup (the engine does), and acknowledges
     * neither before the barrier. */
    assert_string_equal(x.ids[0], "r-4");
    assert_string_equal(x.ids[1], "r-4");
    assert_int_equal(pending_count(f), 2);
    release_held(&x, true);
    wait_for_acked(f, c, 2);
    assert_int_equal(pending_count(f), 0);
    s6_results_close(c);
}

static void test_malformed_dead_lettered(void **state)
{
    bus_fx *f = *state;
    rx x = { .refuse = "r-6" };
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    assert_int_equal(bus_cmdv(f, NULL, "XADD", "ord:{results}", "*",
                              "result_id", "r-5", "kind", "FILLED", "symbol",
                              "BTCUSDT", "market", "FUT", NULL), 0);
    add_result(f, "r-6", "CANCELED");  /* parses, the engine refuses it */
    add_result(f, "r-7", "ACCEPTED");
    wait_for_acked(f, c, 3);
    assert_int_equal(x.calls, 2); /* r-6 and r-7; r-5 never reached it */
    assert_string_equal(x.ids[0], "r-6");
    assert_string_equal(x.ids[1], "r-7");
    assert_int_equal(pending_count(f), 0);
    bus_reply r;
    assert_int_equal(bus_cmdv(f, &r, "XLEN", "ord:{results}:dead", NULL), 0);
    assert_int_equal(r.integer, 2);
    /* The dead letter names the entry, the field, and keeps the fields. */
    assert_int_equal(bus_cmdv(f, &r, "XRANGE", "ord:{results}:dead", "-",
                              "+", "COUNT", "1", NULL), 0);
    assert_int_equal(r.elements, 1);
    s6_results_stats st;
    s6_results_get_stats(c, &st);
    assert_int_equal(st.dead, 2);
    s6_results_close(c);
}

static void test_dead_letter_fields(void **state)
{
    bus_fx *f = *state;
    rx x = { 0 };
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    bus_reply id;
    assert_int_equal(bus_cmdv(f, &id, "XADD", "ord:{results}", "*",
                              "result_id", "r-8", "kind", "FILL", "symbol",
                              "BTCUSDT", "market", "FUT", "side", "BUY",
                              "fill_kind", "ENTRY", "qty", "-1", "price",
                              "100", NULL), 0);
    wait_for_acked(f, c, 1);
    /* XRANGE's entry is [id, [fields]]: read the fields with HGETALL-like
     * flattening through a Lua one-liner. */
    bus_reply r;
    assert_int_equal(bus_cmdv(f, &r, "EVAL",
                              "return redis.call('XRANGE', KEYS[1], '-', '+')[1][2]",
                              "1", "ord:{results}:dead", NULL), 0);
    assert_string_equal(bus_field(&r, "id"), id.str);
    assert_non_null(strstr(bus_field(&r, "error"), "field 'qty': negative"));
    assert_string_equal(bus_field(&r, "consumer"), "inst-a");
    assert_string_equal(bus_field(&r, "result_id"), "r-8");
    assert_string_equal(bus_field(&r, "qty"), "-1");
    assert_int_equal(x.calls, 0);
    s6_results_close(c);
}

static void test_one_batch_at_a_time(void **state)
{
    bus_fx *f = *state;
    rx x = { .hold = true };
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "r-b%d", i);
        add_result(f, id, "ACCEPTED");
    }
    s6_results *c = start(f, &x, "inst-a", 3, 30000);
    wait_for_calls(f, &x, 3);
    assert_true(bus_run_until(f, held_reached, &x, 5000));
    /* While the batch waits for its barrier nothing more is read: run the
     * loop until a round trip on the command connection is done. */
    assert_int_equal(pending_count(f), 3);
    assert_int_equal(x.calls, 3);
    release_held(&x, true);
    wait_for_calls(f, &x, 6);
    assert_true(bus_run_until(f, held_reached, &x, 5000));
    assert_int_equal(x.calls, 6);
    release_held(&x, true);
    wait_for_calls(f, &x, 7);
    assert_true(bus_run_until(f, held_reached, &x, 5000));
    release_held(&x, true);
    wait_for_acked(f, c, 7);
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "r-b%d", i);
        assert_string_equal(x.ids[i], id); /* in stream order */
    }
    assert_int_equal(pending_count(f), 0);
    s6_results_close(c);
}

static void test_held_back_stays_pending_in_order(void **state)
{
    bus_fx *f = *state;
    rx x = { .hold_once = "r-h2" };
    add_result(f, "r-h1", "ACCEPTED");
    add_result(f, "r-h2", "ACCEPTED");
    add_result(f, "r-h3", "ACCEPTED");
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    wait_for_acked(f, c, 3);
    /* r-h1 applied and acknowledged; r-h2 "not now": it and r-h3 wait,
     * then come again in order. */
    assert_int_equal(x.calls, 4);
    assert_string_equal(x.ids[0], "r-h1");
    assert_string_equal(x.ids[1], "r-h2");
    assert_string_equal(x.ids[2], "r-h2");
    assert_string_equal(x.ids[3], "r-h3");
    s6_results_stats st;
    s6_results_get_stats(c, &st);
    assert_int_equal(st.held_back, 1);
    assert_int_equal(st.dead, 0);
    assert_int_equal(pending_count(f), 0);
    s6_results_close(c);
}

static bool xadd_ok(void *arg)
{
    bus_fx *f = arg;
    return bus_cmdv(f, NULL, "XADD", "ord:{results}", "*", "result_id",
                    "r-after", "kind", "ACCEPTED", "symbol", "BTCUSDT",
                    "market", "FUT", NULL) == 0;
}

static void test_redis_restart_recreates_the_group(void **state)
{
    if (bus_fx_on_cluster())
        skip(); /* one server stopped: redis_cluster covers node faults */
    bus_fx *f = *state;
    rx x = { 0 };
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    add_result(f, "r-before", "ACCEPTED");
    wait_for_acked(f, c, 1);
    /* No persistence: the stream and the group are gone after this. */
    assert_int_equal(s6test_redis_restart(&f->srv), 0);
    assert_true(bus_run_until(f, xadd_ok, f, 10000));
    wait_for_calls(f, &x, 2);
    assert_string_equal(x.ids[1], "r-after");
    wait_for_acked(f, c, 2);
    assert_int_equal(pending_count(f), 0);
    s6_results_close(c);
}

static void test_close_from_inside_the_callback(void **state)
{
    bus_fx *f = *state;
    rx x = { 0 };
    add_result(f, "r-c1", "ACCEPTED");
    add_result(f, "r-c2", "ACCEPTED");
    s6_results *c = start(f, &x, "inst-a", 16, 30000);
    x.close_in_cb = &c;
    wait_for_calls(f, &x, 1);
    /* Nothing more delivered, nothing acknowledged, no barrier asked. */
    assert_int_equal(pending_count(f), 2);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.barriers, 0);
}

static void test_start_refuses_bad_options(void **state)
{
    bus_fx *f = *state;
    rx x = { 0 };
    s6_results_opts o = { .url = f->srv.url, .consumer = "",
                          .on_result = on_result, .result_ud = &x,
                          .barrier = barrier, .barrier_ud = &x };
    s6_results *c = NULL;
    char err[256] = "";
    assert_int_equal(s6_results_start(&f->loop, f->cmd, &o, &c, err,
                                      sizeof err), S6_EINVAL);
    assert_non_null(strstr(err, "consumer"));
    o.consumer = "inst-a";
    o.barrier = NULL;
    assert_int_equal(s6_results_start(&f->loop, f->cmd, &o, &c, err,
                                      sizeof err), S6_EINVAL);
    assert_non_null(strstr(err, "barrier"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ack_only_after_barrier, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_barrier_failure_redelivers, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_crash_before_ack_reclaimed, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_reclaimed_later_when_not_yet_idle, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_duplicate_passed_on_not_acked_early, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_malformed_dead_lettered, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_dead_letter_fields, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_one_batch_at_a_time, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_held_back_stays_pending_in_order, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_redis_restart_recreates_the_group, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_close_from_inside_the_callback, bus_fx_setup_state, bus_fx_teardown_state),
        cmocka_unit_test_setup_teardown(test_start_refuses_bad_options, bus_fx_setup_state, bus_fx_teardown_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
