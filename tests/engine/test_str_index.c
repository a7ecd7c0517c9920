/*
 * test_str_index: the string -> int map (util/str_index.c) through a book's churn:
 * positions come and go, ids are reused, tombstones never hide a live key
 * and the table grows past them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/str_index.h"

static void key_of(int i, char out[32])
{
    snprintf(out, 32, "pos-%d", i);
}

static void put_get_delete_reuse(void **state)
{
    (void)state;
    s6_index ix = { 0 };
    char k[32];
    assert_int_equal(s6_index_get(&ix, "none"), -1);
    for (int i = 0; i < 5000; i++) {
        key_of(i, k);
        assert_int_equal(s6_index_put(&ix, k, i), 0);
    }
    for (int i = 0; i < 5000; i += 2) { /* half of them close */
        key_of(i, k);
        s6_index_del(&ix, k);
    }
    for (int i = 0; i < 5000; i++) {
        key_of(i, k);
        assert_int_equal(s6_index_get(&ix, k), i % 2 ? i : -1);
    }
    /* churn: open and close far more keys than the table holds */
    for (int i = 5000; i < 50000; i++) {
        key_of(i, k);
        assert_int_equal(s6_index_put(&ix, k, i), 0);
        key_of(i - 1, k);
        if (i > 5000)
            s6_index_del(&ix, k);
    }
    assert_true(ix.cap <= 16384); /* tombstones were dropped on growth */
    for (int i = 1; i < 5000; i += 2) {
        key_of(i, k);
        assert_int_equal(s6_index_get(&ix, k), i);
        assert_int_equal(s6_index_put(&ix, k, i + 1), 0); /* a new value */
        assert_int_equal(s6_index_get(&ix, k), i + 1);
    }
    key_of(49999, k);
    assert_int_equal(s6_index_get(&ix, k), 49999);
    char long_key[S6_INDEX_KEY_MAX + 1];
    memset(long_key, 'x', sizeof long_key - 1);
    long_key[S6_INDEX_KEY_MAX] = '\0';
    assert_true(s6_index_put(&ix, long_key, 1) < 0);
    assert_true(s6_index_put(&ix, "neg", -1) < 0);
    s6_index_free(&ix);
    assert_int_equal(s6_index_get(&ix, "pos-1"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_delete_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
