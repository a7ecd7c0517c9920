/*
 * test_state_store: the rule-state store costs what its slots hold, not
 * its shape (a service sizes it for 16,384 positions and 64 rules), and
 * its generations only move forward, through clears and slot reuse, as
 * the worker's copy (rules/remote.c) relies on.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rules/state_store.h"

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void sized_to_what_it_holds(void **state)
{
    (void)state;
    enum { SLOTS = 16384, RULES = 64 };
    size_t before = heap_in_use();
    s6_state_store st;
    assert_int_equal(s6_state_store_init(&st, SLOTS, RULES), 0);
    /* a pointer per slot: 128 KiB, where a cell per (slot, rule) was 20 */
    assert_true(heap_in_use() - before <= (size_t)SLOTS * sizeof(void *) +
                                              4096);
    size_t empty = heap_in_use();
    for (int s = 0; s < 1000; s++)
        assert_int_not_equal(s6_state_set(&st, s, 3, "{\"step\":1}", 10), 0);
    /* a row of four cells and the string per slot that holds a state */
    assert_true(heap_in_use() - empty < 1000 * 160);
    s6_state_store_free(&st);
    assert_true(heap_in_use() <= before + 4096); /* everything went */
}

static void generations_move_forward(void **state)
{
    (void)state;
    s6_state_store st;
    assert_int_equal(s6_state_store_init(&st, 8, 4), 0);
    assert_int_equal(s6_state_gen(&st, 2, 1), 0);
    assert_null(s6_state_get(&st, 2, 1, NULL));
    s6_state_store_clear_slot(&st, 2); /* nothing held: nothing moves */
    assert_int_equal(s6_state_slot_gen(&st, 2), 0);

    assert_int_equal(s6_state_set(&st, 2, 1, "{\"a\":1}", 7), 1);
    size_t len = 0;
    assert_string_equal(s6_state_get(&st, 2, 1, &len), "{\"a\":1}");
    assert_int_equal(len, 7);
    assert_int_equal(s6_state_gen(&st, 2, 0), 0); /* a neighbour untouched */
    assert_int_equal(s6_state_set(&st, 2, 3, "{}", 2), 1); /* the row grows */
    assert_string_equal(s6_state_get(&st, 2, 1, NULL), "{\"a\":1}");
    unsigned slot_gen = s6_state_slot_gen(&st, 2);
    assert_int_equal(slot_gen, 2);

    s6_state_store_clear_slot(&st, 2); /* the position closed */
    assert_null(s6_state_get(&st, 2, 1, NULL));
    assert_int_equal(s6_state_gen(&st, 2, 1), 2);
    assert_true(s6_state_slot_gen(&st, 2) > slot_gen);
    assert_int_equal(s6_state_set(&st, 2, 1, "{\"a\":2}", 7), 3); /* reused */

    /* outside the shape: refused, nothing held */
    assert_int_equal(s6_state_set(&st, 8, 0, "{}", 2), 0);
    assert_int_equal(s6_state_set(&st, 0, 4, "{}", 2), 0);
    assert_int_equal(s6_state_set(&st, -1, 0, "{}", 2), 0);
    assert_null(s6_state_get(&st, 0, 4, NULL));
    s6_state_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sized_to_what_it_holds),
        cmocka_unit_test(generations_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
