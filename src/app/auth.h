/* auth.h — the bearer token every mutating endpoint requires. */
#pragma once

#include <stdbool.h>

#include "http/http.h"

/* True when the request carries "Authorization: Bearer <token>" for the
 * configured token.  An empty token refuses everyone.  The comparison takes
 * the same time wherever the first wrong byte is. */
bool s6_auth_ok(const s6_http_req *req, const char *token);

/* Answers 401 with the reason and returns false when the request is not
 * authorized; the handler then does nothing else. */
bool s6_auth_require(s6_http_res *res, const s6_http_req *req,
                     const char *token);
