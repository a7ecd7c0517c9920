/*
 * The treasury's decision alone (src/treasury/decide.c): each guard, in
 * its order, with the numbers of the default configuration:
 *   min_free_fut 500, spot_buffer 100, max_per_transfer 1000,
 *   max_per_day 5000, min_spot_retained 1000, profit_ceiling 10000,
 *   balances valid for 60 s; margin_call threshold 0.8, interval 60 s;
 *   profit_taking threshold 100.
 * The base case: free SPOT 5000, free FUT 200 (a need of 300), fresh.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "treasury/internal.h"

#define NOW 1764110000.0

typedef struct fx {
    s6_treasury_cfg cfg;
    s6_tr_input in;
    s6_tr_decision out;
} fx;

static void fx_init(fx *x, s6_treasury_trigger trig)
{
    memset(x, 0, sizeof *x);
    x->cfg = (s6_treasury_cfg){
        .enabled = true, .min_free_fut = 500, .spot_buffer = 100,
        .max_per_transfer = 1000, .max_per_day = 5000,
        .min_spot_retained = 1000, .profit_ceiling = 10000,
        .interval_s = 300, .approval_poll_s = 30, .balances_max_age_s = 60};
    for (int i = 0; i < S6_TT_COUNT; i++)
        x->cfg.trig[i] = (s6_treasury_trigger_cfg){true, 60, 0};
    x->cfg.trig[S6_TT_MARGIN_CALL].threshold = 0.8;
    x->cfg.trig[S6_TT_PROFIT_TAKING].threshold = 100;
    x->in = (s6_tr_input){.trigger = trig, .reported = NAN,
                          .request_enabled = true, .have_balances = true,
                          .bal = {5000, 200, NOW - 5}, .now = NOW};
}

static void run(fx *x) { s6_tr_decide(&x->cfg, &x->in, &x->out); }

#define assert_decided(x, st, text)                                        \
    do {                                                                   \
        run(x);                                                            \
        if ((x)->out.status != (st) || !strstr((x)->out.reason, (text)))   \
            fail_msg("got %s \"%s\", want %s with \"%s\"",                 \
                     s6_transfer_status_name((x)->out.status),             \
                     (x)->out.reason, s6_transfer_status_name(st), (text)); \
    } while (0)

static void need_is_transferred(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_SCHEDULED);
    assert_decided(&x, S6_TRANSFER_PENDING, "triggered by SCHEDULED");
    assert_true(x.out.to_fut);
    assert_true(x.out.amount == 300);
}

static void need_zero_is_skipped(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.bal.fut_free = 500;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "no need");
    assert_true(x.out.amount == 0);
}

static void spot_too_low_is_rejected(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.bal.spot_free = 399.99; /* 300 + 100 is needed */
    assert_decided(&x, S6_TRANSFER_REJECTED, "spot too low");
    x.in.bal.spot_free = 1400; /* enough, and 400 above the retained 1000 */
    assert_decided(&x, S6_TRANSFER_PENDING, "SCHEDULED");
    assert_true(x.out.amount == 300);
}

static void an_asked_amount_replaces_the_need(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.in.bal.fut_free = 900; /* no need of its own */
    x.in.requested = 250.129;
    assert_decided(&x, S6_TRANSFER_PENDING, "MARGIN_CALL");
    assert_true(x.out.amount == 250.12); /* down to the cent */
}

static void caps_cut_the_amount(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_RISK_LIMIT);
    x.in.requested = 2500;
    assert_decided(&x, S6_TRANSFER_PENDING, "capped by max_per_transfer");
    assert_true(x.out.amount == 1000);

    fx_init(&x, S6_TT_RISK_LIMIT);
    x.in.day_total = 4850;
    assert_decided(&x, S6_TRANSFER_PENDING, "capped by max_per_day");
    assert_true(x.out.amount == 150);

    fx_init(&x, S6_TT_RISK_LIMIT);
    x.in.bal.spot_free = 1200; /* 1200 - 1000 retained = 200 */
    assert_decided(&x, S6_TRANSFER_PENDING, "capped by min_spot_retained");
    assert_true(x.out.amount == 200);
}

static void a_cap_that_leaves_nothing_rejects(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.day_total = 5000;
    assert_decided(&x, S6_TRANSFER_REJECTED, "max_per_day leaves nothing");
    fx_init(&x, S6_TT_SCHEDULED);
    x.cfg.min_spot_retained = 4999.995;
    assert_decided(&x, S6_TRANSFER_REJECTED, "min_spot_retained");
}

static void disabled_triggers_are_skipped(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.cfg.trig[S6_TT_MARGIN_CALL].enabled = false;
    assert_decided(&x, S6_TRANSFER_SKIPPED,
                   "treasury.triggers.margin_call.enabled");
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.cfg.enabled = false;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "treasury is disabled");
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.in.request_enabled = false;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "enabled=false");
}

static void min_interval_per_trigger(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.in.last_started = NOW - 59;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "minimum is 60 s");
    x.in.last_started = NOW - 60;
    assert_decided(&x, S6_TRANSFER_PENDING, "MARGIN_CALL");
}

static void threshold_per_trigger(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.in.reported = 0.79;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "under the MARGIN_CALL threshold");
    x.in.reported = 0.8;
    assert_decided(&x, S6_TRANSFER_PENDING, "MARGIN_CALL");
    /* a scheduled run has no ratio to compare */
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.reported = 0.1;
    assert_decided(&x, S6_TRANSFER_PENDING, "SCHEDULED");
}

static void stale_or_missing_balances_reject(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.bal.ts = NOW - 61;
    assert_decided(&x, S6_TRANSFER_REJECTED, "stale: 61 s old");
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.have_balances = false;
    x.in.balances_why = "treasury:balances has no ts";
    assert_decided(&x, S6_TRANSFER_REJECTED, "has no ts");
    fx_init(&x, S6_TT_SCHEDULED);
    x.in.bal.spot_free = NAN;
    assert_decided(&x, S6_TRANSFER_REJECTED, "not a finite number");
}

static void profit_taking_sweeps_above_the_ceiling(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_PROFIT_TAKING);
    x.in.bal.fut_free = 10600;
    assert_decided(&x, S6_TRANSFER_PENDING, "PROFIT_TAKING");
    assert_false(x.out.to_fut);
    assert_true(x.out.amount == 600);
    x.in.requested = 250; /* less than the excess: what was asked */
    assert_decided(&x, S6_TRANSFER_PENDING, "PROFIT_TAKING");
    assert_true(x.out.amount == 250);
    x.in.requested = 0;
    x.in.bal.fut_free = 10099;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "under the threshold 100.00");
    x.in.bal.fut_free = 9000;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "nothing to sweep");
    /* the spot guards do not hold a sweep back */
    x.in.bal.fut_free = 12000;
    x.in.bal.spot_free = 0;
    assert_decided(&x, S6_TRANSFER_PENDING, "capped by max_per_transfer");
    assert_true(x.out.amount == 1000);
}

static void the_first_refusal_names_the_reason(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, S6_TT_MARGIN_CALL);
    x.cfg.trig[S6_TT_MARGIN_CALL].enabled = false;
    x.in.have_balances = false;
    x.in.bal.fut_free = 900;
    assert_decided(&x, S6_TRANSFER_SKIPPED, "disabled");
}

/* The shipped config/s6.json, as the treasury reads it. */
static void the_config_maps_onto_the_treasury(void **state)
{
    (void)state;
    char path[1024];
    const char *src = getenv("S6_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/config/s6.json", src ? src : ".");
    s6_config c;
    s6_config_error e;
    if (s6_config_load_file(path, &c, &e) != 0)
        fail_msg("%s", e.message);
    s6_treasury_cfg t;
    s6_treasury_cfg_from_config(&t, &c);
    assert_true(t.enabled && !t.full_auto);
    assert_true(t.min_free_fut == 500 && t.spot_buffer == 100);
    assert_true(t.max_per_transfer == 1000 && t.max_per_day == 5000);
    assert_true(t.min_spot_retained == 1000 && t.profit_ceiling == 10000);
    assert_true(t.interval_s == 300 && t.approval_poll_s == 30);
    assert_true(t.balances_max_age_s == 60);
    assert_true(t.trig[S6_TT_MARGIN_CALL].threshold == 0.8);
    assert_true(t.trig[S6_TT_RISK_LIMIT].min_interval_s == 60);
    assert_false(t.trig[S6_TT_PROFIT_TAKING].enabled);
    assert_true(t.trig[S6_TT_INSUFFICIENT_BALANCE].min_interval_s == 30);
    assert_string_equal(t.s1_url, "http://127.0.0.1:8081");
    assert_string_equal(t.s12_url, "http://127.0.0.1:8092");
    assert_int_equal(t.retry_attempts, c.orders.retry_max_attempts + 1);
    assert_int_equal(t.timeout_ms, c.services.request_timeout_ms);
    s6_config_free(&c);
}

static void trigger_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < S6_TT_COUNT; i++) {
        s6_treasury_trigger back;
        const char *name = s6_treasury_trigger_name((s6_treasury_trigger)i);
        assert_non_null(name);
        assert_int_equal(s6_treasury_trigger_parse(name, &back), 0);
        assert_int_equal(back, i);
    }
    s6_treasury_trigger x;
    assert_null(s6_treasury_trigger_name(S6_TT_COUNT));
    assert_int_equal(s6_treasury_trigger_parse("MANUAL", &x), -1);
    assert_int_equal(s6_treasury_trigger_parse(NULL, &x), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(need_is_transferred),
        cmocka_unit_test(need_zero_is_skipped),
        cmocka_unit_test(spot_too_low_is_rejected),
        cmocka_unit_test(an_asked_amount_replaces_the_need),
        cmocka_unit_test(caps_cut_the_amount),
        cmocka_unit_test(a_cap_that_leaves_nothing_rejects),
        cmocka_unit_test(disabled_triggers_are_skipped),
        cmocka_unit_test(min_interval_per_trigger),
        cmocka_unit_test(threshold_per_trigger),
        cmocka_unit_test(stale_or_missing_balances_reject),
        cmocka_unit_test(profit_taking_sweeps_above_the_ceiling),
        cmocka_unit_test(the_first_refusal_names_the_reason),
        cmocka_unit_test(the_config_maps_onto_the_treasury),
        cmocka_unit_test(trigger_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
