/* internal.h — what the files of src/httpc share; not public API. */
#pragma once

#include "httpc/httpc.h"

/* Which option of a request is wrong ("method", "url", "headers", ...),
 * or NULL when it may be sent (policy.c). */
const char *s6__httpc_opts_check(const s6_httpc_opts *o);
