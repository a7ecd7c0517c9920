/*
 * The treasury end to end: real Redis, the SQLite store, the S1 and S12
 * peers and the trigger endpoint over HTTP (world.h).  Balances: free FUT
 * 200 against min_free_fut 500 is a need of 300 unless a test says other.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "world.h"

#define SCHED_ID "t:SCHEDULED:1764109800" /* W_NOW's 300 s window */

static world *W;

static int setup_approval(void **state)
{
    static world w;
    w_setup(&w, false);
    W = &w;
    *state = &w;
    return 0;
}

static int setup_auto(void **state)
{
    static world w;
    w_setup(&w, true);
    W = &w;
    *state = &w;
    return 0;
}

static int teardown(void **state)
{
    w_teardown(*state);
    return 0;
}

/* ---- waiting for a status ---- */

static const char *want_id;
static s6_transfer_status want_st;

static bool reached(world *w)
{
    s6_store_transfer tr;
    return w_transfer(w, want_id, &tr) && tr.status == want_st;
}

static void assert_reaches(world *w, const char *id, s6_transfer_status st)
{
    want_id = id;
    want_st = st;
    if (!w_until(w, reached, 5000)) {
        s6_store_transfer tr = {0};
        bool found = w_transfer(w, id, &tr);
        fail_msg("%s: %s (%s), want %s", id,
                 found ? s6_transfer_status_name(tr.status) : "no transfer",
                 tr.reason, s6_transfer_status_name(st));
    }
}

static s6_store_transfer stored(world *w, const char *id)
{
    s6_store_transfer tr;
    if (!w_transfer(w, id, &tr))
        fail_msg("no transfer %s", id);
    return tr;
}

static char *trigger_body(char *buf, size_t cap, const char *id,
                          const char *type, double amount)
{
    snprintf(buf, cap, "{\"trigger_id\":\"%s\",\"symbol\":\"BTCUSDT\","
             "\"market\":\"FUT\",\"trigger_type\":\"%s\",\"threshold\":0.95,"
             "\"transfer_from\":\"%s\",\"transfer_to\":\"%s\","
             "\"transfer_amount\":%.2f,\"enabled\":true}", id, type,
             strcmp(type, "PROFIT_TAKING") ? "SPOT" : "FUT",
             strcmp(type, "PROFIT_TAKING") ? "FUT" : "SPOT", amount);
    return buf;
}

/* POSTs a trigger; returns the answer's JSON (the caller frees it). */
static json_t *trigger(world *w, const char *id, const char *type,
                       double amount, int want_status)
{
    char body[512], out[2048];
    int st = w_post(w, "/auto-transfer/trigger",
                    trigger_body(body, sizeof body, id, type, amount), out,
                    sizeof out);
    if (st != want_status)
        fail_msg("trigger %s: HTTP %d %s, want %d", id, st, out, want_status);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static const char *jstr(json_t *doc, const char *k)
{
    const char *s = json_string_value(json_object_get(doc, k));
    return s ? s : "";
}

/* ---- need ---- */

static void need_zero_is_skipped_and_recorded(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 800, 1);
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, SCHED_ID, S6_TRANSFER_SKIPPED);
    s6_store_transfer tr = stored(w, SCHED_ID);
    assert_non_null(strstr(tr.reason, "no need"));
    assert_true(tr.amount == 0);
    w_settle(w, 30);
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
    assert_int_equal(s6_s12_peer_posts(w->s12), 0);
    assert_int_equal(w_events(w), 1);
    assert_true(w_metric(w, "SKIPPED", "SCHEDULED") == 1);
}

static void need_met_in_full_auto(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 1);
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, SCHED_ID, S6_TRANSFER_SUCCESS);
    s6_store_transfer tr = stored(w, SCHED_ID);
    assert_true(tr.amount == 300);
    assert_string_equal(tr.from, "SPOT");
    assert_string_equal(tr.to, "FUT");
    assert_int_equal(tr.attempts, 1);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
    assert_true(s6_s1_peer_amount(w->s1, SCHED_ID) == 300);
    assert_string_equal(s6_s1_peer_last_key(w->s1), SCHED_ID);
    assert_non_null(strstr(s6_s1_peer_last_body(w->s1), "\"amount\":\"300.00\""));
    assert_int_equal(s6_s12_peer_posts(w->s12), 0);
    /* PENDING, SUBMITTED, SUCCESS: one event each */
    assert_int_equal(w_events(w), 3);
    assert_true(w_metric(w, "SUCCESS", "SCHEDULED") == 1);
    char out[64];
    const char *argv[] = {"HGET", "treasury:day:2025-11-25", SCHED_ID};
    w_redis(w, out, sizeof out, 3, argv);
    assert_string_equal(out, "300.00");
}

static void spot_too_low_is_rejected(void **state)
{
    world *w = *state;
    w_balances(w, 350, 200, 1);
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, SCHED_ID, S6_TRANSFER_REJECTED);
    assert_non_null(strstr(stored(w, SCHED_ID).reason, "spot too low"));
    w_settle(w, 30);
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
}

/* ---- guards that need Redis ---- */

static void stale_balances_are_refused(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 61);
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, SCHED_ID, S6_TRANSFER_REJECTED);
    assert_non_null(strstr(stored(w, SCHED_ID).reason, "stale"));
}

static void missing_balances_are_refused(void **state)
{
    world *w = *state;
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, SCHED_ID, S6_TRANSFER_REJECTED);
    assert_non_null(strstr(stored(w, SCHED_ID).reason, "has no spot_free"));
}

static void the_daily_cap_counts_earlier_transfers(void **state)
{
    world *w = *state;
    const char *argv[] = {"HSET", "treasury:day:2025-11-25", "t:old-1",
                          "4000.00", "t:old-2", "900.00"};
    w_redis(w, NULL, 0, 6, argv);
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-cap", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    assert_true(json_real_value(json_object_get(a, "amount_usdt")) == 100);
    if (!strstr(jstr(a, "reason"), "capped by max_per_day"))
        fail_msg("reason: %s", jstr(a, "reason"));
    json_decref(a);
    a = trigger(w, "mc-cap-2", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "REJECTED");
    assert_non_null(strstr(jstr(a, "reason"), "max_per_day"));
    json_decref(a);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
}

static void min_interval_per_trigger_type(void **state)
{
    world *w = *state;
    w->cfg.trig[S6_TT_MARGIN_CALL].min_interval_s = 60;
    s6_treasury_set_cfg(w->t, &w->cfg);
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-1", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    json_decref(a);
    w->now += 30;
    w_balances(w, 5000, 200, 1);
    a = trigger(w, "mc-2", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SKIPPED");
    assert_non_null(strstr(jstr(a, "reason"), "minimum is 60 s"));
    json_decref(a);
    /* another trigger type is not held back */
    a = trigger(w, "rl-1", "RISK_LIMIT", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    json_decref(a);
    w->now += 31;
    w_balances(w, 5000, 200, 1);
    a = trigger(w, "mc-3", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    json_decref(a);
    assert_int_equal(s6_s1_peer_executed(w->s1), 3);
}

static void disabled_trigger_and_threshold_skip(void **state)
{
    world *w = *state;
    w->cfg.trig[S6_TT_RISK_LIMIT].enabled = false;
    w->cfg.trig[S6_TT_MARGIN_CALL].threshold = 0.99; /* the body says 0.95 */
    s6_treasury_set_cfg(w->t, &w->cfg);
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "rl-off", "RISK_LIMIT", 0, 200);
    assert_string_equal(jstr(a, "status"), "SKIPPED");
    assert_non_null(strstr(jstr(a, "reason"), "disabled"));
    json_decref(a);
    a = trigger(w, "mc-low", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SKIPPED");
    assert_non_null(strstr(jstr(a, "reason"), "threshold"));
    json_decref(a);
    assert_int_equal(stored(w, "t:mc-low").status, S6_TRANSFER_SKIPPED);
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
}

/* ---- idempotency ---- */

static void the_same_trigger_twice_is_one_transfer(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-twice", "MARGIN_CALL", 500, 200);
    json_t *b = trigger(w, "mc-twice", "MARGIN_CALL", 500, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    assert_string_equal(jstr(b, "status"), "SUCCESS");
    assert_string_equal(jstr(a, "transfer_id"), "t:mc-twice");
    assert_string_equal(jstr(b, "transfer_id"), "t:mc-twice");
    assert_string_equal(jstr(a, "log_id"), jstr(b, "log_id"));
    json_decref(a);
    json_decref(b);
    assert_int_equal(s6_s1_peer_calls(w->s1), 1);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
    assert_true(s6_s1_peer_amount(w->s1, "t:mc-twice") == 500);
    assert_int_equal(w_events(w), 3);
}

static void the_spec_response_shape(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "margin_call_001", "MARGIN_CALL", 500, 200);
    static const char *const keys[] = {
        "log_id", "trigger_id", "symbol", "market", "trigger_type", "from",
        "to", "amount_usdt", "reason", "status", "transfer_id"};
    assert_int_equal(json_object_size(a), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(a, keys[i]) == NULL)
            fail_msg("no %s in the answer", keys[i]);
    assert_string_equal(jstr(a, "trigger_id"), "margin_call_001");
    assert_string_equal(jstr(a, "symbol"), "BTCUSDT");
    assert_string_equal(jstr(a, "market"), "FUT");
    assert_string_equal(jstr(a, "trigger_type"), "MARGIN_CALL");
    assert_string_equal(jstr(a, "from"), "SPOT");
    assert_string_equal(jstr(a, "to"), "FUT");
    assert_string_equal(jstr(a, "reason"),
                        "Auto transfer triggered by MARGIN_CALL");
    assert_true(json_real_value(json_object_get(a, "amount_usdt")) == 500);
    json_decref(a);
}

/* ---- approval ---- */

static const char *approval(char *buf, size_t cap, const char *id,
                            const char *decision)
{
    snprintf(buf, cap, "{\"transfer_id\":\"%s\",\"decision\":\"%s\","
             "\"reason\":\"desk ok\"}", id, decision);
    return buf;
}

static void approval_by_callback(void **state)
{
    world *w = *state;
    w->cfg.approval_poll_s = 3600; /* no poll: only the callback decides */
    s6_treasury_set_cfg(w->t, &w->cfg);
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-ok", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "PENDING");
    json_decref(a);
    assert_int_equal(s6_s12_peer_requests(w->s12), 1);
    assert_string_equal(s6_s12_peer_last_id(w->s12), "t:mc-ok");
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
    char body[256], out[512];
    assert_int_equal(w_post(w, "/auto-transfer/approval",
                            approval(body, sizeof body, "t:mc-ok", "APPROVED"),
                            out, sizeof out), 200);
    assert_reaches(w, "t:mc-ok", S6_TRANSFER_SUCCESS);
    assert_string_equal(stored(w, "t:mc-ok").reason,
                        "Auto transfer triggered by MARGIN_CALL");
    /* a second callback changes nothing */
    assert_int_equal(w_post(w, "/auto-transfer/approval",
                            approval(body, sizeof body, "t:mc-ok", "APPROVED"),
                            out, sizeof out), 200);
    assert_non_null(strstr(out, "\"SUCCESS\""));
    w_settle(w, 30);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
    assert_int_equal(s6_s1_peer_calls(w->s1), 1);
    /* PENDING, APPROVED, SUBMITTED, SUCCESS */
    assert_int_equal(w_events(w), 4);
}

static void rejection_by_callback(void **state)
{
    world *w = *state;
    w->cfg.approval_poll_s = 3600;
    s6_treasury_set_cfg(w->t, &w->cfg);
    w_balances(w, 5000, 200, 1);
    json_decref(trigger(w, "mc-no", "MARGIN_CALL", 0, 200));
    char body[256], out[512];
    assert_int_equal(w_post(w, "/auto-transfer/approval",
                            approval(body, sizeof body, "t:mc-no", "REJECTED"),
                            out, sizeof out), 200);
    assert_reaches(w, "t:mc-no", S6_TRANSFER_REJECTED);
    assert_non_null(strstr(stored(w, "t:mc-no").reason, "rejected by S12"));
    w_settle(w, 30);
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
    /* the day's ledger gives the amount back */
    char n[16];
    const char *argv[] = {"HLEN", "treasury:day:2025-11-25"};
    w_redis(w, n, sizeof n, 2, argv);
    assert_string_equal(n, "0");
    assert_true(w_metric(w, "REJECTED", "MARGIN_CALL") == 1);
}

static bool polled_twice(world *w) { return s6_s12_peer_polls(w->s12) >= 2; }

static void approval_by_polling(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-poll", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "PENDING");
    json_decref(a);
    assert_true(w_until(w, polled_twice, 5000));
    assert_int_equal(stored(w, "t:mc-poll").status, S6_TRANSFER_PENDING);
    s6_s12_peer_decide(w->s12, "APPROVED");
    assert_reaches(w, "t:mc-poll", S6_TRANSFER_SUCCESS);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
}

static void s12_down_then_back(void **state)
{
    world *w = *state;
    s6_s12_peer_set_mode(w->s12, S6_S12P_UNAVAILABLE, 3); /* one whole retry run */
    s6_s12_peer_decide(w->s12, "APPROVED");
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-s12", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "PENDING");
    json_decref(a);
    /* the poll finds nothing (404) and asks again; S12 is back */
    assert_reaches(w, "t:mc-s12", S6_TRANSFER_SUCCESS);
    assert_true(s6_s12_peer_posts(w->s12) >= 4);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
}

/* ---- S1 ---- */

static void s1_errors_are_retried(void **state)
{
    world *w = *state;
    s6_s1_peer_set_mode(w->s1, S6_S1P_UNAVAILABLE, 2);
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-retry", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    json_decref(a);
    assert_int_equal(stored(w, "t:mc-retry").attempts, 3);
    assert_int_equal(s6_s1_peer_calls(w->s1), 3);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
}

static void s1_refusal_fails_the_transfer(void **state)
{
    world *w = *state;
    s6_s1_peer_set_mode(w->s1, S6_S1P_VENUE_FAILED, 1);
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-fail", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "FAILED");
    assert_non_null(strstr(jstr(a, "reason"), "insufficient spot balance"));
    json_decref(a);
    s6_s1_peer_set_mode(w->s1, S6_S1P_REJECT, 1);
    a = trigger(w, "mc-400", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "FAILED");
    assert_non_null(strstr(jstr(a, "reason"), "HTTP 400"));
    json_decref(a);
    assert_int_equal(s6_s1_peer_executed(w->s1), 0);
    assert_true(w_metric(w, "FAILED", "MARGIN_CALL") == 2);
    char n[16];
    const char *argv[] = {"HLEN", "treasury:day:2025-11-25"};
    w_redis(w, n, sizeof n, 2, argv);
    assert_string_equal(n, "0");
}

static void profit_taking_sweeps_to_spot(void **state)
{
    world *w = *state;
    w->cfg.trig[S6_TT_PROFIT_TAKING].enabled = true;
    s6_treasury_set_cfg(w->t, &w->cfg);
    w_balances(w, 100, 10750, 1);
    json_t *a = trigger(w, "pt-1", "PROFIT_TAKING", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUCCESS");
    assert_string_equal(jstr(a, "from"), "FUT");
    assert_string_equal(jstr(a, "to"), "SPOT");
    assert_true(json_real_value(json_object_get(a, "amount_usdt")) == 750);
    json_decref(a);
    assert_true(s6_s1_peer_amount(w->s1, "t:pt-1") == 750);
}

/* The engine's MARGIN_CALL (s6_treasury_raise with the margin ratio it
 * measured): under the threshold it is skipped by guard 5; at it, the
 * transfer is made and reaches S1 once. */
static void margin_call_from_the_engine(void **state)
{
    world *w = *state;
    const char *id = "t:MARGIN_CALL:1764109800";
    w_balances(w, 5000, 200, 1);
    assert_int_equal(s6_treasury_raise(w->t, S6_TT_MARGIN_CALL, 0, 0.5), 0);
    assert_reaches(w, id, S6_TRANSFER_SKIPPED);
    assert_non_null(strstr(stored(w, id).reason, "threshold"));
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
    /* the id of the window is decided: the next window takes the call */
    w->now += 300;
    const char *id2 = "t:MARGIN_CALL:1764110100";
    w_balances(w, 5000, 200, 1);
    assert_int_equal(s6_treasury_raise(w->t, S6_TT_MARGIN_CALL, 0, 0.85), 0);
    assert_reaches(w, id2, S6_TRANSFER_SUCCESS);
    assert_true(stored(w, id2).amount == 300);
    assert_true(s6_s1_peer_amount(w->s1, id2) == 300);
    assert_int_equal(s6_treasury_raise(w->t, S6_TT_MARGIN_CALL, 0, -1),
                     -EINVAL);
}

/* The schedule sweeps too once PROFIT_TAKING is enabled; disabled (the
 * default) it does not. */
static void profit_taking_is_scheduled_when_enabled(void **state)
{
    world *w = *state;
    const char *id = "t:PROFIT_TAKING:1764109800";
    w_balances(w, 100, 10750, 1);
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, SCHED_ID, S6_TRANSFER_SKIPPED);
    w_settle(w, 30);
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
    w->cfg.trig[S6_TT_PROFIT_TAKING].enabled = true;
    s6_treasury_set_cfg(w->t, &w->cfg);
    assert_int_equal(s6_treasury_run_scheduled(w->t), 0);
    assert_reaches(w, id, S6_TRANSFER_SUCCESS);
    s6_store_transfer tr = stored(w, id);
    assert_true(tr.amount == 750);
    assert_string_equal(tr.from, "FUT");
    assert_string_equal(tr.to, "SPOT");
    assert_true(s6_s1_peer_amount(w->s1, id) == 750);
}

static void insufficient_balance_from_s4(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 100, 1);
    assert_int_equal(s6_treasury_on_insufficient_balance(w->t, "BTCUSDT"), 0);
    const char *id = "t:INSUFFICIENT_BALANCE:1764109800";
    assert_reaches(w, id, S6_TRANSFER_SUCCESS);
    assert_true(stored(w, id).amount == 400);
    /* the engine's risk-budget need, with its own amount */
    assert_int_equal(s6_treasury_request(w->t, S6_TT_RISK_LIMIT, 250), 0);
    assert_reaches(w, "t:RISK_LIMIT:1764109800", S6_TRANSFER_SUCCESS);
    assert_true(stored(w, "t:RISK_LIMIT:1764109800").amount == 250);
    assert_int_equal(s6_treasury_request(w->t, S6_TT_PROFIT_TAKING, 1),
                     -EINVAL);
}

/* ---- restart ---- */

static void restart_while_approval_is_awaited(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-restart", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "PENDING");
    json_decref(a);
    w_restart(w);
    s6_s12_peer_decide(w->s12, "APPROVED");
    assert_reaches(w, "t:mc-restart", S6_TRANSFER_SUCCESS);
    w_settle(w, 50);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
    assert_int_equal(s6_s1_peer_calls(w->s1), 1);
}

static void restart_after_s1_took_it(void **state)
{
    world *w = *state;
    w->cfg.answer_wait_ms = 100;
    s6_treasury_set_cfg(w->t, &w->cfg);
    s6_s1_peer_set_mode(w->s1, S6_S1P_STALL, 1); /* executed, answer lost */
    w_balances(w, 5000, 200, 1);
    json_t *a = trigger(w, "mc-lost", "MARGIN_CALL", 0, 200);
    assert_string_equal(jstr(a, "status"), "SUBMITTED");
    json_decref(a);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
    w_restart(w); /* the new object resumes from the store */
    assert_reaches(w, "t:mc-lost", S6_TRANSFER_SUCCESS);
    assert_int_equal(s6_s1_peer_calls(w->s1), 2);
    assert_int_equal(s6_s1_peer_executed(w->s1), 1);
}

/* ---- bad requests ---- */

static void bad_trigger_requests_change_nothing(void **state)
{
    world *w = *state;
    w_balances(w, 5000, 200, 1);
    static const struct {
        const char *body;
        const char *code, *field;
    } cases[] = {
        {"not json", "bad_json", NULL},
        {"[1]", "bad_json", NULL},
        {"{\"trigger_type\":\"MARGIN_CALL\"}", "missing_field", "trigger_id"},
        {"{\"trigger_id\":\"x1\"}", "missing_field", "trigger_type"},
        {"{\"trigger_id\":\"x2\",\"trigger_type\":\"SCHEDULED\"}",
         "invalid_field", "trigger_type"},
        {"{\"trigger_id\":\"x 3\",\"trigger_type\":\"MARGIN_CALL\"}",
         "invalid_field", "trigger_id"},
        {"{\"trigger_id\":\"x4\",\"trigger_type\":\"MARGIN_CALL\","
         "\"transfer_amount\":-5}", "invalid_field", "transfer_amount"},
        {"{\"trigger_id\":\"x5\",\"trigger_type\":\"MARGIN_CALL\","
         "\"transfer_amount\":\"500\"}", "invalid_field", "transfer_amount"},
        {"{\"trigger_id\":\"x6\",\"trigger_type\":\"MARGIN_CALL\","
         "\"transfer_from\":\"FUT\"}", "invalid_field", "transfer_from"},
        {"{\"trigger_id\":\"x7\",\"trigger_type\":\"PROFIT_TAKING\","
         "\"transfer_to\":\"FUT\"}", "invalid_field", "transfer_to"},
        {"{\"trigger_id\":\"x8\",\"trigger_type\":\"MARGIN_CALL\","
         "\"market\":\"MARGIN\"}", "invalid_field", "market"},
        {"{\"trigger_id\":\"x9\",\"trigger_type\":\"MARGIN_CALL\","
         "\"amount\":5}", "unknown_field", "amount"},
        {"{\"trigger_id\":\"x10\",\"trigger_type\":\"MARGIN_CALL\","
         "\"enabled\":1}", "invalid_field", "enabled"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[1024];
        int st = w_post(w, "/auto-transfer/trigger", cases[i].body, out,
                        sizeof out);
        json_t *doc = json_loads(out, 0, NULL);
        json_t *e = json_object_get(doc, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *field = json_string_value(json_object_get(e, "field"));
        if (st != 400 || !code || strcmp(code, cases[i].code) != 0 ||
            (cases[i].field && (!field || strcmp(field, cases[i].field))))
            fail_msg("case %zu: HTTP %d %s", i, st, out);
        json_decref(doc);
    }
    static const char *const ids[] = {"t:x1", "t:x2", "t:x4", "t:x5", "t:x6",
                                      "t:x7", "t:x8", "t:x9", "t:x10"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_false(w_transfer(w, ids[i], NULL));
    w_settle(w, 30);
    assert_int_equal(w_events(w), 0);
    assert_int_equal(s6_s1_peer_calls(w->s1), 0);
}

static void bad_approvals_are_refused(void **state)
{
    world *w = *state;
    char out[512];
    assert_int_equal(w_post(w, "/auto-transfer/approval",
                            "{\"transfer_id\":\"t:nope\",\"decision\":"
                            "\"APPROVED\"}", out, sizeof out), 404);
    assert_int_equal(w_post(w, "/auto-transfer/approval",
                            "{\"transfer_id\":\"t:nope\",\"decision\":"
                            "\"MAYBE\"}", out, sizeof out), 400);
    assert_non_null(strstr(out, "decision"));
    assert_int_equal(w_post(w, "/auto-transfer/approval", "{}", out,
                            sizeof out), 400);
    assert_false(w_transfer(w, "t:nope", NULL));
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(need_zero_is_skipped_and_recorded, setup_auto),
        T(need_met_in_full_auto, setup_auto),
        T(spot_too_low_is_rejected, setup_auto),
        T(stale_balances_are_refused, setup_auto),
        T(missing_balances_are_refused, setup_auto),
        T(the_daily_cap_counts_earlier_transfers, setup_auto),
        T(min_interval_per_trigger_type, setup_auto),
        T(disabled_trigger_and_threshold_skip, setup_auto),
        T(the_same_trigger_twice_is_one_transfer, setup_auto),
        T(the_spec_response_shape, setup_auto),
        T(approval_by_callback, setup_approval),
        T(rejection_by_callback, setup_approval),
        T(approval_by_polling, setup_approval),
        T(s12_down_then_back, setup_approval),
        T(s1_errors_are_retried, setup_auto),
        T(s1_refusal_fails_the_transfer, setup_auto),
        T(profit_taking_sweeps_to_spot, setup_auto),
        T(profit_taking_is_scheduled_when_enabled, setup_auto),
        T(margin_call_from_the_engine, setup_auto),
        T(insufficient_balance_from_s4, setup_auto),
        T(restart_while_approval_is_awaited, setup_approval),
        T(restart_after_s1_took_it, setup_auto),
        T(bad_trigger_requests_change_nothing, setup_auto),
        T(bad_approvals_are_refused, setup_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
