/*
 * test_stop_reject.c — S4 rejects the new stop of a lock-in move: the old
 * stop stays resting, STOP_REJECTED is appended, and a later evaluation
 * asks again with a NEW key, which S4 takes; the old stop goes only then.
 * At no poll is the position without a resting stop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "util/exact.h"

static const char *const POS = "r1";
static const char *const SYM = "BTCUSDT";

static void edit_config(json_t *cfg)
{
    svc_edit_common(cfg);
    svc_set_param(cfg, "tp_ladder", "steps",
                  json_pack("[{s:f, s:i}]", "roe", 0.60, "entry", 1));
}

typedef struct watch {
    double min_price; /* the resting stop wanted: at or above */
    const char *not_intent;
    bool armed;       /* the first stop rested: from then on never none */
} watch;

/* Every poll: once armed, at least one resting stop, whatever else is
 * going on.  Done when exactly one rests at or above min_price under a
 * key other than not_intent. */
static bool protected_until(svc_fx *f, void *ud)
{
    watch *w = ud;
    s6_s4_peer_order o;
    int n = svc_resting_stop(f, POS, &o);
    if (w->armed && n == 0) {
        svc_print_log(f);
        fail_msg("the position had no resting stop");
    }
    if (n > 0)
        w->armed = true;
    return n == 1 && atof(o.stop_price) >= w->min_price &&
           (w->not_intent == NULL || strcmp(o.intent_id, w->not_intent) != 0);
}

static bool stop_rejected(svc_fx *f, void *ud)
{
    watch *w = ud;
    (void)protected_until(f, w);
    return svc_count_events(f, SYM, POS, "STOP_REJECTED") > 0;
}

static void rejected_stop_compensated(void **state)
{
    (void)state;
    svc_fx f;
    svc_fx_setup(&f, edit_config);
    svc_start(&f);
    svc_entry_fill(&f, "r-1", POS, SYM, "BUY", "0.010", "60000", "58000");
    svc_mark(&f, SYM, 60000);
    watch w = { .min_price = 58000 };
    svc_await(&f, protected_until, &w, "the first stop");
    char first[40];
    svc_request_intent(&f, 0, first, sizeof first);

    /* S4 refuses the lock-in step's new stop, and every order until the
     * rule is lifted: a protection pass or tick that asks again meanwhile
     * is refused too, so what is checked below cannot move under it. */
    s6_s4_peer_rule rej = { .mode = S6_S4P_REJECT, .status = 400,
                            .code = "would_trigger", .times = 0 };
    assert_int_equal(s6_s4_peer_rule_path(f.peer, "/orders", &rej), 0);
    svc_mark(&f, SYM, 60700);
    svc_await(&f, stop_rejected, &w, "STOP_REJECTED");
    char refused_key[40];
    svc_request_intent(&f, 1, refused_key, sizeof refused_key);
    assert_string_not_equal(refused_key, first);
    s6_s4_peer_order o;
    assert_int_equal(s6_s4_peer_find_order(f.peer, refused_key, &o),
                     -ENOENT);
    /* the old stop still rests, nothing was cancelled */
    assert_int_equal(s6_s4_peer_find_order(f.peer, first, &o), 0);
    assert_string_equal(o.state, "NEW");
    assert_int_equal((int)s6_s4_peer_count(f.peer, S6_S4P_CANCELS), 0);
    json_t *p = svc_position(&f, POS);
    json_t *stop = json_object_get(p, "stop");
    assert_true(s6_exact_value(json_object_get(stop, "price")) == 58000.0);
    assert_true(json_is_true(json_object_get(stop, "confirmed")));
    json_decref(p);

    /* S4 takes orders again; a later evaluation (the next price or tick)
     * asks again under a new key, and the old stop is cancelled after. */
    assert_int_equal(s6_s4_peer_rule_path(f.peer, "/orders", NULL), 0);
    svc_mark(&f, SYM, 60710);
    w.min_price = 60000.1;
    w.not_intent = first;
    svc_await(&f, protected_until, &w, "the step 1 stop under a new key");
    char again[40];
    size_t n = s6_s4_peer_count(f.peer, S6_S4P_REQUESTS);
    svc_request_intent(&f, n - 1, again, sizeof again);
    assert_string_not_equal(again, refused_key);
    assert_string_not_equal(again, first);
    assert_int_equal(s6_s4_peer_find_order(f.peer, again, &o), 0);
    assert_string_equal(o.state, "NEW");
    assert_int_equal(s6_s4_peer_find_order(f.peer, first, &o), 0);
    assert_string_equal(o.state, "CANCELED");
    /* one refusal, or more if S4 was asked again while it refused */
    assert_true(svc_await_events(&f, SYM, POS, "STOP_REJECTED", 1) >= 1);
    svc_stop(&f);
    svc_fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejected_stop_compensated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
