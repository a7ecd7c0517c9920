/* The JSON-lines logger: line shape, escaping, levels and fields.  Lines
 * are captured through the sink and read back with jansson's parser. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/buf.h"
#include "util/log.h"

typedef struct capture {
    s6_buf text;
    int calls;
} capture;

static void sink(void *ud, const char *line, size_t len)
{
    capture *c = ud;
    s6_buf_append(&c->text, line, len);
    c->calls++;
}

static int64_t fixed_clock(void *ud)
{
    return *(int64_t *)ud;
}

typedef struct ctx {
    s6_log log;
    capture cap;
    int64_t now;
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    s6_log_init(&c->log, S6_LOG_DEBUG);
    s6_log_set_sink(&c->log, sink, &c->cap);
    c->now = 1764100327123; /* 2025-11-25T19:52:07.123Z */
    s6_log_set_clock(&c->log, fixed_clock, &c->now);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    s6_buf_free(&c->cap.text);
    free(c);
    return 0;
}

/* The one line captured so far, parsed; fails unless exactly one. */
static json_t *only_line(ctx *c)
{
    assert_int_equal(c->cap.calls, 1);
    const char *text = c->cap.text.data;
    size_t len = c->cap.text.len;
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_ptr_equal(strchr(text, '\n'), text + len - 1);
    json_error_t err;
    json_t *o = json_loadb(text, len - 1, 0, &err);
    if (!json_is_object(o))
        fail_msg("not a JSON object (%s): %s", err.text, text);
    return o;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void line_has_fixed_keys_first(void **state)
{
    ctx *c = *state;
    s6_log_info(&c->log, "http", "listening", S6_LOG_INT("port", 8086));
    assert_string_equal(c->cap.text.data,
                        "{\"ts\":\"2025-11-25T19:52:07.123Z\",\"level\":\"info\","
                        "\"component\":\"http\",\"msg\":\"listening\","
                        "\"port\":8086}\n");
}

static void timestamps_are_rfc3339_utc_ms(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *ts;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { 951782400000, "2000-02-29T00:00:00.000Z" },
        { 1764100327123, "2025-11-25T19:52:07.123Z" },
        { 253402300799999, "9999-12-31T23:59:59.999Z" },
    };
    char out[25];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(s6_log_format_ts(cases[i].ms, out), 0);
        assert_string_equal(out, cases[i].ts);
    }
    assert_int_equal(s6_log_format_ts(253402300800000, out), -ERANGE);
}

static void text_is_escaped(void **state)
{
    ctx *c = *state;
    const char *nasty = "say \"hi\"\\ then\nnew line\ttab \x01 bell \x1f "
                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 </script>";
    s6_log_warn(&c->log, "comp\"x", nasty, S6_LOG_STR("path", nasty));
    json_t *o = only_line(c);
    assert_string_equal(str(o, "msg"), nasty);
    assert_string_equal(str(o, "path"), nasty);
    assert_string_equal(str(o, "component"), "comp\"x");
    assert_string_equal(str(o, "level"), "warn");
    json_decref(o);
    /* Control characters never appear raw inside the line. */
    for (size_t i = 0; i + 1 < c->cap.text.len; i++)
        assert_true((unsigned char)c->cap.text.data[i] >= 0x20);
    assert_non_null(strstr(c->cap.text.data, "\\u0001"));
}

static void invalid_utf8_becomes_replacement(void **state)
{
    ctx *c = *state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "a\xff" "b", "a\xef\xbf\xbd" "b" },
        { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },        /* overlong '/' */
        { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
        { "\xf4\x90\x80\x80!", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!" },
        { "ok\xe2\x82", "ok\xef\xbf\xbd\xef\xbf\xbd" },   /* cut short */
        { "\xc3\xa9", "\xc3\xa9" },                        /* valid stays */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s6_buf_reset(&c->cap.text);
        c->cap.calls = 0;
        s6_log_info(&c->log, "t", "bytes", S6_LOG_STR("v", cases[i].in));
        json_t *o = only_line(c);
        assert_string_equal(str(o, "v"), cases[i].out);
        json_decref(o);
    }
}

static void threshold_filters_levels(void **state)
{
    ctx *c = *state;
    c->log.level = S6_LOG_WARN;
    s6_log_debug(&c->log, "t", "d");
    s6_log_info(&c->log, "t", "i");
    assert_int_equal(c->cap.calls, 0);
    s6_log_warn(&c->log, "t", "w");
    s6_log_error(&c->log, "t", "e");
    assert_int_equal(c->cap.calls, 2);
    assert_non_null(strstr(c->cap.text.data, "\"level\":\"warn\""));
    assert_non_null(strstr(c->cap.text.data, "\"level\":\"error\""));
    c->log.level = S6_LOG_OFF;
    s6_log_error(&c->log, "t", "e");
    assert_int_equal(c->cap.calls, 2);
    assert_false(s6_log_enabled(&c->log, S6_LOG_ERROR));
    assert_false(s6_log_enabled(NULL, S6_LOG_ERROR));
    s6_log_error(NULL, "t", "nobody listens"); /* must not crash */
}

static void level_names_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        s6_log_level level;
    } good[] = {
        { "debug", S6_LOG_DEBUG }, { "INFO", S6_LOG_INFO },
        { "Warn", S6_LOG_WARN },   { "warning", S6_LOG_WARN },
        { "error", S6_LOG_ERROR }, { "off", S6_LOG_OFF },
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        s6_log_level l = S6_LOG_ERROR;
        assert_int_equal(s6_log_level_parse(good[i].name, &l), 0);
        assert_int_equal(l, good[i].level);
    }
    static const char *const bad[] = { "verbose", "", "info ", "3" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s6_log_level l = S6_LOG_INFO;
        assert_int_equal(s6_log_level_parse(bad[i], &l), -EINVAL);
        assert_int_equal(l, S6_LOG_INFO);
    }
    s6_log_level l = S6_LOG_INFO;
    assert_int_equal(s6_log_level_parse(NULL, &l), -EINVAL);
}

static void fields_keep_type_and_order(void **state)
{
    ctx *c = *state;
    s6_log_info(&c->log, "engine", "plan",
                S6_LOG_STR("pos_id", "p-1"), S6_LOG_STR("plan_id", "pl-9"),
                S6_LOG_STR("intent_id", NULL), S6_LOG_INT("big", LLONG_MAX),
                S6_LOG_INT("neg", -5), S6_LOG_NUM("px", 0.1),
                S6_LOG_NUM("third", 1.0 / 3.0), S6_LOG_NUM("nan", NAN),
                S6_LOG_NUM("inf", -INFINITY), S6_LOG_BOOL("dry", true));
    json_t *o = only_line(c);
    assert_string_equal(str(o, "pos_id"), "p-1");
    assert_string_equal(str(o, "plan_id"), "pl-9");
    assert_true(json_is_null(json_object_get(o, "intent_id")));
    assert_true(json_integer_value(json_object_get(o, "big")) == LLONG_MAX);
    assert_int_equal(json_integer_value(json_object_get(o, "neg")), -5);
    assert_true(json_real_value(json_object_get(o, "px")) == 0.1);
    assert_true(json_real_value(json_object_get(o, "third")) == 1.0 / 3.0);
    assert_true(json_is_null(json_object_get(o, "nan")));
    assert_true(json_is_null(json_object_get(o, "inf")));
    assert_true(json_is_true(json_object_get(o, "dry")));
    json_decref(o);
    /* Order as given, after the fixed four. */
    const char *t = c->cap.text.data;
    assert_true(strstr(t, "\"msg\"") < strstr(t, "\"pos_id\""));
    assert_true(strstr(t, "\"pos_id\"") < strstr(t, "\"plan_id\""));
    assert_true(strstr(t, "\"nan\"") < strstr(t, "\"dry\""));
}

static void short_reals_print_short(void **state)
{
    ctx *c = *state;
    s6_log_info(&c->log, "t", "m", S6_LOG_NUM("px", 0.1),
                S6_LOG_NUM("qty", 25000.5));
    assert_non_null(strstr(c->cap.text.data, "\"px\":0.1,"));
    assert_non_null(strstr(c->cap.text.data, "\"qty\":25000.5}"));
}

static void fixed_keys_cannot_be_forged(void **state)
{
    ctx *c = *state;
    s6_log_info(&c->log, "t", "real", S6_LOG_STR("level", "error"),
                S6_LOG_STR("ts", "yesterday"), S6_LOG_STR("msg", "fake"),
                S6_LOG_STR("k", "first"), S6_LOG_STR("k", "second"),
                S6_LOG_STR(NULL, "no key"));
    json_t *o = only_line(c);
    assert_string_equal(str(o, "level"), "info");
    assert_string_equal(str(o, "ts"), "2025-11-25T19:52:07.123Z");
    assert_string_equal(str(o, "msg"), "real");
    assert_string_equal(str(o, "k"), "first");
    assert_int_equal(json_object_size(o), 5);
    json_decref(o);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(line_has_fixed_keys_first),
        T(timestamps_are_rfc3339_utc_ms),
        T(text_is_escaped),
        T(invalid_utf8_becomes_replacement),
        T(threshold_filters_levels),
        T(level_names_parse),
        T(fields_keep_type_and_order),
        T(short_reals_print_short),
        T(fixed_keys_cannot_be_forged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
