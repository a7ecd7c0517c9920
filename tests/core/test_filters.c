/* Exchange filters: rounding to tick/step and exact decimal strings. */
#include "s6_test.h"

/* Formats value on step's grid and checks the string and its length. */
static void assert_formats(double value, double step, const char *want)
{
    char buf[64];
    int n = s6_format_decimal(value, step, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

S6_TEST(float_noise_formats_clean)
{
    /* 0.1 + 0.2 is 0.30000000000000004 in binary; on a 0.1 grid it is
     * 0.3 whichever way it is rounded, and prints as "0.3". */
    double v = 0.1 + 0.2;
    assert_true(v != 0.3);
    for (int dir = -1; dir <= 1; dir++)
        assert_same(s6_round_to_step(v, 0.1, dir), 0.3);
    assert_formats(v, 0.1, "0.3");
    /* 0.3 - 0.1 = 0.19999999999999998: 0.2, not 0.1 when flooring. */
    for (int dir = -1; dir <= 1; dir++)
        assert_same(s6_round_to_step(0.3 - 0.1, 0.1, dir), 0.2);
    assert_same(s6_round_qty(0.3 - 0.1, 0.1), 0.2);
}

/* value, step, floor, nearest, ceil — each worked on the decimal grid. */
static const struct {
    double value, step, down, near, up;
} grid[] = {
    {1.27, 0.05, 1.25, 1.25, 1.30},             /* 25.4 steps */
    {123, 5, 120, 125, 125},                    /* 24.6 steps */
    {2.3, 0.5, 2.0, 2.5, 2.5},                  /* 4.6 steps */
    {7.2, 1, 7, 7, 8},                          /* 7.2 steps */
    {1.005, 0.01, 1.0, 1.0, 1.01},              /* binary 1.00499999... */
    {0.123456789, 1e-8, 0.12345678, 0.12345679, 0.12345679},
    {123456.78, 0.1, 123456.7, 123456.8, 123456.8},
    {-1.27, 0.05, -1.30, -1.25, -1.25},         /* below zero */
    {64213.37, 0.01, 64213.37, 64213.37, 64213.37}, /* already on the grid */
};

S6_TEST(round_to_step_directions)
{
    for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++) {
        assert_same(s6_round_to_step(grid[i].value, grid[i].step, -1),
                    grid[i].down);
        assert_same(s6_round_to_step(grid[i].value, grid[i].step, 0),
                    grid[i].near);
        assert_same(s6_round_to_step(grid[i].value, grid[i].step, 1),
                    grid[i].up);
    }
}

S6_TEST(round_to_step_no_negative_zero)
{
    /* ceil(-0.01 / 1) is -0; an order body must never read "-0". */
    assert_bits(s6_round_to_step(-0.01, 1, 1), 0.0);
    assert_bits(s6_round_to_step(-0.0, 0.1, 0), 0.0);
    assert_formats(-0.0, 0.1, "0.0");
    assert_formats(s6_round_to_step(-0.04, 0.1, 0), 0.1, "0.0");
}

S6_TEST_REFUSES(round_to_step_bad_input, "fp.", NAN,
                s6_round_to_step(a[0], a[1], (int)a[2]), 1.27, 0.05, 1)

S6_TEST(round_to_step_out_of_range)
{
    assert_nan(s6_round_to_step(1.0, 0.1, 2));
    assert_nan(s6_round_to_step(1.0, 0.1, -2));
    /* More steps than a double counts exactly (1e17 / 0.01 > 2^53). */
    assert_nan(s6_round_to_step(1e17, 0.01, 0));
    /* value / step overflowing to infinity. */
    assert_nan(s6_round_to_step(1e300, 1e-300, 0));
}

S6_TEST(stop_rounds_tighter)
{
    /* Tick 0.05, stop computed at 100.03: a long's stop goes up to 100.05,
     * a short's down to 100.00 (both closer to a price above/below). */
    assert_same(s6_round_stop(1, 100.03, 0.05), 100.05);
    assert_same(s6_round_stop(-1, 100.03, 0.05), 100.0);
    /* Large price, tick 0.1: 123456.78 -> 123456.8 long, 123456.7 short. */
    assert_same(s6_round_stop(1, 123456.78, 0.1), 123456.8);
    assert_same(s6_round_stop(-1, 123456.78, 0.1), 123456.7);
    /* On the grid already: unchanged both ways. */
    assert_same(s6_round_stop(1, 100.05, 0.05), 100.05);
    assert_same(s6_round_stop(-1, 100.05, 0.05), 100.05);
    /* Tick 1e-8 on a small coin. */
    assert_same(s6_round_stop(1, 0.000123456789, 1e-8), 0.00012346);
    assert_same(s6_round_stop(-1, 0.000123456789, 1e-8), 0.00012345);
}

S6_TEST(stop_rounding_to_zero_is_no_price)
{
    /* A short's stop of 0.03 on a 0.05 tick rounds down to 0. */
    assert_nan(s6_round_stop(-1, 0.03, 0.05));
    /* The long's goes up to a real tick. */
    assert_same(s6_round_stop(1, 0.03, 0.05), 0.05);
}

S6_TEST_REFUSES(stop_bad_input, "spp", NAN,
                s6_round_stop((int)a[0], a[1], a[2]), 1, 100.03, 0.05)

S6_TEST(qty_never_rounds_up)
{
    /* 0.0019999 on a 0.001 step is 1.9999 steps: 0.001, never 0.002. */
    assert_same(s6_round_qty(0.0019999, 0.001), 0.001);
    assert_same(s6_round_qty(0.002, 0.001), 0.002);
    assert_same(s6_round_qty(0.0009999, 0.001), 0.0);
    assert_same(s6_round_qty(0.0, 0.001), 0.0);
    /* Steps 1, 5, 0.5, 0.01, 1e-8. */
    assert_same(s6_round_qty(7.99, 1), 7.0);
    assert_same(s6_round_qty(14.9, 5), 10.0);
    assert_same(s6_round_qty(2.99, 0.5), 2.5);
    assert_same(s6_round_qty(3.14159, 0.01), 3.14);
    assert_same(s6_round_qty(0.123456789, 1e-8), 0.12345678);
    assert_same(s6_round_qty(123456.78, 0.1), 123456.7);
}

S6_TEST_REFUSES(qty_bad_input, "np", NAN, s6_round_qty(a[0], a[1]),
                0.0019999, 0.001)

S6_TEST(step_decimals)
{
    static const struct {
        double step;
        int decimals;
    } cases[] = {
        {1, 0},    {5, 0},     {10, 0},   {0.5, 1},     {0.1, 1},
        {0.05, 2}, {0.25, 2},  {0.01, 2}, {0.001, 3},   {1e-8, 8},
        {0.00025, 5}, {1e-12, 12}, {0.123456789012, 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(s6_step_decimals(cases[i].step), cases[i].decimals);
    /* No finite decimal within 12 places: 1/3, and 1e-13. */
    assert_int_equal(s6_step_decimals(1.0 / 3.0), S6_ERANGE);
    assert_int_equal(s6_step_decimals(1e-13), S6_ERANGE);
    static const double bad[] = {0.0, -0.0, -0.01, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(s6_step_decimals(bad[i]), S6_EINVAL);
}

S6_TEST(format_exact_strings)
{
    assert_formats(0.001, 0.001, "0.001");
    assert_formats(123456.8, 0.1, "123456.8");
    assert_formats(s6_round_to_step(123456.78, 0.1, 0), 0.1, "123456.8");
    assert_formats(1e-8, 1e-8, "0.00000001");
    assert_formats(0.12345678, 1e-8, "0.12345678");
    assert_formats(125, 5, "125");
    assert_formats(42, 1, "42");
    assert_formats(2.5, 0.5, "2.5");
    assert_formats(1.1, 0.01, "1.10");
    assert_formats(0, 0.001, "0.000");
    assert_formats(-0.3, 0.1, "-0.3");
    assert_formats(64213.37, 0.01, "64213.37");
    /* Every one of a 12-decimal step's places is printed. */
    assert_formats(0.123456789012, 0.123456789012, "0.123456789012");
    /* The pipeline of an order body: round the quantity down, print it. */
    assert_formats(s6_round_qty(0.0019999, 0.001), 0.001, "0.001");
    assert_formats(s6_round_qty(0.3 - 0.1, 0.1), 0.1, "0.2");
}

S6_TEST(format_refuses_off_grid)
{
    char buf[32];
    /* printf would print 0.0019999 with 3 decimals as "0.002": more than
     * the caller holds.  Refused instead. */
    assert_int_equal(s6_format_decimal(0.0019999, 0.001, buf, sizeof buf),
                     S6_EINVAL);
    assert_int_equal(s6_format_decimal(1.27, 0.05, buf, sizeof buf),
                     S6_EINVAL);
    assert_int_equal(s6_format_decimal(123456.78, 0.1, buf, sizeof buf),
                     S6_EINVAL);
}

S6_TEST(format_buffer_size)
{
    /* "0.3" needs 3 characters and the terminating NUL. */
    char buf[4];
    assert_int_equal(s6_format_decimal(0.3, 0.1, buf, 3), S6_ERANGE);
    assert_int_equal(s6_format_decimal(0.3, 0.1, buf, 1), S6_ERANGE);
    assert_int_equal(s6_format_decimal(0.3, 0.1, buf, 4), 3);
    assert_string_equal(buf, "0.3");
    /* "123456.8" is 8 characters: 8 bytes are too few, 9 enough. */
    char big[9];
    assert_int_equal(s6_format_decimal(123456.8, 0.1, big, 8), S6_ERANGE);
    assert_int_equal(s6_format_decimal(123456.8, 0.1, big, 9), 8);
    assert_string_equal(big, "123456.8");
}

S6_TEST(format_bad_input)
{
    char buf[32];
    assert_int_equal(s6_format_decimal(0.3, 0.1, NULL, 32), S6_EINVAL);
    assert_int_equal(s6_format_decimal(0.3, 0.1, buf, 0), S6_EINVAL);
    static const double bad_values[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        assert_int_equal(s6_format_decimal(bad_values[i], 0.1, buf, 32),
                         S6_EINVAL);
    static const double bad_steps[] = {0.0, -0.1, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_steps / sizeof bad_steps[0]; i++)
        assert_int_equal(s6_format_decimal(0.3, bad_steps[i], buf, 32),
                         S6_EINVAL);
    /* A step with no decimal form is out of range, not printed wrongly. */
    assert_int_equal(s6_format_decimal(1.0 / 3.0, 1.0 / 3.0, buf, 32),
                     S6_ERANGE);
    /* Too many steps to count exactly. */
    assert_int_equal(s6_format_decimal(1e17, 0.01, buf, 32), S6_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(float_noise_formats_clean),
        cmocka_unit_test(round_to_step_directions),
        cmocka_unit_test(round_to_step_no_negative_zero),
        cmocka_unit_test(round_to_step_bad_input),
        cmocka_unit_test(round_to_step_out_of_range),
        cmocka_unit_test(stop_rounds_tighter),
        cmocka_unit_test(stop_rounding_to_zero_is_no_price),
        cmocka_unit_test(stop_bad_input),
        cmocka_unit_test(qty_never_rounds_up),
        cmocka_unit_test(qty_bad_input),
        cmocka_unit_test(step_decimals),
        cmocka_unit_test(format_exact_strings),
        cmocka_unit_test(format_refuses_off_grid),
        cmocka_unit_test(format_buffer_size),
        cmocka_unit_test(format_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
