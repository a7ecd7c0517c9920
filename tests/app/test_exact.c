/*
 * test_exact.c — the exact decimals of answers, events and logs
 * (util/exact.h): the text each value is written as, which field names
 * count as prices, quantities and money, and a whole engine-shaped
 * document rewritten.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/exact.h"

static void check_text(double v, double grid, const char *want)
{
    char buf[64];
    int n = s6_exact_format(v, grid, buf, sizeof buf);
    assert_true(n > 0);
    assert_string_equal(buf, want);
}

static void format_at_the_grid(void **state)
{
    (void)state;
    check_text(0.025000000000000008, 0.001, "0.025");
    check_text(64430.633333333317, 0.1, "64430.6");
    check_text(0.1 + 0.2, 0.01, "0.30");
    check_text(5.3707500000000001, 0.01, "5.37");
    check_text(-0.37575, 0.01, "-0.38");
    check_text(60000, 0.1, "60000.0");
    check_text(1.27, 0.05, "1.25");
    check_text(0, 0.001, "0.000");
    char buf[8];
    assert_true(s6_exact_format(NAN, 0.1, buf, sizeof buf) < 0);
    assert_true(s6_exact_format(1.0, 0, buf, sizeof buf) < 0);
    assert_true(s6_exact_format(123456789.0, 0.1, buf, 4) < 0);
}

static void kinds_by_name(void **state)
{
    (void)state;
    assert_int_equal(s6_exact_kind_of("price"), S6_EXACT_PRICE);
    assert_int_equal(s6_exact_kind_of("liq_price"), S6_EXACT_PRICE);
    assert_int_equal(s6_exact_kind_of("qty"), S6_EXACT_QTY);
    assert_int_equal(s6_exact_kind_of("fees_paid"), S6_EXACT_MONEY);
    assert_int_equal(s6_exact_kind_of("roe"), S6_EXACT_NONE);
    assert_int_equal(s6_exact_kind_of("step"), S6_EXACT_NONE);
    assert_int_equal(s6_exact_kind_of(NULL), S6_EXACT_NONE);
    /* the ends and the middle of the sorted table: a name out of order
     * would be missed by the binary search */
    assert_int_equal(s6_exact_kind_of("after_qty"), S6_EXACT_QTY);
    assert_int_equal(s6_exact_kind_of("venue"), S6_EXACT_QTY);
    assert_int_equal(s6_exact_kind_of("budget"), S6_EXACT_MONEY);
    assert_int_equal(s6_exact_kind_of("unrealized_pnl"), S6_EXACT_MONEY);
    assert_int_equal(s6_exact_kind_of("pending_price"), S6_EXACT_PRICE);
    assert_int_equal(s6_exact_kind_of("mark"), S6_EXACT_PRICE);
    assert_int_equal(s6_exact_kind_of("stop_price"), S6_EXACT_PRICE);
    assert_int_equal(s6_exact_kind_of("zzz"), S6_EXACT_NONE);
    assert_int_equal(s6_exact_kind_of(""), S6_EXACT_NONE);
}

static void dump_equals(json_t *doc, const char *want)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, want);
    free(text);
}

static void documents_rewritten(void **state)
{
    (void)state;
    s6_exact_grid g = { .tick = 0.1, .step = 0.001 };
    json_t *pos = json_pack(
        "{s:f,s:f,s:f,s:f,s:i,s:{s:f,s:i,s:b,s:n},s:[{s:f,s:f}]}", "qty",
        0.025000000000000008, "entry", 64430.633333333317, "roe", 0.5,
        "realized_pnl", 5.3707500000000001, "adds", 1, "stop", "price",
        64000.06, "step", 1, "confirmed", 1, "guard", "orders_in_flight",
        "qty", 0.015, "filled", 0.0);
    assert_int_equal(s6_exact_object(pos, &g), 0);
    dump_equals(pos, "{\"adds\":1,\"entry\":\"64430.6\",\"orders_in_flight\":"
                     "[{\"filled\":\"0.000\",\"qty\":\"0.015\"}],"
                     "\"qty\":\"0.025\",\"realized_pnl\":\"5.37\","
                     "\"roe\":0.5,\"stop\":{\"confirmed\":true,"
                     "\"guard\":null,\"price\":\"64000.1\",\"step\":1}}");
    json_decref(pos);

    /* a plan's actions: a stop move holds prices, a take-profit quantities */
    json_t *plan = json_pack(
        "{s:[{s:s,s:f,s:f},{s:s,s:f,s:f},{s:s,s:n,s:s}]}", "actions",
        "action", "STOP_MOVE", "old_value", 58000.0, "new_value", 59000.04,
        "action", "TAKE_PROFIT", "old_value", 0.015, "new_value", 0.005,
        "action", "EVENT", "old_value", "new_value", "STAGNATED");
    assert_int_equal(s6_exact_object(plan, &g), 0);
    dump_equals(plan, "{\"actions\":[{\"action\":\"STOP_MOVE\",\"new_value\":"
                      "\"59000.0\",\"old_value\":\"58000.0\"},{\"action\":"
                      "\"TAKE_PROFIT\",\"new_value\":\"0.005\",\"old_value\":"
                      "\"0.015\"},{\"action\":\"EVENT\",\"new_value\":"
                      "\"STAGNATED\",\"old_value\":null}]}");
    json_decref(plan);
    json_t *empty = json_object();
    assert_int_equal(s6_exact_object(empty, &(s6_exact_grid){ 0, 1 }), -22);
    json_decref(empty);
}

static void values_read_back(void **state)
{
    (void)state;
    json_t *s = json_string("64430.6"), *n = json_real(0.5),
           *bad = json_string("12abc");
    assert_true(s6_exact_value(s) == 64430.6);
    assert_true(s6_exact_value(n) == 0.5);
    assert_true(isnan(s6_exact_value(bad)));
    assert_true(isnan(s6_exact_value(NULL)));
    json_decref(s);
    json_decref(n);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_at_the_grid),
        cmocka_unit_test(kinds_by_name),
        cmocka_unit_test(documents_rewritten),
        cmocka_unit_test(values_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
