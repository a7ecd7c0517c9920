/*
 * The manage body parser on its own (no server, no engine): every field
 * of every action read right, and every bad body refused with the code and
 * the field that explain it, leaving the request reset.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/manage_keys.h"
#include "app/routes_positions.h"

static int parse(const char *body, s6_manage_req *r, s6_api_error *e)
{
    return s6_manage_parse(body, strlen(body), r, e);
}

#define BASE "\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"position_id\":\"pos_001\""

static void spec_example_is_read(void **state)
{
    (void)state;
    s6_manage_req r;
    s6_api_error e;
    assert_int_equal(parse("{" BASE ",\"action\":\"STOP_MOVE\","
                           "\"new_stop_price\":44000.0,"
                           "\"reason\":\"Trailing stop moved up\"}", &r, &e), 0);
    assert_string_equal(r.symbol, "BTCUSDT");
    assert_int_equal(r.market, S6_MARKET_FUT);
    assert_string_equal(r.position_id, "pos_001");
    assert_int_equal(r.action, S6_MANAGE_STOP_MOVE);
    assert_true(r.new_stop_price == 44000.0);
    assert_string_equal(r.reason, "Trailing stop moved up");
    assert_false(r.dry_run);
    assert_false(r.loosen);
}

static void every_action_and_flag(void **state)
{
    (void)state;
    s6_manage_req r;
    s6_api_error e;
    assert_int_equal(parse("{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":43000,"
                           "\"loosen\":true,\"dry_run\":true}", &r, &e), 0);
    assert_true(r.loosen && r.dry_run);
    assert_true(r.new_stop_price == 43000);

    assert_int_equal(parse("{" BASE ",\"action\":\"TAKE_PROFIT\",\"qty\":0.004}",
                           &r, &e), 0);
    assert_int_equal(r.action, S6_MANAGE_TAKE_PROFIT);
    assert_true(r.qty == 0.004 && r.fraction == 0);

    assert_int_equal(parse("{" BASE ",\"action\":\"TAKE_PROFIT\",\"fraction\":1}",
                           &r, &e), 0);
    assert_true(r.fraction == 1 && r.qty == 0);

    assert_int_equal(parse("{" BASE ",\"action\":\"ADD\",\"qty\":0.01}", &r, &e), 0);
    assert_int_equal(r.action, S6_MANAGE_ADD);

    assert_int_equal(parse("{\"symbol\":\"ETHUSDT\",\"market\":\"SPOT\","
                           "\"position_id\":\"p9\",\"action\":\"CLOSE\"}", &r, &e), 0);
    assert_int_equal(r.action, S6_MANAGE_CLOSE);
    assert_int_equal(r.market, S6_MARKET_SPOT);

    assert_int_equal(parse("{" BASE ",\"action\":\"EVALUATE\",\"reason\":\"\"}",
                           &r, &e), 0);
    assert_int_equal(r.action, S6_MANAGE_EVALUATE);
}

typedef struct bad_case {
    const char *body;
    int status;
    const char *code;
    const char *field;
} bad_case;

static const bad_case bad[] = {
    /* not a JSON object */
    { "", 400, "bad_json", "" },
    { "{", 400, "bad_json", "" },
    { "[1,2]", 400, "bad_json", "" },
    { "\"STOP_MOVE\"", 400, "bad_json", "" },
    { "{" BASE ",\"action\":\"CLOSE\",\"action\":\"ADD\"}", 400, "bad_json", "" },
    { "{" BASE ",\"action\":\"CLOSE\"} trailing", 400, "bad_json", "" },
    { "{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":NaN}", 400, "bad_json", "" },
    { "{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":1e999}", 400, "bad_json", "" },
    /* unknown fields and wrong types */
    { "{" BASE ",\"action\":\"CLOSE\",\"price\":1}", 400, "unknown_field", "price" },
    { "{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":\"44000\"}", 400, "bad_type", "new_stop_price" },
    { "{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":null}", 400, "bad_type", "new_stop_price" },
    { "{\"symbol\":7,\"market\":\"FUT\",\"position_id\":\"p\",\"action\":\"CLOSE\"}", 400, "bad_type", "symbol" },
    { "{" BASE ",\"action\":1}", 400, "bad_type", "action" },
    { "{" BASE ",\"action\":\"CLOSE\",\"dry_run\":\"yes\"}", 400, "bad_type", "dry_run" },
    { "{" BASE ",\"action\":\"CLOSE\",\"dry_run\":1}", 400, "bad_type", "dry_run" },
    { "{" BASE ",\"action\":\"ADD\",\"qty\":[1]}", 400, "bad_type", "qty" },
    /* the action */
    { "{" BASE "}", 400, "missing_field", "action" },
    { "{" BASE ",\"action\":\"HEDGE\"}", 400, "unknown_action", "action" },
    { "{" BASE ",\"action\":\"stop_move\"}", 400, "unknown_action", "action" },
    /* missing and misplaced fields */
    { "{\"market\":\"FUT\",\"position_id\":\"p\",\"action\":\"CLOSE\"}", 400, "missing_field", "symbol" },
    { "{\"symbol\":\"BTCUSDT\",\"position_id\":\"p\",\"action\":\"CLOSE\"}", 400, "missing_field", "market" },
    { "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"action\":\"CLOSE\"}", 400, "missing_field", "position_id" },
    { "{" BASE ",\"action\":\"STOP_MOVE\"}", 400, "missing_field", "new_stop_price" },
    { "{" BASE ",\"action\":\"ADD\"}", 400, "missing_field", "qty" },
    { "{" BASE ",\"action\":\"TAKE_PROFIT\"}", 400, "missing_field", "qty" },
    { "{" BASE ",\"action\":\"TAKE_PROFIT\",\"qty\":1,\"fraction\":0.5}", 400, "field_not_allowed", "fraction" },
    { "{" BASE ",\"action\":\"CLOSE\",\"new_stop_price\":1}", 400, "field_not_allowed", "new_stop_price" },
    { "{" BASE ",\"action\":\"ADD\",\"qty\":1,\"loosen\":true}", 400, "field_not_allowed", "loosen" },
    { "{" BASE ",\"action\":\"ADD\",\"qty\":1,\"fraction\":0.5}", 400, "field_not_allowed", "fraction" },
    { "{" BASE ",\"action\":\"EVALUATE\",\"qty\":1}", 400, "field_not_allowed", "qty" },
    /* values */
    { "{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":0}", 400, "invalid_value", "new_stop_price" },
    { "{" BASE ",\"action\":\"STOP_MOVE\",\"new_stop_price\":-44000}", 400, "invalid_value", "new_stop_price" },
    { "{" BASE ",\"action\":\"ADD\",\"qty\":0}", 400, "invalid_value", "qty" },
    { "{" BASE ",\"action\":\"ADD\",\"qty\":-0.5}", 400, "invalid_value", "qty" },
    { "{" BASE ",\"action\":\"TAKE_PROFIT\",\"fraction\":0}", 400, "invalid_value", "fraction" },
    { "{" BASE ",\"action\":\"TAKE_PROFIT\",\"fraction\":1.5}", 400, "invalid_value", "fraction" },
    { "{\"symbol\":\"BTCUSDT\",\"market\":\"MARGIN\",\"position_id\":\"p\",\"action\":\"CLOSE\"}", 400, "invalid_value", "market" },
    { "{\"symbol\":\"\",\"market\":\"FUT\",\"position_id\":\"p\",\"action\":\"CLOSE\"}", 400, "invalid_value", "symbol" },
    { "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"position_id\":\"\",\"action\":\"CLOSE\"}", 400, "invalid_value", "position_id" },
    { "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\",\"position_id\":\"p-123456789012345678901234\",\"action\":\"CLOSE\"}", 400, "invalid_value", "position_id" },
    { "{\"symbol\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ\",\"market\":\"FUT\",\"position_id\":\"p\",\"action\":\"CLOSE\"}", 400, "invalid_value", "symbol" },
    /* the idempotency key: a string of visible characters, not empty */
    { "{" BASE ",\"action\":\"CLOSE\",\"action_id\":7}", 400, "bad_type", "action_id" },
    { "{" BASE ",\"action\":\"CLOSE\",\"action_id\":\"\"}", 400, "invalid_value", "action_id" },
    { "{" BASE ",\"action\":\"CLOSE\",\"action_id\":\"a b\"}", 400, "invalid_value", "action_id" },
};

static void bad_bodies_are_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s6_manage_req r;
        memset(&r, 0x5a, sizeof r);
        s6_api_error e;
        int rc = parse(bad[i].body, &r, &e);
        if (rc != -EINVAL || e.status != bad[i].status ||
            strcmp(e.code, bad[i].code) != 0 || strcmp(e.field, bad[i].field) != 0)
            fail_msg("case %zu %s: rc %d status %d code %s field %s (%s)", i,
                     bad[i].body, rc, e.status, e.code, e.field, e.message);
        assert_true(strlen(e.message) > 0);
        /* nothing half-filled */
        assert_int_equal(r.action, 0);
        assert_string_equal(r.position_id, "");
        assert_int_equal(r.market, -1);
    }
}

/* A body with a NUL inside, or a reason too long for the record. */
static void lengths_are_bounded(void **state)
{
    (void)state;
    s6_manage_req r;
    s6_api_error e;
    static const char with_nul[] = "{\"symbol\":\"BTC\\u0000USDT\",\"market\":"
                                   "\"FUT\",\"position_id\":\"p\",\"action\":\"CLOSE\"}";
    assert_int_equal(parse(with_nul, &r, &e), -EINVAL);
    char body[512];
    char reason[200];
    memset(reason, 'x', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    snprintf(body, sizeof body, "{" BASE ",\"action\":\"CLOSE\",\"reason\":\"%s\"}",
             reason);
    assert_int_equal(parse(body, &r, &e), -EINVAL);
    assert_string_equal(e.code, "invalid_value");
    assert_string_equal(e.field, "reason");
    /* the length is what counts, not a NUL after it */
    static const char exact[] = "{\"symbol\":\"BTCUSDT\",\"market\":\"FUT\","
                                "\"position_id\":\"p\",\"action\":\"CLOSE\"}xyz";
    assert_int_equal(s6_manage_parse(exact, sizeof exact - 4, &r, &e), 0);
}

/* action_id: read for the HTTP layer, up to S6_MANAGE_KEY_MAX characters. */
static void action_id_is_read_and_bounded(void **state)
{
    (void)state;
    s6_manage_req r;
    s6_api_error e;
    assert_int_equal(parse("{" BASE ",\"action\":\"CLOSE\","
                           "\"action_id\":\"close-42\"}", &r, &e), 0);
    assert_string_equal(r.action_id, "close-42");
    assert_int_equal(parse("{" BASE ",\"action\":\"CLOSE\"}", &r, &e), 0);
    assert_string_equal(r.action_id, "");
    char id[S6_MANAGE_KEY_MAX + 2];
    memset(id, 'k', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    char body[512];
    snprintf(body, sizeof body, "{" BASE ",\"action\":\"CLOSE\","
             "\"action_id\":\"%s\"}", id);
    assert_int_equal(parse(body, &r, &e), -EINVAL);
    assert_string_equal(e.field, "action_id");
    id[S6_MANAGE_KEY_MAX] = '\0'; /* exactly the maximum */
    snprintf(body, sizeof body, "{" BASE ",\"action\":\"CLOSE\","
             "\"action_id\":\"%s\"}", id);
    assert_int_equal(parse(body, &r, &e), 0);
    assert_int_equal(strlen(r.action_id), S6_MANAGE_KEY_MAX);
}

/* The fingerprint is the request's meaning: field order, spacing and the
 * key's own field do not change it; any value does. */
static void fingerprint_is_the_meaning(void **state)
{
    (void)state;
    s6_manage_req a, b;
    s6_api_error e;
    assert_int_equal(parse("{" BASE ",\"action\":\"TAKE_PROFIT\","
                           "\"qty\":1,\"action_id\":\"k1\"}", &a, &e), 0);
    assert_int_equal(parse("{ \"qty\": 1.0, \"action\": \"TAKE_PROFIT\", " BASE
                           "}", &b, &e), 0);
    char *fa = s6_manage_fingerprint(&a), *fb = s6_manage_fingerprint(&b);
    assert_string_equal(fa, fb);
    free(fb);
    b.qty = 1.0000000001;
    fb = s6_manage_fingerprint(&b);
    assert_string_not_equal(fa, fb);
    free(fa);
    free(fb);
}

/* The table is bounded: past S6_MANAGE_KEYS_KEPT keys the oldest is
 * forgotten, the newer ones kept with their answers. */
static void keys_are_bounded(void **state)
{
    (void)state;
    s6_manage_keys t = { 0 };
    assert_null(s6_manage_keys_find(&t, "k-0"));
    char key[32], body[32];
    for (int i = 0; i <= S6_MANAGE_KEYS_KEPT; i++) {
        snprintf(key, sizeof key, "k-%d", i);
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        assert_int_equal(s6_manage_keys_put(&t, key, "req", 200, body,
                                            strlen(body)), 0);
    }
    assert_null(s6_manage_keys_find(&t, "k-0"));
    const s6_manage_answer *a = s6_manage_keys_find(&t, "k-1");
    assert_non_null(a);
    assert_string_equal(a->body, "{\"n\":1}");
    snprintf(key, sizeof key, "k-%d", S6_MANAGE_KEYS_KEPT);
    a = s6_manage_keys_find(&t, key);
    assert_non_null(a);
    assert_int_equal(a->status, 200);
    assert_string_equal(a->request, "req");
    assert_int_equal(s6_manage_keys_put(&t, "a b", "req", 200, "{}", 2),
                     -EINVAL);
    s6_manage_keys_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_example_is_read),
        cmocka_unit_test(every_action_and_flag),
        cmocka_unit_test(bad_bodies_are_refused),
        cmocka_unit_test(lengths_are_bounded),
        cmocka_unit_test(action_id_is_read_and_bounded),
        cmocka_unit_test(fingerprint_is_the_meaning),
        cmocka_unit_test(keys_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
