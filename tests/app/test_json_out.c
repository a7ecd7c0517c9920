/*
 * test_json_out.c — the JSON writer (util/json_out.h) against jansson:
 * for the same values in the same order, the writer's text must be the
 * bytes json_dumps(JSON_COMPACT) gave, so the answers it now builds keep
 * their contract (reals, escapes, nesting), and what jansson refuses to
 * hold (a string not UTF-8) fails the writer too.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/json_out.h"

static void same_text(const char *got, json_t *doc)
{
    assert_non_null(doc);
    char *want = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    assert_non_null(want);
    assert_string_equal(got, want);
    free(want);
}

static void real_as_jansson(double v)
{
    s6_buf b = { 0 };
    s6_jw w;
    s6_jw_init(&w, &b);
    s6_jw_real(&w, v);
    assert_int_equal(s6_jw_finish(&w), 0);
    same_text(b.data, json_real(v));
    s6_buf_free(&b);
}

static void reals(void **state)
{
    (void)state;
    static const double vs[] = {
        0.0, -0.0, 1.0, -1.0, 0.8, 0.1 + 0.2, 60000.0, 59000.5, 1e15, 1e16,
        1e17, 123456789012345678.0, 1e21, 1e22, 1e100, 1e300, -1e-300, 1e-5,
        1e-7, 0.025000000000000008, 64430.633333333317, 5e-324, DBL_MAX,
        -DBL_MAX, DBL_MIN, 3.0e-10, 2.5e+25, 1.0 / 3.0, 100.0, 0.5,
    };
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++)
        real_as_jansson(vs[i]);
    /* random bit patterns: every finite double a position might hold */
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (isfinite(d))
            real_as_jansson(d);
    }
}

static void not_finite_is_null(void **state)
{
    (void)state;
    s6_buf b = { 0 };
    s6_jw w;
    s6_jw_init(&w, &b);
    s6_jw_arr(&w);
    s6_jw_real(&w, NAN);
    s6_jw_real(&w, INFINITY);
    s6_jw_real(&w, -INFINITY);
    s6_jw_end_arr(&w);
    assert_int_equal(s6_jw_finish(&w), 0);
    assert_string_equal(b.data, "[null,null,null]");
    char t[40];
    assert_int_equal(s6_jw_real_text(t, sizeof t, NAN), 0);
    s6_buf_free(&b);
}

static void ints(void **state)
{
    (void)state;
    static const long long vs[] = { 0, 1, -1, 9, 10, -10, 123456789,
                                    LLONG_MAX, LLONG_MIN, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        s6_buf b = { 0 };
        s6_jw w;
        s6_jw_init(&w, &b);
        s6_jw_int(&w, vs[i]);
        assert_int_equal(s6_jw_finish(&w), 0);
        same_text(b.data, json_integer(vs[i]));
        s6_buf_free(&b);
    }
}

static void strings(void **state)
{
    (void)state;
    static const char *const vs[] = {
        "", "plain", "quote \" and backslash \\", "slash / stays",
        "\b\f\n\r\t", "\x01\x02\x1f\x7f", "tab\tin the middle",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x80\xa8 U+2028",
        "key\"}]{,:", "\xef\xbf\xbf \xf4\x8f\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        s6_buf b = { 0 };
        s6_jw w;
        s6_jw_init(&w, &b);
        s6_jw_obj(&w);
        s6_jw_kstr(&w, vs[i], vs[i]);
        s6_jw_end_obj(&w);
        assert_int_equal(s6_jw_finish(&w), 0);
        same_text(b.data, json_pack("{s:s}", vs[i], vs[i]));
        s6_buf_free(&b);
    }
}

/* jansson will not hold these; the writer fails the document instead of
 * sending bytes a client cannot parse. */
static void not_utf8_fails(void **state)
{
    (void)state;
    static const char *const vs[] = {
        "\x80", "a\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "cut \xe2\x82",
        "\xf0\x8f\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof vs / sizeof *vs; i++) {
        assert_null(json_string(vs[i]));
        s6_buf b = { 0 };
        s6_jw w;
        s6_jw_init(&w, &b);
        s6_jw_obj(&w);
        s6_jw_kstr(&w, "k", vs[i]);
        s6_jw_kint(&w, "after", 1);
        s6_jw_end_obj(&w);
        assert_int_equal(s6_jw_finish(&w), -EILSEQ);
        s6_buf_free(&b);
    }
}

/* Nesting, commas, every kind of value, an embedded tree: the shape of an
 * answer, as the tree would have printed it. */
static void a_document(void **state)
{
    (void)state;
    json_t *open = json_pack("{s:s,s:[i,b]}", "a", "x\n", "b", 1, 0);
    s6_buf b = { 0 };
    s6_buf_puts(&b, ""); /* appends after what the buffer holds */
    s6_jw w;
    s6_jw_init(&w, &b);
    s6_jw_obj(&w);
    s6_jw_kobj(&w, "plan");
    s6_jw_knull(&w, "plan_id");
    s6_jw_kstr(&w, "position_id", "P-1");
    s6_jw_karr(&w, "actions");
    s6_jw_obj(&w);
    s6_jw_kstr(&w, "action", "STOP_MOVE");
    s6_jw_kreal(&w, "old_value", 58000);
    s6_jw_kreal(&w, "new_value", 59000.25);
    s6_jw_end_obj(&w);
    s6_jw_obj(&w);
    s6_jw_end_obj(&w);
    s6_jw_end_arr(&w);
    s6_jw_karr(&w, "reduce");
    s6_jw_end_arr(&w);
    s6_jw_kbool(&w, "dry", true);
    s6_jw_kbool(&w, "no", false);
    s6_jw_end_obj(&w);
    s6_jw_karr(&w, "list");
    s6_jw_int(&w, 1);
    s6_jw_str(&w, NULL);
    s6_jw_real(&w, 0.5);
    s6_jw_arr(&w);
    s6_jw_end_arr(&w);
    s6_jw_end_arr(&w);
    s6_jw_key(&w, "open");
    s6_jw_json(&w, open);
    s6_jw_key(&w, "none");
    s6_jw_json(&w, NULL);
    s6_jw_end_obj(&w);
    assert_int_equal(s6_jw_finish(&w), 0);
    json_t *doc = json_pack(
        "{s:{s:n,s:s,s:[{s:s,s:f,s:f},{}],s:[],s:b,s:b},s:[i,n,f,[]],s:O,s:n}",
        "plan", "plan_id", "position_id", "P-1", "actions", "action",
        "STOP_MOVE", "old_value", 58000.0, "new_value", 59000.25, "reduce",
        "dry", 1, "no", 0, "list", 1, 0.5, "open", open, "none");
    json_decref(open);
    same_text(b.data, doc);
    s6_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reals),
        cmocka_unit_test(not_finite_is_null),
        cmocka_unit_test(ints),
        cmocka_unit_test(strings),
        cmocka_unit_test(not_utf8_fails),
        cmocka_unit_test(a_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
