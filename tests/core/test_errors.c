/* s6_strerror and the one error-code family of core/s6_errors.h: every code
 * distinct, every code named, -errno named, anything else "unknown". */
#include <errno.h>
#include <limits.h>

#include "s6_test.h"

#define UNKNOWN "unknown error"

/* Each code, with a word its message must contain so that the message
 * says what the code means.  A code added to the header without a row here
 * still gets a message, but this list is what proves it distinct. */
static const struct {
    int code;
    const char *word;
} known[] = {
    {S6_OK, "ok"},
    {S6_EINVAL, "invalid"},
    {S6_ENOMEM, "memory"},
    {S6_ERANGE, "range"},
    {S6_EBUSY, "busy"},
    {S6_ENOTFOUND, "not found"},
    {S6_EIO, "I/O"},
    {S6_ETIMEDOUT, "timed out"},
    {S6_ECANCELED, "in flight"},
    {S6_ESHORT, "short"},
    {S6_ENOTREADY, "not warmed up"},
    {S6_ECLOSED, "closed"},
    {S6_EURL, "URL"},
    {S6_ECONNECT, "connection"},
    {S6_EDISCONNECTED, "lost"},
    {S6_EDOWN, "not connected"},
    {S6_EREPLY, "error reply"},
    {S6_EREDIS, "redis"},
    {S6_ECONFLICT, "conflict"},
    {S6_ECONSTRAINT, "constraint"},
    {S6_EFULL, "full"},
    {S6_ECORRUPT, "corrupt"},
};
#define NKNOWN (sizeof known / sizeof known[0])

S6_TEST(every_code_is_distinct_and_negative)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        if (known[i].code != S6_OK)
            assert_true(known[i].code < 0);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(known[i].code, known[j].code);
    }
}

S6_TEST(every_code_has_its_message)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        const char *msg = s6_strerror(known[i].code);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
        assert_non_null(strstr(msg, known[i].word));
        assert_string_not_equal(msg, UNKNOWN);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(msg, s6_strerror(known[j].code));
    }
}

/* What libuv or a system call hands up is named too (the service logged
 * strerror(-rc) of its own codes before, which misnamed them). */
S6_TEST(errno_values_are_named)
{
    static const int codes[] = {-EPERM, -EALREADY, -ELOOP, -EPROTO,
                                -ENAMETOOLONG, -ESHUTDOWN};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *msg = s6_strerror(codes[i]);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
        assert_string_not_equal(msg, UNKNOWN);
    }
}

S6_TEST(unknown_codes)
{
    /* Positive values, a gap between errno and S6's own codes, past the
     * last code, and the extremes of int (negating INT_MIN would overflow:
     * the sanitizer build catches that). */
    static const int codes[] = {1, 2, 100, -4096, S6_ECORRUPT - 1, -100000,
                                INT_MAX, INT_MIN, INT_MIN + 1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_string_equal(s6_strerror(codes[i]), UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_is_distinct_and_negative),
        cmocka_unit_test(every_code_has_its_message),
        cmocka_unit_test(errno_values_are_named),
        cmocka_unit_test(unknown_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
