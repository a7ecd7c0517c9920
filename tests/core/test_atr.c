/* Wilder's ATR, batch and incremental, against hand values and a reference. */
#include <stdlib.h>

#include "s6_test.h"

/*
 * Period 3, six bars (H, L, C):
 *   0: 10  8   9
 *   1: 11  9  10    TR1 = max(11, 9)  - min(9, 9)   = 2
 *   2: 12 10  11    TR2 = max(12, 10) - min(10, 10) = 2
 *   3: 11  8   9    TR3 = max(11, 11) - min(8, 11)  = 3
 *                   ATR3 = (2 + 2 + 3) / 3 = 7/3
 *   4: 13 10  12    TR4 = max(13, 9)  - min(10, 9)  = 4   (gap up: C3 < L4)
 *                   ATR4 = (7/3 * 2 + 4) / 3 = 26/9
 *   5: 10  9 9.5    TR5 = max(10, 12) - min(9, 12)  = 3   (gap down: C4 > H5)
 *                   ATR5 = (26/9 * 2 + 3) / 3 = 79/27
 */
static const double hh[] = {10, 11, 12, 11, 13, 10};
static const double hl[] = {8, 9, 10, 8, 10, 9};
static const double hc[] = {9, 10, 11, 9, 12, 9.5};
#define NH 6

S6_TEST(hand_worked_series)
{
    double out[NH];
    assert_int_equal(s6_atr(hh, hl, hc, NH, 3, out), S6_OK);
    for (int i = 0; i < 3; i++)
        assert_nan(out[i]);
    /* 7/3 is one correctly rounded division in both places. */
    assert_same(out[3], 7.0 / 3.0);
    assert_rel(out[4], 26.0 / 9.0, 4e-16);
    assert_rel(out[5], 79.0 / 27.0, 4e-16);
}

S6_TEST(hand_worked_incremental)
{
    static const double want[NH] = {NAN, NAN, NAN, 7.0 / 3.0, 26.0 / 9.0,
                                    79.0 / 27.0};
    s6_atr_state st;
    assert_int_equal(s6_atr_init(&st, 3), S6_OK);
    for (int i = 0; i < NH; i++) {
        double v = 0.0;
        int rc = s6_atr_push(&st, hh[i], hl[i], hc[i], &v);
        assert_int_equal(rc, i < 3 ? S6_ENOTREADY : S6_OK);
        if (i < 3)
            assert_nan(v);
        else
            assert_rel(v, want[i], 4e-16);
    }
}

/* ---- a long seeded random walk ---- */

#define NLONG 5000

/* Knuth's MMIX LCG; the top 53 bits give a uniform double in [0, 1). */
static double lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) * 0x1.0p-53;
}

/* A synthetic price walk with gaps: each bar opens where the last closed
 * plus a jump, moves up to 2%, and its range extends past open and close. */
static void random_walk(uint64_t seed, double *h, double *l, double *c,
                        size_t n)
{
    double prev = 100.0;
    for (size_t i = 0; i < n; i++) {
        double open = prev * (1.0 + 0.01 * (lcg_next(&seed) - 0.5));
        double close = open * (1.0 + 0.04 * (lcg_next(&seed) - 0.5));
        double top = open > close ? open : close;
        double bot = open < close ? open : close;
        h[i] = top * (1.0 + 0.005 * lcg_next(&seed));
        l[i] = bot * (1.0 - 0.005 * lcg_next(&seed));
        c[i] = close;
        prev = close;
    }
}

/* TA-Lib's ATR written out directly from its definition, independently of
 * src/core/atr.c. */
static void reference_atr(const double *h, const double *l, const double *c,
                          size_t n, int p, double *out)
{
    double *tr = calloc(n, sizeof *tr);
    assert_non_null(tr);
    for (size_t i = 1; i < n; i++) {
        double hi = h[i] > c[i - 1] ? h[i] : c[i - 1];
        double lo = l[i] < c[i - 1] ? l[i] : c[i - 1];
        tr[i] = hi - lo;
    }
    for (int i = 0; i < p; i++)
        out[i] = NAN;
    double sum = 0.0;
    for (int i = 1; i <= p; i++)
        sum += tr[i];
    out[p] = sum / p;
    for (size_t i = (size_t)p + 1; i < n; i++)
        out[i] = (out[i - 1] * (p - 1) + tr[i]) / p;
    free(tr);
}

typedef struct {
    double h[NLONG], l[NLONG], c[NLONG];
} series;

static int setup_series(void **state)
{
    series *s = malloc(sizeof *s);
    if (s == NULL)
        return -1;
    random_walk(20240601u, s->h, s->l, s->c, NLONG);
    *state = s;
    return 0;
}

static int teardown_series(void **state)
{
    free(*state);
    return 0;
}

static const int periods[] = {1, 2, 14, 50};
#define NPERIODS (sizeof periods / sizeof periods[0])

/* Warm-up values are NaN; every later value equal bit for bit. */
static void assert_same_series(const double *got, const double *want, int p)
{
    for (int i = 0; i < p; i++)
        assert_nan(got[i]);
    assert_memory_equal(got + p, want + p, (NLONG - (size_t)p) * sizeof *got);
}

static void long_series_matches_reference(void **state)
{
    series *s = *state;
    static double got[NLONG], want[NLONG];
    for (size_t k = 0; k < NPERIODS; k++) {
        int p = periods[k];
        assert_int_equal(s6_atr(s->h, s->l, s->c, NLONG, p, got), S6_OK);
        reference_atr(s->h, s->l, s->c, NLONG, p, want);
        assert_same_series(got, want, p);
    }
}

static void incremental_matches_batch(void **state)
{
    series *s = *state;
    static double batch[NLONG], inc[NLONG];
    for (size_t k = 0; k < NPERIODS; k++) {
        int p = periods[k];
        s6_atr_state st;
        assert_int_equal(s6_atr(s->h, s->l, s->c, NLONG, p, batch), S6_OK);
        assert_int_equal(s6_atr_init(&st, p), S6_OK);
        for (size_t i = 0; i < NLONG; i++) {
            int rc = s6_atr_push(&st, s->h[i], s->l[i], s->c[i], &inc[i]);
            assert_int_equal(rc, i < (size_t)p ? S6_ENOTREADY : S6_OK);
        }
        assert_same_series(inc, batch, p);
    }
}

/* Period 1 has no smoothing: ATR[i] is TR[i] itself. */
static void period_one_is_true_range(void **state)
{
    series *s = *state;
    static double out[NLONG];
    assert_int_equal(s6_atr(s->h, s->l, s->c, NLONG, 1, out), S6_OK);
    assert_nan(out[0]);
    for (size_t i = 1; i < NLONG; i++) {
        double tr = fmax(s->h[i], s->c[i - 1]) - fmin(s->l[i], s->c[i - 1]);
        assert_bits(out[i], tr);
    }
}

/* A refused bar leaves the state as it was: the stream goes on as if the
 * bar had never been pushed. */
static void bad_bar_leaves_state_alone(void **state)
{
    series *s = *state;
    static double batch[NLONG];
    s6_atr_state st;
    assert_int_equal(s6_atr(s->h, s->l, s->c, NLONG, 14, batch), S6_OK);
    assert_int_equal(s6_atr_init(&st, 14), S6_OK);
    for (size_t i = 0; i < NLONG; i++) {
        double v;
        if (i == 7 || i == 30) {
            s6_atr_state before = st;
            assert_int_equal(s6_atr_push(&st, NAN, s->l[i], s->c[i], &v),
                             S6_EINVAL);
            /* high and low swapped: high < low */
            assert_int_equal(s6_atr_push(&st, s->l[i], s->h[i], s->c[i], &v),
                             S6_EINVAL);
            assert_memory_equal(&st, &before, sizeof st);
        }
        (void)s6_atr_push(&st, s->h[i], s->l[i], s->c[i], &v);
        if (i >= 14)
            assert_bits(v, batch[i]);
    }
}

S6_TEST(warm_up_not_ready)
{
    /* Period 3 needs bars 0..3: the first three pushes are not ready,
     * with or without an output pointer, and report NaN. */
    s6_atr_state st;
    assert_int_equal(s6_atr_init(&st, 3), S6_OK);
    assert_nan(st.atr);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s6_atr_push(&st, hh[i], hl[i], hc[i], NULL),
                         S6_ENOTREADY);
    assert_nan(st.atr);
    assert_int_equal(s6_atr_push(&st, hh[3], hl[3], hc[3], NULL), S6_OK);
    assert_same(st.atr, 7.0 / 3.0);
    /* Re-initialising starts the warm-up again. */
    assert_int_equal(s6_atr_init(&st, 3), S6_OK);
    assert_int_equal(s6_atr_push(&st, hh[0], hl[0], hc[0], NULL),
                     S6_ENOTREADY);
}

S6_TEST(batch_bad_input)
{
    double out[NH];
    /* NULL pointers, one at a time. */
    assert_int_equal(s6_atr(NULL, hl, hc, NH, 3, out), S6_EINVAL);
    assert_int_equal(s6_atr(hh, NULL, hc, NH, 3, out), S6_EINVAL);
    assert_int_equal(s6_atr(hh, hl, NULL, NH, 3, out), S6_EINVAL);
    assert_int_equal(s6_atr(hh, hl, hc, NH, 3, NULL), S6_EINVAL);
    /* period < 1. */
    assert_int_equal(s6_atr(hh, hl, hc, NH, 0, out), S6_EINVAL);
    assert_int_equal(s6_atr(hh, hl, hc, NH, -1, out), S6_EINVAL);
    assert_int_equal(s6_atr(hh, hl, hc, NH, INT32_MIN, out), S6_EINVAL);
    /* Too short: period p needs p + 1 bars (TR starts at bar 1). */
    assert_int_equal(s6_atr(hh, hl, hc, 3, 3, out), S6_ESHORT);
    assert_int_equal(s6_atr(hh, hl, hc, 0, 3, out), S6_ESHORT);
    assert_int_equal(s6_atr(hh, hl, hc, 1, 1, out), S6_ESHORT);
    assert_int_equal(s6_atr(hh, hl, hc, NH, 6, out), S6_ESHORT);
    assert_int_equal(s6_atr(hh, hl, hc, NH, INT32_MAX, out), S6_ESHORT);
    /* Exactly p + 1 bars is enough. */
    assert_int_equal(s6_atr(hh, hl, hc, 4, 3, out), S6_OK);
    assert_same(out[3], 7.0 / 3.0);
}

/* One bad value anywhere in any of the three series is refused. */
S6_TEST(batch_bad_bars)
{
    static const double refused[] = {NAN, INFINITY, -INFINITY, 0.0, -1.0};
    double out[NH];
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++)
        for (int series_no = 0; series_no < 3; series_no++)
            for (int i = 0; i < NH; i += 5) {
                double h[NH], l[NH], c[NH];
                memcpy(h, hh, sizeof h);
                memcpy(l, hl, sizeof l);
                memcpy(c, hc, sizeof c);
                double *target = series_no == 0 ? h : series_no == 1 ? l : c;
                target[i] = refused[k];
                assert_int_equal(s6_atr(h, l, c, NH, 3, out), S6_EINVAL);
            }
    /* high < low on one bar. */
    double h[NH], l[NH];
    memcpy(h, hh, sizeof h);
    memcpy(l, hl, sizeof l);
    h[4] = 9.0;
    l[4] = 9.5;
    assert_int_equal(s6_atr(h, l, hc, NH, 3, out), S6_EINVAL);
}

S6_TEST(incremental_bad_input)
{
    s6_atr_state st;
    double v;
    assert_int_equal(s6_atr_init(NULL, 3), S6_EINVAL);
    assert_int_equal(s6_atr_init(&st, 0), S6_EINVAL);
    assert_int_equal(s6_atr_init(&st, -5), S6_EINVAL);
    assert_int_equal(s6_atr_push(NULL, 10, 9, 9.5, &v), S6_EINVAL);
    /* A zeroed, never initialised state has period 0. */
    s6_atr_state zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(s6_atr_push(&zero, 10, 9, 9.5, &v), S6_EINVAL);
    assert_int_equal(s6_atr_init(&st, 3), S6_OK);
    static const double refused[] = {NAN, INFINITY, -INFINITY, 0.0, -1.0};
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        double r = refused[k];
        assert_int_equal(s6_atr_push(&st, r, 9, 9.5, &v), S6_EINVAL);
        assert_int_equal(s6_atr_push(&st, 10, r, 9.5, &v), S6_EINVAL);
        assert_int_equal(s6_atr_push(&st, 10, 9, r, &v), S6_EINVAL);
    }
    assert_int_equal(s6_atr_push(&st, 9, 10, 9.5, &v), S6_EINVAL);
    assert_int_equal(st.bars, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_worked_series),
        cmocka_unit_test(hand_worked_incremental),
        cmocka_unit_test_setup_teardown(long_series_matches_reference,
                                        setup_series, teardown_series),
        cmocka_unit_test_setup_teardown(incremental_matches_batch,
                                        setup_series, teardown_series),
        cmocka_unit_test_setup_teardown(period_one_is_true_range, setup_series,
                                        teardown_series),
        cmocka_unit_test_setup_teardown(bad_bar_leaves_state_alone,
                                        setup_series, teardown_series),
        cmocka_unit_test(warm_up_not_ready),
        cmocka_unit_test(batch_bad_input),
        cmocka_unit_test(batch_bad_bars),
        cmocka_unit_test(incremental_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
