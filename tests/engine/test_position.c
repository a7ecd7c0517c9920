/*
 * The position model: its state machine, fills (entries, partial entry
 * fills, add-ons, reduces, closes the exchange made), SPOT books with fees
 * in base, replayed results, bad fills refused with nothing changed, and
 * idempotency keys.  Values worked out by hand in the comments.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "contract/position.h"
#include "core/s6_core.h"

static char err[160];

static s6_fill fill(const char *rid, const char *intent, int kind, int side,
                    double qty, double price, double fee, double ts)
{
    s6_fill f = {.kind = kind, .side = side, .qty = qty, .price = price,
                 .fee = fee, .ts = ts};
    snprintf(f.result_id, sizeof f.result_id, "%s", rid);
    snprintf(f.intent_id, sizeof f.intent_id, "%s", intent);
    return f;
}

static s6_fill_effect apply(s6_position *p, s6_fill f)
{
    s6_fill_effect e = 0;
    assert_int_equal(s6_position_apply_fill(p, &f, 0.001, &e, err, sizeof err), 0);
    return e;
}

static void near(double a, double b)
{
    if (fabs(a - b) > 1e-9 * fmax(1.0, fabs(b)))
        fail_msg("%.12g != %.12g", a, b);
}

static void fut_long(s6_position *p)
{
    assert_int_equal(s6_position_init(p, "p1", "BTCUSDT", S6_MARKET_FUT, 10,
                                      err, sizeof err), 0);
}

static void state_machine(void **state)
{
    (void)state;
    s6_position p;
    fut_long(&p);
    assert_int_equal(p.state, S6_POS_PENDING_ENTRY);
    /* PENDING_ENTRY cannot go straight to PENDING_CLOSING */
    assert_int_equal(s6_position_transition(&p, S6_POS_PENDING_CLOSING, err, sizeof err), S6_EINVAL);
    assert_string_equal(err, "illegal transition PENDING_ENTRY -> PENDING_CLOSING");
    assert_int_equal(p.state, S6_POS_PENDING_ENTRY);
    assert_int_equal(s6_position_transition(&p, S6_POS_ACTIVE, err, sizeof err), 0);
    assert_int_equal(s6_position_transition(&p, S6_POS_PENDING_CLOSING, err, sizeof err), 0);
    assert_int_equal(s6_position_transition(&p, S6_POS_ACTIVE, err, sizeof err), 0); /* close failed */
    assert_int_equal(s6_position_transition(&p, S6_POS_CLOSED, err, sizeof err), 0);
    /* CLOSED is final */
    for (int s = 0; s < S6_POS_STATE_COUNT; s++)
        assert_int_equal(s6_position_transition(&p, (s6_pos_state)s, err, sizeof err), S6_EINVAL);
    assert_int_equal(s6_pos_state_parse("PENDING_CLOSING"), S6_POS_PENDING_CLOSING);
    assert_int_equal(s6_pos_state_parse("OPEN"), -1);
}

static void fut_entry_partials_add_reduce_close(void **state)
{
    (void)state;
    s6_position p;
    fut_long(&p);
    /* the entry order fills in two parts: 0.6 @ 100 and 0.4 @ 101 */
    assert_int_equal(apply(&p, fill("r1", "p1-en-0", S6_FILL_ENTRY, 1, 0.6, 100, 0.03, 10)), S6_FILL_OPENED);
    assert_int_equal(p.state, S6_POS_ACTIVE);
    assert_int_equal(apply(&p, fill("r2", "p1-en-0", S6_FILL_ENTRY, 1, 0.4, 101, 0.02, 11)), S6_FILL_GREW);
    /* one entry of 1.0, no add-on; entry (0.6*100 + 0.4*101) / 1 = 100.4 */
    assert_int_equal(p.n_entries, 1);
    near(p.entry_qty[0], 1.0);
    assert_int_equal(p.add_on_count, 0);
    near(p.entry, 100.4);
    /* margin = 60/10 - 0.03 + 40.4/10 - 0.02 = 10.04 - 0.05 = 9.99 */
    near(p.margin, 9.99);
    near(p.fees_paid, 0.05);
    /* an add of 0.5 @ 104: entry (1*100.4 + 0.5*104)/1.5 = 101.6 */
    assert_int_equal(apply(&p, fill("r3", "p1-add-1", S6_FILL_ADD, 1, 0.5, 104, 0.026, 20)), S6_FILL_GREW);
    assert_int_equal(p.add_on_count, 1);
    near(p.last_add_at, 20);
    near(p.entry, 101.6);
    assert_int_equal(p.n_entries, 2);
    /* take profit 0.5 @ 110: gross (110-101.6)*0.5 = 4.2, fee 0.0275 */
    double before = p.realized_pnl, margin = p.margin;
    assert_int_equal(apply(&p, fill("r4", "p1-tp-2", S6_FILL_REDUCE, -1, 0.5, 110, 0.0275, 30)), S6_FILL_SHRANK);
    near(p.realized_pnl - before, 4.2 - 0.0275);
    near(p.qty, 1.0);
    near(p.margin, margin * (1.0 / 1.5)); /* released in proportion */
    /* the exchange stop closes the rest at 101.6: gross 0 */
    assert_int_equal(apply(&p, fill("r5", "", S6_FILL_STOP, -1, 1.0, 101.6, 0.05, 40)), S6_FILL_CLOSED);
    assert_int_equal(p.state, S6_POS_CLOSED);
    near(p.qty, 0);
    near(p.closed_at, 40);
    /* realized over the life: -0.05 -0.026 (entry fees) + 4.2 - 0.0275 - 0.05 */
    near(p.realized_pnl, -0.05 - 0.026 + 4.2 - 0.0275 - 0.05);
}

static void short_side_pnl(void **state)
{
    (void)state;
    s6_position p;
    fut_long(&p);
    apply(&p, fill("s1", "p1-en-0", S6_FILL_ENTRY, -1, 2, 50, 0, 1));
    assert_int_equal(p.side, -1);
    /* buy back 1 @ 45: a short gains (50-45)*1 = 5 */
    apply(&p, fill("s2", "p1-tp-1", S6_FILL_REDUCE, 1, 1, 45, 0, 2));
    near(p.realized_pnl, 5);
    s6_pos_view v;
    assert_int_equal(s6_position_view(&p, 40, 0.004, 0, &v), 0);
    /* uPnL of the remaining 1 at mark 40: 10; margin (2*50/10)/2 = 5 */
    near(v.upnl, 10);
    near(v.roe, 10.0 / 5.0);
    assert_true(v.liq_price > 40);
    assert_true(v.liq_distance > 0);
}

static void replays_change_nothing(void **state)
{
    (void)state;
    s6_position p;
    fut_long(&p);
    apply(&p, fill("r1", "p1-en-0", S6_FILL_ENTRY, 1, 1, 100, 0, 1));
    s6_position copy = p;
    assert_int_equal(apply(&p, fill("r1", "p1-en-0", S6_FILL_ENTRY, 1, 1, 100, 0, 1)),
                     S6_FILL_DUPLICATE);
    assert_memory_equal(&p, &copy, sizeof p);
    /* a close applied twice closes once */
    apply(&p, fill("r2", "p1-cl-1", S6_FILL_CLOSE, -1, 1, 101, 0, 2));
    copy = p;
    assert_int_equal(apply(&p, fill("r2", "p1-cl-1", S6_FILL_CLOSE, -1, 1, 101, 0, 2)),
                     S6_FILL_DUPLICATE);
    assert_memory_equal(&p, &copy, sizeof p);
}

static void bad_fills_refused_and_nothing_changes(void **state)
{
    (void)state;
    s6_position p;
    fut_long(&p);
    apply(&p, fill("r1", "p1-en-0", S6_FILL_ENTRY, 1, 1, 100, 0, 1));
    const struct { s6_fill f; const char *why; } cases[] = {
        { fill("", "", S6_FILL_ENTRY, 1, 1, 100, 0, 1), "result_id" },
        { fill("b1", "", 99, 1, 1, 100, 0, 1), "kind" },
        { fill("b2", "", S6_FILL_ENTRY, 0, 1, 100, 0, 1), "side" },
        { fill("b3", "", S6_FILL_ENTRY, 1, NAN, 100, 0, 1), "qty" },
        { fill("b4", "", S6_FILL_ENTRY, 1, -1, 100, 0, 1), "qty" },
        { fill("b5", "", S6_FILL_ENTRY, 1, 1, 0, 0, 1), "price" },
        { fill("b6", "", S6_FILL_ENTRY, 1, 1, INFINITY, 0, 1), "price" },
        { fill("b7", "", S6_FILL_ENTRY, 1, 1, 100, -0.1, 1), "fee" },
        { fill("b8", "", S6_FILL_REDUCE, -1, 1.5, 100, 0, 1), "larger than the position" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s6_position copy = p;
        s6_fill_effect e = 0;
        assert_int_equal(s6_position_apply_fill(&p, &cases[i].f, 0.001, &e, err, sizeof err), S6_EINVAL);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: '%s' does not name '%s'", i, err, cases[i].why);
        assert_memory_equal(&p, &copy, sizeof p);
    }
    /* nothing after the close */
    apply(&p, fill("c1", "", S6_FILL_LIQUIDATION, -1, 1, 90, 0, 2));
    s6_fill late = fill("c2", "", S6_FILL_ENTRY, 1, 1, 100, 0, 3);
    s6_fill_effect e;
    assert_int_equal(s6_position_apply_fill(&p, &late, 0.001, &e, err, sizeof err), S6_EINVAL);
    assert_string_equal(err, "the position is closed");
}

static void spot_fee_in_base_shrinks_sellable(void **state)
{
    (void)state;
    s6_position p;
    assert_int_equal(s6_position_init(&p, "s1", "ETHUSDT", S6_MARKET_SPOT, 0, err, sizeof err), 0);
    /* buy 1 @ 2000, fee 0.001 ETH: 0.999 sellable, WAC 2000 */
    s6_fill f = fill("b1", "s1-en-0", S6_FILL_ENTRY, 1, 1, 2000, 0.001, 1);
    f.fee_in_base = true;
    apply(&p, f);
    near(p.qty, 0.999);
    near(p.entry, 2000);
    near(p.fees_paid, 2.0); /* 0.001 ETH at 2000 */
    /* buy 1 more @ 2200, fee in quote: WAC (0.999*2000 + 1*2200)/1.999 */
    apply(&p, fill("b2", "s1-add-1", S6_FILL_ADD, 1, 1, 2200, 2.2, 2));
    near(p.entry, (0.999 * 2000 + 2200) / 1.999);
    near(p.margin, p.entry * p.qty);
    /* sell all 1.999 @ 2100 closes it */
    double wac = p.entry;
    assert_int_equal(apply(&p, fill("b3", "s1-cl-2", S6_FILL_CLOSE, -1, 1.999, 2100, 0, 3)),
                     S6_FILL_CLOSED);
    near(p.realized_pnl, -2.0 - 2.2 + (2100 - wac) * 1.999);
    /* a fee in base as large as the buy is refused */
    s6_position q;
    s6_position_init(&q, "s2", "ETHUSDT", S6_MARKET_SPOT, 0, err, sizeof err);
    s6_fill g = fill("x", "", S6_FILL_ENTRY, 1, 1, 2000, 1, 1);
    g.fee_in_base = true;
    s6_fill_effect e;
    assert_int_equal(s6_position_apply_fill(&q, &g, 0.001, &e, err, sizeof err), S6_EINVAL);
}

static void intent_ids(void **state)
{
    (void)state;
    s6_position p;
    assert_int_equal(s6_position_init(&p, "pos_0123456789abcdefghij", "BTCUSDT",
                                      S6_MARKET_FUT, 5, err, sizeof err), 0);
    char a[S6_INTENT_ID_MAX + 1], b[S6_INTENT_ID_MAX + 1];
    assert_int_equal(s6_position_next_intent(&p, "sl", a), 0);
    assert_int_equal(s6_position_next_intent(&p, "sl", b), 0);
    assert_string_equal(a, "pos_0123456789abcdefghij-sl-0");
    assert_string_equal(b, "pos_0123456789abcdefghij-sl-1"); /* a repeat gets a new key */
    p.seq = 36 * 36 + 35; /* base 36: "10z" */
    assert_int_equal(s6_position_next_intent(&p, "tp", a), 0);
    assert_string_equal(a, "pos_0123456789abcdefghij-tp-10z");
    p.seq = 4294967295u; /* the widest: a 24-char id, 3-letter action, 7 digits */
    assert_int_equal(s6_position_next_intent(&p, "add", a), 0);
    assert_string_equal(a, "pos_0123456789abcdefghij-add-1z141z3");
    assert_int_equal(strlen(a), 36);
    assert_int_equal(s6_position_next_intent(&p, "STOP", a), S6_EINVAL);
    assert_int_equal(s6_position_next_intent(&p, "", a), S6_EINVAL);
    /* ids that would not fit, or carry odd characters, are refused */
    assert_int_equal(s6_position_init(&p, "pos_0123456789abcdefghijk", "BTCUSDT",
                                      S6_MARKET_FUT, 5, err, sizeof err), S6_EINVAL);
    assert_int_equal(s6_position_init(&p, "pos 1", "BTCUSDT", S6_MARKET_FUT, 5, err, sizeof err), S6_EINVAL);
    assert_int_equal(s6_position_init(&p, "p", "BTCUSDT", S6_MARKET_FUT, 0, err, sizeof err), S6_EINVAL);
    assert_non_null(strstr(err, "leverage"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_machine),
        cmocka_unit_test(fut_entry_partials_add_reduce_close),
        cmocka_unit_test(short_side_pnl),
        cmocka_unit_test(replays_change_nothing),
        cmocka_unit_test(bad_fills_refused_and_nothing_changes),
        cmocka_unit_test(spot_fee_in_base_shrinks_sellable),
        cmocka_unit_test(intent_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
