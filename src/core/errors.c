/* strerrordesc_np: errno's description without strerror's shared buffer. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "core/s6_errors.h"

/* The codes that reuse errno's values must match errno on this platform. */
_Static_assert(S6_EINVAL == -EINVAL, "S6_EINVAL is -EINVAL");
_Static_assert(S6_ENOMEM == -ENOMEM, "S6_ENOMEM is -ENOMEM");
_Static_assert(S6_ERANGE == -ERANGE, "S6_ERANGE is -ERANGE");
_Static_assert(S6_EBUSY == -EBUSY, "S6_EBUSY is -EBUSY");
_Static_assert(S6_ENOTFOUND == -ENOENT, "S6_ENOTFOUND is -ENOENT");
_Static_assert(S6_EIO == -EIO, "S6_EIO is -EIO");
_Static_assert(S6_ETIMEDOUT == -ETIMEDOUT, "S6_ETIMEDOUT is -ETIMEDOUT");
_Static_assert(S6_ECANCELED == -ECANCELED, "S6_ECANCELED is -ECANCELED");

/* Linux's MAX_ERRNO: no errno value is larger. */
#define S6_ERRNO_MAX 4095

/* Every code of s6_errors.h; the messages of the codes that only the
 * Redis client raises still name Redis. */
static const struct {
    int code;
    const char *text;
} messages[] = {
    { S6_OK, "ok" },
    { S6_EINVAL, "invalid argument" },
    { S6_ENOMEM, "out of memory" },
    { S6_ERANGE, "result out of range" },
    { S6_EBUSY, "busy" },
    { S6_ENOTFOUND, "not found" },
    { S6_EIO, "I/O error" },
    { S6_ETIMEDOUT, "timed out" },
    { S6_ECANCELED, "closed with the request in flight" },
    { S6_ESHORT, "series too short for the period" },
    { S6_ENOTREADY, "indicator not warmed up" },
    { S6_ECLOSED, "closed" },
    { S6_EURL, "malformed redis URL" },
    { S6_ECONNECT, "connection to redis failed or timed out" },
    { S6_EDISCONNECTED, "redis connection lost with the command in flight" },
    { S6_EDOWN, "redis not connected (reconnect pending)" },
    { S6_EREPLY, "redis answered with an error reply" },
    { S6_EREDIS, "redis command failed" },
    { S6_ECONFLICT, "conflict" },
    { S6_ECONSTRAINT, "constraint" },
    { S6_EFULL, "disk full" },
    { S6_ECORRUPT, "corrupt or unknown schema" },
};

const char *s6_strerror(int code)
{
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
        if (messages[i].code == code)
            return messages[i].text;
    /* Range check before negating: -INT_MIN overflows. */
    if (code < 0 && code >= -S6_ERRNO_MAX) {
        const char *text = strerrordesc_np(-code);
        if (text)
            return text;
    }
    return "unknown error";
}
