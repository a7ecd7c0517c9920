/* redis:// URL validation: every bad URL is refused with a precise reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "redis/redis.h"

static void test_good_urls(void **state)
{
    s6_redis_url u;
    char err[256];

    (void)state;
    assert_int_equal(s6_redis_url_parse("redis://127.0.0.1:6380/3", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);
    assert_int_equal(s6_redis_url_parse("redis://localhost", &u, err, sizeof(err)), 0);
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_int_equal(s6_redis_url_parse("redis://redis-1.internal/", &u, err, sizeof(err)), 0);
    assert_int_equal(u.db, 0);
}

static const struct {
    const char *url;
    const char *reason;
} bad_urls[] = {
    { "http://127.0.0.1:6379", "scheme must be redis://" },
    { "rediss://127.0.0.1", "scheme must be redis://" },
    { "redis://", "host is empty" },
    { "redis://:6379", "host is empty" },
    { "redis://127.0.0.1:", "port must be a number in 1..65535" },
    { "redis://127.0.0.1:0", "port must be a number in 1..65535" },
    { "redis://127.0.0.1:65536", "port must be a number in 1..65535" },
    { "redis://127.0.0.1:12a", "port must be a number in 1..65535" },
    { "redis://127.0.0.1:-1", "port must be a number in 1..65535" },
    { "redis://127.0.0.1/x", "database must be a number" },
    { "redis://127.0.0.1/1/2", "database must be a number" },
    { "redis://user:pw@127.0.0.1", "credentials, query and fragment" },
    { "redis://127.0.0.1/0?x=1", "credentials, query and fragment" },
    { "redis://[::1]:6379", "IPv6 literals are not supported" },
    { "redis://host name", "outside [A-Za-z0-9._-]" },
};

static void test_bad_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        s6_redis_url u = { .port = 42 };
        char err[256] = "";
        int rc = s6_redis_url_parse(bad_urls[i].url, &u, err, sizeof(err));
        if (rc != S6_EURL || !strstr(err, bad_urls[i].reason) ||
            !strstr(err, bad_urls[i].url))
            fail_msg("%s: rc %d, err \"%s\", want \"%s\"", bad_urls[i].url, rc,
                     err, bad_urls[i].reason);
        assert_int_equal(u.port, 42); /* untouched */
    }
}

static void test_open_rejects_bad_url(void **state)
{
    uv_loop_t loop;
    s6_redis *r = NULL;
    char err[256] = "";

    (void)state;
    uv_loop_init(&loop);
    assert_int_equal(s6_redis_open(&loop, "redis://h:99999", NULL, &r, err, sizeof(err)),
                     S6_EURL);
    assert_null(r);
    assert_non_null(strstr(err, "port"));
    assert_int_equal(uv_loop_close(&loop), 0); /* nothing was created */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_open_rejects_bad_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
