/*
 * The exposition, byte for byte: small registries rendered and compared
 * with text written by hand from the format's specification (version
 * 0.0.4), so a change in spelling, ordering, escaping or float formatting
 * shows up as a diff.  The registry's own families come first in every
 * render; SELF is what they print while nothing was refused.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fixture.h"

#define SELF                                                                      \
    "# HELP s6_metrics_series_dropped_total Label-value tuples refused: reason "  \
    "cap (the metric holds its maximum of series) or bad_value (not UTF-8, too "  \
    "long)\n"                                                                     \
    "# TYPE s6_metrics_series_dropped_total counter\n"                            \
    "# HELP s6_metrics_invalid_values_total Updates dropped: a negative or NaN "  \
    "counter increment, a NaN histogram observation\n"                            \
    "# TYPE s6_metrics_invalid_values_total counter\n"                            \
    "# HELP s6_metrics_collector_errors_total Collector callbacks that failed "   \
    "during a render\n"                                                           \
    "# TYPE s6_metrics_collector_errors_total counter\n"                          \
    "s6_metrics_collector_errors_total 0\n"

static void reg(fx *x, s6_metric_desc d)
{
    int rc = s6_metrics_register(x->m, &d);
    if (rc != 0)
        fail_msg("register %s: %s", d.name, s6_metrics_last_error(x->m));
}

/* Renders and compares the text after the registry's own families. */
static void expect(fx *x, const char *want)
{
    const char *text = fx_text(x);
    size_t self = strlen(SELF);
    assert_memory_equal(text, SELF, self);
    assert_string_equal(text + self, want);
}

static void empty_registry_prints_its_own_families(void **state)
{
    fx *x = *state;
    expect(x, "");
}

static void counter_without_labels_shows_zero_then_counts(void **state)
{
    fx *x = *state;
    reg(x, (s6_metric_desc){.name = "s6_ticks_total", .type = S6_METRIC_COUNTER,
                            .help = "Manage ticks run"});
    expect(x, "# HELP s6_ticks_total Manage ticks run\n"
              "# TYPE s6_ticks_total counter\n"
              "s6_ticks_total 0\n");
    s6_counter *c;
    assert_int_equal(s6_counter_get(x->m, "s6_ticks_total", 0, NULL, &c), 0);
    s6_counter_inc(c);
    s6_counter_inc(c);
    s6_counter_add(c, 0.5);
    expect(x, "# HELP s6_ticks_total Manage ticks run\n"
              "# TYPE s6_ticks_total counter\n"
              "s6_ticks_total 2.5\n");
}

static void labelled_series_appear_on_first_use_in_creation_order(void **state)
{
    fx *x = *state;
    reg(x, (s6_metric_desc){.name = "s6_stop_moves_total", .type = S6_METRIC_COUNTER,
                            .labels = {"symbol"}, .help = "Stop moves"});
    expect(x, "# HELP s6_stop_moves_total Stop moves\n"
              "# TYPE s6_stop_moves_total counter\n");
    s6_counter *eth, *btc, *again;
    assert_int_equal(s6_counter_get(x->m, "s6_stop_moves_total", 1, S6_LABELS("ETHUSDT"), &eth), 0);
    assert_int_equal(s6_counter_get(x->m, "s6_stop_moves_total", 1, S6_LABELS("BTCUSDT"), &btc), 0);
    assert_int_equal(s6_counter_get(x->m, "s6_stop_moves_total", 1, S6_LABELS("ETHUSDT"), &again), 0);
    assert_ptr_equal(eth, again);
    s6_counter_inc(btc);
    s6_counter_add(eth, 3);
    expect(x, "# HELP s6_stop_moves_total Stop moves\n"
              "# TYPE s6_stop_moves_total counter\n"
              "s6_stop_moves_total{symbol=\"ETHUSDT\"} 3\n"
              "s6_stop_moves_total{symbol=\"BTCUSDT\"} 1\n");
}

static void gauge_with_two_labels(void **state)
{
    fx *x = *state;
    reg(x, (s6_metric_desc){.name = "s6_unrealized_pnl", .type = S6_METRIC_GAUGE,
                            .labels = {"market", "symbol"}, .help = "PnL, quote"});
    s6_gauge *g;
    assert_int_equal(s6_gauge_get(x->m, "s6_unrealized_pnl", 2, S6_LABELS("FUT", "BTCUSDT"), &g), 0);
    s6_gauge_set(g, -12.25);
    s6_gauge_add(g, 2);
    expect(x, "# HELP s6_unrealized_pnl PnL, quote\n"
              "# TYPE s6_unrealized_pnl gauge\n"
              "s6_unrealized_pnl{market=\"FUT\",symbol=\"BTCUSDT\"} -10.25\n");
}

static void histogram_buckets_are_cumulative_up_to_inf(void **state)
{
    fx *x = *state;
    static const double b[] = {0.005, 0.01, 0.1};
    reg(x, (s6_metric_desc){.name = "s6_s4_request_seconds", .type = S6_METRIC_HISTOGRAM,
                            .labels = {"endpoint"}, .buckets = b, .n_buckets = 3,
                            .help = "S4 round trips"});
    s6_hist *h;
    assert_int_equal(s6_hist_get(x->m, "s6_s4_request_seconds", 1, S6_LABELS("orders"), &h), 0);
    s6_hist_observe(h, 0.005); /* on a bound: counts in that bucket (le) */
    s6_hist_observe(h, 0.002);
    s6_hist_observe(h, 0.05);
    s6_hist_observe(h, 3);     /* above every bound: only +Inf */
    expect(x, "# HELP s6_s4_request_seconds S4 round trips\n"
              "# TYPE s6_s4_request_seconds histogram\n"
              "s6_s4_request_seconds_bucket{endpoint=\"orders\",le=\"0.005\"} 2\n"
              "s6_s4_request_seconds_bucket{endpoint=\"orders\",le=\"0.01\"} 2\n"
              "s6_s4_request_seconds_bucket{endpoint=\"orders\",le=\"0.1\"} 3\n"
              "s6_s4_request_seconds_bucket{endpoint=\"orders\",le=\"+Inf\"} 4\n"
              "s6_s4_request_seconds_sum{endpoint=\"orders\"} 3.057\n"
              "s6_s4_request_seconds_count{endpoint=\"orders\"} 4\n");
    assert_int_equal(s6_hist_count(h), 4);
}

static void histogram_without_labels_starts_at_zero(void **state)
{
    fx *x = *state;
    static const double b[] = {1e-05, 1, 1e6};
    reg(x, (s6_metric_desc){.name = "s6_rule_eval_seconds", .type = S6_METRIC_HISTOGRAM,
                            .buckets = b, .n_buckets = 3, .help = "Batch time"});
    expect(x, "# HELP s6_rule_eval_seconds Batch time\n"
              "# TYPE s6_rule_eval_seconds histogram\n"
              "s6_rule_eval_seconds_bucket{le=\"1e-05\"} 0\n"
              "s6_rule_eval_seconds_bucket{le=\"1\"} 0\n"
              "s6_rule_eval_seconds_bucket{le=\"1e+06\"} 0\n"
              "s6_rule_eval_seconds_bucket{le=\"+Inf\"} 0\n"
              "s6_rule_eval_seconds_sum 0\n"
              "s6_rule_eval_seconds_count 0\n");
}

static void label_values_and_help_are_escaped(void **state)
{
    fx *x = *state;
    reg(x, (s6_metric_desc){.name = "s6_odd", .type = S6_METRIC_GAUGE,
                            .labels = {"v"},
                            .help = "back\\slash, \"quotes\" stay, new\nline"});
    s6_gauge *g;
    assert_int_equal(s6_gauge_get(x->m, "s6_odd", 1, S6_LABELS("a\\b\"c\nd"), &g), 0);
    s6_gauge_set(g, 1);
    assert_int_equal(s6_gauge_get(x->m, "s6_odd", 1, S6_LABELS("é €"), &g), 0);
    s6_gauge_set(g, 2);
    assert_int_equal(s6_gauge_get(x->m, "s6_odd", 1, S6_LABELS(""), &g), 0);
    s6_gauge_set(g, 3);
    expect(x, "# HELP s6_odd back\\\\slash, \"quotes\" stay, new\\nline\n"
              "# TYPE s6_odd gauge\n"
              "s6_odd{v=\"a\\\\b\\\"c\\nd\"} 1\n"
              "s6_odd{v=\"é €\"} 2\n"
              "s6_odd{v=\"\"} 3\n");
}

static void special_floats_are_spelled_as_prometheus_does(void **state)
{
    fx *x = *state;
    reg(x, (s6_metric_desc){.name = "s6_f", .type = S6_METRIC_GAUGE,
                            .labels = {"k"}, .help = "f"});
    static const struct {
        const char *k;
        double v;
    } rows[] = {{"nan", NAN}, {"pinf", INFINITY}, {"minf", -INFINITY},
                {"big", 1.5e300}, {"tiny", 2.5e-300}, {"third", 1.0 / 3}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        s6_gauge *g;
        assert_int_equal(s6_gauge_get(x->m, "s6_f", 1, S6_LABELS(rows[i].k), &g), 0);
        s6_gauge_set(g, rows[i].v);
    }
    expect(x, "# HELP s6_f f\n"
              "# TYPE s6_f gauge\n"
              "s6_f{k=\"nan\"} NaN\n"
              "s6_f{k=\"pinf\"} +Inf\n"
              "s6_f{k=\"minf\"} -Inf\n"
              "s6_f{k=\"big\"} 1.5e+300\n"
              "s6_f{k=\"tiny\"} 2.5e-300\n"
              "s6_f{k=\"third\"} 0.3333333333333333\n");
}

/* The shortest text that reads back to the same double, with Go's switch
 * between plain and exponent notation (exponents -4..5 plain). */
static void float_formatting_table(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } rows[] = {
        {0, "0"}, {-0.0, "-0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"},
        {0.3, "0.3"}, {0.1 + 0.2, "0.30000000000000004"}, {100000, "100000"},
        {123456, "123456"}, {1e6, "1e+06"}, {1234567, "1.234567e+06"},
        {0.0001, "0.0001"}, {0.00001, "1e-05"}, {0.000123, "0.000123"},
        {12.5, "12.5"}, {-0.075, "-0.075"}, {9007199254740993.0, "9.007199254740992e+15"},
        {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {NAN, "NaN"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[S6_METRICS_FLOAT_LEN];
        size_t n = s6_metrics_format_double(rows[i].v, buf);
        assert_string_equal(buf, rows[i].want);
        assert_int_equal(n, strlen(rows[i].want));
    }
}

static int count_collector(s6_metrics *m, void *ud)
{
    int *n = ud;
    s6_gauge *g;
    (*n)++;
    static const char *const symbols[] = {"BTCUSDT", "ETHUSDT", "SOLUSDT"};
    /* Each render reports fewer symbols: the closed ones must vanish. */
    for (int i = 0; i < 3 - *n + 1 && i < 3; i++) {
        if (s6_gauge_get(m, "s6_positions", 2, S6_LABELS("ACTIVE", symbols[i]), &g) < 0)
            return -EIO;
        s6_gauge_add(g, 1); /* reset to 0 at the round's first lookup */
    }
    return 0;
}

static void collected_family_shows_only_this_renders_series(void **state)
{
    fx *x = *state;
    reg(x, (s6_metric_desc){.name = "s6_positions", .type = S6_METRIC_GAUGE,
                            .labels = {"state", "symbol"}, .collected = true,
                            .help = "Positions"});
    int calls = 0;
    assert_int_equal(s6_metrics_add_collector(x->m, count_collector, &calls), 0);
    expect(x, "# HELP s6_positions Positions\n"
              "# TYPE s6_positions gauge\n"
              "s6_positions{state=\"ACTIVE\",symbol=\"BTCUSDT\"} 1\n"
              "s6_positions{state=\"ACTIVE\",symbol=\"ETHUSDT\"} 1\n"
              "s6_positions{state=\"ACTIVE\",symbol=\"SOLUSDT\"} 1\n");
    expect(x, "# HELP s6_positions Positions\n"
              "# TYPE s6_positions gauge\n"
              "s6_positions{state=\"ACTIVE\",symbol=\"BTCUSDT\"} 1\n"
              "s6_positions{state=\"ACTIVE\",symbol=\"ETHUSDT\"} 1\n");
    assert_int_equal(calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T FX_TEST
        T(empty_registry_prints_its_own_families),
        T(counter_without_labels_shows_zero_then_counts),
        T(labelled_series_appear_on_first_use_in_creation_order),
        T(gauge_with_two_labels),
        T(histogram_buckets_are_cumulative_up_to_inf),
        T(histogram_without_labels_starts_at_zero),
        T(label_values_and_help_are_escaped),
        T(special_floats_are_spelled_as_prometheus_does),
        T(float_formatting_table),
        T(collected_family_shows_only_this_renders_series),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
