/*
 * s6_test.h — assertions shared by the cmocka suites of the core primitives.
 *
 * cmocka 1.1 compares only floats, so the checks below print both
 * values with 17 significant digits (enough to tell any two doubles apart)
 * and fail at the caller's line.
 */
#pragma once

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/s6_core.h"

/* A cmocka test whose state argument is not used. */
#define S6_TEST(name) \
    static void name(void **state_unused_ __attribute__((unused)))

static inline int s6t_rel_close(double a, double b, double rel)
{
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b));
}

static inline void s6t_nan(double x, const char *file, int line)
{
    if (!isnan(x)) {
        print_error("expected NaN, got %.17g\n", x);
        _fail(file, line);
    }
}

static inline void s6t_same(double a, double b, const char *file, int line)
{
    if (!(a == b)) {
        print_error("%.17g != %.17g\n", a, b);
        _fail(file, line);
    }
}

static inline void s6t_rel(double a, double b, double rel, const char *file,
                           int line)
{
    if (!s6t_rel_close(a, b, rel)) {
        print_error("%.17g and %.17g differ by more than %g relative\n", a,
                    b, rel);
        _fail(file, line);
    }
}

/* Bit for bit: catches -0 against +0 and any last-place difference. */
static inline void s6t_bits(double a, double b, const char *file, int line)
{
    if (memcmp(&a, &b, sizeof a) != 0) {
        print_error("%.17g and %.17g differ in their bits\n", a, b);
        _fail(file, line);
    }
}

#define assert_nan(x) s6t_nan((x), __FILE__, __LINE__)
#define assert_same(a, b) s6t_same((a), (b), __FILE__, __LINE__)
#define assert_rel(a, b, rel) s6t_rel((a), (b), (rel), __FILE__, __LINE__)
#define assert_bits(a, b) s6t_bits((a), (b), __FILE__, __LINE__)
#define assert_pos_inf(x) s6t_same((x), INFINITY, __FILE__, __LINE__)

/*
 * Bad-input sweeps.  S6_TEST_REFUSES(name, kinds, expect, call, valid...)
 * defines a test that calls a primitive through the expression `call`,
 * written over the arguments a[0], a[1], ... (doubles; ints are converted).
 * Each argument has a kind, one letter of `kinds`:
 *   's' a side: only +1 and -1 are valid
 *   'p' finite and > 0
 *   'n' finite and >= 0
 *   'f' finite, any sign
 *   '.' not probed here (the suite checks it by hand)
 * Starting from the valid arguments, the sweep replaces one argument at a
 * time by every value its kind refuses and expects `expect` back (NaN, or
 * a negative S6_E* code for primitives that return int).  A side argument
 * is set to +1 and to -1 in turn, so both sides are swept.  The valid
 * arguments must themselves give a valid answer on each side, so a
 * primitive that always fails cannot pass.
 */
typedef double (*s6t_adapter)(const double *args);

#define S6T_MAX_ARGS 16

static inline const double *s6t_refused(char kind, size_t *n)
{
    static const double side[] = {0, 2, -2, 3, -3};
    static const double pos[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, -1.0};
    static const double nonneg[] = {NAN, INFINITY, -INFINITY, -1.0, -1e-300};
    static const double finite[] = {NAN, INFINITY, -INFINITY};
    switch (kind) {
    case 's': *n = sizeof side / sizeof side[0]; return side;
    case 'p': *n = sizeof pos / sizeof pos[0]; return pos;
    case 'n': *n = sizeof nonneg / sizeof nonneg[0]; return nonneg;
    case 'f': *n = sizeof finite / sizeof finite[0]; return finite;
    default: *n = 0; return NULL;
    }
}

static inline int s6t_is(double got, double expect)
{
    return isnan(expect) ? isnan(got) : got == expect;
}

static inline void s6t_sweep_from(s6t_adapter call, const double *good,
                                  const char *kinds, double expect)
{
    size_t nargs = strlen(kinds);
    double args[S6T_MAX_ARGS];
    if (s6t_is(call(good), expect))
        fail_msg("the valid arguments give %.17g", call(good));
    for (size_t i = 0; i < nargs; i++) {
        size_t nbad;
        const double *bad = s6t_refused(kinds[i], &nbad);
        for (size_t k = 0; k < nbad; k++) {
            memcpy(args, good, nargs * sizeof args[0]);
            args[i] = bad[k];
            double got = call(args);
            if (!s6t_is(got, expect))
                fail_msg("argument %zu = %g accepted: %.17g", i, bad[k], got);
        }
    }
}

static inline void s6t_sweep(s6t_adapter call, const double *valid,
                             size_t nargs, const char *kinds, double expect)
{
    double good[S6T_MAX_ARGS];
    if (nargs != strlen(kinds) || nargs > S6T_MAX_ARGS)
        fail_msg("%zu valid arguments for %zu kinds", nargs, strlen(kinds));
    memcpy(good, valid, nargs * sizeof good[0]);
    const char *side = strchr(kinds, 's');
    if (side == NULL) {
        s6t_sweep_from(call, good, kinds, expect);
        return;
    }
    for (int sign = -1; sign <= 1; sign += 2) {
        good[side - kinds] = sign;
        s6t_sweep_from(call, good, kinds, expect);
    }
}

#define S6_TEST_REFUSES(name, kinds, expect, call, ...)                    \
    static double name##_call(const double *a) { return (call); }          \
    S6_TEST(name)                                                          \
    {                                                                      \
        static const double valid[] = {__VA_ARGS__};                       \
        s6t_sweep(name##_call, valid, sizeof valid / sizeof valid[0],      \
                  (kinds), (expect));                                      \
    }
