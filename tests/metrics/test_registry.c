/*
 * The registry: what it refuses at registration (each bad field alone,
 * with the field named in the error and nothing registered), lookups that
 * fail but still hand out a usable handle, the per-metric series cap and
 * its overflow count, invalid updates, collectors, and the catalogue.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* s6_moves_total{symbol}, the family most tests look series up in. */
static s6_metrics *with_moves(void **state, size_t max_series)
{
    s6_metric_desc d = {.name = "s6_moves_total", .type = S6_METRIC_COUNTER,
                        .labels = {"symbol"}, .help = "h", .max_series = max_series};
    assert_int_equal(s6_metrics_register(fx_m(state), &d), 0);
    return fx_m(state);
}

static const double good_buckets[] = {0.1, 1};
static const double unsorted[] = {1, 0.1};
static const double repeated[] = {0.1, 0.1};
static const double with_inf[] = {0.1, INFINITY};
static const double with_nan[] = {NAN};

/* Each row breaks one field of an otherwise valid description. */
static const struct {
    s6_metric_desc d;
    const char *why; /* a piece of the expected error message */
} refused[] = {
    {{.name = "", .type = S6_METRIC_GAUGE, .help = "h"}, "name"},
    {{.name = "9lives", .type = S6_METRIC_GAUGE, .help = "h"}, "name"},
    {{.name = "s6-dash", .type = S6_METRIC_GAUGE, .help = "h"}, "name"},
    {{.name = "s6 space", .type = S6_METRIC_GAUGE, .help = "h"}, "name"},
    {{.name = "s6_é", .type = S6_METRIC_GAUGE, .help = "h"}, "name"},
    {{.name = NULL, .type = S6_METRIC_GAUGE, .help = "h"}, "name"},
    {{.name = "s6_moves", .type = S6_METRIC_COUNTER, .help = "h"}, "ends in _total"},
    {{.name = "s6_level_total", .type = S6_METRIC_GAUGE, .help = "h"}, "only counters"},
    {{.name = "s6_latency_ms", .type = S6_METRIC_GAUGE, .help = "h"}, "use _seconds"},
    {{.name = "s6_wait_milliseconds_total", .type = S6_METRIC_COUNTER, .help = "h"},
     "use _seconds"},
    {{.name = "s6_heap_megabytes", .type = S6_METRIC_GAUGE, .help = "h"}, "use _bytes"},
    {{.name = "s6_usage_percent", .type = S6_METRIC_GAUGE, .help = "h"}, "_ratio"},
    {{.name = "s6_g", .type = 0, .help = "h"}, "type"},
    {{.name = "s6_g", .type = 9, .help = "h"}, "type"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = ""}, "help"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = NULL}, "help"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "bad \xff"}, "help"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "h", .labels = {"__name"}}, "labels[0]"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "h", .labels = {"a:b"}}, "labels[0]"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "h", .labels = {"1a"}}, "labels[0]"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "h", .labels = {"a", "a"}}, "repeated"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "h", .labels = {NULL, "a"}},
     "follows an empty slot"},
    {{.name = "s6_g", .type = S6_METRIC_GAUGE, .help = "h", .buckets = good_buckets,
      .n_buckets = 2}, "only a histogram"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h"}, "needs 1 to"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h", .buckets = good_buckets,
      .n_buckets = 2, .labels = {"le"}}, "le is the histogram's own"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h", .buckets = unsorted,
      .n_buckets = 2}, "buckets[1]"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h", .buckets = repeated,
      .n_buckets = 2}, "buckets[1]"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h", .buckets = with_inf,
      .n_buckets = 2}, "buckets[1]: not finite"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h", .buckets = with_nan,
      .n_buckets = 1}, "buckets[0]"},
    {{.name = "s6_h", .type = S6_METRIC_HISTOGRAM, .help = "h", .buckets = good_buckets,
      .n_buckets = S6_METRICS_MAX_BUCKETS + 1}, "needs 1 to"},
};

static void bad_descriptions_are_refused_and_change_nothing(void **state)
{
    s6_metrics *m = fx_m(state);
    char *before = strdup(fx_render(state));
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int rc = s6_metrics_register(m, &refused[i].d);
        if (rc != -EINVAL || strstr(s6_metrics_last_error(m), refused[i].why) == NULL)
            fail_msg("row %zu (%s): rc %d, error \"%s\", wanted \"%s\"", i,
                     refused[i].d.name ? refused[i].d.name : "(null)", rc,
                     s6_metrics_last_error(m), refused[i].why);
    }
    assert_int_equal(s6_metrics_register(m, NULL), -EINVAL);
    assert_string_equal(fx_render(state), before);
    free(before);
}

static void names_taken_by_a_family_or_its_samples_are_refused(void **state)
{
    s6_metrics *m = fx_m(state);
    s6_metric_desc h = {.name = "s6_lat_seconds", .type = S6_METRIC_HISTOGRAM,
                        .help = "h", .buckets = good_buckets, .n_buckets = 2};
    s6_metric_desc g = {.name = "s6_level", .type = S6_METRIC_GAUGE, .help = "h"};
    assert_int_equal(s6_metrics_register(m, &h), 0);
    assert_int_equal(s6_metrics_register(m, &g), 0);
    static const struct {
        const char *name;
        s6_metric_type type;
    } taken[] = {
        {"s6_lat_seconds", S6_METRIC_GAUGE},        /* the family itself */
        {"s6_lat_seconds_count", S6_METRIC_GAUGE},  /* a histogram's sample */
        {"s6_lat_seconds_bucket", S6_METRIC_GAUGE},
        {"s6_lat_seconds_sum", S6_METRIC_GAUGE},
        {"s6_level", S6_METRIC_GAUGE},
        {"s6_metrics_series_dropped_total", S6_METRIC_COUNTER}, /* the registry's */
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        s6_metric_desc d = {.name = taken[i].name, .type = taken[i].type, .help = "h"};
        assert_int_equal(s6_metrics_register(m, &d), -EEXIST);
        assert_non_null(strstr(s6_metrics_last_error(m), "already exposed"));
    }
    /* A new histogram whose _sum would be an existing gauge's name. */
    s6_metric_desc g2 = {.name = "s6_depth_sum", .type = S6_METRIC_GAUGE, .help = "h"};
    assert_int_equal(s6_metrics_register(m, &g2), 0);
    s6_metric_desc h2 = {.name = "s6_depth", .type = S6_METRIC_HISTOGRAM, .help = "h",
                         .buckets = good_buckets, .n_buckets = 2};
    assert_int_equal(s6_metrics_register(m, &h2), -EEXIST);
    assert_non_null(strstr(s6_metrics_last_error(m),
                           "s6_depth_sum is already exposed by s6_depth_sum"));
}

static void good_names_pass(void **state)
{
    (void)state;
    static const char *const metric_ok[] = {"a", "_x", ":x", "s6:rate_5m", "A_b_C9"};
    static const char *const label_ok[] = {"a", "_x", "symbol", "le", "_a_"};
    static const char *const label_bad[] = {"", "__x", "a:b", "1a", "a-b", NULL};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(s6_metrics_check_name(metric_ok[i]), 0);
        assert_int_equal(s6_metrics_check_label_name(label_ok[i]), 0);
    }
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(s6_metrics_check_label_name(label_bad[i]), -EINVAL);
}

static void failed_lookups_hand_out_a_harmless_handle(void **state)
{
    s6_metrics *m = with_moves(state, 0);
    s6_counter *c = NULL;
    s6_gauge *g = NULL;
    s6_hist *h = NULL;
    assert_int_equal(s6_counter_get(m, "s6_nope_total", 0, NULL, &c), -ENOENT);
    assert_non_null(strstr(s6_metrics_last_error(m), "s6_nope_total: no such metric"));
    s6_counter_inc(c);
    assert_int_equal(s6_gauge_get(m, "s6_moves_total", 1, S6_LABELS("X"), &g), -EPROTO);
    assert_non_null(strstr(s6_metrics_last_error(m), "is a counter, not a gauge"));
    s6_gauge_set(g, 5);
    assert_int_equal(s6_hist_get(m, "s6_moves_total", 1, S6_LABELS("X"), &h), -EPROTO);
    s6_hist_observe(h, 1);
    s6_hist_observe(h, NAN);
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 0, NULL, &c), -EINVAL);
    assert_non_null(strstr(s6_metrics_last_error(m), "0 label values given, the metric has 1"));
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 2, S6_LABELS("a", "b"), &c), -EINVAL);
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(NULL), &c), -EINVAL);
    assert_non_null(strstr(s6_metrics_last_error(m), "label symbol: value missing"));
    assert_int_equal(s6_counter_get(m, NULL, 0, NULL, &c), -ENOENT);
    s6_counter_add(c, -1);
    /* Nothing of this reached the scrape: no series, no invalid counts. */
    const char *text = fx_render(state);
    assert_null(strstr(text, "s6_moves_total{"));
    assert_null(strstr(text, "s6_metrics_invalid_values_total{"));
}

static void bad_label_values_are_refused_and_counted(void **state)
{
    s6_metrics *m = with_moves(state, 0);
    char longest[S6_METRICS_LABEL_VALUE_MAX + 2];
    memset(longest, 'A', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    static const char *const bad[] = {
        "\xff", "\xc0\x80" /* overlong NUL */, "\xed\xa0\x80" /* surrogate */,
        "\xf4\x90\x80\x80" /* > U+10FFFF */, "\xe2\x82" /* cut short */};
    s6_counter *c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(bad[i]), &c), -EINVAL);
        assert_non_null(strstr(s6_metrics_last_error(m), "not UTF-8"));
    }
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(longest), &c), -EINVAL);
    assert_non_null(strstr(s6_metrics_last_error(m), "longer than 128 bytes"));
    longest[S6_METRICS_LABEL_VALUE_MAX] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(longest), &c), 0);
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS("€𝄞"), &c), 0);
    assert_non_null(strstr(fx_render(state),
        "s6_metrics_series_dropped_total{metric=\"s6_moves_total\",reason=\"bad_value\"} 6\n"));
}

static void series_cap_refuses_new_tuples_and_counts_them(void **state)
{
    s6_metrics *m = with_moves(state, 3);
    s6_counter *c[3], *extra;
    char sym[16];
    for (int i = 0; i < 3; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(sym), &c[i]), 0);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(sym, sizeof sym, "X%d", i);
        assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(sym), &extra), -ENOSPC);
        assert_non_null(strstr(s6_metrics_last_error(m),
                               "s6_moves_total: holds its maximum of 3 series"));
        s6_counter_inc(extra); /* goes nowhere, crashes nothing */
    }
    /* Existing tuples are still found. */
    assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS("S1"), &extra), 0);
    assert_ptr_equal(extra, c[1]);
    s6_counter_inc(c[1]);
    const char *text = fx_render(state);
    assert_non_null(strstr(text,
        "s6_metrics_series_dropped_total{metric=\"s6_moves_total\",reason=\"cap\"} 5\n"));
    assert_non_null(strstr(text, "s6_moves_total{symbol=\"S1\"} 1\n"));
    assert_null(strstr(text, "X0"));
}

/* Thousands of symbols (the hash chains grow many times over): each
 * lookup finds its own series again, and the exposition keeps the order
 * of creation. */
static void many_series_are_found_again(void **state)
{
    enum { N = 3000 };
    s6_metrics *m = with_moves(state, N);
    static s6_counter *first[N];
    char sym[16];
    for (int i = 0; i < N; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(sym), &first[i]), 0);
        for (int k = 0; k < i % 3; k++)
            s6_counter_inc(first[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        s6_counter *again;
        snprintf(sym, sizeof sym, "S%d", i);
        assert_int_equal(s6_counter_get(m, "s6_moves_total", 1, S6_LABELS(sym), &again), 0);
        assert_ptr_equal(again, first[i]);
    }
    const char *text = fx_render(state);
    const char *a = strstr(text, "s6_moves_total{symbol=\"S1\"} 1\n");
    const char *b = strstr(text, "s6_moves_total{symbol=\"S2\"} 2\n");
    const char *z = strstr(text, "s6_moves_total{symbol=\"S2999\"} 2\n");
    assert_true(a && b && z && a < b && b < z);
    assert_null(strstr(text, "s6_metrics_series_dropped_total{"));
}

static void invalid_updates_are_dropped_and_counted(void **state)
{
    s6_metrics *m = fx_m(state);
    static const double b[] = {1};
    s6_metric_desc cd = {.name = "s6_c_total", .type = S6_METRIC_COUNTER, .help = "h"};
    s6_metric_desc hd = {.name = "s6_h_seconds", .type = S6_METRIC_HISTOGRAM, .help = "h",
                         .buckets = b, .n_buckets = 1};
    assert_int_equal(s6_metrics_register(m, &cd), 0);
    assert_int_equal(s6_metrics_register(m, &hd), 0);
    s6_counter *c;
    s6_hist *h;
    assert_int_equal(s6_counter_get(m, "s6_c_total", 0, NULL, &c), 0);
    assert_int_equal(s6_hist_get(m, "s6_h_seconds", 0, NULL, &h), 0);
    s6_counter_add(c, 2);
    s6_counter_add(c, -1);
    s6_counter_add(c, NAN);
    s6_counter_add(c, -0.0); /* zero is a valid increment */
    s6_hist_observe(h, NAN);
    s6_hist_observe(h, -INFINITY); /* a real value: the first bucket */
    assert_true(s6_counter_value(c) == 2);
    assert_int_equal(s6_hist_count(h), 1);
    assert_true(isinf(s6_hist_sum(h)) && s6_hist_sum(h) < 0);
    const char *text = fx_render(state);
    assert_non_null(strstr(text, "s6_metrics_invalid_values_total{metric=\"s6_c_total\"} 2\n"));
    assert_non_null(strstr(text, "s6_metrics_invalid_values_total{metric=\"s6_h_seconds\"} 1\n"));
    assert_non_null(strstr(text, "s6_h_seconds_bucket{le=\"1\"} 1\n"));
}

/* ---- collectors ---- */

typedef struct coll {
    int calls;
    int fail_at;       /* this call fails after setting its values */
    char trace[16];    /* which collectors ran, in order */
} coll;

static int coll_a(s6_metrics *m, void *ud)
{
    coll *k = ud;
    k->calls++;
    strcat(k->trace, "a");
    s6_hist *h;
    if (s6_hist_get(m, "s6_dist_ratio", 0, NULL, &h) < 0)
        return -EIO;
    for (int i = 0; i < k->calls; i++)
        s6_hist_observe(h, 0.5);
    return k->calls == k->fail_at ? -EIO : 0;
}

static int coll_b(s6_metrics *m, void *ud)
{
    coll *k = ud;
    strcat(k->trace, "b");
    s6_gauge *g;
    return s6_gauge_get(m, "s6_min_ratio", 0, NULL, &g) < 0 ? -EIO
           : (s6_gauge_set(g, INFINITY), 0);
}

static void collectors_run_in_order_at_each_render(void **state)
{
    s6_metrics *m = fx_m(state);
    static const double b[] = {1};
    s6_metric_desc hd = {.name = "s6_dist_ratio", .type = S6_METRIC_HISTOGRAM, .help = "h",
                         .buckets = b, .n_buckets = 1, .collected = true};
    s6_metric_desc gd = {.name = "s6_min_ratio", .type = S6_METRIC_GAUGE, .help = "h",
                         .collected = true};
    assert_int_equal(s6_metrics_register(m, &hd), 0);
    assert_int_equal(s6_metrics_register(m, &gd), 0);
    coll k = {.fail_at = 2};
    assert_int_equal(s6_metrics_add_collector(m, coll_a, &k), 0);
    assert_int_equal(s6_metrics_add_collector(m, coll_b, &k), 0);
    assert_int_equal(s6_metrics_add_collector(m, NULL, NULL), -EINVAL);
    const char *text = fx_render(state);
    assert_string_equal(k.trace, "ab");
    assert_non_null(strstr(text, "s6_dist_ratio_count 1\n"));
    assert_non_null(strstr(text, "s6_min_ratio +Inf\n"));
    assert_non_null(strstr(text, "s6_metrics_collector_errors_total 0\n"));
    /* A collected histogram starts from zero each render: 2 not 1+2; the
     * failing collector's values still show, and its failure is counted. */
    text = fx_render(state);
    assert_string_equal(k.trace, "abab");
    assert_non_null(strstr(text, "s6_dist_ratio_count 2\n"));
    assert_non_null(strstr(text, "s6_dist_ratio_sum 1\n"));
    assert_non_null(strstr(text, "s6_metrics_collector_errors_total 1\n"));
}

static int coll_symbols(s6_metrics *m, void *ud)
{
    const char *const *syms = *(const char *const **)ud;
    for (; *syms; syms++) {
        s6_gauge *g;
        int rc = s6_gauge_get(m, "s6_pos", 1, S6_LABELS(*syms), &g);
        if (rc < 0)
            return rc;
        s6_gauge_set(g, 1);
    }
    return 0;
}

/* A collected family at its cap makes room from series the current round
 * has not reported, so symbols coming and going never exhaust it. */
static void collected_family_reuses_stale_series_at_its_cap(void **state)
{
    s6_metrics *m = fx_m(state);
    s6_metric_desc d = {.name = "s6_pos", .type = S6_METRIC_GAUGE, .help = "h",
                        .labels = {"symbol"}, .max_series = 2, .collected = true};
    assert_int_equal(s6_metrics_register(m, &d), 0);
    static const char *const r1[] = {"A", "B", NULL};
    static const char *const r2[] = {"C", "B", NULL};
    static const char *const r3[] = {"C", "D", "E", NULL};
    const char *const *cur = r1;
    assert_int_equal(s6_metrics_add_collector(m, coll_symbols, &cur), 0);
    const char *text = fx_render(state);
    assert_non_null(strstr(text, "s6_pos{symbol=\"A\"} 1\ns6_pos{symbol=\"B\"} 1\n"));
    cur = r2;
    text = fx_render(state);
    assert_null(strstr(text, "symbol=\"A\""));
    assert_non_null(strstr(text, "s6_pos{symbol=\"B\"} 1\ns6_pos{symbol=\"C\"} 1\n"));
    assert_null(strstr(text, "s6_metrics_series_dropped_total{"));
    /* Three live symbols in a family of two: the third is refused. */
    cur = r3;
    text = fx_render(state);
    assert_non_null(strstr(text, "s6_pos{symbol=\"C\"} 1\ns6_pos{symbol=\"D\"} 1\n"));
    assert_null(strstr(text, "symbol=\"E\""));
    assert_non_null(strstr(text,
        "s6_metrics_series_dropped_total{metric=\"s6_pos\",reason=\"cap\"} 1\n"));
    assert_non_null(strstr(text, "s6_metrics_collector_errors_total 1\n"));
}

static void render_appends_and_keeps_what_was_there(void **state)
{
    fx *x = *state;
    assert_int_equal(s6_buf_puts(&x->out, "head\n"), 0);
    assert_int_equal(s6_metrics_render(x->m, &x->out), 0);
    assert_memory_equal(x->out.data, "head\n# HELP ", 12);
    assert_int_equal(x->out.data[x->out.len - 1], '\n');
}

/* ---- the catalogue ---- */

static void catalogue_registers_and_every_handle_is_found(void **state)
{
    (void)state;
    s6_metrics *m;
    assert_int_equal(s6_metrics_new_service(&m), 0);
    for (size_t i = 0; i < s6_metrics_catalogue_len; i++) {
        const s6_metric_desc *d = &s6_metrics_catalogue[i];
        assert_non_null(s6_metrics_find(m, d->name));
        const char *vals[S6_METRICS_MAX_LABELS] = {"x", "y", "z", "w"};
        size_t n = 0;
        while (n < S6_METRICS_MAX_LABELS && d->labels[n])
            n++;
        int rc;
        if (d->type == S6_METRIC_COUNTER) {
            s6_counter *h;
            rc = s6_counter_get(m, d->name, n, vals, &h);
        } else if (d->type == S6_METRIC_GAUGE) {
            s6_gauge *h;
            rc = s6_gauge_get(m, d->name, n, vals, &h);
        } else {
            s6_hist *h;
            rc = s6_hist_get(m, d->name, n, vals, &h);
        }
        if (rc != 0)
            fail_msg("%s: %s", d->name, s6_metrics_last_error(m));
        assert_true(d->name[0] == 's' && strncmp(d->name, "s6_", 3) == 0);
    }
    /* The list, by the names docs/metrics.md gives them. */
    static const char *const wanted[] = {
        "s6_positions", "s6_unrealized_pnl", "s6_realized_pnl", "s6_risk_budget_reserved",
        "s6_risk_budget_limit", "s6_concurrency_used", "s6_concurrency_limit",
        "s6_liquidation_distance_min_ratio", "s6_liquidation_distance_ratio",
        "s6_stop_moves_total", "s6_stop_triggers_total", "s6_tp_fills_total",
        "s6_adds_total", "s6_stagnation_events_total", "s6_transfers_total",
        "s6_risk_alerts_total", "s6_rule_eval_seconds", "s6_rule_errors_total",
        "s6_rule_reloads_total", "s6_proposals_rejected_total", "s6_s4_request_seconds",
        "s6_s4_request_errors_total", "s6_http_requests_total", "s6_paused"};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (s6_metrics_find(m, wanted[i]) == NULL)
            fail_msg("%s missing from the catalogue", wanted[i]);
    s6_metrics_free(m);
}

/* docs/metrics.md lists every catalogue row (name, type and labels). */
static void docs_list_every_metric(void **state)
{
    (void)state;
    const char *src = getenv("S6_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/metrics.md", src);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    static const char *const types[] = {"", "counter", "gauge", "histogram"};
    for (size_t i = 0; i < s6_metrics_catalogue_len; i++) {
        const s6_metric_desc *d = &s6_metrics_catalogue[i];
        char row[256];
        int k = snprintf(row, sizeof row, "| `%s` | %s | ", d->name, types[d->type]);
        for (size_t j = 0; j < S6_METRICS_MAX_LABELS && d->labels[j]; j++)
            k += snprintf(row + k, sizeof row - (size_t)k, "%s`%s`", j ? ", " : "",
                          d->labels[j]);
        if (d->labels[0] == NULL)
            k += snprintf(row + k, sizeof row - (size_t)k, "—");
        snprintf(row + k, sizeof row - (size_t)k, " |");
        if (strstr(doc, row) == NULL)
            fail_msg("docs/metrics.md has no row starting %s", row);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T FX_TEST
        T(bad_descriptions_are_refused_and_change_nothing),
        T(names_taken_by_a_family_or_its_samples_are_refused),
        cmocka_unit_test(good_names_pass),
        T(failed_lookups_hand_out_a_harmless_handle),
        T(bad_label_values_are_refused_and_counted),
        T(series_cap_refuses_new_tuples_and_counts_them),
        T(many_series_are_found_again),
        T(invalid_updates_are_dropped_and_counted),
        T(collectors_run_in_order_at_each_render),
        T(collected_family_reuses_stale_series_at_its_cap),
        T(render_appends_and_keeps_what_was_there),
        cmocka_unit_test(catalogue_registers_and_every_handle_is_found),
        cmocka_unit_test(docs_list_every_metric),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
