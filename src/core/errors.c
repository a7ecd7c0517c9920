#include "core/s6_core.h"

/* Indexed by -code; keep in the order of the enum in s6_core.h. */
static const char *const messages[] = {
    "ok",
    "invalid argument",
    "series too short for the period",
    "result out of range",
    "indicator not warmed up",
};

const char *s6_strerror(int code)
{
    /* Range check before negating: -INT_MIN overflows. */
    if (code > 0 || code <= -(int)(sizeof messages / sizeof messages[0]))
        return "unknown error";
    return messages[-code];
}
