#include "app/auth.h"

#include <string.h>
#include <strings.h>

/* Every byte of the longer string is looked at, so the time does not tell
 * how much of a guess was right. */
static bool same_secret(const char *given, const char *want)
{
    size_t a = strlen(given), b = strlen(want), n = a > b ? a : b;
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < a ? (unsigned char)given[i] : 0;
        unsigned char y = i < b ? (unsigned char)want[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0;
}

bool s6_auth_ok(const s6_http_req *req, const char *token)
{
    const char *h = s6_http_req_header(req, "Authorization");
    if (token == NULL || token[0] == '\0' || h == NULL ||
        strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    return same_secret(h + 7, token);
}

bool s6_auth_require(s6_http_res *res, const s6_http_req *req,
                     const char *token)
{
    if (s6_auth_ok(req, token))
        return true;
    s6_http_res_header(res, "WWW-Authenticate", "Bearer");
    s6_http_res_error(res, 401, "unauthorized",
                      token == NULL || token[0] == '\0'
                          ? "mutating endpoints are disabled: no auth.token "
                            "is configured"
                          : "a valid bearer token is required",
                      NULL);
    return false;
}
