/*
 * The metrics suites' fixture: a fresh registry (only its own families)
 * and a buffer to render into, per test (cmocka setup/teardown).
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics/metrics.h"

typedef struct fx {
    s6_metrics *m;
    s6_buf out;
} fx;

static inline int fx_setup(void **state)
{
    fx *x = test_calloc(1, sizeof *x);
    assert_int_equal(s6_metrics_new(&x->m), 0);
    *state = x;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx *x = *state;
    s6_metrics_free(x->m);
    s6_buf_free(&x->out);
    test_free(x);
    return 0;
}

static inline s6_metrics *fx_m(void **state)
{
    return ((fx *)*state)->m;
}

/* The registry rendered afresh into the fixture's buffer. */
static inline const char *fx_text(fx *x)
{
    s6_buf_reset(&x->out);
    assert_int_equal(s6_metrics_render(x->m, &x->out), 0);
    assert_non_null(x->out.data);
    return x->out.data;
}

static inline const char *fx_render(void **state)
{
    return fx_text(*state);
}

#define FX_TEST(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
