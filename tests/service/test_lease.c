/*
 * test_lease.c — one writer: a second s6-position on the same Redis waits
 * for the lease (says so in its log, /ready 503, sends nothing) while the
 * first runs and moves a stop; the first is killed (SIGKILL, no release),
 * and once its lease lapses the second takes over and manages the
 * position: its next lock-in step moves the stop.
 *
 * A lost lease pauses (docs/operations.md): when another id overwrites
 * the key, the running service logs the loss, stops acting and stays up
 * (GET /health says the lease is not held, /ready answers 503, the process
 * does not exit); once the key is free again it takes the lease back,
 * reloads the book, runs the start-up chain again, and a new entry fill
 * gets its stop at S4.
 */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "fixture.h"

static const char *const POS = "l1";
static const char *const SYM = "BTCUSDT";

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.60, "entry", 1));
}

/* Exactly one resting stop for the position, at or above *ud. */
static bool one_stop_above(svc_fx *f, void *ud)
{
    s6_s4_peer_order o;
    return svc_resting_stop(f, POS, &o) == 1 &&
           atof(o.stop_price) >= *(double *)ud;
}

static long ready_of(proc *p, int port)
{
    json_t *doc = NULL;
    pump_in_background(p);
    long st = http_get_json(port, "/ready", &doc);
    pump_stop(p);
    json_decref(doc);
    return st;
}

/* A running service with one position protected by its first stop, which
 * S4 also lists, so a later reconciliation keeps it. */
static void start_protected(svc_fx *f)
{
    svc_fx_setup(f, edit_config);
    svc_start(f);
    svc_entry_fill(f, "r-1", POS, SYM, "BUY", "0.010", "60000", "58000");
    svc_mark(f, SYM, 60000);
    svc_await(f, one_stop_above, &(double){ 58000 }, "the first stop");
    assert_int_equal(s6_s4_peer_serve(
                         f->peer, "/positions", 200,
                         "{\"positions\":[{\"symbol\":\"BTCUSDT\",\"market\":"
                         "\"FUT\",\"side\":\"LONG\",\"qty\":\"0.010\","
                         "\"entry_price\":\"60000\"}]}"),
                     0);
}

static void second_instance_takes_over(void **state)
{
    (void)state;
    svc_fx f;
    start_protected(&f);

    /* The second instance: waiting, not ready, nothing sent. */
    proc second;
    int port2 = free_port();
    svc_spawn(&f, &second, port2, "s6-test-2");
    json_decref(await_log(&second, "waiting for the lease"));
    assert_int_equal(ready_of(&second, port2), 503);

    /* The first still acts alone: lock-in step 1 moves its stop. */
    pump_in_background(&second);
    svc_mark(&f, SYM, 60700);
    svc_await(&f, one_stop_above, &(double){ 60000.1 }, "the step 1 stop");
    pump_stop(&second);
    assert_int_equal((int)s6_s4_peer_count(f.peer, S6_S4P_REQUESTS), 2);
    assert_int_equal(ready_of(&second, port2), 503);
    assert_null(strstr(second.err.data ? second.err.data : "",
                       "start-up done"));

    /* The first dies without releasing: the second waits out the TTL,
     * then loads the book, reconciles, and manages. */
    svc_kill(&f);
    f.p = second;
    f.port = port2;
    f.running = true;
    json_decref(svc_await_log(&f, "lease acquired: this instance acts"));
    json_decref(svc_await_log(&f, "start-up done: managing positions"));
    assert_int_equal(ready_of(&f.p, f.port), 200);
    json_t *p = svc_position(&f, POS);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "ACTIVE");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(p, "stop"), "step")), 1);
    json_decref(p);
    size_t before = s6_s4_peer_count(f.peer, S6_S4P_ORDERS);
    assert_int_equal(svc_resting_stops(&f, POS), 1);

    /* Lock-in step 2 now comes from the second instance, with a key the
     * first never used. */
    svc_mark(&f, SYM, 61300);
    svc_await(&f, one_stop_above, &(double){ 60500 }, "the step 2 stop");
    assert_int_equal((int)s6_s4_peer_count(f.peer, S6_S4P_ORDERS),
                     (int)before + 1);
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f.peer, i, &o) == 0; i++)
        assert_int_equal(o.requests, 1); /* no key sent twice */
    svc_stop(&f);
    svc_fx_teardown(&f);
}

static bool pos_has_stop(svc_fx *f, void *ud)
{
    return svc_resting_stops(f, ud) == 1;
}

/* GET /health: 200, "degraded", the lease check not ok. */
static void assert_health_without_lease(svc_fx *f)
{
    json_t *doc = NULL;
    pump_in_background(&f->p);
    long st = http_get_json(f->port, "/health", &doc);
    pump_stop(&f->p);
    assert_int_equal(st, 200);
    json_t *lease = json_object_get(json_object_get(doc, "checks"), "lease");
    assert_non_null(lease);
    assert_false(json_is_true(json_object_get(lease, "ok")));
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "degraded");
    json_decref(doc);
}

static void lost_lease_pauses_then_resumes(void **state)
{
    (void)state;
    svc_fx f;
    start_protected(&f);

    /* Another instance's id in the key: the next renewal finds it. */
    freeReplyObject(svc_redis(&f, "SET s6:lease intruder PX 60000"));
    json_decref(svc_await_log(&f, "lease lost: paused until it is "
                                  "acquired again"));
    assert_health_without_lease(&f);
    assert_int_equal(ready_of(&f.p, f.port), 503);
    assert_int_equal(waitpid(f.p.pid, NULL, WNOHANG), 0); /* still running */

    /* The key is free: the lease is taken back and the whole start-up
     * chain runs again. */
    freeReplyObject(svc_redis(&f, "DEL s6:lease"));
    json_decref(svc_await_log(&f, "lease acquired: this instance acts"));
    json_decref(svc_await_log(&f, "positions restored"));
    json_decref(svc_await_log(&f, "start-up done: managing positions"));
    assert_int_equal(ready_of(&f.p, f.port), 200);
    json_t *p = svc_position(&f, POS);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "ACTIVE");
    json_decref(p);
    assert_int_equal(svc_resting_stops(&f, POS), 1);

    /* It acts again: a new entry gets its stop at S4. */
    svc_entry_fill(&f, "r-2", "l2", "ETHUSDT", "BUY", "0.100", "3000",
                   "2900");
    svc_mark(&f, "ETHUSDT", 3000);
    svc_await(&f, pos_has_stop, "l2", "the new entry's stop");
    s6_s4_peer_order o;
    for (size_t i = 0; s6_s4_peer_order_at(f.peer, i, &o) == 0; i++)
        assert_int_equal(o.requests, 1); /* no key sent twice */
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_instance_takes_over),
        cmocka_unit_test(lost_lease_pauses_then_resumes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
