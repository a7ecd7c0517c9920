/*
 * test_durable_router.c — write-ahead for orders: nothing reaches the real
 * router before the state barrier that follows the engine's call says
 * durable; order is kept; a failed barrier fails the orders (retried later
 * with their keys); close fails what waits, nothing after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "venue/durable.h"

typedef struct world {
    char trace[512];          /* what happened, in order */
    void (*held_done)(void *, bool);
    void *held_ud;
    int outcomes[8];
    char outcome_ids[8][40];
    int n_outcomes;
} world;

static void note(world *w, const char *what)
{
    strncat(w->trace, what, sizeof w->trace - strlen(w->trace) - 1);
    strncat(w->trace, " ", sizeof w->trace - strlen(w->trace) - 1);
}

static int inner_submit(void *ud, const s6_order *o, s6_route_done done,
                        void *cb_ud)
{
    (void)done;
    (void)cb_ud;
    char buf[64];
    snprintf(buf, sizeof buf, "send:%s", o->intent_id);
    note(ud, buf);
    return 0;
}

static int inner_cancel(void *ud, const char *intent_id, const char *symbol,
                        int market, s6_route_done done, void *cb_ud)
{
    (void)symbol;
    (void)market;
    (void)done;
    (void)cb_ud;
    char buf[64];
    snprintf(buf, sizeof buf, "cancel:%s", intent_id);
    note(ud, buf);
    return 0;
}

/* The barrier is held until the test answers it. */
static int barrier(void *ud, void (*done)(void *, bool), void *cb_ud)
{
    world *w = ud;
    note(w, "barrier");
    w->held_done = done;
    w->held_ud = cb_ud;
    return 0;
}

static void answer(world *w, bool ok)
{
    assert_non_null(w->held_done);
    void (*done)(void *, bool) = w->held_done;
    w->held_done = NULL;
    done(w->held_ud, ok);
}

static void on_done(void *cb_ud, const char *intent_id, int outcome,
                    const char *detail)
{
    (void)detail;
    world *w = cb_ud;
    snprintf(w->outcome_ids[w->n_outcomes], 40, "%s", intent_id);
    w->outcomes[w->n_outcomes++] = outcome;
}

typedef struct fx {
    uv_loop_t loop;
    world w;
    s6_durable_router *d;
    s6_router r;
} fx;

static int setup(void **state)
{
    static fx f;
    memset(&f, 0, sizeof f);
    uv_loop_init(&f.loop);
    s6_router inner = { .submit = inner_submit, .cancel = inner_cancel,
                        .ud = &f.w };
    s6_state_edge st = { .barrier = barrier, .ud = &f.w };
    assert_int_equal(s6_durable_router_new(&f.loop, &inner, &st, NULL, &f.d),
                     0);
    f.r = s6_durable_router_edge(f.d);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    s6_durable_router_close(f->d);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    return 0;
}

static void submit(fx *f, const char *intent)
{
    s6_order o = { .type = S6_ORDER_STOP_MARKET };
    snprintf(o.intent_id, sizeof o.intent_id, "%s", intent);
    assert_int_equal(f->r.submit(f->r.ud, &o, on_done, &f->w), 0);
}

static void sent_after_the_state_is_durable(void **state)
{
    fx *f = *state;
    /* The engine's call: an order, a cancel, then the save of the record
     * that names them (later in the same call). */
    submit(f, "p1-sl-4");
    assert_int_equal(f->r.cancel(f->r.ud, "p1-sl-2", "BTCUSDT", 0, on_done,
                                 &f->w), 0);
    note(&f->w, "save");
    assert_string_equal(f->w.trace, "save ");   /* nothing left yet */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_string_equal(f->w.trace, "save barrier ");
    answer(&f->w, true);
    assert_string_equal(f->w.trace,
                        "save barrier send:p1-sl-4 cancel:p1-sl-2 ");
    assert_int_equal(f->w.n_outcomes, 0); /* the real router answers */
}

static void a_failed_barrier_fails_the_orders(void **state)
{
    fx *f = *state;
    submit(f, "p1-tp-7");
    uv_run(&f->loop, UV_RUN_NOWAIT);
    answer(&f->w, false);
    assert_string_equal(f->w.trace, "barrier ");
    assert_int_equal(f->w.n_outcomes, 1);
    assert_int_equal(f->w.outcomes[0], S6_ROUTE_FAILED);
    assert_string_equal(f->w.outcome_ids[0], "p1-tp-7");
}

static void close_fails_what_waits(void **state)
{
    fx *f = *state;
    submit(f, "p1-sl-9");
    uv_run(&f->loop, UV_RUN_NOWAIT);      /* barrier out for sl-9 */
    submit(f, "p1-sl-10");                /* waiting for the next one */
    s6_durable_router_close(f->d);
    /* Both end inside close (the one whose barrier is out first): the
     * service frees its engine right after a close on a lost lease. */
    assert_int_equal(f->w.n_outcomes, 2);
    assert_string_equal(f->w.outcome_ids[0], "p1-sl-9");
    assert_string_equal(f->w.outcome_ids[1], "p1-sl-10");
    assert_int_equal(f->w.outcomes[0], S6_ROUTE_FAILED);
    assert_int_equal(f->w.outcomes[1], S6_ROUTE_FAILED);
    answer(&f->w, true);                  /* too late: nothing more */
    assert_int_equal(f->w.n_outcomes, 2);
    assert_null(strstr(f->w.trace, "send:"));
    s6_order o = { .type = S6_ORDER_MARKET };
    snprintf(o.intent_id, sizeof o.intent_id, "late");
    assert_int_not_equal(f->r.submit(f->r.ud, &o, on_done, &f->w), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sent_after_the_state_is_durable,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_barrier_fails_the_orders,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(close_fails_what_waits, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
