/* s6_strerror: a message for every code, and a safe answer for the rest. */
#include <limits.h>

#include "s6_test.h"

#define UNKNOWN "unknown error"

/* Each code, with a word its message must contain so that the message
 * says what the code means. */
static const struct {
    int code;
    const char *word;
} known[] = {
    {S6_OK, "ok"},
    {S6_EINVAL, "invalid"},
    {S6_ESHORT, "short"},
    {S6_ERANGE, "range"},
    {S6_ENOTREADY, "not warmed up"},
};
#define NKNOWN (sizeof known / sizeof known[0])

S6_TEST(every_code_has_its_message)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        const char *msg = s6_strerror(known[i].code);
        assert_non_null(msg);
        assert_non_null(strstr(msg, known[i].word));
        assert_string_not_equal(msg, UNKNOWN);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(msg, s6_strerror(known[j].code));
    }
}

S6_TEST(unknown_codes)
{
    /* Just past each end of the enum, and the extremes of int (negating
     * INT_MIN would overflow: the sanitizer build catches that). */
    static const int codes[] = {1, 2, 100, S6_ENOTREADY - 1, -100, INT_MAX,
                                INT_MIN, INT_MIN + 1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_equal(s6_strerror(codes[i]), UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_its_message),
        cmocka_unit_test(unknown_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
