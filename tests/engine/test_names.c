/* The one table of wire names: markets, sides and order purposes round
 * trip, and anything outside the tables is refused, not guessed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "contract/names.h"
#include "core/s6_errors.h"

static void markets_round_trip(void **state)
{
    (void)state;
    assert_string_equal(s6_market_name(S6_MARKET_FUT), "FUT");
    assert_string_equal(s6_market_name(S6_MARKET_SPOT), "SPOT");
    for (int m = 0; m < S6_MARKET_COUNT; m++)
        assert_int_equal(s6_market_parse(s6_market_name(m)), m);
    assert_null(s6_market_name(-1));
    assert_null(s6_market_name(S6_MARKET_COUNT));
}

static void market_names_are_exact(void **state)
{
    (void)state;
    static const char *const bad[] = { "fut", "FUTX", "SPO", "", " FUT" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(s6_market_parse(bad[i]), S6_EINVAL);
    assert_int_equal(s6_market_parse(NULL), S6_EINVAL);
}

/* The replay price file's "market=FUT\n" reads the name at the start. */
static void market_prefix(void **state)
{
    (void)state;
    assert_int_equal(s6_market_parse_prefix("FUT\nrest"), S6_MARKET_FUT);
    assert_int_equal(s6_market_parse_prefix("SPOT "), S6_MARKET_SPOT);
    assert_int_equal(s6_market_parse_prefix("SPO"), S6_EINVAL);
    assert_int_equal(s6_market_parse_prefix(NULL), S6_EINVAL);
}

static void sides(void **state)
{
    (void)state;
    assert_string_equal(s6_side_name(1), "BUY");
    assert_string_equal(s6_side_name(-1), "SELL");
    assert_null(s6_side_name(0));
    assert_int_equal(s6_side_of_index(0), 1);
    assert_int_equal(s6_side_of_index(1), -1);
    assert_int_equal(s6_side_of_index(2), 0);
}

/* The letters are in every intent id already issued: they never change. */
static void purposes(void **state)
{
    (void)state;
    static const struct { int p; const char *letters; } want[] = {
        { S6_PURPOSE_STOP, "sl" }, { S6_PURPOSE_TP, "tp" },
        { S6_PURPOSE_ADD, "add" }, { S6_PURPOSE_CLOSE, "cl" },
        { S6_PURPOSE_HEDGE, "hg" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(s6_purpose_name(want[i].p), want[i].letters);
    assert_null(s6_purpose_name(0));
    assert_null(s6_purpose_name(S6_PURPOSE_COUNT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(markets_round_trip),
        cmocka_unit_test(market_names_are_exact),
        cmocka_unit_test(market_prefix),
        cmocka_unit_test(sides),
        cmocka_unit_test(purposes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
