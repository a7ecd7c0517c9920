/*
 * Parse-back: everything the registry renders is read again by an
 * independent checker of the text format (expo_check.c), line grammar and
 * the rules between lines.  First the checker itself is shown to refuse
 * broken text (so a pass means something), then the service's catalogue
 * with values in every family, then seeded random registries with hostile
 * label values and special floats.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "expo_check.h"
#include "metrics/metrics.h"

static void check_ok(const char *text)
{
    char err[256];
    if (expo_check(text, err, sizeof err) != 0)
        fail_msg("checker refused valid text: %s\n%s", err, text);
}

static void checker_accepts_the_formats_corners(void **state)
{
    (void)state;
    check_ok("");
    check_ok("# TYPE a counter\na 1\n");
    check_ok("# HELP a x \\\\ \\n y\n# TYPE a gauge\na{b=\"\\\"\\\\\\n\",} -1.5e-3 1700000000000\n");
    check_ok("# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
             "h_sum 3\nh_count 2\n");
    check_ok("# TYPE g gauge\ng NaN\ng{x=\"1\"} +Inf\ng{x=\"2\"} -Inf\ng{x=\"3\"} .5\n");
}

static void checker_refuses_broken_text(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *why;
    } rows[] = {
        {"# TYPE a counter\na 1", "newline"},
        {"# TYPE a counter\n\na 1\n", "empty line"},
        {"# a comment\n", "comment"},
        {"# TYPE a counter\na -1\n", "negative"},
        {"# TYPE a gauge\na 1,5\n", "not a Prometheus float"},
        {"# TYPE a gauge\na nan\n", "not a Prometheus float"},
        {"# TYPE a gauge\na inf\n", "not a Prometheus float"},
        {"# TYPE a gauge\na 0x10\n", "not a Prometheus float"},
        {"# TYPE a gauge\na  1\n", "value missing"},
        {"# TYPE a gauge\na\n", "one space"},
        {"# TYPE a gauge\na 1 x\n", "timestamp"},
        {"a 1\n", "without # TYPE"},
        {"# TYPE a gauge\n# TYPE a gauge\n", "second # TYPE"},
        {"# HELP a x\n# HELP a y\n", "second # HELP"},
        {"# TYPE a gauge\na 1\n# HELP a x\n", "after its samples"},
        {"# TYPE a wibble\n", "unknown type"},
        {"# TYPE 1a gauge\n", "bad metric name"},
        {"# TYPE a gauge\na{__x=\"1\"} 1\n", "bad label name"},
        {"# TYPE a gauge\na{b=1} 1\n", "expected =\""},
        {"# TYPE a gauge\na{b=\"1} 1\n", "not closed"},
        {"# TYPE a gauge\na{b=\"\\t\"} 1\n", "bad escape"},
        {"# HELP a bad \\\" escape\n", "bad escape"},
        {"# TYPE a gauge\na{b=\"1\",b=\"2\"} 1\n", "twice"},
        {"# TYPE a gauge\na{b=\"1\" c=\"2\"} 1\n", "expected , or }"},
        {"# TYPE a gauge\na{b=\"1\"} 1\na{b=\"1\"} 2\n", "appears twice"},
        {"# TYPE a gauge\n# TYPE b gauge\na 1\n", "one group"},
        {"# TYPE h histogram\nh 1\n", "needs _bucket"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf"},
        {"# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n", "not above"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n", "cumulative"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "is not the +Inf"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "_sum or _count"},
        {"# TYPE h histogram\nh_bucket 1\n", "without a valid le"},
        {"# TYPE h histogram\nh_sum{le=\"1\"} 1\n", "carries le"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char err[256];
        if (expo_check(rows[i].text, err, sizeof err) == 0)
            fail_msg("row %zu accepted:\n%s", i, rows[i].text);
        if (strstr(err, rows[i].why) == NULL)
            fail_msg("row %zu: \"%s\", wanted \"%s\"", i, err, rows[i].why);
    }
}

/* ---- the service catalogue with a value in every family ---- */

static const char *const hostile[] = {
    "BTCUSDT", "", "a\"b", "back\\slash", "new\nline", "1000PEPEUSDT", "é€𝄞", "{}=,\" ",
};
#define N_HOSTILE (sizeof hostile / sizeof hostile[0])

static const double specials[] = {0, -0.0, 1, -2.5, 0.1, 1e-9, 3e12, NAN, INFINITY, -INFINITY};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

static void fill(s6_metrics *m, const s6_metric_desc *d, size_t k)
{
    size_t n = 0;
    const char *vals[S6_METRICS_MAX_LABELS];
    while (n < S6_METRICS_MAX_LABELS && d->labels[n]) {
        vals[n] = hostile[(k + n) % N_HOSTILE];
        n++;
    }
    double v = specials[k % N_SPECIALS];
    int rc;
    if (d->type == S6_METRIC_COUNTER) {
        s6_counter *h;
        rc = s6_counter_get(m, d->name, n, vals, &h);
        s6_counter_add(h, fabs(v));
    } else if (d->type == S6_METRIC_GAUGE) {
        s6_gauge *h;
        rc = s6_gauge_get(m, d->name, n, vals, &h);
        s6_gauge_set(h, v);
    } else {
        s6_hist *h;
        rc = s6_hist_get(m, d->name, n, vals, &h);
        s6_hist_observe(h, v);
        s6_hist_observe(h, d->buckets[k % d->n_buckets]);
    }
    if (rc != 0)
        fail_msg("%s: %s", d->name, s6_metrics_last_error(m));
}

/* Fills every collected family, as the engine's collector will. */
static int fill_collected(s6_metrics *m, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < s6_metrics_catalogue_len; i++)
        if (s6_metrics_catalogue[i].collected)
            for (size_t k = 0; k < 3; k++)
                fill(m, &s6_metrics_catalogue[i], k);
    return 0;
}

static void the_catalogue_parses_back(void **state)
{
    (void)state;
    s6_metrics *m;
    assert_int_equal(s6_metrics_new_service(&m), 0);
    assert_int_equal(s6_metrics_add_collector(m, fill_collected, NULL), 0);
    for (size_t i = 0; i < s6_metrics_catalogue_len; i++)
        if (!s6_metrics_catalogue[i].collected)
            for (size_t k = 0; k < N_HOSTILE; k++)
                fill(m, &s6_metrics_catalogue[i], k);
    s6_buf out = {0};
    for (int round = 0; round < 2; round++) {
        s6_buf_reset(&out);
        assert_int_equal(s6_metrics_render(m, &out), 0);
        check_ok(out.data);
    }
    for (size_t i = 0; i < s6_metrics_catalogue_len; i++) {
        char want[160];
        snprintf(want, sizeof want, "\n# TYPE %s ", s6_metrics_catalogue[i].name);
        if (strstr(out.data, want) == NULL)
            fail_msg("no # TYPE for %s", s6_metrics_catalogue[i].name);
        /* ... and a sample of it, collected or not. */
        snprintf(want, sizeof want, "\n%s", s6_metrics_catalogue[i].name);
        if (strstr(out.data, want) == NULL)
            fail_msg("no sample of %s", s6_metrics_catalogue[i].name);
    }
    s6_buf_free(&out);
    s6_metrics_free(m);
}

/* ---- seeded random registries ---- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: reproducible from the seed in the failure message */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void random_registry(uint64_t seed)
{
    uint64_t r = seed;
    s6_metrics *m;
    assert_int_equal(s6_metrics_new(&m), 0);
    size_t n_fam = 1 + rng_next(&r) % 6;
    static const char *const lnames[] = {"symbol", "state", "kind", "market"};
    for (size_t f = 0; f < n_fam; f++) {
        char name[32];
        double bounds[8];
        s6_metric_desc d = {.help = hostile[rng_next(&r) % N_HOSTILE]};
        d.type = (s6_metric_type)(1 + rng_next(&r) % 3);
        snprintf(name, sizeof name, "s6_r%zu%s", f, d.type == S6_METRIC_COUNTER ? "_total" : "");
        d.name = name;
        if (d.help[0] == '\0')
            d.help = "empty help is refused";
        size_t n_labels = rng_next(&r) % 4;
        for (size_t i = 0; i < n_labels; i++)
            d.labels[i] = lnames[i];
        if (d.type == S6_METRIC_HISTOGRAM) {
            d.n_buckets = 1 + rng_next(&r) % 8;
            double b = -1 + (double)(rng_next(&r) % 100) / 10;
            for (size_t i = 0; i < d.n_buckets; i++)
                bounds[i] = b += 0.001 + (double)(rng_next(&r) % 1000) / 7;
            d.buckets = bounds;
        }
        if (s6_metrics_register(m, &d) != 0)
            fail_msg("seed %llu: %s", (unsigned long long)seed, s6_metrics_last_error(m));
        for (size_t k = 0; k < 1 + rng_next(&r) % 12; k++)
            fill(m, &d, (size_t)(rng_next(&r) % 1000));
    }
    s6_buf out = {0};
    assert_int_equal(s6_metrics_render(m, &out), 0);
    char err[256];
    if (expo_check(out.data, err, sizeof err) != 0)
        fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, err, out.data);
    s6_buf_free(&out);
    s6_metrics_free(m);
}

static void random_registries_parse_back(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 300; seed++)
        random_registry(seed * 0x9e3779b97f4a7c15ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checker_accepts_the_formats_corners),
        cmocka_unit_test(checker_refuses_broken_text),
        cmocka_unit_test(the_catalogue_parses_back),
        cmocka_unit_test(random_registries_parse_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
