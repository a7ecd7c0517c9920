/*
 * The host's risk limits on positions S6 did not open: an entry above
 * the size or leverage limits is announced (RISK, s6_risk_alerts_total
 * {entry_limit}) and, when risk.enforce_entry_limits says so, reduced to
 * the limit; the daily loss alert fires once per UTC day; add-ons respect
 * the concurrency quota; RISK_LIMIT goes to the treasury when the budget
 * use crosses its threshold, once per crossing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"

#define NO_TP "{\"tp_ladder\":{\"base\":{\"steps\":[{\"roe\":5,\"entry\":1}]}}}"

static int entry_on(fx *f, const char *symbol, double qty, double price,
                    double leverage)
{
    s6_order_result r = {.kind = S6_RES_FILL, .market = S6_MARKET_FUT,
                         .ts = f->now, .leverage = leverage};
    snprintf(r.result_id, sizeof r.result_id, "r-%s-%u", symbol, ++f->rid);
    snprintf(r.intent_id, sizeof r.intent_id, "up-%u", f->rid);
    snprintf(r.symbol, sizeof r.symbol, "%s", symbol);
    r.fill = (s6_fill){.kind = S6_FILL_ENTRY, .side = 1, .qty = qty,
                       .price = price, .ts = f->now};
    char err[160] = "";
    int rc = s6_engine_on_result(f->e, &r, err, sizeof err);
    if (rc == 0 && f->pos_id[0] == '\0')
        fx_follow(f);
    return rc;
}

/* Alert only: the position is not S6's to refuse. */
static void entry_above_the_limits_is_announced(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    /* 3 BTC at 50000: 150000 over the 100000 notional; 25x over 20x */
    assert_int_equal(entry_on(&f, "BTCUSDT", 3, 50000, 25), 0);
    assert_int_equal(fx_events(&f, "RISK"), 2);
    assert_true(fx_counter(&f, "s6_risk_alerts_total", "entry_limit", NULL) ==
                2);
    const char *json = fx_last_event(&f, "RISK");
    assert_non_null(strstr(json, "\"limit\":\"max_leverage\""));
    assert_non_null(strstr(json, "\"enforced\":false"));
    assert_true(fx_num(&f, "qty") == 3);
    assert_int_equal(fx_count(&f, S6_PURPOSE_CLOSE, false), 0);
    /* a position inside the limits raises nothing */
    fx_teardown(&f);
    fx_setup(&f, NO_TP);
    assert_int_equal(entry_on(&f, "BTCUSDT", 1, 50000, 10), 0);
    assert_int_equal(fx_events(&f, "RISK"), 0);
    fx_teardown(&f);
}

/* risk.enforce_entry_limits: the excess goes out reduce-only, the
 * position stays open at the limit. */
static void enforced_entry_is_reduced_to_the_limit(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    f.cfg.risk.enforce_entry_limits = true;
    assert_int_equal(fx_price(&f, 50000), 0);
    assert_int_equal(entry_on(&f, "BTCUSDT", 3, 50000, 10), 0);
    assert_int_equal(fx_events(&f, "RISK"), 1);
    assert_int_equal(fx_events(&f, "RISK_REDUCE"), 1);
    fx_call *c = fx_last(&f, S6_PURPOSE_CLOSE, false);
    assert_non_null(c);
    assert_true(c->o.reduce_only);
    assert_int_equal(c->o.side, -1);
    assert_string_equal(c->o.qty_str, "1.000");
    fx_answer(&f, c, S6_ROUTE_OK);
    assert_int_equal(fx_fill(&f, c->o.intent_id, S6_FILL_REDUCE, -1, 1, 50000,
                             0, 0), 0);
    assert_true(fabs(fx_num(&f, "qty") - 2) < 1e-9);
    json_t *p = fx_pos(&f);
    assert_string_equal(json_string_value(json_object_get(p, "state")),
                        "ACTIVE");
    json_decref(p);
    fx_teardown(&f);
}

static void daily_loss_alert_once_per_day(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    /* 1 BTC stopped 700 lower: -700, under the 1000 limit */
    assert_int_equal(entry_on(&f, "BTCUSDT", 1, 50000, 10), 0);
    assert_int_equal(fx_fill(&f, "", S6_FILL_STOP, -1, 1, 49300, 0, 0), 0);
    assert_int_equal(fx_events(&f, "DAILY_LOSS"), 0);
    /* another -700 the same day crosses it: once */
    f.pos_id[0] = '\0';
    assert_int_equal(entry_on(&f, "BTCUSDT", 1, 50000, 10), 0);
    assert_int_equal(fx_fill(&f, "", S6_FILL_STOP, -1, 1, 49300, 0, 0), 0);
    assert_int_equal(fx_events(&f, "DAILY_LOSS"), 1);
    assert_true(fx_counter(&f, "s6_risk_alerts_total", "daily_loss", NULL) ==
                1);
    f.pos_id[0] = '\0';
    assert_int_equal(entry_on(&f, "BTCUSDT", 1, 50000, 10), 0);
    assert_int_equal(fx_fill(&f, "", S6_FILL_STOP, -1, 1, 49300, 0, 0), 0);
    assert_int_equal(fx_events(&f, "DAILY_LOSS"), 1);
    /* the next UTC day starts from zero and may alert again */
    f.now += 86400;
    for (int i = 0; i < 2; i++) {
        f.pos_id[0] = '\0';
        assert_int_equal(entry_on(&f, "BTCUSDT", 1, 50000, 10), 0);
        assert_int_equal(fx_fill(&f, "", S6_FILL_STOP, -1, 1, 49300, 0, 0), 0);
    }
    assert_int_equal(fx_events(&f, "DAILY_LOSS"), 2);
    fx_teardown(&f);
}

static int manual_add(fx *f, s6_api_error *err)
{
    s6_manage_req q = {.action = S6_MANAGE_ADD, .qty = 0.01, .market = -1};
    snprintf(q.position_id, sizeof q.position_id, "%s", f->pos_id);
    json_t *out = NULL;
    int rc = s6_engine_manage(f->e, &q, &out, err);
    json_decref(out);
    return rc;
}

/* Today's realized PnL survives a restart: a crash loop does not give the
 * desk its daily loss limit again.  Two -700 losses cross the 1000 limit;
 * after a restart an add is still refused and a third loss does not alert
 * again; a restart on the next UTC day starts from zero. */
static void daily_loss_survives_a_restart(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    for (int i = 0; i < 2; i++) {
        f.pos_id[0] = '\0';
        assert_int_equal(entry_on(&f, "BTCUSDT", 1, 50000, 10), 0);
        assert_int_equal(fx_fill(&f, "", S6_FILL_STOP, -1, 1, 49300, 0, 0), 0);
    }
    assert_int_equal(fx_events(&f, "DAILY_LOSS"), 1);
    f.pos_id[0] = '\0';
    assert_int_equal(entry_on(&f, "BTCUSDT", 0.1, 50000, 10), 0);
    fx_answer_all(&f, S6_ROUTE_OK);
    double gauge = fx_realized_today(&f);
    assert_true(gauge < -1000);
    fx_restart(&f);
    assert_true(fx_realized_today(&f) == gauge); /* the market's share too */
    assert_int_equal(fx_price(&f, 50000), 0);
    f.now += 400; /* past the add interval */
    assert_int_equal(fx_price(&f, 50000), 0);
    s6_api_error err;
    assert_true(manual_add(&f, &err) < 0);
    assert_non_null(strstr(err.message, "daily_loss"));
    /* a third loss after the restart: the day's alert already fired */
    assert_int_equal(fx_fill(&f, "", S6_FILL_STOP, -1, 0.1, 49300, 0, 0), 0);
    assert_int_equal(fx_events(&f, "DAILY_LOSS"), 1);
    /* the next UTC day: the persisted figure is yesterday's */
    f.now += 86400;
    fx_restart(&f);
    f.pos_id[0] = '\0';
    assert_int_equal(entry_on(&f, "BTCUSDT", 0.1, 50000, 10), 0);
    fx_answer_all(&f, S6_ROUTE_OK);
    assert_int_equal(fx_price(&f, 50000), 0);
    assert_int_equal(manual_add(&f, &err), 0);
    assert_int_equal(s6_mem_state_pump(f.ms), 1);
    fx_teardown(&f);
}

static void adds_respect_the_concurrency_quota(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    assert_int_equal(entry_on(&f, "BTCUSDT", 0.1, 50000, 10), 0);
    assert_int_equal(entry_on(&f, "ETHUSDT", 1, 3000, 5), 0);
    fx_answer_all(&f, S6_ROUTE_OK);
    assert_int_equal(fx_price(&f, 50000), 0);
    f.now += 400; /* past the add interval */
    assert_int_equal(fx_price(&f, 50000), 0);
    /* two positions open, one slot configured: no add */
    f.cfg.risk.max_concurrent_positions = 1;
    s6_api_error err;
    assert_true(manual_add(&f, &err) < 0);
    assert_int_equal(err.status, 409);
    assert_non_null(strstr(err.message, "concurrency"));
    /* room for both: the same add goes */
    f.cfg.risk.max_concurrent_positions = 2;
    assert_int_equal(manual_add(&f, &err), 0);
    /* it went as far as the quota: answered, it leaves nothing waiting */
    assert_int_equal(s6_mem_state_pump(f.ms), 1);
    fx_teardown(&f);
}

static void risk_limit_raised_once_per_crossing(void **st)
{
    (void)st;
    fx f;
    fx_setup(&f, NO_TP);
    /* fx_fill reserves a tenth of the notional: 500 of 10000 */
    assert_int_equal(fx_fill(&f, NULL, S6_FILL_ENTRY, 1, 0.1, 50000, 0, 49000),
                     0);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(f.raised, 0);
    /* a second position takes it to 9500: 0.95 >= 0.9 */
    s6_order_result r = {.kind = S6_RES_FILL, .market = S6_MARKET_FUT,
                         .ts = f.now, .risk_reserved = 9000,
                         .concurrency_reserved = 1};
    snprintf(r.result_id, sizeof r.result_id, "r-eth");
    snprintf(r.intent_id, sizeof r.intent_id, "up-eth");
    snprintf(r.symbol, sizeof r.symbol, "ETHUSDT");
    r.fill = (s6_fill){.kind = S6_FILL_ENTRY, .side = 1, .qty = 1,
                       .price = 3000, .ts = f.now};
    char e[160];
    assert_int_equal(s6_engine_on_result(f.e, &r, e, sizeof e), 0);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(f.raised, 1);
    assert_string_equal(f.raised_trigger, "RISK_LIMIT");
    assert_true(fabs(f.raised_reported - 0.95) < 1e-9);
    assert_int_equal(fx_tick(&f), 0);
    assert_int_equal(f.raised, 1);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entry_above_the_limits_is_announced),
        cmocka_unit_test(enforced_entry_is_reduced_to_the_limit),
        cmocka_unit_test(daily_loss_alert_once_per_day),
        cmocka_unit_test(daily_loss_survives_a_restart),
        cmocka_unit_test(adds_respect_the_concurrency_quota),
        cmocka_unit_test(risk_limit_raised_once_per_crossing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
